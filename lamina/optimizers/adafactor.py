"""Adafactor (Shazeer & Stern, 2018) with Keras's update rule, defaults and saved variables.

A weight of rank >= 2 keeps factored second moments: ``r`` (the mean over the last axis) and ``c`` (over the
second-to-last), from which the full second moment ``v = r/mean(r) ⊗ c`` is rebuilt each step; a vector keeps ``v``
(and, as in Keras, two unused integer scalars in place of ``r`` and ``c``).

>>> import jax.numpy as jnp
>>> opt = Adafactor()
>>> [v.shape for v in (opt.build({"w": jnp.ones((3, 2)), "b": jnp.ones((2,))}) or opt.variables)]
[(), (), (3,), (2,), (3, 2), (), (), (2,)]
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from lamina.optimizers import Optimizer
from lamina.optimizers.per_weight_slots import PerWeightSlots


def _rms(x: Any) -> Any:
    return jnp.sqrt(jnp.mean(jnp.square(x)))


class Adafactor(PerWeightSlots, Optimizer):
    """Adafactor: Adam-like steps scaled by the weight's RMS, with factored second moments.

    Args:
        learning_rate: the step size (capped by ``1/sqrt(step)`` when ``relative_step``).
        beta_2_decay: the decay of the second-moment average, ``beta_2 = 1 - step**beta_2_decay``.
        epsilon_1: added to the squared gradients.
        epsilon_2: the floor of the weight's RMS in the step size.
        clip_threshold: the update is scaled down when its RMS exceeds this.
        relative_step: cap the learning rate by ``1/sqrt(step)``.
    """

    _uses_weights = True

    def __init__(self, learning_rate: Any = 0.001, beta_2_decay: float = -0.8, epsilon_1: float = 1e-30,
                 epsilon_2: float = 1e-3, clip_threshold: float = 1.0, relative_step: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step

    def _slot_groups(self) -> list[tuple[str, ...]]:
        return [("r", "c", "v")]

    def _slot_spec(self, name: str, weight: Any, path: str) -> Any:
        shape, dtype = tuple(weight.shape), weight.dtype
        if name == "v":
            return np.zeros(shape, dtype)
        if len(shape) < 2:
            return np.zeros((), np.int32)  # Keras keeps an unused int scalar for a vector's r and c
        return np.zeros(shape[:-1] if name == "r" else shape[:-2] + shape[-1:], dtype)

    def _update_leaf(self, g: Any, slots: dict[str, Any], lr: Any, t: Any, extra: dict[str, Any],
                     w: Any = None) -> Any:
        step = t.astype(g.dtype)
        if not self._is_schedule and self.relative_step:
            lr = jnp.minimum(lr, 1 / jnp.sqrt(step))
        rho = jnp.minimum(lr, 1 / jnp.sqrt(step))
        alpha = jnp.maximum(jnp.asarray(self.epsilon_2, g.dtype), _rms(w)) * rho
        squared = jnp.square(g) + self.epsilon_1
        beta_2 = 1 - jnp.power(step, self.beta_2_decay)
        new = {}
        if g.ndim >= 2:
            r = beta_2 * slots["r"] + (1 - beta_2) * jnp.mean(squared, axis=-1)
            c = beta_2 * slots["c"] + (1 - beta_2) * jnp.mean(squared, axis=-2)
            v = jnp.expand_dims(r / jnp.mean(r, axis=-1, keepdims=True), -1) * jnp.expand_dims(c, -2)
            new = {"r": r, "c": c}
        else:
            v = beta_2 * slots["v"] + (1 - beta_2) * squared
        new["v"] = v
        u = g / jnp.sqrt(v)
        u = u / jnp.maximum(1.0, _rms(u) / self.clip_threshold)
        return -(alpha * u), new

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1,
                "epsilon_2": self.epsilon_2, "clip_threshold": self.clip_threshold,
                "relative_step": self.relative_step}
