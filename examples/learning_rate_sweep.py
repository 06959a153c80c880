"""One call sweeps a grid of (lr, rho): USAM is stable at a minimum of curvature lam iff lr*lam*(1+rho*lam) <= 2.

Every start sits near the minimum of lam z^2/2 and gets its own lr and rho; the table compares the
simulated fate with the stability boundary (THEORY.md §4). Run: python examples/learning_rate_sweep.py
"""

import numpy as np

from samscape import dynamics, landscapes

lam = 10.0
land = landscapes.from_expr(f"0.5*{lam}*z**2", ["z"])
lrs, rhos = np.meshgrid(np.linspace(0.05, 0.25, 5), [0.0, 0.05, 0.2], indexing="ij")
lrs, rhos = lrs.ravel(), rhos.ravel()
run = dynamics.simulate(land, dynamics.USAM(lr=lrs, rho=rhos), np.full((lrs.size, 1), 1e-3), steps=300, bound=1.0)
predicted_stable = lrs * lam * (1 + rhos * lam) <= 2
for lr, rho, stable, status in zip(lrs, rhos, predicted_stable, run.status):
    print(f"lr={lr:.2f} rho={rho:.2f}  theory: {'stable  ' if stable else 'unstable'}  simulation: {status}")
agree = np.mean(predicted_stable == (run.status == "ok"))
print(f"agreement: {agree:.0%}")
