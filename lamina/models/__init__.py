"""Models: ``Sequential``, ``Model`` (functional or subclassed), and loading/saving entry points.

>>> from lamina import models, layers
>>> models.Sequential([layers.Dense(2, input_shape=(3,))]).count_params()
8
"""

from __future__ import annotations

from typing import Any

from lamina.models.model import Model
from lamina.models.sequential import Sequential

Functional = Model


def load_model(filepath: Any, custom_objects: dict[str, Any] | None = None, compile: bool = True,
               safe_mode: bool = True) -> Model:
    """Load a ``.keras`` file written by lamina or Keras 3."""
    from lamina.saving import load_model as _load

    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def clone_model(model: Model) -> Model:
    """A new model with the same architecture and freshly initialized weights."""
    from lamina.layers import deserialize, serialize

    return deserialize(serialize(model))


__all__ = ["Model", "Sequential", "Functional", "load_model", "clone_model"]
