"""The structure of samscape.dynamics: the contract at the bottom of its imports, one step
primitive that every replay and map goes through, and one registry of optimizers that every table derives from."""

from __future__ import annotations

import ast
import dataclasses
import os
import subprocess
import sys
from typing import ClassVar

import numpy as np
import pytest

import samscape
from samscape import dynamics as dy, landscapes, theory
from samscape.dynamics import codegen, optimizers
from samscape.dynamics.contract import lanes_for

DYNAMICS_DIR = os.path.dirname(dy.__file__)
MODULES = sorted(name[:-3] for name in os.listdir(DYNAMICS_DIR) if name.endswith(".py") and name != "__init__.py")


def dynamics_imports(module: str) -> set[str]:
    """The sibling modules that ``module`` imports anywhere in its text (module level or inside a function)."""
    with open(os.path.join(DYNAMICS_DIR, module + ".py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:  # from .x import y
                found.add(node.module.split(".")[0])
            else:  # from . import x, y
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("samscape.dynamics."):
            found.add(node.module.split(".")[2])
    return found & set(MODULES)


def test_the_contract_is_at_the_bottom_of_dynamics():
    """The contract and the draws import no sibling, and the kernel generator neither integrate nor compiled
    (no circle anywhere in the package: tests/test_layout.py)."""
    graph = {module: dynamics_imports(module) for module in MODULES}
    assert graph["contract"] == set() and graph["draws"] == set()
    assert {"integrate", "compiled"}.isdisjoint(graph["codegen"]) and "integrate" not in graph["compiled"]


@pytest.mark.parametrize("first", MODULES)
def test_each_dynamics_module_imports_first_in_a_fresh_interpreter(first):
    """Importing any dynamics module first (then the rest) works: no order depends on a half-initialised module."""
    rest = [m for m in MODULES if m != first]
    code = "; ".join(f"import samscape.dynamics.{m}" for m in [first, *rest])
    root = os.path.dirname(os.path.dirname(samscape.__file__))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": root})
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------------------------------------- step primitive

@pytest.fixture(scope="module")
def finite_sum():
    return landscapes.from_expr("0.5*(tanh(v*tanh(u*a)) - y)**2", ["u", "v"],
                                samples={"a": [0.6, 1.0, 1.3], "y": [0.0, 0.1, -0.1]})


def test_iterate_replays_the_numpy_backend_bit_for_bit(finite_sum):
    """iterate from step 0 with the run's seed and start ids reproduces simulate's iterates exactly, for a stochastic
    optimizer with per-start hyperparameters (both go through the one step primitive)."""
    x0 = np.array([[0.7, -1.1], [1.2, 0.4], [-0.3, 0.9]])
    opt = dy.Switch(dy.SGD(lr=0.2, batch_size=2), dy.RandomSAM(lr=[0.1, 0.2, 0.3], rho=0.05, batch_size=2), at=4)
    run = dy.simulate(finite_sum, opt, x0, 9, every=1, seed=5, start_ids=[4, 0, 7], backend="numpy")
    path = dy.iterate(finite_sum, opt, x0, 0, 9, seed=5, start_ids=[4, 0, 7])
    assert path.shape == (10, 3, 2)
    np.testing.assert_array_equal(path, run.xs)


def test_step_on_one_point_is_that_start_of_many(finite_sum):
    """step on a (dim,) point with start id i gives the row of start i in a step of many starts (its draws depend
    only on (seed, start id, step)), and keeps the (dim,) shape."""
    x = np.array([[0.7, -1.1], [1.2, 0.4]])
    opt = dy.SAM(lr=0.1, rho=0.05, batch_size=1)
    many = dy.step(finite_sum, opt, x, 3, seed=2, start_ids=[8, 9])
    one = dy.step(finite_sum, opt, x[1], 3, seed=2, start_ids=[9])
    assert one.shape == (2,)
    np.testing.assert_array_equal(one, many[1])
    assert not np.array_equal(dy.step(finite_sum, opt, x[1], 3, seed=2, start_ids=[8]), one)


def test_step_refuses_a_point_of_the_wrong_dimension(finite_sum):
    """A point that does not match the landscape's dimension is refused with a sentence naming x and its shape."""
    with pytest.raises(ValueError, match=r"x must have shape \(2,\) or \(n, 2\), got \(3,\)"):
        dy.step(finite_sum, dy.GD(lr=0.1), np.zeros(3), 0, seed=0)


def test_resolving_per_start_hyperparameters_twice_changes_nothing():
    """for_starts on an already resolved optimizer keeps its (n, 1) columns (simulate resolves, then the stepper)."""
    once = dy.SAM(lr=[0.1, 0.2], rho=0.05).for_starts(2)
    twice = once.for_starts(2)
    assert twice.lr.shape == (2, 1)
    np.testing.assert_array_equal(twice.lr, once.lr)


# ---------------------------------------------------------------------------------------------- the registry

def test_every_table_of_optimizers_derives_from_the_registry():
    """The plain kinds are the registry's optimizers that are not composite, stability_fates accepts the fixed-map
    ones, and every plain optimizer's ascent (whole-batch or per sample) is one the kernel generator can emit (or,
    for LookSAM, a direction it writes whole)."""
    plain_kinds = dy.plain_kinds
    assert list(plain_kinds()) == [kind for kind, cls in optimizers.OPTIMIZERS.items() if not cls.composite()]
    assert set(theory.fixed_map_optimizers()) == {"gd", "sgd", "sam", "usam", "persamplesam", "persampleusam",
                                                  "multistepsam", "multistepusam", "asam", "unifiedsam", "signsam",
                                                  "gsam", "stablesam", "gnp", "wsam"}
    for kind in plain_kinds():
        cls = optimizers.OPTIMIZERS[kind]
        assert cls.ascent is None or cls.ascent in codegen.kernel_ascents(cls.ascent_per_sample), kind
        assert "lr" in cls.per_start
    assert {cls.batch_rule() for cls in optimizers.OPTIMIZERS.values()} == {None, "required", "optional"}
    assert optimizers.OPTIMIZERS["sgd"].batch_rule() == "required" and optimizers.OPTIMIZERS["gd"].batch_rule() is None


def test_a_taken_kind_is_refused():
    """Registering a second class under an existing kind fails instead of replacing the first."""
    with pytest.raises(ValueError, match="optimizer kind 'sam' is already taken by SAM"):
        @dataclasses.dataclass(frozen=True, eq=False)
        class Impostor(dy.GD):
            kind: ClassVar[str] = "sam"
    assert optimizers.OPTIMIZERS["sam"] is dy.SAM


@pytest.fixture
def half_usam():
    """A new optimizer defined as one class (USAM's ascent, its own kind), removed from the registry afterwards."""

    @dataclasses.dataclass(frozen=True, eq=False)
    class HalfUSAM(optimizers._Perturbed):
        kind: ClassVar[str] = "half_usam_test"
        ascent: ClassVar[str | None] = "unnormalized"

        def perturbed_point(self, landscape, x, step, batch, noise):
            return x + self.rho * landscape.grad(x, batch=batch)

    yield HalfUSAM
    del optimizers.OPTIMIZERS["half_usam_test"]


def test_a_new_optimizer_class_reaches_the_registry_the_theory_and_the_kernel(half_usam, finite_sum):
    """One class is enough: it is registered, round-trips through to_dict, the theory calls its map ``usam``, and the
    kernel generator gives it an lr and a rho row from what it declares."""
    opt = half_usam(lr=0.1, rho=0.05)
    assert optimizers.OPTIMIZERS["half_usam_test"] is half_usam
    assert dy.optimizer_from_dict(opt.to_dict()) == opt
    assert theory.linear_map(opt, n_samples=3).name == "usam"
    source, layout, _ = codegen.kernel_source(codegen.kernel_plan(finite_sum, dy.Switch(dy.GD(lr=0.1), opt, at=2)))
    assert layout.hp_rows == [(0, "lr"), (1, "lr"), (1, "rho")]
    assert "half_usam_test (leaf 1): unnormalized ascent" in source


def test_the_kernel_names_its_rows(finite_sum):
    """The generated kernel addresses its scratch rows by module constants (X0, G0, LR_0, RHO_1, ...), never by bare
    numbers, and heads its blocks with comments."""
    switch = dy.Switch(dy.SGD(lr=0.1, batch_size=2), dy.SAM(lr=0.1, rho=0.1), at=3)
    source, _, _ = codegen.kernel_source(codegen.kernel_plan(finite_sum, switch))
    for constant in ("X0 = 0", f"X1 = {lanes_for(finite_sum.dim)}", "RHO_1 = ", "LR_0 = ", "TMP0 = ", "R8 = ", "STACK = ", "IBATCH = "):
        assert f"\n{constant}" in source, constant
    assert "S[X0 + j]" in source and "S[RHO_1 + j]" in source and "s_RHO_1" in source
    import re

    assert not re.search(r"[SI]\[\d+ \+ j\]", source)
    for header in ("# ---- sgd (leaf 0): no ascent, a mini-batch", "# ---- sam (leaf 1): normalized ascent",
                   "# commit: accept XN", "# descent: XN = X - lr * H"):
        assert header in source, header
