"""Convolution layers: ``Conv1D/2D/3D``, ``SeparableConv1D/2D``, ``DepthwiseConv1D/2D``,
``Conv1D/2D/3DTranspose``, with Keras 3's arguments, weight shapes and configs.

Kernels are ``(*kernel_size, in_channels // groups, filters)`` as in Keras, so ``set_weights`` takes
Keras's arrays unchanged.

>>> from lamina import layers
>>> layers.Conv2D(32, 3, activation="relu")(layers.Input((28, 28, 1))).shape
(None, 26, 26, 32)
>>> layers.Conv2D(8, 3, padding="same", strides=2)(layers.Input((28, 28, 1))).shape
(None, 14, 14, 8)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from lamina import activations, backend, constraints, initializers
from lamina.layers.base import InputSpec, Layer, shape_str

Shape = tuple[int | None, ...]


# ------------------------------------------------------------------------------------------ helpers
def normalize_tuple(value: Any, rank: int, arg: str, layer: str) -> tuple[int, ...]:
    """``3`` -> ``(3, 3)``; checks a tuple has ``rank`` positive entries."""
    if isinstance(value, int):
        out = (value,) * rank
    else:
        try:
            out = tuple(int(v) for v in value)
        except TypeError:
            raise ValueError(f"{layer}: {arg} must be an int or a tuple of {rank} ints, received {value!r}.") from None
    if len(out) != rank or any(v <= 0 for v in out):
        raise ValueError(f"{layer}: {arg} must be an int or a tuple of {rank} positive ints, received {value!r}.")
    return out


def data_format_of(value: Any, layer: str) -> str:
    """``None`` -> the global image format; otherwise ``channels_last`` / ``channels_first`` or a ValueError."""
    try:
        return backend.standardize_data_format(value)
    except ValueError:
        raise ValueError(f"{layer}: data_format must be 'channels_last' or 'channels_first', received {value!r}. "
                         "Use channels_last for (batch, ..., channels) inputs.") from None


def conv_output_length(length: int | None, kernel: int, padding: str, stride: int, dilation: int = 1
                       ) -> int | None:
    """The output size of one spatial axis of a convolution or pooling window."""
    if length is None:
        return None
    effective = (kernel - 1) * dilation + 1
    if padding == "valid":
        return (length - effective) // stride + 1
    return (length + stride - 1) // stride  # same, causal


def dimension_numbers(rank: int, data_format: str) -> tuple[str, str, str]:
    """``lax`` dimension numbers for a ``rank``-D convolution in ``data_format``."""
    spatial = "DHW"[3 - rank:]
    lhs = "N" + spatial + "C" if data_format == "channels_last" else "NC" + spatial
    return lhs, spatial + "IO", lhs


def _ops_function(module: str, name: str) -> Any:
    """A kernel from ``lamina.ops.<module>`` when that module provides it, else ``None``."""
    try:
        mod = __import__(f"lamina.ops.{module}", fromlist=[name])
    except ImportError:
        return None
    return getattr(mod, name, None)


def conv(x: Any, kernel: Any, strides: Sequence[int], padding: str, dilation_rate: Sequence[int], groups: int,
         data_format: str) -> Any:
    """N-D convolution with Keras's kernel layout; ``padding`` is ``valid`` or ``same``."""
    fast = _ops_function("convolution", "conv")
    if fast is not None:
        return fast(x, kernel, strides, padding, dilation_rate, groups, data_format)
    rank = kernel.ndim - 2
    return jax.lax.conv_general_dilated(
        x, kernel, window_strides=tuple(strides), padding=padding.upper(), rhs_dilation=tuple(dilation_rate),
        dimension_numbers=dimension_numbers(rank, data_format), feature_group_count=groups)


def conv_transpose_padding(kernel: int, stride: int, dilation: int, padding: str, output_padding: int | None
                           ) -> tuple[int, int]:
    """Keras's (left, right) padding of the dilated input of a transposed convolution."""
    effective = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(effective, stride) - effective if output_padding is None else output_padding
        return effective - 1, effective - 1 + extra
    total = stride + effective - 2 if output_padding is None else effective + effective % 2 - 2 + output_padding
    left = min(total // 2 + total % 2, effective - 1)
    return left, total - left


def conv_transpose(x: Any, kernel: Any, strides: Sequence[int], padding: str, output_padding: Any,
                   dilation_rate: Sequence[int], data_format: str) -> Any:
    """Transposed convolution with Keras's kernel layout ``(*k, filters, in_channels)``."""
    fast = _ops_function("convolution", "conv_transpose")
    if fast is not None:
        return fast(x, kernel, strides, padding, output_padding, dilation_rate, data_format)
    rank = kernel.ndim - 2
    pads = [conv_transpose_padding(kernel.shape[i], strides[i], dilation_rate[i], padding,
                                   None if output_padding is None else output_padding[i]) for i in range(rank)]
    return jax.lax.conv_transpose(x, kernel, tuple(strides), padding=pads, rhs_dilation=tuple(dilation_rate),
                                  dimension_numbers=dimension_numbers(rank, data_format), transpose_kernel=True)


def _regularizer(identifier: Any) -> Any:
    from lamina import regularizers

    return regularizers.get(identifier)


def _serialize_regularizer(value: Any) -> Any:
    from lamina import regularizers

    return regularizers.serialize(value)


def apply_activity_regularizer(layer: Layer, outputs: Any) -> None:
    """Add ``activity_regularizer(outputs) / batch`` to the loss, as Keras 3 does."""
    if layer.activity_regularizer is not None:
        batch = outputs.shape[0] if outputs.ndim else 1
        layer.add_loss(layer.activity_regularizer(outputs) / max(int(batch), 1))


# ------------------------------------------------------------------------------------------ base
class BaseConv(Layer):
    """Shared argument handling, shape rule and config of the convolution layers."""

    rank = 2
    _kind = "conv"
    _gains_from_micro_batching = True  # training/speed.py splits the batches of models with convolutions

    def __init__(self, rank: int, filters: int | None, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=_regularizer(activity_regularizer), **kwargs)
        who = f"{type(self).__name__} '{self.name}'"
        self.rank = rank
        if filters is not None:
            if not isinstance(filters, int) or filters <= 0:
                raise ValueError(f"{who}: filters must be a positive integer, received {filters!r}.")
        self.filters = filters
        self.groups = int(groups)
        if self.groups <= 0:
            raise ValueError(f"{who}: groups must be a positive integer, received {groups!r}.")
        if filters is not None and filters % self.groups:
            raise ValueError(f"{who}: filters ({filters}) must be divisible by groups ({groups}).")
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size", who)
        self.strides = normalize_tuple(strides, rank, "strides", who)
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate", who)
        padding = str(padding).lower()
        allowed = ("valid", "same", "causal") if (rank == 1 and self._kind == "conv") else ("valid", "same")
        if padding not in allowed:
            raise ValueError(f"{who}: padding must be one of {', '.join(allowed)}, received {padding!r}.")
        self.padding = padding
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{who}: strides > 1 is not supported together with dilation_rate > 1, received "
                             f"strides={self.strides} and dilation_rate={self.dilation_rate}.")
        self.data_format = data_format_of(data_format, who)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizer(kernel_regularizer)
        self.bias_regularizer = _regularizer(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    # -- shapes
    @property
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def _spatial(self, input_shape: Shape) -> Shape:
        return tuple(input_shape[1:-1]) if self.data_format == "channels_last" else tuple(input_shape[2:])

    def _channels(self, input_shape: Shape) -> int:
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': the channel axis of its input must be known, "
                             f"received input shape {shape_str(input_shape)} with data_format={self.data_format}.")
        return int(channels)

    def _out_spatial(self, input_shape: Shape) -> Shape:
        spatial = self._spatial(input_shape)
        out = tuple(conv_output_length(n, k, self.padding, s, d) for n, k, s, d in
                    zip(spatial, self.kernel_size, self.strides, self.dilation_rate))
        if any(o is not None and o <= 0 for o in out):
            effective = tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate))
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the kernel (size {effective} with dilation) is larger than its "
                f"input: input shape {shape_str(tuple(input_shape))} has spatial size {spatial}, which gives an "
                f"output shape {out} with padding='{self.padding}'. Use padding='same', a smaller kernel_size, or a "
                "larger input (e.g. remove a pooling layer before it).")
        return out

    def _out_channels(self, input_shape: Shape) -> int:
        return int(self.filters)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        spatial = self._out_spatial(input_shape)
        channels = self._out_channels(input_shape)
        if self.data_format == "channels_last":
            return (input_shape[0],) + spatial + (channels,)
        return (input_shape[0], channels) + spatial

    def _check_channels(self, input_shape: Shape) -> int:
        channels = self._channels(input_shape)
        if channels % self.groups:
            raise ValueError(f"{type(self).__name__} '{self.name}': the number of input channels ({channels}, input "
                             f"shape {shape_str(tuple(input_shape))}) must be divisible by groups ({self.groups}).")
        self._out_spatial(input_shape)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})
        return channels

    def _pad_input(self, x: Any) -> tuple[Any, str]:
        """Causal padding: left-pad the time axis then convolve with ``valid``."""
        if self.padding != "causal":
            return x, self.padding
        left = (self.kernel_size[0] - 1) * self.dilation_rate[0]
        axis = 1 if self.data_format == "channels_last" else 2
        pads = [(0, 0)] * x.ndim
        pads[axis] = (left, 0)
        return jnp.pad(x, pads), "valid"

    def _finish(self, out: Any) -> Any:
        if self.use_bias:
            bias = self.bias.value
            if self.data_format == "channels_first":
                bias = jnp.reshape(bias, (1, -1) + (1,) * self.rank)
            out = out + bias
        out = self.activation(out)
        apply_activity_regularizer(self, out)
        return out

    def _add_bias(self, size: int) -> None:
        self.bias = (self.add_weight((size,), self.bias_initializer, name="bias", regularizer=self.bias_regularizer,
                                     constraint=self.bias_constraint) if self.use_bias else None)

    def _common_config(self) -> dict[str, Any]:
        return {"kernel_size": list(self.kernel_size), "strides": list(self.strides), "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": list(self.dilation_rate)}

    def _tail_config(self) -> dict[str, Any]:
        return {"bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": _serialize_regularizer(self.kernel_regularizer),
                "bias_regularizer": _serialize_regularizer(self.bias_regularizer),
                "activity_regularizer": _serialize_regularizer(self.activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint)}

    def get_config(self) -> dict[str, Any]:
        base = super().get_config()
        base.pop("activity_regularizer", None)
        return {**base, "filters": self.filters, **self._common_config(), "groups": self.groups,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer), **self._tail_config()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)


class Conv(BaseConv):
    """A ``rank``-D convolution (the base of ``Conv1D``/``Conv2D``/``Conv3D``)."""

    def build(self, input_shape: Shape) -> None:
        channels = self._check_channels(input_shape)
        shape = self.kernel_size + (channels // self.groups, self.filters)
        self.kernel = self.add_weight(shape, self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self._add_bias(self.filters)

    def call(self, inputs: Any) -> Any:
        x, padding = self._pad_input(inputs)
        out = conv(x, self.kernel.value, self.strides, padding, self.dilation_rate, self.groups, self.data_format)
        return self._finish(out)


class Conv1D(Conv):
    """1-D convolution over ``(batch, steps, channels)``; ``padding`` may be ``"causal"``.

    >>> from lamina import layers
    >>> layers.Conv1D(4, 3, padding="causal")(layers.Input((10, 2))).shape
    (None, 10, 4)
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(1, filters, kernel_size, strides, padding, data_format, dilation_rate, groups, activation,
                         use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


class Conv2D(Conv):
    """2-D convolution over ``(batch, height, width, channels)``; kernel ``(kh, kw, in // groups, filters)``.

    >>> from lamina import layers
    >>> layers.Conv2D(32, (3, 3))(layers.Input((32, 32, 3))).shape
    (None, 30, 30, 32)
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = (1, 1), groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(2, filters, kernel_size, strides, padding, data_format, dilation_rate, groups, activation,
                         use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


class Conv3D(Conv):
    """3-D convolution over ``(batch, depth, height, width, channels)``.

    >>> from lamina import layers
    >>> layers.Conv3D(2, 3)(layers.Input((8, 8, 8, 1))).shape
    (None, 6, 6, 6, 2)
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1, 1), padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = (1, 1, 1), groups: int = 1,
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(3, filters, kernel_size, strides, padding, data_format, dilation_rate, groups, activation,
                         use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


# ------------------------------------------------------------------------------------- depthwise
def depthwise_conv(x: Any, kernel: Any, strides: Sequence[int], padding: str, dilation_rate: Sequence[int],
                   data_format: str) -> Any:
    """Per-channel convolution: kernel ``(*k, in, depth_multiplier)`` -> ``in * depth_multiplier`` channels."""
    channels = kernel.shape[-2]
    flat = jnp.reshape(kernel, kernel.shape[:-2] + (1, channels * kernel.shape[-1]))
    return conv(x, flat, strides, padding, dilation_rate, channels, data_format)


class DepthwiseConv(BaseConv):
    """Convolve each input channel with its own ``depth_multiplier`` filters (the base of the depthwise layers)."""

    _kind = "depthwise"

    def __init__(self, rank: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 depth_multiplier: int = 1, data_format: str | None = None, dilation_rate: Any = 1,
                 activation: Any = None, use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", depthwise_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, depthwise_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(rank, None, kernel_size, strides, padding, data_format, dilation_rate, 1, activation,
                         use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint, **kwargs)
        self.depth_multiplier = int(depth_multiplier)

    def _out_channels(self, input_shape: Shape) -> int:
        return self._channels(input_shape) * self.depth_multiplier

    def build(self, input_shape: Shape) -> None:
        channels = self._check_channels(input_shape)
        self.kernel = self.add_weight(self.kernel_size + (channels, self.depth_multiplier), self.kernel_initializer,
                                      name="kernel", regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self._add_bias(channels * self.depth_multiplier)

    def call(self, inputs: Any) -> Any:
        out = depthwise_conv(inputs, self.kernel.value, self.strides, self.padding, self.dilation_rate,
                             self.data_format)
        return self._finish(out)

    def get_config(self) -> dict[str, Any]:
        base = Layer.get_config(self)
        base.pop("activity_regularizer", None)
        tail = self._tail_config()
        return {**base, "depth_multiplier": self.depth_multiplier, **self._common_config(),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "depthwise_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": tail["bias_initializer"],
                "depthwise_regularizer": tail["kernel_regularizer"], "bias_regularizer": tail["bias_regularizer"],
                "activity_regularizer": tail["activity_regularizer"], "depthwise_constraint": None,
                "bias_constraint": None}


class DepthwiseConv1D(DepthwiseConv):
    """Depthwise 1-D convolution over ``(batch, steps, channels)``; kernel ``(k, channels, depth_multiplier)``.

    >>> from lamina import layers
    >>> layers.DepthwiseConv1D(3, depth_multiplier=2)(layers.Input((10, 3))).shape
    (None, 8, 6)
    """

    def __init__(self, kernel_size: Any, strides: Any = 1, padding: str = "valid", depth_multiplier: int = 1,
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = None,
                 use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 depthwise_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(1, kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, activation,
                         use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint, **kwargs)


class DepthwiseConv2D(DepthwiseConv):
    """Convolve each input channel with its own ``depth_multiplier`` filters.

    >>> from lamina import layers
    >>> layers.DepthwiseConv2D(3, depth_multiplier=2)(layers.Input((8, 8, 3))).shape
    (None, 6, 6, 6)
    """

    def __init__(self, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid", depth_multiplier: int = 1,
                 data_format: str | None = None, dilation_rate: Any = (1, 1), activation: Any = None,
                 use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 depthwise_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(2, kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, activation,
                         use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint, **kwargs)


class SeparableConv(BaseConv):
    """A depthwise convolution followed by a pointwise (1x1) convolution."""

    _kind = "separable"

    def __init__(self, rank: int, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, depth_multiplier: int = 1,
                 activation: Any = None, use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, depthwise_constraint: Any = None, pointwise_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(rank, filters, kernel_size, strides, padding, data_format, dilation_rate, 1, activation,
                         use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint, **kwargs)
        self.depth_multiplier = int(depth_multiplier)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = _regularizer(pointwise_regularizer)
        self.pointwise_constraint = pointwise_constraint

    def build(self, input_shape: Shape) -> None:
        channels = self._check_channels(input_shape)
        self.depthwise_kernel = self.add_weight(self.kernel_size + (channels, self.depth_multiplier),
                                                self.kernel_initializer, name="depthwise_kernel",
                                                regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.pointwise_kernel = self.add_weight((1,) * self.rank + (channels * self.depth_multiplier, self.filters),
                                                self.pointwise_initializer, name="pointwise_kernel",
                                                regularizer=self.pointwise_regularizer,
                                                constraint=self.pointwise_constraint)
        self._add_bias(self.filters)

    def call(self, inputs: Any) -> Any:
        kernel = self.depthwise_kernel.value
        x = inputs
        if self.rank == 1:  # run the 1-D case as 2-D with a unit height
            axis = 1 if self.data_format == "channels_last" else 2
            x = jnp.expand_dims(x, axis)
            kernel = jnp.expand_dims(kernel, 0)
            mid = depthwise_conv(x, kernel, (1,) + self.strides, self.padding, (1,) + self.dilation_rate,
                                 self.data_format)
            out = conv(mid, jnp.expand_dims(self.pointwise_kernel.value, 0), (1, 1), "valid", (1, 1), 1,
                       self.data_format)
            out = jnp.squeeze(out, axis)
        else:
            mid = depthwise_conv(x, kernel, self.strides, self.padding, self.dilation_rate, self.data_format)
            out = conv(mid, self.pointwise_kernel.value, (1,) * self.rank, "valid", (1,) * self.rank, 1,
                       self.data_format)
        return self._finish(out)

    def get_config(self) -> dict[str, Any]:
        base = Layer.get_config(self)
        base.pop("activity_regularizer", None)
        tail = self._tail_config()
        return {**base, "depth_multiplier": self.depth_multiplier, "filters": self.filters, **self._common_config(),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "depthwise_initializer": initializers.serialize(self.kernel_initializer),
                "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
                "bias_initializer": tail["bias_initializer"], "depthwise_regularizer": tail["kernel_regularizer"],
                "pointwise_regularizer": _serialize_regularizer(self.pointwise_regularizer),
                "bias_regularizer": tail["bias_regularizer"], "activity_regularizer": tail["activity_regularizer"],
                "depthwise_constraint": None, "pointwise_constraint": None, "bias_constraint": None}


class SeparableConv1D(SeparableConv):
    """Depthwise-separable 1-D convolution.

    >>> from lamina import layers
    >>> layers.SeparableConv1D(4, 3)(layers.Input((10, 2))).shape
    (None, 8, 4)
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, depth_multiplier: int = 1,
                 activation: Any = None, use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, depthwise_constraint: Any = None, pointwise_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(1, filters, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
                         activation, use_bias, depthwise_initializer, pointwise_initializer, bias_initializer,
                         depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer,
                         depthwise_constraint, pointwise_constraint, bias_constraint, **kwargs)


class SeparableConv2D(SeparableConv):
    """Depthwise-separable 2-D convolution (weights ``depthwise_kernel``, ``pointwise_kernel``, ``bias``).

    >>> from lamina import layers
    >>> layers.SeparableConv2D(8, 3)(layers.Input((10, 10, 3))).shape
    (None, 8, 8, 8)
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = (1, 1), depth_multiplier: int = 1,
                 activation: Any = None, use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, depthwise_constraint: Any = None, pointwise_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(2, filters, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
                         activation, use_bias, depthwise_initializer, pointwise_initializer, bias_initializer,
                         depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer,
                         depthwise_constraint, pointwise_constraint, bias_constraint, **kwargs)


# ------------------------------------------------------------------------------------- transpose
class ConvTranspose(BaseConv):
    """A ``rank``-D transposed convolution; kernel ``(*kernel_size, filters, in_channels)`` as in Keras."""

    _kind = "transpose"

    def __init__(self, rank: int, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None, dilation_rate: Any = 1,
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(rank, filters, kernel_size, strides, padding, data_format, dilation_rate, 1, activation,
                         use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)
        if output_padding is not None:
            output_padding = tuple(int(v) for v in ((output_padding,) * rank if isinstance(output_padding, int)
                                                    else output_padding))
        self.output_padding = output_padding

    def _out_spatial(self, input_shape: Shape) -> Shape:
        out = []
        for i, n in enumerate(self._spatial(input_shape)):
            if n is None:
                out.append(None)
                continue
            left, right = conv_transpose_padding(self.kernel_size[i], self.strides[i], self.dilation_rate[i],
                                                 self.padding,
                                                 None if self.output_padding is None else self.output_padding[i])
            effective = (self.kernel_size[i] - 1) * self.dilation_rate[i] + 1
            out.append((n - 1) * self.strides[i] + left + right - effective + 2)
        return tuple(out)

    def build(self, input_shape: Shape) -> None:
        channels = self._check_channels(input_shape)
        self.kernel = self.add_weight(self.kernel_size + (self.filters, channels), self.kernel_initializer,
                                      name="kernel", regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self._add_bias(self.filters)

    def call(self, inputs: Any) -> Any:
        out = conv_transpose(inputs, self.kernel.value, self.strides, self.padding, self.output_padding,
                             self.dilation_rate, self.data_format)
        return self._finish(out)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("groups")
        out: dict[str, Any] = {}
        for key, value in config.items():  # Keras's key order: output_padding right after padding
            out[key] = value
            if key == "padding":
                out["output_padding"] = None if self.output_padding is None else list(self.output_padding)
        return out


class Conv1DTranspose(ConvTranspose):
    """Transposed 1-D convolution; kernel ``(k, filters, in_channels)``.

    >>> from lamina import layers
    >>> layers.Conv1DTranspose(4, 3, strides=2, padding="same")(layers.Input((8, 3))).shape
    (None, 16, 4)
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None, dilation_rate: Any = 1,
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(1, filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
                         activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


class Conv2DTranspose(ConvTranspose):
    """Transposed 2-D convolution; kernel ``(kh, kw, filters, in_channels)`` as in Keras.

    >>> from lamina import layers
    >>> layers.Conv2DTranspose(4, 3, strides=2, padding="same")(layers.Input((8, 8, 3))).shape
    (None, 16, 16, 4)
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None, dilation_rate: Any = (1, 1),
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(2, filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
                         activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


class Conv3DTranspose(ConvTranspose):
    """Transposed 3-D convolution; kernel ``(kd, kh, kw, filters, in_channels)``.

    >>> from lamina import layers
    >>> layers.Conv3DTranspose(2, 3, strides=2, padding="same")(layers.Input((4, 4, 4, 3))).shape
    (None, 8, 8, 8, 2)
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1, 1), padding: str = "valid",
                 data_format: str | None = None, output_padding: Any = None, dilation_rate: Any = (1, 1, 1),
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(3, filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
                         activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose = Conv1DTranspose, Conv2DTranspose
Convolution3DTranspose = Conv3DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
