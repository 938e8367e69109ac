"""Sequential models against Keras 3, and the Sequential API: add/pop, deferred build, build(), configs."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import json

import numpy as np
import pytest

from lamina import Sequential, layers
from tests.oracle import build_both, compare, first_difference, strip_config


def mlp(K):
    return K.Sequential([K.Input((20,)), K.layers.Dense(16, activation="relu"), K.layers.Dropout(0.3),
                         K.layers.Dense(4, activation="softmax")])


def image_flatten(K):
    return K.Sequential([K.Input((6, 6, 2)), K.layers.Rescaling(1 / 255), K.layers.Flatten(),
                         K.layers.Dense(8, activation="gelu"), K.layers.Dense(1, activation="sigmoid")])


def rank4_dense_then_reshape(K):
    return K.Sequential([K.Input((3, 4, 2)), K.layers.Dense(5), K.layers.Reshape((-1,)), K.layers.Dense(3)])


def reshape_time_distributed(K):
    return K.Sequential([K.Input((12,)), K.layers.Reshape((4, 3)), K.layers.TimeDistributed(K.layers.Dense(6)),
                         K.layers.Activation("tanh"), K.layers.Reshape((2, -1)), K.layers.Flatten(),
                         K.layers.Dense(2)])


def nested_sequentials(K):
    block = K.Sequential([K.layers.Dense(6, activation="relu"), K.layers.Dense(6)])
    return K.Sequential([K.Input((4,)), K.layers.Dense(6), block, K.layers.Activation("softplus"),
                         K.layers.Dense(1)])


CASES = [
    (mlp, [(5, 20)]),
    (image_flatten, [(3, 6, 6, 2)]),
    (rank4_dense_then_reshape, [(2, 3, 4, 2)]),
    (reshape_time_distributed, [(3, 12)]),
    (nested_sequentials, [(3, 4)]),
]


@pytest.mark.parametrize("describe,shapes", CASES, ids=[c[0].__name__ for c in CASES])
def test_matches_keras(describe, shapes):
    compare(describe, shapes)


def deferred(K):
    return K.Sequential([K.layers.Dense(7, activation="relu"), K.layers.Dense(3)])


def test_deferred_build_on_first_predict_matches_keras():
    lm, km = compare(deferred, [(4, 5)], symbolic=False)
    assert lm.built and lm.input_shape == (None, 5) and lm.output_shape == (None, 3)


# ------------------------------------------------------------------------------------------- the API
def test_input_shape_kwarg_equals_input_layer():
    a = Sequential([layers.Dense(3, input_shape=(4,)), layers.Dense(2)])
    b = Sequential([layers.Input((4,)), layers.Dense(3), layers.Dense(2)])
    assert a.output_shape == b.output_shape == (None, 2)
    assert a.count_params() == b.count_params() == 23
    assert len(a.layers) == len(b.layers) == 2  # the InputLayer is not listed


def test_add_input_tensor_then_layers():
    model = Sequential()
    model.add(layers.Input((8,)))
    assert not model.built
    model.add(layers.Dense(4))
    assert model.built and model.output_shape == (None, 4)
    assert [type(layer).__name__ for layer in model.layers] == ["Dense"]
    with pytest.raises(ValueError, match="InputLayer can only be the first layer"):
        model.add(layers.InputLayer(shape=(8,)))


def test_pop():
    model = Sequential([layers.Input((8,)), layers.Dense(4, name="a"), layers.Dense(2, name="b")])
    removed = model.pop()
    assert removed.name == "b"
    assert [layer.name for layer in model.layers] == ["a"]
    assert model.output_shape == (None, 4) and model.count_params() == 36
    assert model.predict(np.ones((2, 8)), verbose=0).shape == (2, 4)
    model.pop()
    with pytest.raises(ValueError, match="no layers to pop"):
        model.pop()


def test_add_incompatible_layer_is_rejected_and_model_unchanged():
    model = Sequential([layers.Input((3, 4)), layers.Dense(5)])
    with pytest.raises(ValueError):
        model.add(layers.Reshape((7,)))
    assert len(model.layers) == 1 and model.output_shape == (None, 3, 5)


def test_build_with_input_shape():
    model = Sequential([layers.Dense(7), layers.Dense(3)])
    assert not model.built
    model.build((None, 5))
    assert model.built and model.count_params() == 5 * 7 + 7 + 7 * 3 + 3
    assert model.predict(np.zeros((2, 5)), verbose=0).shape == (2, 3)
    with pytest.raises(ValueError, match=r"built for inputs \(None, 5\), not \(None, 6\)"):
        model.build((None, 6))


def test_build_without_shape_explains():
    with pytest.raises(ValueError, match=r"model.build\(input_shape="):
        Sequential([layers.Dense(2)]).build()


def test_get_layer():
    model = Sequential([layers.Input((3,)), layers.Dense(4, name="first"), layers.Dense(2, name="second")])
    assert model.get_layer("second") is model.layers[1]
    assert model.get_layer(index=0).name == "first"
    with pytest.raises(ValueError, match="No such layer: 'third'"):
        model.get_layer("third")


def test_duplicate_layer_names_rejected():
    model = Sequential([layers.Input((3,)), layers.Dense(4, name="same")])
    with pytest.raises(ValueError, match="unique names; 'same'"):
        model.add(layers.Dense(2, name="same"))


# ------------------------------------------------------------------------------------------- configs
@pytest.mark.parametrize("describe", [mlp, image_flatten, reshape_time_distributed, nested_sequentials])
def test_config_round_trip_and_matches_keras(describe):
    lm, km = build_both(describe)
    text = json.dumps(lm.get_config())
    again = Sequential.from_config(json.loads(text))
    assert json.dumps(again.get_config()) == text
    again.set_weights(lm.get_weights())
    x = np.random.default_rng(0).normal(size=(2,) + lm.input_shape[1:]).astype("float32")
    np.testing.assert_array_equal(lm.predict(x, verbose=0), again.predict(x, verbose=0))
    diff = first_difference(strip_config(json.loads(text)), strip_config(json.loads(json.dumps(km.get_config()))))
    assert diff is None, diff


def test_keras_sequential_config_loads_in_lamina():
    _, km = build_both(reshape_time_distributed)
    rebuilt = Sequential.from_config(json.loads(json.dumps(km.get_config())))
    rebuilt.set_weights(km.get_weights())
    x = np.random.default_rng(1).normal(size=(3, 12)).astype("float32")
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), km.predict(x, verbose=0), atol=1e-5)


def test_unbuilt_config_round_trip():
    model = Sequential([layers.Dense(3, name="d")], name="s")
    config = model.get_config()
    assert "build_input_shape" not in config
    again = Sequential.from_config(json.loads(json.dumps(config)))
    assert not again.built and json.dumps(again.get_config()) == json.dumps(config)
