"""The notebooks in examples/notebooks run top to bottom in a fresh kernel and show their figures.

Each notebook is executed headlessly with nbclient in a kernel started from this interpreter, with this
checkout first on the path, and with no MPLBACKEND override: the kernel uses Jupyter's inline backend, as a
user's notebook does, so a figure appears as an image/png output exactly when the plot functions hand it to
pyplot. The committed files carry no outputs (they are stripped before commit).
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "examples" / "notebooks").glob("*.ipynb"))


def test_there_are_the_researchers_and_the_teachers_notebooks():
    """The two starting points the README links exist."""
    assert {p.name for p in NOTEBOOKS} >= {"researcher_own_landscape.ipynb", "teacher_three_papers.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebooks_carry_no_outputs(path):
    """Every code cell of the file in the repository has no outputs and no execution count."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def _run(path, kernel, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel must pick the inline backend, as Jupyter does
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, km=kernel, timeout=120,
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return notebook


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_every_plotting_cell_shows_a_figure(path, notebook_kernel, monkeypatch):
    """The notebook runs without an error, and every cell that calls a samscape.plots function shows an
    image/png output: a figure built with ax=None is displayed like any matplotlib figure (the cell's last line
    being an Axes is not enough)."""
    notebook = _run(path, notebook_kernel, monkeypatch)
    plotting = [cell for cell in notebook.cells if cell.cell_type == "code" and "plots." in cell.source
                and "set_style" not in cell.source]
    assert plotting
    for cell in plotting:
        kinds = {key for output in cell.outputs for key in output.get("data", {})}
        assert "image/png" in kinds, cell.source[:80]
