"""Hallucinated SAM fixed points (P1) against the 1-D window formula and 2-D geometry."""

import math

import numpy as np
import pytest
import sympy as sp

from samscape import landscapes
from samscape.theory import critical_points_1d, find_hallucinated, hallucination_window


def test_critical_points_exact_for_polynomials_numeric_otherwise():
    """The double well's f' = z^3 - z has roots -1, 0, 1 (SymPy); -cos z has critical points k*pi (Brent on a grid)."""
    exact = critical_points_1d(landscapes.get("double_well"), -3, 3)
    np.testing.assert_array_equal(exact.points, [-1.0, 0.0, 1.0])
    assert exact.method.startswith("SymPy") and exact.kinds() == ["minimum", "maximum", "minimum"]
    numeric = critical_points_1d(landscapes.get("cosine_1d"), -7, 7)
    np.testing.assert_allclose(numeric.points, np.pi * np.arange(-2, 3), atol=1e-13)
    assert numeric.method.startswith("NumPy")


def test_window_for_the_symmetric_double_well():
    """For m2 = 1 beside M = 0 (next critical point -1): the window is (|m2 - M|, |m2 - m1|) = (1, 2), the point is
    1 - rho, and it attracts iff lr < 2/f''(1) = 1."""
    window = hallucination_window(landscapes.get("double_well"), 1.0, 0.0)
    assert (window.lo, window.hi) == (1.0, 2.0)
    assert window.lr_threshold == pytest.approx(1.0)
    assert window.point(1.5) == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="rho must lie in the window"):
        window.point(2.5)


def test_window_on_the_cosine_uses_the_next_critical_point():
    """For -cos z, the minimizer 0 and the maximizer pi give the window (pi, 2 pi) and lr threshold 2/f''(0) = 2."""
    window = hallucination_window(landscapes.get("cosine_1d"), 0.0, math.pi)
    assert window.lo == pytest.approx(math.pi) and window.hi == pytest.approx(2 * math.pi)
    assert window.lr_threshold == pytest.approx(2.0)


@pytest.mark.parametrize("minimizer, maximizer, message", [
    (math.pi, 0.0, "strict local minimizer"),
    (0.0, 0.5, "critical point"),
    (0.0, 3 * math.pi, "adjacent"),
])
def test_window_rejects_pairs_that_are_not_a_minimizer_beside_a_maximizer(minimizer, maximizer, message):
    """The window is defined for a strict local minimizer and an adjacent strict local maximizer only."""
    with pytest.raises(ValueError, match=message):
        hallucination_window(landscapes.get("cosine_1d"), minimizer, maximizer)


def test_1d_search_finds_exactly_the_formula_points():
    """For the double well: rho = 1.5 gives +-0.5 landing on the minima +-1 (attracting for lr = 0.8 < 1); rho = 0.5
    gives +-0.5 landing on the maximum 0 (repelling: DT = 1 - lr f''(0) = 1 + lr); rho = 2.5 gives none in [-3, 3]."""
    land = landscapes.get("double_well")
    inside = find_hallucinated(land, 1.5, [-3, 3], lr=0.8)
    np.testing.assert_allclose(sorted(p.x[0] for p in inside.points), [-0.5, 0.5])
    assert all(p.landing == "minimum" and p.stable for p in inside.points)
    assert all(p.spectral_radius == pytest.approx(abs(1 - 0.8 * 2.0)) for p in inside.points)
    on_max = find_hallucinated(land, 0.5, [-3, 3], lr=0.8)
    assert sorted(p.x_plus[0] for p in on_max.points) == pytest.approx([0.0, 0.0], abs=1e-15)
    assert all(p.landing == "maximum" and not p.stable for p in on_max.points)
    assert all(p.spectral_radius == pytest.approx(1 + 0.8) for p in on_max.points)
    assert find_hallucinated(land, 2.5, [-3, 3]).points == []


def _ring_radial_curvature(radius, height):
    r = sp.Symbol("r", positive=True)
    t = r**2 / radius**2
    return float(sp.diff(height * (t - 1) ** 2 / (1 + t), r, 2).subs(r, radius))


@pytest.mark.parametrize("radius, height, rho", [(1.0, 1.0, 1.5), (2.0, 0.5, 3.0)])
def test_2d_search_reports_a_circle_of_hallucinated_points(radius, height, rho):
    """On the ring valley with R < rho < 2R the hallucinated points form the circle ||x|| = rho - R, landing on the
    minimizer circle; the search says it is a 1-D manifold, keeps a spread-out sample without duplicates, and the
    transverse eigenvalue is 1 - lr f''_rr(R) (f''_rr from SymPy)."""
    land = landscapes.get("p1_figure", radius=radius, height=height)
    curvature = _ring_radial_curvature(radius, height)
    lr = 0.6 * 2 / curvature
    result = find_hallucinated(land, rho, land.window, lr=lr)
    xs = result.xs
    assert len(xs) >= 8 and result.manifold_dims == [1]
    np.testing.assert_allclose(np.linalg.norm(xs, axis=-1), rho - radius, atol=1e-9)
    for p in result.points:
        assert p.landing == "minimum" and p.manifold_dim == 1
        assert np.linalg.norm(p.x_plus) == pytest.approx(radius, abs=1e-9)
        assert np.linalg.norm(p.x - p.x_plus) == pytest.approx(rho)
        assert np.linalg.norm(p.grad_plus) < 1e-9 < np.linalg.norm(p.grad)
        assert p.spectral_radius == pytest.approx(abs(1 - lr * curvature), abs=1e-7) and p.stable
    gaps = np.linalg.norm(xs[:, None] - xs[None], axis=-1) + np.eye(len(xs)) * 1e9
    assert gaps.min() > 0.02 * np.linalg.norm(land.window[:, 1] - land.window[:, 0]) * 0.999


def test_2d_isolated_points_around_a_maximum_of_the_egg_crate():
    """For f = -cos x - cos y and rho < pi, grad f(c - rho u) = (sin(rho u1), sin(rho u2)) is parallel to u only for
    the 4 axis and 4 diagonal directions, so the maximum (pi, pi) has exactly 8 isolated hallucinated partners."""
    land = landscapes.get("cosine_grid")
    rho = 1.5
    result = find_hallucinated(land, rho, land.window)
    partners = [p for p in result.points if np.allclose(p.x_plus, [math.pi, math.pi], atol=1e-8)]
    assert len(partners) == 8
    assert all(p.landing == "maximum" and p.manifold_dim == 0 for p in partners)
    directions = np.array(sorted(tuple(np.round((np.array([math.pi, math.pi]) - p.x) / rho, 9)) for p in partners))
    s = 1 / math.sqrt(2)
    expected = np.array(sorted([(1, 0), (-1, 0), (0, 1), (0, -1), (s, s), (s, -s), (-s, s), (-s, -s)]))
    np.testing.assert_allclose(directions, np.round(expected, 9), atol=1e-8)


@pytest.mark.parametrize("kwargs, name", [({"rho": 0.0}, "rho"), ({"bounds": [[0, 1]]}, "bounds"),
                                          ({"lr": -1.0}, "lr")])
def test_bad_input_names_the_parameter(kwargs, name):
    """rho must be > 0, bounds must be (dim, 2) with lo < hi, lr > 0."""
    land = landscapes.get("cosine_grid")
    args = {"rho": 1.0, "bounds": land.window, "lr": None, **kwargs}
    with pytest.raises(ValueError, match=name):
        find_hallucinated(land, args["rho"], args["bounds"], lr=args["lr"])


def test_window_accepts_catalog_points_given_as_size_one_arrays():
    """A 1-D catalog point is a shape-(1,) array: hallucination_window(dw, dw.minimizers[-1], dw.maximizers[0])
    gives the same window as the plain floats; a 2-element array is still refused, naming the parameter."""
    land = landscapes.get("double_well", c=0.25)
    m2, big_m = land.minimizers[-1], land.maximizers[0]
    assert m2.shape == (1,) and big_m.shape == (1,)
    from_arrays = hallucination_window(land, m2, big_m)
    from_floats = hallucination_window(land, float(m2[0]), float(big_m[0]))
    assert (from_arrays.lo, from_arrays.hi) == (from_floats.lo, from_floats.hi)
    assert from_arrays.minimizer == pytest.approx(float(m2[0]), abs=1e-6)
    assert from_arrays.point(np.array([0.5 * (from_arrays.lo + from_arrays.hi)])) == pytest.approx(
        from_floats.point(0.5 * (from_floats.lo + from_floats.hi)))
    with pytest.raises(ValueError, match="minimizer must be a finite real number"):
        hallucination_window(land, np.array([m2[0], m2[0]]), big_m)


@pytest.mark.parametrize("seeds", [0, -3, 2.5, True])
def test_search_refuses_a_seed_count_that_is_not_a_positive_integer(seeds):
    """seeds_per_axis=0 used to return an empty search; now any value but an integer >= 1 is a ValueError
    naming seeds_per_axis, the value and what is allowed."""
    land = landscapes.get("cosine_grid")
    with pytest.raises(ValueError, match=rf"seeds_per_axis must be a positive integer, got {seeds!r}"):
        find_hallucinated(land, 1.0, land.window, seeds_per_axis=seeds)


def test_arrays_view_holds_the_points_their_ascent_points_and_what_is_known_of_their_stability():
    """search.arrays() is (x (k, dim), x_plus (k, dim), attracting (k,), known (k,)): x and x_plus are each point's
    x and x_plus (a distance rho apart); with lr, attracting is each point's `stable` and all are known; without lr
    nothing is known and nothing counts as attracting. only_attracting() keeps exactly the attracting points."""
    land = landscapes.get("double_well")
    rho = 1.5
    mixed = find_hallucinated(land, rho, [-3, 3], lr=0.8)
    mixed.points += find_hallucinated(land, 0.5, [-3, 3], lr=0.8).points  # two attracting, two repelling
    x, x_plus, attracting, known = mixed.arrays()
    assert x.shape == x_plus.shape == (4, 1) and attracting.dtype == known.dtype == bool
    np.testing.assert_array_equal(x, [p.x for p in mixed.points])
    np.testing.assert_array_equal(x_plus, [p.x_plus for p in mixed.points])
    np.testing.assert_allclose(np.abs(x - x_plus)[:2, 0], rho)
    assert attracting.tolist() == [bool(p.stable) for p in mixed.points] == [True, True, False, False]
    assert known.all()
    kept = mixed.only_attracting()
    np.testing.assert_array_equal(kept.arrays()[0], x[attracting])
    assert len(mixed.points) == 4  # a new search, the original untouched
    unknown = find_hallucinated(land, rho, [-3, 3])
    _, _, attracting, known = unknown.arrays()
    assert len(unknown.points) == 2 and not attracting.any() and not known.any()
    assert unknown.only_attracting().points == []
    empty = find_hallucinated(land, 2.5, [-3, 3]).arrays()
    assert [a.shape for a in empty] == [(0, 1), (0, 1), (0,), (0,)]
