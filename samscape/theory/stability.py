"""Deterministic stability: closed-form thresholds and the Jacobian of the update map at a point.

Closed forms (docs/theory.md section 2, [derived]); all of them are exact formulas evaluated in floating point:

- GD is stable at a minimum of curvature ``lam`` iff ``lr * lam <= 2``;
- USAM iff ``lr * lam * (1 + rho * lam) <= 2``, i.e. ``lam <= (-1 + sqrt(1 + 8 rho/lr)) / (2 rho)``;
- the SAM "edge" of Long & Bartlett solves ``lr * lam * (1 + rho * lam / ||g||) = 2``;
- normalized SAM on ``lam z^2 / 2`` settles on the 2-cycle ``+-lr*lam*rho / (2 - lr*lam)``.

The positive root of ``c lam^2 + lam - 2/lr = 0`` is written ``4 / (lr (1 + sqrt(1 + 8 c / lr)))``, which equals
``(-1 + sqrt(1 + 8c/lr)) / (2c)`` but does not cancel catastrophically for small ``c`` and gives ``2/lr`` at ``c = 0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import dynamics
from ..dynamics.optimizers import (Noise, adaptive_ascent, projected_step, repeated_ascent, sam_ascent, sign_ascent,
                                   unified_ascent, unit)
from .._tables import html_table, numbers
from .. import _checks
from .._checks import positive_array
from ..dynamics import OPTIMIZERS, Optimizer, check_optimizer, plain_kinds
from ._common import check_landscape, null_space, range_space, scalar_hyper
from .edges import (asam_threshold, asam_two_cycle, positive_root, projected_ascent_radius, repeated_ascent_rho_edge,
                    repeated_ascent_threshold, unified_sam_threshold, unified_sam_two_cycle)
from .momentum import augmented_jacobian, momentum_lr, momentum_of, without_momentum

FD_STEP = 1e-6
# Relative size below which a gradient counts as zero and a Hessian eigenvalue as a null (tangent) direction.
NULL_TOL = 1e-8
# Points listed in the HTML table of a report about many points.
HTML_ROWS = 20


def _as_output(value):
    return float(value) if np.ndim(value) == 0 else value


def gd_threshold(lr):
    """Largest curvature at which GD with step ``lr`` is stable: ``2 / lr``. Scalar or array, exact."""
    lr = positive_array(lr, "lr")
    return _as_output(2.0 / np.asarray(lr))


def usam_threshold(lr, rho):
    """Largest curvature at which USAM is stable at a minimum: the root of ``lr*lam*(1 + rho*lam) = 2``.

    Equals ``(-1 + sqrt(1 + 8 rho/lr)) / (2 rho)``, and ``2/lr`` at ``rho = 0``. Scalars or broadcastable arrays.
    """
    lr = np.asarray(positive_array(lr, "lr"))
    rho = np.asarray(positive_array(rho, "rho", allow_zero=True))
    return _as_output(positive_root(lr, rho))


def usam_factor(lr, rho, lam):
    """Per-step factor of USAM's error along an eigenvector of curvature ``lam``: ``|1 - lr*lam*(1 + rho*lam)|``.

    ``rho = 0`` gives GD's factor ``|1 - lr*lam|``. The minimum is linearly stable along that direction iff the
    factor is ``<= 1``. ``lam`` may be any real number; scalars or broadcastable arrays.
    """
    lr = np.asarray(positive_array(lr, "lr"))
    rho = np.asarray(positive_array(rho, "rho", allow_zero=True))
    lam = np.asarray(lam, dtype=float)
    return _as_output(np.abs(1 - lr * lam * (1 + rho * lam)))


def gd_lr_edge(lam):
    """The largest step at which GD is stable at a minimum of curvature ``lam``: ``2 / lam`` (the inverse of
    :func:`gd_threshold` in ``lr``). Scalar or array, exact."""
    lam = positive_array(lam, "lam")
    return _as_output(2.0 / np.asarray(lam))


def usam_rho_edge(lr, lam):
    """The largest ``rho`` at which USAM with step ``lr`` is stable at a minimum of curvature ``lam``.

    Solves ``lr*lam*(1 + rho*lam) = 2`` for ``rho``: ``(2/(lr*lam) - 1) / lam`` (the inverse of
    :func:`usam_threshold` in ``rho``). NaN where ``lr*lam > 2``: there no ``rho >= 0`` is stable. Scalars or
    broadcastable arrays.
    """
    lr = np.asarray(positive_array(lr, "lr"))
    lam = np.asarray(positive_array(lam, "lam"))
    rho = (2.0 / (lr * lam) - 1.0) / lam
    return _as_output(np.where(lr * lam <= 2, rho, np.nan))


def sam_edge(lr, rho, grad_norm):
    """The curvature ``lam`` solving ``lr * lam * (1 + rho * lam / grad_norm) = 2`` (Long & Bartlett's SAM edge).

    ``grad_norm = 0`` gives 0, the limit of the formula: with no gradient the normalized ascent is infinitely
    strong relative to it. Scalars or broadcastable arrays.
    """
    lr = np.asarray(positive_array(lr, "lr"))
    rho = np.asarray(positive_array(rho, "rho", allow_zero=True))
    grad_norm = np.asarray(positive_array(grad_norm, "grad_norm", allow_zero=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        # rho = 0 is plain GD whatever the gradient; otherwise rho/0 = inf gives an edge of 0
        c = np.where(rho == 0, 0.0, rho / np.where(grad_norm == 0, 0.0, grad_norm))
        c = np.where((rho > 0) & (grad_norm == 0), np.inf, c)
    return _as_output(positive_root(lr, c))


def sam_two_cycle(lr, rho, lam):
    """Amplitude of normalized SAM's 2-cycle on ``lam z^2 / 2``: ``lr * lam * rho / (2 - lr * lam)``.

    The cycle ``z -> -z`` exists and attracts for ``0 < lr * lam < 2``; outside that range there is none and a
    ``ValueError`` says so. Scalars or broadcastable arrays.
    """
    lr = np.asarray(positive_array(lr, "lr"))
    rho = np.asarray(positive_array(rho, "rho", allow_zero=True))
    lam = np.asarray(positive_array(lam, "lam"))
    product = lr * lam
    if np.any(product >= 2):
        bad = float(np.max(product))
        raise ValueError(f"lr * lam must be < 2 for SAM's 2-cycle to exist, got lr * lam = {bad:g}")
    return _as_output(product * rho / (2.0 - product))


@dataclass
class FixedPointStability:
    """Linear stability of a deterministic update map ``T`` at ``x``.

    On a manifold of minimizers (a valley) every point is a fixed point, so ``DT`` has eigenvalue exactly 1 along
    the manifold and ``stable`` is False everywhere on it; whether nearby starts fall back onto the valley is
    told by the *normal* eigenvalues, reported apart from the *tangent* ones.

    Attributes
    ----------
    x : ndarray (..., dim)
    jacobian : ndarray (..., n, n)
        ``DT(x)``; ``n = dim``, or for an optimizer with state (momentum) the augmented map's on ``(x, v)``,
        ``n = 2 dim``, the coordinates of ``x`` first.
    eigenvalues : ndarray (..., n), complex
        Sorted by decreasing modulus.
    spectral_radius : ndarray (...) or float
    stable : ndarray (...) of bool or bool
        ``spectral_radius < 1``: ``x`` is a linearly (asymptotically) stable fixed point, nearby starts converge
        to ``x`` itself. Never true on a manifold of fixed points (tangent eigenvalue 1).
    residual : ndarray (...) or float
        ``||T(x) - x||``: zero at a fixed point (the stability statement is about fixed points); with state, of the
        augmented map, ``||(x', v') - (x, v)||``.
    method : str
        ``exact`` (Hessians from SymPy) or ``finite-difference`` where the map is not differentiable.
    note : str
    tangent_dim : ndarray (...) of int or int
        Dimension of the tangent space: the null space of the loss Hessian at a critical point
        (``||grad L|| <= NULL_TOL``), 0 elsewhere. On a manifold of minimizers it is the manifold's tangent space
        (a degenerate isolated minimum, e.g. ``z^4`` at 0, has one too).
    tangent_eigenvalues, normal_eigenvalues : ndarray, complex
        Eigenvalues of ``DT`` on the tangent space (``Q_T^T DT Q_T``) and on the normal space, the quotient by
        the tangent space (``Q_N^T DT Q_N``, ``Q_N`` an orthonormal basis of the Hessian's range), each sorted by
        decreasing modulus. The tangent space is invariant (``DT v = v`` for GD and USAM, to the difference step
        for SAM), so together they are ``eigenvalues``. For one point, arrays of length ``tangent_dim`` and
        ``dim - tangent_dim``; for many, ``(..., dim)`` padded with NaN.
    normal_radius : ndarray (...) or float
        Largest modulus of the normal eigenvalues (0 when there are none).
    normally_stable : ndarray (...) of bool or bool
        ``normal_radius < 1``: perturbations off the manifold decay, so nearby starts land on the valley (near,
        not at, ``x``). Equals ``stable`` where the tangent space is empty.
    state : dict or None
        The optimizer's state at which the map was linearized (``{"velocity": v}``, ``v`` shaped as ``x``), or
        ``None`` for a stateless optimizer. With state the tangent space is ``{(t, 0)}`` (a point of the valley
        at rest); the velocity's directions all count as normal.
    """

    x: np.ndarray
    jacobian: np.ndarray
    eigenvalues: np.ndarray
    spectral_radius: np.ndarray | float
    stable: np.ndarray | bool
    residual: np.ndarray | float
    method: str
    note: str = ""
    state: dict | None = None
    tangent_dim: np.ndarray | int = 0
    tangent_eigenvalues: np.ndarray | None = None
    normal_eigenvalues: np.ndarray | None = None
    normal_radius: np.ndarray | float | None = None
    normally_stable: np.ndarray | bool | None = None

    def _repr_html_(self) -> str:
        if np.ndim(self.spectral_radius) == 0:
            rows = [("x", numbers(self.x)), ("eigenvalues of DT", numbers(self.eigenvalues)),
                    ("spectral radius", f"{self.spectral_radius:.6g}"), ("stable (radius < 1)", self.stable),
                    ("tangent dimension", self.tangent_dim),
                    ("tangent eigenvalues", numbers(self.tangent_eigenvalues)),
                    ("normal eigenvalues", numbers(self.normal_eigenvalues)),
                    ("normal radius", f"{self.normal_radius:.6g}"),
                    ("normally stable (normal radius < 1)", self.normally_stable),
                    ("residual ||T(x) - x||", f"{self.residual:.3g}"), ("method", self.method), ("note", self.note)]
            return html_table(rows, caption="FixedPointStability")
        flat = lambda a: np.reshape(a, -1)
        points = np.reshape(self.x, (-1, self.x.shape[-1]))
        fields = zip(points, flat(self.spectral_radius), flat(self.stable), flat(self.tangent_dim),
                     flat(self.normal_radius), flat(self.normally_stable), flat(self.residual))
        rows = [(numbers(p), f"{r:.4g}", bool(s), int(t), f"{n:.4g}", bool(ns), f"{res:.3g}")
                for p, r, s, t, n, ns, res in list(fields)[:HTML_ROWS]]
        shown = f" (first {HTML_ROWS} of {len(points)} points)" if len(points) > HTML_ROWS else ""
        return html_table(rows, header=("x", "spectral radius", "stable", "tangent dim", "normal radius",
                                        "normally stable", "residual"),
                          caption=f"FixedPointStability, {self.method}{shown}")


def _one_step(landscape, optimizer, x: np.ndarray) -> np.ndarray:
    return dynamics.step(landscape, optimizer, x.reshape(-1, landscape.dim), 0, seed=0).reshape(x.shape)


def _fixed_point_state(optimizer, x: np.ndarray, state) -> dict[str, np.ndarray] | None:
    """The optimizer's state at ``x`` as arrays shaped like ``x``: the given one, or zeros (``None`` without state)."""
    names = tuple(optimizer.state_names())
    if not names:
        if state:
            raise ValueError(f"state must be None for {optimizer.describe()}, which carries no state, got {sorted(state)}")
        return None
    state = dict(state or {})
    unknown = sorted(set(state) - set(names))
    if unknown:
        raise ValueError(f"state must name only {', '.join(names)} for {optimizer.describe()}, got {unknown}")
    return {name: (np.zeros_like(x) if state.get(name) is None else _checks.points(state[name], x.shape[-1], name)
                   * np.ones_like(x)) for name in names}


def _one_stateful_step(landscape, optimizer, x: np.ndarray, state: dict[str, np.ndarray], steps: int = 1):
    """``steps`` steps (from step 0) of the optimizer's own update on ``(x, state)``, each shaped ``(..., dim)``."""
    dim = landscape.dim
    points = x.reshape(-1, dim)
    noise = Noise(0, np.arange(len(points)), landscape.n_samples, dim)
    flat = {name: value.reshape(-1, dim) for name, value in state.items()}
    resolved = optimizer.for_starts(len(points))
    for t in range(steps):
        points, flat = resolved.advance(landscape, points, flat, t, noise)
    return points.reshape(x.shape), {name: np.asarray(flat[name]).reshape(x.shape) for name in state}


def _map_steps(optimizer) -> int:
    """How many steps make one map of an optimizer whose step reads its state: LookSAM's ``period`` (a SAM step and
    the steps that reuse its direction), else 1."""
    return int(getattr(optimizer, "period", 1))


def _state_reader_jacobian(landscape, optimizer, x: np.ndarray, state: dict[str, np.ndarray]) -> np.ndarray:
    """Central differences ``(..., n, n)`` of the map on ``z = (x, state...)`` of an optimizer whose step reads its
    state (:func:`_map_steps` steps from step 0), with the step ``1e-6 * max(1, |z_j|)``."""
    names, dim = list(state), landscape.dim
    z = np.concatenate([x] + [state[name] for name in names], axis=-1).reshape(-1, dim * (1 + len(names)))
    steps = _map_steps(optimizer)

    def apply(points):
        parts = {name: points[:, dim * (k + 1):dim * (k + 2)] for k, name in enumerate(names)}
        moved, moved_state = _one_stateful_step(landscape, optimizer, points[:, :dim], parts, steps)
        return np.concatenate([moved] + [moved_state[name] for name in names], axis=-1)

    out = np.empty(z.shape + (z.shape[-1],))
    for j in range(z.shape[-1]):
        shift = np.zeros_like(z)
        shift[:, j] = FD_STEP * np.maximum(1.0, np.abs(z[:, j]))
        out[:, :, j] = (apply(z + shift) - apply(z - shift)) / (2 * shift[:, j:j + 1])
    return out.reshape(x.shape[:-1] + out.shape[-2:])


def _check_state_reader(landscape, optimizer) -> None:
    """A full-batch, single-valued optimizer whose step reads its state: one deterministic map on ``(x, state)``."""
    check_landscape(landscape)
    if getattr(optimizer, "batch_size", None) is not None and landscape.n_samples != 1:
        raise ValueError(f"optimizer must be full-batch (batch_size=None) for a stability analysis, got "
                         f"{optimizer.describe()}: its mini-batches make its map random")
    for name in ("lr", "rho", "momentum", "alpha"):
        if hasattr(optimizer, name):
            scalar_hyper(optimizer, name)


def sam_ascent_jacobian(landscape, x: np.ndarray, rho: float, hess: np.ndarray):
    """SAM's perturbed point and its Jacobian: ``x+ = dynamics.sam_ascent(x)`` and
    ``D x+ = I + (rho/||g||)(I - u u^T) H(x)`` with ``g = grad L(x)``, ``u = g/||g||``; also ``||g||``.

    ``x``: ``(..., dim)``; ``hess``: ``H(x)``, ``(..., dim, dim)``; ``rho``: a scalar or one value per point,
    ``(...)``. Where ``g = 0`` the map is not differentiable;
    there ``D x+`` is returned as ``I`` (the caller decides what to do with those points). Used by the update
    Jacobian of SAM (``DT = I - lr H(x+) D x+``) and by the hallucinated-point search (``DF = H(x+) D x+``).
    """
    grad = landscape.grad(x)
    norm = np.linalg.norm(grad, axis=-1)
    direction = unit(grad)
    eye = np.eye(x.shape[-1])
    projector = eye - direction[..., :, None] * direction[..., None, :]
    rho = np.asarray(rho, dtype=float)
    scale = _sam_scale(rho, norm)
    inner = eye + scale[..., None, None] * (projector @ hess)
    return sam_ascent(landscape, x, rho[..., None] if rho.ndim else rho), inner, norm


def _no_scale(rho, grad_norm):
    return np.zeros_like(grad_norm, dtype=float)


def _usam_scale(rho, grad_norm):
    return np.broadcast_to(np.asarray(rho, dtype=float), np.shape(grad_norm)).copy()


def _sam_scale(rho, grad_norm):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(grad_norm > 0, rho / np.where(grad_norm > 0, grad_norm, 1.0), 0.0)


def _no_ascent(landscape, x, hess):
    return x, None, np.zeros(x.shape[:-1], dtype=bool)  # D x+ = I: the descent Hessian is H(x) itself


def _usam_ascent(landscape, x, hess, rho):
    return x + rho * landscape.grad(x), np.eye(x.shape[-1]) + rho * hess, np.zeros(x.shape[:-1], dtype=bool)


def _sam_ascent(landscape, x, hess, rho):
    ascent, inner, norm = sam_ascent_jacobian(landscape, x, rho, hess)
    return ascent, inner, ~(norm > 0) & (rho > 0)


def _repeated_ascent(landscape, x, hess, rho, steps_ascent):
    """``D p_k = (I + rho H(p_{k-1})) D p_{k-1}``: the chain rule through the K USAM steps."""
    inner, point = np.eye(x.shape[-1]), x
    for k in range(int(steps_ascent)):
        inner = (inner + rho * ((hess if k == 0 else landscape.hessian(point)) @ inner))
        point = repeated_ascent(landscape, point, rho, 1)
    return point, inner, np.zeros(x.shape[:-1], dtype=bool)


def _tangent_part(v: np.ndarray) -> np.ndarray:
    """``(I - v v^T/||v||^2) / ||v||``, the Jacobian of ``v/||v||`` in ``v`` (``(..., d, d)``; 0 where ``v = 0``)."""
    u = unit(v)
    norm = np.linalg.norm(v, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(norm > 0, 1.0 / np.where(norm > 0, norm, 1.0), 0.0)
    return scale[..., None, None] * (np.eye(v.shape[-1]) - u[..., :, None] * u[..., None, :])


def _projected_ascent(landscape, x, hess, rho, alpha, steps_ascent):
    """The chain rule through K normalized steps ``q = p + alpha g/||g||`` (``D q = D p + alpha P_g H(p) D p``) and
    their projections ``p = x + rho d/||d||`` where ``||d|| > rho`` (``D p = I + rho P_d (D q - I)``), ``d = q - x``,
    ``P_v`` the Jacobian of ``v/||v||``. Not differentiable where a step's gradient is zero."""
    eye = np.eye(x.shape[-1])
    point, inner = x, np.broadcast_to(eye, hess.shape)
    undefined = np.zeros(x.shape[:-1], dtype=bool)
    for k in range(int(steps_ascent)):
        grad = landscape.grad(point)
        undefined |= ~(np.linalg.norm(grad, axis=-1) > 0)
        moved = inner + alpha * (_tangent_part(grad) @ (hess if k == 0 else landscape.hessian(point)) @ inner)
        d = point + alpha * unit(grad) - x
        outside = np.linalg.norm(d, axis=-1) > rho
        inner = np.where(outside[..., None, None], eye + rho * (_tangent_part(d) @ (moved - eye)), moved)
        point = projected_step(landscape, point, x, rho, alpha)
    return point, inner, undefined & (rho > 0)


def _adaptive_ascent(landscape, x, hess, rho, eta_a):
    """``x+ = x + rho T u``, ``u = w/||w||``, ``w = T g``, ``T = |x| + eta_a``:
    ``D x+ = I + rho (diag(sign(x) u) + diag(T) P_w (diag(sign(x) g) + diag(T) H))``. Not differentiable where
    ``w = 0`` or a coordinate of ``x`` is 0 (the kink of ``|x|``)."""
    grad = landscape.grad(x)
    scale = np.abs(x) + eta_a
    w = scale * grad
    sign = np.sign(x)
    dw = (sign * grad)[..., :, None] * np.eye(x.shape[-1]) + scale[..., :, None] * hess
    inner = np.eye(x.shape[-1]) + rho * ((sign * unit(w))[..., :, None] * np.eye(x.shape[-1])
                                         + scale[..., :, None] * (_tangent_part(w) @ dw))
    undefined = ~(np.linalg.norm(w, axis=-1) > 0) | np.any(x == 0, axis=-1)
    return adaptive_ascent(landscape, x, rho, eta_a), inner, undefined & (rho > 0)


def _redirected_ascent(landscape, x, hess, rho, **_):
    """The steps of GSAM, StableSAM and GNP are not ``x - lr grad L(x+)``, so ``I - lr H(x+) D x+`` is not their
    Jacobian: every point is marked for the central finite difference of the update itself."""
    ascent, inner, _ = _sam_ascent(landscape, x, hess, rho)
    return ascent, inner, np.ones(x.shape[:-1], dtype=bool)


def _sign_ascent(landscape, x, hess, rho):
    """``x + rho sign(g)`` is piecewise constant in ``g``: ``D x+ = I``, except where a partial derivative is 0."""
    undefined = np.any(landscape.grad(x) == 0, axis=-1) & (rho > 0)
    return sign_ascent(landscape, x, rho), np.broadcast_to(np.eye(x.shape[-1]), hess.shape), undefined


def _unified_ascent(landscape, x, hess, rho, lam_u):
    """``D x+ = I + rho (1 - lam_u) H + (rho lam_u/||g||)(I - u u^T) H``: USAM's and SAM's, weighted."""
    _, sam_inner, norm = sam_ascent_jacobian(landscape, x, rho * lam_u, hess)
    inner = sam_inner + rho * (1.0 - lam_u) * hess
    return unified_ascent(landscape, x, rho, lam_u), inner, ~(norm > 0) & (rho * lam_u > 0)


@dataclass(frozen=True)
class LinearMap:
    """The full-batch update map ``T(x) = x - lr grad L(x+)`` of the optimizers with one ``ascent`` (their class's
    tag, see :class:`samscape.dynamics.Optimizer`), as the theory linearizes it; :data:`LINEAR_MAPS` holds one per
    ascent, and every analysis of an optimizer's map reads its row instead of branching on the optimizer's name.

    ``name`` is what :class:`StabilityEdge` and messages call the map; ``uses_rho`` whether ``rho`` enters it;
    ``linear`` whether it is linear in the gradient (the second-moment operator of its stochastic form is then
    exact to first order, :func:`samscape.theory.mean_square_radius`; SAM's normalization is not);
    ``threshold(lr, rho)`` the largest curvature at which a minimum is linearly stable, with ``threshold_label``
    (mathtext, for a figure) and ``threshold_text`` (plain), or ``None`` where there is none (normalized SAM cannot
    rest at a minimum: it settles on a 2-cycle); ``ascent(landscape, x, rho, H(x))`` gives the ascent point ``x+``,
    its Jacobian ``D x+`` (``None``: the identity, no ascent) and where that is not differentiable (a finite
    difference stands in there); ``ascent_scale(rho, grad_norm)`` the ``s`` of its ascent step ``x+ = x + s grad L(x)``
    (0, ``rho``, ``rho/||grad L||`` with 0 where the gradient is 0), for an analysis that writes the step itself,
    or ``None`` where the ascent is not one such step (the multi-step and reweighted ascents).

    ``hypers`` names the optimizer's fields besides ``lr`` that ``threshold``, ``ascent`` and ``edge`` take, by
    keyword (``ascent(landscape, x, H(x), **hypers)``, ``threshold(lr, **hypers)``); ``edge(lr, grad_norm,
    **hypers)`` is the map's edge on a quadratic, the largest curvature at which its fixed point or its 2-cycle
    attracts (:func:`edge`); ``published`` says whether that edge is a published result or derived here;
    ``cycle(lr, lam, **hypers)`` the amplitude of its 2-cycle on ``lam z^2 / 2`` below the edge (:func:`two_cycle`),
    ``None`` where the minimum itself attracts there.
    """

    name: str
    uses_rho: bool
    linear: bool
    threshold: Callable | None
    threshold_label: str
    threshold_text: str
    ascent: Callable
    ascent_scale: Callable | None
    hypers: tuple[str, ...] = ()
    edge: Callable | None = None
    published: bool = False
    cycle: Callable | None = None


def _gd_threshold(lr):
    return gd_threshold(lr)


def _gd_edge(lr, grad_norm):
    return gd_threshold(lr)


def _usam_edge(lr, grad_norm, rho):
    return usam_threshold(lr, rho)


def _sam_edge(lr, grad_norm, rho):
    # without a gradient norm: where SAM's 2-cycle exists and attracts, lr lam < 2 (sam_two_cycle)
    return gd_threshold(lr) if grad_norm is None else sam_edge(lr, rho, grad_norm)


def _repeated_edge(lr, grad_norm, rho, steps_ascent):
    return repeated_ascent_threshold(lr, rho, steps_ascent)


def _projected_edge(lr, grad_norm, rho, alpha, steps_ascent):
    # in 1-D the ascent is SAM's with the radius the steps reach (edges.projected_ascent_radius)
    return _sam_edge(lr, grad_norm, projected_ascent_radius(rho, alpha, steps_ascent))


def _adaptive_edge(lr, grad_norm, rho, eta_a):
    return asam_threshold(lr, rho)


def _surrogate_gap_edge(lr, grad_norm, rho, alpha):
    # in 1-D g_perp = 0: GSAM is SAM
    return _sam_edge(lr, grad_norm, rho)


def _sign_edge(lr, grad_norm, rho):
    # in 1-D sign(g) = g/|g|: SAM
    return _sam_edge(lr, grad_norm, rho)


def _stable_edge(lr, grad_norm, rho):
    # in 1-D ||g|| g_adv/||g_adv|| = g (g_adv has the sign of g at a convex minimum): GD
    return gd_threshold(lr)


def _penalty_edge(lr, grad_norm, rho, alpha):
    # on a quadratic (1 - alpha) g + alpha g_adv = g + alpha rho H g/||g||: SAM with radius alpha rho
    return _sam_edge(lr, grad_norm, alpha * rho)


def _weighted_edge(lr, grad_norm, rho, gamma):
    # GNP's with alpha = gamma / (1 - gamma)
    return _penalty_edge(lr, grad_norm, rho, gamma / (1 - gamma))


def _unified_edge(lr, grad_norm, rho, lam_u):
    return unified_sam_threshold(lr, rho, lam_u, grad_norm)


def _sam_cycle(lr, lam, rho):
    return sam_two_cycle(lr, rho, lam)


def _projected_cycle(lr, lam, rho, alpha, steps_ascent):
    return sam_two_cycle(lr, projected_ascent_radius(rho, alpha, steps_ascent), lam)


def _adaptive_cycle(lr, lam, rho, eta_a):
    return asam_two_cycle(lr, rho, eta_a, lam)


def _unified_cycle(lr, lam, rho, lam_u):
    return unified_sam_two_cycle(lr, rho, lam_u, lam)


def _surrogate_gap_cycle(lr, lam, rho, alpha):
    return sam_two_cycle(lr, rho, lam)


def _penalty_cycle(lr, lam, rho, alpha):
    return sam_two_cycle(lr, alpha * rho, lam)


def _weighted_cycle(lr, lam, rho, gamma):
    return _penalty_cycle(lr, lam, rho, gamma / (1 - gamma))


def _variant_map(name, ascent, hypers, edge, cycle=None) -> LinearMap:
    """The map of a SAM variant whose minimum has no fixed-point threshold to draw and whose ascent is not one step
    ``x + s grad L(x)``; its edge is derived here."""
    return LinearMap(name=name, uses_rho=True, linear=False, threshold=None, threshold_label="", threshold_text="",
                     ascent=ascent, ascent_scale=None, hypers=hypers, edge=edge, cycle=cycle)


# Optimizer.ascent -> its map (as the kernel generator keys its emitters); a random ascent has none.
LINEAR_MAPS: dict[str | None, LinearMap] = {
    None: LinearMap(name="gd", uses_rho=False, linear=True, threshold=_gd_threshold, threshold_label=r"$2/\eta$",
                    threshold_text="GD edge 2/eta", ascent=_no_ascent, ascent_scale=_no_scale, edge=_gd_edge,
                    published=True),
    "unnormalized": LinearMap(name="usam", uses_rho=True, linear=True, threshold=usam_threshold,
                              threshold_label="USAM edge", threshold_text="USAM edge", ascent=_usam_ascent,
                              ascent_scale=_usam_scale, hypers=("rho",), edge=_usam_edge, published=True),
    "normalized": LinearMap(name="sam", uses_rho=True, linear=False, threshold=None, threshold_label="",
                            threshold_text="", ascent=_sam_ascent, ascent_scale=_sam_scale, hypers=("rho",),
                            edge=_sam_edge, published=True, cycle=_sam_cycle),
    # linear in the gradient, but the second-moment operator of mean_square_radius is one USAM step's
    "repeated": LinearMap(name="multistepusam", uses_rho=True, linear=False, threshold=repeated_ascent_threshold,
                          threshold_label="multi-step USAM edge", threshold_text="multi-step USAM edge",
                          ascent=_repeated_ascent, ascent_scale=None, hypers=("rho", "steps_ascent"),
                          edge=_repeated_edge),
    "projected": _variant_map("multistepsam", _projected_ascent, ("rho", "alpha", "steps_ascent"), _projected_edge,
                              _projected_cycle),
    "adaptive": _variant_map("asam", _adaptive_ascent, ("rho", "eta_a"), _adaptive_edge, _adaptive_cycle),
    "unified": _variant_map("unifiedsam", _unified_ascent, ("rho", "lam_u"), _unified_edge, _unified_cycle),
    "surrogate_gap": _variant_map("gsam", _redirected_ascent, ("rho", "alpha"), _surrogate_gap_edge,
                                  _surrogate_gap_cycle),
    "sign": _variant_map("signsam", _sign_ascent, ("rho",), _sign_edge, _sam_cycle),
    "stable": _variant_map("stablesam", _redirected_ascent, ("rho",), _stable_edge),
    "penalty": _variant_map("gnp", _redirected_ascent, ("rho", "alpha"), _penalty_edge, _penalty_cycle),
    "weighted": _variant_map("wsam", _redirected_ascent, ("rho", "gamma"), _weighted_edge, _weighted_cycle),
}


def map_hypers(optimizer, found: LinearMap, purpose: str = "a stability analysis") -> dict[str, float]:
    """The optimizer's values of the map's ``hypers``, each a single number (one value for every start)."""
    return {name: scalar_hyper(optimizer, name, purpose) for name in found.hypers}


def one_step_ascent_map(optimizer, n_samples: int, purpose: str) -> LinearMap:
    """:func:`linear_map`, for an analysis that writes the ascent as one step ``x + s grad L(x)`` (its
    ``ascent_scale``): ``ValueError`` naming the maps that are, for one that is not."""
    found = linear_map(optimizer, n_samples)
    if found.ascent_scale is None:
        names = ", ".join(m.name for m in LINEAR_MAPS.values() if m.ascent_scale is not None)
        raise ValueError(f"optimizer must have a one-step ascent x + s grad L(x) ({names}) for {purpose}, got "
                         f"{optimizer.describe()}")
    return found


def fixed_map_optimizers() -> dict[str, type[Optimizer]]:
    """The registered optimizers whose update is a fixed map of ``x`` once the batch is fixed, by kind: plain
    (not composite like Switch) and with an ascent whose map the theory knows (:data:`LINEAR_MAPS`: not a random
    one). Their full-batch forms are the maps the theory analyses."""
    return {kind: OPTIMIZERS[kind] for kind in plain_kinds() if OPTIMIZERS[kind].ascent in LINEAR_MAPS}


def _full_batch_maps() -> dict[str | None, type[Optimizer]]:
    """``{ascent: the optimizer class whose full-batch map the theory calls by its kind}`` (gd, sam, usam): the first
    registered with that ascent, so a later class with the same ascent has the same map and the same name."""
    maps: dict[str | None, type[Optimizer]] = {}
    for cls in fixed_map_optimizers().values():
        if cls.batch_rule() != "required" and not cls.ascent_per_sample:
            maps.setdefault(cls.ascent, cls)
    return maps


def check_deterministic(optimizer, n_samples: int) -> None:
    """Refuse, naming its deterministic counterpart, an optimizer whose map is random on a landscape of
    ``n_samples`` samples (mini-batches of a finite sum, a random ascent) or not one map (a Switch)."""
    cls = type(check_optimizer(optimizer))
    maps = _full_batch_maps()
    # with one data point every batch is the full loss, so mini-batching changes nothing
    full_batch = getattr(optimizer, "batch_size", None) is None or n_samples == 1
    if cls.composite() or cls.kind not in fixed_map_optimizers() or not full_batch:
        counterpart = maps.get(cls.ascent)
        if cls.composite():
            hint = f"a {cls.__name__} changes its map mid-run, so pass the phase you want, e.g. optimizer.{cls.parts[-1]}"
        elif cls.reads_state:
            hint = f"{cls.__name__}'s step depends on the state it carries, not on x alone, so it has no map of x"
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


def mean_map(optimizer) -> LinearMap | None:
    """The linear map of the mean update of ``optimizer`` (an instance or a class), where the theory has one: by its
    ascent (SGD's mean map is GD's, a mini-batch USAM's is USAM's); ``None`` for a random ascent, per-sample ascents
    (their map on a finite sum is their own) and a composite such as a Switch (one map per phase)."""
    cls = optimizer if isinstance(optimizer, type) else type(optimizer)
    if cls.composite() or cls.ascent_per_sample:
        return None
    return LINEAR_MAPS.get(cls.ascent)


def linear_map(optimizer, n_samples: int) -> LinearMap:
    """The map a deterministic analysis of ``optimizer`` linearizes on a landscape of ``n_samples`` samples;
    ``ValueError`` (naming the deterministic counterpart) for an optimizer whose map is random there."""
    check_deterministic(optimizer, n_samples)
    return LINEAR_MAPS[type(optimizer).ascent]


def sharpness_threshold(optimizer) -> tuple[str, str, float] | None:
    """``(label, text, lambda)``: the curvature above which a minimum is linearly unstable for ``optimizer``'s mean
    map (:func:`mean_map`: GD's ``2/lr`` for GD and SGD, USAM's edge for USAM), its mathtext label and its plain
    text; ``None`` where there is none (SAM, a random or per-sample ascent) or ``lr``/``rho`` hold one value per
    start."""
    found = mean_map(optimizer)
    if found is None or found.threshold is None:
        return None
    lr, hypers = getattr(optimizer, "lr", 0.0), {name: getattr(optimizer, name) for name in found.hypers}
    if np.ndim(lr) or np.ndim(getattr(optimizer, "momentum", 0.0)) or any(np.ndim(v) for v in hypers.values()):
        return None
    return found.threshold_label, found.threshold_text, float(found.threshold(_step_of(optimizer, "a threshold"),
                                                                             **hypers))


def _step_of(optimizer, purpose: str) -> float:
    """The step a stateless map's edges and cycles take for ``optimizer``: ``lr``, or with momentum the effective
    step of :func:`~samscape.theory.momentum.momentum_lr` (the edge of the augmented map on ``(x, v)``)."""
    return momentum_lr(scalar_hyper(optimizer, "lr", purpose), *momentum_of(optimizer, purpose))


# Ascents that read the optimizer's state, by the map whose 1-D edge and 2-cycle they share on lam z^2 / 2 (with
# momentum's effective step; docs/theory.md section 2.2, derived here): on MSAM's cycle the velocity has the sign
# opposite to z, so its perturbation -rho v/|v| is SAM's +rho sign z.
SHARED_ONE_D_MAPS: dict[str, str | None] = {"momentum": "normalized"}


def _closed_form_map(optimizer, purpose: str, grad_norm=None) -> LinearMap:
    """The optimizer's mean map with a closed-form edge; ``ValueError`` naming why there is none."""
    found = mean_map(check_optimizer(optimizer))
    if found is not None and found.edge is not None:
        return found
    cls = type(optimizer)
    if cls.reads_state and not cls.composite():
        if cls.ascent in SHARED_ONE_D_MAPS and grad_norm is None:
            return LINEAR_MAPS[SHARED_ONE_D_MAPS[cls.ascent]]
        if cls.ascent in SHARED_ONE_D_MAPS:
            raise ValueError(f"grad_norm must be None for {optimizer.describe()}, got {grad_norm!r}: its ascent "
                             "follows its velocity, not the gradient, so no local edge at a gradient norm is derived")
        raise ValueError(f"optimizer must have a closed-form map on a quadratic for {purpose}, got "
                         f"{optimizer.describe()}: its step reads the state it carries and no closed form is derived "
                         f"for its {cls.ascent!r} ascent; simulate it with stability_fates instead")
    names = ", ".join(c.__name__ for c in _full_batch_maps().values())
    raise ValueError(f"optimizer must have a deterministic mean map ({names}, or one of their mini-batch forms) "
                     f"for {purpose}, got {optimizer.describe()}")


def edge(optimizer, *, grad_norm=None) -> float:
    """The stability edge of ``optimizer`` on a quadratic: the largest curvature ``lam`` (the top Hessian eigenvalue
    of a minimum) at which its mean full-batch map (:func:`mean_map`) stays near the minimum.

    For the maps that can rest at a minimum (GD, USAM, multi-step USAM, ASAM with ``eta_a = 0``) the fixed point
    is linearly stable below it; for those whose normalized ascent cannot rest there (SAM, multi-step SAM, ASAM with
    ``eta_a > 0``, Unified SAM) it is where their 2-cycle around the minimum exists and attracts. With
    ``grad_norm``, the normalized ascents' local edge at a point where ``||grad L|| = grad_norm`` instead (Long &
    Bartlett's for SAM: ``lr lam (1 + rho lam / grad_norm) = 2``); the other maps ignore it.

    Dispatched on the class's ``ascent`` through :data:`LINEAR_MAPS`, whose ``published`` says which edges are
    published and which are derived here (docs/theory.md section 2.1). ASAM's and multi-step SAM's are the 1-D
    results: in more dimensions their ascents mix the coordinates and the edge depends on the point.
    With ``momentum`` (heavy ball or Nesterov) the edge is that of the augmented map on ``(x, v)``: the stateless
    map's with ``lr`` replaced by ``lr/(1 + mu)`` or ``lr (1 + 2 mu)/(1 + mu)`` (:func:`momentum_lr`, derived in
    docs/theory.md section 2.2, derived here).
    MSAM's 1-D edge and cycle are SAM's with its momentum (:data:`SHARED_ONE_D_MAPS`, derived here; it has no local
    edge at a gradient norm). ``lr``, ``momentum`` and the map's hyperparameters must be single numbers;
    ``ValueError`` for an optimizer without a deterministic mean map (a random or per-sample ascent, a Switch) or
    without a closed form (LookSAM, whose step reads its stored direction and the step number).
    """
    found = _closed_form_map(optimizer, "a stability edge", grad_norm)
    return float(found.edge(_step_of(optimizer, "a stability edge"), grad_norm,
                            **map_hypers(optimizer, found, "a stability edge")))


def two_cycle(optimizer, lam):
    """Amplitude of ``optimizer``'s 2-cycle ``z -> -z`` on the 1-D quadratic ``lam z^2 / 2``, below its :func:`edge`:
    0 where the minimum itself attracts (GD, USAM, multi-step USAM, StableSAM, ASAM with ``eta_a = 0``), else the
    map's cycle (SAM's ``lr lam rho / (2 - lr lam)``, ...); with momentum, the same with the effective step of
    :func:`momentum_lr` (the velocity alternates too, docs/theory.md section 2.2). ``ValueError`` at or above the
    edge, where neither attracts, and for an optimizer without a closed-form map (as :func:`edge`)."""
    found = _closed_form_map(optimizer, "a 2-cycle amplitude")
    lam = positive_array(lam, "lam")
    limit = edge(optimizer)
    if np.any(np.asarray(lam) >= limit):
        raise ValueError(f"lam must be below the edge {limit:g} of {optimizer.describe()} for its 2-cycle (or fixed "
                         f"point) to attract, got {float(np.max(lam)):g}")
    if found.cycle is None:
        return _as_output(np.zeros_like(np.asarray(lam, dtype=float)))
    return found.cycle(_step_of(optimizer, "a 2-cycle amplitude"), lam,
                       **map_hypers(optimizer, found, "a 2-cycle amplitude"))


def update_jacobian(landscape, optimizer, x):
    """Jacobian ``(..., dim, dim)`` of the deterministic update at ``x`` ``(..., dim)``, and a mask of the points
    where a finite difference had to be used (SAM where ``grad L = 0``).

    GD: ``I - lr H(x)``. USAM: ``I - lr H(x+) (I + rho H(x))``. SAM with ``u = g/||g||``:
    ``I - lr H(x+) (I + (rho/||g||)(I - u u^T) H(x))``: ``I - lr H(x+) D x+`` with the map's ascent
    (:class:`LinearMap`).

    With momentum the map acts on ``(x, v)`` and its Jacobian is ``(..., 2 dim, 2 dim)``, the coordinates of ``x``
    first: :func:`~samscape.theory.momentum.augmented_jacobian` of the stateless map's (it does not depend on ``v``).
    """
    check_landscape(landscape)
    found = linear_map(optimizer, landscape.n_samples)
    x = _checks.points(x, landscape.dim)
    lr = scalar_hyper(optimizer, "lr")
    momentum, nesterov = momentum_of(optimizer)
    stateless = without_momentum(optimizer)
    hess = landscape.hessian(x)
    ascent, inner, fallback = found.ascent(landscape, x, hess, **map_hypers(optimizer, found))
    jac = np.eye(landscape.dim) - lr * (hess if inner is None else landscape.hessian(ascent) @ inner)
    if fallback.any():
        jac[fallback] = _finite_difference_jacobian(landscape, stateless, x[fallback])
    if momentum > 0:
        jac = augmented_jacobian(jac, lr, momentum, nesterov)
    return jac, fallback


def _finite_difference_jacobian(landscape, optimizer, points: np.ndarray) -> np.ndarray:
    """Central differences of the update map, ``(k, dim) -> (k, dim, dim)``."""
    dim = landscape.dim
    out = np.empty(points.shape + (dim,))
    for j in range(dim):
        step = FD_STEP * np.maximum(1.0, np.abs(points[:, j]))
        shift = np.zeros_like(points)
        shift[:, j] = step
        forward = _one_step(landscape, optimizer, points + shift)
        backward = _one_step(landscape, optimizer, points - shift)
        out[:, :, j] = (forward - backward) / (2 * step[:, None])
    return out


def fixed_point_stability(landscape, optimizer, x, *, state=None) -> FixedPointStability:
    """Eigenvalues and spectral radius of the Jacobian of a deterministic update map at ``x``.

    Parameters
    ----------
    landscape : Landscape
    optimizer : a kind of :func:`fixed_map_optimizers`, or MSAM or LookSAM (full batch; scalar ``lr``, ``rho``,
        ``momentum``)
    x : array (dim,) or (..., dim)
    state : dict, optional
        For an optimizer with momentum, its velocity ``{"velocity": v}`` (``v`` shaped as ``x``); by default 0, the
        velocity of every fixed point (``v = mu v + d`` and ``x = x - lr v`` force ``v = 0``). The map then acts on
        ``(x, v)``: the Jacobian, its eigenvalues and the residual are the augmented map's.

    An optimizer whose step reads its own state (MSAM, LookSAM: ``reads_state``) has no map of ``x`` alone: its map
    acts on ``(x, state)`` (zeros by default), over one ``period`` from step 0 for LookSAM (a SAM step and the steps
    that reuse its direction), and its Jacobian is a central finite difference of the optimizer's own step.

    The Jacobian uses the exact (SymPy-derived) Hessians. Normalized SAM's map is not differentiable where
    ``grad L(x) = 0`` (its ascent direction jumps); there the Jacobian is a central finite difference with step
    ``1e-6 * max(1, |x_j|)``, ``method`` says so, and entries of order ``rho / step`` mean the point repels
    any perturbation (SAM has no stable minimum with positive curvature).
    """
    x = _checks.points(x, getattr(landscape, "dim", 0))
    reads_state = type(check_optimizer(optimizer)).reads_state
    if reads_state:
        _check_state_reader(landscape, optimizer)
        state = _fixed_point_state(optimizer, x, state)
        jac = _state_reader_jacobian(landscape, optimizer, x, state)
        fallback = np.ones(x.shape[:-1], dtype=bool)
    else:
        jac, fallback = update_jacobian(landscape, optimizer, x)
        state = _fixed_point_state(optimizer, x, state)
    eig = np.linalg.eigvals(jac)
    order = np.argsort(-np.abs(eig), axis=-1)
    eig = np.take_along_axis(eig, order, axis=-1)
    radius = np.abs(eig[..., 0])
    with np.errstate(all="ignore"):
        if state is None:
            residual = np.linalg.norm(_one_step(landscape, optimizer, x) - x, axis=-1)
        else:
            steps = _map_steps(optimizer) if reads_state else 1
            moved, moved_state = _one_stateful_step(landscape, optimizer, x, state, steps)
            change = [moved - x] + [moved_state[name] - state[name] for name in state]
            residual = np.linalg.norm(np.concatenate(change, axis=-1), axis=-1)
    if reads_state:
        method = "finite-difference"
        note = (f"{type(optimizer).__name__}'s step reads the state it carries, so the map is the one on (x, "
                f"{', '.join(state)}) over {_map_steps(optimizer)} step(s) from step 0, and its Jacobian a central "
                f"finite difference with step {FD_STEP:g}*max(1,|z|); large entries only mean 'repelling' (MSAM's "
                "ascent -rho v/||v|| jumps at v = 0)")
    elif fallback.any():
        method = "finite-difference" if fallback.all() else "exact + finite-difference"
        note = (
            "where the map is not differentiable (a normalized ascent whose direction is undefined, as SAM's where "
            "grad L = 0: the direction jumps) or has no exact Jacobian here (the steps of GSAM, StableSAM, GNP and "
            "WSAM), the Jacobian is a "
            f"central finite difference with step {FD_STEP:g}*max(1,|x|), so large entries only mean 'repelling'"
        )
    else:
        method, note = "exact", "Jacobian from the exact (SymPy-derived) Hessians"
    tangent_dim, tangent, normal = tangent_normal_split(landscape, x, jac)
    normal_radius = np.max(np.abs(np.where(np.isnan(normal), 0.0, normal)), axis=-1)  # 0 with no normal space
    scalar = x.ndim == 1
    if scalar:
        k = int(tangent_dim)
        tangent, normal = tangent[:k], normal[:jac.shape[-1] - k]
    return FixedPointStability(
        x=x,
        state=state,
        jacobian=jac,
        eigenvalues=eig,
        spectral_radius=float(radius) if scalar else radius,
        stable=bool(radius < 1) if scalar else radius < 1,
        residual=float(residual) if scalar else residual,
        method=method,
        note=note,
        tangent_dim=int(tangent_dim) if scalar else tangent_dim,
        tangent_eigenvalues=tangent,
        normal_eigenvalues=normal,
        normal_radius=float(normal_radius) if scalar else normal_radius,
        normally_stable=bool(normal_radius < 1) if scalar else normal_radius < 1,
    )


def tangent_normal_split(landscape, x: np.ndarray, jac: np.ndarray):
    """Split the eigenvalues of ``jac = DT(x)`` into those along the tangent space and those normal to it.

    The tangent space is the null space of the Hessian of the loss at a critical point (``_common.null_space``:
    eigenvalues of modulus at most ``NULL_TOL`` times the largest; a critical point has ``||grad L|| <= NULL_TOL *
    max(1, largest |eigenvalue|)``); it is empty elsewhere. With orthonormal bases ``Q_T`` of it and ``Q_N`` of its complement, the tangent eigenvalues
    are those of ``Q_T^T DT Q_T`` and the normal ones those of ``Q_N^T DT Q_N``.

    For the augmented map of an optimizer with state (``jac`` of size ``n = k dim``, the coordinates of ``x`` first)
    the tangent space is ``{(t, 0, ...)}``, points of the valley at rest (a fixed point has zero velocity), and every
    state direction counts as normal: ``Q_T`` is padded with zeros and ``Q_N`` gets the identity on the state.

    Returns ``tangent_dim (...)``, ``tangent (..., n)`` and ``normal (..., n)``: complex, each sorted by
    decreasing modulus and padded with NaN at the end.
    """
    dim = landscape.dim
    size = jac.shape[-1]
    points = x.reshape(-1, dim)
    jacs = jac.reshape(-1, size, size)
    hessians = landscape.hessian(points)
    scale = np.maximum(1.0, np.max(np.abs(np.linalg.eigvalsh(hessians)), axis=-1))
    with np.errstate(all="ignore"):
        critical = np.linalg.norm(landscape.grad(points), axis=-1) <= NULL_TOL * scale
    tangent = np.full((len(points), size), np.nan, dtype=complex)
    normal = np.full((len(points), size), np.nan, dtype=complex)
    tangent_dim = np.zeros(len(points), dtype=int)
    for i, (hessian, step) in enumerate(zip(hessians, jacs)):
        if critical[i]:
            along, across = null_space(hessian, NULL_TOL), range_space(hessian, NULL_TOL)
        else:
            along, across = np.zeros((dim, 0)), np.eye(dim)
        extra = size - dim  # the state's coordinates
        bases = (np.vstack([along, np.zeros((extra, along.shape[1]))]),
                 np.block([[across, np.zeros((dim, extra))], [np.zeros((extra, across.shape[1])), np.eye(extra)]]))
        tangent_dim[i] = bases[0].shape[1]
        for out, basis in zip((tangent, normal), bases):
            values = np.linalg.eigvals(basis.T @ step @ basis) if basis.shape[1] else np.zeros(0, dtype=complex)
            out[i, :len(values)] = values[np.argsort(-np.abs(values))]
    lead = x.shape[:-1]
    return tangent_dim.reshape(lead), tangent.reshape(lead + (size,)), normal.reshape(lead + (size,))
