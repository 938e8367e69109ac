"""Normalization, Discretization and CategoryEncoding against Keras 3: outputs, adapt() statistics, configs and
``.keras`` files both ways."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import json

import keras
import numpy as np
import pytest
from keras.src.layers.preprocessing import discretization as keras_discretization

import lamina
from lamina import layers

from .layer_oracle import Case, check_layer

CASES = [
    Case("Normalization", {"mean": 3.0, "variance": 2.0}, (4, 3), id="norm-scalar-stats"),
    Case("Normalization", {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]}, (4, 3), id="norm-vector-stats"),
    Case("Normalization", {"axis": (1, 2), "mean": [[1.0, 2.0]], "variance": [[2.0, 0.5]]}, (2, 1, 2),
         id="norm-two-axes"),
    Case("Normalization", {"mean": [1.0, 2.0], "variance": [1.0, 4.0], "invert": True}, (3, 2), id="norm-invert"),
    *[Case("CategoryEncoding", {"num_tokens": 5, "output_mode": mode}, shape, int_input=5,
           id=f"catenc-{mode}-{shape}")
      for mode in ("one_hot", "multi_hot", "count") for shape in ((4,), (4, 3), (4, 1))],
    *[Case("Discretization", {"bin_boundaries": [-0.5, 0.0, 1.0], "output_mode": mode}, shape, id=f"disc-{mode}")
      for mode, shape in (("int", (4, 3)), ("one_hot", (4, 1)), ("multi_hot", (4, 3)), ("count", (4, 3)),
                          ("one_hot", (5,)))],
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_keras(case):
    check_layer(case)


ADAPT = [
    ({}, (20, 3)),
    ({"axis": None}, (10, 4)),
    ({"axis": (1, 2)}, (6, 2, 3)),
    ({"axis": 1}, (6, 2, 3)),
    ({"invert": True}, (8, 2)),
]


@pytest.mark.parametrize("kwargs,shape", ADAPT, ids=str)
def test_normalization_adapt_matches_keras(kwargs, shape):
    rng = np.random.default_rng(0)
    data = (rng.normal(size=shape) * 3 + 1).astype("float32")
    ours, theirs = layers.Normalization(**kwargs), keras.layers.Normalization(**kwargs)
    ours.adapt(data)
    theirs.adapt(data)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-5, atol=1e-6)
    x = rng.normal(size=shape).astype("float32")
    np.testing.assert_allclose(ours(x), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)


def test_normalization_adapt_on_batches_matches_one_array():
    rng = np.random.default_rng(1)
    data = rng.normal(size=(30, 4)).astype("float32")
    whole, batched = layers.Normalization(), layers.Normalization()
    whole.adapt(data)
    batched.adapt(b for b in np.split(data, [7, 19]))  # (Keras's adapt on a list needs TensorFlow)
    np.testing.assert_allclose(batched.adapt_mean.numpy(), whole.adapt_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(batched.adapt_variance.numpy(), whole.adapt_variance.numpy(), rtol=1e-5, atol=1e-6)


def test_normalization_errors_and_config():
    with pytest.raises(ValueError, match="both `mean` and `variance` must be set"):
        layers.Normalization(mean=1.0)
    layer = layers.Normalization(axis=-1)
    layer.adapt(np.ones((4, 3), "float32"))
    config = json.loads(json.dumps(layer.get_config()))
    assert config["axis"] == [-1] and config["mean"] is None
    with pytest.raises(ValueError, match="incompatible shape"):
        layer.adapt(np.ones((4, 5), "float32"))


@pytest.mark.parametrize("num_bins,epsilon,batches", [(4, 0.01, 1), (3, 0.1, 1), (5, 0.01, 3), (10, 0.001, 4)])
def test_discretization_adapt_matches_keras_quantiles(num_bins, epsilon, batches):
    rng = np.random.default_rng(num_bins)
    data = rng.normal(size=(batches, 50, 2)).astype("float32")
    ours = layers.Discretization(num_bins=num_bins, epsilon=epsilon)
    ours.adapt(list(data) if batches > 1 else data[0])
    summary = np.array([[], []], dtype="float32")  # Keras's own NumPy algorithm (its adapt() needs TensorFlow)
    for batch in data:
        summary = keras_discretization.merge_summaries(keras_discretization.summarize(batch, epsilon), summary,
                                                       epsilon)
    expected = keras_discretization.get_bin_boundaries(summary, num_bins).tolist()
    np.testing.assert_allclose(ours.bin_boundaries, expected, rtol=1e-6)
    theirs = keras.layers.Discretization(bin_boundaries=expected)
    np.testing.assert_array_equal(ours(data[0]), np.asarray(theirs(data[0])))


def test_discretization_config_keeps_adapted_boundaries():
    layer = layers.Discretization(num_bins=3)
    layer.adapt(np.arange(30, dtype="float32"))
    again = layers.Discretization.from_config(json.loads(json.dumps(layer.get_config())))
    assert again.bin_boundaries == layer.bin_boundaries and len(layer.bin_boundaries) == 2
    with pytest.raises(ValueError, match="call `adapt"):
        layers.Discretization(num_bins=3)(np.zeros((2,), "float32"))


def test_category_encoding_count_weights():
    x = np.array([[0, 1, 1], [2, 3, 3]])
    w = np.array([[0.5, 1.0, 2.0], [1.0, 1.0, 0.25]], "float32")
    ours = layers.CategoryEncoding(num_tokens=4, output_mode="count")(x, count_weights=w)
    theirs = keras.layers.CategoryEncoding(num_tokens=4, output_mode="count")(x, count_weights=w)
    np.testing.assert_allclose(ours, np.asarray(theirs))
    with pytest.raises(ValueError, match="count_weights"):
        layers.CategoryEncoding(num_tokens=4)(x, count_weights=w)


def _lamina_model(data):
    norm = lamina.layers.Normalization(name="norm")
    norm.adapt(data)
    inputs = lamina.layers.Input((3,))
    x = norm(inputs)
    x = lamina.layers.Discretization(bin_boundaries=[-1.0, 0.0, 1.0], output_mode="one_hot", name="disc")(x)
    x = lamina.layers.Flatten()(x)
    return lamina.Model(inputs, lamina.layers.Dense(2, name="out")(x))


def test_keras_file_lamina_to_keras_and_back(tmp_path):
    rng = np.random.default_rng(3)
    data = (rng.normal(size=(40, 3)) * 2 + 5).astype("float32")
    model = _lamina_model(data)
    x = data[:5]
    path = str(tmp_path / "pre.keras")
    model.save(path)
    theirs = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(theirs.get_layer("norm").mean).ravel(),
                               model.get_layer("norm").adapt_mean.numpy(), rtol=1e-6)
    np.testing.assert_allclose(theirs.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    back = str(tmp_path / "back.keras")
    theirs.save(back)
    again = lamina.saving.load_model(back)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    assert int(again.get_layer("norm").count.numpy()) == int(np.asarray(theirs.get_layer("norm").count))


def test_keras_file_from_keras(tmp_path):
    rng = np.random.default_rng(4)
    data = rng.normal(size=(40, 3)).astype("float32")
    norm = keras.layers.Normalization()
    norm.adapt(data)
    model = keras.Sequential([keras.Input((3,)), norm, keras.layers.Dense(4), keras.layers.Dense(1)])
    path = str(tmp_path / "k.keras")
    model.save(path)
    ours = lamina.saving.load_model(path)
    np.testing.assert_allclose(ours.predict(data[:6], verbose=0), model.predict(data[:6], verbose=0), rtol=1e-5,
                               atol=1e-5)
    ids = keras.Sequential([keras.Input((3,), dtype="int32"), keras.layers.CategoryEncoding(num_tokens=6),
                            keras.layers.Dense(2)])
    ids.save(path)
    ours = lamina.saving.load_model(path)
    x = np.array([[0, 1, 5], [2, 2, 2]], "int32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), ids.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_normalization_trains_inside_a_model():
    rng = np.random.default_rng(5)
    x = (rng.normal(size=(64, 3)) * 10 + 50).astype("float32")
    y = (x[:, :1] > 50).astype("float32")
    norm = lamina.layers.Normalization()
    norm.adapt(x)
    model = lamina.Sequential([lamina.layers.Input((3,)), norm, lamina.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    before = norm.get_weights()
    model.fit(x, y, epochs=2, verbose=0)
    for a, b in zip(before, norm.get_weights()):
        np.testing.assert_array_equal(a, b)
