"""ReLU, LeakyReLU, PReLU, ELU, Softmax (with masks), Identity, Masking and AlphaDropout against Keras 3."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

from lamina import layers

from .layer_oracle import Case, check_layer

CASES = [
    Case("ReLU", {}, (3, 5), id="relu"),
    Case("ReLU", {"max_value": 1.0, "negative_slope": 0.1, "threshold": 0.2}, (3, 5), id="relu-all-args"),
    Case("ReLU", {"max_value": 6.0}, (2, 4, 3), id="relu-max6"),
    Case("LeakyReLU", {}, (3, 5), id="leaky"),
    Case("LeakyReLU", {"negative_slope": 0.05}, (2, 3, 4), id="leaky-slope"),
    Case("PReLU", {}, (3, 5), id="prelu"),
    Case("PReLU", {"shared_axes": [1, 2]}, (2, 4, 4, 3), id="prelu-shared"),
    Case("PReLU", {"alpha_initializer": "ones", "shared_axes": 1}, (2, 6, 3), id="prelu-init-shared-int"),
    Case("ELU", {}, (3, 5), id="elu"),
    Case("ELU", {"alpha": 0.5}, (3, 5), id="elu-alpha"),
    Case("Softmax", {}, (3, 5), id="softmax"),
    Case("Softmax", {"axis": 1}, (2, 4, 3), id="softmax-axis1"),
    Case("Softmax", {"axis": [1, 2]}, (2, 4, 3), id="softmax-two-axes"),
    Case("Identity", {}, (2, 3), id="identity"),
    Case("Masking", {}, (2, 4, 3), id="masking"),
    Case("Masking", {"mask_value": 1.5}, (2, 4, 3), id="masking-value"),
    Case("AlphaDropout", {"rate": 0.3}, (2, 6), training=False, id="alphadropout-inference"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_keras(case: Case) -> None:
    check_layer(case)


def test_softmax_mask_matches_keras() -> None:
    import keras

    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype("float32")
    mask = np.array([[1, 1, 0, 0], [1, 0, 0, 0]], bool)[:, None, :]
    np.testing.assert_allclose(np.asarray(layers.Softmax()(x, mask=mask)), keras.layers.Softmax()(x, mask=mask),
                               atol=1e-6)


def test_softmax_mask_of_wrong_shape_names_the_fix() -> None:
    with pytest.raises(ValueError, match=r"must broadcast.*\(batch, 1, queries, keys\)"):
        layers.Softmax()(np.zeros((2, 3, 4), "float32"), mask=np.ones((2, 3), bool))


def test_masking_zeroes_and_masks_padded_steps() -> None:
    from lamina.layers.masks import get_mask

    x = np.array([[[1.0, 2.0], [0.0, 0.0], [0.0, 3.0]]], "float32")
    y = layers.Masking()(x)
    assert get_mask(y).tolist() == [[True, False, True]]


def test_alpha_dropout_keeps_mean_and_variance() -> None:
    x = np.random.default_rng(0).normal(size=(200, 500)).astype("float32")
    y = np.asarray(layers.AlphaDropout(0.2)(x, training=True))
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1.0) < 0.02
    alpha_p, rate = -1.6732632423543772 * 1.0507009873554805, 0.2
    a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
    dropped = a * alpha_p - a * alpha_p * rate  # every dropped value lands here
    assert np.isclose(np.mean(np.isclose(y, dropped, atol=1e-5)), 0.2, atol=0.01)
