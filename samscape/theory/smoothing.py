"""The ascent step to first and second order (docs/theory.md sections 8.1, 8.9, 8.10).

- :func:`dual_norm_ascent`: the maximizer of the linearized loss ``g^T eps`` over the ``p``-norm ball of radius
  ``rho`` (Foret et al. 2021): ``rho sign(g)|g|^(q-1)/||g||_q^(q-1)``, ``1/p + 1/q = 1``; ``p = 2`` is SAM's
  ``rho g/||g||``.
- :func:`modified_loss_gradient`: the gradient of the loss SAM (``f + rho ||grad f||``) or USAM
  (``f + (rho/2) ||grad f||^2``) follows to first order in ``rho`` [derived here, consistent with Monzio Compagnoni
  et al. 2023].
- :func:`smoothed_gradient_correction`: ``(rho^2/(2d)) grad tr(hess f)``, the second-order term of the gradient
  averaged over a uniformly random ascent direction (exact for polynomials of degree <= 4) [derived here,
  consistent with Ahn, Jadbabaie, Sra 2024].
"""

from __future__ import annotations

import math
import weakref

import numpy as np
import sympy as sp

from ..landscapes.core import compile_exprs
from .._checks import nonnegative
from .._checks import points as check_points
from ._common import check_landscape, scalar_hyper
from .stability import one_step_ascent_map


def dual_norm_ascent(g, rho, p=2.0):
    """The perturbation ``eps`` with ``||eps||_p <= rho`` that maximizes ``g^T eps``.

    Parameters
    ----------
    g : array (..., d)
        Gradients.
    rho : float
        Radius, ``>= 0``.
    p : float in [1, inf]
        The norm of the ball. ``p = 2`` gives ``rho g/||g||``; ``p = inf`` gives ``rho sign(g)``; ``p = 1`` puts
        all of ``rho`` on the largest ``|g_i|`` (split equally among ties).

    Returns
    -------
    ndarray (..., d)
        ``rho sign(g)|g|^(q-1)/||g||_q^(q-1)`` with ``1/p + 1/q = 1``; 0 where ``g = 0`` (no ascent, as SAM's
        zero-gradient convention). It attains ``g^T eps = rho ||g||_q`` (Hoelder's equality case).
    """
    g = np.asarray(g, dtype=float)
    if g.ndim == 0 or not np.all(np.isfinite(g)):
        raise ValueError(f"g must be a finite array of shape (..., d), got {g!r}")
    rho = nonnegative(rho, "rho")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not (p >= 1):
        raise ValueError(f"p must be a number in [1, inf], got {p!r}")
    magnitude = np.abs(g)
    largest = magnitude.max(axis=-1, keepdims=True)
    zero = largest == 0
    safe = np.where(zero, 1.0, largest)
    if p == 1:
        top = (magnitude == largest) & ~zero
        weights = top / np.maximum(top.sum(axis=-1, keepdims=True), 1)
        return rho * np.sign(g) * weights
    if math.isinf(p):
        return np.where(zero, 0.0, rho * np.sign(g))
    q = p / (p - 1.0)
    # scaled by the largest entry first, so |g|^(q-1) neither overflows nor underflows for large q
    scaled = magnitude / safe
    powered = scaled ** (q - 1.0)
    norm_q = np.where(zero, 1.0, np.sum(scaled**q, axis=-1, keepdims=True) ** (1.0 / q))
    return np.where(zero, 0.0, rho * np.sign(g) * powered / norm_q ** (q - 1.0))


def modified_loss_gradient(landscape, optimizer, x):
    """The gradient of the loss the deterministic ``optimizer`` descends to first order in its ``rho``.

    ``GD``: ``grad f``. ``SAM`` (normalized): ``grad(f + rho ||grad f||) = g + rho H g/||g||`` (``g`` where
    ``g = 0``, the zero-gradient convention). ``USAM``: ``grad(f + (rho/2) ||grad f||^2) = g + rho H g``. The step
    direction ``grad f(x+)`` of each differs from it by ``O(rho^2)`` (Taylor's theorem with the exact Hessian).

    Parameters
    ----------
    landscape : Landscape
    optimizer : GD, SAM or USAM, full batch, scalar ``rho``
    x : array (dim,) or (..., dim)

    Returns
    -------
    ndarray, the shape of ``x``
    """
    check_landscape(landscape)
    found = one_step_ascent_map(optimizer, landscape.n_samples, "a modified loss")
    x = check_points(x, landscape.dim)
    grad = landscape.grad(x)
    if not found.uses_rho:
        return grad
    rho = scalar_hyper(optimizer, "rho", "a modified loss")
    pushed = np.einsum("...ij,...j->...i", landscape.hessian(x), grad)
    # the ascent step is s g, so grad f(x + s g) = g + s H g + O(s^2)
    return grad + found.ascent_scale(rho, np.linalg.norm(grad, axis=-1, keepdims=True)) * pushed


_LAPLACIAN_GRADIENT: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _laplacian_gradient_fn(landscape):
    """A compiled ``x (..., dim) -> grad tr(hess L)(x) (..., dim)`` from SymPy's third derivatives of the loss."""
    fn = _LAPLACIAN_GRADIENT.get(landscape)
    if fn is None:
        symbols = list(landscape.symbols)
        laplacian = sp.Add(*(sp.diff(landscape.loss_expr, s, 2) for s in symbols))
        compiled = compile_exprs(symbols, [sp.diff(laplacian, s) for s in symbols])

        def fn(x):
            values = compiled(*np.moveaxis(x, -1, 0))
            return np.stack(np.broadcast_arrays(*values, np.empty(x.shape[:-1])), axis=-1)[..., :-1].astype(float)

        _LAPLACIAN_GRADIENT[landscape] = fn
    return fn


def smoothed_gradient_correction(landscape, x, rho):
    """``(rho^2/(2d)) grad tr(hess L)(x)``: the second-order term of ``E_u grad L(x + rho u)`` for ``u`` uniform on
    the unit sphere of ``R^d``.

    ``E[u_i u_j] = delta_ij/d`` and the odd moments vanish, so ``E_u grad L(x + rho u) = grad L(x) + this +
    O(rho^4)``, with no remainder when ``L`` is a polynomial of degree at most 4. The third derivatives are
    SymPy-exact (compiled once per landscape).

    Parameters
    ----------
    landscape : Landscape
    x : array (dim,) or (..., dim)
    rho : float, >= 0

    Returns
    -------
    ndarray, the shape of ``x``
    """
    check_landscape(landscape)
    x = check_points(x, landscape.dim)
    rho = nonnegative(rho, "rho")
    return rho**2 / (2 * landscape.dim) * _laplacian_gradient_fn(landscape)(x)
