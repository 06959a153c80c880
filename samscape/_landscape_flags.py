"""The landscape flags of the command line (``--landscape NAME --param K=V`` or ``--expr EXPR --vars u,v --sample
NAME=V1,V2``), shared by ``samscape simulate`` and ``samscape sweep``.

It sits below both commands (it needs only the landscapes' face), as :mod:`samscape._starts` does for ``--starts``,
so the sweep's command line reads a landscape the way ``samscape simulate`` does without importing the main
command.
"""

from __future__ import annotations

from . import landscapes


def add_landscape_flags(parser) -> None:
    """``--landscape``, ``--param``, ``--expr``, ``--vars`` and ``--sample`` on ``parser`` (an argparse parser)."""
    parser.add_argument("--landscape", metavar="NAME", help="catalog name (see `samscape list`); or give --expr")
    parser.add_argument("--param", action="append", default=[], metavar="K=V",
                        help="catalog parameter, repeatable; a list is comma-separated (xs=0.6,1.0; one element: "
                             "xs=2,); default: the entry's own (see `samscape list NAME`)")
    parser.add_argument("--expr", help="a loss expression, e.g. '0.5*tanh(v*tanh(u))**2'; instead of --landscape")
    parser.add_argument("--vars", help="the variables of --expr, comma-separated, e.g. u,v")
    parser.add_argument("--sample", action="append", default=[], metavar="NAME=V1,V2,...",
                        help="a data column of --expr (repeatable): the loss is the mean over the rows")


def parse_param(text: str) -> tuple[str, object]:
    """``k=v`` -> (k, value) where value is a float, an int, or a comma-separated tuple of floats."""
    if "=" not in text:
        raise ValueError(f"--param must look like name=value, got {text!r}")
    key, raw = text.split("=", 1)
    key, raw = key.strip(), raw.strip()
    try:
        if "," in raw:
            return key, tuple(float(v) for v in raw.split(",") if v.strip())
        number = float(raw)
        return key, int(number) if number.is_integer() and "." not in raw and "e" not in raw.lower() else number
    except ValueError:
        raise ValueError(f"--param {key} must be a number or comma-separated numbers, got {raw!r}") from None


def format_param(value) -> str:
    """A parameter value as ``--param`` spells it (the inverse of :func:`parse_param`): a list is comma-separated
    and a one-element list keeps a trailing comma (``2,``)."""
    if isinstance(value, (tuple, list)):
        text = ",".join(f"{float(v):g}" for v in value)
        return text + "," if len(value) == 1 else text
    return f"{value:g}" if isinstance(value, float) else str(value)


def _catalog_params(name: str, items: list[str]) -> dict:
    """``--param`` items for catalog entry ``name``; a number given where the entry takes a list is refused with
    the spelling of a one-element list."""
    defaults = landscapes.describe(name)["params"]
    params = {}
    for item in items:
        key, value = parse_param(item)
        if isinstance(defaults.get(key), (tuple, list)) and not isinstance(value, tuple):
            raise ValueError(f"--param {key} takes a list, and a one-element list is written with a trailing "
                             f"comma: {key}={format_param((value,))} (got {item!r})")
        params[key] = value
    return params


def build_landscape(args):
    """The landscape the flags of :func:`add_landscape_flags` describe (one sentence naming the flag when they do
    not describe one)."""
    if args.expr is not None:
        if args.landscape is not None:
            raise ValueError("give either --landscape NAME or --expr EXPR, not both")
        if not args.vars:
            raise ValueError("--expr needs --vars, e.g. --vars u,v")
        samples = {}
        for item in args.sample:
            key, values = parse_param(item)
            samples[key] = values if isinstance(values, tuple) else (values,)
        return landscapes.from_expr(args.expr, args.vars, samples=samples or None)
    if args.sample:
        raise ValueError("--sample goes with --expr; catalog landscapes take their data through --param")
    if args.landscape is None:
        raise ValueError("give --landscape NAME (see `samscape list`) or --expr EXPR --vars u,v")
    return landscapes.get(args.landscape, **_catalog_params(args.landscape, args.param))
