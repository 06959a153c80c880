"""P2's sharpness notions and its limiting predictions for SAM near a manifold of minimizers.

- ``R^Max_rho(x) = max_{||v|| <= 1} L(x + rho v) - L(x)``; on the minimizer manifold ``(rho^2/2) lambda_1 + O(rho^3)``.
- ``R^Asc_rho(x) = L(x + rho grad L/||grad L||) - L(x)`` (``+inf`` where ``grad L = 0``).
- ``R^Avg_rho(x) = E_{v uniform on the sphere} L(x + rho v) - L(x)``; on the manifold ``(rho^2/(2d)) Tr + O(rho^3)``.

Drift along the manifold ``Gamma`` (P2 Theorems 4.5 and 5.4, docs/theory.md section 4): per step, full-batch SAM moves
by ``-(lr rho^2/2) grad_Gamma lambda_1(hess L)``, 1-SAM by the mean over samples of
``-(lr rho^2/2) grad_Gamma lambda_1(hess ell_k)`` (which is ``-(lr rho^2/2) grad_Gamma Tr(hess L)`` when each
sample's Hessian is rank one on ``Gamma``), each term times the finite-step factor ``[2/(2 - lr lambda)]^2``
([derived]). Third derivatives of the loss come from SymPy; eigenvectors and projections are NumPy.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy.optimize import minimize

from ..landscapes.core import compile_exprs
from ..dynamics import draws
from ..dynamics.optimizers import sam_ascent, unit
from .. import _checks
from .._checks import positive, positive_int
from ._common import check_landscape, null_space
from .stability import gd_threshold

SHARPNESS_KINDS = ("max", "asc", "avg")
QUADRATURE_NODES = 32
MONTE_CARLO_DIRECTIONS = 40_000


@dataclass
class Sharpness:
    """One sharpness value.

    ``error`` is an error estimate for ``avg`` (quadrature refinement or Monte Carlo standard error), 0 for
    ``asc``, and the spread between the best local maxima found for ``max`` is not an error bound (``max`` is a
    multi-start local search; ``argmax`` is the maximizing unit vector ``v``).
    """

    kind: str
    value: float
    error: float
    method: str
    argmax: np.ndarray | None = None


def sharpness(landscape, x, rho, kind: str, *, seed: int = 0) -> Sharpness:
    """P2's sharpness of ``kind`` (``max``, ``asc`` or ``avg``) at one point ``x`` ``(dim,)`` with radius ``rho``.

    - ``max``: SciPy SLSQP on the ball from the Hessian's eigenvectors, the gradient direction (both signs) and
      12 seeded random directions; in 1-D the exact maximum of ``L`` on ``[x - rho, x + rho]`` from a dense grid.
    - ``asc``: one evaluation; ``+inf`` where the gradient vanishes.
    - ``avg``: the exact two-point mean in 1-D; a trapezoid rule on the circle (2-D) or Gauss-Legendre x trapezoid
      on the sphere (3-D), with the difference from a rule of half the size as the error; Monte Carlo over the
      simulator's own uniform directions (``dynamics.draws.unit_directions``) with its standard error beyond 3-D.
    """
    check_landscape(landscape)
    x = _checks.points(x, landscape.dim)
    if x.ndim != 1:
        raise ValueError(f"x must be one point of shape ({landscape.dim},), got shape {x.shape}")
    rho = positive(rho, "rho")
    if kind not in SHARPNESS_KINDS:
        raise ValueError(f"kind must be one of {', '.join(SHARPNESS_KINDS)}, got {kind!r}")
    base = float(landscape.value(x))
    if kind == "asc":
        grad = landscape.grad(x)
        if not np.linalg.norm(grad) > 0:
            return Sharpness("asc", math.inf, 0.0, "grad L = 0: the ascent direction is undefined, R^Asc = +inf")
        return Sharpness("asc", float(landscape.value(sam_ascent(landscape, x, rho))) - base, 0.0, "one evaluation")
    if kind == "avg":
        return _average_sharpness(landscape, x, rho, base, seed)
    return _max_sharpness(landscape, x, rho, base, seed)


def _sphere_rule(dim: int, nodes: int):
    """Directions ``(m, dim)`` and weights ``(m,)`` of a quadrature rule for the uniform measure on the sphere."""
    if dim == 1:
        return np.array([[1.0], [-1.0]]), np.array([0.5, 0.5])
    if dim == 2:
        angle = 2 * np.pi * np.arange(nodes) / nodes
        return np.stack([np.cos(angle), np.sin(angle)], axis=-1), np.full(nodes, 1.0 / nodes)
    # 3-D: Gauss-Legendre in cos(polar angle) (exact for polynomials of degree < 2*nodes) times a trapezoid in azimuth
    cos_t, w_t = np.polynomial.legendre.leggauss(nodes)
    phi = 2 * np.pi * np.arange(2 * nodes) / (2 * nodes)
    sin_t = np.sqrt(1 - cos_t**2)
    dirs = np.stack([np.outer(sin_t, np.cos(phi)), np.outer(sin_t, np.sin(phi)), np.outer(cos_t, np.ones_like(phi))], -1)
    weights = np.outer(w_t / 2, np.full(2 * nodes, 1.0 / (2 * nodes)))
    return dirs.reshape(-1, 3), weights.ravel()


def _average_sharpness(landscape, x, rho, base, seed) -> Sharpness:
    dim = landscape.dim
    if dim <= 3:
        estimates = []
        for nodes in (QUADRATURE_NODES // 2, QUADRATURE_NODES):
            dirs, weights = _sphere_rule(dim, nodes)
            estimates.append(float(weights @ landscape.value(x + rho * dirs)) - base)
        error = 0.0 if dim == 1 else abs(estimates[1] - estimates[0])
        method = {1: "exact two-point mean", 2: f"trapezoid rule on the circle ({QUADRATURE_NODES} nodes)",
                  3: f"Gauss-Legendre x trapezoid on the sphere ({QUADRATURE_NODES} x {2 * QUADRATURE_NODES} nodes)"}[dim]
        return Sharpness("avg", estimates[1], error, method + ("" if dim == 1 else "; error = change from half the nodes"))
    dirs = draws.unit_directions(seed, np.arange(MONTE_CARLO_DIRECTIONS), 0, dim)
    values = landscape.value(x + rho * dirs) - base
    return Sharpness("avg", float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values))),
                     f"Monte Carlo over {MONTE_CARLO_DIRECTIONS} directions of dynamics.draws (seed {seed}); error = standard error")


def _max_sharpness(landscape, x, rho, base, seed) -> Sharpness:
    dim = landscape.dim
    if dim == 1:
        grid = np.linspace(-1.0, 1.0, 20_001)
        values = landscape.value(x + rho * grid[:, None])
        k = int(np.argmax(values))
        return Sharpness("max", float(values[k]) - base, 0.0, "dense grid of 20001 points on [x - rho, x + rho]",
                         argmax=np.array([grid[k]]))
    _, vecs = np.linalg.eigh(landscape.hessian(x))
    starts = [vecs[:, j] * s for j in range(dim) for s in (1.0, -1.0)]
    grad = landscape.grad(x)
    if np.linalg.norm(grad) > 0:
        starts += [unit(grad), -unit(grad)]
    rng = np.random.default_rng(seed)
    starts += list(unit(rng.standard_normal((12, dim))))
    objective = lambda v: -float(landscape.value(x + rho * v))
    gradient = lambda v: -rho * landscape.grad(x + rho * v)
    ball = {"type": "ineq", "fun": lambda v: 1.0 - v @ v, "jac": lambda v: -2.0 * v}
    best_value, best_v = -math.inf, None
    for v0 in starts:
        res = minimize(objective, v0, jac=gradient, constraints=[ball], method="SLSQP",
                       options={"ftol": 1e-15, "maxiter": 200})
        v = res.x / max(1.0, float(np.linalg.norm(res.x)))  # SLSQP may sit a hair outside the ball
        value = -objective(v)
        if value > best_value:
            best_value, best_v = value, v
    return Sharpness("max", best_value - base, 0.0,
                     f"SciPy SLSQP on the unit ball from {len(starts)} starts (a local search; best found)", argmax=best_v)


# ---------------------------------------------------------------------------------------------- manifold drift
_THIRD_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _third_derivative_fns(landscape):
    """Compiled ``d H / d x_k`` for the full loss and for each sample: lists of callables ``x -> (dim, dim, dim)``."""
    cached = _THIRD_CACHE.get(landscape)
    if cached is not None:
        return cached
    symbols = list(landscape.symbols)

    def compile_one(expr):
        entries = [sp.diff(expr, a, b, c) for c in symbols for a in symbols for b in symbols]
        fn = compile_exprs(symbols, entries)
        d = len(symbols)
        return lambda x: np.array([float(v) for v in np.broadcast_arrays(*fn(*x))], dtype=float).reshape(d, d, d)

    full = compile_one(landscape.loss_expr)
    if landscape.n_samples == 1:
        samples = [full]
    else:
        samples = [
            compile_one(landscape.expr.subs({s: float(row[j]) for j, s in enumerate(landscape.data_symbols)}))
            for row in landscape.data
        ]
    _THIRD_CACHE[landscape] = (full, samples)
    return full, samples


@dataclass
class ManifoldDrift:
    """P2's predicted per-step drift along the minimizer manifold at a point ``x`` of it.

    Attributes
    ----------
    velocity : ndarray (dim,)
        Predicted displacement per step (``lr rho^2`` times a tangent vector).
    quantity : str
        What the drift descends: ``lambda_1`` (SAM) or the per-sample ``lambda_1`` (1-SAM; equal to the trace when
        each sample's Hessian is rank one on the manifold, see ``rank_one``).
    gradient : ndarray (dim,)
        ``grad_Gamma`` of that quantity (tangential projection).
    factors : ndarray (n_terms,)
        The finite-step factors ``[2/(2 - lr lambda)]^2`` used (all 1 when ``finite_lr=False``).
    tangent : ndarray (dim, k)
        Orthonormal basis of the manifold's tangent space (null space of ``hess L``).
    rank_one : bool
        Whether every sample's Hessian has rank <= 1 at ``x`` (P2's 1-SAM setting).
    method : str
        Which parts are SymPy (exact) and which NumPy (numeric).
    """

    velocity: np.ndarray
    quantity: str
    gradient: np.ndarray
    factors: np.ndarray
    tangent: np.ndarray
    rank_one: bool
    method: str = "SymPy: third derivatives of the loss; NumPy: eigenvectors, tangent projection"


def manifold_drift(landscape, x, lr, rho, *, method: str = "sam", finite_lr: bool = True) -> ManifoldDrift:
    """Predicted per-step drift of full-batch SAM (``method="sam"``) or 1-SAM (``"1-sam"``) at ``x`` on ``Gamma``.

    ``x`` ``(dim,)`` should be a minimizer lying on a manifold of minimizers; the tangent space is the null space
    of ``hess L(x)``. ``finite_lr`` multiplies each term by ``[2/(2 - lr lambda)]^2`` ([derived]); it needs
    ``lr * lambda < 2`` (``ValueError`` otherwise: no 2-cycle, no drift regime). Derivatives of the Hessian are
    SymPy-exact, eigen-decompositions NumPy.
    """
    check_landscape(landscape)
    x = _checks.points(x, landscape.dim)
    if x.ndim != 1:
        raise ValueError(f"x must be one point of shape ({landscape.dim},), got shape {x.shape}")
    lr, rho = positive(lr, "lr"), positive(rho, "rho")
    if method not in ("sam", "1-sam"):
        raise ValueError(f"method must be 'sam' or '1-sam', got {method!r}")
    full_third, sample_third = _third_derivative_fns(landscape)
    hessian = landscape.hessian(x)
    tangent = null_space(hessian)
    if tangent.shape[1] == 0:
        raise ValueError(f"x must lie on a manifold of minimizers (hess L singular), got {x.tolist()} with a full-rank Hessian")
    projector = tangent @ tangent.T
    if method == "sam":
        terms = [(hessian, full_third)]
        quantity = "lambda_1(hess L)"
    else:
        hessians = landscape.sample_hessians(x)
        terms = list(zip(hessians, sample_third))
        quantity = "mean_k lambda_1(hess ell_k)"
    grads, factors, ranks = [], [], []
    for hess, third in terms:
        eig, vec = np.linalg.eigh(hess)
        top, v1 = float(eig[-1]), vec[:, -1]
        ranks.append(int(np.sum(np.abs(eig) > 1e-9 * max(1.0, abs(top)))))
        if finite_lr and top >= gd_threshold(lr):
            raise ValueError(f"lr * lambda_1 must be < 2 for the drift regime, got lr * lambda_1 = {lr * top:g} at x = {x.tolist()}")
        # d lambda_1 / d x_k = v1^T (d H / d x_k) v1 for a simple top eigenvalue
        grads.append(projector @ np.einsum("kij,i,j->k", third(x), v1, v1))
        factors.append((2.0 / (2.0 - lr * top)) ** 2 if finite_lr else 1.0)
    factors = np.array(factors)
    grads = np.array(grads)
    velocity = -(lr * rho**2 / 2) * np.mean(factors[:, None] * grads, axis=0)
    return ManifoldDrift(velocity=velocity, quantity=quantity, gradient=grads.mean(axis=0), factors=factors,
                         tangent=tangent, rank_one=max(ranks) <= 1)


def hessian_curvature(landscape, x, *, chunk: int = 4096) -> dict[str, np.ndarray]:
    """The Hessian's largest eigenvalue (``"lambda_max"``, the sharpness GD's edge ``2/lambda`` speaks of) and its
    trace (``"trace"``, 1-SAM's regularizer) at every point of ``x`` ``(..., dim)``: two arrays of shape ``(...)``,
    NaN where the Hessian is not finite (a point far out on a diverged path). Evaluated ``chunk`` points at a time
    so the ``(n, dim, dim)`` Hessians stay small."""
    check_landscape(landscape)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0 or x.shape[-1] != landscape.dim:
        raise ValueError(f"x must have shape (..., {landscape.dim}), got shape {x.shape}")
    flat = x.reshape(-1, landscape.dim)
    out = {"lambda_max": np.full(len(flat), np.nan), "trace": np.full(len(flat), np.nan)}
    with np.errstate(all="ignore"):
        for a in range(0, len(flat), chunk):
            hess = np.asarray(landscape.hessian(flat[a:a + chunk]), dtype=np.float64)
            finite = np.isfinite(hess).all(axis=(-2, -1))
            if finite.any():
                out["lambda_max"][a:a + chunk][finite] = np.linalg.eigvalsh(hess[finite])[:, -1]
                out["trace"][a:a + chunk][finite] = np.trace(hess[finite], axis1=-2, axis2=-1)
    return {k: v.reshape(x.shape[:-1]) for k, v in out.items()}


def manifold_sharpness_limits(landscape, x, rho) -> dict[str, float]:
    """P2's leading terms on the manifold at ``x``: ``max = rho^2 lambda_1 / 2``, ``avg = rho^2 Tr / (2 d)``, and
    ``asc``'s limiting regularizer ``rho^2 lambda_M / 2`` (``lambda_M`` the smallest nonzero eigenvalue).

    Eigenvalues of the exact Hessian (NumPy).
    """
    check_landscape(landscape)
    x = _checks.points(x, landscape.dim)
    rho = positive(rho, "rho")
    eig = np.linalg.eigvalsh(landscape.hessian(x))
    nonzero = eig[np.abs(eig) > 1e-9 * max(1.0, float(np.max(np.abs(eig))))]
    return {
        "max": rho**2 * float(eig[-1]) / 2,
        "avg": rho**2 * float(np.sum(eig)) / (2 * landscape.dim),
        "asc": rho**2 * float(np.min(nonzero)) / 2 if nonzero.size else 0.0,
    }


def predicted_drift_path(landscape, x0, lr, rho, steps: int, *, method: str = "sam", substeps: int = 1) -> np.ndarray:
    """Integrate the predicted drift along ``Gamma`` from ``x0`` for ``steps`` optimizer steps (explicit Euler,
    ``substeps`` per optimizer step): returns ``(steps + 1, dim)``. Numeric."""
    x0 = _checks.points(x0, getattr(landscape, "dim", 0))
    steps = positive_int(steps, "steps")
    substeps = positive_int(substeps, "substeps")
    path = np.empty((steps + 1, landscape.dim))
    path[0] = x = x0.astype(float)
    for t in range(steps):
        for _ in range(substeps):
            x = x + manifold_drift(landscape, x, lr, rho, method=method).velocity / substeps
        path[t + 1] = x
    return path
