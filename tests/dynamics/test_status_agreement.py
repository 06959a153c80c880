"""Both backends give every start the same status and stop step, for every optimizer kind, in float64 and
float32, at learning rates up to an extreme 1e3, on catalog landscapes that between them write every form of
kernel code the catalog needs.

Statuses are what a sweep reports, so they must not depend on the backend. Iterates may differ in the last
bits (transcendental functions), but a start that overflows, diverges or stays put does so on both. One
kernel per (landscape, dtype) serves every kind: a chain of ``Switch`` whose switch steps (runtime
arguments of the kernel) select the kind that runs.

Which landscapes: what can make the backends disagree is the code a kernel is written with, and that is decided
by the functions in the expression (each has its own kernel implementation and its own float32 behaviour), by
data (a finite sum's batch and mean-gradient code) and, for a landscape with neither, by plain polynomial
arithmetic. The looped form that kernels take from ``codegen.LOOP_FROM_DIM`` variables on is not a feature here:
``test_looped_kernels`` proves it equal to the unrolled form bit for bit, statuses included, with every kind.
:func:`covering_landscapes` picks, cheapest expression first, catalog entries until every such feature of the
catalog is covered; a new catalog entry with a new function joins by itself. Each compile costs seconds on a 2-core machine, so the 20
entries would cost minutes of every test run for code they share.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import sympy as sp

from samscape import dynamics as dy
from samscape import landscapes

if importlib.util.find_spec("numba") is None:
    pytest.skip("numba is not installed; the compiled backend is optional", allow_module_level=True)

STEPS = 12
N_STARTS = 8
KINDS = ("gd", "sgd", "sam", "usam", "randomsam")
# SGD(batch_size=1) runs on every entry, the one-sample ones too, on purpose: the kernel's batch code must agree
pytestmark = pytest.mark.filterwarnings("ignore:batch_size=1 on landscape:UserWarning")


def code_features(landscape) -> frozenset[str]:
    """The forms of kernel code ``landscape`` needs: its functions' names and ``data``, or ``polynomial`` when it
    needs neither."""
    features = {type(f).__name__ for f in landscape.expr.atoms(sp.Function)}
    if landscape.data_symbols:
        features.add("data")
    return frozenset(features or {"polynomial"})


def covering_landscapes() -> list[str]:
    """Catalog names, chosen greedily (most uncovered features, then the shortest expression) until their
    features cover every feature of the catalog."""
    catalog = {name: landscapes.get(name) for name in landscapes.names()}
    features = {name: code_features(landscape) for name, landscape in catalog.items()}
    uncovered = set().union(*features.values())
    chosen = []
    while uncovered:
        best = min(features, key=lambda n: (-len(features[n] & uncovered), catalog[n].expr.count_ops(), n))
        chosen.append(best)
        uncovered -= features[best]
    return sorted(chosen)


COVERING = covering_landscapes()


def test_the_chosen_landscapes_cover_every_feature_of_the_catalog():
    """Every function the catalog uses, data and a polynomial entry are each in some chosen landscape, and the
    choice is a real selection (fewer than the whole catalog)."""
    needed = set().union(*(code_features(landscapes.get(n)) for n in landscapes.names()))
    have = set().union(*(code_features(landscapes.get(n)) for n in COVERING))
    assert have == needed
    assert {"data", "polynomial", "tanh", "cos", "Piecewise"} <= needed
    assert len(COVERING) < len(landscapes.names())


def only(switch_chain, kind: str, lr) -> dy.Switch:
    """Switch(GD, Switch(SGD, Switch(SAM, Switch(USAM, RandomSAM)))) that runs ``kind`` at every step."""
    parts = [dy.GD(lr=lr), dy.SGD(lr=lr, batch_size=1), dy.SAM(lr=lr, rho=0.5), dy.USAM(lr=lr, rho=0.5),
             dy.RandomSAM(lr=lr, rho=0.5)]
    assert [p.kind for p in parts] == list(KINDS)
    chosen = KINDS.index(kind)
    # before the chosen kind: switch away at step 0; the chosen one: run to the end
    return switch_chain(parts, [0 if index < chosen else STEPS for index in range(len(parts) - 1)])


def test_only_runs_exactly_the_chosen_kind(switch_chain):
    """The chain with kind k's switch steps follows kind k alone (checked on the NumPy reference)."""
    landscape = landscapes.get("tanh")
    x0 = np.array([[0.4, -0.3], [1.1, 0.7]])
    for kind, alone in zip(KINDS, (dy.GD(lr=0.3), dy.SGD(lr=0.3, batch_size=1), dy.SAM(lr=0.3, rho=0.5),
                                   dy.USAM(lr=0.3, rho=0.5), dy.RandomSAM(lr=0.3, rho=0.5))):
        chained = dy.simulate(landscape, only(switch_chain, kind, 0.3), x0, 4, seed=2, backend="numpy")
        direct = dy.simulate(landscape, alone, x0, 4, seed=2, backend="numpy")
        np.testing.assert_array_equal(chained.xs, direct.xs)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", COVERING)
def test_status_agrees_across_backends(name, dtype, switch_chain):
    """Same status and stop step per start on both backends, for each kind, lr from 0.1 to 1e3 across starts."""
    landscape = landscapes.get(name)
    window = np.asarray(landscape.window)
    x0 = np.random.default_rng(0).uniform(window[:, 0], window[:, 1], size=(N_STARTS, landscape.dim))
    lr = np.logspace(-1, 3, N_STARTS)
    for kind in KINDS:
        optimizer = only(switch_chain, kind, lr)
        runs = [dy.simulate(landscape, optimizer, x0, STEPS, every=STEPS, seed=4, backend=backend, dtype=dtype)
                for backend in ("numpy", "compiled")]
        numpy_run, compiled_run = runs
        assert compiled_run.xs.dtype == numpy_run.xs.dtype == np.dtype(dtype)
        assert numpy_run.status.tolist() == compiled_run.status.tolist(), kind
        assert numpy_run.stopped_at.tolist() == compiled_run.stopped_at.tolist(), kind


def test_the_reported_case_reaches_every_outcome_it_compares(switch_chain):
    """The grid is not vacuous: on logcosh_valley in float32 (where RandomSAM used to differ) the starts end
    ok and nonfinite, and elsewhere in the catalog starts diverge."""
    def statuses(name, dtype):
        landscape = landscapes.get(name)
        window = np.asarray(landscape.window)
        x0 = np.random.default_rng(0).uniform(window[:, 0], window[:, 1], size=(N_STARTS, landscape.dim))
        optimizer = only(switch_chain, "randomsam", np.logspace(-1, 3, N_STARTS))
        return set(dy.simulate(landscape, optimizer, x0, STEPS, seed=4,
                               backend="numpy", dtype=dtype).status)

    assert statuses("logcosh_valley", "float32") == {"ok", "nonfinite"}
    assert "diverged" in statuses("rosenbrock", "float64")
