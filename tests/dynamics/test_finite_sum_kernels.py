"""Finite sums in many variables on the compiled backend: the diagonal linear network of Andriushchenko &
Flammarion (ICML 2022), 0.5*(x0*u0*v0 + ... - y)**2 over data rows.

The kernel adds the long sum u0*v0*x0 + ... term by term while the NumPy path reduces the stacked terms, so
the two may differ in the last bits of a step; over a few steps they agree to 1e-12 (relative, with 1 as the
scale near the origin). The generated source must grow with the gradient's terms only: its mean over samples
is one function per module, not one copy per use.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from samscape import dynamics as dy

if importlib.util.find_spec("numba") is None:
    pytest.skip("numba is not installed; the compiled backend is optional", allow_module_level=True)

from samscape.dynamics import codegen  # noqa: E402

N_ROWS = 9  # over 8: the kernel's pairwise summation folds eight partial sums


KINDS = ("gd", "sgd_batch_1", "sam", "usam")
STEPS_EACH = 3


def every_kind(switch_chain) -> dy.Switch:
    """GD, SGD (batch 1), SAM and USAM, three steps each, in one switch: one kernel holds all four updates (a
    compile costs seconds; four kernels per start count cost a minute of every cold test run)."""
    parts = [dy.GD(lr=0.05), dy.SGD(lr=0.05, batch_size=1), dy.SAM(lr=0.05, rho=0.1), dy.USAM(lr=0.05, rho=0.1)]
    return switch_chain(parts, [STEPS_EACH * k for k in range(1, len(parts))])


@pytest.fixture(scope="module")
def net(diagonal_net):
    # 8 variables: the kernel's structure is that of any unrolled net (dim < LOOP_FROM_DIM; the looped form has its
    # own test), and the lane kernel's build time grows with the variables (12 took a minute of every cold run)
    return diagonal_net(units=4, rows=N_ROWS, seed=6)


@pytest.mark.parametrize("n_starts", [1, 40])  # the scalar kernel, and the lane kernel with a partial block
def test_backends_agree_on_the_diagonal_net(net, n_starts, switch_chain):
    """GD, SGD (batch 1), SAM and USAM in turn on the 8-variable diagonal network: the compiled backend's saved
    iterates are within 1e-12 of the NumPy path's at every step, with the same statuses, and every kind moved the
    iterates."""
    x0 = np.random.default_rng(3).uniform(-1.0, 1.0, size=(n_starts, net.dim))
    steps = STEPS_EACH * len(KINDS)
    optimizer = every_kind(switch_chain)
    for kind, first in zip(KINDS, range(0, steps, STEPS_EACH)):  # each phase runs its own kind
        active = optimizer
        while isinstance(active, dy.Switch):
            active = active.active(first)
        assert active.kind == kind.split("_")[0], (first, active)
    ref = dy.simulate(net, optimizer, x0, steps, every=1, backend="numpy", seed=5)
    out = dy.simulate(net, optimizer, x0, steps, every=1, backend="compiled", seed=5)
    for kind, first in zip(KINDS, range(0, steps, STEPS_EACH)):
        assert not np.array_equal(ref.xs[first], ref.xs[first + STEPS_EACH]), kind
    scale = np.maximum(np.abs(ref.xs), 1.0)
    worst = np.abs(out.xs - ref.xs) / scale
    assert np.all(worst <= 1e-12), (KINDS[min(int(np.argmax(worst.max(axis=(1, 2)))) - 1, steps - 1) // STEPS_EACH],
                                    worst.max())
    np.testing.assert_array_equal(out.status, ref.status)


def _gradient_statements(source: str) -> int:
    """Lines of the source that evaluate a per-sample gradient statement: each writes a temporary (``TMP<i>`` in
    the lane layout, ``s_TMP<i>`` in the scalar one) or a row of one sample's gradient (``SG0``, ``G1SG``)."""
    targets = ("S[TMP", "s_TMP", "S[SG0 + ", "GS[G1SG + ")
    return sum(line.strip().startswith(targets) for line in source.splitlines())


def test_the_mean_gradient_is_written_once_per_module(diagonal_net):
    """SAM needs two gradients a step and GD one, yet their kernel modules hold the same number of per-sample
    gradient lines: the mean over samples is one function (lane and scalar versions), called at each use."""
    land = diagonal_net(units=4, rows=N_ROWS, seed=4)
    gd, _, _ = codegen.kernel_source(codegen.kernel_plan(land, dy.GD(lr=0.1)))
    sam, _, _ = codegen.kernel_source(codegen.kernel_plan(land, dy.SAM(lr=0.1, rho=0.1)))
    assert _gradient_statements(gd) == _gradient_statements(sam) > 0
    assert gd.count("def grad_full(") == sam.count("def grad_full(") == 1
    calls = [line.strip() for line in sam.splitlines()]
    assert sum(c.startswith("grad_full(S, ") for c in calls) == 2  # at the iterate and at the ascent point
    assert sum(c.startswith("grad_full1(GS, ") for c in calls) == 2


def test_source_grows_linearly_with_the_gradient(diagonal_net):
    """From d = 10 to d = 40 the diagonal network's gradient grows four-fold; the USAM kernel's source grows at
    most as much (within 10%), so nothing in it grows with the square of the gradient or per sample."""
    sizes = {}
    for d in (10, 40):
        net = diagonal_net(units=d, rows=N_ROWS, seed=d)
        source, _, _ = codegen.kernel_source(codegen.kernel_plan(net, dy.USAM(lr=0.1, rho=0.1)))
        sizes[d] = len(source)
    assert sizes[40] / sizes[10] <= 4.0 * 1.1
