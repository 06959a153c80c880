"""Benchmark a medium-dimensional finite sum: the diagonal linear network of Andriushchenko & Flammarion (ICML 2022).

    python benchmarks/bench_finite_sum.py                       # the full table (60, 200 and 400 variables)
    python benchmarks/bench_finite_sum.py --quick               # no lane kernels, 60 variables only
    python benchmarks/bench_finite_sum.py --against OLD_TREE    # the same measurements on another checkout too
                                                                # (e.g. `git worktree add /tmp/old main`)

The loss is 0.5*(x0*u0*v0 + ... + x{m-1}*u{m-1}*v{m-1} - y)**2 averaged over n = 20 data rows, in the
d = 2m variables u0..u{m-1}, v0..v{m-1} (the issue's d = 60 is m = 30). Beside samscape, the same optimizers are written by hand in NumPy
(``r = X @ (u*v) - y; g = X.T @ r / n``), and each samscape number is compared with its hand-written loop
measured in the same process. Every measurement runs in a fresh subprocess with an empty private kernel
cache, so a build time includes SymPy's work, code generation and numba's compilation; per-step times are
the best of three runs. The machine is shared: the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.dirname(HERE)
N_ROWS = 20
LR, RHO = 0.01, 0.05
OPTIMIZERS = ("gd", "sgd", "sam", "usam", "persamplesam")
LARGER = (200, 400)  # numbers of variables whose builds show how build time grows

# Runs inside a subprocess whose sys.path starts with the tree under test; prints one JSON object.
WORKER = r'''
import json, sys, time
import numpy as np
import sympy as sp

d, what, n_starts, steps = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
N_ROWS, LR, RHO = {n_rows}, {lr}, {rho}
rng = np.random.default_rng(0)
X = rng.standard_normal((N_ROWS, d))
y = rng.standard_normal(N_ROWS)
expr = "0.5*(" + " + ".join(f"x{{k}}*u{{k}}*v{{k}}" for k in range(d)) + " - y)**2"
variables = [f"u{{k}}" for k in range(d)] + [f"v{{k}}" for k in range(d)]
samples = {{f"x{{k}}": X[:, k] for k in range(d)}}
samples["y"] = y
x0 = 0.5 * rng.standard_normal((n_starts, 2 * d))

from samscape import dynamics as dy, landscapes

t0 = time.perf_counter()
L = landscapes.from_expr(expr, variables, samples=samples)
out = {{"from_expr": time.perf_counter() - t0}}

def make(kind):
    return {{"gd": dy.GD(lr=LR), "sgd": dy.SGD(lr=LR, batch_size=1), "sam": dy.SAM(lr=LR, rho=RHO),
             "usam": dy.USAM(lr=LR, rho=RHO), "persamplesam": dy.PerSampleSAM(lr=LR, rho=RHO)}}[kind]

def grad(u, v, rows):
    Xb = X[rows]
    r = Xb @ (u * v) - y[rows]
    g = Xb.T @ r / len(rows)
    return g * v, g * u

def per_sample_sam(u, v):
    """Every row's own normalized ascent, then the mean of the rows' gradients at their own ascent points."""
    r = X @ (u * v) - y
    gu, gv = X * r[:, None] * v, X * r[:, None] * u  # (rows, m): each row's gradient
    scale = RHO / np.sqrt(np.sum(gu * gu, axis=1) + np.sum(gv * gv, axis=1))[:, None]
    pu, pv = u + scale * gu, v + scale * gv
    r = np.sum(X * pu * pv, axis=1) - y
    return np.mean(X * r[:, None] * pv, axis=0), np.mean(X * r[:, None] * pu, axis=0)

def hand(kind, u, v, steps):
    """The optimizer written directly in NumPy for one start (SGD draws its row with NumPy's generator)."""
    every = np.arange(N_ROWS)
    draw = np.random.default_rng(1)
    for _ in range(steps):
        if kind == "persamplesam":
            gu, gv = per_sample_sam(u, v)
            u, v = u - LR * gu, v - LR * gv
            continue
        rows = draw.integers(0, N_ROWS, 1) if kind == "sgd" else every
        gu, gv = grad(u, v, rows)
        if kind in ("sam", "usam"):
            scale = RHO / np.sqrt(gu @ gu + gv @ gv) if kind == "sam" else RHO
            gu, gv = grad(u + scale * gu, v + scale * gv, rows)
        u, v = u - LR * gu, v - LR * gv
    return u, v

def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)

u0, v0 = x0[0, :d].copy(), x0[0, d:].copy()
if what == "numpy":
    opt = make("gd")
    out["numpy_step"] = best(lambda: dy.simulate(L, opt, x0, steps, every=steps, backend="numpy")) / steps
    out["hand_step"] = best(lambda: hand("gd", u0, v0, steps)) / steps
    # one GD step by hand against samscape's (same formula, the sums in another order)
    ref = dy.simulate(L, opt, x0[:1], 1, backend="numpy").x[0]
    hu, hv = hand("gd", u0, v0, 1)
    out["numpy_vs_hand"] = float(np.max(np.abs(ref - np.concatenate([hu, hv]))))
else:
    opt = make(what)
    t0 = time.perf_counter()
    dy.simulate(L, opt, x0, 1, backend="compiled")
    out["build"] = time.perf_counter() - t0
    if n_starts == 1:
        out["compiled_step"] = best(lambda: dy.simulate(L, opt, x0, steps, every=steps, backend="compiled")) / steps
        hand_steps = max(200, steps // 100)
        out["hand_step"] = best(lambda: hand(what, u0, v0, hand_steps)) / hand_steps
        few = 5
        a = dy.simulate(L, opt, x0, few, every=1, backend="numpy", seed=3).xs
        b = dy.simulate(L, opt, x0, few, every=1, backend="compiled", seed=3).xs
        out["max_step_difference"] = float(np.max(np.abs(a - b)))
    replacements, reduced = sp.cse(list(L.grad_exprs), list=False)
    out["gradient_ops"] = int(sum(sp.count_ops(e) for _, e in replacements) + sum(sp.count_ops(e) for e in reduced))
print(json.dumps(out))
'''.format(n_rows=N_ROWS, lr=LR, rho=RHO)


def run(tree: str, d: int, what: str, n_starts: int, steps: int) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        os.chmod(cache, 0o700)
        env = {**os.environ, "SAMSCAPE_CACHE": cache, "PYTHONPATH": tree}
        script = f"import sys; sys.path.insert(0, {tree!r})\n" + WORKER
        done = subprocess.run([sys.executable, "-c", script, str(d), what, str(n_starts), str(steps)], env=env,
                              capture_output=True, text=True, check=False)
    if done.returncode != 0:  # shown in the table (an old tree may refuse d = 200), with its last line
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": last if len(last) <= 90 else "..." + last[-90:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(tree: str, quick: bool) -> dict:
    res: dict = {}
    res["numpy"] = run(tree, 30, "numpy", 1, 2000)
    for kind in OPTIMIZERS:
        res[f"{kind}/1"] = run(tree, 30, kind, 1, 200_000)
        print(f"  {tree}: {kind}: {res[f'{kind}/1']}", file=sys.stderr)
        if not quick:
            res[f"{kind}/64"] = run(tree, 30, kind, 64, 1)
            print(f"  {tree}: {kind} (64 starts): {res[f'{kind}/64']}", file=sys.stderr)
    if not quick:
        for variables in LARGER:
            for kind in ("gd", "sam"):
                key = f"{kind}/1/d{variables}"
                res[key] = run(tree, variables // 2, kind, 1, 20_000)
                print(f"  {tree}: {kind} in {variables} variables: {res[key]}", file=sys.stderr)
    return res


def rows_for(res: dict) -> dict[str, str]:
    us = 1e6
    out = {}

    def cell(key: str, fmt) -> str:
        entry = res.get(key)
        if entry is None:
            return "-"
        return f"failed: {entry['error']}" if "error" in entry else fmt(entry)

    out["from_expr (60 variables)"] = cell("numpy", lambda r: f"{r['from_expr']:.2f} s")
    out["NumPy path, GD step / hand-written NumPy step"] = cell("numpy", lambda r: (
        f"{r['numpy_step'] * us:.1f} us / {r['hand_step'] * us:.1f} us = {r['numpy_step'] / r['hand_step']:.1f}x"))
    out["NumPy path against the hand-written step (max |diff|)"] = cell("numpy", lambda r: f"{r['numpy_vs_hand']:.1e}")
    for kind in OPTIMIZERS:
        out[f"{kind}: build, 1 start (scalar kernel)"] = cell(f"{kind}/1", lambda r: f"{r['build']:.1f} s")
        out[f"{kind}: build, 64 starts (lane kernel)"] = cell(f"{kind}/64", lambda r: f"{r['build']:.1f} s")
        out[f"{kind}: compiled step / hand-written step"] = cell(f"{kind}/1", lambda r: (
            f"{r['compiled_step'] * us:.2f} us / {r['hand_step'] * us:.1f} us = "
            f"{r['hand_step'] / r['compiled_step']:.1f}x faster"))
        out[f"{kind}: compiled vs NumPy path, 5 steps (max |diff|)"] = cell(
            f"{kind}/1", lambda r: f"{r['max_step_difference']:.1e}")
    for variables in LARGER:
        for kind in ("gd", "sam"):
            out[f"{kind} in {variables} variables: from_expr / build / step"] = cell(
                f"{kind}/1/d{variables}",
                lambda r: f"{r['from_expr']:.2f} s / {r['build']:.1f} s / {r['compiled_step'] * us:.1f} us")
    for kind in ("gd", "sam"):
        small = res.get(f"{kind}/1", {})
        if "gradient_ops" in small:
            def per_op(r, small=small):
                return " -> ".join(f"{e['build'] / e['gradient_ops'] * 1e3:.1f} ms ({e['gradient_ops']} ops)"
                                   for e in [small, r] + [res.get(f"{kind}/1/d{v}", {}) for v in LARGER[1:]]
                                   if "gradient_ops" in e)
            out[f"{kind}: build per gradient operation, {' -> '.join(map(str, (60,) + LARGER))} variables"] = cell(
                f"{kind}/1/d{LARGER[0]}", per_op)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the lane kernels and d = 200")
    parser.add_argument("--against", metavar="OLD_TREE", help="another checkout to measure the same way")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    trees = [TREE] + ([os.path.abspath(args.against)] if args.against else [])
    tables = [rows_for(measure(tree, args.quick)) for tree in trees]
    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    names = list(dict.fromkeys(name for table in tables for name in table))
    header = ["", "this tree"] + (["--against"] if args.against else [])
    width = max(len(n) for n in names)
    print(f"diagonal linear network, d = 60 variables (m = 30), n = {N_ROWS}; load average {load:.1f} -> {load_after:.1f} "
          f"on {os.cpu_count()} cores")
    print(" | ".join([header[0].ljust(width)] + header[1:]))
    for name in names:
        print(" | ".join([name.ljust(width)] + [table.get(name, "-") for table in tables]))
    print(textwrap.dedent("""
        targets: NumPy path within 5x of the hand-written step; from_expr under 1 s; each kernel built in under
        10 s on an idle machine, then at least 5x faster per step than the hand-written loop; build time no worse
        than linear in the gradient's operations."""))


if __name__ == "__main__":
    main()
