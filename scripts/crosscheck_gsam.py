"""samscape's GSAM against the step rule of the authors' code (juntang-zhuang/GSAM on GitHub, ``gsam/gsam.py`` and
``gsam/scheduler.py``), which pip cannot install: their rule and their schedules are re-expressed here in NumPy, in
our own words, and run beside ``dynamics.GSAM``.

    .venv/bin/python scripts/crosscheck_gsam.py [--steps 40]

prints the largest coordinate difference of every step on small landscapes and exits 1 if one exceeds
``TOLERANCE``. Their ``GSAM.step`` (non-adaptive, their class's default) around a PyTorch SGD, as we read it:

1. ``g = grad L(w)``; ``e = g * (rho_t / (||g|| + perturb_eps))``; ``g_adv = grad L(w + e)``.
2. ``cosine = <g, g_adv> / (||g_adv|| ||g|| + perturb_eps)``;
   ``vertical = g - cosine ||g|| g_adv / (||g_adv|| + perturb_eps)``, the part of ``g`` orthogonal to ``g_adv``;
3. the gradient handed to the base optimizer is ``g_adv - alpha vertical`` (``grad.add_(vertical, alpha=-alpha)``):
   *minus* alpha times the orthogonal part, as in samscape's ``g_adv - alpha g_perp``; the control below flips it;
4. ``w`` is restored as ``(w + e) - e`` and PyTorch's SGD steps with ``d``: ``w - lr_t d``, or with their example's
   momentum 0.9 ``buf <- 0.9 buf + d, w - lr_t buf``, samscape's ``GSAM(..., momentum=0.9)`` (their example's weight
   decay has no counterpart in samscape and is left out).

Their schedules: ``alpha`` is one constant; ``rho_t`` follows the learning rate (``ProportionScheduler``:
``rho_t - rho_min`` proportional to ``lr_t - lr_min``). In their example's loop the learning-rate scheduler steps
*after* each update, and both schedulers start from the lr scheduler's initial value 0, so step 0 runs with the
base optimizer's own lr and ``rho_min``, step 1 with the first scheduled values (the cosine at 0), step ``k`` with
the cosine at ``k - 1``. The ``cosine`` runs below drive samscape's GSAM with exactly that sequence, one
``GSAM(lr=lr_k, rho=rho_k, alpha)`` step at a time (``advance``, which carries the velocity from step to step).

Tolerance: with their ``perturb_eps`` set to 0 (a constructor argument of theirs), both sides compute the same
formulas in float64, in a different order: a few units in the last place per step. The verdict applies their rule
to samscape's iterate at every step, so nothing compounds; ``TOLERANCE = 1e-12`` leaves three orders of magnitude.

Where samscape differs by design (each shown, their detail as written against samscape):

* ``perturb_eps = 1e-12`` (their default) in three denominators. In the perturbation it shortens ``e`` by the factor
  ``||g||/(||g|| + 1e-12)``: by a relative 1e-12 where ``||g||`` is near 1 (above float64 rounding, below anything a
  plot shows), by half where ``||g|| = 1e-12``; the cosine's eps matters where ``||g|| ||g_adv||`` is 1e-12 or
  less: there their cosine tends to 0 and the whole of ``g`` counts as orthogonal. samscape divides by the norms
  alone (and takes no perturbation where ``g = 0``, which their eps also gives);
* the schedule: samscape's schedules are functions of the step number ``t`` from 0, with no lag and no ``rho_min``
  at step 0; the row ``schedule by step number`` is their rule run with ``lr_t`` the cosine at ``t`` and ``rho_t``
  following it from ``t = 0``, against the sequence their loop produces.

Their example script also switches on ``adaptive=True`` (ASAM's ``|w|`` scaling with no offset in the ascent);
samscape's GSAM is the non-adaptive rule, their class's default.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from crosscheck_common import (  # noqa: E402
    CrossCheck, compare, free_run, largest_along, main_for, per_step_difference, relative_step_difference,
    samscape_path, torch_sgd_step)

from samscape import dynamics, landscapes  # noqa: E402

TOLERANCE = 1e-12
THEIR_PERTURB_EPS = 1e-12
LR, RHO_MAX, RHO_MIN, ALPHA, MOMENTUM = 0.1, 0.05, 0.02, 0.4, 0.9  # their example's alpha and momentum
SAMPLES = {"a": [0.6, 1.0, 1.3, 0.8], "y": [0.0, 0.2, -0.1, 0.1]}


def their_step(landscape, schedule, *, momentum=0.0, perturb_eps=THEIR_PERTURB_EPS, sign=-1.0):
    """Their update of one model, ``step(w, buf, t) -> (w_next, buf_next)``, with ``schedule[t] = (lr_t, rho_t)``.
    ``sign=+1`` is the control: the orthogonal part added instead of subtracted."""

    def step(w, buf, t):
        lr, rho = schedule[t]
        g = landscape.grad(w)
        g_norm = np.sqrt(np.sum(g * g))
        e = g * (rho / (g_norm + perturb_eps))
        g_adv = landscape.grad(w + e)
        adv_norm = np.sqrt(np.sum(g_adv * g_adv))
        cosine = np.sum(g * g_adv) / (adv_norm * g_norm + perturb_eps)
        vertical = g - cosine * g_norm * g_adv / (adv_norm + perturb_eps)
        return torch_sgd_step((w + e) - e, buf, g_adv + sign * ALPHA * vertical, lr, momentum)

    return step


def ours(schedule, momentum=0.0):
    """samscape's GSAM for each step of ``schedule``, with that step's ``(lr, rho)``."""
    return [dynamics.GSAM(lr=lr, rho=rho, alpha=ALPHA, momentum=momentum) for lr, rho in schedule]


def cosine_value(t: int, total: int, high: float, low: float) -> float:
    """Their ``CosineScheduler`` (no warm-up) at its counter ``t``."""
    return low + (high - low) * (math.cos(t / total * math.pi) + 1.0) / 2.0


def their_schedule(steps: int, lr: float, rho_max: float, rho_min: float) -> list[tuple[float, float]]:
    """``(lr_k, rho_k)`` of each step ``k`` as their example's loop produces them, with a cosine from ``lr`` to 0
    over ``steps`` counts and ``rho`` proportional to it between ``rho_max`` and ``rho_min``."""

    def rho_for(lr_value):  # ProportionScheduler with min_lr = 0, max_lr = lr
        return rho_min + (rho_max - rho_min) * (lr_value - 0.0) / (lr - 0.0)

    # before the first update the lr scheduler has not stepped: the optimizer keeps its own lr, and the rho
    # scheduler read the lr scheduler's initial value, 0
    current = (lr, rho_for(0.0))
    schedule = []
    for k in range(steps):
        schedule.append(current)
        scheduled = cosine_value(k, steps, lr, 0.0)  # lr_scheduler.step() after the update, then update_rho_t()
        current = (scheduled, rho_for(scheduled))
    return schedule


def by_step_number(steps: int, lr: float, rho_max: float, rho_min: float) -> list[tuple[float, float]]:
    """The same cosine and proportional rho as functions of the step number from 0, the way samscape schedules."""
    return [(value, rho_min + (rho_max - rho_min) * value / lr)
            for value in (cosine_value(k, steps, lr, 0.0) for k in range(steps))]


def problems():
    """{label: (landscape, starts)}: small landscapes, starts away from stationary points (their rule with
    perturb_eps = 0 divides by zero there)."""
    rng = np.random.default_rng(22)
    return {
        "tanh": (landscapes.get("tanh"), np.array([[2.5, 0.3], [-2.0, -0.5], [0.7, 1.2]])),
        "quadratic": (landscapes.get("quadratic", eigenvalues=(1.0, 4.0), angle=0.5),
                      np.array([[1.0, -2.0], [0.3, 0.1], [-1.5, 0.5]])),
        "regression": (landscapes.from_expr("0.5*(tanh(v*tanh(u*a)) - y)**2", ["u", "v"], samples=SAMPLES),
                       np.array([[1.5, 0.8], [-0.6, 1.1]])),
        "diag_net": (landscapes.get("diag_net"), rng.uniform(-1.0, 1.0, size=(2, 16))),
    }


def near_stationary_shortening(g_norm: float = 1e-12) -> tuple[float, float]:
    """One step from a point of the quadratic where ``||g|| = g_norm``: the measured relative difference of the
    steps and the prediction ``eps / (||g|| + eps)`` (there the step is ``-lr A e`` up to terms of the size of
    ``x0``, and their ``e`` is shorter by that fraction)."""
    landscape = landscapes.get("quadratic", eigenvalues=(1.0, 4.0), angle=0.5)
    x0 = np.linalg.solve(landscape.hessian(np.zeros(2)), np.array([0.6, -0.8]) * g_norm)
    constant = [(LR, RHO_MAX)]
    measured = relative_step_difference(landscape, ours(constant)[0], their_step(landscape, constant), x0)
    actual = float(np.linalg.norm(landscape.grad(x0)))
    return measured, THEIR_PERTURB_EPS / (actual + THEIR_PERTURB_EPS)


def crosscheck(steps: int) -> CrossCheck:
    cases = problems()
    constant = [(LR, RHO_MAX)] * steps
    cosine = their_schedule(steps, LR, RHO_MAX, RHO_MIN)
    runs = ([(label, label, constant, 0.0) for label in cases]
            + [(f"{label} cos", label, cosine, 0.0) for label in ("tanh", "diag_net")]
            + [(f"{label} cos m={MOMENTUM}", label, cosine, MOMENTUM) for label in ("tanh", "diag_net")])
    differences, free, as_written, sign_flipped = {}, {}, 0.0, 0.0
    for run_label, label, schedule, momentum in runs:
        landscape, x0 = cases[label]
        differences[run_label], free[run_label] = compare(
            their_step(landscape, schedule, momentum=momentum, perturb_eps=0.0), landscape,
            ours(schedule, momentum), x0)
        as_written = max(as_written, largest_along(their_step(landscape, schedule, momentum=momentum), landscape,
                                                   ours(schedule, momentum), x0))
        sign_flipped = max(sign_flipped, largest_along(
            their_step(landscape, schedule, momentum=momentum, perturb_eps=0.0, sign=1.0), landscape,
            ours(schedule, momentum), x0))
    tanh_landscape, tanh_starts = cases["tanh"]
    lagged = float(np.max(per_step_difference(
        free_run(their_step(tanh_landscape, by_step_number(steps, LR, RHO_MAX, RHO_MIN), perturb_eps=0.0),
                 tanh_starts, steps),
        samscape_path(tanh_landscape, ours(cosine), tanh_starts)[0])))
    measured, predicted = near_stationary_shortening()
    return CrossCheck(
        TOLERANCE, differences, free,
        design={
            "their perturb_eps = 1e-12, every run above, max over steps": as_written,
            "the same, one step from ||g|| = 1e-12: relative difference of the steps": measured,
            "  predicted 1e-12/(||g|| + 1e-12)": predicted,
            "schedule by step number against their loop's sequence, tanh, max over steps": lagged,
        },
        control={"the orthogonal part added (g_adv + alpha g_perp), every run, max over steps": sign_flipped},
    )


def main(argv=None) -> int:
    title = (f"GSAM(lr={LR}, rho={RHO_MAX}, alpha={ALPHA}) against juntang-zhuang/GSAM's rule re-expressed in NumPy "
             f"(their perturb_eps set to 0); 'cos': lr from {LR} to 0 over the run, rho following it from "
             f"{RHO_MAX} to {RHO_MIN}, in their loop's sequence; 'm={MOMENTUM}': their example's SGD momentum")
    return main_for(crosscheck, "samscape's GSAM against juntang-zhuang/GSAM's step rule", 40, title, argv)


if __name__ == "__main__":
    sys.exit(main())
