"""Fates of runs and of (eta, rho) grids, computed in theory (plots only draw them)."""

import numpy as np
import pytest

from samscape import dynamics, landscapes, theory


def test_classify_fates_finds_the_ring_hallucinated_circle_and_the_maximum():
    """On the ring valley with R < rho < 2R, SAM from inside the ring comes to rest on the circle of radius
    rho - R (grad f != 0 there: hallucinated); a start exactly on the maximum at the origin never moves (critical)."""
    ring = landscapes.get("p1_figure")
    radius = ring.params["ring_radius"]
    run = dynamics.simulate(ring, dynamics.SAM(0.1, 1.5 * radius), np.array([[1.7, 0.3], [0.0, 0.0]]), 400,
                            every=400, seed=0, backend="numpy", progress=False)
    assert theory.classify_fates(run, backend="numpy").tolist() == ["hallucinated", "critical"]
    assert np.linalg.norm(run.x[0]) == pytest.approx(0.5 * radius, abs=1e-6)


def _sim(land, opt, x0, steps, every=1, **kw):
    return dynamics.simulate(land, opt, x0, steps, every=every, seed=0, backend="numpy", progress=False, **kw)


def test_classify_fates_on_known_cases():
    """minimizer (GD at a quadratic bottom, SAM bouncing around it), diverged (GD beyond 2/lambda), moving (too few
    steps)."""
    quad = landscapes.get("quadratic")
    lam = float(np.linalg.eigvalsh(quad.hessian(np.zeros(quad.dim))).max())
    gd = _sim(quad, dynamics.GD(1.0 / lam), [[0.5, -0.4]], 300)
    sam = _sim(quad, dynamics.SAM(1.0 / lam, 0.05), [[0.5, -0.4]], 300)
    bad = _sim(quad, dynamics.GD(3.0 / lam), [[0.5, -0.4]], 300, bound=1e3)
    slow = _sim(quad, dynamics.GD(1e-3 / lam), [[0.5, -0.4]], 5)
    assert theory.classify_fates(gd).tolist() == ["minimizer"]
    assert theory.classify_fates(sam).tolist() == ["minimizer"]
    assert theory.classify_fates(bad).tolist() == ["diverged"]
    assert theory.classify_fates(slow).tolist() == ["moving"]


def test_classify_fates_rejects_bad_tolerances():
    """A negative grad_tol is a ValueError naming grad_tol, what is allowed and the value."""
    quad = landscapes.get("quadratic")
    run = _sim(quad, dynamics.GD(0.05), [[0.5, -0.4]], 5)
    with pytest.raises(ValueError, match="grad_tol must be a finite number > 0, got -1"):
        theory.classify_fates(run, grad_tol=-1)


def test_advance_replays_the_run_exactly_from_step_zero():
    """advance(run, x0, 0, T) reproduces run.xs bit for bit, also for a stochastic optimizer (same seed)."""
    land = landscapes.get("eigen_manifold_sum")
    run = _sim(land, dynamics.SAM(0.1, 0.1, batch_size=1), np.array([[0.3, 0.2, -0.1], [1.0, 0.1, 0.1]]), 25)
    np.testing.assert_array_equal(theory.advance(run, run.x0, 0, 25), run.xs)


@pytest.fixture(scope="module")
def quad():
    return landscapes.get("quadratic")  # Hessian diag(1, 10): lambda_max = 10


def _away_from(boundary_value, margin=0.05):
    return np.abs(boundary_value - 2.0) > 2.0 * margin


def test_gd_fates_follow_eta_lambda_below_two(quad):
    """GD at the bottom of a quadratic stays iff eta * lambda_max < 2 (cells near the edge excluded)."""
    lrs = np.linspace(0.02, 0.4, 20)
    grid = theory.stability_fates(quad, [0.0, 0.0], lrs=lrs, rhos=[0.0, 1.0], optimizer="gd", steps=300)
    assert grid.lam == pytest.approx(10.0)
    product = np.broadcast_to(lrs * grid.lam, grid.fates.shape)
    keep = _away_from(product)
    np.testing.assert_array_equal((grid.fates == "stable")[keep], (product < 2)[keep])


def test_usam_fates_follow_the_usam_edge(quad):
    """USAM stays iff eta*lam*(1 + rho*lam) < 2, cell by cell (cells within 5 % of the edge excluded)."""
    lrs = np.linspace(0.01, 0.25, 16)
    rhos = np.linspace(0.0, 0.3, 13)
    grid = theory.stability_fates(quad, [0.0, 0.0], lrs=lrs, rhos=rhos, optimizer="usam", steps=400)
    eta, rho = np.meshgrid(lrs, rhos)
    product = eta * grid.lam * (1 + rho * grid.lam)
    keep = _away_from(product)
    assert keep.sum() > 150
    np.testing.assert_array_equal((grid.fates == "stable")[keep], (product < 2)[keep])


@pytest.mark.parametrize("kwargs, fragment", [
    ({"lrs": [0.2, 0.1], "rhos": [0, 1]}, "lrs must be an increasing"),
    ({"lrs": [0.1, 0.2], "rhos": [0, 1], "optimizer": "adam"}, "optimizer must be one of"),
    ({"lrs": [0.1, 0.2], "rhos": [0, 1], "optimizer": "sgd"}, "batch_size must be a positive integer"),
    ({"lrs": [0.0, 0.2], "rhos": [0, 1]}, "lrs must be > 0"),
])
def test_stability_fates_reject_bad_input(quad, kwargs, fragment):
    """Bad grid axes, an unknown optimizer or SGD without a batch size: a ValueError naming the parameter."""
    with pytest.raises(ValueError, match=fragment):
        theory.stability_fates(quad, [0.0, 0.0], **kwargs)


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


@pytest.mark.filterwarnings("ignore:batch_size=1 on landscape 'quadratic'")
def test_run_phases_unwraps_nested_switches():
    """Switch(GD, Switch(SGD, SAM, at=20), at=10) over 30 steps ran GD on [0, 10), SGD on [10, 20), SAM on
    [20, 30]; a side that never runs is left out; classify_fates judges such a run by its last optimizer."""
    from samscape.theory.fates import run_phases

    quad = landscapes.get("quadratic")
    gd, sgd, sam = dynamics.GD(0.1), dynamics.SGD(0.1, 1), dynamics.SAM(0.1, 0.05)
    run = _sim(quad, dynamics.Switch(gd, dynamics.Switch(sgd, sam, 20), 10), [[0.5, -0.4]], 30)
    assert run_phases(run) == [(gd, 0, 10), (sgd, 10, 20), (sam, 20, 30)]
    late = _sim(quad, dynamics.Switch(gd, dynamics.Switch(sgd, sam, 50), 10), [[0.5, -0.4]], 30)
    assert run_phases(late) == [(gd, 0, 10), (sgd, 10, 30)]
    assert theory.classify_fates(run).tolist() == ["minimizer"]
