"""The classic Keras ``model.summary()`` table (the tf.keras 2.3-2.6 layout that tutorials show).

Sequential-like models get 3 columns at 65 characters; graphs that branch get a 98-wide table with a
``Connected to`` column.

>>> from lamina import layers, Sequential
>>> Sequential([layers.Dense(10, input_shape=(784,))]).summary(print_fn=lambda s: None)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from lamina.layers.base import shape_str
from lamina.layers.input_layer import InputLayer


def _is_sequential_like(model: Any) -> bool:
    from lamina.models import Sequential

    if isinstance(model, Sequential) or not model._functional:
        return True
    node_ids = {n.id for n in model._nodes}
    depth_count: dict[int, int] = {}
    for node in model._nodes:
        if len(node.input_tensors) > 1:
            return False
        relevant = [n for n in node.layer._inbound_nodes if n.id in node_ids]
        if len(relevant) > 1:
            return False
    # A chain: every node feeds at most one other node and there is a single input and output.
    consumers: dict[int, int] = {}
    for node in model._nodes:
        for t in node.input_tensors:
            producer = t.history.layer._inbound_nodes[t.history.node_index].id
            consumers[producer] = consumers.get(producer, 0) + 1
    del depth_count
    return len(model.inputs) == 1 and len(model.outputs) == 1 and all(c <= 1 for c in consumers.values())


def _output_shape_text(model: Any, layer: Any) -> str:
    node_ids = {n.id for n in model._nodes} if model._functional else None
    nodes = [n for n in layer._inbound_nodes if node_ids is None or n.id in node_ids]
    # Keras 2: a layer called several times still shows its shape when every call gives the same one.
    texts = {_node_output_text(n.outputs) for n in nodes}
    return texts.pop() if len(texts) == 1 else "multiple"


def _node_output_text(outputs: Any) -> str:
    if isinstance(outputs, (list, tuple)):
        return str([tuple(t.shape) for t in outputs])
    if isinstance(outputs, dict):
        return str({k: tuple(t.shape) for k, t in outputs.items()})
    return shape_str(outputs.shape)


def _connections(model: Any, layer: Any) -> list[str]:
    from lamina.models.functional import model_node_indices

    index = model_node_indices(model._nodes)
    node_ids = set(index)
    out = []
    for node in layer._inbound_nodes:
        if node.id not in node_ids or isinstance(layer, InputLayer):
            continue
        for t in node.input_tensors:
            producer = t.history.layer
            pnode = producer._inbound_nodes[t.history.node_index]
            out.append(f"{producer.name}[{index.get(pnode.id, 0)}][{t.history.tensor_index}]")
    return out


def _rows_of(model: Any) -> list[Any]:
    """The model's layers, and in a functional graph its operations (``x * 2``) where they run, as Keras lists."""
    shown = {id(layer) for layer in model.layers}
    ops = getattr(model, "_operations", []) if model._functional else []
    if not any(id(op) not in shown and not hasattr(op, "add_weight") for op in ops):
        return list(model.layers)
    return [op for op in ops if id(op) in shown or not hasattr(op, "add_weight")]


def _format_row(fields: Sequence[str], positions: Sequence[int]) -> str:
    line = ""
    for i, field in enumerate(fields):
        if i > 0:
            line = line[:-1] + " "
        line += str(field)
        line = line[: positions[i]]
        line += " " * (positions[i] - len(line))
    return line


def _count(weights: list[Any]) -> int:
    seen, total = set(), 0
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            total += w.size
    return total


def print_summary(model: Any, line_length: int | None = None, positions: Sequence[float] | None = None,
                  print_fn: Callable[[str], Any] | None = None, expand_nested: bool = False,
                  show_trainable: bool = False, layer_range: Any = None) -> None:
    """Print ``model``'s classic summary table with ``print_fn`` (default ``print``)."""
    if not model.built:
        model._require_built("summary()")
    print_fn = print_fn or print
    sequential_like = _is_sequential_like(model)
    if sequential_like:
        line_length = line_length or 65
        positions = positions or [0.45, 0.85, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
    else:
        line_length = line_length or 98
        positions = positions or [0.33, 0.55, 0.67, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    positions = list(positions)
    if show_trainable:
        line_length += 11
        positions.append(line_length)
        header.append("Trainable")

    layers = _rows_of(model)
    if layer_range is not None:
        start, stop = _resolve_range(layers, layer_range)
        layers = layers[start:stop + 1]

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    print_fn(_format_row(header, positions))
    print_fn("=" * line_length)

    def rows_for(layer: Any, owner: Any, prefix: str) -> list[list[str]]:
        name = f"{prefix}{layer.name} ({type(layer).__name__})"
        params = str(layer.count_params()) if layer.built else "0 (unused)"
        fields = [name, _output_shape_text(owner, layer), params]
        extra: list[str] = []
        if not sequential_like:
            conns = _connections(owner, layer) if owner._functional else []
            fields.append(conns[0] if conns else "")
            extra = conns[1:]
        if show_trainable:
            fields.append("Y" if layer.trainable else "N")
        rows = [fields]
        for conn in extra:
            row = ["", "", "", conn] + ([""] if show_trainable else [])
            rows.append(row)
        return rows

    from lamina.models import Model

    for i, layer in enumerate(layers):
        for row in rows_for(layer, model, ""):
            print_fn(_format_row(row, positions))
        if expand_nested and isinstance(layer, Model) and layer.built:
            print_fn("|" + "¯" * (line_length - 2) + "|")
            for inner in _rows_of(layer):
                for row in rows_for(inner, layer, "| "):
                    print_fn(_format_row(row, positions))
            print_fn("¯" * line_length)
        print_fn(("=" if i == len(layers) - 1 else "_") * line_length)

    trainable = _count(model.trainable_weights)
    total = _count(model.weights)
    print_fn(f"Total params: {total:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {total - trainable:,}")
    print_fn("_" * line_length)
    _print_layout(model, print_fn, line_length)


def _print_layout(model: Any, print_fn: Callable[[str], Any], line_length: int) -> None:
    """Under a distribution: each weight's partition spec and the bytes it takes per device."""
    import sys

    module = sys.modules.get("lamina.distribution")
    dist = module.distribution() if module is not None else None
    if dist is None:
        return
    rows = module.describe_layout(model, dist)
    mesh = dist.device_mesh
    print_fn(f"Distribution: {type(dist).__name__} on mesh {dict(zip(mesh.axis_names, mesh.shape))}")
    for path, shape, spec, per_device in rows:
        print_fn(_format_row([path, str(shape), spec, f"{per_device:,} B/device"],
                             [int(line_length * p) for p in (0.4, 0.6, 0.85)] + [line_length + 20]))
    print_fn(f"Parameter memory per device: {sum(r[3] for r in rows):,} bytes")
    print_fn("_" * line_length)


def _resolve_range(layers: list[Any], layer_range: Any) -> tuple[int, int]:
    if len(layer_range) != 2:
        raise ValueError(f"layer_range must be [first, last], received {layer_range!r}.")
    names = [layer.name for layer in layers]

    def find(item: Any) -> int:
        if isinstance(item, int):
            return item
        matches = [i for i, n in enumerate(names) if item in n]
        if not matches:
            raise ValueError(f"layer_range: no layer name matches {item!r}; layers are {names}.")
        return matches[0]

    return find(layer_range[0]), find(layer_range[1])
