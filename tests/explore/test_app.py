"""The Panel app without a browser: widgets drive the state, errors become messages, sessions share nothing."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("panel", reason="the explorer needs Panel: pip install 'samscape[explore]'")

from bokeh.events import Tap  # noqa: E402

from samscape import dynamics, landscapes  # noqa: E402
from samscape.explore.app import CUSTOM, Explorer  # noqa: E402
from samscape.explore.state import ExplorerState  # noqa: E402


def make(**fields):
    return Explorer(ExplorerState(**{"starts": [(2.5, 0.3), (-2.0, -0.5)], "steps": 300, **fields}))


def test_a_tap_away_from_minimizers_adds_a_start_and_near_one_shows_its_stability():
    """A tap on the contour appends one start (rounded, in the readout); a tap on a known minimizer of himmelblau
    adds none and shows lambda_max and the edges instead."""
    ex = make()
    ex._on_tap(Tap(ex.fig, x=1.0, y=0.5))
    assert ex.state.starts[-1] == (1.0, 0.5) and ex.outcome.run.n_starts == 3
    assert ex.readout.object.count("class='start-row'") == 3
    ex = make(landscape="himmelblau", starts=[(0.0, 0.0)])
    x_star = np.asarray(ex.landscape.minimizers)[0]
    ex._on_tap(Tap(ex.fig, x=float(x_star[0]), y=float(x_star[1])))
    assert ex.state.starts == [(0.0, 0.0)]
    assert "lambda_max" in ex.stability.object and "GD edge 2/lambda" in ex.stability.object


def test_a_refused_expression_keeps_the_last_good_landscape():
    """A hostile expression shows the parser's message beside the box; the landscape and the run stay."""
    ex = make()
    ex.w_landscape.value = CUSTOM
    good = ex.landscape
    ex.w_expr.value = "__import__('os')"
    assert "not allowed" in ex.expr_message.object
    assert ex.landscape is good
    ex.w_eta.value = 0.3
    assert ex.outcome.run.optimizer.lr == 0.3


def test_over_the_cap_a_message_and_no_run():
    """A state over max_work shows the cap message instead of running."""
    ex = Explorer(ExplorerState(starts=[(1.0, 1.0)] * 10, steps=1000), max_work=5000)
    assert "cap of 5,000" in ex.message.object and ex.outcome is None


def test_two_sessions_share_no_state():
    """Changing eta and starts in one explorer leaves another built from the same base unchanged (each session's
    state is a copy made by from_query, as the server's session builder makes it)."""
    base = ExplorerState(starts=[(2.5, 0.3)], steps=200)
    a = Explorer(ExplorerState.from_query({}, base)[0])
    b = Explorer(ExplorerState.from_query({}, base)[0])
    a.w_eta.value = 0.7
    a._add_starts([(1.0, 1.0)])
    assert b.state.eta == base.eta and b.state.starts == [(2.5, 0.3)] and base.starts == [(2.5, 0.3)]


def test_a_diverging_run_shows_its_status_and_the_remedy():
    """GD past its edge on the quadratic: the readout says diverged and the message names the remedy."""
    ex = make(landscape="quadratic", opt="gd", eta=0.3, starts=[(0.0, 1.0)])
    assert "diverged" in ex.readout.object and "lower lr" in ex.message.object
    expected = dynamics.simulate(landscapes.get("quadratic"), dynamics.GD(0.3), [[0.0, 1.0]], 300, seed=0)
    assert expected.status[0] == "diverged"


@pytest.mark.parametrize("query, shown, kept", [
    ({"landscape": "nope"}, "landscape must be one of", "tanh"),
    ({"landscape": "himmelblau", "p.nope": "1"}, "has no parameter &#x27;nope&#x27;", "himmelblau"),
    ({"landscape": "x" * 10_000}, "landscape must be one of", "tanh"),
    ({"landscape": "tanh", "p.xs": "1,2", "p.ys": "0"}, "landscape tanh with these parameters:", "tanh"),
])
def test_a_refused_part_of_a_link_is_shown_in_the_page_and_the_rest_is_kept(query, shown, kept):
    """A link with an unknown landscape, an unknown parameter, a 10 kB name or parameter values the catalog refuses
    shows the refusal in the page (it silently showed the default landscape), briefly, and keeps the rest of the
    link: its eta and starts, and its landscape where that one exists."""
    state, problems = ExplorerState.from_query({**query, "eta": "0.3", "starts": "0.5,0.5", "steps": "20"})
    ex = Explorer(state, problems=problems)
    assert shown in ex.message.object and "class='refused'" in ex.message.object
    assert len(ex.message.object) < 1000
    assert ex.landscape.name == kept and ex.state.eta == 0.3 and ex.outcome.run.n_starts == 1
