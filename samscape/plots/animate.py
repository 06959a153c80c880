"""An animated GIF of a run's iterates moving over the landscape (Pillow; matplotlib draws each frame).

Each path is drawn as it is travelled: the first frame shows only the starts, so a class sees where the points
go before it is told.
"""

from __future__ import annotations

import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.lines import Line2D
from PIL import Image

from . import _checks
from ..theory.fates import run_phases
from .landscape import contour
from .style import (DEFAULT_SIZE, atomic_output, context, current_style, detached, fit_width, label_landscape_axes,
                    new_axes, optimizer_color)


def animate(run, path, *, frames=60, fps=15, tail=None, starts=None, axes=(0, 1), dpi=130, size=DEFAULT_SIZE,
            background_kw=None, title=True):
    """Write a GIF of the run's paths growing over the contours; returns ``path``.

    Parameters
    ----------
    run : Run of a landscape with ``dim >= 2``
    path : str or PathLike
        Where to write the ``.gif`` (atomically: a temporary file, then ``os.replace``).
    frames : int
        Number of frames, spread evenly over the saved steps.
    fps : int
        Frames per second.
    tail : int, optional
        Show only the last ``tail`` saved points of each path (default: the whole path so far).
    starts : None, int or sequence of int
        Which starts to draw.
    dpi, size
        Resolution and size in inches of a frame in the paper style (the slides style draws on a smaller canvas
        at a higher dpi: the same pixels, larger text and markers).
    title : bool
        Name the optimizer running beside the step counter above the plot.
    """
    frames = _checks.positive_int(frames, "frames")
    fps = _checks.positive_int(fps, "fps")
    path = os.fspath(path)
    if not path.lower().endswith(".gif"):
        raise ValueError(f"path must end in .gif, got {path!r}")
    images = [Image.fromarray(np.asarray(frame.figure.canvas.buffer_rgba())[..., :3].copy())
              for frame in draw_frames(run, frames=frames, tail=tail, starts=starts, axes=axes, dpi=dpi, size=size,
                                       background_kw=background_kw, title=title)]
    # one adaptive palette, from the last frame (which shows the most), shared by all so colours do not flicker
    palette = images[-1].convert("P", palette=Image.ADAPTIVE, colors=128)
    frames_p = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    with atomic_output(path) as tmp:
        frames_p[0].save(tmp, format="GIF", save_all=True, append_images=frames_p[1:], duration=int(1000 / fps),
                         loop=0, optimize=False)
    return path


class Frame:
    """One drawn frame: the figure (its canvas holds the pixels), the step, and the animated artists as drawn."""

    def __init__(self, figure, step, trails, heads, stamp, legend):
        self.figure, self.step, self.trails, self.heads, self.stamp, self.legend = (
            figure, step, trails, heads, stamp, legend)


def draw_frames(run, *, frames=60, tail=None, starts=None, axes=(0, 1), dpi=130, size=DEFAULT_SIZE,
                background_kw=None, title=True):
    """Draw the animation's frames one after another, yielding a :class:`Frame` once each is on the canvas.

    The static picture holds the contours, the starts and the legend; each frame blits every path up to its
    step (or its last ``tail`` saved points) and the step counter. The artists are reused: read a frame before
    asking for the next.
    """
    _checks.run(run)
    _checks.landscape(run.landscape, min_dim=2, what="animate")
    frames = _checks.positive_int(frames, "frames")
    if tail is not None:
        tail = _checks.positive_int(tail, "tail")
    idx = _checks.starts(starts, run.n_starts)
    axes = _checks.plane(axes, run.landscape.dim)
    n_saved = len(run.steps)
    picks = np.unique(np.linspace(0, n_saved - 1, min(frames, n_saved)).round().astype(int))
    phases = run_phases(run)
    steps = run.steps
    describe = (lambda opt, step: f"step {step}  ({opt.describe()})") if title else (lambda opt, step: f"step {step}")

    # the GIF's figure never enters pyplot: it is drawn here, written, and dropped
    with detached(), context():
        ax = new_axes(None, size)
        fig = ax.figure
        fig.set_dpi(dpi / current_style().canvas)  # slides shrink the canvas; the frame keeps its pixel size
        FigureCanvasAgg(fig)  # blitting needs a raster canvas, whatever backend pyplot uses
        contour(run.landscape, ax=ax, axes=axes,
                **(background_kw or {"log": True, "colorbar": False}))
        for i in idx:
            first = optimizer_color(phases[0][0].kind)
            ax.plot(*run.xs[0, i, list(axes)], marker="o", markersize=4.5, markerfacecolor="white",
                    markeredgecolor=first, markeredgewidth=1.1, linestyle="none", zorder=8, gid="start")
        label_landscape_axes(ax, run.landscape, axes)
        handles, seen = [], set()
        for opt, _, _ in phases:
            if opt.describe() not in seen:
                seen.add(opt.describe())
                handles.append(Line2D([], [], color=optimizer_color(opt.kind), linewidth=1.4, label=opt.describe()))
        # below the plot, where it can neither hide a path nor meet the step counter above it
        legend = fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False)
        trails, heads = [], []
        for _ in idx:
            (trail,) = ax.plot([], [], linewidth=1.4, animated=True, solid_capstyle="round", zorder=9)
            (head,) = ax.plot([], [], marker="o", markersize=5, markeredgecolor="black", markeredgewidth=0.6,
                              linestyle="none", animated=True, zorder=10)
            trails.append(trail)
            heads.append(head)
        # the counter is the title, so the layout keeps room for it; set to its longest text before the layout
        longest = max((describe(opt, int(steps[-1])) for opt, _, _ in phases), key=len)
        stamp = ax.set_title(longest, loc="left")
        stamp.set_animated(True)
        fit_width(fig, legend)
        fig.canvas.draw()
        background = fig.canvas.copy_from_bbox(fig.bbox)
        for k in picks:
            fig.canvas.restore_region(background)
            first = 0 if tail is None else max(0, k - tail)
            step = int(steps[k])
            active = next((opt for opt, lo, hi in phases if lo <= step <= hi), phases[-1][0])
            color = optimizer_color(active.kind)
            for i, trail, head in zip(idx, trails, heads):
                seg = run.xs[first:k + 1, int(i)][:, list(axes)]
                trail.set_data(seg[:, 0], seg[:, 1])
                trail.set_color(color)
                head.set_data([seg[-1, 0]], [seg[-1, 1]])
                head.set_markerfacecolor(color)
                ax.draw_artist(trail)
                ax.draw_artist(head)
            stamp.set_text(describe(active, step))
            ax.draw_artist(stamp)
            fig.canvas.blit(fig.bbox)
            yield Frame(fig, step, trails, heads, stamp, legend)
