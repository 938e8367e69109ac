"""Coverage of ``keras.utils`` by ``lamina.utils`` (walked from Keras's names, missing ones printed with the reason),
and ``utils.bounding_boxes`` against Keras's on random boxes."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

from lamina import utils  # noqa: E402
from lamina.utils import bounding_boxes  # noqa: E402

#: keras.utils names lamina leaves out, with the reason (printed by the coverage test).
REASONS: dict[str, str] = {}
#: names inside keras.utils.bounding_boxes that lamina leaves out.
BOX_REASONS: dict[str, str] = {}


def _public(module) -> list[str]:
    return sorted(n for n in dir(module) if not n.startswith("_"))


def test_keras_utils_names_exist_in_lamina():
    names = _public(keras.utils)
    missing = [n for n in names if not hasattr(utils, n)]
    print(f"\nkeras.utils: {len(names) - len(missing)} of {len(names)} public names exist in lamina.utils")
    for name in missing:
        print(f"  missing {name}: {REASONS.get(name, 'no reason recorded')}")
    assert len(names) - len(missing) >= 35
    assert set(missing) <= set(REASONS), f"missing without a recorded reason: {sorted(set(missing) - set(REASONS))}"


def test_kinds_match_keras():
    """A class in Keras is a class in lamina, a function a function, a module a module."""
    import inspect

    for name in _public(keras.utils):
        if not hasattr(utils, name):
            continue
        theirs, ours = getattr(keras.utils, name), getattr(utils, name)
        assert inspect.isclass(theirs) == inspect.isclass(ours), name
        assert inspect.ismodule(theirs) == inspect.ismodule(ours), name


def test_bounding_boxes_names():
    names = _public(keras.utils.bounding_boxes)
    missing = [n for n in names if not hasattr(bounding_boxes, n)]
    for name in missing:
        print(f"  missing bounding_boxes.{name}: {BOX_REASONS.get(name, 'no reason recorded')}")
    assert set(missing) <= set(BOX_REASONS)
    assert utils.bounding_boxes is bounding_boxes


def _random_xyxy(rng, shape, size=100.0):
    a = rng.uniform(0, size, shape + (2,))
    b = rng.uniform(0, size, shape + (2,))
    return np.concatenate([np.minimum(a, b), np.maximum(a, b)], axis=-1).astype("float32")


FORMATS = list(bounding_boxes.SUPPORTED_FORMATS)


@pytest.mark.parametrize("source", FORMATS)
def test_convert_format_matches_keras(source):
    kb = keras.utils.bounding_boxes
    rng = np.random.default_rng(0)
    boxes = kb.convert_format(_random_xyxy(rng, (2, 5)), "xyxy", source, height=80, width=120)
    boxes = np.asarray(boxes)
    for target in FORMATS:
        ours = bounding_boxes.convert_format(boxes, source, target, height=80, width=120)
        theirs = kb.convert_format(boxes, source, target, height=80, width=120)
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, atol=1e-4, err_msg=target)
    out = bounding_boxes.convert_format({"boxes": boxes, "labels": np.zeros((2, 5))}, source, "xyxy", height=80,
                                        width=120)
    assert out["boxes"].shape == (2, 5, 4)


def test_convert_format_errors():
    with pytest.raises(ValueError, match="last dimension of 4"):
        bounding_boxes.convert_format(np.zeros((2, 3)), "xyxy", "xywh")
    with pytest.raises(ValueError, match="Invalid source or target"):
        bounding_boxes.convert_format(np.zeros((2, 4)), "xyxy", "nope")
    with pytest.raises(ValueError, match="height"):
        bounding_boxes.convert_format(np.zeros((2, 4)), "xyxy", "rel_xyxy")


@pytest.mark.parametrize(("shape1", "shape2"), [((4,), (6,)), ((2, 4), (2, 6))])
@pytest.mark.parametrize("use_masking", [False, True])
def test_compute_iou_matches_keras(shape1, shape2, use_masking):
    rng = np.random.default_rng(1)
    b1, b2 = _random_xyxy(rng, shape1), _random_xyxy(rng, shape2)
    b1[..., 0, :] = -1.0  # a padding box
    for fmt in ("xyxy", "yxyx", "center_xywh"):
        x1 = np.asarray(keras.utils.bounding_boxes.convert_format(b1, "xyxy", fmt))
        x2 = np.asarray(keras.utils.bounding_boxes.convert_format(b2, "xyxy", fmt))
        ours = bounding_boxes.compute_iou(x1, x2, fmt, use_masking=use_masking)
        theirs = keras.utils.bounding_boxes.compute_iou(x1, x2, fmt, use_masking=use_masking)
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, atol=1e-6)
    rel = bounding_boxes.compute_iou(b1 / 100, b2 / 100, "rel_xyxy", image_shape=(100, 100, 3))
    np.testing.assert_allclose(np.asarray(rel), np.asarray(bounding_boxes.compute_iou(b1, b2, "xyxy")), atol=1e-5)
    with pytest.raises(ValueError, match="image_shape"):
        bounding_boxes.compute_iou(b1, b2, "rel_xyxy")


def test_ciou_deltas_clip_crop_pad_match_keras():
    kb = keras.utils.bounding_boxes
    rng = np.random.default_rng(2)
    b1, b2 = _random_xyxy(rng, (3, 5)), _random_xyxy(rng, (3, 5))
    np.testing.assert_allclose(np.asarray(bounding_boxes.compute_ciou(b1, b2, "xyxy")),
                               np.asarray(kb.compute_ciou(b1, b2, "xyxy")), rtol=1e-5, atol=1e-5)
    for fmt in ("center_yxhw", "center_xywh"):
        for variance in (None, [0.1, 0.1, 0.2, 0.2]):
            ours = bounding_boxes.encode_box_to_deltas(b1, b2, "xyxy", "xyxy", fmt, variance=variance)
            theirs = kb.encode_box_to_deltas(b1, b2, "xyxy", "xyxy", fmt, variance=variance)
            np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, atol=1e-5)
            back = bounding_boxes.decode_deltas_to_boxes(b1, ours, "xyxy", "xyxy", fmt, variance=variance)
            np.testing.assert_allclose(np.asarray(back), np.asarray(kb.decode_deltas_to_boxes(
                b1, theirs, "xyxy", "xyxy", fmt, variance=variance)), rtol=1e-5, atol=1e-4)
            np.testing.assert_allclose(np.asarray(back), b2, atol=1e-3)
    levels = bounding_boxes.decode_deltas_to_boxes({"p3": b1}, {"p3": np.zeros_like(b1)}, "xyxy", "xyxy")
    np.testing.assert_allclose(np.asarray(levels["p3"]), b1, atol=1e-4)
    wide = (b1 * 1.5 - 20).astype("float32")
    labels = np.arange(15).reshape(3, 5)
    for fmt, size in (("xyxy", (100, 120)), ("rel_xyxy", (None, None))):
        boxes = wide if fmt == "xyxy" else wide / 100
        ours = bounding_boxes.clip_to_image_size({"boxes": boxes, "labels": labels}, *size, bounding_box_format=fmt)
        theirs = kb.clip_to_image_size({"boxes": boxes, "labels": labels}, *size, bounding_box_format=fmt)
        for key in ("boxes", "labels"):
            np.testing.assert_allclose(np.asarray(ours[key]), np.asarray(theirs[key]), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(bounding_boxes.crop(wide, 10, 5, 50, 60)),
                               np.asarray(kb.crop(wide, 10, 5, 50, 60)))
    np.testing.assert_allclose(np.asarray(bounding_boxes.pad(wide, 10, 5)), np.asarray(kb.pad(wide, 10, 5)))
    with pytest.raises(NotImplementedError, match="xyxy"):
        bounding_boxes.clip_to_image_size({"boxes": wide}, 10, 10, bounding_box_format="yxyx")
