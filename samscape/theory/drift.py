"""Slow motions along minimizer sets beyond P2's drift (docs/theory.md sections 8.10 and 8.11; derived here).

- :func:`random_sam_drift`: RandomSAM's mean step along a manifold of minimizers,
  ``-(lr rho^2/(2d)) sum_k [2/(2 - lr lam_k)] grad_Gamma lam_k`` over the normal eigendirections ``k``: the trace's
  gradient at small ``lr`` [consistent with Ahn, Jadbabaie, Sra 2024], with a finite-step factor.
- :func:`balancedness_factor`: the exact factor by which one step of GD, USAM or SAM multiplies the balancedness
  ``B = ||u||^2 - ||v||^2`` of ``0.5 (u^T v - t)^2`` [consistent with Li, Zhang, He 2024].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import points as check_points
from .._checks import positive, real_number
from ._common import check_landscape, null_space, scalar_hyper
from .sharpness import _third_derivative_fns
from .stability import gd_threshold, one_step_ascent_map

# Relative size below which a Hessian eigenvalue counts as a tangent (zero) direction of the manifold.
TANGENT_TOL = 1e-9


@dataclass
class RandomDrift:
    """RandomSAM's predicted mean step along the manifold at a point of it.

    Attributes
    ----------
    velocity : ndarray (dim,)
        Predicted mean displacement per step.
    eigenvalues : ndarray (k,)
        The normal (nonzero) Hessian eigenvalues ``lam_k``.
    gradients : ndarray (k, dim)
        ``grad_Gamma lam_k``, each projected on the tangent space.
    factors : ndarray (k,)
        ``2/(2 - lr lam_k)`` (all 1 with ``finite_lr=False``, when the velocity is the trace's gradient flow).
    tangent : ndarray (dim, m)
        Orthonormal basis of the tangent space (null space of the Hessian).
    """

    velocity: np.ndarray
    eigenvalues: np.ndarray
    gradients: np.ndarray
    factors: np.ndarray
    tangent: np.ndarray
    method: str = "SymPy: third derivatives of the loss; NumPy: eigenvectors, tangent projection"


def random_sam_drift(landscape, x, lr, rho, *, finite_lr: bool = True) -> RandomDrift:
    """Predicted mean per-step drift of full-batch RandomSAM at a point ``x`` ``(dim,)`` of a manifold of minimizers.

    The random ascent ``rho u`` (``u`` uniform on the unit sphere) kicks each normal coordinate ``y_k``; under the
    step ``y_k <- (1 - lr lam_k) y_k - lr lam_k rho u_k`` it settles into a spread of variance
    ``lr lam_k rho^2/(d (2 - lr lam_k))``, and with the ``rho^2/d`` of the kick itself the mean of
    ``(y_k + rho u_k)^2`` is ``(rho^2/d) 2/(2 - lr lam_k)``. The tangent step is ``-lr/2`` times the derivative of
    the Hessian along the manifold weighted by those squares:
    ``velocity = -(lr rho^2/(2d)) sum_k [2/(2 - lr lam_k)] grad_Gamma lam_k``, with
    ``grad_Gamma lam_k = P (v_k^T dH v_k)`` (simple eigenvalues). As ``lr -> 0`` it is
    ``-(lr rho^2/(2d)) grad_Gamma tr(hess L)``. Needs ``lr lam_k < 2`` for every ``k`` (``ValueError`` otherwise).
    """
    check_landscape(landscape)
    x = check_points(x, landscape.dim)
    if x.ndim != 1:
        raise ValueError(f"x must be one point of shape ({landscape.dim},), got shape {x.shape}")
    lr, rho = positive(lr, "lr"), positive(rho, "rho")
    hessian = landscape.hessian(x)
    tangent = null_space(hessian)
    if tangent.shape[1] == 0:
        raise ValueError(f"x must lie on a manifold of minimizers (hess L singular), got {x.tolist()} with a full-rank Hessian")
    projector = tangent @ tangent.T
    full_third, _ = _third_derivative_fns(landscape)
    third = full_third(x)
    eig, vec = np.linalg.eigh(hessian)
    normal = np.abs(eig) > TANGENT_TOL * max(1.0, float(np.max(np.abs(eig))))
    lams, vecs = eig[normal], vec[:, normal]
    if finite_lr and np.any(lams >= gd_threshold(lr)):
        raise ValueError(f"lr * lambda_k must be < 2 for every normal direction, got lr * lambda = {lr * lams.max():g}")
    gradients = np.einsum("kij,in,jn->nk", third, vecs, vecs) @ projector
    factors = 2.0 / (2.0 - lr * lams) if finite_lr else np.ones_like(lams)
    velocity = -(lr * rho**2 / (2 * landscape.dim)) * (factors @ gradients)
    return RandomDrift(velocity=velocity, eigenvalues=lams, gradients=gradients, factors=factors, tangent=tangent)


def balancedness_factor(optimizer, u, v, target=1.0):
    """The factor by which one step of ``optimizer`` multiplies ``B = ||u||^2 - ||v||^2`` on ``0.5 (u^T v - t)^2``.

    With the residual ``r = u^T v - t`` the gradient is ``(r v, r u)``; an ascent ``u+ = u + s r v``,
    ``v+ = v + s r u`` (``s = 0`` for GD, ``rho`` for USAM, ``rho/||grad||`` for SAM, 0 where the gradient is 0) and
    ``r+ = u+^T v+ - t`` give exactly ``B_next = B (1 - 2 lr s r r+ - lr^2 r+^2 (1 - s^2 r^2))``.

    Parameters
    ----------
    optimizer : GD, USAM or SAM (full batch, scalar ``lr`` and ``rho``)
    u, v : arrays (..., k)
        The two groups of variables (``k = 1`` for the catalog's ``quadratic_regression``).
    target : float
        ``t``.

    Returns
    -------
    ndarray (...)
    """
    found = one_step_ascent_map(optimizer, 1, "a balancedness factor")
    u = check_points(u, np.shape(u)[-1] if np.ndim(u) else 0, "u")
    v = check_points(v, u.shape[-1], "v")
    target = real_number(target, "target")
    lr = scalar_hyper(optimizer, "lr", "a balancedness factor")
    r = np.sum(u * v, axis=-1) - target
    rho = scalar_hyper(optimizer, "rho", "a balancedness factor") if found.uses_rho else 0.0
    scale = found.ascent_scale(rho, np.abs(r) * np.sqrt(np.sum(u * u + v * v, axis=-1)))
    sr = (scale * r)[..., None]
    r_plus = np.sum((u + sr * v) * (v + sr * u), axis=-1) - target
    return 1.0 - 2 * lr * scale * r * r_plus - lr**2 * r_plus**2 * (1.0 - (scale * r) ** 2)
