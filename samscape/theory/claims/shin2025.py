"""Claims of Shin, Lee, Andriushchenko & Lee 2025 (UAI 2025, arXiv:2311.17539): under overparameterization, where
every sample is interpolated, stochastic SAM converges linearly. The abstract states it; that the rate is P3's
mean-square radius and that the normalized per-sample form keeps bouncing are derived in docs/theory.md section
8.12 and are consistent with it."""

from __future__ import annotations

import math

import numpy as np

from ... import landscapes
from ...dynamics import SAM, USAM
from .._common import fmt
from ..stochastic import lyapunov_exponent, mean_square_radius
from ._tools import simulate
from .registry import Outcome, cite, claim, derived


@claim("interpolation_no_floor", cite("shin2025", "abstract: linear convergence under overparameterization"),
       derived("shin2025", "the rate as the mean-square radius"))
def _interpolation_no_floor():
    """On the sum of 0.5 h_i x^2 with h = (0.5, 1, 2) (every sample minimized at x* = 0), stochastic USAM with batch
    1 (lr = 0.3, rho = 0.2) converges linearly to x* on every path: E x_t+1^2/E x_t^2 is P3's mean-square radius
    E(1 - lr h_i (1 + rho h_i))^2 (mean_square_radius) and the typical path's log-rate the Lyapunov exponent
    (lyapunov_exponent); stochastic normalized SAM on the same sum never settles (|x| stays of order lr rho h).

    Statistics: 3000 paths x 100 steps; each step multiplies x by one of three factors, so the squared one-step
    ratios and their logs are i.i.d. samples whose mean must be within 4 standard errors (99.99%) of the radius and
    of the exponent; 4 standard errors are about 0.5% and 0.6% of them, so a 1% error in either formula fails."""
    curvatures = (0.5, 1.0, 2.0)
    land = landscapes.get("shifted_quadratics", centers=(0.0, 0.0, 0.0), curvatures=curvatures)
    hessians = np.array(curvatures)[:, None, None]
    lr, rho, paths, steps = 0.3, 0.2, 3000, 100
    radius = mean_square_radius(hessians, lr, rho, 1).radius
    exponent = lyapunov_exponent(hessians, lr, rho, 1).exponent
    starts = np.random.default_rng(11).uniform(0.5, 1.5, (paths, 1)) * np.random.default_rng(12).choice([-1, 1], (paths, 1))
    run = simulate(land, USAM(lr, rho, batch_size=1), starts, steps, every=1, seed=0)
    x = run.xs[:, :, 0]
    ratio = x[1:] / x[:-1]
    squared, logs = (ratio**2).ravel(), np.log(np.abs(ratio)).ravel()
    sq_mean, sq_se = float(squared.mean()), float(squared.std(ddof=1) / math.sqrt(squared.size))
    log_mean, log_se = float(logs.mean()), float(logs.std(ddof=1) / math.sqrt(logs.size))
    converged = float(np.max(np.abs(x[-1])))
    sam = simulate(land, SAM(lr, rho, batch_size=1), starts[:200], 400, every=1, seed=0)
    sam_late = np.max(np.abs(sam.xs[-20:, :, 0]), axis=0)
    floor = 0.1 * lr * rho * min(curvatures)
    return Outcome(
        hypotheses={"x* = 0 minimizes every sample (interpolation)": land.params["minimizer"] == 0.0,
                    "USAM is mean-square stable here (radius < 1) and paths contract (exponent < 0)":
                        radius < 1 and exponent < 0},
        checks={"the mean squared one-step ratio is within 4 standard errors of mean_square_radius":
                    abs(sq_mean - radius) <= 4 * sq_se,
                "the mean log one-step ratio is within 4 standard errors of lyapunov_exponent":
                    abs(log_mean - exponent) <= 4 * log_se,
                "every USAM path reaches |x - x*| < 1e-12 in 100 steps": converged < 1e-12,
                "normalized SAM keeps |x| above 0.1 lr rho min(h) over its last 20 of 400 steps on every path":
                    bool(np.all(sam_late > floor))},
        predicted=f"radius {fmt(radius, 6)}, exponent {fmt(exponent, 6)}; SAM bounces",
        observed=(f"mean squared ratio {fmt(sq_mean, 6)} +- {fmt(sq_se, 2)}, mean log ratio {fmt(log_mean, 6)} +- "
                  f"{fmt(log_se, 2)}; USAM max |x_T| {fmt(converged, 2)}; SAM late |x| >= {fmt(sam_late.min(), 3)}"),
        tolerance="4 standard errors (300,000 one-step ratios); 1e-12 (convergence)",
        method="NumPy: exact mean-square radius and Lyapunov exponent (commuting 1-D Hessians), simulation",
        details={"lr": lr, "rho": rho, "radius": radius, "exponent": exponent, "squared_mean": sq_mean,
                 "squared_se": sq_se, "log_mean": log_mean, "log_se": log_se, "sam_late_min": float(sam_late.min())},
    )
