"""LearningRateScheduler on a fake model."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import pytest

from lamina import callbacks as cbs
from tests.callbacks.fake_training import FakeModel, fit, losses


def test_learning_rate_scheduler():
    model = FakeModel(lr=1.0)
    history = fit(model, [cbs.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)],
                  losses(1, 1, 1))
    assert history.history["learning_rate"] == [1.0, 0.5, 0.25]
    model = FakeModel()
    fit(model, [cbs.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))], losses(1, 1))
    assert model.optimizer.history == [0.01, 0.02]
    with pytest.raises(ValueError, match="should be a float"):
        fit(FakeModel(), [cbs.LearningRateScheduler(lambda epoch, lr: "fast")], losses(1))
