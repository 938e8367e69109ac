"""MixUp, CutMix and RandomErasing against Keras 3: the same outputs draw for draw (images, and labels given in a
dict), per-image and per-step randomness inside the jitted step, identity at inference, configs, ``.keras``."""

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

CASES = [("MixUp", {"seed": 1}), ("MixUp", {"alpha": 0.8, "seed": 1}), ("CutMix", {"seed": 2}),
         ("CutMix", {"factor": 0.5, "seed": 2}), ("RandomErasing", {"seed": 3}),
         ("RandomErasing", {"factor": 0.5, "fill_value": 7.0, "scale": (0.1, 0.5), "seed": 3}),
         ("RandomErasing", {"fill_value": 0.5, "value_range": (0, 1), "scale": 0.5, "seed": 3})]


@pytest.mark.parametrize("name,kwargs", CASES, ids=str)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_matches_keras_draw_for_draw(name, kwargs, data_format):
    assert_matches_keras(name, {**kwargs, "data_format": data_format}, images(data_format=data_format))


@pytest.mark.parametrize("name", ["MixUp", "CutMix"])
def test_labels_mix_with_the_images_as_in_keras(name):
    x = images(shape=(6, 8, 8, 3))
    y = np.eye(3, dtype="float32")[[0, 1, 2, 0, 1, 2]]
    theirs, ours = getattr(keras.layers, name)(seed=5), getattr(layers, name)(seed=5)
    a, b = theirs({"images": x, "labels": y}), ours({"images": x, "labels": y})
    np.testing.assert_allclose(np.asarray(b["images"]), np.asarray(a["images"]), atol=1e-4)
    np.testing.assert_allclose(np.asarray(b["labels"]), np.asarray(a["labels"]), atol=1e-5)
    np.testing.assert_allclose(np.asarray(b["labels"]).sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("layer", [layers.MixUp(), layers.CutMix(), layers.RandomErasing()],
                         ids=lambda layer: type(layer).__name__)
def test_random_per_image_and_step_inside_the_jitted_step(layer):
    assert_random_in_jitted_step(layer, images(shape=(8, 8, 8, 3)))


def test_mixup_weights_follow_beta_and_cutmix_single_image_passes():
    x = np.stack([np.zeros((1, 1, 1)), np.ones((1, 1, 1))] * 200).astype("float32")
    out = np.asarray(layers.MixUp(alpha=0.2, seed=0)(x)).ravel()
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert np.mean((out < 0.1) | (out > 0.9)) > 0.5  # Beta(0.2, 0.2) puts most weight near 0 and 1
    single = images(shape=(5, 5, 3))
    np.testing.assert_array_equal(np.asarray(layers.CutMix(seed=1)(single)), single)


def test_erasing_fills_a_box():
    x = images(shape=(16, 10, 10, 3))
    out = np.asarray(layers.RandomErasing(fill_value=-1.0, value_range=(-1, 255), seed=4)(x))
    erased = out == -1.0
    assert 0 < erased.any(axis=(1, 2, 3)).sum() < 16  # factor 1.0 means a probability drawn from U(0, 1)
    rgb = np.asarray(layers.RandomErasing(fill_value=(1.0, 2.0, 3.0), seed=4)(x))  # Keras 3.15 fails on a tuple
    assert ((rgb == [1.0, 2.0, 3.0]).all(axis=-1)).any()
    rows = erased[..., 0].any(axis=2)
    assert all(np.flatnonzero(r).size == 0 or np.ptp(np.flatnonzero(r)) + 1 == np.flatnonzero(r).size for r in rows)


def test_keras_file_both_ways(tmp_path):
    assert_keras_file_both_ways([keras.layers.MixUp(alpha=0.3), keras.layers.CutMix(0.5),
                                 keras.layers.RandomErasing(0.4, scale=(0.1, 0.2))], images(shape=(2, 6, 6, 3)),
                                tmp_path)


@pytest.mark.parametrize("count", [2, 5])
def test_max_num_bounding_boxes_matches_keras(count):
    x = np.zeros((2, 8, 8, 3), "float32")
    boxes = np.random.default_rng(0).uniform(0, 8, (2, count, 4)).astype("float32")
    labels = np.arange(2 * count, dtype="float32").reshape(2, count)
    theirs = keras.layers.MaxNumBoundingBoxes(3, bounding_box_format="xyxy")
    ours = layers.MaxNumBoundingBoxes(3, bounding_box_format="xyxy")
    a = theirs({"images": x, "bounding_boxes": {"boxes": boxes, "labels": labels}})
    b = ours({"images": x, "bounding_boxes": {"boxes": boxes, "labels": labels}})
    for key in ("boxes", "labels"):
        np.testing.assert_array_equal(np.asarray(b["bounding_boxes"][key]), np.asarray(a["bounding_boxes"][key]))
    np.testing.assert_array_equal(np.asarray(ours(x)), x)
    kc, lc = theirs.get_config(), ours.get_config()
    kc.pop("name"), lc.pop("name")
    assert lc == kc
    with pytest.raises(ValueError, match="bounding_box_format"):
        layers.MaxNumBoundingBoxes(3)({"images": x, "bounding_boxes": {"boxes": boxes, "labels": labels}})
