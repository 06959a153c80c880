"""Edges and cycles on a quadratic beyond section 2's thresholds (docs/theory.md sections 8.3, 8.8, 8.9; derived here).

- :func:`sam_cycle_factors`: the per-step factors of a deviation from normalized SAM's 2-cycle ``+-c v_1`` on
  ``x^T H x / 2``, one per eigendirection of ``H``: ``1 - lr lam_1`` along ``v_1`` and
  ``F(a, r) = 1 - a r - (2 - a) r^2`` along ``v_k`` (``a = lr lam_1``, ``r = lam_k / lam_1``). The cycle attracts
  along ``v_k`` iff ``|F| < 1``; ``F`` does not depend on ``rho``.
- :func:`usam_stable_rho_interval`: the open interval of ``rho`` for which USAM's fixed point with the given
  Hessian eigenvalues (of any signs: a saddle too) is linearly stable, from ``|1 - lr lam (1 + rho lam)| < 1``
  for every eigenvalue (:func:`samscape.theory.usam_factor`).

The edges and 1-D 2-cycles of the SAM variants on ``lam z^2 / 2`` (docs/theory.md section 2.1, derived here;
:func:`samscape.theory.edge` picks the one of an optimizer):

- multi-step USAM (``K`` steps of size ``rho``): the ascent point is ``(1 + rho lam)^K z``, so the minimum is stable
  iff ``lr lam (1 + rho lam)^K <= 2`` (:func:`repeated_ascent_threshold`, :func:`repeated_ascent_rho_edge`);
- ASAM in 1-D: ``eps = rho (|z| + eta_a) sign(z)``, so ``z -> (1 - lr lam (1 + rho)) z - lr lam rho eta_a sign(z)``:
  the edge is ``lr lam (1 + rho) = 2`` (:func:`asam_threshold`) and below it, for ``eta_a > 0``, the 2-cycle
  ``+-lr lam rho eta_a / (2 - lr lam (1 + rho))`` attracts (:func:`asam_two_cycle`);
- Unified SAM in 1-D: ``z -> (1 - lr lam a) z - lr lam rho lam_u sign(z)`` with ``a = 1 + rho (1 - lam_u) lam``:
  the edge is USAM's with ``rho (1 - lam_u)`` for ``rho`` (:func:`unified_sam_threshold`) and below it the 2-cycle
  ``+-lr lam rho lam_u / (2 - lr lam a)`` attracts (:func:`unified_sam_two_cycle`); at a point where
  ``||grad L|| = grad_norm`` the local edge adds ``rho lam_u / grad_norm`` to the USAM part, as Long & Bartlett's
  does for SAM;
- multi-step SAM in 1-D: every ascent step moves away from the minimum, so the ascent is SAM's with radius
  ``min(rho, K alpha)`` (:func:`projected_ascent_radius`) and its edge and cycle are SAM's with that radius.
"""

from __future__ import annotations

import numpy as np

from .._checks import int_at_least, positive, positive_array


def _as_output(value):
    return float(value) if np.ndim(value) == 0 else value


def positive_root(lr, c):
    """Positive root ``lam`` of ``lr * lam * (1 + c * lam) = 2`` (``c >= 0``, ``c = inf`` gives 0), written
    ``4 / (lr (1 + sqrt(1 + 8 c / lr)))``: equal to ``(-1 + sqrt(1 + 8c/lr)) / (2c)`` without its cancellation for
    small ``c``, and ``2/lr`` at ``c = 0``."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        root = 4.0 / (lr * (1.0 + np.sqrt(1.0 + 8.0 * c / lr)))
    return root


def _check_steps(steps_ascent) -> int:
    return int_at_least(int(steps_ascent) if float(steps_ascent).is_integer() else steps_ascent, "steps_ascent", 1)


def repeated_ascent_threshold(lr, rho, steps_ascent):
    """Largest curvature at which multi-step USAM (``steps_ascent`` steps of size ``rho``) is stable at a minimum:
    the root of ``lr lam (1 + rho lam)^K = 2``, found by bisection on ``(0, 2/lr]`` (the left side increases with
    ``lam``) to the last bit. ``K = 1`` is USAM's edge. Scalars or broadcastable arrays."""
    lr = np.asarray(positive_array(lr, "lr"), dtype=float)
    rho = np.asarray(positive_array(rho, "rho", allow_zero=True), dtype=float)
    steps = _check_steps(steps_ascent)
    lo, hi = np.zeros(np.broadcast(lr, rho).shape), np.broadcast_to(2.0 / lr, np.broadcast(lr, rho).shape).copy()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        above = lr * mid * (1.0 + rho * mid) ** steps > 2.0
        lo, hi = np.where(above, lo, mid), np.where(above, mid, hi)
    return _as_output(lo)


def repeated_ascent_rho_edge(lr, lam, steps_ascent):
    """The largest ``rho`` at which multi-step USAM is stable at a minimum of curvature ``lam``: solves
    ``lr lam (1 + rho lam)^K = 2`` for ``rho``, ``((2/(lr lam))^(1/K) - 1)/lam``; NaN where ``lr lam > 2``."""
    lr = np.asarray(positive_array(lr, "lr"))
    lam = np.asarray(positive_array(lam, "lam"))
    steps = _check_steps(steps_ascent)
    with np.errstate(invalid="ignore"):
        rho = ((2.0 / (lr * lam)) ** (1.0 / steps) - 1.0) / lam
    return _as_output(np.where(lr * lam <= 2, rho, np.nan))


def asam_threshold(lr, rho):
    """ASAM's edge on a 1-D quadratic, ``2 / (lr (1 + rho))``: the fixed point (``eta_a = 0``) or the 2-cycle
    (``eta_a > 0``) attracts below it. ``rho`` is ASAM's radius in the rescaled coordinates."""
    lr = np.asarray(positive_array(lr, "lr"))
    rho = np.asarray(positive_array(rho, "rho", allow_zero=True))
    return _as_output(2.0 / (lr * (1.0 + rho)))


def _cycle(lr, lam, shift, growth):
    """``lr lam shift / (2 - lr lam growth)``, the 2-cycle of ``z -> (1 - lr lam growth) z - lr lam shift sign(z)``."""
    product = lr * lam * growth
    if np.any(product >= 2):
        raise ValueError(f"lam must be below the edge for the 2-cycle to exist, got lr * lam * (growth of the ascent) "
                         f"= {float(np.max(product)):g} >= 2")
    return _as_output(lr * lam * shift / (2.0 - product))


def asam_two_cycle(lr, rho, eta_a, lam):
    """Amplitude of ASAM's 2-cycle on ``lam z^2 / 2``: ``lr lam rho eta_a / (2 - lr lam (1 + rho))`` (0 for
    ``eta_a = 0``: the minimum itself); ``ValueError`` above :func:`asam_threshold`."""
    lr = np.asarray(positive_array(lr, "lr"))
    rho = np.asarray(positive_array(rho, "rho", allow_zero=True))
    eta_a = np.asarray(positive_array(eta_a, "eta_a", allow_zero=True))
    lam = np.asarray(positive_array(lam, "lam"))
    return _cycle(lr, lam, rho * eta_a, 1.0 + rho)


def unified_sam_threshold(lr, rho, lam_u, grad_norm=None):
    """Unified SAM's edge on a quadratic: the root of ``lr lam (1 + c lam) = 2`` with ``c = rho (1 - lam_u)``, below
    which its 2-cycle attracts (for ``lam_u = 0`` USAM's fixed point, for ``lam_u = 1`` SAM's cycle, edge ``2/lr``);
    with ``grad_norm``, the local edge at a point where ``||grad L|| = grad_norm``: ``c = rho (1 - lam_u) +
    rho lam_u / grad_norm`` (Long & Bartlett's SAM edge at ``lam_u = 1``)."""
    lr = np.asarray(positive_array(lr, "lr"))
    rho = np.asarray(positive_array(rho, "rho", allow_zero=True))
    lam_u = np.asarray(positive_array(lam_u, "lam_u", allow_zero=True))
    c = rho * (1.0 - lam_u)
    if grad_norm is not None:
        grad_norm = np.asarray(positive_array(grad_norm, "grad_norm", allow_zero=True))
        with np.errstate(divide="ignore", invalid="ignore"):
            c = c + np.where(rho * lam_u == 0, 0.0, rho * lam_u / grad_norm)
    return _as_output(positive_root(lr, c))


def unified_sam_two_cycle(lr, rho, lam_u, lam):
    """Amplitude of Unified SAM's 2-cycle on ``lam z^2 / 2``: ``lr lam rho lam_u / (2 - lr lam (1 + rho (1 - lam_u)
    lam))``; ``ValueError`` above :func:`unified_sam_threshold`."""
    lr = np.asarray(positive_array(lr, "lr"))
    rho = np.asarray(positive_array(rho, "rho", allow_zero=True))
    lam_u = np.asarray(positive_array(lam_u, "lam_u", allow_zero=True))
    lam = np.asarray(positive_array(lam, "lam"))
    return _cycle(lr, lam, rho * lam_u, 1.0 + rho * (1.0 - lam_u) * lam)


def projected_ascent_radius(rho, alpha, steps_ascent):
    """How far multi-step SAM's ascent goes on a 1-D quadratic: ``min(rho, K alpha)`` (each step moves away from
    the minimum by ``alpha`` until the ball of radius ``rho`` stops it)."""
    rho = np.asarray(positive_array(rho, "rho", allow_zero=True))
    alpha = np.asarray(positive_array(alpha, "alpha"))
    return _as_output(np.minimum(rho, _check_steps(steps_ascent) * alpha))


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
