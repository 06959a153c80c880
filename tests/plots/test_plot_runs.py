"""Tests of the run pictures: trajectories, basins, curves, valley (the fates they draw are tested in theory).

Expected values are computed from the run's arrays or from closed forms (2/eta, the USAM edge), never typed in
from an earlier picture.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.colors import to_rgb

from samscape import dynamics, landscapes, plots, theory
from samscape.plots.style import FATE_COLORS, optimizer_color


def _sim(land, opt, x0, steps, every=1, **kw):
    return dynamics.simulate(land, opt, x0, steps, every=every, seed=0, backend="numpy", **kw)


# ---------------------------------------------------------------------------------------------- trajectories
def test_trajectories_draw_each_path_with_start_and_end_markers(tanh):
    """Each start's path is a line through run.xs; hollow start markers at x0, filled end markers at x_T."""
    run = _sim(tanh, dynamics.SAM(0.5, 0.1), [[2.0, 0.5], [-1.0, 1.0]], 30, every=3)
    ax = plots.trajectories(run)
    paths = [line for line in ax.lines if len(line.get_xdata()) > 1 and line.get_gid() is None]
    assert len(paths) == 2
    for i, line in enumerate(paths):
        np.testing.assert_allclose(np.column_stack(line.get_data()), run.xs[:, i])
    starts = [line for line in ax.lines if line.get_gid() == "start"]
    ends = [line for line in ax.lines if line.get_gid() == "end"]
    np.testing.assert_allclose([np.ravel(line.get_data()) for line in starts], run.x0)
    np.testing.assert_allclose([np.ravel(line.get_data()) for line in ends], run.x)
    assert all(line.get_markerfacecolor() == "white" for line in starts)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [run.optimizer.describe()]
    assert ax.get_xlabel() == "$u$" and ax.get_ylabel() == "$v$"


def test_trajectories_change_colour_at_the_switch(switch_run):
    """A Switch run is drawn in GD's colour up to the switch step and in SAM's colour from there on."""
    ax = plots.trajectories(switch_run, starts=[0], background=False)
    paths = [line for line in ax.lines if len(line.get_xdata()) > 1]
    assert [line.get_color() for line in paths] == [optimizer_color("gd"), optimizer_color("sam")]
    at = switch_run.optimizer.at
    np.testing.assert_allclose(np.column_stack(paths[0].get_data()), switch_run.xs[: at + 1, 0])
    np.testing.assert_allclose(np.column_stack(paths[1].get_data()), switch_run.xs[at:, 0])


def test_trajectories_mark_a_diverged_start_with_a_cross():
    """GD with lr*lambda > 2 on a quadratic diverges: its end marker is an X at the frozen point."""
    land = landscapes.get("quadratic")
    lam = float(np.linalg.eigvalsh(land.hessian(np.zeros(land.dim))).max())
    run = _sim(land, dynamics.GD(3.0 / lam), [[0.5, 0.5]], 200, bound=1e3)
    assert run.status[0] == "diverged"
    ax = plots.trajectories(run)
    (end,) = [line for line in ax.lines if line.get_gid() == "end"]
    assert end.get_marker() == "X"


def test_trajectories_of_a_1d_run_plot_iterate_against_step():
    land = landscapes.get("double_well")
    run = _sim(land, dynamics.GD(0.1), [[0.3], [-0.2]], 20)
    ax = plots.trajectories(run)
    assert ax.get_xlabel() == "step $t$"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), run.xs[:, 0, 0])


def test_trajectories_reject_bad_arguments(tanh, switch_run):
    with pytest.raises(ValueError, match="color_by must be one of"):
        plots.trajectories(switch_run, color_by="speed")
    with pytest.raises(ValueError, match=r"starts must be indices in \[0, 1\]"):
        plots.trajectories(switch_run, starts=[5])
    with pytest.raises(ValueError, match="run must be a samscape Run"):
        plots.trajectories(tanh)


@pytest.mark.parametrize("count", [0, -1, 3, 100])
@pytest.mark.parametrize("draw", [
    lambda run, k: plots.trajectories(run, starts=k),
    lambda run, k: plots.curves(run, "loss", starts=k),
])
def test_a_starts_count_outside_one_to_the_runs_starts_is_a_one_sentence_error(switch_run, draw, count):
    """starts=K with K < 1 or K > run.n_starts (2 here) is a ValueError naming starts, K and the allowed range,
    instead of an empty or silently clipped picture; K = n_starts draws every start."""
    with pytest.raises(ValueError, match=rf"^starts must be a count from 1 to 2 .*got {count}$") as error:
        draw(switch_run, count)
    assert "\n" not in str(error.value)
    draw(switch_run, 2)


@pytest.mark.parametrize("count", [0, -2, 5])
def test_valley_series_and_animate_check_a_starts_count_against_the_run(tmp_path, switch_run, count):
    """valley(kind='series') and animate, which `samscape plot --starts K` also reaches, refuse K outside 1..n."""
    land = landscapes.get("logcosh_valley")
    run = _sim(land, dynamics.SAM(1.0, 1.0), [[0.5], [0.9]], 10)
    with pytest.raises(ValueError, match=rf"starts must be a count from 1 to 2 .*got {count}$"):
        plots.valley(land, run, kind="series", starts=count)
    with pytest.raises(ValueError, match=rf"starts must be a count from 1 to 2 .*got {count}$"):
        plots.animate(switch_run, tmp_path / "run.gif", starts=count)


# ---------------------------------------------------------------------------------------------- basins
def test_basins_on_a_grid_draw_one_cell_per_start_coloured_by_fate():
    """Grid starts become a QuadMesh whose cell values are the fates' codes; the legend counts each fate."""
    ring = landscapes.get("p1_figure")
    u = np.linspace(-1.9, 1.9, 6)
    v = np.linspace(-1.7, 1.7, 5)
    starts = np.stack(np.meshgrid(u, v), -1).reshape(-1, 2)
    run = _sim(ring, dynamics.SAM(0.1, 1.5), starts, 200, every=200)
    fates = theory.classify_fates(run)
    ax = plots.basins(run, fates)
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    codes = np.asarray(mesh.get_array()).reshape(len(v), len(u))
    expected = np.array([theory.FATES.index(f) for f in fates]).reshape(len(v), len(u))
    np.testing.assert_array_equal(codes, expected)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    for fate, text in zip(("minimizer", "hallucinated", "moving", "diverged"), labels):
        assert text.endswith(f"({int(np.sum(fates == fate))})")
    # cells are centred on the starts: the axes reach half a cell beyond the outer starts
    assert ax.get_xlim() == pytest.approx((u[0] - (u[1] - u[0]) / 2, u[-1] + (u[1] - u[0]) / 2))


def test_basins_of_scattered_starts_use_markers_inside_the_window(tanh):
    run = _sim(tanh, dynamics.SAM(0.5, 0.1), tanh.random_points(7, seed=1), 20)
    ax = plots.basins(run, theory.classify_fates(run))
    assert len(ax.collections[0].get_offsets()) == 7
    assert ax.get_xlim()[0] <= tanh.window[0, 0] and ax.get_xlim()[1] >= tanh.window[0, 1]


def test_basins_draw_attracting_diamonds_as_everywhere_else_with_a_white_rim(search_of, marker_strokes):
    """On a basin map the attracting hallucinated diamonds keep the look of the other plots' legend entry
    (vermillion fill, black edge; they used to be white-edged and read as the white 'repelling' diamonds on
    vermillion cells) and get a white rim behind the black edge, so they stand out on either cell colour."""
    ring = landscapes.get("p1_figure")
    u = np.linspace(-1.9, 1.9, 4)
    starts = np.stack(np.meshgrid(u, u), -1).reshape(-1, 2)
    run = _sim(ring, dynamics.SAM(0.1, 1.5), starts, 20, every=20)
    found = search_of([[0.5, 0.0], [0.0, 0.5]], [True, False])
    ax = plots.basins(run, theory.classify_fates(run), hallucinated=found)
    (good,) = [line for line in ax.lines if line.get_label() == "hallucinated (attracting)"]
    (bad,) = [line for line in ax.lines if line.get_label() == "hallucinated (repelling)"]
    reference = plots.surrogate(ring, 1.5, hallucinated=found, resolution=20)
    (legend_good,) = [line for line in reference.lines if line.get_label() == "hallucinated (attracting)"]
    for attr in ("get_marker", "get_markerfacecolor", "get_markeredgecolor", "get_markeredgewidth"):
        assert getattr(good, attr)() == getattr(legend_good, attr)(), attr
    assert to_rgb(good.get_markerfacecolor()) == to_rgb(FATE_COLORS["hallucinated"])
    assert to_rgb(good.get_markeredgecolor()) == (0.0, 0.0, 0.0)
    assert to_rgb(bad.get_markerfacecolor()) == (1.0, 1.0, 1.0)
    for line in (good, bad):
        # first a white stroke wider than the edge, then the black edge itself on top of it
        (rim_color, rim_width), (edge_color, edge_width) = marker_strokes(line)
        assert to_rgb(rim_color) == (1.0, 1.0, 1.0) and to_rgb(edge_color) == (0.0, 0.0, 0.0)
        assert rim_width > edge_width == line.get_markeredgewidth()


def test_basins_reject_fates_of_the_wrong_length(switch_run):
    """Fates that do not match the run's starts are a ValueError naming fates and the count needed."""
    with pytest.raises(ValueError, match="fates must be 2 values"):
        plots.basins(switch_run, fates=["minimizer"])


def test_basins_without_fates_say_which_theory_function_computes_them(switch_run):
    """basins only draws: without fates it computes nothing and its one-sentence error names
    samscape.theory.classify_fates; given that function's fates it draws."""
    with pytest.raises(ValueError, match=r"^fates must be .*samscape\.theory\.classify_fates\(run\), got None$"):
        plots.basins(switch_run)
    plots.basins(switch_run, theory.classify_fates(switch_run))


# ---------------------------------------------------------------------------------------------- curves
def test_curves_loss_is_log_scaled_and_equals_run_loss(switch_run):
    ax = plots.curves(switch_run, "loss", starts=[0])
    assert ax.get_yscale() == "log"
    assert ax.get_ylabel() == "loss $L(x_t)$" and ax.get_xlabel() == "step $t$"
    data = [line for line in ax.lines if line.get_gid() == "loss"]
    y = np.concatenate([line.get_ydata() for line in data])
    x = np.concatenate([line.get_xdata() for line in data])
    np.testing.assert_allclose(y, np.interp(x, switch_run.steps, switch_run.loss[:, 0]))
    assert ax.get_xlim() == (0, switch_run.steps[-1])


def test_curves_sharpness_draws_lambda_max_trace_the_gd_edge_and_the_switch(switch_run):
    """lambda_max is the top Hessian eigenvalue along the path; the GD phase carries a line at 2/eta over its
    steps (from theory.gd_threshold), and a vertical line marks the switch step."""
    ax = plots.curves(switch_run, "sharpness", starts=[1])
    lam = [line for line in ax.lines if line.get_gid() == "lambda_max"]
    x = np.concatenate([line.get_xdata() for line in lam])
    y = np.concatenate([line.get_ydata() for line in lam])
    expected = np.linalg.eigvalsh(switch_run.landscape.hessian(switch_run.xs[:, 1]))[:, -1]
    np.testing.assert_allclose(y, expected[x.astype(int)], rtol=1e-12)
    assert any(line.get_gid() == "trace" for line in ax.lines)
    (edge,) = [c for c in ax.collections if c.get_gid() == "threshold"]
    segment = edge.get_segments()[0]
    lr = switch_run.optimizer.first.lr
    np.testing.assert_allclose(segment[:, 1], 2.0 / lr)
    np.testing.assert_allclose(segment[:, 0], [0, switch_run.optimizer.at])
    (switch,) = [line for line in ax.lines if line.get_gid() == "switch"]
    assert switch.get_xdata()[0] == switch_run.optimizer.at


def test_curves_usam_threshold_is_the_root_of_the_usam_edge(tanh):
    """For USAM the threshold line sits at the lambda solving eta*lambda*(1 + rho*lambda) = 2."""
    lr, rho = 0.5, 0.4
    run = _sim(tanh, dynamics.USAM(lr, rho), [[1.0, 0.3]], 20)
    ax = plots.curves(run, "lambda_max")
    (edge,) = [c for c in ax.collections if c.get_gid() == "threshold"]
    lam = edge.get_segments()[0][0, 1]
    assert lr * lam * (1 + rho * lam) == pytest.approx(2.0, rel=1e-12)
    assert lam == pytest.approx((-1 + math.sqrt(1 + 8 * rho / lr)) / (2 * rho), rel=1e-12)


def test_curves_end_where_a_start_diverged():
    land = landscapes.get("quadratic")
    lam = float(np.linalg.eigvalsh(land.hessian(np.zeros(land.dim))).max())
    run = _sim(land, dynamics.GD(3.0 / lam), [[0.5, 0.5], [0.1, 0.0]], 60, bound=1e2)
    ax = plots.curves(run, "grad_norm")
    first = [line for line in ax.lines if line.get_gid() == "grad_norm"][0]
    stopped = run.stopped_at[0]
    assert stopped > 0
    assert np.all(np.isnan(first.get_ydata()[run.steps > stopped]))


def test_curves_many_starts_draw_a_median_and_a_band(tanh):
    run = _sim(tanh, dynamics.GD(0.5), tanh.random_points(12, seed=0), 10)
    ax = plots.curves(run, "loss", max_lines=5)
    assert len([line for line in ax.lines if line.get_gid() == "loss"]) == 1
    assert len(ax.collections) == 1  # the 10-90 % band
    with pytest.raises(ValueError, match="quantity must be one of"):
        plots.curves(run, "speed")


# ---------------------------------------------------------------------------------------------- valley
@pytest.fixture(scope="module")
def valley_run():
    land = landscapes.get("logcosh_valley")
    return land, _sim(land, dynamics.SAM(1.0, 1.0), [[0.9], [1e-3], [-0.5]], 30, every=5)


def _band_positions(ax, gid, axis):
    return sorted({float((line.get_xdata() if axis == "x" else line.get_ydata())[0])
                   for line in ax.lines if line.get_gid() == gid})


def test_valley_cobweb_has_the_band_the_map_and_the_exact_staircase(valley_run):
    """The cobweb: band edges at +-2b and core at +-b, the SAM map z -> T(z), and a staircase whose corners are
    consecutive iterates (replayed, so exact even though the run saved every 5th step)."""
    land, run = valley_run
    b = land.params["b"]
    ax = plots.valley(land, run, kind="cobweb", starts=[0], steps=30)
    assert _band_positions(ax, "band", "x") == [-2 * b, 2 * b]
    assert _band_positions(ax, "core", "x") == [-b, b]
    (stair,) = [line for line in ax.lines if line.get_gid() == "cobweb"]
    xs, ys = stair.get_data()
    z = theory.advance(run, run.x0, 0, 30)[:, 0, 0]
    np.testing.assert_allclose(xs[0::2], z[:-1])
    np.testing.assert_allclose(ys[1::2], z[1:])
    np.testing.assert_allclose(z[::5], run.xs[:, 0, 0])  # the replay is the run itself
    (mapped,) = [line for line in ax.lines if line.get_gid() == "map"]
    zz, tz = mapped.get_data()
    slope = land.grad(zz[:, None])[:, 0]
    expected = zz - 1.0 * land.grad((zz + 1.0 * np.sign(slope))[:, None])[:, 0]  # z - eta L'(z + rho sign L'(z))
    np.testing.assert_allclose(tz, expected)
    assert ax.get_xlabel() == "$z_t$" and ax.get_ylabel() == "$z_{t+1}$"


def test_valley_cobweb_refuses_an_update_that_is_not_one_map(valley_run):
    """A scheduled lr or a velocity makes the step depend on more than z: the cobweb says so instead of drawing step
    0's map; the series still draws such a run."""
    land, _ = valley_run
    for optimizer in (dynamics.SAM(dynamics.Cosine(1.0, steps=30), 1.0), dynamics.SAM(1.0, 1.0, momentum=0.5)):
        run = _sim(land, optimizer, [[0.9]], 30)
        with pytest.raises(ValueError, match=r"needs an optimizer whose update is one map of z, got SAM\("):
            plots.valley(land, run, kind="cobweb")
        assert plots.valley(land, run, kind="series", steps=30).lines


def test_valley_series_draws_every_start_inside_horizontal_band_lines(valley_run):
    land, run = valley_run
    b = land.params["b"]
    ax = plots.valley(land, run, kind="series", steps=30)
    assert _band_positions(ax, "band", "y") == [-2 * b, 2 * b]
    series = [line for line in ax.lines if line.get_label().startswith("$z_0")]
    assert len(series) == run.n_starts
    for line in series:
        assert np.all(np.abs(line.get_ydata()) <= 2 * b)


def test_valley_profile_has_the_loss_curve_and_a_step_colour_bar(valley_run):
    land, run = valley_run
    ax = plots.valley(land, run, kind="profile", steps=10)
    (curve,) = [line for line in ax.lines if line.get_label() == "$L(z)$"]
    np.testing.assert_allclose(curve.get_ydata(), land.value(curve.get_xdata()[:, None]))
    assert len(ax.figure.axes) == 2  # the colour bar of the steps


def test_valley_needs_b_and_a_1d_landscape(tanh):
    with pytest.raises(ValueError, match="b must be given"):
        plots.valley(landscapes.get("double_well"))
    with pytest.raises(ValueError, match="exactly 1 variable"):
        plots.valley(tanh)
    with pytest.raises(ValueError, match="kind must be one of"):
        plots.valley(landscapes.get("huber_valley"), kind="spiral")


# ---------------------------------------------------------------------------------------------- inconsistent runs
@pytest.mark.parametrize(
    "change, message",
    [
        (lambda r: dict(status=np.array(["ok", "exploded"])), "status must hold only"),
        (lambda r: dict(xs=np.full_like(r.xs, np.nan)), "xs must be finite"),
        (lambda r: dict(loss=r.loss[:-1]), "loss must have shape"),
    ],
    ids=["unknown status", "all-NaN iterates", "loss shorter than xs"],
)
@pytest.mark.parametrize(
    "draw",
    [
        lambda run: plots.trajectories(run),
        lambda run: plots.basins(run, ["minimizer"] * run.n_starts),
        lambda run: plots.curves(run, "loss"),
        lambda run: plots.animate(run, "never-written.gif"),
    ],
    ids=["trajectories", "basins", "curves", "animate"],
)
def test_every_run_picture_refuses_an_inconsistent_run(switch_run, change, message, draw, tmp_path, monkeypatch):
    """Each run-drawing entry point calls Run.validate and raises its one-sentence ValueError instead of
    drawing unknown statuses, NaN paths or mismatched arrays."""
    import dataclasses

    monkeypatch.chdir(tmp_path)
    broken = dataclasses.replace(switch_run, **change(switch_run))
    with pytest.raises(ValueError, match=message):
        draw(broken)
    assert not (tmp_path / "never-written.gif").exists()


def test_valley_refuses_an_inconsistent_run():
    """valley(landscape, run) validates the run it replays like every other run picture."""
    import dataclasses

    land = landscapes.from_expr("0.5*z**2", "z")
    run = _sim(land, dynamics.GD(0.5), [[1.0]], 10)
    broken = dataclasses.replace(run, status=np.array(["lost"]))
    with pytest.raises(ValueError, match="status must hold only"):
        plots.valley(land, broken, b=1.0)
