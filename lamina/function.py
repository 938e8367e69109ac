"""``Function``: a graph of operations and layers between symbolic inputs and outputs, callable on arrays
(Keras 3's ``keras.Function``, the graph a functional model runs, without the model around it).

>>> import numpy as np
>>> from lamina import ops
>>> from lamina.graph import KerasTensor
>>> a, b = KerasTensor((None, 2)), KerasTensor((None, 2))
>>> fn = Function([a, b], ops.sigmoid(a + b) * 2)
>>> np.asarray(fn([np.zeros((1, 2), "float32"), np.zeros((1, 2), "float32")])).tolist()
[[1.0, 1.0]]
"""

from __future__ import annotations

from typing import Any

from lamina import naming
from lamina.graph import KerasTensor, Node, flatten_tensors, map_structure


def _graph_nodes(inputs: list[KerasTensor], outputs: list[KerasTensor], name: str) -> list[Node]:
    """The nodes between ``inputs`` and ``outputs`` in an order that computes each before its use."""
    known = {id(t) for t in inputs}
    order: list[Node] = []
    done: set[int] = set()
    for out in outputs:
        stack: list[tuple[KerasTensor, bool]] = [(out, False)]
        while stack:
            tensor, expanded = stack.pop()
            if id(tensor) in known:
                continue
            if tensor.history is None:
                raise ValueError(f"Function '{name}': the output depends on {tensor!r}, which is not among the "
                                 "inputs and was not computed from them. Pass it in inputs=[...].")
            node = tensor.history.layer._inbound_nodes[tensor.history.node_index]
            if node.id in done:
                continue
            if expanded:
                done.add(node.id)
                order.append(node)
                continue
            stack.append((tensor, True))
            for parent in reversed(node.input_tensors):
                stack.append((parent, False))
    return order


class Function:
    """Calls the operations that made ``outputs`` from ``inputs`` (nested lists/dicts of ``KerasTensor``).

    Calling it on arrays computes the outputs; calling it on ``KerasTensor``s gives their shapes and dtypes.
    """

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None) -> None:
        self.name = name or naming.auto_name("function")
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self._inputs, self._outputs = flatten_tensors(inputs), flatten_tensors(outputs)
        if not self._inputs or not self._outputs:
            raise ValueError(f"Function '{self.name}' needs KerasTensor inputs and outputs; received inputs={inputs!r}"
                             f", outputs={outputs!r}.")
        self._nodes = _graph_nodes(self._inputs, self._outputs, self.name)
        self._operations = list({id(n.layer): n.layer for n in self._nodes}.values())

    @property
    def inputs(self) -> list[KerasTensor]:
        return self._inputs

    @property
    def outputs(self) -> list[KerasTensor]:
        return self._outputs

    @property
    def operations(self) -> list[Any]:
        """The operations and layers of the graph, each once, in execution order."""
        return self._operations

    def _flat_values(self, inputs: Any) -> list[Any]:
        flat: list[Any] = []
        map_structure(flat.append, inputs)
        if len(flat) != len(self._inputs):
            raise ValueError(f"Function '{self.name}' expects {len(self._inputs)} inputs, received {len(flat)}.")
        for value, spec in zip(flat, self._inputs):
            shape = tuple(getattr(value, "shape", ()))
            if len(shape) != len(spec.shape) or any(s is not None and d is not None and s != d
                                                    for s, d in zip(spec.shape, shape)):
                raise ValueError(f"Function '{self.name}': input shape {shape} does not match the expected shape "
                                 f"{spec.shape}.")
        return flat

    def call(self, inputs: Any, training: bool = False) -> Any:
        """The outputs for concrete ``inputs`` laid out as the ``inputs`` given at construction."""
        from lamina.models.functional import run_graph  # inside: models sit above this module

        return run_graph(self._nodes, self._inputs, self._flat_values(inputs), self._outputs_struct, training)

    def compute_output_spec(self, inputs: Any) -> Any:
        """The outputs' ``KerasTensor``s (shapes and dtypes) for symbolic or concrete ``inputs``."""
        import jax

        flat = self._flat_values(inputs)
        specs = [jax.ShapeDtypeStruct(tuple(1 if d is None else d for d in t.shape), t.dtype) for t in flat]
        out = jax.eval_shape(lambda *xs: self.call(self._restructure(list(xs))), *specs)
        given = [tuple(t.shape) for t in flat]
        batch_unknown = any(s and s[0] is None for s in given)
        return jax.tree_util.tree_map(
            lambda s: KerasTensor((None,) + tuple(s.shape[1:]) if batch_unknown and s.shape else tuple(s.shape),
                                  dtype=str(s.dtype)), out)

    def _restructure(self, flat: list[Any]) -> Any:
        it = iter(flat)
        return map_structure(lambda _: next(it), self._inputs_struct)

    def __call__(self, inputs: Any, training: bool = False) -> Any:
        if flatten_tensors(inputs):
            return self.compute_output_spec(inputs)
        return self.call(inputs, training=training)

    def __repr__(self) -> str:
        return f"<Function name={self.name}, inputs={len(self._inputs)}, outputs={len(self._outputs)}>"
