"""The checks before fit/evaluate treat unknown (``None``) axes as matching any target size."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np
import pytest

import lamina
from lamina import backend as lamina_backend
from lamina import shape_checks


def _seq2seq(K, enc_tokens=11, dec_tokens=9, latent=16):
    """keras-io's character-level LSTM seq2seq model (unknown time axes on both inputs)."""
    encoder_inputs = K.Input(shape=(None, enc_tokens))
    _, state_h, state_c = K.layers.LSTM(latent, return_state=True)(encoder_inputs)
    decoder_inputs = K.Input(shape=(None, dec_tokens))
    decoder_outputs, _, _ = K.layers.LSTM(latent, return_sequences=True, return_state=True)(
        decoder_inputs, initial_state=[state_h, state_c])
    decoder_outputs = K.layers.Dense(dec_tokens, activation="softmax")(decoder_outputs)
    return K.Model([encoder_inputs, decoder_inputs], decoder_outputs)


def _data(n=24, enc_len=7, dec_len=5, enc_tokens=11, dec_tokens=9, seed=0):
    rng = np.random.default_rng(seed)
    enc = np.eye(enc_tokens, dtype="float32")[rng.integers(0, enc_tokens, (n, enc_len))]
    dec = np.eye(dec_tokens, dtype="float32")[rng.integers(0, dec_tokens, (n, dec_len))]
    target = np.eye(dec_tokens, dtype="float32")[rng.integers(0, dec_tokens, (n, dec_len))]
    return [enc, dec], target


@pytest.mark.slow
def test_seq2seq_trains_as_in_keras():
    x, y = _data()
    keras.backend.clear_session()
    theirs = _seq2seq(keras)
    lamina_backend.clear_session()
    ours = _seq2seq(lamina)
    ours.set_weights(theirs.get_weights())
    for model in (theirs, ours):
        model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    h_theirs = theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    h_ours = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(h_ours["loss"], h_theirs["loss"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0)[0], theirs.evaluate(x, y, verbose=0)[0],
                               rtol=1e-4, atol=1e-5)


def _model(input_shape, head):
    lamina_backend.clear_session()
    x = lamina.Input(input_shape)
    return lamina.Model(x, head(x))


CASES = [
    # (name, input shape, head, target shape without batch, loss)
    ("unknown time, categorical", (None, 4), lambda x: lamina.layers.Dense(6, activation="softmax")(x), (27, 6),
     "categorical_crossentropy"),
    ("unknown time, sparse", (None, 4), lambda x: lamina.layers.Dense(6, activation="softmax")(x), (27,),
     "sparse_categorical_crossentropy"),
    ("unknown time, sparse with a unit axis", (None, 4), lambda x: lamina.layers.Dense(6)(x), (27, 1),
     "sparse_categorical_crossentropy"),
    ("unknown time, mse", (None, 4), lambda x: lamina.layers.Dense(2)(x), (13, 2), "mse"),
    ("unknown time, binary squeezed", (None, 4), lambda x: lamina.layers.Dense(1, activation="sigmoid")(x), (13,),
     "binary_crossentropy"),
    ("unknown spatial axes, per-pixel classes", (None, None, 3),
     lambda x: lamina.layers.Conv2D(5, 1, activation="softmax")(x), (8, 8), "sparse_categorical_crossentropy"),
    ("unknown spatial axes, one-hot masks", (None, None, 3),
     lambda x: lamina.layers.Conv2D(5, 1, activation="softmax")(x), (8, 8, 5), "categorical_crossentropy"),
    ("unknown spatial axes, no loss kind", (None, None, 3), lambda x: lamina.layers.Conv2D(2, 1)(x), (6, 6, 2),
     lambda y, p: lamina.losses.mean_squared_error(y, p)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_unknown_axes_match_any_target_size(case):
    _, input_shape, head, target_shape, loss = case
    model = _model(input_shape, head)
    y = np.zeros((3,) + target_shape, "float32")
    shape_checks.check_targets(model, y, loss)  # no error: the unknown axes can take the targets' sizes


@pytest.mark.parametrize("batch", [1, 5, 7])
def test_dynamic_batch_sizes_fit_and_evaluate(batch):
    model = _model((None, 4), lambda x: lamina.layers.Dense(3, activation="softmax")(x))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(batch, 9, 4)).astype("float32")
    y = np.zeros((batch, 9), "int32")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(model.evaluate(x, y, verbose=0))


def test_known_axes_that_differ_are_still_refused():
    model = _model((None, 4), lambda x: lamina.layers.Dense(6, activation="softmax")(x))
    with pytest.raises(ValueError, match="do not match the output of"):
        shape_checks.check_targets(model, np.zeros((3, 27, 5), "float32"), "categorical_crossentropy")
    with pytest.raises(ValueError, match="do not match the output of"):
        shape_checks.check_targets(model, np.zeros((3, 27, 6, 2), "float32"), "sparse_categorical_crossentropy")
