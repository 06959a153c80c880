"""``explore.app()`` renders inline in a notebook: nbclient runs it headlessly in a fresh kernel."""

from __future__ import annotations

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("panel", reason="the explorer needs Panel: pip install 'samscape[explore]'")


def test_app_renders_inline_in_a_headless_notebook(tmp_path, notebook_kernel):
    """A cell `from samscape import explore; explore.app(...)` runs without error and its result is shown as a
    Panel/Bokeh view (a mimebundle with Panel's HoloViz mime type or HTML), not as a bare repr string."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(
        "from samscape import explore\n"
        "explore.app('double_well', opt='sam', eta='0.1', rho='0.9', starts='0.3', steps='500')")]
    client = nbclient.NotebookClient(notebook, km=notebook_kernel, timeout=180,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = notebook.cells[0].outputs
    assert not [o for o in outputs if o.output_type == "error"]
    results = [o for o in outputs if o.output_type == "execute_result"]
    assert len(results) == 1
    kinds = set(results[0].data)
    assert kinds & {"application/vnd.holoviews_exec.v0+json", "text/html"}, kinds
