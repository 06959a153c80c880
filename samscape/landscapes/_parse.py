"""Turn a user's expression string into a SymPy expression without ever calling ``eval``.

SymPy's ``sympify``/``parse_expr`` run ``eval`` on the string, so a hostile string must never reach them.
We parse with :func:`ast.parse` (which only builds a syntax tree, it executes nothing), walk the tree
against a whitelist and build the SymPy expression node by node ourselves.
"""

from __future__ import annotations

import ast
import keyword
import math

import sympy as sp

MAX_EXPR_CHARS = 5000
MAX_EXPR_DEPTH = 60
MAX_EXPONENT = 1000
MAX_RESULT_DIGITS = 308  # beyond this a number is not a float anyway

FUNCTIONS = {
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "tanh": sp.tanh,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "abs": sp.Abs,
    "Abs": sp.Abs,
    "atan": sp.atan,
}
CONSTANTS = {"pi": sp.pi, "E": sp.E}
RESERVED = set(FUNCTIONS) | set(CONSTANTS)

_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
# operators that may be chained a + b - c ... (or a * b / c ...) as one flat level
_CHAINS = {ast.Add: "sum", ast.Sub: "sum", ast.Mult: "product", ast.Div: "product"}
_UNARY = {ast.UAdd: lambda a: a, ast.USub: lambda a: -a}


def check_symbol_name(name: str, role: str) -> str:
    """Return ``name`` if it can serve as a variable or data column, else raise ``ValueError``."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{role} name must be a plain identifier, got {name!r}")
    if name.startswith("_"):
        raise ValueError(f"{role} name must not start with an underscore, got {name!r}")
    if name in RESERVED:
        raise ValueError(f"{role} name {name!r} is reserved for a function or constant; choose another name")
    return name


def parse_expression(text: str, symbols: dict[str, sp.Symbol]) -> sp.Expr:
    """Parse ``text`` into a SymPy expression over ``symbols`` (name -> Symbol).

    Allowed: numbers, the names in ``symbols``, ``+ - * / **``, parentheses, unary minus, the functions
    ``sin cos tan exp log sqrt tanh sinh cosh abs Abs atan`` (one positional argument) and the constants
    ``pi`` and ``E``. Anything else raises ``ValueError`` naming the offending piece of text.
    """
    if not isinstance(text, str):
        raise ValueError(f"expr must be a string or a SymPy expression, got {type(text).__name__}")
    if len(text) > MAX_EXPR_CHARS:
        raise ValueError(f"expr is {len(text)} characters long; at most {MAX_EXPR_CHARS} are allowed")
    if not text.strip():
        raise ValueError("expr must not be empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ValueError(f"expr is not a valid expression ({err.msg} at column {err.offset}): {text!r}") from None
    except (RecursionError, MemoryError):
        raise ValueError("expr is nested too deeply to parse") from None
    builder = _Builder(text.strip(), symbols)
    return builder.build(tree.body, depth=0)


class _Builder:
    def __init__(self, source: str, symbols: dict[str, sp.Symbol]):
        self.source = source
        self.symbols = symbols

    def _piece(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.source, node)
        return segment if segment is not None else type(node).__name__

    def _refuse(self, node: ast.AST, why: str) -> ValueError:
        allowed = ", ".join(sorted(self.symbols)) or "none"
        return ValueError(
            f"expr contains {self._piece(node)!r}, which is not allowed ({why}); allowed are numbers, "
            f"the symbols [{allowed}], + - * / **, parentheses and the functions "
            f"{', '.join(sorted(FUNCTIONS))} and constants pi, E"
        )

    def _check_power(self, node: ast.AST, base: sp.Expr, exponent: sp.Expr) -> None:
        """Refuse numeric powers whose exact value SymPy would spend minutes and gigabytes computing."""
        if not exponent.is_Number:
            return
        if abs(float(exponent)) > MAX_EXPONENT:
            raise self._refuse(node, f"a numeric exponent must lie in [-{MAX_EXPONENT}, {MAX_EXPONENT}]")
        if base.is_Number and base != 0:
            digits = abs(float(exponent)) * float(sp.log(abs(base), 10).evalf(15))
            if abs(digits) > MAX_RESULT_DIGITS:
                raise self._refuse(node, f"the number would have about {abs(digits):.3g} digits; at most {MAX_RESULT_DIGITS} fit in a float")

    def build(self, node: ast.AST, depth: int) -> sp.Expr:
        if depth > MAX_EXPR_DEPTH:
            raise ValueError(f"expr is nested more than {MAX_EXPR_DEPTH} levels deep")
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self._refuse(node, "only real numbers are allowed as literals")
            if isinstance(value, float) and not math.isfinite(value):
                raise self._refuse(node, "the number is not finite")
            if isinstance(value, int):
                return sp.Integer(value)
            return sp.Float(value)
        if isinstance(node, ast.Name):
            if node.id in self.symbols:
                return self.symbols[node.id]
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            if node.id in FUNCTIONS:
                raise self._refuse(node, "a function name must be called with one argument")
            raise self._refuse(node, "unknown name; declare it as a variable or a data column")
        if isinstance(node, ast.BinOp):
            # a + b + c + ... parses as a chain leaning left; walk it without recursion so a long flat sum
            # or product is not mistaken for deep nesting
            group = _CHAINS.get(type(node.op))
            links = [node]
            head = node.left
            while group and isinstance(head, ast.BinOp) and _CHAINS.get(type(head.op)) == group:
                links.append(head)
                head = head.left
            result = self.build(head, depth + 1)
            for link in reversed(links):
                op = _BINARY.get(type(link.op))
                if op is None:
                    hint = "; write powers as **" if isinstance(link.op, ast.BitXor) else ""
                    raise self._refuse(link, f"operator {type(link.op).__name__} is not allowed{hint}")
                right = self.build(link.right, depth + 1)
                if isinstance(link.op, ast.Pow):
                    self._check_power(link, result, right)
                result = op(result, right)
            return result
        if isinstance(node, ast.UnaryOp):
            op = _UNARY.get(type(node.op))
            if op is None:
                raise self._refuse(node, f"operator {type(node.op).__name__} is not allowed")
            return op(self.build(node.operand, depth + 1))
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise self._refuse(node.func, "only the listed elementary functions may be called")
            if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
                raise self._refuse(node, "a function takes exactly one positional argument")
            return FUNCTIONS[node.func.id](self.build(node.args[0], depth + 1))
        if isinstance(node, ast.Attribute):
            raise self._refuse(node, "attribute access is not allowed")
        if isinstance(node, ast.Subscript):
            raise self._refuse(node, "indexing is not allowed")
        if isinstance(node, ast.Lambda):
            raise self._refuse(node, "lambda is not allowed")
        raise self._refuse(node, f"{type(node).__name__} syntax is not allowed")
