"""RandomShear, RandomPerspective and RandomElasticTransform against Keras 3: the same outputs draw for draw (both
formats, single images), per-step randomness in the jitted step (the elastic field's sigma traced there),
identity at inference, configs and ``.keras`` files."""

import keras
import numpy as np
import pytest

from lamina import layers
from tests.layers.image_oracle import (
    assert_keras_file_both_ways,
    assert_matches_keras,
    assert_random_in_jitted_step,
    images,
)

CASES = [("RandomShear", {"x_factor": 0.3, "y_factor": 0.2, "seed": 4}),
         ("RandomShear", {"x_factor": (0.1, 0.5), "fill_mode": "constant", "interpolation": "nearest", "seed": 4}),
         ("RandomPerspective", {"seed": 5}),
         ("RandomPerspective", {"factor": 0.5, "scale": 0.4, "fill_value": 3.0, "seed": 5}),
         ("RandomElasticTransform", {"seed": 6}),
         ("RandomElasticTransform", {"factor": 0.6, "scale": (0.2, 0.7), "fill_mode": "constant", "seed": 6})]


@pytest.mark.parametrize("name,kwargs", CASES, ids=str)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_matches_keras_draw_for_draw(name, kwargs, data_format):
    assert_matches_keras(name, {**kwargs, "data_format": data_format}, images(data_format=data_format))


@pytest.mark.parametrize("name,kwargs", CASES[::2], ids=str)
def test_single_image_matches_keras(name, kwargs):
    assert_matches_keras(name, kwargs, images(shape=(8, 9, 3)), modes=(True, False))


@pytest.mark.parametrize("layer", [layers.RandomShear(0.3, 0.3), layers.RandomPerspective(),
                                   layers.RandomElasticTransform(scale=(0.3, 1.0))],
                         ids=lambda layer: type(layer).__name__)
def test_random_per_image_and_step_inside_the_jitted_step(layer):
    assert_random_in_jitted_step(layer, images(shape=(8, 12, 12, 3)))


def test_zero_strength_is_identity():
    x = images(shape=(3, 6, 7, 2))
    np.testing.assert_allclose(np.asarray(layers.RandomShear(0.0, 0.0)(x)), x, atol=1e-4)
    np.testing.assert_allclose(np.asarray(layers.RandomPerspective(scale=0.0)(x)), x, atol=1e-3)
    np.testing.assert_array_equal(np.asarray(layers.RandomElasticTransform(scale=0.0)(x)), x)


def test_keras_file_both_ways(tmp_path):
    # a symmetric factor (0.2 -> (-0.2, 0.2)) is written by Keras but refused when Keras reads it back, so (a, b) >= 0
    assert_keras_file_both_ways([keras.layers.RandomShear((0.1, 0.2), (0.0, 0.1)),
                                 keras.layers.RandomPerspective(0.5, 0.3),
                                 keras.layers.RandomElasticTransform(0.5, 0.5)], images(shape=(2, 6, 6, 3)),
                                tmp_path)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="scale"):
        layers.RandomPerspective(scale=2.0)
    with pytest.raises(NotImplementedError, match="fill_mode"):
        layers.RandomShear(0.1, fill_mode="mirrored")
    with pytest.raises(ValueError, match="x_factor|input_number"):
        layers.RandomShear(1.5)
