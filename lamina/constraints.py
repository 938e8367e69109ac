"""Weight constraints (Keras 3's ``keras.constraints``): projections applied to a weight after each optimizer step.

>>> import numpy as np
>>> from lamina import constraints
>>> constraints.NonNeg()(np.array([-1.0, 2.0])).tolist()
[0.0, 2.0]
>>> constraints.get("max_norm").get_config()
{'max_value': 2, 'axis': 0}
"""

from __future__ import annotations

import inspect
from typing import Any

import jax.numpy as jnp

from lamina import backend

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm", "min_max_norm", "non_neg",
           "unit_norm", "get", "serialize", "deserialize"]


class Constraint:
    """Base class: ``constraint(w)`` returns the projected weight (unchanged by default)."""

    def __call__(self, w: Any) -> Any:
        return w

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        return cls(**config)


def _norms(w: Any, axis: Any) -> Any:
    axis = tuple(axis) if isinstance(axis, list) else axis
    return jnp.sqrt(jnp.sum(jnp.square(w), axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Rescale each weight vector along ``axis`` to a norm of at most ``max_value``.

    >>> round(float(jnp.linalg.norm(MaxNorm(1.0)(jnp.array([[3.0], [4.0]])))), 4)
    1.0
    """

    def __init__(self, max_value: float = 2, axis: Any = 0) -> None:
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w: Any) -> Any:
        w = jnp.asarray(w)
        norms = _norms(w, self.axis)
        desired = jnp.clip(norms, 0, self.max_value)
        return w.astype(norms.dtype) * (desired / (backend.epsilon() + norms))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Clip negative weights to zero."""

    def __call__(self, w: Any) -> Any:
        return jnp.maximum(jnp.asarray(w), 0)


class UnitNorm(Constraint):
    """Scale each weight vector along ``axis`` to unit norm."""

    def __init__(self, axis: Any = 0) -> None:
        self.axis = axis

    def __call__(self, w: Any) -> Any:
        w = jnp.asarray(w)
        norms = _norms(w, self.axis)
        return w.astype(norms.dtype) / (backend.epsilon() + norms)

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Move each weight vector's norm towards ``[min_value, max_value]`` at ``rate`` (1.0: strictly)."""

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis: Any = 0) -> None:
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w: Any) -> Any:
        w = jnp.asarray(w)
        norms = _norms(w, self.axis)
        desired = self.rate * jnp.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w.astype(norms.dtype) * (desired / (backend.epsilon() + norms))

    def get_config(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm

_CLASSES: dict[str, type[Constraint]] = {c.__name__: c for c in (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)}
_BY_NAME: dict[str, type[Constraint]] = {**_CLASSES, "constraint": Constraint, "max_norm": MaxNorm,
                                         "min_max_norm": MinMaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm}


def serialize(constraint: Any) -> Any:
    """Keras's serialized form of a constraint (None stays None)."""
    from lamina.saving.serialization_lib import serialize_keras_object  # inside: saving imports layers lazily

    return serialize_keras_object(constraint)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Inverse of :func:`serialize`."""
    from lamina.saving.serialization_lib import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects=custom_objects, module_objects=_BY_NAME)


def get(identifier: Any) -> Any:
    """A constraint from None, a name (``"non_neg"``, ``"MaxNorm"``), a dict, a class or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = _BY_NAME.get(identifier)
    else:
        obj = identifier
    if callable(obj):
        return obj() if inspect.isclass(obj) else obj
    raise ValueError(f"Could not interpret constraint identifier: {identifier}")
