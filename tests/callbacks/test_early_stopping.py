"""EarlyStopping on a fake model, and against Keras's on the same logs."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

from lamina import callbacks as cbs
from tests.callbacks.fake_training import FakeModel, KerasAdapter, fit, losses


def test_early_stopping_patience_counts_like_keras():
    model = FakeModel()
    stop = cbs.EarlyStopping(patience=2)
    history = fit(model, [stop], losses(1.0, 0.9, 0.95, 0.97, 0.5, 0.4))
    assert history.epoch == [0, 1, 2, 3] and stop.stopped_epoch == 3 and model.stop_training
    model = FakeModel()
    history = fit(model, [cbs.EarlyStopping(patience=0)], losses(1.0, 1.0, 0.5))
    assert history.epoch == [0, 1]  # equal is no improvement


def test_early_stopping_restores_best_weights_and_messages(capsys):
    model = FakeModel()
    stop = cbs.EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    fit(model, [stop], losses(1.0, 0.5, 0.7, 0.8, 0.9))
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])
    out = capsys.readouterr().out
    assert "Epoch 4: early stopping" in out
    assert "Restoring model weights from the end of the best epoch: 2." in out


def test_early_stopping_min_delta_mode_baseline_start():
    history = fit(FakeModel(), [cbs.EarlyStopping(monitor="val_accuracy", min_delta=0.05)],
                  losses(0.5, 0.52, 0.9, key="val_accuracy"))
    assert history.epoch == [0, 1]  # auto mode: accuracy goes up; +0.02 < min_delta
    # Keras's rule: epochs that fail to beat the baseline count towards patience even when they improve.
    history = fit(FakeModel(), [cbs.EarlyStopping(monitor="loss", baseline=0.5, patience=2)],
                  losses(0.9, 0.8, 0.85, 0.6, key="loss"))
    assert history.epoch == [0, 1, 2]
    history = fit(FakeModel(), [cbs.EarlyStopping(monitor="loss", patience=2)],
                  losses(0.9, 0.8, 0.85, 0.6, key="loss"))
    assert history.epoch == [0, 1, 2, 3]
    history = fit(FakeModel(), [cbs.EarlyStopping(start_from_epoch=3)], losses(1, 2, 3, 4, 5, 6))
    assert history.epoch == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="mode='max'"):
        fit(FakeModel(), [cbs.EarlyStopping(monitor="val_wobble")], losses(1, 2, key="val_wobble"))
    history = fit(FakeModel(), [cbs.EarlyStopping(monitor="val_wobble", mode="max")],
                  losses(2, 1, key="val_wobble"))
    assert history.epoch == [0, 1]
    with pytest.warns(UserWarning, match="not available"):
        fit(FakeModel(), [cbs.EarlyStopping(monitor="val_auc")], losses(1, 2, key="loss"))


@pytest.mark.parametrize("seed", range(4))
def test_early_stopping_matches_keras(seed):
    import keras

    rng = np.random.default_rng(seed)
    values = np.round(rng.uniform(0.0, 1.0, 12), 2).tolist()
    settings = dict(patience=int(rng.integers(0, 3)), min_delta=float(rng.choice([0.0, 0.05])))
    mine_model, keras_model = FakeModel(), FakeModel()
    mine = fit(mine_model, [cbs.EarlyStopping(restore_best_weights=True, **settings)], losses(*values))
    theirs = fit(keras_model, [KerasAdapter(keras.callbacks.EarlyStopping(restore_best_weights=True,
                                                                             **settings))], losses(*values))
    assert mine.epoch == theirs.epoch
    np.testing.assert_array_equal(mine_model.weights[0], keras_model.weights[0])
