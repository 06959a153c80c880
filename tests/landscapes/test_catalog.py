"""Tests of the landscape catalog: derivatives, shapes, critical points, parameters and specs.

Expected numbers come from the formulas of each entry (written out again here), never from a previous run.
"""

from __future__ import annotations

import doctest
import json
import math
import warnings
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.extra.numpy import array_shapes

from samscape.landscapes import catalog, describe, from_expr, from_spec, get, names

REQUIRED_NAMES = {
    "tanh",
    "quadratic",
    "rosenbrock",
    "himmelblau",
    "huber_valley",
    "logcosh_valley",
    "tanh_valley",
    "double_well",
    "cosine_1d",
    "cosine_grid",
    "cosine_ring",
    "p1_figure",
    "eigen_manifold",
    "eigen_manifold_rotating",
    "eigen_manifold_sum",
    "quadratic_regression",
    "ravine",
    "diag_net",
    "saddle",
    "shifted_quadratics",
}

# Every entry with its defaults, plus non-default variants that exercise other code paths
# (several samples, other dimensions, rotation, tilt, moved minimizers).
VARIANTS = [
    ("tanh", (("xs", (0.6, 1.0, 1.3)), ("ys", (0.0, 0.5, -0.2)))),
    ("quadratic", (("eigenvalues", (2.0, 0.5)), ("angle", 0.3))),
    ("quadratic", (("eigenvalues", (1.0, 2.0, 3.0)),)),
    ("quadratic", (("eigenvalues", (4.0,)),)),
    ("rosenbrock", (("a", -0.5), ("b", 10.0))),
    ("huber_valley", (("a", 2.0), ("b", 0.5))),
    ("logcosh_valley", (("a", 3.0), ("b", 0.25))),
    ("tanh_valley", (("k", 2.5),)),
    ("double_well", (("c", 0.2),)),
    ("double_well", (("c", -0.6),)),
    ("p1_figure", (("radius", 1.5), ("height", 0.5))),
    ("eigen_manifold_rotating", (("omega", 2.0),)),
    ("ravine", (("a0", 2.0), ("a1", 1.0), ("a2", 0.0))),
    ("diag_net", (("n", 5), ("d", 4), ("r", 2), ("seed", 3))),
    ("shifted_quadratics", (("centers", (0.7, 0.7, 0.7)), ("curvatures", (0.5, 1.0, 2.0)))),
]
CASES = [(name, ()) for name in sorted(REQUIRED_NAMES)] + VARIANTS


def case_id(case) -> str:
    name, params = case
    return name + "".join(f"-{k}={v}" for k, v in params)


@cache
def build(name: str, params: tuple = ()):
    """One landscape per case for the whole module: compiling the derivatives is the slow part."""
    return get(name, **dict(params))


def points_in_window(landscape, n: int, seed: int) -> np.ndarray:
    """Random points in the window, shape ``(n, dim)``, away from Huber's kinks where L'' jumps."""
    x = landscape.random_points(4 * n, seed=seed)
    if landscape.name == "huber_valley":
        x = x[np.abs(np.abs(x[:, 0]) - landscape.params["b"]) > 1e-3]
    return x[:n]


def central_differences(f, x: np.ndarray, step: float) -> np.ndarray:
    """Central differences of ``f: (n, dim) -> (n, *out)`` along each coordinate: ``(n, *out, dim)``."""
    columns = []
    for j in range(x.shape[-1]):
        shift = np.zeros(x.shape[-1])
        shift[j] = step
        columns.append((f(x + shift) - f(x - shift)) / (2 * step))
    return np.stack(columns, axis=-1)


def assert_matches_differences(exact, differences, scale, step):
    """Exact derivative vs central differences.

    The differences err by O(step^2) (truncation, relative) plus about eps*|f|/step (rounding of the values
    differenced), so the bound is relative in the derivative and relative-to-``scale/step`` in the function.
    """
    bound = 1e-6 * (1 + np.abs(exact)) + 1e-13 * (1 + scale) / step
    assert np.all(np.abs(exact - differences) <= bound), np.max(np.abs(exact - differences) - bound)


# ---------------------------------------------------------------------------------------------- registry
def test_names_are_sorted_and_cover_the_required_entries():
    """names() is sorted and holds every entry the design asks for."""
    listed = names()
    assert listed == sorted(listed)
    assert REQUIRED_NAMES <= set(listed)


@pytest.mark.parametrize("name", sorted(REQUIRED_NAMES))
def test_describe_agrees_with_the_default_landscape(name):
    """describe(name) reports the description, source, defaults and dimension that get(name) builds."""
    info = describe(name)
    landscape = build(name)
    assert info["description"] == landscape.description and info["description"]
    assert info["source"] == landscape.source and info["source"]
    assert info["dim"] == landscape.dim
    assert info["variables"] == list(landscape.variables)
    assert json.loads(json.dumps(info["params"])) == landscape.spec["params"]
    assert landscape.window.shape == (landscape.dim, 2)


# ---------------------------------------------------------------------------------------------- derivatives
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_gradient_matches_central_differences_of_value(case):
    """grad equals central differences of value at random points of the window."""
    landscape = build(*case)
    x = points_in_window(landscape, 40, seed=1)
    step = 1e-6
    values = landscape.value(x)
    assert_matches_differences(
        landscape.grad(x), central_differences(landscape.value, x, step), np.abs(values)[:, None], step
    )


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_hessian_matches_central_differences_of_gradient(case):
    """hessian equals central differences of grad at random points of the window, and is symmetric."""
    landscape = build(*case)
    x = points_in_window(landscape, 40, seed=2)
    step = 1e-6
    hessian = landscape.hessian(x)
    gradient_scale = np.max(np.abs(landscape.grad(x)), axis=-1)[:, None, None]
    assert_matches_differences(hessian, central_differences(landscape.grad, x, step), gradient_scale, step)
    np.testing.assert_array_equal(hessian, np.swapaxes(hessian, -1, -2))


@pytest.mark.parametrize("case", CASES, ids=case_id)
@settings(max_examples=6, deadline=None)
@given(lead=array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
def test_outputs_have_the_documented_shapes(case, lead):
    """For points of shape (*lead, dim): value is (*lead), grad (*lead, dim), hessian (*lead, dim, dim)."""
    landscape = build(*case)
    n = math.prod(lead)
    x = landscape.random_points(n, seed=3).reshape(*lead, landscape.dim)
    assert landscape.value(x).shape == lead
    assert landscape.grad(x).shape == lead + (landscape.dim,)
    assert landscape.hessian(x).shape == lead + (landscape.dim, landscape.dim)
    flat_values = landscape.value(x.reshape(n, landscape.dim))
    np.testing.assert_allclose(landscape.value(x).reshape(n), flat_values, rtol=1e-14, atol=0)


# ---------------------------------------------------------------------------------------------- critical points
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_known_minimizers_are_critical_local_minima(case):
    """Listed minimizers lie in the window, have zero gradient, a PSD Hessian and are no higher than nearby points."""
    landscape = build(*case)
    points = landscape.minimizers
    if len(points) == 0:
        assert landscape.notes, "an entry without isolated minimizers must say why in notes"
        return
    assert np.all((points >= landscape.window[:, 0]) & (points <= landscape.window[:, 1]))
    np.testing.assert_allclose(landscape.grad(points), 0.0, atol=1e-8)
    eigenvalues = np.linalg.eigvalsh(landscape.hessian(points))
    assert np.all(eigenvalues >= -1e-9 * (1 + np.abs(eigenvalues).max()))
    directions = np.random.default_rng(4).normal(size=(16, landscape.dim))
    nearby = points[:, None, :] + 1e-3 * directions / np.linalg.norm(directions, axis=-1, keepdims=True)
    assert np.all(landscape.value(points)[:, None] <= landscape.value(nearby) + 1e-14)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_known_maximizers_are_critical_local_maxima(case):
    """Listed maximizers lie in the window, have zero gradient, an NSD Hessian and are no lower than nearby points."""
    landscape = build(*case)
    points = landscape.maximizers
    if len(points) == 0:
        return
    assert np.all((points >= landscape.window[:, 0]) & (points <= landscape.window[:, 1]))
    np.testing.assert_allclose(landscape.grad(points), 0.0, atol=1e-8)
    eigenvalues = np.linalg.eigvalsh(landscape.hessian(points))
    assert np.all(eigenvalues <= 1e-9 * (1 + np.abs(eigenvalues).max()))
    directions = np.random.default_rng(5).normal(size=(16, landscape.dim))
    nearby = points[:, None, :] + 1e-3 * directions / np.linalg.norm(directions, axis=-1, keepdims=True)
    assert np.all(landscape.value(points)[:, None] >= landscape.value(nearby) - 1e-14)


# ---------------------------------------------------------------------------------------------- P3 tanh model
def test_tanh_default_is_the_one_point_example():
    """get('tanh') is L(u, v) = 0.5*tanh(v*tanh(u))^2 with a single sample."""
    landscape = build("tanh")
    x = points_in_window(landscape, 50, seed=6)
    u, v = x[:, 0], x[:, 1]
    assert landscape.n_samples == 1
    np.testing.assert_allclose(landscape.value(x), 0.5 * np.tanh(v * np.tanh(u)) ** 2, rtol=1e-14, atol=1e-16)


def test_tanh_with_several_points_is_the_mean_of_the_squared_errors():
    """With data (a_i, y_i), the tanh loss is mean_i 0.5*(tanh(v*tanh(u*a_i)) - y_i)^2."""
    xs, ys = (0.6, 1.0, 1.3), (0.0, 0.5, -0.2)
    landscape = build("tanh", (("xs", xs), ("ys", ys)))
    x = points_in_window(landscape, 50, seed=7)
    u, v = x[:, :1], x[:, 1:]
    expected = np.mean(0.5 * (np.tanh(v * np.tanh(u * np.array(xs))) - np.array(ys)) ** 2, axis=-1)
    assert landscape.n_samples == 3
    np.testing.assert_allclose(landscape.value(x), expected, rtol=1e-13, atol=1e-16)


def test_tanh_minimizer_lines_and_their_hessians():
    """With all labels 0, v = 0 and u = 0 are lines of zero loss and gradient; the Hessian on v = 0 is
    diag(0, mean tanh(u*a_i)^2) and on u = 0 it is diag(v^2 mean a_i^2, 0)."""
    xs = np.array([0.6, 1.0, 1.3])
    landscape = build("tanh", (("xs", tuple(xs)), ("ys", (0.0, 0.0, 0.0))))
    t = np.linspace(-2.5, 2.5, 11)
    on_v_axis = np.stack([t, np.zeros_like(t)], axis=-1)
    on_u_axis = np.stack([np.zeros_like(t), t], axis=-1)
    for line in (on_v_axis, on_u_axis):
        np.testing.assert_allclose(landscape.value(line), 0.0, atol=1e-300)
        np.testing.assert_allclose(landscape.grad(line), 0.0, atol=1e-300)
    expected_v0 = np.zeros((len(t), 2, 2))
    expected_v0[:, 1, 1] = np.mean(np.tanh(t[:, None] * xs) ** 2, axis=-1)
    np.testing.assert_allclose(landscape.hessian(on_v_axis), expected_v0, rtol=1e-13, atol=1e-15)
    expected_u0 = np.zeros((len(t), 2, 2))
    expected_u0[:, 0, 0] = t**2 * np.mean(xs**2)
    np.testing.assert_allclose(landscape.hessian(on_u_axis), expected_u0, rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------------------------------------- classics
def test_quadratic_hessian_is_the_rotated_diagonal_matrix():
    """quadratic's Hessian is R diag(eigenvalues) R^T everywhere, R the rotation by angle."""
    eigenvalues, angle = (2.0, 0.5), 0.3
    landscape = build("quadratic", (("eigenvalues", eigenvalues), ("angle", angle)))
    c, s = math.cos(angle), math.sin(angle)
    rotation = np.array([[c, -s], [s, c]])
    expected = rotation @ np.diag(eigenvalues) @ rotation.T
    x = points_in_window(landscape, 5, seed=8)
    np.testing.assert_allclose(landscape.hessian(x), np.broadcast_to(expected, (5, 2, 2)), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(landscape.value(x), 0.5 * np.einsum("ni,ij,nj->n", x, expected, x), rtol=1e-13)


def test_quadratic_dimension_and_variable_names_follow_the_eigenvalues():
    """quadratic has dim = len(eigenvalues) and variables x / x, y / x1..xd."""
    assert build("quadratic", (("eigenvalues", (4.0,)),)).variables == ("x",)
    assert build("quadratic").variables == ("x", "y")
    three = build("quadratic", (("eigenvalues", (1.0, 2.0, 3.0)),))
    assert three.variables == ("x1", "x2", "x3")
    np.testing.assert_allclose(three.hessian(np.zeros(3)), np.diag([1.0, 2.0, 3.0]))


def test_quadratic_lists_the_origin_only_when_it_is_an_extremum():
    """The origin is the minimizer for positive, the maximizer for negative eigenvalues, and neither for a saddle."""
    saddle = get("quadratic", eigenvalues=(1.0, -2.0))
    assert len(saddle.minimizers) == 0 and len(saddle.maximizers) == 0 and "saddle" in saddle.notes
    concave = get("quadratic", eigenvalues=(-1.0, -2.0))
    np.testing.assert_array_equal(concave.maximizers, [[0.0, 0.0]])
    assert len(concave.minimizers) == 0


def test_rosenbrock_minimizer_is_a_a_squared():
    """Rosenbrock's minimizer is (a, a^2), where the loss is 0."""
    a = -0.5
    landscape = build("rosenbrock", (("a", a), ("b", 10.0)))
    np.testing.assert_allclose(landscape.minimizers, [[a, a * a]])
    assert landscape.value(np.array([a, a * a])) == 0.0


def test_himmelblau_minima_have_value_zero():
    """Himmelblau's four minima are zeros of both squares, so the loss vanishes there; (3, 2) is listed exactly."""
    landscape = build("himmelblau")
    assert landscape.minimizers.shape == (4, 2) and landscape.maximizers.shape == (1, 2)
    np.testing.assert_array_equal(landscape.minimizers[0], [3.0, 2.0])
    np.testing.assert_allclose(landscape.value(landscape.minimizers), 0.0, atol=1e-18)


# ---------------------------------------------------------------------------------------------- P3 valleys
@pytest.mark.parametrize("a, b", [(1.0, 1.0), (2.0, 0.5), (0.3, 3.0)])
def test_huber_gradient_is_a_times_clipped_z(a, b):
    """huber_valley's gradient is a*clip(z, -b, b), also exactly at the kinks |z| = b; L''(0) = a."""
    landscape = get("huber_valley", a=a, b=b)
    z = np.concatenate([np.linspace(-4 * b, 4 * b, 41), [-b, b]])[:, None]
    np.testing.assert_allclose(landscape.grad(z)[:, 0], a * np.clip(z[:, 0], -b, b), rtol=1e-15, atol=1e-15)
    assert landscape.hessian(np.zeros(1))[0, 0] == pytest.approx(a, rel=1e-15)
    assert (landscape.params["a"], landscape.params["b"]) == (a, b)


def test_logcosh_gradient_is_a_b_tanh():
    """logcosh_valley's gradient is a*b*tanh(z/b) and its curvature at 0 is a."""
    a, b = 3.0, 0.25
    landscape = build("logcosh_valley", (("a", a), ("b", b)))
    z = np.linspace(-4 * b, 4 * b, 41)[:, None]
    np.testing.assert_allclose(landscape.grad(z)[:, 0], a * b * np.tanh(z[:, 0] / b), rtol=1e-13, atol=1e-15)
    assert landscape.hessian(np.zeros(1))[0, 0] == pytest.approx(a, rel=1e-14)


def test_tanh_valley_a_is_the_curvature_and_b_the_steepest_point():
    """tanh_valley records a = k^2 = L''(0) and b = atanh(1/sqrt 3)/k, where L'(z) = k tanh(kz)(1 - tanh^2(kz)) peaks."""
    k = 2.5
    landscape = build("tanh_valley", (("k", k),))
    a, b = landscape.params["a"], landscape.params["b"]
    assert a == pytest.approx(k * k, rel=1e-15)
    assert landscape.hessian(np.zeros(1))[0, 0] == pytest.approx(a, rel=1e-14)
    assert b == pytest.approx(math.atanh(1 / math.sqrt(3)) / k, rel=1e-15)
    z = np.linspace(1e-3, 4 * b, 2001)[:, None]
    slope = landscape.grad(z)[:, 0]
    np.testing.assert_allclose(slope, k * np.tanh(k * z[:, 0]) * (1 - np.tanh(k * z[:, 0]) ** 2), rtol=1e-12)
    assert abs(z[np.argmax(slope), 0] - b) <= 4 * b / 2000


# ---------------------------------------------------------------------------------------------- P1 constructions
@pytest.mark.parametrize("c", [0.0, 0.2, -0.3, 0.6])
def test_double_well_critical_points_are_the_roots_of_the_derivative(c):
    """double_well's listed points solve z^3 - z + c = 0: two minima and one maximum iff |c| < 2/(3 sqrt 3)."""
    landscape = get("double_well", c=c)
    minimizers, maximizers = landscape.minimizers[:, 0], landscape.maximizers[:, 0]
    for z in np.concatenate([minimizers, maximizers]):
        assert abs(z**3 - z + c) <= 1e-12
    three_roots = abs(c) < 2 / (3 * math.sqrt(3))
    assert (len(minimizers), len(maximizers)) == ((2, 1) if three_roots else (1, 0))
    assert np.all(3 * minimizers**2 - 1 > 0) and np.all(3 * maximizers**2 - 1 < 0)


def test_cosine_1d_and_grid_list_the_lattice_points_in_their_windows():
    """cosine_1d lists 2*pi*k / pi + 2*pi*k inside its window; cosine_grid lists their products."""
    line, grid = build("cosine_1d"), build("cosine_grid")
    half_width = line.window[0, 1]
    k = np.arange(-5, 6)
    expected_min = np.sort(2 * np.pi * k[np.abs(2 * np.pi * k) <= half_width])
    expected_max = np.sort((np.pi + 2 * np.pi * k)[np.abs(np.pi + 2 * np.pi * k) <= half_width])
    np.testing.assert_allclose(np.sort(line.minimizers[:, 0]), expected_min)
    np.testing.assert_allclose(np.sort(line.maximizers[:, 0]), expected_max)
    assert len(grid.minimizers) == len(expected_min) ** 2 and len(grid.maximizers) == len(expected_max) ** 2
    saddle = np.array([0.0, np.pi])
    np.testing.assert_allclose(grid.grad(saddle), 0.0, atol=1e-15)
    assert np.sort(np.linalg.eigvalsh(grid.hessian(saddle))).tolist() == pytest.approx([-1.0, 1.0])


def test_cosine_ring_is_cos_of_the_radius_and_finite_at_the_origin():
    """cosine_ring equals cos(||x||), with gradient -sin(r) x/r and Hessian -I at the origin, without warnings."""
    landscape = build("cosine_ring")
    rng = np.random.default_rng(9)
    radii = np.concatenate([[0.0, 1e-8, 0.05, 0.0999999, 0.1, 0.1000001], rng.uniform(0, 4, 40)])
    angles = rng.uniform(0, 2 * np.pi, len(radii))
    x = np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values, grads, hessians = landscape.value(x), landscape.grad(x), landscape.hessian(x)
    np.testing.assert_allclose(values, np.cos(radii), rtol=1e-14, atol=1e-15)
    # -sin(r)/r, written as a sinc so that r = 0 needs no special case
    np.testing.assert_allclose(grads, -np.sinc(radii / np.pi)[:, None] * x, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hessians[0], -np.eye(2), atol=1e-15)


def test_cosine_ring_minimizers_are_the_circle_of_radius_pi():
    """On ||x|| = pi, cosine_ring has value -1, zero gradient and Hessian eigenvalues 0 (tangential) and 1 (radial)."""
    landscape = build("cosine_ring")
    angles = np.linspace(0, 2 * np.pi, 13)
    circle = np.pi * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    np.testing.assert_allclose(landscape.value(circle), -1.0, rtol=1e-15)
    np.testing.assert_allclose(landscape.grad(circle), 0.0, atol=1e-14)
    np.testing.assert_allclose(np.linalg.eigvalsh(landscape.hessian(circle)), [[0.0, 1.0]] * 13, atol=1e-14)


def test_p1_figure_has_a_ring_of_minimizers_and_a_maximizer_at_the_origin():
    """p1_figure = h (t-1)^2/(1+t), t = r^2/R^2: zero on r = R with Hessian eigenvalues (0, 4h/R^2), Hessian
    -6h/R^2 I at the origin, and the radial derivative is negative inside the ring and positive outside."""
    R, h = 1.5, 0.5
    landscape = build("p1_figure", (("radius", R), ("height", h)))
    assert landscape.params["ring_radius"] == R
    angles = np.linspace(0, 2 * np.pi, 13)
    directions = np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    ring = R * directions
    np.testing.assert_allclose(landscape.value(ring), 0.0, atol=1e-15)
    np.testing.assert_allclose(landscape.grad(ring), 0.0, atol=1e-14)
    np.testing.assert_allclose(np.linalg.eigvalsh(landscape.hessian(ring)), [[0.0, 4 * h / R**2]] * 13, atol=1e-13)
    np.testing.assert_allclose(landscape.hessian(np.zeros(2)), -6 * h / R**2 * np.eye(2), rtol=1e-14)
    radii = np.linspace(0.01, 2 * R, 200)
    rays = radii[:, None, None] * directions[None]
    radial = np.einsum("rad,ad->ra", landscape.grad(rays), directions)
    assert np.all(radial[radii < R - 1e-9] < 0) and np.all(radial[radii > R + 1e-9] > 0)


# ---------------------------------------------------------------------------------------------- P2 manifolds
def curvatures(params, x):
    """a1(x) = c1 + (x - m1)^2 and a2(x) = c2 + s (x - m2)^2."""
    a1 = params["c1"] + (x - params["m1"]) ** 2
    a2 = params["c2"] + params["s"] * (x - params["m2"]) ** 2
    return a1, a2


def on_manifold(landscape, n=25):
    """Points of Gamma = {y1 = y2 = 0} across the window, shape (n, 3)."""
    lo, hi = landscape.window[0]
    x = np.linspace(lo, hi, n)
    return np.stack([x, np.zeros(n), np.zeros(n)], axis=-1)


@pytest.mark.parametrize("name", ["eigen_manifold", "eigen_manifold_rotating", "eigen_manifold_sum"])
def test_manifold_is_a_set_of_minimizers(name):
    """Every point of Gamma = {y = 0} has zero loss and zero gradient."""
    landscape = build(name)
    gamma = on_manifold(landscape)
    np.testing.assert_allclose(landscape.value(gamma), 0.0, atol=1e-300)
    np.testing.assert_allclose(landscape.grad(gamma), 0.0, atol=1e-300)


def test_eigen_manifold_hessian_on_gamma_is_diagonal():
    """On Gamma, eigen_manifold's Hessian is diag(0, a1(x), a2(x)) with a1 > a2."""
    landscape = build("eigen_manifold")
    gamma = on_manifold(landscape)
    a1, a2 = curvatures(landscape.params, gamma[:, 0])
    expected = np.zeros((len(gamma), 3, 3))
    expected[:, 1, 1], expected[:, 2, 2] = a1, a2
    np.testing.assert_allclose(landscape.hessian(gamma), expected, rtol=1e-14, atol=1e-15)
    assert np.all(a1 > a2)


def test_eigen_manifold_argmins_are_where_the_curvatures_are_smallest():
    """params' argmin_lambda1, argmin_trace and argmin_lambda_min are where a grid over Gamma finds the smallest
    largest eigenvalue, trace and smallest nonzero eigenvalue of the Hessian; the three differ."""
    landscape = build("eigen_manifold")
    gamma = on_manifold(landscape, n=5001)
    spacing = gamma[1, 0] - gamma[0, 0]
    eigenvalues = np.linalg.eigvalsh(landscape.hessian(gamma))  # ascending: 0, a2, a1
    found = {
        "argmin_lambda1": gamma[np.argmin(eigenvalues[:, 2]), 0],
        "argmin_trace": gamma[np.argmin(eigenvalues.sum(axis=-1)), 0],
        "argmin_lambda_min": gamma[np.argmin(eigenvalues[:, 1]), 0],
    }
    for key, x in found.items():
        assert abs(landscape.params[key] - x) <= spacing, key
    locations = sorted(found.values())
    assert min(np.diff(locations)) > 0.1


@pytest.mark.parametrize("omega", [1.0, 2.0])
def test_rotating_manifold_has_the_same_eigenvalues_and_turning_eigenvectors(omega):
    """On Gamma the rotating version's Hessian has eigenvalues 0, a2, a1, zero x row and column, and
    (cos(omega x), sin(omega x)) as the a1-eigenvector of the y block."""
    landscape = build("eigen_manifold_rotating", (("omega", omega),) if omega != 1.0 else ())
    assert landscape.params["omega"] == omega
    gamma = on_manifold(landscape)
    x = gamma[:, 0]
    a1, a2 = curvatures(landscape.params, x)
    hessian = landscape.hessian(gamma)
    np.testing.assert_allclose(hessian[:, 0, :], 0.0, atol=1e-14)
    block = hessian[:, 1:, 1:]
    np.testing.assert_allclose(np.linalg.eigvalsh(block), np.stack([a2, a1], axis=-1), rtol=1e-13)
    top = np.stack([np.cos(omega * x), np.sin(omega * x)], axis=-1)
    np.testing.assert_allclose(np.einsum("nij,nj->ni", block, top), a1[:, None] * top, rtol=1e-12, atol=1e-13)


def test_sum_manifold_samples_are_rank_one_and_average_to_eigen_manifold():
    """eigen_manifold_sum: each sample's Hessian on Gamma is 2 a_k e_k e_k^T (rank one), their mean is the full
    Hessian, and the loss equals eigen_manifold's everywhere."""
    landscape, reference = build("eigen_manifold_sum"), build("eigen_manifold")
    assert landscape.n_samples == 2
    gamma = on_manifold(landscape)
    per_sample = landscape.sample_hessians(gamma)
    assert per_sample.shape == (len(gamma), 2, 3, 3)
    assert np.all(np.linalg.matrix_rank(per_sample) == 1)
    a1, a2 = curvatures(landscape.params, gamma[:, 0])
    np.testing.assert_allclose(per_sample[:, 0, 1, 1], 2 * a1, rtol=1e-14)
    np.testing.assert_allclose(per_sample[:, 1, 2, 2], 2 * a2, rtol=1e-14)
    np.testing.assert_allclose(per_sample.mean(axis=1), landscape.hessian(gamma), rtol=1e-14, atol=1e-15)
    x = points_in_window(landscape, 50, seed=10)
    np.testing.assert_allclose(landscape.value(x), reference.value(x), rtol=1e-13, atol=1e-16)


# ---------------------------------------------------------------------------------------------- the wider literature
def test_quadratic_regression_has_a_hyperbola_of_minimizers_with_sharpness_u2_plus_v2():
    """0.5*(u*v - t)^2: zero loss and gradient on u*v = t, where the Hessian [[v^2, t], [t, u^2]] has eigenvalues 0
    and u^2 + v^2 (the formula, written out here)."""
    landscape = build("quadratic_regression", (("target", 2.0),))
    x = points_in_window(landscape, 30, seed=11)
    np.testing.assert_allclose(landscape.value(x), 0.5 * (x[:, 0] * x[:, 1] - 2.0) ** 2, rtol=1e-14)
    u = np.linspace(0.5, 3.5, 13)
    on = np.stack([u, 2.0 / u], axis=-1)
    np.testing.assert_allclose(landscape.grad(on), 0.0, atol=1e-14)
    hessian = landscape.hessian(on)
    np.testing.assert_allclose(hessian[:, 0, 1], 2.0, rtol=1e-14)
    np.testing.assert_allclose(np.linalg.eigvalsh(hessian), np.stack([0 * u, u**2 + (2.0 / u) ** 2], -1),
                               atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("params", [(), (("a0", 2.0), ("a1", 1.0), ("a2", 0.0))])
def test_ravine_floor_is_a_line_of_minimizers_with_curvature_a(params):
    """0.5*a(y)*z^2: the value is the formula, the Hessian on z = 0 is diag(0, a(y)), and the window keeps
    a(y) >= a0/4."""
    landscape = build("ravine", params)
    a0, a1, a2 = (landscape.params[k] for k in ("a0", "a1", "a2"))
    a = lambda y: a0 + a1 * y + a2 * y**2
    x = points_in_window(landscape, 30, seed=12)
    np.testing.assert_allclose(landscape.value(x), 0.5 * a(x[:, 0]) * x[:, 1] ** 2, rtol=1e-14)
    ys = np.linspace(*landscape.window[0], 41)
    floor = np.stack([ys, 0 * ys], axis=-1)
    expected = np.zeros((len(ys), 2, 2))
    expected[:, 1, 1] = a(ys)
    np.testing.assert_allclose(landscape.hessian(floor), expected, rtol=1e-14, atol=1e-15)
    assert np.all(a(ys) >= a0 / 4)


def test_diag_net_is_the_mean_squared_error_of_beta_equal_u_times_v():
    """diag_net with small sizes: the loss is ||X(u*v) - y||^2/(2n) and its gradient (X^T r/n)*v, (X^T r/n)*u with
    r = X(u*v) - y, written by hand from catalog.diag_net_data; theta* has r nonzeros >= 0 and unit norm, and
    u = v = sqrt(theta*) interpolates."""
    n, d, r, seed = 5, 4, 2, 3
    landscape = build("diag_net", (("n", n), ("d", d), ("r", r), ("seed", seed)))
    X, theta, y = catalog.diag_net_data(n, d, r, seed)
    np.testing.assert_allclose(landscape.params["theta_star"], theta, rtol=0, atol=0)
    assert np.count_nonzero(theta) == r and np.all(theta >= 0) and abs(np.linalg.norm(theta) - 1) < 1e-15
    x = points_in_window(landscape, 20, seed=13)
    u, v = x[:, :d], x[:, d:]
    residual = (u * v) @ X.T - y
    np.testing.assert_allclose(landscape.value(x), (residual**2).sum(axis=-1) / (2 * n), rtol=1e-12)
    back = residual @ X / n
    np.testing.assert_allclose(landscape.grad(x), np.concatenate([back * v, back * u], axis=-1), rtol=1e-11,
                               atol=1e-13)
    root = np.sqrt(theta)
    assert float(landscape.value(np.concatenate([root, root]))) < 1e-30


def test_saddle_hessian_is_diag_lam_minus_mu():
    """0.5*lam*x^2 - 0.5*mu*y^2 has the constant Hessian diag(lam, -mu) and lists no minimizer or maximizer."""
    landscape = build("saddle", (("lam", 2.0), ("mu", 0.5)))
    x = points_in_window(landscape, 10, seed=14)
    np.testing.assert_allclose(landscape.hessian(x), np.broadcast_to(np.diag([2.0, -0.5]), (10, 2, 2)), rtol=1e-15)
    assert len(landscape.minimizers) == 0 and len(landscape.maximizers) == 0


def test_shifted_quadratics_is_the_mean_of_its_samples_with_the_weighted_mean_minimizer():
    """mean_i 0.5*h_i*(x - a_i)^2, minimized at sum h a / sum h (params['minimizer']); sample gradients are
    h_i*(x - a_i)."""
    centers, curvatures = (1.0, 1.0, 1.0, -3.0), (0.5, 1.0, 2.0, 1.5)
    landscape = build("shifted_quadratics", (("centers", centers), ("curvatures", curvatures)))
    a, h = np.array(centers), np.array(curvatures)
    x = np.linspace(-4, 4, 17)[:, None]
    np.testing.assert_allclose(landscape.value(x), np.mean(0.5 * h * (x - a) ** 2, axis=-1), rtol=1e-14)
    assert landscape.params["minimizer"] == pytest.approx(float(h @ a / h.sum()), rel=1e-15)
    for i in range(4):
        batch = np.full((len(x), 1), i)
        np.testing.assert_allclose(landscape.grad(x, batch=batch)[:, 0], h[i] * (x[:, 0] - a[i]), rtol=1e-14,
                                   atol=1e-15)


# ---------------------------------------------------------------------------------------------- errors
def test_unknown_name_lists_the_known_names():
    """get() of an unknown name raises ValueError naming it and listing the catalog."""
    with pytest.raises(ValueError, match="no_such_landscape") as err:
        get("no_such_landscape")
    assert all(name in str(err.value) for name in names())


def test_unknown_parameter_lists_the_allowed_ones():
    """get() with a parameter the entry does not have raises ValueError naming it and the allowed ones."""
    with pytest.raises(ValueError, match="'width'") as err:
        get("huber_valley", width=2.0)
    assert "a, b" in str(err.value)
    with pytest.raises(ValueError, match="allowed parameters: none"):
        get("himmelblau", a=1.0)


@pytest.mark.parametrize(
    "name, params, words",
    [
        ("huber_valley", {"b": -1.0}, ["b", "-1.0", "> 0"]),
        ("huber_valley", {"a": 0}, ["a", "0", "> 0"]),
        ("huber_valley", {"a": True}, ["a", "True", "finite real"]),
        ("logcosh_valley", {"a": -2.0}, ["a", "-2.0", "> 0"]),
        ("tanh_valley", {"k": 0.0}, ["k", "0.0", "> 0"]),
        ("rosenbrock", {"b": 0.0}, ["b", "0.0", "> 0"]),
        ("rosenbrock", {"a": float("inf")}, ["a", "inf", "finite"]),
        ("double_well", {"c": "0.1"}, ["c", "'0.1'", "finite real"]),
        ("p1_figure", {"radius": -1.0}, ["radius", "-1.0", "> 0"]),
        ("tanh", {"xs": (1.0, 2.0), "ys": (0.0,)}, ["xs", "ys", "equal lengths", "2", "1"]),
        ("tanh", {"xs": ()}, ["xs", "()", "non-empty"]),
        ("tanh", {"ys": 0.0}, ["ys", "0.0", "sequence"]),
        ("quadratic", {"eigenvalues": (1.0, float("nan"))}, ["eigenvalues", "nan", "finite"]),
        ("quadratic", {"eigenvalues": (1.0, 2.0, 3.0), "angle": 0.3}, ["angle", "0.3", "length 2"]),
        ("eigen_manifold", {"s": 0.0}, ["s", "0.0", "> 0"]),
        ("eigen_manifold", {"c1": 0.6}, ["c1=0.6", "a1(x)", "above a2(x)"]),
        ("eigen_manifold_rotating", {"omega": None}, ["omega", "None", "finite real"]),
        ("quadratic_regression", {"target": 0.0}, ["target", "0.0", "> 0"]),
        ("ravine", {"a2": -1.0}, ["a2", "-1.0", ">= 0"]),
        ("diag_net", {"r": 40}, ["r", "40", "at most d = 8"]),
        ("diag_net", {"seed": -1}, ["seed", "-1", "integer >= 0"]),
        ("saddle", {"mu": 0.0}, ["mu", "0.0", "> 0"]),
        ("shifted_quadratics", {"curvatures": (1.0, -1.0, 1.0, 1.0)}, ["curvatures", "-1.0", "> 0"]),
        ("shifted_quadratics", {"centers": (1.0, 2.0)}, ["centers", "curvatures", "equal lengths", "2", "4"]),
    ],
)
def test_bad_parameter_values_raise_one_sentence_errors(name, params, words):
    """A parameter value outside what the entry allows raises a one-line ValueError naming the parameter,
    the value received and what is allowed."""
    with pytest.raises(ValueError) as err:
        get(name, **params)
    message = str(err.value)
    assert "\n" not in message and ". " not in message
    for word in words:
        assert word in message, (word, message)


# ---------------------------------------------------------------------------------------------- specs
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_spec_rebuilds_the_same_landscape(case):
    """from_spec(L.spec), after a JSON round trip, rebuilds a landscape with the same values and parameters."""
    landscape = build(*case)
    spec = json.loads(json.dumps(landscape.spec))
    assert spec == landscape.spec
    rebuilt = from_spec(spec)
    x = points_in_window(landscape, 20, seed=11)
    np.testing.assert_array_equal(rebuilt.value(x), landscape.value(x))
    np.testing.assert_array_equal(rebuilt.window, landscape.window)
    assert rebuilt.name == landscape.name and rebuilt.n_samples == landscape.n_samples


def test_expr_spec_rebuilds_through_from_expr():
    """A landscape made with from_expr rebuilds from its 'expr' spec with the same values."""
    landscape = from_expr("0.5*(x - a)**2 + y**2", ["x", "y"], samples={"a": [0.0, 1.5]}, window=[-3, 3])
    rebuilt = from_spec(json.loads(json.dumps(landscape.spec)))
    x = landscape.random_points(20, seed=12)
    np.testing.assert_array_equal(rebuilt.value(x), landscape.value(x))
    np.testing.assert_array_equal(rebuilt.window, landscape.window)


def test_spec_of_unknown_kind_is_refused():
    """from_spec refuses a spec whose kind is neither 'catalog' nor 'expr'."""
    with pytest.raises(ValueError, match="kind"):
        from_spec({"kind": "pickle", "name": "tanh"})


# ---------------------------------------------------------------------------------------------- docstrings
def test_docstring_examples_show_what_the_catalog_returns():
    """Every example in catalog.py's docstrings prints what it shows, and get, names, describe and from_spec
    each carry at least one."""
    examples = [test for test in doctest.DocTestFinder().find(catalog) if test.examples]
    assert {"get", "names", "describe", "from_spec"} <= {test.name.rsplit(".", 1)[-1] for test in examples}
    runner, report = doctest.DocTestRunner(), []
    for test in examples:
        runner.run(test, out=report.append)
    assert runner.tries > 0 and runner.failures == 0, "".join(report)


def test_the_catalog_records_its_curves_of_minimizers_and_every_traced_point_is_one():
    """tanh's two lines, the circles of p1_figure and cosine_ring and the eigen_manifold line are recorded as
    minimizer sets; every point trace_minimizer_sets draws inside the window has a zero gradient and the minimum
    value (checked with the landscape's own gradient)."""
    expected = {"tanh": 2, "p1_figure": 1, "cosine_ring": 1, "eigen_manifold": 1, "eigen_manifold_rotating": 1,
                "himmelblau": 0}
    for name, count in expected.items():
        land = get(name)
        assert len(land.minimizer_sets) == count, name
        for curve in land.trace_minimizer_sets(n=50):
            shown = curve[np.all(np.isfinite(curve), axis=1)]
            assert len(shown) > 10, name
            np.testing.assert_allclose(land.grad(shown), 0.0, atol=1e-9, err_msg=name)
            values = land.value(shown)
            np.testing.assert_allclose(values, values.min(), atol=1e-12, err_msg=name)
    assert get("tanh", xs=(1.0, 2.0), ys=(0.0, 0.5)).minimizer_sets == ()
    with pytest.raises(ValueError, match="minimizer_sets entries must be"):
        from_expr("x**2*y**2", "x,y", minimizer_sets=[{"kind": "plane"}])
