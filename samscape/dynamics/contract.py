"""What every backend of :func:`samscape.dynamics.simulate` agrees on: dtypes, status codes, the divergence test
and the kernel's lane geometry.

This module sits at the bottom of :mod:`samscape.dynamics` and imports nothing from it (only the shared checks), so the integrator,
the kernel generator and the compiled backend can all import it without importing each other.
"""

from __future__ import annotations

import numpy as np

from .._checks import choice

DTYPES = ("float64", "float32")
# A start whose iterate leaves the ball ||x|| <= DEFAULT_BOUND is frozen as diverged (simulate's bound=).
DEFAULT_BOUND = 1e6

# A start's status, as stored per start by every backend (int8) and named in Run.status.
STATUS_NAMES = ("ok", "diverged", "nonfinite")
OK, DIVERGED, NONFINITE = 0, 1, 2

# The fused kernel advances blocks of starts together, each quantity a row of one number per start (see codegen).
# With few variables a step is a few long dependency chains per start, and more lanes in flight hide their
# latency (SAM on tanh in 2 variables: 13% faster with 64 lanes than with 32); with many, a block's rows must
# stay in the first-level cache (60 variables: 25% slower with 64). benchmarks/bench_integrator.py measures it.
LANES_FEW_VARIABLES, LANES_MANY_VARIABLES, FEW_VARIABLES = 64, 32, 8
PAIRWISE_BLOCK = 128  # NumPy's PW_BLOCKSIZE: a pairwise sum of at most this many terms is one flat block


def lanes_for(dim: int) -> int:
    """Starts per block of the lane kernel for a landscape of ``dim`` variables."""
    return LANES_FEW_VARIABLES if dim <= FEW_VARIABLES else LANES_MANY_VARIABLES


def far_threshold(bound: float, dtype) -> np.floating:
    """The largest ``s`` with ``sqrt(s) <= bound`` in ``dtype`` (capped at the largest finite number).

    A start is diverged when ``sqrt(sum x**2) > bound``; a correctly rounded square root is monotone, so that
    test equals ``sum x**2 > s`` and both backends skip the square root with exactly the same verdicts.
    """
    kind = np.dtype(dtype).type
    with np.errstate(over="ignore"):
        b = kind(bound)
        s = b * b
        if not np.isfinite(s):
            # the bound is beyond what a squared norm can hold: everything up to the largest finite number
            # counts as inside, and an infinite squared norm is left to the finiteness test
            return np.finfo(kind).max
        down, up = kind(-np.inf), kind(np.inf)
        while np.sqrt(s) > b:
            s = np.nextafter(s, down)
        while s < up and np.sqrt(np.nextafter(s, up)) <= b:
            s = np.nextafter(s, up)
    return s


def kept_so_far(xs: np.ndarray, filled: int, state: np.ndarray, done: int, saved) -> np.ndarray:
    """What a backend stopped after step ``done`` (Ctrl-C, see ``simulate(on_interrupt="return")``) returns: the
    first ``filled`` saved iterates and, unless ``done`` is a saved step, the iterates at ``done`` (``state``), i.e.
    those of ``saved_step_grid(done, every)``. A copy, so that the arrays sized for the whole run can go."""
    if saved[filled - 1] == done:
        return xs[:filled].copy()
    return np.concatenate([xs[:filled], state[None]])


def saved_step_grid(steps: int, every: int) -> np.ndarray:
    """Steps that a run keeps: 0, every, 2*every, ..., and always the last step ``steps``."""
    grid = np.arange(0, steps + 1, every, dtype=np.int64)
    if grid[-1] != steps:
        grid = np.append(grid, steps)
    return grid


def n_saved_steps(steps: int, every: int) -> int:
    """``len(saved_step_grid(steps, every))``, without building the grid."""
    return steps // every + 1 + (steps % every != 0)


def check_dtype(dtype) -> np.dtype:
    """``dtype`` as a NumPy dtype, one of :data:`DTYPES` (``float`` is float64)."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in DTYPES:
        choice(dtype, "dtype", DTYPES)  # raises, naming what was given
    return np.dtype(name)


def initial_status(status, n_starts: int) -> tuple[np.ndarray, np.ndarray]:
    """A backend's ``(status, stopped_at)`` at its first step: every start running (``OK``, -1), or where ``status``
    (int codes of a continued run) says a start is frozen, frozen since this call's first step (0)."""
    codes = np.zeros(n_starts, dtype=np.int8) if status is None else np.array(status, dtype=np.int8)
    return codes, np.where(codes != OK, 0, -1).astype(np.int64)
