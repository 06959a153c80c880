"""The compiled backend: fused numba kernels generated from each landscape's SymPy gradient.

:func:`compiled_backend` has the signature of :func:`samscape.dynamics.integrate.numpy_backend` and returns
the same arrays. One kernel per (gradient, optimizer structure, dtype) runs every step for a block of
starts inside compiled code and writes only the saved steps; the hyperparameters (``lr``, ``rho`` per start,
``batch_size``, ``Switch.at``), the data values, the seed and the starts are runtime arguments, so a sweep
reuses one kernel.

Kernels are cached twice: in memory for the process, and on disk so a later process skips compilation.
The generated source is written to ``$SAMSCAPE_CACHE/kernels`` (default ``~/.cache/samscape/kernels``) under
a name that is a hash of the source, because numba's ``cache=True`` needs a real source file beside its
cache. That folder is trusted with code: numba's cache index is a pickle. So it is used only when it is
private (see :func:`checked_folder`): it and everything in it belong to the current user, none of it is a
symbolic link or writable by group or others, and every folder above it belongs to root or the current user
and is not writable by others unless sticky. The configured path is resolved once; the resolved path is
checked without following links and is the one numba is given, so a link flipped after the check changes
nothing. The kernel always runs from the text held in memory, compiled with that path as its name, never
through an import that a stray ``.pyc`` could satisfy. Without a private folder kernels are compiled in every
process, after one warning that says to delete the folder: a folder that was ever open to others may hold
what they planted, and changing its permissions would not remove it.

numba keeps its cache files (the pickled index among them) in ``__pycache__`` beside the source, unless
``NUMBA_CACHE_DIR`` is set: then it keeps them there, outside our folder. That folder gets the same rule
(created with mode 0700 when missing, used only when private, handed to numba resolved).

A build that fails (numba's compiler gives up, e.g. on a deeply nested gradient) raises
:class:`KernelBuildError`, which ``backend="auto"`` turns into a NumPy run with a warning; a build that
takes more than :data:`SLOW_BUILD_NOTE_SECONDS` prints a one-line note on stderr, so a first compile of a
large gradient (a minute for a polynomial of 500 terms) is not silence.

Parallelism: the kernel releases the GIL and a small thread pool hands it ranges of blocks (rather than
``numba.prange`` inside the kernel). This halves compile time, which the first call pays, lets the pool
balance blocks whose starts all froze early, and lets Python update the progress bar between chunks of
steps.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import stat
import sys
import threading
import types
import warnings
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._atomic import atomic_output
from . import codegen, draws
from .contract import far_threshold, initial_status, kept_so_far
from .schedules import base_value

CACHE_ENV = "SAMSCAPE_CACHE"
# A kernel build (generation, loading, compilation) longer than this gets a note on stderr.
SLOW_BUILD_NOTE_SECONDS = 2.0
# Point-steps per kernel call between progress updates (about a second of work on one core).
CHUNK_WORK = 1 << 27
# At most this many steps per kernel call when a hyperparameter follows a schedule: the factors of a call's steps
# are one array (SF) the host fills first, which must stay small for a long run of few starts.
SCHEDULE_CHUNK_STEPS = 1 << 16
# From this many saved points on, the loss at the saved steps is the kernel module's own (compiled on first use
# and cached like the kernels): NumPy's tanh, say, is a scalar call per element where the kernels' is vectorized.
LOSS_FROM_POINTS = 1 << 16

_lock = threading.RLock()
_kernels: dict[str, "Kernel"] = {}
_sources: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_counters = {"memory_hits": 0, "loads": 0, "compiles": 0, "disk_hits": 0}
_pool: ThreadPoolExecutor | None = None
_pool_key: tuple[int, int] = (0, 0)
_warned_about_cache = False


class KernelBuildError(RuntimeError):
    """A kernel could not be generated, loaded or compiled (other than an :class:`codegen.UnsupportedLandscape`)."""


def available() -> bool:
    """Whether numba can be imported (without importing it: that alone takes about half a second)."""
    return importlib.util.find_spec("numba") is not None


def cache_dir() -> Path:
    """Directory of generated kernel sources and numba's compiled objects."""
    base = os.environ.get(CACHE_ENV)
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "samscape"
    return root / "kernels"


def cache_info() -> dict[str, int]:
    """Counters of this process: ``memory_hits`` (kernel reused from memory), ``loads`` (kernel text run
    into a module), ``compiles`` (numba compiled it) and ``disk_hits`` (numba loaded it from its disk cache)."""
    with _lock:
        return {**_counters, "in_memory": len(_kernels)}


def clear_memory_cache() -> None:
    """Forget the kernels loaded in this process (the disk cache stays)."""
    with _lock:
        _kernels.clear()
        _sources.clear()


@dataclass
class Kernel:
    """A loaded kernel module: ``lanes`` advances blocks of starts, ``single`` one start at a time.

    ``path`` is the source file numba caches against, or ``None`` when there is no private cache folder.
    """

    key: str
    path: Path | None
    lanes: object
    single: object
    layout: codegen.Layout  # the hyperparameter rows to pack (the rest of what the kernel expects is in its plan)
    loss: object = None  # the value at many points (see codegen's emit_loss_function); None for a finite sum
    ready: set = field(default_factory=set)
    failures: dict = field(default_factory=dict)  # id(function) -> the KernelBuildError of its compilation
    cache_folder: Path | None = None  # where numba writes this kernel's cache files (see _seal)


def plan(landscape, optimizer, dtype="float64") -> codegen.KernelPlan:
    """The plan of the kernel that a run of ``optimizer`` on ``landscape`` in ``dtype`` calls
    (:func:`codegen.kernel_plan`): worked out once per run and passed to every question below."""
    return codegen.kernel_plan(landscape, optimizer, np.dtype(dtype).name)


def _label(landscape) -> str:
    """The landscape's name for a one-line message: a long formula (its default name) is cut short."""
    name = landscape.name
    return repr(name) if len(name) <= 80 else repr(name[:70] + "...")


def _build_error(plan: codegen.KernelPlan, err: BaseException) -> KernelBuildError:
    """One sentence naming the landscape and why; the cause stays attached as ``__cause__``."""
    if isinstance(err, RecursionError):
        why = "numba's compiler ran out of recursion depth (the gradient is too deeply nested or too long)"
    else:
        first_line = (str(err).strip().splitlines() or [""])[0]
        why = f"{type(err).__name__}: {first_line[:200]}" if first_line else type(err).__name__
    return KernelBuildError(
        f"the compiled backend could not build a kernel for landscape {_label(plan.landscape)} "
        f"({plan.shape}, {plan.dtype}): {why}; use backend='numpy'"
    )


def _source_for(plan: codegen.KernelPlan):
    """Generate (or recall) the kernel source; SymPy's cse and printing are too slow to repeat per call.

    A generation that failed is remembered too, so a fallback does not pay for it again.
    """
    try:
        per_landscape = _sources.setdefault(plan.landscape, {})
    except TypeError:  # not weak-referenceable: generate every time
        per_landscape = {}
    entry = per_landscape.get(plan.signature)
    if entry is None:
        try:
            entry = codegen.kernel_source(plan)
        except codegen.UnsupportedLandscape as err:
            entry = err
        except Exception as err:  # SymPy or the printer giving up: tell why, in one sentence
            entry = _build_error(plan, err)
            entry.__cause__ = err
        per_landscape[plan.signature] = entry
    if isinstance(entry, Exception):
        raise entry
    return entry


# How far a run's kernel is from running (see readiness): reusing it, loading it from numba's disk cache, or
# generating and compiling it.
IN_MEMORY, ON_DISK, TO_BUILD = "in memory", "on disk", "to build"


def readiness(plan: codegen.KernelPlan, n_starts: int = 2, *, look_on_disk: bool = True) -> str:
    """How far the kernel that a run of ``n_starts`` calls is from running: :data:`IN_MEMORY` (compiled in this
    process), :data:`ON_DISK` (an earlier process compiled it and numba cached it: this one loads it, a fraction
    of a second) or :data:`TO_BUILD` (seconds of generation and compilation). ``look_on_disk=False`` leaves the
    disk out (looking there generates the kernel's source when this process has not)."""
    if _in_memory(plan, n_starts):
        return IN_MEMORY
    return ON_DISK if look_on_disk and _on_disk(plan, n_starts) else TO_BUILD


def _in_memory(plan: codegen.KernelPlan, n_starts: int) -> bool:
    with _lock:
        try:
            per_landscape = _sources.get(plan.landscape)
        except TypeError:
            return False
        entry = (per_landscape or {}).get(plan.signature)
        kernel = _kernels.get(entry[2]) if isinstance(entry, tuple) else None
        return kernel is not None and id(_variant(kernel, n_starts)) in kernel.ready


# The kernel functions of a generated module (see codegen._KernelWriter.source): the lane kernel for many
# starts, the scalar one for a single start (see _variant).
_FUNCTION_NAMES = {"lanes": "kernel", "single": "kernel1"}


def _on_disk(plan: codegen.KernelPlan, n_starts: int) -> bool:
    """Whether an earlier process compiled the kernel a run of ``n_starts`` calls and numba cached it on disk.

    A cheap look that imports nothing: the private cache folder holds the kernel's source with the very text
    generated now, and numba's index file for the kernel function sits where numba keeps it (``__pycache__``
    beside the source, or under ``NUMBA_CACHE_DIR``). numba may still find that index stale (another numba
    version, say) and compile after all, which is what a run did before this check existed.
    """
    # a look, not a load: nothing is read from the folder here, so its contents are checked when a kernel loads
    # (scanning them costs milliseconds per thousand files, on every run `auto` weighs)
    folders = _checked_folders(create=False, contents=False)
    if isinstance(folders, str):
        return False
    directory, numba_folder = folders
    try:
        source, _, key = _source_for(plan)
    except (codegen.UnsupportedLandscape, KernelBuildError):
        return False
    path = directory / f"k_{key}.py"
    try:
        if path.read_text() != source:
            return False
    except OSError:
        return False
    function = _FUNCTION_NAMES["single" if n_starts == 1 else "lanes"]
    # numba's index name: <file stem>.<function>-<line of its def>.py<major><minor><abiflags>.nbi
    version = f"py{sys.version_info[0]}{sys.version_info[1]}{getattr(sys, 'abiflags', '')}"
    return any(_numba_index_folder(path, numba_folder).glob(f"k_{key}.{function}-*.{version}.nbi"))


def _numba_index_folder(source: Path, numba_folder: Path | None) -> Path:
    """Where numba keeps the cache files of functions defined in ``source`` (its two locators that apply to a
    private writable folder: ``numba_folder``, the checked ``NUMBA_CACHE_DIR``, when set, else ``__pycache__``
    beside the file)."""
    if numba_folder is None:
        return source.parent / "__pycache__"
    folder = os.path.dirname(os.path.abspath(source))
    # numba names the subfolder after the source's folder and a SHA-1 of its path (short paths on Windows)
    digest = hashlib.sha1(folder.encode()).hexdigest()
    return numba_folder / f"{os.path.basename(folder)}_{digest}"


# Whoever can write into a folder that numba reads its cache index from runs code in our process (the index is a
# pickle). The rule is the one OpenSSH's StrictModes applies to ~/.ssh: the folder and everything in it belong to
# the current user, none of it is a symbolic link or writable by group or others; every folder above it belongs
# to root or the current user and is not writable by group or others unless sticky (as /tmp is: nobody else can
# rename or delete what we put there). The path is resolved once and the resolved path is checked without
# following links and handed to numba, so a link flipped after the check changes nothing we read.

def _open_mode(info: os.stat_result) -> str:
    return f"mode {stat.S_IMODE(info.st_mode):04o}"


def _above_problem(folder: Path, info: os.stat_result, uid: int) -> str | None:
    """Why ``folder``, a folder on the way to the cache, lets someone else swap what is below it."""
    if info.st_uid not in (uid, 0):
        return f"is inside {folder}, which belongs to uid {info.st_uid}"
    if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
        return f"is inside {folder}, which other users can write ({_open_mode(info)})"
    return None


def _given_path_problem(given: Path, uid: int) -> str | None:
    """The path as configured, before it is resolved: a symbolic link on it that belongs to another user lets
    that user choose where our code comes from, and a folder on it that others can write lets them replace
    what follows (a link of ours, say). Only the parts that exist are looked at."""
    for prefix in (*reversed(given.parents), given):
        try:
            info = os.lstat(prefix)
        except (FileNotFoundError, NotADirectoryError):  # the rest is made (or refused) by mkdir
            return None
        if stat.S_ISLNK(info.st_mode):
            if info.st_uid not in (uid, 0):
                return f"is reached through the symbolic link {prefix}, which belongs to uid {info.st_uid}"
        elif prefix != given:
            problem = _above_problem(prefix, info, uid)
            if problem:
                return problem
    return None


def _contents_problem(folder: Path, uid: int) -> str | None:
    """Why something inside ``folder`` (at any depth, links never followed) may have been put there by someone
    else: an entry of another owner, a symbolic link, or one that group or others can write."""
    pending = [folder]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISLNK(info.st_mode):
                    return f"holds the symbolic link {entry.path}"
                if info.st_uid != uid:
                    return f"holds {entry.path}, which belongs to uid {info.st_uid}"
                if info.st_mode & 0o022:
                    return f"holds {entry.path}, which other users can write ({_open_mode(info)})"
                if stat.S_ISDIR(info.st_mode):
                    pending.append(Path(entry.path))
    return None


def _resolved_problem(real: Path, uid: int, contents: bool = True) -> str | None:
    """Check the resolved ``real`` and everything above and inside it, following no link; a folder of ours
    that others could only read is narrowed to mode 0700 (nobody else can have written into it)."""
    for folder in reversed(real.parents):
        info = os.lstat(folder)
        if stat.S_ISLNK(info.st_mode):  # it was a folder when the path was resolved a moment ago
            return f"is inside {folder}, which turned into a symbolic link while it was checked"
        problem = _above_problem(folder, info, uid)
        if problem:
            return problem
    info = os.lstat(real)
    if stat.S_ISLNK(info.st_mode):
        return "turned into a symbolic link while it was checked"
    if not stat.S_ISDIR(info.st_mode):
        return "is not a folder"
    if info.st_uid != uid:
        return f"belongs to uid {info.st_uid}, not to the current user (uid {uid})"
    if info.st_mode & 0o022:
        return f"can be written by other users ({_open_mode(info)})"
    if info.st_mode & 0o077:
        os.chmod(real, 0o700)  # checked above: a folder, not a link, in a path nobody else can change
    return _contents_problem(real, uid) if contents else None


def checked_folder(directory: Path, *, create: bool = False, contents: bool = True) -> tuple[Path | None, str | None]:
    """``(resolved folder, None)`` when ``directory`` may hold kernels, else ``(None, why)``.

    ``directory`` is resolved once (``~`` and symbolic links of ours or root's); the resolved path, which holds
    no link, is what was checked and what numba must be given. ``create`` makes a missing folder first, with
    mode 0700. ``contents=False`` leaves out the folder's contents: for a look that reads nothing from it.
    """
    given = Path(os.path.abspath(Path(directory).expanduser()))
    if not hasattr(os, "getuid"):  # no POSIX owners and modes to check (Windows keeps profiles private)
        if create:
            given.mkdir(parents=True, exist_ok=True)
        return Path(os.path.realpath(given)), None
    uid = os.getuid()
    try:
        problem = _given_path_problem(given, uid)
        if problem:
            return None, problem
        if create:
            try:
                given.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as err:
                return None, f"cannot be created ({err.strerror or err})"
        real = Path(os.path.realpath(given))
        problem = _resolved_problem(real, uid, contents)
    except OSError as err:
        return None, f"cannot be checked ({err.strerror or err})"
    return (None, problem) if problem else (real, None)


def cache_problem(directory: Path) -> str | None:
    """Why ``directory`` must not hold kernels, or ``None`` when it is private (see :func:`checked_folder`)."""
    return checked_folder(directory)[1]


def numba_cache_dir() -> Path | None:
    """The folder numba writes its cache files to when ``NUMBA_CACHE_DIR`` is set (``None``: beside the source),
    as configured."""
    if "numba" in sys.modules:
        configured = getattr(sys.modules["numba"].config, "CACHE_DIR", "") or ""
    else:
        configured = os.environ.get("NUMBA_CACHE_DIR", "")
    return Path(configured).expanduser() if configured else None


def _checked_folders(create: bool, contents: bool = True) -> tuple[Path, Path | None] | str:
    """The resolved kernel folder and the resolved ``NUMBA_CACHE_DIR`` (``None`` when unset), both checked; or
    one sentence naming the folder that is not private, why, and the setting that chose it.

    With ``create``, missing folders are made with mode 0700, and so is the folder numba will write the kernels'
    cache files to (``__pycache__`` or its subfolder of ``NUMBA_CACHE_DIR``): numba would otherwise make it with
    the umask's mode, or fall back to a folder nobody checked when it cannot.
    """
    kernels, problem = checked_folder(cache_dir(), create=create, contents=contents)
    if problem:
        return f"the cache folder {cache_dir()} {problem}; delete it (samscape creates a new one with mode 0700), " \
               f"or set {CACHE_ENV} to a folder that only you can write"
    configured = numba_cache_dir()
    numba_folder = None
    if configured is not None:
        numba_folder, problem = checked_folder(configured, create=create, contents=contents)
        if problem:
            return f"numba's cache folder {configured} (NUMBA_CACHE_DIR) {problem}; delete it, or set " \
                   "NUMBA_CACHE_DIR to a folder that only you can write"
    if create:
        target = _numba_index_folder(kernels / "k.py", numba_folder)
        try:
            target.mkdir(mode=0o700, exist_ok=True)
        except OSError as err:
            return f"numba's cache folder {target} cannot be created ({err.strerror or err})"
    return kernels, numba_folder


def _private_cache_dir() -> Path | None:
    """The resolved kernel cache folder, created private if missing; ``None`` (after one warning) when it, or
    numba's own cache folder (``NUMBA_CACHE_DIR``, where set), is not private.

    numba is pointed at the resolved ``NUMBA_CACHE_DIR``, so that it reads the folder that was checked.
    """
    global _warned_about_cache
    folders = _checked_folders(create=True)
    if not isinstance(folders, str):
        kernels, numba_folder = folders
        if numba_folder is not None:
            import numba

            numba.config.CACHE_DIR = str(numba_folder)
        return kernels
    with _lock:
        if not _warned_about_cache:
            _warned_about_cache = True
            warnings.warn(
                f"compiled kernels are not cached on disk because {folders}. Each process compiles them again; "
                "whatever is in that folder may have been put there by another user, so changing its "
                "permissions would not make it safe.",
                RuntimeWarning, stacklevel=3,
            )
    return None


def _seal(kernel: "Kernel") -> None:
    """Take group and other write permission off the cache files numba just wrote for ``kernel`` (it writes
    them with the umask's mode, group-writable under a umask of 002), so that the next process, which refuses
    such files, still finds the cache usable. Nobody else can have opened them meanwhile: their folder is private."""
    if kernel.cache_folder is None or not hasattr(os, "getuid"):
        return
    uid = os.getuid()
    try:
        with os.scandir(kernel.cache_folder) as entries:
            for entry in entries:
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(info.st_mode) and info.st_uid == uid and info.st_mode & 0o022:
                    os.chmod(entry.path, stat.S_IMODE(info.st_mode) & ~0o022)
    except OSError:
        pass  # a file left open to others makes the next process warn and compile


def _load(key: str, source: str, layout) -> Kernel:
    # the resolved, checked folder: numba's cache locator reads the folder of the file name the code is compiled
    # under, so it reads exactly the folder that was checked
    directory = _private_cache_dir()
    path = None if directory is None else directory / f"k_{key}.py"
    if path is not None:
        try:
            current = path.read_text()
        except OSError:
            current = None
        # Written once and left alone (numba's disk cache is keyed on the file's timestamp) unless the text
        # differs; the file only names the code for numba, what runs is `source` itself.
        try:
            if current != source:
                with atomic_output(path) as tmp, open(tmp, "w") as handle:
                    handle.write(source)
                os.chmod(path, 0o600)  # not the umask's mode: the folder's contents must not be writable by others
        except OSError as err:
            warnings.warn(f"compiled kernel {key} is not cached on disk: writing {path} failed ({err.strerror or err})",
                          RuntimeWarning, stacklevel=2)
            path = None
    module = types.ModuleType(f"samscape_kernel_{key}")
    module.__file__ = str(path) if path is not None else f"<samscape kernel {key}>"
    module.DISK_CACHE = path is not None
    # numba's disk cache refers to the kernel's helper functions by module name: the module must be findable
    # in sys.modules, though it is never imported (nothing on disk is looked up by that name)
    sys.modules[module.__name__] = module
    try:
        # compile() of the text we hold, named after the file so that numba's cache finds its folder
        exec(compile(source, module.__file__, "exec"), module.__dict__)
    except BaseException:
        sys.modules.pop(module.__name__, None)
        raise
    _counters["loads"] += 1
    return Kernel(key=key, path=path, lanes=module.kernel, single=module.kernel1, layout=layout,
                  loss=getattr(module, "loss", None),
                  cache_folder=None if path is None else _numba_index_folder(path, numba_cache_dir()))


def get_kernel(plan: codegen.KernelPlan) -> Kernel:
    """The kernel of ``plan``, from memory or generated and loaded now.

    numba compiles a kernel's functions on their first call (see :func:`prepare`).
    """
    if not available():
        raise ImportError("backend='compiled' needs numba>=0.59, which is not installed; use backend='numpy' or 'auto'")
    with _lock:
        source, layout, key = _source_for(plan)
        kernel = _kernels.get(key)
        if kernel is not None:
            _counters["memory_hits"] += 1
            return kernel
        try:
            kernel = _load(key, source, layout)
        except Exception as err:  # numba missing a feature at import, an unwritable module, ...
            raise _build_error(plan, err) from err
        _kernels[key] = kernel
        return kernel


def _variant(kernel: Kernel, n_starts: int):
    # One start is a single dependency chain: the lane kernel would only add loads and stores to it.
    return kernel.single if n_starts == 1 else kernel.lanes


def prepare(plan: codegen.KernelPlan, n_starts: int) -> tuple[Kernel, object]:
    """Build what a run of ``plan`` from ``n_starts`` starts calls: generate, load and compile the kernel (or reuse
    it).

    Returns ``(kernel, function)``. Raises :class:`codegen.UnsupportedLandscape` for a gradient the kernel
    cannot express and :class:`KernelBuildError` for any other failure; a failed compilation is remembered.
    """
    if _in_memory(plan, n_starts):  # the usual call: nothing to build, no timer
        kernel = get_kernel(plan)
        return kernel, _variant(kernel, n_starts)
    timer = threading.Timer(SLOW_BUILD_NOTE_SECONDS, _note_slow_build, (plan,))
    timer.daemon = True
    if not getattr(_quiet, "on", False):
        timer.start()
    try:
        kernel = get_kernel(plan)
        function = _variant(kernel, n_starts)
        if id(function) in kernel.ready:
            return kernel, function
        failure = kernel.failures.get(id(function))
        if failure is not None:
            raise failure
        # compiled with the arguments of a stand-in run of this very structure, so numba compiles once
        args, *_ = _arguments(kernel, plan, np.zeros((n_starts, plan.dim), dtype=plan.dtype),
                              np.array([0, 1], dtype=np.int64), seed=0, start_ids=np.arange(n_starts), bound=1.0)
        try:
            _first_call(kernel, function, args)
        except Exception as err:
            failure = _build_error(plan, err)
            kernel.failures[id(function)] = failure
            raise failure from err
        return kernel, function
    finally:
        timer.cancel()


_quiet = threading.local()


@contextlib.contextmanager
def quiet_builds():
    """Builds on this thread inside the block print no "taking a while" note: for a caller that builds many
    kernels in the background and says so once itself (the explorer warms every optimizer of a landscape)."""
    before = getattr(_quiet, "on", False)
    _quiet.on = True
    try:
        yield
    finally:
        _quiet.on = before


def _note_slow_build(plan: codegen.KernelPlan) -> None:
    sys.stderr.write(f"samscape: building the compiled kernel for landscape {_label(plan.landscape)} "
                     f"({plan.shape}, {plan.dtype}) is taking a while; it is built once and then "
                     "reused (backend='numpy' skips it)\n")
    sys.stderr.flush()


# ----------------------------------------------------------------------------------------- arguments

def _row(value, n_starts: int) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    return np.broadcast_to(arr, (n_starts,)) if arr.size == 1 else arr


def _pack(layout: codegen.Layout, plan: codegen.KernelPlan, n_starts: int, dtype):
    """Runtime arguments for a kernel: per-start hyperparameters, data, switch steps, batch plans."""
    landscape, leaf_opts, fork_opts = plan.landscape, plan.parts, plan.switches
    hp = np.empty((max(1, len(layout.hp_rows)), n_starts), dtype=dtype)
    for h, (leaf_index, name) in enumerate(layout.hp_rows):
        hp[h] = _row(base_value(getattr(leaf_opts[leaf_index], name)), n_starts)
    ats = np.array([f.at for f in fork_opts] or [0], dtype=np.int64)
    bsz = np.zeros(max(1, len(leaf_opts)), dtype=np.int64)
    # plan 0 sums over every sample; plan 1 + i over the batch of leaf i
    plans = [codegen.pairwise_plan(landscape.n_samples) if plan.has_data else []]
    for i, opt in enumerate(leaf_opts):
        if plan.leaves[i].batched:
            bsz[i] = opt.batch_size
            plans.append(codegen.pairwise_plan(opt.batch_size))
        else:
            plans.append([])
    offsets = np.zeros(len(plans) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(p) for p in plans])
    rows = [row for p in plans for row in p] or [[0, 0, 0]]
    depth = max([codegen.plan_depth(p) for p in plans if p] or [1])
    data = landscape.data if plan.has_data else np.zeros((1, 1))
    return dict(
        HP=hp, DATA=np.ascontiguousarray(data, dtype=dtype), ATS=ats, BSZ=bsz,
        PLANS=np.ascontiguousarray(rows, dtype=np.int64), POFF=offsets, NSTK=int(depth),
        BMAX=int(bsz.max()),
    )


def _factors(layout: codegen.Layout, plan: codegen.KernelPlan, t0: int, t1: int, dtype) -> np.ndarray:
    """``SF``: the factors of steps ``t0 .. t1 - 1`` of each scheduled hyperparameter, one row each, from the very
    function the NumPy backend reads (``Schedule.factor_table``), so both backends multiply by the same numbers."""
    table = np.empty((len(layout.schedule_rows), max(1, t1 - t0)), dtype=dtype)
    for row, (leaf_index, name) in enumerate(layout.schedule_rows):
        table[row, : t1 - t0] = getattr(plan.parts[leaf_index], name).factor_table(t0, t1, dtype)
    return table


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
    _seal(kernel)


def _arguments(kernel: Kernel, plan: codegen.KernelPlan, x0: np.ndarray, saved_steps: np.ndarray, *, seed: int,
               start_ids: np.ndarray, bound: float, initial=None):
    """The kernel's arguments for a run, and the arrays it fills: ``(args, xs, status, stopped_at)``.

    ``initial`` is the optimizer's state at the start (name -> ``(n_starts, dim)``; zeros where absent); a kernel
    with momentum loads and stores the velocity in ``args["VST"]`` block by block, as the iterates in ``XST`` (and
    each other array of ``plan.state_names`` in its argument, :data:`codegen.KERNEL_STATE`).
    :func:`prepare` compiles with the arguments of a stand-in run built here, so that their types are
    the very types of the real run and numba compiles once.
    """
    dtype = x0.dtype
    n_starts, dim = x0.shape
    saved = np.ascontiguousarray(saved_steps, dtype=np.int64)
    xs = np.empty((len(saved), n_starts, dim), dtype=dtype)
    xs[0] = x0
    state = np.ascontiguousarray(x0, dtype=dtype).copy()
    status = np.zeros(n_starts, dtype=np.int8)
    stopped_at = np.full(n_starts, -1, dtype=np.int64)
    args = dict(
        XST=state, STATUS=status, STOPPED=stopped_at, XS=xs, SAVED=saved, slot0=1, t0=0, t1=0,
        ZSEED=_seed_hash(seed), IDS=np.ascontiguousarray(start_ids, dtype=np.int64).view(np.uint64),
        FAR2=far_threshold(bound, dtype), **_pack(kernel.layout, plan, n_starts, dtype),
    )
    if kernel.layout.schedule_rows:  # the factors of no step yet: each call gets its own (compiled_backend)
        args["SF"] = _factors(kernel.layout, plan, 0, 0, dtype)
    for name in plan.state_names:
        start = (initial or {}).get(name)
        args[codegen.KERNEL_STATE[name][0]] = (np.zeros((n_starts, dim), dtype=dtype) if start is None
                                                else np.array(start, dtype=dtype, order="C"))
    return args, xs, status, stopped_at


def compiled_backend(landscape, optimizer, x0: np.ndarray, saved_steps: np.ndarray, *, seed: int,
                     start_ids: np.ndarray, bound: float, progress, state=None, first_step: int = 0, status=None):
    """Fused-kernel backend; same contract and results as :func:`integrate.numpy_backend`.

    Raises :class:`codegen.UnsupportedLandscape` or :class:`KernelBuildError` before any step when the
    kernel cannot be built.
    """
    n_starts = x0.shape[0]
    continued_status = status
    run_plan = plan(landscape, optimizer, x0.dtype)
    kernel, function = prepare(run_plan, n_starts)
    args, xs, status, stopped_at = _arguments(kernel, run_plan, x0, saved_steps, seed=seed, start_ids=start_ids,
                                              bound=bound, initial=state)
    # the kernel counts the run's absolute steps (its draws and Switch steps are keyed by them): a continued run's
    # saved steps are shifted to them, and its stop steps shifted back below
    saved = args["SAVED"] = args["SAVED"] + first_step
    if continued_status is not None:  # a continued run's frozen starts stay frozen (the kernel reads STATUS per block)
        status[:], stopped_at[:] = initial_status(continued_status, n_starts)
        stopped_at[stopped_at >= 0] += first_step  # the kernel's absolute steps, shifted back below
    width = 1 if function is kernel.single else run_plan.lanes
    last = int(saved[-1])
    n_blocks = -(-n_starts // width)
    workers = min(_threads(), n_blocks)
    # several pieces per thread so that blocks which froze early do not leave a thread idle
    n_pieces = 1 if workers == 1 else min(n_blocks, 8 * workers)
    edges = np.linspace(0, n_blocks, n_pieces + 1).round().astype(int)
    chunk = max(1, CHUNK_WORK // n_starts)
    scheduled = bool(kernel.layout.schedule_rows)
    if scheduled:
        chunk = min(chunk, SCHEDULE_CHUNK_STEPS)
    t = first_step
    while t < last:
        t1 = min(last, t + chunk)
        call = {**args, "t0": t, "t1": t1, "slot0": int(np.searchsorted(saved, t, side="right"))}
        if scheduled:
            call["SF"] = _factors(kernel.layout, run_plan, t, t1, x0.dtype)
        if n_pieces == 1:
            function(**{**call, "blk0": 0, "blk1": n_blocks})
        else:
            jobs = [_executor(workers).submit(function, **{**call, "blk0": int(a), "blk1": int(b)})
                    for a, b in zip(edges[:-1], edges[1:]) if b > a]
            for job in jobs:
                job.result()
        t = t1
        progress.update(t - first_step)
        if progress.stop_requested:  # Ctrl-C under simulate(on_interrupt="return"): keep the steps done
            xs = kept_so_far(xs, int(np.searchsorted(saved, t, side="right")), args["XST"], t - first_step,
                             saved - first_step)
            break
    progress.update(t - first_step)
    stopped_at[stopped_at >= 0] -= first_step
    final_state = {name: args[codegen.KERNEL_STATE[name][0]] for name in run_plan.state_names}
    return xs, status, stopped_at, _saved_loss(kernel, xs, workers), final_state


def _saved_loss(kernel: Kernel, xs: np.ndarray, workers: int) -> np.ndarray | None:
    """The loss at the saved iterates ``xs`` ``(n_saved, n_starts, dim)`` by the kernel module's own loss function
    on the thread pool, or ``None`` (the caller evaluates the landscape) for few points or a finite sum."""
    points = xs.reshape(-1, xs.shape[-1])
    if kernel.loss is None or len(points) < LOSS_FROM_POINTS:
        return None
    out = np.empty(len(points), dtype=xs.dtype)
    edges = np.linspace(0, len(points), 4 * workers + 1).round().astype(int)
    jobs = [_executor(workers).submit(kernel.loss, points, out, int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
    for job in jobs:
        job.result()
    _seal(kernel)  # the loss function is compiled, and its cache files written, on its first call
    return out.reshape(xs.shape[:-1])
