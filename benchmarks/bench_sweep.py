"""Benchmark `samscape.sweep` on Dask against plain simulate calls, and estimate a research-scale sweep.

    python benchmarks/bench_sweep.py            # 1.05e10 point-steps: SAM on tanh, 16 x 16 (lr, rho) x 2 seeds
                                                # x 1024 starts x 20000 steps
    python benchmarks/bench_sweep.py --quick    # the same sweep with 2000 steps (a smoke run)

The same sweep runs (a) as plain dynamics.simulate calls in this process (one per seed, every (lr, rho) as per-start
arrays, with the same fates and sharpness the sweep computes, nothing stored), (b) on a LocalCluster of 1 worker
process, (c) of 2 worker processes. Every engine runs one thread per process (NUMBA_NUM_THREADS=1), so (a) and (b)
do the same work on one core. Cluster start-up is timed apart from the sweep. The overhead is (b) - (a); the fixed
cost of one task is measured directly on 200 tasks of almost no work. The estimate for a 256 x 256 x 16 seeds x
4096 starts x 1e4 steps sweep on N workers is total / (N x throughput of (b)) + blocks x task cost / N, with the
block rule of samscape.sweep.recipe.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time

os.environ["NUMBA_NUM_THREADS"] = "1"  # before numba loads: one thread per process in every engine
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import numpy as np  # noqa: E402

from samscape import dynamics, landscapes, sweep  # noqa: E402
from samscape.sweep import engine, recipe  # noqa: E402

LRS = np.linspace(0.05, 2.5, 16)
RHOS = np.linspace(0.0, 3.0, 16)
SEEDS = range(2)
STARTS = "grid:-3:3:-1:1:32x32"


def plain(land, steps: int) -> float:
    """(a): one simulate call per seed over every (lr, rho, start), then the sweep's per-point results."""
    x0 = engine.parse_starts(STARTS, land, 0, name="starts")
    lr, rho, start = np.meshgrid(LRS, RHOS, np.arange(len(x0)), indexing="ij")
    started = time.perf_counter()
    for seed in SEEDS:
        run = dynamics.simulate(land, dynamics.SAM(lr.ravel(), rho.ravel()), x0[start.ravel()], steps, every=steps,
                                seed=seed, start_ids=start.ravel(), backend="compiled", progress=False)
        engine.block_results(run, "compiled")
    return time.perf_counter() - started


def on_cluster(land, steps: int, workers: int, folder: str, probe_blocks: int = 0):
    """(b) or (c); with ``probe_blocks``, also a sweep of that many 16-point, 1-step blocks on the same cluster,
    whose time per block is the fixed cost of a task (scheduling, zarr writes, marker, fates of a few points)."""
    from distributed import Client, LocalCluster

    started = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           env={"NUMBA_NUM_THREADS": "1"})
    client = Client(cluster)
    client.run(lambda: __import__("samscape.sweep.engine"))  # imports, not work: paid once per worker
    startup = time.perf_counter() - started
    try:
        started = time.perf_counter()
        ds = sweep.run(land, dynamics.SAM, starts=STARTS, steps=steps, client=client, progress=False,
                       grid={"lr": LRS, "rho": RHOS, "seed": SEEDS}, backend="compiled",
                       reuse_seeds=False,  # the same work as (a): every seed simulated
                       store=os.path.join(folder, f"w{workers}.zarr"))
        seconds = time.perf_counter() - started
        blocks = len(engine.done_blocks(os.path.join(folder, f"w{workers}.zarr")))
        shape = ds.attrs["samscape_block_shape"]
        per_task = None
        if probe_blocks:
            grid = {"lr": np.linspace(0.1, 1.0, probe_blocks), "rho": [0.1]}
            started = time.perf_counter()
            sweep.run(land, dynamics.SAM, starts="grid:-3:3:-1:1:4x4", steps=1, client=client, progress=False,
                      grid=grid, backend="compiled", block_points=16, store=os.path.join(folder, "probe.zarr"))
            per_task = (time.perf_counter() - started) / probe_blocks
    finally:
        client.close()
        cluster.close()
    return seconds, startup, blocks, shape, per_task


def estimate(throughput: float, overhead: float, workers: int) -> tuple[float, int]:
    """Hours for 256 x 256 (lr, rho) x 16 seeds x 4096 starts x 1e4 steps on ``workers`` workers."""
    sizes, names, steps, starts = [256, 256, 16], ["lr", "rho", "seed"], 10_000, 4096
    block = recipe.block_shape(sizes, names, starts, steps, 0, 2, workers)
    blocks = math.prod(math.ceil(n / c) for n, c in zip(sizes + [starts], block))
    total = math.prod(sizes) * starts * steps
    return (total / (workers * throughput) + blocks * overhead / workers) / 3600, blocks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2000 steps instead of 20000")
    args = parser.parse_args()
    steps = 2000 if args.quick else 20_000
    land = landscapes.get("tanh")
    point_steps = len(LRS) * len(RHOS) * len(SEEDS) * 1024 * steps
    # compile once (the disk cache serves the workers) so that no engine pays for it in its timing
    dynamics.simulate(land, dynamics.SAM(0.1, 0.1), np.zeros((2, 2)), 1, backend="compiled", progress=False)
    print(f"sweep: SAM on tanh, {len(LRS)} x {len(RHOS)} (lr, rho) x {len(SEEDS)} seeds x 1024 starts x {steps} steps "
          f"= {point_steps:.3g} point-steps; one thread per process; {os.cpu_count()} cores")
    a = plain(land, steps)
    with tempfile.TemporaryDirectory() as folder:
        b, b_start, b_blocks, b_shape, per_task = on_cluster(land, steps, 1, folder, probe_blocks=200)
        c, c_start, c_blocks, c_shape, _ = on_cluster(land, steps, 2, folder)
    overhead = (b - a) / b_blocks
    rows = [("(a) plain simulate calls, 1 process", a, "-", "-", "-"),
            ("(b) LocalCluster, 1 worker", b, b_start, b_blocks, b_shape),
            ("(c) LocalCluster, 2 workers", c, c_start, c_blocks, c_shape)]
    print()
    print("| engine | seconds | point-steps/s | cluster start (s) | blocks | block shape (lr, rho, seed, start) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, seconds, start, blocks, shape in rows:
        start = start if isinstance(start, str) else f"{start:.1f}"
        print(f"| {name} | {seconds:.1f} | {point_steps / seconds:.3g} | {start} | {blocks} | {shape} |")
    print()
    print(f"overhead of (b) against (a): {100 * (b - a) / a:+.1f}% (target <= 5%), i.e. {overhead:+.3f} s per task")
    print(f"fixed cost of a task, measured on 200 blocks of 16 points x 1 step on (b)'s cluster: {per_task:.4f} s")
    print(f"2-worker speed-up (b)/(c): {b / c:.2f}x (target >= 1.8x)")
    per_worker = point_steps / b
    print()
    print("estimate, 256 x 256 (eta, rho) x 16 seeds x 4096 starts x 1e4 steps = 4.4e13 point-steps, "
          f"from {per_worker:.3g} point-steps/s per worker and {per_task:.4f} s per task:")
    print("| workers | blocks | hours |")
    print("| --- | --- | --- |")
    for workers in (1, 16, 64, 256, 1024):
        hours, blocks = estimate(per_worker, per_task, workers)
        print(f"| {workers} | {blocks} | {hours:.3g} |")


if __name__ == "__main__":
    main()
