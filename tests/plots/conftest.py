"""Shared fixtures for the plot tests: a headless backend and small runs on catalog landscapes."""

import matplotlib

matplotlib.use("Agg")  # headless: the figures plots make with ax=None are pyplot figures

import matplotlib.pyplot as plt
import numpy as np
import pytest

from samscape import dynamics, landscapes


@pytest.fixture(autouse=True)
def _close_figures():
    """Each test's pyplot figures are closed after it, as a notebook's inline backend closes them after a cell."""
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def tanh():
    return landscapes.get("tanh")


@pytest.fixture(scope="session")
def switch_run(tanh):
    """GD for 20 steps, then SAM, from two starts on the tanh landscape; every step saved."""
    opt = dynamics.Switch(dynamics.GD(0.5), dynamics.SAM(0.5, 0.2), at=20)
    return dynamics.simulate(tanh, opt, np.array([[2.5, 0.8], [-2.2, -0.9]]), 60, every=1, seed=0,
                             backend="numpy")


@pytest.fixture(scope="session")
def search_of():
    """``build(x, stable)``: a theory.HallucinationSearch holding the points ``x (k, dim)`` with the given stability
    (True, False or None per point), as find_hallucinated returns it, for drawing hand-placed points."""
    from samscape import theory

    def build(x, stable):
        x = np.asarray(x, dtype=float)
        points = [theory.HallucinatedPoint(x=p, x_plus=np.full_like(p, np.nan), grad=np.ones_like(p),
                                           grad_plus=np.zeros_like(p), landing="minimum",
                                           landing_eigenvalues=np.ones_like(p), stable=s)
                  for p, s in zip(x, stable)]
        bounds = np.column_stack([x.min(axis=0) - 1.0, x.max(axis=0) + 1.0])
        return theory.HallucinationSearch(rho=1.0, bounds=bounds, lr=None, points=points)

    return build
