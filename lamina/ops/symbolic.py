"""How every public ``lamina.ops`` function treats symbolic tensors and weights.

``dispatch(fn)`` wraps a public op. On arrays it unwraps layer weights (``self.kernel``) to their arrays and runs
``fn``. On :class:`~lamina.graph.KerasTensor` arguments it records the Keras ``Operation`` that ``keras.ops`` records
(``ops.concatenate`` -> ``Concatenate(axis=...)`` called on ``xs``; the split of arguments between the operation's
config and its call is the table in :mod:`lamina.ops.op_specs`, generated from Keras), with the output shape and
dtype found by abstract evaluation. Functions Keras answers in Python on symbolic tensors (``ops.shape``) run as is.

>>> from lamina import layers
>>> x = layers.Input((4,))
>>> y = (x * 2)[:, 1:]
>>> y.shape, type(y.history.layer).__name__
((None, 3), 'GetItem')
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from lamina.graph import KerasTensor
from lamina.ops.op_specs import SPECS
from lamina.ops.operation import Operation

#: Functions Keras implements by calling another op (so they record that op's node).
ALIASES = {"abs": "absolute", "conj": "conjugate"}

_variable_types: tuple[type, ...] = ()


def register_variable_class(cls: type) -> None:
    """Make ``dispatch`` unwrap instances of ``cls`` (lamina's ``Weight``) to their ``.value``."""
    global _variable_types
    _variable_types = (*_variable_types, cls)


def _special(items: Any) -> int:
    """0: plain values; 1: holds a weight; 2: holds a KerasTensor (anywhere in lists, tuples, dicts)."""
    found = 0
    for x in items:
        if isinstance(x, KerasTensor):
            return 2
        if isinstance(x, _variable_types):
            found = 1
        elif isinstance(x, (list, tuple)) and x:
            found = max(found, _special(x))
            if found == 2:
                return 2
        elif isinstance(x, dict) and x:
            found = max(found, _special(x.values()))
            if found == 2:
                return 2
    return found


def _unwrap(x: Any) -> Any:
    if isinstance(x, _variable_types):
        return x.value
    if isinstance(x, list):
        return [_unwrap(v) for v in x]
    if isinstance(x, tuple) and not hasattr(x, "_fields"):
        return tuple(_unwrap(v) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def dispatch(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Return ``fn`` made to accept symbolic tensors (recording a graph node) and weights (read as arrays)."""
    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kind = _special(args)
        if kind < 2 and kwargs:
            kind = max(kind, _special(kwargs.values()))
        if kind == 0:
            return fn(*args, **kwargs)
        if kind == 1:
            return fn(*_unwrap(args), **_unwrap(kwargs))
        spec_name = ALIASES.get(name, name)
        if spec_name not in SPECS:  # answered in Python on symbolic tensors (ops.shape, ops.dtype, ops.is_tensor)
            return fn(*args, **kwargs)
        return symbolic_call(spec_name, fn if spec_name == name else None, args, kwargs)

    wrapper.__lamina_dispatch__ = True  # type: ignore[attr-defined]
    return wrapper


# ------------------------------------------------------------------------------------ Keras's op classes
class FunctionOperation(Operation):
    """A ``keras.ops`` operation (``Add``, ``Concatenate``...): its config holds the function's constructor
    arguments; calling it runs the lamina function. One subclass per Keras class, made by :func:`op_class`."""

    _fn_name = ""

    def __init__(self, name: str | None = None, **config: Any) -> None:
        super().__init__(name)
        spec = SPECS[self._fn_name]
        unknown = [k for k in config if k not in spec[2] and k not in spec[5]]
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected argument(s) {unknown}; it takes "
                            f"{sorted(set(spec[2]) | set(spec[5]))}.")
        self.arguments = {**spec[5], **config}

    def call(self, *args: Any, **kwargs: Any) -> Any:
        fn = resolve(self._fn_name)
        if self._fn_name == "get_item" and len(args) > 1 and isinstance(args[1], list):
            args = (args[0], tuple(args[1]), *args[2:])  # a key read back from JSON (Keras does the same)
        _, _, init, call_args, call_kwargs, _ = SPECS[self._fn_name]
        values = {fn_arg: self.arguments[cls_arg] for cls_arg, fn_arg in init.items() if cls_arg in self.arguments}
        varargs: list[Any] = []
        for i, arg in enumerate(call_args):
            if arg.startswith("*"):
                varargs = list(args[i:])
                break
            if i < len(args):
                values[arg] = args[i]
        extra = {k: v for k, v in kwargs.items()}
        for key, fn_arg in call_kwargs.items():
            if key != "**" and key in extra:
                values[fn_arg] = extra.pop(key)
        return _call_by_name(fn, values, varargs, extra)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, **{k: _plain(v) for k, v in self.arguments.items()}}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


_classes: dict[str, type[FunctionOperation]] = {}


def op_class(fn_name: str) -> type[FunctionOperation]:
    """The operation class Keras uses for ``keras.ops.<fn_name>`` (e.g. ``"add"`` -> ``Add``)."""
    if fn_name not in _classes:
        module, class_name = SPECS[fn_name][:2]
        family = module.rsplit(".", 1)[-1]
        _classes[fn_name] = type(class_name, (FunctionOperation,), {
            "_fn_name": fn_name, "__module__": f"lamina.ops.{family}",
            "__doc__": f"The operation ``ops.{fn_name}`` records on symbolic tensors (Keras's ``{class_name}``)."})
    return _classes[fn_name]


def class_for(module: str, class_name: str) -> type[FunctionOperation] | None:
    """The operation class for a Keras config entry (``module`` like ``"keras.src.ops.numpy"``), or None."""
    for fn_name, spec in SPECS.items():
        if spec[1] == class_name and (spec[0] == module or module in ("keras.ops", "keras")):
            return op_class(fn_name)
    return None


def keras_module(op: Operation) -> str:
    """The ``module`` Keras writes for ``op`` in a config."""
    if isinstance(op, FunctionOperation):
        return SPECS[op._fn_name][0]
    return type(op).__module__


def symbolic_call(fn_name: str, fn: Callable[..., Any] | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Record the Keras operation of ``ops.<fn_name>(*args, **kwargs)`` on symbolic tensors."""
    fn = fn or resolve(fn_name)
    _, _, init, call_args, call_kwargs, _ = SPECS[fn_name]
    target = inspect.unwrap(fn)
    try:
        bound = inspect.signature(target).bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"ops.{fn_name}: {e}") from None
    bound.apply_defaults()
    values = dict(bound.arguments)
    var_kw = next((p.name for p in inspect.signature(target).parameters.values() if p.kind == p.VAR_KEYWORD), None)
    config = {cls_arg: values[fn_arg] for cls_arg, fn_arg in init.items() if fn_arg in values}
    node_args: list[Any] = []
    for arg in call_args:
        if arg.startswith("*"):
            node_args.extend(values.get(arg[1:], ()))
        else:
            node_args.append(values.get(arg))
    node_kwargs: dict[str, Any] = {}
    for key, fn_arg in call_kwargs.items():
        if key == "**":
            node_kwargs.update(values.get(var_kw or fn_arg, {}))
        elif fn_arg in values:
            node_kwargs[key] = values[fn_arg]
    return op_class(fn_name)(**config)(*node_args, **node_kwargs)


def resolve(fn_name: str) -> Callable[..., Any]:
    """The lamina function behind ``ops.<fn_name>``."""
    module = SPECS[fn_name][0].rsplit(".", 1)[-1]
    ops = importlib.import_module("lamina.ops")
    fn = getattr(importlib.import_module(f"lamina.ops.{module}"), fn_name, None) or getattr(ops, fn_name, None)
    if fn is None:
        raise NotImplementedError(f"lamina.ops has no '{fn_name}', so a '{SPECS[fn_name][1]}' node cannot run.")
    return fn


def _call_by_name(fn: Callable[..., Any], values: dict[str, Any], varargs: list[Any], extra: dict[str, Any]) -> Any:
    params = inspect.signature(inspect.unwrap(fn)).parameters.values()
    positional: list[Any] = []
    keywords = dict(extra)
    gap = False
    for p in params:
        if p.kind == p.VAR_POSITIONAL:
            positional.extend(varargs)
            gap = True
        elif p.name in values:
            if p.kind == p.KEYWORD_ONLY or gap:
                keywords[p.name] = values[p.name]
            else:
                positional.append(values[p.name])
        elif p.kind != p.VAR_KEYWORD:
            gap = True
    return fn(*positional, **keywords)


def _plain(value: Any) -> Any:
    """A config value as JSON would hold it (dtypes by name, tuples as lists)."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, type) or isinstance(value, np.dtype):
        return str(np.dtype(value))
    if isinstance(value, np.generic):
        return value.item()
    return value


def operator(fn_name: str, *args: Any, **kwargs: Any) -> Any:
    """A Python operator on a KerasTensor (``x * 2``, ``x[:, 0]``): the node ``ops.<fn_name>`` records."""
    return symbolic_call(fn_name, None, args, kwargs)
