"""The theory functions the wider literature's claims use, each against an independent computation: SymPy, the
simulator's own step, or a loop written here from the formula."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from samscape import dynamics, landscapes, theory


# ---------------------------------------------------------------------------------------------- sam_cycle_factors
@pytest.mark.parametrize("lr, eigenvalues", [(0.4, (3.0, 1.0, 0.3)), (0.1, (1.0, -1.0)), (1.5, (0.2, 1.0, -0.5))])
def test_sam_cycle_factors_are_the_eigenvalues_of_sams_jacobian_at_the_cycle(lr, eigenvalues):
    """On a diagonal quadratic, SAM's update Jacobian (theory.update_jacobian, from the exact Hessians) at the cycle
    point c v_1 is diagonal with the predicted factors, in the order of the eigenvalues given."""
    rho = 0.05
    land = landscapes.get("quadratic", eigenvalues=eigenvalues)
    top = int(np.argmax(eigenvalues))
    point = np.zeros(len(eigenvalues))
    point[top] = theory.sam_two_cycle(lr, rho, eigenvalues[top])
    jacobian, _ = theory.update_jacobian(land, dynamics.SAM(lr, rho), point)
    np.testing.assert_allclose(jacobian, np.diag(theory.sam_cycle_factors(lr, eigenvalues)), atol=1e-12)


def test_sam_cycle_factor_lies_strictly_between_minus_one_and_one_below_the_top_eigenvalue():
    """SymPy: 1 - F = r(a + (2 - a) r) and 1 + F = (1 - r)(2 + (2 - a) r), so |F| < 1 on 0 < a < 2, 0 < r < 1; the
    function agrees with F on a grid, beyond r = 1 F < -1."""
    a, r = sp.symbols("a r", positive=True)
    F = 1 - a * r - (2 - a) * r**2
    assert sp.expand(1 - F - r * (a + (2 - a) * r)) == 0
    assert sp.expand(1 + F - (1 - r) * (2 + (2 - a) * r)) == 0
    grid_a, grid_r = np.meshgrid(np.linspace(0.05, 1.95, 20), np.linspace(0.01, 0.99, 30))
    lr = grid_a / 2.0  # lam_1 = 2
    factors = theory.sam_cycle_factors(lr, np.stack([np.full_like(grid_r, 2.0), 2.0 * grid_r], -1))
    F_num = sp.lambdify((a, r), F)
    np.testing.assert_allclose(factors[..., 1], F_num(grid_a, grid_r), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(factors[..., 0], 1 - grid_a, rtol=1e-13)
    assert np.all(np.abs(factors[..., 1]) < 1)
    # a cycle along a direction that is not the sharpest (r = lam_k/lam_cycle > 1) repels
    assert np.all(F_num(grid_a, 1.0 + grid_r) < -1)


@pytest.mark.parametrize("lr, eigenvalues, words", [(1.0, (2.5, 1.0), ["lr * lam", "2.5"]),
                                                    (0.1, (-1.0, -2.0), ["positive along the cycle", "-1"]),
                                                    (0.1, (), ["eigenvalues", "d >= 1"]),
                                                    (-0.1, (1.0,), ["lr", "-0.1"])])
def test_sam_cycle_factors_refuses_inputs_without_a_cycle(lr, eigenvalues, words):
    with pytest.raises(ValueError) as err:
        theory.sam_cycle_factors(lr, eigenvalues)
    assert all(w in str(err.value) for w in words)


def test_sam_cycle_factors_of_a_cycle_along_a_flatter_direction_match_the_jacobian_there():
    """cycle=k: SAM's 2-cycle along the second eigenvector of diag(3, 1, 0.3) has the factors of SAM's Jacobian at
    c_2 v_2, and the one along v_1 is below -1 (the cycle repels); an index out of range is refused."""
    lr, rho, eigenvalues = 0.4, 0.05, (3.0, 1.0, 0.3)
    land = landscapes.get("quadratic", eigenvalues=eigenvalues)
    point = np.array([0.0, theory.sam_two_cycle(lr, rho, 1.0), 0.0])
    jacobian, _ = theory.update_jacobian(land, dynamics.SAM(lr, rho), point)
    factors = theory.sam_cycle_factors(lr, eigenvalues, cycle=1)
    np.testing.assert_allclose(jacobian, np.diag(factors), atol=1e-12)
    assert factors[0] < -1
    with pytest.raises(ValueError, match="cycle must be an integer from 0 to"):
        theory.sam_cycle_factors(lr, eigenvalues, cycle=3)


# ---------------------------------------------------------------------------------------------- usam_stable_rho_interval
@pytest.mark.parametrize("lr, eigenvalues", [(0.1, (1.0, -1.0)), (0.3, (2.0, 0.5)), (0.5, (1.0, -2.0, 0.3)),
                                             (0.1, (30.0, -1.0)), (2.5, (1.0,)), (0.1, (1.0, 0.0))])
def test_usam_stable_rho_interval_matches_a_scan_of_the_factors(lr, eigenvalues):
    """The interval is where every factor |1 - lr lam (1 + rho lam)|, written out here, is below 1, on a fine grid of
    rho; empty (NaN) exactly when the scan finds no stable rho."""
    lo, hi = theory.usam_stable_rho_interval(lr, eigenvalues)
    rhos = np.linspace(0.0, 60.0, 600_001)
    lam = np.asarray(eigenvalues)[:, None]
    stable = np.all(np.abs(1 - lr * lam * (1 + rhos * lam)) < 1, axis=0)
    if not stable.any():
        assert math.isnan(lo) and math.isnan(hi)
        return
    step = rhos[1] - rhos[0]
    assert abs(rhos[stable].min() - lo) <= step
    assert abs(min(rhos[stable].max(), 60.0) - min(hi, 60.0)) <= step
    assert np.all(stable[(rhos > lo + step) & (rhos < hi - step)])


def test_usam_stable_rho_interval_refuses_bad_input():
    with pytest.raises(ValueError, match="eigenvalues must be a finite 1-D array"):
        theory.usam_stable_rho_interval(0.1, [[1.0]])
    with pytest.raises(ValueError, match="lr must be"):
        theory.usam_stable_rho_interval(0.0, [1.0])


# ---------------------------------------------------------------------------------------------- stochastic_limit
def _mean_update(a, h, p, rho, x, normalized):
    """The mean over samples of grad f_i at sample i's own ascent point, written out sample by sample."""
    total = 0.0
    for ai, hi, pi in zip(a, h, p):
        gi = hi * (x - ai)
        ascent = x + (rho * np.sign(gi) if normalized else rho * gi)
        total += pi * hi * (ascent - ai)
    return total


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("normalized", [True, False])
def test_stochastic_limit_is_where_the_mean_update_changes_sign(seed, normalized):
    """For random centers, curvatures and weights, the limit is the sign change of the mean update evaluated on a
    grid by the loop above (bisection to 1e-12 from the grid's bracket)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 6))
    a, h, p = rng.normal(size=n), rng.uniform(0.3, 3.0, n), rng.uniform(0.2, 1.0, n)
    rho = float(rng.uniform(0.05, 1.5))
    opt = (dynamics.PerSampleSAM if normalized else dynamics.PerSampleUSAM)(0.1, rho)
    got = theory.stochastic_limit(opt, a, h, p)
    p = p / p.sum()
    lo, hi = -20.0, 20.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _mean_update(a, h, p, rho, mid, normalized) < 0:
            lo = mid
        else:
            hi = mid
    assert abs(got - 0.5 * (lo + hi)) <= 1e-9


def test_stochastic_limit_of_the_four_point_toy_is_rho_over_two_and_usam_and_gd_give_x_star():
    """a = (1, 1, 1, -3), equal curvatures: SAM's limit is rho/2 (SymPy solves 3(x - 1 - rho) + (x + 3 + rho) = 0),
    USAM's and GD's are x* = 0; SAM(batch_size=1) is the same per-sample ascent as PerSampleSAM."""
    x, rho = sp.symbols("x rho")
    (solution,) = sp.solve(3 * (x - 1 - rho) + (x + 3 + rho), x)
    centers = (1.0, 1.0, 1.0, -3.0)
    for value in (0.1, 0.4, 1.2):
        expected = float(solution.subs(rho, value))
        assert theory.stochastic_limit(dynamics.SAM(0.1, value, batch_size=1), centers) == pytest.approx(expected, abs=1e-15)
        assert theory.stochastic_limit(dynamics.PerSampleUSAM(0.1, value), centers) == pytest.approx(0.0, abs=1e-15)
    # no ascent: x* = sum h a / sum h = (1 + 2 + 1 - 3)/5
    assert theory.stochastic_limit(dynamics.SGD(0.1, 1), centers, (1.0, 2.0, 1.0, 1.0)) == pytest.approx(0.2, abs=1e-15)


def test_stochastic_limit_refuses_a_full_batch_or_random_ascent():
    with pytest.raises(ValueError, match="per sample"):
        theory.stochastic_limit(dynamics.SAM(0.1, 0.1), (1.0, -1.0))
    with pytest.raises(ValueError, match="normalized, unnormalized or no ascent"):
        theory.stochastic_limit(dynamics.RandomSAM(0.1, 0.1, batch_size=1), (1.0, -1.0))
    with pytest.raises(ValueError, match="curvatures must all be > 0"):
        theory.stochastic_limit(dynamics.PerSampleSAM(0.1, 0.1), (1.0, -1.0), (1.0, 0.0))


# ---------------------------------------------------------------------------------------------- dual_norm_ascent
@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0, np.inf])
def test_dual_norm_ascent_maximizes_the_linear_term_on_the_p_ball(p):
    """eps has p-norm rho, attains g^T eps = rho ||g||_q, and no point of 20,000 random points of the p-sphere
    does better."""
    rng = np.random.default_rng(int(p) if np.isfinite(p) else 9)
    g = rng.normal(size=(5, 3))
    rho = 0.7
    eps = theory.dual_norm_ascent(g, rho, p)
    q = np.inf if p == 1 else (1.0 if np.isinf(p) else p / (p - 1))
    np.testing.assert_allclose(np.linalg.norm(eps, ord=p, axis=-1), rho, rtol=1e-12)
    np.testing.assert_allclose(np.sum(g * eps, axis=-1), rho * np.linalg.norm(g, ord=q, axis=-1), rtol=1e-12)
    trial = rng.normal(size=(20_000, 3))
    trial *= rho / np.linalg.norm(trial, ord=p, axis=-1, keepdims=True)
    assert np.all((trial @ g.T).max(axis=0) <= np.sum(g * eps, axis=-1) + 1e-12)


def test_dual_norm_ascent_with_p_2_is_sams_ascent_and_zero_at_a_zero_gradient():
    """p = 2 is the simulator's own ascent x+ - x = rho g/||g|| (dynamics.sam_ascent); a zero gradient gives no ascent."""
    land = landscapes.get("rosenbrock")
    x = land.random_points(10, seed=1)
    np.testing.assert_allclose(theory.dual_norm_ascent(land.grad(x), 0.3), dynamics.sam_ascent(land, x, 0.3) - x,
                               rtol=1e-12, atol=1e-15)
    for p in (1, 2, np.inf):
        np.testing.assert_array_equal(theory.dual_norm_ascent(np.zeros(3), 0.3, p), 0.0)
    with pytest.raises(ValueError, match="p must be a number in"):
        theory.dual_norm_ascent(np.ones(2), 0.3, 0.5)


# ---------------------------------------------------------------------------------------------- modified losses
def test_modified_loss_gradient_is_sympys_gradient_of_the_modified_loss():
    """The gradient of f + rho ||grad f|| (SAM) and f + (rho/2)||grad f||^2 (USAM), differentiated by SymPy from
    rosenbrock's expression, equals modified_loss_gradient; GD's is the gradient."""
    land = landscapes.get("rosenbrock")
    symbols = list(land.symbols)
    f = land.loss_expr
    grad = [sp.diff(f, s) for s in symbols]
    rho = sp.Rational(3, 100)
    sam = f + rho * sp.sqrt(sum(g**2 for g in grad))
    usam = f + rho / 2 * sum(g**2 for g in grad)
    x = land.random_points(6, seed=2)
    for optimizer, loss in ((dynamics.SAM(0.1, 0.03), sam), (dynamics.USAM(0.1, 0.03), usam), (dynamics.GD(0.1), f)):
        expected = sp.lambdify(symbols, [sp.diff(loss, s) for s in symbols])(*x.T)
        np.testing.assert_allclose(theory.modified_loss_gradient(land, optimizer, x), np.stack(expected, -1),
                                   rtol=1e-10)


# ---------------------------------------------------------------------------------------------- smoothing
def test_smoothed_gradient_correction_is_the_exact_circle_average_for_a_quartic():
    """Rosenbrock is a quartic: the mean of grad f(x + rho u) over 8 equally spaced u on the circle (exact for
    trigonometric polynomials of degree < 8) minus grad f(x) is the correction, to rounding."""
    land = landscapes.get("rosenbrock")
    x = land.random_points(12, seed=3)
    rho = 0.3
    angles = 2 * np.pi * np.arange(8) / 8
    circle = np.stack([np.cos(angles), np.sin(angles)], -1)
    mean = land.grad(x[:, None, :] + rho * circle).mean(axis=1)
    np.testing.assert_allclose(theory.smoothed_gradient_correction(land, x, rho), mean - land.grad(x),
                               rtol=1e-9, atol=1e-10)


def test_smoothed_gradient_correction_in_three_dimensions_uses_d_equal_three():
    """In R^3 the six points +-e_i are a 3-design: averaging a cubic's gradient over them is the sphere average, and
    equals grad f + (rho^2/6) grad Laplacian f (the Laplacian differentiated by SymPy here)."""
    land = landscapes.from_expr("x**3*y + 2*y*z**2 - x*z**3 + 0.5*x*y*z", ["x", "y", "z"])
    x = np.array([[0.3, -0.7, 1.1], [1.2, 0.4, -0.2]])
    rho = 0.4
    design = np.concatenate([np.eye(3), -np.eye(3)])
    mean = land.grad(x[:, None, :] + rho * design).mean(axis=1)
    symbols = list(land.symbols)
    laplacian = sum(sp.diff(land.loss_expr, s, 2) for s in symbols)
    grad_lap = np.stack(sp.lambdify(symbols, [sp.diff(laplacian, s) for s in symbols])(*x.T), -1)
    np.testing.assert_allclose(mean - land.grad(x), rho**2 / 6 * grad_lap, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(theory.smoothed_gradient_correction(land, x, rho), rho**2 / 6 * grad_lap, rtol=1e-12)


# ---------------------------------------------------------------------------------------------- random_sam_drift
@pytest.mark.parametrize("x, lr", [(-0.5, 0.1), (0.4, 0.3), (1.5, 0.05)])
def test_random_sam_drift_on_eigen_manifold_is_the_formula_in_a1_a2(x, lr):
    """On eigen_manifold (a1 = c1 + (x-m1)^2, a2 = c2 + s (x-m2)^2, d = 3) the velocity is
    -(lr rho^2/6) (a1' 2/(2 - lr a1) + a2' 2/(2 - lr a2)), and without the finite-lr factor the trace's gradient."""
    land = landscapes.get("eigen_manifold")
    p = land.params
    rho = 0.1
    a1, a2 = p["c1"] + (x - p["m1"]) ** 2, p["c2"] + p["s"] * (x - p["m2"]) ** 2
    d1, d2 = 2 * (x - p["m1"]), 2 * p["s"] * (x - p["m2"])
    drift = theory.random_sam_drift(land, [x, 0.0, 0.0], lr, rho)
    expected = -(lr * rho**2 / 6) * (d1 * 2 / (2 - lr * a1) + d2 * 2 / (2 - lr * a2))
    np.testing.assert_allclose(drift.velocity, [expected, 0.0, 0.0], rtol=1e-12, atol=1e-18)
    flow = theory.random_sam_drift(land, [x, 0.0, 0.0], lr, rho, finite_lr=False)
    np.testing.assert_allclose(flow.velocity[0], -(lr * rho**2 / 6) * (d1 + d2), rtol=1e-12)
    with pytest.raises(ValueError, match="full-rank Hessian"):
        theory.random_sam_drift(landscapes.get("quadratic", eigenvalues=(1.0, 2.0)), [0.0, 0.0], lr, rho)


# ---------------------------------------------------------------------------------------------- balancedness_factor
@pytest.mark.parametrize("kind", ["gd", "usam", "sam"])
def test_balancedness_factor_is_one_hand_written_step(kind):
    """u, v in R^3: one step of the update written out here (gradient (r v, r u), the optimizer's ascent) changes
    ||u||^2 - ||v||^2 by exactly the predicted factor; and it agrees with the simulator on quadratic_regression."""
    rng = np.random.default_rng(4)
    u, v = rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
    lr, rho, t = 0.07, 0.2, 0.8
    optimizer = {"gd": dynamics.GD(lr), "usam": dynamics.USAM(lr, rho), "sam": dynamics.SAM(lr, rho)}[kind]
    r = np.sum(u * v, -1, keepdims=True) - t
    grad = np.concatenate([r * v, r * u], -1)
    if kind == "gd":
        ascent = np.zeros_like(grad)
    elif kind == "usam":
        ascent = rho * grad
    else:
        ascent = rho * grad / np.linalg.norm(grad, axis=-1, keepdims=True)
    up, vp = u + ascent[:, :3], v + ascent[:, 3:]
    rp = np.sum(up * vp, -1, keepdims=True) - t
    u2, v2 = u - lr * rp * vp, v - lr * rp * up
    before, after = np.sum(u * u - v * v, -1), np.sum(u2 * u2 - v2 * v2, -1)
    np.testing.assert_allclose(theory.balancedness_factor(optimizer, u, v, t), after / before, rtol=1e-11)
    land = landscapes.get("quadratic_regression", target=t)
    start = np.array([[2.5, 0.3], [0.4, -1.7]])
    stepped = dynamics.step(land, optimizer, start, 0, seed=0)
    ratio = (stepped[:, 0] ** 2 - stepped[:, 1] ** 2) / (start[:, 0] ** 2 - start[:, 1] ** 2)
    np.testing.assert_allclose(theory.balancedness_factor(optimizer, start[:, :1], start[:, 1:], t), ratio,
                               rtol=1e-12)
