"""The cross-check scripts (scripts/crosscheck_asam.py, scripts/crosscheck_gsam.py) run quickly here, so they cannot
rot: each compares samscape's class with the reference code's rule re-expressed in NumPy, and the test asserts
what it reports: within its tolerance at every step, its by-design differences where their formulas put them, and
its control (a different rule) far outside the tolerance."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
STEPS = 6
# runs each script must report: plain, with their example's momentum, and (GSAM) under their cosine schedule
RUNS = {"crosscheck_asam": {"tanh", "quadratic", "diag_net", "tanh m=0.9", "diag_net m=0.9"},
        "crosscheck_gsam": {"tanh", "quadratic", "diag_net", "tanh cos", "tanh cos m=0.9"}}


def load(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=["crosscheck_asam", "crosscheck_gsam"])
def script(request):
    return load(request.param)


@pytest.fixture(scope="module")
def result(script):
    return script.crosscheck(STEPS)


def test_samscape_follows_the_reference_rule_at_every_step(script, result):
    assert set(result.differences) >= RUNS[script.__name__]
    for label, differences in result.differences.items():
        assert differences.shape == (STEPS + 1,)
        assert np.all(differences <= script.TOLERANCE), (label, differences)


def test_a_different_rule_fails_the_comparison(script, result):
    (size,) = result.control.values()
    assert size > 1e3 * script.TOLERANCE


def test_their_denominator_eps_shortens_the_step_as_predicted(result):
    """One step from a point whose (scaled) gradient norm equals their eps: their perturbation is half as long, and
    the script measures the relative difference of the steps that their formula predicts."""
    rows = list(result.design.values())
    measured, predicted = rows[1], rows[2]
    assert predicted == pytest.approx(0.5, abs=1e-6)
    assert measured == pytest.approx(predicted, rel=1e-6)


def test_main_prints_the_table_and_exits_zero(script, capsys):
    assert script.main(["--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n   2 ") == 1  # the row of step 2
    assert "(tolerance 1e-12): ok" in out


def test_main_exits_one_when_the_tolerance_is_exceeded(script, monkeypatch, capsys):
    monkeypatch.setattr(script, "TOLERANCE", 0.0)  # rounding differences of a few ulps now exceed it
    assert script.main(["--steps", "3"]) == 1
    assert "EXCEEDED" in capsys.readouterr().out


def test_asam_rescales_what_their_code_leaves_alone():
    """Their code rescales only parameters named "weight": with the neuron's b a bias, the first step already differs
    by far more than the tolerance, the design difference the ASAM script reports."""
    asam = load("crosscheck_asam")
    landscape = asam.neuron()
    x0 = np.array([0.8, -0.3])
    ours = load("crosscheck_common").samscape_path(landscape, asam.ours(1), x0[None])[0][1, 0]
    all_weights = asam.their_step(landscape, denominator_eps=0.0)(x0, np.zeros(2), 0)[0]
    with_bias = asam.their_step(landscape, weight=[True, False], denominator_eps=0.0)(x0, np.zeros(2), 0)[0]
    assert np.max(np.abs(ours - all_weights)) <= asam.TOLERANCE
    assert np.max(np.abs(ours - with_bias)) > 1e-4


def test_their_momentum_is_pytorchs_and_samscapes():
    """The runs with their example's momentum compare along samscape's velocity; without samscape's momentum their
    rule with momentum 0.9 parts from samscape's path at once, so those columns check the momentum."""
    asam = load("crosscheck_asam")
    landscape, x0 = asam.problems()["tanh"]
    common = load("crosscheck_common")
    assert np.max(common.compare(asam.their_step(landscape, momentum=asam.MOMENTUM, denominator_eps=0.0), landscape,
                               asam.ours(STEPS, asam.MOMENTUM), x0)[0]) <= asam.TOLERANCE
    assert common.largest_along(asam.their_step(landscape, momentum=asam.MOMENTUM, denominator_eps=0.0), landscape,
                              asam.ours(STEPS), x0) > 1e-4


def test_gsam_schedule_follows_their_loop():
    """Their loop steps the lr scheduler after each update and both schedulers start from its initial 0: step 0 runs
    with the optimizer's own lr and rho_min, step k >= 1 with the cosine at k - 1 and rho proportional to it."""
    gsam = load("crosscheck_gsam")
    lr, rho_max, rho_min, steps = 0.1, 0.05, 0.02, 8
    schedule = gsam.their_schedule(steps, lr, rho_max, rho_min)
    assert schedule[0] == (lr, rho_min)
    for k in range(1, steps):
        expected_lr = lr * (np.cos(np.pi * (k - 1) / steps) + 1) / 2
        assert schedule[k][0] == pytest.approx(expected_lr, rel=1e-14)
        assert schedule[k][1] == pytest.approx(rho_min + (rho_max - rho_min) * expected_lr / lr, rel=1e-14)
