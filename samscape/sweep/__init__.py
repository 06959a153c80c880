"""Sweeps: one optimizer over a grid of hyperparameters and seeds, from many starts, on Dask, stored as xarray/zarr.

>>> ds = sweep.run(landscapes.get("tanh"), dynamics.SAM, starts="grid:-3:3:-1:1:64x64", steps=10_000,
...                grid={"lr": np.linspace(0.05, 2.5, 64), "rho": np.linspace(0, 3, 64), "seed": range(4)},
...                store="tanh_sam.zarr")                                  # doctest: +SKIP
>>> sweep.fractions(ds).sel(fate="hallucinated")                          # doctest: +SKIP

:func:`run` runs it (resuming a store of the same recipe, extending one whose swept values it appends to),
:func:`open` reads a store, :func:`fractions` turns the fate codes into fractions per fate. Dask, xarray and zarr
(the ``sweep`` extra) load on first use, so the CLI can register ``samscape sweep`` without them.
"""

from .recipe import check_grid, hyperparameter_names, resolve_optimizer

__all__ = ["run", "open", "fractions", "check_grid", "hyperparameter_names", "resolve_optimizer"]

_LAZY = {"run": "run", "open": "open_sweep", "fractions": "fractions"}


def __getattr__(name):
    if name in _LAZY:
        from . import engine

        return getattr(engine, _LAZY[name])
    raise AttributeError(f"module 'samscape.sweep' has no attribute {name!r}")
