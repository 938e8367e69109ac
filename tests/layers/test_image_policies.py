"""RandAugment against Keras 3 draw for draw; AugMix by its properties (Keras draws AugMix's operations with
Python's ``random``, so no seed repeats them): output range, inference identity, per-step randomness inside the
jitted step, repetition under ``utils.set_random_seed``; configs and ``.keras`` files."""

import keras
import numpy as np
import pytest

import lamina
from lamina import layers
from tests.layers.image_oracle import (
    assert_config_matches,
    assert_keras_file_both_ways,
    assert_matches_keras,
    assert_random_in_jitted_step,
    images,
)


@pytest.mark.parametrize("kwargs", [{"seed": 1}, {"num_ops": 3, "factor": 0.3, "seed": 2},
                                    {"value_range": (0, 1), "factor": (0.1, 0.6), "seed": 3}], ids=str)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_rand_augment_matches_keras(kwargs, data_format):
    scale = np.float32(1 / 255 if kwargs.get("value_range") == (0, 1) else 1)
    assert_matches_keras("RandAugment", {**kwargs, "data_format": data_format},
                         images(data_format=data_format) * scale)


@pytest.mark.parametrize("kwargs", [{}, {"num_chains": 2, "chain_depth": 2, "factor": 0.5, "alpha": 0.5,
                                         "all_ops": False, "value_range": (0, 1)}], ids=str)
def test_aug_mix_properties_and_config(kwargs):
    high = 1.0 if kwargs.get("value_range") == (0, 1) else 255.0
    x = images(high=high)
    theirs, ours = keras.layers.AugMix(seed=1, **kwargs), layers.AugMix(seed=1, **kwargs)
    assert_config_matches(theirs, ours)
    a, b = np.asarray(ours(x)), np.asarray(ours(x))
    assert a.shape == x.shape and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= high
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(np.asarray(ours(x, training=False)), x)
    assert np.asarray(ours(x[0])).shape == x[0].shape


@pytest.mark.slow
@pytest.mark.parametrize("layer", [layers.RandAugment(), layers.AugMix(num_chains=2, chain_depth=2)],
                         ids=lambda layer: type(layer).__name__)
def test_random_per_step_inside_the_jitted_step(layer):
    assert_random_in_jitted_step(layer, images(shape=(4, 8, 8, 3)), varies_per_image=False)


def test_rand_augment_fit_repeats_under_set_random_seed():
    x = images(shape=(16, 8, 8, 3))
    y = (x.mean(axis=(1, 2, 3)) > 127).astype("float32")

    def run():
        lamina.utils.set_random_seed(3)
        model = lamina.Sequential([lamina.layers.Input((8, 8, 3)), layers.RandAugment(num_ops=1),
                                   layers.Rescaling(1 / 255), layers.Flatten(), layers.Dense(1, "sigmoid")])
        model.compile("adam", "binary_crossentropy")
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        return model.get_weights()

    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


def test_keras_file_both_ways(tmp_path):
    assert_keras_file_both_ways([keras.layers.RandAugment(num_ops=1, factor=0.2),
                                 keras.layers.AugMix(num_chains=2, chain_depth=1)], images(shape=(2, 6, 6, 3)),
                                tmp_path)
