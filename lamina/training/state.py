"""The training state and the model (Keras's ``jax_state_sync``): a ``TrainState`` read from, and written into,
the model's weights, its optimizer and its metrics.

The steps are pure functions of a ``TrainState`` and donate it, so ``read_state`` hands them copies: the
arrays the model holds are never consumed. ``write_state`` puts a step's result back, which ``Trainer`` does
whenever Python code can look (a callback, the end of an epoch, any exit from ``fit``).

>>> import numpy as np
>>> from lamina import layers, Sequential
>>> model = Sequential([layers.Dense(2, input_shape=(3,))])
>>> model.compile(optimizer="sgd", loss="mse")
>>> state = read_state(model)
>>> [len(part) for part in state]  # kernel and bias; no non-trainable weights; the optimizer; the loss tracker
[2, 0, 2, 2]
>>> write_state(model, state)
"""

from __future__ import annotations

from typing import Any

import jax

from lamina import distribution as distribution_module
from lamina.distribution import distribution as current_distribution
from lamina.distribution import place_data, place_like, place_params
from lamina.training.step import TrainState

__all__ = ["TrainState", "read_state", "write_state", "copy_tree"]


def across_processes(dist: Any) -> bool:
    """Whether ``dist`` spans several processes (then arrays are built as global ones)."""
    return dist is not None and distribution_module.is_multi_process()


def params_for_call(model: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The weights for an evaluation or prediction call: as held, or laid out across processes."""
    trainable, non_trainable = model.get_params()
    dist = current_distribution()
    if across_processes(dist):
        trainable, non_trainable = place_params(trainable, dist), place_params(non_trainable, dist)
    return trainable, non_trainable


def read_state(model: Any, fresh_metrics: Any = None) -> TrainState:
    """The model's weights, optimizer and metric states as a ``TrainState`` of copies (the step donates
    its state and must not consume the arrays the model holds); ``fresh_metrics()``, if given, gives the
    metrics' zeroed variables instead of their current ones."""
    dist = current_distribution()
    spread = across_processes(dist)  # several processes: build the state here, then lay it out globally
    local = None if spread else dist
    trainable, non_trainable = model.get_params()
    trainable = place_params(copy_tree(trainable), local)
    non_trainable = place_params(copy_tree(non_trainable), local)
    optimizer = model.optimizer
    opt_state = optimizer.state
    if opt_state is None or not optimizer.matches(opt_state, trainable):
        opt_state = optimizer.init(trainable)
        optimizer.state = opt_state
    opt_state = place_like(copy_tree(opt_state), trainable, local)
    leaves, treedef = jax.tree_util.tree_flatten(opt_state)
    optimizer._stateless_layout = (list(trainable), treedef)
    if fresh_metrics is not None:
        metrics_variables = fresh_metrics()
    else:
        metrics_variables = list(copy_tree([m.state_leaves() for m in model.metrics]))
        metrics_variables = [leaf for group in metrics_variables for leaf in group]
    if spread:
        trainable, non_trainable = place_params(trainable, dist), place_params(non_trainable, dist)
        leaves = place_like(leaves, trainable, dist)
        metrics_variables = place_data(metrics_variables, dist)
    return TrainState(list(trainable.values()), list(non_trainable.values()), leaves, metrics_variables)


def write_state(model: Any, state: TrainState) -> None:
    """Write a ``TrainState`` into the weights, the optimizer and the metrics (Keras's state sync); across
    processes the arrays are gathered first, so the model holds whole arrays on this process's device."""
    if across_processes(current_distribution()):
        state = TrainState(*distribution_module.to_local(tuple(state)))
    keys = model._weight_keys()
    tkeys, ntkeys = [k for k, w in keys if w.trainable], [k for k, w in keys if not w.trainable]
    model.set_params(dict(zip(tkeys, state.trainable_variables)), dict(zip(ntkeys, state.non_trainable_variables)))
    layout = getattr(model.optimizer, "_stateless_layout", None)
    if layout is not None:
        model.optimizer.state = jax.tree_util.tree_unflatten(layout[1], list(state.optimizer_variables))
    at = 0
    for metric in model.metrics:
        count = metric._treedef().num_leaves
        metric.state = metric._unflatten(state.metrics_variables[at:at + count])
        at += count


def copy_tree(tree: Any) -> Any:
    """A copy of the arrays in ``tree`` in one transfer; dicts keep their key order (the model's weight order)."""
    leaves: list[Any] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)
        else:
            leaves.extend(a for a in jax.tree_util.tree_leaves(node) if hasattr(a, "shape"))

    collect(tree)
    copies = iter(jax.device_put(leaves, may_alias=False)) if leaves else iter(())

    def rebuild(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: rebuild(v) for k, v in node.items()}
        if isinstance(node, list):
            return [rebuild(v) for v in node]
        return jax.tree_util.tree_map(lambda a: next(copies) if hasattr(a, "shape") else a, node)

    return rebuild(tree)
