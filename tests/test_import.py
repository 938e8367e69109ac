"""``import lamina`` pulls in no other deep-learning framework and stays light."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parent.parent
FORBIDDEN = ("keras", "tensorflow", "torch")


def imported_after(statement: str) -> dict[str, bool]:
    code = (f"{statement}\nimport json, sys\n"
            "print(json.dumps({m: m in sys.modules for m in ('keras', 'tensorflow', 'torch', 'jax', 'optax', "
            "'h5py', 'matplotlib')}))")
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["PYTHONPATH"] = str(ROOT)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("statement", ["import lamina", "from lamina import layers, models",
                                       "import lamina; lamina.Sequential; lamina.Model; lamina.Input"])
def test_no_other_framework_is_imported(statement):
    loaded = imported_after(statement)
    assert not [m for m in FORBIDDEN if loaded[m]], loaded
    assert not loaded["matplotlib"] and not loaded["h5py"]


def test_bare_import_is_lazy():
    loaded = imported_after("import lamina")
    assert not loaded["jax"] and not loaded["optax"]
