"""Turn a user's expression string into a SymPy expression without ever calling ``eval``.

SymPy's ``sympify``/``parse_expr`` run ``eval`` on the string, so a hostile string must never reach them.
We parse with :func:`ast.parse` (which only builds a syntax tree, it executes nothing), walk the tree
against a whitelist and build the SymPy expression node by node ourselves.

Every subexpression without a symbol is also evaluated in float64 as the tree is built, before SymPy
sees it, and refused if it overflows or is not real. SymPy keeps such numbers exact and symbolic
(``exp(exp(20))``), and comparing or printing them later makes mpmath work to a precision that grows
with their size: minutes for a 22-character string. A number a float64 cannot hold is useless to a loss
evaluated in float64 anyway.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import sys
import unicodedata
import warnings

import sympy as sp

MAX_EXPR_CHARS = 5000
MAX_EXPR_DEPTH = 60
MAX_EXPONENT = 1000
MAX_PIECE_CHARS = 60  # longer pieces of the user's text are cut short in messages
MAX_NAME_CHARS = 100  # a variable or data column name
MAX_NAMES = 1000  # variables, and data columns: a Hessian of more variables is beyond the derivative budget anyway
FLOAT_MAX = sys.float_info.max

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
# The same functions in float64, for the symbol-free subexpressions (math raises OverflowError or
# ValueError where the float result would be infinite or complex).
_FLOAT_FUNCTIONS = {
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "tanh": math.tanh,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "abs": abs,
    "Abs": abs,
    "atan": math.atan,
}
CONSTANTS = {"pi": sp.pi, "E": sp.E}
_FLOAT_CONSTANTS = {"pi": math.pi, "E": math.e}
RESERVED = set(FUNCTIONS) | set(CONSTANTS)

_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
_FLOAT_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: math.pow,
}
# operators that may be chained a + b - c ... (or a * b / c ...) as one flat level
_CHAINS = {ast.Add: "sum", ast.Sub: "sum", ast.Mult: "product", ast.Div: "product"}
_UNARY = {ast.UAdd: lambda a: a, ast.USub: lambda a: -a}


def normalize_name(name: str) -> str:
    """The form Python gives an identifier when it parses one (NFKC), so ``µ`` (U+00B5) typed in a list of
    variables and ``µ`` typed in the expression (which ``ast`` reads as ``μ``, U+03BC) are the same name."""
    return unicodedata.normalize("NFKC", name)


# The one rule for the names of variables and data columns, quoted by every refusal: a name is what Python accepts
# as an identifier in the expression text, read as Python reads it (NFKC), so every name that can be declared can
# be typed in the expression, in either spelling.
NAME_RULE = (f"a name is a Python identifier of at most {MAX_NAME_CHARS} characters: letters of any script, digits "
             "and underscores, not starting with a digit or an underscore, read as Python reads it (NFKC, so "
             "'\u2113' is 'l' and '\u00b5' is '\u03bc'); subscripts, superscripts and other symbols are not letters "
             "(write x1, not x\u2081)")


def _not_allowed(name: str) -> str:
    """The first character of ``name`` that keeps it from being an identifier, described for a message."""
    for position, char in enumerate(name):
        if not (char.isidentifier() if position == 0 else ("a" + char).isidentifier()):
            label = unicodedata.name(char, f"U+{ord(char):04X}")
            where = "cannot start one" if position == 0 and ("a" + char).isidentifier() else "cannot be part of one"
            return f"{char!r} ({label}) {where}"
    return f"{normalize_name(name)!r}, its NFKC form, is not one"


def check_symbol_name(name: str, role: str) -> str:
    """Return ``name`` in normal form (:func:`normalize_name`) if it can serve as a variable or data column (see
    :data:`NAME_RULE`), else raise ``ValueError`` naming the rule."""
    if not isinstance(name, str):
        raise ValueError(f"{role} name must be a string; {NAME_RULE}; got {type(name).__name__}")
    if len(name) > MAX_NAME_CHARS:  # before any work on it: a name may be megabytes long
        raise ValueError(f"{role} name {shorten(name)!r} is {len(name):,} characters long; {NAME_RULE}")
    if not name.isidentifier() or not normalize_name(name).isidentifier():
        raise ValueError(f"{role} name {name!r} is not an identifier: {_not_allowed(name)}; {NAME_RULE}")
    normal = normalize_name(name)
    if keyword.iskeyword(normal):
        raise ValueError(f"{role} name must be a plain identifier, not a Python keyword, got {name!r}")
    if normal.startswith("_"):
        raise ValueError(f"{role} name must not start with an underscore, got {name!r}; {NAME_RULE}")
    if normal in RESERVED:
        raise ValueError(f"{role} name {name!r} is reserved for a function or constant; choose another name")
    return normal


def number_out_of_range(number: sp.Number) -> str | None:
    """Why SymPy's exact ``number`` is no float64 (too large, or a fraction whose numerator or denominator is),
    or ``None`` if it is one. Never writes the number out: it may have more digits than Python will print."""
    parts = (number.p, number.q) if number.is_Rational else (number,)
    for part in parts:
        try:
            if math.isfinite(float(part)):
                continue
        except OverflowError:
            pass
        if number.is_Integer:
            return f"a number with {_digits(part)} digits, too large for a float64 (at most about {FLOAT_MAX:.3g})"
        if number.is_Rational:
            return (f"an exact fraction whose {'numerator' if part == number.p else 'denominator'} has {_digits(part)} "
                    f"digits, beyond what a float64 holds (at most about {FLOAT_MAX:.3g})")
        return f"a number of about 1e{float(sp.log(abs(number), 10).evalf(15)):.0f}, too large for a float64"
    return None


def _digits(integer: int) -> int:
    return int(math.log10(abs(integer))) + 1


def shorten(text: str) -> str:
    return text if len(text) <= MAX_PIECE_CHARS else text[: MAX_PIECE_CHARS - 3] + "..."


def _check_text(text: str) -> None:
    """Refuse what ``ast.parse`` would fail on with a message that does not name the input."""
    for position, char in enumerate(text):
        if "\ud800" <= char <= "\udfff":
            raise ValueError(
                f"expr contains the lone surrogate {char!r} at position {position}, which is not a character; "
                "pass the expression as valid Unicode text"
            )
        if char == "\x00":
            raise ValueError(f"expr contains a null character at position {position}; remove it")


def _literal_too_long(text: str) -> str | None:
    """The first decimal integer literal too long for Python to convert (``sys.get_int_max_str_digits``)."""
    limit = sys.get_int_max_str_digits()
    if limit == 0:
        return None
    for match in re.finditer(r"(?<![\w.])[0-9][0-9_]*(?![\w.])", text):
        if len(match.group().replace("_", "")) > limit:
            return match.group()
    return None


def parse_expression(text: str, symbols: dict[str, sp.Symbol]) -> sp.Expr:
    """Parse ``text`` into a SymPy expression over ``symbols`` (normalized name -> Symbol).

    Allowed: numbers, the names in ``symbols``, ``+ - * / **``, parentheses, unary minus, the functions
    ``sin cos tan exp log sqrt tanh sinh cosh abs Abs atan`` (one positional argument) and the constants
    ``pi`` and ``E``. Every subexpression without a symbol must be a real number that fits a float64.
    Anything else raises ``ValueError`` naming the offending piece of text.
    """
    if not isinstance(text, str):
        raise ValueError(f"expr must be a string or a SymPy expression, got {type(text).__name__}")
    if len(text) > MAX_EXPR_CHARS:
        raise ValueError(f"expr is {len(text)} characters long; at most {MAX_EXPR_CHARS} are allowed")
    if not text.strip():
        raise ValueError("expr must not be empty")
    _check_text(text)
    try:
        with warnings.catch_warnings():  # e.g. "invalid decimal literal" for 1if: the ValueError below says it
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        literal = _literal_too_long(text)
        if literal is not None:
            raise ValueError(
                f"expr contains a number with {len(literal.replace('_', ''))} digits ({shorten(literal)!r}); "
                f"a float64 holds at most about {FLOAT_MAX:.3g}"
            ) from None
        raise ValueError(
            f"expr is not a valid expression ({err.msg} at column {err.offset}): {shorten(text)!r}"
        ) from None
    except (RecursionError, MemoryError):
        raise ValueError("expr is nested too deeply to parse") from None
    builder = _Builder(text.strip(), symbols)
    return builder.build(tree.body, depth=0)[0]


class _Builder:
    """Builds the SymPy expression bottom-up; :meth:`build` returns ``(expr, number)`` where ``number`` is the
    float64 value of a symbol-free subexpression and ``None`` for one that depends on a symbol."""

    def __init__(self, source: str, symbols: dict[str, sp.Symbol]):
        self.source = source
        self.symbols = symbols

    def _piece(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.source, node)
        return shorten(segment) if segment is not None else type(node).__name__

    def _refuse(self, node: ast.AST, why: str) -> ValueError:
        allowed = ", ".join(sorted(self.symbols)) or "none"
        return ValueError(
            f"expr contains {self._piece(node)!r}, which is not allowed ({why}); allowed are numbers, "
            f"the symbols [{allowed}], + - * / **, parentheses and the functions "
            f"{', '.join(sorted(FUNCTIONS))} and constants pi, E"
        )

    def _refuse_number(self, node: ast.AST, why: str) -> ValueError:
        return ValueError(f"expr contains {self._piece(node)!r}, {why}")

    def _float(self, node: ast.AST, compute, *operands: float) -> float:
        """``compute(*operands)`` in float64, or the refusal that says why the exact number is no float."""
        try:
            number = compute(*operands)
        except OverflowError:
            number = math.inf
        except ZeroDivisionError:
            raise self._refuse_number(node, "which divides by zero (or by a number too small for a float64)") from None
        except ValueError:  # math's domain errors: log or sqrt of a negative number, (-8)**(1/3), 0**-1
            if any(value == 0 for value in operands):
                raise self._refuse_number(node, "which is not finite") from None
            raise self._refuse_number(node, "which is a non-real constant; a loss must be real-valued") from None
        if not math.isfinite(number):
            raise self._refuse_number(
                node, f"which is too large for a float64 (whose magnitude is at most about {FLOAT_MAX:.3g})"
            )
        return number

    def _exact(self, node: ast.AST, make, number: float) -> sp.Expr:
        """SymPy's exact form of a symbol-free node, which must fit a float64 as well:
        (10**300/(10**300 + 1))**1000 is about 1, but as an exact fraction it has 300,000 digits.

        SymPy simplifies functions of numbers as it builds them, and for some it cannot decide a comparison
        (atan(tan(10**300)) raises TypeError, which SymPy's cache turns into an AttributeError); such a node is
        kept as its float64 value, which is what the loss would use anyway."""
        try:
            result = make()
        except (TypeError, AttributeError, ValueError, ArithmeticError):
            return sp.Float(number)
        problem = number_out_of_range(result) if result.is_Rational else None
        if problem:
            raise self._refuse_number(node, f"which is {problem}")
        return result

    def _check_power(self, node: ast.AST, exponent: float | None) -> None:
        """Refuse numeric exponents so large that SymPy would work on enormous exact numbers or polynomials."""
        if exponent is not None and abs(exponent) > MAX_EXPONENT:
            raise self._refuse(node, f"a numeric exponent must lie in [-{MAX_EXPONENT}, {MAX_EXPONENT}]")

    def build(self, node: ast.AST, depth: int) -> tuple[sp.Expr, float | None]:
        if depth > MAX_EXPR_DEPTH:
            raise ValueError(f"expr is nested more than {MAX_EXPR_DEPTH} levels deep")
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self._refuse(node, "only real numbers are allowed as literals")
            number = self._float(node, float, value)
            if isinstance(value, int):
                return sp.Integer(value), number
            return sp.Float(value), number
        if isinstance(node, ast.Name):
            if node.id in self.symbols:
                return self.symbols[node.id], None
            if node.id in CONSTANTS:
                return CONSTANTS[node.id], _FLOAT_CONSTANTS[node.id]
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
            result, number = self.build(head, depth + 1)
            for link in reversed(links):
                op = _BINARY.get(type(link.op))
                if op is None:
                    hint = "; write powers as **" if isinstance(link.op, ast.BitXor) else ""
                    raise self._refuse(link, f"operator {type(link.op).__name__} is not allowed{hint}")
                right, right_number = self.build(link.right, depth + 1)
                if isinstance(link.op, ast.Pow):
                    self._check_power(link, right_number)
                # the float first: SymPy must never see a number that does not fit
                if number is not None and right_number is not None:
                    number = self._float(link, _FLOAT_BINARY[type(link.op)], number, right_number)
                    result = self._exact(link, lambda: op(result, right), number)
                else:
                    number = None
                    result = op(result, right)
            return result, number
        if isinstance(node, ast.UnaryOp):
            op = _UNARY.get(type(node.op))
            if op is None:
                raise self._refuse(node, f"operator {type(node.op).__name__} is not allowed")
            operand, number = self.build(node.operand, depth + 1)
            return op(operand), None if number is None else op(number)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise self._refuse(node.func, "only the listed elementary functions may be called")
            if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
                raise self._refuse(node, "a function takes exactly one positional argument")
            argument, number = self.build(node.args[0], depth + 1)
            function = FUNCTIONS[node.func.id]
            if number is None:
                return function(argument), None
            number = self._float(node, _FLOAT_FUNCTIONS[node.func.id], number)
            return self._exact(node, lambda: function(argument), number), number
        if isinstance(node, ast.Attribute):
            raise self._refuse(node, "attribute access is not allowed")
        if isinstance(node, ast.Subscript):
            raise self._refuse(node, "indexing is not allowed")
        if isinstance(node, ast.Lambda):
            raise self._refuse(node, "lambda is not allowed")
        raise self._refuse(node, f"{type(node).__name__} syntax is not allowed")
