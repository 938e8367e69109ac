"""MaxNumBoundingBoxes against Keras 3: cutting and padding boxes and labels (batched and single images), images
and labels unchanged, the missing-format error, configs and a Pipeline round trip."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import json

import keras
import numpy as np
import pytest

from lamina import layers


def _data(batched: bool, n: int = 5):
    rng = np.random.default_rng(0)
    boxes = rng.uniform(0, 8, size=(2, n, 4)).astype("float32")
    labels = rng.integers(0, 4, size=(2, n)).astype("float32")
    images = rng.normal(size=(2, 8, 8, 3)).astype("float32")
    data = {"images": images, "bounding_boxes": {"boxes": boxes, "labels": labels},
            "labels": np.array([1.0, 2.0], "float32")}
    if not batched:
        data = {"images": images[0], "bounding_boxes": {"boxes": boxes[0], "labels": labels[0]}}
    return data


def _copy(data):
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}


@pytest.mark.parametrize("max_number,fill", [(3, -1), (7, -2), (5, 0)])
@pytest.mark.parametrize("batched", [True, False])
def test_matches_keras(max_number, fill, batched) -> None:
    kw = {"max_number": max_number, "fill_value": fill, "bounding_box_format": "xyxy"}
    data = _data(batched)
    expected = keras.layers.MaxNumBoundingBoxes(**kw)(_copy(data))
    got = layers.MaxNumBoundingBoxes(**kw)(_copy(data))
    assert set(got) == set(expected)
    for key in ("boxes", "labels"):
        np.testing.assert_array_equal(np.asarray(got["bounding_boxes"][key]),
                                      np.asarray(expected["bounding_boxes"][key]))
    np.testing.assert_array_equal(np.asarray(got["images"]), np.asarray(expected["images"]))
    if batched:
        np.testing.assert_array_equal(np.asarray(got["labels"]), np.asarray(expected["labels"]))


def test_ragged_lists_are_densified_then_padded() -> None:
    boxes = [np.ones((2, 4)), np.full((4, 4), 2.0)]
    labels = [np.ones(2), np.full(4, 2.0)]
    out = layers.MaxNumBoundingBoxes(3, bounding_box_format="xyxy")(
        {"images": np.zeros((2, 4, 4, 3)), "bounding_boxes": {"boxes": boxes, "labels": labels}})
    assert np.asarray(out["bounding_boxes"]["labels"]).tolist() == [[1, 1, -1], [2, 2, 2]]


def test_images_alone_pass_and_config_matches_keras() -> None:
    x = np.ones((2, 4, 4, 3), "float32")
    lam = layers.MaxNumBoundingBoxes(4)
    assert np.asarray(lam(x)).shape == (2, 4, 4, 3)
    for kw in ({"max_number": 4}, {"max_number": 2, "bounding_box_format": "xywh", "fill_value": 3}):
        lconf = layers.MaxNumBoundingBoxes(**kw).get_config()
        kconf = keras.layers.MaxNumBoundingBoxes(**kw).get_config()
        lconf.pop("name"), kconf.pop("name")
        assert json.loads(json.dumps(lconf)) == json.loads(json.dumps(kconf))
        again = layers.MaxNumBoundingBoxes.from_config(kconf | {"name": "m"})
        assert again.max_number == kw["max_number"]


def test_boxes_without_a_format_are_refused_like_keras() -> None:
    with pytest.raises(ValueError, match="bounding_box_format='xyxy'"):
        layers.MaxNumBoundingBoxes(3)(_data(True))


def test_in_a_pipeline() -> None:
    pipe = layers.Pipeline([layers.MaxNumBoundingBoxes(2, bounding_box_format="xyxy")])
    out = pipe(_data(True))
    assert np.asarray(out["bounding_boxes"]["boxes"]).shape == (2, 2, 4)


def test_explain_text() -> None:
    from lamina.explain import find_explainer

    layer = layers.MaxNumBoundingBoxes(4, fill_value=-1)
    details = find_explainer(layer)(layer, None, None)
    assert "first 4 bounding boxes" in details.description and details.arithmetic == "no weights = 0"
