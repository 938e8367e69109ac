"""Target-vs-output checks run by ``fit``/``evaluate`` before the first step, and warnings for likely mistakes.

``check_targets`` raises a ``ValueError`` when the targets cannot match the model's output for the loss,
naming the output layer, both shapes (``None`` for the batch), what happened and the fix. It never lets a
loss broadcast ``(N,)`` against ``(N, 5)`` into an ``(N, N)``-style result silently.

>>> import numpy as np
>>> from lamina import layers, Sequential
>>> model = Sequential([layers.Dense(512, input_shape=(32, 32, 3)), layers.Dense(10, name="scores")])
>>> try:
...     check_targets(model, np.zeros((4, 10)), "categorical_crossentropy")
... except ValueError as e:
...     print(str(e).split(", for loss")[0])
Targets of shape (None, 10) do not match the output of scores (Dense), (None, 32, 32, 10)

Warnings use the category :class:`LaminaShapeWarning`; silence them with
``warnings.filterwarnings("ignore", category=LaminaShapeWarning)``.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from typing import Any

import numpy as np

Shape = tuple[int | None, ...]

__all__ = ["LaminaShapeWarning", "check_targets", "warn_for_model", "output_notes", "loss_name"]


class LaminaShapeWarning(UserWarning):
    """A shape that works but is probably not what was meant (e.g. Dense on an image without Flatten)."""


# ---------------------------------------------------------------------------------------------- losses
_SPARSE = {"sparse_categorical_crossentropy", "sparse_categorical_focal_crossentropy"}
_CATEGORICAL = {"categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge", "kl_divergence",
                "kld", "kullback_leibler_divergence"}
_BINARY = {"binary_crossentropy", "binary_focal_crossentropy", "bce"}
_ELEMENTWISE = {"mean_squared_error", "mse", "mean_absolute_error", "mae", "mean_absolute_percentage_error", "mape",
                "mean_squared_logarithmic_error", "msle", "huber", "huber_loss", "log_cosh", "logcosh", "hinge",
                "squared_hinge", "poisson", "cosine_similarity"}


def loss_name(loss: Any) -> str | None:
    """A snake_case name for a loss given as a string, function or object (``None`` when there is none).

    >>> loss_name("CategoricalCrossentropy"), loss_name("mse")
    ('categorical_crossentropy', 'mse')
    """
    if loss is None:
        return None
    if isinstance(loss, str):
        name = loss
    elif isinstance(getattr(loss, "name", None), str) and not isinstance(loss, type):
        name = loss.name
    elif hasattr(loss, "__name__"):
        name = loss.__name__
    else:
        name = type(loss).__name__
    if isinstance(loss, str) and loss.lower() in _ELEMENTWISE | _BINARY:
        return loss.lower()
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    return snake


def _kind(name: str | None) -> str | None:
    if name is None:
        return None
    if name in _SPARSE:
        return "sparse"
    if name in _CATEGORICAL:
        return "categorical"
    if name in _BINARY:
        return "binary"
    if name in _ELEMENTWISE:
        return "elementwise"
    return None


# ------------------------------------------------------------------------------------ graph helpers
def _fmt(shape: Any) -> str:
    from lamina.explain import tuple_text

    return tuple_text(shape)


def _node_of(tensor: Any) -> Any:
    h = tensor.history
    return h.layer._inbound_nodes[h.node_index]


def _outputs(model: Any) -> list[tuple[str, Any]]:
    """``[(name used for targets, output KerasTensor)]``."""
    struct = model._outputs_struct
    if isinstance(struct, dict):
        return list(struct.items())
    tensors = list(struct) if isinstance(struct, (list, tuple)) else [struct]
    return [(t.history.layer.name, t) for t in tensors]


def _targets(model: Any, y: Any, names: list[str]) -> list[Any]:
    if isinstance(y, dict):
        return [y.get(n) for n in names]
    if isinstance(y, (list, tuple)) and len(names) > 1:
        return list(y)
    if isinstance(y, (list, tuple)) and len(names) == 1 and len(y) == 1 and hasattr(y[0], "shape"):
        return [y[0]]
    return [y]


def _losses(loss: Any, names: list[str]) -> list[Any]:
    if isinstance(loss, dict):
        return [loss.get(n) for n in names]
    if isinstance(loss, (list, tuple)) and len(loss) == len(names):
        return list(loss)
    return [loss] * len(names)


class _Chain:
    """The layers that kept an output's leading axes: walking back from the output through single-input
    layers whose output keeps every axis of the input but the last (Dense, activations, dropout, ...)."""

    def __init__(self, tensor: Any) -> None:
        self.layers: list[tuple[Any, Shape, Shape]] = []  # (layer, input shape, output shape), output first
        self.origin: Any = None
        t = tensor
        for _ in range(1000):
            if t.history is None:
                break
            node = _node_of(t)
            ins = node.input_tensors
            if len(ins) != 1 or len(node.output_tensors) != 1:
                self.origin = node.layer
                break
            src, out = tuple(ins[0].shape), tuple(t.shape)
            if len(src) != len(out) or src[:-1] != out[:-1]:
                self.origin = node.layer
                break
            self.layers.append((node.layer, src, out))
            t = ins[0]
        else:  # pragma: no cover
            pass
        if self.origin is None and t.history is not None:
            self.origin = t.history.layer

    @property
    def denses(self) -> list[tuple[Any, Shape, Shape]]:
        return [entry for entry in self.layers if type(entry[0]).__name__ == "Dense" and len(entry[1]) > 2]


def _diagnose_kept_axes(model: Any, tensor: Any) -> tuple[str, str] | None:
    """``(what happened, fix)`` for an output of rank > 2 made by Dense layers that kept leading axes."""
    out = tuple(tensor.shape)
    if len(out) <= 2:
        return None
    chain = _Chain(tensor)
    kept = out[1:-1]
    k = len(kept)
    gap = f"GlobalAveragePooling{k}D()" if k in (1, 2, 3) else None
    denses = chain.denses
    if denses:
        last, last_in, _ = denses[0]
        first, first_in, _ = denses[-1]
        what = (f"{last.name} was applied to the last axis of {_fmt(last_in)} and kept the axes {_fmt(kept)}"
                + (f" (as did {first.name}, applied to {_fmt(first_in)})" if first is not last else "")
                + f": Dense does not flatten, so the model outputs one {out[-1]}-vector per position, "
                  f"{_fmt(out)}, instead of one per sample.")
        where = f"add Flatten() before {first.name}"
        from lamina.models import Sequential

        if isinstance(model, Sequential) and model.layers and model.layers[0] is first:
            where += f" (e.g. Flatten(input_shape={_fmt(first_in[1:])}) as the first layer)"
        fix = where + (f", or use {gap} before {last.name}" if gap else "") + "."
        return what, fix
    layer = tensor.history.layer if tensor.history is not None else None
    name = layer.name if layer is not None else "the output layer"
    what = f"the output of {name} has the axes {_fmt(kept)} between the batch and the last axis."
    fix = ("add Flatten()" + (f" or {gap}" if gap else "") + f" after {name}, then a Dense layer with one unit per "
           "class or value.")
    return what, fix


def output_notes(model: Any) -> list[str]:
    """Model-level notes for ``explain()``: outputs whose extra axes come from Dense layers acting per position."""
    if not getattr(model, "_functional", False):
        return []
    notes = []
    for _name, tensor in _outputs(model):
        diagnosis = _diagnose_kept_axes(model, tensor)
        if diagnosis is None or not _Chain(tensor).denses:
            continue
        what, fix = diagnosis
        notes.append(f"the output {_fmt(tensor.shape)} of {tensor.history.layer.name} has rank "
                     f"{len(tensor.shape)}: {what} For one prediction per sample, {fix}")
    return notes


# ---------------------------------------------------------------------------------------- warnings
def _stacklevel() -> int:
    """The stack level of the first frame outside lamina, so warnings point at the user's line."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(here):
        frame, level = frame.f_back, level + 1
    return level


def _warn(message: str) -> None:
    warnings.warn(message, LaminaShapeWarning, stacklevel=_stacklevel())


def _activation_name(layer: Any) -> str | None:
    fn = getattr(layer, "activation", None)
    if fn is None:
        return None
    name = getattr(fn, "__name__", None)
    return name if isinstance(name, str) else None


def _sequence_origin(layer: Any) -> bool:
    """Whether a rank-3 tensor from ``layer`` is a sequence of feature vectors (where per-step Dense is normal)."""
    name = type(layer).__name__
    return any(key in name for key in ("RNN", "LSTM", "GRU", "Bidirectional", "Embedding", "Conv1D", "Attention",
                                       "Pooling1D", "TimeDistributed"))


def warn_for_model(model: Any, loss: Any) -> None:
    """Warn (``LaminaShapeWarning``) about model shapes that run but are probably mistakes, for ``loss``."""
    if not getattr(model, "_functional", False):
        return
    outputs = _outputs(model)
    losses = _losses(loss, [n for n, _ in outputs])
    for (_, tensor), spec in zip(outputs, losses):
        kind = _kind(loss_name(spec))
        out = tuple(tensor.shape)
        chain = _Chain(tensor)
        denses = chain.denses
        if denses and len(out) > 2:
            origin_is_sequence = chain.origin is not None and _sequence_origin(chain.origin)
            if not origin_is_sequence or kind in ("categorical", "sparse") and len(out) > 3:
                last, last_in, _ = denses[0]
                _, fix = _diagnose_kept_axes(model, tensor) or ("", "")
                kept = out[1:-1]
                _warn(f"{last.name} (Dense) receives {_fmt(last_in)} and acts on its last axis only: the same "
                      f"{last_in[-1]}x{out[-1]} kernel is applied at each of the {'x'.join(map(str, kept))} "
                      f"positions, so the model outputs {_fmt(out)}, one prediction per position. If you want one "
                      f"prediction per sample, {fix} model.explain() shows every layer's shapes.")
        if kind == "categorical" and out and out[-1] == 1:
            _warn(f"{loss_name(spec)} on the output {_fmt(out)} of {tensor.history.layer.name}, which has one unit: "
                  "a distribution over a single class is always [1.0], so the loss is always 0 and nothing is "
                  "learned. For two classes use Dense(1, activation='sigmoid') with binary_crossentropy, or "
                  "Dense(2, activation='softmax').")
    _warn_softmax_size_one(model)


def _warn_softmax_size_one(model: Any) -> None:
    from lamina.explain import layer_shapes

    for layer in _all_layers(model):
        in_shape, out_shape = layer_shapes(model, layer)
        cls = type(layer).__name__
        if cls in ("Activation", "Softmax"):
            shape = in_shape
            is_softmax = cls == "Softmax" or _activation_name(layer) in ("softmax", "log_softmax")
        else:
            shape = out_shape
            is_softmax = _activation_name(layer) in ("softmax", "log_softmax") and hasattr(layer, "weights")
        if not is_softmax or not isinstance(shape, tuple) or not shape or shape[-1] != 1:
            continue
        _warn(f"{layer.name} ({cls}) applies softmax over an axis of size 1 (shape {_fmt(shape)}): the result is "
              "always 1.0, whatever the input, so nothing can be learned. For a yes/no output use "
              "activation='sigmoid' with binary_crossentropy; for C classes use C units with softmax.")


def _all_layers(model: Any) -> list[Any]:
    return list(getattr(model, "layers", []))


# ------------------------------------------------------------------------------------------ targets
def _as_array(y: Any) -> np.ndarray | None:
    if y is None:
        return None
    try:
        return np.asarray(y)
    except Exception:  # noqa: BLE001 - something exotic: leave it to the loss
        return None


def _integer_valued(y: np.ndarray) -> bool:
    if y.dtype.kind in "iub":
        return True
    if y.dtype.kind != "f" or y.size == 0:
        return False
    sample = y.reshape(-1)[:10000]
    return bool(np.all(np.isfinite(sample)) and np.all(sample == np.round(sample)))


def _looks_one_hot(y: np.ndarray) -> bool:
    if y.ndim < 2 or y.shape[-1] < 2 or y.size == 0:
        return False
    sample = y.reshape(-1, y.shape[-1])[:1000]
    return bool(np.all((sample == 0) | (sample == 1)) and np.all(sample.sum(axis=-1) == 1))


def check_targets(model: Any, y: Any, loss: Any) -> None:
    """Raise ``ValueError`` if targets ``y`` cannot match ``model``'s outputs under ``loss`` (as given to
    compile: a string, function, object, or a list/dict per output); warn about label-encoding mistakes that
    still run. ``y`` is a NumPy array, or a list/dict of them for multi-output models."""
    if y is None or not getattr(model, "_functional", False):
        return
    outputs = _outputs(model)
    names = [n for n, _ in outputs]
    ys = _targets(model, y, names)
    if len(ys) != len(outputs):
        return  # the trainer reports a count mismatch with its own message
    for (_name, tensor), target, spec in zip(outputs, ys, _losses(loss, names)):
        arr = _as_array(target)
        if arr is None or spec is None:
            continue
        _check_one(model, tensor, arr, spec)


def _check_one(model: Any, tensor: Any, y: np.ndarray, spec: Any) -> None:
    out = tuple(tensor.shape)
    yshape = (None,) + tuple(y.shape[1:]) if y.ndim else ()
    name = loss_name(spec)
    kind = _kind(name)
    layer = tensor.history.layer
    head = (f"Targets of shape {_fmt(yshape)} do not match the output of {layer.name} "
            f"({type(layer).__name__}), {_fmt(out)}, for loss '{name}'")
    if y.ndim == 0:
        raise ValueError(f"{head}: targets need a batch axis (one target per sample).")
    compatible, expected = _compatible(kind, yshape, out)
    if compatible:
        _check_values(kind, name, y, out, layer)
        return
    if kind is None:
        if _same(yshape, out) or _squeezable(yshape, out):
            return
        diagnosis = _diagnose_kept_axes(model, tensor)
        if diagnosis is not None and len(yshape) < len(out):
            what, fix = diagnosis
            _warn(f"{head}. What happened: {what} Fix: {fix}")
        return
    message = f"{head} (it expects targets of shape {expected})."
    if kind == "sparse" and _same(yshape, out) and _looks_one_hot(y):
        raise ValueError(f"{message} {_label_fix(kind, name, y, yshape, out, layer)}")
    diagnosis = _diagnose_kept_axes(model, tensor) if len(yshape) < len(out) or len(out) > 2 else None
    if diagnosis is not None:
        what, fix = diagnosis
        raise ValueError(f"{message} What happened: {what} Fix: {fix}")
    raise ValueError(f"{message} {_label_fix(kind, name, y, yshape, out, layer)}")


def _same(a: Shape, b: Shape) -> bool:
    """Shapes that can be equal: the same rank, and every axis equal or unknown (``None``) on either side."""
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def _squeezable(yshape: Shape, out: Shape) -> bool:
    """``(N,)`` targets against ``(N, 1)`` outputs or the reverse: reshaped as Keras 2's losses did."""
    return _same(yshape + (1,), out) or _same(out + (1,), yshape)


def _compatible(kind: str | None, yshape: Shape, out: Shape) -> tuple[bool, str]:
    if kind == "sparse":
        ok = _same(yshape, out[:-1]) or _same(yshape, out[:-1] + (1,))
        return ok, f"{_fmt(out[:-1])} or {_fmt(out[:-1] + (1,))}: one integer class id per sample"
    if kind == "categorical":
        return _same(yshape, out), f"{_fmt(out)}: one-hot or probability rows"
    if kind in ("binary", "elementwise"):
        ok = _same(yshape, out) or _squeezable(yshape, out)
        return ok, _fmt(out)
    return _same(yshape, out), _fmt(out)


def _label_fix(kind: str, name: str, y: np.ndarray, yshape: Shape, out: Shape, layer: Any) -> str:
    classes = out[-1] if out else None
    integer = _integer_valued(y)
    if kind == "categorical":
        if (_same(yshape, out[:-1]) or _same(yshape, out[:-1] + (1,))) and integer:
            return (f"The targets look like integer class ids, but {name} expects one-hot rows. Fix: use "
                    f"loss='sparse_categorical_crossentropy', or one-hot encode the labels with "
                    f"lamina.utils.to_categorical(y, {classes}).")
        if len(yshape) == len(out) and yshape[-1] != classes:
            return (f"The targets have {yshape[-1]} classes but {layer.name} has {classes} units. Fix: make the last "
                    f"layer Dense({yshape[-1]}, activation='softmax') or check the labels.")
    if kind == "sparse":
        if _same(yshape, out) and _looks_one_hot(y):
            return (f"The targets look one-hot, but {name} expects integer class ids. Fix: use "
                    "loss='categorical_crossentropy', or pass y.argmax(axis=-1).")
        if len(yshape) == len(out) and yshape[-1] != 1:
            return (f"{name} expects one integer class id per sample, not {yshape[-1]} values. Fix: use "
                    "categorical_crossentropy for one-hot targets, or pass class ids of shape (N,).")
    if kind == "binary" and len(out) == 2 and len(yshape) == 1 and out[-1] != 1:
        return (f"{name} expects one 0/1 value per output unit, but {layer.name} has {out[-1]} units and the "
                f"targets have one value per sample. Fix: use Dense(1, activation='sigmoid') as the last layer, "
                f"or loss='sparse_categorical_crossentropy' with Dense({out[-1]}, activation='softmax').")
    if len(yshape) == len(out) and yshape[-1] != out[-1]:
        return (f"The last axes differ ({yshape[-1]} vs {out[-1]}). Fix: give the last layer {yshape[-1]} units, "
                "or reshape the targets.")
    if len(yshape) < len(out):
        return (f"The targets have fewer axes than the output. Fix: reshape the targets to {_fmt(out)}, or change "
                "the model so that it outputs the targets' shape.")
    return (f"Fix: reshape the targets to {_fmt(out)}, or change the model's last layer so its output matches "
            "the targets.")


def _check_values(kind: str | None, name: str | None, y: np.ndarray, out: Shape, layer: Any) -> None:
    """Shape-compatible targets whose values suggest the other label encoding."""
    classes = out[-1] if out else None
    if kind == "sparse":
        if y.dtype.kind == "f" and y.shape[-1:] == (classes,) and _looks_one_hot(y) and len(out) > 2:
            _warn(f"{name} expects integer class ids, but the targets {_fmt((None,) + y.shape[1:])} look one-hot. "
                  "Use loss='categorical_crossentropy', or pass y.argmax(axis=-1).")
            return
        if y.size and _integer_valued(y) and classes is not None:
            top, low = int(np.max(y)), int(np.min(y))
            if low < 0 or top >= classes:
                rows = np.reshape((y < 0) | (y >= classes), (y.shape[0], -1)).any(axis=1)
                raise ValueError(
                    f"Targets for {layer.name} ({type(layer).__name__}), output {_fmt(out)}, contain class id "
                    f"{top if top >= classes else low} (first bad row: {int(np.argmax(rows))}), but the output has "
                    f"{classes} classes (ids 0 to "
                    f"{classes - 1}) for loss '{name}'. Fix: give the last layer one unit per class "
                    f"(Dense({max(top + 1, classes)}) for ids up to {top}), or check the labels.")
        elif y.size and not _integer_valued(y):
            _warn(f"{name} expects integer class ids, but the targets for {layer.name} are not whole numbers.")
    elif kind == "categorical" and y.size:
        if classes == 1:
            return  # warn_for_model covers a one-unit categorical output
        if _integer_valued(y) and not _looks_one_hot(y):
            if np.max(y) > 1 or np.min(y) < 0:
                _warn(f"{name} expects one-hot rows, but the targets for {layer.name} hold integers outside 0/1 "
                      f"(up to {int(np.max(y))}). For integer class ids use loss='sparse_categorical_crossentropy'.")
            elif np.any(y.reshape(-1, y.shape[-1])[:1000].sum(axis=-1) > 1):
                _warn(f"{name} expects one class per sample, but some target rows for {layer.name} have several 1s "
                      "(multi-label). For multi-label targets use sigmoid outputs with binary_crossentropy.")
