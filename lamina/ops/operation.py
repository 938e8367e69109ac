"""``Operation``: a computation that can be called on arrays or on symbolic tensors (Keras 3's ``keras.Operation``).

Called on :class:`~lamina.graph.KerasTensor` arguments an operation records a :class:`~lamina.graph.Node` in the
functional graph, with output shapes and dtypes found by abstract evaluation of ``call``; called on arrays it runs
``call``. Layers are operations with weights; the ops of :mod:`lamina.ops` (``ops.add``, ``x[:, 0]``...) record
weightless operations named as Keras names them (``Add``, ``GetItem``).

>>> from lamina import layers
>>> class Double(Operation):
...     def call(self, x):
...         return x * 2
>>> Double()(layers.Input((3,))).shape
(None, 3)
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from lamina import naming
from lamina.graph import History, KerasTensor, Node, any_symbolic, map_structure

# Filler sizes for unknown axes: an axis whose output size differs between the two runs is unknown (None).
_FILLS = ((2, 3), (4, 6))


class Operation:
    """A named computation; ``call`` defines it, ``op(*args)`` runs it or records it on symbolic tensors."""

    def __init__(self, name: str | None = None) -> None:
        if name is None:
            name = naming.auto_name(type(self).__name__)
        if not isinstance(name, str) or "/" in name:
            raise ValueError(f"Argument `name` must be a string and cannot contain character `/`. Received: "
                             f"name={name!r} (of type {type(name).__name__}).")
        self.name = name
        self._inbound_nodes: list[Node] = []

    # weightless: what the graph, the summary and the weight walk ask of every node's operation
    built = True
    trainable = False
    weights: list[Any] = []
    trainable_weights: list[Any] = []
    non_trainable_weights: list[Any] = []

    def count_params(self) -> int:
        return 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if any_symbolic((args, kwargs)):
            return self.symbolic_call(*args, **kwargs)
        return self.call(*args, **kwargs)

    def call(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"Operation {type(self).__name__} does not implement call().")

    def symbolic_call(self, *args: Any, **kwargs: Any) -> Any:
        """Record a node: ``compute_output_spec`` gives the outputs, which remember this call."""
        specs = self.compute_output_spec(*args, **kwargs)
        node_index = len(self._inbound_nodes)
        counter = iter(range(1_000_000))
        outputs = map_structure(lambda s: KerasTensor(s.shape, s.dtype, history=History(self, node_index,
                                                                                         next(counter))), specs)
        self._inbound_nodes.append(Node(self, args, kwargs, outputs))
        return outputs

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        """Output KerasTensors (without history) by evaluating ``call`` abstractly."""
        try:
            return abstract_eval(self.call, args, kwargs)
        except Exception as e:  # noqa: BLE001 - re-raised with the operation named
            raise type(e)(f"Could not infer the output shape / dtype of '{self.name}' (of type "
                          f"{type(self).__name__}) on inputs {_describe(args, kwargs)}: {e}") from e

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Operation:
        return cls(**config)

    @property
    def input(self) -> Any:
        return self._node(0).args[0] if len(self._node(0).args) == 1 else list(self._node(0).args)

    @property
    def output(self) -> Any:
        return self._node(0).outputs

    def _node(self, index: int) -> Node:
        if not self._inbound_nodes:
            raise AttributeError(f"Operation '{self.name}' has never been called and thus has no defined input "
                                 "or output.")
        return self._inbound_nodes[index]

    def __repr__(self) -> str:
        return f"<Operation name={self.name}>"


def abstract_eval(fn: Any, args: Any, kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` evaluated on shapes only: KerasTensors out (``None`` where sizes are unknown).

    Unknown input sizes are filled with two sizes in turn; output axes whose size differs are ``None``. Non-tensor
    arguments are constants.
    """
    error: Exception | None = None
    for fills in _FILLS:
        try:
            first, second = (_eval_filled(fn, args, kwargs, fill) for fill in fills)
            break
        except Exception as e:  # noqa: BLE001 - a shape rule may need other filler sizes (e.g. even ones)
            error = error or e
    else:
        assert error is not None
        raise error

    def merge(a: Any, b: Any) -> KerasTensor:
        shape = tuple(None if x != y else int(x) for x, y in zip(a.shape, b.shape))
        return KerasTensor(shape, str(jnp.dtype(a.dtype)))

    return jax.tree_util.tree_map(merge, first, second)


def _eval_filled(fn: Any, args: Any, kwargs: Any, fill: int) -> Any:
    tensors: list[KerasTensor] = []

    def collect(item: Any) -> Any:
        if isinstance(item, KerasTensor):
            tensors.append(item)
        return item

    map_structure(collect, (args, kwargs))
    specs = [jax.ShapeDtypeStruct(tuple(fill if d is None else d for d in t.shape), t.dtype) for t in tensors]

    def run(*values: Any) -> Any:
        lookup = {id(t): v for t, v in zip(tensors, values)}
        a, k = map_structure(lambda item: lookup.get(id(item), item) if isinstance(item, KerasTensor) else item,
                             (args, kwargs))
        return fn(*a, **k)

    return jax.eval_shape(run, *specs)


def _describe(args: Any, kwargs: Any) -> str:
    shown = map_structure(lambda t: f"KerasTensor{t.shape}:{t.dtype}" if isinstance(t, KerasTensor) else t,
                          (list(args), kwargs))
    return f"args={shown[0]}, kwargs={shown[1]}"
