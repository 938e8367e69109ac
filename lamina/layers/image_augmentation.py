"""Random image augmentation layers: ``RandomFlip``, ``RandomRotation``, ``RandomZoom``, ``RandomTranslation``,
``RandomCrop``, ``RandomContrast``, ``RandomBrightness``.

They augment only in training (inside ``fit``'s jitted step, or when called directly, as in Keras) and are the
identity in ``predict``/``evaluate``; each draws its parameters per image from its ``SeedGenerator``, which inside a
training step folds the step's key, so every step differs and ``utils.set_random_seed`` makes runs repeat. With an
integer ``seed``, eager calls draw exactly Keras's numbers.

>>> import numpy as np
>>> from lamina import layers
>>> x = np.arange(4, dtype="float32").reshape(1, 2, 2, 1)
>>> layers.RandomFlip("horizontal")(x, training=False)[0, :, :, 0].tolist()
[[0.0, 1.0], [2.0, 3.0]]
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from lamina import random
from lamina.layers.image_preprocessing import (
    BaseImagePreprocessingLayer,
    _hw_axes,
    _spatial_shape,
    affine_matrix,
    affine_transform,
    aspect_crop_box,
    crop,
    resize,
)

HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL = "horizontal", "vertical", "horizontal_and_vertical"
FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")


def _batch(images: Any) -> int:
    return images.shape[0] if images.ndim == 4 else 1


def _check_fill(layer: Any, fill_mode: str, interpolation: str) -> None:
    if fill_mode not in FILL_MODES:
        raise NotImplementedError(f"Unknown `fill_mode` {fill_mode}. Expected of one {FILL_MODES}.")
    if interpolation not in INTERPOLATIONS:
        raise NotImplementedError(f"Unknown `interpolation` {interpolation}. Expected of one {INTERPOLATIONS}.")


def _range(factor: Any, name: str, closed_low: bool) -> tuple[float, float]:
    """``height_factor``-style arguments: ``0.2`` -> ``(-0.2, 0.2)``, ``(a, b)`` sorted; values in ``[-1, 1]``
    (``(-1, 1]`` for zoom)."""
    error = ("The `factor` argument should be a number (or a list of two numbers) in the range [-1.0, 1.0]. "
             f"Received: {name}={factor}")

    def check(v: float) -> None:
        if v > 1.0 or (v < -1.0 if closed_low else v <= -1.0):
            raise ValueError(error)

    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(error)
        check(factor[0])
        check(factor[1])
        lower, upper = sorted(factor)
        return float(lower), float(upper)
    if isinstance(factor, (int, float)):
        check(factor)
        return -abs(float(factor)), abs(float(factor))
    raise ValueError(error)


class RandomFlip(BaseImagePreprocessingLayer):
    """Flip each image left-right (``"horizontal"``), up-down (``"vertical"``) or both, with probability 1/2."""

    _USE_BASE_FACTOR = False

    def __init__(self, mode: str = HORIZONTAL_AND_VERTICAL, seed: int | None = None, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        if mode not in (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL):
            raise ValueError(f"RandomFlip layer {self.name} received an unknown mode argument {mode!r}; expected "
                             f"'{HORIZONTAL}', '{VERTICAL}' or '{HORIZONTAL_AND_VERTICAL}'.")
        self.mode = mode
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        if not training:
            return None
        shape = (1, 1, 1) if data.ndim == 3 else (data.shape[0], 1, 1, 1)
        flips = random.uniform(shape, seed=self.generator if seed is None else seed) <= 0.5
        return {"flips": flips, "input_shape": tuple(data.shape)}

    def _transform_images(self, images: Any, transformation: Any, interpolation: str) -> Any:
        if transformation is None:
            return images
        flips = transformation["flips"]
        single = images.ndim == 3
        x = images[None] if single else images
        h_axis, w_axis = _hw_axes(self.data_format)
        if self.mode in (HORIZONTAL, HORIZONTAL_AND_VERTICAL):
            x = jnp.where(flips, jnp.flip(x, axis=w_axis), x)
        if self.mode in (VERTICAL, HORIZONTAL_AND_VERTICAL):
            x = jnp.where(flips, jnp.flip(x, axis=h_axis), x)
        return x[0] if single else x

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed, "mode": self.mode}


class RandomRotation(BaseImagePreprocessingLayer):
    """Rotate each image by a random angle in ``factor * 360`` degrees (``0.1`` -> within +-36 degrees), filling
    outside points by ``fill_mode``."""

    def __init__(self, factor: Any, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(factor=factor, data_format=data_format, **kwargs)
        _check_fill(self, fill_mode, interpolation)
        self.seed = seed
        self.generator = random.SeedGenerator(seed)
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        if not training:
            return None
        batch = _batch(data)
        height, width = self._image_size(data.shape)
        angle = random.uniform((batch,), self.factor[0] * 360.0, self.factor[1] * 360.0,
                               seed=self.generator if seed is None else seed)
        zeros, ones = jnp.zeros((batch,)), jnp.ones((batch,))
        matrix = affine_matrix(angle, zeros, zeros, ones, zeros, zeros, height, width)
        return {"angle": angle, "rotation_matrix": matrix[0] if data.ndim == 3 else matrix,
                "image_height": height, "image_width": width, "batch_size": batch}

    def _transform_images(self, images: Any, transformation: Any, interpolation: str) -> Any:
        return affine_transform(images, transformation["rotation_matrix"], interpolation, self.fill_mode,
                                self.fill_value, self.data_format)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "interpolation": self.interpolation, "seed": self.seed}


class RandomZoom(BaseImagePreprocessingLayer):
    """Zoom each image by a random factor: ``height_factor=0.2`` scales height by ``1 + U(-0.2, 0.2)`` (negative
    zooms in); ``width_factor=None`` keeps the aspect ratio."""

    _USE_BASE_FACTOR = False

    def __init__(self, height_factor: Any, width_factor: Any = None, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = _range(height_factor, "height_factor", closed_low=False)
        self.width_factor = width_factor
        if width_factor is not None:
            self.width_lower, self.width_upper = _range(width_factor, "width_factor", closed_low=False)
        _check_fill(self, fill_mode, interpolation)
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        if not training:
            return None
        shape = (_batch(data), 1)
        seed = self.generator if seed is None else seed
        height_zoom = random.uniform(shape, 1.0 + self.height_lower, 1.0 + self.height_upper, seed=seed)
        width_zoom = height_zoom if self.width_factor is None else random.uniform(
            shape, 1.0 + self.width_lower, 1.0 + self.width_upper, seed=seed)
        return {"height_zoom": height_zoom, "width_zoom": width_zoom, "input_shape": tuple(data.shape)}

    def _transform_images(self, images: Any, transformation: Any, interpolation: str) -> Any:
        if transformation is None:
            return images
        zx = jnp.asarray(transformation["width_zoom"], "float32")
        zy = jnp.asarray(transformation["height_zoom"], "float32")
        height, width = self._image_size(images.shape)
        zeros = jnp.zeros_like(zx)
        matrix = jnp.concatenate([zx, zeros, (width - 1.0) / 2.0 * (1.0 - zx), zeros, zy,
                                  (height - 1.0) / 2.0 * (1.0 - zy), zeros, zeros], axis=1)
        single = images.ndim == 3
        out = affine_transform(images[None] if single else images, matrix, interpolation, self.fill_mode,
                               self.fill_value, self.data_format)
        return out[0] if single else out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor,
                "fill_mode": self.fill_mode, "interpolation": self.interpolation, "seed": self.seed,
                "fill_value": self.fill_value}


class RandomTranslation(BaseImagePreprocessingLayer):
    """Shift each image by a random fraction of its size: ``height_factor=0.1`` moves it up or down by up to 10%."""

    _USE_BASE_FACTOR = False

    def __init__(self, height_factor: Any, width_factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_lower, self.height_upper = _range(height_factor, "height_factor", closed_low=True)
        self.width_lower, self.width_upper = _range(width_factor, "width_factor", closed_low=True)
        _check_fill(self, fill_mode, interpolation)
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        if not training:
            return None
        batch = _batch(data)
        height, width = self._image_size(data.shape)
        seed = self.generator if seed is None else seed
        dy = random.uniform((batch, 1), self.height_lower, self.height_upper, seed=seed) * height
        dx = random.uniform((batch, 1), self.width_lower, self.width_upper, seed=seed) * width
        return {"translations": jnp.concatenate([dx, dy], axis=1).astype("float32"),
                "input_shape": tuple(data.shape)}

    def _transform_images(self, images: Any, transformation: Any, interpolation: str) -> Any:
        if transformation is None:
            return images
        t = jnp.asarray(transformation["translations"])
        ones, zeros = jnp.ones((t.shape[0], 1)), jnp.zeros((t.shape[0], 1))
        matrix = jnp.concatenate([ones, zeros, -t[:, 0:1], zeros, ones, -t[:, 1:], zeros, zeros], axis=1)
        single = images.ndim == 3
        out = affine_transform(images[None] if single else images, matrix, interpolation, self.fill_mode,
                               self.fill_value, self.data_format)
        return out[0] if single else out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor,
                "fill_mode": self.fill_mode, "interpolation": self.interpolation, "seed": self.seed,
                "fill_value": self.fill_value}


class RandomCrop(BaseImagePreprocessingLayer):
    """Crop a random ``(height, width)`` window in training (one window per batch, as in Keras); at inference, or
    when images are not larger than the window, crop centrally to the aspect ratio and resize."""

    _USE_BASE_FACTOR = False

    def __init__(self, height: int, width: int, seed: int | None = None, data_format: str | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, name=name, **kwargs)
        self.height, self.width = int(height), int(width)
        self.generator = random.SeedGenerator(seed)
        self.seed = seed if seed is not None else self.generator.seed  # Keras stores a drawn default seed

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        height, width = self._image_size(data.shape)
        if training and height > self.height and width > self.width:
            seed = self.generator if seed is None else seed
            top = random.uniform((), 0, float(height - self.height + 1), seed=seed).astype("int32")
            left = random.uniform((), 0, float(width - self.width + 1), seed=seed).astype("int32")
            return top, left, self.height, self.width
        return aspect_crop_box(height, width, self.height, self.width)

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        images = jnp.asarray(images).astype(self.dtype)
        top, left, crop_h, crop_w = transformation
        images = crop(images, top, left, crop_h, crop_w, self.data_format)
        if (crop_h, crop_w) != (self.height, self.width):
            images = resize(images, (self.height, self.width), data_format=self.data_format).astype(self.dtype)
        return images

    def compute_output_shape(self, input_shape: Any) -> Any:
        return _spatial_shape(self, input_shape, self.height, self.width)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width, "seed": self.seed}


class RandomContrast(BaseImagePreprocessingLayer):
    """Scale each image's deviation from its per-channel mean by a random factor, then clip to ``value_range``.
    As in Keras, ``factor=f`` draws the factor from ``[1 - lower, 1 + upper]`` with ``(lower, upper)`` clipped to
    ``[0, 1]`` (so ``0.2`` gives ``[1, 1.2]``; pass ``(0.2, 0.2)`` for ``[0.8, 1.2]``)."""

    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._set_factor(factor)
        self.value_range = tuple(value_range) if isinstance(value_range, list) else value_range
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        shape = (1, 1, 1) if data.ndim == 3 else (data.shape[0], 1, 1, 1)
        if not training:
            return {"contrast_factor": jnp.zeros(shape)}
        factor = random.uniform(shape, 1.0 - self.factor[0], 1.0 + self.factor[1], dtype=self.dtype,
                                seed=self.generator if seed is None else seed)
        return {"contrast_factor": factor}

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        if not training:
            return images
        h_axis, w_axis = _hw_axes(self.data_format)
        mean = jnp.mean(jnp.mean(images, axis=h_axis, keepdims=True), axis=w_axis, keepdims=True)
        out = (images - mean) * transformation["contrast_factor"] + mean
        return jnp.clip(out, self.value_range[0], self.value_range[1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range, "seed": self.seed}


class RandomBrightness(BaseImagePreprocessingLayer):
    """Add a random ``U(factor) * (value_range width)`` to every pixel of each image, then clip to ``value_range``
    (``factor=0.2`` on 0-255 images shifts by up to +-51)."""

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(factor=factor, **kwargs)
        if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
            raise ValueError("The `value_range` argument should be a list of two numbers. Received: "
                             f"value_range={value_range}")
        self.value_range = sorted(value_range)
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        shape = (1, 1, 1) if data.ndim == 3 else (data.shape[0], 1, 1, 1)
        if not training:
            return {"rgb_delta": jnp.zeros(shape)}
        delta = random.uniform(shape, self.factor[0], self.factor[1], seed=self.generator if seed is None else seed)
        return {"rgb_delta": delta * (self.value_range[1] - self.value_range[0])}

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        if not training:
            return images
        images = images + jnp.asarray(transformation["rgb_delta"]).astype(images.dtype)
        return jnp.clip(images, self.value_range[0], self.value_range[1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range, "seed": self.seed}


class RandomGrayscale(BaseImagePreprocessingLayer):
    """Turn each RGB image to grayscale (kept as 3 equal channels) with probability ``factor``."""

    def __init__(self, factor: float = 0.5, data_format: str | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        if factor < 0 or factor > 1:
            raise ValueError(f"`factor` should be between 0 and 1. Received: factor={factor}")
        self.factor = factor
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        values = random.uniform((_batch(data),), 0, 1, seed=self.generator if seed is None else seed)
        apply = values < self.factor
        return apply.reshape((-1, 1, 1, 1)) if data.ndim == 4 else apply.reshape((1, 1, 1))

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        if not training:
            return images
        images = jnp.asarray(images)
        axis = -1 if self.data_format == "channels_last" else -3
        if images.shape[axis] not in (1, 3):
            raise ValueError("Invalid channel size: expected 3 (RGB) or 1 (Grayscale). Received input with shape: "
                             f"images.shape={tuple(images.shape)}")
        if images.shape[axis] == 1:
            return images
        x = images.astype(jnp.result_type(images.dtype, float))
        gray = jnp.expand_dims(jnp.tensordot(x, jnp.asarray([0.2989, 0.5870, 0.1140], x.dtype), axes=(axis, -1)),
                               axis).astype(images.dtype)
        return jnp.where(transformation, gray, images)

    def compute_output_dtype(self, input_dtype: str) -> str:
        return input_dtype

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}
