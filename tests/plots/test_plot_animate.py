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
