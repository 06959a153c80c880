"""What a sweep needs before it runs: memory in this process (the driver), memory for one block on a worker, and
disk for its store. Each is estimated from sizes alone, before any array is built, and a sweep that does not fit
is refused in one sentence with the estimate and the remedy, before anything is written.

The estimates are deliberately on the high side (the store is counted uncompressed); what they must never do is
let through a sweep that cannot run, which is what a 3000 x 3000 grid, a hundred million starts, ten billion
seeds or ``steps=10**12, every=1`` did before: seconds to minutes of work, then a ``MemoryError``.
"""

from __future__ import annotations

import inspect
import math
import os
import shutil

import numpy as np

from .. import dynamics
from ..dynamics import memory_estimate
from ..dynamics import size_text

# Memory of this process per block of the store, measured with 5,000 and 20,000 blocks: dask's graph of the store's
# chunks when it is created (about 9 KiB a block) and when its fates are summed for the closing line of
# `samscape sweep` (55-60 KiB a block at the peak), and the run's list of blocks and their markers.
DRIVER_BYTES_PER_BLOCK = 64 * 2**10
# A swept value as a Python number in a list, then in the arrays made from it (checked, recorded, coordinates).
GRID_BYTES_PER_VALUE = 64
# The starts as parsed, the float64 copy written as a coordinate, the bytes hashed for the recipe's digest, and
# their temporaries while they are made (a meshgrid, random draws).
START_COPIES = 5
# A completion marker is a file of a few hundred bytes: one block of the file system.
MARKER_DISK_BYTES = 4096


class DoesNotFit(ValueError):
    """A sweep whose estimated memory or disk exceeds what is available; the message says how much and what to change."""


def _parts(parts: dict[str, float]) -> str:
    return ", ".join(f"{name} {size_text(value)}" for name, value in parts.items() if value)


def _largest(parts: dict[str, float]) -> str:
    return max(parts, key=parts.get)


# ---------------------------------------------------------------------------------------------- this process
def driver_bytes(sizes: dict[str, int], n_starts: int, dim: int, n_kept: int, n_blocks: int) -> dict[str, int]:
    """Memory this process needs for a sweep of these sizes, by part: its starts, its swept values, the
    coordinate of the kept steps and the bookkeeping of its blocks."""
    return {
        "starts": n_starts * dim * 8 * START_COPIES,
        "swept values": sum(sizes.values()) * GRID_BYTES_PER_VALUE,
        "kept-step coordinate": n_kept * 8 * 2,
        "block bookkeeping": n_blocks * DRIVER_BYTES_PER_BLOCK,
    }


def check_driver(parts: dict[str, int], *, every: int | None) -> None:
    """Refuse a sweep whose driver estimate exceeds the memory available now."""
    available = dynamics.available_memory()
    total = sum(parts.values())
    if available is None or total <= available:
        return
    remedy = {
        "starts": "use fewer starts",
        "swept values": "use a coarser grid (fewer values)",
        "kept-step coordinate": f"keep fewer iterates with a larger every= (now {every})",
        "block bookkeeping": "use a coarser grid (fewer values, fewer seeds) or larger blocks (block_points=)",
    }[_largest(parts)]
    raise DoesNotFit(f"this sweep needs about {size_text(total)} of memory in this process ({_parts(parts)}) but only "
                     f"{size_text(available)} is available; {remedy}")


# ---------------------------------------------------------------------------------------------- one block
def _fates_window() -> int:
    """The iterates ``classify_fates`` adds to each point to judge it (its ``window``), read off its signature."""
    from ..theory import classify_fates

    return int(inspect.signature(classify_fates).parameters["window"].default)


def block_bytes(landscape, optimizer, points: int, *, steps: int, every: int | None, n_swept: int, dtype: str,
                backend: str) -> dict[str, int]:
    """Memory one block of ``points`` needs on a worker, by part: its run (``dynamics.memory_estimate``: kept
    iterates and working arrays), the fates' extra iterates, the Hessians of the sharpness, and the block's
    values as written to the store."""
    dim = landscape.dim
    itemsize = np.dtype(dtype).itemsize
    kept = dynamics.n_saved_steps(steps, every if every is not None else max(steps, 1))
    run = memory_estimate(landscape, optimizer, points, kept, dtype, backend)
    window = _fates_window()
    # the fates step every point window more times on the NumPy path, keeping them all (a cloud of window + 1
    # iterates), then take its deviations from its mean and their norms
    cloud = memory_estimate(landscape, optimizer, points, window + 1, np.float64, "numpy")["total"]
    return {
        "run": run["total"],
        "fates": cloud + points * 8 * (window * dim + window + 4 * dim),
        "sharpness": points * 8 * 3 * dim * dim,
        # the swept values of each point and the results, twice (as computed and as written)
        "results": points * (8 * 2 * (n_swept + 1) + 2 * (8 * dim + 26) + (kept * dim * itemsize if every else 0)),
    }


def point_bytes(landscape, optimizer, *, steps: int, every: int | None, n_swept: int, dtype: str,
                backend: str) -> int:
    """Memory one point adds to a block (the rule that sizes blocks keeps them below a budget with it)."""
    many = 4096
    return max(1, math.ceil(sum(block_bytes(landscape, optimizer, many, steps=steps, every=every, n_swept=n_swept,
                                            dtype=dtype, backend=backend).values()) / many))


def check_block(parts: dict[str, int], budget: int | None, *, points: int, every: int | None, where: str) -> None:
    """Refuse a sweep whose blocks need more memory than a worker has (``budget`` bytes; ``None``: unknown)."""
    total = sum(parts.values())
    if budget is None or total <= budget:
        return
    if points > 1:
        remedy = f"use smaller blocks (block_points= below {points:,}"
        remedy += ", or a new store)" if where else ")"
        if every is not None:
            remedy += f" or keep fewer iterates with a larger every= (now {every})"
    else:
        remedy = (f"keep fewer iterates with a larger every= (now {every})" if every is not None else
                  "use a machine with more memory")
    raise DoesNotFit(f"one block of this sweep ({points:,} points) needs about {size_text(total)} of memory "
                     f"({_parts(parts)}) but {where or 'a worker'} has about {size_text(budget)}; {remedy}")


# ---------------------------------------------------------------------------------------------- disk
def free_disk(path: str) -> int | None:
    """Bytes free for a new file at ``path`` (in its nearest existing folder), or ``None`` when unknown."""
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def check_disk(store: str, point_bytes_on_disk: dict[str, int], points: int, blocks: int, extra: int,
               *, every: int | None) -> None:
    """Refuse a sweep whose new points (``points``, uncompressed, with one marker per block and ``extra`` bytes of
    coordinates) do not fit in the free space where ``store`` goes."""
    parts = {name: points * size for name, size in point_bytes_on_disk.items()}
    parts["completion markers"] = blocks * MARKER_DISK_BYTES
    parts["coordinates"] = extra
    total = sum(parts.values())
    free = free_disk(store)
    if free is None or total <= free:
        return
    remedy = "use a coarser grid or fewer starts"
    if "xs" in parts and parts["xs"] > total / 2:
        remedy += f", keep fewer iterates with a larger every= (now {every})"
    raise DoesNotFit(f"store {store!r} needs up to {size_text(total)} of disk ({_parts(parts)}) but only "
                     f"{size_text(free)} is free there; {remedy}, or put the store on a larger disk")
