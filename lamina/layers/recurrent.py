"""Recurrent layers ``SimpleRNN``, ``LSTM`` and ``GRU`` computed with ``jax.lax.scan``.

Each step of the scan projects its own inputs (``x_t @ kernel + bias``) and adds ``h @ recurrent_kernel``.
Weights and gate orders are Keras's (LSTM ``i, f, c, o``; GRU ``z, r, h`` with ``reset_after=True`` and a
``(2, 3 * units)`` bias), so ``set_weights`` takes Keras's arrays. A ``mask`` (``(batch, time)``, e.g. from
``Embedding(mask_zero=True)``) makes masked steps keep the previous state, as in Keras.

>>> from lamina import layers
>>> layers.LSTM(8)(layers.Input((5, 3))).shape
(None, 8)
>>> layers.GRU(8, return_sequences=True)(layers.Input((5, 3))).shape
(None, 5, 8)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina import activations, initializers
from lamina import random as lamina_random
from lamina.layers.base import CallScope, InputSpec, Layer, _accepts, shape_str
from lamina.layers.lstm_recurrence import lstm_sequence

Shape = tuple[int | None, ...]

def _reg(identifier: Any) -> Any:
    from lamina import regularizers

    return regularizers.get(identifier)


def _ser_reg(value: Any) -> Any:
    from lamina import regularizers

    return regularizers.serialize(value)


# ------------------------------------------------------------------------------------- RNN(cell)
def _nested(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def _cell_call(cell: Any, inputs: Any, states: Any, training: bool) -> tuple[Any, Any]:
    """``cell.call(inputs, states[, training])`` for lamina cells and any object with ``call``/``state_size``."""
    call = cell.call
    if _accepts(type(cell).call, "training"):
        return call(inputs, states, training=training)
    return call(inputs, states)


def _step_dropout(cell: Any, batch: int, features: int, dtype: Any, training: bool) -> None:
    """Draw each dropout cell's masks once per sequence (the same mask at every step, as Keras)."""
    if isinstance(cell, StackedRNNCells):
        for c in cell.cells:
            _step_dropout(c, batch, features, dtype, training)
            features = _output_size(c)
    elif isinstance(cell, _DropoutCell):
        cell._prepare_masks(batch, features, dtype, training)


def _clear_dropout(cell: Any) -> None:
    for c in (cell.cells if isinstance(cell, StackedRNNCells) else [cell]):
        if isinstance(c, _DropoutCell):
            c._dp_mask = c._rec_dp_mask = None


def _output_size(cell: Any) -> int:
    size = getattr(cell, "output_size", None)
    if size is None:
        size = cell.state_size
        size = size[0] if _nested(size) else size
    return int(size)


class RNN(Layer):
    """Run a ``cell`` over the time axis: ``RNN(cell)`` on ``(batch, timesteps, features)``.

    A cell is a layer with ``state_size`` (an int or a list, one per state) and ``call(inputs, states)``
    returning ``(output, new_states)``; a list of cells is stacked (``StackedRNNCells``). Masked steps keep
    the previous output and states; the loop is one ``jax.lax.scan``.

    >>> from lamina import layers
    >>> layers.RNN(layers.LSTMCell(4), return_sequences=True)(layers.Input((5, 3))).shape
    (None, 5, 4)
    >>> [t.shape for t in layers.RNN([layers.GRUCell(4), layers.SimpleRNNCell(2)], return_state=True)(
    ...     layers.Input((5, 3)))]
    [(None, 2), (None, 4), (None, 2)]
    """

    supports_masking = True

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if "call" not in dir(cell):
            raise ValueError(f"Argument `cell` should have a `call` method. Received: cell={cell}")
        if "state_size" not in dir(cell):
            raise ValueError("The RNN cell should have a `state_size` attribute (single integer or list of "
                             f"integers, one integer per RNN state). Received: cell={cell}")
        super().__init__(**kwargs)
        if stateful:
            raise ValueError(f"RNN '{self.name}': stateful=True is not supported by lamina; pass the state "
                             "explicitly with return_state=True and initial_state=... instead.")
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.state_size  # noqa: B018 - validates the cell's state_size now, as Keras

    # -- calling: Keras's ``(sequences, initial_state=None, mask=None, training=False)``
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args and "inputs" in kwargs:
            args = (kwargs.pop("inputs"),)
        if len(args) > 1:
            kwargs["initial_state"], args = args[1], args[:1]
        state = kwargs.get("initial_state")
        if state is not None and not isinstance(state, (list, tuple)):
            kwargs["initial_state"] = [state]
        return super().__call__(*args, **kwargs)

    @property
    def state_size(self) -> list[Any]:
        size = getattr(self.cell, "state_size", None)
        if size is None or not isinstance(size, (list, tuple, int)):
            raise ValueError("state_size must be an integer, or a list/tuple of integers (one for each state "
                             "tensor).")
        return [size] if isinstance(size, int) else list(size)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The time mask for ``return_sequences`` outputs (none for the states), as Keras."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        return [out] + [None] * len(self.state_size) if self.return_state else out

    def _rank_hint(self, got: int, want: int) -> str:
        return (f" {type(self).__name__} needs inputs of shape (batch, timesteps, features); for one sequence of "
                "features give input_shape=(timesteps, features).")

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) < 3:
            raise ValueError(f"RNN '{self.name}' needs inputs of shape (batch, timesteps, features), received "
                             f"{shape_str(tuple(input_shape))}.")
        step = (input_shape[0],) + tuple(input_shape[2:])
        if isinstance(self.cell, Layer):
            self.cell._maybe_build(step)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if input_shape and isinstance(input_shape[0], (list, tuple)):
            input_shape = input_shape[0]
        batch = input_shape[0]
        size = _output_size(self.cell)
        out = (batch, input_shape[1], size) if self.return_sequences else (batch, size)
        if not self.return_state:
            return out
        states = [[(batch, s) for s in d] if _nested(d) else (batch, d) for d in self.state_size]
        return [out] + states

    def get_initial_state(self, batch_size: int) -> list[Any]:
        """Zeros for every state (or the cell's own ``get_initial_state``)."""
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            state = fn(batch_size=batch_size)
            return list(state) if _nested(state) else [state]
        dtype = getattr(self.cell, "dtype", None) or "float32"
        return [[jnp.zeros((batch_size, s), dtype) for s in d] if _nested(d) else jnp.zeros((batch_size, d), dtype)
                for d in self.state_size]

    def call(self, sequences: Any, initial_state: Any = None, mask: Any = None, training: bool = False) -> Any:
        x = sequences
        batch = x.shape[0]
        states = self.get_initial_state(batch) if initial_state is None else list(initial_state)
        states = jax.tree_util.tree_map(lambda s: jnp.asarray(s, x.dtype), states)
        structure = jax.tree_util.tree_structure(states)
        if mask is not None:
            mask = jnp.asarray(mask)
            mask = mask if mask.dtype == jnp.bool_ else jnp.not_equal(mask, 0)
        if self.go_backwards:
            x = jnp.flip(x, axis=1)
            mask = None if mask is None else jnp.flip(mask, axis=1)
        cell = self.cell
        _step_dropout(cell, batch, x.shape[-1], x.dtype, training)
        zero_out = self.zero_output_for_mask

        def step(x_t: Any, carry: Any) -> tuple[Any, Any]:
            out, new = _cell_call(cell, x_t, carry, training)
            new = new if _nested(new) else [new]
            return out, jax.tree_util.tree_unflatten(structure, jax.tree_util.tree_leaves(new))

        xs = jnp.swapaxes(x, 0, 1)
        try:
            if mask is None:
                def body(carry: Any, x_t: Any) -> Any:
                    out, new = step(x_t, carry)
                    return new, out

                final, outputs = jax.lax.scan(body, states, xs)
            else:
                prev0 = jnp.zeros((batch, _output_size(cell)), x.dtype)

                def body(carry: Any, item: Any) -> Any:
                    (state, prev), (x_t, m) = carry, item
                    out, new = step(x_t, state)
                    keep = m[:, None]
                    out = jnp.where(keep, out, jnp.zeros_like(out) if zero_out else prev)
                    new = jax.tree_util.tree_map(lambda n, c: jnp.where(keep, n, c), new, state)
                    return (new, out), out

                (final, _), outputs = jax.lax.scan(body, (states, prev0), (xs, jnp.swapaxes(mask, 0, 1)))
        finally:
            _clear_dropout(cell)
        output = jnp.swapaxes(outputs, 0, 1) if self.return_sequences else outputs[-1]
        if self.return_state:
            return [output] + list(final)
        return output

    def get_config(self) -> dict[str, Any]:
        from lamina.layers import serialize

        return {**super().get_config(), "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards, "stateful": self.stateful,
                "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask,
                "cell": serialize(self.cell)}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Layer:
        from lamina.layers import deserialize

        config = dict(config)
        return cls(deserialize(config.pop("cell"), custom_objects), **config)

    @classmethod
    def _from_serialized(cls, serialized: dict[str, Any], custom_objects: dict[str, Any] | None) -> Layer:
        """``deserialize`` hook: the cell may be a custom class found in ``custom_objects``."""
        if cls is not RNN:
            layer = cls.from_config(serialized.get("config", {}))
        else:
            layer = cls.from_config(serialized.get("config", {}), custom_objects)
        build = serialized.get("build_config") or {}
        if build.get("input_shape") is not None and not layer.built:
            layer._maybe_build(tuple(build["input_shape"]))
        return layer


# ------------------------------------------------------------------------------------------- cells
class _DropoutCell(Layer):
    """Arguments, weights and dropout masks shared by ``SimpleRNNCell``, ``LSTMCell`` and ``GRUCell``."""

    _gates = 1
    _dp_mask: Any = None
    _rec_dp_mask: Any = None

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError("Received an invalid value for argument `units`, expected a positive integer, got "
                             f"{units}.")
        self.units = units
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = _reg(kernel_regularizer)
        self.recurrent_regularizer = _reg(recurrent_regularizer)
        self.bias_regularizer = _reg(bias_regularizer)
        self.kernel_constraint, self.recurrent_constraint = kernel_constraint, recurrent_constraint
        self.bias_constraint = bias_constraint
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed

    @property
    def state_size(self) -> Any:
        return self.units

    @property
    def output_size(self) -> int:
        return self.units

    def _bias_shape(self) -> tuple[int, ...]:
        return (self._gates * self.units,)

    def _bias_init(self) -> Any:
        return self.bias_initializer

    def build(self, input_shape: Shape) -> None:
        gates = self._gates * self.units
        self.kernel = self.add_weight((input_shape[-1], gates), self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight((self.units, gates), self.recurrent_initializer,
                                                name="recurrent_kernel", regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = (self.add_weight(self._bias_shape(), self._bias_init(), name="bias",
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)

    def _mask(self, shape: tuple[int, ...], rate: float, dtype: Any) -> Any:
        scope = CallScope.current()
        key = scope.next_rng() if scope is not None else jax.random.PRNGKey(self.seed or 0)
        return lamina_random.bernoulli(key, 1.0 - rate, shape).astype(dtype) / (1.0 - rate)

    def _prepare_masks(self, batch: int, features: int, dtype: Any, training: bool) -> None:
        self._dp_mask = (self._mask((batch, features), self.dropout, dtype)
                         if training and 0.0 < self.dropout < 1.0 else None)
        self._rec_dp_mask = (self._mask((batch, self.units), self.recurrent_dropout, dtype)
                             if training and 0.0 < self.recurrent_dropout < 1.0 else None)

    def _drop(self, x: Any, h: Any, training: bool) -> tuple[Any, Any]:
        """Inputs and previous state with this sequence's dropout masks (fresh ones for a lone step)."""
        if training and 0.0 < self.dropout < 1.0:
            mask = self._dp_mask if self._dp_mask is not None else self._mask(x.shape, self.dropout, x.dtype)
            x = x * mask
        if training and 0.0 < self.recurrent_dropout < 1.0:
            mask = (self._rec_dp_mask if self._rec_dp_mask is not None
                    else self._mask(h.shape, self.recurrent_dropout, h.dtype))
            h = h * mask
        return x, h

    def _config(self, *extra: str) -> dict[str, Any]:
        ser = initializers.serialize
        values = {"units": self.units, "activation": activations.serialize(self.activation),
                  "recurrent_activation": activations.serialize(self.recurrent_activation),
                  "use_bias": self.use_bias, "unit_forget_bias": getattr(self, "unit_forget_bias", None),
                  "kernel_initializer": ser(self.kernel_initializer),
                  "recurrent_initializer": ser(self.recurrent_initializer),
                  "bias_initializer": ser(self.bias_initializer),
                  "kernel_regularizer": _ser_reg(self.kernel_regularizer),
                  "recurrent_regularizer": _ser_reg(self.recurrent_regularizer),
                  "bias_regularizer": _ser_reg(self.bias_regularizer), "kernel_constraint": None,
                  "recurrent_constraint": None, "bias_constraint": None, "dropout": self.dropout,
                  "recurrent_dropout": self.recurrent_dropout, "reset_after": getattr(self, "reset_after", None),
                  "seed": self.seed}
        return {**super().get_config(), **{k: values[k] for k in extra}}


class SimpleRNNCell(_DropoutCell):
    """One step of ``SimpleRNN``: ``h = activation(x @ kernel + bias + h_prev @ recurrent_kernel)``.

    >>> import numpy as np
    >>> cell = SimpleRNNCell(4)
    >>> out, state = cell(np.ones((2, 3), "float32"), [np.zeros((2, 4), "float32")])
    >>> out.shape, len(state)
    ((2, 4), 1)
    """

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(units, activation, "sigmoid", use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         kernel_constraint, recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed,
                         **kwargs)

    def call(self, sequence: Any, states: Any, training: bool = False) -> tuple[Any, Any]:
        prev = states[0] if _nested(states) else states
        x, prev = self._drop(sequence, prev, training)
        h = jnp.matmul(x, self.kernel.value)
        if self.bias is not None:
            h = h + self.bias.value
        out = self.activation(h + jnp.matmul(prev, self.recurrent_kernel.value))
        return out, ([out] if _nested(states) else out)

    def get_config(self) -> dict[str, Any]:
        return self._config("units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer",
                            "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                            "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
                            "recurrent_dropout", "seed")


class LSTMCell(_DropoutCell):
    """One step of ``LSTM``; states ``[h, c]``, gates ``i, f, c, o`` in Keras's kernel order."""

    _gates = 4

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                         recurrent_dropout, seed, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self) -> Any:
        return [self.units, self.units]

    def _bias_init(self) -> Any:
        return LSTM._bias_initializer(self)  # the same forget-gate-ones rule as LSTM

    def call(self, inputs: Any, states: Any, training: bool = False) -> tuple[Any, Any]:
        h, c = states[0], states[1]
        x, h = self._drop(inputs, h, training)
        z = jnp.matmul(x, self.kernel.value) + jnp.matmul(h, self.recurrent_kernel.value)
        if self.bias is not None:
            z = z + self.bias.value
        i, f, g, o = jnp.split(z, 4, axis=-1)
        c = self.recurrent_activation(f) * c + self.recurrent_activation(i) * self.activation(g)
        h = self.recurrent_activation(o) * self.activation(c)
        return h, [h, c]

    def get_config(self) -> dict[str, Any]:
        return self._config("units", "activation", "recurrent_activation", "use_bias", "unit_forget_bias",
                            "kernel_initializer", "recurrent_initializer", "bias_initializer", "kernel_regularizer",
                            "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint",
                            "bias_constraint", "dropout", "recurrent_dropout", "seed")


class GRUCell(_DropoutCell):
    """One step of ``GRU`` (gates ``z, r, h``; ``reset_after=True`` uses a ``(2, 3 * units)`` bias)."""

    _gates = 3

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, reset_after: bool = True,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                         recurrent_dropout, seed, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def call(self, inputs: Any, states: Any, training: bool = False) -> tuple[Any, Any]:
        h_prev = states[0] if _nested(states) else states
        x, hr = self._drop(inputs, h_prev, training)
        u = self.units
        bias = self.bias.value if self.bias is not None else None
        in_bias = None if bias is None else (bias[0] if self.reset_after else bias)
        mx = jnp.matmul(x, self.kernel.value)
        if in_bias is not None:
            mx = mx + in_bias
        xz, xr, xh = mx[:, :u], mx[:, u:2 * u], mx[:, 2 * u:]
        rk = self.recurrent_kernel.value
        if self.reset_after:
            inner = jnp.matmul(hr, rk)
            if bias is not None:
                inner = inner + bias[1]
            z = self.recurrent_activation(xz + inner[:, :u])
            r = self.recurrent_activation(xr + inner[:, u:2 * u])
            hh = self.activation(xh + r * inner[:, 2 * u:])
        else:
            inner = jnp.matmul(hr, rk[:, :2 * u])
            z = self.recurrent_activation(xz + inner[:, :u])
            r = self.recurrent_activation(xr + inner[:, u:])
            hh = self.activation(xh + jnp.matmul(r * hr, rk[:, 2 * u:]))
        h = z * h_prev + (1.0 - z) * hh
        return h, ([h] if _nested(states) else h)

    def get_config(self) -> dict[str, Any]:
        return self._config("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
                            "recurrent_initializer", "bias_initializer", "kernel_regularizer",
                            "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint",
                            "bias_constraint", "dropout", "recurrent_dropout", "reset_after", "seed")


class StackedRNNCells(Layer):
    """Several cells run as one: each step feeds the output of cell ``i`` to cell ``i + 1``."""

    def __init__(self, cells: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for cell in cells:
            if "call" not in dir(cell):
                raise ValueError(f"All cells must have a `call` method. Received cell without a `call` method: "
                                 f"{cell}")
            if "state_size" not in dir(cell):
                raise ValueError(f"All cells must have a `state_size` attribute. Received cell without a "
                                 f"`state_size`: {cell}")
        self.cells = list(cells)

    @property
    def state_size(self) -> list[Any]:
        return [c.state_size for c in self.cells]

    @property
    def output_size(self) -> int:
        return _output_size(self.cells[-1])

    def get_initial_state(self, batch_size: int | None = None) -> list[Any]:
        out = []
        for cell in self.cells:
            fn = getattr(cell, "get_initial_state", None)
            if fn is not None:
                out.append(fn(batch_size=batch_size))
            elif isinstance(cell.state_size, int):
                out.append(jnp.zeros((batch_size, cell.state_size), self.dtype))
            else:
                out.append([jnp.zeros((batch_size, d), self.dtype) for d in cell.state_size])
        return out

    def build(self, input_shape: Shape) -> None:
        for cell in self.cells:
            if isinstance(cell, Layer):
                cell._maybe_build(tuple(input_shape))
            input_shape = (input_shape[0], _output_size(cell))

    def call(self, inputs: Any, states: Any, training: bool = False) -> tuple[Any, Any]:
        new_states = []
        for cell, state in zip(self.cells, states):
            was_list = _nested(state)
            state = list(state) if was_list else [state]
            inputs, state = _cell_call(cell, inputs, state, training)
            state = state if _nested(state) else [state]
            new_states.append(state[0] if len(state) == 1 and not was_list else state)
        return inputs, new_states

    def get_config(self) -> dict[str, Any]:
        from lamina.layers import serialize

        return {**super().get_config(), "cells": [serialize(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Layer:
        from lamina.layers import deserialize

        config = dict(config)
        return cls([deserialize(c, custom_objects) for c in config.pop("cells")], **config)

    @classmethod
    def _from_serialized(cls, serialized: dict[str, Any], custom_objects: dict[str, Any] | None) -> Layer:
        layer = cls.from_config(serialized.get("config", {}), custom_objects)
        build = serialized.get("build_config") or {}
        if build.get("input_shape") is not None and not layer.built:
            layer._maybe_build(tuple(build["input_shape"]))
        return layer


class _FusedRNN(RNN):
    """Shared machinery of ``SimpleRNN``/``LSTM``/``GRU``: their weights live on the layer (Keras keeps them in a
    ``cell``; the file layout adds that level), and one ``lax.scan`` runs the steps."""

    _gates = 1

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        Layer.__init__(self, activity_regularizer=_reg(activity_regularizer), **kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"{type(self).__name__} '{self.name}': units must be a positive integer, received "
                             f"{units!r}.")
        if stateful:
            raise ValueError(f"{type(self).__name__} '{self.name}': stateful=True is not supported by lamina; pass "
                             "the state explicitly with return_state=True and initial_state=... instead.")
        self.units = units
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = _reg(kernel_regularizer)
        self.recurrent_regularizer = _reg(recurrent_regularizer)
        self.bias_regularizer = _reg(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.recurrent_constraint = recurrent_constraint
        self.bias_constraint = bias_constraint
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.input_spec = InputSpec(ndim=3)

    @property
    def state_size(self) -> list[int]:
        return [self.units]

    def build(self, input_shape: Shape) -> None:
        features = input_shape[-1]
        if features is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': the last axis of its input must be known, "
                             f"received {shape_str(tuple(input_shape))}.")
        gates = self._gates * self.units
        self.kernel = self.add_weight((features, gates), self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight((self.units, gates), self.recurrent_initializer,
                                                name="recurrent_kernel", regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = (self.add_weight(self._bias_shape(), self._bias_initializer(), name="bias",
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)
        self.input_spec = InputSpec(ndim=3, axes={-1: features})

    def _bias_shape(self) -> tuple[int, ...]:
        return (self._gates * self.units,)

    def _bias_initializer(self) -> Any:
        return self.bias_initializer

    def compute_output_shape(self, input_shape: Any) -> Any:
        if input_shape and isinstance(input_shape[0], (list, tuple)):
            input_shape = input_shape[0]
        batch = input_shape[0]
        out = (batch, input_shape[1], self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [out] + [(batch, size) for size in self.state_size]
        return out

    # -- the computation
    def _input_projection(self, x: Any) -> Any:
        out = jnp.matmul(x, self.kernel.value)
        if self.bias is not None:
            out = out + self._input_bias()
        return out

    def _input_bias(self) -> Any:
        return self.bias.value

    def _step(self, projected: Any, states: tuple[Any, ...], recurrent_kernel: Any, rec_mask: Any
              ) -> tuple[Any, tuple[Any, ...]]:
        raise NotImplementedError

    def _whole_sequence(self, xs: Any, states: tuple[Any, ...], rec_mask: Any, keep: Any
                        ) -> tuple[Any, Any] | None:
        """``(outputs, final_states)`` for a time-major sequence (``keep``: its padding mask, time-major, or
        ``None``) where the layer has a recurrence with a hand-written gradient (LSTM); ``None`` runs the
        generic ``lax.scan`` of :meth:`_step`."""
        return None

    def _dropout_mask(self, shape: tuple[int, ...], rate: float, training: bool) -> Any:
        if not training or rate == 0.0:
            return None
        scope = CallScope.current()
        key = scope.next_rng() if scope is not None else jax.random.PRNGKey(self.seed or 0)
        keep = lamina_random.bernoulli(key, 1.0 - rate, shape)
        return keep.astype(jnp.float32) / (1.0 - rate)

    def call(self, inputs: Any, mask: Any = None, training: bool = False, initial_state: Any = None) -> Any:
        x = inputs
        batch = x.shape[0]
        in_mask = self._dropout_mask((batch, x.shape[-1]), self.dropout, training)
        if in_mask is not None:
            x = x * in_mask[:, None, :]
        rec_mask = self._dropout_mask((batch, self.units), self.recurrent_dropout, training)
        if mask is not None:
            mask = jnp.asarray(mask)
            mask = mask if mask.dtype == jnp.bool_ else jnp.not_equal(mask, 0)
            if mask.ndim == 3:
                mask = jnp.any(mask, axis=-1)
        if self.go_backwards:
            x = jnp.flip(x, axis=1)
            mask = None if mask is None else jnp.flip(mask, axis=1)
        # Each step projects its own inputs (x_t @ kernel + bias) inside the scan: one train step of the
        # Embedding + LSTM(64) text model (batch 64, 100 steps, XLA CPU) took 39-41 ms so against 64-83 ms
        # with all steps projected in one matmul before the scan (whose gradient is a (time, batch, gates)
        # array the scan must then write out step by step).
        xs = jnp.swapaxes(x, 0, 1)  # (time, batch, features)
        dtype = jnp.result_type(x.dtype, self.kernel.value.dtype)
        if initial_state is None:
            states = tuple(jnp.zeros((batch, size), dtype) for size in self.state_size)
        else:
            states = tuple(jnp.asarray(s, dtype) for s in initial_state)
            if len(states) != len(self.state_size):
                raise ValueError(f"{type(self).__name__} '{self.name}' has {len(self.state_size)} states but "
                                 f"initial_state has {len(states)} tensors.")
        recurrent_kernel = self.recurrent_kernel.value
        zero_out = self.zero_output_for_mask

        keep = None if mask is None else jnp.swapaxes(mask, 0, 1)[:, :, None]
        whole = self._whole_sequence(xs, states, rec_mask, keep)
        if whole is not None:
            outputs, final = whole
        elif mask is None:
            def body(carry: Any, x_t: Any) -> Any:
                out, new = self._step(self._input_projection(x_t), carry, recurrent_kernel, rec_mask)
                return new, out

            final, outputs = jax.lax.scan(body, states, xs)
        else:
            def body(carry: Any, item: Any) -> Any:
                x_t, m = item
                keep = m[:, None]
                out, new = self._step(self._input_projection(x_t), carry, recurrent_kernel, rec_mask)
                out = jnp.where(keep, out, jnp.zeros_like(out) if zero_out else carry[0])
                new = tuple(jnp.where(keep, n, c) for n, c in zip(new, carry))
                return new, out

            final, outputs = jax.lax.scan(body, states, (xs, jnp.swapaxes(mask, 0, 1)))
        last = outputs[-1]
        output = jnp.swapaxes(outputs, 0, 1) if self.return_sequences else last
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(output) / max(int(batch), 1))
        if self.return_state:
            return [output] + list(final)
        return output

    # -- config
    def _config_head(self) -> dict[str, Any]:
        base = Layer.get_config(self)
        base.pop("activity_regularizer", None)
        return {**base, "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask, "units": self.units,
                "activation": activations.serialize(self.activation)}

    def _config_tail(self) -> dict[str, Any]:
        ser = initializers.serialize
        return {"use_bias": self.use_bias, "kernel_initializer": ser(self.kernel_initializer),
                "recurrent_initializer": ser(self.recurrent_initializer),
                "bias_initializer": ser(self.bias_initializer)}

    def _config_regs(self) -> dict[str, Any]:
        return {"kernel_regularizer": _ser_reg(self.kernel_regularizer),
                "recurrent_regularizer": _ser_reg(self.recurrent_regularizer),
                "bias_regularizer": _ser_reg(self.bias_regularizer),
                "activity_regularizer": _ser_reg(self.activity_regularizer), "kernel_constraint": None,
                "recurrent_constraint": None, "bias_constraint": None, "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**{k: v for k, v in config.items() if k not in ("use_cudnn", "time_major", "cell")})


class SimpleRNN(_FusedRNN):
    """Fully connected recurrence ``h = activation(x @ kernel + h @ recurrent_kernel + bias)``."""

    _gates = 1

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(units, activation, "sigmoid", use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                         recurrent_dropout, seed, return_sequences, return_state, go_backwards, stateful, unroll,
                         **kwargs)

    def _step(self, p, states, recurrent_kernel, rec_mask):
        h = states[0] if rec_mask is None else states[0] * rec_mask
        out = self.activation(p + jnp.matmul(h, recurrent_kernel))
        return out, (out,)

    def get_config(self) -> dict[str, Any]:
        return {**self._config_head(), **self._config_tail(), **self._config_regs()}


class LSTM(_FusedRNN):
    """Long short-term memory; states ``[h, c]``; ``unit_forget_bias`` starts the forget-gate bias at 1."""

    _gates = 4

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, use_cudnn: Any = "auto", **kwargs: Any) -> None:
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, activity_regularizer, kernel_constraint, recurrent_constraint,
                         bias_constraint, dropout, recurrent_dropout, seed, return_sequences, return_state,
                         go_backwards, stateful, unroll, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self) -> list[int]:
        return [self.units, self.units]

    def _bias_initializer(self) -> Any:
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, base = self.units, self.bias_initializer

        def init(shape: tuple[int, ...], dtype: str = "float32") -> np.ndarray:
            return np.concatenate([base((units,), dtype), np.ones((units,), dtype),
                                   base((units * 2,), dtype)]).astype(dtype)

        return init

    def _step(self, p, states, recurrent_kernel, rec_mask):
        h, c = states
        if rec_mask is not None:
            h = h * rec_mask
        z = p + jnp.matmul(h, recurrent_kernel)
        i, f, g, o = jnp.split(z, 4, axis=-1)
        c = self.recurrent_activation(f) * c + self.recurrent_activation(i) * self.activation(g)
        h = self.recurrent_activation(o) * self.activation(c)
        return h, (h, c)

    def _whole_sequence(self, xs, states, rec_mask, keep):
        if self.activation is not activations.tanh or self.recurrent_activation is not activations.sigmoid:
            return None
        bias = None if self.bias is None else self.bias.value
        hs, h, c = lstm_sequence(self.kernel.value, self.recurrent_kernel.value, bias, xs, *states, rec_mask, keep,
                                 self.zero_output_for_mask)
        return hs, (h, c)

    def get_config(self) -> dict[str, Any]:
        return {**self._config_head(), "recurrent_activation": activations.serialize(self.recurrent_activation),
                **self._config_tail(), "unit_forget_bias": self.unit_forget_bias, **self._config_regs(),
                "seed": self.seed}


class GRU(_FusedRNN):
    """Gated recurrent unit (gates ``z, r, h``); ``reset_after=True`` (the Keras default) applies the reset
    gate after the recurrent product and uses a ``(2, 3 * units)`` bias."""

    _gates = 3

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False, reset_after: bool = True,
                 use_cudnn: Any = "auto", **kwargs: Any) -> None:
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, activity_regularizer, kernel_constraint, recurrent_constraint,
                         bias_constraint, dropout, recurrent_dropout, seed, return_sequences, return_state,
                         go_backwards, stateful, unroll, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self) -> Any:
        return self.bias.value[0] if self.reset_after else self.bias.value

    def _step(self, p, states, recurrent_kernel, rec_mask):
        h = states[0]
        hr = h if rec_mask is None else h * rec_mask
        u = self.units
        xz, xr, xh = p[:, :u], p[:, u:2 * u], p[:, 2 * u:]
        if self.reset_after:
            inner = jnp.matmul(hr, recurrent_kernel)
            if self.bias is not None:
                inner = inner + self.bias.value[1]
            rz, rr, rh = inner[:, :u], inner[:, u:2 * u], inner[:, 2 * u:]
            z = self.recurrent_activation(xz + rz)
            r = self.recurrent_activation(xr + rr)
            hh = self.activation(xh + r * rh)
        else:
            inner = jnp.matmul(hr, recurrent_kernel[:, :2 * u])
            z = self.recurrent_activation(xz + inner[:, :u])
            r = self.recurrent_activation(xr + inner[:, u:])
            hh = self.activation(xh + jnp.matmul(r * hr, recurrent_kernel[:, 2 * u:]))
        out = z * h + (1.0 - z) * hh
        return out, (out,)

    def get_config(self) -> dict[str, Any]:
        return {**self._config_head(), "recurrent_activation": activations.serialize(self.recurrent_activation),
                **self._config_tail(), **self._config_regs(), "reset_after": self.reset_after, "seed": self.seed}

