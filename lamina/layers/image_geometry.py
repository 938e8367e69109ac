"""Random geometric warps: ``RandomShear`` (affine shear), ``RandomPerspective`` (move the four corners) and
``RandomElasticTransform`` (a smoothed random displacement field). Training only; identity at inference.

>>> import numpy as np
>>> from lamina import layers
>>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
>>> bool(np.array_equal(layers.RandomShear(0.5)(x, training=False), x))
True
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from lamina import random
from lamina.layers.image_augmentation import _check_fill
from lamina.layers.image_color import batch_size
from lamina.layers.image_mixing import _unit_range
from lamina.layers.image_preprocessing import AFFINE_INTERPOLATIONS, BaseImagePreprocessingLayer, affine_transform
from lamina.ops import image as image_ops

ELASTIC_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def _symmetric_range(factor: Any, name: str) -> tuple[float, float]:
    """``x_factor=0.3`` -> ``(-0.3, 0.3)``; pairs sorted. A number must lie in ``[0, 1]``; a pair in ``[-1, 1]``
    (Keras asks ``[0, 1]`` there too, and so cannot rebuild the ``(-0.3, 0.3)`` its own ``get_config`` writes)."""
    error = "The `factor` argument should be a number (or a list of two numbers) in the range [0, 1.0]. "
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(error + f"Received: {name}={factor}")
        for v in factor:
            if v > 1.0 or v < -1.0:
                raise ValueError(error + f"Received: input_number={v}")
        return tuple(sorted(factor))
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        if factor > 1.0 or factor < 0.0:
            raise ValueError(error + f"Received: input_number={factor}")
        return -abs(factor), abs(factor)
    raise ValueError(error + f"Received: {name}={factor}")


def _single(fn: Any, images: Any) -> Any:
    """Apply a batch function to one image (rank 3) or a batch."""
    if images.ndim == 3:
        return fn(images[None])[0]
    return fn(images)


class RandomShear(BaseImagePreprocessingLayer):
    """Shear each image by ``+-U(x_factor)`` horizontally and ``+-U(y_factor)`` vertically (the sign drawn per
    image, shared by both axes), filling outside points by ``fill_mode``."""

    _USE_BASE_FACTOR = False

    def __init__(self, x_factor: Any = 0.0, y_factor: Any = 0.0, interpolation: str = "bilinear",
                 fill_mode: str = "reflect", fill_value: float = 0.0, data_format: str | None = None,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self.x_factor = _symmetric_range(x_factor, "x_factor")
        self.y_factor = _symmetric_range(y_factor, "y_factor")
        _check_fill(self, fill_mode, interpolation)
        self.fill_mode, self.fill_value, self.interpolation = fill_mode, fill_value, interpolation
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        if not training:
            return None
        n, seed, dtype = batch_size(data), self.generator if seed is None else seed, self.compute_dtype
        invert = random.uniform((n, 1), 0, 1, dtype, seed)
        invert = jnp.where(invert > 0.5, -jnp.ones_like(invert), jnp.ones_like(invert))
        shear_y = random.uniform((n, 1), self.y_factor[0], self.y_factor[1], dtype, seed)
        shear_x = random.uniform((n, 1), self.x_factor[0], self.x_factor[1], dtype, seed)
        return {"shear_factor": jnp.concatenate([shear_x, shear_y], axis=1).astype(dtype) * invert,
                "input_shape": tuple(data.shape)}

    def _transform_images(self, images: Any, transformation: Any, interpolation: str) -> Any:
        if transformation is None:
            return images
        shear = transformation["shear_factor"]
        ones, zeros = jnp.ones((shear.shape[0],)), jnp.zeros((shear.shape[0],))
        matrix = jnp.stack([ones, shear[:, 0], zeros, shear[:, 1], ones, zeros, zeros, zeros], axis=1)
        return _single(lambda x: affine_transform(x, matrix, interpolation, self.fill_mode, self.fill_value,
                                                  self.data_format), images)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "x_factor": self.x_factor, "y_factor": self.y_factor,
                "fill_mode": self.fill_mode, "interpolation": self.interpolation, "seed": self.seed,
                "fill_value": self.fill_value, "data_format": self.data_format}


class RandomPerspective(BaseImagePreprocessingLayer):
    """Warp each image, with probability drawn from ``factor``, so that its corners move by up to ``scale / 2`` of
    their coordinates; outside points get ``fill_value``."""

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor: Any = 1.0, scale: float = 1.0, interpolation: str = "bilinear",
                 fill_value: float = 0.0, seed: int | None = None, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        if scale < 0.0 or scale > 1.0:
            raise ValueError(f"The `scale` argument should be a number in the range [0,1]. Received: scale={scale}")
        if interpolation not in AFFINE_INTERPOLATIONS:
            raise NotImplementedError(f"Unknown `interpolation` {interpolation}. Expected of one "
                                      f"{tuple(AFFINE_INTERPOLATIONS)}.")
        self.scale, self.fill_value, self.interpolation = scale, fill_value, interpolation
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        if not training:
            return None
        n, seed, dtype = batch_size(data), seed or self.generator, self.compute_dtype
        height, width = self._image_size(data.shape)
        probability = random.uniform((n,), self.factor[0], self.factor[1], seed=seed)
        apply = random.uniform((n,), 0.0, 1.0, seed=seed) < probability
        moves = random.uniform((n, 4, 2), -0.5 * self.scale, 0.5 * self.scale, dtype, seed)
        start = jnp.asarray([[[0.0, 0.0], [width - 1, 0.0], [0.0, height - 1], [width - 1, height - 1]]], dtype)
        start = jnp.repeat(start, n, axis=0)
        return {"apply_perspective": apply, "start_points": start, "end_points": start + start * moves,
                "input_shape": tuple(data.shape)}

    def _transform_images(self, images: Any, transformation: Any, interpolation: str) -> Any:
        if transformation is None:
            return images

        def warp(x: Any) -> Any:
            out = image_ops.perspective_transform(x, transformation["start_points"], transformation["end_points"],
                                                  interpolation=interpolation, fill_value=self.fill_value,
                                                  data_format=self.data_format)
            return jnp.where(transformation["apply_perspective"][:, None, None, None], out, x)

        return _single(warp, images)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "scale": self.scale,
                "interpolation": self.interpolation, "fill_value": self.fill_value, "seed": self.seed}


def _gaussian(size: int, sigma: Any) -> Any:
    x = jnp.arange(size, dtype="float32") - (size - 1) / 2
    k = jnp.exp(-0.5 * (x / sigma) ** 2)
    return k / jnp.sum(k)


def elastic_warp(images: Any, alpha: Any, sigma: Any, kernel_size: int, key: Any, interpolation: str,
                 fill_mode: str, fill_value: float, data_format: str) -> Any:
    """Keras's ``elastic_transform`` on a batch, with the smoothing kernel's size given (so ``sigma`` may be
    traced): one normal field per image, blurred, scaled by ``alpha``, moves rows and columns alike."""
    x = jnp.moveaxis(images, -3, -1) if data_format == "channels_first" else images
    n, height, width, _ = x.shape
    dtype = x.dtype
    field = jax.random.normal(key, (n, height, width), dtype=dtype) * jnp.asarray(sigma, dtype)
    g = _gaussian(kernel_size, sigma).astype(dtype)
    kernel = jnp.outer(g, g)[None, None]
    field = jax.lax.conv_general_dilated(field[:, None], kernel, (1, 1), "SAME",
                                         dimension_numbers=("NCHW", "OIHW", "NCHW"))[:, 0]
    gx, gy = jnp.meshgrid(jnp.arange(width), jnp.arange(height))
    rows, cols = gy[None] + alpha * field, gx[None] + alpha * field

    def plane(p: Any, r: Any, c: Any) -> Any:
        return jax.scipy.ndimage.map_coordinates(p, [r, c], order=AFFINE_INTERPOLATIONS[interpolation],
                                                 mode=fill_mode, cval=fill_value)

    out = jax.vmap(jax.vmap(plane, in_axes=(-1, None, None), out_axes=-1))(x, rows, cols).astype(dtype)
    return jnp.moveaxis(out, -1, -3) if data_format == "channels_first" else out


class RandomElasticTransform(BaseImagePreprocessingLayer):
    """Distort each image, with probability drawn from ``factor``, by a Gaussian-smoothed random displacement field:
    strength ``alpha = 0.1 s max(h, w)``, smoothness ``sigma = 0.05 s min(h, w)``, ``s ~ U(scale)`` per batch."""

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor: Any = 1.0, scale: Any = 1.0, interpolation: str = "bilinear",
                 fill_mode: str = "reflect", fill_value: float = 0.0, value_range: Any = (0, 255),
                 seed: int | None = None, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.scale = _unit_range(self, scale, "scale")
        if interpolation not in AFFINE_INTERPOLATIONS:
            raise NotImplementedError(f"Unknown `interpolation` {interpolation}. Expected of one "
                                      f"{tuple(AFFINE_INTERPOLATIONS)}.")
        if fill_mode not in ELASTIC_FILL_MODES:
            raise NotImplementedError(f"Unknown `fill_mode` {fill_mode}. Expected of one {set(ELASTIC_FILL_MODES)}.")
        self.interpolation, self.fill_mode, self.fill_value = interpolation, fill_mode, fill_value
        self.value_range = value_range
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        if not training or self.scale[1] == 0 or self.factor[1] == 0:
            return None
        n, seed = batch_size(data), seed or self.generator
        probability = random.uniform((n,), self.factor[0], self.factor[1], seed=seed)
        apply = random.uniform((n,), 0.0, 1.0, seed=seed) < probability
        distortion = random.uniform((), self.scale[0], self.scale[1], self.compute_dtype, seed)
        return {"apply_transform": apply, "distortion_factor": distortion, "key": random.draw_seed(seed)}

    def _transform_images(self, images: Any, transformation: Any, interpolation: str) -> Any:
        if transformation is None:
            return images
        height, width = self._image_size(images.shape)
        s = transformation["distortion_factor"]
        alpha, sigma = max(height, width) * 0.1 * s, min(height, width) * 0.05 * s
        if isinstance(s, jax.core.Tracer):  # inside the jitted step: the kernel of the largest sigma
            kernel_size = int(6 * min(height, width) * 0.05 * self.scale[1]) | 1
        else:
            kernel_size = int(6 * float(sigma)) | 1

        def warp(x: Any) -> Any:
            out = elastic_warp(x, alpha, sigma, kernel_size, transformation["key"], interpolation, self.fill_mode,
                               self.fill_value, self.data_format)
            return jnp.where(transformation["apply_transform"][:, None, None, None], out, x)

        out = _single(warp, images)
        return jnp.clip(out, self.value_range[0], self.value_range[1]).astype(self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "scale": self.scale,
                "interpolation": self.interpolation, "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "value_range": self.value_range, "seed": self.seed}
