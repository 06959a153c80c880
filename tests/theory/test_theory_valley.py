"""P3 Proposition 4.1's bounds and the invariance test S <= 2b against closed forms."""

import math

import pytest
import sympy as sp

from samscape import landscapes
from samscape.theory import valley_conditions
from samscape.theory.valley import extremum


def test_extremum_uses_sympy_candidates_when_it_can():
    """min of z^2 - z on [0, 2] is -1/4 at z = 1/2 and the max is 2 at z = 2; both found from SymPy's candidates."""
    z = sp.Symbol("z", real=True)
    low = extremum(z**2 - z, z, 0.0, 2.0, "min")
    high = extremum(z**2 - z, z, 0.0, 2.0, "max")
    assert (low.value, low.where) == (pytest.approx(-0.25, abs=1e-15), pytest.approx(0.5))
    assert (high.value, high.where) == (pytest.approx(2.0), pytest.approx(2.0))
    assert low.method.startswith("SymPy") and high.method.startswith("SymPy")


def test_open_interval_infimum_is_a_one_sided_limit():
    """On (0, 1) the infimum of 1/(1 + z) is 1/2, approached as z -> 1, which an open interval never attains."""
    z = sp.Symbol("z", real=True)
    inf = extremum(1 / (1 + z), z, 0.0, 1.0, "min", open_ends=True, solve_interior=False)
    assert inf.value == pytest.approx(0.5, abs=1e-15) and inf.method.startswith("SymPy")


def test_logcosh_valley_bounds_in_closed_form():
    """L = a b^2 log cosh(z/b): max_V |L'| = a b tanh 2, so lr < 1/(a tanh 2); L'(2z)/L'(z) = 2/(1 + tanh^2(z/b)) has
    infimum 2/(1 + tanh^2 1) on (0, b); rho <= min(1/a, lr * that). Definition 4.2 holds."""
    a, b, lr = 2.0, 0.5, 0.3
    land = landscapes.get("logcosh_valley", a=a, b=b)
    ratio = 2 / (1 + math.tanh(1.0) ** 2)
    cond = valley_conditions(land, a, b, lr, 0.1)
    assert cond.lr_bound.value == pytest.approx(1 / (a * math.tanh(2.0)), rel=1e-12)
    assert cond.ratio_min.value == pytest.approx(ratio, rel=1e-12)
    assert cond.rho_bound == pytest.approx(min(1 / a, lr * ratio), rel=1e-12)
    assert cond.definition_holds and cond.lr_ok and cond.rho_ok and cond.hypotheses_hold
    assert cond.bottom_curvature == pytest.approx(a)
    assert cond.lr_bound.method.startswith("SymPy") and cond.ratio_min.method.startswith("SymPy")


def test_tanh_valley_ratio_is_nine_sixteenths():
    """For L = tanh^2(kz)/2 with b = atanh(1/sqrt 3)/k (where L' peaks), L'(2b)/L'(b) = 9/16 (SymPy) and
    max_V L' = L'(b), so lr < b / L'(b)."""
    k = 1.3
    land = landscapes.get("tanh_valley", k=k)
    a, b = land.params["a"], land.params["b"]
    z = sp.Symbol("z", real=True)
    slope = sp.diff(sp.tanh(sp.Rational(13, 10) * z) ** 2 / 2, z)
    b_exact = sp.atanh(1 / sp.sqrt(3)) / sp.Rational(13, 10)
    ratio = sp.nsimplify(sp.simplify(slope.subs(z, 2 * b_exact) / slope.subs(z, b_exact)))
    assert ratio == sp.Rational(9, 16)
    cond = valley_conditions(land, a, b, 0.5, 0.1)
    assert cond.ratio_min.value == pytest.approx(9 / 16, rel=1e-12)
    assert cond.lr_bound.value == pytest.approx(b / float(slope.subs(z, b_exact)), rel=1e-12)
    assert cond.definition_holds


def test_huber_valley_is_not_c2_and_its_sharper_test_has_a_closed_form():
    """Huber (L' = a clip(z, -b, b)) is C^1 only, so Definition 4.2 fails; max |L'| = ab gives lr < 1/a; the ratio
    infimum is 1 (as z -> b). For USAM, S = max(0, lr a b - b/(1 + rho a)) when lr a (1 + rho a) > 1."""
    a, b, lr, rho = 1.0, 1.0, 1.8, 0.5
    land = landscapes.get("huber_valley", a=a, b=b)
    cond = valley_conditions(land, a, b, lr, rho)
    assert not cond.definition["C^2"][0] and not cond.definition_holds and not cond.hypotheses_hold
    assert cond.lr_bound.value == pytest.approx(1 / a)
    assert cond.ratio_min.value == pytest.approx(1.0, abs=1e-12)
    # a numeric max at a kink of L': Brent converges only linearly there, hence 1e-8
    assert cond.invariance_usam.value == pytest.approx(lr * a * b - b / (1 + rho * a), rel=1e-8)
    assert cond.invariant_usam  # S = 1.13 <= 2b
    assert not cond.bottom_stable_usam  # lr a (1 + rho a) = 2.7 > 2
    # normalized SAM: L'(z + rho) <= a b, so S_sam = max(lr a clip(z + rho) - z) is reached where z + rho = b
    assert cond.invariance_sam.value == pytest.approx(lr * a * b - (b - rho), rel=1e-8)


def test_a_power_below_two_has_no_finite_curvature_at_the_bottom():
    """|z|^p with p < 2 has L''(0) infinite (THEORY.md: no finite a), so Definition 4.2 fails: not C^2, a != L''(0)."""
    cond = valley_conditions(landscapes.from_expr("abs(z)**1.5", "z"), 1.0, 1.0, 0.1, 0.1)
    assert not cond.definition["C^2"][0] and not cond.definition["a = L''(0)"][0]
    assert cond.bottom_curvature == float("inf") and not cond.hypotheses_hold


def test_a_tilted_well_is_not_even():
    """A tilted double well is not even, so Definition 4.2 fails on that count."""
    land = landscapes.get("double_well", c=0.3)
    cond = valley_conditions(land, 1.0, 0.5, 0.1, 0.01)
    assert not cond.definition["even"][0] and not cond.hypotheses_hold


@pytest.mark.parametrize("kwargs, name", [({"a": 0.0}, "a"), ({"b": -1.0}, "b"), ({"lr": 0.0}, "lr"), ({"rho": -0.1}, "rho")])
def test_bad_input_names_the_parameter(kwargs, name):
    """Non-positive a, b, lr or negative rho: a ValueError naming it."""
    land = landscapes.get("logcosh_valley")
    args = {"a": 1.0, "b": 1.0, "lr": 0.1, "rho": 0.1, **kwargs}
    with pytest.raises(ValueError, match=name):
        valley_conditions(land, args["a"], args["b"], args["lr"], args["rho"])


def test_two_dimensional_landscapes_are_rejected():
    """Proposition 4.1 is about a 1-D valley."""
    with pytest.raises(ValueError, match="1-dimensional"):
        valley_conditions(landscapes.get("tanh"), 1.0, 1.0, 0.1, 0.1)
