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

    def __iter__(self) -> Any:
        raise NotImplementedError("Iterating over a symbolic KerasTensor is not supported.")

    def __bool__(self) -> bool:
        raise TypeError("A symbolic KerasTensor cannot be used as a boolean.")

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        raise ValueError("A KerasTensor is symbolic: it's a placeholder for a shape and a dtype. It doesn't have any "
                         "actual numerical value. You cannot convert it to a NumPy array.")

    def __jax_array__(self) -> Any:
        raise ValueError("A KerasTensor cannot be used as input to a JAX function: it is a symbolic placeholder for a "
                         "shape and dtype. Use lamina.ops functions or layers on it, or wrap the JAX code in a layer "
                         "(class MyLayer(Layer): def call(self, x): return jax_fn(x)) or a layers.Lambda.")

    # Python operators record the operations Keras records (``x * 2`` -> ``Multiply``, ``x[:, 0]`` -> ``GetItem``).
    def __add__(self, o: Any) -> Any: return _op("add", self, o)  # noqa: E704
    def __radd__(self, o: Any) -> Any: return _op("add", o, self)  # noqa: E704
    def __sub__(self, o: Any) -> Any: return _op("subtract", self, o)  # noqa: E704
    def __rsub__(self, o: Any) -> Any: return _op("subtract", o, self)  # noqa: E704
    def __mul__(self, o: Any) -> Any: return _op("multiply", self, o)  # noqa: E704
    def __rmul__(self, o: Any) -> Any: return _op("multiply", o, self)  # noqa: E704
    def __matmul__(self, o: Any) -> Any: return _op("matmul", self, o)  # noqa: E704
    def __rmatmul__(self, o: Any) -> Any: return _op("matmul", o, self)  # noqa: E704
    def __truediv__(self, o: Any) -> Any: return _op("true_divide", self, o)  # noqa: E704
    def __rtruediv__(self, o: Any) -> Any: return _op("true_divide", o, self)  # noqa: E704
    def __floordiv__(self, o: Any) -> Any: return _op("floor_divide", self, o)  # noqa: E704
    def __rfloordiv__(self, o: Any) -> Any: return _op("floor_divide", o, self)  # noqa: E704
    def __mod__(self, o: Any) -> Any: return _op("mod", self, o)  # noqa: E704
    def __rmod__(self, o: Any) -> Any: return _op("mod", o, self)  # noqa: E704
    def __pow__(self, o: Any) -> Any: return _op("power", self, o)  # noqa: E704
    def __rpow__(self, o: Any) -> Any: return _op("power", o, self)  # noqa: E704
    def __neg__(self) -> Any: return _op("negative", self)  # noqa: E704
    def __abs__(self) -> Any: return _op("absolute", self)  # noqa: E704
    def __lt__(self, o: Any) -> Any: return _op("less", self, o)  # noqa: E704
    def __le__(self, o: Any) -> Any: return _op("less_equal", self, o)  # noqa: E704
    def __gt__(self, o: Any) -> Any: return _op("greater", self, o)  # noqa: E704
    def __ge__(self, o: Any) -> Any: return _op("greater_equal", self, o)  # noqa: E704
    def __ne__(self, o: Any) -> Any: return _op("not_equal", self, o)  # type: ignore[override]  # noqa: E704
    def __and__(self, o: Any) -> Any: return _op("logical_and", self, o)  # noqa: E704
    def __rand__(self, o: Any) -> Any: return _op("logical_and", o, self)  # noqa: E704
    def __or__(self, o: Any) -> Any: return _op("logical_or", self, o)  # noqa: E704
    def __ror__(self, o: Any) -> Any: return _op("logical_or", o, self)  # noqa: E704
    def __xor__(self, o: Any) -> Any: return _op("logical_xor", self, o)  # noqa: E704
    def __rxor__(self, o: Any) -> Any: return _op("logical_xor", o, self)  # noqa: E704
    def __invert__(self) -> Any: return _op("logical_not", self)  # noqa: E704
    def __getitem__(self, key: Any) -> Any: return _op("get_item", self, key)  # noqa: E704
    def __round__(self, ndigits: int | None = None) -> Any: return _op("round", self, ndigits or 0)  # noqa: E704

    def reshape(self, newshape: Any) -> Any:
        return _op("reshape", self, tuple(newshape) if isinstance(newshape, (list, tuple)) else (newshape,))

    def squeeze(self, axis: Any = None) -> Any:
        return _op("squeeze", self, axis)


def _op(name: str, *args: Any) -> Any:
    # Imported here: the ops package sits above the graph (its operations create the graph's nodes).
    from lamina.ops import symbolic

    return symbolic.operator(name, *args)


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
