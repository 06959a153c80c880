"""What momentum costs in the compiled kernel: SAM against SAM with heavy-ball and Nesterov momentum on ``tanh``.

    python benchmarks/bench_momentum.py              # 20,000 starts x 300 steps, 7 alternating rounds
    python benchmarks/bench_momentum.py --starts 100000 --steps 500 --rounds 5

The three kernels are compiled (or loaded from the disk cache) first, then timed alternately, and the best round of
each is printed as nanoseconds per point-step with its ratio to SAM's (issue 21's target: momentum adds at most
15 %). A busy machine inflates every round alike; the best of several alternating rounds is the fair comparison.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from samscape import dynamics, landscapes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=20_000)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    land = landscapes.get("tanh")
    x0 = np.random.default_rng(0).uniform(-1.0, 1.0, size=(args.starts, land.dim))
    optimizers = {
        "SAM": dynamics.SAM(0.05, 0.05),
        "SAM, momentum=0.9": dynamics.SAM(0.05, 0.05, momentum=0.9),
        "SAM, momentum=0.9, nesterov": dynamics.SAM(0.05, 0.05, momentum=0.9, nesterov=True),
    }
    for optimizer in optimizers.values():  # compile or load each kernel outside the timing
        dynamics.simulate(land, optimizer, x0[:2], 2, seed=0, backend="compiled", progress=False)
    best = dict.fromkeys(optimizers, float("inf"))
    for _ in range(args.rounds):
        for label, optimizer in optimizers.items():
            start = time.perf_counter()
            dynamics.simulate(land, optimizer, x0, args.steps, every=args.steps, seed=0, backend="compiled",
                              progress=False)
            best[label] = min(best[label], time.perf_counter() - start)
    point_steps = args.starts * args.steps
    for label, seconds in best.items():
        print(f"{label:30} {seconds * 1e9 / point_steps:7.2f} ns/point-step   x{seconds / best['SAM']:.3f} of SAM")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
