"""``MaxNumBoundingBoxes``: give every image exactly ``max_number`` bounding boxes (cut or padded).

Object-detection data passes through preprocessing as a dict ``{"images": ..., "bounding_boxes": {"boxes":
(batch, n, 4), "labels": (batch, n)}, "labels": ..., "segmentation_masks": ...}``. This layer keeps the first
``max_number`` boxes of each image and pads the rest with ``fill_value`` so batches have one static shape;
images, labels and masks pass unchanged. A plain image tensor passes unchanged too.

>>> import numpy as np
>>> from lamina import layers
>>> data = {"images": np.zeros((2, 8, 8, 3)), "bounding_boxes": {"boxes": np.ones((2, 5, 4)),
...                                                               "labels": np.ones((2, 5))}}
>>> out = layers.MaxNumBoundingBoxes(3, bounding_box_format="xyxy")(data)
>>> out["bounding_boxes"]["boxes"].shape, out["bounding_boxes"]["labels"].shape
((2, 3, 4), (2, 3))
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from lamina.explain import Details, register_explainer
from lamina.layers.base import Layer
from lamina.layers.convolution import data_format_of


def _densify(values: Any, batched: bool, trailing: tuple[int, ...]) -> Any:
    """A list of per-image arrays of different lengths -> one array padded with -1 (Keras's densify)."""
    if not batched or not isinstance(values, (list, tuple)):
        return jnp.asarray(values)
    items = [np.asarray(v) for v in values]
    if len({len(v) for v in items}) <= 1:
        return jnp.asarray(np.stack(items)) if items else jnp.zeros((0, 0) + trailing)
    longest = max(len(v) for v in items)
    out = np.full((len(items), longest) + trailing, -1, dtype=np.result_type(*items))
    for i, v in enumerate(items):
        out[i, :len(v)] = v
    return jnp.asarray(out)


class MaxNumBoundingBoxes(Layer):
    """Cut or pad the ``bounding_boxes`` of each image to ``max_number`` (padding with ``fill_value``)."""

    _writes_build_config = False

    def __init__(self, max_number: int, fill_value: int = -1, bounding_box_format: str | None = None,
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_number = int(max_number)
        if self.max_number < 1:
            raise ValueError(f"MaxNumBoundingBoxes '{self.name}': max_number must be a positive integer, received "
                             f"{max_number!r}.")
        self.fill_value = int(fill_value)
        self.bounding_box_format = bounding_box_format
        self.data_format = data_format_of(data_format, f"MaxNumBoundingBoxes '{self.name}'")

    def _fit(self, values: Any, batched: bool) -> Any:
        axis = 1 if batched else 0
        have = values.shape[axis]
        index = [slice(None)] * values.ndim
        index[axis] = slice(0, self.max_number)
        values = values[tuple(index)]
        pad = [(0, 0)] * values.ndim
        pad[axis] = (0, max(self.max_number - have, 0))
        return jnp.pad(values, pad, constant_values=self.fill_value)

    def transform_bounding_boxes(self, bounding_boxes: dict[str, Any], batched: bool = True) -> dict[str, Any]:
        """``boxes`` and ``labels`` cut or padded to ``max_number`` along the box axis."""
        extra = set(bounding_boxes) - {"boxes", "labels"}
        if extra:
            raise KeyError(f"There are unsupported keys in `bounding_boxes`: {sorted(extra)}. Only `boxes` and "
                           "`labels` are supported.")
        boxes = _densify(bounding_boxes["boxes"], batched, (4,))
        labels = _densify(bounding_boxes["labels"], batched, ())
        return {**bounding_boxes, "boxes": self._fit(boxes, batched), "labels": self._fit(labels, batched)}

    def call(self, data: Any, training: bool = True) -> Any:
        if not isinstance(data, dict):
            return data
        if "images" not in data:
            raise ValueError(f"MaxNumBoundingBoxes '{self.name}' takes images or a dict with an 'images' key, "
                             f"received a dict with keys {sorted(data)}.")
        images = jnp.asarray(data["images"])
        batched = images.ndim == 4
        out = {**data, "images": images}
        if "bounding_boxes" in data:
            if not self.bounding_box_format:
                raise ValueError("You passed an input with a 'bounding_boxes' key, but you didn't specify a bounding "
                                 "box format. Pass a `bounding_box_format` argument to your MaxNumBoundingBoxes "
                                 "layer, e.g. `bounding_box_format='xyxy'`.")
            out["bounding_boxes"] = self.transform_bounding_boxes(data["bounding_boxes"], batched)
        for key in ("labels", "segmentation_masks"):
            if key in data:
                out[key] = jnp.asarray(data[key])
        return out

    def compute_output_shape(self, input_shape: Any) -> Any:
        if isinstance(input_shape, dict) and "bounding_boxes" in input_shape:
            boxes = dict(input_shape["bounding_boxes"])
            extra = set(boxes) - {"boxes", "labels"}
            if extra:
                raise KeyError(f"There are unsupported keys in `bounding_boxes`: {sorted(extra)}. Only `boxes` and "
                               "`labels` are supported.")
            axis = 1 if len(input_shape["images"]) == 4 else 0
            for key in ("boxes", "labels"):
                shape = list(boxes[key])
                shape[axis] = self.max_number
                boxes[key] = tuple(shape)
            return {**input_shape, "bounding_boxes": boxes}
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "data_format": self.data_format}
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return {**config, "max_number": self.max_number}


@register_explainer(MaxNumBoundingBoxes)
def _explain_max_boxes(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    return Details(f"MaxNumBoundingBoxes keeps the first {layer.max_number} bounding boxes of each image and pads "
                   f"missing ones with {layer.fill_value}, so every batch has {layer.max_number} boxes; images and "
                   "labels pass unchanged. No weights.", arithmetic="no weights = 0")
