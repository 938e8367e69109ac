"""Weight regularizers ``L1``, ``L2``, ``L1L2`` with Keras's names; their penalties add to the loss.

>>> import numpy as np
>>> from lamina import regularizers
>>> float(regularizers.L2(0.5)(np.array([1.0, 2.0])))
2.5
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import numpy as np


class Regularizer:
    """Base class: ``penalty = regularizer(weight_array)``."""

    def __call__(self, x: Any) -> Any:
        return 0.0

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x: Any) -> Any:
        out = 0.0
        if self.l1:
            out = out + self.l1 * jnp.sum(jnp.abs(x))
        if self.l2:
            out = out + self.l2 * jnp.sum(jnp.square(x))
        return out

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1 * sum(|x|)`` (default 0.01)."""

    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(x**2)`` (default 0.01)."""

    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l2=l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


def _validate_float_arg(value: Any, name: str) -> float:
    if not isinstance(value, (float, int)) or math.isinf(value) or math.isnan(value) or value < 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float.Received: {name}={value}")
    return float(value)


class OrthogonalRegularizer(Regularizer):
    """``factor * mean |<u_i, u_j>|`` over the pairs of distinct L2-normalized rows (or columns) of a 2-D weight.

    >>> import numpy as np
    >>> float(OrthogonalRegularizer(factor=1.0)(np.array([[1.0, 0.0], [1.0, 0.0]])))
    1.0
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows") -> None:
        _validate_float_arg(factor, name="factor")
        self.factor = float(np.float32(factor))  # Keras keeps a float32 tensor (its config shows the rounding)
        if mode not in {"rows", "columns"}:
            raise ValueError(
                f'Invalid value for argument `mode`. Expected one of {{"rows", "columns"}}. Received: mode={mode}'
            )
        self.mode = mode

    def __call__(self, x: Any) -> Any:
        from lamina.ops.nn import normalize  # lazy: keeps ``import lamina.regularizers`` light

        x = jnp.asarray(x)
        if x.ndim != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: inputs.shape={x.shape}")
        if self.mode == "rows":
            x = normalize(x, axis=1)
            product, size = x @ x.T, x.shape[0]
        else:
            x = normalize(x, axis=0)
            product, size = x.T @ x, x.shape[1]
        off_diagonal = product * (1.0 - jnp.eye(size, dtype=x.dtype))
        num_pairs = size * (size - 1.0) / 2.0
        return self.factor * 0.5 * jnp.sum(jnp.abs(off_diagonal)) / num_pairs

    def get_config(self) -> dict[str, Any]:
        return {"factor": float(self.factor), "mode": self.mode}


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:
    """Both penalties, 0.01 each by default."""
    return L1L2(l1, l2)


l1 = L1
l2 = L2
orthogonal_regularizer = OrthogonalRegularizer
_NAMES = {"l1": L1, "l2": L2, "l1_l2": l1_l2, "L1": L1, "L2": L2, "L1L2": L1L2,
          "OrthogonalRegularizer": OrthogonalRegularizer, "orthogonal_regularizer": OrthogonalRegularizer}


def get(identifier: Any) -> Regularizer | None:
    """Resolve ``None``, ``"l2"``, a config dict or an instance/callable."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        if identifier not in _NAMES:
            raise ValueError(f"Unknown regularizer {identifier!r}; use one of l1, l2, l1_l2.")
        return _NAMES[identifier]()
    if isinstance(identifier, dict):
        cls = _NAMES.get(identifier.get("class_name", ""))
        if cls is None:
            raise ValueError(f"Unknown regularizer class {identifier.get('class_name')!r}.")
        return cls(**identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise TypeError(f"Cannot interpret {identifier!r} as a regularizer.")


def serialize(regularizer: Any) -> dict[str, Any] | None:
    """Keras's config dict, or ``None``."""
    if regularizer is None:
        return None
    if not isinstance(regularizer, Regularizer):
        raise ValueError(f"Cannot serialize custom regularizer {regularizer!r}.")
    return {"module": "keras.regularizers", "class_name": type(regularizer).__name__,
            "config": regularizer.get_config(), "registered_name": None}


def deserialize(config: dict[str, Any] | str, custom_objects: dict[str, Any] | None = None) -> Any:
    """The regularizer a Keras config describes (``{"class_name": "L2", "config": {"l2": 0.1}}`` or a name).

    >>> deserialize({"class_name": "L2", "config": {"l2": 0.5}}).l2
    0.5
    """
    name = config.get("class_name") if isinstance(config, dict) else config
    if custom_objects and name in custom_objects:
        cls = custom_objects[name]
        return cls.from_config(config.get("config", {})) if isinstance(config, dict) else cls()
    return get(config)
