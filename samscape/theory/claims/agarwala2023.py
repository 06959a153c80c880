"""Claims of Agarwala & Dauphin 2023 (ICML 2023, arXiv:2302.08692): SAM's eigenvalue regularization is a dynamical,
edge-of-stability-like effect, with a level predicted from lr and rho. The abstract states the effect on a
quadratic-regression model; reading the level as USAM's stability threshold lambda_U(lr, rho), the root of
lr lambda (1 + rho lambda) = 2, is derived here (docs/theory.md section 8.5) and consistent with it: we could not
confirm the exact form the paper writes."""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from ... import landscapes
from ...dynamics import USAM
from .._common import fmt
from ..sharpness import hessian_curvature
from ..stability import gd_threshold, usam_factor, usam_threshold
from ._tools import simulate
from .registry import Outcome, cite, claim, derived

_LR = 0.1
_RHOS = (0.05, 0.1, 0.2)
_BRACKET = (0.995, 1.005)
_STEPS = 2000
_ENSEMBLE = 41


def _on_hyperbola(sharpness: float) -> np.ndarray:
    """The point (u, 1/u), u > 1, of the hyperbola uv = 1 where the sharpness u^2 + v^2 equals ``sharpness``."""
    u = np.sqrt((sharpness + np.sqrt(sharpness**2 - 4.0)) / 2.0)
    return np.array([u, 1.0 / u])


@functools.lru_cache(maxsize=1)
def _runs():
    """One USAM run shared by both claims: for each rho, two starts 1e-7 off the hyperbola along the Hessian's top
    eigenvector where the sharpness is 0.995 and 1.005 times lambda_U(lr, rho); then the ensemble (u, 1/u + 0.01),
    u in [2.2, 4.2], for rho = 0 (GD) and each rho."""
    land = landscapes.get("quadratic_regression")
    bracket, bracket_rho, normals, bases = [], [], [], []
    for rho in _RHOS:
        for factor in _BRACKET:
            base = _on_hyperbola(factor * usam_threshold(_LR, rho))
            top = np.linalg.eigh(land.hessian(base))[1][:, -1]
            bracket.append(base + 1e-7 * top)
            bracket_rho.append(rho)
            normals.append(top)
            bases.append(base)
    u = np.linspace(2.2, 4.2, _ENSEMBLE)
    ensemble = np.stack([u, 1.0 / u + 0.01], axis=-1)
    rhos = np.concatenate([bracket_rho, np.repeat((0.0,) + _RHOS, _ENSEMBLE)])
    starts = np.concatenate([np.array(bracket), np.tile(ensemble, (len(_RHOS) + 1, 1))])
    run = simulate(land, USAM(_LR, rhos), starts, _STEPS, every=1, seed=0)
    return land, run, np.array(bases), np.array(normals)


@claim("usam_edge_selection", cite("agarwala2023", "abstract: a dynamical, edge-of-stability-like regularization"),
       derived("agarwala2023", "the level as USAM's threshold"))
def _usam_edge_selection():
    """On 0.5 (uv - 1)^2 (minimizers uv = 1, sharpness u^2 + v^2) with lr = 0.1 and rho = 0.05, 0.1, 0.2, USAM keeps a
    minimizer of sharpness 0.995 lambda_U(lr, rho) and leaves one of 1.005 lambda_U, the deviation changing by
    |1 - lr lambda (1 + rho lambda)| per step, and lands below lambda_U; from 41 starts per rho every converged run
    ends at a sharpness <= lambda_U, starts below it barely move, and GD keeps them all, up to 17.7 < 2/lr.

    Tolerances: the deviation starts at 1e-7, so its first 60 steps are linear to about 1e-7 relative and the rate
    must match usam_factor within 1e-5; a run counts as converged when its loss is below 1e-10 after 2000 steps,
    and the others (slow near the edge, where the factor is close to -1) are counted, not judged."""
    land, run, bases, normals = _runs()
    n_bracket = len(_RHOS) * len(_BRACKET)
    checks, rows, details = {}, [], {"bracket": []}
    for i in range(n_bracket):
        rho, factor = _RHOS[i // 2], _BRACKET[i % 2]
        lam = float(np.linalg.eigvalsh(land.hessian(bases[i]))[-1])
        deviation = (run.xs[:61, i] - bases[i]) @ normals[i]
        rate = np.abs(deviation[1:] / deviation[:-1])
        predicted = usam_factor(_LR, rho, lam)
        rate_error = float(np.max(np.abs(rate / predicted - 1)))
        end = float(hessian_curvature(land, run.x[i])["lambda_max"])
        edge = usam_threshold(_LR, rho)
        label = f"rho = {rho}, {factor} x lambda_U"
        checks[f"{label}: the per-step rate of the deviation equals usam_factor within 1e-5"] = rate_error <= 1e-5
        if factor < 1:
            checks[f"{label}: USAM stays (sharpness within 1e-6 of its start)"] = abs(end - lam) <= 1e-6
        else:
            checks[f"{label}: USAM leaves (sharpness drops by > 1e-3) and lands below lambda_U"] = (
                lam - end > 1e-3 and end <= edge)
        rows.append(f"{fmt(rho, 2)}/{factor}: {fmt(lam, 5)} -> {fmt(end, 5)}")
        details["bracket"].append({"rho": rho, "factor": factor, "lambda": lam, "end": end, "rate": float(rate.mean()),
                                   "predicted_rate": predicted, "rate_error": rate_error})
    x_end = run.x[n_bracket:].reshape(len(_RHOS) + 1, _ENSEMBLE, 2)
    sharp = hessian_curvature(land, x_end)["lambda_max"]
    converged = land.value(x_end) < 1e-10
    gd_sharp = sharp[0]
    counts = []
    for k, rho in enumerate(_RHOS, 1):
        edge = usam_threshold(_LR, rho)
        below = gd_sharp < edge
        ok = converged[k]
        counts.append(int(ok.sum()))
        checks[f"rho = {rho}: every converged start ends at sharpness <= lambda_U = {fmt(edge)}"] = bool(
            np.all(sharp[k][ok] <= edge * (1 + 1e-9)))
        checks[f"rho = {rho}: starts GD keeps below lambda_U move by < 0.05 in sharpness"] = bool(
            np.all(np.abs(sharp[k] - gd_sharp)[below & ok] < 0.05))
        details[f"rho={rho}"] = {"edge": edge, "converged": int(ok.sum()), "max_end": float(np.max(sharp[k][ok])),
                                 "ends_of_starts_above": sharp[k][ok & ~below]}
    return Outcome(
        hypotheses={"GD converges from every start, at sharpness below 2/lr":
                        bool(np.all(converged[0]) and np.all(gd_sharp < gd_threshold(_LR)))},
        checks=checks,
        predicted="lambda_U = " + ", ".join(fmt(usam_threshold(_LR, r)) for r in _RHOS) + " for rho = 0.05, 0.1, 0.2",
        observed=("bracket " + "; ".join(rows) + f"; converged {'/'.join(map(str, counts))} of {_ENSEMBLE}, "
                  f"GD max {fmt(np.max(gd_sharp))}"),
        tolerance="rate 1e-5; stays 1e-6; ensemble: <= lambda_U, below-edge moves < 0.05",
        method="NumPy: simulation (one run, 170 starts), Hessian eigenvalues",
        details=details,
    )


@claim("usam_level_monotone", cite("agarwala2023", "abstract: the level depends on lr and rho"),
       derived("agarwala2023", "its monotonicity"))
def _usam_level_monotone():
    """lambda_U(lr, rho) decreases in rho and in lr and tends to GD's 2/lr as rho -> 0 (SymPy, from the implicit
    equation lr lambda (1 + rho lambda) = 2); the sharpness USAM's runs of usam_edge_selection settle at is ordered
    the same way in rho.

    Tolerance: exact identities; usam_threshold must equal the closed form within 1e-12 relative and reach
    gd_threshold within 1e-9 at rho = 1e-12 (the first-order change there is 2 rho/lr^2, 2e-10 relative)."""
    lr, rho, lam = sp.symbols("eta rho lambda", positive=True)
    closed = (sp.sqrt(1 + 8 * rho / lr) - 1) / (2 * rho)
    implicit = lr * lam * (1 + rho * lam) - 2
    # implicit differentiation: d lambda/d rho = -F_rho/F_lambda, d lambda/d lr = -F_lr/F_lambda, both < 0
    d_rho = -sp.diff(implicit, rho) / sp.diff(implicit, lam)
    d_lr = -sp.diff(implicit, lr) / sp.diff(implicit, lam)
    negative = (sp.cancel(d_rho + lam**2 / (1 + 2 * rho * lam)) == 0
                and sp.cancel(d_lr + lam * (1 + rho * lam) / (lr * (1 + 2 * rho * lam))) == 0)
    solves = sp.cancel(sp.expand(implicit.subs(lam, closed))) == 0
    limit = sp.limit(closed, rho, 0) == 2 / lr
    # evaluated in the rationalized form 4/(lr (1 + sqrt(1 + 8 rho/lr))), which does not cancel at small rho
    rationalized = 4 / (lr * (1 + sp.sqrt(1 + 8 * rho / lr)))
    root = sp.Symbol("r", positive=True)  # r = sqrt(1 + 8 rho/lr), i.e. rho = lr (r^2 - 1)/8
    solves = solves and sp.cancel((closed - rationalized).subs(rho, lr * (root**2 - 1) / 8)) == 0
    grid_lr, grid_rho = np.meshgrid(np.geomspace(0.01, 2, 30), np.geomspace(1e-4, 10, 40))
    values = usam_threshold(grid_lr, grid_rho)
    formula = sp.lambdify((lr, rho), rationalized)(grid_lr, grid_rho)
    formula_error = float(np.max(np.abs(values / formula - 1)))
    decreasing = bool(np.all(np.diff(values, axis=0) < 0) and np.all(np.diff(values, axis=1) < 0))
    to_gd = float(np.max(np.abs(usam_threshold(grid_lr[0], 1e-12) / gd_threshold(grid_lr[0]) - 1)))
    land, run, _, _ = _runs()
    n_bracket = len(_RHOS) * len(_BRACKET)
    x_end = run.x[n_bracket:].reshape(len(_RHOS) + 1, _ENSEMBLE, 2)
    converged = land.value(x_end) < 1e-10
    sharp = hessian_curvature(land, x_end)["lambda_max"]
    levels = [float(np.max(sharp[k][converged[k]])) for k in range(1, len(_RHOS) + 1)]
    return Outcome(
        hypotheses={"the closed form solves lr lambda (1 + rho lambda) = 2 and equals its rationalized form (SymPy)":
                        bool(solves),
                    "d lambda/d rho = -lambda^2/(1 + 2 rho lambda) and d lambda/d lr = "
                    "-lambda (1 + rho lambda)/(lr (1 + 2 rho lambda)), both < 0 (SymPy)": bool(negative),
                    "lambda_U -> 2/lr as rho -> 0 (SymPy limit)": bool(limit)},
        checks={"usam_threshold equals the closed form within 1e-12 relative on a 30 x 40 grid": formula_error <= 1e-12,
                "usam_threshold decreases along rho and along lr on the grid": decreasing,
                "usam_threshold(lr, 1e-12) equals gd_threshold(lr) within 1e-9 relative": to_gd <= 1e-9,
                "the largest sharpness USAM's converged runs settle at decreases with rho":
                    bool(np.all(np.diff(levels) < 0))},
        predicted="lambda_U decreasing in rho and lr, -> 2/lr",
        observed=(f"closed form {fmt(formula_error, 2)}, limit {fmt(to_gd, 2)}; settled levels "
                  + ", ".join(fmt(v, 4) for v in levels) + " for rho = " + ", ".join(map(str, _RHOS))),
        tolerance="1e-12 (formula), 1e-9 (limit); strict order",
        method="SymPy: implicit derivatives, limit; NumPy: usam_threshold on a grid, the shared simulation",
        details={"formula_error": formula_error, "limit_error": to_gd, "settled_levels": levels},
    )
