"""Recurrent layers ``SimpleRNN``, ``LSTM`` and ``GRU`` computed with ``jax.lax.scan``.

The input projection ``x @ kernel + bias`` of all steps is one matrix product before the scan; the scan
only carries ``h @ recurrent_kernel``. Weights and gate orders are Keras's (LSTM ``i, f, c, o``; GRU
``z, r, h`` with ``reset_after=True`` and a ``(2, 3 * units)`` bias), so ``set_weights`` takes Keras's
arrays. A ``mask`` (``(batch, time)``, e.g. from ``Embedding(mask_zero=True)``) makes masked steps keep the
previous state, as in Keras.

>>> from lamina import layers
>>> layers.LSTM(8)(layers.Input((5, 3))).shape
(None, 8)
>>> layers.GRU(8, return_sequences=True)(layers.Input((5, 3))).shape
(None, 5, 8)
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina import activations, initializers
from lamina.layers.base import CallScope, InputSpec, Layer, shape_str

Shape = tuple[int | None, ...]

def _reg(identifier: Any) -> Any:
    from lamina import regularizers

    return regularizers.get(identifier)


def _ser_reg(value: Any) -> Any:
    from lamina import regularizers

    return regularizers.serialize(value)


class RNN(Layer):
    """Shared machinery of the recurrent layers: arguments, masking, direction, the scan and the config."""

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
        super().__init__(activity_regularizer=_reg(activity_regularizer), **kwargs)
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

    supports_masking = True

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
    def state_size(self) -> list[int]:
        return [self.units]

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

    def _dropout_mask(self, shape: tuple[int, ...], rate: float, training: bool) -> Any:
        if not training or rate == 0.0:
            return None
        scope = CallScope.current()
        key = scope.next_rng() if scope is not None else jax.random.PRNGKey(self.seed or 0)
        keep = jax.random.bernoulli(key, 1.0 - rate, shape)
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
        projected = jnp.swapaxes(self._input_projection(x), 0, 1)  # (time, batch, gates)
        if initial_state is None:
            states = tuple(jnp.zeros((batch, size), projected.dtype) for size in self.state_size)
        else:
            states = tuple(jnp.asarray(s, projected.dtype) for s in initial_state)
            if len(states) != len(self.state_size):
                raise ValueError(f"{type(self).__name__} '{self.name}' has {len(self.state_size)} states but "
                                 f"initial_state has {len(states)} tensors.")
        recurrent_kernel = self.recurrent_kernel.value
        zero_out = self.zero_output_for_mask

        if mask is None:
            def body(carry: Any, p: Any) -> Any:
                out, new = self._step(p, carry, recurrent_kernel, rec_mask)
                return new, out

            final, outputs = jax.lax.scan(body, states, projected)
        else:
            def body(carry: Any, item: Any) -> Any:
                p, m = item
                keep = m[:, None]
                out, new = self._step(p, carry, recurrent_kernel, rec_mask)
                out = jnp.where(keep, out, jnp.zeros_like(out) if zero_out else carry[0])
                new = tuple(jnp.where(keep, n, c) for n, c in zip(new, carry))
                return new, out

            final, outputs = jax.lax.scan(body, states, (projected, jnp.swapaxes(mask, 0, 1)))
        last = outputs[-1]
        output = jnp.swapaxes(outputs, 0, 1) if self.return_sequences else last
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(output) / max(int(batch), 1))
        if self.return_state:
            return [output] + list(final)
        return output

    # -- config
    def _config_head(self) -> dict[str, Any]:
        base = super().get_config()
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


class SimpleRNN(RNN):
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


class LSTM(RNN):
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

    def get_config(self) -> dict[str, Any]:
        return {**self._config_head(), "recurrent_activation": activations.serialize(self.recurrent_activation),
                **self._config_tail(), "unit_forget_bias": self.unit_forget_bias, **self._config_regs(),
                "seed": self.seed}


class GRU(RNN):
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

