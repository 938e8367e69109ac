"""Every public name of Keras 3's namespaces (``keras.layers`` and ``keras.ops`` excepted) exists in lamina.

The test walks ``keras`` and each public submodule recursively (``dir()``, names not starting with ``_``), looks up
the same dotted path in lamina, prints per-namespace coverage and the missing names, and asserts the overall
coverage. ``keras.layers`` and ``keras.ops`` have their own coverage tests (``tests/layers``, ``tests/ops``).
"""

from __future__ import annotations

import importlib
import os
import types

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras

import lamina

#: the fraction of Keras's names (outside layers and ops) that lamina has at the same path.
MIN_COVERAGE = 0.99  # 678 of 681 (99.6%) after the session-8 merges; the issue asks 0.90
#: namespaces with their own coverage tests; only their presence at the top level is counted here.
EXCLUDED = ("keras.layers", "keras.ops", "keras.src")


def keras_namespaces() -> dict[str, list[str]]:
    """``{"keras.utils": [names...], ...}`` for ``keras`` and every public submodule below it."""
    found: dict[str, list[str]] = {}

    def walk(module: types.ModuleType, path: str) -> None:
        names = sorted(n for n in dir(module) if not n.startswith("_") and f"{path}.{n}" != "keras.src")
        found[path] = names
        for name in names:
            value = getattr(module, name)
            child = f"{path}.{name}"
            if (isinstance(value, types.ModuleType) and value.__name__.startswith("keras.")
                    and ".src" not in value.__name__ and child not in EXCLUDED and child not in found):
                walk(value, child)

    walk(keras, "keras")
    return found


def lamina_has(path: str) -> bool:
    """Whether ``lamina.<path>`` resolves (attribute access first, then a submodule import)."""
    obj: object = lamina
    parts = path.split(".")[1:]
    for i, part in enumerate(parts):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            try:
                obj = importlib.import_module("lamina." + ".".join(parts[: i + 1]))
            except ImportError:
                return False
    return True


def coverage() -> tuple[dict[str, tuple[int, int, list[str]]], int, int]:
    table: dict[str, tuple[int, int, list[str]]] = {}
    for path, names in keras_namespaces().items():
        missing = [n for n in names if not lamina_has(f"{path}.{n}")]
        table[path] = (len(names) - len(missing), len(names), missing)
    have = sum(t[0] for t in table.values())
    total = sum(t[1] for t in table.values())
    return table, have, total


def test_keras_namespaces_coverage() -> None:
    table, have, total = coverage()
    lines = [f"\nKeras {keras.__version__} public names (layers and ops excepted) found in lamina: "
             f"{have} of {total} ({have / total:.1%})"]
    for path, (found, count, missing) in table.items():
        lines.append(f"  {path:<40} {found:>3}/{count:<3}" + (f"  missing: {', '.join(missing)}" if missing else ""))
    print("\n".join(lines))
    assert total > 600  # the walk reached the submodules
    assert have / total >= MIN_COVERAGE, f"coverage {have / total:.1%} < {MIN_COVERAGE:.0%}"
