"""One vectorized integrator, :func:`simulate`, and its result, :class:`Run`.

The per-step work sits behind one seam, a *backend*: a function

    backend(landscape, optimizer, x0, saved_steps, *, seed, start_ids, bound, progress)
        -> (xs, status, stopped_at)

that advances every start from step 0 to ``saved_steps[-1]`` and returns the iterates at ``saved_steps``.
:func:`numpy_backend` is the reference; a compiled backend must return the same arrays.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .._atomic import atomic_output
from .draws import fresh_seed
from .optimizers import Noise, Optimizer, optimizer_from_dict

STATUS_NAMES = ("ok", "diverged", "nonfinite")
OK, DIVERGED, NONFINITE = 0, 1, 2
DEFAULT_BOUND = 1e6


class Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal (or when forced)."""

    def __init__(self, total: int, label: str, enabled: bool | None = None, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = (self.stream.isatty() if enabled is None else enabled) and total > 0
        self.total, self.label = total, label
        self.started = time.perf_counter()
        self._last_draw = 0.0
        self._finished = False

    def update(self, done: int) -> None:
        if not self.enabled or self._finished:
            return
        now = time.perf_counter()
        if done < self.total and now - self._last_draw < 0.2:
            return
        self._last_draw = now
        frac = done / self.total
        bar = "#" * int(30 * frac)
        elapsed = now - self.started
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        self.stream.write(f"\r{self.label} [{bar:<30}] {100 * frac:5.1f}%  {elapsed:6.1f}s elapsed, ~{eta:5.1f}s left")
        if done >= self.total:
            self._finished = True
            self.stream.write("\n")
        self.stream.flush()


def saved_step_grid(steps: int, every: int) -> np.ndarray:
    """Steps that a run keeps: 0, every, 2*every, ..., and always the last step ``steps``."""
    grid = np.arange(0, steps + 1, every, dtype=np.int64)
    if grid[-1] != steps:
        grid = np.append(grid, steps)
    return grid


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


def numpy_backend(landscape, optimizer: Optimizer, x0: np.ndarray, saved_steps: np.ndarray, *,
                  seed: int, start_ids: np.ndarray, bound: float, progress: Progress):
    """Reference backend: one NumPy-vectorized update per step over all starts.

    Returns ``xs`` ``(n_saved, n_starts, dim)``, ``status`` ``(n_starts,)`` int codes and ``stopped_at``
    ``(n_starts,)``: the step at which a start was frozen, or -1.
    """
    n_starts, dim = x0.shape
    noise = Noise(seed, start_ids, landscape.n_samples, dim)
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
            x_next = optimizer.update(landscape, x, t, noise).astype(x.dtype, copy=False)
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
    progress.update(last)
    return xs, status, stopped_at


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
DTYPES = ("float64", "float32")
# `auto` compiles when the NumPy path would take longer than this many seconds; the first compile of a
# kernel costs a few seconds (later processes load it from disk in a fraction of that).
AUTO_COMPILE_SECONDS = 3.0
AUTO_REUSE_SECONDS = 0.05
# A rough model of the NumPy path's cost on one core: per point-step, and per step for Python overhead.
_NUMPY_SECONDS_PER_POINT_STEP = 5e-8
_NUMPY_SECONDS_PER_STEP = 3e-5


def resolve_backend(backend: str, landscape, optimizer: Optimizer, n_starts: int, steps: int,
                    dtype="float64") -> str:
    """The backend :func:`simulate` runs for ``backend`` (``"auto"`` resolved to ``"numpy"`` or ``"compiled"``).

    ``auto`` compiles when the estimated NumPy time pays for compiling (or the kernel is already compiled in
    this process) and numba is importable. It builds the kernel here, so that a gradient the kernel cannot
    express, or one numba fails to compile, runs on NumPy instead, with one warning saying why.
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
            return "numpy"
        compiled.prepare(landscape, optimizer, dtype, n_starts)
    except (compiled.codegen.UnsupportedLandscape, compiled.KernelBuildError) as err:
        warnings.warn(f"backend='auto' runs this on NumPy because {err}", RuntimeWarning, stacklevel=3)
        return "numpy"
    return "compiled"


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
            return np.linalg.norm(self.landscape.grad(self.xs), axis=-1)

    def status_counts(self) -> dict[str, int]:
        return {name: int(np.sum(self.status == name)) for name in STATUS_NAMES}

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
            "samscape_format": 1,
        }
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


def load_run(path: str | os.PathLike, landscape=None) -> Run:
    """Read a run saved by :meth:`Run.save`, rebuilding its landscape and optimizer from the recipe.

    Pass ``landscape`` to supply it yourself (needed when it was built from a SymPy object that the
    safe expression parser cannot read back, e.g. one with ``Piecewise``).
    """
    from ..landscapes import from_spec  # landscapes sits below dynamics; imported late to keep start-up light

    path = os.fspath(path)
    try:
        data = np.load(path, allow_pickle=False)
        with data:
            meta = json.loads(str(data["meta"]))
            arrays = {k: data[k] for k in ("xs", "steps", "loss", "status", "stopped_at", "start_ids")}
    except FileNotFoundError:
        raise ValueError(f"path {path!r} does not exist") from None
    except (OSError, KeyError, ValueError, json.JSONDecodeError):
        raise ValueError(f"path {path!r} is not a samscape run (write one with Run.save or samscape simulate --out)") from None
    if landscape is not None and landscape.dim != arrays["xs"].shape[-1]:
        raise ValueError(
            f"landscape {landscape.name!r} has dim {landscape.dim} but the run in {path!r} has dim {arrays['xs'].shape[-1]}"
        )
    return Run(
        **arrays, seed=int(meta["seed"]),
        landscape=landscape if landscape is not None else from_spec(meta["landscape"]),
        optimizer=optimizer_from_dict(meta["optimizer"]),
        bound=float(meta["bound"]), every=int(meta["every"]), backend=meta.get("backend", "numpy"),
    )


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def simulate(landscape, optimizer: Optimizer, x0, steps: int, *, every: int = 1, seed: int | None = None,
             bound: float = DEFAULT_BOUND, start_ids=None, backend: str = "auto", dtype=np.float64,
             progress: bool | None = None) -> Run:
    """Run ``optimizer`` on ``landscape`` from every start in ``x0`` for ``steps`` steps.

    Parameters
    ----------
    landscape : Landscape
    optimizer : Optimizer
        ``GD``, ``SGD``, ``SAM``, ``USAM``, ``RandomSAM`` or ``Switch``; per-start ``lr``/``rho`` arrays must
        have one value per start.
    x0 : array (dim,) or (n_starts, dim)
        Starting points; must be finite.
    steps : int >= 0
    every : int >= 1
        Keep every ``every``-th iterate (plus step 0 and the last step); memory scales with what is kept.
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
        ``"auto"`` compiles when the run is long enough to pay for compiling, else uses NumPy.
    dtype : np.float64 or np.float32
        Precision of the iterates and of the arithmetic; float32 trades precision for throughput.
    progress : bool, optional
        Draw a progress bar on stderr; default: only when stderr is a terminal and the run is long.
    """
    if not hasattr(landscape, "grad") or not hasattr(landscape, "dim"):
        raise ValueError(f"landscape must be a samscape Landscape, got {type(landscape).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be a samscape optimizer such as SAM(lr=0.1, rho=0.05), got {optimizer!r}")
    steps = _check_int(steps, "steps", 0)
    every = _check_int(every, "every", 1)
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
    backend = resolve_backend(backend, landscape, resolved, n_starts, steps, dtype)
    saved = saved_step_grid(steps, every)
    bar = Progress(steps, f"{optimizer.describe()} on {landscape.name}",
                   enabled=progress if progress is not None else (None if steps * n_starts > 2_000_000 else False))
    xs, status_codes, stopped_at = BACKENDS[backend](
        landscape, resolved, x0, saved, seed=seed, start_ids=start_ids, bound=float(bound), progress=bar
    )
    with np.errstate(all="ignore"):
        loss = landscape.value(xs)
    return Run(xs=xs, steps=saved, loss=loss, status=np.asarray(STATUS_NAMES)[status_codes],
               stopped_at=stopped_at, seed=seed, landscape=landscape, optimizer=optimizer,
               bound=float(bound), every=every, start_ids=start_ids, backend=backend)
