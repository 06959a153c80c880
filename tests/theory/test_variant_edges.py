"""The stability edges of the SAM variants (theory.edge) against simulation, and the theory's maps of them.

The edges derived here (docs/theory.md section 2.1) are checked on a 1-D quadratic ``lam u^2 / 2`` on both sides
of the edge: at 2 % below it a start next to the minimum settles (on the fixed point, or on the 2-cycle of the
amplitude the formula gives), at 2 % above it the run diverges. Expected numbers come from the formulas.
"""

from __future__ import annotations

import numpy as np
import pytest

from samscape import dynamics as dy
from samscape import landscapes, theory
from samscape.theory.stability import _finite_difference_jacobian

LR = 0.1


def _line(lam):
    return landscapes.from_expr(f"{lam!r}*u**2/2", ["u"])


# (optimizer, amplitude of its 1-D 2-cycle at curvature lam: 0 where the minimum itself attracts)
CASES = [
    (dy.MultiStepUSAM(LR, 0.05, steps_ascent=3), lambda lam: 0.0),
    (dy.ASAM(LR, 0.5, eta_a=0.0), lambda lam: 0.0),
    (dy.ASAM(LR, 0.5, eta_a=0.05), lambda lam: theory.asam_two_cycle(LR, 0.5, 0.05, lam)),
    (dy.UnifiedSAM(LR, 0.05, lam_u=0.4), lambda lam: theory.unified_sam_two_cycle(LR, 0.05, 0.4, lam)),
    # three steps of 0.01 stop short of rho = 0.05: SAM's cycle with radius 0.03
    (dy.MultiStepSAM(LR, 0.05, steps_ascent=3, alpha=0.01), lambda lam: theory.sam_two_cycle(LR, 0.03, lam)),
    # in 1-D the part of g orthogonal to g_adv is 0: SAM's cycle
    (dy.GSAM(LR, 0.05, alpha=0.5), lambda lam: theory.sam_two_cycle(LR, 0.05, lam)),
    (dy.SignSAM(LR, 0.05), lambda lam: theory.sam_two_cycle(LR, 0.05, lam)),
    (dy.StableSAM(LR, 0.05), lambda lam: 0.0),  # gradient descent in 1-D
    (dy.GNP(LR, 0.05, alpha=0.4), lambda lam: theory.sam_two_cycle(LR, 0.4 * 0.05, lam)),  # SAM with radius alpha rho
    (dy.WSAM(LR, 0.05, gamma=0.75), lambda lam: theory.sam_two_cycle(LR, 3 * 0.05, lam)),  # gamma/(1 - gamma) = 3
]


@pytest.mark.parametrize("opt, amplitude", CASES, ids=lambda c: c.describe() if isinstance(c, dy.Optimizer) else "")
def test_the_derived_edge_separates_settling_from_divergence_in_simulation(opt, amplitude):
    """2 % below theory.edge a start next to the minimum ends on the predicted fixed point or 2-cycle (to 1e-8);
    2 % above it the run leaves the bound."""
    lam_edge = theory.edge(opt)
    starts = np.array([[1e-3], [-2e-3]])
    below = dy.simulate(_line(0.98 * lam_edge), opt, starts, 4000, every=4000, backend="numpy")
    assert (below.status == "ok").all()
    np.testing.assert_allclose(np.abs(below.x[:, 0]), amplitude(0.98 * lam_edge), rtol=1e-8, atol=1e-12)
    above = dy.simulate(_line(1.02 * lam_edge), opt, starts, 4000, every=4000, backend="numpy")
    assert (above.status != "ok").all()


def test_the_edges_reduce_to_the_published_ones():
    """Multi-step USAM with one step has USAM's edge, Unified SAM at lam_u = 0 USAM's and at lam_u = 1 SAM's (the
    cycle's 2/lr, and Long & Bartlett's with a gradient norm); the variants' local edges follow the formulas."""
    assert theory.edge(dy.MultiStepUSAM(LR, 0.05, steps_ascent=1)) == pytest.approx(theory.usam_threshold(LR, 0.05),
                                                                                    rel=1e-14)
    assert theory.edge(dy.UnifiedSAM(LR, 0.05, lam_u=0.0)) == pytest.approx(theory.usam_threshold(LR, 0.05), rel=1e-14)
    assert theory.edge(dy.UnifiedSAM(LR, 0.05, lam_u=1.0)) == pytest.approx(2 / LR, rel=1e-14)
    assert theory.edge(dy.UnifiedSAM(LR, 0.05, lam_u=1.0), grad_norm=0.3) == pytest.approx(
        theory.sam_edge(LR, 0.05, 0.3), rel=1e-14)
    lam = theory.edge(dy.MultiStepUSAM(LR, 0.05, steps_ascent=3))
    assert LR * lam * (1 + 0.05 * lam) ** 3 == pytest.approx(2.0, rel=1e-13)
    assert theory.edge(dy.ASAM(LR, 0.5)) == pytest.approx(2 / (LR * 1.5), rel=1e-14)
    lam = theory.edge(dy.UnifiedSAM(LR, 0.05, lam_u=0.4), grad_norm=0.3)
    assert LR * lam * (1 + 0.05 * 0.6 * lam + 0.05 * 0.4 * lam / 0.3) == pytest.approx(2.0, rel=1e-13)
    assert theory.edge(dy.MultiStepSAM(LR, 0.05, steps_ascent=3, alpha=0.01), grad_norm=0.3) == pytest.approx(
        theory.sam_edge(LR, 0.03, 0.3), rel=1e-14)
    with pytest.raises(ValueError, match="deterministic mean map .* got RandomSAM"):
        theory.edge(dy.RandomSAM(LR, 0.05))


@pytest.fixture(scope="module")
def bumpy():
    return landscapes.from_expr("0.5*(u*v - 1)**2 + 0.1*(u - v)**2 + 0.3*u**2*v**2", ["u", "v"])


@pytest.mark.parametrize("opt", [dy.MultiStepUSAM(LR, 0.05, steps_ascent=3),
                                 dy.MultiStepSAM(LR, 0.2, steps_ascent=3, alpha=0.1),
                                 dy.MultiStepSAM(LR, 0.5, steps_ascent=2, alpha=0.1),
                                 dy.ASAM(LR, 0.5, eta_a=0.05), dy.UnifiedSAM(LR, 0.05, lam_u=0.3),
                                 dy.SignSAM(LR, 0.2)],
                         ids=lambda o: o.describe())
def test_the_exact_jacobian_of_each_variant_matches_finite_differences(bumpy, opt):
    """update_jacobian's chain rule through each ascent equals central differences of the update (to 1e-8), away
    from the points where the ascent is not differentiable."""
    x = np.array([[0.7, -0.4], [1.1, 0.3], [0.2, 0.9]])
    jac, fallback = theory.update_jacobian(bumpy, opt, x)
    assert not fallback.any()
    np.testing.assert_allclose(jac, _finite_difference_jacobian(bumpy, opt, x), atol=1e-8)


def test_fixed_point_stability_and_fates_work_for_each_variant(bumpy):
    """Multi-step USAM's spectral radius at a quadratic minimum is max |1 - lr lam (1 + rho lam)^K| over the Hessian's
    eigenvalues; stability_fates takes the variants' other hyperparameters (and names those a kind lacks), and
    classify_fates reads the run of each."""
    bowl = landscapes.from_expr("0.5*u**2 + 1.5*v**2", ["u", "v"])
    found = theory.fixed_point_stability(bowl, dy.MultiStepUSAM(LR, 0.05, steps_ascent=3), [0.0, 0.0])
    expected = max(abs(1 - LR * lam * (1 + 0.05 * lam) ** 3) for lam in (1.0, 3.0))
    assert found.method == "exact" and found.spectral_radius == pytest.approx(expected, rel=1e-12)
    grid = theory.stability_fates(bowl, [0.0, 0.0], lrs=[0.1, 0.5], rhos=[0.0, 0.3], optimizer="multistepusam",
                                  hyperparameters={"steps_ascent": 3}, steps=300)
    edge = theory.repeated_ascent_rho_edge(grid.lrs[None, :], grid.lam, 3)
    np.testing.assert_array_equal(grid.fates == "stable", grid.rhos[:, None] < np.nan_to_num(edge, nan=-1.0))
    with pytest.raises(ValueError, match=r"fields of ASAM other than lr, rho and batch_size \(.*eta_a\), got 'steps_ascent'"):
        theory.stability_fates(bowl, [0.0, 0.0], lrs=[0.1, 0.2], rhos=[0.0, 0.1], optimizer="asam",
                               hyperparameters={"steps_ascent": 3})
    starts = np.array([[0.5, 0.4], [-1.0, 0.8]])
    for opt, _ in CASES:
        run = dy.simulate(bowl, opt, starts, 300, backend="numpy")
        assert (theory.classify_fates(run, backend="numpy") == "minimizer").all()
        found = theory.fixed_point_stability(bowl, opt, starts[0])
        differenced = isinstance(opt, (dy.GSAM, dy.StableSAM, dy.GNP, dy.WSAM))
        assert found.method == ("finite-difference" if differenced else "exact")


def test_analyses_of_a_one_step_ascent_refuse_the_others(bumpy):
    """The modified loss writes the ascent as x + s grad L(x): it refuses ASAM with a sentence naming the maps it knows."""
    with pytest.raises(ValueError, match=r"one-step ascent x \+ s grad L\(x\) \(gd, usam, sam\) .* got ASAM"):
        theory.modified_loss_gradient(bumpy, dy.ASAM(LR, 0.5), np.array([0.3, 0.2]))
