"""The layout of the whole package, read from the source text (every import, at module level or inside a function):
no import circle, nothing importing upward, ``sweep``/``explore`` through the package faces only, and no private
name borrowed from another subpackage.

The floors, from the ground up: the shared internals (``samscape/_checks.py``, ``_atomic.py``, ``_tables.py``,
``_browser.py``, ``_starts.py``: private *modules* that every layer may use, importing nothing of samscape),
``landscapes``, ``_landscape_flags.py`` (the two CLIs' landscape flags, built on landscapes), ``dynamics``, the
package's face ``samscape/__init__.py`` (landscapes and dynamics) and ``_optimizer_flags.py`` (the two CLIs'
optimizer flags, built on dynamics) side by side, ``theory``, ``plots``, then ``sweep``,
``explore`` and ``gallery.py`` side by side (none imports another), then ``cli.py``.

The private-name rule: a name that starts with ``_`` (a function, a constant, or a module such as
``landscapes/_parse.py`` or ``theory/_common.py``) belongs to its subpackage; a module of another subpackage may not
import it. The top-level private modules (``samscape/_*.py``, ``_landscape_flags.py`` included) are the exception by
design: their public names are the project's shared internals, private only to the package as a whole. A subpackage is the first folder under ``samscape/`` (``theory/claims`` is part of ``theory``).
"""

from __future__ import annotations

import ast
import os

import pytest

import samscape

PACKAGE_DIR = os.path.dirname(samscape.__file__)
SHARED_INTERNALS = {"_checks", "_atomic", "_tables", "_browser", "_starts", "_landscape_flags", "_optimizer_flags"}
FLOORS = {
    "_checks": 0, "_atomic": 0, "_tables": 0, "_browser": 0, "_starts": 0,
    "landscapes": 1, "_landscape_flags": 2, "dynamics": 3, "": 4, "_optimizer_flags": 4, "theory": 5, "plots": 6,
    "sweep": 7, "explore": 7, "gallery": 7, "cli": 8,
}
FACE_ONLY = {"sweep", "explore"}  # import other subpackages through their __init__ only


def _modules() -> dict[str, str]:
    """``{dotted name: path}`` of every module of samscape (a package by its ``__init__``)."""
    found = {}
    for folder, _, files in os.walk(PACKAGE_DIR):
        for file in files:
            if file.endswith(".py"):
                parts = os.path.relpath(os.path.join(folder, file), os.path.dirname(PACKAGE_DIR))[:-3].split(os.sep)
                found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = os.path.join(folder, file)
    return found


MODULES = _modules()


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """``(imported module, imported name or None, line)`` for every samscape import of ``module``; a name that is
    a module (``from . import integrate``) counts as that module."""
    path = MODULES[module]
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    here = module.split(".") if path.endswith("__init__.py") else module.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = ".".join(here[: len(here) - node.level + 1] + [node.module or ""]).strip(".") if node.level else node.module
            if not (base or "").startswith("samscape"):
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.append((submodule, None, node.lineno) if submodule in MODULES else (base, alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names if alias.name.startswith("samscape")]
    return found


IMPORTS = {module: _imports(module) for module in MODULES}


def _room(module: str) -> str:
    """The subpackage or top-level module that ``module`` belongs to (``""`` for the package's face)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_module_has_a_floor():
    assert {_room(module) for module in MODULES} <= set(FLOORS)


def test_the_import_graph_of_the_package_has_no_circle():
    """No module reaches itself through imports, counting imports inside functions (the cli <-> sweep/cli circle
    was a lazy import). A package's ``__init__`` imported from inside that package is its own modules' face, not
    an edge back (``from . import x`` resolves to the module x)."""
    graph = {module: {target for target, _, _ in IMPORTS[module] if target in MODULES and target != module}
             for module in MODULES}
    state: dict[str, str] = {}

    def visit(module, path):
        if state.get(module) == "open":
            cycle = path[path.index(module):] + [module]
            raise AssertionError(f"import circle: {' -> '.join(cycle)}")
        if state.get(module) == "done":
            return
        state[module] = "open"
        for other in sorted(graph[module]):
            visit(other, path + [module])
        state[module] = "done"

    for module in sorted(MODULES):
        visit(module, [])


def test_nothing_imports_upward_or_sideways():
    """Each module imports only its own subpackage and lower floors (``sweep`` and ``explore`` not each other)."""
    wrong = []
    for module, imports in IMPORTS.items():
        room = _room(module)
        for target, name, line in imports:
            other = _room(target)
            if other != room and FLOORS[other] >= FLOORS[room]:
                wrong.append(f"{module}:{line} imports {target}{'.' + name if name else ''}")
    assert not wrong, "\n".join(wrong)


def test_sweep_and_explore_import_other_subpackages_through_their_faces():
    """``sweep`` and ``explore`` sit on top: they use what a subpackage's ``__init__`` hands out, so the rooms
    below can move their furniture without breaking them (the shared internals are modules, not subpackages)."""
    wrong = []
    for module, imports in IMPORTS.items():
        if _room(module) not in FACE_ONLY:
            continue
        for target, name, line in imports:
            other = _room(target)
            if other != _room(module) and other not in SHARED_INTERNALS and target.count(".") > 1:
                wrong.append(f"{module}:{line} imports {target}{'.' + name if name else ''}")
    assert not wrong, "\n".join(wrong)


def _private_borrowings(imports_of: dict) -> list[str]:
    wrong = []
    for module, imports in imports_of.items():
        for target, name, line in imports:
            if _room(target) == _room(module) or _room(target) in SHARED_INTERNALS:
                continue
            private = [part for part in target.split(".")[1:] + [name or ""] if part.startswith("_")]
            if private and not (name or "").startswith("__"):  # __version__ is public
                wrong.append(f"{module}:{line} imports {target}{'.' + name if name else ''}")
    return wrong


def test_no_module_borrows_a_private_name_of_another_subpackage():
    borrowed = _private_borrowings(IMPORTS)
    assert not borrowed, "\n".join(borrowed)


def test_the_private_name_rule_catches_a_borrowing():
    """The rule can fail: a sweep module importing a private helper of dynamics, or a private module of
    landscapes, is reported; a private name of its own subpackage and a shared internal are not."""
    fake = {
        "samscape.sweep.engine": [("samscape.dynamics.budget", "_size", 1), ("samscape.landscapes._parse", "x", 2),
                                  ("samscape.sweep.recipe", "_own", 3), ("samscape._checks", "choice", 4)],
    }
    assert _private_borrowings(fake) == ["samscape.sweep.engine:1 imports samscape.dynamics.budget._size",
                                     "samscape.sweep.engine:2 imports samscape.landscapes._parse.x"]


@pytest.mark.parametrize("source, expected", [
    ("from ..dynamics import integrate", ("samscape.dynamics.integrate", None)),
    ("from ..dynamics.budget import _size", ("samscape.dynamics.budget", "_size")),
    ("from .. import _checks", ("samscape._checks", None)),
    ("from . import recipe", ("samscape.sweep.recipe", None)),
])
def test_imports_are_resolved_as_python_resolves_them(source, expected, tmp_path, monkeypatch):
    """The scan reads relative imports the way Python does (from a module of samscape/sweep)."""
    path = tmp_path / "probe.py"
    path.write_text(source + "\n")
    monkeypatch.setitem(MODULES, "samscape.sweep.probe", str(path))
    assert _imports("samscape.sweep.probe") == [(*expected, 1)]
