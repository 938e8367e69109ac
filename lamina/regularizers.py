"""Weight regularizers ``L1``, ``L2``, ``L1L2`` with Keras's names; their penalties add to the loss.

>>> import numpy as np
>>> from lamina import regularizers
>>> float(regularizers.L2(0.5)(np.array([1.0, 2.0])))
2.5
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp


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


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:
    """Both penalties, 0.01 each by default."""
    return L1L2(l1, l2)


l1 = L1
l2 = L2
_NAMES = {"l1": L1, "l2": L2, "l1_l2": l1_l2, "L1": L1, "L2": L2, "L1L2": L1L2}


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
