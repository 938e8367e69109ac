"""lamina: the Keras API, computed on JAX, that explains its shapes.

>>> import lamina
>>> from lamina import layers
>>> model = lamina.Sequential([layers.Dense(10, input_shape=(784,))])
>>> model.count_params()
7850
>>> lamina.config.backend(), lamina.version() == lamina.__version__
('jax', True)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = {
    "activations", "applications", "backend", "callbacks", "config", "constraints", "datasets", "distribution",
    "dtype_policies", "explain", "initializers", "layers", "legacy", "losses", "metrics", "mixed_precision", "models",
    "ops", "optimizers", "preprocessing", "random", "regularizers", "saving", "tree", "utils", "visualization",
    "quantizers", "distillation", "export", "wrappers",
}
#: top-level names as in Keras 3 (``keras.Layer``...): ``name -> (module, attribute)``, imported on first use.
_ATTRIBUTES = {
    "Sequential": ("lamina.models", "Sequential"),
    "Model": ("lamina.models", "Model"),
    "Input": ("lamina.layers", "Input"),
    "Layer": ("lamina.layers", "Layer"),
    "InputSpec": ("lamina.layers.base", "InputSpec"),
    "KerasTensor": ("lamina.graph", "KerasTensor"),
    "Variable": ("lamina.layers.base", "Weight"),
    "Initializer": ("lamina.initializers", "Initializer"),
    "Regularizer": ("lamina.regularizers", "Regularizer"),
    "Optimizer": ("lamina.optimizers", "Optimizer"),
    "Loss": ("lamina.losses", "Loss"),
    "Metric": ("lamina.metrics", "Metric"),
    "Operation": ("lamina.ops.operation", "Operation"),
    "DTypePolicy": ("lamina.dtype_policies", "DTypePolicy"),
    "FloatDTypePolicy": ("lamina.dtype_policies", "FloatDTypePolicy"),
    "name_scope": ("lamina.scopes", "name_scope"),
    "device": ("lamina.scopes", "device"),
    "remat": ("lamina.scopes", "remat"),
    "RematScope": ("lamina.scopes", "RematScope"),
    "StatelessScope": ("lamina.stateless_scope", "StatelessScope"),
    "SymbolicScope": ("lamina.stateless_scope", "SymbolicScope"),
    "Function": ("lamina.function", "Function"),
    "Quantizer": ("lamina.quantizers", "Quantizer"),
}


def version() -> str:
    """lamina's version string (``keras.version()`` returns Keras's)."""
    return __version__


def __getattr__(name: str) -> Any:
    """Import submodules and top-level classes on first use so that ``import lamina`` stays fast."""
    if name in _SUBMODULES:
        try:
            module = importlib.import_module(f"lamina.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"lamina.{name}":
                raise
            raise AttributeError(f"module 'lamina' has no attribute {name!r} (lamina.{name} is not written yet)"
                                 ) from err
        globals()[name] = module
        return module
    if name in _ATTRIBUTES:
        module_name, attr = _ATTRIBUTES[name]
        try:
            value = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as err:
            raise AttributeError(f"module 'lamina' has no attribute {name!r} ({err})") from err
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lamina' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES | set(_ATTRIBUTES))
