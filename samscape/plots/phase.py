"""Phase diagrams of a sweep: where runs end over ``(eta, rho)``, with the theory's stability edges on top."""

from __future__ import annotations

import numpy as np
from matplotlib import colors
from matplotlib.patches import Patch

from . import _checks
from .diagrams import finish_eta_rho_axes, gd_boundary, usam_boundary
from .runs import cell_edges
from .style import FATE_COLORS, context, new_axes

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


def phase(fractions, *, lam=None, lam_label=None, optimizer="sam", ax=None, legend=True):
    """Fraction of runs in each fate over ``(eta, rho)``: each cell mixes the fates' colours by their fractions.

    ``fractions`` is an ``xarray.DataArray`` with dims ``fate``, ``lr`` and ``rho`` only, as
    :func:`samscape.sweep.fractions` returns it (select or average any other swept dim first). Cells no block
    has finished are left blank.

    With ``lam``, the curvature of a minimum, the theory's edges for that minimum are drawn on top: GD's
    ``eta = 2/lam`` (``theory.gd_lr_edge``) and, for ``optimizer`` ``"sam"`` or ``"usam"``, USAM's
    ``eta*lam*(1 + rho*lam) = 2`` (``theory.usam_rho_edge``), as in :func:`stability_diagram`. ``lam_label`` says
    in the legend where ``lam`` comes from.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _checks.has_attributes(fractions, "fractions", ("dims", "coords", "values", "transpose"),
                           "an xarray.DataArray from samscape.sweep.fractions")
    if set(fractions.dims) != {"fate", "lr", "rho"}:
        raise ValueError(f"fractions must have exactly the dims fate, lr and rho (select or average the others "
                         f"first), got {', '.join(map(str, fractions.dims))}")
    if lam is not None:
        lam = _checks.positive(lam, "lam")
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
    with context():
        ax = new_axes(ax)
        eta_e, rho_e = cell_edges(lrs, floor=0.0), cell_edges(rhos, floor=0.0)
        ax.pcolormesh(eta_e, rho_e, rgba, shading="flat", rasterized=True, linewidth=0)
        seen = np.nanmax(np.where(finished, share, np.nan), axis=(1, 2)) if finished.any() else np.zeros(len(names))
        handles = [Patch(facecolor=FATE_COLORS[f], label=PHASE_LABELS[f]) for f, top in zip(names, seen) if top > 0]
        if lam is not None:
            where = f" ({lam_label})" if lam_label else ""
            eta_gd = gd_boundary(lam, eta_e[-1])
            if np.isfinite(eta_gd):
                handles.append(ax.axvline(eta_gd, color="black", linestyle=(0, (4, 2)), linewidth=1.1, gid="gd",
                                          label=rf"GD edge $\eta = 2/\lambda$, $\lambda$ = {lam:.3g}{where}"))
            if optimizer in ("sam", "usam"):
                eta_fine = np.linspace(max(eta_e[0], 1e-6 * eta_e[-1]), eta_e[-1], 400)
                (line,) = ax.plot(eta_fine, usam_boundary(lam, eta_fine, rho_e[-1]), color="black", linewidth=1.4,
                                  gid="usam", label=r"USAM edge $\eta\lambda(1+\rho\lambda) = 2$")
                handles.append(line)
        finish_eta_rho_axes(ax, eta_e, rho_e, legend, handles)
    return ax
