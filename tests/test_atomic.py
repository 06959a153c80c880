"""Atomic output: a killed save's temporary file is cleaned by the next save in that folder (and only ours,
only when stale), and write errors name the user's path, checked before any work by check_writable."""

import os
import signal
import subprocess
import sys
import time

import pytest

from samscape import _atomic

KILLED_SAVE = """
import os, signal, sys
from samscape._atomic import atomic_output
with atomic_output(sys.argv[1]) as tmp:
    print(tmp, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _age(path, seconds):
    old = time.time() - seconds
    os.utime(path, (old, old))


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_save_killed_midway_leaves_a_temp_that_the_next_save_removes_once_stale(tmp_path):
    """SIGKILL inside atomic_output leaves a 0-byte temporary; a later save removes it once it is an hour old
    (its writer is dead) and keeps it while it is recent."""
    target = tmp_path / "run.npz"
    root = os.path.dirname(os.path.dirname(_atomic.__file__))  # the samscape under test, not an installed one
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    killed = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(target)], capture_output=True, text=True, env=env)
    assert killed.returncode == -signal.SIGKILL
    leftover = killed.stdout.strip()
    assert os.path.basename(leftover).startswith(_atomic.TEMP_PREFIX) and os.path.getsize(leftover) == 0
    with _atomic.atomic_output(target) as tmp:
        open(tmp, "w").close()
    assert os.path.exists(leftover)  # recent: a slow writer elsewhere could still own it
    _age(leftover, _atomic.STALE_SECONDS + 60)
    with _atomic.atomic_output(target) as tmp:
        open(tmp, "w").close()
    assert sorted(os.listdir(tmp_path)) == ["run.npz"]


def test_only_our_stale_files_of_dead_writers_are_removed(tmp_path):
    """remove_stale deletes a file with our prefix, an hour old, whose pid is dead; it keeps recent ones, ones of
    a live writer (this process) and anything without our prefix."""
    dead = _dead_pid()
    names = {
        "stale": f"{_atomic.TEMP_PREFIX}{dead}-abc.npz",
        "recent": f"{_atomic.TEMP_PREFIX}{dead}-def.npz",
        "alive": f"{_atomic.TEMP_PREFIX}{os.getpid()}-ghi.npz",
        "foreign": ".tmp-abcdef.npz",
        "user": "run.npz",
    }
    for key, name in names.items():
        (tmp_path / name).write_bytes(b"")
        if key != "recent":
            _age(tmp_path / name, _atomic.STALE_SECONDS + 60)
    assert _atomic.remove_stale(tmp_path) == [names["stale"]]
    assert sorted(os.listdir(tmp_path)) == sorted(v for k, v in names.items() if k != "stale")


def test_write_errors_name_the_users_path_not_the_temporary(tmp_path):
    """A target inside a file (not a folder) fails naming the target, before and during the save."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    target = str(blocker / "out.npz")
    with pytest.raises(NotADirectoryError) as info:
        _atomic.check_writable(target)
    assert info.value.filename == target
    with pytest.raises(OSError) as info:
        with _atomic.atomic_output(target):
            pass
    assert info.value.filename == target


def test_check_writable_refuses_a_directory_and_leaves_no_probe(tmp_path):
    """An existing directory is not a file to write; a writable folder passes and keeps no probe file; a
    missing folder is judged by its nearest existing ancestor (and not created)."""
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(IsADirectoryError) as info:
        _atomic.check_writable(tmp_path / "dir.npz")
    assert info.value.filename == str(tmp_path / "dir.npz")
    assert _atomic.check_writable(tmp_path / "new" / "deep" / "x.npz") == str(tmp_path / "new" / "deep" / "x.npz")
    assert sorted(os.listdir(tmp_path)) == ["dir.npz"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write to a read-only folder")
def test_check_writable_refuses_a_read_only_folder(tmp_path):
    """A folder without write permission is refused, naming the target."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(PermissionError) as info:
            _atomic.check_writable(folder / "x.npz")
        assert info.value.filename == str(folder / "x.npz")
    finally:
        folder.chmod(0o755)
