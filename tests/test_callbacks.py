"""lamina.callbacks with a tiny fake model; EarlyStopping, ReduceLROnPlateau and CSVLogger against Keras."""

from __future__ import annotations

import math
import os
import warnings

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lamina import callbacks as cbs  # noqa: E402


class FakeOptimizer:
    def __init__(self, lr: float = 0.1) -> None:
        self._lr = lr
        self.history: list[float] = []

    @property
    def learning_rate(self) -> float:
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._lr = float(value)
        self.history.append(float(value))


class FakeModel:
    """What callbacks may rely on: stop_training, get/set_weights, save, save_weights, optimizer."""

    def __init__(self, lr: float = 0.1) -> None:
        self.stop_training = False
        self.weights = [np.zeros(2)]
        self.optimizer = FakeOptimizer(lr)
        self.saved: list[tuple[str, str]] = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def save(self, path):
        self.saved.append(("model", str(path)))
        with open(path, "w") as f:
            f.write("model")

    def save_weights(self, path):
        self.saved.append(("weights", str(path)))
        with open(path, "w") as f:
            f.write("weights")


def fit(model, callbacks, epoch_logs, steps=2, verbose=0):
    """Drive callbacks the way lamina's trainer does; epoch e sets the weights to [e, e]."""
    cb = cbs.CallbackList(callbacks, add_history=False, add_progbar=verbose != 0, model=model,
                          verbose=verbose, epochs=len(epoch_logs), steps=steps)
    history = cbs.History()
    cb.append(history)
    model.stop_training = False
    cb.on_train_begin()
    logs = {}
    for epoch, logs in enumerate(epoch_logs):
        logs = dict(logs)
        cb.on_epoch_begin(epoch)
        for batch in range(steps):
            cb.on_train_batch_begin(batch)
            model.weights = [np.full(2, float(epoch))]
            cb.on_train_batch_end(batch, dict(logs) if cb.wants_batch_logs(batch) else None)
            if model.stop_training:
                break
        cb.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cb.on_train_end(logs)
    return history


def losses(*values, key="val_loss"):
    return [{key: v} for v in values]


# ------------------------------------------------------------------------------ basics
def test_history_and_callback_list_wiring():
    model = FakeModel()
    seen = []
    lam = cbs.LambdaCallback(on_train_begin=lambda logs: seen.append("begin"),
                             on_epoch_end=lambda epoch, logs: seen.append(epoch),
                             on_train_end=lambda logs: seen.append("end"))
    history = fit(model, [lam], [{"accuracy": 0.5, "loss": 1.0}, {"accuracy": 0.6, "loss": 0.8}])
    assert history.history == {"accuracy": [0.5, 0.6], "loss": [1.0, 0.8]}
    assert history.epoch == [0, 1] and model.history is history
    assert seen == ["begin", 0, 1, "end"]
    assert lam.model is model and lam.params == {"verbose": 0, "epochs": 2, "steps": 2}
    listed = cbs.CallbackList([[lam]], add_history=True, add_progbar=True, verbose=1, epochs=1, steps=1)
    assert [type(c).__name__ for c in listed] == ["LambdaCallback", "History", "ProgbarLogger"]
    with pytest.raises(TypeError):
        cbs.CallbackList([object()])
    with pytest.raises(TypeError):
        cbs.LambdaCallback(on_tuesday=print)


def test_keras2_batch_aliases_and_wants_batch_logs():
    calls = []

    class Old(cbs.Callback):
        def on_batch_end(self, batch, logs=None):
            calls.append((batch, logs))

    class EpochOnly(cbs.Callback):
        def on_epoch_end(self, epoch, logs=None):
            pass

    assert not cbs.CallbackList([EpochOnly(), cbs.History()]).wants_batch_logs(0)
    assert cbs.CallbackList([Old()]).wants_batch_logs(0)
    assert not cbs.CallbackList([Old()]).wants_batch_logs(0, mode="test")
    test_only = cbs.LambdaCallback(on_test_batch_end=lambda batch, logs: None)
    assert not test_only.wants_batch_logs(0) and test_only.wants_batch_logs(0, "test")
    fit(FakeModel(), [Old()], [{"loss": 1.0}], steps=2)
    assert calls == [(0, {"loss": 1.0}), (1, {"loss": 1.0})]
    listed = cbs.CallbackList([Old()])
    listed.on_batch_end(5, {"loss": 2.0})
    assert calls[-1] == (5, {"loss": 2.0})
    # Mode follows the phase that is open: evaluate's batches are "test" batches.
    listed = cbs.CallbackList([test_only])
    listed.on_test_begin()
    assert listed.wants_batch_logs(0)
    listed.on_test_end({})
    assert not listed.wants_batch_logs(0)


# ------------------------------------------------------------------------------ EarlyStopping
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


def _keras_fake_model(lr=0.1):
    model = FakeModel(lr)
    return model


@pytest.mark.parametrize("seed", range(4))
def test_early_stopping_and_reduce_lr_match_keras(seed):
    import keras

    rng = np.random.default_rng(seed)
    values = np.round(rng.uniform(0.0, 1.0, 12), 2).tolist()
    settings = dict(patience=int(rng.integers(0, 3)), min_delta=float(rng.choice([0.0, 0.05])))
    mine_model, keras_model = FakeModel(), FakeModel()
    mine = fit(mine_model, [cbs.EarlyStopping(restore_best_weights=True, **settings)], losses(*values))
    theirs = fit(keras_model, [_KerasAdapter(keras.callbacks.EarlyStopping(restore_best_weights=True,
                                                                             **settings))], losses(*values))
    assert mine.epoch == theirs.epoch
    np.testing.assert_array_equal(mine_model.weights[0], keras_model.weights[0])

    lr_settings = dict(factor=0.5, patience=int(rng.integers(1, 3)), cooldown=int(rng.integers(0, 3)),
                       min_lr=0.02)
    mine_model, keras_model = FakeModel(), FakeModel()
    mine = fit(mine_model, [cbs.ReduceLROnPlateau(**lr_settings)], losses(*values))
    theirs = fit(keras_model, [_KerasAdapter(keras.callbacks.ReduceLROnPlateau(**lr_settings))],
                 losses(*values))
    assert mine_model.optimizer.history == pytest.approx(keras_model.optimizer.history)
    assert mine.history["learning_rate"] == pytest.approx(theirs.history["learning_rate"])


class _KerasAdapter(cbs.Callback):
    """Runs a real Keras callback inside a lamina CallbackList."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def set_model(self, model):
        super().set_model(model)
        self.inner.set_model(model)

    def on_train_begin(self, logs=None):
        self.inner.on_train_begin(logs)

    def on_epoch_end(self, epoch, logs=None):
        self.inner.on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        self.inner.on_train_end(logs)


# ------------------------------------------------------------------------ ReduceLROnPlateau
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


# ------------------------------------------------------------------------- ModelCheckpoint
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


# ------------------------------------------------------------------------------- CSVLogger
def test_csv_logger_matches_keras(tmp_path):
    import keras

    epoch_logs = [{"loss": 0.5, "accuracy": 0.25}, {"loss": 0.25, "accuracy": 0.75}]
    mine, theirs = tmp_path / "mine.csv", tmp_path / "theirs.csv"
    fit(FakeModel(), [cbs.CSVLogger(mine)], epoch_logs)
    fit(FakeModel(), [_KerasAdapter(keras.callbacks.CSVLogger(str(theirs)))], epoch_logs)
    assert mine.read_text() == theirs.read_text()
    assert mine.read_text().splitlines()[0] == "epoch,accuracy,loss,val_accuracy,val_loss"
    assert mine.read_text().splitlines()[1] == "0,0.25,0.5,NA,NA"
    fit(FakeModel(), [cbs.CSVLogger(mine, append=True)], epoch_logs[:1])
    assert mine.read_text().count("epoch,") == 1 and len(mine.read_text().splitlines()) == 4
    semi = tmp_path / "semi.csv"
    fit(FakeModel(), [cbs.CSVLogger(semi, separator=";")], [{"loss": 1.0, "val_loss": 2.0}])
    assert semi.read_text().splitlines() == ["epoch;loss;val_loss", "0;1.0;2.0"]


# -------------------------------------------------------------------------- TerminateOnNaN
def test_terminate_on_nan(capsys):
    model = FakeModel()
    history = fit(model, [cbs.TerminateOnNaN()], [{"loss": 1.0}, {"loss": math.nan}, {"loss": 1.0}])
    assert history.epoch == [0, 1]
    assert "Batch 0: Invalid loss, terminating training" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="NaN or Inf"):
        fit(FakeModel(), [cbs.TerminateOnNaN(raise_error=True)], [{"loss": math.inf}])


# ---------------------------------------------------------------------------- ProgbarLogger
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
