"""Histogram-based image layers: ``AutoContrast`` (stretch each image to the full range) and ``Equalization``
(histogram equalization per channel), deterministic, in pure JAX.

>>> import numpy as np
>>> from lamina import layers
>>> x = np.array([[[[50.0], [100.0]], [[150.0], [200.0]]]], "float32")
>>> layers.AutoContrast()(x)[0, :, :, 0].tolist()
[[0.0, 85.0], [170.0, 255.0]]
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from lamina.layers.image_color import check_value_range, transform_value_range
from lamina.layers.image_preprocessing import BaseImagePreprocessingLayer


class AutoContrast(BaseImagePreprocessingLayer):
    """Rescale each image (per channel) so that its darkest pixel becomes ``value_range[0]`` and its brightest
    ``value_range[1]``; constant images pass unchanged. Applied at inference too, as in Keras."""

    _USE_BASE_FACTOR = False
    _BATCH_SINGLE_IMAGES = True

    def __init__(self, value_range: Any = (0, 255), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value_range = check_value_range(value_range)

    def transform_images(self, images: Any, transformation: Any = None, training: bool = True) -> Any:
        original = jnp.asarray(images)
        dtype = self.compute_dtype
        x = transform_value_range(original, self.value_range, (0, 255), dtype).astype(dtype)
        low = jnp.min(x, axis=(1, 2), keepdims=True)  # Keras reduces axes 1 and 2 in both data formats
        high = jnp.max(x, axis=(1, 2), keepdims=True)
        scale = 255.0 / (high - low)
        out = jnp.clip(x * scale - low * scale, 0.0, 255.0)
        out = transform_value_range(out, (0, 255), self.value_range, dtype)
        return jnp.where(jnp.isnan(out), original, out)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "value_range": self.value_range}


class Equalization(BaseImagePreprocessingLayer):
    """Histogram equalization with ``bins`` bins, one histogram per channel over the whole batch (as Keras), mapping
    each pixel through the normalized cumulative histogram; a channel with a single occupied bin is unchanged.
    Identity at inference."""

    _BATCH_SINGLE_IMAGES = True

    def __init__(self, value_range: Any = (0, 255), bins: int = 256, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self.bins = bins
        self.value_range = check_value_range(value_range)

    def _equalize(self, channel: Any) -> Any:
        low, high = self.value_range
        channel = channel * (255.0 / (high - low)) + (0 - low * (255.0 / (high - low)))
        scaled = (channel.astype("float32") - 0.0) * (self.bins - 1) / 255.0
        index = jnp.clip(scaled.astype("int32"), 0, self.bins - 1).reshape(-1)
        hist = jnp.bincount(index, length=self.bins).astype("int32")
        cdf = jnp.cumsum(hist)
        cdf_min = cdf[jnp.argmax(cdf > 0)]
        denominator = cdf[-1] - cdf_min
        denominator = jnp.where(denominator == 0, 1, denominator)
        table = jnp.clip(jnp.round((cdf - cdf_min) * 255 / denominator), 0, 255)
        lookup = jnp.clip(channel / 255.0 * (self.bins - 1), 0, self.bins - 1).astype("int32")
        equalized = jnp.where(jnp.count_nonzero(hist) <= 1, channel, jnp.take(table, lookup))
        back = (high - low) / 255.0
        return equalized * back + (low - 0 * back)

    def transform_images(self, images: Any, transformation: Any = None, training: bool = True) -> Any:
        images = jnp.asarray(images)
        if not training:
            return images
        images = images.astype(self.compute_dtype)
        axis = images.ndim - 3 if self.data_format == "channels_first" else images.ndim - 1
        channels = [self._equalize(jnp.take(images, i, axis=axis)) for i in range(images.shape[axis])]
        return jnp.stack(channels, axis=axis).astype(self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "bins": self.bins, "value_range": self.value_range}


class ContrastLimitedAdaptiveHistogramEqualization(BaseImagePreprocessingLayer):
    """CLAHE: equalize each tile of a ``tile_grid_size`` grid through its own histogram, clipped at ``clip_limit``
    times the mean bin count (the excess spread over all bins), blending the four nearest tiles' mappings
    bilinearly so tile borders do not show. Applied at inference too, as in Keras."""

    _BATCH_SINGLE_IMAGES = True

    def __init__(self, value_range: Any = (0, 255), clip_limit: float = 4.0, tile_grid_size: Any = (8, 8),
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self.value_range, self.clip_limit, self.tile_grid_size = value_range, clip_limit, tile_grid_size

    def transform_images(self, images: Any, transformation: Any = None, training: bool = True) -> Any:
        images = jnp.asarray(images)
        x = jnp.moveaxis(images, -3, -1) if self.data_format == "channels_first" else images
        out = transform_value_range(x, self.value_range, (0, 255), "float32").astype("float32")
        out = transform_value_range(self._clahe(out), (0, 255), self.value_range, "float32").astype(images.dtype)
        return jnp.moveaxis(out, -1, -3) if self.data_format == "channels_first" else out

    def _clahe(self, x: Any) -> Any:
        batch, height, width, channels = x.shape
        grid_h, grid_w = (int(g) for g in self.tile_grid_size)
        tile_h, tile_w = -(-height // grid_h), -(-width // grid_w)
        pad_h, pad_w = tile_h * grid_h - height, tile_w * grid_w - width
        if pad_h or pad_w:
            x = jnp.pad(x, [(0, 0), (0, pad_h), (0, pad_w), (0, 0)], mode="symmetric")
        tiles = x.reshape(batch, grid_h, tile_h, grid_w, tile_w, channels).transpose(0, 1, 3, 5, 2, 4)
        values = jnp.clip(tiles.reshape(batch, grid_h, grid_w, channels, tile_h * tile_w).astype("int32"), 0, 255)
        hists = jnp.sum(jax.nn.one_hot(values, 256, dtype="float32"), axis=-2)  # (b, gh, gw, c, 256)
        if self.clip_limit > 0:
            clipped = jnp.clip(hists, 0, jnp.float32(self.clip_limit * (tile_h * tile_w) / 256.0))
            hists = clipped + jnp.sum(hists - clipped, axis=-1, keepdims=True) / 256.0
        cdf = jnp.cumsum(hists, axis=-1)
        cdf_min = jnp.min(cdf, axis=-1, keepdims=True)
        denominator = jnp.float32(tile_h * tile_w) - cdf_min
        denominator = jnp.where(denominator == 0, jnp.ones_like(denominator), denominator)
        table = jnp.clip((cdf - cdf_min) * 255.0 / denominator, 0, 255)
        table = jnp.pad(table, [(0, 0), (1, 1), (1, 1), (0, 0), (0, 0)], mode="edge")  # border tiles repeated

        def corners(size: int, tile: int, grid: int) -> tuple[Any, Any, Any]:
            pos = (jnp.arange(size, dtype="float32") - tile / 2.0) / tile + 1.0
            low = jnp.floor(pos)
            weight = pos - low
            return (jnp.clip(low, 0, grid + 1).astype("int32"), jnp.clip(low + 1, 0, grid + 1).astype("int32"),
                    weight)

        y0, y1, wy = corners(tile_h * grid_h, tile_h, grid_h)
        x0, x1, wx = corners(tile_w * grid_w, tile_w, grid_w)
        pixels = jnp.clip(x, 0, 255).astype("int32")
        b = jnp.arange(batch)[:, None, None, None]
        c = jnp.arange(channels)[None, None, None, :]
        y0, y1, wy = y0[None, :, None, None], y1[None, :, None, None], wy[None, :, None, None]
        x0, x1, wx = x0[None, None, :, None], x1[None, None, :, None], wx[None, None, :, None]
        top = table[b, y0, x0, c, pixels] * (1.0 - wx) + table[b, y0, x1, c, pixels] * wx
        bottom = table[b, y1, x0, c, pixels] * (1.0 - wx) + table[b, y1, x1, c, pixels] * wx
        return (top * (1.0 - wy) + bottom * wy)[:, :height, :width, :]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "value_range": self.value_range, "clip_limit": self.clip_limit,
                "tile_grid_size": self.tile_grid_size, "data_format": self.data_format}
