"""What the explorer shows, as plain Python: the state in the URL, its validation, the run and the readout.

No Panel or Bokeh here: the widgets (:mod:`samscape.explore.app`) only copy values into an
:class:`ExplorerState` and draw what :meth:`ExplorerState.compute` returns, so almost everything the page does is
tested without a browser.

The query string (every key optional; the README lists them):

``landscape`` catalog name; ``p.NAME`` a catalog parameter (a list comma-separated); ``expr`` + ``vars`` a custom
loss instead; ``opt`` any registered plain kind (gd, sgd, sam, usam, asam, ...); ``then`` + ``at`` switch to a second
optimizer at step ``at``; ``eta``, ``rho``, ``batch``, ``steps``, ``seed``; the chosen optimizers' other
hyperparameters by their field names (``eta_a``, ``steps_ascent``, ``alpha``, ``momentum``, ``nesterov``...: read
off the classes, see :meth:`ExplorerState.own_hyperparameters`); ``starts`` points ``x,y;x,y``; ``log``, ``field``,
``surrogate``, ``halluc`` (1 or 0) the view toggles.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any, Mapping
from urllib.parse import urlencode

import numpy as np

from .. import dynamics, landscapes
from .._checks import choice, int_at_least, positive, real_number
from ..landscapes import normalize_name

# Work of one update, in gradient evaluations of one sample at one point ("sample gradients"): starts x steps x
# gradients per step (SAM and USAM take two) x samples per gradient (the batch, or every sample of a finite sum).
# 2e7 is about half a second on the NumPy path (SAM on tanh: 27 ns per sample gradient).
DEFAULT_MAX_WORK = 20_000_000
MAX_STARTS = 2_500  # a 50 x 50 grid: the paths and the readout stay drawable
MAX_STEPS = 1_000_000
SAVED_PER_PATH = 200  # iterates kept per start: the scrubber's resolution
READOUT_ROWS = 200  # rows of the readout table; the rest are counted
NEAR_MINIMIZER = 0.03  # a click within this fraction of the window's diagonal inspects the minimizer
FLAGS = ("log", "field", "surrogate", "halluc")


class WorkCapExceeded(ValueError):
    """An update asked for more point-steps than the explorer's cap; the page shows the message instead."""


@dataclass
class ExplorerState:
    """Everything a view depends on; :meth:`to_query` and :meth:`from_query` are inverse."""

    landscape: str = "tanh"
    params: dict = field(default_factory=dict)  # catalog overrides: float or tuple of floats
    expr: str | None = None  # a custom loss instead of the catalog entry
    variables: str = "u,v"
    opt: str = "sam"
    then: str | None = None  # a Switch's second optimizer
    at: int = 0
    eta: float = 0.1
    rho: float = 0.05
    batch: int | None = None
    # the chosen optimizers' other hyperparameters (eta_a, steps_ascent, momentum, ...) set away from the class's
    # default, by field name; passed to each part of a switch that takes them, as eta and rho are
    hyper: dict = field(default_factory=dict)
    steps: int = 1000
    seed: int = 0
    starts: list = field(default_factory=list)  # tuples of floats, one per start
    log: bool = False
    field: bool = False
    surrogate: bool = False
    halluc: bool = False

    # ------------------------------------------------------------------ the query string
    def to_query(self) -> dict[str, str]:
        """The state as query parameters (strings); values equal to the default are left out, so links stay short."""
        default = ExplorerState()
        out: dict[str, str] = {}
        if self.expr is not None:
            out["expr"], out["vars"] = self.expr, self.variables
        else:
            out["landscape"] = self.landscape
            for key, value in self.params.items():
                out[f"p.{key}"] = format_value(value)
        out["opt"] = self.opt
        if self.then is not None:
            out["then"], out["at"] = self.then, str(self.at)
        out["eta"], out["rho"] = format_value(self.eta), format_value(self.rho)
        if self.batch is not None:
            out["batch"] = str(self.batch)
        for name, value in self.hyper.items():
            out[name] = ("1" if value else "0") if isinstance(value, bool) else format_value(value)
        out["steps"], out["seed"] = str(self.steps), str(self.seed)
        if self.starts:
            out["starts"] = format_points(self.starts)
        for flag in FLAGS:
            if getattr(self, flag) != getattr(default, flag):
                out[flag] = "1" if getattr(self, flag) else "0"
        return out

    def query_string(self) -> str:
        return urlencode(self.to_query(), safe=",;:*()")

    @classmethod
    def from_query(cls, query: Mapping[str, Any], base: "ExplorerState | None" = None) -> tuple["ExplorerState", list[str]]:
        """A state from query parameters (``str`` or a list of ``str``/``bytes`` per key, as servers hand them
        over), starting from ``base``. A bad value keeps ``base``'s and adds one sentence to the returned list."""
        base = base or cls()
        state = replace(base, params=dict(base.params), starts=list(base.starts), hyper=dict(base.hyper))
        problems: list[str] = []
        given = {key: _text(value) for key, value in query.items()}

        def take(key, convert, attr=None):
            if key not in given:
                return
            try:
                setattr(state, attr or key, convert(given[key]))
            except ValueError as err:
                problems.append(f"{key}: {err}")

        if "expr" in given:
            state.expr = given["expr"]
            state.variables = given.get("vars", state.variables)
        elif "landscape" in given:
            try:
                state.landscape = choice(given["landscape"], "landscape", landscapes.names())
            except ValueError as err:  # the rest of the link still applies, to the landscape it had
                problems.append(f"landscape: {err}")
            else:
                state.expr = None
                state.params = {}
        params = {key[2:]: value for key, value in given.items() if key.startswith("p.")}
        known = None if state.expr is not None else landscapes.describe(state.landscape)["params"]
        for key, value in params.items():
            if known is not None and normalize_name(key) not in known:  # spelled as the catalog reads it
                problems.append(f"p.{key[:40]}: landscape {state.landscape} has no parameter {key[:40]!r}; it takes "
                                f"{', '.join(known) or 'none'}")
                continue
            try:
                state.params[key] = parse_value(value)
            except ValueError as err:
                problems.append(f"p.{key[:40]}: {err}")
        # every plain optimizer of the registry (a Switch is "opt, then `then` at step `at`")
        take("opt", lambda v: choice(v, "opt", dynamics.plain_kinds()))
        take("then", lambda v: None if v in ("", "none") else choice(v, "then", dynamics.plain_kinds()))
        take("at", lambda v: _integer(v, "at", 0, MAX_STEPS))
        take("eta", lambda v: _number(v, "eta", "positive"))
        take("rho", lambda v: _number(v, "rho", "nonnegative"))
        take("batch", lambda v: None if v in ("", "none", "full") else _integer(v, "batch", 1, 1_000_000))
        take("steps", lambda v: _integer(v, "steps", 1, MAX_STEPS))
        take("seed", lambda v: _integer(v, "seed", 0, 2**63 - 1))
        take("starts", parse_points)
        for flag in FLAGS:
            take(flag, lambda v, f=flag: _flag(v, f))
        # last: a class checks its values together with eta and rho
        if "opt" in given or "then" in given:  # a value the new optimizers read otherwise is theirs no longer
            state.choose(state.opt, state.then, previous=base)
        for name in dynamics.other_hyperparameters():
            if name in given and not hasattr(state, name):  # a field named like a key of the page is the page's
                try:
                    state.set_hyper(name, parse_hyperparameter(name, given[name], state.own_hyperparameters(),
                                                               state.describe_kinds()))
                except ValueError as err:
                    problems.append(f"{name}: {err}")
        return state, problems

    # ------------------------------------------------------------------ what it builds
    def build_landscape(self):
        """The landscape (cached across sessions: SymPy and the kernels are built once per loss)."""
        if self.expr is not None:
            return _cached(("expr", self.expr, self.variables),
                           lambda: landscapes.from_expr(self.expr, self.variables))
        key = ("catalog", self.landscape, tuple(sorted((k, _hashable(v)) for k, v in self.params.items())))
        return _cached(key, lambda: landscapes.get(self.landscape, **self.params))

    def build_optimizer(self, landscape):
        """The optimizer: ``opt`` (or a Switch ``opt -> then`` at step ``at``) with ``eta``, ``rho`` and ``batch``.

        ``batch`` applies to finite sums only (a one-sample loss has nothing to sample); SGD on a one-sample loss
        is GD's update, drawn with batch 1.
        """
        first = self._one(self.opt, landscape)
        if self.then is None:
            return first
        return dynamics.Switch(first, self._one(self.then, landscape), at=int(self.at))

    def _one(self, kind: str, landscape=None):
        batch = self.batch if landscape is not None and landscape.n_samples > 1 else None
        return dynamics.optimizer_from_kind(kind, self.eta, rho=self.rho, batch_size=batch, **self.hyper)

    def kinds(self) -> list[str]:
        """The chosen plain kinds: ``opt``, and ``then`` for a switch."""
        return [self.opt] if self.then is None else list(dict.fromkeys([self.opt, self.then]))

    def describe_kinds(self) -> str:
        """The chosen optimizers by class name, for a sentence (``ASAM``, ``SGD then SAM``)."""
        return " then ".join(dynamics.OPTIMIZERS[kind].__name__ for kind in self.kinds())

    def own_hyperparameters(self) -> dict[str, dynamics.Hyperparameter]:
        """The chosen optimizers' hyperparameters beyond ``eta``, ``rho`` and ``batch`` (each read off its class,
        :func:`samscape.dynamics.hyperparameters`), in field order, ``opt``'s first: the page has one control each,
        and the link one parameter each."""
        others = dynamics.other_hyperparameters()
        found: dict[str, dynamics.Hyperparameter] = {}
        for kind in self.kinds():
            for name, hyper in dynamics.hyperparameters(kind).items():
                if name in others:
                    found.setdefault(name, hyper)
        return found

    def set_hyper(self, name: str, value) -> None:
        """Set hyperparameter ``name`` of the chosen optimizers (``None`` or the class's default: back to the
        default); a value a chosen class refuses raises its one-sentence ``ValueError`` and changes nothing."""
        own = self.own_hyperparameters()
        _check_taken(name, own, self.describe_kinds())
        hyper = dict(self.hyper)
        if value is None or value == own[name].default:
            hyper.pop(name, None)
        else:
            hyper[name] = value
        for kind in self.kinds():  # each class checks the values it takes
            dynamics.optimizer_from_kind(kind, self.eta, rho=self.rho, **hyper)
        self.hyper = hyper

    def choose(self, opt: str, then: str | None, previous: "ExplorerState | None" = None) -> None:
        """Choose the optimizers; a hyperparameter value set for the ones before is kept only where it means the
        same for the new ones (the same field, default and help: momentum, or steps_ascent from MultiStepSAM to
        MultiStepUSAM), not where only the name is shared (GSAM's alpha is a weight, MultiStepSAM's a step)."""
        before = (previous or self).own_hyperparameters()
        self.opt, self.then = opt, then
        after = self.own_hyperparameters()
        self.hyper = {name: value for name, value in self.hyper.items() if before.get(name) == after.get(name)}

    def starts_array(self, landscape) -> np.ndarray:
        points = np.array(self.starts, dtype=float).reshape(-1, landscape.dim) if self.starts else np.zeros((0, landscape.dim))
        return points

    def check_work(self, max_work: float, landscape=None) -> None:
        """Refuse, in one sentence, more starts than can be drawn, or an update of more than ``max_work`` sample
        gradients: starts x steps x what each step evaluates (:func:`sample_gradients`, which needs the
        ``landscape``; without it each step counts as one)."""
        n = len(self.starts)
        if n > MAX_STARTS:
            raise WorkCapExceeded(f"{n:,} starts is more than the explorer draws (at most {MAX_STARTS:,} starts); "
                                  "clear some starts")
        point_steps = n * self.steps
        work = point_steps if landscape is None else n * sample_gradients(self.build_optimizer(landscape),
                                                                          landscape, self.steps)
        if work > max_work:
            per = f"{work / point_steps:,.4g}" if point_steps else "0"
            raise WorkCapExceeded(
                f"{n:,} starts x {self.steps:,} steps = {point_steps:,} point-steps x {per} sample gradients each = "
                f"{work:,} sample gradients, over this explorer's cap of {max_work:,.0f} per update (--max-work); "
                "use fewer starts, fewer steps or a smaller batch")

    def compute(self, landscape, max_work: float = DEFAULT_MAX_WORK) -> "Outcome":
        """Run the optimizer from every start and judge where each ended (raises ValueError for bad input)."""
        self.check_work(max_work, landscape)
        optimizer = self.build_optimizer(landscape)
        x0 = self.starts_array(landscape)
        if len(x0) == 0:
            return Outcome(None, np.array([], dtype=str), np.zeros((0, 0)), [])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with np.errstate(all="ignore"):
                run = dynamics.simulate(landscape, optimizer, x0, self.steps, every=saving_stride(self.steps),
                                        seed=self.seed, progress=False)
                from .. import theory

                fates = theory.classify_fates(run)
                lam = lambda_max(landscape, run)
        notes = list(dict.fromkeys(str(w.message) for w in caught))
        return Outcome(run, fates, lam, notes)


@dataclass
class Outcome:
    """One update's results: the run (``None`` without starts), each start's fate, lambda_max along the paths
    ``(n_saved, n_starts)`` and the warnings raised on the way."""

    run: Any
    fates: np.ndarray
    lam: np.ndarray
    notes: list

    def rows(self) -> list[dict[str, Any]]:
        """The readout: per start its start, final point, loss, status and fate."""
        run = self.run
        if run is None:
            return []
        return [
            {"start": i, "x0": run.x0[i], "x": run.x[i], "loss": float(run.loss[-1, i]), "status": str(run.status[i]),
             "fate": str(self.fates[i])}
            for i in range(run.n_starts)
        ]


# ---------------------------------------------------------------------------------------------- helpers
def sample_gradients(optimizer, landscape, steps: int) -> int:
    """Gradient evaluations of one sample at one point that ``steps`` steps of ``optimizer`` take per start:
    per step, one gradient plus one for an ascent that needs it (every ascent but RandomSAM's random direction, read
    off the optimizer's ``ascent`` tag; ``steps_ascent`` of them for a multi-step ascent), each over the batch or, full-batch, over every sample of a
    finite sum; a Switch counts each part for the steps it runs."""
    if optimizer.parts:  # a Switch: `first` until step `at`, then `second`
        at = min(max(int(optimizer.at), 0), steps)
        return sample_gradients(optimizer.first, landscape, at) + sample_gradients(optimizer.second, landscape,
                                                                                   steps - at)
    # the descent's gradient, and the ascent's unless it is a random direction (steps_ascent of them for a
    # multi-step ascent)
    gradients = 1 + (0 if optimizer.ascent in (None, "random") else int(getattr(optimizer, "steps_ascent", 1)))
    if landscape.n_samples <= 1:
        samples = 1
    else:
        samples = getattr(optimizer, "batch_size", None) or landscape.n_samples
    return steps * gradients * samples


def saving_stride(steps: int) -> int:
    """Keep about :data:`SAVED_PER_PATH` iterates; the stride is odd so a period-2 cycle (SAM bouncing across a
    valley) shows as alternating iterates instead of one frozen side."""
    if steps <= SAVED_PER_PATH:
        return 1
    stride = -(-steps // SAVED_PER_PATH)
    return stride if stride % 2 else stride + 1


def lambda_max(landscape, run) -> np.ndarray:
    """The largest Hessian eigenvalue at every saved iterate, ``(n_saved, n_starts)``; NaN where not finite."""
    hess = landscape.hessian(run.xs)
    finite = np.all(np.isfinite(hess), axis=(-2, -1))
    return np.where(finite, np.linalg.eigvalsh(np.where(finite[..., None, None], hess, 0.0))[..., -1], np.nan)


def stability_at(landscape, x, eta: float, rho: float) -> dict[str, Any]:
    """What linear stability says at a minimizer ``x`` for the current ``eta`` and ``rho``: the curvature
    ``lambda_max``, GD's edge ``2/lambda``, the largest stable USAM ``rho`` at this ``eta``, the spectral radius of
    the Jacobian of GD's and USAM's update maps there, and SAM's 2-cycle around it (``sam_cycle``: SAM with
    ``rho > 0`` cannot rest at a minimizer, its Jacobian there is meaningless; ``theory.sam_cycle``'s result, or a
    sentence why there is none to compute)."""
    from .. import theory

    x = np.asarray(x, dtype=float)
    lam = float(np.linalg.eigvalsh(landscape.hessian(x))[-1])
    out: dict[str, Any] = {"x": x, "lambda_max": lam}
    curved = lam > 0
    out["gd_lr_edge"] = float(theory.gd_lr_edge(lam)) if curved else math.inf
    out["usam_rho_edge"] = float(theory.usam_rho_edge(eta, lam)) if curved else math.inf
    for kind, optimizer in (("gd", dynamics.GD(eta)), ("usam", dynamics.USAM(eta, rho))):
        if kind != "gd" and rho <= 0:
            optimizer = dynamics.GD(eta)
        with np.errstate(all="ignore"):
            out[f"{kind}_radius"] = float(theory.fixed_point_stability(landscape, optimizer, x).spectral_radius)
    out["sam_cycle"] = None
    if rho > 0:
        try:
            out["sam_cycle"] = theory.sam_cycle(landscape, x, eta, rho)
        except ValueError as err:  # not an isolated minimizer: SAM drifts along the valley instead
            out["sam_cycle"] = str(err).split(": ", 1)[-1]
    return out


def nearest_minimizer(landscape, point, window=None):
    """The known minimizer within :data:`NEAR_MINIMIZER` of the window's diagonal from ``point`` (compared in the
    plotted coordinates, the first two), or ``None``."""
    minimizers = np.asarray(landscape.minimizers, dtype=float).reshape(-1, landscape.dim)
    if len(minimizers) == 0:
        return None
    window = np.asarray(landscape.window if window is None else window, dtype=float)
    shown = min(landscape.dim, 2)
    span = window[:shown, 1] - window[:shown, 0]
    distance = np.linalg.norm((minimizers[:, :shown] - np.asarray(point)[:shown]) / span, axis=1)
    best = int(np.argmin(distance))
    return minimizers[best] if distance[best] <= NEAR_MINIMIZER * math.sqrt(shown) else None


def grid_points(landscape, n: int) -> list[tuple[float, ...]]:
    """An ``n x n`` grid over the window (``n`` points in 1-D; the other coordinates 0 beyond the plane)."""
    window = landscape.window
    axes = [np.linspace(*window[i], n) for i in range(min(landscape.dim, 2))]
    mesh = np.meshgrid(*axes, indexing="ij")
    points = np.zeros((mesh[0].size, landscape.dim))
    for i, m in enumerate(mesh):
        points[:, i] = m.ravel()
    return [tuple(round_point(p, landscape)) for p in points]


def random_points(landscape, n: int, seed: int) -> list[tuple[float, ...]]:
    """``n`` points uniform in the window (seeded), rounded so the link that holds them stays short."""
    return [tuple(round_point(p, landscape)) for p in landscape.random_points(n, seed=seed)]


def round_point(point, landscape) -> np.ndarray:
    """A point rounded to 1e-4 of the window's span: a click cannot be more precise than that, and the URL is
    what reproduces the view, so the rounded value is the start."""
    span = float(np.max(landscape.window[:, 1] - landscape.window[:, 0]))
    digits = max(0, 4 - int(math.floor(math.log10(span))))
    return np.round(np.asarray(point, dtype=float), digits) + 0.0  # + 0.0 turns -0.0 into 0.0


def format_value(value) -> str:
    """A number as the query string spells it (shortest round-trip form), a list comma-separated with a trailing
    comma for one element."""
    if isinstance(value, (tuple, list)):
        return ",".join(format_value(v) for v in value) + ("," if len(value) == 1 else "")
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


def parse_value(text: str):
    """A number, or a comma-separated list of numbers (a one-element list keeps its trailing comma)."""
    if "," in text:
        return tuple(_number(v, "value") for v in text.split(",") if v.strip())
    return _number(text, "value")


def _check_taken(name: str, own: dict, chosen: str) -> None:
    if name not in own:
        raise ValueError(f"{chosen} takes no {name}; it is a hyperparameter of {', '.join(dynamics.kinds_taking(name))}")


def parse_hyperparameter(name: str, text: str, own: dict, chosen: str):
    """A hyperparameter's value from the query string, typed by its field (``own``: the chosen optimizers'
    :meth:`ExplorerState.own_hyperparameters`; ``chosen`` names them): a switch ``1``/``0``, a count, or a number."""
    _check_taken(name, own, chosen)
    kind_of = own[name].type
    if kind_of is bool:
        return _flag(text, name)
    if kind_of is int:
        return _integer(text, name, 0, MAX_STEPS)
    return _number(text, name)


def format_points(points) -> str:
    return ";".join(",".join(repr(float(c)) for c in p) for p in points)


def parse_points(text: str) -> list[tuple[float, ...]]:
    """``x,y;x,y`` -> points; all must have the same number of coordinates."""
    points = [tuple(_number(c, "starts") for c in p.split(",")) for p in text.split(";") if p.strip()]
    if len({len(p) for p in points}) > 1:
        raise ValueError(f"every start needs the same number of coordinates, got {text[:80]!r}")
    if len(points) > MAX_STARTS:
        raise ValueError(f"at most {MAX_STARTS:,} starts, got {len(points):,}")
    return points


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return str(value)


def _number(text, name: str, sign: str | None = None) -> float:
    """A number read from the query string: any finite one, or ``> 0`` (``sign="positive"``) or ``>= 0``
    (``"nonnegative"``), checked by :mod:`samscape._checks` once it is read."""
    try:
        number = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {str(text)[:40]!r}") from None
    if sign is None:
        return real_number(number, name)
    return positive(number, name, allow_zero=sign == "nonnegative")


def _integer(text, name: str, lo: int, hi: int) -> int:
    """An integer read from the query string, in ``[lo, hi]`` (checked by :func:`samscape._checks.int_at_least`)."""
    try:
        number = int(str(text).strip())
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {str(text)[:40]!r}") from None
    return int_at_least(number, name, lo, maximum=hi)


def _flag(text: str, name: str) -> bool:
    if text not in ("0", "1", "true", "false"):
        raise ValueError(f"{name} must be 1 or 0, got {text[:40]!r}")
    return text in ("1", "true")


def _hashable(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


_CACHE: OrderedDict = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHED_LANDSCAPES = 32


def _cached(key, build):
    """A landscape per key, shared by every session (the least recently used beyond
    :data:`CACHED_LANDSCAPES` is dropped)."""
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    landscape = build()
    with _CACHE_LOCK:
        _CACHE[key] = landscape
        while len(_CACHE) > CACHED_LANDSCAPES:
            _CACHE.popitem(last=False)
    return landscape


# ---------------------------------------------------------------------------------------------- kernel warming
_WARMER = None
_WARMED: set = set()
_ANNOUNCED: set = set()  # landscapes (by spec) whose warming was announced on stderr


def warm_kernels(landscape, state: ExplorerState, kinds=None):
    """Compile, on one background thread, the kernels this landscape's runs will call: the current optimizer
    first, then every other plain one (or those of ``kinds``), each for one start and for many (two kernel variants). Once a kernel is
    compiled, ``simulate(backend="auto")`` uses it for any run long enough to gain from it. Returns the future of
    the job (``None`` when numba is missing); a kernel that cannot be built is left to ``auto``'s NumPy fallback."""
    global _WARMER
    from concurrent.futures import ThreadPoolExecutor

    optimizers = [state.build_optimizer(landscape)]
    if dynamics.kernel_readiness(landscape, optimizers[0], 1, look_on_disk=False) == "unavailable":
        return None
    # the others with their own defaults: a value set for the current one may be out of another's range
    optimizers += [replace(state, opt=kind, then=None, hyper={}).build_optimizer(landscape)
                   for kind in (dynamics.plain_kinds() if kinds is None else kinds)]

    def job():
        todo = [(optimizer, n_starts) for optimizer in optimizers for n_starts in (1, 2)
                if (id(landscape), repr(optimizer), n_starts) not in _WARMED
                and dynamics.kernel_readiness(landscape, optimizer, n_starts, look_on_disk=False) != "in memory"]
        named = json.dumps(landscape.spec, sort_keys=True, default=str)
        if todo and named not in _ANNOUNCED:  # one line per landscape, not one per kernel that takes a while
            _ANNOUNCED.add(named)
            sys.stderr.write(f"samscape explore: compiling the kernels of landscape {landscape.name!r} for every "
                             "optimizer in the background; runs use NumPy until each is ready\n")
            sys.stderr.flush()
        for optimizer, n_starts in todo:
            try:
                with warnings.catch_warnings(), dynamics.quiet_builds():
                    warnings.simplefilter("ignore")
                    dynamics.simulate(landscape, optimizer, np.zeros((n_starts, landscape.dim)), 1,
                                      backend="compiled", seed=0, progress=False)
            except Exception:  # noqa: BLE001 -- auto falls back to NumPy and says why when the run needs it
                pass
            _WARMED.add((id(landscape), repr(optimizer), n_starts))

    with _CACHE_LOCK:
        if _WARMER is None:
            _WARMER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="samscape-warm")
    return _WARMER.submit(job)
