"""The explorer's state without a browser: query string, validation, runs, readout, stability, exports."""

from __future__ import annotations

import io

import numpy as np
import pytest

from samscape import dynamics, landscapes
from samscape.explore.state import (ExplorerState, WorkCapExceeded, grid_points, nearest_minimizer, parse_points,
                                    saving_stride, stability_at)


def test_the_query_string_round_trips_every_field():
    """from_query(to_query(s)) rebuilds s exactly, for a catalog entry with a list parameter, a switch, a batch
    size, starts and view toggles, for a custom expression, and for a variant's own hyperparameters (ASAM's eta_a,
    a switch of multi-step ascents sharing steps_ascent)."""
    states = [
        ExplorerState(landscape="tanh", params={"xs": (0.6, 1.0, 1.3), "ys": (0.0, 0.0, 0.0)}, opt="sgd", then="sam",
                      at=300, eta=0.25, rho=0.07, batch=2, steps=1500, seed=7,
                      starts=[(2.5, 0.3), (-2.0, -0.5)], log=True, field=True, surrogate=True, halluc=True),
        ExplorerState(expr="0.5*tanh(v*tanh(u))**2", variables="u,v", opt="usam", eta=0.1 + 0.2, rho=0.0,
                      starts=[(1 / 3, -0.1)]),
        ExplorerState(landscape="double_well", params={"c": 0.1}, starts=[(0.3,)]),
        ExplorerState(opt="asam", eta=0.2, hyper={"eta_a": 0.25}, starts=[(1.0, 0.5)]),
        ExplorerState(opt="multistepsam", then="multistepusam", at=10, hyper={"steps_ascent": 3, "alpha": 0.02}),
    ]
    for state in states:
        query = dict(pair.split("=", 1) for pair in state.query_string().split("&"))
        from urllib.parse import unquote_plus

        back, problems = ExplorerState.from_query({k: unquote_plus(v) for k, v in query.items()})
        assert problems == []
        assert back == state


@pytest.mark.parametrize("key, value, words", [
    ("eta", "-0.1", "eta must be a finite number > 0, got -0.1"), ("eta", "nan", "eta must be a finite number"),
    ("rho", "-1", "rho must be a finite number >= 0, got -1.0"), ("steps", "0", "steps must be an integer from 1"),
    ("opt", "adam", "opt must be one of 'gd'"), ("starts", "1,2;3", "same number of coordinates"),
    ("seed", "x", "seed must be an integer"), ("log", "maybe", "log must be 1 or 0"),
])
def test_a_bad_query_value_keeps_the_default_and_says_why(key, value, words):
    """Each refused value leaves the default in place and yields one sentence naming the key and the value."""
    state, problems = ExplorerState.from_query({key: value})
    assert getattr(state, key) == getattr(ExplorerState(), key)
    assert len(problems) == 1 and words in problems[0] and problems[0].startswith(key)


def test_a_hostile_expression_is_refused_by_the_parser():
    """__import__('os') never reaches eval: building the landscape raises the whitelist parser's ValueError."""
    state, _ = ExplorerState.from_query({"expr": "__import__('os')", "vars": "u,v"})
    with pytest.raises(ValueError, match="'__import__', which is not allowed"):
        state.build_landscape()


def test_compute_matches_simulate_and_the_readout_has_one_row_per_start():
    """The run is dynamics.simulate with the state's arguments: same final points; one readout row per start with
    its final loss L(x) and status."""
    state, _ = ExplorerState.from_query({"landscape": "tanh", "opt": "sam", "eta": "0.5", "rho": "0.1",
                                         "starts": "2.5,0.3;-2,-0.5", "steps": "1000"})
    L = state.build_landscape()
    outcome = state.compute(L)
    expected = dynamics.simulate(L, dynamics.SAM(0.5, 0.1), [[2.5, 0.3], [-2.0, -0.5]], 1000, seed=0,
                                 backend=outcome.run.backend)
    np.testing.assert_array_equal(outcome.run.x, expected.x)
    rows = outcome.rows()
    assert [r["start"] for r in rows] == [0, 1]
    np.testing.assert_allclose([r["loss"] for r in rows], L.value(expected.x), rtol=1e-12)
    assert {r["status"] for r in rows} == {"ok"}


def test_a_switch_is_built_from_first_then_and_at():
    """opt=sgd, then=sam, at=300 on a 3-sample tanh with batch 2 is Switch(SGD(eta, 2), SAM(eta, rho, 2), 300); on a
    one-sample loss the batch size is dropped (there is nothing to sample)."""
    state = ExplorerState(landscape="tanh", params={"xs": (0.6, 1.0, 1.3), "ys": (0.0, 0.0, 0.0)}, opt="sgd",
                          then="sam", at=300, eta=0.2, rho=0.05, batch=2)
    opt = state.build_optimizer(state.build_landscape())
    assert opt == dynamics.Switch(dynamics.SGD(0.2, 2), dynamics.SAM(0.2, 0.05, batch_size=2), at=300)
    single = ExplorerState(opt="sam", batch=2, eta=0.2, rho=0.05)
    assert single.build_optimizer(single.build_landscape()) == dynamics.SAM(0.2, 0.05)


def test_the_work_cap_refuses_with_the_numbers_and_the_option():
    """starts x steps over the cap raises WorkCapExceeded naming both counts, the cap and --max-work; at the cap
    it runs."""
    state = ExplorerState(landscape="quadratic", opt="gd", steps=500, starts=[(1.0, 1.0)] * 4)
    L = state.build_landscape()
    with pytest.raises(WorkCapExceeded, match=r"4 starts x 500 steps = 2,000 point-steps .* cap of 1,999 .*--max-work"):
        state.compute(L, max_work=1999)
    assert state.compute(L, max_work=2000).run.n_starts == 4


def test_a_diverging_and_a_nonfinite_start_show_their_status_beside_a_good_one():
    """GD with eta = 0.3 on the quadratic with eigenvalue 10 (eta * lambda = 3 > 2) diverges; on log(1 + u^2 + v)
    a start with 1 + u^2 + v < 0 is not finite; the other start of each run ends ok, and nothing raises."""
    state = ExplorerState(landscape="quadratic", opt="gd", eta=0.3, steps=400, starts=[(0.0, 1.0), (0.0, 0.0)])
    outcome = state.compute(state.build_landscape())
    assert list(outcome.run.status) == ["diverged", "ok"]
    assert "diverged" in " ".join(outcome.run.message.values())
    state = ExplorerState(expr="sqrt(u) + v**2", variables="u,v", opt="gd", eta=0.1, steps=10,
                          starts=[(-1.0, 0.0), (1.0, 1.0)])
    outcome = state.compute(state.build_landscape())
    assert list(outcome.run.status) == ["nonfinite", "ok"]


def test_stability_numbers_at_a_quadratic_minimum_follow_the_formulas():
    """At the minimum of 1/2 (x^2 + 10 y^2): lambda_max = 10, GD edge 2/10, USAM's largest stable rho
    (2/(eta lambda) - 1)/lambda, and GD's Jacobian I - eta H has spectral radius max |1 - eta lambda_i|."""
    L = landscapes.get("quadratic")
    eta, rho = 0.15, 0.05
    numbers = stability_at(L, [0.0, 0.0], eta, rho)
    assert numbers["lambda_max"] == pytest.approx(10.0)
    assert numbers["gd_lr_edge"] == pytest.approx(0.2)
    assert numbers["usam_rho_edge"] == pytest.approx((2 / (eta * 10) - 1) / 10)
    assert numbers["gd_radius"] == pytest.approx(max(abs(1 - eta * 1), abs(1 - eta * 10)))
    assert numbers["usam_radius"] == pytest.approx(max(abs(1 - eta * lam * (1 + rho * lam)) for lam in (1, 10)))


def test_a_click_near_a_known_minimizer_finds_it_and_a_far_click_does_not():
    """Within 3 % of the window's diagonal of a known minimizer the click inspects it; elsewhere it adds a start."""
    L = landscapes.get("himmelblau")
    target = np.asarray(L.minimizers)[0]
    span = L.window[:, 1] - L.window[:, 0]
    np.testing.assert_array_equal(nearest_minimizer(L, target + 0.01 * span), target)
    assert nearest_minimizer(L, target + 0.2 * span) is None


def test_helpers_grid_stride_and_points():
    """A 3x3 grid has 9 distinct points spanning the window; the saving stride is odd above 200 steps and keeps at
    most about 200 iterates; parse_points refuses ragged input."""
    L = landscapes.get("quadratic")
    grid = np.array(grid_points(L, 3))
    assert grid.shape == (9, 2) and len({tuple(p) for p in grid}) == 9
    np.testing.assert_allclose(grid.min(axis=0), L.window[:, 0])
    for steps in (1, 200, 201, 1000, 10_000, 999_999):
        stride = saving_stride(steps)
        assert stride == 1 if steps <= 200 else stride % 2 == 1
        assert len(dynamics.saved_step_grid(steps, stride)) <= 202
    with pytest.raises(ValueError):
        parse_points("1,2;3")


def test_the_exports_are_a_png_and_a_run_that_load_run_reads_back(tmp_path):
    """export_npz gives bytes that dynamics.load_run turns back into the same iterates; export_png gives a PNG."""
    pytest.importorskip("matplotlib")
    from samscape.explore import views

    state = ExplorerState(landscape="double_well", opt="sam", eta=0.1, rho=0.9, steps=300, starts=[(0.3,), (-1.5,)],
                          surrogate=True)
    L = state.build_landscape()
    outcome = state.compute(L)
    path = tmp_path / "run.npz"
    path.write_bytes(views.export_npz(outcome))
    back = dynamics.load_run(path)
    np.testing.assert_array_equal(back.xs, outcome.run.xs)
    png = views.export_png(state, L, outcome)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    state2 = ExplorerState(landscape="tanh", opt="sam", eta=0.5, rho=0.1, steps=200, starts=[(2.5, 0.3)],
                           surrogate=True, field=True, log=True)
    L2 = state2.build_landscape()
    assert views.export_png(state2, L2, state2.compute(L2))[:4] == b"\x89PNG"


@pytest.mark.parametrize("query, landscape, problem", [
    ({"landscape": "nope"}, "tanh", "landscape: landscape must be one of"),
    ({"landscape": "x" * 10_000}, "tanh", "landscape: landscape must be one of"),
    ({"landscape": "double_well", "p.nope": "1", "p.c": "0.2"}, "double_well",
     "p.nope: landscape double_well has no parameter 'nope'; it takes c"),
])
def test_a_bad_landscape_in_a_link_is_refused_and_the_rest_is_kept(query, landscape, problem):
    """An unknown landscape name (even a 10 kB one) or an unknown catalog parameter is refused with one short
    sentence; everything else the link says (eta, starts, the valid parameters and landscape) is kept."""
    state, problems = ExplorerState.from_query({**query, "eta": "0.3", "starts": "0.5,0.5"})
    assert state.landscape == landscape and state.eta == 0.3 and state.starts == [(0.5, 0.5)]
    # short whatever the link holds: the catalog's names, and at most a snippet of the 10 kB name
    catalog = len(", ".join(map(repr, landscapes.names())))
    assert len(problems) == 1 and problems[0].startswith(problem) and len(problems[0]) < catalog + 150
    if "p.c" in query:
        assert state.params == {"c": 0.2}


def test_the_work_cap_counts_samples_and_gradients():
    """The cap counts what an update evaluates: starts x steps x gradients per step (2 for SAM, USAM and the
    variants, steps_ascent + 1 for a multi-step ascent, 1 for GD, SGD and RandomSAM) x samples per gradient (the batch, or every sample of a full-batch finite sum), in the unit of
    --max-work. The issue's link, p.xs with 2,000 values x 2,500 starts x 4,000 steps of full-batch SAM, was counted
    as 10^7 point-steps and passed the 10^7 cap; it is 2 x 2,000 x 10^7 sample gradients."""
    from samscape.explore.state import DEFAULT_MAX_WORK, sample_gradients

    xs = tuple(np.linspace(-1, 1, 2000).round(6))
    data = {"xs": xs, "ys": (0.0,) * 2000}
    wide = ExplorerState(landscape="tanh", params=data, opt="sam", steps=4000, starts=[(0.1, 0.1)] * 2500)
    L = wide.build_landscape()
    with pytest.raises(WorkCapExceeded, match=r"2,500 starts x 4,000 steps = 10,000,000 point-steps x 4,000 sample "
                                              r"gradients each = 40,000,000,000 sample gradients, over .*--max-work"):
        wide.check_work(DEFAULT_MAX_WORK, L)
    one = landscapes.get("tanh")
    for opt, per_step in (("gd", 1), ("sgd", 1), ("randomsam", 1), ("sam", 2), ("usam", 2), ("asam", 2), ("gsam", 2),
                          ("multistepusam", 3)):
        state = ExplorerState(opt=opt)
        assert sample_gradients(state.build_optimizer(one), one, 10) == 10 * per_step, opt
        batched = ExplorerState(landscape="tanh", params=data, opt=opt, batch=8)
        optimizer = batched.build_optimizer(L)
        expected = 10 * per_step * (8 if optimizer.describe().count("batch_size=8") else 2000)
        assert sample_gradients(optimizer, L, 10) == expected, opt
    switch = ExplorerState(landscape="tanh", params=data, opt="sgd", then="sam", at=3, batch=5).build_optimizer(L)
    assert sample_gradients(switch, L, 10) == 3 * 1 * 5 + 7 * 2 * 5
    # the finding: every variant but SAM and USAM counted 1 gradient a step, so 100 ascent steps ran under the cap
    deep = ExplorerState(opt="multistepsam", hyper={"steps_ascent": 100}).build_optimizer(one)
    assert sample_gradients(deep, one, 10) == 10 * 101


def test_a_link_sets_the_chosen_optimizers_own_hyperparameters_and_refuses_what_they_do_not_take():
    """A link holds a variant's hyperparameters by field name, typed and checked by its class: ASAM's eta_a reaches
    the run; a value the class refuses, a name the chosen optimizer does not take and a non-integer count each keep
    the default and give one sentence naming the key."""
    state, problems = ExplorerState.from_query({"opt": "asam", "eta_a": "0.25", "rho": "0.2"})
    assert problems == [] and state.build_optimizer(landscapes.get("tanh")) == dynamics.ASAM(0.1, 0.2, eta_a=0.25)
    for query, words in (({"opt": "asam", "eta_a": "-1"}, "eta_a: eta_a must be a finite number >= 0"),
                         ({"opt": "sam", "eta_a": "0.1"}, "eta_a: SAM takes no eta_a; it is a hyperparameter of asam"),
                         ({"opt": "multistepusam", "steps_ascent": "1.5"}, "steps_ascent: steps_ascent must be an "
                                                                            "integer"),
                         ({"opt": "wsam", "gamma": "1"}, "gamma: gamma must be in [0, 1)")):
        state, problems = ExplorerState.from_query(query)
        assert state.hyper == {} and len(problems) == 1 and problems[0].startswith(words), problems


def test_choosing_another_optimizer_keeps_a_value_only_where_it_means_the_same():
    """steps_ascent goes from MultiStepSAM to MultiStepUSAM (the same field); GSAM's alpha, a weight, does not become
    MultiStepSAM's alpha, a step size; ASAM's eta_a goes when the optimizer is SAM."""
    state = ExplorerState(opt="multistepsam", hyper={"steps_ascent": 3, "alpha": 0.02})
    state.choose("multistepusam", None)
    assert state.hyper == {"steps_ascent": 3}
    state = ExplorerState(opt="gsam", hyper={"alpha": 0.3})
    state.choose("multistepsam", None)
    assert state.hyper == {}
    state, _ = ExplorerState.from_query({"opt": "sam"}, ExplorerState(opt="asam", hyper={"eta_a": 0.2}))
    assert state.hyper == {} and "eta_a" not in state.to_query()
