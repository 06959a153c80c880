"""Where runs end: the fate of each start of a run, and of a grid of ``(eta, rho)`` started next to a minimum.

These are computations on simulations (they run the optimizer's own update a little further, or simulate a
grid of hyperparameters); :mod:`samscape.plots` draws them (basin maps, stability diagrams) and the claims use them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .. import dynamics
from ..dynamics import Switch
from .._checks import choice, increasing, int_at_least, point, positive
from ._common import check_landscape, check_run
from .momentum import momentum_lr
from .stability import fixed_map_optimizers, mean_map
from .stochastic import alignment_gamma, mean_square_radius_grid, usam_inequality_rho_edge

FATES = ("minimizer", "hallucinated", "moving", "diverged", "critical")
STABILITY_FATES = ("stable", "escaped", "diverged")


# ---------------------------------------------------------------------------------------------- a run's own update
def advance(run, x: np.ndarray, first_step: int, n: int, *, state=None) -> np.ndarray:
    """Iterate the run's own update ``n`` more times from ``x (n_starts, dim)`` at step ``first_step``.

    Uses the run's seed and start ids, so a replay from step 0 reproduces ``run.xs`` exactly. ``state`` is the
    optimizer's state at ``first_step`` (name -> ``(n_starts, dim)``: ``run.state.arrays`` to go on from where the
    run stopped, as :func:`classify_fates` does); zeros by default, a run's state at step 0.
    Returns ``(n + 1, n_starts, dim)``, the input first.
    """
    ids = run.start_ids if run.start_ids is not None else np.arange(run.n_starts)
    with np.errstate(all="ignore"):
        return dynamics.iterate(run.landscape, run.optimizer, np.asarray(x, dtype=float), first_step, n,
                                seed=run.seed, start_ids=ids, state=state)


def _end_of(run) -> tuple[int, dict | None]:
    """The step a run stopped at, counted as its draws count it, and its optimizer's state there (``None``: zeros,
    a stateless optimizer or a run built by hand)."""
    recorded = getattr(run, "state", None)
    if recorded is None:
        return int(run.steps[-1]), None
    return int(recorded.step), dict(recorded.arrays)


def run_phases(run):
    """``[(optimizer, first_step, last_step)]``: the plain optimizers that ran, in order, with the steps each ran.

    A :class:`Switch` hands over at its absolute step ``at``, and either side may itself be a ``Switch``, so the
    split recurses; a side that never runs inside ``[0, steps]`` is left out.
    """
    def split(opt, lo: int, hi: int):
        if not isinstance(opt, Switch):
            return [(opt, lo, hi)]
        if not lo < opt.at < hi:
            return split(opt.first if opt.at >= hi else opt.second, lo, hi)
        return split(opt.first, lo, opt.at) + split(opt.second, opt.at, hi)

    return split(run.optimizer, 0, int(run.steps[-1]))


def final_optimizer(run):
    return run_phases(run)[-1][0]


# ---------------------------------------------------------------------------------------------- fates of a run
def classify_fates(run, *, grad_tol: float = 1e-2, move_tol: float = 1e-3, window: int = 32,
                   polish_steps: int = 400, curvature_tol: float = 1e-6, backend: str = "auto") -> np.ndarray:
    """The fate of each start, one of :data:`FATES`; ``(n_starts,)`` str.

    From the final iterate the run's own update is applied ``window`` more times (same seed, and from the run's
    final state: an optimizer with momentum goes on with its velocity), giving a cloud
    of iterates with mean ``m`` and spread ``s = max_k ||x_k - m||``. Normalised SAM never comes to rest at a
    minimizer -- it bounces around it -- so a start is judged by where its cloud sits:

    * ``diverged``: the run froze the start (it left the bound or stopped being finite);
    * ``hallucinated``: the update has come to rest (``s <= move_tol``) where ``||grad L(m)|| > grad_tol``:
      a fixed point of the map that is not a critical point of ``L`` (P1);
    * ``minimizer``: ``||grad L(m)|| <= grad_tol``, or the cloud still bounces but surrounds a local minimizer:
      gradient descent from ``m`` (``polish_steps`` steps at the run's learning rate) ends within ``s`` of ``m``;
    * ``critical``: a ``minimizer`` by the test above whose Hessian at ``m`` has an eigenvalue below
      ``-curvature_tol``: a saddle or maximum, where ``grad L = 0`` so SAM's perturbation vanishes and a start
      that lands exactly there stays (rare; it happens to starts placed exactly on such a point);
    * ``moving``: none of these (e.g. still travelling, or drifting away from the point it circles).

    ``backend`` is passed to :func:`samscape.dynamics.simulate` for the gradient-descent polish.
    """
    check_run(run)
    grad_tol = positive(grad_tol, "grad_tol")
    move_tol = positive(move_tol, "move_tol")
    window = int_at_least(window, "window", 2)
    polish_steps = int_at_least(polish_steps, "polish_steps")
    curvature_tol = positive(curvature_tol, "curvature_tol", allow_zero=True)
    landscape = run.landscape
    end, state = _end_of(run)
    ahead = advance(run, run.x.astype(float), end, window, state=state)[1:]
    mean = ahead.mean(axis=0)
    with np.errstate(all="ignore"):
        g = np.linalg.norm(landscape.grad(mean), axis=-1)
        spread = np.linalg.norm(ahead - mean, axis=-1).max(axis=0)
    ok = (np.asarray(run.status) == "ok") & np.isfinite(g) & np.isfinite(spread)
    at_rest = spread <= move_tol
    circling = ok & ~at_rest & (g > grad_tol)
    surrounds = np.zeros(run.n_starts, dtype=bool)
    if circling.any():
        lr = final_optimizer(run).lr
        lr = lr[circling] if np.ndim(lr) else lr
        polished = dynamics.simulate(landscape, dynamics.GD(lr), mean[circling], polish_steps, every=polish_steps,
                                     seed=0, progress=False, backend=backend)
        reach = np.linalg.norm(polished.x - mean[circling], axis=-1)
        surrounds[circling] = (polished.status == "ok") & (reach <= spread[circling])
    fate = np.where((g <= grad_tol) | surrounds, "minimizer", np.where(at_rest, "hallucinated", "moving"))
    fate = np.where(ok, fate, "moving").astype("<U12")
    still = (fate == "minimizer") & (g <= grad_tol) & at_rest
    if still.any():
        with np.errstate(all="ignore"):
            lowest = np.linalg.eigvalsh(landscape.hessian(mean[still]))[:, 0]
        fate[np.flatnonzero(still)[lowest < -curvature_tol]] = "critical"
    return np.where(np.asarray(run.status) != "ok", "diverged", fate).astype("<U12")


# ---------------------------------------------------------------------------------------------- fates over (eta, rho)
@dataclass
class StabilityGrid:
    """Simulated fates over ``(eta, rho)``.

    Attributes
    ----------
    lrs : ndarray (n_eta,)
    rhos : ndarray (n_rho,)
    fates : ndarray (n_rho, n_eta) of str
        ``stable`` (ended within ``radius`` of ``x_star``), ``escaped`` (left it, finite) or ``diverged``.
    distance : ndarray (n_rho, n_eta)
        ``||x_T - x_star||``.
    x_star : ndarray (dim,)
    hessian : ndarray (dim, dim)
        Full-loss Hessian at ``x_star``; ``lam`` is its largest eigenvalue.
    optimizer, batch_size, steps, delta, radius, hyperparameters
        How the grid was simulated (``hyperparameters``: the optimizer's other fields, e.g. ``{"momentum": 0.9}``).
    landscape : Landscape
    """

    lrs: np.ndarray
    rhos: np.ndarray
    fates: np.ndarray
    distance: np.ndarray
    x_star: np.ndarray
    hessian: np.ndarray
    optimizer: str
    batch_size: int | None
    steps: int
    delta: float
    radius: float
    landscape: object = field(default=None, repr=False)
    hyperparameters: dict = field(default_factory=dict)

    @property
    def lam(self) -> float:
        return float(np.linalg.eigvalsh(self.hessian)[-1])

    @property
    def linear_map(self):
        """The map of the simulated optimizer's mean update (:func:`samscape.theory.stability.mean_map`), or
        ``None`` where the theory has none (per-sample ascents): what the stability diagram's edges are drawn for."""
        return mean_map(dynamics.OPTIMIZERS[self.optimizer])

    @property
    def step_scale(self) -> float:
        """``s/eta``, the effective step of the simulated momentum per unit ``eta`` (:func:`momentum_lr`; 1 without
        momentum): the stateless edges hold over ``(s, rho)``, docs/theory.md section 2.2."""
        momentum = self.hyperparameters.get("momentum", 0.0)
        return float(momentum_lr(1.0, momentum, bool(self.hyperparameters.get("nesterov", False))))

    @property
    def stochastic(self) -> bool:
        """Mini-batches smaller than the data set: the method is random and P3's stochastic theory applies."""
        return self.landscape is not None and self.batch_size is not None and self.batch_size < self.landscape.n_samples

    @cached_property
    def sample_hessians(self) -> np.ndarray:
        """Per-sample Hessians at ``x_star``, ``(n, dim, dim)`` (computed once)."""
        return self.landscape.sample_hessians(self.x_star)

    @cached_property
    def gamma(self) -> float:
        """P3's alignment constant at ``x_star`` (:func:`alignment_gamma`, computed once)."""
        return float(alignment_gamma(self.sample_hessians))

    def mean_square_radii(self, lrs, rhos) -> np.ndarray:
        """Spectral radius of the linearized method's second-moment operator over ``(rho, lr)``: ``(n_rho, n_lr)``
        (:func:`mean_square_radius_grid`; ``rho`` enters only for USAM)."""
        rhos = np.asarray(rhos, dtype=float)
        used = rhos if self.linear_map is not None and self.linear_map.uses_rho else np.zeros_like(rhos)
        return mean_square_radius_grid(self.sample_hessians, lrs, used, self.batch_size)

    def p3_rho_edge(self, lrs):
        """``rho`` on P3 Theorem 4.1's boundary for each ``lr`` (:func:`usam_inequality_rho_edge`), or None where
        the theorem does not apply: a deterministic method, or alignment ``gamma = 0`` at ``x_star``."""
        if not self.stochastic or not self.gamma > 0:
            return None
        return usam_inequality_rho_edge(self.sample_hessians, lrs, self.batch_size)


def simulated_kinds() -> dict[str, type]:
    """The kinds :func:`stability_fates` simulates: those whose map the theory knows
    (:func:`~samscape.theory.stability.fixed_map_optimizers`) and the plain ones whose step reads their own state
    (MSAM, LookSAM): deterministic on a full batch, though without a map of ``x`` alone."""
    found = dict(fixed_map_optimizers())
    found.update({kind: dynamics.OPTIMIZERS[kind] for kind in dynamics.plain_kinds()
                  if dynamics.OPTIMIZERS[kind].reads_state})
    return found


def stability_fates(landscape, x_star, *, lrs, rhos, optimizer="usam", batch_size=None, steps=400, delta=1e-3,
                    radius=None, seed=0, hyperparameters=None) -> StabilityGrid:
    """Simulate ``optimizer`` from ``x_star + delta * v_1`` for every ``(eta, rho)`` in one vectorized run.

    ``v_1`` is the top Hessian eigenvector at ``x_star`` (the direction that loses stability first). A start
    is ``stable`` when it ends within ``radius`` (default ``10 * delta``) of ``x_star``.

    Parameters
    ----------
    landscape : Landscape
    x_star : array (dim,)
        A minimizer.
    lrs, rhos : increasing 1-D sequences
        The grid axes; every pair is one start.
    optimizer : a kind of :func:`simulated_kinds` (``"usam"``, ``"sam"``, ``"gd"``, ``"sgd"``, ``"asam"``,
        ``"msam"``, ...)
    batch_size : int, optional
        Mini-batch size (stochastic methods on a finite sum); ``sgd`` needs it.
    hyperparameters : dict, optional
        The optimizer's other hyperparameters, the same at every grid point (``{"steps_ascent": 3}``,
        ``{"eta_a": 0.0}``, ``{"momentum": 0.9}``, ...); the class's defaults otherwise. With momentum every start
        begins at rest (zero velocity), the velocity of the fixed point ``x_star``.
    """
    check_landscape(landscape)
    kinds = simulated_kinds()
    optimizer = choice(optimizer, "optimizer", tuple(kinds))
    lrs = increasing(lrs, "lrs", minimum=0)
    rhos = increasing(rhos, "rhos", minimum=0)
    if lrs[0] <= 0:
        raise ValueError(f"lrs must be > 0, got {lrs[0]!r}")
    steps = int_at_least(steps, "steps")
    delta = positive(delta, "delta")
    radius = 10 * delta if radius is None else positive(radius, "radius")
    x_star = point(x_star, landscape.dim, "x_star")
    hessian = landscape.hessian(x_star)
    top = np.linalg.eigh(hessian)[1][:, -1]
    eta, rho = (g.ravel() for g in np.meshgrid(lrs, rhos))
    if kinds[optimizer].batch_rule() == "required" and batch_size is None:
        raise ValueError(f"batch_size must be a positive integer for optimizer={optimizer!r}, got None")
    hyperparameters = dict(hyperparameters or {})
    for name in hyperparameters:
        if name in ("lr", "rho", "batch_size") or not kinds[optimizer].takes(name):
            taken = [f.name for f in dataclasses.fields(kinds[optimizer]) if f.name not in ("lr", "rho", "batch_size")]
            raise ValueError(f"hyperparameters must name fields of {kinds[optimizer].__name__} other than lr, rho and "
                             f"batch_size ({', '.join(taken) or 'it has none'}), got {name!r}")
    opt = dynamics.optimizer_from_kind(optimizer, eta, rho=rho, batch_size=batch_size, **hyperparameters)
    x0 = np.broadcast_to(x_star + delta * top, (eta.size, landscape.dim))
    run = dynamics.simulate(landscape, opt, x0, steps, every=steps, seed=seed, progress=False)
    distance = np.linalg.norm(run.x - x_star, axis=-1)
    fates = np.where(distance <= radius, "stable", "escaped")
    fates = np.where((run.status != "ok") | ~np.isfinite(run.loss[-1]), "diverged", fates)
    shape = (len(rhos), len(lrs))
    return StabilityGrid(lrs, rhos, fates.reshape(shape).astype("<U8"), distance.reshape(shape), x_star, hessian,
                         optimizer, batch_size, steps, delta, radius, landscape, hyperparameters)
