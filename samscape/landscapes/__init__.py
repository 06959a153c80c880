"""Analytic loss landscapes: value, gradient and Hessian (exact, from SymPy), finite sums, a catalog."""

from .core import Landscape, from_expr
from .catalog import describe, from_spec, get, names
from ._parse import normalize_name

__all__ = ["Landscape", "from_expr"]
__all__ += ["describe", "from_spec", "get", "names", "normalize_name"]
