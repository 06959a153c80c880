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


def test_paths_and_curves_take_the_colour_of_the_optimizer_in_force():
    """The finding: colours followed the start, not the optimizer. A GD -> SAM switch draws every path, loss and
    sharpness curve in GD's blue up to the switch and SAM's vermillion after it (the gallery's colours), and the
    heads in the colour of the optimizer at the step shown."""
    from samscape.plots.style import optimizer_color

    ex = make(opt="gd", then="sam", at=100, eta=0.5, rho=0.1)
    blue, vermillion = optimizer_color("gd"), optimizer_color("sam")
    assert blue != vermillion
    for source in (ex.src_paths, ex.src_loss, ex.src_sharp):
        assert source.data["color"] == [blue, blue, vermillion, vermillion]
    assert ex.src_paths.data["xs"][0][0] == 2.5  # the GD piece starts at the start
    assert set(ex.src_heads.data["color"]) == {vermillion}
    ex.player.value = 0
    assert set(ex.src_heads.data["color"]) == {blue} and ex.player.label == "step 0 of 300"


def test_the_sharpness_panels_dashed_edge_is_named_in_its_legend():
    """The dashed line in the sharpness panel was unlabelled: its legend now names it, GD's edge 2/eta = 4 at
    eta = 0.5, in GD's colour."""
    ex = make(opt="gd", eta=0.5)
    assert ex.src_edge.data["text"] == ["GD edge 2/eta = 4"]
    assert ex.src_edge.data["ys"] == [[4.0, 4.0]]
    (legend,) = ex.fig_sharp.legend
    assert legend.items and legend.items[0].label.field == "text"


def test_a_loss_that_reaches_exactly_zero_is_still_drawn():
    """The finding: the loss panel was blank for GD on tanh from the README's starts, whose loss reaches exactly 0
    (and 1e-300 before it). Every drawn value is now finite and positive, zeros at the floor 1e-30 of the largest
    loss, and the axis spans them."""
    ex = make(opt="gd", eta=0.5, rho=0.1, steps=1000)
    loss = ex.outcome.run.loss
    assert (loss == 0).any()
    drawn = np.concatenate(ex.src_loss.data["ys"])
    assert np.isfinite(drawn).all() and (drawn > 0).all()
    top = loss.max()
    assert drawn.min() == pytest.approx(top * 1e-30)
    assert 0 < ex.fig_loss.y_range.start <= drawn.min() and ex.fig_loss.y_range.end >= top


def test_the_catalogs_curves_of_minimizers_are_drawn():
    """The finding: p1_figure's circle and tanh's two lines were not drawn. The landscape figure now has p1_figure's
    unit circle, and tanh's lines u = 0 and v = 0, as white dashes."""
    ring = make(landscape="p1_figure", starts=[(1.5, 0.0)])
    ((xs, ys),) = zip(ring.src_sets.data["xs"], ring.src_sets.data["ys"])
    np.testing.assert_allclose(np.hypot(xs, ys), 1.0)
    tanh = make()
    lines = [np.column_stack([x, y]) for x, y in zip(tanh.src_sets.data["xs"], tanh.src_sets.data["ys"])]
    assert len(lines) == 2
    assert np.allclose(lines[0][:, 1], 0.0) and np.ptp(lines[0][:, 0]) == pytest.approx(6.0)
    assert np.allclose(lines[1][:, 0], 0.0) and np.ptp(lines[1][:, 1]) == pytest.approx(3.0)


def test_clicking_a_minimizer_says_sam_cannot_rest_there_and_shows_its_two_cycle():
    """The finding: a click on a minimizer reported SAM's Jacobian spectral radius there (4e4), while the page
    called SAM's end a minimizer. The text now says in words that SAM cannot rest at a minimizer with rho > 0 and
    bounces on a 2-cycle around it, and gives that cycle and its two-step spectral radius (theory.sam_cycle)."""
    from samscape import theory

    ex = make(landscape="quadratic", eta=0.1, rho=0.05, starts=[(1.0, 1.0)])
    ex._on_tap(Tap(ex.fig, x=0.0, y=0.0))
    text = ex.stability.object
    assert "SAM cannot rest at a minimizer when rho &gt; 0" in text and "bounces on a 2-cycle" in text
    cycle = theory.sam_cycle(ex.landscape, [0.0, 0.0], 0.1, 0.05)
    assert f"two-step Jacobian is {float(cycle.spectral_radius):.4g}" in text and "the cycle attracts" in text
    jumpy = theory.fixed_point_stability(ex.landscape, dynamics.SAM(0.1, 0.05), [0.0, 0.0]).spectral_radius
    assert jumpy > 100 and f"{jumpy:.4g}" not in text


def test_menu_labels_are_the_optimizer_classes_and_arrow_keys_move_eta_by_a_hundredth():
    """The findings: the menu mixed `persamplesam` with `GD`, and an arrow key moved eta by 0.001 (500 presses from
    0.5 to 1). Each menu entry is now its class's name, and eta and rho move by 0.01."""
    ex = make()
    assert list(ex.w_opt.options) == [dynamics.optimizers.OPTIMIZERS[k].__name__ for k in ex.w_opt.options.values()]
    assert "PerSampleSAM" in ex.w_opt.options
    assert ex.w_eta.step == 0.01 and ex.w_rho.step == 0.01


def test_the_slides_style_enlarges_text_lines_and_markers_as_the_gallerys_slides_do():
    """?style=slides (or the toggle) scales the page's text, lines and markers by plots.style.pixel_scale("slides"),
    the factors of the gallery's --slides; the toggle switches a page over and back."""
    from samscape.plots.style import pixel_scale

    scale = pixel_scale("slides")
    paper, slides = make(), make()
    slides.w_slides.value = True
    assert slides.style == "slides"
    px = lambda text: float(text.rstrip("px"))  # noqa: E731
    ratio = px(slides.fig.xaxis[0].axis_label_text_font_size) / px(paper.fig.xaxis[0].axis_label_text_font_size)
    assert ratio == pytest.approx(scale["text"], rel=0.01)
    assert px(slides.layout.styles["--bokeh-font-size"]) / px(paper.layout.styles["--bokeh-font-size"]) == \
        pytest.approx(scale["text"], rel=0.01)
    line = lambda ex: next(r.glyph.line_width for r in ex.fig.renderers if hasattr(r.glyph, "xs"))  # noqa: E731
    assert line(slides) / line(paper) == pytest.approx(scale["line"])
    slides.w_slides.value = False
    assert line(slides) == pytest.approx(line(paper))


def test_warming_the_kernels_says_so_once_per_landscape(monkeypatch, capfd):
    """The finding: `samscape explore` printed 55 "building the compiled kernel" lines (21 repeated). Warming a
    landscape's kernels now prints one line, and warming it again none, even when every build is "slow" (the note's
    threshold set to 0 here)."""
    from samscape.dynamics import compiled
    from samscape.explore import state as explore_state

    if not compiled.available():
        pytest.skip("numba is not installed")
    monkeypatch.setattr(compiled, "SLOW_BUILD_NOTE_SECONDS", 0.0)
    land = landscapes.from_expr("0.3*x**2 + 0.7*y**2 + 0.05*x**2*y**2", "x,y")
    base = ExplorerState(opt="gd")
    explore_state.warm_kernels(land, base, kinds=("gd", "sam")).result(timeout=600)
    explore_state.warm_kernels(land, base, kinds=("gd", "sam")).result(timeout=600)
    # other explorers of this module may still be warming their own landscapes in the background
    lines = [line for line in capfd.readouterr().err.splitlines() if line.strip() and repr(land.name) in line]
    assert lines == [f"samscape explore: compiling the kernels of landscape {land.name!r} for every optimizer in "
                     "the background; runs use NumPy until each is ready"]


def test_the_explorer_asks_to_warm_each_landscape_it_shows(warm_requests):
    """A new explorer asks to warm its landscape's kernels and a change of landscape asks for the new one (the
    warming is recorded by the fixture here; ``warm_kernels`` itself is tested above)."""
    ex = make()
    assert [landscape for landscape, _ in warm_requests] == [ex.landscape]
    assert ex.landscape.name != "himmelblau"
    ex.w_landscape.value = "himmelblau"
    assert [landscape.name for landscape, _ in warm_requests][-1] == ex.landscape.name == "himmelblau"
    assert len(warm_requests) == 2


def test_the_chosen_variants_hyperparameters_have_controls_read_off_its_class_that_change_the_run():
    """The controls under eta and rho are the chosen optimizer's other fields (dynamics.hyperparameters): momentum and
    nesterov for SAM (a number and a tick), eta_a too for ASAM, steps_ascent and alpha for MultiStepSAM (alpha empty:
    it follows rho); a change reruns with the new value and puts it in the link, momentum staying when the optimizer
    changes; a value the class refuses is shown and not taken."""
    ex = make(opt="sam")
    assert list(ex.w_hyper) == ["momentum", "nesterov"] and ex.w_hyper["nesterov"].value is False
    ex.w_hyper["momentum"].value = 0.5
    ex.w_hyper["nesterov"].value = True
    ex.w_opt.value = "asam"
    assert list(ex.w_hyper) == [name for name in dynamics.hyperparameters("asam") if name not in ("lr", "rho",
                                                                                                   "batch_size")]
    assert ex.w_hyper["eta_a"].value == dynamics.ASAM.__dataclass_fields__["eta_a"].default
    assert ex.w_hyper["momentum"].value == 0.5 and ex.w_hyper["nesterov"].value is True
    ex.w_hyper["eta_a"].value = 0.5
    expected = dynamics.simulate(ex.landscape, dynamics.ASAM(0.1, 0.05, eta_a=0.5, momentum=0.5, nesterov=True),
                                 [[2.5, 0.3], [-2.0, -0.5]], 300, seed=0, backend=ex.outcome.run.backend)
    np.testing.assert_array_equal(ex.outcome.run.x, expected.x)
    query = ex.state.to_query()
    assert (query["eta_a"], query["momentum"], query["nesterov"]) == ("0.5", "0.5", "1")
    ex.w_opt.value = "multistepsam"
    assert set(ex.w_hyper) == {"steps_ascent", "alpha", "momentum", "nesterov"} and ex.w_hyper["alpha"].value is None
    ex.w_hyper["steps_ascent"].value = 0
    assert "steps_ascent must be a positive integer" in ex.message.object
    assert ex.outcome.run.optimizer.steps_ascent == 2
