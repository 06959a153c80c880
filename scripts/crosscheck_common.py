"""What the cross-check scripts share: running a re-expressed reference rule start by start, the per-step table, the
verdict against a tolerance.

A cross-check re-expresses, in NumPy and in our own code, the step rule of an optimizer's reference implementation
(code nobody here wrote and that pip cannot install) and runs it beside samscape's class. The verdict compares the
rules step by step: at every step ``t`` of samscape's run, their rule is applied to samscape's iterate ``x_t`` and
its result compared with samscape's ``x_{t+1}``, so each step checks the rule at a new point and a difference does
not compound. The script prints the largest coordinate difference of each step and exits 1 when one exceeds its
stated tolerance. It also reports how far the two runs drift apart when each runs freely from the same starts:
near a stationary point a normalized ascent ``g/||g||`` magnifies a rounding difference in ``x`` by about
``rho ||H|| / ||g||``, so free runs of two correct codes may part by far more than the rounding of one step.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class CrossCheck:
    """The outcome of one script: per-step differences of each run, and the by-design differences it showed."""

    tolerance: float
    differences: dict[str, np.ndarray]  # run label -> (steps + 1,) largest |x_samscape - their step| of each step
    free: dict[str, float] = field(default_factory=dict)  # run label -> largest difference of the free runs
    design: dict[str, float] = field(default_factory=dict)  # detail -> the difference it makes (see each script)
    control: dict[str, float] = field(default_factory=dict)  # a deliberately different rule -> its difference

    @property
    def worst(self) -> float:
        return max(float(np.max(d)) for d in self.differences.values())

    @property
    def ok(self) -> bool:
        return self.worst <= self.tolerance


Step = Callable[[np.ndarray, int], np.ndarray]  # a reference rule for one start (one model): (x, t) -> x_next


def along(step: Step, xs: np.ndarray) -> np.ndarray:
    """Their next iterate from each of samscape's: ``out[t + 1] = step(xs[t], t)`` start by start, ``out[0] = xs[0]``;
    ``xs``: ``(steps + 1, n_starts, dim)``."""
    xs = np.asarray(xs, dtype=np.float64)
    nexts = [[step(x, t) for x in xs[t]] for t in range(len(xs) - 1)]
    return np.concatenate([xs[:1], np.asarray(nexts).reshape(xs[1:].shape)])


def free_run(step: Step, x0: np.ndarray, steps: int) -> np.ndarray:
    """Iterates ``(steps + 1, n_starts, dim)`` of a reference rule running on its own from the starts ``x0``."""
    runs = []
    for start in np.asarray(x0, dtype=np.float64):
        path = [start]
        for t in range(steps):
            path.append(step(path[-1], t))
        runs.append(path)
    return np.asarray(runs).transpose(1, 0, 2)


def per_step_difference(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """The largest coordinate difference of each step over all starts: ``(steps + 1,)``."""
    return np.max(np.abs(np.asarray(ours) - np.asarray(theirs)), axis=(1, 2))


def relative_step_difference(ours: np.ndarray, theirs: np.ndarray, x0: np.ndarray) -> float:
    """``|x1_samscape - x1_theirs| / |x1_samscape - x0|`` of one step from ``x0``: how much of the step differs."""
    return float(np.linalg.norm(ours - theirs) / np.linalg.norm(ours - x0))


def main_for(crosscheck: Callable[[int], CrossCheck], description: str, default_steps: int, title: str,
             argv: Sequence[str] | None) -> int:
    """A script's ``main``: ``--steps``, the cross-check, its report; the exit status (0 within tolerance, else 1)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--steps", type=int, default=default_steps, help=f"steps of each run (default {default_steps})")
    steps = parser.parse_args(argv).steps
    if steps < 1:
        parser.error(f"--steps must be at least 1, got {steps}")
    return report(crosscheck(steps), title)


def report(check: CrossCheck, title: str) -> int:
    """Print the per-step table, the by-design differences and the controls; 0 when within tolerance, else 1."""
    print(title)
    print("largest |x_samscape(t+1) - their step from x_samscape(t)| of each step:")
    labels = list(check.differences)
    width = max(12, *(len(label) for label in labels))
    print("step  " + "  ".join(f"{label:>{width}}" for label in labels))
    for t in range(len(next(iter(check.differences.values())))):
        print(f"{t:4d}  " + "  ".join(f"{check.differences[label][t]:>{width}.3e}" for label in labels))
    verdict = "ok" if check.ok else "EXCEEDED"
    print(f"max difference {check.worst:.3e} (tolerance {check.tolerance:.0e}): {verdict}")
    if check.free:
        print("free runs from the same starts, largest difference over all steps (information, not the verdict):")
        print("  " + "  ".join(f"{label} {size:.1e}" for label, size in check.free.items()))
    if check.design:
        print("where samscape differs by design (their detail as written, against samscape):")
        for detail, size in check.design.items():
            print(f"  {detail}: {size:.3e}")
    if check.control:
        print("controls (a different rule must not pass):")
        for rule, size in check.control.items():
            print(f"  {rule}: {size:.3e}")
    return 0 if check.ok else 1
