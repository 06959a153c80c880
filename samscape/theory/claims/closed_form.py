"""Closed-form stability checks derived in this project (docs/theory.md): the deterministic special cases of
P3's linear stability (Zhou et al. 2025, Thm 4.1) on a quadratic, for GD and for P3's simplified SAM (USAM)."""

from __future__ import annotations

import numpy as np
import sympy as sp

from ... import landscapes
from ...dynamics import GD, USAM
from .._common import fmt
from ..stability import fixed_point_stability, gd_lr_edge, gd_threshold, usam_factor, usam_threshold
from ._tools import geometric_rate, simulate, sympy_hessian_at
from .registry import Outcome, claim, derived


@claim("gd_quadratic", derived("P3", "Thm 4.1 with rho = 0 (GD)"))
def _gd_quadratic():
    """GD on a quadratic converges when lr < 2/lambda_max and escapes when lr > 2/lambda_max, and the error along
    the top eigenvector changes by the factor |1 - lr*lambda_max| every step, on both sides of the threshold (at
    0.995 and 1.005 times it)."""
    land = landscapes.get("quadratic", eigenvalues=(1.0, 4.0), angle=0.3)
    eig = sp.Matrix(sympy_hessian_at(land, [0, 0])).eigenvals()
    lam_exact = max(eig, key=lambda e: float(e))
    lam = float(lam_exact)
    _, vecs = np.linalg.eigh(land.hessian(np.zeros(2)))
    top = vecs[:, -1]
    critical = gd_lr_edge(lam)  # 2 / lambda_max
    x0 = np.array([0.6, -0.4])
    rows, checks, details = [], {}, {"lambda_max": lam, "critical_lr": critical}
    # 0.5% on each side of the edge, so that a 1% error in gd_lr_edge or gd_threshold puts both on one side
    for label, factor in (("below", 0.995), ("above", 1.005)):
        lr = factor * critical
        run = simulate(land, GD(lr), x0, 60, every=1, seed=0)
        along = run.xs[:, 0, :] @ top
        observed = geometric_rate(along)
        predicted = usam_factor(lr, 0.0, lam)
        stability = fixed_point_stability(land, GD(lr), np.zeros(2))
        case = f"lr = {factor} x 2/lambda_max"
        checks[f"{case}: rate along v_1 matches |1-lr*lambda_max| within 1e-9 relative"] = (
            abs(observed - predicted) <= 1e-9 * predicted)
        checks[f"{case}: the Jacobian at the minimum is {'stable' if label == 'below' else 'unstable'}"] = (
            bool(stability.stable) == (label == "below"))
        checks[f"{case}: the Jacobian's spectral radius equals |1-lr*lambda_max| within 1e-12"] = (
            abs(stability.spectral_radius - predicted) <= 1e-12)
        checks[f"{case}: lambda_max is {'below' if label == 'below' else 'above'} gd_threshold(lr), as the Jacobian says"] = (
            (lam < gd_threshold(lr)) == bool(stability.stable))
        rows.append((label, lr, predicted, observed))
        details[label] = {"lr": lr, "predicted_rate": predicted, "observed_rate": observed,
                          "jacobian_radius": stability.spectral_radius, "final_norm": float(np.linalg.norm(run.x[0]))}
    return Outcome(
        hypotheses={f"lambda_max = {lam:.12g} (SymPy eigenvalues of the exact Hessian)": abs(lam - 4.0) < 1e-12},
        checks=checks,
        predicted="rate |1-lr*lam|: " + ", ".join(f"{r[0]} {fmt(r[2])}" for r in rows) + f" (lr*={fmt(critical)})",
        observed="rate: " + ", ".join(f"{r[0]} {fmt(r[3])}" for r in rows),
        tolerance="1e-9 relative (the map is linear)",
        method="SymPy: lambda_max; NumPy: simulation, Jacobian eigenvalues",
        details=details,
    )


@claim("usam_quadratic", derived("P3", "Thm 4.1, deterministic USAM"))
def _usam_quadratic():
    """USAM is stable at a minimum iff lr*lam*(1 + rho*lam) <= 2 and otherwise escapes it, the error along an
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
    observed = [geometric_rate(run.xs[:, 0, k]) for k in range(2)]
    gd_rates = [geometric_rate(gd_run.xs[:, 0, k]) for k in range(2)]
    stability = fixed_point_stability(land, USAM(lr, rho), np.zeros(2))
    jac_moduli = sorted(np.abs(stability.eigenvalues))
    return Outcome(
        hypotheses={
            f"threshold lam* = {lam_star_exact} (SymPy root of lr*lam*(1+rho*lam) = 2)":
                abs(lam_star - usam_threshold(lr, rho)) <= 1e-12,
            "GD is stable on both curvatures (lr*lam < 2)": all(c < gd_threshold(lr) for c in curvatures),
        },
        checks={
            "USAM's rate along each eigenvector matches |1-lr*lam*(1+rho*lam)| within 1e-9 relative":
                all(abs(o - p) <= 1e-9 * p for o, p in zip(observed, predicted)),
            "the predicted rate is < 1 at 0.9 lam* and > 1 at 1.1 lam*": predicted[0] < 1 < predicted[1],
            "the Jacobian's eigenvalue moduli equal the predicted rates within 1e-12 relative":
                np.allclose(jac_moduli, sorted(predicted), rtol=1e-12),
            "GD with the same lr contracts along both eigenvectors": all(g < 1 for g in gd_rates),
        },
        predicted=f"rates {fmt(predicted[0])} (lam=0.9lam*), {fmt(predicted[1])} (1.1lam*)",
        observed=f"rates {fmt(observed[0])}, {fmt(observed[1])}; GD {fmt(gd_rates[0])}, {fmt(gd_rates[1])}",
        tolerance="1e-9 relative (the map is linear)",
        method="SymPy: threshold; NumPy: simulation, Jacobian eigenvalues",
        details={"lr": lr, "rho": rho, "threshold": lam_star, "curvatures": curvatures, "predicted_rates": predicted,
                 "observed_rates": observed, "gd_rates": gd_rates},
    )
