"""Claims of P2, Wen, Ma & Li 2023 (ICLR 2023, arXiv:2211.05729): how SAM minimizes sharpness, by a period-2
bounce on a quadratic and a drift along a manifold of minimizers toward smaller lambda_1 (full batch) or trace
(1-SAM), and the limits of its sharpness notions on that manifold."""

from __future__ import annotations

import math

import numpy as np
import sympy as sp
from scipy.optimize import brentq

from ... import landscapes
from ...dynamics import GD, SAM, USAM, draws
from .._common import fmt
from ..sharpness import manifold_drift, manifold_sharpness_limits, sharpness
from ..stability import gd_threshold, sam_two_cycle
from ._tools import simulate, sympy_hessian_at
from .registry import Outcome, cite, claim, derived


@claim("sam_quadratic_cycle", cite("P2", "Thm 4.8"))
def _sam_quadratic_cycle():
    """Normalized full-batch SAM on a quadratic with a unique top eigenvalue and lr*lambda_1 < 1 aligns with the
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
    return Outcome(
        hypotheses={"unique top eigenvalue": eig[-1] > eig[-2], "lr*lambda_1 < 1": lr * lam1 < 1,
                    f"radius = {predicted_exact} (SymPy) equals sam_two_cycle": abs(float(predicted_exact) - predicted) < 1e-15},
        checks={"every final ||x|| matches the cycle radius within 1e-6 relative": np.max(rel_err) <= 1e-6,
                "every final x lies along v_1 (1 - |cos| <= 1e-6)": np.max(misalignment) <= 1e-6,
                "every path bounces: ||x_t+1 + x_t|| <= 1e-6 ||x_t||": np.max(bounce) <= 1e-6},
        predicted=f"||x|| -> {fmt(predicted, 6)}, along v_1, x_t+1 = -x_t",
        observed=f"max rel err {fmt(np.max(rel_err), 2)}, 1-|cos| {fmt(np.max(misalignment), 2)} (16 starts)",
        tolerance="1e-6 relative",
        method="SymPy: cycle radius; NumPy: simulation",
        details={"lr": lr, "rho": rho, "lambda_1": lam1, "predicted_radius": predicted, "final_norms": norms,
                 "max_misalignment": float(np.max(misalignment)), "max_bounce_error": float(np.max(bounce))},
    )


@claim("manifold_drift", cite("P2", "Thm 4.5 (SAM), Thm 5.4 (1-SAM)"),
       derived("P2", "finite-lr factor"))
def _manifold_drift():
    """On L = (a1(x) y1^2 + a2(x) y2^2)/2 with a line of minimizers y = 0: full-batch SAM drifts along it at
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
    return Outcome(
        hypotheses={"lambda_1 > lambda_2 on the window (catalog check)": params["c1"] > params["c2"],
                    "1-SAM samples are rank one on the line": rank_one,
                    "lr lambda_1 < 2 at the start (2-cycle exists)": a1 < gd_threshold(lr)},
        checks={"SAM's drift rate matches the predicted one within 1%": rate_err <= 0.01,
                "SAM ends within 5e-3 of the minimizer of lambda_1": abs(sam_end - params["argmin_lambda1"]) <= 5e-3,
                "1-SAM ends within 4 standard errors + 2e-3 of the zero of its predicted drift":
                    abs(one_sam_end - one_sam_target) <= 4 * one_sam_se + 2e-3,
                "GD moves along the line by at most 1.5 x the settling bound": gd_move <= 1.5 * gd_bound,
                "USAM is frozen late (last recorded move <= 1e-10)": usam_late_move <= 1e-10},
        predicted=(f"SAM v={fmt(predicted_v)}, -> x={fmt(params['argmin_lambda1'])}; 1-SAM -> "
                   f"{fmt(one_sam_target)} (Tr min {fmt(params['argmin_trace'])}); GD |dx|<={fmt(gd_bound, 2)}; USAM frozen"),
        observed=(f"v={fmt(observed_v)}, x={fmt(sam_end)}; 1-SAM {fmt(one_sam_end)}+-{fmt(one_sam_se, 1)}; "
                  f"GD {fmt(gd_move, 2)}; USAM late {fmt(usam_late_move, 1)}"),
        tolerance="rate 1%; SAM end 5e-3; 1-SAM 4 SE + 2e-3; GD 1.5x bound; USAM <= 1e-10",
        method="SymPy: third derivatives in the drift; NumPy/SciPy: eigenvectors, root of the drift, simulation",
        details={"lr": lr, "rho": rho, "predicted_velocity": predicted_v, "observed_velocity": observed_v,
                 "rate_relative_error": rate_err, "sam_end": sam_end, "one_sam_target_finite_lr": one_sam_target,
                 "argmin_trace": params["argmin_trace"], "one_sam_end": one_sam_end, "one_sam_se": one_sam_se,
                 "gd_move": gd_move, "gd_bound": gd_bound, "usam_end": float(usam.x[0, 0]),
                 "usam_late_move": usam_late_move},
    )


@claim("sharpness_limits", cite("P2", "Sec 2, limits of R^Max, R^Avg"))
def _sharpness_limits():
    """On the minimizer manifold, R^Max_rho -> rho^2 lambda_1 / 2 and R^Avg_rho -> rho^2 Tr / (2d), with a relative
    error that shrinks as rho shrinks (by about half per halving for R^Max, whose rho^3 term survives, and about a
    quarter for R^Avg, whose rho^3 term averages out here). R^Avg is also estimated from the simulator's own random
    directions (what RandomSAM samples) and must agree with the quadrature."""
    land = landscapes.get("eigen_manifold")
    x = np.array([-0.5, 0.0, 0.0])
    eig = sympy_hessian_at(land, x).eigenvals()
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
    return Outcome(
        hypotheses={f"on Gamma: grad L = 0, lambda_1 = {lam1_exact}, Tr = {trace_exact} (SymPy)":
                        float(np.linalg.norm(land.grad(x))) == 0.0},
        checks={"R^Max's relative error shrinks by a factor <= 0.6 per halving of rho":
                    all(r <= 0.6 for r in ratios["max"]),
                "R^Avg's relative error shrinks by a factor <= 0.35 per halving of rho":
                    all(r <= 0.35 for r in ratios["avg"]),
                "R^Max is within 5% of rho^2 lambda_1/2 at the smallest rho": errors["max"][-1] < 0.05,
                "R^Avg is within 1e-3 relative of rho^2 Tr/(2d) at the smallest rho": errors["avg"][-1] < 1e-3,
                "the Monte Carlo R^Avg is within 4 SE (+ quadrature error) of the quadrature": mc_agrees,
                "manifold_sharpness_limits equals the SymPy limits within 1e-12 relative": limits_ok},
        predicted="rel. error shrinks ~x1/2 (max), ~x1/4 (avg) per halving of rho",
        observed=("max err " + "/".join(fmt(e, 2) for e in errors["max"]) + "; avg err "
                  + "/".join(fmt(e, 2) for e in errors["avg"]) + f"; MC-vs-quadrature {'ok' if mc_agrees else 'off'}"),
        tolerance="ratios <= 0.6 (max), <= 0.35 (avg); MC within 4 SE",
        method="SymPy: lambda_1 and Tr on Gamma; SciPy SLSQP (max), sphere quadrature and Monte Carlo (avg)",
        details={"rhos": rhos, "relative_errors": errors, "error_ratios": ratios, "mc_mean": mc_mean,
                 "mc_stderr": mc_se, "quadrature": quad.value, "quadrature_error": quad.error},
    )
