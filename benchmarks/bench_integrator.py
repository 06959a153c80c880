"""Benchmark samscape's integrator on SAM and the tanh example, against the floor of its own kernel.

    python benchmarks/bench_integrator.py            # the full table: 10^6 starts x 100 steps, 1 start x 10^6 steps,
                                                     # then simulate's default arguments against the tanh floor
    python benchmarks/bench_integrator.py --quick    # the same table on smaller sizes (a quick smoke run)
    python benchmarks/bench_integrator.py --default  # only the default arguments against the floor (below)
    python benchmarks/bench_integrator.py --against OLD_TREE [--rounds 5]
                                                     # compiled kernels of this tree and of another checkout
                                                     # (e.g. `git worktree add /tmp/old main`), timed alternately

Everything is measured in this one run on this machine and printed as a table. The targets are ratios to the
floor measured in the same run, because a ratio to a NumPy loop depends on how fast that machine's NumPy ``tanh``
is: ``simulate`` with its default arguments (400,000 starts x 50 steps, float64 and float32, and one start x 10^6
steps), in a second process after one earlier compile (the disk cache warm), against the same SAM written with
the kernels' own ``tanh`` and nothing around it, and against JAX's ``jit(vmap(fori_loop))`` when jax is
importable (it is no dependency). Slow loops are timed on fewer steps and extrapolated (cost per step is flat;
the table says where). Memory and first-call times are measured in fresh subprocesses.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

LR, RHO = 0.3, 0.1
# The kernel's tanh (see samscape.dynamics.codegen._tanh_source), counted the way the rest is counted:
# a multiply-add is 2 flops, every other arithmetic operation, comparison, conversion or select is 1.
TANH_FLOPS = 56
# A SAM step besides its two gradients: the norm and the unit ascent direction (13), the descent (4),
# and the divergence / finiteness check and commit (12).
SAM_OVERHEAD_FLOPS = 29
# Divisions and square roots per SAM step on the tanh example: one per tanh (4), two in g/||g||, one sqrt.
SAM_DIVIDER_OPS = {"div": 6, "sqrt": 1}


def tanh_landscape():
    from samscape import landscapes

    try:
        return landscapes.get("tanh")
    except Exception:  # the catalog may be missing in a partial checkout
        return landscapes.from_expr("0.5*tanh(v*tanh(u))**2", ["u", "v"])


def wide_starts(n: int, dtype) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.stack([rng.uniform(-3, 3, n), rng.uniform(-1.5, 1.5, n)], axis=1).astype(dtype)


# subprocesses import the two helpers above from this file
SETUP = f"""
import sys
import numpy as np
sys.path.insert(0, {HERE!r})
from bench_integrator import tanh_landscape, wide_starts
"""


# ------------------------------------------------------------------------------------------ references

def plain_numpy_sam(x0: np.ndarray, steps: int, lr: float = LR, rho: float = RHO) -> np.ndarray:
    """SAM on 0.5*tanh(v*tanh(u))**2 as one would write it directly in NumPy: vectorized over starts."""
    u, v = x0[:, 0].copy(), x0[:, 1].copy()

    def grad(u, v):
        a = np.tanh(u)
        b = np.tanh(v * a)
        c = b * (1 - b * b)
        return c * v * (1 - a * a), c * a

    for _ in range(steps):
        gu, gv = grad(u, v)
        norm = np.sqrt(gu * gu + gv * gv)
        norm = np.where(norm > 0, norm, 1)
        hu, hv = grad(u + rho * gu / norm, v + rho * gv / norm)
        u = u - lr * hu
        v = v - lr * hv
    return np.stack([u, v], axis=1)


def plain_numpy_sam_single(x: np.ndarray, steps: int, lr: float = LR, rho: float = RHO) -> np.ndarray:
    """The same SAM for one start on NumPy scalars: a per-step loop tuned for one start (shown for context)."""
    x = x.copy()

    def grad(p):
        a = np.tanh(p[0])
        b = np.tanh(p[1] * a)
        c = b * (1 - b * b)
        return np.array([c * p[1] * (1 - a * a), c * a])

    for _ in range(steps):
        g = grad(x)
        norm = np.linalg.norm(g)
        ascent = x + rho * g / norm if norm > 0 else x
        x = x - lr * grad(ascent)
    return x


def timed(fn, *args, repeat: int = 1, **kwargs):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t0)
    return best, out


# ---------------------------------------------------------------------------------------- machine floor

def measure_peak_gflops(threads: int, seconds: float = 0.6) -> float:
    """Fused multiply-add throughput of a numba kernel on ``threads`` threads (the compiler our kernels use)."""
    from numba import njit

    @njit(nogil=True, fastmath={"contract"})
    def fma_loop(seed, reps):
        acc = np.empty(64)  # 64 independent chains in registers: enough to fill the pipelines
        for i in range(64):
            acc[i] = seed + i
        for _ in range(reps):
            for i in range(64):
                acc[i] = acc[i] * 0.9999999 + 1e-7
        return acc.sum()

    fma_loop(1.0, 10)
    reps = 20_000
    while True:
        t0 = time.perf_counter()
        fma_loop(1.0, reps)
        if time.perf_counter() - t0 > seconds / 4:
            break
        reps *= 4
    with ThreadPoolExecutor(threads) as pool:
        t0 = time.perf_counter()
        list(pool.map(lambda s: fma_loop(s, reps), [1.0] * threads))
        elapsed = time.perf_counter() - t0
    return 2 * 64 * reps * threads / elapsed / 1e9


def measure_divider_ns(threads: int) -> dict[str, float]:
    """Nanoseconds per lane of vectorized float64 division and square root, across ``threads`` threads."""
    from numba import njit

    @njit(nogil=True, error_model="numpy")
    def div_loop(a, b, o, reps):
        for r in range(reps):
            for i in range(a.shape[0]):
                o[i] = a[i] / (b[i] + r)

    @njit(nogil=True, error_model="numpy")
    def sqrt_loop(a, b, o, reps):
        for r in range(reps):
            for i in range(a.shape[0]):
                o[i] = np.sqrt(a[i] + b[i] * r)

    out = {}
    for name, fn in (("div", div_loop), ("sqrt", sqrt_loop)):
        arrays = [(np.random.rand(1024) + 1, np.random.rand(1024) + 1, np.empty(1024)) for _ in range(threads)]
        fn(*arrays[0], 1)
        reps = 20_000
        with ThreadPoolExecutor(threads) as pool:
            t0 = time.perf_counter()
            list(pool.map(lambda abo: fn(*abo, reps), arrays))
            elapsed = time.perf_counter() - t0
        out[name] = elapsed / (1024 * reps * threads) * 1e9
    return out


def sam_flops(landscape) -> tuple[int, int]:
    """Flops per SAM point-step on ``landscape``: (total, per gradient), counted on the cse'd gradient."""
    import sympy as sp

    replacements, reduced = sp.cse(list(landscape.grad_exprs), list=False)
    grad = 0
    for expr in [e for _, e in replacements] + list(reduced):
        ops = sp.count_ops(expr, visual=True)
        counts = {str(s): int(c) for s, c in (ops.as_coefficients_dict().items() if ops != 0 else [])}
        grad += sum(c * (TANH_FLOPS if name == "TANH" else 1) for name, c in counts.items())
    return 2 * grad + SAM_OVERHEAD_FLOPS, grad


# ------------------------------------------------------------------------------------------- tanh floor

def tanh_floor_functions(dtype):
    """SAM on ``0.5*tanh(v*tanh(u))**2`` with nothing around it: the kernels' own ``tanh`` (four a step) and the
    step's arithmetic, the normalised ascent and the descent, with no status, bound, rescaling, saving or
    validation. ``(lanes, single)``: ``lanes(U, V, lo, hi, steps, lr, rho)`` advances the starts ``lo:hi`` of the
    coordinate arrays ``U``, ``V`` in place, a block of as many starts as the kernel's blocks at a time, each
    stage a loop over the block (what lets the compiler vectorize the ``tanh``); ``single(u, v, steps, lr, rho)``
    is one start, four dependent ``tanh`` a step, returning ``(u, v)``."""
    import math

    from numba import njit

    from samscape.dynamics import codegen
    from samscape.dynamics.contract import lanes_for

    F = np.dtype(dtype).type
    tanh = codegen.standalone_tanh(np.dtype(dtype).name)
    W = lanes_for(2)
    one = F(1.0)

    @njit(nogil=True, error_model="numpy", fastmath={"contract"})
    def lanes(U, V, lo, hi, steps, lr, rho):
        S = np.empty(6 * W, F)  # rows: u, v, tanh(.), tanh(v tanh(.)), ascent u, ascent v
        for b0 in range(lo, hi, W):
            w = min(W, hi - b0)
            for j in range(w):
                S[j] = U[b0 + j]
                S[W + j] = V[b0 + j]
            for _ in range(steps):
                for j in range(w):
                    S[2 * W + j] = tanh(S[j])
                for j in range(w):
                    S[3 * W + j] = tanh(S[W + j] * S[2 * W + j])
                for j in range(w):
                    a, b = S[2 * W + j], S[3 * W + j]
                    c = b * (one - b * b)
                    gu = S[W + j] * c * (one - a * a)
                    gv = a * c
                    norm = math.sqrt(gu * gu + gv * gv)
                    S[4 * W + j] = S[j] + rho * (gu / norm)
                    S[5 * W + j] = S[W + j] + rho * (gv / norm)
                for j in range(w):
                    S[2 * W + j] = tanh(S[4 * W + j])
                for j in range(w):
                    S[3 * W + j] = tanh(S[5 * W + j] * S[2 * W + j])
                for j in range(w):
                    a, b = S[2 * W + j], S[3 * W + j]
                    c = b * (one - b * b)
                    S[j] = S[j] - lr * (S[5 * W + j] * c * (one - a * a))
                    S[W + j] = S[W + j] - lr * (a * c)
            for j in range(w):
                U[b0 + j] = S[j]
                V[b0 + j] = S[W + j]

    @njit(nogil=True, error_model="numpy", fastmath={"contract"})
    def single(u, v, steps, lr, rho):
        for _ in range(steps):
            a = tanh(u)
            b = tanh(v * a)
            c = b * (one - b * b)
            gu = v * c * (one - a * a)
            gv = a * c
            norm = math.sqrt(gu * gu + gv * gv)
            pu = u + rho * (gu / norm)
            pv = v + rho * (gv / norm)
            a = tanh(pu)
            b = tanh(pv * a)
            c = b * (one - b * b)
            u = u - lr * (pv * c * (one - a * a))
            v = v - lr * (a * c)
        return u, v

    return lanes, single


def tanh_floor(x0: np.ndarray, steps: int, long_steps: int, threads: int, repeat: int = 3) -> dict:
    """Seconds of :func:`tanh_floor_functions` on the starts ``x0`` for ``steps`` steps, split over ``threads``
    threads in pieces as the compiled backend splits its blocks (best of ``repeat``), and of one start for
    ``long_steps`` steps; the final iterates of the wide run come back to check the floor computes the same SAM."""
    from samscape.dynamics.contract import lanes_for

    F = x0.dtype.type
    lanes, single = tanh_floor_functions(x0.dtype)
    n, width = len(x0), lanes_for(2)
    pieces = 8 * threads
    edges = [min(n, (k * n // pieces) // width * width) for k in range(pieces)] + [n]

    def wide():
        U, V = np.ascontiguousarray(x0[:, 0]).copy(), np.ascontiguousarray(x0[:, 1]).copy()
        with ThreadPoolExecutor(threads) as pool:
            t0 = time.perf_counter()
            list(pool.map(lambda ab: lanes(U, V, ab[0], ab[1], steps, F(LR), F(RHO)), zip(edges[:-1], edges[1:])))
            return time.perf_counter() - t0, np.stack([U, V], axis=1)

    lanes(x0[:2, 0].copy(), x0[:2, 1].copy(), 0, 2, 1, F(LR), F(RHO))  # compile outside the timing
    seconds, final = min((wide() for _ in range(repeat)), key=lambda r: r[0])
    u, v = F(x0[0, 0]), F(x0[0, 1])
    single(u, v, 1, F(LR), F(RHO))
    t_long = min(timed(single, u, v, long_steps, F(LR), F(RHO))[0] for _ in range(repeat))
    return {"seconds": seconds, "final": final, "long": t_long}


# ------------------------------------------------------------------------------------------ subprocesses

def in_subprocess(body: str, env_extra: dict[str, str] | None = None) -> dict:
    code = SETUP + textwrap.dedent(body)
    env = {**os.environ, **(env_extra or {})}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=os.path.dirname(HERE))
    if done.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


FIRST_CALL = """
import json, time
from samscape import dynamics as dy
L = tanh_landscape()
x0 = wide_starts({n}, np.float64)
opt = dy.SAM(lr={lr}, rho={rho})
t0 = time.perf_counter()
run = dy.simulate(L, opt, x0, {steps}, every={steps}, seed=0)  # default backend: auto
elapsed = time.perf_counter() - t0
chosen = dy.resolve_backend("auto", L, opt.for_starts(len(x0)), len(x0), {steps})
print(json.dumps({{"seconds": elapsed, "backend": chosen}}))
"""

PEAK_MEMORY = """
import json, resource
from samscape import dynamics as dy

def peak_mb():
    # VmHWM belongs to this process's address space; ru_maxrss would carry over the parent's peak
    # across fork and exec on Linux
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

L = tanh_landscape()
x0 = wide_starts({n}, np.float64)
opt = dy.SAM(lr={lr}, rho={rho})
dy.simulate(L, opt, x0[:64], 2, every=1, seed=0, backend="{backend}")  # imports and kernel loading
base = peak_mb()
run = dy.simulate(L, opt, x0, {steps}, every=100, seed=0, backend="{backend}")
print(json.dumps({{"base_mb": base, "peak_mb": peak_mb()}}))
"""


# ------------------------------------------------------------------- default arguments against the floor

DEFAULT_N, DEFAULT_STEPS, DEFAULT_REPEAT = 400_000, 50, 5
LONG_STEPS = 1_000_000
WIDE_TARGET, LONG_TARGET, JAX_TARGET = 1.3, 1.5, 3.0  # at most x the floor; at least x faster than JAX

# simulate and the floor alternate in one process, so that both see the same machine (best of the calls after
# the first); the floor's final iterates are checked against simulate's
DEFAULT_CALL = """
import json, time
import numba
from samscape import dynamics as dy
from bench_integrator import tanh_floor
L = tanh_landscape()
opt = dy.SAM(lr={lr}, rho={rho})
out = {{}}
for name in ("float64", "float32"):
    x0 = wide_starts({n}, np.dtype(name))
    times, floors = [], []
    for _ in range({repeat} + 1):
        t0 = time.perf_counter()
        run = dy.simulate(L, opt, x0, {steps}, every={steps}, seed=0, dtype=np.dtype(name))  # backend auto
        times.append(time.perf_counter() - t0)
        floor = tanh_floor(x0, {steps}, {long} if name == "float64" and not floors else 1, numba.get_num_threads(),
                           repeat=1)
        floors.append(floor["seconds"])
        if name == "float64" and len(floors) == 1:
            out["floor long"] = floor["long"]
    gap = float(np.max(np.abs(run.x - floor["final"])))
    out[name] = {{"first": times[0], "best": min(times[1:]), "backend": run.backend, "floor": min(floors[1:]),
                 "gap": gap}}
one = wide_starts(1, np.float64)
times = []
for _ in range({repeat}):
    t0 = time.perf_counter()
    run = dy.simulate(L, opt, one, {long}, every={long}, seed=0)
    times.append(time.perf_counter() - t0)
out["long"] = {{"best": min(times), "backend": run.backend}}
print(json.dumps(out))
"""

COMPILE_ONCE = """
import json
from samscape import dynamics as dy
for name in ("float64", "float32"):
    for n in ({n}, 1):  # the lane kernel (and its loss at many points) and the one-start kernel
        dy.simulate(tanh_landscape(), dy.SAM(lr={lr}, rho={rho}), wide_starts(n, np.dtype(name)), 2, seed=0,
                    backend="compiled", dtype=np.dtype(name))
print(json.dumps({{}}))
"""

# The same SAM written for JAX as its users would: jax.grad of the loss, vmap over starts, fori_loop over steps.
JAX_SAM = """
import json, time
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
from jax import lax

def loss(p):
    return 0.5 * jnp.tanh(p[1] * jnp.tanh(p[0])) ** 2

grad = jax.grad(loss)

def step(_, p):
    g = grad(p)
    norm = jnp.sqrt(jnp.sum(g * g))
    ascent = p + {rho} * jnp.where(norm > 0, g / jnp.where(norm > 0, norm, 1.0), 0.0)
    return p - {lr} * grad(ascent)

run = jax.jit(jax.vmap(lambda p: lax.fori_loop(0, {steps}, step, p)))
out = {{}}
for name in ("float64", "float32"):
    x0 = jnp.asarray(wide_starts({n}, np.dtype(name)))
    times = []
    for _ in range({repeat} + 1):
        t0 = time.perf_counter()
        final = run(x0).block_until_ready()
        times.append(time.perf_counter() - t0)
    out[name] = {{"first": times[0], "best": min(times[1:]), "dtype": str(final.dtype)}}
out["version"] = jax.__version__
print(json.dumps(out))
"""


def default_arguments() -> dict:
    """SAM on tanh with ``simulate``'s default arguments (float64 and float32, 400,000 starts x 50 steps, and one
    start x 10^6 steps) in a second process after one earlier compile, alternating with the tanh floor in that
    process, against the plain NumPy loop and JAX when importable (float64 and float32); seconds, best of the
    calls after the first."""
    import importlib.util

    from samscape.dynamics import compiled

    sizes = dict(n=DEFAULT_N, steps=DEFAULT_STEPS, lr=LR, rho=RHO, repeat=DEFAULT_REPEAT, long=LONG_STEPS)
    with tempfile.TemporaryDirectory() as cache:
        env = {compiled.CACHE_ENV: cache}
        in_subprocess(COMPILE_ONCE.format(**sizes), env)
        samscape = in_subprocess(DEFAULT_CALL.format(**sizes), env)
    for name in ("float64", "float32"):  # the floor computes the same SAM (the kernels' tanh, the same order)
        if not samscape[name]["gap"] <= (1e-4 if name == "float32" else 1e-9):
            raise RuntimeError(f"the {name} floor does not compute simulate's SAM: final iterates differ by "
                               f"{samscape[name]['gap']:.3g}")
    t_plain, _ = timed(plain_numpy_sam, wide_starts(DEFAULT_N, np.float64), DEFAULT_STEPS, repeat=2)
    jax = in_subprocess(JAX_SAM.format(**sizes)) if importlib.util.find_spec("jax") is not None else None
    return {"samscape": samscape, "plain": t_plain, "jax": jax}


def report_default_arguments(result: dict) -> list[tuple[str, bool]]:
    """Print simulate's default arguments against the floor (and JAX); return the (target, met) lines."""
    work = DEFAULT_N * DEFAULT_STEPS
    ns = lambda seconds, n=work: seconds / n * 1e9  # noqa: E731
    sam, jax, plain = result["samscape"], result["jax"], result["plain"]
    print(f"simulate(...) with default arguments, SAM on tanh, a second process after one compile (disk cache warm), "
          f"best of {DEFAULT_REPEAT} calls after the first; the floor: the kernels' tanh, four a point-step, and the "
          f"step's arithmetic on the same starts and threads with no integrator around it (same final iterates)")
    print("| run | simulate: ns per point-step | floor: ns per point-step | simulate / floor | JAX jit+vmap: ns "
          "per point-step | JAX / simulate |")
    print("|---|---:|---:|---:|---:|---:|")
    checks = []
    for name in ("float64", "float32"):
        mine, bare = ns(sam[name]["best"]), ns(sam[name]["floor"])
        theirs = "not importable" if jax is None else f"{ns(jax[name]['best']):.2f}"
        versus = "" if jax is None else f"{jax[name]['best'] / sam[name]['best']:.2f}x"
        print(f"| {DEFAULT_N:,} starts x {DEFAULT_STEPS} steps, {name} ({sam[name]['backend']}) | {mine:.2f} | "
              f"{bare:.2f} | {mine / bare:.2f} | {theirs} | {versus} |")
        checks.append((f"wide {name}: simulate at {mine / bare:.2f}x the tanh floor (target <= {WIDE_TARGET})",
                       mine / bare <= WIDE_TARGET))
        if jax is not None:
            checks.append((f"wide {name}: simulate {jax[name]['best'] / sam[name]['best']:.2f}x faster than JAX "
                           f"{jax['version']} jit+vmap (target >= {JAX_TARGET}x; the floor itself is "
                           f"{jax[name]['best'] / sam[name]['floor']:.2f}x faster than JAX)",
                           jax[name]["best"] / sam[name]["best"] >= JAX_TARGET))
    long, bare_long = sam["long"]["best"], sam["floor long"]
    print(f"| 1 start x {LONG_STEPS:,} steps, float64 ({sam['long']['backend']}) | {ns(long, LONG_STEPS):.1f} | "
          f"{ns(bare_long, LONG_STEPS):.1f} | {long / bare_long:.2f} | | |")
    checks.append((f"long: simulate at {long / bare_long:.2f}x the latency floor (four dependent tanh and the step; "
                   f"target <= {LONG_TARGET})", long / bare_long <= LONG_TARGET))
    print(f"(context: the plain NumPy loop takes {ns(plain):.1f} ns per point-step in float64, "
          f"{plain / sam['float64']['best']:.1f}x simulate; the first call of simulate in the second process, "
          f"which imports numba and loads the kernel from disk, took {sam['float64']['first']:.3f} s"
          + ("" if jax is None else f", JAX's first call with tracing and compilation {jax['float64']['first']:.3f} s")
          + ")")
    return checks


# ------------------------------------------------------------------------------------------- --against

KERNEL_TIMES = """
import json, time
from samscape import dynamics as dy
L = tanh_landscape()
opt = dy.SAM(lr={lr}, rho={rho})
out = {{}}
for dtype in (np.float64, np.float32):
    x0 = wide_starts({n}, dtype)
    dy.simulate(L, opt, x0[:64], 2, backend="compiled", dtype=dtype, seed=0)  # compile (or load) outside the timing
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        dy.simulate(L, opt, x0, {steps}, every={steps}, seed=0, backend="compiled", dtype=dtype)
        best = min(best, time.perf_counter() - t0)
    out["wide " + dtype.__name__ + ": ns per point-step"] = best / ({n} * {steps}) * 1e9
one = wide_starts(1, np.float64)
dy.simulate(L, opt, one, 10, seed=0, backend="compiled")
best = float("inf")
for _ in range(3):
    t0 = time.perf_counter()
    dy.simulate(L, opt, one, {long}, every={long}, seed=0, backend="compiled")
    best = min(best, time.perf_counter() - t0)
out["long float64, 1 start x {long} steps: seconds"] = best
print(json.dumps(out))
"""


def compare_trees(old_tree: str, rounds: int, quick: bool) -> int:
    """Time the compiled kernels of this checkout and of ``old_tree`` in alternating fresh processes, each tree
    with its own kernel cache, and print the median and spread (min..max) of each measurement."""
    new_tree = os.path.dirname(HERE)
    sizes = dict(n=100_000 if quick else 1_000_000, steps=100, long=100_000 if quick else 1_000_000, lr=LR, rho=RHO)
    results: dict[str, list[dict]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as old_cache, tempfile.TemporaryDirectory() as new_cache:
        trees = {"old": (old_tree, old_cache), "new": (new_tree, new_cache)}
        for r in range(rounds):
            for label in (("old", "new") if r % 2 == 0 else ("new", "old")):
                tree, cache = trees[label]
                env = {"PYTHONPATH": tree, "SAMSCAPE_CACHE": cache}
                # the tree first on the path once this file's helpers are imported (importing them puts this
                # checkout first), and a check that `samscape` is that tree's package
                code = (SETUP + f"import os\nsys.path.insert(0, {tree!r})\nimport samscape\n"
                        f"assert os.path.samefile(os.path.dirname(os.path.dirname(samscape.__file__)), {tree!r}), "
                        "samscape.__file__\n" + KERNEL_TIMES.format(**sizes))
                done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                      env={**os.environ, **env}, cwd=tree)
                if done.returncode != 0:
                    raise RuntimeError(f"benchmark subprocess for {tree} failed:\n{done.stderr}")
                results[label].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"round {r + 1}/{rounds}: done", flush=True)
    print(f"\ncompiled kernels, SAM on tanh, {rounds} alternating rounds (best of 3 calls each); old = {old_tree}")
    print("| measurement | old: median (min..max) | new: median (min..max) | new / old (medians) |")
    print("|---|---:|---:|---:|")
    for key in results["old"][0]:
        old = np.array([r[key] for r in results["old"]])
        new = np.array([r[key] for r in results["new"]])
        print(f"| {key} | {np.median(old):.4g} ({old.min():.4g}..{old.max():.4g}) | "
              f"{np.median(new):.4g} ({new.min():.4g}..{new.max():.4g}) | {np.median(new) / np.median(old):.3f} |")
    return 0


# ------------------------------------------------------------------------------------------------- main

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: 10^5 starts, 10^5 long steps")
    parser.add_argument("--against", metavar="TREE", help="time only the compiled kernels, of this checkout and "
                        "of the checkout at TREE, alternately in fresh processes")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds for --against (default 5)")
    parser.add_argument("--default", action="store_true", help="only the default-arguments comparison: second process "
                        "with the disk cache warm, plain NumPy loop, JAX when importable")
    args = parser.parse_args(argv)
    if args.default:
        checks = report_default_arguments(default_arguments())
        print("targets:")
        for text, ok in checks:
            print(f"  {'PASS' if ok else 'MISS'}  {text}")
        return 0
    if args.against is not None:
        if not os.path.isdir(os.path.join(args.against, "samscape")):
            parser.error(f"--against must be a checkout of samscape (a folder holding samscape/), got {args.against!r}")
        if args.rounds < 1:
            parser.error(f"--rounds must be >= 1, got {args.rounds}")
        return compare_trees(os.path.abspath(args.against), args.rounds, args.quick)

    import numba

    from samscape import dynamics as dy
    from samscape.dynamics import compiled

    n_wide = 100_000 if args.quick else 1_000_000
    steps_wide = 100
    steps_slow = 5 if args.quick else 10  # NumPy loops at full width: timed on this many steps
    steps_long = 100_000 if args.quick else 1_000_000
    steps_long_slow = 2_000 if args.quick else 20_000  # per-step NumPy loops: timed on this many steps
    threads = numba.get_num_threads()
    load_before = os.getloadavg()

    L = tanh_landscape()
    opt = dy.SAM(lr=LR, rho=RHO)
    rows = {}

    print(f"samscape integrator benchmark{' (--quick)' if args.quick else ''}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numba threads {threads}, "
          f"numpy {np.__version__}, numba {numba.__version__}, python {platform.python_version()}")
    print(f"landscape: {L.name} = {L.loss_expr};  optimizer: {opt.describe()}")
    print(f"load average before: {load_before[0]:.2f} (other processes on this machine share the cores)\n", flush=True)

    # --- wide: many starts, few steps
    for dtype in (np.float64, np.float32):
        x0 = wide_starts(n_wide, dtype)
        dy.simulate(L, opt, x0[:64], 2, backend="compiled", dtype=dtype, seed=0)  # compile outside the timing
        t_comp, run = timed(dy.simulate, L, opt, x0, steps_wide, every=steps_wide, seed=0, backend="compiled",
                            dtype=dtype, repeat=3)
        t_np, _ = timed(dy.simulate, L, opt, x0, steps_slow, every=steps_slow, seed=0, backend="numpy", dtype=dtype)
        t_plain, _ = timed(plain_numpy_sam, x0, steps_slow)
        rows[dtype.__name__] = dict(
            compiled=t_comp / (n_wide * steps_wide) * 1e9,
            numpy=t_np / (n_wide * steps_slow) * 1e9,
            plain=t_plain / (n_wide * steps_slow) * 1e9,
        )
        print(f"wide {dtype.__name__}: done", flush=True)

    # --- the floor: flops per point-step against the measured multiply-add peak
    flops, grad_flops = sam_flops(L)
    peak = measure_peak_gflops(threads)
    floor_ns = flops / peak
    divider = measure_divider_ns(threads)
    divider_floor = sum(SAM_DIVIDER_OPS[k] * divider[k] for k in SAM_DIVIDER_OPS)

    # --- long: one start, many steps
    one = wide_starts(1, np.float64)
    chosen_long = dy.resolve_backend("auto", L, opt.for_starts(1), 1, steps_long)
    dy.simulate(L, opt, one, 10, seed=0, backend=chosen_long)
    t_long, _ = timed(dy.simulate, L, opt, one, steps_long, every=steps_long, seed=0, repeat=3)
    t_long_np, _ = timed(dy.simulate, L, opt, one, steps_long_slow, every=steps_long_slow, seed=0, backend="numpy")
    t_long_plain, _ = timed(plain_numpy_sam, one, steps_long_slow)
    t_long_scalar, _ = timed(plain_numpy_sam_single, one[0], steps_long_slow)
    scale = steps_long / steps_long_slow
    print("long: done", flush=True)

    # --- first call including numba import and compilation, in a fresh process with an empty kernel cache
    with tempfile.TemporaryDirectory() as cache:
        first = in_subprocess(FIRST_CALL.format(n=n_wide, steps=steps_wide, lr=LR, rho=RHO),
                              {compiled.CACHE_ENV: cache})
        again = in_subprocess(FIRST_CALL.format(n=n_wide, steps=steps_wide, lr=LR, rho=RHO),
                              {compiled.CACHE_ENV: cache})
    print("first call: done", flush=True)

    # --- peak memory of the wide case with every=100 (fresh processes; the NumPy path on fewer steps:
    # its memory does not grow with the number of steps)
    mem = in_subprocess(PEAK_MEMORY.format(n=n_wide, steps=steps_wide, lr=LR, rho=RHO, backend="compiled"))
    mem_np = in_subprocess(PEAK_MEMORY.format(n=n_wide, steps=steps_slow, lr=LR, rho=RHO, backend="numpy"))
    defaults = default_arguments()
    print("default arguments: done", flush=True)
    load_after = os.getloadavg()

    wide_label = f"{n_wide:.0e} starts x {steps_wide} steps".replace("e+0", "e")
    f64 = rows["float64"]
    plain_wide_total = f64["plain"] * n_wide * steps_wide / 1e9
    print()
    print("| measurement | samscape compiled | samscape NumPy path | plain NumPy loop | flop floor |")
    print("|---|---:|---:|---:|---:|")
    for name, r in rows.items():
        print(f"| wide {name}, {wide_label}: ns per point-step | {r['compiled']:.2f} | {r['numpy']:.1f}* | "
              f"{r['plain']:.1f}* | {floor_ns:.2f}{'' if name == 'float64' else ' (f64)'} |")
    print(f"| long, 1 start x {steps_long:.0e} steps: seconds | {t_long:.3f} | {t_long_np * scale:.1f}** | "
          f"{t_long_plain * scale:.1f}** | |")
    print(f"| first call incl. numba import + compile, wide float64: seconds | {first['seconds']:.2f} "
          f"(next process: {again['seconds']:.2f}) | | {plain_wide_total:.2f}* | |")
    print(f"| peak memory (VmHWM), wide float64, every=100: MB | {mem['peak_mb']:.0f} (after imports {mem['base_mb']:.0f}) | "
          f"{mem_np['peak_mb']:.0f} (after imports {mem_np['base_mb']:.0f}) | | |")
    print()
    print(f"*  NumPy loops at full width timed over {steps_slow} steps; cost per point-step is flat in the step count.")
    print(f"** per-step NumPy loops timed over {steps_long_slow} steps and scaled to {steps_long}. The plain loop is the "
          f"wide-case loop run on one start; written on NumPy scalars for one start it takes "
          f"{t_long_scalar * scale:.1f} s ({t_long_scalar * scale / t_long:.0f}x samscape).")
    print(f"flop floor: {flops} flops per point-step ({grad_flops} per gradient, tanh counted as {TANH_FLOPS}, "
          f"multiply-add as 2) / {peak:.1f} GFLOP/s measured multiply-add peak of a numba kernel on {threads} threads.")
    print(f"       The divider alone needs {divider_floor:.2f} ns per point-step ({SAM_DIVIDER_OPS['div']} divisions at "
          f"{divider['div']:.2f} ns, {SAM_DIVIDER_OPS['sqrt']} square root at {divider['sqrt']:.2f} ns per lane), "
          f"which the flop count does not see.")
    print(f"auto picked: wide -> {first['backend']}, long -> {chosen_long}.  "
          f"load average during the run: {load_before[0]:.2f} -> {load_after[0]:.2f}")
    print()

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    vs_floor = f64["compiled"] / floor_ns
    checks = [
        (f"first call incl. compilation {first['seconds']:.2f} s vs plain NumPy loop {plain_wide_total:.2f} s "
         f"for the wide case (target: faster)", first["seconds"] < plain_wide_total),
        (f"peak memory, wide case with every=100: {mem['peak_mb']:.0f} MB (target < 1024 MB)", mem["peak_mb"] < 1024),
    ]
    print(f"context: wide float64 compiled is {f64['plain'] / f64['compiled']:.1f}x the plain NumPy loop and "
          f"{vs_floor:.1f}x the flop floor; long is {t_long_plain * scale / t_long:.0f}x the per-step NumPy loop")
    print()
    checks += report_default_arguments(defaults)
    print("targets:" + ("  [--quick sizes: indicative only]" if args.quick else ""))
    for text, ok in checks:
        print(f"  {verdict(ok)}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
