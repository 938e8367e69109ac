"""Reshaping layers: ``Flatten`` and ``Reshape``.

>>> from lamina import layers
>>> layers.Flatten()(layers.Input((28, 28))).shape
(None, 784)
>>> layers.Reshape((-1, 4))(layers.Input((2, 6))).shape
(None, 3, 4)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp

from lamina import backend
from lamina.layers.base import Layer, shape_str


class Flatten(Layer):
    """Flatten everything but the batch axis: ``(None, 28, 28)`` -> ``(None, 784)``."""

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = backend.standardize_data_format(data_format)

    def call(self, inputs: Any) -> Any:
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = jnp.moveaxis(inputs, 1, -1)
        return jnp.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshape each sample to ``target_shape`` (one entry may be ``-1``); the batch axis is kept."""

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(target_shape, int):
            target_shape = (target_shape,)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError(f"Reshape '{self.name}': at most one -1 is allowed in target_shape, received "
                             f"{self.target_shape}.")
        if any(d == 0 or d < -1 for d in self.target_shape):
            raise ValueError(f"Reshape '{self.name}': target_shape sizes must be positive (or one -1), "
                             f"received {self.target_shape}.")
        self.built = True  # no weights; like Keras, a Reshape writes no build_config

    def _resolve(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        rest = input_shape[1:]
        if any(d is None for d in rest):
            return tuple(None if d == -1 else d for d in self.target_shape)
        total = math.prod(rest)
        known = math.prod(d for d in self.target_shape if d != -1)
        fix = (f" Choose a target_shape whose sizes multiply to {total}"
               + (f", e.g. ({total},) or use -1 for one axis." if -1 not in self.target_shape else "."))
        if -1 in self.target_shape:
            if total % known:
                raise ValueError(
                    f"Reshape '{self.name}': cannot reshape input of shape {shape_str(tuple(input_shape))} "
                    f"({total} values per sample) into target_shape {self.target_shape}: {total} is not "
                    f"divisible by {known}.{fix}")
            return tuple(total // known if d == -1 else d for d in self.target_shape)
        if known != total:
            raise ValueError(
                f"Reshape '{self.name}': cannot reshape input of shape {shape_str(tuple(input_shape))} "
                f"({total} values per sample) into target_shape {self.target_shape} ({known} values).{fix}")
        return self.target_shape

    def call(self, inputs: Any) -> Any:
        target = self._resolve((None,) + tuple(inputs.shape[1:]))
        return jnp.reshape(inputs, (inputs.shape[0],) + tuple(-1 if d is None else d for d in target))

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return (input_shape[0],) + self._resolve(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": self.target_shape}


def _pairs(value: Any, rank: int, arg: str, layer: str) -> tuple[tuple[int, int], ...]:
    """``1`` -> ``((1, 1), (1, 1))``; ``(1, 2)`` -> ``((1, 1), (2, 2))``; pairs kept."""
    if isinstance(value, int):
        return ((value, value),) * rank
    value = tuple(value)
    if len(value) != rank:
        raise ValueError(f"{layer}: {arg} must be an int, a tuple of {rank} ints or {rank} pairs, received {value!r}.")
    out = []
    for v in value:
        pair = (v, v) if isinstance(v, int) else tuple(v)
        if len(pair) != 2 or any(not isinstance(p, int) or p < 0 for p in pair):
            raise ValueError(f"{layer}: {arg} entries must be non-negative ints or pairs, received {value!r}.")
        out.append((int(pair[0]), int(pair[1])))
    return tuple(out)


def _data_format(value: Any, layer: str) -> str:
    from lamina.layers.convolution import data_format_of

    return data_format_of(value, layer)


class Permute(Layer):
    """Reorder the non-batch axes: ``dims`` is a permutation of ``1..rank`` (1-indexed, as in Keras).

    >>> from lamina import layers
    >>> layers.Permute((2, 1))(layers.Input((10, 64))).shape
    (None, 64, 10)
    """

    def __init__(self, dims: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute '{self.name}': dims must be a permutation of 1..{len(self.dims)} (the batch "
                             f"axis is not included), received {self.dims}.")

    def build(self, input_shape: Sequence[int | None]) -> None:
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(f"Permute '{self.name}': dims {self.dims} do not match input shape "
                             f"{shape_str(tuple(input_shape))} ({len(input_shape) - 1} non-batch axes).")

    def call(self, inputs: Any) -> Any:
        return jnp.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(Layer):
    """Repeat a ``(batch, features)`` input ``n`` times: ``(batch, n, features)``."""

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(n, int) or n <= 0:
            raise ValueError(f"RepeatVector '{self.name}': n must be a positive integer, received {n!r}.")
        self.n = n
        from lamina.layers.base import InputSpec

        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs: Any) -> Any:
        return jnp.repeat(inputs[:, None, :], self.n, axis=1)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n": self.n}


class _Spatial(Layer):
    """Shared by the padding/cropping/upsampling layers: rank, data_format and spatial axes."""

    rank = 2

    def _init_format(self, data_format: Any) -> None:
        from lamina.layers.base import InputSpec

        self.data_format = _data_format(data_format, f"{type(self).__name__} '{self.name}'")
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _axes(self) -> list[int]:
        start = 1 if self.data_format == "channels_last" else 2
        return list(range(start, start + self.rank))


class ZeroPadding1D(_Spatial):
    """Add zeros at the start and end of the steps axis."""

    rank = 1

    def __init__(self, padding: Any = 1, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pair = (padding, padding) if isinstance(padding, int) else tuple(padding)
        self.padding = (int(pair[0]), int(pair[1]))
        self._init_format(data_format)

    def _pads(self) -> list[tuple[int, int]]:
        return [self.padding]

    def call(self, inputs: Any) -> Any:
        pads = [(0, 0)] * inputs.ndim
        for axis, pad in zip(self._axes(), self._pads()):
            pads[axis] = pad
        return jnp.pad(inputs, pads)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        out = list(input_shape)
        for axis, (a, b) in zip(self._axes(), self._pads()):
            out[axis] = None if out[axis] is None else out[axis] + a + b
        return tuple(out)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": list(self.padding), "data_format": self.data_format}


class ZeroPadding2D(ZeroPadding1D):
    """Add rows and columns of zeros around images: ``padding`` int, ``(h, w)`` or ``((top, bottom), (l, r))``.

    >>> from lamina import layers
    >>> layers.ZeroPadding2D(1)(layers.Input((28, 28, 1))).shape
    (None, 30, 30, 1)
    """

    rank = 2

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None, **kwargs: Any) -> None:
        Layer.__init__(self, **kwargs)
        self.padding = _pairs(padding, 2, "padding", f"ZeroPadding2D '{self.name}'")
        self._init_format(data_format)

    def _pads(self) -> list[tuple[int, int]]:
        return list(self.padding)

    def get_config(self) -> dict[str, Any]:
        return {**Layer.get_config(self), "padding": [list(p) for p in self.padding],
                "data_format": self.data_format}


class Cropping1D(_Spatial):
    """Remove steps from the start and end of the steps axis."""

    rank = 1

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = (int(cropping), int(cropping)) if isinstance(cropping, int) else tuple(int(c) for c in cropping)
        self._init_format("channels_last")

    def _crops(self) -> list[tuple[int, int]]:
        return [self.cropping]

    def call(self, inputs: Any) -> Any:
        index = [slice(None)] * inputs.ndim
        for axis, (a, b) in zip(self._axes(), self._crops()):
            index[axis] = slice(a, inputs.shape[axis] - b)
        return inputs[tuple(index)]

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        out = list(input_shape)
        for axis, (a, b) in zip(self._axes(), self._crops()):
            if out[axis] is not None:
                out[axis] = out[axis] - a - b
                if out[axis] <= 0:
                    raise ValueError(
                        f"{type(self).__name__} '{self.name}': cropping {self._crops()} removes everything from input "
                        f"shape {shape_str(tuple(input_shape))}. Use a smaller cropping.")
        return tuple(out)

    def build(self, input_shape: Sequence[int | None]) -> None:
        self.compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": list(self.cropping)}


class Cropping2D(Cropping1D):
    """Remove rows and columns at the image borders: ``cropping`` int, ``(h, w)`` or pairs.

    >>> from lamina import layers
    >>> layers.Cropping2D(((2, 2), (4, 4)))(layers.Input((28, 28, 3))).shape
    (None, 24, 20, 3)
    """

    rank = 2

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None, **kwargs: Any) -> None:
        Layer.__init__(self, **kwargs)
        self.cropping = _pairs(cropping, 2, "cropping", f"Cropping2D '{self.name}'")
        self._init_format(data_format)

    def _crops(self) -> list[tuple[int, int]]:
        return list(self.cropping)

    def get_config(self) -> dict[str, Any]:
        return {**Layer.get_config(self), "cropping": [list(c) for c in self.cropping],
                "data_format": self.data_format}


class UpSampling1D(_Spatial):
    """Repeat each step ``size`` times."""

    rank = 1

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = int(size)
        self._init_format("channels_last")

    def call(self, inputs: Any) -> Any:
        return jnp.repeat(inputs, self.size, axis=1)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return (input_shape[0], None if input_shape[1] is None else input_shape[1] * self.size, input_shape[2])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size}


class UpSampling2D(_Spatial):
    """Repeat rows and columns ``size`` times (``interpolation`` ``nearest`` or ``bilinear``).

    >>> from lamina import layers
    >>> layers.UpSampling2D()(layers.Input((7, 7, 8))).shape
    (None, 14, 14, 8)
    """

    rank = 2

    def __init__(self, size: Any = (2, 2), data_format: str | None = None, interpolation: str = "nearest",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = (int(size), int(size)) if isinstance(size, int) else tuple(int(s) for s in size)
        if interpolation not in ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5"):
            raise ValueError(f"UpSampling2D '{self.name}': interpolation must be 'nearest' or 'bilinear', received "
                             f"{interpolation!r}.")
        self.interpolation = interpolation
        self._init_format(data_format)

    def call(self, inputs: Any) -> Any:
        axes = self._axes()
        if self.interpolation == "nearest":
            out = inputs
            for axis, s in zip(axes, self.size):
                out = jnp.repeat(out, s, axis=axis)
            return out
        import jax

        shape = list(inputs.shape)
        for axis, s in zip(axes, self.size):
            shape[axis] *= s
        method = {"bilinear": "linear", "bicubic": "cubic"}.get(self.interpolation, self.interpolation)
        return jax.image.resize(inputs, tuple(shape), method=method, antialias=False)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        out = list(input_shape)
        for axis, s in zip(self._axes(), self.size):
            out[axis] = None if out[axis] is None else out[axis] * s
        return tuple(out)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format,
                "interpolation": self.interpolation}


class ZeroPadding3D(ZeroPadding2D):
    """Pad the three spatial axes of volumes with zeros: ``padding`` int, ``(d, h, w)`` or three pairs.

    >>> from lamina import layers
    >>> layers.ZeroPadding3D(1)(layers.Input((4, 4, 4, 2))).shape
    (None, 6, 6, 6, 2)
    """

    rank = 3

    def __init__(self, padding: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        Layer.__init__(self, **kwargs)
        self.padding = _pairs(padding, 3, "padding", f"ZeroPadding3D '{self.name}'")
        self._init_format(data_format)


class Cropping3D(Cropping2D):
    """Remove slices at the borders of the three spatial axes: ``cropping`` int, ``(d, h, w)`` or pairs.

    >>> from lamina import layers
    >>> layers.Cropping3D(((1, 1), (2, 2), (0, 1)))(layers.Input((6, 6, 6, 2))).shape
    (None, 4, 2, 5, 2)
    """

    rank = 3

    def __init__(self, cropping: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        Layer.__init__(self, **kwargs)
        self.cropping = _pairs(cropping, 3, "cropping", f"Cropping3D '{self.name}'")
        self._init_format(data_format)


class UpSampling3D(_Spatial):
    """Repeat the entries of the three spatial axes ``size`` times (nearest neighbour).

    >>> from lamina import layers
    >>> layers.UpSampling3D()(layers.Input((2, 3, 4, 5))).shape
    (None, 4, 6, 8, 5)
    """

    rank = 3

    def __init__(self, size: Any = (2, 2, 2), data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = (int(size),) * 3 if isinstance(size, int) else tuple(int(s) for s in size)
        if len(self.size) != 3:
            raise ValueError(f"UpSampling3D '{self.name}': size must be an int or 3 ints, received {size!r}.")
        self._init_format(data_format)

    def call(self, inputs: Any) -> Any:
        out = inputs
        for axis, s in zip(self._axes(), self.size):
            out = jnp.repeat(out, s, axis=axis)
        return out

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        out = list(input_shape)
        for axis, s in zip(self._axes(), self.size):
            out[axis] = None if out[axis] is None else out[axis] * s
        return tuple(out)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format}
