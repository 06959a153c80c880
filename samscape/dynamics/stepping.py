"""The one step primitive: key the step's draws, apply the optimizer's update at its step's scheduled values (see
:mod:`samscape.dynamics.schedules`), keep the iterates' dtype.

The NumPy backend of :func:`~samscape.dynamics.simulate`, the replays of the theory (a run's own update
applied further) and the maps that the theory and the plots differentiate or draw (one deterministic step
on a grid of points) all step through here, so a replay from step 0 reproduces a run bit for bit.

Shapes: ``x`` is ``(n, dim)`` (one row per start) or ``(dim,)`` (one start); the result has the shape of
``x``. Start ``i`` draws its batches and directions from ``(seed, start_ids[i], t)`` (see
:mod:`samscape.dynamics.draws`); ``start_ids`` defaults to ``0..n-1``. Floating-point warnings are the
caller's to silence: a simulation ignores them for starts it freezes anyway, a map should report them.
"""

from __future__ import annotations

import numpy as np

from .._checks import int_at_least
from .optimizers import Noise, Optimizer, check_optimizer


class Stepper:
    """``stepper(x, t) -> x_next`` for ``n_starts`` starts: the optimizer resolved per start and the draws keyed once.

    ``x`` must be ``(n_starts, dim)`` in ``dtype``; this is what a loop calls every step, so it checks nothing.
    """

    def __init__(self, landscape, optimizer: Optimizer, n_starts: int, dtype, *, seed: int, start_ids=None):
        check_optimizer(optimizer)
        ids = np.arange(n_starts, dtype=np.int64) if start_ids is None else np.asarray(start_ids, dtype=np.int64)
        if ids.shape != (n_starts,):
            raise ValueError(f"start_ids must hold one id per start ({n_starts}), got shape {ids.shape}")
        self.landscape = landscape
        self.optimizer = optimizer.for_starts(n_starts, dtype)
        # asked once: an optimizer without a schedule steps as it is, at no cost per step
        self.scheduled = self.optimizer.scheduled()
        self.noise = Noise(seed, ids, landscape.n_samples, landscape.dim)

    def __call__(self, x: np.ndarray, t: int) -> np.ndarray:
        optimizer = self.optimizer.at_step(t) if self.scheduled else self.optimizer
        return optimizer.update(self.landscape, x, t, self.noise).astype(x.dtype, copy=False)


def _as_starts(landscape, x) -> tuple[np.ndarray, bool]:
    """``x`` as a float ``(n, dim)`` array, and whether it was one ``(dim,)`` point."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    if x.ndim not in (1, 2) or x.shape[-1] != landscape.dim or x.size == 0:
        raise ValueError(f"x must have shape ({landscape.dim},) or (n, {landscape.dim}), got {x.shape}")
    return (x[None, :], True) if x.ndim == 1 else (x, False)


def step(landscape, optimizer: Optimizer, x, t: int, *, seed: int, start_ids=None) -> np.ndarray:
    """One update of ``optimizer`` at step ``t``: ``x (n, dim)`` or ``(dim,)`` -> ``x_next`` of the same shape."""
    points, single = _as_starts(landscape, x)
    t = int_at_least(t, "t", 0)
    x_next = Stepper(landscape, optimizer, len(points), points.dtype, seed=seed, start_ids=start_ids)(points, t)
    return x_next[0] if single else x_next


def iterate(landscape, optimizer: Optimizer, x, t0: int, n_steps: int, *, seed: int, start_ids=None) -> np.ndarray:
    """``n_steps`` updates from ``x`` at step ``t0``: ``(n_steps + 1,) + x.shape``, ``x`` itself first."""
    points, single = _as_starts(landscape, x)
    t0 = int_at_least(t0, "t0", 0)
    n_steps = int_at_least(n_steps, "n_steps", 0)
    stepper = Stepper(landscape, optimizer, len(points), points.dtype, seed=seed, start_ids=start_ids)
    out = np.empty((n_steps + 1,) + points.shape, dtype=points.dtype)
    out[0] = points
    for k in range(n_steps):
        out[k + 1] = stepper(out[k], t0 + k)
    return out[:, 0] if single else out
