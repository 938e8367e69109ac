"""Embedding against Keras 3, and masks reaching recurrent layers."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import keras
import numpy as np
import pytest

from lamina import layers, models

from .layer_oracle import Case, check_layer

CASES = [
    Case("Embedding", {"input_dim": 10, "output_dim": 4}, (2, 5), int_input=10, id="embedding"),
    Case("Embedding", {"input_dim": 7, "output_dim": 3, "mask_zero": True}, (2, 3, 4), int_input=7,
         id="embedding-mask-zero-3d"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_keras(case: Case) -> None:
    check_layer(case)


def test_mask_zero_reaches_lstm_like_keras() -> None:
    ids = np.array([[3, 1, 0, 0], [2, 5, 4, 1]], dtype="int32")
    k_in = keras.Input((4,), dtype="int32")
    k_model = keras.Model(k_in, keras.layers.LSTM(3)(keras.layers.Embedding(6, 2, mask_zero=True)(k_in)))
    l_in = layers.Input((4,), dtype="int32")
    l_model = models.Model(l_in, layers.LSTM(3)(layers.Embedding(6, 2, mask_zero=True)(l_in)))
    l_model.set_weights(k_model.get_weights())
    np.testing.assert_allclose(l_model.predict(ids, verbose=0), k_model.predict(ids, verbose=0), atol=1e-5)
