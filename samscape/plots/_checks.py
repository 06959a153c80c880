"""Argument checks shared by the plot functions: one-sentence errors naming the parameter, value and what is allowed."""

from __future__ import annotations

import numpy as np


def landscape(value, *, min_dim: int = 1, max_dim: int | None = None, what: str = "this plot"):
    if not (hasattr(value, "value") and hasattr(value, "grad") and hasattr(value, "dim")):
        raise ValueError(f"landscape must be a samscape Landscape, got {type(value).__name__}")
    if value.dim < min_dim or (max_dim is not None and value.dim > max_dim):
        allowed = f"exactly {min_dim}" if max_dim == min_dim else f"at least {min_dim}"
        raise ValueError(f"landscape must have {allowed} variable(s) for {what}, got {value.name!r} with dim={value.dim}")
    return value


def run(value):
    if not (hasattr(value, "xs") and hasattr(value, "landscape") and hasattr(value, "optimizer")):
        raise ValueError(f"run must be a samscape Run from dynamics.simulate or dynamics.load_run, got {type(value).__name__}")
    return value


def positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def optimizer_label(value) -> str:
    """How an error message names an optimizer: its ``describe()`` label, not the dataclass repr."""
    describe = getattr(value, "describe", None)
    return describe() if callable(describe) else repr(value)


def positive_float(value, name: str, *, allow_zero: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not np.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return number


def choice(value, name: str, allowed) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


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
