"""Keras's ``use_ema``: an exponential moving average of the trainable weights, kept in the optimizer's state.

After each update, ``average = m * average + (1 - m) * weight`` with ``m = ema_momentum``, except at the
first step (``m = 0``: the average starts at the updated weights); every ``ema_overwrite_frequency`` steps
the weights are replaced by their averages; ``fit`` ends by replacing them (``finalize_variable_values``).

>>> import jax.numpy as jnp
>>> from lamina.optimizers import SGD
>>> opt = SGD(learning_rate=1.0, use_ema=True, ema_momentum=0.5)
>>> p, s = {"w": jnp.zeros(())}, None
>>> s = opt.init(p)
>>> for _ in range(2):
...     p, s = opt.apply({"w": jnp.ones(())}, s, p)
>>> float(p["w"]), float(s["average"]["w"])
(-2.0, -1.5)
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def check_ema(ema_momentum: float, ema_overwrite_frequency: int | None) -> None:
    """Keras's checks of the EMA arguments."""
    if ema_momentum > 1 or ema_momentum < 0:
        raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
    if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int) or ema_overwrite_frequency < 1):
        raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                         f"ema_overwrite_frequency={ema_overwrite_frequency}")


def ema_step(optimizer: Any, params: Any, average: Any, iterations: Any) -> tuple[Any, Any]:
    """``(params, average)`` after one step's EMA update (``iterations``: the count before the step)."""
    not_first = jnp.not_equal(iterations, 0)

    def update(avg: Any, p: Any) -> Any:
        momentum = not_first.astype(p.dtype) * jnp.asarray(optimizer.ema_momentum, p.dtype)
        return momentum * avg + (1 - momentum) * p

    average = jax.tree_util.tree_map(update, average, params)
    frequency = optimizer.ema_overwrite_frequency
    if frequency:
        overwrite = (iterations + 1) % frequency == 0
        params = jax.tree_util.tree_map(lambda a, p: jnp.where(overwrite, a, p), average, params)
    return params, average


def ordered_averages(optimizer: Any) -> list[Any]:
    """The moving averages in the model's weight order."""
    averages = jax.tree_util.tree_leaves(optimizer.state["average"])
    order = optimizer._leaf_order if len(optimizer._leaf_order) == len(averages) else range(len(averages))
    return [averages[i] for i in order]


def assign_averages(optimizer: Any, var_list: list[Any]) -> None:
    """Assign each moving average to its weight (``var_list``: the model's trainable weights, in order)."""
    averages = ordered_averages(optimizer)
    if len(var_list) != len(averages):
        raise ValueError(f"The length of model variables ({len(var_list)}) to override does not match the length of "
                         f"model variables stored in the optimizer ({len(averages)}). Please check if the optimizer "
                         "was called on your model.")
    for var, average in zip(var_list, averages):
        var.assign(np.asarray(average))


def set_averages(optimizer: Any, values: list[Any]) -> None:
    """Replace the moving averages by ``values`` (in the model's weight order)."""
    leaves, treedef = jax.tree_util.tree_flatten(optimizer.state["average"])
    order = optimizer._leaf_order if len(optimizer._leaf_order) == len(leaves) else range(len(leaves))
    new = list(leaves)
    for value, i in zip(values, order):
        new[i] = jnp.asarray(value, leaves[i].dtype)
    optimizer.state = {**optimizer.state, "average": jax.tree_util.tree_unflatten(treedef, new)}
