"""The compiled backend: fused numba kernels generated from each landscape's SymPy gradient.

:func:`compiled_backend` has the signature of :func:`samscape.dynamics.integrate.numpy_backend` and returns
the same arrays. One kernel per (gradient, optimizer structure, dtype) runs every step for a block of
starts inside compiled code and writes only the saved steps; the hyperparameters (``lr``, ``rho`` per start,
``batch_size``, ``Switch.at``), the data values, the seed and the starts are runtime arguments, so a sweep
reuses one kernel.

Kernels are cached twice: in memory for the process, and on disk so a later process skips compilation.
The generated source is written to ``$SAMSCAPE_CACHE`` (default ``~/.cache/samscape``) under a name that is
a hash of the source, and imported from there, because numba's ``cache=True`` needs a real source file.

Parallelism: the kernel releases the GIL and a small thread pool hands it ranges of blocks (rather than
``numba.prange`` inside the kernel). This halves compile time, which the first call pays, lets the pool
balance blocks whose starts all froze early, and lets Python update the progress bar between chunks of
steps.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._atomic import atomic_output
from . import codegen, draws
from .integrate import far_threshold

CACHE_ENV = "SAMSCAPE_CACHE"
# Point-steps per kernel call between progress updates (about a second of work on one core).
CHUNK_WORK = 1 << 27

_lock = threading.RLock()
_kernels: dict[str, "Kernel"] = {}
_sources: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_counters = {"memory_hits": 0, "loads": 0, "compiles": 0, "disk_hits": 0}
_pool: ThreadPoolExecutor | None = None
_pool_key: tuple[int, int] = (0, 0)


def available() -> bool:
    """Whether numba can be imported (without importing it: that alone takes about half a second)."""
    return importlib.util.find_spec("numba") is not None


def cache_dir() -> Path:
    """Directory of generated kernel sources and numba's compiled objects."""
    base = os.environ.get(CACHE_ENV)
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "samscape"
    return root / "kernels"


def cache_info() -> dict[str, int]:
    """Counters of this process: ``memory_hits`` (kernel reused from memory), ``loads`` (kernel module
    imported), ``compiles`` (numba compiled it) and ``disk_hits`` (numba loaded it from its disk cache)."""
    with _lock:
        return {**_counters, "in_memory": len(_kernels)}


def clear_memory_cache() -> None:
    """Forget the kernels loaded in this process (the disk cache stays)."""
    with _lock:
        _kernels.clear()
        _sources.clear()


@dataclass
class Kernel:
    """A loaded kernel module: ``lanes`` advances blocks of starts, ``single`` one start at a time."""

    key: str
    path: Path
    lanes: object
    single: object
    layout: codegen.Layout
    ready: set = field(default_factory=set)


def _source_for(landscape, optimizer, dtype: str):
    """Generate (or recall) the kernel source; SymPy's cse and printing are too slow to repeat per call."""
    shape = codegen.shape_signature(codegen.optimizer_shape(optimizer, bool(landscape.data_symbols))[0])
    try:
        per_landscape = _sources.setdefault(landscape, {})
    except TypeError:  # not weak-referenceable: generate every time
        per_landscape = {}
    entry = per_landscape.get((shape, dtype))
    if entry is None:
        entry = codegen.kernel_source(landscape, optimizer, dtype)
        per_landscape[(shape, dtype)] = entry
    return entry


def kernel_in_memory(landscape, optimizer, dtype: str = "float64") -> bool:
    """Whether a call would reuse a kernel already loaded in this process (no code generation needed)."""
    with _lock:
        try:
            per_landscape = _sources.get(landscape)
        except TypeError:
            return False
        if not per_landscape:
            return False
        shape = codegen.shape_signature(codegen.optimizer_shape(optimizer, bool(landscape.data_symbols))[0])
        entry = per_landscape.get((shape, dtype))
        return entry is not None and entry[2] in _kernels


def _writable_dir() -> Path:
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
        return directory
    except OSError:
        fallback = Path(tempfile.gettempdir()) / f"samscape-kernels-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback


def _load(key: str, source: str, layout) -> Kernel:
    directory = _writable_dir()
    path = directory / f"k_{key}.py"
    try:
        current = path.read_text()
    except OSError:
        current = None
    # Written once and left alone (numba's disk cache is keyed on the file's timestamp), unless the file
    # on disk is not the code we generated: only our own text is ever imported.
    if current != source:
        with atomic_output(path) as tmp, open(tmp, "w") as handle:
            handle.write(source)
    name = f"samscape_kernel_{key}"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
    _counters["loads"] += 1
    return Kernel(key=key, path=path, lanes=module.kernel, single=module.kernel1, layout=layout)


def get_kernel(landscape, optimizer, dtype: str = "float64") -> Kernel:
    """The kernel for ``landscape`` and the structure of ``optimizer``, from memory, disk, or built now."""
    if not available():
        raise ImportError("backend='compiled' needs numba>=0.59, which is not installed; use backend='numpy' or 'auto'")
    with _lock:
        source, layout, key = _source_for(landscape, optimizer, dtype)
        kernel = _kernels.get(key)
        if kernel is not None:
            _counters["memory_hits"] += 1
            return kernel
        kernel = _load(key, source, layout)
        _kernels[key] = kernel
        return kernel


# ----------------------------------------------------------------------------------------- arguments

def _row(value, n_starts: int) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    return np.broadcast_to(arr, (n_starts,)) if arr.size == 1 else arr


def _pack(layout: codegen.Layout, optimizer, landscape, n_starts: int, dtype):
    """Runtime arguments for a kernel: per-start hyperparameters, data, switch steps, batch plans."""
    _, leaf_opts, fork_opts = codegen.optimizer_shape(optimizer, layout.has_data)
    hp = np.empty((max(1, len(layout.hp_rows)), n_starts), dtype=dtype)
    for h, (leaf_index, name) in enumerate(layout.hp_rows):
        hp[h] = _row(getattr(leaf_opts[leaf_index], name), n_starts)
    ats = np.array([f.at for f in fork_opts] or [0], dtype=np.int64)
    bsz = np.zeros(max(1, len(leaf_opts)), dtype=np.int64)
    # plan 0 sums over every sample; plan 1 + i over the batch of leaf i
    plans = [codegen.pairwise_plan(landscape.n_samples) if layout.has_data else []]
    for i, opt in enumerate(leaf_opts):
        leaf = layout.leaves[i]
        if leaf.batched:
            bsz[i] = opt.batch_size
            plans.append(codegen.pairwise_plan(opt.batch_size))
        else:
            plans.append([])
    offsets = np.zeros(len(plans) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(p) for p in plans])
    rows = [row for p in plans for row in p] or [[0, 0, 0]]
    depth = max([codegen.plan_depth(p) for p in plans if p] or [1])
    data = landscape.data if layout.has_data else np.zeros((1, 1))
    return dict(
        HP=hp, DATA=np.ascontiguousarray(data, dtype=dtype), ATS=ats, BSZ=bsz,
        PLANS=np.ascontiguousarray(rows, dtype=np.int64), POFF=offsets, NSTK=int(depth),
        BMAX=int(bsz.max()),
    )


def _seed_hash(seed: int) -> np.uint64:
    with np.errstate(over="ignore"):
        return np.uint64(draws._mix(np.uint64(seed) + draws.GOLDEN))


def _threads() -> int:
    import numba

    return max(1, int(numba.get_num_threads()))


def _executor(workers: int) -> ThreadPoolExecutor:
    global _pool, _pool_key
    with _lock:
        # a pool inherited through fork has no threads in the child: it would never run a job
        key = (workers, os.getpid())
        if _pool is None or _pool_key != key:
            if _pool is not None and _pool_key[1] == os.getpid():
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="samscape-kernel")
            _pool_key = key
        return _pool


def _first_call(kernel: Kernel, function, args: dict) -> None:
    """Compile (or load from numba's disk cache) on a call that touches no block, and count which."""
    stats = function.stats
    known = len(function.signatures)
    hits = sum(stats.cache_hits.values())
    function(**{**args, "blk0": 0, "blk1": 0})
    with _lock:
        if len(function.signatures) > known:
            if sum(stats.cache_hits.values()) > hits:
                _counters["disk_hits"] += 1
            else:
                _counters["compiles"] += 1
        kernel.ready.add(id(function))


def compiled_backend(landscape, optimizer, x0: np.ndarray, saved_steps: np.ndarray, *, seed: int,
                     start_ids: np.ndarray, bound: float, progress):
    """Fused-kernel backend; same contract and results as :func:`integrate.numpy_backend`."""
    dtype = x0.dtype
    kernel = get_kernel(landscape, optimizer, dtype.name)
    n_starts, dim = x0.shape
    saved = np.ascontiguousarray(saved_steps, dtype=np.int64)
    xs = np.empty((len(saved), n_starts, dim), dtype=dtype)
    xs[0] = x0
    state = np.ascontiguousarray(x0, dtype=dtype).copy()
    status = np.zeros(n_starts, dtype=np.int8)
    stopped_at = np.full(n_starts, -1, dtype=np.int64)
    args = dict(
        XST=state, STATUS=status, STOPPED=stopped_at, XS=xs, SAVED=saved, slot0=1, t0=0, t1=0,
        ZSEED=_seed_hash(seed), IDS=np.ascontiguousarray(start_ids).astype(np.uint64),
        FAR2=far_threshold(bound, dtype), **_pack(kernel.layout, optimizer, landscape, n_starts, dtype),
    )
    # One start is a single dependency chain: the lane kernel would only add loads and stores to it.
    function, width = (kernel.single, 1) if n_starts == 1 else (kernel.lanes, codegen.LANES)
    if id(function) not in kernel.ready:
        _first_call(kernel, function, args)
    last = int(saved[-1])
    n_blocks = -(-n_starts // width)
    workers = min(_threads(), n_blocks)
    # several pieces per thread so that blocks which froze early do not leave a thread idle
    n_pieces = 1 if workers == 1 else min(n_blocks, 8 * workers)
    edges = np.linspace(0, n_blocks, n_pieces + 1).round().astype(int)
    chunk = max(1, CHUNK_WORK // n_starts)
    t = 0
    while t < last:
        t1 = min(last, t + chunk)
        call = {**args, "t0": t, "t1": t1, "slot0": int(np.searchsorted(saved, t, side="right"))}
        if n_pieces == 1:
            function(**{**call, "blk0": 0, "blk1": n_blocks})
        else:
            jobs = [_executor(workers).submit(function, **{**call, "blk0": int(a), "blk1": int(b)})
                    for a, b in zip(edges[:-1], edges[1:]) if b > a]
            for job in jobs:
                job.result()
        t = t1
        progress.update(t)
    progress.update(last)
    return xs, status, stopped_at
