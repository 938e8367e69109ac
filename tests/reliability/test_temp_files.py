"""Temporary files left by killed saves are removed by the next save into the same folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import lamina
from lamina import backend
from lamina import layers as L
from lamina.saving import atomic


@pytest.fixture(autouse=True)
def _fresh_names():
    backend.clear_session()


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def _temps(folder) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.endswith(atomic.TEMP_SUFFIX))


def test_leftovers_of_dead_processes_are_removed_and_live_ones_kept(tmp_path):
    dead = tmp_path / f".m.keras.{_dead_pid()}.abcd1234{atomic.TEMP_SUFFIX}"
    other_target = tmp_path / f".other.weights.h5.{_dead_pid()}.zz_9{atomic.TEMP_SUFFIX}"
    live = tmp_path / f".m.keras.{os.getppid()}.live0001{atomic.TEMP_SUFFIX}"  # our parent is alive
    old_style_fresh = tmp_path / f".m.keras.q1w2e3r4{atomic.TEMP_SUFFIX}"
    old_style_stale = tmp_path / f".m.keras.t5y6u7i8{atomic.TEMP_SUFFIX}"
    for path in (dead, other_target, live, old_style_fresh, old_style_stale):
        path.write_bytes(b"\0" * 1024)
    hours_ago = time.time() - atomic.STALE_AFTER_S - 60
    os.utime(old_style_stale, (hours_ago, hours_ago))
    lamina.Sequential([L.Input((4,)), L.Dense(2)]).save(str(tmp_path / "m.keras"))
    assert _temps(tmp_path) == sorted([live.name, old_style_fresh.name])
    assert (tmp_path / "m.keras").exists()


@pytest.mark.slow
def test_kill_9_during_repeated_saves_leaves_no_pile_of_temporaries(tmp_path):
    target = tmp_path / "big.keras"
    script = textwrap.dedent(f"""
        import lamina
        from lamina import layers as L
        model = lamina.Sequential([L.Input((512,)), L.Dense(2048), L.Dense(512)])
        print("ready", flush=True)
        while True:
            model.save({str(target)!r})
    """)
    for _ in range(3):
        child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                                 env={**os.environ, "JAX_PLATFORMS": "cpu"})
        assert child.stdout.readline().strip() == "ready"
        deadline = time.time() + 60
        while not _temps(tmp_path) and time.time() < deadline:  # kill it while a save is being written
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert len(_temps(tmp_path)) >= 1  # the kills did leave temporaries behind
    lamina.Sequential([L.Input((4,)), L.Dense(2)]).save(str(target))
    assert _temps(tmp_path) == []
    assert lamina.models.load_model(str(target)).count_params() == 10
