"""Shared fixtures for the plot tests: a headless backend and small runs on catalog landscapes."""

import matplotlib

matplotlib.use("Agg")  # headless; samscape.plots never uses pyplot, but a test helper might

import numpy as np
import pytest

from samscape import dynamics, landscapes


@pytest.fixture(scope="session")
def tanh():
    return landscapes.get("tanh")


@pytest.fixture(scope="session")
def switch_run(tanh):
    """GD for 20 steps, then SAM, from two starts on the tanh landscape; every step saved."""
    opt = dynamics.Switch(dynamics.GD(0.5), dynamics.SAM(0.5, 0.2), at=20)
    return dynamics.simulate(tanh, opt, np.array([[2.5, 0.8], [-2.2, -0.9]]), 60, every=1, seed=0,
                             backend="numpy")
