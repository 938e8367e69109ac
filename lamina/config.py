"""``keras.config``: the global settings (float type, epsilon, image layout, safe mode, logging, fit caps).

The numeric settings live in :mod:`lamina.backend` (this module reads and writes them there); the backend is
always JAX.

>>> from lamina import config
>>> config.backend(), config.floatx(), config.epsilon(), config.image_data_format()
('jax', 'float32', 1e-07, 'channels_last')
"""

from __future__ import annotations

from typing import Any

from lamina.backend import (
    backend,
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)

__all__ = [
    "backend", "set_backend", "floatx", "set_floatx", "epsilon", "set_epsilon", "image_data_format",
    "set_image_data_format", "enable_unsafe_deserialization", "in_safe_mode", "enable_interactive_logging",
    "disable_interactive_logging", "is_interactive_logging_enabled", "enable_traceback_filtering",
    "disable_traceback_filtering", "is_traceback_filtering_enabled", "enable_flash_attention",
    "disable_flash_attention", "is_flash_attention_enabled", "is_nnx_enabled", "dtype_policy", "set_dtype_policy",
    "max_epochs", "set_max_epochs", "max_steps_per_epoch", "set_max_steps_per_epoch",
]

_STATE: dict[str, Any] = {
    "safe_mode": None,  # None: each load call decides (its safe_mode argument); False: unsafe everywhere
    "interactive_logging": True,
    "traceback_filtering": True,
    "flash_attention": None,  # None: let the attention op choose
    "max_epochs": None,
    "max_steps_per_epoch": None,
}


def set_backend(backend: str) -> None:
    """Keras switches between JAX, TensorFlow and PyTorch here; lamina computes on JAX only."""
    if backend != "jax":
        raise ValueError(f"lamina computes on JAX only; set_backend({backend!r}) is not possible. Use Keras itself "
                         "for the 'tensorflow', 'torch' or 'numpy' backends.")


def enable_unsafe_deserialization() -> None:
    """Allow loading files with ``Lambda`` code everywhere, as if every load passed ``safe_mode=False``."""
    _STATE["safe_mode"] = False


def in_safe_mode() -> bool | None:
    """``False`` after ``enable_unsafe_deserialization()``, else ``None`` (each call's ``safe_mode`` decides)."""
    return _STATE["safe_mode"]


def enable_interactive_logging() -> None:
    """Progress bars and messages go to ``sys.stdout`` (the default)."""
    _STATE["interactive_logging"] = True


def disable_interactive_logging() -> None:
    """Progress bars and messages go to Python's ``logging`` instead of ``sys.stdout``."""
    _STATE["interactive_logging"] = False


def is_interactive_logging_enabled() -> bool:
    """Whether messages are written to ``sys.stdout``.

    >>> disable_interactive_logging(); is_interactive_logging_enabled()
    False
    >>> enable_interactive_logging(); is_interactive_logging_enabled()
    True
    """
    return bool(_STATE["interactive_logging"])


def print_msg(message: str, line_break: bool = True) -> None:
    """Write ``message`` to ``sys.stdout``, or to the ``lamina`` logger when interactive logging is off."""
    import sys

    if is_interactive_logging_enabled():
        sys.stdout.write(message + ("\n" if line_break else ""))
        sys.stdout.flush()
    else:
        import logging

        logging.getLogger("lamina").info(message)


def enable_traceback_filtering() -> None:
    """Keras hides its own frames in tracebacks; lamina's frames are kept, so this only records the choice."""
    _STATE["traceback_filtering"] = True


def disable_traceback_filtering() -> None:
    """Record that tracebacks should be shown in full (lamina never shortens them)."""
    _STATE["traceback_filtering"] = False


def is_traceback_filtering_enabled() -> bool:
    """The last choice made with ``enable_traceback_filtering``/``disable_traceback_filtering``."""
    return bool(_STATE["traceback_filtering"])


def enable_flash_attention() -> None:
    """Ask attention layers for a fused (flash) attention kernel where the hardware has one."""
    _STATE["flash_attention"] = True


def disable_flash_attention() -> None:
    """Forbid the fused attention kernel."""
    _STATE["flash_attention"] = False


def is_flash_attention_enabled() -> bool | None:
    """``True``/``False`` after enabling/disabling, ``None`` (automatic) by default, as Keras."""
    return _STATE["flash_attention"]


def is_nnx_enabled() -> bool:
    """Keras can run its JAX backend on Flax NNX; lamina does not."""
    return False


def dtype_policy() -> Any:
    """The global dtype policy (``lamina.dtype_policies``)."""
    from lamina import dtype_policies  # the policies import layers' dtype code: load them on first use only

    return dtype_policies.dtype_policy()


def set_dtype_policy(policy: Any) -> None:
    """Set the global dtype policy: a name (``"mixed_bfloat16"``) or a ``DTypePolicy``."""
    from lamina import dtype_policies  # see dtype_policy

    dtype_policies.set_dtype_policy(policy)


def _positive_or_none(name: str, value: int | None) -> int | None:
    if value is not None and (not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be a positive integer or None, received {value!r}.")
    return value


def max_epochs() -> int | None:
    """The cap on the number of epochs of any ``fit`` (``None``: no cap)."""
    return _STATE["max_epochs"]


def set_max_epochs(max_epochs: int | None) -> None:
    """Cap the number of epochs of every ``fit`` call (for quick test runs of long scripts)."""
    _STATE["max_epochs"] = _positive_or_none("max_epochs", max_epochs)


def max_steps_per_epoch() -> int | None:
    """The cap on the steps of any epoch (``None``: no cap)."""
    return _STATE["max_steps_per_epoch"]


def set_max_steps_per_epoch(max_steps_per_epoch: int | None) -> None:
    """Cap the number of steps of every epoch of ``fit``/``evaluate``."""
    _STATE["max_steps_per_epoch"] = _positive_or_none("max_steps_per_epoch", max_steps_per_epoch)
