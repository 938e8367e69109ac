"""What callbacks and interrupts see: the weights after the last finished step, and a learning rate that
takes effect; multi-output History keys. Compared with real Keras 3 (JAX) or with k single steps."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np
import pytest

import lamina
from lamina import callbacks, layers, models


def _model(K=lamina, steps_per_execution="auto"):
    K.utils.set_random_seed(0)
    model = K.Sequential([K.Input((4,)), K.layers.Dense(3)])
    spe = 1 if K is keras else steps_per_execution
    model.compile(optimizer=K.optimizers.SGD(0.1), loss="mse", steps_per_execution=spe)
    return model


@pytest.fixture(scope="module")
def xy():
    rng = np.random.default_rng(0)
    return rng.normal(size=(96, 4)).astype("float32"), rng.normal(size=(96, 3)).astype("float32")


def _after_single_steps(x, y, k):
    model = _model()
    for i in range(k):
        model.train_on_batch(x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8])
    return model.get_weights()


def test_a_callback_reading_get_weights_mid_epoch_sees_the_last_step(xy):
    x, y = xy
    seen = {}

    class Peek(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 4:
                seen["w"] = self.model.get_weights()

    _model().fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[Peek()])
    for a, b in zip(seen["w"], _after_single_steps(x, y, 5)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_keyboard_interrupt_at_step_k_leaves_the_weights_after_step_k(xy):
    x, y = xy

    class Stop(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 6:
                raise KeyboardInterrupt

    model = _model()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[Stop()])
    for a, b in zip(model.get_weights(), _after_single_steps(x, y, 7)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_model_checkpoint_every_4_steps_saves_current_weights(xy, tmp_path):
    x, y = xy
    path = str(tmp_path / "w{batch}.weights.h5")
    model = _model()
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0,
              callbacks=[callbacks.ModelCheckpoint(path, save_weights_only=True, save_freq=4)])
    saved = _model()
    steps = min(int(name[1:].split(".")[0]) for name in os.listdir(tmp_path))  # {batch} counts from 1
    assert steps == 4
    saved.load_weights(str(tmp_path / f"w{steps}.weights.h5"))
    for a, b in zip(saved.get_weights(), _after_single_steps(x, y, steps)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_learning_rate_scheduler_changes_the_rate_each_epoch_as_keras(xy):
    x, y = xy
    runs = []
    start = _model(keras).get_weights()
    for K in (keras, lamina):
        model = _model(K)
        model.set_weights(start)
        rates = []
        sched = K.callbacks.LearningRateScheduler(lambda epoch: 0.1 * 0.5 ** epoch)
        record = K.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs, m=model, r=rates: r.append(float(m.optimizer.learning_rate)))
        history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, callbacks=[sched, record])
        runs.append((rates, history.history["loss"], model.get_weights()))
    (k_rates, k_loss, k_w), (l_rates, l_loss, l_w) = runs
    np.testing.assert_allclose(l_rates, k_rates, rtol=1e-6)
    np.testing.assert_allclose(l_rates, [0.1, 0.05, 0.025], rtol=1e-6)
    np.testing.assert_allclose(l_loss, k_loss, rtol=1e-5)
    for a, b in zip(l_w, k_w):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_assigning_the_learning_rate_in_a_callback_takes_effect(xy):
    x, y = xy

    class Freeze(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                self.model.optimizer.learning_rate = 0.0

    model = _model()
    seen = []
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[
        Freeze(), callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(model.get_weights()))])
    for a, b in zip(seen[0], seen[1]):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.learning_rate == 0.0


def _two_outputs(L, M):
    i = L.Input((4,))
    h = L.Dense(8, activation="relu")(i)
    return M.Model(i, [L.Dense(3, activation="softmax", name="out1")(h), L.Dense(1, name="out2")(h)])


def test_multi_output_history_and_evaluate_as_keras(xy):
    x, _ = xy
    rng = np.random.default_rng(1)
    y1, y2 = rng.integers(0, 3, size=96), rng.normal(size=(96, 1)).astype("float32")
    keras.utils.set_random_seed(0)
    k_model, l_model = _two_outputs(keras.layers, keras.models), _two_outputs(layers, models)
    l_model.set_weights(k_model.get_weights())
    kwargs = dict(loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
                  metrics=[["accuracy"], ["mae"]])
    k_model.compile(optimizer=keras.optimizers.SGD(0.05), **kwargs)
    l_model.compile(optimizer=lamina.optimizers.SGD(0.05), **kwargs)
    fit = dict(batch_size=16, epochs=2, shuffle=False, verbose=0, validation_data=(x, [y1, y2]))
    kh, lh = k_model.fit(x, [y1, y2], **fit), l_model.fit(x, [y1, y2], **fit)
    assert sorted(lh.history) == sorted(kh.history)
    for key in kh.history:
        np.testing.assert_allclose(lh.history[key], kh.history[key], rtol=1e-5, err_msg=key)
    assert l_model.metrics_names == k_model.metrics_names
    np.testing.assert_allclose(l_model.evaluate(x, [y1, y2], verbose=0), k_model.evaluate(x, [y1, y2], verbose=0),
                               rtol=1e-5)
    k_dict = k_model.evaluate(x, [y1, y2], verbose=0, return_dict=True)
    l_dict = l_model.evaluate(x, [y1, y2], verbose=0, return_dict=True)
    assert sorted(l_dict) == sorted(k_dict)
