"""Convolutional LSTMs ``ConvLSTM1D``, ``ConvLSTM2D`` and ``ConvLSTM3D``: an LSTM whose gates are convolutions.

Inputs are sequences of images, ``(batch, time, *spatial, channels)`` (``channels_first``: ``(batch, time,
channels, *spatial)``). At each step the four gates (``i, f, c, o``, Keras's order) are
``conv(x_t, kernel) + conv(h, recurrent_kernel) + bias``: the input convolution uses the layer's ``strides``,
``padding`` and ``dilation_rate``; the recurrent one is always stride 1 and ``"same"``. Weights have Keras's
layout and live on a ``conv_lstm_cell`` sublayer (``layers/<name>/cell/vars`` in weight files):
``kernel (*kernel_size, channels, 4 * filters)``, ``recurrent_kernel (*kernel_size, filters, 4 * filters)``,
``bias (4 * filters,)``. The input convolutions of all steps run as one convolution before the
``jax.lax.scan``, which only carries the recurrent convolution.

>>> from lamina import layers
>>> layers.ConvLSTM2D(4, 3, padding="same")(layers.Input((5, 8, 8, 2))).shape
(None, 8, 8, 4)
>>> layers.ConvLSTM1D(4, 3, return_sequences=True)(layers.Input((5, 10, 2))).shape
(None, 5, 8, 4)
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import lamina.ops.conv_autotune as conv_autotune
from lamina import activations, initializers
from lamina import random as lamina_random
from lamina.explain import Details, register_explainer
from lamina.layers.base import CallScope, InputSpec, Layer, shape_str
from lamina.layers.convolution import conv, conv_output_length, data_format_of, normalize_tuple
from lamina.layers.recurrent import RNN, _reg, _ser_reg

Shape = tuple[int | None, ...]


def _con(identifier: Any) -> Any:
    from lamina import constraints

    return constraints.get(identifier)


def _ser_con(value: Any) -> Any:
    from lamina import constraints

    return constraints.serialize(value)


class ConvLSTMCell(Layer):
    """One step of a convolutional LSTM over ``(batch, *spatial, channels)``; states ``[h, c]``."""

    def __init__(self, rank: int, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        where = f"ConvLSTM{rank}D '{self.name}'"
        if not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"{where}: filters must be a positive integer, received {filters!r}.")
        self.rank = rank
        self.filters = filters
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size", where)
        self.strides = normalize_tuple(strides, rank, "strides", where)
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate", where)
        padding = str(padding).lower()
        if padding not in ("valid", "same"):
            raise ValueError(f"{where}: padding must be 'valid' or 'same', received {padding!r}.")
        self.padding = padding
        self.data_format = data_format_of(data_format, where)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_regularizer = _reg(kernel_regularizer)
        self.recurrent_regularizer = _reg(recurrent_regularizer)
        self.bias_regularizer = _reg(bias_regularizer)
        self.kernel_constraint = _con(kernel_constraint)
        self.recurrent_constraint = _con(recurrent_constraint)
        self.bias_constraint = _con(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        self.input_spec = InputSpec(ndim=rank + 2)

    @property
    def state_size(self) -> list[int]:
        return [self.filters, self.filters]

    @property
    def output_size(self) -> int:
        return self.filters

    @property
    def channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def spatial(self, step_shape: Shape) -> Shape:
        return tuple(step_shape[1:-1] if self.data_format == "channels_last" else step_shape[2:])

    def state_shape(self, step_shape: Shape) -> Shape:
        """``(batch, *out_spatial, filters)`` (or channels first) for a step input of ``step_shape``."""
        out = tuple(conv_output_length(n, k, self.padding, s, d) for n, k, s, d in
                    zip(self.spatial(step_shape), self.kernel_size, self.strides, self.dilation_rate))
        if self.data_format == "channels_last":
            return (step_shape[0],) + out + (self.filters,)
        return (step_shape[0], self.filters) + out

    def build(self, input_shape: Shape) -> None:
        where = f"ConvLSTM{self.rank}D '{self.name}'"
        if None in self.spatial(input_shape):
            raise ValueError(f"{where} needs static spatial sizes, received step shape {shape_str(input_shape)}. "
                             "Give the Input its full shape, e.g. Input((time, height, width, channels)).")
        channels = input_shape[self.channel_axis]
        if channels is None:
            raise ValueError(f"{where}: the channel axis of its input must be known, received step shape "
                             f"{shape_str(input_shape)}.")
        self.input_dim = int(channels)
        gates = 4 * self.filters
        self.kernel = self.add_weight(self.kernel_size + (self.input_dim, gates), self.kernel_initializer,
                                      name="kernel", regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(self.kernel_size + (self.filters, gates), self.recurrent_initializer,
                                                name="recurrent_kernel", regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = (self.add_weight((gates,), self._bias_init(), name="bias", regularizer=self.bias_regularizer,
                                     constraint=self.bias_constraint) if self.use_bias else None)

    def _bias_init(self) -> Any:
        if not self.unit_forget_bias:
            return self.bias_initializer
        f, base = self.filters, self.bias_initializer

        def init(shape: tuple[int, ...], dtype: str = "float32") -> np.ndarray:
            return np.concatenate([np.asarray(base((f,), dtype)), np.ones((f,), dtype),
                                   np.asarray(base((2 * f,), dtype))]).astype(dtype)

        return init

    # -- the two convolutions
    def input_conv(self, x: Any, kernel: Any, bias: Any = None) -> Any:
        out = conv(x, kernel, self.strides, self.padding, self.dilation_rate, 1, self.data_format)
        if bias is not None:
            shape = [1] * out.ndim
            shape[self.channel_axis] = bias.shape[0]
            out = out + bias.reshape(shape)
        return out

    def recurrent_conv(self, h: Any, kernel: Any) -> Any:
        return conv(h, kernel, (1,) * self.rank, "same", (1,) * self.rank, 1, self.data_format)

    def gates(self, z: Any, c: Any) -> tuple[Any, Any]:
        """``(h, c)`` from the summed gate pre-activations ``z`` (``i, f, c, o`` on the channel axis)."""
        i, f, g, o = jnp.split(z, 4, axis=self.channel_axis)
        c = self.recurrent_activation(f) * c + self.recurrent_activation(i) * self.activation(g)
        h = self.recurrent_activation(o) * self.activation(c)
        return h, c

    def call(self, inputs: Any, states: Any, training: bool = False) -> tuple[Any, list[Any]]:
        """One step without dropout: ``(h, [h, c])``."""
        h, c = states
        z = self.input_conv(inputs, self.kernel.value, None if self.bias is None else self.bias.value)
        h, c = self.gates(z + self.recurrent_conv(h, self.recurrent_kernel.value), c)
        return h, [h, c]

    def get_config(self) -> dict[str, Any]:
        ser = initializers.serialize
        return {**Layer.get_config(self), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "activation": activations.serialize(self.activation),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "use_bias": self.use_bias, "kernel_initializer": ser(self.kernel_initializer),
                "recurrent_initializer": ser(self.recurrent_initializer),
                "bias_initializer": ser(self.bias_initializer), "unit_forget_bias": self.unit_forget_bias,
                "kernel_regularizer": _ser_reg(self.kernel_regularizer),
                "recurrent_regularizer": _ser_reg(self.recurrent_regularizer),
                "bias_regularizer": _ser_reg(self.bias_regularizer),
                "kernel_constraint": _ser_con(self.kernel_constraint),
                "recurrent_constraint": _ser_con(self.recurrent_constraint),
                "bias_constraint": _ser_con(self.bias_constraint), "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout, "seed": self.seed}


_CELL_ARGS = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
              "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
              "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
              "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout")


def _delegate(name: str) -> property:
    return property(lambda self: getattr(self.cell, name), doc=f"The cell's ``{name}``.")


class ConvLSTM(RNN):
    """Shared body of ``ConvLSTM1D/2D/3D``: a ``ConvLSTMCell`` run over axis 1 of the input."""

    rank = 2

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed: int | None = None,
                 return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, unroll: bool = False, zero_output_for_mask: bool = False,
                 **kwargs: Any) -> None:
        cell = ConvLSTMCell(self.rank, filters, kernel_size, strides, padding, data_format, dilation_rate,
                            activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
                            bias_initializer, unit_forget_bias, kernel_regularizer, recurrent_regularizer,
                            bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                            recurrent_dropout, seed, name="conv_lstm_cell", dtype=kwargs.get("dtype"))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         zero_output_for_mask=zero_output_for_mask, activity_regularizer=_reg(activity_regularizer),
                         **kwargs)
        self.input_spec = InputSpec(ndim=self.rank + 3)

    def _rank_hint(self, got: int, want: int) -> str:
        spatial = {1: "steps", 2: "height, width", 3: "depth, height, width"}[self.rank]
        return (f" ConvLSTM{self.rank}D reads sequences of {self.rank}D images, (batch, time, {spatial}, channels); "
                f"for a single image add a time axis of size 1.")

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != self.rank + 3:
            raise ValueError(f"ConvLSTM{self.rank}D '{self.name}' expects inputs of rank {self.rank + 3}, received "
                             f"{shape_str(tuple(input_shape))}.{self._rank_hint(len(input_shape), self.rank + 3)}")
        self.cell._maybe_build((input_shape[0],) + tuple(input_shape[2:]))
        self.input_spec = InputSpec(ndim=self.rank + 3)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if input_shape and isinstance(input_shape[0], (list, tuple)):
            input_shape = input_shape[0]
        batch, steps = input_shape[0], input_shape[1]
        state = self.cell.state_shape((batch,) + tuple(input_shape[2:]))
        out = (batch, steps) + state[1:] if self.return_sequences else state
        return [out, state, state] if self.return_state else out

    def get_initial_state(self, batch_size: int) -> list[Any]:
        """Zero ``h`` and ``c`` of the state shape (the conv output shape of one step)."""
        shape = self.cell.state_shape((batch_size,) + tuple(self._build_input_shape[2:]))
        return [jnp.zeros(shape, self.compute_dtype), jnp.zeros(shape, self.compute_dtype)]

    def _dropout_masks(self, shape: tuple[int, ...], rate: float, training: bool, dtype: Any) -> Any:
        """Four masks (one per gate), the same at every step, as Keras; ``None`` outside training."""
        if not training or not 0.0 < rate < 1.0:
            return None
        scope = CallScope.current()
        key = scope.next_rng() if scope is not None else jax.random.PRNGKey(self.cell.seed or 0)
        keep = lamina_random.bernoulli(key, 1.0 - rate, (4,) + tuple(shape))
        return keep.astype(dtype) / (1.0 - rate)

    def call(self, sequences: Any, initial_state: Any = None, mask: Any = None, training: bool = False) -> Any:
        cell = self.cell
        x = sequences
        batch, steps = x.shape[0], x.shape[1]
        if mask is not None:
            mask = jnp.asarray(mask)
            mask = mask if mask.dtype == jnp.bool_ else jnp.not_equal(mask, 0)
            mask = mask.reshape(mask.shape[:2] + (-1,)).any(axis=-1) if mask.ndim > 2 else mask
        if self.go_backwards:
            x = jnp.flip(x, axis=1)
            mask = None if mask is None else jnp.flip(mask, axis=1)
        kernel, rkernel = cell.kernel.value, cell.recurrent_kernel.value
        bias = None if cell.bias is None else cell.bias.value
        caxis = cell.channel_axis
        # the input convolutions of every step at once: time folded into the batch
        flat = x.reshape((batch * steps,) + x.shape[2:])
        in_masks = self._dropout_masks((batch,) + x.shape[2:], cell.dropout, training, x.dtype)
        if in_masks is None:
            proj = cell.input_conv(flat, kernel, bias)
        else:
            kernels = jnp.split(kernel, 4, axis=-1)
            biases = [None] * 4 if bias is None else jnp.split(bias, 4)
            proj = jnp.concatenate(
                [cell.input_conv((x * m[:, None]).reshape(flat.shape), k, b)
                 for m, k, b in zip(in_masks, kernels, biases)], axis=caxis)
        proj = jnp.swapaxes(proj.reshape((batch, steps) + proj.shape[1:]), 0, 1)  # (time, batch, ...)
        if initial_state is None:
            states = tuple(s.astype(proj.dtype) for s in self.get_initial_state(batch))
        else:
            states = tuple(jnp.asarray(s, proj.dtype) for s in initial_state)
            if len(states) != 2:
                raise ValueError(f"{type(self).__name__} '{self.name}' has 2 states (h, c) but initial_state has "
                                 f"{len(states)} tensors.")
        rec_masks = self._dropout_masks(states[0].shape, cell.recurrent_dropout, training, proj.dtype)
        rkernels = None if rec_masks is None else jnp.split(rkernel, 4, axis=-1)

        def step(p: Any, h: Any, c: Any) -> tuple[Any, Any]:
            if rec_masks is None:
                rec = cell.recurrent_conv(h, rkernel)
            else:
                rec = jnp.concatenate([cell.recurrent_conv(h * m, k) for m, k in zip(rec_masks, rkernels)],
                                      axis=caxis)
            return cell.gates(p + rec, c)

        zero_out = self.zero_output_for_mask
        if mask is None:
            def body(carry: Any, p: Any) -> Any:
                h, c = step(p, *carry)
                return (h, c), h

            with conv_autotune.loop_body():  # the step's convolutions are timed in a loop body
                final, outputs = jax.lax.scan(body, states, proj)
        else:
            def body(carry: Any, item: Any) -> Any:
                (h0, c0), (p, m) = carry, item
                keep = m.reshape((-1,) + (1,) * (h0.ndim - 1))
                h, c = step(p, h0, c0)
                out = jnp.where(keep, h, jnp.zeros_like(h) if zero_out else h0)
                return (jnp.where(keep, h, h0), jnp.where(keep, c, c0)), out

            with conv_autotune.loop_body():
                final, outputs = jax.lax.scan(body, states, (proj, jnp.swapaxes(mask, 0, 1)))
        output = jnp.swapaxes(outputs, 0, 1) if self.return_sequences else outputs[-1]
        return [output] + list(final) if self.return_state else output

    def get_config(self) -> dict[str, Any]:
        base = Layer.get_config(self)
        base.pop("activity_regularizer", None)
        cell = self.cell.get_config()
        head = {"return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask}
        body = {k: cell[k] for k in _CELL_ARGS[:15]}
        return {**base, **head, **body, "activity_regularizer": _ser_reg(self.activity_regularizer),
                **{k: cell[k] for k in _CELL_ARGS[15:]}, "seed": cell["seed"]}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Layer:
        return cls(**{k: v for k, v in config.items() if k != "cell"})


for _name in _CELL_ARGS + ("seed",):  # Keras's read-only views of the cell's arguments (layer.filters, ...)
    setattr(ConvLSTM, _name, _delegate(_name))
del _name


class ConvLSTM1D(ConvLSTM):
    """Convolutional LSTM over sequences of 1D signals ``(batch, time, steps, channels)``."""

    rank = 1


class ConvLSTM2D(ConvLSTM):
    """Convolutional LSTM over sequences of images ``(batch, time, height, width, channels)``."""

    rank = 2


class ConvLSTM3D(ConvLSTM):
    """Convolutional LSTM over sequences of volumes ``(batch, time, depth, height, width, channels)``."""

    rank = 3


@register_explainer(ConvLSTM)
def _explain_conv_lstm(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    cell = layer.cell
    if not cell.built or not isinstance(input_shape, tuple):
        return Details(f"{type(layer).__name__}: a convolutional LSTM (not built yet).")
    rank, f, c = cell.rank, cell.filters, cell.input_dim
    ks = "x".join(str(k) for k in cell.kernel_size)
    k = int(np.prod(cell.kernel_size))
    spatial = tuple(range(2, 2 + rank)) if cell.data_format == "channels_last" else tuple(range(3, 3 + rank))
    caxis = 2 + rank if cell.data_format == "channels_last" else 2
    returns = "the output at every step" if layer.return_sequences else "only the last step's output"
    desc = (f"{type(layer).__name__} reads the {input_shape[1] if input_shape[1] is not None else 'variable'} time "
            f"steps (axis 1) in order. At each step its input, forget, cell and output gates are {ks} convolutions "
            f"of the step's {c} channels (strides {cell.strides}, padding {cell.padding!r}) plus {ks} 'same' "
            f"convolutions of the {f}-filter state h, so it contracts the channels and a {ks} neighbourhood of "
            f"each position, and shares the same kernels over every position and every step; it returns "
            f"{returns}, {output_shape}.")
    per_gate = k * c * f + k * f * f + (f if cell.use_bias else 0)
    bias = f" + {f:,} biases" if cell.use_bias else ""
    arithmetic = (f"4 gates x ({ks} x {c} x {f} input weights + {ks} x {f} x {f} recurrent weights{bias}) = "
                  f"{4 * per_gate:,}")
    return Details(desc, contracted_axes=(caxis,), shared_axes=(1,) + spatial, arithmetic=arithmetic)
