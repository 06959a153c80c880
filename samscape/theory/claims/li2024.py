"""Claims of Li, Zhang & He 2024 (NeurIPS 2024, arXiv:2410.14802): for scale-invariant problems in two groups of
variables, SAM promotes balancedness ||x||^2 - ||y||^2. The abstract states it; the exact one-step laws for GD,
USAM and SAM on 0.5 (u v - t)^2 are derived in docs/theory.md section 8.11 and are consistent with it."""

from __future__ import annotations

import numpy as np
import sympy as sp

from ...dynamics import GD, SAM, USAM
from .._common import fmt
from ..drift import balancedness_factor
from ._tools import shared_run
from .registry import Outcome, cite, claim, derived


def _gd_law_holds() -> bool:
    """SymPy: one GD step on 0.5 (uv - 1)^2 multiplies u^2 - v^2 by 1 - lr^2 r^2, r = uv - 1."""
    u, v, lr = sp.symbols("u v eta", real=True)
    r = u * v - 1
    u1, v1 = u - lr * r * v, v - lr * r * u
    return sp.expand(u1**2 - v1**2 - (1 - lr**2 * r**2) * (u**2 - v**2)) == 0


@claim("balancedness", cite("li2024", "abstract: SAM promotes balancedness"),
       derived("li2024", "the exact one-step laws"))
def _balancedness():
    """On 0.5 (uv - 1)^2 every step multiplies the balancedness B = u^2 - v^2 by balancedness_factor: 1 - lr^2 r^2
    for GD (SymPy), and 1 - 2 lr s r r+ - lr^2 r+^2 (1 - s^2 r^2) for an ascent of scale s (USAM: s = rho; SAM:
    s = rho/||grad f||). GD and USAM change B only while the residual r is nonzero, so they freeze it once on the
    minimizers; SAM's ascent does not vanish there, and from (2.5, 0.3), (3, 0.2) and (0.25, 2.8) (lr = rho = 0.1) it
    drives |B| from above 6 to below 0.05.

    Tolerance: the law is exact, so every simulated ratio B_t+1/B_t (where |B_t| > 1e-4, so that rounding in
    u^2 - v^2 stays below 1e-12 relative) must match within 1e-9 relative; "frozen" means |B| moves by less than
    1e-10 over steps 1500-3000."""
    lr, rho, steps = 0.1, 0.1, 3000
    starts = np.array([[2.5, 0.3], [3.0, 0.2], [0.25, 2.8]])
    # the same runs as normalization_drifts (dai2023): USAM with rho = 0 is GD
    land, sam = shared_run("quadratic_regression", SAM(lr, rho), starts, steps, every=1)
    _, others = shared_run("quadratic_regression", USAM(lr, np.array([0.0] * 3 + [rho] * 3)), np.tile(starts, (2, 1)),
                           steps, every=1)
    paths = {"GD": others.xs[:, :3], "USAM": others.xs[:, 3:], "SAM": sam.xs}
    optimizers = {"GD": GD(lr), "USAM": USAM(lr, rho), "SAM": SAM(lr, rho)}
    law_errors, balance = {}, {}
    for name, xs in paths.items():
        b = xs[..., 0] ** 2 - xs[..., 1] ** 2
        usable = np.abs(b[:-1]) > 1e-4
        factor = balancedness_factor(optimizers[name], xs[:-1, :, :1], xs[:-1, :, 1:])
        law_errors[name] = float(np.max(np.abs(b[1:][usable] / b[:-1][usable] / factor[usable] - 1)))
        balance[name] = b
    frozen = {name: float(np.max(np.abs(balance[name][-1] - balance[name][steps // 2]))) for name in ("GD", "USAM")}
    sam_end = np.abs(balance["SAM"][-1])
    return Outcome(
        hypotheses={"SymPy: a GD step multiplies u^2 - v^2 by 1 - lr^2 r^2": _gd_law_holds(),
                    "every start begins unbalanced (|B| > 6)": bool(np.all(np.abs(balance["GD"][0]) > 6))},
        checks={f"{name}: B_t+1/B_t equals balancedness_factor within 1e-9 at every step": law_errors[name] <= 1e-9
                for name in paths} | {
                "GD and USAM freeze B (it moves < 1e-10 over steps 1500-3000)": max(frozen.values()) < 1e-10,
                "SAM ends with |B| < 0.05 from every start": bool(np.all(sam_end < 0.05))},
        predicted="B_t+1 = balancedness_factor * B_t; GD, USAM freeze; SAM -> B = 0",
        observed=(f"law errors {', '.join(f'{k} {fmt(v, 2)}' for k, v in law_errors.items())}; |B| at the end: GD "
                  f"{', '.join(fmt(abs(v), 3) for v in balance['GD'][-1])}, USAM "
                  f"{', '.join(fmt(abs(v), 3) for v in balance['USAM'][-1])}, SAM "
                  f"{', '.join(fmt(v, 2) for v in sam_end)}"),
        tolerance="1e-9 (law), 1e-10 (frozen), |B| < 0.05 (SAM)",
        method="SymPy: GD's law; NumPy: balancedness_factor, simulation",
        details={"lr": lr, "rho": rho, "law_errors": law_errors, "frozen_moves": frozen, "sam_end": sam_end,
                 "gd_end": balance["GD"][-1], "usam_end": balance["USAM"][-1]},
    )
