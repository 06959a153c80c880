"""P2's sharpness notions and predicted drift against closed forms on quadratics and the manifold family."""

import numpy as np
import pytest

from samscape import landscapes
from samscape.theory import manifold_drift, manifold_sharpness_limits, predicted_drift_path, sharpness


@pytest.mark.parametrize("eigenvalues", [(1.0, 4.0), (1.0, 2.0, 6.0)])
def test_max_and_avg_sharpness_of_a_quadratic_at_its_minimum(eigenvalues):
    """At the minimum of x^T A x/2: R^Max = rho^2 lambda_max/2 and R^Avg = rho^2 Tr(A)/(2d) exactly
    (the sphere rules are exact for quadratics)."""
    land = landscapes.get("quadratic", eigenvalues=eigenvalues)
    rho, d = 0.3, len(eigenvalues)
    x = np.zeros(d)
    assert sharpness(land, x, rho, "max").value == pytest.approx(rho**2 * max(eigenvalues) / 2, rel=1e-9)
    avg = sharpness(land, x, rho, "avg")
    assert avg.value == pytest.approx(rho**2 * sum(eigenvalues) / (2 * d), rel=1e-12)
    assert avg.error < 1e-14


def test_avg_sharpness_beyond_3d_is_monte_carlo_with_a_standard_error():
    """In 4-D R^Avg is a Monte Carlo mean over the simulator's directions; rho^2 Tr/(2d) lies within 4 standard errors."""
    land = landscapes.get("quadratic", eigenvalues=(1.0, 2.0, 3.0, 5.0))
    result = sharpness(land, np.zeros(4), 0.2, "avg")
    assert "Monte Carlo" in result.method and result.error > 0
    assert abs(result.value - 0.04 * 11 / 8) <= 4 * result.error


def test_one_dimensional_sharpness_in_closed_form():
    """For lam z^2/2 at x: R^Max = lam(|x| rho + rho^2/2), R^Avg = lam rho^2/2, R^Asc = lam(|x| rho + rho^2/2)."""
    lam, x, rho = 3.0, 0.4, 0.25
    land = landscapes.get("quadratic", eigenvalues=(lam,))
    point = np.array([x])
    assert sharpness(land, point, rho, "max").value == pytest.approx(lam * (x * rho + rho**2 / 2), rel=1e-12)
    assert sharpness(land, point, rho, "avg").value == pytest.approx(lam * rho**2 / 2, rel=1e-12)
    assert sharpness(land, point, rho, "asc").value == pytest.approx(lam * (x * rho + rho**2 / 2), rel=1e-12)


def test_ascent_sharpness_of_a_quadratic_and_at_a_critical_point():
    """R^Asc(x) = rho ||g|| + rho^2 u^T A u/2 with u = g/||g||; it is +inf where the gradient vanishes (P2)."""
    land = landscapes.get("quadratic", eigenvalues=(1.0, 4.0), angle=0.3)
    x = np.array([0.2, -0.5])
    a = land.hessian(x)
    g = a @ x
    u = g / np.linalg.norm(g)
    expected = 0.1 * np.linalg.norm(g) + 0.01 * u @ a @ u / 2
    assert sharpness(land, x, 0.1, "asc").value == pytest.approx(expected, rel=1e-12)
    assert sharpness(land, np.zeros(2), 0.1, "asc").value == np.inf


def _curvatures(p, x):
    a1 = p["c1"] + (x - p["m1"]) ** 2
    a2 = p["c2"] + p["s"] * (x - p["m2"]) ** 2
    return a1, a2, 2 * (x - p["m1"]), 2 * p["s"] * (x - p["m2"])


@pytest.mark.parametrize("name", ["eigen_manifold", "eigen_manifold_rotating"])
def test_sam_drift_on_the_manifold_family(name):
    """On Gamma = {y = 0}, lambda_1 = a1(x) (rotation of the eigenvectors does not change it), so SAM's predicted
    drift is -(lr rho^2/2) a1'(x) [2/(2 - lr a1)]^2 along x and 0 across."""
    land = landscapes.get(name)
    lr, rho, x = 0.1, 0.05, -0.3
    a1, _, da1, _ = _curvatures(land.params, x)
    drift = manifold_drift(land, np.array([x, 0.0, 0.0]), lr, rho)
    expected = -(lr * rho**2 / 2) * da1 * (2 / (2 - lr * a1)) ** 2
    np.testing.assert_allclose(drift.velocity, [expected, 0.0, 0.0], rtol=1e-10, atol=1e-15)
    limit = manifold_drift(land, np.array([x, 0.0, 0.0]), lr, rho, finite_lr=False)
    assert limit.velocity[0] == pytest.approx(-(lr * rho**2 / 2) * da1, rel=1e-10)
    np.testing.assert_allclose(np.abs(drift.tangent[:, 0]), [1.0, 0.0, 0.0], atol=1e-12)


def test_one_sam_drift_follows_the_trace_with_per_sample_factors():
    """Sample k of eigen_manifold_sum is a_k(x) y_k^2, rank one with lambda = 2 a_k; 1-SAM's drift is
    -(lr rho^2/2) mean_k 2 a_k' [2/(2 - 2 lr a_k)]^2, which for lr -> 0 is -(lr rho^2/2) d Tr/dx."""
    land = landscapes.get("eigen_manifold_sum")
    lr, rho, x = 0.1, 0.1, 0.2
    a1, a2, da1, da2 = _curvatures(land.params, x)
    drift = manifold_drift(land, np.array([x, 0.0, 0.0]), lr, rho, method="1-sam")
    factors = [(2 / (2 - 2 * lr * a)) ** 2 for a in (a1, a2)]
    expected = -(lr * rho**2 / 2) * np.mean([2 * da1 * factors[0], 2 * da2 * factors[1]])
    assert drift.velocity[0] == pytest.approx(expected, rel=1e-10)
    assert drift.rank_one
    limit = manifold_drift(land, np.array([x, 0.0, 0.0]), lr, rho, method="1-sam", finite_lr=False)
    assert limit.velocity[0] == pytest.approx(-(lr * rho**2 / 2) * (da1 + da2), rel=1e-10)


def test_manifold_sharpness_limits_closed_form():
    """At (x, 0, 0): rho^2 lambda_1/2 = rho^2 a1/2, rho^2 Tr/(2d) = rho^2 (a1 + a2)/6, rho^2 lambda_M/2 = rho^2 a2/2."""
    land = landscapes.get("eigen_manifold")
    a1, a2, _, _ = _curvatures(land.params, 0.7)
    limits = manifold_sharpness_limits(land, np.array([0.7, 0.0, 0.0]), 0.2)
    assert limits["max"] == pytest.approx(0.04 * a1 / 2)
    assert limits["avg"] == pytest.approx(0.04 * (a1 + a2) / 6)
    assert limits["asc"] == pytest.approx(0.04 * a2 / 2)


def test_predicted_path_is_euler_integration_of_the_drift():
    """One optimizer step of the predicted path moves by exactly the predicted velocity."""
    land = landscapes.get("eigen_manifold")
    x0 = np.array([-0.5, 0.0, 0.0])
    path = predicted_drift_path(land, x0, 0.1, 0.1, 3)
    assert path.shape == (4, 3)
    np.testing.assert_allclose(path[1] - path[0], manifold_drift(land, x0, 0.1, 0.1).velocity, rtol=1e-14)


def test_drift_rejects_points_off_the_manifold_and_steps_without_a_two_cycle():
    """A point with a full-rank Hessian is not on a manifold of minimizers; lr lambda_1 >= 2 has no 2-cycle."""
    land = landscapes.get("eigen_manifold")
    with pytest.raises(ValueError, match="x must lie on a manifold"):
        manifold_drift(landscapes.get("quadratic"), np.zeros(2), 0.1, 0.1)
    with pytest.raises(ValueError, match="lr \\* lambda_1 must be < 2"):
        manifold_drift(land, np.array([-0.5, 0.0, 0.0]), 1.0, 0.1)
    with pytest.raises(ValueError, match="method must be"):
        manifold_drift(land, np.array([0.0, 0.0, 0.0]), 0.1, 0.1, method="usam")


@pytest.mark.parametrize("kwargs, name", [({"kind": "mean"}, "kind"), ({"rho": 0.0}, "rho"), ({"x": np.zeros(3)}, "x")])
def test_sharpness_bad_input(kwargs, name):
    """Unknown kind, rho <= 0, or a point of the wrong shape: a ValueError naming it."""
    land = landscapes.get("quadratic")
    args = {"x": np.zeros(2), "rho": 0.1, "kind": "max", **kwargs}
    with pytest.raises(ValueError, match=name):
        sharpness(land, args["x"], args["rho"], args["kind"])


def test_manifold_drift_is_the_same_whatever_the_variables_are_called():
    """The third derivatives behind manifold_drift are compiled with placeholder names, so variables called like
    NumPy functions or constants (``e``, ``sign``, ``arctan``) give the same drift as ``x``, ``y``, ``z``."""
    template = "(2 + atan({a}) + E*{a}**2)*{b}**2 + (2 + {a}**2)*{c}**2"
    plain = landscapes.from_expr(template.format(a="x", b="y", c="z"), ["x", "y", "z"])
    shadowing = landscapes.from_expr(template.format(a="e", b="sign", c="arctan"), ["e", "sign", "arctan"])
    point = np.array([0.4, 0.0, 0.0])
    expected = manifold_drift(plain, point, 0.1, 0.05).velocity
    np.testing.assert_allclose(manifold_drift(shadowing, point, 0.1, 0.05).velocity, expected, rtol=1e-12)
    assert abs(expected[0]) > 0


def test_hessian_curvature_is_the_top_eigenvalue_and_trace_with_nan_where_not_finite():
    """On 0.5 x^T diag(a) x + exp(y) (a quadratic in x, exp in y) the Hessian is diag(a1, a2, e^y): lambda_max is
    max(a1, a2, e^y) and the trace a1 + a2 + e^y at every point of a (2, 3) batch; a point where e^y overflows is NaN."""
    from samscape.theory import hessian_curvature

    land = landscapes.from_expr("0.5*(2*x**2 + 5*z**2) + exp(y)", ["x", "z", "y"])
    ys = np.array([[-1.0, 0.0, 1.0], [2.0, np.log(3.0), 800.0]])
    pts = np.stack([np.full_like(ys, 0.3), np.full_like(ys, -0.7), ys], axis=-1)
    out = hessian_curvature(land, pts, chunk=2)
    finite = ys < 700
    np.testing.assert_allclose(out["lambda_max"][finite], np.maximum(5.0, np.exp(ys[finite])), rtol=1e-12)
    np.testing.assert_allclose(out["trace"][finite], 7.0 + np.exp(ys[finite]), rtol=1e-12)
    assert np.isnan(out["lambda_max"][~finite]).all() and np.isnan(out["trace"][~finite]).all()
