"""The grouped NumPy evaluation of finite sums (landscapes.core.Program) against SymPy's own evaluation.

The diagonal linear network 0.5*(x0*u0*v0 + ... + x{d-1}*u{d-1}*v{d-1} - y)**2 over data rows is the case the
grouping is for: its gradient is many statements of one form and one long sum. Expected values come from
SymPy evaluating the loss and its derivatives with the data substituted, at 30 significant digits.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from samscape import landscapes
from samscape.landscapes import core

D, N = 5, 7


@pytest.fixture
def net(diagonal_net):
    """The network in D units over N rows, or another size: ``net(d=3)``."""
    return lambda d=D, n=N: diagonal_net(units=d, rows=n, seed=0)


def sympy_reference(land, point, rows=None, hessian=True):
    """Value, gradient and Hessian of the mean over ``rows`` (default: all), each term evaluated by SymPy (the
    Hessian, ``dim**2`` derivatives a row, left at zero when ``hessian`` is false)."""
    rows = range(land.n_samples) if rows is None else rows
    at = {s: sp.Float(float(v), 30) for s, v in zip(land.symbols, point)}
    value, grad, hess = 0, np.zeros(land.dim), np.zeros((land.dim, land.dim))
    for r in rows:
        data = {s: sp.Float(float(land.samples[s.name][r]), 30) for s in land.expr.free_symbols if s.name in land.samples}
        term = land.expr.subs(data)
        value += float(term.evalf(30, subs=at))
        grad += [float(sp.diff(term, s).evalf(30, subs=at)) for s in land.symbols]
        if hessian:
            hess += [[float(sp.diff(term, a, b).evalf(30, subs=at)) for b in land.symbols] for a in land.symbols]
    k = len(rows)
    return value / k, grad / k, hess / k


def close(got, want):
    """Within 1e-12 of the reference, relative to the larger of the reference and 1."""
    return np.all(np.abs(got - want) <= 1e-12 * np.maximum(np.abs(want), 1.0))


def test_diagonal_net_matches_sympy_at_random_points(net):
    """value, grad and hessian of the diagonal network (full mean and a batch) are within 1e-12 of SymPy's own
    evaluation at random points, although the long sum is added by one NumPy reduction."""
    land = net()
    rng = np.random.default_rng(1)
    for point in rng.uniform(-1.5, 1.5, size=(3, land.dim)):
        value, grad, hess = sympy_reference(land, point)
        assert close(land.value(point), value)
        assert close(land.grad(point), grad)
        assert close(land.hessian(point), hess)
        rows = [4, 0, 4]
        _, batch_grad, _ = sympy_reference(land, point, rows)
        assert close(land.grad(point, batch=np.array(rows)), batch_grad)


def test_the_long_sum_is_one_reduction_and_like_statements_one_group(net):
    """The diagonal network's gradient program has one sum over the d terms u_k*v_k*x_k (not d - 1 additions), and
    one line per form, whatever d is: the printed program has the same number of lines for d = 4 and d = 12, and
    none of its lines names a variable or data column one by one."""
    sources = {}
    for d in (4, 12):
        program = net(d=d)._grad_program
        sums = [parts for _, level_sums in program.levels for parts in level_sums]
        assert len(sums) == 1 and sums[0] == [(3, list(range(d)))]  # bank 3: the products u_k*v_k*x_k
        assert all(width == d for groups, _ in program.levels for _, _, width in groups if width > 1)
        sources[d] = program.source.splitlines()
    assert len(sources[4]) == len(sources[12]) <= 12
    assert sum("add.reduce" in line for line in sources[12]) == 1


def test_leading_shapes_and_batches_broadcast_as_before(net):
    """Points of shape (2, 3, dim) with batches (3, B) give the same numbers as one point at a time."""
    land = net()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, land.dim))
    batch = rng.integers(0, N, size=(3, 4))
    got = land.grad(x, batch=batch)
    assert got.shape == (2, 3, land.dim)
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(got[i, j], land.grad(x[i, j], batch=batch[j]), rtol=1e-13, atol=1e-15)
    assert land.sample_grads(x[0, 0]).shape == (N, land.dim)
    np.testing.assert_allclose(land.sample_grads(x[0, 0]).mean(axis=0), land.grad(x[0, 0]), rtol=1e-12, atol=1e-15)


def test_the_hessian_is_derived_only_when_asked_for(net):
    """from_expr derives the gradient only; the Hessian's expressions appear on the first hessian() call and are
    the exact second derivatives of the per-sample loss."""
    land = net(d=3)
    assert land._hess_exprs is None and land._hess_program is None
    land.grad(np.zeros(land.dim))
    assert land._hess_exprs is None
    land.hessian(np.zeros(land.dim))
    u0, v1 = land.symbols[0], land.symbols[4]
    assert sp.simplify(land.hess_exprs[0][4] - sp.diff(land.expr, u0, v1)) == 0


def test_outputs_equal_to_a_temporary_share_its_column():
    """tan(y - x): two Hessian entries are one cse temporary and a third is the same expression written out;
    every entry is SymPy's value (a program that stacked the duplicates twice read past its columns)."""
    land = landscapes.from_expr("tan(y - x)", ["x", "y"])
    point = np.array([0.3, -0.4])
    t = np.tan(point[1] - point[0])
    second = 2 * t * (1 + t * t)
    np.testing.assert_allclose(land.hessian(point), [[second, -second], [-second, second]], rtol=1e-14)


@pytest.mark.parametrize("name", landscapes.names())
def test_catalog_gradients_match_sympy(name):
    """Every catalog landscape's NumPy gradient is within 1e-12 of SymPy's evaluation at two window points."""
    land = landscapes.get(name)
    for point in land.random_points(2, seed=5):
        _, grad, _ = sympy_reference(land, point, hessian=False)
        assert close(land.grad(point), grad), (land.grad(point), grad)


def test_template_keeps_sympys_order_of_factors():
    """A template is its expression under a renaming that keeps SymPy's order: renamed back it is the original (the
    same factors in the same places, so the same rounding); two expressions of one form share it, and a ±1.0
    coefficient (exact to multiply by) is dropped while any other constant keeps forms apart."""
    a, b, u0, u3, x0, x3, x9, x10 = sp.symbols("a b u0 u3 x0 x3 x9 x10", real=True)
    t = sp.Symbol(core._LAST + "t000001")  # a cse temporary: sorts after every user name
    first, order = core._template(x10 * b * sp.tanh(a * x9))
    assert order == sorted(order, key=sp.default_sort_key)
    assert first.xreplace({s: order[int(s.name[2:])] for s in first.free_symbols}) == x10 * b * sp.tanh(a * x9)
    assert sp.srepr(core._template(u0 * x0 * t)[0]) == sp.srepr(core._template(u3 * x3 * t)[0])
    assert sp.srepr(core._template(1.0 * a * b)[0]) == sp.srepr(core._template(u3 * x3)[0])
    assert sp.srepr(core._template(2.0 * a * b)[0]) != sp.srepr(core._template(a * b)[0])
