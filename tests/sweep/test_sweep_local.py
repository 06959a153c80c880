"""Sweeps run in this process (``client="synchronous"``): input refused before any work, a store of another recipe
refused untouched, results independent of the block size, the block-size rule, fractions and the phase plot."""

from __future__ import annotations

import io
import math
import os
import subprocess
import sys

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")

from samscape import dynamics, landscapes, plots, sweep, theory  # noqa: E402
from samscape.sweep import engine, recipe  # noqa: E402

TANH = landscapes.get("tanh")
SMALL = dict(starts="grid:-3:3:-1:1:3x3", steps=30, client="synchronous", backend="numpy", progress=False)
VARIABLES = ("x", "loss", "status", "stopped_at", "fate", "lambda_max")


@pytest.mark.parametrize("optimizer, grid, fragment", [
    (dynamics.SAM, {}, "grid must be a non-empty dict"),
    (dynamics.SAM, {"lr": [], "rho": [0.1]}, "grid['lr'] must hold at least one value"),
    (dynamics.SAM, {"lr": [0.1, "a"], "rho": [0.1]}, "grid['lr'] must hold numbers only, got 'a'"),
    (dynamics.SAM(0.1, 0.1), {"lrr": [0.1]}, "grid name 'lrr' is not a hyperparameter of any samscape optimizer"),
    (dynamics.GD(0.1), {"rho": [0.1]}, "grid name 'rho' is not a hyperparameter of GD(lr=0.1), which takes lr, momentum, nesterov, seed"),
    (dynamics.SAM(0.1, 0.1), {"lr": [0.1, -1.0]}, "grid['lr'] holds -1.0, which the optimizer refuses"),
    (dynamics.SAM(0.1, 0.1), {"seed": [0, 1.5]}, "grid['seed'] must hold integers, got 1.5"),
    (dynamics.SAM(0.1, 0.1), {"lr": [0.1, 0.1]}, "grid['lr'] must not repeat a value"),
    (dynamics.SAM, {"lr": [0.1]}, "optimizer SAM needs lr, rho: sweep rho in grid"),
])
def test_bad_input_is_one_sentence_before_any_work(tmp_path, optimizer, grid, fragment):
    """An empty grid, a non-numeric value, an unknown name, a name the optimizer lacks, a value the optimizer
    refuses, a repeated value or a missing required field is a one-sentence ValueError, and no store is created."""
    store = tmp_path / "bad.zarr"
    with pytest.raises(ValueError) as info:
        sweep.run(TANH, optimizer, grid=grid, store=store, **SMALL)
    message = str(info.value)
    assert fragment in message and "\n" not in message
    assert not store.exists()


def test_cli_bad_input_exits_2_before_any_work(tmp_path):
    """`samscape sweep` with a malformed --lr or a --rho for GD prints one error line, exits 2 and writes nothing."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": root}
    code = "import sys; from samscape.cli import main; sys.exit(main(sys.argv[1:]))"
    store = str(tmp_path / "bad.zarr")
    for extra in (["--lr", "0.1:x:3", "--rho", "0.1"], ["--optimizer", "gd", "--lr", "0.1", "--rho", "0.1"]):
        done = subprocess.run([sys.executable, "-c", code, "sweep", "--landscape", "tanh", *extra, "--out", store,
                               "--scheduler", "synchronous"], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("samscape sweep: error:")
        assert not os.path.exists(store)



def test_store_of_another_recipe_is_refused_untouched(tmp_path, file_times):
    """A rerun whose recipe differs from the store's (here: steps) is refused with one sentence naming the
    difference, and no file of the store changes; a folder that is not a sweep store is refused too."""
    store = tmp_path / "s.zarr"
    grid = {"lr": [0.2, 0.4], "rho": [0.1]}
    sweep.run(TANH, dynamics.SAM, grid=grid, store=store, **SMALL)
    before = file_times(store)
    with pytest.raises(ValueError, match=r"holds a different sweep \(steps is 30 there but 31 here\)"):
        sweep.run(TANH, dynamics.SAM, grid=grid, store=store, **{**SMALL, "steps": 31})
    with pytest.raises(ValueError, match="holds a different sweep"):
        sweep.run(TANH, dynamics.SAM, grid={"lr": [0.2, 0.5], "rho": [0.1]}, store=store, **SMALL)
    assert file_times(store) == before
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(ValueError, match="is not a samscape sweep store"):
        sweep.run(TANH, dynamics.SAM, grid=grid, store=other, **SMALL)


def test_results_do_not_depend_on_block_size(tmp_path):
    """The same sweep cut into blocks of 1, 7 and the default number of points gives identical datasets
    (a Switch's `at`, a batch size and the seed swept, on a finite sum with mini-batches)."""
    land = landscapes.get("tanh", xs=(0.5, 1.0, 2.0), ys=(0.0, 0.0, 0.0))
    opt = dynamics.Switch(dynamics.SGD(0.3, 1), dynamics.SAM(0.3, 0.2, batch_size=1), at=10)
    grid = {"second.lr": [0.2, 0.9], "first.batch_size": [1, 2], "at": [5, 15], "seed": [0, 7]}
    results = [sweep.run(land, opt, grid=grid, store=tmp_path / f"b{points}.zarr", block_points=points, **SMALL).load()
               for points in (1, 7, None)]
    for other in results[1:]:
        for name in VARIABLES:
            np.testing.assert_array_equal(results[0][name].values, other[name].values, err_msg=name)


def test_switch_at_and_seed_are_passed_to_simulate(tmp_path):
    """A cell of a sweep over a Switch's `at` and the seed is the simulate call with that `at` and `seed=`."""
    land = landscapes.get("tanh", xs=(0.5, 1.0, 2.0), ys=(0.0, 0.0, 0.0))
    opt = dynamics.Switch(dynamics.SGD(0.3, 1), dynamics.SAM(0.3, 0.2, batch_size=1), at=10)
    ds = sweep.run(land, opt, grid={"at": [5, 15], "seed": [4, 9]}, store=tmp_path / "s.zarr", **SMALL)
    direct = dynamics.simulate(land, dynamics.Switch(opt.first, opt.second, at=15), ds["x0"].values, 30, seed=9,
                               backend="numpy")
    np.testing.assert_array_equal(ds["x"].sel(at=15, seed=9).values, direct.x)


def test_block_rule():
    """The block rule keeps about MIN_BLOCK_WORK point-steps per block for a small sweep (whole start axis first,
    then lr/rho from the last axis back, every other axis in chunks of 1) and gives each worker
    BLOCKS_PER_WORKER blocks of a large one, capped at MAX_BLOCK_WORK."""
    names, sizes = ["lr", "rho", "seed"], [64, 64, 4]
    steps = 10_000
    block = recipe.block_shape(sizes, names, 4096, steps, 0, 2, n_workers=2)
    assert block[2] == 1 and block[3] == 4096
    total = math.prod(sizes) * 4096 * steps
    target = min(recipe.MAX_BLOCK_WORK, max(recipe.MIN_BLOCK_WORK, total // (recipe.BLOCKS_PER_WORKER * 2)))
    points = target // steps
    assert math.prod(block) <= points and math.prod(block) * 2 > points // 64  # whole lr/rho cells only
    small = recipe.block_shape([3, 2], ["lr", "rho"], 5, 10, 0, 2, n_workers=2)
    assert small == (3, 2, 5)  # everything in one block: MIN_BLOCK_WORK covers it
    assert recipe.block_shape([3, 2], ["lr", "at"], 5, 10, 0, 2, n_workers=2) == (3, 1, 5)


def test_fractions_and_open(tmp_path):
    """sweep.fractions gives, for every (lr, rho) cell, the share of starts x seeds in each fate of
    theory.FATES, counted from the stored codes; they sum to 1; sweep.open refuses a missing store."""
    grid = {"lr": [0.2, 1.9], "rho": [0.0, 0.8], "seed": [0, 1]}
    ds = sweep.run(TANH, dynamics.SAM, grid=grid, store=tmp_path / "f.zarr", **SMALL)
    share = sweep.fractions(ds)
    assert list(share.coords["fate"].values) == list(theory.FATES)
    codes = ds["fate"].sel(lr=1.9, rho=0.8).values
    for k, fate in enumerate(theory.FATES):
        assert float(share.sel(fate=fate, lr=1.9, rho=0.8)) == np.mean(codes == k)
    np.testing.assert_allclose(share.sum("fate").values, 1.0)
    with pytest.raises(ValueError, match="does not exist"):
        sweep.open(tmp_path / "missing.zarr")


def _fractions(values, lrs=(0.5, 1.0, 1.5), rhos=(0.0, 1.0)):
    fates = list(theory.FATES)
    return xr.DataArray(values, dims=("fate", "rho", "lr"), coords={"fate": fates, "rho": list(rhos), "lr": list(lrs)})


def test_phase_plot_mixes_fate_colours_and_draws_the_edge_it_is_given():
    """plots.phase colours each cell by the fraction-weighted mix of the fates' colours, leaves unfinished cells
    blank, and draws the edge theory.stability_edge computed for the swept optimizer (GD's at eta = 2/lam here),
    labelled, and no other."""
    from matplotlib import colors

    from samscape.plots.style import FATE_COLORS

    values = np.zeros((len(theory.FATES), 2, 3))
    values[0] = 1.0
    values[0, 1, 2], values[3, 1, 2] = 0.25, 0.75  # rho=1, lr=1.5: a quarter minimizer, three quarters diverged
    values[:, 0, 0] = np.nan
    quadratic = landscapes.get("quadratic", eigenvalues=(1.0, 1.6))
    edge = theory.stability_edge(quadratic, dynamics.GD(0.1), [0.0, 0.0], [0.5, 1.5], rho_max=1.0)
    ax = plots.phase(_fractions(values), edge=edge, edge_source="the origin")
    rgba = np.asarray(ax.collections[0].get_array())  # (rho, lr, RGBA)
    expected = 0.25 * np.array(colors.to_rgb(FATE_COLORS["minimizer"])) + 0.75 * np.array(
        colors.to_rgb(FATE_COLORS["diverged"]))
    np.testing.assert_allclose(rgba[1, 2, :3], expected)
    assert rgba[0, 0, 3] == 0.0 and rgba[0, 1, 3] == 1.0
    gids = {line.get_gid(): line for line in ax.get_lines()}
    assert set(gids) == {"gd"}
    assert gids["gd"].get_xdata()[0] == pytest.approx(2 / 1.6)
    assert "GD edge" in gids["gd"].get_label() and "the origin" in gids["gd"].get_label()


def test_phase_plot_refuses_other_dims():
    """plots.phase names the dims it needs when given fractions that still have another swept dim."""
    extra = xr.DataArray(np.zeros((5, 2, 2, 2)), dims=("fate", "rho", "lr", "seed"))
    with pytest.raises(ValueError, match="must have exactly the dims fate, lr and rho"):
        plots.phase(extra)


def test_a_full_batch_multi_seed_sweep_says_so_and_computes_each_block_once(tmp_path, monkeypatch):
    """The finding: a full-batch sweep over several seeds from grid starts repeated identical work (the seed only
    keys batches and random directions). The sweep says so, simulates each block once (a third of the points for
    3 seeds), and every seed's cell is still bit for bit the direct simulate call with that seed. A stochastic
    optimizer (RandomSAM) is simulated for every seed, and says nothing."""
    calls = []
    original = engine.simulate_block

    def counting(plan, index, x0_all=None, mask=None):
        slices, shape, run = original(plan, index, x0_all, mask)
        calls.append(run.n_starts)
        return slices, shape, run

    monkeypatch.setattr(engine, "simulate_block", counting)
    grid = {"lr": [0.2, 1.1], "rho": [0.0, 0.6], "seed": [0, 5, 9]}
    said = io.StringIO()
    ds = sweep.run(TANH, dynamics.SAM, grid=grid, store=tmp_path / "d.zarr", stream=said, **SMALL).load()
    assert "3 seeds give identical runs" in said.getvalue() and "3x less work" in said.getvalue()
    assert sum(calls) == 2 * 2 * 9  # lr x rho x starts, once
    x0 = ds["x0"].values
    for seed in grid["seed"]:
        run = dynamics.simulate(TANH, dynamics.SAM(1.1, 0.6), x0, SMALL["steps"], seed=seed, backend="numpy")
        np.testing.assert_array_equal(ds["x"].sel(lr=1.1, rho=0.6, seed=seed).values, run.x)
    assert len(engine.done_blocks(str(tmp_path / "d.zarr"))) == len(ds["lr"]) * len(ds["rho"]) * 3 // math.prod(
        engine.read_recipe(str(tmp_path / "d.zarr"))["_block_shape"][:2])
    calls.clear()
    every = sweep.run(TANH, dynamics.SAM, grid=grid, store=tmp_path / "e.zarr", reuse_seeds=False, **SMALL).load()
    assert sum(calls) == 2 * 2 * 9 * 3  # reuse_seeds=False: every seed simulated, the same results
    for name in VARIABLES:
        np.testing.assert_array_equal(every[name].values, ds[name].values)
    calls.clear()
    said = io.StringIO()
    sweep.run(TANH, dynamics.RandomSAM, grid=grid, store=tmp_path / "r.zarr", stream=said, **SMALL)
    assert "identical" not in said.getvalue() and sum(calls) == 2 * 2 * 9 * 3


def test_the_time_left_comes_from_the_measured_throughput(monkeypatch):
    """The finding: ~201 s announced for a 49 s sweep. Eight equal blocks of 10 s on 2 workers that took 10 s to
    start: when the first block finishes (t = 20 s) the pace of the bar so far says 140 s are left; the sweep's bar
    says 35 s from the measured 10 s per block on each of 2 workers (the truth is about 30 s)."""
    from samscape.dynamics import progress as progress_module

    clock = [0.0]
    monkeypatch.setattr(progress_module.time, "perf_counter", lambda: clock[0])
    block = 1000 * 500  # points x steps
    plain = progress_module.Progress(8, "sweep", enabled=True, stream=io.StringIO())
    ours = engine.SweepProgress(8, "sweep", work=8 * block, workers=2, enabled=True, stream=io.StringIO())
    ours.tasks_left = 8
    clock[0] = 20.0
    ours.finished_task([{"seconds": 10.0, "points": 1000, "simulated": 1000}], block, 500)
    assert plain.seconds_left(1 / 8, 20.0) == pytest.approx(140.0)
    assert ours.seconds_left(1 / 8, 20.0) == pytest.approx(35.0)
    ours.update(1)
    assert "~ 35.0s left" in ours.stream.getvalue()
