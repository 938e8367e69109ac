"""``layers.Lambda`` against Keras 3: inferred shapes, outputs, serialization, and safe mode for bytecode."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.saving import UnsafeFileError

X = np.random.default_rng(1).normal(size=(4, 3)).astype("float32")


def double(t):
    return t * 2


CASES = [
    ("times2", dict(function=lambda t: t * 2)),
    ("arguments", dict(function=lambda t, k: t * k + 1, arguments={"k": 3.0})),
    ("reduce", dict(function=lambda t: t[:, :2] ** 2)),
    ("bool", dict(function=lambda t: t > 0)),
    ("output_shape", dict(function=lambda t: t[:, None, :], output_shape=(1, 3))),
    ("named", dict(function=double)),
]


def _model(k, kwargs):
    inputs = k.Input((3,))
    return k.Model(inputs, k.layers.Lambda(**kwargs)(inputs))


@pytest.mark.parametrize("name,kwargs", CASES, ids=[c[0] for c in CASES])
def test_lambda_matches_keras(name, kwargs, tmp_path):
    km, lm = _model(keras, kwargs), _model(lamina, kwargs)
    assert tuple(lm.output.shape) == tuple(km.output.shape)
    assert lm.output.dtype == keras.backend.standardize_dtype(km.output.dtype)
    want = km.predict(X, verbose=0)
    np.testing.assert_allclose(lm.predict(X, verbose=0), want, rtol=1e-6)
    lconf, kconf = lm.layers[1].get_config(), km.layers[1].get_config()
    assert sorted(lconf) == sorted(kconf)
    assert lconf["function"].get("class_name") == kconf["function"].get("class_name")
    custom = {"double": double}
    lm.save(tmp_path / "l.keras")
    km.save(tmp_path / "k.keras")
    for path in ("l.keras", "k.keras"):
        loaded = lamina.saving.load_model(tmp_path / path, safe_mode=False, custom_objects=custom)
        np.testing.assert_allclose(loaded.predict(X, verbose=0), want, rtol=1e-6)
    from_lamina = keras.saving.load_model(tmp_path / "l.keras", safe_mode=False, custom_objects=custom)
    np.testing.assert_allclose(from_lamina.predict(X, verbose=0), want, rtol=1e-6)


def test_bytecode_needs_safe_mode_false(tmp_path):
    model = _model(lamina, dict(function=lambda t: t + 1))
    model.save(tmp_path / "m.keras")
    with pytest.raises(UnsafeFileError, match="safe_mode=False"):
        lamina.saving.load_model(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="safe_mode=False"):
        layers.Lambda.from_config(model.layers[1].get_config())
    again = layers.Lambda.from_config(model.layers[1].get_config(), safe_mode=False)
    np.testing.assert_allclose(again(X), X + 1)


def test_named_function_needs_custom_objects(tmp_path):
    model = _model(lamina, dict(function=double))
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="custom_objects=\\{'double'"):
        lamina.saving.load_model(tmp_path / "m.keras", safe_mode=False)


def test_mask_and_training_arguments():
    seen = {}

    def fn(t, mask=None, training=None):
        seen["training"] = training
        return t

    layer = layers.Lambda(fn, mask=lambda t, m: t[:, 0] > 0)
    assert layer.supports_masking
    inputs = lamina.Input((3,))
    model = lamina.Model(inputs, layer(inputs))
    model.predict(X, verbose=0)
    assert seen["training"] is False
    np.testing.assert_array_equal(np.asarray(layer.compute_mask(X, None)), X[:, 0] > 0)


def test_summary_row():
    lamina.backend.clear_session()
    lines: list[str] = []
    _model(lamina, dict(function=lambda t: t[:, :2])).summary(print_fn=lines.append)
    assert any(line.startswith("lambda (Lambda)") and "(None, 2)" in line for line in lines)
