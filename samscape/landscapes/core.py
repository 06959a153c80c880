"""Analytic loss landscapes with exact derivatives.

A :class:`Landscape` holds one SymPy expression ``ell(x; d)`` per data point ``d`` (a finite sum
``L(x) = (1/n) sum_i ell(x; d_i)``; ``n = 1`` for a plain function). Its gradient is derived symbolically
when the landscape is built, its Hessian when first asked for; each is compiled once into a :class:`Program`
(lambdify's printer, statements of one form evaluated together) and evaluated vectorized over any leading
shape and over the samples.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from .._tables import Math, html_table, numbers
from ._parse import MAX_NAMES, shorten, check_symbol_name, normalize_name, number_out_of_range, parse_expression

DEFAULT_HALF_WIDTH = 2.0
# Estimated nodes in the gradient (checked when a landscape is built) and in the gradient and Hessian (checked
# when the Hessian is first asked for); see _derivative_size. The estimate is generous for many
# variables (the 60-variable diagonal network estimates 770,000 and takes 2 s), tighter in one variable (a
# product of 60 sines estimates 930,000 and takes 14 s); past this, SymPy's work grows to minutes and hours.
# The catalog's largest entry needs under 10,000.
MAX_DERIVATIVE_SIZE = 1_000_000


def drop_distributions(expr: sp.Expr) -> sp.Expr:
    # d/dz |z| = sign(z) and d/dz sign(z) = 2 DiracDelta(z): the delta is zero almost everywhere and
    # numpy cannot evaluate it, so the compiled Hessian of a kink uses the one-sided value 0 there.
    return expr.replace(lambda e: isinstance(e, sp.DiracDelta), lambda e: sp.Integer(0))


def _exact_number(value: float) -> sp.Expr:
    """An integral data value as a SymPy Integer (so ``tanh(1*u)`` simplifies to ``tanh(u)``), else a Float."""
    value = float(value)
    return sp.Integer(int(value)) if value.is_integer() and abs(value) < 2**53 else sp.Float(value)


class PlaceholderPrinter(NumPyPrinter):
    """lambdify's NumPy printer, with the settings lambdify gives it, printing the symbols in ``names`` as the
    placeholders given there.

    lambdify writes a Python function whose arguments carry the symbols' own names, in a namespace holding
    all of NumPy and the names the printer emits (``e`` for Euler's number, ``sign``, ``arctan``, ...). A
    variable called ``e`` would shadow Euler's number without a word. Placeholders (``__V0__``, which no user
    name can be, since names starting with ``_`` are refused) leave every user name safe. The symbols keep
    their names inside SymPy, so terms and factors are printed in the same order as before.
    """

    def __init__(self, names: dict[sp.Symbol, str]):
        super().__init__({"fully_qualified_modules": False, "inline": True,
                          "allow_unknown_functions": True, "user_functions": {}})
        self._names = names

    def _print_Symbol(self, expr):
        name = self._names.get(expr)
        return name if name is not None else super()._print_Symbol(expr)

    def _print_Integer(self, expr):
        # NumPy turns a Python int beyond int64 into an object array, on which sin() and friends fail; as a
        # float literal it is the very float64 NumPy converts it to where it does work (int * float array)
        if abs(expr.p) >= 2**63:
            return repr(float(expr.p))
        return super()._print_Integer(expr)


def compile_exprs(args: Sequence[sp.Symbol], exprs: Sequence[sp.Expr]):
    """``lambdify(args, exprs, modules="numpy", cse=True)`` with placeholder argument names (see
    :class:`PlaceholderPrinter`): one numpy function returning a list with one array (or bare scalar) per
    expression, whatever the symbols are called."""
    names = {sym: f"__V{k}__" for k, sym in enumerate(args)}
    placeholders = [sp.Symbol(name) for name in names.values()]
    return sp.lambdify(placeholders, list(exprs), modules="numpy", cse=True, printer=PlaceholderPrinter(names))


# Below this many terms of one form, a sum is left to the printed code: gathering and reducing them costs
# a few NumPy calls, which only pays when it replaces more.
MIN_FAMILY = 4
# Multiplying by these is exact, so a template drops them (``1.0*a*b`` is ``a*b``, ``-1.0*y`` is ``-y``).
_UNIT_FLOATS = {sp.Float(1.0): sp.Integer(1), sp.Float(-1.0): sp.Integer(-1)}


def _template(expr: sp.Expr) -> tuple[sp.Expr, list[sp.Symbol]]:
    """``expr`` with its symbols renamed to slots ``_s000000, _s000001, ...``, and the symbols in slot order.

    Two expressions of the same form (``v3*x3`` and ``v7*x7``) get the same template, so one NumPy call can
    evaluate both with the slots holding stacked columns. The slots are numbered in SymPy's own order of the
    symbols and their names sort in that order too, so SymPy orders the factors and terms of the template as
    those of the original: printed, it performs the same operations in the same order. A slot keeps its
    symbol's assumptions, so SymPy rebuilds the renamed expression as it built the original.
    """
    order = sorted(expr.free_symbols, key=sp.default_sort_key)
    slots = {sym: sp.Symbol(f"_s{k:06d}", **sym.assumptions0) for k, sym in enumerate(order)}
    return expr.xreplace(slots).xreplace(_UNIT_FLOATS), order


# Sorts after every character a name can hold (a private-use code point, never a letter); these internal names
# are never printed: every printed symbol is replaced by a placeholder first.
_LAST = "\U0010fffd"


def _numbered(prefix: str):
    """Symbols ``<prefix>000000, <prefix>000001, ...``: their names sort in number order."""
    return (sp.Symbol(f"{prefix}{k:06d}") for k in itertools.count())


def _selector(cols: list[int]):
    """``cols`` of axis -2 as a view where possible: a slice for a run (or a single column, kept as an axis of
    length 1 that broadcasts), else an index array."""
    if len(set(cols)) == 1:
        return slice(cols[0], cols[0] + 1)
    if cols == list(range(cols[0], cols[0] + len(cols))):
        return slice(cols[0], cols[0] + len(cols))
    return np.asarray(cols, dtype=np.intp)


class Program:
    """Several expressions of the variables and data columns, evaluated for many points and samples at once.

    The expressions (a gradient: one per variable) are reduced once with :func:`sympy.cse` into ``temps`` and
    ``outputs`` (the form the compiled backend prints). For NumPy they are then regrouped, because a finite sum
    in many variables makes many statements of one form (``v_k*x_k`` for every ``k``), each a NumPy call on a
    tiny array whose cost is Python's, not the arithmetic's:

    - a sum with at least :data:`MIN_FAMILY` terms of one form is split: the terms become statements and the
      sum one reduction over them;
    - statements whose inputs are ready at the same step (the same *level*), of the same form (see
      :func:`_template`) and reading the same arrays form a group, evaluated by one NumPy expression on
      stacked columns.

    Every value is an array ``(*lead, columns, samples)``: the variables ``x[..., :, None]``, the data
    ``(columns, samples)`` (or ``(..., columns, batch)``; in the column order :attr:`data_order`), and one array
    per group or sum, so broadcasting does the bookkeeping over points, samples and group members. The whole
    plan is one generated function (:attr:`source`), printed as :func:`compile_exprs` prints (lambdify's NumPy
    printer with placeholders) and run in the namespace lambdify gives it.
    """

    def __init__(self, variables: Sequence[sp.Symbol], data_symbols: Sequence[sp.Symbol], exprs: Sequence[sp.Expr],
                 data_order: Sequence[int] | None = None):
        self.n_out = len(exprs)
        # The temporaries' names sort after every user name and among themselves in number order, so SymPy
        # orders the factors of u3*x3*t as those of u0*x0*t and the two share a template (cse's own x0, x1, ...
        # would sort between u3 and y). Factors stay in the order lambdify's x0, x1, ... gave names up to w.
        self.temps, self.outputs = sp.cse(list(exprs), symbols=_numbered(_LAST + "t"), list=False)
        statements, out_syms = self._statements()
        order = list(range(len(data_symbols))) if data_order is None else [int(k) for k in data_order]
        plan = self._plan(statements, out_syms, variables, data_symbols, order)
        if data_order is None:
            # the first plan shows the order in which the groups read the data columns; laid out in that order
            # the reads are slices (views) rather than copies
            first_use = list(dict.fromkeys(order[col] for level in plan[0] for _, specs, _ in level[0]
                                           for bank, cols in specs if bank == 1 for col in cols))
            first_use += [k for k in order if k not in first_use]
            if first_use != order:
                order = first_use
                plan = self._plan(statements, out_syms, variables, data_symbols, order)
        self.data_order = np.asarray(order, dtype=np.intp)
        self.levels, self.gather = plan  # as planned, for inspection
        self.constants = [(row, float(expr)) for row, expr in enumerate(self.outputs) if not expr.free_symbols]
        self._function, self.functions = self._compile(len(variables), len(data_symbols))

    def _compile(self, n_variables: int, n_data: int):
        """One Python function ``(B0, B1, OUT)`` running the whole plan: bank ``k`` is the local ``B<k>``, each group
        one line of printed template with its slots replaced by reads of the banks, each sum one reduction, then
        the outputs written into ``OUT``. Also returns the lambdified templates (one function), which check that
        every template prints and supply the namespace lambdify gives printed code."""
        widths = [n_variables, n_data]
        indices: dict[str, np.ndarray] = {}

        def read(bank: int, cols) -> str:
            sel = _selector(cols)
            if isinstance(sel, slice):
                if sel.start == 0 and sel.stop == widths[bank]:
                    return f"B{bank}"
                return f"B{bank}[..., {sel.start}:{sel.stop}, :]"
            name = f"I{len(indices)}"
            indices[name] = sel
            return f"B{bank}[..., {name}, :]"

        lines, slot_syms, templates = [], [], []
        for groups, sums in self.levels:
            for template, specs, width in groups:
                names, renamed = {}, {}
                for k, (bank, cols) in enumerate(specs):
                    old = next(s for s in template.free_symbols if s.name == f"_s{k:06d}")
                    # names that sort as the slots, so SymPy keeps the template's order of factors
                    new = sp.Symbol(f"_slot{len(slot_syms):06d}", **old.assumptions0)
                    renamed[old] = new
                    slot_syms.append(new)
                    names[new] = read(bank, cols)
                templates.append(template.xreplace(renamed))
                code = PlaceholderPrinter(names).doprint(templates[-1])
                lines.append(f"B{len(widths)} = {code}" if specs else f"B{len(widths)} = full((1, 1), {code})")
                widths.append(width)
            for parts in sums:
                lines.append(f"B{len(widths)} = " + " + ".join(
                    f"add.reduce({read(bank, cols)}, axis=-2, keepdims=True)" for bank, cols in parts))
                widths.append(1)
        for rows, bank, cols in self.gather:
            row_sel = _selector(rows)
            if isinstance(row_sel, slice):
                row_text = f"{row_sel.start}:{row_sel.stop}"
            else:
                row_text = f"I{len(indices)}"
                indices[row_text] = row_sel
            lines.append(f"if B{bank}.dtype.kind == 'c': raise ComplexValues")
            lines.append(f"OUT[..., {row_text}, :] = {read(bank, cols)}")
        lines += [f"OUT[..., {row}, :] = {value!r}" for row, value in self.constants]
        checked = compile_exprs(slot_syms, templates or [sp.Integer(0)])
        namespace = dict(checked.__globals__)
        namespace.update(indices, ComplexValues=_ComplexValues)
        source = "def _program(B0, B1, OUT):\n" + "".join(f"    {line}\n" for line in lines) + "    return OUT\n"
        exec(compile(source, "<samscape program>", "exec"), namespace)  # printed from SymPy, as lambdify does
        self.source = source
        return namespace["_program"], [checked]

    def _statements(self):
        """The cse'd program as ``(symbol, expr)`` statements, sums split (``(symbol, ("sum", terms))``), and the
        symbol (or constant) of each output."""
        fresh = _numbered(_LAST + "s")
        statements: list[tuple[sp.Symbol, object]] = []
        known: dict[sp.Expr, sp.Symbol] = {}

        def define(expr) -> sp.Symbol:
            if isinstance(expr, sp.Symbol):
                return expr
            sym = known.get(expr)
            if sym is None:
                sym = known[expr] = next(fresh)
                statements.append((sym, expr))
            return sym

        def split_sums(expr):
            if not expr.args or isinstance(expr, sp.Symbol):
                return expr
            args = [split_sums(a) for a in expr.args]
            if not isinstance(expr, sp.Add):
                return expr.func(*args) if args != list(expr.args) else expr
            families: dict[str, list] = {}
            for term in args:
                families.setdefault(sp.srepr(_template(term)[0]), []).append(term)
            kept = []
            for terms in families.values():
                if len(terms) >= MIN_FAMILY:
                    total = next(fresh)
                    statements.append((total, ("sum", [define(t) for t in terms])))
                    kept.append(total)
                else:
                    kept += terms
            return sp.Add(*kept)

        for sym, expr in self.temps:
            statements.append((sym, split_sums(expr)))
        out_syms = [expr if isinstance(expr, sp.Symbol) or not expr.free_symbols else define(split_sums(expr))
                    for expr in self.outputs]
        return statements, out_syms

    @staticmethod
    def _plan(statements, out_syms, variables, data_symbols, data_order):
        """Levels of groups and sums, and where each output is read from.

        Returns ``(levels, gather)``: per level ``(groups, sums)`` with a group ``(template, [(bank, columns)] per
        slot, width)`` and a sum ``[(bank, columns)]``; ``gather`` holds ``(output rows, bank, columns)``.
        Bank 0 holds the variables, bank 1 the data, then one bank per group and per sum in order.
        """
        where: dict[sp.Symbol, tuple[int, int]] = {s: (0, k) for k, s in enumerate(variables)}
        where.update({data_symbols[old]: (1, new) for new, old in enumerate(data_order)})
        level = {s: 0 for s in where}
        by_level: dict[int, list] = {}
        for sym, expr in statements:
            reads = expr[1] if isinstance(expr, tuple) else expr.free_symbols
            level[sym] = 1 + max((level[s] for s in reads), default=0)
            by_level.setdefault(level[sym], []).append((sym, expr))
        levels = []
        n_banks = 2
        for lv in sorted(by_level):
            families: dict[tuple, list] = {}
            sums = []
            for sym, expr in by_level[lv]:
                if isinstance(expr, tuple):
                    sums.append((sym, expr[1]))
                    continue
                template, order = _template(expr)
                key = (sp.srepr(template), tuple(where[s][0] for s in order))
                families.setdefault(key, [template, []])[1].append((sym, order))
            groups = []
            for (_, banks), (template, members) in families.items():
                # in the order of their inputs' columns, so that the reads are slices where the columns allow
                members.sort(key=lambda member: [where[s][1] for s in member[1]])
                # one column per distinct member: the same template on the same symbols is the same expression
                column = {}
                for sym, order in members:
                    where[sym] = (n_banks, column.setdefault(tuple(order), len(column)))
                specs = [(bank, [where[order[k]][1] for order in column]) for k, bank in enumerate(banks)]
                groups.append((template, specs, len(column)))
                n_banks += 1
            sum_parts = []
            for sym, terms in sums:
                parts: dict[int, list[int]] = {}
                for t in terms:
                    parts.setdefault(where[t][0], []).append(where[t][1])
                # a sum's terms in column order: a slice to reduce (rounding as any order of the sum would)
                sum_parts.append([(bank, sorted(cols)) for bank, cols in parts.items()])
                where[sym] = (n_banks, 0)
                n_banks += 1
            levels.append((groups, sum_parts))
        per_bank: dict[int, tuple[list[int], list[int]]] = {}
        for row, sym in enumerate(out_syms):
            if isinstance(sym, sp.Symbol):
                bank, col = where[sym]
                rows, cols = per_bank.setdefault(bank, ([], []))
                rows.append(row)
                cols.append(col)
        return levels, [(rows, bank, cols) for bank, (rows, cols) in per_bank.items()]

    def __call__(self, variables: np.ndarray, data: np.ndarray, lead: tuple[int, ...], n: int, dtype, name: str):
        """Values ``(*lead, n_out, n)``; ``variables`` is ``(..., dim, 1)``, ``data`` ``(..., k, n)``."""
        out = np.empty(lead + (self.n_out, n), dtype=dtype)
        try:
            return self._function(variables, data, out)
        except _ComplexValues:  # the cast into out would drop an imaginary part without a word
            raise ValueError(f"landscape {name!r} gave complex values; a loss must be real-valued") from None


class _ComplexValues(Exception):
    """A program's output came out complex."""


def _check_compilable(name: str, parts: Sequence[tuple[str, Sequence[sp.Expr]]]) -> None:
    """Refuse what lambdify cannot turn into working NumPy code: numbers beyond float64 in the loss or its
    derivatives (``(10**308*x)**15`` is ``10**4620*x**15``; the compiled functions would fail at every point, or
    Python would refuse to print the number) and derivatives SymPy leaves unevaluated (``|z|`` of a ``z`` that
    may be complex, such as ``x**y``), which no printer can write."""
    for what, exprs in parts:
        for expr in exprs:
            for number in expr.atoms(sp.Rational, sp.Float):
                problem = number_out_of_range(number)
                if problem:
                    raise ValueError(f"landscape {name!r}: its {what} holds {problem}; rescale the expression")
            unevaluated = next(iter(expr.atoms(sp.Derivative)), None)
            if unevaluated is not None:
                raise ValueError(
                    f"landscape {name!r}: SymPy cannot write its {what} in closed form (it leaves "
                    f"{shorten(str(unevaluated))} unevaluated); keep the arguments of abs() real, e.g. no x**y there"
                )


def _derivative_size(expr: sp.Expr, variables: Sequence[sp.Symbol], hessian: bool = True) -> float:
    """An estimate of how many nodes the gradient and Hessian (or, with ``hessian=False``, the gradient alone) of
    ``expr`` will have, found without building them.

    Differentiation can grow an expression fast: the Hessian of a product of ``k`` factors has about ``k**2``
    terms of ``k`` factors each, so 90 characters give 70,000 nodes and seconds of SymPy work, 900 characters
    hours. The size rules below follow the product rule and the chain rule; each node carries, per variable,
    its own size and the sizes of its first and second derivatives.
    """
    index = {s: k for k, s in enumerate(variables)}
    n = len(index)

    def walk(node):  # -> size, depends (bool per variable), first, second (sizes per variable)
        if not node.args:
            depends = np.zeros(n, dtype=bool)
            if node in index:
                depends[index[node]] = True
            return 1.0, depends, np.ones(n), np.ones(n)
        parts = [walk(arg) for arg in node.args]
        size = 1.0 + sum(p[0] for p in parts)
        depends = np.logical_or.reduce([p[1] for p in parts])
        if isinstance(node, sp.Add):
            first = 1.0 + sum(np.where(p[1], p[2], 0.0) for p in parts)
            second = 1.0 + sum(np.where(p[1], p[3], 0.0) for p in parts)
            return size, depends, first, second
        if len(parts) == 1 or isinstance(node, sp.Pow) and not parts[1][1].any():
            # f(g) or g**c: f'(g) g' and f''(g) g'**2 + f'(g) g'', where f' and f'' are about as large as f(g)
            inner = parts[0]
            f1, f2 = size + 4.0, 2.0 * size + 8.0
            first = np.where(inner[1], 1.0 + f1 + inner[2], 1.0)
            second = np.where(inner[1], 3.0 + f2 + 2.0 * inner[2] + f1 + inner[3], 1.0)
            return size, depends, first, second
        # a product, and (generously) every other node with several arguments: the product rule
        count = sum(p[1].astype(float) for p in parts)
        first = 1.0 + sum(np.where(p[1], p[2] + size - p[0], 0.0) for p in parts)
        second = (1.0 + sum(np.where(p[1], 1.0 + p[3] + size - p[0], 0.0) for p in parts)
                  + count * np.maximum(count - 1.0, 0.0) * (1.0 + size)
                  + 2.0 * np.maximum(count - 1.0, 0.0) * sum(np.where(p[1], p[2] - p[0], 0.0) for p in parts))
        if isinstance(node, sp.Pow):  # b**e = exp(e*log(b)): the chain rule on top of the product rule
            f1, f2 = size + 4.0, 2.0 * size + 8.0
            second = np.where(depends, 3.0 + f2 + 2.0 * first + f1 + second, 1.0)
            first = np.where(depends, 1.0 + f1 + first, 1.0)
        return size, depends, first, second

    def mixed(part):  # the upper triangle of the Hessian: an entry is 0 where the variables do not meet
        _, depends, _, second = part
        return np.triu(np.where(np.outer(depends, depends), np.minimum.outer(second, second), 0.0))

    root = walk(expr)
    gradient = float(np.where(root[1], root[2], 1.0).sum())
    if not hessian:
        return gradient
    terms = [walk(term) for term in expr.args] if isinstance(expr, sp.Add) else [root]
    return gradient + float((sum(mixed(term) for term in terms) + np.triu(np.ones((n, n)))).sum())


class Landscape:
    """A loss ``L: R^dim -> R`` given analytically, possibly as a mean over ``n_samples`` data points.

    Build one with :func:`samscape.landscapes.from_expr` or :func:`samscape.landscapes.get`.

    Attributes
    ----------
    name, description, source : str
        Catalog name, one-line description and the paper or origin.
    variables : tuple[str, ...]
        Names of the coordinates, in order; ``dim = len(variables)``.
    expr : sympy.Expr
        The per-sample loss ``ell`` in the variables and the data symbols.
    loss_expr : sympy.Expr
        The full loss ``L`` (mean over the samples, data substituted).
    samples : dict[str, ndarray]
        Data columns, each of shape ``(n_samples,)``; empty for a plain function.
    window : ndarray, shape (dim, 2)
        Default plotting / random-start box ``[[lo, hi], ...]``.
    minimizers, maximizers : ndarray, shape (k, dim)
        Known isolated minimizers/maximizers where they are analytic (possibly ``k = 0``).
    params : dict
        The parameters the landscape was built with.
    notes : str
        Anything about the critical set that a point list cannot say (e.g. a manifold of minimizers).
    minimizer_sets : tuple of dict
        Known curves of minimizers, each ``{"kind": "line", "point": p, "direction": d}`` or
        ``{"kind": "circle", "center": c, "radius": r}`` (a circle in the plane of the first two coordinates);
        :meth:`trace_minimizer_sets` samples them for drawing.
    """

    def __init__(
        self,
        expr: sp.Expr,
        variables: Sequence[sp.Symbol],
        samples: Mapping[str, np.ndarray],
        *,
        name: str,
        description: str = "",
        source: str = "",
        window: np.ndarray,
        minimizers: np.ndarray,
        maximizers: np.ndarray,
        params: dict[str, Any],
        notes: str,
        spec: dict[str, Any],
        minimizer_sets: tuple = (),
    ):
        self.name = name
        self.minimizer_sets = _as_sets(minimizer_sets, len(tuple(variables)))
        self.description = description
        self.source = source
        self.params = dict(params)
        self.notes = notes
        self.spec = spec
        self.symbols = tuple(variables)
        self.variables = tuple(s.name for s in self.symbols)
        self.dim = len(self.symbols)
        self.expr = expr
        self.samples = {k: np.asarray(v, dtype=float) for k, v in samples.items()}
        self.n_samples = len(next(iter(self.samples.values()))) if self.samples else 1
        self.window = window
        self.minimizers = minimizers
        self.maximizers = maximizers

        # Data columns the expression really uses; a single data point is substituted into the
        # expression so plain functions pay nothing for the finite-sum machinery.
        used = {s.name: s for s in expr.free_symbols}
        self.data_symbols = tuple(used[k] for k in sorted(self.samples) if k in used)
        if self.n_samples == 1 and self.data_symbols:
            point = {s: _exact_number(self.samples[s.name][0]) for s in self.data_symbols}
            sample_expr = expr.subs(point)
            self.data_symbols = ()
        else:
            sample_expr = expr
        self.sample_expr = sample_expr
        self.data = (
            np.stack([self.samples[s.name] for s in self.data_symbols], axis=-1)
            if self.data_symbols
            else np.zeros((self.n_samples, 0))
        )


        with self._compiling():
            self._check_size("gradient", _derivative_size(sample_expr, self.symbols, hessian=False))
            self.grad_exprs = [drop_distributions(sp.diff(sample_expr, s)) for s in self.symbols]
            _check_compilable(name, [("loss", [sample_expr]), ("gradient", self.grad_exprs)])
            self._grad_program = Program(self.symbols, self.data_symbols, self.grad_exprs)
        # Every program of this landscape reads the data in the order that suits the gradient's.
        self.data_order = self._grad_program.data_order
        self._data_rows = np.ascontiguousarray(self.data[:, self.data_order])  # a batch's rows, columns as Program reads
        self.data_t = np.ascontiguousarray(self._data_rows.T)  # (columns, samples)
        with self._compiling():
            self._value_program = self._program([sample_expr])
        # The Hessian is derived when first asked for: it has dim**2 / 2 entries, which for a finite sum in
        # many variables take SymPy seconds, while a gradient method never needs them.
        self._hess_exprs = None
        self._hess_program = None
        self._loss_expr = None

    def _compiling(self):
        """Turn SymPy's and the printer's failures while deriving or compiling into one-sentence errors."""
        name = self.name

        class _Guard:
            def __enter__(self):
                return self

            def __exit__(self, kind, err, tb):
                if kind is RecursionError:  # SymPy and Python's compiler recurse once per level of nesting
                    raise ValueError(f"landscape {name!r} is nested too deeply to differentiate and compile") from None
                if kind is NotImplementedError:  # a SymPy object the NumPy printer has no translation for
                    first = shorten(str(err).splitlines()[0]) if str(err) else "NotImplementedError"
                    raise ValueError(f"landscape {name!r} cannot be compiled to NumPy: {first}") from None
                return False

        return _Guard()

    def _check_size(self, what: str, size: float) -> None:
        if size > MAX_DERIVATIVE_SIZE:
            raise ValueError(
                f"landscape {self.name!r} is too large to differentiate: its {what} would have about {size:.2g} "
                f"terms and factors, at most {MAX_DERIVATIVE_SIZE:.2g} are allowed; use fewer factors in a product "
                "or less nesting"
            )

    def _program(self, exprs) -> "Program":
        """A program over this landscape's variables and data, reading the data columns in :attr:`data_order`."""
        return Program(self.symbols, self.data_symbols, exprs, data_order=self.data_order)

    @property
    def grad_cse(self) -> tuple[list, list]:
        """The gradient as ``sympy.cse`` reduced it: ``(temporaries, outputs)``, shared by every backend."""
        return self._grad_program.temps, self._grad_program.outputs

    @property
    def value_cse(self) -> tuple[list, list]:
        """The per-sample value as ``sympy.cse`` reduced it: ``(temporaries, [output])``, shared by every backend."""
        return self._value_program.temps, self._value_program.outputs

    @property
    def hess_exprs(self) -> list[list[sp.Expr]]:
        """The per-sample Hessian, ``dim x dim`` SymPy expressions (derived on first use, then kept)."""
        if self._hess_exprs is None:
            with self._compiling():
                self._check_size("gradient and Hessian", _derivative_size(self.sample_expr, self.symbols))
                upper = {
                    (i, j): drop_distributions(sp.diff(self.grad_exprs[i], self.symbols[j]))
                    for i in range(self.dim) for j in range(i, self.dim)
                }
                _check_compilable(self.name, [("Hessian", list(upper.values()))])
            # symmetric: the lower triangle reuses the upper one instead of differentiating again
            self._hess_exprs = [[upper[min(i, j), max(i, j)] for j in range(self.dim)] for i in range(self.dim)]
        return self._hess_exprs

    def _hessian_program(self) -> "Program":
        if self._hess_program is None:
            rows, cols = np.triu_indices(self.dim)  # the order in which hessian() unpacks the upper triangle
            upper = [self.hess_exprs[i][j] for i, j in zip(rows, cols)]
            with self._compiling():
                self._hess_program = self._program(upper)
        return self._hess_program

    # ------------------------------------------------------------------ symbolic views
    @property
    def loss_expr(self) -> sp.Expr:
        """The full loss as one SymPy expression (mean over samples, data substituted)."""
        if self._loss_expr is None:
            if not self.data_symbols:
                self._loss_expr = self.sample_expr
            else:
                terms = [
                    self.expr.subs({s: _exact_number(row[j]) for j, s in enumerate(self.data_symbols)})
                    for row in self.data
                ]
                self._loss_expr = sp.Add(*terms) / self.n_samples
        return self._loss_expr

    # ------------------------------------------------------------------ evaluation
    def _check_x(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype.kind not in "fiu":
            raise ValueError(f"x must be a real array of shape (..., {self.dim}), got dtype {x.dtype}")
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(f"x must have shape (..., {self.dim}) for landscape {self.name!r}, got {x.shape}")
        if x.dtype.kind != "f":
            x = x.astype(float)
        return x

    def _check_batch(self, batch, lead: tuple[int, ...]) -> np.ndarray:
        idx = np.asarray(batch)
        if idx.dtype.kind not in "iu":
            raise ValueError(f"batch must be an integer array of shape (..., B), got dtype {idx.dtype}")
        if idx.ndim == 0 or idx.shape[-1] == 0:
            raise ValueError(f"batch must have shape (..., B) with B >= 1, got {idx.shape}")
        try:
            np.broadcast_shapes(idx.shape[:-1], lead)
        except ValueError:
            raise ValueError(
                f"batch of shape {idx.shape} does not match points of leading shape {lead}"
            ) from None
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_samples):
            raise ValueError(
                f"batch indices must lie in [0, {self.n_samples - 1}], got values in [{idx.min()}, {idx.max()}]"
            )
        return idx

    def _evaluate(self, program: "Program", x, batch) -> np.ndarray:
        """Evaluate a compiled per-sample program, averaged over the samples (or ``batch``).

        Returns shape ``(..., n_out)``.
        """
        x = self._check_x(x)
        lead = x.shape[:-1]
        if not self.data_symbols:
            if batch is not None:
                self._check_batch(batch, lead)
            return program(x[..., None], self.data_t, lead, 1, x.dtype, self.name)[..., 0]
        if batch is None:
            data, n, shape = self.data_t, self.n_samples, lead  # averaged over every sample
        else:
            idx = self._check_batch(batch, lead)
            data = np.swapaxes(self._data_rows[idx], -1, -2)  # (..., columns, B)
            n, shape = idx.shape[-1], np.broadcast_shapes(lead, idx.shape[:-1])
        # the samples on the last, contiguous axis: the mean sums them pairwise, as the compiled backend does
        dtype = data.dtype if x.dtype == data.dtype else np.result_type(x.dtype, data.dtype)
        out = program(x[..., None], data, shape, n, dtype, self.name)
        mean = np.add.reduce(out, axis=-1)  # what out.mean(axis=-1) computes, without its Python overhead
        mean /= n
        return mean.astype(x.dtype, copy=False)

    def value(self, x, batch=None) -> np.ndarray:
        """Loss at ``x``: shape ``(..., dim) -> (...)``; with ``batch`` of shape ``(..., B)``, the batch mean."""
        return self._evaluate(self._value_program, x, batch)[..., 0]

    def grad(self, x, batch=None) -> np.ndarray:
        """Gradient at ``x``: shape ``(..., dim) -> (..., dim)``; ``batch`` (ints, ``(..., B)``) averages over it."""
        return self._evaluate(self._grad_program, x, batch)

    def hessian(self, x, batch=None) -> np.ndarray:
        """Hessian at ``x``: shape ``(..., dim) -> (..., dim, dim)``, symmetric."""
        upper = self._evaluate(self._hessian_program(), x, batch)
        rows, cols = np.triu_indices(self.dim)  # the order in which the upper triangle was compiled
        out = np.empty(upper.shape[:-1] + (self.dim, self.dim), dtype=upper.dtype)
        out[..., rows, cols] = upper
        out[..., cols, rows] = upper
        return out

    def sample_grads(self, x) -> np.ndarray:
        """Per-sample gradients: ``(..., dim) -> (..., n_samples, dim)``."""
        x = self._check_x(x)
        idx = np.broadcast_to(np.arange(self.n_samples)[:, None], (self.n_samples, 1))
        return self.grad(x[..., None, :], batch=idx)

    def sample_hessians(self, x) -> np.ndarray:
        """Per-sample Hessians: ``(..., dim) -> (..., n_samples, dim, dim)``."""
        x = self._check_x(x)
        idx = np.broadcast_to(np.arange(self.n_samples)[:, None], (self.n_samples, 1))
        return self.hessian(x[..., None, :], batch=idx)

    # ------------------------------------------------------------------ misc
    def trace_minimizer_sets(self, window=None, n: int = 400) -> list[np.ndarray]:
        """Each known curve of minimizers as ``n`` points ``(n, dim)`` in ``window`` (default: the landscape's): a
        line from edge to edge, a circle whole, NaN where a point falls outside, so a plot draws the part in view."""
        window = self.window if window is None else _as_window(window, self.dim)
        out = []
        for spec in self.minimizer_sets:
            if spec["kind"] == "circle":
                angle = np.linspace(0.0, 2 * np.pi, n)
                points = np.tile(spec["center"], (n, 1))
                points[:, 0] += spec["radius"] * np.cos(angle)
                points[:, 1] += spec["radius"] * np.sin(angle)
            else:  # the part of the line inside the box: the interval of t where every coordinate is in range
                point, direction = spec["point"], spec["direction"]
                moving = direction != 0
                if np.any(~moving & ((point < window[:, 0]) | (point > window[:, 1]))):
                    out.append(np.full((n, self.dim), np.nan))
                    continue
                ends = (window[moving] - point[moving, None]) / direction[moving, None]
                low, high = float(np.max(ends.min(axis=1))), float(np.min(ends.max(axis=1)))
                points = point + np.linspace(low, high, n)[:, None] * direction
            inside = np.all((points >= window[:, 0] - 1e-12) & (points <= window[:, 1] + 1e-12), axis=1)
            out.append(np.where(inside[:, None], points, np.nan))
        return out

    def random_points(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` points drawn uniformly in the window: shape ``(n, dim)``."""
        rng = np.random.default_rng(seed)
        lo, hi = self.window[:, 0], self.window[:, 1]
        return lo + (hi - lo) * rng.random((n, self.dim))

    def __repr__(self) -> str:
        extra = f", n_samples={self.n_samples}" if self.n_samples > 1 else ""
        return f"Landscape({self.name!r}, dim={self.dim}{extra}: {self.expr})"

    def _repr_html_(self) -> str:
        """A notebook table: name, description and source; the per-sample loss as LaTeX in the variables and the
        data symbols (the template, not the data substituted into it) with the mean over the samples; the data
        columns, parameters, window, known minimizers and maximizers and notes. Every piece of text is escaped."""
        variables = ", ".join(sp.latex(s) for s in self.symbols)
        if self.samples:
            names = [sp.latex(sp.Symbol(k)) for k in sorted(self.samples)]
            n = self.n_samples
            rows_i = ", ".join(f"{{{name}}}_{{{'i' if n > 1 else 1}}}" for name in names)
            mean = rf"\frac{{1}}{{{n}}} \sum_{{i=1}}^{{{n}}} " if n > 1 else ""
            loss = Math(rf"L({variables}) = {mean}\ell({variables}; {rows_i}), \quad "
                        rf"\ell({variables}; {', '.join(names)}) = {sp.latex(self.expr)}")
        else:
            loss = Math(rf"L({variables}) = {sp.latex(self.expr)}")
        rows = [("name", self.name), ("description", self.description or "-"), ("source", self.source or "-"),
                ("loss", loss), ("variables", f"{', '.join(self.variables)} (dim {self.dim})")]
        rows += [(f"data {key}", numbers(values)) for key, values in sorted(self.samples.items())]
        if self.params:
            rows.append(("parameters", ", ".join(f"{k}={v}" for k, v in self.params.items())))
        rows.append(("window", ", ".join(f"{v} in [{lo:g}, {hi:g}]" for v, (lo, hi) in zip(self.variables, self.window))))
        for label, points in (("minimizers", self.minimizers), ("maximizers", self.maximizers)):
            if len(points):
                rows.append((label, "; ".join(numbers(p) for p in points)))
        if self.notes:
            rows.append(("notes", self.notes))
        return html_table(rows, caption="Landscape")

    def _probe(self) -> None:
        """Evaluate value and gradient once on a tiny batch; fail early with a clear message. (The Hessian is
        derived on first use, and checked then.)"""
        lo, hi = self.window[:, 0], self.window[:, 1]
        pts = np.stack([lo + (hi - lo) * f for f in (0.5, 0.3141, 0.7183)])
        try:
            with np.errstate(all="ignore"):
                v, g = self.value(pts), self.grad(pts)
        except Exception as err:  # a lambdified expression can raise almost anything
            raise ValueError(f"landscape {self.name!r} cannot be evaluated at probe points: {err}") from err
        for label, arr, shape in (("value", v, (3,)), ("grad", g, (3, self.dim))):
            if arr.shape != shape:
                raise ValueError(f"landscape {self.name!r}: {label} has shape {arr.shape} at the probe, expected {shape}")
        if not np.isfinite(v).any():
            raise ValueError(
                f"landscape {self.name!r} gives no finite value at any probe point in its window {self.window.tolist()}"
            )


def _check_real(expr: sp.Expr) -> None:
    """Refuse constants that are not real, such as (-8)**(1/3), sqrt(-1) or log(-1): numpy would evaluate them as
    complex numbers and the imaginary part would be dropped without a word."""
    for sub in sp.preorder_traversal(expr):
        if sub.is_number and sub.is_extended_real is False:
            raise ValueError(f"expr contains the non-real constant {sub}; a loss must be real-valued")


def _as_points(points, dim: int) -> np.ndarray:
    if points is None or np.size(points) == 0:
        return np.zeros((0, dim))
    return np.asarray(points, dtype=float).reshape(-1, dim)


def _as_sets(sets, dim: int) -> tuple:
    """Minimizer curves as read-only dicts of float arrays; one sentence for a malformed one."""
    out = []
    for spec in sets or ():
        kind = spec.get("kind") if isinstance(spec, Mapping) else None
        keys = {"line": ("point", "direction"), "circle": ("center", "radius")}.get(kind)
        if keys is None or any(k not in spec for k in keys):
            raise ValueError("minimizer_sets entries must be {'kind': 'line', 'point', 'direction'} or "
                             f"{{'kind': 'circle', 'center', 'radius'}}, got {spec!r}")
        clean = {"kind": kind}
        for key in keys:
            value = np.asarray(spec[key], dtype=float)
            if key != "radius" and value.shape != (dim,) or not np.all(np.isfinite(value)):
                raise ValueError(f"minimizer_sets {kind} {key} must be finite (one value per coordinate), got "
                                 f"{spec[key]!r}")
            clean[key] = value
        if kind == "line":
            clean["direction"] = clean["direction"] / np.linalg.norm(clean["direction"])
        if kind == "circle" and dim < 2:
            raise ValueError(f"a circle of minimizers needs at least 2 coordinates, got {dim}")
        out.append(clean)
    return tuple(out)


def _as_window(window, dim: int) -> np.ndarray:
    if window is None:
        return np.tile([-DEFAULT_HALF_WIDTH, DEFAULT_HALF_WIDTH], (dim, 1)).astype(float)
    arr = np.asarray(window, dtype=float)
    if arr.shape == (2,):
        arr = np.tile(arr, (dim, 1))
    if arr.shape != (dim, 2) or not np.all(np.isfinite(arr)) or np.any(arr[:, 1] <= arr[:, 0]):
        raise ValueError(f"window must be finite [[lo, hi], ...] with lo < hi for each of {dim} variables, got {window!r}")
    return arr


def from_expr(
    expr,
    variables,
    samples: Mapping[str, Sequence[float]] | None = None,
    name: str | None = None,
    *,
    window=None,
    description: str = "",
    source: str = "",
    minimizers=None,
    maximizers=None,
    params: dict[str, Any] | None = None,
    notes: str = "",
    spec: dict[str, Any] | None = None,
    minimizer_sets=(),
) -> Landscape:
    """Build a :class:`Landscape` from an expression.

    Parameters
    ----------
    expr : str or sympy.Expr
        The loss (per data point when ``samples`` is given). A string is checked against a whitelist
        (numbers, the variables and sample names, ``+ - * / **``, parentheses, ``sin cos tan exp log sqrt
        tanh sinh cosh abs Abs atan``, ``pi``, ``E``) before it is turned into SymPy; ``eval`` is never used.
    variables : sequence of str, or a comma-separated string
        The coordinates, in order.
    samples : dict name -> sequence of float, optional
        Data columns of equal length ``n``; the loss is the mean over the ``n`` rows.
    name : str, optional
        A label; defaults to the expression text.
    window : array (dim, 2) or (2,), optional
        Plotting / random-start box; default ``[-2, 2]`` in every variable.
    minimizer_sets : sequence of dict, optional
        Known curves of minimizers (lines, circles; see :class:`Landscape`).
    """
    if isinstance(variables, str):
        variables = [v.strip() for v in variables.split(",") if v.strip()]
    if isinstance(variables, sp.Symbol):
        variables = [variables]
    try:  # at most one name more than allowed is read: ten thousand names are refused at once
        given = [v.name if isinstance(v, sp.Symbol) else v for v in itertools.islice(variables, MAX_NAMES + 1)]
    except TypeError:
        raise ValueError(f"variables must be a sequence of names or a comma-separated string, got {variables!r}") from None
    if len(given) > MAX_NAMES:
        count = f"{len(variables):,}" if hasattr(variables, "__len__") else "more than that"
        raise ValueError(f"variables must be at most {MAX_NAMES:,} names, got {count}")
    if not given:
        raise ValueError("variables must name at least one coordinate, got none")
    # names in the form Python gives identifiers in the expression, so both sides spell them alike
    var_names = [check_symbol_name(v, "variable") for v in given]
    if len(set(var_names)) != len(var_names):
        raise ValueError(f"variables must be distinct (after Unicode NFKC normalization), got {given}")

    if samples is not None and not isinstance(samples, Mapping):
        raise ValueError(f"samples must be a dict of name -> sequence of numbers, got {type(samples).__name__}")
    columns: dict[str, np.ndarray] = {}
    if samples is not None and len(samples) > MAX_NAMES:
        raise ValueError(f"samples must be at most {MAX_NAMES:,} data columns, got {len(samples):,}")
    for given_key, col in (samples or {}).items():
        key = check_symbol_name(given_key, "sample")
        if key in var_names:
            raise ValueError(f"sample name {given_key!r} is also a variable; a name is either a coordinate or a data column")
        if key in columns:
            raise ValueError(f"sample names must be distinct (after Unicode NFKC normalization), got {given_key!r} twice")
        try:
            arr = np.asarray(col, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"samples[{given_key!r}] must be a sequence of real numbers, got {col!r}") from None
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"samples[{given_key!r}] must be a non-empty 1-D sequence, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"samples[{given_key!r}] must be finite, got {arr.tolist()}")
        columns[key] = arr
    lengths = {k: len(v) for k, v in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"samples columns must have equal length, got {lengths}")

    symbols = {v: sp.Symbol(v, real=True) for v in var_names}
    # data are real numbers too: without real=True, d|u*a|/du would carry re()/im() terms numpy cannot evaluate
    symbols.update({k: sp.Symbol(k, real=True) for k in columns})
    if isinstance(expr, str):
        text = expr
        sym_expr = parse_expression(expr, symbols)
    elif isinstance(expr, sp.Basic):
        text = None
        rename = {s: symbols[normalize_name(s.name)] for s in expr.free_symbols if normalize_name(s.name) in symbols}
        sym_expr = sp.sympify(expr).xreplace(rename)  # sympify of a Basic does not parse text
        unknown = sorted(s.name for s in sym_expr.free_symbols if s not in symbols.values())
        if unknown:
            raise ValueError(f"expr uses symbols {unknown} that are neither variables {var_names} nor samples {sorted(columns)}")
    else:
        raise ValueError(f"expr must be a string or a SymPy expression, got {type(expr).__name__}")

    _check_real(sym_expr)
    dim = len(var_names)
    if spec is None and text is None:
        # A SymPy object has no user text; keep a printed form only if the safe parser can read it back
        # (Piecewise, sign, ... cannot be), otherwise record that the landscape must be passed in again.
        printed = sp.sstr(sym_expr)
        try:
            parse_expression(printed, symbols)
            text = printed
        except ValueError:
            spec = {"kind": "sympy", "srepr": sp.srepr(sym_expr), "variables": var_names}
    if spec is None:
        spec = {
            "kind": "expr",
            "expr": text,
            "variables": var_names,
            "samples": {k: v.tolist() for k, v in columns.items()},
            "window": None if window is None else np.asarray(window, dtype=float).tolist(),
        }
    land = Landscape(
        sym_expr,
        [symbols[v] for v in var_names],
        columns,
        name=name or (text if text is not None else str(sym_expr)),
        description=description,
        source=source,
        window=_as_window(window, dim),
        minimizers=_as_points(minimizers, dim),
        maximizers=_as_points(maximizers, dim),
        params=params or {},
        notes=notes,
        spec=spec,
        minimizer_sets=minimizer_sets,
    )
    land._probe()
    return land
