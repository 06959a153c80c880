"""The optimizers and simulate(): closed forms on quadratics, conventions, reproducibility, bookkeeping."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samscape import dynamics as dy
from samscape import landscapes

TANH_DATA = dict(a=[0.6, 1.0, 1.3, 0.8, 1.1], y=[0.0, 0.05, -0.05, 0.0, 0.1])


def rotated_quadratic(eigenvalues, angle):
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    hess = rot @ np.diag(eigenvalues) @ rot.T
    h00, h01, h11 = (float(hess[0, 0]), float(hess[0, 1]), float(hess[1, 1]))
    expr = f"0.5*({h00!r}*x**2 + 2*({h01!r})*x*y + {h11!r}*y**2)"
    return landscapes.from_expr(expr, "x,y"), hess


def finite_sum_tanh():
    return landscapes.from_expr("0.5*(tanh(v*tanh(u*a)) - y)**2", ["u", "v"], samples=TANH_DATA)


def test_gd_on_a_quadratic_equals_the_matrix_power():
    """GD on L = x^T H x / 2 gives x_t = (I - lr H)^t x_0 at every saved step."""
    land, hess = rotated_quadratic([1.0, 7.0], 0.4)
    lr = 0.2
    x0 = np.array([[1.0, -0.5], [0.3, 2.0]])
    run = dy.simulate(land, dy.GD(lr), x0, 25, every=5)
    step_matrix = np.eye(2) - lr * hess
    for k, t in enumerate(run.steps):
        expected = x0 @ np.linalg.matrix_power(step_matrix, int(t)).T
        np.testing.assert_allclose(run.xs[k], expected, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(run.loss, 0.5 * np.einsum("tsi,ij,tsj->ts", run.xs, hess, run.xs), rtol=1e-12)


@pytest.mark.parametrize("lam, lr, rho", [(2.0, 0.1, 0.5), (5.0, 0.05, 0.2), (1.0, 0.9, 1.0)])
def test_usam_on_a_1d_quadratic_contracts_by_the_predicted_factor(lam, lr, rho):
    """USAM on lam z^2/2 multiplies z by 1 - lr*lam*(1 + rho*lam) every step (THEORY.md §4)."""
    land = landscapes.from_expr(f"0.5*{lam}*z**2", "z")
    run = dy.simulate(land, dy.USAM(lr, rho), [[1.5]], 12)
    factor = 1 - lr * lam * (1 + rho * lam)
    np.testing.assert_allclose(run.xs[:, 0, 0], 1.5 * factor ** np.arange(13), rtol=1e-12)


@pytest.mark.parametrize("lam, lr, rho", [(1.0, 0.1, 0.05), (4.0, 0.3, 0.1), (10.0, 0.15, 0.02)])
def test_normalized_sam_on_a_1d_quadratic_settles_on_the_two_cycle(lam, lr, rho):
    """Normalized SAM on lam z^2/2 ends on the 2-cycle +-lr*lam*rho/(2 - lr*lam) (THEORY.md §4)."""
    land = landscapes.from_expr(f"0.5*{lam}*z**2", "z")
    amplitude = lr * lam * rho / (2 - lr * lam)
    run = dy.simulate(land, dy.SAM(lr, rho), [[0.7], [-1.3]], 3000)
    last_two = np.abs(run.xs[-2:, :, 0])
    np.testing.assert_allclose(last_two, amplitude, rtol=1e-9)
    assert np.all(np.sign(run.xs[-1, :, 0]) == -np.sign(run.xs[-2, :, 0]))


def test_sam_step_is_the_two_lines_of_the_paper():
    """One SAM step equals x - lr grad L(x + rho grad L/||grad L||), computed by hand from the gradient."""
    land = landscapes.from_expr("0.5*tanh(v*tanh(u))**2", "u,v")
    x = np.array([[1.2, 0.4], [-0.3, 0.9]])
    lr, rho = 0.3, 0.07
    g = land.grad(x)
    expected = x - lr * land.grad(x + rho * g / np.linalg.norm(g, axis=1, keepdims=True))
    run = dy.simulate(land, dy.SAM(lr, rho), x, 1)
    np.testing.assert_allclose(run.x, expected, rtol=1e-14)


def test_sam_at_a_stationary_point_takes_no_perturbation_and_never_gives_nan():
    """Where grad L = 0 exactly, SAM's direction is undefined: the convention is no perturbation, x stays put."""
    land = landscapes.from_expr("0.5*(x**2 + 4*y**2)", "x,y")
    run = dy.simulate(land, dy.SAM(0.1, 0.5), [[0.0, 0.0]], 50)
    np.testing.assert_array_equal(run.xs, 0.0)
    assert run.status.tolist() == ["ok"]
    assert np.all(np.isfinite(dy.unit(np.zeros((3, 2)))))


def test_per_start_learning_rates_sweep_in_one_call():
    """lr given per start equals separate runs with each scalar lr."""
    land, _ = rotated_quadratic([1.0, 3.0], 0.2)
    lrs = np.array([0.05, 0.2, 0.5])
    rhos = np.array([0.0, 0.1, 0.3])
    x0 = np.tile([1.0, 1.0], (3, 1))
    together = dy.simulate(land, dy.USAM(lrs, rhos), x0, 40)
    for i in range(3):
        alone = dy.simulate(land, dy.USAM(lrs[i], rhos[i]), x0[i], 40)
        np.testing.assert_allclose(together.xs[:, i], alone.xs[:, 0], rtol=1e-14)


def test_divergent_start_is_frozen_while_the_others_go_on():
    """GD above 2/lam leaves the bound and is frozen with status 'diverged'; a stable start runs on."""
    land = landscapes.from_expr("0.5*10*z**2", "z")
    lrs = np.array([0.1, 0.3])  # 2/lam = 0.2: the second start grows by |1 - 3| = 2 per step
    run = dy.simulate(land, dy.GD(lrs), [[1.0], [1.0]], 60, bound=1e3)
    first_out = int(np.ceil(np.log(1e3) / np.log(2)))  # first t with 2^t > 1e3
    assert run.status.tolist() == ["ok", "diverged"]
    assert run.stopped_at.tolist() == [-1, first_out]
    assert abs(run.x[1, 0]) == 2.0**first_out
    assert abs(run.x[0, 0]) < 1e-10


def test_nonfinite_start_is_frozen_at_its_last_finite_point():
    """A gradient that becomes non-finite freezes the start at its last finite point with status 'nonfinite'."""
    land = landscapes.from_expr("-log(z)", "z", window=[[0.5, 2.0]])
    run = dy.simulate(land, dy.GD(1.0), [[0.5], [2.0]], 5)
    # z -> z + 1/z stays positive, so neither start should break
    assert run.status.tolist() == ["ok", "ok"]
    bad = landscapes.from_expr("sqrt(z)", "z", window=[[0.5, 2.0]])
    run = dy.simulate(bad, dy.GD(3.0), [[0.5]], 5)  # 0.5 - 3/(2 sqrt 0.5) < 0: sqrt of a negative is NaN
    assert run.status.tolist() == ["nonfinite"]
    assert run.stopped_at.tolist() == [2]
    assert np.all(np.isfinite(run.xs))
    np.testing.assert_allclose(run.x[0, 0], 0.5 - 3.0 / (2 * np.sqrt(0.5)))


@pytest.mark.parametrize(
    "make",
    [lambda: dy.SGD(0.2, 2), lambda: dy.SAM(0.2, 0.05, batch_size=1), lambda: dy.USAM(0.2, 0.05, batch_size=3),
     lambda: dy.RandomSAM(0.2, 0.1), lambda: dy.Switch(dy.SGD(0.2, 1), dy.SAM(0.2, 0.05, batch_size=2), at=7)],
)
def test_same_seed_same_path_and_independent_of_neighbours(make):
    """A start's path depends only on (seed, start id): not on the other starts, their number or chunking."""
    land = finite_sum_tanh()
    x0 = np.random.default_rng(0).uniform(-2, 2, size=(6, 2))
    full = dy.simulate(land, make(), x0, 30, seed=11)
    again = dy.simulate(land, make(), x0, 30, seed=11)
    np.testing.assert_array_equal(full.xs, again.xs)
    chunk = dy.simulate(land, make(), x0[3:5], 30, seed=11, start_ids=[3, 4])
    np.testing.assert_array_equal(chunk.xs, full.xs[:, 3:5])
    other_seed = dy.simulate(land, make(), x0, 30, seed=12)
    assert not np.array_equal(other_seed.xs, full.xs)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**63), start=st.integers(0, 10**9), step=st.integers(0, 10**7))
def test_counter_based_batches_are_pure_and_in_range(seed, start, step):
    """Batch draws are a pure function of (seed, start, step) and always index a real sample."""
    from samscape.dynamics import draws

    ids = np.array([start, start + 1])
    a = draws.batch_indices(seed, ids, step, 4, 7)
    b = draws.batch_indices(seed, ids[:1], step, 4, 7)
    np.testing.assert_array_equal(a[:1], b)
    assert a.min() >= 0 and a.max() < 7
    unit = draws.unit_directions(seed, ids, step, 3)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-12)


def test_batches_are_uniform_over_samples():
    """Over many draws every sample index appears about 1/n of the time (chi-square well below its 99.9% point)."""
    from samscape.dynamics import draws

    counts = np.bincount(draws.batch_indices(5, np.arange(20000), 3, 5, 5).ravel(), minlength=5)
    expected = counts.sum() / 5
    chi2 = np.sum((counts - expected) ** 2 / expected)
    assert chi2 < 18.47  # chi-square 99.9% quantile with 4 degrees of freedom


def test_full_batch_sam_equals_batched_sam_using_every_sample_once():
    """SAM with batch_size=None uses the full mean gradient, identical to the hand-written full-batch step."""
    land = finite_sum_tanh()
    x = np.array([[1.0, 0.5]])
    g = land.grad(x)
    expected = x - 0.1 * land.grad(x + 0.05 * g / np.linalg.norm(g))
    np.testing.assert_allclose(dy.simulate(land, dy.SAM(0.1, 0.05), x, 1).x, expected, rtol=1e-14)


def test_switch_runs_first_then_second():
    """Switch(GD, USAM, at=k) equals k GD steps followed by USAM steps from there."""
    land, _ = rotated_quadratic([1.0, 4.0], 0.3)
    x0 = np.array([[1.0, -1.0]])
    both = dy.simulate(land, dy.Switch(dy.GD(0.1), dy.USAM(0.1, 0.2), at=4), x0, 10)
    head = dy.simulate(land, dy.GD(0.1), x0, 4)
    tail = dy.simulate(land, dy.USAM(0.1, 0.2), head.x, 6)
    np.testing.assert_allclose(both.x, tail.x, rtol=1e-14)


def test_saved_steps_hold_zero_every_kth_and_the_last():
    """every=k keeps steps 0, k, 2k, ... and the last step; memory follows what is kept, not the step count."""
    land = landscapes.from_expr("z**2", "z")
    run = dy.simulate(land, dy.GD(0.01), np.zeros((4, 1)) + 1, 1003, every=100)
    assert run.steps.tolist() == list(range(0, 1001, 100)) + [1003]
    assert run.xs.shape == (12, 4, 1) and run.loss.shape == (12, 4) and run.x.shape == (4, 1)
    np.testing.assert_allclose(run.x[:, 0], (1 - 0.02) ** 1003)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: dy.GD(-0.1), "lr must be"),
        (lambda: dy.GD(0.0), "lr must be"),
        (lambda: dy.SAM(0.1, -0.1), "rho must be"),
        (lambda: dy.SAM(0.1, float("nan")), "rho must be"),
        (lambda: dy.SGD(0.1, 0), "batch_size must be"),
        (lambda: dy.SGD(0.1, 1.5), "batch_size must be"),
        (lambda: dy.SGD(0.1, 10**9), "batch_size must be an integer from 1 to 1_000_000, got 1000000000"),
        (lambda: dy.SAM(0.1, 0.1, batch_size=10**6 + 1), r"batch_size must be .* or None \(full batch\), got 1000001"),
        (lambda: dy.SAM(np.array([0.1, -1.0]), 0.1), "index 1"),
        (lambda: dy.SAM(np.ones((2, 2)), 0.1), "1-D"),
        (lambda: dy.Switch(dy.GD(0.1), "sam", 3), "second must be"),
        (lambda: dy.Switch(dy.GD(0.1), dy.GD(0.1), -1), "at must be"),
    ],
)
def test_invalid_hyperparameters_fail_at_construction(build, message):
    """Negative, zero, NaN or ill-shaped hyperparameters raise ValueError naming the parameter."""
    with pytest.raises(ValueError, match=message):
        build()


def test_invalid_simulate_arguments_give_clear_errors():
    """Wrong shapes, NaN starts, bad step counts and mismatched per-start arrays are refused."""
    land = landscapes.from_expr("x**2 + y**2", "x,y")
    with pytest.raises(ValueError, match=r"x0 must have shape \(2,\)"):
        dy.simulate(land, dy.GD(0.1), np.zeros((3, 3)), 10)
    with pytest.raises(ValueError, match="x0 must be finite"):
        dy.simulate(land, dy.GD(0.1), [[0.0, np.nan]], 10)
    with pytest.raises(ValueError, match="steps must be"):
        dy.simulate(land, dy.GD(0.1), [0.0, 0.0], -1)
    with pytest.raises(ValueError, match="every must be"):
        dy.simulate(land, dy.GD(0.1), [0.0, 0.0], 10, every=0)
    with pytest.raises(ValueError, match="3 values but there are 2 starts"):
        dy.simulate(land, dy.GD(np.ones(3) * 0.1), np.zeros((2, 2)), 10)
    with pytest.raises(ValueError, match="optimizer must be"):
        dy.simulate(land, "sam", np.zeros((2, 2)), 10)
    with pytest.raises(ValueError, match="backend must be"):
        dy.simulate(land, dy.GD(0.1), np.zeros((2, 2)), 10, backend="fortran")


def test_saved_run_round_trips_and_rebuilds_its_landscape(tmp_path):
    """Run.save writes everything needed; load_run returns the same arrays and a landscape with equal values."""
    land = finite_sum_tanh()
    run = dy.simulate(land, dy.Switch(dy.SGD(0.1, 2), dy.SAM(0.1, 0.05), at=5), land.random_points(3), 20,
                      every=3, seed=4)
    path = run.save(tmp_path / "run.npz")
    loaded = dy.load_run(path)
    np.testing.assert_array_equal(loaded.xs, run.xs)
    np.testing.assert_array_equal(loaded.status, run.status)
    assert loaded.seed == 4 and loaded.every == 3
    assert loaded.optimizer == run.optimizer
    pts = land.random_points(5, seed=9)
    np.testing.assert_allclose(loaded.landscape.value(pts), land.value(pts), rtol=1e-12)
    rerun = dy.simulate(loaded.landscape, loaded.optimizer, loaded.x0, int(loaded.steps[-1]), every=loaded.every,
                        seed=loaded.seed)
    np.testing.assert_array_equal(rerun.xs, run.xs)
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]  # no temporary file left behind


def test_a_failed_save_keeps_the_previous_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    """Saving is atomic: a crash mid-write leaves the earlier run intact; a good save is world-readable."""
    import os

    land = landscapes.from_expr("z**2", "z")
    run = dy.simulate(land, dy.GD(0.1), [[1.0]], 5)
    path = run.save(tmp_path / "run.npz")
    before = (tmp_path / "run.npz").read_bytes()
    umask = os.umask(0o022)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", explode)
    with pytest.raises(OSError, match="disk full"):
        dy.simulate(land, dy.GD(0.2), [[1.0]], 5).save(path)
    assert (tmp_path / "run.npz").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]


def test_progress_bar_draws_to_the_stream_and_finishes_once():
    """A forced progress bar writes a bar ending at 100% exactly once, followed by one newline."""
    import io

    from samscape.dynamics.progress import Progress

    stream = io.StringIO()
    bar = Progress(10, "run", enabled=True, stream=stream)
    for done in range(1, 11):
        bar.update(done)
    bar.update(10)
    text = stream.getvalue()
    assert text.count("100.0%") == 1 and text.endswith("\n") and text.count("\n") == 1
    quiet = io.StringIO()
    Progress(10, "run", enabled=False, stream=quiet).update(10)
    assert quiet.getvalue() == ""


def test_optimizers_compare_and_hash_by_value_even_with_per_start_arrays():
    """Two SAMs with equal per-start rho arrays are equal and hash alike; a different array is unequal."""
    a, b = dy.SAM(0.1, [0.1, 0.2]), dy.SAM(0.1, np.array([0.1, 0.2]))
    assert a == b and hash(a) == hash(b)
    assert a != dy.SAM(0.1, [0.1, 0.3]) and a != dy.USAM(0.1, [0.1, 0.2])
    assert len({dy.GD(0.1), dy.GD(0.1), dy.GD(0.2)}) == 2


@pytest.mark.parametrize("value", ["0.1", True, b"1"])
def test_learning_rate_must_be_a_number_not_text_or_a_flag(value):
    """GD(lr='0.1') or GD(True) is a mistake, refused with the value named."""
    with pytest.raises(ValueError, match="lr must be"):
        dy.GD(value)


@pytest.mark.parametrize("x0", [[["a", "b"]], [[1 + 2j, 0.0]]])
def test_non_real_starts_are_refused_in_one_sentence(x0):
    """Text or complex starting points raise ValueError naming x0 and its dtype."""
    land = landscapes.from_expr("x**2 + y**2", "x,y")
    with pytest.raises(ValueError, match="x0 must be an array of real numbers"):
        dy.simulate(land, dy.GD(0.1), x0, 3)


def test_a_bound_beyond_float32_range_acts_as_the_largest_representable_norm():
    """With float32 and bound=1e300 (not representable), GD blowing up by 1.4 per step is frozen, finite, at the
    first step whose squared norm no longer fits in float32; it never carries an infinite iterate."""
    land = landscapes.get("quadratic", eigenvalues=[4.0, 1.0])
    run = dy.simulate(land, dy.GD(0.6), [[1.0, 1.0]], 400, bound=1e300, dtype=np.float32, backend="numpy")
    assert run.status.tolist() == ["diverged"]
    assert np.all(np.isfinite(run.xs))
    first_overflow = int(np.ceil(np.log(np.finfo(np.float32).max) / (2 * np.log(1.4))))
    assert run.stopped_at.tolist() == [first_overflow]
    assert abs(run.x[0, 0]) == pytest.approx(1.4**first_overflow, rel=1e-4)


def test_loading_something_that_is_not_a_run_says_so(tmp_path):
    """load_run on a foreign .npz, a text file or a missing path raises one clear ValueError."""
    foreign = tmp_path / "junk.npz"
    np.savez(foreign, a=np.arange(3))
    text = tmp_path / "text.npz"
    text.write_text("hello")
    for path in (foreign, text):
        with pytest.raises(ValueError, match="not a samscape run"):
            dy.load_run(path)
    with pytest.raises(ValueError, match="does not exist"):
        dy.load_run(tmp_path / "missing.npz")


def test_loading_with_a_landscape_of_the_wrong_dimension_is_refused(tmp_path):
    """load_run(path, landscape=L) checks that L has the run's dimension."""
    run = dy.simulate(landscapes.from_expr("x**2 + y**2", "x,y"), dy.GD(0.1), [[1.0, 1.0]], 3)
    path = run.save(tmp_path / "run.npz")
    with pytest.raises(ValueError, match="has dim 1 but the run"):
        dy.load_run(path, landscape=landscapes.from_expr("z**2", "z"))
    assert dy.load_run(path).backend == run.backend


# ---------------------------------------------------------------------------------------------- memory guard
def test_memory_estimate_counts_the_saved_arrays_exactly():
    """The saved iterates are n_saved*n_starts*dim*itemsize bytes and the saved loss n_saved*n_starts*itemsize;
    10**7 starts x 60 steps saved every step (the issue's run) needs more than 9 GiB for the iterates alone."""
    from samscape.dynamics.budget import memory_estimate

    land = landscapes.get("tanh")
    for dtype, size in (("float64", 8), ("float32", 4)):
        est = memory_estimate(land, dy.GD(0.1), 10**7, 61, dtype, "numpy")
        assert est["saved iterates"] == 61 * 10**7 * 2 * size
        assert est["saved loss"] == 61 * 10**7 * size
        assert est["total"] == est["saved iterates"] + est["saved loss"] + est["working"] and est["working"] > 0
    assert memory_estimate(land, dy.GD(0.1), 10**7, 61)["saved iterates"] > 9 * 2**30


def test_memory_estimate_counts_the_optimizers_state():
    """Momentum's velocity is one (n_starts, dim) array in the kernel's arguments and three in the NumPy loop (the
    current, the next and the frozen starts' merge); LookSAM carries a second array. (The stepping loop's share of
    ``working``, which is the larger of it and the final loss's chunks.)"""
    from samscape.dynamics import budget
    from samscape.dynamics.runplan import plan_run

    land, n = landscapes.get("tanh"), 10**6
    velocity = n * 2 * 8

    def loop(optimizer, backend):
        return budget._working_bytes(plan_run(land, optimizer, n, np.float64), backend)

    for backend, copies in (("compiled", 1), ("numpy", 3)):
        plain = loop(dy.SAM(0.1, 0.05), backend)
        assert loop(dy.SAM(0.1, 0.05, momentum=0.9), backend) == plain + copies * velocity
        assert loop(dy.LookSAM(0.1, 0.05, momentum=0.9), backend) == plain + 2 * copies * velocity


def test_a_run_that_does_not_fit_is_refused_before_it_starts(monkeypatch):
    """simulate compares the estimate with available_memory(): one byte short is refused with the estimate and
    the remedy (every=, fewer starts) in one sentence; exactly enough runs."""
    from samscape.dynamics import budget, integrate

    land = landscapes.from_expr("x**2 + y**2", "x,y")
    x0 = np.ones((50, 2))
    need = budget.memory_estimate(land, dy.GD(0.1), 50, 101, "float64", "numpy")["total"]
    monkeypatch.setattr(budget, "available_memory", lambda: need - 1)
    monkeypatch.setattr(integrate, "numpy_backend", None)  # a refused run must not reach the stepping loop
    monkeypatch.setitem(integrate.BACKENDS, "numpy", None)
    with pytest.raises(ValueError, match=r"^this run needs about [0-9.]+ [KMG]iB of memory \(saved iterates .*\) but only "
                                         r"[0-9.]+ [KMG]iB is available; keep fewer iterates with a larger every= \(now 1\) "
                                         r"or run fewer starts than 50 at once$"):
        dy.simulate(land, dy.GD(0.1), x0, 100, backend="numpy")
    monkeypatch.undo()
    monkeypatch.setattr(budget, "available_memory", lambda: need)
    assert dy.simulate(land, dy.GD(0.1), x0, 100, backend="numpy").xs.shape == (101, 50, 2)


def test_a_huge_batch_is_refused_by_the_memory_guard(monkeypatch):
    """A batch allowed by the optimizer (10**6) but too large for the starts and the memory is refused, and the
    message points at batch_size, before any draw is made."""
    from samscape.dynamics import budget, integrate

    land = landscapes.get("tanh", xs=(0.6, 1.0, 1.3), ys=(0.0, 0.0, 0.0))
    opt = dy.SGD(0.1, 10**6)
    est = budget.memory_estimate(land, opt, 100, 2, "float64", "numpy")
    assert est["working"] >= 100 * 10**6 * 8  # at least one 64-bit number per start and batch position
    monkeypatch.setattr(budget, "available_memory", lambda: 2**30)
    monkeypatch.setitem(integrate.BACKENDS, "numpy", None)
    with pytest.raises(ValueError, match="smaller batch_size"):
        dy.simulate(land, opt, land.random_points(100), 1, backend="numpy")


def test_unknown_available_memory_disables_the_guard(monkeypatch):
    """When the available memory cannot be read (None), simulate runs rather than guessing."""
    from samscape.dynamics import budget

    monkeypatch.setattr(budget, "available_memory", lambda: None)
    run = dy.simulate(landscapes.from_expr("z**2", "z"), dy.GD(0.25), [[1.0]], 3, backend="numpy")
    np.testing.assert_allclose(run.x, [[0.5**3]])


def test_available_memory_reads_meminfo_or_falls_back_to_sysconf(monkeypatch, tmp_path):
    """available_memory() is MemAvailable (kB -> bytes) when /proc/meminfo has it, else free pages x page size."""
    import builtins
    import os

    from samscape.dynamics import budget

    fake = tmp_path / "meminfo"
    fake.write_text("MemTotal:       1000 kB\nMemAvailable:    123 kB\n")
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: real_open(fake if f == "/proc/meminfo" else f, *a, **k))
    assert budget.available_memory() == 123 * 1024

    def missing(f, *a, **k):
        if f == "/proc/meminfo":
            raise FileNotFoundError(f)
        return real_open(f, *a, **k)

    monkeypatch.setattr(builtins, "open", missing)
    pages = {"SC_AVPHYS_PAGES": 7, "SC_PAGE_SIZE": 4096}
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])
    assert budget.available_memory() == 7 * 4096


@pytest.mark.parametrize("data", [None, TANH_DATA])
def test_saved_loss_is_computed_in_bounded_chunks_with_the_same_values(monkeypatch, data):
    """With a tiny chunk, simulate evaluates the loss on at most CHUNK_ELEMENTS // n_samples points at a time,
    and the values equal one whole-array evaluation (plain function and finite sum)."""
    from samscape.dynamics import budget

    if data is None:
        land = landscapes.from_expr("0.5*tanh(v*tanh(u))**2", "u,v")
    else:
        land = landscapes.from_expr("0.5*(tanh(v*tanh(u*a)) - y)**2", "u,v", samples=data)
    monkeypatch.setattr(budget, "CHUNK_ELEMENTS", 14)
    calls = []
    value = land.value
    monkeypatch.setattr(land, "value", lambda x, batch=None: calls.append(np.shape(x)) or value(x, batch))
    run = dy.simulate(land, dy.GD(0.3), land.random_points(7, seed=1), 12, every=3, seed=0, backend="numpy")
    per_chunk = max(1, 14 // (len(data["a"]) if data else 1))
    assert calls and all(shape[0] <= per_chunk for shape in calls)
    assert sum(shape[0] for shape in calls) == run.xs.shape[0] * run.xs.shape[1]
    np.testing.assert_array_equal(run.loss, value(run.xs))
    np.testing.assert_array_equal(run.grad_norm(), np.linalg.norm(land.grad(run.xs), axis=-1))


# ---------------------------------------------------------------------------------------------- Run.validate
def _small_run():
    land = landscapes.from_expr("x**2 + y**2", "x,y")
    return dy.simulate(land, dy.GD(0.1), np.array([[1.0, 0.0], [0.5, 0.5], [2.0, 1.0]]), 10, every=5, seed=0)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(status=np.array(["ok", "lost", "ok"])), "status must hold only .*'lost' for start 1"),
        (dict(xs=np.full((3, 3, 2), np.nan)), "xs must be finite .* start 0"),
        (dict(loss=np.zeros((3, 2))), r"loss must have shape \(3, 3\)"),
        (dict(steps=np.array([0, 5])), r"steps must have shape \(3,\)"),
        (dict(steps=np.array([0, 4, 10])), "steps must be 0, every, 2\\*every"),
        (dict(steps=np.array([0, 5, 10**18])), "steps must be 0, every"),
        (dict(stopped_at=np.array([-1, 4, -1])), r"stopped_at of start 1 \(status ok\) must be -1"),
        (dict(status=np.array(["ok", "diverged", "ok"])), r"stopped_at of start 1 \(status diverged\) must be the step in \[1, 10\]"),
        (dict(xs=np.zeros((3, 3, 2), dtype=np.int64)), "xs must be a non-empty float64 or float32 array"),
        (dict(start_ids=np.array([0, 1])), r"start_ids must have shape \(3,\)"),
        (dict(optimizer=dy.GD(np.array([0.1, 0.2]))), "lr has 2 values but there are 3 starts"),
    ],
)
def test_validate_names_the_first_inconsistency(change, message):
    """Run.validate refuses fields that disagree with each other; a run from simulate passes unchanged."""
    import dataclasses

    run = _small_run()
    assert run.validate() is run
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(run, **change).validate()
