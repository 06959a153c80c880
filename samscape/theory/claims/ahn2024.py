"""Claims of Ahn, Jadbabaie & Sra 2024 (ICML 2024, arXiv:2305.15659): flatness measured by the trace of the Hessian,
and gradients at randomly perturbed points estimate a direction that lowers it. The abstract states the mechanism;
the smoothing identity and RandomSAM's drift at finite lr are derived in docs/theory.md section 8.10 and are
consistent with it."""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from ... import landscapes
from ...dynamics import RandomSAM
from .._common import fmt
from ..drift import random_sam_drift
from ..sharpness import manifold_drift
from ..smoothing import smoothed_gradient_correction
from ._tools import simulate
from .registry import Outcome, cite, claim, derived


def _circle_identity_holds() -> bool:
    """SymPy: for a generic quartic in two variables, the mean of grad f(x + rho u) over 8 equally spaced u on the
    unit circle (exact for trigonometric polynomials of degree < 8; grad f(x + rho u(theta)) has degree 3) equals
    grad f + (rho^2/4) grad Laplacian f."""
    x, y, rho = sp.symbols("x y rho", real=True)
    f = sum(sp.Symbol(f"c{i}{j}") * x**i * y**j for i in range(5) for j in range(5) if i + j <= 4)
    laplacian = sp.diff(f, x, 2) + sp.diff(f, y, 2)
    nodes = [(sp.cos(sp.pi * k / 4), sp.sin(sp.pi * k / 4)) for k in range(8)]
    for s in (x, y):
        g = sp.diff(f, s)
        mean = sum(g.subs({x: x + rho * c, y: y + rho * n}, simultaneous=True) for c, n in nodes) / 8
        if sp.expand(mean - g - rho**2 / 4 * sp.diff(laplacian, s)) != 0:
            return False
    return True


@claim("random_smoothing_identity", cite("ahn2024", "abstract: randomly perturbed gradients lower the trace"),
       derived("ahn2024", "the smoothing identity"))
def _random_smoothing_identity():
    """For u uniform on the unit sphere of R^d, E grad f(x + rho u) = grad f(x) + (rho^2/(2d)) grad tr hess f(x),
    exactly for polynomials of degree <= 4 (SymPy, generic quartic); on Rosenbrock's quartic the circle average
    equals grad f + smoothed_gradient_correction to rounding at 20 points, and one step of the simulator's own
    RandomSAM from 20,000 copies of a point moves by -lr times that on average.

    Tolerance: the circle average is exact (8 nodes), so 1e-9 relative; the RandomSAM mean is Monte Carlo, within
    4 standard errors per coordinate (99.99%) at each of 3 points."""
    land = landscapes.get("rosenbrock")
    rho, lr = 0.3, 1e-3
    points = land.random_points(20, seed=7)
    angles = np.pi * np.arange(8) / 4
    circle = np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    mean = land.grad(points[:, None, :] + rho * circle).mean(axis=1)
    predicted = land.grad(points) + smoothed_gradient_correction(land, points, rho)
    exact_error = float(np.max(np.abs(mean - predicted) / (1 + np.abs(predicted))))
    copies = 20_000
    probes = points[:3]
    starts = np.repeat(probes, copies, axis=0)
    moved = (simulate(land, RandomSAM(lr, rho), starts, 1, every=1, seed=0).x - starts) / -lr
    moved = moved.reshape(3, copies, 2)
    mc_mean, mc_se = moved.mean(axis=1), moved.std(axis=1, ddof=1) / math.sqrt(copies)
    mc_ok = bool(np.all(np.abs(mc_mean - predicted[:3]) <= 4 * mc_se))
    correction = smoothed_gradient_correction(land, probes, rho)
    return Outcome(
        hypotheses={"SymPy: the circle mean of grad f(x + rho u) is grad f + (rho^2/4) grad Laplacian f for a "
                    "generic quartic": _circle_identity_holds()},
        checks={"the exact circle average equals grad f + smoothed_gradient_correction within 1e-9 at 20 points":
                    exact_error <= 1e-9,
                "RandomSAM's mean step from 20,000 copies is within 4 standard errors of it at 3 points": mc_ok,
                "the correction is resolved: larger than 4 standard errors at the 3 points":
                    bool(np.all(np.linalg.norm(correction, axis=-1) > 4 * np.linalg.norm(mc_se, axis=-1)))},
        predicted="E grad f(x + rho u) = grad f + (rho^2/(2d)) grad tr hess f",
        observed=f"circle average error {fmt(exact_error, 2)}; Monte Carlo max |error|/SE "
                 f"{fmt(np.max(np.abs(mc_mean - predicted[:3]) / mc_se), 3)}",
        tolerance="1e-9 (exact average), 4 standard errors (Monte Carlo, 20,000 draws per point)",
        method="SymPy: the identity for a generic quartic; NumPy: third derivatives compiled from SymPy, simulation",
        details={"rho": rho, "exact_error": exact_error, "mc_mean": mc_mean, "mc_se": mc_se,
                 "predicted": predicted[:3], "correction": correction},
    )


@claim("random_sam_trace_drift", cite("ahn2024", "abstract: flatness as the trace of the Hessian"),
       derived("ahn2024", "RandomSAM's drift at finite lr"))
def _random_sam_trace_drift():
    """On eigen_manifold (a line of minimizers whose Hessian eigenvalues a1(x) > a2(x) vary along it) RandomSAM with
    lr = 0.1, rho = 0.2 drifts along the line at -(lr rho^2/(2d)) sum_k [2/(2 - lr a_k)] a_k'(x) (random_sam_drift):
    the trace's gradient with a finite-lr factor, which the trace flow alone misses by about 20%; from x = 0.8,
    between the trace's minimizer 0.6 and lambda_1's 1, it moves toward the trace's, against full-batch SAM's
    direction.

    Statistics: 600 paths from x = -0.5; their mean displacement over steps 100-1100 (after the normal coordinates'
    spread has formed, about 1/(lr a_k) steps) must be within 4 standard errors (about 0.6%) of the prediction
    integrated along the mean path; 200 paths from x = 0.8 must move left by more than 4 standard errors."""
    land = landscapes.get("eigen_manifold")
    params = land.params
    lr, rho, paths, first, last, every = 0.1, 0.2, 600, 100, 1100, 20
    starts = np.concatenate([np.tile([-0.5, 0.0, 0.0], (paths, 1)), np.tile([0.8, 0.0, 0.0], (200, 1))])
    run = simulate(land, RandomSAM(lr, rho), starts, last, every=every, seed=0)
    xs = run.xs[:, :paths, 0]
    i, j = first // every, last // every
    moved = xs[j] - xs[i]
    mean, se = float(moved.mean()), float(moved.std(ddof=1) / math.sqrt(paths))
    grid = np.arange(i, j + 1)
    along = [np.array([xs[k].mean(), 0.0, 0.0]) for k in grid]
    predicted = float(np.trapezoid([random_sam_drift(land, p, lr, rho).velocity[0] for p in along], grid * every))
    flow = float(np.trapezoid([random_sam_drift(land, p, lr, rho, finite_lr=False).velocity[0] for p in along],
                              grid * every))
    near = run.xs[:, paths:, 0]
    near_moved = near[j] - near[0]
    near_mean, near_se = float(near_moved.mean()), float(near_moved.std(ddof=1) / math.sqrt(near.shape[1]))
    sam_direction = float(manifold_drift(land, np.array([0.8, 0.0, 0.0]), lr, rho).velocity[0])
    return Outcome(
        hypotheses={"the trace's minimizer lies between the start 0.8 and lambda_1's minimizer":
                        params["argmin_trace"] < 0.8 < params["argmin_lambda1"],
                    "full-batch SAM's predicted drift at 0.8 points toward lambda_1's minimizer (right)":
                        sam_direction > 0},
        checks={"the mean displacement from -0.5 is within 4 standard errors of random_sam_drift's":
                    abs(mean - predicted) <= 4 * se,
                "the trace flow without the finite-lr factor misses it by more than 10 standard errors":
                    abs(mean - flow) > 10 * se,
                "from 0.8 RandomSAM moves left, toward the trace's minimizer, by more than 4 standard errors":
                    near_mean < -4 * near_se},
        predicted=f"displacement {fmt(predicted, 5)} (trace flow alone {fmt(flow, 5)}); from 0.8: left",
        observed=f"{fmt(mean, 5)} +- {fmt(se, 2)}; from 0.8: {fmt(near_mean, 3)} +- {fmt(near_se, 2)}",
        tolerance="4 standard errors (600 and 200 paths)",
        method="SymPy: third derivatives; NumPy: eigenvectors, simulation, trapezoid integral along the mean path",
        details={"lr": lr, "rho": rho, "window": [first, last], "mean": mean, "standard_error": se,
                 "predicted": predicted, "trace_flow": flow, "from_0.8": near_mean, "from_0.8_se": near_se},
    )
