"""ReduceLROnPlateau on a fake model, and against Keras's on the same logs."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

from lamina import callbacks as cbs
from tests.callbacks.fake_training import FakeModel, KerasAdapter, fit, losses


@pytest.mark.parametrize("seed", range(4))
def test_reduce_lr_on_plateau_matches_keras(seed):
    import keras

    rng = np.random.default_rng(seed)
    values = np.round(rng.uniform(0.0, 1.0, 12), 2).tolist()
    rng.integers(0, 3), rng.choice([0.0, 0.05])  # the draws of the EarlyStopping test: the same logs and rates

    lr_settings = dict(factor=0.5, patience=int(rng.integers(1, 3)), cooldown=int(rng.integers(0, 3)),
                       min_lr=0.02)
    mine_model, keras_model = FakeModel(), FakeModel()
    mine = fit(mine_model, [cbs.ReduceLROnPlateau(**lr_settings)], losses(*values))
    theirs = fit(keras_model, [KerasAdapter(keras.callbacks.ReduceLROnPlateau(**lr_settings))],
                 losses(*values))
    assert mine_model.optimizer.history == pytest.approx(keras_model.optimizer.history)
    assert mine.history["learning_rate"] == pytest.approx(theirs.history["learning_rate"])


def test_reduce_lr_on_plateau_cooldown_and_floor(capsys):
    model = FakeModel(lr=1.0)
    reduce = cbs.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2, min_lr=0.2, verbose=1)
    history = fit(model, [reduce], losses(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0))
    # Keras's counting: reduce at epoch 1; the cooldown counter runs down at epochs 2 and 3, and the wait
    # restarts at 3, so the next reductions come at 3 and 5; at 0.2 (= min_lr) nothing more happens.
    assert model.optimizer.history == [0.5, 0.25, 0.2]
    # The logged rate is the one the epoch ran with (read before reducing).
    assert history.history["learning_rate"] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2]
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.5." in capsys.readouterr().out
    with pytest.raises(ValueError):
        cbs.ReduceLROnPlateau(factor=1.0)
    assert cbs.ReduceLROnPlateau(epsilon=0.01).min_delta == 0.01
