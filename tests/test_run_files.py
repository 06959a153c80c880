"""Run files are untrusted input: every broken, truncated or crafted .npz ends in one sentence naming the file,
both from dynamics.load_run (a ValueError) and from `samscape plot` (one line on stderr, exit 2)."""

import io
import json
import zipfile

import numpy as np
import pytest

from samscape import cli, dynamics, landscapes
from samscape.dynamics import budget, run as run_file

STEPS, EVERY = 20, 5


@pytest.fixture(scope="module")
def good_arrays(tmp_path_factory):
    """The arrays of a real saved run: SAM on tanh from two starts, 20 steps, every 5."""
    run = dynamics.simulate(landscapes.get("tanh"), dynamics.SAM(0.1, 0.05), np.array([[1.0, 0.5], [2.0, 1.0]]),
                            STEPS, every=EVERY, seed=0, backend="numpy")
    path = run.save(tmp_path_factory.mktemp("good") / "good.npz")
    with np.load(path) as data:
        return {name: data[name] for name in data.files}


def _npy(array) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(array), allow_pickle=True)
    return buf.getvalue()


def _with_meta(arrays, change):
    meta = json.loads(str(arrays["meta"]))
    change(meta)
    return {**arrays, "meta": np.array(json.dumps(meta))}


def _nested_switches(depth: int) -> str:
    """JSON text of ``depth`` Switches nested through ``first`` (built as text: json.dumps would recurse)."""
    head = '{"kind": "switch", "at": 1, "second": {"kind": "gd", "lr": 0.1}, "first": '
    return head * depth + '{"kind": "gd", "lr": 0.1}' + "}" * depth


def _with_optimizer_text(arrays, text):
    meta = json.loads(str(arrays["meta"]))
    meta["optimizer"] = "@OPT@"
    return {**arrays, "meta": np.array(json.dumps(meta).replace('"@OPT@"', text))}


def _replace(arrays, **changes):
    out = {**arrays, **changes}
    return {k: v for k, v in out.items() if v is not None}


# case -> (how to build the file from the good arrays (a dict of arrays, or raw bytes), what the message says)
CASES = {
    "empty file": (lambda a: b"", "not a readable .npz archive"),
    "truncated archive": (lambda a: "TRUNCATE", "not a readable .npz archive"),
    "text file": (lambda a: b"hello, not a run\n" * 4, "not a readable .npz archive"),
    "missing seed": (lambda a: _with_meta(a, lambda m: m.pop("seed")), "recipe's seed must be an integer"),
    "unknown optimizer key": (lambda a: _with_meta(a, lambda m: m["optimizer"].update(bogus=1)),
                              "recipe's optimizer cannot be rebuilt .*bogus"),
    "5000 nested switches": (lambda a: _with_optimizer_text(a, _nested_switches(5000)), "nests JSON too deeply"),
    "100 nested switches": (lambda a: _with_optimizer_text(a, _nested_switches(100)),
                            f"nests Switch deeper than {run_file.MAX_SWITCH_DEPTH} levels"),
    "meta not JSON": (lambda a: _replace(a, meta=np.array("not json {")), "not readable JSON"),
    "meta not an object": (lambda a: _replace(a, meta=np.array("[1, 2]")), "recipe must be a JSON object"),
    "bad landscape spec": (lambda a: _with_meta(a, lambda m: m.update(landscape={"kind": "nope"})),
                           "recipe's landscape cannot be rebuilt"),
    "bad dtype in recipe": (lambda a: _with_meta(a, lambda m: m.update(dtype="int8")), "recipe's dtype must be one of"),
    "missing loss": (lambda a: _replace(a, loss=None), "has no array 'loss'"),
    "fewer saved steps than the recipe": (lambda a: _replace(a, xs=a["xs"][:2]), "must hold 5 saved steps"),
    "loss of the wrong shape": (lambda a: _replace(a, loss=a["loss"][:, :1]), r"'loss' must have shape \(5, 2\)"),
    "status of the wrong length": (lambda a: _replace(a, status=a["status"][:1]), r"'status' must have shape \(2,\)"),
    "integer iterates": (lambda a: _replace(a, xs=a["xs"].astype(np.int64)), "'xs' must be float64"),
    "text steps": (lambda a: _replace(a, steps=a["steps"].astype(str)), "'steps' must hold integers"),
    "object array (pickle)": (lambda a: _replace(a, xs=a["xs"].astype(object)), "holds Python objects"),
    "huge declared shape": (lambda a: "HUGE", r"declares shape \(1000000, 1000000, 2\)"),
    "unknown status": (lambda a: _replace(a, status=np.array(["ok", "weird"])), "status must hold only .*'weird'"),
    "all-NaN iterates": (lambda a: _replace(a, xs=np.full_like(a["xs"], np.nan)), "xs must be finite"),
    "ok start with a stop step": (lambda a: _replace(a, stopped_at=np.array([3, -1])), "stopped_at of start 0"),
    "saved steps off the grid": (lambda a: _replace(a, steps=np.array([0, 5, 10, 15, 19])), "last saved step is 19"),
    "a last step of 10**18": (lambda a: _replace(a, steps=np.array([0, 5, 10, 15, 10**18])), "last saved step"),
    "per-start lr of the wrong length": (lambda a: _with_meta(a, lambda m: m["optimizer"].update(lr=[0.1, 0.2, 0.3])),
                                         "lr has 3 values but there are 2 starts"),
    "state recipe not an object": (lambda a: _with_meta(a, lambda m: m.update(state=[1])), "recipe's state must be"),
    "state step before the last step": (lambda a: _with_meta(a, lambda m: m["state"].update(step=3)),
                                        "state step must be at least steps=20"),
    "state array missing": (lambda a: _with_meta(a, lambda m: m["state"].update(arrays=["velocity"])),
                            "has no array 'state.velocity'"),
    "state the optimizer does not carry": (
        lambda a: {**_with_meta(a, lambda m: m["state"].update(arrays=["velocity"])),
                   "state.velocity": np.zeros((2, 2))}, "which optimizer SAM.* does not carry"),
    "state array of the wrong shape": (
        lambda a: {**_with_meta(a, lambda m: (m["state"].update(arrays=["velocity"]),
                                              m["optimizer"].update(momentum=0.5))),
                   "state.velocity": np.zeros((3, 2))}, r"state array 'velocity' must be float64 of shape \(2, 2\)"),
}


def _write(case, arrays, tmp_path):
    path = tmp_path / f"{case.replace(' ', '_')}.npz"
    made = CASES[case][0](arrays)
    if made == "TRUNCATE":
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    elif made == "HUGE":
        # a header that declares 16 TB over 64 bytes of data: loading it would try to allocate the 16 TB
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                      "shape": (10**6, 10**6, 2)})
        with zipfile.ZipFile(path, "w") as archive:
            for name, value in arrays.items():
                archive.writestr(name + ".npy", header.getvalue() + b"\0" * 64 if name == "xs" else _npy(value))
    elif isinstance(made, bytes):
        path.write_bytes(made)
    else:
        with zipfile.ZipFile(path, "w") as archive:  # np.savez would refuse nothing, but cannot write pickles off
            for name, value in made.items():
                archive.writestr(name + ".npy", _npy(value))
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_load_run_refuses_a_broken_file_in_one_sentence_naming_it(case, good_arrays, tmp_path, monkeypatch):
    """load_run raises one ValueError that names the file and the problem, and never allocates a declared shape."""
    monkeypatch.setattr(budget, "available_memory", lambda: 2**30)  # a huge allocation would be refused too
    path = _write(case, good_arrays, tmp_path)
    with pytest.raises(ValueError, match=CASES[case][1]) as info:
        dynamics.load_run(path)
    message = str(info.value)
    assert repr(str(path)) in message and "\n" not in message


@pytest.mark.parametrize("case", sorted(CASES))
def test_plot_command_reports_a_broken_file_in_one_line(case, good_arrays, tmp_path, capsys):
    """`samscape plot BROKEN.npz` prints one line naming the file on stderr and exits 2 (no traceback)."""
    path = _write(case, good_arrays, tmp_path)
    code = cli.main(["plot", str(path), "--out", str(tmp_path / "fig.png")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("samscape plot: error: ") and str(path) in err
    assert not (tmp_path / "fig.png").exists()


def test_the_untouched_file_loads(good_arrays, tmp_path):
    """The writer used by the crafted cases produces a loadable run from the good arrays (so the cases test
    what they change, not the writer)."""
    path = tmp_path / "copy.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, value in good_arrays.items():
            archive.writestr(name + ".npy", _npy(value))
    run = dynamics.load_run(path)
    np.testing.assert_array_equal(run.xs, good_arrays["xs"])


def test_a_single_npy_and_a_directory_are_refused(tmp_path):
    """A plain .npy array (np.load returns an ndarray) and a directory are not runs."""
    single = tmp_path / "single.npz"
    with open(single, "wb") as handle:
        np.save(handle, np.arange(3.0))
    with pytest.raises(ValueError, match="single array"):
        dynamics.load_run(single)
    folder = tmp_path / "folder.npz"
    folder.mkdir()
    with pytest.raises(ValueError, match="is a directory"):
        dynamics.load_run(folder)


def test_a_run_too_large_for_memory_is_refused_before_loading(good_arrays, tmp_path, monkeypatch):
    """load_run adds up the declared array sizes and refuses when they exceed the available memory."""
    path = tmp_path / "run.npz"
    np.savez(path, **good_arrays)
    needed = sum(a.nbytes for a in good_arrays.values())
    monkeypatch.setattr(budget, "available_memory", lambda: needed - 1)
    with pytest.raises(ValueError, match="iB of arrays but only .*iB of memory is available"):
        dynamics.load_run(path)
    monkeypatch.setattr(budget, "available_memory", lambda: needed)
    assert dynamics.load_run(path).n_starts == 2


def _interrupt_once_the_run_listens():
    """Send SIGINT to this process as soon as simulate has put its own handler in place (never before: the default
    handler would stop the test session)."""
    import os
    import signal
    import threading
    import time

    default = signal.getsignal(signal.SIGINT)

    def fire():
        deadline = time.monotonic() + 60
        while signal.getsignal(signal.SIGINT) is default and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # well inside the stepping loop
        if signal.getsignal(signal.SIGINT) is not default:
            os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=fire, daemon=True).start()


@pytest.mark.parametrize("backend", ["numpy", "compiled"])
def test_an_interrupted_run_keeps_its_steps_and_says_so_in_its_file(backend, tmp_path):
    """simulate(on_interrupt="return") stopped by Ctrl-C returns the steps done: bit for bit the run of that many
    steps, marked interrupted (repr, summary); saved and loaded it stays so, and a complete run's file is as it
    was (no new key)."""
    if backend == "compiled":
        pytest.importorskip("numba")
    land, opt = landscapes.get("tanh"), dynamics.SAM(0.1, 0.05)
    x0 = np.array([[1.0, 0.5], [2.0, 1.0], [-1.5, 0.2]])
    steps, every = 10**12, 10**9 + 1
    _interrupt_once_the_run_listens()
    run = dynamics.simulate(land, opt, x0, steps, every=every, seed=3, backend=backend, on_interrupt="return")
    done = int(run.steps[-1])
    assert run.interrupted and run.requested_steps == steps and 0 < done < steps
    again = dynamics.simulate(land, opt, x0, done, every=every, seed=3, backend=backend)
    np.testing.assert_array_equal(run.xs, again.xs)
    np.testing.assert_array_equal(run.steps, again.steps)
    assert f"{done} of {steps} steps (interrupted)" in repr(run)
    # two saved steps (0 and the last) show no cycle: each point must be seen twice before it counts as repeating
    assert len(run.steps) == 2 and not run.alternating().any()
    assert f"interrupted: stopped by Ctrl-C after {done:,} of the {steps:,} steps" in run.summary()
    back = dynamics.load_run(run.save(tmp_path / "stopped.npz"))
    assert back.interrupted and back.requested_steps == steps and int(back.steps[-1]) == done
    with np.load(again.save(tmp_path / "whole.npz")) as data:
        assert "requested_steps" not in json.loads(str(data["meta"]))
    assert not dynamics.load_run(tmp_path / "whole.npz").interrupted


def test_a_file_claiming_fewer_steps_asked_for_than_done_is_refused(good_arrays, tmp_path):
    """requested_steps below the steps a file holds is no interrupted run: one sentence naming the file."""
    path = tmp_path / "crafted.npz"
    np.savez(path, **_with_meta(good_arrays, lambda meta: meta.update(requested_steps=STEPS - 1)))
    with pytest.raises(ValueError, match=r"is not a samscape run: its recipe's requested_steps must be absent, or "):
        dynamics.load_run(path)


# ------------------------------------------------------------------------------------- files of older versions

OLD_FILES = __import__("pathlib").Path(__file__).parent / "data"


def _finite_sum():
    return landscapes.from_expr("0.5*(tanh(v*tanh(u*a)) - y)**2", ["u", "v"],
                                samples={"a": [0.6, 1.0, 1.3], "y": [0.0, 0.1, -0.1]})


OLD_RUNS = {
    # file: (landscape, optimizer, x0, steps, simulate's keywords), exactly as the old code was called
    "run_fcb9bae_switch.npz": (
        _finite_sum,
        lambda: dynamics.Switch(dynamics.SGD(lr=0.3, batch_size=2),
                                dynamics.SAM(lr=np.array([0.2, 0.5, 60.0]), rho=0.05), at=4),
        [[0.5, -0.4], [1.0, 1.0], [2.0, -1.5]], 12, dict(every=3, seed=7, bound=3.0)),
    "run_fcb9bae_catalog.npz": (
        lambda: landscapes.get("double_well"), lambda: dynamics.USAM(lr=0.1, rho=0.2),
        [[0.3], [-1.2]], 5, dict(seed=3)),
}


@pytest.mark.parametrize("name", sorted(OLD_RUNS))
def test_load_run_reads_the_files_that_fcb9bae_wrote(name):
    """The run files in tests/data were written by samscape at commit fcb9bae (before Run and its file format
    moved to dynamics/run.py), committed as written: the old tree was unpacked with ``git archive fcb9bae``, and
    ``PYTHONPATH=<old tree> python -c ...`` ran ``dynamics.simulate(...).save(path)`` with the arguments of
    OLD_RUNS and ``backend="numpy"`` (a Switch of mini-batch SGD and SAM with one lr per start on a finite sum,
    one start diverging; USAM on a catalog landscape). Today's load_run reads each back whole, and it is the run
    that today's simulate makes from the same arguments: same landscape, optimizer, seed, steps, iterates, loss,
    statuses and stopping steps."""
    make_landscape, make_optimizer, x0, steps, keywords = OLD_RUNS[name]
    old = dynamics.load_run(OLD_FILES / name)
    new = dynamics.simulate(make_landscape(), make_optimizer(), np.array(x0), steps, backend="numpy", **keywords)
    assert old.landscape.spec == new.landscape.spec
    assert old.optimizer.to_dict() == new.optimizer.to_dict()
    assert (old.seed, old.every, old.bound, old.backend) == (new.seed, new.every, new.bound, "numpy")
    np.testing.assert_array_equal(old.steps, new.steps)
    np.testing.assert_array_equal(old.status, new.status)
    np.testing.assert_array_equal(old.stopped_at, new.stopped_at)
    np.testing.assert_array_equal(old.xs, new.xs)
    np.testing.assert_array_equal(old.loss, new.loss)
    assert not old.interrupted
    # a file from before run states continues as a stateless run from its last step
    assert (old.state.step, old.state.seed, old.state.arrays) == (new.state.step, new.state.seed, {})
    np.testing.assert_array_equal(old.state.start_ids, new.state.start_ids)
