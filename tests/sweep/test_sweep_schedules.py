"""A sweep of an optimizer with a schedule: the store's recipe holds the schedule, and a cell is the simulate call."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("xarray")
pytest.importorskip("zarr")

from samscape import dynamics, landscapes, sweep  # noqa: E402
from samscape.dynamics.schedules import Cosine  # noqa: E402
from samscape.sweep import engine  # noqa: E402


def test_a_sweep_store_records_the_schedule_and_runs_it(tmp_path):
    """Sweeping rho under a cosine lr: the stored recipe rebuilds the optimizer with its schedule, and the cell of
    rho = 0.2 is simulate with that schedule and rho, bit for bit."""
    land = landscapes.get("tanh")
    opt = dynamics.SAM(lr=Cosine(0.3, steps=20), rho=0.1)
    ds = sweep.run(land, opt, grid={"rho": [0.05, 0.2]}, store=tmp_path / "s.zarr", starts="grid:-3:3:-1:1:2x2",
                   steps=25, client="synchronous", backend="numpy", progress=False)
    assert dynamics.optimizer_from_dict(engine.read_recipe(str(tmp_path / "s.zarr"))["optimizer"]) == opt
    direct = dynamics.simulate(land, dynamics.SAM(lr=Cosine(0.3, steps=20), rho=0.2), ds["x0"].values, 25, seed=0,
                               backend="numpy")
    np.testing.assert_array_equal(ds["x"].sel(rho=0.2).values, direct.x)
