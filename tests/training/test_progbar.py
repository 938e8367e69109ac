"""lamina.training.progbar: Keras's text, redraw rules, throttling and lazy value conversion."""

from __future__ import annotations

import os
import re
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lamina.training import progbar as pb  # noqa: E402
from lamina.training.progbar import Progbar, format_value, resolve_verbose  # noqa: E402


class CountingValue:
    """A number that counts how often it is read back (like a device array copied to the host)."""

    reads = 0

    def __init__(self, value: float) -> None:
        self.value = value

    def __float__(self) -> float:
        CountingValue.reads += 1
        return self.value


def test_verbose_two_prints_one_line_at_the_end(capsys):
    bar = Progbar(10, verbose=2, stateful_metrics=True)
    for step in range(1, 10):
        bar.update(step, {"accuracy": 0.5, "loss": 0.6931})
    assert capsys.readouterr().out == ""
    bar.update(10, {"accuracy": 0.5, "loss": 0.6931})
    out = capsys.readouterr().out
    assert re.fullmatch(r"10/10 - \d+s - \d+(us|ms|s)/step - accuracy: 0\.5000 - loss: 0\.6931\n", out), out


def test_verbose_one_redraws_in_place_and_ends_the_line(capsys):
    bar = Progbar(3, verbose=1, interval=0.0, dynamic=True, stateful_metrics=True)
    bar.update(1, {"loss": 1.0})
    bar.update(2, {"loss": 0.5})
    bar.update(3, {"loss": 0.25})
    out = capsys.readouterr().out
    frames = out.split("\r")[1:]
    assert len(frames) == 3 and out.endswith("\n") and out.count("\n") == 1
    assert re.fullmatch(r"1/3 ━{20} \d+s \d+(us|ms|s)/step - loss: 1\.0000", frames[0].rstrip()), frames[0]
    assert re.fullmatch(r"3/3 ━{20} \d+s \d+(us|ms|s)/step - loss: 0\.2500 *\n", frames[2]), frames[2]
    assert "\x1b[" not in out  # no colors when stdout is not a terminal


def test_shorter_line_is_padded_over_the_previous_one(capsys):
    bar = Progbar(2, verbose=1, interval=0.0, dynamic=True, stateful_metrics=True)
    bar.update(1, {"loss": 1.0, "a_very_long_metric_name": 1.0})
    bar2_values = {"loss": 1.0}
    bar._order.remove("a_very_long_metric_name")  # a frame with less text than the one before
    bar.update(2, bar2_values)
    first, second = capsys.readouterr().out.split("\r")[1:]
    assert len(second.rstrip("\n")) >= len(first)


def test_throttling_and_should_update(capsys):
    bar = Progbar(100, verbose=1, interval=3600.0, dynamic=True, stateful_metrics=True)
    assert bar.should_update()
    bar.update(1, {"loss": 1.0})
    assert not bar.should_update()
    for step in range(2, 100):
        bar.update(step, {"loss": 1.0 / step})
    assert capsys.readouterr().out.count("\r") == 1
    bar.update(100, {"loss": 0.01})  # the final update always draws
    out = capsys.readouterr().out
    assert out.startswith("\r100/100") and "loss: 0.0100" in out and out.endswith("\n")
    assert Progbar(5, verbose=2).should_update() is False
    assert Progbar(5, verbose=0).should_update() is False


def test_values_are_read_back_only_when_drawing(capsys):
    CountingValue.reads = 0
    bar = Progbar(50, verbose=1, interval=3600.0, dynamic=True, stateful_metrics=True)
    for step in range(1, 51):
        bar.update(step, {"loss": CountingValue(0.5)})
    assert CountingValue.reads == 2  # first frame and final frame
    calls = []

    def values():
        calls.append(1)
        return {"loss": 0.5}

    bar = Progbar(50, verbose=1, interval=3600.0, dynamic=True)
    for step in range(1, 51):
        bar.update(step, values)
    assert len(calls) == 2
    assert "loss: 0.5000" in capsys.readouterr().out


def test_stateless_values_are_averaged_like_keras(capsys):
    bar = Progbar(3, verbose=2)
    bar.update(1, [("loss", 1.0)])
    bar.update(3, [("loss", 3.0)], finalize=False)  # covers 2 steps: (1*1 + 3*2) / 3
    bar.update(3, None, finalize=True)
    assert "loss: 2.3333" in capsys.readouterr().out


def test_jax_and_numpy_values(capsys):
    import jax.numpy as jnp

    bar = Progbar(2, verbose=2)
    bar.update(1, {"loss": jnp.float32(2.0), "acc": np.float32(0.5)})
    bar.update(2, {"loss": jnp.float32(4.0), "acc": np.float32(1.0)}, finalize=False)
    bar.update(2, finalize=True)
    assert "loss: 3.0000 - acc: 0.7500" in capsys.readouterr().out


def test_unknown_target_and_add(capsys):
    bar = Progbar(None, verbose=1, interval=0.0, dynamic=False)
    bar.add(3, {"loss": 0.5})
    assert capsys.readouterr().out.startswith("      3/Unknown ")
    assert bar.seen == 3


def test_logs_without_terminal_write_few_full_lines(capsys):
    bar = Progbar(1000, verbose=1, stateful_metrics=True)  # capsys: not a terminal
    assert bar.interval >= 10.0
    for step in range(1, 1001):
        bar.update(step, {"loss": 0.1})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "\r" not in "".join(lines) and lines[-1].startswith("1000/1000")


def test_notebook_uses_carriage_return_with_a_slower_interval(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ipykernel", object())
    bar = Progbar(2, verbose=1)
    assert bar.interval >= 0.2
    bar.update(2, {"loss": 0.5})
    assert capsys.readouterr().out.startswith("\r")


def test_terminal_width_cuts_long_lines(monkeypatch, capsys):
    monkeypatch.setattr(pb, "_isatty", lambda stream: True)
    monkeypatch.setattr(pb.shutil, "get_terminal_size", lambda fallback=None: pb.os.terminal_size((60, 20)))
    monkeypatch.setenv("NO_COLOR", "1")
    bar = Progbar(10, verbose=1, stateful_metrics=True)
    bar.update(10, {f"metric_{i}": 0.5 for i in range(10)})
    out = capsys.readouterr().out
    assert len(out.strip("\r\n")) <= 59


def test_format_value_and_resolve_verbose(monkeypatch):
    assert format_value(0.5) == "0.5000" and format_value(-2.0) == "-2.0000"
    assert format_value(1e-5) == "1.0000e-05"
    assert resolve_verbose(0) == 0 and resolve_verbose(1) == 1 and resolve_verbose(2) == 2
    assert resolve_verbose("auto") == 2  # pytest captures stdout: not a terminal
    monkeypatch.setitem(sys.modules, "ipykernel", object())
    assert resolve_verbose("auto") == 1
    with pytest.raises(ValueError):
        resolve_verbose("loud")
    with pytest.raises(ValueError):
        resolve_verbose(-1)


def test_verbose_two_line_matches_keras(capsys):
    from keras.src.utils.progbar import Progbar as KerasProgbar

    def normalize(text: str) -> str:
        return re.sub(r"\d+(us|ms|s)/step", "T/step", re.sub(r" \d+s ", " Ns ", text))

    values = [{"accuracy": 0.25 * i, "loss": 1.0 / i, "tiny": 1e-5} for i in range(1, 5)]
    keras_bar = KerasProgbar(4, verbose=2, stateless_metrics=set())
    for i, v in enumerate(values, 1):
        keras_bar.update(i, list(v.items()))
    expected = capsys.readouterr().out
    bar = Progbar(4, verbose=2, stateful_metrics=True)
    for i, v in enumerate(values, 1):
        bar.update(i, v)
    assert normalize(capsys.readouterr().out) == normalize(expected)


def test_verbose_one_final_frame_matches_keras(capsys):
    from keras.src.utils.progbar import Progbar as KerasProgbar

    def last_frame(text: str) -> str:
        frame = re.sub(r"\x1b\[[0-9;]*m", "", text.split("\r")[-1]).rstrip()
        return re.sub(r"\d+(us|ms|s)/step", "T/step", re.sub(r" \d+s ", " Ns ", frame))

    values = [{"accuracy": 0.1 * i, "loss": 2.0 / i} for i in range(1, 13)]
    keras_bar = KerasProgbar(12, verbose=1, stateless_metrics=set())
    for i, v in enumerate(values, 1):
        keras_bar.update(i, list(v.items()))
    expected = last_frame(capsys.readouterr().out)
    bar = Progbar(12, verbose=1, dynamic=True, stateful_metrics=True)
    for i, v in enumerate(values, 1):
        bar.update(i, v)
    assert last_frame(capsys.readouterr().out) == expected
    assert expected.startswith("12/12 ━━━━━━━━━━━━━━━━━━━━ Ns T/step - accuracy: 1.2000 - loss: 0.1667")
