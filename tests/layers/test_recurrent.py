"""Recurrent layers and Bidirectional against Keras 3 (outputs within 1e-4), masks, states, directions."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import pytest

from lamina import layers

from .layer_oracle import Case, Inner, check_layer

R = 1e-4
CASES = [
    Case("LSTM", {"units": 4}, (2, 5, 3), atol=R, id="lstm"),
    Case("LSTM", {"units": 4, "return_sequences": True, "return_state": True}, (2, 5, 3), atol=R,
         id="lstm-seq-state"),
    Case("LSTM", {"units": 3, "go_backwards": True, "return_sequences": True}, (2, 5, 3), atol=R,
         id="lstm-backwards"),
    Case("LSTM", {"units": 3, "return_sequences": True}, (3, 6, 2), mask=True, atol=R, id="lstm-mask"),
    Case("LSTM", {"units": 3, "unit_forget_bias": False, "use_bias": False}, (2, 4, 3), atol=R, id="lstm-nobias"),
    Case("GRU", {"units": 4}, (2, 5, 3), atol=R, id="gru"),
    Case("GRU", {"units": 4, "return_sequences": True, "return_state": True}, (2, 5, 3), atol=R,
         id="gru-seq-state"),
    Case("GRU", {"units": 3, "reset_after": False}, (2, 5, 3), atol=R, id="gru-reset-before"),
    Case("GRU", {"units": 3, "go_backwards": True}, (3, 6, 2), mask=True, atol=R, id="gru-backwards-mask"),
    Case("SimpleRNN", {"units": 4}, (2, 5, 3), atol=R, id="simplernn"),
    Case("SimpleRNN", {"units": 4, "return_sequences": True, "activation": "relu"}, (2, 5, 3), atol=R,
         id="simplernn-seq-relu"),
    Case("SimpleRNN", {"units": 2, "return_state": True}, (3, 6, 2), mask=True, atol=R, id="simplernn-mask-state"),
    Case("Bidirectional", {"layer": Inner("LSTM", {"units": 3})}, (2, 5, 3), atol=R, id="bidi-lstm"),
    Case("Bidirectional", {"layer": Inner("GRU", {"units": 3, "return_sequences": True}), "merge_mode": "sum"},
         (2, 5, 3), atol=R, id="bidi-gru-seq-sum"),
    Case("Bidirectional", {"layer": Inner("LSTM", {"units": 2, "return_sequences": True})}, (3, 6, 2), mask=True,
         atol=R, id="bidi-lstm-mask"),
    Case("TimeDistributed", {"layer": Inner("LSTM", {"units": 3})}, (2, 3, 4, 2), atol=R, id="td-lstm"),
    Case("RNN", {"cell": Inner("LSTMCell", {"units": 3})}, (2, 5, 3), atol=R, id="rnn-lstmcell"),
    Case("RNN", {"cell": Inner("GRUCell", {"units": 3}), "return_sequences": True}, (3, 6, 2), mask=True, atol=R,
         id="rnn-grucell-mask"),
    Case("RNN", {"cell": Inner("SimpleRNNCell", {"units": 2}), "go_backwards": True, "return_state": True},
         (2, 5, 3), atol=R, id="rnn-simplecell-back-state"),
    Case("RNN", {"cell": Inner("GRUCell", {"units": 3, "reset_after": False})}, (2, 4, 3), atol=R,
         id="rnn-grucell-reset-before"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_keras(case: Case) -> None:
    check_layer(case)


def test_rnn_needs_3d_input() -> None:
    with pytest.raises(ValueError, match=r'"lstm_bad".*\(None, 5\)'):
        layers.LSTM(3, name="lstm_bad")(layers.Input((5,)))
