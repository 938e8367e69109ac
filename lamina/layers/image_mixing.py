"""Layers that mix or occlude images: ``MixUp`` (blend each image with another of the batch), ``CutMix`` (paste a
box from another image of the batch) and ``RandomErasing`` (fill a random box with noise or a value).

Training only; at inference they pass images through (cast to the compute dtype). Given a dict
``{"images": ..., "labels": ...}``, ``MixUp`` and ``CutMix`` mix the labels with the same weights, as in Keras.

>>> import numpy as np
>>> from lamina import layers
>>> x = np.stack([np.zeros((2, 2, 1)), np.ones((2, 2, 1))]).astype("float32")
>>> out = layers.MixUp(seed=0)(x)
>>> bool(np.allclose(np.asarray(out[0]) + np.asarray(out[1]), 1.0))
True
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from lamina import random
from lamina.layers.image_color import batch_size
from lamina.layers.image_preprocessing import BaseImagePreprocessingLayer, _hw_axes


def box_masks(shape: tuple[int, ...], x0: Any, x1: Any, y0: Any, y1: Any, data_format: str) -> Any:
    """Boolean masks ``(batch, ...)`` of the boxes ``x0 <= x < x1, y0 <= y < y1`` (one per image), over all
    channels."""
    h_axis, w_axis = _hw_axes(data_format)
    height, width = shape[h_axis], shape[w_axis]
    ys, xs = jnp.meshgrid(jnp.arange(height, dtype="float32"), jnp.arange(width, dtype="float32"), indexing="ij")
    grid = (slice(None), slice(None), None) if data_format == "channels_last" else (None, slice(None), slice(None))
    ys, xs = ys[(None,) + grid], xs[(None,) + grid]
    x0, x1, y0, y1 = (v[:, None, None, None] for v in (x0, x1, y0, y1))
    masks = (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
    channel_axis = -1 if data_format == "channels_last" else -3
    return jnp.repeat(masks, shape[channel_axis], axis=channel_axis)


def _crop_bounds(n: int, length: int, ratio: Any, dtype: str, seed: Any) -> tuple[Any, Any]:
    crop = (ratio * length).astype(dtype)
    start = random.uniform((n,), 0, 1, dtype, seed) * (length - crop)
    return start, start + crop


class _MixingLayer(BaseImagePreprocessingLayer):
    """``call`` accepts images or a dict with ``"images"`` and ``"labels"``."""

    _USE_BASE_FACTOR = False
    _BATCH_SINGLE_IMAGES = True

    def call(self, inputs: Any, training: bool = True) -> Any:
        if not isinstance(inputs, dict):
            return super().call(inputs, training=training)
        data = dict(inputs)
        images = jnp.asarray(data["images"])
        transformation = self.get_random_transformation(images, training=training)
        single = images.ndim == 3
        out = self.transform_images(images[None] if single else images, transformation, training=training)
        data["images"] = out[0] if single else out
        if "labels" in data:
            labels = jnp.asarray(data["labels"])
            mixed = self.transform_labels(labels[None] if single else labels, transformation, training=training)
            data["labels"] = mixed[0] if single else mixed
        return data

    def transform_labels(self, labels: Any, transformation: Any, training: bool = True) -> Any:
        return labels

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


class MixUp(_MixingLayer):
    """Blend each image with a random other image of the batch: ``w x + (1 - w) x[perm]``, ``w ~ Beta(alpha,
    alpha)`` per image (labels alike)."""

    def __init__(self, alpha: float = 0.2, data_format: str | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self.alpha = alpha
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        n, seed = batch_size(data), self.generator if seed is None else seed
        order = random.shuffle(jnp.arange(0, n, dtype="int32"), seed=seed)
        weight = random.beta((n,), self.alpha, self.alpha, seed=seed)
        return {"mix_weight": weight, "permutation_order": order}

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        images = jnp.asarray(images)
        if not training:
            return images
        images = images.astype(self.compute_dtype)
        weight = jnp.reshape(transformation["mix_weight"], (-1, 1, 1, 1)).astype(self.compute_dtype)
        other = jnp.take(images, transformation["permutation_order"], axis=0)
        return weight * images + (1.0 - weight) * other

    def transform_labels(self, labels: Any, transformation: Any, training: bool = True) -> Any:
        if not training:
            return labels
        weight = jnp.reshape(transformation["mix_weight"], (-1, 1))
        return weight * labels + (1.0 - weight) * jnp.take(labels, transformation["permutation_order"], axis=0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha, "seed": self.seed}


def _unit_range(layer: Any, factor: Any, name: str) -> tuple[float, float]:
    """Keras's ``_set_factor`` with bounds ``[0, 1]``: ``f`` -> ``(0, f)``; pairs sorted."""
    error = (f"The `{name}` argument should be a number (or a list of two numbers) in the range [0, 1]. "
             f"Received: factor={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or factor[0] > 1 or factor[1] < 0:
            raise ValueError(error)
        return tuple(sorted(factor))
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        if factor < 0 or factor > 1:
            raise ValueError(error)
        return 0, abs(factor)
    raise ValueError(error)


class CutMix(_MixingLayer):
    """Paste into each image a box cut from a random other image of the batch; the box covers a ``1 - w`` share
    with ``w ~ Beta(a, a)``, ``a ~ U(factor)`` per batch; labels mix by the pasted area. Needs a batch."""

    def __init__(self, factor: Any = 1.0, seed: int | None = None, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self.factor = _unit_range(self, factor, "factor")
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        if not training or data.ndim == 3:
            return None
        n = data.shape[0]
        height, width = self._image_size(data.shape)
        seed, dtype = seed or self.generator, self.compute_dtype
        alpha = random.uniform((), self.factor[0], self.factor[1], dtype, seed) + 1e-6
        weight = random.beta((n,), alpha, alpha, dtype=dtype, seed=seed)
        ratio = jnp.sqrt(1.0 - weight)
        x0, x1 = _crop_bounds(n, width, ratio, dtype, seed)
        y0, y1 = _crop_bounds(n, height, ratio, dtype, seed)
        masks = box_masks(tuple(data.shape), x0, x1, y0, y1, self.data_format)
        order = random.shuffle(jnp.arange(0, n, dtype="int32"), seed=seed)
        mix_weight = 1.0 - (x1 - x0) * (y1 - y0) / (width * height)
        return {"permutation_order": order, "batch_masks": masks, "mix_weight": mix_weight}

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training or transformation is None:
            return images
        other = jnp.take(images, transformation["permutation_order"], axis=0)
        return jnp.where(transformation["batch_masks"], other, images)

    def transform_labels(self, labels: Any, transformation: Any, training: bool = True) -> Any:
        if not training or transformation is None:
            return labels
        weight = jnp.reshape(transformation["mix_weight"], (-1, 1))
        return weight * labels + (1.0 - weight) * jnp.take(labels, transformation["permutation_order"], axis=0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "seed": self.seed}


class RandomErasing(_MixingLayer):
    """Erase a random box (area share ``U(scale)`` per side squared) in each image, with probability drawn from
    ``factor``, filling it with ``fill_value`` or, when ``None``, Gaussian noise scaled to ``value_range``."""

    def __init__(self, factor: Any = 1.0, scale: Any = (0.02, 0.33), fill_value: Any = None,
                 value_range: Any = (0, 255), seed: int | None = None, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self.factor = _unit_range(self, factor, "factor")
        self.scale = _unit_range(self, scale, "scale")
        if fill_value is not None and not (isinstance(fill_value, (int, float)) or (
                isinstance(fill_value, (tuple, list)) and len(fill_value) == 3)):
            raise ValueError("The `fill_value` argument should be a number (or a list of three numbers) "
                             f"Received: fill_value={fill_value}")
        self.fill_value = fill_value
        self.value_range = value_range
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        if not training:
            return None
        n = batch_size(data)
        height, width = self._image_size(data.shape)
        seed, dtype = seed or self.generator, self.compute_dtype
        side = jnp.sqrt(random.uniform((n, 2), self.scale[0], self.scale[1], dtype, seed))
        x0, x1 = _crop_bounds(n, width, side[:, 0], dtype, seed)
        y0, y1 = _crop_bounds(n, height, side[:, 1], dtype, seed)
        shape = tuple(data.shape) if data.ndim == 4 else (1,) + tuple(data.shape)
        masks = box_masks(shape, x0, x1, y0, y1, self.data_format)
        probability = random.uniform((n,), self.factor[0], self.factor[1], seed=seed)
        apply = random.uniform((n,), 0.0, 1.0, seed=seed) < probability
        if self.fill_value is None:
            fill = random.normal(tuple(data.shape), dtype=dtype, seed=seed) * self.value_range[1]
        else:
            fill = jnp.broadcast_to(jnp.asarray(self.fill_value, dtype), tuple(data.shape))
        fill = jnp.clip(fill, self.value_range[0], self.value_range[1])
        return {"apply_erasing": apply, "batch_masks": masks, "fill_value": fill}

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training or transformation is None:
            return images
        erased = jnp.where(transformation["batch_masks"], transformation["fill_value"], images)
        return jnp.where(transformation["apply_erasing"][:, None, None, None], erased, images)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "scale": self.scale, "fill_value": self.fill_value,
                "value_range": self.value_range, "seed": self.seed}
