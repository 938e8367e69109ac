"""explain(): per-layer shapes, axes and parameter arithmetic, checked on every seed model."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import numpy as np
import pytest

import lamina
from lamina import backend, layers
from lamina.explain import Details, Explanation, LayerExplanation, explain, register_explainer
from lamina.models import Model, Sequential


@pytest.fixture(autouse=True)
def _fresh_names():
    backend.clear_session()
    yield


def quiet(model):
    return explain(model, print_fn=lambda s: None)


def arithmetic(model):
    return [r.arithmetic for r in quiet(model) if r.params]


def test_seed_000_mnist_dense():
    flat = Sequential([layers.Dense(10, input_shape=(28 * 28,))])
    assert arithmetic(flat) == ["784 x 10 weights + 10 biases = 7,850"]
    rows = Sequential([layers.Dense(10, input_shape=(28, 28))])
    record = quiet(rows)[0]
    assert record.arithmetic == "28 x 10 weights + 10 biases = 290"
    assert record.contracted_axes == (2,) and record.shared_axes == (1,)
    assert "Flatten()" in record.notes[0] and "7,850" in record.notes[0]


def test_seed_000_tutorial_variants():
    assert arithmetic(Sequential([layers.Dense(784, input_dim=784)])) == ["784 x 784 weights + 784 biases = 615,440"]
    assert arithmetic(Sequential([layers.Dense(512, input_shape=(np.prod((28, 28)),))])) == [
        "784 x 512 weights + 512 biases = 401,920"]


def test_seed_001_cifar_dense_text():
    model = Sequential()
    model.add(layers.Dense(512, activation="relu", input_shape=(32, 32, 3)))
    model.add(layers.Dense(10, activation="softmax"))
    lines = []
    result = model.explain(print_fn=lines.append)
    assert isinstance(result, Explanation) and len(result) == 2
    dense, dense_1 = result
    assert dense.arithmetic == "3 x 512 weights + 512 biases = 2,048"
    assert dense_1.arithmetic == "512 x 10 weights + 10 biases = 5,130"
    assert ("Dense acts on the last axis (3); the same 3x512 kernel is applied at each of the 32x32 positions, "
            "like a 1x1 convolution") in dense.description
    assert dense.input_shape == (None, 32, 32, 3) and dense.output_shape == (None, 32, 32, 512)
    assert dense.weights == [("kernel", (3, 512), 1536), ("bias", (512,), 512)]
    assert dense.contracted_axes == (3,) and dense.shared_axes == (1, 2)
    text = "\n".join(lines)
    assert text == str(result)
    assert "Total: 2,048 + 5,130 = 7,178 parameters" in text
    assert "GlobalAveragePooling2D()" in text and "Flatten()" in text
    assert result["dense_1"] is dense_1


def test_seed_002_last_axis_and_time_distributed():
    model = Sequential([layers.Dense(10, input_shape=(20, 5))])
    assert arithmetic(model) == ["5 x 10 weights + 10 biases = 60"]
    td = Sequential([layers.TimeDistributed(layers.Dense(10), input_shape=(20, 5))])
    record = quiet(td)[0]
    assert record.arithmetic == "5 x 10 weights + 10 biases = 60"
    assert record.params == 60 and record.shared_axes == (1,) and record.contracted_axes == (2,)
    assert "without TimeDistributed" in record.notes[0]


def test_seed_003_functional_flatten():
    in_ = layers.Input((5, 10))
    model = Model(in_, layers.Dense(100, activation="relu", name="dense_1")(in_))
    result = quiet(model)
    assert [r.class_name for r in result] == ["InputLayer", "Dense"]
    assert result[1].arithmetic == "10 x 100 weights + 100 biases = 1,100"
    in_ = layers.Input((5, 10))
    flat = layers.Flatten()(in_)
    model = Model(in_, layers.Dense(100, activation="relu", name="dense_1")(flat))
    result = quiet(model)
    assert result["dense_1"].arithmetic == "50 x 100 weights + 100 biases = 5,100"
    assert "5 x 10 = 50 values" in result["flatten"].description


def test_seed_004_flatten():
    model = Sequential([layers.Flatten(input_shape=(3, 2)), layers.Dense(16), layers.Activation("relu"),
                        layers.Dense(4)])
    assert arithmetic(model) == ["6 x 16 weights + 16 biases = 112", "16 x 4 weights + 4 biases = 68"]
    model = Sequential([layers.Dense(16, input_shape=(3, 2), name="D16"), layers.Activation("relu", name="A"),
                        layers.Flatten(name="F"), layers.Dense(4, name="D4")])
    result = quiet(model)
    assert result["D16"].arithmetic == "2 x 16 weights + 16 biases = 48"
    assert result["D4"].arithmetic == "48 x 4 weights + 4 biases = 196"
    assert result["A"].arithmetic == "0 (no weights)"


def test_seed_004_reshape_rescaling():
    model = Sequential()
    model.add(layers.Flatten(input_shape=(28, 28, 3)))
    model.add(layers.Rescaling(1.0 / 255))
    model.add(layers.Dense(128, activation="relu"))
    model.add(layers.Dense(2, activation="softmax"))
    result = quiet(model)
    assert arithmetic(model) == ["2,352 x 128 weights + 128 biases = 301,184", "128 x 2 weights + 2 biases = 258"]
    assert "0.00392157" in result["rescaling"].description
    model = Sequential([layers.InputLayer(input_shape=(28, 28, 3)), layers.Reshape([2352])])
    assert "(28, 28, 3) to (2352,)" in quiet(model)[0].description


@pytest.mark.parametrize("make", [
    lambda: layers.Conv2D(32, 3, input_shape=(28, 28, 3)),
    lambda: layers.Conv2D(8, (3, 5), use_bias=False, input_shape=(16, 16, 4)),
    lambda: layers.BatchNormalization(input_shape=(8, 8, 64)),
    lambda: layers.Embedding(1000, 64, input_shape=(10,)),
    lambda: layers.LSTM(32, input_shape=(10, 3)),
    lambda: layers.GRU(16, return_sequences=True, input_shape=(7, 4)),
    lambda: layers.SimpleRNN(5, input_shape=(7, 4)),
    lambda: layers.MaxPooling2D(input_shape=(32, 32, 3)),
    lambda: layers.GlobalAveragePooling2D(input_shape=(8, 8, 16)),
    lambda: layers.Dropout(0.5, input_shape=(10,)),
    lambda: layers.LayerNormalization(input_shape=(5, 6)),
])
def test_registered_explainers_agree_with_count_params(make):
    model = Sequential([make()])
    record = quiet(model)[0]
    layer = model.layers[0]
    assert record.params == layer.count_params()
    assert record.arithmetic.endswith(f"= {layer.count_params():,}") or record.arithmetic.startswith(
        f"{layer.count_params():,} ") or f"= {layer.count_params():,} (" in record.arithmetic
    assert "maps" not in record.description  # not the generic fallback


def test_known_arithmetic_for_other_families():
    conv = quiet(Sequential([layers.Conv2D(32, 3, input_shape=(28, 28, 3))]))[0]
    assert conv.arithmetic == "3 x 3 x 3 x 32 weights + 32 biases = 896"
    assert conv.contracted_axes == (1, 2, 3) and conv.shared_axes == (1, 2)
    lstm = quiet(Sequential([layers.LSTM(32, input_shape=(10, 3))]))[0]
    assert lstm.arithmetic == "4 gates x (3 x 32 input weights + 32 x 32 recurrent weights + 32 biases) = 4,608"
    bn = quiet(Sequential([layers.BatchNormalization(input_shape=(64,))]))[0]
    assert bn.arithmetic == "64 (gamma) + 64 (beta) + 64 (moving_mean) + 64 (moving_variance) = 256 (128 non-trainable)"
    emb = quiet(Sequential([layers.Embedding(1000, 64, input_shape=(10,))]))[0]
    assert emb.arithmetic == "1,000 x 64 weights = 64,000"


def test_generic_fallback_and_registry():
    a, b = layers.Input((3,)), layers.Input((4,))
    model = Model([a, b], layers.Concatenate()([a, b]))
    record = quiet(model)["concatenate"]
    assert record.params == 0 and "no weights" in record.description

    class Scale(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight((input_shape[-1],), "ones", name="w")

        def call(self, x):
            return x * self.w.value

    model = Sequential([Scale(input_shape=(6,), name="scale")])
    assert quiet(model)[0].arithmetic == "6 (w) = 6"

    @register_explainer(Scale)
    def _scale(layer, input_shape, output_shape):
        return Details("multiplies each feature by its own weight", shared_axes=(), arithmetic="6 scales = 6")

    record = quiet(model)[0]
    assert record.description.startswith("multiplies") and record.arithmetic == "6 scales = 6"


def test_nested_model_and_module_call():
    inner = Sequential([layers.Dense(4, input_shape=(3,))], name="inner")
    outer = Sequential([layers.InputLayer(input_shape=(3,)), inner, layers.Dense(2)], name="outer")
    result = lamina.explain(outer, print_fn=lambda s: None)
    names = [(r.name, r.depth) for r in result]
    assert names == [("inner", 0), ("dense", 1), ("dense_1", 0)]
    assert result["inner"].arithmetic == "16 (dense) = 16"
    assert result.total_params == outer.count_params() == 26
    assert isinstance(result[0], LayerExplanation)


def test_unbuilt_model_is_a_clear_error():
    with pytest.raises(ValueError, match="not yet been built"):
        quiet(Sequential([layers.Dense(3)]))


def test_text_mentions_every_layer():
    model = Sequential([layers.Dense(10, input_shape=(28, 28))])
    text = str(quiet(model))
    assert "dense (Dense): (None, 28, 28) -> (None, 28, 10)" in text
    assert "parameters: 28 x 10 weights + 10 biases = 290" in text
    assert repr(quiet(model)).startswith("<Explanation of 'sequential'")
