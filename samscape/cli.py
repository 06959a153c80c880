"""The ``samscape`` command: ``list``, ``simulate`` (and the commands that later parts add).

Each command is a function ``_cmd_NAME(args) -> int`` registered in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import warnings

import numpy as np

from . import dynamics, landscapes
from ._atomic import check_writable
from ._checks import int_at_least
from ._landscape_flags import add_landscape_flags, build_landscape, format_param
from ._optimizer_flags import add_optimizer_flags, refuse_flags_not_taken
from ._starts import parse_starts  # the --starts grammar, shared with `samscape sweep`
from .sweep import cli as sweep_cli
from ._tables import text_table
from .explore import cli as explore_cli

class UsageError(ValueError):
    """Bad command-line input; printed as one line, exit code 2."""


def build_optimizer(args) -> dynamics.Optimizer:
    """The optimizer the flags describe (:func:`samscape.dynamics.optimizer_from_kind`); a flag that the chosen
    optimizer does not take is refused, naming the ones that take it."""
    name = args.optimizer
    others = list(dynamics.other_hyperparameters())
    refuse_flags_not_taken(args, name, ["rho", "batch_size", *others])
    extras = {key: getattr(args, key, None) for key in others}
    return dynamics.optimizer_from_kind(name, args.lr, rho=args.rho, batch_size=args.batch_size, **extras)


def default_every(steps: int) -> int:
    """The stride ``simulate`` saves at without ``--every``: every step up to 100 steps, else the odd number at
    or just above ``steps / 100`` (about 100 saved iterates). Odd so that a period-2 cycle, SAM bouncing across
    a valley, shows as alternating saved iterates: an even stride samples one side only and looks parked."""
    if steps <= 100:
        return 1
    stride = -(-steps // 100)
    return stride if stride % 2 else stride + 1


def _params_text(params: dict) -> str:
    return "  ".join(f"{key}={format_param(value)}" for key, value in params.items()) or "-"


def _points_text(points: np.ndarray) -> str:
    if len(points) == 0:
        return "-"
    shown = "; ".join(",".join(f"{v:.4g}" for v in p) for p in points[:6])
    return shown + (f"; ... ({len(points)} points)" if len(points) > 6 else "")


WIDTH = 100  # columns of the command's tables and descriptions: a terminal of 100 or more shows them unwrapped


def _field(label: str, text: str, indent: int = 13) -> str:
    """``label`` padded to ``indent`` columns, then ``text`` wrapped to :data:`WIDTH` under itself."""
    import textwrap

    return textwrap.fill(text, WIDTH, initial_indent=label.ljust(indent), subsequent_indent=" " * indent,
                         break_on_hyphens=False)


def _describe_entry(name: str) -> str:
    """`samscape list NAME`: one catalog entry with everything a user needs to run it."""
    info = landscapes.describe(name)
    land = landscapes.get(name)
    window = "  ".join(f"{var} in [{lo:g}, {hi:g}]" for var, (lo, hi) in zip(land.variables, land.window))
    lines = [
        _field(f"{name}:", info["description"], len(name) + 2),
        _field("source:", info["source"] or "-"),
        _field("variables:", f"{', '.join(land.variables)} (dim {land.dim})"),
        _field("parameters:", f"{_params_text(info['params'])}   (set with --param K=V; a one-element list is K=V,)"),
        _field("loss:", str(land.expr) + (f"   (data columns: {', '.join(sorted(land.samples))})"
                                          if land.samples else "")),
        _field("window:", f"{window}   (random starts are drawn here)"),
        _field("minimizers:", _points_text(land.minimizers)),
        _field("maximizers:", _points_text(land.maximizers)),
    ]
    if land.notes:
        lines.append(_field("notes:", land.notes))
    return "\n".join(lines)


def _cmd_list(args) -> int:
    if args.name is not None:
        print(_describe_entry(args.name))
        return 0
    rows = [
        {"landscape": name, "dim": info["dim"], "parameters (defaults)": _params_text(info["params"])}
        for name in landscapes.names()
        for info in [landscapes.describe(name)]
    ]
    # two lines per landscape: the description, indented, under its name (beside it the table would be 216 wide)
    table = text_table(rows).splitlines()
    print(table[0] + "\n" + _field("", "description", 4) + "\n" + table[1])
    for line, name in zip(table[2:], landscapes.names()):
        print(line)
        print(_field("", landscapes.describe(name)["description"], 4))
    print()
    registry = dynamics.OPTIMIZERS
    plain = ", ".join(f"{kind} ({cls.__name__}{', --batch-size' if cls.batch_rule() == 'required' else ''})"
                      for kind, cls in ((kind, registry[kind]) for kind in dynamics.plain_kinds()))
    composite = ", ".join(f"{cls.__name__}({', '.join(f.name for f in dataclasses.fields(cls))})"
                          for cls in registry.values() if cls.composite())
    print(_field("optimizers:", f"{plain}; Python API adds {composite}", 12))
    print(_field("", "`samscape list NAME` describes one landscape: source, parameters, window, known minimizers",
                 0))
    return 0


def _cmd_simulate(args) -> int:
    if args.seed is not None:
        int_at_least(args.seed, "--seed", 0)
    if args.out is not None:  # before a long run, not after it; an empty --out is a mistake, not "don't save"
        if not args.out.endswith(".npz"):
            raise UsageError(f"--out must be a path ending in .npz, got {args.out!r}")
        check_writable(args.out)
    land = build_landscape(args)
    optimizer = build_optimizer(args)
    seed = dynamics.fresh_seed() if args.seed is None else args.seed  # one seed for random starts and batches
    starts = parse_starts(args.starts, land, seed=seed)
    every = default_every(args.steps) if args.every is None else args.every
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # a run that will take over a minute says so early; Ctrl-C then ends it with the steps done so far
        run = dynamics.simulate(land, optimizer, starts, args.steps, every=every, seed=seed, bound=args.bound,
                                backend=args.backend, dtype=args.dtype, progress=None, on_interrupt="return")
    for warning in caught:  # one line each, in the command's voice, not Python's file:line form
        print(f"samscape simulate: warning: {warning.message}", file=sys.stderr)
    print(run.summary())
    if args.out is not None:
        path = run.save(args.out)
        print(f"saved {path} (seed {run.seed}); reload with samscape.dynamics.load_run")
    if run.interrupted:
        kept = f"; {args.out} holds them" if args.out is not None else " (give --out to keep them)"
        print(f"samscape simulate: interrupted after {int(run.steps[-1]):,} of {args.steps:,} steps{kept}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


class _Help(argparse.HelpFormatter):
    """Every option's help ends with its default (unless the help already says it, or there is none to show);
    `samscape check --help` lists the claim names after --only's help (the theory, seconds to import, loads only
    when that help is shown)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "--only" in action.option_strings:
            from . import theory

            text = f"{text}: {', '.join(theory.claim_names())}"
        shown = action.default not in (None, False, [], argparse.SUPPRESS)
        if shown and action.option_strings and "default" not in text:
            text += " (default: %(default)s)"
        return text


class _Parser(argparse.ArgumentParser):
    """The parser of every subcommand: help with defaults (see :class:`_Help`)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Help)
        super().__init__(*args, **kwargs)


def _cmd_check(args) -> int:
    """Run the papers' claims against simulation; exit 1 if any fails."""
    import json

    from . import theory  # SymPy/SciPy heavy: loaded only for this command

    if args.list:
        print(theory.claims.listing())
        return 0
    results = theory.check(theory.claims.select(args.only, args.paper))
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        print(theory.format_table(results, width=WIDTH))
    return 0 if all(r.passed for r in results) else 1


def _cmd_demo(args) -> int:
    """Render the gallery (figures, a GIF, index.html with captions and the check table) into --out."""
    from . import gallery  # matplotlib and the theory load only for this command

    gallery.build(args.out, quick=args.quick, slides=args.slides)
    return 0


PLOT_KINDS = ("auto", "trajectories", "basins", "loss", "grad_norm", "sharpness", "valley", "animate", "phase")
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def plot_figure(run, kind: str, starts=None):
    """The figure `samscape plot --kind KIND` writes for a still picture (every kind but ``animate``)."""
    from . import plots, theory  # the basin map draws theory.classify_fates

    if kind == "trajectories":
        return plots.trajectories(run, starts=starts).figure
    if kind == "basins":
        return plots.basins(run, theory.classify_fates(run)).figure
    if kind == "valley":
        return plots.valley(run.landscape, run, kind="series", starts=starts, steps=int(run.steps[-1])).figure
    ax = plots.curves(run, kind, starts=starts)
    # an optimizer's description can be wider than a column-sized Axes: below the plot it never covers data
    plots.legend_below(ax)
    return ax.figure


def _cmd_plot(args) -> int:
    """Draw a run saved by `samscape simulate --out RUN.npz` into one figure (or a GIF for --kind animate)."""
    import os

    from . import plots

    if args.kind == "phase" or os.path.isdir(args.run):  # a sweep store (a zarr folder)
        return sweep_cli.plot_store(args)
    if not os.path.isfile(args.run):
        raise UsageError(f"RUN must be an existing .npz written by `samscape simulate --out`, got {args.run!r}")
    kind = args.kind
    suffix = os.path.splitext(args.out)[1].lower()
    allowed = (".gif",) if kind == "animate" else FIGURE_SUFFIXES
    if suffix not in allowed:
        raise UsageError(f"--out must end in {' or '.join(allowed)} for --kind {kind}, got {args.out!r}")
    check_writable(args.out)
    run = dynamics.load_run(args.run)
    land = run.landscape
    if kind == "auto":
        if land.dim == 1:
            kind = "valley" if "b" in land.params else "trajectories"
        else:
            kind = "trajectories" if run.n_starts <= 50 else "basins"
    if args.starts is not None and not 1 <= args.starts <= run.n_starts:
        raise UsageError(f"--starts must be a count from 1 to {run.n_starts} (the run's starts), got {args.starts}")
    if kind == "basins" and args.starts is not None:
        raise UsageError("--starts does not apply to --kind basins, which colours every start")
    with plots.detached():  # a file is the only output: no pyplot window, nothing left open
        if kind == "animate":
            path = plots.animate(run, args.out, starts=args.starts)
        else:
            path = plots.save(plot_figure(run, kind, args.starts), args.out)
    stopped = f", interrupted after {int(run.steps[-1]):,} of {run.requested_steps:,} steps" if run.interrupted else ""
    print(f"wrote {path} ({kind} of {run.optimizer.describe()} on {land.name}, {run.n_starts} starts{stopped})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="samscape", description="Optimizer dynamics on analytic loss landscapes.")
    parser.add_argument("--version", action="version", version=f"samscape {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("list", help="list the landscapes of the catalog (with their parameters) and the optimizers")
    p.add_argument("name", nargs="?", metavar="NAME",
                   help="describe one landscape: source, parameters, variables, window, known minimizers")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("simulate", help="run one optimizer from many starts and print a summary")
    add_landscape_flags(p)
    p.add_argument("--optimizer", choices=dynamics.plain_kinds(), default="sam", help="the update rule")
    p.add_argument("--lr", type=float, default=0.1, help="learning rate (step size)")
    p.add_argument("--rho", type=float, default=None, help=f"perturbation radius (SAM variants; default {dynamics.DEFAULT_RHO})")
    p.add_argument("--batch-size", type=int, default=None,
                   help="samples per stochastic gradient, drawn with replacement (default: 1 for sgd, the full "
                        "batch for the SAM variants)")
    add_optimizer_flags(p)
    p.add_argument("--steps", type=int, default=1000, help="number of optimizer steps")
    p.add_argument("--every", type=int, default=None, metavar="N",
                   help="keep every N-th iterate, plus step 0 and the last (default: every step up to 100 steps, "
                        "else the odd N nearest above steps/100; an even N hides a period-2 cycle)")
    p.add_argument("--starts", default="random:16", help="point:2.5,0.001 | grid:umin:umax:vmin:vmax:NxM | random:N")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of random starts and batches (default: a fresh seed, printed and saved)")
    p.add_argument("--bound", type=float, default=dynamics.DEFAULT_BOUND,
                   help="a start leaving ||x|| <= bound is frozen as diverged (default %(default)g)")
    p.add_argument("--backend", choices=dynamics.BACKEND_CHOICES, default="auto",
                   help="numpy (reference), compiled (numba) or auto (compiled when the run is long enough)")
    p.add_argument("--dtype", choices=dynamics.DTYPES, default="float64", help="precision of the iterates")
    p.add_argument("--out", metavar="RUN.npz", help="write the run to this .npz (default: not saved)")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser("check", help="check the SAM papers' claims against simulation (exit 1 if any fails)")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="run only this claim (repeatable; default: all), one of")
    p.add_argument("--paper", action="append", default=[], metavar="SLUG",
                   help="run the claims citing this paper, by slug such as long2024 or wen2023, or P1-P3 "
                        "(repeatable; combines with --only; --list shows them all)")
    p.add_argument("--list", action="store_true", help="list the papers and their claims without running them")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("demo", help="render the gallery of figures and index.html (the main job)")
    p.add_argument("--out", default="samscape-out", metavar="DIR", help="output directory (default: samscape-out)")
    p.add_argument("--quick", action="store_true", help="smaller grids and runs: under a minute")
    p.add_argument("--slides", action="store_true",
                   help="draw for a projector: larger text, lines and markers, the same pixel size")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("plot", help="draw a run saved with `samscape simulate --out RUN.npz`, or the phase diagram "
                                    "of a sweep store written by `samscape sweep --out STORE.zarr`",
                       description="Draw a run (RUN.npz from `samscape simulate --out`) or a sweep store (STORE.zarr "
                                   "from `samscape sweep --out`: --kind phase, the fate fractions over (eta, rho) "
                                   "with the swept optimizer's stability edge).")
    p.add_argument("run", metavar="RUN.npz|STORE.zarr",
                   help="a run written by `samscape simulate --out RUN.npz`, or a zarr store written by "
                        "`samscape sweep --out STORE.zarr` (drawn with --kind phase)")
    p.add_argument("--kind", choices=PLOT_KINDS, default="auto",
                   help="what to draw (default: auto: trajectories, basins for many starts, valley for a 1-D valley; "
                        "phase for a sweep store)")
    p.add_argument("--starts", type=int, default=None, metavar="K", help="draw only the first K starts (default: all)")
    p.add_argument("--out", required=True, metavar="FIG.png", help="figure to write (.png/.pdf/.svg; .gif for animate)")
    p.set_defaults(func=_cmd_plot)

    sweep_cli.add_parser(sub)
    explore_cli.add_parser(sub)
    return parser


EXIT_INTERRUPTED = 130  # the shell's convention for a command stopped by SIGINT (128 + 2)
EXIT_BROKEN_PIPE = 141  # and for one whose reader closed the pipe (128 + SIGPIPE)


def _silence_stdout() -> None:
    """Point stdout at /dev/null: Python flushes stdout once more at exit, and into the closed pipe that flush would
    print a second "Broken pipe" error."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no real file (a test's capture): nothing to flush at exit
        pass


def main(argv: list[str] | None = None) -> int:
    """Run one command; every expected failure is one line on stderr: bad input or a file that cannot be
    used or read exits 2, running out of memory exits 2, Ctrl-C exits 130."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, where it is handled, not at exit
        return code
    except ValueError as err:  # bad input (a run file names itself in the message): one line, no traceback
        print(f"samscape {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`samscape check --json | head`): stop quietly, like `cat`
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as err:  # a path that cannot be read or written
        where = f" {err.filename!r}" if getattr(err, "filename", None) else ""
        print(f"samscape {args.command}: error: cannot use{where}: {err.strerror or err}", file=sys.stderr)
        return 2
    except MemoryError:
        remedy = ("; save fewer iterates (--every), run fewer starts or use a smaller --batch-size"
                  if args.command == "simulate" else "")
        print(f"samscape {args.command}: error: ran out of memory{remedy}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"samscape {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
