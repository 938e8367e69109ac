"""Keras masks: a boolean ``(batch, time)`` array travelling beside a tensor from the layer that made it
(``Embedding(mask_zero=True)``, ``Masking``) to the layers that use it (RNNs, attention, ``Softmax``).

As in Keras, a layer receives the mask of its first input as ``call(..., mask=...)`` when its ``call`` has a
``mask`` argument the caller left unset, and the mask of a tensor argument ``query`` as ``query_mask`` (attention
layers). After the call, a layer that ``supports_masking`` gives its outputs ``compute_mask(inputs, mask)``.
Eager arrays carry their mask in a weak side table (JAX arrays take no attributes); symbolic tensors carry
a ``_keras_mask`` tensor spec; a model's graph passes the arrays along itself.

>>> import numpy as np
>>> from lamina import layers
>>> ids = np.array([[3, 1, 0, 0]])
>>> x = layers.Embedding(5, 2, mask_zero=True)(ids)
>>> get_mask(x).tolist()
[[True, True, False, False]]
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any

from lamina.graph import KerasTensor, map_structure

_EAGER_MASKS: dict[int, Any] = {}


def _forget(key: int) -> None:
    _EAGER_MASKS.pop(key, None)


def get_mask(value: Any) -> Any:
    """The mask attached to an array or a symbolic tensor, else ``None``."""
    if isinstance(value, KerasTensor):
        return getattr(value, "_keras_mask", None)
    return _EAGER_MASKS.get(id(value))


def set_mask(value: Any, mask: Any) -> None:
    """Attach ``mask`` to ``value`` (no-op for values that cannot be tracked, e.g. Python numbers)."""
    if isinstance(value, KerasTensor):
        value._keras_mask = mask
        return
    if mask is None:
        _EAGER_MASKS.pop(id(value), None)
        return
    try:
        weakref.finalize(value, _forget, id(value))
    except TypeError:  # not weak-referenceable: an attached mask could outlive it under a reused id
        return
    _EAGER_MASKS[id(value)] = mask


def call_parameters(layer: Any) -> dict[str, inspect.Parameter]:
    """The named parameters of ``layer.call`` (cached per class)."""
    cls = type(layer)
    cached = cls.__dict__.get("_call_parameters_cache")
    if cached is None:
        params = dict(inspect.signature(cls.call).parameters)
        params.pop("self", None)
        cached = {k: p for k, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        cls._call_parameters_cache = cached
    return cached


def takes_mask(layer: Any) -> bool:
    """Whether ``layer.call`` accepts a ``mask`` argument (by name or through ``**kwargs``)."""
    cls = type(layer)
    cached = cls.__dict__.get("_takes_mask_cache")
    if cached is None:
        params = inspect.signature(cls.call).parameters.values()
        cached = any(p.name == "mask" or p.kind == p.VAR_KEYWORD for p in params)
        cls._takes_mask_cache = cached
    return cached


def fill_masks(layer: Any, args: tuple[Any, ...], kwargs: dict[str, Any], mask_of: Callable[[Any], Any]
               ) -> tuple[dict[str, Any], Any]:
    """Add the masks the inputs carry to ``kwargs`` where ``layer.call`` takes them and the caller gave none.

    Returns the new kwargs and the mask the outputs' ``compute_mask`` starts from (the explicit ``mask`` or
    the first input's).
    """
    params = call_parameters(layer)
    explicit = kwargs.get("mask")
    previous = explicit if explicit is not None else map_structure(mask_of, args[0]) if args else None
    if _all_none(previous):
        previous = None
    if "mask" in params and explicit is None and previous is not None:
        kwargs = {**kwargs, "mask": previous}
    names = [n for n in params if n not in ("mask", "training")]
    bound = dict(zip(names, args))
    bound.update({k: v for k, v in kwargs.items() if k in params})
    for name, value in bound.items():
        slot = f"{name}_mask"
        if slot in params and kwargs.get(slot) is None and not isinstance(value, (list, dict)):
            m = mask_of(value) if value is not None else None
            if m is not None:
                kwargs = {**kwargs, slot: m}
    return kwargs, previous


def output_mask(layer: Any, inputs: Any, previous: Any) -> Any:
    """``layer.compute_mask(inputs, previous)`` for a layer that supports masking, else ``None``."""
    if not layer.supports_masking:
        return None
    return layer.compute_mask(inputs, previous)


def attach(outputs: Any, masks: Any, setter: Callable[[Any, Any], None] = set_mask) -> None:
    """Give each output its mask (one mask for every output when ``masks`` is a single array)."""
    if masks is None:
        return
    flat: list[Any] = []
    map_structure(flat.append, outputs)
    if isinstance(masks, (list, tuple)) and len(masks) == len(flat):
        pairs = zip(flat, masks)
    else:
        pairs = ((o, masks) for o in flat)
    for out, mask in pairs:
        if mask is not None:
            setter(out, mask)


def _all_none(structure: Any) -> bool:
    if structure is None:
        return True
    if isinstance(structure, (list, tuple)):
        return all(_all_none(s) for s in structure)
    if isinstance(structure, dict):
        return all(_all_none(s) for s in structure.values())
    return False
