"""Normalization layers: ``BatchNormalization``, ``LayerNormalization``, ``GroupNormalization``.

``BatchNormalization`` keeps ``moving_mean`` and ``moving_variance`` as non-trainable weights (counted in
the summary's ``Non-trainable params``); training updates them with ``Weight.assign`` (a state update
inside a pure model call), inference normalizes with them.

>>> import numpy as np
>>> from lamina import layers
>>> bn = layers.BatchNormalization()
>>> bn(np.ones((2, 3), "float32")).shape
(2, 3)
>>> [w.name for w in bn.non_trainable_weights]
['moving_mean', 'moving_variance']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from lamina import initializers
from lamina.layers.base import InputSpec, Layer, shape_str

Shape = tuple[int | None, ...]


def _reg(identifier: Any) -> Any:
    from lamina import regularizers

    return regularizers.get(identifier)


def _ser_reg(value: Any) -> Any:
    from lamina import regularizers

    return regularizers.serialize(value)


def _axis_size(layer: Layer, input_shape: Shape, axis: int) -> int:
    rank = len(input_shape)
    if not -rank <= axis < rank:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': axis {axis} is out of range for input shape "
                         f"{shape_str(tuple(input_shape))}.")
    size = input_shape[axis]
    if size is None:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': axis {axis} of its input must have a known size, "
                         f"received input shape {shape_str(tuple(input_shape))}.")
    return int(size)


class BatchNormalization(Layer):
    """Normalize with batch statistics in training and with moving statistics in inference.

    ``moving = moving * momentum + batch_stat * (1 - momentum)``; output
    ``gamma * (x - mean) / sqrt(variance + epsilon) + beta``.
    """

    supports_masking = True

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 moving_mean_initializer: Any = "zeros", moving_variance_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, synchronized: bool = False, renorm: bool = False,
                 renorm_clipping: Any = None, renorm_momentum: float = 0.99, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if renorm:
            raise ValueError(f"BatchNormalization '{self.name}': renorm=True is not supported by lamina; use "
                             "renorm=False.")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = _reg(beta_regularizer)
        self.gamma_regularizer = _reg(gamma_regularizer)
        self.beta_constraint = beta_constraint
        self.gamma_constraint = gamma_constraint
        self.synchronized = bool(synchronized)
        self.renorm = False
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = float(renorm_momentum)

    def build(self, input_shape: Shape) -> None:
        size = _axis_size(self, input_shape, self.axis)
        self.gamma = (self.add_weight((size,), self.gamma_initializer, name="gamma",
                                      regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
                      if self.scale else None)
        self.beta = (self.add_weight((size,), self.beta_initializer, name="beta", regularizer=self.beta_regularizer,
                                     constraint=self.beta_constraint) if self.center else None)
        self.moving_mean = self.add_weight((size,), self.moving_mean_initializer, name="moving_mean",
                                           trainable=False)
        self.moving_variance = self.add_weight((size,), self.moving_variance_initializer, name="moving_variance",
                                               trainable=False)
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: size})

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def call(self, inputs: Any, training: bool = False, mask: Any = None) -> Any:
        rank = inputs.ndim
        axis = self.axis % rank
        reduce = tuple(i for i in range(rank) if i != axis)
        shape = [1] * rank
        shape[axis] = inputs.shape[axis]
        x = inputs.astype(jnp.result_type(inputs.dtype, jnp.float32))
        if training and self.trainable:
            if mask is None:
                mean = jnp.mean(x, axis=reduce)
                variance = jnp.var(x, axis=reduce)
            else:
                weights = jnp.broadcast_to(jnp.expand_dims(mask.astype(x.dtype), -1), x.shape)
                count = jnp.maximum(jnp.sum(weights, axis=reduce), 1.0)
                mean = jnp.sum(x * weights, axis=reduce) / count
                variance = jnp.sum(jnp.square(x - jnp.reshape(mean, shape)) * weights, axis=reduce) / count
            m = self.momentum
            self.moving_mean.assign(self.moving_mean.value * m + mean * (1.0 - m))
            self.moving_variance.assign(self.moving_variance.value * m + variance * (1.0 - m))
        else:
            mean, variance = self.moving_mean.value, self.moving_variance.value
        inv = jax.lax.rsqrt(jnp.reshape(variance, shape) + self.epsilon)
        if self.gamma is not None:
            inv = inv * jnp.reshape(self.gamma.value, shape)
        res = -jnp.reshape(mean, shape) * inv
        if self.beta is not None:
            res = res + jnp.reshape(self.beta.value, shape)
        return (x * inv + res).astype(self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        ser = initializers.serialize
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "beta_initializer": ser(self.beta_initializer),
                "gamma_initializer": ser(self.gamma_initializer),
                "moving_mean_initializer": ser(self.moving_mean_initializer),
                "moving_variance_initializer": ser(self.moving_variance_initializer),
                "beta_regularizer": _ser_reg(self.beta_regularizer),
                "gamma_regularizer": _ser_reg(self.gamma_regularizer), "beta_constraint": None,
                "gamma_constraint": None, "synchronized": self.synchronized, "renorm": self.renorm,
                "renorm_clipping": self.renorm_clipping, "renorm_momentum": self.renorm_momentum}


class LayerNormalization(Layer):
    """Normalize each sample over ``axis`` (default the last), then ``gamma * x + beta``.

    >>> import numpy as np
    >>> from lamina import layers
    >>> out = layers.LayerNormalization()(np.array([[1.0, 3.0]], "float32"))
    >>> [round(v, 2) for v in out[0].tolist()]
    [-1.0, 1.0]
    """

    supports_masking = True

    def __init__(self, axis: int | Sequence[int] = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, rms_scaling: bool = False, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", beta_regularizer: Any = None, gamma_regularizer: Any = None,
                 beta_constraint: Any = None, gamma_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = [int(axis)] if isinstance(axis, int) else [int(a) for a in axis]
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.rms_scaling = bool(rms_scaling)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = _reg(beta_regularizer)
        self.gamma_regularizer = _reg(gamma_regularizer)
        self.beta_constraint = beta_constraint
        self.gamma_constraint = gamma_constraint

    def build(self, input_shape: Shape) -> None:
        shape = tuple(_axis_size(self, input_shape, a) for a in self.axis)
        self.gamma = (self.add_weight(shape, self.gamma_initializer, name="gamma",
                                      regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
                      if self.scale or self.rms_scaling else None)
        self.beta = (self.add_weight(shape, self.beta_initializer, name="beta", regularizer=self.beta_regularizer,
                                     constraint=self.beta_constraint)
                     if self.center and not self.rms_scaling else None)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def call(self, inputs: Any) -> Any:
        rank = inputs.ndim
        axes = sorted(a % rank for a in self.axis)
        x = inputs.astype(jnp.result_type(inputs.dtype, jnp.float32))
        bshape = [1] * rank
        for a in axes:
            bshape[a] = x.shape[a]

        def broadcast(w: Any) -> Any:
            return jnp.reshape(w.value, bshape)

        variance = jnp.var(x, axis=axes, keepdims=True)
        inv = jax.lax.rsqrt(variance + self.epsilon)
        if self.rms_scaling:
            out = x * inv
            if self.gamma is not None:
                out = out * broadcast(self.gamma)
            return out.astype(self.compute_dtype)
        mean = jnp.mean(x, axis=axes, keepdims=True)
        if self.gamma is not None:
            inv = inv * broadcast(self.gamma)
        res = -mean * inv
        if self.beta is not None:
            res = res + broadcast(self.beta)
        return (x * inv + res).astype(self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        ser = initializers.serialize
        return {**super().get_config(), "axis": list(self.axis), "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "rms_scaling": self.rms_scaling, "beta_initializer": ser(self.beta_initializer),
                "gamma_initializer": ser(self.gamma_initializer), "beta_regularizer": _ser_reg(self.beta_regularizer),
                "gamma_regularizer": _ser_reg(self.gamma_regularizer), "beta_constraint": None,
                "gamma_constraint": None}


class GroupNormalization(Layer):
    """Split the channels (``axis``) into ``groups`` and normalize each group of each sample.

    >>> from lamina import layers
    >>> layers.GroupNormalization(groups=2)(layers.Input((4, 6))).shape
    (None, 4, 6)
    """

    supports_masking = True

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.groups = int(groups)
        self.axis = int(axis)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = _reg(beta_regularizer)
        self.gamma_regularizer = _reg(gamma_regularizer)
        self.beta_constraint = beta_constraint
        self.gamma_constraint = gamma_constraint

    def build(self, input_shape: Shape) -> None:
        dim = _axis_size(self, input_shape, self.axis)
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups or dim % self.groups:
            raise ValueError(f"GroupNormalization '{self.name}': the {dim} channels of input shape "
                             f"{shape_str(tuple(input_shape))} (axis {self.axis}) must be a multiple of groups "
                             f"({self.groups}). Choose groups dividing {dim}.")
        self.gamma = (self.add_weight((dim,), self.gamma_initializer, name="gamma",
                                      regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
                      if self.scale else None)
        self.beta = (self.add_weight((dim,), self.beta_initializer, name="beta", regularizer=self.beta_regularizer,
                                     constraint=self.beta_constraint) if self.center else None)
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: dim})

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def call(self, inputs: Any) -> Any:
        rank = inputs.ndim
        axis = self.axis % rank
        shape = list(inputs.shape)
        grouped = shape[:axis] + [self.groups, shape[axis] // self.groups] + shape[axis + 1:]
        x = jnp.reshape(inputs.astype(jnp.result_type(inputs.dtype, jnp.float32)), grouped)
        reduce = tuple(i for i in range(1, rank + 1) if i != axis)
        mean = jnp.mean(x, axis=reduce, keepdims=True)
        variance = jnp.var(x, axis=reduce, keepdims=True)
        bshape = [1] * (rank + 1)
        bshape[axis], bshape[axis + 1] = self.groups, shape[axis] // self.groups
        inv = jax.lax.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            inv = inv * jnp.reshape(self.gamma.value, bshape)
        res = -mean * inv
        if self.beta is not None:
            res = res + jnp.reshape(self.beta.value, bshape)
        return jnp.reshape(x * inv + res, shape).astype(self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        ser = initializers.serialize
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "beta_initializer": ser(self.beta_initializer),
                "gamma_initializer": ser(self.gamma_initializer), "beta_regularizer": _ser_reg(self.beta_regularizer),
                "gamma_regularizer": _ser_reg(self.gamma_regularizer), "beta_constraint": None,
                "gamma_constraint": None}
