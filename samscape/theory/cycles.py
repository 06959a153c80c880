"""SAM's 2-cycle around a minimizer, computed on the landscape itself, and the stability edge of a swept optimizer.

Normalized SAM cannot rest at a minimizer ``x*`` with positive curvature when ``rho > 0``: near ``x*`` its ascent
step has length ``rho`` whatever the gradient, so the iterate is thrown across the valley and settles on a 2-cycle
``{a, b}`` with ``T(a) = b`` and ``T(b) = a`` (``T`` the SAM map). On a quadratic the cycle is
``x* +- eta*lam*rho/(2 - eta*lam) v1`` (:func:`~samscape.theory.sam_two_cycle`, P2 Thm 4.8) and it attracts for
every ``rho`` while ``eta*lam < 2``: there SAM's edge is GD's. On any other landscape the cycle grows with ``rho``
into the region where the quadratic approximation fails; it attracts while the two-step Jacobian
``DT(b) DT(a)`` has spectral radius below 1, and its edge is where that radius reaches 1: an eigenvalue ``-1``
(the cycle loses stability) or ``+1`` (a fold: the cycle merges with another and ceases to exist; past it there is
no cycle to bounce on and the iterates leave). :func:`sam_cycle` finds the cycle and its stability for given
``(eta, rho)``; :func:`sam_cycle_edge` follows it from ``rho = 0`` up to that edge, for each ``eta``.

:func:`stability_edge` is what a phase diagram draws over ``(eta, rho)`` for the optimizer that was swept: GD's
``eta = 2/lam``, USAM's ``eta*lam*(1 + rho*lam) = 2`` (both exact linearizations at ``x*``) or SAM's cycle edge.
The maths is in docs/theory.md (*SAM's 2-cycle on the landscape*).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _checks
from .._checks import int_at_least, point, positive
from .._tables import html_table, numbers
from ._common import check_landscape, null_space
from .edges import repeated_ascent_rho_edge
from .momentum import momentum_lr, momentum_of
from .stability import gd_lr_edge, linear_map, map_hypers, sam_ascent_jacobian, usam_rho_edge

# Newton's method on the pair (a, b): iterations, and the residual ||T(a) - b|| + ||T(b) - a|| accepted, relative
# to the cycle's size plus a rounding floor on the scale of x*.
NEWTON_ITERATIONS = 40
RESIDUAL_TOL = 1e-11
# a "cycle" whose two points are closer than this (relative to 1 + ||x*||) is x* itself, not a cycle
COLLAPSED = 1e-9
# continuation steps from rho = 0 to rho_max, and bisection steps that locate the edge between two of them
CONTINUATION_STEPS = 48
BISECTION_STEPS = 40


@dataclass
class TwoCycle:
    """SAM's 2-cycle ``{a, b}`` around the minimizer ``x_star`` (``T(a) = b``, ``T(b) = a``) at each ``(lr, rho)``.

    Attributes
    ----------
    x_star : ndarray (dim,)
    lr, rho : ndarray (...)
        The hyperparameters, broadcast against each other.
    points : ndarray (..., 2, dim)
        ``a`` and ``b`` (NaN where there is no cycle).
    exists : ndarray (...) of bool
        Newton's method found a genuine cycle (two distinct points) continued from the quadratic one.
    eigenvalues : ndarray (..., dim), complex
        Of the two-step Jacobian ``DT(b) DT(a)``, by decreasing modulus (NaN where there is no cycle).
    spectral_radius : ndarray (...)
    stable : ndarray (...) of bool
        The cycle exists and attracts: spectral radius below 1.
    residual : ndarray (...)
        ``||T(a) - b|| + ||T(b) - a||``.
    """

    x_star: np.ndarray
    lr: np.ndarray
    rho: np.ndarray
    points: np.ndarray
    exists: np.ndarray
    eigenvalues: np.ndarray
    spectral_radius: np.ndarray
    stable: np.ndarray
    residual: np.ndarray

    def _repr_html_(self) -> str:
        flat = lambda a: np.reshape(a, -1)  # noqa: E731
        rows = [(f"{lr:.4g}", f"{rho:.4g}", bool(e), numbers(p, 5), f"{r:.4g}", bool(s))
                for lr, rho, e, p, r, s in zip(flat(self.lr), flat(self.rho), flat(self.exists),
                                               np.reshape(self.points, (-1, 2 * self.x_star.size)),
                                               flat(self.spectral_radius), flat(self.stable))]
        return html_table(rows, header=("lr", "rho", "exists", "a, b", "spectral radius of DT(b)DT(a)", "stable"),
                          caption=f"SAM's 2-cycle around x* = {numbers(self.x_star, 6)}")


@dataclass
class CycleEdge:
    """Where SAM's 2-cycle around ``x_star`` stops attracting, for each learning rate: ``rho_edge[i]`` is the
    largest ``rho`` up to which the cycle continued from ``rho = 0`` exists and attracts at ``lrs[i]``.

    ``reason[i]`` says what happens there: ``"loses stability"`` (an eigenvalue of ``DT(b) DT(a)`` crosses the unit
    circle), ``"ceases to exist"`` (a fold: the continuation finds no cycle beyond it), ``"stable up to rho_max"``
    (``rho_edge`` is ``inf``: no edge below ``rho_max``) or ``"no cycle: lr*lam >= 2"`` (``rho_edge`` is 0: even the
    quadratic cycle does not exist, GD's edge).
    """

    x_star: np.ndarray
    lam: float
    lrs: np.ndarray
    rho_edge: np.ndarray
    reason: np.ndarray
    rho_max: float

    def _repr_html_(self) -> str:
        rows = [(f"{lr:.4g}", f"{r:.4g}", why) for lr, r, why in zip(self.lrs, self.rho_edge, self.reason)]
        return html_table(rows, header=("lr", "largest stable rho", "what happens there"),
                          caption=f"SAM's 2-cycle edge around x* = {numbers(self.x_star, 6)} (lambda = {self.lam:.4g})")


def _top_direction(landscape, x_star: np.ndarray) -> tuple[float, np.ndarray]:
    """``lam_max`` of the Hessian at ``x_star`` and its unit eigenvector; refuses a point that is not an isolated
    minimizer (a null direction means a manifold of minimizers, along which SAM drifts instead of cycling)."""
    hessian = landscape.hessian(x_star)
    eig, vec = np.linalg.eigh(hessian)
    if not eig[-1] > 0:
        raise ValueError(f"x_star must be a minimizer with positive curvature, got a point whose Hessian has "
                         f"largest eigenvalue {eig[-1]:.3g}")
    if null_space(hessian).shape[1] or eig[0] < 0:
        raise ValueError(f"x_star must be an isolated minimizer (Hessian positive definite), got Hessian eigenvalues "
                         f"{numbers(eig)}: on a manifold of minimizers SAM drifts along it and has no 2-cycle")
    return float(eig[-1]), vec[:, -1]


def _map(landscape, x: np.ndarray, lr: np.ndarray, rho: np.ndarray):
    """SAM's map ``T(x) = x - lr grad L(x+)`` and its Jacobian ``I - lr H(x+) D x+`` at points ``x (..., dim)``,
    with one ``lr`` and ``rho`` per point ``(...)``."""
    hessian = landscape.hessian(x)
    ascent, inner, _ = sam_ascent_jacobian(landscape, x, rho, hessian)
    step = lr[..., None]
    image = x - step * landscape.grad(ascent)
    jacobian = np.eye(x.shape[-1]) - step[..., None] * (landscape.hessian(ascent) @ inner)
    return image, jacobian


def _newton(landscape, lr, rho, a, b, scale: float):
    """Newton's method on ``T(a) = b, T(b) = a`` for every point of the batch; returns ``a, b`` and whether each
    converged to two distinct points."""
    dim = a.shape[-1]
    eye = np.eye(dim)
    converged = np.zeros(a.shape[:-1], dtype=bool)
    with np.errstate(all="ignore"):
        for _ in range(NEWTON_ITERATIONS):
            ta, ja = _map(landscape, a, lr, rho)
            tb, jb = _map(landscape, b, lr, rho)
            residual = np.concatenate([ta - b, tb - a], axis=-1)
            size = np.linalg.norm(a - b, axis=-1)
            converged = np.linalg.norm(residual, axis=-1) <= RESIDUAL_TOL * (size + scale)
            if converged.all():
                break
            jacobian = np.block([[ja, np.broadcast_to(-eye, ja.shape)], [np.broadcast_to(-eye, jb.shape), jb]])
            finite = np.all(np.isfinite(jacobian), axis=(-2, -1)) & np.all(np.isfinite(residual), axis=-1)
            safe = np.where(finite[..., None, None], jacobian, np.eye(2 * dim))
            try:
                delta = -np.linalg.solve(safe, np.where(finite[..., None], residual, 0.0)[..., None])[..., 0]
            except np.linalg.LinAlgError:  # a singular system somewhere: solve point by point, stop the singular
                delta = np.zeros_like(residual)
                for i in np.ndindex(residual.shape[:-1]):
                    try:
                        delta[i] = -np.linalg.solve(safe[i], residual[i])
                    except np.linalg.LinAlgError:
                        delta[i] = np.nan
            # a step longer than the cycle is not a correction of it: shorten it (damped Newton)
            length = np.linalg.norm(delta, axis=-1)
            limit = np.maximum(size, scale * 1e-6)
            shrink = np.where(length > limit, limit / np.where(length > 0, length, 1.0), 1.0)
            delta = np.where(converged[..., None], 0.0, delta * shrink[..., None])
            a, b = a + delta[..., :dim], b + delta[..., dim:]
        distinct = np.linalg.norm(a - b, axis=-1) > COLLAPSED * scale
    return a, b, converged & distinct & np.all(np.isfinite(a), axis=-1) & np.all(np.isfinite(b), axis=-1)


def _two_step(landscape, lr, rho, a, b):
    """Eigenvalues of ``DT(b) DT(a)`` by decreasing modulus, and the spectral radius."""
    with np.errstate(all="ignore"):
        _, ja = _map(landscape, a, lr, rho)
        _, jb = _map(landscape, b, lr, rho)
        product = jb @ ja
        finite = np.all(np.isfinite(product), axis=(-2, -1))
        eig = np.linalg.eigvals(np.where(finite[..., None, None], product, 0.0))
    eig = np.where(finite[..., None], eig, np.nan)
    order = np.argsort(-np.abs(np.nan_to_num(eig, nan=np.inf)), axis=-1)
    eig = np.take_along_axis(eig, order, axis=-1)
    return eig, np.abs(eig[..., 0])


def _quadratic_guess(x_star, lam, direction, lr, rho):
    """The quadratic approximation's cycle ``x* +- lr*lam*rho/(2 - lr*lam) v1``: ``a, b`` of shape ``(..., dim)``."""
    with np.errstate(divide="ignore", invalid="ignore"):  # lr*lam >= 2 has no cycle: its guess is never used
        amplitude = (lr * lam * rho / (2.0 - lr * lam))[..., None]
    return x_star + amplitude * direction, x_star - amplitude * direction


def sam_cycle(landscape, x_star, lr, rho) -> TwoCycle:
    """SAM's 2-cycle around the isolated minimizer ``x_star`` at each ``(lr, rho)`` and its stability.

    The cycle is found by Newton's method on ``T(a) = b, T(b) = a`` with the exact Jacobian of the SAM map
    (SymPy Hessians), continued in ``rho`` from the quadratic approximation's cycle
    ``x* +- lr*lam*rho/(2 - lr*lam) v1`` (``lam, v1`` the top eigenpair of the Hessian at ``x*``), so it is the
    cycle SAM settles on near ``x*``, not another one further out. Its stability is the spectral radius of the
    two-step Jacobian ``DT(b) DT(a)``.

    Parameters
    ----------
    landscape : Landscape
    x_star : array (dim,)
        An isolated minimizer (positive definite Hessian).
    lr, rho : float or arrays broadcasting against each other (``lr > 0``, ``rho > 0``)

    Returns
    -------
    TwoCycle
    """
    check_landscape(landscape)
    x_star = point(x_star, landscape.dim, "x_star")
    lr, rho = np.broadcast_arrays(np.asarray(lr, dtype=float), np.asarray(rho, dtype=float))
    for name, value in (("lr", lr), ("rho", rho)):
        if not (np.all(np.isfinite(value)) and np.all(value > 0)):
            raise ValueError(f"{name} must be finite and > 0, got {value.ravel()[:4].tolist()}")
    lam, direction = _top_direction(landscape, x_star)
    shape = lr.shape
    lr_flat, rho_flat = lr.reshape(-1), rho.reshape(-1)
    points = np.full((lr_flat.size, 2, landscape.dim), np.nan)
    exists = np.zeros(lr_flat.size, dtype=bool)
    for i, (eta, r) in enumerate(zip(lr_flat, rho_flat)):
        found = _continue(landscape, x_star, lam, direction, np.array([eta]), np.array([r]))
        if found is not None:
            points[i] = found
            exists[i] = True
    eig = np.full((lr_flat.size, landscape.dim), np.nan, dtype=complex)
    radius = np.full(lr_flat.size, np.nan)
    residual = np.full(lr_flat.size, np.nan)
    if exists.any():
        a, b = points[exists, 0], points[exists, 1]
        eig[exists], radius[exists] = _two_step(landscape, lr_flat[exists], rho_flat[exists], a, b)
        ta, _ = _map(landscape, a, lr_flat[exists], rho_flat[exists])
        tb, _ = _map(landscape, b, lr_flat[exists], rho_flat[exists])
        residual[exists] = np.linalg.norm(ta - b, axis=-1) + np.linalg.norm(tb - a, axis=-1)
    return TwoCycle(x_star=x_star, lr=lr, rho=rho, points=points.reshape(shape + (2, landscape.dim)),
                    exists=exists.reshape(shape), eigenvalues=eig.reshape(shape + (landscape.dim,)),
                    spectral_radius=radius.reshape(shape), stable=(exists & (radius < 1)).reshape(shape),
                    residual=residual.reshape(shape))


def _continue(landscape, x_star, lam, direction, lr, rho):
    """The cycle at one ``(lr, rho)``, followed from small ``rho`` in :data:`CONTINUATION_STEPS` steps (each
    Newton solve starts from the last); ``(2, dim)`` or None when the branch ends (a fold) on the way."""
    if lr[0] * lam >= 2:
        return None
    scale = 1.0 + float(np.linalg.norm(x_star))
    a, b = _quadratic_guess(x_star, lam, direction, lr, rho / CONTINUATION_STEPS)
    for k in range(1, CONTINUATION_STEPS + 1):
        a, b, ok = _newton(landscape, lr, rho * k / CONTINUATION_STEPS, a, b, scale)
        if not ok[0]:
            return None
    return np.stack([a[0], b[0]])


def sam_cycle_edge(landscape, x_star, lrs, *, rho_max: float, steps: int = CONTINUATION_STEPS) -> CycleEdge:
    """The largest ``rho`` at which SAM's 2-cycle around ``x_star`` exists and attracts, for each of ``lrs``.

    For every ``lr`` (all at once) the cycle is followed from the quadratic approximation's at small ``rho`` up to
    ``rho_max`` in ``steps`` equal steps (Newton's method from the previous cycle each time, as
    :func:`sam_cycle`); where it stops existing or its two-step Jacobian's spectral radius reaches 1, the edge is
    located by bisection to about ``1e-12 * rho_max``. ``lr * lam >= 2`` gives 0 (not even the quadratic cycle
    exists: GD's edge); no edge below ``rho_max`` gives ``inf``.

    Returns
    -------
    CycleEdge
    """
    check_landscape(landscape)
    x_star = point(x_star, landscape.dim, "x_star")
    rho_max = positive(rho_max, "rho_max")
    steps = int_at_least(steps, "steps", 2)
    lrs = np.atleast_1d(np.asarray(lrs, dtype=float))
    if lrs.ndim != 1 or not (np.all(np.isfinite(lrs)) and np.all(lrs > 0)):
        raise ValueError(f"lrs must be a 1-D array of finite numbers > 0, got {lrs.ravel()[:4].tolist()}")
    lam, direction = _top_direction(landscape, x_star)
    scale = 1.0 + float(np.linalg.norm(x_star))
    n = lrs.size
    edge = np.full(n, np.inf)
    reason = np.array(["stable up to rho_max"] * n, dtype=object)
    blocked = lrs * lam >= 2
    edge[blocked], reason[blocked] = 0.0, "no cycle: lr*lam >= 2"

    def attempt(idx, rho, a, b):
        """Newton at ``rho`` for the points ``idx`` from ``a, b``: the new cycle, whether it exists, its radius."""
        a, b, ok = _newton(landscape, lrs[idx], rho, a, b, scale)
        _, radius = _two_step(landscape, lrs[idx], rho, a, b)
        return a, b, ok, np.where(ok, radius, np.nan)

    # continuation on a grid of rho, every lr at once; `lo` is the last rho where the cycle attracted
    live = np.flatnonzero(~blocked)
    lo = np.zeros(n)
    a, b = _quadratic_guess(x_star, lam, direction, lrs, np.full(n, rho_max / steps))
    bracket = np.full(n, np.nan)
    for k in range(1, steps + 1):
        if live.size == 0:
            break
        rho = np.full(live.size, rho_max * k / steps)
        new_a, new_b, ok, radius = attempt(live, rho, a[live], b[live])
        good = ok & (radius < 1)
        a[live[good]], b[live[good]], lo[live[good]] = new_a[good], new_b[good], rho[good]
        bracket[live[~good]] = rho[~good]
        live = live[good]

    # bisection between lo (attracting cycle known) and bracket (none, or not attracting)
    pending = np.flatnonzero(np.isfinite(bracket))
    hi = bracket.copy()
    exists_at_hi = np.zeros(n, dtype=bool)
    for _ in range(BISECTION_STEPS):
        if pending.size == 0:
            break
        mid = 0.5 * (lo[pending] + hi[pending])
        start = lo[pending] == 0  # no attracting cycle known yet: start from the quadratic one at mid
        guess_a, guess_b = _quadratic_guess(x_star, lam, direction, lrs[pending], mid)
        from_a = np.where(start[:, None], guess_a, a[pending])
        from_b = np.where(start[:, None], guess_b, b[pending])
        new_a, new_b, ok, radius = attempt(pending, mid, from_a, from_b)
        good = ok & (radius < 1)
        up, down = pending[good], pending[~good]
        a[up], b[up], lo[up] = new_a[good], new_b[good], mid[good]
        hi[down] = mid[~good]
        exists_at_hi[down] = ok[~good]
    for i in np.flatnonzero(np.isfinite(bracket)):
        edge[i] = 0.5 * (lo[i] + hi[i])
        reason[i] = "loses stability" if exists_at_hi[i] else "ceases to exist"
    return CycleEdge(x_star=x_star, lam=lam, lrs=lrs, rho_edge=edge, reason=reason.astype(str), rho_max=rho_max)


def polish_minimizer(landscape, x, *, iterations: int = 60, tol: float = 1e-10):
    """Newton's method on ``grad L = 0`` from each of ``x (k, dim)`` (a pseudo-inverse, so a manifold of minimizers
    is fine): the points ``(k, dim)`` and a mask of those that reached ``||grad L|| <= tol`` where the Hessian has
    no negative eigenvalue (a minimizer, not a saddle). For a run that ended bouncing around a minimizer."""
    check_landscape(landscape)
    x = np.array(_checks.points(x, landscape.dim), dtype=float).reshape(-1, landscape.dim)
    with np.errstate(all="ignore"):
        for _ in range(iterations):
            grad = landscape.grad(x)
            if np.all(np.linalg.norm(grad, axis=-1) <= tol):
                break
            step = np.einsum("kij,kj->ki", np.linalg.pinv(landscape.hessian(x), hermitian=True), grad)
            x = np.where(np.isfinite(step), x - step, x)
        grad_norm = np.linalg.norm(landscape.grad(x), axis=-1)
        eig = np.linalg.eigvalsh(landscape.hessian(x))
    scale = np.maximum(1.0, np.abs(eig).max(axis=-1))
    return x, (grad_norm <= tol) & (eig[:, 0] >= -1e-8 * scale)


@dataclass
class StabilityEdge:
    """The edge of stability of one optimizer at a minimizer, as a curve in the ``(eta, rho)`` plane.

    ``eta`` and ``rho`` are the curve's points (NaN breaks it); ``kind`` is the map's kind (``gd``, ``usam`` or
    ``sam``); ``label`` says in words which edge it is and how it was computed (plain text, for a legend or a
    terminal); ``lam`` is the Hessian's largest
    eigenvalue at ``x_star``; ``exact`` is False where the quadratic approximation stood in for the landscape.
    """

    kind: str
    eta: np.ndarray
    rho: np.ndarray
    label: str
    x_star: np.ndarray
    lam: float
    exact: bool = True


def stability_edge(landscape, optimizer, x_star, lrs, *, rho_max: float) -> StabilityEdge:
    """The stability edge at ``x_star`` of the optimizer that was swept, over ``lrs`` and ``0 <= rho <= rho_max``.

    Dispatched on the map the optimizer is (its :func:`~samscape.theory.stability.linear_map`, by its ascent):

    * GD: ``eta = 2/lam`` (``gd_lr_edge``), ``lam`` the Hessian's largest eigenvalue at ``x_star``;
    * USAM: ``eta*lam*(1 + rho*lam) = 2`` (``usam_rho_edge``); ``x_star`` is a fixed point of USAM and the map is
      smooth there, so this linearization is exact;
    * multi-step USAM: ``eta*lam*(1 + rho*lam)^K = 2`` (``repeated_ascent_rho_edge``), exact as USAM's;
    * Unified SAM and ASAM: their cycle edges of the quadratic approximation (``unified_sam_threshold``, ASAM's 1-D
      ``asam_threshold``), multi-step SAM SAM's quadratic cycle edge ``eta = 2/lam`` (``exact`` is False);
    * SAM: :func:`sam_cycle_edge`, the edge of its 2-cycle computed on the landscape. Where ``x_star`` lies on a
      manifold of minimizers (singular Hessian) SAM drifts along it instead of cycling, and the edge of the
      quadratic approximation's cycle is drawn: GD's ``eta = 2/lam`` (``exact`` is False and the label says so).
    * with momentum: the same edge with the effective step ``eta/(1 + mu)`` (Nesterov ``eta (1 + 2 mu)/(1 + mu)``)
      for ``eta`` (docs/theory.md section 2.2); for SAM the quadratic approximation's ``eta lam = 2 (1 + mu)``
      (not exact), since its cycle's stability on the landscape is computed for the stateless map.

    A stochastic optimizer (mini-batches, a random ascent) has no such deterministic edge: ``ValueError`` says why.
    """
    check_landscape(landscape)
    x_star = point(x_star, landscape.dim, "x_star")
    rho_max = positive(rho_max, "rho_max")
    found = linear_map(optimizer, landscape.n_samples)
    lrs = np.atleast_1d(np.asarray(lrs, dtype=float))
    lam = float(np.linalg.eigvalsh(landscape.hessian(x_star))[-1])
    if not lam > 0:
        raise ValueError(f"x_star must be a minimizer with positive curvature, got largest Hessian eigenvalue {lam:.3g}")
    # the map's other hyperparameters (steps_ascent, lam_u, ...) stay the optimizer's; rho is the plane's axis
    others = {name: value for name, value in map_hypers(optimizer, found, "a stability edge").items() if name != "rho"}
    momentum, nesterov = momentum_of(optimizer, "a stability edge")
    if momentum > 0:
        return _momentum_edge(landscape, x_star, lrs, lam, rho_max, found.name, others, momentum, nesterov)
    return EDGES[found.name](landscape, x_star, lrs, lam, rho_max, **others)


def _momentum_edge(landscape, x_star, lrs, lam, rho_max, kind, others, momentum, nesterov) -> StabilityEdge:
    """The stateless edge with the effective step ``s = scale * eta`` of :func:`momentum_lr` in place of ``eta``
    (docs/theory.md section 2.2), drawn back over ``eta``. SAM's cycle edge on the landscape is computed for the
    stateless map, whose two-step stability is not the augmented one's off a quadratic: the quadratic
    approximation's ``s lam = 2`` stands in (not exact)."""
    scale = momentum_lr(1.0, momentum, nesterov)
    if kind == "sam":
        found = StabilityEdge("sam", np.array([2.0, 2.0]) / lam, np.array([0.0, rho_max]),
                              f"SAM 2-cycle edge of the quadratic approximation, λ = {lam:.3g}", x_star, lam, exact=False)
    else:
        found = EDGES[kind](landscape, x_star, scale * lrs, lam, rho_max, **others)
    form = "Nesterov" if nesterov else "heavy-ball"
    step = "η(1 + 2μ)/(1 + μ)" if nesterov else "η/(1 + μ)"
    return StabilityEdge(found.kind, np.asarray(found.eta, dtype=float) / scale, found.rho,
                         f"{found.label}, {form} momentum μ = {momentum:g} ({step} for η)", x_star, lam, found.exact)


def _gd_edge(landscape, x_star, lrs, lam, rho_max) -> StabilityEdge:
    vertical = float(gd_lr_edge(lam))
    return StabilityEdge("gd", np.array([vertical, vertical]), np.array([0.0, rho_max]),
                         f"GD edge η = 2/λ, λ = {lam:.3g}", x_star, lam)


def _usam_edge(landscape, x_star, lrs, lam, rho_max) -> StabilityEdge:
    return StabilityEdge("usam", lrs, np.asarray(usam_rho_edge(lrs, lam), dtype=float),
                         f"USAM edge ηλ(1 + ρλ) = 2, λ = {lam:.3g}", x_star, lam)


def _sam_edge(landscape, x_star, lrs, lam, rho_max) -> StabilityEdge:
    vertical = float(gd_lr_edge(lam))
    where = f"λ = {lam:.3g}"
    try:
        found = sam_cycle_edge(landscape, x_star, lrs, rho_max=rho_max)
    except ValueError:  # a manifold of minimizers: no isolated cycle
        return StabilityEdge("sam", np.array([vertical, vertical]), np.array([0.0, rho_max]),
                             f"SAM 2-cycle edge of the quadratic approximation, η = 2/λ, {where} "
                             "(minimizers form a manifold)", x_star, lam, exact=False)
    rho = np.where(np.isfinite(found.rho_edge), found.rho_edge, np.nan)
    # the curve meets rho = 0 at GD's edge, where even the quadratic cycle stops existing
    eta = np.append(lrs, vertical) if lrs[-1] > vertical else lrs
    rho = np.append(rho, 0.0) if lrs[-1] > vertical else rho
    order = np.argsort(eta, kind="stable")
    return StabilityEdge("sam", eta[order], rho[order], f"SAM 2-cycle edge on the landscape, {where}", x_star, lam)


def _repeated_edge(landscape, x_star, lrs, lam, rho_max, steps_ascent) -> StabilityEdge:
    return StabilityEdge("multistepusam", lrs, np.asarray(repeated_ascent_rho_edge(lrs, lam, steps_ascent), dtype=float),
                         f"multi-step USAM edge ηλ(1 + ρλ)^K = 2, K = {int(steps_ascent)}, λ = {lam:.3g}", x_star, lam)


def _quadratic_cycle_edge(kind, label, rho):
    """An edge of the quadratic approximation at ``x_star``, from ``rho(eta)`` (NaN where no ``rho >= 0`` is stable;
    ``None`` from ``rho``: no bound on ``rho``, only GD's ``eta = 2/lam``, where the cycle stops existing)."""
    def build(landscape, x_star, lrs, lam, rho_max, **hypers) -> StabilityEdge:
        vertical = float(gd_lr_edge(lam))
        with np.errstate(divide="ignore", invalid="ignore"):
            values = rho(lrs, lam, **hypers)
        if values is None:
            eta, values = np.array([vertical, vertical]), np.array([0.0, rho_max])
        else:
            eta, values = lrs, np.where(lrs * lam <= 2, values, np.nan)
        return StabilityEdge(kind, eta, np.asarray(values, dtype=float),
                             f"{label} of the quadratic approximation, λ = {lam:.3g}", x_star, lam, exact=False)
    return build


# LinearMap.name -> how its edge in the (eta, rho) plane is computed (every map of LINEAR_MAPS has one)
EDGES = {
    "gd": _gd_edge, "usam": _usam_edge, "sam": _sam_edge, "multistepusam": _repeated_edge,
    # eta lam (1 + rho (1 - lam_u) lam) = 2, solved for rho; lam_u = 1 leaves only eta lam < 2 (rho unbounded)
    "unifiedsam": _quadratic_cycle_edge("unifiedsam", "Unified SAM cycle edge ηλ(1 + ρ(1 - λ_u)λ) = 2",
                                        lambda eta, lam, lam_u: None if lam_u >= 1 else
                                        (2 / (eta * lam) - 1) / ((1 - lam_u) * lam)),
    # 1-D: eta lam (1 + rho) = 2
    "asam": _quadratic_cycle_edge("asam", "ASAM 1-D edge ηλ(1 + ρ) = 2", lambda eta, lam, eta_a: 2 / (eta * lam) - 1),
    # 1-D: SAM's cycle, which exists while eta lam < 2 whatever rho
    "multistepsam": _quadratic_cycle_edge("multistepsam", "multi-step SAM cycle edge ηλ = 2 (SAM's)",
                                          lambda eta, lam, alpha, steps_ascent: None),
    # 1-D: GSAM is SAM, whose cycle exists while eta lam < 2
    "gsam": _quadratic_cycle_edge("gsam", "GSAM cycle edge ηλ = 2 (SAM's)", lambda eta, lam, alpha: None),
    "signsam": _quadratic_cycle_edge("signsam", "sign-ascent SAM cycle edge ηλ = 2 (SAM's)", lambda eta, lam: None),
    # 1-D: StableSAM is GD, whose edge does not depend on rho
    "stablesam": _quadratic_cycle_edge("stablesam", "StableSAM edge ηλ = 2 (GD's)", lambda eta, lam: None),
    "gnp": _quadratic_cycle_edge("gnp", "GNP cycle edge ηλ = 2 (SAM's with radius αρ)", lambda eta, lam, alpha: None),
    "wsam": _quadratic_cycle_edge("wsam", "WSAM cycle edge ηλ = 2 (SAM's with radius ργ/(1 - γ))",
                                  lambda eta, lam, gamma: None),
}
