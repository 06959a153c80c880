"""Every per-kind view derives from the optimizer classes: the command lines' choices, the explorer's menu and link
parser, the sweep's flags, the plots' colours and legends, and the theory's per-map formulas. A throwaway
optimizer class defined after samscape is imported, as a user's plugin would be, appears in all of them with no
other change."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, ClassVar

import numpy as np
import pytest

from samscape import cli, dynamics, landscapes, plots, theory
from samscape.dynamics import codegen
from samscape.plots.style import OKABE_ITO, optimizer_color, optimizer_label

KIND = "halfstep_plugin_test"


@pytest.fixture
def plugin():
    """A user's optimizer: gradient descent with the step halved (``shrink``, a hyperparameter of its own), its update
    its own (no kernel knows it), defined after samscape was imported and taken out of the registry afterwards."""

    @dataclasses.dataclass(frozen=True, eq=False)
    class HalfStep(dynamics.Optimizer):
        lr: Any
        shrink: Any = dataclasses.field(default=0.5, kw_only=True)
        kind: ClassVar[str] = KIND
        hyperparameter_help: ClassVar[dict[str, str]] = {"shrink": "the factor of the step (default 0.5)"}

        def update(self, landscape, x, step, noise):
            return x - self.shrink * self.lr * landscape.grad(x)

    yield HalfStep
    del dynamics.OPTIMIZERS[KIND]


def _choices(parser: argparse.ArgumentParser, command: str, flag: str) -> list:
    """The choices that ``samscape COMMAND FLAG`` offers, as argparse holds them."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    return list(next(a for a in sub._actions if flag in a.option_strings).choices)


def _help(parser: argparse.ArgumentParser, command: str, flag: str) -> str:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    return next(a for a in sub._actions if flag in a.option_strings).help


def test_a_plugin_optimizer_is_offered_by_both_command_lines_and_runs_from_the_flags(plugin, capsys):
    """`samscape simulate` and `samscape sweep` offer the new kind beside every registered plain one, and the flags
    build the plugin's optimizer; a run of it reports the class by name."""
    parser = cli.build_parser()
    for command in ("simulate", "sweep"):
        assert _choices(parser, command, "--optimizer") == list(dynamics.plain_kinds())
        assert KIND in _choices(parser, command, "--optimizer")
    args = parser.parse_args(["simulate", "--expr", "u**2", "--vars", "u", "--optimizer", KIND, "--lr", "0.5"])
    assert cli.build_optimizer(args) == plugin(lr=0.5)
    assert cli.main(["simulate", "--expr", "u**2", "--vars", "u", "--optimizer", KIND, "--lr", "0.5", "--steps", "3",
                     "--starts", "point:1", "--backend", "numpy", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "HalfStep(lr=0.5, shrink=0.5)" in out
    # a flag the plugin does not take is refused, naming the kinds that take it
    assert cli.main(["simulate", "--expr", "u**2", "--vars", "u", "--optimizer", KIND, "--rho", "0.1"]) == 2
    assert "--rho applies to sam" in capsys.readouterr().err
    # its own field is a flag of both commands, helped by its sentence, and reaches the optimizer; others refuse it
    for command in ("simulate", "sweep"):
        assert _help(parser, command, "--shrink") == f"{KIND}: the factor of the step (default 0.5)" + (
            "; values in the forms of --lr" if command == "sweep" else "")
    args = parser.parse_args(["simulate", "--expr", "u**2", "--vars", "u", "--optimizer", KIND, "--shrink", "0.25"])
    assert cli.build_optimizer(args) == plugin(lr=0.1, shrink=0.25)
    assert cli.main(["simulate", "--expr", "u**2", "--vars", "u", "--optimizer", "gd", "--shrink", "0.25"]) == 2
    assert f"--shrink applies to {KIND}, not to --optimizer gd" in capsys.readouterr().err


def test_a_plugin_optimizer_is_in_the_explorer_menu_and_its_links(plugin, monkeypatch):
    """The explorer's optimizer menu lists the plugin under its class name, and a link naming it is read back
    (before, a kind missing from a hand-made list was refused as `opt must be one of ...`); its own hyperparameter
    gets a control that changes the run, and goes into the link."""
    pytest.importorskip("panel")
    import importlib

    from samscape.explore import state

    app = importlib.import_module("samscape.explore.app")  # the module (samscape.explore.app is also a function)

    monkeypatch.setattr(app, "warm_kernels", lambda *args, **kwargs: None)  # no background compiles here
    chosen, problems = state.ExplorerState.from_query({"opt": KIND, "eta": "0.5", "steps": "4", "starts": "1,0.5"})
    assert problems == [] and chosen.opt == KIND
    assert state.ExplorerState.from_query({"opt": KIND})[0].to_query()["opt"] == KIND
    explorer = app.Explorer(chosen)
    assert explorer.w_opt.options["HalfStep"] == KIND
    assert isinstance(explorer.outcome.run.optimizer, plugin)
    # its own field has a control and a link parameter, with no list edited
    assert list(explorer.w_hyper) == ["shrink"] and explorer.w_hyper["shrink"].value == 0.5
    explorer.w_hyper["shrink"].value = 0.25
    assert explorer.outcome.run.optimizer == plugin(lr=0.5, shrink=0.25)
    assert state.ExplorerState.from_query(explorer.state.to_query())[0].hyper == {"shrink": 0.25}


def test_a_plugin_optimizer_is_drawn_in_a_colour_of_its_own_and_named_in_the_legend(plugin):
    """Figures draw the plugin in a colour no registered class has (it names none) and name it in the legend."""
    land = landscapes.from_expr("u**2 + v**2", "u,v")
    run = dynamics.simulate(land, plugin(lr=0.2), [[1.0, 0.5]], 5, backend="numpy", seed=0)
    with plots.detached():
        ax = plots.trajectories(run)
        legend = {text.get_text() for text in ax.get_legend().get_texts()}
        path = next(line for line in ax.get_lines() if line.get_label() == "HalfStep(lr=0.2, shrink=0.5)")
    assert legend == {"HalfStep(lr=0.2, shrink=0.5)"}
    others = {optimizer_color(kind) for kind in dynamics.OPTIMIZERS if kind != KIND}
    assert path.get_color() == optimizer_color(KIND) and optimizer_color(KIND) not in others
    assert optimizer_label(KIND) == "HalfStep"


def test_a_plugin_with_its_own_update_runs_on_numpy_never_on_a_kernel_of_another_update(plugin):
    """The kernel generator writes only the updates it knows (a descent after a declared ascent); the plugin's own
    update is refused there, and backend='auto' runs it on NumPy with one warning, so the result is the plugin's
    (half of GD's step), not GD's."""
    land = landscapes.from_expr("u**2", "u")
    with pytest.raises(codegen.UnsupportedLandscape, match=f"no kernel for optimizer kind '{KIND}'"):
        codegen.optimizer_shape(plugin(lr=0.1), False)
    with pytest.warns(RuntimeWarning, match="runs this on NumPy"):
        assert dynamics.resolve_backend("auto", land, plugin(lr=0.1), 10**5, 10**3) == "numpy"
    run = dynamics.simulate(land, plugin(lr=0.25), [[1.0]], 2, backend="numpy", seed=0)
    np.testing.assert_allclose(run.x, [[(1 - 0.25) ** 2]])  # x <- x - 0.5 * lr * 2x per step


def test_every_registered_class_has_its_own_colour_and_label():
    """The colours and labels of every registered class are read off the class and differ from each other."""
    kinds = list(dynamics.OPTIMIZERS)
    assert len({optimizer_color(kind) for kind in kinds}) == len(kinds)
    assert [optimizer_label(kind) for kind in kinds] == [cls.__name__ for cls in dynamics.OPTIMIZERS.values()]
    named = [cls.color for cls in dynamics.OPTIMIZERS.values() if cls.color is not None]
    assert named and all(color in OKABE_ITO for color in named)


def test_every_ascent_has_its_linear_map_and_every_map_its_stability_edge():
    """The theory's per-map table is complete: the ascent of every registered plain class either has a linear map
    (with an edge in the (eta, rho) plane), draws its direction at random, or reads the state the class carries
    (MSAM, LookSAM: no map of x alone); the fixed-map optimizers are exactly those with a map."""
    from samscape.theory import cycles

    for kind in dynamics.plain_kinds():
        cls = dynamics.OPTIMIZERS[kind]
        assert cls.ascent in theory.LINEAR_MAPS or cls.ascent == "random" or cls.reads_state, kind
        assert not (cls.reads_state and cls.ascent in theory.LINEAR_MAPS), kind
    assert set(cycles.EDGES) == {m.name for m in theory.LINEAR_MAPS.values()}
    assert set(theory.fixed_map_optimizers()) == {kind for kind in dynamics.plain_kinds()
                                                  if dynamics.OPTIMIZERS[kind].ascent in theory.LINEAR_MAPS}


@pytest.mark.parametrize("optimizer, expected", [
    (dynamics.GD(0.5), 2 / 0.5),
    (dynamics.SGD(0.5, 2), 2 / 0.5),
    (dynamics.USAM(0.5, 0.2), 4 / (0.5 * (1 + np.sqrt(1 + 8 * 0.2 / 0.5)))),  # root of lr*lam*(1 + rho*lam) = 2
    (dynamics.USAM(0.5, 0.2, batch_size=1), 4 / (0.5 * (1 + np.sqrt(1 + 8 * 0.2 / 0.5)))),
    (dynamics.SAM(0.5, 0.2), None),
    (dynamics.RandomSAM(0.5, 0.2), None),
    (dynamics.PerSampleUSAM(0.5, 0.2), None),
    (dynamics.GD(np.array([0.5, 0.25])), None),
])
def test_the_sharpness_threshold_is_read_off_the_optimizers_map(optimizer, expected):
    """GD's 2/lr for GD and SGD, USAM's edge for USAM with or without batches, none for SAM (it cycles), a random
    or per-sample ascent, or per-start learning rates; the plots draw exactly these."""
    found = theory.sharpness_threshold(optimizer)
    if expected is None:
        assert found is None and plots.runs.thresholds(optimizer) == []
    else:
        assert found[2] == pytest.approx(expected, rel=1e-12)
        assert plots.runs.thresholds(optimizer) == [(found[0], found[2])]
