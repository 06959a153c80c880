"""What happens when a kernel cannot be built: `auto` runs NumPy after one warning, `compiled` raises one
sentence; and a slow build says what it is doing."""

from __future__ import annotations

import importlib.util
import threading
import warnings

import numpy as np
import pytest

from samscape import dynamics as dy
from samscape import landscapes
from samscape.dynamics import integrate

if importlib.util.find_spec("numba") is None:
    pytest.skip("numba is not installed; the compiled backend is optional", allow_module_level=True)

from samscape.dynamics import compiled  # noqa: E402

# enough work that `auto` compiles rather than running NumPy straight away
BIG_STARTS, BIG_STEPS = 200_000, 1_000


def nested_sin(depth: int):
    expr = "x"
    for _ in range(depth):
        expr = f"sin({expr})"
    return landscapes.from_expr(expr, ["x"])


@pytest.fixture
def fresh():
    compiled.clear_memory_cache()
    yield
    compiled.clear_memory_cache()


class Boom(Exception):
    """Stands in for whatever numba raises when it gives up."""


@pytest.fixture
def failing_compiler(monkeypatch, fresh):
    """numba's compiler fails on every first call; returns the list of attempts."""
    attempts = []

    def fail(kernel, function, args):
        attempts.append(function)
        raise Boom("Failed in nopython mode pipeline (step: nopython frontend)\nlong numba traceback\n...")

    monkeypatch.setattr(compiled, "_first_call", fail)
    return attempts


def test_auto_falls_back_to_numpy_with_one_warning_when_numba_fails(failing_compiler):
    """Under `auto` a failed compilation becomes a NumPy run, one warning names the landscape and the
    reason, and the failure is remembered rather than paid again."""
    landscape = landscapes.from_expr("0.5*u**2 + 0.375*v**4", ["u", "v"])
    opt = dy.SAM(lr=0.1, rho=0.05)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("default")
        for _ in range(2):
            assert integrate.resolve_backend("auto", landscape, opt, BIG_STARTS, BIG_STEPS) == "numpy"
    messages = [str(w.message) for w in record if issubclass(w.category, RuntimeWarning)]
    assert messages == [
        "backend='auto' runs this on NumPy because the compiled backend could not build a kernel for landscape "
        "'0.5*u**2 + 0.375*v**4' (sam, float64): Boom: Failed in nopython mode pipeline (step: nopython "
        "frontend); use backend='numpy'"
    ]
    assert len(failing_compiler) == 1


def test_explicit_compiled_raises_one_sentence_chained_from_the_cause(failing_compiler):
    """backend='compiled' raises a RuntimeError of one line naming the landscape and why, with numba's
    error kept as the cause instead of being the message."""
    landscape = landscapes.from_expr("0.5*u**2 + 0.4375*v**4", ["u", "v"])
    with pytest.raises(compiled.KernelBuildError) as caught:
        dy.simulate(landscape, dy.GD(lr=0.1), [[0.1, 0.2], [0.3, 0.4]], 3, backend="compiled")
    err = caught.value
    assert isinstance(err, RuntimeError)
    assert "\n" not in str(err) and "landscape '0.5*u**2 + 0.4375*v**4' (gd, float64)" in str(err)
    assert isinstance(err.__cause__, Boom)


def test_a_deeply_nested_gradient_falls_back_under_auto(fresh):
    """The reported case: 60 nested sines (the parser's limit) make numba's compiler recurse too deep.
    `auto` picks NumPy with a warning; `compiled` raises a one-line RuntimeError chained from RecursionError."""
    landscape = nested_sin(60)
    opt = dy.SAM(lr=0.1, rho=0.05)
    with pytest.warns(RuntimeWarning, match=r"could not build a kernel for landscape 'sin\(sin\(.*\.\.\.' "
                                            r"\(sam, float64\): numba's compiler ran out of recursion depth"):
        assert integrate.resolve_backend("auto", landscape, opt, BIG_STARTS, BIG_STEPS) == "numpy"
    with pytest.raises(compiled.KernelBuildError, match="ran out of recursion depth") as caught:
        dy.simulate(landscape, opt, [[0.3], [0.4]], 2, backend="compiled")
    assert isinstance(caught.value.__cause__, RecursionError)
    assert "\n" not in str(caught.value)


def test_auto_compiles_before_the_run_and_the_run_does_not_compile_again(fresh):
    """`auto` builds the kernel while choosing it, with arguments of the run's very types: the run then
    reuses that compilation (numba holds exactly one signature)."""
    landscape = landscapes.from_expr("0.5*u**2 + 0.46875*v**4", ["u", "v"])
    opt = dy.SAM(lr=0.1, rho=0.05)
    x0 = np.random.default_rng(1).uniform(-1, 1, size=(40, 2))
    resolved = opt.for_starts(len(x0))
    assert integrate.resolve_backend("auto", landscape, resolved, BIG_STARTS, BIG_STEPS) == "compiled"
    kernel = compiled.get_kernel(compiled.plan(landscape, resolved))
    before = compiled.cache_info()
    run = dy.simulate(landscape, opt, x0, 5, backend="compiled")
    after = compiled.cache_info()
    assert run.backend == "compiled"
    assert after["compiles"] == before["compiles"] and after["disk_hits"] == before["disk_hits"]
    assert len(kernel.lanes.signatures) == 1


def test_a_slow_build_prints_one_note_on_stderr(fresh, monkeypatch, capsys):
    """A build that outlasts SLOW_BUILD_NOTE_SECONDS prints one line on stderr naming the landscape and
    saying what happens, so a minute-long first compile is not silence."""
    written = threading.Event()
    note = compiled._note_slow_build

    def noted(*args):
        note(*args)
        written.set()

    compile_for_real = compiled._first_call

    def slow_first_call(*args):  # the build lasts until the note is out
        assert written.wait(60)
        compile_for_real(*args)

    monkeypatch.setattr(compiled, "SLOW_BUILD_NOTE_SECONDS", 0.0)
    monkeypatch.setattr(compiled, "_note_slow_build", noted)
    monkeypatch.setattr(compiled, "_first_call", slow_first_call)
    landscape = landscapes.from_expr("0.5*u**2 + 0.484375*v**4", ["u", "v"])
    dy.simulate(landscape, dy.GD(lr=0.1), [[0.1, 0.2], [0.3, 0.4]], 3, backend="compiled")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("samscape: building the compiled kernel for landscape '0.5*u**2 + 0.484375*v**4' "
                               "(gd, float64) is taking a while; ")
