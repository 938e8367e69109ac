"""fit/evaluate/predict against real Keras 3 (JAX backend) from the same initial weights."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np
import pytest

from lamina import layers, models, utils


def _pair(build, optimizer, loss, metrics=None, **compile_kwargs):
    """The same model in Keras and lamina, lamina holding Keras's initial weights."""
    keras.utils.set_random_seed(0)
    k_model = build(keras.layers, keras.models)
    l_model = build(layers, models)
    l_model.set_weights(k_model.get_weights())
    k_model.compile(optimizer=optimizer(keras.optimizers), loss=loss, metrics=metrics, **compile_kwargs)
    from lamina import optimizers

    l_model.compile(optimizer=optimizer(optimizers), loss=loss, metrics=metrics, **compile_kwargs)
    return k_model, l_model


def _mlp(L, M):
    return M.Sequential([L.Input((20,)), L.Dense(16, activation="relu"), L.Dense(3, activation="softmax")])


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 20)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5).astype("int64")
    return x, y


@pytest.mark.parametrize("optimizer", [
    lambda o: o.SGD(learning_rate=0.1),
    lambda o: o.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    lambda o: o.Adam(),
    lambda o: o.RMSprop(),
], ids=["sgd", "nesterov", "adam", "rmsprop"])
def test_fit_matches_keras_losses_and_weights(data, optimizer):
    x, y = data
    k_model, l_model = _pair(_mlp, optimizer, "sparse_categorical_crossentropy", ["accuracy"])
    kh = k_model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0, validation_split=0.25)
    lh = l_model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0, validation_split=0.25)
    assert list(lh.history) == list(kh.history)
    for key in kh.history:
        np.testing.assert_allclose(lh.history[key], kh.history[key], rtol=1e-5, atol=1e-5)
    for a, b in zip(l_model.get_weights(), k_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(l_model.evaluate(x, y, verbose=0), k_model.evaluate(x, y, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(l_model.predict(x, verbose=0), k_model.predict(x, verbose=0), atol=1e-5)


def test_sample_and_class_weights_match_keras(data):
    x, y = data
    sw = np.linspace(0.1, 2.0, len(x)).astype("float32")
    for weights in ({"sample_weight": sw}, {"class_weight": {0: 1.0, 1: 2.0, 2: 0.5}}):
        k_model, l_model = _pair(_mlp, lambda o: o.SGD(learning_rate=0.1), "sparse_categorical_crossentropy",
                                 ["accuracy"])
        kh = k_model.fit(x, y, batch_size=50, epochs=2, shuffle=False, verbose=0, **weights)
        lh = l_model.fit(x, y, batch_size=50, epochs=2, shuffle=False, verbose=0, **weights)
        for key in kh.history:
            np.testing.assert_allclose(lh.history[key], kh.history[key], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="class_weight"):
        l_model.fit(x, y, sample_weight=sw, class_weight={0: 1.0}, verbose=0)


def test_binary_and_regression_losses_match_keras(data):
    x, y = data
    yb = (y > 0).astype("float32")[:, None]

    def build(L, M):
        return M.Sequential([L.Input((20,)), L.Dense(8, activation="tanh"), L.Dense(1, activation="sigmoid")])

    for loss, metrics, target in (("binary_crossentropy", ["accuracy"], yb), ("mse", ["mae"], yb)):
        k_model, l_model = _pair(build, lambda o: o.Adam(learning_rate=0.01), loss, metrics)
        kh = k_model.fit(x, target, batch_size=16, epochs=2, shuffle=False, verbose=0)
        lh = l_model.fit(x, target, batch_size=16, epochs=2, shuffle=False, verbose=0)
        for key in kh.history:
            np.testing.assert_allclose(lh.history[key], kh.history[key], rtol=1e-5, atol=1e-6)


def test_multi_output_model_matches_keras(data):
    x, y = data
    onehot = utils.to_categorical(y, 3).astype("float32")

    def build(L, M):
        inp = L.Input((20,), name="x")
        h = L.Dense(8, activation="relu", name="h")(inp)
        cls = L.Dense(3, activation="softmax", name="cls")(h)
        reg = L.Dense(1, name="reg")(h)
        return M.Model(inp, [cls, reg])

    k_model, l_model = _pair(build, lambda o: o.SGD(learning_rate=0.05),
                             ["categorical_crossentropy", "mse"], None, loss_weights=[1.0, 0.5])
    target = [onehot, x[:, :1]]
    kh = k_model.fit(x, target, batch_size=40, epochs=2, shuffle=False, verbose=0)
    lh = l_model.fit(x, target, batch_size=40, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(lh.history["loss"], kh.history["loss"], rtol=1e-5)


def test_batchnorm_and_dropout_model_trains_like_keras(data):
    x, y = data

    def build(L, M):
        return M.Sequential([L.Input((20,)), L.Dense(16), L.BatchNormalization(), L.Activation("relu"),
                             L.Dense(3, activation="softmax")])

    k_model, l_model = _pair(build, lambda o: o.SGD(learning_rate=0.1), "sparse_categorical_crossentropy")
    kh = k_model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    lh = l_model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(lh.history["loss"], kh.history["loss"], rtol=1e-5)
    for a, b in zip(l_model.get_weights(), k_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
