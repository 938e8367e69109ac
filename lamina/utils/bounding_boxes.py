"""``keras.utils.bounding_boxes``: converting box formats, clipping, cropping, padding, affine transforms, IoU and
CIoU, and the anchor-delta encoding of detection heads.

Formats (last axis of 4): ``xyxy``, ``yxyx``, ``xywh``, ``center_xywh``, ``center_yxhw`` in pixels, and ``rel_xyxy``,
``rel_yxyx``, ``rel_xywh``, ``rel_center_xywh`` as fractions of the image's width and height.

>>> import numpy as np
>>> convert_format(np.array([[10.0, 20.0, 30.0, 60.0]]), "xyxy", "center_xywh").tolist()
[[20.0, 40.0, 20.0, 40.0]]
>>> round(float(compute_iou(np.array([[0.0, 0, 2, 2]]), np.array([[1.0, 1, 3, 3]]), "xyxy")[0, 0]), 4)
0.1429
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp

__all__ = ["affine_transform", "clip_to_image_size", "compute_ciou", "compute_iou", "convert_format", "crop",
           "decode_deltas_to_boxes", "encode_box_to_deltas", "pad"]

SUPPORTED_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
                     "rel_center_xywh")
_EPSILON = 1e-7


def _split(boxes: Any) -> list[Any]:
    return jnp.split(boxes, 4, axis=-1)


def _join(*parts: Any) -> Any:
    return jnp.concatenate(parts, axis=-1)


def _to_xyxy(boxes: Any, fmt: str, height: Any, width: Any) -> Any:
    a, b, c, d = _split(boxes)
    if fmt == "xyxy":
        return boxes
    if fmt == "yxyx":
        return _join(b, a, d, c)
    if fmt == "xywh":
        return _join(a, b, a + c, b + d)
    if fmt == "center_xywh":
        return _join(a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0)
    if fmt == "center_yxhw":
        return _join(b - d / 2.0, a - c / 2.0, b + d / 2.0, a + c / 2.0)
    if fmt == "rel_xyxy":
        return _join(a * width, b * height, c * width, d * height)
    if fmt == "rel_yxyx":
        return _join(b * width, a * height, d * width, c * height)
    if fmt == "rel_xywh":
        return _join(a * width, b * height, (a + c) * width, (b + d) * height)
    return _join((a - c / 2.0) * width, (b - d / 2.0) * height, (a + c / 2.0) * width, (b + d / 2.0) * height)


def _from_xyxy(boxes: Any, fmt: str, height: Any, width: Any) -> Any:
    x1, y1, x2, y2 = _split(boxes)
    w, h = x2 - x1, y2 - y1
    if fmt == "xyxy":
        return boxes
    if fmt == "yxyx":
        return _join(y1, x1, y2, x2)
    if fmt == "xywh":
        return _join(x1, y1, w, h)
    if fmt == "center_xywh":
        return _join(x1 + w / 2.0, y1 + h / 2.0, w, h)
    if fmt == "center_yxhw":
        return _join(y1 + h / 2.0, x1 + w / 2.0, h, w)
    if fmt == "rel_xyxy":
        return _join(x1 / width, y1 / height, x2 / width, y2 / height)
    if fmt == "rel_yxyx":
        return _join(y1 / height, x1 / width, y2 / height, x2 / width)
    if fmt == "rel_xywh":
        return _join(x1 / width, y1 / height, w / width, h / height)
    return _join((x1 + w / 2.0) / width, (y1 + h / 2.0) / height, w / width, h / height)


def convert_format(boxes: Any, source: str, target: str, height: Any = None, width: Any = None,
                   dtype: str = "float32") -> Any:
    """``boxes`` (``(..., 4)``, or a dict with ``"boxes"``) converted from format ``source`` to ``target``;
    relative formats need the image's ``height`` and ``width``.

    >>> convert_format(jnp.array([[0.25, 0.5, 0.75, 1.0]]), "rel_xyxy", "xywh", height=100, width=200).tolist()
    [[50.0, 50.0, 100.0, 50.0]]
    """
    if isinstance(boxes, dict):
        boxes["boxes"] = convert_format(boxes["boxes"], source, target, height, width, dtype)
        return boxes
    if tuple(jnp.shape(boxes))[-1:] != (4,):
        raise ValueError(f"`boxes` must be a tensor with the last dimension of 4. Received: boxes.shape="
                         f"{tuple(jnp.shape(boxes))}")
    source, target = source.lower(), target.lower()
    if source not in SUPPORTED_FORMATS or target not in SUPPORTED_FORMATS:
        raise ValueError(f"Invalid source or target format. Supported formats: {SUPPORTED_FORMATS}")
    if (source.startswith("rel_") or target.startswith("rel_")) and (width is None or height is None):
        raise ValueError("convert_format() must receive `height` and `width` transforming between relative and "
                         f"absolute formats.convert_format() received source=`{source}`, target=`{target}, but "
                         f"height={height} and width={width}.")
    boxes = jnp.asarray(boxes).astype(dtype)
    if source == target:
        return boxes
    width = None if width is None else jnp.asarray(width).astype(dtype)
    height = None if height is None else jnp.asarray(height).astype(dtype)
    if source.startswith("rel_") and target.startswith("rel_"):
        source, target = source[4:], target[4:]
    return _from_xyxy(_to_xyxy(boxes, source, height, width), target, height, width)


def clip_to_image_size(bounding_boxes: dict[str, Any], height: Any = None, width: Any = None,
                       bounding_box_format: str = "xyxy") -> dict[str, Any]:
    """Boxes clipped to the image (``xyxy`` needs ``height``/``width``; ``rel_xyxy`` clips to [0, 1]); boxes left
    with no area get label ``-1``.

    >>> out = clip_to_image_size({"boxes": jnp.array([[-5.0, 2, 50, 8], [20, 20, 30, 30]]),
    ...                           "labels": jnp.array([1, 2])}, height=10, width=10)
    >>> out["boxes"].tolist(), out["labels"].tolist()
    ([[0.0, 2.0, 10.0, 8.0], [10.0, 10.0, 10.0, 10.0]], [1, -1])
    """
    if bounding_box_format not in ("xyxy", "rel_xyxy"):
        raise NotImplementedError(
            f"clip_to_image_size supports bounding_box_format 'xyxy' and 'rel_xyxy', received "
            f"{bounding_box_format!r}; convert first: convert_format(boxes, {bounding_box_format!r}, 'xyxy', ...).")
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ValueError("`height` and `width` must be set if `format='xyxy'`.")
    boxes = jnp.asarray(bounding_boxes["boxes"])
    labels = bounding_boxes.get("labels")
    if bounding_box_format == "xyxy":
        high_x, high_y = jnp.asarray(width).astype(boxes.dtype), jnp.asarray(height).astype(boxes.dtype)
    else:
        high_x = high_y = 1.0
    x1, y1, x2, y2 = _split(boxes)
    boxes = _join(jnp.clip(x1, 0, high_x), jnp.clip(y1, 0, high_y), jnp.clip(x2, 0, high_x), jnp.clip(y2, 0, high_y))
    result = dict(bounding_boxes)
    result["boxes"] = boxes
    if labels is not None:
        x1, y1, x2, y2 = _split(boxes)
        areas = jnp.squeeze((x2 - x1) * (y2 - y1), axis=-1)
        result["labels"] = jnp.where(areas > 0, jnp.asarray(labels), -1)
    return result


def _inverse_affine_matrix(center_x: Any, center_y: Any, angle: Any, translate_x: Any, translate_y: Any,
                           scale: Any, shear_x: Any, shear_y: Any, height: Any, width: Any) -> Any:
    """Keras's ``(batch, 3, 3)`` matrix of the transform (angles in degrees, translations as image fractions)."""
    angle = jnp.asarray(angle)
    batch, dtype = angle.shape[0], angle.dtype
    cx, cy = center_x * (width - 1), center_y * (height - 1)
    rot = -angle * (math.pi / 180.0)
    tx, ty = -jnp.asarray(translate_x) * (width - 1), -jnp.asarray(translate_y) * (height - 1)
    sx, sy = -jnp.asarray(shear_x) * (math.pi / 180.0), -jnp.asarray(shear_y) * (math.pi / 180.0)
    a = jnp.cos(rot - sy) / jnp.cos(sy)
    b = a * jnp.tan(sx) + jnp.sin(rot)
    c = -jnp.sin(rot - sy) / jnp.cos(sy)
    d = jnp.cos(rot) - c * jnp.tan(sx)
    a0, a1, b0, b1 = d * scale, -b * scale, -c * scale, a * scale
    a2 = cx - a0 * (cx + tx) - a1 * (cy + ty)
    b2 = cy - b0 * (cx + tx) - b1 * (cy + ty)
    zeros, ones = jnp.zeros([batch], dtype), jnp.ones([batch], dtype)
    return jnp.stack([a0, a1, a2, b0, b1, b2, zeros, zeros, ones], axis=-1).reshape(batch, 3, 3)


def affine_transform(boxes: Any, angle: Any, translate_x: Any, translate_y: Any, scale: Any, shear_x: Any,
                     shear_y: Any, height: Any, width: Any, center_x: Any = None, center_y: Any = None,
                     bounding_box_format: str = "xyxy") -> Any:
    """``(batch, n, 4)`` ``xyxy`` boxes moved by the per-image affine transform of Keras's ``RandomAffine`` family
    (each a ``(batch,)`` array), as the enclosing box of the four transformed corners.

    >>> affine_transform(jnp.array([[[1.0, 1, 3, 3]]]), *[jnp.zeros(1)] * 3, jnp.ones(1), *[jnp.zeros(1)] * 2,
    ...                  height=5, width=5).tolist()
    [[[1.0, 1.0, 3.0, 3.0]]]
    """
    if bounding_box_format != "xyxy":
        raise NotImplementedError
    matrix = _inverse_affine_matrix(0.5 if center_x is None else center_x, 0.5 if center_y is None else center_y,
                                    angle, translate_x, translate_y, scale, shear_x, shear_y, height, width)
    boxes = jnp.asarray(boxes).astype(matrix.dtype)
    batch, count = boxes.shape[0], boxes.shape[1]
    x1, y1, x2, y2 = boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3]
    corners = jnp.stack([x1, y1, x2, y1, x2, y2, x1, y2], axis=-1).reshape(batch, count, 4, 2)
    corners = jnp.concatenate([corners, jnp.ones((batch, count, 4, 1), corners.dtype)], axis=-1)
    moved = jnp.einsum("bnxy,byz->bnxz", corners, jnp.transpose(matrix[:, :2, :], (0, 2, 1)))
    return jnp.concatenate([moved.min(axis=2), moved.max(axis=2)], axis=-1)


def crop(boxes: Any, top: Any, left: Any, height: Any, width: Any, bounding_box_format: str = "xyxy") -> Any:
    """``xyxy`` boxes in the frame of the crop at ``(top, left)`` of size ``height`` x ``width``, clipped to it.

    >>> crop(jnp.array([[2.0, 2, 8, 8]]), 1, 3, 4, 4).tolist()
    [[0.0, 1.0, 4.0, 4.0]]
    """
    if bounding_box_format != "xyxy":
        raise NotImplementedError
    x1, y1, x2, y2 = _split(jnp.asarray(boxes))
    return _join(jnp.clip(x1 - left, 0, width), jnp.clip(y1 - top, 0, height), jnp.clip(x2 - left, 0, width),
                 jnp.clip(y2 - top, 0, height))


def pad(boxes: Any, top: Any, left: Any, height: Any = None, width: Any = None,
        bounding_box_format: str = "xyxy") -> Any:
    """``xyxy`` boxes shifted by the padding added above (``top``) and to the left (``left``) of the image.

    >>> pad(jnp.array([[1.0, 1, 2, 2]]), top=3, left=1).tolist()
    [[2.0, 4.0, 3.0, 5.0]]
    """
    if bounding_box_format != "xyxy":
        raise NotImplementedError
    x1, y1, x2, y2 = _split(jnp.asarray(boxes))
    return _join(x1 + left, y1 + top, x2 + left, y2 + top)


def _check_variance(variance: Any) -> Any:
    if variance is None:
        return None
    variance = jnp.asarray(variance, "float32")
    if variance.shape[-1] != 4:
        raise ValueError(f"`variance` must be length 4, got {variance}")
    return variance


def encode_box_to_deltas(anchors: Any, boxes: Any, anchor_format: str, box_format: str,
                         encoding_format: str = "center_yxhw", variance: Any = None, image_shape: Any = None) -> Any:
    """The regression targets of ``boxes`` against ``anchors``: centre offsets over the anchor size and log size
    ratios, in ``encoding_format``'s order, divided by ``variance``.

    >>> encode_box_to_deltas(jnp.array([[0.0, 0, 4, 4]]), jnp.array([[1.0, 1, 5, 5]]), "xyxy", "xyxy").tolist()
    [[0.25, 0.25, 0.0, 0.0]]
    """
    variance = _check_variance(variance)
    if encoding_format not in ("center_xywh", "center_yxhw"):
        raise ValueError(f"`encoding_format` should be one of 'center_xywh' or 'center_yxhw', got {encoding_format}")
    height, width = (None, None) if image_shape is None else image_shape[:2]
    anchors = convert_format(anchors, anchor_format, encoding_format, height, width)
    boxes = convert_format(boxes, box_format, encoding_format, height, width)
    anchor_size = jnp.maximum(anchors[..., 2:], _EPSILON)
    box_size = jnp.maximum(boxes[..., 2:], _EPSILON)
    deltas = jnp.concatenate([(boxes[..., :2] - anchors[..., :2]) / anchor_size, jnp.log(box_size / anchor_size)],
                             axis=-1)
    return deltas / variance if variance is not None else deltas


def decode_deltas_to_boxes(anchors: Any, boxes_delta: Any, anchor_format: str, box_format: str,
                           encoded_format: str = "center_yxhw", variance: Any = None, image_shape: Any = None) -> Any:
    """Inverse of :func:`encode_box_to_deltas`: boxes in ``box_format`` (dicts of levels decode level by level).

    >>> decode_deltas_to_boxes(jnp.array([[0.0, 0, 4, 4]]), jnp.array([[0.25, 0.25, 0, 0]]), "xyxy", "xyxy").tolist()
    [[1.0, 1.0, 5.0, 5.0]]
    """
    variance = _check_variance(variance)
    if encoded_format not in ("center_xywh", "center_yxhw"):
        raise ValueError(f"`encoded_format` should be 'center_xywh' or 'center_yxhw', but got '{encoded_format}'.")
    height, width = (None, None) if image_shape is None else image_shape[:2]

    def decode(anchor: Any, delta: Any) -> Any:
        anchor = convert_format(anchor, anchor_format, encoded_format, height, width)
        delta = jnp.asarray(delta)
        if variance is not None:
            delta = delta * variance
        box = jnp.concatenate([delta[..., :2] * anchor[..., 2:] + anchor[..., :2],
                               jnp.exp(delta[..., 2:]) * anchor[..., 2:]], axis=-1)
        return convert_format(box, encoded_format, box_format, height, width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)


def compute_iou(boxes1: Any, boxes2: Any, bounding_box_format: str, use_masking: bool = False, mask_val: int = -1,
                image_shape: Any = None) -> Any:
    """Pairwise IoU of ``boxes1`` ``([batch,] N, 4)`` and ``boxes2`` ``([batch,] M, 4)``: ``([batch,] N, M)``.

    With ``use_masking``, pairs where either box has all coordinates negative (padding) get ``mask_val``.
    """
    rank1, rank2 = len(jnp.shape(boxes1)), len(jnp.shape(boxes2))
    for which, rank in (("boxes1", rank1), ("boxes2", rank2)):
        if rank not in (2, 3):
            raise ValueError(f"compute_iou() expects {which} to be batched, or to be unbatched. Received "
                             f"len(boxes1.shape)={rank1}, len(boxes2.shape)={rank2}. Expected either "
                             f"len({which}.shape)=2 AND or len({which}.shape)=3.")
    if "rel" in bounding_box_format and image_shape is None:
        raise ValueError("When using relative bounding box formats (e.g. `rel_yxyx`) the `image_shape` argument "
                         f"must be provided.Received `image_shape`: {image_shape}")
    height, width = (None, None) if image_shape is None else image_shape[:2]
    b1 = convert_format(boxes1, bounding_box_format, "yxyx", height, width)
    b2 = convert_format(boxes2, bounding_box_format, "yxyx", height, width)
    y1a, x1a, y2a, x2a = _split(b1)
    y1b, x1b, y2b, x2b = _split(b2)
    perm = (1, 0) if rank2 == 2 else (0, 2, 1)
    inter_h = jnp.maximum(0.0, jnp.minimum(y2a, jnp.transpose(y2b, perm)) - jnp.maximum(y1a, jnp.transpose(y1b, perm)))
    inter_w = jnp.maximum(0.0, jnp.minimum(x2a, jnp.transpose(x2b, perm)) - jnp.maximum(x1a, jnp.transpose(x1b, perm)))
    inter = inter_h * inter_w
    area1 = jnp.squeeze((y2a - y1a) * (x2a - x1a), axis=-1)[..., None]
    area2 = jnp.squeeze((y2b - y1b) * (x2b - x1b), axis=-1)
    area2 = jnp.expand_dims(area2, axis=1 if area2.ndim == 2 else 0)
    iou = inter / (area1 + area2 - inter + _EPSILON)
    if not use_masking:
        return iou
    perm = (1, 0) if rank1 == 2 else (0, 2, 1)
    background = jnp.logical_or(b1.max(axis=-1, keepdims=True) < 0.0,
                                jnp.transpose(b2.max(axis=-1, keepdims=True) < 0.0, perm))
    return jnp.where(background, jnp.asarray(mask_val, iou.dtype), iou)


def compute_ciou(boxes1: Any, boxes2: Any, bounding_box_format: str, image_shape: Any = None) -> Any:
    """Complete IoU of matching boxes (``(..., 4)`` each): IoU minus the normalized centre distance and an
    aspect-ratio term (the CIoU loss is ``1 - compute_ciou``).

    >>> float(compute_ciou(jnp.array([0.0, 0, 2, 2]), jnp.array([0.0, 0, 2, 2]), "xyxy")) > 0.999
    True
    """
    if "rel" in bounding_box_format:
        raise ValueError("When using relative bounding box formats (e.g. `rel_yxyx`) the `image_shape` argument "
                         f"must be provided.Received `image_shape`: {image_shape}")
    height, width = (None, None) if image_shape is None else image_shape[:2]
    x1a, y1a, x2a, y2a = _split(convert_format(boxes1, bounding_box_format, "xyxy", height, width))
    x1b, y1b, x2b, y2b = _split(convert_format(boxes2, bounding_box_format, "xyxy", height, width))
    wa, ha = x2a - x1a, y2a - y1a + _EPSILON
    wb, hb = x2b - x1b, y2b - y1b + _EPSILON
    inter = jnp.maximum(jnp.minimum(x2a, x2b) - jnp.maximum(x1a, x1b), 0) * \
        jnp.maximum(jnp.minimum(y2a, y2b) - jnp.maximum(y1a, y1b), 0)
    union = wa * ha + wb * hb - inter + _EPSILON
    iou = jnp.squeeze(inter / (union + _EPSILON), axis=-1)
    diagonal = jnp.squeeze((jnp.maximum(x2a, x2b) - jnp.minimum(x1a, x1b)) ** 2
                           + (jnp.maximum(y2a, y2b) - jnp.minimum(y1a, y1b)) ** 2 + _EPSILON, axis=-1)
    centres = jnp.squeeze(((x1a + x2a) / 2 - (x1b + x2b) / 2) ** 2 + ((y1a + y2a) / 2 - (y1b + y2b) / 2) ** 2,
                          axis=-1)
    v = jnp.squeeze((4 / math.pi ** 2) * (jnp.arctan(wb / hb) - jnp.arctan(wa / ha)) ** 2, axis=-1)
    alpha = v / (v - iou + (1 + _EPSILON))
    return iou - (centres / diagonal + v * alpha)
