"""An animated GIF of a run's iterates moving over the landscape (Pillow; matplotlib draws each frame)."""

from __future__ import annotations

import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from . import _checks
from ..theory.fates import run_phases
from .runs import trajectories
from .style import DEFAULT_SIZE, atomic_output, context, new_axes, optimizer_color


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
    """
    _checks.run(run)
    _checks.landscape(run.landscape, min_dim=2, what="animate")
    frames = _checks.positive_int(frames, "frames")
    fps = _checks.positive_int(fps, "fps")
    if tail is not None:
        tail = _checks.positive_int(tail, "tail")
    path = os.fspath(path)
    if not path.lower().endswith(".gif"):
        raise ValueError(f"path must end in .gif, got {path!r}")
    idx = _checks.starts(starts, run.n_starts)
    axes = _checks.plane(axes, run.landscape.dim)
    n_saved = len(run.steps)
    picks = np.unique(np.linspace(0, n_saved - 1, min(frames, n_saved)).round().astype(int))

    with context():
        ax = new_axes(None, size)
        fig = ax.figure
        fig.set_dpi(dpi)
        FigureCanvasAgg(fig)  # blitting needs a raster canvas, whatever backend pyplot uses
        # the static picture: contours plus the full paths faintly, so the eye knows where points are heading
        trajectories(run, ax=ax, starts=idx, background=True, axes=axes, legend=True,
                     background_kw=background_kw or {"log": True, "colorbar": False}, linewidth=0.6, ends=False)
        for line in ax.lines:
            if len(line.get_xdata()) > 1:
                line.set_alpha(0.3)
        at_steps = run.steps
        phases = run_phases(run)
        moving = []
        for i in idx:
            (trail,) = ax.plot([], [], linewidth=1.4, animated=True, solid_capstyle="round", zorder=9)
            (head,) = ax.plot([], [], marker="o", markersize=5, markeredgecolor="black", markeredgewidth=0.6,
                              linestyle="none", animated=True, zorder=10)
            moving.append((int(i), trail, head))
        stamp = ax.text(0.02, 0.97, "", transform=ax.transAxes, ha="left", va="top", fontsize=7, animated=True,
                        bbox=dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor="none", alpha=0.8))
        fig.canvas.draw()
        background = fig.canvas.copy_from_bbox(fig.bbox)
        images = []
        for k in picks:
            fig.canvas.restore_region(background)
            first = 0 if tail is None else max(0, k - tail)
            step = int(at_steps[k])
            active = next((opt for opt, lo, hi in phases if lo <= step <= hi), phases[-1][0])
            color = optimizer_color(active.kind)
            for i, trail, head in moving:
                seg = run.xs[first:k + 1, i][:, list(axes)]
                trail.set_data(seg[:, 0], seg[:, 1])
                trail.set_color(color)
                head.set_data([seg[-1, 0]], [seg[-1, 1]])
                head.set_markerfacecolor(color)
                ax.draw_artist(trail)
                ax.draw_artist(head)
            stamp.set_text(f"step {step}  ({active.describe()})" if title else f"step {step}")
            ax.draw_artist(stamp)
            fig.canvas.blit(fig.bbox)
            buffer = np.asarray(fig.canvas.buffer_rgba())
            images.append(Image.fromarray(buffer[..., :3].copy()))
    # one adaptive palette, from the last frame (which shows the most), shared by all so colours do not flicker
    palette = images[-1].convert("P", palette=Image.ADAPTIVE, colors=128)
    frames_p = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    with atomic_output(path) as tmp:
        frames_p[0].save(tmp, format="GIF", save_all=True, append_images=frames_p[1:], duration=int(1000 / fps),
                         loop=0, optimize=False)
    return path
