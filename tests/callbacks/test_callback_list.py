"""CallbackList and History wiring, Keras 2 batch aliases, wants_batch_logs."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import pytest

from lamina import callbacks as cbs
from tests.callbacks.fake_training import FakeModel, fit


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


def test_hook_order_in_fit_with_validation_matches_keras():
    """fit's validation runs the test hooks (Keras passes fit's callbacks to its evaluate)."""
    import keras
    import numpy as np

    import lamina

    hooks = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
             "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end"]
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    sequences = []
    for lib in (lamina, keras):
        seen = []

        def recording(hook, seen=seen):
            return lambda *args, **kwargs: seen.append((hook, *[a for a in args if isinstance(a, int)]))

        recorder = lib.callbacks.LambdaCallback(**{hook: recording(hook) for hook in hooks})
        model = lib.Sequential([lib.layers.Input((3,)), lib.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, batch_size=4, epochs=2, verbose=0, validation_data=(x[:4], y[:4]), callbacks=[recorder])
        sequences.append(seen)
    assert sequences[0] == sequences[1]
