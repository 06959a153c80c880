"""Closed-form thresholds and update-map Jacobians against SymPy and finite differences."""

import numpy as np
import pytest
import sympy as sp

from samscape import landscapes
from samscape.dynamics import GD, SAM, SGD, USAM, RandomSAM, Switch
from samscape.theory import (
    fixed_point_stability,
    gd_lr_edge,
    gd_threshold,
    sam_edge,
    sam_two_cycle,
    update_jacobian,
    usam_factor,
    usam_rho_edge,
    usam_threshold,
)

LAM = sp.Symbol("lam", positive=True)


def _positive_root(equation):
    return float([r for r in sp.solve(equation, LAM) if r.is_positive][0])


def test_gd_threshold_is_two_over_lr():
    """GD is stable at curvature lam iff lr*lam <= 2, so the largest stable curvature is 2/lr (vectorized too)."""
    assert gd_threshold(0.25) == 8.0
    np.testing.assert_allclose(gd_threshold(np.array([0.5, 2.0])), [4.0, 1.0])


@pytest.mark.parametrize("lr, rho", [(sp.Rational(1, 2), sp.Rational(1, 2)), (sp.Rational(1, 10), sp.Rational(1, 20)),
                                     (sp.Rational(3, 2), sp.Rational(1, 2))])
def test_usam_threshold_solves_the_stability_equation(lr, rho):
    """usam_threshold is the positive root of lr*lam*(1 + rho*lam) = 2 (SymPy solves the quadratic exactly)."""
    expected = _positive_root(lr * LAM * (1 + rho * LAM) - 2)
    assert usam_threshold(float(lr), float(rho)) == pytest.approx(expected, rel=1e-14)


def test_usam_threshold_reduces_to_gd_at_rho_zero_and_is_stable_for_tiny_rho():
    """At rho = 0 USAM is GD (threshold 2/lr); for tiny rho the closed form must not lose digits to cancellation."""
    assert usam_threshold(0.1, 0.0) == pytest.approx(20.0, rel=1e-15)
    rho = 1e-12
    # series of the root: 2/lr - 4 rho/lr^2 + O(rho^2)
    assert usam_threshold(0.1, rho) == pytest.approx(20.0 - 4 * rho / 0.01, rel=1e-14)


@pytest.mark.parametrize("lr, rho, lam", [(sp.Rational(1, 2), sp.Rational(1, 2), sp.Rational(3)),
                                          (sp.Rational(1, 10), sp.Integer(0), sp.Rational(25)),
                                          (sp.Rational(3, 2), sp.Rational(1, 4), sp.Rational(-1, 3))])
def test_usam_factor_is_the_per_step_factor_of_the_linear_map(lr, rho, lam):
    """USAM's error along an eigenvector of curvature lam is multiplied by |1 - lr*lam*(1 + rho*lam)| per step:
    the derivative of z -> z - lr*lam*(z + rho*lam*z) (SymPy); rho = 0 gives GD's |1 - lr*lam|."""
    z = sp.Symbol("z")
    step = z - lr * lam * (z + rho * lam * z)
    expected = float(sp.Abs(sp.diff(step, z)))
    assert usam_factor(float(lr), float(rho), float(lam)) == pytest.approx(expected, rel=1e-14)
    np.testing.assert_allclose(usam_factor(0.5, 0.0, np.array([1.0, 3.0, 5.0])), [0.5, 0.5, 1.5], rtol=1e-15)


@pytest.mark.parametrize("lr, lam", [(sp.Rational(1, 2), sp.Rational(3)), (sp.Rational(1, 10), sp.Rational(7)),
                                     (sp.Rational(2, 3), sp.Rational(3))])
def test_usam_rho_edge_and_gd_lr_edge_invert_the_stability_equations(lr, lam):
    """usam_rho_edge(lr, lam) is the rho solving lr*lam*(1 + rho*lam) = 2 and gd_lr_edge(lam) the lr solving
    lr*lam = 2 (both solved by SymPy); at that rho usam_threshold(lr, rho) gives lam back."""
    rho_sym, lr_sym = sp.Symbol("rho"), sp.Symbol("lr")
    expected_rho = float(sp.solve(lr * lam * (1 + rho_sym * lam) - 2, rho_sym)[0])
    assert usam_rho_edge(float(lr), float(lam)) == pytest.approx(expected_rho, rel=1e-14, abs=1e-15)
    assert gd_lr_edge(float(lam)) == pytest.approx(float(sp.solve(lr_sym * lam - 2, lr_sym)[0]), rel=1e-15)
    if expected_rho > 0:
        assert usam_threshold(float(lr), expected_rho) == pytest.approx(float(lam), rel=1e-12)


def test_usam_rho_edge_is_nan_where_no_rho_is_stable():
    """For lr*lam > 2 even rho = 0 (GD) is unstable, so there is no edge in rho: NaN; arrays broadcast."""
    out = usam_rho_edge(np.array([0.1, 0.2, 0.3]), 10.0)
    np.testing.assert_allclose(out[:2], [0.1, 0.0], atol=1e-15)
    assert np.isnan(out[2])


def test_sam_edge_solves_long_bartlett_equation():
    """sam_edge(lr, rho, g) solves lr*lam*(1 + rho*lam/g) = 2 (SymPy), and tends to 0 as the gradient vanishes."""
    lr, rho, g = sp.Rational(1, 5), sp.Rational(1, 10), sp.Rational(3, 10)
    expected = _positive_root(lr * LAM * (1 + rho * LAM / g) - 2)
    assert sam_edge(0.2, 0.1, 0.3) == pytest.approx(expected, rel=1e-14)
    assert sam_edge(0.2, 0.1, 0.0) == 0.0
    assert sam_edge(0.2, 0.0, 0.0) == pytest.approx(10.0)  # no ascent: plain GD


def test_sam_two_cycle_is_the_period_two_orbit_of_the_1d_map():
    """On lam*z^2/2, SAM maps z > 0 to (1 - lr*lam) z - lr*lam*rho; the 2-cycle z -> -z solves that map = -z."""
    lr, rho, lam, z = sp.Rational(1, 4), sp.Rational(1, 10), sp.Integer(3), sp.Symbol("z", positive=True)
    cycle = sp.solve((1 - lr * lam) * z - lr * lam * rho + z, z)[0]
    assert sam_two_cycle(0.25, 0.1, 3.0) == pytest.approx(float(cycle), rel=1e-15)
    with pytest.raises(ValueError, match="lr \\* lam must be < 2"):
        sam_two_cycle(1.0, 0.1, 2.5)


@pytest.mark.parametrize("call", [
    lambda: gd_threshold(0.0), lambda: gd_threshold(-1), lambda: usam_threshold(0.1, -0.2),
    lambda: sam_edge(0.1, 0.1, -1.0), lambda: gd_threshold("fast"), lambda: usam_threshold(np.array([0.1, np.nan]), 0.1),
])
def test_thresholds_reject_bad_input(call):
    """Bad hyperparameters raise a ValueError naming the parameter."""
    with pytest.raises(ValueError, match="lr|rho|grad_norm"):
        call()


def test_gd_and_usam_jacobians_on_a_quadratic():
    """On L = x^T A x/2 the GD Jacobian is I - lr A and USAM's is I - lr A (I + rho A): eigenvalues 1 - lr a (1 + rho a)."""
    land = landscapes.get("quadratic", eigenvalues=(0.5, 3.0), angle=0.4)
    a = np.array([0.5, 3.0])
    gd = fixed_point_stability(land, GD(0.3), np.zeros(2))
    np.testing.assert_allclose(np.sort(gd.eigenvalues.real), np.sort(1 - 0.3 * a), atol=1e-14)
    usam = fixed_point_stability(land, USAM(0.3, 0.2), np.zeros(2))
    expected = 1 - 0.3 * a * (1 + 0.2 * a)
    np.testing.assert_allclose(np.sort(usam.eigenvalues.real), np.sort(expected), atol=1e-14)
    assert usam.spectral_radius == pytest.approx(np.max(np.abs(expected)))
    assert usam.stable and usam.method == "exact" and usam.residual == 0.0


def test_sam_jacobian_matches_central_differences_away_from_critical_points():
    """Where grad L != 0 SAM's map is smooth; its exact Jacobian agrees with central differences of the update."""
    land = landscapes.get("himmelblau")
    opt = SAM(0.01, 0.3)
    points = np.array([[1.0, 1.0], [-2.0, 0.5], [0.3, -1.7]])
    jac, fallback = update_jacobian(land, opt, points)
    assert not fallback.any()
    step = lambda y: y - 0.01 * land.grad(y + 0.3 * land.grad(y) / np.linalg.norm(land.grad(y)))
    h = 1e-6
    for k, x in enumerate(points):
        numeric = np.empty((2, 2))
        for j in range(2):
            e = np.zeros(2)
            e[j] = h
            numeric[:, j] = (step(x + e) - step(x - e)) / (2 * h)
        np.testing.assert_allclose(jac[k], numeric, rtol=1e-6, atol=1e-7)


def test_sam_jacobian_at_a_hallucinated_point_in_1d_is_one_minus_lr_curvature():
    """In 1-D the projector I - u u^T vanishes, so at a hallucinated point DT = 1 - lr f''(x+) (THEORY.md 5)."""
    land = landscapes.get("double_well", c=0.0)  # f = (z^2-1)^2/4, f''(1) = 2; rho = 1.5 gives xbar = -0.5
    report = fixed_point_stability(land, SAM(0.8, 1.5), np.array([-0.5]))
    assert report.eigenvalues[0].real == pytest.approx(1 - 0.8 * 2.0, abs=1e-12)
    assert report.stable and report.residual < 1e-14


def test_sam_at_a_stationary_point_uses_finite_differences_and_says_so():
    """SAM's map is not differentiable where grad L = 0: the report uses a finite difference, says so, and finds the
    minimum repelling (entries of order rho/step)."""
    land = landscapes.get("quadratic", eigenvalues=(1.0, 2.0))
    report = fixed_point_stability(land, SAM(0.1, 0.05), np.zeros(2))
    assert report.method == "finite-difference"
    assert "not differentiable" in report.note
    assert not report.stable and report.spectral_radius > 1e3


def test_vectorized_points_give_one_report_per_point():
    """x of shape (k, dim) gives eigenvalues (k, dim) and radii (k,)."""
    land = landscapes.get("quadratic", eigenvalues=(1.0, 2.0))
    report = fixed_point_stability(land, GD(0.5), np.zeros((4, 2)))
    assert report.eigenvalues.shape == (4, 2) and report.spectral_radius.shape == (4,)
    np.testing.assert_allclose(report.spectral_radius, 0.5)


@pytest.mark.parametrize("optimizer", [SGD(0.1, 1), RandomSAM(0.1, 0.05), Switch(GD(0.1), SAM(0.1, 0.1), at=3),
                                       SAM(0.1, 0.05, batch_size=1)])
def test_stochastic_optimizers_are_rejected(optimizer):
    """Fixed-point stability is about a deterministic map; a stochastic optimizer is a ValueError naming it."""
    land = landscapes.get("tanh", xs=(1.0, 2.0), ys=(0.0, 0.0))
    with pytest.raises(ValueError, match="optimizer must be deterministic"):
        fixed_point_stability(land, optimizer, np.array([1.0, 0.0]))


@pytest.mark.parametrize("optimizer, hint", [
    (RandomSAM(0.1, 0.1), "random direction"),
    (SGD(0.1, 1), "GD is its full-batch counterpart"),
    (SAM(0.1, 0.05, batch_size=1), "batch_size=None"),
    (Switch(GD(0.1), SAM(0.1, 0.1), at=3), "optimizer.second"),
])
def test_stochastic_rejection_names_the_optimizer_given_and_what_to_pass_instead(optimizer, hint):
    """The error shows optimizer.describe() and a hint for that optimizer; only a Switch is told to pass a phase."""
    land = landscapes.get("tanh", xs=(1.0, 2.0), ys=(0.0, 0.0))
    with pytest.raises(ValueError) as error:
        fixed_point_stability(land, optimizer, np.array([1.0, 0.0]))
    message = str(error.value)
    assert optimizer.describe() in message and hint in message
    assert ("Switch" in message) == isinstance(optimizer, Switch)


def test_per_start_arrays_and_bad_points_are_rejected():
    """A per-start lr array has no single Jacobian; a point of the wrong shape names x."""
    land = landscapes.get("quadratic", eigenvalues=(1.0, 2.0))
    with pytest.raises(ValueError, match="lr must be a single number"):
        fixed_point_stability(land, GD(np.array([0.1, 0.2])), np.zeros(2))
    with pytest.raises(ValueError, match="x must have shape"):
        fixed_point_stability(land, GD(0.1), np.zeros(3))


def test_thresholds_accept_numpy_scalars_and_zero_d_arrays():
    """np.float64 and 0-d arrays are scalars: gd_threshold(np.array(0.5)) is 2/0.5 = 4."""
    assert gd_threshold(np.array(0.5)) == 4.0
    assert usam_threshold(np.float64(0.1), np.array(0.0)) == pytest.approx(20.0)


@pytest.mark.parametrize("u", [2.0, 0.5, -1.3])
def test_on_the_tanh_valley_tangent_and_normal_eigenvalues_are_reported_apart(u):
    """On tanh's line of minimizers v = 0 the Hessian is diag(0, tanh(u)^2): GD's Jacobian has eigenvalue exactly 1
    along the line (tangent) and 1 - lr tanh(u)^2 across it (normal), USAM's normal one is
    1 - lr lam (1 + rho lam) with lam = tanh(u)^2. stable (spectral radius < 1) is False everywhere on the line;
    normally_stable says whether nearby starts fall back onto it."""
    land = landscapes.get("tanh")
    lam = np.tanh(u) ** 2
    gd = fixed_point_stability(land, GD(0.5), np.array([u, 0.0]))
    assert gd.tangent_dim == 1
    np.testing.assert_allclose(gd.tangent_eigenvalues, [1.0], atol=1e-15)
    np.testing.assert_allclose(gd.normal_eigenvalues, [1 - 0.5 * lam], rtol=1e-14)
    assert not gd.stable and gd.normally_stable and gd.normal_radius == pytest.approx(abs(1 - 0.5 * lam), rel=1e-14)
    usam = fixed_point_stability(land, USAM(0.5, 0.2), np.array([u, 0.0]))
    np.testing.assert_allclose(usam.normal_eigenvalues, [1 - 0.5 * lam * (1 + 0.2 * lam)], rtol=1e-14)
    big_step = fixed_point_stability(land, GD(2.5 / lam), np.array([u, 0.0]))  # 1 - lr lam = -1.5
    assert not big_step.normally_stable and big_step.normal_radius == pytest.approx(1.5, rel=1e-12)


def test_a_batch_of_points_pads_the_split_with_nan_and_isolated_minima_have_no_tangent():
    """For many points the tangent/normal eigenvalues are (k, dim) with NaN where a part is shorter; at a strict
    minimum (quadratic, eigenvalues 1 and 3) the tangent space is empty and normally_stable equals stable; off the
    critical set (grad != 0) there is no tangent space either."""
    land = landscapes.get("tanh")
    report = fixed_point_stability(land, GD(0.5), np.array([[2.0, 0.0], [0.3, 0.2]]))
    np.testing.assert_array_equal(report.tangent_dim, [1, 0])
    assert np.isnan(report.tangent_eigenvalues[0, 1]) and np.isnan(report.tangent_eigenvalues[1]).all()
    np.testing.assert_allclose(np.sort(report.normal_eigenvalues[1].real), np.sort(report.eigenvalues[1].real))
    quad = fixed_point_stability(landscapes.get("quadratic", eigenvalues=(1.0, 3.0)), GD(0.4), np.zeros(2))
    assert quad.tangent_dim == 0 and quad.tangent_eigenvalues.size == 0
    np.testing.assert_allclose(np.sort(quad.normal_eigenvalues.real), [1 - 0.4 * 3.0, 1 - 0.4 * 1.0], atol=1e-15)
    assert quad.normally_stable == quad.stable


def test_stability_reports_render_as_escaped_html_tables():
    """FixedPointStability (one point and many) and MeanSquareStability show as HTML tables with their numbers."""
    from samscape.theory import mean_square_radius

    land = landscapes.get("tanh")
    one = fixed_point_stability(land, GD(0.5), np.array([2.0, 0.0]))._repr_html_()
    assert one.startswith("<table>") and "normally stable" in one and f"{1 - 0.5 * np.tanh(2.0) ** 2:.4g}" in one
    many = fixed_point_stability(land, GD(0.5), np.zeros((3, 2)))._repr_html_()
    assert many.count("<tr>") == 4  # header and three points
    report = mean_square_radius(np.array([[[1.0]], [[3.0]]]), 0.1)
    assert f"{report.radius:.6g}" in report._repr_html_()


def test_hallucination_search_and_claim_results_render_as_escaped_html():
    """A HallucinationSearch shows one row per point with its landing and whether it attracts; the list check()
    returns shows one row per claim with its verdict, escaping the text of the claims."""
    from samscape.theory import ClaimResult, Citation, find_hallucinated
    from samscape.theory.claims.registry import ClaimResults

    search = find_hallucinated(landscapes.get("double_well", c=0.0), 1.5, [-2.0, 2.0], lr=0.8)
    markup = search._repr_html_()
    footer = 3 if search.note else 2  # box, method and the note
    assert markup.count("<tr>") == 1 + len(search.points) + footer
    assert markup.count("<td style='text-align:left'>minimum</td>") == len(search.landing_on("minimum"))
    assert "f&#x27;" in markup or not search.note  # the note's quote is escaped
    assert "rho=1.5, lr=0.8" in markup
    result = ClaimResult("a<b", (Citation("P1", "Thm 1"),), "x < y", {"h": True}, {"c & d": False}, "p", "o", "t", "m")
    table = ClaimResults([result])._repr_html_()
    assert "a&lt;b" in table and "FAIL: not c &amp; d" in table and "1 claims: 0 passed, 1 failed" in table
