"""Input checks and small numeric helpers shared by the theory modules."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..dynamics.optimizers import GD, SAM, SGD, USAM, Optimizer, RandomSAM, Switch


def real_number(value, name: str) -> float:
    """A finite real scalar, or ``ValueError`` naming ``name``."""
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "fiu":
        # a 0-d array is a scalar in every NumPy sense; a size-1 array is how the catalog hands out a 1-D point
        value = value.reshape(())[()]
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return number


def positive(value, name: str) -> float:
    number = real_number(value, name)
    if number <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return number


def nonnegative(value, name: str) -> float:
    number = real_number(value, name)
    if number < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return number


def positive_array(value, name: str, *, allow_zero: bool = False):
    """A scalar or array of finite numbers > 0 (or >= 0); returns a float or a float array."""
    if np.ndim(value) == 0:
        return nonnegative(value, name) if allow_zero else positive(value, name)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    bound = ">= 0" if allow_zero else "> 0"
    bad = ~np.isfinite(arr) | (arr < 0) | ((arr == 0) & (not allow_zero))
    if bad.any():
        raise ValueError(f"{name} must be finite and {bound} everywhere, got {arr[bad].flat[0]!r}")
    return arr


def positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def int_at_least(value, name: str, minimum: int = 1) -> int:
    """An integer ``>= minimum`` (bools refused), or ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def positive_float(value, name: str, *, allow_zero: bool = False) -> float:
    """Anything ``float()`` accepts that is finite and > 0 (or >= 0), or ``ValueError`` naming ``name``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not np.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return number


def choice(value, name: str, allowed):
    """``value`` if it is one of ``allowed``, or ``ValueError`` listing them."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def check_run(value):
    """A samscape Run (anything with ``xs``, ``landscape`` and ``optimizer``), or ``ValueError``."""
    if not (hasattr(value, "xs") and hasattr(value, "landscape") and hasattr(value, "optimizer")):
        raise ValueError(f"run must be a samscape Run from dynamics.simulate or dynamics.load_run, got {type(value).__name__}")
    return value


def check_landscape(landscape, name: str = "landscape", *, dim: int | None = None):
    if not all(hasattr(landscape, attr) for attr in ("grad", "hessian", "dim", "loss_expr")):
        raise ValueError(f"{name} must be a samscape Landscape, got {type(landscape).__name__}")
    if dim is not None and landscape.dim != dim:
        raise ValueError(f"{name} must be {dim}-dimensional, got {landscape.name!r} of dimension {landscape.dim}")
    return landscape


def check_point(x, dim: int, name: str = "x") -> np.ndarray:
    """A finite float array of shape ``(..., dim)``."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real array of shape (..., {dim}), got {x!r}") from None
    if arr.ndim == 0 or arr.shape[-1] != dim:
        raise ValueError(f"{name} must have shape (..., {dim}), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {arr.tolist()}")
    return arr


def check_box(bounds, dim: int, name: str = "bounds") -> np.ndarray:
    """A box ``[[lo, hi], ...]`` of shape ``(dim, 2)`` (``(2,)`` is accepted in 1-D)."""
    arr = np.asarray(bounds, dtype=float)
    if arr.shape == (2,) and dim == 1:
        arr = arr[None, :]
    if arr.shape != (dim, 2) or not np.all(np.isfinite(arr)) or np.any(arr[:, 1] <= arr[:, 0]):
        raise ValueError(f"{name} must be finite [[lo, hi], ...] with lo < hi for each of {dim} coordinates, got {bounds!r}")
    return arr


def scalar_hyper(optimizer: Optimizer, field: str, purpose: str = "a stability analysis") -> float:
    value = getattr(optimizer, field)
    if np.ndim(value) != 0:
        raise ValueError(
            f"optimizer {field} must be a single number for {purpose}, got an array of {np.size(value)} values"
        )
    return float(value)


def deterministic_kind(optimizer, n_samples: int) -> str:
    """``gd``, ``usam`` or ``sam`` for a deterministic optimizer; ``ValueError`` for anything stochastic."""
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be a samscape optimizer such as SAM(lr=0.1, rho=0.05), got {optimizer!r}")
    # with one data point every batch is the full loss, so mini-batching changes nothing
    full_batch = getattr(optimizer, "batch_size", None) is None or n_samples == 1
    if isinstance(optimizer, (RandomSAM, Switch)) or not full_batch:
        if isinstance(optimizer, Switch):
            hint = "a Switch changes its map mid-run, so pass the phase you want, e.g. optimizer.second"
        elif isinstance(optimizer, RandomSAM):
            hint = "RandomSAM perturbs in a random direction each step; SAM or USAM is its deterministic counterpart"
        elif isinstance(optimizer, SGD):
            hint = "SGD's mini-batches make its map random; GD is its full-batch counterpart"
        else:
            hint = "its mini-batches make its map random; pass batch_size=None for the full-batch map"
        allowed = "optimizer must be deterministic (GD, or SAM/USAM with batch_size=None)"
        raise ValueError(f"{allowed}, got {optimizer.describe()}; {hint}")
    if isinstance(optimizer, (GD, SGD)):
        return "gd"
    if isinstance(optimizer, USAM):
        return "usam"
    if isinstance(optimizer, SAM):
        return "sam"
    raise ValueError(f"optimizer must be GD, SAM or USAM, got {optimizer.describe()}")


def null_space(matrix: np.ndarray, rel_tol: float = 1e-8) -> np.ndarray:
    """Orthonormal basis ``(d, k)`` of the (numerical) null space of a symmetric ``(d, d)`` matrix."""
    eig, vec = np.linalg.eigh(matrix)
    scale = max(np.max(np.abs(eig)), 1e-300)
    return vec[:, np.abs(eig) <= rel_tol * scale]


def range_space(matrix: np.ndarray, rel_tol: float = 1e-8) -> np.ndarray:
    """Orthonormal basis ``(d, r)`` of the range of a symmetric ``(d, d)`` matrix."""
    eig, vec = np.linalg.eigh(matrix)
    scale = np.max(np.abs(eig)) if eig.size else 0.0
    if scale == 0:
        return vec[:, :0]
    return vec[:, np.abs(eig) > rel_tol * scale]


def fmt(value, digits: int = 4) -> str:
    """A short human string for a number (used by the claim reports)."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if math.isnan(value):
        return "nan"
    return f"{value:.{digits}g}"
