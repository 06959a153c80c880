"""Kernels of many variables write the update around the gradient as loops over the coordinates.

From ``codegen.LOOP_FROM_DIM`` variables on, loading, the ascent point (normalized, unnormalized, random),
the descent, the commit and storing are loops, and one start runs in the lane kernel. That must change the
build time only: the looped kernel computes the same operations in the same order as the unrolled one, so
the two agree bit for bit, and its sums of squares follow NumPy's pairwise order like :func:`pairwise_expr`.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from samscape import dynamics as dy
from samscape.dynamics import codegen, compiled

needs_numba = pytest.mark.skipif(importlib.util.find_spec("numba") is None,
                                 reason="numba is not installed; the compiled backend is optional")

# lengths around every branch of NumPy's pairwise summation: under 8, whole blocks of 8 with and without a
# remainder, exactly one block of 128, and the recursive halving above it
LENGTHS = [1, 2, 7, 8, 9, 15, 16, 17, 31, 127, 128, 129, 136, 200, 255, 256, 257, 1000, 1031]


@pytest.mark.parametrize("n", LENGTHS)
def test_the_pairwise_loop_adds_in_numpys_order(n):
    """The looped pairwise sum (run here as plain Python) equals numpy.sum and the unrolled pairwise_expr bit
    for bit, on terms spread over ten orders of magnitude where any other order would round differently."""
    rng = np.random.default_rng(n)
    values = rng.standard_normal(n) * 10.0 ** rng.integers(-5, 5, n)
    em = codegen._Emitter()
    codegen.emit_pairwise_loop(em, "total_", lambda i: f"v[{i}] * v[{i}]", 0, n)
    namespace = {"v": [float(x) for x in values]}
    exec(em.text(), namespace)
    unrolled = eval(codegen.pairwise_expr([f"v[{i}] * v[{i}]" for i in range(n)]), dict(namespace))
    assert namespace["total_"] == np.sum(values * values) == unrolled


def _starts() -> np.ndarray:
    """33 ordinary starts, then 4 with every coordinate near 1e-160, so that their gradients' sums of squares
    underflow and a normalized ascent from them takes the rescaling branch."""
    rng = np.random.default_rng(7)
    ordinary = rng.uniform(-1.5, 1.5, size=(33, 4))
    tiny = rng.uniform(0.5, 1.5, size=(4, 4)) * rng.choice([-1.0, 1.0], size=(4, 4)) * 1e-160
    return np.concatenate([ordinary, tiny])


def _every_kind(x0: np.ndarray):
    """One switch through every emitter of the update: plain and batched descent, SAM's normalized ascent,
    USAM's unnormalized one, RandomSAM's random direction and the per-sample ascent. Per-start learning rates
    reach 8, so that some starts diverge. Of the four tiny starts the last two reach SAM's steps still tiny (their
    SGD steps are about 1e-160), the other two have learning rate 1e-170 until the per-sample phase, so that they
    reach it tiny: either way a rescaled ascent point decides an ordinary-sized step."""
    n = len(x0)
    lr = np.linspace(0.05, 8.0, n)
    held = np.zeros(n, dtype=bool)
    held[-4:-2] = np.abs(x0[-4:-2]).max(axis=1) < 1e-150 if n >= 4 else False
    lr_until_per_sample = np.where(held, 1e-170, lr)
    inner = dy.Switch(dy.RandomSAM(lr_until_per_sample, 0.05), dy.PerSampleSAM(lr, 0.05, batch_size=3), at=10)
    late = dy.Switch(dy.USAM(lr_until_per_sample, 0.05, batch_size=4), inner, at=7)
    early = dy.Switch(dy.SGD(lr_until_per_sample, 2), dy.SAM(lr_until_per_sample, 0.05), at=3)
    return dy.Switch(early, late, at=5)


@needs_numba
def test_the_looped_kernel_is_the_unrolled_kernel_bit_for_bit(monkeypatch, diagonal_net):
    """On a 4-variable finite sum, kernels generated looped (LOOP_FROM_DIM lowered to 2) and unrolled give the
    same iterates, statuses and stopping steps bit for bit, with every optimizer kind in one switch: for 37
    starts (a partial block of lanes, some diverging, some with gradients so small that the normalized ascent
    rescales) and for one start (the one-start kernel), an ordinary one and a tiny one."""
    land = diagonal_net(units=2, rows=10, seed=2)
    many = _starts()
    cases = {"lanes": many, "one ordinary start": many[:1], "one tiny start": many[-1:]}
    runs = {}
    for loop_from in (2, 1000):
        monkeypatch.setattr(codegen, "LOOP_FROM_DIM", loop_from)
        compiled.clear_memory_cache()  # the generated sources are remembered per landscape: generate anew
        assert codegen._KernelWriter(codegen.kernel_plan(land, _every_kind(many))).looped == (loop_from == 2)
        for case, x0 in cases.items():
            runs[loop_from, case] = dy.simulate(land, _every_kind(x0), x0, 14, every=1, seed=11, backend="compiled")
    compiled.clear_memory_cache()
    for case in cases:
        looped, unrolled = runs[2, case], runs[1000, case]
        np.testing.assert_array_equal(looped.xs, unrolled.xs, err_msg=case)
        np.testing.assert_array_equal(looped.status, unrolled.status, err_msg=case)
        np.testing.assert_array_equal(looped.stopped_at, unrolled.stopped_at, err_msg=case)
    lanes = runs[2, "lanes"]
    assert (lanes.status == "diverged").any() and (lanes.status == "ok").any()
    # the tiny starts left the tiny scale at the step their rescaled ascent decided: SAM's (step 3) or the
    # per-sample ascent's (step 10)
    size = np.abs(lanes.xs[:, -4:]).max(axis=2)
    assert np.all(size[3, 2:] < 1e-150) and np.all(size[4, 2:] > 1e-6)
    assert np.all(size[10, :2] < 1e-150) and np.all(size[11, :2] > 1e-6)


def _function_body(source: str, name: str) -> list[str]:
    start = source.index(f"def {name}(")
    return source[start:source.index("\n\n\n", start)].splitlines()


def test_a_looped_kernel_does_not_grow_with_the_dimension(diagonal_net):
    """With 20 and with 84 variables (both 4 past a multiple of 8, so their pairwise sums have the same loops)
    the looped SAM kernels, lane and one-start, have the same number of lines: only the gradient grows."""
    nets = {units: diagonal_net(units=units, rows=10, seed=units) for units in (10, 42)}
    sources = {units: codegen.kernel_source(codegen.kernel_plan(net, dy.SAM(0.1, 0.05)))[0]
               for units, net in nets.items()}
    assert all(codegen._KernelWriter(codegen.kernel_plan(net, dy.SAM(0.1, 0.05))).looped for net in nets.values())
    for name in ("kernel", "kernel1"):
        assert len(_function_body(sources[10], name)) == len(_function_body(sources[42], name))


def test_no_loop_over_the_lanes_holds_more_than_a_bounded_piece_of_the_gradient(diagonal_net):
    """The lane version of the per-sample gradient ends its loop over the lanes every LANE_LOOP_STATEMENTS
    statements (numba's type inference grows with the square of a loop body's length: a 400-variable lane
    kernel took 167 s to build with one loop, 35 s split), so no such loop is longer in any kernel function."""
    source = codegen.kernel_source(codegen.kernel_plan(diagonal_net(units=40, rows=10, seed=40), dy.SAM(0.1, 0.05)))[0]
    lines = source.splitlines()
    longest = 0
    for i, line in enumerate(lines):
        if line.strip() == "for j in range(w):":
            indent = len(line) - len(line.lstrip())
            body = 0
            for inner in lines[i + 1:]:
                if inner.strip() and len(inner) - len(inner.lstrip()) <= indent:
                    break
                body += bool(inner.strip())
            longest = max(longest, body)
    assert 0 < longest <= codegen.LANE_LOOP_STATEMENTS
