"""``EinsumDense``: a dense layer written as one einsum ``equation`` between the input and its kernel.

Keras's core family; kept in its own file because the equation analysis (which kernel and bias shapes an
equation implies) is as long as the rest of ``core.py``. ``"abc,cde->abde"`` maps ``(batch, T, 16)`` to
``(batch, T, heads, dim)`` with a ``(16, heads, dim)`` kernel: the projection of ``MultiHeadAttention``.

>>> from lamina import layers
>>> layer = layers.EinsumDense("abc,cd->abd", output_shape=(None, 64), bias_axes="d")
>>> layer(layers.Input((32, 128))).shape  # a None in output_shape stays None, as in Keras 3.15
(None, None, 64)
>>> [w.shape for w in layer.weights]
[(128, 64), (64,)]
"""

from __future__ import annotations

import math
import re
from typing import Any

import jax.numpy as jnp
import numpy as np

from lamina import activations, initializers
from lamina.layers.base import InputSpec, Layer

Shape = tuple[int | None, ...]


def _reg(identifier: Any) -> Any:
    from lamina import regularizers

    return regularizers.get(identifier) if identifier is not None else None


def _ser_reg(value: Any) -> Any:
    from lamina import regularizers

    return regularizers.serialize(value)


def analyze_equation(equation: str, bias_axes: str | None, input_shape: Shape, output_shape: Any
                     ) -> tuple[list[Any], list[Any] | None, list[Any], list[int], list[int]]:
    """Kernel shape, bias shape, full output shape, kernel input axes and output axes (Keras's rules)."""
    dotted = re.sub(r"\.\.\.", "0", equation)
    forms = [("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", False),
             ("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", True),
             ("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", False)]
    found = [(re.match(pattern, dotted), left) for pattern, left in forms]
    match, left_elided = next(((m, left) for m, left in found if m), (None, False))
    if match is None:
        raise ValueError(f"Invalid einsum equation '{equation}'. Equations must be in the form "
                         "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")
    input_spec, weight_spec, output_spec = match.group(1), match.group(2), match.group(3)
    elided = len(input_shape) - len(input_spec)
    out = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    out.insert(0, input_shape[0])
    if elided > 0 and left_elided:
        for i in range(1, elided):
            out.insert(1, input_shape[i])
    elif elided > 0:
        out.extend(input_shape[len(input_shape) - elided:])
    if left_elided:
        in_map = {d: (i + elided) - len(input_shape) for i, d in enumerate(input_spec)}
        out_map = {d: i + elided for i, d in enumerate(output_spec)}
    else:
        in_map = {d: i for i, d in enumerate(input_spec)}
        out_map = {d: i for i, d in enumerate(output_spec)}
    for d in input_spec:
        if d in out_map and out[out_map[d]] is not None and out[out_map[d]] != input_shape[in_map[d]]:
            raise ValueError(f"Input shape and output shape do not match at shared dimension '{d}'. Input shape "
                             f"is {input_shape[in_map[d]]}, and output shape is {out[out_map[d]]}.")
    for d in output_spec:
        if d not in input_spec and d not in weight_spec:
            raise ValueError(f"Dimension '{d}' was specified in the output '{output_spec}' but has no "
                             f"corresponding dim in the input spec '{input_spec}' or weight spec '{weight_spec}'")
    kernel, in_axes, out_axes = [], [], []
    for i, d in enumerate(weight_spec):
        if d in out_map:
            kernel.append(out[out_map[d]])
            out_axes.append(i)
        elif d in in_map:
            kernel.append(input_shape[in_map[d]])
            in_axes.append(i)
        else:
            raise ValueError(f"Weight dimension '{d}' did not have a match in either the input spec "
                             f"'{input_spec}' or the output spec '{output_spec}'. For this layer, the weight must "
                             "be fully specified.")
    bias = None
    if bias_axes is not None:
        offset = elided if left_elided else 0
        sizes = {c: out[i + offset] for i, c in enumerate(output_spec)}
        for c in bias_axes:
            if c not in output_spec:
                raise ValueError(f"Bias dimension '{c}' was requested, but is not part of the output spec "
                                 f"'{output_spec}'")
        first = min(output_spec.find(c) for c in bias_axes)
        bias = [sizes[c] if c in bias_axes else 1 for c in output_spec[first:]]
        if not left_elided:
            bias.extend([1] * max(elided, 0))
    return kernel, bias, out, in_axes, out_axes


def _einsum_initializer(init: Any, in_axes: list[int], out_axes: list[int]) -> Any:
    """A variance-scaling initializer whose fans are the kernel's input and output axes (as Keras 3.15)."""
    if not isinstance(init, initializers.VarianceScaling):
        return init

    def draw(shape: tuple[int, ...], dtype: str = "float32") -> np.ndarray:
        fan_in = math.prod(shape[i] for i in in_axes)
        fan_out = math.prod(shape[i] for i in out_axes)
        return np.reshape(init((fan_in, fan_out), dtype), shape)  # i.i.d. draws: any axis order

    return draw


def _add_bias(out: Any, bias: Any) -> Any:
    """``out + bias``; a bias that spans ``out``'s trailing axes is added to ``out`` seen as a matrix, so that
    its gradient is a plain column sum (XLA's CPU backend turned the sum over several leading axes into a
    windowed reduction: 1.0 ms for a ``(64, 100, 2, 64)`` projection's bias, a tenth of that as a matrix)."""
    size = bias.size
    if 1 < bias.ndim <= out.ndim and tuple(out.shape[out.ndim - bias.ndim:]) == tuple(bias.shape) and size:
        return (out.reshape(-1, size) + bias.reshape(size)).reshape(out.shape)
    return out + bias


class EinsumDense(Layer):
    """``activation(einsum(equation, inputs, kernel) + bias)``; ``output_shape`` leaves out the batch axis and
    may hold ``None`` for axes copied from the input; ``bias_axes`` names the output letters with a bias."""

    def __init__(self, equation: str, output_shape: Any, activation: Any = None, bias_axes: str | None = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, lora_rank: int | None = None, lora_alpha: float | None = None,
                 gptq_unpacked_column_size: Any = None, quantization_config: Any = None,
                 activity_regularizer: Any = None, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=_reg(activity_regularizer), **kwargs)
        if lora_rank:
            raise ValueError(f"EinsumDense '{self.name}': lora_rank is not supported by lamina.")
        self.equation = str(equation)
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = _reg(kernel_regularizer)
        self.bias_regularizer = _reg(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint

    def build(self, input_shape: Shape) -> None:
        kernel, bias, _, in_axes, out_axes = analyze_equation(self.equation, self.bias_axes, tuple(input_shape),
                                                              self.partial_output_shape)
        if any(d is None for d in kernel):
            raise ValueError(f"EinsumDense '{self.name}': the kernel shape {tuple(kernel)} of equation "
                             f"'{self.equation}' on input shape {tuple(input_shape)} has unknown sizes; the "
                             "contracted input axes must be known.")
        self.input_spec = InputSpec(ndim=len(input_shape))
        self.kernel = self.add_weight(tuple(kernel), _einsum_initializer(self.kernel_initializer, in_axes, out_axes),
                                      name="kernel", regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = (self.add_weight(tuple(bias), self.bias_initializer, name="bias",
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if bias is not None else None)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(analyze_equation(self.equation, self.bias_axes, tuple(input_shape),
                                      self.partial_output_shape)[2])

    def call(self, inputs: Any) -> Any:
        out = jnp.einsum(self.equation, inputs, self.kernel.value)
        if self.bias is not None:
            out = _add_bias(out, self.bias.value)
        out = self.activation(out)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(out) / max(int(out.shape[0]), 1))
        return out

    def get_config(self) -> dict[str, Any]:
        base = super().get_config()
        base.pop("activity_regularizer", None)
        return {**base, "output_shape": list(self.partial_output_shape), "equation": self.equation,
                "activation": activations.serialize(self.activation), "bias_axes": self.bias_axes,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": _ser_reg(self.kernel_regularizer),
                "bias_regularizer": _ser_reg(self.bias_regularizer),
                "activity_regularizer": _ser_reg(self.activity_regularizer),
                "kernel_constraint": None, "bias_constraint": None, "quantization_config": None}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> EinsumDense:
        config = {k: v for k, v in config.items() if k not in ("quantization_config", "lora_alpha",
                                                               "gptq_unpacked_column_size")}
        return cls(**config)
