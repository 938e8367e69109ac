"""ConvLSTM1D/2D/3D against Keras 3: shapes, parameter counts, outputs for the same weights (masks, directions,
states, strides, channels_first), configs, dropout at inference, and ``.keras``/weights files both ways."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import keras
import numpy as np
import pytest

import lamina
from lamina import layers

from .layer_oracle import Case, Inner, check_layer

R = 1e-4
CASES = [
    Case("ConvLSTM2D", {"filters": 3, "kernel_size": 3}, (2, 4, 6, 6, 2), atol=R, id="2d"),
    Case("ConvLSTM2D", {"filters": 2, "kernel_size": (3, 2), "padding": "same", "return_sequences": True,
                        "return_state": True}, (2, 3, 5, 4, 2), atol=R, id="2d-same-seq-state"),
    Case("ConvLSTM2D", {"filters": 2, "kernel_size": 3, "strides": 2, "go_backwards": True}, (2, 3, 7, 7, 1),
         atol=R, id="2d-strides-backwards"),
    Case("ConvLSTM2D", {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "unit_forget_bias": False,
                        "use_bias": False}, (1, 3, 7, 7, 2), atol=R, id="2d-dilation-nobias"),
    Case("ConvLSTM2D", {"filters": 2, "kernel_size": 3, "data_format": "channels_first", "padding": "same",
                        "return_sequences": True}, (2, 3, 2, 5, 5), atol=R, id="2d-channels-first"),
    Case("ConvLSTM2D", {"filters": 2, "kernel_size": 3, "dropout": 0.3, "recurrent_dropout": 0.2},
         (2, 3, 5, 5, 2), training=False, atol=R, id="2d-dropout-inference"),
    Case("ConvLSTM1D", {"filters": 3, "kernel_size": 3, "return_sequences": True}, (2, 4, 8, 2), atol=R, id="1d"),
    Case("ConvLSTM1D", {"filters": 2, "kernel_size": 2, "padding": "same", "return_state": True,
                        "activation": "relu"}, (2, 5, 6, 3), atol=R, id="1d-state-relu"),
    Case("ConvLSTM3D", {"filters": 2, "kernel_size": 2}, (1, 3, 4, 4, 4, 1), atol=R, id="3d"),
    Case("ConvLSTM3D", {"filters": 2, "kernel_size": 3, "padding": "same", "return_sequences": True},
         (1, 2, 3, 4, 5, 2), atol=R, id="3d-same-seq"),
    Case("Bidirectional", {"layer": Inner("ConvLSTM2D", {"filters": 2, "kernel_size": 3, "padding": "same"})},
         (2, 3, 5, 5, 2), atol=R, id="bidirectional-2d"),
    Case("Bidirectional", {"layer": Inner("ConvLSTM1D", {"filters": 2, "kernel_size": 2, "return_sequences": True}),
                           "merge_mode": "sum"}, (2, 3, 6, 1), atol=R, id="bidirectional-1d-seq-sum"),
]


SLOW_IDS = {"3d", "3d-same-seq", "2d-channels-first", "bidirectional-2d"}


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c.id in SLOW_IDS else c
                                  for c in CASES], ids=str)
def test_matches_keras(case: Case) -> None:
    check_layer(case)


def test_weight_layout_and_names_match_keras() -> None:
    k = keras.layers.ConvLSTM2D(4, (3, 2))
    lam = layers.ConvLSTM2D(4, (3, 2))
    k.build((None, 5, 8, 8, 3))
    lam(layers.Input((5, 8, 8, 3)))
    assert [w.path.split("/")[-2:] for w in lam.weights] == [w.path.split("/")[-2:] for w in k.weights]
    assert [w.shape for w in lam.weights] == [tuple(w.shape) for w in k.weights]
    bias = lam.weights[2].numpy()
    np.testing.assert_array_equal(bias, np.r_[np.zeros(4), np.ones(4), np.zeros(8)])  # unit_forget_bias
    assert lam.filters == 4 and lam.kernel_size == (3, 2) and lam.padding == "valid"


def test_initial_state_is_used_like_keras() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 5, 5, 2)).astype("float32")
    h0, c0 = (rng.normal(size=(2, 5, 5, 3)).astype("float32") for _ in range(2))
    k = keras.layers.ConvLSTM2D(3, 3, padding="same")
    lam = layers.ConvLSTM2D(3, 3, padding="same")
    expected = np.asarray(k(x, initial_state=[h0, c0]))
    lam(x)
    lam.set_weights(k.get_weights())
    np.testing.assert_allclose(np.asarray(lam(x, initial_state=[h0, c0])), expected, rtol=R, atol=R)


def test_masked_tail_steps_keep_the_state() -> None:
    """Keras 3.15's own RNN cannot broadcast a (batch, time) mask over ConvLSTM states (it raises); lamina keeps
    the state over masked steps, so a padded tail gives the output of the unpadded prefix."""
    x = np.random.default_rng(1).normal(size=(2, 5, 4, 4, 1)).astype("float32")
    lam = layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True, return_state=True)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    seq, h, c = (np.asarray(t) for t in lam(x, mask=mask))
    ref_seq, ref_h, ref_c = (np.asarray(t) for t in lam(x[:1, :3]))
    np.testing.assert_allclose(h[:1], ref_h, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(c[:1], ref_c, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(seq[0, 3], ref_seq[0, 2], rtol=1e-6, atol=1e-6)  # masked steps repeat the output
    full = np.asarray(lam(x)[0])
    np.testing.assert_allclose(seq[1], full[1], rtol=1e-6, atol=1e-6)


@pytest.mark.slow
def test_dropout_in_training_changes_outputs_and_stays_finite() -> None:
    x = np.random.default_rng(0).normal(size=(2, 3, 5, 5, 2)).astype("float32")
    lam = layers.ConvLSTM2D(3, 3, dropout=0.5, recurrent_dropout=0.5, padding="same")
    a, b = np.asarray(lam(x, training=True)), np.asarray(lam(x, training=False))
    assert a.shape == b.shape and np.isfinite(a).all() and not np.allclose(a, b)


def test_stateful_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="stateful"):
        layers.ConvLSTM2D(2, 3, stateful=True)


def test_wrong_rank_names_the_layer_and_the_fix() -> None:
    with pytest.raises(ValueError, match=r"conv_bad.*expected ndim=5.*time axis"):
        layers.ConvLSTM2D(2, 3, name="conv_bad")(layers.Input((8, 8, 3)))


def _model(lib):
    inp = lib.Input((4, 6, 6, 2))
    x = lib.layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True)(inp)
    x = lib.layers.ConvLSTM2D(2, 3)(x)
    x = lib.layers.Flatten()(x)
    return lib.Model(inp, lib.layers.Dense(1)(x))


@pytest.mark.slow
def test_keras_files_both_ways(tmp_path) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 4, 6, 6, 2)).astype("float32")
    kmodel = _model(keras)
    kmodel.set_weights([(0.3 * rng.normal(size=w.shape)).astype("float32") for w in kmodel.get_weights()])
    expected = kmodel.predict(x, verbose=0)
    kmodel.save(str(tmp_path / "k.keras"))
    lmodel = lamina.models.load_model(str(tmp_path / "k.keras"))
    np.testing.assert_allclose(np.asarray(lmodel.predict(x, verbose=0)), expected, rtol=R, atol=R)
    assert lmodel.count_params() == kmodel.count_params()
    lmodel.save(str(tmp_path / "l.keras"))
    again = keras.models.load_model(str(tmp_path / "l.keras"))
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, rtol=R, atol=R)
    kmodel.save_weights(str(tmp_path / "k.weights.h5"))
    lfresh = _model(lamina)
    lfresh.load_weights(str(tmp_path / "k.weights.h5"))
    np.testing.assert_allclose(np.asarray(lfresh.predict(x, verbose=0)), expected, rtol=R, atol=R)


@pytest.mark.slow
def test_trains_and_explains() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(32, 3, 5, 5, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3, 4)) > 0).astype("float32")
    model = lamina.Sequential([layers.Input((3, 5, 5, 1)), layers.ConvLSTM2D(2, 3, padding="same"),
                               layers.GlobalAveragePooling2D(), layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    hist = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
    record = lamina.explain(model, print_fn=lambda line: None)[0]
    assert record.arithmetic == "4 gates x (3x3 x 1 x 2 input weights + 3x3 x 2 x 2 recurrent weights + 2 biases) = 224"
    assert record.params == 224
