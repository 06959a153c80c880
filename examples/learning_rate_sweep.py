"""One call sweeps a grid of (lr, rho): USAM is stable at a minimum of curvature lam iff lr*lam*(1+rho*lam) <= 2.

Every start sits near the minimum of lam z^2/2 and gets its own lr and rho; the table compares the simulated
fate with the per-step factor |1 - lr*lam*(1+rho*lam)| of samscape.theory.usam_factor (stable iff <= 1).
Run: python examples/learning_rate_sweep.py
"""

import numpy as np

from samscape import dynamics, landscapes, theory

land = landscapes.from_expr("5*z**2", ["z"])
lam = float(land.hessian(np.zeros(1))[0, 0])  # curvature at the minimum z = 0
# Odd eighths of GD's edge 2/lam, with rho*lam in {0, 0.5, 2}: the edges 2/(lam*(1 + rho*lam)) fall at 1, 2/3 and
# 1/3 of 2/lam, so no start sits on one, where the verdict would be decided by rounding.
lr_grid = theory.gd_lr_edge(lam) * np.arange(1, 12, 2) / 8
rho_grid = np.array([0.0, 0.5, 2.0]) / lam
lrs, rhos = (grid.ravel() for grid in np.meshgrid(lr_grid, rho_grid, indexing="ij"))
run = dynamics.simulate(land, dynamics.USAM(lr=lrs, rho=rhos), np.full((lrs.size, 1), 1e-3), steps=300, bound=1.0)
factor = theory.usam_factor(lrs, rhos, lam)
predicted_stable = factor <= 1
for lr, rho, f, stable, status in zip(lrs, rhos, factor, predicted_stable, run.status):
    verdict = "stable  " if stable else "unstable"
    print(f"lr={lr:.4f} rho={rho:.2f}  factor={f:.3f}  theory: {verdict}  simulation: {status}")
agree = np.mean(predicted_stable == (run.status == "ok"))
print(f"agreement: {agree:.0%}")
