"""Phase diagrams of a sweep: where runs end over ``(eta, rho)``, with the theory's stability edges on top."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
from matplotlib import colors
from matplotlib.patches import Patch

from . import _checks
from .diagrams import draw_stability_edge, finish_eta_rho_axes
from .runs import cell_edges
from .style import FATE_COLORS, context, legend_below, new_axes, wrap_to_width

PHASE_LABELS = {
    "minimizer": "true minimizer",
    "hallucinated": "hallucinated point",
    "moving": "still moving",
    "diverged": "diverged",
    "critical": "saddle / maximum",
}


def _axis(fractions, name: str) -> np.ndarray:
    values = np.asarray(fractions.coords[name].values, dtype=float)
    if values.ndim != 1 or values.size < 2 or np.any(np.diff(values) <= 0):
        raise ValueError(f"fractions must have at least 2 increasing values of {name} to draw cells, "
                         f"got {values.tolist()}")
    return values


PHASE_SIZE = (3.4, 3.0)  # inches: one paper column; the legend goes below it, so the Axes keep this width


def phase(fractions, *, edge=None, edge_source=None, ax=None, legend=True, title=None):
    """Fraction of runs in each fate over ``(eta, rho)``: each cell mixes the fates' colours by their fractions.

    ``fractions`` is an ``xarray.DataArray`` with dims ``fate``, ``lr`` and ``rho`` only, as
    :func:`samscape.sweep.fractions` returns it (select or average any other swept dim first). Cells no block
    has finished are left blank.

    ``edge``, a :class:`samscape.theory.StabilityEdge` from :func:`samscape.theory.stability_edge`, is the
    stability edge of the optimizer that was swept (GD's ``eta = 2/lam``, USAM's ``eta*lam*(1 + rho*lam) = 2``, or
    SAM's 2-cycle edge computed on the landscape), drawn as a black line labelled with which edge it is;
    ``edge_source`` says in the legend where its minimizer comes from.

    With ``ax=None`` the figure is made here and the legend goes below the plot, one entry per row, the figure
    widened until it fits: a legend as wide as its labels never covers the cells or the axis labels, whatever
    the landscape and grid. On an ``ax`` of yours the legend sits inside the Axes (``legend`` may be a dict of
    ``Axes.legend`` arguments, e.g. to move it). ``title`` is wrapped to the figure's width.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _checks.has_attributes(fractions, "fractions", ("dims", "coords", "values", "transpose"),
                           "an xarray.DataArray from samscape.sweep.fractions")
    if set(fractions.dims) != {"fate", "lr", "rho"}:
        raise ValueError(f"fractions must have exactly the dims fate, lr and rho (select or average the others "
                         f"first), got {', '.join(map(str, fractions.dims))}")
    if edge is not None:
        _checks.has_attributes(edge, "edge", ("eta", "rho", "label", "kind"),
                               "a StabilityEdge from samscape.theory.stability_edge")
    ordered = fractions.transpose("fate", "rho", "lr")
    names = [str(f) for f in ordered.coords["fate"].values]
    unknown = [f for f in names if f not in FATE_COLORS]
    if unknown:
        raise ValueError(f"fractions has fates {unknown} that have no colour; allowed: {', '.join(PHASE_LABELS)}")
    lrs, rhos = _axis(fractions, "lr"), _axis(fractions, "rho")
    share = np.asarray(ordered.values, dtype=float)  # (fate, rho, lr)
    palette = np.array([colors.to_rgb(FATE_COLORS[f]) for f in names])  # (fate, 3)
    finished = np.isfinite(share).all(axis=0)
    rgb = np.einsum("frl,fc->rlc", np.where(np.isfinite(share), share, 0.0), palette)
    rgba = np.concatenate([np.clip(rgb, 0, 1), finished[..., None].astype(float)], axis=-1)
    own_figure = ax is None
    with context():
        ax = new_axes(ax, PHASE_SIZE)
        eta_e, rho_e = cell_edges(lrs, floor=0.0), cell_edges(rhos, floor=0.0)
        ax.pcolormesh(eta_e, rho_e, rgba, shading="flat", rasterized=True, linewidth=0)
        seen = np.nanmax(np.where(finished, share, np.nan), axis=(1, 2)) if finished.any() else np.zeros(len(names))
        handles = [Patch(facecolor=FATE_COLORS[f], label=PHASE_LABELS[f]) for f, top in zip(names, seen) if top > 0]
        if edge is not None:
            label = edge.label + (f"; {edge_source}" if edge_source else "")
            if own_figure:  # below the plot: as many lines as the figure's width needs, not a wider figure
                label = wrap_to_width(label, ax.figure, fontsize=mpl.rcParams["legend.fontsize"])
            handles.append(draw_stability_edge(ax, edge, label))
        finish_eta_rho_axes(ax, eta_e, rho_e, legend, handles)
        if title:
            ax.set_title(wrap_to_width(title, ax.figure), fontsize="medium")
    if own_figure and legend is True:
        legend_below(ax)
    return ax
