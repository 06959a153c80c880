"""matplotlib drawings: functions that take ``ax=None`` and return the Axes (matplotlib is imported only here).

Every function draws in samscape's style (:mod:`samscape.plots.style`: Okabe–Ito colours, cividis maps,
paper-column sizes; ``use_style("slides")`` or ``set_style("slides")`` for a projector) without changing the
user's global settings, and never calls ``show()``. A figure made for you (``ax=None``) is a pyplot figure, so
a notebook displays it like any matplotlib call; inside ``with detached():`` figures bypass pyplot (no window,
nothing to close), for code that only writes files. Save a figure with ``ax.figure.savefig(...)`` or
:func:`save` (atomic).

Plots only draw: what a picture shows is computed by :mod:`samscape.theory` and passed in, e.g.
``basins(run, theory.classify_fates(run))``,
``stability_diagram(theory.stability_fates(L, x_star, lrs=..., rhos=...))``,
``surrogate(L, rho, hallucinated=theory.find_hallucinated(L, rho, L.window, lr=lr))``.
"""

from .animate import animate
from .diagrams import stability_diagram, stability_legend
from .landscape import contour, surrogate, vector_field
from .phase import phase
from .runs import basins, curves, trajectories, valley
from .style import (COLUMN, FULL, STYLES, detached, figure, figure_legend, legend_below, panel_labels, save,
                    set_style, use_style)
# what the explorer's Bokeh drawings share with these figures: the colours, the names and the plane's grid
from .landscape import plane_grid, surrogate_values, update_field
from .style import CYCLE, FATE_COLORS, OKABE_ITO, optimizer_color, optimizer_label, pixel_scale, background_palette

__all__ = [
    "contour", "vector_field", "surrogate", "trajectories", "basins", "stability_diagram", "stability_legend", "curves", "valley",
    "animate", "phase", "save", "figure", "figure_legend", "legend_below", "panel_labels", "COLUMN", "FULL",
    "STYLES", "use_style", "set_style", "detached",
    "plane_grid", "surrogate_values", "update_field", "background_palette", "CYCLE", "FATE_COLORS", "OKABE_ITO",
    "optimizer_color", "optimizer_label", "pixel_scale",
]
