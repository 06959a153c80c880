"""The two tables of the project: plain text for the terminal (:func:`text_table`) and the HTML table behind every
``_repr_html_`` (runs, landscapes, theory reports) for notebooks (:func:`html_table`).

Every HTML cell is escaped with :func:`html.escape`: a landscape's name, an expression or a note is user text and
must never become markup. A cell wrapped in :class:`Math` is LaTeX for the notebook's MathJax (escaped too:
MathJax reads the text, so ``&lt;`` still typesets as ``<``).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

import numpy as np


class Math(str):
    """A cell holding LaTeX, shown as display maths ``$$...$$`` in a notebook."""


def cell(value) -> str:
    """``value`` as escaped HTML text (LaTeX for :class:`Math`)."""
    if isinstance(value, Math):
        return f"$${html.escape(str(value))}$$"
    return html.escape(str(value))


def text_table(rows: list[dict]) -> str:
    """A plain-text table from a list of dicts with the same keys (the keys are the header)."""
    if not rows:
        return "(nothing to show)"
    keys = list(rows[0])
    cells = [[str(r[k]) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]

    def line(values):
        return "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()

    return "\n".join([line(keys), line(["-" * w for w in widths]), *(line(c) for c in cells)])


def html_table(rows: Iterable[Sequence], *, header: Sequence | None = None, caption: str | None = None) -> str:
    """An HTML ``<table>``: an optional caption and header row, then one row per sequence of cells.

    A two-cell row ``(label, value)`` is the usual field listing; any cell count works, rows need not match.
    """
    parts = ["<table>"]
    if caption is not None:
        parts.append(f"<caption style='text-align:left'><b>{cell(caption)}</b></caption>")
    if header is not None:
        parts.append("<tr>" + "".join(f"<th style='text-align:left'>{cell(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        parts.append("<tr>" + "".join(f"<td style='text-align:left'>{cell(v)}</td>" for v in row) + "</tr>")
    parts.append("</table>")
    return "".join(parts)


def numbers(values, digits: int = 4, limit: int = 8) -> str:
    """A short rendering of an array of (possibly complex) numbers: at most ``limit`` of them, ``digits``
    significant digits each."""
    flat = np.asarray(values).ravel()
    shown = [_number(v, digits) for v in flat[:limit]]
    more = f", ... ({flat.size} values)" if flat.size > limit else ""
    return "[" + ", ".join(shown) + more + "]"


def _number(value, digits: int) -> str:
    if isinstance(value, complex) or getattr(value, "imag", 0) != 0:
        return f"{complex(value):.{digits}g}".strip("()")
    return f"{float(getattr(value, 'real', value)):.{digits}g}"
