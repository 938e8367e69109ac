"""The Layer base class, its weights, and the scope that makes a layer's call a pure function.

A layer keeps configuration and :class:`Weight` objects. Its ``call(inputs)`` reads ``self.kernel.value``.
Outside a model that value is the weight's stored array; inside ``Model.apply(params, ...)`` a
:class:`CallScope` substitutes the arrays of the ``params`` pytree (JAX tracers under ``jit``), so the
whole forward pass is a pure function of one pytree and ``jax.grad``/``jit``/sharding apply directly.

>>> import numpy as np
>>> from lamina import layers
>>> dense = layers.Dense(3)
>>> dense(np.ones((2, 4), "float32")).shape
(2, 3)
>>> [w.shape for w in dense.weights]
[(4, 3), (3,)]
"""

from __future__ import annotations

import contextlib
import inspect
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina import backend, initializers, naming
from lamina.graph import History, KerasTensor, Node, any_symbolic, map_structure
from lamina.layers.masks import attach, fill_masks, get_mask, output_mask, takes_mask
from lamina.ops.operation import Operation
from lamina.ops.symbolic import register_variable_class

Shape = tuple[int | None, ...]


# --------------------------------------------------------------------------------------------- scope
class CallScope:
    """Maps weights to the arrays a pure call should use and collects state updates (e.g. moving means)."""

    _local = threading.local()

    def __init__(self, values: dict[int, Any] | None = None, training: bool = False, rng: Any = None) -> None:
        self.values = values or {}
        self.updates: dict[int, Any] = {}
        self.losses: list[Any] = []
        self.training = training
        self.rng = rng
        self._rng_count = 0

    def next_rng(self) -> Any:
        """A fresh PRNG key for a random layer (Dropout); distinct for every use within one call."""
        if self.rng is None:
            self.rng = jax.random.PRNGKey(backend.SEEDS.next_seed())
        self._rng_count += 1
        return jax.random.fold_in(self.rng, self._rng_count)

    def __enter__(self) -> CallScope:
        stack = self._stack()
        stack.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stack().pop()

    @classmethod
    def _stack(cls) -> list[CallScope]:
        if not hasattr(cls._local, "stack"):
            cls._local.stack = []
        return cls._local.stack

    @classmethod
    def current(cls) -> CallScope | None:
        stack = cls._stack()
        return stack[-1] if stack else None


# -------------------------------------------------------------------------------------------- weight
_ABSTRACT = threading.local()


@contextlib.contextmanager
def abstract_weights() -> Any:
    """Within this block ``add_weight`` records each weight's shape and dtype but allocates nothing.

    File loaders build a model from a config this way, compare its size with the file's before any memory is
    spent, then fill every weight from the file (``Weight.materialize()`` draws any the file did not hold).

    >>> from lamina import layers
    >>> with abstract_weights():
    ...     dense = layers.Dense(1_000_000)
    ...     dense._maybe_build((None, 1000))
    >>> dense.kernel.is_abstract, dense.count_params()
    (True, 1001000000)
    """
    previous = getattr(_ABSTRACT, "on", False)
    _ABSTRACT.on = True
    try:
        yield
    finally:
        _ABSTRACT.on = previous


class Weight:
    """A named array owned by a layer (Keras calls it a variable): ``layer.kernel``, ``layer.bias``."""

    def __init__(self, layer: Layer, name: str, value: Any, trainable: bool = True,
                 regularizer: Any = None, constraint: Any = None) -> None:
        self._layer = layer
        self.name = name
        self._initializer: Any = None
        if isinstance(value, jax.ShapeDtypeStruct):  # abstract (see abstract_weights): filled in by a loader
            self._value = value
        else:
            self._set_concrete(value)
        self._trainable = trainable
        self.regularizer = regularizer
        self.constraint = constraint

    def _set_concrete(self, value: Any) -> None:
        with jax.ensure_compile_time_eval():  # a concrete array even when built while a call is traced
            if isinstance(value, (np.ndarray, np.generic)):
                self._value = jax.device_put(value)  # a transfer, not a compiled op per shape
            else:
                self._value = jnp.asarray(value)

    @property
    def is_abstract(self) -> bool:
        """True while the weight has a shape and dtype but no array yet (built under ``abstract_weights``)."""
        return isinstance(self._value, jax.ShapeDtypeStruct)

    def materialize(self) -> None:
        """Draw an abstract weight's array from its initializer (a no-op for a concrete weight)."""
        if self.is_abstract:
            self._set_concrete(initializers.get(self._initializer)(self.shape, str(self._value.dtype)))

    @property
    def path(self) -> str:
        return f"{self._layer.name}/{self.name}"

    @property
    def trainable(self) -> bool:
        return self._trainable and self._layer.trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._value.shape)

    @property
    def dtype(self) -> str:
        return str(self._value.dtype)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def value(self) -> Any:
        """The array to compute with: the scoped one inside a pure call, else the stored one."""
        scope = CallScope.current()
        if scope is not None:
            if id(self) in scope.updates:
                return scope.updates[id(self)]
            if id(self) in scope.values:
                return scope.values[id(self)]
        return self._value

    def assign(self, value: Any) -> None:
        """Set a new value (recorded as a state update inside a pure call)."""
        value = jnp.asarray(value, dtype=self._value.dtype)
        if tuple(value.shape) != self.shape:
            raise ValueError(
                f"Cannot assign a value of shape {tuple(value.shape)} to weight '{self.path}' of shape "
                f"{self.shape}."
            )
        scope = CallScope.current()
        if scope is not None and id(self) in scope.values:
            scope.updates[id(self)] = value
        else:
            self._value = value

    def numpy(self) -> np.ndarray:
        return np.asarray(self._value)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.asarray(self.value)
        return out.astype(dtype) if dtype is not None else out

    def __jax_array__(self) -> Any:
        return self.value

    def __repr__(self) -> str:
        return f"<Weight path={self.path}, shape={self.shape}, dtype={self.dtype}, trainable={self.trainable}>"

    # arithmetic so that user layers can write `x @ self.kernel + self.bias`
    def __add__(self, o): return self.value + o  # noqa: E704
    def __radd__(self, o): return o + self.value  # noqa: E704
    def __sub__(self, o): return self.value - o  # noqa: E704
    def __rsub__(self, o): return o - self.value  # noqa: E704
    def __mul__(self, o): return self.value * o  # noqa: E704
    def __rmul__(self, o): return o * self.value  # noqa: E704
    def __truediv__(self, o): return self.value / o  # noqa: E704
    def __rtruediv__(self, o): return o / self.value  # noqa: E704
    def __matmul__(self, o): return self.value @ o  # noqa: E704
    def __rmatmul__(self, o): return o @ self.value  # noqa: E704
    def __neg__(self): return -self.value  # noqa: E704
    def __getitem__(self, i): return self.value[i]  # noqa: E704
    def __pow__(self, o): return self.value ** o  # noqa: E704
    def __rpow__(self, o): return o ** self.value  # noqa: E704
    def __abs__(self): return abs(self.value)  # noqa: E704
    def __floordiv__(self, o): return self.value // o  # noqa: E704
    def __mod__(self, o): return self.value % o  # noqa: E704
    def __lt__(self, o): return self.value < o  # noqa: E704
    def __le__(self, o): return self.value <= o  # noqa: E704
    def __gt__(self, o): return self.value > o  # noqa: E704
    def __ge__(self, o): return self.value >= o  # noqa: E704

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def T(self) -> Any:  # noqa: N802 - NumPy's name
        return self.value.T

    def astype(self, dtype: Any) -> Any:
        return self.value.astype(dtype)


# JAX functions read a weight as its array: jit and the jnp functions (themselves jitted) flatten arguments as
# pytrees, and a Weight flattens to the array it holds in the current call (the traced parameter inside a model's
# jitted step). Without this, JAX refuses the object (it no longer converts ``__jax_array__`` objects while tracing).
jax.tree_util.register_pytree_node(Weight, lambda w: ((w.value,), None), lambda _, children: children[0])
register_variable_class(Weight)


# ----------------------------------------------------------------------------------------- InputSpec
class InputSpec:
    """What a layer accepts: ``ndim``/``min_ndim``/``max_ndim`` and fixed sizes for some ``axes``."""

    def __init__(self, ndim: int | None = None, min_ndim: int | None = None, max_ndim: int | None = None,
                 axes: dict[int, int] | None = None) -> None:
        self.ndim, self.min_ndim, self.max_ndim, self.axes = ndim, min_ndim, max_ndim, axes or {}


def is_shape(value: Any) -> bool:
    """True for a single shape tuple such as ``(None, 3)``; False for a list of shapes."""
    return isinstance(value, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer)) for d in value)


def shape_str(shape: Any) -> str:
    """``(None, 28, 28)`` as Keras prints it."""
    if is_shape(shape):
        return str(tuple(None if d is None else int(d) for d in shape))
    return str(shape)


# --------------------------------------------------------------------------------------------- Layer
class Layer(Operation):
    """Base class of every layer. Subclasses define ``build``, ``call`` and ``compute_output_shape``.

    >>> import numpy as np
    >>> from lamina.layers import Layer
    >>> class Double(Layer):
    ...     def call(self, inputs):
    ...         return inputs * 2
    >>> Double()(np.ones((1, 2))).tolist()
    [[2.0, 2.0]]
    """

    # Keras 3 marks weightless layers such as Dropout, Activation, Reshape and pooling "built" at construction,
    # so their serialized form has no ``build_config``; those classes set this to False.
    _writes_build_config = True

    _allowed_kwargs = ("input_shape", "batch_input_shape", "batch_size", "input_dim", "dtype", "name",
                       "trainable", "activity_regularizer", "weights", "autocast", "seed_generator")

    def __init__(self, *, name: str | None = None, trainable: bool = True, dtype: Any = None,
                 input_shape: Sequence[int | None] | None = None,
                 batch_input_shape: Sequence[int | None] | None = None, batch_size: int | None = None,
                 input_dim: int | None = None, activity_regularizer: Any = None, **kwargs: Any) -> None:
        unknown = [k for k in kwargs if k not in self._allowed_kwargs]
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected keyword argument(s): {', '.join(unknown)}.")
        object.__setattr__(self, "_tracked_layers", [])
        self.name = str(name) if name is not None else naming.auto_name(type(self).__name__)
        self._trainable = bool(trainable)
        self.dtype = _dtype_name(dtype)
        self.activity_regularizer = activity_regularizer
        self.built = False
        self.input_spec: InputSpec | None = None
        self._own_weights: list[Weight] = []
        self._inbound_nodes: list[Node] = []
        self._build_input_shape: Any = None
        self._batch_input_shape = _batch_shape_from_args(self.name, input_shape, batch_input_shape,
                                                         batch_size, input_dim)

    # -- tracking
    def __setattr__(self, name: str, value: Any) -> None:
        tracked = self.__dict__.get("_tracked_layers")
        if tracked is not None and not name.startswith("_"):
            candidates = value if isinstance(value, (list, tuple)) else [value]
            for item in candidates:
                if isinstance(item, Layer) and item is not self and all(item is not t for t in tracked):
                    tracked.append(item)
        object.__setattr__(self, name, value)

    def _sublayers(self) -> list[Layer]:
        """Layers whose weights this layer owns (sublayers of wrappers, models, custom layers)."""
        return list(self._tracked_layers)

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in self._sublayers():
            layer.trainable = value

    # -- weights
    def add_weight(self, shape: Sequence[int] | None = None, initializer: Any = None, dtype: Any = None,
                   trainable: bool = True, regularizer: Any = None, constraint: Any = None,
                   name: str | None = None, **kwargs: Any) -> Weight:
        """Create a weight of ``shape`` drawn from ``initializer`` (Keras's signature)."""
        shape = tuple(int(d) for d in (shape or ()))
        dtype = _dtype_name(dtype) if dtype is not None else self.dtype
        if initializer is None:
            initializer = "glorot_uniform" if "float" in dtype else "zeros"
        if getattr(_ABSTRACT, "on", False):
            value: Any = jax.ShapeDtypeStruct(shape, jnp.dtype(dtype))
        else:
            value = initializers.get(initializer)(shape, dtype)
        name = name or f"variable_{len(self._own_weights)}"
        weight = Weight(self, name, value, trainable=trainable, regularizer=regularizer, constraint=constraint)
        weight._initializer = initializer
        self._own_weights.append(weight)
        return weight

    @property
    def weights(self) -> list[Weight]:
        """Own weights (trainable first), then each sublayer's, without duplicates (Keras 3's order)."""
        own = [w for w in self._own_weights if w._trainable] + [w for w in self._own_weights if not w._trainable]
        out, seen = [], set()
        for w in own + [w for layer in self._sublayers() for w in layer.weights]:
            if id(w) not in seen:
                seen.add(id(w))
                out.append(w)
        return out

    @property
    def variables(self) -> list[Weight]:
        return self.weights

    @property
    def trainable_weights(self) -> list[Weight]:
        return [w for w in self.weights if w.trainable]

    @property
    def non_trainable_weights(self) -> list[Weight]:
        return [w for w in self.weights if not w.trainable]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self) -> list[np.ndarray]:
        """The weights as NumPy arrays, in ``self.weights`` order."""
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Set every weight from a list of arrays in ``get_weights()`` order."""
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(
                f"Layer '{self.name}' has {len(mine)} weights but set_weights received {len(weights)} arrays."
            )
        for w, value in zip(mine, weights):
            value = np.asarray(value)
            if tuple(value.shape) != w.shape:
                raise ValueError(
                    f"Layer '{self.name}': weight '{w.path}' has shape {w.shape}, received an array of shape "
                    f"{tuple(value.shape)}."
                )
        for w, value in zip(mine, weights):
            w.assign(value)

    def add_loss(self, value: Any) -> None:
        """Add a term to the training loss (e.g. an activity penalty) during a call."""
        scope = CallScope.current()
        if scope is not None:
            scope.losses.append(value)

    def count_params(self) -> int:
        """The number of scalars in all weights."""
        if not self.built:
            raise ValueError(
                f"You tried to call count_params() on layer '{self.name}', but the layer isn't built. "
                "Build it first, e.g. by calling it on an input: layer(Input(shape))."
            )
        return sum(w.size for w in self.weights)

    # -- the contract subclasses implement
    def build(self, input_shape: Any) -> None:
        """Create the weights for inputs of ``input_shape`` (batch axis ``None``)."""

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call().")

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The output shape for ``input_shape``; by default found by tracing ``call`` abstractly."""
        return _traced_output_shape(self, input_shape)

    def compute_output_dtype(self, input_dtype: str) -> str:
        return self.dtype if "float" in input_dtype or "int" in input_dtype else input_dtype

    # -- masking (Keras's protocol; see lamina.layers.masks)
    @property
    def supports_masking(self) -> bool:
        """Whether the outputs get ``compute_mask(inputs, mask)``; true for layers overriding ``compute_mask``."""
        explicit = self.__dict__.get("_supports_masking")
        if explicit is not None:
            return explicit
        return type(self).compute_mask is not Layer.compute_mask

    @supports_masking.setter
    def supports_masking(self, value: bool) -> None:
        self.__dict__["_supports_masking"] = bool(value)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask of the outputs; by default the input's mask passes through unchanged."""
        return mask

    # -- calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args:
            if "inputs" not in kwargs:
                raise TypeError(f"Layer '{self.name}' was called without inputs.")
            args = (kwargs.pop("inputs"),)
        if any_symbolic((args, kwargs)):
            return self._symbolic_call(args, kwargs)
        return self._eager_call(args, kwargs)

    def _symbolic_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        inputs = args[0]
        _, previous_mask = fill_masks(self, args, kwargs, get_mask)
        shapes = map_structure(lambda t: t.shape if isinstance(t, KerasTensor) else np.shape(t), inputs)
        self._check_input_spec(shapes)
        self._maybe_build(shapes)
        out_shapes = self.compute_output_shape(shapes)
        in_dtype = next((t.dtype for t in _leaves(inputs) if isinstance(t, KerasTensor)), "float32")
        out_dtype = self.compute_output_dtype(in_dtype)
        node_index = len(self._inbound_nodes)
        counter = iter(range(1_000_000))

        def make(shape: Any) -> KerasTensor:
            return KerasTensor(tuple(shape), dtype=out_dtype, history=History(self, node_index, next(counter)))

        if is_shape(out_shapes):
            outputs: Any = make(out_shapes)
        else:
            outputs = _map_shapes(make, out_shapes)
        self._inbound_nodes.append(Node(self, args, kwargs, outputs))
        if self.supports_masking and (previous_mask is not None or type(self).compute_mask is not Layer.compute_mask):
            attach(outputs, _symbolic_mask(self, shapes, previous_mask))
        return outputs

    def _eager_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        training = kwargs.pop("training", None)
        kwargs, previous_mask = fill_masks(self, args, kwargs, get_mask)
        if not takes_mask(self):
            kwargs.pop("mask", None)
        inputs = map_structure(_to_array, args[0])
        shapes = map_structure(lambda a: tuple(a.shape), inputs)
        self._check_input_spec(shapes)
        self._maybe_build(_map_shapes(_batchless, shapes) if not is_shape(shapes) else _batchless(shapes))
        scope = CallScope.current()
        if scope is not None:
            out = self._call_with_training(inputs, args[1:], kwargs, scope.training if training is None
                                           else bool(training))
        else:
            with CallScope(training=bool(training)):
                out = self._call_with_training(inputs, args[1:], kwargs, bool(training))
        attach(out, output_mask(self, inputs, previous_mask))
        return out

    def _call_with_training(self, inputs: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                            training: bool) -> Any:
        if _accepts(type(self).call, "training"):
            kwargs = {**kwargs, "training": training}
        return self.call(inputs, *args, **kwargs)

    def _maybe_build(self, input_shape: Any) -> None:
        if self.built:
            return
        shape = _normalize_shape(input_shape)
        try:
            self.build(shape)
        except ValueError:
            raise
        self._build_input_shape = shape
        self.built = True

    def _check_input_spec(self, shapes: Any) -> None:
        spec = self.input_spec
        if spec is None or not is_shape(shapes):
            return
        shape = tuple(shapes)
        rank = len(shape)
        where = f'Input 0 of layer "{self.name}" ({type(self).__name__}) is incompatible with the layer'
        if spec.ndim is not None and rank != spec.ndim:
            raise ValueError(f"{where}: expected ndim={spec.ndim}, found ndim={rank}. Full shape received: "
                             f"{shape_str(shape)}.{self._rank_hint(rank, spec.ndim)}")
        if spec.min_ndim is not None and rank < spec.min_ndim:
            raise ValueError(f"{where}: expected min_ndim={spec.min_ndim}, found ndim={rank}. Full shape "
                             f"received: {shape_str(shape)}.{self._rank_hint(rank, spec.min_ndim)}")
        if spec.max_ndim is not None and rank > spec.max_ndim:
            raise ValueError(f"{where}: expected max_ndim={spec.max_ndim}, found ndim={rank}. Full shape "
                             f"received: {shape_str(shape)}.")
        for axis, size in spec.axes.items():
            got = shape[axis] if -rank <= axis < rank else None
            if got is not None and size is not None and got != size:
                raise ValueError(
                    f"{where}: expected axis {axis} of the input to have size {size} (the layer was built for "
                    f"it), but received input with shape {shape_str(shape)}. A layer keeps the sizes it was "
                    f"built with; to use another input size, create a new {type(self).__name__} layer."
                )

    def _rank_hint(self, got: int, want: int) -> str:
        return ""

    # -- graph introspection
    def _single_node(self, attr: str) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called and thus has no defined {attr}.")
        if len(self._inbound_nodes) > 1:
            raise AttributeError(
                f"Layer '{self.name}' has multiple inbound nodes ({len(self._inbound_nodes)} calls), hence the notion "
                f"of \"layer {attr}\" is ill-defined. Use `get_{attr}_at(node_index)` instead, or index the tensors "
                f"each call returned (e.g. `{attr}s[i]` of the model).")
        return self._node_attribute(0, attr)

    def _node_attribute(self, node_index: int, attr: str) -> Any:
        if not -len(self._inbound_nodes) <= node_index < len(self._inbound_nodes):
            raise ValueError(f"Layer '{self.name}' was called {len(self._inbound_nodes)} time(s); it has no node "
                             f"{node_index}. Use an index from 0 to {len(self._inbound_nodes) - 1}.")
        node = self._inbound_nodes[node_index]
        return node.args[0] if attr == "input" else node.outputs

    def get_input_at(self, node_index: int) -> Any:
        """The input of this layer's call number ``node_index`` in the functional graph."""
        return self._node_attribute(node_index, "input")

    def get_output_at(self, node_index: int) -> Any:
        """The output of this layer's call number ``node_index`` in the functional graph."""
        return self._node_attribute(node_index, "output")

    def get_input_shape_at(self, node_index: int) -> Any:
        return map_structure(lambda t: t.shape, self.get_input_at(node_index))

    def get_output_shape_at(self, node_index: int) -> Any:
        return map_structure(lambda t: t.shape, self.get_output_at(node_index))

    @property
    def input(self) -> Any:
        return self._single_node("input")

    @property
    def output(self) -> Any:
        return self._single_node("output")

    @property
    def input_shape(self) -> Any:
        return map_structure(lambda t: t.shape, self.input)

    @property
    def output_shape(self) -> Any:
        return map_structure(lambda t: t.shape, self.output)

    # -- config
    def get_config(self) -> dict[str, Any]:
        """Keras 3's config keys for this layer."""
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable,
                                  "dtype": {"module": "keras", "class_name": "DTypePolicy",
                                            "config": {"name": self.dtype}, "registered_name": None}}
        if self.activity_regularizer is not None:
            from lamina import regularizers

            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Recreate a layer from ``get_config()`` output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


# ------------------------------------------------------------------------------------------- helpers
def _dtype_name(dtype: Any) -> str:
    if dtype is None:
        return backend.floatx()
    if isinstance(dtype, dict):
        return str(dtype.get("config", {}).get("name", backend.floatx()))
    return str(np.dtype(dtype)) if not isinstance(dtype, str) else dtype


def _batch_shape_from_args(name: str, input_shape: Any, batch_input_shape: Any, batch_size: Any,
                           input_dim: Any) -> Shape | None:
    if batch_input_shape is not None:
        return tuple(None if d is None else int(d) for d in batch_input_shape)
    if input_shape is None and input_dim is not None:
        input_shape = (input_dim,)
    if input_shape is None:
        return None
    if isinstance(input_shape, (int, np.integer)):
        input_shape = (input_shape,)
    try:
        dims = tuple(None if d is None else int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"Layer '{name}': input_shape must be a tuple of integers, received {input_shape!r}.") from None
    if any(d is not None and d < 0 for d in dims):
        raise ValueError(f"Layer '{name}': input_shape {dims} has a negative size.")
    return (None if batch_size is None else int(batch_size),) + dims


def _normalize_shape(shape: Any) -> Any:
    if is_shape(shape):
        return tuple(None if d is None else int(d) for d in shape)
    return _map_shapes(lambda s: tuple(None if d is None else int(d) for d in s), shape)


def _map_shapes(fn: Callable[[Any], Any], shapes: Any) -> Any:
    if is_shape(shapes):
        return fn(shapes)
    if isinstance(shapes, dict):
        return {k: _map_shapes(fn, v) for k, v in shapes.items()}
    return type(shapes)(_map_shapes(fn, s) for s in shapes) if isinstance(shapes, tuple) else [
        _map_shapes(fn, s) for s in shapes]


def _batchless(shape: tuple[int, ...]) -> Shape:
    return (None,) + tuple(shape[1:]) if len(shape) else tuple(shape)


def _leaves(structure: Any) -> list[Any]:
    out: list[Any] = []
    map_structure(out.append, structure)
    return out


def _to_array(value: Any) -> Any:
    if isinstance(value, jax.Array):
        return value
    arr = np.asarray(value)
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    return jnp.asarray(arr)


_accepts_cache: dict[Any, bool] = {}


def _accepts(fn: Callable[..., Any], arg: str) -> bool:
    key = (fn, arg)
    if key not in _accepts_cache:
        params = inspect.signature(fn).parameters
        _accepts_cache[key] = arg in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
    return _accepts_cache[key]


def _symbolic_mask(layer: Layer, input_shapes: Any, previous: Any) -> Any:
    """The symbolic mask(s) of a layer's outputs: ``compute_mask`` evaluated abstractly (``None`` if none)."""

    def spec(shape: Any, fill: int, dtype: Any = jnp.float32) -> Any:
        return jax.ShapeDtypeStruct(tuple(fill if d is None else d for d in shape), dtype)

    def run(fill: int) -> Any:
        xs = _map_shapes(lambda s: spec(s, fill), input_shapes)
        ms = map_structure(lambda m: None if m is None else spec(m.shape, fill, jnp.bool_), previous)
        return jax.eval_shape(lambda x, m: layer.compute_mask(x, m), xs, ms)

    try:
        a, b = run(2), run(3)
    except Exception:  # noqa: BLE001 - a mask the graph cannot trace is recomputed when the model runs
        return None

    def make(sa: Any, sb: Any) -> KerasTensor:
        return KerasTensor(tuple(None if x != y else x for x, y in zip(sa.shape, sb.shape)), dtype="bool")

    if a is None:
        return None
    if isinstance(a, jax.ShapeDtypeStruct):
        return make(a, b)
    return [None if x is None else make(x, y) for x, y in zip(a, b)]


def _traced_output_shape(layer: Layer, input_shape: Any) -> Any:
    """Find the output shape by abstract evaluation at two batch sizes; axes that change are ``None``."""

    def run(fill: int) -> Any:
        specs = _map_shapes(lambda s: jax.ShapeDtypeStruct(tuple(fill if d is None else d for d in s),
                                                           jnp.float32), input_shape)

        def fn(x: Any) -> Any:
            with CallScope(training=False):
                return layer._call_with_training(x, (), {}, False)

        return jax.eval_shape(fn, specs)

    a, b = run(2), run(3)

    def merge(sa: Any, sb: Any) -> Shape:
        return tuple(None if x != y else x for x, y in zip(sa.shape, sb.shape))

    if isinstance(a, jax.ShapeDtypeStruct):
        return merge(a, b)
    return jax.tree_util.tree_map(merge, a, b)
