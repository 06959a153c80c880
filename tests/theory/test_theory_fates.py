"""Fates of runs and of (eta, rho) grids, computed in theory (plots only draw them)."""

import numpy as np
import pytest

from samscape import dynamics, landscapes, plots, theory


def test_classify_fates_finds_the_ring_hallucinated_circle_and_the_maximum():
    """On the ring valley with R < rho < 2R, SAM from inside the ring comes to rest on the circle of radius
    rho - R (grad f != 0 there: hallucinated); a start exactly on the maximum at the origin never moves (critical)."""
    ring = landscapes.get("p1_figure")
    radius = ring.params["ring_radius"]
    run = dynamics.simulate(ring, dynamics.SAM(0.1, 1.5 * radius), np.array([[1.7, 0.3], [0.0, 0.0]]), 400,
                            every=400, seed=0, backend="numpy", progress=False)
    assert theory.classify_fates(run, backend="numpy").tolist() == ["hallucinated", "critical"]
    assert np.linalg.norm(run.x[0]) == pytest.approx(0.5 * radius, abs=1e-6)


def test_plots_reexport_the_theory_fates():
    """plots.classify_fates, plots.stability_fates, plots.FATES are theory's (one implementation)."""
    assert plots.classify_fates is theory.classify_fates
    assert plots.stability_fates is theory.stability_fates
    assert plots.StabilityGrid is theory.StabilityGrid
    assert plots.FATES == theory.FATES


def test_stability_grid_caches_hessians_and_gamma_and_gives_the_theory_edges():
    """A stochastic grid's gamma is alignment_gamma of the sample Hessians at x*, its mean-square radii are
    mean_square_radius_grid's, and its P3 edge is usam_inequality_rho_edge's; a full-batch grid has no P3 edge."""
    land = landscapes.get("tanh", xs=(0.5, 1.0, 2.0), ys=(0.0, 0.0, 0.0))
    grid = theory.stability_fates(land, [1.5, 0.0], lrs=[0.5, 1.0], rhos=[0.0, 0.5], batch_size=1, steps=20)
    hess = land.sample_hessians(np.array([1.5, 0.0]))
    assert grid.stochastic
    assert grid.gamma == pytest.approx(theory.alignment_gamma(hess), rel=1e-14)
    assert grid.sample_hessians is grid.sample_hessians  # computed once
    np.testing.assert_allclose(grid.mean_square_radii([0.5, 1.0], [0.0, 0.5]),
                               theory.mean_square_radius_grid(hess, [0.5, 1.0], [0.0, 0.5], 1))
    np.testing.assert_allclose(grid.p3_rho_edge(np.array([0.5, 1.0])),
                               theory.usam_inequality_rho_edge(hess, [0.5, 1.0], 1))
    full = theory.stability_fates(landscapes.get("quadratic"), [0.0, 0.0], lrs=[0.1, 0.2], rhos=[0.0, 0.1], steps=5)
    assert not full.stochastic and full.p3_rho_edge(np.array([0.1])) is None
