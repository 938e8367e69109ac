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
