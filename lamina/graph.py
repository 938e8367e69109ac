"""Symbolic tensors and the nodes that connect layers in a functional graph.

A :class:`KerasTensor` has a static shape with ``None`` for unknown sizes (the batch) and remembers which
layer call produced it (``history``). Calling a layer on KerasTensors records a :class:`Node`.

>>> from lamina import layers
>>> x = layers.Input((2, 3))
>>> layers.Dense(4)(x).shape
(None, 2, 4)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, NamedTuple

_node_ids = itertools.count()


class History(NamedTuple):
    layer: Any
    node_index: int
    tensor_index: int


class KerasTensor:
    """A symbolic tensor: a shape (``None`` for unknown sizes), a dtype and the call that made it."""

    def __init__(self, shape: tuple[int | None, ...], dtype: str = "float32", name: str | None = None,
                 history: History | None = None) -> None:
        self.shape = tuple(shape)
        self.dtype = str(dtype)
        self.name = name
        self.history = history

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        origin = f", name={self.history.layer.name}" if self.history else ""
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}{origin}>"

    def __hash__(self) -> int:
        return id(self)

    def __len__(self) -> int:
        raise TypeError("A symbolic tensor has no len(); use .shape.")


class Node:
    """One call of ``layer`` on symbolic inputs, producing symbolic outputs."""

    def __init__(self, layer: Any, args: Any, kwargs: dict[str, Any], outputs: Any) -> None:
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs
        self.input_tensors: list[KerasTensor] = flatten_tensors((args, kwargs))
        self.output_tensors: list[KerasTensor] = flatten_tensors(outputs)
        self.id = next(_node_ids)

    @property
    def inbound_layers(self) -> list[Any]:
        return [t.history.layer for t in self.input_tensors if t.history is not None]


def flatten_tensors(structure: Any) -> list[KerasTensor]:
    """Every KerasTensor inside nested lists, tuples and dicts, in order."""
    out: list[KerasTensor] = []

    def visit(item: Any) -> None:
        if isinstance(item, KerasTensor):
            out.append(item)
        elif isinstance(item, (list, tuple)):
            for sub in item:
                visit(sub)
        elif isinstance(item, dict):
            for sub in item.values():
                visit(sub)

    visit(structure)
    return out


def map_structure(fn: Callable[[Any], Any], structure: Any) -> Any:
    """Apply ``fn`` to every leaf of nested lists, tuples and dicts, keeping the nesting."""
    if isinstance(structure, list):
        return [map_structure(fn, s) for s in structure]
    if isinstance(structure, tuple) and not hasattr(structure, "_fields"):
        return tuple(map_structure(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


def any_symbolic(structure: Any) -> bool:
    """Whether ``structure`` holds a KerasTensor anywhere."""
    return bool(flatten_tensors(structure))
