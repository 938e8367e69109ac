"""Chunked train steps (CPU convolution models): the same training as whole batches, and only where exact."""

import numpy as np
import pytest

from lamina import layers, losses, models, utils
from lamina.training import loop, speed


def _cnn(extra=(), loss="sparse_categorical_crossentropy", optimizer="adam", steps_per_execution=1):
    utils.set_random_seed(1)
    model = models.Sequential([layers.Input((8, 8, 2)), layers.Conv2D(4, 3, activation="relu"),
                               layers.MaxPooling2D(2), *extra, layers.Flatten(),
                               layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"], steps_per_execution=steps_per_execution)
    return model


@pytest.fixture()
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8, 8, 2)).astype("float32")  # batches of 64: 3 chunked, a last one of 8 whole
    y = rng.integers(0, 3, size=200).astype("int32")
    sw = rng.uniform(0.5, 2.0, size=200).astype("float32")
    return x, y, sw


def test_chunked_steps_train_like_whole_batches(data, monkeypatch):
    x, y, sw = data
    runs = []
    for allowed in (False, True):
        model = _cnn()
        assert model._micro_batching_allowed()
        if not allowed:
            monkeypatch.setattr(model, "_micro_batching_allowed", lambda: False)
        np.random.seed(0)
        history = model.fit(x, y, sample_weight=sw, batch_size=64, epochs=2, verbose=0)
        runs.append((history.history, model.get_weights()))
    (h_whole, w_whole), (h_chunked, w_chunked) = runs
    for key in h_whole:
        np.testing.assert_allclose(h_chunked[key], h_whole[key], rtol=1e-5, atol=1e-6)
    for a, b in zip(w_chunked, w_whole):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_the_split_is_used_for_convolution_models(data, monkeypatch):
    x, y, _ = data
    calls = []
    original = speed.micro_batched
    monkeypatch.setattr(speed, "micro_batched", lambda *a: calls.append(a[1]) or original(*a))
    _cnn().fit(x, y, batch_size=64, epochs=1, verbose=0)
    assert calls == [16]  # traced once for the batches of 64; the last batch of 8 runs whole


def test_auto_pacing_splits_only_its_fused_calls(monkeypatch):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32 * 12, 8, 8, 2)).astype("float32"), rng.integers(0, 3, size=32 * 12).astype("int32")
    traced = []
    original = loop.indexed_train_step
    monkeypatch.setattr(loop, "indexed_train_step",
                        lambda model, dist, split: traced.append(split) or original(model, dist, split))
    model = _cnn(steps_per_execution="auto")
    model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    # single steps (the first, compiled call and the timed ones) keep batches whole; fused calls split them
    assert traced == [False, True]


@pytest.mark.parametrize("case", ["batchnorm", "activity_regularizer", "ignore_class", "sum_reduction", "dense"])
def test_no_split_where_results_would_change(case):
    if case == "batchnorm":
        model = _cnn(extra=[layers.BatchNormalization()])
    elif case == "activity_regularizer":
        model = _cnn(extra=[layers.Dense(2, activity_regularizer="l2")])
    elif case == "ignore_class":
        model = _cnn(loss=losses.SparseCategoricalCrossentropy(ignore_class=0))
    elif case == "sum_reduction":
        model = _cnn(loss=losses.SparseCategoricalCrossentropy(reduction="sum"))
    else:
        utils.set_random_seed(1)
        model = models.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model._compiled.resolve(model, np.zeros((2,), "int32"))
    assert not model._micro_batching_allowed()


def test_a_custom_layer_keeps_whole_batches():
    class Scale(layers.Layer):
        def call(self, inputs):
            return inputs * 2.0

    model = _cnn(extra=[Scale()])
    model._compiled.resolve(model, np.zeros((2,), "int32"))
    assert not model._micro_batching_allowed()
