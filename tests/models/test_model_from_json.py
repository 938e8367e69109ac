"""``models.model_from_json`` reads Keras's ``to_json()``; ``models.save_model`` writes a loadable file."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

from lamina import models  # noqa: E402
from lamina.saving.safety import UnsafeFileError  # noqa: E402


def _keras_models():
    seq = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)])
    inputs = keras.Input((5,))
    functional = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Dense(3)(inputs)))
    return [seq, functional]


@pytest.mark.parametrize("index", [0, 1], ids=["sequential", "functional"])
def test_model_from_keras_json(index, tmp_path):
    source = _keras_models()[index]
    model = models.model_from_json(source.to_json())
    assert model.count_params() == source.count_params()
    assert [w.shape for w in model.get_weights()] == [tuple(w.shape) for w in source.get_weights()]
    model.set_weights(source.get_weights())
    x = np.random.default_rng(0).normal(size=(2,) + tuple(source.input_shape[1:])).astype("float32")
    np.testing.assert_allclose(np.asarray(model.predict(x, verbose=0)), source.predict(x, verbose=0), atol=1e-5)
    path = tmp_path / "m.keras"
    models.save_model(model, path)
    assert keras.models.load_model(path).count_params() == source.count_params()


def test_lambda_in_json_is_refused():
    source = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda t: t * 2)])
    with pytest.raises(UnsafeFileError):
        models.model_from_json(source.to_json())
