"""Helpers over functional graphs: ``get_source_inputs``, ``model_to_dot``; and data tuples
``pack_x_y_sample_weight``/``unpack_x_y_sample_weight``.

>>> from lamina import layers
>>> x = layers.Input((3,))
>>> y = layers.Dense(2)(layers.Dense(4)(x))
>>> get_source_inputs(y) == [x]
True
>>> unpack_x_y_sample_weight((1, 2))
(1, 2, None)
"""

from __future__ import annotations

from typing import Any

__all__ = ["get_source_inputs", "model_to_dot", "pack_x_y_sample_weight", "unpack_x_y_sample_weight"]


def get_source_inputs(tensor: Any) -> list[Any]:
    """The ``Input`` tensors that ``tensor`` was computed from, in order of first appearance."""
    from lamina.graph import KerasTensor  # graph sits above utils; import on use

    if not isinstance(tensor, KerasTensor):
        raise ValueError(f"get_source_inputs expects a symbolic tensor (a KerasTensor), received {type(tensor)}.")
    found: list[Any] = []
    seen: set[int] = set()
    stack = [tensor]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        history = current.history
        node = None
        if history is not None and history.layer._inbound_nodes:
            node = history.layer._inbound_nodes[history.node_index]
        if node is None or not node.input_tensors:
            found.append(current)
            continue
        stack.extend(reversed(node.input_tensors))
    return found


def model_to_dot(model: Any, show_shapes: bool = False, show_dtype: bool = False, show_layer_names: bool = True,
                 rankdir: str = "TB", expand_nested: bool = False, dpi: int = 200, subgraph: bool = False,
                 show_layer_activations: bool = False, show_trainable: bool = False, splines: str = "ortho",
                 **kwargs: Any) -> Any:
    """A ``pydot.Dot`` graph of the model's layers (needs ``pydot``; ``plot_model`` draws without it)."""
    try:
        import pydot
    except ImportError as err:
        raise ImportError("model_to_dot needs pydot and graphviz: run `pip install pydot` and install graphviz "
                          "(https://graphviz.gitlab.io/download/). lamina.utils.plot_model draws a model with "
                          "matplotlib instead.") from err
    dot = pydot.Dot(graph_type="digraph", rankdir=rankdir, splines=splines, dpi=dpi)
    ids: dict[int, str] = {}
    layers = list(getattr(model, "layers", []))
    for layer in layers:
        label = layer.name if show_layer_names else type(layer).__name__
        if show_layer_names:
            label = f"{layer.name} ({type(layer).__name__})"
        if show_layer_activations and getattr(layer, "activation", None) is not None:
            label += f"\nactivation: {getattr(layer.activation, '__name__', layer.activation)}"
        if show_shapes:
            label += f"\noutput shape: {getattr(layer, 'output_shape', '?')}"
        if show_dtype:
            label += f"\ndtype: {getattr(layer, 'dtype', '?')}"
        if show_trainable:
            label += f"\ntrainable: {layer.trainable}"
        ids[id(layer)] = str(id(layer))
        dot.add_node(pydot.Node(ids[id(layer)], label=label, shape="record"))
    for previous, layer in zip(layers, layers[1:]):
        inbound = [n.inbound_layers for n in getattr(layer, "_inbound_nodes", [])]
        sources = [src for group in inbound for src in group if id(src) in ids] or [previous]
        for src in sources:
            dot.add_edge(pydot.Edge(ids[id(src)], ids[id(layer)]))
    return dot


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """``x`` (or ``(x,)`` when ``x`` is a tuple or list), ``(x, y)`` or ``(x, y, sample_weight)``."""
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """``(x, y, sample_weight)`` from ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if len(data) == 1:
        return (data[0], None, None)
    if len(data) == 2:
        return (data[0], data[1], None)
    if len(data) == 3:
        return (data[0], data[1], data[2])
    raise ValueError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, found: "
                     f"{data}")
