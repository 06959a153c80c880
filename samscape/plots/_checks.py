"""Argument checks shared by the plot functions: one-sentence errors naming the parameter, value and what is allowed."""

from __future__ import annotations

import numpy as np

# the generic checks live in theory (which computes with the same arguments); plots re-use them under these names
from ..theory._common import check_run
from ..theory._common import choice  # noqa: F401
from ..theory._common import int_at_least as positive_int  # noqa: F401
from ..theory._common import positive_float  # noqa: F401


def run(value):
    """A samscape Run whose fields agree with each other (:meth:`samscape.dynamics.Run.validate`): a plot
    refuses an inconsistent run (unknown statuses, non-finite iterates, shapes that disagree) instead of drawing it."""
    check_run(value)
    validate = getattr(value, "validate", None)
    return validate() if callable(validate) else value


def landscape(value, *, min_dim: int = 1, max_dim: int | None = None, what: str = "this plot"):
    if not (hasattr(value, "value") and hasattr(value, "grad") and hasattr(value, "dim")):
        raise ValueError(f"landscape must be a samscape Landscape, got {type(value).__name__}")
    if value.dim < min_dim or (max_dim is not None and value.dim > max_dim):
        allowed = f"exactly {min_dim}" if max_dim == min_dim else f"at least {min_dim}"
        raise ValueError(f"landscape must have {allowed} variable(s) for {what}, got {value.name!r} with dim={value.dim}")
    return value


def optimizer_label(value) -> str:
    """How an error message names an optimizer: its ``describe()`` label, not the dataclass repr."""
    describe = getattr(value, "describe", None)
    return describe() if callable(describe) else repr(value)


def plane(axes, dim: int) -> tuple[int, int]:
    """Two distinct coordinate indices in ``[0, dim)``."""
    try:
        i, j = (int(a) for a in axes)
    except (TypeError, ValueError):
        raise ValueError(f"axes must be two coordinate indices such as (0, 1), got {axes!r}") from None
    if i == j or not (0 <= i < dim and 0 <= j < dim):
        raise ValueError(f"axes must be two distinct indices in [0, {dim - 1}], got {axes!r}")
    return i, j


def window(value, landscape, axes: tuple[int, int]) -> np.ndarray:
    """The plotting box of the plane ``axes`` as a ``(2, 2)`` array ``[[xlo, xhi], [ylo, yhi]]``."""
    if value is None:
        return np.asarray(landscape.window, dtype=float)[list(axes)]
    arr = np.asarray(value, dtype=float)
    if arr.shape == (landscape.dim, 2) and landscape.dim != 2:
        arr = arr[list(axes)]
    if arr.shape != (2, 2) or not np.all(np.isfinite(arr)) or np.any(arr[:, 1] <= arr[:, 0]):
        raise ValueError(f"window must be [[xlo, xhi], [ylo, yhi]] with finite lo < hi, got {value!r}")
    return arr


def base_point(at, landscape) -> np.ndarray:
    """The point whose other coordinates fix a 2-D slice of a higher-dimensional landscape (default 0)."""
    if at is None:
        return np.zeros(landscape.dim)
    arr = np.asarray(at, dtype=float)
    if arr.shape != (landscape.dim,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"at must be a finite point of shape ({landscape.dim},), got {at!r}")
    return arr


def levels(value):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value < 2:
            raise ValueError(f"levels must be an integer >= 2 or an increasing sequence, got {value!r}")
        return int(value)
    arr = np.asarray(value, dtype=float)
    if arr.ndim != 1 or arr.size < 2 or not np.all(np.isfinite(arr)) or np.any(np.diff(arr) <= 0):
        raise ValueError(f"levels must be an integer >= 2 or an increasing sequence, got {value!r}")
    return arr


def starts(value, n_starts: int) -> np.ndarray:
    """Indices of the starts to draw: ``None`` (all), an int (the first k, ``1 <= k <= n_starts``) or a sequence
    of indices."""
    if value is None:
        return np.arange(n_starts)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        # more than the run has is a mistake (a wrong run or a typo), not a request to draw everything
        if not 1 <= value <= n_starts:
            raise ValueError(f"starts must be a count from 1 to {n_starts} (the run's number of starts) "
                             f"or a sequence of start indices, got {value!r}")
        return np.arange(int(value))
    idx = np.asarray(value)
    if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= n_starts:
        raise ValueError(f"starts must be indices in [0, {n_starts - 1}], got {value!r}")
    return idx
