"""ProgbarLogger's lines in fit, evaluate and predict."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import warnings

from lamina import callbacks as cbs
from tests.callbacks.fake_training import FakeModel, fit


def test_progbar_logger_in_fit_verbose_two(capsys):
    fit(FakeModel(), [], [{"accuracy": 0.5, "loss": 0.7, "val_loss": 0.8}, {"accuracy": 0.6, "loss": 0.6,
                                                                          "val_loss": 0.7}], verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert lines[1].startswith("2/2 - ")
    assert lines[1].endswith("accuracy: 0.5000 - loss: 0.7000 - val_loss: 0.8000")


def test_progbar_logger_verbose_one_asks_for_logs_only_to_redraw(capsys):
    model = FakeModel()
    cb = cbs.CallbackList(None, add_progbar=True, model=model, verbose=1, epochs=1, steps=50)
    cb.on_train_begin()
    cb.on_epoch_begin(0)
    asked = 0
    for batch in range(50):
        wants = cb.wants_batch_logs(batch)
        asked += wants
        cb.on_train_batch_end(batch, {"loss": 1.0} if wants else None)
    cb.on_epoch_end(0, {"loss": 0.5})
    cb.on_train_end({"loss": 0.5})
    assert 1 <= asked < 50  # the log-file interval (10 s) allows the first frame only
    out = capsys.readouterr().out
    assert "Epoch 1/1" not in out and out.splitlines()[-1].startswith("50/50 ━") and "loss: 0.5000" in out


def test_progbar_logger_evaluate_and_silent_validation(capsys):
    cb = cbs.CallbackList(None, add_progbar=True, verbose=2, epochs=1, steps=3)
    cb.on_test_begin()
    for batch in range(3):
        cb.on_test_batch_end(batch, None)
    cb.on_test_end({"accuracy": 1.0, "loss": 0.1})
    assert capsys.readouterr().out.startswith("3/3 - ")
    cb = cbs.CallbackList(None, add_progbar=True, verbose=2, epochs=1, steps=3)
    cb.on_train_begin()
    cb.on_test_begin()  # validation inside fit draws nothing
    cb.on_test_batch_end(0, {"loss": 1.0})
    cb.on_test_end({"loss": 1.0})
    assert capsys.readouterr().out == ""
    cb = cbs.CallbackList(None, add_progbar=True, verbose=0, epochs=1, steps=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cb.on_predict_begin()
        cb.on_predict_batch_end(0)
        cb.on_predict_end()
