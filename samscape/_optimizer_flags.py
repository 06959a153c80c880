"""The optimizer flags of the command line, shared by ``samscape simulate`` and ``samscape sweep``: one flag per
hyperparameter of the registered optimizer classes beyond ``--lr``, ``--rho`` and ``--batch-size``, read off the
classes (:func:`samscape.dynamics.other_hyperparameters`), so a class that adds a field (``eta_a``, ``momentum``)
gets its flag in both commands with no list to edit.

It sits below both commands (it needs only the dynamics' face), as :mod:`samscape._landscape_flags` does for the
landscape flags.
"""

from __future__ import annotations

from . import dynamics


def optimizer_flag_help(name: str) -> str:
    """The help of the flag of hyperparameter ``name`` (beyond lr, rho and batch size): each class's sentence for
    it, after the kinds it applies to (one part per meaning: ``alpha`` is a step size in one class and a weight in
    others), or "every optimizer" when all take it (``every optimizer but msam: ...; msam: ...`` where a few of
    them give it a meaning of their own)."""
    takers = dynamics.other_hyperparameters()[name]
    by_help: dict[str, list[str]] = {}
    for kind, hyper in takers:
        by_help.setdefault(hyper.help, []).append(kind)
    groups = [(", ".join(kinds), text) for text, kinds in by_help.items()]
    if len(takers) == len(dynamics.plain_kinds()):
        # every class takes it: the meaning most share reads "every optimizer" (but the few with their own meaning)
        common = max(by_help, key=lambda text: len(by_help[text]))
        others = [kind for text, kinds in by_help.items() if text != common for kind in kinds]
        groups = [(f"every optimizer{' but ' + ', '.join(others) if others else ''}", common)]
        groups += [(", ".join(kinds), text) for text, kinds in by_help.items() if text != common]
    return "; ".join(f"{who}: {text}" for who, text in groups)


def add_optimizer_flags(parser, *, grid: bool = False) -> None:
    """One flag per hyperparameter of the registered plain optimizers beyond lr, rho and batch size
    (``--steps-ascent``, ``--eta-a``, ``--momentum``, ``--nesterov``, ...), read off the classes
    (:func:`samscape.dynamics.other_hyperparameters`): a switch for a ``bool`` field, a number otherwise (a list of
    values with ``grid``, read by the caller), typed by the field."""
    for name, takers in dynamics.other_hyperparameters().items():
        hyper = takers[0][1]
        text = optimizer_flag_help(name)
        if hyper.type is bool:
            parser.add_argument(hyper.flag, dest=name, action="store_true", default=None, help=text)
        elif grid:
            # a kernel constant is one value per block: each value is a compiled kernel of its own
            each = "; each value compiles a kernel of its own" if any(h.kernel_constant for _, h in takers) else ""
            parser.add_argument(hyper.flag, dest=name, default=None, metavar="K1,K2" if hyper.type is int else "A:B:N",
                                help=f"{text}; values in the forms of --lr{each}")
        else:
            parser.add_argument(hyper.flag, dest=name, type=hyper.type, default=None, help=text)


def refuse_flags_not_taken(args, kind: str, names) -> None:
    """A flag of ``names`` given (not ``None``) for an optimizer ``kind`` that does not take it is refused in one
    sentence naming the flag, the optimizer and the kinds that take it."""
    cls = dynamics.OPTIMIZERS[kind]
    for name in names:
        if getattr(args, name, None) is not None and not cls.takes(name):
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"{flag} applies to {', '.join(dynamics.kinds_taking(name))}, not to --optimizer {kind}")
