"""Pictures of a run: paths over the contours, basin maps, curves against step, 1-D valleys as cobwebs."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
from matplotlib import colors
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .. import theory
from ..dynamics import step
from ..theory.sharpness import hessian_curvature
from ..theory.fates import FATES, advance, final_optimizer, run_phases
from . import _checks
from .landscape import MIN_MARK, contour, draw_hallucinated, mark_critical, plane_grid
from .style import (CYCLE, add_legend, FATE_COLORS, OKABE_ITO, SURFACE_CMAP, context, label_landscape_axes, new_axes,
                    optimizer_color, symbol)

FATE_LABELS = {
    "minimizer": "true minimizer",
    "hallucinated": "hallucinated point",
    "moving": "still moving",
    "diverged": "diverged",
    "critical": "stuck on a saddle or maximum",
}


# ---------------------------------------------------------------------------------------------- run helpers
def _stopped_mask(run) -> np.ndarray:
    """``(n_saved, n_starts)``: True where a start had already been frozen (diverged or non-finite)."""
    stopped = np.asarray(run.stopped_at)
    after = (stopped[None, :] >= 0) & (run.steps[:, None] > stopped[None, :])
    return after


# ---------------------------------------------------------------------------------------------- trajectories
def _segments(run, i: int, axes):
    """``[(xs (k, 2), color)]`` for start ``i``: one per phase so a switch shows as a change of colour."""
    path = run.xs[:, i][:, list(axes)]
    stopped = run.stopped_at[i]
    keep = np.ones(len(run.steps), dtype=bool) if stopped < 0 else run.steps <= stopped
    pieces = []
    for opt, lo, hi in run_phases(run):
        # a phase's segment starts at the last saved step <= its first step, so consecutive segments join
        first = max(int(np.searchsorted(run.steps, lo, side="right")) - 1, 0)
        last = int(np.searchsorted(run.steps, hi, side="right"))
        sel = np.zeros(len(run.steps), dtype=bool)
        sel[first:last] = True
        sel &= keep
        if sel.sum() >= 1:
            pieces.append((path[sel], opt))
    return pieces


def trajectories(run, *, ax=None, starts=None, color_by="optimizer", background=None, axes=(0, 1), at=None,
                 window=None, label=None, linewidth=1.0, legend=True, background_kw=None, ends=True):
    """Paths of a run over the landscape's contours; start (hollow circle) and end (filled circle) marked.

    Parameters
    ----------
    run : Run
        ``run.xs`` is ``(n_saved, n_starts, dim)``. A 1-D run is drawn as iterate against step.
    starts : None, int or sequence of int
        Which starts to draw (default all; an int draws the first ``k``, from 1 to ``run.n_starts``).
    color_by : ``"optimizer"`` or ``"start"``
        One colour per optimizer (a :class:`Switch` changes colour at the switch), or one per start.
    background : bool, optional
        Draw :func:`contour` underneath; default: only when this call creates the Axes.
    ends : bool
        Mark the final iterates (a cross for a start that diverged).
    axes, at, window
        The plane of a higher-dimensional landscape, as in :func:`contour`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _checks.run(run)
    color_by = _checks.choice(color_by, "color_by", ("optimizer", "start"))
    idx = _checks.starts(starts, run.n_starts)
    landscape = run.landscape
    with context():
        fresh = ax is None
        ax = new_axes(ax)
        if landscape.dim == 1:
            return _series(run, idx, ax, color_by, label, linewidth, legend)
        axes = _checks.plane(axes, landscape.dim)
        if background if background is not None else fresh:
            contour(landscape, ax=ax, axes=axes, at=at, window=window, **(background_kw or {"log": True}))
        labelled = set()
        for n, i in enumerate(idx):
            pieces = _segments(run, int(i), axes)
            for path, opt in pieces:
                color = optimizer_color(opt.kind) if color_by == "optimizer" else _start_color(n, len(idx))
                name = label if label is not None else opt.describe()
                show = color_by == "optimizer" and name not in labelled
                labelled.add(name)
                ax.plot(path[:, 0], path[:, 1], color=color, linewidth=linewidth, label=name if show else None,
                        solid_capstyle="round", zorder=3)
            first_color = optimizer_color(pieces[0][1].kind) if color_by == "optimizer" else _start_color(n, len(idx))
            last_color = optimizer_color(pieces[-1][1].kind) if color_by == "optimizer" else first_color
            x0, xT = run.xs[0, i, list(axes)], pieces[-1][0][-1]
            ax.plot(*x0, marker="o", markersize=4.5, markerfacecolor="white", markeredgecolor=first_color,
                    markeredgewidth=1.1, linestyle="none", zorder=8, gid="start")
            diverged = run.status[i] != "ok"
            if not ends:
                continue
            ax.plot(*xT, marker="X" if diverged else "o", markersize=5 if diverged else 4.5,
                    markerfacecolor=last_color, markeredgecolor="black", markeredgewidth=0.6, linestyle="none",
                    zorder=8, gid="end")
        label_landscape_axes(ax, landscape, axes)
        if labelled and color_by == "optimizer":
            add_legend(ax, legend, loc="best")
    return ax


def _start_color(n: int, total: int):
    if total <= len(CYCLE):
        return CYCLE[n]
    return matplotlib.colormaps["viridis"](n / max(total - 1, 1))


def _series(run, idx, ax, color_by, label, linewidth, legend):
    """A 1-D run: iterate against step."""
    landscape = run.landscape
    mask = _stopped_mask(run)
    for n, i in enumerate(idx):
        z = np.where(mask[:, i], np.nan, run.xs[:, i, 0])
        color = optimizer_color(final_optimizer(run).kind) if color_by == "optimizer" else _start_color(n, len(idx))
        ax.plot(run.steps, z, color=color, linewidth=linewidth,
                label=(label or run.optimizer.describe()) if n == 0 else None)
    ax.set_xlabel("step $t$")
    ax.set_ylabel(symbol(landscape.variables[0]))
    add_legend(ax, legend, loc="best")
    return ax


# ---------------------------------------------------------------------------------------------- basins
def _grid_layout(points: np.ndarray):
    """If ``points (n, 2)`` are a full rectangular grid, return its sorted axes ``(u (nu,), v (nv,))``."""
    u = np.unique(points[:, 0])
    v = np.unique(points[:, 1])
    if len(u) * len(v) != len(points) or len(u) < 2 or len(v) < 2:
        return None
    return u, v


def cell_edges(c: np.ndarray, *, floor: float | None = None) -> np.ndarray:
    """Edges of cells centred on the sorted centres ``c``: midpoints inside, half a cell beyond each end
    (the lower end clipped at ``floor`` when given, e.g. 0 for a learning-rate axis)."""
    mid = 0.5 * (c[1:] + c[:-1])
    first = c[0] - (mid[0] - c[0])
    if floor is not None:
        first = max(first, floor)
    return np.concatenate([[first], mid, [c[-1] + (c[-1] - mid[-1])]])


def basins(run, fates=None, *, ax=None, axes=(0, 1), lines=True, mark=True, hallucinated=None, legend=True):
    """Colour each start by its fate (true minimizer, hallucinated point, still moving, diverged).

    For starts on a full rectangular grid the map is drawn as cells; otherwise as one square per start.

    Parameters
    ----------
    run : Run of a 2-D (or sliced) landscape, starts ``run.x0 (n_starts, dim)``.
    fates : array (n_starts,) of str
        The fate of each start, one of :data:`samscape.theory.FATES`: what
        :func:`samscape.theory.classify_fates` returns for ``run``.
    lines, mark : bool
        Thin contour lines of ``L`` and markers at the known critical points, for orientation.
    hallucinated : HallucinationSearch, optional
        Hallucinated points to mark on top (:func:`samscape.theory.find_hallucinated`).

    Returns
    -------
    matplotlib.axes.Axes
    """
    _checks.run(run)
    landscape = run.landscape
    _checks.landscape(landscape, min_dim=2, what="basins")
    axes = _checks.plane(axes, landscape.dim)
    if fates is None:
        raise ValueError("fates must be the fate of each start, computed by samscape.theory.classify_fates(run), "
                         "got None")
    fates = np.asarray(fates)
    if fates.shape != (run.n_starts,) or not np.isin(fates, FATES).all():
        raise ValueError(f"fates must be {run.n_starts} values from {FATES}, got shape {fates.shape}")
    codes = np.array([FATES.index(f) for f in fates])
    cmap = colors.ListedColormap([FATE_COLORS[f] for f in FATES])
    norm = colors.BoundaryNorm(np.arange(len(FATES) + 1) - 0.5, len(FATES))
    starts = run.x0[:, list(axes)]
    with context():
        ax = new_axes(ax)
        layout = _grid_layout(starts)
        if layout is not None:
            u, v = layout
            image = np.full((len(v), len(u)), np.nan)
            image[np.searchsorted(v, starts[:, 1]), np.searchsorted(u, starts[:, 0])] = codes
            ax.pcolormesh(cell_edges(u), cell_edges(v), image, cmap=cmap, norm=norm, shading="flat",
                          rasterized=True)
            ax.set_xlim(cell_edges(u)[[0, -1]])
            ax.set_ylim(cell_edges(v)[[0, -1]])
        else:
            ax.scatter(starts[:, 0], starts[:, 1], c=codes, cmap=cmap, norm=norm, marker="s", s=9, linewidths=0)
            # scattered starts: show them in the landscape's window (widened to hold every start)
            box = np.asarray(landscape.window, dtype=float)[list(axes)]
            ax.set_xlim(min(box[0, 0], starts[:, 0].min()), max(box[0, 1], starts[:, 0].max()))
            ax.set_ylim(min(box[1, 0], starts[:, 1].min()), max(box[1, 1], starts[:, 1].max()))
        window = np.array([ax.get_xlim(), ax.get_ylim()])
        at = run.x0[0].astype(float)
        if lines:
            uu, vv, points = plane_grid(landscape, window, 120, axes, at)
            with np.errstate(all="ignore"):
                z = landscape.value(points)
            ax.contour(uu, vv, z, levels=10, colors="black", linewidths=0.35, alpha=0.5)
        if mark:
            mark_critical(ax, landscape, window, axes, at)
        if hallucinated is not None:
            # the same black-edged diamonds as every other plot (one legend for all), with a white halo:
            # the map's own colours include the attracting marker's vermillion fill
            draw_hallucinated(ax, landscape, hallucinated, axes, link=False, halo=True)
        label_landscape_axes(ax, landscape, axes)
        # the four fates of the issue always, so maps side by side share one key; "critical" only when present
        shown = [f for f in FATES if f != "critical" or (fates == f).any()]
        handles = [Patch(facecolor=FATE_COLORS[f], edgecolor="black", linewidth=0.4,
                         label=f"{FATE_LABELS[f]} ({int(np.sum(fates == f))})") for f in shown]
        add_legend(ax, legend, handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False,
                   handlelength=1.0, columnspacing=1.0)
        ax.set_aspect("equal" if _square(window) else "auto")
    return ax


def _square(window: np.ndarray) -> bool:
    spans = window[:, 1] - window[:, 0]
    return 0.5 <= spans[0] / spans[1] <= 2.0


# ---------------------------------------------------------------------------------------------- curves
QUANTITIES = ("loss", "grad_norm", "sharpness", "lambda_max", "trace")
_YLABEL = {
    "loss": "loss $L(x_t)$",
    "grad_norm": r"$\|\nabla L(x_t)\|$",
    "sharpness": r"sharpness of $\nabla^2 L(x_t)$",
    "lambda_max": r"$\lambda_{\max}(\nabla^2 L(x_t))$",
    "trace": r"$\mathrm{Tr}\,\nabla^2 L(x_t)$",
}


def _values(run, quantity: str, idx: np.ndarray) -> dict[str, np.ndarray]:
    """``{name: (n_saved, len(idx))}`` for the quantity; frozen starts are NaN after they stop."""
    xs = run.xs[:, idx]
    with np.errstate(all="ignore"):
        if quantity == "loss":
            out = {"loss": run.loss[:, idx]}
        elif quantity == "grad_norm":
            out = {"grad_norm": np.linalg.norm(run.landscape.grad(xs), axis=-1)}
        else:
            curvature = hessian_curvature(run.landscape, xs)
            wanted = ("lambda_max", "trace") if quantity == "sharpness" else (quantity,)
            out = {k: curvature[k] for k in wanted}
    mask = _stopped_mask(run)[:, idx]
    return {k: np.where(mask, np.nan, v) for k, v in out.items()}


def thresholds(optimizer) -> list[tuple[str, float]]:
    """Sharpness thresholds of linear stability for ``optimizer`` (scalar ``lr``/``rho``): ``[(label, lambda)]``.

    GD/SGD: ``2/eta`` (``theory.gd_threshold``); USAM: the root of ``eta*lam*(1 + rho*lam) = 2``
    (``theory.usam_threshold``); read off the optimizer's map (``theory.sharpness_threshold``). Normalised SAM
    has no such threshold (it settles on a 2-cycle instead).
    """
    found = theory.sharpness_threshold(optimizer)
    return [] if found is None else [(found[0], found[2])]


def curves(run, quantity="loss", *, ax=None, starts=None, show_thresholds=True, log=None, legend=True,
           label=None, max_lines=10):
    """A quantity along the path against step: ``loss``, ``grad_norm``, ``sharpness`` (``lambda_max`` and trace),
    ``lambda_max`` or ``trace``, with the relevant thresholds as lines.

    Thresholds: for ``sharpness``/``lambda_max`` the linear-stability edge of each phase's optimizer (see
    :func:`thresholds`) as a horizontal dashed line over that phase; a :class:`Switch` adds a vertical line at
    the switch.

    Parameters
    ----------
    run : Run
    starts : None, int or sequence of int
        Which starts; up to ``max_lines`` are drawn one by one, more as a median with a 10–90 % band.
    log : bool, optional
        Log y axis; default for ``loss`` and ``grad_norm``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _checks.run(run)
    quantity = _checks.choice(quantity, "quantity", QUANTITIES)
    idx = _checks.starts(starts, run.n_starts)
    max_lines = _checks.positive_int(max_lines, "max_lines")
    values = _values(run, quantity, idx)
    log = quantity in ("loss", "grad_norm") if log is None else bool(log)
    steps = run.steps
    phases = run_phases(run)
    with context():
        ax = new_axes(ax)
        styles = {"lambda_max": "-", "trace": (0, (4, 1.5)), "loss": "-", "grad_norm": "-"}
        names = {"lambda_max": r"$\lambda_{\max}$", "trace": r"$\mathrm{Tr}$"}
        handles, seen = [], set()
        single = len(idx) <= max_lines
        for key, arr in values.items():
            if log:
                arr = np.where(arr > 0, arr, np.nan)
            for opt, lo, hi in phases:
                first = max(int(np.searchsorted(steps, lo, side="right")) - 1, 0)
                last = int(np.searchsorted(steps, hi, side="right"))
                sl = slice(first, last)
                color = optimizer_color(opt.kind)
                if single:
                    for n in range(arr.shape[1]):
                        ax.plot(steps[sl], arr[sl, n], color=color, linestyle=styles[key],
                                linewidth=1.1 if arr.shape[1] == 1 else 0.8, alpha=1.0 if arr.shape[1] == 1 else 0.8,
                                gid=key)
                else:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)
                        lo_q, med, hi_q = np.nanquantile(arr[sl], [0.1, 0.5, 0.9], axis=1)
                    ax.fill_between(steps[sl], lo_q, hi_q, color=color, alpha=0.25, linewidth=0)
                    ax.plot(steps[sl], med, color=color, linestyle=styles[key], gid=key)
                text = label if label is not None else opt.describe()
                if text not in seen:
                    seen.add(text)
                    handles.append(Line2D([], [], color=color, label=text + ("" if single else " (median, 10–90 %)")))
        if len(values) > 1:
            handles += [Line2D([], [], color="black", linestyle=styles[k], linewidth=0.9, label=names[k]) for k in values]
        if show_thresholds and quantity in ("sharpness", "lambda_max"):
            finite = np.concatenate([v[np.isfinite(v)] for v in values.values()])
            top = float(finite.max()) if finite.size else 0.0
            off_scale = []
            for opt, lo, hi in phases:
                for text, lam in thresholds(opt):
                    handles.append(ax.hlines(lam, lo, hi, colors=optimizer_color(opt.kind), linestyles=(0, (2, 2)),
                                             linewidth=0.9, label=f"{text} = {lam:.3g}", gid="threshold"))
                    if top > 0 and lam > 1.6 * top:
                        off_scale.append((text, lam, lo, hi, optimizer_color(opt.kind)))
            if off_scale:
                # a threshold far above the data would squash the curves into a strip: keep the line (out of
                # view) and say where it is with an arrow at the top edge
                bottom = min(0.0, float(finite.min()))
                ax.set_ylim(bottom, 1.3 * top)
                for text, lam, lo, hi, color in off_scale:
                    ax.annotate(f"{text} = {lam:.3g} (off scale)", xy=(0.5 * (lo + hi), 1.3 * top),
                                xytext=(0.5 * (lo + hi), 1.16 * top), ha="center", va="center", fontsize=6.5,
                                color=color, arrowprops=dict(arrowstyle="->", color=color, linewidth=0.7))
        if len(phases) > 1:
            at = phases[1][1]
            handles.append(ax.axvline(at, color="#777777", linewidth=0.8, linestyle=":", gid="switch",
                                      label=f"switch at $t={at}$"))
        if log:
            ax.set_yscale("log")
        ax.set_xlim(steps[0], steps[-1])
        ax.set_xlabel("step $t$")
        ax.set_ylabel(_YLABEL[quantity])
        add_legend(ax, legend, handles, loc="best")
    return ax


# ---------------------------------------------------------------------------------------------- 1-D valleys
def valley(landscape, run=None, *, ax=None, kind="cobweb", b=None, steps=40, starts=None, window=None, legend=True):
    """A 1-D valley with the band ``[-2b, 2b]`` of P3's Proposition 4.1 (and the core ``(-b, b)``) and a run's iterates.

    Parameters
    ----------
    landscape : Landscape with ``dim == 1``
    run : Run on that landscape, optional
    kind : ``"cobweb"``, ``"profile"`` or ``"series"``
        ``cobweb``: the update map ``z_t -> z_{t+1}`` with the diagonal and the iterates as a staircase;
        ``profile``: ``L(z)`` with the iterates on it, coloured by step; ``series``: ``z_t`` against ``t``.
    b : float, optional
        Half-width of the valley's core; default ``landscape.params["b"]``.
    steps : int
        How many consecutive steps to draw (replayed from ``run.x0`` with the run's seed, so they are exact).
    starts : None, int or sequence of int
        Which starts: ``series`` draws each of them (default all), ``cobweb`` and ``profile`` the first.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _checks.landscape(landscape, min_dim=1, max_dim=1, what="valley")
    kind = _checks.choice(kind, "kind", ("cobweb", "profile", "series"))
    if b is None:
        b = landscape.params.get("b")
        if b is None:
            raise ValueError(f"b must be given for landscape {landscape.name!r}, which has no params['b']")
    b = _checks.positive(b, "b")
    steps = _checks.positive_int(steps, "steps")
    paths = None
    if run is not None:
        _checks.run(run)
        if run.landscape.dim != 1:
            raise ValueError(f"run must be on a 1-D landscape, got one with dim={run.landscape.dim}")
        idx = _checks.starts(starts, run.n_starts)
        n = min(steps, int(run.steps[-1]))
        paths = advance(run, run.x0.astype(float), 0, n)[:, idx, 0]  # (n + 1, len(idx))
    if window is None:
        lo, hi = np.asarray(landscape.window, dtype=float)[0]
    else:
        lo, hi = _checks.box(window, 1, "window")[0]
    z = np.linspace(lo, hi, 801)
    band = OKABE_ITO["sky"]
    with context():
        ax = new_axes(ax)
        span, line = (ax.axhspan, ax.axhline) if kind == "series" else (ax.axvspan, ax.axvline)
        span(-2 * b, 2 * b, color=band, alpha=0.18, linewidth=0, label=r"band $[-2b, 2b]$")
        for edge in (-2 * b, 2 * b):
            line(edge, color=band, linewidth=0.9, gid="band")
        for edge in (-b, b):
            line(edge, color=band, linewidth=0.7, linestyle=(0, (1.5, 1.5)), gid="core")
        if kind == "cobweb":
            ax.axhspan(-2 * b, 2 * b, color=band, alpha=0.18, linewidth=0)
            ax.plot(z, z, color="#777777", linewidth=0.7, linestyle="--", label=r"$z_{t+1} = z_t$")
            if run is not None:
                opt = final_optimizer(run)
                ax.plot(z, _map_1d(run, opt, z), color=optimizer_color(opt.kind), linewidth=1.2,
                        label=f"map of {opt.describe()}", gid="map")
                path = paths[:, 0]
                # (z0, z0) -> (z0, z1) -> (z1, z1) -> (z1, z2) ...: up to the map, across to the diagonal
                stair_x = np.repeat(path[:-1], 2)
                stair_y = np.empty_like(stair_x)
                stair_y[0::2], stair_y[1::2] = path[:-1], path[1:]
                ax.plot(stair_x, stair_y, color="black", linewidth=0.6, gid="cobweb", label="iterates")
                ax.plot(path[0], path[0], marker="o", markersize=4.5, markerfacecolor="white",
                        markeredgecolor="black", linestyle="none", zorder=6, gid="start")
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
            ax.set_aspect("equal")
            ax.set_xlabel("$z_t$")
            ax.set_ylabel("$z_{t+1}$")
        elif kind == "profile":
            with np.errstate(all="ignore"):
                f = landscape.value(z[:, None])
            ax.plot(z, f, color="black", linewidth=1.1, label=r"$L(z)$")
            if run is not None:
                path = paths[:, 0]
                with np.errstate(all="ignore"):
                    fz = landscape.value(path[:, None])
                ax.plot(path, fz, color="#777777", linewidth=0.4, zorder=3)
                sc = ax.scatter(path, fz, c=np.arange(len(path)), cmap=SURFACE_CMAP, s=14, zorder=4,
                                edgecolors="black", linewidths=0.3)
                ax.figure.colorbar(sc, ax=ax, label="step $t$", pad=0.02)
            mins = np.asarray(landscape.minimizers, dtype=float).reshape(-1, 1)
            if mins.size:
                with np.errstate(all="ignore"):
                    ax.plot(mins[:, 0], landscape.value(mins), label="minimizer", **MIN_MARK)
            ax.set_xlim(lo, hi)
            ax.set_xlabel("$z$")
            ax.set_ylabel("$L(z)$")
        else:
            if run is not None:
                color = optimizer_color(final_optimizer(run).kind)
                t = np.arange(paths.shape[0])
                for k in range(paths.shape[1]):
                    ax.plot(t, paths[:, k], color=color if paths.shape[1] == 1 else _start_color(k, paths.shape[1]),
                            marker="o", markersize=2.2, linewidth=0.7,
                            label=rf"$z_0 = {paths[0, k]:.3g}$" if paths.shape[1] > 1 else run.optimizer.describe())
                ax.set_xlim(0, t[-1])
            ax.set_xlabel("step $t$")
            ax.set_ylabel("$z_t$")
            ax.set_ylim(min(lo, -2.3 * b), max(hi, 2.3 * b))
        add_legend(ax, legend, loc="best")
    return ax


def _map_1d(run, optimizer, z: np.ndarray) -> np.ndarray:
    """The deterministic part of one update on a grid of ``z``: the map a cobweb bounces on."""
    if np.ndim(getattr(optimizer, "lr", 0.0)) != 0 or np.ndim(getattr(optimizer, "rho", 0.0)) != 0:
        raise ValueError("valley(kind='cobweb') needs a run with scalar lr and rho, got per-start arrays")
    # a cobweb is one map z -> z': a schedule changes it every step and a velocity makes the step depend on more than z
    if optimizer.scheduled() or optimizer.state_names():
        raise ValueError(f"valley(kind='cobweb') needs an optimizer whose update is one map of z, got "
                         f"{optimizer.describe()} (a schedule or momentum makes the step depend on the step or the "
                         "velocity); draw it with kind='series' or kind='profile'")
    with np.errstate(all="ignore"):
        # every point draws start 0's batch, so the curve is one map (the one start 0 bounced on at step 0)
        return step(run.landscape, optimizer, z[:, None], 0, seed=run.seed, start_ids=np.zeros(len(z), dtype=np.int64))[:, 0]
