"""Where stochastic SAM settles on a 1-D sum of quadratics (docs/theory.md section 8.6; derived here, in the spirit
of Si & Yun 2023's lower-bound examples).

On ``f = sum_i p_i f_i`` with ``f_i(x) = h_i (x - a_i)^2 / 2`` a per-sample ascent (``SAM(batch_size=1)``,
``PerSampleSAM``, their unnormalized forms) steps along the gradient of the sample at its own ascent point; its
mean over the samples is the expected update, and :func:`stochastic_limit` is the point where that mean vanishes:

- normalized: ``sum_i p_i h_i (x - a_i + rho sign(x - a_i)) = 0``, not the minimizer ``x* = sum p h a / sum p h``;
- unnormalized: ``sum_i p_i h_i (1 + rho h_i)(x - a_i) = 0``, the ``h (1 + rho h)``-weighted mean of the centers;
- no ascent (GD, SGD): ``x*``.
"""

from __future__ import annotations

import numpy as np

from ..dynamics import check_optimizer
from ._common import scalar_hyper


def _column(value, name: str, n: int | None = None, *, positive: bool = False) -> np.ndarray:
    arr = np.asarray(value, dtype=float) if value is not None else None
    if arr is None or arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or (n is not None and arr.size != n):
        size = f" of length {n}" if n is not None else ""
        raise ValueError(f"{name} must be a non-empty 1-D array of finite numbers{size}, got {value!r}")
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name} must all be > 0, got {value!r}")
    return arr


def stochastic_limit(optimizer, centers, curvatures=None, weights=None) -> float:
    """The zero of the expected per-sample update of ``optimizer`` on ``sum_i p_i h_i (x - a_i)^2 / 2``.

    Parameters
    ----------
    optimizer : a samscape optimizer whose ascent is per sample (``batch_size=1``, or a ``PerSample`` variant) or
        absent (``GD``, ``SGD``); its ``rho`` must be one number. Its ``ascent`` tag decides the formula.
    centers : array (n,)
        ``a_i``.
    curvatures : array (n,), optional
        ``h_i > 0`` (default all 1).
    weights : array (n,), optional
        ``p_i > 0``, the probability of drawing sample ``i`` (default ``1/n`` each, uniform batches).

    Returns
    -------
    float
        ``x_inf``. For the normalized ascent the mean update is increasing and piecewise linear with upward jumps at
        the centers; the root is found interval by interval, and when the mean jumps across zero at a center
        ``a_j`` the answer is ``a_j``.
    """
    if type(check_optimizer(optimizer)).composite():
        raise ValueError(f"optimizer must be one samscape optimizer such as PerSampleSAM(lr=0.1, rho=0.1), not a "
                         f"composite, got {optimizer.describe()}")
    a = _column(centers, "centers")
    h = _column(curvatures if curvatures is not None else np.ones_like(a), "curvatures", a.size, positive=True)
    p = _column(weights if weights is not None else np.full_like(a, 1.0 / a.size), "weights", a.size, positive=True)
    p = p / p.sum()
    ascent = type(optimizer).ascent
    if ascent is None:
        return float(p * h @ a / (p @ h))
    if ascent not in ("normalized", "unnormalized"):
        raise ValueError(f"optimizer must have a normalized, unnormalized or no ascent, got {optimizer.describe()} "
                         f"(ascent {ascent!r})")
    if not type(optimizer).ascent_per_sample and getattr(optimizer, "batch_size", None) != 1 and a.size > 1:
        raise ValueError(f"optimizer must take its ascent per sample (batch_size=1 or a PerSample variant), got "
                         f"{optimizer.describe()}")
    rho = scalar_hyper(optimizer, "rho", "a stochastic limit")
    if ascent == "unnormalized":
        w = p * h * (1.0 + rho * h)
        return float(w @ a / w.sum())
    w = p * h
    knots = np.unique(a)
    edges = np.concatenate([[-np.inf], knots, [np.inf]])
    for lo, hi in zip(edges[:-1], edges[1:]):
        # inside (lo, hi) every sign(x - a_i) is fixed, so the mean update is w.sum() x - w @ (a - rho s)
        probe = hi - 1.0 if np.isinf(lo) else (lo + 1.0 if np.isinf(hi) else 0.5 * (lo + hi))
        signs = np.sign(probe - a)
        root = float(w @ (a - rho * signs) / w.sum())
        if lo < root < hi:
            return root
    for knot in knots:  # no interval holds a root: the mean jumps across zero at a center
        left = float(w @ (knot - a + rho * np.where(a < knot, 1.0, -1.0)))
        right = float(w @ (knot - a + rho * np.where(a <= knot, 1.0, -1.0)))
        if left <= 0.0 <= right:
            return float(knot)
    raise RuntimeError("no zero of the mean update was found; the data must be degenerate")
