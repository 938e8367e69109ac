"""EfficientNetB0-B7, EfficientNetV2B0-L and MobileNetV3Small/Large against Keras 3's: every model's layer names,
output shapes, weight paths, parameter count, and Keras's weights (``.weights.h5`` and legacy ``.h5``) giving Keras's
predictions. Nothing is downloaded: the imagenet path is checked with a file Keras writes in the test."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

import lamina  # noqa: E402
from lamina import applications  # noqa: E402

SMALL = (32, 32, 3)
MODULE_OF = {**{f"EfficientNetB{i}": "efficientnet" for i in range(8)},
             **{f"EfficientNetV2{v}": "efficientnet_v2" for v in ("B0", "B1", "B2", "B3", "S", "M", "L")},
             "MobileNetV3Small": "mobilenet_v3", "MobileNetV3Large": "mobilenet_v3"}

# Every model at the smallest input Keras allows (32x32), often with the top and logits. Each takes 20-70 s on a
# shared 2-core CPU (Keras's build and two XLA compiles), so all but one are marked slow; the fast imagenet test
# below also checks B0, V2B0 and V3Small predictions.
FAST = [
    ("MobileNetV3Small", dict(input_shape=(40, 48, 3), minimalistic=True, alpha=0.75, include_top=False,
                              pooling="max")),
]
SLOW = [
    ("EfficientNetB0", dict(input_shape=SMALL, classes=10, classifier_activation=None)),
    ("EfficientNetV2B0", dict(input_shape=SMALL, classes=10, classifier_activation=None)),
    ("MobileNetV3Small", dict(input_shape=SMALL, classes=10, classifier_activation=None)),
    ("MobileNetV3Large", dict(input_shape=SMALL, include_top=False, pooling="avg")),
    ("EfficientNetB1", dict(input_shape=SMALL, include_top=False, pooling="avg")),
    ("EfficientNetB2", dict(input_shape=SMALL, classes=10, classifier_activation=None)),
    ("EfficientNetB3", dict(input_shape=SMALL, include_top=False, pooling="max")),
    ("EfficientNetB4", dict(input_shape=SMALL, include_top=False)),
    ("EfficientNetB5", dict(input_shape=SMALL, include_top=False, pooling="avg")),
    ("EfficientNetB6", dict(input_shape=SMALL, include_top=False, pooling="avg")),
    ("EfficientNetB7", dict(input_shape=SMALL, classes=10, classifier_activation=None)),
    ("EfficientNetV2B1", dict(input_shape=SMALL, include_top=False, pooling="avg")),
    ("EfficientNetV2B2", dict(input_shape=SMALL, classes=10, classifier_activation=None)),
    ("EfficientNetV2B3", dict(input_shape=SMALL, include_top=False, pooling="max",
                              include_preprocessing=False)),
    ("EfficientNetV2S", dict(input_shape=SMALL, classes=10, classifier_activation=None)),
    ("EfficientNetV2M", dict(input_shape=SMALL, include_top=False, pooling="avg")),
    ("EfficientNetV2L", dict(input_shape=SMALL, include_top=False, pooling="avg")),
    ("MobileNetV3Large", dict(input_shape=SMALL, alpha=1.25, minimalistic=True, classes=10, dropout_rate=0.0,
                              classifier_activation=None)),
]


def _ids(cases):
    return [f"{n}-{'-'.join(f'{a}={b}' for a, b in kw.items())}" for n, kw in cases]


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
    assert [(la.name, tuple(la.output.shape)) for la in m.layers[1:]] == \
        [(la.name, tuple(la.output.shape)) for la in k.layers[1:]]
    assert [(w.path, tuple(w.shape)) for w in m.weights] == [(w.path, tuple(w.shape)) for w in k.weights]
    assert len(m.trainable_weights) == len(k.trainable_weights)


def _randomize(k, seed: int = 0) -> None:
    """Random Keras weights, with positive variances (BN and Normalization) so every layer matters."""
    rng = np.random.default_rng(seed)
    values = []
    for w in k.weights:
        if "variance" in w.path:
            v = rng.uniform(0.5, 1.5, w.shape)
        elif w.path.endswith("count"):
            v = np.array(7)
        else:
            v = rng.normal(0, 0.2 if len(w.shape) > 1 else 0.1, w.shape)
        values.append(np.asarray(v, dtype=w.dtype))
    k.set_weights(values)


def _save_legacy_h5(k, path: str) -> str:
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, k)
    return path


def _check(name: str, kwargs: dict, tmp_path) -> None:
    m, k = _build(name, kwargs)
    _compare_structure(m, k)
    _randomize(k)
    x = np.random.default_rng(1).uniform(0, 255, (2,) + kwargs["input_shape"]).astype("float32")
    expected = np.asarray(k.predict(x, verbose=0))
    assert np.all(np.isfinite(expected)) and np.ptp(expected) > 1e-3, "uninformative outputs"
    weights_path = str(tmp_path / "k.weights.h5")
    k.save_weights(weights_path)
    legacy_path = _save_legacy_h5(k, str(tmp_path / "k_legacy.h5"))
    # legacy HDF5 (the format of the published files), then Keras 3's .weights.h5 over zeroed weights; one compile
    m.load_weights(legacy_path)
    np.testing.assert_allclose(np.asarray(m.predict(x, verbose=0)), expected, atol=1e-4, rtol=1e-4)
    m.set_weights([np.zeros(w.shape, w.dtype) for w in m.weights])
    m.load_weights(weights_path)
    np.testing.assert_allclose(np.asarray(m.predict(x, verbose=0)), expected, atol=1e-4, rtol=1e-4)
    # the builder's weights=PATH loads the same arrays
    lamina.backend.clear_session()
    m = getattr(applications, name)(weights=weights_path, **kwargs)
    for got, want in zip(m.get_weights(), k.get_weights(), strict=True):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


@pytest.mark.parametrize(("name", "kwargs"), FAST, ids=_ids(FAST))
def test_matches_keras_and_loads_its_weights(name, kwargs, tmp_path):
    _check(name, kwargs, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "kwargs"), SLOW, ids=_ids(SLOW))
def test_matches_keras_and_loads_its_weights_deep(name, kwargs, tmp_path):
    _check(name, kwargs, tmp_path)


def test_every_builder_is_covered():
    covered = {name for name, _ in FAST + SLOW}
    assert covered == set(MODULE_OF)
    for name, module in MODULE_OF.items():
        assert getattr(applications, name) is getattr(importlib.import_module(f"lamina.applications.{module}"), name)
    assert {"efficientnet", "efficientnet_v2", "mobilenet_v3"} <= set(dir(applications))


# --- weights="imagenet": Keras's file names, URLs and hashes through get_file, and the imagenet-only layers ---

IMAGENET_FILES = [
    ("EfficientNetB0", dict(), "efficientnetb0.h5", "https://storage.googleapis.com/keras-applications/",
     "902e53a9f72be733fc0bcb005b3ebbac"),
    ("EfficientNetB7", dict(include_top=False), "efficientnetb7_notop.h5",
     "https://storage.googleapis.com/keras-applications/", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
    ("EfficientNetV2B0", dict(include_top=False), "efficientnetv2-b0_notop.h5",
     "https://storage.googleapis.com/tensorflow/keras-applications/efficientnet_v2/",
     "893217f2bb855e2983157299931e43ff"),
    ("EfficientNetV2S", dict(), "efficientnetv2-s.h5",
     "https://storage.googleapis.com/tensorflow/keras-applications/efficientnet_v2/",
     "e1d88a8495beba45748fedd0cecbe016"),
    ("EfficientNetV2L", dict(include_top=False), "efficientnetv2-l_notop.h5",
     "https://storage.googleapis.com/tensorflow/keras-applications/efficientnet_v2/",
     "b0b66b5c863aef5b46e8608fe1711615"),
    ("MobileNetV3Small", dict(input_shape=(224, 224, 3)), "weights_mobilenet_v3_small_224_1.0_float.h5",
     "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/",
     "8768d4c2e7dee89b9d02b2d03d65d862"),
    ("MobileNetV3Large", dict(input_shape=(224, 224, 3), alpha=0.75, include_top=False),
     "weights_mobilenet_v3_large_224_0.75_float_no_top_v2.h5",
     "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/",
     "40af19a13ebea4e2ee0c676887f69a2e"),
    ("MobileNetV3Large", dict(input_shape=(224, 224, 3), minimalistic=True),
     "weights_mobilenet_v3_large_minimalistic_224_1.0_float.h5",
     "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/",
     "675e7b876c45c57e9e63e6d90a36599c"),
]


class _Stop(Exception):
    pass


@pytest.mark.parametrize(("name", "kwargs", "fname", "base", "file_hash"), IMAGENET_FILES,
                         ids=[f"{c[0]}-{c[2]}" for c in IMAGENET_FILES])
def test_imagenet_weights_use_keras_files(name, kwargs, fname, base, file_hash, monkeypatch):
    import lamina.utils.file_utils as file_utils

    calls = []

    def fake_get_file(fname=None, origin=None, cache_subdir="datasets", file_hash=None, **kw):
        calls.append((fname, origin, cache_subdir, file_hash))
        raise _Stop

    monkeypatch.setattr(file_utils, "get_file", fake_get_file)
    lamina.backend.clear_session()
    with pytest.raises(_Stop):
        getattr(applications, name)(weights="imagenet", **kwargs)
    assert calls == [(fname, base + fname, "models", file_hash)]


@pytest.mark.parametrize("name", ["EfficientNetB0", "EfficientNetV2B0", "MobileNetV3Small"])
def test_imagenet_model_matches_keras_imagenet_model(name, tmp_path, monkeypatch):
    """weights="imagenet" builds (EfficientNet adds a Rescaling by 1/sqrt(std)) and loads a legacy .h5 from get_file,
    in both libraries, from the same Keras-written file: same layers, same predictions."""
    import keras.src.utils.file_utils as k_file_utils

    import lamina.utils.file_utils as file_utils

    kwargs = dict(include_top=False, input_shape=SMALL, pooling="avg")
    keras.backend.clear_session()
    k = getattr(keras.applications, name)(weights=None, **kwargs)
    _randomize(k, seed=4)
    path = _save_legacy_h5(k, str(tmp_path / "imagenet.h5"))
    for module in (file_utils, k_file_utils):
        monkeypatch.setattr(module, "get_file", lambda *a, **kw: path)
    with pytest.warns(UserWarning) if name == "MobileNetV3Small" else _nothing():
        keras.backend.clear_session()
        k = getattr(keras.applications, name)(weights="imagenet", **kwargs)
    with pytest.warns(UserWarning) if name == "MobileNetV3Small" else _nothing():
        lamina.backend.clear_session()
        m = getattr(applications, name)(weights="imagenet", **kwargs)
    assert [la.name for la in m.layers[1:]] == [la.name for la in k.layers[1:]]
    x = np.random.default_rng(5).uniform(0, 255, (2,) + SMALL).astype("float32")
    np.testing.assert_allclose(np.asarray(m.predict(x, verbose=0)), np.asarray(k.predict(x, verbose=0)),
                               atol=1e-4, rtol=1e-4)


def _nothing():
    import contextlib

    return contextlib.nullcontext()


# --- arguments, as Keras ---

def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="`weights` argument"):
        applications.EfficientNetB0(weights=str(tmp_path / "missing.h5"))
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        applications.EfficientNetV2B0(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="at least 32x32"):
        applications.EfficientNetB0(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="at least 32x32"):
        applications.MobileNetV3Small(weights=None, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="alpha can be one of"):
        applications.MobileNetV3Small(weights="imagenet", alpha=0.5)
    with pytest.raises(ValueError, match="alpha can be one of"):
        applications.MobileNetV3Large(weights="imagenet", alpha=0.75, minimalistic=True)
    with pytest.raises(ValueError, match="repeats"):
        applications.efficientnet.EfficientNet(1.0, 1.0, 224, weights=None, blocks_args=[
            dict(kernel_size=3, repeats=0, filters_in=32, filters_out=16, expand_ratio=1, id_skip=True, strides=1,
                 se_ratio=0.25)])


def test_default_shapes_and_input_tensor():
    lamina.backend.clear_session()
    assert tuple(applications.EfficientNetB0(weights=None).input.shape) == (None, 224, 224, 3)
    assert tuple(applications.EfficientNetV2S(weights=None, include_top=False).input.shape) == (None, None, None, 3)
    assert tuple(applications.MobileNetV3Small(weights=None).input.shape) == (None, None, None, 3)
    inp = lamina.layers.Input((64, 64, 3))
    m = applications.MobileNetV3Small(weights=None, include_top=False, input_tensor=inp)
    assert m.inputs[0] is inp and tuple(m.output.shape) == (None, 2, 2, 576)
    m = applications.EfficientNetV2B1(weights=None, include_top=False, input_tensor=inp, pooling="avg")
    assert m.inputs[0] is inp and tuple(m.output.shape) == (None, 1280)


@pytest.mark.parametrize("module", ["efficientnet", "efficientnet_v2", "mobilenet_v3"])
def test_preprocess_input_is_a_pass_through_and_decode_is_imagenet(module):
    lam = importlib.import_module(f"lamina.applications.{module}")
    ker = importlib.import_module(f"keras.applications.{module}")
    x = np.random.default_rng(0).uniform(0, 255, (1, 4, 4, 3)).astype("float32")
    assert lam.preprocess_input(x) is x
    np.testing.assert_array_equal(lam.preprocess_input(x.copy()), ker.preprocess_input(x.copy()))
    with pytest.raises(ValueError, match=r"\(samples, 1000\)"):
        lam.decode_predictions(np.zeros((2, 10)))


@pytest.fixture
def channels_first():
    keras.config.set_image_data_format("channels_first")
    lamina.backend.set_image_data_format("channels_first")
    yield
    keras.config.set_image_data_format("channels_last")
    lamina.backend.set_image_data_format("channels_last")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["EfficientNetB0", "EfficientNetV2B0", "MobileNetV3Small"])
def test_channels_first_matches_keras(name, channels_first):
    """Rescaling, Normalization (given and adapted), the SE Reshape and the BN axis follow ``channels_first``."""
    kwargs = dict(input_shape=(3, 32, 32), classes=10, classifier_activation=None)
    m, k = _build(name, kwargs)
    _compare_structure(m, k)
    _randomize(k)
    m.set_weights(k.get_weights())
    x = np.random.default_rng(1).uniform(0, 255, (2, 3, 32, 32)).astype("float32")
    np.testing.assert_allclose(np.asarray(m.predict(x, verbose=0)), np.asarray(k.predict(x, verbose=0)),
                               atol=1e-4, rtol=1e-4)
