"""Metrics with Keras's names and formulas, as pure functions over a small state pytree.

Each metric has a functional core the jitted training step uses (``init_state``, ``update_fn``,
``result_fn``) and a Keras-style stateful shell for users (``update_state``, ``result``, ``reset_state``).

>>> import numpy as np
>>> from lamina import metrics
>>> m = metrics.get("accuracy", y_true_shape=(4,), y_pred_shape=(4, 3))
>>> type(m).__name__, m.name
('SparseCategoricalAccuracy', 'accuracy')
>>> m.update_state(np.array([0, 1, 2, 0]), np.eye(3)[[0, 1, 1, 0]])
>>> float(m.result())
0.75
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina import losses as _losses
from lamina.array_value import ArrayValue
from lamina.losses import squeeze_or_expand_to_same_rank

EPSILON = 1e-7
NEG_INF = -1e10
State = Any

__all__ = [
    "Metric",
    "Mean",
    "Sum",
    "MeanMetricWrapper",
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "Precision",
    "Recall",
    "AUC",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "RootMeanSquaredError",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "get",
    "serialize",
    "deserialize",
]


# ----------------------------------------------------------------------------------------- functions
def accuracy(y_true: Any, y_pred: Any) -> Any:
    """1.0 where ``y_true == y_pred`` exactly.

    >>> accuracy(jnp.array([1, 2]), jnp.array([1, 3])).tolist()
    [1.0, 0.0]
    """
    y_pred = jnp.asarray(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(jnp.asarray(y_true, y_pred.dtype), y_pred)
    return (y_true == y_pred).astype(jnp.float32)


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> Any:
    """1.0 where ``(y_pred > threshold) == y_true``.

    >>> binary_accuracy(jnp.array([[1.0], [0.0]]), jnp.array([[0.7], [0.6]])).tolist()
    [[1.0], [0.0]]
    """
    y_true, y_pred = squeeze_or_expand_to_same_rank(jnp.asarray(y_true), jnp.asarray(y_pred))
    return (y_true == (y_pred > threshold).astype(y_true.dtype)).astype(jnp.float32)


def categorical_accuracy(y_true: Any, y_pred: Any) -> Any:
    """1.0 where ``argmax(y_true) == argmax(y_pred)`` (one-hot targets).

    >>> categorical_accuracy(jnp.array([[0, 1], [1, 0]]), jnp.array([[0.2, 0.8], [0.3, 0.7]])).tolist()
    [1.0, 0.0]
    """
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.argmax(jnp.asarray(y_true), axis=-1).astype(y_pred.dtype)
    shape = y_true.shape
    squeezed = y_true.ndim == y_pred.ndim
    if squeezed:
        y_true = jnp.squeeze(y_true, -1)
    matches = (y_true == jnp.argmax(y_pred, axis=-1).astype(y_true.dtype)).astype(jnp.float32)
    return matches.reshape(shape) if squeezed else matches


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> Any:
    """1.0 where the integer class id equals ``argmax(y_pred)``.

    >>> sparse_categorical_accuracy(jnp.array([1, 0]), jnp.array([[0.2, 0.8], [0.3, 0.7]])).tolist()
    [1.0, 0.0]
    """
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true, y_pred.dtype)
    shape = y_true.shape
    squeezed = y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1
    if squeezed:
        y_true = jnp.squeeze(y_true, -1)
    matches = (y_true == jnp.argmax(y_pred, axis=-1).astype(y_true.dtype)).astype(jnp.float32)
    if squeezed:
        matches = matches.reshape(shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = jnp.squeeze(matches, -1)
    return matches


def _in_top_k(targets: Any, predictions: Any, k: int) -> Any:
    at_label = jnp.take_along_axis(predictions, targets[:, None], axis=-1)
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)
    return 1 + jnp.sum(predictions > at_label, axis=-1) <= k


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Any:
    """1.0 where the one-hot target's class is among the ``k`` highest predictions.

    >>> top_k_categorical_accuracy(jnp.array([[0, 0, 1]]), jnp.array([[0.5, 0.3, 0.2]]), k=2).tolist()
    [0.0]
    """
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.argmax(jnp.asarray(y_true, y_pred.dtype), axis=-1)
    shape = y_true.shape
    matches = _in_top_k(y_true.reshape(-1).astype(jnp.int32), y_pred.reshape(-1, y_pred.shape[-1]), k)
    return matches.astype(jnp.float32).reshape(shape)


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Any:
    """1.0 where the integer class id is among the ``k`` highest predictions.

    >>> sparse_top_k_categorical_accuracy(jnp.array([1]), jnp.array([[0.5, 0.3, 0.2]]), k=2).tolist()
    [1.0]
    """
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true, jnp.int32)
    shape = y_true.shape
    matches = _in_top_k(y_true.reshape(-1), y_pred.reshape(-1, y_pred.shape[-1]), k)
    return matches.astype(jnp.float32).reshape(shape)


# ---------------------------------------------------------------------------------------- base class
class MetricScope:
    """Keras's ``StatelessScope`` for metrics: inside it, the metrics it maps read and write the given states.

    A train step opens one over its ``metrics_variables``, so a metric's ``update_state``/``result`` (and a
    user's ``compute_metrics`` calling them) stay pure under ``jax.jit``.

    >>> m = Mean()
    >>> with MetricScope({m: m.init_state()}) as scope:
    ...     m.update_state(jnp.array([2.0, 4.0]))
    >>> float(m.result_fn(scope.states[m])), float(m.result())
    (3.0, 0.0)
    """

    _local = threading.local()

    def __init__(self, states: dict[Metric, State]) -> None:
        self.states = dict(states)
        self._variable_scopes: list[tuple[Metric, _StateScope]] = []

    def __enter__(self) -> MetricScope:
        self._stack().append(self)
        for metric, state in self.states.items():  # metrics built on add_variable read their variables
            if metric._has_variables():
                scope = _StateScope(metric._variable_objects(), list(state)).__enter__()
                self._variable_scopes.append((metric, scope))
        return self

    def __exit__(self, *exc: Any) -> None:
        for metric, scope in reversed(self._variable_scopes):
            self.states[metric] = scope.read()
            scope.__exit__()
        self._variable_scopes = []
        self._stack().pop()

    @classmethod
    def _stack(cls) -> list[MetricScope]:
        if not hasattr(cls._local, "stack"):
            cls._local.stack = []
        return cls._local.stack

    @classmethod
    def find(cls, metric: Metric) -> MetricScope | None:
        for scope in reversed(cls._stack()):
            if metric in scope.states:
                return scope
        return None


class _StateScope:
    """Maps metric variables to the arrays of a pure call (traced state inside the jitted step)."""

    _local = threading.local()

    def __init__(self, variables: list[MetricVariable], state: Any) -> None:
        self.values = {id(v): value for v, value in zip(variables, state)}
        self.variables = variables

    def __enter__(self) -> _StateScope:
        _StateScope._stack().append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _StateScope._stack().pop()

    def read(self) -> list[Any]:
        return [self.values[id(v)] for v in self.variables]

    @classmethod
    def _stack(cls) -> list[_StateScope]:
        if not hasattr(cls._local, "stack"):
            cls._local.stack = []
        return cls._local.stack

    @classmethod
    def lookup(cls, variable: MetricVariable) -> _StateScope | None:
        for scope in reversed(cls._stack()):
            if id(variable) in scope.values:
                return scope
        return None


class MetricVariable(ArrayValue):
    """A metric's state variable (Keras's non-trainable ``Variable``): ``assign``, ``assign_add``,
    ``assign_sub``, ``.value``, ``numpy()`` and array arithmetic.

    >>> v = Metric(name="m").add_variable((), "zeros", name="total")
    >>> v.assign_add(2.0); float(v.value), v.path
    (2.0, 'm/total')
    """

    def __init__(self, owner: Metric, name: str, value: Any, aggregation: str = "sum") -> None:
        self._owner = owner
        self.name = name
        with jax.ensure_compile_time_eval():
            self._value = jnp.asarray(value)
        self.aggregation = aggregation
        self.trainable = False

    @property
    def path(self) -> str:
        return f"{self._owner.name}/{self.name}"

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._value.shape)

    @property
    def dtype(self) -> str:
        return str(self._value.dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def value(self) -> Any:
        scope = _StateScope.lookup(self)
        return scope.values[id(self)] if scope is not None else self._value

    def assign(self, value: Any) -> None:
        value = jnp.asarray(value, dtype=self._value.dtype)
        if tuple(value.shape) != self.shape:
            value = jnp.broadcast_to(value, self.shape)
        scope = _StateScope.lookup(self)
        if scope is not None:
            scope.values[id(self)] = value
        else:
            self._value = value

    def assign_add(self, value: Any) -> None:
        self.assign(self.value + jnp.asarray(value, self._value.dtype))

    def assign_sub(self, value: Any) -> None:
        self.assign(self.value - jnp.asarray(value, self._value.dtype))

    def numpy(self) -> np.ndarray:
        return np.asarray(self.value)

    def __repr__(self) -> str:
        return f"<MetricVariable path={self.path}, shape={self.shape}, dtype={self.dtype}>"


class Metric:
    """Base class of metrics, as in Keras 3: create state with ``add_variable``/``add_weight`` in
    ``__init__``, accumulate it with ``assign``/``assign_add`` in ``update_state(y_true, y_pred,
    sample_weight=None)``, compute ``result()``; ``reset_state()`` zeroes it. Such a metric works eagerly and in
    ``compile(metrics=[...])``, where its ``update_state`` runs inside the jitted step with its variables mapped
    to traced state (``init_state``/``update_fn``/``result_fn``, the pure core lamina's built-ins define
    directly).

    >>> class PositiveRate(Metric):
    ...     def __init__(self, name="positive_rate", **kwargs):
    ...         super().__init__(name=name, **kwargs)
    ...         self.hits = self.add_variable((), "zeros", name="hits")
    ...         self.count = self.add_variable((), "zeros", name="count")
    ...     def update_state(self, y_true, y_pred, sample_weight=None):
    ...         self.hits.assign_add(jnp.sum(jnp.asarray(y_pred) > 0))
    ...         self.count.assign_add(jnp.size(y_pred))
    ...     def result(self):
    ...         return self.hits.value / self.count.value
    >>> m = PositiveRate()
    >>> float(m(None, jnp.array([1.0, -1.0, 2.0, 3.0])))
    0.75
    >>> s = m.update_fn(m.init_state(), None, jnp.array([1.0, -1.0]))
    >>> float(m.result_fn(s))
    0.5
    """

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        if name is None:
            from lamina import naming

            name = naming.auto_name(type(self).__name__)
        self.name = name
        self._dtype = str(jnp.dtype(dtype or "float32"))
        self._variables: list[MetricVariable] = []
        self._state: State | None = None  # made on first use: compile() creates metrics that never hold state

    __hash__ = object.__hash__  # metrics key a ``MetricScope`` by identity

    def __eq__(self, other: object) -> bool:
        return self is other

    @property
    def dtype(self) -> str:
        return self._dtype

    @dtype.setter
    def dtype(self, value: Any) -> None:
        self._dtype = str(jnp.dtype(value or "float32"))

    # -- Keras's variable API
    def add_variable(self, shape: Any, initializer: Any, dtype: Any = None, aggregation: str = "sum",
                     name: str | None = None) -> MetricVariable:
        """A state variable of ``shape`` (dtype default float32) drawn from ``initializer``."""
        from lamina import initializers

        if "_variables" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before add_variable().")
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in (shape or ()))
        dtype = str(jnp.dtype(dtype or "float32"))
        value = initializers.get(initializer if initializer is not None else "zeros")(shape, dtype)
        variable = MetricVariable(self, name or f"variable_{len(self._variables)}", value, aggregation)
        self._variables.append(variable)
        return variable

    def add_weight(self, shape: Any = (), initializer: Any = None, dtype: Any = None,
                   name: str | None = None) -> MetricVariable:
        """Alias of :meth:`add_variable` (Keras keeps it for backward compatibility)."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    def _sub_metrics(self) -> list[Metric]:
        return [v for k, v in self.__dict__.items() if isinstance(v, Metric) and v is not self]

    def _variable_objects(self) -> list[MetricVariable]:
        """This metric's ``add_variable`` variables, then those of metrics held as attributes."""
        out = list(self.__dict__.get("_variables", []))
        for metric in self._sub_metrics():
            out.extend(metric._variable_objects())
        return out

    @property
    def variables(self) -> list[Any]:
        """Keras's ``metric.variables``: the ``add_variable`` variables, or for a metric defined by its pure core
        (lamina's built-ins) the arrays of its state; either way one entry per ``metrics_variables`` slot."""
        return self._variable_objects() or self.state_leaves()

    def _has_variables(self) -> bool:
        return bool(self._variable_objects())

    @property
    def state(self) -> State:
        """The accumulated state of the stateful shell (``update_state``/``result``): the variables' values for
        a metric built on ``add_variable``, or the state an enclosing ``MetricScope`` gives this metric."""
        if self._has_variables():
            return [v.value for v in self._variable_objects()]
        scope = MetricScope.find(self)
        if scope is not None:
            return scope.states[self]
        if self._state is None:
            self._state = self.init_state()
        return self._state

    @state.setter
    def state(self, value: State) -> None:
        if self._has_variables():
            for v, x in zip(self._variable_objects(), value):
                v.assign(x)
            return
        scope = MetricScope.find(self)
        if scope is not None:
            scope.states[self] = value
        else:
            self._state = value

    # Keras 3's stateless API: the state as a flat list of arrays (``metrics_variables``)
    def state_leaves(self) -> list[Any]:
        """The state's arrays, in a fixed order (the values of Keras's metric variables)."""
        return jax.tree_util.tree_leaves(self.state)

    def _treedef(self) -> Any:
        if getattr(self, "_state_treedef", None) is None:
            self._state_treedef = jax.tree_util.tree_structure(jax.eval_shape(self.init_state))
        return self._state_treedef

    def _unflatten(self, variables: Any) -> State:
        return jax.tree_util.tree_unflatten(self._treedef(), list(variables))

    # -- pure core (compile and the jitted step use these)
    def init_state(self) -> State:
        """Fresh state: the variables' values after ``reset_state()``, computed without touching them."""
        variables = self._variable_objects()
        if not variables:
            raise NotImplementedError(f"Metric {type(self).__name__} defines neither variables (add_variable in "
                                      "__init__) nor init_state().")
        with _StateScope(variables, [v._value for v in variables]) as scope:
            self.reset_state()
            return scope.read()

    def update_fn(self, state: State, *args: Any, **kwargs: Any) -> State:
        """The new state after ``update_state(*args)``, as a pure function of ``state``."""
        variables = self._variable_objects()
        with _StateScope(variables, state) as scope:
            self.update_state(*args, **kwargs)
            return scope.read()

    def result_fn(self, state: State) -> Any:
        """``result()`` computed from ``state``."""
        with _StateScope(self._variable_objects(), state):
            return self.result()

    # -- stateful shell
    def update_state(self, *args: Any, **kwargs: Any) -> None:
        """Accumulate one batch (subclasses with variables override this)."""
        if type(self).update_fn is Metric.update_fn:
            raise NotImplementedError(f"Metric {type(self).__name__} must implement update_state().")
        self.state = self.update_fn(self.state, *args, **kwargs)

    def result(self) -> Any:
        """The metric value over everything accumulated since the last reset."""
        if type(self).result_fn is Metric.result_fn:
            raise NotImplementedError(f"Metric {type(self).__name__} must implement result().")
        return self.result_fn(self.state)

    def reset_state(self) -> None:
        """Forget everything accumulated (variables are set to zeros, as in Keras)."""
        if self._has_variables():
            for v in self._variable_objects():
                v.assign(jnp.zeros(v.shape, v.dtype))
            return
        scope = MetricScope.find(self)
        if scope is not None:
            scope.states[self] = self.init_state()
        else:
            self._state = None

    def stateless_update_state(self, metric_variables: Any, *args: Any, **kwargs: Any) -> list[Any]:
        """``update_state`` as a pure function of the metric's variables: returns the new variables.

        >>> m = Mean()
        >>> v = m.stateless_update_state(m.stateless_reset_state(), jnp.array([1.0, 2.0]))
        >>> float(m.stateless_result(v))
        1.5
        """
        with MetricScope({self: self._unflatten(metric_variables)}) as scope:
            self.update_state(*args, **kwargs)
        return jax.tree_util.tree_leaves(scope.states[self])

    def stateless_result(self, metric_variables: Any) -> Any:
        """``result`` computed from the given variables."""
        with MetricScope({self: self._unflatten(metric_variables)}):
            return self.result()

    def stateless_reset_state(self) -> list[Any]:
        """Fresh variables (zeros), as ``reset_state`` would leave them."""
        return jax.tree_util.tree_leaves(self.init_state())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Update and return the result (Keras's ``metric(y_true, y_pred)``)."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


def _reduce_samplewise(values: Any, sample_weight: Any, reduce_fn: Callable[..., Any]) -> tuple[Any, Any]:
    values = jnp.asarray(values, jnp.float32)
    if sample_weight is not None:
        sample_weight = jnp.asarray(sample_weight, jnp.float32)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        w_ndim, v_ndim = sample_weight.ndim, values.ndim
        if v_ndim > w_ndim:
            values = reduce_fn(values, axis=tuple(range(w_ndim, v_ndim)))
        if sample_weight.shape != values.shape and sample_weight.ndim:
            try:
                jnp.broadcast_shapes(sample_weight.shape, values.shape)
            except ValueError:
                raise ValueError(
                    f"sample_weight of shape {sample_weight.shape} does not fit metric values of shape "
                    f"{values.shape}. Fix: pass one weight per sample."
                ) from None
        sample_weight = jnp.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if w_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, w_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """Running (weighted) sum of values.

    >>> float(Sum()(jnp.array([1.0, 2.0])))
    3.0
    """

    def __init__(self, name: str = "sum", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def init_state(self) -> State:
        return {"total": jnp.zeros((), jnp.float32)}

    def update_fn(self, state: State, values: Any, sample_weight: Any = None) -> State:  # type: ignore[override]
        values, _ = _reduce_samplewise(values, sample_weight, jnp.sum)
        return {"total": state["total"] + jnp.sum(values)}

    def result_fn(self, state: State) -> Any:
        return state["total"]


class Mean(Metric):
    """Running (weighted) mean of values: ``total / count``.

    >>> float(Mean()(jnp.array([1.0, 2.0]), sample_weight=jnp.array([3.0, 1.0])))
    1.25
    """

    def __init__(self, name: str = "mean", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def init_state(self) -> State:
        return {"total": jnp.zeros((), jnp.float32), "count": jnp.zeros((), jnp.float32)}

    def update_fn(self, state: State, values: Any, sample_weight: Any = None) -> State:  # type: ignore[override]
        values, sample_weight = _reduce_samplewise(values, sample_weight, jnp.mean)
        if sample_weight is not None:
            count = jnp.sum(sample_weight)
        else:
            count = values.shape[0] if values.ndim >= 1 else 1
        return {
            "total": state["total"] + jnp.sum(values),
            "count": state["count"] + jnp.asarray(count, jnp.float32),
        }

    def result_fn(self, state: State) -> Any:
        count = state["count"]
        return jnp.where(count == 0, 0.0, state["total"] / jnp.where(count == 0, 1.0, count))


class MeanMetricWrapper(Mean):
    """The mean of ``fn(y_true, y_pred, **kwargs)`` over all samples seen.

    >>> m = MeanMetricWrapper(_losses.mean_absolute_error, name="mae")
    >>> float(m(jnp.zeros((2, 1)), jnp.ones((2, 1))))
    1.0
    """

    def __init__(
        self, fn: Callable[..., Any], name: str | None = None, dtype: Any = None, **kwargs: Any
    ) -> None:
        self._fn = fn
        self._fn_kwargs = kwargs
        super().__init__(
            name=name if name is not None else getattr(fn, "__name__", "mean_metric_wrapper"), dtype=dtype
        )

    def update_fn(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None) -> State:  # type: ignore[override]
        return Mean.update_fn(self, state, self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight)


def _wrapper(
    fn: Callable[..., Any], default_name: str, extra: tuple[str, ...] = (), leading: tuple[str, ...] = ()
) -> type[MeanMetricWrapper]:
    """A mean-of-``fn`` metric class; ``leading`` names the ``extra`` arguments Keras takes before ``name``
    (``TopKCategoricalAccuracy(5, name=...)``)."""
    params = inspect.signature(fn).parameters
    defaults = {k: params[k].default for k in extra}
    order = (*leading, "name", "dtype", *(k for k in extra if k not in leading))

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(order):
            raise TypeError(f"{type(self).__name__} takes at most {len(order)} positional arguments ({order}).")
        for key, value in zip(order, args):
            if key in kwargs:
                raise TypeError(f"{type(self).__name__} got multiple values for argument '{key}'.")
            kwargs[key] = value
        name = kwargs.pop("name", default_name)
        dtype = kwargs.pop("dtype", None)
        unknown = set(kwargs) - set(extra)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected arguments {sorted(unknown)}")
        values = {**defaults, **getattr(self, "_defaults", {}), **kwargs}
        for k, v in values.items():
            setattr(self, k, v)
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **values)

    def get_config(self: Any) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, **{k: getattr(self, k) for k in extra}}

    return type("_Wrapper", (MeanMetricWrapper,), {"__init__": __init__, "get_config": get_config})


class Accuracy(_wrapper(accuracy, "accuracy")):
    """How often predictions equal targets exactly.

    >>> float(Accuracy()(jnp.array([1, 2]), jnp.array([1, 3])))
    0.5
    """


class BinaryAccuracy(_wrapper(binary_accuracy, "binary_accuracy", ("threshold",))):
    """How often ``y_pred > threshold`` equals the 0/1 target.

    >>> BinaryAccuracy().get_config()
    {'name': 'binary_accuracy', 'dtype': 'float32', 'threshold': 0.5}
    """


class CategoricalAccuracy(_wrapper(categorical_accuracy, "categorical_accuracy")):
    """How often ``argmax(y_pred)`` matches the one-hot target.

    >>> CategoricalAccuracy().name
    'categorical_accuracy'
    """


class SparseCategoricalAccuracy(_wrapper(sparse_categorical_accuracy, "sparse_categorical_accuracy")):
    """How often ``argmax(y_pred)`` matches the integer target.

    >>> SparseCategoricalAccuracy().name
    'sparse_categorical_accuracy'
    """


class TopKCategoricalAccuracy(_wrapper(top_k_categorical_accuracy, "top_k_categorical_accuracy", ("k",), ("k",))):
    """How often the one-hot target is among the top ``k`` predictions.

    >>> TopKCategoricalAccuracy().k
    5
    """


class SparseTopKCategoricalAccuracy(
    _wrapper(sparse_top_k_categorical_accuracy, "sparse_top_k_categorical_accuracy", ("k",), ("k",))
):
    """How often the integer target is among the top ``k`` predictions.

    >>> SparseTopKCategoricalAccuracy(3, name="top3").get_config()["k"]
    3
    """


class MeanSquaredError(_wrapper(_losses.mean_squared_error, "mean_squared_error")):
    """Mean squared error as a metric.

    >>> float(MeanSquaredError()(jnp.zeros((2, 1)), jnp.ones((2, 1))))
    1.0
    """


class MeanAbsoluteError(_wrapper(_losses.mean_absolute_error, "mean_absolute_error")):
    """Mean absolute error as a metric.

    >>> MeanAbsoluteError().name
    'mean_absolute_error'
    """


class MeanAbsolutePercentageError(
    _wrapper(_losses.mean_absolute_percentage_error, "mean_absolute_percentage_error")
):
    """Mean absolute percentage error as a metric.

    >>> MeanAbsolutePercentageError().name
    'mean_absolute_percentage_error'
    """


class MeanSquaredLogarithmicError(
    _wrapper(_losses.mean_squared_logarithmic_error, "mean_squared_logarithmic_error")
):
    """Mean squared logarithmic error as a metric.

    >>> MeanSquaredLogarithmicError().name
    'mean_squared_logarithmic_error'
    """


class BinaryCrossentropy(
    _wrapper(_losses.binary_crossentropy, "binary_crossentropy", ("from_logits", "label_smoothing"))
):
    """Binary crossentropy as a metric.

    >>> BinaryCrossentropy().get_config()
    {'name': 'binary_crossentropy', 'dtype': 'float32', 'from_logits': False, 'label_smoothing': 0}
    """

    _defaults = {"label_smoothing": 0}


class CategoricalCrossentropy(
    _wrapper(
        _losses.categorical_crossentropy,
        "categorical_crossentropy",
        ("from_logits", "label_smoothing", "axis"),
    )
):
    """Categorical crossentropy as a metric.

    >>> CategoricalCrossentropy().name
    'categorical_crossentropy'
    """

    _defaults = {"label_smoothing": 0}


class SparseCategoricalCrossentropy(
    _wrapper(
        _losses.sparse_categorical_crossentropy,
        "sparse_categorical_crossentropy",
        ("from_logits", "ignore_class", "axis"),
    )
):
    """Sparse categorical crossentropy as a metric.

    >>> SparseCategoricalCrossentropy().name
    'sparse_categorical_crossentropy'
    """


class RootMeanSquaredError(Mean):
    """``sqrt`` of the (weighted) mean squared error.

    >>> float(RootMeanSquaredError()(jnp.zeros((2, 1)), jnp.full((2, 1), 2.0)))
    2.0
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def update_fn(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None) -> State:  # type: ignore[override]
        y_true, y_pred = _losses._match(
            jnp.asarray(y_true, jnp.float32), jnp.asarray(y_pred, jnp.float32), "root_mean_squared_error"
        )
        return super().update_fn(state, jnp.square(y_pred - y_true), sample_weight)

    def result_fn(self, state: State) -> Any:
        return jnp.sqrt(super().result_fn(state))


# ------------------------------------------------------------------------------- confusion matrices
def _divide_no_nan(a: Any, b: Any) -> Any:
    return jnp.where(b == 0, 0.0, a / jnp.where(b == 0, 1.0, b))


def _evenly_spaced(thresholds: list[float]) -> bool:
    n = len(thresholds)
    return n >= 3 and bool(np.allclose(thresholds, np.arange(n, dtype=np.float32) / (n - 1), atol=EPSILON))


def _confusion_counts(
    y_true: Any,
    y_pred: Any,
    thresholds: list[float],
    evenly: bool,
    sample_weight: Any,
    top_k: int | None = None,
    class_id: int | None = None,
) -> dict[str, Any]:
    """Weighted tp/fp/tn/fn per threshold for one batch (Keras's ``update_confusion_matrix_variables``)."""
    y_true = jnp.asarray(y_true, jnp.float32)
    y_pred = jnp.asarray(y_pred, jnp.float32)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = jnp.expand_dims(jnp.asarray(sample_weight, jnp.float32), -1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        _, idx = jax.lax.top_k(y_pred, top_k)
        mask = jnp.sum(jax.nn.one_hot(idx, y_pred.shape[-1], dtype=y_pred.dtype), axis=-2)
        y_pred = y_pred * mask + NEG_INF * (1 - mask)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(
                "When class_id is provided, y_pred must be a 2D array with shape (num_samples, "
                f"num_classes), found shape: {y_pred.shape}"
            )
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    if y_true.shape != y_pred.shape:
        raise ValueError(f"Targets of shape {y_true.shape} do not match predictions of shape {y_pred.shape}.")
    n = len(thresholds)
    weights = None if sample_weight is None else jnp.broadcast_to(sample_weight, y_pred.shape).reshape(-1)
    if evenly:
        with_eps = thresholds[0] < 0.0 or thresholds[-1] > 1.0
        w = 1.0 if weights is None else weights
        pred = jnp.clip(y_pred, 0.0, 1.0).reshape(-1)
        truth = (y_true != 0).astype(jnp.float32).reshape(-1)
        true_labels, false_labels = truth * w, (1.0 - truth) * w
        buckets = jnp.ceil(pred * (n - 1.0)) - 1
        if with_eps:
            buckets = jax.nn.relu(buckets)
        buckets = buckets.astype(jnp.int32)
        tp = jnp.flip(jnp.cumsum(jnp.flip(jax.ops.segment_sum(true_labels, buckets, n))))
        fp = jnp.flip(jnp.cumsum(jnp.flip(jax.ops.segment_sum(false_labels, buckets, n))))
        return {"tp": tp, "fp": fp, "tn": jnp.sum(false_labels) - fp, "fn": jnp.sum(true_labels) - tp}
    thresh = jnp.asarray(thresholds, jnp.float32).reshape(n, 1)
    pred_pos = y_pred.reshape(1, -1) > thresh
    label_pos = jnp.broadcast_to(y_true.astype(bool).reshape(1, -1), pred_pos.shape)

    def count(cond: Any) -> Any:
        if weights is None:
            return jnp.sum(cond.astype(jnp.float32), axis=1)
        return jnp.sum(jnp.where(cond, weights[None, :], 0.0), axis=1)

    return {
        "tp": count(label_pos & pred_pos),
        "fp": count(~label_pos & pred_pos),
        "tn": count(~label_pos & ~pred_pos),
        "fn": count(label_pos & ~pred_pos),
    }


class _ThresholdMetric(Metric):
    _counts: tuple[str, ...] = ()

    def __init__(
        self,
        thresholds: Any = None,
        top_k: int | None = None,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else NEG_INF
        values = (
            [default]
            if thresholds is None
            else (list(thresholds) if isinstance(thresholds, (list, tuple)) else [thresholds])
        )
        if thresholds is not None and any(t is None or t < 0 or t > 1 for t in values):
            raise ValueError(f"Threshold values must be in [0, 1]. Received: {values}")
        self.thresholds = values
        self._evenly = _evenly_spaced(values)
        super().__init__(name=name, dtype=dtype)

    def init_state(self) -> State:
        return {k: jnp.zeros((len(self.thresholds),), jnp.float32) for k in self._counts}

    def update_fn(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None) -> State:
        counts = _confusion_counts(
            y_true, y_pred, self.thresholds, self._evenly, sample_weight, self.top_k, self.class_id
        )
        return {k: state[k] + counts[k] for k in self._counts}

    def _finish(self, value: Any) -> Any:
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class Precision(_ThresholdMetric):
    """``tp / (tp + fp)`` at each threshold (``y_pred > threshold`` counts as positive).

    >>> float(Precision()(jnp.array([1, 0, 1]), jnp.array([0.9, 0.8, 0.2])))
    0.5
    """

    _counts = ("tp", "fp")

    def result_fn(self, state: State) -> Any:
        return self._finish(_divide_no_nan(state["tp"], state["tp"] + state["fp"]))


class Recall(_ThresholdMetric):
    """``tp / (tp + fn)`` at each threshold.

    >>> float(Recall()(jnp.array([1, 0, 1]), jnp.array([0.9, 0.8, 0.2])))
    0.5
    """

    _counts = ("tp", "fn")

    def result_fn(self, state: State) -> Any:
        return self._finish(_divide_no_nan(state["tp"], state["tp"] + state["fn"]))


class AUC(Metric):
    """Area under the ROC or PR curve from confusion counts at ``num_thresholds`` thresholds, summed as
    Keras does (trapezoids for ROC, Davis & Goadrich interpolation for PR).

    >>> round(float(AUC()(jnp.array([0, 0, 1, 1]), jnp.array([0.1, 0.4, 0.35, 0.8]))), 4)
    0.75
    """

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str | None = None,
        dtype: Any = None,
        thresholds: list[float] | None = None,
        multi_label: bool = False,
        num_labels: int | None = None,
        label_weights: Any = None,
        from_logits: bool = False,
    ) -> None:
        if multi_label or label_weights is not None:
            raise NotImplementedError(
                "AUC(multi_label=True) and label_weights are not supported by lamina yet."
            )
        curve_u = str(curve).upper()
        if curve_u not in ("ROC", "PR"):
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC"]')
        method = str(summation_method).lower()
        if method not in ("interpolation", "majoring", "minoring"):
            raise ValueError(
                f'Invalid AUC summation method value: "{summation_method}". Expected values are '
                '["interpolation", "majoring", "minoring"]'
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            self.num_thresholds = len(thresholds) + 2
            inner = sorted(thresholds)
            self._evenly = _evenly_spaced([0.0] + inner + [1.0])
        else:
            if num_thresholds <= 1:
                raise ValueError(
                    f"Argument `num_thresholds` must be an integer > 1. Received: num_thresholds="
                    f"{num_thresholds}"
                )
            self.num_thresholds = num_thresholds
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self._thresholds = [0.0 - EPSILON] + inner + [1.0 + EPSILON]
        self.curve, self.summation_method = curve_u, method
        self.multi_label, self.num_labels, self.label_weights = multi_label, num_labels, label_weights
        self.from_logits = from_logits
        super().__init__(name=name, dtype=dtype)

    @property
    def thresholds(self) -> list[float]:
        return list(self._thresholds)

    def init_state(self) -> State:
        return {k: jnp.zeros((self.num_thresholds,), jnp.float32) for k in ("tp", "fp", "tn", "fn")}

    def update_fn(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None) -> State:
        if self.from_logits:
            y_pred = jax.nn.sigmoid(jnp.asarray(y_pred, jnp.float32))
        counts = _confusion_counts(y_true, y_pred, self._thresholds, self._evenly, sample_weight)
        return {k: state[k] + counts[k] for k in state}

    def _interpolate_pr(self, s: State) -> Any:
        tp, fp, fn = s["tp"], s["fp"], s["fn"]
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, jnp.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = jnp.where(
            (p[:-1] > 0) & (p[1:] > 0), _divide_no_nan(p[:-1], jnp.maximum(p[1:], 0)), jnp.ones_like(p[1:])
        )
        increments = _divide_no_nan(
            slope * (dtp + intercept * jnp.log(ratio)), jnp.maximum(tp[1:] + fn[1:], 0)
        )
        return jnp.sum(increments)

    def result_fn(self, state: State) -> Any:
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr(state)
        tp, fp, tn, fn = state["tp"], state["fp"], state["tn"], state["fn"]
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = jnp.minimum(y[:-1], y[1:])
        else:
            heights = jnp.maximum(y[:-1], y[1:])
        return jnp.sum((x[:-1] - x[1:]) * heights)

    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": self.label_weights,
            "from_logits": self.from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config


class _AutoAccuracy(Mean):
    """``"accuracy"`` when the shapes are not known up front: resolved per batch from static shapes."""

    def update_fn(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None) -> State:  # type: ignore[override]
        fn = _accuracy_function(jnp.shape(y_true), jnp.shape(y_pred))
        return Mean.update_fn(self, state, fn(y_true, y_pred), sample_weight)


def _accuracy_function(y_true_shape: tuple[int, ...], y_pred_shape: tuple[int, ...]) -> Callable[..., Any]:
    is_binary = y_pred_shape[-1] == 1
    is_sparse = len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1)
    if is_binary:
        return binary_accuracy
    if is_sparse:
        return sparse_categorical_accuracy
    return categorical_accuracy


# --------------------------------------------------------------------------------- lookup and files
def _snake(name: str) -> str:
    from lamina.naming import to_snake_case

    return to_snake_case(name)


_CLASSES: dict[str, type[Metric]] = {
    c.__name__: c
    for c in (
        Mean,
        Sum,
        Accuracy,
        BinaryAccuracy,
        CategoricalAccuracy,
        SparseCategoricalAccuracy,
        TopKCategoricalAccuracy,
        SparseTopKCategoricalAccuracy,
        Precision,
        Recall,
        AUC,
        MeanSquaredError,
        MeanAbsoluteError,
        MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError,
        RootMeanSquaredError,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
    )
}
_BY_NAME: dict[str, type[Metric]] = {
    **_CLASSES,
    **{_snake(k): v for k, v in _CLASSES.items()},
    "mse": MeanSquaredError,
    "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError,
    "bce": BinaryCrossentropy,
    "BCE": BinaryCrossentropy,
    "rmse": RootMeanSquaredError,
}


def serialize(metric: Metric) -> dict[str, Any]:
    """Keras's serialized form of a metric (a custom one under its registered name).

    >>> serialize(AUC(name="auc"))["config"]["num_thresholds"]
    200
    """
    if type(metric).__name__ in _CLASSES and _CLASSES[type(metric).__name__] is type(metric):
        return {
            "module": "keras.metrics",
            "class_name": type(metric).__name__,
            "config": metric.get_config(),
            "registered_name": None,
        }
    from lamina.saving.serialization_lib import serialize_keras_object  # inside: saving imports layers lazily

    return serialize_keras_object(metric)


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Any:
    """Inverse of :func:`serialize`.

    >>> deserialize(serialize(BinaryAccuracy(threshold=0.3))).threshold
    0.3
    """
    name = config["class_name"]
    registered = config.get("registered_name")
    if name in _CLASSES and not (isinstance(registered, str) and ">" in registered):
        return _CLASSES[name].from_config(dict(config.get("config") or {}))
    from lamina.saving.serialization_lib import deserialize_keras_object

    try:
        return deserialize_keras_object(config, custom_objects)
    except TypeError as e:
        raise ValueError(f"Unknown metric class {name!r}; known: {sorted(_CLASSES)}. {e}") from None


def get(
    identifier: Any,
    y_true_shape: tuple[int | None, ...] | None = None,
    y_pred_shape: tuple[int | None, ...] | None = None,
) -> Metric:
    """A metric from a name, function, class, instance or serialized dict. ``"accuracy"``/``"acc"`` pick
    binary, sparse or categorical accuracy from the shapes exactly as Keras 3 does; a string gives the
    metric its name.

    >>> get("acc", (8, 1), (8, 1)).name, type(get("acc", (8, 1), (8, 1))).__name__
    ('acc', 'BinaryAccuracy')
    >>> get("AUC").name
    'AUC'
    """
    if isinstance(identifier, Metric):
        if y_pred_shape is not None and hasattr(identifier, "_build_shapes"):
            identifier._build_shapes(y_pred_shape)  # state sized by the data (F1Score, R2Score), as Keras's build
        return identifier
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        if y_true_shape is None or y_pred_shape is None:
            return _AutoAccuracy(name=identifier)
        fn = _accuracy_function(tuple(y_true_shape), tuple(y_pred_shape))
        cls = {
            binary_accuracy: BinaryAccuracy,
            sparse_categorical_accuracy: SparseCategoricalAccuracy,
            categorical_accuracy: CategoricalAccuracy,
        }[fn]
        return cls(name=identifier)
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier)
        if cls is None:
            raise ValueError(
                f"Could not interpret metric identifier: {identifier!r}. Known names: "
                f"{sorted(_BY_NAME)} and 'accuracy'/'acc'."
            )
        metric = cls()
        metric.name = identifier
        return metric
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
        return obj if isinstance(obj, Metric) else MeanMetricWrapper(obj)
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


# ------------------------------------------------------------------ more of keras.metrics (namespace fill)
def _pearson_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> Any:
    """Pearson correlation along ``axis`` (Keras's ``metrics.pearson_correlation``).

    >>> round(float(_pearson_correlation(jnp.array([[0.0, 1.0, 2.0]]), jnp.array([[0.0, 2.0, 4.0]]))[0]), 4)
    1.0
    """
    y_pred = _losses._float(y_pred)
    y_true = jnp.asarray(y_true, y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    t = y_true - jnp.mean(y_true, axis=axis, keepdims=True)
    p = y_pred - jnp.mean(y_pred, axis=axis, keepdims=True)
    t = t / jnp.std(t, axis=axis, keepdims=True)
    p = p / jnp.std(p, axis=axis, keepdims=True)
    return jnp.mean(t * p, axis=axis)


def _concordance_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> Any:
    """Concordance correlation along ``axis``, with Keras's formula (its covariance centres ``y_true`` on the
    mean of ``y_pred``, as Keras 3.15 does).

    >>> _concordance_correlation(jnp.array([[0.0, 1.0]]), jnp.array([[0.0, 1.0]])).shape
    (1,)
    """
    y_pred = _losses._float(y_pred)
    y_true = jnp.asarray(y_true, y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    t_mean = jnp.mean(y_true, axis=axis, keepdims=True)
    p_mean = jnp.mean(y_pred, axis=axis, keepdims=True)
    t_var = jnp.var(y_true - t_mean, axis=axis, keepdims=True)
    p_var = jnp.var(y_pred - p_mean, axis=axis, keepdims=True)
    covar = (y_true - p_mean) * (y_pred - p_mean)
    norm = t_var + p_var + jnp.square(t_mean - p_mean)
    return jnp.mean(2 * covar / (norm + EPSILON), axis=axis)


def _binary_focal_crossentropy(
    y_true: Any, y_pred: Any, apply_class_balancing: bool = False, alpha: float = 0.25, gamma: float = 2.0,
    from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
) -> Any:
    """Binary focal crossentropy (Keras's ``losses.binary_focal_crossentropy``), mean over ``axis``.

    >>> _binary_focal_crossentropy(jnp.array([[0.0, 1.0]]), jnp.array([[0.4, 0.6]])).shape
    (1,)
    """
    y_pred = _losses._float(y_pred)
    y_true = jnp.asarray(y_true, y_pred.dtype)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = jax.nn.sigmoid(y_pred)
    p = jnp.clip(y_pred, EPSILON, 1.0 - EPSILON)
    bce = -(y_true * jnp.log(p) + (1.0 - y_true) * jnp.log(1.0 - p))
    p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
    focal = jnp.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1 - y_true) * (1 - alpha)) * focal
    return jnp.mean(focal, axis=axis)


def _categorical_focal_crossentropy(
    y_true: Any, y_pred: Any, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
    label_smoothing: float = 0.0, axis: int = -1,
) -> Any:
    """Categorical focal crossentropy (Keras's ``losses.categorical_focal_crossentropy``), summed over ``axis``.

    >>> _categorical_focal_crossentropy(jnp.array([[0.0, 1.0]]), jnp.array([[0.4, 0.6]])).shape
    (1,)
    """
    y_pred = _losses._float(y_pred)
    y_true = jnp.asarray(y_true, y_pred.dtype)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        y_pred = jax.nn.softmax(y_pred, axis=axis)
    output = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
    output = jnp.clip(output, EPSILON, 1.0 - EPSILON)
    cce = -y_true * jnp.log(output)
    return jnp.sum(alpha * jnp.power(1.0 - output, gamma) * cce, axis=axis)


# Keras's metric functions are the losses' functions; the losses module's own versions win where it has them.
binary_crossentropy = _losses.binary_crossentropy
categorical_crossentropy = _losses.categorical_crossentropy
sparse_categorical_crossentropy = _losses.sparse_categorical_crossentropy
mean_squared_error = _losses.mean_squared_error
mean_absolute_error = _losses.mean_absolute_error
mean_absolute_percentage_error = _losses.mean_absolute_percentage_error
mean_squared_logarithmic_error = _losses.mean_squared_logarithmic_error
hinge = _losses.hinge
squared_hinge = _losses.squared_hinge
categorical_hinge = _losses.categorical_hinge
huber = _losses.huber
kl_divergence = _losses.kl_divergence
log_cosh = _losses.log_cosh
poisson = _losses.poisson
binary_focal_crossentropy = getattr(_losses, "binary_focal_crossentropy", _binary_focal_crossentropy)
categorical_focal_crossentropy = getattr(_losses, "categorical_focal_crossentropy", _categorical_focal_crossentropy)
pearson_correlation = getattr(_losses, "pearson_correlation", _pearson_correlation)
concordance_correlation = getattr(_losses, "concordance_correlation", _concordance_correlation)


class Hinge(_wrapper(_losses.hinge, "hinge")):
    """Mean hinge loss as a metric.

    >>> Hinge().name
    'hinge'
    """


class SquaredHinge(_wrapper(_losses.squared_hinge, "squared_hinge")):
    """Mean squared hinge loss as a metric.

    >>> SquaredHinge().name
    'squared_hinge'
    """


class CategoricalHinge(_wrapper(_losses.categorical_hinge, "categorical_hinge")):
    """Mean categorical hinge loss as a metric.

    >>> CategoricalHinge().name
    'categorical_hinge'
    """


class KLDivergence(_wrapper(_losses.kl_divergence, "kl_divergence")):
    """Mean Kullback-Leibler divergence as a metric.

    >>> KLDivergence().name
    'kl_divergence'
    """


class Poisson(_wrapper(_losses.poisson, "poisson")):
    """Mean Poisson loss as a metric.

    >>> Poisson().name
    'poisson'
    """


class LogCoshError(_wrapper(_losses.log_cosh, "logcosh")):
    """Mean logarithm of the hyperbolic cosine of the error.

    >>> LogCoshError().name
    'logcosh'
    """


class CosineSimilarity(_wrapper(_losses.cosine_similarity, "cosine_similarity", ("axis",))):
    """Mean cosine similarity between targets and predictions (Keras's sign: 1 means same direction).

    >>> float(CosineSimilarity()(jnp.array([[1.0, 0.0]]), jnp.array([[2.0, 0.0]])))
    1.0
    """

    def update_fn(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None) -> State:  # type: ignore[override]
        value = -_losses.cosine_similarity(y_true, y_pred, axis=self.axis)
        return Mean.update_fn(self, state, value, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}  # Keras 3.15 leaves ``axis`` out of the config


class PearsonCorrelation(_wrapper(_pearson_correlation, "pearson_correlation", ("axis",))):
    """Mean Pearson correlation coefficient over samples.

    >>> PearsonCorrelation().get_config()
    {'name': 'pearson_correlation', 'dtype': 'float32', 'axis': -1}
    """


class ConcordanceCorrelation(_wrapper(_concordance_correlation, "concordance_correlation", ("axis",))):
    """Mean concordance correlation coefficient over samples.

    >>> ConcordanceCorrelation().name
    'concordance_correlation'
    """


class _ConfusionCount(_ThresholdMetric):
    """One of tp/fp/tn/fn summed at each threshold (Keras's ``_ConfusionMatrixConditionCount``)."""

    _count = ""

    def __init__(self, thresholds: Any = None, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)
        self._counts = (self._count,)

    def result_fn(self, state: State) -> Any:
        return self._finish(state[self._count])

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds}


class TruePositives(_ConfusionCount):
    """Weighted count of true positives (``y_pred > threshold`` and ``y_true`` true).

    >>> float(TruePositives()(jnp.array([0, 1, 1, 1]), jnp.array([1.0, 0.0, 1.0, 1.0])))
    2.0
    """

    _count = "tp"


class FalsePositives(_ConfusionCount):
    """Weighted count of false positives.

    >>> float(FalsePositives()(jnp.array([0, 1, 0, 0]), jnp.array([0.0, 0.0, 1.0, 1.0])))
    2.0
    """

    _count = "fp"


class TrueNegatives(_ConfusionCount):
    """Weighted count of true negatives.

    >>> float(TrueNegatives()(jnp.array([0, 1, 0, 0]), jnp.array([1.0, 1.0, 0.0, 0.0])))
    2.0
    """

    _count = "tn"


class FalseNegatives(_ConfusionCount):
    """Weighted count of false negatives.

    >>> float(FalseNegatives()(jnp.array([0, 1, 1, 1]), jnp.array([0.0, 1.0, 0.0, 0.0])))
    2.0
    """

    _count = "fn"


class _SensitivitySpecificityBase(Metric):
    """Confusion counts at ``num_thresholds`` evenly spaced thresholds in [0, 1]; the result is the best value
    of one rate among the thresholds where the other meets ``value`` (Keras's ``SensitivitySpecificityBase``)."""

    _value_name = ""

    def __init__(
        self, value: float, num_thresholds: int = 200, class_id: int | None = None, name: str | None = None,
        dtype: Any = None,
    ) -> None:
        if not 0 <= value <= 1:
            raise ValueError(f"Argument `{self._value_name}` must be in the range [0, 1]. Received: "
                             f"{self._value_name}={value}")
        if num_thresholds <= 0:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 0. Received: "
                             f"num_thresholds={num_thresholds}")
        self.value = value
        setattr(self, self._value_name, value)
        self.num_thresholds = num_thresholds
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds, self._evenly = [0.5], False
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds, self._evenly = [0.0] + inner + [1.0], True
        super().__init__(name=name, dtype=dtype)

    def init_state(self) -> State:
        return {k: jnp.zeros((len(self.thresholds),), jnp.float32) for k in ("tp", "fp", "tn", "fn")}

    def update_fn(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None) -> State:
        counts = _confusion_counts(y_true, y_pred, self.thresholds, self._evenly, sample_weight,
                                   class_id=self.class_id)
        return {k: state[k] + counts[k] for k in state}

    def _rates(self, s: State) -> dict[str, Any]:
        return {
            "sensitivity": _divide_no_nan(s["tp"], s["tp"] + s["fn"]),
            "specificity": _divide_no_nan(s["tn"], s["tn"] + s["fp"]),
            "precision": _divide_no_nan(s["tp"], s["tp"] + s["fp"]),
        }

    def _max_under_constraint(self, constrained: Any, dependent: Any) -> Any:
        return jnp.maximum(jnp.max(jnp.where(constrained >= self.value, dependent, 0.0)), 0.0)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "class_id": self.class_id,
            "num_thresholds": self.num_thresholds,
            self._value_name: self.value,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)


class SensitivityAtSpecificity(_SensitivitySpecificityBase):
    """Best sensitivity (recall) where specificity is at least ``specificity``.

    >>> m = SensitivityAtSpecificity(0.5)
    >>> float(m(jnp.array([0, 0, 0, 1, 1]), jnp.array([0.0, 0.3, 0.8, 0.3, 0.8])))
    0.5
    """

    _value_name = "specificity"

    def __init__(self, specificity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def result_fn(self, state: State) -> Any:
        r = self._rates(state)
        return self._max_under_constraint(r["specificity"], r["sensitivity"])


class SpecificityAtSensitivity(_SensitivitySpecificityBase):
    """Best specificity where sensitivity (recall) is at least ``sensitivity``.

    >>> SpecificityAtSensitivity(0.5).get_config()["sensitivity"]
    0.5
    """

    _value_name = "sensitivity"

    def __init__(self, sensitivity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def result_fn(self, state: State) -> Any:
        r = self._rates(state)
        return self._max_under_constraint(r["sensitivity"], r["specificity"])


class PrecisionAtRecall(_SensitivitySpecificityBase):
    """Best precision where recall is at least ``recall``.

    >>> PrecisionAtRecall(0.5).get_config()["recall"]
    0.5
    """

    _value_name = "recall"

    def __init__(self, recall: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def result_fn(self, state: State) -> Any:
        r = self._rates(state)
        return self._max_under_constraint(r["sensitivity"], r["precision"])


class RecallAtPrecision(_SensitivitySpecificityBase):
    """Best recall where precision is at least ``precision``.

    >>> RecallAtPrecision(0.5).get_config()["precision"]
    0.5
    """

    _value_name = "precision"

    def __init__(self, precision: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def result_fn(self, state: State) -> Any:
        r = self._rates(state)
        return self._max_under_constraint(r["precision"], r["sensitivity"])


class _IoUBase(Metric):
    """A ``num_classes`` x ``num_classes`` confusion matrix (rows: truth, columns: prediction), Keras's
    ``_IoUBase``; the result is the mean IoU over ``target_class_ids``."""

    def __init__(
        self, num_classes: int, target_class_ids: Any = None, name: str | None = None, dtype: Any = None,
        ignore_class: int | None = None, sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1,
    ) -> None:
        self.num_classes = int(num_classes)
        if target_class_ids is None:
            target_class_ids = list(range(self.num_classes))
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, which is "
                             f"[0, {num_classes}).")
        self.target_class_ids = list(target_class_ids)
        self.ignore_class = ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = sparse_y_true, sparse_y_pred, axis
        super().__init__(name=name, dtype=dtype or "int32")

    def init_state(self) -> State:
        return {"total_cm": jnp.zeros((self.num_classes, self.num_classes), self.dtype)}

    def _predicted_classes(self, y_pred: Any) -> Any:
        if not self.sparse_y_pred:
            return jnp.argmax(y_pred, axis=self.axis)
        return jnp.asarray(y_pred)

    def update_fn(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None) -> State:
        dtype = self.dtype
        if not self.sparse_y_true:
            y_true = jnp.argmax(y_true, axis=self.axis)
        y_pred = self._predicted_classes(y_pred)
        y_true = jnp.asarray(y_true).astype(dtype).reshape(-1)
        y_pred = jnp.asarray(y_pred).astype(dtype).reshape(-1)
        w = jnp.asarray(1 if sample_weight is None else sample_weight).astype(dtype).reshape(-1)
        w = jnp.broadcast_to(w, y_true.shape)
        n = self.num_classes
        ok = (y_true >= 0) & (y_true < n) & (y_pred >= 0) & (y_pred < n)
        if self.ignore_class is not None:
            ok = ok & (y_true != self.ignore_class)
        y_true = jnp.where(ok, y_true, 0).astype(jnp.int32)
        y_pred = jnp.where(ok, y_pred, 0).astype(jnp.int32)
        w = jnp.where(ok, w, 0)
        cm = jnp.zeros((n * n,), dtype).at[y_true * n + y_pred].add(w).reshape(n, n)
        return {"total_cm": state["total_cm"] + cm}

    def result_fn(self, state: State) -> Any:
        cm = state["total_cm"].astype(jnp.float32)
        tp = jnp.diagonal(cm)
        denominator = jnp.sum(cm, axis=0) + jnp.sum(cm, axis=1) - tp
        ids = jnp.asarray(self.target_class_ids)
        tp, denominator = tp[ids], denominator[ids]
        valid = jnp.sum((denominator != 0).astype(jnp.float32))
        return _divide_no_nan(jnp.sum(_divide_no_nan(tp, denominator)), valid)

    def get_config(self) -> dict[str, Any]:
        return {
            "num_classes": self.num_classes,
            "name": self.name,
            "dtype": self.dtype,
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }


class IoU(_IoUBase):
    """Mean intersection-over-union of the classes in ``target_class_ids``.

    >>> float(IoU(2, [0])(jnp.array([0, 0, 1, 1]), jnp.array([0, 1, 0, 1])))
    0.3333333432674408
    """

    def __init__(
        self, num_classes: int, target_class_ids: Any, name: str | None = None, dtype: Any = None,
        ignore_class: int | None = None, sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1,
    ) -> None:
        super().__init__(num_classes, target_class_ids, name, dtype, ignore_class, sparse_y_true, sparse_y_pred,
                         axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_class_ids": self.target_class_ids}


class MeanIoU(_IoUBase):
    """Intersection-over-union averaged over all ``num_classes`` classes.

    >>> round(float(MeanIoU(2)(jnp.array([0, 0, 1, 1]), jnp.array([0, 1, 0, 1]))), 4)
    0.3333
    """

    def __init__(
        self, num_classes: int, name: str | None = None, dtype: Any = None, ignore_class: int | None = None,
        sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1,
    ) -> None:
        super().__init__(num_classes, None, name, dtype, ignore_class, sparse_y_true, sparse_y_pred, axis)


class BinaryIoU(IoU):
    """IoU of a binary task: ``y_pred >= threshold`` is class 1.

    >>> BinaryIoU().target_class_ids
    [0, 1]
    """

    def __init__(self, target_class_ids: Any = (0, 1), threshold: float = 0.5, name: str | None = None,
                 dtype: Any = None) -> None:
        self.threshold = threshold
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)

    def update_fn(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None) -> State:
        y_true = jnp.asarray(y_true, jnp.float32)
        y_pred = (jnp.asarray(y_pred, jnp.float32) >= self.threshold).astype(jnp.float32)
        return super().update_fn(state, y_true, y_pred, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}


class OneHotIoU(IoU):
    """IoU for one-hot targets and probability predictions (``argmax`` over ``axis`` first).

    >>> OneHotIoU(3, [1]).sparse_y_true
    False
    """

    def __init__(
        self, num_classes: int, target_class_ids: Any, name: str | None = None, dtype: Any = None,
        ignore_class: int | None = None, sparse_y_pred: bool = False, axis: int = -1,
    ) -> None:
        super().__init__(num_classes, target_class_ids, name, dtype, ignore_class, False, sparse_y_pred, axis)

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids, "name": self.name,
                "dtype": self.dtype, "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """Mean IoU for one-hot targets and probability predictions.

    >>> OneHotMeanIoU(3).sparse_y_true
    False
    """

    def __init__(
        self, num_classes: int, name: str | None = None, dtype: Any = None, ignore_class: int | None = None,
        sparse_y_pred: bool = False, axis: int = -1,
    ) -> None:
        super().__init__(num_classes, name, dtype, ignore_class, False, sparse_y_pred, axis)

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


_EXTRA_CLASSES = (
    Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson, LogCoshError, CosineSimilarity,
    PearsonCorrelation, ConcordanceCorrelation, TruePositives, FalsePositives, TrueNegatives, FalseNegatives,
    SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision,
    IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU,
)
_CLASSES.update({c.__name__: c for c in _EXTRA_CLASSES})
_BY_NAME.update({c.__name__: c for c in _EXTRA_CLASSES})
_BY_NAME.update({_snake(c.__name__): c for c in _EXTRA_CLASSES})
__all__ += [c.__name__ for c in _EXTRA_CLASSES] + [
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "mean_squared_error",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "hinge",
    "squared_hinge", "categorical_hinge", "huber", "kl_divergence", "log_cosh", "poisson",
    "binary_focal_crossentropy", "categorical_focal_crossentropy", "pearson_correlation", "concordance_correlation",
]


class FBetaScore(Metric):
    """F-beta score from per-class (or, with ``average="micro"``, pooled) tp/fp/fn counts; the per-class state
    takes its size from the first batch, as Keras builds it on first use.

    >>> m = FBetaScore(beta=1.0, threshold=0.5)
    >>> [round(float(v), 4) for v in m(jnp.array([[1.0, 0.0], [0.0, 1.0]]), jnp.array([[0.9, 0.2], [0.8, 0.1]]))]
    [0.6667, 0.0]
    """

    _keys = ("true_positives", "false_positives", "false_negatives", "intermediate_weights")

    def __init__(self, average: str | None = None, beta: float = 1.0, threshold: float | None = None,
                 name: str = "fbeta_score", dtype: Any = None) -> None:
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', "
                             f"'weighted'}}. Received: average={average}")
        if not isinstance(beta, float):
            raise ValueError(f"Invalid `beta` argument value. It should be a Python float. Received: beta={beta} "
                             f"of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError("Invalid `threshold` argument value. It should be a Python float. Received: "
                                 f"threshold={threshold} of type '{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError("Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                                 f"Received: threshold={threshold}")
        self.average, self.beta, self.threshold = average, beta, threshold
        self.axis = None if average == "micro" else 0
        self._state_shape: tuple[int, ...] | None = () if average == "micro" else None
        super().__init__(name=name, dtype=dtype)

    def _build_shapes(self, y_pred_shape: tuple[int | None, ...]) -> None:
        if self._state_shape is None and len(y_pred_shape) == 2 and y_pred_shape[-1] is not None:
            self._state_shape = (int(y_pred_shape[-1]),)

    def init_state(self) -> State:
        shape = (0,) if self._state_shape is None else self._state_shape
        return {k: jnp.zeros(shape, jnp.float32) for k in self._keys}

    def update_fn(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None) -> State:
        y_true, y_pred = jnp.asarray(y_true, jnp.float32), jnp.asarray(y_pred, jnp.float32)
        if y_pred.ndim != 2 or y_true.ndim != 2:
            raise ValueError("FBetaScore expects 2D inputs with shape (batch_size, output_dim). Received input "
                             f"shapes: y_pred.shape={y_pred.shape} and y_true.shape={y_true.shape}.")
        if self._state_shape is None:
            self._state_shape = (y_pred.shape[-1],)
        if state["true_positives"].shape != self._state_shape:  # first batch: the per-class counts are built
            state = {k: jnp.zeros(self._state_shape, jnp.float32) for k in self._keys}
        if self.threshold is None:
            top = jnp.max(y_pred, axis=-1, keepdims=True)
            pred = ((y_pred >= top) & (jnp.abs(y_pred) > 1e-9)).astype(jnp.float32)
        else:
            pred = (y_pred > self.threshold).astype(jnp.float32)

        def total(v: Any) -> Any:
            if sample_weight is not None:
                v = v * jnp.expand_dims(jnp.asarray(sample_weight, jnp.float32), 1)
            return jnp.sum(v, axis=self.axis)

        return {
            "true_positives": state["true_positives"] + total(pred * y_true),
            "false_positives": state["false_positives"] + total(pred * (1 - y_true)),
            "false_negatives": state["false_negatives"] + total((1 - pred) * y_true),
            "intermediate_weights": state["intermediate_weights"] + total(y_true),
        }

    def result_fn(self, state: State) -> Any:
        tp, fp, fn = state["true_positives"], state["false_positives"], state["false_negatives"]
        precision = tp / (tp + fp + EPSILON)
        recall = tp / (tp + fn + EPSILON)
        b2 = self.beta**2
        score = precision * recall / (b2 * precision + recall + EPSILON) * (1 + b2)
        if self.average == "weighted":
            w = state["intermediate_weights"]
            return jnp.sum(score * w / (jnp.sum(w) + EPSILON))
        if self.average is not None:
            return jnp.mean(score)
        return score

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 score: :class:`FBetaScore` with ``beta=1``.

    >>> F1Score(average="macro").get_config()["average"]
    'macro'
    """

    def __init__(self, average: str | None = None, threshold: float | None = None, name: str = "f1_score",
                 dtype: Any = None) -> None:
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config


class R2Score(Metric):
    """Coefficient of determination over everything seen (Keras's ``R2Score``); the per-output state takes its
    size from the first batch.

    >>> round(float(R2Score()(jnp.array([[1.0], [2.0], [3.0]]), jnp.array([[1.0], [2.0], [4.0]]))), 4)
    0.5
    """

    def __init__(self, class_aggregation: str | None = "uniform_average", num_regressors: int = 0,
                 name: str = "r2_score", dtype: Any = None) -> None:
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError("Invalid value for argument `class_aggregation`. Expected one of {None, "
                             f"'uniform_average', 'variance_weighted_average'}}. Received: "
                             f"class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a value >= 0. Received: "
                             f"num_regressors={num_regressors}")
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self._num_outputs: int | None = None
        super().__init__(name=name, dtype=dtype)

    def _build_shapes(self, y_pred_shape: tuple[int | None, ...]) -> None:
        if self._num_outputs is None and y_pred_shape and y_pred_shape[-1] is not None:
            self._num_outputs = int(y_pred_shape[-1]) if len(y_pred_shape) >= 2 else 1

    def init_state(self) -> State:
        shape = (0,) if self._num_outputs is None else (self._num_outputs,)
        return {"squared_sum": jnp.zeros(shape, jnp.float32), "sum": jnp.zeros(shape, jnp.float32),
                "total_mse": jnp.zeros(shape, jnp.float32), "count": jnp.zeros(shape, jnp.float32),
                "num_samples": jnp.zeros((), jnp.float32)}

    def update_fn(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None) -> State:
        y_true, y_pred = jnp.asarray(y_true, jnp.float32), jnp.asarray(y_pred, jnp.float32)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if y_pred.ndim == 1:
            y_true, y_pred = y_true[:, None], y_pred[:, None]
        if y_pred.ndim != 2:
            raise ValueError(f"R2Score expects 2D inputs with shape (batch_size, output_dim). Received input "
                             f"shapes: y_pred.shape={y_pred.shape} and y_true.shape={y_true.shape}.")
        if self._num_outputs is None:
            self._num_outputs = y_pred.shape[-1]
        if state["sum"].shape != (self._num_outputs,):
            state = self.init_state()
        if sample_weight is None:
            w = jnp.ones_like(y_true)
        else:
            w = jnp.asarray(sample_weight, jnp.float32)
            if w.ndim == 1:
                w = w[:, None]
            w = jnp.broadcast_to(w, y_true.shape)
        return {
            "squared_sum": state["squared_sum"] + jnp.sum(w * jnp.square(y_true), axis=0),
            "sum": state["sum"] + jnp.sum(w * y_true, axis=0),
            "total_mse": state["total_mse"] + jnp.sum(w * jnp.square(y_true - y_pred), axis=0),
            "count": state["count"] + jnp.sum(w, axis=0),
            "num_samples": state["num_samples"] + y_true.size,
        }

    def result_fn(self, state: State) -> Any:
        count = state["count"]
        mean = state["sum"] / count
        total = state["squared_sum"] - state["sum"] * mean
        raw = 1 - state["total_mse"] / total
        raw = jnp.where(jnp.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            r2 = jnp.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            r2 = jnp.sum(total * raw) / jnp.sum(total)
        else:
            r2 = raw
        if self.num_regressors:
            n, p = state["num_samples"], self.num_regressors
            r2 = jnp.where(n - p - 1 > 0, 1 - (1 - r2) * (n - 1) / jnp.where(n - p - 1 > 0, n - p - 1, 1), r2)
        return r2

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


_MORE = (FBetaScore, F1Score, R2Score)
_CLASSES.update({c.__name__: c for c in _MORE})
_BY_NAME.update({c.__name__: c for c in _MORE})
_BY_NAME.update({_snake(c.__name__): c for c in _MORE})
__all__ += [c.__name__ for c in _MORE]
