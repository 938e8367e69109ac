"""Keras 3's top-level scopes: ``name_scope`` (variable paths), ``device`` (where arrays go) and ``remat``.

>>> from lamina.scopes import name_scope, current_path
>>> with name_scope("encoder"):
...     with name_scope("block"):
...         current_path()
'encoder/block'
>>> current_path()
''
"""

from __future__ import annotations

import threading
from typing import Any

_STATE = threading.local()


def _stack() -> list[name_scope]:
    if not hasattr(_STATE, "names"):
        _STATE.names = []
    return _STATE.names


class name_scope:  # noqa: N801 - Keras's name
    """A sub-namespace for variable paths, as ``keras.name_scope``.

    Args:
        name: the scope's name (no ``/``).
        caller: an optional object; re-entering the same ``name`` from the same caller does not nest.
        deduplicate: apply the rule above.
        override_parent: an absolute path that replaces the enclosing scopes.
    """

    def __init__(self, name: str, caller: Any = None, deduplicate: bool = True,
                 override_parent: str | None = None) -> None:
        if not isinstance(name, str) or "/" in name:
            raise ValueError(f"Argument `name` must be a string and cannot contain character `/`. Received: "
                             f"name={name}")
        self.name = name
        self.caller = caller
        self.deduplicate = deduplicate
        self.override_parent = override_parent
        if override_parent is None and deduplicate and getattr(caller, "_parent_path", None) is not None:
            self.override_parent = caller._parent_path
        self._pop_on_exit = False

    def __enter__(self) -> name_scope:
        stack = _stack()
        if self.deduplicate and stack and self.caller is not None:
            if stack[-1].caller is self.caller and stack[-1].name == self.name:
                return self
        stack.append(self)
        self._pop_on_exit = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._pop_on_exit and _stack():
            _stack().pop()
            self._pop_on_exit = False


def current_path() -> str:
    """The ``/``-joined names of the open ``name_scope``s (``""`` outside any)."""
    parts: list[str] = []
    for entry in _stack():
        if entry.override_parent is not None:
            parts = [p for p in entry.override_parent.split("/") if p]
        parts.append(entry.name)
    return "/".join(parts)


def device(device_name: Any) -> Any:
    """A context in which new arrays live on ``device_name`` (``"cpu"``, ``"gpu:1"`` or a ``jax.Device``).

    >>> import jax.numpy as jnp
    >>> with device("cpu:0"):
    ...     jnp.ones(2).devices() == {__import__("jax").devices("cpu")[0]}
    True
    """
    import jax

    if isinstance(device_name, str):
        kind, _, index = device_name.lower().partition(":")
        try:
            target = jax.devices(kind)[int(index or 0)]
        except (RuntimeError, IndexError, ValueError) as err:
            raise ValueError(f"Unknown device {device_name!r}: available are "
                             f"{[str(d) for d in jax.devices()]} and the CPU ('cpu:0').") from err
    elif isinstance(device_name, jax.Device):
        target = device_name
    else:
        raise ValueError("Invalid value for argument `device_name`. Expected a string like 'gpu:0' or a `jax.Device` "
                         f"instance. Received: device_name='{device_name}'")
    return jax.default_device(target)


def remat(f: Any) -> Any:
    """``f`` recomputed in the backward pass instead of storing its activations (``jax.checkpoint``).

    >>> import jax, jax.numpy as jnp
    >>> float(jax.grad(remat(lambda x: jnp.sin(x) ** 2))(1.0)) == float(jax.grad(lambda x: jnp.sin(x) ** 2)(1.0))
    True
    """
    import jax

    return jax.checkpoint(f)
