"""The SAM variants with state of their own: MSAM (its ascent follows the velocity) and LookSAM (it stores the
direction of its last SAM step).

Each NumPy step is checked against its rule written out here by hand on a quadratic whose gradient is ``H x`` (no
landscape code in the reference), and against the optimizer it reduces to, bit for bit.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from samscape import dynamics as dy
from samscape import landscapes
from samscape.dynamics.contract import lanes_for
from samscape.dynamics.schedules import StepDecay

needs_numba = pytest.mark.skipif(importlib.util.find_spec("numba") is None,
                                 reason="numba is not installed; the compiled backend is optional")
SEED = 5
HESSIAN = np.array([[1.0, 0.3], [0.3, 2.0]])
SAMPLES = {"a": [0.6, 1.0, 1.3, 0.8, 1.1], "y": [0.0, 0.1, -0.1, 0.05, 0.0]}


@pytest.fixture(scope="module")
def quadratic():
    return landscapes.from_expr("0.5*u**2 + 0.3*u*v + v**2", ["u", "v"])  # Hessian HESSIAN


@pytest.fixture(scope="module")
def finite_sum():
    return landscapes.from_expr("0.5*(v*tanh(u*a) - y)**2", ["u", "v"], samples=SAMPLES)


@pytest.fixture(scope="module")
def starts():
    return np.random.default_rng(2).uniform(-1.5, 1.5, size=(6, 2))


def _unit(g):
    norm = np.linalg.norm(g)
    return g / norm if norm > 0 else np.zeros_like(g)


def _msam_by_hand(x, steps, lr, rho, momentum, nesterov=False):
    """MSAM's rule for one start: x~ = x - rho v/||v||, v <- momentum v + H x~, x <- x - lr v (or the Nesterov step)."""
    v = np.zeros_like(x)
    path = [x]
    for _ in range(steps):
        g = HESSIAN @ (x - rho * _unit(v))
        v = momentum * v + g
        x = x - lr * (g + momentum * v if nesterov else v)
        path.append(x)
    return np.array(path)


def _looksam_by_hand(x, steps, lr, rho, period, alpha, momentum=0.0):
    """LookSAM's rule for one start on the quadratic, with the heavy ball along its direction d."""
    g_v, v = np.zeros_like(x), np.zeros_like(x)
    path = [x]
    for t in range(steps):
        g = HESSIAN @ x
        if t % period == 0:
            d = HESSIAN @ (x + rho * _unit(g))
            g_v = d - np.dot(d, _unit(g)) * _unit(g)
        else:
            d = g + alpha * np.linalg.norm(g) * _unit(g_v)
        v = momentum * v + d
        x = x - lr * v
        path.append(x)
    return np.array(path)


@pytest.mark.parametrize("momentum, nesterov", [(0.9, False), (0.5, True)])
def test_msam_steps_by_its_rule(quadratic, starts, momentum, nesterov):
    opt = dy.MSAM(0.1, 0.2, momentum=momentum, nesterov=nesterov)
    run = dy.simulate(quadratic, opt, starts, 12, seed=SEED, backend="numpy")
    for i, x0 in enumerate(starts):
        expected = _msam_by_hand(x0, 12, 0.1, 0.2, momentum, nesterov)
        np.testing.assert_allclose(run.xs[:, i], expected, rtol=1e-13, atol=1e-15)


def test_msam_at_momentum_zero_perturbs_against_the_last_step(quadratic, starts):
    """With momentum 0 the velocity is the last step's gradient: x~_t = x_t - rho g_{t-1}/||g_{t-1}||,
    x_{t+1} = x_t - lr g_t with g_t = H x~_t, and no perturbation at the first step."""
    run = dy.simulate(quadratic, dy.MSAM(0.1, 0.2, momentum=0.0), starts, 10, seed=SEED, backend="numpy")
    for i, x in enumerate(starts):
        previous = np.zeros(2)
        for t in range(10):
            g = HESSIAN @ (x - 0.2 * _unit(previous))
            x, previous = x - 0.1 * g, g
            np.testing.assert_allclose(run.xs[t + 1, i], x, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("period, alpha, momentum", [(3, 0.7, 0.0), (2, np.linspace(0.0, 1.5, 6), 0.6)])
def test_looksam_steps_by_its_rule(quadratic, starts, period, alpha, momentum):
    """With one alpha, and with one per start (and the heavy ball)."""
    opt = dy.LookSAM(0.1, 0.2, period=period, alpha=alpha, momentum=momentum)
    run = dy.simulate(quadratic, opt, starts, 11, seed=SEED, backend="numpy")
    for i, x0 in enumerate(starts):
        expected = _looksam_by_hand(x0, 11, 0.1, 0.2, period, np.broadcast_to(alpha, len(starts))[i], momentum)
        np.testing.assert_allclose(run.xs[:, i], expected, rtol=1e-13, atol=1e-15)


def test_looksam_with_period_one_is_sam_bit_for_bit(finite_sum, starts):
    """Every step a SAM step, with mini-batches and with momentum too."""
    for momentum in (0.0, 0.8):
        a = dy.simulate(finite_sum, dy.LookSAM(0.1, 0.2, period=1, momentum=momentum, batch_size=2), starts, 9,
                        seed=SEED, backend="numpy")
        b = dy.simulate(finite_sum, dy.SAM(0.1, 0.2, momentum=momentum, batch_size=2), starts, 9, seed=SEED,
                        backend="numpy")
        np.testing.assert_array_equal(a.xs, b.xs)


def test_looksam_in_one_dimension_is_sam_every_period_steps_and_gd_between():
    """In 1-D the part of g_adv orthogonal to g is exactly 0, so a reuse step adds nothing (the zero convention):
    bit for bit SAM's step at t % period == 0 and GD's elsewhere."""
    line = landscapes.from_expr("u**2 + 0.1*u**4", ["u"])
    x0 = np.linspace(-2, 2, 9)[:, None]
    run = dy.simulate(line, dy.LookSAM(0.05, 0.2, period=3, alpha=0.7), x0, 8, seed=SEED, backend="numpy")
    x = x0
    for t in range(8):
        x = dy.step(line, dy.SAM(0.05, 0.2) if t % 3 == 0 else dy.GD(0.05), x, t, seed=SEED)
        np.testing.assert_array_equal(run.xs[t + 1], x)


def test_a_switch_to_looksam_steps_along_the_gradient_until_its_first_sam_step(quadratic, starts):
    """LookSAM's phase is the run's step number: switched to at step 2 with period 4, it takes gradient steps at 2
    and 3 (nothing stored yet), SAM's at 4."""
    looked = dy.simulate(quadratic, dy.Switch(dy.GD(0.1), dy.LookSAM(0.1, 0.2, period=4), at=2), starts, 5,
                         seed=SEED, backend="numpy")
    plain = dy.simulate(quadratic, dy.Switch(dy.GD(0.1), dy.SAM(0.1, 0.2), at=4), starts, 5, seed=SEED, backend="numpy")
    np.testing.assert_array_equal(looked.xs, plain.xs)


@pytest.mark.parametrize("opt", [dy.MSAM(0.1, 0.2, momentum=0.8, batch_size=2),
                                 dy.LookSAM(0.1, 0.2, period=3, alpha=0.5, momentum=0.5, batch_size=2)],
                         ids=lambda o: o.kind)
def test_a_run_continued_from_its_saved_state_equals_one_long_run(finite_sum, starts, opt, tmp_path):
    """Split at step 4 (not a multiple of LookSAM's period), saved and loaded in between: bit for bit the long run,
    its mini-batches included, and the same final state."""
    whole = dy.simulate(finite_sum, opt, starts, 10, seed=SEED, backend="numpy")
    head = dy.simulate(finite_sum, opt, starts, 4, seed=SEED, backend="numpy")
    head.save(tmp_path / "head.npz")
    loaded = dy.load_run(tmp_path / "head.npz", landscape=finite_sum)
    assert set(loaded.state.arrays) == set(opt.state_names())
    tail = dy.simulate(finite_sum, opt, loaded.x, 6, state=loaded.state, backend="numpy")
    np.testing.assert_array_equal(tail.xs, whole.xs[4:])
    for name in opt.state_names():
        np.testing.assert_array_equal(tail.state.arrays[name], whole.state.arrays[name])


@pytest.mark.parametrize("make, message", [
    (lambda: dy.LookSAM(0.1, 0.05, period=0), "period must be a positive integer, got 0"),
    (lambda: dy.LookSAM(0.1, 0.05, period=2.5), "period must be a positive integer, got 2.5"),
    (lambda: dy.LookSAM(0.1, 0.05, alpha=-0.5), "alpha must be a finite number >= 0"),
    (lambda: dy.MSAM(0.1, 0.05, momentum=1.0), r"momentum must be in \[0, 1\)"),
    (lambda: dy.MSAM(0.1, 0.05, momentum=-0.1), "momentum must be a finite number >= 0"),
    (lambda: dy.MSAM(0.1, 0.05, momentum=0.0, nesterov=True), "nesterov must be False when momentum is 0"),
])
def test_bad_hyperparameters_get_one_sentence_naming_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_they_have_no_stateless_update():
    """Both carry state even without momentum (MSAM its velocity, LookSAM its stored direction), so the stateless
    update refuses, saying what to call."""
    land = landscapes.from_expr("u**2", ["u"])
    for opt in (dy.MSAM(0.1, 0.05, momentum=0.0), dy.LookSAM(0.1, 0.05)):
        assert opt.state_names()
        with pytest.raises(ValueError, match="no stateless update: step it with advance"):
            opt.update(land, np.ones((1, 1)), 0, None)


def test_they_are_registered_and_round_trip():
    for opt in (dy.MSAM(0.1, 0.2, momentum=0.5, nesterov=True), dy.LookSAM(0.1, 0.2, period=3, alpha=[0.1, 0.4])):
        assert dy.OPTIMIZERS[opt.kind] is type(opt) and opt.kind in dy.plain_kinds()
        assert dy.optimizer_from_dict(opt.to_dict()) == opt
    assert dy.optimizer_from_kind("looksam", 0.1, rho=0.2, period=3, alpha=0.5, eta_a=0.3) == \
        dy.LookSAM(0.1, 0.2, period=3, alpha=0.5)
    assert dy.optimizer_from_kind("msam", 0.1, rho=0.2) == dy.MSAM(0.1, 0.2, momentum=0.9)


@needs_numba
def test_compiled_msam_and_looksam_equal_numpy_bit_for_bit_and_continue_from_their_state():
    """One kernel module runs both (few compiles): LookSAM with mini-batches and per-start rho, alpha and momentum
    (0 for some starts), then, after a reset of both state arrays, Nesterov MSAM with per-start momentum and a
    per-start rho that decays in steps (a schedule's factors reach a kernel that carries state);
    many starts (the lane kernel) and one (the scalar kernel), on a polynomial finite sum, bit for bit with NumPy,
    final state included. A start at the stationary point (0, 0) is never perturbed (zero gradient, velocity and
    stored direction). A compiled run continued from its state equals the long run."""
    land = landscapes.from_expr("0.5*(u*v - a)**2 + 0.1*(u - v)**2", ["u", "v"], samples={"a": [0.5, 1.0, 1.5, 0.8]})
    x0 = np.random.default_rng(4).uniform(-1.5, 1.5, size=(lanes_for(2) + 5, 2))
    x0[0] = 0.0
    for starts in (x0, x0[1:2]):
        n = len(starts)
        rho, momentum = np.linspace(0.0, 0.3, n), np.linspace(0.0, 0.9, n) if n > 1 else np.array([0.7])
        opt = dy.Switch(dy.LookSAM(0.1, rho, period=3, alpha=np.linspace(0.0, 1.5, n), momentum=momentum,
                                   batch_size=2),
                        dy.MSAM(0.05, StepDecay(rho, 0.5, 6), momentum=0.5 + momentum / 2, nesterov=True), at=23,
                        state="reset")
        ref = dy.simulate(land, opt, starts, 40, every=1, seed=SEED, backend="numpy")
        out = dy.simulate(land, opt, starts, 40, every=1, seed=SEED, backend="compiled")
        np.testing.assert_array_equal(out.xs, ref.xs)
        assert set(out.state.arrays) == {"velocity", "orthogonal_gradient"}
        for name, array in ref.state.arrays.items():
            np.testing.assert_array_equal(out.state.arrays[name], array)
        if n > 1:
            np.testing.assert_array_equal(out.xs[:, 0], 0.0)
        head = dy.simulate(land, opt, starts, 13, seed=SEED, backend="compiled")
        tail = dy.simulate(land, opt, head.x, 27, every=1, state=head.state, backend="compiled")
        np.testing.assert_array_equal(tail.xs, ref.xs[13:])
        for name, array in ref.state.arrays.items():
            np.testing.assert_array_equal(tail.state.arrays[name], array)


def test_the_msam_crosscheck_against_the_authors_rule_agrees():
    """scripts/crosscheck_msam.py, run briefly: our reading of the authors' rule gives samscape's step to rounding,
    and its exit status says so."""
    path = Path(__file__).resolve().parents[2] / "scripts" / "crosscheck_msam.py"
    spec = importlib.util.spec_from_file_location("crosscheck_msam", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    rule, with_eps, trajectory, speed = script.compare(20, weight_decay=5e-4)
    assert rule.max() <= 1e-15 and 0 < with_eps.max() < 1e-12
    assert script.main(["--steps", "5"]) == 0
