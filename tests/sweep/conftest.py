"""Helpers shared by the sweep tests."""

import os

import pytest


def _modification_times(store) -> dict[str, int]:
    out = {}
    for folder, _, names in os.walk(store):
        for name in names:
            path = os.path.join(folder, name)
            out[path] = os.stat(path).st_mtime_ns
    return out


@pytest.fixture
def file_times():
    """``file_times(store)``: every file below ``store`` with its modification time in ns, to show what a call rewrote."""
    return _modification_times
