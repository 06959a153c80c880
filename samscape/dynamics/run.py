"""The result of :func:`~samscape.dynamics.simulate`, :class:`Run`, and its file: :meth:`Run.save` writes an
``.npz`` holding the arrays and the recipe that reruns it, :func:`load_run` reads one back (the file is untrusted
input: no pickle, every header checked against the recipe and the memory available before any data is loaded).
"""

from __future__ import annotations

import json
import math
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .._atomic import atomic_output
from .._checks import int_at_least
from .._tables import html_table, text_table
from .budget import check_fits_to_load, map_points
from .contract import DEFAULT_BOUND, DTYPES, STATUS_NAMES, n_saved_steps, saved_step_grid
from .optimizers import Optimizer, optimizer_from_dict


@dataclass(eq=False)
class RunState:
    """Where a run stopped, for continuing it exactly: ``simulate(landscape, optimizer, run.x, more_steps,
    state=run.state)`` takes the same draws and the same Switch steps as one longer run would have.

    Attributes
    ----------
    step : int
        The step the run reached, counted from the first run's step 0 (a continued run goes on counting).
    seed : int
        The seed of the counter-based draws.
    arrays : dict of str -> ndarray (n_starts, dim)
        The optimizer's state after ``step`` steps (``{"velocity": v}`` with momentum; empty for a stateless
        optimizer, whose continuation still needs ``step`` and ``seed``).
    start_ids : ndarray (n_starts,) of int
        The identities of the starts, which key their draws.
    status : ndarray (n_starts,) of str, optional
        The starts' statuses (``ok``, ``diverged``, ``nonfinite``): a continued run keeps the frozen ones frozen, as
        one longer run would have. ``None`` (a state built by hand): every start runs.
    """

    step: int
    seed: int
    arrays: dict = field(default_factory=dict)
    start_ids: np.ndarray | None = None
    status: np.ndarray | None = None

    def __repr__(self) -> str:
        arrays = ", ".join(f"{name} {array.shape}" for name, array in self.arrays.items()) or "no arrays"
        return f"RunState(step={self.step}, seed={self.seed}, {arrays})"


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
    state : RunState or None
        Where the run stopped: the step reached (counted from the first run's step 0 when this run continued
        another; ``steps`` count from this run's start), the seed and the optimizer's state arrays, for
        ``simulate(..., state=run.state)``. ``None`` only for a run built by hand.
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
    state: RunState | None = field(default=None, repr=False)

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
            return map_points(lambda p: np.linalg.norm(self.landscape.grad(p), axis=-1), self.xs, self.landscape)

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
            return map_points(lambda p: np.linalg.norm(self.landscape.grad(p), axis=-1), self.x, self.landscape)

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
        names) and, for per-start ``lr``/``rho``/``momentum``, those along ``start``; ``attrs`` hold the recipe: the
        landscape spec and optimizer as JSON, seed, bound, every, backend, dtype. xarray is an optional dependency.
        """
        try:
            import xarray
        except ImportError:
            raise ImportError("Run.to_xarray needs xarray, an optional dependency: pip install xarray "
                              "(or pip install 'samscape[sweep]')") from None
        starts = np.asarray(self.start_ids) if self.start_ids is not None else np.arange(self.n_starts)
        variables = list(getattr(self.landscape, "variables", range(self.xs.shape[-1])))
        coords = {"step": ("step", np.asarray(self.steps)), "start": ("start", starts), "dim": ("dim", variables)}
        for name in ("lr", "rho", "momentum"):
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
        int_at_least(self.every, "run.every", 1)
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
            int_at_least(self.requested_steps, "run.requested_steps (the steps asked for)", int(steps[-1]))
        finite = np.isfinite(xs).all(axis=(0, 2))
        if not finite.all():
            i = int(np.flatnonzero(~finite)[0])
            raise ValueError(f"run.xs must be finite (a stopped start keeps its last finite point), "
                             f"got a non-finite iterate for start {i}")
        self.optimizer.for_starts(n_starts)  # per-start lr/rho arrays must have one value per start
        if self.state is not None:
            self._validate_state(n_starts, dim, last)
        return self

    def _validate_state(self, n_starts: int, dim: int, last: int) -> None:
        state = self.state
        if not isinstance(state, RunState):
            raise ValueError(f"run.state must be a RunState or None, got {type(state).__name__}")
        int_at_least(state.step, "run.state.step (the step reached)", last)
        for name, array in state.arrays.items():
            if np.shape(array) != (n_starts, dim) or np.asarray(array).dtype.kind != "f":
                raise ValueError(f"run.state's array {name!r} must be floats of shape ({n_starts}, {dim}), got "
                                 f"{np.asarray(array).dtype} of shape {np.shape(array)}")
        extra = set(state.arrays) - set(self.optimizer.state_names())
        if extra:
            raise ValueError(f"run.state holds {sorted(extra)}, which optimizer {self.optimizer.describe()} does not carry")

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
        state_arrays = {}
        if self.state is not None:
            meta["state"] = {"step": int(self.state.step), "arrays": sorted(self.state.arrays)}
            state_arrays = {STATE_PREFIX + name: array for name, array in self.state.arrays.items()}
        arrays = dict(
            xs=self.xs, steps=self.steps, loss=self.loss, status=self.status.astype("U9"),
            stopped_at=self.stopped_at, start_ids=self.start_ids if self.start_ids is not None else np.arange(self.n_starts),
            meta=np.array(json.dumps(meta, sort_keys=True)), **state_arrays,
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
# A saved run's state array NAME is the archive's array "state.NAME"; the recipe's "state" lists the names.
STATE_PREFIX = "state."
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
        headers = _array_headers(data.zip, bad, (*RUN_ARRAYS, "meta"))
        check_fits_to_load(path, headers)  # before the recipe is read: 'meta' may declare gigabytes
        try:
            meta = json.loads(str(data["meta"]))
        except RecursionError:
            raise bad("its recipe (the 'meta' entry) nests JSON too deeply to read") from None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
            raise bad(f"its recipe (the 'meta' entry) is not readable JSON ({_reason(err)})") from None
        try:
            state_names = _check_state_recipe(meta)
        except ValueError as err:
            raise bad(str(err)) from None
        if state_names:
            headers.update(_array_headers(data.zip, bad, [STATE_PREFIX + name for name in state_names]))
            check_fits_to_load(path, headers)
        try:
            _check_recipe(meta, headers)
        except ValueError as err:
            raise bad(str(err)) from None
        arrays = {}
        for name in (*RUN_ARRAYS, *(STATE_PREFIX + name for name in state_names)):
            try:
                arrays[name] = data[name]
            except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
                raise bad(f"its array {name!r} cannot be read ({_reason(err)})") from None
    state_arrays = {name: arrays.pop(STATE_PREFIX + name) for name in state_names}
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
    # a file from before run states is a run from step 0 of an optimizer without state: its state is its last step
    reached = meta["state"]["step"] if "state" in meta else int(arrays["steps"][-1])
    run = Run(
        **arrays, seed=meta["seed"], landscape=landscape, optimizer=optimizer,
        bound=float(meta["bound"]), every=meta["every"], backend=meta.get("backend", "numpy"),
        requested_steps=meta.get("requested_steps"),
        state=RunState(step=reached, seed=meta["seed"], arrays=state_arrays, start_ids=arrays["start_ids"],
                       status=arrays["status"]),
    )
    try:
        return run.validate()
    except ValueError as err:
        raise bad(str(err)) from None


def _reason(err: BaseException, limit: int = 160) -> str:
    text = str(err) or type(err).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _array_headers(archive: zipfile.ZipFile, bad, names) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of the arrays ``names`` of a run, read from the ``.npy`` headers without loading any data.

    A header must describe exactly the bytes its member holds, so a huge declared shape is refused here.
    """
    headers = {}
    for name in names:
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



def _recipe_value(meta: dict, key: str, ok, allowed: str):
    value = meta.get(key)
    if not ok(value):
        shown = repr(value)
        raise ValueError(f"its recipe's {key} must be {allowed}, got {shown if len(shown) <= 60 else shown[:57] + '...'}")
    return value


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_state_recipe(meta) -> list[str]:
    """The names of the state arrays the recipe lists (none in a file from before run states)."""
    if not isinstance(meta, dict) or "state" not in meta:
        return []
    state = meta["state"]
    if (not isinstance(state, dict) or set(state) != {"step", "arrays"} or not _is_int(state["step"])
            or state["step"] < 0 or not isinstance(state["arrays"], list)
            or not all(isinstance(name, str) and name.isidentifier() for name in state["arrays"])
            or len(set(state["arrays"])) != len(state["arrays"]) or len(state["arrays"]) > MAX_STATE_ARRAYS):
        shown = repr(state)
        raise ValueError("its recipe's state must be {'step': an integer >= 0, 'arrays': a list of distinct names}, "
                         f"got {shown if len(shown) <= 60 else shown[:57] + '...'}")
    return state["arrays"]


# More state arrays than this in a saved recipe are refused (momentum carries one; no optimizer needs many).
MAX_STATE_ARRAYS = 16


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
    for name in _check_state_recipe(meta):
        got_shape, got_dtype = headers[STATE_PREFIX + name]
        if got_shape != (n_starts, rest[1]) or got_dtype != xs_dtype:
            raise ValueError(f"its state array {name!r} must be {dtype} of shape {(n_starts, rest[1])} like the "
                             f"starts of 'xs', got {got_dtype} of shape {got_shape}")
    if "state" in meta and meta["state"]["step"] < steps:
        raise ValueError(f"its recipe's state step must be at least steps={steps}, got {meta['state']['step']}")


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


