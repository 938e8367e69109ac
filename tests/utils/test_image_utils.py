"""Image helpers against Keras: ``load_img``/``save_img``/``img_to_array``/``array_to_img``/``smart_resize``."""

from __future__ import annotations

import builtins
import io
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

from lamina.preprocessing import image as keras2_image  # noqa: E402
from lamina.utils import image_utils  # noqa: E402

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (12, 18, 3)).astype("float32")


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "img.png"
    keras.utils.save_img(path, RGB, scale=False)
    return path


@pytest.mark.parametrize("kwargs", [{}, {"color_mode": "grayscale"}, {"color_mode": "rgba"},
                                    {"target_size": (6, 9)}, {"target_size": (8, 8), "interpolation": "bilinear"},
                                    {"target_size": (8, 4), "keep_aspect_ratio": True, "interpolation": "bicubic"}],
                         ids=str)
def test_load_img_matches_keras(png, kwargs):
    expected = keras.utils.img_to_array(keras.utils.load_img(png, **kwargs))
    got = image_utils.img_to_array(image_utils.load_img(png, **kwargs))
    assert got.dtype == expected.dtype and np.array_equal(got, expected)
    with open(png, "rb") as f:
        from_bytes = keras2_image.load_img(io.BytesIO(f.read()), **kwargs)
    assert np.array_equal(keras2_image.img_to_array(from_bytes), expected)


@pytest.mark.parametrize("array, kwargs", [(RGB, {}), (RGB / 255.0, {"scale": True}), (RGB[:, :, :1], {}),
                                           (RGB[:, :, :1] * 300, {"scale": False}),
                                           (np.concatenate([RGB, RGB[:, :, :1]], -1), {}),
                                           (RGB.transpose(2, 0, 1), {"data_format": "channels_first"})],
                         ids=["rgb", "scaled", "gray", "int32-gray", "rgba", "channels_first"])
def test_array_to_img_and_back_matches_keras(array, kwargs):
    expected = keras.utils.array_to_img(array, **kwargs)
    got = image_utils.array_to_img(array, **kwargs)
    assert got.mode == expected.mode and got.size == expected.size
    assert np.array_equal(np.asarray(got), np.asarray(expected))
    fmt = kwargs.get("data_format")
    assert np.array_equal(image_utils.img_to_array(got, data_format=fmt),
                          keras.utils.img_to_array(expected, data_format=fmt))


@pytest.mark.parametrize("name", ["a.png", "a.jpg", "a.bmp"])
def test_save_img_matches_keras(tmp_path, name):
    ours, theirs = tmp_path / f"ours_{name}", tmp_path / f"keras_{name}"
    image_utils.save_img(ours, RGB)
    keras.utils.save_img(theirs, RGB)
    assert np.array_equal(np.asarray(image_utils.load_img(ours)), np.asarray(keras.utils.load_img(theirs)))


@pytest.mark.parametrize("shape, size, kwargs", [((12, 18, 3), (6, 6), {}), ((2, 10, 7, 1), (5, 9), {}),
                                                 ((12, 18, 3), (4, 9), {"interpolation": "nearest"}),
                                                 ((3, 12, 18), (6, 6), {"data_format": "channels_first"})],
                         ids=str)
def test_smart_resize_matches_keras(shape, size, kwargs):
    x = RNG.normal(size=shape).astype("float32")
    expected = keras.preprocessing.image.smart_resize(x, size, **kwargs)
    got = keras2_image.smart_resize(x, size, **kwargs)
    assert isinstance(got, np.ndarray) and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_errors():
    with pytest.raises(ValueError, match="rank 3"):
        image_utils.array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="Unsupported channel number"):
        image_utils.array_to_img(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="Unsupported image shape"):
        image_utils.img_to_array(np.zeros(3))
    with pytest.raises(TypeError, match="path should be"):
        image_utils.load_img(3)


def test_missing_pillow_names_the_install_command(monkeypatch, png):
    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(ImportError, match="pip install pillow"):
        image_utils.load_img(png)
