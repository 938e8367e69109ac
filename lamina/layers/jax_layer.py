"""``JaxLayer`` and ``FlaxLayer``: plain JAX functions (or Flax modules) used as layers.

``JaxLayer(call_fn, init_fn=None, params=None, state=None)`` wraps a pure function. ``call_fn`` takes some of
``params``, ``state``, ``rng``, ``inputs``, ``training`` (by those names; ``inputs`` is required) and returns the
outputs, or ``(outputs, new_state)`` when it takes ``state``. ``params`` (a pytree of arrays) become the
layer's trainable weights, ``state`` its non-trainable ones; without them, ``init_fn(rng, inputs[, training])``
makes them at build time from ones of the input shape (``None`` sizes as 1), returning ``params`` or
``(params, state)``. ``rng`` is a fresh key per call in training and ``None`` at inference, as in Keras.
``FlaxLayer(module, method=None, variables=None)`` does the same for a ``flax.linen`` module and needs the
``flax`` package.

>>> import jax.numpy as jnp, numpy as np
>>> from lamina import layers
>>> def affine(params, inputs):
...     return inputs @ params["w"] + params["b"]
>>> layer = layers.JaxLayer(affine, params={"w": np.ones((3, 2), "float32"), "b": np.zeros(2, "float32")})
>>> layer(np.ones((1, 3), "float32")).tolist(), layer.count_params()
([[3.0, 3.0]], 8)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina import backend
from lamina.explain import Details, register_explainer
from lamina.layers.base import CallScope, Layer, Weight

_CALL_ARGS = {"params", "state", "rng", "inputs", "training"}
_INIT_ARGS = {"rng", "inputs", "training"}


def _arguments(fn: Callable[..., Any], fn_name: str, allowed: set[str]) -> list[str]:
    """The names of ``fn``'s parameters, checked against ``allowed`` (``inputs`` is required), as Keras."""
    names = list(inspect.signature(fn).parameters)
    if "inputs" not in names:
        raise ValueError(f"Missing required argument in `{fn_name}`: `inputs`")
    for name in names:
        if name not in allowed:
            raise ValueError(f"Unsupported argument in `{fn_name}`: `{name}`, supported arguments are "
                             f"`{'`, `'.join(sorted(allowed))}`")
    return names


def _is_array(value: Any) -> bool:
    return isinstance(value, (np.ndarray, np.generic, jax.Array)) or hasattr(value, "__jax_array__")


def _is_weight(value: Any) -> bool:
    return isinstance(value, Weight)


class JaxLayer(Layer):
    """A layer computed by a pure JAX function ``call_fn`` over its ``params`` and ``state`` pytrees."""

    def __init__(self, call_fn: Callable[..., Any], init_fn: Callable[..., Any] | None = None, params: Any = None,
                 state: Any = None, seed: int | None = None, native_serialization_platforms: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.call_fn = call_fn
        self.init_fn = init_fn
        self.seed = seed
        self.native_serialization_platforms = native_serialization_platforms
        self.params = self._make_weights(params, trainable=True)
        self.state = self._make_weights(state, trainable=False)
        self.call_fn_arguments = _arguments(call_fn, "call_fn", _CALL_ARGS)
        self.call_fn_has_params = "params" in self.call_fn_arguments
        self.call_fn_has_state = "state" in self.call_fn_arguments
        if (init_fn is None and params is None and state is None
                and (self.call_fn_has_params or self.call_fn_has_state)):
            raise ValueError("`init_fn`, `params` and `state` cannot all be `None` when `call_fn` takes a `params` "
                             "or a `state` argument.")
        self.init_fn_arguments = _arguments(init_fn, "init_fn", _INIT_ARGS) if init_fn is not None else []
        if params is not None or state is not None:
            self.built = True

    # -- weights from pytrees
    def _make_weights(self, values: Any, trainable: bool) -> Any:
        """The pytree with each array (or Python number) leaf replaced by a weight; other leaves stay."""

        def make(value: Any) -> Any:
            if _is_array(value) or isinstance(value, (bool, int, float)):
                array = np.asarray(value)
                dtype = None if np.issubdtype(array.dtype, np.floating) else str(array.dtype)
                return self.add_weight(array.shape, lambda shape, dtype=None, a=array: np.asarray(a, dtype),
                                       dtype=dtype, trainable=trainable)
            return value

        return jax.tree_util.tree_map(make, values)

    @staticmethod
    def _values(tree: Any) -> Any:
        return jax.tree_util.tree_map(lambda w: w.value if isinstance(w, Weight) else w, tree, is_leaf=_is_weight)

    def _init_rng(self) -> Any:
        return jax.random.PRNGKey(self.seed if self.seed is not None else backend.SEEDS.next_seed())

    def _call_rng(self, training: bool) -> Any:
        if not training:
            return None
        scope = CallScope.current()
        return scope.next_rng() if scope is not None else self._init_rng()

    def build(self, input_shape: Any) -> None:
        if self.params is not None or self.state is not None:
            return
        if not (self.call_fn_has_params or self.call_fn_has_state):
            return
        from lamina.graph import map_structure

        def ones(shape: Any) -> Any:
            return jnp.ones(tuple(1 if d is None else d for d in shape))

        inputs = ones(input_shape) if all(isinstance(d, int) or d is None for d in input_shape) else (
            map_structure(ones, input_shape))
        args = {"rng": self._init_rng(), "inputs": inputs, "training": True}
        with jax.ensure_compile_time_eval():
            result = self.init_fn(*[args[name] for name in self.init_fn_arguments])
        params, state = result if self.call_fn_has_state else (result, None)
        self.params = self._make_weights(params, trainable=True)
        self.state = self._make_weights(state, trainable=False)

    def call(self, inputs: Any, training: bool = False) -> Any:
        values = {"params": lambda: self._values(self.params), "state": lambda: self._values(self.state),
                  "rng": lambda: self._call_rng(training), "inputs": lambda: inputs, "training": lambda: training}
        result = self.call_fn(*[values[name]() for name in self.call_fn_arguments])
        if not self.call_fn_has_state:
            return result
        outputs, new_state = result

        def assign(value: Any, weight: Any) -> None:
            if not isinstance(weight, Weight):
                raise ValueError(f"JaxLayer '{self.name}': the structure of the state returned by `call_fn` does "
                                 "not match the structure of the state at initialization time.")
            weight.assign(value)

        flat_state = jax.tree_util.tree_leaves(self.state, is_leaf=_is_weight)
        flat_new, _ = jax.tree_util.tree_flatten(new_state)
        if len(flat_new) != len(flat_state):
            assign(None, None)
        for value, weight in zip(flat_new, flat_state):
            assign(value, weight)
        return outputs

    def get_config(self) -> dict[str, Any]:
        from lamina.saving.serialization_lib import serialize_keras_object

        return {**super().get_config(), "call_fn": serialize_keras_object(self.call_fn),
                "init_fn": serialize_keras_object(self.init_fn),
                "native_serialization_platforms": self.native_serialization_platforms}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        from lamina.saving.serialization_lib import deserialize_keras_object

        config = dict(config)
        config["call_fn"] = deserialize_keras_object(config["call_fn"])
        config["init_fn"] = deserialize_keras_object(config["init_fn"])
        return cls(**config)


class FlaxLayer(JaxLayer):
    """A ``flax.linen`` module as a layer: its ``"params"`` collection trainable, other collections state."""

    def __init__(self, module: Any, method: Any = None, variables: Any = None, **kwargs: Any) -> None:
        try:
            from flax.linen import DenyList
        except ImportError:
            raise ModuleNotFoundError(
                "FlaxLayer wraps a Flax module and needs the `flax` package, which is not installed. Install it "
                "(pip install flax), or wrap a plain function with layers.JaxLayer(call_fn, init_fn).") from None
        self.module = module
        self.method = method
        mutable = DenyList(["params"])
        takes_training = "training" in inspect.signature(method or module.__call__).parameters

        def apply(params: Any, state: Any, rng: Any, inputs: Any, training: bool = False) -> Any:
            extra = {"training": training} if takes_training else {}
            return self.module.apply(self._merge(params, state), inputs, rngs=rng, method=self.method,
                                     mutable=mutable, **extra)

        def init(rng: Any, inputs: Any, training: bool = True) -> Any:
            extra = {"training": training} if takes_training else {}
            return self._split(self.module.init(rng, inputs, method=self.method, **extra))

        if takes_training:
            call_fn, init_fn = apply, init
        else:
            def call_fn(params: Any, state: Any, rng: Any, inputs: Any) -> Any:
                return apply(params, state, rng, inputs)

            def init_fn(rng: Any, inputs: Any) -> Any:
                return init(rng, inputs)

        params, state = self._split(variables)
        super().__init__(call_fn=call_fn, init_fn=init_fn, params=params, state=state, **kwargs)

    @staticmethod
    def _merge(params: Any, state: Any) -> dict[str, Any]:
        return {**(params or {}), **(state or {})}

    @staticmethod
    def _split(variables: Any) -> tuple[Any, Any]:
        """Flax variables -> ``({"params": ...}, {other collections})`` (``None, None`` for none)."""
        if variables is None:
            return None, None
        params = {k: v for k, v in variables.items() if k == "params"}
        return params, {k: v for k, v in variables.items() if k != "params"}

    def _init_rng(self) -> Any:
        key = super()._init_rng()
        return {"params": key, "dropout": jax.random.fold_in(key, 1)}

    def _call_rng(self, training: bool) -> Any:
        return {"dropout": super()._call_rng(True)} if training else {}

    def get_config(self) -> dict[str, Any]:
        from lamina.saving.serialization_lib import serialize_keras_object

        method = self.method
        if getattr(method, "__self__", None) is self.module:
            method = method.__name__  # a bound method of the module is stored by name
        config = super().get_config()
        config.pop("call_fn"), config.pop("init_fn")
        return {**config, "module": serialize_keras_object(self.module), "method": serialize_keras_object(method)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        from lamina.saving.serialization_lib import deserialize_keras_object

        config = dict(config)
        module = deserialize_keras_object(config["module"])
        method = config["method"]
        method = getattr(module, method) if isinstance(method, str) else deserialize_keras_object(method)
        return cls(**{**config, "module": module, "method": method})


@register_explainer(JaxLayer)
def _explain_jax_layer(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    fn = getattr(layer, "module", None) or layer.call_fn
    name = getattr(fn, "__name__", type(fn).__name__)
    trainable = sum(int(np.prod(w.shape)) for w in layer.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in layer.non_trainable_weights)
    desc = (f"{type(layer).__name__} runs the JAX function {name!r} ({', '.join(layer.call_fn_arguments)}); lamina "
            "cannot see inside it, so it states no contracted or shared axes. Its params are trainable weights, "
            "its state non-trainable.")
    return Details(desc, arithmetic=f"{trainable:,} params + {frozen:,} state values = {trainable + frozen:,}")
