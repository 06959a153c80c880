"""Mean-square stability, Lyapunov exponents, gamma and P3's inequalities against closed forms."""

import itertools
import math

import numpy as np
import pytest

from samscape.theory import (
    alignment_gamma,
    batch_law,
    lyapunov_exponent,
    mean_square_radius,
    mean_square_radius_grid,
    pl_conditions,
    quadratic_finite_sum,
    sgd_stability_inequality,
    usam_inequality_rho_edge,
    usam_stability_inequality,
)

H1D = np.array([[[0.9]], [[2.5]], [[1.4]]])


def _ordered_batches_radius_1d(h, lr, rho, batch):
    """E over ordered batches drawn with replacement of (1 - lr A)^2, by brute force over n^B tuples."""
    values = []
    for combo in itertools.product(h, repeat=batch):
        hb = np.mean(combo)
        values.append((1 - lr * (hb + rho * hb**2)) ** 2)
    return float(np.mean(values))


@pytest.mark.parametrize("lr, rho, batch", [(1.0, 0.0, 1), (0.6, 0.0, 2), (0.5, 0.3, 1), (0.4, 0.5, 3)])
def test_mean_square_radius_in_1d_is_the_second_moment_of_the_factor(lr, rho, batch):
    """In 1-D the second-moment operator is the number E[(1 - lr A_xi)^2]; batches with replacement, A = H + rho H^2."""
    h = H1D[:, 0, 0]
    result = mean_square_radius(H1D, lr, rho, batch)
    assert result.radius == pytest.approx(_ordered_batches_radius_1d(h, lr, rho, batch), rel=1e-13)
    assert result.range_dim == 1 and result.method.startswith("exact")
    assert result.stable == (result.radius <= 1)


def test_mean_square_radius_matches_a_kronecker_sum_in_2d():
    """For full-rank H the operator is E[(I - lr H_i) (x) (I - lr H_i)]; its spectral radius from np.kron directly."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 2, 2))
    hess = np.einsum("nij,nkj->nik", a, a)
    lr = 0.3
    op = np.mean([np.kron(np.eye(2) - lr * h, np.eye(2) - lr * h) for h in hess], axis=0)
    expected = np.max(np.abs(np.linalg.eigvals(op)))
    assert mean_square_radius(hess, lr).radius == pytest.approx(expected, rel=1e-12)


def test_null_directions_of_h_are_left_out():
    """At an interpolating minimum the directions where every H_i vanishes are neutral; the radius is over range(H)."""
    hess = np.array([np.diag([2.0, 0.0]), np.diag([1.0, 0.0])])
    result = mean_square_radius(hess, 0.5)
    assert result.range_dim == 1
    assert result.radius == pytest.approx(((1 - 0.5 * 2) ** 2 + (1 - 0.5 * 1) ** 2) / 2)


def test_batch_law_weights_are_multinomial_and_large_laws_are_sampled():
    """With replacement, the batch {0,0} of 3 samples has probability 1/9 and {0,1} 2/9; too many multisets -> Monte Carlo."""
    law = batch_law(3, 2)
    weights = {tuple(c): w for c, w in zip(law.counts.tolist(), law.weights)}
    assert len(weights) == math.comb(4, 2) and law.exact
    assert weights[(2, 0, 0)] == pytest.approx(1 / 9) and weights[(1, 1, 0)] == pytest.approx(2 / 9)
    big = batch_law(10, 8, max_batches=1000, n_draws=500)
    assert not big.exact and big.weights.sum() == pytest.approx(1.0) and "Monte Carlo" in big.description


def test_lyapunov_exponent_in_1d_is_the_mean_log_factor():
    """In 1-D (and for commuting H_i) the exponent is exact: E log|1 - lr A_xi|."""
    h = H1D[:, 0, 0]
    result = lyapunov_exponent(H1D, 1.0)
    assert result.exponent == pytest.approx(np.mean(np.log(np.abs(1 - h))), rel=1e-13)
    assert result.stderr == 0.0 and result.method.startswith("exact")
    hess = np.array([np.diag([0.5, 3.0]), np.diag([1.5, 0.2])])
    lyap = lyapunov_exponent(hess, 0.8, 0.1)
    per_direction = [np.mean(np.log(np.abs(1 - 0.8 * (d + 0.1 * d**2)))) for d in (np.array([0.5, 1.5]), np.array([3.0, 0.2]))]
    assert lyap.exponent == pytest.approx(max(per_direction), rel=1e-13)


def test_lyapunov_exponent_of_non_commuting_scaled_reflections():
    """If I - lr H_i = c_i (I - 2 u_i u_i^T) (a scaled reflection), every step scales lengths by c_i exactly, so the
    exponent is E log c_i even though the H_i do not commute; the QR estimate must agree within 4 standard errors."""
    c = np.array([0.5, 0.8])
    u = np.array([[1.0, 0.0], [math.cos(1.0), math.sin(1.0)]])
    hess = np.array([np.eye(2) - ci * (np.eye(2) - 2 * np.outer(ui, ui)) for ci, ui in zip(c, u)])
    result = lyapunov_exponent(hess, 1.0, steps=4000, seed=1)
    assert "QR" in result.method
    assert abs(result.exponent - np.mean(np.log(c))) <= 4 * result.stderr + 1e-12


def test_alignment_gamma_in_1d_is_relative_variance():
    """In 1-D, gamma = (E[h_i H h_i] - H^3)/(H * H^2) = Var(h)/H^2; identical samples give 0."""
    h = H1D[:, 0, 0]
    assert alignment_gamma(H1D) == pytest.approx(np.var(h) / np.mean(h) ** 2, rel=1e-13)
    assert alignment_gamma(np.array([np.diag([1.0, 2.0])] * 3)) == pytest.approx(0.0, abs=1e-15)


def test_alignment_gamma_is_the_minimum_of_its_rayleigh_quotient():
    """gamma is a minimum over x in range(H): no sampled x gives a smaller quotient, and some come close."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 3, 3))
    hess = np.einsum("nij,nkj->nik", a, a)
    mean = hess.mean(axis=0)
    num = np.einsum("nab,bc,ncd->ad", hess, mean, hess) / 4 - mean @ mean @ mean
    frob2 = np.sum(mean * mean)
    xs = rng.standard_normal((20000, 3))
    quotients = np.einsum("ka,ab,kb->k", xs, num, xs) / (np.einsum("ka,ab,kb->k", xs, mean, xs) * frob2)
    gamma = alignment_gamma(hess)
    assert gamma <= quotients.min() + 1e-12
    assert quotients.min() <= gamma * 1.05


def test_inequalities_in_1d_have_closed_forms():
    """With F = H^2 and gamma = Var/H^2: SGD's lhs is F, USAM's F(1 + rho^2 gamma F/B); rhs = B/(lr^2 gamma)."""
    h = H1D[:, 0, 0]
    mean, gamma = h.mean(), np.var(h) / h.mean() ** 2
    sgd = sgd_stability_inequality(H1D, 0.7, 2)
    assert sgd.lhs == pytest.approx(mean**2) and sgd.rhs == pytest.approx(2 / (0.49 * gamma))
    usam = usam_stability_inequality(H1D, 0.7, 0.4, 2)
    assert usam.lhs == pytest.approx(mean**2 * (1 + 0.16 * gamma * mean**2 / 2))
    assert usam.growth_factor == pytest.approx(0.49 * gamma * usam.lhs / 2)
    assert usam.holds == (usam.lhs <= usam.rhs)
    assert sgd_stability_inequality(np.array([[[2.0]]] * 2), 1.0).rhs == math.inf  # no noise: no constraint


def test_mean_square_stability_implies_the_sgd_inequality():
    """P3's SGD counterpart is a necessary condition: on random sets every mean-square stable case satisfies it."""
    rng = np.random.default_rng(5)
    for _ in range(30):
        g = rng.standard_normal((4, 2))
        hess = np.einsum("ni,nj->nij", g, g)
        for lr in (0.2, 0.5, 1.0, 1.5):
            ms = mean_square_radius(hess, lr)
            ineq = sgd_stability_inequality(hess, lr)
            assert (not ms.stable) or ineq.holds
            if not ineq.holds:
                assert ms.radius >= ineq.growth_factor * (1 - 1e-12)


def test_pl_conditions_closed_form_for_diagonal_samples():
    """H_1 = diag(1, 2), H_2 = diag(3, 2): H = 2I (mu = L = 2), E H_i^2 - H^2 = diag(1, 0), so sigma^2 = 2 * 1/2 = 1;
    lr_max = min(1/2, mu B/(2 L sigma^2)) = 1/2, rho_max = min(1/2, 1/4, lr mu^2/(24 L^2))."""
    hess = np.array([np.diag([1.0, 2.0]), np.diag([3.0, 2.0])])
    result = pl_conditions(hess, 0.3, 0.01)
    assert (result.mu, result.smoothness) == (pytest.approx(2.0), pytest.approx(2.0))
    assert result.sigma2 == pytest.approx(1.0)
    assert result.lr_max == pytest.approx(0.5)
    assert result.rho_max == pytest.approx(min(0.25, 0.3 / 24))
    assert result.holds and result.rate == pytest.approx(1 - 0.3)


def test_quadratic_finite_sum_has_the_given_sample_hessians():
    """quadratic_finite_sum(H) builds L = mean_i x^T H_i x / 2: its per-sample Hessians are the H_i everywhere."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 2, 2))
    hess = np.einsum("nij,nkj->nik", a, a)
    land = quadratic_finite_sum(hess)
    x = np.array([0.3, -1.1])
    np.testing.assert_allclose(land.sample_hessians(x), hess, atol=1e-14)
    assert land.value(x) == pytest.approx(0.5 * x @ hess.mean(axis=0) @ x)


@pytest.mark.parametrize("call, name", [
    (lambda: mean_square_radius(np.ones((2, 2, 3)), 0.1), "hessians"),
    (lambda: mean_square_radius(np.array([[[1.0, 2.0], [0.0, 1.0]]]), 0.1), "symmetric"),
    (lambda: mean_square_radius(H1D, -0.1), "lr"),
    (lambda: mean_square_radius(H1D, 0.1, -1.0), "rho"),
    (lambda: mean_square_radius(H1D, 0.1, 0.0, 0), "batch_size"),
    (lambda: mean_square_radius(H1D, 0.1, 0.0, 1, n_draws=0), "n_draws must be a positive integer, got 0"),
    (lambda: mean_square_radius(H1D, 0.1, 0.0, 1, max_batches=-1), "max_batches must be a positive integer, got -1"),
    (lambda: alignment_gamma(np.zeros((2, 2, 2))), "hessians"),
])
def test_bad_input_names_the_parameter(call, name):
    """Bad input is one ValueError that names the parameter."""
    with pytest.raises(ValueError, match=name):
        call()


def test_mean_square_radius_grid_matches_the_radius_cell_by_cell():
    """mean_square_radius_grid(h, lrs, rhos, B)[i, j] is mean_square_radius(h, lrs[j], rhos[i], B).radius:
    the same second-moment operator, with the batch law and range(H) computed once."""
    g = np.array([[1.0, 0.2], [0.3, -0.9], [-0.6, 0.5]])
    hess = np.einsum("ni,nj->nij", g, g)
    lrs, rhos = np.array([0.1, 0.5, 1.3]), np.array([0.0, 0.2])
    for batch in (1, 2):
        grid = mean_square_radius_grid(hess, lrs, rhos, batch)
        assert grid.shape == (2, 3)
        for i, rho in enumerate(rhos):
            for j, lr in enumerate(lrs):
                expected = mean_square_radius(hess, lr, rho, batch).radius
                assert grid[i, j] == pytest.approx(expected, rel=1e-12)


def test_usam_inequality_rho_edge_is_where_both_sides_agree():
    """At rho = usam_inequality_rho_edge(h, lr, B) the two sides of P3 Theorem 4.1 are equal; the closed form
    rho^2 = (B/(lr^2 gamma F) - 1) B/(gamma F), F = ||H||_F^2; NaN where it fails at rho = 0; inf without noise."""
    g = np.array([[1.0, 0.2], [0.3, -0.9], [-0.6, 0.5], [0.1, 1.2]])
    hess = np.einsum("ni,nj->nij", g, g)
    lrs = np.array([0.05, 0.1, 0.2, 5.0])
    edge = usam_inequality_rho_edge(hess, lrs, 2)
    gamma, frob2 = alignment_gamma(hess), float(np.sum(hess.mean(axis=0) ** 2))
    expected = np.sqrt((2 / (lrs**2 * gamma * frob2) - 1) * 2 / (gamma * frob2) + 0j).real
    np.testing.assert_allclose(edge[:3], expected[:3], rtol=1e-12)
    for lr, rho in zip(lrs[:3], edge[:3]):
        check = usam_stability_inequality(hess, lr, rho, 2)
        assert check.lhs == pytest.approx(check.rhs, rel=1e-12)
    assert np.isnan(edge[3])
    same = np.stack([np.diag([1.0, 2.0])] * 3)  # every sample the same: gamma = 0
    assert np.all(np.isinf(usam_inequality_rho_edge(same, lrs, 1)))
