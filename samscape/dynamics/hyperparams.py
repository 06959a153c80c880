"""The hyperparameters of the optimizer classes, read off their dataclass fields.

Every view of them derives from here: the flags of ``samscape simulate`` and ``samscape sweep``, the explorer's
controls and link parameters, the sweep's grid checks. A class that adds a field (a variant's ``eta_a``, the
momentum every optimizer takes) appears in all of them with no list to edit.

A hyperparameter's type is read off its field: a ``bool`` default (or annotation) is a switch, an ``int`` one (or an
annotation ``int``/``int | None``) a count, anything else a real number. Its help is the class's
``hyperparameter_help`` (merged along the class's bases, so a base may describe a field all its subclasses have),
else the sentence below for the fields many classes share.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

from .optimizers import OPTIMIZERS, Optimizer, plain_kinds

# The fields every menu handles by name (the step size and the radius have sliders, a batch size its own box), so
# the menus that list "the other hyperparameters" leave them out.
COMMON = ("lr", "rho", "batch_size")

# The help of fields that many classes share, where a class does not describe them itself.
SHARED_HELP = {
    "lr": "learning rate (step size)",
    "rho": "perturbation radius of the ascent",
    "batch_size": "samples per stochastic gradient, drawn with replacement (none: the full batch)",
    "momentum": "heavy-ball momentum in [0, 1): v <- momentum v + d, x <- x - lr v, with d the step's direction "
                "(0: none)",
    "nesterov": "Nesterov's form of the momentum: x <- x - lr (d + momentum v) (needs momentum > 0)",
}


@dataclass(frozen=True)
class Hyperparameter:
    """One field of an optimizer class as the menus see it.

    ``type`` is ``float``, ``int``, ``bool`` or ``str`` (what a flag, a control or a grid value is read as);
    ``default`` is the class's (``None`` where there is none, ``required`` then, or where ``None`` means "follow another field", as
    :class:`~samscape.dynamics.MultiStepSAM`'s ``alpha`` follows ``rho``); ``per_start`` says whether it may hold one
    value per start (in the class's ``per_start``); ``kernel_constant`` whether the generated kernel is written for
    one value of it (a loop count).
    """

    name: str
    type: type
    default: Any
    required: bool
    per_start: bool
    kernel_constant: bool
    help: str

    @property
    def flag(self) -> str:
        """Its command-line flag: ``steps_ascent`` -> ``--steps-ascent``."""
        return "--" + self.name.replace("_", "-")


def _class(optimizer) -> type[Optimizer]:
    if isinstance(optimizer, str):
        return OPTIMIZERS[optimizer]
    return optimizer if isinstance(optimizer, type) else type(optimizer)


def _type_of(field: dataclasses.Field) -> type:
    annotation = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", str(field.type))
    if isinstance(field.default, str) or annotation == "str":  # a word, such as a Switch's state="keep"
        return str
    if isinstance(field.default, bool) or annotation == "bool":
        return bool
    if isinstance(field.default, int) or annotation.split("|")[0].strip() == "int":
        return int
    return float


def help_of(cls: type[Optimizer], name: str) -> str:
    """The sentence that describes hyperparameter ``name`` of ``cls``."""
    merged: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        merged.update(klass.__dict__.get("hyperparameter_help", {}))
    return merged.get(name) or SHARED_HELP.get(name) or f"{name} of {cls.__name__}"


def hyperparameters(optimizer) -> dict[str, Hyperparameter]:
    """The hyperparameters of an optimizer (a kind, a class or an instance), in field order: name ->
    :class:`Hyperparameter`. A composite lists its own fields only (a Switch's ``at`` and ``state``, not its parts)."""
    return dict(_of_class(_class(optimizer)))


@functools.lru_cache(maxsize=None)
def _of_class(cls: type[Optimizer]) -> dict[str, Hyperparameter]:
    # a class's fields and class attributes are set when it is defined: read once (a sweep asks per value)
    found = {}
    for field in dataclasses.fields(cls):
        if field.name in cls.parts:
            continue
        required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        found[field.name] = Hyperparameter(
            name=field.name, type=_type_of(field), default=None if required else field.default, required=required,
            per_start=field.name in cls.per_start, kernel_constant=field.name in cls.kernel_constants,
            help=help_of(cls, field.name))
    return found


def kinds_taking(name: str) -> list[str]:
    """The registered plain kinds that have hyperparameter ``name``, in registry order."""
    return [kind for kind in plain_kinds() if OPTIMIZERS[kind].takes(name)]


def other_hyperparameters() -> dict[str, list[tuple[str, Hyperparameter]]]:
    """Every hyperparameter of the registered plain kinds beyond :data:`COMMON`, in the order first met, with the
    ``(kind, Hyperparameter)`` of each kind that takes it: the flags and controls a menu adds for them."""
    found: dict[str, list[tuple[str, Hyperparameter]]] = {}
    for kind in plain_kinds():
        for name, hyper in hyperparameters(kind).items():
            if name not in COMMON:
                found.setdefault(name, []).append((kind, hyper))
    return found
