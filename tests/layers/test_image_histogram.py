"""AutoContrast and Equalization against Keras 3: equal outputs (formats, value ranges, bins, single images),
Keras's inference behaviour (AutoContrast acts, Equalization passes through), configs and ``.keras`` files."""

import numpy as np
import pytest

from lamina import layers
from tests.layers.image_oracle import assert_keras_file_both_ways, assert_matches_keras, images

CASES = [("AutoContrast", {}), ("AutoContrast", {"value_range": (0, 1)}), ("Equalization", {}),
         ("Equalization", {"bins": 64}), ("Equalization", {"value_range": (0, 1), "bins": 32})]


@pytest.mark.parametrize("name,kwargs", CASES, ids=str)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_matches_keras(name, kwargs, data_format):
    scale = np.float32(1 / 255 if kwargs.get("value_range") == (0, 1) else 1)
    kwargs = {**kwargs, "data_format": data_format}
    assert_matches_keras(name, kwargs, images(data_format=data_format) * scale)
    assert_matches_keras(name, kwargs, images(shape=(6, 5, 3), data_format=data_format) * scale, modes=(True, False))


def test_constant_channels_and_stretching():
    flat = np.full((2, 4, 4, 3), 80.0, "float32")
    np.testing.assert_array_equal(np.asarray(layers.AutoContrast()(flat)), flat)
    np.testing.assert_array_equal(np.asarray(layers.Equalization()(flat)), flat)
    x = images(shape=(2, 6, 6, 3), low=100, high=150)
    out = np.asarray(layers.AutoContrast()(x, training=False))  # acts at inference, as in Keras
    np.testing.assert_allclose(out.min(axis=(1, 2)), 0, atol=1e-3)
    np.testing.assert_allclose(out.max(axis=(1, 2)), 255, atol=1e-3)
    np.testing.assert_array_equal(np.asarray(layers.Equalization()(x, training=False)), x)
    eq = np.asarray(layers.Equalization()(x))
    assert eq.max() > 250 and eq.min() < 5  # the narrow histogram spread over the range


def test_keras_file_both_ways(tmp_path):
    import keras

    assert_keras_file_both_ways([keras.layers.AutoContrast(value_range=(0, 255))], images(shape=(2, 6, 6, 3)),
                                tmp_path)


def test_equalization_in_a_lamina_file(tmp_path):
    # Keras 3's Equalization cannot sit in a Keras model (its compute_output_spec returns its input: "part of a
    # cycle"), so the file round trip is lamina's own.
    import lamina

    x = images(shape=(2, 6, 6, 3))
    model = lamina.Sequential([lamina.layers.Input((6, 6, 3)), layers.Equalization(bins=128), layers.Flatten(),
                               layers.Dense(2)])
    model.save(str(tmp_path / "eq.keras"))
    again = lamina.saving.load_model(str(tmp_path / "eq.keras"))
    assert again.layers[0].get_config() == model.layers[0].get_config()
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("kwargs,shape", [({}, (2, 16, 16, 3)), ({"clip_limit": 2.0, "tile_grid_size": (3, 2)},
                                                                  (2, 10, 9, 3)),
                                          ({"clip_limit": 0, "value_range": (0, 1)}, (2, 8, 8, 1)),
                                          ({"tile_grid_size": (2, 2)}, (9, 8, 3))], ids=str)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_clahe_matches_keras(kwargs, shape, data_format):
    scale = np.float32(1 / 255 if kwargs.get("value_range") == (0, 1) else 1)
    assert_matches_keras("ContrastLimitedAdaptiveHistogramEqualization", {**kwargs, "data_format": data_format},
                         images(shape=shape, data_format=data_format) * scale)


def test_clahe_keras_file_both_ways(tmp_path):
    import keras

    assert_keras_file_both_ways([keras.layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2))],
                                images(shape=(2, 8, 8, 3)), tmp_path)
