"""Tests of samscape._checks, the one argument-check module every layer uses.

Each refusal is one sentence ``NAME must be ALLOWED, got VALUE``; the expected messages are written from that
rule, so a check that drops the name, the value or what is allowed fails here.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from samscape import _checks, dynamics

NAN = float("nan")


@pytest.mark.parametrize("call, message", [
    (lambda: _checks.real_number("0.1", "lr"), "lr must be a finite real number, got '0.1'"),
    (lambda: _checks.real_number(NAN, "lr"), "lr must be a finite real number, got nan"),
    (lambda: _checks.real_number(True, "lr"), "lr must be a finite real number, got True"),
    (lambda: _checks.positive(0, "rho"), "rho must be a finite number > 0, got 0"),
    (lambda: _checks.positive(-0.1, "rho", allow_zero=True), "rho must be a finite number >= 0, got -0.1"),
    (lambda: _checks.positive(math.inf, "delta"), "delta must be a finite number > 0, got inf"),
    (lambda: _checks.positive("1", "delta"), "delta must be a finite number > 0, got '1'"),
    (lambda: _checks.nonnegative(-1, "rho"), "rho must be a finite number >= 0, got -1"),
    (lambda: _checks.positive_int(0, "frames"), "frames must be a positive integer, got 0"),
    (lambda: _checks.positive_int(2.0, "frames"), "frames must be a positive integer, got 2.0"),
    (lambda: _checks.positive_int(True, "frames"), "frames must be a positive integer, got True"),
    (lambda: _checks.int_at_least(1, "resolution", 2), "resolution must be an integer >= 2, got 1"),
    (lambda: _checks.int_at_least(-1, "seed", 0), "seed must be an integer >= 0, got -1"),
    (lambda: _checks.int_at_least(10**9, "batch_size", 1, maximum=10**6, also=" or None (full batch)"),
     "batch_size must be an integer from 1 to 1_000_000 or None (full batch), got 1000000000"),
    (lambda: _checks.choice("spiral", "kind", ("cobweb", "series")),
     "kind must be one of 'cobweb', 'series', got 'spiral'"),
    (lambda: _checks.positive_array(-2, "lr"), "lr must be a finite number > 0 or an array of them, got -2"),
    (lambda: _checks.positive_array([0.1, -1.0], "lr"), "lr must be finite and > 0 everywhere, got -1.0 at index 1"),
    (lambda: _checks.positive_array([[0.1], [0.0]], "rho"), "rho must be finite and > 0 everywhere, got 0.0 at "
                                                            "index (1, 0)"),
    (lambda: _checks.positive_array([[0.1, 0.2]], "lr", per_start=True),
     "lr must be a number or a 1-D array with one value per start, got shape (1, 2)"),
    (lambda: _checks.single_number(np.array([0.1, 0.2]), "optimizer lr", "a vector field"),
     "optimizer lr must be a single number for a vector field, got an array of 2 values"),
    (lambda: _checks.points([1.0, 2.0, 3.0], 2, "x"), "x must have shape (..., 2), got shape (3,)"),
    (lambda: _checks.points([[1.0, NAN]], 2, "x"), "x must be finite, got [[1.0, nan]]"),
    (lambda: _checks.point([1.0, NAN], 2, "at"), "at must be a finite point of shape (2,), got [1.0, nan]"),
    (lambda: _checks.box([[1, 0], [0, 1]], 2, "window"),
     "window must be finite [[lo, hi], ...] with lo < hi for each of 2 coordinate(s), got [[1, 0], [0, 1]]"),
    (lambda: _checks.box([2, 1], 1, "window"),
     "window must be finite [lo, hi] with lo < hi for each of 1 coordinate(s), got [2, 1]"),
    (lambda: _checks.increasing([0.2, 0.1], "lrs", minimum=0),
     "lrs must be an increasing 1-D sequence of at least 2 finite values >= 0, got [0.2, 0.1]"),
    (lambda: _checks.increasing([-1, 1], "rhos", minimum=0),
     "rhos must be an increasing 1-D sequence of at least 2 finite values >= 0, got [-1, 1]"),
    (lambda: _checks.has_attributes("run.npz", "run", ("xs",), "a samscape Run"),
     "run must be a samscape Run, got 'run.npz'"),
    (lambda: _checks.has_attributes(object(), "run", ("xs",), "a samscape Run"),
     "run must be a samscape Run, got object"),
])
def test_each_refusal_is_one_sentence_naming_the_parameter_what_is_allowed_and_the_value(call, message):
    """The whole message is NAME must be ALLOWED, got VALUE (one line), for every check in the module."""
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value) == message
    assert "\n" not in message


def test_accepted_values_come_back_cleaned():
    """What passes comes back in the form the callers compute with: floats, ints, float arrays."""
    assert _checks.real_number(np.array([0.5]), "x") == 0.5 and type(_checks.real_number(np.int64(2), "x")) is float
    assert _checks.positive(0, "rho", allow_zero=True) == 0.0
    assert type(_checks.positive_int(np.int64(3), "n")) is int
    assert _checks.int_at_least(10**6, "batch_size", 1, maximum=10**6) == 10**6
    arr = _checks.positive_array([0.1, 0.2], "lr", per_start=True)
    assert arr.dtype == float and arr.tolist() == [0.1, 0.2]
    assert _checks.positive_array(np.float32(0.5), "lr") == 0.5
    np.testing.assert_array_equal(_checks.box([-1, 1], 1), [[-1.0, 1.0]])
    np.testing.assert_array_equal(_checks.point([1, 2], 2), [1.0, 2.0])
    assert _checks.choice("a", "kind", ("a", "b")) == "a"


def test_the_module_sits_below_every_layer():
    """samscape/_checks.py imports nothing from samscape, so every layer may import it without a cycle."""
    tree = ast.parse(Path(_checks.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith("samscape"), ast.dump(node)
        elif isinstance(node, ast.Import):
            assert not any(alias.name.startswith("samscape") for alias in node.names), ast.dump(node)


def test_dynamics_theory_and_plots_share_the_one_set_of_checks():
    """The layers' generic checks are the objects of samscape._checks (one owner), not copies with other wording;
    theory's helper module hands none of them on under other names (the theory modules import samscape._checks)."""
    from samscape.plots import _checks as plot_checks
    from samscape.theory import _common

    for name in ("positive_int", "int_at_least", "choice", "positive"):
        assert getattr(plot_checks, name) is getattr(_checks, name), name
    for name in ("positive_int", "positive", "nonnegative", "real_number", "check_point", "check_box"):
        assert not hasattr(_common, name), name
    # dynamics' hyperparameter checks are written in the same words as theory's
    with pytest.raises(ValueError, match=r"^rho must be finite and >= 0 everywhere, got -1.0 at index 1$"):
        dynamics.SAM(0.1, [0.1, -1.0])
    with pytest.raises(ValueError, match=r"^batch_size must be an integer from 1 to 1_000_000, got 0$"):
        dynamics.SGD(0.1, 0)
