"""The phase diagram of a sweep (`samscape plot STORE --kind phase`): its layout as the renderer lays it out, and
the edge it draws, that of the optimizer that was swept, computed on the landscape."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")

from samscape import dynamics, landscapes, plots, sweep, theory  # noqa: E402
from samscape.sweep import cli as sweep_cli  # noqa: E402

QUARTIC = "x**2 + 0.25*y**2 + 0.1*x**4"


def _fractions(n_lr, n_rho, fates=theory.FATES):
    rng = np.random.default_rng(0)
    values = rng.dirichlet(np.ones(len(fates)), size=(n_rho, n_lr)).transpose(2, 0, 1)
    return xr.DataArray(values, dims=("fate", "rho", "lr"),
                        coords={"fate": list(fates), "rho": np.linspace(0, 2, n_rho), "lr": np.linspace(0.05, 2, n_lr)})


def _boxes(ax):
    fig = ax.figure
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    legend = fig.legends[0] if fig.legends else ax.get_legend()
    return (fig.bbox, ax.get_window_extent(renderer), ax.yaxis.label.get_window_extent(renderer),
            ax.xaxis.label.get_window_extent(renderer), ax.title.get_window_extent(renderer),
            legend.get_window_extent(renderer))


def _inside(inner, outer, tol=1.0):
    return (inner.x0 >= outer.x0 - tol and inner.x1 <= outer.x1 + tol and inner.y0 >= outer.y0 - tol
            and inner.y1 <= outer.y1 + tol)


@pytest.mark.parametrize("n_lr, n_rho, label, title", [
    (8, 8, "SAM 2-cycle edge on the landscape, λ = 2; sharpest minimizer the runs at the smallest η reached, (0, 0)",
     "samscape sweep: SAM over lr, rho, seed on x**2 + 0.25*y**2 + 0.1*x**4"),
    (3, 2, "GD edge", "short"),
    (64, 40, "USAM edge " + "with a very long explanation " * 6, "samscape sweep: " + "sin(x)*cos(y) + " * 12 + "x"),
])
def test_the_legend_sits_below_the_plot_and_covers_nothing(n_lr, n_rho, label, title):
    """The finding: the legend sat outside the Axes on the left, over the y label, and squeezed the plot into a
    strip. For short and long labels and titles and coarse and fine grids: the legend lies below the x label,
    inside the figure; it overlaps neither the cells nor the y label; the title fits the figure; and the Axes
    keep at least 60 % of the figure's width."""
    edge = theory.StabilityEdge("gd", np.array([1.0, 1.0]), np.array([0.0, 2.0]), label, np.zeros(2), 2.0)
    ax = plots.phase(_fractions(n_lr, n_rho), edge=edge, title=title)
    figure, axes, ylabel, xlabel, head, legend = _boxes(ax)
    assert _inside(legend, figure) and _inside(head, figure) and _inside(ylabel, figure)
    assert not legend.overlaps(axes) and not legend.overlaps(ylabel)
    assert legend.y1 <= xlabel.y0 + 1.0
    assert axes.width >= 0.6 * figure.width


@pytest.fixture(scope="module")
def quartic_sweep(tmp_path_factory):
    """The issue's sweep, on a finer (eta, rho) grid and with starts near the minimizer: SAM on the quartic."""
    store = tmp_path_factory.mktemp("phase") / "quartic.zarr"
    land = landscapes.from_expr(QUARTIC, ["x", "y"])
    sweep.run(land, dynamics.SAM, starts="grid:-0.5:0.5:-0.5:0.5:4x4", steps=1500,
              grid={"lr": np.linspace(0.05, 1.2, 16).tolist(), "rho": np.linspace(0.0, 1.0, 16).tolist()},
              store=store, client="synchronous", backend="numpy", progress=False)
    return str(store)


def test_the_sam_edge_drawn_on_the_quartic_separates_the_simulated_fates_within_one_cell(quartic_sweep):
    """The finding: a SAM sweep's diagram drew GD's and USAM's edges, and SAM diverges left of USAM's. The diagram
    now draws SAM's 2-cycle edge (gid "sam", labelled as such) and nothing else; every cell where most starts
    end at the minimizer lies below it and every other cell above it, except cells the curve passes within one
    cell of."""
    ax, text = sweep_cli.phase_figure(quartic_sweep)
    lines = {line.get_gid(): line for line in ax.get_lines()}
    assert set(lines) == {"sam"} and "SAM 2-cycle edge" in lines["sam"].get_label() and "SAM 2-cycle" in text
    eta, rho = (np.asarray(v, dtype=float) for v in lines["sam"].get_data())
    ds = sweep.open(quartic_sweep)
    share = sweep.fractions(ds).sel(fate="minimizer").transpose("rho", "lr").values
    lrs, rhos = ds["lr"].values, ds["rho"].values
    d_eta, d_rho = lrs[1] - lrs[0], rhos[1] - rhos[0]
    curve = np.stack([eta, np.where(np.isfinite(rho), rho, np.inf)], axis=1)
    mismatched = []
    for j, r in enumerate(rhos):
        for i, lr in enumerate(lrs):
            edge_here = np.interp(lr, eta[np.isfinite(rho)], rho[np.isfinite(rho)], left=np.inf)
            below = r < edge_here
            if (share[j, i] > 0.5) != below:
                near = np.any((np.abs(curve[:, 0] - lr) <= d_eta) & (np.abs(curve[:, 1] - r) <= d_rho))
                mismatched.append((lr, r, near))
    assert all(near for *_, near in mismatched), mismatched
    stable = share > 0.5
    assert stable.any() and (~stable).any()
