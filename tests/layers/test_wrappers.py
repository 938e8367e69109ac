"""TimeDistributed against Keras 3: Dense (the last axis), Flatten and a nested wrapper; Bidirectional over
RNN(cell) with masks (its call takes the mask by keyword, so RNN's (sequences, initial_state, mask) order works)."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import numpy as np
import pytest

from lamina import layers

from .layer_oracle import Case, Inner, check_layer

CASES = [
    Case("TimeDistributed", {"layer": Inner("Dense", {"units": 3, "activation": "relu"})}, (2, 5, 4), id="td-dense"),
    Case("TimeDistributed", {"layer": Inner("Dense", {"units": 2})}, (2, 3, 4, 5), id="td-dense-rank4"),
    Case("TimeDistributed", {"layer": Inner("Flatten")}, (2, 3, 4, 5), id="td-flatten"),
    Case("TimeDistributed", {"layer": Inner("Dropout", {"rate": 0.3})}, (2, 3, 4), training=False,
         id="td-dropout"),
    Case("Bidirectional", {"layer": Inner("RNN", {"cell": Inner("LSTMCell", {"units": 2})})}, (3, 5, 3),
         mask=True, atol=1e-4, id="bidi-rnn-lstmcell-mask"),
    Case("Bidirectional", {"layer": Inner("RNN", {"cell": Inner("GRUCell", {"units": 2}), "return_sequences": True}),
                           "merge_mode": "ave"}, (2, 4, 3), atol=1e-4, id="bidi-rnn-grucell-seq"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_keras(case):
    check_layer(case)


def test_time_distributed_dense_equals_dense():
    td = layers.TimeDistributed(layers.Dense(3))
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    y = td(x)
    dense = layers.Dense(3)
    dense(x)
    dense.set_weights(td.get_weights())
    np.testing.assert_allclose(np.asarray(y), np.asarray(dense(x)), atol=1e-6)


def test_time_distributed_needs_a_time_axis():
    with pytest.raises(ValueError, match='"td" \\(TimeDistributed\\).*min_ndim=3.*\\(batch, time, \\.\\.\\.\\)'):
        layers.TimeDistributed(layers.Dense(2), name="td")(layers.Input((4,)))


def test_time_distributed_wraps_layers_only():
    with pytest.raises(TypeError, match="wraps a Layer"):
        layers.TimeDistributed("dense")
