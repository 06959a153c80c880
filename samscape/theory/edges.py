"""Edges and cycles on a quadratic beyond section 2's thresholds (docs/theory.md sections 8.3, 8.8, 8.9; derived here).

- :func:`sam_cycle_factors`: the per-step factors of a deviation from normalized SAM's 2-cycle ``+-c v_1`` on
  ``x^T H x / 2``, one per eigendirection of ``H``: ``1 - lr lam_1`` along ``v_1`` and
  ``F(a, r) = 1 - a r - (2 - a) r^2`` along ``v_k`` (``a = lr lam_1``, ``r = lam_k / lam_1``). The cycle attracts
  along ``v_k`` iff ``|F| < 1``; ``F`` does not depend on ``rho``.
- :func:`usam_stable_rho_interval`: the open interval of ``rho`` for which USAM's fixed point with the given
  Hessian eigenvalues (of any signs: a saddle too) is linearly stable, from ``|1 - lr lam (1 + rho lam)| < 1``
  for every eigenvalue (:func:`samscape.theory.usam_factor`).
"""

from __future__ import annotations

import numpy as np

from .._checks import int_at_least, positive, positive_array


def sam_cycle_factors(lr, eigenvalues, *, cycle=None):
    """Linear factors of normalized SAM's 2-cycle on a quadratic, one per Hessian eigenvalue.

    Parameters
    ----------
    lr : float or array broadcasting against ``eigenvalues[..., 0]``
    eigenvalues : array (..., d)
        Hessian eigenvalues in any order and of any sign.
    cycle : int, optional
        Index (into the last axis) of the eigendirection the cycle lies along; by default the largest eigenvalue's
        (the cycle that attracts, docs/theory.md section 8.3). Its eigenvalue ``lam_c`` must be positive with
        ``lr * lam_c < 2`` (the cycle ``+-c v_c``, ``c = lr rho lam_c/(2 - lr lam_c)``, exists).

    Returns
    -------
    ndarray (..., d)
        In the order given: ``1 - lr lam_c`` along the cycle's own direction, and ``1 - a r - (2 - a) r^2`` along
        every other, ``a = lr lam_c``, ``r = lam_k/lam_c``. One step at either cycle point multiplies a small
        deviation along ``v_k`` by its factor (the Jacobian is the same at both), so two steps multiply it by the
        factor squared. ``rho`` does not enter.
    """
    lam = np.asarray(eigenvalues, dtype=float)
    if lam.ndim == 0 or lam.shape[-1] == 0 or not np.all(np.isfinite(lam)):
        raise ValueError(f"eigenvalues must be a finite array of shape (..., d) with d >= 1, got {eigenvalues!r}")
    lr = np.asarray(positive_array(lr, "lr"), dtype=float)
    if cycle is None:
        index = np.argmax(lam, axis=-1)[..., None]
    else:
        cycle = int_at_least(cycle, "cycle", 0, maximum=lam.shape[-1] - 1)
        index = np.full(lam.shape[:-1] + (1,), cycle)
    own = np.take_along_axis(lam, index, axis=-1)[..., 0]
    if np.any(own <= 0):
        raise ValueError(f"eigenvalues must be positive along the cycle's direction, got {np.min(own):g}")
    a = lr * own
    if np.any(a >= 2):
        raise ValueError(f"lr * lam must be < 2 along the cycle for SAM's 2-cycle to exist, got {np.max(a):g}")
    a = a[..., None]
    r = lam / own[..., None]
    factors = 1.0 - a * r - (2.0 - a) * r**2
    np.put_along_axis(factors, index, 1.0 - a, axis=-1)
    return factors


def usam_stable_rho_interval(lr, eigenvalues) -> tuple[float, float]:
    """The open interval ``(lo, hi)`` of ``rho >= 0`` for which USAM is linearly stable at a fixed point whose
    Hessian has these eigenvalues.

    Each eigenvalue ``lam`` must satisfy ``0 < lr lam (1 + rho lam) < 2``: for ``lam > 0`` that is
    ``rho < (2/(lr lam) - 1)/lam`` (:func:`samscape.theory.usam_rho_edge`); for ``lam < 0`` it is
    ``1/|lam| < rho < 1/|lam| + 2/(lr lam^2)`` (the ascent overshoots the saddle's negative direction, which then
    contracts); ``lam = 0`` is never strictly stable. ``lo = 0`` means ``rho = 0`` (GD) is included.

    Parameters
    ----------
    lr : float
    eigenvalues : array (d,)

    Returns
    -------
    (lo, hi) : tuple of float
        ``(nan, nan)`` when no ``rho`` makes the point stable.
    """
    lr = positive(lr, "lr")
    lam = np.asarray(eigenvalues, dtype=float)
    if lam.ndim != 1 or lam.size == 0 or not np.all(np.isfinite(lam)):
        raise ValueError(f"eigenvalues must be a finite 1-D array with at least one entry, got {eigenvalues!r}")
    lo, hi = 0.0, np.inf
    for value in lam:
        if value > 0:
            hi = min(hi, (2.0 / (lr * value) - 1.0) / value)
        elif value < 0:
            lo = max(lo, 1.0 / -value)
            hi = min(hi, 1.0 / -value + 2.0 / (lr * value * value))
        else:
            hi = -np.inf
    if not lo < hi:
        return (float("nan"), float("nan"))
    return (float(lo), float(hi))
