"""``python -m lamina summary|explain FILE``."""

import subprocess
import sys

import lamina
from lamina import layers as L
from lamina.__main__ import main


def _model():
    lamina.backend.clear_session()
    return lamina.Sequential([L.Input((4,)), L.Dense(3, name="hidden"), L.Dense(2)])


def test_summary_of_keras_file_matches_model_summary(tmp_path, capsys):
    model = _model()
    path = str(tmp_path / "m.keras")
    model.save(path)
    lines = []
    model.summary(print_fn=lines.append)
    assert main(["summary", path]) == 0
    out = capsys.readouterr().out
    assert out.strip() == "\n".join(lines).strip()
    assert "Total params: 23" in out


def test_summary_of_weights_file(tmp_path, capsys):
    model = _model()
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    assert main(["summary", path]) == 0
    out = capsys.readouterr().out
    assert "layers/dense" in out and "hidden" in out and "(4, 3), (3,)" in out and "Total params: 23" in out


def test_explain_and_errors(tmp_path, capsys):
    path = str(tmp_path / "m.keras")
    _model().save(path)
    assert main(["explain", path]) == 0
    assert "hidden" in capsys.readouterr().out
    bad = tmp_path / "bad.keras"
    bad.write_text("nope")
    assert main(["summary", str(bad)]) == 1
    assert "not a .keras file" in capsys.readouterr().err
    assert main([]) == 2


def test_module_entry_point(tmp_path):
    path = str(tmp_path / "m.keras")
    _model().save(path)
    result = subprocess.run([sys.executable, "-m", "lamina", "summary", path], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Total params: 23" in result.stdout
