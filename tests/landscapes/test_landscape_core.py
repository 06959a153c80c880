"""Landscape construction, safe parsing, vectorized evaluation and finite sums."""

import os

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from samscape import landscapes

TANH = "0.5*tanh(v*tanh(u))**2"


def test_tanh_value_gradient_hessian_match_sympy_at_random_points():
    """Compiled value/grad/Hessian equal SymPy's own evaluation of the expression and its derivatives."""
    land = landscapes.from_expr(TANH, ["u", "v"])
    u, v = sp.symbols("u v")
    f = sp.Rational(1, 2) * sp.tanh(v * sp.tanh(u)) ** 2
    rng = np.random.default_rng(1)
    for point in rng.normal(size=(5, 2)):
        subs = {u: point[0], v: point[1]}
        assert land.value(point) == pytest.approx(float(f.subs(subs)), rel=1e-12)
        expected_grad = [float(sp.diff(f, s).subs(subs)) for s in (u, v)]
        np.testing.assert_allclose(land.grad(point), expected_grad, rtol=1e-10, atol=1e-14)
        expected_hess = [[float(sp.diff(f, a, b).subs(subs)) for b in (u, v)] for a in (u, v)]
        np.testing.assert_allclose(land.hessian(point), expected_hess, rtol=1e-10, atol=1e-14)


@settings(max_examples=25, deadline=None)
@given(lead=st.lists(st.integers(0, 3), min_size=0, max_size=3))
def test_constant_hessian_broadcasts_to_every_leading_shape(lead):
    """A quadratic's constant Hessian entries come back with the batch shape, not as bare scalars."""
    land = landscapes.from_expr("x**2 + 3*x*y + 5*y**2", "x,y")
    x = np.ones(tuple(lead) + (2,))
    assert land.value(x).shape == tuple(lead)
    assert land.grad(x).shape == tuple(lead) + (2,)
    hess = land.hessian(x)
    assert hess.shape == tuple(lead) + (2, 2)
    np.testing.assert_array_equal(hess, np.broadcast_to([[2.0, 3.0], [3.0, 10.0]], hess.shape))


def test_finite_sum_value_and_batches_are_means_over_the_chosen_samples():
    """L is the mean of the per-sample losses; grad(x, batch=idx) is the mean over idx, one batch per point."""
    a = np.array([0.6, 1.0, 1.3])
    y = np.array([0.0, 0.1, -0.2])
    data = landscapes.from_expr("0.5*(tanh(v*tanh(u*a)) - y)**2", ["u", "v"], samples={"a": a, "y": y})
    singles = [landscapes.from_expr(f"0.5*(tanh(v*tanh(u*{ai})) - ({yi}))**2", ["u", "v"]) for ai, yi in zip(a, y)]
    x = np.array([[0.7, -0.4], [1.5, 0.2]])
    assert data.n_samples == 3
    np.testing.assert_allclose(data.value(x), np.mean([s.value(x) for s in singles], axis=0), rtol=1e-12)
    batch = np.array([[0, 2, 2], [1, 1, 0]])
    expected = np.stack(
        [np.mean([singles[i].grad(x[row]) for i in batch[row]], axis=0) for row in range(2)]
    )
    np.testing.assert_allclose(data.grad(x, batch=batch), expected, rtol=1e-12)
    per_sample = data.sample_hessians(x)
    assert per_sample.shape == (2, 3, 2, 2)
    np.testing.assert_allclose(per_sample.mean(axis=1), data.hessian(x), rtol=1e-12, atol=1e-15)
    full = sum(s.loss_expr for s in singles) / 3
    point = {sp.Symbol("u", real=True): 0.7, sp.Symbol("v", real=True): -0.4}
    assert float(data.loss_expr.subs(point)) == pytest.approx(float(full.subs(point)), rel=1e-12)


@pytest.mark.parametrize(
    "hostile, offending",
    [
        ("__import__('os').system('touch PWNED')", "__import__"),
        ("u.__class__", "u.__class__"),
        ("(lambda: 1)()", "lambda"),
        ("u[0]", "u[0]"),
        ("exec('1')", "exec"),
        ("u if v else 1", "IfExp"),
        ("[u for u in v]", "ListComp"),
        ("u ^ 2", "u ^ 2"),
        ("sin(u, v)", "sin(u, v)"),
        ("sin", "sin"),
        ("w + u", "w"),
        ("2**10**10", "10**10"),
        ("'abc'", "'abc'"),
        ("1e999*u", "1e999"),
        ("u == v", "Compare"),
    ],
)
def test_hostile_or_unknown_expressions_are_refused_before_sympy_sees_them(hostile, offending, tmp_path, monkeypatch):
    """Anything outside the whitelist raises ValueError naming the offending piece, with no side effect."""
    monkeypatch.chdir(tmp_path)
    calls = []
    monkeypatch.setattr(sp, "sympify", lambda *a, **k: calls.append(a))
    with pytest.raises(ValueError) as err:
        landscapes.from_expr(hostile, ["u", "v"])
    assert offending in str(err.value) or offending.lower() in str(err.value).lower()
    assert not os.path.exists(tmp_path / "PWNED")
    assert calls == []


def test_allowed_functions_and_constants_parse_to_the_right_sympy_expression():
    """Every whitelisted function and constant maps to its SymPy counterpart."""
    land = landscapes.from_expr("sin(u)+cos(u)+tan(u)+exp(u)+log(2+u)+sqrt(3+u)+sinh(u)+cosh(u)+abs(u)+Abs(v)+atan(u)+pi+E", "u,v")
    u = np.array([0.3, -0.2])
    expected = (np.sin(0.3) + np.cos(0.3) + np.tan(0.3) + np.exp(0.3) + np.log(2.3) + np.sqrt(3.3) + np.sinh(0.3)
                + np.cosh(0.3) + 0.3 + 0.2 + np.arctan(0.3) + np.pi + np.e)
    assert land.value(u) == pytest.approx(expected, rel=1e-12)


def test_abs_kink_gives_finite_hessian():
    """|u| has a DiracDelta second derivative; the compiled Hessian uses 0 there and stays finite."""
    land = landscapes.from_expr("abs(u) + u**2", "u")
    np.testing.assert_allclose(land.hessian(np.array([[0.0], [1.0]])), [[[2.0]], [[2.0]]])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(expr="u**2", variables=[]), "variables"),
        (dict(expr="u**2", variables=["u", "u"]), "distinct"),
        (dict(expr="u**2", variables=["sin"]), "reserved"),
        (dict(expr="u**2", variables=["1u"]), "identifier"),
        (dict(expr="u*a", variables=["u"], samples={"a": [1.0, 2.0], "b": [1.0]}), "equal length"),
        (dict(expr="u*a", variables=["u"], samples={"a": [1.0, np.nan]}), "finite"),
        (dict(expr="u*a", variables=["u"], samples={"u": [1.0]}), "also a variable"),
        (dict(expr="", variables=["u"]), "empty"),
        (dict(expr=3, variables=["u"]), "string or a SymPy"),
        (dict(expr="log(u-10)", variables=["u"]), "no finite value"),
        (dict(expr="u**2", variables=["u"], window=[[1, 0]]), "window"),
    ],
)
def test_bad_construction_arguments_raise_one_clear_error(kwargs, message):
    """Bad variables, samples, windows or expressions raise ValueError naming what is wrong."""
    with pytest.raises(ValueError, match=message):
        landscapes.from_expr(**kwargs)


def test_bad_points_and_batches_raise_clear_errors():
    """Points of the wrong width and out-of-range or non-integer batches are refused with the shapes named."""
    data = landscapes.from_expr("0.5*(u*a)**2 + v**2", ["u", "v"], samples={"a": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        data.value(np.zeros(3))
    with pytest.raises(ValueError, match="indices must lie in"):
        data.grad(np.zeros((1, 2)), batch=np.array([[2]]))
    with pytest.raises(ValueError, match="integer"):
        data.grad(np.zeros((1, 2)), batch=np.array([[0.5]]))
    with pytest.raises(ValueError, match="does not match"):
        data.grad(np.zeros((3, 2)), batch=np.zeros((2, 1), dtype=int))


def test_sympy_expression_input_and_unknown_symbols():
    """A SymPy expression is accepted as it is; a symbol that is neither variable nor data column is refused."""
    u, v, w = sp.symbols("u v w")
    land = landscapes.from_expr(u**2 + v**4, ["u", "v"])
    assert land.value(np.array([2.0, 1.0])) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="w"):
        landscapes.from_expr(u**2 + w, ["u", "v"])


def test_spec_of_a_sympy_built_landscape_rebuilds_or_says_why_not():
    """A SymPy-built landscape rebuilds from its spec when its text is parseable; a Piecewise one says it cannot."""
    u = sp.Symbol("u")
    plain = landscapes.from_expr(sp.tanh(u) ** 2 / 3, ["u"])
    rebuilt = landscapes.from_spec(plain.spec)
    pts = np.linspace(-2, 2, 7)[:, None]
    np.testing.assert_allclose(rebuilt.value(pts), plain.value(pts), rtol=1e-14)
    kinked = landscapes.from_expr(sp.Piecewise((u**2, u < 1), (2 * u - 1, True)), ["u"])
    assert kinked.spec["kind"] == "sympy"
    with pytest.raises(ValueError, match="pass it in"):
        landscapes.from_spec(kinked.spec)


def test_abs_of_data_times_variable_differentiates_like_a_real_function():
    """Data columns are real symbols, so d|u*a|/du = a*sign(u*a) and the finite sum compiles and evaluates."""
    land = landscapes.from_expr("abs(u*a)", ["u"], samples={"a": [1.0, -2.0]})
    u = np.array([[0.5], [-1.5]])
    np.testing.assert_allclose(land.value(u)[:, None], np.mean(np.abs(u * [1.0, -2.0]), axis=1, keepdims=True))
    np.testing.assert_allclose(land.grad(u), np.mean([1.0, -2.0] * np.sign(u * [1.0, -2.0]), axis=1, keepdims=True))


def test_a_single_integral_data_point_is_substituted_exactly():
    """With one data point a = 1, the compiled expression is tanh(u), not tanh(1.0*u)."""
    land = landscapes.from_expr("tanh(u*a)**2", ["u"], samples={"a": [1.0]})
    assert land.sample_expr == sp.tanh(sp.Symbol("u", real=True)) ** 2


def test_long_flat_sums_and_products_are_not_mistaken_for_deep_nesting():
    """A 700-term sum is one flat level: it parses, and its value is 700*u."""
    land = landscapes.from_expr("+".join(["u"] * 700), ["u"])
    assert land.value(np.array([0.5])) == pytest.approx(350.0)
    assert landscapes.from_expr("*".join(["u"] * 30), ["u"]).value(np.array([2.0])) == pytest.approx(2.0**30)


@pytest.mark.parametrize("text", ["((9**999)**999)**999*u", "(((2**999)**999)**999)**999*u", "10**400*u"])
def test_numeric_powers_too_large_for_a_float_are_refused_before_they_are_computed(text):
    """Towers of numeric powers would make SymPy compute numbers of millions of digits; they are refused at once."""
    with pytest.raises(ValueError, match="too large for a float64"):
        landscapes.from_expr(text, ["u"])


@pytest.mark.parametrize("text", ["(-8)**(1/3)*u**2", "sqrt(-1)*u**2", "log(-1) + u**2"])
def test_non_real_constants_are_refused_instead_of_losing_their_imaginary_part(text):
    """(-8)**(1/3), sqrt(-1) and log(-1) are complex: the loss would silently be wrong, so it is refused."""
    with pytest.raises(ValueError, match="non-real constant"):
        landscapes.from_expr(text, ["u"])
