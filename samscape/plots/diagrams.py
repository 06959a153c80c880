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


def stability_diagram(grid, *, boundaries=("gd", "usam", "p3", "mean_square"), ax=None, legend=True):
    """Fates of simulations over ``(eta, rho)`` with the theory's stability boundaries drawn on top.

    ``grid`` is a :class:`samscape.theory.StabilityGrid`, simulated by :func:`samscape.theory.stability_fates`.

    Boundaries, from ``lam = lambda_max(H(x_star))``:

    * ``"gd"``: ``eta = 2/lam`` (vertical), where GD/SGD's edge ``theory.gd_threshold`` meets ``lam``;
    * ``"usam"``: ``eta*lam*(1 + rho*lam) = 2``, from ``theory.usam_threshold``;
    * ``"p3"``: P3 Theorem 4.1's necessary condition ``||H||_F^2 (1 + rho^2 gamma ||H||_F^2 / B) <= B/(eta^2 gamma)``;
      drawn only where it applies: a stochastic method on a finite sum with alignment ``gamma > 0``;
    * ``"mean_square"``: where the exact second-moment operator of the linearized stochastic method has spectral
      radius 1 (``theory.mean_square_radius``): the ground truth that Theorem 4.1 bounds; stochastic runs only.

    For a stochastic run ``gd`` and ``usam`` are the full-batch edges of the mean Hessian.

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
        if "gd" in boundaries:
            eta_gd = gd_boundary(lam, eta_e[-1])
            if np.isfinite(eta_gd):
                handles.append(ax.axvline(eta_gd, color="black", linestyle=(0, (4, 2)), linewidth=1.1, gid="gd",
                                          label=rf"{prefix}GD edge $\eta = 2/\lambda$ = {eta_gd:.3g}"))
        simulated = grid.linear_map  # GD's for GD and SGD, USAM's or SAM's; None for per-sample ascents
        if "usam" in boundaries and simulated is not None and simulated.uses_rho:
            rho_usam = usam_boundary(lam, eta_fine, rho_e[-1])
            (line,) = ax.plot(eta_fine, rho_usam, color="black", linewidth=1.4, gid="usam",
                              label=prefix + r"USAM edge $\eta\lambda(1+\rho\lambda) = 2$")
            handles.append(line)
        if "p3" in boundaries:
            line = _draw_p3(ax, grid, eta_fine, rho_e[-1])
            if line is not None:
                handles.append(line)
        if "mean_square" in boundaries and noisy and simulated is not None and simulated.linear:
            handles.append(_draw_mean_square(ax, grid, eta_e, rho_e))
        finish_eta_rho_axes(ax, eta_e, rho_e, legend, handles)
    return ax


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
