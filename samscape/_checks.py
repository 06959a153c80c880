"""Argument checks shared by every layer: each returns the cleaned value or raises a one-sentence ``ValueError``.

Every message reads ``NAME must be ALLOWED, got VALUE``. This module sits at the bottom of the package and
imports nothing from samscape, so landscapes, dynamics, theory and plots can all use it; checks that need a
layer's own objects (a Run, a Landscape, a plot window) live in that layer and call these.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def _bound(allow_zero: bool) -> str:
    return ">= 0" if allow_zero else "> 0"


def _shown(value, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters: a message must not repeat pages of what it refuses."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_int(value) -> bool:
    # bool is an int subclass, but True as a count or a size is a mistake, not 1
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _scalar_number(value):
    """``value`` as a float if it is a real scalar (a 0-d or size-1 numeric array counts), else None."""
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "fiu":
        # a 0-d array is a scalar in every NumPy sense; a size-1 array is how the catalog hands out a 1-D point
        value = value.reshape(())[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        return None
    return float(value)


def real_number(value, name: str) -> float:
    """A finite real scalar."""
    number = _scalar_number(value)
    if number is None or not math.isfinite(number):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return number


def positive(value, name: str, *, allow_zero: bool = False) -> float:
    """A finite real scalar ``> 0`` (``>= 0`` with ``allow_zero``)."""
    number = _scalar_number(value)
    if number is None or not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {_bound(allow_zero)}, got {value!r}")
    return number


def nonnegative(value, name: str) -> float:
    """A finite real scalar ``>= 0``."""
    return positive(value, name, allow_zero=True)


def int_at_least(value, name: str, minimum: int = 1, *, maximum: int | None = None, also: str = "") -> int:
    """An integer in ``[minimum, maximum]`` (bools refused); ``also`` names a further allowed value for the message
    (e.g. ``" or None (full batch)"``, which the caller handles before calling)."""
    if not _is_int(value) or value < minimum or (maximum is not None and value > maximum):
        if maximum is not None:
            allowed = f"an integer from {minimum:_} to {maximum:_}"
        elif minimum == 1:
            allowed = "a positive integer"
        else:
            allowed = f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {allowed}{also}, got {value!r}")
    return int(value)


def positive_int(value, name: str) -> int:
    """An integer ``>= 1`` (bools refused)."""
    return int_at_least(value, name, 1)


def choice(value, name: str, allowed):
    """``value`` if it is one of ``allowed``."""
    if isinstance(value, np.ndarray) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {_shown(value)}")
    return value


def instance(value, name: str, kind, what: str):
    """``value`` if it is an instance of ``kind`` (a class or a tuple of classes); ``what`` says what is expected,
    e.g. ``"a samscape optimizer such as SAM(lr=0.1, rho=0.05)"``."""
    if not isinstance(value, kind):
        raise ValueError(f"{name} must be {what}, got {_shown(value)}")
    return value


def positive_array(value, name: str, *, allow_zero: bool = False, per_start: bool = False):
    """A number or an array of numbers, all finite and ``> 0`` (``>= 0`` with ``allow_zero``).

    A scalar comes back as a float, an array as a new float array. With ``per_start`` an array must be 1-D and
    non-empty (one value per start of a run).
    """
    bound = _bound(allow_zero)
    if np.ndim(value) == 0:
        number = _scalar_number(value)
        if number is None or not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
            raise ValueError(f"{name} must be a finite number {bound} or an array of them, got {value!r}")
        return number
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number {bound} or an array of them, got {value!r}") from None
    if per_start and (arr.ndim != 1 or arr.size == 0):
        raise ValueError(f"{name} must be a number or a 1-D array with one value per start, got shape {arr.shape}")
    bad = ~np.isfinite(arr) | (arr < 0) | ((arr == 0) & (not allow_zero))
    if bad.any():
        index = tuple(int(i) for i in np.unravel_index(int(np.flatnonzero(bad)[0]), arr.shape))
        where = index[0] if arr.ndim == 1 else index
        raise ValueError(f"{name} must be finite and {bound} everywhere, got {float(arr[index])!r} at index {where}")
    return arr


def single_number(value, name: str, purpose: str) -> float:
    """One number where an array (one value per start) is also meaningful elsewhere, e.g. ``lr`` for a field."""
    if np.ndim(value) != 0:
        raise ValueError(f"{name} must be a single number for {purpose}, got an array of {np.size(value)} values")
    number = _scalar_number(value)
    if number is None:  # a schedule of lr, say: one number per step, not one for the whole run
        raise ValueError(f"{name} must be a single number for {purpose}, got {_shown(value)}")
    return number


def points(value, dim: int, name: str = "x") -> np.ndarray:
    """A finite float array of shape ``(..., dim)``."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real array of shape (..., {dim}), got {value!r}") from None
    if arr.ndim == 0 or arr.shape[-1] != dim:
        raise ValueError(f"{name} must have shape (..., {dim}), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {arr.tolist()}")
    return arr


def point(value, dim: int, name: str = "x") -> np.ndarray:
    """One finite point, a float array of shape ``(dim,)``."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.shape != (dim,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be a finite point of shape ({dim},), got {value!r}")
    return arr


def box(value, dim: int, name: str = "bounds") -> np.ndarray:
    """A box ``[[lo, hi], ...]`` of shape ``(dim, 2)`` with finite ``lo < hi`` (``[lo, hi]`` is accepted in 1-D)."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        arr = np.full((0,), np.nan)
    if arr.shape == (2,) and dim == 1:
        arr = arr[None, :]
    if arr.shape != (dim, 2) or not np.all(np.isfinite(arr)) or np.any(arr[:, 1] <= arr[:, 0]):
        shape = "[lo, hi]" if dim == 1 else "[[lo, hi], ...]"
        raise ValueError(f"{name} must be finite {shape} with lo < hi for each of {dim} coordinate(s), got {value!r}")
    return arr


def increasing(value, name: str, *, minimum: float | None = None) -> np.ndarray:
    """A strictly increasing 1-D sequence of at least 2 finite values (each ``>= minimum`` when given)."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        arr = np.full((0,), np.nan)
    low = minimum is not None and arr.size and np.any(arr < minimum)
    if arr.ndim != 1 or arr.size < 2 or not np.all(np.isfinite(arr)) or low or np.any(np.diff(arr) <= 0):
        values = "finite values" if minimum is None else f"finite values >= {minimum:g}"
        raise ValueError(f"{name} must be an increasing 1-D sequence of at least 2 {values}, got {value!r}")
    return arr


def has_attributes(value, name: str, attributes, what: str):
    """``value`` if it has every attribute in ``attributes`` (how the layers recognise each other's objects without
    importing upward); ``what`` says what is expected, e.g. ``"a samscape Landscape"``."""
    if not all(hasattr(value, attr) for attr in attributes):
        # a string or a number reads best as itself; any other object by its type (its repr can be pages long)
        got = repr(value) if value is None or isinstance(value, (str, bytes, numbers.Number)) else type(value).__name__
        raise ValueError(f"{name} must be {what}, got {got}")
    return value
