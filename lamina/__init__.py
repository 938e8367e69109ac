"""lamina: the Keras API, computed on JAX, that explains its shapes.

>>> import lamina
>>> from lamina import layers
>>> model = lamina.Sequential([layers.Dense(10, input_shape=(784,))])
>>> model.count_params()
7850
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = {
    "activations", "backend", "callbacks", "datasets", "distribution", "initializers", "layers", "losses",
    "metrics", "models", "optimizers", "random", "regularizers", "saving", "utils", "ops", "explain",
    "constraints", "dtype_policies", "mixed_precision",
}
_ATTRIBUTES = {
    "Sequential": ("lamina.models", "Sequential"),
    "Model": ("lamina.models", "Model"),
    "Input": ("lamina.layers", "Input"),
    "Layer": ("lamina.layers", "Layer"),
    "Loss": ("lamina.losses", "Loss"),
    "Metric": ("lamina.metrics", "Metric"),
    "DTypePolicy": ("lamina.dtype_policies", "DTypePolicy"),
    "FloatDTypePolicy": ("lamina.dtype_policies", "FloatDTypePolicy"),
}


def __getattr__(name: str) -> Any:
    """Import submodules on first use so that ``import lamina`` stays fast."""
    if name in _SUBMODULES:
        module = importlib.import_module(f"lamina.{name}")
        globals()[name] = module
        return module
    if name in _ATTRIBUTES:
        module_name, attr = _ATTRIBUTES[name]
        value = getattr(importlib.import_module(module_name), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lamina' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES | set(_ATTRIBUTES))
