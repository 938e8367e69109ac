"""Saving is atomic: a crash (SIGKILL) or an error mid-write leaves the previous file loadable.

What a crash can leave: at most one temporary file ``.<name>.<pid>.<random>.lamina-tmp`` next to the target
(a killed process cannot clean up); an exception removes it.
"""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.saving.atomic import TEMP_SUFFIX, atomic_path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHILD = textwrap.dedent("""
    import sys, time, zipfile
    import numpy as np
    import lamina
    from lamina import layers as L
    target = sys.argv[1]
    model = lamina.Sequential([L.Input((256,)), L.Dense(256)])
    model.set_weights([np.ones_like(w) for w in model.get_weights()])
    model.save(target)
    model.set_weights([2 * np.ones_like(w) for w in model.get_weights()])
    real = zipfile.ZipFile.writestr
    def slow(self, info, data, *a, **k):
        real(self, info, data[: len(data) // 2] if len(data) > 1000 else data, *a, **k)
        print("writing", flush=True)
        time.sleep(60)
    zipfile.ZipFile.writestr = slow
    model.save(target)
""")


def test_sigkill_mid_write_keeps_previous_file(tmp_path):
    target = tmp_path / "model.keras"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(target)], stdout=subprocess.PIPE,
                             cwd=ROOT, env={**os.environ, "JAX_PLATFORMS": "cpu"}, text=True)
    try:
        line = child.stdout.readline()
        assert line.strip() == "writing", line
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    model = lamina.models.load_model(str(target))
    assert all(np.all(w == 1) for w in model.get_weights())
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "model.keras"]
    # A killed writer cannot clean up: at most its one temp file remains, hidden and clearly named.
    assert len(leftovers) == 1 and leftovers[0].startswith(".model.keras.") and leftovers[0].endswith(TEMP_SUFFIX)


def test_error_mid_write_removes_temp_and_keeps_old(tmp_path, monkeypatch):
    target = tmp_path / "m.weights.h5"
    model = lamina.Sequential([L.Input((3,)), L.Dense(2)])
    model.save_weights(str(target))
    old = target.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("lamina.saving.h5_weights.write_tree", boom)
    with pytest.raises(OSError, match="disk full"):
        model.save_weights(str(target))
    assert target.read_bytes() == old
    assert os.listdir(tmp_path) == ["m.weights.h5"]


def test_atomic_path_rules(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        with atomic_path(tmp_path / "no" / "x.keras"):
            pass
    (tmp_path / "x").write_text("old")
    with pytest.raises(FileExistsError):
        with atomic_path(tmp_path / "x", overwrite=False):
            pass
    with atomic_path(tmp_path / "x") as tmp:
        assert os.path.dirname(tmp) == str(tmp_path)
        with open(tmp, "w") as f:
            f.write("new")
        assert (tmp_path / "x").read_text() == "old"
    assert (tmp_path / "x").read_text() == "new"
