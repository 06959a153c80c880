"""The `samscape` command line: list, simulate, starts specs, output files and error messages."""

import argparse
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from samscape import cli, dynamics, landscapes
from samscape._landscape_flags import format_param, parse_param


def test_list_names_every_catalog_landscape_and_the_optimizers(capsys):
    """`samscape list` prints every catalog entry with its description, and the optimizer names."""
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in landscapes.names():
        assert name in out
        assert landscapes.describe(name)["description"][:20] in out
    for opt in dynamics.plain_kinds():
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


# ---------------------------------------------------------------------------------------------- --out before the run
@pytest.mark.parametrize(
    "make_out, message",
    [
        (lambda tmp: "", "--out must be a path ending in .npz, got ''"),
        (lambda tmp: (tmp / "dir.npz").mkdir() or str(tmp / "dir.npz"), "is an existing directory"),
        (lambda tmp: (tmp / "file").write_text("x") and str(tmp / "file" / "run.npz"), "is a file, not a folder"),
        (lambda tmp: "/proc/x.npz", "No such file or directory"),
    ],
    ids=["empty", "existing directory", "inside a file", "proc"],
)
def test_an_unusable_out_is_refused_before_the_run_naming_the_users_path(make_out, message, tmp_path, capsys,
                                                                         monkeypatch):
    """--out '' , an existing directory, a path inside a file or under /proc fail in one line naming that path
    (not our temporary file), exit 2, before simulate is ever called."""
    out = make_out(tmp_path)
    if out.startswith("/proc/") and not os.path.isdir("/proc/self"):
        pytest.skip("needs Linux /proc")
    calls = []
    monkeypatch.setattr(dynamics, "simulate", lambda *a, **k: calls.append(a))
    assert cli.main(["simulate", "--landscape", "tanh", "--steps", "5", "--out", out]) == 2
    err = capsys.readouterr().err
    assert calls == []
    assert message in err and repr(out) in err and "tmp-" not in err and err.count("\n") == 1


def test_plot_checks_its_figure_path_before_drawing(tmp_path, capsys):
    """samscape plot --out into a path inside a file fails in one line naming it, before loading the run."""
    (tmp_path / "file").write_text("x")
    out = str(tmp_path / "file" / "fig.png")
    assert cli.main(["plot", str(tmp_path / "missing.npz"), "--out", out]) == 2  # the run is checked first
    capsys.readouterr()
    run_path = tmp_path / "run.npz"
    dynamics.simulate(landscapes.get("tanh"), dynamics.GD(0.1), [[1.0, 1.0]], 3).save(run_path)
    assert cli.main(["plot", str(run_path), "--out", out]) == 2
    err = capsys.readouterr().err
    assert repr(out) in err and err.count("\n") == 1


def test_a_parser_error_in_a_saved_recipe_is_one_line(tmp_path, capsys):
    """A run whose landscape expression the safe parser refuses is reported in one line naming the file."""
    import json

    run_path = tmp_path / "run.npz"
    land = landscapes.from_expr("u**2", "u")
    dynamics.simulate(land, dynamics.GD(0.1), [[1.0]], 3).save(run_path)
    with np.load(run_path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["meta"]))
    meta["landscape"]["expr"] = "__import__('os').system('true')"
    np.savez(run_path, **{**arrays, "meta": np.array(json.dumps(meta))})
    assert cli.main(["plot", str(run_path), "--out", str(tmp_path / "f.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(run_path) in err and "landscape cannot be rebuilt" in err


# ---------------------------------------------------------------------------------------------- interrupts, memory
def test_memory_error_is_one_line(monkeypatch, capsys):
    """A MemoryError during a command is one line with the remedies, exit 2, not a traceback."""
    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(dynamics, "simulate", exhausted)
    assert cli.main(["simulate", "--landscape", "tanh", "--steps", "5"]) == 2
    err = capsys.readouterr().err
    assert err == "samscape simulate: error: ran out of memory; save fewer iterates (--every), run fewer starts or use a smaller --batch-size\n"


def test_the_memory_guard_reaches_the_command_line_as_one_line(monkeypatch, capsys):
    """simulate's refusal of a run that does not fit is printed as one line with exit 2."""
    from samscape.dynamics import budget

    monkeypatch.setattr(budget, "available_memory", lambda: 1024)
    assert cli.main(["simulate", "--landscape", "tanh", "--steps", "5", "--backend", "numpy"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("samscape simulate: error: this run needs about ") and err.count("\n") == 1


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or sys.platform == "win32", reason="needs POSIX SIGINT")
def test_a_long_simulate_says_how_long_and_ctrl_c_keeps_the_steps_done(tmp_path, capsys):
    """`samscape simulate --steps 10000000000000` says how long it will take before much of it has run (it said
    nothing); Ctrl-C then ends it with exit code 130, and --out holds the steps computed so far, marked as
    interrupted (it held nothing), which `samscape plot` draws."""
    import threading

    root = os.path.dirname(os.path.dirname(cli.__file__))  # the samscape under test, not an installed one
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    code = "import sys; from samscape.cli import main; sys.exit(main(sys.argv[1:]))"
    out, figure = tmp_path / "run.npz", tmp_path / "run.png"
    steps = 10**13
    child = subprocess.Popen(
        [sys.executable, "-c", code, "simulate", "--landscape", "tanh", "--steps", str(steps), "--starts",
         "random:4", "--backend", "numpy", "--seed", "0", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    guard = threading.Timer(120, child.kill)  # a missing estimate line must fail the test, not hang it
    guard.start()
    try:
        estimate = child.stderr.readline()
        child.send_signal(signal.SIGINT)
        said, err = child.communicate(timeout=120)
    finally:
        guard.cancel()
    assert estimate.startswith(f"SAM(lr=0.1, rho=0.05) on tanh: {steps:,} steps will take about ")
    assert "years" in estimate and "Ctrl-C stops it and keeps the steps done so far" in estimate
    assert child.returncode == 130
    stopping, last = err.splitlines()
    assert stopping.startswith("samscape: stopping after the current step")
    done = dynamics.load_run(out)
    assert done.interrupted and done.requested_steps == steps and done.steps[0] == 0
    assert last == (f"samscape simulate: interrupted after {int(done.steps[-1]):,} of {steps:,} steps; "
                    f"{out} holds them")
    assert f"saved {out}" in said and "interrupted: stopped by Ctrl-C after" in said and "alternating" not in said
    assert cli.main(["plot", str(out), "--out", str(figure)]) == 0
    assert figure.exists()
    assert f"interrupted after {int(done.steps[-1]):,} of {steps:,} steps" in capsys.readouterr().out


def _subcommands():
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_every_option_of_every_subcommand_has_help_showing_its_default(command):
    """Each option and positional of each subcommand has non-empty help, and the help shown by --help carries the
    default wherever the option has one to show (not None, False or an empty list)."""
    sub = _subcommands()[command]
    formatter = sub._get_formatter()
    for action in sub._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help and action.help.strip(), f"{command} {action.dest} has no help"
        shown = formatter._expand_help(action)
        if action.default not in (None, False, [], argparse.SUPPRESS):
            value = action.default
            spellings = {str(value)} | ({f"{value:g}"} if isinstance(value, float) else set())
            assert "default" in shown and any(s in shown for s in spellings), f"{command} {action.dest}: {shown!r}"


def test_list_shows_each_entrys_parameters_with_defaults_in_param_syntax(capsys):
    """`samscape list` shows every parameter of every entry as --param spells it (a one-element list with its
    trailing comma, e.g. tanh's xs=1,)."""
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in landscapes.names():
        line = next(row for row in out.splitlines() if row.startswith(name + " "))
        for key, value in landscapes.describe(name)["params"].items():
            assert f"{key}={format_param(value)}" in line
    assert "xs=1,  ys=0," in out


def test_list_name_describes_one_entry(capsys):
    """`samscape list himmelblau` prints its source, parameters, variables, window and its four minimizers; an
    unknown name is one error line listing the known names."""
    land = landscapes.get("himmelblau")
    assert cli.main(["list", "himmelblau"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # long fields wrap at 100 columns
    assert land.description in out and land.source in out and "x, y (dim 2)" in out
    lo, hi = land.window[0]
    assert f"x in [{lo:g}, {hi:g}]" in out
    for point in land.minimizers:
        assert ",".join(f"{v:.4g}" for v in point) in out
    assert cli.main(["list", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert "nope" in err and "himmelblau" in err and len(err.splitlines()) == 1


def test_format_param_is_the_inverse_of_parse_param():
    """Whatever format_param writes, parse_param reads back as the same value (floats, ints, one- and
    several-element lists)."""
    for value in (0.5, 3, (2.0,), (0.6, 1.0, 1.3)):
        _, parsed = parse_param(f"k={format_param(value)}")
        assert parsed == value


def test_a_number_for_a_list_parameter_says_how_to_write_a_one_element_list(capsys):
    """--param ys=0 on tanh (whose ys is a list) is one line naming ys=0, with its trailing comma; ys=0, works."""
    assert cli.main(["simulate", "--landscape", "tanh", "--param", "ys=0", "--steps", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--param ys takes a list" in err and "ys=0," in err and len(err.splitlines()) == 1
    assert cli.main(["simulate", "--landscape", "tanh", "--param", "ys=0,", "--steps", "1", "--seed", "0"]) == 0


def test_default_every_is_odd_or_every_step():
    """The default stride is 1 up to 100 steps, else odd and at least steps/100 (about 100 saved iterates)."""
    assert [cli.default_every(s) for s in (0, 1, 100)] == [1, 1, 1]
    for steps in (101, 200, 1000, 2000, 12345, 10**6):
        every = cli.default_every(steps)
        assert every % 2 == 1 and steps / 100 <= every <= steps / 100 + 2


def test_simulate_by_default_shows_sams_period_two_bouncing(tmp_path, capsys):
    """SAM (lr 1.5, rho 0.1) on 2 log cosh z ends on the 2-cycle z -> -z, z = 1.5 tanh(z + 0.1): with the default
    stride the saved iterates alternate and the summary says so; --every 10 would show them parked."""
    from scipy.optimize import brentq

    out = tmp_path / "run.npz"
    assert cli.main(["simulate", "--expr", "2*log(cosh(z))", "--vars", "z", "--lr", "1.5", "--rho", "0.1",
                     "--starts", "point:0.3;-2", "--seed", "0", "--backend", "numpy", "--out", str(out)]) == 0
    assert "2 of 2 starts end in a period-2 cycle" in capsys.readouterr().out
    run = dynamics.load_run(out)
    assert run.every == cli.default_every(1000) and run.every % 2 == 1
    amplitude = brentq(lambda z: z - 1.5 * np.tanh(z + 0.1), 0.1, 10.0)
    np.testing.assert_allclose(np.abs(run.xs[-3:, :, 0]), amplitude, rtol=1e-9)
    np.testing.assert_allclose(run.xs[-2, :, 0], -run.xs[-3, :, 0], rtol=1e-12)  # steps 990 and 979


def test_simulate_prints_batch_warnings_as_one_line_each(capsys):
    """SGD with batch_size 3 on tanh's 2 samples runs, and the warning is one 'warning:' line on stderr."""
    assert cli.main(["simulate", "--landscape", "tanh", "--param", "xs=1,2", "--param", "ys=0,0", "--optimizer",
                     "sgd", "--batch-size", "3", "--steps", "5", "--seed", "0"]) == 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("samscape simulate: warning: batch_size=3 exceeds the 2 samples")
    assert len(err.splitlines()) == 1


def _run_cli(*args, stdout=subprocess.PIPE):
    """The command in a fresh interpreter, on the samscape under test."""
    root = os.path.dirname(os.path.dirname(cli.__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    code = "import sys; from samscape.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=stdout, stderr=subprocess.PIPE, text=True,
                            env=env)


def test_version_and_plot_help_naming_sweep_stores():
    """`samscape --version` prints the package's version; `samscape plot --help` says it also draws a zarr store
    written by `samscape sweep` (the finding: neither was there)."""
    from samscape import __version__

    version = _run_cli("--version")
    out, err = version.communicate(timeout=120)
    assert version.returncode == 0 and out.strip() == f"samscape {__version__}"
    helped = _run_cli("plot", "--help")
    out, _ = helped.communicate(timeout=120)
    assert helped.returncode == 0 and "STORE.zarr" in out and "samscape sweep" in out and "--kind phase" in out


def test_check_json_into_a_closed_pipe_prints_nothing_on_stderr():
    """The finding: `samscape check --json | head` printed "Broken pipe". With the reader gone before the first
    write, the command ends quietly: nothing on stderr, exit 141 (128 + SIGPIPE, as `cat` would)."""
    child = _run_cli("check", "--only", "gd_quadratic", "--json")
    child.stdout.close()  # the reader is gone: every write is EPIPE
    err = child.stderr.read()
    assert child.wait(timeout=120) == 141
    assert err == ""


def test_list_and_check_fit_100_columns_and_check_says_what_each_field_means(capsys):
    """The findings: `samscape list` was 216 columns wide and `samscape check` 174, with cells like
    `0.269:n 0.594:y`. Every line of `list`, `list NAME` and `check` is now at most 100 columns; the report opens
    with a key naming each field, labels each field of each claim, and says the hallucination window's outcome in
    words."""
    assert cli.main(["list"]) == 0
    assert cli.main(["list", "p1_figure"]) == 0
    assert cli.main(["check", "--only", "hallucination_window", "--only", "gd_quadratic"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "hypotheses: how many of the setup's hypotheses hold" in " ".join(out.split())
    for label in ("from", "hypotheses", "predicted", "observed"):
        assert f"\n  {label} " in out
    assert ":n " not in out and ":y " not in out
    assert "converges to the point for rho = " in " ".join(out.split())


def test_the_variants_hyperparameters_have_flags_that_reach_the_optimizer(capsys):
    """--steps-ascent, --alpha, --eta-a and --lam-u build the variant they belong to; on another optimizer a flag is
    refused naming the kinds that take it, and a bad value gets the class's one sentence."""
    parser = cli.build_parser()
    base = ["simulate", "--expr", "u**2", "--vars", "u", "--rho", "0.2"]
    built = cli.build_optimizer(parser.parse_args(base + ["--optimizer", "multistepsam", "--steps-ascent", "3",
                                                          "--alpha", "0.05"]))
    assert built == dynamics.MultiStepSAM(0.1, 0.2, steps_ascent=3, alpha=0.05)
    built = cli.build_optimizer(parser.parse_args(base + ["--optimizer", "asam", "--eta-a", "0.0"]))
    assert built == dynamics.ASAM(0.1, 0.2, eta_a=0.0)
    built = cli.build_optimizer(parser.parse_args(base + ["--optimizer", "unifiedsam", "--lam-u", "0.25"]))
    assert built == dynamics.UnifiedSAM(0.1, 0.2, lam_u=0.25)
    assert cli.main(base + ["--optimizer", "sam", "--eta-a", "0.1"]) == 2
    assert "--eta-a applies to asam, not to --optimizer sam" in capsys.readouterr().err
    assert cli.main(base + ["--optimizer", "multistepusam", "--steps-ascent", "0"]) == 2
    assert "steps_ascent must be a positive integer, got 0" in capsys.readouterr().err


def test_every_hyperparameter_of_every_optimizer_has_a_flag_whose_help_says_what_it_is_and_for_which_kinds():
    """The flags beyond --lr, --rho and --batch-size are read off the registered classes: each field of each class
    has one, and its help holds the class's own sentence after the kinds that take it (alpha is a step size in
    multistepsam and a weight in gsam and gnp: each meaning is named with its kinds)."""
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["simulate"]
    helps = {flag: action.help for action in sub._actions for flag in action.option_strings}
    for name, takers in dynamics.other_hyperparameters().items():
        text = helps["--" + name.replace("_", "-")]
        for kind, hyper in takers:
            named = text.split(hyper.help)[0]
            everyone = named.startswith("every optimizer") and kind not in named
            assert hyper.help in text and (kind in named or everyone), (name, kind)
    # MSAM's momentum also steers its ascent: the one class named apart from the common meaning
    assert helps["--momentum"].startswith("every optimizer but msam: heavy-ball momentum in [0, 1)")
    assert "; msam: MSAM's momentum" in helps["--momentum"]
    assert helps["--alpha"].startswith("multistepsam: size of each normalized ascent step")
    assert "; gsam: GSAM's weight" in helps["--alpha"] and "; gnp: GNP's weight" in helps["--alpha"]


def test_momentum_and_nesterov_are_flags_of_every_optimizer(capsys):
    """--momentum 0.9 and --nesterov build every plain optimizer with Nesterov momentum; the command runs one with
    momentum (its summary names it); a bad momentum gets the class's one sentence."""
    parser = cli.build_parser()
    for kind in dynamics.plain_kinds():
        batch = ["--batch-size", "1"] if kind == "sgd" else []
        args = parser.parse_args(["simulate", "--optimizer", kind, *batch, "--momentum", "0.9", "--nesterov"])
        built = cli.build_optimizer(args)
        assert (built.kind, built.momentum, built.nesterov) == (kind, 0.9, True)
    base = ["simulate", "--expr", "u**2", "--vars", "u", "--starts", "point:1", "--seed", "0", "--steps", "30",
            "--lr", "0.1", "--backend", "numpy"]
    assert cli.main(base + ["--optimizer", "gd", "--momentum", "0.5"]) == 0
    assert "GD(lr=0.1, momentum=0.5)" in capsys.readouterr().out
    assert cli.main(base + ["--optimizer", "sam", "--momentum", "1"]) == 2
    assert "momentum must be in [0, 1)" in capsys.readouterr().err
