"""The compiled backend (fused numba kernels) against the NumPy reference backend.

Agreement is checked over modest step counts from starts where the loss formula is well conditioned. The
two backends evaluate the same printed formulas, but ``tanh`` (and the C library's transcendental
functions) may differ from NumPy's in the last bit, and a saturated ``1 - tanh(z)**2`` magnifies a last-bit
difference by ``1/(1 - tanh(z)**2)``; over long chaotic runs any two implementations drift apart.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from samscape import dynamics as dy
from samscape import landscapes
from samscape.dynamics import integrate
from samscape.dynamics.contract import lanes_for

if importlib.util.find_spec("numba") is None:
    pytest.skip("numba is not installed; the compiled backend is optional", allow_module_level=True)

from samscape.dynamics import codegen, compiled  # noqa: E402

RTOL = 1e-12
STEPS = 60


@pytest.fixture(scope="module")
def plain():
    return landscapes.from_expr("0.5*tanh(v*tanh(u))**2", ["u", "v"])


@pytest.fixture(scope="module")
def finite_sum():
    return landscapes.from_expr(
        "0.5*(tanh(v*tanh(u*a)) - y)**2", ["u", "v"],
        samples={"a": [0.6, 1.0, 1.3, 0.8, 1.1], "y": [0.0, 0.1, -0.1, 0.05, 0.0]},
    )


@pytest.fixture(scope="module")
def starts():
    rng = np.random.default_rng(7)
    return rng.uniform(-1.5, 1.5, size=(2 * lanes_for(2) + 6, 2))  # two full blocks of lanes and a partial one


def run_both(landscape, optimizer, x0, steps=STEPS, every=7, **kwargs):
    kwargs.setdefault("seed", 11)
    ref = dy.simulate(landscape, optimizer, x0, steps, every=every, backend="numpy", **kwargs)
    out = dy.simulate(landscape, optimizer, x0, steps, every=every, backend="compiled", **kwargs)
    return ref, out


def assert_same_run(ref, out, rtol=RTOL):
    assert out.xs.shape == ref.xs.shape and out.xs.dtype == ref.xs.dtype
    np.testing.assert_array_equal(out.steps, ref.steps)
    scale = np.maximum(np.abs(ref.xs), 1.0)  # relative, with 1 as the scale near the origin
    assert np.all(np.abs(out.xs - ref.xs) <= rtol * scale), np.max(np.abs(out.xs - ref.xs) / scale)
    np.testing.assert_array_equal(out.status, ref.status)
    np.testing.assert_array_equal(out.stopped_at, ref.stopped_at)


PLAIN_OPTIMIZERS = {
    "gd": dy.GD(lr=0.4),
    "sgd": dy.SGD(lr=0.4, batch_size=2),  # on a plain function a batch is the full gradient
    "sam": dy.SAM(lr=0.4, rho=0.2),
    "usam": dy.USAM(lr=0.4, rho=0.3),
    "randomsam": dy.RandomSAM(lr=0.4, rho=0.2),
    "switch": dy.Switch(dy.GD(lr=0.4), dy.Switch(dy.SAM(lr=0.3, rho=0.2), dy.RandomSAM(lr=0.3, rho=0.1), at=40), at=20),
}


@pytest.mark.parametrize("name", sorted(PLAIN_OPTIMIZERS))
def test_backends_agree_on_plain_landscape(plain, starts, name):
    """Every optimizer gives the same saved iterates, statuses and stop steps on both backends (2-D tanh)."""
    ref, out = run_both(plain, PLAIN_OPTIMIZERS[name], starts)
    assert_same_run(ref, out)


FINITE_SUM_OPTIMIZERS = {
    "gd": dy.GD(lr=0.5),
    "sgd": dy.SGD(lr=0.5, batch_size=3),
    "sam_full": dy.SAM(lr=0.5, rho=0.1),
    "sam_batch": dy.SAM(lr=0.5, rho=0.1, batch_size=1),
    "all_kinds": dy.Switch(
        dy.Switch(dy.SGD(lr=0.5, batch_size=2), dy.USAM(lr=0.4, rho=0.2, batch_size=4), at=15),
        dy.Switch(dy.SAM(lr=0.4, rho=0.1, batch_size=9), dy.RandomSAM(lr=0.4, rho=0.1, batch_size=3), at=45),
        at=30,
    ),
}


@pytest.mark.parametrize("name", sorted(FINITE_SUM_OPTIMIZERS))
def test_backends_agree_on_finite_sum_with_batches(finite_sum, starts, name):
    """Mini-batches are drawn by the same counter-based hash, and means follow NumPy's summation order."""
    ref, out = run_both(finite_sum, FINITE_SUM_OPTIMIZERS[name], starts)
    assert_same_run(ref, out)


@pytest.mark.parametrize("which", ["plain_sam", "finite_sum_all_kinds"])
def test_single_start_kernel_agrees(plain, finite_sum, which):
    """One start runs on the scalar kernel (no lanes); it follows the same rules as the lane kernel."""
    if which == "plain_sam":
        ref, out = run_both(plain, PLAIN_OPTIMIZERS["sam"], [0.7, -1.1], steps=200, every=9)
    else:
        ref, out = run_both(finite_sum, FINITE_SUM_OPTIMIZERS["all_kinds"], [1.2, 0.4], steps=STEPS)
    assert_same_run(ref, out)


def test_long_pairwise_sums_match_numpy_order(starts):
    """A batch of 300 samples (pairwise blocks of more than 128) is summed in NumPy's order."""
    rng = np.random.default_rng(3)
    many = landscapes.from_expr("0.5*(v*tanh(u*a) - y)**2", ["u", "v"],
                                samples={"a": rng.uniform(0.5, 1.5, 200), "y": rng.normal(0, 0.1, 200)})
    ref, out = run_both(many, dy.SAM(lr=0.3, rho=0.05, batch_size=300), starts[:40], steps=10, every=5)
    assert_same_run(ref, out)


def test_per_start_hyperparameters(plain, starts):
    """Arrays of lr and rho (one value per start) sweep a grid in one kernel call."""
    lr = np.linspace(0.1, 0.9, len(starts))
    rho = np.linspace(0.0, 0.3, len(starts))
    ref, out = run_both(plain, dy.SAM(lr=lr, rho=rho), starts)
    assert_same_run(ref, out)


def test_divergence_and_nonfinite_freeze_the_same_way():
    """Starts that leave the bound or produce inf/NaN are frozen at the same point and step on both backends."""
    quartic = landscapes.from_expr("0.25*u**4 + 0.5*v**2 - u*v", ["u", "v"])
    x0 = np.array([[0.1, 0.2], [3.0, 1.0], [30.0, -2.0], [1e120, 1.0], [-0.5, 0.5], [8.0, 8.0], [1.0, 1e200]])
    ref, out = run_both(quartic, dy.GD(lr=0.2), x0, steps=40, every=3, bound=1e4)
    assert set(ref.status) >= {"ok", "diverged", "nonfinite"}
    assert_same_run(ref, out)
    frozen = [int(np.flatnonzero(ref.status == s)[0]) for s in ("diverged", "nonfinite")]
    ref, out = run_both(quartic, dy.SAM(lr=0.2, rho=0.5), x0, steps=40, every=3, bound=50.0)
    assert_same_run(ref, out)
    for i in frozen:  # one start at a time: the scalar kernel
        ref, out = run_both(quartic, dy.GD(lr=0.2), x0[i], steps=40, every=3, bound=1e4)
        assert out.status[0] != "ok"
        assert_same_run(ref, out)


def test_a_start_that_leaves_late_freezes_alone_in_a_full_block(monkeypatch):
    """A block whose starts all run takes its new iterates in one pass; once one of them leaves the bound (here
    at a late step, in full blocks of lanes) the lane-by-lane rule takes over for that block, also after a
    pause between chunks of steps: the same run as NumPy's, bit for bit, with only that start frozen."""
    bowl = landscapes.from_expr("0.5*u**2 + 0.5*v**2", ["u", "v"])
    width = lanes_for(2)
    x0 = np.column_stack([np.linspace(-1.0, 1.0, 2 * width), np.linspace(0.5, -0.5, 2 * width)])
    lr = np.full(2 * width, 1.5)
    late = width + 3
    x0[late], lr[late] = [1.4, 0.0], 2.02  # |1 - lr| = 1.02: grows 2 % a step, leaves the bound 2 late
    opt = dy.GD(lr=lr)
    ref, out = run_both(bowl, opt, x0, steps=60, every=1, bound=2.0)
    assert list(np.flatnonzero(ref.status != "ok")) == [late] and ref.stopped_at[late] > 10
    assert_same_run(ref, out)
    monkeypatch.setattr(compiled, "CHUNK_WORK", 4 * len(x0))  # 4 steps per kernel call
    _, chunked = run_both(bowl, opt, x0, steps=60, every=1, bound=2.0)
    assert_same_run(ref, chunked)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_loss_of_many_points_is_the_kernel_modules_own_and_agrees_with_the_landscape(plain, starts, dtype,
                                                                                         monkeypatch):
    """From LOSS_FROM_POINTS saved points on, the loss at the saved steps comes from the kernel module (the
    landscape's value printed as its gradient is, on the kernels' tanh): the landscape's own value to a few ulp,
    in the run's dtype, for every saved step and start, a frozen start's included; below it, NumPy's exactly."""
    bowl = landscapes.from_expr("(1 - x)**2 + 10*(y - x**2)**2", ["x", "y"])
    x0 = np.vstack([starts, [[90.0, 90.0]]]).astype(dtype)  # the last one is beyond the bound: frozen at once
    for land, opt in ((plain, dy.SAM(lr=0.4, rho=0.2)), (bowl, dy.GD(lr=0.01))):
        monkeypatch.setattr(compiled, "LOSS_FROM_POINTS", 1)
        run = dy.simulate(land, opt, x0, 30, every=7, seed=3, backend="compiled", dtype=dtype, bound=100.0)
        assert run.loss.dtype == dtype and run.loss.shape == run.xs.shape[:2] and "diverged" in set(run.status)
        want = land.value(run.xs)
        eps = np.finfo(dtype).eps
        # a few ulp: the kernels' tanh is within 2 ulp of NumPy's, and the loss squares a nested tanh
        assert np.all(np.abs(run.loss - want) <= 16 * eps * np.maximum(np.abs(want), np.finfo(dtype).tiny))
        monkeypatch.setattr(compiled, "LOSS_FROM_POINTS", run.xs.shape[0] * run.xs.shape[1] + 1)
        below = dy.simulate(land, opt, x0, 30, every=7, seed=3, backend="compiled", dtype=dtype, bound=100.0)
        np.testing.assert_array_equal(below.loss, land.value(below.xs))


def test_block_of_frozen_starts_fills_later_saved_steps():
    """When every start of a block has frozen, the kernel stops stepping it but still writes its saved steps."""
    quartic = landscapes.from_expr("0.25*u**4 + 0.5*v**2 - u*v", ["u", "v"])
    x0 = np.column_stack([np.linspace(20.0, 40.0, 40), np.zeros(40)])
    ref, out = run_both(quartic, dy.GD(lr=0.3), x0, steps=50, every=5, bound=1e4)
    assert np.all(ref.status != "ok")
    assert_same_run(ref, out)


def test_chunked_steps_give_the_same_run(plain, starts, monkeypatch):
    """Between chunks of steps (where the progress bar updates) the kernel resumes exactly where it stopped."""
    opt = dy.RandomSAM(lr=0.4, rho=0.2)
    whole = dy.simulate(plain, opt, starts, 45, every=4, seed=9, backend="compiled")
    monkeypatch.setattr(compiled, "CHUNK_WORK", 7 * len(starts))  # 7 steps per kernel call
    chunked = dy.simulate(plain, opt, starts, 45, every=4, seed=9, backend="compiled")
    np.testing.assert_array_equal(chunked.xs, whole.xs)


def test_zero_gradient_means_no_perturbation(plain):
    """At a stationary point SAM's direction is undefined; both backends leave the point where it is."""
    x0 = np.zeros((3, 2))
    ref, out = run_both(plain, dy.SAM(lr=0.5, rho=0.3), x0, steps=5, every=1)
    assert_same_run(ref, out)
    assert np.all(out.xs == 0)


def test_start_ids_and_chunking_do_not_change_paths(finite_sum, starts):
    """A start's path depends only on (seed, start id): running a subset with its ids gives the same rows."""
    opt = dy.SAM(lr=0.5, rho=0.1, batch_size=2)
    whole = dy.simulate(finite_sum, opt, starts, 30, every=10, seed=5, backend="compiled")
    part = dy.simulate(finite_sum, opt, starts[33:50], 30, every=10, seed=5, backend="compiled",
                       start_ids=np.arange(33, 50))
    np.testing.assert_array_equal(part.xs, whole.xs[:, 33:50])


def test_float32_is_sane(plain, starts):
    """float32 runs stay float32 on both backends and agree with float64 to single precision."""
    opt = dy.SAM(lr=0.4, rho=0.2)
    ref64 = dy.simulate(plain, opt, starts, 30, every=10, seed=1, backend="numpy")
    for backend in ("numpy", "compiled"):
        run = dy.simulate(plain, opt, starts, 30, every=10, seed=1, backend=backend, dtype=np.float32)
        assert run.xs.dtype == np.float32 and run.loss.dtype == np.float32
        np.testing.assert_allclose(run.xs, ref64.xs, rtol=1e-4, atol=1e-5)
        assert np.all(run.status == "ok")


def test_fast_tanh_is_within_two_ulp_of_numpy():
    """The kernel's vectorizable tanh agrees with NumPy's to within 2 ulp, with NaN, inf and -0.0 kept."""
    from samscape.dynamics import codegen as cg

    tanh = cg.standalone_tanh("float64")
    rng = np.random.default_rng(0)
    xs = np.concatenate([rng.uniform(-25, 25, 2000), rng.normal(0, 1e-3, 500), rng.uniform(-1, 1, 2000),
                         [0.0, 1e-300, 5e-324, 1e-10, -3.7e-9, 3.8e-9, 1e-5, 19.0, 40.0, 1e300]])
    got = np.array([tanh(x) for x in xs])
    want = np.tanh(xs)
    assert np.all(np.abs(got - want) <= 2 * np.spacing(np.abs(want)))
    assert np.isnan(tanh(np.nan)) and tanh(np.inf) == 1.0 and tanh(-np.inf) == -1.0
    assert np.signbit(tanh(-0.0))


def test_auto_picks_numpy_for_tiny_work(plain):
    """`auto` does not pay numba's import and compile for a run that NumPy finishes at once."""
    assert integrate.resolve_backend("auto", plain, dy.SAM(lr=0.1, rho=0.05), 10, 100) == "numpy"
    assert integrate.resolve_backend("numpy", plain, dy.GD(lr=0.1), 10**6, 10**6) == "numpy"
    assert integrate.resolve_backend("compiled", plain, dy.GD(lr=0.1), 1, 1) == "compiled"


def test_auto_picks_compiled_for_large_work(plain):
    assert integrate.resolve_backend("auto", plain, dy.SAM(lr=0.1, rho=0.05), 10**6, 100) == "compiled"


def test_piecewise_landscapes_compile_to_conditionals(starts):
    """A Piecewise gradient (NumPy's select) becomes conditional expressions with the same values."""
    import sympy as sp

    u, v = sp.symbols("u v", real=True)
    huber = sp.Piecewise((u**2 / 2, sp.Abs(u) <= 1), (sp.Abs(u) - sp.Rational(1, 2), True))
    kinked = landscapes.from_expr(huber + sp.Piecewise((v**2, (v > 0) & (u > 0)), (v**2 / 4, True)), ["u", "v"])
    ref, out = run_both(kinked, dy.SAM(lr=0.3, rho=0.2), starts * 2)
    assert_same_run(ref, out)


def test_auto_falls_back_when_the_gradient_cannot_be_compiled():
    """A gradient that uses a function outside the kernel's namespace runs on NumPy under `auto`, with a warning."""
    import sympy as sp

    u = sp.Symbol("u", real=True)
    odd = landscapes.from_expr(sp.Max(u, 0) ** 2 + u**2, ["u"])
    with pytest.raises(codegen.UnsupportedLandscape, match="backend='numpy'"):
        codegen.kernel_source(codegen.kernel_plan(odd, dy.GD(lr=0.1)))
    with pytest.warns(RuntimeWarning, match="backend='auto' runs this on NumPy because the compiled backend cannot express"):
        assert integrate.resolve_backend("auto", odd, dy.GD(lr=0.1), 10**6, 10**3) == "numpy"


@pytest.mark.parametrize("bad", ["numba", "fast", None])
def test_unknown_backend_is_a_clear_error(plain, bad):
    with pytest.raises(ValueError, match=r"backend must be one of 'auto', 'compiled', 'numpy', got "):
        dy.simulate(plain, dy.GD(lr=0.1), [0.1, 0.2], 3, backend=bad)


@pytest.mark.parametrize("bad", [np.float16, np.int64, "complex128", "nonsense"])
def test_unknown_dtype_is_a_clear_error(plain, bad):
    with pytest.raises(ValueError, match="dtype must be one of 'float64', 'float32', got "):
        dy.simulate(plain, dy.GD(lr=0.1), [0.1, 0.2], 3, dtype=bad)


def test_dtype_float_means_float64(plain):
    """NumPy reads the name "float" as float64, so dtype="float" is accepted and runs exactly the float64 run."""
    x0 = [[0.1, 0.2], [-0.7, 0.4]]
    named = dy.simulate(plain, dy.GD(lr=0.1), x0, 3, dtype="float", backend="numpy")
    explicit = dy.simulate(plain, dy.GD(lr=0.1), x0, 3, dtype=np.float64, backend="numpy")
    assert named.xs.dtype == np.float64
    np.testing.assert_array_equal(named.xs, explicit.xs)


def test_kernel_cache_reuses_compiled_kernels(plain):
    """A second build for the same landscape and optimizer structure is a memory hit, not a compile;
    other hyperparameters (even from a freshly built landscape with the same formula) reuse it too."""
    x0 = np.array([[0.3, -0.4], [0.9, 0.2]])
    dy.simulate(plain, dy.SAM(lr=0.2, rho=0.1), x0, 5, backend="compiled")
    before = compiled.cache_info()
    dy.simulate(plain, dy.SAM(lr=np.array([0.1, 0.3]), rho=0.05), x0, 7, backend="compiled", seed=2)
    twin = landscapes.from_expr("0.5*tanh(v*tanh(u))**2", ["u", "v"])
    dy.simulate(twin, dy.SAM(lr=0.5, rho=0.2), x0, 5, backend="compiled")
    after = compiled.cache_info()
    assert after["compiles"] == before["compiles"]
    assert after["disk_hits"] == before["disk_hits"]
    assert after["memory_hits"] == before["memory_hits"] + 2
    # the source numba caches against
    assert compiled.get_kernel(compiled.plan(plain, dy.SAM(lr=0.2, rho=0.1))).path.exists()


def test_disk_cache_survives_a_new_process(tmp_path):
    """A fresh process loads the kernel from numba's disk cache instead of compiling it again."""
    import subprocess
    import sys

    script = (
        "import numpy as np\n"
        "from samscape import landscapes, dynamics as dy\n"
        "from samscape.dynamics import compiled\n"
        "L = landscapes.from_expr('0.5*u**2 + 0.25*v**4', ['u', 'v'])\n"
        "dy.simulate(L, dy.GD(lr=0.1), [[0.5, 0.5]], 3, backend='compiled')\n"
        "info = compiled.cache_info()\n"
        "print(info['compiles'], info['disk_hits'])\n"
    )
    env = {**__import__("os").environ, "SAMSCAPE_CACHE": str(tmp_path)}
    first = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert first.stdout.split() == ["1", "0"]
    assert second.stdout.split() == ["0", "1"]


def test_integers_beyond_int64_compile_as_float_literals():
    """from_expr("10**308*x") runs on the compiled backend: the gradient's 10**308 is printed as the float literal
    1e308 (the landscapes' printer, which the kernel's printer inherits; numba refuses the integer), and the kernel
    gives the NumPy backend's numbers."""
    steep = landscapes.from_expr("10**308*x", ["x"])
    source, _, _ = codegen.kernel_source(codegen.kernel_plan(steep, dy.GD(lr=1e-308)))
    assert "1e+308" in source and str(10**308) not in source
    ref, out = run_both(steep, dy.GD(lr=1e-308), [[0.5], [-2.0]], steps=3, every=1)
    assert np.all(np.isfinite(ref.xs)) and not np.array_equal(ref.xs[0], ref.xs[-1])
    np.testing.assert_array_equal(out.xs, ref.xs)
