"""Every name of ``keras.ops`` (and ``keras.ops.image``) exists in ``lamina.ops`` and is in an oracle table.

The tables are the ``CASES`` of the ``tests/ops/test_*_ops.py`` modules (see ``ops_oracle.py``); a name left out is
in some module's ``SKIPPED`` with the reason. The test prints the names still missing.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import types

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras

import lamina

MIN_COVERED = 320  # the issue's bar, of Keras 3.15's 353 names (337 top-level + 16 under ops.image)


def keras_op_names() -> list[str]:
    """``keras.ops``'s public functions, plus ``image.<name>`` for those only under ``ops.image``."""
    ops = keras.ops
    top = [n for n in dir(ops) if not n.startswith("_") and not isinstance(getattr(ops, n), types.ModuleType)]
    image = [f"image.{n}" for n in dir(ops.image) if not n.startswith("_") and n not in top]
    return sorted(top) + sorted(image)


def tables() -> tuple[dict[str, list], dict[str, str]]:
    cases: dict[str, list] = {}
    skipped: dict[str, str] = {}
    here = os.path.dirname(__file__)
    for info in pkgutil.iter_modules([here]):
        if info.name.startswith("test_") and info.name.endswith("_ops"):
            module = importlib.import_module(f"{__package__}.{info.name}")
            for name, items in getattr(module, "CASES", {}).items():
                cases.setdefault(name.removeprefix("numpy.").removeprefix("nn.").removeprefix("linalg."),
                                 []).extend(items)
            skipped.update(getattr(module, "SKIPPED", {}))
    return cases, skipped


def test_every_keras_op_is_in_lamina_and_tested() -> None:
    cases, skipped = tables()
    names = keras_op_names()
    missing_path = [n for n in names if n not in skipped and not _exists(n)]
    untested = [n for n in names if n not in cases and n not in skipped]
    covered = [n for n in names if n in cases and _exists(n)]
    print(f"\nkeras.ops coverage: {len(covered)} of {len(names)} names tested against Keras; "
          f"{len(skipped)} skipped: {sorted(skipped)}; missing: {sorted(set(missing_path) | set(untested))}")
    assert not missing_path, f"missing in lamina.ops: {missing_path}"
    assert not untested, f"in lamina.ops but in no oracle table: {untested}"
    assert all(reason.strip() for reason in skipped.values())
    assert len(covered) >= MIN_COVERED, f"only {len(covered)} names covered (want {MIN_COVERED})"


def _exists(name: str) -> bool:
    obj: object = lamina.ops
    for part in name.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return callable(obj)
