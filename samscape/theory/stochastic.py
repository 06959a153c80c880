"""Stochastic linear stability at an interpolating minimum, from per-sample Hessians (P3 section 4).

Near a minimum ``x* = 0`` shared by every sample, the mini-batch methods are linear random maps
``x <- (I - lr A_xi) x`` with ``A_xi = H_xi`` (SGD) or ``A_xi = H_xi + rho H_xi^2`` (USAM, P3's simplified SAM),
``H_xi`` the mean of ``batch_size`` per-sample Hessians drawn uniformly with replacement.

- Mean-square stability: ``E[x x^T]`` evolves by ``M = E[(I - lr A) (x) (I - lr A)]``; its spectral radius on
  ``range(H)`` decides whether ``E[L]`` and ``E||x||^2`` shrink ([derived], docs/theory.md section 5.2).
- Sample paths: the top Lyapunov exponent ``lim (1/t) log ||x_t||`` decides whether almost every path shrinks;
  it can be negative while ``M`` is unstable (heavy tails), and the reports say so.
- P3 Theorems 4.1/4.2 give a necessary condition for linear stability in terms of ``||H||_F`` and the
  alignment constant ``gamma`` ([working def] of docs/theory.md section 5.2).

Everything here is numeric linear algebra (NumPy/SciPy) on exactly enumerated batch laws, except where a law
is too large to enumerate; then a seeded Monte Carlo sample of batches is used and ``method`` says so.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from .._tables import html_table
from .._checks import nonnegative, positive, positive_int
from ._common import null_space, range_space

MAX_EXACT_BATCHES = 20_000
DEFAULT_DRAWS = 20_000


def check_hessians(hessians, name: str = "hessians") -> np.ndarray:
    """Per-sample Hessians as a float array ``(n, d, d)``, each symmetric and finite."""
    try:
        arr = np.asarray(hessians, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of shape (n, d, d), got {hessians!r}") from None
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2] or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must have shape (n, d, d) with n, d >= 1, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    asym = np.max(np.abs(arr - np.swapaxes(arr, 1, 2)))
    if asym > 1e-10 * max(1.0, np.max(np.abs(arr))):
        raise ValueError(f"{name} must be symmetric matrices, got an asymmetry of {asym:.3g}")
    return 0.5 * (arr + np.swapaxes(arr, 1, 2))


@dataclass
class BatchLaw:
    """The law of a mini-batch: ``counts[k, i]`` copies of sample ``i`` in batch ``k``, with probability ``weights[k]``."""

    counts: np.ndarray  # (k, n) ints
    weights: np.ndarray  # (k,)
    exact: bool
    description: str


def batch_law(n: int, batch_size: int, *, max_batches: int = MAX_EXACT_BATCHES, n_draws: int = DEFAULT_DRAWS,
              seed: int = 0) -> BatchLaw:
    """Batches of ``batch_size`` indices drawn uniformly with replacement from ``n`` samples.

    Exact when the number of multisets ``C(n + B - 1, B)`` is at most ``max_batches`` (multinomial weights);
    otherwise ``n_draws`` batches sampled with ``numpy.random.default_rng(seed)``, each of weight ``1/n_draws``.
    """
    n = positive_int(n, "n")
    batch_size = positive_int(batch_size, "batch_size")
    max_batches = positive_int(max_batches, "max_batches")
    n_draws = positive_int(n_draws, "n_draws")
    n_multisets = math.comb(n + batch_size - 1, batch_size)
    if n_multisets <= max_batches:
        rows = []
        for combo in itertools.combinations_with_replacement(range(n), batch_size):
            rows.append(np.bincount(combo, minlength=n))
        counts = np.array(rows, dtype=np.int64)
        log_weight = (
            math.lgamma(batch_size + 1)
            - np.sum([[math.lgamma(c + 1) for c in row] for row in counts], axis=1)
            - batch_size * math.log(n)
        )
        weights = np.exp(log_weight)
        return BatchLaw(counts, weights / weights.sum(), True, f"exact enumeration of {n_multisets} batches")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_draws, batch_size))
    counts = np.stack([np.bincount(row, minlength=n) for row in idx])
    return BatchLaw(counts, np.full(n_draws, 1.0 / n_draws), False,
                    f"Monte Carlo over {n_draws} batches (seed {seed}); C(n+B-1, B) = {n_multisets} is too many to enumerate")


def _restricted(hessians: np.ndarray):
    """Per-sample Hessians restricted to ``range(H)``, ``H`` their mean; and whether that restriction is exact.

    At an interpolating minimum every ``H_i`` is PSD and vanishes on ``null(H)``, so ``range(H)`` is invariant and
    the null directions are neutral (eigenvalue 1). If some ``H_i`` does not vanish there, the full space is kept.
    """
    mean = hessians.mean(axis=0)
    basis = range_space(mean)
    null = null_space(mean)
    leak = np.max(np.abs(hessians @ null)) if null.shape[1] else 0.0
    scale = max(np.max(np.abs(hessians)), 1e-300)
    if leak > 1e-9 * scale:
        return hessians, np.eye(mean.shape[0]), False
    return np.einsum("da,nde,eb->nab", basis, hessians, basis), basis, True


def _batch_operators(hessians: np.ndarray, law: BatchLaw, rho: float) -> np.ndarray:
    """``A_xi`` for every batch of the law: ``(k, r, r)``."""
    batch_size = law.counts[0].sum()
    h_batch = np.einsum("kn,nab->kab", law.counts / batch_size, hessians)
    return h_batch + rho * h_batch @ h_batch


@dataclass
class MeanSquareStability:
    """Spectral radius of the second-moment operator of the linearized SGD/USAM map.

    Attributes
    ----------
    radius : float
        Spectral radius of ``M = E[(I - lr A) (x) (I - lr A)]`` on ``range(H)``; ``E[L_t]`` grows like ``radius^t``.
    stable : bool
        ``radius <= 1``.
    range_dim : int
        Dimension of ``range(H)`` the operator acts on (null directions of ``H`` are neutral).
    method : str
    """

    radius: float
    stable: bool
    range_dim: int
    method: str

    def _repr_html_(self) -> str:
        rows = [("radius of E[(I - lr A) (x) (I - lr A)]", f"{self.radius:.6g}"), ("stable (radius <= 1)", self.stable),
                ("dim range(H)", self.range_dim), ("method", self.method)]
        return html_table(rows, caption="MeanSquareStability")


def mean_square_radius(hessians, lr, rho=0.0, batch_size=1, *, max_batches: int = MAX_EXACT_BATCHES,
                       n_draws: int = DEFAULT_DRAWS, seed: int = 0) -> MeanSquareStability:
    """Mean-square stability of SGD (``rho = 0``) or USAM at an interpolating minimum.

    Parameters
    ----------
    hessians : array (n, d, d)
        Per-sample Hessians at the minimum.
    lr, rho : float
    batch_size : int
        Batches are drawn uniformly with replacement. The batch law is enumerated exactly when it has at most
        ``max_batches`` distinct multisets, otherwise ``n_draws`` seeded Monte Carlo batches are used.

    Numeric (NumPy eigenvalues of an ``r^2 x r^2`` matrix, ``r = dim range(H)``).
    """
    hessians = check_hessians(hessians)
    lr = positive(lr, "lr")
    rho = nonnegative(rho, "rho")
    law = batch_law(hessians.shape[0], batch_size, max_batches=max_batches, n_draws=n_draws, seed=seed)
    restricted, basis, invariant = _restricted(hessians)
    r = restricted.shape[1]
    method = law.description + ("" if invariant else "; H_i do not vanish on null(H), so the full space is used")
    if r == 0:
        return MeanSquareStability(1.0, True, 0, method + "; H = 0, every direction is neutral")
    step = np.eye(r) - lr * _batch_operators(restricted, law, rho)
    operator = np.einsum("k,kab,kcd->acbd", law.weights, step, step).reshape(r * r, r * r)
    radius = float(np.max(np.abs(np.linalg.eigvals(operator))))
    return MeanSquareStability(radius, radius <= 1.0, r, method)


def mean_square_radius_grid(hessians, lrs, rhos, batch_size=1, *, max_batches: int = MAX_EXACT_BATCHES,
                            n_draws: int = DEFAULT_DRAWS, seed: int = 0) -> np.ndarray:
    """:func:`mean_square_radius`'s ``radius`` over a grid: ``(len(rhos), len(lrs))``.

    The batch law and the restriction to ``range(H)`` are computed once for the whole grid, the batch operators
    once per ``rho``, and the second-moment operators of every ``lr`` are diagonalised in one batched call.
    Same arguments and conventions as :func:`mean_square_radius` (``rho = 0`` is SGD). Numeric.
    """
    hessians = check_hessians(hessians)
    lrs = np.atleast_1d(np.asarray([positive(v, "lr") for v in np.ravel(lrs)], dtype=float))
    rhos = np.atleast_1d(np.asarray([nonnegative(v, "rho") for v in np.ravel(rhos)], dtype=float))
    law = batch_law(hessians.shape[0], batch_size, max_batches=max_batches, n_draws=n_draws, seed=seed)
    restricted, _, _ = _restricted(hessians)
    r = restricted.shape[1]
    out = np.ones((len(rhos), len(lrs)))
    if r == 0:
        return out
    eye = np.eye(r)
    for i, rho in enumerate(rhos):
        ops = _batch_operators(restricted, law, float(rho))  # (k, r, r)
        steps = eye - lrs[:, None, None, None] * ops  # (n_lr, k, r, r)
        operators = np.einsum("k,lkab,lkcd->lacbd", law.weights, steps, steps).reshape(len(lrs), r * r, r * r)
        out[i] = np.max(np.abs(np.linalg.eigvals(operators)), axis=-1)
    return out


@dataclass
class LyapunovExponent:
    """Top Lyapunov exponent ``lim (1/t) log ||x_t||`` of the linearized random map.

    ``exponent < 0``: almost every sample path converges, even when the mean square diverges.
    ``stderr`` is 0 for an exact value, else the standard error from batch means.
    """

    exponent: float
    stderr: float
    method: str


def _commuting(hessians: np.ndarray) -> bool:
    scale = max(np.max(np.abs(hessians)) ** 2, 1e-300)
    for i in range(len(hessians)):
        for j in range(i + 1, len(hessians)):
            if np.max(np.abs(hessians[i] @ hessians[j] - hessians[j] @ hessians[i])) > 1e-10 * scale:
                return False
    return True


def lyapunov_exponent(hessians, lr, rho=0.0, batch_size=1, *, steps: int = 20_000, seed: int = 0) -> LyapunovExponent:
    """Top Lyapunov exponent of ``x <- (I - lr A_xi) x`` on ``range(H)`` (SGD for ``rho = 0``, else USAM).

    Exact when the ``H_i`` commute (then every common eigendirection evolves on its own and the exponent is
    ``max_k E log|1 - lr a_k(xi)|`` over the enumerated batch law); otherwise a seeded product of ``steps``
    random matrices with QR re-orthonormalisation, with a standard error from 20 batch means. Numeric.
    """
    hessians = check_hessians(hessians)
    lr = positive(lr, "lr")
    rho = nonnegative(rho, "rho")
    steps = positive_int(steps, "steps")
    restricted, _, _ = _restricted(hessians)
    r = restricted.shape[1]
    if r == 0:
        return LyapunovExponent(0.0, 0.0, "H = 0: every direction is neutral")
    n = restricted.shape[0]
    law = batch_law(n, batch_size)
    if _commuting(restricted) and law.exact:
        mix = np.tensordot(np.random.default_rng(12345).random(n) + 0.5, restricted, axes=1)
        _, basis = np.linalg.eigh(mix)  # a generic combination separates the common eigendirections
        diag = np.einsum("da,nde,ea->na", basis, restricted, basis)  # (n, r) eigenvalues per sample
        ops = _batch_operators(np.stack([np.diag(row) for row in diag]), law, rho)
        factors = np.abs(1.0 - lr * np.einsum("kaa->ka", ops))
        with np.errstate(divide="ignore"):
            per_direction = law.weights @ np.log(factors)
        return LyapunovExponent(float(np.max(per_direction)), 0.0,
                                "exact: the H_i commute, " + law.description)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(steps, batch_size))
    vec = np.linalg.qr(rng.standard_normal((r, r)))[0]
    logs = np.empty(steps)
    eye = np.eye(r)
    for t in range(steps):
        h = restricted[idx[t]].mean(axis=0)
        vec = (eye - lr * (h + rho * h @ h)) @ vec
        vec, upper = np.linalg.qr(vec)
        logs[t] = np.log(abs(upper[0, 0])) if upper[0, 0] != 0 else -np.inf
    # with QR the first column follows the top direction, so its growth rate is the top exponent
    chunks = np.array_split(logs, 20)
    means = np.array([c.mean() for c in chunks])
    return LyapunovExponent(float(logs.mean()), float(means.std(ddof=1) / math.sqrt(len(means))),
                            f"QR product of {steps} random matrices (seed {seed})")


def alignment_gamma(hessians) -> float:
    """The noise-alignment constant ``gamma`` of docs/theory.md section 5.2 ([working def]).

    ``gamma = min over x in range(H) of x^T (E[H_i H H_i] - H^3) x / (x^T H x * ||H||_F^2)``, a generalized
    symmetric eigenvalue problem on ``range(H)`` (SciPy ``eigh``); 0 when all samples agree. Numeric.
    """
    hessians = check_hessians(hessians)
    mean = hessians.mean(axis=0)
    basis = range_space(mean)
    if basis.shape[1] == 0:
        raise ValueError("hessians must have a nonzero mean for gamma to be defined, got H = 0")
    frob2 = float(np.sum(mean * mean))
    numerator = np.einsum("nab,bc,ncd->ad", hessians, mean, hessians) / len(hessians) - mean @ mean @ mean
    num_r = basis.T @ numerator @ basis
    den_r = basis.T @ mean @ basis
    eig = scipy.linalg.eigh(0.5 * (num_r + num_r.T), 0.5 * (den_r + den_r.T), eigvals_only=True)
    smallest = float(eig[0])
    if -1e-12 * max(abs(float(eig[-1])), 1e-300) < smallest < 0:
        smallest = 0.0  # E[H_i H H_i] - H^3 is PSD in exact arithmetic; this is rounding
    return smallest / frob2


@dataclass
class StabilityInequality:
    """The two sides of a necessary condition for linear stability: stable implies ``lhs <= rhs``.

    Attributes
    ----------
    lhs, rhs : float
    holds : bool
    gamma : float
    frobenius_sq : float
        ``||H||_F^2``.
    growth_factor : float
        ``lr^2 gamma lhs / batch_size``: when it exceeds 1 the theorem's lower bound ``E[L_t] >= C^t E[L_0]``
        grows (``C`` = this factor), i.e. the inequality fails exactly when ``C > 1``.
    statement : str
    method : str
    """

    lhs: float
    rhs: float
    holds: bool
    gamma: float
    frobenius_sq: float
    growth_factor: float
    statement: str
    method: str = "NumPy/SciPy: gamma from a generalized symmetric eigenproblem on range(H)"


def sgd_stability_inequality(hessians, lr, batch_size=1) -> StabilityInequality:
    """SGD's counterpart of P3 Theorem 4.1: linearly stable implies ``||H||_F^2 <= B / (lr^2 gamma)``.

    Numeric (``gamma`` from :func:`alignment_gamma`); ``rhs = inf`` when ``gamma = 0`` (no noise).
    """
    return _inequality(hessians, lr, 0.0, batch_size, "SGD: ||H||_F^2 <= B/(lr^2 gamma)")


def usam_stability_inequality(hessians, lr, rho, batch_size=1) -> StabilityInequality:
    """P3 Theorems 4.1/4.2 for P3's (unnormalized) SAM: linearly stable implies
    ``||H||_F^2 (1 + (rho^2 gamma / B) ||H||_F^2) <= B / (lr^2 gamma)``; if it fails, ``E[L_t] >= C^t E[L_0]``, ``C > 1``.

    Numeric (``gamma`` from :func:`alignment_gamma`).
    """
    return _inequality(hessians, lr, rho, batch_size,
                       "USAM: ||H||_F^2 (1 + rho^2 gamma ||H||_F^2 / B) <= B/(lr^2 gamma)")


def _inequality_lhs(frob2: float, gamma: float, rho, batch_size: int):
    """P3 Theorem 4.1's left side ``||H||_F^2 (1 + rho^2 gamma ||H||_F^2 / B)`` (``rho`` scalar or array)."""
    return frob2 * (1.0 + rho**2 * gamma * frob2 / batch_size)


def _inequality_rhs(gamma: float, lr, batch_size: int):
    """P3 Theorem 4.1's right side ``B / (lr^2 gamma)`` (``inf`` when ``gamma = 0``; ``lr`` scalar or array)."""
    if not gamma > 0:
        return np.full(np.shape(lr), math.inf)[()]
    return batch_size / (lr**2 * gamma)


def _frobenius_sq(hessians: np.ndarray) -> float:
    mean = hessians.mean(axis=0)
    return float(np.sum(mean * mean))


def usam_inequality_rho_edge(hessians, lrs, batch_size=1) -> np.ndarray:
    """For each ``lr``, the largest ``rho`` at which P3 Theorem 4.1's necessary condition
    (:func:`usam_stability_inequality`) still holds: ``lhs(rho) = rhs(lr)`` solved for ``rho``.

    The left side is ``lhs(0) + rho^2 gamma ||H||_F^4 / B``, so ``rho^2 = (rhs - lhs(0)) B / (gamma ||H||_F^4)``;
    NaN where the condition fails even at ``rho = 0``, ``inf`` everywhere when ``gamma = 0`` (no noise: it never
    binds). Numeric (``gamma`` from :func:`alignment_gamma`).
    """
    hessians = check_hessians(hessians)
    lrs = np.asarray([positive(v, "lr") for v in np.ravel(lrs)], dtype=float).reshape(np.shape(lrs))
    batch_size = positive_int(batch_size, "batch_size")
    gamma = alignment_gamma(hessians)
    frob2 = _frobenius_sq(hessians)
    if not gamma > 0:
        return np.full(lrs.shape, np.inf)
    base = _inequality_lhs(frob2, gamma, 0.0, batch_size)
    per_rho_sq = _inequality_lhs(frob2, gamma, 1.0, batch_size) - base  # the coefficient of rho^2
    with np.errstate(divide="ignore", invalid="ignore"):
        rho_sq = (_inequality_rhs(gamma, lrs, batch_size) - base) / per_rho_sq
    return np.where(rho_sq >= 0, np.sqrt(np.maximum(rho_sq, 0.0)), np.nan)


def _inequality(hessians, lr, rho, batch_size, statement) -> StabilityInequality:
    hessians = check_hessians(hessians)
    lr = positive(lr, "lr")
    rho = nonnegative(rho, "rho")
    batch_size = positive_int(batch_size, "batch_size")
    gamma = alignment_gamma(hessians)
    frob2 = _frobenius_sq(hessians)
    lhs = _inequality_lhs(frob2, gamma, rho, batch_size)
    rhs = float(_inequality_rhs(gamma, lr, batch_size))
    return StabilityInequality(lhs, rhs, lhs <= rhs, gamma, frob2, lr**2 * gamma * lhs / batch_size, statement)


@dataclass
class PLConditions:
    """P3 Theorem 4.3's constants and step-size conditions for a finite sum of quadratics ``x^T H_i x / 2``.

    ``mu`` (PL constant = smallest nonzero eigenvalue of ``H``), ``smoothness`` (largest eigenvalue of ``H``),
    ``sigma2`` (smallest constant with ``E_i ||grad ell_i - grad L||^2 <= sigma2 * L`` — [working def] of
    Assumption 4.3), the bounds on ``lr`` and ``rho``, whether they hold, and the promised rate ``1 - lr mu / 2``.
    """

    mu: float
    smoothness: float
    sigma2: float
    lr_max: float
    rho_max: float
    holds: bool
    rate: float
    method: str = "NumPy/SciPy: eigenvalues of H and a generalized eigenproblem for sigma^2"


def pl_conditions(hessians, lr, rho, batch_size=1) -> PLConditions:
    """Check the hypotheses of P3 Theorem 4.3 (PL + smoothness + noise) on an interpolating quadratic finite sum.

    ``lr <= min(1/L, mu B / (2 L sigma2))`` and ``rho <= min(1/L, mu B / (4 L sigma2), lr mu^2 / (24 L^2))``;
    then ``E[L(x_t)] <= (1 - lr mu / 2)^t L(x_0)``. Numeric (NumPy/SciPy eigenvalues).
    """
    hessians = check_hessians(hessians)
    lr = positive(lr, "lr")
    rho = nonnegative(rho, "rho")
    batch_size = positive_int(batch_size, "batch_size")
    mean = hessians.mean(axis=0)
    basis = range_space(mean)
    if basis.shape[1] == 0:
        raise ValueError("hessians must have a nonzero mean for the PL constant to be defined, got H = 0")
    eig = np.linalg.eigvalsh(basis.T @ mean @ basis)
    if eig[0] <= 0:
        raise ValueError(f"hessians must average to a positive semi-definite H for PL to hold, got eigenvalue {eig[0]:.3g}")
    mu, smooth = float(eig[0]), float(eig[-1])
    second = np.einsum("nab,nbc->ac", hessians, hessians) / len(hessians) - mean @ mean
    # sup_x x^T (E H_i^2 - H^2) x / (x^T H x / 2) over range(H)
    top = scipy.linalg.eigh(basis.T @ second @ basis, basis.T @ mean @ basis, eigvals_only=True)[-1]
    sigma2 = float(max(2.0 * top, 0.0))
    if sigma2 > 0:
        lr_max = min(1.0 / smooth, mu * batch_size / (2 * smooth * sigma2))
        rho_cap = min(1.0 / smooth, mu * batch_size / (4 * smooth * sigma2))
    else:
        lr_max, rho_cap = 1.0 / smooth, 1.0 / smooth
    rho_max = min(rho_cap, lr * mu**2 / (24 * smooth**2))
    return PLConditions(mu, smooth, sigma2, lr_max, rho_max, lr <= lr_max and rho <= rho_max, 1.0 - lr * mu / 2)


def quadratic_finite_sum(hessians, name: str = "quadratic_finite_sum"):
    """The landscape ``L(x) = (1/n) sum_i x^T H_i x / 2``: every sample is minimized at 0 (an interpolating minimum).

    ``hessians`` ``(n, d, d)``; the entries of each ``H_i`` become data columns, so SGD/USAM batches draw samples.
    """
    from ..landscapes import from_expr  # landscapes sits below theory; imported here to keep module import light
    import sympy as sp

    hessians = check_hessians(hessians)
    n, d, _ = hessians.shape
    names = ["x"] if d == 1 else [f"x{i + 1}" for i in range(d)]
    xs = [sp.Symbol(v, real=True) for v in names]
    entries = {(i, j): sp.Symbol(f"h{i + 1}{j + 1}") for i in range(d) for j in range(i, d)}
    expr = sp.Add(*(sp.Rational(1, 2) * entries[(i, i)] * xs[i] ** 2 for i in range(d)),
                  *(entries[(i, j)] * xs[i] * xs[j] for i in range(d) for j in range(i + 1, d)))
    samples = {sym.name: hessians[:, i, j].tolist() for (i, j), sym in entries.items()}
    return from_expr(expr, names, samples=samples, name=name, window=[-1.0, 1.0],
                     minimizers=np.zeros((1, d)), notes="interpolating minimum at the origin")
