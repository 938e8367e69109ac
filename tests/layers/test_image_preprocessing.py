"""Image preprocessing and augmentation layers against Keras 3: deterministic outputs, the same random draws for the
same seed (Keras's SeedGenerator, bit for bit), identity at inference, configs, and behaviour inside the jitted step."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import json

import jax
import keras
import numpy as np
import pytest

import lamina
from lamina import layers

CASES = [
    ("RandomFlip", {"seed": 3}),
    ("RandomFlip", {"mode": "horizontal", "seed": 4}),
    ("RandomFlip", {"mode": "vertical", "seed": 4}),
    ("RandomRotation", {"factor": 0.2, "seed": 5}),
    ("RandomRotation", {"factor": (-0.1, 0.3), "fill_mode": "constant", "fill_value": 7.0, "seed": 5}),
    ("RandomRotation", {"factor": 0.5, "fill_mode": "wrap", "interpolation": "nearest", "seed": 1}),
    ("RandomZoom", {"height_factor": 0.3, "seed": 6}),
    ("RandomZoom", {"height_factor": (-0.2, 0.3), "width_factor": 0.4, "seed": 6, "fill_mode": "constant"}),
    ("RandomZoom", {"height_factor": -0.5, "fill_mode": "nearest", "seed": 2}),
    ("RandomTranslation", {"height_factor": 0.2, "width_factor": 0.3, "seed": 7}),
    ("RandomTranslation", {"height_factor": (-0.2, 0.0), "width_factor": 0.5, "fill_mode": "constant", "seed": 7}),
    ("RandomCrop", {"height": 4, "width": 5, "seed": 8}),
    ("RandomContrast", {"factor": 0.3, "seed": 9}),
    ("RandomContrast", {"factor": (0.2, 0.5), "value_range": (0, 1), "seed": 9}),
    ("RandomBrightness", {"factor": 0.2, "seed": 10}),
    ("RandomBrightness", {"factor": (-0.5, 0.1), "value_range": (0, 1), "seed": 10}),
    ("Resizing", {"height": 4, "width": 5}),
    ("Resizing", {"height": 10, "width": 13, "interpolation": "nearest"}),
    ("Resizing", {"height": 4, "width": 5, "crop_to_aspect_ratio": True, "interpolation": "bicubic"}),
    ("Resizing", {"height": 5, "width": 3, "pad_to_aspect_ratio": True, "interpolation": "lanczos3"}),
    ("Resizing", {"height": 3, "width": 9, "pad_to_aspect_ratio": True, "fill_value": 1.0}),
    ("Resizing", {"height": 3, "width": 4, "antialias": True, "interpolation": "lanczos5"}),
    ("CenterCrop", {"height": 4, "width": 5}),
    ("CenterCrop", {"height": 9, "width": 5}),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=str)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_matches_keras_draw_for_draw(name, kwargs, data_format):
    x = np.random.default_rng(0).uniform(0, 255, size=(3, 7, 9, 2)).astype("float32")
    if data_format == "channels_first":
        x = np.transpose(x, (0, 3, 1, 2))
    theirs = getattr(keras.layers, name)(data_format=data_format, **kwargs)
    ours = getattr(layers, name)(data_format=data_format, **kwargs)
    modes = [True, True, None] + ([] if name == "RandomCrop" else [False])  # Keras's RandomCrop(training=False)
    for training in modes:  # returns uncropped images (against its own output shape); lamina center-crops
        call = {} if training is None else {"training": training}
        a, b = np.asarray(theirs(x, **call)), np.asarray(ours(x, **call))
        assert a.shape == b.shape, f"training={training}: keras {a.shape}, lamina {b.shape}"
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-3, err_msg=f"training={training}")
    kin = keras.Input(x.shape[1:])
    assert ours.compute_output_shape((None,) + x.shape[1:]) == tuple(theirs(kin).shape)
    kc, lc = theirs.get_config(), ours.get_config()
    kc.pop("name"), lc.pop("name")
    assert json.loads(json.dumps(lc)) == json.loads(json.dumps(kc))
    again = type(ours).from_config(json.loads(json.dumps(ours.get_config())))
    assert json.dumps(again.get_config(), sort_keys=True) == json.dumps(ours.get_config(), sort_keys=True)


@pytest.mark.parametrize("kwargs", [{"factor": 0.5, "seed": 3}, {"factor": 1.0, "seed": 1},
                                    {"factor": 0.3, "seed": 2, "data_format": "channels_first"}], ids=str)
def test_random_grayscale_matches_keras(kwargs):
    x = np.random.default_rng(6).uniform(0, 255, size=(6, 5, 4, 3)).astype("float32")
    if kwargs.get("data_format") == "channels_first":
        x = np.transpose(x, (0, 3, 1, 2))
    theirs, ours = keras.layers.RandomGrayscale(**kwargs), layers.RandomGrayscale(**kwargs)
    for training in (True, True, False):
        np.testing.assert_allclose(np.asarray(ours(x, training=training)), np.asarray(theirs(x, training=training)),
                                   rtol=1e-5, atol=1e-4)
    kc, lc = theirs.get_config(), ours.get_config()
    kc.pop("name"), lc.pop("name")
    assert json.loads(json.dumps(lc)) == json.loads(json.dumps(kc))


def test_random_crop_inference_is_a_center_crop():
    x = np.arange(2 * 6 * 8, dtype="float32").reshape(2, 6, 8, 1)
    out = np.asarray(layers.RandomCrop(4, 4)(x, training=False))
    expected = np.asarray(keras.layers.Resizing(4, 4, crop_to_aspect_ratio=True)(x))
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_resizing_keeps_integer_dtype():
    x = np.random.default_rng(1).integers(0, 256, size=(2, 5, 5, 3)).astype("uint8")
    ours, theirs = layers.Resizing(3, 4)(x), keras.layers.Resizing(3, 4)(x)
    assert ours.dtype == theirs.dtype == np.uint8
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


@pytest.mark.parametrize("layer", [layers.RandomFlip(), layers.RandomRotation(0.3), layers.RandomZoom(0.3),
                                   layers.RandomTranslation(0.2, 0.2), layers.RandomContrast(0.4),
                                   layers.RandomBrightness(0.3)], ids=lambda layer: type(layer).__name__)
def test_random_layers_inside_the_jitted_step(layer):
    model = lamina.Sequential([lamina.layers.Input((8, 8, 3)), layer])
    x = np.random.default_rng(2).uniform(0, 255, size=(16, 8, 8, 3)).astype("float32")
    step = jax.jit(lambda x, key, training: model.stateless_call({}, {}, x, training=training, rng=key)[0],
                   static_argnums=2)
    a, b = step(x, jax.random.PRNGKey(0), True), step(x, jax.random.PRNGKey(1), True)
    again = step(x, jax.random.PRNGKey(0), True)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(again))  # the same key: the same augmentation
    assert not np.allclose(np.asarray(a), np.asarray(b))  # another step: another augmentation
    per_image = [not np.allclose(np.asarray(a)[i], x[i]) for i in range(16)]
    assert 0 < sum(per_image)  # images are transformed independently (flip: about half of them)
    if isinstance(layer, layers.RandomFlip):
        assert sum(per_image) < 16
    np.testing.assert_array_equal(np.asarray(step(x, jax.random.PRNGKey(0), False)), x)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


def test_flip_is_exactly_a_flip_and_rotation_zero_is_identity():
    x = np.random.default_rng(3).normal(size=(64, 5, 6, 2)).astype("float32")
    out = np.asarray(layers.RandomFlip("horizontal")(x, training=True))
    for o, i in zip(out, x):
        assert np.array_equal(o, i) or np.array_equal(o, i[:, ::-1])
    np.testing.assert_allclose(np.asarray(layers.RandomRotation(0.0)(x, training=True)), x, atol=1e-5)
    np.testing.assert_allclose(np.asarray(layers.RandomZoom(0.0)(x, training=True)), x, atol=1e-5)


def test_fit_with_augmentation_repeats_under_set_random_seed():
    x = np.random.default_rng(4).uniform(size=(32, 8, 8, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("float32")

    def run():
        lamina.utils.set_random_seed(7)
        model = lamina.Sequential([lamina.layers.Input((8, 8, 1)), lamina.layers.RandomFlip(),
                                   lamina.layers.RandomRotation(0.1), lamina.layers.RandomCrop(6, 6),
                                   lamina.layers.Flatten(), lamina.layers.Dense(1, activation="sigmoid")])
        model.compile("adam", "binary_crossentropy")
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        return model.get_weights()

    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


def test_keras_file_both_ways(tmp_path):
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Resizing(6, 6), keras.layers.RandomFlip(seed=1),
                              keras.layers.RandomRotation(0.1), keras.layers.CenterCrop(4, 4),
                              keras.layers.Flatten(), keras.layers.Dense(2)])
    path = str(tmp_path / "aug.keras")
    model.save(path)
    ours = lamina.saving.load_model(path)
    x = np.random.default_rng(5).uniform(size=(2, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    back = str(tmp_path / "back.keras")
    ours.save(back)
    np.testing.assert_allclose(keras.saving.load_model(back).predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-5)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="factor"):
        layers.RandomRotation(2.0)
    with pytest.raises(ValueError, match="unknown mode"):
        layers.RandomFlip("diagonal")
    with pytest.raises(ValueError, match="rank 3"):
        layers.RandomFlip()(np.zeros((2, 3), "float32"), training=True)
