"""``explain(model)``: what every layer does to the shape, and where every parameter count comes from.

Each layer gets a :class:`LayerExplanation` record: input and output shapes, weights with their shapes,
the axes it contracts, the axes it treats independently (sharing its weights over them) and its parameter
count written as arithmetic, e.g. ``3 x 512 weights + 512 biases = 2,048``.

>>> from lamina import layers, Sequential
>>> model = Sequential([layers.Dense(512, input_shape=(32, 32, 3))], name="cifar")
>>> result = explain(model, print_fn=lambda line: None)
>>> result[0].arithmetic
'3 x 512 weights + 512 biases = 2,048'
>>> result[0].contracted_axes, result[0].shared_axes
((3,), (1, 2))

Layers explain themselves through a registry keyed by class (or class name), so new layer families can
add their own with :func:`register_explainer`; any other layer gets a generic weights-and-counts record.
Axis numbers count the batch axis as 0.
"""

from __future__ import annotations

import math
import sys
import textwrap
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

Shape = tuple[int | None, ...]

__all__ = ["Details", "Explanation", "LayerExplanation", "WeightInfo", "explain", "register_explainer"]


# ------------------------------------------------------------------------------------------- records
class WeightInfo(NamedTuple):
    """One weight of a layer: its name, shape and number of values."""

    name: str
    shape: tuple[int, ...]
    count: int


@dataclass
class Details:
    """What a layer explainer returns: the prose and the axes. ``arithmetic`` defaults to the generic sum."""

    description: str
    contracted_axes: tuple[int, ...] = ()
    shared_axes: tuple[int, ...] = ()
    arithmetic: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class LayerExplanation:
    """One layer of an explanation. ``contracted_axes``/``shared_axes`` index the input shape (batch = 0)."""

    name: str
    class_name: str
    input_shape: Any
    output_shape: Any
    weights: list[WeightInfo]
    params: int
    trainable_params: int
    arithmetic: str
    description: str
    contracted_axes: tuple[int, ...] = ()
    shared_axes: tuple[int, ...] = ()
    notes: list[str] = field(default_factory=list)
    depth: int = 0
    layer: Any = field(default=None, repr=False, compare=False)

    @property
    def non_trainable_params(self) -> int:
        return self.params - self.trainable_params

    @property
    def text(self) -> str:
        """The readable block for this layer."""
        pad = "  " * self.depth
        lines = [f"{pad}{self.name} ({self.class_name}): {_shape_text(self.input_shape)} -> "
                 f"{_shape_text(self.output_shape)}"]
        body = pad + "    "
        if self.weights:
            lines.append(f"{body}weights: " + ", ".join(f"{w.name} {tuple_text(w.shape)}" for w in self.weights))
        wrap = lambda s: textwrap.fill(s, width=100, initial_indent=body, subsequent_indent=body + "  ")  # noqa
        lines.append(wrap(self.description))
        for note in self.notes:
            lines.append(wrap("Note: " + note))
        lines.append(f"{body}parameters: {self.arithmetic}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text

    def plot(self, to_file: str = "layer.png", dpi: int = 96) -> Any:
        """Draw how this layer maps its input (see :func:`lamina.plotting.plot_layer_mapping`)."""
        from lamina import plotting

        return plotting.plot_layer_mapping(self, to_file=to_file, dpi=dpi)


@dataclass
class Explanation:
    """The explanation of a model: per-layer records (``explanation.layers``), iterable and indexable."""

    model_name: str
    input_shape: Any
    output_shape: Any
    layers: list[LayerExplanation]
    total_params: int
    trainable_params: int
    notes: list[str] = field(default_factory=list)
    model: Any = field(default=None, repr=False, compare=False)

    def __iter__(self) -> Iterator[LayerExplanation]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, key: int | str) -> LayerExplanation:
        if isinstance(key, str):
            for record in self.layers:
                if record.name == key:
                    return record
            raise KeyError(f"No layer named {key!r}; layers are {[r.name for r in self.layers]}.")
        return self.layers[key]

    @property
    def text(self) -> str:
        header = (f'Model "{self.model_name}": {_shape_text(self.input_shape)} -> {_shape_text(self.output_shape)}, '
                  f"{self.total_params:,} parameters")
        if self.total_params != self.trainable_params:
            header += f" ({self.total_params - self.trainable_params:,} non-trainable)"
        lines = [header, "=" * min(100, max(40, len(header)))]
        for record in self.layers:
            lines.append(record.text)
        lines.append("-" * min(100, max(40, len(header))))
        top = [r for r in self.layers if r.depth == 0 and r.params]
        if len(top) > 1:
            lines.append("Total: " + " + ".join(f"{r.params:,}" for r in top) + f" = {self.total_params:,} parameters")
        else:
            lines.append(f"Total: {self.total_params:,} parameters")
        for note in self.notes:
            lines.append(textwrap.fill("Note: " + note, width=100, subsequent_indent="  "))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return (f"<Explanation of '{self.model_name}': {len(self.layers)} layers, "
                f"{self.total_params:,} parameters; print() it for the text>")

    def plot(self, to_file: str = "explain.png", layer: int | str | None = None, dpi: int = 96) -> Any:
        """Draw how one layer maps its input: ``layer`` by name or index, by default the first layer that
        shares its weights over some axes (e.g. a Dense on an image), else the first with weights."""
        from lamina import plotting

        if layer is None:
            candidates = ([r for r in self.layers if r.weights and r.shared_axes]
                          or [r for r in self.layers if r.weights] or list(self.layers))
            if not candidates:
                raise ValueError(f"Model '{self.model_name}' has no layers to draw.")
            record = candidates[0]
        else:
            record = self[layer]
        return plotting.plot_layer_mapping(record, to_file=to_file, dpi=dpi)


# ------------------------------------------------------------------------------------------ registry
Explainer = Callable[[Any, Any, Any], Details]
_REGISTRY: dict[Any, Explainer] = {}


def register_explainer(*targets: type | str) -> Callable[[Explainer], Explainer]:
    """Register ``fn(layer, input_shape, output_shape) -> Details`` for layer classes (or class names).

    Lookup follows the layer's MRO, so an explainer for a base class covers its subclasses.

    >>> from lamina.layers import Layer
    >>> class Twice(Layer):
    ...     def call(self, x):
    ...         return 2 * x
    >>> @register_explainer(Twice)
    ... def _twice(layer, input_shape, output_shape):
    ...     return Details("doubles every value")
    >>> find_explainer(Twice()) is _twice
    True
    """

    def decorate(fn: Explainer) -> Explainer:
        for target in targets:
            _REGISTRY[target] = fn
        return fn

    return decorate


def find_explainer(layer: Any) -> Explainer:
    """The registered explainer for ``layer`` (nearest class in its MRO), or the generic one."""
    for cls in type(layer).__mro__:
        if cls in _REGISTRY:
            return _REGISTRY[cls]
        if cls.__name__ in _REGISTRY:
            return _REGISTRY[cls.__name__]
    return _generic


# ------------------------------------------------------------------------------------------- helpers
def tuple_text(shape: Any) -> str:
    """A shape as Keras prints it, ``None`` for unknown sizes.

    >>> tuple_text((None, 32, 32, 3)), tuple_text((10,))
    ('(None, 32, 32, 3)', '(10,)')
    """
    shape = tuple(shape)
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _shape_text(shape: Any) -> str:
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k!r}: {_shape_text(v)}" for k, v in shape.items()) + "}"
    if shape is None:
        return "?"
    return tuple_text(shape)


def _x(dims: Any) -> str:
    """``(32, 32)`` -> ``"32x32"`` (for positions and kernel sizes)."""
    return "x".join("?" if d is None else str(d) for d in dims)


def _times(dims: Any) -> str:
    """``(784, 10)`` -> ``"784 x 10"`` (for arithmetic)."""
    return " x ".join("?" if d is None else f"{d:,}" for d in dims)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _prod(dims: Any) -> int | None:
    if any(d is None for d in dims):
        return None
    return int(math.prod(dims))


def _single(shape: Any) -> Shape | None:
    """The shape when a layer has one input/output, else ``None``."""
    if isinstance(shape, tuple) and all(d is None or isinstance(d, int) for d in shape):
        return shape
    return None


def _weight(layer: Any, attr: str) -> Any:
    w = getattr(layer, attr, None)
    return w if w is not None and hasattr(w, "shape") else None


def _activation_name(layer: Any) -> str | None:
    fn = getattr(layer, "activation", None)
    if fn is None:
        return None
    try:
        from lamina import activations

        name = activations.serialize(fn)
    except Exception:  # noqa: BLE001 - any callable without a name
        name = getattr(fn, "__name__", type(fn).__name__)
    return None if name == "linear" else name


def _activation_clause(layer: Any, units_axis_size: int | None) -> str:
    name = _activation_name(layer)
    if name is None:
        return ""
    if name in ("softmax", "log_softmax"):
        size = "" if units_axis_size is None else f" (size {units_axis_size:,})"
        return f" Then {name} normalizes over the last axis{size}."
    return f" Then {name} is applied to each value."


def generic_arithmetic(weights: list[WeightInfo], trainable: int | None = None) -> str:
    """``3 x 3 x 3 x 32 (kernel) + 32 (bias) = 896``; ``no weights`` when there are none."""
    if not weights:
        return "0 (no weights)"
    total = sum(w.count for w in weights)
    terms = [f"{_times(w.shape) if len(w.shape) > 1 else f'{w.count:,}'} ({w.name})" for w in weights]
    text = " + ".join(terms) + f" = {total:,}"
    if trainable is not None and trainable != total:
        text += f" ({total - trainable:,} non-trainable)"
    return text


# -------------------------------------------------------------------------------------- explainers
def _generic(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    if not list(getattr(layer, "weights", [])):
        return Details(f"{type(layer).__name__} maps {_shape_text(input_shape)} to {_shape_text(output_shape)}; "
                       "it has no weights.")
    return Details(f"{type(layer).__name__} maps {_shape_text(input_shape)} to {_shape_text(output_shape)} "
                   "with the weights listed.")


@register_explainer("InputLayer")
def _input_layer(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    shape = _single(output_shape) or ()
    if len(shape) > 2:
        per_sample = f"{_x(shape[1:])} arrays"
    else:
        per_sample = f"vectors of {shape[1]} values" if len(shape) == 2 else "scalars"
    return Details(f"The model's input: batches of {per_sample}, shape {_shape_text(output_shape)} "
                   "(None is the batch size). No weights.")


@register_explainer("Dense")
def _dense(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    shape = _single(input_shape)
    units = int(layer.units)
    if shape is None:
        return _generic(layer, input_shape, output_shape)
    d, rank = shape[-1], len(shape)
    bias = _weight(layer, "bias") is not None
    total = (d or 0) * units + (units if bias else 0)
    arithmetic = f"{_times((d, units))} weights" + (f" + {_plural(units, 'bias', 'biases')}" if bias else "")
    arithmetic += f" = {total:,}" + ("" if bias else " (no bias)")
    notes: list[str] = []
    if rank == 2:
        desc = (f"Dense connects each of the {d:,} input values to each of the {units:,} units through a "
                f"{_x((d, units))} kernel" + (" plus one bias per unit." if bias else ".")
                + _activation_clause(layer, units))
        return Details(desc, contracted_axes=(1,), shared_axes=(), arithmetic=arithmetic)
    kept = tuple(shape[1:-1])
    like = {3: f"like TimeDistributed(Dense({units}))", 4: "like a 1x1 convolution"}.get(
        rank, "like a convolution with a kernel of size 1")
    where = f"each of the {_x(kept)} positions"
    desc = (f"Dense acts on the last axis ({d}); the same {_x((d, units))} kernel is applied at {where}, {like}. "
            f"The axes {tuple_text(kept)} are kept, so the output {_shape_text(output_shape)} holds one "
            f"{units}-vector per position." + _activation_clause(layer, units))
    flat = _prod(shape[1:])
    if flat is not None:
        notes.append(f"Dense does not flatten. To connect all {flat:,} values of a sample to every unit, put "
                     f"Flatten() before {layer.name}: its kernel would then be {flat:,} x {units:,} "
                     f"({flat * units + (units if bias else 0):,} parameters instead of {total:,}).")
    return Details(desc, contracted_axes=(rank - 1,), shared_axes=tuple(range(1, rank - 1)), arithmetic=arithmetic,
                   notes=notes)


@register_explainer("Flatten")
def _flatten(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    shape = _single(input_shape) or ()
    inner = shape[1:]
    size = _prod(inner)
    if len(inner) <= 1:
        return Details(f"Flatten leaves {_shape_text(input_shape)} as it is (already one axis per sample). "
                       "No weights.")
    count = f"{_times(inner)} = {size:,}" if size is not None else _times(inner)
    return Details(f"Flatten joins the axes {tuple_text(inner)} of each sample into one axis of {count} values, "
                   "in row-major order. No weights.", contracted_axes=(), shared_axes=())


@register_explainer("Reshape")
def _reshape(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    shape, out = _single(input_shape) or (), _single(output_shape) or ()
    size = _prod(shape[1:])
    values = f"the {size:,} values" if size is not None else "the values"
    return Details(f"Reshape rearranges {values} of each sample from {tuple_text(shape[1:])} to "
                   f"{tuple_text(out[1:])}, keeping their order. No weights.")


@register_explainer("Activation")
def _activation(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    name = _activation_name(layer) or "linear"
    shape = _single(input_shape) or ()
    rank = len(shape)
    if name in ("softmax", "log_softmax") and shape:
        return Details(f"{name} normalizes over the last axis (size {shape[-1]}) independently at every other "
                       "position. No weights.", contracted_axes=(rank - 1,), shared_axes=tuple(range(1, rank - 1)))
    return Details(f"Applies {name} to each value separately; the shape does not change. No weights.",
                   shared_axes=tuple(range(1, rank)))


@register_explainer("Softmax")
def _softmax_layer(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    shape = _single(input_shape) or ()
    axis = getattr(layer, "axis", -1)
    axis = axis if isinstance(axis, int) else axis[0]
    axis = axis % len(shape) if shape else -1
    size = shape[axis] if shape else None
    return Details(f"softmax normalizes over axis {axis} (size {size}) independently at every other position. "
                   "No weights.", contracted_axes=(axis,), shared_axes=tuple(a for a in range(1, len(shape))
                                                                             if a != axis))


@register_explainer("Rescaling")
def _rescaling(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    scale, offset = getattr(layer, "scale", 1.0), getattr(layer, "offset", 0.0)
    rank = len(_single(input_shape) or ())
    return Details(f"Rescaling computes x * {scale:.6g} + {offset:.6g} for each value; the shape does not change. "
                   "No weights (the constants are configuration).", shared_axes=tuple(range(1, rank)))


@register_explainer("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D")
def _dropout(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    rate = float(getattr(layer, "rate", 0.0))
    keep = 1.0 - rate
    scale = f" and scales the rest by 1/{keep:.3g} = {1 / keep:.4g}" if 0 < keep < 1 else ""
    rank = len(_single(input_shape) or ())
    return Details(f"During training {type(layer).__name__} sets a random {rate:.0%} of the values to 0{scale}; at "
                   "inference it passes values through. The shape does not change. No weights.",
                   shared_axes=tuple(range(1, rank)))


@register_explainer("TimeDistributed")
def _time_distributed(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    shape, out = _single(input_shape), _single(output_shape)
    inner = getattr(layer, "layer", None)
    if shape is None or out is None or inner is None:
        return _generic(layer, input_shape, output_shape)
    inner_in, inner_out = (None,) + tuple(shape[2:]), (None,) + tuple(out[2:])
    sub = find_explainer(inner)(inner, inner_in, inner_out)
    steps = shape[1]
    desc = (f"TimeDistributed applies {inner.name} ({type(inner).__name__}) to each of the {steps} slices along axis "
            f"1 with the same weights, so each slice {tuple_text(inner_in)} becomes {tuple_text(inner_out)}. "
            f"Inside: {sub.description}")
    notes = list(sub.notes)
    if type(inner).__name__ == "Dense":
        notes = [f"Dense already acts on the last axis only, so Dense({inner.units}) on {_shape_text(shape)} gives "
                 "the same shape, weights and result without TimeDistributed."]
    inner_weights = _weights_of(inner)
    arithmetic = sub.arithmetic or generic_arithmetic(inner_weights)
    return Details(desc, contracted_axes=tuple(a + 1 for a in sub.contracted_axes),
                   shared_axes=(1,) + tuple(a + 1 for a in sub.shared_axes), arithmetic=arithmetic, notes=notes)


def _spatial_axes(layer: Any, rank: int) -> tuple[tuple[int, ...], int]:
    """``(spatial axes, channel axis)`` of an N-D input for channels_last / channels_first layers."""
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        return tuple(range(2, rank)), 1
    return tuple(range(1, rank - 1)), rank - 1


@register_explainer("Conv1D", "Conv2D", "Conv3D")
def _conv(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    shape, out = _single(input_shape), _single(output_shape)
    kernel = _weight(layer, "kernel")
    if shape is None or out is None or kernel is None:
        return _generic(layer, input_shape, output_shape)
    spatial, channel = _spatial_axes(layer, len(shape))
    ksize = tuple(layer.kernel_size)
    kshape = tuple(kernel.shape)
    filters = int(layer.filters)
    bias = _weight(layer, "bias") is not None
    in_spatial = tuple(shape[a] for a in spatial)
    out_spatial = tuple(out[a] for a in _spatial_axes(layer, len(out))[0])
    strides = tuple(getattr(layer, "strides", (1,) * len(ksize)))
    padding = getattr(layer, "padding", "valid")
    groups = int(getattr(layer, "groups", 1))
    window = f"{_x(ksize)} window" if len(ksize) > 1 else f"window of {ksize[0]} steps"
    desc = (f"{type(layer).__name__} slides a {window} over the {_x(in_spatial)} positions (strides {_x(strides)}, "
            f"padding '{padding}'), giving {_x(out_spatial)} output positions. At each one it contracts the window "
            f"and the {_plural(shape[channel], 'channel')} with the same {_x(kshape)} kernel, producing {filters} "
            "filters."
            + _activation_clause(layer, None))
    if groups > 1:
        desc += f" The channels are split into {groups} groups with separate kernels."
    count = _prod(kshape) or 0
    arithmetic = f"{_times(kshape)} weights" + (f" + {_plural(filters, 'bias', 'biases')}" if bias else "")
    arithmetic += f" = {count + (filters if bias else 0):,}"
    return Details(desc, contracted_axes=tuple(spatial) + (channel,), shared_axes=tuple(spatial),
                   arithmetic=arithmetic)


@register_explainer("MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
                    "AveragePooling3D")
def _pooling(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    shape, out = _single(input_shape), _single(output_shape)
    if shape is None or out is None:
        return _generic(layer, input_shape, output_shape)
    spatial, channel = _spatial_axes(layer, len(shape))
    op = "maximum" if "Max" in type(layer).__name__ else "average"
    pool = tuple(layer.pool_size)
    strides = tuple(getattr(layer, "strides", pool))
    in_spatial = tuple(shape[a] for a in spatial)
    out_spatial = tuple(out[a] for a in _spatial_axes(layer, len(out))[0])
    desc = (f"{type(layer).__name__} takes the {op} of each {_x(pool)} window (strides {_x(strides)}, padding "
            f"'{getattr(layer, 'padding', 'valid')}') of each of the {shape[channel]} channels separately: "
            f"{_x(in_spatial)} positions become {_x(out_spatial)}. No weights.")
    return Details(desc, contracted_axes=tuple(spatial), shared_axes=(channel,))


@register_explainer("GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling1D",
                    "GlobalAveragePooling2D", "GlobalAveragePooling3D")
def _global_pooling(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    shape = _single(input_shape)
    if shape is None:
        return _generic(layer, input_shape, output_shape)
    spatial, channel = _spatial_axes(layer, len(shape))
    op = "maximum" if "Max" in type(layer).__name__ else "average"
    in_spatial = tuple(shape[a] for a in spatial)
    desc = (f"{type(layer).__name__} takes the {op} over all {_x(in_spatial)} positions, separately for each of the "
            f"{shape[channel]} channels: one {shape[channel]}-vector per sample. No weights.")
    return Details(desc, contracted_axes=tuple(spatial), shared_axes=(channel,))


@register_explainer("BatchNormalization")
def _batch_norm(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    shape = _single(input_shape)
    if shape is None:
        return _generic(layer, input_shape, output_shape)
    rank = len(shape)
    axis = int(getattr(layer, "axis", -1)) % rank
    size = shape[axis]
    others = tuple(a for a in range(1, rank) if a != axis)
    over = "the batch" + (f" and the axes {tuple_text(tuple(shape[a] for a in others))}" if others else "")
    desc = (f"BatchNormalization normalizes each of the {size} features of axis {axis} separately, with the mean "
            f"and variance over {over} in training and the moving averages at inference, then scales by gamma and "
            "shifts by beta. The moving mean and variance are updated, not trained.")
    weights = _weights_of(layer)
    trainable = sum(w.size for w in getattr(layer, "trainable_weights", []))
    terms = [f"{w.count:,} ({w.name})" for w in weights]
    total = sum(w.count for w in weights)
    arithmetic = " + ".join(terms) + f" = {total:,}" + (f" ({total - trainable:,} non-trainable)"
                                                        if total != trainable else "")
    return Details(desc, contracted_axes=(), shared_axes=others, arithmetic=arithmetic)


@register_explainer("LayerNormalization")
def _layer_norm(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    shape = _single(input_shape)
    if shape is None:
        return _generic(layer, input_shape, output_shape)
    rank = len(shape)
    axes = tuple(int(a) % rank for a in getattr(layer, "axis", [-1]))
    desc = (f"LayerNormalization normalizes each sample over the axes {axes} (sizes "
            f"{tuple_text(tuple(shape[a] for a in axes))}) using its own mean and variance, then scales by gamma "
            "and shifts by beta.")
    return Details(desc, contracted_axes=axes, shared_axes=tuple(a for a in range(1, rank) if a not in axes))


@register_explainer("Embedding")
def _embedding(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    shape = _single(input_shape) or ()
    vocab, dim = int(layer.input_dim), int(layer.output_dim)
    positions = f" at each of the {_x(shape[1:])} positions" if len(shape) > 1 else ""
    desc = (f"Embedding looks up each integer id (0 to {vocab - 1}){positions} in a {_x((vocab, dim))} table and "
            f"returns its row: the output {_shape_text(output_shape)} adds an axis of size {dim}. It is a lookup, "
            "not a matrix product.")
    if getattr(layer, "mask_zero", False):
        desc += " Id 0 is padding: it is masked for the layers after it."
    arithmetic = f"{_times((vocab, dim))} weights = {vocab * dim:,}"
    return Details(desc, contracted_axes=(), shared_axes=tuple(range(1, len(shape))), arithmetic=arithmetic)


def _pair(value: Any) -> str:
    return f"{value[0]:g} to {value[1]:g}" if isinstance(value, (tuple, list)) else f"{value:g}"


_TRAINING_ONLY = (" Only in training (in fit's step, or when called without training=False); at inference it passes "
                  "images through.")
_IMAGE_LAYER_TEXTS: dict[str, Callable[[Any], str]] = {
    "RandomHue": lambda la: f"RandomHue rotates each image's hue by a share ({_pair(la.factor)}) of half a turn, "
                            "with a new angle and direction per image, through HSV and back.",
    "RandomSaturation": lambda la: "RandomSaturation multiplies each image's HSV saturation by f / (1 - f), f drawn "
                                   f"per image from {_pair(la.factor)} (0.5 keeps the image, 0 makes it gray).",
    "RandomColorDegeneration": lambda la: "RandomColorDegeneration blends each image toward its grayscale copy by "
                                          f"a share drawn per image from {_pair(la.factor)}.",
    "RandomColorJitter": lambda la: "RandomColorJitter applies, in order, the brightness, contrast, saturation and "
                                    "hue changes whose factors are set, each drawn per image.",
    "RandomInvert": lambda la: "RandomInvert replaces each pixel x by max - x in an image chosen with probability "
                               f"drawn from {_pair(la.factor)}.",
    "RandomPosterization": lambda la: "RandomPosterization keeps the top b of the 8 bits of every channel, b drawn "
                                      f"per image from {_pair(la.factor)}.",
    "Solarization": lambda la: "Solarization adds a random offset to each image and inverts the pixels above a "
                               "random threshold (both drawn per image, in the 0-255 scale).",
    "RandomSharpness": lambda la: "RandomSharpness blends each image with its 3x3-smoothed copy: below 0.5 (factor "
                                  f"drawn per image from {_pair(la.factor)}) it blurs, above it sharpens.",
    "RandomGaussianBlur": lambda la: f"RandomGaussianBlur blurs images (chosen with probability {_pair(la.factor)}) "
                                     f"with a {_pair(la.kernel_size)} Gaussian whose sigma is drawn per batch.",
    "RandomErasing": lambda la: "RandomErasing fills a random box (area share drawn from "
                                f"{_pair(la.scale)} per side, squared) of each chosen image with noise or a value.",
    "MixUp": lambda la: "MixUp blends each image with another image of the same batch, w x + (1 - w) x_other with "
                        f"w ~ Beta({la.alpha:g}, {la.alpha:g}) per image (labels alike when given).",
    "CutMix": lambda la: "CutMix pastes into each image a random box cut from another image of the same batch "
                         "(labels mix by the pasted area when given).",
    "RandomShear": lambda la: f"RandomShear shears each image by a factor drawn from {_pair(la.x_factor)} "
                              f"horizontally and {_pair(la.y_factor)} vertically, filling by '{la.fill_mode}'.",
    "RandomPerspective": lambda la: "RandomPerspective moves the four corners of each chosen image by up to "
                                    f"{la.scale / 2:g} of their coordinates and warps the image to match.",
    "RandomElasticTransform": lambda la: "RandomElasticTransform moves every pixel by a smoothed random field "
                                         f"(strength drawn from {_pair(la.scale)}), filling by '{la.fill_mode}'.",
    "RandAugment": lambda la: f"RandAugment applies {la.num_ops} operations drawn (per batch) from 11: shear, "
                              "translation, rotation, brightness, color degeneration, contrast, sharpness, "
                              f"posterization, solarization, auto-contrast, equalization, at strength "
                              f"{_pair(la.factor)}.",
    "AugMix": lambda la: f"AugMix runs {la.num_chains} chains of up to {la.chain_depth} random operations, mixes "
                         f"them with Dirichlet({la.alpha:g}) weights and blends the mix with the original image.",
    "AutoContrast": lambda la: "AutoContrast stretches each image so that its darkest pixel becomes "
                               f"{la.value_range[0]:g} and its brightest {la.value_range[1]:g}, per channel. It "
                               "acts at inference too.",
    "ContrastLimitedAdaptiveHistogramEqualization": lambda la: "CLAHE equalizes each tile of a "
        f"{_x(la.tile_grid_size)} grid through its own histogram clipped at {la.clip_limit:g} x the mean bin count, "
        "blending neighbouring tiles' mappings bilinearly. It acts at inference too.",
    "Equalization": lambda la: f"Equalization maps each channel through its {la.bins}-bin cumulative histogram "
                               "(over the batch), spreading the values evenly over the range.",
}


@register_explainer(*_IMAGE_LAYER_TEXTS)
def _image_layer(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    name = type(layer).__name__
    text = _IMAGE_LAYER_TEXTS[name](layer)
    if name not in ("AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization"):
        text += _TRAINING_ONLY
    rank = len(_single(input_shape) or ())
    return Details(text + " The shape does not change. No weights.", shared_axes=tuple(range(1, rank)))


@register_explainer("SimpleRNN", "LSTM", "GRU")
def _recurrent(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    shape = _single(input_shape)
    kernel, recurrent = _weight(layer, "kernel"), _weight(layer, "recurrent_kernel")
    if shape is None or kernel is None or recurrent is None:
        return _generic(layer, input_shape, output_shape)
    units = int(layer.units)
    features = int(kernel.shape[0])
    gates = int(kernel.shape[1]) // units
    bias = _weight(layer, "bias")
    bias_per_gate = (int(math.prod(bias.shape)) // gates) if bias is not None else 0
    names = {"LSTM": "input, forget, cell and output gates", "GRU": "update, reset and candidate gates"}
    gate_text = names.get(type(layer).__name__, "one transform")
    steps = shape[1]
    returns = ("the output at every step" if getattr(layer, "return_sequences", False)
               else "only the last step's output")
    desc = (f"{type(layer).__name__} reads the {steps if steps is not None else 'variable number of'} time steps "
            f"(axis 1) in order, contracting the {features} features of each step and its {units}-unit state with "
            f"the same weights at every step ({gate_text}); it returns {returns}, {_shape_text(output_shape)}.")
    inner = f"{_times((features, units))} input weights + {_times((units, units))} recurrent weights"
    if bias is not None:
        inner += (f" + {units:,} biases" if bias_per_gate == units
                  else f" + {bias_per_gate // units} x {units:,} biases")
    per_gate = features * units + units * units + bias_per_gate
    total = gates * per_gate
    arithmetic = (f"{gates} gates x ({inner}) = {total:,}" if gates > 1 else f"{inner} = {total:,}")
    return Details(desc, contracted_axes=(2,), shared_axes=(1,), arithmetic=arithmetic)


def _explain_nested(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    n = len(getattr(layer, "layers", []))
    return Details(f"A nested {type(layer).__name__} of {_plural(n, 'layer')}, explained below.")


# -------------------------------------------------------------------------------------------- model
def _weights_of(layer: Any) -> list[WeightInfo]:
    out = []
    for w in getattr(layer, "weights", []):
        shape = tuple(int(d) for d in w.shape)
        name = getattr(w, "name", "weight").split("/")[-1].split(":")[0]
        out.append(WeightInfo(name, shape, int(math.prod(shape))))
    return out


def _shapes_of(tensors: list[Any]) -> Any:
    shapes = [tuple(t.shape) for t in tensors]
    if len(shapes) == 1:
        return shapes[0]
    return shapes


def _nodes_in(model: Any, layer: Any) -> list[Any]:
    ids = {n.id for n in getattr(model, "_nodes", [])}
    return [n for n in getattr(layer, "_inbound_nodes", []) if not ids or n.id in ids]


def layer_shapes(model: Any, layer: Any) -> tuple[Any, Any]:
    """``(input_shape, output_shape)`` of ``layer`` as called inside ``model`` (``None`` when unknown)."""
    nodes = _nodes_in(model, layer)
    if not nodes:
        return None, None
    node = nodes[0]
    out = _shapes_of(node.output_tensors)
    if not node.input_tensors:  # an InputLayer
        return out, out
    return _shapes_of(node.input_tensors), out


def _model_layers(model: Any) -> list[Any]:
    from lamina.models import Sequential

    layers = list(model.layers)
    if isinstance(model, Sequential) and getattr(model, "_input_layer", None) is not None and model._functional:
        return layers  # like summary(): a Sequential does not list its InputLayer
    return layers


def _records(model: Any, depth: int) -> list[LayerExplanation]:
    from lamina.models import Model

    records = []
    for layer in _model_layers(model):
        input_shape, output_shape = layer_shapes(model, layer)
        weights = _weights_of(layer) if getattr(layer, "built", True) else []
        trainable = sum(int(math.prod(w.shape)) for w in getattr(layer, "trainable_weights", []))
        total = sum(w.count for w in weights)
        nested = isinstance(layer, Model) and getattr(layer, "_functional", False)
        if nested:
            details = _explain_nested(layer, input_shape, output_shape)
        else:
            try:
                details = find_explainer(layer)(layer, input_shape, output_shape)
            except Exception as exc:  # noqa: BLE001 - never let an explainer break explain()
                details = _generic(layer, input_shape, output_shape)
                details.notes.append(f"(the {type(layer).__name__} explainer failed: {exc})")
        children = _records(layer, depth + 1) if nested else []
        if details.arithmetic is not None:
            arithmetic = details.arithmetic
        elif nested:
            parts = [c for c in children if c.depth == depth + 1 and c.params]
            arithmetic = (" + ".join(f"{c.params:,} ({c.name})" for c in parts) + f" = {total:,}") if parts \
                else "0 (no weights)"
        else:
            arithmetic = generic_arithmetic(weights, trainable)
        records.append(LayerExplanation(
            name=layer.name, class_name=type(layer).__name__, input_shape=input_shape, output_shape=output_shape,
            weights=weights, params=total, trainable_params=trainable, arithmetic=arithmetic,
            description=details.description, contracted_axes=tuple(details.contracted_axes),
            shared_axes=tuple(details.shared_axes), notes=list(details.notes), depth=depth, layer=layer))
        records.extend(children)
    return records


def explain(model: Any, print_fn: Callable[[str], Any] | None = None) -> Explanation:
    """Explain every layer of a built ``model``: shapes, weights, axes and parameter arithmetic.

    Prints the text with ``print_fn`` (default ``print``; ``print_fn=lambda s: None`` to stay quiet) and
    returns an :class:`Explanation` whose ``layers`` are :class:`LayerExplanation` records.

    >>> from lamina import layers, Sequential
    >>> model = Sequential([layers.Dense(10, input_shape=(28, 28))], name="rows")
    >>> result = explain(model, print_fn=lambda s: None)
    >>> print(result[0].arithmetic)
    28 x 10 weights + 10 biases = 290
    """
    if not getattr(model, "built", False) or not getattr(model, "_functional", False):
        require = getattr(model, "_require_built", None)
        if require is not None and not model.built:
            require("explain()")
    records = _records(model, 0)
    in_shape = out_shape = None
    if getattr(model, "_functional", False):
        from lamina.graph import map_structure

        in_shape = map_structure(lambda t: tuple(t.shape), model._inputs_struct)
        out_shape = map_structure(lambda t: tuple(t.shape), model._outputs_struct)
    weights = list(model.weights)
    seen: set[int] = set()
    total = trainable = 0
    for w in weights:
        if id(w) in seen:
            continue
        seen.add(id(w))
        total += int(math.prod(w.shape))
        trainable += int(math.prod(w.shape)) if w.trainable else 0
    notes: list[str] = []
    try:
        from lamina import shape_checks

        notes = shape_checks.output_notes(model)
    except Exception:  # noqa: BLE001 - notes are a bonus, never an obstacle
        notes = []
    result = Explanation(model_name=model.name, input_shape=in_shape, output_shape=out_shape, layers=records,
                         total_params=total, trainable_params=trainable, notes=notes, model=model)
    (print_fn or print)(result.text)
    return result


class _CallableModule(types.ModuleType):
    """Lets ``lamina.explain(model)`` work as well as ``lamina.explain.explain(model)``."""

    def __call__(self, model: Any, print_fn: Callable[[str], Any] | None = None) -> Explanation:
        return explain(model, print_fn=print_fn)


sys.modules[__name__].__class__ = _CallableModule
