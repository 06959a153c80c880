"""samscape against optax, code nobody here wrote: its ``contrib.sam`` is samscape's :class:`MultiStepUSAM`, and its
momentum (``optax.sgd(lr, momentum, nesterov)``) after SAM's ascent is ``SAM(..., momentum=..., nesterov=...)``.

How optax's ``contrib.sam`` (optax/contrib/_sam.py) reads, and why the configuration below is MultiStepUSAM:

* it wraps an outer optimizer and an adversarial one, and every ``sync_period`` phases makes one outer step:
  ``sync_period - 1`` adversarial phases, then the outer update;
* an adversarial phase applies the adversarial optimizer's update *negated*: ``optax.sgd(rho)`` proposes
  ``-rho g``, so the phase moves ``p`` to ``p + rho grad L(p)``, an unnormalized ascent step (no
  ``contrib.normalize()`` in the chain: that would be the normalized SAM step);
* the outer update is the outer optimizer's update for the gradient at the last adversarial point, applied to the
  parameters of before the ascent (``optax.sgd(lr)``: ``x - lr grad L(p_K)``);
* in opaque mode one ``update`` call runs the whole cycle, calling ``grad_fn(p, i)`` for each adversarial point;
  in the default (transparent) mode each call is one phase, and the outer iterates are the parameters after every
  ``sync_period``-th call.

So ``sam(sgd(lr), sgd(rho), sync_period=K + 1)`` is ``MultiStepUSAM(lr, rho, steps_ascent=K)``. Each start is its
own optax run (``jax.vmap`` over the starts).

Tolerance: both sides run float64 (jax in x64 mode, switched on by a fixture and restored after) and the same
arithmetic (``p + rho g``, ``x - lr g``, optax's trace ``g + mu t`` and samscape's ``mu v + d``, optax's normalize
and samscape's ``g/||g||``) except the gradient itself (SymPy's formula against jax's reverse-mode derivative of the
hand-written loss: a few units in the last place apart) and, in transparent mode, optax's detour
``p + ((c - p) + u)`` for ``c + u``. A difference of ~1e-16 in one step grows with the step map's Jacobian (times
``rho ||H|| / ||g||`` for a normalized ascent near a stationary point, which these 30 steps from starts on the slopes
do not approach): the measured differences stay below 1e-15. ``TOLERANCE = 1e-12`` leaves room for another
machine's ``tanh``, while a change of the rule (one ascent step fewer, an ascent of the wrong sign, no momentum)
moves the iterates by more than 1e-4 (checked below, so the comparison can fail).
"""

from __future__ import annotations

import numpy as np
import pytest

from samscape import dynamics as dy
from samscape import landscapes

optax = pytest.importorskip(
    "optax", reason="optax is not installed (the test extra brings it: pip install -e '.[test]'); "
                    "these tests compare samscape's SAM variants with optax's")
jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

TOLERANCE = 1e-12
STEPS = 30
SEED = 5
SAMPLES = {"a": [0.6, 1.0, 1.3, 0.8], "y": [0.0, 0.2, -0.1, 0.1]}


@pytest.fixture(scope="module", autouse=True)
def float64_jax():
    """jax in float64 (its default is float32) for this module only: the setting is global to the process."""
    before = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", before)


def tanh_loss(x, batch):
    """The catalog's ``tanh`` landscape, ``1/2 tanh(v tanh u)^2``, at one start ``x = (u, v)``."""
    return 0.5 * jnp.tanh(x[1] * jnp.tanh(x[0])) ** 2


def regression_loss(x, batch):
    """``mean_b 1/2 (tanh(v tanh(u a_b)) - y_b)^2`` over the sample indices ``batch`` (one start ``x = (u, v)``)."""
    a, y = jnp.asarray(SAMPLES["a"])[batch], jnp.asarray(SAMPLES["y"])[batch]
    return jnp.mean(0.5 * (jnp.tanh(x[1] * jnp.tanh(x[0] * a)) - y) ** 2)


CASES = {
    # name: (samscape landscape, the same loss written for jax, batch_size)
    "tanh": (lambda: landscapes.get("tanh"), tanh_loss, None),
    "regression-minibatch": (
        lambda: landscapes.from_expr("0.5*(tanh(v*tanh(u*a)) - y)**2", ["u", "v"], samples=SAMPLES),
        regression_loss, 2),
}


@pytest.fixture(scope="module")
def starts():
    return np.array([[2.5, 0.3], [-2.0, -0.5], [0.7, 1.2], [-0.4, 1.6]])


def batches(landscape, batch_size, n_starts):
    """The batch of every step, ``(STEPS, n_starts, B)``, as samscape's counter-based draws give them (or the full
    batch for every start when ``batch_size`` is None)."""
    if batch_size is None:
        return np.broadcast_to(np.arange(landscape.n_samples), (STEPS, n_starts, landscape.n_samples))
    noise = dy.Noise(SEED, np.arange(n_starts), landscape.n_samples, landscape.dim)
    return np.stack([noise.batch(step, batch_size) for step in range(STEPS)])


def optax_run(loss, x0, step_batches, optimizer, *, calls=1, opaque_sam=False):
    """Iterates ``(len(step_batches) + 1, n_starts, dim)`` of the optax ``optimizer``, each start its own optax run
    (``jax.vmap``: a normalizing transformation takes one start's norm), ``calls`` update calls per step, every
    gradient of one step seeing that step's batch, as in samscape. ``opaque_sam``: the optimizer is a contrib.sam in
    opaque mode, which takes the gradient function of the adversarial points as ``grad_fn``."""
    grad = jax.grad(loss)

    def one_step(params, state, batch):
        for _ in range(calls):
            extra = {"grad_fn": lambda point, _: grad(point, batch)} if opaque_sam else {}
            updates, state = optimizer.update(grad(params, batch), state, params, **extra)
            params = optax.apply_updates(params, updates)
        return params, state

    step = jax.jit(jax.vmap(one_step))
    params = jnp.asarray(x0)
    state = jax.vmap(optimizer.init)(params)
    iterates = [np.asarray(params)]
    for batch in step_batches:
        params, state = step(params, state, jnp.asarray(batch))
        iterates.append(np.asarray(params))
    return np.stack(iterates)


def optax_sam_run(loss, x0, step_batches, outer, adversarial, sync_period, *, opaque):
    """``optax.contrib.sam(outer, adversarial, sync_period)``: in opaque mode one call per outer step, in transparent
    mode one call per phase, ``sync_period`` of them."""
    sam = optax.contrib.sam(outer, adversarial, sync_period=sync_period, opaque_mode=opaque)
    return optax_run(loss, x0, step_batches, sam, calls=1 if opaque else sync_period, opaque_sam=opaque)


def optax_multistep_usam(loss, x0, step_batches, lr, rho, steps_ascent, *, opaque, sync_period=None):
    """``optax.contrib.sam(sgd(lr), sgd(rho), sync_period)`` (by default ``steps_ascent + 1``): MultiStepUSAM."""
    sync_period = steps_ascent + 1 if sync_period is None else sync_period
    return optax_sam_run(loss, x0, step_batches, optax.sgd(lr), optax.sgd(rho), sync_period, opaque=opaque)


def per_step_difference(a, b):
    """The largest coordinate difference of each step, ``(STEPS + 1,)``."""
    return np.max(np.abs(a - b), axis=(1, 2))


@pytest.mark.parametrize("opaque", [True, False], ids=["opaque", "transparent"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_optax_contrib_sam_is_multistep_usam(case, opaque, starts):
    """``optax.contrib.sam(sgd(lr), sgd(rho), sync_period=K + 1)`` follows MultiStepUSAM(lr, rho, steps_ascent=K)
    step for step, within TOLERANCE at every step, in both of optax's modes and with mini-batches."""
    build, loss, batch_size = CASES[case]
    landscape = build()
    lr, rho, steps_ascent = 0.3, 0.2, 3
    ours = dy.simulate(landscape, dy.MultiStepUSAM(lr, rho, steps_ascent=steps_ascent, batch_size=batch_size),
                       starts, steps=STEPS, every=1, seed=SEED, backend="numpy")
    theirs = optax_multistep_usam(loss, starts, batches(landscape, batch_size, len(starts)), lr, rho, steps_ascent,
                                  opaque=opaque)
    assert np.all(ours.status == "ok")
    assert np.max(np.abs(ours.x - starts)) > 0.1  # the runs go somewhere: agreeing at rest would prove nothing
    difference = per_step_difference(ours.xs, theirs)
    worst = int(np.argmax(difference))
    assert difference[worst] <= TOLERANCE, f"step {worst}: samscape and optax differ by {difference[worst]:.3g}"


def test_the_comparison_tells_a_different_rule_apart(starts):
    """The same comparison fails for a rule that differs: one ascent step fewer (sync_period = K) or an ascent of
    the other sign (sgd(-rho)); so agreeing within TOLERANCE above says something."""
    landscape = landscapes.get("tanh")
    lr, rho, steps_ascent = 0.3, 0.2, 3
    ours = dy.simulate(landscape, dy.MultiStepUSAM(lr, rho, steps_ascent=steps_ascent), starts, steps=STEPS,
                       every=1, seed=SEED, backend="numpy").xs
    full = batches(landscape, None, len(starts))
    one_fewer = optax_multistep_usam(tanh_loss, starts, full, lr, rho, steps_ascent, opaque=True,
                                     sync_period=steps_ascent)
    descending = optax_multistep_usam(tanh_loss, starts, full, lr, -rho, steps_ascent, opaque=True)
    assert np.max(per_step_difference(ours, one_fewer)) > 1e-4
    assert np.max(per_step_difference(ours, descending)) > 1e-4


# Momentum. optax.sgd(lr, momentum, nesterov) is trace(decay=momentum, nesterov) then a step of -lr: with d the
# gradient it is handed, t <- d + momentum t and the update is -lr t (heavy ball) or -lr (d + momentum t)
# (nesterov), samscape's convention for SAM(..., momentum=mu): d is SAM's descent gradient. As the outer optimizer
# of contrib.sam it is handed the gradient at the ascent point; the adversarial optimizer chain(normalize(),
# sgd(rho)) is SAM's normalized ascent (normalize divides by the global norm: one start's, under jax.vmap).
MOMENTA = [(0.9, False), (0.9, True)]
MOMENTUM_IDS = ["heavy-ball", "nesterov"]


@pytest.mark.parametrize(("momentum", "nesterov"), MOMENTA, ids=MOMENTUM_IDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_optax_momentum_after_a_sam_ascent_is_sam_with_momentum(case, momentum, nesterov, starts):
    """contrib.sam(sgd(lr, momentum, nesterov), chain(normalize(), sgd(rho)), sync_period=2) follows
    SAM(lr, rho, momentum=momentum, nesterov=nesterov) within TOLERANCE at every step."""
    build, loss, batch_size = CASES[case]
    landscape = build()
    lr, rho = 0.1, 0.1
    ours = dy.simulate(landscape, dy.SAM(lr, rho, batch_size=batch_size, momentum=momentum, nesterov=nesterov),
                       starts, steps=STEPS, every=1, seed=SEED, backend="numpy")
    theirs = optax_sam_run(loss, starts, batches(landscape, batch_size, len(starts)),
                       optax.sgd(lr, momentum=momentum, nesterov=nesterov),
                       optax.chain(optax.contrib.normalize(), optax.sgd(rho)), 2, opaque=True)
    assert np.all(ours.status == "ok")
    difference = per_step_difference(ours.xs, theirs)
    worst = int(np.argmax(difference))
    assert difference[worst] <= TOLERANCE, f"step {worst}: samscape and optax differ by {difference[worst]:.3g}"
    assert np.max(np.abs(ours.x - starts)) > 0.1


@pytest.mark.parametrize(("momentum", "nesterov"), MOMENTA, ids=MOMENTUM_IDS)
def test_optax_momentum_is_the_momentum_of_gd_and_of_multistep_usam(momentum, nesterov, starts):
    """optax.sgd(lr, momentum, nesterov) alone is GD(lr, momentum=...), and as contrib.sam's outer optimizer around
    sgd(rho) with sync_period = K + 1 it is MultiStepUSAM(lr, rho, steps_ascent=K, momentum=...)."""
    landscape = landscapes.get("tanh")
    lr, rho, steps_ascent = 0.1, 0.2, 2
    full = batches(landscape, None, len(starts))
    gd = dy.simulate(landscape, dy.GD(lr, momentum=momentum, nesterov=nesterov), starts, steps=STEPS, every=1,
                     seed=SEED, backend="numpy").xs
    plain = optax_run(tanh_loss, starts, full, optax.sgd(lr, momentum=momentum, nesterov=nesterov))
    multistep = dy.simulate(landscape, dy.MultiStepUSAM(lr, rho, steps_ascent=steps_ascent, momentum=momentum,
                                                        nesterov=nesterov),
                            starts, steps=STEPS, every=1, seed=SEED, backend="numpy").xs
    wrapped = optax_sam_run(tanh_loss, starts, full, optax.sgd(lr, momentum=momentum, nesterov=nesterov),
                        optax.sgd(rho), steps_ascent + 1, opaque=True)
    assert np.max(per_step_difference(gd, plain)) <= TOLERANCE
    assert np.max(per_step_difference(multistep, wrapped)) <= TOLERANCE
    # the comparison sees the momentum: without it the runs part
    assert np.max(per_step_difference(gd, optax_run(tanh_loss, starts, full, optax.sgd(lr)))) > 1e-4


def test_a_continued_run_carries_the_velocity_as_optax_does(starts):
    """simulate(..., state=run.state) continues SAM with momentum exactly: two halves of samscape's run against one
    optax run of the whole length, within TOLERANCE at every step."""
    landscape = landscapes.get("tanh")
    optimizer = dy.SAM(0.1, 0.1, momentum=0.9, nesterov=True)
    half = STEPS // 2
    first = dy.simulate(landscape, optimizer, starts, steps=half, every=1, seed=SEED, backend="numpy")
    second = dy.simulate(landscape, optimizer, first.xs[-1], steps=STEPS - half, every=1, seed=SEED,
                         backend="numpy", state=first.state)
    ours = np.concatenate([first.xs, second.xs[1:]])
    theirs = optax_sam_run(tanh_loss, starts, batches(landscape, None, len(starts)),
                       optax.sgd(0.1, momentum=0.9, nesterov=True),
                       optax.chain(optax.contrib.normalize(), optax.sgd(0.1)), 2, opaque=True)
    assert np.max(per_step_difference(ours, theirs)) <= TOLERANCE
