"""Claims of Dai, Ahn & Sra 2023 (NeurIPS 2023, arXiv:2305.15287): normalizing SAM's ascent stabilizes it and lets
it drift along a manifold of minima, which makes it robust to rho. The abstract states both roles; the toys and the
thresholds checked here are derived in docs/theory.md section 8.7."""

from __future__ import annotations

import numpy as np

from ... import landscapes
from ...dynamics import SAM, USAM
from .._common import fmt
from ..sharpness import manifold_drift
from ..stability import gd_threshold, sam_two_cycle, usam_factor, usam_rho_edge
from ._tools import geometric_rate, shared_run, simulate
from .registry import Outcome, cite, claim, derived


@claim("normalization_stabilizes", cite("dai2023", "abstract: normalization stabilizes SAM"),
       derived("dai2023", "USAM's rho edge against SAM's cycle"))
def _normalization_stabilizes():
    """On lambda x^2/2 with lambda = 1 and lr = 1.5 (GD-stable, lr lambda < 2), USAM is stable only for
    rho < usam_rho_edge(lr, lambda) = 1/3: at 0.995 and 1.005 times that edge its per-step factor is
    |1 - lr lambda (1 + rho lambda)|, below and above 1, and at rho = 0.4, 0.5, 1 it diverges; normalized SAM stays
    bounded for every rho from 1e-3 to 10, ending on its 2-cycle lr lambda rho/(2 - lr lambda).

    Tolerance: the maps are affine in 1-D (USAM exactly linear), so rates match usam_factor within 1e-9 and SAM's
    amplitude matches sam_two_cycle within 1e-12 relative after 200 steps (its cycle attracts with
    (1 - lr lambda)^2 = 0.25 per two steps)."""
    lam, lr = 1.0, 1.5
    land = landscapes.get("quadratic", eigenvalues=(lam,))
    edge = usam_rho_edge(lr, lam)
    bracket = np.array([0.995, 1.005]) * edge
    unstable = np.array([0.4, 0.5, 1.0])
    rhos = np.concatenate([bracket, unstable])
    usam = simulate(land, USAM(lr, rhos), np.ones((len(rhos), 1)), 400, every=1, seed=0)
    rates = [geometric_rate(usam.xs[:60, i, 0]) for i in range(2)]
    predicted = [usam_factor(lr, r, lam) for r in bracket]
    sam_rhos = np.geomspace(1e-3, 10.0, 9)
    sam = simulate(land, SAM(lr, sam_rhos), np.ones((len(sam_rhos), 1)), 200, every=1, seed=0)
    amplitude_error = float(np.max(np.abs(np.abs(sam.x[:, 0]) / sam_two_cycle(lr, sam_rhos, lam) - 1)))
    # a deviation from the cycle shrinks by |1 - lr lambda| every step, so |x_t| <= |x_0| + 2 x amplitude
    bounded = bool(np.all(np.abs(sam.xs[..., 0]) <= 1.0 + 2 * sam_two_cycle(lr, sam_rhos, lam)))
    return Outcome(
        hypotheses={"GD is stable (lr lambda < 2)": lam < gd_threshold(lr)},
        checks={"USAM's rate at 0.995 and 1.005 x the rho edge equals usam_factor within 1e-9":
                    all(abs(o / p - 1) <= 1e-9 for o, p in zip(rates, predicted)),
                "the rate is below 1 at 0.995 x the edge and above 1 at 1.005 x": rates[0] < 1 < rates[1],
                "USAM diverges at rho = 0.4, 0.5, 1": bool(np.all(usam.status[2:] == "diverged")),
                "SAM stays within |x_0| + 2 x its cycle amplitude for 9 rho from 1e-3 to 10": bounded,
                "SAM ends on its 2-cycle within 1e-12 relative for every rho": amplitude_error <= 1e-12},
        predicted=(f"USAM edge rho = {fmt(edge)}; factors {fmt(predicted[0], 6)}, {fmt(predicted[1], 6)}; "
                   "SAM bounded for every rho"),
        observed=(f"USAM rates {fmt(rates[0], 6)}, {fmt(rates[1], 6)}; diverged at "
                  + ", ".join(fmt(r) for r in unstable[usam.status[2:] == "diverged"])
                  + f"; SAM amplitude error {fmt(amplitude_error, 2)}"),
        tolerance="1e-9 (rates), 1e-12 (cycle)",
        method="NumPy: usam_rho_edge, usam_factor, sam_two_cycle, simulation",
        details={"lr": lr, "lambda": lam, "rho_edge": edge, "usam_rates": rates, "predicted": predicted,
                 "usam_status": usam.status.tolist(), "sam_rhos": sam_rhos, "sam_amplitude_error": amplitude_error},
    )


def _manifold_sharpness(x: np.ndarray) -> np.ndarray:
    """u^2 + v^2 at the point of the hyperbola uv = 1 with the same balancedness B = u^2 - v^2: sqrt(B^2 + 4)."""
    balance = x[..., 0] ** 2 - x[..., 1] ** 2
    return np.sqrt(balance**2 + 4.0)


@claim("normalization_drifts", cite("dai2023", "abstract: normalization lets SAM drift along the minima"),
       derived("dai2023", "USAM and GD freeze on the hyperbola"))
def _normalization_drifts():
    """On 0.5 (uv - 1)^2, whose minimizers uv = 1 have sharpness u^2 + v^2 >= 2, SAM (lr = rho = 0.1) from
    (2.5, 0.3), (3, 0.2) and (0.25, 2.8) drifts along the hyperbola to the flattest minimizers (sharpness within 1% of
    2), while USAM with the same rho and GD stop where they first reach it: frozen late, with USAM's sharpness
    within 3% of GD's.

    Tolerance: SAM's sharpness is read at the hyperbola's point with the same balancedness (sqrt(B^2 + 4)), which
    does not bounce with the cycle; "frozen" means no coordinate moves by more than 1e-10 over the second half of
    3000 steps. P2's predicted drift rate (manifold_drift) is reported, not checked: at rho = 0.1 it is off by
    about 3% here (its rho -> 0 limit; other claims check it tightly)."""
    lr, rho, steps = 0.1, 0.1, 3000
    starts = np.array([[2.5, 0.3], [3.0, 0.2], [0.25, 2.8]])
    # shared with balancedness (li2024): USAM with rho = 0 is GD
    land, sam = shared_run("quadratic_regression", SAM(lr, rho), starts, steps, every=1)
    _, others = shared_run("quadratic_regression", USAM(lr, np.array([0.0] * 3 + [rho] * 3)), np.tile(starts, (2, 1)),
                           steps, every=1)
    sam_end = _manifold_sharpness(sam.x)
    gd_end, usam_end = _manifold_sharpness(others.x[:3]), _manifold_sharpness(others.x[3:])
    late_move = float(np.max(np.abs(others.xs[-1] - others.xs[steps // 2])))
    # P2's drift, for the record: the balancedness velocity 2u du - 2v dv at the hyperbola's point of step 300
    window = (200, 400)
    rate_ratio = []
    for i in range(3):
        b = sam.xs[list(window), i, 0] ** 2 - sam.xs[list(window), i, 1] ** 2
        mid = 0.5 * (b[0] + b[1])
        u2 = 0.5 * (mid + np.sqrt(mid**2 + 4.0))
        point = np.sign(starts[i, 0]) * np.array([np.sqrt(u2), 1.0 / np.sqrt(u2)])
        velocity = manifold_drift(land, point, lr, rho).velocity
        rate_ratio.append(float((b[1] - b[0]) / (window[1] - window[0]) / (2 * point @ (velocity * [1, -1]))))
    return Outcome(
        hypotheses={"lr x sharpness < 2 where the paths meet the hyperbola (SAM's cycle exists)":
                        bool(np.all(gd_end < gd_threshold(lr)))},
        checks={"SAM ends within 1% of the flattest sharpness 2 from every start": bool(np.all(sam_end < 2.02)),
                "GD and USAM are frozen over the second half (moves < 1e-10)": late_move < 1e-10,
                "USAM's final sharpness is within 3% of GD's from every start":
                    bool(np.all(np.abs(usam_end / gd_end - 1) < 0.03)),
                "GD and USAM stay sharper than 1.5 x SAM's end": bool(np.all(np.minimum(gd_end, usam_end) > 1.5 * sam_end))},
        predicted="SAM -> sharpness 2 (u = v = +-1); USAM, GD frozen where they land",
        observed=(f"SAM {', '.join(fmt(v, 4) for v in sam_end)}; GD {', '.join(fmt(v, 4) for v in gd_end)}; "
                  f"USAM {', '.join(fmt(v, 4) for v in usam_end)}; late moves {fmt(late_move, 2)}; "
                  f"SAM's drift / P2's (not checked) {', '.join(fmt(r, 3) for r in rate_ratio)}"),
        tolerance="1% (SAM's end), 1e-10 (frozen), 3% (USAM vs GD)",
        method="NumPy: simulation; SymPy third derivatives in manifold_drift (reported only)",
        details={"lr": lr, "rho": rho, "sam_end": sam_end, "gd_end": gd_end, "usam_end": usam_end,
                 "late_move": late_move, "drift_rate_over_p2": rate_ratio},
    )
