"""P1: hallucinated minimizers, fixed points of SAM that are not stationary points of the loss.

SAM's map is ``T(x) = x - lr grad f(x+)`` with ``x+ = x + rho grad f(x)/||grad f(x)||``; a hallucinated point
``x`` has ``grad f(x) != 0`` but ``grad f(x+) = 0``, so ``||x - x+|| = rho`` and ``x+`` is a critical point of ``f``.

- In 1-D every such point is ``c - rho * u`` for a critical point ``c`` and ``u = +-1`` with ``u f'(c - rho u) > 0``:
  :func:`find_hallucinated` enumerates them exactly from the critical points.
- In 2-D (and beyond) it solves ``F(x) = grad f(x+) = 0`` by a vectorized Levenberg-Marquardt iteration from a
  grid of seeds, with the exact Jacobian ``DF = H(x+) (I + (rho/||g||)(I - u u^T) H(x))``. Where the solutions
  form a curve (a circle of them, inherited from a circle of minimizers), ``DF`` is singular along it: the
  search reports the manifold's dimension and keeps a spread-out sample of its points.
- Stability ([derived], docs/theory.md section 3): ``DT = I - lr DF``; tangent directions of a manifold of fixed
  points have eigenvalue 1 and are left out of the spectral radius.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import sympy as sp
from scipy.optimize import brentq

from ..dynamics.optimizers import SAM, sam_ascent
from .. import _checks
from .._checks import positive, positive_int, real_number
from ._common import check_landscape
from .._tables import html_table, numbers
from .stability import fixed_point_stability, gd_lr_edge, sam_ascent_jacobian

GRAD_TOL = 1e-7  # a point with ||grad f|| below this counts as stationary, not hallucinated
ROOT_GRID = 20_001


# ---------------------------------------------------------------------------------------------- critical points in 1-D
@dataclass
class CriticalPoints:
    """Critical points of a 1-D loss in an interval: ``points`` (sorted), ``curvatures`` ``f''``, ``method``."""

    points: np.ndarray
    curvatures: np.ndarray
    method: str

    def kinds(self, rel_tol: float = 1e-9) -> list[str]:
        scale = max(1.0, float(np.max(np.abs(self.curvatures)))) if self.curvatures.size else 1.0
        return [_kind_from_eigenvalues(np.array([h]), rel_tol * scale) for h in self.curvatures]


def critical_points_1d(landscape, lo, hi) -> CriticalPoints:
    """Every zero of ``f'`` in ``[lo, hi]`` for a 1-D landscape.

    Exact (SymPy ``real_roots``) when ``f'`` is a polynomial; otherwise sign changes of ``f'`` on a grid of
    20001 points refined by Brent's method (a double root that touches zero without a sign change can be missed).
    """
    check_landscape(landscape, dim=1)
    lo, hi = real_number(lo, "lo"), real_number(hi, "hi")
    if not hi > lo:
        raise ValueError(f"hi must be greater than lo, got lo={lo!r}, hi={hi!r}")
    z = landscape.symbols[0]
    slope = sp.diff(landscape.loss_expr, z)
    points: list[float] | None = None
    method = ""
    if slope.is_polynomial(z):
        try:
            roots = sp.Poly(slope, z).real_roots()
            points = sorted({float(r) for r in roots if lo <= float(r) <= hi})
            method = "SymPy (real roots of the polynomial f')"
        except (sp.PolynomialError, NotImplementedError, ValueError):
            points = None
    if points is None:
        grad = lambda t: landscape.grad(np.atleast_1d(t)[..., None])[..., 0]
        grid = np.linspace(lo, hi, ROOT_GRID)
        values = grad(grid)
        found = list(grid[values == 0])
        changes = np.flatnonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0)
        for k in changes:
            found.append(brentq(lambda t: float(grad(t)[0]), grid[k], grid[k + 1], xtol=1e-15, rtol=1e-15))
        points = sorted(set(found))
        method = f"NumPy/SciPy (sign changes of f' on {ROOT_GRID} points + Brent)"
    arr = np.array(points, dtype=float)
    curv = landscape.hessian(arr[:, None])[:, 0, 0] if arr.size else np.zeros(0)
    return CriticalPoints(arr, curv, method)


def _kind_from_eigenvalues(eig: np.ndarray, tol: float) -> str:
    if np.all(np.abs(eig) <= tol):
        return "flat"
    if np.all(eig >= -tol):
        return "minimum"
    if np.all(eig <= tol):
        return "maximum"
    return "saddle"


# ---------------------------------------------------------------------------------------------- results
@dataclass
class HallucinatedPoint:
    """One hallucinated fixed point of SAM.

    Attributes
    ----------
    x, x_plus : ndarray (dim,)
        The point and its ascent point ``x + rho grad f/||grad f||`` (a critical point of ``f``).
    grad, grad_plus : ndarray (dim,)
        ``grad f`` at both (``grad_plus`` is zero up to the solver's tolerance).
    landing : str
        What ``x_plus`` is: ``minimum``, ``maximum``, ``saddle`` or ``flat`` (from the Hessian's eigenvalues;
        a minimum on a curve of minimizers is a ``minimum`` with a zero eigenvalue).
    landing_eigenvalues : ndarray (dim,)
    manifold_dim : int
        0 for an isolated point; ``k > 0`` when it lies on a ``k``-dimensional set of such points.
    eigenvalues, spectral_radius, stable :
        With ``lr`` given: eigenvalues of ``DT(x)`` (modulus-sorted), the spectral radius over the directions
        transverse to the manifold, and ``spectral_radius < 1``; otherwise ``None``.
    """

    x: np.ndarray
    x_plus: np.ndarray
    grad: np.ndarray
    grad_plus: np.ndarray
    landing: str
    landing_eigenvalues: np.ndarray
    manifold_dim: int = 0
    eigenvalues: np.ndarray | None = None
    spectral_radius: float | None = None
    stable: bool | None = None


@dataclass
class HallucinationSearch:
    """All hallucinated points found in a box.

    ``points`` is a list of :class:`HallucinatedPoint`; for a manifold of them it holds a spread-out sample.
    ``manifold_dims`` lists the distinct manifold dimensions met (empty when every point is isolated).
    """

    rho: float
    bounds: np.ndarray
    lr: float | None
    points: list = field(default_factory=list)
    method: str = ""
    note: str = ""

    @property
    def xs(self) -> np.ndarray:
        """The points, ``(k, dim)``."""
        dim = self.bounds.shape[0]
        return np.array([p.x for p in self.points]).reshape(-1, dim)

    @property
    def manifold_dims(self) -> list[int]:
        return sorted({p.manifold_dim for p in self.points if p.manifold_dim > 0})

    def landing_on(self, kind: str) -> list:
        """The points whose ascent point is of ``kind`` (``minimum``, ``maximum``, ``saddle``)."""
        return [p for p in self.points if p.landing == kind]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The points as arrays, the view the plots draw: ``x (k, dim)``, ``x_plus (k, dim)``, ``attracting (k,)``
        and ``known (k,)`` bools.

        ``attracting`` is False where a point repels and where its stability is unknown (searched without ``lr``);
        ``known`` tells those apart.
        """
        dim = self.bounds.shape[0]
        x_plus = np.array([p.x_plus for p in self.points], dtype=float).reshape(-1, dim)
        known = np.array([p.stable is not None for p in self.points], dtype=bool)
        attracting = np.array([bool(p.stable) for p in self.points], dtype=bool)
        return self.xs.astype(float), x_plus, attracting, known

    def _repr_html_(self) -> str:
        limit = 20
        header = ("x", "x+ (ascent point)", "landing", "manifold dim", "spectral radius", "attracts")
        rows = [(numbers(p.x), numbers(p.x_plus), p.landing, p.manifold_dim,
                 "-" if p.spectral_radius is None else f"{p.spectral_radius:.4g}",
                 "unknown (no lr)" if p.stable is None else bool(p.stable)) for p in self.points[:limit]]
        shown = f", first {limit} shown" if len(self.points) > limit else ""
        lr = "" if self.lr is None else f", lr={self.lr:g}"
        caption = f"HallucinationSearch: {len(self.points)} points for rho={self.rho:g}{lr}{shown}"
        footer = [("box", "; ".join(f"[{lo:g}, {hi:g}]" for lo, hi in self.bounds)), ("method", self.method)]
        if self.note:
            footer.append(("note", self.note))
        return html_table(rows, header=header, caption=caption) + html_table(footer)

    def only_attracting(self) -> "HallucinationSearch":
        """The same search keeping only the points known to attract (none when it was run without ``lr``)."""
        return replace(self, points=[p for p in self.points if p.stable])


# ---------------------------------------------------------------------------------------------- search
def find_hallucinated(landscape, rho, bounds, *, lr=None, seeds_per_axis: int | None = None) -> HallucinationSearch:
    """Every SAM fixed point in the box ``bounds`` that is not a stationary point of the loss.

    Parameters
    ----------
    landscape : Landscape (full loss; 1-D or 2-D, higher dimensions work with coarser seeding)
    rho : float > 0
    bounds : array (dim, 2)
        ``[[lo, hi], ...]`` (``[lo, hi]`` in 1-D).
    lr : float > 0, optional
        When given, each point carries the Jacobian eigenvalues of SAM's map and whether it attracts.
    seeds_per_axis : int >= 1, optional
        Seeds of the multi-dimensional search per coordinate (default 48 in 2-D).

    Returns
    -------
    HallucinationSearch
        No duplicates (points closer than ``1e-7`` of the box diameter are merged); points on a manifold are
        thinned to a sample spaced at least 2 % of the box diameter, and carry ``manifold_dim``.
    """
    check_landscape(landscape)
    rho = positive(rho, "rho")
    box = _checks.box(bounds, landscape.dim)
    if lr is not None:
        lr = positive(lr, "lr")
    if seeds_per_axis is not None:
        seeds_per_axis = positive_int(seeds_per_axis, "seeds_per_axis")
    if landscape.dim == 1:
        points, method = _search_1d(landscape, rho, box)
        note = "exact up to root precision: every critical point c of f and u = +-1 with u f'(c - rho u) > 0"
    else:
        points, method = _search_nd(landscape, rho, box, seeds_per_axis)
        note = ("a seeded multi-start search: isolated points outside the seeds' basins can be missed; "
                "points on a manifold are a representative sample")
    result = HallucinationSearch(rho=rho, bounds=box, lr=lr, points=points, method=method, note=note)
    if lr is not None:
        _attach_stability(landscape, result, lr, rho)
    return result


def _describe_point(landscape, x: np.ndarray, rho: float, manifold_dim: int) -> HallucinatedPoint:
    grad = landscape.grad(x)
    x_plus = sam_ascent(landscape, x, rho)
    eig = np.linalg.eigvalsh(landscape.hessian(x_plus))
    tol = 1e-7 * max(1.0, float(np.max(np.abs(eig))))
    return HallucinatedPoint(x=x, x_plus=x_plus, grad=grad, grad_plus=landscape.grad(x_plus),
                             landing=_kind_from_eigenvalues(eig, tol), landing_eigenvalues=eig,
                             manifold_dim=manifold_dim)


def _search_1d(landscape, rho: float, box: np.ndarray):
    lo, hi = box[0]
    crit = critical_points_1d(landscape, lo - rho, hi + rho)
    found = []
    for c in crit.points:
        for direction in (1.0, -1.0):
            x = c - rho * direction
            if not lo <= x <= hi:
                continue
            slope = float(landscape.grad(np.array([x]))[0])
            if direction * slope > GRAD_TOL:
                found.append(x)
    found = _dedupe(np.array(found).reshape(-1, 1), 1e-7 * (hi - lo))
    points = [_describe_point(landscape, x, rho, 0) for x in found]
    return points, "critical points: " + crit.method


def _residual_and_jacobian(landscape, x: np.ndarray, rho: float):
    """``F(x) = grad f(x+)`` and ``DF``, vectorized: ``(k, d) -> (k, d), (k, d, d)``; also ``||grad f(x)||``."""
    x_plus, inner, norm = sam_ascent_jacobian(landscape, x, rho, landscape.hessian(x))
    return landscape.grad(x_plus), landscape.hessian(x_plus) @ inner, norm


def _levenberg_marquardt(landscape, seeds: np.ndarray, rho: float, iterations: int = 80):
    """Vectorized damped Gauss-Newton on ``||F||^2`` from every seed at once.

    Returns the final points with what :func:`_residual_and_jacobian` gives there (``F``, ``DF``, ``||grad f||``).
    """
    x = seeds.copy()
    damping = np.full(len(x), 1e-3)
    with np.errstate(all="ignore"):
        resid, jac, norm = _residual_and_jacobian(landscape, x, rho)
        cost = np.sum(resid * resid, axis=-1)
        eye = np.eye(x.shape[-1])
        for _ in range(iterations):
            jtj = np.swapaxes(jac, 1, 2) @ jac
            diag = np.einsum("kii->ki", jtj)
            system = jtj + damping[:, None, None] * (eye * (diag[:, None, :] + 1e-12))
            rhs = -np.einsum("kji,kj->ki", jac, resid)
            try:
                step = np.linalg.solve(system, rhs[..., None])[..., 0]
            except np.linalg.LinAlgError:
                step = np.einsum("kij,kj->ki", np.linalg.pinv(system), rhs)
            trial = x + step
            t_resid, t_jac, t_norm = _residual_and_jacobian(landscape, trial, rho)
            t_cost = np.sum(t_resid * t_resid, axis=-1)
            better = np.isfinite(t_cost) & (t_cost < cost)
            x = np.where(better[:, None], trial, x)
            resid = np.where(better[:, None], t_resid, resid)
            jac = np.where(better[:, None, None], t_jac, jac)
            norm = np.where(better, t_norm, norm)
            cost = np.where(better, t_cost, cost)
            damping = np.where(better, np.maximum(damping / 3, 1e-12), np.minimum(damping * 4, 1e12))
    return x, resid, jac, norm


def _search_nd(landscape, rho: float, box: np.ndarray, seeds_per_axis: int | None):
    dim = landscape.dim
    if seeds_per_axis is None:
        seeds_per_axis = 48 if dim == 2 else max(4, int(round(4000 ** (1 / dim))))
    axes = [np.linspace(lo, hi, seeds_per_axis + 2)[1:-1] for lo, hi in box]
    seeds = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=-1)
    x, resid, jac, norm = _levenberg_marquardt(landscape, seeds, rho)
    with np.errstate(invalid="ignore"):
        ok = (
            np.all(np.isfinite(x), axis=-1)
            & (np.linalg.norm(resid, axis=-1) <= 1e-9)
            & (norm > GRAD_TOL)
            & np.all((x >= box[:, 0]) & (x <= box[:, 1]), axis=-1)
        )
    x, jac = x[ok], jac[ok]
    diameter = float(np.linalg.norm(box[:, 1] - box[:, 0]))
    sv = np.linalg.svd(jac, compute_uv=False) if len(x) else np.zeros((0, dim))
    top = np.maximum(sv[:, :1], 1.0)
    manifold_dim = np.sum(sv <= 1e-6 * top, axis=-1)
    points = []
    isolated = _dedupe(x[manifold_dim == 0], 1e-7 * diameter)
    points += [_describe_point(landscape, p, rho, 0) for p in isolated]
    for k in sorted(set(manifold_dim[manifold_dim > 0].tolist())):
        sample = _dedupe(x[manifold_dim == k], 0.02 * diameter)
        points += [_describe_point(landscape, p, rho, int(k)) for p in sample]
    method = (f"Levenberg-Marquardt on grad f(x+) = 0 from {len(seeds)} seeds, exact Jacobian (NumPy); "
              "manifold dimension from the near-zero singular values of DF")
    return points, method


def _dedupe(points: np.ndarray, tol: float) -> np.ndarray:
    """Greedy merge: keep a point only if no kept point lies within ``tol`` (lexicographic order, deterministic)."""
    if len(points) == 0:
        return points
    order = np.lexsort(points.T[::-1])
    kept: list[np.ndarray] = []
    for p in points[order]:
        if not kept or np.min(np.linalg.norm(np.array(kept) - p, axis=-1)) > tol:
            kept.append(p)
    return np.array(kept)


def _attach_stability(landscape, result: HallucinationSearch, lr: float, rho: float) -> None:
    if not result.points:
        return
    report = fixed_point_stability(landscape, SAM(lr, rho), result.xs)
    for point, eig in zip(result.points, report.eigenvalues):
        # DT = I - lr DF, so a tangent direction of the manifold (DF v = 0) has eigenvalue exactly 1
        transverse = eig[np.argsort(np.abs(eig - 1.0))[point.manifold_dim:]]
        radius = float(np.max(np.abs(transverse))) if transverse.size else 0.0
        point.eigenvalues, point.spectral_radius, point.stable = eig, radius, radius < 1.0


# ---------------------------------------------------------------------------------------------- 1-D window in rho
@dataclass
class HallucinationWindow:
    """The 1-D range of ``rho`` in which a minimizer ``m2`` gets a hallucinated partner across a maximizer ``M``.

    For ``rho`` in ``(lo, hi)`` = ``(|m2 - M|, |m2 - c|)``, ``c`` the next critical point beyond ``M`` (a minimizer
    in the usual picture), the point ``m2 - rho * sign(m2 - M)`` is a SAM fixed point with ``f' != 0``; it
    attracts iff ``0 < lr f''(m2) < 2``, i.e. ``lr < lr_threshold``.
    """

    lo: float
    hi: float
    minimizer: float
    maximizer: float
    far_critical_point: float | None
    curvature: float
    lr_threshold: float
    method: str

    def point(self, rho) -> float:
        """The hallucinated point for this ``rho`` (``ValueError`` outside the window)."""
        rho = positive(rho, "rho")
        if not self.lo < rho < self.hi:
            raise ValueError(f"rho must lie in the window ({self.lo:g}, {self.hi:g}), got {rho!r}")
        return self.minimizer - rho * float(np.sign(self.minimizer - self.maximizer))


def hallucination_window(landscape, minimizer, maximizer, *, search_span=None) -> HallucinationWindow:
    """The existence window in ``rho`` for the pair (local minimizer ``m2``, adjacent local maximizer ``M``), 1-D.

    ``search_span`` (default: four widths of the landscape's window) bounds how far beyond ``M`` the next
    critical point is sought; none found gives ``hi = inf``. Critical points come from
    :func:`critical_points_1d` (SymPy for polynomial ``f'``, NumPy/SciPy otherwise).
    """
    check_landscape(landscape, dim=1)
    m2, big_m = real_number(minimizer, "minimizer"), real_number(maximizer, "maximizer")
    if m2 == big_m:
        raise ValueError(f"minimizer and maximizer must differ, got both {m2!r}")
    width = float(landscape.window[0, 1] - landscape.window[0, 0])
    span = 4 * width if search_span is None else positive(search_span, "search_span")
    crit_near = critical_points_1d(landscape, min(m2, big_m) - span, max(m2, big_m) + span)
    scale = max(1.0, float(np.max(np.abs(crit_near.curvatures)))) if crit_near.points.size else 1.0

    def snap(value: float, name: str, sign: float) -> tuple[float, float]:
        if crit_near.points.size:
            k = int(np.argmin(np.abs(crit_near.points - value)))
            if abs(crit_near.points[k] - value) <= 1e-6 * max(1.0, abs(value)):
                curv = float(crit_near.curvatures[k])
                if sign * curv > 1e-9 * scale:
                    return float(crit_near.points[k]), curv
                kind = "minimizer (f'' > 0)" if sign > 0 else "maximizer (f'' < 0)"
                raise ValueError(f"{name} must be a strict local {kind}, got {value!r} with f'' = {curv:.3g}")
        raise ValueError(f"{name} must be a critical point of the landscape (f' = 0), got {value!r}")

    m2, curvature = snap(m2, "minimizer", 1.0)
    big_m, _ = snap(big_m, "maximizer", -1.0)
    between = crit_near.points[(crit_near.points > min(m2, big_m)) & (crit_near.points < max(m2, big_m))]
    if between.size:
        raise ValueError(f"maximizer must be adjacent to minimizer, but critical point {between[0]:g} lies between them")
    direction = np.sign(big_m - m2)
    beyond = crit_near.points[(crit_near.points - big_m) * direction > 0]
    far = float(beyond[np.argmin(np.abs(beyond - big_m))]) if beyond.size else None
    hi = abs(m2 - far) if far is not None else np.inf
    return HallucinationWindow(lo=abs(m2 - big_m), hi=hi, minimizer=m2, maximizer=big_m, far_critical_point=far,
                               curvature=curvature, lr_threshold=gd_lr_edge(curvature), method=crit_near.method)
