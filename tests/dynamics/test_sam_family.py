"""The stateless SAM variants: MultiStepSAM, MultiStepUSAM, ASAM, UnifiedSAM, GSAM, SignSAM, StableSAM, GNP and
WSAM.

Each NumPy update is checked against its formula written out one start at a time (or against the variant it
reduces to, bit for bit), and the compiled kernel against the NumPy update: bit for bit on a polynomial, to
1e-12 on ``tanh`` (whose last bit may differ). One Switch chain runs every variant, so each landscape compiles
one kernel module.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from samscape import dynamics as dy
from samscape import landscapes
from samscape.dynamics.contract import lanes_for

HAS_NUMBA = importlib.util.find_spec("numba") is not None
needs_numba = pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed; the compiled backend is optional")
SEED = 3
SAMPLES = {"a": [0.6, 1.0, 1.3, 0.8, 1.1], "y": [0.0, 0.1, -0.1, 0.05, 0.0]}


@pytest.fixture(scope="module")
def polynomial():
    # powers up to 2 only: the kernel writes x**3 as repeated multiplication, NumPy calls pow
    return landscapes.from_expr("0.5*(u*v - 1)**2 + 0.1*(u - v)**2", ["u", "v"])


@pytest.fixture(scope="module")
def saturating():
    return landscapes.from_expr("0.5*(tanh(v*tanh(u*a)) - y)**2", ["u", "v"], samples=SAMPLES)


@pytest.fixture(scope="module")
def starts():
    x0 = np.random.default_rng(4).uniform(-1.5, 1.5, size=(lanes_for(2) + 5, 2))  # a full block and a partial one
    x0[0] = 0.0  # (0, 0): a point where ASAM with eta_a = 0 has T g = 0
    return x0


def _unit(g):
    norm = np.linalg.norm(g)
    return g / norm if norm > 0 else np.zeros_like(g)


def formula_step(opt, grad, x):
    """One step of one start, from the formulas of each class's docstring."""
    if isinstance(opt, dy.GSAM):
        g = grad(x)
        g_adv = grad(x + opt.rho * _unit(g))
        u = _unit(g_adv)
        return x - opt.lr * (g_adv - opt.alpha * (g - np.dot(g, u) * u))
    if isinstance(opt, dy.StableSAM):
        g = grad(x)
        return x - opt.lr * np.linalg.norm(g) * _unit(grad(x + opt.rho * _unit(g)))
    if isinstance(opt, dy.GNP):
        g = grad(x)
        return x - opt.lr * ((1 - opt.alpha) * g + opt.alpha * grad(x + opt.rho * _unit(g)))
    if isinstance(opt, dy.WSAM):
        g = grad(x)
        return x - opt.lr * (g + opt.gamma / (1 - opt.gamma) * (grad(x + opt.rho * _unit(g)) - g))
    return x - opt.lr * grad(formula_point(opt, grad, x))


def formula_point(opt, grad, x):
    """The ascent point of one start, from the formulas of each class's docstring."""
    if isinstance(opt, dy.MultiStepSAM):
        p = x
        for _ in range(opt.steps_ascent):
            d = p + opt.alpha * _unit(grad(p)) - x
            p = x + d * min(1.0, opt.rho / np.linalg.norm(d)) if np.linalg.norm(d) > 0 else x
        return p
    if isinstance(opt, dy.MultiStepUSAM):
        p = x
        for _ in range(opt.steps_ascent):
            p = p + opt.rho * grad(p)
        return p
    if isinstance(opt, dy.ASAM):
        t = np.abs(x) + opt.eta_a
        tg = t * grad(x)
        return x + opt.rho * t * t * grad(x) / np.linalg.norm(tg) if np.linalg.norm(tg) > 0 else x
    if isinstance(opt, dy.SignSAM):
        return x + opt.rho * np.sign(grad(x))
    if isinstance(opt, dy.UnifiedSAM):
        g = grad(x)
        return x + opt.rho * ((1 - opt.lam_u) * g + opt.lam_u * _unit(g))
    raise AssertionError(opt)


VARIANTS = [
    dy.MultiStepSAM(0.1, 0.2, steps_ascent=3, alpha=0.09),
    dy.MultiStepSAM(0.1, 0.05, steps_ascent=2),
    dy.MultiStepUSAM(0.1, 0.04, steps_ascent=3),
    dy.ASAM(0.1, 0.5, eta_a=0.05),
    dy.ASAM(0.1, 0.5, eta_a=0.0),
    dy.UnifiedSAM(0.1, 0.1, lam_u=0.3),
    dy.GSAM(0.1, 0.1, alpha=0.3),
    dy.SignSAM(0.1, 0.1),
    dy.StableSAM(0.1, 0.1),
    dy.GNP(0.1, 0.1, alpha=0.7),
    dy.WSAM(0.1, 0.1, gamma=0.8),
]


@pytest.mark.parametrize("opt", VARIANTS, ids=lambda o: o.describe())
def test_each_variant_steps_by_its_formula(polynomial, starts, opt):
    """Four steps of the NumPy update equal the formula written out one start at a time, to 1e-13."""
    run = dy.simulate(polynomial, opt, starts, 4, seed=SEED, backend="numpy")
    for t in range(4):
        for x, after in zip(run.xs[t], run.xs[t + 1]):
            expected = formula_step(opt, polynomial.grad, x)
            np.testing.assert_allclose(after, expected, rtol=1e-13, atol=1e-15)


def test_the_variants_reduce_to_sam_and_usam_bit_for_bit(polynomial, starts):
    """UnifiedSAM at lam_u = 0 is USAM and at lam_u = 1 is SAM; MultiStepUSAM with one step is USAM; GSAM with
    alpha = 0 is SAM; GNP with alpha = 1 and WSAM with gamma = 1/2 are SAM, with 0 GD: bit for bit. In one dimension the projected
    ascent reaches min(rho, steps_ascent * alpha) along the gradient, so MultiStepSAM is SAM of that radius, GSAM's
    orthogonal part vanishes and the sign is the unit vector (SAM), and StableSAM's step is GD's (to rounding)."""
    same = [(dy.UnifiedSAM(0.1, 0.2, lam_u=0.0), dy.USAM(0.1, 0.2)), (dy.UnifiedSAM(0.1, 0.2, lam_u=1.0), dy.SAM(0.1, 0.2)),
            (dy.MultiStepUSAM(0.1, 0.2, steps_ascent=1), dy.USAM(0.1, 0.2)), (dy.GSAM(0.1, 0.2, alpha=0.0), dy.SAM(0.1, 0.2)),
            (dy.GNP(0.1, 0.2, alpha=1.0), dy.SAM(0.1, 0.2)), (dy.GNP(0.1, 0.2, alpha=0.0), dy.GD(0.1)),
            (dy.WSAM(0.1, 0.2, gamma=0.5), dy.SAM(0.1, 0.2)), (dy.WSAM(0.1, 0.2, gamma=0.0), dy.GD(0.1))]
    for variant, plain in same:
        a = dy.simulate(polynomial, variant, starts, 6, seed=SEED, backend="numpy")
        b = dy.simulate(polynomial, plain, starts, 6, seed=SEED, backend="numpy")
        np.testing.assert_array_equal(a.xs, b.xs)
    line = landscapes.from_expr("u**2 + 0.1*u**4", ["u"])  # convex: the ascent never turns back
    x0 = np.linspace(-3, 3, 13)[:, None]
    for alpha, radius in ((0.05, 0.15), (0.1, 0.2)):  # 3 steps of 0.05 stop short of rho = 0.2; of 0.1 they reach it
        a = dy.simulate(line, dy.MultiStepSAM(0.05, 0.2, steps_ascent=3, alpha=alpha), x0, 30, backend="numpy")
        b = dy.simulate(line, dy.SAM(0.05, radius), x0, 30, backend="numpy")
        np.testing.assert_allclose(a.xs, b.xs, rtol=0, atol=1e-12)
    for variant, plain in ((dy.GSAM(0.05, 0.2, alpha=0.5), dy.SAM(0.05, 0.2)), (dy.SignSAM(0.05, 0.2), dy.SAM(0.05, 0.2)),
                           (dy.StableSAM(0.05, 0.2), dy.GD(0.05))):
        a = dy.simulate(line, variant, x0, 30, backend="numpy")
        b = dy.simulate(line, plain, x0, 30, backend="numpy")
        np.testing.assert_allclose(a.xs, b.xs, rtol=0, atol=1e-12)


def test_where_the_direction_is_undefined_there_is_no_perturbation(switch_chain):
    """At a stationary point (the origin of x^2 + y^2) no variant perturbs, so each stays put, with no NaN; ASAM with
    eta_a = 0 does not perturb where T g = 0 though g is not zero, and StableSAM takes no step where g_adv = 0."""
    bowl = landscapes.from_expr("u**2 + v**2 + u*v", ["u", "v"])
    origin = np.zeros((1, 2))
    # one step of each in turn, through one Switch chain (one kernel)
    every_variant = switch_chain(list(VARIANTS), range(1, len(VARIANTS)))
    for backend in ("numpy", "compiled") if HAS_NUMBA else ("numpy",):
        run = dy.simulate(bowl, every_variant, origin, len(VARIANTS), every=1, seed=SEED, backend=backend)
        np.testing.assert_array_equal(run.xs, np.broadcast_to(origin, run.xs.shape))
    # at the origin of (u - 1)^2 + v^2, g = (-2, 0) but T = |x| = 0, so T g = 0: its direction is undefined
    tilted = landscapes.from_expr("(u - 1)**2 + v**2", ["u", "v"])
    x = dy.ASAM(0.1, 0.5, eta_a=0.0).perturbed_point(tilted, origin, 0, None, None)
    np.testing.assert_array_equal(x, origin)
    # StableSAM's g_adv/||g_adv|| where g_adv = 0: on cos(u) from 0.5 with rho = 0.5 the ascent lands on the maximum
    # at 0, so the step is zero, though g = -sin(0.5) is not
    crest = landscapes.from_expr("cos(u)", ["u"])
    for backend in ("numpy", "compiled") if HAS_NUMBA else ("numpy",):
        run = dy.simulate(crest, dy.StableSAM(0.1, 0.5), np.array([[0.5]]), 2, seed=SEED, backend=backend)
        np.testing.assert_array_equal(run.x, [[0.5]])


@pytest.mark.parametrize("make, message", [
    (lambda: dy.MultiStepSAM(0.1, 0.05, steps_ascent=0), "steps_ascent must be a positive integer, got 0"),
    (lambda: dy.MultiStepUSAM(0.1, 0.05, steps_ascent=2.5), "steps_ascent must be a positive integer, got 2.5"),
    (lambda: dy.MultiStepSAM(0.1, 0.05, alpha=0.0), "alpha must be a finite number > 0"),
    (lambda: dy.MultiStepSAM(0.1, 0.05, alpha=-1.0), "alpha must be a finite number > 0"),
    (lambda: dy.ASAM(0.1, 0.5, eta_a=-0.01), "eta_a must be a finite number >= 0"),
    (lambda: dy.GSAM(0.1, 0.5, alpha=-0.1), "alpha must be a finite number >= 0"),
    (lambda: dy.GNP(0.1, 0.5, alpha=1.5), r"alpha must be in \[0, 1\]"),
    (lambda: dy.WSAM(0.1, 0.5, gamma=1.0), r"gamma must be in \[0, 1\)"),
    (lambda: dy.UnifiedSAM(0.1, 0.05, lam_u=1.5), r"lam_u must be in \[0, 1\]"),
    (lambda: dy.UnifiedSAM(0.1, 0.05, lam_u=[0.2, -0.1]), "lam_u must be finite and >= 0 everywhere"),
])
def test_bad_hyperparameters_get_one_sentence_naming_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_the_variants_are_registered_and_round_trip():
    """Each is a plain kind of the registry (so every menu and flag offers it), built by optimizer_from_kind with
    the hyperparameters it takes, and its description round-trips."""
    for opt in VARIANTS:
        assert dy.OPTIMIZERS[opt.kind] is type(opt) and opt.kind in dy.plain_kinds()
        assert dy.optimizer_from_dict(opt.to_dict()) == opt
    built = dy.optimizer_from_kind("multistepsam", 0.1, rho=0.2, steps_ascent=4, alpha=0.07, eta_a=0.3)
    assert built == dy.MultiStepSAM(0.1, 0.2, steps_ascent=4, alpha=0.07)


def _chain(switch_chain, n, batch_size=None):
    """Every variant in one Switch chain, eight steps each, with per-start hyperparameters: one kernel module per
    landscape."""
    parts = [dy.MultiStepSAM(0.1, np.linspace(0.0, 0.3, n), steps_ascent=3, alpha=np.linspace(0.01, 0.2, n)),
             dy.MultiStepUSAM(0.1, 0.05, steps_ascent=2, batch_size=batch_size),
             dy.ASAM(0.1, 0.5, eta_a=np.linspace(0.0, 0.1, n), batch_size=batch_size),
             dy.UnifiedSAM(0.1, 0.1, lam_u=np.linspace(0.0, 1.0, n)),
             dy.GSAM(0.1, 0.1, alpha=np.linspace(0.0, 0.5, n), batch_size=batch_size),
             dy.SignSAM(0.1, np.linspace(0.0, 0.2, n)),
             dy.StableSAM(0.1, 0.1, batch_size=batch_size),
             dy.GNP(0.1, 0.1, alpha=np.linspace(0.0, 1.0, n)),
             dy.WSAM(0.1, 0.05, gamma=np.linspace(0.0, 0.9, n))]
    return switch_chain(parts, range(8, 8 * len(parts), 8))


@needs_numba
def test_compiled_variants_agree_bit_for_bit_on_a_polynomial(polynomial, starts, switch_chain):
    """Many starts (the lane kernel) and one (the scalar kernel), every step saved."""
    for x0 in (starts, starts[:1]):
        opt = _chain(switch_chain, len(x0))
        ref = dy.simulate(polynomial, opt, x0, 72, every=1, seed=SEED, backend="numpy")
        out = dy.simulate(polynomial, opt, x0, 72, every=1, seed=SEED, backend="compiled")
        np.testing.assert_array_equal(out.xs, ref.xs)
        np.testing.assert_array_equal(out.status, ref.status)


@needs_numba
def test_compiled_variants_follow_numpy_on_tanh_with_batches(saturating, starts, switch_chain):
    """On a tanh finite sum with mini-batches every saved step is within 1e-12 (relative, 1 near 0) of NumPy's (the
    lane kernel: the one-start kernel writes the same lines, checked bit for bit on the polynomial above)."""
    for x0 in (starts,):
        opt = _chain(switch_chain, len(x0), batch_size=3)
        ref = dy.simulate(saturating, opt, x0, 72, every=1, seed=SEED, backend="numpy")
        out = dy.simulate(saturating, opt, x0, 72, every=1, seed=SEED, backend="compiled")
        scale = np.maximum(np.abs(ref.xs), 1.0)
        assert np.max(np.abs(out.xs - ref.xs) / scale) <= 1e-12


@needs_numba
def test_compiled_variants_agree_bit_for_bit_in_float32(polynomial, starts, switch_chain):
    """The float32 kernel rounds every hyperparameter product as NumPy's float32 arithmetic does (the lane kernel;
    the scalar kernel writes the same lines)."""
    opt = _chain(switch_chain, len(starts))
    ref = dy.simulate(polynomial, opt, starts, 72, every=1, seed=SEED, backend="numpy", dtype=np.float32)
    out = dy.simulate(polynomial, opt, starts, 72, every=1, seed=SEED, backend="compiled", dtype=np.float32)
    assert out.xs.dtype == np.float32
    np.testing.assert_array_equal(out.xs, ref.xs)
    np.testing.assert_array_equal(out.status, ref.status)
