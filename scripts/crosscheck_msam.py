"""samscape's MSAM beside the authors' step rule (MarlonBecker/MSAM, ``optimizer/msam.py``), re-expressed in NumPy.

    .venv/bin/python scripts/crosscheck_msam.py [--steps 60]

The authors' optimizer is a PyTorch one that this project does not depend on; :func:`authors_step` is our reading of
its ``step`` for one parameter vector (a toy's coordinates; their norms are global over the tensors, so the vector's
norm), written here from that reading, not copied. Their model holds the *perturbed* point between steps:

    x  = p + rho v/(||v|| + eps)      (back from the perturbed point p; no move while v = 0)
    v <- momentum v + g(p) + wd p     (g taken at p, weight decay on p)
    x <- x - lr v
    p  = x - rho v/(||v|| + eps)      (on to the next perturbed point)

with ``v = 0`` and no perturbation before the first step, ``eps = 1e-12``. samscape's :class:`MSAM` keeps ``x`` and
divides by ``||v||``, and has no weight decay: their ``wd`` is the loss ``L + (wd/2)||x||^2`` here.

Per step, each the largest difference of ``x`` over the starts:

* *rule*: from samscape's ``(x_t, v_t)`` (their perturbed point built from it), their rule's ``x_{t+1}`` with
  ``eps = 0`` against samscape's. This checks the rule itself: the exit status is 1 where it exceeds 1e-12;
* *their eps*: the same with their ``eps = 1e-12``, which moves the perturbation by about ``rho eps/||v||``, so it
  shows where ``||v||`` is small (the smallest ``||v||`` over the starts is printed beside it);
* *trajectory*: the two runs from the same starts, each on its own (with their ``eps``); rounding differences of
  1e-16 grow along a trajectory that does not contract, so this says how far two faithful implementations drift.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from samscape import dynamics as dy
from samscape import landscapes
from samscape.dynamics.stepping import Stepper

TOLERANCE = 1e-12
EXPRESSION = "0.5*(u*v - 1)**2 + 0.1*(u - v)**2"
AUTHORS_EPS = 1e-12
# their configs/default.ini's weightDecay, for the second comparison
AUTHORS_WEIGHT_DECAY = 5e-4
LR, RHO, MOMENTUM, STARTS = 0.05, 0.05, 0.9, 8


def authors_step(p, v, inverse_norm, g, *, lr, rho, momentum, weight_decay=0.0):
    """Their step from their state ``(p, v, inverse_norm)`` with the gradient ``g`` at ``p``, up to the new
    unperturbed point: ``(x_next, v_next)`` (the next ``p`` and ``inverse_norm`` follow from them)."""
    if weight_decay:
        g = g + weight_decay * p
    x = p + (rho * inverse_norm) * v
    v = v * momentum + g
    x = x + (-lr) * v
    return x, v


def authors_inverse_norm(v, eps):
    """``1/(||v|| + eps)``, and 0 where ``v = 0`` (their value before the first step; with ``eps = 0`` the division
    would give inf there)."""
    norm = np.sqrt(np.sum(v * v, axis=-1, keepdims=True))
    with np.errstate(divide="ignore"):
        return np.where(norm > 0, 1.0 / (norm + eps), 0.0)


def authors_run(grad, x0, steps, *, lr, rho, momentum, weight_decay=0.0, eps=AUTHORS_EPS):
    """Their rule from ``x0`` for ``steps`` steps: the unperturbed iterates ``(steps + 1, n, dim)``."""
    p, v = x0.copy(), np.zeros_like(x0)
    inverse_norm = np.zeros((len(x0), 1))  # 0 before the first step: p is x0
    xs = [x0]
    for _ in range(steps):
        x, v = authors_step(p, v, inverse_norm, grad(p), lr=lr, rho=rho, momentum=momentum, weight_decay=weight_decay)
        xs.append(x)
        inverse_norm = authors_inverse_norm(v, eps)
        p = x - (rho * inverse_norm) * v
    return np.array(xs)


def compare(steps=60, *, lr=LR, rho=RHO, momentum=MOMENTUM, weight_decay=0.0, starts=STARTS, seed=1):
    """``(rule, with_eps, trajectory, speed)``: the largest difference of ``x`` over the starts at each of the ``steps``
    steps (see the module docstring) and the smallest ``||v||`` before it, on :data:`EXPRESSION` (plus
    ``(wd/2)||x||^2`` for samscape)."""
    loss = landscapes.from_expr(EXPRESSION, ["u", "v"])
    penalized = loss if not weight_decay else landscapes.from_expr(
        f"{EXPRESSION} + {weight_decay / 2!r}*(u**2 + v**2)", ["u", "v"])
    x0 = np.random.default_rng(seed).uniform(-1.5, 1.5, size=(starts, 2))
    optimizer = dy.MSAM(lr, rho, momentum=momentum)
    stepper = Stepper(penalized, optimizer, starts, np.float64, seed=0)
    x, state = x0, stepper.state
    one_step, speed = np.empty((2, steps)), np.empty(steps)
    for t in range(steps):
        x_next, state_next = stepper.advance(x, state, t)
        v = state["velocity"]
        speed[t] = np.min(np.linalg.norm(v, axis=-1))
        for column, eps in enumerate((0.0, AUTHORS_EPS)):
            inverse_norm = authors_inverse_norm(v, eps)
            p = x - (rho * inverse_norm) * v
            theirs, _ = authors_step(p, v, inverse_norm, loss.grad(p), lr=lr, rho=rho, momentum=momentum,
                                     weight_decay=weight_decay)
            one_step[column, t] = np.max(np.abs(theirs - x_next))
        x, state = x_next, state_next
    ours = dy.simulate(penalized, optimizer, x0, steps, every=1, seed=0, backend="numpy").xs
    theirs = authors_run(loss.grad, x0, steps, lr=lr, rho=rho, momentum=momentum, weight_decay=weight_decay)
    trajectory = np.max(np.abs(ours - theirs), axis=(1, 2))[1:]
    return one_step[0], one_step[1], trajectory, speed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args(argv)
    worst = 0.0
    for weight_decay in (0.0, AUTHORS_WEIGHT_DECAY):
        label = f"{dy.MSAM(LR, RHO, momentum=MOMENTUM).describe()} (momentum {MOMENTUM:g})"
        print(f"{label} on {EXPRESSION}, {STARTS} starts, their weight decay {weight_decay:g}")
        rule, with_eps, drift, speed = compare(args.steps, weight_decay=weight_decay)
        print(f"{'step':>5} {'rule':>9} {'their eps':>10} {'min ||v||':>10} {'trajectory':>11}")
        for t in range(args.steps):
            print(f"{t + 1:>5} {rule[t]:>9.1e} {with_eps[t]:>10.1e} {speed[t]:>10.1e} {drift[t]:>11.1e}")
        print(f"largest: rule {rule.max():.1e}, with their eps {with_eps.max():.1e}, trajectory {drift.max():.1e}")
        worst = max(worst, float(rule.max()))
    verdict = "within" if worst <= TOLERANCE else "ABOVE"
    print(f"largest difference of the rule {worst:.1e}: {verdict} the tolerance {TOLERANCE:g}")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
