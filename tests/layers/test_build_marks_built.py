"""Calling ``layer.build(shape)`` directly marks the layer built, as in Keras (it used to stay unbuilt)."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

import lamina

keras = pytest.importorskip("keras")


def _custom(lib):
    class Scale(lib.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

        def call(self, x):
            return x * self.w

    class Sub(Scale):
        def build(self, input_shape):
            super().build(input_shape)
            self.b = self.add_weight(shape=(1,), initializer="zeros")

    return Scale, Sub


@pytest.mark.parametrize("which", [0, 1])
def test_custom_build_marks_built_as_keras(which):
    k_layer, l_layer = _custom(keras)[which](), _custom(lamina)[which]()
    k_layer.build((None, 3))
    l_layer.build((None, 3))
    assert l_layer.built is k_layer.built is True
    assert l_layer.count_params() == k_layer.count_params()
    assert list(l_layer.get_build_config()["input_shape"]) == list(k_layer.get_build_config()["input_shape"])
    out = l_layer(np.ones((2, 3), "float32"))  # no second build (it would add weights twice)
    assert out.shape == (2, 3) and len(l_layer.weights) == len(k_layer.weights)


@pytest.mark.parametrize("make", [lambda m: m.layers.Dense(4), lambda m: m.layers.Conv1D(2, 3),
                                  lambda m: m.layers.LayerNormalization()])
def test_builtin_build_marks_built_as_keras(make):
    k_layer, l_layer = make(keras), make(lamina)
    k_layer.build((None, 5, 6))
    l_layer.build((None, 5, 6))
    assert l_layer.built and k_layer.built
    assert l_layer.count_params() == k_layer.count_params()
