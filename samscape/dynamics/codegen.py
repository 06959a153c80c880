"""Generate the source of a fused integrator kernel from a landscape's SymPy gradient.

This module only writes text; :mod:`samscape.dynamics.compiled` turns the text into a numba function.
Nothing here imports numba, so the source (and its cache key) can be built where numba is missing.

Shape of a kernel
-----------------
The starts are cut into blocks of lanes (64 for a few variables, 32 for many: :func:`contract.lanes_for`). A
kernel call advances a range of blocks through a range of steps without returning to Python. Within a block
every quantity lives in a *row* of one number per lane (structure of arrays), and every statement of the update is a short loop over the lanes. Two
reasons: the loops over lanes are independent iterations, so the compiler turns them into SIMD
instructions, and a step's long dependency chain (gradient -> ascent point -> gradient -> update) is cut
into pieces that the CPU overlaps across lanes instead of waiting on one start at a time.

Fidelity to the NumPy reference
-------------------------------
The gradient is printed by the same printer class, with the same options, from the same ``sympy.cse``
statements (:attr:`~samscape.landscapes.Landscape.grad_cse`) that the NumPy evaluation of a
:class:`~samscape.landscapes.Landscape` runs, so the formulas agree operation for operation (a
``Piecewise`` becomes conditional expressions instead of ``numpy.select``), with one exception: NumPy adds
a long sum of terms of one form (``u0*v0*x0 + ... + u29*v29*x29``) as one reduction over the stacked terms,
here it is added term by term, so the two orders may round differently in the last bits. Means over samples
and sums of squares follow NumPy's pairwise summation order, and the random draws are the counter-based
hashes of :mod:`samscape.dynamics.draws` in 64-bit integer arithmetic. What else differs in the last bits:
``tanh`` is our own vectorizable implementation (within 2 ulp, correctly rounded about as often as NumPy's),
other transcendental functions come from the C library where NumPy may use its own SIMD versions, and
integer powers ``x**3`` are repeated multiplication. On polynomial and trigonometric landscapes without such
long sums the two backends agree bit for bit.

Compile time
------------
numba's compile time grows faster than the length of a function, so a finite sum's mean gradient is a
function of its own (``grad_full`` / ``grad_batch``, and their scalar versions), written once per module and
called wherever the update needs a gradient, and its pairwise summation loops over the coordinates instead
of being written out per coordinate. From :data:`LOOP_FROM_DIM` variables on, the rest of the update (load,
ascent point, descent, commit, save, store) is written as loops over the coordinates too, with the same
operations in the same order, and the one-start kernel keeps its vectors in an array ``V`` instead of one local
per coordinate. The source then grows with the number of the gradient's terms only.
"""

from __future__ import annotations

import ast
import contextlib
import decimal
import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.precedence import PRECEDENCE

from ..landscapes.core import PlaceholderPrinter
from . import draws
from .contract import DIVERGED, DTYPES, NONFINITE, OK, PAIRWISE_BLOCK, lanes_for
from .optimizers import GD, MSAM, SGD, LookSAM, _PerSample, _Perturbed, _Plain, _Redirected, squared_norm_range
from .schedules import Schedule

# Bump when the generated code changes meaning, so stale kernels on disk are never picked up.
GENERATOR_VERSION = 9
# From this many variables on, the update around the gradient (load, ascent point, descent, commit, store) is
# written as loops over the coordinates rather than one statement per coordinate, and one kernel serves one
# start and many: numba's compile time grows with (variables assigned) x (statements), so an unrolled kernel's
# build time grows with the square of the dimension, a looped one's linearly. Below it the unrolled kernels
# keep their shorter dependency chains (a single long run of a 2-D landscape is what they are tuned for).
LOOP_FROM_DIM = 16
# A loop over the lanes holds at most this many statements of a gradient (see _KernelWriter.emit_sample).
LANE_LOOP_STATEMENTS = 48


class UnsupportedLandscape(ValueError):
    """The landscape's gradient uses something the compiled backend cannot express."""


# ----------------------------------------------------------------------------------------------- printing

# Names the printer may emit (besides the lane references it is told about) and the numba-compatible
# object each one is bound to in the generated module.
_NAMESPACE = {
    "sin": "math.sin", "cos": "math.cos", "tan": "math.tan",
    "arcsin": "math.asin", "arccos": "math.acos", "arctan": "math.atan", "arctan2": "math.atan2",
    "sinh": "math.sinh", "cosh": "math.cosh",
    "arcsinh": "math.asinh", "arccosh": "math.acosh", "arctanh": "math.atanh",
    "exp": "math.exp", "expm1": "math.expm1", "log": "math.log", "log1p": "math.log1p",
    "sqrt": "math.sqrt",
}
_HELPERS = {"tanh", "sign", "real", "imag", "abs", "pi", "e", "inf", "nan"}
_ALLOWED_NAMES = set(_NAMESPACE) | _HELPERS
_TOKEN = re.compile(r"__([VDT])(\d+)__")
# A call of a function, not the ``F(...)`` that types a float32 literal: only real calls end a lane loop.
_CALL = re.compile(r"(?<![\w.])(?!F\()[A-Za-z_]\w*\(")


class _Printer(PlaceholderPrinter):
    """The landscapes' printer (lambdify's NumPy printer with placeholder symbols, integers beyond int64 as
    float literals), with scalar conditionals instead of NumPy's whole-array functions.

    The output is exactly what the landscapes' ``lambdify(..., modules="numpy", cse=True)`` prints, apart
    from the names of the symbols and the Piecewise and logic forms below.
    """

    _print_Dummy = PlaceholderPrinter._print_Symbol

    # NumPy's select/less/logical_and are whole-array functions; in a kernel a Piecewise is a chain of
    # conditional expressions over scalars, with the same value (the first true condition wins).
    def _print_Piecewise(self, expr):
        out = "nan"
        for value, cond in reversed(expr.args):
            if cond == sp.true:
                out = self._print(value)
            else:
                out = f"({self._print(value)} if {self._print(cond)} else {out})"
        return out

    def _print_Relational(self, expr):
        return f"({self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)})"

    def _print_And(self, expr):
        return "(" + " and ".join(self._print(a) for a in expr.args) + ")"

    def _print_Or(self, expr):
        return "(" + " or ".join(self._print(a) for a in expr.args) + ")"

    def _print_Not(self, expr):
        return f"(not {self._print(expr.args[0])})"

    def _print_BooleanTrue(self, expr):
        return "True"

    def _print_BooleanFalse(self, expr):
        return "False"


class _Printer32(_Printer):
    """For float32: every literal typed as ``F(...)`` so numba keeps the arithmetic in single precision;
    integer powers stay integer so they compile to multiplications."""

    def _print_Float(self, expr):
        return f"F({super()._print_Float(expr)})"

    def _print_Integer(self, expr):
        return f"F({super()._print_Integer(expr)})"

    def _print_Rational(self, expr):
        return f"F({super()._print_Rational(expr)})"

    def _print_Zero(self, expr):
        return "F(0)"

    def _print_One(self, expr):
        return "F(1)"

    def _print_NegativeOne(self, expr):
        return "F(-1)"

    def _print_Half(self, expr):
        return "F(1/2)"

    def _print_Pow(self, expr, rational=False):
        base, expo = expr.base, expr.exp
        if expo.is_Integer:
            text = self.parenthesize(base, PRECEDENCE["Pow"], strict=True)
            k = int(expo)
            return f"{text}**{k}" if k >= 0 else f"F(1)/{text}**{-k}"
        if expo == sp.S.Half:
            return f"sqrt({self._print(base)})"
        if expo == -sp.S.Half:
            return f"F(1)/sqrt({self._print(base)})"
        return super()._print_Pow(expr, rational=rational)


def _check_printed(code: str, what: str) -> None:
    """Refuse printed code that calls anything outside the small numba-compatible namespace."""
    tree = ast.parse(code, mode="eval")
    allowed_nodes = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Load, ast.Constant,
                     ast.operator, ast.unaryop, ast.IfExp, ast.Compare, ast.cmpop, ast.BoolOp, ast.boolop)
    for node in ast.walk(tree):
        if not isinstance(node, allowed_nodes):
            raise UnsupportedLandscape(
                f"the compiled backend cannot express {what}: {type(node).__name__} in {code!r}; use backend='numpy'")
        if isinstance(node, ast.Name) and not (_TOKEN.fullmatch(node.id) or node.id in _ALLOWED_NAMES or node.id == "F"):
            raise UnsupportedLandscape(
                f"the compiled backend cannot express {what}: it uses {node.id!r}; use backend='numpy'")
        if isinstance(node, ast.Call) and (node.keywords or not isinstance(node.func, ast.Name)):
            raise UnsupportedLandscape(f"the compiled backend cannot express {what}: {code!r}; use backend='numpy'")


@dataclass
class GradientProgram:
    """The per-sample gradient as straight-line code: ``temps`` then ``outputs``.

    Every string holds placeholders ``__V<k>__`` (coordinate k), ``__D<k>__`` (data column k) and
    ``__T<i>__`` (temporary i), filled in per use by :func:`_fill`.
    """

    temps: list[str]
    outputs: list[str]
    n_data: int


def gradient_program(landscape, float32: bool) -> GradientProgram:
    """The per-sample gradient of ``landscape`` (one output per variable)."""
    return _straight_line(landscape, landscape.grad_cse, float32, f"the gradient of {landscape.name!r}")


def value_program(landscape, float32: bool) -> GradientProgram:
    """The per-sample value of ``landscape`` (one output)."""
    return _straight_line(landscape, landscape.value_cse, float32, f"the loss of {landscape.name!r}")


def _straight_line(landscape, cse: tuple[list, list], float32: bool, what: str) -> GradientProgram:
    """Expressions that ``sympy.cse`` reduced to ``(replacements, reduced)`` -- the landscape's own reduction, which
    its NumPy evaluation starts from, made once per landscape -- printed with placeholders."""
    names: dict[sp.Symbol, str] = {}
    for k, sym in enumerate(landscape.symbols):
        names[sym] = f"__V{k}__"
    for k, sym in enumerate(landscape.data_symbols):
        names[sym] = f"__D{k}__"
    replacements, reduced = cse
    for i, (sym, _) in enumerate(replacements):
        names[sym] = f"__T{i}__"
    printer = (_Printer32 if float32 else _Printer)(names)

    def show(expr) -> str:
        try:
            code = printer.doprint(expr)
        except Exception as err:  # SymPy's printers raise several types for what they cannot print
            raise UnsupportedLandscape(f"the compiled backend cannot express {what}: {err}; use backend='numpy'") from err
        _check_printed(code, what)
        return code

    temps = [show(expr) for _, expr in replacements]
    outputs = [show(expr) for expr in reduced]
    return GradientProgram(temps, outputs, len(landscape.data_symbols))


def _fill(code: str, var: list[str], data: list[str], temp: list[str]) -> str:
    table = {"V": var, "D": data, "T": temp}
    return _TOKEN.sub(lambda m: table[m.group(1)][int(m.group(2))], code)


# -------------------------------------------------------------------------------------- summation order

def pairwise_expr(terms: list[str]) -> str:
    """NumPy's pairwise summation of a fixed list of terms, as one parenthesized expression."""
    n = len(terms)
    if n == 0:
        return "ZERO"
    if n < 8:
        out = terms[0]
        for t in terms[1:]:
            out = f"({out} + {t})"
        return out
    if n <= PAIRWISE_BLOCK:
        acc = list(terms[:8])
        stop = n - n % 8
        for i in range(8, stop, 8):
            acc = [f"({acc[k]} + {terms[i + k]})" for k in range(8)]
        out = (f"((({acc[0]} + {acc[1]}) + ({acc[2]} + {acc[3]})) + "
               f"(({acc[4]} + {acc[5]}) + ({acc[6]} + {acc[7]})))")
        for t in terms[stop:]:
            out = f"({out} + {t})"
        return out
    half = n // 2
    half -= half % 8
    return f"({pairwise_expr(terms[:half])} + {pairwise_expr(terms[half:])})"


def emit_pairwise_loop(em: "_Emitter", out: str, term, start: int, n: int) -> None:
    """Statements that leave in the local ``out`` NumPy's pairwise sum of ``term(i)`` over ``i`` in
    ``[start, start + n)``: the order of :func:`pairwise_expr`, written as loops so that the source does not
    grow with ``n``. ``term`` maps the source text of an index to the source text of that term."""
    if n > PAIRWISE_BLOCK:
        half = n // 2
        half -= half % 8
        emit_pairwise_loop(em, f"{out}l", term, start, half)
        emit_pairwise_loop(em, f"{out}r", term, start + half, n - half)
        em.line(f"{out} = ({out}l + {out}r)")
        return
    stop = n if n < 8 else n - n % 8
    if n < 8:
        em.line(f"{out} = {term(str(start))}")
    else:
        acc = [f"{out}{m}" for m in range(8)]
        for m in range(8):
            em.line(f"{acc[m]} = {term(str(start + m))}")
        if stop > 8:
            with em.block(f"for i_ in range({start + 8}, {start + stop}, 8):"):
                for m in range(8):
                    em.line(f"{acc[m]} = {acc[m]} + {term(f'i_ + {m}')}")
        em.line(f"{out} = ((({acc[0]} + {acc[1]}) + ({acc[2]} + {acc[3]})) + "
                f"(({acc[4]} + {acc[5]}) + ({acc[6]} + {acc[7]})))")
    first = start + 1 if n < 8 else start + stop
    if start + n > first:
        with em.block(f"for i_ in range({first}, {start + n}):"):
            em.line(f"{out} = {out} + {term('i_')}")


def pairwise_plan(n: int) -> list[list[int]]:
    """NumPy's pairwise summation of ``n`` terms as flat blocks in post-order.

    Each row is ``[start, length, merges]``: sum the block, push it, then add the top two entries of the
    stack ``merges`` times. The result is the single entry left.
    """
    plan: list[list[int]] = []

    def walk(start: int, length: int) -> None:
        if length <= PAIRWISE_BLOCK:
            plan.append([start, length, 0])
            return
        half = length // 2
        half -= half % 8
        walk(start, half)
        walk(start + half, length - half)
        plan[-1][2] += 1

    walk(0, n)
    return plan


def plan_depth(plan: list[list[int]]) -> int:
    depth = peak = 0
    for _, _, merges in plan:
        depth += 1
        peak = max(peak, depth)
        depth -= merges
    return peak


# ------------------------------------------------------------------------------------ optimizer shapes

# The descent directions a kernel writes: the gradient at the ascent point that the class's ``ascent`` names (see
# Optimizer.ascent). A class with a descent or a step of its own (a user's plugin) has no kernel until the generator
# learns it: it runs on NumPy (backend="auto" says so once).
KERNEL_DESCENTS = (GD.descent, SGD.descent, _Perturbed.descent, _PerSample.descent, _Redirected.descent)
# The steps of their own that a kernel writes, those of the classes whose direction reads their state: MSAM's (its
# ascent, from the velocity the step starts from, is the "momentum" ascent's emitter) and LookSAM's (its
# direction is written by the "periodic" emitter of DIRECTION_EMITTERS). Any other class's step is _Plain's: a
# descent direction of KERNEL_DESCENTS, taken with or without momentum.
OWN_KERNEL_STEPS = (MSAM.advance, LookSAM.advance)
# The arrays a kernel may carry from step to step (Optimizer.state_names), in the order of its arguments: the
# argument ``(n_starts, dim)`` that holds it between calls, the labels of its rows (the value the step starts from)
# and of its candidate rows (the step's new value, committed with XN), and what they hold.
KERNEL_STATE = {
    "velocity": ("VST", "VEL", "VN", "the velocity of momentum", "the candidate next velocity"),
    "orthogonal_gradient": ("OST", "ORT", "ORN", "LookSAM's stored direction", "its candidate next value"),
}


@dataclass(frozen=True)
class Leaf:
    """A plain optimizer in the tree, as the generator sees it: what it declares about itself (see
    :class:`samscape.dynamics.Optimizer`) and whether its batch matters here."""

    kind: str
    ascent: str | None
    per_start: tuple[str, ...]
    batched: bool
    index: int
    per_sample: bool = False
    # (name, value) of the class's kernel_constants: loop counts the source is written for
    constants: tuple = ()
    # the per-start hyperparameters that follow a schedule: the kernel multiplies each by the host's factor of step t
    scheduled: tuple[str, ...] = ()
    # its momentum: None (none), "heavy_ball" or "nesterov"; the factor itself is the per-start row "momentum"
    momentum: str | None = None

    def constant(self, name: str) -> int:
        return dict(self.constants)[name]


@dataclass(frozen=True)
class Fork:
    first: object
    second: object
    index: int
    # whether the state (the velocity) is zeroed at the switch step: only where some leaf carries one
    reset: bool = False


def optimizer_shape(optimizer, has_data: bool):
    """The structure of ``optimizer`` that the code depends on; the numbers stay runtime arguments.

    Returns ``(tree, leaves, forks)``, leaves and forks numbered in pre-order. A batch only matters
    when the loss depends on the data: on a plain function a mini-batch gradient is the full gradient.
    """
    leaves: list = []
    forks: list = []
    stateful = bool(optimizer.state_names())

    def walk(opt):
        if opt.composite():  # a Switch: the kernel branches on ``t < at`` between its two parts
            if opt.parts != ("first", "second") or not hasattr(opt, "at"):
                raise UnsupportedLandscape(f"the compiled backend has no kernel for optimizer kind {opt.kind!r}; "
                                           "use backend='numpy'")
            fork_index = len(forks)
            forks.append(opt)
            first = walk(opt.first)
            second = walk(opt.second)
            return Fork(first, second, fork_index, stateful and getattr(opt, "state", "keep") == "reset")
        plain_step = (getattr(type(opt), "descent", None) in KERNEL_DESCENTS and type(opt).update is _Plain.update
                      and type(opt).advance is _Plain.advance)
        if not (plain_step or type(opt).advance in OWN_KERNEL_STEPS):
            raise UnsupportedLandscape(f"the compiled backend has no kernel for optimizer kind {opt.kind!r} (its "
                                       "step is its own); use backend='numpy'")
        per_sample = bool(getattr(opt, "ascent_per_sample", False))
        known = kernel_ascents(per_sample)
        if opt.ascent is not None and opt.ascent not in known:
            raise UnsupportedLandscape(f"the compiled backend has no kernel for optimizer kind {opt.kind!r} "
                                       f"(ascent {opt.ascent!r}{' per sample' if per_sample else ''}); "
                                       "use backend='numpy'")
        batched = has_data and getattr(opt, "batch_size", None) is not None
        constants = tuple((name, int(getattr(opt, name))) for name in getattr(opt, "kernel_constants", ()))
        scheduled = tuple(name for name in opt.per_start if isinstance(getattr(opt, name, None), Schedule))
        # momentum is a row (and a velocity) only where the leaf has it: a kernel without momentum is as it was
        rows = tuple(name for name in opt.per_start if name != "momentum" or opt.has_momentum())
        momentum = ("nesterov" if opt.nesterov else "heavy_ball") if opt.has_momentum() else None
        leaf = Leaf(opt.kind, opt.ascent, rows, batched, len(leaves), per_sample and opt.ascent is not None,
                    constants, scheduled=scheduled, momentum=momentum)
        leaves.append(opt)
        return leaf

    tree = walk(optimizer)
    return tree, leaves, forks


def shape_signature(tree) -> str:
    if isinstance(tree, Fork):
        return f"switch{'[reset]' if tree.reset else ''}({shape_signature(tree.first)},{shape_signature(tree.second)})"
    constants = "".join(f"[{name}={value}]" for name, value in tree.constants)
    scheduled = "".join(f"[{name}~schedule]" for name in tree.scheduled)
    return (f"{tree.kind}{constants}{scheduled}{'[batch]' if tree.batched else ''}"
            f"{f'[{tree.momentum}]' if tree.momentum else ''}")


@dataclass(frozen=True)
class KernelPlan:
    """What one kernel is written for, worked out once from a (landscape, optimizer, dtype) and handed to every
    question about that kernel (is it ready, is it on disk, build it, pack its arguments) instead of the optimizer.

    ``tree`` is the optimizer's structure (:class:`Leaf` and :class:`Fork` nodes numbered in pre-order), ``leaves``
    its leaves in that order, ``shape`` its signature (``switch(sgd[batch],sam)``), ``lanes`` the starts per block of
    the lane kernel. The numbers (``lr``, ``rho``, batch sizes, switch steps) are runtime arguments, packed from
    ``parts`` and ``switches`` (the optimizer's leaves and Switch nodes in the same order): every optimizer of one
    structure calls the same kernel, so ``signature``, ``(shape, dtype)``, names the kernel among a landscape's.
    """

    landscape: Any = field(repr=False, compare=False)
    dtype: str
    dim: int
    has_data: bool
    tree: object
    leaves: tuple
    shape: str
    lanes: int
    parts: tuple = field(repr=False, compare=False)
    switches: tuple = field(repr=False, compare=False)

    @property
    def signature(self) -> tuple[str, str]:
        return self.shape, self.dtype

    @property
    def state_names(self) -> tuple[str, ...]:
        """The arrays the kernel carries between steps, each an argument ``(n_starts, dim)`` (:data:`KERNEL_STATE`):
        the velocity where some leaf has momentum, LookSAM's stored direction where a leaf is LookSAM."""
        carried = {"velocity": any(leaf.momentum for leaf in self.leaves),
                   "orthogonal_gradient": any(leaf.ascent == "periodic" for leaf in self.leaves)}
        return tuple(name for name in KERNEL_STATE if carried[name])

    @property
    def stateful(self) -> bool:
        """Whether the kernel carries state between steps (:attr:`state_names`)."""
        return bool(self.state_names)


def kernel_plan(landscape, optimizer, dtype: str = "float64") -> KernelPlan:
    """The plan of the kernel that runs ``optimizer`` on ``landscape`` in ``dtype``; raises
    :class:`UnsupportedLandscape` for an optimizer the generator cannot write (a gradient it cannot express is found
    when the source is written)."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    has_data = bool(landscape.data_symbols)
    tree, leaf_opts, fork_opts = optimizer_shape(optimizer, has_data)
    leaves = []

    def collect(node):  # pre-order, as the leaves were numbered
        if isinstance(node, Fork):
            collect(node.first)
            collect(node.second)
        else:
            leaves.append(node)

    collect(tree)
    return KernelPlan(landscape=landscape, dtype=dtype, dim=landscape.dim, has_data=has_data, tree=tree,
                      leaves=tuple(leaves), shape=shape_signature(tree), lanes=lanes_for(landscape.dim),
                      parts=tuple(leaf_opts), switches=tuple(fork_opts))


# -------------------------------------------------------------------------------------------- emitting

class _Emitter:
    def __init__(self):
        self.lines: list[str] = []
        self.depth = 0

    def line(self, text: str = "") -> None:
        self.lines.append(("    " * self.depth + text) if text else "")

    def block(self, header: str):
        emitter = self

        class _Block:
            def __enter__(self):
                emitter.line(header)
                emitter.depth += 1

            def __exit__(self, *exc):
                emitter.depth -= 1

        return _Block()

    def lanes(self, statements: list[str]) -> None:
        with self.block("for j in range(w):"):
            for s in statements:
                self.line(s)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


@dataclass
class Layout:
    """What the written kernel expects beyond its plan: the per-start hyperparameter rows, in the order they are
    packed, and the sizes of its scratch rows and data."""

    n_data: int
    hp_rows: list[tuple[int, str]] = field(default_factory=list)  # (leaf index, hyperparameter), one per HP row
    n_float_rows: int = 0
    # (leaf index, hyperparameter) of each row of SF, the factors of the scheduled hyperparameters (none: no SF)
    schedule_rows: list[tuple[int, str]] = field(default_factory=list)


def _decimal_ln2() -> decimal.Decimal:
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        return decimal.Decimal(2).ln()


def _tanh_source(float32: bool) -> str:
    """A tanh made only of operations a compiler can vectorize: no calls, no branches.

    ``tanh|x| = m / (m + 2)`` with ``m = expm1(2|x|)``; ``expm1(y) = 2^n expm1(r) + (2^n - 1)`` with
    ``y = n ln2 + r``, ``|r| <= ln2/2`` (Cody-Waite split of ln2, so ``n ln2`` is exact) and a Taylor
    polynomial for ``expm1(r)``, evaluated with fused multiply-adds; ``2^n`` comes from an integer shift because ``y`` is clamped where
    tanh is already 1 in the working precision. ``n`` is rounded with the add-and-subtract trick, which is
    shorter than ``floor`` on the dependency chain. Within 2 ulp of the exact value and correctly rounded
    about as often as NumPy's own tanh (about 80 %); tested against ``np.tanh``.
    """
    ln2 = _decimal_ln2()
    if float32:
        clamp, degree, hi_bits = 20.0, 8, 18
    else:
        clamp, degree, hi_bits = 40.0, 14, 32
    hi = math.floor(float(ln2) * 2.0**hi_bits) / 2.0**hi_bits
    lo = float(ln2 - decimal.Decimal(hi))
    inv = float(1 / ln2)
    coef = [float(1 / decimal.Decimal(math.factorial(k))) for k in range(2, degree + 1)]
    lit = (lambda v: f"F({v!r})") if float32 else repr
    # Estrin's scheme rather than Horner's: the same accuracy with a dependency chain of log2(degree)
    # multiply-adds instead of degree, which is what a single long run waits on.
    terms = [lit(c) for c in coef]
    powers = ["r", "r2", "r4", "r8", "r16"]
    level = 0
    while len(terms) > 1:
        terms = [f"({terms[i]} + {terms[i + 1]} * {powers[level]})" if i + 1 < len(terms) else terms[i]
                 for i in range(0, len(terms), 2)]
        level += 1
    poly = terms[0]
    squares = "\n    ".join(f"{powers[k]} = {powers[k - 1]} * {powers[k - 1]}" for k in range(1, level))
    shifter = 1.5 * 2.0 ** (23 if float32 else 52)  # adding it rounds to the nearest integer
    # Below this tanh(x) rounds to x itself (tanh x = x - x^3/3 + ...). Such arguments are replaced in the
    # polynomial, whose r^8 would be subnormal: a subnormal costs a slow microcode assist on x86.
    tiny = 2.0 ** (-13 if float32 else -28)
    return f'''
@njit(error_model="numpy", nogil=True, cache=DISK_CACHE, fastmath={{"contract"}})
def tanh(x):
    a = abs(x)
    tiny = a < {lit(tiny)}
    a = {lit(clamp / 2)} if a > {lit(clamp / 2)} else ({lit(tiny)} if tiny else a)
    nf = (a * {lit(2 * inv)} + {lit(shifter)}) - {lit(shifter)}
    y = {lit(2.0)} * a
    r = (y - nf * {lit(hi)}) - nf * {lit(lo)}
    {squares}
    m = r + r2 * {poly}
    n = int(nf) if nf < {lit(64.0)} else 0
    s = F(1 << n)
    m = s * m + (s - ONE)
    t = m / (m + TWO)
    # both tests depend only on x, so they stay off the dependency chain through the division
    return x if (tiny | (x != x)) else math.copysign(t, x)
'''


def standalone_tanh(dtype: str = "float64"):
    """The kernels' tanh (:func:`_tanh_source`) compiled as a numba function of its own, without the disk cache:
    for the tests that check its accuracy and the benchmark whose floor is built on it. Needs numba."""
    from numba import njit

    float32 = dtype == "float32"
    F = np.float32 if float32 else np.float64
    namespace = {"math": math, "np": np, "njit": njit, "F": F, "ONE": F(1.0), "TWO": F(2.0), "DISK_CACHE": False}
    exec(compile(_tanh_source(float32), "<samscape tanh>", "exec"), namespace)
    return namespace["tanh"]

# DISK_CACHE is not defined here: the loader (compiled.py) sets it in the module before running this text,
# False when there is no private folder for numba's cache files.
_PRELUDE = '''\
import math

import numpy as np
from numba import njit

F = np.{dtype}
ZERO = F(0.0)
ONE = F(1.0)
TWO = F(2.0)
INF = F(math.inf)
pi = F(math.pi)
e = F(math.e)
inf = F(math.inf)
nan = F(math.nan)
W = {lanes}
GOLDEN = np.uint64({golden})
MIX_A = np.uint64({mix_a})
MIX_B = np.uint64({mix_b})
SH30 = np.uint64(30)
SH27 = np.uint64(27)
SH31 = np.uint64(31)
SH11 = np.uint64(11)
TWO53 = {two53!r}
TWO_PI = {two_pi!r}
OK = {ok}  # a start's status codes (samscape.dynamics.contract)
DIVERGED = {diverged}
NONFINITE = {nonfinite}
{namespace}


@njit(error_model="numpy", nogil=True, cache=DISK_CACHE)
def sign(x):
    if x > ZERO:
        return ONE
    if x < ZERO:
        return -ONE
    return ZERO if x == ZERO else x


@njit(error_model="numpy", nogil=True, cache=DISK_CACHE)
def real(x):
    return x


@njit(error_model="numpy", nogil=True, cache=DISK_CACHE)
def imag(x):
    return ZERO


@njit(error_model="numpy", nogil=True, cache=DISK_CACHE)
def mix(z):
    z = (z ^ (z >> SH30)) * MIX_A
    z = (z ^ (z >> SH27)) * MIX_B
    return z ^ (z >> SH31)
'''


class _KernelWriter:
    """Writes the kernels for one (gradient, optimizer structure, dtype).

    Two variants share every line of the update: ``kernel`` keeps each quantity in a row of ``width``
    numbers and loops over the lanes (throughput for many starts); ``kernel1`` keeps it in a scalar local
    and runs one start at a time (the shortest dependency chain, for a single long run).
    """

    def __init__(self, plan: KernelPlan):
        self.plan = plan
        self.float32 = plan.dtype == "float32"
        self.dtype = plan.dtype
        self.dim = plan.dim
        self.has_data = plan.has_data
        self.program = gradient_program(plan.landscape, self.float32)
        # the loss at the saved steps, where no data is summed (a finite sum's loss stays NumPy's)
        self.value = None if self.has_data else value_program(plan.landscape, self.float32)
        self.tree, self.leaves = plan.tree, list(plan.leaves)
        self._assign_rows()
        self.width = plan.lanes  # starts per block of the lane kernel
        self.scalar, self.W = False, self.width
        self.looped = self.dim >= LOOP_FROM_DIM

    def _assign_rows(self):
        d = self.dim
        self.names: list[str] = []  # row -> its name in the generated source

        def take(names: list[str]) -> list[int]:
            start = len(self.names)
            self.names += names
            return list(range(start, len(self.names)))

        self.X, self.XN, self.P, self.G, self.H, self.SG = (
            take([f"{label}{k}" for k in range(d)]) for label in ("X", "XN", "P", "G", "H", "SG"))
        # one row per hyperparameter that each leaf declares per start, in the order HP is packed, and after a
        # scheduled one a row for its value at step t (the base value times SF's factor, see emit_schedules)
        self.hp_rows: list[tuple[int, str]] = []
        self.HP_ROW: dict[tuple[int, str], int] = {}
        self.schedule_rows: list[tuple[int, str]] = []
        self.AT_STEP_ROW: dict[tuple[int, str], int] = {}
        for leaf in self.leaves:
            for name in leaf.per_start:
                self.HP_ROW[leaf.index, name] = take([f"{name.upper()}_{leaf.index}"])[0]
                self.hp_rows.append((leaf.index, name))
                if name in leaf.scheduled:
                    self.AT_STEP_ROW[leaf.index, name] = take([f"{name.upper()}_{leaf.index}_AT_T"])[0]
                    self.schedule_rows.append((leaf.index, name))
        # each array carried between steps (the velocity VEL where a leaf has momentum, ...) and this step's value
        # (VN, ..., committed with XN): {name: (argument, rows, candidate rows)}
        self.stateful = self.plan.stateful
        self.state = {name: (KERNEL_STATE[name][0],) + tuple(take([f"{label}{k}" for k in range(d)])
                                                              for label in KERNEL_STATE[name][1:3])
                      for name in self.plan.state_names}
        self.VEL, self.VN = self.state["velocity"][1:] if "velocity" in self.state else ([], [])
        self.T = take([f"TMP{i}" for i in range(len(self.program.temps))])
        self.D = take([f"DAT{k}" for k in range(self.program.n_data)]) if any(leaf.batched for leaf in self.leaves) else []
        self.n_rows = len(self.names)
        # The eight pairwise accumulators and the summation stack are indexed at run time, so they live in
        # the scratch array S (after the fixed rows in the lane kernel, alone in the scalar one).
        self.n_acc_rows = 8 * d
        self.I_ROWS = 2  # integer rows before the batch rows: status and stopped-at step

    def layout_constants(self) -> str:
        """The named offsets of the generated module: numba folds these globals into the code as constants."""
        W = self.width
        groups = [
            ("X", "the iterate"), ("XN", "the candidate next iterate"), ("P", "the ascent point"),
            ("G", "the gradient the ascent follows"), ("H", "the descent gradient"),
            ("SG", "one sample's gradient"),
            ("TMP", "the gradient's common subexpressions"), ("DAT", "the data of a batched sample"),
        ] + [pair for name in self.state for pair in zip(KERNEL_STATE[name][1:3], KERNEL_STATE[name][3:])]
        out = ["", "# Lane kernel: every per-lane quantity is a row of W numbers in the scratch array S, at these",
               "# offsets (the scalar kernel keeps each in a local s_<NAME> instead)."]
        out += [f"#   {label}<k>: {what}" for label, what in groups]
        out += ["#   <HYPERPARAMETER>_<i>: leaf i's per-start hyperparameter"]
        if self.schedule_rows:
            out += ["#   <HYPERPARAMETER>_<i>_AT_T: its value at step t, where it follows a schedule"]
        out += [f"{name} = {row * W}" for row, name in enumerate(self.names)]
        out += [
            "# then the eight partial sums of a pairwise summation (8 * dim rows) and the summation stack",
            f"R8 = {self.n_rows * W}",
            f"STACK = {(self.n_rows + self.n_acc_rows) * W}",
            "# integer scratch I: status, stopped-at step (lane kernel only), then one row per batch position",
            "ISTATUS = 0",
            f"ISTOP = {W}",
            f"IBATCH = {self.I_ROWS}  # a row number: batch position b of a lane is at I[(IBATCH + b) * W + j]",
            "",
        ]
        return "\n".join(out) + "\n"

    # ------------------------------------------------------------------ addressing
    def at(self, row: int) -> str:
        """Row ``row`` for the current lane: a local of the unrolled one-start kernel, an element of ``V`` in
        the looped one, a row of ``S`` in the lane kernel."""
        if self.scalar:
            return f"V[{row}]" if self.looped else f"s_{self.names[row]}"
        return f"S[{self.names[row]} + j]"

    def hp(self, leaf: Leaf, name: str) -> str:
        """Leaf ``leaf``'s per-start hyperparameter ``name`` for the current lane (at this step, when scheduled)."""
        return self.at(self.AT_STEP_ROW.get((leaf.index, name), self.HP_ROW[leaf.index, name]))

    @property
    def status(self) -> str:
        return "i_status" if self.scalar else "I[ISTATUS + j]"

    @property
    def stopped(self) -> str:
        return "i_stop" if self.scalar else "I[ISTOP + j]"


    def rows(self, rs: list[int]) -> list[str]:
        return [self.at(r) for r in rs]

    def coordinate(self, rs: list[int], index: str = "k") -> str:
        """Coordinate ``index`` (source text) of the consecutive rows ``rs``, for the current lane: how the
        looped update addresses a vector."""
        assert rs == list(range(rs[0], rs[0] + self.dim)), "looped rows must be consecutive"
        if self.scalar:
            return f"V[{rs[0]} + {index}]"
        return f"S[{self.names[rs[0]]} + ({index}) * {self.W} + j]"

    def vector_address(self, rs: list[int]) -> tuple[str, str, str, str]:
        """``(A, base, stride, j)``, source text that addresses the consecutive rows ``rs`` for the current lane as
        ``A[base + k * stride + j]`` (:meth:`coordinate`'s address), for the module's helpers such as ``sumsq``."""
        assert rs == list(range(rs[0], rs[0] + self.dim)), "looped rows must be consecutive"
        return ("V", str(rs[0]), "1", "0") if self.scalar else ("S", self.names[rs[0]], str(self.W), "j")

    def vector_at(self, rs: list[int]) -> str:
        return ", ".join(self.vector_address(rs))

    def lane_loop(self, em: "_Emitter"):
        """A block run for every lane of the lane kernel (once, for its one start, in the scalar kernel)."""
        return contextlib.nullcontext() if self.scalar else em.block("for j in range(w):")

    def over_coordinates(self, em: "_Emitter", statements: list[str]) -> None:
        """``statements`` (written with :meth:`coordinate`'s ``k``) for every coordinate k and lane j, lanes
        innermost so that the compiler vectorizes them."""
        with em.block(f"for k in range({self.dim}):"):
            self.lanes(em, statements)

    @property
    def z(self) -> str:
        return "z_" if self.scalar else "Z[j]"

    @property
    def zs(self) -> str:
        return "zs_" if self.scalar else "ZS[j]"

    def lanes(self, em: "_Emitter", statements: list[str]) -> None:
        if self.scalar:
            for s in statements:
                em.line(s)
        else:
            em.lanes(statements)

    # ------------------------------------------------------------------ gradient
    def emit_sample(self, em: _Emitter, var: list[str], dst: list[str], data: list[str]) -> None:
        """One per-sample gradient from ``var`` into ``dst`` (source text of each coordinate for the current
        lane); a loop over the lanes ends after each statement that calls a function, so that the CPU overlaps
        the lanes' long chains, and cheap statements share the next loop."""
        # one start: the temporaries are locals, also where the looped kernel keeps its rows in V (the
        # gradient is the hot straight-line code, and locals stay in registers)
        temp = [f"s_{self.names[r]}" for r in self.T] if self.scalar else self.rows(self.T)
        pending: list[str] = []
        statements = [(f"{temp[i]} = {_fill(code, var, data, temp)}", bool(_CALL.search(code)))
                      for i, code in enumerate(self.program.temps)]
        statements += [(f"{dst[k]} = {_fill(code, var, data, temp)}", False) for k, code in enumerate(self.program.outputs)]
        for statement, calls in statements:
            pending.append(statement)
            # every value lives in a row of S, so a loop can end anywhere: after a call, and every
            # LANE_LOOP_STATEMENTS statements (numba's type inference grows faster than a loop's body)
            if calls or len(pending) == LANE_LOOP_STATEMENTS:
                self.lanes(em, pending)
                pending = []
        if pending:
            self.lanes(em, pending)

    def emit_grad(self, em: _Emitter, src: list[int], dst: list[int], leaf: Leaf) -> None:
        """``dst = grad L_batch(src)``: the mean of per-sample gradients in NumPy's summation order; for a
        per-sample ascent leaf the mean of each sample's gradient at its own ascent point instead.

        A finite sum calls one of the gradient functions of :meth:`emit_grad_functions`: written once per
        kernel module rather than once per use, so the kernels stay small (numba's compile time grows faster
        than the size of a function).
        """
        if not self.has_data:
            if leaf.per_sample:
                self.emit_per_sample_term(em, leaf, [], self.rows(dst))
            else:
                self.emit_sample(em, self.rows(src), self.rows(dst), [])
            return
        plan = 1 + leaf.index if leaf.batched else 0
        count = f"BSZ[{leaf.index}]" if leaf.batched else "NS"
        name = self.grad_function_name(leaf.batched, leaf if leaf.per_sample else None)
        if self.scalar:
            em.line(f"# the mean gradient over {'the batch' if leaf.batched else 'every sample'}, by {name}1")
            if self.looped:  # a per-sample term reads the iterate and rho from V itself
                self.over_coordinates(em, [f"GS[G1SRC + k] = {self.coordinate(src)}"])
                em.line(f"{name}1(GS, V, DATA, I, PLANS, POFF[{plan}], POFF[{plan + 1}], F({count}))")
                self.over_coordinates(em, [f"{self.coordinate(dst)} = GS[G1DST + k]"])
                return
            for k in range(self.dim):
                em.line(f"GS[G1SRC + {k}] = {self.at(src[k])}")
            if leaf.per_sample:
                em.line(f"GS[G1RHO] = {self.hp(leaf, 'rho')}")
            em.line(f"{name}1(GS, DATA, I, PLANS, POFF[{plan}], POFF[{plan + 1}], F({count}))")
            for k in range(self.dim):
                em.line(f"{self.at(dst[k])} = GS[G1DST + {k}]")
        else:
            for rows in (src, dst):
                assert rows == list(range(rows[0], rows[0] + self.dim)), "a gradient's rows must be consecutive"
            em.line(f"{name}(S, {self.names[src[0]]}, {self.names[dst[0]]}, w, DATA, I, PLANS, "
                    f"POFF[{plan}], POFF[{plan + 1}], F({count}))")

    @staticmethod
    def grad_function_name(batched: bool, per_sample: Leaf | None = None) -> str:
        """The gradient function (lane version; the scalar one adds ``1``): the plain means over every sample or
        a batch are shared, a per-sample ascent leaf has its own (its terms depend on its ascent and its rho)."""
        if per_sample is not None:
            return f"grad_per_sample{per_sample.index}"
        return "grad_batch" if batched else "grad_full"

    def grad_scratch(self) -> str:
        """The scalar kernel's allocation of the gradient functions' scratch ``GS`` (see :meth:`emit_grad_functions`)."""
        return "GS = np.zeros(G1STK + NSTK * G1D, dtype=F)" if self.has_data else ""

    def grad_constants(self) -> str:
        """Offsets into ``GS``, the scratch of the scalar gradient functions: the point, the gradient, one sample's
        gradient, one sample's data, a per-sample ascent's rho, the eight partial sums and the summation stack."""
        d, k = self.dim, self.program.n_data
        return (f"G1D = {d}\nG1SRC = 0\nG1DST = {d}\nG1SG = {2 * d}\nG1DAT = {3 * d}\nG1RHO = {3 * d + k}\n"
                f"G1R8 = {3 * d + k + 1}\nG1STK = {3 * d + k + 1 + 8 * d}\n")

    def emit_grad_functions(self, em: _Emitter) -> None:
        """The mean over samples (``grad_full``) or over a drawn batch (``grad_batch``) of the per-sample gradient,
        and for a per-sample ascent leaf the mean of its per-sample terms (``grad_per_sample<i>``), as functions
        of their own, in a lane version (rows of ``W`` in the kernel's ``S``) and a scalar one (suffix 1, in
        ``GS``). Only the per-sample gradient is written out term by term; the pairwise summation loops over the
        coordinates, so the source grows with the gradient's terms and nothing else."""
        if not self.has_data:
            return
        # every leaf's descent gradient, and a whole-batch ascent's gradient, use the plain means
        wanted = {leaf.batched for leaf in self.leaves if not leaf.per_sample}
        for scalar in (False, True):
            for batched in sorted(wanted):
                self._emit_grad_function(em, scalar, batched)
            for leaf in self.leaves:
                if leaf.per_sample:
                    self._emit_grad_function(em, scalar, leaf.batched, leaf)

    def _emit_grad_function(self, em: _Emitter, scalar: bool, batched: bool, per_sample: Leaf | None = None) -> None:
        self.scalar, self.W = scalar, (1 if scalar else self.width)
        d, W = self.dim, self.W
        leaf = per_sample
        name = self.grad_function_name(batched, leaf) + ("1" if scalar else "")
        arr = "GS" if scalar else "S"
        if scalar:
            src, dst, sg, dat, r8, stk = "G1SRC", "G1DST", "G1SG", "G1DAT", "G1R8", "G1STK"
            at = "k"  # coordinate k of a region
        else:
            src, dst, sg, dat, r8, stk = "src", "dst", "SG0", "DAT0", "R8", "STACK"
            at = f"k * {W} + j"
        dw = d * W  # one region: a row of W per coordinate

        def for_each_coordinate(statement: str) -> None:
            self.over_coordinates(em, [statement.replace("@", at)])

        em.line("@njit(error_model=\"numpy\", nogil=True, cache=DISK_CACHE)")
        args = ("GS, V, DATA, I, PLANS, seg0, seg1, cnt" if self.looped else "GS, DATA, I, PLANS, seg0, seg1, cnt") if scalar else "S, src, dst, w, DATA, I, PLANS, seg0, seg1, cnt"
        em.line(f"def {name}({args}):")
        em.depth += 1
        if scalar:
            em.line("j = 0")
            if leaf and not self.looped:  # the per-sample terms read the iterate and rho as the scalar kernel's locals
                for k in range(d):
                    em.line(f"{self.at(self.X[k])} = GS[G1SRC + {k}]")
                em.line(f"{self.hp(leaf, 'rho')} = GS[G1RHO]")
        em.line("sp = 0")
        with em.block("for seg in range(seg0, seg1):"):
            em.line("s0 = PLANS[seg, 0]")
            em.line("ln = PLANS[seg, 1]")
            em.line("lim = ln - ln % 8")
            em.line(f"top = {stk} + sp * {dw}  # this segment's sum, pushed on the stack")
            with em.block("for q in range(ln):"):
                em.line("p = s0 + q")
                if batched:
                    em.line(f"ib = (IBATCH + p) * {W}")
                    rows = [f"{arr}[{dat} + {k * W} + j]" for k in range(self.program.n_data)]
                    self.lanes(em, [f"{rows[k]} = DATA[I[ib + j], {k}]" for k in range(self.program.n_data)])
                    data = rows
                else:
                    for k in range(self.program.n_data):
                        em.line(f"d{k}_ = DATA[p, {k}]")
                    data = [f"d{k}_" for k in range(self.program.n_data)]
                out = [f"{arr}[{sg} + {k * W} + j]" for k in range(d)]
                if leaf is not None:
                    self.emit_per_sample_term(em, leaf, data, out)
                else:
                    self.emit_sample(em, [f"{arr}[{src} + {k * W} + j]" for k in range(d)], out, data)
                # NumPy's pairwise summation: under 8 terms a running sum; else 8 partial sums over the first
                # lim terms, folded pairwise, then the rest added one by one
                with em.block("if ln < 8:"):
                    with em.block("if q == 0:"):
                        for_each_coordinate(f"{arr}[top + @] = {arr}[{sg} + @]")
                    with em.block("else:"):
                        for_each_coordinate(f"{arr}[top + @] = {arr}[top + @] + {arr}[{sg} + @]")
                with em.block("elif q < 8:"):
                    em.line(f"rb = {r8} + q * {dw}")
                    for_each_coordinate(f"{arr}[rb + @] = {arr}[{sg} + @]")
                with em.block("elif q < lim:"):
                    em.line(f"rb = {r8} + (q % 8) * {dw}")
                    for_each_coordinate(f"{arr}[rb + @] = {arr}[rb + @] + {arr}[{sg} + @]")
                with em.block("else:"):
                    with em.block("if q == lim:"):
                        self._emit_fold(for_each_coordinate, arr, r8, dw)
                    for_each_coordinate(f"{arr}[top + @] = {arr}[top + @] + {arr}[{sg} + @]")
            with em.block("if ln >= 8 and lim == ln:"):
                self._emit_fold(for_each_coordinate, arr, r8, dw)
            em.line("sp += 1")
            with em.block("for c_ in range(PLANS[seg, 2]):"):
                em.line(f"sa = {stk} + (sp - 2) * {dw}")
                em.line(f"sb = sa + {dw}")
                for_each_coordinate(f"{arr}[sa + @] = {arr}[sa + @] + {arr}[sb + @]")
                em.line("sp -= 1")
        for_each_coordinate(f"{arr}[{dst} + @] = {arr}[{stk} + @] / cnt")
        em.depth -= 1
        em.line()
        em.line()

    @staticmethod
    def _emit_fold(for_each_coordinate, arr: str, r8: str, dw: int) -> None:
        r = [f"{arr}[{r8} + {m * dw} + @]" for m in range(8)]
        for_each_coordinate(f"{arr}[top + @] = ((({r[0]} + {r[1]}) + ({r[2]} + {r[3]})) + "
                         f"(({r[4]} + {r[5]}) + ({r[6]} + {r[7]})))")

    # ------------------------------------------------------------------ one optimizer step
    def emit_batch_draw(self, em: _Emitter, leaf: Leaf) -> None:
        self.lanes(em, [f"{self.zs} = mix({self.z} ^ (np.uint64(t) * GOLDEN + np.uint64({draws.STREAM_BATCH})))"])
        with em.block(f"for b in range(BSZ[{leaf.index}]):"):
            em.line("kb = np.uint64(b + 1) * GOLDEN")
            em.line(f"ib = (IBATCH + b) * {self.W}")
            self.lanes(em, [
                f"u_ = np.float64(mix({self.zs} ^ kb) >> SH11) / TWO53",
                "I[ib + j] = min(np.int64(u_ * NS), NS - 1)",
            ])

    def emit_random_ascent(self, em: _Emitter, leaf: Leaf) -> None:
        """``P = X + rho * direction``, the direction exactly as :func:`draws.unit_directions` draws it."""
        d = self.dim
        pairs = (d + 1) // 2
        if self.looped:
            return self._emit_random_ascent_looped(em, leaf)
        golden = int(draws.GOLDEN)
        stmts = [f"q_ = mix({self.z} ^ (np.uint64(t) * GOLDEN + np.uint64({draws.STREAM_DIRECTION})))"]
        for p in range(pairs):
            k_rad, k_ang = (2 * p + 1) * golden % 2**64, (2 * p + 2) * golden % 2**64
            stmts.append(f"ur{p} = np.float64(mix(q_ ^ np.uint64({k_rad})) >> SH11) / TWO53")
            stmts.append(f"ua{p} = np.float64(mix(q_ ^ np.uint64({k_ang})) >> SH11) / TWO53")
            stmts.append(f"rad{p} = math.sqrt(-2.0 * math.log1p(-ur{p}))")
            stmts.append(f"ang{p} = TWO_PI * ua{p}")
        gauss = [f"rad{p} * math.cos(ang{p})" for p in range(pairs)] + [f"rad{p} * math.sin(ang{p})" for p in range(pairs)]
        for k in range(d):
            stmts.append(f"g{k}_ = {gauss[k]}")
        stmts.append(f"dnrm_ = math.sqrt({pairwise_expr([f'g{k}_ * g{k}_' for k in range(d)])})")
        stmts.append("dsf_ = dnrm_ if dnrm_ > 0.0 else 1.0")
        for k in range(d):
            stmts.append(f"v{k}_ = g{k}_ / dsf_")
        stmts.append("v0_ = 1.0 if dnrm_ == 0.0 else v0_")
        rho = self.hp(leaf, "rho")
        for k in range(d):
            stmts.append(f"{self.at(self.P[k])} = {self.at(self.X[k])} + {rho} * F(v{k}_)")
        self.lanes(em, stmts)

    def _emit_random_ascent_looped(self, em: _Emitter, leaf: Leaf) -> None:
        """:meth:`emit_random_ascent` as loops: the Gaussian draws go through ``RND`` (float64, one lane at a
        time), the same numbers in the same order."""
        d, pairs = self.dim, (self.dim + 1) // 2
        P, X = self.coordinate(self.P), self.coordinate(self.X)
        rho = self.hp(leaf, "rho")
        with self.lane_loop(em):
            em.line(f"q_ = mix({self.z} ^ (np.uint64(t) * GOLDEN + np.uint64({draws.STREAM_DIRECTION})))")
            with em.block(f"for p_ in range({pairs}):"):
                em.line("ur_ = np.float64(mix(q_ ^ (np.uint64(2 * p_ + 1) * GOLDEN)) >> SH11) / TWO53")
                em.line("ua_ = np.float64(mix(q_ ^ (np.uint64(2 * p_ + 2) * GOLDEN)) >> SH11) / TWO53")
                em.line("rad_ = math.sqrt(-2.0 * math.log1p(-ur_))")
                em.line("ang_ = TWO_PI * ua_")
                em.line("RND[p_] = rad_ * math.cos(ang_)")
                with em.block(f"if p_ + {pairs} < {d}:"):
                    em.line(f"RND[p_ + {pairs}] = rad_ * math.sin(ang_)")
            em.line("dss_ = sumsq(RND, 0, 1, 0)")
            em.line("dnrm_ = math.sqrt(dss_)")
            em.line("dsf_ = dnrm_ if dnrm_ > 0.0 else 1.0")
            with em.block(f"for k in range({d}):"):
                em.line(f"{P} = {X} + {rho} * F(1.0 if ((k == 0) & (dnrm_ == 0.0)) else RND[k] / dsf_)")

    # One emitter per ``Optimizer.ascent``: each writes the ascent point P from the iterate X, exactly as the
    # optimizer's NumPy ``perturbed_point`` computes it (ASCENT_EMITTERS below maps the names to them).
    def emit_normalized_ascent(self, em: _Emitter, leaf: Leaf) -> None:
        """SAM: ``P = X + rho * G/||G||`` with ``G = grad L(X)`` (see :meth:`emit_normalized_point`)."""
        self.emit_grad(em, self.X, self.G, leaf)
        self.emit_normalized_point(em, leaf)

    def emit_momentum_ascent(self, em: _Emitter, leaf: Leaf) -> None:
        """MSAM: ``P = X + (-rho) * VN/||VN||`` (``P = X`` where ``VN = 0``), ``VN`` the velocity the step starts
        from: :func:`samscape.dynamics.optimizers.momentum_ascent`'s ``x - rho v/||v||`` bit for bit (``a + (-b)``
        is ``a - b`` in IEEE arithmetic, and ``(-rho) u`` is ``-(rho u)``)."""
        self.emit_normalized_point(em, leaf, src=self.VN, scale=f"(-{self.hp(leaf, 'rho')})")

    def emit_unnormalized_ascent(self, em: _Emitter, leaf: Leaf) -> None:
        """USAM: ``P = X + rho * grad L(X)``."""
        self.emit_grad(em, self.X, self.G, leaf)
        self.emit_unnormalized_point(em, leaf)

    # The ascent point from an ascent gradient already in G, per ``Optimizer.ascent`` (ASCENT_POINT_EMITTERS):
    # the whole-batch ascents above and the per-sample ascent share them.
    def emit_normalized_point(self, em: _Emitter, leaf: Leaf, *, src=None, base=None, out=None, scale=None,
                              point=None) -> None:
        """``P = X + rho * G/||G||``, and ``P = X`` where ``G`` is exactly zero or not finite, as
        :func:`samscape.dynamics.unit` computes it: ``||G|| = sqrt(sum G**2)`` where that sum lies in
        :func:`~samscape.dynamics.optimizers.squared_norm_range`, else ``G`` is first divided by ``max |G_k|``.

        The rare rescaling runs in a second pass over the lanes, only when some lane needs it, so the common
        pass stays one division per coordinate and its range test stays off the dependency chain.

        The other ascents reuse it: ``src``, ``base`` and ``out`` are other rows for ``G``, ``X`` and ``P``,
        ``scale`` other source text for ``rho``, and ``point(k, u)`` the source text of coordinate ``k`` of the
        point from coordinate ``k`` of the unit vector (``u``, source text): ``base_k + scale * (u)`` by default.
        A ``point`` of its own is written out per coordinate also in a looped kernel.
        """
        if self.looped and point is None:
            return self._emit_normalized_point_looped(em, leaf, src=src, base=base, out=out, scale=scale)
        d = self.dim
        X, P, G = (self.rows(r) for r in (base or self.X, out or self.P, src or self.G))
        rho = scale or self.hp(leaf, "rho")
        if point is None:
            point = lambda k, u: f"{X[k]} + {rho} * ({u})"  # noqa: E731
        low, high = (f"F({v!r})" for v in squared_norm_range(self.dtype))
        squared = pairwise_expr([f"{G[k]} * {G[k]}" for k in range(d)])
        em.line("# the norm from the sum of squares where that sum neither underflows nor overflows")
        em.line("rescale_ = 0")
        self.lanes(em, [f"ss_ = {squared}",
                        "nrm_ = math.sqrt(ss_)"]
                   + [f"{P[k]} = {point(k, f'{G[k]} / nrm_')}" for k in range(d)]
                   + [f"rescale_ += 0 if ((ss_ >= {low}) & (ss_ <= {high})) else 1"])
        em.line("# elsewhere divide by max |G_k| first; a zero or non-finite G gives no perturbation")
        with em.block("if rescale_ > 0:"):
            peak = f"abs({G[0]})" if d == 1 else "max(" + ", ".join(f"abs({g})" for g in G) + ")"
            scaled = pairwise_expr([f"h{k}_ * h{k}_" for k in range(d)])
            with (em.block("for j in range(w):") if not self.scalar else contextlib.nullcontext()):
                em.line(f"ss_ = {squared}")
                with em.block(f"if not ((ss_ >= {low}) & (ss_ <= {high})):"):
                    em.line(f"s_ = {peak}")
                    for k in range(d):
                        em.line(f"h{k}_ = {G[k]} / s_")
                    em.line(f"nrm_ = math.sqrt({scaled})")
                    em.line("ok_ = (nrm_ > ZERO) & (nrm_ < INF)")
                    for k in range(d):
                        em.line(f"{P[k]} = {point(k, f'h{k}_ / nrm_ if ok_ else ZERO')}")

    def _emit_normalized_point_looped(self, em: _Emitter, leaf: Leaf, *, src=None, base=None, out=None,
                                      scale=None) -> None:
        """:meth:`emit_normalized_point` as loops over the coordinates, one lane at a time (the sums of squares
        are sequential within a lane); the same operations in the same order."""
        d = self.dim
        src, base, out = src or self.G, base or self.X, out or self.P
        X, P, G = (self.coordinate(r) for r in (base, out, src))
        rho = scale or self.hp(leaf, "rho")
        low, high = (f"F({v!r})" for v in squared_norm_range(self.dtype))
        in_range = f"((ss_ >= {low}) & (ss_ <= {high}))"
        em.line("# the norm from the sum of squares where that sum neither underflows nor overflows")
        em.line("rescale_ = 0")
        with self.lane_loop(em):
            em.line(f"ss_ = sumsq({self.vector_at(src)})")
            em.line("nrm_ = math.sqrt(ss_)")
            with em.block(f"for k in range({d}):"):
                em.line(f"{P} = {X} + {rho} * ({G} / nrm_)")
            em.line(f"rescale_ += 0 if {in_range} else 1")
        em.line("# elsewhere divide by max |G_k| first; a zero or non-finite G gives no perturbation")
        with em.block("if rescale_ > 0:"):
            with self.lane_loop(em):
                em.line(f"ss_ = sumsq({self.vector_at(src)})")
                with em.block(f"if not {in_range}:"):
                    arr, g_base, stride, lane = self.vector_address(src)
                    x_base, p_base = self.vector_address(base)[1], self.vector_address(out)[1]
                    em.line(f"rescaled_point({arr}, {g_base}, {x_base}, {p_base}, {stride}, {lane}, {rho})")

    # The ascents of several steps and the reweighted ones (MultiStepSAM, MultiStepUSAM, ASAM, UnifiedSAM): each
    # follows its class's ``perturbed_point`` operation for operation.
    def each_coordinate(self, em: _Emitter, statement) -> None:
        """``statement(c)`` for every coordinate, ``c(rows)`` giving the source text of the coordinate of ``rows``:
        a loop over the coordinates in a looped kernel, one statement per coordinate otherwise."""
        if self.looped:
            self.over_coordinates(em, [statement(self.coordinate)])
        else:
            self.lanes(em, [statement(lambda rows, k=k: self.at(rows[k])) for k in range(self.dim)])

    def emit_repeated_ascent(self, em: _Emitter, leaf: Leaf) -> None:
        """MultiStepUSAM: ``P = X``, then ``steps_ascent`` times ``P = P + rho * grad L(P)``."""
        rho = self.hp(leaf, "rho")
        self.each_coordinate(em, lambda c: f"{c(self.P)} = {c(self.X)}")
        with em.block(f"for a_ in range({leaf.constant('steps_ascent')}):"):
            self.emit_grad(em, self.P, self.G, leaf)
            self.each_coordinate(em, lambda c: f"{c(self.P)} = {c(self.P)} + {rho} * {c(self.G)}")

    def emit_projected_ascent(self, em: _Emitter, leaf: Leaf) -> None:
        """MultiStepSAM: ``P = X``, then ``steps_ascent`` times ``XN = P + alpha * G/||G||`` (``G = grad L(P)``,
        the normalized point's zero-gradient rule) and ``P = X + D * (rho/||D||)`` with ``D = XN - X`` (kept in
        H) where ``||D|| > rho``, ``P = XN`` elsewhere."""
        rho, alpha = self.hp(leaf, "rho"), self.hp(leaf, "alpha")
        self.each_coordinate(em, lambda c: f"{c(self.P)} = {c(self.X)}")
        with em.block(f"for a_ in range({leaf.constant('steps_ascent')}):"):
            self.emit_grad(em, self.P, self.G, leaf)
            self.emit_normalized_point(em, leaf, base=self.P, out=self.XN, scale=alpha)
            self.each_coordinate(em, lambda c: f"{c(self.H)} = {c(self.XN)} - {c(self.X)}")
            if self.looped:
                X, XN, P, D = (self.coordinate(r) for r in (self.X, self.XN, self.P, self.H))
                with self.lane_loop(em):
                    em.line(f"dn_ = math.sqrt(sumsq({self.vector_at(self.H)}))")
                    with em.block(f"for k in range({self.dim}):"):
                        em.line(f"{P} = ({X} + {D} * ({rho} / dn_)) if dn_ > {rho} else {XN}")
            else:
                X, XN, P, D = (self.rows(r) for r in (self.X, self.XN, self.P, self.H))
                squared = pairwise_expr([f"{D[k]} * {D[k]}" for k in range(self.dim)])
                self.lanes(em, [f"dn_ = math.sqrt({squared})"]
                           + [f"{P[k]} = ({X[k]} + {D[k]} * ({rho} / dn_)) if dn_ > {rho} else {XN[k]}"
                              for k in range(self.dim)])

    def emit_adaptive_ascent(self, em: _Emitter, leaf: Leaf) -> None:
        """ASAM: ``P = X + rho * (T * u)``, ``u`` the unit vector of ``T * G`` (kept in H), ``T = |X| + eta_a``,
        ``G = grad L(X)``."""
        rho, eta = self.hp(leaf, "rho"), self.hp(leaf, "eta_a")
        self.emit_grad(em, self.X, self.G, leaf)
        self.each_coordinate(em, lambda c: f"{c(self.H)} = (abs({c(self.X)}) + {eta}) * {c(self.G)}")
        X = self.rows(self.X)
        self.emit_normalized_point(em, leaf, src=self.H,
                                   point=lambda k, u: f"{X[k]} + {rho} * ((abs({X[k]}) + {eta}) * ({u}))")

    def emit_unified_ascent(self, em: _Emitter, leaf: Leaf) -> None:
        """UnifiedSAM: ``P = X + rho * ((G - lam_u * G) + lam_u * G/||G||)``, ``G = grad L(X)``."""
        rho, lam = self.hp(leaf, "rho"), self.hp(leaf, "lam_u")
        self.emit_grad(em, self.X, self.G, leaf)
        X, G = self.rows(self.X), self.rows(self.G)
        self.emit_normalized_point(em, leaf, point=lambda k, u: f"{X[k]} + {rho} * (({G[k]} - {lam} * {G[k]}) + "
                                                                 f"{lam} * ({u}))")

    def emit_surrogate_gap_descent(self, em: _Emitter, leaf: Leaf) -> None:
        """GSAM: ``H = H - alpha * (G - (G . u) * u)``, ``u`` the unit vector of ``H`` (kept in XN), as
        :func:`samscape.dynamics.optimizers.surrogate_gap_direction` computes it."""
        alpha = self.hp(leaf, "alpha")
        self.emit_normalized_point(em, leaf, src=self.H, out=self.XN, point=lambda k, u: u)
        G, H, U = (self.rows(r) for r in (self.G, self.H, self.XN))
        along = pairwise_expr([f"{G[k]} * {U[k]}" for k in range(self.dim)])
        self.lanes(em, [f"al_ = {along}"] + [f"{H[k]} = {H[k]} - {alpha} * ({G[k]} - al_ * {U[k]})"
                                             for k in range(self.dim)])

    def emit_stable_descent(self, em: _Emitter, leaf: Leaf) -> None:
        """StableSAM: ``H = sqrt(sum G**2) * u``, ``u`` the unit vector of ``H`` (kept in XN)."""
        self.emit_normalized_point(em, leaf, src=self.H, out=self.XN, point=lambda k, u: u)
        G, H, U = (self.rows(r) for r in (self.G, self.H, self.XN))
        norm = f"math.sqrt({pairwise_expr([f'{G[k]} * {G[k]}' for k in range(self.dim)])})"
        self.lanes(em, [f"gn_ = {norm}"] + [f"{H[k]} = gn_ * {U[k]}" for k in range(self.dim)])

    def emit_periodic_direction(self, em: _Emitter, leaf: Leaf) -> None:
        """LookSAM, from ``G = grad L(X)``: where ``t % period == 0`` SAM's ``H = grad L(X + rho * G/||G||)`` and the
        stored direction ``ORN = H - (H . u) * u``, ``u`` the unit vector of ``G`` (kept in XN); elsewhere
        ``H = G + (alpha * sqrt(sum G**2)) * u``, ``u`` the unit vector of ORN (kept in XN). As
        :class:`samscape.dynamics.LookSAM`'s ``orthogonal_part`` and ``reuse_direction`` compute them."""
        G, H, U = (self.rows(r) for r in (self.G, self.H, self.XN))
        stored = self.state["orthogonal_gradient"][2]
        self.emit_grad(em, self.X, self.G, leaf)
        with em.block(f"if t % {leaf.constant('period')} == 0:"):
            em.line("# SAM's step, and the part of its gradient orthogonal to G, stored")
            self.emit_normalized_point(em, leaf)
            self.emit_grad(em, self.P, self.H, leaf)
            self.emit_normalized_point(em, leaf, out=self.XN, point=lambda k, u: u)
            along = pairwise_expr([f"{H[k]} * {U[k]}" for k in range(self.dim)])
            kept = self.rows(stored)
            self.lanes(em, [f"al_ = {along}"] + [f"{kept[k]} = {H[k]} - al_ * {U[k]}" for k in range(self.dim)])
        with em.block("else:"):
            em.line("# the gradient plus the stored direction, scaled to alpha ||G||")
            self.emit_normalized_point(em, leaf, src=stored, out=self.XN, point=lambda k, u: u)
            norm = f"math.sqrt({pairwise_expr([f'{G[k]} * {G[k]}' for k in range(self.dim)])})"
            alpha = self.hp(leaf, "alpha")
            self.lanes(em, [f"gn_ = {norm}"] + [f"{H[k]} = {G[k]} + ({alpha} * gn_) * {U[k]}"
                                                for k in range(self.dim)])

    def emit_penalty_descent(self, em: _Emitter, leaf: Leaf) -> None:
        """GNP: ``H = (G - alpha * G) + alpha * H`` (:func:`~samscape.dynamics.optimizers.mixed_direction`)."""
        self._emit_mixed_descent(em, self.hp(leaf, "alpha"))

    def emit_weighted_descent(self, em: _Emitter, leaf: Leaf) -> None:
        """WSAM: the mixed direction of GNP with the weight ``gamma / (1 - gamma)``."""
        gamma = self.hp(leaf, "gamma")
        self._emit_mixed_descent(em, f"({gamma} / (ONE - {gamma}))")

    def _emit_mixed_descent(self, em: _Emitter, weight: str) -> None:
        self.each_coordinate(em, lambda c: f"{c(self.H)} = ({c(self.G)} - {weight} * {c(self.G)}) + {weight} * {c(self.H)}")

    def emit_sign_ascent(self, em: _Emitter, leaf: Leaf) -> None:
        """SignSAM: ``P = X + rho * sign(G)``, ``G = grad L(X)``."""
        rho = self.hp(leaf, "rho")
        self.emit_grad(em, self.X, self.G, leaf)
        self.each_coordinate(em, lambda c: f"{c(self.P)} = {c(self.X)} + {rho} * sign({c(self.G)})")

    def emit_unnormalized_point(self, em: _Emitter, leaf: Leaf) -> None:
        """``P = X + rho * G``."""
        rho = self.hp(leaf, "rho")
        if self.looped:
            X, P, G = (self.coordinate(r) for r in (self.X, self.P, self.G))
            self.over_coordinates(em, [f"{P} = {X} + {rho} * {G}"])
            return
        X, P, G = (self.rows(r) for r in (self.X, self.P, self.G))
        self.lanes(em, [f"{P[k]} = {X[k]} + {rho} * {G[k]}" for k in range(self.dim)])

    def emit_per_sample_step(self, em: _Emitter, leaf: Leaf) -> None:
        """The per-sample ascent (``Optimizer.ascent_per_sample``): ``H = mean_i grad l_i(P_i)`` over the batch,
        ``P_i`` sample i's own ascent point from ``G = grad l_i(X)``, in the order of the NumPy mean."""
        self.emit_grad(em, self.X, self.H, leaf)

    def emit_per_sample_term(self, em: _Emitter, leaf: Leaf, data: list[str], out: list[str]) -> None:
        """One sample's term of the per-sample ascent: ``out = grad l(P)``, ``P`` this sample's ascent point
        from ``G = grad l(X)`` (``data`` is the sample's data, ``out`` the source text of each coordinate)."""
        self.emit_sample(em, self.rows(self.X), self.rows(self.G), data)
        ASCENT_POINT_EMITTERS[leaf.ascent](self, em, leaf)
        self.emit_sample(em, self.rows(self.P), out, data)

    def emit_leaf(self, em: _Emitter, leaf: Leaf) -> None:
        d = self.dim
        X, H, XN = (self.rows(r) for r in (self.X, self.H, self.XN))
        em.line(f"# ---- {leaf.kind} (leaf {leaf.index}): {leaf.ascent or 'no'} ascent, "
                f"{'a mini-batch' if leaf.batched else 'the full batch'}")
        if leaf.scheduled:
            self.emit_schedules(em, leaf)
        if leaf.batched:
            em.line(f"# this step's mini-batch: BSZ[{leaf.index}] sample indices per lane, into I from row IBATCH on")
            self.emit_batch_draw(em, leaf)
        if leaf.ascent is None:
            em.line("# descent gradient at the iterate: H = grad L(X)")
            self.emit_grad(em, self.X, self.H, leaf)
        elif leaf.ascent in DIRECTION_EMITTERS:
            em.line(f"# the step's direction H ({leaf.ascent})")
            DIRECTION_EMITTERS[leaf.ascent](self, em, leaf)
        elif leaf.per_sample:
            em.line(f"# descent gradient: H = mean over the batch of grad l_i(P_i), P_i sample i's own ascent point ({leaf.ascent})")
            self.emit_per_sample_step(em, leaf)
        else:
            em.line(f"# ascent point P ({leaf.ascent})")
            ASCENT_EMITTERS[leaf.ascent](self, em, leaf)
            em.line("# descent gradient at the ascent point: H = grad L(P)")
            self.emit_grad(em, self.P, self.H, leaf)
            if leaf.ascent in DESCENT_EMITTERS:
                em.line(f"# the descent direction of a {leaf.ascent} step, from H and the ascent gradient G")
                DESCENT_EMITTERS[leaf.ascent](self, em, leaf)
        if leaf.momentum:
            return self.emit_momentum_descent(em, leaf)
        em.line("# descent: XN = X - lr * H")
        lr = self.hp(leaf, "lr")
        if self.looped:
            X, H, XN = (self.coordinate(r) for r in (self.X, self.H, self.XN))
            self.over_coordinates(em, [f"{XN} = {X} - {lr} * {H}"])
        else:
            self.lanes(em, [f"{XN[k]} = {X[k]} - {lr} * {H[k]}" for k in range(d)])

    def emit_schedules(self, em: _Emitter, leaf: Leaf) -> None:
        """The scheduled hyperparameters of step t: each base value times its factor, which the host computed for
        this call's steps (``Schedule.factor_table``, the NumPy backend's own) and passed in ``SF``."""
        em.line(f"# this step's {', '.join(leaf.scheduled)}: the value times the schedule's factor of step t (host's SF)")
        self.lanes(em, [f"{self.hp(leaf, name)} = {self.at(self.HP_ROW[leaf.index, name])} * "
                        f"SF[{self.schedule_rows.index((leaf.index, name))}, t - t0]" for name in leaf.scheduled])

    def emit_momentum_descent(self, em: _Emitter, leaf: Leaf) -> None:
        """``VN = m * VN + H``, then ``XN = X - lr * VN`` (heavy ball) or ``XN = X - lr * (H + m * VN)`` (Nesterov):
        :meth:`samscape.dynamics.optimizers._Plain.advance`, operation for operation. VN holds the velocity the step
        starts from (see :meth:`emit_step_state`)."""
        lr, m = self.hp(leaf, "lr"), self.hp(leaf, "momentum")
        em.line(f"# descent with momentum ({leaf.momentum}): VN = m * VN + H, then XN")
        self.each_coordinate(em, lambda c: f"{c(self.VN)} = {m} * {c(self.VN)} + {c(self.H)}")
        if leaf.momentum == "nesterov":
            self.each_coordinate(em, lambda c: f"{c(self.XN)} = {c(self.X)} - {lr} * ({c(self.H)} + {m} * {c(self.VN)})")
        else:
            self.each_coordinate(em, lambda c: f"{c(self.XN)} = {c(self.X)} - {lr} * {c(self.VN)}")

    def emit_step_state(self, em: _Emitter) -> None:
        """The velocity a step starts from, ``VN = VEL``: a leaf with momentum updates VN, one without hands it on,
        a Switch with ``state="reset"`` zeroes it at its step, and the commit keeps it only where it keeps XN (a
        frozen start keeps its velocity, as in NumPy)."""
        for name, (_, rows, candidate) in self.state.items():
            what = "the velocity" if name == "velocity" else KERNEL_STATE[name][3]
            em.line(f"# {what} this step starts from (committed with XN)")
            self.each_coordinate(em, lambda c, rows=rows, candidate=candidate: f"{c(candidate)} = {c(rows)}")

    def emit_tree(self, em: _Emitter, node) -> None:
        if isinstance(node, Fork):
            with em.block(f"if t < ATS[{node.index}]:"):
                self.emit_tree(em, node.first)
            with em.block("else:"):
                if node.reset:
                    with em.block(f"if t == ATS[{node.index}]:"):
                        em.line("# the Switch's state='reset': the second part starts from zero "
                                f"{'velocity' if list(self.state) == ['velocity'] else 'state'}")
                        for _, _, candidate in self.state.values():
                            self.each_coordinate(em, lambda c, candidate=candidate: f"{c(candidate)} = ZERO")
                self.emit_tree(em, node.second)
        else:
            self.emit_leaf(em, node)

    def emit_commit(self, em: _Emitter) -> None:
        """Accept the new iterate, or freeze the start (same rule as :func:`integrate.numpy_backend`)."""
        if self.looped:
            return self._emit_commit_looped(em)
        d = self.dim
        X, XN = self.rows(self.X), self.rows(self.XN)
        st, sp = self.status, self.stopped
        finite = " & ".join(f"(abs(xn{k}_) < INF)" for k in range(d))
        norm = pairwise_expr([f"xn{k}_ * xn{k}_" for k in range(d)])
        stmts = [f"xn{k}_ = {XN[k]}" for k in range(d)]
        stmts += [
            f"fin_ = {finite}",
            # sqrt(s) > bound exactly when s > FAR2 (see contract.far_threshold): one square root less
            f"far_ = fin_ & (({norm}) > FAR2)",
            f"st_ = {st}",
            "run_ = st_ == OK",
            "take_ = run_ & fin_",
            "stop_ = run_ & ((not fin_) | far_)",
        ]
        accept = [f"{X[k]} = xn{k}_ if take_ else {X[k]}" for k in range(d)]
        # the state's rows and candidate rows (none without state)
        carried = [pair for _, rows, candidate in self.state.values()
                   for pair in zip(self.rows(rows), self.rows(candidate))]
        accept += [f"{v} = {vn} if take_ else {v}" for v, vn in carried]
        rest = [
            f"{st} = ((DIVERGED if fin_ else NONFINITE) if stop_ else st_)",
            f"{sp} = (t + 1 if stop_ else {sp})",
            "alive += 1 if (take_ & (not far_)) else 0",
        ]
        em.line("# commit: accept XN, or freeze the start where XN left the bound or is not finite")
        em.line("alive = 0")
        if self.scalar:
            # one branch rather than a conditional expression per coordinate: each of those is two blocks
            # for numba, whose compile time grows with blocks times variables (one start: no lanes to vectorize)
            self.lanes(em, stmts)
            with em.block("if take_:"):
                for k in range(d):
                    em.line(f"{X[k]} = xn{k}_")
                for v, vn in carried:
                    em.line(f"{v} = {vn}")
            self.lanes(em, rest)
        else:
            # The usual case first, in one pass of floating-point work the compiler vectorizes: every lane of the
            # block still running (running_ counts them) and its XN inside the bound, which also makes it finite
            # (a sum of squares that is neither inf nor NaN); then the whole block takes XN. Otherwise the
            # lane-by-lane rule decides, with the same outcome for such lanes.
            em.line("ok_ = 0")
            self.lanes(em, stmts[:d] + [f"ok_ += 1 if (({norm}) <= FAR2) else 0"])
            with em.block("if (ok_ == w) & (running_ == w):"):
                self.lanes(em, [f"{X[k]} = {XN[k]}" for k in range(d)] + [f"{v} = {vn}" for v, vn in carried])
                em.line("alive = w")
            with em.block("else:"):
                em.line("running_ = 0")
                self.lanes(em, stmts + accept + rest + [f"running_ += 1 if {st} == OK else 0"])

    def _emit_commit_looped(self, em: _Emitter) -> None:
        """:meth:`emit_commit` as loops over the coordinates, one lane at a time."""
        d = self.dim
        X, XN = self.coordinate(self.X), self.coordinate(self.XN)
        st, sp = self.status, self.stopped
        em.line("# commit: accept XN, or freeze the start where XN left the bound or is not finite")
        em.line("alive = 0")
        with self.lane_loop(em):
            em.line("fin_ = True")
            with em.block(f"for k in range({d}):"):
                em.line(f"fin_ = fin_ & (abs({XN}) < INF)")
            em.line(f"nn_ = sumsq({self.vector_at(self.XN)})")
            # sqrt(s) > bound exactly when s > FAR2 (see contract.far_threshold): one square root less
            em.line("far_ = fin_ & (nn_ > FAR2)")
            em.line(f"st_ = {st}")
            em.line("run_ = st_ == OK")
            em.line("take_ = run_ & fin_")
            em.line("stop_ = run_ & ((not fin_) | far_)")
            with em.block("if take_:"):
                with em.block(f"for k in range({d}):"):
                    em.line(f"{X} = {XN}")
                    for _, rows, candidate in self.state.values():
                        em.line(f"{self.coordinate(rows)} = {self.coordinate(candidate)}")
            em.line(f"{st} = ((DIVERGED if fin_ else NONFINITE) if stop_ else st_)")
            em.line(f"{sp} = (t + 1 if stop_ else {sp})")
            em.line("alive += 1 if (take_ & (not far_)) else 0")

    def emit_save(self, em: _Emitter) -> None:
        em.line("# the iterates of a saved step")
        if self.scalar and self.looped:
            self.over_coordinates(em, [f"XS[slot, lo + j, k] = {self.coordinate(self.X)}"])
        elif self.scalar:
            for k in range(self.dim):
                em.line(f"XS[slot, lo + j, {k}] = {self.at(self.X[k])}")
        else:
            # one loop over the coordinates, not one loop per coordinate: numba's compile time grows with the
            # number of loops in a kernel (the rows X<k> are consecutive)
            with em.block(f"for k in range({self.dim}):"):
                self.lanes(em, [f"XS[slot, lo + j, k] = S[{self.names[self.X[0]]} + k * {self.W} + j]"])
        em.line("slot += 1")

    # ------------------------------------------------------------------ the kernels
    def emit_kernel(self, em: _Emitter, name: str, scalar: bool) -> None:
        self.scalar, self.W = scalar, (1 if scalar else self.width)
        d, W = self.dim, self.W
        em.line("@njit(error_model=\"numpy\", nogil=True, cache=DISK_CACHE)")
        # VST, the velocity (n_starts, dim), only where a leaf has momentum (and the other state arrays, where
        # carried), and SF, the factors of the scheduled hyperparameters, only where one is: other kernels are as
        # they were
        carried = "".join(f"{argument}, " for argument, _, _ in self.state.values())
        em.line(f"def {name}(XST, {carried}STATUS, STOPPED, XS, SAVED, slot0, t0, t1, blk0, "
                f"blk1, HP, DATA, ZSEED, IDS, FAR2, ATS, BSZ, PLANS, POFF, NSTK, BMAX{', SF' if self.schedule_rows else ''}):")
        em.depth += 1
        em.line("n = XST.shape[0]")
        em.line("nsaved = SAVED.shape[0]")
        em.line("NS = DATA.shape[0]")
        # the lane kernel's scratch: its rows, the eight partial sums of a pairwise summation and the stack
        if not scalar:  # the scalar kernel keeps its rows in locals (or V) and sums in its gradient functions' GS
            em.line(f"S = np.zeros(({self.n_rows + self.n_acc_rows} + NSTK * {d}) * {W}, dtype=F)")
        em.line(f"I = np.zeros((IBATCH + BMAX) * {W}, dtype=np.int64)")
        if scalar:
            em.line(self.grad_scratch())
            em.line("j = 0")
            if self.looped:
                em.line(f"V = np.zeros({self.n_rows}, dtype=F)  # the rows, indexed by row number")
        else:
            em.line(f"Z = np.zeros({W}, dtype=np.uint64)")
            em.line(f"ZS = np.zeros({W}, dtype=np.uint64)")
        if self.looped and any(leaf.ascent == "random" for leaf in self.leaves):
            em.line(f"RND = np.zeros({d}, dtype=np.float64)  # one lane's Gaussian draws")
        with em.block("for blk in range(blk0, blk1):"):
            em.line(f"lo = blk * {W}")
            em.line(f"w = min({W}, n - lo)")
            em.line("# load the block's state: iterates, per-start hyperparameters, status, the start's hash")
            load = []
            if scalar and not self.looped:  # every local defined on every path, so numba types them once
                load += [f"{self.at(r)} = ZERO" for r in range(self.n_rows)]
                load += ["zs_ = np.uint64(0)"]
            if self.looped:
                self.over_coordinates(em, [f"{self.coordinate(self.X)} = XST[lo + j, k]"]
                                      + [f"{self.coordinate(rows)} = {argument}[lo + j, k]"
                                         for argument, rows, _ in self.state.values()])
            else:
                load += [f"{self.at(self.X[k])} = XST[lo + j, {k}]" for k in range(d)]
                load += [f"{self.at(row)} = {argument}[lo + j, {k}]"
                         for argument, rows, _ in self.state.values() for k, row in enumerate(rows)]
            for h, (leaf_index, name) in enumerate(self.hp_rows):
                load.append(f"{self.at(self.HP_ROW[leaf_index, name])} = HP[{h}, lo + j]")
            load += [f"{self.status} = np.int64(STATUS[lo + j])",
                     f"{self.stopped} = STOPPED[lo + j]",
                     f"{self.z} = mix(ZSEED ^ (IDS[lo + j] + GOLDEN))"]
            self.lanes(em, load)
            if not scalar and not self.looped:
                em.line("running_ = 0  # lanes of the block whose status is OK (the commit's fast path)")
                self.lanes(em, [f"running_ += 1 if {self.status} == OK else 0"])
            em.line("slot = slot0")
            em.line("t = t0")
            with em.block("while t < t1:"):
                em.line("# one step of every lane of the block")
                self.emit_step_state(em)
                self.emit_tree(em, self.tree)
                self.emit_commit(em)
                em.line("t += 1")
                with em.block("if slot < nsaved and SAVED[slot] == t:"):
                    self.emit_save(em)
                with em.block("if alive == 0:"):
                    em.line("break")
            # every start of the block is frozen: the remaining saved steps all hold the frozen points
            with em.block("while slot < nsaved and SAVED[slot] <= t1:"):
                self.emit_save(em)
            em.line("# store the block's state for the next call")
            if self.looped:
                self.over_coordinates(em, [f"XST[lo + j, k] = {self.coordinate(self.X)}"]
                                      + [f"{argument}[lo + j, k] = {self.coordinate(rows)}"
                                         for argument, rows, _ in self.state.values()])
                store = []
            else:
                store = [f"XST[lo + j, {k}] = {self.at(self.X[k])}" for k in range(d)]
                store += [f"{argument}[lo + j, {k}] = {self.at(row)}"
                          for argument, rows, _ in self.state.values() for k, row in enumerate(rows)]
            store += [f"STATUS[lo + j] = {self.status}", f"STOPPED[lo + j] = {self.stopped}"]
            self.lanes(em, store)
        em.depth -= 1
        em.line()
        em.line()

    def emit_sum_of_squares_functions(self, em: _Emitter) -> None:
        """``sumsq(A, base, stride, j)``: NumPy's pairwise sum over the coordinates k of ``A[base + k*stride + j]``
        squared, and ``sumsq_scaled(..., scale)`` of ``A[...] / scale`` squared: the looped update's norms
        (ascent, rescaled ascent, bound check, random direction) written once per module rather than at every
        use, since numba's type inference grows faster than a function's length."""
        for name, extra, term in (
            ("sumsq", "", lambda i: f"A[base + ({i}) * stride + j] * A[base + ({i}) * stride + j]"),
            ("sumsq_scaled", ", scale", lambda i: f"(A[base + ({i}) * stride + j] / scale) * "
                                                  f"(A[base + ({i}) * stride + j] / scale)"),
        ):
            em.line("@njit(error_model=\"numpy\", nogil=True, cache=DISK_CACHE)")
            with em.block(f"def {name}(A, base, stride, j{extra}):"):
                emit_pairwise_loop(em, "s_", term, 0, self.dim)
                em.line("return s_")
            em.line()
            em.line()
        # the normalized ascent point where the sum of squares of G under- or overflows: divide by max |G_k| first
        # (rarely taken; a function of its own keeps it out of the kernels' type inference)
        em.line("@njit(error_model=\"numpy\", nogil=True, cache=DISK_CACHE)")
        with em.block("def rescaled_point(A, g, x, p, stride, j, rho):"):
            em.line("s_ = abs(A[g + j])")
            with em.block(f"for k in range(1, {self.dim}):"):
                em.line("s_ = max(s_, abs(A[g + k * stride + j]))")
            em.line("nrm_ = math.sqrt(sumsq_scaled(A, g, stride, j, s_))")
            em.line("ok_ = (nrm_ > ZERO) & (nrm_ < INF)")
            with em.block(f"for k in range({self.dim}):"):
                em.line("A[p + k * stride + j] = A[x + k * stride + j] + rho * ((A[g + k * stride + j] / s_) / nrm_ "
                        "if ok_ else ZERO)")
        em.line()
        em.line()

    def emit_loss_function(self, em: _Emitter) -> None:
        """``loss(P, OUT, lo, hi)``: the landscape's value at the points ``P[lo:hi]`` (``(n, dim)``) into
        ``OUT[lo:hi]``, with the kernels' functions (printed as the gradient is). Like the lane kernel it works on
        blocks of points held as rows (coordinates, then temporaries), a loop over the block ending after each
        statement that calls a function: what lets the compiler vectorize the calls."""
        d, W, value = self.dim, self.width, self.value
        var = [f"S[{k * W} + j]" for k in range(d)]
        temp = [f"S[{(d + i) * W} + j]" for i in range(len(value.temps))]
        em.line("@njit(error_model=\"numpy\", nogil=True, cache=DISK_CACHE)")
        with em.block("def loss(P, OUT, lo, hi):"):
            em.line(f"S = np.empty({(d + len(temp)) * W}, dtype=F)")
            with em.block(f"for b in range(lo, hi, {W}):"):
                em.line(f"w = min({W}, hi - b)")
                with em.block(f"for k in range({d}):"):
                    em.lanes([f"S[k * {W} + j] = P[b + j, k]"])
                pending: list[str] = []
                for i, code in enumerate(value.temps):
                    pending.append(f"{temp[i]} = {_fill(code, var, [], temp)}")
                    if _CALL.search(code):
                        em.lanes(pending)
                        pending = []
                em.lanes(pending + [f"OUT[b + j] = {_fill(value.outputs[0], var, [], temp)}"])
        em.line()
        em.line()

    def source(self) -> tuple[str, Layout]:
        em = _Emitter()
        if self.looped:
            self.emit_sum_of_squares_functions(em)
        self.emit_grad_functions(em)
        self.emit_kernel(em, "kernel", scalar=False)
        self.emit_kernel(em, "kernel1", scalar=True)
        if self.value is not None:
            self.emit_loss_function(em)
        namespace = "\n".join(f"{name} = {target}" for name, target in sorted(_NAMESPACE.items()))
        prelude = _PRELUDE.format(
            dtype=self.dtype, lanes=self.width, golden=int(draws.GOLDEN), mix_a=int(draws.MIX_A),
            mix_b=int(draws.MIX_B), two53=float(2**53), two_pi=2.0 * np.pi, namespace=namespace,
            ok=OK, diverged=DIVERGED, nonfinite=NONFINITE,
        )
        layout = Layout(n_data=self.program.n_data, hp_rows=self.hp_rows, n_float_rows=self.n_rows,
                        schedule_rows=self.schedule_rows)
        body = prelude + "\n" + self.layout_constants() + self.grad_constants() + _tanh_source(self.float32) + "\n\n" + em.text()
        return body, layout


# Optimizer.ascent -> the method that writes its ascent point (None, a plain gradient step, needs none).
ASCENT_EMITTERS = {
    "normalized": _KernelWriter.emit_normalized_ascent,
    "unnormalized": _KernelWriter.emit_unnormalized_ascent,
    "random": _KernelWriter.emit_random_ascent,
    "repeated": _KernelWriter.emit_repeated_ascent,
    "projected": _KernelWriter.emit_projected_ascent,
    "adaptive": _KernelWriter.emit_adaptive_ascent,
    "unified": _KernelWriter.emit_unified_ascent,
    "sign": _KernelWriter.emit_sign_ascent,
    "surrogate_gap": _KernelWriter.emit_normalized_ascent,
    "stable": _KernelWriter.emit_normalized_ascent,
    "penalty": _KernelWriter.emit_normalized_ascent,
    "weighted": _KernelWriter.emit_normalized_ascent,
    "momentum": _KernelWriter.emit_momentum_ascent,
}
# Optimizer.ascent -> the method that turns the descent gradient H into the step's direction, for the few whose
# direction is not the gradient at the ascent point.
DESCENT_EMITTERS = {"surrogate_gap": _KernelWriter.emit_surrogate_gap_descent,
                    "stable": _KernelWriter.emit_stable_descent,
                    "penalty": _KernelWriter.emit_penalty_descent,
                    "weighted": _KernelWriter.emit_weighted_descent}
# Optimizer.ascent -> the method that writes the step's direction H itself, for a class whose steps differ by the
# step number (LookSAM: SAM's step every period steps, one gradient in between).
DIRECTION_EMITTERS = {"periodic": _KernelWriter.emit_periodic_direction}
# Optimizer.ascent -> the method that writes the ascent point from the ascent gradient in G (the ascents that
# can be taken per sample).
ASCENT_POINT_EMITTERS = {
    "normalized": _KernelWriter.emit_normalized_point,
    "unnormalized": _KernelWriter.emit_unnormalized_point,
}


def kernel_ascents(per_sample: bool) -> dict:
    """The ascents (``Optimizer.ascent``) the generator writes, each with its emitter: those taken per sample, or
    the whole-batch ones (an ascent point, or a direction written whole)."""
    return ASCENT_POINT_EMITTERS if per_sample else {**ASCENT_EMITTERS, **DIRECTION_EMITTERS}


def kernel_source(plan: KernelPlan) -> tuple[str, Layout, str]:
    """Source text of the fused kernel of ``plan`` (:func:`kernel_plan`).

    Returns ``(source, layout, key)``; ``key`` is a hash of the source and names the kernel on disk.
    Raises :class:`UnsupportedLandscape` when the gradient uses a function the kernel cannot call.
    """
    body, layout = _KernelWriter(plan).source()
    # the key covers everything that shapes the code; the landscape's name is only a comment
    key = hashlib.sha256(f"{GENERATOR_VERSION}\n{body}".encode()).hexdigest()[:24]
    header = (f"# samscape fused kernel {key} (generated; do not edit)\n"
              f"# first written for landscape {plan.landscape.name!r}\n"
              f"# optimizer: {plan.shape}  dtype: {plan.dtype}  generator: {GENERATOR_VERSION}\n")
    return header + body, layout, key
