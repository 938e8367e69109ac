"""CSVLogger's file against Keras's for the same logs."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")


from lamina import callbacks as cbs
from tests.callbacks.fake_training import FakeModel, KerasAdapter, fit


def test_csv_logger_matches_keras(tmp_path):
    import keras

    epoch_logs = [{"loss": 0.5, "accuracy": 0.25}, {"loss": 0.25, "accuracy": 0.75}]
    mine, theirs = tmp_path / "mine.csv", tmp_path / "theirs.csv"
    fit(FakeModel(), [cbs.CSVLogger(mine)], epoch_logs)
    fit(FakeModel(), [KerasAdapter(keras.callbacks.CSVLogger(str(theirs)))], epoch_logs)
    assert mine.read_text() == theirs.read_text()
    assert mine.read_text().splitlines()[0] == "epoch,accuracy,loss,val_accuracy,val_loss"
    assert mine.read_text().splitlines()[1] == "0,0.25,0.5,NA,NA"
    fit(FakeModel(), [cbs.CSVLogger(mine, append=True)], epoch_logs[:1])
    assert mine.read_text().count("epoch,") == 1 and len(mine.read_text().splitlines()) == 4
    semi = tmp_path / "semi.csv"
    fit(FakeModel(), [cbs.CSVLogger(semi, separator=";")], [{"loss": 1.0, "val_loss": 2.0}])
    assert semi.read_text().splitlines() == ["epoch;loss;val_loss", "0;1.0;2.0"]
