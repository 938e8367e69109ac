"""Activation layers with arguments: ``ReLU``, ``LeakyReLU``, ``PReLU``, ``ELU`` and ``Softmax`` (with a mask).

Each acts elementwise (``Softmax`` along ``axis``) and keeps the input's shape and mask. Only ``PReLU`` has
weights: one slope ``alpha`` per input value of a sample, shared along ``shared_axes`` (e.g. ``[1, 2]`` for
one slope per channel of an image).

>>> import numpy as np
>>> from lamina import layers
>>> layers.ReLU(max_value=1.0)(np.array([0.5, 3.0])).tolist()
[0.5, 1.0]
>>> layers.LeakyReLU(negative_slope=0.5)(np.array([-2.0, 2.0])).tolist()
[-1.0, 2.0]
>>> layers.PReLU(shared_axes=[1, 2])(layers.Input((8, 8, 3))).shape
(None, 8, 8, 3)
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from lamina import activations, constraints, initializers
from lamina.layers.base import InputSpec, Layer


class _Elementwise(Layer):
    """Weightless, shape-keeping and mask-keeping; Keras builds these at construction."""

    supports_masking = True
    _writes_build_config = False

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


class ReLU(_Elementwise):
    """``max(x, 0)`` with Keras's ``max_value`` cap, ``negative_slope`` below ``threshold``, and ``threshold``."""

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for arg, value in (("max_value", max_value), ("negative_slope", negative_slope), ("threshold", threshold)):
            if (value is None and arg != "max_value") or (value is not None and value < 0.0):
                raise ValueError(f"ReLU '{self.name}': {arg} cannot be None or negative, received {value!r}.")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope = float(negative_slope)
        self.threshold = float(threshold)

    def call(self, inputs: Any) -> Any:
        return activations.relu(inputs, self.negative_slope, self.max_value, self.threshold)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(_Elementwise):
    """``x`` for ``x >= 0``, else ``negative_slope * x`` (Keras's layer default 0.3)."""

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if "alpha" in kwargs:  # Keras 2's name
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"LeakyReLU '{self.name}': negative_slope must be a number >= 0, received "
                             f"{negative_slope!r}.")
        self.negative_slope = float(negative_slope)

    def call(self, inputs: Any) -> Any:
        return jax.nn.leaky_relu(inputs, self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_Elementwise):
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``."""

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, inputs: Any) -> Any:
        return jax.nn.elu(inputs, self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(_Elementwise):
    """Softmax along ``axis`` (an int or a tuple of axes); masked positions (``mask`` false) get 0.

    >>> import numpy as np
    >>> Softmax()(np.zeros((1, 4)), mask=np.array([[1, 1, 0, 0]])).tolist()
    [[0.5, 0.5, 0.0, 0.0]]
    """

    def __init__(self, axis: int | tuple[int, ...] | list[int] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs: Any, mask: Any = None) -> Any:
        axis = tuple(self.axis) if isinstance(self.axis, (list, tuple)) else self.axis
        if mask is not None:
            mask = jnp.asarray(mask)
            if mask.ndim > inputs.ndim or any(m not in (1, i) for m, i in zip(mask.shape[::-1], inputs.shape[::-1])):
                raise ValueError(
                    f"Softmax '{self.name}': the mask must broadcast to the inputs (each axis 1 or the input's "
                    f"size, aligned on the right), received inputs.shape={tuple(inputs.shape)}, "
                    f"mask.shape={tuple(mask.shape)}. For attention scores (batch, heads, queries, keys) pass "
                    "a (batch, 1, queries, keys) or (batch, 1, 1, keys) mask.")
            mask = mask if mask.dtype == jnp.bool_ else mask > 0.5
            inputs = jnp.where(mask, inputs, _large_negative(inputs.dtype))
        out = jax.nn.softmax(inputs, axis=axis)
        return out if mask is None else jnp.where(mask, out, 0.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}


def _large_negative(dtype: Any) -> float:
    """Keras's stand-in for minus infinity: -1e9, or -3e4 for 16-bit floats."""
    return -3e4 if jnp.dtype(dtype).itemsize <= 2 else -1e9


class PReLU(Layer):
    """``max(x, 0) - alpha * max(-x, 0)`` with a learned ``alpha`` of shape ``input_shape[1:]`` (1 on
    ``shared_axes``)."""

    supports_masking = True

    def __init__(self, alpha_initializer: Any = "Zeros", alpha_regularizer: Any = None, alpha_constraint: Any = None,
                 shared_axes: int | list[int] | None = None, **kwargs: Any) -> None:
        from lamina import regularizers

        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            self.shared_axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            shape[axis - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(f"PReLU '{self.name}': every non-shared axis must have a known size, received input "
                             f"shape {tuple(input_shape)}; share the unknown axes with shared_axes=[...].")
        self.alpha = self.add_weight(tuple(shape), self.alpha_initializer, name="alpha",
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        axes = {i: input_shape[i] for i in range(1, len(input_shape)) if i not in (self.shared_axes or [])}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)

    def call(self, inputs: Any) -> Any:
        return jax.nn.relu(inputs) - self.alpha.value * jax.nn.relu(-inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        from lamina import regularizers

        return {**super().get_config(), "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}
