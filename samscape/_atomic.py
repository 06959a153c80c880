"""Atomic file output shared by every layer: a reader never sees half a file, and nothing a user saved is lost."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager


@contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step (``os.replace``).

    A failure leaves the old file untouched and no temporary file behind. The result gets the usual
    permissions (``0o666`` less the umask), not ``mkstemp``'s private ``0o600``, so a web server can serve it.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(path)[1], dir=directory)
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
