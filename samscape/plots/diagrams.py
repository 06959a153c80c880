"""Stability diagrams: the fate of simulations over a grid of ``(eta, rho)`` with the theory's boundaries on top."""

from __future__ import annotations

import numpy as np
from matplotlib import colors
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .. import theory
from ..theory.fates import STABILITY_FATES, StabilityGrid
from . import _checks
from .runs import cell_edges
from .style import FATE_COLORS, OKABE_ITO, add_legend, context, new_axes

STABILITY_LABELS = {
    "stable": r"stays at $\theta^*$",
    "escaped": r"leaves $\theta^*$",
    "diverged": "diverges",
}


def gd_boundary(lam: float, eta_max: float) -> float:
    """The ``eta`` where GD's edge meets ``lam``: ``theory.gd_lr_edge(lam) = 2/lam`` (NaN past ``eta_max``)."""
    eta = float(theory.gd_lr_edge(lam))
    return eta if eta <= float(eta_max) else float("nan")


def usam_boundary(lam: float, etas: np.ndarray, rho_max: float) -> np.ndarray:
    """For each ``eta``, the ``rho`` where USAM's edge meets ``lam``: ``theory.usam_rho_edge(eta, lam)``
    (NaN where it is negative or above ``rho_max``)."""
    rho = np.asarray(theory.usam_rho_edge(np.asarray(etas, dtype=float), lam), dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(rho <= float(rho_max), rho, np.nan)


def draw_stability_edge(ax, edge, label: str | None = None):
    """Draw a :class:`samscape.theory.StabilityEdge` (from :func:`samscape.theory.stability_edge`) as a black line
    whose ``gid`` is the edge's kind, solid where it is exact and dashed where the quadratic approximation stands in;
    ``label`` defaults to the edge's own. Returns the line."""
    _checks.has_attributes(edge, "edge", ("eta", "rho", "label", "kind"),
                           "a StabilityEdge from samscape.theory.stability_edge")
    (line,) = ax.plot(np.asarray(edge.eta, dtype=float), np.asarray(edge.rho, dtype=float), color="black",
                      linewidth=1.4, linestyle="-" if getattr(edge, "exact", True) else (0, (4, 2)), gid=edge.kind,
                      label=edge.label if label is None else label)
    return line


def stability_diagram(grid, *, boundaries=("gd", "usam", "p3", "mean_square"), edge=None, ax=None, legend=True):
    """Fates of simulations over ``(eta, rho)`` with the theory's stability boundaries drawn on top.

    ``grid`` is a :class:`samscape.theory.StabilityGrid`, simulated by :func:`samscape.theory.stability_fates`.
    ``edge``, a :class:`samscape.theory.StabilityEdge` (:func:`samscape.theory.stability_edge` of the simulated
    optimizer), is drawn too (:func:`draw_stability_edge`): the edge of any optimizer, a variant or one with
    momentum, where ``boundaries`` names GD's and USAM's.

    Boundaries, from ``lam = lambda_max(H(x_star))``:

    * ``"gd"``: ``eta = 2/lam`` (vertical), where GD/SGD's edge ``theory.gd_threshold`` meets ``lam``;
    * ``"usam"``: ``eta*lam*(1 + rho*lam) = 2``, from ``theory.usam_threshold``;
    * ``"p3"``: P3 Theorem 4.1's necessary condition ``||H||_F^2 (1 + rho^2 gamma ||H||_F^2 / B) <= B/(eta^2 gamma)``;
      drawn only where it applies: a stochastic method on a finite sum with alignment ``gamma > 0``;
    * ``"mean_square"``: where the exact second-moment operator of the linearized stochastic method has spectral
      radius 1 (``theory.mean_square_radius``): the ground truth that Theorem 4.1 bounds; stochastic runs only.

    For a stochastic run ``gd`` and ``usam`` are the full-batch edges of the mean Hessian. For a grid simulated
    with momentum ``gd`` and ``usam`` take the effective step (``grid.step_scale * eta``, docs/theory.md section
    2.2), and ``p3`` and ``mean_square``, derived for the stateless methods, are not drawn.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if not isinstance(grid, StabilityGrid):
        got = repr(grid) if grid is None else type(grid).__name__
        raise ValueError(f"grid must be a StabilityGrid computed by samscape.theory.stability_fates, got {got}")
    for name in boundaries:
        _checks.choice(name, "boundaries entry", ("gd", "usam", "p3", "mean_square"))
    codes = np.vectorize(STABILITY_FATES.index)(grid.fates)
    cmap = colors.ListedColormap([FATE_COLORS[f] for f in STABILITY_FATES])
    norm = colors.BoundaryNorm(np.arange(len(STABILITY_FATES) + 1) - 0.5, len(STABILITY_FATES))
    lam = grid.lam
    with context():
        ax = new_axes(ax)
        eta_e, rho_e = cell_edges(grid.lrs, floor=0.0), cell_edges(grid.rhos, floor=0.0)
        ax.pcolormesh(eta_e, rho_e, codes, cmap=cmap, norm=norm, shading="flat", alpha=0.55, rasterized=True,
                      linewidth=0)
        handles = [Patch(facecolor=FATE_COLORS[f], alpha=0.55, label=f"{STABILITY_LABELS[f]} (sim.)")
                   for f in STABILITY_FATES if (grid.fates == f).any()]
        eta_fine = np.linspace(max(eta_e[0], 1e-6 * eta_e[-1]), eta_e[-1], 400)  # the theory needs eta > 0
        noisy = _stochastic(grid)
        prefix = "full-batch " if noisy else ""
        # with momentum the edges hold for the effective step s = scale * eta (docs/theory.md section 2.2)
        scale = grid.step_scale
        suffix = "" if scale == 1 else rf" (momentum: $\eta \to$ {scale:.3g}$\eta$)"
        if "gd" in boundaries:
            eta_gd = gd_boundary(lam * scale, eta_e[-1])
            if np.isfinite(eta_gd):
                handles.append(ax.axvline(eta_gd, color="black", linestyle=(0, (4, 2)), linewidth=1.1, gid="gd",
                                          label=rf"{prefix}GD edge $\eta = 2/\lambda$ = {eta_gd:.3g}{suffix}"))
        simulated = grid.linear_map  # GD's for GD and SGD, USAM's or SAM's; None for per-sample ascents
        if "usam" in boundaries and simulated is not None and simulated.uses_rho:
            rho_usam = usam_boundary(lam, scale * eta_fine, rho_e[-1])
            (line,) = ax.plot(eta_fine, rho_usam, color="black", linewidth=1.4, gid="usam",
                              label=prefix + r"USAM edge $\eta\lambda(1+\rho\lambda) = 2$" + suffix)
            handles.append(line)
        # P3's inequality and the second-moment operator are for the stateless stochastic methods
        if "p3" in boundaries and scale == 1:
            line = _draw_p3(ax, grid, eta_fine, rho_e[-1])
            if line is not None:
                handles.append(line)
        if "mean_square" in boundaries and noisy and simulated is not None and simulated.linear and scale == 1:
            handles.append(_draw_mean_square(ax, grid, eta_e, rho_e))
        if edge is not None:
            handles.append(draw_stability_edge(ax, edge))
        finish_eta_rho_axes(ax, eta_e, rho_e, legend, handles)
    return ax


def stability_legend(fig, grids, edges=(), **kwargs):
    """One legend below a figure of several stability diagrams drawn with ``legend=False``: the fates that occur in
    any of ``grids`` (:class:`samscape.theory.StabilityGrid`) and, for ``edges`` (StabilityEdge), one entry per line
    style they use (exact: solid; the quadratic approximation's: dashed). ``kwargs`` go to ``Figure.legend``."""
    handles = [Patch(facecolor=FATE_COLORS[f], alpha=0.55, label=f"{STABILITY_LABELS[f]} (sim.)")
               for f in STABILITY_FATES if any((grid.fates == f).any() for grid in grids)]
    for exact, text in ((True, "theory edge (exact)"), (False, "theory edge (quadratic approximation)")):
        if any(getattr(edge, "exact", True) == exact for edge in edges):
            handles.append(Line2D([], [], color="black", linewidth=1.4, linestyle="-" if exact else (0, (4, 2)),
                                  label=text))
    options = {"loc": "outside lower center", "ncol": min(len(handles), 3), "frameon": False, **kwargs}
    with context():
        return fig.legend(handles=handles, **options)


def finish_eta_rho_axes(ax, eta_edges, rho_edges, legend, handles) -> None:
    """Limits, labels and legend of a map over (learning rate, perturbation radius) cells."""
    ax.set_xlim(eta_edges[0], eta_edges[-1])
    ax.set_ylim(rho_edges[0], rho_edges[-1])
    ax.set_xlabel(r"learning rate $\eta$")
    ax.set_ylabel(r"perturbation radius $\rho$")
    add_legend(ax, legend, handles, loc="upper right")


def _stochastic(grid: StabilityGrid) -> bool:
    return grid.stochastic


def mean_square_radii(grid: StabilityGrid, etas: np.ndarray, rhos: np.ndarray) -> np.ndarray:
    """Spectral radius of the linearized method's second-moment operator over ``(rho, eta)``: ``(n_rho, n_eta)``
    (computed by ``grid.mean_square_radii``, i.e. ``theory.mean_square_radius_grid``)."""
    return grid.mean_square_radii(etas, rhos)


def _draw_mean_square(ax, grid: StabilityGrid, eta_e: np.ndarray, rho_e: np.ndarray):
    etas = np.linspace(max(eta_e[0], 1e-9), eta_e[-1], 80)
    rhos = np.linspace(rho_e[0], rho_e[-1], 80)
    radii = mean_square_radii(grid, etas, rhos)
    ax.contour(etas, rhos, radii, levels=[1.0], colors=[OKABE_ITO["green"]], linewidths=1.3)
    return Line2D([], [], color=OKABE_ITO["green"], linewidth=1.3, gid="mean_square",
                  label="mean-square edge (exact, linearized)")


def _draw_p3(ax, grid: StabilityGrid, etas: np.ndarray, rho_max: float):
    """P3 Theorem 4.1's boundary, where it applies; returns the line or None."""
    boundary = p3_boundary(grid, etas)
    if boundary is None:
        return None
    rho = np.where(boundary <= rho_max, boundary, np.nan)
    (line,) = ax.plot(etas, rho, color=OKABE_ITO["purple"], linewidth=1.3, linestyle=(0, (6, 1.5, 1.5, 1.5)),
                      gid="p3", label="P3 Thm 4.1 edge (necessary)")
    return line


def p3_boundary(grid: StabilityGrid, etas: np.ndarray):
    """``rho`` on P3 Theorem 4.1's boundary for each ``eta``, or None when the theorem does not apply.

    It applies to a stochastic method (``batch_size`` below the number of samples) at a minimum where the
    alignment constant ``gamma`` (``theory.alignment_gamma``) is positive; the edge is
    ``theory.usam_inequality_rho_edge`` (NaN where the inequality fails even at ``rho = 0``).
    """
    return grid.p3_rho_edge(np.asarray(etas, dtype=float))
