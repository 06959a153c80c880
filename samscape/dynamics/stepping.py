"""The one step primitive: key the step's draws, apply the optimizer's update, keep the iterates' dtype.

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


def initial_state(optimizer: Optimizer, n_starts: int, dim: int, dtype, arrays=None) -> dict[str, np.ndarray]:
    """The state a run of ``optimizer`` starts from: every array of :meth:`Optimizer.state_names`, ``(n_starts, dim)``
    in ``dtype``, taken from ``arrays`` (name -> array, a continued run's) where it has it and zero elsewhere.

    Refuses, in one sentence, an array the optimizer does not carry or one of another shape.
    """
    names = optimizer.state_names()
    arrays = {} if arrays is None else dict(arrays)
    for name, array in arrays.items():
        if name not in names:
            carried = f"carries {', '.join(map(repr, names))}" if names else "carries no state"
            raise ValueError(f"state holds an array {name!r} that optimizer {optimizer.describe()} does not carry "
                             f"(it {carried}); continue it with the optimizer that made it")
        if np.shape(array) != (n_starts, dim):
            raise ValueError(f"state array {name!r} must have shape ({n_starts}, {dim}) (one row per start), "
                             f"got {np.shape(array)}")
    return {name: np.array(arrays[name], dtype=dtype) if name in arrays else np.zeros((n_starts, dim), dtype=dtype)
            for name in names}


class Stepper:
    """``stepper(x, t) -> x_next`` for ``n_starts`` starts: the optimizer resolved per start, the draws keyed once,
    and the optimizer's state (``stepper.state``, name -> ``(n_starts, dim)``) carried from call to call.

    ``state`` is where it starts (see :func:`initial_state`: zeros by default). ``x`` must be ``(n_starts, dim)``
    in ``dtype``; this is what a loop calls every step, so it checks nothing. A loop that keeps some starts'
    state back (frozen starts) steps with :meth:`advance` instead, which leaves ``stepper.state`` alone.
    """

    def __init__(self, landscape, optimizer: Optimizer, n_starts: int, dtype, *, seed: int, start_ids=None,
                 state=None):
        check_optimizer(optimizer)
        ids = np.arange(n_starts, dtype=np.int64) if start_ids is None else np.asarray(start_ids, dtype=np.int64)
        if ids.shape != (n_starts,):
            raise ValueError(f"start_ids must hold one id per start ({n_starts}), got shape {ids.shape}")
        self.landscape = landscape
        self.optimizer = optimizer.for_starts(n_starts, dtype)
        self.noise = Noise(seed, ids, landscape.n_samples, landscape.dim)
        self.state = initial_state(optimizer, n_starts, landscape.dim, dtype, state)

    def advance(self, x: np.ndarray, state: dict, t: int) -> tuple[np.ndarray, dict]:
        """``(x_next, state_next)`` from ``x`` and ``state`` at step ``t``, both in the dtype of ``x``."""
        x_next, state_next = self.optimizer.advance(self.landscape, x, state, t, self.noise)
        if state_next is not state:
            state_next = {name: array.astype(x.dtype, copy=False) for name, array in state_next.items()}
        return x_next.astype(x.dtype, copy=False), state_next

    def __call__(self, x: np.ndarray, t: int) -> np.ndarray:
        x_next, self.state = self.advance(x, self.state, t)
        return x_next


def _as_starts(landscape, x) -> tuple[np.ndarray, bool]:
    """``x`` as a float ``(n, dim)`` array, and whether it was one ``(dim,)`` point."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    if x.ndim not in (1, 2) or x.shape[-1] != landscape.dim or x.size == 0:
        raise ValueError(f"x must have shape ({landscape.dim},) or (n, {landscape.dim}), got {x.shape}")
    return (x[None, :], True) if x.ndim == 1 else (x, False)


def step(landscape, optimizer: Optimizer, x, t: int, *, seed: int, start_ids=None) -> np.ndarray:
    """One update of ``optimizer`` at step ``t``: ``x (n, dim)`` or ``(dim,)`` -> ``x_next`` of the same shape
    (an optimizer with momentum takes it from zero velocity, its first step of a run)."""
    points, single = _as_starts(landscape, x)
    t = int_at_least(t, "t", 0)
    x_next = Stepper(landscape, optimizer, len(points), points.dtype, seed=seed, start_ids=start_ids)(points, t)
    return x_next[0] if single else x_next


def iterate(landscape, optimizer: Optimizer, x, t0: int, n_steps: int, *, seed: int, start_ids=None,
            state=None) -> np.ndarray:
    """``n_steps`` updates from ``x`` at step ``t0``: ``(n_steps + 1,) + x.shape``, ``x`` itself first.

    An optimizer with state (momentum) starts from ``state`` (name -> ``(n, dim)``; zeros by default), e.g. a
    run's ``run.state.arrays`` to replay it further from ``run.state.step``.
    """
    points, single = _as_starts(landscape, x)
    t0 = int_at_least(t0, "t0", 0)
    n_steps = int_at_least(n_steps, "n_steps", 0)
    stepper = Stepper(landscape, optimizer, len(points), points.dtype, seed=seed, start_ids=start_ids, state=state)
    out = np.empty((n_steps + 1,) + points.shape, dtype=points.dtype)
    out[0] = points
    for k in range(n_steps):
        out[k + 1] = stepper(out[k], t0 + k)
    return out[:, 0] if single else out
