"""Schedules of a hyperparameter over the steps: ``SAM(lr=Cosine(0.1, steps=1000), rho=0.05)``.

A schedule is a small frozen object: a base ``value`` (a number, or one value per start as ``lr`` and ``rho``
take) and a *factor* for every step ``t`` (counted from the run's step 0, also inside a Switch's second part).
The hyperparameter at step ``t`` is ``value * factor(t)``:

=========================================  ==========================================================================
``Constant(value)``                        ``1``
``StepDecay(value, factor, every)``        ``factor ** floor(t / every)``
``InverseTime(value, tau)``                ``1 / (1 + t / tau)``
``Cosine(value, steps, final=0.0)``        from ``value`` at ``t = 0`` down a half cosine to ``final`` at ``t = steps``,
                                           then ``final``
``WarmUp(value, steps)``                   ``min(1, (t + 1) / steps)``: ``value / steps`` at ``t = 0``, ``value`` from
                                           ``t = steps - 1`` on
``PerStep(values, value=1.0)``             ``values[t]``, and ``values[-1]`` past the array's end
=========================================  ==========================================================================

One function owns the factors, :meth:`Schedule.factor_table`: the NumPy backend reads it a block of steps at a
time, and the compiled backend's host passes the same table for each chunk of steps to the kernel, which only
multiplies. The factors are computed in float64 element by element (``math`` functions one step at a time, or
correctly rounded NumPy arithmetic, whose result does not depend on how the steps are cut into chunks), then
rounded to the run's dtype; the value is rounded to the dtype too, and the step's hyperparameter is their
product in the dtype, in both backends: they agree bit for bit.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .._checks import choice, int_at_least, positive, positive_array

# Every schedule class by its ``kind``, registered when it is defined: what a saved recipe names.
SCHEDULES: dict[str, type["Schedule"]] = {}
# Factors the NumPy backend computes at once (and keeps) when a run reaches a step it has none for.
FACTOR_BLOCK = 1024


class Schedule:
    """Base of the schedules: ``value`` times the factor of each step (see the module docstring)."""

    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("kind"):
            SCHEDULES[cls.kind] = cls

    def __post_init__(self):
        value = positive_array(self.value, "value", allow_zero=True, per_start=True)
        if isinstance(value, np.ndarray):
            value.setflags(write=False)  # frozen and hashed by value: the array must not change under it
        object.__setattr__(self, "value", value)
        self._check()

    def _check(self) -> None:
        """Check and clean the schedule's own parameters (each class its own)."""

    def factors(self, t0: int, t1: int) -> np.ndarray:
        """The float64 factors of steps ``t0 .. t1 - 1``, each computed alone (see the module docstring)."""
        raise NotImplementedError

    def factor_table(self, t0: int, t1: int, dtype) -> np.ndarray:
        """The factors of steps ``t0 .. t1 - 1`` rounded to ``dtype``: the one table both backends use."""
        return self.factors(int(t0), int(t1)).astype(dtype)

    # ------------------------------------------------------------------ inside a run
    def in_run(self, value, dtype) -> "Schedule":
        """A copy for one run: ``value`` is the run's own (a number, or an ``(n_starts, 1)`` column from
        :meth:`Optimizer.for_starts`), kept in ``dtype``, and the copy keeps the factors it has computed, which
        :meth:`at` multiplies."""
        resolved = copy.copy(self)
        object.__setattr__(resolved, "value", np.dtype(dtype).type(value) if np.ndim(value) == 0 else value)
        object.__setattr__(resolved, "_dtype", np.dtype(dtype))
        object.__setattr__(resolved, "_block", (0, np.empty(0, dtype=dtype)))
        return resolved

    def at(self, step: int):
        """The hyperparameter at ``step``: ``value * factor(step)``, in the run's dtype and shape for a run's copy
        (:meth:`in_run`), in float64 with the value as given otherwise."""
        start, block = getattr(self, "_block", (0, ()))
        if not start <= step < start + len(block):
            start = step - step % FACTOR_BLOCK
            block = self.factor_table(start, start + FACTOR_BLOCK, getattr(self, "_dtype", np.float64))
            object.__setattr__(self, "_block", (start, block))  # a cache, not a field: equality ignores it
        return self.value * block[step - start]

    # ------------------------------------------------------------------ describing
    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description that :func:`schedule_from_dict` turns back into this schedule."""
        out: dict[str, Any] = {"schedule": self.kind}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            # a run's copy holds NumPy numbers (Schedule.in_run): plain ones for JSON
            out[f.name] = value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value
        return out

    def describe(self) -> str:
        """A short label, e.g. ``Cosine(0.1, steps=1000)``: the value, then the parameters that are not defaults."""
        def shown(value) -> str:
            if isinstance(value, np.ndarray):
                return f"[{value.min():g}..{value.max():g}]" if value.size > 1 else f"[{value.reshape(-1)[0]:g}]"
            return f"{value:g}" if isinstance(value, float) else str(value)

        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (int, float)) and value == f.default:
                continue  # a default is not worth a word
            if f.name == "value" and f.default is dataclasses.MISSING:  # the first positional argument
                parts.insert(0, shown(value))
            else:
                parts.append(f"{len(value)} values" if f.name == "values" else f"{f.name}={shown(value)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __repr__(self) -> str:
        return self.describe()


def _steps_range(t0: int, t1: int) -> np.ndarray:
    return np.arange(t0, t1, dtype=np.int64)


@dataclass(frozen=True, eq=False, repr=False)
class Constant(Schedule):
    """The same value at every step (factor 1): a schedule where one is expected, e.g. in a sweep of schedules."""

    value: Any
    kind: ClassVar[str] = "constant"

    def factors(self, t0, t1):
        return np.ones(max(0, t1 - t0))


@dataclass(frozen=True, eq=False, repr=False)
class StepDecay(Schedule):
    """``value * factor ** floor(t / every)``: multiplied by ``factor`` every ``every`` steps (``factor > 1`` grows)."""

    value: Any
    factor: float
    every: int
    kind: ClassVar[str] = "step_decay"

    def _check(self):
        object.__setattr__(self, "factor", positive(self.factor, "factor"))
        object.__setattr__(self, "every", int_at_least(self.every, "every", 1))

    def factors(self, t0, t1):
        exponents = _steps_range(t0, t1) // self.every
        if not len(exponents):
            return np.ones(0)
        first = int(exponents[0])
        # one power per distinct exponent, by math.pow (a power that overflows is inf, as in NumPy)
        powers = np.array([_power(self.factor, k) for k in range(first, int(exponents[-1]) + 1)])
        return powers[exponents - first]


def _power(base: float, exponent: int) -> float:
    try:
        return math.pow(base, exponent)
    except OverflowError:
        return math.inf


@dataclass(frozen=True, eq=False, repr=False)
class InverseTime(Schedule):
    """``value / (1 + t / tau)``: the decay ``c / (1 + t/tau)`` of the stochastic-approximation step sizes."""

    value: Any
    tau: float
    kind: ClassVar[str] = "inverse_time"

    def _check(self):
        object.__setattr__(self, "tau", positive(self.tau, "tau"))

    def factors(self, t0, t1):
        return 1.0 / (1.0 + _steps_range(t0, t1) / self.tau)


@dataclass(frozen=True, eq=False, repr=False)
class Cosine(Schedule):
    """A half cosine from ``value`` at ``t = 0`` to ``final`` at ``t = steps``, then ``final``::

        value * factor(t),  factor(t) = r + (1 - r) (1 + cos(pi min(t, steps) / steps)) / 2,  r = final / value

    (so the hyperparameter reaches ``final`` to rounding). The factor is one number per step for every start, so a
    per-start ``value`` needs ``final = 0`` (the usual cosine to zero).
    """

    value: Any
    steps: int
    final: float = 0.0
    kind: ClassVar[str] = "cosine"

    def _check(self):
        object.__setattr__(self, "steps", int_at_least(self.steps, "steps", 1))
        final = positive(self.final, "final", allow_zero=True)
        if final != 0 and np.ndim(self.value) != 0:
            raise ValueError(f"final must be 0 when value holds one value per start (the schedule multiplies every "
                             f"start's value by one factor per step), got {final!r}")
        if final != 0 and self.value == 0:
            raise ValueError(f"final must be 0 when value is 0 (the schedule is value times a factor), got {final!r}")
        object.__setattr__(self, "final", final)
        # from the value as given: a run's copy holds it rounded to the run's dtype (Schedule.in_run)
        object.__setattr__(self, "_ratio", 0.0 if final == 0 else final / self.value)

    def factors(self, t0, t1):
        ratio = self._ratio
        out = np.full(max(0, t1 - t0), ratio)
        angles = math.pi * _steps_range(t0, max(t0, min(t1, self.steps))) / self.steps
        # math.cos one step at a time (NumPy's vectorized cosine may round a step differently at another place in
        # an array, i.e. in another chunk); the rest is correctly rounded arithmetic
        cosines = np.fromiter(map(math.cos, angles.tolist()), dtype=np.float64, count=len(angles))
        out[: len(angles)] = ratio + (1.0 - ratio) * (0.5 * (1.0 + cosines))
        return out


@dataclass(frozen=True, eq=False, repr=False)
class WarmUp(Schedule):
    """A linear warm-up: ``value * min(1, (t + 1) / steps)``, ``value / steps`` at the first step ``t = 0`` and
    ``value`` from ``t = steps - 1`` on (PyTorch's ``LinearLR(start_factor=1/steps, total_iters=steps - 1)``);
    the first step already moves, so an ``lr`` warmed up this way is never 0."""

    value: Any
    steps: int
    kind: ClassVar[str] = "warm_up"

    def _check(self):
        object.__setattr__(self, "steps", int_at_least(self.steps, "steps", 1))

    def factors(self, t0, t1):
        return np.minimum(1.0, (_steps_range(t0, t1) + 1) / self.steps)


@dataclass(frozen=True, eq=False, repr=False)
class PerStep(Schedule):
    """Any sequence: ``value * values[t]``, and ``value * values[-1]`` from the end of ``values`` on.

    With the default ``value = 1`` the ``values`` are the hyperparameter itself; with one ``value`` per start they
    are the factors every start shares. P3's late switch from SGD to SAM at step ``T`` is the radius
    ``PerStep(np.r_[np.zeros(T), 1.0], value=rho)``: 0 before ``T`` (SAM with ``rho = 0`` is SGD), ``rho`` after.
    """

    values: Any
    value: Any = 1.0
    kind: ClassVar[str] = "per_step"

    def _check(self):
        values = positive_array(self.values, "values", allow_zero=True)
        if np.ndim(values) != 1 or np.size(values) == 0:
            raise ValueError(f"values must be a 1-D array of at least one number (one per step), got shape "
                             f"{np.shape(values)}")
        values.setflags(write=False)
        object.__setattr__(self, "values", values)

    def factors(self, t0, t1):
        return self.values[np.minimum(_steps_range(t0, t1), len(self.values) - 1)]


def schedule_from_dict(data, name: str = "schedule") -> Schedule:
    """Rebuild a schedule from :meth:`Schedule.to_dict`; ``name`` (the hyperparameter) is named in an error."""
    if not isinstance(data, dict):
        raise ValueError(f"{name} must be a schedule description (a JSON object), got {type(data).__name__}")
    data = dict(data)
    cls = SCHEDULES[choice(data.pop("schedule", None), f"{name}'s schedule", sorted(SCHEDULES))]
    fields = dataclasses.fields(cls)
    known = sorted(f.name for f in fields)
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"{name}'s {cls.__name__} schedule takes {', '.join(known)}, got {unknown[0]!r}")
    missing = [f.name for f in fields if f.default is dataclasses.MISSING and f.name not in data]
    if missing:
        raise ValueError(f"{name}'s {cls.__name__} schedule needs {', '.join(missing)}, got {', '.join(sorted(data))}")
    return cls(**data)


def base_value(value):
    """The value a hyperparameter starts from: a schedule's ``value``, or the hyperparameter itself."""
    return value.value if isinstance(value, Schedule) else value
