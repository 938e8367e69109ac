"""``to_categorical`` and ``normalize`` against Keras."""

from __future__ import annotations

import os

import jax.numpy as jnp
import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

from lamina.utils import normalize, to_categorical  # noqa: E402


@pytest.mark.parametrize("labels, num_classes", [([0, 2, 1], None), ([[1], [0]], 3), (np.array([[0, 1], [2, 0]]), 4)])
def test_to_categorical(labels, num_classes):
    expected = keras.utils.to_categorical(labels, num_classes)
    got = to_categorical(labels, num_classes)
    assert got.dtype == expected.dtype and got.tolist() == expected.tolist()


@pytest.mark.parametrize("axis, order", [(-1, 2), (1, 1), (-1, np.inf)])
def test_normalize_numpy_and_arrays(axis, order):
    x = np.random.default_rng(0).normal(size=(4, 3))
    x[1] = 0.0
    expected = keras.utils.normalize(x, axis=axis, order=order)
    got = normalize(x, axis=axis, order=order)
    assert isinstance(got, np.ndarray) and np.allclose(got, expected)
    on_device = normalize(jnp.asarray(x, dtype="float32"), axis=axis, order=order)
    assert np.allclose(np.asarray(on_device), expected, atol=1e-6)


def test_normalize_axis_zero_normalizes_columns():
    x = np.array([[3.0, 0.0], [4.0, 0.0]])
    assert normalize(x, axis=0).tolist() == [[0.6, 0.0], [0.8, 0.0]]  # Keras 3.15 uses the last axis here
