"""Tests that samscape.plots only draws: it exports no computation and reaches the theory only by its public API."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from samscape import plots, theory

PLOTS_DIR = Path(plots.__file__).parent


@pytest.mark.parametrize("name", ["classify_fates", "stability_fates", "find_hallucinated", "StabilityGrid", "FATES",
                                  "STABILITY_FATES", "HallucinationSearch", "hallucinated_table", "advance"])
def test_plots_export_no_computation_of_the_theory(name):
    """The fates, stability grids and hallucinated points are theory's alone: samscape.plots has none of its names
    (users import them from samscape.theory, where each one exists)."""
    assert hasattr(theory, name) or name == "hallucinated_table"
    assert not hasattr(plots, name)
    assert name not in plots.__all__


def test_everything_plots_exports_is_defined_in_plots():
    """Each name in plots.__all__ is a drawing helper or style constant of samscape.plots, not a re-export."""
    for name in plots.__all__:
        value = getattr(plots, name)
        if callable(value):
            assert inspect.getmodule(value).__name__.startswith("samscape.plots."), name


def _imports(path: Path):
    """``(module, names)`` of every import statement in the file, relative modules resolved inside samscape."""
    package = ["samscape", "plots"]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            yield module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []


@pytest.mark.parametrize("path", sorted(PLOTS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_no_plots_module_imports_the_theorys_private_helpers(path):
    """No module of samscape.plots imports samscape.theory._common (theory's private checks and helpers); the
    argument checks come from samscape._checks, the computations from theory's public modules."""
    for module, names in _imports(path):
        assert "_common" not in module.split("."), (path.name, module)
        if module == "samscape.theory":
            assert "_common" not in names, path.name
