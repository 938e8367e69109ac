"""``Lambda``: a layer made of a Python function, serialized as Keras 3 does (a lambda as marshalled bytecode).

A file holding a Lambda's bytecode loads only with ``safe_mode=False`` (running it could execute any code), and the
function is then rebuilt from its serialized form; a named function is looked up in ``custom_objects``.

>>> import numpy as np
>>> from lamina import layers
>>> layer = layers.Lambda(lambda t: t * 2)
>>> layer(layers.Input((3,))).shape, layer(np.ones((1, 2), "float32")).tolist()
((None, 3), [[2.0, 2.0]])
"""

from __future__ import annotations

import builtins
import codecs
import inspect
import marshal
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from lamina.graph import KerasTensor, map_structure
from lamina.layers.base import Layer, _map_shapes, is_shape
from lamina.ops.operation import abstract_eval
from lamina.saving import safety


class Lambda(Layer):
    """Wraps ``function(inputs, **arguments)`` as a layer; ``output_shape`` (without the batch axis, or a function of
    the input shape) is inferred when not given; ``mask`` is a mask function or a fixed mask."""

    _writes_build_config = True

    def __init__(self, function: Callable[..., Any], output_shape: Any = None, mask: Any = None,
                 arguments: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda '{self.name}': `function` must be callable, received {function!r}.")
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self.supports_masking = mask is not None
        self._output_shape = tuple(output_shape) if isinstance(output_shape, list) else output_shape
        params = _arg_names(function)
        self._fn_expects_training_arg = "training" in params
        self._fn_expects_mask_arg = "mask" in params
        self._input_dtypes: Any = None  # the symbolic output's dtype is the layer's, as in Keras

    def call(self, inputs: Any, mask: Any = None, training: Any = None) -> Any:
        kwargs = dict(self.arguments)
        if self._fn_expects_mask_arg:
            kwargs["mask"] = mask
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return self.mask(inputs, mask) if callable(self.mask) else self.mask

    def _symbolic_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self._input_dtypes = map_structure(lambda t: t.dtype if isinstance(t, KerasTensor) else "float32", args[0])
        return super()._symbolic_call(args, kwargs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self._output_shape is None:
            dtypes = self._input_dtypes
            if is_shape(input_shape):
                tensors: Any = KerasTensor(input_shape, dtypes if isinstance(dtypes, str) else "float32")
            else:
                flat = iter(d for d in _leaves(dtypes)) if dtypes is not None else iter(())
                tensors = _map_shapes(lambda s: KerasTensor(s, next(flat, "float32")), input_shape)
            try:
                out = abstract_eval(lambda x: self.call(x), (tensors,), {})
            except Exception as e:  # noqa: BLE001 - Keras's advice, with the cause
                raise NotImplementedError(f"We could not automatically infer the shape of the Lambda's output "
                                          f"('{self.name}': {e}). Please specify the `output_shape` argument for "
                                          "this Lambda layer.") from e
            return map_structure(lambda t: t.shape, out)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        batch = input_shape[0] if is_shape(input_shape) else _leaves(input_shape)[0]
        return _map_shapes(lambda s: (batch,) + tuple(s), self._output_shape)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"function": _serialize_function(self.function)}
        if self._output_shape is not None:
            config["output_shape"] = (_serialize_function(self._output_shape) if callable(self._output_shape)
                                      else _listify(self._output_shape))
        if self.mask is not None:
            config["mask"] = _serialize_function(self.mask) if callable(self.mask) else _encode(self.mask)
        config["arguments"] = {k: _encode(v) for k, v in self.arguments.items()}
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None,
                    safe_mode: bool | None = None) -> Lambda:
        """Rebuild from ``get_config()``; bytecode runs only outside safe mode (``safe_mode=False``)."""
        config = dict(config)
        unsafe_ok = (not safety.in_safe_mode()) if safe_mode is None else not safe_mode
        config["function"] = _load_function(config["function"], custom_objects, unsafe_ok, config.get("name"))
        if callable(config.get("output_shape")) or isinstance(config.get("output_shape"), dict):
            config["output_shape"] = _load_function(config["output_shape"], custom_objects, unsafe_ok,
                                                    config.get("name"))
        if isinstance(config.get("mask"), dict) and config["mask"].get("class_name") in ("__lambda__", "function"):
            config["mask"] = _load_function(config["mask"], custom_objects, unsafe_ok, config.get("name"))
        config["arguments"] = {k: _decode(v) for k, v in (config.get("arguments") or {}).items()}
        return cls(**config)

    @classmethod
    def _from_serialized(cls, entry: dict[str, Any], custom_objects: dict[str, Any] | None) -> Lambda:
        """``lamina.layers.deserialize``'s hook: named functions come from ``custom_objects``."""
        return cls.from_config(entry.get("config", {}), custom_objects=custom_objects)

# --------------------------------------------------------------------------------------------- helpers
def _arg_names(fn: Callable[..., Any]) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


def _leaves(structure: Any) -> list[Any]:
    out: list[Any] = []
    map_structure(out.append, structure)
    return out


def _listify(value: Any) -> Any:
    return [_listify(v) for v in value] if isinstance(value, (list, tuple)) else value


def _encode(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return {"class_name": "__numpy__", "config": {"value": value.tolist(), "dtype": str(value.dtype)}}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        return np.asarray(value["config"]["value"], dtype=value["config"].get("dtype"))
    return value


def _serialize_function(fn: Callable[..., Any]) -> dict[str, Any]:
    """Keras's form: a lambda as base64 marshalled bytecode with defaults and closure; a named function by name."""
    if isinstance(fn, types.FunctionType) and fn.__name__ == "<lambda>":
        code = codecs.encode(marshal.dumps(fn.__code__), "base64").decode("ascii")
        closure = [_encode(c.cell_contents) for c in fn.__closure__] if fn.__closure__ else None
        defaults = [_encode(d) for d in fn.__defaults__] if fn.__defaults__ else None
        return {"class_name": "__lambda__", "config": {"code": code, "defaults": defaults, "closure": closure}}
    module = getattr(fn, "__module__", None)
    return {"module": "builtins" if module in (None, "__main__") else module, "class_name": "function",
            "config": getattr(fn, "__name__", repr(fn)), "registered_name": "function"}


def _load_function(spec: Any, custom_objects: dict[str, Any] | None, unsafe_ok: bool, layer: Any) -> Any:
    if callable(spec):
        return spec
    if isinstance(spec, dict) and spec.get("class_name") == "__lambda__":
        if not unsafe_ok:
            raise safety.UnsafeFileError(
                f"Requested the deserialization of a `Lambda` layer{f' ({layer!r})' if layer else ''} whose "
                "`function` is a Python lambda. This carries a potential risk of arbitrary code execution and thus "
                "it is disallowed by default. If you trust the source of the artifact, pass `safe_mode=False` to "
                "the loading function (lamina.saving.load_model(path, safe_mode=False)).")
        inner = spec["config"]
        try:
            code = marshal.loads(codecs.decode(str(inner["code"]).encode("ascii"), "base64"))
        except (ValueError, TypeError, EOFError, UnicodeError) as e:
            raise ValueError(f"Lambda{f' {layer!r}' if layer else ''}: its function is not Python bytecode this "
                             f"interpreter can load ({type(e).__name__}: {e}). A lambda saved by another Python "
                             "version must be recreated in code.") from None
        if not isinstance(code, types.CodeType):
            raise ValueError(f"Lambda{f' {layer!r}' if layer else ''}: its serialized function is not a code object.")
        closure = tuple(_cell(_decode(v)) for v in inner["closure"]) if inner.get("closure") else None
        defaults = tuple(_decode(v) for v in inner["defaults"]) if inner.get("defaults") else None
        return types.FunctionType(code, _function_globals(), code.co_name, defaults, closure)
    name = spec.get("config") if isinstance(spec, dict) else spec
    found = (custom_objects or {}).get(name) if isinstance(name, str) else None
    if found is None:
        from lamina import activations, ops

        found = getattr(ops, str(name), None) or getattr(activations, str(name), None)
    if found is None:
        raise ValueError(f"Lambda{f' {layer!r}' if layer else ''} calls the function {name!r}, which is not known "
                         f"here. Pass it when loading: custom_objects={{'{name}': {name}}}.")
    return found


def _cell(value: Any) -> Any:
    return (lambda: value).__closure__[0]  # type: ignore[index]


def _function_globals() -> dict[str, Any]:
    """What a loaded lambda's global names resolve to: the builtins and lamina's usual module names."""
    import jax.numpy as jnp

    import lamina
    from lamina import ops

    return {"__builtins__": builtins, "keras": lamina, "lamina": lamina, "ops": ops, "np": np, "jnp": jnp}
