"""Activation functions with Keras's names, as pure ``jax.numpy`` functions.

>>> import numpy as np
>>> from lamina import activations
>>> activations.get("relu")(np.array([-1.0, 2.0])).tolist()
[0.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from lamina.ops.nn import (
    celu,
    glu,
    hard_shrink,
    hard_silu,
    hard_tanh,
    log_sigmoid,
    soft_shrink,
    sparse_plus,
    sparse_sigmoid,
    sparsemax,
    squareplus,
    tanh_shrink,
    threshold,
)

hard_swish = hard_silu


def linear(x: Any) -> Any:
    """Identity: ``linear(x) == x``."""
    return x


def relu(x: Any, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0) -> Any:
    """Rectified linear unit, with Keras's optional slope, cap and threshold."""
    x = jnp.asarray(x)
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return jax.nn.relu(x)
    out = jnp.where(x > threshold, x, negative_slope * (x - threshold))
    if max_value is not None:
        out = jnp.minimum(out, max_value)
    return out


def relu6(x: Any) -> Any:
    """``min(max(x, 0), 6)``."""
    return jax.nn.relu6(x)


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Any:
    """Leaky ReLU with Keras's default slope 0.2."""
    return jax.nn.leaky_relu(x, negative_slope)


def softmax(x: Any, axis: int = -1) -> Any:
    """Softmax over ``axis`` (the last one by default)."""
    return jax.nn.softmax(x, axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Any:
    """Log of the softmax over ``axis``."""
    return jax.nn.log_softmax(x, axis=axis)


def sigmoid(x: Any) -> Any:
    """Logistic sigmoid."""
    return jax.nn.sigmoid(x)


def hard_sigmoid(x: Any) -> Any:
    """Keras 3's piecewise-linear sigmoid, ``relu6(x + 3) / 6``."""
    return jax.nn.relu6(x + 3.0) / 6.0


def tanh(x: Any) -> Any:
    """Hyperbolic tangent."""
    return jnp.tanh(x)


def gelu(x: Any, approximate: bool = False) -> Any:
    """Gaussian error linear unit (exact by default, as in Keras 3)."""
    return jax.nn.gelu(x, approximate=approximate)


def elu(x: Any, alpha: float = 1.0) -> Any:
    """Exponential linear unit."""
    return jax.nn.elu(x, alpha)


def selu(x: Any) -> Any:
    """Scaled exponential linear unit."""
    return jax.nn.selu(x)


def softplus(x: Any) -> Any:
    """``log(1 + exp(x))``."""
    return jax.nn.softplus(x)


def softsign(x: Any) -> Any:
    """``x / (1 + |x|)``."""
    return jax.nn.soft_sign(x)


def swish(x: Any) -> Any:
    """``x * sigmoid(x)`` (also called silu)."""
    return jax.nn.silu(x)


silu = swish


def mish(x: Any) -> Any:
    """``x * tanh(softplus(x))``."""
    return x * jnp.tanh(jax.nn.softplus(x))


def exponential(x: Any) -> Any:
    """``exp(x)``."""
    return jnp.exp(x)


_ACTIVATIONS: dict[str, Callable[..., Any]] = {
    "linear": linear,
    "relu": relu,
    "relu6": relu6,
    "leaky_relu": leaky_relu,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid,
    "tanh": tanh,
    "gelu": gelu,
    "elu": elu,
    "selu": selu,
    "softplus": softplus,
    "softsign": softsign,
    "swish": swish,
    "silu": swish,
    "mish": mish,
    "exponential": exponential,
    "celu": celu,
    "glu": glu,
    "hard_shrink": hard_shrink,
    "hard_silu": hard_silu,
    "hard_swish": hard_silu,
    "hard_tanh": hard_tanh,
    "log_sigmoid": log_sigmoid,
    "soft_shrink": soft_shrink,
    "sparse_plus": sparse_plus,
    "sparse_sigmoid": sparse_sigmoid,
    "sparsemax": sparsemax,
    "squareplus": squareplus,
    "tanh_shrink": tanh_shrink,
    "threshold": threshold,
}
#: Keras's serialized name of each aliased activation (``swish`` -> ``silu``, ``hard_swish`` -> ``hard_silu``).
_CANONICAL = {"swish": "silu", "hard_swish": "hard_silu"}


def get(identifier: str | Callable[..., Any] | None) -> Callable[..., Any]:
    """Resolve ``None``, a name such as ``"relu"``, or a callable into an activation function."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        try:
            return _ACTIVATIONS[identifier.lower()]
        except KeyError:
            known = ", ".join(sorted(_ACTIVATIONS))
            raise ValueError(f"Unknown activation {identifier!r}. Known activations: {known}.") from None
    if isinstance(identifier, dict):
        return get(identifier.get("config", identifier.get("class_name")))
    if callable(identifier):
        return identifier
    raise TypeError(f"An activation must be a string, a callable or None, not {identifier!r}.")


def serialize(activation: Callable[..., Any]) -> str:
    """The Keras config value of an activation: its name (``"linear"`` for ``None``)."""
    for name, fn in _ACTIVATIONS.items():
        if fn is activation:
            return _CANONICAL.get(name, name)  # Keras 3 writes an alias by its function's name
    name = getattr(activation, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize activation {activation!r}: give it a name.")
    return name


def deserialize(config: str | dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Callable[..., Any]:
    """The activation a Keras config names: ``"relu"`` or ``{"class_name": "function", "config": "relu", ...}``.

    >>> deserialize("hard_swish") is hard_silu
    True
    """
    if custom_objects:
        name = config.get("config") if isinstance(config, dict) else config
        if isinstance(name, str) and name in custom_objects:
            return custom_objects[name]
    if isinstance(config, str):
        if config not in _ACTIVATIONS:
            raise ValueError(f"Could not interpret activation function identifier: {config!r}. "
                             f"Known activations: {', '.join(sorted(_ACTIVATIONS))}.")
        return _ACTIVATIONS[config]
    if isinstance(config, dict):
        return deserialize(config.get("config", config.get("class_name")), custom_objects)
    raise TypeError(f"activations.deserialize expects a name or a config dict, not {config!r}.")
