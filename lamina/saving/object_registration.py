"""Keras 3's registry of custom objects: ``register_keras_serializable``, ``get_registered_name``,
``get_registered_object``, ``get_custom_objects`` and ``custom_object_scope``.

A registered class is written to files as ``"registered_name": "package>Name"`` and found again by that name
when a file is read, so no ``custom_objects`` argument is needed (lamina never imports a module named in a
file: the registry, a scope or ``custom_objects`` must supply the class).

>>> @register_keras_serializable(package="Demo")
... class Scale:
...     def __init__(self, factor=2.0):
...         self.factor = factor
...     def get_config(self):
...         return {"factor": self.factor}
>>> get_registered_name(Scale), get_registered_object("Demo>Scale") is Scale
('Demo>Scale', True)
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["register_keras_serializable", "get_registered_name", "get_registered_object", "get_custom_objects",
           "custom_object_scope", "CustomObjectScope"]

GLOBAL_CUSTOM_OBJECTS: dict[str, Any] = {}
GLOBAL_CUSTOM_NAMES: dict[Any, str] = {}
_scope = threading.local()


def _scope_dict() -> dict[str, Any]:
    return getattr(_scope, "objects", {})


class CustomObjectScope:
    """``with custom_object_scope({"MyLayer": MyLayer}): load_model(path)``: names visible to deserialization.

    >>> with CustomObjectScope({"Thing": int}):
    ...     get_registered_object("Thing")
    <class 'int'>
    >>> get_registered_object("Thing") is None
    True
    """

    def __init__(self, custom_objects: dict[str, Any] | None = None) -> None:
        self.custom_objects = dict(custom_objects or {})
        self.backup: dict[str, Any] | None = None

    def __enter__(self) -> CustomObjectScope:
        self.backup = dict(_scope_dict())
        _scope.objects = {**self.backup, **self.custom_objects}
        return self

    def __exit__(self, *args: Any) -> None:
        _scope.objects = dict(self.backup or {})


custom_object_scope = CustomObjectScope


def get_custom_objects() -> dict[str, Any]:
    """The global registry ``{"package>Name": object}`` (a live dict: adding to it registers)."""
    return GLOBAL_CUSTOM_OBJECTS


def register_keras_serializable(package: str = "Custom", name: str | None = None) -> Callable[[Any], Any]:
    """Decorator registering a class (with ``get_config``) or a function under ``"package>name"``."""

    def decorator(arg: Any) -> Any:
        class_name = name if name is not None else arg.__name__
        registered_name = f"{package}>{class_name}"
        if inspect.isclass(arg) and not hasattr(arg, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        GLOBAL_CUSTOM_OBJECTS[registered_name] = arg
        GLOBAL_CUSTOM_NAMES[arg] = registered_name
        return arg

    return decorator


def get_registered_name(obj: Any) -> str:
    """``"package>Name"`` for a registered object, else its ``__name__`` (as Keras)."""
    try:
        if obj in GLOBAL_CUSTOM_NAMES:
            return GLOBAL_CUSTOM_NAMES[obj]
    except TypeError:  # unhashable
        pass
    return obj.__name__


def get_registered_object(name: str, custom_objects: dict[str, Any] | None = None,
                          module_objects: dict[str, Any] | None = None) -> Any:
    """The object for ``name``: from an open scope, the registry, ``custom_objects``, then ``module_objects``."""
    scoped = _scope_dict()
    if name in scoped:
        return scoped[name]
    if name in GLOBAL_CUSTOM_OBJECTS:
        return GLOBAL_CUSTOM_OBJECTS[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None
