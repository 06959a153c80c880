"""Analytic loss landscapes: value, gradient and Hessian (exact, from SymPy), finite sums, a catalog."""

from .core import Landscape, from_expr, spec_json

__all__ = ["Landscape", "from_expr", "spec_json"]
