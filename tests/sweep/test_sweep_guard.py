"""A sweep is sized before it runs and its store is checked when it is read: a sweep that does not fit in memory or
on disk is refused in one sentence before any work, a store that cannot be written is refused by its own name, a
damaged store is never read as data (a rerun recomputes exactly the damaged blocks), blocks that never ran read
as not run, and two sweeps started at once on one new store both finish it."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import tracemalloc

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")

from samscape import dynamics, landscapes, sweep  # noqa: E402
from samscape.sweep import budget, engine, recipe  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TANH = landscapes.get("tanh")
SMALL = dict(starts="grid:-3:3:-1:1:8x8", steps=40, client="synchronous", backend="numpy", progress=False)
GRID = {"lr": [0.1, 0.5, 1.0, 1.5], "rho": [0.0, 0.1, 0.2, 0.3]}
VARIABLES = ("x", "loss", "status", "stopped_at", "fate", "lambda_max")


def _cli(*args) -> list[str]:
    return [sys.executable, "-c", "import sys; from samscape.cli import main; sys.exit(main(sys.argv[1:]))", *args]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": ROOT}


def _at_most_gib(gib: float):
    """A child process that cannot map more than ``gib`` GiB: a sweep that tried to build what it refuses would
    die of a MemoryError there instead of swapping this machine."""
    limit = int(gib * 2**30)
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


# ---------------------------------------------------------------------------------------------- before any work
@pytest.mark.parametrize("case, change, fragment", [
    ("ten billion seeds", dict(optimizer=dynamics.SAM(0.1, 0.1), grid={"seed": range(10**10)}),
     "use a coarser grid"),
    ("10**12 steps, every one kept", dict(steps=10**12, every=1), "keep fewer iterates with a larger every= (now 1)"),
    ("a hundred million starts in 4 GiB", dict(starts="random:100000000", available=4 * 2**30), "use fewer starts"),
])
def test_a_sweep_too_large_for_this_process_is_refused_before_anything_is_built(tmp_path, monkeypatch, case, change,
                                                                                fragment):
    """Ten billion seeds, 10**12 steps with every iterate kept, or 10**8 starts where 4 GiB are available: one
    sentence with the estimate (which exceeds what is available) and the remedy, nothing of that size allocated
    (these consumed gigabytes, then raised MemoryError), and no store."""
    change = dict(change)
    if "available" in change:
        available = change.pop("available")
        monkeypatch.setattr(dynamics, "available_memory", lambda: available)
    arguments = {**SMALL, "optimizer": dynamics.SAM, "grid": GRID, **change}
    store = tmp_path / "big.zarr"
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as refused:
            sweep.run(TANH, store=store, **arguments)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(refused.value)
    assert "\n" not in message and "of memory in this process" in message and fragment in message
    assert peak < 64 * 2**20
    assert not store.exists()


def test_the_block_rule_sizes_blocks_that_fit_and_a_block_too_large_is_refused(tmp_path, monkeypatch):
    """A 3000 x 3000 (lr, rho) grid: the block rule used to cut it into blocks of 4 million points (gigabytes each
    on a worker, a MemoryError in the fates); now a block of the rule needs at most MAX_BLOCK_BYTES by the
    estimate, and a block of 4 million points asked for by block_points is refused in one sentence before any
    store exists, naming the smaller block as the remedy."""
    sizes, names, n_starts, steps = [3000, 3000], ["lr", "rho"], 16, 100
    optimizer = dynamics.SAM(0.1, 0.1)
    per_point = budget.point_bytes(TANH, optimizer, steps=steps, every=None, n_swept=2, dtype="float64",
                                   backend="numpy")
    block = recipe.block_shape(sizes, names, n_starts, steps, 0, 2, 2, optimizer=optimizer, point_bytes=per_point)
    points = int(np.prod(block))
    need = budget.block_bytes(TANH, optimizer, points, steps=steps, every=None, n_swept=2, dtype="float64",
                              backend="numpy")
    assert sum(need.values()) <= recipe.MAX_BLOCK_BYTES
    assert int(np.prod(recipe.block_shape(sizes, names, n_starts, steps, 0, 2, 2, optimizer=optimizer))) > 4_000_000  # without it

    monkeypatch.setattr(dynamics, "available_memory", lambda: 2 * 2**30)
    grid = {"lr": np.linspace(0.05, 2.5, 3000), "rho": np.linspace(0.0, 3.0, 3000)}
    store = tmp_path / "wide.zarr"
    with pytest.raises(ValueError) as refused:
        sweep.run(TANH, dynamics.SAM, grid=grid, store=store, block_points=4_176_000,
                  **{**SMALL, "starts": "random:16", "steps": steps})
    message = str(refused.value)
    assert "\n" not in message and message.startswith("one block of this sweep (4,176,000 points) needs about")
    assert "use smaller blocks (block_points= below 4,176,000" in message
    assert not store.exists()


def test_a_store_too_large_for_the_disk_is_refused(tmp_path, monkeypatch):
    """The store's size (uncompressed, with one marker per block) is compared with the free space of the folder it
    goes to: over it, one sentence naming the store, the size and the remedy, and no store."""
    free = 2**18
    real = budget.shutil.disk_usage
    monkeypatch.setattr(budget.shutil, "disk_usage", lambda p: real(p)._replace(free=free))
    store = tmp_path / "disk.zarr"
    with pytest.raises(ValueError) as refused:
        sweep.run(TANH, dynamics.SAM, grid=GRID, store=store, every=1, **SMALL)
    message = str(refused.value)
    assert message.startswith(f"store {str(store)!r} needs up to") and "only 256.00 KiB is free there" in message
    assert "larger every= (now 1)" in message and "\n" not in message
    assert not store.exists()


def test_the_command_refuses_in_one_line_before_any_work(tmp_path):
    """`samscape sweep --steps 10**12 --every 1` (it raised a 7 TiB allocation traceback) prints one error line
    with the estimate and exits 2, in a process that could not have built it, and writes nothing."""
    store = str(tmp_path / "cli.zarr")
    done = subprocess.run(_cli("sweep", "--landscape", "tanh", "--lr", "0.1", "--rho", "0.1", "--steps", str(10**12),
                               "--every", "1", "--scheduler", "synchronous", "--out", store),
                          env=_env(), capture_output=True, text=True, timeout=120, preexec_fn=_at_most_gib(3))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("samscape sweep: error: this sweep needs about")
    assert "TiB" in lines[0] and "every=" in lines[0]
    assert not os.path.exists(store)


def _unwritable_folder(tmp_path) -> str:
    """A folder this process cannot create files in (root ignores modes: /sys refuses even root)."""
    if os.getuid() == 0:
        try:
            fd, probe = tempfile.mkstemp(dir="/sys")
        except OSError:
            return "/sys"
        os.close(fd)
        os.unlink(probe)
        pytest.skip("no folder here that root cannot write")
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o555)
    return str(folder)


def test_a_store_in_a_folder_that_cannot_be_written_is_refused_by_its_own_name(tmp_path):
    """The error names the store the user gave, never the hidden temporary folder it is built in, from Python
    (OSError) and from the command (one line, exit 2)."""
    store = os.path.join(_unwritable_folder(tmp_path), "s.zarr")
    with pytest.raises(OSError) as refused:
        sweep.run(TANH, dynamics.SAM, grid=GRID, store=store, **SMALL)
    assert refused.value.filename == store
    done = subprocess.run(_cli("sweep", "--landscape", "tanh", "--lr", "0.1", "--rho", "0.1", "--steps", "5",
                               "--scheduler", "synchronous", "--out", store),
                          env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == f"samscape sweep: error: cannot use {store!r}: " + refused.value.strerror
    assert ".tmp-samscape" not in done.stderr


# ---------------------------------------------------------------------------------------------- damage
@pytest.fixture
def finished(tmp_path):
    """A finished 4 x 4 x 64-start sweep in blocks of one (lr, rho) cell, and a copy of its values."""
    store = tmp_path / "t.zarr"
    reference = sweep.run(TANH, dynamics.SAM, grid=GRID, store=store, block_points=64, **SMALL).load()
    return store, reference


def _simulated_blocks(monkeypatch) -> list:
    seen = []
    original = engine.simulate_block

    def spy(plan, index, x0_all=None, mask=None):
        seen.append(tuple(index))
        return original(plan, index, x0_all=x0_all, mask=mask)

    monkeypatch.setattr(engine, "simulate_block", spy)
    return seen


@pytest.mark.parametrize("damage", ["deleted", "one byte"])
def test_a_damaged_store_is_refused_and_a_rerun_recomputes_exactly_the_damaged_blocks(finished, monkeypatch, capsys,
                                                                                      damage):
    """A finished store whose `x` chunk of one block was deleted, and whose `loss` chunk of another was overwritten
    with one byte: sweep.open refuses it in one sentence naming both blocks (it read NaN for the first and raised
    a blosc RuntimeError for the second); the same sweep run again says so, recomputes those two blocks and
    nothing else, and ends equal to the sweep before the damage."""
    store, reference = finished
    names = {"x": os.path.join(store, "x", "1.2.0.0"), "loss": os.path.join(store, "loss", "3.3.0")}
    os.remove(names["x"])
    if damage == "deleted":
        os.remove(names["loss"])
    else:
        with open(names["loss"], "wb") as handle:
            handle.write(b"\0")
    with pytest.raises(ValueError) as refused:
        sweep.open(store)
    message = str(refused.value)
    assert "\n" not in message and "has 2 damaged blocks" in message
    assert "lr[1] rho[2] start[0:64]: its chunk of x is missing" in message
    assert "lr[3] rho[3] start[0:64]: its chunk of loss " + (
        "is missing" if damage == "deleted" else "differs from what was written") in message
    simulated = _simulated_blocks(monkeypatch)
    again = sweep.run(TANH, dynamics.SAM, grid=GRID, store=store, block_points=64, **SMALL).load()
    assert sorted(simulated) == [(1, 2, 0), (3, 3, 0)]
    said = capsys.readouterr().err
    assert "has 2 damaged blocks" in said and "recomputing them (and nothing else)" in said
    for name in VARIABLES:
        np.testing.assert_array_equal(again[name].values, reference[name].values, err_msg=name)


def test_damaged_coordinates_are_refused(finished):
    """A coordinate that no longer holds its recipe's values (here rho) is refused too: the cells would be read
    under the wrong labels."""
    import zarr

    store, _ = finished
    zarr.open_group(store, mode="r+")["rho"][1] = 9.0
    with pytest.raises(ValueError, match="its coordinate 'rho' no longer holds the values of its recipe"):
        sweep.open(store)


def test_blocks_that_never_ran_read_as_not_run(tmp_path, monkeypatch):
    """A block without a completion marker reads -1 (not run) in status, fate and stopped_at through sweep.open
    (zarr returns 0, `ok` and `minimizer`, for a chunk never written), so fractions leave its cells blank."""
    original = engine.compute_block
    monkeypatch.setattr(engine, "compute_block",
                        lambda plan, index, copies=(): [] if tuple(index) == (1, 0, 0) else original(plan, index, copies))
    ds = sweep.run(TANH, dynamics.SAM, grid={"lr": [0.1, 0.5], "rho": [0.0, 0.1]}, store=tmp_path / "u.zarr",
                   block_points=64, **SMALL)
    for name, dtype in (("status", np.int8), ("fate", np.int8), ("stopped_at", np.int64)):
        values = ds[name].values
        assert (values[1, 0] == engine.NOT_RUN).all() and values.dtype == dtype, name
    for name in ("status", "fate"):
        assert (ds[name].values[0] >= 0).all() and (ds[name].values[1, 1] >= 0).all(), name
    share = sweep.fractions(ds)
    assert np.isnan(share.sel(lr=0.5, rho=0.0)).all() and not np.isnan(share.sel(lr=0.1, rho=0.0)).any()


def test_two_sweeps_started_at_once_on_one_new_store_both_finish_it(tmp_path):
    """Two `samscape sweep` processes on the same new store: neither fails (one failed naming a hidden temporary
    folder), the one that did not create it says another sweep did, and the store equals one sweep's."""
    store = str(tmp_path / "both.zarr")
    args = _cli("sweep", "--landscape", "tanh", "--lr", "0.1:1.5:4", "--rho", "0:0.3:4", "--starts",
                "grid:-3:3:-1:1:8x8", "--steps", "40", "--block-points", "64", "--scheduler", "synchronous",
                "--backend", "numpy", "--out", store)
    runs = [subprocess.Popen(args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    results = [(run.wait(timeout=300), *run.communicate()) for run in runs]
    for code, out, err in results:
        assert code == 0, err
        assert ".tmp-samscape" not in out + err
    assert sum("another sweep created" in err for _, _, err in results) <= 1
    reference = sweep.run(TANH, dynamics.SAM, grid={"lr": list(np.linspace(0.1, 1.5, 4)),
                                                    "rho": list(np.linspace(0, 0.3, 4))},
                          store=tmp_path / "one.zarr", block_points=64, **SMALL).load()
    both = sweep.open(store).load()
    for name in VARIABLES:
        np.testing.assert_array_equal(both[name].values, reference[name].values, err_msg=name)
