"""Theory's own input checks (a Run, a Landscape, an optimizer the analysis can handle) and small numeric helpers.

The generic checks (numbers, integers, choices, arrays, points, boxes) live in :mod:`samscape._checks`, and the
theory modules import them from there.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import has_attributes, single_number
from ..dynamics.optimizers import OPTIMIZERS, Optimizer, check_optimizer


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


def fixed_map_optimizers() -> dict[str, type[Optimizer]]:
    """The registered optimizers whose update is a fixed map of ``x`` once the batch is fixed, by kind: plain
    (not composite like Switch) and with an ascent that draws nothing. Their full-batch forms are the maps the
    theory analyses."""
    return {kind: cls for kind, cls in OPTIMIZERS.items() if not cls.composite() and cls.ascent != "random"}


def _full_batch_maps() -> dict[str | None, type[Optimizer]]:
    """``{ascent: the optimizer class whose full-batch map the theory calls by its kind}`` (gd, sam, usam): the first
    registered with that ascent, so a later class with the same ascent has the same map and the same name."""
    maps: dict[str | None, type[Optimizer]] = {}
    for cls in fixed_map_optimizers().values():
        if cls.batch_rule() != "required" and not cls.ascent_per_sample:
            maps.setdefault(cls.ascent, cls)
    return maps


def deterministic_kind(optimizer, n_samples: int) -> str:
    """``gd``, ``usam`` or ``sam`` for a deterministic optimizer; ``ValueError`` for anything stochastic."""
    cls = type(check_optimizer(optimizer))
    maps = _full_batch_maps()
    # with one data point every batch is the full loss, so mini-batching changes nothing
    full_batch = getattr(optimizer, "batch_size", None) is None or n_samples == 1
    if cls.composite() or cls.kind not in fixed_map_optimizers() or not full_batch:
        counterpart = maps.get(cls.ascent)
        if cls.composite():
            hint = f"a {cls.__name__} changes its map mid-run, so pass the phase you want, e.g. optimizer.{cls.parts[-1]}"
        elif cls.kind not in fixed_map_optimizers():
            names = " or ".join(c.__name__ for c in maps.values() if c.ascent is not None)
            hint = f"{cls.__name__} perturbs in a random direction each step; {names} is its deterministic counterpart"
        elif cls.batch_rule() == "required" and counterpart is not None:
            hint = f"{cls.__name__}'s mini-batches make its map random; {counterpart.__name__} is its full-batch counterpart"
        else:
            hint = "its mini-batches make its map random; pass batch_size=None for the full-batch map"
        names = [c.__name__ for c in maps.values()]
        allowed = f"optimizer must be deterministic ({names[0]}, or {'/'.join(names[1:])} with batch_size=None)"
        raise ValueError(f"{allowed}, got {optimizer.describe()}; {hint}")
    if cls.ascent_per_sample and n_samples != 1:
        counterpart = maps[cls.ascent].__name__
        raise ValueError(f"optimizer must be one whose map the theory analyses, got {optimizer.describe()}: its per-sample "
                         f"ascents make its map differ from {counterpart}'s on a finite sum (they agree on one sample)")
    if maps.get(cls.ascent) is None:
        raise ValueError(f"optimizer must be {', '.join(c.__name__ for c in maps.values())}, got {optimizer.describe()}")
    return maps[cls.ascent].kind


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
