"""``samscape sweep`` and ``samscape plot STORE.zarr --kind phase``: the sweep's part of the command line.

:func:`add_parser` registers the subcommand on the main parser; :func:`plot_store` is what ``samscape plot`` calls
for a sweep store. Dask, xarray and matplotlib load only when a command runs.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from .._checks import int_at_least
from .._landscape_flags import add_landscape_flags, build_landscape
from .._optimizer_flags import add_optimizer_flags, refuse_flags_not_taken
from ..dynamics import (BACKEND_CHOICES, DEFAULT_BOUND, DTYPES, OPTIMIZERS, hyperparameters, other_hyperparameters,
                        plain_kinds)


def parse_values(text: str, flag: str, *, integer: bool = False) -> list:
    """A comma-separated list of numbers and ranges ``A:B:N`` (N values from A to B, both included) -> a list of
    numbers, e.g. ``0.1:0.5:3,0.7`` -> [0.1, 0.3, 0.5, 0.7] (so a store's range can be extended by appending)."""
    values = []
    try:
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            if ":" in item:
                low, high, count = item.split(":")
                n = int(count)
                if n < 1:
                    raise ValueError
                values += np.linspace(float(low), float(high), n).tolist()
            else:
                values.append(float(item))
    except ValueError:
        raise ValueError(f"{flag} must be START:STOP:COUNT (e.g. 0.05:2.5:64), one number, or a comma-separated "
                         f"list of both, got {text!r}") from None
    if not values:
        raise ValueError(f"{flag} must give at least one value, got {text!r}")
    if integer:
        if any(v != int(v) for v in values):
            raise ValueError(f"{flag} must give integers, got {text!r}")
        values = [int(v) for v in values]
    return values


def build_grid(args) -> dict:
    """The grid of ``samscape sweep``'s flags: every given hyperparameter (a dim of the store even with one value;
    a switch such as ``--nesterov`` is the one value True), and ``seed`` for ``--seeds N``."""
    grid = {}
    if args.lr is not None:
        grid["lr"] = parse_values(args.lr, "--lr")
    if args.rho is not None:
        grid["rho"] = parse_values(args.rho, "--rho")
    if args.batch_size is not None:
        grid["batch_size"] = parse_values(args.batch_size, "--batch-size", integer=True)
    for name, takers in other_hyperparameters().items():
        hyper, value = takers[0][1], getattr(args, name, None)
        if value is not None:
            grid[name] = [True] if hyper.type is bool else parse_values(value, hyper.flag, integer=hyper.type is int)
    if args.seeds is not None:
        grid["seed"] = range(int_at_least(args.seeds, "--seeds", 1))
    return grid


SWEEP_MODULES = ("dask", "distributed", "xarray", "zarr")  # what the `sweep` extra installs


def needs_sweep_extra(command: str):
    """A ``with`` block that turns a missing Dask, xarray or zarr into one sentence naming the extra to install
    (as ``samscape explore`` does for its own), instead of a ``ModuleNotFoundError`` traceback."""
    import contextlib

    @contextlib.contextmanager
    def guard():
        try:
            yield
        except ModuleNotFoundError as err:
            if (err.name or "").split(".")[0] not in SWEEP_MODULES:
                raise
            raise ValueError(f"{command} needs {err.name.split('.')[0]}, which is not installed: "
                             "pip install 'samscape[sweep]' (Dask, xarray and zarr)") from None

    return guard()


# After Ctrl-C the cluster kills workers in the middle of a block, and multiprocessing's resource tracker (a
# process of its own, started with this interpreter's warning options) then removes the semaphores they held and
# warns about each; the removal is the tracker doing its job, not a leak for the user to act on.
TRACKER_QUIET = "ignore:resource_tracker:UserWarning"


def _cmd_sweep(args) -> int:
    from . import engine

    if TRACKER_QUIET not in sys.warnoptions:
        sys.warnoptions.append(TRACKER_QUIET)
    with needs_sweep_extra("samscape sweep"):
        try:
            return _sweep(args)
        except engine.SweepInterrupted as stop:  # Ctrl-C: where it got to and how to go on, in one line
            print(f"samscape sweep: interrupted: {stop}", file=sys.stderr, flush=True)
            return 130


def _sweep(args) -> int:
    from . import engine

    if not args.out.rstrip("/").endswith(".zarr"):
        raise ValueError(f"--out must be a path ending in .zarr, got {args.out!r}")
    land = build_landscape(args)
    cls = OPTIMIZERS[args.optimizer]
    refuse_flags_not_taken(args, args.optimizer, ["rho", "batch_size", *other_hyperparameters()])
    grid = build_grid(args)
    for name, hyper in hyperparameters(cls).items():
        if hyper.required and name not in grid:
            raise ValueError(f"{hyper.flag} is required for --optimizer {args.optimizer}")
    client = args.scheduler
    before = _stored_sizes(args.out)
    ds = engine.run(land, cls, starts=args.starts, steps=args.steps, grid=grid, store=args.out, client=client,
                    every=args.every, seed=args.seed, bound=args.bound, dtype=args.dtype, backend=args.backend,
                    n_workers=args.workers, block_points=args.block_points, progress=None)
    totals = engine.fractions(ds, over=tuple(ds["fate"].dims)).values
    names = ds["fate"].attrs["flag_meanings"].split()
    shares = ", ".join(f"{name} {100 * share:.1f}%" for name, share in zip(names, totals) if share > 0)
    dims = " x ".join(f"{d} {n}" for d, n in ds["fate"].sizes.items())
    added = {name: ds[name].values[n:].tolist() for name, n in (before or {}).items() if ds.sizes[name] > n}
    if added:
        new = "; ".join(f"{name} {', '.join(f'{v:g}' for v in values)}" for name, values in added.items())
        print(f"extended {args.out} with new values: {new} (the stored ones were kept, not recomputed)")
    print(f"wrote {args.out} ({dims}); fates: {shares}")
    # the phase diagram draws one (lr, rho) plane: offered only for a store that is one
    plane = {"lr", "rho"} <= set(ds.sizes) and all(n == 1 for d, n in ds["fate"].sizes.items()
                                                    if d not in ("lr", "rho", "seed", "start"))
    draw = f"; draw it with samscape plot {args.out} --kind phase --out phase.png" if plane else ""
    print(f"open it with samscape.sweep.open({args.out!r}) or xarray.open_zarr{draw}")
    return 0


def _stored_sizes(out: str) -> dict[str, int] | None:
    """The size of each swept dim of the store at ``out`` before this run (None when there is none yet)."""
    from . import engine

    path = os.path.abspath(out)
    if not os.path.exists(path):
        return None
    recipe = engine.read_recipe(path)
    return {name: len(recipe["grid"][name]) for name in recipe["_dims"]}


def add_parser(subparsers) -> None:
    """Register ``samscape sweep`` on the main parser's subcommands."""
    p = subparsers.add_parser("sweep", help="run one optimizer over a grid of its hyperparameters (lr, rho, a "
                                            "variant's own, momentum, ...) x seeds x starts on Dask, into an "
                                            "xarray/zarr store (resumable)")
    add_landscape_flags(p)
    p.add_argument("--optimizer", choices=plain_kinds(), default="sam", help="the optimizer every block runs")
    p.add_argument("--lr", metavar="A:B:N", help="learning rates: N values from A to B, a,b,c, one value, or a "
                                                 "list mixing both (A:B:N,c,d appends c, d to a store's range)")
    p.add_argument("--rho", metavar="A:B:N", help="perturbation radii (SAM variants), same forms as --lr")
    p.add_argument("--batch-size", metavar="B1,B2", help="batch sizes (integers), same forms as --lr")
    add_optimizer_flags(p, grid=True)
    p.add_argument("--seeds", type=int, default=None, metavar="N", help="sweep the seeds 0..N-1 (a dim of the result)")
    p.add_argument("--seed", type=int, default=0, help="the seed when --seeds is not given")
    p.add_argument("--starts", default="random:16", help="point:2.5,0.001 | grid:umin:umax:vmin:vmax:NxM | random:N (the same starts for every combination)")
    p.add_argument("--steps", type=int, default=1000, help="steps of every run")
    p.add_argument("--every", type=int, default=None, help="also keep the iterates every K steps")
    p.add_argument("--bound", type=float, default=DEFAULT_BOUND,
                   help="a start leaving ||x|| <= bound is frozen as diverged (default %(default)g)")
    p.add_argument("--backend", choices=BACKEND_CHOICES, default="auto", help="how each block is simulated (see samscape simulate --help)")
    p.add_argument("--dtype", choices=DTYPES, default="float64", help="precision of the iterates")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="a running Dask scheduler (tcp://host:8786), or 'synchronous' to run in this process; "
                        "default: a local cluster of worker processes")
    p.add_argument("--block-points", type=int, default=None, metavar="P",
                   help="points (combinations x starts) per task; default: about 2^28 point-steps per task")
    p.add_argument("--workers", type=int, default=None, help="worker processes of the local cluster (default: cores)")
    p.add_argument("--out", required=True, metavar="STORE.zarr", help="the zarr store; an unfinished one is resumed, and one whose "
                        "values the run's start with is extended by the values after them")
    p.set_defaults(func=_cmd_sweep)


def edge_minimizer(ds, landscape) -> tuple[np.ndarray | None, str | None]:
    """The minimizer whose stability edge a phase diagram draws, and where it comes from.

    The sharpest isolated minimizer the landscape records, when it records any (it goes unstable first as ``lr``
    grows); otherwise the points where the runs at the smallest ``lr`` ended at a true minimizer, polished onto
    ``grad L = 0`` by :func:`samscape.theory.polish_minimizer`: the sharpest one with a positive definite Hessian,
    or, when they all lie on a manifold of minimizers, the one of median curvature.
    """
    from .. import theory
    from . import engine

    minimizers = np.asarray(getattr(landscape, "minimizers", np.zeros((0, landscape.dim)))).reshape(-1, landscape.dim)
    if len(minimizers):
        lam = engine.lambda_max(landscape, minimizers)
        if np.nanmax(lam) > 0:
            best = minimizers[int(np.nanargmax(lam))]
            return best, f"sharpest recorded minimizer {_point_text(best)}"
    names = ds["fate"].attrs["flag_meanings"].split()
    first = ds.isel(lr=int(np.argmin(ds["lr"].values)))  # an extended store keeps its values in the given order
    ended = first["fate"].values == names.index("minimizer")
    points = first["x"].values[ended].reshape(-1, landscape.dim)
    points = points[np.all(np.isfinite(points), axis=1)]
    if len(points) == 0:
        return None, None
    sample = points[np.linspace(0, len(points) - 1, min(len(points), 32)).astype(int)]
    polished, ok = theory.polish_minimizer(landscape, sample)
    polished = polished[ok]
    if len(polished) == 0:
        return None, None
    hessians = landscape.hessian(polished)
    eig = np.linalg.eigvalsh(hessians)
    isolated = eig[:, 0] > 1e-8 * np.maximum(1.0, eig[:, -1])
    reached = "the runs at the smallest η reached"
    if isolated.any():
        best = polished[isolated][int(np.argmax(eig[isolated, -1]))]
        return best, f"sharpest minimizer {reached}, {_point_text(best)}"
    median = polished[int(np.argsort(eig[:, -1])[len(polished) // 2])]
    return median, f"minimizer of median curvature {reached}, {_point_text(median)}"


def _point_text(x) -> str:
    return "(" + ", ".join(f"{v:.3g}" for v in np.asarray(x, dtype=float)) + ")"


EDGE_POINTS = 120  # learning rates at which a phase diagram's edge is computed


def phase_figure(store: str):
    """The phase diagram of a sweep store and a sentence about its edge: ``(ax, text)``. The edge is the swept
    optimizer's (:func:`samscape.theory.stability_edge`) at :func:`edge_minimizer`'s point."""
    from .. import dynamics, landscapes, plots, theory
    from . import engine

    ds = engine.open_sweep(store)
    recipe = engine.read_recipe(os.path.abspath(store))
    missing = [d for d in ("lr", "rho") if d not in ds.dims]
    if missing:
        raise ValueError(f"--kind phase needs a sweep over lr and rho; {store!r} does not sweep "
                         f"{', '.join(missing)}")
    extra = [d for d in ds["fate"].dims if d not in ("lr", "rho", "start", "seed") and ds.sizes[d] > 1]
    if extra:
        raise ValueError(f"--kind phase draws one (lr, rho) plane but {store!r} also sweeps {', '.join(extra)}; "
                         "draw it from Python with samscape.plots.phase after selecting one value")
    ds = ds.squeeze([d for d in ds["fate"].dims if d not in ("lr", "rho", "start", "seed")])
    fractions = engine.fractions(ds)
    land = landscapes.from_spec(recipe["landscape"])
    x_star, source = edge_minimizer(ds, land)
    optimizer = dynamics.optimizer_from_dict(recipe["optimizer"])
    edge, text = None, "no theory edge (no minimizer found)"
    lrs, rhos = np.sort(ds["lr"].values.astype(float)), np.sort(ds["rho"].values.astype(float))
    if x_star is not None and len(lrs) > 1 and len(rhos) > 1:  # fewer values: plots.phase says what it needs
        top = lrs[-1] + 0.5 * (lrs[-1] - lrs[-2])
        try:
            edge = theory.stability_edge(land, optimizer, x_star, np.linspace(max(lrs[0] * 0.5, top * 1e-3), top,
                                                                              EDGE_POINTS),
                                         rho_max=float(rhos[-1] + 0.5 * (rhos[-1] - rhos[-2])))
            text = f"{edge.label}; {source}"
        except ValueError as err:  # a stochastic optimizer has no deterministic edge: say so, draw none
            text = f"no theory edge ({str(err).split(';')[0]})"
    ax = plots.phase(fractions, edge=edge, edge_source=source, title=ds.attrs.get("title", ""))
    return ax, text


def plot_store(args) -> int:
    """``samscape plot STORE.zarr --kind phase --out FIG.png``: fate fractions over (lr, rho), theory edges on top."""
    from .. import plots
    from .._atomic import check_writable
    from . import engine

    kind = "phase" if args.kind == "auto" else args.kind
    if kind != "phase":
        raise ValueError(f"--kind must be phase (or auto) for a sweep store, got {args.kind!r}")
    if not os.path.isdir(args.run):
        raise ValueError(f"--kind phase draws a sweep store written by `samscape sweep --out STORE.zarr`, "
                         f"got {args.run!r}")
    suffix = os.path.splitext(args.out)[1].lower()
    if suffix not in (".png", ".pdf", ".svg"):
        raise ValueError(f"--out must end in .png, .pdf or .svg for --kind phase, got {args.out!r}")
    if args.starts is not None:
        raise ValueError("--starts does not apply to --kind phase, which counts every start")
    check_writable(args.out)
    with needs_sweep_extra("samscape plot --kind phase"), plots.detached():
        ax, edge = phase_figure(args.run)
        path = plots.save(ax.figure, args.out)
    ds = engine.open_sweep(args.run)
    print(f"wrote {path} (phase diagram of {args.run}: {ds.sizes['lr']} x {ds.sizes['rho']} cells; {edge})")
    return 0
