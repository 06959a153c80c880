"""Optimizers as small immutable objects with a pure update.

Every optimizer maps the iterates of all starts at step ``t`` to step ``t + 1``::

    x_next = optimizer.update(landscape, x, t, noise)     # x: (n_starts, dim)

An optimizer with momentum carries state between steps (a velocity per start): its step is
``x_next, state_next = optimizer.advance(landscape, x, state, t, noise)`` with ``state`` a dict of
``(n_starts, dim)`` arrays named by :meth:`Optimizer.state_names` (see :class:`_Plain`).
``noise`` is a :class:`Noise` that hands out counter-based batches and directions for step ``t``.
``lr`` and ``rho`` are scalars or one value per start (arrays of shape ``(n_starts,)``); inside ``update``
they arrive as floats or ``(n_starts, 1)`` columns (see :meth:`Optimizer.for_starts`).

Zero-gradient convention (SAM and USAM's ascent): where the ascent gradient ``g`` is exactly zero (or not
finite), there is no perturbation, ``x+ = x``. SAM's ``g/||g||`` is undefined there; this choice makes the
step the plain gradient step, which is zero at a stationary point, and never produces NaN. Every normalized
direction of the variants follows it through :func:`unit`: a multi-step ascent does not move where its gradient
is zero, ASAM takes no perturbation where ``T g = 0``, GSAM takes ``u = 0`` and StableSAM no step where
``g_adv = 0``; SignSAM leaves a coordinate with a zero partial derivative alone (``sign(0) = 0``).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .._checks import choice, instance, int_at_least, positive_array
from . import draws


def _check_rate(value, name: str, *, allow_zero: bool):
    """A scalar or one-value-per-start hyperparameter; returns a float or a read-only float array."""
    checked = positive_array(value, name, allow_zero=allow_zero, per_start=True)
    if isinstance(checked, np.ndarray):
        # the optimizer is frozen and hashed by value: its arrays must not change under it
        checked.setflags(write=False)
    return checked


# Batches are drawn with replacement (draws.batch_indices), so a batch may be larger than the data set; past
# this size it is only a slower, memory-hungry full batch (every start draws batch_size indices per step).
MAX_BATCH_SIZE = 10**6


def _check_batch_size(value, name: str = "batch_size", *, optional: bool) -> int | None:
    """A batch size in ``[1, MAX_BATCH_SIZE]`` (or ``None``, the full batch, when ``optional``).

    Whether it fits in memory together with the number of starts is :func:`simulate`'s memory guard's call.
    """
    if value is None and optional:
        return None
    return int_at_least(value, name, 1, maximum=MAX_BATCH_SIZE, also=" or None (full batch)" if optional else "")


def _column(value, n_starts: int, name: str, dtype=np.float64):
    """A scalar stays a float; a per-start array becomes an ``(n_starts, 1)`` column in ``dtype``.

    A column already resolved stays a column, so resolving twice (simulate, then the stepper) is harmless.
    """
    if np.ndim(value) == 0:
        return float(value)
    if value.shape[0] != n_starts:
        raise ValueError(f"{name} has {value.shape[0]} values but there are {n_starts} starts; give one per start or a scalar")
    column = np.asarray(value, dtype=dtype)
    return column if column.ndim == 2 else column[:, None]


def squared_norm_range(dtype) -> tuple[float, float]:
    """``(low, high)``: a sum of squares in this range gives ``sqrt`` a norm correct to rounding.

    Below ``low`` (the smallest normal number over the machine epsilon) the squares of the components have
    lost digits to underflow, and a sum of 0 may hide a non-zero vector; above ``high`` (the largest finite
    number) they overflowed. Both backends of :func:`unit` rescale outside this range and only there.
    """
    info = np.finfo(dtype)
    return float(info.tiny / info.eps), float(info.max)


def unit(g: np.ndarray) -> np.ndarray:
    """``g / ||g||`` along the last axis, and 0 where ``g`` is exactly zero or not finite (no NaN).

    ``||g||`` is ``sqrt(sum g**2)`` where that sum neither underflows nor overflows (see
    :func:`squared_norm_range`); elsewhere ``g`` is first divided by ``max |g_i|``, so a gradient of size
    1e-200 (or 1e200) still gives a vector of length 1 to rounding, not a wrong length or no perturbation.
    """
    g = np.asarray(g)
    if g.dtype.kind != "f":
        g = g.astype(np.float64)
    with np.errstate(over="ignore", under="ignore"):  # both are caught by the range test and rescaled
        squared = np.sum(g * g, axis=-1, keepdims=True)
    low, high = squared_norm_range(g.dtype)
    safe = (squared >= low) & (squared <= high)  # NaN fails both
    if safe.all():  # the usual case: the same bits as g / sqrt(sum g**2), without extra passes
        return g / np.sqrt(squared)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scaled = g / np.max(np.abs(g), axis=-1, keepdims=True)  # 0/0 (zero vector) and inf/inf give NaN
        norm = np.sqrt(np.sum(scaled * scaled, axis=-1, keepdims=True))  # in [1, sqrt(dim)] unless NaN
        rescaled = np.where((norm > 0) & (norm < np.inf), scaled / norm, 0.0)
        return np.where(safe, g / np.sqrt(np.where(safe, squared, 1.0)), rescaled).astype(g.dtype, copy=False)


def sam_ascent(landscape, x: np.ndarray, rho, batch=None) -> np.ndarray:
    """SAM's perturbed point ``x+ = x + rho * g/||g||``, ``g = grad L_batch(x)``; ``x+ = x`` where ``g`` is zero.

    ``x``: ``(..., dim)``; ``rho``: a scalar or an array broadcasting against ``x``. This is the one place
    the zero-gradient convention lives: the optimizers, the theory and the plots all call it.
    """
    return x + rho * unit(landscape.grad(x, batch=batch))


def usam_ascent(landscape, x: np.ndarray, rho, batch=None) -> np.ndarray:
    """USAM's perturbed point ``x+ = x + rho * grad L_batch(x)`` (shapes as in :func:`sam_ascent`)."""
    return x + rho * landscape.grad(x, batch=batch)


class Noise:
    """Counter-based randomness for one run: batches and directions keyed by (seed, start, step)."""

    def __init__(self, seed: int, start_ids: np.ndarray, n_samples: int, dim: int):
        self.seed = int(seed)
        self.start_ids = np.asarray(start_ids, dtype=np.int64)
        self.n_samples = n_samples
        self.dim = dim

    def batch(self, step: int, batch_size: int | None) -> np.ndarray | None:
        """Indices ``(n_starts, B)`` drawn with replacement, or ``None`` for the full batch."""
        if batch_size is None:
            return None
        return draws.batch_indices(self.seed, self.start_ids, step, batch_size, self.n_samples)

    def direction(self, step: int, dtype=np.float64) -> np.ndarray:
        """Unit vectors uniform on the sphere, ``(n_starts, dim)``, rounded to ``dtype``.

        Pass the run's dtype: a float64 direction added to float32 iterates would lift the whole ascent
        (and its gradient) to float64, and the run would no longer be the float32 run it claims to be.
        """
        return draws.unit_directions(self.seed, self.start_ids, step, self.dim).astype(dtype, copy=False)


# Every optimizer class with a ``kind``, registered when it is defined (Optimizer.__init_subclass__).
OPTIMIZERS: dict[str, type["Optimizer"]] = {}
# The perturbation radius that a menu or a set of flags gives an optimizer with a ``rho`` when none is chosen.
DEFAULT_RHO = 0.05


def check_optimizer(value, name: str = "optimizer") -> "Optimizer":
    """``value`` if it is a samscape optimizer: the one check of that, for every layer that takes one."""
    return instance(value, name, Optimizer, "a samscape optimizer such as SAM(lr=0.1, rho=0.05)")


class Optimizer:
    """Base of the optimizers: frozen dataclasses whose :meth:`update` is pure.

    Each class describes itself with class attributes, from which every table of optimizers derives (the
    registry :data:`OPTIMIZERS`, the CLI's choices, the theory's deterministic maps, the kernel generator):

    * ``kind``: its name in the registry, in saved runs and on the command line;
    * ``ascent``: the perturbation taken before the descent step: ``None`` (plain gradient step),
      ``"normalized"`` (``rho g/||g||``), ``"unnormalized"`` (``rho g``) or ``"random"`` (``rho`` times a
      uniform unit direction), or the name of a variant's own ascent (``"projected"``, ``"repeated"``,
      ``"adaptive"``, ``"unified"``, ``"sign"``; ``"surrogate_gap"``, ``"stable"``, ``"penalty"`` and ``"weighted"`` are SAM's
      ascent followed by a descent direction of their own, see :class:`_Redirected`; ``"momentum"`` (MSAM's, against
      its velocity) and ``"periodic"`` (LookSAM's, SAM's every few steps) read the state);
      the kernel generator has one emitter per value and the theory one map;
    * ``reads_state``: whether its descent direction depends on the state it carries (MSAM's ascent follows its
      velocity, LookSAM reuses a stored direction), so that even without momentum it has no stateless map of ``x``;
      such a class defines :meth:`advance` itself;
    * ``ascent_per_sample``: whether each sample of the batch takes its own ascent (from its own gradient)
      and the descent averages the samples' gradients at their own ascent points (m-sharpness, m = 1),
      instead of one ascent from the batch gradient; the kernel generator has one emitter for it;
    * ``per_start``: the hyperparameters that may hold one value per start (one kernel row each); ``momentum`` joins
      every plain class's (see :class:`_Plain`), a kernel row only where the optimizer has momentum;
    * ``kernel_constants``: the integer hyperparameters the generated kernel is written for (a loop count such as
      ``steps_ascent``): one value for all starts, and one kernel per value;
    * ``parts``: the fields holding other optimizers (a composite such as :class:`Switch`);
    * ``hyperparameter_help``: one sentence per hyperparameter of its own (beyond ``lr``, ``rho`` and
      ``batch_size``), the help of the command line's flag for it (``steps_ascent`` -> ``--steps-ascent``);
    * ``color``: how figures and the explorer draw it: a colour name of the plots' palette (``"vermillion"``,
      see ``samscape.plots.style.OKABE_ITO``) or any matplotlib colour; ``None`` lets the plots pick one no
      other class has.

    Whether it takes a mini-batch or a ``rho`` is read off its fields (see :meth:`batch_rule`, :meth:`takes`); its
    label in menus and legends is its class name. A class defined later (a user's plugin) is registered the same
    way and appears in every menu, flag and legend: see :func:`plain_kinds` and :func:`optimizer_from_kind`.
    """

    kind: ClassVar[str] = ""
    ascent: ClassVar[str | None] = None
    ascent_per_sample: ClassVar[bool] = False
    reads_state: ClassVar[bool] = False
    per_start: ClassVar[tuple[str, ...]] = ("lr",)
    kernel_constants: ClassVar[tuple[str, ...]] = ()
    parts: ClassVar[tuple[str, ...]] = ()
    hyperparameter_help: ClassVar[dict[str, str]] = {}
    color: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind:  # a base such as _Perturbed names no kind and is not registered
            if kind in OPTIMIZERS:
                raise ValueError(f"optimizer kind {kind!r} is already taken by {OPTIMIZERS[kind].__name__}")
            OPTIMIZERS[kind] = cls

    @classmethod
    def composite(cls) -> bool:
        """Whether it is built from other optimizers (and so has no single-flag form and no single map)."""
        return bool(cls.parts)

    @classmethod
    def batch_rule(cls) -> str | None:
        """``"required"`` (a ``batch_size`` without default), ``"optional"`` (``None`` is the full batch) or
        ``None`` (no ``batch_size``: always the full batch), read off the dataclass field."""
        for field in dataclasses.fields(cls):
            if field.name == "batch_size":
                return "required" if field.default is dataclasses.MISSING else "optional"
        return None

    @classmethod
    def takes(cls, name: str) -> bool:
        """Whether it has the hyperparameter ``name`` (a dataclass field: ``rho``, ``batch_size``, ...)."""
        return any(field.name == name for field in dataclasses.fields(cls))

    def leaves(self) -> list["Optimizer"]:
        """The plain optimizers inside it in pre-order (a Switch's first part before its second); itself when plain."""
        if not self.parts:
            return [self]
        return [leaf for name in self.parts for leaf in getattr(self, name).leaves()]

    def batch_note(self, landscape) -> str | None:
        """A sentence for a batch size of it that cannot do what it seems to on ``landscape`` (``None`` otherwise):
        any batch of a one-sample loss is that sample (the gradients are full-batch), and a batch larger than the
        data set only repeats samples (batches are drawn with replacement)."""
        sizes = sorted({leaf.batch_size for leaf in self.leaves() if getattr(leaf, "batch_size", None) is not None})
        n = landscape.n_samples
        if not sizes or 1 < n >= sizes[-1]:
            return None
        if n == 1:
            return (f"batch_size={sizes[-1]} on landscape {landscape.name!r}, which has one sample: every batch is "
                    "that sample, so batch_size changes nothing and the gradients are full-batch; give the landscape "
                    "data (samples=, or a catalog entry's data parameters) for stochastic gradients")
        return (f"batch_size={sizes[-1]} exceeds the {n} samples of landscape {landscape.name!r}: batches are drawn "
                "with replacement, so a batch repeats samples and is not the full batch; for the full batch use GD, "
                "or batch_size=None in the SAM variants")

    def draws(self, n_samples: int) -> bool:
        """Whether its runs draw random numbers, so that the seed changes them: a random ascent direction, or
        mini-batches of a loss with more than one sample (every batch of a one-sample loss is that sample), in
        any of its parts. Read off the class (``ascent``) and its ``batch_size``."""
        if self.parts:
            return any(getattr(self, name).draws(n_samples) for name in self.parts)
        batched = getattr(self, "batch_size", None) is not None and n_samples > 1
        return self.ascent == "random" or batched

    def update(self, landscape, x: np.ndarray, step: int, noise: Noise) -> np.ndarray:
        """The stateless step: ``x (n_starts, dim)`` at step ``step`` -> ``x_next`` of the same shape."""
        raise NotImplementedError

    def state_names(self) -> tuple[str, ...]:
        """The arrays it carries from step to step, each ``(n_starts, dim)`` (``("velocity",)`` with momentum);
        ``()`` for a stateless optimizer, whose :meth:`advance` is :meth:`update`."""
        return ()

    def advance(self, landscape, x: np.ndarray, state: dict, step: int, noise: Noise) -> tuple[np.ndarray, dict]:
        """The stateful step: ``(x_next, state_next)`` from ``x (n_starts, dim)`` and ``state`` (name -> array
        ``(n_starts, dim)``, holding at least :meth:`state_names`); arrays it does not carry pass through untouched."""
        return self.update(landscape, x, step, noise), state

    def for_starts(self, n_starts: int, dtype=np.float64) -> "Optimizer":
        """A copy whose per-start arrays are ``(n_starts, 1)`` columns in ``dtype`` (checked against ``n_starts``)."""
        changes = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name in self.per_start:
                changes[field.name] = _column(value, n_starts, field.name, dtype)
            elif isinstance(value, Optimizer):
                changes[field.name] = value.for_starts(n_starts, dtype)
        if not changes:
            return self
        # a shallow copy, not dataclasses.replace: the columns are already validated and
        # __post_init__ accepts only the user-facing 1-D form
        resolved = copy.copy(self)
        for name, value in changes.items():
            object.__setattr__(resolved, name, value)
        return resolved

    # Equality and hashing by value: the dataclass versions compare per-start arrays elementwise, which
    # raises "truth value of an array is ambiguous".
    def __eq__(self, other) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def _shown_fields(self):
        """Its dataclass fields, less those of :data:`SILENT_AT_DEFAULT` that hold their default: a recipe or a label
        of an optimizer without momentum reads (and hashes) as it did before momentum existed; the others come last
        (``SAM(lr=0.1, rho=0.05, momentum=0.9)``)."""
        fields = dataclasses.fields(self)
        yield from (field for field in fields if field.name not in SILENT_AT_DEFAULT)
        yield from (field for field in fields if field.name in SILENT_AT_DEFAULT
                    and not _is_default(getattr(self, field.name), field.default))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description that :func:`optimizer_from_dict` turns back into this optimizer."""
        out: dict[str, Any] = {"kind": self.kind}
        for field in self._shown_fields():
            value = getattr(self, field.name)
            if isinstance(value, Optimizer):
                out[field.name] = value.to_dict()
            elif isinstance(value, np.ndarray):
                out[field.name] = value.tolist()
            else:
                out[field.name] = value
        return out

    def describe(self) -> str:
        """A short human label, e.g. ``SAM(lr=0.1, rho=0.05)``."""
        parts = []
        for field in self._shown_fields():
            value = getattr(self, field.name)
            if isinstance(value, Optimizer):
                parts.append(value.describe())
            elif isinstance(value, np.ndarray):
                parts.append(f"{field.name}=[{value.min():g}..{value.max():g}]")
            elif value is not None:
                parts.append(f"{field.name}={value:g}" if isinstance(value, float) else f"{field.name}={value}")
        return f"{type(self).__name__}({', '.join(parts)})"


# Fields left out of an optimizer's recipe and label while they hold their default (see Optimizer._shown_fields).
SILENT_AT_DEFAULT = ("momentum", "nesterov", "state")


def _is_default(value, default) -> bool:
    return not isinstance(value, np.ndarray) and value == default


@dataclass(frozen=True, eq=False)
class _Plain(Optimizer):
    """A plain optimizer: one descent direction ``d`` per step (:meth:`descent`), taken with heavy-ball or Nesterov
    momentum when ``momentum > 0`` (PyTorch's SGD with dampening 0, optax's ``trace``)::

        v <- momentum v + d;   x <- x - lr v                    (heavy ball)
        v <- momentum v + d;   x <- x - lr (d + momentum v)     (nesterov=True)

    with ``v`` (the state ``"velocity"``, ``(n_starts, dim)``) zero at the start of a run. ``d`` is what the
    optimizer without momentum subtracts times ``lr``: the gradient for GD, the gradient at the ascent point for
    SAM, a variant's own direction. ``momentum`` is a number in ``[0, 1)`` or one per start; ``momentum=0`` (the
    default) is the stateless :meth:`update`, the same operations as before momentum existed.
    """

    # the fields ``momentum`` and ``nesterov`` are declared by GD, SGD and _Perturbed so that
    # they come after each class's own (``SAM(lr, rho, batch_size, momentum, nesterov)``)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # every plain class, a variant's own per_start included, takes momentum per start (one kernel row each)
        if "momentum" not in cls.per_start:
            cls.per_start = (*cls.per_start, "momentum")

    def __post_init__(self):
        object.__setattr__(self, "momentum", HYPERPARAMETER_CHECKS["below_one"](self.momentum, "momentum"))
        nesterov = instance(self.nesterov, "nesterov", (bool, np.bool_), "True or False")
        if nesterov and not np.any(np.asarray(self.momentum) > 0):
            raise ValueError(f"nesterov must be False when momentum is 0 (Nesterov's look-ahead needs momentum > 0), "
                             f"got nesterov=True with momentum={self.momentum!r}")
        object.__setattr__(self, "nesterov", bool(nesterov))

    def descent(self, landscape, x: np.ndarray, step: int, noise: Noise) -> np.ndarray:
        """The step's descent direction ``d`` (shape of ``x``), which the step subtracts times ``lr``."""
        raise NotImplementedError

    def has_momentum(self) -> bool:
        """Whether it carries a velocity: a ``momentum`` other than the scalar 0 (an array, even of zeros, does)."""
        return np.ndim(self.momentum) != 0 or self.momentum != 0

    def state_names(self) -> tuple[str, ...]:
        return ("velocity",) if self.has_momentum() else ()

    def update(self, landscape, x, step, noise):
        if self.has_momentum():
            raise ValueError(f"{self.describe()} carries a velocity between steps, so it has no stateless update: "
                             "step it with advance(landscape, x, state, step, noise) or through a Stepper")
        return x - self.lr * self.descent(landscape, x, step, noise)

    def advance(self, landscape, x, state, step, noise):
        if not self.has_momentum():
            return self.update(landscape, x, step, noise), state
        return self.momentum_step(x, state, self.descent(landscape, x, step, noise))

    def momentum_step(self, x, state, d):
        """``(x_next, state_next)``: the step along the descent direction ``d``, with the heavy ball or Nesterov where
        it has momentum (``x - lr d`` otherwise); for a class whose ``d`` needs the state (see ``reads_state``)."""
        if not self.has_momentum():
            return x - self.lr * d, state
        velocity = self.momentum * state["velocity"] + d
        direction = d + self.momentum * velocity if self.nesterov else velocity
        return x - self.lr * direction, {**state, "velocity": velocity}


@dataclass(frozen=True, eq=False)
class GD(_Plain):
    """Full-batch gradient descent: ``x <- x - lr * grad L(x)``."""

    lr: Any
    momentum: Any = field(default=0.0, kw_only=True)
    nesterov: bool = field(default=False, kw_only=True)
    kind: ClassVar[str] = "gd"
    color: ClassVar[str | None] = "blue"

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_rate(self.lr, "lr", allow_zero=False))
        super().__post_init__()

    def descent(self, landscape, x, step, noise):
        return landscape.grad(x)


@dataclass(frozen=True, eq=False)
class SGD(_Plain):
    """Mini-batch SGD: ``x <- x - lr * grad L_xi(x)``, batch ``xi`` of ``batch_size`` drawn with replacement."""

    lr: Any
    batch_size: int
    momentum: Any = field(default=0.0, kw_only=True)
    nesterov: bool = field(default=False, kw_only=True)
    kind: ClassVar[str] = "sgd"
    color: ClassVar[str | None] = "sky"

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_rate(self.lr, "lr", allow_zero=False))
        object.__setattr__(self, "batch_size", _check_batch_size(self.batch_size, optional=False))
        super().__post_init__()

    def descent(self, landscape, x, step, noise):
        return landscape.grad(x, batch=noise.batch(step, self.batch_size))


@dataclass(frozen=True, eq=False)
class _Perturbed(_Plain):
    lr: Any
    rho: Any
    batch_size: int | None = None
    momentum: Any = field(default=0.0, kw_only=True)
    nesterov: bool = field(default=False, kw_only=True)
    per_start: ClassVar[tuple[str, ...]] = ("lr", "rho")
    # the hyperparameters a variant adds, each with the name of its check in HYPERPARAMETER_CHECKS
    hyperparameter_checks: ClassVar[dict[str, str]] = {}

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_rate(self.lr, "lr", allow_zero=False))
        object.__setattr__(self, "rho", _check_rate(self.rho, "rho", allow_zero=True))
        object.__setattr__(self, "batch_size", _check_batch_size(self.batch_size, optional=True))
        for name, check in self.hyperparameter_checks.items():
            object.__setattr__(self, name, HYPERPARAMETER_CHECKS[check](getattr(self, name), name))
        super().__post_init__()

    def perturbed_point(self, landscape, x, step, batch, noise) -> np.ndarray:
        """The perturbed point ``x+`` at which the descent gradient is taken; each variant defines its own
        (and names it in ``ascent``, which the kernel generator reads)."""
        raise NotImplementedError

    def descent(self, landscape, x, step, noise):
        # the two lines of the paper, shared by every variant: perturb, then descend with the same batch
        batch = noise.batch(step, self.batch_size)
        return landscape.grad(self.perturbed_point(landscape, x, step, batch, noise), batch=batch)


@dataclass(frozen=True, eq=False)
class SAM(_Perturbed):
    """Normalized SAM: ``x+ = x + rho g/||g||`` with ``g = grad L_xi(x)``; ``x <- x - lr grad L_xi(x+)``.

    The same batch serves the ascent and the descent. ``batch_size=None`` is full-batch SAM;
    ``batch_size=1`` is P2's 1-SAM. Where ``g = 0`` there is no perturbation (see the module docstring).
    """

    kind: ClassVar[str] = "sam"
    color: ClassVar[str | None] = "vermillion"
    ascent: ClassVar[str | None] = "normalized"

    def perturbed_point(self, landscape, x, step, batch, noise):
        return sam_ascent(landscape, x, self.rho, batch)


@dataclass(frozen=True, eq=False)
class USAM(_Perturbed):
    """Unnormalized SAM: ``x <- x - lr grad L_xi(x + rho grad L_xi(x))`` (P3's simplified SAM)."""

    kind: ClassVar[str] = "usam"
    color: ClassVar[str | None] = "orange"
    ascent: ClassVar[str | None] = "unnormalized"

    def perturbed_point(self, landscape, x, step, batch, noise):
        return usam_ascent(landscape, x, self.rho, batch)


@dataclass(frozen=True, eq=False)
class RandomSAM(_Perturbed):
    """Random-direction SAM: ``x <- x - lr grad L_xi(x + rho g/||g||)``, ``g ~ N(0, I)`` fresh each step."""

    kind: ClassVar[str] = "randomsam"
    color: ClassVar[str | None] = "purple"
    ascent: ClassVar[str | None] = "random"

    def perturbed_point(self, landscape, x, step, batch, noise):
        return x + self.rho * noise.direction(step, x.dtype)


def _per_point(value):
    """A per-start hyperparameter column ``(n_starts, 1)`` as ``(n_starts, 1, 1)``, for points ``(n_starts, B, dim)``."""
    return value if np.ndim(value) == 0 else value[..., None]


@dataclass(frozen=True, eq=False)
class _PerSample(_Perturbed):
    """The per-sample ascent shared by :class:`PerSampleSAM` and :class:`PerSampleUSAM`::

        x_i+ = perturbed point of sample i alone        for each sample i of the batch
        x   <- x - lr * mean_i grad l_i(x_i+)

    The batch (``batch_size`` samples drawn with replacement, or every sample for ``None``) is the same for the
    ascents and the descent. On a landscape without data the only sample is the loss itself.
    """

    ascent_per_sample: ClassVar[bool] = True

    def descent(self, landscape, x, step, noise):
        batch = noise.batch(step, self.batch_size)
        if batch is None:
            batch = np.broadcast_to(np.arange(landscape.n_samples), (x.shape[0], landscape.n_samples))
        each = batch[..., None]  # (n_starts, B, 1): point (start, i) sees sample i alone
        points = self.perturbed_point(landscape, x[:, None, :], step, each, noise)  # (n_starts, B, dim)
        grads = landscape.grad(points, batch=each)
        # the mean over the batch taken along a contiguous last axis, as Landscape.grad takes its means
        # (NumPy's pairwise order), so that the compiled kernel can follow it bit for bit
        return np.ascontiguousarray(np.moveaxis(grads, -2, -1)).mean(axis=-1)


@dataclass(frozen=True, eq=False)
class PerSampleSAM(_PerSample):
    """Per-sample SAM (m-sharpness with m = 1): every sample of the batch takes its own normalized ascent,
    ``x_i+ = x + rho g_i/||g_i||`` with ``g_i = grad l_i(x)``, and ``x <- x - lr mean_i grad l_i(x_i+)``.

    The m-sharpness of Foret et al., "Sharpness-Aware Minimization for Efficiently Improving Generalization"
    (ICLR 2021), with m = 1, as compared with SAM in Andriushchenko & Flammarion, "Towards Understanding
    Sharpness-Aware Minimization" (ICML 2022). Where ``g_i = 0`` sample i is not perturbed (see the module
    docstring). On a landscape without data it is :class:`SAM`.
    """

    kind: ClassVar[str] = "persamplesam"
    color: ClassVar[str | None] = "green"
    ascent: ClassVar[str | None] = "normalized"

    def perturbed_point(self, landscape, x, step, batch, noise):
        return sam_ascent(landscape, x, _per_point(self.rho), batch)


@dataclass(frozen=True, eq=False)
class PerSampleUSAM(_PerSample):
    """Per-sample unnormalized SAM: ``x_i+ = x + rho grad l_i(x)`` for each sample i of the batch, and
    ``x <- x - lr mean_i grad l_i(x_i+)``: the unnormalized m = 1 variant of Andriushchenko & Flammarion
    (ICML 2022), after the m-sharpness of Foret et al. (ICLR 2021). On a landscape without data it is :class:`USAM`.
    """

    kind: ClassVar[str] = "persampleusam"
    color: ClassVar[str | None] = "black"
    ascent: ClassVar[str | None] = "unnormalized"

    def perturbed_point(self, landscape, x, step, batch, noise):
        return usam_ascent(landscape, x, _per_point(self.rho), batch)


def _check_fraction(value, name: str, *, below_one: bool = False):
    """A number in ``[0, 1]`` (``[0, 1)`` with ``below_one``) or one per start (a mixing weight)."""
    checked = _check_rate(value, name, allow_zero=True)
    if np.any(np.asarray(checked) >= 1 if below_one else np.asarray(checked) > 1):
        interval = "[0, 1)" if below_one else "[0, 1]"
        raise ValueError(f"{name} must be in {interval} (a number or one per start), got {float(np.max(checked))!r}")
    return checked


# The checks a variant names in ``_Perturbed.hyperparameter_checks``: (value, name) -> the cleaned value.
HYPERPARAMETER_CHECKS = {
    "positive": lambda value, name: _check_rate(value, name, allow_zero=False),
    "nonnegative": lambda value, name: _check_rate(value, name, allow_zero=True),
    "fraction": _check_fraction,
    "below_one": lambda value, name: _check_fraction(value, name, below_one=True),
    "count": lambda value, name: int_at_least(value, name, 1),
}


def projected_step(landscape, p, x, rho, alpha, batch=None) -> np.ndarray:
    """One step of the projected ascent from ``p`` around ``x``: ``q = p + alpha g(p)/||g(p)||`` (no move where
    ``g(p)`` is zero, :func:`unit`), ``d = q - x``, then ``x + d rho/||d||`` where ``||d|| > rho`` and ``q`` elsewhere.
    The kernel writes the same operations in the same order (``codegen``'s ``emit_projected_ascent``)."""
    q = p + alpha * unit(landscape.grad(p, batch=batch))
    d = q - x
    norm = np.sqrt(np.sum(d * d, axis=-1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):  # the branch taken where norm = 0 is q
        return np.where(norm > rho, x + d * (rho / norm), q)


def projected_ascent(landscape, x, rho, alpha, steps: int, batch=None) -> np.ndarray:
    """Multi-step normalized ascent projected onto the ball of radius ``rho`` around ``x``: ``steps`` times
    :func:`projected_step` from ``p = x``."""
    p = x
    for _ in range(steps):
        p = projected_step(landscape, p, x, rho, alpha, batch)
    return p


def repeated_ascent(landscape, x, rho, steps: int, batch=None) -> np.ndarray:
    """``steps`` USAM ascents, each from the last: ``p_k = p_{k-1} + rho grad L_batch(p_{k-1})``, ``p_0 = x``."""
    p = x
    for _ in range(steps):
        p = usam_ascent(landscape, p, rho, batch)
    return p


def adaptive_ascent(landscape, x, rho, eta_a, batch=None) -> np.ndarray:
    """ASAM's perturbed point ``x + rho T u``, ``u = T g/||T g||`` (0 where ``T g`` is zero), ``T = |x| + eta_a``."""
    scale = np.abs(x) + eta_a
    return x + rho * (scale * unit(scale * landscape.grad(x, batch=batch)))


def unified_ascent(landscape, x, rho, lam_u, batch=None) -> np.ndarray:
    """Unified SAM's perturbed point ``x + rho ((1 - lam_u) g + lam_u g/||g||)`` (no perturbation where ``g = 0``)."""
    g = landscape.grad(x, batch=batch)
    # (g - lam_u g), not (1 - lam_u) g: a product of two hyperparameters would round differently in float32
    return x + rho * ((g - lam_u * g) + lam_u * unit(g))


@dataclass(frozen=True, eq=False)
class MultiStepSAM(_Perturbed):
    """SAM whose ascent is ``steps_ascent`` normalized steps of size ``alpha``, each projected back onto the ball
    ``||x+ - x|| <= rho`` (projected gradient ascent on the inner maximization)::

        p_0 = x,  p_k = x + Pi_rho(p_{k-1} + alpha g(p_{k-1})/||g(p_{k-1})|| - x),  x <- x - lr grad L(p_K)

    as in the multi-step ascent studied by Andriushchenko & Flammarion, "Towards Understanding Sharpness-Aware
    Minimization" (ICML 2022, arXiv:2206.06232) and by Kim et al., "Exploring the Effect of Multi-step Ascent in
    Sharpness-Aware Minimization" (2023, arXiv:2302.10181). ``alpha=None`` is ``rho`` (each step may reach the
    sphere); ``steps_ascent=1`` with ``alpha=rho`` is SAM (up to the rounding of the projection). Where ``g(p)`` is
    zero the step does not move ``p`` (the zero-gradient convention). The same batch serves every gradient.
    """

    steps_ascent: int = field(default=2, kw_only=True)
    alpha: Any = field(default=None, kw_only=True)
    kind: ClassVar[str] = "multistepsam"
    ascent: ClassVar[str | None] = "projected"
    per_start: ClassVar[tuple[str, ...]] = ("lr", "rho", "alpha")
    kernel_constants: ClassVar[tuple[str, ...]] = ("steps_ascent",)
    hyperparameter_help: ClassVar[dict[str, str]] = {
        "steps_ascent": "number of ascent steps before each descent (multi-step SAM and USAM; default 2)",
        "alpha": "size of each normalized ascent step, projected back onto the rho-ball (multi-step SAM; default rho)",
    }

    hyperparameter_checks: ClassVar[dict[str, str]] = {"steps_ascent": "count", "alpha": "positive"}

    def __post_init__(self):
        if self.alpha is None:  # rho is checked before alpha, so a bad rho is named as rho
            object.__setattr__(self, "alpha", self.rho)
        super().__post_init__()

    def perturbed_point(self, landscape, x, step, batch, noise):
        return projected_ascent(landscape, x, self.rho, self.alpha, self.steps_ascent, batch)


@dataclass(frozen=True, eq=False)
class MultiStepUSAM(_Perturbed):
    """USAM whose ascent is ``steps_ascent`` unnormalized steps of size ``rho``, each from the last::

        p_0 = x,  p_k = p_{k-1} + rho grad L(p_{k-1}),  x <- x - lr grad L(p_K)

    The multi-step unnormalized ascent of Andriushchenko & Flammarion (ICML 2022, arXiv:2206.06232), which optax's
    ``contrib.sam`` runs with ``sync_period = steps_ascent + 1``; the literature's step size alpha is ``rho``
    here, so that ``steps_ascent=1`` is :class:`USAM` bit for bit. No projection: the ascent may go as far as
    the gradient takes it.
    """

    steps_ascent: int = field(default=2, kw_only=True)
    kind: ClassVar[str] = "multistepusam"
    ascent: ClassVar[str | None] = "repeated"
    kernel_constants: ClassVar[tuple[str, ...]] = ("steps_ascent",)
    hyperparameter_help: ClassVar[dict[str, str]] = {"steps_ascent": MultiStepSAM.hyperparameter_help["steps_ascent"]}
    hyperparameter_checks: ClassVar[dict[str, str]] = {"steps_ascent": "count"}

    def perturbed_point(self, landscape, x, step, batch, noise):
        return repeated_ascent(landscape, x, self.rho, self.steps_ascent, batch)


@dataclass(frozen=True, eq=False)
class ASAM(_Perturbed):
    """Adaptive SAM: the ascent is normalized in the metric of ``T = |x| + eta_a`` (elementwise)::

        x+ = x + rho T (T g)/||T g||,   g = grad L_xi(x);   x <- x - lr grad L_xi(x+)

    i.e. ``rho T^2 g/||T g||``, from Kwon, Kim, Park & Choi, "ASAM: Adaptive Sharpness-Aware Minimization for
    Scale-Invariant Learning of Deep Neural Networks" (ICML 2021, arXiv:2102.11600), whose ``rho`` is a radius in
    the rescaled coordinates (their experiments use values near 0.5 to 2). Where ``T g`` is zero there is no
    perturbation (the zero-gradient convention); with ``eta_a = 0`` that is also where every coordinate of ``x``
    with a non-zero partial derivative is itself zero (at ``x = 0``, say).
    """

    eta_a: Any = field(default=0.01, kw_only=True)
    kind: ClassVar[str] = "asam"
    ascent: ClassVar[str | None] = "adaptive"
    per_start: ClassVar[tuple[str, ...]] = ("lr", "rho", "eta_a")
    hyperparameter_help: ClassVar[dict[str, str]] = {
        "eta_a": "ASAM's offset in the scale |x| + eta_a of its ascent (>= 0; default 0.01)"}
    hyperparameter_checks: ClassVar[dict[str, str]] = {"eta_a": "nonnegative"}

    def perturbed_point(self, landscape, x, step, batch, noise):
        return adaptive_ascent(landscape, x, self.rho, self.eta_a, batch)


@dataclass(frozen=True, eq=False)
class UnifiedSAM(_Perturbed):
    """Unified SAM: an ascent between USAM's (``lam_u = 0``) and SAM's (``lam_u = 1``)::

        x+ = x + rho ((1 - lam_u) g + lam_u g/||g||),   g = grad L_xi(x);   x <- x - lr grad L_xi(x+)

    from Oikonomou & Loizou, "Sharpness-Aware Minimization: General Analysis and Improved Rates" (ICLR 2025,
    arXiv:2503.02225). The weight is called ``lam_u`` (the paper's lambda) because ``lam`` is a curvature
    throughout samscape's theory. Where ``g = 0`` there is no perturbation (the zero-gradient convention).
    """

    lam_u: Any = field(default=0.5, kw_only=True)
    kind: ClassVar[str] = "unifiedsam"
    ascent: ClassVar[str | None] = "unified"
    per_start: ClassVar[tuple[str, ...]] = ("lr", "rho", "lam_u")
    hyperparameter_help: ClassVar[dict[str, str]] = {
        "lam_u": "Unified SAM's weight of the normalized ascent, from 0 (USAM) to 1 (SAM; default 0.5)"}
    hyperparameter_checks: ClassVar[dict[str, str]] = {"lam_u": "fraction"}

    def perturbed_point(self, landscape, x, step, batch, noise):
        return unified_ascent(landscape, x, self.rho, self.lam_u, batch)


def sign_ascent(landscape, x, rho, batch=None) -> np.ndarray:
    """The infinity-norm ascent ``x + rho sign(g)`` (a coordinate with a zero partial derivative is not moved)."""
    return x + rho * np.sign(landscape.grad(x, batch=batch))


def mixed_direction(g, g_adv, weight):
    """``(1 - weight) g + weight g_adv``, written ``(g - weight g) + weight g_adv``: ``(1 - weight) g`` would round
    ``1 - weight`` in float32 differently from the kernel, a product of two hyperparameters."""
    return (g - weight * g) + weight * g_adv


def orthogonal_part(a, b):
    """The part of ``a`` orthogonal to ``b``: ``a - (a . u) u`` with ``u = b/||b||`` (``u = 0`` where ``b`` is zero,
    :func:`unit`, so then it is ``a``); along the last axis."""
    u = unit(b)
    along = np.sum(a * u, axis=-1, keepdims=True)
    return a - along * u


def surrogate_gap_direction(g, g_adv, alpha):
    """GSAM's descent direction ``g_adv - alpha g_perp``, ``g_perp`` the part of ``g`` orthogonal to ``g_adv``
    (:func:`orthogonal_part`: ``g_perp = g`` where ``g_adv`` is zero)."""
    return g_adv - alpha * orthogonal_part(g, g_adv)


@dataclass(frozen=True, eq=False)
class SignSAM(_Perturbed):
    """SAM in the infinity-norm ball: ``x+ = x + rho sign(g)``, ``g = grad L_xi(x)``; ``x <- x - lr grad L_xi(x+)``.

    The maximizer of the linearized loss over ``||eps||_inf <= rho``, the ``p = inf`` case of the dual-norm formula
    of Foret et al., "Sharpness-Aware Minimization for Efficiently Improving Generalization" (ICLR 2021,
    arXiv:2010.01412). A coordinate whose partial derivative is zero is not perturbed (the zero-gradient
    convention, coordinate by coordinate). In one dimension it is SAM.
    """

    kind: ClassVar[str] = "signsam"
    ascent: ClassVar[str | None] = "sign"

    def perturbed_point(self, landscape, x, step, batch, noise):
        return sign_ascent(landscape, x, self.rho, batch)


@dataclass(frozen=True, eq=False)
class _Redirected(_Perturbed):
    """The variants that take SAM's ascent and then descend along a direction of their own, made from the gradient
    ``g`` at ``x`` and ``g_adv`` at the ascent point (:meth:`direction`); the kernel writer has one emitter per
    ``ascent`` value for that direction."""

    def perturbed_point(self, landscape, x, step, batch, noise):
        return sam_ascent(landscape, x, self.rho, batch)

    def direction(self, g, g_adv):
        raise NotImplementedError

    def descent(self, landscape, x, step, noise):
        batch = noise.batch(step, self.batch_size)
        g = landscape.grad(x, batch=batch)
        # SAM's ascent from the g already at hand (sam_ascent would evaluate it again)
        g_adv = landscape.grad(x + self.rho * unit(g), batch=batch)
        return self.direction(g, g_adv)


@dataclass(frozen=True, eq=False)
class GSAM(_Redirected):
    """Surrogate-gap guided SAM: SAM's ascent, then a descent along ``g_adv`` minus ``alpha`` times the part of the
    gradient ``g`` orthogonal to it::

        x+ = x + rho g/||g||,  g_adv = grad L_xi(x+),  g_perp = g - (g . u) u with u = g_adv/||g_adv||,
        x <- x - lr (g_adv - alpha g_perp)

    from Zhuang et al., "Surrogate Gap Minimization Improves Sharpness-Aware Training" (ICLR 2022,
    arXiv:2203.08065); ``-g_perp`` descends the surrogate gap ``L(x+) - L(x)`` without changing the perturbed loss
    to first order. ``alpha = 0`` is SAM; in one dimension ``g_perp = 0`` and it is SAM whatever ``alpha``. The
    paper ties ``rho`` to the learning-rate schedule; here both are constant. Where ``g`` or ``g_adv`` is zero the
    zero-gradient convention applies (no perturbation; ``u = 0``).
    """

    alpha: Any = field(default=0.1, kw_only=True)
    kind: ClassVar[str] = "gsam"
    ascent: ClassVar[str | None] = "surrogate_gap"
    per_start: ClassVar[tuple[str, ...]] = ("lr", "rho", "alpha")
    hyperparameter_help: ClassVar[dict[str, str]] = {
        "alpha": "GSAM's weight of the descent along the surrogate gap (>= 0, 0 is SAM; default 0.1)"}
    hyperparameter_checks: ClassVar[dict[str, str]] = {"alpha": "nonnegative"}

    def direction(self, g, g_adv):
        return surrogate_gap_direction(g, g_adv, self.alpha)


@dataclass(frozen=True, eq=False)
class StableSAM(_Redirected):
    """SAM whose descent step keeps the length of the plain gradient: ``x <- x - lr ||g|| g_adv/||g_adv||`` with
    ``g_adv = grad L_xi(x + rho g/||g||)``, from Tan et al., "Stabilizing Sharpness-aware Minimization Through A
    Simple Renormalization Strategy" (2024, arXiv:2401.07250). Where ``g_adv`` is zero its direction is undefined
    and, by the zero-gradient convention, taken as zero: no step. In one dimension it is gradient descent.
    ``||g||`` is ``sqrt(sum g**2)`` as written (no rescaling: a gradient of size 1e-160 gives a zero step).
    """

    kind: ClassVar[str] = "stablesam"
    ascent: ClassVar[str | None] = "stable"

    def direction(self, g, g_adv):
        return np.sqrt(np.sum(g * g, axis=-1, keepdims=True)) * unit(g_adv)


@dataclass(frozen=True, eq=False)
class GNP(_Redirected):
    """Gradient-norm penalty: ``x <- x - lr ((1 - alpha) g + alpha g_adv)`` with ``g_adv`` SAM's descent gradient
    ``grad L_xi(x + rho g/||g||)``: the finite-difference gradient of ``L + alpha rho ||grad L||`` of Zhao, Zhang &
    Hu, "Penalizing Gradient Norm for Efficiently Improving Generalization in Deep Learning" (ICML 2022,
    arXiv:2202.03599; their ``r`` is ``rho``). ``alpha = 1`` is SAM, ``alpha = 0`` gradient descent.
    """

    alpha: Any = field(default=0.5, kw_only=True)
    kind: ClassVar[str] = "gnp"
    ascent: ClassVar[str | None] = "penalty"
    per_start: ClassVar[tuple[str, ...]] = ("lr", "rho", "alpha")
    hyperparameter_help: ClassVar[dict[str, str]] = {
        "alpha": "GNP's weight of the gradient at the ascent point, in [0, 1] (1 is SAM; default 0.5)"}
    hyperparameter_checks: ClassVar[dict[str, str]] = {"alpha": "fraction"}

    def direction(self, g, g_adv):
        return mixed_direction(g, g_adv, self.alpha)


@dataclass(frozen=True, eq=False)
class WSAM(_Redirected):
    """Weighted SAM: ``x <- x - lr (g + (gamma/(1 - gamma)) (g_adv - g))`` with ``g_adv`` SAM's descent gradient, the
    gradient of ``L + (gamma/(1 - gamma))`` times SAM's sharpness ``L(x+) - L(x)``, from Yue et al., "Sharpness-Aware
    Minimization Revisited: Weighted Sharpness as a Regularization Term" (KDD 2023, arXiv:2305.15817).
    ``gamma = 1/2`` is SAM, ``gamma = 0`` gradient descent; it is :class:`GNP` with ``alpha = gamma/(1 - gamma)``,
    which may exceed 1 here.
    """

    gamma: Any = field(default=0.9, kw_only=True)
    kind: ClassVar[str] = "wsam"
    ascent: ClassVar[str | None] = "weighted"
    per_start: ClassVar[tuple[str, ...]] = ("lr", "rho", "gamma")
    hyperparameter_help: ClassVar[dict[str, str]] = {
        "gamma": "WSAM's weight of the sharpness, in [0, 1) (1/2 is SAM; default 0.9)"}
    hyperparameter_checks: ClassVar[dict[str, str]] = {"gamma": "below_one"}

    def direction(self, g, g_adv):
        return mixed_direction(g, g_adv, self.gamma / (1 - self.gamma))


def momentum_ascent(x, velocity, rho) -> np.ndarray:
    """MSAM's perturbed point ``x - rho v/||v||``, against the velocity ``v``; ``x`` where ``v`` is zero
    (:func:`unit`)."""
    return x - rho * unit(velocity)


def reuse_direction(g, stored, alpha) -> np.ndarray:
    """LookSAM's direction between its SAM steps, ``g + alpha ||g|| stored/||stored||`` (``g`` where ``stored`` is
    zero, :func:`unit`). ``||g||`` is ``sqrt(sum g**2)`` as written, as in :class:`StableSAM`."""
    return g + (alpha * np.sqrt(np.sum(g * g, axis=-1, keepdims=True))) * unit(stored)


@dataclass(frozen=True, eq=False)
class MSAM(_Perturbed):
    """Momentum-SAM: the perturbation follows the velocity instead of a fresh gradient, so a step costs one gradient::

        x~ = x - rho v/||v||,   v <- momentum v + grad L_xi(x~),   x <- x - lr v

    from Becker, Altrock & Risse, "Momentum-SAM: Sharpness Aware Minimization without Computational Overhead" (2024,
    arXiv:2401.12033). ``v`` (the state ``"velocity"``) sums the past descent gradients, so ``x~`` lies *against*
    it: ``rho`` along the step the heavy ball is about to take. It starts at 0, where its direction is undefined and,
    by the zero-gradient convention (:func:`unit`), there is no perturbation: the first step is a gradient step that
    sets ``v = grad L_xi(x_0)``. ``momentum`` is the heavy ball's (default 0.9, as in the authors' code); at 0 the
    velocity is the last step's gradient, and the perturbation goes against the previous step. ``nesterov=True`` takes
    the Nesterov step ``x <- x - lr (g + momentum v)`` with ``g = grad L_xi(x~)`` (not in the paper). ``||v||`` is
    the norm over all coordinates (the paper's global norm over a network's tensors).

    The step rule is the authors' (MarlonBecker/MSAM, ``optimizer/msam.py``, read for the sign, the zero initial
    velocity and the order: the perturbation uses the velocity before its update); ``scripts/crosscheck_msam.py``
    runs our reading of their rule beside this class. Where theirs differs: their model holds ``x~`` between steps (the
    iterate here is ``x``, what their ``move_back_from_momentumAscent`` restores); they divide by ``||v|| + 1e-12``
    (here by ``||v||``); their weight decay adds ``wd x~`` to the gradient, which is this class on the loss
    ``L + (wd/2)||x||^2``; they accept ``nesterov`` and ignore it.
    """

    momentum: Any = field(default=0.9, kw_only=True)
    kind: ClassVar[str] = "msam"
    ascent: ClassVar[str | None] = "momentum"
    reads_state: ClassVar[bool] = True
    hyperparameter_help: ClassVar[dict[str, str]] = {
        "momentum": "MSAM's momentum, whose velocity also sets the direction of its perturbation (in [0, 1); "
                    "default 0.9)"}

    def has_momentum(self) -> bool:
        return True  # the velocity is its ascent direction, even where momentum = 0

    def advance(self, landscape, x, state, step, noise):
        batch = noise.batch(step, self.batch_size)
        d = landscape.grad(momentum_ascent(x, state["velocity"], self.rho), batch=batch)
        return self.momentum_step(x, state, d)


@dataclass(frozen=True, eq=False)
class LookSAM(_Perturbed):
    """SAM every ``period`` steps; in between the gradient plus the direction the last SAM step stored (one gradient)::

        t % period == 0:  g_adv = grad L_xi(x + rho g/||g||),   g_v <- g_adv - (g_adv . u) u,   d = g_adv
        otherwise:        d = g + alpha (||g||/||g_v||) g_v
        x <- x - lr d

    with ``g = grad L_xi(x)`` and ``u = g/||g||``, from Liu, Mai, Chen, Hsieh & You, "Towards Efficient and Scalable
    Sharpness-Aware Minimization" (CVPR 2022, arXiv:2203.02714). ``g_v``, the part of SAM's gradient orthogonal to
    ``g`` (the state ``"orthogonal_gradient"``), starts at 0, and a zero ``g_v`` adds nothing (the zero-gradient
    convention, :func:`unit`; ``u = 0`` where ``g = 0``). ``t`` is the run's step number, so a continued run keeps
    the phase, and a :class:`Switch` to LookSAM at a step that is not a multiple of ``period`` takes gradient steps
    until its first SAM step. ``period=1`` is SAM; in one dimension ``g_v = 0``, so it is SAM every ``period`` steps and
    gradient descent in between. With ``momentum`` the heavy ball runs along ``d``.

    The paper normalizes the reuse step per layer (as do the public implementations); a toy landscape has no layers,
    so both norms here are over all coordinates. Defaults: ``period=5``, the ``k`` of the LookSAM class in the MSAM
    authors' code (MarlonBecker/MSAM, ``optimizer/looksam.py``), and ``alpha=0.7``, their configuration's
    (``configs/default.ini``).
    """

    period: int = field(default=5, kw_only=True)
    alpha: Any = field(default=0.7, kw_only=True)
    kind: ClassVar[str] = "looksam"
    ascent: ClassVar[str | None] = "periodic"
    reads_state: ClassVar[bool] = True
    per_start: ClassVar[tuple[str, ...]] = ("lr", "rho", "alpha")
    kernel_constants: ClassVar[tuple[str, ...]] = ("period",)
    hyperparameter_help: ClassVar[dict[str, str]] = {
        "period": "LookSAM's steps from one SAM step to the next, which refreshes its stored direction "
                  "(>= 1; default 5)",
        "alpha": "LookSAM's weight of its stored direction in the steps between its SAM steps (>= 0; default 0.7)"}
    hyperparameter_checks: ClassVar[dict[str, str]] = {"period": "count", "alpha": "nonnegative"}

    def state_names(self) -> tuple[str, ...]:
        return ("orthogonal_gradient",) + super().state_names()

    def update(self, landscape, x, step, noise):
        raise ValueError(f"{self.describe()} carries the direction of its last SAM step between steps, so it has "
                         "no stateless update: step it with advance(landscape, x, state, step, noise) or through a "
                         "Stepper")

    def advance(self, landscape, x, state, step, noise):
        batch = noise.batch(step, self.batch_size)
        g = landscape.grad(x, batch=batch)
        if step % self.period == 0:
            # SAM's step, from the g at hand (as _Redirected's)
            d = landscape.grad(x + self.rho * unit(g), batch=batch)
            state = {**state, "orthogonal_gradient": orthogonal_part(d, g)}
        else:
            d = reuse_direction(g, state["orthogonal_gradient"], self.alpha)
        return self.momentum_step(x, state, d)


@dataclass(frozen=True, eq=False)
class Switch(Optimizer):
    """Run ``first`` for steps ``[0, at)`` and ``second`` from step ``at`` on.

    SGD->SAM late switching (P3) is ``Switch(SGD(...), SAM(...), at=t)``; P1's warm start is
    ``Switch(GD(...), SAM(...), at=steps // 10)``. ``at`` counts from the run's step 0 (a continued run's too).

    ``state`` says what happens to the state the parts carry (the velocity of momentum) at step ``at``:
    ``"keep"`` (the default) hands it on, so ``second`` starts with the velocity ``first`` built (or with zeros
    where ``first`` carried none); ``"reset"`` zeroes every state array there.
    """

    first: Optimizer
    second: Optimizer
    at: int
    state: str = "keep"
    kind: ClassVar[str] = "switch"
    per_start: ClassVar[tuple[str, ...]] = ()
    parts: ClassVar[tuple[str, ...]] = ("first", "second")

    def __post_init__(self):
        for label in self.parts:
            check_optimizer(getattr(self, label), label)
        object.__setattr__(self, "at", int_at_least(self.at, "at", 0))
        choice(self.state, "state", SWITCH_STATES)

    def active(self, step: int) -> Optimizer:
        return self.first if step < self.at else self.second

    def update(self, landscape, x, step, noise):
        return self.active(step).update(landscape, x, step, noise)

    def state_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.first.state_names() + self.second.state_names()))

    def advance(self, landscape, x, state, step, noise):
        if step == self.at and self.state == "reset":
            state = {name: np.zeros_like(array) for name, array in state.items()}
        return self.active(step).advance(landscape, x, state, step, noise)


# What a Switch may do with the state at its step (see Switch.state).
SWITCH_STATES = ("keep", "reset")


def plain_kinds() -> tuple[str, ...]:
    """The kinds of the registered optimizers that are not built from others (every kind but a Switch's), in the
    order they were registered: the choices of every menu and flag. Read when asked, so that a class defined after
    samscape was imported is among them."""
    return tuple(kind for kind, cls in OPTIMIZERS.items() if not cls.composite())


def optimizer_from_kind(kind: str, lr, *, rho=None, batch_size=None, **hyperparameters) -> Optimizer:
    """The plain optimizer ``kind`` from the values a menu, a link or a set of flags holds, each passed only to a
    class that takes it: ``rho`` to one with a ``rho`` field (``None``: :data:`DEFAULT_RHO`), ``batch_size`` to one
    with a ``batch_size`` field (``None``: the full batch, or one sample per step where a batch size is required),
    and every other hyperparameter (``alpha``, ``steps_ascent``, ``eta_a``, ...) that is not ``None`` to a class
    with that field (``None`` or absent: the class's default).
    Whether a value that the class does not take is a mistake is the caller's to say (a flag, say)."""
    cls = OPTIMIZERS[choice(kind, "optimizer", plain_kinds())]
    values = {name: value for name, value in hyperparameters.items() if value is not None and cls.takes(name)}
    if cls.takes("rho"):
        values["rho"] = DEFAULT_RHO if rho is None else rho
    rule = cls.batch_rule()
    if rule is not None:
        values["batch_size"] = 1 if rule == "required" and batch_size is None else batch_size
    return cls(lr=lr, **values)


def optimizer_from_dict(data: dict[str, Any]) -> Optimizer:
    """Rebuild an optimizer from :meth:`Optimizer.to_dict`."""
    data = dict(data)
    cls = OPTIMIZERS[choice(data.pop("kind", None), "optimizer kind", sorted(OPTIMIZERS))]
    for name in cls.parts:
        data[name] = optimizer_from_dict(data[name])
    return cls(**data)
