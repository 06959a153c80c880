"""Claims of Si & Yun 2023 (NeurIPS 2023, arXiv:2306.09850): with a constant radius and the normalized ascent,
stochastic SAM converges only to a neighbourhood of the optimum (an O(rho^2) term it cannot remove), while
deterministic SAM on a strongly convex function has a vanishing gap. The abstract states both; the toy, its exact
limit point and USAM's behaviour on it are derived in docs/theory.md section 8.6 (a construction in the spirit of
the paper's lower-bound examples, not one of them)."""

from __future__ import annotations

import math

import numpy as np

from ... import landscapes
from ...dynamics import SAM, USAM, PerSampleSAM, PerSampleUSAM
from .._common import fmt
from ..floors import stochastic_limit
from ..stability import sam_two_cycle
from ._tools import simulate
from .registry import Outcome, cite, claim, derived

_LR = 0.02
_BURN_IN, _STEPS, _EVERY, _PATHS = 300, 1200, 5, 400
# the full-batch per-sample map is the mean update; its fixed point does not depend on the step, so a large one
# reaches it in few steps (its contraction per step is 1 - lr mean(h) = 0.5 on these toys)
_MAP_LR, _MAP_STEPS = 0.5, 100


def _time_averages(run, paths: int, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group of ``paths`` starts: the mean over paths of each path's time average after the burn-in, and its
    standard error (the paths are independent, so the spread of their time averages measures it)."""
    averages = run.xs[run.steps >= _BURN_IN, :, 0].mean(axis=0).reshape(groups, paths)
    return averages.mean(axis=1), averages.std(axis=1, ddof=1) / math.sqrt(paths)


@claim("stochastic_sam_floor", cite("si2023", "abstract: stochastic SAM keeps an O(rho^2) term"),
       derived("si2023", "the toy's limit point"))
def _stochastic_sam_floor():
    """On f = mean_i (x - a_i)^2/2 with a = (1, 1, 1, -3) (x* = 0), stochastic SAM with batch 1 and a constant step
    settles around x = rho/2, not x*: the zero of the mean per-sample update (stochastic_limit), where
    f - f* = rho^2/8; started at x* it moves away from it. The full-batch per-sample map, which is that mean update,
    converges to rho/2 exactly.

    Statistics: for each rho = 0.1, 0.2, 0.4, 400 independent paths of 1200 steps (lr = 0.02), each averaged over
    time after a burn-in of 300 steps (6 relaxation times 1/lr, leaving 0.25% of the start's offset, a twentieth
    of a standard error); the mean over paths must lie within 4 standard errors of rho/2 (99.99% two-sided) and
    more than 10 standard errors from x*. The deterministic map (lr = 0.5, 100 steps) must reach rho/2 within
    1e-12."""
    land = landscapes.get("shifted_quadratics")
    centers = land.params["centers"]
    rhos = np.array([0.1, 0.2, 0.4])
    limits = np.array([stochastic_limit(SAM(_LR, r, batch_size=1), centers) for r in rhos])
    mean_map = simulate(land, PerSampleSAM(_MAP_LR, rhos), np.zeros((3, 1)), _MAP_STEPS, every=_MAP_STEPS, seed=0)
    map_error = float(np.max(np.abs(mean_map.x[:, 0] - limits)))
    run = simulate(land, SAM(_LR, np.repeat(rhos, _PATHS), batch_size=1), np.zeros((3 * _PATHS, 1)), _STEPS,
                   every=_EVERY, seed=0)
    means, errors = _time_averages(run, _PATHS, 3)
    inside = bool(np.all((run.xs[:, :, 0] > min(centers)) & (run.xs[:, :, 0] < max(centers))))
    gap = 0.5 * limits**2
    return Outcome(
        hypotheses={"the paths stay between the centers (-3, 1), where the map is linear": inside},
        checks={"the full-batch per-sample map converges to stochastic_limit within 1e-12": map_error <= 1e-12,
                "stochastic_limit is rho/2 within 1e-12, so f - f* = rho^2/8":
                    float(np.max(np.abs(limits - rhos / 2))) <= 1e-12,
                "each time-averaged mean is within 4 standard errors of stochastic_limit":
                    bool(np.all(np.abs(means - limits) <= 4 * errors)),
                "each time-averaged mean is more than 10 standard errors from x* = 0": bool(np.all(np.abs(means) > 10 * errors))},
        predicted="x -> " + ", ".join(fmt(v) for v in limits) + "; f - f* = " + ", ".join(fmt(v, 3) for v in gap),
        observed="time-averaged x = " + ", ".join(f"{fmt(m, 4)} +- {fmt(e, 2)}" for m, e in zip(means, errors))
                 + f"; mean map error {fmt(map_error, 2)}",
        tolerance="4 standard errors (400 paths per rho); 1e-12 for the mean map",
        method="NumPy: stochastic_limit (piecewise-linear root), simulation",
        details={"lr": _LR, "rhos": rhos, "limits": limits, "means": means, "standard_errors": errors,
                 "mean_map_error": map_error},
    )


@claim("stochastic_usam_limit", cite("si2023", "abstract: normalization and the O(rho^2) term"),
       derived("si2023", "USAM's limit on the toy"))
def _stochastic_usam_limit():
    """On the same toy USAM's per-sample step is h_i (1 + rho h_i)(x - a_i), so its stochastic limit is the
    h(1 + rho h)-weighted mean of the centers: x* itself when the curvatures are equal (no floor), but not when they
    differ (h = 0.5, 1, 2, 1 with the same centers): a bias of USAM too, of order rho.

    Statistics: as in stochastic_sam_floor (rho = 0.2, 400 paths per toy, time averages after 300 steps): within 4
    standard errors of stochastic_limit, and, for unequal curvatures, more than 10 standard errors from x*."""
    rho = 0.2
    equal = landscapes.get("shifted_quadratics")
    unequal = landscapes.get("shifted_quadratics", curvatures=(0.5, 1.0, 2.0, 1.0))
    rows, checks, details = [], {}, {}
    for label, land in (("equal curvatures", equal), ("unequal curvatures", unequal)):
        centers, curvatures = land.params["centers"], land.params["curvatures"]
        x_star = land.params["minimizer"]
        limit = stochastic_limit(USAM(_LR, rho, batch_size=1), centers, curvatures)
        mean_map = simulate(land, PerSampleUSAM(_MAP_LR, rho), np.zeros((1, 1)), _MAP_STEPS, every=_MAP_STEPS, seed=0)
        run = simulate(land, USAM(_LR, rho, batch_size=1), np.zeros((_PATHS, 1)), _STEPS, every=_EVERY, seed=1)
        (mean,), (error,) = _time_averages(run, _PATHS, 1)
        checks[f"{label}: the full-batch per-sample map converges to stochastic_limit within 1e-12"] = (
            abs(float(mean_map.x[0, 0]) - limit) <= 1e-12)
        checks[f"{label}: the time-averaged mean is within 4 standard errors of stochastic_limit"] = (
            abs(mean - limit) <= 4 * error)
        if label == "equal curvatures":
            checks[f"{label}: stochastic_limit is x* within 1e-12 (no floor)"] = abs(limit - x_star) <= 1e-12
        else:
            checks[f"{label}: the time-averaged mean is more than 10 standard errors from x*"] = (
                abs(mean - x_star) > 10 * error)
        rows.append(f"{label}: x* {fmt(x_star, 4)}, limit {fmt(limit, 4)}, observed {fmt(mean, 4)} +- {fmt(error, 2)}")
        details[label] = {"x_star": x_star, "limit": limit, "mean": float(mean), "standard_error": float(error)}
    return Outcome(
        hypotheses={"rho h_i and lr h_i (1 + rho h_i) keep every per-sample step contracting":
                        all(_LR * h * (1 + rho * h) < 1 for h in unequal.params["curvatures"])},
        checks=checks,
        predicted="USAM -> the h(1 + rho h)-weighted mean: x* for equal h, shifted otherwise",
        observed="; ".join(rows),
        tolerance="4 standard errors (400 paths); 1e-12 for the mean map and the equal-curvature limit",
        method="NumPy: stochastic_limit (weighted mean), simulation",
        details={"lr": _LR, "rho": rho, **details},
    )


@claim("deterministic_sam_gap", cite("si2023", "abstract: deterministic SAM on strongly convex functions"),
       derived("si2023", "the gap at a fixed step"))
def _deterministic_sam_gap():
    """Deterministic SAM on lambda x^2/2 with a fixed step ends on its 2-cycle, where the gap f - f* is exactly
    lambda c^2/2 with c = lr rho lambda/(2 - lr lambda): of order lr^2 rho^2, the size a step lr ~ 1/T turns into the
    O(1/T^2) of the paper's rate (the paper's constants are not checked); the log-log slope of the gap in lr tends
    to 2.

    Tolerance: the map is affine on each side, so the gap must match to 1e-9 relative after 800 steps (the cycle
    attracts with (1 - lr lambda)^2 per two steps, at most 0.9025 here); the slope between lr = 0.1 and 0.05 is
    2 + 2 log2(1.95/1.9) = 2.075, so within [1.9, 2.1]."""
    lam, rho = 1.0, 0.1
    lrs = np.array([0.8, 0.4, 0.2, 0.1, 0.05])
    land = landscapes.get("quadratic", eigenvalues=(lam,))
    run = simulate(land, SAM(lrs, rho), np.ones((len(lrs), 1)), 800, every=800, seed=0)
    gap = land.value(run.x)
    predicted = 0.5 * lam * sam_two_cycle(lrs, rho, lam) ** 2
    error = float(np.max(np.abs(gap / predicted - 1)))
    slope = float(math.log(gap[-2] / gap[-1]) / math.log(lrs[-2] / lrs[-1]))
    return Outcome(
        hypotheses={"0 < lr lambda < 2 for every step": bool(np.all(lrs * lam < 2))},
        checks={"f(x_T) - f* equals lambda c^2/2 within 1e-9 relative at each lr": error <= 1e-9,
                "the gap decreases with lr": bool(np.all(np.diff(gap) < 0)),
                "the log-log slope of the gap in lr at the smallest lr is within [1.9, 2.1]": 1.9 <= slope <= 2.1},
        predicted="gap = " + ", ".join(fmt(v, 3) for v in predicted) + " for lr = " + ", ".join(fmt(v) for v in lrs),
        observed=f"max relative error {fmt(error, 2)}; slope {fmt(slope, 4)}",
        tolerance="1e-9 relative; slope in [1.9, 2.1]",
        method="NumPy: sam_two_cycle, simulation",
        details={"lambda": lam, "rho": rho, "lrs": lrs, "gap": gap, "predicted": predicted, "slope": slope},
    )
