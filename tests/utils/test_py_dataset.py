"""``PyDataset``/``Sequence``: Keras's class shape, and ``fit``/``evaluate`` reading it with ``on_epoch_end``."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

import lamina  # noqa: E402
from lamina import layers  # noqa: E402
from lamina.utils import PyDataset, Sequence  # noqa: E402


class Batches(PyDataset):
    def __init__(self, n_batches=4, **kwargs):
        super().__init__(**kwargs)
        self.n_batches = n_batches
        self.epochs_ended = 0
        rng = np.random.default_rng(0)
        self.x = rng.normal(size=(n_batches * 8, 3)).astype("float32")
        self.y = self.x.sum(axis=1, keepdims=True)

    def __len__(self):
        return self.n_batches

    def __getitem__(self, index):
        rows = slice(index * 8, (index + 1) * 8)
        return self.x[rows], self.y[rows]

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_same_surface_as_keras():
    assert Sequence is PyDataset and keras.utils.Sequence is keras.utils.PyDataset
    public = {n for n in dir(keras.utils.PyDataset) if not n.startswith("_")}
    assert public <= {n for n in dir(PyDataset) if not n.startswith("_")}
    ds = Batches(workers=4, use_multiprocessing=True, max_queue_size=3)
    assert (ds.workers, ds.use_multiprocessing, ds.max_queue_size, ds.num_batches) == (4, True, 3, 4)


def test_fit_and_evaluate_read_it():
    ds = Batches()
    model = lamina.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(ds, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3 and history.history["loss"][-1] < history.history["loss"][0]
    assert ds.epochs_ended == 3
    assert np.isfinite(model.evaluate(ds, verbose=0))


def test_missing_methods_say_what_to_write():
    class Empty(PyDataset):
        pass

    with pytest.raises(NotImplementedError, match="__getitem__"):
        Empty()[0]
    assert Empty().num_batches is None
