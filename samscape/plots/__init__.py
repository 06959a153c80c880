"""matplotlib drawings: functions that take ``ax=None`` and return the Axes (matplotlib is imported only here).

Every function draws in samscape's style (:mod:`samscape.plots.style`: Okabe–Ito colours, cividis maps,
paper-column sizes) without changing the user's global settings, and never calls ``show()``. Save a figure
with ``ax.figure.savefig(...)`` or :func:`save` (atomic).
"""

from .animate import animate
from .diagrams import StabilityGrid, stability_diagram, stability_fates
from .landscape import contour, hallucinated_table, surrogate, vector_field
from .runs import FATES, classify_fates, curves, trajectories, valley, basins
from .style import COLUMN, FULL, figure, figure_legend, panel_labels, save

__all__ = [
    "contour", "vector_field", "surrogate", "trajectories", "basins", "stability_diagram", "curves", "valley",
    "animate", "classify_fates", "hallucinated_table", "stability_fates", "StabilityGrid", "FATES", "save", "figure", "figure_legend", "panel_labels", "COLUMN", "FULL",
]
