"""``serialize_keras_object`` / ``deserialize_keras_object`` in Keras 3's format.

An object becomes ``{"module", "class_name", "config", "registered_name"}``: lamina's built-in classes under
Keras's public module (``keras.layers``, ``keras.losses``...), registered custom classes under their module with
``registered_name`` ``"package>Name"``, functions as ``{"class_name": "function", "config": name}``. Reading
looks a class up in ``custom_objects``, an open ``custom_object_scope`` and the registry, then among lamina's
built-ins; it never imports a module named in the config and never runs stored bytecode.

>>> from lamina import constraints
>>> config = serialize_keras_object(constraints.MaxNorm(3))
>>> config
{'module': 'keras.constraints', 'class_name': 'MaxNorm', 'config': {'max_value': 3, 'axis': 0}, 'registered_name': None}
>>> deserialize_keras_object(config).max_value
3
"""

from __future__ import annotations

import importlib
import inspect
import types
from typing import Any

import numpy as np

from lamina.saving.object_registration import (
    GLOBAL_CUSTOM_NAMES,
    GLOBAL_CUSTOM_OBJECTS,
    custom_object_scope,
    get_registered_name,
    get_registered_object,
)

__all__ = ["serialize_keras_object", "deserialize_keras_object"]

PLAIN_TYPES = (str, int, float, bool)

# lamina module -> the Keras public module its built-in classes are written under.
_PUBLIC = (("lamina.layers", "keras.layers"), ("lamina.losses", "keras.losses"), ("lamina.metrics", "keras.metrics"),
           ("lamina.constraints", "keras.constraints"), ("lamina.regularizers", "keras.regularizers"),
           ("lamina.initializers", "keras.initializers"), ("lamina.optimizers", "keras.optimizers"),
           ("lamina.dtype_policies", "keras"), ("lamina.activations", "keras.activations"),
           ("lamina.quantizers", "keras.quantizers"))
# Keras public module -> the lamina namespace holding the classes of that name.
_NAMESPACES = {"keras.layers": "lamina.layers", "keras.losses": "lamina.losses", "keras.metrics": "lamina.metrics",
               "keras.constraints": "lamina.constraints", "keras.regularizers": "lamina.regularizers",
               "keras.initializers": "lamina.initializers", "keras.optimizers": "lamina.optimizers",
               "keras.dtype_policies": "lamina.dtype_policies", "keras.activations": "lamina.activations",
               "keras.models": "lamina.models", "keras.quantizers": "lamina.quantizers"}
_FUNCTION_MODULES = ("lamina.activations", "lamina.losses", "lamina.metrics")


def _builtin_module(obj: Any) -> str | None:
    """Keras's public module for a lamina built-in class or function (None for anything else)."""
    module = getattr(obj, "__module__", "") or ""
    name = getattr(obj, "__name__", None)
    for prefix, public in _PUBLIC:
        if module == prefix or module.startswith(prefix + "."):
            namespace = importlib.import_module(prefix)
            if name is not None and getattr(namespace, name, None) is obj:
                return getattr(obj, "_keras_module", public) if inspect.isclass(obj) else public
    return None


def _is_layer(obj: Any) -> bool:
    from lamina.layers.base import Layer  # inside: lamina.layers imports this package's modules lazily

    return isinstance(obj, Layer)


def serialize_keras_object(obj: Any) -> Any:
    """The Keras 3 config of ``obj`` (plain values, lists and dicts pass through, serialized item by item)."""
    if obj is None or isinstance(obj, PLAIN_TYPES):
        return obj
    if isinstance(obj, (list, tuple)):
        items = [serialize_keras_object(x) for x in obj]
        return tuple(items) if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, np.ndarray) and obj.ndim > 0:
        return {"class_name": "__numpy__", "config": {"value": obj.tolist(), "dtype": str(obj.dtype)}}
    if isinstance(obj, np.generic):
        return obj.item()
    if hasattr(obj, "__jax_array__") or type(obj).__module__.startswith("jax"):
        arr = np.asarray(obj)
        return {"class_name": "__tensor__", "config": {"value": arr.tolist(), "dtype": str(arr.dtype)}}
    if _is_layer(obj):
        from lamina.layers import serialize  # inside: layers builds on the registry

        return serialize(obj)
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
        if obj.__name__ == "<lambda>":
            raise ValueError("lamina cannot serialize a lambda (Keras stores its bytecode, which lamina never "
                             "writes or runs); use a named function registered with register_keras_serializable.")
        name = get_registered_name(obj)
        return {"module": "builtins", "class_name": "function", "config": name, "registered_name": "function"}
    if inspect.isclass(obj):
        raise TypeError(f"Cannot serialize the class {obj.__name__}: serialize an instance.")
    cls = type(obj)
    config = obj.get_config() if hasattr(obj, "get_config") else None
    config = serialize_keras_object(config) if isinstance(config, dict) else config
    public = _builtin_module(cls)
    if public is not None and cls not in GLOBAL_CUSTOM_NAMES:
        return {"module": public, "class_name": cls.__name__, "config": config, "registered_name": None}
    module = cls.__module__
    out = {"module": None if module == "__main__" else module, "class_name": cls.__name__, "config": config,
           "registered_name": get_registered_name(cls)}
    build = obj.get_build_config() if hasattr(obj, "get_build_config") else None
    if build is not None:
        out["build_config"] = build
    return out


def _find(name: str, custom_objects: dict[str, Any] | None) -> Any:
    return get_registered_object(name, custom_objects)


def _builtin_function(name: str) -> Any:
    for module_name in _FUNCTION_MODULES:
        fn = getattr(importlib.import_module(module_name), name, None)
        if callable(fn) and not inspect.isclass(fn):
            return fn
    return None


def _builtin_class(module: str | None, class_name: str) -> Any:
    if module == "keras" or module is None or module.startswith("keras.src"):
        candidates = ["lamina.layers", "lamina.dtype_policies", "lamina.models"]
    else:
        top = ".".join(module.split(".")[:2])
        candidates = [_NAMESPACES[top]] if top in _NAMESPACES else []
    for name in candidates:
        namespace = importlib.import_module(name)
        if name == "lamina.layers":
            cls = namespace._registry().get(class_name)
        else:
            cls = getattr(namespace, class_name, None) or getattr(namespace, "_CLASSES", {}).get(class_name)
        if inspect.isclass(cls):
            return cls
    return None


def retrieve_class(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Any:
    """The class a serialized dict names: custom objects and the registry first (by ``registered_name``, then
    ``class_name``), then lamina's built-ins for Keras modules; None when nothing matches."""
    class_name = config.get("class_name")
    registered = config.get("registered_name")
    for key in (registered, class_name):
        if isinstance(key, str):
            found = _find(key, custom_objects)
            if found is not None:
                return found
    module = config.get("module")
    if isinstance(module, str) and isinstance(class_name, str) and module.startswith(_APPLICATION_MODULES):
        return _application_layer(module, class_name)
    if isinstance(module, str) and not (module == "keras" or module.startswith("keras.")):
        return None
    return _builtin_class(module, class_name) if isinstance(class_name, str) else None


#: the layers that Keras's (and lamina's) application modules define (ConvNeXt's LayerScale, StochasticDepth)
_APPLICATION_MODULES = ("keras.src.applications.", "lamina.applications.")


def _application_layer(module: str, class_name: str) -> Any:
    """A layer class of ``lamina.applications.<family>`` (only lamina's own modules are imported)."""
    from lamina.applications import __all__ as families
    from lamina.layers.base import Layer

    family = module.rsplit(".", 1)[-1]
    if family not in families:
        return None
    cls = getattr(importlib.import_module(f"lamina.applications.{family}"), class_name, None)
    return cls if inspect.isclass(cls) and issubclass(cls, Layer) else None


def deserialize_keras_object(config: Any, custom_objects: dict[str, Any] | None = None, safe_mode: bool = True,
                             **kwargs: Any) -> Any:
    """Rebuild an object from :func:`serialize_keras_object` output (or a Keras 3 config)."""
    module_objects = kwargs.get("module_objects")
    if config is None or isinstance(config, (int, float, bool)):
        return config
    if isinstance(config, str):
        found = get_registered_object(config, custom_objects, module_objects)
        return found if found is not None else config
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(c, custom_objects, safe_mode, **kwargs) for c in config]
    if not isinstance(config, dict):
        raise TypeError(f"Could not parse config: {config!r}")
    if "class_name" not in config or "config" not in config:
        return {k: deserialize_keras_object(v, custom_objects, safe_mode, **kwargs) for k, v in config.items()}
    class_name, inner = config["class_name"], config["config"]
    if class_name == "__tensor__" or class_name == "__numpy__":
        arr = np.asarray(inner["value"], dtype=inner["dtype"])
        if class_name == "__tensor__":
            import jax.numpy as jnp

            return jnp.asarray(arr)
        return arr
    if class_name == "__bytes__":
        return inner["value"].encode("utf-8")
    if class_name == "__ellipsis__":
        return Ellipsis
    if class_name == "__slice__":
        return slice(*(deserialize_keras_object(inner.get(k), custom_objects) for k in ("start", "stop", "step")))
    if class_name == "__lambda__":
        raise ValueError("Refusing to deserialize a lambda: lamina never runs the bytecode stored in a config. Pass "
                         "the function in custom_objects or register it with register_keras_serializable.")
    if class_name == "function":
        fn = get_registered_object(inner, custom_objects, module_objects) or _builtin_function(inner)
        if fn is None and ">" not in inner:  # Keras <= 3.6 wrote registered functions by bare name
            merged = {**GLOBAL_CUSTOM_OBJECTS, **(custom_objects or {})}
            fn = next((v for k, v in merged.items() if k.endswith(f">{inner}")), None)
        if fn is None:
            raise ValueError(f"Unknown function {inner!r}. Register it with register_keras_serializable() or pass "
                             f"custom_objects={{'{inner}': fn}}.")
        return fn
    cls = None
    if module_objects and class_name in module_objects:
        cls = module_objects[class_name]
    if cls is None:
        cls = retrieve_class(config, custom_objects)
    if cls is None:
        registered = config.get("registered_name")
        raise TypeError(
            f"Could not locate class {class_name!r} (registered name {registered!r}, module "
            f"{config.get('module')!r}). lamina never imports code named in a config: decorate the class with "
            f"@lamina.saving.register_keras_serializable() or pass custom_objects={{'{class_name}': {class_name}}}.")
    from lamina.layers.base import Layer

    with custom_object_scope(custom_objects):
        if inspect.isclass(cls) and issubclass(cls, Layer):
            from lamina.layers import deserialize  # inside: layers builds on the registry

            return deserialize(config, {**(custom_objects or {}), class_name: cls})
        if not hasattr(cls, "from_config"):
            raise TypeError(f"Unable to reconstruct {class_name!r}: its class has no from_config().")
        obj = cls.from_config(inner if inner is not None else {})
        build = config.get("build_config")
        if build and hasattr(obj, "build_from_config"):
            obj.build_from_config(build)
    return obj
