"""Tests of the GIF animation and of `samscape plot`, which draws saved runs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from samscape import cli, dynamics, landscapes, plots


def test_animate_writes_a_looping_gif_with_the_requested_frames(tmp_path, switch_run):
    """A GIF with one frame per requested step (never more than the saved steps), looping, frames that differ."""
    path = plots.animate(switch_run, tmp_path / "run.gif", frames=12, fps=10)
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == 12
        assert gif.info.get("loop") == 0
        assert gif.info.get("duration") == 100
        gif.seek(0)
        first = np.asarray(gif.convert("RGB"), dtype=int)
        gif.seek(gif.n_frames - 1)
        last = np.asarray(gif.convert("RGB"), dtype=int)
    assert np.abs(first - last).sum() > 0  # the points moved
    assert [p.name for p in tmp_path.iterdir()] == ["run.gif"]  # no temporary file left


def test_animate_caps_frames_at_the_saved_steps(tmp_path, tanh):
    run = dynamics.simulate(tanh, dynamics.GD(0.5), [[1.0, 0.5]], 40, every=10, seed=0)
    with Image.open(plots.animate(run, tmp_path / "few.gif", frames=50)) as gif:
        assert gif.n_frames == len(run.steps)


def test_animate_rejects_bad_arguments(tmp_path, switch_run):
    """A path not ending in .gif, a frame count below 1 and a 1-D run are ValueErrors naming what is wrong."""
    with pytest.raises(ValueError, match="path must end in .gif"):
        plots.animate(switch_run, tmp_path / "run.png")
    # the package's one wording for an integer >= 1 (samscape._checks.positive_int), with the value
    with pytest.raises(ValueError, match="^frames must be a positive integer, got 0$"):
        plots.animate(switch_run, tmp_path / "run.gif", frames=0)
    with pytest.raises(ValueError, match="exactly|at least 2"):
        run = dynamics.simulate(landscapes.get("double_well"), dynamics.GD(0.1), [[0.3]], 5, seed=0)
        plots.animate(run, tmp_path / "run.gif")


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "tanh.npz"
    assert cli.main(["simulate", "--landscape", "tanh", "--optimizer", "sam", "--lr", "0.5", "--rho", "0.1",
                     "--steps", "40", "--every", "2", "--starts", "point:2.5,0.3;-2,0.5", "--seed", "0",
                     "--out", str(path)]) == 0
    return path


@pytest.mark.parametrize("kind", ["auto", "trajectories", "loss", "sharpness", "basins"])
def test_cli_plot_writes_a_png_for_each_kind(tmp_path, saved_run, kind, capsys):
    """`samscape plot RUN.npz --kind K --out FIG.png` writes a PNG and says what it drew."""
    out = tmp_path / f"{kind}.png"
    assert cli.main(["plot", str(saved_run), "--kind", kind, "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert "wrote" in capsys.readouterr().out


def test_cli_plot_animate_and_valley(tmp_path, saved_run):
    gif = tmp_path / "run.gif"
    assert cli.main(["plot", str(saved_run), "--kind", "animate", "--out", str(gif)]) == 0
    with Image.open(gif) as im:
        assert im.n_frames > 1
    valley = tmp_path / "valley.npz"
    cli.main(["simulate", "--landscape", "logcosh_valley", "--optimizer", "sam", "--lr", "1", "--rho", "1",
              "--steps", "20", "--every", "1", "--starts", "point:0.5;0.9", "--seed", "0", "--out", str(valley)])
    assert cli.main(["plot", str(valley), "--out", str(tmp_path / "valley.png")]) == 0


def test_cli_plot_bad_input_is_one_line_and_exit_code_2(tmp_path, saved_run, capsys):
    assert cli.main(["plot", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "x.png")]) == 2
    assert "RUN must be an existing .npz" in capsys.readouterr().err
    assert cli.main(["plot", str(saved_run), "--kind", "animate", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "--out must end in .gif" in err and err.count("\n") == 1


def _drawn_lines(frame):
    """Lengths of each path's line data as this frame shows it."""
    return [len(trail.get_xdata()) for trail in frame.trails]


def test_each_path_is_drawn_as_it_is_travelled(switch_run):
    """The first frame shows each path as its start point only and the last shows every saved point; no line
    of the static background already holds a path (only single-point markers), so nothing gives the end away."""
    from samscape.plots.animate import draw_frames

    lengths, static = [], None
    for frame in draw_frames(switch_run, frames=8):
        lengths.append(_drawn_lines(frame))
        if static is None:
            ax = frame.figure.axes[0]
            static = [len(line.get_xdata()) for line in ax.lines
                      if not line.get_animated() and line.get_linestyle() not in ("None", "none", "")]
    n_saved = len(switch_run.steps)
    assert lengths[0] == [1] * switch_run.n_starts
    assert lengths[-1] == [n_saved] * switch_run.n_starts
    assert all(a <= b for earlier, later in zip(lengths, lengths[1:]) for a, b in zip(earlier, later))
    assert static == []


def test_the_step_counter_and_the_legend_lie_inside_the_frame_and_apart(switch_run):
    """Rendered extents: the step counter (with the longest optimizer description of a Switch) and the legend lie
    inside the figure and do not overlap each other, in every frame as `samscape plot --kind animate` draws it."""
    from samscape.plots.animate import draw_frames

    for frame in draw_frames(switch_run, frames=4):
        fig = frame.figure
        renderer = fig.canvas.get_renderer()
        stamp, legend = frame.stamp.get_window_extent(renderer), frame.legend.get_window_extent(renderer)
        for box in (stamp, legend):
            assert box.x0 >= -0.5 and box.y0 >= -0.5 and box.x1 <= fig.bbox.x1 + 0.5 and box.y1 <= fig.bbox.y1 + 0.5
        assert not stamp.overlaps(legend)


@pytest.mark.parametrize("kind", ["loss", "sharpness"])
def test_cli_plot_keeps_a_wide_legend_inside_the_figure_and_off_the_axes(tmp_path, kind):
    """`samscape plot --kind loss|sharpness` of many starts of an optimizer with a long description: the legend
    (rendered extent) lies inside the figure, does not overlap the Axes, and the Axes keep over half the width."""
    land = landscapes.get("tanh", xs=(0.6, 1.0, 1.3), ys=(0.0, 0.0, 0.0))
    run = dynamics.simulate(land, dynamics.RandomSAM(0.5, 0.1, batch_size=1), land.random_points(30, seed=0), 40,
                            every=5, seed=0, backend="numpy")
    fig = cli.plot_figure(run, kind)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    (legend,) = fig.legends
    box, axes_box = legend.get_window_extent(renderer), fig.axes[0].get_window_extent(renderer)
    assert box.x0 >= -0.5 and box.y0 >= -0.5 and box.x1 <= fig.bbox.x1 + 0.5 and box.y1 <= fig.bbox.y1 + 0.5
    assert not box.overlaps(axes_box)
    assert axes_box.width > 0.5 * fig.bbox.width
