"""A catalog of named landscapes from the SAM papers (their maths: docs/theory.md) and a few classic test functions.

Every entry builds its SymPy expression directly (never from text) and hands it to :func:`from_expr`, so an
entry is a plain :class:`Landscape` whose ``spec`` rebuilds it: ``from_spec(L.spec)``.

>>> L = get("huber_valley", a=2.0, b=0.5)
>>> L.params["a"], L.params["b"]
(2.0, 0.5)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp

from ._parse import normalize_name
from .core import Landscape, from_expr

HALF = sp.Rational(1, 2)

# how a source names a paper: authors, year, arXiv id (the same papers as samscape.theory.PAPERS, which a test
# compares against; the catalog sits below theory and cannot import it)
P1 = "Park, Jang, Ryu, Yang 2025, arXiv:2509.21818"
P2 = "Wen, Ma, Li 2023 (ICLR), arXiv:2211.05729"
P3 = "Zhou, Wang, Mao, Li, Yan 2025 (ICLR), arXiv:2410.10373"
FORET = "Foret, Kleiner, Mobahi, Neyshabur 2021 (ICLR), arXiv:2010.01412"
AF = "Andriushchenko, Flammarion 2022 (ICML), arXiv:2206.06232"
BLB = "Bartlett, Long, Bousquet 2023 (JMLR), arXiv:2210.01513"
LB = "Long, Bartlett 2024 (JMLR), arXiv:2309.12488"
AD = "Agarwala, Dauphin 2023 (ICML), arXiv:2302.08692"
SY = "Si, Yun 2023 (NeurIPS), arXiv:2306.09850"
DAS = "Dai, Ahn, Sra 2023 (NeurIPS), arXiv:2305.15287"
KPCL = "Kim, Park, Choi, Lee 2023, arXiv:2301.06308"
MC = "Monzio Compagnoni, Biggio, Orvieto, Proske, Kersting, Lucchi 2023 (ICML), arXiv:2301.08203"
LZH = "Li, Zhang, He 2024 (NeurIPS), arXiv:2410.14802"
SLAL = "Shin, Lee, Andriushchenko, Lee 2025 (UAI), arXiv:2311.17539"


# ---------------------------------------------------------------------------------------------- validation
def _real(entry: str, name: str, value: Any) -> float:
    # bool is an Integral in Python, but True as a curvature is surely a mistake
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{entry} parameter {name} must be a finite real number, got {value!r}")
    return float(value)


def _positive(entry: str, name: str, value: Any) -> float:
    number = _real(entry, name, value)
    if number <= 0:
        raise ValueError(f"{entry} parameter {name} must be > 0, got {value!r}")
    return number


def _reals(entry: str, name: str, value: Any) -> tuple[float, ...]:
    """A non-empty 1-D sequence of finite reals, as a tuple of floats."""
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__len__"):
        raise ValueError(f"{entry} parameter {name} must be a non-empty sequence of finite real numbers, got {value!r}")
    try:
        items = list(value)
    except TypeError:  # e.g. a 0-d numpy array, which has __len__ but no length
        items = []
    if not items or any(
        isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) for v in items
    ):
        raise ValueError(f"{entry} parameter {name} must be a non-empty sequence of finite real numbers, got {value!r}")
    return tuple(float(v) for v in items)


# ---------------------------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class _Parts:
    """What an entry's builder produces; ``get`` adds the entry's name, description, source and spec."""

    expr: sp.Expr
    variables: list[sp.Symbol]
    window: Any
    samples: dict[str, tuple[float, ...]] | None = None
    minimizers: Any = None
    maximizers: Any = None
    derived: dict[str, Any] = field(default_factory=dict)  # analytic facts added to ``landscape.params``
    notes: str = ""
    minimizer_sets: tuple = ()  # curves of minimizers (lines, circles) a point list cannot hold


@dataclass(frozen=True)
class _Entry:
    name: str
    description: str
    source: str
    defaults: dict[str, Any]
    variables: Callable[[dict[str, Any]], list[str]]  # resolved params -> coordinate names
    resolve: Callable[[dict[str, Any]], dict[str, Any]]  # validated, JSON-friendly params
    build: Callable[[dict[str, Any]], _Parts]


_REGISTRY: dict[str, _Entry] = {}


def _register(name: str, *, description: str, source: str, defaults: dict[str, Any], variables, resolve=None):
    def decorate(build: Callable[[dict[str, Any]], _Parts]):
        _REGISTRY[name] = _Entry(
            name=name,
            description=description,
            source=source,
            defaults=dict(defaults),
            variables=variables if callable(variables) else (lambda p, v=list(variables): list(v)),
            resolve=resolve or (lambda p: {}),
            build=build,
        )
        return build

    return decorate


def _symbols(labels: list[str]) -> list[sp.Symbol]:
    return [sp.Symbol(label, real=True) for label in labels]


def _lookup(name: str) -> _Entry:
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"unknown catalog landscape {name!r}; known names are {', '.join(names())}")
    return _REGISTRY[name]


def names() -> list[str]:
    """Names of the catalog entries, sorted.

    >>> "tanh" in names(), names() == sorted(names())
    (True, True)
    """
    return sorted(_REGISTRY)


def describe(name: str) -> dict[str, Any]:
    """What ``get(name)`` builds: ``name, description, source, params`` (defaults), ``dim``, ``variables``.

    ``dim`` and ``variables`` are those of the defaults (``quadratic`` changes dimension with its parameters).

    >>> info = describe("quadratic")
    >>> info["params"], info["dim"], info["variables"]
    ({'eigenvalues': (1.0, 10.0), 'angle': 0.0}, 2, ['x', 'y'])
    >>> get("quadratic", eigenvalues=(1.0, 2.0, 3.0)).variables
    ('x1', 'x2', 'x3')
    """
    entry = _lookup(name)
    variables = entry.variables(entry.resolve(dict(entry.defaults)))
    return {
        "name": entry.name,
        "description": entry.description,
        "source": entry.source,
        "params": dict(entry.defaults),
        "dim": len(variables),
        "variables": variables,
    }


def _json_ready(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_json_ready(v) for v in value]
    return value


def get(name: str, **params: Any) -> Landscape:
    """Build the catalog landscape ``name`` with ``params`` overriding its defaults (see :func:`describe`).

    Raises ``ValueError`` for an unknown name, an unknown parameter or a parameter value outside what the
    entry allows.

    >>> L = get("tanh")
    >>> L.dim, L.n_samples, float(L.value([0.0, 1.0]))  # u = 0 is a line of minimizers: tanh(v * tanh 0) = 0
    (2, 1, 0.0)
    >>> Q = get("quadratic", eigenvalues=(2.0, 4.0))
    >>> float(Q.value([1.0, 1.0])), Q.hessian([1.0, 1.0]).tolist()  # (2 + 4) / 2 and diag(2, 4)
    (3.0, [[2.0, 0.0], [0.0, 4.0]])
    >>> get("tanh", rho=0.1)
    Traceback (most recent call last):
    ValueError: catalog landscape 'tanh' has no parameter 'rho'; allowed parameters: xs, ys
    """
    entry = _lookup(name)
    # spelled as Python spells a keyword argument it parses, so **{"\u00b5": ...} and µ=... are the same
    normal = {normalize_name(key): value for key, value in params.items()}
    if len(normal) != len(params):
        raise ValueError(f"catalog landscape {name!r} got parameters {sorted(params)} that name the same one twice")
    params = normal
    unknown = sorted(set(params) - set(entry.defaults))
    if unknown:
        allowed = ", ".join(sorted(entry.defaults)) or "none"
        raise ValueError(f"catalog landscape {name!r} has no parameter {unknown[0]!r}; allowed parameters: {allowed}")
    resolved = entry.resolve({**entry.defaults, **params})
    parts = entry.build(resolved)
    return from_expr(
        parts.expr,
        parts.variables,
        samples=parts.samples,
        name=entry.name,
        window=parts.window,
        description=entry.description,
        source=entry.source,
        minimizers=parts.minimizers,
        maximizers=parts.maximizers,
        params={**resolved, **parts.derived},
        notes=parts.notes,
        minimizer_sets=parts.minimizer_sets,
        spec={"kind": "catalog", "name": entry.name, "params": {k: _json_ready(v) for k, v in resolved.items()}},
    )


def from_spec(spec: Mapping[str, Any]) -> Landscape:
    """Rebuild a landscape from its ``spec`` (``landscape.spec``, possibly after a JSON round trip).

    ``{"kind": "catalog", "name", "params"}`` goes through :func:`get`; ``{"kind": "expr", "expr", "variables",
    "samples", "window"}`` through :func:`from_expr`.

    >>> import json
    >>> Q = get("quadratic", eigenvalues=(2.0, 4.0))
    >>> Q.spec
    {'kind': 'catalog', 'name': 'quadratic', 'params': {'eigenvalues': [2.0, 4.0], 'angle': 0.0}}
    >>> R = from_spec(json.loads(json.dumps(Q.spec)))
    >>> R.params["eigenvalues"], float(R.value([1.0, 1.0]))
    ((2.0, 4.0), 3.0)
    >>> float(from_spec({"kind": "expr", "expr": "x**2 + 3*y", "variables": ["x", "y"]}).value([2.0, 1.0]))
    7.0
    """
    if not isinstance(spec, Mapping):
        raise ValueError(f"spec must be a dict, got {type(spec).__name__}")
    kind = spec.get("kind")
    if kind == "catalog":
        params = spec.get("params") or {}
        if not isinstance(params, Mapping):
            raise ValueError(f"spec['params'] must be a dict of parameter values, got {params!r}")
        return get(spec.get("name"), **params)
    if kind == "expr":
        missing = [k for k in ("expr", "variables") if k not in spec]
        if missing:
            raise ValueError(f"an 'expr' spec needs the keys 'expr' and 'variables'; missing {missing}")
        return from_expr(spec["expr"], spec["variables"], samples=spec.get("samples") or None, window=spec.get("window"))
    if kind == "sympy":
        raise ValueError(
            "spec describes a landscape built from a SymPy object that the safe parser cannot read back; "
            "rebuild it in Python and pass it in (e.g. dynamics.load_run(path, landscape=L))"
        )
    raise ValueError(f"spec['kind'] must be 'catalog' or 'expr', got {kind!r}")


# ---------------------------------------------------------------------------------------------- P3: tanh model
def _resolve_tanh(p):
    xs, ys = _reals("tanh", "xs", p["xs"]), _reals("tanh", "ys", p["ys"])
    if len(xs) != len(ys):
        raise ValueError(f"tanh parameters xs and ys must have equal lengths, got {len(xs)} and {len(ys)}")
    return {"xs": xs, "ys": ys}


@_register(
    "tanh",
    description="P3's two-layer tanh model: mean over data (a_i, y_i) of 0.5*(tanh(v*tanh(u*a_i)) - y_i)^2",
    source=f"{P3}, Example 4.1",
    defaults={"xs": (1.0,), "ys": (0.0,)},
    variables=["u", "v"],
    resolve=_resolve_tanh,
)
def _tanh(p):
    u, v = _symbols(["u", "v"])
    a, y = sp.Symbol("a"), sp.Symbol("y")
    expr = HALF * (sp.tanh(v * sp.tanh(u * a)) - y) ** 2
    sets = ()
    if all(label == 0 for label in p["ys"]):
        sets = ({"kind": "line", "point": (0.0, 0.0), "direction": (1.0, 0.0)},
                {"kind": "line", "point": (0.0, 0.0), "direction": (0.0, 1.0)})
        notes = (
            "minimizers (all labels y_i = 0): the line v = 0, where the Hessian is diag(0, mean_i tanh(u*a_i)^2) "
            "(diag(0, tanh(u)^2) for the default single point a = 1), and also the line u = 0, where it is "
            "diag(v^2 * mean_i a_i^2, 0); P3 discusses the line v = 0, on which smaller |u| is flatter"
        )
    else:
        notes = "labels y_i are not all zero: no closed-form minimizer set is recorded"
    return _Parts(
        expr,
        [u, v],
        window=[[-3.0, 3.0], [-1.5, 1.5]],
        samples={"a": p["xs"], "y": p["ys"]},
        notes=notes,
        minimizer_sets=sets,
    )


# ---------------------------------------------------------------------------------------------- classics
def _coordinate_names(dim: int) -> list[str]:
    if dim == 1:
        return ["x"]
    if dim == 2:
        return ["x", "y"]
    return [f"x{i}" for i in range(1, dim + 1)]


def _resolve_quadratic(p):
    eigenvalues = _reals("quadratic", "eigenvalues", p["eigenvalues"])
    angle = _real("quadratic", "angle", p["angle"])
    if len(eigenvalues) != 2 and angle != 0:
        raise ValueError(
            f"quadratic parameter angle must be 0 unless eigenvalues has length 2, got angle={p['angle']!r} "
            f"with {len(eigenvalues)} eigenvalues"
        )
    return {"eigenvalues": eigenvalues, "angle": angle}


def _quadratic_matrix(eigenvalues: tuple[float, ...], angle: float) -> np.ndarray:
    """``A = R diag(eigenvalues) R^T``, ``R`` the rotation by ``angle`` in 2-D (identity otherwise)."""
    A = np.diag(eigenvalues)
    if len(eigenvalues) == 2 and angle != 0:
        c, s = math.cos(angle), math.sin(angle)
        R = np.array([[c, -s], [s, c]])
        A = R @ A @ R.T
        A = 0.5 * (A + A.T)  # exactly symmetric despite rounding
    return A


@_register(
    "quadratic",
    description="quadratic 0.5*x^T A x with A = R(angle) diag(eigenvalues) R(angle)^T",
    source=f"{P2}, the setting of Theorem 4.8",
    defaults={"eigenvalues": (1.0, 10.0), "angle": 0.0},
    variables=lambda p: _coordinate_names(len(p["eigenvalues"])),
    resolve=_resolve_quadratic,
)
def _quadratic(p):
    eigenvalues = p["eigenvalues"]
    dim = len(eigenvalues)
    xs = _symbols(_coordinate_names(dim))
    A = _quadratic_matrix(eigenvalues, p["angle"])
    expr = sp.Add(
        *(HALF * sp.Float(A[i, i]) * xs[i] ** 2 for i in range(dim)),
        *(sp.Float(A[i, j]) * xs[i] * xs[j] for i in range(dim) for j in range(i + 1, dim) if A[i, j] != 0),
    )
    origin = np.zeros((1, dim))
    lam = np.asarray(eigenvalues)
    if np.all(lam > 0):
        notes, minimizers, maximizers = "unique minimizer at the origin", origin, None
    elif np.all(lam < 0):
        notes, minimizers, maximizers = "unique maximizer at the origin", None, origin
    elif np.all(lam >= 0):
        notes, minimizers, maximizers = "minimizers: the null space of A (eigenvalues equal to 0)", None, None
    elif np.all(lam <= 0):
        notes, minimizers, maximizers = "maximizers: the null space of A (eigenvalues equal to 0)", None, None
    else:
        notes, minimizers, maximizers = "the origin is a saddle (eigenvalues of both signs); no minimizer", None, None
    return _Parts(
        expr,
        xs,
        window=[-2.0, 2.0],
        minimizers=minimizers,
        maximizers=maximizers,
        derived={"matrix": A},
        notes=notes,
    )


def _resolve_rosenbrock(p):
    return {"a": _real("rosenbrock", "a", p["a"]), "b": _positive("rosenbrock", "b", p["b"])}


@_register(
    "rosenbrock",
    description="Rosenbrock's banana valley (a - x)^2 + b*(y - x^2)^2",
    source="Rosenbrock (1960), classic test function",
    defaults={"a": 1.0, "b": 100.0},
    variables=["x", "y"],
    resolve=_resolve_rosenbrock,
)
def _rosenbrock(p):
    x, y = _symbols(["x", "y"])
    a, b = p["a"], p["b"]
    expr = (sp.Float(a) - x) ** 2 + sp.Float(b) * (y - x**2) ** 2
    half_width = abs(a) + 1.0
    return _Parts(
        expr,
        [x, y],
        window=[[-half_width, half_width], [-1.0, a * a + 2.0]],
        minimizers=[[a, a * a]],
        notes="unique minimizer (a, a^2), at the end of a curved valley along y = x^2",
    )


def _himmelblau_expr(x: sp.Symbol, y: sp.Symbol) -> sp.Expr:
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


@lru_cache(maxsize=1)
def _himmelblau_critical_points() -> dict[str, tuple[tuple[float, float], ...]]:
    """Himmelblau's critical points, polished by Newton's method (scipy) from one-decimal guesses.

    Each point is checked to be of the kind it is listed under, so a wrong guess fails loudly here.
    """
    from scipy.optimize import root

    x, y = _symbols(["x", "y"])
    f = _himmelblau_expr(x, y)
    grad = [sp.diff(f, s) for s in (x, y)]
    hess = [[sp.diff(g, s) for s in (x, y)] for g in grad]
    grad_fn = sp.lambdify([x, y], grad, modules="numpy")
    hess_fn = sp.lambdify([x, y], hess, modules="numpy")

    def solve(guess):
        sol = root(lambda q: grad_fn(*q), guess, jac=lambda q: hess_fn(*q), method="hybr", tol=1e-14)
        return tuple(float(c) for c in sol.x)

    guesses = {
        "minimizers": [(3.0, 2.0), (-2.8, 3.1), (-3.8, -3.3), (3.6, -1.8)],
        "maximizers": [(-0.3, -0.9)],
        "saddles": [(0.1, 2.9), (-3.1, -0.1), (3.4, 0.1), (-0.1, -2.0)],
    }
    found = {kind: tuple(solve(g) for g in pts) for kind, pts in guesses.items()}
    found["minimizers"] = ((3.0, 2.0),) + found["minimizers"][1:]  # (3, 2) is exact: f = 0 there
    for kind, pts in found.items():
        for pt in pts:
            eig = np.linalg.eigvalsh(np.array(hess_fn(*pt), dtype=float))
            expected = {"minimizers": eig.min() > 0, "maximizers": eig.max() < 0, "saddles": eig[0] < 0 < eig[1]}
            if np.max(np.abs(grad_fn(*pt))) > 1e-8 or not expected[kind]:
                raise RuntimeError(f"himmelblau: Newton from the guess for {kind} reached {pt}, which is not one")
    return found


@_register(
    "himmelblau",
    description="Himmelblau's function (x^2 + y - 11)^2 + (x + y^2 - 7)^2: four minima, one maximum, four saddles",
    source="Himmelblau (1972), classic test function",
    defaults={},
    variables=["x", "y"],
)
def _himmelblau(p):
    x, y = _symbols(["x", "y"])
    critical = _himmelblau_critical_points()
    saddles = ", ".join(f"({a:.6f}, {b:.6f})" for a, b in critical["saddles"])
    return _Parts(
        _himmelblau_expr(x, y),
        [x, y],
        window=[-5.0, 5.0],
        minimizers=critical["minimizers"],
        maximizers=critical["maximizers"],
        notes=f"all four minima have value 0; (3, 2) is exact, the others are Newton-polished roots; saddles near {saddles}",
    )


# ---------------------------------------------------------------------------------------------- P3: valleys
_VALLEY_SOURCE = (f"a valley of Definition 4.2 for Proposition 4.1 of {P3}; example derived here, "
                  "docs/theory.md section 5.3")


def _resolve_ab(entry):
    def resolve(p):
        return {"a": _positive(entry, "a", p["a"]), "b": _positive(entry, "b", p["b"])}

    return resolve


def _valley_window(b: float) -> list[float]:
    return [-4.0 * b, 4.0 * b]


@_register(
    "huber_valley",
    description="1-D Huber valley: a*z^2/2 for |z| <= b, a*b*(|z| - b/2) beyond, so L'(z) = a*clip(z, -b, b)",
    source=_VALLEY_SOURCE,
    defaults={"a": 1.0, "b": 1.0},
    variables=["z"],
    resolve=_resolve_ab("huber_valley"),
)
def _huber_valley(p):
    (z,) = _symbols(["z"])
    a, b = sp.Float(p["a"]), sp.Float(p["b"])
    # three branches rather than |z| in the linear part, so no sign() or DiracDelta appears in the derivatives
    expr = sp.Piecewise(
        (a * z**2 / 2, sp.Abs(z) <= b),
        (a * b * (z - b / 2), z > b),
        (a * b * (-z - b / 2), True),
    )
    return _Parts(
        expr,
        [z],
        window=_valley_window(p["b"]),
        minimizers=[[0.0]],
        notes=(
            "unique minimizer 0 with L''(0) = a; L is C^1 but not C^2: L'' jumps from a to 0 at |z| = b "
            "(the compiled Hessian uses a at |z| = b exactly), so Definition 4.2's C^2 holds only piecewise"
        ),
    )


@_register(
    "logcosh_valley",
    description="1-D log-cosh valley a*b^2*log(cosh(z/b)): quadratic (curvature a) for |z| << b, slope a*b beyond",
    source=_VALLEY_SOURCE,
    defaults={"a": 1.0, "b": 1.0},
    variables=["z"],
    resolve=_resolve_ab("logcosh_valley"),
)
def _logcosh_valley(p):
    (z,) = _symbols(["z"])
    a, b = sp.Float(p["a"]), sp.Float(p["b"])
    expr = a * b**2 * sp.log(sp.cosh(z / b))
    return _Parts(
        expr,
        [z],
        window=_valley_window(p["b"]),
        minimizers=[[0.0]],
        notes=(
            "unique minimizer 0 with L''(0) = a; L'(z) = a*b*tanh(z/b); cosh overflows for |z| > about 710*b, "
            "where value and gradient stop being finite"
        ),
    )


def _resolve_tanh_valley(p):
    return {"k": _positive("tanh_valley", "k", p["k"])}


@_register(
    "tanh_valley",
    description="1-D slice of the tanh model, 0.5*tanh(k*z)^2: a valley that flattens to a plateau",
    source=_VALLEY_SOURCE,
    defaults={"k": 1.0},
    variables=["z"],
    resolve=_resolve_tanh_valley,
)
def _tanh_valley(p):
    (z,) = _symbols(["z"])
    k = p["k"]
    expr = HALF * sp.tanh(sp.Float(k) * z) ** 2
    # L'(z) = k tanh(kz) sech^2(kz) peaks where tanh^2(kz) = 1/3: the edge of the valley's core
    b = math.atanh(1.0 / math.sqrt(3.0)) / k
    return _Parts(
        expr,
        [z],
        window=_valley_window(b),
        minimizers=[[0.0]],
        derived={"a": k * k, "b": b},
        notes=(
            "unique minimizer 0 with a = L''(0) = k^2; b = atanh(1/sqrt(3))/k is where L' is largest "
            "(tanh(kz)^2 = 1/3), the edge of the valley's core; L'(z)/z decreases on (0, inf)"
        ),
    )


# ---------------------------------------------------------------------------------------------- P1: hallucinations
_P1_SOURCE = f"construction derived here after {P1}; docs/theory.md section 3"


def _resolve_double_well(p):
    return {"c": _real("double_well", "c", p["c"])}


def _double_well_critical_points(c: float) -> tuple[list[float], list[float]]:
    """Real roots of L'(z) = z^3 - z + c, split into minimizers and maximizers by the sign of 3z^2 - 1."""
    roots = np.roots([1.0, 0.0, -1.0, c])
    real = np.sort(roots[np.abs(roots.imag) <= 1e-7 * (1.0 + np.abs(roots))].real)
    for _ in range(3):  # Newton polishing: np.roots is a few ulps off, and a double root far worse
        curvature = 3 * real**2 - 1
        step = np.divide(real**3 - real + c, curvature, out=np.zeros_like(real), where=np.abs(curvature) > 1e-8)
        real = real - step
    curvature = 3 * real**2 - 1
    # at |c| = 2/(3 sqrt 3) two roots merge into an inflection point, which is neither kind
    minimizers = [float(r) for r, h in zip(real, curvature) if h > 1e-6]
    maximizers = [float(r) for r, h in zip(real, curvature) if h < -1e-6]
    return minimizers, maximizers


@_register(
    "double_well",
    description="1-D double well (z^2 - 1)^2/4 + c*z: minima near +-1 and a maximum near 0 for small tilt c",
    source=_P1_SOURCE,
    defaults={"c": 0.0},
    variables=["z"],
    resolve=_resolve_double_well,
)
def _double_well(p):
    (z,) = _symbols(["z"])
    c = p["c"]
    expr = (z**2 - 1) ** 2 / 4 + sp.Float(c) * z
    minimizers, maximizers = _double_well_critical_points(c)
    half_width = max(2.0, 1.5 * max(abs(r) for r in minimizers + maximizers))
    return _Parts(
        expr,
        [z],
        window=[-half_width, half_width],
        minimizers=[[m] for m in minimizers],
        maximizers=[[m] for m in maximizers],
        notes=(
            "critical points are the real roots of z^3 - z + c; two minima and a maximum while "
            "|c| < 2/(3*sqrt(3)), a single minimum beyond"
        ),
    )


_COSINE_HALF_WIDTH = 2.25 * math.pi
_COSINE_WINDOW = [-_COSINE_HALF_WIDTH, _COSINE_HALF_WIDTH]


def _lattice(offset: float) -> np.ndarray:
    """The points ``offset + 2*pi*k`` inside the cosine window, shape ``(k,)``."""
    k = np.arange(-3, 4)
    points = offset + 2 * math.pi * k
    return points[np.abs(points) <= _COSINE_HALF_WIDTH]


@_register(
    "cosine_1d",
    description="1-D cosine -cos(z): minima at 2*pi*k, maxima at pi + 2*pi*k",
    source=_P1_SOURCE,
    defaults={},
    variables=["z"],
)
def _cosine_1d(p):
    (z,) = _symbols(["z"])
    return _Parts(
        -sp.cos(z),
        [z],
        window=_COSINE_WINDOW,
        minimizers=_lattice(0.0)[:, None],
        maximizers=_lattice(math.pi)[:, None],
        notes="minimizers 2*pi*k and maximizers pi + 2*pi*k; those inside the window are listed",
    )


@_register(
    "cosine_grid",
    description="2-D egg crate -cos(x) - cos(y): a grid of minima, maxima and saddles",
    source=_P1_SOURCE,
    defaults={},
    variables=["x", "y"],
)
def _cosine_grid(p):
    x, y = _symbols(["x", "y"])
    even, odd = _lattice(0.0), _lattice(math.pi)
    return _Parts(
        -sp.cos(x) - sp.cos(y),
        [x, y],
        window=_COSINE_WINDOW,
        minimizers=[[a, b] for a in even for b in even],
        maximizers=[[a, b] for a in odd for b in odd],
        notes=(
            "minimizers (2*pi*k, 2*pi*l), maximizers (pi + 2*pi*k, pi + 2*pi*l), saddles (2*pi*k, pi + 2*pi*l) "
            "and (pi + 2*pi*k, 2*pi*l); those inside the window are listed (saddles are not)"
        ),
    )


# cos(r) is an even power series in r, so a smooth function of s = r^2; written as cos(sqrt(s)) its
# compiled derivatives divide by sqrt(s) and give 0/0 at the origin. Near the origin we therefore use the
# Taylor polynomial in s: through s^6 its truncation error is below s^7/14! (~1e-25 for s < 1e-2) in the value
# and below 1e-15 in the Hessian, i.e. the same function to double precision.
_RING_SWITCH = sp.Rational(1, 100)  # the switch at r^2 = 1e-2
_RING_ORDER = 6


def _cos_of_radius(s: sp.Expr) -> sp.Expr:
    """``cos(sqrt(s))`` for ``s = r^2 >= 0``, smooth and finite at ``s = 0`` after any number of derivatives."""
    taylor = sp.Add(*((-1) ** n * s**n / sp.factorial(2 * n) for n in range(_RING_ORDER + 1)))
    # numpy evaluates both branches of a Piecewise everywhere; lifting s in the unused branch keeps the
    # division by sqrt(s) in its derivatives away from zero (it is exactly s wherever that branch is used)
    lifted = s + sp.Piecewise((_RING_SWITCH, s < _RING_SWITCH), (0, True))
    return sp.Piecewise((taylor, s < _RING_SWITCH), (sp.cos(sp.sqrt(lifted)), True))


@_register(
    "cosine_ring",
    description="radial cosine cos(||x||): an isolated maximizer at the origin and a circle of minimizers at radius pi",
    source=_P1_SOURCE,
    defaults={},
    variables=["x", "y"],
)
def _cosine_ring(p):
    x, y = _symbols(["x", "y"])
    return _Parts(
        _cos_of_radius(x**2 + y**2),
        [x, y],
        window=[-4.0, 4.0],
        maximizers=[[0.0, 0.0]],
        derived={"ring_radius": math.pi},
        minimizer_sets=({"kind": "circle", "center": (0.0, 0.0), "radius": math.pi},),
        notes=(
            "minimizers: the circle ||x|| = pi (value -1, Hessian eigenvalues 0 tangentially and 1 radially); "
            "isolated maximizer at the origin with Hessian -I; for ||x||^2 < 0.01 the expression is the Taylor "
            "polynomial of cos(||x||) in ||x||^2 through degree 6 (equal to double precision), so no 0/0 arises "
            "at the origin"
        ),
    )


def _resolve_p1_figure(p):
    return {"radius": _positive("p1_figure", "radius", p["radius"]), "height": _positive("p1_figure", "height", p["height"])}


@_register(
    "p1_figure",
    description=(
        "ring valley h*(t - 1)^2/(1 + t), t = ||x||^2/R^2: isolated maximizer at the origin, circle of minimizers "
        "at radius R, quadratic growth far out"
    ),
    source=f"project's own smooth function in the shape of Figure 1 of {P1}; docs/theory.md section 3",
    defaults={"radius": 1.0, "height": 1.0},
    variables=["x", "y"],
    resolve=_resolve_p1_figure,
)
def _p1_figure(p):
    x, y = _symbols(["x", "y"])
    R, h = p["radius"], p["height"]
    # f(t) = h (t-1)^2/(1+t) has f'(t) = h (t-1)(t+3)/(1+t)^2: zero for t >= 0 only at t = 1, negative at 0
    t = (x**2 + y**2) / sp.Float(R) ** 2
    expr = sp.Float(h) * (t - 1) ** 2 / (1 + t)
    return _Parts(
        expr,
        [x, y],
        window=[-2.0 * R, 2.0 * R],
        maximizers=[[0.0, 0.0]],
        derived={"ring_radius": R},
        minimizer_sets=({"kind": "circle", "center": (0.0, 0.0), "radius": R},),
        notes=(
            f"minimizers: the circle ||x|| = radius = {R!r} (value 0, radial curvature 4*height/radius^2, tangential 0); "
            "isolated maximizer at the origin (value height, Hessian -6*height/radius^2 * I); smooth everywhere "
            "(a rational function of ||x||^2 with denominator >= 1); SAM hallucinates a circle of fixed points at "
            "radius rho - radius for radius < rho < 2*radius"
        ),
    )


# ---------------------------------------------------------------------------------------------- P2: manifolds
_MANIFOLD_DEFAULTS = {"c1": 2.0, "m1": 1.0, "c2": 0.5, "m2": -1.0, "s": 0.25}
_MANIFOLD_SOURCE = f"test family derived here for Theorems 4.5 and 5.4 of {P2}; docs/theory.md section 4"


def _manifold_facts(p: dict[str, float]) -> dict[str, float]:
    """Where the Hessian's eigenvalues on Gamma = {y = 0} are smallest, from a1 = c1 + (x-m1)^2, a2 = c2 + s(x-m2)^2."""
    return {
        "argmin_lambda1": p["m1"],
        "argmin_trace": (p["m1"] + p["s"] * p["m2"]) / (1.0 + p["s"]),
        "argmin_lambda_min": p["m2"],
    }


def _manifold_x_window(p: dict[str, float]) -> tuple[float, float]:
    centers = list(_manifold_facts(p).values())
    return min(centers) - 1.5, max(centers) + 1.5


def _resolve_manifold(entry: str, extra: tuple[str, ...] = ()):
    def resolve(raw):
        p = {"c1": _positive(entry, "c1", raw["c1"]), "m1": _real(entry, "m1", raw["m1"])}
        p.update({"c2": _positive(entry, "c2", raw["c2"]), "m2": _real(entry, "m2", raw["m2"])})
        p["s"] = _positive(entry, "s", raw["s"])
        for name in extra:
            p[name] = _real(entry, name, raw[name])
        # the argmin labels assume a1 > a2 across the window: gap(x) = a1 - a2 is a quadratic in x, so its
        # minimum on [lo, hi] is at an end or at the vertex
        lo, hi = _manifold_x_window(p)
        c1, m1, c2, m2, s = (p[k] for k in ("c1", "m1", "c2", "m2", "s"))

        def gap(x):
            return c1 - c2 + (x - m1) ** 2 - s * (x - m2) ** 2

        candidates = [lo, hi]
        if s < 1:
            vertex = (m1 - s * m2) / (1 - s)
            if lo < vertex < hi:
                candidates.append(vertex)
        worst = min(candidates, key=gap)
        if gap(worst) <= 0:
            given = ", ".join(f"{k}={raw[k]!r}" for k in ("c1", "m1", "c2", "m2", "s"))
            raise ValueError(
                f"{entry} parameters must keep a1(x) = c1 + (x-m1)^2 above a2(x) = c2 + s*(x-m2)^2 for x in "
                f"[{lo:g}, {hi:g}], but {given} give a1 - a2 = {gap(worst):.3g} at x = {worst:.3g} "
                "(raise c1 - c2 or lower s)"
            )
        return p

    return resolve


def _manifold_curvatures(x: sp.Symbol, p: dict[str, float]) -> tuple[sp.Expr, sp.Expr]:
    a1 = sp.Float(p["c1"]) + (x - sp.Float(p["m1"])) ** 2
    a2 = sp.Float(p["c2"]) + sp.Float(p["s"]) * (x - sp.Float(p["m2"])) ** 2
    return a1, a2


def _manifold_parts(p, expr, variables, notes) -> _Parts:
    lo, hi = _manifold_x_window(p)
    return _Parts(
        expr,
        variables,
        window=[[lo, hi], [-1.0, 1.0], [-1.0, 1.0]],
        derived=_manifold_facts(p),
        notes=notes,
        minimizer_sets=({"kind": "line", "point": (0.0, 0.0, 0.0), "direction": (1.0, 0.0, 0.0)},),
    )


_MANIFOLD_NOTES = (
    "minimizers: the line Gamma = {y1 = y2 = 0}; on it the Hessian has eigenvalues 0 (along x), a1(x) and a2(x), "
    "with a1 = c1 + (x-m1)^2 > a2 = c2 + s*(x-m2)^2 on the window; lambda_1 = a1 is smallest at x = m1 "
    "(params['argmin_lambda1']), the trace a1 + a2 at x = (m1 + s*m2)/(1 + s) (params['argmin_trace']) and "
    "the smallest nonzero eigenvalue a2 at x = m2 (params['argmin_lambda_min'])"
)


@_register(
    "eigen_manifold",
    description="0.5*(a1(x)*y1^2 + a2(x)*y2^2): a line of minimizers whose Hessian eigenvalues a1 > a2 vary along it",
    source=_MANIFOLD_SOURCE,
    defaults=_MANIFOLD_DEFAULTS,
    variables=["x", "y1", "y2"],
    resolve=_resolve_manifold("eigen_manifold"),
)
def _eigen_manifold(p):
    x, y1, y2 = _symbols(["x", "y1", "y2"])
    a1, a2 = _manifold_curvatures(x, p)
    expr = HALF * (a1 * y1**2 + a2 * y2**2)
    return _manifold_parts(p, expr, [x, y1, y2], _MANIFOLD_NOTES + "; the Hessian on Gamma is diag(0, a1, a2)")


@_register(
    "eigen_manifold_rotating",
    description=(
        "0.5*y^T R(omega*x) diag(a1(x), a2(x)) R(omega*x)^T y: eigen_manifold with eigenvectors turning along the line"
    ),
    source=_MANIFOLD_SOURCE,
    defaults={**_MANIFOLD_DEFAULTS, "omega": 1.0},
    variables=["x", "y1", "y2"],
    resolve=_resolve_manifold("eigen_manifold_rotating", extra=("omega",)),
)
def _eigen_manifold_rotating(p):
    x, y1, y2 = _symbols(["x", "y1", "y2"])
    a1, a2 = _manifold_curvatures(x, p)
    theta = sp.Float(p["omega"]) * x
    # coordinates of y in the rotated eigenbasis: R(theta)^T y
    along_first = sp.cos(theta) * y1 + sp.sin(theta) * y2
    along_second = -sp.sin(theta) * y1 + sp.cos(theta) * y2
    expr = HALF * (a1 * along_first**2 + a2 * along_second**2)
    return _manifold_parts(
        p,
        expr,
        [x, y1, y2],
        _MANIFOLD_NOTES
        + "; the (y1, y2) Hessian block on Gamma is R(omega*x) diag(a1, a2) R(omega*x)^T, the x row and column are 0",
    )


@_register(
    "eigen_manifold_sum",
    description="eigen_manifold as a mean of two samples, (c + s*(x-m)^2)*(e1*y1 + e2*y2)^2, each rank one on Gamma",
    source=_MANIFOLD_SOURCE,
    defaults=_MANIFOLD_DEFAULTS,
    variables=["x", "y1", "y2"],
    resolve=_resolve_manifold("eigen_manifold_sum"),
)
def _eigen_manifold_sum(p):
    x, y1, y2 = _symbols(["x", "y1", "y2"])
    c, m, s, e1, e2 = (sp.Symbol(k) for k in ("c", "m", "s", "e1", "e2"))
    # no factor 1/2: the mean over the two samples then equals eigen_manifold exactly
    expr = (c + s * (x - m) ** 2) * (e1 * y1 + e2 * y2) ** 2
    samples = {
        "c": (p["c1"], p["c2"]),
        "m": (p["m1"], p["m2"]),
        "s": (1.0, p["s"]),
        "e1": (1.0, 0.0),
        "e2": (0.0, 1.0),
    }
    parts = _manifold_parts(
        p,
        expr,
        [x, y1, y2],
        _MANIFOLD_NOTES
        + "; the mean of the two samples equals eigen_manifold with the same parameters exactly; sample k is "
        "a_k(x)*y_k^2, whose Hessian on Gamma is the rank-one 2*a_k(x) e_k e_k^T (largest eigenvalue 2*a_k)",
    )
    return replace(parts, samples=samples)


# ---------------------------------------------------------------------------------------------- the wider literature
def _resolve_quadratic_regression(p):
    return {"target": _positive("quadratic_regression", "target", p["target"])}


@_register(
    "quadratic_regression",
    description="two-parameter quadratic regression 0.5*(u*v - target)^2: a hyperbola of minimizers of varying sharpness",
    source=(f"a two-parameter instance of the quadratic-regression setting of {AD}; also the toy of {DAS} and the "
            f"scale-invariant problem of {LZH}; derived here, docs/theory.md section 8.5"),
    defaults={"target": 1.0},
    variables=["u", "v"],
    resolve=_resolve_quadratic_regression,
)
def _quadratic_regression(p):
    u, v = _symbols(["u", "v"])
    target = p["target"]
    root = math.sqrt(target)
    return _Parts(
        HALF * (u * v - sp.Float(target)) ** 2,
        [u, v],
        window=[-4.0, 4.0],
        minimizers=[[root, root], [-root, -root]],
        notes=(
            "minimizers: the hyperbola u*v = target, where the Hessian [[v^2, target], [target, u^2]] has eigenvalues "
            "0 (along the hyperbola) and u^2 + v^2 >= 2*target, smallest at the balanced points u = v = "
            "+-sqrt(target) (listed); gradient flow conserves u^2 - v^2, the balancedness"
        ),
    )


def _resolve_ravine(p):
    a0 = _positive("ravine", "a0", p["a0"])
    a1, a2 = _real("ravine", "a1", p["a1"]), _real("ravine", "a2", p["a2"])
    if a2 < 0:
        raise ValueError(f"ravine parameter a2 must be >= 0 (a convex a(y)), got {p['a2']!r}")
    return {"a0": a0, "a1": a1, "a2": a2}


def _ravine_y_range(a0: float, a1: float, a2: float) -> tuple[float, float]:
    """The part of ``[-3, 3]`` around ``y = 0`` where ``a(y) >= a0/4``: the ravine's floor curves up across it."""
    lo, hi = -3.0, 3.0
    roots = np.roots([a2, a1, 0.75 * a0]) if a2 or a1 else np.array([])  # a(y) - a0/4 = 0
    for r in roots[np.abs(np.imag(roots)) < 1e-12].real:
        if r < 0:
            lo = max(lo, float(r) + 0.05)
        else:
            hi = min(hi, float(r) - 0.05)
    return lo, hi


@_register(
    "ravine",
    description="ravine 0.5*a(y)*z^2 with a(y) = a0 + a1*y + a2*y^2: a line of minimizers z = 0 of curvature a(y)",
    source=(f"the ravine of {BLB} (SAM bounces across z and drifts along y) and of {LB} (SAM rides its edge); "
            "the polynomial a(y) is derived here, docs/theory.md section 8.3"),
    defaults={"a0": 1.0, "a1": 0.0, "a2": 1.0},
    variables=["y", "z"],
    resolve=_resolve_ravine,
)
def _ravine(p):
    y, z = _symbols(["y", "z"])
    a0, a1, a2 = p["a0"], p["a1"], p["a2"]
    curvature = sp.Float(a0) + sp.Float(a1) * y + sp.Float(a2) * y**2
    lo, hi = _ravine_y_range(a0, a1, a2)
    return _Parts(
        HALF * curvature * z**2,
        [y, z],
        window=[[lo, hi], [-1.0, 1.0]],
        notes=(
            "minimizers: the line z = 0 wherever a(y) > 0 (the window keeps a(y) >= a0/4); the Hessian there is "
            "diag(0, a(y)), so the sharpness along the floor is a(y); the y-window is the part of [-3, 3] around 0 "
            "where a(y) >= a0/4"
        ),
    )


def _resolve_diag_net(p):
    values = {}
    for key in ("n", "d", "r", "seed"):
        value = p[key]
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < (0 if key == "seed" else 1):
            lowest = 0 if key == "seed" else 1
            raise ValueError(f"diag_net parameter {key} must be an integer >= {lowest}, got {value!r}")
        values[key] = int(value)
    if values["r"] > values["d"]:
        raise ValueError(f"diag_net parameter r must be at most d = {values['d']} (nonzeros of theta*), got {p['r']!r}")
    return values


def diag_net_data(n: int, d: int, r: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The diagonal network's data: ``X`` ``(n, d)`` standard Gaussian, the sparse teacher ``theta*`` ``(d,)`` (its
    first ``r`` entries ``|N(0, 1)|``, scaled to unit Euclidean norm, the rest 0) and labels ``y = X theta*`` ``(n,)``,
    all drawn from ``numpy.random.default_rng(seed)`` in that order."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    theta = np.zeros(d)
    theta[:r] = np.abs(rng.standard_normal(r))
    theta /= np.linalg.norm(theta)
    return X, theta, X @ theta


@_register(
    "diag_net",
    description=("diagonal linear network: mean over n Gaussian rows x_i of 0.5*(sum_k x_ik*u_k*v_k - y_i)^2 in 2d "
                 "variables, labels from an r-sparse teacher theta* (the paper's size: n=20, d=30, r=3)"),
    source=f"the sparse-regression diagonal linear network of {AF}; data drawn as docs/theory.md section 8.2 says",
    # a small network by default, quick to build and compile; the claims use n = 20, d = 30, r = 3
    defaults={"n": 12, "d": 8, "r": 2, "seed": 0},
    variables=lambda p: [f"u{k}" for k in range(p["d"])] + [f"v{k}" for k in range(p["d"])],
    resolve=_resolve_diag_net,
)
def _diag_net(p):
    n, d = p["n"], p["d"]
    X, theta, labels = diag_net_data(n, d, p["r"], p["seed"])
    us, vs = _symbols([f"u{k}" for k in range(d)]), _symbols([f"v{k}" for k in range(d)])
    xs = [sp.Symbol(f"x{k}") for k in range(d)]
    target = sp.Symbol("y")
    expr = HALF * (sp.Add(*(x * u * v for x, u, v in zip(xs, us, vs))) - target) ** 2
    samples = {f"x{k}": tuple(float(c) for c in X[:, k]) for k in range(d)}
    samples["y"] = tuple(float(c) for c in labels)
    return _Parts(
        expr,
        us + vs,
        window=[-2.0, 2.0],
        samples=samples,
        derived={"theta_star": tuple(float(c) for c in theta)},
        notes=(
            "the network computes beta = u*v (elementwise); the loss is ||X beta - y||^2/(2n), zero on the set "
            "{X beta = y}, a manifold of minimizers when n < d; params['theta_star'] is the teacher, and the "
            "population loss of beta on fresh Gaussian rows is ||beta - theta*||^2/2"
        ),
    )


def _resolve_saddle(p):
    return {"lam": _positive("saddle", "lam", p["lam"]), "mu": _positive("saddle", "mu", p["mu"])}


@_register(
    "saddle",
    description="strict saddle 0.5*lam*x^2 - 0.5*mu*y^2: curvature lam > 0 along x and -mu < 0 along y",
    source=(f"the strict saddle of {KPCL} (unnormalized SAM can be attracted to it) and of {MC} (SAM near "
            "saddles); docs/theory.md section 8.8"),
    defaults={"lam": 1.0, "mu": 1.0},
    variables=["x", "y"],
    resolve=_resolve_saddle,
)
def _saddle(p):
    x, y = _symbols(["x", "y"])
    return _Parts(
        HALF * sp.Float(p["lam"]) * x**2 - HALF * sp.Float(p["mu"]) * y**2,
        [x, y],
        window=[-1.0, 1.0],
        notes="no minimizer: the origin is a strict saddle with Hessian diag(lam, -mu); the loss falls without bound along y",
    )


def _resolve_shifted_quadratics(p):
    centers = _reals("shifted_quadratics", "centers", p["centers"])
    curvatures = _reals("shifted_quadratics", "curvatures", p["curvatures"])
    if len(centers) != len(curvatures):
        raise ValueError(f"shifted_quadratics parameters centers and curvatures must have equal lengths, got "
                         f"{len(centers)} and {len(curvatures)}")
    if min(curvatures) <= 0:
        raise ValueError(f"shifted_quadratics parameter curvatures must all be > 0, got {p['curvatures']!r}")
    return {"centers": centers, "curvatures": curvatures}


@_register(
    "shifted_quadratics",
    description="1-D finite sum: mean over samples of 0.5*h_i*(x - a_i)^2, with centers a_i and curvatures h_i",
    source=(f"a construction derived here in the spirit of the lower-bound examples of {SY} (stochastic SAM stalls "
            f"short of x*); with equal centers the interpolating setting of {SLAL}; docs/theory.md section 8.6"),
    defaults={"centers": (1.0, 1.0, 1.0, -3.0), "curvatures": (1.0, 1.0, 1.0, 1.0)},
    variables=["x"],
    resolve=_resolve_shifted_quadratics,
)
def _shifted_quadratics(p):
    (x,) = _symbols(["x"])
    a, h = sp.Symbol("a"), sp.Symbol("h")
    centers, curvatures = np.array(p["centers"]), np.array(p["curvatures"])
    minimizer = float(curvatures @ centers / curvatures.sum())
    half_width = 1.5 * max(1.0, float(np.max(np.abs(centers))))
    return _Parts(
        HALF * h * (x - a) ** 2,
        [x],
        window=[-half_width, half_width],
        samples={"a": p["centers"], "h": p["curvatures"]},
        minimizers=[[minimizer]],
        derived={"minimizer": minimizer},
        notes=("unique minimizer x* = sum_i h_i a_i / sum_i h_i (params['minimizer']); sample i alone is smallest at "
               "its center a_i, so x* interpolates every sample only when all centers are equal"),
    )
