"""Momentum (heavy ball and Nesterov), the state a run carries, Switch's keep/reset, and continuing a run.

The NumPy runs are checked against the convention written out by hand (PyTorch's SGD with dampening 0)::

    v <- m v + d;   x <- x - lr v                  (heavy ball)
    v <- m v + d;   x <- x - lr (d + m v)          (Nesterov)

with ``d`` the gradient written out on a quadratic (not the landscape's own gradient code).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from samscape import dynamics as dy
from samscape import landscapes
from samscape.dynamics import codegen, compiled
from samscape.dynamics.contract import lanes_for
from samscape.dynamics.optimizers import Noise
from samscape.dynamics.stepping import Stepper

CURVATURES = np.array([3.0, 0.5])
SAMPLES = {"a": [0.6, 1.0, 1.3, 0.8, 1.1], "y": [0.0, 0.1, -0.1, 0.05, 0.0]}


@pytest.fixture(scope="module")
def quadratic():
    return landscapes.from_expr("1.5*u**2 + 0.25*v**2", ["u", "v"])


@pytest.fixture(scope="module")
def finite_sum():
    return landscapes.from_expr("0.5*(tanh(v*tanh(u*a)) - y)**2", ["u", "v"], samples=SAMPLES)


@pytest.fixture(scope="module")
def starts():
    return np.random.default_rng(5).uniform(-1.5, 1.5, size=(6, 2))


def quadratic_grad(x):
    return CURVATURES * x


def hand_loop(x0, steps, lr, momentum, nesterov=False, rho=None, reset_at=None):
    """The convention above on the quadratic, one start at a time; ``rho``: SAM's descent direction."""
    out = []
    for x in np.array(x0, dtype=float):
        v = np.zeros_like(x)
        for t in range(steps):
            if t == reset_at:
                v = np.zeros_like(x)
            g = quadratic_grad(x)
            if rho is not None:
                norm = np.sqrt(np.sum(g * g))
                g = quadratic_grad(x + rho * g / norm) if norm > 0 else g
            v = momentum * v + g
            x = x - lr * ((g + momentum * v) if nesterov else v)
        out.append((x, v))
    return np.array([x for x, _ in out]), np.array([v for _, v in out])


@pytest.mark.parametrize("nesterov", [False, True], ids=["heavy_ball", "nesterov"])
@pytest.mark.parametrize("rho", [None, 0.05], ids=["gd", "sam"])
def test_momentum_follows_the_convention_on_a_quadratic(quadratic, starts, nesterov, rho):
    opt = dy.GD(0.1, momentum=0.8, nesterov=nesterov) if rho is None else dy.SAM(0.1, rho, momentum=0.8,
                                                                              nesterov=nesterov)
    run = dy.simulate(quadratic, opt, starts, 25, seed=0, backend="numpy")
    x, v = hand_loop(starts, 25, 0.1, 0.8, nesterov, rho)
    np.testing.assert_allclose(run.x, x, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(run.state.arrays["velocity"], v, rtol=1e-13, atol=1e-15)
    # the velocity matters: without it the run is elsewhere
    plain = dy.simulate(quadratic, type(opt)(**{k: w for k, w in opt.to_dict().items()
                                                  if k not in ("kind", "momentum", "nesterov")}), starts, 25, seed=0,
                        backend="numpy")
    assert np.abs(plain.x - run.x).max() > 1e-3


def test_per_start_momentum_is_each_starts_own(quadratic, starts):
    momenta = np.linspace(0.0, 0.9, len(starts))
    run = dy.simulate(quadratic, dy.GD(0.1, momentum=momenta), starts, 15, seed=0, backend="numpy")
    for i, m in enumerate(momenta):
        x, _ = hand_loop(starts[i:i + 1], 15, 0.1, m)
        np.testing.assert_allclose(run.x[i], x[0], rtol=1e-13, atol=1e-15)


def today_step(opt, landscape, x, t, noise):
    """The update as it was written before momentum existed (SGD's and SAM's lines)."""
    batch = noise.batch(t, opt.batch_size)
    if isinstance(opt, dy.SGD):
        return x - opt.lr * landscape.grad(x, batch=batch)
    g = landscape.grad(x, batch=batch)
    return x - opt.lr * landscape.grad(x + opt.rho * dy.unit(g), batch=batch)


@pytest.mark.parametrize("opt", [dy.SGD(0.2, 2, momentum=0.0), dy.SAM(0.2, 0.05, batch_size=2, momentum=0)],
                         ids=["sgd", "sam"])
def test_zero_momentum_is_todays_update_bit_for_bit(finite_sum, starts, opt):
    assert opt.state_names() == () and opt == type(opt)(**{k: w for k, w in opt.to_dict().items() if k != "kind"})
    assert "momentum" not in opt.to_dict() and "momentum" not in opt.describe()  # recipes read as before
    run = dy.simulate(finite_sum, opt, starts, 12, seed=9, backend="numpy")
    noise = Noise(9, np.arange(len(starts)), finite_sum.n_samples, 2)
    x = starts.copy()
    for t in range(12):
        x = today_step(opt, finite_sum, x, t, noise)
    np.testing.assert_array_equal(run.x, x)
    assert run.state.arrays == {} and run.state.step == 12


SWITCHED = dy.Switch(dy.SGD(0.2, 2, momentum=0.9), dy.SAM(0.1, 0.05, batch_size=3, momentum=0.5, nesterov=True),
                     at=9)


@pytest.mark.parametrize("opt", [dy.SGD(0.2, 2, momentum=0.9), SWITCHED, dy.SGD(0.2, 2)],
                         ids=["sgd_momentum", "switch", "sgd_stateless"])
@pytest.mark.parametrize("split", [5, 9, 13])
def test_continuing_a_run_is_one_long_run_bit_for_bit(finite_sum, starts, opt, split, tmp_path):
    """The draws of the second part are those of steps split.. of the long run (a mini-batch per step), the Switch
    flips at its absolute step, and the velocity carries over; also through a saved and loaded file."""
    long = dy.simulate(finite_sum, opt, starts, 20, every=3, seed=11, start_ids=np.arange(10, 16), backend="numpy")
    first = dy.simulate(finite_sum, opt, starts, split, seed=11, start_ids=np.arange(10, 16), backend="numpy")
    loaded = dy.load_run(first.save(str(tmp_path / "first.npz")))
    assert loaded.state.step == split and sorted(loaded.state.arrays) == sorted(first.state.arrays)
    for source in (first, loaded):
        rest = dy.simulate(finite_sum, opt, source.x, 20 - split, state=source.state, backend="numpy")
        np.testing.assert_array_equal(rest.x, long.x)
        assert rest.state.step == 20 and rest.seed == 11
        np.testing.assert_array_equal(rest.start_ids, np.arange(10, 16))
        for name, array in long.state.arrays.items():
            np.testing.assert_array_equal(rest.state.arrays[name], array)
    # a continued run's file keeps the absolute step, and continues again
    again = dy.load_run(rest.save(str(tmp_path / "rest.npz")))
    assert again.state.step == 20


def test_switch_keeps_or_resets_the_velocity(quadratic, starts):
    """keep: the second part goes on with the first's velocity; reset: from zero at step ``at``. The hand loop of
    each, and the two differ from step ``at`` on (and not before)."""
    runs = {state: dy.simulate(quadratic, dy.Switch(dy.GD(0.1, momentum=0.8), dy.GD(0.1, momentum=0.8), at=7,
                                                    state=state), starts, 20, seed=0, backend="numpy")
            for state in ("keep", "reset")}
    for state, run in runs.items():
        x, v = hand_loop(starts, 20, 0.1, 0.8, reset_at=7 if state == "reset" else None)
        np.testing.assert_allclose(run.x, x, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(run.state.arrays["velocity"], v, rtol=1e-13, atol=1e-15)
    keep, reset = runs["keep"].xs, runs["reset"].xs
    np.testing.assert_array_equal(keep[:8], reset[:8])  # step 7 is the first one the reset changes
    assert (np.abs(keep[8] - reset[8]) > 1e-6).all()
    assert dy.Switch(dy.GD(0.1), dy.GD(0.1), at=3).to_dict() == {"kind": "switch", "first": dy.GD(0.1).to_dict(),
                                                                 "second": dy.GD(0.1).to_dict(), "at": 3}


def test_a_stateless_part_hands_the_velocity_on(quadratic, starts):
    """SAM+momentum, then GD without momentum, then SAM+momentum again (keep): the velocity waits through GD."""
    sam = dy.SAM(0.1, 0.05, momentum=0.7)
    chain = dy.Switch(sam, dy.Switch(dy.GD(0.1), sam, at=8), at=4)
    run = dy.simulate(quadratic, chain, starts, 12, seed=0, backend="numpy")
    stepper = Stepper(quadratic, sam, len(starts), np.float64, seed=0)
    x = starts.copy()
    for t in range(12):
        if 4 <= t < 8:
            x = x - 0.1 * quadratic.grad(x)
        else:
            x = stepper(x, t)
    np.testing.assert_array_equal(run.x, x)
    np.testing.assert_array_equal(run.state.arrays["velocity"], stepper.state["velocity"])


def test_a_frozen_start_keeps_its_state(quadratic, starts):
    """A start that leaves the bound keeps the point and the velocity of the step it left at; the others go on."""
    lr = np.full(len(starts), 0.1)
    lr[2] = 3.0  # diverges within a few steps
    run = dy.simulate(quadratic, dy.GD(lr, momentum=0.5), starts, 30, seed=0, bound=50.0, backend="numpy")
    assert run.status[2] == "diverged" and (np.delete(run.status, 2) == "ok").all()
    stopped = int(run.stopped_at[2])
    stepper = Stepper(quadratic, dy.GD(3.0, momentum=0.5), 1, np.float64, seed=0)
    x = starts[2:3].copy()
    for t in range(stopped):
        x = stepper(x, t)
    np.testing.assert_array_equal(run.x[2], x[0])
    np.testing.assert_array_equal(run.state.arrays["velocity"][2], stepper.state["velocity"][0])


@pytest.mark.parametrize("backend", ["numpy", pytest.param("compiled", marks=pytest.mark.skipif(
    importlib.util.find_spec("numba") is None, reason="numba is not installed; the compiled backend is optional"))])
def test_a_continued_run_keeps_its_frozen_starts_frozen(quadratic, starts, backend, tmp_path):
    """A start the first run froze stays where one long run keeps it (it is not stepped again from its last point),
    with its status and stopped_at 0, also after a save and load; in both backends (many starts: the lane kernel)."""
    lr = np.full(len(starts), 0.1)
    lr[2] = 3.0  # diverges within a few steps
    opt = dy.GD(lr, momentum=0.5)
    long = dy.simulate(quadratic, opt, starts, 30, seed=0, bound=50.0, backend=backend)
    head = dy.simulate(quadratic, opt, starts, 12, seed=0, bound=50.0, backend=backend)
    assert head.status[2] == "diverged" and list(head.state.status) == list(head.status)
    head.save(tmp_path / "head.npz")
    for state in (head.state, dy.load_run(tmp_path / "head.npz").state):
        tail = dy.simulate(quadratic, opt, head.x, 18, state=state, bound=50.0, backend=backend)
        np.testing.assert_array_equal(tail.x, long.x)
        assert list(tail.status) == list(long.status) and tail.stopped_at[2] == 0
        assert (np.delete(tail.stopped_at, 2) == -1).all()
    bad = dy.RunState(step=12, seed=0, arrays=head.state.arrays, start_ids=head.state.start_ids,
                      status=np.array(["ok"] * (len(starts) - 1) + ["gone"]))
    with pytest.raises(ValueError, match="state.status must hold one of ok, diverged, nonfinite for each of the"):
        dy.simulate(quadratic, opt, head.x, 2, state=bad, backend="numpy")


def test_iterate_carries_the_state_as_simulate_does(quadratic, starts):
    opt = dy.SAM(0.1, 0.05, momentum=0.9, nesterov=True)
    run = dy.simulate(quadratic, opt, starts, 6, seed=0, backend="numpy")
    path = dy.iterate(quadratic, opt, starts, 0, 6, seed=0)
    np.testing.assert_array_equal(path, run.xs)
    more = dy.iterate(quadratic, opt, run.x, 6, 4, seed=0, state=run.state.arrays)
    np.testing.assert_array_equal(more[-1], dy.simulate(quadratic, opt, starts, 10, seed=0, backend="numpy").x)


BAD_OPTIMIZERS = {
    "negative momentum": (lambda: dy.SGD(0.1, 1, momentum=-0.1), "momentum must be a finite number >= 0"),
    "momentum one": (lambda: dy.SAM(0.1, 0.05, momentum=1.0), "momentum must be in [0, 1)"),
    "per-start momentum above one": (lambda: dy.GD(0.1, momentum=[0.5, 1.2]), "momentum must be in [0, 1)"),
    "nesterov without momentum": (lambda: dy.GD(0.1, nesterov=True), "nesterov must be False when momentum is 0"),
    "nesterov not a bool": (lambda: dy.GD(0.1, momentum=0.5, nesterov="yes"), "nesterov must be True or False"),
    "switch state": (lambda: dy.Switch(dy.GD(0.1), dy.GD(0.1), at=2, state="zero"),
                     "state must be one of 'keep', 'reset'"),
}


@pytest.mark.parametrize("case", sorted(BAD_OPTIMIZERS))
def test_bad_momentum_is_refused_in_one_sentence(case):
    make, message = BAD_OPTIMIZERS[case]
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace(")", r"\)").replace("(", r"\(")):
        make()


def test_bad_states_are_refused_in_one_sentence(quadratic, starts):
    run = dy.simulate(quadratic, dy.GD(0.1, momentum=0.5), starts, 3, seed=1, backend="numpy")
    cases = [
        (dict(optimizer=dy.GD(0.1)), "does not carry"),
        (dict(x0=starts[:4]), "a run of 6 starts but x0 holds 4"),
        (dict(seed=2), "seed must be None or the continued run's seed 1"),
        (dict(start_ids=np.arange(1, 7)), "start_ids must be None or the continued run's start ids"),
        (dict(state=dy.RunState(step=3, seed=1, arrays={"velocity": np.zeros((6, 3))})), r"must have shape \(6, 2\)"),
        (dict(state={"step": 3}), "state must be a RunState"),
    ]
    for change, message in cases:
        call = dict(optimizer=dy.GD(0.1, momentum=0.5), x0=run.x, state=run.state) | change
        with pytest.raises(ValueError, match=message):
            dy.simulate(quadratic, call["optimizer"], call["x0"], 2, backend="numpy", state=call["state"],
                        **{k: v for k, v in change.items() if k in ("seed", "start_ids")})
    with pytest.raises(ValueError, match="carries a velocity between steps"):
        dy.GD(0.1, momentum=0.5).update(quadratic, starts, 0, None)


# ------------------------------------------------------------------------------------------- the compiled kernels

needs_numba = pytest.mark.skipif(importlib.util.find_spec("numba") is None,
                                 reason="numba is not installed; the compiled backend is optional")


@pytest.fixture(scope="module")
def polynomial_sum():
    # powers up to 2 only (the kernel writes x**3 as repeated multiplication, NumPy calls pow): bit for bit
    return landscapes.from_expr("0.5*(u*v - a)**2 + 0.1*(u - v)**2", ["u", "v"], samples={"a": SAMPLES["a"]})


def momentum_chain(n_starts: int):
    """SGD+momentum -> SAM with state='reset' at 4, then (at 9) Nesterov GD -> SAM+momentum with state='keep' at
    14: every momentum emitter, a stateless leaf handing the velocity on, and both Switch rules in one kernel.
    Per-start lr up to 2.5 makes some starts diverge, so the frozen starts' velocity is checked too."""
    lr = np.linspace(0.05, 2.5, n_starts)
    sgd_to_sam = dy.Switch(dy.SGD(lr, 2, momentum=0.9), dy.SAM(lr, 0.05, batch_size=3), at=4, state="reset")
    later = dy.Switch(dy.GD(lr, momentum=0.7, nesterov=True), dy.SAM(lr, 0.1, momentum=np.linspace(0.2, 0.9, n_starts)),
                      at=14)
    return dy.Switch(sgd_to_sam, later, at=9)


def assert_same_runs(a, b):
    np.testing.assert_array_equal(a.xs, b.xs)
    np.testing.assert_array_equal(a.status, b.status)
    np.testing.assert_array_equal(a.stopped_at, b.stopped_at)
    assert a.state.step == b.state.step and sorted(a.state.arrays) == sorted(b.state.arrays)
    for name in a.state.arrays:
        np.testing.assert_array_equal(a.state.arrays[name], b.state.arrays[name])


@needs_numba
def test_the_kernel_carries_momentum_bit_for_bit_on_a_polynomial(polynomial_sum):
    """One kernel of the chain: compiled equals NumPy bit for bit (iterates, statuses, velocities), for a whole
    run and for a compiled run continued from its state across the switch steps (and through a file)."""
    x0 = np.random.default_rng(6).uniform(-1.5, 1.5, size=(lanes_for(2) + 3, 2))
    opt = momentum_chain(len(x0))
    plan = codegen.kernel_plan(polynomial_sum, opt)
    assert plan.stateful and plan.shape == ("switch(switch[reset](sgd[batch][heavy_ball],sam[batch]),"
                                            "switch(gd[nesterov],sam[heavy_ball]))")
    numpy_run = dy.simulate(polynomial_sum, opt, x0, 20, seed=5, backend="numpy")
    kernel_run = dy.simulate(polynomial_sum, opt, x0, 20, seed=5, backend="compiled")
    assert (numpy_run.status == "diverged").any() and (numpy_run.status == "ok").any()
    assert_same_runs(kernel_run, numpy_run)
    first = dy.simulate(polynomial_sum, opt, x0, 6, seed=5, backend="compiled")
    rest = dy.simulate(polynomial_sum, opt, first.x, 14, state=first.state, backend="compiled")
    ok = numpy_run.status == "ok"  # a start frozen in the first part is stepped again in the second
    np.testing.assert_array_equal(rest.x[ok], numpy_run.x[ok])
    np.testing.assert_array_equal(rest.state.arrays["velocity"][ok], numpy_run.state.arrays["velocity"][ok])
    assert rest.state.step == 20


@needs_numba
def test_the_kernel_carries_momentum_to_1e12_on_tanh():
    """On tanh (whose last bit may differ between the kernel's tanh and NumPy's) Nesterov SAM agrees to 1e-12 at
    every step, iterates and final velocity."""
    land = landscapes.get("tanh")
    x0 = np.random.default_rng(8).uniform(-1.5, 1.5, size=(9, 2))
    opt = dy.SAM(0.2, 0.05, momentum=0.9, nesterov=True)
    numpy_run = dy.simulate(land, opt, x0, 40, seed=0, backend="numpy")
    kernel_run = dy.simulate(land, opt, x0, 40, seed=0, backend="compiled")
    np.testing.assert_allclose(kernel_run.xs, numpy_run.xs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(kernel_run.state.arrays["velocity"], numpy_run.state.arrays["velocity"], rtol=0,
                               atol=1e-12)


@needs_numba
def test_the_looped_kernel_carries_momentum_as_the_unrolled_one(polynomial_sum, monkeypatch):
    """Generated looped (LOOP_FROM_DIM lowered to 2), a reset Switch from heavy-ball SGD to Nesterov GD equals
    NumPy bit for bit."""
    monkeypatch.setattr(codegen, "LOOP_FROM_DIM", 2)
    compiled.clear_memory_cache()
    x0 = np.random.default_rng(9).uniform(-1.5, 1.5, size=(7, 2))
    opt = dy.Switch(dy.SGD(np.linspace(0.05, 2.5, 7), 2, momentum=0.9), dy.GD(0.1, momentum=0.5, nesterov=True),
                    at=5, state="reset")
    try:
        assert codegen._KernelWriter(codegen.kernel_plan(polynomial_sum, opt)).looped
        kernel_run = dy.simulate(polynomial_sum, opt, x0, 12, seed=2, backend="compiled")
    finally:
        compiled.clear_memory_cache()
    assert_same_runs(kernel_run, dy.simulate(polynomial_sum, opt, x0, 12, seed=2, backend="numpy"))


def test_momentum_changes_only_the_kernels_of_leaves_with_it(polynomial_sum):
    """A kernel's structure names momentum only where a leaf has it, and a Switch's reset only where there is a
    state to reset: SAM(momentum=0) and a reset Switch of stateless parts call today's kernels."""
    plain = codegen.kernel_plan(polynomial_sum, dy.Switch(dy.SGD(0.1, 2), dy.SAM(0.1, 0.05), at=3, state="reset"))
    assert plain.shape == "switch(sgd[batch],sam)" and not plain.stateful
    assert codegen.kernel_plan(polynomial_sum, dy.SAM(0.1, 0.05, momentum=0.0)).shape == "sam"
    assert "VST" not in codegen.kernel_source(plain)[0]
