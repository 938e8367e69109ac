"""``keras.utils.bounding_boxes``: box-format conversion, clipping, IoU and anchor-delta coding, as Keras's.

Formats: ``xyxy`` (left, top, right, bottom), ``yxyx``, ``xywh``, ``center_xywh``, ``center_yxhw``, and the relative
``rel_xyxy``, ``rel_yxyx``, ``rel_xywh``, ``rel_center_xywh`` (divided by the image ``width``/``height``).

>>> import numpy as np
>>> convert_format(np.array([[10, 20, 30, 40]]), source="xyxy", target="xywh").tolist()
[[10.0, 20.0, 20.0, 20.0]]
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp

SUPPORTED_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
                     "rel_center_xywh")
_EPSILON = 1e-7  # keras.backend.epsilon()


def _split(boxes: Any) -> list[Any]:
    return [boxes[..., i:i + 1] for i in range(4)]


def _cat(parts: list[Any]) -> Any:
    return jnp.concatenate(parts, axis=-1)


def _to_xyxy(boxes: Any, fmt: str, height: Any, width: Any) -> Any:
    a, b, c, d = _split(boxes)
    if fmt.startswith("rel_"):
        base = fmt[4:]
        if base == "yxyx":
            return _cat([b * width, a * height, d * width, c * height])
        if base == "xywh":
            return _cat([a * width, b * height, (a + c) * width, (b + d) * height])
        if base == "center_xywh":
            return _cat([(a - c / 2.0) * width, (b - d / 2.0) * height, (a + c / 2.0) * width,
                         (b + d / 2.0) * height])
        return _cat([a * width, b * height, c * width, d * height])
    if fmt == "yxyx":
        return _cat([b, a, d, c])
    if fmt == "xywh":
        return _cat([a, b, a + c, b + d])
    if fmt == "center_xywh":
        return _cat([a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0])
    if fmt == "center_yxhw":
        return _cat([b - d / 2.0, a - c / 2.0, b + d / 2.0, a + c / 2.0])
    return boxes


def _from_xyxy(boxes: Any, fmt: str, height: Any, width: Any) -> Any:
    x1, y1, x2, y2 = _split(boxes)
    w, h = x2 - x1, y2 - y1
    cx, cy = x1 + w / 2.0, y1 + h / 2.0
    table = {
        "xyxy": lambda: boxes, "yxyx": lambda: _cat([y1, x1, y2, x2]), "xywh": lambda: _cat([x1, y1, w, h]),
        "center_xywh": lambda: _cat([cx, cy, w, h]), "center_yxhw": lambda: _cat([cy, cx, h, w]),
        "rel_xyxy": lambda: _cat([x1 / width, y1 / height, x2 / width, y2 / height]),
        "rel_yxyx": lambda: _cat([y1 / height, x1 / width, y2 / height, x2 / width]),
        "rel_xywh": lambda: _cat([x1 / width, y1 / height, w / width, h / height]),
        "rel_center_xywh": lambda: _cat([cx / width, cy / height, w / width, h / height]),
    }
    return table[fmt]()


def convert_format(boxes: Any, source: str, target: str, height: Any = None, width: Any = None,
                   dtype: str = "float32") -> Any:
    """Convert ``boxes`` (``(..., 4)``, or a dict with ``"boxes"``) from ``source`` to ``target`` format; relative
    formats need the image ``height`` and ``width``."""
    if isinstance(boxes, dict):
        boxes["boxes"] = convert_format(boxes["boxes"], source, target, height=height, width=width, dtype=dtype)
        return boxes
    boxes = jnp.asarray(boxes)
    if boxes.shape[-1] != 4:
        raise ValueError(f"`boxes` must be a tensor with the last dimension of 4. Received: boxes.shape={boxes.shape}")
    source, target = source.lower(), target.lower()
    if source not in SUPPORTED_FORMATS or target not in SUPPORTED_FORMATS:
        raise ValueError(f"Invalid source or target format. Supported formats: {SUPPORTED_FORMATS}")
    if (source.startswith("rel_") or target.startswith("rel_")) and (width is None or height is None):
        raise ValueError("convert_format() must receive `height` and `width` transforming between relative and "
                         f"absolute formats.convert_format() received source=`{source}`, target=`{target}, but "
                         f"height={height} and width={width}.")
    boxes = boxes.astype(dtype)
    if source == target:
        return boxes
    width = None if width is None else jnp.asarray(width, dtype)
    height = None if height is None else jnp.asarray(height, dtype)
    if source.startswith("rel_") and target.startswith("rel_"):  # relative to relative: no image size involved
        source, target = source[4:], target[4:]
    return _from_xyxy(_to_xyxy(boxes, source, height, width), target, height, width)


def _area_xyxy(boxes: Any) -> Any:
    x1, y1, x2, y2 = _split(boxes)
    return (x2 - x1) * (y2 - y1)


def clip_to_image_size(bounding_boxes: dict[str, Any], height: Any = None, width: Any = None,
                       bounding_box_format: str = "xyxy") -> dict[str, Any]:
    """Clip ``bounding_boxes["boxes"]`` to the image (``xyxy``/``rel_xyxy``); boxes left with no area get label -1."""
    if bounding_box_format not in ("xyxy", "rel_xyxy"):
        raise NotImplementedError(f"clip_to_image_size supports bounding_box_format 'xyxy' and 'rel_xyxy' only (as "
                                  f"Keras); received {bounding_box_format!r}. Convert with convert_format first.")
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ValueError("`height` and `width` must be set if `format='xyxy'`.")
    boxes = jnp.asarray(bounding_boxes["boxes"])
    hi_x, hi_y = (width, height) if bounding_box_format == "xyxy" else (1.0, 1.0)
    x1, y1, x2, y2 = _split(boxes)
    boxes = _cat([jnp.clip(x1, 0, hi_x), jnp.clip(y1, 0, hi_y), jnp.clip(x2, 0, hi_x), jnp.clip(y2, 0, hi_y)])
    result = dict(bounding_boxes)
    result["boxes"] = boxes
    if bounding_boxes.get("labels") is not None:
        result["labels"] = jnp.where(_area_xyxy(boxes)[..., 0] > 0, jnp.asarray(bounding_boxes["labels"]), -1)
    return result


def crop(boxes: Any, top: Any, left: Any, height: Any, width: Any, bounding_box_format: str = "xyxy") -> Any:
    """Boxes in the coordinates of the ``(top, left, height, width)`` crop of the image, clipped to it."""
    if bounding_box_format != "xyxy":
        raise NotImplementedError("crop supports bounding_box_format='xyxy' only (as Keras).")
    x1, y1, x2, y2 = _split(jnp.asarray(boxes))
    return _cat([jnp.clip(x1 - left, 0, width), jnp.clip(y1 - top, 0, height), jnp.clip(x2 - left, 0, width),
                 jnp.clip(y2 - top, 0, height)])


def pad(boxes: Any, top: Any, left: Any, height: Any = None, width: Any = None,
        bounding_box_format: str = "xyxy") -> Any:
    """Boxes shifted by the ``top``/``left`` padding added to the image."""
    if bounding_box_format != "xyxy":
        raise NotImplementedError("pad supports bounding_box_format='xyxy' only (as Keras).")
    x1, y1, x2, y2 = _split(jnp.asarray(boxes))
    return _cat([x1 + left, y1 + top, x2 + left, y2 + top])


def _image_size(image_shape: Any) -> tuple[Any, Any]:
    if image_shape is None:
        return None, None
    height, width, _ = image_shape
    return height, width


def compute_iou(boxes1: Any, boxes2: Any, bounding_box_format: str, use_masking: bool = False, mask_val: int = -1,
                image_shape: Any = None) -> Any:
    """Pairwise intersection over union, ``(N, M)`` for ``(N, 4)`` and ``(M, 4)`` boxes (or batched ``(B, N, M)``);
    with ``use_masking`` pairs where a box has only negative coordinates get ``mask_val``."""
    rank1, rank2 = len(jnp.shape(boxes1)), len(jnp.shape(boxes2))
    for which, rank in (("boxes1", rank1), ("boxes2", rank2)):
        if rank not in (2, 3):
            raise ValueError(f"compute_iou() expects {which} to be batched, or to be unbatched. Received "
                             f"len(boxes1.shape)={rank1}, len(boxes2.shape)={rank2}. Expected either "
                             f"len({which}.shape)=2 AND or len({which}.shape)=3.")
    if "rel" in bounding_box_format and image_shape is None:
        raise ValueError("When using relative bounding box formats (e.g. `rel_yxyx`) the `image_shape` argument "
                         f"must be provided.Received `image_shape`: {image_shape}")
    height, width = _image_size(image_shape)
    b1 = convert_format(boxes1, bounding_box_format, "xyxy", height=height, width=width)
    b2 = convert_format(boxes2, bounding_box_format, "xyxy", height=height, width=width)
    ox1, oy1, ox2, oy2 = (b2[..., i][..., None, :] for i in range(4))  # (..., 1, M): boxes2 along the last axis
    x1, y1, x2, y2 = _split(b1)  # (..., N, 1)
    inter = (jnp.maximum(0.0, jnp.minimum(x2, ox2) - jnp.maximum(x1, ox1))
             * jnp.maximum(0.0, jnp.minimum(y2, oy2) - jnp.maximum(y1, oy1)))
    iou = inter / (_area_xyxy(b1) + (ox2 - ox1) * (oy2 - oy1) - inter + _EPSILON)
    if not use_masking:
        return iou
    background = jnp.logical_or(jnp.max(b1, axis=-1, keepdims=True) < 0.0, (jnp.max(b2, axis=-1) < 0.0)[..., None, :])
    return jnp.where(background, jnp.asarray(mask_val, iou.dtype), iou)


def compute_ciou(boxes1: Any, boxes2: Any, bounding_box_format: str, image_shape: Any = None) -> Any:
    """Complete IoU of matching boxes (element-wise, not pairwise): IoU minus the centre-distance and aspect terms."""
    if "rel" in bounding_box_format:
        raise ValueError("When using relative bounding box formats (e.g. `rel_yxyx`) the `image_shape` argument "
                         f"must be provided.Received `image_shape`: {image_shape}")
    height, width = _image_size(image_shape)
    ax1, ay1, ax2, ay2 = _split(convert_format(boxes1, bounding_box_format, "xyxy", height=height, width=width))
    bx1, by1, bx2, by2 = _split(convert_format(boxes2, bounding_box_format, "xyxy", height=height, width=width))
    w1, h1 = ax2 - ax1, ay2 - ay1 + _EPSILON
    w2, h2 = bx2 - bx1, by2 - by1 + _EPSILON
    inter = (jnp.maximum(jnp.minimum(ax2, bx2) - jnp.maximum(ax1, bx1), 0)
             * jnp.maximum(jnp.minimum(ay2, by2) - jnp.maximum(ay1, by1), 0))
    union = w1 * h1 + w2 * h2 - inter + _EPSILON
    iou = (inter / (union + _EPSILON))[..., 0]
    diagonal = ((jnp.maximum(ax2, bx2) - jnp.minimum(ax1, bx1)) ** 2
                + (jnp.maximum(ay2, by2) - jnp.minimum(ay1, by1)) ** 2 + _EPSILON)[..., 0]
    centres = (((ax1 + ax2) / 2 - (bx1 + bx2) / 2) ** 2 + ((ay1 + ay2) / 2 - (by1 + by2) / 2) ** 2)[..., 0]
    v = (4 / math.pi**2 * (jnp.arctan(w2 / h2) - jnp.arctan(w1 / h1)) ** 2)[..., 0]
    alpha = v / (v - iou + (1 + _EPSILON))
    return iou - (centres / diagonal + v * alpha)


def _check_variance(variance: Any) -> Any:
    if variance is None:
        return None
    variance = jnp.asarray(variance, "float32")
    if variance.shape[-1] != 4:
        raise ValueError(f"`variance` must be length 4, got {variance}")
    return variance


def encode_box_to_deltas(anchors: Any, boxes: Any, anchor_format: str, box_format: str,
                         encoding_format: str = "center_yxhw", variance: Any = None, image_shape: Any = None) -> Any:
    """Regression targets of ``boxes`` against ``anchors``: centre offsets over anchor size, log size ratios."""
    variance = _check_variance(variance)
    if encoding_format not in ("center_xywh", "center_yxhw"):
        raise ValueError(f"`encoding_format` should be one of 'center_xywh' or 'center_yxhw', got {encoding_format}")
    height, width = _image_size(image_shape)
    anchors = convert_format(anchors, anchor_format, encoding_format, height=height, width=width)
    boxes = convert_format(boxes, box_format, encoding_format, height=height, width=width)
    anchor_size = jnp.maximum(anchors[..., 2:], _EPSILON)
    box_size = jnp.maximum(boxes[..., 2:], _EPSILON)
    deltas = jnp.concatenate([(boxes[..., :2] - anchors[..., :2]) / anchor_size, jnp.log(box_size / anchor_size)],
                             axis=-1)
    return deltas if variance is None else deltas / variance


def decode_deltas_to_boxes(anchors: Any, boxes_delta: Any, anchor_format: str, box_format: str,
                           encoded_format: str = "center_yxhw", variance: Any = None, image_shape: Any = None) -> Any:
    """The inverse of ``encode_box_to_deltas`` (dicts of levels decode level by level)."""
    variance = _check_variance(variance)
    if encoded_format not in ("center_xywh", "center_yxhw"):
        raise ValueError(f"`encoded_format` should be 'center_xywh' or 'center_yxhw', but got '{encoded_format}'.")
    height, width = _image_size(image_shape)

    def decode(anchor: Any, delta: Any) -> Any:
        anchor = convert_format(anchor, anchor_format, encoded_format, height=height, width=width)
        if variance is not None:
            delta = delta * variance
        box = jnp.concatenate([delta[..., :2] * anchor[..., 2:] + anchor[..., :2],
                               jnp.exp(delta[..., 2:]) * anchor[..., 2:]], axis=-1)
        return convert_format(box, encoded_format, box_format, height=height, width=width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)
