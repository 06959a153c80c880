"""Schedules of lr and rho: each factor against its formula (computed here), per-start values, round trips through
to_dict, load_run and a sweep store's recipe, bad input in one sentence, a NumPy run equal to a hand-written loop,
and the compiled kernel equal to NumPy bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from samscape import dynamics as dy
from samscape import landscapes
from samscape.dynamics import compiled
from samscape.dynamics.schedules import (SCHEDULES, Constant, Cosine, InverseTime, PerStep, StepDecay, WarmUp,
                                         schedule_from_dict)

STEPS = np.arange(0, 60)
# a polynomial landscape (no transcendental function: the kernel and NumPy compute its gradient bit for bit)
POLY = landscapes.from_expr("0.25*(u**2 - 1)**2 + 0.5*v**2*(1 + u**2)", ["u", "v"])
EXAMPLES = [Constant(0.3), StepDecay(0.3, 0.5, 7), InverseTime(0.3, 4.0), Cosine(0.3, 25), Cosine(0.3, 25, final=0.01),
            WarmUp(0.3, 9), PerStep([0.5, 0.25, 0.0, 2.0], value=0.3)]


def expected_factor(schedule, t: int) -> float:
    """The factor of step ``t`` from each schedule's formula, written out here."""
    if isinstance(schedule, Constant):
        return 1.0
    if isinstance(schedule, StepDecay):
        return schedule.factor ** (t // schedule.every)
    if isinstance(schedule, InverseTime):
        return 1.0 / (1.0 + t / schedule.tau)
    if isinstance(schedule, Cosine):  # the value goes from value to final; the factor is that over value
        half = 0.5 * (1 + math.cos(math.pi * min(t, schedule.steps) / schedule.steps))
        if not schedule.final:
            return half
        return (schedule.final + (schedule.value - schedule.final) * half) / schedule.value
    if isinstance(schedule, WarmUp):
        return min(1.0, (t + 1) / schedule.steps)
    return schedule.values[min(t, len(schedule.values) - 1)]


@pytest.mark.parametrize("schedule", EXAMPLES, ids=lambda s: s.kind + ("_final" if getattr(s, "final", 0) else ""))
def test_each_factor_follows_its_formula_whichever_chunk_asks(schedule):
    """factor(t) is the schedule's formula (to 1e-15 for the cosine with a final value, whose factor is a ratio,
    exactly otherwise), and a step's factor does not depend on the range of steps it was asked with: the compiled
    backend asks per chunk of steps, the NumPy backend per block."""
    got = schedule.factors(0, len(STEPS))
    want = np.array([expected_factor(schedule, int(t)) for t in STEPS])
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-17)
    if not (isinstance(schedule, Cosine) and schedule.final):
        np.testing.assert_array_equal(got, want)
    pieces = np.concatenate([schedule.factors(0, 13), schedule.factors(13, 14), schedule.factors(14, len(STEPS))])
    np.testing.assert_array_equal(pieces, got)


def test_the_ends_of_cosine_warm_up_and_per_step():
    """Cosine starts at its value and ends at its final value (then stays); the warm-up's first step is value/steps
    and it reaches value at t = steps - 1; PerStep keeps its last value past its end."""
    cosine = dy.GD(Cosine(0.2, 10, final=0.02)).for_starts(1).lr
    assert cosine.at(0) == 0.2 and cosine.at(10) == pytest.approx(0.02, rel=1e-15) and cosine.at(500) == cosine.at(10)
    assert 0.02 < cosine.at(9) < cosine.at(1) < 0.2
    warm = dy.GD(WarmUp(0.4, 4)).for_starts(1).lr
    assert [float(warm.at(t)) for t in range(6)] == [0.1, 0.2, 0.30000000000000004, 0.4, 0.4, 0.4]
    assert dy.GD(PerStep([1.0, 3.0])).for_starts(1).lr.at(10**6) == 3.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_per_start_values_are_a_column_times_one_factor_in_the_run_dtype(dtype):
    """A per-start value becomes an (n_starts, 1) column in the run's dtype; its value at step t is that column times
    the factor rounded to the dtype, a product in the dtype."""
    values = np.array([0.1, 0.2, 0.35])
    resolved = dy.GD(Cosine(values, 20)).for_starts(3, dtype).lr
    for t in (0, 7, 19, 20, 31):
        got = resolved.at(t)
        factor = np.asarray(expected_factor(Cosine(1.0, 20), t)).astype(dtype)
        assert got.shape == (3, 1) and got.dtype == dtype
        np.testing.assert_array_equal(got, values.astype(dtype)[:, None] * factor)
    with pytest.raises(ValueError, match="lr has 3 values but there are 2 starts"):
        dy.GD(Cosine(values, 20)).for_starts(2)


def test_an_unscheduled_optimizer_steps_as_itself():
    """at_step returns the very optimizer when nothing is scheduled (no copy per step), a copy holding the step's
    values otherwise, in a Switch's scheduled part only."""
    plain = dy.SAM(0.1, 0.05).for_starts(2)
    assert not plain.scheduled() and plain.at_step(5) is plain
    switch = dy.Switch(dy.GD(0.1), dy.SAM(lr=0.1, rho=StepDecay(0.05, 0.5, 2)), at=3).for_starts(2)
    stepped = switch.at_step(4)
    assert switch.scheduled() and stepped.first is switch.first
    assert stepped.second.rho == np.float64(0.05) * 0.5 ** 2


def test_multi_step_sams_alpha_follows_a_scheduled_rho():
    """MultiStepSAM without an alpha takes rho as its step, schedule included: at every step alpha is rho's value."""
    opt = dy.MultiStepSAM(0.1, rho=StepDecay(0.2, 0.5, 3), steps_ascent=2)
    resolved = opt.for_starts(2)
    for t in (0, 4, 9):
        stepped = resolved.at_step(t)
        assert stepped.alpha == stepped.rho == 0.2 * 0.5 ** (t // 3)
    assert dy.optimizer_from_dict(opt.to_dict()) == opt


def test_describe_shows_the_schedules():
    opt = dy.SAM(lr=Cosine(0.1, steps=1000), rho=PerStep(np.r_[np.zeros(50), 1.0], value=0.05))
    assert opt.describe() == "SAM(lr=Cosine(0.1, steps=1000), rho=PerStep(51 values, value=0.05))"
    assert dy.GD(lr=StepDecay([0.1, 0.3], 0.5, every=100)).describe() == \
        "GD(lr=StepDecay([0.1..0.3], factor=0.5, every=100))"
    assert repr(Cosine(0.1, 10, final=0.001)) == "Cosine(0.1, steps=10, final=0.001)"


@pytest.mark.parametrize("schedule", EXAMPLES + [Cosine([0.1, 0.2], 5)], ids=lambda s: s.kind)
def test_optimizers_with_schedules_round_trip_through_to_dict(schedule):
    """optimizer_from_dict(opt.to_dict()) == opt, with equal hashes, for every schedule, in a Switch too."""
    for opt in (dy.SAM(lr=schedule, rho=schedule), dy.Switch(dy.SGD(0.1, 2), dy.USAM(0.1, rho=schedule), at=4)):
        back = dy.optimizer_from_dict(opt.to_dict())
        assert back == opt and hash(back) == hash(opt) and back.describe() == opt.describe()
    assert schedule_from_dict(schedule.to_dict()) == schedule
    assert set(SCHEDULES) == {"constant", "step_decay", "inverse_time", "cosine", "warm_up", "per_step"}


def test_load_run_rebuilds_the_schedule_and_its_run(tmp_path):
    """A saved run's recipe holds its schedules: load_run gives the same optimizer, and rerunning it gives the run."""
    opt = dy.Switch(dy.GD(lr=WarmUp(0.2, 5)), dy.SAM(lr=InverseTime(0.3, 10.0), rho=StepDecay(0.1, 0.5, 4)), at=6)
    run = dy.simulate(POLY, opt, [[0.5, 1.0], [-1.5, 0.3]], 25, seed=3, backend="numpy")
    loaded = dy.load_run(run.save(tmp_path / "run.npz"))
    assert loaded.optimizer == opt
    again = dy.simulate(loaded.landscape, loaded.optimizer, loaded.x0, 25, seed=loaded.seed, backend="numpy")
    np.testing.assert_array_equal(again.xs, run.xs)


@pytest.mark.parametrize("make, fragment", [
    (lambda: Cosine(0.1, steps=0), "steps must be a positive integer, got 0"),
    (lambda: Cosine(-0.1, steps=5), "value must be a finite number >= 0 or an array of them, got -0.1"),
    (lambda: Cosine([0.1, 0.2], 5, final=0.01), "final must be 0 when value holds one value per start"),
    (lambda: StepDecay(0.1, factor=0.0, every=3), "factor must be a finite number > 0, got 0.0"),
    (lambda: StepDecay(0.1, factor=0.5, every=0), "every must be a positive integer, got 0"),
    (lambda: InverseTime(0.1, tau=-2), "tau must be a finite number > 0, got -2"),
    (lambda: WarmUp(0.1, steps=2.5), "steps must be a positive integer, got 2.5"),
    (lambda: PerStep([]), "values must be a 1-D array of at least one number"),
    (lambda: PerStep([0.1, np.nan]), "values must be finite and >= 0 everywhere, got nan at index 1"),
    (lambda: dy.SAM(lr=Constant(0.0), rho=0.1), "lr's schedule value must be a finite number > 0"),
    (lambda: dy.GSAM(0.1, 0.1, alpha=Constant(0.1)), "alpha must be a number or one per start (only lr and rho"),
    (lambda: schedule_from_dict({"schedule": "linear", "value": 1.0}, "lr"), "lr's schedule must be one of"),
    (lambda: schedule_from_dict({"schedule": "cosine", "value": 1.0, "steps": 3, "tau": 1}, "rho"),
     "rho's Cosine schedule takes final, steps, value, got 'tau'"),
    (lambda: schedule_from_dict({"schedule": "step_decay", "value": 1.0, "factor": 0.5}, "lr"),
     "lr's StepDecay schedule needs every, got factor, value"),
    (lambda: dy.simulate(POLY, dy.GD(Cosine([0.1, 0.2, 0.3], 5)), [[0.0, 1.0], [1.0, 0.0]], 3, backend="numpy"),
     "lr has 3 values but there are 2 starts"),
])
def test_bad_input_is_one_sentence_naming_the_parameter(make, fragment):
    with pytest.raises(ValueError) as err:
        make()
    message = str(err.value)
    assert fragment in message and message.count(". ") == 0, message


def test_theory_refuses_a_schedule_in_one_sentence():
    """A stability analysis needs one lr for the whole run: a schedule is named, not a TypeError."""
    from samscape import theory

    with pytest.raises(ValueError, match=r"optimizer lr must be a single number for a stability analysis, got "
                                         r"Cosine\(0.1, steps=10\)"):
        theory.fixed_point_stability(POLY, dy.SAM(lr=Cosine(0.1, steps=10), rho=0.05), [1.0, 0.0])


def test_a_numpy_run_is_the_hand_written_loop():
    """GD with lr = c/(1 + t/tau) and SAM with a step-decayed rho are the loops written from their formulas,
    bit for bit (the same operations in the same order)."""
    x0 = np.array([[0.7, -1.2], [1.9, 0.4]])
    c, tau = 0.2, 6.0
    run = dy.simulate(POLY, dy.GD(lr=InverseTime(c, tau)), x0, 30, seed=0, backend="numpy")
    x = x0.copy()
    for t in range(30):
        x = x - (c * (1.0 / (1.0 + t / tau))) * POLY.grad(x)
    np.testing.assert_array_equal(run.x, x)

    lr, rho, factor, every = 0.1, 0.3, 0.5, 4
    run = dy.simulate(POLY, dy.SAM(lr=lr, rho=StepDecay(rho, factor, every)), x0, 30, seed=0, backend="numpy")
    x = x0.copy()
    for t in range(30):
        g = POLY.grad(x)
        ascent = x + (rho * factor ** (t // every)) * g / np.linalg.norm(g, axis=-1, keepdims=True)
        x = x - lr * POLY.grad(ascent)
    np.testing.assert_allclose(run.x, x, rtol=1e-14)


def test_p3s_late_switch_is_a_radius_schedule_and_switch_parts_use_the_absolute_step():
    """SAM whose rho is 0 before step T and rho after (PerStep) is Switch(GD, SAM, at=T) bit for bit; and a
    schedule in a Switch's second part reads the run's step (its factor at step T is values[T], not values[0])."""
    x0 = np.array([[0.7, -1.2], [1.9, 0.4]])
    T, lr, rho = 7, 0.1, 0.2
    late = dy.simulate(POLY, dy.SAM(lr, rho=PerStep(np.r_[np.zeros(T), 1.0], value=rho)), x0, 20, seed=0,
                       backend="numpy")
    switch = dy.simulate(POLY, dy.Switch(dy.GD(lr), dy.SAM(lr, rho), at=T), x0, 20, seed=0, backend="numpy")
    np.testing.assert_array_equal(late.xs, switch.xs)
    data = landscapes.get("tanh", xs=(0.5, 1.0, 2.0), ys=(0.0, 0.0, 0.0))  # mini-batches: the same batch either way
    late = dy.simulate(data, dy.SAM(lr, rho=PerStep(np.r_[np.zeros(T), 1.0], value=rho), batch_size=1), x0, 20,
                       seed=4, backend="numpy")
    switch = dy.simulate(data, dy.Switch(dy.SGD(lr, 1), dy.SAM(lr, rho, batch_size=1), at=T), x0, 20, seed=4,
                         backend="numpy")
    np.testing.assert_array_equal(late.xs, switch.xs)

    rates = np.linspace(0.02, 0.2, 12)
    run = dy.simulate(POLY, dy.Switch(dy.GD(0.1), dy.GD(PerStep(rates)), at=5), x0, 15, seed=0, backend="numpy")
    x = x0.copy()
    for t in range(15):
        x = x - (0.1 if t < 5 else rates[min(t, 11)]) * POLY.grad(x)
    np.testing.assert_array_equal(run.x, x)


@pytest.mark.skipif(not compiled.available(), reason="needs numba")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_kernel_equals_numpy_bit_for_bit_with_cosine_lr_and_step_decay_rho(dtype, monkeypatch):
    """SAM with a per-start cosine lr and a step-decayed rho on a polynomial landscape: the compiled backend gives
    NumPy's iterates bit for bit, in float64 and float32, also when the steps are cut into chunks of 7 (each chunk
    gets its own factors), and the kernel is one of its own (the unscheduled SAM's source has no factors)."""
    x0 = np.random.default_rng(5).normal(size=(5, 2))
    opt = dy.SAM(lr=Cosine(np.linspace(0.05, 0.25, 5), steps=40), rho=StepDecay(0.2, 0.5, 9))
    reference = dy.simulate(POLY, opt, x0, 60, every=3, seed=0, backend="numpy", dtype=dtype)
    fused = dy.simulate(POLY, opt, x0, 60, every=3, seed=0, backend="compiled", dtype=dtype)
    np.testing.assert_array_equal(fused.xs, reference.xs)
    monkeypatch.setattr(compiled, "SCHEDULE_CHUNK_STEPS", 7)
    chunked = dy.simulate(POLY, opt, x0, 60, every=3, seed=0, backend="compiled", dtype=dtype)
    np.testing.assert_array_equal(chunked.xs, reference.xs)
    constant = dy.simulate(POLY, dy.SAM(0.15, 0.2), x0, 60, every=3, seed=0, backend="numpy", dtype=dtype)
    assert not np.array_equal(constant.xs, reference.xs)  # the schedules changed the run
    plan = compiled.plan(POLY, opt, dtype)
    assert plan.shape == "sam[lr~schedule][rho~schedule]"
    plain_source = compiled.codegen.kernel_source(compiled.plan(POLY, dy.SAM(0.1, 0.05), dtype))[0]
    assert "SF" not in plain_source and "SF[" in compiled.codegen.kernel_source(plan)[0]


@pytest.mark.skipif(not compiled.available(), reason="needs numba")
def test_the_kernel_follows_schedules_in_both_parts_of_a_switch_with_mini_batches():
    """Switch(SGD with a warmed-up lr and momentum, SAM with a late radius) on a polynomial finite sum with
    mini-batches: the kernel reads each part's factors at the run's step, the velocity steps with the scheduled lr
    and carries over the switch, and the iterates are NumPy's bit for bit."""
    data = landscapes.from_expr("0.5*(u*v*a - y)**2 + 0.05*(u**2 + v**2)", ["u", "v"],
                                samples={"a": [0.6, 1.0, 1.3, 0.8], "y": [0.5, -0.2, 0.3, 0.0]})
    opt = dy.Switch(dy.SGD(WarmUp(0.3, 6), 2, momentum=0.5), dy.SAM(0.2, rho=PerStep(np.r_[np.zeros(15), 0.5, 1.0], value=0.1),
                                                        batch_size=2), at=10)
    x0 = np.random.default_rng(2).normal(size=(3, 2))
    reference = dy.simulate(data, opt, x0, 30, seed=11, backend="numpy")
    fused = dy.simulate(data, opt, x0, 30, seed=11, backend="compiled")
    np.testing.assert_array_equal(fused.xs, reference.xs)
