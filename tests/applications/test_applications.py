"""``lamina.applications`` against Keras 3's: same layer names, output shapes, weight order, parameter counts, and
Keras's weights (set_weights, ``.weights.h5``, legacy ``.h5``) giving the same predictions. Nothing is downloaded."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

import lamina  # noqa: E402
from lamina import applications  # noqa: E402
from lamina.applications import imagenet_utils  # noqa: E402

SMALL = (32, 32, 3)
# (builder name, kwargs): fast cases
CASES = [
    ("VGG16", dict(include_top=False, input_shape=SMALL)),
    ("VGG19", dict(include_top=True, input_shape=SMALL, classes=10)),
    ("ResNet50", dict(include_top=False, input_shape=SMALL, pooling="avg")),
    ("ResNet50", dict(include_top=True, input_shape=SMALL, classes=7, classifier_activation=None)),
    ("ResNet50V2", dict(include_top=True, input_shape=SMALL, classes=10)),
    ("ResNet50V2", dict(include_top=False, input_shape=SMALL, pooling="max")),
    ("MobileNet", dict(alpha=0.25, input_shape=(64, 64, 3), classes=10)),
    ("MobileNet", dict(include_top=False)),
    ("MobileNetV2", dict(alpha=0.35, input_shape=SMALL, classes=10)),
    ("DenseNet121", dict(include_top=False, input_shape=SMALL, pooling="avg")),
    ("Xception", dict(include_top=False, input_shape=(71, 71, 3), pooling="max")),
    ("InceptionV3", dict(include_top=False, input_shape=(75, 75, 3), pooling="avg")),
]
SLOW_CASES = [
    ("MobileNetV2", dict(alpha=1.3, include_top=False, input_shape=(96, 96, 3), pooling="avg")),
    ("MobileNet", dict(alpha=0.5, depth_multiplier=2, include_top=False, input_shape=SMALL, pooling="max")),
    ("ResNet101", dict(include_top=False, input_shape=SMALL)),
    ("ResNet152", dict(include_top=True, input_shape=SMALL, classes=10)),
    ("ResNet101V2", dict(include_top=False, input_shape=SMALL)),
    ("ResNet152V2", dict(include_top=False, input_shape=SMALL, pooling="avg")),
    ("DenseNet169", dict(include_top=True, input_shape=SMALL, classes=10)),
    ("DenseNet201", dict(include_top=False, input_shape=SMALL)),
    ("Xception", dict(include_top=True, input_shape=(71, 71, 3), classes=10)),
    ("InceptionV3", dict(include_top=True, input_shape=(75, 75, 3), classes=10)),
    ("InceptionResNetV2", dict(include_top=True, input_shape=(75, 75, 3), classes=10)),
    ("InceptionResNetV2", dict(include_top=False, input_shape=(75, 75, 3), pooling="avg")),
]


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
    lam = [(layer.name, tuple(layer.output.shape)) for layer in m.layers[1:]]
    ker = [(layer.name, tuple(layer.output.shape)) for layer in k.layers[1:]]
    assert lam == ker
    assert [tuple(w.shape) for w in m.weights] == [tuple(w.shape) for w in k.weights]
    assert [w.path for w in m.weights] == [w.path for w in k.weights]
    assert len(m.trainable_weights) == len(k.trainable_weights)


def _ids(cases):
    return [f"{n}-{'-'.join(f'{a}={b}' for a, b in kw.items())}" for n, kw in cases]


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=_ids(CASES))
def test_structure_matches_keras(name, kwargs):
    _compare_structure(*_build(name, kwargs))


@pytest.mark.slow
@pytest.mark.parametrize(("name", "kwargs"), SLOW_CASES, ids=_ids(SLOW_CASES))
def test_structure_matches_keras_deep(name, kwargs):
    _compare_structure(*_build(name, kwargs))


def _randomize(k, seed: int = 0) -> None:
    """Random Keras weights, with positive BN variances so every layer matters."""
    rng = np.random.default_rng(seed)
    values = []
    for w in k.weights:
        scale = 0.2 if len(w.shape) > 1 else 0.1
        v = rng.normal(0, scale, w.shape).astype("float32")
        if "moving_variance" in w.path:
            v = rng.uniform(0.5, 1.5, w.shape).astype("float32")
        values.append(v)
    k.set_weights(values)


PREDICT_CASES = [
    ("MobileNet", dict(alpha=0.25, input_shape=(64, 64, 3), classes=10)),
    ("ResNet50", dict(include_top=False, input_shape=SMALL)),
    ("MobileNetV2", dict(alpha=0.35, input_shape=SMALL, classes=10)),
    ("ResNet50V2", dict(include_top=False, input_shape=SMALL, pooling="avg")),
]


SLOW_PREDICT_CASES = [
    ("DenseNet121", dict(include_top=False, input_shape=SMALL)),
    ("Xception", dict(include_top=False, input_shape=(71, 71, 3))),
    ("InceptionV3", dict(include_top=True, input_shape=(75, 75, 3), classes=10)),
    ("InceptionResNetV2", dict(include_top=False, input_shape=(75, 75, 3), pooling="avg")),
]
_MODULES = {"MobileNet": "mobilenet", "MobileNetV2": "mobilenet_v2", "ResNet50": "resnet50",
            "ResNet50V2": "resnet_v2", "DenseNet121": "densenet", "Xception": "xception",
            "InceptionV3": "inception_v3", "InceptionResNetV2": "inception_resnet_v2"}


@pytest.mark.parametrize(("name", "kwargs"), PREDICT_CASES, ids=_ids(PREDICT_CASES))
def test_keras_weights_give_keras_predictions(name, kwargs, tmp_path):
    _check_predictions(name, kwargs, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "kwargs"), SLOW_PREDICT_CASES, ids=_ids(SLOW_PREDICT_CASES))
def test_keras_weights_give_keras_predictions_deep(name, kwargs, tmp_path):
    _check_predictions(name, kwargs, tmp_path)


def _check_predictions(name, kwargs, tmp_path):
    m, k = _build(name, kwargs)
    _randomize(k)
    x = np.random.default_rng(1).uniform(0, 255, (2,) + kwargs["input_shape"]).astype("float32")
    x = getattr(keras.applications, _MODULES[name]).preprocess_input(x)
    expected = np.asarray(k.predict(x, verbose=0))
    m.set_weights(k.get_weights())
    np.testing.assert_allclose(np.asarray(m.predict(x, verbose=0)), expected, atol=1e-4, rtol=1e-4)
    # Keras 3's .weights.h5, loaded by model.load_weights and by the builder's weights=PATH
    path = str(tmp_path / "k.weights.h5")
    k.save_weights(path)
    lamina.backend.clear_session()
    m2 = getattr(applications, name)(weights=path, **kwargs)
    np.testing.assert_allclose(np.asarray(m2.predict(x, verbose=0)), expected, atol=1e-4, rtol=1e-4)


def test_legacy_h5_weights_file_loads(tmp_path):
    """The published ImageNet files are legacy HDF5 weight files (layer_names at the root), as Keras writes here."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    kwargs = dict(alpha=0.25, input_shape=(64, 64, 3), classes=10)
    m, k = _build("MobileNet", kwargs)
    _randomize(k, seed=3)
    path = str(tmp_path / "mobilenet_legacy.h5")
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, k)
    x = np.random.default_rng(2).uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    expected = np.asarray(k.predict(x, verbose=0))
    m.load_weights(path)
    np.testing.assert_allclose(np.asarray(m.predict(x, verbose=0)), expected, atol=1e-4, rtol=1e-4)
    lamina.backend.clear_session()
    m2 = applications.MobileNet(weights=path, **kwargs)
    np.testing.assert_allclose(np.asarray(m2.predict(x, verbose=0)), expected, atol=1e-4, rtol=1e-4)


# --- imagenet weights go through get_file with Keras's file names, URLs and hashes (intercepted, no download) ---

IMAGENET_CASES = [
    ("VGG16", dict(include_top=False), "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
     "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
     "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "6d6bbae143d832006294945121d1f1fc"),
    ("ResNet50", dict(include_top=False), "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
     "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
     "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "4d473c1dd8becc155b73f8504c6f6626"),
    ("ResNet50V2", dict(include_top=False), "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
     "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
     "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5", "fac2f116257151a9d068a22e544a4917"),
    ("MobileNet", dict(alpha=0.25, include_top=False, input_shape=(128, 128, 3)), "mobilenet_2_5_128_tf_no_top.h5",
     "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/mobilenet_2_5_128_tf_no_top.h5", None),
    ("MobileNetV2", dict(alpha=0.35, include_top=False, input_shape=(96, 96, 3)),
     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5",
     "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5", None),
    ("DenseNet121", dict(include_top=False), "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5",
     "https://storage.googleapis.com/tensorflow/keras-applications/densenet/"
     "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5", "30ee3e1110167f948a6b9946edeeb738"),
    ("Xception", dict(include_top=True), "xception_weights_tf_dim_ordering_tf_kernels.h5",
     "https://storage.googleapis.com/tensorflow/keras-applications/xception/"
     "xception_weights_tf_dim_ordering_tf_kernels.h5", "0a58e3b7378bc2990ea3b43d5981f1f6"),
    ("InceptionV3", dict(include_top=False), "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
     "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
     "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5", "bcbd6486424b2319ff4ef7d526e38f63"),
    ("InceptionResNetV2", dict(include_top=True), "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5",
     "https://storage.googleapis.com/tensorflow/keras-applications/inception_resnet_v2/"
     "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5", "e693bd0210a403b3192acc6073ad2e96"),
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


# --- argument checks, as Keras ---

def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="`weights` argument"):
        applications.VGG16(weights=str(tmp_path / "missing.h5"))
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        applications.ResNet50(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="at least 32x32"):
        applications.ResNet50(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="static `input_shape`"):
        applications.VGG16(weights=None, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="depth multiplier"):
        applications.MobileNet(weights="imagenet", depth_multiplier=2)
    with pytest.raises(ValueError, match="classifier_activation"):
        applications.DenseNet121(weights=str(_touch(tmp_path / "w.h5")), classifier_activation="relu")


def _touch(path):
    path.write_bytes(b"")
    return path


def test_input_tensor_and_default_shapes():
    lamina.backend.clear_session()
    inp = lamina.layers.Input((48, 48, 3))
    m = applications.MobileNetV2(weights=None, include_top=False, input_tensor=inp)
    assert m.inputs[0] is inp and tuple(m.output.shape) == (None, 2, 2, 1280)
    m = applications.ResNet50(weights=None, include_top=False)
    assert tuple(m.input.shape) == (None, None, None, 3)
    assert applications.MobileNet(weights=None, include_top=False, input_shape=(160, 160, 3)).name == \
        "mobilenet_1.00_160"


# --- preprocessing and decoding ---

@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("ndim", [3, 4])
def test_preprocess_input_matches_keras(mode, data_format, ndim):
    from keras.applications import imagenet_utils as k_utils

    shape = (2, 5, 4, 3) if data_format == "channels_last" else (2, 3, 5, 4)
    x = np.random.default_rng(0).uniform(0, 255, shape[-ndim:]).astype("float32")
    expected = k_utils.preprocess_input(x.copy(), data_format=data_format, mode=mode)
    np.testing.assert_allclose(imagenet_utils.preprocess_input(x.copy(), data_format=data_format, mode=mode),
                               expected, rtol=1e-6, atol=1e-5)
    if ndim == 4:
        got = imagenet_utils.preprocess_input(lamina.ops.convert_to_tensor(x), data_format=data_format, mode=mode)
        ref = k_utils.preprocess_input(keras.ops.convert_to_tensor(x), data_format=data_format, mode=mode)
        np.testing.assert_allclose(np.asarray(got), np.asarray(ref), rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize(("module", "mode"), [("vgg16", "caffe"), ("vgg19", "caffe"), ("resnet", "caffe"),
                                              ("resnet50", "caffe"), ("resnet_v2", "tf"), ("mobilenet", "tf"),
                                              ("mobilenet_v2", "tf"), ("densenet", "torch"),
                                              ("xception", "tf"), ("inception_v3", "tf"),
                                              ("inception_resnet_v2", "tf")])
def test_family_preprocess_modes(module, mode):
    import importlib

    x = np.random.default_rng(0).uniform(0, 255, (1, 4, 4, 3)).astype("float32")
    got = importlib.import_module(f"lamina.applications.{module}").preprocess_input(x.copy())
    ref = importlib.import_module(f"keras.applications.{module}").preprocess_input(x.copy())
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(got, imagenet_utils.preprocess_input(x.copy(), mode=mode), rtol=1e-6)


def test_preprocess_input_errors():
    with pytest.raises(ValueError, match="mode"):
        imagenet_utils.preprocess_input(np.zeros((1, 2, 2, 3)), mode="nope")
    with pytest.raises(ValueError, match="data_format"):
        imagenet_utils.preprocess_input(np.zeros((1, 2, 2, 3)), data_format="nope")


def test_decode_predictions_reads_the_cached_class_index(tmp_path, monkeypatch):
    """decode_predictions asks get_file for Keras's class index (name, URL, cache subdir, hash) and decodes it."""
    import lamina.utils.file_utils as file_utils

    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    path = tmp_path / "models" / "imagenet_class_index.json"
    path.parent.mkdir()
    path.write_text(json.dumps(index))
    seen = []

    def fake_get_file(fname=None, origin=None, cache_subdir="datasets", file_hash=None, **kw):
        seen.append((fname, origin, cache_subdir, file_hash))
        return str(tmp_path / cache_subdir / fname)

    monkeypatch.setattr(file_utils, "get_file", fake_get_file)
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", None)
    preds = np.zeros((2, 1000), "float32")
    preds[0, [5, 7, 9]] = [0.5, 0.3, 0.2]
    preds[1, 999] = 1.0
    out = applications.resnet50.decode_predictions(preds, top=3)
    assert seen == [("imagenet_class_index.json", imagenet_utils.CLASS_INDEX_PATH, "models",
                     "c2c37ea517e94d9795004a39431a14cb")]
    assert [r[:2] for r in out[0]] == [("n00000005", "class_5"), ("n00000007", "class_7"), ("n00000009", "class_9")]
    assert out[0][0][2] == pytest.approx(0.5) and out[1][0][:2] == ("n00000999", "class_999")
    with pytest.raises(ValueError, match=r"\(samples, 1000\)"):
        imagenet_utils.decode_predictions(np.zeros((2, 10)))


def test_decode_predictions_through_real_get_file_cache(tmp_path, monkeypatch):
    """The real get_file finds the class index already in the cache (KERAS_HOME) with the right hash."""
    import hashlib

    index = {str(i): [f"n{i:08d}", f"c{i}"] for i in range(1000)}
    data = json.dumps(index).encode()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "imagenet_class_index.json").write_bytes(data)
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", None)
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_HASH", hashlib.md5(data).hexdigest())
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    preds = np.eye(1000, dtype="float32")[:1]
    assert imagenet_utils.decode_predictions(preds, top=1) == [[("n00000000", "c0", np.float32(1.0))]]


def test_transfer_learning_frozen_base_then_fine_tune():
    """keras-io style: frozen base (BN in inference mode), new head, fit, then unfreeze and fine-tune."""
    lamina.backend.clear_session()
    base = applications.MobileNet(weights=None, include_top=False, alpha=0.25, input_shape=(32, 32, 3))
    base.trainable = False
    inputs = lamina.Input((32, 32, 3))
    x = base(inputs, training=False)
    x = lamina.layers.GlobalAveragePooling2D()(x)
    outputs = lamina.layers.Dense(2)(x)
    model = lamina.Model(inputs, outputs)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (16, 32, 32, 3)).astype("float32")
    labels = rng.integers(0, 2, (16,))
    before = [np.asarray(w) for w in base.get_weights()]
    model.compile(optimizer="adam", loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(images, labels, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(before, base.get_weights()):
        np.testing.assert_array_equal(a, np.asarray(b))
    base.trainable = True
    model.compile(optimizer=lamina.optimizers.Adam(1e-5),
                  loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(images, labels, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(a, np.asarray(b)) for a, b in zip(before, base.get_weights()))
