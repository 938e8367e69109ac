"""Random color augmentation layers: ``RandomHue``, ``RandomSaturation``, ``RandomColorDegeneration``,
``RandomColorJitter``, ``RandomInvert``, ``RandomPosterization``, ``Solarization``, ``RandomSharpness``,
``RandomGaussianBlur``.

Like the other augmentation layers they act in training only (identity, or a cast, at inference), draw their
parameters per image from their ``SeedGenerator`` (inside a training step: from the step's key, so every step
differs and ``utils.set_random_seed`` makes runs repeat), and with an integer ``seed`` draw Keras's numbers in eager
calls. ``value_range`` is the range of the incoming pixels (``(0, 255)`` by default, ``(0, 1)`` for scaled images).

>>> import numpy as np
>>> from lamina import layers
>>> x = np.full((1, 2, 2, 3), 10.0, "float32")
>>> layers.RandomInvert(factor=(1.0, 1.0), seed=0)(x)[0, 0, 0].tolist()
[245.0, 245.0, 245.0]
>>> layers.RandomInvert(seed=0)(x, training=False)[0, 0, 0].tolist()
[10.0, 10.0, 10.0]
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from lamina import random
from lamina.layers.image_augmentation import RandomBrightness, RandomContrast
from lamina.layers.image_preprocessing import BaseImagePreprocessingLayer, saturate_cast
from lamina.ops import image as image_ops

EPSILON = 1e-7  # keras.config.epsilon()


def batch_size(images: Any) -> int:
    return images.shape[0] if images.ndim == 4 else 1


def check_value_range(value_range: Any) -> list[float]:
    """``value_range`` as Keras keeps it in these layers: a sorted list of two numbers."""
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError("The `value_range` argument should be a list of two numbers. Received: "
                         f"value_range={value_range}")
    return sorted(value_range)


def transform_value_range(images: Any, original: Any, target: Any, dtype: Any = "float32") -> Any:
    """Map pixels linearly from ``original`` (low, high) to ``target`` (low, high)."""
    if original[0] == target[0] and original[1] == target[1]:
        return images
    images = images.astype(dtype)
    low, high = jnp.asarray(original[0], dtype), jnp.asarray(original[1], dtype)
    t_low, t_high = jnp.asarray(target[0], dtype), jnp.asarray(target[1], dtype)
    return (images - low) / (high - low) * (t_high - t_low) + t_low


def _probability_range(layer: Any, factor: Any, name: str = "factor") -> tuple[float, float]:
    """A ``[0, 1]`` range argument: ``0.3`` -> ``(0, 0.3)``, ``(a, b)`` sorted."""
    error = (f"The `{name}` argument should be a number (or a list of two numbers) in the range [0, 1]. "
             f"Received: factor={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or factor[0] > 1 or factor[1] < 0:
            raise ValueError(error)
        low, high = sorted(factor)
        return low, high
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        if factor < 0 or factor > 1:
            raise ValueError(error)
        return 0, abs(factor)
    raise ValueError(error)


class _ColorLayer(BaseImagePreprocessingLayer):
    """Shared constructor: ``factor`` (bounds per class), ``value_range``, ``seed``."""

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)
    _BATCH_SINGLE_IMAGES = True
    _SORT_VALUE_RANGE = True

    def __init__(self, factor: Any, value_range: Any = (0, 255), data_format: str | None = None,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.value_range = check_value_range(value_range) if self._SORT_VALUE_RANGE else value_range
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def _seed(self, seed: Any) -> Any:
        return self.generator if seed is None else seed

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range, "seed": self.seed}


class RandomHue(_ColorLayer):
    """Rotate each image's hue by a random ``+-U(factor) / 2`` of the color wheel (``factor=1``: up to half a turn);
    the image goes through HSV and back, clipped to ``value_range``."""

    _SORT_VALUE_RANGE = False

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        n, seed = batch_size(data), self._seed(seed)
        invert = jnp.where(random.uniform((n,), seed=seed) > 0.5, -1.0, 1.0)
        factor = random.uniform((n,), self.factor[0], self.factor[1], seed=seed)
        return {"factor": invert * factor * 0.5}

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        if not training:
            return images
        dtype = self.compute_dtype
        x = transform_value_range(images.astype(dtype), self.value_range, (0, 1))
        delta = jnp.asarray(transformation["factor"], x.dtype)[:, None, None]
        hsv = image_ops.rgb_to_hsv(x, data_format=self.data_format)
        axis = 1 if self.data_format == "channels_first" else -1
        h, s, v = (jnp.take(hsv, i, axis=axis) for i in range(3))
        h = h + delta
        h = jnp.where(h > 1.0, h - 1.0, h)
        h = jnp.where(h < 0.0, h + 1.0, h)
        rgb = image_ops.hsv_to_rgb(jnp.stack([h, s, v], axis=axis), data_format=self.data_format)
        return transform_value_range(jnp.clip(rgb, 0, 1), (0, 1), self.value_range).astype(dtype)


class RandomSaturation(_ColorLayer):
    """Scale each image's saturation by ``f / (1 - f)`` with ``f ~ U(factor)``: ``0.5`` keeps the image, ``0`` makes
    it gray, ``1`` fully saturated."""

    _USE_BASE_FACTOR = True
    _FACTOR_BOUNDS = (-1, 1)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        factor = random.uniform((batch_size(data),), self.factor[0], self.factor[1], seed=self._seed(seed))
        return {"factor": factor / (1 - factor + EPSILON)}

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        if not training:
            return images
        scale = jnp.asarray(transformation["factor"], self.compute_dtype)[:, None, None]
        hsv = image_ops.rgb_to_hsv(images, data_format=self.data_format)
        axis = 1 if self.data_format == "channels_first" else -1
        h, s, v = (jnp.take(hsv, i, axis=axis) for i in range(3))
        s = jnp.clip(s * scale, self.value_range[0], self.value_range[1])
        return image_ops.hsv_to_rgb(jnp.stack([h, s, v], axis=axis), data_format=self.data_format)


class RandomColorDegeneration(_ColorLayer):
    """Blend each image toward its grayscale version by a random ``U(factor)`` (``1``: fully gray)."""

    _USE_BASE_FACTOR = True
    _FACTOR_BOUNDS = (-1, 1)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        return {"factor": random.uniform((batch_size(data), 1, 1, 1), self.factor[0], self.factor[1],
                                         seed=self._seed(seed))}

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        if not training:
            return images
        images = images.astype(self.compute_dtype)
        factor = jnp.asarray(transformation["factor"], self.compute_dtype)
        gray = image_ops.rgb_to_grayscale(images, data_format=self.data_format)
        out = images + factor * (gray - images)
        return jnp.clip(out, self.value_range[0], self.value_range[1]).astype(self.compute_dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        channels = input_shape[-1 if self.data_format == "channels_last" else -3]
        if channels is not None and channels != 3:
            raise ValueError(f"RandomColorDegeneration '{self.name}': input images must have 3 channels, but "
                             f"received images with {channels} channels (shape {tuple(input_shape)}).")
        return tuple(input_shape)


class RandomInvert(_ColorLayer):
    """Invert each image (``value_range[1] - x``) with probability drawn from ``factor`` (default: always)."""

    _SORT_VALUE_RANGE = False

    def __init__(self, factor: Any = 1.0, value_range: Any = (0, 255), seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(factor, value_range=value_range, data_format=data_format, seed=seed, **kwargs)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        if not training:
            return None
        n, seed = batch_size(data), seed or self.generator
        probability = random.uniform((n,), self.factor[0], self.factor[1], seed=seed)
        return {"apply_inversion": random.uniform((n,), 0, 1, seed=seed) < probability}

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        if not training:
            return images
        images = images.astype(self.compute_dtype)
        return jnp.where(transformation["apply_inversion"][:, None, None, None], self.value_range[1] - images, images)


class RandomPosterization(_ColorLayer):
    """Keep only the top ``b`` bits of each 8-bit channel, ``b`` drawn per image from ``[1, factor)`` (an integer
    factor in ``[1, 8]``; a fixed ``(b, b)`` always keeps ``b`` bits)."""

    _FACTOR_BOUNDS = (1, 8)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        n = batch_size(data)
        if self.factor[0] != self.factor[1]:
            bits = random.randint((n,), self.factor[0], self.factor[1], dtype="uint8", seed=self._seed(seed))
        else:
            bits = jnp.ones((n,), "uint8") * jnp.uint8(self.factor[0])
        return {"shift_factor": jnp.uint8(8) - bits}

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        if not training:
            return images
        dtype = self.compute_dtype
        shift = jnp.asarray(transformation["shift_factor"]).reshape((-1, 1, 1, 1))
        x = transform_value_range(images, self.value_range, (0, 255), dtype).astype("uint8")
        x = jnp.left_shift(jnp.right_shift(x, shift), shift).astype(dtype)
        return transform_value_range(x, (0, 255), self.value_range, dtype)


class Solarization(BaseImagePreprocessingLayer):
    """Add ``U(addition_factor) * 255``-ish to each image, then invert (``255 - x``) the pixels above a random
    threshold drawn from ``threshold_factor`` (both in the 0-255 scale, mapped from ``value_range``)."""

    _USE_BASE_FACTOR = False
    _BATCH_SINGLE_IMAGES = True

    def __init__(self, addition_factor: Any = 0.0, threshold_factor: Any = 0.0, value_range: Any = (0, 255),
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.generator = random.SeedGenerator(seed)
        self.addition_factor = _probability_range(self, addition_factor, "addition_factor")
        self.threshold_factor = _probability_range(self, threshold_factor, "threshold_factor")
        self.value_range = check_value_range(value_range)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        if not training:
            return None
        shape = (data.shape[0], 1, 1, 1) if data.ndim == 4 else (1, 1, 1)
        seed = self.generator if seed is None else seed
        dtype = self.compute_dtype
        additions = random.uniform(shape, self.addition_factor[0], self.addition_factor[1] * 255, dtype, seed)
        thresholds = random.uniform(shape, self.threshold_factor[0], self.threshold_factor[1] * 255, dtype, seed)
        return {"additions": additions, "thresholds": thresholds}

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        dtype = self.compute_dtype
        images = jnp.asarray(images).astype(dtype)
        if not training or transformation is None:
            return images
        x = transform_value_range(images, self.value_range, (0, 255), dtype)
        x = jnp.clip(x + transformation["additions"], 0, 255)
        x = jnp.where(x < transformation["thresholds"], x, 255 - x)
        x = transform_value_range(x, (0, 255), self.value_range, dtype)
        return x if x.dtype == images.dtype else saturate_cast(x, images.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "value_range": self.value_range, "addition_factor": self.addition_factor,
                "threshold_factor": self.threshold_factor, "seed": self.seed}


class RandomSharpness(_ColorLayer):
    """Blend each image with a 3x3 smoothed copy: ``f = 2 U(factor)``; ``f < 1`` blurs, ``f > 1`` sharpens,
    ``U = 0.5`` keeps the image."""

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        return {"factor": random.uniform((batch_size(data),), self.factor[0], self.factor[1], seed=self._seed(seed))}

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        dtype = self.compute_dtype
        images = jnp.asarray(images).astype(dtype)
        if not training:
            return images
        x = jnp.swapaxes(images, -3, -1) if self.data_format == "channels_first" else images
        sharpness = jnp.asarray(transformation["factor"] * 2, dtype).reshape((-1, 1, 1, 1))
        channels = x.shape[-1]
        a, b = 1.0 / 13.0, 5.0 / 13.0
        kernel = jnp.asarray([[a, a, a], [a, b, a], [a, a, a]], dtype)[:, :, None, None]
        smoothed = jax.lax.conv_general_dilated(x, jnp.tile(kernel, (1, 1, 1, channels)), (1, 1), "SAME",
                                                dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                                feature_group_count=channels)
        x = jnp.clip(x + (1.0 - sharpness) * (smoothed - x), self.value_range[0], self.value_range[1])
        return jnp.swapaxes(x, -3, -1) if self.data_format == "channels_first" else x


class RandomGaussianBlur(_ColorLayer):
    """Blur each image, with probability drawn from ``factor``, by a Gaussian of ``kernel_size`` whose ``sigma``
    (one draw per batch and axis from ``sigma``) is shared by the batch."""

    _SORT_VALUE_RANGE = False

    def __init__(self, factor: Any = 1.0, kernel_size: Any = 3, sigma: Any = 1.0, value_range: Any = (0, 255),
                 data_format: str | None = None, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(factor, value_range=value_range, data_format=data_format, seed=seed, **kwargs)
        self.kernel_size = self._odd_pair(kernel_size)
        self.sigma = _probability_range(self, sigma, "sigma")

    @staticmethod
    def _odd_pair(size: Any) -> tuple[int, int]:
        error = f"kernel_size must be an odd number. Received: kernel_size={size}"
        if isinstance(size, (tuple, list)):
            if len(size) != 2:
                raise ValueError("The `kernel_size` argument should be a number (or a list of two numbers) "
                                 f"Received: kernel_size={size}")
            if size[0] % 2 == 0 or size[1] % 2 == 0:
                raise ValueError(error)
            return size[0], size[1]
        if isinstance(size, (int, float)):
            if size % 2 == 0:
                raise ValueError(error)
            return size, size
        raise ValueError(error)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        if not training:
            return None
        n, seed = batch_size(data), seed or self.generator
        probability = random.uniform((n,), self.factor[0], self.factor[1], seed=seed)
        apply = random.uniform((n,), 0.0, 1.0, seed=seed) < probability
        sigma = random.uniform((2,), self.sigma[0], self.sigma[1], self.compute_dtype, seed) + 1e-6
        return {"should_apply_blur": apply, "blur_factor": sigma}

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training or transformation is None:
            return images
        blurred = image_ops.gaussian_blur(images, kernel_size=tuple(int(k) for k in self.kernel_size),
                                          sigma=transformation["blur_factor"], data_format=self.data_format)
        out = jnp.where(transformation["should_apply_blur"][:, None, None, None], blurred, images)
        return jnp.clip(out, self.value_range[0], self.value_range[1]).astype(self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "kernel_size": self.kernel_size, "sigma": self.sigma}


class RandomColorJitter(BaseImagePreprocessingLayer):
    """``RandomBrightness``, ``RandomContrast``, ``RandomSaturation`` and ``RandomHue`` in that order, each present
    when its ``*_factor`` is given; their draws come from this layer's generator."""

    _USE_BASE_FACTOR = False
    _BATCH_SINGLE_IMAGES = True

    def __init__(self, value_range: Any = (0, 255), brightness_factor: Any = None, contrast_factor: Any = None,
                 saturation_factor: Any = None, hue_factor: Any = None, seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range
        self.brightness_factor, self.contrast_factor = brightness_factor, contrast_factor
        self.saturation_factor, self.hue_factor = saturation_factor, hue_factor
        self.seed = seed
        self.generator = random.SeedGenerator(seed)
        make = [(brightness_factor, RandomBrightness), (contrast_factor, RandomContrast),
                (saturation_factor, RandomSaturation), (hue_factor, RandomHue)]
        self._stages = [cls(factor=f, value_range=value_range, seed=seed) for f, cls in make if f is not None]

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        images = jnp.asarray(images)
        if not training:
            return images
        images = images.astype(self.compute_dtype)
        for stage in self._stages:
            stage_transform = stage.get_random_transformation(images, seed=self.generator)
            if isinstance(stage, RandomContrast):
                stage_transform["contrast_factor"] = stage_transform["contrast_factor"].astype(self.compute_dtype)
            images = stage.transform_images(images, stage_transform)
        return images.astype(self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "value_range": self.value_range, "brightness_factor": self.brightness_factor,
                "contrast_factor": self.contrast_factor, "saturation_factor": self.saturation_factor,
                "hue_factor": self.hue_factor, "seed": self.seed}
