"""Masks end to end against Keras 3: Embedding(mask_zero=True) and Masking through passing layers to RNNs,
pooling and attention, in eager calls, functional graphs and Sequential models."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np
import pytest

from lamina import layers
from lamina.layers import masks
from tests.oracle import build_both, compare


def _ids(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 9, size=(4, 7))
    for row, length in enumerate((7, 5, 2, 4)):
        ids[row, length:] = 0
    return ids


def _int_compare(describe, atol=1e-4):
    """Build both models, give them Keras's random weights, and compare predictions on padded id sequences."""
    lm, km = build_both(describe)
    rng = np.random.default_rng(1)
    km.set_weights([(0.5 * rng.normal(size=w.shape)).astype("float32") for w in km.get_weights()])
    lm.set_weights(km.get_weights())
    x = _ids()
    np.testing.assert_allclose(np.asarray(lm.predict(x, verbose=0)), km.predict(x, verbose=0), atol=atol)
    return lm, km


@pytest.mark.parametrize("rnn", ["LSTM", "GRU", "SimpleRNN"])
def test_embedding_mask_through_dropout_reaches_rnn(rnn):
    def describe(K):
        x = K.Input((7,))
        h = K.layers.Embedding(9, 3, mask_zero=True)(x)
        h = K.layers.Dropout(0.2)(h)
        h = K.layers.Dense(4)(h)
        h = getattr(K.layers, rnn)(3, return_sequences=True)(h)
        return K.Model(x, getattr(K.layers, rnn)(2)(h))

    _int_compare(describe)


def test_sequential_masking_layer_and_average_pooling():
    def describe(K):
        return K.Sequential([K.Input((7, 3)), K.layers.Masking(0.0), K.layers.LSTM(3, return_sequences=True),
                             K.layers.GlobalAveragePooling1D(), K.layers.Dense(1)])

    x = np.random.default_rng(0).normal(size=(4, 7, 3)).astype("float32")
    x[1, 4:] = 0.0
    x[2, 1:] = 0.0
    lm, km = compare(describe, [(4, 7, 3)], atol=1e-4)
    np.testing.assert_allclose(np.asarray(lm.predict(x, verbose=0)), km.predict(x, verbose=0), atol=1e-4)


def test_concatenate_keeps_masks():
    def describe(K):
        x = K.Input((7,))
        a = K.layers.Embedding(9, 3, mask_zero=True)(x)
        b = K.layers.Embedding(9, 2, mask_zero=True)(x)
        return K.Model(x, K.layers.GRU(2)(K.layers.Concatenate()([a, b])))

    _int_compare(describe)


def test_eager_masks_travel_with_arrays():
    ids = _ids()
    emb = layers.Embedding(9, 3, mask_zero=True)
    h = emb(ids)
    np.testing.assert_array_equal(np.asarray(masks.get_mask(h)), ids != 0)
    lstm = layers.LSTM(2)
    out = lstm(h)
    explicit = lstm(h, mask=ids != 0)
    np.testing.assert_allclose(np.asarray(out), np.asarray(explicit), atol=1e-6)
    unmasked = lstm(emb(ids).copy() if hasattr(h, "copy") else h)  # a fresh array carries no mask
    assert masks.get_mask(unmasked) is None


def test_symbolic_tensors_carry_mask_specs():
    x = layers.Input((7,))
    h = layers.Embedding(9, 3, mask_zero=True)(x)
    assert h._keras_mask.shape == (None, 7)
    assert layers.Dense(2)(h)._keras_mask.shape == (None, 7)
    assert getattr(layers.LSTM(2)(h), "_keras_mask", None) is None
    assert layers.LSTM(2, return_sequences=True)(h)._keras_mask.shape == (None, 7)


def test_keras_agrees_on_supports_masking():
    for name in ("Dense", "Dropout", "Activation", "LayerNormalization", "BatchNormalization", "Add",
                 "Concatenate", "LSTM", "GlobalAveragePooling1D", "Masking", "Embedding", "Flatten", "Conv1D"):
        args = {"Dense": (2,), "Dropout": (0.1,), "Activation": ("relu",), "LSTM": (2,), "Embedding": (3, 2),
                "Conv1D": (2, 3)}.get(name, ())
        ours, theirs = getattr(layers, name)(*args), getattr(keras.layers, name)(*args)
        assert ours.supports_masking == theirs.supports_masking, name
