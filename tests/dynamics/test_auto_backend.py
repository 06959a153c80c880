"""`auto` counts a kernel that an earlier process compiled and left on disk at its load cost, not its compile cost.

A second-long run then takes the compiled path in every process after the first, not only in the process
that compiled. "An earlier process" is played here by compiling, then forgetting every kernel in memory:
what is left is exactly what a new process finds, the source and numba's cache files on disk.
"""

from __future__ import annotations

import importlib.util
import math
import os

import pytest

from samscape import dynamics as dy
from samscape import landscapes
from samscape.dynamics import integrate

if importlib.util.find_spec("numba") is None:
    pytest.skip("numba is not installed; the compiled backend is optional", allow_module_level=True)

from samscape.dynamics import compiled  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(os, "getuid"), reason="the disk cache needs POSIX owners and modes")

N_STARTS = 10_000


def steps_for(seconds: float) -> int:
    """Steps of N_STARTS starts for which the NumPy estimate of resolve_backend is ``seconds``."""
    per_step = N_STARTS * integrate._NUMPY_SECONDS_PER_POINT_STEP + integrate._NUMPY_SECONDS_PER_STEP
    return math.ceil(seconds / per_step)


# NumPy would take longer than loading a kernel from disk, but not long enough to pay for compiling one
BETWEEN = steps_for((integrate.AUTO_LOAD_SECONDS + integrate.AUTO_COMPILE_SECONDS) / 2)


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """A private, empty kernel cache and no kernel in memory."""
    monkeypatch.setenv(compiled.CACHE_ENV, str(tmp_path / "cache"))
    compiled.clear_memory_cache()
    yield tmp_path
    compiled.clear_memory_cache()


def bowl(coefficient: float):
    """A landscape whose kernel no other test builds."""
    return landscapes.from_expr(f"0.5*u**2 + {coefficient}*v**2", ["u", "v"])


def compile_then_forget(landscape, optimizer, n_starts=N_STARTS):
    """Compile the kernel of a run of ``n_starts`` (written to the disk cache), then drop it from memory."""
    compiled.prepare(compiled.plan(landscape, optimizer, "float64"), n_starts)
    compiled.clear_memory_cache()


def on_disk(landscape, optimizer, dtype: str, n_starts: int) -> bool:
    """Whether the kernel of that run is on disk, as auto's readiness question looks there (memory aside)."""
    return compiled._on_disk(compiled.plan(landscape, optimizer, dtype), n_starts)


def test_the_rule_sits_between_load_and_compile():
    """The test sizes mean what they claim: BETWEEN steps cost more than a load and less than a compile."""
    assert integrate.AUTO_REUSE_SECONDS < integrate.AUTO_LOAD_SECONDS < integrate.AUTO_COMPILE_SECONDS
    per_step = N_STARTS * integrate._NUMPY_SECONDS_PER_POINT_STEP + integrate._NUMPY_SECONDS_PER_STEP
    assert integrate.AUTO_LOAD_SECONDS < BETWEEN * per_step < integrate.AUTO_COMPILE_SECONDS


def test_without_a_kernel_on_disk_auto_runs_numpy_and_compiles_nothing(fresh):
    """With an empty cache a run between the load and compile costs stays on NumPy, and nothing is compiled."""
    landscape, opt = bowl(0.31), dy.SAM(lr=0.1, rho=0.05)
    before = compiled.cache_info()
    assert not on_disk(landscape, opt, "float64", N_STARTS)
    assert integrate.resolve_backend("auto", landscape, opt, N_STARTS, BETWEEN) == "numpy"
    assert compiled.cache_info()["compiles"] == before["compiles"]


def test_a_kernel_on_disk_is_loaded_not_compiled(fresh):
    """One readiness question for auto: a kernel is to build, in memory once compiled here, and on disk once this
    process has forgotten it (what a new process finds), for any lr and rho of the same structure (the disk is not
    looked at unless asked). The run then resolves to the compiled backend, and the kernel comes from numba's disk
    cache (a disk hit), not from a new compilation."""
    landscape, opt = bowl(0.32), dy.SAM(lr=0.1, rho=0.05)
    plan = compiled.plan(landscape, opt, "float64")
    assert compiled.readiness(plan, N_STARTS) == compiled.TO_BUILD
    compiled.prepare(plan, N_STARTS)
    assert compiled.readiness(plan, N_STARTS) == compiled.IN_MEMORY
    compiled.clear_memory_cache()
    other = compiled.plan(landscape, dy.SAM(lr=0.3, rho=0.2), "float64")
    assert compiled.readiness(other, N_STARTS) == compiled.ON_DISK
    assert compiled.readiness(other, N_STARTS, look_on_disk=False) == compiled.TO_BUILD
    before = compiled.cache_info()
    assert integrate.resolve_backend("auto", landscape, opt, N_STARTS, BETWEEN) == "compiled"
    after = compiled.cache_info()
    assert after["disk_hits"] == before["disk_hits"] + 1 and after["compiles"] == before["compiles"]


def test_short_runs_stay_on_numpy_even_with_the_kernel_on_disk(fresh):
    """A run NumPy finishes faster than a load takes stays on NumPy though the kernel is on disk."""
    landscape, opt = bowl(0.33), dy.GD(lr=0.1)
    compile_then_forget(landscape, opt)
    short = steps_for(integrate.AUTO_LOAD_SECONDS / 2)
    assert integrate.resolve_backend("auto", landscape, opt, N_STARTS, short) == "numpy"


def test_the_disk_check_is_per_kernel_function_and_per_source_text(fresh):
    """Only the variant that was compiled counts (the lane kernel does not stand for the one-start kernel),
    and a source file whose text differs from the generated one does not count."""
    landscape, opt = bowl(0.34), dy.USAM(lr=0.1, rho=0.05)
    compile_then_forget(landscape, opt)
    assert on_disk(landscape, opt, "float64", N_STARTS)
    assert not on_disk(landscape, opt, "float64", 1)
    assert not on_disk(landscape, opt, "float32", N_STARTS)
    (source,) = (fresh / "cache" / "kernels").glob("k_*.py")
    source.write_text(source.read_text() + "\n# edited\n")
    assert not on_disk(landscape, opt, "float64", N_STARTS)


def test_the_disk_check_finds_numbas_files_under_numba_cache_dir(fresh, monkeypatch):
    """With NUMBA_CACHE_DIR set numba keeps its index elsewhere; the check looks where numba wrote it."""
    import numba

    monkeypatch.setattr(numba.config, "CACHE_DIR", str(fresh / "numba"))
    landscape, opt = bowl(0.35), dy.SAM(lr=0.1, rho=0.05)
    compile_then_forget(landscape, opt)
    assert not list((fresh / "cache" / "kernels").glob("__pycache__/*.nbi"))
    assert list((fresh / "numba").rglob("*.nbi"))
    assert on_disk(landscape, opt, "float64", N_STARTS)
