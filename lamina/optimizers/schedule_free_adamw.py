"""Schedule-free AdamW (Defazio et al., 2024) with Keras's update rule: no learning-rate schedule needed; the
weights are an interpolation between an Adam-style iterate (kept as ``momentum``) and its running average.

>>> import jax.numpy as jnp
>>> opt = ScheduleFreeAdamW()
>>> state = opt.init({"w": jnp.full((2,), 3.0)})
>>> state["slots"]["momentum"]["w"].tolist()  # starts as a copy of the weights
[3.0, 3.0]
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina.optimizers import Optimizer
from lamina.optimizers.per_weight_slots import PerWeightSlots


class ScheduleFreeAdamW(PerWeightSlots, Optimizer):
    """Schedule-free AdamW: ``learning_rate`` 0.0025, ``beta_1`` 0.9, ``beta_2`` 0.999, ``epsilon`` 1e-8, and an
    optional linear ``warmup_steps``."""

    _uses_weights = True

    def __init__(self, learning_rate: Any = 0.0025, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, warmup_steps: int = 0, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.warmup_steps = warmup_steps

    def _slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentum", "velocity")]

    def _slot_spec(self, name: str, weight: Any, path: str) -> Any:
        if name == "velocity" or isinstance(weight, jax.ShapeDtypeStruct):
            return np.zeros(tuple(weight.shape), weight.dtype)
        return jnp.array(weight, copy=True)

    def _update_leaf(self, g: Any, slots: dict[str, Any], lr: Any, t: Any, extra: dict[str, Any],
                     w: Any = None) -> Any:
        step = t.astype(g.dtype)
        if self.warmup_steps > 0:
            lr = lr * jnp.minimum(step / self.warmup_steps, 1.0)
        momentum_old = slots["momentum"]
        velocity = slots["velocity"] + (jnp.square(g) - slots["velocity"]) * (1 - self.beta_2)
        denom = jnp.sqrt(velocity / (1 - jnp.power(jnp.asarray(self.beta_2, g.dtype), step))) + self.epsilon
        momentum = momentum_old - lr * g / denom
        weight = 1.0 / step
        x_old = (w - (1 - self.beta_1) * momentum_old) / self.beta_1
        x_new = (1 - weight) * x_old + weight * momentum
        y_new = (1 - self.beta_1) * momentum + self.beta_1 * x_new
        return y_new - w, {"momentum": momentum, "velocity": velocity}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "warmup_steps": self.warmup_steps}
