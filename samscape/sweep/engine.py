"""Run a sweep on Dask, one block per task, each writing its own region of an xarray/zarr store.

A block is one zarr chunk of every variable: a chunk of starts times a chunk of the axes of per-start fields
(``lr``, ``rho``, a variant's ``alpha``, ...: :func:`samscape.sweep.recipe.per_start`; one value of every other swept
name). Its task runs one :func:`samscape.dynamics.simulate` call with those fields as per-start arrays, ``seed=``
the block's seed and ``start_ids=`` the global start indices, so each point's path is the one a direct simulate call
of its combination gives, whatever the block size, worker or order. The task writes its chunks, then records
completion in a marker file written atomically; a block without a marker is (re)computed, one with a marker is never
written again.

A store is extended by a rerun that appends values to swept dims (:func:`run`): its arrays grow along those dims
and the new points are computed, generation by generation. The points a block gained in extension ``g`` are its
piece ``g``, with a marker of its own; so a block that straddles the old end of a per-start axis (the only
kind that holds old and new points) computes just its new points, merges them into its chunk (every zarr chunk
write is atomic) and keeps its old marker.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import itertools
import json
import logging
import math
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import dynamics, landscapes
from .._atomic import TEMP_PREFIX, atomic_output, check_writable
from .._checks import int_at_least
from ..dynamics import DEFAULT_BOUND, STATUS_NAMES, Progress
from ..theory import hessian_curvature
from . import budget
from . import recipe as recipes

RECIPE_ATTR = "samscape_sweep"
BLOCKS_ATTR = "samscape_block_shape"
# the sizes of the swept dims after creation and after each extension (absent: never extended)
GENERATIONS_ATTR = "samscape_sweep_generations"
MARKERS = os.path.join(".samscape", "done")  # generation 0; extension g has its markers in MARKERS-g
MARKERS_PER_FOLDER = 1000  # markers are sharded so that listing or cleaning one folder stays cheap
START, DIM, STEP = "start", "dim", "step"
NOT_RUN = -1  # the code of a status or fate that no block has written yet
SCHEDULERS = ("synchronous",)
LOOPBACK = "127.0.0.1"  # where a cluster started here listens (a cluster or an address the user passes is theirs)


def _fates() -> tuple[str, ...]:
    from ..theory import FATES  # theory (SymPy, SciPy) loads only when fates are needed

    return FATES


# ---------------------------------------------------------------------------------------------- input
def _check_store(store) -> str:
    if not isinstance(store, (str, os.PathLike)) or not os.fspath(store):
        raise ValueError(f"store must be a path such as 'tanh_sam.zarr', got {store!r}")
    return os.path.abspath(os.fspath(store))


# ---------------------------------------------------------------------------------------------- the plan
def _block_count(sizes, chunks) -> list[int]:
    return [math.ceil(n / c) for n, c in zip(sizes, chunks)]


def _all_blocks(sizes, chunks):
    return itertools.product(*(range(n) for n in _block_count(sizes, chunks)))


def _marker_root(generation: int) -> str:
    return MARKERS if generation == 0 else f"{MARKERS}-{generation}"


def _marker(plan: dict, index: tuple[int, ...], generation: int) -> str:
    """Where piece ``generation`` of block ``index`` records its completion; sharded by the block grid of that
    generation, which never changes, so the path of a marker stays the same however the store grows."""
    counts = _block_count(plan["generations"][generation] + [plan["n_starts"]], plan["chunks"] + [plan["chunk_starts"]])
    flat = int(np.ravel_multi_index(index, counts))
    return os.path.join(plan["store"], _marker_root(generation), str(flat // MARKERS_PER_FOLDER),
                        "-".join(map(str, index)) + ".json")


def done_blocks(store: str) -> dict[tuple[tuple[int, ...], int], dict]:
    """The finished pieces, ``(block index, generation)`` -> what their marker records (generation 0 is all of
    a block of a store never extended; see the module docstring)."""
    root = os.path.dirname(os.path.join(store, MARKERS))
    out = {}
    if not os.path.isdir(root):
        return out
    base = os.path.basename(MARKERS)
    for generation_folder in os.scandir(root):
        name = generation_folder.name
        if name == base:
            generation = 0
        elif name.startswith(base + "-") and name[len(base) + 1:].isdigit():
            generation = int(name[len(base) + 1:])
        else:
            continue
        for folder in os.scandir(generation_folder.path):
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder.path):
                if entry.name.startswith(TEMP_PREFIX) or not entry.name.endswith(".json"):
                    continue
                index = tuple(int(i) for i in entry.name[:-5].split("-"))
                try:
                    with open(entry.path, encoding="utf-8") as handle:
                        out[index, generation] = json.load(handle)
                except (OSError, ValueError):
                    continue  # unreadable: not a completed piece (an atomic write never leaves one half-written)
    return out


def _first_generation(generations: list[list[int]], axis: int, coords: np.ndarray) -> np.ndarray:
    """The generation in which each index ``coords`` of swept ``axis`` came into the store."""
    return np.searchsorted([sizes[axis] for sizes in generations], coords, side="right")


def _axis_ranges(plan: dict, index) -> list[range]:
    return [range(i * c, min((i + 1) * c, n)) for i, c, n in zip(index, plan["chunks"], plan["sizes"])]


def pieces_of_block(plan: dict, index: tuple[int, ...]) -> list[int]:
    """The generations that own points of block ``index``: a point came in with the last of its coordinates."""
    generations = plan["generations"]
    if len(generations) == 1:
        return [0]
    per_axis = [np.unique(_first_generation(generations, axis, np.asarray(r)))
                for axis, r in enumerate(_axis_ranges(plan, index[:-1]))]
    floor = max(int(g[0]) for g in per_axis)  # every point is at least as new as its newest coordinate
    return sorted({int(g) for gens in per_axis for g in gens if g >= floor} | {floor})


def point_generations(plan: dict, index: tuple[int, ...]) -> np.ndarray:
    """The generation of each point of block ``index``, in the C order of :func:`points_of_block`."""
    ranges = _axis_ranges(plan, index[:-1])
    n_starts = len(range(index[-1] * plan["chunk_starts"], min((index[-1] + 1) * plan["chunk_starts"],
                                                                 plan["n_starts"])))
    out = np.zeros([len(r) for r in ranges] + [n_starts], dtype=np.int64)
    for axis, r in enumerate(ranges):
        shape = [1] * out.ndim
        shape[axis] = len(r)
        out = np.maximum(out, _first_generation(plan["generations"], axis, np.asarray(r)).reshape(shape))
    return out.ravel()


# ---------------------------------------------------------------------------------------------- one block
@functools.lru_cache(maxsize=8)
def _landscape(spec_json: str):
    return landscapes.from_spec(json.loads(spec_json))


def lambda_max(landscape, x: np.ndarray) -> np.ndarray:
    """Largest Hessian eigenvalue of the full loss at each point of ``x`` ``(n, dim)``; NaN where the Hessian is
    not finite (see :func:`samscape.theory.hessian_curvature`)."""
    return hessian_curvature(landscape, x)["lambda_max"]


def points_of_block(plan: dict, index: tuple[int, ...]):
    """The slices of block ``index`` and, per point in C order over the block's shape, its swept values and start."""
    names, sizes, chunks = plan["names"], plan["sizes"], plan["chunks"]
    slices = [slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(index, chunks + [plan["chunk_starts"]],
                                                                    sizes + [plan["n_starts"]])]
    axes = [np.asarray(plan["grid"][name])[s] for name, s in zip(names, slices)]
    starts = np.arange(slices[-1].start, slices[-1].stop, dtype=np.int64)
    mesh = np.meshgrid(*axes, starts, indexing="ij")
    shape = mesh[-1].shape
    values = {name: m.ravel() for name, m in zip(names, mesh)}
    return slices, shape, values, mesh[-1].ravel()


def simulate_block(plan: dict, index: tuple[int, ...], x0_all=None, mask=None):
    """Simulate block ``index`` (only its points where ``mask``, a boolean over them, is true): returns
    ``(slices, shape, run)``. ``x0_all`` defaults to the store's starts."""
    import zarr

    landscape = _landscape(json.dumps(plan["landscape"], sort_keys=True))
    base = dynamics.optimizer_from_dict(plan["optimizer"])  # what each swept name is; the values go into the spec
    slices, shape, values, start_ids = points_of_block(plan, index)
    if mask is not None:
        values = {name: v[mask] for name, v in values.items()}
        start_ids = start_ids[mask]
    if x0_all is None:
        x0_all = zarr.open_group(plan["store"], mode="r")["x0"][slices[-1]]
        x0 = np.asarray(x0_all)[start_ids - slices[-1].start]
    else:
        x0 = np.asarray(x0_all)[start_ids]
    changes, seed = {}, plan["seed"]
    for name, vals in values.items():
        if name == recipes.SEED:
            seed = int(vals[0])
        elif recipes.per_start(name, base):
            changes[name] = vals
        else:
            changes[name] = vals[0]
    optimizer = recipes.with_values(plan["optimizer"], changes)
    every = plan["every"] if plan["every"] is not None else max(plan["steps"], 1)
    run = dynamics.simulate(landscape, optimizer, x0, plan["steps"], every=every, seed=seed, bound=plan["bound"],
                            start_ids=start_ids, backend=plan["backend"], dtype=plan["dtype"], progress=False)
    return slices, shape, run


def _codes(names, values) -> np.ndarray:
    """The index of each of ``values`` in ``names``, as int8."""
    order = np.argsort(names)
    return order[np.searchsorted(np.asarray(names)[order], values)].astype(np.int8)


def block_results(run, backend: str) -> dict[str, np.ndarray]:
    """The per-point results of a block's run: what the store holds (fates and sharpness computed here)."""
    from ..theory import FATES, classify_fates  # theory (SymPy, SciPy) loads in the workers only

    fate = classify_fates(run, backend=backend)
    return {
        "x": run.x,
        "loss": run.loss[-1],
        "status": _codes(STATUS_NAMES, run.status),
        "stopped_at": run.stopped_at,
        "fate": _codes(FATES, fate),
        "lambda_max": lambda_max(run.landscape, run.x),
    }


def compute_block(plan: dict, index: tuple[int, ...], copies=()) -> list[dict]:
    """The task: simulate the unfinished pieces of block ``index``, write them into its region of the store,
    then one completion marker per piece; returns the markers' records.

    ``copies``: blocks that differ from ``index`` in the seed only, when the seed changes nothing (the optimizer
    draws no random numbers, :func:`recipe.seed_changes_nothing`): their points are simulated once, together, and the
    results written into each block, bit for bit what separate simulations would write.
    """
    import zarr

    work = []  # (block, its unfinished pieces' marker paths, which of its points belong to them)
    for target in (tuple(index), *(tuple(c) for c in copies)):
        paths = {g: _marker(plan, target, g) for g in pieces_of_block(plan, target)}
        # a finished piece is never computed or written again, even when the scheduler reruns its task (its result
        # was held by a worker that died, or an earlier client's task finished meanwhile)
        missing = {g: path for g, path in paths.items() if not os.path.exists(path)}
        if missing:
            generation = point_generations(plan, target)
            work.append((target, missing, generation, np.isin(generation, list(missing))))
    if not work:
        return []
    started = time.perf_counter()
    union = np.logical_or.reduce([mask for *_, mask in work])
    _, shape, run = simulate_block(plan, work[0][0], mask=None if union.all() else union)
    results = block_results(run, plan["backend"])
    if plan["every"] is not None:
        results["xs"] = np.moveaxis(run.xs, 0, 1)  # (points, saved, dim)
    group = zarr.open_group(plan["store"], mode="r+")
    records = []
    for target, missing, generation, mask in work:
        region = tuple(points_of_block(plan, target)[0])
        rows = mask[union]  # this block's points among the simulated ones
        for name, values in results.items():
            tail = values.shape[1:]
            if mask.all():
                block = values[rows].reshape(shape + tail)
            else:
                # the finished pieces' points are read back and written unchanged: a chunk is written whole
                block = np.asarray(group[name][region])
                block.reshape((-1,) + tail)[mask] = values[rows]
            group[name][region] = block
        # what was written, as it lies on disk: a rerun or sweep.open compares the chunks with it
        chunks = {name: _file_checksum(path) for name, path in _chunk_files(plan["store"], group, target, results).items()}
        seconds = time.perf_counter() - started
        for g, path in missing.items():
            record = {"block": list(target), "generation": int(g), "token": uuid.uuid4().hex, "seconds": seconds,
                      "points": int(np.count_nonzero(generation == g)), "host": os.uname().nodename,
                      "pid": os.getpid(), "simulated": int(union.sum()) if not records else 0, "chunks": chunks}
            with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
                json.dump(record, handle)
                handle.flush()
                os.fsync(handle.fileno())
            records.append(record)
    return records


# ---------------------------------------------------------------------------------------------- damage
# A block's marker records the size and CRC-32 of each chunk the block wrote (``None``: zarr wrote no file, the
# chunk being all fill). A chunk deleted or changed afterwards no longer matches: the block is damaged, never read
# as data, and a rerun recomputes it (and only it).
VERIFY_THREADS = 8  # chunks are read and summed side by side (both release the GIL)


def _file_checksum(path: str) -> list[int] | None:
    """``[size, crc32]`` of the file at ``path``, or ``None`` when there is none."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    return [len(data), zlib.crc32(data)]


def _chunk_files(store: str, group, index: tuple[int, ...], names) -> dict[str, str]:
    """The file holding block ``index``'s chunk of each variable in ``names`` (a block is one chunk of each)."""
    out = {}
    for name in names:
        array = group[name]
        coords = tuple(index) + (0,) * (array.ndim - len(index))
        out[name] = os.path.join(store, name, *array.metadata.encode_chunk_key(coords).split("/"))
    return out


def _block_label(names: list[str], sizes: list[int], block: list[int], index: tuple[int, ...]) -> str:
    """``lr[0:2] rho[2:4] seed[1] start[0:16]``: the points of block ``index`` along each dim."""
    parts = []
    for name, size, chunk, i in zip([*names, START], sizes, block, index):
        lo, hi = i * chunk, min((i + 1) * chunk, size)
        parts.append(f"{name}[{lo}]" if hi - lo == 1 else f"{name}[{lo}:{hi}]")
    return " ".join(parts)


def damaged_blocks(store: str, pieces: dict) -> dict[tuple[int, ...], str]:
    """The finished blocks whose chunks no longer match what their last write recorded: index -> what is wrong.

    ``pieces`` is :func:`done_blocks`; a block is checked against the marker of its newest piece (the write that
    left its chunks as they are). Markers written before checksums were recorded are taken on trust.
    """
    import zarr

    latest: dict[tuple[int, ...], tuple[int, dict]] = {}
    for (index, generation), record in pieces.items():
        if isinstance(record.get("chunks"), dict) and (index not in latest or generation > latest[index][0]):
            latest[index] = (generation, record["chunks"])
    if not latest:
        return {}
    group = zarr.open_group(store, mode="r")

    def check(index):
        expected = latest[index][1]
        try:
            files = _chunk_files(store, group, index, expected)
        except KeyError as err:
            return index, f"its variable {err.args[0]!r} is gone"
        for name, path in files.items():
            found = _file_checksum(path)
            if found != expected[name]:
                return index, (f"its chunk of {name} is missing" if found is None else
                               f"its chunk of {name} differs from what was written")
        return index, None

    with ThreadPoolExecutor(VERIFY_THREADS) as pool:
        return {index: why for index, why in pool.map(check, sorted(latest)) if why}


def _damage_sentence(store: str, recipe: dict, damaged: dict) -> str:
    """``store 'x.zarr' has 2 damaged blocks (lr[0:2] ...: its chunk of x is missing; ...)``."""
    shown = [f"{_block_label(recipe['_dims'], [*recipe['_sizes'], recipe['n_starts']], recipe['_block_shape'], i)}: "
             f"{why}" for i, why in sorted(damaged.items())[:5]]
    more = f"; and {len(damaged) - 5} more" if len(damaged) > 5 else ""
    count = f"{len(damaged)} damaged block{'s' if len(damaged) > 1 else ''}"
    return f"store {store!r} has {count} ({'; '.join(shown)}{more})"


def _coordinates_problem(ds, recipe: dict) -> str | None:
    """Which coordinate of the opened store no longer holds what its recipe says (the swept values, the starts)."""
    for name in recipe["_dims"]:
        stored = np.asarray(ds[name].values)
        wanted = np.asarray(recipe["grid"][name], dtype=stored.dtype)
        if stored.shape != wanted.shape or not np.array_equal(stored, wanted):
            return f"its coordinate {name!r} no longer holds the values of its recipe"
    if recipes.starts_digest(np.asarray(ds["x0"].values)) != recipe["starts_sha256"]:
        return "its coordinate 'x0' no longer holds the starts of its recipe"
    return None


def _seed_groups(todo: list, names: list[str], copy_seeds: bool) -> list[list[tuple[int, ...]]]:
    """The tasks: one per block, or, when the seeds change nothing, one per set of blocks that differ in the seed
    only (its first block is simulated, the others are copies)."""
    if not copy_seeds:
        return [[b] for b in todo]
    axis = names.index(recipes.SEED)
    groups: dict = {}
    for b in todo:
        groups.setdefault(b[:axis] + b[axis + 1:], []).append(b)
    return list(groups.values())


def _block_point_count(plan: dict, index: tuple[int, ...]) -> int:
    """Points (combinations x starts) of block ``index``: a chunk, smaller at the far end of an axis."""
    sizes = plan["sizes"] + [plan["n_starts"]]
    chunks = plan["chunks"] + [plan["chunk_starts"]]
    return math.prod(min((i + 1) * c, n) - i * c for i, c, n in zip(index, chunks, sizes))


class SweepProgress(Progress):
    """The sweep's bar, whose time left comes from the throughput measured on the tasks done so far.

    The plain bar assumes that the time so far was spent on the blocks done so far. A sweep's first blocks finish
    only after the workers started and loaded the kernel, and several run side by side, so that guess was off by
    a factor of several (201 s announced for a 49 s sweep). Here each finished task reports the point-steps it
    simulated and the seconds it took on its worker; the time left is the work left divided by that per-worker
    rate times the workers that can share it.
    """

    def __init__(self, total: int, label: str, *, work: float, workers: int, enabled=None, stream=None):
        super().__init__(total, label, enabled=enabled, stream=stream)
        self.work_left = float(work)
        self.workers = max(1, int(workers))
        self.tasks_left = 0
        self._measured_work = 0.0
        self._measured_seconds = 0.0

    def finished_task(self, records: list[dict], work: float, steps: int) -> None:
        """Account for a finished task: ``work`` point-steps it stood for; its records say what it simulated
        and how long that took."""
        self.work_left = max(0.0, self.work_left - work)
        self.tasks_left = max(0, self.tasks_left - 1)
        simulated = sum(r.get("simulated", r.get("points", 0)) for r in records) * steps
        seconds = max((r.get("seconds", 0.0) for r in records), default=0.0)
        if simulated > 0 and seconds > 0:
            self._measured_work += simulated
            self._measured_seconds += seconds

    def seconds_left(self, frac: float, elapsed: float) -> float:
        if self._measured_seconds <= 0:
            return float("nan")  # nothing measured yet
        rate = self._measured_work / self._measured_seconds  # point-steps per second on one worker
        return self.work_left / (rate * min(self.workers, max(1, self.tasks_left)))


# ---------------------------------------------------------------------------------------------- the store
def read_recipe(store: str) -> dict:
    """The recipe a sweep store carries; one sentence naming ``store`` when it is not a sweep store."""
    import zarr

    try:
        group = zarr.open_group(store, mode="r")
        attrs = dict(group.attrs)
        recipe = json.loads(attrs[RECIPE_ATTR])
        fate = group["fate"]
        dims = list(fate.attrs["_ARRAY_DIMENSIONS"])
    except Exception:  # noqa: BLE001 -- whatever is there, it is not a store this module wrote
        raise ValueError(f"store {store!r} exists but is not a samscape sweep store; give a new path") from None
    recipe["_block_shape"] = attrs.get(BLOCKS_ATTR)
    recipe["_dims"] = [d for d in dims if d != START]  # the JSON sorted the grid's keys; the dims keep its order
    recipe["_generations"] = attrs.get(GENERATIONS_ATTR) or [[len(recipe["grid"][d]) for d in recipe["_dims"]]]
    recipe["_sizes"] = [int(n) for d, n in zip(dims, fate.shape) if d != START]  # as readers see the arrays
    return recipe


def public_recipe(recipe: dict) -> dict:
    """The recipe as the store's attrs hold it (without what :func:`read_recipe` adds)."""
    return {k: v for k, v in recipe.items() if not k.startswith("_")}


def extend_store(store: str, recipe: dict, grid: dict) -> dict:
    """Make the store of ``recipe`` the sweep of ``grid`` (each dim's old values, then new ones); returns the
    recipe as :func:`read_recipe` would now read it.

    The recipe and the sizes of every generation are written first, in one atomic write of the attrs: that is the
    commit, from which on the store is the extended sweep. Then :func:`grow_arrays` resizes the arrays; if that
    is interrupted, the next :func:`run` finds them behind the recipe and finishes it.
    """
    import zarr

    names = recipes.swept_names(recipe)
    generations = [*recipe["_generations"], [len(grid[name]) for name in names]]
    extended = {**public_recipe(recipe), "grid": {name: list(grid[name]) for name in names}}
    group = zarr.open_group(store, mode="r+", use_consolidated=False)
    group.attrs.update({RECIPE_ATTR: json.dumps(extended, sort_keys=True), GENERATIONS_ATTR: generations})
    grown = {**extended, "_block_shape": recipe["_block_shape"], "_dims": names, "_generations": generations,
             "_sizes": recipe["_sizes"]}
    grow_arrays(store, grown)
    return {**grown, "_sizes": generations[-1]}


def grow_arrays(store: str, recipe: dict) -> None:
    """Resize every array along the swept dims to ``recipe``'s grid and write the new coordinates (only the
    indices past the previous generation), then the consolidated metadata, through which every reader
    (``open``, ``xarray.open_zarr``, the blocks) sees the arrays. Repeating it is harmless."""
    import warnings

    import zarr

    names = recipes.swept_names(recipe)
    sizes = {name: len(recipe["grid"][name]) for name in names}
    previous = dict(zip(names, recipe["_generations"][-2]))
    with warnings.catch_warnings():
        # our markers' folder is not a zarr node: zarr warns about it when listing the hierarchy
        warnings.filterwarnings("ignore", message=".*not recognized as a component of a Zarr hierarchy")
        group = zarr.open_group(store, mode="r+", use_consolidated=False)
        for key in group.array_keys():
            array = group[key]
            dims = array.attrs["_ARRAY_DIMENSIONS"]
            shape = tuple(sizes.get(d, n) for d, n in zip(dims, array.shape))
            if shape != array.shape:
                array.resize(shape)
        for name in names:
            if sizes[name] > previous[name]:
                coordinate = group[name]
                coordinate[previous[name]:] = np.asarray(recipe["grid"][name][previous[name]:],
                                                         dtype=coordinate.dtype)
        zarr.consolidate_metadata(store, zarr_format=2)


def _arrays_behind(recipe: dict) -> bool:
    """Whether the arrays, as readers see them, are smaller than the recipe's grid (an extension was committed
    but stopped before :func:`grow_arrays` finished)."""
    return len(recipe["_generations"]) > 1 and recipe["_sizes"] != recipe["_generations"][-1]


def _flag_attrs(names) -> dict:
    return {"flag_values": list(range(len(names))), "flag_meanings": " ".join(names),
            "not_run_value": NOT_RUN}


def stored_variables(dtype: str, dim: int, n_kept: int) -> dict[str, tuple[tuple[str, ...], tuple[int, ...], str, object, dict]]:
    """The variables of a store, one value per point: name -> (trailing dims, trailing shape, dtype, fill, attrs).
    ``n_kept``: iterates kept per point (``xs``; 0 without ``every``). The store and its disk estimate read it."""
    out = {
        "x": ((DIM,), (dim,), dtype, np.nan, {"long_name": "final iterate"}),
        "loss": ((), (), dtype, np.nan, {"long_name": "full loss at the final iterate"}),
        "status": ((), (), "int8", NOT_RUN, {"long_name": "dynamics.simulate status", **_flag_attrs(STATUS_NAMES)}),
        "stopped_at": ((), (), "int64", NOT_RUN,
                       {"long_name": "step at which a start was frozen, -1 if it ran to the end"}),
        "fate": ((), (), "int8", NOT_RUN, {"long_name": "theory.classify_fates", **_flag_attrs(_fates())}),
        "lambda_max": ((), (), "float64", np.nan, {"long_name": "largest Hessian eigenvalue at the final iterate"}),
    }
    if n_kept:
        out["xs"] = ((STEP, DIM), (n_kept, dim), dtype, np.nan, {"long_name": "iterates at the kept steps"})
    return out


def bytes_per_point(dtype: str, dim: int, n_kept: int) -> dict[str, int]:
    """Bytes each point takes in a store, uncompressed, by variable."""
    return {name: int(np.prod(shape, dtype=np.int64)) * np.dtype(kind).itemsize
            for name, (_, shape, kind, _, _) in stored_variables(dtype, dim, n_kept).items()}


class StoreExists(OSError):
    """Another sweep created the store first (both started on the same new path)."""


def create_store(store: str, recipe: dict, grid: dict, x0: np.ndarray, block: tuple[int, ...], dim: int,
                 optimizer_label: str, landscape_label: str) -> None:
    """Write an empty sweep store (metadata, coordinates, fill values) to ``store`` in one step: it is built
    beside ``store`` and renamed into place, so a killed creation leaves no half store. Raises
    :class:`StoreExists` when another sweep created ``store`` meanwhile (nothing of theirs is touched), and any
    other ``OSError`` naming ``store``, never the hidden folder it was built in."""
    import dask.array as da
    import xarray as xr

    names = list(grid)
    sizes = [len(v) for v in grid.values()]
    n_starts = len(x0)
    base_dims = (*names, START)
    base_shape = (*sizes, n_starts)
    steps = dynamics.saved_step_grid(recipe["steps"], recipe["every"]) if recipe["every"] is not None else []
    data = {}
    for name, (tail_dims, tail, dtype, fill, attrs) in stored_variables(recipe["dtype"], dim, len(steps)).items():
        shape = (*base_shape, *tail)
        data[name] = ((*base_dims, *tail_dims), da.full(shape, fill, dtype=dtype, chunks=tuple(block) + tail), attrs)
    coords = {name: (name, values) for name, values in grid.items()}
    coords[START] = (START, np.arange(n_starts, dtype=np.int64))
    coords["x0"] = ((START, DIM), x0.astype(np.float64))
    if recipe["every"] is not None:
        coords[STEP] = (STEP, steps)
    ds = xr.Dataset({k: xr.Variable(d, v, attrs=a) for k, (d, v, a) in data.items()}, coords=coords)
    ds.attrs.update({
        RECIPE_ATTR: json.dumps(recipe, sort_keys=True),
        BLOCKS_ATTR: list(block),
        "title": f"samscape sweep: {optimizer_label} on {landscape_label}",
        "landscape": landscape_label,
        "optimizer": optimizer_label,
        "steps": recipe["steps"],
        "samscape_version": recipe["samscape_version"],
    })
    encoding = {name: {"_FillValue": None} for name in ("status", "fate", "stopped_at")}
    parent = os.path.dirname(store)
    tmp = None
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=".zarr", dir=parent)
        ds.to_zarr(tmp, mode="w", compute=False, zarr_format=2, consolidated=True, encoding=encoding)
        os.makedirs(os.path.join(tmp, MARKERS))
        try:
            os.rename(tmp, store)  # fails if someone created ``store`` meanwhile: nothing of theirs is touched
        except OSError:
            if os.path.exists(store):
                raise StoreExists(errno.EEXIST, "another sweep created it meanwhile", store) from None
            raise
    except BaseException as err:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError) and not isinstance(err, StoreExists):
            raise OSError(err.errno, err.strerror or str(err), store) from None
        raise


def open_sweep(store, *, verify: bool = True):
    """The sweep in ``store`` as a lazy ``xarray.Dataset`` (``xarray.open_zarr`` reads it too).

    Its attrs hold the recipe (``samscape_sweep``, JSON: landscape spec, optimizer, grid, steps, seed rule,
    samscape version); ``status`` and ``fate`` are int8 codes named by their ``flag_meanings`` attribute
    (-1 where no block has run yet; :func:`fractions` turns them into fractions per fate). An extended store
    also lists the swept dims' sizes at creation and after each extension (``samscape_sweep_generations``).

    ``verify`` (the default) reads every finished block's chunks once and compares them with the checksums its
    completion marker recorded, and the coordinates with the recipe: a damaged store is refused in one sentence
    naming the damaged blocks (a rerun of the sweep recomputes exactly those). ``verify=False`` skips that read.
    """
    import xarray as xr

    path = _check_store(store)
    if not os.path.exists(path):
        raise ValueError(f"store {os.fspath(store)!r} does not exist")
    recipe = read_recipe(path)
    if _arrays_behind(recipe):
        raise ValueError(f"store {os.fspath(store)!r} stopped while being extended; rerun sweep.run with its "
                         "recipe to finish the extension, then open it")
    pieces = done_blocks(path)
    if verify:
        damaged = damaged_blocks(path, pieces)
        if damaged:
            raise ValueError(f"{_damage_sentence(os.fspath(store), recipe, damaged)}: its chunks no longer match "
                             "the checksums recorded when they were written, so it is not read; rerun the sweep "
                             "with the same arguments to recompute exactly those blocks")
    ds = xr.open_zarr(path, consolidated=True)
    if verify:
        problem = _coordinates_problem(ds, recipe)
        if problem:
            raise ValueError(f"store {os.fspath(store)!r} is damaged: {problem}; it cannot be repaired in place, "
                             "so run the sweep again into a new store")
    return _mark_unfinished(ds, recipe, pieces)


def _mark_unfinished(ds, recipe: dict, pieces: dict):
    """``ds`` with the codes of every point whose block (or piece of it) has no completion marker set to
    :data:`NOT_RUN`: what zarr returns for a chunk never written is not a result (0 reads as ``ok``)."""
    import dask.array as da
    import xarray as xr

    block = recipe["_block_shape"]
    plan = {"names": recipe["_dims"], "sizes": recipe["_sizes"], "chunks": list(block[:-1]),
            "chunk_starts": int(block[-1]), "n_starts": recipe["n_starts"], "generations": recipe["_generations"]}
    sizes = [*recipe["_sizes"], recipe["n_starts"]]
    counts = _block_count(sizes, block)
    if all((b, g) in pieces for b in _all_blocks(sizes, block) for g in pieces_of_block(plan, b)):
        return ds

    def finished(chunk, block_info=None):
        index = tuple(block_info[0]["chunk-location"])
        wanted = pieces_of_block(plan, index)
        done = [g for g in wanted if (index, g) in pieces]
        if len(done) == len(wanted):
            return np.ones(chunk.shape, dtype=bool)
        return np.isin(point_generations(plan, index), done).reshape(chunk.shape)

    chunks = tuple(tuple(min(c, n - i * c) for i in range(k)) for c, n, k in zip(block, sizes, counts))
    mask = da.zeros(sizes, dtype=bool, chunks=chunks).map_blocks(finished, dtype=bool)
    mask = xr.DataArray(mask, dims=ds["fate"].dims)
    out = ds.copy()
    for name in ("status", "fate", "stopped_at"):
        out[name] = ds[name].where(mask, np.asarray(NOT_RUN, dtype=ds[name].dtype))
        out[name].attrs = ds[name].attrs
    return out


def fractions(ds, over=(START, recipes.SEED)):
    """Fraction of points in each fate, averaged over the dims ``over`` that ``ds`` has: a DataArray with a
    new leading dim ``fate`` (the names of :data:`samscape.theory.FATES`). Cells with unfinished blocks are NaN."""
    import xarray as xr

    names = ds["fate"].attrs.get("flag_meanings", " ".join(_fates())).split()
    codes = ds["fate"]
    dims = [d for d in over if d in codes.dims]
    finished = (codes != NOT_RUN).all(dim=dims)
    parts = [(codes == k).mean(dim=dims).where(finished) for k in range(len(names))]
    out = xr.concat(parts, dim="fate").assign_coords(fate=names)
    out.name = "fraction"
    out.attrs["long_name"] = f"fraction of points in each fate (over {', '.join(dims)})"
    return out


# ---------------------------------------------------------------------------------------------- run
def run(landscape, optimizer, *, starts, steps: int, grid: dict, store, client=None, every: int | None = None,
        seed: int = 0, bound: float = DEFAULT_BOUND, dtype: str = "float64", backend: str = "auto",
        n_workers: int | None = None, block_points: int | None = None, progress: bool | None = None, stream=None,
        reuse_seeds: bool = True):
    """Run ``optimizer`` on ``landscape`` over every combination of ``grid`` from every start; store and return it.

    Parameters
    ----------
    landscape : Landscape
        Rebuilt on the workers from ``landscape.spec`` (a catalog landscape, or ``from_expr`` of text).
    optimizer : Optimizer or optimizer class
        An instance (swept fields replace its values) or a class such as ``dynamics.SAM`` (every field it needs
        must be swept).
    starts : str or array (n_starts, dim)
        A starts SPEC (``grid:-3:3:-1:1:64x64``, ``point:...``, ``random:N`` seeded by ``seed``) or the points.
    steps : int >= 1
    grid : dict name -> 1-D sequence
        Swept names: any hyperparameter of the optimizer (``lr``, ``rho``, ``batch_size``, a variant's ``alpha``,
        ``eta_a``, ``steps_ascent``..., a Switch's ``at``, its parts' ``first.lr``...) and ``seed``. Each becomes a dim
        of the result, in this order, then ``start``. A field that a class given here defaults to another
        (MultiStepSAM's ``alpha`` to ``rho``) follows the swept values in every cell, as in a direct call.
    store : path
        The zarr store. A new path is created; an existing store of the same recipe is resumed (finished blocks
        are kept, the rest computed). An existing store is extended when this recipe equals its recipe except
        that swept dims have values appended: each of this grid's lists must start with the store's values, in
        their order, and may go on with new ones; the result is the sweep of this grid (coordinates in the given
        order), its old points read from the store, never recomputed or rewritten. Anything else (another
        landscape, optimizer, starts, steps, dtype, a dropped, reordered or inserted value) is refused with one
        sentence naming the difference.
    client : None, distributed.Client, scheduler address or ``"synchronous"``
        ``None`` starts a LocalCluster of worker processes sized to this machine (``n_workers`` to choose);
        ``"synchronous"`` runs every block in this process (for debugging).
    every : int, optional
        Also keep the iterates every ``every`` steps (variable ``xs``, dim ``step``).
    seed : int
        The draws' seed when ``seed`` is not swept (and the seed of ``random:N`` starts).
    bound, dtype, backend
        As in :func:`samscape.dynamics.simulate`; ``backend="auto"`` is resolved once for the block size and
        recorded, so every block runs the same backend.
    block_points : int, optional
        Points (combinations x starts) per block of a new store, instead of the rule of
        :func:`samscape.sweep.recipe.block_shape`; the results do not depend on it.
    reuse_seeds : bool
        When the optimizer draws no random numbers (:func:`recipe.seed_changes_nothing`) every swept seed gives the same
        runs: simulate each block once and write it for every seed (the default), or, with False, simulate each
        seed anyway (to time the work, as ``benchmarks/bench_sweep.py`` does). The results are the same.

    Returns
    -------
    xarray.Dataset
        Lazy, from :func:`open`: ``x``, ``loss``, ``status``, ``stopped_at``, ``fate``, ``lambda_max`` (and ``xs``).
    """
    stream = sys.stderr if stream is None else stream
    sweep = recipes.plan_sweep(landscape, optimizer, starts=starts, steps=steps, grid=grid, every=every, seed=seed,
                               bound=bound, dtype=dtype, backend=backend)
    backend = requested_backend = sweep.backend
    steps, every, dtype, n_starts, n_kept, dim = (sweep.steps, sweep.every, sweep.dtype, sweep.n_starts, sweep.n_kept,
                                                  sweep.dim)
    path = _check_store(store)
    if n_workers is not None:
        n_workers = int_at_least(n_workers, "n_workers", 1)
    if block_points is not None:
        block_points = int_at_least(block_points, "block_points", 1)
    if isinstance(client, str) and client not in SCHEDULERS and "://" not in client and ":" not in client:
        raise ValueError(f"client must be None, a distributed.Client, a scheduler address such as tcp://host:8786 "
                         f"or 'synchronous', got {client!r}")
    names = list(sweep.names)
    existing = read_recipe(path) if os.path.exists(path) else None
    per_point = sweep.point_bytes(existing.get("backend", backend) if existing else backend)
    if existing is not None:
        planned = tuple(existing["_block_shape"])
    else:  # the most blocks this sweep can have: the rule with as many workers as it will have
        workers = 1 if client == "synchronous" else (n_workers or os.cpu_count() or 1) if client is None else 1
        planned = recipes.block_shape(list(sweep.sizes), names, n_starts, steps, n_kept, dim, workers,
                                      block_points, optimizer=sweep.optimizer, point_bytes=per_point)
    n_blocks = math.prod(_block_count([*sweep.sizes, n_starts], list(planned)))
    # this process's memory, from the sizes alone: nothing of those sizes exists yet
    budget.check_driver(budget.driver_bytes(dict(zip(names, sweep.sizes)), n_starts, dim, n_kept, n_blocks),
                        every=every)
    if existing is None:
        check_writable(path)  # an OSError naming the store, before any work
    grid = sweep.checked_grid(grid)
    x0 = sweep.start_points()

    if existing is not None and backend == "auto":
        backend = existing.get("backend", backend)
    draft = sweep.recipe(grid, x0, backend)
    copy_seeds = bool(reuse_seeds) and sweep.seeds_change_nothing
    if existing is not None:
        existing = _join(path, store, existing, draft, stream)
    sizes = list(sweep.sizes)
    disk = functools.partial(budget.check_disk, path, bytes_per_point(dtype, dim, n_kept), every=every)

    if copy_seeds:
        n_seeds = len(grid[recipes.SEED])
        print(f"samscape sweep: {type(sweep.optimizer).__name__} here draws no random numbers (full batch, no random "
              f"direction), so its {n_seeds} seeds give identical runs: each block is computed once and written "
              f"for every seed ({n_seeds}x less work)", file=stream)
    session, plan, ctrl_c = None, None, _CtrlC()
    try:
        session = _Session(client, n_workers, stream, ctrl_c)
        if existing is not None:
            block = tuple(existing["_block_shape"])
        else:
            # the block rule sizes blocks by the work actually done: copied seeds cost nothing
            work_sizes = [1 if copy_seeds and name == recipes.SEED else n for name, n in zip(names, sizes)]
            block = recipes.block_shape(work_sizes, names, n_starts, steps, n_kept, dim, session.n_workers,
                                        block_points, optimizer=sweep.optimizer, point_bytes=per_point)
        points_per_block = math.prod(block)
        # one block on a worker; a block of the store the rule sized to fit, or one the user chose
        budget.check_block(sweep.block_bytes(points_per_block, backend), session.worker_memory(),
                           points=points_per_block, every=every, where="this process" if session.synchronous else "")
        if existing is None:
            disk(math.prod(sizes) * n_starts, math.prod(_block_count([*sizes, n_starts], list(block))),
                 n_starts * dim * 8 + sum(sizes) * 8 + n_kept * 8)
            if backend == "auto":
                backend = sweep.auto_backend(grid, points_per_block)
            draft["backend"] = backend
            try:
                create_store(path, draft, grid, x0, block, dim, sweep.label, sweep.landscape.name)
                recipe = draft
            except StoreExists:  # another sweep started on the same new store first: fill blocks beside it
                print(f"samscape sweep: another sweep created {os.fspath(store)!r} meanwhile; filling its blocks "
                      "beside it", file=stream)
                theirs = read_recipe(path)
                if requested_backend == "auto":
                    draft["backend"] = theirs.get("backend", backend)
                recipe = _join(path, store, theirs, draft, stream)
                block = tuple(recipe["_block_shape"])
        else:
            recipe = existing
        backend = recipe["backend"]
        generations = recipe.get("_generations", [sizes])
        ctrl_c.check()
        if backend == "compiled":
            _warm_kernels(sweep, grid, x0)
        ctrl_c.check()
        plan = {
            "store": path, "landscape": recipe["landscape"], "optimizer": recipe["optimizer"],
            "names": names, "sizes": sizes, "chunks": list(block[:-1]), "chunk_starts": int(block[-1]),
            "n_starts": len(x0), "grid": {n: grid[n].tolist() for n in names}, "steps": steps, "every": every,
            "seed": sweep.seed, "bound": sweep.bound, "dtype": dtype, "backend": backend,
            "counts": _block_count(sizes + [len(x0)], list(block)), "generations": generations,
        }
        pieces = done_blocks(path)
        damaged = damaged_blocks(path, pieces)
        if damaged:
            stored = read_recipe(path)
            print(f"samscape sweep: {_damage_sentence(os.fspath(store), stored, damaged)}; recomputing "
                  f"{'them' if len(damaged) > 1 else 'it'} (and nothing else)", file=stream)
            for index in damaged:
                for g in pieces_of_block(plan, index):
                    pieces.pop((index, g), None)
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(_marker(plan, index, g))
        finished, todo = [], []
        for b in _all_blocks(sizes + [len(x0)], list(block)):
            complete = all((b, g) in pieces for g in pieces_of_block(plan, b))
            (finished if complete else todo).append(b)
        if todo and existing is not None:
            _check_store_writable(path, store)
            disk(len(todo) * points_per_block, len(todo), 0)
        total = math.prod(plan["counts"])
        label = f"sweep {sweep.label} on {sweep.landscape.name}: {total} blocks"
        if finished:
            print(f"samscape sweep: {len(finished)} of {total} blocks already done in {os.fspath(store)!r}; "
                  f"computing the other {len(todo)}", file=stream)
        tasks = _seed_groups(todo, names, copy_seeds)
        bar = SweepProgress(total, label, work=sum(_block_point_count(plan, t[0]) for t in tasks) * steps,
                            workers=session.n_workers, enabled=progress, stream=stream)
        session.execute(plan, tasks, bar, len(finished))
    except KeyboardInterrupt:
        if session is not None:
            session.quiet()
        done, total = (0, None) if plan is None else _count_done(plan)
        raise SweepInterrupted(done, total, os.fspath(store)) from None
    finally:
        try:
            if session is not None:
                session.close()
        finally:
            ctrl_c.restore()
    return open_sweep(path)


def _join(path: str, store, existing: dict, draft: dict, stream) -> dict:
    """The recipe of the existing store at ``path`` that this run (``draft``) resumes or extends: an extension
    stopped before its arrays grew is finished first, values appended to swept dims extend the store, anything
    else is refused in one sentence."""
    if _arrays_behind(existing):
        grow_arrays(path, existing)
        existing["_sizes"] = existing["_generations"][-1]
    try:
        added = recipes.added_values(existing, draft)
    except recipes.NotAnExtension as err:
        raise ValueError(f"store {os.fspath(store)!r} holds a different sweep ({err}); extending a store "
                         "only appends values to its swept dims, so rerun with its recipe (plus any new "
                         "values at the end of a dim) or give a new store path") from None
    if added:
        new = "; ".join(f"{name} + {', '.join(map(str, values))}" for name, values in added.items())
        print(f"samscape sweep: extending {os.fspath(store)!r} with {new} (its finished blocks are kept)",
              file=stream)
        existing = extend_store(path, existing, draft["grid"])
    return existing


def _check_store_writable(path: str, store) -> None:
    """An existing store that blocks cannot be written into is refused naming the store."""
    try:
        check_writable(os.path.join(path, MARKERS, "write-probe"))
    except OSError as err:
        raise OSError(err.errno, err.strerror or str(err), os.fspath(store)) from None


def _count_done(plan: dict) -> tuple[int, int]:
    """Blocks whose every piece has its completion marker, and all blocks: what is on disk, whoever wrote it."""
    pieces = done_blocks(plan["store"])
    blocks = list(_all_blocks(plan["sizes"] + [plan["n_starts"]], plan["chunks"] + [plan["chunk_starts"]]))
    done = sum(all((b, g) in pieces for g in pieces_of_block(plan, b)) for b in blocks)
    return done, len(blocks)


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: how many blocks are done, in which store; rerunning the same call resumes."""

    def __init__(self, done: int, total: int | None, store: str):
        self.done, self.total, self.store = done, total, store
        if total is None:
            text = f"stopped before any block ran ({store!r}); run the same command again to start it"
        else:
            text = f"{done} of {total} blocks done in {store!r}; run the same command again to resume"
        super().__init__(text)


def _warm_kernels(sweep: recipes.SweepPlan, grid: dict, x0) -> None:
    """Compile the kernels in this process first, so that the workers load them from the disk cache instead of
    each compiling them (the fates' polish runs gradient descent at the run's learning rate). A swept kernel
    constant (``steps_ascent``) is one kernel per value: each is compiled here."""
    two = np.repeat(x0[:1], 2, axis=0)
    constants = [name for name in sweep.names
                 if getattr(recipes.hyperparameter(sweep.optimizer, name), "kernel_constant", False)]
    # per-start fields as the blocks pass them, arrays: a kernel may differ with them (a momentum row)
    rows = {name: np.full(2, grid[name][0]) for name in sweep.names if recipes.per_start(name, sweep.optimizer)}
    for values in itertools.product(*(grid[name] for name in constants)):
        optimizer = recipes.with_values(sweep.spec, {**rows, **dict(zip(constants, values))})
        dynamics.simulate(sweep.landscape, optimizer, two, 1, seed=0, backend="compiled", dtype=sweep.dtype,
                          progress=False)
    dynamics.simulate(sweep.landscape, dynamics.GD(0.1), two.astype(np.float64), 1, seed=0, backend="compiled",
                      progress=False)


class _CtrlC:
    """Ctrl-C while a sweep runs on a Dask cluster, acted on where it is safe.

    Python raises ``KeyboardInterrupt`` in whatever code runs when the signal arrives, and inside a garbage
    collector callback (Dask's scheduler, running in this process, installs one) it prints the exception and
    drops it, so the sweep would go on. Once the cluster exists, the first Ctrl-C is only noted here, and the
    sweep checks for it between steps and four times a second while it waits for blocks; a second Ctrl-C raises at
    once. Without a cluster (``client="synchronous"``) Ctrl-C keeps its usual effect.
    """

    def __init__(self):
        self.pressed = False
        self._previous = None

    def defer(self) -> None:
        """From now on the first Ctrl-C only sets :attr:`pressed` (from the main thread only: elsewhere signals
        cannot be handled, and Ctrl-C keeps its usual effect)."""
        def note(signum, frame):
            if self.pressed:
                raise KeyboardInterrupt
            self.pressed = True

        try:
            self._previous = signal.signal(signal.SIGINT, note)
        except ValueError:
            self._previous = None

    def check(self) -> None:
        if self.pressed:
            raise KeyboardInterrupt

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


@contextlib.contextmanager
def _workers_ignore_ctrl_c():
    """Start worker processes with Ctrl-C ignored: the terminal sends SIGINT to the whole process group, and each
    worker would print its own tracebacks (dozens of lines); this process handles it (stops the sweep and says how
    far it got), then closes the cluster, which ends the workers. An ignored signal stays ignored in a spawned
    process. (A Ctrl-C during the second or two that the cluster takes to start is ignored too.)"""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals cannot be changed here, leave them as they are
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Session:
    """Where the blocks run: in this process, on a LocalCluster we start (and stop), or on the user's cluster."""

    def __init__(self, client, n_workers, stream, ctrl_c=None):
        self.stream = stream
        self.ctrl_c = ctrl_c or _CtrlC()
        self.client = None
        self.cluster = None
        self._owned = False
        self.synchronous = client == "synchronous"
        if self.synchronous:
            self.n_workers = 1
            return
        from distributed import Client, LocalCluster

        self.ctrl_c.defer()

        if client is None:
            workers = n_workers or os.cpu_count() or 1
            # one thread per worker process: the kernel would otherwise start a thread per core in each worker
            # scheduler, workers and dashboard listen on this machine only: a cluster started here is nobody else's
            with _workers_ignore_ctrl_c():
                self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host=LOOPBACK,
                                            dashboard_address=f"{LOOPBACK}:0", env={"NUMBA_NUM_THREADS": "1"},
                                            silence_logs=logging.ERROR)
            self.client = Client(self.cluster)
            self._owned = True
        elif isinstance(client, str):
            self.client = Client(client)
            self._owned = True
        else:
            self.client = client
            self._owned = False
        info = self.client.scheduler_info()
        link = getattr(self.client, "dashboard_link", None) if "dashboard" in info.get("services", {}) else None
        if link:
            print(f"samscape sweep: Dask dashboard at {link}", file=stream)
        self.n_workers = max(1, len(info.get("workers", {})))

    def worker_memory(self) -> int | None:
        """Memory one block may use: what this process has now (synchronous), else the smallest worker's limit,
        and for a cluster started here at most its share of what this machine has now (``None``: unknown)."""
        if self.synchronous:
            return dynamics.available_memory()
        workers = self.client.scheduler_info().get("workers", {}).values()
        limits = [int(w.get("memory_limit") or 0) for w in workers]
        limit = min(limits) if limits and min(limits) > 0 else None
        if self.cluster is not None:
            available = dynamics.available_memory()
            if available is not None:
                share = available // self.n_workers
                limit = share if limit is None else min(limit, share)
        return limit

    def execute(self, plan: dict, tasks: list, bar: SweepProgress, done: int) -> None:
        """Run ``tasks`` (lists of blocks: the first is simulated, the others are its seed copies) and move the bar
        by the blocks each one finishes."""
        bar.update(done)
        bar.tasks_left = len(tasks)
        work = lambda task: _block_point_count(plan, task[0]) * plan["steps"]  # noqa: E731
        if self.synchronous:
            for task in tasks:
                records = compute_block(plan, task[0], task[1:])
                done += len(task)
                bar.finished_task(records, work(task), plan["steps"])
                bar.update(done)
            return
        from distributed import as_completed

        # a bounded number of tasks in flight: a research sweep has 10^5 blocks, the scheduler needs only a few
        # per worker to stay busy
        window = 4 * self.n_workers
        pending = iter(tasks)
        run_id = uuid.uuid4().hex[:8]
        of_future = {}

        def submit(task):
            future = self.client.submit(compute_block, plan, task[0], task[1:], pure=False,
                                        key=f"samscape-block-{run_id}-{'-'.join(map(str, task[0]))}")
            of_future[future.key] = task
            return future

        futures = as_completed([submit(t) for t in itertools.islice(pending, window)])
        try:
            while not futures.is_empty():
                self.ctrl_c.check()
                # wait a little at a time, so that a Ctrl-C noted by the handler is acted on promptly
                for future in futures.next_batch(block=False) or self._wait(futures):
                    records = future.result()  # a block that failed raises here, with its own error
                    future.release()  # its result is on disk; held here, a dead worker's copy would be recomputed
                    task = of_future.pop(future.key)
                    done += len(task)
                    bar.finished_task(records, work(task), plan["steps"])
                    bar.update(done)
                    nxt = next(pending, None)
                    if nxt is not None:
                        futures.add(submit(nxt))
        except BaseException:
            for future in list(futures.futures):
                future.cancel()
            raise

    @staticmethod
    def _wait(futures, seconds: float = 0.25) -> list:
        """The futures that finish within ``seconds`` (none: an empty list)."""
        from distributed import wait

        try:
            wait(list(futures.futures), timeout=seconds, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return []
        return futures.next_batch(block=False)

    def quiet(self) -> None:
        """After Ctrl-C: closing the cluster cancels its running blocks, and Dask would log every cancellation and
        every worker it has to kill; the sweep says what happened in one line instead."""
        for name in ("distributed", "tornado"):
            logging.getLogger(name).setLevel(logging.CRITICAL)

    def close(self) -> None:
        if self.client is not None and self._owned:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
