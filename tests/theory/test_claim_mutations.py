"""Checks that can fail: every public theory formula a claim relies on is perturbed by 1 % (up, then down), and at
least one claim must fail each time. A formula whose 1 % error no claim notices would be one no claim really tests.

The perturbed function replaces the original wherever a samscape module holds it (the claim modules import it by
name), the caches of the claim modules are cleared so nothing computed with the true formula is reused, and the
claims that name the function are run cheapest first (durations from the session's one full check), stopping at
the first failure: one or two cheap claims per mutation.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys

import numpy as np
import pytest

from samscape import theory
from samscape.theory import claims

SCALES = (1.01, 0.99)


def _scaled(value, scale):
    if isinstance(value, tuple):
        return tuple(v * scale for v in value)
    return value * scale


def _field(name):
    """Perturb one numeric field of a result dataclass."""
    return lambda result, scale: dataclasses.replace(result, **{name: getattr(result, name) * scale})


def _window(result, scale):
    return dataclasses.replace(result, lo=result.lo * scale, hi=result.hi * scale)


# the formulas the claims rely on, each with how a 1 % error in its output is made
MUTATIONS = {
    "gd_threshold": _scaled, "usam_threshold": _scaled, "usam_factor": _scaled, "gd_lr_edge": _scaled,
    "usam_rho_edge": _scaled, "sam_edge": _scaled, "sam_two_cycle": _scaled,
    "mean_square_radius": _field("radius"), "lyapunov_exponent": _field("exponent"),
    "manifold_drift": _field("velocity"), "hallucination_window": _window,
    "sam_cycle_factors": _scaled, "usam_stable_rho_interval": _scaled, "stochastic_limit": _scaled,
    "dual_norm_ascent": _scaled, "modified_loss_gradient": _scaled, "smoothed_gradient_correction": _scaled,
    "random_sam_drift": _field("velocity"), "balancedness_factor": _scaled,
}


def _holders(original):
    """Every (module, attribute) of samscape that holds ``original``."""
    return [(module, name) for module_name, module in list(sys.modules.items())
            if module_name.startswith("samscape") and module is not None
            for name, value in vars(module).items() if value is original]


def _clear_claim_caches():
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("samscape.theory.claims") and module is not None:
            for value in vars(module).values():
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


def _claims_naming(function_name):
    """The claims whose module imports ``function_name`` (the claim functions call it by that name)."""
    named = []
    for name, entry in claims.CLAIMS.items():
        module = sys.modules[entry.run.__module__]
        if getattr(module, function_name, None) is getattr(theory, function_name):
            named.append(name)
    return named


def test_every_formula_of_the_mutation_table_is_public_and_named_by_a_claim():
    """Each mutated formula is a public function of samscape.theory that at least one claim's module imports."""
    for name in MUTATIONS:
        assert name in theory.__all__ and inspect.isfunction(getattr(theory, name)), name
        assert _claims_naming(name), name


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("function_name", sorted(MUTATIONS))
def test_a_one_percent_error_in_a_formula_makes_a_claim_fail(function_name, scale, claim_results, monkeypatch):
    """With the formula's output off by 1 % (up or down), at least one claim that uses it fails."""
    durations = {r.name: r.seconds for r in claim_results}
    assert all(r.passed for r in claim_results if r.name in _claims_naming(function_name))
    original = getattr(theory, function_name)
    perturb = MUTATIONS[function_name]

    def mutated(*args, **kwargs):
        return perturb(original(*args, **kwargs), scale)

    for module, attribute in _holders(original):
        monkeypatch.setattr(module, attribute, mutated)
    _clear_claim_caches()
    try:
        failed = None
        for name in sorted(_claims_naming(function_name), key=lambda n: durations.get(n, np.inf)):
            if not claims.run_claim(name).passed:
                failed = name
                break
    finally:
        monkeypatch.undo()
        _clear_claim_caches()
    assert failed is not None, f"no claim notices {function_name} off by {100 * (scale - 1):+.0f}%"
