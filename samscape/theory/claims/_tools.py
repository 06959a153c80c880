"""What the claim modules share to run and measure: the simulator they use, runs several claims share, and two
exact/numeric measurements."""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from ... import landscapes
from ...dynamics import simulate as _simulate_any


def simulate(landscape, optimizer, x0, steps, **kwargs):
    """The claims run the reference NumPy backend: results do not depend on numba being installed, and no
    compile time is paid for these short runs."""
    return _simulate_any(landscape, optimizer, x0, steps, backend="numpy", **kwargs)


@functools.lru_cache(maxsize=8)
def _shared(name, params, optimizer, starts, steps, every, seed):
    land = landscapes.get(name, **dict(params))
    return land, simulate(land, optimizer, np.array(starts, dtype=float), steps, every=every, seed=seed)


def shared_run(name: str, optimizer, starts, steps: int, *, every: int, seed: int = 0, **params):
    """``(landscape, run)`` for the catalog landscape ``name`` (with ``params``): a run that several claims check
    from different sides, simulated once per process (the result is shared: read it, do not change it)."""
    starts = tuple(tuple(float(v) for v in row) for row in np.atleast_2d(starts))
    return _shared(name, tuple(sorted(params.items())), optimizer, starts, steps, every, seed)


def geometric_rate(series: np.ndarray) -> float:
    """``exp(mean(diff(log|s|)))``: the per-step growth factor of a geometric sequence."""
    return float(np.exp(np.mean(np.diff(np.log(np.abs(series))))))


def sympy_hessian_at(landscape, point) -> sp.Matrix:
    """The full loss's Hessian at ``point``, exactly (SymPy), with the point's coordinates as rationals."""
    subs = {s: sp.nsimplify(float(v), rational=True) for s, v in zip(landscape.symbols, point)}
    # the catalog writes coefficients as Floats; as rationals the eigenvalues print exactly (17/4, not 4.25000000)
    return sp.nsimplify(sp.hessian(landscape.loss_expr, landscape.symbols).subs(subs), rational=True)
