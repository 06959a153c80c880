"""Theory's own input checks (a Run, a Landscape, an optimizer the analysis can handle) and small numeric helpers.

The generic checks (numbers, integers, choices, arrays, points, boxes) live in :mod:`samscape._checks`, and the
theory modules import them from there.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import has_attributes, single_number
from ..dynamics.optimizers import Optimizer


def check_run(value):
    """A samscape Run (anything with ``xs``, ``landscape`` and ``optimizer``)."""
    return has_attributes(value, "run", ("xs", "landscape", "optimizer"),
                          "a samscape Run from dynamics.simulate or dynamics.load_run")


def check_landscape(landscape, name: str = "landscape", *, dim: int | None = None):
    has_attributes(landscape, name, ("grad", "hessian", "dim", "loss_expr"), "a samscape Landscape")
    if dim is not None and landscape.dim != dim:
        raise ValueError(f"{name} must be {dim}-dimensional, got {landscape.name!r} of dimension {landscape.dim}")
    return landscape


def scalar_hyper(optimizer: Optimizer, field: str, purpose: str = "a stability analysis") -> float:
    return single_number(getattr(optimizer, field), f"optimizer {field}", purpose)


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
