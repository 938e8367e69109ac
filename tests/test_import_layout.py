"""The modules of ``lamina`` import each other one way: no circle among their module-level imports.

The graph is read from the source with ``ast`` (nothing is imported): an edge for each ``import a.b`` and
``from a import b`` at module level, where ``from a import b`` ties the module to ``a`` and, when ``b`` is a
submodule, to ``a.b``; relative imports are resolved. Imports inside functions and under ``TYPE_CHECKING``
are left out (they do not run at import time).
"""

from __future__ import annotations

import ast
import pathlib

import pytest

import lamina

PACKAGE_DIR = pathlib.Path(lamina.__file__).parent


def module_files(root: pathlib.Path, package: str) -> dict[str, pathlib.Path]:
    """``{dotted module name: file}`` for every module under ``root`` (the directory of ``package``)."""
    mods = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _top_level(nodes: list[ast.stmt]) -> list[ast.stmt]:
    """Module-level statements, looking into ``try``/``if`` blocks (they run at import) but not
    ``if TYPE_CHECKING:``."""
    out: list[ast.stmt] = []
    for node in nodes:
        if isinstance(node, ast.If):
            if "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            out += _top_level(node.body) + _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            out += _top_level(node.body) + _top_level(node.orelse) + _top_level(node.finalbody)
            for handler in node.handlers:
                out += _top_level(handler.body)
        else:
            out.append(node)
    return out


def import_graph(root: pathlib.Path, package: str) -> dict[str, set[str]]:
    """Edges ``module -> modules of the package it imports at module level``."""
    mods = module_files(root, package)

    def resolve(name: str) -> str | None:  # the longest module that ``name`` names or lies in
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        is_package = path.name == "__init__.py"
        for node in _top_level(ast.parse(path.read_text(), str(path)).body):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    here = mod.split(".") if is_package else mod.split(".")[:-1]
                    here = here[:len(here) - (node.level - 1)]
                    base = ".".join(here + ([base] if base else []))
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                found = resolve(target)
                if found is not None and found != mod:
                    edges[mod].add(found)
    return edges


def find_circle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle ``[a, b, ..., a]`` in ``edges``, or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_the_graph_sees_the_package():
    edges = import_graph(PACKAGE_DIR, "lamina")
    assert len(edges) > 100
    assert "lamina.training.loop" in edges["lamina.training.trainer"]  # `from lamina.training import loop`
    assert "lamina.training.step" in edges["lamina.training.trainer"]  # `from lamina.training.step import ...`
    assert "lamina.models.model" in edges["lamina.models"]  # `from lamina.models.model import Model`


@pytest.mark.parametrize("source, circle", [
    ({"a.py": "from pkg import b\n", "b.py": "import pkg.a\n"}, ["pkg.a", "pkg.b", "pkg.a"]),
    ({"__init__.py": "from .a import x\n", "a.py": "from pkg import b\n", "b.py": "x = 1\n"},
     ["pkg", "pkg.a", "pkg", ]),
    ({"a.py": "try:\n    from . import b\nexcept ImportError:\n    pass\n", "b.py": "from .a import f\n"},
     ["pkg.a", "pkg.b", "pkg.a"]),
    ({"a.py": "def f():\n    from pkg import b\n", "b.py": "import pkg.a\n"}, None),
    ({"a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import b\n",
      "b.py": "import pkg.a\n"}, None),
])
def test_a_circle_is_found(tmp_path, source, circle):
    for name, text in source.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "__init__.py").touch()
    assert find_circle(import_graph(tmp_path, "pkg")) == circle


def test_no_import_circle_at_module_level():
    circle = find_circle(import_graph(PACKAGE_DIR, "lamina"))
    assert circle is None, "module-level import circle: " + " -> ".join(circle)
