"""The kernel cache folder is trusted with code, so it is used only when it is private.

numba's cache index is a pickle and Python prefers a ``__pycache__`` ``.pyc`` to the source beside it:
whoever can write the cache folder can run code in our process. These tests plant what another user could
plant and check that it is refused or never executed, and that without a disk cache kernels still run.
"""

from __future__ import annotations

import importlib.util
import os
import py_compile
import stat
import tempfile
import warnings

import numpy as np
import pytest

from samscape import dynamics as dy
from samscape import landscapes

if importlib.util.find_spec("numba") is None:
    pytest.skip("numba is not installed; the compiled backend is optional", allow_module_level=True)

from samscape.dynamics import codegen, compiled  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")

NOT_CACHED = "compiled kernels are not cached on disk"


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """A private cache root in tmp_path, no kernel in memory and no cache warning given yet.

    The shared temporary folder is redirected too, so a test can see whether anything was put there.
    """
    shared_tmp = tmp_path / "shared-tmp"
    shared_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shared_tmp))
    monkeypatch.setenv(compiled.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(compiled, "_warned_about_cache", False)
    compiled.clear_memory_cache()
    yield tmp_path
    compiled.clear_memory_cache()


def quadratic(coefficient: float):
    """A landscape whose kernel no other test builds (a new coefficient gives a new kernel)."""
    return landscapes.from_expr(f"0.5*u**2 + {coefficient}*v**4", ["u", "v"])


def cache_warnings(record) -> list[str]:
    return [str(w.message) for w in record if NOT_CACHED in str(w.message)]


def test_a_new_cache_folder_is_created_private(fresh):
    """The folder the loader creates is ours with mode 0700, and the kernel's source is written into it."""
    kernel = compiled.get_kernel(quadratic(0.25), dy.GD(lr=0.1))
    folder = fresh / "cache" / "kernels"
    info = os.stat(folder)
    assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.getuid()
    assert kernel.path is not None and kernel.path.parent == folder and kernel.path.exists()


def test_a_cache_folder_others_can_write_is_refused(fresh):
    """A folder planted with group/other write bits is refused with one warning and nothing is written to it."""
    folder = fresh / "cache" / "kernels"
    folder.mkdir(parents=True)
    os.chmod(folder, 0o777)
    with pytest.warns(RuntimeWarning, match="can be written by other users") as record:
        kernel = compiled.get_kernel(quadratic(0.26), dy.GD(lr=0.1))
    assert len(cache_warnings(record)) == 1
    assert str(folder) in cache_warnings(record)[0] and compiled.CACHE_ENV in cache_warnings(record)[0]
    assert kernel.path is None
    assert os.listdir(folder) == []
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o777  # refused, not silently "repaired"


def test_a_cache_folder_owned_by_another_user_is_refused(fresh, monkeypatch):
    """A folder another user created (and so controls) is refused even when its mode is 0700."""
    folder = fresh / "cache" / "kernels"
    folder.mkdir(parents=True, mode=0o700)
    if os.getuid() == 0:
        os.chown(folder, 65534, 65534)
        owner = 65534
    else:  # without root, pretend to be someone else: the folder then belongs to another uid
        owner = os.getuid()
        monkeypatch.setattr(compiled.os, "getuid", lambda: owner + 1)
    assert compiled.cache_problem(folder) == (
        f"belongs to uid {owner}, not to the current user (uid {compiled.os.getuid()})")
    with pytest.warns(RuntimeWarning, match=f"belongs to uid {owner}"):
        kernel = compiled.get_kernel(quadratic(0.27), dy.GD(lr=0.1))
    assert kernel.path is None
    assert os.listdir(folder) == []


def test_a_folder_inside_a_folder_others_can_write_is_refused(fresh):
    """Whoever can write a parent folder can swap ours for theirs, so that is refused too (sticky /tmp is fine)."""
    parent = fresh / "cache"
    (parent / "kernels").mkdir(parents=True, mode=0o700)
    os.chmod(parent, 0o777)
    assert compiled.cache_problem(parent / "kernels") == f"is inside {parent}, which other users can write (mode 0777)"
    os.chmod(parent, 0o777 | stat.S_ISVTX)
    assert compiled.cache_problem(parent / "kernels") is None


def test_a_symlink_in_a_folder_others_can_write_is_refused(fresh):
    """A link to a private folder, kept in a folder others can write, can be pointed elsewhere at any time."""
    private = fresh / "private"
    private.mkdir(mode=0o700)
    shared = fresh / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    (shared / "kernels").symlink_to(private)
    assert compiled.cache_problem(private) is None
    assert compiled.cache_problem(shared / "kernels") == f"is inside {shared}, which other users can write (mode 0777)"


def test_our_own_readable_folder_is_tightened_to_0700(fresh):
    """A folder of ours that others could only read (e.g. made by an older version) is narrowed and used:
    nobody else can have written into it."""
    folder = fresh / "cache" / "kernels"
    folder.mkdir(parents=True)
    os.chmod(folder, 0o755)
    kernel = compiled.get_kernel(quadratic(0.28), dy.GD(lr=0.1))
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert kernel.path is not None and kernel.path.exists()


def test_a_planted_pyc_is_never_executed(fresh, monkeypatch):
    """A ``.pyc`` planted beside the kernel's source (one an import would run) never runs: the kernel is
    compiled from the text in memory."""
    landscape, optimizer = quadratic(0.29), dy.GD(lr=0.1)
    source, _, key = codegen.kernel_source(landscape, optimizer)
    folder = fresh / "cache" / "kernels"
    folder.mkdir(parents=True, mode=0o700)
    target = folder / f"k_{key}.py"
    target.write_text(source)
    evil = fresh / "evil.py"
    evil.write_text("import os\nos.environ['SAMSCAPE_PLANTED'] = 'ran'\nkernel = kernel1 = None\n")
    # an unchecked-hash .pyc is used by an import whatever the source file beside it says
    py_compile.compile(str(evil), cfile=importlib.util.cache_from_source(str(target)),
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH, doraise=True)
    monkeypatch.delenv("SAMSCAPE_PLANTED", raising=False)

    spec = importlib.util.spec_from_file_location("planted_probe", target)  # what an import would do
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert os.environ.pop("SAMSCAPE_PLANTED") == "ran"

    x0 = np.array([[0.5, -0.4], [1.2, 0.3]])
    out = dy.simulate(landscape, optimizer, x0, 5, backend="compiled")
    assert "SAMSCAPE_PLANTED" not in os.environ
    ref = dy.simulate(landscape, optimizer, x0, 5, backend="numpy")
    np.testing.assert_array_equal(out.xs, ref.xs)


def test_an_unusable_cache_still_runs_kernels_without_a_disk_cache(fresh, monkeypatch):
    """When $SAMSCAPE_CACHE cannot hold a folder (it is a file), kernels are compiled in memory and give the
    NumPy backend's numbers; nothing goes to the shared temporary folder, and the warning comes once."""
    blocker = fresh / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv(compiled.CACHE_ENV, str(blocker))
    x0 = np.array([[0.5, -0.4], [1.2, 0.3], [-0.8, 0.9]])
    before = compiled.cache_info()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for coefficient in (0.31, 0.32):  # two kernels, two loads, one warning
            landscape = quadratic(coefficient)
            out = dy.simulate(landscape, dy.SAM(lr=0.1, rho=0.05), x0, 6, backend="compiled")
            ref = dy.simulate(landscape, dy.SAM(lr=0.1, rho=0.05), x0, 6, backend="numpy")
            np.testing.assert_array_equal(out.xs, ref.xs)
            assert compiled.get_kernel(landscape, dy.SAM(lr=0.1, rho=0.05)).path is None
    after = compiled.cache_info()
    assert after["loads"] == before["loads"] + 2 and after["compiles"] == before["compiles"] + 2
    assert len(cache_warnings(record)) == 1
    assert "cannot be created" in cache_warnings(record)[0] and str(blocker) in cache_warnings(record)[0]
    assert os.listdir(tempfile.gettempdir()) == []


def test_a_numba_cache_dir_others_can_write_is_refused(fresh, monkeypatch):
    """With NUMBA_CACHE_DIR set, numba writes its pickled index there: a folder others can write disables the
    disk cache (one warning naming NUMBA_CACHE_DIR) and nothing is written to it."""
    import numba

    planted = fresh / "numba-cache"
    planted.mkdir()
    os.chmod(planted, 0o777)
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(planted))
    with pytest.warns(RuntimeWarning, match="can be written by other users") as record:
        kernel = compiled.get_kernel(quadratic(0.31), dy.GD(lr=0.1))
    assert len(cache_warnings(record)) == 1
    assert str(planted) in cache_warnings(record)[0] and "NUMBA_CACHE_DIR" in cache_warnings(record)[0]
    assert kernel.path is None
    assert os.listdir(planted) == []


def test_a_missing_numba_cache_dir_is_created_private(fresh, monkeypatch):
    """A NUMBA_CACHE_DIR that does not exist yet is created with mode 0700, and the disk cache stays on."""
    import numba

    wanted = fresh / "numba-cache" / "nested"
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(wanted))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kernel = compiled.get_kernel(quadratic(0.32), dy.GD(lr=0.1))
    assert kernel.path is not None
    assert stat.S_IMODE(os.stat(wanted).st_mode) == 0o700 and os.stat(wanted).st_uid == os.getuid()
