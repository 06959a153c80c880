"""Claims of Foret, Kleiner, Mobahi & Neyshabur 2021 (ICLR 2021, arXiv:2010.01412): the SAM step. The paper states
the first-order solution of the inner maximum over a p-norm ball (the dual-norm formula) and takes the gradient at
it; that the first-order solution loses only a third-order amount of the true maximum is derived in docs/theory.md
section 8.1."""

from __future__ import annotations

import numpy as np
import sympy as sp
from scipy.optimize import minimize_scalar

from ... import landscapes
from ...dynamics import PerSampleSAM, sam_ascent
from .._common import fmt
from ..smoothing import dual_norm_ascent
from .registry import Outcome, cite, claim, derived

_PS = (1.0, 1.5, 2.0, 3.0, np.inf)


@claim("linearized_inner_max", cite("foret2021", "the first-order solution of the inner maximization"))
def _linearized_inner_max():
    """The maximizer of g^T eps over ||eps||_p <= rho is rho sign(g)|g|^(q-1)/||g||_q^(q-1) with 1/p + 1/q = 1
    (dual_norm_ascent), attaining rho ||g||_q; for p = 2 it is rho g/||g|| (SymPy, Lagrange), which is exactly the
    simulator's SAM ascent and, sample by sample, PerSampleSAM's.

    Tolerance: for p = 1, 1.5, 2, 3, inf and 50 random gradients in R^4, eps must have p-norm rho and attain
    rho ||g||_q within 1e-12 relative, and no one of 20,000 random points of the p-sphere may exceed it (beyond
    1e-12); the simulator's ascents must agree within 1e-15 (one rounding)."""
    g1, g2 = sp.symbols("g1 g2", real=True)
    rho = sp.Symbol("rho", positive=True)
    norm = sp.sqrt(g1**2 + g2**2)
    eps = (rho * g1 / norm, rho * g2 / norm)
    # KKT for max g^T eps s.t. ||eps||^2 = rho^2: g = 2 mu eps with mu = ||g||/(2 rho) >= 0, and the value is
    # rho ||g||, the Cauchy-Schwarz bound, so this critical point is the maximum
    stationary = all(sp.cancel(g - 2 * (norm / (2 * rho)) * e) == 0 for g, e in zip((g1, g2), eps))
    on_sphere = sp.cancel(eps[0] ** 2 + eps[1] ** 2 - rho**2) == 0
    attains = sp.cancel(sp.together(g1 * eps[0] + g2 * eps[1] - rho * norm)) == 0
    lagrange_ok = stationary and on_sphere and attains
    rng = np.random.default_rng(9)
    grads = rng.normal(size=(50, 4))
    radius = 0.7
    norm_ok, value_ok, brute_ok = True, True, True
    for p in _PS:
        q = np.inf if p == 1 else (1.0 if np.isinf(p) else p / (p - 1))
        eps = dual_norm_ascent(grads, radius, p)
        value = np.sum(grads * eps, axis=-1)
        norm_ok &= bool(np.allclose(np.linalg.norm(eps, ord=p, axis=-1), radius, rtol=1e-12, atol=0))
        value_ok &= bool(np.allclose(value, radius * np.linalg.norm(grads, ord=q, axis=-1), rtol=1e-12, atol=0))
        trial = rng.normal(size=(20_000, 4))
        trial *= radius / np.linalg.norm(trial, ord=p, axis=-1, keepdims=True)
        brute_ok &= bool(np.all((trial @ grads.T).max(axis=0) <= value * (1 + 1e-12)))
    land = landscapes.get("tanh", xs=(0.6, 1.0, 1.3), ys=(0.0, 0.0, 0.0))
    points = land.random_points(100, seed=10)
    sam_error = float(np.max(np.abs(sam_ascent(land, points, 0.3) - points
                                    - dual_norm_ascent(land.grad(points), 0.3, 2.0))))
    batch = np.broadcast_to(np.arange(land.n_samples), (len(points), land.n_samples))[..., None]
    per_sample = PerSampleSAM(0.1, 0.3).perturbed_point(land, points[:, None, :], 0, batch, None) - points[:, None, :]
    sample_grads = land.grad(np.broadcast_to(points[:, None, :], per_sample.shape), batch=batch)
    per_sample_error = float(np.max(np.abs(per_sample - dual_norm_ascent(sample_grads, 0.3, 2.0))))
    return Outcome(
        hypotheses={"SymPy: eps = rho g/||g|| satisfies the Lagrange conditions for p = 2 and attains the "
                    "Cauchy-Schwarz bound rho ||g||": bool(lagrange_ok)},
        checks={"||eps||_p = rho within 1e-12 for every p and gradient": norm_ok,
                "g^T eps = rho ||g||_q within 1e-12 relative": value_ok,
                "no random point of the p-sphere does better (20,000 per p)": brute_ok,
                "the simulator's SAM ascent is dual_norm_ascent with p = 2 (within 1e-15)": sam_error <= 1e-15,
                "PerSampleSAM's per-sample ascents are dual_norm_ascent of each sample's gradient (within 1e-15)":
                    per_sample_error <= 1e-15},
        predicted="eps = rho sign(g)|g|^(q-1)/||g||_q^(q-1), value rho ||g||_q",
        observed=f"simulator ascent error {fmt(sam_error, 2)}, per-sample {fmt(per_sample_error, 2)}",
        tolerance="1e-12 relative (norms, values), 1e-15 (the simulator's ascents)",
        method="SymPy: Lagrange conditions; NumPy: dual_norm_ascent, brute force, the simulator's ascents",
        details={"ps": [str(p) for p in _PS], "sam_ascent_error": sam_error, "per_sample_error": per_sample_error},
    )


def _max_on_circle(land, x, rho, center_angle):
    """max over ||eps|| = rho of L(x + eps) in 2-D, near the ascent direction (Brent's method on the angle)."""
    value = lambda a: -float(land.value(x + rho * np.array([np.cos(a), np.sin(a)])))
    found = minimize_scalar(value, bounds=(center_angle - 1.0, center_angle + 1.0), method="bounded",
                            options={"xatol": 1e-13})
    return -found.fun


@claim("inner_max_gap_third_order", cite("foret2021", "the first-order approximation of the inner maximization"),
       derived("foret2021", "the gap rho^3 ||(I - u u^T) H u||^2/(2 ||g||)"))
def _inner_max_gap_third_order():
    """The first-order ascent loses only a third-order amount: max over ||eps|| <= rho of f(x + eps) minus
    f(x + rho g/||g||) is rho^3 ||(I - u u^T) H u||^2/(2 ||g||) + O(rho^4) (u = g/||g||, H the Hessian); on
    Himmelblau's function at 6 points the ratio of the gap to that term tends to 1 as rho halves from 0.1 to 0.0125.

    Tolerance: the O(rho^4) term makes the ratio's error shrink about by half per halving of rho; it must shrink by
    a factor <= 0.6 per halving and be below 5% at rho = 0.0125. The maximum over the circle is found by Brent's
    method on the angle to 1e-13 (the maximum value is flat in the angle there)."""
    land = landscapes.get("himmelblau")
    points = land.random_points(6, seed=8)
    rhos = np.array([0.1, 0.05, 0.025, 0.0125])
    ratios = np.empty((len(points), len(rhos)))
    for i, x in enumerate(points):
        g, hess = land.grad(x), land.hessian(x)
        norm = float(np.linalg.norm(g))
        u = g / norm
        tangent = hess @ u - (u @ hess @ u) * u
        angle = float(np.arctan2(u[1], u[0]))
        for j, rho in enumerate(rhos):
            ascent = float(land.value(x + dual_norm_ascent(g, rho, 2.0)))
            ratios[i, j] = (_max_on_circle(land, x, rho, angle) - ascent) / (rho**3 * (tangent @ tangent) / (2 * norm))
    errors = np.abs(ratios - 1)
    shrink = errors[:, 1:] / errors[:, :-1]
    return Outcome(
        hypotheses={"the gradient is away from zero at every point (||g|| > 1)":
                        bool(np.all(np.linalg.norm(land.grad(points), axis=-1) > 1))},
        checks={"the ratio's error shrinks by a factor <= 0.6 per halving of rho": bool(np.all(shrink <= 0.6)),
                "the ratio is within 5% of 1 at rho = 0.0125 at every point": bool(np.all(errors[:, -1] < 0.05))},
        predicted="gap / (rho^3 ||(I - uu^T)Hu||^2/(2||g||)) -> 1",
        observed=f"ratios at rho = 0.0125: {', '.join(fmt(v, 4) for v in ratios[:, -1])}; error shrink per halving "
                 f"<= {fmt(np.max(shrink), 3)}",
        tolerance="shrink <= 0.6 per halving; 5% at the smallest rho",
        method="NumPy: exact gradient and Hessian, dual_norm_ascent; SciPy: Brent's method on the circle",
        details={"rhos": rhos, "ratios": ratios},
    )
