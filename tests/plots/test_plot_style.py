"""How plot functions create figures (pyplot, so notebooks show them; bare inside ``detached``) and the slides style."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from samscape import landscapes, plots
from samscape.plots import style


def test_a_figure_made_for_the_caller_is_the_current_pyplot_figure(tanh):
    """With ax=None the figure is registered with pyplot and is plt.gcf(): Jupyter's inline backend shows exactly
    the figures pyplot holds when a cell ends, so this is what makes `plots.contour(L)` appear in a notebook."""
    before = set(plt.get_fignums())
    ax = plots.contour(tanh, resolution=20)
    assert set(plt.get_fignums()) - before == {ax.figure.number}
    assert plt.gcf() is ax.figure


def test_inside_detached_figures_never_reach_pyplot(tanh):
    """Inside plots.detached() a new figure is a bare Figure: pyplot's list of figures does not change, and the
    figure object is freed when dropped (no reference is kept), so file-writing code never accumulates figures."""
    import gc
    import weakref

    before = plt.get_fignums()
    with plots.detached():
        ax = plots.contour(tanh, resolution=20)
        fig, _ = plots.figure(1, 2)
    assert plt.get_fignums() == before
    assert isinstance(ax.figure, Figure) and not hasattr(ax.figure, "number")
    ref = weakref.ref(ax.figure)
    del ax, fig
    gc.collect()
    assert ref() is None


def _relative_sizes(fig, ax):
    """Tick label height, marker size and figure width in pixels, as the renderer lays them out."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    tick = ax.get_xticklabels()[0].get_window_extent(renderer).height
    marker = next(line for line in ax.lines if line.get_marker() not in (None, "None", ""))
    marker_px = marker.get_markersize() * fig.dpi / 72
    return tick, marker_px, fig.bbox.width


def test_slides_keep_the_pixel_size_and_enlarge_text_and_markers_against_it():
    """The slides style draws the same picture at the same pixel width, with text larger by SLIDES_FONT /
    SLIDES_CANVAS and markers (sized in points) larger by 1 / SLIDES_CANVAS relative to that width."""
    land = landscapes.get("himmelblau")  # isolated minimizers, drawn as markers
    paper = _relative_sizes((ax := plots.contour(land, resolution=20)).figure, ax)
    with plots.use_style("slides"):
        slide_ax = plots.contour(land, resolution=20)
    slides = _relative_sizes(slide_ax.figure, slide_ax)
    assert slides[2] == pytest.approx(paper[2], rel=1e-6)
    assert slides[0] / paper[0] == pytest.approx(style.SLIDES_FONT / style.SLIDES_CANVAS, rel=0.1)
    assert slides[1] / paper[1] == pytest.approx(1 / style.SLIDES_CANVAS, rel=1e-6)
    assert slides[0] > 1.2 * paper[0]


def test_use_style_restores_the_previous_style_and_refuses_unknown_names():
    """use_style applies inside its block only; set_style returns the previous name; an unknown name is a
    one-sentence ValueError listing the styles."""
    assert style.current_style().name == "paper"
    with plots.use_style("slides"):
        assert style.current_style().name == "slides"
    assert style.current_style().name == "paper"
    assert plots.set_style("slides") == "paper"
    assert plots.set_style("paper") == "slides"
    with pytest.raises(ValueError, match="^style must be one of 'paper', 'slides', got 'poster'$"):
        plots.set_style("poster")


def _inside(inner, outer, tol=0.5):
    return (inner.x0 >= outer.x0 - tol and inner.y0 >= outer.y0 - tol and inner.x1 <= outer.x1 + tol
            and inner.y1 <= outer.y1 + tol)


def test_legend_below_fits_a_legend_wider_than_the_axes_inside_the_figure():
    """A legend entry wider than a column-sized figure, moved below by legend_below, lies inside the figure and
    off the Axes, and the Axes keep at least half the figure's width (constrained layout no longer squeezes it)."""
    ax = style.new_axes()
    ax.plot([0, 1], [0, 1], label="a description far wider than one column of a two-column paper, " * 2)
    ax.legend()
    legend = plots.legend_below(ax)
    fig = ax.figure
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    box, axes_box = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
    assert ax.get_legend() is None
    assert _inside(box, fig.bbox)
    assert not box.overlaps(axes_box)
    assert axes_box.width > 0.5 * fig.bbox.width
