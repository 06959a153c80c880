"""Pictures of a landscape itself: contours, the update field of an optimizer, SAM's surrogate ``f^SAM``."""

from __future__ import annotations

import numpy as np
from matplotlib import colors, patheffects, ticker

from ..dynamics import sam_ascent, step
# the theory's rules for an optimizer with one deterministic update map, as the stability analysis applies them
from .. import theory
from . import _checks
from .style import BACKGROUND_CMAP, OKABE_ITO, context, label_landscape_axes, new_axes, symbol

MIN_MARK = dict(marker="o", markersize=5, markerfacecolor="white", markeredgecolor="black", markeredgewidth=0.9,
                linestyle="none", zorder=6)
MAX_MARK = dict(marker="^", markersize=5, markerfacecolor="black", markeredgecolor="white", markeredgewidth=0.6,
                linestyle="none", zorder=6)
HALLUCINATED_MARK = dict(marker="D", markersize=3.8, markeredgecolor="black", markeredgewidth=0.6,
                         linestyle="none", zorder=7)


def plane_grid(landscape, window: np.ndarray, resolution: int, axes, at: np.ndarray):
    """Grid of a 2-D slice: ``u (nx,)``, ``v (ny,)`` and full points ``(ny, nx, dim)`` with the rest fixed at ``at``."""
    u = np.linspace(*window[0], resolution)
    v = np.linspace(*window[1], resolution)
    points = np.broadcast_to(at, (resolution, resolution, landscape.dim)).copy()
    points[..., axes[0]] = u[None, :]
    points[..., axes[1]] = v[:, None]
    return u, v, points


def _in_view(points: np.ndarray, window: np.ndarray, axes, at: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """Rows of ``points (k, dim)`` inside the box and (for a slice) on the slice."""
    if points.size == 0:
        return points.reshape(0, len(at))
    inside = np.ones(len(points), dtype=bool)
    for row, a in enumerate(axes):
        inside &= (points[:, a] >= window[row, 0]) & (points[:, a] <= window[row, 1])
    others = [k for k in range(points.shape[1]) if k not in axes]
    if others:
        inside &= np.all(np.abs(points[:, others] - at[others]) <= tol * (1 + np.abs(at[others])), axis=1)
    return points[inside]


def mark_critical(ax, landscape, window, axes=(0, 1), at=None) -> None:
    """Draw the landscape's known minimizers (white circles) and maximizers (black triangles) in view."""
    at = np.zeros(landscape.dim) if at is None else at
    for points, style, label in ((landscape.minimizers, MIN_MARK, "minimizer"),
                                 (landscape.maximizers, MAX_MARK, "maximizer")):
        shown = _in_view(np.asarray(points, dtype=float).reshape(-1, landscape.dim), window, axes, at)
        if len(shown):
            ax.plot(shown[:, axes[0]], shown[:, axes[1]], label=label, **style)


def _filled(ax, u, v, z, *, levels, log, cmap, colorbar, label, alpha=1.0):
    """Filled contours of ``z (ny, nx)``; with ``log`` the levels are log-spaced in ``z - min z``."""
    z = np.where(np.isfinite(z), z, np.nan)
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        raise ValueError("the landscape has no finite value on the plotting window; choose another window")
    norm = None
    if log:
        shift = min(0.0, float(finite.min()))
        z = z - shift
        if shift < 0:
            label = f"{label} $-$ min"
        top = float(np.nanmax(z))
        if top <= 0:
            raise ValueError("log=True needs a loss that is not constant on the window; use log=False")
        positive = z[z > 0]
        bottom = max(float(positive.min()) if positive.size else top * 1e-8, top * 1e-8)
        if isinstance(levels, int):
            levels = np.geomspace(bottom, top, levels)
        z = np.clip(z, levels[0], None)
        norm = colors.LogNorm(vmin=levels[0], vmax=levels[-1])
    cs = ax.contourf(u, v, z, levels=levels, cmap=cmap or BACKGROUND_CMAP, norm=norm, alpha=alpha)
    if colorbar:
        bar = ax.figure.colorbar(cs, ax=ax, label=label, shrink=0.95, pad=0.02)
        if log:
            # contourf hands the colour bar its levels as ticks; decades read better on a log scale
            bar.locator = ticker.LogLocator(base=10, numticks=6)
            bar.formatter = ticker.LogFormatterMathtext(base=10)
            bar.minorticks_off()
            bar.update_ticks()
    return cs


def _loss_label(landscape, axes) -> str:
    names = [symbol(landscape.variables[a]).strip("$") for a in axes]
    return f"$L({', '.join(names)})$" if landscape.dim == 2 else "$L$"


def _draw_levels(ax, landscape, u, v, z, *, window, axes, at, levels, log, cmap, colorbar, label, lines, mark,
                 alpha=1.0):
    """What contour and surrogate draw of ``z (ny, nx)``: filled levels, thin white lines on top (``lines``), the
    known critical points (``mark``), the window as limits and the axis labels."""
    cs = _filled(ax, u, v, z, levels=levels, log=log, cmap=cmap, colorbar=colorbar, label=label, alpha=alpha)
    if lines:
        ax.contour(u, v, np.clip(z - min(0.0, np.nanmin(z)) if log else z, cs.levels[0], None),
                   levels=cs.levels, colors="white", linewidths=0.3, alpha=0.45, norm=cs.norm)
    if mark:
        mark_critical(ax, landscape, window, axes, at)
    ax.set_xlim(*window[0])
    ax.set_ylim(*window[1])
    label_landscape_axes(ax, landscape, axes)


def _plane_arguments(landscape, axes, window, at, levels, resolution):
    """Check the arguments shared by the filled-contour plots of a 2-D slice."""
    axes = _checks.plane(axes, landscape.dim)
    return (axes, _checks.window(window, landscape, axes), _checks.base_point(at, landscape),
            _checks.levels(levels), _checks.int_at_least(resolution, "resolution", 2))


def contour(landscape, *, ax=None, window=None, levels=20, log=False, resolution=200, axes=(0, 1), at=None,
            cmap=None, colorbar=True, lines=True, mark=True, alpha=1.0):
    """Filled contours of ``L`` on a 2-D slice, with the known minimizers/maximizers marked.

    Parameters
    ----------
    landscape : Landscape with ``dim >= 2``
    window : array (2, 2) or (dim, 2), optional
        ``[[xlo, xhi], [ylo, yhi]]`` of the plane; default the landscape's window.
    levels : int or increasing sequence
    log : bool
        Log-spaced levels (in ``L - min L`` when the loss goes negative) to show valleys that are nearly flat.
    resolution : int
        Grid points per side.
    axes : (int, int)
        Which coordinates span the plane; the others are fixed at ``at`` (default 0).
    colorbar, lines, mark : bool
        Draw a colour bar, thin contour lines on top, markers at the known critical points.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _checks.landscape(landscape, min_dim=2, what="contour (use valley for a 1-D landscape)")
    axes, window, at, levels, resolution = _plane_arguments(landscape, axes, window, at, levels, resolution)
    with context():
        ax = new_axes(ax)
        u, v, points = plane_grid(landscape, window, resolution, axes, at)
        with np.errstate(all="ignore"):
            z = landscape.value(points)
        _draw_levels(ax, landscape, u, v, z, window=window, axes=axes, at=at, levels=levels, log=log, cmap=cmap,
                     colorbar=colorbar, label=_loss_label(landscape, axes), lines=lines, mark=mark, alpha=alpha)
    return ax


def _field_optimizer(optimizer):
    """``optimizer`` if it has an update field: GD, SAM or USAM, full-batch, with scalar ``lr`` and ``rho``."""
    # n_samples=0: a field needs batch_size=None even on a one-sample landscape, where theory would let it pass
    found = theory.linear_map(optimizer, n_samples=0)
    for name in ("lr", "rho") if found.uses_rho else ("lr",):
        _checks.single_number(getattr(optimizer, name), f"optimizer {name}", "a vector field")
    return optimizer


def update_field(landscape, optimizer, points: np.ndarray) -> np.ndarray:
    """The update direction ``(T(x) - x) / lr`` at ``points (..., dim)``: ``-grad L(x)`` for GD, ``-grad L(x+)`` for SAM."""
    optimizer = _field_optimizer(optimizer)
    flat = points.reshape(-1, landscape.dim)
    with np.errstate(all="ignore"):
        change = step(landscape, optimizer, flat, 0, seed=0) - flat
    return (change / optimizer.lr).reshape(points.shape)


def vector_field(landscape, optimizer, *, ax=None, kind="stream", window=None, resolution=None, axes=(0, 1),
                 at=None, density=0.8, color="#333333", hallucinated=None, linewidth=0.5):
    """The update field of ``optimizer``: ``-grad L(x)`` (GD) or ``-grad L(x+)`` (SAM, USAM), P1's Figure 1(c).

    Parameters
    ----------
    optimizer : GD, SAM or USAM with scalar ``lr``, ``rho`` and ``batch_size=None``
    kind : ``"stream"`` or ``"quiver"``
        Streamlines (direction, with arrows) or unit arrows on a coarse grid.
    resolution : int, optional
        Grid points per side (default 60 for streamlines, 21 for arrows).
    hallucinated : HallucinationSearch, optional
        Hallucinated minimizers to mark, as :func:`samscape.theory.find_hallucinated` returns them.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _checks.landscape(landscape, min_dim=2, what="vector_field")
    _field_optimizer(optimizer)
    kind = _checks.choice(kind, "kind", ("stream", "quiver"))
    axes = _checks.plane(axes, landscape.dim)
    window = _checks.window(window, landscape, axes)
    at = _checks.base_point(at, landscape)
    resolution = _checks.int_at_least(resolution if resolution is not None else (60 if kind == "stream" else 21),
                                      "resolution", 2)
    with context():
        ax = new_axes(ax)
        u, v, points = plane_grid(landscape, window, resolution, axes, at)
        field = update_field(landscape, optimizer, points)
        fu, fv = field[..., axes[0]], field[..., axes[1]]
        fu, fv = np.nan_to_num(fu), np.nan_to_num(fv)
        if kind == "stream":
            ax.streamplot(u, v, fu, fv, density=density, color=color, linewidth=linewidth, arrowsize=0.7,
                          broken_streamlines=True)
        else:
            speed = np.hypot(fu, fv)
            scale = np.where(speed > 0, speed, 1.0)
            ax.quiver(u, v, fu / scale, fv / scale, color=color, angles="xy", pivot="mid", width=0.004,
                      headwidth=3.5, headlength=4)
        if hallucinated is not None:
            draw_hallucinated(ax, landscape, hallucinated, axes)
        ax.set_xlim(*window[0])
        ax.set_ylim(*window[1])
        label_landscape_axes(ax, landscape, axes)
    return ax


def surrogate_values(landscape, rho: float, points: np.ndarray) -> np.ndarray:
    """``f^SAM(x) = f(x + rho grad f/||grad f||)`` at ``points (..., dim)``; where ``grad f = 0`` it is ``f(x)``."""
    with np.errstate(all="ignore"):
        return landscape.value(sam_ascent(landscape, points, rho))


def surrogate(landscape, rho, *, ax=None, window=None, levels=20, log=False, resolution=200, axes=(0, 1),
              at=None, cmap=None, colorbar=True, lines=True, mark=True, hallucinated=None, link=False):
    """Contours of SAM's surrogate ``f^SAM(x) = f(x + rho grad f/||grad f||)`` with the hallucinated minimizers, P1's Figure 1(b).

    Parameters
    ----------
    rho : float >= 0
    hallucinated : HallucinationSearch, optional
        The points to mark, from :func:`samscape.theory.find_hallucinated` (pass ``lr`` there to tell attracting
        points, filled, from repelling ones, hollow).
    lines, link : bool
        Thin contour lines on top; a line from each hallucinated ``x`` to its ``x+``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _checks.landscape(landscape, min_dim=2, what="surrogate")
    rho = _checks.positive(rho, "rho", allow_zero=True)
    axes, window, at, levels, resolution = _plane_arguments(landscape, axes, window, at, levels, resolution)
    with context():
        ax = new_axes(ax)
        u, v, points = plane_grid(landscape, window, resolution, axes, at)
        z = surrogate_values(landscape, rho, points)
        names = ", ".join(symbol(landscape.variables[a]).strip("$") for a in axes)
        label = f"$f^{{\\mathrm{{SAM}}}}({names})$, $\\rho={rho:g}$" if landscape.dim == 2 else "$f^{\\mathrm{SAM}}$"
        _draw_levels(ax, landscape, u, v, z, window=window, axes=axes, at=at, levels=levels, log=log, cmap=cmap,
                     colorbar=colorbar, label=label, lines=lines, mark=mark)
        if hallucinated is not None:
            # draw_hallucinated keeps the limits just set to the window
            draw_hallucinated(ax, landscape, hallucinated, axes, link=link)
    return ax


# ---------------------------------------------------------------------------------------------- hallucinated points
def hallucinated_arrays(found, landscape):
    """``x``, ``x_plus``, ``attracting``, ``known`` (:meth:`samscape.theory.HallucinationSearch.arrays`) of a search
    on ``landscape``."""
    _checks.has_attributes(found, "hallucinated", ("arrays",),
                           "a HallucinationSearch from samscape.theory.find_hallucinated")
    x, x_plus, attracting, known = found.arrays()
    if x.shape[1] != landscape.dim:
        raise ValueError(f"hallucinated must be a search on a {landscape.dim}-D landscape like this plot's, "
                         f"got points of dimension {x.shape[1]}")
    return x, x_plus, attracting, known


def draw_hallucinated(ax, landscape, found, axes=(0, 1), *, link=False, halo=False) -> None:
    """Mark hallucinated minimizers: filled diamonds attract, hollow ones repel (or are unknown).

    With ``link`` a thin line joins each ``x`` to its ``x+``, the critical point its ascent step lands on.
    With ``halo`` each diamond gets a white rim outside its black edge, so it stays visible on a background
    of its own fill colour (a basin map's vermillion cells). Many points (a manifold of them) are drawn
    smaller so they read as a curve.
    """
    x, xp, attracting, known = hallucinated_arrays(found, landscape)
    if len(x) == 0:
        return
    lo, hi = ax.get_xlim(), ax.get_ylim()
    style = dict(HALLUCINATED_MARK)
    if len(x) > 30:
        style.update(markersize=2.6, markeredgewidth=0.3)
    if halo:
        style["path_effects"] = [patheffects.Stroke(linewidth=style["markeredgewidth"] + 0.9, foreground="white"),
                                 patheffects.Normal()]
    if link and np.all(np.isfinite(xp)):
        for a, b in zip(x, xp):
            ax.plot([a[axes[0]], b[axes[0]]], [a[axes[1]], b[axes[1]]], color="white", linewidth=0.6, alpha=0.8,
                    zorder=5)
    if attracting.any():
        ax.plot(x[attracting, axes[0]], x[attracting, axes[1]], markerfacecolor=OKABE_ITO["vermillion"],
                label="hallucinated (attracting)", **style)
    if (~attracting).any():
        kind = "repelling" if (known & ~attracting).any() else "stability unknown"
        ax.plot(x[~attracting, axes[0]], x[~attracting, axes[1]], markerfacecolor="white",
                label=f"hallucinated ({kind})", **style)
    ax.set_xlim(lo)
    ax.set_ylim(hi)
