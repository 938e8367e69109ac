"""A fake model and a fake ``fit`` that drive callbacks the way lamina's trainer does (shared by the tests)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np

from lamina import callbacks as cbs


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


class KerasAdapter(cbs.Callback):
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
