"""``StatelessScope`` and ``SymbolicScope`` (Keras 3's ``keras.StatelessScope`` / ``keras.SymbolicScope``).

In a ``StatelessScope`` the weights read as the values given in ``state_mapping`` and ``weight.assign(...)``
records the new value in the scope instead of changing the weight.

>>> import numpy as np
>>> from lamina import layers
>>> dense = layers.Dense(1, kernel_initializer="ones")
>>> _ = dense(np.ones((1, 2), "float32"))
>>> with StatelessScope([(dense.kernel, np.full((2, 1), 3.0, "float32"))]) as scope:
...     float(dense(np.ones((1, 2), "float32"))[0, 0])
...     dense.bias.assign(np.ones((1,), "float32"))
6.0
>>> float(scope.get_current_value(dense.bias)[0]), float(dense.bias.numpy()[0])
(1.0, 0.0)
"""

from __future__ import annotations

import threading
from typing import Any

import jax.numpy as jnp

from lamina.layers.base import CallScope, Weight

_SYMBOLIC = threading.local()


class StatelessScope(CallScope):
    """Weights read as ``state_mapping``'s values; assignments and (with ``collect_losses``) losses stay in the
    scope (``get_current_value(weight)``, ``scope.losses``)."""

    def __init__(self, state_mapping: Any = None, collect_losses: bool = False,
                 initialize_variables: bool = True) -> None:
        super().__init__()
        self.collect_losses = collect_losses
        self.initialize_variables = initialize_variables
        for weight, value in state_mapping or []:
            if not isinstance(weight, Weight):
                raise ValueError("Invalid reference variable in StatelessScope: all keys in argument `mapping` "
                                 f"must be Variable instances. Received instead: {weight}")
            value = jnp.asarray(value.value if isinstance(value, Weight) else value, dtype=weight.dtype)
            if tuple(value.shape) != weight.shape:
                raise ValueError("Invalid variable value in StatelessScope: all values in argument `mapping` must "
                                 "be tensors with a shape that matches the corresponding variable shape. For "
                                 f"variable {weight}, received invalid value {value} with shape "
                                 f"{tuple(value.shape)}.")
            self.values[id(weight)] = value
        self.stateless = True  # Weight.assign records into the scope (see lamina.layers.base)

    def add_loss(self, loss: Any) -> None:
        self.losses.append(loss)

    def add_update(self, update: tuple[Weight, Any]) -> None:
        weight, value = update
        self.updates[id(weight)] = value

    def get_current_value(self, variable: Weight) -> Any:
        """The value ``variable`` has in this scope (assigned or mapped), or None."""
        return self.updates.get(id(variable), self.values.get(id(variable)))


def in_stateless_scope() -> bool:
    return isinstance(CallScope.current(), StatelessScope)


def get_stateless_scope() -> StatelessScope | None:
    scope = CallScope.current()
    return scope if isinstance(scope, StatelessScope) else None


class SymbolicScope:
    """Marks the symbolic stage (shape inference): ``in_symbolic_scope()`` is True inside.

    >>> with SymbolicScope():
    ...     in_symbolic_scope()
    True
    """

    def __enter__(self) -> SymbolicScope:
        self.original_scope = getattr(_SYMBOLIC, "scope", None)
        _SYMBOLIC.scope = self
        return self

    def __exit__(self, *exc: Any) -> None:
        _SYMBOLIC.scope = self.original_scope


def in_symbolic_scope() -> bool:
    return getattr(_SYMBOLIC, "scope", None) is not None


def get_symbolic_scope() -> SymbolicScope | None:
    return getattr(_SYMBOLIC, "scope", None)
