"""Optimizers with Keras's names, defaults, update rules and saved state, as pure JAX functions.

Each optimizer holds configuration only. Its arrays live in a state pytree that ``init`` creates and
``apply`` advances, so the whole update runs inside a jitted training step. The update rules are written
as custom ``optax.GradientTransformationExtraArgs`` because optax's own rules differ from Keras's in
small ways (Adam's "epsilon-hat" form, epsilon inside the square root for RMSprop, Nadam's momentum
schedule, ...). Gradient clipping and weight decay happen before the rule, in Keras's order.

>>> import jax.numpy as jnp
>>> from lamina import optimizers
>>> opt = optimizers.get("adam")
>>> params = {"w": jnp.ones((2,))}
>>> state = opt.init(params)
>>> params, state = opt.apply({"w": jnp.ones((2,))}, state, params)
>>> [round(float(v), 6) for v in params["w"]], int(state["iterations"])
([0.999, 0.999], 1)
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lamina import naming
from lamina.optimizers import legacy, schedules
from lamina.optimizers.ema import assign_averages as _assign_averages
from lamina.optimizers.ema import check_ema as _check_ema
from lamina.optimizers.ema import ema_step as _ema_step

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "Lion",
    "Lamb",
    "Ftrl",
    "Nadam",
    "get",
    "serialize",
    "deserialize",
    "schedules",
    "legacy",
]

PyTree = Any


# ------------------------------------------------------------------------------------------- helpers
def _ordered_leaves(tree: PyTree) -> tuple[list[Any], list[int]]:
    """Leaves in the tree's own order (dicts by insertion, as the model lists its weights), and for each
    of them its index in JAX's flattening order (which sorts dict keys)."""
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)

    def rank(path: tuple[Any, ...]) -> list[int]:
        node, ranks = tree, []
        for entry in path:
            if isinstance(entry, jax.tree_util.DictKey) and isinstance(node, dict):
                ranks.append(list(node).index(entry.key))
                node = node[entry.key]
            elif isinstance(entry, jax.tree_util.SequenceKey) and isinstance(node, (list, tuple)):
                ranks.append(entry.idx)
                node = node[entry.idx]
            else:
                break
        return ranks

    order = sorted(range(len(flat)), key=lambda i: (rank(flat[i][0]), i))
    return [flat[i][1] for i in order], order


def _clip_by_norm(g: Any, clipnorm: float) -> Any:
    l2sum = jnp.sum(jnp.square(g), keepdims=True)
    positive = l2sum > 0
    l2norm = jnp.where(positive, jnp.sqrt(jnp.where(positive, l2sum, jnp.ones_like(l2sum))), l2sum)
    return g * clipnorm / jnp.maximum(l2norm, clipnorm)


def _clip_by_global_norm(grads: list[Any], clipnorm: float) -> list[Any]:
    norm = jnp.sqrt(jnp.sum(jnp.stack([jnp.sum(jnp.square(g)) for g in grads])))
    scale = clipnorm * jnp.minimum(1.0 / norm, 1.0 / clipnorm) + (norm - norm)
    return [g * scale for g in grads]


def _f32(x: Any) -> Any:
    return jnp.asarray(x, jnp.float32)


def _dtype_of(x: Any) -> np.dtype:
    """The dtype of an array or tracer, without moving it (``jnp.asarray`` would copy a NumPy array)."""
    dtype = getattr(x, "dtype", None)
    return np.dtype(dtype) if dtype is not None else np.dtype(jax.dtypes.canonicalize_dtype(np.result_type(x)))


# ---------------------------------------------------------------------------------------------- base
class Optimizer:
    """Base class: Keras's shared arguments, the state layout, clipping, weight decay and (de)serialization.

    Subclasses declare their slots (``_slot_groups``, in Keras's variable order) and a per-array rule
    ``_update_leaf(g, slots, lr, t, extra) -> (update, new_slots)``, where the new weight is ``w + update``.

    >>> import jax.numpy as jnp
    >>> opt = SGD(learning_rate=0.1)
    >>> p, s = opt.apply({"w": jnp.array([1.0])}, opt.init({"w": jnp.array([0.0])}), {"w": jnp.array([0.0])})
    >>> float(p["w"][0])
    -0.10000000149011612
    """

    _default_learning_rate = 0.001
    _uses_weights = False  # True: ``_update_leaf`` also gets the weight as ``w=`` (Lamb, Ftrl)

    def __init__(
        self,
        learning_rate: Any = None,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=2)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        if use_ema:
            _check_ema(ema_momentum, ema_overwrite_frequency)
        if gradient_accumulation_steps:
            raise NotImplementedError("gradient_accumulation_steps is not supported by lamina yet.")
        self.name = name if name is not None else naming.auto_name(type(self).__name__)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self._learning_rate = self._check_learning_rate(
            self._default_learning_rate if learning_rate is None else learning_rate
        )
        self.state: PyTree | None = None
        self._leaf_order: list[int] = []

    # ----------------------------------------------------------------------------- subclass hooks
    def _slot_groups(self) -> list[tuple[str, ...]]:
        """Slot names, grouped as Keras creates them (within a group they interleave per weight)."""
        return []

    def _slot_initial_value(self, name: str) -> float:
        return 0.0

    def _extra_init(self, params: PyTree) -> dict[str, Any]:
        """Optimizer-wide arrays saved after the slots (Nadam's momentum product)."""
        return {}

    def _extra_before_step(self, extra: dict[str, Any], t: Any) -> dict[str, Any]:
        return extra

    def _update_leaf(
        self, g: Any, slots: dict[str, Any], lr: Any, t: Any, extra: dict[str, Any]
    ) -> tuple[Any, dict[str, Any]]:
        raise NotImplementedError

    # ------------------------------------------------------------------------------ learning rate
    @staticmethod
    def _check_learning_rate(lr: Any) -> Any:
        if callable(lr):
            return lr
        if isinstance(lr, numbers.Real) and not isinstance(lr, bool):
            return float(lr)
        if hasattr(lr, "shape") and np.ndim(lr) == 0:
            return float(lr)
        raise ValueError(
            "Argument `learning_rate` should be float, or an instance of LearningRateSchedule, or a "
            f"callable (that takes in the current iteration value and returns the corresponding "
            f"learning rate value). Received instead: learning_rate={lr}"
        )

    @property
    def _is_schedule(self) -> bool:
        return callable(self._learning_rate)

    @property
    def learning_rate(self) -> float:
        """The current learning rate as a Python float (from the state when training has started)."""
        if self._is_schedule:
            return float(self._learning_rate(jnp.asarray(self.iterations, jnp.int32)))
        if self.state is not None and "learning_rate" in self.state:
            return float(np.asarray(self.state["learning_rate"]))
        return float(np.float32(self._learning_rate))

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        value = self._check_learning_rate(value)
        if callable(value):
            self._learning_rate = value
            if self.state is not None:
                self.state = {k: v for k, v in self.state.items() if k != "learning_rate"}
            return
        if self._is_schedule:
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not settable. If you "
                "need the learning rate to be settable, you should instantiate the optimizer with a "
                "float `learning_rate` argument."
            )
        self._learning_rate = value
        if self.state is not None:
            self.state = {**self.state, "learning_rate": _f32(value)}

    @property
    def iterations(self) -> int:
        """How many updates ``apply`` has made (read from ``self.state``)."""
        return 0 if self.state is None else int(np.asarray(self.state["iterations"]))

    def _lr_at(self, state: PyTree) -> Any:
        if self._is_schedule:
            return _f32(self._learning_rate(state["iterations"]))
        return _f32(state["learning_rate"])

    # ------------------------------------------------------------------------------- pure update
    def _slot_names(self) -> list[str]:
        return [n for group in self._slot_groups() for n in group]

    def gradient_transformation(self) -> optax.GradientTransformationExtraArgs:
        """The update rule alone as an optax transformation: ``update(grads, state, params, *,
        learning_rate, iterations)`` returns additive updates and the new ``{"slots", "extra"}`` state."""
        names = self._slot_names()

        def init_fn(params: PyTree) -> dict[str, Any]:
            # NumPy constants: no compilation when called eagerly, plain constants under a trace.
            slots = {
                n: jax.tree_util.tree_map(
                    lambda p, n=n: np.full(np.shape(p), self._slot_initial_value(n), _dtype_of(p)), params
                )
                for n in names
            }
            return {"slots": slots, "extra": self._extra_init(params)}

        def update_fn(
            grads: PyTree,
            state: dict[str, Any],
            params: PyTree = None,
            *,
            learning_rate: Any,
            iterations: Any,
            **_: Any,
        ) -> tuple[PyTree, dict[str, Any]]:
            leaves, treedef = jax.tree_util.tree_flatten(grads)
            slot_leaves = {n: treedef.flatten_up_to(state["slots"][n]) for n in names}
            weights = treedef.flatten_up_to(params) if self._uses_weights else None
            t = iterations + 1
            extra = self._extra_before_step(state["extra"], t)
            updates, new_slot_leaves = [], {n: [] for n in names}
            for i, g in enumerate(leaves):
                lr = learning_rate.astype(g.dtype)
                leaf_slots = {n: slot_leaves[n][i] for n in names}
                if weights is not None:
                    update, new = self._update_leaf(g, leaf_slots, lr, t, extra, w=weights[i])
                else:
                    update, new = self._update_leaf(g, leaf_slots, lr, t, extra)
                updates.append(update)
                for n in names:
                    new_slot_leaves[n].append(new.get(n, slot_leaves[n][i]))
            new_slots = {n: jax.tree_util.tree_unflatten(treedef, new_slot_leaves[n]) for n in names}
            return jax.tree_util.tree_unflatten(treedef, updates), {"slots": new_slots, "extra": extra}

        return optax.GradientTransformationExtraArgs(init_fn, update_fn)

    def init(self, params: PyTree) -> dict[str, Any]:
        """A fresh state for ``params`` (the trainable weights): iteration 0, the learning rate, zero slots.

        >>> import jax.numpy as jnp
        >>> sorted(Adam().init({"w": jnp.zeros((3,))})["slots"])
        ['momentum', 'velocity']
        """
        # The weights' own order (JAX sorts dict keys, and jit returns sorted dicts), kept for `variables`.
        self._leaf_order = _ordered_leaves(params)[1]
        # Built with NumPy and sent in one transfer: no compilation, no eager op per slot.
        state: dict[str, Any] = {"iterations": np.zeros((), np.int32)}
        if not self._is_schedule:
            state["learning_rate"] = np.asarray(self._learning_rate, np.float32)
        state.update(self.gradient_transformation().init(params))
        if self.use_ema:  # Keras's "average" variables, zeros until the first step
            state["average"] = jax.tree_util.tree_map(lambda p: np.zeros(np.shape(p), _dtype_of(p)), params)
        return jax.device_put(state)

    def build(self, params: PyTree) -> None:
        """Create the state for ``params`` and keep it in ``self.state`` (Keras's ``optimizer.build``).

        ``params`` may be a list of a model's variables (``model.trainable_variables``), as in Keras; the
        state is then laid out for ``stateless_apply`` over lists of arrays in that order.
        """
        if isinstance(params, (list, tuple)):
            params = [getattr(p, "_value", p) for p in params]
            self.state = self.init(params)
            self._stateless_layout = (None, jax.tree_util.tree_structure(self.state))
            return
        self.state = self.init(params)

    def stateless_apply(self, optimizer_variables: Any, grads: Any, trainable_variables: Any
                        ) -> tuple[list[Any], list[Any]]:
        """Keras 3's pure update over lists: ``(new trainable_variables, new optimizer_variables)``.

        ``optimizer_variables`` is the flat list a train step's state holds (``fit`` lays it out, or
        ``build(model.trainable_variables)`` does); ``grads`` and ``trainable_variables`` are lists in the
        model's order.

        >>> import jax.numpy as jnp
        >>> opt = SGD(learning_rate=0.5)
        >>> opt.build([jnp.zeros((2,))])
        >>> params, _ = opt.stateless_apply(jax.tree_util.tree_leaves(opt.state), [jnp.ones((2,))], [jnp.zeros((2,))])
        >>> [float(v) for v in params[0]]
        [-0.5, -0.5]
        """
        layout = getattr(self, "_stateless_layout", None)
        if layout is None:
            raise ValueError(f"Optimizer '{self.name}' has no state yet: call "
                             "optimizer.build(model.trainable_variables) before using stateless_apply outside fit().")
        keys, treedef = layout
        state = jax.tree_util.tree_unflatten(treedef, list(optimizer_variables))
        if keys is None:
            new_params, new_state = self.apply(list(grads), state, list(trainable_variables))
            return list(new_params), jax.tree_util.tree_leaves(new_state)
        params = dict(zip(keys, trainable_variables))
        new_params, new_state = self.apply(dict(zip(keys, grads)), state, params)
        return [new_params[k] for k in keys], jax.tree_util.tree_leaves(new_state)

    def _clip(self, grads: list[Any]) -> list[Any]:
        if self.clipnorm and self.clipnorm > 0:
            return [_clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return _clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            clipped, _ = optax.clip(self.clipvalue).update(grads, optax.EmptyState())
            return clipped
        return grads

    def apply(self, grads: PyTree, state: dict[str, Any], params: PyTree) -> tuple[PyTree, dict[str, Any]]:
        """One update: ``(new_params, new_state)``. Pure and jittable; increments ``state["iterations"]``.

        >>> import jax, jax.numpy as jnp
        >>> opt = RMSprop()
        >>> p = {"w": jnp.zeros((2,))}
        >>> p, s = jax.jit(opt.apply)({"w": jnp.ones((2,))}, opt.init(p), p)
        >>> round(float(p["w"][0]), 5)
        -0.00316
        """
        leaves, treedef = jax.tree_util.tree_flatten(params)
        grad_leaves = treedef.flatten_up_to(grads)
        grad_leaves = [jnp.asarray(g).astype(jnp.asarray(p).dtype) for g, p in zip(grad_leaves, leaves)]
        lr = self._lr_at(state)
        if self.loss_scale_factor is not None:
            grad_leaves = [g / self.loss_scale_factor for g in grad_leaves]
        grad_leaves = self._clip(grad_leaves)
        if self.weight_decay is not None:
            leaves = [p - p * _f32(self.weight_decay).astype(p.dtype) * lr.astype(p.dtype) for p in leaves]
        params = jax.tree_util.tree_unflatten(treedef, leaves)
        grads = jax.tree_util.tree_unflatten(treedef, grad_leaves)
        tx_state = {"slots": state["slots"], "extra": state["extra"]}
        updates, tx_state = self.gradient_transformation().update(
            grads, tx_state, params, learning_rate=lr, iterations=state["iterations"]
        )
        new_params = optax.apply_updates(params, updates)
        new_state = {**state, **tx_state, "iterations": state["iterations"] + 1}
        if self.use_ema:
            new_params, new_state["average"] = _ema_step(self, new_params, state["average"], state["iterations"])
        return new_params, new_state

    def matches(self, state: Any, params: PyTree) -> bool:
        """Whether ``state`` was made by this optimizer for weights shaped like ``params``."""
        if not isinstance(state, dict) or "slots" not in state or "iterations" not in state:
            return False
        if ("learning_rate" in state) == self._is_schedule:
            return False
        if sorted(state["slots"]) != sorted(self._slot_names()) or ("average" in state) != self.use_ema:
            return False
        want = jax.tree_util.tree_structure(params)
        for tree in state["slots"].values():
            if jax.tree_util.tree_structure(tree) != want:
                return False
            if any(
                jnp.shape(a) != jnp.shape(b)
                for a, b in zip(jax.tree_util.tree_leaves(tree), jax.tree_util.tree_leaves(params))
            ):
                return False
        return True

    # ------------------------------------------------------------------------ Keras's saved state
    @property
    def variables(self) -> list[np.ndarray]:
        """Arrays in Keras's save order: iterations, learning rate (not with a schedule), then each
        weight's slots, group by group, then optimizer-wide extras.

        >>> import jax.numpy as jnp
        >>> opt = Adam()
        >>> opt.build({"k": jnp.zeros((2, 2)), "b": jnp.zeros((2,))})
        >>> [v.shape for v in opt.variables]
        [(), (), (2, 2), (2, 2), (2,), (2,)]
        """
        out = [np.asarray(self.iterations, np.int32)]
        if not self._is_schedule:
            out.append(np.asarray(self.learning_rate, np.float32))
        if self.state is None:
            return out
        if self.use_ema:  # after the learning rate, before the slots, as Keras creates them
            averages = jax.tree_util.tree_leaves(self.state["average"])
            order = self._leaf_order if len(self._leaf_order) == len(averages) else range(len(averages))
            out.extend(np.asarray(averages[i]) for i in order)
        for group in self._slot_groups():
            per_slot = {n: jax.tree_util.tree_leaves(self.state["slots"][n]) for n in group}
            count = len(per_slot[group[0]])
            order = self._leaf_order if len(self._leaf_order) == count else list(range(count))
            for i in order:
                out.extend(np.asarray(per_slot[n][i]) for n in group)
        out.extend(np.asarray(v) for v in self.state["extra"].values())
        return out

    def load_variables(self, values: list[Any], params: PyTree) -> dict[str, Any]:
        """Set ``self.state`` from arrays in :attr:`variables` order (e.g. read from a ``.keras`` file)."""
        state = self.init(params)
        n_leaves = len(jax.tree_util.tree_leaves(params))
        expected = (1 + (not self._is_schedule) + n_leaves * (len(self._slot_names()) + self.use_ema)
                    + len(state["extra"]))
        if len(values) != expected:
            raise ValueError(
                f"Optimizer '{self.name}' expects {expected} variables for {n_leaves} weights, but "
                f"received {len(values)}. Was the state saved by a different optimizer or model?"
            )
        values = list(values)
        state["iterations"] = jnp.asarray(values.pop(0), jnp.int32).reshape(())
        if not self._is_schedule:
            state["learning_rate"] = _f32(values.pop(0)).reshape(())
        _, order = _ordered_leaves(params)
        treedef = jax.tree_util.tree_structure(params)
        ref = jax.tree_util.tree_leaves(params)
        if self.use_ema:
            averages: list[Any] = [None] * n_leaves
            for i in range(n_leaves):
                averages[order[i]] = jnp.asarray(values.pop(0), jnp.asarray(ref[order[i]]).dtype)
            state["average"] = jax.tree_util.tree_unflatten(treedef, averages)
        for group in self._slot_groups():
            per_slot: dict[str, list[Any]] = {n: [None] * n_leaves for n in group}
            for i in range(n_leaves):
                for n in group:
                    value = jnp.asarray(values.pop(0), jnp.asarray(ref[order[i]]).dtype)
                    if value.shape != jnp.shape(ref[order[i]]):
                        raise ValueError(
                            f"Optimizer variable '{n}' for weight {i} has shape {value.shape}, but "
                            f"the weight has shape {jnp.shape(ref[order[i]])}."
                        )
                    per_slot[n][order[i]] = value
            for n in group:
                state["slots"][n] = jax.tree_util.tree_unflatten(treedef, per_slot[n])
        for key in list(state["extra"]):
            state["extra"][key] = jnp.asarray(values.pop(0), state["extra"][key].dtype)
        self.state = state
        return state

    def finalize_variable_values(self, var_list: list[Any]) -> None:
        """Keras's end of ``fit``: with ``use_ema``, set the model's trainable weights to their moving averages."""
        if self.use_ema and self.state is not None and "average" in self.state:
            _assign_averages(self, var_list)

    # ------------------------------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        """Keras's config keys and values (the learning rate as its float32 value)."""
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            lr: Any = schedules.serialize(self._learning_rate)
        elif callable(self._learning_rate):
            lr = self._learning_rate
        else:
            lr = self.learning_rate
        return {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        """Rebuild an optimizer (without state) from :meth:`get_config`."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} name={self.name!r} learning_rate={self.get_config()['learning_rate']!r}>"
        )


# ----------------------------------------------------------------------------------------- the rules
class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum: ``m = μm - lr·g; w += m``.

    >>> SGD().get_config()["learning_rate"]
    0.009999999776482582
    """

    _default_learning_rate = 0.01

    def __init__(
        self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        if not isinstance(momentum, numbers.Real) or momentum < 0 or momentum > 1:
            raise ValueError("`momentum` must be a float between [0, 1].")
        self.momentum = float(momentum)
        self.nesterov = nesterov

    def _slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentum",)] if self.momentum != 0 else []

    def _update_leaf(self, g: Any, slots: dict[str, Any], lr: Any, t: Any, extra: dict[str, Any]) -> Any:
        if self.momentum == 0:
            return -(g * lr), {}
        mu = _f32(self.momentum).astype(g.dtype)
        m = slots["momentum"] * mu - g * lr
        update = m * mu - g * lr if self.nesterov else m
        return update, {"momentum": m}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam in Keras's "epsilon-hat" form: ``w -= lr·√(1-β₂ᵗ)/(1-β₁ᵗ) · m/(√v + ε)``.

    >>> Adam().get_config()["epsilon"]
    1e-07
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def _slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentum", "velocity")] + ([("velocity_hat",)] if self.amsgrad else [])

    def _update_leaf(self, g: Any, slots: dict[str, Any], lr: Any, t: Any, extra: dict[str, Any]) -> Any:
        step = t.astype(g.dtype)
        b1_power = jnp.power(jnp.asarray(self.beta_1, g.dtype), step)
        b2_power = jnp.power(jnp.asarray(self.beta_2, g.dtype), step)
        alpha = lr * jnp.sqrt(1 - b2_power) / (1 - b1_power)
        m = slots["momentum"] + (g - slots["momentum"]) * (1 - self.beta_1)
        v = slots["velocity"] + (jnp.square(g) - slots["velocity"]) * (1 - self.beta_2)
        new = {"momentum": m, "velocity": v}
        if self.amsgrad:
            v = new["velocity_hat"] = jnp.maximum(slots["velocity_hat"], v)
        return -((m * alpha) / (jnp.sqrt(v) + self.epsilon)), new

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (``w -= w·weight_decay·lr`` before each step); Keras's default 0.004.

    >>> AdamW().get_config()["weight_decay"]
    0.004
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            weight_decay=weight_decay,
            **kwargs,
        )
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")


class RMSprop(Optimizer):
    """RMSprop with ε inside the square root: ``v = ρv + (1-ρ)g²; w -= lr·g/√(v + ε)``.

    >>> RMSprop().name.startswith("rm_sprop")
    True
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def _slot_groups(self) -> list[tuple[str, ...]]:
        groups = [("velocity",)]
        if self.momentum > 0:
            groups.append(("momentum",))
        if self.centered:
            groups.append(("average_gradient",))
        return groups

    def _update_leaf(self, g: Any, slots: dict[str, Any], lr: Any, t: Any, extra: dict[str, Any]) -> Any:
        rho = self.rho
        velocity = rho * slots["velocity"] + (1 - rho) * jnp.square(g)
        new = {"velocity": velocity}
        if self.centered:
            avg = new["average_gradient"] = rho * slots["average_gradient"] + (1 - rho) * g
            denominator = velocity - jnp.square(avg) + self.epsilon
        else:
            denominator = velocity + self.epsilon
        increment = (lr * g) / jnp.sqrt(denominator)
        if self.momentum > 0:
            momentum = new["momentum"] = self.momentum * slots["momentum"] + increment
            return -momentum, new
        return -increment, new

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adagrad(Optimizer):
    """Adagrad: ``a += g²; w -= lr·g/√(a + ε)``, accumulators starting at ``initial_accumulator_value``.

    >>> Adagrad().get_config()["initial_accumulator_value"]
    0.1
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def _slot_groups(self) -> list[tuple[str, ...]]:
        return [("accumulator",)]

    def _slot_initial_value(self, name: str) -> float:
        return self.initial_accumulator_value

    def _update_leaf(self, g: Any, slots: dict[str, Any], lr: Any, t: Any, extra: dict[str, Any]) -> Any:
        acc = slots["accumulator"] + jnp.square(g)
        return -((lr * g) / jnp.sqrt(acc + self.epsilon)), {"accumulator": acc}

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012) as Keras computes it, scaled by ``learning_rate``.

    >>> Adadelta().get_config()["rho"]
    0.95
    """

    def __init__(
        self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7, **kwargs: Any
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def _slot_groups(self) -> list[tuple[str, ...]]:
        return [("accumulated_grad", "accumulated_delta_var")]

    def _update_leaf(self, g: Any, slots: dict[str, Any], lr: Any, t: Any, extra: dict[str, Any]) -> Any:
        rho = self.rho
        acc_grad = rho * slots["accumulated_grad"] + (1 - rho) * jnp.square(g)
        delta = -(
            (jnp.sqrt(slots["accumulated_delta_var"] + self.epsilon) * g) / jnp.sqrt(acc_grad + self.epsilon)
        )
        acc_delta = rho * slots["accumulated_delta_var"] + (1 - rho) * jnp.square(delta)
        return lr * delta, {"accumulated_grad": acc_grad, "accumulated_delta_var": acc_delta}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adamax(Optimizer):
    """Adamax, Adam's infinity-norm variant: ``u = max(β₂u, |g|); w -= lr·m/((1-β₁ᵗ)(u + ε))``.

    >>> Adamax().get_config()["beta_2"]
    0.999
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentum", "norm")]

    def _update_leaf(self, g: Any, slots: dict[str, Any], lr: Any, t: Any, extra: dict[str, Any]) -> Any:
        b1_power = jnp.power(jnp.asarray(self.beta_1, g.dtype), t.astype(g.dtype))
        m = slots["momentum"] + (g - slots["momentum"]) * (1 - self.beta_1)
        u = jnp.maximum(self.beta_2 * slots["norm"], jnp.abs(g))
        return -((lr * m) / ((1 - b1_power) * (u + self.epsilon))), {"momentum": m, "norm": u}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Adam with Nesterov momentum and Keras's momentum schedule ``β₁(1 - 0.5·0.96ᵗ)``.

    >>> Nadam().get_config()["beta_1"]
    0.9
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentum", "velocity")]

    def _extra_init(self, params: PyTree) -> dict[str, Any]:
        leaves = jax.tree_util.tree_leaves(params)
        return {"u_product": np.ones((), _dtype_of(leaves[0]) if leaves else np.float32)}

    def _extra_before_step(self, extra: dict[str, Any], t: Any) -> dict[str, Any]:
        u = extra["u_product"]
        step = t.astype(u.dtype)
        return {
            **extra,
            "u_product": u * self.beta_1 * (1.0 - 0.5 * jnp.power(jnp.asarray(0.96, u.dtype), step)),
        }

    def _update_leaf(self, g: Any, slots: dict[str, Any], lr: Any, t: Any, extra: dict[str, Any]) -> Any:
        dtype = g.dtype
        step, next_step = t.astype(dtype), (t + 1).astype(dtype)
        decay = jnp.asarray(0.96, dtype)
        beta_1, beta_2 = jnp.asarray(self.beta_1, dtype), jnp.asarray(self.beta_2, dtype)
        u_t = beta_1 * (1.0 - 0.5 * jnp.power(decay, step))
        u_t_1 = beta_1 * (1.0 - 0.5 * jnp.power(decay, next_step))
        u_product_t = extra["u_product"].astype(dtype)
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = jnp.power(beta_2, step)
        m = slots["momentum"] + (g - slots["momentum"]) * (1 - beta_1)
        v = slots["velocity"] + (jnp.square(g) - slots["velocity"]) * (1 - beta_2)
        m_hat = (u_t_1 * m) / (1 - u_product_t_1) + ((1 - u_t) * g) / (1 - u_product_t)
        v_hat = v / (1 - beta_2_power)
        return -((m_hat * lr) / (jnp.sqrt(v_hat) + self.epsilon)), {"momentum": m, "velocity": v}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Lion(Optimizer):
    """Lion: ``w -= lr·sign(β₁·m + (1-β₁)·g)``, then ``m = β₂·m + (1-β₂)·g``.

    >>> Lion().get_config()["beta_2"]
    0.99
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.99, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer "
                             f"degenerates to SignSGD. Received: beta_1={beta_1}.")

    def _slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentum",)]

    def _update_leaf(self, g: Any, slots: dict[str, Any], lr: Any, t: Any, extra: dict[str, Any]) -> Any:
        m = slots["momentum"]
        update = -lr * jnp.sign(m * self.beta_1 + g * (1.0 - self.beta_1))
        return update, {"momentum": m * self.beta_2 + g * (1.0 - self.beta_2)}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


class Lamb(Optimizer):
    """LAMB: Adam's bias-corrected step scaled per weight by the trust ratio ``‖w‖ / ‖step‖``.

    >>> Lamb().get_config()["epsilon"]
    1e-07
    """

    _uses_weights = True

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentum", "velocity")]

    def _update_leaf(self, g: Any, slots: dict[str, Any], lr: Any, t: Any, extra: dict[str, Any],
                     w: Any = None) -> Any:
        step = t.astype(g.dtype)
        b1_power = jnp.power(jnp.asarray(self.beta_1, g.dtype), step)
        b2_power = jnp.power(jnp.asarray(self.beta_2, g.dtype), step)
        m = slots["momentum"] + (g - slots["momentum"]) * (1 - self.beta_1)
        v = slots["velocity"] + (jnp.square(g) - slots["velocity"]) * (1 - self.beta_2)
        update = (m / (1.0 - b1_power)) / (jnp.sqrt(v / (1.0 - b2_power)) + self.epsilon)
        w_norm = jnp.sqrt(jnp.sum(jnp.square(w)))
        g_norm = jnp.sqrt(jnp.sum(jnp.square(update)))
        ratio = jnp.where((w_norm > 0) & (g_norm > 0), w_norm / jnp.where(g_norm > 0, g_norm, 1.0), 1.0)
        return -(ratio * lr * update), {"momentum": m, "velocity": v}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Ftrl(Optimizer):
    """FTRL-Proximal (follow the regularized leader) with Keras's L1, L2, shrinkage and ``beta`` terms.

    >>> Ftrl().get_config()["initial_accumulator_value"]
    0.1
    """

    _uses_weights = True

    def __init__(
        self,
        learning_rate: Any = 0.001,
        learning_rate_power: float = -0.5,
        initial_accumulator_value: float = 0.1,
        l1_regularization_strength: float = 0.0,
        l2_regularization_strength: float = 0.0,
        l2_shrinkage_regularization_strength: float = 0.0,
        beta: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        checks = {
            "initial_accumulator_value": initial_accumulator_value,
            "l1_regularization_strength": l1_regularization_strength,
            "l2_regularization_strength": l2_regularization_strength,
            "l2_shrinkage_regularization_strength": l2_shrinkage_regularization_strength,
        }
        for key, value in checks.items():
            if value < 0.0:
                raise ValueError(f"`{key}` needs to be positive or zero. Received: {key}={value}.")
        if learning_rate_power > 0.0:
            raise ValueError("`learning_rate_power` needs to be negative or zero. Received: "
                             f"learning_rate_power={learning_rate_power}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def _slot_groups(self) -> list[tuple[str, ...]]:
        return [("accumulator", "linear")]

    def _slot_initial_value(self, name: str) -> float:
        return self.initial_accumulator_value if name == "accumulator" else 0.0

    def _update_leaf(self, g: Any, slots: dict[str, Any], lr: Any, t: Any, extra: dict[str, Any],
                     w: Any = None) -> Any:
        power = -self.learning_rate_power
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        accum = slots["accumulator"]
        new_accum = accum + jnp.square(g)
        grad = g + 2 * self.l2_shrinkage_regularization_strength * w
        linear = slots["linear"] + grad - (jnp.power(new_accum, power) - jnp.power(accum, power)) / lr * w
        quadratic = jnp.power(new_accum, power) / lr + 2 * l2
        l1 = self.l1_regularization_strength
        new_w = (jnp.clip(linear, -l1, l1) - linear) / quadratic
        return new_w - w, {"accumulator": new_accum, "linear": linear}

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        }


# ------------------------------------------------------------------------------------ lookup & files
_CLASSES: dict[str, type[Optimizer]] = {
    c.__name__: c for c in (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion, Lamb, Ftrl)
}
_BY_LOWER = {k.lower(): v for k, v in _CLASSES.items()}


def _class_for(name: str) -> type[Optimizer]:
    cls = _CLASSES.get(name) or _BY_LOWER.get(name.lower().replace("_", "")) or _own_module_class(name)
    if cls is None:
        raise ValueError(
            f"Could not interpret optimizer identifier: {name!r}. Known optimizers: "
            f"{sorted(_CLASSES)} (any capitalization)."
        )
    return cls


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """Keras's serialized form of an optimizer.

    >>> serialize(Adam(name="adam"))["config"]["learning_rate"]
    0.0010000000474974513
    """
    return {
        "module": "keras.optimizers",
        "class_name": type(optimizer).__name__,
        "config": optimizer.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict[str, Any]) -> Optimizer:
    """Inverse of :func:`serialize` (also accepts ``{"class_name": ..., "config": ...}`` without module).

    >>> type(deserialize({"class_name": "SGD", "config": {"momentum": 0.9}})).__name__
    'SGD'
    """
    return _class_for(config["class_name"]).from_config(config.get("config") or {})


def get(identifier: Any) -> Optimizer:
    """An optimizer from a name (any capitalization: ``"adam"``, ``"SGD"``, ``"rmsprop"``), an instance or a
    serialized dict.

    >>> get("RMSprop").get_config()["rho"]
    0.9
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return _class_for(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(
        f"Could not interpret optimizer identifier: {identifier!r}. Pass a name such as 'adam', an "
        "optimizer instance such as lamina.optimizers.Adam(1e-3), or a serialized dict."
    )


# --------------------------------------------------------------- optimizers in their own modules (imported on use)
_OWN_MODULES = {
    "Adafactor": "lamina.optimizers.adafactor",
    "Muon": "lamina.optimizers.muon",
    "ScheduleFreeAdamW": "lamina.optimizers.schedule_free_adamw",
    "LossScaleOptimizer": "lamina.optimizers.loss_scale_optimizer",
    "MultiOptimizer": "lamina.optimizers.multi_optimizer",
    "OptimizerMap": "lamina.optimizers.multi_optimizer",
}
__all__ += sorted(_OWN_MODULES)


def _own_module_class(name: str) -> Any:
    import importlib

    wanted = {k.lower(): k for k in _OWN_MODULES}.get(name.lower().replace("_", ""))
    return getattr(importlib.import_module(_OWN_MODULES[wanted]), wanted) if wanted else None


def __getattr__(name: str) -> Any:
    if name in _OWN_MODULES:
        return _own_module_class(name)
    raise AttributeError(f"module 'lamina.optimizers' has no attribute {name!r}")
