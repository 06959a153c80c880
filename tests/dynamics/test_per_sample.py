"""The per-sample ascent (m-sharpness with m = 1): PerSampleSAM and PerSampleUSAM.

Each is checked against a loop written from the formula, one start and one sample at a time::

    x_i+ = x + rho g_i/||g_i||   (PerSampleSAM; x + rho g_i for PerSampleUSAM),  g_i = grad l_i(x)
    x   <- x - lr * mean_i grad l_i(x_i+)

and the compiled kernel against the NumPy reference.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from samscape import dynamics as dy
from samscape import landscapes
from samscape.dynamics.contract import lanes_for
from samscape.dynamics.optimizers import OPTIMIZERS, Noise

HAS_NUMBA = importlib.util.find_spec("numba") is not None
needs_numba = pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed; the compiled backend is optional")
SEED = 5
# sample 2 has a = 0: its loss and gradient vanish everywhere, so it takes no ascent and adds a zero gradient
SAMPLES = {"a": [1.0, 0.5, 0.0, 2.0, 1.5, 0.7, 1.2, 0.9, 1.1], "y": [1.0, -0.5, 0.3, 0.8, 0.0, 0.2, -0.4, 0.6, 0.1]}


@pytest.fixture(scope="module")
def polynomial():
    # powers up to 2 only: the kernel writes x**3 as repeated multiplication, NumPy calls pow
    return landscapes.from_expr("0.5*a*(u*v - y)**2 + 0.1*a*(u - v)**2", ["u", "v"], samples=SAMPLES)


@pytest.fixture(scope="module")
def saturating():
    return landscapes.from_expr("0.5*(tanh(v*tanh(u*a)) - y)**2", ["u", "v"], samples=SAMPLES)


@pytest.fixture(scope="module")
def starts():
    # a full block of lanes and a partial one
    return np.random.default_rng(2).uniform(-1.5, 1.5, size=(lanes_for(2) + 5, 2))


def formula_step(landscape, x, t, lr, rho, batch_size, normalized, seed=SEED):
    """One per-sample step of every start, written out from the formula with Python loops."""
    n, dim = x.shape
    noise = Noise(seed, np.arange(n), landscape.n_samples, dim)
    batches = noise.batch(t, batch_size)
    out = np.empty_like(x)
    for s in range(n):
        samples = range(landscape.n_samples) if batches is None else batches[s]
        lr_s = lr[s] if np.ndim(lr) else lr
        rho_s = rho[s] if np.ndim(rho) else rho
        descent = []
        for i in samples:
            one = np.array([i])
            g = landscape.grad(x[s], batch=one)
            norm = np.linalg.norm(g)
            if normalized:
                ascent = x[s] + rho_s * g / norm if norm > 0 else x[s]
            else:
                ascent = x[s] + rho_s * g
            descent.append(landscape.grad(ascent, batch=one))
        out[s] = x[s] - lr_s * np.mean(descent, axis=0)
    return out


@pytest.mark.parametrize("cls, normalized", [(dy.PerSampleSAM, True), (dy.PerSampleUSAM, False)])
@pytest.mark.parametrize("batch_size", [None, 3])
def test_per_sample_step_follows_the_formula(polynomial, starts, cls, normalized, batch_size):
    """Three steps of the NumPy backend equal the formula loop (same batches) to 1e-13, per-start lr and rho included."""
    lr = np.linspace(0.05, 0.2, len(starts))
    rho = np.linspace(0.0, 0.3, len(starts))
    opt = cls(lr, rho, batch_size=batch_size)
    run = dy.simulate(polynomial, opt, starts, 3, seed=SEED, backend="numpy")
    x = starts.copy()
    for t in range(3):
        x = formula_step(polynomial, x, t, lr, rho, batch_size, normalized)
        np.testing.assert_allclose(run.xs[t + 1], x, rtol=1e-13, atol=1e-15)


def test_per_sample_sam_differs_from_sam_on_a_finite_sum_and_equals_it_without_data(polynomial, starts):
    """On a finite sum the per-sample ascent is a different map from SAM's; on a loss without data (one
    sample) it is SAM's map, bit for bit."""
    sam = dy.simulate(polynomial, dy.SAM(0.1, 0.2), starts, 2, seed=SEED, backend="numpy")
    per = dy.simulate(polynomial, dy.PerSampleSAM(0.1, 0.2), starts, 2, seed=SEED, backend="numpy")
    assert np.max(np.abs(sam.x - per.x)) > 1e-3
    plain = landscapes.from_expr("0.5*(u*v - 1)**2 + 0.1*(u - v)**2", ["u", "v"])
    for whole, each in ((dy.SAM, dy.PerSampleSAM), (dy.USAM, dy.PerSampleUSAM)):
        a = dy.simulate(plain, whole(0.1, 0.2), starts, 5, seed=SEED, backend="numpy")
        b = dy.simulate(plain, each(0.1, 0.2), starts, 5, seed=SEED, backend="numpy")
        np.testing.assert_array_equal(a.xs, b.xs)


def test_a_sample_with_zero_gradient_is_not_perturbed():
    """On samples with a = 0 (zero gradient everywhere) the step is exactly zero, not NaN, in both backends."""
    only_zero = landscapes.from_expr("0.5*a*(u*v - y)**2 + 0.1*a*(u - v)**2", ["u", "v"],
                                     samples={"a": [0.0, 0.0], "y": [0.3, 0.1]})
    x0 = np.array([[0.4, -0.7], [0.0, 0.0]])
    for backend in ("numpy", "compiled") if HAS_NUMBA else ("numpy",):
        run = dy.simulate(only_zero, dy.PerSampleSAM(0.1, 0.2), x0, 2, seed=SEED, backend=backend)
        np.testing.assert_array_equal(run.x, x0)


@needs_numba
# each ascent once and each batch rule once (three kernels a case): the ascent's lines and the batch's loop are
# written apart, so the two crossed cases would compile twice as much to check no new line
@pytest.mark.parametrize("cls, batch_size", [(dy.PerSampleSAM, None), (dy.PerSampleUSAM, 4)],
                         ids=["PerSampleSAM-full", "PerSampleUSAM-batch4"])
def test_compiled_per_sample_agrees_bit_for_bit_on_a_polynomial(polynomial, starts, cls, batch_size):
    """On a polynomial finite sum the kernel's per-sample step is the NumPy step bit for bit (float64), full
    batch and mini-batch, with per-start rho, many starts (the lane kernel) and one (the scalar kernel); in
    float32 it follows to single-precision rounding."""
    for x0 in (starts, starts[:1]):
        one = cls(0.1, np.linspace(0.01, 0.3, len(x0)), batch_size=batch_size)
        ref = dy.simulate(polynomial, one, x0, 40, every=5, seed=SEED, backend="numpy")
        out = dy.simulate(polynomial, one, x0, 40, every=5, seed=SEED, backend="compiled")
        np.testing.assert_array_equal(out.xs, ref.xs)
        np.testing.assert_array_equal(out.status, ref.status)
    opt = cls(0.1, np.linspace(0.01, 0.3, len(starts)), batch_size=batch_size)
    # float32: the NumPy path's finite-sum data are float64, so its per-sample arithmetic is not the kernel's
    ref32 = dy.simulate(polynomial, opt, starts, 40, every=5, seed=SEED, backend="numpy", dtype=np.float32)
    out32 = dy.simulate(polynomial, opt, starts, 40, every=5, seed=SEED, backend="compiled", dtype=np.float32)
    assert out32.xs.dtype == np.float32
    np.testing.assert_allclose(out32.xs, ref32.xs, rtol=1e-4, atol=1e-5)


@needs_numba
def test_compiled_per_sample_agrees_on_tanh_and_inside_a_switch(saturating, starts):
    """On the tanh finite sum (whose tanh may differ in the last bit) the kernel follows NumPy to 1e-12, also
    as the second phase of a Switch and for a single start (the scalar kernel)."""
    opt = dy.Switch(dy.SGD(0.1, 2), dy.PerSampleSAM(0.2, 0.1, batch_size=3), at=10)
    for x0 in (starts, starts[:1]):
        ref = dy.simulate(saturating, opt, x0, 40, every=8, seed=SEED, backend="numpy")
        out = dy.simulate(saturating, opt, x0, 40, every=8, seed=SEED, backend="compiled")
        np.testing.assert_allclose(out.xs, ref.xs, rtol=1e-12, atol=1e-14)


def test_per_sample_variants_are_registered_for_the_cli_and_saved_runs():
    """The registry holds both among its plain kinds (from which every menu and flag derives, see
    tests/test_registry_views.py), and a description round-trips."""
    for kind, cls in (("persamplesam", dy.PerSampleSAM), ("persampleusam", dy.PerSampleUSAM)):
        assert OPTIMIZERS[kind] is cls and kind in dy.plain_kinds()
        opt = cls(0.1, 0.05, batch_size=2)
        assert dy.optimizer_from_dict(opt.to_dict()) == opt


def test_the_theory_refuses_the_per_sample_map_on_a_finite_sum(polynomial):
    """The stability analysis knows SAM's map, which is the per-sample map only on one sample: on a finite sum
    it refuses PerSampleSAM with a sentence naming SAM."""
    from samscape import theory

    with pytest.raises(ValueError, match="per-sample ascents make its map differ from SAM's"):
        theory.stability.update_jacobian(polynomial, dy.PerSampleSAM(0.1, 0.05), np.array([0.3, 0.2]))
