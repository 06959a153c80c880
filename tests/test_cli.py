"""The `samscape` command line: list, simulate, starts specs, output files and error messages."""

import numpy as np
import pytest

from samscape import cli, dynamics, landscapes


def test_list_names_every_catalog_landscape_and_the_optimizers(capsys):
    """`samscape list` prints every catalog entry with its description, and the optimizer names."""
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in landscapes.names():
        assert name in out
        assert landscapes.describe(name)["description"][:20] in out
    for opt in cli.OPTIMIZER_CHOICES:
        assert opt in out


def test_simulate_prints_a_summary_and_writes_a_reproducible_npz(tmp_path, capsys):
    """simulate --out writes a run whose recipe reproduces it exactly, and prints status counts."""
    out = tmp_path / "run.npz"
    code = cli.main(["simulate", "--landscape", "tanh", "--optimizer", "sam", "--lr", "0.5", "--rho", "0.1",
                     "--steps", "200", "--every", "50", "--starts", "grid:-2:2:-1:1:3x2", "--seed", "3",
                     "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "final loss" in text and "diverged" in text and str(out) in text
    run = dynamics.load_run(out)
    assert run.xs.shape == (5, 6, 2)
    np.testing.assert_allclose(run.x0[:, 0], [-2, -2, 0, 0, 2, 2])
    again = dynamics.simulate(run.landscape, run.optimizer, run.x0, 200, every=50, seed=run.seed)
    np.testing.assert_array_equal(again.xs, run.xs)


def test_simulate_with_an_expression_and_a_point_start(capsys):
    """--expr/--vars builds the landscape; GD on z^2 from z=1 with lr 0.25 ends at 0.5^steps."""
    code = cli.main(["simulate", "--expr", "z**2", "--vars", "z", "--optimizer", "gd", "--lr", "0.25",
                     "--steps", "10", "--starts", "point:1"])
    assert code == 0
    out = capsys.readouterr().out
    assert f"{(0.5 ** 10) ** 2:.3e}" in out  # the final loss (z_10)^2


def test_starts_specs_give_the_promised_points():
    """point:, grid: and random: produce the documented arrays; random starts lie in the window."""
    land = landscapes.from_expr("u**2 + v**2", "u,v", window=[[-1, 1], [2, 3]])
    np.testing.assert_array_equal(cli.parse_starts("point:2.5,0.001", land), [[2.5, 0.001]])
    np.testing.assert_array_equal(cli.parse_starts("point:1,2;3,4", land), [[1, 2], [3, 4]])
    grid = cli.parse_starts("grid:0:1:-1:1:2x3", land)
    assert grid.shape == (6, 2) and set(grid[:, 0]) == {0.0, 1.0} and set(grid[:, 1]) == {-1.0, 0.0, 1.0}
    rand = cli.parse_starts("random:50", land, seed=1)
    assert rand.shape == (50, 2)
    assert np.all((rand[:, 0] >= -1) & (rand[:, 0] <= 1) & (rand[:, 1] >= 2) & (rand[:, 1] <= 3))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["simulate", "--landscape", "nope"], "nope"),
        (["simulate", "--expr", "__import__('os')", "--vars", "u"], "__import__"),
        (["simulate", "--expr", "u**2"], "--vars"),
        (["simulate", "--landscape", "tanh", "--lr", "-1"], "lr must be"),
        (["simulate", "--landscape", "tanh", "--starts", "grid:0:1:5"], "grid needs 4 bounds"),
        (["simulate", "--landscape", "tanh", "--starts", "point:1,2,3"], "2 comma-separated"),
        (["simulate", "--landscape", "tanh", "--starts", "spiral:3"], "--starts must be"),
        (["simulate", "--landscape", "tanh", "--param", "xs"], "name=value"),
        (["simulate", "--landscape", "tanh", "--out", "run.txt", "--steps", "1"], ".npz"),
    ],
)
def test_bad_input_gives_one_line_and_exit_code_2(argv, message, capsys, tmp_path, monkeypatch):
    """Bad command-line input prints one error line naming the problem and exits with 2, no traceback."""
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["simulate", "--expr", "u**2", "--vars", "u", "--seed", "-1"], "--seed must be an integer >= 0, got -1"),
        (["simulate", "--landscape", "tanh", "--optimizer", "gd", "--rho", "0.1"], "--rho applies to sam"),
        (["simulate", "--landscape", "tanh", "--optimizer", "gd", "--batch-size", "2"], "--batch-size applies"),
        (["simulate", "--landscape", "tanh", "--sample", "a=1,2"], "--sample goes with --expr"),
        (["simulate", "--landscape", "eigen_manifold", "--starts", "grid:0:1:5"], "grid:-1:1:-1:1:-1:1:10x10x10"),
        (["simulate", "--expr", "u**2", "--vars", "u", "--steps", "1", "--out", "/proc/no/such/run.npz"], "cannot use"),
        (["plot", "junk.npz", "--out", "fig.png"], "not a samscape run"),
    ],
)
def test_more_bad_input_is_named_precisely(argv, message, capsys, tmp_path, monkeypatch):
    """Bad seeds, options that do not apply, unwritable paths and foreign files give one precise line, exit 2."""
    monkeypatch.chdir(tmp_path)
    np.savez(tmp_path / "junk.npz", a=np.arange(3))
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_out_path_is_checked_before_the_run(capsys, monkeypatch):
    """A wrong --out suffix is refused before simulating, so a long run is not wasted."""
    calls = []
    monkeypatch.setattr(dynamics, "simulate", lambda *a, **k: calls.append(a))
    assert cli.main(["simulate", "--landscape", "tanh", "--out", "run.dat"]) == 2
    assert calls == []


def test_expression_with_data_columns_is_a_finite_sum(capsys):
    """--sample gives --expr data columns: GD on mean((u - a)^2) from u = 0 converges to mean(a)."""
    assert cli.main(["simulate", "--expr", "(u - a)**2", "--vars", "u", "--sample", "a=1,2,6", "--optimizer", "gd",
                     "--lr", "0.25", "--steps", "60", "--starts", "point:0", "--backend", "numpy",
                     "--dtype", "float32"]) == 0
    out = capsys.readouterr().out
    assert "mean over 3 samples" in out
    # at u = mean(a) = 3 the loss is the variance of a: (4 + 1 + 9)/3
    assert f"{14 / 3:.3e}" in out


def test_plot_checks_its_starts_option_against_the_run(tmp_path, capsys):
    """samscape plot --starts K needs 1 <= K <= the run's starts, and is refused for basins (which shows all)."""
    run_path = tmp_path / "run.npz"
    assert cli.main(["simulate", "--landscape", "tanh", "--steps", "5", "--starts", "random:4", "--seed", "1",
                     "--out", str(run_path)]) == 0
    capsys.readouterr()
    for argv, message in [
        (["--starts", "0"], "--starts must be a count from 1 to 4"),
        (["--starts", "9"], "--starts must be a count from 1 to 4"),
        (["--kind", "basins", "--starts", "2"], "does not apply to --kind basins"),
    ]:
        assert cli.main(["plot", str(run_path), "--out", str(tmp_path / "f.png"), *argv]) == 2
        assert message in capsys.readouterr().err
    assert cli.main(["plot", str(run_path), "--out", str(tmp_path / "f.png"), "--starts", "2"]) == 0
    assert (tmp_path / "f.png").stat().st_size > 0
