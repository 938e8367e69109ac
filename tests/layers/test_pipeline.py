"""Pipeline against Keras 3: outputs for the same weights, training default, masks, configs, the weights-file
layout and ``.keras`` files both ways."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import json

import h5py
import keras
import numpy as np
import pytest

import lamina
from lamina import layers


def _pipe(lib):
    return lib.layers.Pipeline([lib.layers.Rescaling(0.5), lib.layers.Dense(4), lib.layers.BatchNormalization(),
                                lib.layers.Dropout(0.5)])


def _same_weights(k, lam, x):
    k(x), lam(x)
    rng = np.random.default_rng(0)
    k.set_weights([rng.uniform(0.5, 1.5, size=w.shape).astype("float32") for w in k.get_weights()])
    lam.set_weights(k.get_weights())


def test_outputs_and_weights_match_keras() -> None:
    x = np.random.default_rng(1).normal(size=(3, 5)).astype("float32")
    k, lam = _pipe(keras), _pipe(lamina)
    _same_weights(k, lam, x)
    assert [w.shape for w in lam.weights] == [tuple(w.shape) for w in k.weights]
    assert len(lam.trainable_weights) == len(k.trainable_weights) == 4
    np.testing.assert_allclose(np.asarray(lam(x, training=False)), np.asarray(k(x, training=False)), rtol=1e-5,
                               atol=1e-5)
    assert [la.name.split("_")[0] for la in lam.layers] == [la.name.split("_")[0] for la in k.layers]


def test_a_direct_call_trains_like_keras() -> None:
    """Keras's Pipeline.call defaults to training=True: Dropout drops and BatchNorm updates its statistics."""
    x = np.random.default_rng(2).normal(size=(64, 5)).astype("float32")
    lam = _pipe(lamina)
    lam(x, training=False)
    before = lam.layers[2].moving_mean.numpy().copy()
    out = np.asarray(lam(x))
    assert (out == 0).mean() > 0.3  # dropout active
    assert not np.allclose(lam.layers[2].moving_mean.numpy(), before)


def test_config_matches_keras_and_round_trips() -> None:
    k, lam = _pipe(keras), _pipe(lamina)
    kconf, lconf = k.get_config(), lam.get_config()
    assert set(kconf) == set(lconf) == {"layers", "name"}
    strip = lambda c: [{**la, "config": {kk: v for kk, v in la["config"].items() if kk != "name"}}  # noqa: E731
                       for la in c["layers"]]
    assert json.loads(json.dumps(strip(lconf))) == json.loads(json.dumps(strip(kconf)))
    again = layers.Pipeline.from_config(json.loads(json.dumps(kconf)))
    assert [type(la).__name__ for la in again.layers] == ["Rescaling", "Dense", "BatchNormalization", "Dropout"]
    with pytest.raises(ValueError, match="list of serialized layers"):
        layers.Pipeline.from_config({"name": "p"})


def test_masks_flow_through() -> None:
    pipe = layers.Pipeline([layers.Masking(0.0), layers.Dense(2)])
    x = np.array([[[1.0], [0.0]]], "float32")
    from lamina.layers.masks import get_mask

    assert np.asarray(get_mask(pipe(x))).tolist() == [[True, False]]


def _model(lib):
    inp = lib.Input((5,))
    return lib.Model(inp, lib.layers.Dense(1)(_pipe(lib)(inp)))


def _tree(path):
    out = []
    with h5py.File(path, "r") as f:
        f.visit(lambda name: out.append((name, getattr(f[name], "shape", None))))
    return sorted(out)


def test_keras_files_both_ways(tmp_path) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 5)).astype("float32")
    kmodel = _model(keras)
    kmodel.set_weights([rng.uniform(0.5, 1.5, size=w.shape).astype("float32") for w in kmodel.get_weights()])
    expected = kmodel.predict(x, verbose=0)
    kmodel.save(str(tmp_path / "k.keras"))
    lmodel = lamina.models.load_model(str(tmp_path / "k.keras"))
    np.testing.assert_allclose(np.asarray(lmodel.predict(x, verbose=0)), expected, rtol=1e-5, atol=1e-5)
    lmodel.save(str(tmp_path / "l.keras"))
    again = keras.models.load_model(str(tmp_path / "l.keras"))
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    kmodel.save_weights(str(tmp_path / "k.weights.h5"))
    lmodel.save_weights(str(tmp_path / "l.weights.h5"))
    assert _tree(tmp_path / "l.weights.h5") == _tree(tmp_path / "k.weights.h5")


def test_fit_and_explain() -> None:
    model = _model(lamina)
    model.compile("adam", "mse")
    x = np.random.default_rng(4).normal(size=(32, 5)).astype("float32")
    hist = model.fit(x, x[:, :1], epochs=2, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
    record = next(r for r in lamina.explain(model, print_fn=lambda line: None) if r.class_name == "Pipeline")
    assert record.arithmetic == "0 + 24 + 16 + 0 = 40"
