"""Optimizer slots whose shape, initial value or presence differ from weight to weight (Adafactor's factored
second moments, Muon's velocity for the weights it updates with AdamW, ScheduleFreeAdamW's momentum that starts
as a copy of the weight).

A subclass of :class:`~lamina.optimizers.Optimizer` mixes :class:`PerWeightSlots` in and writes
``_slot_spec(name, weight, path) -> array or None``: the slot's initial array, or None when that weight has no
such slot (an empty placeholder is kept in the state so that every slot tree has the weights' structure, and it is
left out of :attr:`variables`, as Keras creates no variable for it). ``weight`` may be a ``jax.ShapeDtypeStruct``
when only the layout is asked for.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
import optax

PyTree = Any


def leaf_paths(params: PyTree) -> list[str]:
    """Each leaf's path in JAX's flattening order: dict keys (``"dense/kernel"``) and list indices joined by ``/``."""
    flat, _ = jax.tree_util.tree_flatten_with_path(params)
    out = []
    for path, _ in flat:
        parts = [str(getattr(k, "key", getattr(k, "idx", getattr(k, "name", k)))) for k in path]
        out.append("/".join(parts))
    return out


class PerWeightSlots:
    """Mixin over ``Optimizer``: slots laid out per weight by ``_slot_spec``."""

    def _slot_spec(self, name: str, weight: Any, path: str) -> Any:
        raise NotImplementedError

    def _specs(self, params: PyTree) -> tuple[dict[str, list[Any]], Any]:
        leaves, treedef = jax.tree_util.tree_flatten(params)
        paths = leaf_paths(params)
        specs = {n: [self._slot_spec(n, p, path) for p, path in zip(leaves, paths)]
                 for n in self._slot_names()}  # type: ignore[attr-defined]
        return specs, treedef

    def gradient_transformation(self) -> optax.GradientTransformationExtraArgs:
        update = super().gradient_transformation().update  # type: ignore[misc]

        def init_fn(params: PyTree) -> dict[str, Any]:
            specs, treedef = self._specs(params)
            leaves = treedef.flatten_up_to(params)
            self._present = {n: [s is not None for s in values] for n, values in specs.items()}
            slots = {n: jax.tree_util.tree_unflatten(treedef, [
                np.zeros((), np.asarray(p).dtype) if s is None else s for s, p in zip(values, leaves)])
                for n, values in specs.items()}
            return {"slots": slots, "extra": self._extra_init(params)}  # type: ignore[attr-defined]

        return optax.GradientTransformationExtraArgs(init_fn, update)

    def _presence(self, count: int) -> dict[str, list[bool]]:
        present = getattr(self, "_present", None)
        if present is None or any(len(v) != count for v in present.values()):
            return {n: [True] * count for n in self._slot_names()}  # type: ignore[attr-defined]
        return present

    @property
    def variables(self) -> list[np.ndarray]:
        """Keras's order: iterations, learning rate, then per weight the slots it has, then extras."""
        out = [np.asarray(self.iterations, np.int32)]  # type: ignore[attr-defined]
        if not self._is_schedule:  # type: ignore[attr-defined]
            out.append(np.asarray(self.learning_rate, np.float32))  # type: ignore[attr-defined]
        state = self.state  # type: ignore[attr-defined]
        if state is None:
            return out
        for group in self._slot_groups():  # type: ignore[attr-defined]
            per_slot = {n: jax.tree_util.tree_leaves(state["slots"][n]) for n in group}
            count = len(per_slot[group[0]])
            present = self._presence(count)
            order = self._leaf_order if len(self._leaf_order) == count else list(range(count))  # type: ignore
            for i in order:
                out.extend(np.asarray(per_slot[n][i]) for n in group if present[n][i])
        out.extend(np.asarray(v) for v in state["extra"].values())
        return out

    def load_variables(self, values: list[Any], params: PyTree) -> dict[str, Any]:
        """Set the state from arrays in :attr:`variables` order."""
        import jax.numpy as jnp

        state = self.init(params)  # type: ignore[attr-defined]
        leaves, treedef = jax.tree_util.tree_flatten(params)
        present = self._presence(len(leaves))
        expected = 1 + (not self._is_schedule) + sum(sum(v) for v in present.values()) + len(state["extra"])  # type: ignore
        if len(values) != expected:
            raise ValueError(f"Optimizer '{self.name}' expects {expected} variables for {len(leaves)} weights, but "  # type: ignore
                             f"received {len(values)}. Was the state saved by a different optimizer or model?")
        values = list(values)
        state["iterations"] = jnp.asarray(values.pop(0), jnp.int32).reshape(())
        if not self._is_schedule:  # type: ignore[attr-defined]
            state["learning_rate"] = jnp.asarray(values.pop(0), jnp.float32).reshape(())
        order = self._leaf_order if len(self._leaf_order) == len(leaves) else list(range(len(leaves)))  # type: ignore
        for group in self._slot_groups():  # type: ignore[attr-defined]
            per_slot = {n: list(jax.tree_util.tree_leaves(state["slots"][n])) for n in group}
            for i in order:
                for n in group:
                    if present[n][i]:
                        ref = per_slot[n][i]
                        value = jnp.asarray(values.pop(0), ref.dtype)
                        if value.shape != ref.shape:
                            raise ValueError(f"Optimizer variable '{n}' for weight {i} has shape {value.shape}, "
                                             f"expected {ref.shape}.")
                        per_slot[n][i] = value
            for n in group:
                state["slots"][n] = jax.tree_util.tree_unflatten(treedef, per_slot[n])
        for key in list(state["extra"]):
            state["extra"][key] = jnp.asarray(values.pop(0), state["extra"][key].dtype)
        self.state = state  # type: ignore[attr-defined]
        return state

    def matches(self, state: Any, params: PyTree) -> bool:
        """Whether ``state`` was laid out by this optimizer for ``params`` (slot shapes per ``_slot_spec``)."""
        if not isinstance(state, dict) or "slots" not in state or "iterations" not in state:
            return False
        if ("learning_rate" in state) == self._is_schedule:  # type: ignore[attr-defined]
            return False
        if sorted(state["slots"]) != sorted(self._slot_names()):  # type: ignore[attr-defined]
            return False
        shapes = jax.tree_util.tree_map(lambda p: jax.ShapeDtypeStruct(np.shape(p), np.asarray(p).dtype
                                                                     if not hasattr(p, "dtype") else p.dtype), params)
        specs, treedef = self._specs(shapes)
        for n, values in specs.items():
            tree = state["slots"][n]
            if jax.tree_util.tree_structure(tree) != treedef:
                return False
            for s, have in zip(values, jax.tree_util.tree_leaves(tree)):
                if tuple(np.shape(have)) != (() if s is None else tuple(s.shape)):
                    return False
        return True
