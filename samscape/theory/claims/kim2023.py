"""Claims of Kim, Park, Choi & Lee 2023 (arXiv:2301.06308): saddle points can attract SAM's dynamics, for the
unnormalized ascent when rho |lambda_min| > 1 (the flow condition), and stochastic SAM escapes saddles more slowly
than SGD. The abstract states both; the discrete-time interval of rho and the escape exponents are derived in
docs/theory.md section 8.8."""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from ... import landscapes
from ...dynamics import USAM
from .._common import fmt
from ..edges import usam_stable_rho_interval
from ..stability import usam_factor
from ..stochastic import lyapunov_exponent, quadratic_finite_sum
from ._tools import geometric_rate, simulate
from .registry import Outcome, cite, claim, derived


@claim("usam_saddle_attractor", cite("kim2023", "abstract: saddles attract SAM when rho |lambda_min| > 1"),
       derived("kim2023", "the discrete-time interval of rho"))
def _usam_saddle_attractor():
    """On the saddle x^2/2 - y^2/2 with lr = 0.1, USAM converges to the saddle exactly for rho in (1, 19)
    (usam_stable_rho_interval; SymPy solves |1 - lr lam (1 + rho lam)| < 1 for lam = 1 and -1): the lower end is the
    paper's flow condition rho mu > 1, the upper one the x direction's discrete-time edge. At 0.995 and 1.005 times
    each end the per-step rates along x and y equal usam_factor and straddle 1; from 500 random starts none converge
    at rho = 0.9 and all do at rho = 1.1.

    Tolerance: the map is linear, so rates match usam_factor within 1e-9; "converged" means ||x|| < 1e-6 after 2500
    steps (the slowest contraction, 0.99 per step at rho = 1.1, leaves 1.2e-11 of the start)."""
    lr, lam, mu = 0.1, 1.0, 1.0
    land = landscapes.get("saddle", lam=lam, mu=mu)
    rho = sp.Symbol("rho", positive=True)
    eta = sp.Rational(1, 10)
    solved = sp.reduce_inequalities([sp.Abs(1 - eta * lam_ * (1 + rho * lam_)) < 1 for lam_ in (1, -1)], rho).as_set()
    lo, hi = usam_stable_rho_interval(lr, [lam, -mu])
    bracket = np.array([0.995 * lo, 1.005 * lo, 0.995 * hi, 1.005 * hi])
    inside = (bracket > lo) & (bracket < hi)
    run = simulate(land, USAM(lr, bracket), np.full((4, 2), 1e-3), 120, every=1, seed=0)
    checks = {}
    for i, r in enumerate(bracket):
        rates = [geometric_rate(run.xs[:, i, k]) for k in range(2)]
        predicted = [usam_factor(lr, r, lam), usam_factor(lr, r, -mu)]
        where = f"rho = {fmt(r, 5)} ({'inside' if inside[i] else 'outside'})"
        checks[f"{where}: rates along x and y equal usam_factor within 1e-9"] = all(
            abs(o / p - 1) <= 1e-9 for o, p in zip(rates, predicted))
        checks[f"{where}: both rates {'are below 1' if inside[i] else 'are not both below 1'}"] = (
            max(rates) < 1) == bool(inside[i])
    starts = np.random.default_rng(5).uniform(-1, 1, (500, 2))
    many = simulate(land, USAM(lr, np.repeat([0.9, 1.1], 500)), np.tile(starts, (2, 1)), 2500, every=2500, seed=0)
    converged = (np.linalg.norm(many.x, axis=-1) < 1e-6).reshape(2, 500)
    checks["from 500 random starts none converge to the saddle at rho = 0.9 and all do at rho = 1.1"] = bool(
        not converged[0].any() and converged[1].all())
    return Outcome(
        hypotheses={f"SymPy solves the two conditions: rho in {solved}": solved == sp.Interval.open(1, 19),
                    "usam_stable_rho_interval gives SymPy's interval within 1e-12 relative":
                        abs(lo - float(solved.start)) <= 1e-12 and abs(hi / float(solved.end) - 1) <= 1e-12},
        checks=checks,
        predicted=f"the saddle attracts USAM iff rho in ({fmt(lo)}, {fmt(hi)})",
        observed=f"bracket verdicts {inside.tolist()}; converged fractions {converged[0].mean():g} (0.9), "
                 f"{converged[1].mean():g} (1.1)",
        tolerance="1e-9 (rates); ||x|| < 1e-6 after 2500 steps",
        method="SymPy: reduce_inequalities; NumPy: usam_stable_rho_interval, usam_factor, simulation",
        details={"lr": lr, "interval": [lo, hi], "bracket": bracket, "converged_fraction": converged.mean(axis=1)},
    )


@claim("usam_slower_saddle_escape", cite("kim2023", "abstract: stochastic SAM escapes saddles more slowly than SGD"),
       derived("kim2023", "the escape exponents"))
def _usam_slower_saddle_escape():
    """On the finite sum of two saddles diag(1, -0.5) and diag(1, -1.5) (x^T H_i x/2), stochastic USAM with batch 1
    and rho = 0.4 escapes along y more slowly than SGD: the per-step log-growth of |y| is the Lyapunov exponent
    E log|1 + lr mu_i (1 - rho mu_i)| = 0.0487 against SGD's E log(1 + lr mu_i) = 0.0943 (lyapunov_exponent), both
    positive.

    Statistics: 500 paths each, 150 steps from y = 1e-9; the mean over paths of (log|y_T| - log|y_0|)/T has
    standard error sd/sqrt(500) (about 3e-5 here) and must be within 4 of them of the exponent, a 99.99% two-sided
    band that a 1% error in the exponent (5e-4) leaves."""
    lr, rho, steps, paths = 0.1, 0.4, 150, 500
    hessians = np.array([np.diag([1.0, -0.5]), np.diag([1.0, -1.5])])
    land = quadratic_finite_sum(hessians)
    predicted = [lyapunov_exponent(hessians, lr, r, 1).exponent for r in (0.0, rho)]
    start = np.array([[1e-3, 1e-9]])
    run = simulate(land, USAM(lr, np.repeat([0.0, rho], paths), batch_size=1), np.repeat(start, 2 * paths, axis=0),
                   steps, every=steps, seed=0)
    growth = ((np.log(np.abs(run.x[:, 1])) - math.log(1e-9)) / steps).reshape(2, paths)
    means = growth.mean(axis=1)
    errors = growth.std(axis=1, ddof=1) / math.sqrt(paths)
    return Outcome(
        hypotheses={"every path stays inside the bound (no path frozen)": bool(np.all(run.status == "ok"))},
        checks={"SGD's mean log-growth is within 4 standard errors of its Lyapunov exponent":
                    abs(means[0] - predicted[0]) <= 4 * errors[0],
                "USAM's mean log-growth is within 4 standard errors of its Lyapunov exponent":
                    abs(means[1] - predicted[1]) <= 4 * errors[1],
                "USAM escapes more slowly than SGD, yet escapes (0 < exponent_USAM < exponent_SGD)":
                    0 < means[1] < means[0] - 4 * (errors[0] + errors[1])},
        predicted=f"exponents SGD {fmt(predicted[0])}, USAM {fmt(predicted[1])}",
        observed=f"SGD {fmt(means[0])} +- {fmt(errors[0], 2)}, USAM {fmt(means[1])} +- {fmt(errors[1], 2)}",
        tolerance="4 standard errors (500 paths each)",
        method="NumPy: exact Lyapunov exponents (commuting Hessians), simulation",
        details={"lr": lr, "rho": rho, "predicted": predicted, "means": means, "standard_errors": errors},
    )
