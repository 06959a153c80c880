"""One vectorized integrator, :func:`simulate`: its NumPy backend, and the ``auto`` choice of a backend.

The per-step work sits behind one seam, a *backend*: a function

    backend(landscape, optimizer, x0, saved_steps, *, seed, start_ids, bound, progress, state, first_step)
        -> (xs, status, stopped_at, loss, state)

that advances every start from step 0 to ``saved_steps[-1]`` and returns the iterates at ``saved_steps``, and the
loss there when it computed it on the way (else ``None``: :func:`simulate` evaluates the landscape). The steps
are numbered from ``first_step`` for the draws and for a Switch (a continued run's step), and the optimizer's state
(name -> ``(n_starts, dim)``, every array of its ``state_names()``) starts from ``state`` and is returned as it is
after the last step done (a frozen start's as it was when it froze).
:func:`numpy_backend` is the reference; a compiled backend must return the same arrays.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from .._checks import choice, has_attributes, instance, int_at_least, positive
from .budget import check_fits, map_points, plan_estimate
from .contract import (DEFAULT_BOUND, DIVERGED, NONFINITE, OK, STATUS_NAMES, check_dtype, far_threshold, initial_status,
                       kept_so_far, n_saved_steps, saved_step_grid)
from .draws import fresh_seed
from .optimizers import Optimizer, check_optimizer
from .progress import Progress, stop_on_interrupt
from .run import Run, RunState
from .runplan import RunPlan, plan_run
from .stepping import Stepper, initial_state


def numpy_backend(landscape, optimizer: Optimizer, x0: np.ndarray, saved_steps: np.ndarray, *,
                  seed: int, start_ids: np.ndarray, bound: float, progress: Progress, state=None, first_step: int = 0,
                  status=None):
    """Reference backend: one NumPy-vectorized update per step over all starts.

    Returns ``xs`` ``(n_saved, n_starts, dim)``, ``status`` ``(n_starts,)`` int codes, ``stopped_at``
    ``(n_starts,)``: the step at which a start was frozen, or -1 (counted from this call's first step), the loss
    at ``xs`` ``(n_saved, n_starts)`` where the backend computed it on the way (``None`` here: :func:`simulate`
    evaluates the landscape), and the final state (name -> ``(n_starts, dim)``).
    """
    n_starts, dim = x0.shape
    stepper = Stepper(landscape, optimizer, n_starts, x0.dtype, seed=seed, start_ids=start_ids, state=state)
    state = stepper.state
    xs = np.empty((len(saved_steps), n_starts, dim), dtype=x0.dtype)
    status, stopped_at = initial_status(status, n_starts)
    x = x0.copy()
    xs[0] = x
    slot = 1
    saved = saved_steps.tolist()  # plain ints: compared every step
    last = saved[-1]
    far2 = far_threshold(bound, x0.dtype)
    everyone_running = not status.any()
    with np.errstate(all="ignore"):  # frozen starts may overflow; their results are discarded below
        for t in range(last):
            x_next, state_next = stepper.advance(x, state, first_step + t)
            squared_norm = np.sum(x_next * x_next, axis=-1)
            # the common step: nobody frozen, everyone finite and inside the bound (NaN fails the test)
            if everyone_running and np.all(squared_norm <= far2):
                x, state = x_next, state_next
            else:
                x, took = _freeze_stopped(x, x_next, squared_norm, far2, status, stopped_at, t)
                # a frozen start keeps the state it had with the point it keeps
                state = {name: np.where(took[:, None], state_next[name], array) for name, array in state.items()}
                everyone_running = not status.any()
            if t + 1 == saved[slot]:
                xs[slot] = x
                slot += 1
            progress.update(t + 1)
            if progress.stop_requested:
                return kept_so_far(xs, slot, x, t + 1, saved), status, stopped_at, None, state
    progress.update(last)
    return xs, status, stopped_at, None, state


def _freeze_stopped(x, x_next, squared_norm, far2, status, stopped_at, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Mark starts whose new iterate is not finite or beyond the bound (updating ``status`` and ``stopped_at``
    in place) and return the iterates with every stopped start kept at its last finite point, and which starts
    took their new iterate ``(n_starts,)`` bool."""
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
    return np.where(take[:, None], x_next, x), take


def _compiled_backend(*args, **kwargs):
    from .compiled import compiled_backend  # numba is imported only when this backend runs

    return compiled_backend(*args, **kwargs)


BACKENDS: dict[str, Callable] = {"numpy": numpy_backend, "compiled": _compiled_backend}
BACKEND_CHOICES = ("auto", *sorted(BACKENDS))  # what simulate, the sweeps and the command line accept
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
    the kernel ready, by :func:`compiled.readiness`: reusing it (compiled in this process), loading it (compiled by
    an earlier process and cached on disk) or compiling it. It builds the kernel here, so that a gradient the
    kernel cannot express, or one numba fails to compile, runs on NumPy instead, with one warning saying why.
    """
    if choice(backend, "backend", BACKEND_CHOICES) != "auto":
        return backend
    return _resolve_auto(plan_run(landscape, optimizer, n_starts, dtype), steps)


def _resolve_auto(run_plan: RunPlan, steps: int) -> str:
    """What ``backend="auto"`` runs for the run of ``run_plan`` over ``steps`` steps (see :func:`resolve_backend`)."""
    from . import compiled

    if not compiled.available():
        return "numpy"
    n_starts = run_plan.n_starts
    estimate = steps * (n_starts * _NUMPY_SECONDS_PER_POINT_STEP + _NUMPY_SECONDS_PER_STEP)
    if estimate < AUTO_REUSE_SECONDS:
        return "numpy"
    try:
        kernel_plan = compiled.plan(run_plan.landscape, run_plan.optimizer, run_plan.dtype)
        # the disk is looked at only where loading would pay and compiling would not: it generates the source
        ready = compiled.readiness(kernel_plan, n_starts,
                                   look_on_disk=AUTO_LOAD_SECONDS <= estimate < AUTO_COMPILE_SECONDS)
        cost = {compiled.IN_MEMORY: AUTO_REUSE_SECONDS, compiled.ON_DISK: AUTO_LOAD_SECONDS,
                compiled.TO_BUILD: AUTO_COMPILE_SECONDS}[ready]
        if estimate < cost:
            return "numpy"
        compiled.prepare(kernel_plan, n_starts)
    except (compiled.codegen.UnsupportedLandscape, compiled.KernelBuildError) as err:
        warnings.warn(f"backend='auto' runs this on NumPy because {err}", RuntimeWarning, stacklevel=3)
        return "numpy"
    return "compiled"


def kernel_readiness(landscape, optimizer: Optimizer, n_starts: int, dtype="float64", *,
                     look_on_disk: bool = True) -> str:
    """How far the compiled kernel that a run of ``optimizer`` from ``n_starts`` starts calls is from running (see
    :func:`compiled.readiness`): ``"in memory"``, ``"on disk"``, ``"to build"``; ``"unavailable"`` when numba is
    missing, ``"unsupported"`` when the kernel generator cannot write it."""
    from . import compiled

    if not compiled.available():
        return "unavailable"
    try:
        return compiled.readiness(compiled.plan(landscape, optimizer, dtype), n_starts, look_on_disk=look_on_disk)
    except (compiled.codegen.UnsupportedLandscape, compiled.KernelBuildError):
        return "unsupported"


def simulate(landscape, optimizer: Optimizer, x0, steps: int, *, every: int = 1, seed: int | None = None,
             bound: float = DEFAULT_BOUND, start_ids=None, backend: str = "auto", dtype=np.float64,
             progress: bool | None = None, on_interrupt: str = "raise", state: RunState | None = None) -> Run:
    """Run ``optimizer`` on ``landscape`` from every start in ``x0`` for ``steps`` steps.

    Parameters
    ----------
    landscape : Landscape
    optimizer : Optimizer
        ``GD``, ``SGD``, ``SAM``, ``USAM``, ``RandomSAM``, ``PerSampleSAM``, ``PerSampleUSAM`` or ``Switch``;
        per-start ``lr``/``rho`` arrays must have one value per start; either may follow a schedule of the step
        (:mod:`samscape.dynamics.schedules`, counted from step 0).
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
    state : RunState, optional
        Continue a run: ``simulate(landscape, optimizer, run.x, more_steps, state=run.state)`` goes on from step
        ``run.state.step`` with the run's seed, start ids and optimizer state (the velocity of momentum), bit for
        bit as one longer run would have (with the same optimizer; ``seed`` and ``start_ids`` may be left out).
        The new run's ``steps`` count from 0 again; its ``state.step`` goes on counting. Starts that the first run
        froze (``run.state.status``) stay frozen, with ``stopped_at`` 0. Without ``state`` a run starts at step 0
        with zero state.
    """
    has_attributes(landscape, "landscape", ("grad", "dim"), "a samscape Landscape")
    steps = int_at_least(steps, "steps", 0)
    every = int_at_least(every, "every", 1)
    choice(on_interrupt, "on_interrupt", ("raise", "return"))
    bound = positive(bound, "bound")
    dtype = check_dtype(dtype)
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
    if state is not None:
        instance(state, "state", RunState, "a RunState (a run's run.state) or None")
        seed, start_ids = _continued_keys(state, seed, start_ids, n_starts)
    if seed is None:
        seed = fresh_seed()
    seed = int_at_least(seed, "seed", 0, maximum=2**64 - 1)
    if start_ids is None:
        start_ids = np.arange(n_starts, dtype=np.int64)
    else:
        start_ids = np.asarray(start_ids)
        if start_ids.shape != (n_starts,) or start_ids.dtype.kind not in "iu" or (start_ids < 0).any():
            raise ValueError(f"start_ids must be {n_starts} non-negative integers, one per start, got shape {start_ids.shape}")
        start_ids = start_ids.astype(np.int64)
    check_optimizer(optimizer)
    first_step = 0 if state is None else int_at_least(state.step, "state.step", 0)
    arrays = initial_state(optimizer, n_starts, landscape.dim, dtype, None if state is None else state.arrays)
    run_plan = plan_run(landscape, optimizer, n_starts, dtype)
    if run_plan.batch_note is not None:
        warnings.warn(run_plan.batch_note, UserWarning, stacklevel=2)
    n_saved = n_saved_steps(steps, every)
    requested = choice(backend, "backend", BACKEND_CHOICES)
    # refused before `auto` spends seconds compiling a kernel, and again for the backend `auto` chose
    check_fits(plan_estimate(run_plan, n_saved, requested), run_plan, every)
    backend = _resolve_auto(run_plan, steps) if requested == "auto" else requested
    if requested == "auto":
        check_fits(plan_estimate(run_plan, n_saved, backend), run_plan, every)
    saved = saved_step_grid(steps, every)
    keeps = on_interrupt == "return"
    bar = Progress(steps, f"{run_plan.label} on {landscape.name}",
                   enabled=progress if progress is not None else (None if steps * n_starts > 2_000_000 else False),
                   estimate=progress is not False,
                   hint="Ctrl-C stops it and keeps the steps done so far" if keeps else "")
    with stop_on_interrupt(bar, keeps):
        xs, status_codes, stopped_at, loss, final_state = BACKENDS[backend](
            landscape, run_plan.optimizer, x0, saved, seed=seed, start_ids=start_ids, bound=float(bound), progress=bar,
            state=arrays, first_step=first_step, status=_continued_status(state, n_starts),
        )
    interrupted = len(xs) < len(saved)
    if interrupted:  # the backend stopped after step bar.done: its iterates are those of that many steps
        saved = saved_step_grid(bar.done, every)
    if loss is None:
        with np.errstate(all="ignore"):
            loss = map_points(landscape.value, xs, landscape)
    return Run(xs=xs, steps=saved, loss=loss, status=np.asarray(STATUS_NAMES)[status_codes],
               stopped_at=stopped_at, seed=seed, landscape=landscape, optimizer=optimizer,
               bound=float(bound), every=every, start_ids=start_ids, backend=backend,
               requested_steps=steps if interrupted else None,
               state=RunState(step=first_step + int(saved[-1]), seed=seed, arrays=final_state, start_ids=start_ids,
                              status=np.asarray(STATUS_NAMES)[status_codes]))


def _continued_status(state: RunState | None, n_starts: int) -> np.ndarray | None:
    """The status codes a continued run starts from (its frozen starts stay frozen), or ``None``: every start runs."""
    if state is None or state.status is None:
        return None
    names = np.asarray(state.status)
    if names.shape != (n_starts,) or not np.isin(names, STATUS_NAMES).all():
        raise ValueError(f"state.status must hold one of {', '.join(STATUS_NAMES)} for each of the {n_starts} starts, "
                         f"got {np.unique(names)[:5].tolist()} in shape {names.shape}")
    return np.array([STATUS_NAMES.index(name) for name in names.tolist()], dtype=np.int8)


def _continued_keys(state: RunState, seed, start_ids, n_starts: int):
    """The seed and start ids of a run that continues ``state``: its own, which a caller may repeat but not change
    (another seed or other ids would draw other batches than the longer run did)."""
    if seed is not None and seed != state.seed:
        raise ValueError(f"seed must be None or the continued run's seed {state.seed} when state is given, got {seed!r}")
    if state.start_ids is None:
        return state.seed, start_ids
    if np.shape(state.start_ids) != (n_starts,):
        raise ValueError(f"state is that of a run of {np.size(state.start_ids)} starts but x0 holds {n_starts}; "
                         "continue a run from its own final iterates (run.x)")
    if start_ids is not None and not np.array_equal(np.asarray(start_ids), state.start_ids):
        raise ValueError("start_ids must be None or the continued run's start ids (run.state.start_ids) when state "
                         "is given, got other ids")
    return state.seed, np.asarray(state.start_ids)
