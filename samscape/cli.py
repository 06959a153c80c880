"""The ``samscape`` command: ``list``, ``simulate`` (and the commands that later parts add).

Each command is a function ``_cmd_NAME(args) -> int`` registered in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from . import dynamics, landscapes
from ._atomic import check_writable
from ._starts import parse_starts  # the --starts grammar, shared with `samscape sweep`
from .sweep import cli as sweep_cli

# every optimizer but Switch, which composes two of them and has no single-flag form
OPTIMIZER_CHOICES = tuple(kind for kind in dynamics.optimizers.OPTIMIZERS if kind != "switch")


class UsageError(ValueError):
    """Bad command-line input; printed as one line, exit code 2."""


def parse_param(text: str) -> tuple[str, object]:
    """``k=v`` -> (k, value) where value is a float, an int, or a comma-separated tuple of floats."""
    if "=" not in text:
        raise UsageError(f"--param must look like name=value, got {text!r}")
    key, raw = text.split("=", 1)
    key, raw = key.strip(), raw.strip()
    try:
        if "," in raw:
            return key, tuple(float(v) for v in raw.split(",") if v.strip())
        number = float(raw)
        return key, int(number) if number.is_integer() and "." not in raw and "e" not in raw.lower() else number
    except ValueError:
        raise UsageError(f"--param {key} must be a number or comma-separated numbers, got {raw!r}") from None


DEFAULT_RHO = 0.05


def build_optimizer(args) -> dynamics.Optimizer:
    name = args.optimizer
    if name in ("gd", "sgd") and args.rho is not None:
        raise UsageError(f"--rho applies to sam, usam and randomsam, not to --optimizer {name}")
    if name == "gd":
        if args.batch_size is not None:
            raise UsageError("--batch-size applies to sgd and the SAM variants; gd always uses the full batch")
        return dynamics.GD(args.lr)
    if name == "sgd":
        return dynamics.SGD(args.lr, args.batch_size if args.batch_size is not None else 1)
    cls = dynamics.optimizers.OPTIMIZERS[name]
    return cls(args.lr, DEFAULT_RHO if args.rho is None else args.rho, batch_size=args.batch_size)


def build_landscape(args):
    if args.expr is not None:
        if args.landscape is not None:
            raise UsageError("give either --landscape NAME or --expr EXPR, not both")
        if not args.vars:
            raise UsageError("--expr needs --vars, e.g. --vars u,v")
        samples = {}
        for item in args.sample:
            key, values = parse_param(item)
            samples[key] = values if isinstance(values, tuple) else (values,)
        return landscapes.from_expr(args.expr, args.vars, samples=samples or None)
    if args.sample:
        raise UsageError("--sample goes with --expr; catalog landscapes take their data through --param")
    if args.landscape is None:
        raise UsageError("give --landscape NAME (see `samscape list`) or --expr EXPR --vars u,v")
    params = dict(parse_param(p) for p in args.param)
    return landscapes.get(args.landscape, **params)


def summary_table(rows: list[dict]) -> str:
    """A plain-text table from a list of dicts with the same keys."""
    if not rows:
        return "(nothing to show)"
    keys = list(rows[0])
    cells = [[str(r[k]) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths)).rstrip()
    return "\n".join([line(keys), line(["-" * w for w in widths]), *(line(c) for c in cells)])


def run_summary(run) -> dict:
    """Final loss, gradient norm and status counts of a run, as one table row."""
    final_loss = run.loss[-1]
    grad = run.grad_norm()[-1]
    ok = run.status == "ok"
    counts = run.status_counts()

    def stat(values):
        values = values[ok & np.isfinite(values)]
        if values.size == 0:
            return "-"
        return f"{np.median(values):.3e}" if values.size > 1 else f"{values[0]:.3e}"

    return {
        "optimizer": run.optimizer.describe(),
        "starts": run.n_starts,
        "steps": int(run.steps[-1]),
        "final loss (median)": stat(final_loss),
        "grad norm (median)": stat(grad),
        "ok": counts["ok"],
        "diverged": counts["diverged"],
        "nonfinite": counts["nonfinite"],
    }


def _cmd_list(args) -> int:
    rows = [
        {"landscape": name, "dim": info["dim"], "description": info["description"]}
        for name in landscapes.names()
        for info in [landscapes.describe(name)]
    ]
    print(summary_table(rows))
    print()
    print("optimizers: gd (GD), sgd (SGD, --batch-size), sam (SAM), usam (USAM), randomsam (RandomSAM); "
          "Python API adds Switch(first, second, at)")
    return 0


def _cmd_simulate(args) -> int:
    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed must be an integer >= 0, got {args.seed}")
    if args.out is not None:  # before a long run, not after it; an empty --out is a mistake, not "don't save"
        if not args.out.endswith(".npz"):
            raise UsageError(f"--out must be a path ending in .npz, got {args.out!r}")
        check_writable(args.out)
    land = build_landscape(args)
    optimizer = build_optimizer(args)
    seed = dynamics.fresh_seed() if args.seed is None else args.seed  # one seed for random starts and batches
    starts = parse_starts(args.starts, land, seed=seed)
    run = dynamics.simulate(land, optimizer, starts, args.steps, every=args.every, seed=seed, bound=args.bound,
                            backend=args.backend, dtype=args.dtype, progress=None)
    formula = land.loss_expr if land.n_samples == 1 else f"mean over {land.n_samples} samples of {land.expr}"
    print(f"landscape: {land.name}  ({formula})")
    print(f"seed: {run.seed}   backend: {run.backend}   dtype: {run.xs.dtype.name}")
    print(summary_table([run_summary(run)]))
    if args.out is not None:
        path = run.save(args.out)
        print(f"saved {path} (seed {run.seed}); reload with samscape.dynamics.load_run")
    return 0


class _ClaimNamesHelp(argparse.HelpFormatter):
    """`samscape check --help` lists the claim names after --only's help; the theory, seconds to import, loads
    only when the help is shown."""

    def _get_help_string(self, action):
        if "--only" not in action.option_strings:
            return action.help
        from . import theory

        return f"{action.help}: {', '.join(theory.claim_names())}"


def _cmd_check(args) -> int:
    """Run the papers' claims against simulation; exit 1 if any fails."""
    import json

    from . import theory  # SymPy/SciPy heavy: loaded only for this command

    results = theory.check(args.only or None)
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        print(theory.format_table(results))
    return 0 if all(r.passed for r in results) else 1


def _cmd_demo(args) -> int:
    """Render the gallery (figures, a GIF, index.html with captions and the check table) into --out."""
    from . import gallery  # matplotlib and the theory load only for this command

    gallery.build(args.out, quick=args.quick)
    return 0


PLOT_KINDS = ("auto", "trajectories", "basins", "loss", "grad_norm", "sharpness", "valley", "animate", "phase")
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def _cmd_plot(args) -> int:
    """Draw a run saved by `samscape simulate --out RUN.npz` into one figure (or a GIF for --kind animate)."""
    import os

    from . import plots, theory  # the basin map draws theory.classify_fates

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
    if kind == "animate":
        path = plots.animate(run, args.out, starts=args.starts)
    else:
        if kind == "trajectories":
            ax = plots.trajectories(run, starts=args.starts)
        elif kind == "basins":
            if args.starts is not None:
                raise UsageError("--starts does not apply to --kind basins, which colours every start")
            ax = plots.basins(run, theory.classify_fates(run))
        elif kind == "valley":
            ax = plots.valley(land, run, kind="series", starts=args.starts, steps=int(run.steps[-1]))
        else:
            ax = plots.curves(run, kind, starts=args.starts)
        path = plots.save(ax.figure, args.out)
    print(f"wrote {path} ({kind} of {run.optimizer.describe()} on {land.name}, {run.n_starts} starts)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="samscape", description="Optimizer dynamics on analytic loss landscapes.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list the landscapes of the catalog and the optimizers")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("simulate", help="run one optimizer from many starts and print a summary")
    p.add_argument("--landscape", help="catalog name (see `samscape list`)")
    p.add_argument("--param", action="append", default=[], metavar="K=V",
                   help="catalog parameter, repeatable; a list is comma-separated (xs=0.6,1.0; one element: xs=2,)")
    p.add_argument("--expr", help="a loss expression, e.g. '0.5*tanh(v*tanh(u))**2'")
    p.add_argument("--vars", help="its variables, comma-separated, e.g. u,v")
    p.add_argument("--sample", action="append", default=[], metavar="NAME=V1,V2,...",
                   help="a data column of --expr (repeatable): the loss is the mean over the rows")
    p.add_argument("--optimizer", choices=OPTIMIZER_CHOICES, default="sam")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--rho", type=float, default=None, help=f"perturbation radius (SAM variants; default {DEFAULT_RHO})")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--starts", default="random:16", help="point:2.5,0.001 | grid:umin:umax:vmin:vmax:NxM | random:N")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--bound", type=float, default=dynamics.integrate.DEFAULT_BOUND,
                   help="a start leaving ||x|| <= bound is frozen as diverged (default %(default)g)")
    p.add_argument("--backend", choices=("auto", *sorted(dynamics.BACKENDS)), default="auto")
    p.add_argument("--dtype", choices=dynamics.integrate.DTYPES, default="float64")
    p.add_argument("--out", help="write the run to this .npz")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser("check", help="check the SAM papers' claims against simulation (exit 1 if any fails)",
                       formatter_class=_ClaimNamesHelp)
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="run only this claim (repeatable), one of")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("demo", help="render the gallery of figures and index.html (the main job)")
    p.add_argument("--out", default="samscape-out", metavar="DIR", help="output directory (default: samscape-out)")
    p.add_argument("--quick", action="store_true", help="smaller grids and runs: under a minute")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("plot", help="draw a run saved with `samscape simulate --out RUN.npz`")
    p.add_argument("run", metavar="RUN.npz")
    p.add_argument("--kind", choices=PLOT_KINDS, default="auto",
                   help="what to draw (default: trajectories, basins for many starts, valley for a 1-D valley)")
    p.add_argument("--starts", type=int, default=None, metavar="K", help="draw only the first K starts")
    p.add_argument("--out", required=True, metavar="FIG.png", help="figure to write (.png/.pdf/.svg; .gif for animate)")
    p.set_defaults(func=_cmd_plot)

    sweep_cli.add_parser(sub)
    return parser


EXIT_INTERRUPTED = 130  # the shell's convention for a command stopped by SIGINT (128 + 2)


def main(argv: list[str] | None = None) -> int:
    """Run one command; every expected failure is one line on stderr: bad input or a file that cannot be
    used or read exits 2, running out of memory exits 2, Ctrl-C exits 130."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:  # bad input (a run file names itself in the message): one line, no traceback
        print(f"samscape {args.command}: error: {err}", file=sys.stderr)
        return 2
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
