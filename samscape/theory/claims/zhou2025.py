"""Claims of P3, Zhou, Wang, Mao, Li & Yan 2025 (ICLR 2025, arXiv:2410.10373): SAM selects flatter minima late in
training, on P3's tanh example, through its linear-stability inequality, valley confinement and PL convergence."""

from __future__ import annotations

import math

import numpy as np
import sympy as sp
from scipy.stats import binom

from ... import landscapes
from ...dynamics import GD, SAM, SGD, USAM, Switch
from .._common import fmt
from ..sharpness import manifold_drift
from ..stability import fixed_point_stability, gd_threshold, usam_factor, usam_threshold
from ..stochastic import (
    alignment_gamma,
    lyapunov_exponent,
    mean_square_radius,
    pl_conditions,
    quadratic_finite_sum,
    sgd_stability_inequality,
    usam_stability_inequality,
)
from ..valley import valley_conditions
from ._tools import geometric_rate, simulate
from .registry import Outcome, cite, claim


def _tanh_sharpness(u):
    return np.tanh(u) ** 2


@claim("tanh_usam_escape", cite("P3", "Example 4.1"))
def _tanh_usam_escape():
    """On P3's tanh model L(u, v) = tanh(v tanh u)^2 / 2, whose minimizers v = 0 have Hessian diag(0, tanh^2 u):
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
    observed_rate = geometric_rate(v[1:left])
    landed_u = float(run.x[0, 0])
    landed = float(_tanh_sharpness(landed_u))
    converged = abs(run.x[0, 1]) < 1e-8
    return Outcome(
        hypotheses={"Hessian on v=0 is diag(0, tanh(u)^2) (SymPy)": bool(symbolic_ok),
                    "GD stable at u0: lr*lambda < 2": lam0 < gd_threshold(lr),
                    "USAM unstable at u0: lambda > usam_threshold": lam0 > boundary},
        checks={"GD stays at u0 (|du| <= 1e-12, |v| <= 1e-100)": gd_stays,
                "USAM's escape rate matches |1-lr*lambda(1+rho*lambda)| within 1e-4 relative":
                    abs(observed_rate - predicted_rate) <= 1e-4 * predicted_rate,
                "USAM lands inside its stability boundary (lambda <= usam_threshold)": landed <= boundary,
                "USAM converges to the minimizer set (|v| < 1e-8)": converged,
                "USAM's Jacobian spectral radius at u0 equals the rate within 1e-9":
                    abs(usam_jac.spectral_radius - predicted_rate) <= 1e-9},
        predicted=f"GD stays; USAM rate {fmt(predicted_rate, 6)}, lands lam<={fmt(boundary)}",
        observed=(f"GD |du|={fmt(abs(gd.x[0, 0] - u0), 2)}; rate {fmt(observed_rate, 6)}, "
                  f"lands lam={fmt(landed)} (u={fmt(landed_u)})"),
        tolerance="rate 1e-4 relative (linear regime |v|<1e-5); landing: lam <= boundary, |v| < 1e-8",
        method="SymPy: Hessian on the minimizer set; NumPy: thresholds, Jacobian, simulation",
        details={"lr": lr, "rho": rho, "u0": u0, "lambda0": lam0, "usam_boundary": boundary,
                 "predicted_rate": predicted_rate, "observed_rate": observed_rate, "landed_u": landed_u,
                 "landed_lambda": landed, "final_v": float(run.x[0, 1]), "gd_final": gd.x[0]},
    )


@claim("tanh_sam_drift", cite("P3", "Example 4.1"), cite("P2", "Thm 4.5"))
def _tanh_sam_drift():
    """On P3's tanh model, normalized full-batch SAM has no stable minimum; from the sharp minimum u0 = 2.5 it
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
    return Outcome(
        hypotheses={"lr*lambda < 2 along the way (2-cycle exists)": float(_tanh_sharpness(u0)) < gd_threshold(lr),
                    "SAM's Jacobian at the minimum is not stable": not bool(jac.stable)},
        checks={"the drift rate du/step over steps 500-700 matches P2's within 5%": rel <= 0.05,
                "u decreases every 100 steps from step 100 on": monotone,
                "SAM ends at a flatter point than u0": final_lambda < float(_tanh_sharpness(u0))},
        predicted=f"du/step {fmt(predicted)} at u={fmt(u[(start + stop) // 2])}; |u| decreases",
        observed=f"du/step {fmt(observed)}; u {fmt(u0)} -> {fmt(u[-1])} in {steps} steps",
        tolerance="5% on the rate (P2's limit is rho -> 0; rho = 0.1 here)",
        method="SymPy: third derivatives in the drift; NumPy: simulation, finite-difference Jacobian at the minimum",
        details={"lr": lr, "rho": rho, "predicted_velocity": predicted, "observed_velocity": observed,
                 "relative_error": rel, "u_every_100": u[::100], "jacobian_method": jac.method,
                 "jacobian_radius_at_minimum": jac.spectral_radius},
    )


@claim("tanh_switching", cite("P3", "Sec 4 (two phases), Thm 4.1"))
def _tanh_switching():
    """On P3's tanh model with three data points, SGD (mean-square stable at the sharp minimum u0 = 2.5) stays
    there; after the switch P3's SAM (USAM, batch 1) escapes exponentially, its per-step log-growth being the
    Lyapunov exponent at u0, then converges to a flatter minimum where that exponent is <= 0. Normalized SAM
    (batch 1) shows the same two phases: it leaves at once (its ascent step ignores how small v is) and then drifts
    to flatter minima. Mean-square stability is reported too: the USAM landing points are mean-square unstable, yet
    every path converges."""
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
    return Outcome(
        hypotheses={"SGD at u0: mean-square stable and Lyapunov < 0": sgd_ms.stable and sgd_lyap.exponent < 0,
                    "USAM at u0: Lyapunov > 0 (paths escape)": usam_lyap.exponent > 0},
        checks={"SGD stays at u0 until the switch (|du| < 1e-4)": stayed < 1e-4,
                "USAM is still in the linear regime 10-110 steps after the switch (|v| < 1e-8)": still_linear,
                "USAM's mean log-growth of |v| is within 4 standard errors of the Lyapunov exponent at u0":
                    abs(slope - usam_lyap.exponent) <= 4 * stderr,
                "every USAM path lands where the Lyapunov exponent is <= 0": np.all(final_lyap <= 0),
                "every USAM path converges (|v| < 1e-6)": converged,
                "every USAM path lands flatter than u0": flatter,
                "normalized SAM leaves: every path reaches |v| > 1e-3": np.all(v_n.max(axis=0) > 1e-3),
                "normalized SAM leaves within 5 steps of the switch": steps_to_leave <= 5,
                "normalized SAM ends flatter than u0 on every path": np.all(norm_final < sharpness_u0)},
        predicted=(f"SGD stays; USAM escape log-rate {fmt(usam_lyap.exponent)}, lands where Lyapunov <= 0; "
                   "SAM leaves at once, flatter"),
        observed=(f"|du|={fmt(stayed, 2)}; log-rate {fmt(slope)}; lands u~{fmt(np.median(final_u))} (Lyap max "
                  f"{fmt(np.max(final_lyap), 2)}, yet MS radius {fmt(np.median(final_ms), 3)} > 1); SAM leaves in "
                  f"{steps_to_leave} step(s), sharpness {fmt(sharpness_u0, 3)} -> {fmt(np.median(norm_final), 3)}"),
        tolerance=(f"log-rate within 4 standard errors ({fmt(4 * stderr, 2)}); all {paths} USAM paths end with "
                   "|v| < 1e-6; SAM leaves within 5 steps"),
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


@claim("linear_stability_inequality", cite("P3", "Thm 4.1 and Thm 4.2"))
def _linear_stability_inequality():
    """At an interpolating minimum with per-sample Hessians H_i: if SGD or P3's SAM (USAM) is linearly
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
    return Outcome(
        hypotheses={"simulated case violates the inequality (C > 1)": not ineq.holds and ineq.growth_factor > 1,
                    "1-D case: mean-square unstable with Lyapunov < 0": (not ms1.stable) and lyap1.exponent < 0},
        checks={f"no mean-square stable case violates the inequality ({cases} cases)": counter_stable == 0,
                "every violated case has mean-square radius >= C": counter_growth == 0,
                "the simulated Monte Carlo mean + 3 SE of L_t is >= C^t L_0 at every t": growth_ok,
                "the simulated case violates the inequality": not ineq.holds,
                "the simulated case is mean-square unstable": not ms.stable,
                "the 1-D fraction of shrinking paths is within 4 SE of the binomial law": frac_ok},
        predicted=(f"stable=>ineq ({cases} cases); E[L_t]>={fmt(ineq.growth_factor)}^t L0; "
                   f"{fmt(100 * p_shrink, 3)}% paths shrink"),
        observed=(f"{counter_stable} counterexamples; growth {fmt(observed_c)}/step (MS radius {fmt(ms.radius)}, "
                  f"Lyap {fmt(lyap.exponent, 2)}); MS-unstable 1-D case (radius {fmt(ms1.radius, 3)}, Lyap "
                  f"{fmt(lyap1.exponent, 2)}): {fmt(100 * frac, 3)}% of paths shrink, {grew} grow"),
        tolerance="no counterexample; Monte Carlo mean + 3 SE >= bound at every t; fraction within 4 SE",
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


@claim("valley_confinement", cite("P3", "Prop 4.1"))
def _valley_confinement():
    """In a 1-D valley (P3's Definition 4.2) with lr < min_V b/|L'| and rho <= min{1/a, lr min |L'(2z)/L'(z)|},
    full-batch SAM started in (-b, b) stays in V = [-2b, 2b] for all steps; P3's theory is for the unnormalized SAM,
    which is simulated (normalized SAM is run beside it). Confinement does not need a stable bottom: the tanh valley
    meets the conditions with an unstable bottom, and a Huber valley outside them stays confined as the sharper test
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
    hypotheses, checks, rows, details = {}, {}, [], {}
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
        checks[f"{name}: 201 starts {'stay' if predicted_confined else 'do not all stay'} in [-2b, 2b] as predicted "
               "(USAM; SAM too where its S <= 2b)"] = confined == predicted_confined
        if not cond.bottom_stable_usam:
            # an unstable bottom means USAM keeps moving: confinement, not convergence
            checks[f"{name}: the bottom is unstable, so USAM keeps moving (median final |z| > 1e-3)"] = (
                worst["usam_final_median"] > 1e-3)
        rows.append(f"{name.split('_')[0]} {fmt(worst['usam'], 3)}/{fmt(worst['sam'], 3)}"
                    + ("*" if not cond.bottom_stable_usam else ""))
        details[name] = {"lr": cond.lr, "rho": cond.rho, "a": cond.a, "b": b, "lr_bound": cond.lr_bound.value,
                         "lr_bound_method": cond.lr_bound.method, "ratio_min": cond.ratio_min.value,
                         "ratio_method": cond.ratio_min.method, "rho_bound": cond.rho_bound,
                         "S_usam": cond.invariance_usam.value, "S_sam": cond.invariance_sam.value,
                         "bottom_stable_usam": cond.bottom_stable_usam,
                         "definition": {k: v[1] for k, v in cond.definition.items()},
                         "max_abs_z_over_2b": worst}
    return Outcome(
        hypotheses=hypotheses,
        checks=checks,
        predicted="max|z_t|/2b <= 1 for 201 starts in (-b, b), every case",
        observed="max|z|/2b USAM/SAM: " + ", ".join(rows) + " (*unstable bottom)",
        tolerance="exact inequality (1e-12 rounding); unstable bottom: median final |z| > 1e-3",
        method="SymPy: evenness, L(0), L''(0), candidate extrema and one-sided limits; NumPy/SciPy: grids, S, simulation",
        details=details,
    )


@claim("pl_convergence", cite("P3", "Thm 4.3"))
def _pl_convergence():
    """Under PL (mu), L-smoothness and gradient noise sigma^2, with lr <= min{1/L, mu B/(2 L sigma^2)} and
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
    return Outcome(
        hypotheses={"Thm 4.3 step-size conditions hold": cond.holds, "PL: mu > 0": cond.mu > 0,
                    "the noise term binds: lr_max < 1/L": cond.lr_max < 1.0 / cond.smoothness},
        checks={"the Monte Carlo mean - 3 SE of L_t stays <= (1 - lr mu/2)^t L_0 at every recorded t > 0":
                    worst <= 1.0 + 1e-12},
        predicted=f"E[L_t] <= {fmt(cond.rate, 6)}^t L_0 for t <= {steps}",
        observed=f"max (mean - 3SE)/bound = {fmt(worst, 3)}; final mean/bound {fmt(mean[-1] / bound[-1], 3)}",
        tolerance="<= 1 (3 standard errors of the Monte Carlo mean over 1000 paths)",
        method="NumPy/SciPy: mu, L, sigma^2 (eigenvalues, generalized eigenproblem; sigma^2 is a [working def]), simulation",
        details={"mu": cond.mu, "smoothness": cond.smoothness, "sigma2": cond.sigma2, "lr": lr, "rho": rho,
                 "rate": cond.rate, "mc_mean_over_bound": mean / bound},
    )
