"""Extending a sweep store (``client="synchronous"``): a rerun that appends values to swept dims computes only the
new points, leaves every old chunk and marker as it was (the one chunk straddling the old end of an lr axis keeps
its old values), ends equal to a fresh sweep of the union grid, resumes when interrupted, and any other difference
is refused with the store untouched."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
zarr = pytest.importorskip("zarr")

from samscape import dynamics, landscapes, sweep  # noqa: E402
from samscape.sweep import cli as sweep_cli  # noqa: E402
from samscape.sweep import engine  # noqa: E402

TANH = landscapes.get("tanh")
# 18 points per block over 9 starts: a block holds 2 values of the last lr/rho axis, 1 of every other dim
# reuse_seeds=False: every seed is simulated, so the tests see each new combination (full-batch SAM's seeds give
# the same runs, which a sweep otherwise simulates once; the last test checks extensions with that too)
RUN = dict(starts="grid:-3:3:-1:1:3x3", steps=30, client="synchronous", backend="numpy", progress=False,
           block_points=18, every=10, reuse_seeds=False)
VARIABLES = ("x", "xs", "loss", "status", "stopped_at", "fate", "lambda_max")
METADATA = (".zarray", ".zattrs", ".zmetadata", ".zgroup")

BY_SEED = ({"lr": [0.1, 1.2], "rho": [0.5], "seed": [0, 1]},
           {"lr": [0.1, 1.2], "rho": [0.5], "seed": [0, 1, 2, 3]})
# lr is the last lr/rho axis, in chunks of 2: [0.1, 0.6 | 1.2] grows to [0.1, 0.6 | 1.2, 0.3 | 2.0], so the
# second chunk straddles the old end; the new values are not sorted and stay in the given order
BY_LR = ({"rho": [0.5], "lr": [0.1, 0.6, 1.2], "seed": [4]},
         {"rho": [0.5], "lr": [0.1, 0.6, 1.2, 0.3, 2.0], "seed": [4]})



def _tokens(store):
    return {key: record["token"] for key, record in engine.done_blocks(store).items()}


def _assert_same_sweep(a, b):
    """The data, every coordinate and the recipe agree bit for bit."""
    assert set(a.data_vars) == set(b.data_vars) >= set(VARIABLES) - {"xs"}
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    assert set(a.coords) == set(b.coords)
    for name in a.coords:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
        assert a[name].dtype == b[name].dtype
    assert a.attrs[engine.RECIPE_ATTR] == b.attrs[engine.RECIPE_ATTR]


def _points(grid):
    names = list(grid)
    return {tuple(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))}


@pytest.fixture
def simulated(monkeypatch):
    """Records the swept values of every point a block simulates: (name, value) pairs, one tuple per point."""
    seen = []
    original = engine.simulate_block

    def spy(plan, index, x0_all=None, mask=None):
        _, _, values, _ = engine.points_of_block(plan, index)
        keep = np.ones(len(next(iter(values.values()))), bool) if mask is None else mask
        for k in np.flatnonzero(keep):
            seen.append(tuple((name, values[name][k].item()) for name in plan["names"]))
        return original(plan, index, x0_all=x0_all, mask=mask)

    monkeypatch.setattr(engine, "simulate_block", spy)
    return seen


@pytest.mark.parametrize("old, new, straddles", [(*BY_SEED, False), (*BY_LR, True)], ids=["seeds", "lr"])
def test_extension_computes_only_new_points_and_equals_a_fresh_sweep(tmp_path, simulated, old, new, straddles, file_times):
    """Extending by seeds, or by lr values appended in an unsorted order (one chunk straddling the old end),
    simulates exactly the new combinations (each once per start), keeps every old chunk file, coordinate chunk
    and completion marker as it was (the straddling chunk is rewritten with its old values), and ends equal to a
    fresh sweep of the union grid, its coordinates in the given order."""
    store = tmp_path / "s.zarr"
    before = sweep.run(TANH, dynamics.SAM, grid=old, store=store, **RUN).load()
    files, tokens = file_times(store), _tokens(store)
    simulated.clear()

    extended = sweep.run(TANH, dynamics.SAM, grid=new, store=store, **RUN).load()

    n_starts = before.sizes["start"]
    new_points = _points(new) - _points(old)
    assert sorted(simulated) == sorted(p for p in new_points for _ in range(n_starts))
    fresh = sweep.run(TANH, dynamics.SAM, grid=new, store=tmp_path / "fresh.zarr", **RUN).load()
    _assert_same_sweep(extended, fresh)
    for name in new:
        assert extended[name].values.tolist() == new[name]
    old_part = extended.isel({name: slice(0, len(values)) for name, values in old.items()})
    for name in VARIABLES:
        np.testing.assert_array_equal(old_part[name].values, before[name].values, err_msg=name)
    after = _tokens(store)
    assert {key: after[key] for key in tokens} == tokens
    assert all(generation == 1 for (_, generation) in set(after) - set(tokens))
    names = list(new)
    chunk = engine.read_recipe(str(store))["_block_shape"]
    straddling = [name for name, values in old.items()
                  if len(values) < len(new[name]) and len(values) % chunk[names.index(name)]]
    assert straddling == (["lr"] if straddles else [])
    changed = {path for path, mtime in files.items() if file_times(store).get(path) != mtime}
    for path in changed:
        folder, name = os.path.split(os.path.relpath(path, store))
        if name in METADATA:
            continue
        # a data chunk: only one whose lr chunk index is the straddling one may have been rewritten
        assert straddling and folder in VARIABLES, path
        lr_chunk = int(name.split(".")[names.index("lr")])
        assert lr_chunk == len(old["lr"]) // chunk[names.index("lr")], path
    assert extended.attrs[engine.GENERATIONS_ATTR] == [[len(old[n]) for n in names], [len(new[n]) for n in names]]


def test_plain_xarray_reads_an_extended_store(tmp_path):
    """xarray.open_zarr (consolidated metadata, no samscape) sees an extended store with its new sizes and the
    same values as sweep.open."""
    store = tmp_path / "s.zarr"
    sweep.run(TANH, dynamics.SAM, grid=BY_SEED[0], store=store, **RUN)
    ours = sweep.run(TANH, dynamics.SAM, grid=BY_SEED[1], store=store, **RUN).load()
    plain = xr.open_zarr(store)
    assert plain.sizes["seed"] == len(BY_SEED[1]["seed"])
    for name in VARIABLES:
        np.testing.assert_array_equal(plain[name].values, ours[name].values, err_msg=name)


def test_interrupted_extension_resumes(tmp_path, monkeypatch):
    """An extension interrupted after some of its blocks is finished by a rerun of the same call: the blocks done
    before the interruption keep their markers, and the result equals a fresh sweep of the union grid."""
    old = BY_LR[0]
    new = {"rho": [0.5], "lr": [0.1, 0.6, 1.2, 0.3, 2.0, 0.8, 1.6], "seed": [4, 5]}
    store = tmp_path / "s.zarr"
    sweep.run(TANH, dynamics.SAM, grid=old, store=store, **RUN)
    original, calls = engine.compute_block, []

    def interrupting(plan, index, copies=()):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(index)
        return original(plan, index, copies)

    monkeypatch.setattr(engine, "compute_block", interrupting)
    with pytest.raises(KeyboardInterrupt):
        sweep.run(TANH, dynamics.SAM, grid=new, store=store, **RUN)
    monkeypatch.setattr(engine, "compute_block", original)
    halfway = _tokens(store)
    assert sum(generation == 1 for (_, generation) in halfway) == 2
    assert sweep.open(store).sizes["lr"] == len(new["lr"])  # the extension itself was committed
    resumed = sweep.run(TANH, dynamics.SAM, grid=new, store=store, **RUN).load()
    after = _tokens(store)
    assert {key: after[key] for key in halfway} == halfway
    _assert_same_sweep(resumed, sweep.run(TANH, dynamics.SAM, grid=new, store=tmp_path / "f.zarr", **RUN).load())


def test_extension_stopped_between_its_commit_and_the_arrays_is_finished_by_a_rerun(tmp_path, monkeypatch, file_times):
    """An extension stopped after it recorded the new recipe but before the arrays grew leaves every old chunk
    and marker in place; sweep.open then says to rerun, and a rerun of the extension grows the arrays and ends
    equal to a fresh sweep of the union grid."""
    old, new = BY_SEED
    store = tmp_path / "s.zarr"
    sweep.run(TANH, dynamics.SAM, grid=old, store=store, **RUN)
    tokens = _tokens(store)
    chunks = {path: mtime for path, mtime in file_times(store).items() if os.path.basename(path) not in METADATA}

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(engine, "grow_arrays", fail)
    with pytest.raises(OSError, match="disk full"):
        sweep.run(TANH, dynamics.SAM, grid=new, store=store, **RUN)
    monkeypatch.undo()
    assert {path: mtime for path, mtime in file_times(store).items() if path in chunks} == chunks
    with pytest.raises(ValueError, match="stopped while being extended; rerun sweep.run with its recipe"):
        sweep.open(store)
    done = sweep.run(TANH, dynamics.SAM, grid=new, store=store, **RUN).load()
    after = _tokens(store)
    assert {key: after[key] for key in tokens} == tokens
    _assert_same_sweep(done, sweep.run(TANH, dynamics.SAM, grid=new, store=tmp_path / "f.zarr", **RUN).load())


@pytest.mark.parametrize("change, fragment", [
    ({"steps": 31}, "steps is 30 there but 31 here"),
    ({"dtype": "float32"}, "dtype is 'float64' there but 'float32' here"),
    ({"starts": "grid:-3:3:-1:1:3x4"}, "n_starts is 9 there but 12 here"),
    ({"optimizer": dynamics.RandomSAM}, "optimizer is"),
    ({"landscape": landscapes.get("tanh", xs=(0.5, 1.0), ys=(0.0, 0.0))}, "landscape is"),
    ({"grid": {"lr": [0.1, 0.6], "rho": [0.5], "seed": [4]}}, "grid['lr'] drops [1.2], which the store holds"),
    ({"grid": {"lr": [0.1, 0.3, 0.6, 1.2], "rho": [0.5], "seed": [4]}},
     "grid['lr'] is [0.1, 0.3, 0.6, 1.2] here but must start with the store's [0.1, 0.6, 1.2], in that order"),
    ({"grid": {"lr": [0.1, 0.6, 1.2], "rho": [0.5], "seed": [4], "batch_size": [1]}},
     "it sweeps lr, rho, seed but this run sweeps lr, rho, seed, batch_size"),
    ({"grid": {"rho": [0.5], "lr": [0.1, 0.6, 1.2, 2.0], "seed": [4]}},
     "it sweeps lr, rho, seed but this run sweeps rho, lr, seed"),
])
def test_a_difference_other_than_appended_values_is_refused_untouched(tmp_path, change, fragment, file_times):
    """A rerun that differs from the store in anything but values appended to swept dims (steps, dtype, starts,
    optimizer, landscape, a dropped value, a value inserted among the old ones, a new swept name, the dims'
    order) is one sentence naming the difference and saying that extension only appends values; no file of the
    store changes."""
    store = tmp_path / "s.zarr"
    grid = {"lr": [0.1, 0.6, 1.2], "rho": [0.5], "seed": [4]}
    sweep.run(TANH, dynamics.SAM, grid=grid, store=store, **RUN)
    files = file_times(store)
    args = {"landscape": TANH, "optimizer": dynamics.SAM, "grid": grid, **RUN, **change}
    with pytest.raises(ValueError) as info:
        sweep.run(args.pop("landscape"), args.pop("optimizer"), store=store, **args)
    message = str(info.value)
    assert fragment in message and "holds a different sweep" in message
    assert "only appends values to its swept dims" in message and "\n" not in message
    assert file_times(store) == files


def test_cli_extends_a_store_and_names_the_new_values(tmp_path, capsys):
    """`samscape sweep --out EXISTING.zarr` with a range extended by a value (A:B:N,c) and more --seeds extends
    the store, prints the new values, and the store equals a fresh sweep of the union grid."""
    def cli(out, lr, seeds):
        from samscape.cli import main

        return main(["sweep", "--landscape", "tanh", "--rho", "0.5", "--lr", lr, "--seeds", str(seeds),
                     "--starts", "grid:-3:3:-1:1:3x3", "--steps", "30", "--backend", "numpy",
                     "--scheduler", "synchronous", "--out", out])

    store, fresh = str(tmp_path / "c.zarr"), str(tmp_path / "f.zarr")
    assert cli(store, "0.1:1.1:3", 2) == 0
    assert "extended" not in capsys.readouterr().out
    assert cli(store, "0.1:1.1:3,1.6", 3) == 0
    out = capsys.readouterr().out
    assert "extended" in out and "new values: lr 1.6; seed 2" in out
    assert cli(fresh, "0.1:1.1:3,1.6", 3) == 0
    _assert_same_sweep(sweep.open(store).load(), sweep.open(fresh).load())


def test_values_mix_ranges_and_numbers():
    """--lr A:B:N,c,d gives the N evenly spaced values from A to B, then c and d, in that order."""
    expected = np.linspace(0.1, 0.5, 3).tolist() + [0.7, 0.05]
    assert sweep_cli.parse_values("0.1:0.5:3, 0.7,0.05", "--lr") == expected
    with pytest.raises(ValueError, match="--lr must be START:STOP:COUNT"):
        sweep_cli.parse_values("0.1:0.5", "--lr")


def test_an_extension_by_seeds_that_change_nothing_simulates_each_new_block_once(tmp_path, simulated):
    """Full-batch SAM extended from 2 to 4 seeds with the seeds reused (the default): the two new seeds' blocks are
    simulated once between them, and the store equals a fresh sweep of the union grid."""
    old, new = BY_SEED
    run = {**RUN, "reuse_seeds": True}
    store = tmp_path / "s.zarr"
    sweep.run(TANH, dynamics.SAM, grid=old, store=store, **run)
    simulated.clear()
    extended = sweep.run(TANH, dynamics.SAM, grid=new, store=store, **run).load()
    assert len(simulated) == len(new["lr"]) * len(new["rho"]) * extended.sizes["start"]
    _assert_same_sweep(extended, sweep.run(TANH, dynamics.SAM, grid=new, store=tmp_path / "f.zarr", **RUN).load())
