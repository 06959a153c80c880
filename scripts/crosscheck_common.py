"""What the cross-check scripts share: PyTorch's SGD step (the base optimizer of the reference codes), samscape's
path step by step, their rule applied along it, the per-step table and the verdict against a tolerance.

A cross-check re-expresses, in NumPy and in our own code, the step rule of an optimizer's reference implementation
(code nobody here wrote and that pip cannot install) and runs it beside samscape's class. The verdict compares the
rules step by step: at every step ``t`` of samscape's path, their rule is applied to samscape's iterate ``x_t`` (and
velocity ``v_t``, as their momentum buffer) and its result compared with samscape's ``x_{t+1}`` (and ``v_{t+1}``),
so each step checks the rule at a new point and a difference does not compound. The script prints the largest coordinate difference of each step and exits 1
when one exceeds its stated tolerance. It also reports how far the two runs drift apart when each runs freely from
the same starts: near a stationary point a normalized ascent ``g/||g||`` magnifies a rounding difference in ``x``
by about ``rho ||H|| / ||g||``, so free runs of two correct codes may part by far more than one step's rounding.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from samscape import dynamics

# A reference rule for one start (one model, as the reference code sees it): (w, momentum buffer, t) -> both next.
Step = Callable[[np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray]]


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


def torch_sgd_step(w, buf, d, lr, momentum=0.0, nesterov=False):
    """PyTorch's ``SGD.step`` for one parameter with gradient ``d`` (dampening 0, no weight decay): ``buf <- momentum
    buf + d`` (its first step sets ``buf = d``, the same from a zero buffer), then ``w - lr buf``, or
    ``w - lr (d + momentum buf)`` with ``nesterov``; without momentum ``w - lr d`` and no buffer."""
    if momentum == 0:
        return w - lr * d, buf
    buf = momentum * buf + d
    return w - lr * (d + momentum * buf if nesterov else buf), buf


def samscape_path(landscape, optimizers: Sequence, x0) -> tuple[np.ndarray, np.ndarray]:
    """samscape's iterates and velocities ``(len(optimizers) + 1, n_starts, dim)`` each, one ``advance`` of
    ``optimizers[t]`` at step ``t`` (a list of one optimizer per step is a schedule); the velocity is 0 throughout
    for an optimizer without momentum."""
    x = np.asarray(x0, dtype=np.float64)
    noise = dynamics.Noise(0, np.arange(len(x)), landscape.n_samples, landscape.dim)
    state = {"velocity": np.zeros_like(x)}
    xs, velocities = [x], [state["velocity"]]
    for t, optimizer in enumerate(optimizers):
        x, state = optimizer.advance(landscape, x, state, t, noise)
        xs.append(x)
        velocities.append(state["velocity"])
    return np.stack(xs), np.stack(velocities)


def along(step: Step, xs: np.ndarray, velocities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Their next iterate and momentum buffer from each of samscape's iterates and velocities:
    ``out[t + 1] = step(xs[t], velocities[t], t)``, start by start; ``out[0]`` is samscape's."""
    nexts = [[step(x, v, t) for x, v in zip(xs[t], velocities[t])] for t in range(len(xs) - 1)]
    theirs = np.asarray(nexts, dtype=np.float64)  # (steps, n_starts, 2, dim)
    return (np.concatenate([xs[:1], theirs[:, :, 0]]), np.concatenate([velocities[:1], theirs[:, :, 1]]))


def free_run(step: Step, x0: np.ndarray, steps: int) -> np.ndarray:
    """Iterates ``(steps + 1, n_starts, dim)`` of a reference rule running on its own from the starts ``x0``."""
    runs = []
    for start in np.asarray(x0, dtype=np.float64):
        path, buf = [start], np.zeros_like(start)
        for t in range(steps):
            w, buf = step(path[-1], buf, t)
            path.append(w)
        runs.append(path)
    return np.asarray(runs).transpose(1, 0, 2)


def per_step_difference(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """The largest coordinate difference of each step over all starts: ``(steps + 1,)``."""
    return np.max(np.abs(np.asarray(ours) - np.asarray(theirs)), axis=(1, 2))


def along_difference(step: Step, xs: np.ndarray, velocities: np.ndarray) -> np.ndarray:
    """``(steps + 1,)``: the largest difference of each step between samscape's iterate and velocity and theirs from
    samscape's previous ones (the velocity too, so that a momentum that never reached the iterate is not missed)."""
    their_xs, their_velocities = along(step, xs, velocities)
    return np.maximum(per_step_difference(xs, their_xs), per_step_difference(velocities, their_velocities))


def compare(step: Step, landscape, optimizers: Sequence, x0) -> tuple[np.ndarray, float]:
    """The per-step differences of ``step`` along samscape's path, and the largest difference of the free runs."""
    xs, velocities = samscape_path(landscape, optimizers, x0)
    return (along_difference(step, xs, velocities),
            float(np.max(per_step_difference(xs, free_run(step, x0, len(optimizers))))))


def largest_along(step: Step, landscape, optimizers: Sequence, x0) -> float:
    """The largest per-step difference of ``step`` along samscape's path (for the by-design rows and controls)."""
    return float(np.max(along_difference(step, *samscape_path(landscape, optimizers, x0))))


def relative_step_difference(landscape, optimizer, step: Step, x0: np.ndarray) -> float:
    """``|x1_samscape - x1_theirs| / |x1_samscape - x0|`` of one step from the point ``x0``: how much of it differs."""
    ours = samscape_path(landscape, [optimizer], x0[None])[0][1, 0]
    theirs = step(x0, np.zeros_like(x0), 0)[0]
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
    print("largest |x_samscape(t+1) - their step from x_samscape(t)| per step (and of the velocity, with momentum):")
    labels = list(check.differences)
    widths = [max(9, len(label)) for label in labels]
    print("step  " + "  ".join(f"{label:>{width}}" for label, width in zip(labels, widths)))
    for t in range(len(next(iter(check.differences.values())))):
        print(f"{t:4d}  " + "  ".join(f"{check.differences[label][t]:>{width}.2e}"
                                      for label, width in zip(labels, widths)))
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
