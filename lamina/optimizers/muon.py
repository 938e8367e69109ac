"""Muon (momentum orthogonalized by Newton-Schulz) with Keras's rule: 2-D weights get a Nesterov momentum step
orthogonalized by ``ns_steps`` Newton-Schulz iterations; every other weight (biases, embeddings, the layers named
in ``exclude_layers``) gets AdamW.

>>> import jax.numpy as jnp
>>> opt = Muon()
>>> opt.build({"dense/kernel": jnp.ones((3, 2)), "dense/bias": jnp.ones((2,))})
>>> [v.shape for v in opt.variables]  # kernel: momentum; bias: momentum and velocity
[(), (), (3, 2), (2,), (2,)]
"""

from __future__ import annotations

import re
from typing import Any

import jax.numpy as jnp
import numpy as np

from lamina.optimizers import Optimizer
from lamina.optimizers.per_weight_slots import PerWeightSlots


class Muon(PerWeightSlots, Optimizer):
    """Muon for 2-D weights, AdamW (``adam_*`` settings, ``learning_rate * adam_lr_ratio``) for the rest."""

    _uses_weights = True

    def __init__(self, learning_rate: Any = 0.001, adam_beta_1: float = 0.9, adam_beta_2: float = 0.999,
                 adam_weight_decay: float = 0.004, epsilon: float = 1e-7, weight_decay: float = 0.004,
                 exclude_layers: list[str] | None = None, exclude_embeddings: bool = True, muon_a: float = 3.4445,
                 muon_b: float = -4.7750, muon_c: float = 2.0315, adam_lr_ratio: float = 1, momentum: float = 0.95,
                 ns_steps: int = 5, nesterov: bool = True, rms_rate: float | None = 0.2, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, **kwargs)
        self.adam_beta_1, self.adam_beta_2, self.epsilon = adam_beta_1, adam_beta_2, epsilon
        self.muon_a, self.muon_b, self.muon_c = muon_a, muon_b, muon_c
        self.adam_lr_ratio, self.momentum, self.ns_steps = adam_lr_ratio, momentum, ns_steps
        self.nesterov, self.exclude_embeddings = nesterov, exclude_embeddings
        self.exclude_layers = exclude_layers or []
        self.adam_weight_decay, self.rms_rate = adam_weight_decay, rms_rate

    def uses_adamw(self, shape: tuple[int, ...], path: str) -> bool:
        """Whether the weight at ``path`` gets AdamW rather than Muon (Keras's ``_should_use_adamw``)."""
        if len(shape) != 2:
            return True
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(keyword, path) for keyword in self.exclude_layers)

    def _slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentum", "velocity")]

    def _slot_spec(self, name: str, weight: Any, path: str) -> Any:
        shape = tuple(weight.shape)
        if name == "velocity" and not self.uses_adamw(shape, path):
            return None  # Muon's weights: no velocity; the empty placeholder marks them
        return np.zeros(shape, weight.dtype)

    def apply(self, grads: Any, state: dict[str, Any], params: Any) -> tuple[Any, dict[str, Any]]:
        decay, self.weight_decay = self.weight_decay, None  # decayed per weight in _update_leaf (two rates)
        self._muon_decay = decay
        try:
            return super().apply(grads, state, params)
        finally:
            self.weight_decay = decay

    @staticmethod
    def _swap_last(x: Any) -> Any:
        return jnp.swapaxes(x, -1, -2)

    def zeropower_via_newtonschulz5(self, x: Any, steps: int) -> Any:
        """The orthogonalization of ``x`` (rank >= 2) by ``steps`` quintic Newton-Schulz iterations."""
        if x.ndim < 2:
            raise ValueError(f"Expected gradient or momentum to have at least 2 dimensions. Received: shape="
                             f"{tuple(x.shape)}")
        tall = x.shape[-2] > x.shape[-1]
        if tall:
            x = self._swap_last(x)
        x = x / (jnp.linalg.norm(x, axis=(-2, -1), keepdims=True) + 1e-7)
        for _ in range(steps):
            gram = x @ self._swap_last(x)
            x = self.muon_a * x + (self.muon_b * gram + self.muon_c * gram @ gram) @ x
        return self._swap_last(x) if tall else x

    def _update_leaf(self, g: Any, slots: dict[str, Any], lr: Any, t: Any, extra: dict[str, Any],
                     w: Any = None) -> Any:
        adamw = g.ndim != 2 or slots["velocity"].shape == g.shape
        decay = self.adam_weight_decay if adamw else getattr(self, "_muon_decay", self.weight_decay)
        decayed = w if decay is None else w - w * jnp.asarray(decay, w.dtype) * lr
        m = slots["momentum"]
        if adamw:
            step = t.astype(g.dtype)
            adam_lr = lr * self.adam_lr_ratio
            b1_power = jnp.power(jnp.asarray(self.adam_beta_1, g.dtype), step)
            b2_power = jnp.power(jnp.asarray(self.adam_beta_2, g.dtype), step)
            alpha = adam_lr * jnp.sqrt(1 - b2_power) / (1 - b1_power)
            m = m + (g - m) * (1 - self.adam_beta_1)
            v = slots["velocity"] + (jnp.square(g) - slots["velocity"]) * (1 - self.adam_beta_2)
            new_w = decayed - m * alpha / (jnp.sqrt(v) + self.epsilon)
            return new_w - w, {"momentum": m, "velocity": v}
        m = m + (g + m * (self.momentum - 1))
        direction = g + self.momentum * m if self.nesterov else m
        update = lr * self.zeropower_via_newtonschulz5(direction, self.ns_steps)
        if self.rms_rate is not None:
            update = update * jnp.sqrt(jnp.maximum(update.shape[0], update.shape[1])) * self.rms_rate
        return (decayed - update) - w, {"momentum": m}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "adam_beta_1": self.adam_beta_1, "adam_beta_2": self.adam_beta_2,
                "epsilon": self.epsilon, "exclude_layers": self.exclude_layers, "muon_a": self.muon_a,
                "muon_b": self.muon_b, "muon_c": self.muon_c, "adam_lr_ratio": self.adam_lr_ratio,
                "momentum": self.momentum, "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                "exclude_embeddings": self.exclude_embeddings, "adam_weight_decay": self.adam_weight_decay,
                "rms_rate": self.rms_rate}
