"""Atomic file output shared by every layer: a reader never sees half a file, and nothing a user saved is lost.

Temporary files are named ``.tmp-samscape-<pid>-<random><suffix>`` beside the target, so that a later save can
tell ours from anyone else's and recognise the ones whose writer was killed (see :func:`remove_stale`).
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
import time
from contextlib import contextmanager

TEMP_PREFIX = ".tmp-samscape-"
# A temporary file untouched for this long, whose writer is gone, is debris of a killed save.
STALE_SECONDS = 3600.0
_OURS = re.compile(re.escape(TEMP_PREFIX) + r"(\d+)-")


def _temp_prefix() -> str:
    return f"{TEMP_PREFIX}{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists but belongs to someone else (or we cannot tell): leave its file alone
    return True


def remove_stale(directory, *, now: float | None = None) -> list[str]:
    """Delete our temporary files in ``directory`` that a killed save left behind; return their names.

    A file is removed only when all three hold: its name has our prefix ``.tmp-samscape-<pid>-``; it has not
    been modified for :data:`STALE_SECONDS` (an hour; a save in progress keeps writing to its file); and the
    process ``<pid>`` is not running on this machine. The age test also protects a writer on another machine
    sharing the folder whose pid happens to be free here. Anything that cannot be checked or removed is left.
    """
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = _OURS.match(entry.name)
        if not match:
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or now - entry.stat(follow_symlinks=False).st_mtime < STALE_SECONDS:
                continue
            if _pid_alive(int(match.group(1))):
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(entry.name)
    return removed


def _renamed(err: OSError, path: str) -> OSError:
    """The same error, naming the user's ``path`` instead of our temporary file."""
    return OSError(err.errno, err.strerror or str(err), path)  # OSError picks the subclass from errno


def check_writable(path) -> str:
    """Refuse, before any work, a ``path`` that :func:`atomic_output` could not write; returns the path.

    ``path`` must not be an existing directory, and its folder (or the nearest existing ancestor, in which the
    missing folders would be created) must accept a new file: a probe file is created there and removed.
    Raises ``OSError`` naming ``path``.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "is an existing directory, not a file", path)
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise NotADirectoryError(errno.ENOTDIR, f"{folder!r} is a file, not a folder", path)
    try:
        fd, probe = tempfile.mkstemp(prefix=_temp_prefix(), suffix=".probe", dir=folder)
    except OSError as err:
        raise _renamed(err, path) from None
    os.close(fd)
    os.unlink(probe)
    return path


@contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step (``os.replace``).

    A failure leaves the old file untouched and no temporary file behind; an ``OSError`` names ``path``, not
    the temporary file. The result gets the usual permissions (``0o666`` less the umask), not ``mkstemp``'s
    private ``0o600``, so a web server can serve it. Stale temporary files of earlier, killed saves in the
    same folder are removed first (see :func:`remove_stale`).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        remove_stale(directory)
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(), suffix=os.path.splitext(path)[1], dir=directory)
    except OSError as err:
        raise _renamed(err, path) from None
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.filename == tmp:
            raise _renamed(err, path) from None
        raise
