"""Momentum's stability theory (docs/theory.md section 2.2, derived here) against SymPy and simulation.

The edge is derived again here from the augmented map on ``(x, v)``: SymPy differentiates the update rules of the
agreed convention (PyTorch SGD, dampening 0) and finds where an eigenvalue of the Jacobian reaches -1; the theory's
effective step must put that edge at ``s a = 2``. Simulations 2 % on either side of ``theory.edge`` settle (on the
minimum or on the 2-cycle of the amplitude ``theory.two_cycle`` gives, the velocity alternating with it) or diverge.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from samscape import dynamics as dy
from samscape import landscapes, theory
from samscape.theory.stability import _finite_difference_jacobian

LR = 0.1
MU = 0.6


def _augmented_map(nesterov: bool):
    """SymPy's Jacobian of one step on ``(x, v)`` for the descent direction ``d = a x`` (a quadratic's linearization)."""
    x, v, a, lr, mu = sp.symbols("x v a lr mu", real=True)
    d = a * x
    v_next = mu * v + d
    x_next = x - lr * (d + mu * v_next) if nesterov else x - lr * v_next
    return sp.Matrix([x_next, v_next]).jacobian([x, v]), (a, lr, mu)


@pytest.mark.parametrize("nesterov", [False, True], ids=["heavy-ball", "nesterov"])
def test_the_edge_is_where_the_augmented_jacobian_reaches_minus_one(nesterov):
    """det(J + I) = 0 at exactly one lr a, which theory.momentum_lr puts at s a = 2; the augmented Jacobian the
    theory builds from the stateless one equals SymPy's; and the spectral radius is below 1 just under the edge and
    above 1 just over it."""
    jac, (a, lr, mu) = _augmented_map(nesterov)
    roots = sp.solve(sp.Eq((jac + sp.eye(2)).det(), 0), a)
    assert len(roots) == 1
    for mu_value in (0.0, 0.3, MU, 0.9):
        edge_a = float(roots[0].subs({lr: LR, mu: mu_value}))
        assert theory.momentum_lr(LR, mu_value, nesterov) * edge_a == pytest.approx(2.0, rel=1e-13)
        numeric = sp.lambdify((a, lr, mu), jac)
        for factor, stable in ((0.98, True), (1.02, False)):
            radius = np.max(np.abs(np.linalg.eigvals(np.array(numeric(factor * edge_a, LR, mu_value), dtype=float))))
            assert (radius < 1) == stable
        # the theory's Jacobian from the stateless one, 1 - lr a
        built = theory.augmented_jacobian(np.array([[1 - LR * 2.5]]), LR, mu_value, nesterov)
        np.testing.assert_allclose(built, np.array(numeric(2.5, LR, mu_value), dtype=float), rtol=1e-14)


def _line(lam):
    return landscapes.from_expr(f"{lam!r}*u**2/2", ["u"])


CASES = [
    dy.GD(LR, momentum=MU),
    dy.USAM(LR, 0.05, momentum=MU),
    dy.SAM(LR, 0.05, momentum=MU),
    dy.USAM(LR, 0.05, momentum=MU, nesterov=True),
    dy.SAM(LR, 0.05, momentum=0.3, nesterov=True),
    # MSAM's perturbation -rho v/|v| is +rho sign z on the cycle, where v has the sign opposite to z: SAM's cycle
    dy.MSAM(LR, 0.05, momentum=MU),
]


@pytest.mark.parametrize("opt", CASES, ids=lambda o: o.describe())
def test_the_momentum_edge_separates_settling_from_divergence_in_simulation(opt):
    """2 % below theory.edge a start next to the minimum ends on the predicted fixed point or 2-cycle (to 1e-8),
    with the velocity of the cycle (the state the run carries); 2 % above it the run leaves the bound."""
    lam_edge = theory.edge(opt)
    starts = np.array([[1e-3], [-2e-3]])
    lam = 0.98 * lam_edge
    below = dy.simulate(_line(lam), opt, starts, 4000, every=4000, backend="numpy")
    assert (below.status == "ok").all()
    amplitude = theory.two_cycle(opt, lam)
    np.testing.assert_allclose(np.abs(below.x[:, 0]), amplitude, rtol=1e-8, atol=1e-12)
    velocity = below.state.arrays["velocity"][:, 0]
    if isinstance(opt, (dy.SAM, dy.MSAM)):
        expected = theory.sam_momentum_cycle_velocity(opt.lr, opt.rho, lam, opt.momentum, opt.nesterov)
        np.testing.assert_allclose(velocity, -np.sign(below.x[:, 0]) * expected, rtol=1e-8)
    else:
        np.testing.assert_allclose(velocity, 0.0, atol=1e-12)
    above = dy.simulate(_line(1.02 * lam_edge), opt, starts, 4000, every=4000, backend="numpy")
    assert (above.status != "ok").all()


def test_the_momentum_edges_follow_the_formulas():
    """edge: GD's 2(1 + mu)/lr, USAM's root of lr lam (1 + rho lam) = 2(1 + mu), SAM's local edge at a gradient norm
    with 2(1 + mu) for 2, Nesterov's 2(1 + mu)/(1 + 2 mu); momentum 0 leaves every edge as it was."""
    assert theory.edge(dy.GD(LR, momentum=MU)) == pytest.approx(2 * (1 + MU) / LR, rel=1e-14)
    lam = theory.edge(dy.USAM(LR, 0.05, momentum=MU))
    assert LR * lam * (1 + 0.05 * lam) == pytest.approx(2 * (1 + MU), rel=1e-13)
    lam = theory.edge(dy.SAM(LR, 0.05, momentum=MU), grad_norm=0.3)
    assert LR * lam * (1 + 0.05 * lam / 0.3) == pytest.approx(2 * (1 + MU), rel=1e-13)
    assert theory.edge(dy.GD(LR, momentum=MU, nesterov=True)) == pytest.approx(2 * (1 + MU) / (LR * (1 + 2 * MU)),
                                                                                  rel=1e-14)
    assert theory.edge(dy.ASAM(LR, 0.5, momentum=0.0)) == theory.edge(dy.ASAM(LR, 0.5))
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\) \(a number or one per start\), got 1.0"):
        theory.momentum_lr(LR, 1.0)
    with pytest.raises(ValueError, match="lr \\* lam must be < 2 \\(1 \\+ mu\\)"):
        theory.sam_momentum_two_cycle(LR, 0.05, 2 * (1 + MU) / LR, MU)


@pytest.fixture(scope="module")
def bowl():
    return landscapes.from_expr("0.5*u**2 + 1.5*v**2", ["u", "v"])


def _char_radius(lr, a, mu, nesterov):
    """Largest root modulus of the characteristic polynomial of docs/theory.md section 2.2 for one eigenvalue a."""
    coefficients = [1, -(1 + mu) * (1 - lr * a), mu * (1 - lr * a)] if nesterov else [1, -(1 + mu - lr * a), mu]
    return max(abs(np.roots(coefficients)))


@pytest.mark.parametrize("nesterov", [False, True], ids=["heavy-ball", "nesterov"])
def test_fixed_point_stability_of_the_augmented_map(bowl, nesterov):
    """At the minimum of 0.5 u^2 + 1.5 v^2 the augmented Jacobian is 4 x 4, its radius the largest root of the
    characteristic polynomials over the Hessian's eigenvalues (1 and 3), stable just under USAM's momentum edge and
    unstable just over it; the residual of (x*, 0) is 0 and of (x*, v != 0) is not."""
    for factor, stable in ((0.98, True), (1.02, False)):
        lr = factor * 2 * (1 + MU) / (3 * (1 + 0.1 * 3)) / ((1 + 2 * MU) if nesterov else 1.0)
        opt = dy.USAM(lr, 0.1, momentum=MU, nesterov=nesterov)
        found = theory.fixed_point_stability(bowl, opt, [0.0, 0.0])
        expected = max(_char_radius(lr, lam * (1 + 0.1 * lam), MU, nesterov) for lam in (1.0, 3.0))
        assert found.jacobian.shape == (4, 4) and found.method == "exact"
        assert found.spectral_radius == pytest.approx(expected, rel=1e-10)
        assert found.stable is stable and found.residual == 0.0
        np.testing.assert_array_equal(found.state["velocity"], [0.0, 0.0])
    moving = theory.fixed_point_stability(bowl, opt, [0.0, 0.0], state={"velocity": [0.1, 0.0]})
    assert moving.residual > 0.01


def test_the_augmented_jacobian_matches_finite_differences_of_the_step(bowl):
    """update_jacobian's augmented matrix equals central differences of the optimizer's own stateful step (advance),
    in x and in v, away from the minimum (SAM is smooth there) and for Nesterov."""
    land = landscapes.from_expr("0.5*(u*v - 1)**2 + 0.1*(u - v)**2 + 0.3*u**2*v**2", ["u", "v"])
    x = np.array([[0.7, -0.4], [1.1, 0.3]])
    velocity = np.array([[0.2, -0.1], [0.0, 0.3]])
    for opt in (dy.SAM(LR, 0.2, momentum=MU), dy.USAM(LR, 0.2, momentum=MU, nesterov=True)):
        jac, fallback = theory.update_jacobian(land, opt, x)
        assert not fallback.any() and jac.shape == (2, 4, 4)
        step = 1e-6
        numeric = np.empty_like(jac)
        state = np.concatenate([x, velocity], axis=-1)
        for j in range(4):
            shift = np.zeros(4)
            shift[j] = step
            ahead = _stateful_step(land, opt, state + shift)
            behind = _stateful_step(land, opt, state - shift)
            numeric[:, :, j] = (ahead - behind) / (2 * step)
        np.testing.assert_allclose(jac, numeric, atol=1e-7)


def _stateful_step(land, opt, state):
    from samscape.theory.stability import _one_stateful_step

    x, moved = _one_stateful_step(land, opt, state[:, :2], {"velocity": state[:, 2:]})
    return np.concatenate([x, moved["velocity"]], axis=-1)


def test_on_a_valley_the_tangent_space_is_at_rest(bowl):
    """On the valley v = 0 of tanh (a manifold of minimizers) the augmented map has one tangent eigenvalue 1, and the
    velocity along the valley adds mu to the normal eigenvalues, whose radius is below 1 under GD's momentum edge."""
    tanh = landscapes.get("tanh")
    lam = np.tanh(2.0) ** 2
    opt = dy.GD(0.9 * 2 * (1 + MU) / lam, momentum=MU)
    found = theory.fixed_point_stability(tanh, opt, [2.0, 0.0])
    assert found.tangent_dim == 1
    np.testing.assert_allclose(found.tangent_eigenvalues, [1.0], atol=1e-12)
    assert found.normal_eigenvalues.size == 3
    assert np.min(np.abs(found.normal_eigenvalues - MU)) < 1e-12
    expected = _char_radius(opt.lr, lam, MU, False)
    assert found.normal_radius == pytest.approx(max(expected, MU), rel=1e-10) and found.normally_stable
    assert not theory.fixed_point_stability(tanh, dy.GD(1.1 * 2 * (1 + MU) / lam, momentum=MU),
                                            [2.0, 0.0]).normally_stable


def test_stability_fates_and_classify_fates_carry_the_velocity(bowl):
    """stability_fates with momentum marks stable exactly the cells under USAM's momentum edge; classify_fates
    continues a run from its state (advance from the final step equals a longer run), finds a minimizer under the
    edge and a divergence over it."""
    lam = 3.0
    lrs = np.array([0.9, 1.1]) * 2 * (1 + MU) / (lam * (1 + 0.1 * lam))
    grid = theory.stability_fates(bowl, [0.0, 0.0], lrs=lrs, rhos=[0.0, 0.1], optimizer="usam",
                                  hyperparameters={"momentum": MU}, steps=600)
    # rho = 0 is GD with momentum, whose edge 2(1 + mu)/lam lies beyond both steps
    assert grid.fates.tolist() == [["stable", "stable"], ["stable", "diverged"]]
    starts = np.array([[0.5, 0.4], [-1.0, 0.8]])
    for lr, fate in zip(lrs, ("minimizer", "diverged")):
        opt = dy.USAM(lr, 0.1, momentum=MU)
        run = dy.simulate(bowl, opt, starts, 500, every=1, seed=0, backend="numpy")
        assert theory.classify_fates(run, backend="numpy").tolist() == [fate, fate]
    short = dy.simulate(bowl, opt := dy.SAM(0.2, 0.05, momentum=MU), starts, 30, every=1, seed=0, backend="numpy")
    longer = dy.simulate(bowl, opt, starts, 40, every=1, seed=0, backend="numpy")
    np.testing.assert_array_equal(theory.advance(short, short.x, 30, 10, state=short.state.arrays), longer.xs[30:])
    assert not np.array_equal(theory.advance(short, short.x, 30, 10)[-1], longer.x)  # the velocity matters


def test_two_cycle_has_no_closed_form_for_a_random_ascent_or_above_the_edge():
    """two_cycle gives 0 for a map resting on the minimum, SAM's formula with the effective step for SAM with
    momentum, and refuses a random ascent and a curvature at the edge with a sentence."""
    assert theory.two_cycle(dy.USAM(LR, 0.05, momentum=MU), 1.0) == 0.0
    step = LR / (1 + MU)
    assert theory.two_cycle(dy.SAM(LR, 0.05, momentum=MU), 3.0) == pytest.approx(step * 3 * 0.05 / (2 - step * 3),
                                                                                  rel=1e-14)
    with pytest.raises(ValueError, match="deterministic mean map .* got RandomSAM"):
        theory.two_cycle(dy.RandomSAM(LR, 0.05), 1.0)
    with pytest.raises(ValueError, match="lam must be below the edge 32 of SAM"):
        theory.two_cycle(dy.SAM(LR, 0.05, momentum=MU), 32.0)


def test_msam_and_looksam_have_a_map_on_x_and_state_but_looksam_no_closed_form(bowl):
    """fixed_point_stability differentiates the map on (x, state) of a step that reads its state: MSAM with rho = 0 is
    the heavy ball (radius of the characteristic polynomial, stable under 2(1 + mu)/lam and not over it) and with
    rho > 0 repels at the minimum (its direction -v/|v| jumps at v = 0); LookSAM with rho = 0 over one period of 3
    steps multiplies the error by (1 - lr lam)^3. LookSAM has no closed-form edge or cycle, and MSAM no local edge at a
    gradient norm: each refusal is one sentence."""
    for factor, stable in ((0.9, True), (1.1, False)):
        lr = factor * 2 * (1 + MU) / 3.0
        found = theory.fixed_point_stability(bowl, dy.MSAM(lr, 0.0, momentum=MU), [0.0, 0.0])
        expected = max(_char_radius(lr, lam, MU, False) for lam in (1.0, 3.0))
        assert found.jacobian.shape == (4, 4) and found.method == "finite-difference"
        assert found.spectral_radius == pytest.approx(expected, rel=1e-6) and found.stable is stable
        assert found.residual == 0.0
        looksam = theory.fixed_point_stability(bowl, dy.LookSAM(factor * 2 / 3.0, 0.0, period=3), [0.0, 0.0])
        assert looksam.spectral_radius == pytest.approx(abs(1 - factor * 2) ** 3, rel=1e-6)
        assert looksam.stable is stable and "over 3 step(s)" in looksam.note
    repelling = theory.fixed_point_stability(bowl, dy.MSAM(LR, 0.05, momentum=MU), [0.0, 0.0])
    assert repelling.residual == 0.0 and repelling.spectral_radius > 1e3
    with pytest.raises(ValueError, match="no closed form is derived for its 'periodic' ascent"):
        theory.edge(dy.LookSAM(LR, 0.05))
    with pytest.raises(ValueError, match="no closed form is derived for its 'periodic' ascent"):
        theory.two_cycle(dy.LookSAM(LR, 0.05), 1.0)
    with pytest.raises(ValueError, match="grad_norm must be None for MSAM.*follows its velocity"):
        theory.edge(dy.MSAM(LR, 0.05), grad_norm=0.3)


def test_stability_fates_and_classify_fates_of_msam(bowl):
    """stability_fates simulates MSAM: with rho = 0 (the heavy ball) it stays under the edge, with rho > 0 it leaves
    theta* for its 2-cycle, and over the edge it diverges; classify_fates calls the cycle's start a minimizer (the
    cycle surrounds it) and the diverging one diverged."""
    lrs = np.array([0.9, 1.1]) * 2 * (1 + MU) / 3.0
    grid = theory.stability_fates(bowl, [0.0, 0.0], lrs=lrs, rhos=[0.0, 0.05], optimizer="msam",
                                  hyperparameters={"momentum": MU}, steps=400)
    assert grid.fates.tolist() == [["stable", "diverged"], ["escaped", "diverged"]]
    for lr, fate in zip(lrs, ("minimizer", "diverged")):
        run = dy.simulate(bowl, dy.MSAM(lr, 0.05, momentum=MU), [[0.5, 0.4]], 400, every=1, seed=0, backend="numpy")
        assert theory.classify_fates(run, backend="numpy").tolist() == [fate]
