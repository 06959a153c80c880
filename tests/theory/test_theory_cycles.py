"""SAM's 2-cycle around a minimizer on the landscape itself (theory.sam_cycle, sam_cycle_edge, stability_edge),
against an independent computation: on a landscape even in x and separable, the cycle is symmetric, (a, 0) and
(-a, 0), and reduces to a scalar equation solved here with SciPy's brentq."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from samscape import dynamics, landscapes, theory

QUARTIC = "x**2 + 0.25*y**2 + 0.1*x**4"
MU = 0.5  # the curvature along y


def d1(s):
    return 2 * s + 0.4 * s**3


def d2(s):
    return 2 + 1.2 * s**2


@pytest.fixture(scope="module")
def quartic():
    return landscapes.from_expr(QUARTIC, ["x", "y"])


def symmetric_cycle(lr, s):
    """With s = a + rho: T(a) = a - lr L'(a + rho) = -a gives a = lr L'(s)/2 and rho = s - a. The two-step
    Jacobian is diagonal: (1 - lr L''(s))^2 along x; along y the ascent's Jacobian is 1 + rho*MU/|L'(a)| and the
    Hessian at the ascent point MU, so (1 - lr MU (1 + rho MU / L'(a)))^2."""
    a = lr * d1(s) / 2
    rho = s - a
    along_x = (1 - lr * d2(s)) ** 2
    along_y = (1 - lr * MU * (1 + rho * MU / d1(a))) ** 2
    return a, rho, max(along_x, along_y)


def fold(lr):
    """The largest s on the branch from s = 0: where rho(s) = s - lr L'(s)/2 stops increasing."""
    return brentq(lambda s: 1 - lr * d2(s) / 2, 1e-9, 100.0)


def independent_edge(lr, rho_max):
    """The smallest rho at which the symmetric cycle's radius reaches 1 or the branch folds (inf: none below
    rho_max)."""
    s_fold = fold(lr)
    grid = np.linspace(1e-6, s_fold, 4000)
    over = [s for s in grid if symmetric_cycle(lr, s)[2] >= 1]
    s_edge = brentq(lambda s: symmetric_cycle(lr, s)[2] - 1, grid[grid < over[0]][-1], over[0]) if over else s_fold
    rho = symmetric_cycle(lr, s_edge)[1]
    return rho if rho <= rho_max else np.inf


def test_the_cycle_and_its_two_step_radius_match_the_symmetric_reduction(quartic):
    """At eta = 0.51 and several rho, sam_cycle's points are (+-a, 0) with a from the scalar equation and its
    spectral radius is the reduction's, to 1e-9."""
    lr = 0.51
    rhos = np.array([0.05, 0.2, 0.35, 0.4])
    found = theory.sam_cycle(quartic, [0.0, 0.0], lr, rhos)
    assert found.exists.all()
    for i, rho in enumerate(rhos):
        s = brentq(lambda s: symmetric_cycle(lr, s)[1] - rho, 1e-12, fold(lr))
        a, _, radius = symmetric_cycle(lr, s)
        np.testing.assert_allclose(np.sort(found.points[i, :, 0]), [-a, a], rtol=0, atol=1e-9)
        np.testing.assert_allclose(found.points[i, :, 1], 0.0, atol=1e-9)
        assert found.spectral_radius[i] == pytest.approx(radius, abs=1e-9)
    assert found.stable.tolist() == (found.spectral_radius < 1).tolist()


def test_the_edge_matches_the_reduction_and_lies_left_of_usams(quartic):
    """sam_cycle_edge agrees with the reduction's edge to 1e-7 at several eta; at eta = 0.51 it is below USAM's
    edge of the quadratic approximation (the finding: SAM diverges left of the USAM edge); past eta*lam = 2 it is 0."""
    lrs = np.array([0.2, 0.35, 0.51, 0.8, 0.95, 1.2])
    edge = theory.sam_cycle_edge(quartic, [0.0, 0.0], lrs, rho_max=1.0)
    expected = [independent_edge(lr, 1.0) if lr * 2 < 2 else 0.0 for lr in lrs]
    np.testing.assert_allclose(edge.rho_edge, expected, rtol=0, atol=1e-7)
    assert np.isinf(edge.rho_edge[0]) and edge.reason[0] == "stable up to rho_max"
    assert edge.rho_edge[-1] == 0.0 and edge.reason[-1] == "no cycle: lr*lam >= 2"
    assert edge.rho_edge[2] < theory.usam_rho_edge(0.51, 2.0)


def test_simulated_sam_settles_on_the_computed_cycle(quartic):
    """SAM from near the minimizer at (eta, rho) = (0.51, 0.3) ends alternating between the two points of the
    computed cycle."""
    cycle = theory.sam_cycle(quartic, [0.0, 0.0], 0.51, 0.3)
    run = dynamics.simulate(quartic, dynamics.SAM(0.51, 0.3), [[0.3, 0.2]], 3001, every=1, seed=0,
                            backend="numpy")
    ends = np.sort(run.xs[-2:, 0, 0])
    np.testing.assert_allclose(ends, np.sort(cycle.points[:, 0]), atol=1e-8)


def test_on_a_quadratic_the_cycle_is_p2s_and_never_loses_stability_below_gds_edge():
    """On 0.5 x^T diag(0.5, 2) x the cycle is +-lr*lam*rho/(2 - lr*lam) along the sharp axis (theory.sam_two_cycle)
    and the edge is inf for lr*lam < 2, 0 beyond: SAM's edge on a quadratic is GD's."""
    Q = landscapes.get("quadratic", eigenvalues=(0.5, 2.0))
    cycle = theory.sam_cycle(Q, [0.0, 0.0], 0.7, 0.4)
    np.testing.assert_allclose(np.abs(cycle.points[:, 1]), theory.sam_two_cycle(0.7, 0.4, 2.0), atol=1e-12)
    edge = theory.sam_cycle_edge(Q, [0.0, 0.0], [0.3, 0.9, 1.01], rho_max=2.0)
    assert np.isinf(edge.rho_edge[:2]).all() and edge.rho_edge[2] == 0.0


def test_stability_edge_dispatches_on_the_optimizer_and_says_which_edge():
    """stability_edge draws GD's 2/lam for GD, USAM's closed form for USAM, the cycle edge for SAM at an isolated
    minimizer, and falls back to the quadratic approximation (exact False, said in the label) on a manifold."""
    quartic = landscapes.from_expr(QUARTIC, ["x", "y"])
    lrs = np.linspace(0.1, 1.4, 6)
    gd = theory.stability_edge(quartic, dynamics.GD(0.1), [0, 0], lrs, rho_max=1.0)
    assert gd.kind == "gd" and np.all(gd.eta == 1.0) and "GD" in gd.label
    usam = theory.stability_edge(quartic, dynamics.USAM(0.1, 0.1), [0, 0], lrs, rho_max=1.0)
    np.testing.assert_allclose(usam.rho, theory.usam_rho_edge(lrs, 2.0))
    sam = theory.stability_edge(quartic, dynamics.SAM(0.1, 0.1), [0, 0], lrs, rho_max=1.0)
    assert sam.kind == "sam" and sam.exact and "on the landscape" in sam.label
    assert sam.eta[-1] == lrs[-1] and 1.0 in sam.eta  # the curve reaches rho = 0 at eta = 2/lam
    tanh = landscapes.get("tanh")
    flat = theory.stability_edge(tanh, dynamics.SAM(0.1, 0.1), [2.0, 0.0], lrs, rho_max=1.0)
    assert not flat.exact and "quadratic approximation" in flat.label
    assert flat.eta[0] == pytest.approx(2 / np.tanh(2.0) ** 2)
    with pytest.raises(ValueError, match="isolated minimizer"):
        theory.sam_cycle(tanh, [2.0, 0.0], 0.1, 0.1)
    with pytest.raises(ValueError, match="deterministic"):
        theory.stability_edge(tanh, dynamics.RandomSAM(0.1, 0.1), [2.0, 0.0], lrs, rho_max=1.0)
