"""``LossScaleOptimizer``: dynamic loss scaling for float16 training (Keras's rule and saved variables).

The training step multiplies the loss by ``dynamic_scale`` before differentiating (so small float16 gradients
do not underflow); this optimizer divides the gradients back, applies the inner optimizer when they are all
finite, and doubles the scale after ``dynamic_growth_steps`` finite steps in a row. A step with a non-finite
gradient changes no weight and halves the scale.

>>> import jax.numpy as jnp
>>> from lamina.optimizers import SGD
>>> opt = LossScaleOptimizer(SGD(1.0), initial_scale=4.0)
>>> p = {"w": jnp.zeros(1)}
>>> s = opt.init(p)
>>> p, s = opt.apply({"w": jnp.array([8.0])}, s, p)  # gradients of a loss scaled by 4
>>> float(p["w"][0]), float(s["dynamic_scale"])
(-2.0, 4.0)
>>> p, s = opt.apply({"w": jnp.array([jnp.inf])}, s, p)
>>> float(p["w"][0]), float(s["dynamic_scale"])
(-2.0, 2.0)
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina.optimizers import Optimizer

_BASE_DEFAULTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
                  "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                  "loss_scale_factor": None, "gradient_accumulation_steps": None}


class LossScaleOptimizer(Optimizer):
    """Wraps ``inner_optimizer`` with a dynamic loss scale starting at ``initial_scale`` (2**15)."""

    def __init__(self, inner_optimizer: Optimizer, initial_scale: float = 2.0 ** 15,
                 dynamic_growth_steps: int = 2000, name: str | None = None, **kwargs: Any) -> None:
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer supports `dynamic=False`. Instead, simply set "
                             "`loss_scale_factor` directly on the `inner_optimizer`.")
        for arg, default in _BASE_DEFAULTS.items():
            if arg in kwargs:
                value = kwargs.pop(arg)
                if (default is None and value is not None) or value != default:
                    raise ValueError(f"LossScaleOptimizer does not support `{arg}`. Instead, set `{arg}` on the "
                                     "`inner_optimizer`.")
        if kwargs:
            raise ValueError(f"LossScaleOptimizer does not support arguments: `{'`, `'.join(kwargs.keys())}`.")
        super().__init__(learning_rate=0.0, name=name)
        from lamina.optimizers import get  # the inner optimizer may be given by name or config

        self.inner_optimizer = get(inner_optimizer)
        self.initial_scale = initial_scale
        self.dynamic_growth_steps = dynamic_growth_steps
        self.inner_optimizer.loss_scale_factor = None

    # ------------------------------------------------------------------------------------- state
    def init(self, params: Any) -> dict[str, Any]:
        """``{"inner": the inner optimizer's state, "step_counter", "dynamic_scale"}``."""
        inner = self.inner_optimizer.init(params)
        self._leaf_order = self.inner_optimizer._leaf_order
        return {"inner": inner, "step_counter": jnp.zeros((), jnp.int32),
                "dynamic_scale": jnp.asarray(self.initial_scale, jnp.float32)}

    def matches(self, state: Any, params: Any) -> bool:
        return isinstance(state, dict) and "inner" in state and "dynamic_scale" in state \
            and self.inner_optimizer.matches(state["inner"], params)

    def scale_loss(self, loss: Any, state: Any = None) -> Any:
        """``loss`` times the current scale (of ``state``, else of ``self.state``, else ``initial_scale``)."""
        state = self.state if state is None else state
        scale = self.initial_scale if state is None else state["dynamic_scale"]
        return loss * jnp.asarray(scale, jnp.result_type(loss))

    def loss_scale_of(self, optimizer_variables: list[Any]) -> Any:
        """The dynamic scale held in a train step's flat ``optimizer_variables`` (as ``fit`` lays them out)."""
        _, treedef = self._stateless_layout
        return jax.tree_util.tree_unflatten(treedef, list(optimizer_variables))["dynamic_scale"]

    def apply(self, grads: Any, state: dict[str, Any], params: Any) -> tuple[Any, dict[str, Any]]:
        """Unscale ``grads``; where all are finite apply the inner optimizer and grow the scale on schedule,
        else keep the weights and halve the scale."""
        leaves = jax.tree_util.tree_leaves(grads)
        finite = jnp.all(jnp.asarray([jnp.all(jnp.isfinite(g)) for g in leaves])) if leaves else jnp.asarray(True)
        scale = state["dynamic_scale"]
        unscaled = jax.tree_util.tree_map(lambda g: jnp.asarray(g) / scale.astype(jnp.result_type(g)), grads)
        new_params, new_inner = self.inner_optimizer.apply(unscaled, state["inner"], params)
        grow = state["step_counter"] == self.dynamic_growth_steps - 1
        counter = jnp.where(finite, jnp.where(grow, 0, state["step_counter"] + 1), 0).astype(jnp.int32)
        new_scale = jnp.where(finite, jnp.where(grow, scale * 2.0, scale), scale * 0.5)

        def pick(new: Any, old: Any) -> Any:
            return jax.tree_util.tree_map(lambda a, b: jnp.where(finite, a, b), new, old)

        return pick(new_params, params), {"inner": pick(new_inner, state["inner"]), "step_counter": counter,
                                          "dynamic_scale": new_scale}

    # ---------------------------------------------------------------------------- Keras's views
    @property
    def learning_rate(self) -> float:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if hasattr(self, "inner_optimizer"):
            self.inner_optimizer.learning_rate = value
            if self.state is not None:
                self.state = {**self.state, "inner": self.inner_optimizer.state}

    @property
    def iterations(self) -> int:
        return 0 if self.state is None else int(np.asarray(self.state["inner"]["iterations"]))

    @property
    def variables(self) -> list[np.ndarray]:
        """Keras's order: its own iteration and learning rate (0), step counter, scale, then the inner's."""
        own = [np.asarray(0, np.int32), np.asarray(0.0, np.float32)]
        if self.state is None:
            return own + [np.asarray(0, np.int32), np.asarray(self.initial_scale, np.float32)] + \
                self.inner_optimizer.variables
        self.inner_optimizer.state = self.state["inner"]
        return own + [np.asarray(self.state["step_counter"]), np.asarray(self.state["dynamic_scale"])] + \
            self.inner_optimizer.variables

    def load_variables(self, values: list[Any], params: Any) -> dict[str, Any]:
        values = list(values)
        if len(values) < 4:
            raise ValueError(f"LossScaleOptimizer '{self.name}' expects at least 4 variables, received "
                             f"{len(values)}.")
        inner = self.inner_optimizer.load_variables(values[4:], params)
        self._leaf_order = self.inner_optimizer._leaf_order
        self.state = {"inner": inner, "step_counter": jnp.asarray(values[2], jnp.int32).reshape(()),
                      "dynamic_scale": jnp.asarray(values[3], jnp.float32).reshape(())}
        return self.state

    def get_config(self) -> dict[str, Any]:
        from lamina.optimizers import serialize

        return {"name": self.name, "inner_optimizer": serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> LossScaleOptimizer:
        from lamina.optimizers import deserialize

        config = dict(config)
        inner = deserialize(config.pop("inner_optimizer"))
        return cls(inner, **config)
