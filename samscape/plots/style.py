"""One look for every samscape figure: the Okabe–Ito palette, cividis maps, paper-column sizes.

Plot functions draw inside :func:`context`, so the style applies to what samscape draws without touching the
user's global ``rcParams``. Sizes are in inches: :data:`COLUMN` is one column of a two-column paper,
:data:`FULL` the full text width.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager

import matplotlib as mpl
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

# one colour per optimizer, used everywhere (legends, curves, trajectories, animations)
OPTIMIZER_COLORS = {
    "gd": OKABE_ITO["blue"],
    "sgd": OKABE_ITO["sky"],
    "sam": OKABE_ITO["vermillion"],
    "usam": OKABE_ITO["orange"],
    "randomsam": OKABE_ITO["purple"],
}

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


@contextmanager
def context():
    """Apply samscape's rc settings for the duration of a ``with`` block."""
    with mpl.rc_context(RC):
        yield


def new_axes(ax=None, size=DEFAULT_SIZE):
    """Return ``ax`` unchanged, or a fresh Axes on a new figure of ``size`` inches (no pyplot state kept)."""
    if ax is not None:
        return ax
    # a bare Figure (not plt.figure) so library calls never accumulate open pyplot windows
    fig = Figure(figsize=size, layout="constrained")
    return fig.add_subplot()


def figure(nrows=1, ncols=1, *, size=(FULL, 2.6), width_ratios=None, height_ratios=None):
    """A new figure with a grid of Axes in samscape's style: ``(fig, axes)``, ``axes`` squeezed like ``plt.subplots``.

    The figure is a bare ``Figure`` (no pyplot state); write it with :func:`save`.
    """
    with context():
        fig = Figure(figsize=size, layout="constrained")
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
            ax.set_title(f"({chr(ord(start) + k)}) {title}".rstrip(), loc="left", fontsize=8)


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


def optimizer_color(kind: str) -> str:
    return OPTIMIZER_COLORS.get(kind, OKABE_ITO["black"])


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
