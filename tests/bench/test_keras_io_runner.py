"""The keras-io example runner: alias, fakes, caps, skips and the table, on tiny scripts written here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.keras_io import NoFake, _cap, dataset_fakes, fake_download, markdown, missing_modules, run_all

TINY_MLP = '''
import keras
from keras import layers

(x, y), (x_test, y_test) = keras.datasets.mnist.load_data()
assert x.shape == (64, 28, 28) and x.dtype == "uint8", x.shape
x = x.reshape(-1, 784).astype("float32") / 255
model = keras.Sequential([keras.Input((784,)), layers.Dense(8, activation="relu"),
                          layers.Dense(10, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
big = keras.ops.convert_to_numpy(keras.ops.ones((1000, 784)))
history = model.fit(big, keras.ops.convert_to_numpy(keras.ops.zeros((1000,))), epochs=7, batch_size=500, verbose=0)
assert len(history.history["loss"]) == 1
print("BACKEND", keras.__name__, type(model).__module__)
'''


def test_missing_modules_and_cap() -> None:
    assert missing_modules("import numpy\nfrom tqdm import tqdm\nimport keras.layers\nimport no_such_mod_q\n") == [
        "no_such_mod_q"]
    x = np.zeros((10, 3))
    capped = _cap({"a": x, "b": [x, x]}, 4)
    assert capped["a"].shape == (4, 3) and [v.shape for v in capped["b"]] == [(4, 3), (4, 3)]
    assert _cap("text", 1) == "text"


def test_fakes_have_the_real_shapes(tmp_path: Path) -> None:
    fakes = dataset_fakes(8, 4)
    (x, y), (xt, yt) = fakes["cifar10"]()
    assert x.shape == (8, 32, 32, 3) and y.shape == (8, 1) and xt.shape == (4, 32, 32, 3)
    (x, y), _ = fakes["imdb"](num_words=100)
    assert x.dtype == object and max(max(s) for s in x) < 100 and set(y) == {0, 1}
    path = fake_download("https://host/FordA/FordA_TRAIN.tsv", tmp_path, 6)
    assert np.loadtxt(path, delimiter="\t").shape == (6, 501)
    with pytest.raises(NoFake, match="without an offline fake"):
        fake_download("https://host/unknown.zip", tmp_path, 6)


def test_markdown_summarises() -> None:
    rows = [{"example": "a", "lamina": {"status": "ok", "models": [["m", 10]], "seconds": 1.0},
             "keras": {"status": "fail", "error": "ValueError: x", "models": [["m", 10]], "seconds": 2.0}}]
    text = markdown(rows, ["lamina", "keras"], 64)
    assert "| a | ok | fail: ValueError: x | 10 | 10 | yes | 1 | 2 |" in text
    assert "lamina: 1 ok" in text and "param counts equal: 1 of 1" in text


@pytest.mark.slow
def test_runner_on_tiny_scripts(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "tiny_mlp.py").write_text(TINY_MLP)
    (source / "needs_missing.py").write_text("import keras\nimport no_such_module_for_kio\n")
    (source / "fails.py").write_text("import keras\nraise ValueError('boom happened')\n")
    (source / "downloads.py").write_text("import keras\nkeras.utils.get_file(origin='http://host/data.zip')\n")
    rows = run_all(source, ["lamina", "keras"], 64, 240, only=["tiny_mlp"], logs=tmp_path / "logs", echo=False)
    (row,) = rows
    assert row["lamina"]["status"] == "ok", row
    assert row["keras"]["status"] == "ok", row
    assert row["lamina"]["models"][0][1] == row["keras"]["models"][0][1] == 784 * 8 + 8 + 8 * 10 + 10
    assert "lamina" in row["lamina"]["package"] and "lamina" not in row["keras"]["package"]
    assert "BACKEND lamina lamina." in (tmp_path / "logs" / "tiny_mlp.lamina.log").read_text()
    rows = {r["example"]: r["lamina"] for r in run_all(source, ["lamina"], 64, 240,
                                                      only=["needs", "fails", "downloads"], echo=False)}
    assert rows["needs_missing"] == {"status": "skip", "error": "needs no_such_module_for_kio", "models": [],
                                     "seconds": 0.0}
    assert rows["fails"]["status"] == "fail" and rows["fails"]["error"] == "ValueError: boom happened"
    assert "fails.py:2" in rows["fails"]["where"]
    assert rows["downloads"]["status"] == "skip" and "http://host/data.zip" in rows["downloads"]["error"]
    (source / "hangs.py").write_text(TINY_MLP + "import time\ntime.sleep(1000)\n")
    (row,) = run_all(source, ["lamina"], 64, 60, only=["hangs"], echo=False)
    assert row["lamina"]["status"] == "timeout" and row["lamina"]["error"] == "over 60 s (models built)"
    assert row["lamina"]["models"] == [["sequential", 6370]]
