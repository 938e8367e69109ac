"""ConvNeXt and NASNet against Keras 3's: parameter counts, layer names and output shapes, weight order, and Keras's
weights (``.weights.h5`` and legacy ``.h5``) giving Keras's predictions on random images. Nothing is downloaded.

Keras's weight *paths* carry the name scopes it builds the models in (``convnext_tiny_stem/...`` for the layers of
the nested stem Sequential, ``reduction_A_block_stem_1/block_1/...`` for NASNet's cells); lamina's paths are
``layer/weight`` (a weight does not record the enclosing scopes), so the tests compare paths with those prefixes
removed. The files do not depend on them: ``.weights.h5`` is keyed by the layer tree, legacy ``.h5`` by layer name
and weight order."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

import lamina  # noqa: E402
from lamina import applications  # noqa: E402
from lamina.applications import convnext, nasnet  # noqa: E402

SMALL = (32, 32, 3)
CASES = [
    pytest.param("ConvNeXtTiny", dict(input_shape=SMALL, classes=10), id="ConvNeXtTiny-top", marks=pytest.mark.slow),
    pytest.param("ConvNeXtTiny", dict(include_top=False, input_shape=SMALL, pooling="max", include_preprocessing=False),
                 id="ConvNeXtTiny-max-noprep", marks=pytest.mark.slow),
    pytest.param("ConvNeXtSmall", dict(include_top=False, input_shape=SMALL, pooling="avg"), id="ConvNeXtSmall",
                 marks=pytest.mark.slow),
    pytest.param("ConvNeXtBase", dict(input_shape=SMALL, classes=5, classifier_activation=None), id="ConvNeXtBase",
                 marks=pytest.mark.slow),
    pytest.param("ConvNeXtLarge", dict(include_top=False, input_shape=SMALL), id="ConvNeXtLarge",
                 marks=pytest.mark.slow),
    pytest.param("ConvNeXtXLarge", dict(include_top=False, input_shape=SMALL, pooling="avg"), id="ConvNeXtXLarge",
                 marks=pytest.mark.slow),
    pytest.param("NASNetMobile", dict(include_top=False, input_shape=SMALL), id="NASNetMobile",
                 marks=pytest.mark.slow),
    pytest.param("NASNetLarge", dict(input_shape=SMALL, classes=10), id="NASNetLarge", marks=pytest.mark.slow),
]
_MODULES = {"ConvNeXt": "convnext", "NASNet": "nasnet"}


def _build(name: str, kwargs: dict) -> tuple:
    keras.backend.clear_session()
    k = getattr(keras.applications, name)(weights=None, **kwargs)
    lamina.backend.clear_session()
    m = getattr(applications, name)(weights=None, **kwargs)
    return m, k


def _compare_structure(m, k) -> None:
    assert m.name == k.name
    assert m.count_params() == k.count_params()
    # Input layers are named by each library's own counter; every other layer must match by name and shape.
    assert [(layer.name, tuple(layer.output.shape)) for layer in m.layers[1:]] == \
        [(layer.name, tuple(layer.output.shape)) for layer in k.layers[1:]]
    assert [tuple(w.shape) for w in m.weights] == [tuple(w.shape) for w in k.weights]
    for ours, theirs in zip([w.path for w in m.weights], [w.path for w in k.weights]):
        assert theirs == ours or theirs.endswith("/" + ours), (ours, theirs)  # equal up to Keras's name scopes
    assert [w.trainable for w in m.weights] == [w.trainable for w in k.weights]


def _randomize(k, seed: int = 0) -> None:
    """Random Keras weights, with positive BN variances so every layer matters."""
    rng = np.random.default_rng(seed)
    values = []
    for w in k.weights:
        v = rng.normal(0, 0.2 if len(w.shape) > 1 else 0.1, w.shape).astype("float32")
        if "moving_variance" in w.path:
            v = rng.uniform(0.5, 1.5, w.shape).astype("float32")
        values.append(v)
    k.set_weights(values)


def _close(m, x, expected) -> None:
    np.testing.assert_allclose(np.asarray(m.predict(x, verbose=0)), expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(("name", "kwargs"), CASES)
def test_matches_keras_and_loads_keras_weights(name, kwargs, tmp_path):
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    m, k = _build(name, kwargs)
    _compare_structure(m, k)
    _randomize(k)
    module = next(v for p, v in _MODULES.items() if name.startswith(p))
    raw = np.random.default_rng(1).uniform(0, 255, (2,) + kwargs["input_shape"]).astype("float32")
    x = getattr(keras.applications, module).preprocess_input(raw.copy())
    np.testing.assert_array_equal(getattr(applications, module).preprocess_input(raw.copy()), x)
    expected = np.asarray(k.predict(x, verbose=0))
    # Keras 3's .weights.h5 (keyed by the layer tree, the nested Sequential blocks included)
    path = str(tmp_path / "k.weights.h5")
    k.save_weights(path)
    m.load_weights(path)
    _close(m, x, expected)
    # the legacy HDF5 layout of Keras's published files (one group per top-level layer, weights in order)
    legacy = str(tmp_path / "k_legacy.h5")
    with h5py.File(legacy, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, k)
    m.set_weights([np.zeros(w.shape, "float32") for w in m.weights])
    m.load_weights(legacy)
    _close(m, x, expected)


def test_builder_weights_path_and_set_weights(tmp_path):
    kwargs = dict(include_top=False, input_shape=SMALL, pooling="avg")
    m, k = _build("ConvNeXtTiny", kwargs)
    _randomize(k, seed=4)
    x = np.random.default_rng(2).uniform(0, 255, (2,) + SMALL).astype("float32")
    expected = np.asarray(k.predict(x, verbose=0))
    m.set_weights(k.get_weights())
    _close(m, x, expected)
    path = str(tmp_path / "tiny.weights.h5")
    k.save_weights(path)
    lamina.backend.clear_session()
    _close(applications.ConvNeXtTiny(weights=path, **kwargs), x, expected)


def test_layer_scale_and_stochastic_depth():
    ls = convnext.LayerScale(0.25, 3)
    out = ls(np.ones((2, 3), "float32"))
    np.testing.assert_allclose(np.asarray(out), 0.25)
    assert ls.get_config()["projection_dim"] == 3 and ls.weights[0].trainable
    with pytest.raises(ValueError, match="projection_dim"):
        convnext.LayerScale(0.1, 4)(np.ones((1, 3), "float32"))
    sd = convnext.StochasticDepth(0.5)
    x = np.ones((64, 2, 2), "float32")
    np.testing.assert_array_equal(np.asarray(sd(x)), x)
    kept = np.asarray(sd(x, training=True))
    per_sample = kept.reshape(64, -1)
    assert set(np.unique(per_sample)) <= {0.0, 2.0}  # whole samples dropped or scaled by 1 / keep
    assert (per_sample == per_sample[:, :1]).all() and 0 < (per_sample[:, 0] == 0).sum() < 64
    assert sd.get_config()["drop_path_rate"] == 0.5


@pytest.mark.slow
def test_drop_path_rate_builds_keras_stochastic_depth_layers():
    keras.backend.clear_session()
    k = keras.src.applications.convnext.ConvNeXt(depths=[1, 1, 1, 1], projection_dims=[8, 16, 24, 32],
                                                 drop_path_rate=0.3, name="cnx", input_shape=SMALL,
                                                 include_top=False)
    lamina.backend.clear_session()
    m = convnext.ConvNeXt(depths=[1, 1, 1, 1], projection_dims=[8, 16, 24, 32], drop_path_rate=0.3, name="cnx",
                          input_shape=SMALL, include_top=False)
    assert [layer.name for layer in m.layers[1:]] == [layer.name for layer in k.layers[1:]]
    rates = [layer.drop_path_rate for layer in m.layers if isinstance(layer, convnext.StochasticDepth)]
    assert rates == pytest.approx([0.1, 0.2, 0.3])
    assert m.count_params() == k.count_params()


# --- imagenet weights go through get_file with Keras's file names, URLs and hashes (intercepted, no download) ---

IMAGENET_CASES = [
    ("ConvNeXtTiny", dict(include_top=False, input_shape=SMALL), "convnext_tiny_notop.h5",
     convnext.BASE_WEIGHTS_PATH + "convnext_tiny_notop.h5", convnext.WEIGHTS_HASHES["convnext_tiny"][1]),
    ("NASNetMobile", dict(include_top=False, input_shape=SMALL), "nasnet_mobile_no_top.h5",
     "https://storage.googleapis.com/tensorflow/keras-applications/nasnet/NASNet-mobile-no-top.h5",
     "1ed92395b5b598bdda52abe5c0dbfd63"),
]


@pytest.mark.parametrize(("name", "kwargs", "fname", "origin", "file_hash"), IMAGENET_CASES,
                         ids=[c[0] for c in IMAGENET_CASES])
def test_imagenet_weights_use_keras_files(name, kwargs, fname, origin, file_hash, monkeypatch):
    import lamina.utils.file_utils as file_utils

    calls = []

    class Stop(Exception):
        pass

    def fake_get_file(fname=None, origin=None, cache_subdir="datasets", file_hash=None, **kw):
        calls.append((fname, origin, cache_subdir, file_hash))
        raise Stop

    monkeypatch.setattr(file_utils, "get_file", fake_get_file)
    lamina.backend.clear_session()
    with pytest.raises(Stop):
        getattr(applications, name)(weights="imagenet", **kwargs)
    assert calls == [(fname, origin, "models", file_hash)]


def test_keras_weight_files_and_hashes_are_keras_s():
    from keras.src.applications import convnext as k_convnext
    from keras.src.applications import nasnet as k_nasnet

    assert convnext.WEIGHTS_HASHES == {k: tuple(v) for k, v in k_convnext.WEIGHTS_HASHES.items()}
    assert convnext.BASE_WEIGHTS_PATH == k_convnext.BASE_WEIGHTS_PATH
    assert convnext.MODEL_CONFIGS == k_convnext.MODEL_CONFIGS
    for attr in ("NASNET_MOBILE_WEIGHT_PATH", "NASNET_MOBILE_WEIGHT_PATH_NO_TOP", "NASNET_LARGE_WEIGHT_PATH",
                 "NASNET_LARGE_WEIGHT_PATH_NO_TOP"):
        assert getattr(nasnet, attr) == getattr(k_nasnet, attr)


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="`weights` argument"):
        applications.ConvNeXtTiny(weights=str(tmp_path / "missing.h5"))
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        applications.NASNetMobile(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="multiple of 24"):
        nasnet.NASNet(weights=None, penultimate_filters=100, include_top=False, input_shape=SMALL)
    with pytest.raises(ValueError, match="static"):
        nasnet.NASNetMobile(weights="imagenet", include_top=False, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="at least 32x32"):
        applications.ConvNeXtTiny(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="does not match weights variant"):
        applications.ConvNeXtTiny(weights="imagenet", include_top=False, input_shape=SMALL, name="mine")
    lamina.backend.set_image_data_format("channels_first")
    try:
        with pytest.raises(ValueError, match="channels_first"):
            applications.ConvNeXtTiny(weights=None)
        with pytest.raises(ValueError, match="channels_first"):
            applications.NASNetMobile(weights=None)
    finally:
        lamina.backend.set_image_data_format("channels_last")


def test_modules_and_names_are_keras_s():
    import keras.applications as ka

    for module in ("convnext", "nasnet"):
        theirs = {n for n in dir(getattr(ka, module)) if not n.startswith("_")}
        ours = getattr(applications, module)
        assert all(hasattr(ours, n) for n in theirs), theirs
        assert module in dir(applications)
    for name in ("ConvNeXtTiny", "ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtXLarge", "NASNetMobile",
                 "NASNetLarge"):
        assert callable(getattr(applications, name)) and name in dir(applications)
    x = np.random.default_rng(0).uniform(0, 255, (1, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(nasnet.preprocess_input(x.copy()), ka.nasnet.preprocess_input(x.copy()), rtol=1e-6)
    assert convnext.preprocess_input(x) is x


@pytest.mark.slow
def test_keras_files_with_convnext_layers_load(tmp_path):
    """``.keras`` files holding LayerScale/StochasticDepth: lamina's own round trip, and Keras's file in lamina."""
    config = dict(depths=[1, 1, 1, 1], projection_dims=[8, 16, 24, 32], drop_path_rate=0.2, name="cnx",
                  input_shape=SMALL, include_top=False)
    x = np.random.default_rng(3).uniform(0, 255, (2,) + SMALL).astype("float32")
    lamina.backend.clear_session()
    m = convnext.ConvNeXt(**config)
    m.save(str(tmp_path / "lamina.keras"))
    loaded = lamina.saving.load_model(str(tmp_path / "lamina.keras"))
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in m.layers]
    _close(loaded, x, np.asarray(m.predict(x, verbose=0)))
    keras.backend.clear_session()
    k = keras.src.applications.convnext.ConvNeXt(**config)
    _randomize(k, seed=5)
    k.save(str(tmp_path / "keras.keras"))
    lamina.backend.clear_session()
    from_keras = lamina.saving.load_model(str(tmp_path / "keras.keras"))
    assert isinstance(from_keras.get_layer("cnx_stage_0_block_0_layer_scale"), convnext.LayerScale)
    _close(from_keras, x, np.asarray(k.predict(x, verbose=0)))


def test_application_layer_lookup_imports_only_lamina_families():
    from lamina.saving.serialization_lib import retrieve_class

    assert retrieve_class({"module": "keras.src.applications.convnext", "class_name": "LayerScale"}) is \
        convnext.LayerScale
    assert retrieve_class({"module": "lamina.applications.convnext", "class_name": "StochasticDepth"}) is \
        convnext.StochasticDepth
    for module, name in (("keras.src.applications.os", "system"), ("lamina.applications.convnext", "np"),
                         ("keras.src.applications.convnext", "ConvNeXtTiny"), ("lamina.applications.x.os", "path")):
        assert retrieve_class({"module": module, "class_name": name}) is None, (module, name)
