"""ModelCheckpoint's paths, best-only saving and batch frequency on a fake model."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import os

import pytest

from lamina import callbacks as cbs
from tests.callbacks.fake_training import FakeModel, fit, losses


def test_model_checkpoint_formats_paths_and_saves_best(tmp_path, capsys):
    model = FakeModel()
    path = str(tmp_path / "ckpt" / "m-{epoch:02d}-{val_loss:.2f}.keras")
    fit(model, [cbs.ModelCheckpoint(path, save_best_only=True, verbose=1)], losses(0.5, 0.7, 0.25))
    assert [os.path.basename(p) for _, p in model.saved] == ["m-01-0.50.keras", "m-03-0.25.keras"]
    assert all(kind == "model" for kind, _ in model.saved)
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from None to 0.50000, saving model to" in out
    assert "Epoch 2: val_loss did not improve from 0.50000" in out
    model = FakeModel()
    fit(model, [cbs.ModelCheckpoint(str(tmp_path / "w.weights.h5"), save_weights_only=True)], losses(1, 2))
    assert model.saved == [("weights", str(tmp_path / "w.weights.h5"))] * 2
    with pytest.raises(ValueError, match=".weights.h5"):
        cbs.ModelCheckpoint(str(tmp_path / "w.h5"), save_weights_only=True)
    with pytest.raises(ValueError, match=".keras"):
        cbs.ModelCheckpoint(str(tmp_path / "model.ckpt"))


def test_model_checkpoint_every_n_batches(tmp_path):
    model = FakeModel()
    ckpt = cbs.ModelCheckpoint(str(tmp_path / "b{epoch}-{batch}.keras"), save_freq=3, monitor="loss")
    assert [ckpt.wants_batch_logs(b) for b in range(3)] == [False, False, True]
    fit(model, [ckpt], losses(1, 1, key="loss"), steps=4)
    assert [os.path.basename(p) for _, p in model.saved] == ["b1-3.keras", "b2-2.keras"]
