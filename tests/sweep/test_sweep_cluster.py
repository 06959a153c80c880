"""Sweeps on a real LocalCluster of 2 worker processes: exact agreement with direct simulate calls, resuming after a
killed worker or an interrupted or killed client, the CLI round trip, and plain xarray reading the store."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("distributed")
xr = pytest.importorskip("xarray")

from samscape import dynamics, landscapes, sweep, theory  # noqa: E402
from samscape.sweep import engine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VARIABLES = ("x", "loss", "status", "stopped_at", "fate", "lambda_max")


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           env={"NUMBA_NUM_THREADS": "1"})
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def _wait_idle(client, timeout=60.0):
    """Wait until no worker is executing a task (tasks of a client that went away run to their end)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        busy = client.run(lambda dask_worker: dask_worker.state.executing_count)
        if not any(busy.values()):
            return
        time.sleep(0.1)
    raise AssertionError("the workers stayed busy")


def _markers(store):
    return {index: record["token"] for index, record in engine.done_blocks(store).items()}


def _assert_same(a, b):
    for name in VARIABLES:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    assert a.attrs == b.attrs


TANH = landscapes.get("tanh")
# steps enough that a block takes a noticeable fraction of a second, so an interruption lands mid-sweep
SLOW = dict(starts="grid:-3:3:-1:1:4x4", steps=3000, backend="numpy", block_points=16,
            grid={"lr": [0.1, 0.6, 1.2], "rho": [0.0, 0.5], "seed": [0, 1]})


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The SLOW sweep run uninterrupted, in this process."""
    store = tmp_path_factory.mktemp("ref") / "ref.zarr"
    return sweep.run(TANH, dynamics.SAM, store=store, client="synchronous", progress=False, **SLOW).load()


def test_equals_direct_simulate_calls(client, tmp_path):
    """Every (lr, rho, seed) cell of a sweep run in blocks on 2 worker processes through the compiled kernel holds
    bit for bit what one dynamics.simulate call of that combination from all starts gives (final iterate, loss,
    status, stop step), with theory.classify_fates of that call and the top Hessian eigenvalue at its end."""
    grid = {"lr": [0.3, 1.1, 2.4], "rho": [0.0, 0.7], "seed": [3, 11]}
    ds = sweep.run(TANH, dynamics.RandomSAM, starts="grid:-3:3:-1:1:3x4", steps=60, grid=grid,
                   store=tmp_path / "s.zarr",
                   client=client, backend="compiled", block_points=5, every=20, progress=False).load()
    assert json.loads(ds.attrs["samscape_sweep"])["backend"] == "compiled"
    x0 = ds["x0"].values
    fates = theory.FATES
    for lr in grid["lr"]:
        for rho in grid["rho"]:
            for seed in grid["seed"]:
                run = dynamics.simulate(TANH, dynamics.RandomSAM(lr, rho), x0, 60, every=20, seed=seed,
                                        backend="compiled")
                cell = ds.sel(lr=lr, rho=rho, seed=seed)
                np.testing.assert_array_equal(cell["x"].values, run.x)
                np.testing.assert_array_equal(cell["xs"].values, np.moveaxis(run.xs, 0, 1))
                np.testing.assert_array_equal(cell["loss"].values, run.loss[-1])
                np.testing.assert_array_equal(cell["stopped_at"].values, run.stopped_at)
                assert [dynamics.STATUS_NAMES[c] for c in cell["status"].values] == run.status.tolist()
                expected_fates = theory.classify_fates(run, backend="compiled")
                assert [fates[c] for c in cell["fate"].values] == expected_fates.tolist()
                lam = np.linalg.eigvalsh(TANH.hessian(run.x))[:, -1]
                np.testing.assert_array_equal(cell["lambda_max"].values, lam)


def test_a_variants_hyperparameters_swept_on_the_cluster_equal_direct_calls(client, tmp_path):
    """MultiStepSAM swept over lr, rho, steps_ascent and momentum on 2 worker processes through the compiled kernel:
    every cell is bit for bit the direct simulate call MultiStepSAM(lr, rho, steps_ascent=k, momentum=m) (alpha
    following rho, the class's default; momentum per start, as the blocks pass it); steps_ascent, a kernel constant,
    is one value per block and one kernel per value, compiled here first and loaded by the workers."""
    grid = {"lr": [0.3, 1.1], "rho": [0.2, 0.7], "steps_ascent": [1, 3], "momentum": [0.0, 0.5]}
    ds = sweep.run(TANH, dynamics.MultiStepSAM, starts="grid:-3:3:-1:1:3x2", steps=40, grid=grid,
                   store=tmp_path / "v.zarr", client=client, backend="compiled", block_points=48, progress=False).load()
    assert ds.attrs["samscape_block_shape"] == [2, 2, 1, 2, 6]  # two blocks: one per kernel
    x0 = ds["x0"].values
    for lr, rho, k, m in itertools.product(*grid.values()):
        optimizer = dynamics.MultiStepSAM(lr, rho, steps_ascent=k, momentum=np.full(len(x0), m))
        run = dynamics.simulate(TANH, optimizer, x0, 40, seed=0, backend="compiled")
        np.testing.assert_array_equal(ds["x"].sel(lr=lr, rho=rho, steps_ascent=k, momentum=m).values, run.x)


def test_killed_worker_then_identical_without_recomputing(client, reference, tmp_path):
    """A worker process killed (SIGKILL) part way through a sweep: Dask reruns its block elsewhere, the sweep
    ends identical to an uninterrupted one, the blocks finished before the kill keep their completion records
    (never recomputed), and a rerun on the finished store computes nothing."""
    store = str(tmp_path / "killed.zarr")
    pids = list(client.run(os.getpid).values())
    seen = {}

    def killer():
        deadline = time.time() + 120
        while time.time() < deadline:
            if os.path.isdir(store) and len(engine.done_blocks(store)) >= 3:
                seen.update(_markers(store))
                os.kill(pids[0], signal.SIGKILL)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=killer)
    thread.start()
    ds = sweep.run(TANH, dynamics.SAM, store=store, client=client, progress=False, **SLOW)
    thread.join()
    assert seen, "the sweep finished before a worker could be killed"
    total = len(_markers(store))
    assert len(seen) < total
    after = _markers(store)
    assert {i: after[i] for i in seen} == seen
    _assert_same(ds.load(), reference)
    again = sweep.run(TANH, dynamics.SAM, store=store, client=client, progress=False, **SLOW)
    assert _markers(store) == after
    _assert_same(again.load(), reference)


def _cli(*args):
    return [sys.executable, "-c", "import sys; from samscape.cli import main; sys.exit(main(sys.argv[1:]))", *args]


def _env():
    return {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}


SLOW_CLI = ["sweep", "--landscape", "tanh", "--optimizer", "sam", "--lr", "0.1,0.6,1.2", "--rho", "0,0.5",
            "--seeds", "2", "--starts", "grid:-3:3:-1:1:4x4", "--steps", "3000", "--backend", "numpy",
            "--block-points", "16"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_interrupted_client_then_identical_without_recomputing(client, reference, tmp_path, sig):
    """The client process interrupted with Ctrl-C (SIGINT: one line, exit 130) or killed outright part way: a
    rerun on the same store skips every block with a completion record (their records are untouched), computes
    only the rest, and ends identical to an uninterrupted sweep."""
    store = str(tmp_path / "interrupted.zarr")
    proc = subprocess.Popen(_cli(*SLOW_CLI, "--out", store, "--scheduler", client.scheduler.address),
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (os.path.isdir(store) and engine.done_blocks(store)):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "Traceback" not in err
        (line,) = [text for text in err.splitlines() if "interrupted" in text]
        assert "blocks done in" in line and "run the same command again to resume" in line
    else:
        assert proc.returncode == -signal.SIGKILL
    _wait_idle(client)
    before = _markers(store)
    blocks = engine.read_recipe(store)["_block_shape"]
    assert 0 < len(before)
    ds = sweep.run(TANH, dynamics.SAM, store=store, client=client, progress=False, **SLOW)
    after = _markers(store)
    assert {i: after[i] for i in before} == before
    assert len(after) == int(np.prod([-(-n // c) for n, c in zip((3, 2, 2, 16), blocks)]))
    _assert_same(ds.load(), reference)


def test_cli_round_trip_and_plain_xarray(client, tmp_path):
    """`samscape sweep` on the cluster then `samscape plot STORE --kind phase` write a store that plain
    xarray.open_zarr reads with the same values as sweep.open, and a PNG of the phase diagram."""
    store, figure = str(tmp_path / "cli.zarr"), str(tmp_path / "phase.png")
    args = ["sweep", "--landscape", "tanh", "--lr", "0.1:1.5:3", "--rho", "0:1:2", "--seeds", "2",
            "--starts", "grid:-3:3:-1:1:3x3", "--steps", "50", "--out", store, "--scheduler", client.scheduler.address]
    done = subprocess.run(_cli(*args), env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout
    plain = xr.open_zarr(store)
    ours = sweep.open(store)
    assert dict(plain.sizes) == {"lr": 3, "rho": 2, "seed": 2, "start": 9, "dim": 2}
    for name in VARIABLES:
        np.testing.assert_array_equal(plain[name].values, ours[name].values)
    assert (plain["fate"].values >= 0).all()
    drawn = subprocess.run(_cli("plot", store, "--kind", "phase", "--out", figure), env=_env(), capture_output=True,
                           text=True, timeout=300)
    assert drawn.returncode == 0, drawn.stderr
    with open(figure, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_ctrl_c_on_a_sweep_with_its_own_cluster_prints_one_line(tmp_path):
    """The finding: Ctrl-C on `samscape sweep` (its own LocalCluster; the terminal signals every process of the
    group, workers included) printed about 40 lines of Dask tracebacks and a leaked-semaphore warning. Now: exit
    130 and one line saying how many blocks are done and that the same command resumes; no traceback, no warning."""
    store = str(tmp_path / "own.zarr")
    proc = subprocess.Popen(_cli(*SLOW_CLI, "--out", store, "--workers", "1"), env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (os.path.isdir(store) and engine.done_blocks(store)):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "leaked" not in err and "WARNING" not in err, err
    (line,) = [text for text in err.splitlines() if "interrupted" in text]
    done, total = (int(n) for n in line.split("interrupted: ")[1].split(" blocks")[0].split(" of "))
    assert 0 < done < total and "run the same command again to resume" in line
    assert [text for text in err.splitlines() if not text.startswith("samscape sweep: ")] == []


def test_a_sweep_without_the_sweep_extra_names_it_in_one_line(tmp_path):
    """The finding: after a plain `pip install .`, `samscape sweep` ended in ModuleNotFoundError: distributed. Now
    one line names the missing package and the extra that installs it, exit 2 (the import is made to fail here)."""
    code = ("import sys; sys.modules['distributed'] = None; from samscape.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", code, "sweep", "--landscape", "tanh", "--lr", "0.1", "--rho", "0.1",
                           "--steps", "5", "--out", str(tmp_path / "x.zarr")], env=_env(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "samscape sweep: error: samscape sweep needs distributed, which is not installed: "
        "pip install 'samscape[sweep]' (Dask, xarray and zarr)"]
