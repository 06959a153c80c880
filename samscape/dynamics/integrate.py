"""One vectorized integrator, :func:`simulate`, and its result, :class:`Run`.

The per-step work sits behind one seam, a *backend*: a function

    backend(landscape, optimizer, x0, saved_steps, *, seed, start_ids, bound, progress)
        -> (xs, status, stopped_at, loss)

that advances every start from step 0 to ``saved_steps[-1]`` and returns the iterates at ``saved_steps``, and the
loss there when it computed it on the way (else ``None``: :func:`simulate` evaluates the landscape).
:func:`numpy_backend` is the reference; a compiled backend must return the same arrays.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import os
import signal
import sys
import threading
import time
import warnings
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np

from .._atomic import atomic_output
from .._tables import html_table, text_table
from .contract import (DIVERGED, DTYPES, NONFINITE, OK, PAIRWISE_BLOCK, STATUS_NAMES, far_threshold, kept_so_far,
                       lanes_for)
from .draws import fresh_seed
from .optimizers import Optimizer, optimizer_from_dict
from .stepping import Stepper

DEFAULT_BOUND = 1e6


# A run expected to take longer than this says so, once, as soon as its pace is measured (over at least
# PACE_SECONDS, counted from its first progress update so that a kernel's compilation is not in it).
LONG_RUN_SECONDS = 60.0
PACE_SECONDS = 0.5


def _duration(seconds: float) -> str:
    """``about 3.2 hours``: a rough duration in the unit that reads best."""
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"about {seconds / size:,.{1 if seconds < 20 * size else 0}f} {unit}"
    return f"about {seconds:.0f} seconds"


class Progress:
    """A one-line progress bar: on stderr when it is a terminal, as an updating HTML bar in a Jupyter/IPython
    kernel (whose stderr is no terminal), or wherever ``stream`` points when ``enabled=True`` forces it.

    With ``estimate=True`` a run projected to take over :data:`LONG_RUN_SECONDS` says so on the stream once, early,
    whether or not a bar is drawn (``hint`` is appended). ``stop_requested`` asks the backend that reports to it
    to stop after its current step (or chunk of steps); ``done`` is the last count it reported.
    """

    def __init__(self, total: int, label: str, enabled: bool | None = None, stream=None, *,
                 estimate: bool = False, hint: str = ""):
        notebook = stream is None and self.in_notebook()
        self.stream = stream or sys.stderr
        self.enabled = ((notebook or self.stream.isatty()) if enabled is None else enabled) and total > 0
        self.total, self.label = total, label
        self.started = time.perf_counter()
        self._last_draw = 0.0
        self._finished = False
        self._display = self.notebook_display() if self.enabled and notebook else None
        self.estimate, self.hint = estimate and total > 0, hint
        self._pace_from: tuple[float, int] | None = None
        self.stop_requested = False
        self.done = 0

    @staticmethod
    def in_notebook() -> bool:
        """Whether this process is an IPython kernel (Jupyter, VS Code, Colab); IPython is not imported for this,
        a kernel has always imported it already."""
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
        return getattr(shell, "kernel", None) is not None

    @staticmethod
    def notebook_display():
        """A function that shows (first call) and then replaces one HTML output of the current cell."""
        from IPython.display import HTML, display

        handle = display(HTML(""), display_id=True)
        return lambda markup: handle.update(HTML(markup))

    def seconds_left(self, frac: float, elapsed: float) -> float:
        """The time left, from the fraction done so far at a steady pace (a sweep measures its own throughput)."""
        return elapsed * (1 - frac) / frac if frac > 0 else float("nan")

    def update(self, done: int) -> None:
        self.done = done
        if self.estimate:
            self._say_how_long(done)
        if not self.enabled or self._finished:
            return
        now = time.perf_counter()
        if done < self.total and now - self._last_draw < 0.2:
            return
        self._last_draw = now
        frac = done / self.total
        elapsed = now - self.started
        eta = self.seconds_left(frac, elapsed)
        timing = f"{100 * frac:5.1f}%  {elapsed:6.1f}s elapsed, ~{eta:5.1f}s left"
        self._finished = done >= self.total
        if self._display is not None:
            self._display(f"<div><code>{html.escape(self.label)}</code> <progress value='{done}' "
                          f"max='{self.total}' style='width:30ex'></progress> <code>{timing}</code></div>")
            return
        self.stream.write(f"\r{self.label} [{'#' * int(30 * frac):<30}] {timing}")
        if self._finished:
            self.stream.write("\n")
        self.stream.flush()


    def _say_how_long(self, done: int) -> None:
        """Once the pace is measured, say how long the whole run will take if that is over a minute."""
        now = time.perf_counter()
        if self._pace_from is None:
            self._pace_from = (now, done)
            return
        since, first = self._pace_from
        if now - since < PACE_SECONDS or done <= first:
            return
        self.estimate = False
        left = (self.total - done) * (now - since) / (done - first)
        if now - self.started + left <= LONG_RUN_SECONDS:
            return
        hint = f"; {self.hint}" if self.hint else ""
        back = "\r" if self.enabled else ""  # over the bar's line, when one is drawn
        self.stream.write(f"{back}{self.label}: {self.total:,} steps will take {_duration(now - self.started + left)}"
                          f" at the pace of the last {done - first:,} steps{hint}\n")
        self.stream.flush()


def saved_step_grid(steps: int, every: int) -> np.ndarray:
    """Steps that a run keeps: 0, every, 2*every, ..., and always the last step ``steps``."""
    grid = np.arange(0, steps + 1, every, dtype=np.int64)
    if grid[-1] != steps:
        grid = np.append(grid, steps)
    return grid


def numpy_backend(landscape, optimizer: Optimizer, x0: np.ndarray, saved_steps: np.ndarray, *,
                  seed: int, start_ids: np.ndarray, bound: float, progress: Progress):
    """Reference backend: one NumPy-vectorized update per step over all starts.

    Returns ``xs`` ``(n_saved, n_starts, dim)``, ``status`` ``(n_starts,)`` int codes, ``stopped_at``
    ``(n_starts,)``: the step at which a start was frozen, or -1, and the loss at ``xs`` ``(n_saved, n_starts)``
    where the backend computed it on the way (``None`` here: :func:`simulate` evaluates the landscape).
    """
    n_starts, dim = x0.shape
    stepper = Stepper(landscape, optimizer, n_starts, x0.dtype, seed=seed, start_ids=start_ids)
    xs = np.empty((len(saved_steps), n_starts, dim), dtype=x0.dtype)
    status = np.zeros(n_starts, dtype=np.int8)
    stopped_at = np.full(n_starts, -1, dtype=np.int64)
    x = x0.copy()
    xs[0] = x
    slot = 1
    saved = saved_steps.tolist()  # plain ints: compared every step
    last = saved[-1]
    far2 = far_threshold(bound, x0.dtype)
    everyone_running = True
    with np.errstate(all="ignore"):  # frozen starts may overflow; their results are discarded below
        for t in range(last):
            x_next = stepper(x, t)
            squared_norm = np.sum(x_next * x_next, axis=-1)
            # the common step: nobody frozen, everyone finite and inside the bound (NaN fails the test)
            if everyone_running and np.all(squared_norm <= far2):
                x = x_next
            else:
                x = _freeze_stopped(x, x_next, squared_norm, far2, status, stopped_at, t)
                everyone_running = not status.any()
            if t + 1 == saved[slot]:
                xs[slot] = x
                slot += 1
            progress.update(t + 1)
            if progress.stop_requested:
                return kept_so_far(xs, slot, x, t + 1, saved), status, stopped_at, None
    progress.update(last)
    return xs, status, stopped_at, None


def _freeze_stopped(x, x_next, squared_norm, far2, status, stopped_at, t: int) -> np.ndarray:
    """Mark starts whose new iterate is not finite or beyond the bound (updating ``status`` and ``stopped_at``
    in place) and return the iterates with every stopped start kept at its last finite point."""
    finite = np.all(np.isfinite(x_next), axis=-1)
    too_far = finite & (squared_norm > far2)
    running = status == OK
    newly_nonfinite = running & ~finite
    newly_diverged = running & too_far
    status[newly_nonfinite] = NONFINITE
    status[newly_diverged] = DIVERGED
    stopped_at[newly_nonfinite | newly_diverged] = t + 1
    # a start that left the bound keeps that (finite) point; a non-finite one keeps its last finite point
    take = running & finite
    return np.where(take[:, None], x_next, x)


def _compiled_backend(*args, **kwargs):
    from .compiled import compiled_backend  # numba is imported only when this backend runs

    return compiled_backend(*args, **kwargs)


BACKENDS: dict[str, Callable] = {"numpy": numpy_backend, "compiled": _compiled_backend}
# `auto` runs the compiled kernel when the NumPy path would take longer than getting the kernel ready: about this
# many seconds to compile it the first time, to load it when an earlier process compiled it (importing numba and
# reading numba's disk cache, about 0.3 s each on one core), or to reuse it when this process already has it.
AUTO_COMPILE_SECONDS = 3.0
AUTO_LOAD_SECONDS = 0.6
AUTO_REUSE_SECONDS = 0.05
# A rough model of the NumPy path's cost on one core: per point-step, and per step for Python overhead.
_NUMPY_SECONDS_PER_POINT_STEP = 5e-8
_NUMPY_SECONDS_PER_STEP = 3e-5


def resolve_backend(backend: str, landscape, optimizer: Optimizer, n_starts: int, steps: int,
                    dtype="float64") -> str:
    """The backend :func:`simulate` runs for ``backend`` (``"auto"`` resolved to ``"numpy"`` or ``"compiled"``).

    ``auto`` runs the kernel when numba is importable and the estimated NumPy time exceeds the cost of getting
    the kernel ready: reusing it (compiled in this process), loading it (compiled by an earlier process and
    cached on disk, see :func:`compiled.kernel_on_disk`) or compiling it. It builds the kernel here, so that a
    gradient the kernel cannot express, or one numba fails to compile, runs on NumPy instead, with one
    warning saying why.
    """
    if not isinstance(backend, str) or (backend != "auto" and backend not in BACKENDS):
        raise ValueError(f"backend must be one of {['auto', *sorted(BACKENDS)]}, got {backend!r}")
    if backend != "auto":
        return backend
    from . import compiled

    if not compiled.available():
        return "numpy"
    dtype = np.dtype(dtype).name
    estimate = steps * (n_starts * _NUMPY_SECONDS_PER_POINT_STEP + _NUMPY_SECONDS_PER_STEP)
    if estimate < AUTO_REUSE_SECONDS:
        return "numpy"
    try:
        if estimate < AUTO_COMPILE_SECONDS and not compiled.kernel_ready(landscape, optimizer, dtype, n_starts):
            # the disk is looked at only when loading would pay: it generates the kernel's source
            if estimate < AUTO_LOAD_SECONDS or not compiled.kernel_on_disk(landscape, optimizer, dtype, n_starts):
                return "numpy"
        compiled.prepare(landscape, optimizer, dtype, n_starts)
    except (compiled.codegen.UnsupportedLandscape, compiled.KernelBuildError) as err:
        warnings.warn(f"backend='auto' runs this on NumPy because {err}", RuntimeWarning, stacklevel=3)
        return "numpy"
    return "compiled"


# ---------------------------------------------------------------------------------------------- memory
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


def _leaves(optimizer: Optimizer) -> list[Optimizer]:
    """The plain optimizers inside ``optimizer`` (a Switch's parts, recursively)."""
    out, todo = [], [optimizer]
    while todo:
        opt = todo.pop()
        parts = [getattr(opt, name) for name in opt.parts]
        if parts:
            todo.extend(parts)
        else:
            out.append(opt)
    return out


def _samples_per_point(landscape) -> int:
    """How many per-sample values a full-batch evaluation computes per point (1 when no data is used)."""
    return landscape.n_samples if getattr(landscape, "data_symbols", ()) else 1


def _evaluation_bytes(landscape, n_points: int, width: int) -> int:
    """Temporaries of one gradient or loss evaluation at ``n_points`` points over ``width`` samples each:
    the gathered data columns, every output and the common subexpressions, in float64."""
    columns = len(getattr(landscape, "data_symbols", ()) or ())
    return n_points * width * (landscape.dim + columns + 4) * 8


def _working_bytes(landscape, optimizer: Optimizer, n_starts: int, dtype: np.dtype, backend: str) -> int:
    """Peak temporaries of the stepping loop of ``backend`` (beyond the saved iterates)."""
    has_data = _samples_per_point(landscape) > 1
    batches = [opt.batch_size for opt in _leaves(optimizer) if getattr(opt, "batch_size", None) is not None]
    if backend == "compiled":
        largest = max(batches, default=0) if has_data else 0
        state = n_starts * (landscape.dim * dtype.itemsize + 9)  # iterates, status, stop step
        plan_rows = largest // PAIRWISE_BLOCK + 1  # a Python list per row while the plan is built
        scratch = (os.cpu_count() or 1) * lanes_for(landscape.dim) * (2 + largest) * 8  # one integer row per batch position
        return state + plan_rows * 160 + scratch + _samples_per_point(landscape) * 8 * (landscape.dim + 2)
    step = n_starts * _ARRAYS_PER_COORDINATE * landscape.dim * dtype.itemsize
    draws = n_starts * max(batches, default=0) * _DRAW_BYTES_PER_POSITION
    widths = [1]
    if has_data:
        widths += batches
        if len(batches) < len(_leaves(optimizer)):  # a full-batch part evaluates every sample
            widths.append(_samples_per_point(landscape))
    return step + draws + _evaluation_bytes(landscape, n_starts, max(widths))


def memory_estimate(landscape, optimizer: Optimizer, n_starts: int, n_saved: int, dtype=np.float64,
                    backend: str = "numpy") -> dict[str, int]:
    """Rough peak memory of a run in bytes: ``saved iterates``, ``saved loss``, ``working`` and ``total``.

    ``backend`` is ``"numpy"``, ``"compiled"`` or ``"auto"`` (the smaller of the two: the least the run could
    need). The saved arrays are exact; ``working`` is the larger of the stepping loop's temporaries (per ``backend``:
    the NumPy path holds a few ``(n_starts, dim)`` arrays plus ``(n_starts, batch)`` draws and per-sample
    values, the compiled one little more than the state) and those of the loss computed in chunks at the end.
    """
    dtype = np.dtype(dtype)
    saved = n_saved * n_starts * landscape.dim * dtype.itemsize
    loss = n_saved * n_starts * dtype.itemsize
    width = _samples_per_point(landscape)
    points = min(n_saved * n_starts, max(1, CHUNK_ELEMENTS // width))
    in_flight = min(_usable_cores(), -(-n_saved * n_starts // points))  # chunks evaluated side by side
    loss_work = _evaluation_bytes(landscape, points, width) * in_flight
    backends = ("numpy", "compiled") if backend == "auto" else (backend,)
    loop = min(_working_bytes(landscape, optimizer, n_starts, dtype, name) for name in backends)
    working = max(loop, loss_work)
    return {"saved iterates": saved, "saved loss": loss, "working": working, "total": saved + loss + working}


def _size(n_bytes: float) -> str:
    """``n_bytes`` in the largest binary unit that keeps it >= 1 (KiB at least), for messages."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.2f} {unit}"
    return f"{n_bytes / 2**10:.2f} KiB"


def _check_fits(estimate: dict[str, int], optimizer: Optimizer, n_starts: int, every: int) -> None:
    """Refuse a run whose estimate exceeds the available memory, naming the remedy for its largest part."""
    available = available_memory()
    if available is None or estimate["total"] <= available:
        return
    parts = ", ".join(f"{name} {_size(estimate[name])}" for name in ("saved iterates", "saved loss", "working"))
    batched = any(getattr(opt, "batch_size", None) is not None for opt in _leaves(optimizer))
    if batched and estimate["working"] > estimate["saved iterates"] + estimate["saved loss"]:
        remedy = f"run fewer starts than {n_starts} at once or use a smaller batch_size"
    else:
        remedy = f"keep fewer iterates with a larger every= (now {every}) or run fewer starts than {n_starts} at once"
    raise ValueError(f"this run needs about {_size(estimate['total'])} of memory ({parts}) but only "
                     f"{_size(available)} is available; {remedy}")


def _usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _map_points(fn, xs: np.ndarray, landscape) -> np.ndarray:
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


def _check_dtype(dtype) -> np.dtype:
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in DTYPES:
        raise ValueError(f"dtype must be np.float64 or np.float32, got {dtype!r}")
    return resolved


@dataclass
class Run:
    """The result of :func:`simulate`.

    Attributes
    ----------
    xs : ndarray (n_saved, n_starts, dim)
        Iterates at the saved steps, time first; holds step 0 and the last step.
    steps : ndarray (n_saved,)
        The step numbers of ``xs``.
    loss : ndarray (n_saved, n_starts)
        Full loss at the saved iterates.
    status : ndarray (n_starts,) of str
        ``ok``, ``diverged`` (left the ball of radius ``bound``) or ``nonfinite``; such a start is frozen.
    stopped_at : ndarray (n_starts,)
        The step at which a start was frozen, -1 for a start that ran to the end.
    seed : int
        The seed of the counter-based draws (recorded even when it was chosen for you).
    """

    xs: np.ndarray
    steps: np.ndarray
    loss: np.ndarray
    status: np.ndarray
    stopped_at: np.ndarray
    seed: int
    landscape: Any = field(repr=False)
    optimizer: Optimizer
    bound: float = DEFAULT_BOUND
    every: int = 1
    start_ids: np.ndarray | None = field(default=None, repr=False)
    backend: str = "numpy"
    requested_steps: int | None = None  # the steps asked for, when the run was stopped before them (Ctrl-C)

    @property
    def interrupted(self) -> bool:
        """Whether the run was stopped (by Ctrl-C, see ``simulate(on_interrupt="return")``) before the steps asked
        for: it then holds the steps done, ``steps[-1]`` of ``requested_steps``."""
        return self.requested_steps is not None and self.requested_steps > int(self.steps[-1])

    def _interruption_note(self) -> str | None:
        if not self.interrupted:
            return None
        return (f"stopped by Ctrl-C after {int(self.steps[-1]):,} of the {self.requested_steps:,} steps asked for; "
                "the iterates and statuses are those of that step")

    @property
    def x(self) -> np.ndarray:
        """Final iterates, ``(n_starts, dim)``."""
        return self.xs[-1]

    @property
    def x0(self) -> np.ndarray:
        return self.xs[0]

    @property
    def n_starts(self) -> int:
        return self.xs.shape[1]

    def grad_norm(self) -> np.ndarray:
        """Full-gradient norm at the saved iterates, ``(n_saved, n_starts)``."""
        with np.errstate(all="ignore"):
            return _map_points(lambda p: np.linalg.norm(self.landscape.grad(p), axis=-1), self.xs, self.landscape)

    def status_counts(self) -> dict[str, int]:
        return {name: int(np.sum(self.status == name)) for name in STATUS_NAMES}

    # ------------------------------------------------------------------ results that say why
    # what each status other than ok means and what to change; formatted with the run's bound
    REMEDIES: ClassVar[dict[str, str]] = {
        "diverged": "the iterate left ||x|| <= bound (bound={bound:g}); lower lr (or rho), or raise bound= if the "
                    "landscape's minima lie farther out",
        "nonfinite": "the update gave inf or NaN (an overflow, or a loss undefined there); lower lr, use float64 "
                     "rather than float32, or start inside the landscape's window",
    }

    @property
    def message(self) -> dict[str, str]:
        """One sentence per status other than ``ok`` that occurred, keyed by the status: how many starts, from
        which step, and the remedy. Empty when every start ran to the end.

        A dict rather than one string per start: the remedy depends only on the status, so the message of start
        ``i`` is ``run.message.get(run.status[i], "ok")``.
        """
        out = {}
        for status, remedy in self.REMEDIES.items():
            stopped = np.asarray(self.status) == status
            if stopped.any():
                first = int(np.min(np.asarray(self.stopped_at)[stopped]))
                out[status] = (f"{int(stopped.sum())} of {self.n_starts} starts {status} (the first at step {first}): "
                               + remedy.format(bound=self.bound))
        return out

    # saved steps at the end of a run in which a period-2 cycle is looked for, and how tightly each of the two
    # points must repeat (relative to the distance between them) to count as a cycle rather than a slow approach
    ALTERNATION_WINDOW: ClassVar[int] = 6
    ALTERNATION_RTOL: ClassVar[float] = 1e-3

    def alternating(self) -> np.ndarray:
        """``(n_starts,)`` bool: the start ran to the end and its last saved iterates alternate between two
        distinct points, even steps at one and odd steps at the other, i.e. a period-2 cycle (SAM bouncing across
        a valley). Visible only when both parities are saved (an odd ``every``, or ``every=1``): with an even
        ``every`` such a start looks parked at one of its two points.
        """
        steps = np.asarray(self.steps)[-self.ALTERNATION_WINDOW:]
        tail = np.asarray(self.xs, dtype=float)[-self.ALTERNATION_WINDOW:]
        even = steps % 2 == 0
        result = np.zeros(self.n_starts, dtype=bool)
        if even.sum() < 2 or (~even).sum() < 2:  # each point must be seen twice to repeat (not step 0 and the last)
            return result
        a, b = tail[even], tail[~even]
        gap = np.linalg.norm(a[-1] - b[-1], axis=-1)
        spread = np.maximum(np.linalg.norm(a - a[-1], axis=-1).max(axis=0),
                            np.linalg.norm(b - b[-1], axis=-1).max(axis=0))
        scale = 1.0 + np.linalg.norm(a[-1], axis=-1)
        return (np.asarray(self.status) == "ok") & (gap > 1e-9 * scale) & (spread <= self.ALTERNATION_RTOL * gap)

    def final_grad_norm(self) -> np.ndarray:
        """Full-gradient norm at the final iterates, ``(n_starts,)``."""
        with np.errstate(all="ignore"):
            return _map_points(lambda p: np.linalg.norm(self.landscape.grad(p), axis=-1), self.x, self.landscape)

    def _ok_final_loss(self) -> np.ndarray:
        final = np.asarray(self.loss[-1], dtype=float)
        return final[(np.asarray(self.status) == "ok") & np.isfinite(final)]

    def _summary_row(self) -> dict:
        """Final loss, gradient norm (medians over the starts that ran to the end) and status counts."""
        ok = np.asarray(self.status) == "ok"
        grad = self.final_grad_norm()

        def median(values):
            return "-" if values.size == 0 else f"{np.median(values):.3e}"

        counts = self.status_counts()
        return {"optimizer": self.optimizer.describe(), "starts": self.n_starts, "steps": int(self.steps[-1]),
                "final loss (median)": median(self._ok_final_loss()),
                "grad norm (median)": median(grad[ok & np.isfinite(grad)]),
                **{name: counts[name] for name in STATUS_NAMES}}

    def _alternation_note(self) -> str | None:
        count = int(self.alternating().sum())
        if not count:
            return None
        return (f"{count} of {self.n_starts} starts end in a period-2 cycle: the iterate flips between two points "
                f"every step (not parked); run.xs[-2:] holds both")

    def _formula(self) -> str:
        land = self.landscape
        return str(land.loss_expr) if land.n_samples == 1 else f"mean over {land.n_samples} samples of {land.expr}"

    def summary(self) -> str:
        """The report ``samscape simulate`` prints: the landscape and its formula; seed, backend and dtype; a table
        of the final loss and gradient norm (medians over the starts that ran to the end) and the status counts;
        then the :attr:`message` of each status other than ``ok`` and a note when starts end in a period-2
        cycle (see :meth:`alternating`)."""
        lines = [f"landscape: {self.landscape.name}  ({self._formula()})",
                 f"seed: {self.seed}   backend: {self.backend}   dtype: {self.xs.dtype.name}",
                 text_table([self._summary_row()])]
        lines += [f"{status}: {text}" for status, text in self.message.items()]
        note = self._alternation_note()
        if note:
            lines.append(f"alternating: {note}")
        if self.interrupted:
            lines.append(f"interrupted: {self._interruption_note()}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {name}" for name, n in self.status_counts().items() if n)
        final = self._ok_final_loss()
        loss = f"final loss {final.min():.3g}..{final.max():.3g}" if final.size else "no finite final loss"
        steps = (f"{int(self.steps[-1])} of {self.requested_steps} steps (interrupted)" if self.interrupted
                 else f"{int(self.steps[-1])} steps")
        return (f"Run({self.optimizer.describe()} on {self.landscape.name!r}: {steps}, "
                f"{self.n_starts} starts ({counts}); {loss})")

    def _repr_html_(self) -> str:
        final = self._ok_final_loss()
        counts = self.status_counts()
        rows = [
            ("optimizer", self.optimizer.describe()),
            ("landscape", f"{self.landscape.name}  ({self._formula()})"),
            ("steps", f"{int(self.steps[-1])} (saved every {self.every}: {len(self.steps)} iterates)"),
            ("starts", self.n_starts),
            ("status", ", ".join(f"{n} {name}" for name, n in counts.items())),
            ("final loss", f"{final.min():.4g} .. {final.max():.4g} (median {np.median(final):.4g})"
             if final.size else "-"),
            ("seed, backend, dtype", f"{self.seed}, {self.backend}, {self.xs.dtype.name}"),
            ("bound", f"{self.bound:g}"),
        ]
        rows += [(status, text) for status, text in self.message.items()]
        note = self._alternation_note()
        if note:
            rows.append(("alternating", note))
        if self.interrupted:
            rows.append(("interrupted", self._interruption_note()))
        return html_table(rows, caption="Run")

    def to_xarray(self):
        """The run as an :class:`xarray.Dataset` for labelled analysis.

        Variables ``x`` (step, start, dim), ``loss`` (step, start), ``status`` and ``stopped_at`` (start);
        coordinates ``step`` (the saved step numbers), ``start`` (the start ids), ``dim`` (the landscape's variable
        names) and, for per-start ``lr``/``rho``, those along ``start``; ``attrs`` hold the recipe: the landscape
        spec and optimizer as JSON, seed, bound, every, backend, dtype. xarray is an optional dependency.
        """
        try:
            import xarray
        except ImportError:
            raise ImportError("Run.to_xarray needs xarray, an optional dependency: pip install xarray "
                              "(or pip install 'samscape[sweep]')") from None
        starts = np.asarray(self.start_ids) if self.start_ids is not None else np.arange(self.n_starts)
        variables = list(getattr(self.landscape, "variables", range(self.xs.shape[-1])))
        coords = {"step": ("step", np.asarray(self.steps)), "start": ("start", starts), "dim": ("dim", variables)}
        for name in ("lr", "rho"):
            value = getattr(self.optimizer, name, None)
            if value is not None and np.ndim(value) == 1:
                coords[name] = ("start", np.asarray(value, dtype=float))
        data = {"x": (("step", "start", "dim"), self.xs), "loss": (("step", "start"), self.loss),
                "status": ("start", np.asarray(self.status).astype(str)),
                "stopped_at": ("start", np.asarray(self.stopped_at))}
        attrs = {"landscape": self.landscape.name, "landscape_spec": json.dumps(self.landscape.spec, sort_keys=True),
                 "optimizer": self.optimizer.describe(),
                 "optimizer_recipe": json.dumps(self.optimizer.to_dict(), sort_keys=True),
                 "seed": int(self.seed), "bound": float(self.bound), "every": int(self.every),
                 "backend": self.backend, "dtype": self.xs.dtype.name}
        if self.interrupted:
            attrs["requested_steps"] = int(self.requested_steps)
        return xarray.Dataset(data, coords=coords, attrs=attrs)

    def validate(self) -> "Run":
        """Check that the fields agree with each other as :func:`simulate` makes them; return the run.

        Raises ``ValueError`` naming the first disagreement: shapes that do not match ``xs``
        ``(n_saved, n_starts, dim)``, a dtype other than float64/float32, saved steps that are not
        ``saved_step_grid(steps, every)``, a status outside ``ok``/``diverged``/``nonfinite`` or a stop step that
        contradicts it, a non-finite iterate (a stopped start keeps its last finite point, so none is ever
        saved), per-start hyperparameters of the wrong length. Plots call this before drawing.
        """
        xs = np.asarray(self.xs)
        if xs.ndim != 3 or 0 in xs.shape or xs.dtype.name not in DTYPES:
            raise ValueError(f"run.xs must be a non-empty float64 or float32 array (n_saved, n_starts, dim), "
                             f"got {xs.dtype} of shape {xs.shape}")
        n_saved, n_starts, dim = xs.shape
        if getattr(self.landscape, "dim", dim) != dim:
            raise ValueError(f"run.xs has dim {dim} but its landscape {self.landscape.name!r} has dim {self.landscape.dim}")
        expected = {"steps": (n_saved,), "loss": (n_saved, n_starts), "status": (n_starts,),
                    "stopped_at": (n_starts,)}
        if self.start_ids is not None:
            expected["start_ids"] = (n_starts,)
        for name, shape in expected.items():
            got = np.shape(getattr(self, name))
            if got != shape:
                raise ValueError(f"run.{name} must have shape {shape} to match run.xs {xs.shape}, got {got}")
        for name in ("steps", "stopped_at") + (("start_ids",) if self.start_ids is not None else ()):
            if np.asarray(getattr(self, name)).dtype.kind not in "iu":
                raise ValueError(f"run.{name} must hold integers, got dtype {np.asarray(getattr(self, name)).dtype}")
        if np.asarray(self.loss).dtype.kind != "f":
            raise ValueError(f"run.loss must hold floats, got dtype {np.asarray(self.loss).dtype}")
        _check_int(self.every, "run.every", 1)
        steps = np.asarray(self.steps)
        last = int(steps[-1])
        # the count first: a crafted last step of 10**18 must not build a grid of that length
        if last < 0 or n_saved_steps(last, self.every) != n_saved or not np.array_equal(
                steps, saved_step_grid(last, self.every)):
            raise ValueError(f"run.steps must be 0, every, 2*every, ... and the last step (every={self.every}), "
                             f"got {_preview(steps)}")
        status = np.asarray(self.status)
        unknown = ~np.isin(status, STATUS_NAMES)
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            raise ValueError(f"run.status must hold only {list(STATUS_NAMES)}, got {str(status[i])!r} for start {i}")
        stopped = np.asarray(self.stopped_at)
        ok = status == "ok"
        wrong = np.where(ok, stopped != -1, (stopped < 1) | (stopped > steps[-1]))
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            allowed = "-1 (it ran to the end)" if ok[i] else f"the step in [1, {int(steps[-1])}] at which it stopped"
            raise ValueError(f"run.stopped_at of start {i} (status {status[i]}) must be {allowed}, got {int(stopped[i])}")
        if self.start_ids is not None and (np.asarray(self.start_ids) < 0).any():
            raise ValueError("run.start_ids must be non-negative integers")
        if self.requested_steps is not None:
            _check_int(self.requested_steps, "run.requested_steps (the steps asked for)", int(steps[-1]))
        finite = np.isfinite(xs).all(axis=(0, 2))
        if not finite.all():
            i = int(np.flatnonzero(~finite)[0])
            raise ValueError(f"run.xs must be finite (a stopped start keeps its last finite point), "
                             f"got a non-finite iterate for start {i}")
        self.optimizer.for_starts(n_starts)  # per-start lr/rho arrays must have one value per start
        return self

    def save(self, path: str | os.PathLike) -> str:
        """Write the run and its recipe to an ``.npz`` atomically (a temporary file, then rename)."""
        meta = {
            "landscape": self.landscape.spec,
            "optimizer": self.optimizer.to_dict(),
            "seed": self.seed,
            "bound": self.bound,
            "steps": int(self.steps[-1]),
            "every": self.every,
            "backend": self.backend,
            "dtype": self.xs.dtype.name,
            "samscape_format": RUN_FORMAT,
        }
        if self.interrupted:  # absent otherwise: a complete run's file is what it always was
            meta["requested_steps"] = int(self.requested_steps)
        arrays = dict(
            xs=self.xs, steps=self.steps, loss=self.loss, status=self.status.astype("U9"),
            stopped_at=self.stopped_at, start_ids=self.start_ids if self.start_ids is not None else np.arange(self.n_starts),
            meta=np.array(json.dumps(meta, sort_keys=True)),
        )
        return write_npz_atomic(path, arrays)


def write_npz_atomic(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> str:
    """Save ``arrays`` to ``path`` so that a reader never sees a half-written file."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise ValueError(f"out must be a path ending in .npz, got {path!r}")
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays)
        handle.flush()
        os.fsync(handle.fileno())
    return path


RUN_ARRAYS = ("xs", "steps", "loss", "status", "stopped_at", "start_ids")
RUN_FORMAT = 1
# Deeper Switch nesting than this in a saved recipe is refused: no real schedule needs it, and rebuilding or
# describing the optimizer recurses once per level.
MAX_SWITCH_DEPTH = 64


def load_run(path: str | os.PathLike, landscape=None) -> Run:
    """Read a run saved by :meth:`Run.save`, rebuilding its landscape and optimizer from the recipe.

    Pass ``landscape`` to supply it yourself (needed when it was built from a SymPy object that the
    safe expression parser cannot read back, e.g. one with ``Piecewise``).

    The file is untrusted input: it is read without pickle, every array's declared shape and dtype is checked
    against the recipe (and against the bytes the archive really holds, and the available memory) before
    any data is loaded, and the result passes :meth:`Run.validate`. Every problem is a one-sentence
    ``ValueError`` that names ``path``.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ValueError(f"run file {path!r} does not exist")
    if os.path.isdir(path):
        raise ValueError(f"run file {path!r} is a directory, not a .npz file written by Run.save")

    def bad(problem: str) -> ValueError:
        return ValueError(f"{path!r} is not a samscape run: {problem}")

    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise bad(f"it is not a readable .npz archive ({_reason(err)})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise bad("it holds a single array, not the archive that Run.save writes")
    with data:
        headers = _array_headers(data.zip, bad)
        _check_fits_to_load(path, headers)
        try:
            meta = json.loads(str(data["meta"]))
        except RecursionError:
            raise bad("its recipe (the 'meta' entry) nests JSON too deeply to read") from None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
            raise bad(f"its recipe (the 'meta' entry) is not readable JSON ({_reason(err)})") from None
        try:
            _check_recipe(meta, headers)
        except ValueError as err:
            raise bad(str(err)) from None
        arrays = {}
        for name in RUN_ARRAYS:
            try:
                arrays[name] = data[name]
            except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
                raise bad(f"its array {name!r} cannot be read ({_reason(err)})") from None
    if int(arrays["steps"][-1]) != meta["steps"]:
        raise bad(f"its last saved step is {int(arrays['steps'][-1])} but its recipe says steps={meta['steps']}")
    optimizer = _rebuild("optimizer", meta["optimizer"], bad)
    dim = headers["xs"][0][-1]
    if landscape is not None:
        if getattr(landscape, "dim", None) != dim:
            raise ValueError(f"landscape {getattr(landscape, 'name', landscape)!r} has dim "
                             f"{getattr(landscape, 'dim', None)} but the run in {path!r} has dim {dim}")
    else:
        landscape = _rebuild("landscape", meta["landscape"], bad)
    run = Run(
        **arrays, seed=meta["seed"], landscape=landscape, optimizer=optimizer,
        bound=float(meta["bound"]), every=meta["every"], backend=meta.get("backend", "numpy"),
        requested_steps=meta.get("requested_steps"),
    )
    try:
        return run.validate()
    except ValueError as err:
        raise bad(str(err)) from None


def _reason(err: BaseException, limit: int = 160) -> str:
    text = str(err) or type(err).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _array_headers(archive: zipfile.ZipFile, bad) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of every array of a run, read from the ``.npy`` headers without loading any data.

    A header must describe exactly the bytes its member holds, so a huge declared shape is refused here.
    """
    headers = {}
    for name in (*RUN_ARRAYS, "meta"):
        try:
            info = archive.getinfo(name + ".npy")
        except KeyError:
            raise bad(f"it has no array {name!r} (a run holds {', '.join(RUN_ARRAYS)} and meta)") from None
        try:
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
                else:
                    raise ValueError(f"unsupported .npy format version {version}")
                offset = member.tell()
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
            raise bad(f"the header of its array {name!r} is not readable ({_reason(err)})") from None
        if dtype.hasobject:
            raise bad(f"its array {name!r} holds Python objects, which are never loaded")
        declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if declared != info.file_size - offset:
            raise bad(f"its array {name!r} declares shape {shape} of {dtype} ({declared} bytes) "
                      f"but holds {info.file_size - offset} bytes of data")
        headers[name] = (tuple(shape), dtype)
    return headers


def _check_fits_to_load(path: str, headers) -> None:
    available = available_memory()
    needed = sum(int(np.prod(shape, dtype=object)) * dtype.itemsize for shape, dtype in headers.values())
    if available is not None and needed > available:
        raise ValueError(f"{path!r} holds {_size(needed)} of arrays but only {_size(available)} "
                         f"of memory is available; load it on a machine with more memory")


def _recipe_value(meta: dict, key: str, ok, allowed: str):
    value = meta.get(key)
    if not ok(value):
        shown = repr(value)
        raise ValueError(f"its recipe's {key} must be {allowed}, got {shown if len(shown) <= 60 else shown[:57] + '...'}")
    return value


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def n_saved_steps(steps: int, every: int) -> int:
    """``len(saved_step_grid(steps, every))``, without building the grid."""
    return steps // every + 1 + (steps % every != 0)


def _check_recipe(meta, headers) -> None:
    """The recipe's fields have the types :meth:`Run.save` writes, and the arrays' shapes and dtypes agree with it."""
    if not isinstance(meta, dict):
        raise ValueError(f"its recipe must be a JSON object, got {type(meta).__name__}")
    _recipe_value(meta, "samscape_format", lambda v: v == RUN_FORMAT, f"{RUN_FORMAT} (this version's format)")
    _recipe_value(meta, "seed", lambda v: _is_int(v) and 0 <= v < 2**64, "an integer in [0, 2**64)")
    _recipe_value(meta, "bound", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
                  and math.isfinite(v) and v > 0, "a finite number > 0")
    steps = _recipe_value(meta, "steps", lambda v: _is_int(v) and v >= 0, "an integer >= 0")
    every = _recipe_value(meta, "every", lambda v: _is_int(v) and v >= 1, "an integer >= 1")
    dtype = _recipe_value(meta, "dtype", lambda v: v in DTYPES, f"one of {list(DTYPES)}")
    _recipe_value(meta, "landscape", lambda v: isinstance(v, dict), "a landscape spec (a JSON object)")
    _recipe_value(meta, "optimizer", lambda v: isinstance(v, dict), "an optimizer description (a JSON object)")
    _recipe_value(meta, "backend", lambda v: v is None or isinstance(v, str), "a backend name")
    _recipe_value(meta, "requested_steps", lambda v: v is None or _is_int(v) and v >= steps,
                  f"absent, or the steps asked for of an interrupted run (an integer >= steps={steps})")
    depth, level = 0, [meta["optimizer"]]
    while level:
        depth += 1
        if depth > MAX_SWITCH_DEPTH:
            raise ValueError(f"its recipe's optimizer nests Switch deeper than {MAX_SWITCH_DEPTH} levels")
        level = [part for opt in level if isinstance(opt, dict) for part in (opt.get("first"), opt.get("second"))
                 if isinstance(part, dict)]

    (n_saved, *rest), xs_dtype = headers["xs"]
    if len(rest) != 2 or 0 in rest:
        raise ValueError(f"its array 'xs' must have shape (n_saved, n_starts, dim), got {headers['xs'][0]}")
    n_starts = rest[0]
    expected_saved = n_saved_steps(steps, every)
    if n_saved != expected_saved:
        raise ValueError(f"its array 'xs' must hold {expected_saved} saved steps for steps={steps}, every={every}, "
                         f"got shape {headers['xs'][0]}")
    if xs_dtype.name != dtype:
        raise ValueError(f"its array 'xs' must be {dtype} as the recipe says, got {xs_dtype}")
    expected = {"steps": ((n_saved,), "iu"), "loss": ((n_saved, n_starts), "f"), "status": ((n_starts,), "U"),
                "stopped_at": ((n_starts,), "iu"), "start_ids": ((n_starts,), "iu"), "meta": ((), "U")}
    kinds = {"iu": "integers", "f": "floats", "U": "text"}
    for name, (shape, kind) in expected.items():
        got_shape, got_dtype = headers[name]
        if got_shape != shape:
            raise ValueError(f"its array {name!r} must have shape {shape} to match 'xs' {headers['xs'][0]}, got {got_shape}")
        if got_dtype.kind not in kind:
            raise ValueError(f"its array {name!r} must hold {kinds[kind]}, got dtype {got_dtype}")


def _rebuild(what: str, recipe: dict, bad):
    """The landscape or optimizer a saved recipe describes, or ``bad(...)`` naming why it cannot be rebuilt."""
    from ..landscapes import from_spec  # landscapes sits below dynamics; imported late to keep start-up light

    build = from_spec if what == "landscape" else optimizer_from_dict
    try:
        return build(recipe)
    except Exception as err:  # noqa: BLE001 -- the recipe is untrusted: any failure to rebuild is a bad file
        raise bad(f"its recipe's {what} cannot be rebuilt ({type(err).__name__}: {_reason(err)})") from None


def _preview(values: np.ndarray, count: int = 6) -> str:
    """A short rendering of a possibly long 1-D array for an error message."""
    head = ", ".join(str(v) for v in values[:count].tolist())
    return f"[{head}{', ...' if len(values) > count else ''}] ({len(values)} values)"


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _warn_about_batches(landscape, optimizer: Optimizer) -> None:
    """One warning for a batch size that cannot do what it seems to: any batch of a one-sample landscape is that
    sample (the gradients are full-batch), and a batch larger than the data set only repeats samples
    (batches are drawn with replacement)."""
    sizes = sorted({opt.batch_size for opt in _leaves(optimizer) if getattr(opt, "batch_size", None) is not None})
    if not sizes:
        return
    n = landscape.n_samples
    if n == 1:
        message = (f"batch_size={sizes[-1]} on landscape {landscape.name!r}, which has one sample: every batch is "
                   "that sample, so batch_size changes nothing and the gradients are full-batch; give the landscape "
                   "data (samples=, or a catalog entry's data parameters) for stochastic gradients")
    elif sizes[-1] > n:
        message = (f"batch_size={sizes[-1]} exceeds the {n} samples of landscape {landscape.name!r}: batches are "
                   f"drawn with replacement, so a batch repeats samples and is not the full batch; for the full batch use GD, or "
                   "batch_size=None in the SAM variants")
    else:
        return
    warnings.warn(message, UserWarning, stacklevel=3)


def simulate(landscape, optimizer: Optimizer, x0, steps: int, *, every: int = 1, seed: int | None = None,
             bound: float = DEFAULT_BOUND, start_ids=None, backend: str = "auto", dtype=np.float64,
             progress: bool | None = None, on_interrupt: str = "raise") -> Run:
    """Run ``optimizer`` on ``landscape`` from every start in ``x0`` for ``steps`` steps.

    Parameters
    ----------
    landscape : Landscape
    optimizer : Optimizer
        ``GD``, ``SGD``, ``SAM``, ``USAM``, ``RandomSAM``, ``PerSampleSAM``, ``PerSampleUSAM`` or ``Switch``;
        per-start ``lr``/``rho`` arrays must have one value per start.
    x0 : array (dim,) or (n_starts, dim)
        Starting points; must be finite.
    steps : int >= 0
    every : int >= 1
        Keep every ``every``-th iterate (plus step 0 and the last step); memory scales with what is kept. A run
        whose :func:`memory_estimate` (saved iterates and loss, working temporaries) exceeds the
        :func:`available_memory` is refused before it starts, with the estimate and the remedy.
    seed : int >= 0, optional
        Key of the counter-based draws (batches, random directions). The path of start ``i`` depends only
        on ``(seed, start_ids[i])``. ``None`` draws a fresh seed and records it in ``Run.seed``.
    bound : float > 0
        A start whose iterate leaves the ball ``||x|| <= bound`` is marked ``diverged`` and frozen there. The test
        runs after every step (a start placed beyond the bound is frozen after its first step), and a bound
        beyond the dtype's range acts as "any finite point".
    start_ids : array (n_starts,) of int, optional
        The identities of the starts (default ``0..n_starts-1``); pass them when sharding a sweep.
    backend : {"auto", "numpy", "compiled"}
        ``"numpy"`` is the reference: one vectorized NumPy update per step. ``"compiled"`` runs a fused numba
        kernel generated from the landscape's gradient (same results to about 1e-12 relative; needs numba).
        ``"auto"`` runs the kernel when the run is long enough to pay for compiling it, or for loading it when an
        earlier process compiled it (a second-long run then already takes the fast path), else uses NumPy.
    dtype : np.float64 or np.float32
        Precision of the iterates and of the arithmetic; float32 trades precision for throughput.
    progress : bool, optional
        Draw a progress bar on stderr; default: only when stderr is a terminal and the run is long. Unless it is
        ``False``, a run that will take over a minute says how long on stderr once its pace is measured.
    on_interrupt : {"raise", "return"}
        What Ctrl-C (SIGINT) does while the steps run: ``"raise"`` raises ``KeyboardInterrupt`` as usual;
        ``"return"`` stops after the current step (or chunk of steps of the compiled kernel) and returns the
        steps done so far as a run marked :attr:`Run.interrupted` (a second Ctrl-C raises). It applies when
        ``simulate`` runs in the main thread, the only one signals reach.
    """
    if not hasattr(landscape, "grad") or not hasattr(landscape, "dim"):
        raise ValueError(f"landscape must be a samscape Landscape, got {type(landscape).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be a samscape optimizer such as SAM(lr=0.1, rho=0.05), got {optimizer!r}")
    steps = _check_int(steps, "steps", 0)
    every = _check_int(every, "every", 1)
    if on_interrupt not in ("raise", "return"):
        raise ValueError(f"on_interrupt must be 'raise' or 'return', got {on_interrupt!r}")
    if not (isinstance(bound, (int, float, np.floating)) and np.isfinite(bound) and bound > 0):
        raise ValueError(f"bound must be a finite number > 0, got {bound!r}")
    dtype = _check_dtype(dtype)
    raw = np.asarray(x0) if not isinstance(x0, np.ndarray) else x0
    if raw.dtype.kind not in "fiu":
        raise ValueError(f"x0 must be an array of real numbers of shape (n_starts, {landscape.dim}), got dtype {raw.dtype}")
    with np.errstate(over="ignore"):  # a start too large for float32 becomes inf and is refused below
        x0 = np.array(raw, dtype=dtype)
    if x0.ndim == 1:
        x0 = x0[None, :]
    if x0.ndim != 2 or x0.shape[1] != landscape.dim or x0.shape[0] == 0:
        raise ValueError(f"x0 must have shape ({landscape.dim},) or (n_starts, {landscape.dim}), got {np.shape(x0)}")
    if not np.all(np.isfinite(x0)):
        bad = int(np.flatnonzero(~np.all(np.isfinite(x0), axis=1))[0])
        raise ValueError(f"x0 must be finite, got {x0[bad].tolist()} for start {bad}")
    n_starts = x0.shape[0]
    if seed is None:
        seed = fresh_seed()
    seed = _check_int(seed, "seed", 0)
    if seed >= 2**64:
        raise ValueError(f"seed must be below 2**64, got {seed}")
    if start_ids is None:
        start_ids = np.arange(n_starts, dtype=np.int64)
    else:
        start_ids = np.asarray(start_ids)
        if start_ids.shape != (n_starts,) or start_ids.dtype.kind not in "iu" or (start_ids < 0).any():
            raise ValueError(f"start_ids must be {n_starts} non-negative integers, one per start, got shape {start_ids.shape}")
        start_ids = start_ids.astype(np.int64)
    resolved = optimizer.for_starts(n_starts, dtype)
    _warn_about_batches(landscape, optimizer)
    n_saved = n_saved_steps(steps, every)
    if backend == "auto" or backend in BACKENDS:  # refused before `auto` spends seconds compiling a kernel
        _check_fits(memory_estimate(landscape, resolved, n_starts, n_saved, dtype, backend), resolved, n_starts, every)
    requested, backend = backend, resolve_backend(backend, landscape, resolved, n_starts, steps, dtype)
    if requested == "auto":
        _check_fits(memory_estimate(landscape, resolved, n_starts, n_saved, dtype, backend), resolved, n_starts, every)
    saved = saved_step_grid(steps, every)
    keeps = on_interrupt == "return"
    bar = Progress(steps, f"{optimizer.describe()} on {landscape.name}",
                   enabled=progress if progress is not None else (None if steps * n_starts > 2_000_000 else False),
                   estimate=progress is not False,
                   hint="Ctrl-C stops it and keeps the steps done so far" if keeps else "")
    with _stop_on_interrupt(bar, keeps):
        xs, status_codes, stopped_at, loss = BACKENDS[backend](
            landscape, resolved, x0, saved, seed=seed, start_ids=start_ids, bound=float(bound), progress=bar
        )
    interrupted = len(xs) < len(saved)
    if interrupted:  # the backend stopped after step bar.done: its iterates are those of that many steps
        saved = saved_step_grid(bar.done, every)
    if loss is None:
        with np.errstate(all="ignore"):
            loss = _map_points(landscape.value, xs, landscape)
    return Run(xs=xs, steps=saved, loss=loss, status=np.asarray(STATUS_NAMES)[status_codes],
               stopped_at=stopped_at, seed=seed, landscape=landscape, optimizer=optimizer,
               bound=float(bound), every=every, start_ids=start_ids, backend=backend,
               requested_steps=steps if interrupted else None)


@contextlib.contextmanager
def _stop_on_interrupt(progress: Progress, enabled: bool):
    """While the block runs, a first Ctrl-C asks the backend (through ``progress``) to stop after its current step
    and a second one raises ``KeyboardInterrupt`` as usual; only the main thread receives signals."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def stop(signum, frame):
        progress.stop_requested = True
        signal.signal(signal.SIGINT, previous)
        progress.stream.write(("\n" if progress.enabled else "") + "samscape: stopping after the current step, "
                              "keeping the steps done so far (Ctrl-C again stops at once and keeps nothing)\n")
        progress.stream.flush()

    signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
