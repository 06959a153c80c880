"""The papers' claims, each checked against a real simulation: :func:`check` runs them.

A claim is a function registered with :func:`claim`. It sets up a landscape and optimizers, checks that the
setup satisfies the hypotheses it is meant to (symbolically where SymPy can, numerically otherwise), computes the
prediction from the theory, runs :func:`samscape.dynamics.simulate`, and compares. It returns a
:class:`ClaimResult`; ``passed`` is true only when every setup hypothesis holds and the observation agrees with
the prediction within the stated tolerance, so every claim can fail.

Papers: P1 Park et al. 2025 (hallucinated minimizers), P2 Wen, Ma & Li 2023 (how SAM minimizes sharpness),
P3 Zhou et al. 2025 (SAM late in training); see THEORY.md.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import sympy as sp
from scipy.optimize import brentq
from scipy.stats import binom

from .. import landscapes
from ..dynamics import GD, SAM, SGD, USAM, Switch, draws, sam_ascent
from ..dynamics import simulate as _simulate_any
from ._common import fmt, positive_int
from .fates import classify_fates
from .hallucination import find_hallucinated, hallucination_window
from .sharpness import manifold_drift, manifold_sharpness_limits, sharpness
from .stability import fixed_point_stability, gd_lr_edge, gd_threshold, sam_two_cycle, usam_factor, usam_threshold
from .stochastic import (
    alignment_gamma,
    lyapunov_exponent,
    mean_square_radius,
    pl_conditions,
    quadratic_finite_sum,
    sgd_stability_inequality,
    usam_stability_inequality,
)
from .valley import valley_conditions


@dataclass
class ClaimResult:
    """The outcome of one claim.

    Attributes
    ----------
    name, paper, statement : str
        Registry name, the paper and theorem, the claim in words.
    hypotheses : dict[str, bool]
        Setup conditions the check relies on, each with whether it holds here.
    predicted, observed, tolerance : str
        Short human summaries (the numbers are in ``details``).
    passed : bool
        Every hypothesis holds and observation agrees with prediction within tolerance.
    method : str
        Which numbers are SymPy (exact/symbolic) and which NumPy/SciPy (numeric).
    details : dict
        The numbers behind the summaries (JSON-friendly).
    seconds : float
        Wall time of the check.
    """

    name: str
    paper: str
    statement: str
    hypotheses: dict
    predicted: str
    observed: str
    tolerance: str
    passed: bool
    method: str
    details: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def hypotheses_hold(self) -> bool:
        return all(self.hypotheses.values())

    def as_dict(self) -> dict:
        """A JSON-friendly dict of every field."""
        return {
            "name": self.name, "paper": self.paper, "statement": self.statement,
            "hypotheses": {k: bool(v) for k, v in self.hypotheses.items()},
            "predicted": self.predicted, "observed": self.observed, "tolerance": self.tolerance,
            "passed": bool(self.passed), "method": self.method, "details": _jsonable(self.details),
            "seconds": round(self.seconds, 3),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    return value


@dataclass
class _Outcome:
    hypotheses: dict
    predicted: str
    observed: str
    tolerance: str
    agrees: bool
    method: str
    details: dict


@dataclass(frozen=True)
class _Registered:
    name: str
    paper: str
    run: Callable[[], _Outcome]

    @property
    def statement(self) -> str:
        doc = (self.run.__doc__ or "").strip()
        return " ".join(doc.split("\n\n")[0].split())


CLAIMS: dict[str, _Registered] = {}


def claim(name: str, paper: str):
    """Register a claim function (returning an internal outcome) under ``name``; its docstring's first paragraph
    is the claim in words."""

    def decorate(fn):
        CLAIMS[name] = _Registered(name, paper, fn)
        return fn

    return decorate


def claim_names() -> list[str]:
    """The registered claims, in the order they run."""
    return list(CLAIMS)


def run_claim(name: str) -> ClaimResult:
    """Run one registered claim; an unexpected exception becomes a failed result that carries the error."""
    if name not in CLAIMS:
        raise ValueError(f"claim name must be one of {', '.join(CLAIMS)}, got {name!r}")
    entry = CLAIMS[name]
    started = time.perf_counter()
    try:
        with np.errstate(all="ignore"):
            out = entry.run()
    except Exception as err:  # a broken check must show up as a failure, not stop the others
        return ClaimResult(entry.name, entry.paper, entry.statement, {"check ran": False}, "-", f"error: {err!r}",
                           "-", False, "-", {"error": repr(err)}, time.perf_counter() - started)
    hypotheses = {k: bool(v) for k, v in out.hypotheses.items()}
    passed = bool(out.agrees and all(hypotheses.values()))
    return ClaimResult(entry.name, entry.paper, entry.statement, hypotheses, out.predicted, out.observed,
                       out.tolerance, passed, out.method, out.details, time.perf_counter() - started)


def check(names=None) -> list[ClaimResult]:
    """Run the registered claims (all, or those in ``names``) and return one :class:`ClaimResult` each."""
    if names is None:
        selected = claim_names()
    else:
        selected = [names] if isinstance(names, str) else list(names)
        unknown = [n for n in selected if n not in CLAIMS]
        if unknown:
            raise ValueError(f"names must be claim names among {', '.join(CLAIMS)}, got {unknown[0]!r}")
    return [run_claim(n) for n in selected]


# ---------------------------------------------------------------------------------------------- helpers
def simulate(landscape, optimizer, x0, steps, **kwargs):
    """The claims run the reference NumPy backend: results do not depend on numba being installed, and no
    compile time is paid for these short runs."""
    return _simulate_any(landscape, optimizer, x0, steps, backend="numpy", **kwargs)


def _geometric_rate(series: np.ndarray) -> float:
    """``exp(mean(diff(log|s|)))``: the per-step growth factor of a geometric sequence."""
    return float(np.exp(np.mean(np.diff(np.log(np.abs(series))))))


def _sympy_hessian_at(landscape, point) -> sp.Matrix:
    """The full loss's Hessian at ``point``, exactly (SymPy), with the point's coordinates as rationals."""
    subs = {s: sp.nsimplify(float(v), rational=True) for s, v in zip(landscape.symbols, point)}
    # the catalog writes coefficients as Floats; as rationals the eigenvalues print exactly (17/4, not 4.25000000)
    return sp.nsimplify(sp.hessian(landscape.loss_expr, landscape.symbols).subs(subs), rational=True)


# ---------------------------------------------------------------------------------------------- 1. GD on a quadratic
@claim("gd_quadratic", "THEORY 4 (derived)")
def _gd_quadratic():
    """THEORY.md section 4 [derived], the classical GD stability threshold: GD on a quadratic converges when lr < 2/lambda_max and escapes when lr > 2/lambda_max, and the error along
    the top eigenvector changes by the factor |1 - lr*lambda_max| every step, on both sides of the threshold."""
    land = landscapes.get("quadratic", eigenvalues=(1.0, 4.0), angle=0.3)
    eig = sp.Matrix(_sympy_hessian_at(land, [0, 0])).eigenvals()
    lam_exact = max(eig, key=lambda e: float(e))
    lam = float(lam_exact)
    _, vecs = np.linalg.eigh(land.hessian(np.zeros(2)))
    top = vecs[:, -1]
    critical = gd_lr_edge(lam)  # 2 / lambda_max
    x0 = np.array([0.6, -0.4])
    rows, agrees, details = [], True, {"lambda_max": lam, "critical_lr": critical}
    for label, lr in (("below", 0.9 * critical), ("above", 1.1 * critical)):
        run = simulate(land, GD(lr), x0, 60, every=1, seed=0)
        along = run.xs[:, 0, :] @ top
        observed = _geometric_rate(along)
        predicted = usam_factor(lr, 0.0, lam)
        stability = fixed_point_stability(land, GD(lr), np.zeros(2))
        ok = (abs(observed - predicted) <= 1e-9 * predicted
              and bool(stability.stable) == (label == "below")
              and abs(stability.spectral_radius - predicted) <= 1e-12)
        agrees &= ok
        rows.append((label, lr, predicted, observed))
        details[label] = {"lr": lr, "predicted_rate": predicted, "observed_rate": observed,
                          "jacobian_radius": stability.spectral_radius, "final_norm": float(np.linalg.norm(run.x[0]))}
    return _Outcome(
        hypotheses={f"lambda_max = {lam:.12g} (SymPy eigenvalues of the exact Hessian)": abs(lam - 4.0) < 1e-12},
        predicted="rate |1-lr*lam|: " + ", ".join(f"{r[0]} {fmt(r[2])}" for r in rows) + f" (lr*={fmt(critical)})",
        observed="rate: " + ", ".join(f"{r[0]} {fmt(r[3])}" for r in rows),
        tolerance="1e-9 relative (the map is linear)",
        agrees=agrees,
        method="SymPy: lambda_max; NumPy: simulation, Jacobian eigenvalues",
        details=details,
    )


# ---------------------------------------------------------------------------------------------- 2. USAM on a quadratic
@claim("usam_quadratic", "P3 Sec 4 (derived)")
def _usam_quadratic():
    """P3 section 4 (THEORY.md [derived] for P3's simplified SAM): USAM is stable at a minimum iff lr*lam*(1 + rho*lam) <= 2 and otherwise escapes it, the error along an
    eigenvector of curvature lam changing by |1 - lr*lam*(1 + rho*lam)| per step; GD with the same lr is stable on
    both curvatures, so USAM's threshold is the stricter one."""
    lr_q, rho_q = sp.Rational(1, 2), sp.Rational(1, 2)
    lam = sp.Symbol("lam", positive=True)
    lam_star_exact = [r for r in sp.solve(lr_q * lam * (1 + rho_q * lam) - 2, lam) if r.is_positive][0]
    lr, rho = float(lr_q), float(rho_q)
    lam_star = float(lam_star_exact)
    curvatures = (0.9 * lam_star, 1.1 * lam_star)
    land = landscapes.get("quadratic", eigenvalues=curvatures)
    run = simulate(land, USAM(lr, rho), np.array([0.5, 0.5]), 50, every=1, seed=0)
    gd_run = simulate(land, GD(lr), np.array([0.5, 0.5]), 50, every=1, seed=0)
    predicted = [usam_factor(lr, rho, c) for c in curvatures]
    observed = [_geometric_rate(run.xs[:, 0, k]) for k in range(2)]
    gd_rates = [_geometric_rate(gd_run.xs[:, 0, k]) for k in range(2)]
    stability = fixed_point_stability(land, USAM(lr, rho), np.zeros(2))
    jac_moduli = sorted(np.abs(stability.eigenvalues))
    agrees = (
        all(abs(o - p) <= 1e-9 * p for o, p in zip(observed, predicted))
        and predicted[0] < 1 < predicted[1]
        and np.allclose(jac_moduli, sorted(predicted), rtol=1e-12)
        and all(g < 1 for g in gd_rates)
    )
    return _Outcome(
        hypotheses={
            f"threshold lam* = {lam_star_exact} (SymPy root of lr*lam*(1+rho*lam) = 2)":
                abs(lam_star - usam_threshold(lr, rho)) <= 1e-12,
            "GD is stable on both curvatures (lr*lam < 2)": all(c < gd_threshold(lr) for c in curvatures),
        },
        predicted=f"rates {fmt(predicted[0])} (lam=0.9lam*), {fmt(predicted[1])} (1.1lam*)",
        observed=f"rates {fmt(observed[0])}, {fmt(observed[1])}; GD {fmt(gd_rates[0])}, {fmt(gd_rates[1])}",
        tolerance="1e-9 relative (the map is linear)",
        agrees=agrees,
        method="SymPy: threshold; NumPy: simulation, Jacobian eigenvalues",
        details={"lr": lr, "rho": rho, "threshold": lam_star, "curvatures": curvatures, "predicted_rates": predicted,
                 "observed_rates": observed, "gd_rates": gd_rates},
    )


# ---------------------------------------------------------------------------------------------- 3. P2 Thm 4.8
@claim("sam_quadratic_cycle", "P2 Thm 4.8")
def _sam_quadratic_cycle():
    """P2 Theorem 4.8: normalized full-batch SAM on a quadratic with a unique top eigenvalue and lr*lambda_1 < 1 aligns with the
    top eigenvector v_1 and settles on a period-2 bounce with ||x|| = lr*rho*lambda_1/(2 - lr*lambda_1)."""
    eigenvalues, lr, rho = (1.0, 4.0), 0.2, 0.05
    land = landscapes.get("quadratic", eigenvalues=eigenvalues, angle=0.5)
    eig, vecs = np.linalg.eigh(land.hessian(np.zeros(2)))
    lam1, v1 = float(eig[-1]), vecs[:, -1]
    predicted = sam_two_cycle(lr, rho, lam1)
    lr_s, rho_s, lam_s = sp.Rational(1, 5), sp.Rational(1, 20), sp.Integer(4)
    predicted_exact = lr_s * rho_s * lam_s / (2 - lr_s * lam_s)
    angles = np.random.default_rng(7).uniform(0, 2 * np.pi, 16)
    starts = np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    steps = 600
    run = simulate(land, SAM(lr, rho), starts, steps, every=steps - 1, seed=0)
    last, prev = run.xs[-1], run.xs[-2]
    norms = np.linalg.norm(last, axis=-1)
    misalignment = 1 - np.abs(last @ v1) / norms
    bounce = np.linalg.norm(last + prev, axis=-1) / norms
    rel_err = np.abs(norms - predicted) / predicted
    agrees = bool(np.max(rel_err) <= 1e-6 and np.max(misalignment) <= 1e-6 and np.max(bounce) <= 1e-6)
    return _Outcome(
        hypotheses={"unique top eigenvalue": eig[-1] > eig[-2], "lr*lambda_1 < 1": lr * lam1 < 1,
                    f"radius = {predicted_exact} (SymPy) equals sam_two_cycle": abs(float(predicted_exact) - predicted) < 1e-15},
        predicted=f"||x|| -> {fmt(predicted, 6)}, along v_1, x_t+1 = -x_t",
        observed=f"max rel err {fmt(np.max(rel_err), 2)}, 1-|cos| {fmt(np.max(misalignment), 2)} (16 starts)",
        tolerance="1e-6 relative",
        agrees=agrees,
        method="SymPy: cycle radius; NumPy: simulation",
        details={"lr": lr, "rho": rho, "lambda_1": lam1, "predicted_radius": predicted, "final_norms": norms,
                 "max_misalignment": float(np.max(misalignment)), "max_bounce_error": float(np.max(bounce))},
    )


# ---------------------------------------------------------------------------------------------- 4. P3 Example 4.1
def _tanh_sharpness(u):
    return np.tanh(u) ** 2


@claim("tanh_usam_escape", "P3 Ex 4.1")
def _tanh_usam_escape():
    """P3 Example 4.1: on P3's tanh model L(u, v) = tanh(v tanh u)^2 / 2, whose minimizers v = 0 have Hessian diag(0, tanh^2 u):
    GD (lr*lambda < 2) stays at the sharp minimum u0 = 2.5, while USAM, for which that minimum is unstable,
    escapes it exponentially at the rate |1 - lr*lambda(1 + rho*lambda)| and lands on a flatter minimum inside its
    own stability boundary tanh^2 u <= usam_threshold(lr, rho)."""
    land = landscapes.get("tanh")
    u_sym, v_sym = land.symbols
    # nsimplify turns the data point's Float 1.0 into an exact 1 so that tanh(1.0*u) matches tanh(u)
    hess_on_m = sp.nsimplify(sp.hessian(land.loss_expr, land.symbols).subs(v_sym, 0))
    symbolic_ok = sp.simplify(hess_on_m - sp.diag(0, sp.tanh(u_sym) ** 2)) == sp.zeros(2, 2)
    lr, rho, u0 = 1.5, 0.5, 2.5
    lam0 = float(_tanh_sharpness(u0))
    boundary = usam_threshold(lr, rho)
    x0 = np.array([u0, 1e-8])
    gd = simulate(land, GD(lr), x0, 400, every=400, seed=0)
    gd_stays = abs(gd.x[0, 0] - u0) <= 1e-12 and abs(gd.x[0, 1]) <= 1e-100
    usam_jac = fixed_point_stability(land, USAM(lr, rho), np.array([u0, 0.0]))
    predicted_rate = usam_factor(lr, rho, lam0)
    run = simulate(land, USAM(lr, rho), x0, 3000, every=1, seed=0)
    v = run.xs[:, 0, 1]
    # the linear regime: from the start until |v| first reaches 1e-5
    left = int(np.argmax(np.abs(v) >= 1e-5))
    observed_rate = _geometric_rate(v[1:left])
    landed_u = float(run.x[0, 0])
    landed = float(_tanh_sharpness(landed_u))
    converged = abs(run.x[0, 1]) < 1e-8
    rate_ok = abs(observed_rate - predicted_rate) <= 1e-4 * predicted_rate
    agrees = bool(gd_stays and rate_ok and landed <= boundary and converged
                  and abs(usam_jac.spectral_radius - predicted_rate) <= 1e-9)
    return _Outcome(
        hypotheses={"Hessian on v=0 is diag(0, tanh(u)^2) (SymPy)": bool(symbolic_ok),
                    "GD stable at u0: lr*lambda < 2": lam0 < gd_threshold(lr),
                    "USAM unstable at u0: lambda > usam_threshold": lam0 > boundary},
        predicted=f"GD stays; USAM rate {fmt(predicted_rate, 6)}, lands lam<={fmt(boundary)}",
        observed=(f"GD |du|={fmt(abs(gd.x[0, 0] - u0), 2)}; rate {fmt(observed_rate, 6)}, "
                  f"lands lam={fmt(landed)} (u={fmt(landed_u)})"),
        tolerance="rate 1e-4 relative (linear regime |v|<1e-5); landing: lam <= boundary, |v| < 1e-8",
        agrees=agrees,
        method="SymPy: Hessian on the minimizer set; NumPy: thresholds, Jacobian, simulation",
        details={"lr": lr, "rho": rho, "u0": u0, "lambda0": lam0, "usam_boundary": boundary,
                 "predicted_rate": predicted_rate, "observed_rate": observed_rate, "landed_u": landed_u,
                 "landed_lambda": landed, "final_v": float(run.x[0, 1]), "gd_final": gd.x[0]},
    )


@claim("tanh_sam_drift", "P3 Ex 4.1 + P2 Thm 4.5")
def _tanh_sam_drift():
    """P3 Example 4.1 with P2 Theorem 4.5's drift: on P3's tanh model, normalized full-batch SAM has no stable minimum; from the sharp minimum u0 = 2.5 it
    bounces across the valley and drifts toward the flat end (smaller |u|) at P2's per-step rate
    -(lr rho^2/2) d lambda/du * [2/(2 - lr lambda)]^2."""
    land = landscapes.get("tanh")
    lr, rho, u0 = 0.5, 0.1, 2.5
    jac = fixed_point_stability(land, SAM(lr, rho), np.array([u0, 0.0]))
    steps = 2000
    run = simulate(land, SAM(lr, rho), np.array([u0, 1e-8]), steps, every=1, seed=0)
    u = run.xs[:, 0, 0]
    start, stop = 500, 700
    observed = (u[stop] - u[start]) / (stop - start)
    predicted = float(manifold_drift(land, np.array([0.5 * (u[start] + u[stop]), 0.0]), lr, rho).velocity[0])
    rel = abs(observed - predicted) / abs(predicted)
    monotone = bool(np.all(np.diff(u[100::100]) < 0))
    final_lambda = float(_tanh_sharpness(u[-1]))
    agrees = bool(rel <= 0.05 and monotone and final_lambda < float(_tanh_sharpness(u0)))
    return _Outcome(
        hypotheses={"lr*lambda < 2 along the way (2-cycle exists)": float(_tanh_sharpness(u0)) < gd_threshold(lr),
                    "SAM's Jacobian at the minimum is not stable": not bool(jac.stable)},
        predicted=f"du/step {fmt(predicted)} at u={fmt(u[(start + stop) // 2])}; |u| decreases",
        observed=f"du/step {fmt(observed)}; u {fmt(u0)} -> {fmt(u[-1])} in {steps} steps",
        tolerance="5% on the rate (P2's limit is rho -> 0; rho = 0.1 here)",
        agrees=agrees,
        method="SymPy: third derivatives in the drift; NumPy: simulation, finite-difference Jacobian at the minimum",
        details={"lr": lr, "rho": rho, "predicted_velocity": predicted, "observed_velocity": observed,
                 "relative_error": rel, "u_every_100": u[::100], "jacobian_method": jac.method,
                 "jacobian_radius_at_minimum": jac.spectral_radius},
    )


@claim("tanh_switching", "P3 Sec 4 (two phases)")
def _tanh_switching():
    """P3 section 4, the two phases after switching late (with Theorem 4.1's linear stability): on P3's tanh model
    with three data points, SGD (mean-square stable at the sharp minimum u0 = 2.5) stays there; after the switch
    P3's SAM (USAM, batch 1) escapes exponentially, its per-step log-growth being the Lyapunov exponent at u0, then
    converges to a flatter minimum where that exponent is <= 0. Normalized SAM (batch 1) shows the same two phases:
    it leaves at once (its ascent step ignores how small v is) and then drifts to flatter minima. Mean-square
    stability is reported too: the USAM landing points are mean-square unstable, yet every path converges."""
    land = landscapes.get("tanh", xs=(0.6, 1.0, 1.3), ys=(0.0, 0.0, 0.0))
    lr, rho, u0, switch_at, steps, paths = 1.5, 0.8, 2.5, 100, 2000, 32

    def v_hessians(u):
        return land.sample_hessians(np.array([u, 0.0]))[:, 1:, 1:]

    at_u0 = v_hessians(u0)
    sgd_ms = mean_square_radius(at_u0, lr, 0.0, 1)
    sgd_lyap = lyapunov_exponent(at_u0, lr, 0.0, 1)
    usam_lyap = lyapunov_exponent(at_u0, lr, rho, 1)
    usam_ms = mean_square_radius(at_u0, lr, rho, 1)
    h0 = at_u0[:, 0, 0]
    logs = np.log(usam_factor(lr, rho, h0))
    run = simulate(land, Switch(SGD(lr, 1), USAM(lr, rho, batch_size=1), at=switch_at),
                   np.tile([u0, 1e-3], (paths, 1)), steps, every=1, seed=0)
    u, v = run.xs[:, :, 0], run.xs[:, :, 1]
    stayed = float(np.max(np.abs(u[switch_at] - u0)))
    window = slice(switch_at + 10, switch_at + 110)
    still_linear = bool(np.all(np.abs(v[window]) < 1e-8))
    slope = float(np.mean(np.log(np.abs(v[switch_at + 110])) - np.log(np.abs(v[switch_at + 10]))) / 100)
    stderr = float(np.std(logs) / math.sqrt(paths * 100))
    final_u = u[-1]
    final_lyap = np.array([lyapunov_exponent(v_hessians(x), lr, rho, 1).exponent for x in final_u])
    final_ms = np.array([mean_square_radius(v_hessians(x), lr, rho, 1).radius for x in final_u])
    converged = bool(np.all(np.abs(v[-1]) < 1e-6))
    sharpness_u0 = float(np.mean(h0))
    final_sharpness = np.array([np.mean(v_hessians(x)[:, 0, 0]) for x in final_u])
    flatter = bool(np.all(final_sharpness < sharpness_u0))
    # normalized SAM, batch 1, after the same SGD phase
    lr_n, rho_n = 0.5, 0.1
    norm_run = simulate(land, Switch(SGD(lr_n, 1), SAM(lr_n, rho_n, batch_size=1), at=switch_at),
                        np.tile([u0, 1e-3], (16, 1)), steps, every=1, seed=0)
    v_n = np.abs(norm_run.xs[switch_at:, :, 1])
    steps_to_leave = int(np.max(np.argmax(v_n > 1e-3, axis=0)))
    norm_final = np.array([np.mean(v_hessians(x)[:, 0, 0]) for x in norm_run.x[:, 0]])
    norm_ok = bool(np.all(v_n.max(axis=0) > 1e-3) and steps_to_leave <= 5 and np.all(norm_final < sharpness_u0))
    agrees = bool(stayed < 1e-4 and still_linear and abs(slope - usam_lyap.exponent) <= 4 * stderr
                  and np.all(final_lyap <= 0) and converged and flatter and norm_ok)
    return _Outcome(
        hypotheses={"SGD at u0: mean-square stable and Lyapunov < 0": sgd_ms.stable and sgd_lyap.exponent < 0,
                    "USAM at u0: Lyapunov > 0 (paths escape)": usam_lyap.exponent > 0},
        predicted=(f"SGD stays; USAM escape log-rate {fmt(usam_lyap.exponent)}, lands where Lyapunov <= 0; "
                   "SAM leaves at once, flatter"),
        observed=(f"|du|={fmt(stayed, 2)}; log-rate {fmt(slope)}; lands u~{fmt(np.median(final_u))} (Lyap max "
                  f"{fmt(np.max(final_lyap), 2)}, yet MS radius {fmt(np.median(final_ms), 3)} > 1); SAM leaves in "
                  f"{steps_to_leave} step(s), sharpness {fmt(sharpness_u0, 3)} -> {fmt(np.median(norm_final), 3)}"),
        tolerance=(f"log-rate within 4 standard errors ({fmt(4 * stderr, 2)}); all {paths} USAM paths end with "
                   "|v| < 1e-6; SAM leaves within 5 steps"),
        agrees=agrees,
        method="NumPy: exact batch-law Lyapunov exponents and mean-square radii (commuting 1-D Hessians), simulation",
        details={"lr": lr, "rho": rho, "switch_at": switch_at, "sgd_ms_radius": sgd_ms.radius,
                 "sgd_lyapunov": sgd_lyap.exponent, "usam_ms_radius_at_u0": usam_ms.radius,
                 "usam_lyapunov_at_u0": usam_lyap.exponent, "observed_log_rate": slope, "stderr": stderr,
                 "final_u": final_u, "final_lyapunov": final_lyap, "final_ms_radius": final_ms,
                 "sharpness_u0": sharpness_u0, "final_sharpness": final_sharpness,
                 "normalized_sam": {"lr": lr_n, "rho": rho_n, "steps_to_leave": steps_to_leave,
                                    "final_u": norm_run.x[:, 0], "final_sharpness": norm_final},
                 "note": ("mean-square radius > 1 at the landing points while the Lyapunov exponent is < 0: "
                          "E[L] would grow, yet every sample path converges")},
    )


# ---------------------------------------------------------------------------------------------- 5. P3 Thm 4.1 / 4.2
def _random_hessian_sets(count: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n, d = int(rng.integers(2, 6)), int(rng.integers(1, 4))
        if rng.random() < 0.5:
            g = rng.standard_normal((n, d))
            yield np.einsum("ni,nj->nij", g, g) * rng.uniform(0.3, 3.0)
        else:
            a = rng.standard_normal((n, d, d))
            yield np.einsum("nij,nkj->nik", a, a) / d


@claim("linear_stability_inequality", "P3 Thm 4.1, 4.2")
def _linear_stability_inequality():
    """P3 Theorems 4.1 and 4.2: at an interpolating minimum with per-sample Hessians H_i: if SGD or P3's SAM (USAM) is linearly
    (mean-square) stable, then ||H||_F^2 (1 + rho^2 gamma ||H||_F^2 / B) <= B/(lr^2 gamma) (rho = 0 for SGD); when
    the inequality fails, E[L_t] >= C^t E[L_0] with C = lr^2 gamma lhs / B > 1. The Lyapunov exponent is reported:
    mean-square instability need not make sample paths escape."""
    # (a) exhaustive: stable => inequality, violated => radius >= C
    cases = stable = counter_stable = counter_growth = violated = 0
    for hess in _random_hessian_sets(40, seed=2024):
        lam = float(np.linalg.eigvalsh(hess.mean(axis=0))[-1])
        for lr in np.array([0.2, 0.6, 1.0, 1.4, 1.8, 2.4]) / lam:
            for rho in (0.0, 0.3 / lam, 1.0 / lam):
                for batch in (1, 2):
                    ms = mean_square_radius(hess, lr, rho, batch)
                    ineq = (usam_stability_inequality(hess, lr, rho, batch) if rho > 0
                            else sgd_stability_inequality(hess, lr, batch))
                    cases += 1
                    stable += ms.stable
                    counter_stable += ms.stable and not ineq.holds
                    if not ineq.holds:
                        violated += 1
                        counter_growth += ms.radius < ineq.growth_factor * (1 - 1e-9)
    # (b) one violated case, simulated: Monte Carlo E[L_t] against C^t L_0
    g = np.array([[1.0, 0.2], [0.3, -0.9], [-0.6, 0.5], [0.1, 1.2]])
    hess = np.einsum("ni,nj->nij", g, g)
    rho = 0.2
    gamma = alignment_gamma(hess)
    frob2 = float(np.sum(hess.mean(axis=0) ** 2))
    lr = 1.25 * math.sqrt(1.0 / (gamma * frob2 * (1 + rho**2 * gamma * frob2)))  # 1.25 x the equality point, B = 1
    ineq = usam_stability_inequality(hess, lr, rho, 1)
    ms = mean_square_radius(hess, lr, rho, 1)
    lyap = lyapunov_exponent(hess, lr, rho, 1, steps=4000)
    land = quadratic_finite_sum(hess)
    x0 = np.linalg.eigh(hess.mean(axis=0))[1][:, -1]
    paths, horizon = 4000, 12
    run = simulate(land, USAM(lr, rho, batch_size=1), np.tile(x0, (paths, 1)), horizon, every=1, seed=3)
    losses = run.loss  # (t, paths)
    mean, se = losses.mean(axis=1), losses.std(axis=1, ddof=1) / math.sqrt(paths)
    bound = ineq.growth_factor ** np.arange(horizon + 1) * losses[0, 0]
    growth_ok = bool(np.all(mean + 3 * se >= bound))
    observed_c = float((mean[-1] / mean[0]) ** (1 / horizon))
    # (c) mean-square unstable, Lyapunov < 0: the fraction of shrinking paths is a binomial probability
    h1 = np.array([[[0.9]], [[2.5]]])
    ms1, lyap1 = mean_square_radius(h1, 1.0, 0.0, 1), lyapunov_exponent(h1, 1.0, 0.0, 1)
    n_steps, n_paths, shrink = 60, 1000, 1e-6
    # |x_T| < shrink |x_0| iff k log 1.5 + (T - k) log 0.1 < log shrink, k = number of draws of sample 2
    k_max = math.floor((math.log(shrink) - n_steps * math.log(0.1)) / (math.log(1.5) - math.log(0.1)) - 1e-12)
    p_shrink = float(binom.cdf(k_max, n_steps, 0.5))
    run1 = simulate(quadratic_finite_sum(h1), SGD(1.0, 1), np.ones((n_paths, 1)), n_steps, every=n_steps, seed=5)
    frac = float(np.mean(np.abs(run1.x[:, 0]) < shrink))
    grew = int(np.sum(np.abs(run1.x[:, 0]) > 1.0))
    frac_ok = abs(frac - p_shrink) <= 4 * math.sqrt(p_shrink * (1 - p_shrink) / n_paths) + 1e-12
    agrees = bool(counter_stable == 0 and counter_growth == 0 and growth_ok and not ineq.holds
                  and not ms.stable and frac_ok)
    return _Outcome(
        hypotheses={"simulated case violates the inequality (C > 1)": not ineq.holds and ineq.growth_factor > 1,
                    "1-D case: mean-square unstable with Lyapunov < 0": (not ms1.stable) and lyap1.exponent < 0},
        predicted=(f"stable=>ineq ({cases} cases); E[L_t]>={fmt(ineq.growth_factor)}^t L0; "
                   f"{fmt(100 * p_shrink, 3)}% paths shrink"),
        observed=(f"{counter_stable} counterexamples; growth {fmt(observed_c)}/step (MS radius {fmt(ms.radius)}, "
                  f"Lyap {fmt(lyap.exponent, 2)}); MS-unstable 1-D case (radius {fmt(ms1.radius, 3)}, Lyap "
                  f"{fmt(lyap1.exponent, 2)}): {fmt(100 * frac, 3)}% of paths shrink, {grew} grow"),
        tolerance="no counterexample; Monte Carlo mean + 3 SE >= bound at every t; fraction within 4 SE",
        agrees=agrees,
        method="NumPy/SciPy: gamma (generalized eigenproblem), exact batch-law mean-square radii; SciPy: binomial law",
        details={"cases": cases, "mean_square_stable_cases": stable, "violated_cases": violated,
                 "stable_but_violated": counter_stable, "violated_but_radius_below_C": counter_growth,
                 "simulated": {"lr": lr, "rho": rho, "gamma": gamma, "lhs": ineq.lhs, "rhs": ineq.rhs,
                               "C": ineq.growth_factor, "ms_radius": ms.radius, "lyapunov": lyap.exponent,
                               "lyapunov_stderr": lyap.stderr, "mc_mean_loss": mean, "bound": bound},
                 "plain_statement": (f"1-D H = (0.9, 2.5), lr = 1, SGD: mean-square radius {ms1.radius:.4g} > 1 "
                                     f"(E[L] grows) but Lyapunov exponent {lyap1.exponent:.4g} < 0: {100 * frac:.1f}% "
                                     f"of {n_paths} paths shrank by 1e-6 in {n_steps} steps (binomial law: "
                                     f"{100 * p_shrink:.1f}%)")},
    )


# ---------------------------------------------------------------------------------------------- 6. P3 Prop 4.1
@claim("valley_confinement", "P3 Prop 4.1")
def _valley_confinement():
    """P3 Proposition 4.1: in a 1-D valley (Definition 4.2) with lr < min_V b/|L'| and rho <= min{1/a, lr min |L'(2z)/L'(z)|}, full-batch
    SAM started in (-b, b) stays in V = [-2b, 2b] for all steps; P3's theory is for the unnormalized SAM, which is
    simulated (normalized SAM is run beside it). Confinement does not need a stable bottom: the tanh valley meets
    the conditions with an unstable bottom, and a Huber valley outside them stays confined as the sharper test
    S <= 2b predicts."""
    cases = []
    for name, params in (("logcosh_valley", {"a": 1.0, "b": 1.0}), ("tanh_valley", {"k": 1.0})):
        land = landscapes.get(name, **params)
        a, b = land.params["a"], land.params["b"]
        probe = valley_conditions(land, a, b, 1.0, 0.0)
        lr = 0.95 * probe.lr_bound.value
        cond = valley_conditions(land, a, b, lr, 0.0)
        cond = valley_conditions(land, a, b, lr, cond.rho_bound)
        cases.append((name, land, cond, True))
    huber = landscapes.get("huber_valley", a=1.0, b=1.0)
    cases.append(("huber_valley", huber, valley_conditions(huber, 1.0, 1.0, 1.8, 0.5), False))
    hypotheses, rows, details, agrees = {}, [], {}, True
    for name, land, cond, stated in cases:
        b = cond.b
        starts = np.linspace(-b, b, 203)[1:-1, None]
        worst = {}
        for label, opt in (("usam", USAM(cond.lr, cond.rho)), ("sam", SAM(cond.lr, cond.rho))):
            run = simulate(land, opt, starts, 300, every=1, seed=0)
            worst[label] = float(np.max(np.abs(run.xs)) / (2 * b))
            worst[label + "_final_median"] = float(np.median(np.abs(run.x)))
        if stated:
            hypotheses[f"{name}: Prop 4.1 hypotheses hold"] = cond.hypotheses_hold
            predicted_confined = True
        else:
            hypotheses[f"{name}: stated conditions fail, S <= 2b holds"] = (not cond.hypotheses_hold) and cond.invariant_usam
            predicted_confined = cond.invariant_usam
        confined = worst["usam"] <= 1 + 1e-12 and (worst["sam"] <= 1 + 1e-12 or not cond.invariant_sam)
        agrees &= confined == predicted_confined
        if not cond.bottom_stable_usam:
            # an unstable bottom means USAM keeps moving: confinement, not convergence
            agrees &= worst["usam_final_median"] > 1e-3
        rows.append(f"{name.split('_')[0]} {fmt(worst['usam'], 3)}/{fmt(worst['sam'], 3)}"
                    + ("*" if not cond.bottom_stable_usam else ""))
        details[name] = {"lr": cond.lr, "rho": cond.rho, "a": cond.a, "b": b, "lr_bound": cond.lr_bound.value,
                         "lr_bound_method": cond.lr_bound.method, "ratio_min": cond.ratio_min.value,
                         "ratio_method": cond.ratio_min.method, "rho_bound": cond.rho_bound,
                         "S_usam": cond.invariance_usam.value, "S_sam": cond.invariance_sam.value,
                         "bottom_stable_usam": cond.bottom_stable_usam,
                         "definition": {k: v[1] for k, v in cond.definition.items()},
                         "max_abs_z_over_2b": worst}
    return _Outcome(
        hypotheses=hypotheses,
        predicted="max|z_t|/2b <= 1 for 201 starts in (-b, b), every case",
        observed="max|z|/2b USAM/SAM: " + ", ".join(rows) + " (*unstable bottom)",
        tolerance="exact inequality (1e-12 rounding); unstable bottom: median final |z| > 1e-3",
        agrees=bool(agrees),
        method="SymPy: evenness, L(0), L''(0), candidate extrema and one-sided limits; NumPy/SciPy: grids, S, simulation",
        details=details,
    )


# ---------------------------------------------------------------------------------------------- 7. P3 Thm 4.3
@claim("pl_convergence", "P3 Thm 4.3")
def _pl_convergence():
    """P3 Theorem 4.3: under PL (mu), L-smoothness and gradient noise sigma^2, with lr <= min{1/L, mu B/(2 L sigma^2)} and
    rho <= min{1/L, mu B/(4 L sigma^2), lr mu^2/(24 L^2)}, stochastic SAM (P3's unnormalized form) satisfies
    E[L(x_t)] <= (1 - lr mu/2)^t L(x_0); the Monte Carlo mean of L over independent paths stays under that bound."""
    # rank-one data terms plus a ridge: PL holds, and the noise bound mu B/(2 L sigma^2) is the binding one
    g = np.array([[1.0, 0.2], [0.3, -0.9], [-0.6, 0.5], [0.1, 1.2]])
    hess = np.einsum("ni,nj->nij", g, g) + 0.2 * np.eye(2)
    probe = pl_conditions(hess, 1.0, 0.0, 1)
    lr = probe.lr_max
    cond = pl_conditions(hess, lr, 0.0, 1)
    cond = pl_conditions(hess, lr, cond.rho_max, 1)
    rho = cond.rho_max
    land = quadratic_finite_sum(hess)
    paths, steps = 1000, 300
    run = simulate(land, USAM(lr, rho, batch_size=1), np.tile([1.0, 1.0], (paths, 1)), steps, every=5, seed=0)
    mean = run.loss.mean(axis=1)
    se = run.loss.std(axis=1, ddof=1) / math.sqrt(paths)
    bound = cond.rate ** run.steps * run.loss[0, 0]
    # t = 0 is equality by construction; the closest approach after it is the informative number
    worst = float(np.max((mean[1:] - 3 * se[1:]) / bound[1:]))
    return _Outcome(
        hypotheses={"Thm 4.3 step-size conditions hold": cond.holds, "PL: mu > 0": cond.mu > 0,
                    "the noise term binds: lr_max < 1/L": cond.lr_max < 1.0 / cond.smoothness},
        predicted=f"E[L_t] <= {fmt(cond.rate, 6)}^t L_0 for t <= {steps}",
        observed=f"max (mean - 3SE)/bound = {fmt(worst, 3)}; final mean/bound {fmt(mean[-1] / bound[-1], 3)}",
        tolerance="<= 1 (3 standard errors of the Monte Carlo mean over 1000 paths)",
        agrees=worst <= 1.0 + 1e-12,
        method="NumPy/SciPy: mu, L, sigma^2 (eigenvalues, generalized eigenproblem; sigma^2 is a [working def]), simulation",
        details={"mu": cond.mu, "smoothness": cond.smoothness, "sigma2": cond.sigma2, "lr": lr, "rho": rho,
                 "rate": cond.rate, "mc_mean_over_bound": mean / bound},
    )


# ---------------------------------------------------------------------------------------------- 8. P1
@functools.lru_cache(maxsize=None)
def _double_well(c: float):
    """The catalog's tilted double well (built once per ``c``; three P1 claims use it)."""
    return landscapes.get("double_well", c=c)


@functools.lru_cache(maxsize=None)
def _double_well_window(c: float):
    """The tilted double well's narrow minimizer ``m2``, the maximizer ``M`` beside it, and their hallucination
    window (computed once per ``c``)."""
    land = _double_well(c)
    minima = land.minimizers[:, 0]
    maximum = float(land.maximizers[0, 0])
    narrow = float(minima[np.argmin(np.abs(minima - maximum))])
    return narrow, maximum, hallucination_window(land, narrow, maximum)


@claim("hallucination_window", "P1 (existence)")
def _hallucination_window():
    """P1 (existence of hallucinated minimizers; THEORY.md section 5 [derived] 1-D window): in 1-D, a minimizer m2 with an adjacent maximizer M has a hallucinated SAM fixed point m2 - rho*sign(m2 - M)
    (gradient nonzero, ascent point exactly m2) exactly for rho inside the window (|m2 - M|, |m2 - m1|); SAM started
    next to it with a stable step converges to it inside the window and not outside."""
    land = _double_well(0.3)
    m2, big_m, window = _double_well_window(0.3)
    lr = 0.5 * window.lr_threshold
    side = float(np.sign(m2 - big_m))
    width = window.hi - window.lo
    rhos = [0.6 * window.lo] + [window.lo + f * width for f in (0.1, 0.5, 0.9, 1.3)]
    found_ok, sim_ok, rows = True, True, []
    for rho in rhos:
        inside = window.lo < rho < window.hi
        target = m2 - rho * side
        search = find_hallucinated(land, rho, [[-3.0, 3.0]])
        found = any(abs(p.x_plus[0] - m2) < 1e-9 and abs(p.x[0] - target) < 1e-9 for p in search.points)
        run = simulate(land, SAM(lr, rho), np.array([[target + 1e-3]]), 400, every=399, seed=0)
        # the same classification as the basin maps: at rest where grad f != 0, and its ascent point is m2
        hallucinated = classify_fates(run, backend="numpy")[0] == "hallucinated"
        converged = bool(hallucinated and abs(sam_ascent(land, run.x, rho)[0, 0] - m2) < 1e-6)
        found_ok &= found == inside
        sim_ok &= converged == inside
        rows.append(f"{fmt(rho, 3)}:{'y' if converged else 'n'}")
    return _Outcome(
        hypotheses={"m2 is a minimizer, M an adjacent maximizer (critical points by SymPy)": window.curvature > 0,
                    "lr < 2/f''(m2): the point attracts": lr < window.lr_threshold},
        predicted=f"exists iff rho in ({fmt(window.lo)}, {fmt(window.hi)})",
        observed="SAM converges there: " + " ".join(rows),
        tolerance="exact agreement at 5 values of rho (search and simulation)",
        agrees=bool(found_ok and sim_ok),
        method="SymPy: critical points (polynomial f'); NumPy: fixed-point search, simulation",
        details={"m2": m2, "M": big_m, "window": [window.lo, window.hi], "lr": lr, "rhos": rhos,
                 "search_agrees": found_ok, "simulation_agrees": sim_ok},
    )


@claim("hallucination_attraction", "P1 (attractors)")
def _hallucination_attraction():
    """P1 (hallucinated minimizers can be attractors; THEORY.md section 5 [derived] stability): a hallucinated point attracts SAM exactly when the spectral radius of SAM's Jacobian there (directions along
    a manifold of such points excluded) is below 1: SAM from nearby starts converges to it for a step below the
    threshold 2/f''(x+) and not above, both for an isolated point in 1-D and for a circle of them in 2-D."""
    rows, agrees, details = [], True, {}
    # 1-D: tilted double well
    land = _double_well(0.3)
    m2, big_m, window = _double_well_window(0.3)
    rho = 0.5 * (window.lo + window.hi)
    point = window.point(rho)
    offsets = np.concatenate([np.geomspace(1e-4, 1e-2, 8), -np.geomspace(1e-4, 1e-2, 8)])
    for factor in (0.8, 1.2):
        lr = factor * window.lr_threshold
        stable = bool(fixed_point_stability(land, SAM(lr, rho), np.array([point])).stable)
        run = simulate(land, SAM(lr, rho), point + offsets[:, None], 500, every=500, seed=0)
        frac = float(np.mean(np.abs(run.x[:, 0] - point) < 1e-9))
        agrees &= (frac == 1.0) if stable else (frac == 0.0)
        rows.append(f"1D {factor}x: {'stable' if stable else 'unstable'} {fmt(frac, 2)}")
        details[f"1d_{factor}"] = {"lr": lr, "rho": rho, "point": point, "stable": stable, "converged_fraction": frac}
    # 2-D: the ring valley's circle of hallucinated points at radius rho - R
    ring = landscapes.get("p1_figure", radius=1.0, height=1.0)
    r_sym = sp.Symbol("r", positive=True)
    t_sym = r_sym**2
    profile = (t_sym - 1) ** 2 / (1 + t_sym)
    radial_curvature = sp.simplify(sp.diff(profile, r_sym, 2).subs(r_sym, 1))
    lr_threshold = gd_lr_edge(float(radial_curvature))
    rho2 = 1.5
    angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    radii = (rho2 - 1.0) + np.where(np.arange(12) % 2, 1e-2, -1e-2)
    starts = np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=-1)
    for factor in (0.8, 1.2):
        lr = factor * lr_threshold
        search = find_hallucinated(ring, rho2, ring.window, lr=lr)
        on_circle = [p for p in search.points if abs(np.linalg.norm(p.x) - (rho2 - 1.0)) < 1e-6]
        stable = bool(on_circle) and all(p.stable for p in on_circle)
        run = simulate(ring, SAM(lr, rho2), starts, 800, every=800, seed=0)
        frac = float(np.mean(np.abs(np.linalg.norm(run.x, axis=-1) - (rho2 - 1.0)) < 1e-9))
        agrees &= bool(on_circle) and all(p.manifold_dim == 1 for p in on_circle)
        agrees &= (frac == 1.0) if stable else (frac == 0.0)
        rows.append(f"2D {factor}x: {'stable' if stable else 'unstable'} {fmt(frac, 2)}")
        details[f"2d_{factor}"] = {"lr": lr, "rho": rho2, "circle_points_found": len(on_circle), "stable": stable,
                                   "converged_fraction": frac,
                                   "transverse_radius": on_circle[0].spectral_radius if on_circle else None}
    return _Outcome(
        hypotheses={"1-D rho inside the window": window.lo < rho < window.hi,
                    f"2-D radial curvature at the minimizer circle = {radial_curvature} (SymPy)":
                        abs(float(radial_curvature) - 4.0) < 1e-12},
        predicted=f"converge iff stable; thresholds lr = {fmt(window.lr_threshold)} (1-D), {fmt(lr_threshold)} (2-D)",
        observed="; ".join(rows),
        tolerance="all 16 (1-D) / 12 (2-D) nearby starts converge when stable, none when not",
        agrees=bool(agrees),
        method="SymPy: critical points, radial curvature; NumPy: Jacobians (exact Hessians), search, simulation",
        details=details,
    )


@claim("warm_start", "P1 (remedy)")
def _warm_start():
    """P1 (the warm-start remedy): a short GD warm start (the first 10 % of the steps) before SAM lowers the fraction of random starts that end
    at hallucinated points, when SAM also has an attractor at a real minimum (tilted double well); on the ring
    valley, where the hallucinated circle is SAM's only attractor for this rho, both fractions are reported."""
    rows, details = [], {}
    fractions = {}
    for label, land, rho, lr in (
        ("double well", _double_well(0.3), 0.6, 0.1),
        ("ring", landscapes.get("p1_figure"), 1.5, 0.1),
    ):
        starts = land.random_points(400, seed=3)
        steps = 300
        counts = {}
        for mode, opt in (("plain", SAM(lr, rho)), ("warm", Switch(GD(lr), SAM(lr, rho), at=steps // 10))):
            run = simulate(land, opt, starts, steps, every=steps - 1, seed=0)
            counts[mode] = float(np.mean(classify_fates(run, backend="numpy") == "hallucinated"))
            # an exact floating-point zero gradient freezes SAM (no perturbation): flagged, never counted as success
            counts[mode + "_frozen_at_zero_gradient"] = int(np.sum(np.all(land.grad(run.xs[-1]) == 0, axis=-1)))
        fractions[label] = counts
        rows.append(f"{label} {fmt(counts['plain'], 3)} -> {fmt(counts['warm'], 3)}")
        details[label] = {"rho": rho, "lr": lr, **counts}
    dw = fractions["double well"]
    agrees = dw["warm"] < dw["plain"] and dw["warm_frozen_at_zero_gradient"] == 0
    return _Outcome(
        hypotheses={"double well: rho inside the hallucination window of its narrow minimizer":
                        _inside_window(0.3, 0.6)},
        predicted="warm-start fraction < plain SAM fraction (double well)",
        observed="hallucinated fraction plain -> warm: " + ", ".join(rows),
        tolerance="strictly lower, with no start frozen at an exact zero gradient",
        agrees=bool(agrees),
        method="NumPy: simulation of 400 seeded random starts per case",
        details=details,
    )


def _inside_window(c: float, rho: float) -> bool:
    window = _double_well_window(c)[2]
    return window.lo < rho < window.hi


# ---------------------------------------------------------------------------------------------- 9. P2 Thm 4.5 / 5.4
@claim("manifold_drift", "P2 Thm 4.5, 5.4")
def _manifold_drift():
    """P2 Theorems 4.5 (full-batch SAM) and 5.4 (1-SAM), with THEORY.md's [derived] finite-lr factor: on L = (a1(x) y1^2 + a2(x) y2^2)/2 with a line of minimizers y = 0: full-batch SAM drifts along it at
    -(lr rho^2/2) d lambda_1/dx [2/(2 - lr lambda_1)]^2 per step to the minimizer of lambda_1; 1-SAM (batch 1 of the
    rank-one samples) drifts to the minimizer of the trace (shifted at finite lr by the per-sample factors); GD
    does not drift beyond an O(y0^2) settling move, and USAM settles on the line and freezes."""
    land = landscapes.get("eigen_manifold")
    params = land.params
    lr, rho = 0.1, 0.1
    x0 = np.array([-0.5, 0.05, 0.05])
    sam = simulate(land, SAM(lr, rho), x0, 6000, every=10, seed=0)
    xs = sam.xs[:, 0, 0]
    i, j = 100, 120  # steps 1000 and 1200
    observed_v = (xs[j] - xs[i]) / (sam.steps[j] - sam.steps[i])
    predicted_v = float(manifold_drift(land, np.array([0.5 * (xs[i] + xs[j]), 0, 0]), lr, rho).velocity[0])
    rate_err = abs(observed_v / predicted_v - 1)
    sam_end = float(xs[-1])
    # 1-SAM on the finite-sum version: predicted endpoint = zero of the predicted drift (finite-lr factors included)
    land_sum = landscapes.get("eigen_manifold_sum")
    drift_at = lambda x: float(manifold_drift(land_sum, np.array([x, 0, 0]), lr, rho, method="1-sam").velocity[0])
    lo, hi = params["argmin_trace"] - 0.5, params["argmin_lambda1"] - 1e-3
    one_sam_target = brentq(drift_at, lo, hi, xtol=1e-12)
    paths = 16
    one = simulate(land_sum, SAM(lr, rho, batch_size=1), np.tile(x0, (paths, 1)), 5000, every=50, seed=1)
    tail = one.xs[-20:, :, 0]
    one_sam_end = float(tail.mean())
    one_sam_se = float(tail.mean(axis=0).std(ddof=1) / math.sqrt(paths))
    rank_one = manifold_drift(land_sum, np.array([0.0, 0, 0]), lr, rho, method="1-sam").rank_one
    # GD: total move bounded by sum_k |a_k'| y_k0^2 / (2 a_k (2 - lr a_k)) (geometric decay of y_k)
    gd = simulate(land, GD(lr), x0, 3000, every=3000, seed=0)
    gd_move = abs(float(gd.x[0, 0] - x0[0]))
    a1 = params["c1"] + (x0[0] - params["m1"]) ** 2
    a2 = params["c2"] + params["s"] * (x0[0] - params["m2"]) ** 2
    da1, da2 = 2 * (x0[0] - params["m1"]), 2 * params["s"] * (x0[0] - params["m2"])
    gd_bound = sum(abs(d) * y**2 / (2 * a * (2 - lr * a)) for d, a, y in ((da1, a1, x0[1]), (da2, a2, x0[2])))
    usam = simulate(land, USAM(lr, rho), x0, 3000, every=1500, seed=0)
    usam_late_move = abs(float(usam.xs[-1, 0, 0] - usam.xs[-2, 0, 0]))
    agrees = bool(
        rate_err <= 0.01
        and abs(sam_end - params["argmin_lambda1"]) <= 5e-3
        and abs(one_sam_end - one_sam_target) <= 4 * one_sam_se + 2e-3
        and gd_move <= 1.5 * gd_bound
        and usam_late_move <= 1e-10
    )
    return _Outcome(
        hypotheses={"lambda_1 > lambda_2 on the window (catalog check)": params["c1"] > params["c2"],
                    "1-SAM samples are rank one on the line": rank_one,
                    "lr lambda_1 < 2 at the start (2-cycle exists)": a1 < gd_threshold(lr)},
        predicted=(f"SAM v={fmt(predicted_v)}, -> x={fmt(params['argmin_lambda1'])}; 1-SAM -> "
                   f"{fmt(one_sam_target)} (Tr min {fmt(params['argmin_trace'])}); GD |dx|<={fmt(gd_bound, 2)}; USAM frozen"),
        observed=(f"v={fmt(observed_v)}, x={fmt(sam_end)}; 1-SAM {fmt(one_sam_end)}+-{fmt(one_sam_se, 1)}; "
                  f"GD {fmt(gd_move, 2)}; USAM late {fmt(usam_late_move, 1)}"),
        tolerance="rate 1%; SAM end 5e-3; 1-SAM 4 SE + 2e-3; GD 1.5x bound; USAM <= 1e-10",
        agrees=agrees,
        method="SymPy: third derivatives in the drift; NumPy/SciPy: eigenvectors, root of the drift, simulation",
        details={"lr": lr, "rho": rho, "predicted_velocity": predicted_v, "observed_velocity": observed_v,
                 "rate_relative_error": rate_err, "sam_end": sam_end, "one_sam_target_finite_lr": one_sam_target,
                 "argmin_trace": params["argmin_trace"], "one_sam_end": one_sam_end, "one_sam_se": one_sam_se,
                 "gd_move": gd_move, "gd_bound": gd_bound, "usam_end": float(usam.x[0, 0]),
                 "usam_late_move": usam_late_move},
    )


# ---------------------------------------------------------------------------------------------- 10. P2 sharpness limits
@claim("sharpness_limits", "P2 Sec 2 (R^Max, R^Avg)")
def _sharpness_limits():
    """P2 section 2 (sharpness notions and their limits on the manifold): on the minimizer manifold, R^Max_rho -> rho^2 lambda_1 / 2 and R^Avg_rho -> rho^2 Tr / (2d), with a relative
    error that shrinks as rho shrinks (by about half per halving for R^Max, whose rho^3 term survives, and about a
    quarter for R^Avg, whose rho^3 term averages out here). R^Avg is also estimated from the simulator's own random
    directions (what RandomSAM samples) and must agree with the quadrature."""
    land = landscapes.get("eigen_manifold")
    x = np.array([-0.5, 0.0, 0.0])
    eig = _sympy_hessian_at(land, x).eigenvals()
    lam1_exact = max(eig, key=lambda e: float(e))
    trace_exact = sum(k * m for k, m in eig.items())
    rhos = (0.2, 0.1, 0.05)
    errors = {"max": [], "avg": []}
    limits_ok = True
    for rho in rhos:
        limits = manifold_sharpness_limits(land, x, rho)
        exact = {"max": float(rho**2 * lam1_exact / 2), "avg": float(rho**2 * trace_exact / (2 * land.dim))}
        for kind in ("max", "avg"):
            value = sharpness(land, x, rho, kind).value
            errors[kind].append(abs(value / exact[kind] - 1))
            limits_ok &= abs(limits[kind] - exact[kind]) <= 1e-12 * exact[kind]
    ratios = {k: [errors[k][i + 1] / errors[k][i] for i in range(len(rhos) - 1)] for k in errors}
    directions = draws.unit_directions(0, np.arange(40_000), 0, land.dim)
    samples = land.value(x + rhos[0] * directions) - land.value(x)
    mc_mean, mc_se = float(samples.mean()), float(samples.std(ddof=1) / math.sqrt(len(samples)))
    quad = sharpness(land, x, rhos[0], "avg")
    mc_agrees = abs(mc_mean - quad.value) <= 4 * mc_se + quad.error
    agrees = bool(all(r <= 0.6 for r in ratios["max"]) and all(r <= 0.35 for r in ratios["avg"])
                  and errors["max"][-1] < 0.05 and errors["avg"][-1] < 1e-3 and mc_agrees and limits_ok)
    return _Outcome(
        hypotheses={f"on Gamma: grad L = 0, lambda_1 = {lam1_exact}, Tr = {trace_exact} (SymPy)":
                        float(np.linalg.norm(land.grad(x))) == 0.0},
        predicted="rel. error shrinks ~x1/2 (max), ~x1/4 (avg) per halving of rho",
        observed=("max err " + "/".join(fmt(e, 2) for e in errors["max"]) + "; avg err "
                  + "/".join(fmt(e, 2) for e in errors["avg"]) + f"; MC-vs-quadrature {'ok' if mc_agrees else 'off'}"),
        tolerance="ratios <= 0.6 (max), <= 0.35 (avg); MC within 4 SE",
        agrees=agrees,
        method="SymPy: lambda_1 and Tr on Gamma; SciPy SLSQP (max), sphere quadrature and Monte Carlo (avg)",
        details={"rhos": rhos, "relative_errors": errors, "error_ratios": ratios, "mc_mean": mc_mean,
                 "mc_stderr": mc_se, "quadrature": quad.value, "quadrature_error": quad.error},
    )


# ---------------------------------------------------------------------------------------------- report
def format_table(results, *, wrap: int = 40) -> str:
    """A plain-text table of claim results: claim, paper, hypotheses, predicted, observed, verdict.

    Long cells wrap at ``wrap`` characters onto continuation lines; a footer counts passes and failures.
    """
    import textwrap

    wrap = positive_int(wrap, "wrap")
    headers = ("claim", "paper", "hypotheses", "predicted", "observed", "verdict")
    rows = []
    for r in results:
        held = sum(bool(v) for v in r.hypotheses.values())
        hyp = f"{held}/{len(r.hypotheses)} hold"
        if held < len(r.hypotheses):
            hyp += ": not " + next(k for k, v in r.hypotheses.items() if not v)
        cells = (r.name, r.paper, hyp, r.predicted, r.observed, "PASS" if r.passed else "FAIL")
        rows.append([textwrap.wrap(c, wrap) or [""] for c in cells])
    widths = [max([len(h)] + [len(line) for row in rows for line in row[i]]) for i, h in enumerate(headers)]
    fmt_line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = [fmt_line(headers), fmt_line(["-" * w for w in widths])]
    for row in rows:
        for k in range(max(len(cell) for cell in row)):
            out.append(fmt_line([cell[k] if k < len(cell) else "" for cell in row]))
    failed = [r.name for r in results if not r.passed]
    total = sum(r.seconds for r in results)
    out.append("")
    out.append(f"{len(results)} claims: {len(results) - len(failed)} passed, {len(failed)} failed"
               + (f" ({', '.join(failed)})" if failed else "") + f"; {total:.1f} s")
    return "\n".join(out)
