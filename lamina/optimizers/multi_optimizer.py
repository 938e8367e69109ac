"""``MultiOptimizer`` and ``OptimizerMap``: different optimizers for different weights, chosen by weight path
(exact paths or regular expressions, as Keras 3 matches them).

>>> import jax.numpy as jnp
>>> from lamina.optimizers import SGD, Adam
>>> opt = MultiOptimizer(OptimizerMap(Adam(), {"encoder/.*": SGD(0.5)}))
>>> p = {"encoder/kernel": jnp.zeros(2), "head/kernel": jnp.zeros(2)}
>>> p, s = opt.apply({k: jnp.ones(2) for k in p}, opt.init(p), p)
>>> [round(float(v[0]), 4) for v in p.values()]  # SGD's step, then Adam's
[-0.5, -0.001]
"""

from __future__ import annotations

import re
from collections.abc import Callable, MutableMapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina.optimizers import Optimizer, _ordered_leaves
from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer
from lamina.optimizers.per_weight_slots import leaf_paths


class _WeightRef:
    """What an optimizer map is called with: a weight's ``path``, ``name``, ``shape`` and ``dtype``."""

    def __init__(self, path: str, value: Any) -> None:
        self.path = path
        self.name = path.rsplit("/", 1)[-1]
        self.shape = tuple(np.shape(value))
        self.dtype = str(getattr(value, "dtype", "float32"))


class OptimizerMap(MutableMapping):
    """Weight paths (or regular expressions over them) mapped to optimizers, with a default for the rest."""

    def __init__(self, default_optimizer: Optimizer, optimizer_map: dict[str, Optimizer] | None = None) -> None:
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(f"default_optimizer must be a Keras Optimizer instance. Received: {default_optimizer}")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"optimizer_map must be a dictionary. Received: {optimizer_map}")
        self._default_optimizer = default_optimizer
        self._optimizer_map: dict[str, Optimizer] = optimizer_map or {}

    @property
    def default_optimizer(self) -> Optimizer:
        return self._default_optimizer

    def __getitem__(self, key: str) -> Optimizer:
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matches = [pattern for pattern in self._optimizer_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(f"Multiple optimizers assigned to variable {key}.")
        return self._optimizer_map[matches[0]] if matches else self.default_optimizer

    def __setitem__(self, key: str, optimizer: Optimizer) -> None:
        if key in self._optimizer_map:
            raise ValueError(f"'{key}' already exists in the OptimizerMap with value {self._optimizer_map[key]}. "
                             "Please make sure to not use duplicated keys.")
        if not isinstance(key, str):
            raise ValueError(f"key must be a string. Received: {key}")
        if not isinstance(optimizer, Optimizer):
            raise ValueError(f"optimizer must be a Keras Optimizer instance. Received: {optimizer}")
        if isinstance(optimizer, LossScaleOptimizer):
            raise ValueError("optimizer cannot be LossScaleOptimizer.")
        if isinstance(optimizer, MultiOptimizer):
            raise ValueError("optimizer cannot be MultiOptimizer.")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self) -> Any:
        return iter(self._optimizer_map)

    def __call__(self, variable: Any) -> Optimizer:
        return self[variable.path]

    def get_config(self) -> dict[str, Any]:
        from lamina.saving.serialization_lib import serialize_keras_object  # inside: saving sits above

        return {"default_optimizer": serialize_keras_object(self._default_optimizer),
                "optimizer_map": serialize_keras_object(self._optimizer_map)}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> OptimizerMap:
        from lamina.saving.serialization_lib import deserialize_keras_object

        return cls(deserialize_keras_object(config["default_optimizer"], custom_objects),
                   deserialize_keras_object(config["optimizer_map"], custom_objects))


class MultiOptimizer(Optimizer):
    """Updates each weight with the optimizer ``optimizer_map(weight)`` gives (an :class:`OptimizerMap` or any
    callable of a weight with a ``.path``); each inner optimizer keeps its own state for its weights."""

    def __init__(self, optimizer_map: OptimizerMap | Callable[[Any], Optimizer], loss_scale_factor: float | None = None,
                 name: str | None = None) -> None:
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        self._optimizer_map = optimizer_map
        self._inner_optimizers: list[Optimizer] = []
        for opt in list(getattr(optimizer_map, "values", lambda: [])()) + [getattr(optimizer_map, "default_optimizer",
                                                                                   None)]:
            if opt is not None and all(opt is not o for o in self._inner_optimizers):
                opt.loss_scale_factor = loss_scale_factor
                self._inner_optimizers.append(opt)

    @property
    def optimizers(self) -> list[Optimizer]:
        return self._inner_optimizers

    @property
    def learning_rate(self) -> float:
        raise AttributeError("Learning rate cannot be accessed on a MultiOptimizer. Access the learning rate on the "
                             "individual sub-optimizers instead.")

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if "_optimizer_map" in self.__dict__:
            raise AttributeError("Learning rate cannot be set on a MultiOptimizer. Set the learning rate on the "
                                 "individual sub-optimizers instead.")

    # ------------------------------------------------------------------------- assignment
    def _assign(self, params: Any) -> tuple[list[list[str]], list[Any], Any, list[str], list[int]]:
        """Per inner optimizer the paths of its weights (in the model's order), plus the flattening."""
        leaves, treedef = jax.tree_util.tree_flatten(params)
        paths = leaf_paths(params)
        _, order = _ordered_leaves(params)
        groups: list[list[str]] = [[] for _ in self._inner_optimizers]
        for j in order:
            opt = self._optimizer_map(_WeightRef(paths[j], leaves[j]))
            if not isinstance(opt, Optimizer):
                raise ValueError(f"Optimizer for variable {paths[j]} is not an Optimizer instance.")
            if isinstance(opt, LossScaleOptimizer):
                raise ValueError("LossScaleOptimizer cannot be used inside an MultiOptimizer.")
            if isinstance(opt, MultiOptimizer):
                raise ValueError("MultiOptimizer cannot be used inside an MultiOptimizer.")
            if all(opt is not o for o in self._inner_optimizers):
                opt.loss_scale_factor = self.loss_scale_factor
                self._inner_optimizers.append(opt)
                groups.append([])
            index = next(i for i, o in enumerate(self._inner_optimizers) if o is opt)
            groups[index].append(paths[j])
        return groups, leaves, treedef, paths, order

    @staticmethod
    def _subset(values: dict[str, Any], group: list[str]) -> dict[str, Any]:
        return {path: values[path] for path in group}

    def init(self, params: Any) -> dict[str, Any]:
        """``{"iterations", "inner": [each inner optimizer's state for its weights, or None]}``."""
        groups, leaves, _, paths, _ = self._assign(params)
        by_path = dict(zip(paths, leaves))
        inner = [opt.init(self._subset(by_path, group)) if group else None
                 for opt, group in zip(self._inner_optimizers, groups)]
        for opt, state in zip(self._inner_optimizers, inner):
            opt.state = state
        return {"iterations": jnp.zeros((), jnp.int32), "inner": inner}

    def matches(self, state: Any, params: Any) -> bool:
        if not isinstance(state, dict) or "inner" not in state:
            return False
        groups, leaves, _, paths, _ = self._assign(params)
        if len(state["inner"]) != len(groups):
            return False
        by_path = dict(zip(paths, leaves))
        return all((s is None) == (not g) and (not g or o.matches(s, self._subset(by_path, g)))
                   for o, s, g in zip(self._inner_optimizers, state["inner"], groups))

    def apply(self, grads: Any, state: dict[str, Any], params: Any) -> tuple[Any, dict[str, Any]]:
        """Each inner optimizer's ``apply`` on its weights; the new weights put back in ``params``'s layout."""
        groups, leaves, treedef, paths, _ = self._assign(params)
        by_path = dict(zip(paths, leaves))
        grads_by_path = dict(zip(paths, treedef.flatten_up_to(grads)))
        new_by_path, inner = dict(by_path), []
        for opt, group, sub_state in zip(self._inner_optimizers, groups, state["inner"]):
            if not group:
                inner.append(sub_state)
                continue
            new_sub, sub_state = opt.apply(self._subset(grads_by_path, group), sub_state,
                                           self._subset(by_path, group))
            new_by_path.update(new_sub)
            inner.append(sub_state)
        new_params = jax.tree_util.tree_unflatten(treedef, [new_by_path[p] for p in paths])
        return new_params, {"iterations": state["iterations"] + 1, "inner": inner}

    # ---------------------------------------------------------------------------- Keras's views
    @property
    def iterations(self) -> int:
        return 0 if self.state is None else int(np.asarray(self.state["iterations"]))

    @property
    def variables(self) -> list[np.ndarray]:
        """Keras's order: its iteration and learning rate (0), then each inner optimizer's variables."""
        out = [np.asarray(self.iterations, np.int32), np.asarray(0.0, np.float32)]
        inner_states = self.state["inner"] if self.state is not None else [None] * len(self._inner_optimizers)
        for opt, sub_state in zip(self._inner_optimizers, inner_states):
            if sub_state is not None:
                opt.state = sub_state
                out.extend(opt.variables)
        return out

    def load_variables(self, values: list[Any], params: Any) -> dict[str, Any]:
        state = self.init(params)
        values = list(values)
        state["iterations"] = jnp.asarray(values[0], jnp.int32).reshape(())
        at = 2
        groups, leaves, _, paths, _ = self._assign(params)
        by_path = dict(zip(paths, leaves))
        for i, (opt, group) in enumerate(zip(self._inner_optimizers, groups)):
            if not group:
                continue
            count = len(opt.variables)
            state["inner"][i] = opt.load_variables(values[at:at + count], self._subset(by_path, group))
            at += count
        if at != len(values):
            raise ValueError(f"MultiOptimizer '{self.name}' expects {at} variables, but received {len(values)}.")
        self.state = state
        return state

    def get_config(self) -> dict[str, Any]:
        from lamina.saving.serialization_lib import serialize_keras_object

        return {"optimizer_map": serialize_keras_object(self._optimizer_map),
                "loss_scale_factor": self.loss_scale_factor, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> MultiOptimizer:
        from lamina.saving.serialization_lib import deserialize_keras_object

        config = dict(config)
        config["optimizer_map"] = deserialize_keras_object(config["optimizer_map"], custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<MultiOptimizer name={self.name!r} optimizers={[type(o).__name__ for o in self._inner_optimizers]}>"
