"""Merge layers: ``Concatenate``, ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``, ``Minimum``,
``Dot``, each called on a list of tensors (plus the functional shortcuts ``add``, ``concatenate``, ...).

>>> from lamina import layers
>>> a, b = layers.Input((4,)), layers.Input((4,))
>>> layers.Concatenate()([a, b]).shape
(None, 8)
>>> layers.Add()([a, b]).shape
(None, 4)
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from lamina.layers.base import Layer, shape_str

Shape = tuple[int | None, ...]


def _broadcast_dim(a: int | None, b: int | None) -> int | None:
    if a == 1:
        return b
    if b == 1:
        return a
    if a is None or b is None:
        return a if b is None else b
    return a


class Merge(Layer):
    """Elementwise merge of two or more tensors of compatible (broadcastable) shapes."""

    supports_masking = True

    _min_inputs = 2

    def _check_list(self, input_shape: Any) -> list[Shape]:
        if not isinstance(input_shape, (list, tuple)) or not input_shape or not all(
                isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(f"{type(self).__name__} '{self.name}' must be called on a list of tensors, received "
                             f"input shape {shape_str(input_shape)}.")
        if len(input_shape) < self._min_inputs:
            raise ValueError(f"{type(self).__name__} '{self.name}' needs at least {self._min_inputs} inputs, "
                             f"received {len(input_shape)}.")
        return [tuple(s) for s in input_shape]

    def _check_shapes(self, shapes: list[Shape]) -> Shape:
        out = list(shapes[0])
        for shape in shapes[1:]:
            if len(shape) != len(out):
                raise ValueError(f"{type(self).__name__} '{self.name}': all inputs must have the same rank, received "
                                 f"shapes {[shape_str(s) for s in shapes]}.")
            for i, (a, b) in enumerate(zip(out, shape)):
                if a is not None and b is not None and a != b and 1 not in (a, b):
                    raise ValueError(
                        f"{type(self).__name__} '{self.name}': inputs must have the same shape (or shapes that "
                        f"broadcast), received shapes {[shape_str(s) for s in shapes]}; axis {i} differs "
                        f"({a} vs {b}). Add a Dense or Reshape layer so the shapes agree.")
                out[i] = _broadcast_dim(a, b)
        return tuple(out)

    def build(self, input_shape: Any) -> None:
        self._check_shapes(self._check_list(input_shape))

    def compute_output_shape(self, input_shape: Any) -> Shape:
        return self._check_shapes(self._check_list(input_shape))

    def _merge(self, inputs: list[Any]) -> Any:
        raise NotImplementedError

    def call(self, inputs: Any) -> Any:
        return self._merge(list(inputs))

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """Keras's rule: the OR of the inputs' masks, none unless every input has one."""
        if mask is None or not isinstance(mask, (list, tuple)) or any(m is None for m in mask):
            return None
        out = jnp.asarray(mask[0])
        for m in mask[1:]:
            out = jnp.logical_or(out, m)
        return out


class Add(Merge):
    """Elementwise sum of a list of tensors."""

    def _merge(self, inputs: list[Any]) -> Any:
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Subtract(Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""

    def _check_list(self, input_shape: Any) -> list[Shape]:
        shapes = super()._check_list(input_shape)
        if len(shapes) != 2:
            raise ValueError(f"Subtract '{self.name}' takes exactly 2 inputs, received {len(shapes)}.")
        return shapes

    def _merge(self, inputs: list[Any]) -> Any:
        return inputs[0] - inputs[1]


class Multiply(Merge):
    """Elementwise product of a list of tensors."""

    def _merge(self, inputs: list[Any]) -> Any:
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


class Average(Merge):
    """Elementwise mean of a list of tensors."""

    def _merge(self, inputs: list[Any]) -> Any:
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out / len(inputs)


class Maximum(Merge):
    """Elementwise maximum of a list of tensors."""

    def _merge(self, inputs: list[Any]) -> Any:
        out = inputs[0]
        for x in inputs[1:]:
            out = jnp.maximum(out, x)
        return out


class Minimum(Merge):
    """Elementwise minimum of a list of tensors."""

    def _merge(self, inputs: list[Any]) -> Any:
        out = inputs[0]
        for x in inputs[1:]:
            out = jnp.minimum(out, x)
        return out


class Concatenate(Merge):
    """Join a list of tensors along ``axis`` (default the last); other axes must match."""

    _min_inputs = 1

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _check_shapes(self, shapes: list[Shape]) -> Shape:
        rank = len(shapes[0])
        axis = self.axis % rank if rank else 0
        out = list(shapes[0])
        for shape in shapes[1:]:
            if len(shape) != rank:
                raise ValueError(f"Concatenate '{self.name}': all inputs must have the same rank, received shapes "
                                 f"{[shape_str(s) for s in shapes]}.")
            for i, (a, b) in enumerate(zip(out, shape)):
                if i == axis:
                    out[i] = None if a is None or b is None else a + b
                elif a is not None and b is not None and a != b:
                    raise ValueError(
                        f"Concatenate '{self.name}' requires inputs with matching shapes except for the "
                        f"concatenation axis {self.axis}. Received: input_shape={[shape_str(s) for s in shapes]} "
                        f"(axis {i} differs: {a} vs {b}).")
                elif a is None:
                    out[i] = b
        return tuple(out)

    def _merge(self, inputs: list[Any]) -> Any:
        return jnp.concatenate(inputs, axis=self.axis)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The masks joined along ``axis`` (all-true for unmasked inputs), then any over the last axis."""
        if mask is None or not isinstance(mask, (list, tuple)) or all(m is None for m in mask):
            return None
        full = []
        for x, m in zip(inputs, mask):
            if m is None:
                full.append(jnp.ones(x.shape, bool))
            else:
                m = jnp.asarray(m)
                full.append(jnp.broadcast_to(m[..., None], x.shape) if m.ndim < x.ndim else m)
        return jnp.any(jnp.concatenate(full, axis=self.axis), axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class Dot(Merge):
    """Per-sample dot product of two tensors along ``axes`` (optionally L2-normalized first: cosine).

    >>> from lamina import layers
    >>> a, b = layers.Input((4,)), layers.Input((4,))
    >>> layers.Dot(axes=1)([a, b]).shape
    (None, 1)
    """

    def __init__(self, axes: int | tuple[int, int], normalize: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(axes, int) and (len(axes) != 2 or not all(isinstance(a, int) for a in axes)):
            raise ValueError(f"Dot '{self.name}': axes must be an int or a pair of ints, received {axes!r}.")
        self.axes = axes if isinstance(axes, int) else list(axes)
        self.normalize = bool(normalize)

    def _resolved_axes(self, shapes: list[Shape]) -> tuple[int, int]:
        axes = [self.axes, self.axes] if isinstance(self.axes, int) else list(self.axes)
        return tuple(a % len(s) if a < 0 else a for a, s in zip(axes, shapes))  # type: ignore[return-value]

    def _check_shapes(self, shapes: list[Shape]) -> Shape:
        if len(shapes) != 2:
            raise ValueError(f"Dot '{self.name}' takes exactly 2 inputs, received {len(shapes)}.")
        a1, a2 = self._resolved_axes(shapes)
        d1, d2 = shapes[0][a1], shapes[1][a2]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(f"Dot '{self.name}': dimension incompatibility: axis {a1} of {shape_str(shapes[0])} has "
                             f"size {d1} but axis {a2} of {shape_str(shapes[1])} has size {d2}.")
        rest = [d for i, d in enumerate(shapes[0]) if i not in (0, a1)] + [
            d for i, d in enumerate(shapes[1]) if i not in (0, a2)]
        return (shapes[0][0],) + (tuple(rest) if rest else (1,))

    def _merge(self, inputs: list[Any]) -> Any:
        x, y = inputs
        a1, a2 = self._resolved_axes([x.shape, y.shape])
        if self.normalize:
            x = x / jnp.sqrt(jnp.maximum(jnp.sum(jnp.square(x), axis=a1, keepdims=True), 1e-12))
            y = y / jnp.sqrt(jnp.maximum(jnp.sum(jnp.square(y), axis=a2, keepdims=True), 1e-12))
        out = jax.vmap(lambda p, q: jnp.tensordot(p, q, axes=(a1 - 1, a2 - 1)))(x, y)
        return out[:, None] if out.ndim == 1 else out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def add(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of ``Add``."""
    return Add(**kwargs)(inputs)


def subtract(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of ``Subtract``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of ``Multiply``."""
    return Multiply(**kwargs)(inputs)


def average(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of ``Average``."""
    return Average(**kwargs)(inputs)


def maximum(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of ``Maximum``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of ``Minimum``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: list[Any], axis: int = -1, **kwargs: Any) -> Any:
    """Functional form of ``Concatenate``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: list[Any], axes: Any = -1, normalize: bool = False, **kwargs: Any) -> Any:
    """Functional form of ``Dot``."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
