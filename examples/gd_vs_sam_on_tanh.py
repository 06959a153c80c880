"""GD stays where it lands on the valley of 1/2 tanh^2(v tanh u); SAM drifts along it to the flat end.

P3 (Zhou et al., ICLR 2025), Example 4.1: every point of v = 0 is a minimizer, and the sharpness there is
tanh(u)^2, so small |u| is flat. Run: python examples/gd_vs_sam_on_tanh.py
"""

import numpy as np

from samscape import dynamics, landscapes

land = landscapes.get("tanh")
start = np.array([[2.5, 0.3]])
runs = {}
for optimizer in (dynamics.GD(lr=0.5), dynamics.USAM(lr=0.5, rho=0.1), dynamics.SAM(lr=0.5, rho=0.1)):
    runs[optimizer] = run = dynamics.simulate(land, optimizer, start, steps=5000, every=500)
    u, v = run.x[0]
    sharpness = np.linalg.eigvalsh(land.hessian(run.x))[0, -1]
    print(f"{optimizer.describe():24s} u = {u:+.3f}   |v| = {abs(v):.1e}   sharpness = {sharpness:.3f}")
