"""Optimizers' use_ema and the SwapEMAWeights callback against Keras running the same code (1e-5)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

import lamina

RNG = np.random.default_rng(5)
X, Y = RNG.normal(size=(48, 4)).astype("float32"), RNG.normal(size=(48, 2)).astype("float32")
XV, YV = RNG.normal(size=(16, 4)).astype("float32"), RNG.normal(size=(16, 2)).astype("float32")
FIT = dict(epochs=3, batch_size=8, shuffle=False, verbose=0)


def pair(optimizer="adam", **ema):
    """The same model under lamina and Keras, with the same weights, compiled with an EMA optimizer."""
    import keras

    keras.utils.set_random_seed(2)
    theirs = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="relu"), keras.layers.Dense(2)])
    mine = lamina.Sequential([lamina.layers.Input((4,)), lamina.layers.Dense(5, activation="relu"),
                              lamina.layers.Dense(2)])
    mine.set_weights(theirs.get_weights())
    for lib, model in ((lamina, mine), (keras, theirs)):
        opt = {"adam": lib.optimizers.Adam, "sgd": lib.optimizers.SGD}[optimizer](learning_rate=0.05, **ema)
        model.compile(optimizer=opt, loss="mse")
    return mine, theirs


def assert_weights_close(mine, theirs):
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("optimizer, ema", [
    ("adam", dict(use_ema=True)),
    ("sgd", dict(use_ema=True, ema_momentum=0.8, ema_overwrite_frequency=4)),
    ("adam", dict(use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=1)),
])
def test_use_ema_trains_and_finalizes_as_keras(optimizer, ema):
    mine, theirs = pair(optimizer, **ema)
    h_mine = mine.fit(X, Y, **FIT)
    h_theirs = theirs.fit(X, Y, **FIT)
    np.testing.assert_allclose(h_mine.history["loss"], h_theirs.history["loss"], rtol=1e-5)
    assert_weights_close(mine.get_weights(), theirs.get_weights())  # the averages, after fit
    ours = mine.optimizer.variables
    keras_vars = [np.asarray(v) for v in theirs.optimizer.variables]
    assert [v.shape for v in ours] == [v.shape for v in keras_vars]
    assert_weights_close(ours, keras_vars)  # iterations, learning rate, averages, then the slots


def test_ema_variables_survive_a_weights_file(tmp_path):
    import keras

    mine, theirs = pair(use_ema=True)
    mine.fit(X, Y, **FIT)
    theirs.fit(X, Y, **FIT)
    path = str(tmp_path / "keras.weights.h5")
    theirs.save_weights(path)
    restored, _ = pair(use_ema=True)
    restored.optimizer.build(restored.trainable_variables)
    restored.load_weights(path)
    assert_weights_close(restored.optimizer.variables, [np.asarray(v) for v in theirs.optimizer.variables])
    del keras


@pytest.mark.parametrize("swap_on_epoch", [False, True])
def test_swap_ema_weights_in_fit_matches_keras(swap_on_epoch):
    import keras

    mine, theirs = pair(use_ema=True, ema_momentum=0.7)
    seen = {}
    results = {}
    for lib, model, name in ((lamina, mine, "mine"), (keras, theirs, "theirs")):
        seen[name] = []
        record = lib.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs, m=model, s=seen[name]: s.append([np.asarray(w) for w in m.get_weights()]))
        results[name] = model.fit(X, Y, validation_data=(XV, YV), callbacks=[
            lib.callbacks.SwapEMAWeights(swap_on_epoch=swap_on_epoch), record], **FIT).history
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(results["mine"][key], results["theirs"][key], rtol=1e-5, err_msg=key)
    for ours, keras_weights in zip(seen["mine"], seen["theirs"]):
        assert_weights_close(ours, keras_weights)  # raw weights, or the averages with swap_on_epoch
    assert_weights_close(mine.get_weights(), theirs.get_weights())


def test_swap_ema_weights_in_evaluate_and_predict():
    import keras

    mine, theirs = pair(use_ema=True, ema_momentum=0.7)
    mine.fit(X, Y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    theirs.fit(X, Y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    # After fit the weights are the averages and the optimizer's averages equal them: perturb the weights.
    for model in (mine, theirs):
        model.set_weights([w + 0.25 for w in model.get_weights()])
    before = mine.get_weights()
    loss = mine.evaluate(XV, YV, verbose=0, callbacks=[lamina.callbacks.SwapEMAWeights()])
    their_loss = theirs.evaluate(XV, YV, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])
    np.testing.assert_allclose(loss, their_loss, rtol=1e-5)
    assert_weights_close(mine.get_weights(), before)  # swapped back
    out = mine.predict(XV, verbose=0, callbacks=[lamina.callbacks.SwapEMAWeights()])
    their_out = theirs.predict(XV, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])
    np.testing.assert_allclose(out, their_out, rtol=1e-5, atol=1e-6)  # predicted with the averages
    assert_weights_close(mine.get_weights(), before)  # lamina swaps back after predict (Keras 3.15 does not)


def test_errors_match_keras():
    import keras

    for lib in (lamina, keras):
        with pytest.raises(ValueError, match="ema_momentum"):
            lib.optimizers.SGD(use_ema=True, ema_momentum=1.5)
        with pytest.raises(ValueError, match="ema_overwrite_frequency"):
            lib.optimizers.SGD(use_ema=True, ema_overwrite_frequency=0.5)
    mine, theirs = pair()
    for lib, model in ((lamina, mine), (keras, theirs)):
        with pytest.raises(ValueError, match="SwapEMAWeights must be used when `use_ema=True`"):
            model.fit(X, Y, validation_data=(XV, YV), callbacks=[lib.callbacks.SwapEMAWeights()], **FIT)
    assert lamina.optimizers.Adam(use_ema=True).get_config()["use_ema"] is True
