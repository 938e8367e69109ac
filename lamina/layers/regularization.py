"""Regularization layers: ``Dropout`` (active only when training).

>>> import numpy as np
>>> from lamina import layers
>>> layers.Dropout(0.5)(np.ones((1, 4), "float32")).tolist()  # inference: identity
[[1.0, 1.0, 1.0, 1.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from lamina import random as lamina_random
from lamina.layers.base import CallScope, Layer


class Dropout(Layer):
    """Zero each input with probability ``rate`` in training and scale the rest by ``1 / (1 - rate)``."""

    supports_masking = True

    _writes_build_config = False

    def __init__(self, rate: float, noise_shape: Sequence[int | None] | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"Dropout '{self.name}': rate must be in [0, 1], received {rate}.")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed

    def call(self, inputs: Any, training: bool = False) -> Any:
        if not training or self.rate == 0.0:
            return inputs
        if self.rate == 1.0:
            return jnp.zeros_like(inputs)
        scope = CallScope.current()
        key = scope.next_rng() if scope is not None else jax.random.PRNGKey(self.seed or 0)
        shape = inputs.shape
        if self.noise_shape is not None:
            shape = tuple(s if n is None else n for s, n in zip(inputs.shape, self.noise_shape))
        keep = lamina_random.bernoulli(key, 1.0 - self.rate, shape)
        return jnp.where(keep, inputs / (1.0 - self.rate), jnp.zeros((), inputs.dtype))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape)}


class SpatialDropout1D(Dropout):
    """Drop whole feature maps (channels) of ``(batch, steps, channels)`` inputs in training."""

    _rank = 1

    def __init__(self, rate: float, seed: int | None = None, name: str | None = None, dtype: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)

    def _channels_first(self) -> bool:
        return False

    def call(self, inputs: Any, training: bool = False) -> Any:
        if inputs.ndim != self._rank + 2:
            raise ValueError(f"{type(self).__name__} '{self.name}' expects inputs of rank {self._rank + 2}, received "
                             f"shape {tuple(inputs.shape)}.")
        if not training or self.rate == 0.0:
            return inputs
        if self._channels_first():
            shape = (inputs.shape[0], inputs.shape[1]) + (1,) * self._rank
        else:
            shape = (inputs.shape[0],) + (1,) * self._rank + (inputs.shape[-1],)
        scope = CallScope.current()
        key = scope.next_rng() if scope is not None else jax.random.PRNGKey(self.seed or 0)
        keep = lamina_random.bernoulli(key, 1.0 - self.rate, shape)
        return jnp.where(keep, inputs / (1.0 - self.rate), jnp.zeros((), inputs.dtype))

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self.dtype}


class SpatialDropout2D(SpatialDropout1D):
    """Drop whole feature maps of ``(batch, h, w, channels)`` inputs in training (``data_format`` aware).

    >>> import numpy as np
    >>> from lamina import layers
    >>> layers.SpatialDropout2D(0.5)(np.ones((1, 2, 2, 3), "float32")).shape
    (1, 2, 2, 3)
    """

    _rank = 2

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        from lamina.layers.convolution import data_format_of

        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)
        self.data_format = data_format_of(data_format, f"{type(self).__name__} '{self.name}'")

    def _channels_first(self) -> bool:
        return self.data_format == "channels_first"

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


class SpatialDropout3D(SpatialDropout2D):
    """Drop whole feature maps of 5-D inputs in training."""

    _rank = 3


class GaussianNoise(Layer):
    """Add zero-mean Gaussian noise with ``stddev`` in training (identity in inference)."""

    supports_masking = True

    _writes_build_config = False

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0 <= float(stddev):
            raise ValueError(f"GaussianNoise '{self.name}': stddev must be non-negative, received {stddev}.")
        self.stddev = float(stddev)
        self.seed = seed

    def call(self, inputs: Any, training: bool = False) -> Any:
        if not training or self.stddev == 0:
            return inputs
        scope = CallScope.current()
        key = scope.next_rng() if scope is not None else jax.random.PRNGKey(self.seed or 0)
        return inputs + self.stddev * jax.random.normal(key, inputs.shape, inputs.dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """Multiply by ``1 + N(0, rate / (1 - rate))`` noise in training."""

    supports_masking = True

    _writes_build_config = False

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.seed = seed

    def call(self, inputs: Any, training: bool = False) -> Any:
        if not training or not 0 < self.rate < 1:
            return inputs
        scope = CallScope.current()
        key = scope.next_rng() if scope is not None else jax.random.PRNGKey(self.seed or 0)
        stddev = (self.rate / (1.0 - self.rate)) ** 0.5
        return inputs * (1.0 + stddev * jax.random.normal(key, inputs.shape, inputs.dtype))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class ActivityRegularization(Layer):
    """Identity that adds ``(l1 * sum|x| + l2 * sum x**2) / batch_size`` to the training loss.

    >>> import numpy as np
    >>> from lamina import layers
    >>> layers.ActivityRegularization(l2=0.1)(np.ones((2, 3), "float32")).shape
    (2, 3)
    """

    supports_masking = True

    _writes_build_config = False
    _adds_batch_losses = True  # a loss per batch: training/speed.py keeps such batches whole

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        from lamina import regularizers

        kwargs.pop("activity_regularizer", None)
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = l1
        self.l2 = l2

    def call(self, inputs: Any) -> Any:
        return inputs  # the penalty (divided by the batch size) is added by Layer for every activity_regularizer

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        base = super().get_config()
        base.pop("activity_regularizer", None)
        return {**base, "l1": self.l1, "l2": self.l2}


class AlphaDropout(Dropout):
    """Dropout for SELU networks: dropped values become SELU's negative saturation ``-alpha * scale`` and an
    affine correction keeps the mean and variance (identity in inference)."""

    _ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946

    def call(self, inputs: Any, training: bool = False) -> Any:
        if not training or self.rate <= 0.0:
            return inputs
        scope = CallScope.current()
        key = scope.next_rng() if scope is not None else jax.random.PRNGKey(self.seed or 0)
        shape = inputs.shape
        if self.noise_shape is not None:
            shape = tuple(s if n is None else n for s, n in zip(inputs.shape, self.noise_shape))
        kept = (jax.random.uniform(key, shape) >= self.rate).astype(inputs.dtype)
        a = ((1 - self.rate) * (1 + self.rate * self._ALPHA_P ** 2)) ** -0.5
        b = -a * self._ALPHA_P * self.rate
        return a * (inputs * kept + self._ALPHA_P * (1 - kept)) + b
