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
from typing import Any, NamedTuple

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


class RematMode(NamedTuple):
    mode: str | None
    output_size_threshold: int
    layer_names: list[str]


_REMAT_MODES = ("full", "activations", "larger_than", "list_of_layers", None)


class RematScope:
    """Layers created inside recompute their activations in the backward pass instead of storing them.

    ``mode``: ``"full"`` (every layer), ``"activations"`` (only the ``activation`` of layers that have one),
    ``"larger_than"`` (layers whose output has more than ``output_size_threshold`` elements),
    ``"list_of_layers"`` (the layers named in ``layer_names``) or None (off, e.g. inside an outer scope).

    >>> with RematScope(mode="list_of_layers", layer_names=["big"]):
    ...     get_current_remat_mode().layer_names
    ['big']
    >>> get_current_remat_mode() is None
    True
    """

    def __init__(self, mode: str | None = "full", output_size_threshold: int = 1024,
                 layer_names: list[str] | None = None) -> None:
        if mode not in _REMAT_MODES:
            raise ValueError(f"Invalid mode '{mode}'. Supported modes are: 'full', 'activations', 'larger_than', "
                             "'list_of_layers', or  None.")
        self.mode = mode
        self.output_size_threshold = output_size_threshold
        self.layer_names = layer_names or []
        self._pop_on_exit = False

    def __enter__(self) -> RematScope:
        if not hasattr(_STATE, "remat"):
            _STATE.remat = []
        _STATE.remat.append(self)
        self._pop_on_exit = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._pop_on_exit:
            _STATE.remat.pop()
            self._pop_on_exit = False


def get_current_remat_mode() -> RematMode | None:
    """The innermost ``RematScope``'s settings (None outside any, or when its mode is None)."""
    stack = getattr(_STATE, "remat", [])
    if not stack or stack[-1].mode is None:
        return None
    scope = stack[-1]
    return RematMode(scope.mode, scope.output_size_threshold, scope.layer_names)


def rematerialized_call(layer: Any, call: Any, inputs: Any) -> Any:
    """``layer``'s ``call`` wrapped as its remat mode (set when the layer was created) asks."""
    import math

    import jax

    mode = layer.__dict__.get("_remat_mode")
    if mode is None or any(not w.trainable for w in layer.weights):
        return call  # state updates (moving statistics) cannot leave a recomputed function
    if mode.mode == "full" or (mode.mode == "list_of_layers" and layer.name in mode.layer_names):
        return remat(call)
    if mode.mode == "larger_than":
        specs = jax.eval_shape(lambda x: call(x), inputs)
        size = sum(math.prod(s.shape) for s in jax.tree_util.tree_leaves(specs))
        return remat(call) if size and size > mode.output_size_threshold else call
    if mode.mode == "activations" and getattr(layer, "activation", None) is not None:
        def with_remat_activation(*args: Any, **kwargs: Any) -> Any:
            original = layer.activation
            object.__setattr__(layer, "activation", remat(original))
            try:
                return call(*args, **kwargs)
            finally:
                object.__setattr__(layer, "activation", original)

        return with_remat_activation
    return call
