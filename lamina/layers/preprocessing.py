"""Preprocessing layers: ``Rescaling`` (also at ``layers.experimental.preprocessing.Rescaling``).

>>> import numpy as np
>>> from lamina import layers
>>> layers.Rescaling(1 / 255)(np.full((1, 2), 255.0, "float32")).tolist()
[[1.0, 1.0]]
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from lamina.layers.base import Layer


class Rescaling(Layer):
    """``inputs * scale + offset``, e.g. ``Rescaling(1 / 255)`` for 8-bit images."""

    supports_masking = True

    def __init__(self, scale: float, offset: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset

    def call(self, inputs: Any) -> Any:
        x = jnp.asarray(inputs, dtype=self.compute_dtype)
        return x * jnp.asarray(self.scale, self.compute_dtype) + jnp.asarray(self.offset, self.compute_dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
