"""Memory: what a run needs, what the machine has, and the guard between them.

:func:`memory_estimate` sizes a run from its shapes alone (saved iterates and loss, the working arrays of each
backend, the loss evaluated in chunks at the end); :func:`check_fits` refuses, in one sentence with the estimate
and the remedy, a run that would not fit in :func:`available_memory`; :func:`map_points` evaluates a function at
many points a bounded chunk at a time. :func:`simulate` and :func:`load_run` guard themselves with these, and a
sweep sizes its blocks with them.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .contract import PAIRWISE_BLOCK, lanes_for
from .optimizers import Optimizer
from .runplan import RunPlan, plan_run

# Points whose loss (or gradient) is evaluated at once when a run's saved iterates are reduced: the per-sample
# temporaries of a finite sum scale with this times n_samples, so it is divided by n_samples.
CHUNK_ELEMENTS = 2**18
# Rough working-set coefficients of the NumPy path, from what one step allocates (see _working_bytes).
_ARRAYS_PER_COORDINATE = 16   # x, x_next, gradients, ascent points, unit vectors: (n_starts, dim) each
_DRAW_BYTES_PER_POSITION = 24  # the hash of a batch draw: about three live (n_starts, batch) 64-bit arrays


def available_memory() -> int | None:
    """Bytes of memory a new allocation can get without swapping, or ``None`` when it cannot be read.

    Linux: ``MemAvailable`` of ``/proc/meminfo``; elsewhere the free physical pages (``os.sysconf``).
    The memory guards of :func:`simulate` and :func:`load_run` call this; tests replace it.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def _samples_per_point(landscape) -> int:
    """How many per-sample values a full-batch evaluation computes per point (1 when no data is used)."""
    return landscape.n_samples if getattr(landscape, "data_symbols", ()) else 1


def _evaluation_bytes(landscape, n_points: int, width: int) -> int:
    """Temporaries of one gradient or loss evaluation at ``n_points`` points over ``width`` samples each:
    the gathered data columns, every output and the common subexpressions, in float64."""
    columns = len(getattr(landscape, "data_symbols", ()) or ())
    return n_points * width * (landscape.dim + columns + 4) * 8


def _working_bytes(plan: RunPlan, backend: str) -> int:
    """Peak temporaries of the stepping loop of ``backend`` (beyond the saved iterates)."""
    landscape, n_starts, dtype, batches = plan.landscape, plan.n_starts, plan.dtype, plan.batch_sizes
    has_data = _samples_per_point(landscape) > 1
    # the optimizer's state (a velocity, LookSAM's stored direction): one (n_starts, dim) array each in the kernel's
    # arguments; the NumPy path holds the current one, the next one and the frozen starts' merge of the two
    carried = len(plan.optimizer.state_names()) * n_starts * landscape.dim * dtype.itemsize
    if backend == "compiled":
        largest = max(batches, default=0) if has_data else 0
        state = n_starts * (landscape.dim * dtype.itemsize + 9)  # iterates, status, stop step
        plan_rows = largest // PAIRWISE_BLOCK + 1  # a Python list per row while the plan is built
        scratch = (os.cpu_count() or 1) * lanes_for(landscape.dim) * (2 + largest) * 8  # one integer row per batch position
        return (state + carried + plan_rows * 160 + scratch
                + _samples_per_point(landscape) * 8 * (landscape.dim + 2))
    step = n_starts * _ARRAYS_PER_COORDINATE * landscape.dim * dtype.itemsize
    draws = n_starts * max(batches, default=0) * _DRAW_BYTES_PER_POSITION
    widths = [1]
    if has_data:
        widths += batches
        if plan.full_batch_part:  # a full-batch part evaluates every sample
            widths.append(_samples_per_point(landscape))
    return step + 3 * carried + draws + _evaluation_bytes(landscape, n_starts, max(widths))


def memory_estimate(landscape, optimizer: Optimizer, n_starts: int, n_saved: int, dtype=np.float64,
                    backend: str = "numpy") -> dict[str, int]:
    """Rough peak memory of a run in bytes: ``saved iterates``, ``saved loss``, ``working`` and ``total``.

    ``backend`` is ``"numpy"``, ``"compiled"`` or ``"auto"`` (the smaller of the two: the least the run could
    need). The saved arrays are exact; ``working`` is the larger of the stepping loop's temporaries (per ``backend``:
    the NumPy path holds a few ``(n_starts, dim)`` arrays plus ``(n_starts, batch)`` draws and per-sample
    values, the compiled one little more than the state; both the optimizer's state arrays, such as momentum's
    velocity) and those of the loss computed in chunks at the end.
    """
    return plan_estimate(plan_run(landscape, optimizer, n_starts, dtype), n_saved, backend)


def plan_estimate(plan: RunPlan, n_saved: int, backend: str = "numpy") -> dict[str, int]:
    """:func:`memory_estimate` of the run that ``plan`` describes, keeping ``n_saved`` iterates per start."""
    landscape, n_starts, itemsize = plan.landscape, plan.n_starts, plan.dtype.itemsize
    saved = n_saved * n_starts * landscape.dim * itemsize
    loss = n_saved * n_starts * itemsize
    width = _samples_per_point(landscape)
    points = min(n_saved * n_starts, max(1, CHUNK_ELEMENTS // width))
    in_flight = min(_usable_cores(), -(-n_saved * n_starts // points))  # chunks evaluated side by side
    loss_work = _evaluation_bytes(landscape, points, width) * in_flight
    backends = ("numpy", "compiled") if backend == "auto" else (backend,)
    loop = min(_working_bytes(plan, name) for name in backends)
    working = max(loop, loss_work)
    return {"saved iterates": saved, "saved loss": loss, "working": working, "total": saved + loss + working}


def size_text(n_bytes: float) -> str:
    """``n_bytes`` in the largest binary unit that keeps it >= 1 (KiB at least), for messages."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.2f} {unit}"
    return f"{n_bytes / 2**10:.2f} KiB"


def check_fits(estimate: dict[str, int], plan: RunPlan, every: int) -> None:
    """Refuse the run of ``plan`` when its estimate exceeds the available memory, naming the remedy for its largest
    part."""
    available = available_memory()
    if available is None or estimate["total"] <= available:
        return
    parts = ", ".join(f"{name} {size_text(estimate[name])}" for name in ("saved iterates", "saved loss", "working"))
    n_starts = plan.n_starts
    if plan.batched and estimate["working"] > estimate["saved iterates"] + estimate["saved loss"]:
        remedy = f"run fewer starts than {n_starts} at once or use a smaller batch_size"
    else:
        remedy = f"keep fewer iterates with a larger every= (now {every}) or run fewer starts than {n_starts} at once"
    raise ValueError(f"this run needs about {size_text(estimate['total'])} of memory ({parts}) but only "
                     f"{size_text(available)} is available; {remedy}")


def _usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def map_points(fn, xs: np.ndarray, landscape) -> np.ndarray:
    """``fn`` applied to the points ``xs`` ``(..., dim)`` of ``landscape`` a chunk at a time, so its temporaries
    stay bounded (:data:`CHUNK_ELEMENTS` point-samples per chunk, one chunk per usable core in flight: NumPy
    releases the GIL, so the chunks run side by side); ``fn`` maps ``(n, dim)`` to ``(n, ...)`` point by point.
    The caller's ``np.errstate`` applies in every chunk."""
    flat = xs.reshape(-1, xs.shape[-1])
    cores = _usable_cores()
    size = max(1, min(CHUNK_ELEMENTS // _samples_per_point(landscape), -(-len(flat) // cores)))
    pieces = [(a, min(a + size, len(flat))) for a in range(0, len(flat), size)] or [(0, 0)]
    errors = np.geterr()  # worker threads do not inherit the caller's errstate

    def evaluate(piece):
        with np.errstate(**errors):
            return np.asarray(fn(flat[piece[0]:piece[1]]))

    if len(pieces) == 1:
        out = evaluate(pieces[0])
    else:
        out = None
        with ThreadPoolExecutor(min(len(pieces), cores), thread_name_prefix="samscape-points") as pool:
            for (a, b), values in zip(pieces, pool.map(evaluate, pieces)):
                if out is None:
                    out = np.empty((len(flat),) + values.shape[1:], dtype=values.dtype)
                out[a:b] = values
    return out.reshape(xs.shape[:-1] + out.shape[1:])


def check_fits_to_load(path: str, headers) -> None:
    available = available_memory()
    needed = sum(int(np.prod(shape, dtype=object)) * dtype.itemsize for shape, dtype in headers.values())
    if available is not None and needed > available:
        raise ValueError(f"{path!r} holds {size_text(needed)} of arrays but only {size_text(available)} "
                         f"of memory is available; load it on a machine with more memory")
