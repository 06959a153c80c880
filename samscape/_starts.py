"""The starts grammar (``point:...``, ``grid:...``, ``random:N``) shared by ``samscape simulate`` and the sweeps.

It sits below every layer (it needs only a landscape's ``dim`` and ``random_points``), so :mod:`samscape.sweep`
and the CLI read a starts SPEC the same way.
"""

from __future__ import annotations

import math

import numpy as np


class _SpecError(ValueError):
    """A message already written for the user (as opposed to a number that failed to parse)."""


def _read(spec: str, dim: int, name: str):
    """``(kind, what)``: ``("point", list of points)``, ``("grid", (bounds, sizes))`` or ``("random", n)``;
    nothing is built yet, so a spec can be sized before its points exist."""
    if not isinstance(spec, str):
        raise ValueError(f"{name} must be a string such as grid:-1:1:-1:1:10x10, got {spec!r}")
    kind, _, rest = spec.partition(":")
    try:
        if kind == "point":
            points = [[float(v) for v in p.split(",")] for p in rest.split(";") if p.strip()]
            if not points or any(len(p) != dim for p in points):
                raise _SpecError(f"{name} point needs {dim} comma-separated numbers per point, got {rest!r}")
            return kind, points
        if kind == "grid":
            parts = rest.split(":")
            if len(parts) != 2 * dim + 1:
                example = "grid:" + ":".join(["-1:1"] * dim) + ":" + "x".join(["10"] * dim)
                raise _SpecError(
                    f"{name} grid needs {2 * dim} bounds and a size for a {dim}-D landscape, e.g. {example}, "
                    f"got {spec!r}"
                )
            sizes = [int(s) for s in parts[-1].lower().split("x")]
            if len(sizes) != dim or min(sizes) < 1:
                raise _SpecError(f"{name} grid size must be {dim} positive integers joined by 'x', got {parts[-1]!r}")
            return kind, ([(float(parts[2 * i]), float(parts[2 * i + 1])) for i in range(dim)], sizes)
        if kind == "random":
            n = int(rest)
            if n < 1:
                raise _SpecError(f"{name} random:N needs N >= 1, got {n}")
            return kind, n
    except _SpecError as err:
        raise ValueError(str(err)) from None
    except ValueError:
        raise ValueError(f"{name} {spec!r} has a value that is not a number") from None
    raise ValueError(f"{name} must be point:..., grid:... or random:N, got {spec!r}")


def count_starts(spec: str, dim: int, *, name: str = "--starts") -> int:
    """How many points a starts SPEC names, without building them (a sweep sizes its memory and disk first)."""
    kind, what = _read(spec, dim, name)
    if kind == "point":
        return len(what)
    if kind == "grid":
        return math.prod(what[1])
    return what


def parse_starts(spec: str, landscape, seed: int | None = 0, *, name: str = "--starts") -> np.ndarray:
    """Turn a starts SPEC into an ``(n_starts, dim)`` array; ``name`` is how messages call the argument.

    ``point:2.5,0.001`` (one point; several points separated by ``;``), ``grid:umin:umax:vmin:vmax:NxM``
    (2-D; ``grid:zmin:zmax:N`` in 1-D), ``random:N`` (uniform in the landscape's window, seeded by ``seed``).
    """
    kind, what = _read(spec, landscape.dim, name)
    if kind == "point":
        return np.array(what, dtype=float)
    if kind == "grid":
        bounds, sizes = what
        axes = [np.linspace(low, high, size) for (low, high), size in zip(bounds, sizes)]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=-1)
    return landscape.random_points(what, seed=0 if seed is None else seed)
