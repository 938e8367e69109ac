"""Keras 3's dtype names and type promotion (``keras.backend.result_type``) on JAX, for ``lamina.ops``.

Keras promotes on a lattice adapted from JAX's: Python ``int``/``float`` are *weak* (they take the precision of
``floatx()`` when nothing stronger is present), ``bool`` sits below every number, and on JAX 64-bit results are
narrowed to 32 bits (``int64`` -> ``int32``, ``float64`` -> ``float32``).

>>> result_type("int32", float)
'float32'
>>> result_type("float16", float), result_type("int8", "uint8"), result_type("bool", int)
('float16', 'int16', 'int32')
"""

from __future__ import annotations

import functools
from typing import Any

import jax.numpy as jnp
import numpy as np

from lamina import backend

ALLOWED_DTYPES = (
    "float16", "float32", "float64", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
    "bfloat16", "bool", "string", "float8_e4m3fn", "float8_e5m2", "complex64", "complex128",
)
INT_TYPES = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")
FLOAT_TYPES = ("bfloat16", "float16", "float32", "float64")
_PYTHON = {bool: "bool", int: "int32", float: "float32", str: "string", "int": "int32", complex: "complex64"}
_TO_32 = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}

# Each node points at the nodes immediately above it; "i*" / "f*" are the weak Python int and float.
_LATTICE = {
    "bool": ["i*"], "i*": ["uint8", "int8", "complex64"], "f*": ["bfloat16", "float16"],
    "uint8": ["int16", "uint16"], "uint16": ["int32", "uint32"], "uint32": ["int64", "uint64"], "uint64": ["f*"],
    "int8": ["int16"], "int16": ["int32"], "int32": ["int64"], "int64": ["f*"],
    "bfloat16": ["float32"], "float16": ["float32"], "float32": ["float64", "complex64"],
    "float64": ["complex128"], "complex64": ["complex128"], "complex128": [],
}


def _upper_bounds() -> dict[str, frozenset[str]]:
    bounds: dict[str, set[str]] = {}
    for node in _LATTICE:
        seen, todo = {node}, [node]
        while todo:
            for up in _LATTICE[todo.pop()]:
                if up not in seen:
                    seen.add(up)
                    todo.append(up)
        bounds[node] = seen
    return {k: frozenset(v) for k, v in bounds.items()}


_UPPER = _upper_bounds()


def standardize_dtype(dtype: Any) -> str:
    """Keras's name for ``dtype`` (``None`` -> ``floatx()``, ``int`` -> ``"int32"``, ``jnp.float32`` -> ...)."""
    if dtype is None:
        return backend.floatx()
    dtype = _PYTHON.get(dtype, dtype)
    if hasattr(dtype, "name"):
        dtype = dtype.name
    elif hasattr(dtype, "__name__"):
        dtype = dtype.__name__
    elif not isinstance(dtype, str):
        dtype = np.dtype(dtype).name
    if dtype not in ALLOWED_DTYPES:
        raise ValueError(f"Invalid dtype: {dtype}")
    return dtype


@functools.lru_cache(512)
def _join(*nodes: str) -> str:
    common = frozenset.intersection(*(_UPPER[n] for n in nodes))
    least = (common & set(nodes)) or {c for c in common if common <= _UPPER[c]}
    if len(least) != 1:
        raise ValueError(f"Input dtypes {nodes} have no available implicit dtype promotion path. "
                         "Try explicitly casting inputs to the desired output type.")
    return next(iter(least))


def _weak(dtype: str) -> str:
    return "bool" if dtype == "bool" else "f*" if "float" in dtype else "i*" if "int" in dtype else dtype


def _resolve_weak(dtype: str) -> str:
    bits = backend.floatx()[-2:]
    kind = "f" if dtype == "bfloat16" else dtype[:1]
    return "bool" if kind == "b" else f"int{bits}" if kind == "i" else f"uint{bits}" if kind == "u" else f"float{bits}"


def result_type(*dtypes: Any) -> str:
    """The dtype Keras's promotion gives ``dtypes`` (Python ``int``/``float`` weak; ``None`` is ``floatx()``)."""
    if not dtypes:
        return backend.floatx()
    weak = [d is int or d is float for d in dtypes]
    names = [standardize_dtype(d) for d in dtypes]
    if len(names) == 1:
        out, out_weak = names[0], weak[0]
    elif len(set(names)) == 1 and not all(weak):
        out, out_weak = names[0], False
    elif all(weak):
        out, out_weak = _join(*sorted(set(names))), True
    else:
        out = _join(*sorted({_weak(n) if w else n for n, w in zip(names, weak)}))
        out_weak = out in ("i*", "f*")
    if out_weak and out != "bool":
        out = _resolve_weak(out)
    return _TO_32.get(out, out)


def dtype_of(x: Any) -> str:
    """Keras's dtype name of an array (``jnp`` or NumPy) or Python value."""
    return standardize_dtype(getattr(x, "dtype", None) or type(x))


def convert(x: Any, dtype: Any = None) -> jnp.ndarray:
    """``keras.ops.convert_to_tensor`` on JAX: ``jnp.asarray`` (Python scalars stay weakly typed)."""
    if dtype is not None:
        dtype = standardize_dtype(dtype)
        if dtype == "bfloat16" and not hasattr(x, "dtype"):
            return jnp.asarray(x).astype(dtype)
    return jnp.asarray(x, dtype=dtype)


def cast(x: Any, dtype: Any) -> jnp.ndarray:
    """``x`` as a JAX array of ``dtype`` (no copy when it already has it)."""
    x = convert(x)
    dtype = standardize_dtype(dtype)
    return x if x.dtype == dtype else x.astype(dtype)
