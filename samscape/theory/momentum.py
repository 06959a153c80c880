"""Heavy-ball and Nesterov momentum on top of a stateless update map (docs/theory.md section 2.2, derived here).

Every plain optimizer steps along a descent direction ``d(x)`` (the gradient for GD, the gradient at the ascent
point for SAM, a variant's own direction); with momentum ``mu`` it carries a velocity ``v`` (zero at the start)::

    heavy ball:  v' = mu v + d(x),   x' = x - lr v'
    Nesterov:    v' = mu v + d(x),   x' = x - lr (d(x) + mu v')

The state ``(x, v)`` is one point of the augmented map; with ``D = Dd(x)`` (the stateless Jacobian is
``I - lr D``) its Jacobian is ``[[I - lr D, -lr mu I], [D, mu I]]`` for heavy ball and
``[[I - lr (1 + mu) D, -lr mu^2 I], [D, mu I]]`` for Nesterov (:func:`augmented_jacobian`). Along an eigenvector of
``D`` with real eigenvalue ``a`` the characteristic polynomials are ``z^2 - (1 + mu - lr a) z + mu`` and
``z^2 - (1 + mu)(1 - lr a) z + mu (1 - lr a)``; both roots lie inside the unit circle iff
``0 < lr a < 2 (1 + mu)`` (heavy ball) or ``0 < lr a < 2 (1 + mu)/(1 + 2 mu)`` (Nesterov). That is the stateless
condition ``0 < s a < 2`` with the effective step ``s`` of :func:`momentum_lr`, ``lr/(1 + mu)`` or
``lr (1 + 2 mu)/(1 + mu)``.

The same step stands in for ``lr`` on a 2-cycle ``{a, b}``: the velocity alternates, ``v_b = -v_a = d(a)/(1 + mu)``,
and ``b = a - s d(a)``, ``a = b - s d(b)`` is the stateless map's 2-cycle with step ``s`` (for both forms, in any
dimension). So every edge and 1-D cycle of a stateless map on a quadratic holds with momentum once ``lr`` is
replaced by ``s``: :func:`samscape.theory.edge` and :func:`sam_momentum_two_cycle` do that.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .._checks import positive_array, single_number
from ..dynamics.optimizers import HYPERPARAMETER_CHECKS
from .edges import _as_output, _cycle


def _momentum_array(momentum):
    return HYPERPARAMETER_CHECKS["below_one"](momentum, "momentum")  # the optimizers' own check of momentum


def momentum_lr(lr, momentum, nesterov: bool = False):
    """The step ``s`` a stateless map's edge and 2-cycle take in place of ``lr`` under momentum: ``lr/(1 + mu)`` for
    heavy ball, ``lr (1 + 2 mu)/(1 + mu)`` for Nesterov (``lr`` at ``mu = 0``). Scalars or broadcastable arrays."""
    lr = np.asarray(positive_array(lr, "lr"), dtype=float)
    mu = np.asarray(_momentum_array(momentum), dtype=float)
    step = lr * (1.0 + 2.0 * mu) / (1.0 + mu) if nesterov else lr / (1.0 + mu)
    return float(step) if np.ndim(step) == 0 else step


def momentum_of(optimizer, purpose: str = "a stability analysis") -> tuple[float, bool]:
    """``(momentum, nesterov)`` of a plain optimizer, one number for every start (0 and False where it has none)."""
    momentum = single_number(getattr(optimizer, "momentum", 0.0), "optimizer momentum", purpose)
    return float(_momentum_array(momentum)), bool(getattr(optimizer, "nesterov", False))


def without_momentum(optimizer):
    """The same optimizer with ``momentum = 0``: the stateless map whose direction ``d`` the momentum accumulates."""
    if not np.any(getattr(optimizer, "momentum", 0.0)):
        return optimizer
    return dataclasses.replace(optimizer, momentum=0.0, nesterov=False)


def augmented_jacobian(stateless_jacobian, lr: float, momentum: float, nesterov: bool = False) -> np.ndarray:
    """The Jacobian ``(..., 2 dim, 2 dim)`` of the momentum map on ``(x, v)``, from the stateless one
    ``J = I - lr D`` ``(..., dim, dim)``: ``[[J, -lr mu I], [D, mu I]]`` (heavy ball) or
    ``[[I - lr (1 + mu) D, -lr mu^2 I], [D, mu I]]`` (Nesterov). It does not depend on ``v``."""
    jac = np.asarray(stateless_jacobian, dtype=float)
    dim = jac.shape[-1]
    eye = np.eye(dim)
    descent = (eye - jac) / lr  # D = Dd(x)
    top_left = eye - lr * (1.0 + momentum) * descent if nesterov else jac
    top_right = -lr * (momentum ** 2 if nesterov else momentum) * eye
    out = np.empty(jac.shape[:-2] + (2 * dim, 2 * dim))
    out[..., :dim, :dim] = top_left
    out[..., :dim, dim:] = top_right
    out[..., dim:, :dim] = descent
    out[..., dim:, dim:] = momentum * eye
    return out


def sam_momentum_two_cycle(lr, rho, lam, momentum, nesterov: bool = False):
    """Amplitude of normalized SAM's 2-cycle ``z -> -z`` on ``lam z^2 / 2`` with momentum: SAM's
    ``s lam rho / (2 - s lam)`` with the effective step ``s`` (:func:`momentum_lr`); the velocity alternates with it,
    ``v = -sign(z) lam (A + rho)/(1 + mu)`` (:func:`sam_momentum_cycle_velocity`). It exists and attracts for
    ``0 < lr lam < 2 (1 + mu)`` (Nesterov: ``2 (1 + mu)/(1 + 2 mu)``); ``ValueError`` outside."""
    step = momentum_lr(lr, momentum, nesterov)
    lam_arr = np.asarray(positive_array(lam, "lam"), dtype=float)
    if np.any(np.asarray(step) * lam_arr >= 2):
        limit = "2 (1 + mu)/(1 + 2 mu)" if nesterov else "2 (1 + mu)"
        worst = float(np.max(np.asarray(lr) * lam_arr))
        raise ValueError(f"lr * lam must be < {limit} for the 2-cycle of SAM with momentum to exist, got "
                         f"lr * lam = {worst:g} with momentum = {float(np.max(momentum)):g}")
    rho = np.asarray(positive_array(rho, "rho", allow_zero=True), dtype=float)
    return _cycle(step, lam_arr, rho, 1.0)  # SAM's cycle (growth 1: the ascent adds rho sign z)


def sam_momentum_cycle_velocity(lr, rho, lam, momentum, nesterov: bool = False):
    """Size of the velocity on SAM's 2-cycle with momentum: ``lam (A + rho)/(1 + mu)``, ``A`` the cycle's amplitude
    (:func:`sam_momentum_two_cycle`); its sign is the opposite of ``z``'s (for heavy ball it equals ``2A/lr``)."""
    amplitude = sam_momentum_two_cycle(lr, rho, lam, momentum, nesterov)
    return _as_output(np.asarray(lam) * (amplitude + np.asarray(rho)) / (1.0 + np.asarray(momentum)))
