"""Tests of the stability diagrams: the simulated fates (theory.stability_fates, tested in theory) and the
boundaries drawn on top.

The closed forms are written out here (GD: eta*lam <= 2; USAM: eta*lam*(1 + rho*lam) <= 2; P3 Theorem 4.1 via
``theory.usam_stability_inequality``), so the picture is checked against the maths, not against itself.
"""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.contour import ContourSet

from samscape import dynamics, landscapes, plots, theory
from samscape.plots.diagrams import mean_square_radii, p3_boundary


@pytest.fixture(scope="module")
def quad():
    return landscapes.get("quadratic")  # Hessian diag(1, 10): lambda_max = 10


def test_stability_diagram_draws_fates_and_the_gd_and_usam_edges(quad):
    """The fate mesh, a vertical GD edge at eta = 2/lam, and a USAM curve on which eta*lam*(1 + rho*lam) = 2."""
    grid = theory.stability_fates(quad, [0.0, 0.0], lrs=np.linspace(0.01, 0.25, 10), rhos=np.linspace(0, 0.3, 8),
                                  steps=100)
    ax = plots.stability_diagram(grid)
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    np.testing.assert_array_equal(np.asarray(mesh.get_array()).reshape(grid.fates.shape),
                                  np.vectorize(theory.STABILITY_FATES.index)(grid.fates))
    (gd,) = [line for line in ax.lines if line.get_gid() == "gd"]
    assert gd.get_xdata()[0] == pytest.approx(2.0 / grid.lam, rel=1e-9)
    (usam,) = [line for line in ax.lines if line.get_gid() == "usam"]
    eta, rho = usam.get_data()
    ok = np.isfinite(rho)
    assert ok.sum() > 50
    np.testing.assert_allclose(eta[ok] * grid.lam * (1 + rho[ok] * grid.lam), 2.0, rtol=1e-9)
    assert ax.get_xlabel() == r"learning rate $\eta$" and ax.get_ylabel() == r"perturbation radius $\rho$"
    assert not any(line.get_gid() == "p3" for line in ax.lines)  # no gradient noise: Theorem 4.1 does not apply
    assert len(ax.get_legend().get_texts()) >= 3


@pytest.fixture(scope="module")
def noisy_grid():
    land = landscapes.get("tanh", xs=(0.5, 1.0, 2.0), ys=(0.0, 0.0, 0.0))
    return theory.stability_fates(land, [1.5, 0.0], lrs=np.linspace(0.05, 4.0, 12), rhos=np.linspace(0, 3.0, 10),
                                  optimizer="usam", batch_size=1, steps=200)


def test_p3_boundary_is_where_theorem_41_holds_with_equality(noisy_grid):
    """On the drawn P3 line, the two sides of ||H||_F^2 (1 + rho^2 gamma ||H||_F^2 / B) <= B/(eta^2 gamma) agree."""
    ax = plots.stability_diagram(noisy_grid)
    (line,) = [line for line in ax.lines if line.get_gid() == "p3"]
    eta, rho = line.get_data()
    ok = np.isfinite(rho) & (rho > 0)
    assert ok.sum() > 5
    hessians = noisy_grid.landscape.sample_hessians(noisy_grid.x_star)
    for e, r in zip(eta[ok][::7], rho[ok][::7]):
        check = theory.usam_stability_inequality(hessians, float(e), float(r), 1)
        assert check.lhs == pytest.approx(check.rhs, rel=1e-9)


def test_mean_square_edge_is_drawn_where_the_radius_is_one(noisy_grid):
    """The green contour follows spectral radius 1 of the second-moment operator (theory.mean_square_radius)."""
    ax = plots.stability_diagram(noisy_grid, boundaries=("mean_square",))
    (cs,) = [c for c in ax.collections if isinstance(c, ContourSet)]
    vertices = np.concatenate([p.vertices for p in cs.get_paths() if len(p.vertices)])
    hessians = noisy_grid.landscape.sample_hessians(noisy_grid.x_star)
    for e, r in vertices[:: max(1, len(vertices) // 6)]:
        radius = theory.mean_square_radius(hessians, float(e), float(r), 1).radius
        assert radius == pytest.approx(1.0, abs=0.02)
    assert mean_square_radii(noisy_grid, np.array([0.05]), np.array([0.0]))[0, 0] < 1


def test_p3_boundary_is_absent_without_noise(quad):
    grid = theory.stability_fates(quad, [0.0, 0.0], lrs=[0.1, 0.2], rhos=[0.0, 0.1], steps=10)
    assert p3_boundary(grid, np.array([0.1])) is None


def test_stability_diagram_needs_a_grid_from_the_theory(quad):
    """stability_diagram simulates nothing: anything but a StabilityGrid is a ValueError naming grid, what it got
    and samscape.theory.stability_fates; boundary names outside the four known ones are refused."""
    with pytest.raises(ValueError, match=r"^grid must be a StabilityGrid computed by "
                                         r"samscape\.theory\.stability_fates, got Landscape$"):
        plots.stability_diagram(quad)
    with pytest.raises(ValueError, match="boundaries entry must be one of"):
        grid = theory.stability_fates(quad, [0.0, 0.0], lrs=[0.1, 0.2], rhos=[0.0, 0.1], steps=5)
        plots.stability_diagram(grid, boundaries=("lyapunov",))


def test_a_momentum_grid_draws_the_edges_of_the_effective_step(quad):
    """For a grid simulated with heavy-ball momentum mu the GD line sits at 2(1 + mu)/lam and on the USAM line
    eta lam (1 + rho lam) = 2(1 + mu) (theory.edge of USAM with that momentum is lam); the cells left of the GD line at
    rho = 0 stay and those right of it do not; a StabilityEdge passed as edge= is drawn with its kind as gid."""
    mu = 0.5
    grid = theory.stability_fates(quad, [0.0, 0.0], lrs=np.linspace(0.04, 0.49, 10), rhos=np.linspace(0, 0.3, 4),
                                  optimizer="usam", hyperparameters={"momentum": mu}, steps=300)
    edge = theory.stability_edge(quad, dynamics.USAM(0.1, 0.1, momentum=mu), [0.0, 0.0], grid.lrs,
                                 rho_max=0.3)
    ax = plots.stability_diagram(grid, edge=edge)
    (gd,) = [line for line in ax.lines if line.get_gid() == "gd"]
    assert gd.get_xdata()[0] == pytest.approx(2.0 * (1 + mu) / grid.lam, rel=1e-12)
    usam = [line for line in ax.lines if line.get_gid() == "usam"]
    assert len(usam) == 2  # the boundary and the StabilityEdge, the same curve
    for line in usam:
        eta, rho = (np.asarray(a, dtype=float) for a in line.get_data())
        ok = np.isfinite(rho) & (rho > 0)
        assert ok.sum() >= 3
        np.testing.assert_allclose(eta[ok] * grid.lam * (1 + rho[ok] * grid.lam), 2.0 * (1 + mu), rtol=1e-9)
    left = grid.lrs < 2.0 * (1 + mu) / grid.lam
    assert (grid.fates[0][left] == "stable").all() and not (grid.fates[0][~left] == "stable").any()
