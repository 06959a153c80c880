"""One look for every samscape figure: the Okabe–Ito palette, cividis maps, paper-column sizes, and a slides variant.

Plot functions draw inside :func:`context`, so the style applies to what samscape draws without touching the
user's global ``rcParams``. Sizes are in inches: :data:`COLUMN` is one column of a two-column paper,
:data:`FULL` the full text width.

Two styles (:data:`STYLES`): ``"paper"`` (the default) and ``"slides"`` for a projector, chosen with
:func:`use_style` (a ``with`` block) or :func:`set_style` (the rest of a session, e.g. a classroom notebook).

Figures that a plot function creates (``ax=None``) are pyplot figures, so a notebook shows them like any
matplotlib call; code that only writes files (the gallery, ``samscape plot``) draws inside :func:`detached`,
where figures never enter pyplot, open no window and are freed as soon as they are dropped.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager

from dataclasses import dataclass

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .._atomic import atomic_output

# Okabe & Ito (2008): distinguishable under the common colour-vision deficiencies and in greyscale order.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
CYCLE = [OKABE_ITO[k] for k in ("blue", "vermillion", "green", "orange", "purple", "sky", "black")]

# Each optimizer class names its colour (its ``color``: a name of OKABE_ITO, or any colour), used everywhere
# (legends, curves, trajectories, animations, the explorer). A class that names none gets one of these in the
# order of registration: Paul Tol's "muted" scheme, then the darker colours of his "light" one, also readable under
# the common colour-vision deficiencies (the SAM family alone names none of its own).
SPARE_COLORS = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499",
                "#77AADD", "#EE8866", "#BBCC33", "#AAAA00", "#FFAABB")

# fates of a start (basin maps) and of a hyperparameter pair (stability diagrams)
FATE_COLORS = {
    "minimizer": OKABE_ITO["green"],
    "hallucinated": OKABE_ITO["vermillion"],
    "moving": OKABE_ITO["yellow"],
    "diverged": "#4D4D4D",
    "stable": OKABE_ITO["blue"],
    "escaped": OKABE_ITO["orange"],
    "critical": OKABE_ITO["purple"],
}

SURFACE_CMAP = "cividis"  # perceptually uniform and readable with red–green deficiency


def _light_surface():
    """cividis mixed with white: the same ordering, pale enough that paths and markers drawn on top stand out."""
    base = mpl.colormaps["cividis"](np.linspace(0, 1, 256))
    mixed = base.copy()
    mixed[:, :3] = 0.55 * base[:, :3] + 0.45
    return mpl.colors.ListedColormap(mixed, name="samscape_surface")


BACKGROUND_CMAP = _light_surface()


def background_palette(n: int) -> list[str]:
    """The background colour map as ``n`` hex colours, for a drawing outside matplotlib (the explorer's page)."""
    return [mpl.colors.to_hex(BACKGROUND_CMAP(i / (n - 1))) for i in range(n)]
COLUMN = 3.4
FULL = 7.0
DEFAULT_SIZE = (COLUMN, 2.8)

RC = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.frameon": True,
    "legend.framealpha": 0.9,
    "legend.edgecolor": "#CCCCCC",
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 3,
    "ytick.major.size": 3,
    "lines.linewidth": 1.2,
    "lines.markersize": 4,
    "axes.prop_cycle": mpl.cycler(color=CYCLE),
    "image.cmap": SURFACE_CMAP,
    "mathtext.fontset": "dejavusans",
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.03,
    "figure.dpi": 100,
}


@dataclass(frozen=True)
class Style:
    """A named look: rc settings, and ``canvas``, the factor applied to every figure size in inches.

    Slides shrink the canvas and raise the dpi by the same factor: the picture keeps its pixel size while every
    text, line and marker (all sized in points) grows against it, explicit marker sizes included.
    """

    name: str
    rc: dict
    canvas: float = 1.0
    notebook_dpi: float = 150.0  # figures shown in a Jupyter notebook (a column is then about 510 px wide)


SLIDES_CANVAS = 0.9
SLIDES_FONT = 1.12  # on top of the canvas: text grows 1.12 / 0.9, about 1.25 times, lines and markers 1.1 times


def _slides_rc() -> dict:
    rc = dict(RC)
    for key in ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize", "ytick.labelsize",
                "legend.fontsize"):
        rc[key] = RC[key] * SLIDES_FONT
    rc.update({
        "lines.linewidth": 1.6,
        "lines.markersize": 6,
        "axes.linewidth": 0.8,
        "figure.dpi": RC["figure.dpi"] / SLIDES_CANVAS,
        "savefig.dpi": RC["savefig.dpi"] / SLIDES_CANVAS,
    })
    return rc


# In a notebook a figure is shown at its own dpi: 100 would make a paper column 340 px wide, too small on a screen
# and on a projector; slides get about 760 px for a column, most of a notebook's width.
STYLES = {"paper": Style("paper", RC), "slides": Style("slides", _slides_rc(), SLIDES_CANVAS, notebook_dpi=250.0)}
_state = {"style": "paper", "detached": 0}


def _style_name(name) -> str:
    if name not in STYLES:
        raise ValueError(f"style must be one of {', '.join(map(repr, STYLES))}, got {name!r}")
    return name


def current_style() -> Style:
    """The style plot functions draw in now."""
    return STYLES[_state["style"]]


def set_style(name: str) -> str:
    """Draw every later figure in style ``name`` (``"paper"`` or ``"slides"``); returns the previous style's name."""
    previous, _state["style"] = _state["style"], _style_name(name)
    return previous


@contextmanager
def use_style(name: str):
    """Draw in style ``name`` for the duration of a ``with`` block (``samscape demo --slides`` uses ``"slides"``)."""
    previous = set_style(name)
    try:
        yield STYLES[name]
    finally:
        _state["style"] = previous


@contextmanager
def detached():
    """Inside the block, new figures are bare ``Figure`` objects that pyplot never sees.

    For code that writes files only: no window opens on any backend, nothing is left for ``plt.close``, and a
    figure is freed once the caller drops it, so building many figures does not grow the process.
    """
    _state["detached"] += 1
    try:
        yield
    finally:
        _state["detached"] -= 1


@contextmanager
def context():
    """Apply the current style's rc settings for the duration of a ``with`` block.

    Interactive mode is the one setting kept from inside the block: pyplot picks its backend when the first
    figure is made, which happens in here, and Jupyter's inline backend turns interactive mode on as it loads;
    restoring the old value would stop every later figure from being shown in the notebook.
    """
    interactive = None
    try:
        with mpl.rc_context(current_style().rc):
            try:
                yield
            finally:
                interactive = mpl.is_interactive()
    finally:
        if interactive is not None:
            mpl.interactive(interactive)


def scaled(size) -> tuple[float, float]:
    """A figure size in inches as the current style draws it (slides shrink the canvas, see :class:`Style`)."""
    factor = current_style().canvas
    return (float(size[0]) * factor, float(size[1]) * factor)


def _in_notebook() -> bool:
    from ..dynamics import Progress  # the one test for "this process is a Jupyter kernel"

    return Progress.in_notebook()


def new_figure(size=DEFAULT_SIZE):
    """A new constrained-layout figure of ``size`` inches (scaled by the style) with the style's dpi.

    A pyplot figure, so Jupyter's inline backend shows it when a cell ends, like any matplotlib call, at the
    style's ``notebook_dpi`` there (the size in inches, and so the saved file, is the same); inside
    :func:`detached` a bare ``Figure``.
    """
    with context():
        if _state["detached"]:
            return Figure(figsize=scaled(size), layout="constrained")
        dpi = current_style().notebook_dpi if _in_notebook() else None
        return plt.figure(figsize=scaled(size), layout="constrained", dpi=dpi)


def new_axes(ax=None, size=DEFAULT_SIZE):
    """Return ``ax`` unchanged, or a fresh Axes on a :func:`new_figure` of ``size`` inches."""
    if ax is not None:
        return ax
    return new_figure(size).add_subplot()


def figure(nrows=1, ncols=1, *, size=(FULL, 2.6), width_ratios=None, height_ratios=None):
    """A new figure with a grid of Axes in samscape's style: ``(fig, axes)``, ``axes`` squeezed like ``plt.subplots``.

    Created by :func:`new_figure` (pyplot, or bare inside :func:`detached`); write it with :func:`save`.
    """
    fig = new_figure(size)
    with context():
        axes = fig.subplots(nrows, ncols, squeeze=True,
                            gridspec_kw={"width_ratios": width_ratios, "height_ratios": height_ratios})
    return fig, axes


def panel_labels(axes, titles=None, start: str = "a") -> None:
    """``(a) title``, ``(b) title``, ... above the top left of each Axes."""
    axes = list(np.ravel(axes))
    titles = [""] * len(axes) if titles is None else list(titles)
    if len(titles) != len(axes):
        raise ValueError(f"titles must have one entry per Axes ({len(axes)}), got {len(titles)}")
    for k, (ax, title) in enumerate(zip(axes, titles)):
        with context():
            ax.set_title(f"({chr(ord(start) + k)}) {title}".rstrip(), loc="left")


def add_legend(ax, legend, handles=None, **defaults):
    """Draw a legend when ``legend`` is true; a dict of keyword arguments overrides the defaults (e.g. ``loc``)."""
    if not legend:
        return None
    if legend is not True and not isinstance(legend, dict):
        raise ValueError(f"legend must be True, False or a dict of Axes.legend arguments, got {legend!r}")
    options = {**defaults, **(legend if isinstance(legend, dict) else {})}
    if handles is not None:
        options["handles"] = handles
    return ax.legend(**options)


def figure_legend(fig, ax, **kwargs):
    """One legend for a whole figure, below the panels, from the labelled artists of ``ax``."""
    options = {"loc": "outside lower center", "ncol": 4, "frameon": False, **kwargs}
    with context():
        return fig.legend(*ax.get_legend_handles_labels(), **options)


def legend_below(ax, *, pad: float = 0.1, ncol: int = 1):
    """Move ``ax``'s legend below the figure, ``ncol`` entries per row, and widen the figure until it fits.

    An Axes legend wider than its Axes either covers the data or, under constrained layout, squeezes the Axes to
    a sliver; below the figure it takes only height, and the width check keeps it inside the saved image.
    Returns the new figure legend (``None`` when ``ax`` had no legend).
    """
    old = ax.get_legend()
    if old is None:
        return None
    fig = ax.figure
    handles, labels = old.legend_handles, [text.get_text() for text in old.get_texts()]
    old.remove()
    with context():
        legend = fig.legend(handles, labels, loc="outside lower center", ncol=ncol, frameon=False)
    fit_width(fig, legend, pad=pad)
    return legend


def wrap_to_width(text: str, fig, *, fontsize=None) -> str:
    """``text`` broken into lines that fit the width of ``fig`` at the title's font size (a long expression as a
    title would otherwise run past the figure's edges)."""
    import textwrap

    from matplotlib.font_manager import FontProperties

    size = FontProperties(size=fontsize or mpl.rcParams["axes.titlesize"]).get_size_in_points()
    columns = max(20, int(fig.get_figwidth() * 72 / (0.55 * size)))  # DejaVu Sans: about 0.55 em per character
    return "\n".join(textwrap.wrap(text, columns)) or text


def fit_width(fig, artist, *, pad: float = 0.1) -> None:
    """Widen ``fig`` so ``artist``, as the renderer lays it out, fits with ``pad`` inches on each side."""
    fig.draw_without_rendering()
    width = artist.get_window_extent().width / fig.dpi
    if width + 2 * pad > fig.get_figwidth():
        fig.set_figwidth(width + 2 * pad)


def optimizer_color(kind: str) -> str:
    """The colour of an optimizer kind in every figure and in the explorer, read off its class (``color``); a class
    that names none gets a spare colour of its own (:data:`SPARE_COLORS`), a kind nobody registered black."""
    from ..dynamics import OPTIMIZERS

    cls = OPTIMIZERS.get(kind)
    if cls is None:
        return OKABE_ITO["black"]
    if cls.color is not None:
        return OKABE_ITO.get(cls.color, cls.color)
    unnamed = [other for other, c in OPTIMIZERS.items() if c.color is None]
    return SPARE_COLORS[unnamed.index(kind) % len(SPARE_COLORS)]


def optimizer_label(kind: str) -> str:
    """An optimizer kind as menus and legends name it: its class's name (``persamplesam`` -> ``PerSampleSAM``),
    read from the registry, so a class defined later is named like the others."""
    from ..dynamics import OPTIMIZERS

    cls = OPTIMIZERS.get(kind)
    return cls.__name__ if cls is not None else str(kind)


def pixel_scale(name: str) -> dict[str, float]:
    """How much larger style ``name`` draws text, lines and markers than ``"paper"`` against the same picture, in
    pixels: ``{"text", "line", "marker"}`` (``"slides"``: text about 1.24x, lines 1.48x, markers 1.67x). A page
    that draws with its own toolkit (the explorer) scales by these to look like the gallery's ``--slides``."""
    chosen, paper = STYLES[_style_name(name)], STYLES["paper"]
    dpi = chosen.rc["figure.dpi"] / paper.rc["figure.dpi"]
    return {"text": chosen.rc["font.size"] / paper.rc["font.size"] * dpi,
            "line": chosen.rc["lines.linewidth"] / paper.rc["lines.linewidth"] * dpi,
            "marker": chosen.rc["lines.markersize"] / paper.rc["lines.markersize"] * dpi}


_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "kappa", "lambda", "mu", "nu", "xi",
    "rho", "sigma", "tau", "phi", "chi", "psi", "omega",
}


def symbol(name: str) -> str:
    """A variable name as mathtext: ``u`` -> ``$u$``, ``y1`` -> ``$y_{1}$``, ``rho`` -> ``$\\rho$``."""
    match = re.fullmatch(r"([A-Za-z]+)_?(\d*)", name)
    if not match:
        return name
    stem, sub = match.groups()
    stem = "\\" + stem if stem in _GREEK else stem
    return f"${stem}_{{{sub}}}$" if sub else f"${stem}$"


def label_landscape_axes(ax, landscape, axes=(0, 1)) -> None:
    ax.set_xlabel(symbol(landscape.variables[axes[0]]))
    ax.set_ylabel(symbol(landscape.variables[axes[1]]))


def save(fig, path, **kwargs) -> str:
    """Write ``fig`` to ``path`` atomically (see :func:`samscape._atomic.atomic_output`); the format follows the extension."""
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    with atomic_output(path) as tmp, context():
        fig.savefig(tmp, format=fmt, **kwargs)
    return path
