"""Normalized SAM never settles at the minimum of a quadratic: it bounces on a 2-cycle of known size.

On L = lam z^2 / 2 the iterates end at +-lr*lam*rho/(2 - lr*lam) (samscape.theory.sam_two_cycle; P2 Thm 4.8 in
1-D). Run: python examples/sam_two_cycle.py
"""

import numpy as np

from samscape import dynamics, landscapes, theory

lam, lr, rho = 4.0, 0.3, 0.1
land = landscapes.from_expr(f"0.5*{lam}*z**2", ["z"])
run = dynamics.simulate(land, dynamics.SAM(lr=lr, rho=rho), np.array([[1.0], [-0.2]]), steps=400)
print(f"predicted amplitude {theory.sam_two_cycle(lr, rho, lam):.6f}")
print("last three iterates of each start:")
print(np.round(run.xs[-3:, :, 0].T, 6))
