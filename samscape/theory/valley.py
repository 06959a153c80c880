"""P3 Proposition 4.1: a 1-D valley confines full-batch SAM, and the sharper invariance test (docs/theory.md 5.3).

Setting ([working def] of Definition 4.2): ``L`` even, ``C^2``, ``L(0) = 0``, ``L'(z) > 0`` for ``z > 0`` and
``L'(z)/z`` non-increasing on ``(0, 2b]``, so ``a = L''(0)`` bounds the curvature ratio; the valley is
``V = [-2b, 2b]``. Proposition 4.1 (as stated): if ``lr < min_{z in V} b/|L'(z)|`` and
``rho <= min{1/a, lr * min_{0<|z|<b} |L'(2z)/L'(z)|}``, full-batch SAM started in ``(-b, b)`` stays in ``V``.

P3's theory uses the simplified (unnormalized) SAM, so the invariance test ``S <= 2b`` with
``S = max_{z in [0, 2b]} (lr L'(z + rho L'(z)) - z)`` is for USAM; the analogue for normalized SAM,
``max_{z in (0, 2b]} (lr L'(z + rho) - z)``, is reported beside it. With ``L'`` of one sign on each side,
``S <= 2b`` means no iterate of ``V`` can be thrown past ``-2b`` (or, by symmetry, past ``2b``).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from scipy.optimize import minimize_scalar

from ..landscapes.core import drop_distributions
from .._checks import nonnegative, positive
from ._common import check_landscape
from .stability import usam_threshold

GRID = 4001
MAX_SYMBOLIC_OPS = 400
NONSMOOTH = (sp.Piecewise, sp.Abs, sp.sign, sp.Heaviside, sp.Min, sp.Max)


def _diff(expr, z, order: int = 1):
    """Derivative with DiracDelta terms dropped (the landscapes' own rule: numpy cannot evaluate them)."""
    return drop_distributions(sp.diff(expr, z, order))


def _vectorized(z, expr):
    """``expr`` compiled once as a NumPy function of ``z`` whose output always has the input's shape."""
    fn = sp.lambdify(z, expr, modules="numpy")
    return lambda t: np.broadcast_to(fn(t), np.shape(t))


@dataclass
class Extremum:
    """A max or min of a 1-D function on an interval: ``value`` at ``where``; ``method`` names SymPy or NumPy/SciPy."""

    value: float
    where: float
    method: str


def _numeric_extremum(fn, lo: float, hi: float, mode: str, *, open_ends: bool = False) -> tuple[float, float]:
    """Dense grid then a bounded Brent refinement around the best grid point; ``fn`` is vectorized."""
    sign = 1.0 if mode == "min" else -1.0
    pad = (hi - lo) * 1e-9 if open_ends else 0.0
    grid = np.linspace(lo + pad, hi - pad, GRID)
    with np.errstate(all="ignore"):
        values = sign * np.asarray(fn(grid), dtype=float)
    values = np.where(np.isfinite(values), values, np.inf)
    k = int(np.argmin(values))
    best_z, best = grid[k], values[k]
    left, right = grid[max(k - 1, 0)], grid[min(k + 1, GRID - 1)]
    if right > left:
        res = minimize_scalar(lambda t: sign * float(fn(np.array([t]))[0]), bounds=(left, right), method="bounded",
                              options={"xatol": 1e-12 * max(1.0, abs(hi - lo))})
        if res.success and np.isfinite(res.fun) and res.fun < best:
            best_z, best = float(res.x), float(res.fun)
    return float(sign * best), float(best_z)


def _symbolic_candidates(expr, derivative, z, lo: float, hi: float, open_ends: bool) -> list[float] | None:
    """Points where an extremum of ``expr`` on ``[lo, hi]`` can sit: ends and the boundary of ``{derivative = 0}``.

    ``None`` when SymPy cannot give a finite candidate set (then the caller stays numeric).
    """
    if sp.count_ops(derivative) > MAX_SYMBOLIC_OPS:
        return None
    try:
        zeros = sp.solveset(derivative, z, sp.Interval(lo, hi))
        # L'' = 0 on whole intervals (Huber) makes L' constant there: the interval ends are the candidates
        points = zeros if isinstance(zeros, sp.FiniteSet) else zeros.boundary
        if points is sp.S.EmptySet:
            values = []
        elif isinstance(points, sp.FiniteSet):
            values = [float(p) for p in points if p.is_real]
        else:
            return None
    except Exception:  # SymPy raises many kinds of error on expressions it cannot solve
        return None
    for breakpoint in _branch_points(expr, z, lo, hi):
        values.append(breakpoint)
    ends = [] if open_ends else [lo, hi]
    return sorted(set(values + ends))


def _branch_points(expr, z, lo: float, hi: float) -> list[float]:
    """Where a Piecewise condition or an ``Abs``/``sign``/``Heaviside`` argument changes, inside ``[lo, hi]``."""
    points: list[float] = []
    for piece in expr.atoms(sp.Piecewise):
        for _, cond in piece.args:
            for rel in ([cond] if isinstance(cond, sp.core.relational.Relational) else cond.atoms(sp.core.relational.Relational)):
                points += _real_roots(rel.lhs - rel.rhs, z)
    for fn in (sp.Abs, sp.sign, sp.Heaviside):
        for atom in expr.atoms(fn):
            points += _real_roots(atom.args[0], z)
    return sorted({p for p in points if lo <= p <= hi})


def _real_roots(expr, z) -> list[float]:
    try:
        return [float(r) for r in sp.solve(expr, z) if r.is_real]
    except Exception:  # no closed form
        return []


def extremum(expr, z, lo: float, hi: float, mode: str, *, open_ends: bool = False,
             solve_interior: bool = True) -> Extremum:
    """Max or min of a SymPy expression in ``z`` over ``[lo, hi]`` (or ``(lo, hi)`` with ``open_ends``).

    SymPy supplies the candidate points (ends, zeros of the derivative, branch points) when it can; the
    answer is kept as symbolic only when a dense numeric scan does not beat it, otherwise the numeric
    (grid + Brent) value is returned and labelled so. With ``open_ends`` the ends enter as one-sided limits
    (taken by SymPy only for expressions without branches). ``solve_interior=False`` skips ``solveset`` (for
    expressions it is known to stall on) and lets the grid vouch for the interior.
    """
    fn = sp.lambdify(z, expr, modules="numpy")
    vector = lambda t: np.broadcast_to(fn(t), np.shape(t))
    num_value, num_where = _numeric_extremum(vector, lo, hi, mode, open_ends=open_ends)
    if solve_interior:
        candidates = _symbolic_candidates(expr, _diff(expr, z), z, lo, hi, open_ends)
    else:
        candidates = [] if open_ends else [lo, hi]
    if candidates is not None:
        sym_points = [(float(expr.subs(z, c).evalf()), c) for c in candidates if lo < c < hi or not open_ends]
        if open_ends:
            for end, direction in ((lo, "+"), (hi, "-")):
                limit = _one_sided_limit(expr, z, end, direction, vector, (hi - lo) * 1e-9)
                if limit is not None:
                    sym_points.append((limit, end))
        sym_points = [p for p in sym_points if np.isfinite(p[0])]
        if sym_points:
            pick = min if mode == "min" else max
            value, where = pick(sym_points, key=lambda p: p[0])
            scale = max(1.0, abs(value))
            beaten = num_value < value - 1e-9 * scale if mode == "min" else num_value > value + 1e-9 * scale
            if not beaten:
                return Extremum(value, where, "SymPy (exact candidate points or one-sided limits, checked on a grid)")
    return Extremum(num_value, num_where, f"NumPy/SciPy (grid of {GRID} + Brent)")


def _one_sided_limit(expr, z, end: float, direction: str, vector, step: float) -> float | None:
    """SymPy's one-sided limit of ``expr`` at ``end``, or ``None`` when it has no closed form.

    ``limit`` can stall on Piecewise expressions; for those the value at ``end`` is taken instead, and kept
    only if the function approaches it from inside (checked numerically a step ``step`` away).
    """
    try:
        if not expr.has(*NONSMOOTH):
            value = sp.limit(expr, z, end, direction)
        else:
            value = expr.subs(z, end)
            inside = float(vector(np.array([end + step if direction == "+" else end - step]))[0])
            if not (value.is_real and abs(float(value) - inside) <= 1e-6 * max(1.0, abs(inside))):
                return None
        if value.is_real and value.is_finite:
            return float(value)
    except Exception:  # no limit in closed form
        pass
    return None


@dataclass
class ValleyConditions:
    """P3 Proposition 4.1's hypotheses for a 1-D valley, and the sharper invariance test.

    Attributes
    ----------
    a, b, lr, rho : float
    definition : dict[str, tuple[bool, str]]
        Definition 4.2 checks ([working def]), each with how it was decided.
    definition_holds : bool
    lr_bound : Extremum
        ``min_{z in V} b / |L'(z)|``, i.e. ``b / max_V |L'|`` (``value`` is the bound).
    lr_ok : bool
        ``lr < lr_bound``.
    ratio_min : Extremum
        ``min_{0<|z|<b} |L'(2z)/L'(z)|`` (an infimum; at an open end it is a one-sided limit).
    rho_bound : float
        ``min{1/a, lr * ratio_min}``.
    rho_ok : bool
    hypotheses_hold : bool
        Definition 4.2 and both bounds: Proposition 4.1 then promises confinement.
    invariance_usam, invariance_sam : Extremum
        ``S`` for USAM (the sharper test of docs/theory.md section 5.3) and its normalized-SAM analogue.
    invariant_usam, invariant_sam : bool
        ``S <= 2b``.
    bottom_curvature : float
        ``L''(0)`` (SymPy, exact).
    bottom_stable_usam : bool
        ``lr L''(0) (1 + rho L''(0)) <= 2``: whether the bottom is a stable fixed point of USAM.
    """

    a: float
    b: float
    lr: float
    rho: float
    definition: dict = field(repr=False)
    definition_holds: bool
    lr_bound: Extremum
    lr_ok: bool
    ratio_min: Extremum
    rho_bound: float
    rho_ok: bool
    hypotheses_hold: bool
    invariance_usam: Extremum
    invariant_usam: bool
    invariance_sam: Extremum
    invariant_sam: bool
    bottom_curvature: float
    bottom_stable_usam: bool


def _definition_checks(loss, d1, d2, z, a: float, b: float) -> dict[str, tuple[bool, str]]:
    """Definition 4.2's checks for ``loss`` with its derivatives ``d1``, ``d2`` (each derived and compiled once)."""
    f0, f1, f2 = (_vectorized(z, e) for e in (loss, d1, d2))
    checks: dict[str, tuple[bool, str]] = {}
    mirrored = loss.subs(z, -z) - loss
    if mirrored == 0 or (sp.count_ops(mirrored) <= MAX_SYMBOLIC_OPS and sp.simplify(mirrored) == 0):
        checks["even"] = (True, "SymPy: L(-z) - L(z) simplifies to 0")
    else:
        grid = np.linspace(-2 * b, 2 * b, GRID)
        fn = sp.lambdify(z, mirrored, modules="numpy")
        worst = float(np.max(np.abs(np.broadcast_to(fn(grid), grid.shape))))
        checks["even"] = (worst <= 1e-12, f"NumPy: max |L(-z) - L(z)| on V = {worst:.3g}")
    at_zero = sp.nsimplify(loss.subs(z, 0))
    checks["zero at 0"] = (bool(abs(float(at_zero)) <= 1e-14), f"SymPy: L(0) = {at_zero}")

    breaks = _branch_points(loss, z, -2 * b, 2 * b)
    if not loss.has(*NONSMOOTH):
        checks["C^2"] = (True, "SymPy: one analytic expression, no branch points")
    else:
        jumps, growth = [], []
        for c in breaks:
            eps = 1e-7 * max(1.0, abs(c))
            jumps.append(max(abs(float(f(c + eps)) - float(f(c - eps))) / max(1.0, abs(float(f(c + eps))))
                             for f in (f0, f1, f2)))
            # a bounded L'' barely changes between 100 eps and eps; one that blows up (|z|^p, p < 2) grows
            near = max(abs(float(f2(c + eps))), abs(float(f2(c - eps))))
            far = max(abs(float(f2(c + 100 * eps))), abs(float(f2(c - 100 * eps))), 1e-300)
            growth.append(near / far)
        worst = max(jumps, default=0.0)
        blowup = max(growth, default=1.0)
        where = ", ".join(f"{c:g}" for c in breaks) or "none"
        checks["C^2"] = (worst <= 1e-5 and blowup < 2.0,
                         f"NumPy: at branch points ({where}) the largest relative jump of L, L', L'' is {worst:.3g} "
                         f"and |L''| grows {blowup:.3g}x from 100 eps to eps")

    grid = np.linspace(2 * b / GRID, 2 * b, GRID)
    slope = f1(grid)
    checks["L' > 0 on (0, 2b]"] = (bool(np.min(slope) > 0), f"NumPy: min L' on a grid = {np.min(slope):.3g}")
    ratio = slope / grid
    rise = float(np.max(np.diff(ratio)))
    checks["L'(z)/z non-increasing"] = (rise <= 1e-12 * max(1.0, float(np.max(np.abs(ratio)))),
                                        f"NumPy: largest increase between grid points = {rise:.3g}")
    value = f0(grid)
    excess = float(np.max(value - 0.5 * a * grid**2))
    checks["sub-quadratic L <= a z^2/2 on V"] = (excess <= 1e-12 * max(1.0, a * b * b),
                                                f"NumPy: max (L - a z^2/2) = {excess:.3g}")
    curvature = d2.subs(z, 0)
    if curvature.is_finite:
        curvature = sp.nsimplify(curvature)  # prints 1 rather than 1.00000000000000
        matches = abs(float(curvature) - a) <= 1e-9 * max(1.0, a)
    else:
        matches = False  # e.g. |z|^p with p < 2 has no finite a
    checks["a = L''(0)"] = (matches, f"SymPy: L''(0) = {curvature}")
    return checks


@dataclass
class _Geometry:
    """What :func:`valley_conditions` needs that does not depend on ``lr`` or ``rho`` (derived once per valley)."""

    d1: sp.Expr
    checks: dict
    lr_bound: Extremum
    ratio_min: Extremum
    bottom_curvature: float


_GEOMETRY_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _valley_geometry(landscape, a: float, b: float) -> _Geometry:
    """``L'``, Definition 4.2's checks, ``b / max_V |L'|``, ``min |L'(2z)/L'(z)|`` and ``L''(0)``, cached per
    landscape and ``(a, b)``: the symbolic work is done once however many ``(lr, rho)`` are asked about."""
    per_landscape = _GEOMETRY_CACHE.setdefault(landscape, {})
    if (a, b) in per_landscape:
        return per_landscape[(a, b)]
    z = landscape.symbols[0]
    loss = landscape.loss_expr
    d1 = _diff(loss, z)
    d2 = _diff(loss, z, 2)
    checks = _definition_checks(loss, d1, d2, z, a, b)

    # max |L'| = max(max L', -min L'); two plain extrema keep sign() out of SymPy's equations
    highest = extremum(d1, z, -2 * b, 2 * b, "max")
    lowest = extremum(d1, z, -2 * b, 2 * b, "min")
    steepest = highest if highest.value >= -lowest.value else Extremum(-lowest.value, lowest.where, lowest.method)
    method = steepest.method if highest.method == lowest.method else f"{highest.method}; {lowest.method}"
    lr_bound = Extremum(b / steepest.value if steepest.value > 0 else np.inf, steepest.where, method)

    ratio_expr = d1.subs(z, 2 * z) / d1
    if not checks["L' > 0 on (0, 2b]"][0]:
        ratio_expr = sp.Abs(ratio_expr)  # with L' > 0 on (0, 2b] the ratio is positive and needs no Abs
    # solveset stalls on this quotient of derivatives; the infimum sits at an open end for the catalog valleys
    ratio_pos = extremum(ratio_expr, z, 0.0, b, "min", open_ends=True, solve_interior=False)
    if checks["even"][0]:
        ratio_min = ratio_pos  # L' is odd, so the ratio is even in z
    else:
        ratio_neg = extremum(ratio_expr, z, -b, 0.0, "min", open_ends=True, solve_interior=False)
        ratio_min = min(ratio_pos, ratio_neg, key=lambda e: e.value)
    at_bottom = d2.subs(z, 0)
    curvature = float(at_bottom) if at_bottom.is_finite else float("inf")
    geometry = _Geometry(d1, checks, lr_bound, ratio_min, curvature)
    per_landscape[(a, b)] = geometry
    return geometry


def valley_conditions(landscape, a, b, lr, rho) -> ValleyConditions:
    """P3 Proposition 4.1's two bounds exactly as stated, Definition 4.2's checks, and the test ``S <= 2b``.

    Parameters
    ----------
    landscape : Landscape
        One-dimensional.
    a, b : float > 0
        Curvature scale and half-width of the valley's core (catalog valleys carry them in ``params``).
    lr : float > 0
    rho : float >= 0

    Extrema are found from SymPy candidate points when SymPy can solve for them (and checked on a grid),
    numerically otherwise; every :class:`Extremum` says which.
    """
    check_landscape(landscape, dim=1)
    a, b, lr, rho = positive(a, "a"), positive(b, "b"), positive(lr, "lr"), nonnegative(rho, "rho")
    z = landscape.symbols[0]
    geometry = _valley_geometry(landscape, a, b)
    d1, checks, lr_bound, ratio_min = geometry.d1, dict(geometry.checks), geometry.lr_bound, geometry.ratio_min
    definition_holds = all(ok for ok, _ in checks.values())
    rho_bound = float(min(1.0 / a, lr * ratio_min.value))

    tz = sp.Symbol("t", real=True)
    slope_at = lambda arg: d1.subs(z, arg)
    usam_excess = lr * slope_at(tz + rho * slope_at(tz)) - tz
    sam_excess = lr * slope_at(tz + rho) - tz
    invariance_usam = _numeric_only(usam_excess, tz, 0.0, 2 * b, "max")
    invariance_sam = _numeric_only(sam_excess, tz, 0.0, 2 * b, "max")

    curvature = geometry.bottom_curvature
    lr_ok = bool(lr < lr_bound.value)
    rho_ok = bool(rho <= rho_bound)
    return ValleyConditions(
        a=a, b=b, lr=lr, rho=rho,
        definition=checks, definition_holds=definition_holds,
        lr_bound=lr_bound, lr_ok=lr_ok,
        ratio_min=ratio_min, rho_bound=rho_bound, rho_ok=rho_ok,
        hypotheses_hold=definition_holds and lr_ok and rho_ok,
        invariance_usam=invariance_usam, invariant_usam=bool(invariance_usam.value <= 2 * b),
        invariance_sam=invariance_sam, invariant_sam=bool(invariance_sam.value <= 2 * b),
        bottom_curvature=curvature,
        bottom_stable_usam=bool(curvature <= usam_threshold(lr, rho)),
    )


def _numeric_only(expr, z, lo, hi, mode) -> Extremum:
    # the composed expression L'(z + rho L'(z)) defeats solveset; a grid plus Brent is reliable here
    fn = sp.lambdify(z, expr, modules="numpy")
    value, where = _numeric_extremum(lambda t: np.broadcast_to(fn(t), np.shape(t)), lo, hi, mode)
    return Extremum(value, where, f"NumPy/SciPy (grid of {GRID} + Brent)")
