"""Benchmark the compiled kernel of every registered optimizer against SAM's, in one run on one machine.

    python benchmarks/bench_variants.py            # 200,000 starts x 200 steps on the tanh example, 5 rounds
    python benchmarks/bench_variants.py --quick    # 20,000 starts x 500 steps, 3 rounds (a smoke run)
    python benchmarks/bench_variants.py --kinds sam asam gsam   # only these (SAM is always timed: the reference)

Every kind the registry holds (``plain_kinds()``, so a variant added later is timed too) runs with its default
hyperparameters; GD and SAM (``--momentum-kinds``) again with heavy-ball momentum 0.9 and with Nesterov.
The gradients a step takes are counted, not assumed: one step of the optimizer on a landscape that counts its
``grad`` calls (averaged over a few steps, for an optimizer whose steps differ). The kernels are compiled before
the timing; the rounds alternate over the optimizers so that a change in the machine's load touches all of them,
and each row reports the median of its rounds. The targets (issue 21) are ratios in this one run:

* a variant taking one gradient more per step than SAM costs at most 1.6x SAM's compiled point-step;
* momentum (heavy ball or Nesterov) adds at most 15 % to its optimizer's point-step.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from bench_integrator import LR, RHO, tanh_landscape, wide_starts  # noqa: E402  (same example, same starts)

EXTRA_GRADIENT_LIMIT = 1.6
MOMENTUM_LIMIT = 1.15
MOMENTUM = 0.9


class CountingLandscape:
    """``landscape`` whose ``grad`` counts its calls (everything else is the landscape's own)."""

    def __init__(self, landscape):
        self._landscape = landscape
        self.calls = 0

    def grad(self, *args, **kwargs):
        self.calls += 1
        return self._landscape.grad(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._landscape, name)


def gradients_per_step(landscape, optimizer, steps: int = 6) -> float:
    """The mean number of gradient evaluations of one step of ``optimizer`` over ``steps`` steps (NumPy backend)."""
    from samscape import dynamics as dy

    counting = CountingLandscape(landscape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dy.simulate(counting, optimizer, wide_starts(2, np.float64), steps, seed=0, backend="numpy", progress=False)
    return counting.calls / steps


def contenders(kinds: list[str] | None, momentum_kinds: list[str]):
    """``(label, optimizer, base label or None)`` for every kind asked for (all by default), SAM first, and for those
    of ``momentum_kinds`` also with heavy-ball and Nesterov momentum, whose base is the row without momentum."""
    from samscape import dynamics as dy

    chosen = [kind for kind in dy.plain_kinds() if kinds is None or kind in kinds or kind == "sam"]
    chosen.sort(key=lambda kind: kind != "sam")
    rows = []
    for kind in chosen:
        optimizer = dy.optimizer_from_kind(kind, LR, rho=RHO)
        label = type(optimizer).__name__
        rows.append((label, optimizer, None))
        if kind in momentum_kinds and type(optimizer).takes("momentum") and not getattr(optimizer, "momentum", 0):
            rows.append((f"{label} + momentum {MOMENTUM}", dataclasses.replace(optimizer, momentum=MOMENTUM), label))
            if type(optimizer).takes("nesterov"):
                rows.append((f"{label} + Nesterov {MOMENTUM}",
                             dataclasses.replace(optimizer, momentum=MOMENTUM, nesterov=True), label))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 starts and 3 rounds (indicative only)")
    parser.add_argument("--kinds", nargs="+", metavar="KIND", help="time only these kinds (and SAM, the reference)")
    parser.add_argument("--momentum-kinds", nargs="+", metavar="KIND", default=["gd", "sam"],
                        help="the kinds also timed with heavy-ball and Nesterov momentum 0.9 (default: gd sam)")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 5, 3 with --quick)")
    args = parser.parse_args(argv)
    # a default batch size on the data-free tanh example draws a note that says nothing about speed
    warnings.simplefilter("ignore", UserWarning)

    import numba

    from samscape import dynamics as dy
    from samscape.dynamics import compiled

    n_starts = 20_000 if args.quick else 200_000
    steps = 500 if args.quick else 200
    rounds = args.rounds or (3 if args.quick else 5)
    if rounds < 1:
        parser.error(f"--rounds must be >= 1, got {rounds}")
    if args.kinds:
        unknown = sorted(set(args.kinds) - set(dy.plain_kinds()))
        if unknown:
            parser.error(f"--kinds got unknown kind(s) {', '.join(unknown)}; known: {', '.join(dy.plain_kinds())}")
    L = tanh_landscape()
    x0 = wide_starts(n_starts, np.float64)
    print(f"samscape variant benchmark{' (--quick)' if args.quick else ''}: {n_starts} starts x {steps} steps, "
          f"float64, {rounds} alternating rounds")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numba threads "
          f"{numba.get_num_threads()}; landscape {L.name} = {L.loss_expr}; lr={LR}, rho={RHO}")
    print(f"load average before: {os.getloadavg()[0]:.2f}\n", flush=True)

    rows, no_kernel = [], []
    for label, optimizer, base in contenders(args.kinds, args.momentum_kinds):
        try:
            dy.simulate(L, optimizer, x0[:64], 2, seed=0, backend="compiled", progress=False)  # compile, untimed
        except (compiled.codegen.UnsupportedLandscape, compiled.KernelBuildError) as err:
            no_kernel.append((label, str(err)))
            continue
        rows.append(dict(label=label, optimizer=optimizer, base=base, grads=gradients_per_step(L, optimizer), times=[]))
        print(f"compiled: {label}", flush=True)

    for _ in range(rounds):
        for row in rows:
            start = time.perf_counter()
            dy.simulate(L, row["optimizer"], x0, steps, every=steps, seed=0, backend="compiled", progress=False)
            row["times"].append(time.perf_counter() - start)
    by_label = {}
    for row in rows:
        row["ns"] = float(np.median(row["times"])) / (n_starts * steps) * 1e9
        row["spread"] = (min(row["times"]) / np.median(row["times"]), max(row["times"]) / np.median(row["times"]))
        by_label[row["label"]] = row
    sam = by_label["SAM"]

    print()
    print("| optimizer | gradients per step | ns per point-step | min..max / median | vs SAM | vs without momentum |")
    print("|---|---:|---:|---:|---:|---:|")
    checks = []
    for row in rows:
        vs_sam = row["ns"] / sam["ns"]
        vs_base = row["ns"] / by_label[row["base"]]["ns"] if row["base"] else None
        print(f"| {row['label']} | {row['grads']:g} | {row['ns']:.2f} | {row['spread'][0]:.2f}..{row['spread'][1]:.2f} "
              f"| {vs_sam:.2f} | {'' if vs_base is None else f'{vs_base:.2f}'} |")
        if row["base"] is not None:
            checks.append((f"{row['label']}: {vs_base:.2f}x {row['base']} (target <= {MOMENTUM_LIMIT})",
                           vs_base <= MOMENTUM_LIMIT))
        elif row["grads"] == sam["grads"] + 1:
            checks.append((f"{row['label']} ({row['grads']:g} gradients a step, SAM {sam['grads']:g}): {vs_sam:.2f}x SAM "
                           f"(target <= {EXTRA_GRADIENT_LIMIT})", vs_sam <= EXTRA_GRADIENT_LIMIT))
    for label, why in no_kernel:
        print(f"| {label} | | no kernel: {why} | | | |")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    print("targets:" + ("  [--quick sizes: indicative only]" if args.quick else ""))
    for text, ok in checks:
        print(f"  {'PASS' if ok else 'MISS'}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
