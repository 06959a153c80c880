"""What a sweep is, before anything runs: the swept names and values, the optimizer they fill in, the starts,
and how the work is cut into blocks. NumPy only (no Dask, no zarr), so the CLI can check its input cheaply.

:func:`plan_sweep` checks what :func:`samscape.sweep.run` is given and returns a frozen :class:`SweepPlan`, which the
rest of the run asks what the sweep needs (its starts, its checked grid, its recipe, its memory per point and per
block, the backend ``auto`` picks) instead of asking the landscape and the optimizer again.

A swept name is a field of the optimizer (``lr``, ``rho``, ``batch_size``, a variant's ``alpha``, ``eta_a`` or
``steps_ascent``, ``momentum``, a Switch's ``at``; a Switch's parts as ``first.lr``, ``second.rho``, ...) or ``seed``,
the key of the counter-based draws passed to :func:`samscape.dynamics.simulate` as ``seed=``. The fields a class
takes one value per start of (its ``per_start``: ``lr``, ``rho``, ``alpha``, ...) vary inside one simulate call;
every other name is constant within a block, because simulate takes it as one value (a kernel constant such as
``steps_ascent`` is one compiled kernel per value). What a field is (per start or not, a real number, a count or a
switch) is read off the class (:func:`samscape.dynamics.hyperparameters`), never listed here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import numbers

import numpy as np

from .. import __version__, dynamics, landscapes
from .._checks import choice, has_attributes, int_at_least, points, positive
from .._starts import count_starts, parse_starts
from ..dynamics import OPTIMIZERS, Optimizer
from . import budget

FORMAT = 1
SWITCH_PARTS = ("first", "second")
SEED = "seed"
# Work of one block, in point-steps. Below MIN a task's fixed costs (scheduling, zarr writes, the fates'
# extra steps) stop being small against its simulation; above MAX a killed block loses too much work. Between
# them a block is sized so that every worker gets about BLOCKS_PER_WORKER blocks (load balance).
MIN_BLOCK_WORK = 2**28
MAX_BLOCK_WORK = 2**32
BLOCKS_PER_WORKER = 8
# the memory one block of the rule's size needs on a worker (its kept iterates, every k steps, among the rest)
# stays below this
MAX_BLOCK_BYTES = 2**28


# ---------------------------------------------------------------------------------------------- input
def _check_landscape(landscape):
    has_attributes(landscape, "landscape", ("spec", "grad"), "a samscape Landscape such as landscapes.get('tanh')")
    try:
        landscapes.from_spec(json.loads(json.dumps(landscape.spec)))
    except Exception as err:  # noqa: BLE001 -- any failure means the workers could not rebuild it
        raise ValueError(f"landscape {landscape.name!r} cannot be rebuilt from its spec on the workers ({err}); "
                         "use a catalog landscape or one made by landscapes.from_expr from text") from None
    return landscape


def _check_starts(starts, landscape, seed: int) -> np.ndarray:
    if isinstance(starts, str):
        return parse_starts(starts, landscape, seed, name="starts")
    arr = points(starts, landscape.dim, "starts")
    arr = arr.reshape(-1, landscape.dim) if arr.ndim != 1 else arr[None, :]
    if arr.shape[0] == 0:
        raise ValueError(f"starts must hold at least one point of dimension {landscape.dim}, got none")
    return arr


def _check_every(every, steps: int):
    if every is None:
        return None
    return int_at_least(every, "every", 1, also=" or None (keep only the final iterate)")


def _count_starts(starts, landscape) -> int:
    """How many starts a sweep has, without building them from a SPEC (``random:100000000`` is sized first)."""
    if isinstance(starts, str):
        return count_starts(starts, landscape.dim, name="starts")
    return len(_check_starts(starts, landscape, 0))


def _leaf_fields(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.name not in SWITCH_PARTS]


def hyperparameter_names(optimizer: Optimizer, prefix: str = "") -> list[str]:
    """The names a sweep can vary on ``optimizer``: its fields, a Switch's parts as ``first.NAME``/``second.NAME``."""
    names = []
    for f in dataclasses.fields(optimizer):
        value = getattr(optimizer, f.name)
        if isinstance(value, Optimizer):
            names += hyperparameter_names(value, f"{prefix}{f.name}.")
        else:
            names.append(prefix + f.name)
    return names


def _known_leaf_names() -> set[str]:
    return {name for cls in OPTIMIZERS.values() for name in _leaf_fields(cls)}


def _owner(optimizer, path: str):
    """The optimizer (or class) that holds the field at dotted ``path`` and the field's name."""
    head, _, leaf = path.rpartition(".")
    for part in head.split(".") if head else ():
        optimizer = getattr(optimizer, part)
    return optimizer, leaf


def hyperparameter(optimizer, path: str) -> dynamics.Hyperparameter | None:
    """What the field at dotted ``path`` of ``optimizer`` (an instance, or a plain class) is
    (:func:`samscape.dynamics.hyperparameters`); ``None`` for ``seed`` or a name it lacks."""
    owner, leaf = _owner(optimizer, path)
    return dynamics.hyperparameters(owner).get(leaf) if isinstance(owner, (Optimizer, type)) else None


def per_start(name: str, optimizer) -> bool:
    """Whether swept ``name`` varies inside one simulate call: a field its class takes one value per start of
    (``lr``, ``rho``, ``alpha``, ... of any Switch part), read off the class."""
    found = hyperparameter(optimizer, name) if name != SEED else None
    return found is not None and found.per_start


def _get(optimizer: Optimizer, path: str):
    head, _, rest = path.partition(".")
    value = getattr(optimizer, head)
    return _get(value, rest) if rest else value


def _typed(hyper: dynamics.Hyperparameter | None, value):
    """A swept value as its field takes it: an array per start stays an array; a scalar becomes the field's type."""
    if isinstance(value, np.ndarray) and value.ndim:
        return value
    value = value.item() if isinstance(value, np.generic) else value
    return hyper.type(value) if hyper is not None else value


def _replaced(spec: dict, values: dict) -> dict:
    spec = dict(spec)
    for path, value in values.items():
        head, _, rest = path.partition(".")
        spec[head] = _replaced(spec[head], {rest: value}) if rest else value
    return spec


def with_values(optimizer, values: dict) -> Optimizer:
    """``optimizer`` with the fields at the dotted paths of ``values`` replaced, rebuilt (and so checked) by its class.

    ``optimizer`` is an instance or its :meth:`~samscape.dynamics.Optimizer.to_dict` spec. A spec may leave a field
    whose default follows another at ``None`` (:func:`base_spec`): the class then fills it in for every value
    (MultiStepSAM's ``alpha`` is the swept ``rho``), not the value it had for the grid's first one.
    """
    spec = optimizer.to_dict() if isinstance(optimizer, Optimizer) else optimizer
    typed = {}
    for path, value in values.items():
        head, _, leaf = path.rpartition(".")
        owner = spec
        for part in head.split(".") if head else ():
            owner = owner[part]
        typed[path] = _typed(dynamics.hyperparameters(owner["kind"]).get(leaf), value)
    return dynamics.optimizer_from_dict(_replaced(spec, typed))


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _require_entries(grid) -> None:
    if not isinstance(grid, dict) or not grid:
        raise ValueError(f"grid must be a non-empty dict of hyperparameter name -> values, e.g. "
                         f"{{'lr': [0.1, 0.2], 'seed': range(4)}}, got {_shown(grid)}")


def check_grid(grid, optimizer: Optimizer, *, spec: dict | None = None) -> dict[str, np.ndarray]:
    """The swept names and their values as 1-D arrays (reals for a real field, integers for a count or the seed,
    booleans for a switch). ``spec``: what the blocks build their optimizer from (:func:`base_spec`; default
    ``optimizer``'s).

    Refuses, in one sentence each: a grid that is not a non-empty dict, an empty or repeated list of values, a
    value that is not a number, a name no optimizer has, a name this optimizer lacks, a value the optimizer itself
    refuses (e.g. ``lr <= 0``), and a pair of values it refuses together where one of them is a name a block holds
    one value of (``nesterov=True`` with ``momentum=0``).
    """
    _require_entries(grid)
    own = hyperparameter_names(optimizer)
    allowed = ", ".join([*own, SEED])
    known = _known_leaf_names() | {SEED}
    out = {}
    for name, values in grid.items():
        if not isinstance(name, str):
            raise ValueError(f"grid names must be strings such as 'lr', got {name!r}")
        if name != SEED and name not in own:
            leaf = name.rsplit(".", 1)[-1]
            if leaf not in known:
                raise ValueError(f"grid name {name!r} is not a hyperparameter of any samscape optimizer; "
                                 f"{optimizer.describe()} takes {allowed}")
            raise ValueError(f"grid name {name!r} is not a hyperparameter of {optimizer.describe()}, "
                             f"which takes {allowed}")
        out[name] = _grid_values(name, values, hyperparameter(optimizer, name) if name != SEED else None)
    spec = optimizer.to_dict() if spec is None else spec
    swept = [name for name in out if name != SEED]
    for name in swept:
        # each value alone, so that a bad one is named (the optimizer's own check says what is allowed)
        for value in out[name]:
            try:
                with_values(spec, {name: value})
            except ValueError as err:
                raise ValueError(f"grid[{name!r}] holds {value.item()!r}, which the optimizer refuses: "
                                 f"{err}") from None
    # A value of a name a block holds one of (a switch, a count) meets every value of the others alone in some block,
    # whatever its size: each such pair is checked too (nesterov=True refuses a block whose momentum is all 0).
    for once in (name for name in swept if not per_start(name, optimizer)):
        for other in (name for name in swept if name != once):
            for value, paired in itertools.product(out[once], out[other]):
                try:
                    with_values(spec, {once: value, other: paired})
                except ValueError as err:
                    raise ValueError(f"grid[{once!r}] holds {value.item()!r} and grid[{other!r}] "
                                     f"{paired.item()!r}, which the optimizer refuses together: {err}") from None
    return out


# Values of a swept name given as an iterable without a length (a generator): read at most this many, so that an
# endless one is refused instead of read forever. A list, a range or an array may be as long as memory allows.
MAX_UNSIZED_VALUES = 1_000_000


def _sequence(name: str, values):
    """``values`` as something with a length, without copying a range or an array (``range(10**10)`` is sized,
    and refused by the memory estimate, before anything of that length exists)."""
    if isinstance(values, (str, bytes, dict)) or (isinstance(values, np.ndarray) and values.ndim != 1):
        raise ValueError(f"grid[{name!r}] must be a 1-D sequence of numbers, got {_shown(values)}")
    if isinstance(values, (range, list, tuple, np.ndarray)):
        return values
    try:
        items = list(itertools.islice(iter(values), MAX_UNSIZED_VALUES + 1))
    except TypeError:
        raise ValueError(f"grid[{name!r}] must be a 1-D sequence of numbers, got {_shown(values)}") from None
    if len(items) > MAX_UNSIZED_VALUES:
        raise ValueError(f"grid[{name!r}] must be a list, a range or an array when it holds more than "
                         f"{MAX_UNSIZED_VALUES:,} values, got an iterable without a length")
    return items


def grid_sizes(grid) -> dict[str, int]:
    """The number of values of each swept name, read without building any array (a sweep sizes its memory and
    disk from these before it builds anything); the grid must be a non-empty dict with string names."""
    _require_entries(grid)
    sizes = {}
    for name, values in grid.items():
        if not isinstance(name, str):
            raise ValueError(f"grid names must be strings such as 'lr', got {name!r}")
        sizes[name] = len(_sequence(name, values))
    return sizes


def _grid_values(name: str, values, hyper: dynamics.Hyperparameter | None) -> np.ndarray:
    """The values of swept ``name`` as a 1-D array: reals for a real field (``hyper.type``), integers for a count or
    the seed, booleans for a switch (given as False/True or 0/1)."""
    values = _sequence(name, values)
    if not isinstance(values, range) and np.ndim(values) == 0:
        raise ValueError(f"grid[{name!r}] must be a 1-D sequence of numbers, got {_shown(values)}")
    items = list(values)
    if not items:
        raise ValueError(f"grid[{name!r}] must hold at least one value, got an empty sequence")
    switch = hyper is not None and hyper.type is bool
    for item in items:
        if switch and item in (0, 1):  # False and True too
            continue
        if switch or isinstance(item, (bool, np.bool_)) or not isinstance(item, (numbers.Real, np.integer,
                                                                                  np.floating)):
            allowed = "False and True (or 0 and 1)" if switch else "numbers"
            raise ValueError(f"grid[{name!r}] must hold {allowed} only, got {_shown(item)}")
        if not math.isfinite(float(item)):
            raise ValueError(f"grid[{name!r}] must hold finite numbers, got {item!r}")
    integral = hyper is None or hyper.type is not float
    if switch:
        arr = np.array([bool(item) for item in items], dtype=bool)
    elif integral:
        if any(float(item) != int(item) for item in items):
            bad = next(item for item in items if float(item) != int(item))
            raise ValueError(f"grid[{name!r}] must hold integers, got {bad!r}")
        if name == SEED and any(not 0 <= int(item) < 2**64 for item in items):
            bad = next(item for item in items if not 0 <= int(item) < 2**64)
            raise ValueError(f"grid['seed'] must hold integers in [0, 2**64), got {bad!r}")
        arr = np.array([int(item) for item in items], dtype=np.uint64 if name == SEED else np.int64)
    else:
        arr = np.array([float(item) for item in items], dtype=np.float64)
    if len(np.unique(arr)) != len(arr):
        raise ValueError(f"grid[{name!r}] must not repeat a value (a coordinate selects one cell), got {_shown(items)}")
    return arr


def resolve_optimizer(optimizer, grid: dict) -> Optimizer:
    """An optimizer instance: ``optimizer`` itself, or its class built from the first value of each swept field.

    Passing a class (``dynamics.SAM``) means every field it needs without a default must be swept.
    """
    _require_entries(grid)
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, type) and issubclass(optimizer, Optimizer) and optimizer.kind in OPTIMIZERS:
        if optimizer.composite():
            raise ValueError(f"optimizer must be a {optimizer.__name__} instance such as Switch(SGD(0.1, 1), "
                             f"SAM(0.1, 0.05), at=100) (its parts cannot be filled in from a grid), got the class "
                             f"{optimizer.__name__}")
        fields = dataclasses.fields(optimizer)
        required = [f.name for f in fields
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        missing = [name for name in required if name not in grid]
        if missing:
            raise ValueError(f"optimizer {optimizer.__name__} needs {', '.join(required)}: "
                             f"sweep {' and '.join(missing)} "
                             f"in grid or pass an instance such as {optimizer.__name__}(lr=0.1, rho=0.05)")
        first = {}
        for name in grid:
            if name in (f.name for f in fields):
                # the first value only: the list may be long
                values = _grid_values(name, _sequence(name, grid[name])[:1], hyperparameter(optimizer, name))
                first[name] = _typed(hyperparameter(optimizer, name), values[0])
        return optimizer(**first)
    raise ValueError(f"optimizer must be a samscape optimizer or optimizer class such as dynamics.SAM, "
                     f"got {_shown(optimizer)}")


def base_spec(optimizer, grid: dict) -> dict:
    """The spec (:meth:`~samscape.dynamics.Optimizer.to_dict`) every block's optimizer is built from by
    :func:`with_values`: :func:`resolve_optimizer`'s, except that a class given with a field whose default follows
    another (``None``: MultiStepSAM's ``alpha`` is its ``rho``), not swept, keeps that default, so it follows the swept
    values in every cell as it does in a direct call. An instance's fields stay as they are."""
    spec = resolve_optimizer(optimizer, grid).to_dict()
    if isinstance(optimizer, type):
        for name, hyper in dynamics.hyperparameters(optimizer).items():
            if hyper.default is None and not hyper.required and name not in grid:
                spec[name] = None
    return spec


def starts_digest(x0: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(x0, dtype=np.float64).tobytes()).hexdigest()


def make_recipe(landscape, optimizer: Optimizer | dict, grid: dict[str, np.ndarray], x0: np.ndarray, *,
                steps: int, every: int | None, seed: int, bound: float, dtype: str, backend: str) -> dict:
    """The JSON-friendly description that a store carries and that a rerun must match (``optimizer``: an instance
    or the spec of :func:`base_spec`)."""
    return {
        "samscape_sweep_format": FORMAT,
        "landscape": landscape.spec,
        "optimizer": optimizer.to_dict() if isinstance(optimizer, Optimizer) else optimizer,
        "grid": {name: values.tolist() for name, values in grid.items()},
        "n_starts": int(len(x0)),
        "starts_sha256": starts_digest(x0),
        "steps": int(steps),
        "every": None if every is None else int(every),
        "seed": "grid['seed']" if SEED in grid else int(seed),
        "seed_rule": "each block runs dynamics.simulate(seed=<its seed>, start_ids=<global start index>)",
        "bound": float(bound),
        "dtype": dtype,
        "backend": backend,
        "fates": "samscape.theory.classify_fates(run, backend=<the sweep's backend>) with its default tolerances",
        "sharpness": "lambda_max: largest eigenvalue of the Hessian of the full loss at the final iterate",
        "samscape_version": __version__,
    }


# fields that describe the software rather than the sweep: they may differ between a store and a rerun
INFORMATIONAL = ("samscape_version", "seed_rule", "fates", "sharpness")


def comparable(recipe: dict) -> dict:
    """The part of a recipe that decides the results; swept optimizer fields are the grid's, not the base's."""
    out = {k: v for k, v in recipe.items() if k not in INFORMATIONAL and not k.startswith("_")}
    if isinstance(recipe.get("optimizer"), dict) and isinstance(recipe.get("grid"), dict):
        swept = {name: "<swept>" for name in recipe["grid"] if name != SEED}
        out["optimizer"] = _mark_swept(recipe["optimizer"], swept)
    return json.loads(json.dumps(out, sort_keys=True))


def _mark_swept(data: dict, swept: dict) -> dict:
    data = dict(data)
    for path in swept:
        head, _, rest = path.partition(".")
        if rest and isinstance(data.get(head), dict):
            data[head] = _mark_swept(data[head], {rest: "<swept>"})
        elif not rest:
            data[head] = "<swept>"
    return data


def first_difference(old: dict, new: dict) -> str | None:
    """A short phrase naming the first field in which two recipes differ (None when they agree)."""
    a, b = comparable(old), comparable(new)
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            return f"{key} is {_shown(a.get(key))} there but {_shown(b.get(key))} here"
    return None


class NotAnExtension(ValueError):
    """A rerun's recipe differs from its store's in more than values appended to swept dims."""


def swept_names(recipe: dict) -> list[str]:
    """The swept names in the order of the store's dims (a stored recipe's JSON keeps its keys sorted, so
    :func:`samscape.sweep.engine.read_recipe` adds that order as ``_dims``)."""
    return list(recipe.get("_dims") or recipe["grid"])


def added_values(old: dict, new: dict) -> dict[str, list]:
    """The values that recipe ``new`` appends to the swept dims of ``old``: name -> values, in ``new``'s order
    (empty when both are the same sweep).

    ``new`` extends ``old`` when it sweeps the same names in the same order, agrees on everything else
    (landscape, optimizer, starts, steps, dtype, ...), and each of its value lists starts with ``old``'s, in that
    order. Anything else raises :class:`NotAnExtension` with a phrase naming the first difference.
    """
    names, new_names = swept_names(old), swept_names(new)
    if names != new_names:
        raise NotAnExtension(f"it sweeps {', '.join(names)} but this run sweeps {', '.join(new_names)}")
    # the grids aside, the recipes must agree (their swept optimizer fields are masked alike)
    placeholder = {name: None for name in names}
    difference = first_difference({**old, "grid": placeholder}, {**new, "grid": placeholder})
    if difference is not None:
        raise NotAnExtension(difference)
    added = {}
    for name in names:
        had, wanted = list(old["grid"][name]), list(new["grid"][name])
        if wanted == had:
            continue
        dropped = [value for value in had if value not in wanted]
        if dropped:
            raise NotAnExtension(f"grid[{name!r}] drops {_shown(dropped)}, which the store holds")
        if wanted[:len(had)] != had:
            raise NotAnExtension(f"grid[{name!r}] is {_shown(wanted)} here but must start with the store's "
                                 f"{_shown(had)}, in that order")
        added[name] = wanted[len(had):]
    return added


def block_shape(sizes: list[int], names: list[str], n_starts: int, steps: int, n_saved: int, dim: int,
                n_workers: int, points: int | None = None, *, optimizer, point_bytes: int | None = None
                ) -> tuple[int, ...]:
    """The chunk of each swept axis and of ``start`` that one task computes (and one zarr chunk holds).

    The rule: a block does ``W`` point-steps, ``W`` = total work / (:data:`BLOCKS_PER_WORKER` x workers), clipped to
    [:data:`MIN_BLOCK_WORK`, :data:`MAX_BLOCK_WORK`], and its memory fits :data:`MAX_BLOCK_BYTES` at ``point_bytes``
    a point (default: its kept iterates alone; :func:`samscape.sweep.budget.point_bytes` counts everything a block
    holds). The points ``W / steps`` fill the start axis first, then the axes of ``optimizer``'s per-start fields
    (:func:`per_start`: ``lr``, ``rho``, ``alpha``, ...) from the last one back; every other swept axis (seed,
    batch_size, steps_ascent, at) has chunk 1, since one simulate call takes one value of it.
    ``points`` replaces the rule's number of points per block (only its kept iterates are capped then: a block the
    workers cannot hold is refused by the sweep's memory check).
    """
    if points is None:
        total = math.prod(sizes) * n_starts * max(steps, 1)
        work = min(MAX_BLOCK_WORK, max(MIN_BLOCK_WORK, total // (BLOCKS_PER_WORKER * max(1, n_workers))))
        points = max(1, work // max(steps, 1))
        if point_bytes is not None:
            points = max(1, min(points, MAX_BLOCK_BYTES // max(1, point_bytes)))
    points = max(1, min(points, MAX_BLOCK_BYTES // max(1, n_saved * dim * 8 + 64)))
    start_chunk = min(n_starts, points)
    budget = max(1, points // start_chunk)
    chunks = [1] * len(sizes)
    for axis in reversed(range(len(sizes))):
        if per_start(names[axis], optimizer):
            chunks[axis] = min(sizes[axis], budget)
            budget = max(1, budget // chunks[axis])
    return (*chunks, start_chunk)


def n_saved(steps: int, every: int | None) -> int:
    """Iterates kept per point (0 without ``every``), counted without building the steps."""
    return dynamics.n_saved_steps(steps, every) if every is not None else 0


def seed_changes_nothing(landscape, optimizer, sizes: dict[str, int]) -> bool:
    """Whether the swept seeds all give the same runs: the seed only keys the draws (batches, random directions),
    and the optimizer, with every value the grid gives its batch sizes, draws none (the starts do not depend on a
    swept seed: ``random:N`` starts are drawn with the ``seed`` argument). ``sizes``: :func:`grid_sizes`."""
    if sizes.get(SEED, 0) < 2:
        return False
    batch_names = [name for name in sizes if name.rsplit(".", 1)[-1] == "batch_size"]
    if batch_names and landscape.n_samples > 1:
        return False
    return not optimizer.draws(landscape.n_samples)


# ---------------------------------------------------------------------------------------------- the sweep's plan
@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """A sweep as :func:`samscape.sweep.run` understands it once its arguments are checked, before anything is built:
    worked out once by :func:`plan_sweep` and handed to the rest of the run, which asks it (not the landscape or the
    optimizer) what the sweep needs.

    ``optimizer`` is an instance (a class given to ``run`` is filled in from the grid's first values) and ``spec`` what
    every block's optimizer is built from (:func:`base_spec`, the store's recipe records it); ``starts``
    is as given (a SPEC or points; :meth:`start_points` builds them); ``names`` and ``sizes`` are the swept names and
    their number of values, counted, not built; ``backend`` is the one asked for (``"auto"`` is resolved once the
    block size is known); ``label`` names the sweep (``SAM over lr, rho, seed``); ``seeds_change_nothing`` is
    :func:`seed_changes_nothing`.
    """

    landscape: object = dataclasses.field(repr=False)
    optimizer: Optimizer
    spec: dict
    starts: object = dataclasses.field(repr=False)
    names: tuple[str, ...]
    sizes: tuple[int, ...]
    n_starts: int
    steps: int
    every: int | None
    n_kept: int
    seed: int
    bound: float
    dtype: str
    backend: str
    label: str
    seeds_change_nothing: bool

    @property
    def dim(self) -> int:
        return self.landscape.dim

    def start_points(self) -> np.ndarray:
        """The starts as an array ``(n_starts, dim)`` (a ``random:N`` SPEC drawn with the sweep's seed)."""
        return _check_starts(self.starts, self.landscape, self.seed)

    def checked_grid(self, grid: dict) -> dict[str, np.ndarray]:
        """The swept values as arrays, each checked by the optimizer (:func:`check_grid`)."""
        return check_grid(grid, self.optimizer, spec=self.spec)

    def recipe(self, grid: dict[str, np.ndarray], x0: np.ndarray, backend: str) -> dict:
        """The store's recipe (:func:`make_recipe`) for the checked ``grid``, the starts ``x0`` and ``backend``."""
        return make_recipe(self.landscape, self.spec, grid, x0, steps=self.steps, every=self.every,
                           seed=self.seed, bound=self.bound, dtype=self.dtype, backend=backend)

    def point_bytes(self, backend: str) -> int:
        """Memory one point adds to a block on ``backend`` (:func:`samscape.sweep.budget.point_bytes`)."""
        return budget.point_bytes(self.landscape, self.optimizer, steps=self.steps, every=self.every,
                                  n_swept=len(self.names), dtype=self.dtype, backend=backend)

    def block_bytes(self, points: int, backend: str) -> dict[str, int]:
        """Memory one block of ``points`` needs on a worker (:func:`samscape.sweep.budget.block_bytes`)."""
        return budget.block_bytes(self.landscape, self.optimizer, points, steps=self.steps, every=self.every,
                                  n_swept=len(self.names), dtype=self.dtype, backend=backend)

    def auto_backend(self, grid: dict[str, np.ndarray], points: int) -> str:
        """What ``backend="auto"`` runs for blocks of ``points`` points: resolved once for a block of the grid's
        first values (per-start ``lr``/``rho`` as the blocks pass them), so that every block runs the same one."""
        probe = with_values(self.spec, {n: np.full(points, grid[n][0]) for n in self.names
                                        if per_start(n, self.optimizer)})
        return dynamics.resolve_backend("auto", self.landscape, probe, points, self.steps, self.dtype)


def plan_sweep(landscape, optimizer, *, starts, steps, grid, every, seed, bound, dtype, backend) -> SweepPlan:
    """Check the arguments of :func:`samscape.sweep.run` that describe the sweep (each refused in one sentence) and
    return its :class:`SweepPlan`. Nothing of the grid's or the starts' size is built here: they are counted, so that
    a sweep too large for memory is refused before it exists."""
    landscape = _check_landscape(landscape)
    sizes = grid_sizes(grid)  # counted, not built: range(10**10) is refused by the memory check, not listed
    steps = int_at_least(steps, "steps", 1)
    every = _check_every(every, steps)
    seed = int_at_least(seed, "seed", 0, maximum=2**64 - 1)
    bound = positive(bound, "bound")
    dtype = dynamics.check_dtype(dtype).name
    backend = choice(backend, "backend", dynamics.BACKEND_CHOICES)
    spec = base_spec(optimizer, grid)
    optimizer = resolve_optimizer(optimizer, grid)
    names = tuple(sizes)
    copies = seed_changes_nothing(landscape, optimizer, sizes)
    n_starts = _count_starts(starts, landscape)
    return SweepPlan(landscape=landscape, optimizer=optimizer, spec=spec, starts=starts, names=names,
                     sizes=tuple(sizes.values()), n_starts=n_starts, steps=steps, every=every,
                     n_kept=n_saved(steps, every), seed=seed, bound=float(bound), dtype=dtype, backend=backend,
                     # the class and the swept names: the optimizer's first grid values would mislabel the whole sweep
                     label=f"{type(optimizer).__name__} over {', '.join(names)}", seeds_change_nothing=copies)
