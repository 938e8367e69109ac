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
import functools
import inspect
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina import backend, dtype_policies, initializers, naming, scopes
from lamina.array_value import ArrayValue
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
        self.explicit_training = True  # False under model(x) with no `training`: see resolve_training
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


class Weight(ArrayValue):
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
        if isinstance(self._value, jax.ShapeDtypeStruct):
            # abstract (a model being built from a file): zeros of the right shape, which cost nothing where the
            # value is used, as in the abstract evaluation that infers a custom layer's output shape
            return jnp.zeros(self._value.shape, self._value.dtype)
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
        if scope is not None and (id(self) in scope.values or getattr(scope, "stateless", False) or (
                isinstance(value, jax.core.Tracer) and not getattr(scope, "eager", False))):
            # a pure call records it; a shape-inference trace drops a traced value (as Keras's StatelessScope
            # does) rather than leak the tracer into the weight
            scope.updates[id(self)] = value
        else:
            self._value = value

    def numpy(self) -> np.ndarray:
        return np.asarray(self._value)

    def __repr__(self) -> str:
        return f"<Weight path={self.path}, shape={self.shape}, dtype={self.dtype}, trainable={self.trainable}>"


# JAX functions read a weight as its array: jit and the jnp functions (themselves jitted) flatten arguments as
# pytrees, and a Weight flattens to the array it holds in the current call (the traced parameter inside a model's
# jitted step). Without this, JAX refuses the object (it no longer converts ``__jax_array__`` objects while tracing).
jax.tree_util.register_pytree_node(Weight, lambda w: ((w.value,), None), lambda _, children: children[0])
register_variable_class(Weight)


# ----------------------------------------------------------------------------------------- InputSpec
class InputSpec:
    """What a layer accepts (Keras 3's arguments): ``ndim``/``min_ndim``/``max_ndim``, a full ``shape`` (``None``
    for any size, batch included) and fixed sizes for some ``axes``.

    >>> InputSpec(shape=(None, 28, 28)).ndim, InputSpec(axes={-1: 3})
    (3, InputSpec(axes={-1: 3}))
    """

    def __init__(self, dtype: Any = None, shape: Sequence[int | None] | None = None, ndim: int | None = None,
                 max_ndim: int | None = None, min_ndim: int | None = None, axes: dict[int, int] | None = None,
                 allow_last_axis_squeeze: bool = False, name: str | None = None, optional: bool = False) -> None:
        self.dtype = None if dtype is None else _dtype_name(dtype)
        self.shape = None if shape is None else tuple(None if d is None else int(d) for d in shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.min_ndim, self.max_ndim = min_ndim, max_ndim
        try:
            self.axes = {int(k): v for k, v in (axes or {}).items()}
        except (ValueError, TypeError, AttributeError):
            raise TypeError(f"Argument `axes` must be a dict with integer keys. Received: axes={axes}") from None
        self.allow_last_axis_squeeze, self.name, self.optional = bool(allow_last_axis_squeeze), name, bool(optional)

    def __repr__(self) -> str:
        parts = [f"{k}={v}" for k, v in (("dtype", self.dtype), ("shape", self.shape), ("ndim", self.ndim),
                                          ("max_ndim", self.max_ndim), ("min_ndim", self.min_ndim),
                                          ("axes", self.axes)) if v]
        return f"InputSpec({', '.join(parts)})"

    def get_config(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim, "max_ndim": self.max_ndim,
                "min_ndim": self.min_ndim, "axes": self.axes, "optional": self.optional}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> InputSpec:
        return cls(**config)


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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A ``build`` a subclass writes marks the layer built when called directly (``layer.build(shape)``),
        as in Keras."""
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is None or getattr(build, "_marks_built", False):
            return

        @functools.wraps(build)
        def build_and_mark(self: Layer, *args: Any, **kw: Any) -> Any:
            result = build(self, *args, **kw)
            shape = args[0] if args else (next(iter(kw.values())) if len(kw) == 1 else None)
            if type(self).build is build_and_mark and not self.built and shape is not None:
                if self._build_input_shape is None:
                    self._build_input_shape = _normalize_shape(shape)
                self.built = True
            return result

        build_and_mark._marks_built = True  # type: ignore[attr-defined]
        cls.build = build_and_mark  # type: ignore[method-assign]

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
        self._dtype_policy = _policy(dtype)
        self.autocast = bool(kwargs.pop("autocast", True))
        self._losses: list[Any] = []
        self.activity_regularizer = activity_regularizer
        self.built = False
        self.input_spec: InputSpec | None = None
        self._own_weights: list[Weight] = []
        self._inbound_nodes: list[Node] = []
        self._build_input_shape: Any = None
        self._batch_input_shape = _batch_shape_from_args(self.name, input_shape, batch_input_shape,
                                                         batch_size, input_dim)
        self.__dict__["_remat_mode"] = scopes.get_current_remat_mode()  # RematScope at creation, as in Keras

    # -- tracking
    def __setattr__(self, name: str, value: Any) -> None:
        tracked = self.__dict__.get("_tracked_layers")
        if tracked is not None and self._tracks(name):
            for item in _layers_in(value):
                if item is not self and all(item is not t for t in tracked):
                    tracked.append(item)
        object.__setattr__(self, name, value)

    def _tracks(self, name: str) -> bool:
        """Attributes whose layers (also inside lists, tuples and dicts) are sublayers, as Keras tracks them:
        every attribute of a user's class; the public ones of lamina's own classes (their private ones are
        bookkeeping)."""
        if name in _UNTRACKED:
            return False
        return not name.startswith("_") or not type(self).__module__.startswith("lamina.")

    def _sublayers(self) -> list[Layer]:
        """Layers whose weights this layer owns (sublayers of wrappers, models, custom layers), in tracking
        order; layers appended to a tracked list or dict after its assignment are picked up here."""
        tracked = self._tracked_layers
        for name, value in self.__dict__.items():
            if isinstance(value, (list, tuple, dict)) and value and self._tracks(name):
                for item in _layers_in(value):
                    if item is not self and all(item is not t for t in tracked):
                        tracked.append(item)
        return list(tracked)

    def _flatten_layers(self, include_self: bool = True, recursive: bool = True) -> list[Layer]:
        """This layer and its sublayers, depth first without repeats (Keras's ``_flatten_layers``)."""
        out: list[Layer] = [self] if include_self else []
        seen = {id(self)}
        pending = list(self._sublayers())
        while pending:
            layer = pending.pop(0)
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            out.append(layer)
            if recursive:
                pending[:0] = layer._sublayers()
        return out

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in self._sublayers():
            layer.trainable = value

    # -- dtype policy (Keras 3: ``dtype`` is the variable dtype; ``compute_dtype`` the one of the computations)
    @property
    def dtype_policy(self) -> dtype_policies.DTypePolicy:
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value: Any) -> None:
        self._dtype_policy = _policy(value)

    @property
    def dtype(self) -> str:
        """The variable dtype (``float32`` under ``mixed_bfloat16``)."""
        return self._dtype_policy.variable_dtype

    @dtype.setter
    def dtype(self, value: Any) -> None:
        self._dtype_policy = _policy(value)

    @property
    def compute_dtype(self) -> str:
        """The dtype of the computations and outputs (``bfloat16`` under ``mixed_bfloat16``)."""
        return self._dtype_policy.compute_dtype

    @property
    def variable_dtype(self) -> str:
        return self._dtype_policy.variable_dtype

    @property
    def input_dtype(self) -> str:
        """The dtype floating inputs are cast to."""
        return self.compute_dtype

    # -- weights
    def add_weight(self, *args: Any, shape: Sequence[int] | None = None, initializer: Any = None,
                   dtype: Any = None, trainable: bool = True, autocast: bool = True, regularizer: Any = None,
                   constraint: Any = None, aggregation: str | None = "none", overwrite_with_gradient: bool = False,
                   name: str | None = None) -> Weight:
        """Create a weight of ``shape`` drawn from ``initializer`` (Keras 3's signature: ``shape``,
        ``initializer`` and ``dtype`` may be positional, everything else is a keyword).

        >>> layer = Layer()
        >>> w = layer.add_weight((2, 3), "ones", name="w", constraint="non_neg")
        >>> w.shape, w.dtype, type(w.constraint).__name__
        ((2, 3), 'float32', 'NonNeg')
        """
        if args:
            if len(args) > 3:
                raise TypeError(f"add_weight() takes at most 3 positional arguments but {len(args)} were given.")
            if isinstance(args[0], str):
                raise ValueError(f"`name` must be passed as a keyword argument. Received: add_weight('{args[0]}', "
                                 f"...). Use: add_weight(shape=..., name='{args[0]}').")
            for key, _, given in zip(("shape", "initializer", "dtype"), args, (shape, initializer, dtype)):
                if given is not None:
                    raise ValueError(f"`{key}` was passed both positionally and as a keyword argument.")
            shape = args[0]
            initializer = args[1] if len(args) > 1 else initializer
            dtype = args[2] if len(args) > 2 else dtype
        if shape is None:
            shape = ()
        elif isinstance(shape, (int, np.integer)):
            shape = (shape,)
        if any(d is None for d in shape):
            raise ValueError(f"Layer '{self.name}': add_weight needs a fully defined shape (no None), received "
                             f"{tuple(shape)}. Create weights in build(input_shape), where the sizes are known.")
        shape = tuple(int(d) for d in shape)
        dtype = dtype_policies._standardize(_dtype_name(dtype)) if dtype is not None else self.variable_dtype
        if initializer is None:
            initializer = "glorot_uniform" if "float" in dtype else "zeros"
        if aggregation not in (None, "none", "mean", "sum", "only_first_replica"):
            raise ValueError("Invalid value for argument `aggregation`. Expected one of `None`, `'none'`, "
                             f"`'mean'`, `'sum'`, `'only_first_replica'`. Received: aggregation={aggregation}")
        if getattr(_ABSTRACT, "on", False):
            value: Any = jax.ShapeDtypeStruct(shape, jnp.dtype(dtype))
        else:
            value = initializers.get(initializer)(shape, dtype)
        name = name or f"variable_{len(self._own_weights)}"
        weight = Weight(self, name, value, trainable=trainable, regularizer=_regularizer(regularizer),
                        constraint=_constraint(constraint))
        weight._initializer = initializer
        weight.autocast = bool(autocast)
        weight.aggregation = "none" if aggregation is None else aggregation
        weight.overwrite_with_gradient = bool(overwrite_with_gradient)
        self._own_weights.append(weight)
        return weight

    def add_variable(self, shape: Sequence[int], initializer: Any, dtype: Any = None, trainable: bool = True,
                     autocast: bool = True, regularizer: Any = None, constraint: Any = None,
                     name: str | None = None) -> Weight:
        """Alias of :meth:`add_weight` (Keras 3's signature)."""
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype, trainable=trainable,
                               autocast=autocast, regularizer=regularizer, constraint=constraint, name=name)

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

    def add_loss(self, loss: Any) -> None:
        """Add a term to the training loss (e.g. an activity penalty) inside ``call``; a model's training
        adds the sum of each term. Eager calls also keep them in ``layer.losses``."""
        values = _leaves(loss)
        scope = CallScope.current()
        if scope is not None:
            scope.losses.extend(values)
        if scope is None or getattr(scope, "eager", False):
            self._losses.extend(values)

    @property
    def losses(self) -> list[Any]:
        """The ``add_loss`` terms of the last eager call (this layer's and its sublayers'), then the
        weight-regularization penalties of the trainable weights, as Keras lists them."""
        out: list[Any] = []
        for layer in self._flatten_layers():
            out.extend(layer.__dict__.get("_losses", []))
        for w in self.trainable_weights:
            if w.regularizer is not None:
                out.append(w.regularizer(w.value))
        return out

    def _clear_losses(self) -> None:
        for layer in self._flatten_layers():
            layer.__dict__.get("_losses", []).clear()

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
        return self.compute_dtype if "float" in input_dtype or "int" in input_dtype else input_dtype

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        """The output ``KerasTensor``(s) for symbolic inputs: ``compute_output_shape`` and the compute dtype
        (Keras's default; override it to give shapes and dtypes directly).

        >>> from lamina import layers
        >>> layers.Dense(4, dtype="mixed_bfloat16").compute_output_spec(layers.Input((3,)))
        <KerasTensor shape=(None, 4), dtype=bfloat16>
        """
        inputs = args[0] if args else kwargs.get("inputs")
        shapes = map_structure(lambda t: tuple(t.shape), inputs)
        if not self.built:
            self._maybe_build(shapes)
        in_dtype = next((str(t.dtype) for t in _leaves(inputs) if hasattr(t, "dtype")), "float32")
        dtype = self.compute_output_dtype(in_dtype)
        out = self.compute_output_shape(shapes)
        if is_shape(out):
            return KerasTensor(tuple(out), dtype=dtype)
        return _map_shapes(lambda s: KerasTensor(tuple(s), dtype=dtype), out)

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
        in_dtype = next((t.dtype for t in _leaves(inputs) if isinstance(t, KerasTensor)), "float32")
        out_dtype = self.compute_output_dtype(in_dtype)
        dtypes: Any = None
        if type(self).compute_output_spec is not Layer.compute_output_spec:
            specs = self.compute_output_spec(*args, **kwargs)
            out_shapes = map_structure(lambda t: tuple(t.shape), specs)
            dtypes = iter([str(t.dtype) for t in _leaves(specs)])
        elif type(self).compute_output_shape is Layer.compute_output_shape:
            out_shapes, traced = _traced_output_spec(self, inputs)
            dtypes = iter(traced)
        else:
            out_shapes = self.compute_output_shape(shapes)
        node_index = len(self._inbound_nodes)
        counter = iter(range(1_000_000))

        def make(shape: Any) -> KerasTensor:
            dtype = out_dtype if dtypes is None else next(dtypes, out_dtype)
            return KerasTensor(tuple(shape), dtype=dtype, history=History(self, node_index, next(counter)))

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
            out = self._call_with_training(inputs, args[1:], kwargs, resolve_training(self, scope)
                                           if training is None else bool(training))
        else:
            self._clear_losses()  # the outermost eager call starts the losses afresh, as in Keras
            with CallScope(training=bool(training)) as scope:
                scope.eager = True
                scope.explicit_training = training is not None
                out = self._call_with_training(inputs, args[1:], kwargs, resolve_training(self, scope)
                                               if training is None else bool(training))
        attach(out, output_mask(self, inputs, previous_mask))
        return out

    def _casts_inputs(self) -> bool:
        """Keras casts floating inputs to the compute dtype, except for functional models (and Sequential)."""
        return not (self.__dict__.get("_functional") or "_stack" in self.__dict__)

    def _call_with_training(self, inputs: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                            training: bool) -> Any:
        """``call`` as every path runs it (eager calls, models, tracing): floating inputs cast to the compute
        dtype, the weights autocast where the policy asks (Keras's ``AutocastScope``), ``training`` passed when
        ``call`` takes it, then the activity regularizer's penalty added per output, divided by the batch."""
        if self.autocast and self._casts_inputs():
            policy, dtype = self._dtype_policy, self.input_dtype
            inputs = map_structure(lambda x: policy.convert_input(x, True, dtype), inputs)
        if _accepts(type(self).call, "training"):
            kwargs = {**kwargs, "training": training}
        scope = CallScope.current()
        target = self._autocast_target(scope)
        call = self.call if self.__dict__.get("_remat_mode") is None else \
            scopes.rematerialized_call(self, lambda x: self.call(x, *args, **kwargs), inputs)
        call_args = (args, kwargs) if call == self.call else ((), {})
        if target is _KEEP:
            out = call(inputs, *call_args[0], **call_args[1])
        elif scope is None:
            with CallScope(training=training) as outer, _AutocastScope(outer, target, self.weights):
                out = call(inputs, *call_args[0], **call_args[1])
        else:
            with _AutocastScope(scope, target, self.weights):
                out = call(inputs, *call_args[0], **call_args[1])
        if self.activity_regularizer is not None:
            for output in _leaves(out):
                if hasattr(output, "shape") and hasattr(output, "dtype"):
                    penalty = self.activity_regularizer(output)
                    if jnp.ndim(output) > 0:
                        batch = jnp.asarray(jnp.shape(output)[0], jnp.result_type(penalty))
                        penalty = jnp.where(batch == 0, 0.0, penalty / jnp.maximum(batch, 1))
                    self.add_loss(penalty)
        return out

    def _autocast_target(self, scope: CallScope | None) -> Any:
        """The dtype weights read as inside this layer's call: ``_KEEP`` (as the caller has them), a float
        dtype, or None (their stored dtype)."""
        current = getattr(scope, "autocast_dtype", None) if scope is not None else None
        compute = self.compute_dtype
        if current is not None:
            if not self.autocast or not dtype_policies._is_float(compute):
                return None
            return compute if current != compute else _KEEP
        return compute if compute != self.variable_dtype else _KEEP

    def get_build_config(self) -> dict[str, Any] | None:
        """``{"input_shape": ...}`` once built (what ``.keras`` files store to rebuild the layer)."""
        if self._build_input_shape is None:
            return None
        return {"input_shape": _map_shapes(list, self._build_input_shape)
                if not is_shape(self._build_input_shape) else list(self._build_input_shape)}

    def build_from_config(self, config: dict[str, Any] | None) -> None:
        """Build from :meth:`get_build_config` output (``input_shape`` or Keras's ``shapes_dict``)."""
        if not config or self.built:
            return
        if config.get("input_shape") is not None:
            self._maybe_build(_as_shapes(config["input_shape"]))
        elif config.get("shapes_dict"):
            shapes = {k: _as_shapes(v) for k, v in config["shapes_dict"].items()}
            self.build(**shapes)
            self._build_input_shape = next(iter(shapes.values())) if len(shapes) == 1 else list(shapes.values())
            self.built = True

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
        if spec.allow_last_axis_squeeze and spec.ndim is not None and abs(rank - spec.ndim) == 1:
            return  # Keras lets (..., 1) inputs in or out one rank (the last axis squeezed)
        if spec.ndim is not None and rank != spec.ndim:
            raise ValueError(f"{where}: expected ndim={spec.ndim}, found ndim={rank}. Full shape received: "
                             f"{shape_str(shape)}.{self._rank_hint(rank, spec.ndim)}")
        if spec.min_ndim is not None and rank < spec.min_ndim:
            raise ValueError(f"{where}: expected min_ndim={spec.min_ndim}, found ndim={rank}. Full shape "
                             f"received: {shape_str(shape)}.{self._rank_hint(rank, spec.min_ndim)}")
        if spec.max_ndim is not None and rank > spec.max_ndim:
            raise ValueError(f"{where}: expected max_ndim={spec.max_ndim}, found ndim={rank}. Full shape "
                             f"received: {shape_str(shape)}.")
        for axis, size in enumerate(spec.shape or ()):
            if size is not None and shape[axis] is not None and shape[axis] != size:
                raise ValueError(f"{where}: expected shape={shape_str(spec.shape)}, found shape={shape_str(shape)}.")
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
                                  "dtype": dtype_policies.serialize(self._dtype_policy)}
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
_KEEP = object()

# lamina bookkeeping attributes that hold layers without owning them (also skipped by the HDF5 walk).
_UNTRACKED = frozenset({"_tracked_layers", "_layers", "_stack", "_input_layer", "_inbound_nodes", "_nodes",
                        "inputs", "outputs", "_inputs_struct", "_outputs_struct", "optimizer", "_own_weights"})


class _AutocastScope(CallScope):
    """A child of the current scope in which the given weights read as ``dtype`` (None: their stored dtype).

    Everything else (state updates, losses, the PRNG, ``training``) is the parent's, so assignments made
    inside reach the model's update dict, or the weight itself in an eager call."""

    def __init__(self, parent: CallScope, dtype: str | None, weights: list[Weight]) -> None:
        self._parent = parent
        self.autocast_dtype = dtype
        root = parent
        while isinstance(root, _AutocastScope):
            root = root._parent
        self._root = root
        self._weights = [w for w in weights if getattr(w, "autocast", True) and dtype_policies._is_float(w.dtype)]
        raw = {id(w): root.updates.get(id(w), root.values.get(id(w), w._value)) for w in self._weights}
        cast = {k: (v if dtype is None else v.astype(dtype)) for k, v in raw.items()}
        self.values = {**parent.values, **cast}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_parent", "_root"):
            raise AttributeError(name)
        return getattr(self._parent, name)

    def next_rng(self) -> Any:
        return self._parent.next_rng()

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)
        root = self._root
        for w in self._weights:  # eager call: an assignment made inside goes to the weight itself
            if id(w) in root.updates and id(w) not in root.values:
                w._value = root.updates.pop(id(w))


def _policy(dtype: Any) -> dtype_policies.DTypePolicy:
    """The layer's policy from its ``dtype`` argument (a name, a dtype, a policy, a serialized policy)."""
    if isinstance(dtype, dict) and dtype.get("class_name") not in (None, "DTypePolicy", "FloatDTypePolicy"):
        return dtype_policies.get(dtype.get("config", {}).get("name") or backend.floatx())
    if isinstance(dtype, str):
        try:
            return dtype_policies.DTypePolicy(dtype)
        except ValueError:
            policy = dtype_policies.DTypePolicy("float32")
            policy._name = policy._compute_dtype = policy._variable_dtype = dtype  # e.g. "string" inputs
            return policy
    return dtype_policies.get(dtype)


def _regularizer(identifier: Any) -> Any:
    if identifier is None:
        return None
    from lamina import regularizers  # inside: regularizers is only needed by layers that use one

    return regularizers.get(identifier)


def _constraint(identifier: Any) -> Any:
    if identifier is None:
        return None
    from lamina import constraints  # inside: constraints is only needed by layers that use one

    return constraints.get(identifier)


def _layers_in(value: Any) -> list[Layer]:
    """The layers in ``value``: itself, or those inside (nested) lists, tuples and dicts, in order."""
    if isinstance(value, Layer):
        return [value]
    out: list[Layer] = []
    if isinstance(value, dict):
        items: Any = value.values()
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        return out
    for item in items:
        if isinstance(item, (Layer, list, tuple, dict)):
            out.extend(_layers_in(item))
    return out


def _as_shapes(value: Any) -> Any:
    if isinstance(value, (list, tuple)) and all(d is None or isinstance(d, (int, np.integer)) for d in value):
        return tuple(None if d is None else int(d) for d in value)
    if isinstance(value, dict):
        return {k: _as_shapes(v) for k, v in value.items()}
    return [_as_shapes(v) for v in value]


def _traced_output_spec(layer: Layer, inputs: Any) -> tuple[Any, list[str]]:
    """Output shapes and dtypes of ``call`` on symbolic ``inputs``, by abstract evaluation at two batch sizes
    (axes that change are ``None``), with the inputs' dtypes cast as a call would cast them."""

    def dtype_of(t: Any) -> Any:
        dtype = str(getattr(t, "dtype", "float32"))
        if layer.autocast and layer._casts_inputs() and dtype_policies._is_float(dtype):
            dtype = layer.input_dtype
        return jnp.dtype(dtype) if dtype not in ("string",) else jnp.float32

    def run(fill: int) -> Any:
        specs = map_structure(lambda t: jax.ShapeDtypeStruct(
            tuple(fill if d is None else d for d in (t.shape if isinstance(t, KerasTensor) else np.shape(t))),
            dtype_of(t)), inputs)

        def fn(x: Any) -> Any:
            with CallScope(training=False):
                return layer._call_with_training(x, (), {}, False)

        return jax.eval_shape(fn, specs)

    a, b = run(2), run(3)
    leaves_a, tree = jax.tree_util.tree_flatten(a)
    leaves_b = jax.tree_util.tree_leaves(b)
    shapes = [tuple(None if x != y else x for x, y in zip(sa.shape, sb.shape)) for sa, sb in zip(leaves_a, leaves_b)]
    dtypes = [str(sa.dtype) for sa in leaves_a]
    if isinstance(a, jax.ShapeDtypeStruct):
        return shapes[0], dtypes
    return jax.tree_util.tree_unflatten(tree, shapes), dtypes


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


def resolve_training(layer: Any, scope: CallScope | None) -> bool:
    """The ``training`` a layer runs with when its call was not given one: the enclosing call's, or, when no call
    was given one (``model(x)``), the default of the layer's ``call`` signature, as Keras resolves it (so the
    augmentation layers, whose ``call`` defaults to ``training=True``, augment under ``model(x)``)."""
    if scope is not None and scope.explicit_training:
        return scope.training
    fn = type(layer).call
    if fn not in _training_defaults:
        param = inspect.signature(fn).parameters.get("training")
        _training_defaults[fn] = param is not None and param.default is True
    return _training_defaults[fn] or (scope is not None and scope.training)


_training_defaults: dict[Any, bool] = {}


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
