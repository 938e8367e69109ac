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


class RMSNormalization(Layer):
    """Root-mean-square normalization: ``x * rsqrt(mean(x**2, axis) + epsilon) * scale`` (no centering).

    >>> import numpy as np
    >>> from lamina import layers
    >>> [round(v, 3) for v in layers.RMSNormalization()(np.array([[3.0, 4.0]], "float32"))[0].tolist()]
    [0.849, 1.131]
    """

    def __init__(self, axis: int | Sequence[int] = -1, epsilon: float = 1e-6, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = axis
        self.epsilon = epsilon

    def build(self, input_shape: Shape) -> None:
        if isinstance(self.axis, (list, tuple)):
            self.axis = sorted(self.axis)
        else:
            self.axis = [self.axis]
        shape = tuple(_axis_size(self, input_shape, a) for a in self.axis)
        self.scale = self.add_weight(shape, "ones", name="scale")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        for axis in axes:
            if not -len(input_shape) <= axis < len(input_shape):
                raise ValueError(f"Axis {axis} is out of bounds for input shape {input_shape}. Received: "
                                 f"axis={self.axis}")
        return input_shape

    def call(self, inputs: Any) -> Any:
        x = inputs.astype(jnp.result_type(inputs.dtype, jnp.float32))
        rank = x.ndim
        axes = tuple(sorted(a % rank for a in self.axis))
        out = x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=axes, keepdims=True) + self.epsilon)
        bshape = [x.shape[a] if a in axes else 1 for a in range(rank)]
        out = out * jnp.reshape(self.scale.value, bshape)
        return out.astype(inputs.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


class UnitNormalization(Layer):
    """Scale each sample to unit L2 norm over ``axis``: ``x * min(rsqrt(sum(x**2)), 1e12)``.

    >>> import numpy as np
    >>> from lamina import layers
    >>> layers.UnitNormalization()(np.array([[3.0, 4.0]], "float32")).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """

    supports_masking = True
    _writes_build_config = False

    def __init__(self, axis: int | Sequence[int] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis: Any = list(axis)
        elif isinstance(axis, int):
            self.axis = axis
        else:
            raise TypeError("Invalid value for `axis` argument: expected an int or a list/tuple of ints. "
                            f"Received: axis={axis}")

    def call(self, inputs: Any) -> Any:
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        inv = jax.lax.rsqrt(jnp.sum(jnp.square(inputs), axis=axis, keepdims=True))
        return inputs * jnp.minimum(inv, 1e12)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        axes = [self.axis] if isinstance(self.axis, int) else self.axis
        for axis in axes:
            if not -len(input_shape) <= axis < len(input_shape):
                raise ValueError(f"Axis {self.axis} is out of bounds for input shape {input_shape}.")
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


def _l2_normalize(x: Any) -> Any:
    """``x / ||x||`` over all entries (Keras's ``normalize(x, axis=None)`` with epsilon 1e-7)."""
    return x * jnp.minimum(jax.lax.rsqrt(jnp.sum(jnp.square(x))), 1e7)


class SpectralNormalization(Layer):
    """Wrap a layer with a ``kernel`` (or ``embeddings``) and divide it by its largest singular value,
    estimated by ``power_iterations`` steps of power iteration in training (``vector_u`` keeps the estimate).

    >>> from lamina import layers
    >>> sn = layers.SpectralNormalization(layers.Dense(4))
    >>> sn(layers.Input((3,))).shape
    (None, 4)
    >>> [w.name for w in sn.weights]
    ['kernel', 'vector_u', 'bias']
    """

    def __init__(self, layer: Layer, power_iterations: int = 1, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise TypeError(f"SpectralNormalization wraps a Layer instance, received {layer!r}.")
        super().__init__(**kwargs)
        if power_iterations <= 0:
            raise ValueError("`power_iterations` should be greater than zero. Received: "
                             f"`power_iterations={power_iterations}`")
        self.layer = layer
        self.power_iterations = int(power_iterations)

    def build(self, input_shape: Shape) -> None:
        self.layer._maybe_build(input_shape)
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            kernel = getattr(self.layer, "embeddings", None)
        if kernel is None:
            raise ValueError(f"{type(self.layer).__name__} object has no attribute 'kernel' nor 'embeddings'")
        self._kernel = kernel
        self.kernel_shape = kernel.shape
        # Keras tracks the wrapped kernel as this layer's own variable too (weights: kernel, vector_u, bias;
        # the file stores it both here and in the inner layer).
        self._own_weights.append(kernel)
        self.vector_u = self.add_weight((1, self.kernel_shape[-1]), initializers.TruncatedNormal(stddev=0.02),
                                        trainable=False, name="vector_u")

    def normalized_weights(self) -> tuple[Any, Any]:
        """The updated ``vector_u`` and the kernel divided by its estimated spectral norm."""
        kernel = self._kernel.value
        w = jnp.reshape(kernel, (-1, self.kernel_shape[-1]))
        u = self.vector_u.value
        for _ in range(self.power_iterations):
            v = _l2_normalize(jnp.matmul(u, w.T))
            u = _l2_normalize(jnp.matmul(v, w))
        u, v = jax.lax.stop_gradient(u), jax.lax.stop_gradient(v)
        sigma = jnp.matmul(jnp.matmul(v, w), u.T)
        return u, jnp.reshape(kernel / sigma, self.kernel_shape)

    def call(self, inputs: Any, training: bool = False) -> Any:
        if training:
            new_u, new_kernel = self.normalized_weights()
            zero = jnp.all(self._kernel.value == 0)
            self.vector_u.assign(jnp.where(zero, self.vector_u.value, new_u))
            self._kernel.assign(jnp.where(zero, self._kernel.value, new_kernel))
        out = self.layer._call_with_training(inputs, (), {}, training)
        return out.astype(inputs.dtype)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        from lamina.layers import serialize

        return {**super().get_config(), "layer": serialize(self.layer), "power_iterations": self.power_iterations}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SpectralNormalization:
        from lamina.layers import deserialize

        return cls(**{**config, "layer": deserialize(config["layer"])})
