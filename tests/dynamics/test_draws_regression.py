"""The counter-based draws are pinned: the values in draws_regression.json (written once by
make_draws_regression.py) must come out of both the NumPy draws and the compiled kernel.

Every saved run's batches and random directions are functions of its seed through this hash, so a change
to it would silently change every saved run; here it fails loudly instead.
"""

from __future__ import annotations

import importlib.util
import json
import os

import numpy as np
import pytest

from samscape import dynamics as dy
from samscape import landscapes
from samscape.dynamics import draws

with open(os.path.join(os.path.dirname(__file__), "draws_regression.json"), encoding="utf-8") as _handle:
    PINNED = json.load(_handle)
CASES = PINNED["cases"]
needs_numba = pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba is not installed")


def case_id(case) -> str:
    return f"seed={case['seed']},step={case['step']}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_numpy_draws_match_the_pinned_values(case):
    """uniforms, batch_indices and unit_directions reproduce the file bit for bit."""
    ids = np.array(case["start_ids"], dtype=np.int64)
    for stream, values in case["uniforms"].items():
        got = draws.uniforms(case["seed"], ids, case["step"], int(stream), len(values[0]))
        np.testing.assert_array_equal(got, np.array(values))
    got = draws.batch_indices(case["seed"], ids, case["step"], PINNED["batch_size"], PINNED["n_samples"])
    np.testing.assert_array_equal(got, np.array(case["batch_indices"]))
    for dim, values in case["unit_directions"].items():
        np.testing.assert_array_equal(draws.unit_directions(case["seed"], ids, case["step"], int(dim)), np.array(values))


def test_the_pinned_draws_are_what_they_claim():
    """The file is self-consistent: a batch index is floor(n_samples * u) of the batch stream's uniforms, and a
    direction has unit length (so a hand edit that breaks either shows up)."""
    for case in CASES:
        u = np.array(case["uniforms"][str(draws.STREAM_BATCH)])
        head = np.array(case["batch_indices"])[:, : u.shape[1]]
        np.testing.assert_array_equal(head, np.floor(u * PINNED["n_samples"]).astype(int))
        for values in case["unit_directions"].values():
            np.testing.assert_allclose(np.linalg.norm(values, axis=1), 1.0, rtol=1e-15)


@needs_numba
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_kernel_batches_match_the_pinned_indices(case):
    """SGD(lr=1) on 0.5*(x - a)**2 with a_i = 8**i lands each step on the mean of its batch's a_i, exactly (all
    integers below 2**53, a batch of 4): the base-8 digits of 4 * x count how often each index was drawn, which
    must be the pinned batch's counts at the pinned step."""
    n, b = PINNED["n_samples"], PINNED["batch_size"]
    landscape = landscapes.from_expr("0.5*(x - a)**2", ["x"], samples={"a": [8.0**i for i in range(n)]})
    x0 = np.zeros((len(case["start_ids"]), 1))
    run = dy.simulate(landscape, dy.SGD(lr=1.0, batch_size=b), x0, case["step"] + 1, every=case["step"] + 1,
                      seed=case["seed"], start_ids=np.array(case["start_ids"]), bound=1e12, backend="compiled")
    total = np.rint(b * run.x[:, 0]).astype(np.int64)
    counts = np.stack([(total // 8**i) % 8 for i in range(n)], axis=1)
    expected = np.stack([np.bincount(row, minlength=n) for row in case["batch_indices"]])
    np.testing.assert_array_equal(counts, expected)
    assert np.all(b * run.x[:, 0] == total)  # the mean was exact, so the decoding above is too


@needs_numba
@pytest.mark.parametrize("dim", [1, 3])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_kernel_directions_match_the_pinned_directions(case, dim):
    """GD stays at 0 on 0.5*|x|**2 until the Switch, then one RandomSAM(lr=1, rho=1) step from 0 lands exactly on
    minus its direction: the kernel's direction at the pinned step equals the pinned one (to a few ulp: the
    kernel takes sin, cos and log1p from the C library, NumPy from its own; a changed hash differs in every digit)."""
    names = ["u", "v", "w"][:dim]
    landscape = landscapes.from_expr("0.5*(" + " + ".join(f"{v}**2" for v in names) + ")", names)
    t = case["step"]
    optimizer = dy.Switch(dy.GD(lr=1.0), dy.RandomSAM(lr=1.0, rho=1.0), at=t)
    run = dy.simulate(landscape, optimizer, np.zeros((len(case["start_ids"]), dim)), t + 1, every=t + 1,
                      seed=case["seed"], start_ids=np.array(case["start_ids"]), backend="compiled")
    np.testing.assert_allclose(-run.x, np.array(case["unit_directions"][str(dim)]), rtol=1e-14, atol=1e-15)


def test_numpy_backend_directions_are_the_pinned_ones():
    """The same one-step RandomSAM from 0 on the NumPy backend gives minus the pinned direction bit for bit (the
    step primitive draws through dynamics.draws)."""
    case = CASES[1]
    x_next = dy.step(landscapes.from_expr("0.5*(u**2 + v**2 + w**2)", ["u", "v", "w"]), dy.RandomSAM(lr=1.0, rho=1.0),
                     np.zeros((len(case["start_ids"]), 3)), case["step"], seed=case["seed"],
                     start_ids=np.array(case["start_ids"]))
    np.testing.assert_array_equal(-x_next, np.array(case["unit_directions"]["3"]))
