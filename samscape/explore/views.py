"""The numbers each view draws, computed with samscape's own functions (no Panel or Bokeh here).

The page draws these arrays with Bokeh; :func:`export_png` draws the same run with :mod:`samscape.plots`, so an
exported figure looks like the gallery.
"""

from __future__ import annotations

import io

import numpy as np

from .. import dynamics

BACKGROUND_RESOLUTION = 160  # grid points per side of the contour image
FIELD_RESOLUTION = 17  # arrows per side of SAM's field
CURVE_RESOLUTION = 400  # points of f and f^SAM on a 1-D landscape


def plane_window(landscape) -> np.ndarray:
    """The plotted window ``(2, 2)`` (the first two coordinates; the others are 0 on the slice)."""
    return np.asarray(landscape.window, dtype=float)[:2]


def background(landscape, *, rho: float = 0.0, surrogate: bool = False, log: bool = False):
    """``(z (ny, nx), window, low, high)``: ``L`` (or SAM's surrogate ``f^SAM`` at ``rho``) on the plane, shifted
    to start at 0 and floored at ``1e-8`` of its range when ``log``, so a log colour scale can show it."""
    from ..plots import plane_grid, surrogate_values

    window = plane_window(landscape)
    _, _, points = plane_grid(landscape, window, BACKGROUND_RESOLUTION, (0, 1), np.zeros(landscape.dim))
    with np.errstate(all="ignore"):
        z = surrogate_values(landscape, rho, points) if surrogate and rho > 0 else landscape.value(points)
    z = np.where(np.isfinite(z), z, np.nan)
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        raise ValueError("the landscape has no finite value on its window")
    low, high = float(finite.min()), float(finite.max())
    if log:
        z = z - low
        high = max(high - low, 1e-300)
        low = high * 1e-8
        z = np.clip(z, low, None)
    elif high == low:
        high = low + 1.0
    return z, window, low, high


def minimizer_curves(landscape) -> list[np.ndarray]:
    """The landscape's known curves of minimizers in the plotted plane: ``(n, 2)`` each, NaN outside the window
    or off the plane of the first two coordinates (the others are 0 there)."""
    out = []
    for curve in landscape.trace_minimizer_sets(landscape.window):
        off_plane = np.any(np.abs(curve[:, 2:]) > 1e-12, axis=1) if landscape.dim > 2 else np.zeros(len(curve), bool)
        out.append(np.where(off_plane[:, None], np.nan, curve[:, :2]))
    return out


def loss_for_display(loss: np.ndarray, decades: float = 30.0):
    """The loss for a log axis, ``(values, low, high)``: values at or below ``10^-decades`` of the largest are drawn
    at that floor (a loss of exactly 0 has no logarithm, and a range of 300 decades leaves the panel blank), and the
    axis spans the values shown."""
    finite = loss[np.isfinite(loss) & (loss > 0)]
    high = float(finite.max()) if finite.size else 1.0
    floor = high * 10.0 ** -decades
    shown = np.where(np.isfinite(loss), np.maximum(loss, floor), np.nan)
    low = float(np.nanmin(shown)) if np.isfinite(shown).any() else floor
    return shown, low / 2, high * 2


def profile(landscape, *, rho: float = 0.0):
    """1-D: ``(z, f, f_sam)`` on the window; ``f_sam`` is ``None`` when ``rho`` is 0."""
    from ..plots import surrogate_values

    z = np.linspace(*landscape.window[0], CURVE_RESOLUTION)
    points = z[:, None]
    with np.errstate(all="ignore"):
        f = landscape.value(points)
        f_sam = surrogate_values(landscape, rho, points) if rho > 0 else None
    return z, f, f_sam


def sam_field(landscape, optimizer):
    """Arrows of SAM's field ``-grad f(x+)`` on a coarse grid of the plane: ``(x0, y0, x1, y1)``, each arrow
    ``0.4`` of a grid cell long (directions only: the field's size varies by orders of magnitude)."""
    from ..plots import plane_grid, update_field

    window = plane_window(landscape)
    u, v, points = plane_grid(landscape, window, FIELD_RESOLUTION, (0, 1), np.zeros(landscape.dim))
    field = update_field(landscape, optimizer, points)[..., :2].reshape(-1, 2)
    start = points[..., :2].reshape(-1, 2)
    norm = np.linalg.norm(field, axis=1)
    keep = np.isfinite(norm) & (norm > 0)
    cell = np.array([u[1] - u[0], v[1] - v[0]])
    tip = start[keep] + 0.4 * cell * field[keep] / norm[keep, None]
    return start[keep, 0], start[keep, 1], tip[:, 0], tip[:, 1]


def field_optimizer(state):
    """The SAM map whose field is drawn: SAM at the current ``eta`` and ``rho`` (full batch)."""
    return dynamics.SAM(state.eta, state.rho) if state.rho > 0 else dynamics.GD(state.eta)


def hallucination_search(landscape, rho: float, eta: float):
    """:func:`samscape.theory.find_hallucinated` in the window at ``rho``, with stability at step ``eta``; ``None``
    when ``rho`` is 0 (no perturbation, nothing hallucinated)."""
    from .. import theory

    if rho <= 0:
        return None
    return theory.find_hallucinated(landscape, rho, landscape.window, lr=eta)


def export_png(state, landscape, outcome, *, surrogate_search=None) -> bytes:
    """The current view drawn by :mod:`samscape.plots` (paths over the landscape, loss and lambda_max against step)
    as PNG bytes."""
    from .. import plots

    run = outcome.run
    if run is None:
        raise ValueError("there is no run to export: add a start first")
    with plots.detached():
        fig, axes = plots.figure(1, 3, size=(plots.FULL, 2.5), width_ratios=(1.3, 1, 1))
        ax = axes[0]
        if landscape.dim >= 2:
            if state.surrogate and state.rho > 0:
                plots.surrogate(landscape, state.rho, ax=ax, log=state.log, colorbar=False,
                                hallucinated=surrogate_search)
            else:
                plots.contour(landscape, ax=ax, log=state.log, colorbar=False)
            if state.field:
                plots.vector_field(landscape, field_optimizer(state), ax=ax, kind="quiver")
            plots.trajectories(run, ax=ax, background=False, legend=False)
        else:
            plots.trajectories(run, ax=ax, legend=False)
        plots.curves(run, "loss", ax=axes[1], legend=False)
        plots.curves(run, "lambda_max", ax=axes[2], legend=False)
        plots.panel_labels(axes, [run.optimizer.describe(), "loss", "sharpness"])
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=150)
    return buffer.getvalue()


def export_npz(outcome) -> bytes:
    """The run as the ``.npz`` that :func:`samscape.dynamics.load_run` reads."""
    import os
    import tempfile

    if outcome.run is None:
        raise ValueError("there is no run to export: add a start first")
    with tempfile.TemporaryDirectory(prefix="samscape-explore-") as folder:
        path = outcome.run.save(os.path.join(folder, "run.npz"))
        with open(path, "rb") as handle:
            return handle.read()
