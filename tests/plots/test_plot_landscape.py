"""Tests of the landscape pictures: contour, vector_field, surrogate.

Each test states what it checks; expected numbers come from the landscape's own value and gradient, never
from a previous picture.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.contour import ContourSet
from matplotlib.quiver import Quiver

from samscape import dynamics, landscapes, plots, theory
from samscape.dynamics import unit
from samscape.plots.landscape import surrogate_values, update_field


def _lines(ax, label):
    return [line for line in ax.lines if line.get_label() == label]


def test_contour_draws_filled_levels_colorbar_labels_and_limits(tanh):
    """contour: one filled ContourSet, a colour bar labelled L(u, v), axes labelled u and v, limits = window."""
    ax = plots.contour(tanh)
    filled = [c for c in ax.collections if isinstance(c, ContourSet) and c.filled]
    assert len(filled) == 1
    assert filled[0].colorbar is not None
    assert filled[0].colorbar.ax.get_ylabel() == "$L(u, v)$"
    assert ax.get_xlabel() == "$u$" and ax.get_ylabel() == "$v$"
    np.testing.assert_allclose(ax.get_xlim(), tanh.window[0])
    np.testing.assert_allclose(ax.get_ylim(), tanh.window[1])


def test_contour_log_levels_are_geometric_and_span_the_values(tanh):
    """log=True: the levels are equally spaced in log10 and the top level is the largest loss on the grid."""
    ax = plots.contour(tanh, log=True, levels=12, resolution=60)
    cs = next(c for c in ax.collections if isinstance(c, ContourSet) and c.filled)
    ratios = np.diff(np.log10(cs.levels))
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)
    u = np.linspace(*tanh.window[0], 60)
    v = np.linspace(*tanh.window[1], 60)
    grid = np.stack(np.meshgrid(u, v), -1)
    assert cs.levels[-1] == pytest.approx(tanh.value(grid).max())


def test_contour_marks_the_known_maximizer_and_minimizers():
    """The landscape's maximizers (and minimizers) are drawn as markers at their coordinates."""
    land = landscapes.get("cosine_grid")
    ax = plots.contour(land, resolution=40)
    (maxima,) = _lines(ax, "maximizer")
    (minima,) = _lines(ax, "minimizer")
    np.testing.assert_allclose(np.column_stack(maxima.get_data()), land.maximizers)
    np.testing.assert_allclose(np.column_stack(minima.get_data()), land.minimizers)


def test_contour_of_a_slice_labels_the_chosen_coordinates():
    """For a 3-D landscape, axes=(0, 2) draws the (x, y2) plane and labels it with subscripts."""
    land = landscapes.get("eigen_manifold")
    ax = plots.contour(land, axes=(0, 2), resolution=30, colorbar=False)
    assert ax.get_xlabel() == "$x$" and ax.get_ylabel() == "$y_{2}$"
    np.testing.assert_allclose(ax.get_ylim(), land.window[2])


@pytest.mark.parametrize("kwargs, fragment", [
    ({"levels": 1}, "levels must be an integer >= 2"),
    ({"axes": (0, 0)}, "axes must be two distinct indices"),
    ({"window": [[1, 0], [0, 1]]}, "window must be"),
    ({"resolution": 1}, "resolution must be an integer >= 2"),
])
def test_contour_rejects_bad_arguments_in_one_sentence(tanh, kwargs, fragment):
    """Bad input: a ValueError naming the parameter and what is allowed."""
    with pytest.raises(ValueError, match=fragment):
        plots.contour(tanh, **kwargs)


def test_contour_refuses_a_1d_landscape():
    with pytest.raises(ValueError, match="at least 2 variable"):
        plots.contour(landscapes.get("double_well"))


def test_update_field_is_minus_gradient_for_gd_and_minus_ascent_gradient_for_sam(tanh):
    """The field is -grad L(x) for GD and -grad L(x + rho grad L/||grad L||) for SAM, at every point."""
    pts = tanh.random_points(7, seed=3)
    np.testing.assert_allclose(update_field(tanh, dynamics.GD(0.3), pts), -tanh.grad(pts), rtol=1e-12)
    rho = 0.25
    ascent = pts + rho * unit(tanh.grad(pts))
    np.testing.assert_allclose(update_field(tanh, dynamics.SAM(0.3, rho), pts), -tanh.grad(ascent), rtol=1e-12)


def test_vector_field_stream_and_quiver_artists(tanh):
    """kind='stream' adds streamlines (a LineCollection); kind='quiver' adds one Quiver of unit arrows."""
    ax = plots.vector_field(tanh, dynamics.SAM(0.5, 0.1), resolution=20)
    assert any(isinstance(c, LineCollection) for c in ax.collections)
    ax = plots.vector_field(tanh, dynamics.GD(0.5), kind="quiver", resolution=9)
    (quiver,) = [c for c in ax.collections if isinstance(c, Quiver)]
    assert quiver.N == 81
    lengths = np.hypot(quiver.U, quiver.V)
    assert np.all((np.abs(lengths - 1) < 1e-12) | (lengths == 0))


@pytest.mark.parametrize("optimizer, fragment", [
    (dynamics.SGD(0.1, 1), r"optimizer must be deterministic \(GD, or SAM/USAM/MultiStepSAM/.*/WSAM with batch_size=None\)"),
    (dynamics.SAM(0.1, 0.1, batch_size=1), "pass batch_size=None for the full-batch map"),
    (dynamics.GD(np.array([0.1, 0.2])), "optimizer lr must be a single number"),
])
def test_vector_field_needs_a_deterministic_scalar_optimizer(tanh, optimizer, fragment):
    with pytest.raises(ValueError, match=fragment):
        plots.vector_field(tanh, optimizer)


@pytest.mark.parametrize("optimizer", [
    dynamics.Switch(dynamics.GD(0.1), dynamics.SAM(0.1, 0.1), at=3),
    dynamics.RandomSAM(0.1, 0.1),
    dynamics.SGD(0.1, 1),
])
def test_vector_field_errors_name_the_optimizer_by_its_describe_label(tanh, optimizer):
    """The message shows optimizer.describe() (e.g. Switch(GD(lr=0.1), SAM(lr=0.1, rho=0.1), at=3)), not the
    dataclass repr with its field names; a Switch is told to pass one phase."""
    with pytest.raises(ValueError) as error:
        plots.vector_field(tanh, optimizer)
    message = str(error.value)
    assert optimizer.describe() in message
    got = message.split(", got ", 1)[1]  # the part naming the optimizer (the allowed part says batch_size=None)
    assert "first=" not in got and "=None" not in got  # the repr's field names and unset fields
    assert ("optimizer.second" in message) == isinstance(optimizer, dynamics.Switch)


@pytest.mark.parametrize("draw", [
    lambda land, found: plots.vector_field(land, dynamics.SAM(0.1, 0.1), hallucinated=found, resolution=5),
    lambda land, found: plots.surrogate(land, 0.1, hallucinated=found, resolution=5),
], ids=["vector_field", "surrogate"])
def test_hallucinated_points_must_come_from_the_theory_search(tanh, draw):
    """Plots search for nothing: hallucinated='auto' (which used to run the search inside the plot) or bare points
    are a one-sentence ValueError naming hallucinated, the value and samscape.theory.find_hallucinated."""
    for given, shown in (("auto", "'auto'"), (np.zeros((2, 2)), "ndarray")):
        with pytest.raises(ValueError, match=rf"^hallucinated must be a HallucinationSearch from "
                                             rf"samscape\.theory\.find_hallucinated, got {shown}$"):
            draw(tanh, given)


def test_surrogate_values_are_f_at_the_ascent_point_and_f_where_the_gradient_vanishes(tanh):
    """f^SAM(x) = f(x + rho grad f/||grad f||); at a stationary point (grad f = 0) it is f itself."""
    pts = np.array([[1.0, 0.5], [0.0, 0.0], [-2.0, 1.0]])
    rho = 0.3
    expected = tanh.value(pts + rho * unit(tanh.grad(pts)))
    np.testing.assert_allclose(surrogate_values(tanh, rho, pts), expected)
    assert surrogate_values(tanh, rho, pts[1]) == tanh.value(pts[1])


def test_surrogate_marks_the_hallucinated_circle_of_the_ring_landscape():
    """On p1_figure with R < rho < 2R the theory's hallucinated points lie on ||x|| = rho - R, drawn as diamonds."""
    land = landscapes.get("p1_figure")
    radius = land.params["ring_radius"]
    rho = 1.5 * radius
    found = theory.find_hallucinated(land, rho, land.window, lr=0.1)
    ax = plots.surrogate(land, rho, resolution=40, hallucinated=found)
    marked = [line for line in ax.lines if line.get_label().startswith("hallucinated")]
    assert marked, "no hallucinated points drawn"
    points = np.concatenate([np.column_stack(line.get_data()) for line in marked])
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), rho - radius, atol=1e-6)
    cs = next(c for c in ax.collections if isinstance(c, ContourSet) and c.filled)
    assert "SAM" in cs.colorbar.ax.get_ylabel()


def test_surrogate_draws_given_points_with_their_stability(search_of):
    """Given points: attracting ones filled, others hollow, with legend labels saying which."""
    land = landscapes.get("cosine_grid")
    found = search_of([[0.5, 0.5], [1.0, -1.0]], [True, False])
    ax = plots.surrogate(land, 1.0, hallucinated=found, resolution=30)
    (good,) = _lines(ax, "hallucinated (attracting)")
    (bad,) = _lines(ax, "hallucinated (repelling)")
    np.testing.assert_allclose(np.column_stack(good.get_data()), [[0.5, 0.5]])
    np.testing.assert_allclose(np.column_stack(bad.get_data()), [[1.0, -1.0]])
    assert bad.get_markerfacecolor() == "white"


def test_save_writes_the_file_atomically_with_readable_permissions(tmp_path, tanh):
    """plots.save writes the PNG (non-empty, PNG magic) and leaves no temporary file behind."""
    ax = plots.contour(tanh, resolution=20)
    path = plots.save(ax.figure, tmp_path / "sub" / "contour.png")
    data = (tmp_path / "sub" / "contour.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["contour.png"]
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "sub" / "contour.png").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0o600
    assert path.endswith("contour.png")
