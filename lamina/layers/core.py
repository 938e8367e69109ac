"""Core layers: ``Dense`` and ``Activation``.

``Dense`` contracts the **last axis** only. On a ``(None, 32, 32, 3)`` input, ``Dense(512)`` applies the
same ``3 x 512`` kernel at each of the 32x32 positions (like a 1x1 convolution) and outputs
``(None, 32, 32, 512)``; add ``Flatten()`` first to connect every input value to every unit.

>>> from lamina import layers
>>> layers.Dense(10)(layers.Input((28, 28))).shape
(None, 28, 10)
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from lamina import activations, constraints, initializers
from lamina.layers.base import InputSpec, Layer


class Dense(Layer):
    """``activation(inputs @ kernel + bias)`` on the last axis; kernel ``(input_dim, units)``."""

    supports_masking = True

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        try:
            units = int(units)
        except (TypeError, ValueError):
            raise TypeError(f"Dense '{self.name}': units must be a positive integer, received {units!r}.") from None
        if units <= 0:
            raise ValueError(f"Dense '{self.name}': units must be a positive integer, received {units}.")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizer(kernel_regularizer)
        self.bias_regularizer = _regularizer(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Dense '{self.name}': the last axis of its input must be known, received "
                             f"{input_shape}.")
        self.kernel = self.add_weight((input_dim, self.units), self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = (self.add_weight((self.units,), self.bias_initializer, name="bias",
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})

    def call(self, inputs: Any) -> Any:
        out = jnp.matmul(inputs, self.kernel.value)
        if self.bias is not None:
            out = out + self.bias.value
        return self.activation(out)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return tuple(input_shape[:-1]) + (self.units,)

    def _rank_hint(self, got: int, want: int) -> str:
        return (" Dense needs inputs of shape (batch, ..., features); give the first layer "
                "input_shape=(features,) without the batch size.")

    def get_config(self) -> dict[str, Any]:
        from lamina import regularizers

        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint), "quantization_config": None}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Dense:
        config = {k: v for k, v in config.items() if k not in ("quantization_config", "lora_rank", "lora_alpha")}
        return cls(**config)


class Activation(Layer):
    """Apply an activation function: ``Activation("relu")`` or ``Activation(callable)``."""

    supports_masking = True

    _writes_build_config = False

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs: Any) -> Any:
        return self.activation(inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


def _regularizer(identifier: Any) -> Any:
    if identifier is None:
        return None
    from lamina import regularizers

    return regularizers.get(identifier)


class Identity(Layer):
    """Return the input unchanged (and its mask): a placeholder layer."""

    supports_masking = True
    _writes_build_config = False

    def call(self, inputs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


class Masking(Layer):
    """Mask the time steps whose features all equal ``mask_value`` (and zero them), for the layers after it.

    On ``(batch, steps, features)`` inputs, step ``t`` of a sample is masked when every feature equals
    ``mask_value``; RNNs then skip it and ``GlobalAveragePooling1D`` leaves it out of the mean.

    >>> import numpy as np
    >>> x = np.array([[[1.0, 2.0], [0.0, 0.0]]])
    >>> Masking().compute_mask(x).tolist()
    [[True, False]]
    """

    supports_masking = True
    _writes_build_config = False

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return jnp.any(jnp.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs: Any) -> Any:
        keep = jnp.any(jnp.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        return jnp.where(keep, inputs, jnp.zeros((), inputs.dtype))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value}
