"""TerminateOnNaN on a fake model."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import math

import pytest

from lamina import callbacks as cbs
from tests.callbacks.fake_training import FakeModel, fit


def test_terminate_on_nan(capsys):
    model = FakeModel()
    history = fit(model, [cbs.TerminateOnNaN()], [{"loss": 1.0}, {"loss": math.nan}, {"loss": 1.0}])
    assert history.epoch == [0, 1]
    assert "Batch 0: Invalid loss, terminating training" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="NaN or Inf"):
        fit(FakeModel(), [cbs.TerminateOnNaN(raise_error=True)], [{"loss": math.inf}])
