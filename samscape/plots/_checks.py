"""The plots' own argument checks (a Run to draw, a Landscape of the right dimension, the plane, window and
levels of a picture); the generic ones come from :mod:`samscape._checks` and are used from here."""

from __future__ import annotations

import numpy as np

# the generic checks, used by the plot functions as _checks.NAME beside the plot-specific ones below
from .._checks import box, choice, has_attributes, increasing, int_at_least, point, positive  # noqa: F401
from .._checks import positive_int, single_number  # noqa: F401


def run(value):
    """A samscape Run whose fields agree with each other (:meth:`samscape.dynamics.Run.validate`): a plot
    refuses an inconsistent run (unknown statuses, non-finite iterates, shapes that disagree) instead of drawing it."""
    has_attributes(value, "run", ("xs", "landscape", "optimizer"),
                   "a samscape Run from dynamics.simulate or dynamics.load_run")
    validate = getattr(value, "validate", None)
    return validate() if callable(validate) else value


def landscape(value, *, min_dim: int = 1, max_dim: int | None = None, what: str = "this plot"):
    has_attributes(value, "landscape", ("value", "grad", "dim"), "a samscape Landscape")
    if value.dim < min_dim or (max_dim is not None and value.dim > max_dim):
        allowed = f"exactly {min_dim}" if max_dim == min_dim else f"at least {min_dim}"
        raise ValueError(f"landscape must have {allowed} variable(s) for {what}, got {value.name!r} with dim={value.dim}")
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
    try:
        whole_space = landscape.dim != 2 and np.shape(value) == (landscape.dim, 2)
    except ValueError:  # a ragged nesting: box() below names it
        whole_space = False
    if whole_space:
        # a box of the whole space: keep the rows of the plane
        value = np.asarray(value, dtype=float)[list(axes)]
    return box(value, 2, "window")


def base_point(at, landscape) -> np.ndarray:
    """The point whose other coordinates fix a 2-D slice of a higher-dimensional landscape (default 0)."""
    return np.zeros(landscape.dim) if at is None else point(at, landscape.dim, "at")


def levels(value):
    """How many filled levels (an integer >= 2), or the levels themselves (an increasing sequence)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int_at_least(value, "levels", 2, also=" or an increasing sequence")
    try:
        return increasing(value, "levels")
    except ValueError:
        raise ValueError(f"levels must be an integer >= 2 or an increasing sequence, got {value!r}") from None


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
