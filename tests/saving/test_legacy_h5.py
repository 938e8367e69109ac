"""Legacy HDF5 files: Keras 3 writes ``.h5`` models, lamina loads them (and the reverse); a hand-built Keras 2
file tests the Keras 2 config dialect; safety rules as for ``.keras``."""

from __future__ import annotations

import json
import os

import h5py
import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

import lamina  # noqa: E402
from lamina.saving import UnsafeFileError  # noqa: E402
from tests.saving.builders import LAMINA, assert_same_outputs, keras_model, randomize, sample_inputs  # noqa: E402

KINDS = ["seq_dense", "seq_reshape", "multi_io_shared", "nested", "cnn", "rnn"]


def _keras_randomized(kind: str):
    keras.backend.clear_session()
    model = keras_model(kind)
    rng = np.random.default_rng(0)
    model.set_weights([rng.uniform(0.05, 0.5, np.shape(w)).astype("float32") for w in model.get_weights()])
    return model


@pytest.mark.parametrize("kind", KINDS)
def test_keras_h5_model_loads_with_equal_predictions(tmp_path, kind):
    kmodel = _keras_randomized(kind)
    path = str(tmp_path / "m.h5")
    kmodel.save(path)
    model = lamina.models.load_model(path)
    assert [layer.name for layer in model.layers] == [layer.name for layer in kmodel.layers]
    assert model.count_params() == kmodel.count_params()
    x = sample_inputs(kind)
    assert_same_outputs(model.predict(x, verbose=0), kmodel.predict(x, verbose=0))


@pytest.mark.parametrize("kind", ["seq_dense", "multi_io_shared", "nested", "cnn", "rnn"])
def test_lamina_h5_model_loads_in_keras(tmp_path, kind):
    lamina.backend.clear_session()
    model = LAMINA[kind]()
    randomize(model)
    path = str(tmp_path / "m.h5")
    model.save(path)
    keras.backend.clear_session()
    kmodel = keras.models.load_model(path)
    x = sample_inputs(kind)
    assert_same_outputs(model.predict(x, verbose=0), kmodel.predict(x, verbose=0))
    # and the file's layout is Keras's
    with h5py.File(path) as f:
        assert {"keras_version", "backend", "model_config"} <= set(f.attrs)
        group = f["model_weights"]
        assert [n.decode() if isinstance(n, bytes) else n for n in group.attrs["layer_names"]] == \
            [layer.name for layer in model.layers]
        assert "top_level_model_weights" in group


def test_compiled_model_round_trip_keeps_compile_and_optimizer_state(tmp_path):
    keras.backend.clear_session()
    kmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])
    kmodel.compile(keras.optimizers.Adam(0.01), "mse", metrics=["mae"])
    x, y = np.random.default_rng(0).normal(size=(32, 4)).astype("float32"), np.ones((32, 1), "float32")
    kmodel.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "c.h5")
    kmodel.save(path)
    model = lamina.models.load_model(path)
    assert model.optimizer.get_config()["learning_rate"] == pytest.approx(0.01)
    assert int(model.optimizer.iterations) == 1
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), kmodel.evaluate(x, y, verbose=0), rtol=1e-5)
    model.fit(x, y, epochs=1, verbose=0)
    kmodel.fit(x, y, epochs=1, verbose=0)
    assert_same_outputs(model.predict(x, verbose=0), kmodel.predict(x, verbose=0), atol=1e-5)
    # lamina writes the compile settings back
    out = str(tmp_path / "c2.h5")
    model.save(out)
    keras.backend.clear_session()
    with h5py.File(out) as f:
        training = json.loads(f.attrs["training_config"])
    assert training["loss"] == "mse" and training["metrics"] == ["mae"]
    assert training["optimizer_config"]["class_name"] == "Adam"
    # Keras 3.15 cannot compile its own legacy files with a loss given by name ('keras.metrics.mse' error)
    again = keras.models.load_model(out, compile=False)
    assert_same_outputs(again.predict(x, verbose=0), model.predict(x, verbose=0))


def _keras_weights_only_h5(kmodel, path: str) -> None:
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, kmodel)


def test_load_weights_topological_by_name_and_skip_mismatch(tmp_path):
    kmodel = _keras_randomized("cnn")
    path = str(tmp_path / "w.h5")
    _keras_weights_only_h5(kmodel, path)
    lamina.backend.clear_session()
    model = LAMINA["cnn"]()
    model.load_weights(path)
    x = sample_inputs("cnn")
    assert_same_outputs(model.predict(x, verbose=0), kmodel.predict(x, verbose=0))

    # by name: a model whose layers are renamed/reordered picks only the matching names
    L = lamina.layers
    lamina.backend.clear_session()
    partial = lamina.Sequential([L.Input((8, 8, 2)), L.Conv2D(4, 3, name="conv2d"), L.GlobalAveragePooling2D(),
                                 L.Dense(2, name="other")])
    before = partial.get_layer("other").get_weights()
    partial.load_weights(path, by_name=True)
    np.testing.assert_array_equal(partial.get_layer("conv2d").get_weights()[0],
                                  kmodel.get_layer("conv2d").get_weights()[0])
    np.testing.assert_array_equal(partial.get_layer("other").get_weights()[0], before[0])

    # shapes differ: error by default, skipped with skip_mismatch
    lamina.backend.clear_session()
    wrong = lamina.Sequential([L.Input((8, 8, 2)), L.Conv2D(4, 3), L.BatchNormalization(), L.MaxPooling2D(),
                               L.Conv2D(3, 2, padding="same"), L.GlobalAveragePooling2D(), L.Dense(5)])
    with pytest.raises(ValueError, match="Shape mismatch"):
        wrong.load_weights(path)
    with pytest.warns(UserWarning, match="skip_mismatch"):
        wrong.load_weights(path, skip_mismatch=True)
    np.testing.assert_array_equal(wrong.layers[0].get_weights()[0], kmodel.layers[0].get_weights()[0])
    with pytest.raises(ValueError, match="by_name"):
        model.load_weights(str(tmp_path / "x.weights.h5"), by_name=True)


def test_full_model_h5_loads_as_weights(tmp_path):
    kmodel = _keras_randomized("seq_dense")
    path = str(tmp_path / "m.h5")
    kmodel.save(path)
    lamina.backend.clear_session()
    model = LAMINA["seq_dense"]()
    model.load_weights(path)
    x = sample_inputs("seq_dense")
    assert_same_outputs(model.predict(x, verbose=0), kmodel.predict(x, verbose=0))


# ------------------------------------------------------------------------------------------------ Keras 2
def _write_keras2_file(path: str, config: dict, weights: dict[str, dict[str, np.ndarray]], layer_names: list[str],
                       training: dict | None = None) -> None:
    """An HDF5 file laid out as Keras 2.x / tf.keras wrote it (``name:0`` weight names, string attrs)."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.4.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(config)
        if training:
            f.attrs["training_config"] = json.dumps(training)
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [n.encode() for n in layer_names]
        g.attrs["backend"] = b"tensorflow"
        g.attrs["keras_version"] = b"2.4.0"
        for name in layer_names:
            lg = g.create_group(name)
            names = list(weights.get(name, {}))
            lg.attrs["weight_names"] = [n.encode() for n in names]
            for wname, value in weights.get(name, {}).items():
                lg.create_dataset(wname, data=value)


def _init(name):
    return {"class_name": name, "config": {"seed": None}} if name == "GlorotUniform" else {"class_name": name,
                                                                                          "config": {}}


def _dense2(name, units, activation="linear", **extra):
    return {"class_name": "Dense", "config": {
        "name": name, "trainable": True, "dtype": "float32", "units": units, "activation": activation,
        "use_bias": True, "kernel_initializer": _init("GlorotUniform"), "bias_initializer": _init("Zeros"),
        "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "bias_constraint": None, **extra}}


def test_keras2_sequential_with_batch_input_shape(tmp_path):
    rng = np.random.default_rng(0)
    k1, b1 = rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(3,)).astype("float32")
    gamma, beta = np.full(3, 1.5, "float32"), np.full(3, 0.1, "float32")
    mean, var = np.full(3, 0.2, "float32"), np.full(3, 2.0, "float32")
    k2, b2 = rng.normal(size=(3, 2)).astype("float32"), np.zeros(2, "float32")
    bn = {"class_name": "BatchNormalization", "config": {
        "name": "batch_normalization", "trainable": True, "dtype": "float32", "axis": [1], "momentum": 0.99,
        "epsilon": 0.001, "center": True, "scale": True, "beta_initializer": _init("Zeros"),
        "gamma_initializer": _init("Ones"), "moving_mean_initializer": _init("Zeros"),
        "moving_variance_initializer": _init("Ones"), "beta_regularizer": None, "gamma_regularizer": None,
        "beta_constraint": None, "gamma_constraint": None}}
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        _dense2("dense", 3, "relu", batch_input_shape=[None, 4]), bn, _dense2("dense_1", 2, "softmax")]}}
    weights = {"dense": {"dense/kernel:0": k1, "dense/bias:0": b1},
               "batch_normalization": {"batch_normalization/gamma:0": gamma, "batch_normalization/beta:0": beta,
                                       "batch_normalization/moving_mean:0": mean,
                                       "batch_normalization/moving_variance:0": var},
               "dense_1": {"dense_1/kernel:0": k2, "dense_1/bias:0": b2}}
    training = {"loss": "categorical_crossentropy", "metrics": ["accuracy"], "weighted_metrics": None,
                "loss_weights": None, "optimizer_config": {"class_name": "Adam", "config": {
                    "name": "Adam", "learning_rate": 0.002, "decay": 0.0, "beta_1": 0.9, "beta_2": 0.999,
                    "epsilon": 1e-07, "amsgrad": False}}}
    path = str(tmp_path / "k2.h5")
    _write_keras2_file(path, config, weights, ["dense", "batch_normalization", "dense_1"], training)
    model = lamina.models.load_model(path)
    x = rng.normal(size=(5, 4)).astype("float32")
    h = np.maximum(x @ k1 + b1, 0)
    h = (h - mean) / np.sqrt(var + 1e-3) * gamma + beta
    logits = h @ k2 + b2
    expected = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)
    assert model.optimizer.get_config()["learning_rate"] == pytest.approx(0.002)
    # (Keras 3.15's own legacy reader misreads this file: it turns the Dense layer's batch_input_shape [None, 4]
    # into input_shape, i.e. inputs of (None, None, 4); the expected values come from NumPy instead.)


def test_keras2_functional_with_list_inbound_nodes(tmp_path):
    rng = np.random.default_rng(1)
    ka, kb = rng.normal(size=(4, 2)).astype("float32"), rng.normal(size=(4, 2)).astype("float32")
    config = {"class_name": "Model", "config": {"name": "model", "layers": [
        {"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [], "config": {
            "batch_input_shape": [None, 4], "dtype": "float32", "sparse": False, "ragged": False, "name": "input_1"}},
        {**_dense2("a", 2), "name": "a", "inbound_nodes": [[["input_1", 0, 0, {}]]]},
        {**_dense2("b", 2), "name": "b", "inbound_nodes": [[["input_1", 0, 0, {}]]]},
        {"class_name": "Add", "name": "add", "config": {"name": "add", "trainable": True, "dtype": "float32"},
         "inbound_nodes": [[["a", 0, 0, {}], ["b", 0, 0, {}]]]}],
        "input_layers": [["input_1", 0, 0]], "output_layers": [["add", 0, 0]]}}
    zeros = np.zeros(2, "float32")
    weights = {"a": {"a/kernel:0": ka, "a/bias:0": zeros}, "b": {"b/kernel:0": kb, "b/bias:0": zeros}}
    path = str(tmp_path / "k2f.h5")
    _write_keras2_file(path, config, weights, ["input_1", "a", "b", "add"])
    model = lamina.models.load_model(path)
    x = rng.normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), x @ ka + x @ kb, atol=1e-5)
    assert [layer.name for layer in model.layers] == ["input_1", "a", "b", "add"]
    keras.backend.clear_session()
    np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0), x @ ka + x @ kb, atol=1e-5)


def test_keras2_removed_arguments_are_dropped_with_a_warning(tmp_path):
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3], "dtype": "float32", "name": "i"}},
        {"class_name": "Dropout", "config": {"name": "drop", "rate": 0.5, "noise_shape": None, "seed": None,
                                             "dtype": "float32", "trainable": True, "obsolete_arg": 3}},
        _dense2("d", 1)]}}
    path = str(tmp_path / "old.h5")
    _write_keras2_file(path, config, {"d": {"d/kernel:0": np.ones((3, 1), "float32"),
                                            "d/bias:0": np.zeros(1, "float32")}}, ["drop", "d"])
    with pytest.warns(UserWarning, match="obsolete_arg"):
        model = lamina.models.load_model(path)
    assert model.predict(np.ones((1, 3)), verbose=0).tolist() == [[3.0]]


# ------------------------------------------------------------------------------------------------- safety
def test_lambda_layer_in_h5_is_refused(tmp_path):
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3], "name": "i"}},
        {"class_name": "Lambda", "config": {"name": "l", "function": ["4wEAAAAAAAAA", None, None],
                                            "function_type": "lambda"}}]}}
    path = str(tmp_path / "lambda.h5")
    _write_keras2_file(path, config, {}, ["l"])
    with pytest.raises(UnsafeFileError, match="Lambda"):
        lamina.models.load_model(path)


def test_external_link_and_non_numeric_datasets_are_refused(tmp_path):
    kmodel = _keras_randomized("seq_dense")
    path = str(tmp_path / "m.h5")
    kmodel.save(path)
    outside = tmp_path / "outside.h5"
    with h5py.File(outside, "w") as f:
        f.create_dataset("kernel", data=np.ones((24, 10), "float32"))
    with h5py.File(path, "a") as f:
        group = f["model_weights/foo"]
        name = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]][0]
        del group[name]
        group[name] = h5py.ExternalLink(str(outside), "kernel")
    with pytest.raises(UnsafeFileError, match="ExternalLink"):
        lamina.models.load_model(path)
    with h5py.File(path, "a") as f:
        group = f["model_weights/foo"]
        del group[name]
        group.create_dataset(name, data=np.array([b"x" * 10] * 24))
    with pytest.raises(UnsafeFileError, match="not numeric"):
        lamina.models.load_model(path)


def test_missing_config_and_garbage(tmp_path):
    kmodel = _keras_randomized("cnn")
    path = str(tmp_path / "w.h5")
    _keras_weights_only_h5(kmodel, path)
    with pytest.raises(ValueError, match="weights only"):
        lamina.models.load_model(path)
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(UnsafeFileError, match="HDF5"):
        lamina.models.load_model(str(bad))
    deep = tmp_path / "deep.h5"
    with h5py.File(deep, "w") as f:
        f.attrs["model_config"] = "[" * 5000 + "]" * 5000
    with pytest.raises(UnsafeFileError, match="deeper"):
        lamina.models.load_model(str(deep))
