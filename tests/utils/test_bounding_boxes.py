"""lamina.utils.bounding_boxes against keras.utils.bounding_boxes on the same random boxes (every format pair,
batched and not)."""

import itertools
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

from lamina.utils import bounding_boxes as lbb

keras = pytest.importorskip("keras")
kbb = keras.utils.bounding_boxes

RNG = np.random.default_rng(0)


def _xyxy(*batch, n=5, size=50.0):
    low = RNG.uniform(0, size * 0.6, size=(*batch, n, 2))
    wh = RNG.uniform(1, size * 0.5, size=(*batch, n, 2))
    return np.concatenate([low, low + wh], axis=-1).astype("float32")


def _close(a, b, tol=1e-5):
    a, b = np.asarray(a), np.asarray(keras.ops.convert_to_numpy(b))
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


PAIRS = list(itertools.permutations(lbb.SUPPORTED_FORMATS, 2)) + [("xyxy", "xyxy")]


@pytest.mark.parametrize("source,target", PAIRS, ids=[f"{s}-{t}" for s, t in PAIRS])
def test_convert_format_matches_keras(source, target):
    boxes = kbb.convert_format(_xyxy(2), "xyxy", source, height=60, width=80)
    boxes = np.asarray(boxes)
    _close(lbb.convert_format(boxes, source, target, height=60, width=80),
           kbb.convert_format(boxes, source, target, height=60, width=80))


def test_convert_format_dict_and_errors_as_keras():
    boxes = _xyxy(3)
    ours = lbb.convert_format({"boxes": boxes, "labels": np.arange(5)}, "xyxy", "yxyx")
    _close(ours["boxes"], kbb.convert_format(boxes, "xyxy", "yxyx"))
    for mod in (lbb, kbb):
        with pytest.raises(ValueError, match="last dimension of 4"):
            mod.convert_format(np.zeros((2, 3)), "xyxy", "yxyx")
        with pytest.raises(ValueError, match="Invalid source or target format"):
            mod.convert_format(boxes, "xyxy", "corners")
        with pytest.raises(ValueError, match="must receive `height` and `width`"):
            mod.convert_format(boxes, "xyxy", "rel_xyxy")


@pytest.mark.parametrize("fmt", ["xyxy", "rel_xyxy"])
def test_clip_to_image_size_matches_keras(fmt):
    boxes = _xyxy(2, size=100.0) - 20.0
    if fmt == "rel_xyxy":
        boxes = boxes / 60.0
    data = {"boxes": boxes, "labels": RNG.integers(0, 3, size=(2, 5)).astype("int32")}
    ours = lbb.clip_to_image_size(dict(data), height=40, width=50, bounding_box_format=fmt)
    theirs = kbb.clip_to_image_size(dict(data), height=40, width=50, bounding_box_format=fmt)
    _close(ours["boxes"], theirs["boxes"])
    np.testing.assert_array_equal(np.asarray(ours["labels"]), np.asarray(theirs["labels"]))


def test_affine_transform_matches_keras():
    boxes = _xyxy(3)
    params = [RNG.uniform(-30, 30, 3), RNG.uniform(-0.2, 0.2, 3), RNG.uniform(-0.2, 0.2, 3), RNG.uniform(0.8, 1.2, 3),
              RNG.uniform(-10, 10, 3), RNG.uniform(-10, 10, 3)]
    params = [p.astype("float32") for p in params]
    for kwargs in ({}, {"center_x": 0.3, "center_y": 0.6}):
        _close(lbb.affine_transform(boxes, *params, height=60, width=70, **kwargs),
               kbb.affine_transform(boxes, *params, height=60, width=70, **kwargs), tol=1e-4)


def test_crop_and_pad_match_keras():
    boxes = _xyxy(2)
    _close(lbb.crop(boxes, 5, 7, 30, 25), kbb.crop(boxes, 5, 7, 30, 25))
    _close(lbb.pad(boxes, 3, 4), kbb.pad(boxes, 3, 4))
    for mod in (lbb, kbb):
        with pytest.raises(NotImplementedError):
            mod.crop(boxes, 0, 0, 1, 1, bounding_box_format="yxyx")


@pytest.mark.parametrize("fmt,variance,shape", [("xyxy", None, None), ("center_xywh", [0.1, 0.1, 0.2, 0.2], None),
                                                ("rel_yxyx", None, (60, 80, 3))])
@pytest.mark.parametrize("encoding", ["center_yxhw", "center_xywh"])
def test_box_deltas_match_keras(fmt, variance, shape, encoding):
    anchors = np.asarray(kbb.convert_format(_xyxy(n=6), "xyxy", fmt, height=60, width=80))
    boxes = np.asarray(kbb.convert_format(_xyxy(n=6), "xyxy", fmt, height=60, width=80))
    kwargs = {"variance": variance, "image_shape": shape}
    ours = lbb.encode_box_to_deltas(anchors, boxes, fmt, fmt, encoding, **kwargs)
    theirs = kbb.encode_box_to_deltas(anchors, boxes, fmt, fmt, encoding, **kwargs)
    _close(ours, theirs)
    _close(lbb.decode_deltas_to_boxes(anchors, np.asarray(theirs), fmt, fmt, encoding, **kwargs),
           kbb.decode_deltas_to_boxes(anchors, np.asarray(theirs), fmt, fmt, encoding, **kwargs), tol=1e-4)
    levels = {"p3": anchors, "p4": anchors[:3]}
    deltas = {"p3": np.asarray(theirs), "p4": np.asarray(theirs)[:3]}
    ours_levels = lbb.decode_deltas_to_boxes(levels, deltas, fmt, fmt, encoding, **kwargs)
    theirs_levels = kbb.decode_deltas_to_boxes(levels, deltas, fmt, fmt, encoding, **kwargs)
    for level in levels:
        _close(ours_levels[level], theirs_levels[level], tol=1e-4)


def test_delta_argument_errors_as_keras():
    a = _xyxy(n=2)
    for mod in (lbb, kbb):
        with pytest.raises(ValueError, match="length 4"):
            mod.encode_box_to_deltas(a, a, "xyxy", "xyxy", variance=[1.0, 1.0])
        with pytest.raises(ValueError, match="encoding_format"):
            mod.encode_box_to_deltas(a, a, "xyxy", "xyxy", encoding_format="xyxy")
        with pytest.raises(ValueError, match="encoded_format"):
            mod.decode_deltas_to_boxes(a, a, "xyxy", "xyxy", encoded_format="xyxy")


@pytest.mark.parametrize("shapes", [((5,), (7,)), ((2, 5), (2, 7)), ((2, 5), (7,)), ((5,), (2, 7))])
@pytest.mark.parametrize("fmt", ["xyxy", "yxyx", "center_xywh", "rel_xyxy"])
def test_compute_iou_matches_keras(shapes, fmt):
    (*b1, n1), (*b2, n2) = shapes
    boxes1 = np.array(kbb.convert_format(_xyxy(*b1, n=n1), "xyxy", fmt, height=60, width=80))
    boxes2 = np.asarray(kbb.convert_format(_xyxy(*b2, n=n2), "xyxy", fmt, height=60, width=80))
    image_shape = (60, 80, 3) if fmt.startswith("rel") else None
    _close(lbb.compute_iou(boxes1, boxes2, fmt, image_shape=image_shape),
           kbb.compute_iou(boxes1, boxes2, fmt, image_shape=image_shape))
    if len(b1) == len(b2):
        boxes1[..., 0, :] = -1.0
        _close(lbb.compute_iou(boxes1, boxes2, fmt, use_masking=True, mask_val=-2, image_shape=image_shape),
               kbb.compute_iou(boxes1, boxes2, fmt, use_masking=True, mask_val=-2, image_shape=image_shape))


def test_compute_iou_errors_as_keras():
    for mod in (lbb, kbb):
        with pytest.raises(ValueError, match="expects boxes1"):
            mod.compute_iou(np.zeros((1, 1, 1, 4)), np.zeros((1, 4)), "xyxy")
        with pytest.raises(ValueError, match="image_shape"):
            mod.compute_iou(np.zeros((1, 4)), np.zeros((1, 4)), "rel_xyxy")


@pytest.mark.parametrize("fmt", ["xyxy", "center_yxhw"])
def test_compute_ciou_matches_keras(fmt):
    boxes1 = np.asarray(kbb.convert_format(_xyxy(2, n=6), "xyxy", fmt))
    boxes2 = np.asarray(kbb.convert_format(_xyxy(2, n=6), "xyxy", fmt))
    _close(lbb.compute_ciou(boxes1, boxes2, fmt), kbb.compute_ciou(boxes1, boxes2, fmt))
