"""The layer graph of a functional model: ordering nodes, checking connectivity, running it, and its config.

>>> from lamina import layers
>>> from lamina.models.functional import map_graph
>>> x = layers.Input((3,))
>>> nodes, model_layers = map_graph([x], [layers.Dense(2, name="d")(x)])
>>> [layer.name for layer in model_layers][1:]
['d']
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from lamina.graph import KerasTensor, Node, flatten_tensors, map_structure
from lamina.layers.base import CallScope, Layer, resolve_training, shape_str
from lamina.layers.input_layer import InputLayer
from lamina.layers.masks import attach, fill_masks, output_mask, takes_mask
from lamina.ops import symbolic


def map_graph(inputs: list[KerasTensor], outputs: list[KerasTensor], model_name: str = "model"
              ) -> tuple[list[Node], list[Any]]:
    """Nodes from ``inputs`` to ``outputs`` in execution order, and the layers in Keras's summary order.

    Raises a ValueError naming the layer and the missing input when an output is not computed from
    ``inputs``.
    """
    input_ids = {id(t) for t in inputs}
    for i, t in enumerate(inputs):
        if not isinstance(t, KerasTensor) or t.history is None:
            raise ValueError(f"Model '{model_name}': input {i} must be a tensor from lamina.layers.Input(), "
                             f"received {t!r}.")
        if not isinstance(t.history.layer, InputLayer):
            raise ValueError(
                f"Model '{model_name}': input {i} comes from layer '{t.history.layer.name}', not from an Input. "
                "Model inputs must be the tensors returned by lamina.layers.Input(...)."
            )
    order: list[Node] = []
    state: dict[int, int] = {}  # node id -> 1 visiting, 2 done
    first_seen: dict[int, int] = {}  # layer id -> DFS visit index (Keras's order among layers of one depth)

    def node_of(t: KerasTensor) -> Node:
        return t.history.layer._inbound_nodes[t.history.node_index]

    for out in outputs:
        if not isinstance(out, KerasTensor) or out.history is None:
            raise ValueError(f"Model '{model_name}': outputs must be tensors produced by layers from the model's "
                             f"inputs, received {out!r}.")
        stack: list[tuple[KerasTensor, bool, Any]] = [(out, False, None)]
        while stack:
            tensor, expanded, consumer = stack.pop()
            node = node_of(tensor)
            if expanded:
                if state.get(node.id) != 2:
                    state[node.id] = 2
                    order.append(node)
                continue
            if state.get(node.id) == 2:
                continue
            if isinstance(node.layer, InputLayer):
                if id(tensor) not in input_ids:
                    given = ", ".join(t.history.layer.name for t in inputs) or "none"
                    user = (f"layer '{consumer.name}' ({type(consumer).__name__}) uses" if consumer is not None
                            else "an output is")
                    raise ValueError(
                        f"Model '{model_name}': its outputs are not connected to its inputs: {user} "
                        f"Input '{node.layer.name}' {shape_str(tensor.shape)}, which is not among the model's "
                        f"inputs ({given}). Pass it in Model(inputs=[...]) or build the outputs from the given "
                        "inputs."
                    )
                first_seen.setdefault(id(node.layer), len(first_seen))
                state[node.id] = 2
                order.append(node)
                continue
            if state.get(node.id) == 1:
                continue
            first_seen.setdefault(id(node.layer), len(first_seen))
            state[node.id] = 1
            stack.append((tensor, True, consumer))
            for parent in reversed(node.input_tensors):
                stack.append((parent, False, node.layer))
    # Depths as Keras computes them: a node is one deeper than its deepest consumer, and a shared layer
    # takes the largest depth of its nodes.
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    in_graph = {n.id for n in order}
    for node in reversed(order):
        d = max(node_depth.setdefault(node.id, 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[node.id] = d
        for parent in node.input_tensors:
            pnode = node_of(parent)
            if pnode.id in in_graph:
                node_depth[pnode.id] = max(d + 1, node_depth.get(pnode.id, 0))
    # Inputs that no output uses still belong to the model.
    for t in inputs:
        node = node_of(t)
        if state.get(node.id) != 2:
            state[node.id] = 2
            order.insert(0, node)
            layer_depth[id(node.layer)] = 0
            first_seen[id(node.layer)] = -1
    unique = list({id(n.layer): n.layer for n in order}.values())
    model_layers = sorted(unique, key=lambda layer: (-layer_depth[id(layer)], first_seen[id(layer)]))
    names = [layer.name for layer in model_layers]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"Model '{model_name}': layer names must be unique, but {duplicates} appear more than "
                         "once. Give each layer its own name=... .")
    return order, model_layers


def run_graph(nodes: list[Node], inputs: list[KerasTensor], values: list[Any], outputs_struct: Any,
              training: bool) -> Any:
    """Evaluate ``nodes`` in order from concrete input ``values``; returns outputs shaped like ``outputs_struct``."""
    env: dict[int, Any] = {id(t): v for t, v in zip(inputs, values)}
    masks: dict[int, Any] = {}  # KerasTensor id -> the mask its value carries (Keras's _keras_mask)

    def lookup(item: Any) -> Any:
        return env[id(item)] if isinstance(item, KerasTensor) else item

    def mask_of(item: Any) -> Any:
        return masks.get(id(item)) if isinstance(item, KerasTensor) else None

    for node in nodes:
        if isinstance(node.layer, InputLayer):
            continue
        layer = node.layer
        if not isinstance(layer, Layer):  # an operation (x * 2, ops.concatenate): no training flag, no masks
            result = layer.call(*map_structure(lookup, node.args), **map_structure(lookup, dict(node.kwargs)))
            _store(env, node, result)
            continue
        kwargs, previous = fill_masks(layer, node.args, dict(node.kwargs), mask_of)
        args = map_structure(lookup, node.args)
        kwargs = map_structure(lookup, kwargs)
        previous = map_structure(lookup, previous)
        kwargs.pop("training", None)
        if "mask" in kwargs and not takes_mask(layer):
            kwargs.pop("mask")
        scope = CallScope.current()
        layer_training = training if scope is None or scope.explicit_training else resolve_training(layer, scope)
        result = layer._call_with_training(args[0], tuple(args[1:]), kwargs, layer_training)
        produced = node.output_tensors
        _store(env, node, result)
        if previous is not None or type(layer).compute_mask is not Layer.compute_mask:
            attach(produced, output_mask(layer, args[0], previous),
                           lambda t, m: masks.__setitem__(id(t), m))
    return map_structure(lookup, outputs_struct)


def _store(env: dict[int, Any], node: Node, result: Any) -> None:
    produced = node.output_tensors
    if len(produced) == 1 and not isinstance(node.outputs, (list, tuple, dict)):
        env[id(produced[0])] = result
    else:
        flat: list[Any] = []
        map_structure(flat.append, result)
        for t, v in zip(produced, flat):
            env[id(t)] = v


def model_node_indices(nodes: list[Node]) -> dict[int, int]:
    """Renumber each layer's nodes that belong to this model 0, 1, ... (Keras's ``node_index`` in configs)."""
    node_ids = {n.id for n in nodes}
    out: dict[int, int] = {}
    for node in nodes:
        relevant = [n for n in node.layer._inbound_nodes if n.id in node_ids]
        out[node.id] = relevant.index(node)
    return out


def encode_tensor(t: KerasTensor, node_index: dict[int, int]) -> dict[str, Any]:
    """A KerasTensor as Keras 3 writes it in ``inbound_nodes``."""
    layer = t.history.layer
    node = layer._inbound_nodes[t.history.node_index]
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(t.shape), "dtype": t.dtype,
                       "keras_history": [layer.name, node_index.get(node.id, 0), t.history.tensor_index]}}


def functional_config(model: Any) -> dict[str, Any]:
    """Keras 3's ``Functional`` config: layers with ``inbound_nodes``, ``input_layers``, ``output_layers``."""
    from lamina.layers import serialize  # the layer registry imports models

    index = model_node_indices(model._nodes)
    node_ids = {n.id for n in model._nodes}

    def enc(item: Any) -> Any:
        return encode_tensor(item, index) if isinstance(item, KerasTensor) else encode_constant(item)

    layer_configs = []
    for layer in model._operations:
        entry = serialize(layer) if isinstance(layer, Layer) else serialize_operation(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [] if isinstance(layer, InputLayer) else [
            {"args": list(map_structure(enc, node.args)), "kwargs": map_structure(enc, node.kwargs)}
            for node in layer._inbound_nodes if node.id in node_ids]
        layer_configs.append(entry)

    def triple(t: KerasTensor) -> list[Any]:
        return encode_tensor(t, index)["config"]["keras_history"]

    def struct(s: Any) -> Any:
        if isinstance(s, KerasTensor):
            return triple(s)
        if isinstance(s, dict):
            return {k: triple(v) for k, v in s.items()}
        return [triple(t) for t in s]

    return {"name": model.name, "trainable": model.trainable, "layers": layer_configs,
            "input_layers": struct(model._inputs_struct), "output_layers": struct(model._outputs_struct)}


def functional_from_config(cls: type, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
                           ) -> Any:
    """Rebuild a functional model from ``functional_config`` output (or a Keras-saved config)."""
    from lamina.layers import deserialize  # the layer registry imports models

    created: dict[str, Any] = {}
    tensors: dict[tuple[str, int, int], KerasTensor] = {}
    pending: list[tuple[Any, int, dict[str, Any]]] = []
    for entry in config["layers"]:
        op_cls = symbolic.class_for(entry.get("module") or "", entry.get("class_name", "")) if str(
            entry.get("module")).startswith(("keras.src.ops", "keras.ops")) else None
        layer = op_cls.from_config(entry.get("config", {})) if op_cls else deserialize(entry, custom_objects)
        name = entry.get("name", layer.name)
        created[name] = layer
        if isinstance(layer, InputLayer):
            tensors[(name, 0, 0)] = layer.output
        for i, node in enumerate(entry.get("inbound_nodes", [])):
            pending.append((layer, i, node))

    def decode(item: Any) -> Any:
        if isinstance(item, dict) and item.get("class_name") == "__keras_tensor__":
            name, node_index, tensor_index = item["config"]["keras_history"]
            return tensors[(name, node_index, tensor_index)]
        if isinstance(item, dict) and item.get("class_name") in _CONSTANTS and "config" in item:
            return _CONSTANTS[item["class_name"]](item["config"], decode)
        if isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) and (
                item[0], item[1], item[2]) in tensors and all(isinstance(v, int) for v in item[1:]):
            return tensors[tuple(item)]  # Keras 2 style [name, node, tensor] triples
        if isinstance(item, (list, tuple)):
            return [decode(v) for v in item]
        if isinstance(item, dict):
            return {k: decode(v) for k, v in item.items()}
        return item

    while pending:
        progressed = False
        for job in list(pending):
            layer, i, node = job
            try:
                args = decode(node.get("args", []))
                kwargs = decode(node.get("kwargs", {}))
            except KeyError:
                continue
            if isinstance(layer, Layer):
                kwargs = {k: v for k, v in kwargs.items() if k != "mask"}
            out = layer(*args, **kwargs)
            for j, t in enumerate(flatten_tensors(out)):
                tensors[(layer.name, i, j)] = t
            pending.remove(job)
            progressed = True
        if not progressed:
            names = sorted({job[0].name for job in pending})
            raise ValueError(f"Cannot rebuild model '{config.get('name')}': the inputs of layers {names} are "
                             "never produced. The config is inconsistent.")

    def pick(spec: Any) -> Any:
        if isinstance(spec, dict):
            return {k: pick(v) for k, v in spec.items()}
        if spec and isinstance(spec[0], str):
            return tensors[(spec[0], spec[1], spec[2])]
        return [pick(s) for s in spec]

    inputs, outputs = pick(config["input_layers"]), pick(config["output_layers"])
    return cls(inputs=inputs, outputs=outputs, name=config.get("name"), trainable=config.get("trainable", True))


def serialize_operation(op: Any) -> dict[str, Any]:
    """An operation's entry in a functional config, as Keras 3 writes ``keras.src.ops`` nodes."""
    return {"module": symbolic.keras_module(op), "class_name": type(op).__name__, "config": op.get_config(),
            "registered_name": type(op).__name__}


def encode_constant(item: Any) -> Any:
    """A non-tensor node argument in Keras's serialized form (slices, Ellipsis, arrays; tuples as lists)."""
    if isinstance(item, slice):
        return {"class_name": "__slice__", "config": {"start": encode_constant(item.start),
                                                       "stop": encode_constant(item.stop),
                                                       "step": encode_constant(item.step)}}
    if item is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(item, np.ndarray) and item.ndim > 0:
        return {"class_name": "__numpy__", "config": {"value": item.tolist(), "dtype": str(item.dtype)}}
    if isinstance(item, np.generic):
        return item.item()
    if hasattr(item, "shape") and hasattr(item, "dtype") and not isinstance(item, KerasTensor):  # a JAX array
        return {"class_name": "__tensor__", "config": {"value": np.asarray(item).tolist(), "dtype": str(item.dtype)}}
    if isinstance(item, (list, tuple)):
        return [encode_constant(v) for v in item]
    return item


def _tensor_constant(config: dict[str, Any], decode: Any) -> Any:
    return jnp.asarray(config["value"], dtype=config.get("dtype"))


def _numpy_constant(config: dict[str, Any], decode: Any) -> Any:
    return np.asarray(config["value"], dtype=config.get("dtype"))


_CONSTANTS = {
    "__slice__": lambda c, decode: slice(decode(c.get("start")), decode(c.get("stop")), decode(c.get("step"))),
    "__ellipsis__": lambda c, decode: Ellipsis,
    "__tensor__": _tensor_constant,
    "__numpy__": _numpy_constant,
}
