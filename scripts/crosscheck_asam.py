"""samscape's ASAM against the step rule of the authors' code (SamsungLabs/ASAM on GitHub, ``asam.py``), which pip
cannot install: their rule is re-expressed here in NumPy, in our own words, and run beside ``dynamics.ASAM``.

    .venv/bin/python scripts/crosscheck_asam.py [--steps 50]

prints the largest coordinate difference of every step on four small landscapes (and with momentum on two) and
exits 1 if one exceeds ``TOLERANCE``. Their step, as their ``ascent_step`` / ``descent_step`` pair around a PyTorch SGD does it:

1. ``g = grad L(w)``. Every parameter whose *name contains "weight"* is scaled by ``T = |w| + eta`` (so are the
   weights of normalization layers); any other (a bias) is not, ``T = 1``.
2. ``e = (T (T g)) * (rho / (||T g|| + 1e-16))``, the norm taken over all parameters together (a norm of the
   per-parameter norms): ``rho T (T g)/||T g||``, samscape's ASAM ascent.
3. ``w + e``; ``g_adv = grad L(w + e)``; ``w`` is restored by subtracting ``e``, ``(w + e) - e``, which may differ
   from ``w`` in its last bit; then PyTorch's SGD steps with ``g_adv``: ``w - lr g_adv``, or with their example's
   momentum 0.9 ``buf <- 0.9 buf + g_adv, w - lr buf``, samscape's ``ASAM(..., momentum=0.9)`` (their example's
   weight decay has no counterpart in samscape and is left out).

Tolerance: with their 1e-16 set to 0 and every coordinate a weight, both sides compute the same formula in
float64 and differ only in the order of operations and the restoring subtraction: a few units in the last place
per step. The verdict applies their rule to samscape's iterate (and velocity) at every step, so nothing compounds;
``TOLERANCE = 1e-12`` leaves three orders of magnitude above that, and the control (ASAM with ``T`` applied once)
shows that a rule which differs fails it.

Where samscape differs by design (each shown, their detail as written against samscape):

* the 1e-16 in their denominator: samscape divides by ``||T g||`` alone (and takes no perturbation where ``T g`` is
  zero, which their 1e-16 also gives). It shortens their perturbation by the factor ``||T g||/(||T g|| + 1e-16)``:
  nothing where ``||T g|| >= 1`` (the sum rounds to ``||T g||``), half the perturbation where ``||T g|| = 1e-16``;
* parameters not named "weight" are not rescaled by them; samscape has no names and rescales every coordinate.
  On a one-neuron regression ``(w, b)`` with ``b`` their bias, the runs part visibly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from crosscheck_common import (  # noqa: E402
    CrossCheck, compare, largest_along, main_for, relative_step_difference, torch_sgd_step)

from samscape import dynamics, landscapes  # noqa: E402

TOLERANCE = 1e-12
THEIR_DENOMINATOR_EPS = 1e-16
LR, RHO, ETA, MOMENTUM = 0.1, 0.5, 0.01, 0.9  # their example's rho and momentum
NEURON_SAMPLES = {"a": [0.5, -1.0, 1.5, 2.0], "y": [0.2, -0.4, 0.5, 0.6]}


def their_step(landscape, *, momentum=0.0, weight=None, denominator_eps=THEIR_DENOMINATOR_EPS, t_applied=2):
    """Their update of one model, ``step(w, buf, t) -> (w_next, buf_next)``. ``weight``: a boolean mask of the
    coordinates that belong to parameters named "weight" (default: all), each coordinate its own parameter tensor.
    ``t_applied=1`` is the control: ``T`` applied once, a different rule."""

    def step(w, buf, t):
        mask = np.ones(w.shape, bool) if weight is None else np.asarray(weight)
        g = landscape.grad(w)
        scale = np.where(mask, np.abs(w) + ETA, 1.0)
        scaled = np.where(mask, g * scale, g)  # p.grad.mul_(T) for the weights
        norm = np.sqrt(np.sum(np.abs(scaled) ** 2))  # the norm of the per-parameter norms |scaled_i|
        twice = np.where(mask, scaled * scale, scaled) if t_applied == 2 else scaled
        e = twice * (RHO / (norm + denominator_eps))
        g_adv = landscape.grad(w + e)
        return torch_sgd_step((w + e) - e, buf, g_adv, LR, momentum)

    return step


def ours(steps, momentum=0.0):
    """samscape's ASAM for each of ``steps`` steps."""
    return [dynamics.ASAM(LR, RHO, eta_a=ETA, momentum=momentum)] * steps


def neuron():
    """A one-neuron regression ``1/2 (tanh(w a + b) - y)^2``: ``w`` is a weight, ``b`` a bias in their naming."""
    return landscapes.from_expr("0.5*(tanh(w*a + b) - y)**2", ["w", "b"], samples=NEURON_SAMPLES)


def problems():
    """{label: (landscape, starts)}: small landscapes, starts away from stationary points (their rule with the 1e-16
    set to 0 divides by zero there)."""
    rng = np.random.default_rng(21)
    return {
        "tanh": (landscapes.get("tanh"), np.array([[2.5, 0.3], [-2.0, -0.5], [0.7, 1.2]])),
        "quadratic": (landscapes.get("quadratic", eigenvalues=(1.0, 4.0), angle=0.5),
                      np.array([[1.0, -2.0], [0.3, 0.1], [-1.5, 0.5]])),
        "neuron": (neuron(), np.array([[0.8, -0.3], [-1.2, 0.4]])),
        "diag_net": (landscapes.get("diag_net"), rng.uniform(-1.0, 1.0, size=(2, 16))),
    }


def near_stationary_shortening(tg_norm: float = 1e-16) -> tuple[float, float]:
    """One step from a point of the quadratic where ``||T g|| = tg_norm``: the measured relative difference of the
    steps and the prediction ``eps / (||T g|| + eps)`` (there the step is ``-lr A e`` up to terms of the size of
    ``x0``, and their ``e`` is shorter by that fraction)."""
    landscape = landscapes.get("quadratic", eigenvalues=(1.0, 4.0), angle=0.5)
    # x0 is tiny, so T = |x0| + eta is eta to 1e-12 relative; aim T g = tg_norm * a unit vector
    x0 = np.linalg.solve(landscape.hessian(np.zeros(2)), np.array([0.6, -0.8]) * tg_norm / ETA)
    measured = relative_step_difference(landscape, ours(1)[0], their_step(landscape), x0)
    actual_norm = float(np.linalg.norm((np.abs(x0) + ETA) * landscape.grad(x0)))
    return measured, THEIR_DENOMINATOR_EPS / (actual_norm + THEIR_DENOMINATOR_EPS)


def crosscheck(steps: int) -> CrossCheck:
    cases = problems()
    runs = [(label, label, 0.0) for label in cases] + [
        (f"{label} m={MOMENTUM}", label, MOMENTUM) for label in ("tanh", "diag_net")]
    differences, free, as_written = {}, {}, 0.0
    for run_label, label, momentum in runs:
        landscape, x0 = cases[label]
        differences[run_label], free[run_label] = compare(
            their_step(landscape, momentum=momentum, denominator_eps=0.0), landscape, ours(steps, momentum), x0)
        as_written = max(as_written, largest_along(their_step(landscape, momentum=momentum), landscape,
                                                   ours(steps, momentum), x0))
    neuron_landscape, neuron_starts = cases["neuron"]
    bias = largest_along(their_step(neuron_landscape, weight=[True, False], denominator_eps=0.0), neuron_landscape,
                         ours(steps), neuron_starts)
    measured, predicted = near_stationary_shortening()
    tanh_landscape, tanh_starts = cases["tanh"]
    once = largest_along(their_step(tanh_landscape, denominator_eps=0.0, t_applied=1), tanh_landscape, ours(steps),
                         tanh_starts)
    return CrossCheck(
        TOLERANCE, differences, free,
        design={
            "their 1e-16 added to ||T g||, every run above, max over steps": as_written,
            "the same, one step from ||T g|| = 1e-16: relative difference of the steps": measured,
            "  predicted 1e-16/(||T g|| + 1e-16)": predicted,
            "b of the neuron a bias (T = 1), max over steps": bias,
        },
        control={"T applied once (rho T g/||T g||), tanh, max over steps": once},
    )


def main(argv=None) -> int:
    title = (f"ASAM(lr={LR}, rho={RHO}, eta_a={ETA}) against SamsungLabs/ASAM's rule re-expressed in NumPy "
             f"(their 1e-16 set to 0, every coordinate a weight); 'm={MOMENTUM}': their example's SGD momentum")
    return main_for(crosscheck, "samscape's ASAM against SamsungLabs/ASAM's step rule", 50, title, argv)


if __name__ == "__main__":
    sys.exit(main())
