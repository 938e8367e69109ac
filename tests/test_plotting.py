"""Pictures: plot_model, plot_history and explain().plot() write real, correctly sized files."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import sys
import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("matplotlib")
import matplotlib.image as mpimg

from lamina import backend, layers
from lamina.models import Model, Sequential
from lamina.utils import plot_history, plot_model


@pytest.fixture(autouse=True)
def _fresh_names():
    backend.clear_session()
    yield


def cifar_model():
    return Sequential([layers.Dense(512, activation="relu", input_shape=(32, 32, 3)),
                       layers.Dense(10, activation="softmax")])


def png_size(path):
    image = mpimg.imread(path)
    return image.shape[1], image.shape[0]


def test_plot_model_png_grows_with_depth(tmp_path):
    short, tall = tmp_path / "short.png", tmp_path / "tall.png"
    assert plot_model(cifar_model(), to_file=str(short)) is None
    deep = Sequential([layers.Flatten(input_shape=(28, 28))] + [layers.Dense(16) for _ in range(5)])
    plot_model(deep, to_file=str(tall), dpi=50)
    w1, h1 = png_size(short)
    w2, h2 = png_size(tall)
    assert short.stat().st_size > 2000
    assert h1 > w1 * 0.8 and 300 < w1 < 1200  # input + 2 layers stacked top to bottom at 96 dpi
    assert h2 / 50 > h1 / 96  # 7 boxes are taller (in inches) than 3


def test_plot_model_svg_and_branches(tmp_path):
    a, b = layers.Input((28, 28, 1)), layers.Input((5,))
    x = layers.Flatten()(layers.MaxPooling2D()(layers.Conv2D(4, 3)(a)))
    model = Model([a, b], layers.Dense(10)(layers.Concatenate()([x, layers.Dense(4)(b)])))
    svg = tmp_path / "model.svg"
    plot_model(model, to_file=str(svg), show_layer_activations=True, show_dtype=True, show_trainable=True)
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    text = svg.read_text()
    assert "conv2d" in text and "concatenate" in text
    lr = tmp_path / "lr.png"
    plot_model(model, to_file=str(lr), rankdir="LR")
    w, h = png_size(lr)
    assert w > h
    with pytest.raises(ValueError, match="rankdir"):
        plot_model(model, to_file=str(lr), rankdir="BT")


def test_plot_history(tmp_path):
    logs = {"loss": [1.0, 0.6, 0.4], "accuracy": [0.5, 0.7, 0.8], "val_loss": [1.1, 0.8, 0.7],
            "val_accuracy": [0.4, 0.6, 0.65]}

    class History:
        history = logs

    path = tmp_path / "history.png"
    plot_history(History(), to_file=str(path), dpi=100)
    assert png_size(path) == (920, 340)  # two panels of 4.6 x 3.4 inches
    plot_history(logs, to_file=str(tmp_path / "h.svg"))
    with pytest.raises(ValueError, match="History"):
        plot_history({}, to_file=str(path))


def test_explain_plot_of_dense_mapping(tmp_path):
    explanation = cifar_model().explain(print_fn=lambda s: None)
    path = tmp_path / "dense.png"
    explanation.plot(to_file=str(path))
    assert png_size(path) == (960, 499) or png_size(path) == (960, 500)
    assert path.stat().st_size > 5000
    flat = Sequential([layers.Dense(10, input_shape=(784,))]).explain(print_fn=lambda s: None)
    flat.plot(to_file=str(tmp_path / "flat.svg"), layer=0)
    conv = Sequential([layers.Conv2D(8, 3, input_shape=(28, 28, 1)), layers.Flatten()]).explain(print_fn=print)
    conv.plot(to_file=str(tmp_path / "conv.png"), layer="conv2d")
    conv[1].plot(to_file=str(tmp_path / "flatten.png"))
    for name in ("flat.svg", "conv.png", "flatten.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_missing_matplotlib_message(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install matplotlib.*lamina\[plot\]"):
        plot_model(cifar_model(), to_file=str(tmp_path / "m.png"))
