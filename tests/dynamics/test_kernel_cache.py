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
    kernel = compiled.get_kernel(compiled.plan(quadratic(0.25), dy.GD(lr=0.1)))
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
        kernel = compiled.get_kernel(compiled.plan(quadratic(0.26), dy.GD(lr=0.1)))
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
        kernel = compiled.get_kernel(compiled.plan(quadratic(0.27), dy.GD(lr=0.1)))
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
    kernel = compiled.get_kernel(compiled.plan(quadratic(0.28), dy.GD(lr=0.1)))
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert kernel.path is not None and kernel.path.exists()


def test_a_planted_pyc_is_never_executed(fresh, monkeypatch):
    """A ``.pyc`` planted beside the kernel's source (one an import would run) never runs: the kernel is
    compiled from the text in memory."""
    landscape, optimizer = quadratic(0.29), dy.GD(lr=0.1)
    source, _, key = codegen.kernel_source(codegen.kernel_plan(landscape, optimizer))
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
            assert compiled.get_kernel(compiled.plan(landscape, dy.SAM(lr=0.1, rho=0.05))).path is None
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
        kernel = compiled.get_kernel(compiled.plan(quadratic(0.31), dy.GD(lr=0.1)))
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
        kernel = compiled.get_kernel(compiled.plan(quadratic(0.32), dy.GD(lr=0.1)))
    assert kernel.path is not None
    assert stat.S_IMODE(os.stat(wanted).st_mode) == 0o700 and os.stat(wanted).st_uid == os.getuid()


# ---------------------------------------------------------------------------------------------- another user
# What another user can do to a cache folder, played by root planting files as uid 65534 (nobody).
OTHER = 65534
as_root = pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0,
                             reason="planting files as another user needs root (os.chown)")


class _Planted:
    """A pickle that, when loaded, creates the folder ``marker``: the code another user would run in our process."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def give_away(path, uid=OTHER):
    """Make ``path`` and everything below it belong to ``uid`` (links themselves, not their targets)."""
    for folder, names, files in os.walk(path):
        for name in names + files:
            os.lchown(os.path.join(folder, name), uid, uid)
    os.lchown(path, uid, uid)


def plant_index(folder, landscape, optimizer, marker) -> list[str]:
    """Write, where numba looks for them, a cache index for every compiled function of the kernel of ``landscape``
    and ``optimizer``: a pickle that creates ``marker`` when numba reads it. Returns the files' names."""
    import pickle
    import sys

    source, _, key = codegen.kernel_source(codegen.kernel_plan(landscape, optimizer))
    lines = source.splitlines()
    version = f"py{sys.version_info[0]}{sys.version_info[1]}{getattr(sys, 'abiflags', '')}"
    pycache = folder / "__pycache__"
    pycache.mkdir(exist_ok=True)
    names = []
    for number, line in enumerate(lines, 1):  # numba's index name: <stem>.<function>-<line of its decorator>...
        if line.startswith("@njit") and lines[number].startswith("def "):
            function = lines[number][4:].split("(")[0]
            names.append(f"k_{key}.{function}-{number}.{version}.nbi")
            (pycache / names[-1]).write_bytes(pickle.dumps(_Planted(marker)))
    (folder / f"k_{key}.py").write_text(source)
    assert any(".kernel1-" in name for name in names)
    return names


def private_dir(monkeypatch):
    """``compiled._private_cache_dir()`` with its once-per-process warning re-armed, and the warnings it gave."""
    monkeypatch.setattr(compiled, "_warned_about_cache", False)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        folder = compiled._private_cache_dir()
    return folder, cache_warnings(record)


def has_no_link(path) -> bool:
    return not any(os.path.islink(p) for p in [path, *path.parents])


@as_root
def test_a_folder_once_open_to_others_is_refused_after_its_permissions_are_fixed(fresh, monkeypatch):
    """A folder others could write gets a warning that says to delete it, never to fix its permissions: another
    user who planted numba's cache index (a pickle) meanwhile would otherwise run code in the next process that
    follows the advice. After `chmod 700` the planted files are still there and still refused, and never loaded."""
    landscape, optimizer = quadratic(0.33), dy.GD(lr=0.1)
    folder = fresh / "cache" / "kernels"
    folder.mkdir(parents=True)
    os.chmod(folder, 0o777)
    refused, messages = private_dir(monkeypatch)
    assert refused is None and len(messages) == 1
    assert "delete it" in messages[0] and "chmod" not in messages[0] and "fix" not in messages[0]
    marker = fresh / "planted-code-ran"
    pycache = folder / "__pycache__"
    pycache.mkdir(exist_ok=True)
    give_away(pycache)  # the other user's folder, made while ours was open
    plant_index(folder, landscape, optimizer, marker)
    give_away(pycache)
    os.chmod(folder, 0o700)  # what the old warning advised
    monkeypatch.setattr(compiled, "_warned_about_cache", False)
    with pytest.warns(RuntimeWarning, match=f"holds {pycache}, which belongs to uid {OTHER}"):
        out = dy.simulate(landscape, optimizer, [[0.5, -0.4]], 3, backend="compiled")
    assert not marker.exists()
    np.testing.assert_array_equal(out.xs, dy.simulate(landscape, optimizer, [[0.5, -0.4]], 3, backend="numpy").xs)


@as_root
@pytest.mark.parametrize("plant", ["__pycache__ of another user", "file of another user", "file others can write",
                                   "symbolic link"])
def test_what_a_private_folder_holds_is_checked_too(fresh, monkeypatch, plant):
    """A folder of ours with mode 0700 is refused when anything inside it (at any depth) belongs to another user,
    is a symbolic link or can be written by others: it may have been put there while the folder was open."""
    folder = fresh / "cache" / "kernels"
    (folder / "__pycache__").mkdir(parents=True, mode=0o700)
    os.chmod(folder, 0o700)
    if plant == "__pycache__ of another user":
        give_away(folder / "__pycache__")
        offender = folder / "__pycache__"
    elif plant == "file of another user":
        offender = folder / "__pycache__" / "k_x.kernel-1.py311.nbi"
        offender.write_bytes(b"")
        give_away(offender)
    elif plant == "file others can write":
        offender = folder / "k_x.py"
        offender.write_text("")
        os.chmod(offender, 0o666)
    else:
        offender = folder / "__pycache__" / "k_x.kernel-1.py311.nbi"
        offender.symlink_to(fresh / "elsewhere")
    problem = compiled.cache_problem(folder)
    assert problem is not None and problem.startswith("holds ") and str(offender) in problem
    refused, messages = private_dir(monkeypatch)
    assert refused is None and len(messages) == 1 and str(offender) in messages[0]


def _path_with_a_link(root, position: int, owner: int):
    """``root/via/a/b/kernels`` whose component ``position`` (0: a, 1: b, 2: kernels) is a symbolic link, owned by
    ``owner``, to the same component of the private folder ``root/real/a/b/kernels``; returns (configured, real)."""
    parts = ["a", "b", "kernels"]
    real = root / "real"
    real.joinpath(*parts).mkdir(parents=True, mode=0o700)
    via = root / "via"
    via.joinpath(*parts[:position]).mkdir(parents=True, exist_ok=True)
    link = via.joinpath(*parts[:position + 1])
    link.symlink_to(real.joinpath(*parts[:position + 1]))
    os.lchown(link, owner, owner)
    return via.joinpath(*parts), real.joinpath(*parts), link


@as_root
@pytest.mark.parametrize("position", [0, 1, 2])
def test_a_link_of_another_user_anywhere_on_the_path_is_refused(fresh, monkeypatch, position):
    """A symbolic link that belongs to another user, in any position of the path ($SAMSCAPE_CACHE's folder, itself,
    the kernels folder), lets that user choose where our code comes from: refused, naming the link, even when it
    points at a private folder of ours now."""
    configured, _, link = _path_with_a_link(fresh, position, OTHER)
    monkeypatch.setenv(compiled.CACHE_ENV, str(configured.parent))
    assert compiled.cache_problem(configured) == (
        f"is reached through the symbolic link {link}, which belongs to uid {OTHER}")
    refused, messages = private_dir(monkeypatch)
    assert refused is None and len(messages) == 1 and compiled.CACHE_ENV in messages[0]


@as_root
@pytest.mark.parametrize("position", [0, 1, 2])
def test_a_link_of_ours_is_resolved_once_and_numba_gets_the_real_folder(fresh, monkeypatch, position):
    """A symbolic link of ours in any position is followed once: the folder handed on (and named in the kernel's
    source path, which numba's cache locator reads) is the resolved one, with no link left in it."""
    configured, real, _ = _path_with_a_link(fresh, position, os.getuid())
    monkeypatch.setenv(compiled.CACHE_ENV, str(configured.parent))
    folder, messages = private_dir(monkeypatch)
    assert messages == [] and folder == real and has_no_link(folder)
    assert compiled.cache_problem(configured) is None


@as_root
@pytest.mark.parametrize("link_owner", [OTHER, "us"])
def test_a_link_flipped_while_we_check_never_hands_over_another_folder(fresh, monkeypatch, link_owner):
    """$SAMSCAPE_CACHE is a link that a thread flips, as fast as it can for a second, between a private folder and
    another user's folder holding a planted index. What the loader hands on is never the other user's folder nor
    the link: the resolved private folder (when the link is ours) or nothing (a refusal)."""
    import threading
    import time

    good, evil = fresh / "good", fresh / "evil"
    (good / "kernels").mkdir(parents=True, mode=0o700)
    os.chmod(good, 0o700)
    (evil / "kernels" / "__pycache__").mkdir(parents=True)
    give_away(evil)
    owner = os.getuid() if link_owner == "us" else link_owner
    link = fresh / "cache-link"
    link.symlink_to(good)
    os.lchown(link, owner, owner)
    monkeypatch.setenv(compiled.CACHE_ENV, str(link))
    stop = threading.Event()

    def flip():
        targets, k = (evil, good), 0
        while not stop.is_set():
            fresh_link = fresh / f"cache-link.{k % 2}"
            fresh_link.symlink_to(targets[k % 2])
            os.lchown(fresh_link, owner, owner)
            os.replace(fresh_link, link)
            k += 1

    flipper = threading.Thread(target=flip, daemon=True)
    flipper.start()
    seen = set()
    try:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            seen.add(private_dir(monkeypatch)[0])
    finally:
        stop.set()
        flipper.join()
    allowed = {None, good / "kernels"} if link_owner == "us" else {None}
    assert seen <= allowed and seen, f"handed over {seen - allowed}"
    assert all(folder is None or has_no_link(folder) for folder in seen)


@as_root
def test_numba_cache_dir_gets_the_same_rule(fresh, monkeypatch):
    """NUMBA_CACHE_DIR (where numba then keeps the pickled index): a link of another user is refused, so is a
    folder holding another user's subfolder; a link of ours is resolved and numba is pointed at the real folder."""
    import numba

    real = fresh / "numba-real"
    real.mkdir(mode=0o700)
    theirs = fresh / "numba-link-theirs"
    theirs.symlink_to(real)
    os.lchown(theirs, OTHER, OTHER)
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(theirs))
    refused, messages = private_dir(monkeypatch)
    assert refused is None and len(messages) == 1
    assert "NUMBA_CACHE_DIR" in messages[0] and f"symbolic link {theirs}" in messages[0]

    ours = fresh / "numba-link-ours"
    ours.symlink_to(real)
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(ours))
    folder, messages = private_dir(monkeypatch)
    assert messages == [] and folder is not None
    assert numba.config.CACHE_DIR == str(real)  # numba reads the folder that was checked
    planted = real / "somewhere_else"
    planted.mkdir()
    give_away(planted)
    refused, messages = private_dir(monkeypatch)
    assert refused is None and len(messages) == 1 and f"holds {planted}" in messages[0]


def test_a_clean_folder_reached_through_links_still_caches_across_processes(tmp_path):
    """Through links of our own (to $SAMSCAPE_CACHE and NUMBA_CACHE_DIR) and under a umask of 002, a second process
    loads the kernel from disk instead of compiling it: the files numba wrote are private, so the second process
    accepts them, and they sit in the resolved folders."""
    import subprocess
    import sys

    real_cache, real_numba = tmp_path / "cache-real", tmp_path / "numba-real"
    real_cache.mkdir(mode=0o700)
    real_numba.mkdir(mode=0o700)
    (tmp_path / "cache").symlink_to(real_cache)
    (tmp_path / "numba").symlink_to(real_numba)
    script = (
        "import os, warnings\n"
        "os.umask(0o002)\n"
        "warnings.simplefilter('error')\n"
        "from samscape import landscapes, dynamics as dy\n"
        "from samscape.dynamics import compiled\n"
        "L = landscapes.from_expr('0.5*u**2 + 0.34*v**4', ['u', 'v'])\n"
        "dy.simulate(L, dy.GD(lr=0.1), [[0.5, 0.5]], 3, backend='compiled')\n"
        "info = compiled.cache_info()\n"
        "print(info['compiles'], info['disk_hits'])\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "SAMSCAPE_CACHE": str(tmp_path / "cache"), "NUMBA_CACHE_DIR": str(tmp_path / "numba"),
           "PYTHONPATH": root}
    first = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.split() == ["1", "0"]
    assert second.stdout.split() == ["0", "1"]
    assert any(real_numba.rglob("*.nbi")) and any(real_cache.joinpath("kernels").glob("k_*.py"))
