"""SAM's ``g/||g||`` has length 1 for every finite non-zero gradient, however small or large, in both backends.

``sqrt(sum g**2)`` underflows below ||g|| ~ 1e-154 (float64) or ~ 1e-19 (float32) and overflows above ~ 1e154
(~ 1e19); the normalisation rescales there (see ``samscape.dynamics.optimizers.squared_norm_range``). The
lengths are checked exactly, in rational arithmetic: ``(rho - ulp)^2 <= sum step_k^2 <= (rho + ulp)^2``.
"""

from __future__ import annotations

import importlib.util
from fractions import Fraction

import numpy as np
import pytest

from samscape import dynamics as dy
from samscape import landscapes

HAS_NUMBA = importlib.util.find_spec("numba") is not None
BACKENDS = ["numpy", "compiled"] if HAS_NUMBA else ["numpy"]
RHO = 0.05
# (dtype, size of the gradient): below the underflow of the squares, and above their overflow
TINY = [(np.float64, 1e-200), (np.float32, 1e-30)]
HUGE = [(np.float64, 1e200), (np.float32, 1e30)]
DIRECTIONS = np.array([[3.0, 4.0], [1.0, -7.0], [-2.0, 0.5]])


def length_within_one_ulp(step: np.ndarray, target) -> bool:
    """Whether the Euclidean length of ``step`` (its exact value, not a rounded sqrt) is within one ulp of ``target``."""
    squared = sum(Fraction(float(v)) ** 2 for v in step)
    ulp = Fraction(float(np.spacing(target)))
    exact = Fraction(float(target))
    return (exact - ulp) ** 2 <= squared <= (exact + ulp) ** 2


@pytest.mark.parametrize("dtype, size", TINY + HUGE + [(np.float64, 1e-161), (np.float64, 5e-324)])
def test_unit_has_length_one_for_tiny_and_huge_gradients(dtype, size):
    """rho * unit(g) has length rho to one ulp for ||g|| far below the underflow (or above the overflow) of
    sum g**2, down to the smallest subnormal; before the fix 1e-161 gave 1.006 rho and 1e200 gave no step."""
    g = (DIRECTIONS * size).astype(dtype)
    assert np.all(g != 0) or size == 5e-324
    rho = dtype(RHO)
    steps = rho * dy.unit(g)
    assert steps.dtype == dtype
    for row, step in zip(g, steps):
        if np.any(row != 0):
            assert length_within_one_ulp(step, rho), (row, step)
            # the direction is g's: every component has g's sign
            assert np.all(np.sign(step) == np.sign(row))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unit_keeps_the_bits_of_the_plain_formula_for_ordinary_gradients(dtype):
    """Where sum g**2 neither underflows nor overflows the result is g / sqrt(sum g**2) bit for bit (runs
    recorded before the rescaling keep their values)."""
    rng = np.random.default_rng(3)
    g = (rng.normal(size=(500, 3)) * 10.0 ** rng.uniform(-15, 15, size=(500, 1))).astype(dtype)
    expected = g / np.sqrt(np.sum(g * g, axis=-1, keepdims=True))
    np.testing.assert_array_equal(dy.unit(g), expected)


def test_only_an_exactly_zero_or_non_finite_gradient_gives_no_perturbation():
    """unit(g) is 0 for g = 0 and for g holding inf or NaN, and a unit vector for the smallest non-zero g."""
    g = np.array([[0.0, 0.0], [np.inf, 1.0], [np.nan, 1.0], [5e-324, 0.0], [0.0, -5e-324]])
    out = dy.unit(g)
    np.testing.assert_array_equal(out, [[0, 0], [0, 0], [0, 0], [1, 0], [0, -1]])


def shifted_bowl(scale: float):
    """``scale * (3u + 4v) + 0.5 (u^2 + v^2)``: at the origin the gradient is ``scale * (3, 4)``, and at the ascent
    point ``x+`` it is ``x+`` plus a term too small to change it, so one SAM step with lr = 1 from the origin
    lands exactly on ``-x+``: the ascent step itself becomes visible in the iterate."""
    return landscapes.from_expr(f"{scale!r}*(3*u + 4*v) + 0.5*(u**2 + v**2)", ["u", "v"])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype, size", TINY)
@pytest.mark.parametrize("n_starts", [3, 1])  # the lane kernel and the one-start kernel
def test_a_sam_step_from_a_tiny_gradient_has_length_rho_in_both_backends(backend, dtype, size, n_starts):
    """One SAM step (lr = 1) from the origin of shifted_bowl(size) ends at -x+ with ||x+|| = rho to one ulp,
    in the direction -(3, 4)/5, in each backend, and the two backends give the same bits."""
    landscape = shifted_bowl(size)
    x0 = np.zeros((n_starts, 2))
    run = dy.simulate(landscape, dy.SAM(lr=1.0, rho=RHO), x0, 1, seed=0, backend=backend, dtype=dtype)
    rho = dtype(RHO)
    for x in run.x:
        assert length_within_one_ulp(x, rho), x
        assert np.all(x < 0) and abs(float(x[0]) / float(x[1]) - 0.75) < 1e-6
    if backend == "compiled":
        reference = dy.simulate(landscape, dy.SAM(lr=1.0, rho=RHO), x0, 1, seed=0, backend="numpy", dtype=dtype)
        np.testing.assert_array_equal(run.x, reference.x)


@pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed; the compiled backend is optional")
@pytest.mark.parametrize("dtype, size", HUGE)
def test_a_sam_step_from_a_huge_gradient_is_perturbed_and_the_backends_agree(dtype, size):
    """Where sum g**2 overflows, SAM still perturbs by rho (3, 4)/5: on ``size (3u + 4v) + size/2 (u^2 + v^2)``
    from the origin with lr = 1/size the step lands on -(3 + 0.6 rho, 4 + 0.8 rho) to rounding (without
    the perturbation it would be -(3, 4)), bit for bit the same in both backends."""
    landscape = landscapes.from_expr(f"{size!r}*(3*u + 4*v) + {size / 2!r}*(u**2 + v**2)", ["u", "v"])
    opt = dy.SAM(lr=1.0 / size, rho=RHO)
    x0 = np.zeros((2, 2))
    ref = dy.simulate(landscape, opt, x0, 1, seed=0, backend="numpy", dtype=dtype)
    out = dy.simulate(landscape, opt, x0, 1, seed=0, backend="compiled", dtype=dtype)
    np.testing.assert_array_equal(out.x, ref.x)
    expected = -np.array([3 + 0.6 * RHO, 4 + 0.8 * RHO])
    rtol = 8 * np.finfo(dtype).eps
    np.testing.assert_allclose(ref.x, np.broadcast_to(expected, ref.x.shape), rtol=rtol)
