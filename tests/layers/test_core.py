"""Dense, Activation, Rescaling and Dropout against Keras 3 (shapes, counts, outputs, configs)."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import numpy as np
import pytest

from lamina import layers

from .layer_oracle import Case, check_layer

CASES = [
    Case("Dense", {"units": 3}, (4, 5), id="dense-rank2"),
    Case("Dense", {"units": 3, "activation": "relu"}, (2, 4, 5), id="dense-rank3"),
    Case("Dense", {"units": 2, "use_bias": False, "activation": "tanh"}, (2, 3, 4, 5), id="dense-rank4-nobias"),
    Case("Dense", {"units": 4, "activation": "softmax"}, (2, 2, 3, 4, 5), id="dense-rank5"),
    Case("Dense", {"units": 3, "kernel_initializer": "he_normal", "bias_initializer": "ones"}, (2, 5),
         id="dense-initializers"),
    *[Case("Activation", {"activation": name}, (3, 4), id=f"activation-{name}")
      for name in ("relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus", "softsign", "gelu", "swish",
                   "linear", "exponential", "hard_sigmoid", "relu6", "leaky_relu", "log_softmax")],
    Case("Rescaling", {"scale": 1 / 255}, (2, 3, 3), id="rescaling"),
    Case("Rescaling", {"scale": 2.0, "offset": -1.0}, (2, 4), id="rescaling-offset"),
    Case("Dropout", {"rate": 0.5}, (2, 6), training=False, id="dropout-inference"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_keras(case):
    check_layer(case)


def test_dense_units_must_be_positive():
    with pytest.raises(ValueError, match="Dense 'd': units must be a positive integer"):
        layers.Dense(0, name="d")


def test_dense_kernel_layout_and_last_axis():
    dense = layers.Dense(5)
    y = dense(np.ones((2, 3, 4), "float32"))
    assert y.shape == (2, 3, 5) and dense.kernel.shape == (4, 5) and dense.bias.shape == (5,)


def test_dropout_training_keeps_scale():
    drop = layers.Dropout(0.5)
    y = np.asarray(drop(np.ones((1, 1000), "float32"), training=True))
    assert set(np.unique(y)) <= {0.0, 2.0} and 300 < (y > 0).sum() < 700
