"""``keras.ops`` core names on JAX: tensors and dtypes, control flow, slicing and scattering, ``rearrange``.

Control-flow ops take Python callables and run them through ``jax.lax`` (``cond``, ``scan``, ``while_loop``...),
so they trace under ``jit`` and differentiate as JAX's do.

>>> import jax.numpy as jnp
>>> cast(jnp.arange(3), "float16").dtype
dtype('float16')
>>> shape(jnp.zeros((2, 3)))
(2, 3)
>>> int(fori_loop(0, 4, lambda i, acc: acc + i, 0))
6
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
from jax import lax

import lamina.ops.conv_autotune as conv_autotune
from lamina.backend import floatx
from lamina.ops.symbolic import dispatch

__all__ = [
    "associative_scan", "cast", "cond", "convert_to_numpy", "convert_to_tensor", "custom_gradient", "dtype",
    "fori_loop", "is_tensor", "map", "rearrange", "saturate_cast", "scan", "scatter", "scatter_update", "shape",
    "slice", "slice_update", "stop_gradient", "switch", "unstack", "vectorized_map", "while_loop",
]

_ALLOWED_DTYPES = frozenset({
    "float16", "float32", "float64", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
    "bfloat16", "bool", "string", "float8_e4m3fn", "float8_e5m2", "complex64", "complex128",
})
_PYTHON_DTYPES = {bool: "bool", int: "int32", float: "float32", str: "string", "int": "int32", complex: "complex64"}


# ------------------------------------------------------------------------------------------ dtypes
def standardize_dtype(dtype: Any) -> str:
    """Keras's dtype name: ``None`` -> ``floatx()``, ``float`` -> ``"float32"``, ``jnp.int8`` -> ``"int8"``.

    >>> standardize_dtype(None), standardize_dtype(int), standardize_dtype(jnp.bfloat16)
    ('float32', 'int32', 'bfloat16')
    """
    if dtype is None:
        return floatx()
    dtype = _PYTHON_DTYPES.get(dtype, dtype)
    if hasattr(dtype, "name"):
        dtype = dtype.name
    elif hasattr(dtype, "__name__"):
        dtype = dtype.__name__
    elif "jax.numpy" in str(dtype) or "torch" in str(dtype):
        dtype = str(dtype).split(".")[-1]
    if dtype not in _ALLOWED_DTYPES:
        raise ValueError(f"Invalid dtype: {dtype!r}. Expected one of {sorted(_ALLOWED_DTYPES)}.")
    return dtype


def _unwrap(x: Any) -> Any:
    """A weight/variable (anything with ``value`` and ``__jax_array__``) -> its array."""
    if hasattr(x, "__jax_array__") and hasattr(x, "value") and not isinstance(x, jax.Array):
        return x.value
    return x


def _is_sparse(x: Any) -> bool:
    sparse = sys.modules.get("jax.experimental.sparse")
    return sparse is not None and isinstance(x, sparse.JAXSparse)


# ------------------------------------------------------------------------------------------ tensors
@dispatch
def convert_to_tensor(x: Any, dtype: Any = None, sparse: bool | None = None, ragged: bool | None = None
                      ) -> jax.Array:
    """``x`` as a JAX array (of ``dtype`` when given), as ``keras.ops.convert_to_tensor``.

    >>> convert_to_tensor([1, 2], dtype="float32").dtype
    dtype('float32')
    """
    if ragged:
        raise ValueError("convert_to_tensor: `ragged=True` is not supported with the JAX backend.")
    dtype = None if dtype is None else standardize_dtype(dtype)
    x = _unwrap(x)
    if isinstance(x, jax.Array) and (dtype is None or x.dtype == dtype):
        return x
    if _is_sparse(x):
        if sparse is not None and not sparse:
            x = x.todense()
        elif dtype is not None and x.dtype != dtype:
            return x.astype(dtype)
        else:
            return x
    if dtype == "bfloat16" and not isinstance(x, jax.Array):
        return jnp.asarray(x).astype(dtype)
    return jnp.asarray(x, dtype=dtype)


@dispatch
def convert_to_numpy(x: Any) -> np.ndarray:
    """``x`` as a NumPy array (``bfloat16`` kept as ``ml_dtypes.bfloat16``).

    >>> convert_to_numpy(jnp.ones(2)).tolist()
    [1.0, 1.0]
    """
    x = _unwrap(x)
    if _is_sparse(x):
        x = x.todense()
    if isinstance(x, jax.Array) and x.dtype == jnp.bfloat16:
        return np.array(x, dtype=ml_dtypes.bfloat16)
    return np.array(x)


@dispatch
def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a JAX array (NumPy arrays are not, as in Keras).

    >>> is_tensor(jnp.ones(2)), is_tensor(np.ones(2))
    (True, False)
    """
    return isinstance(x, jax.Array) or _is_sparse(x)


@dispatch
def shape(x: Any) -> tuple[int, ...]:
    """The shape of ``x`` as a tuple.

    >>> shape(jnp.ones((2, 5)))
    (2, 5)
    """
    return tuple(x.shape)


@dispatch
def dtype(x: Any) -> str:
    """Keras's name of ``x``'s dtype.

    >>> dtype(jnp.ones(2, "bfloat16"))
    'bfloat16'
    """
    return standardize_dtype(x.dtype)


@dispatch
def cast(x: Any, dtype: Any) -> jax.Array:
    """``x`` converted to ``dtype`` (``None`` means ``floatx()``, as in Keras).

    >>> cast(jnp.array([1.7, -1.7]), "int32").tolist()
    [1, -1]
    """
    return convert_to_tensor(x, dtype=standardize_dtype(dtype))


def _dtype_range(name: str) -> tuple[Any, Any]:
    if name == "bool":
        return 0, 1
    info = ml_dtypes.iinfo(name) if "int" in name else ml_dtypes.finfo(name)
    return info.min, info.max


@dispatch
def saturate_cast(x: Any, dtype: Any) -> jax.Array:
    """Cast with values clipped to ``dtype``'s range first (no wrap-around).

    >>> saturate_cast(jnp.array([-5.0, 300.0]), "uint8").tolist()
    [0, 255]
    """
    out_dtype = standardize_dtype(dtype)
    x = convert_to_tensor(x)
    in_dtype = standardize_dtype(x.dtype)
    in_min, in_max = _dtype_range(in_dtype)
    out_min, out_max = _dtype_range(out_dtype)
    low = np.maximum(in_min, out_min).astype(in_dtype)
    if low < out_min:  # the bound rounded outside the target range in the input dtype
        low = np.nextafter(low, 0, dtype=in_dtype)
    high = np.minimum(in_max, out_max).astype(in_dtype)
    if high > out_max:
        high = np.nextafter(high, 0, dtype=in_dtype)
    return cast(jnp.clip(x, low, high), out_dtype)


@dispatch
def stop_gradient(variable: Any) -> jax.Array:
    """``variable`` with a zero gradient.

    >>> float(jax.grad(lambda v: stop_gradient(v) * v)(3.0))
    3.0
    """
    return lax.stop_gradient(_unwrap(variable))


@dispatch
def unstack(x: Any, num: int | None = None, axis: int = 0) -> list[jax.Array]:
    """The slices of ``x`` along ``axis``, as a list.

    >>> [t.tolist() for t in unstack(jnp.arange(4).reshape(2, 2), axis=1)]
    [[0, 2], [1, 3]]
    """
    x = convert_to_tensor(x)
    return [lax.index_in_dim(x, i, axis, keepdims=False) for i in range(x.shape[axis])]


# ------------------------------------------------------------------------------------------ control flow
@dispatch
def cond(pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
    """``true_fn()`` if ``pred`` else ``false_fn()`` (``lax.cond``: both must return the same structure).

    >>> int(cond(jnp.array(True), lambda: 1, lambda: 2))
    1
    """
    return lax.cond(pred, true_fn, false_fn)


@dispatch
def switch(index: Any, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
    """``branches[index](*operands)``, ``index`` clamped to the valid range.

    >>> int(switch(1, [lambda x: x + 1, lambda x: x * 10], 3))
    30
    """
    return lax.switch(index, branches, *operands)


def _as_loop_body(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` traced as a loop body: its convolutions are tuned for a loop (see :class:`conv_autotune.loop_body`)."""

    def traced(*args: Any) -> Any:
        with conv_autotune.loop_body():
            return fn(*args)

    return traced


@dispatch
def while_loop(cond: Callable[..., Any], body: Callable[..., Any], loop_vars: Any,
               maximum_iterations: int | None = None) -> Any:
    """Run ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` (and fewer than ``maximum_iterations``).

    A tuple or list of loop variables is unpacked into ``cond`` and ``body``; the result has the same form.

    >>> int(while_loop(lambda i: i < 10, lambda i: i + 3, 0))
    12
    """
    is_tuple = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if is_tuple else (loop_vars,)

    def pack(out: Any) -> tuple[Any, ...]:
        return tuple(out) if is_tuple else (out,)

    if maximum_iterations is None:
        out = lax.while_loop(lambda s: cond(*s), _as_loop_body(lambda s: pack(body(*s))), state)
    else:
        out = lax.while_loop(lambda s: jnp.logical_and(cond(*s[:-1]), s[-1] < maximum_iterations),
                             _as_loop_body(lambda s: pack(body(*s[:-1])) + (s[-1] + 1,)), state + (0,))[:-1]
    return out if is_tuple else out[0]


@dispatch
def fori_loop(lower: Any, upper: Any, body_fun: Callable[[Any, Any], Any], init_val: Any) -> Any:
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``.

    >>> int(fori_loop(1, 5, lambda i, v: v * i, 1))
    24
    """
    return lax.fori_loop(lower, upper, _as_loop_body(body_fun), init_val)


@dispatch
def scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any = None, length: int | None = None,
         reverse: bool = False, unroll: int | bool = 1) -> tuple[Any, Any]:
    """``lax.scan``: ``carry, y = f(carry, x)`` over the leading axis of ``xs``; returns ``(carry, stacked ys)``.

    >>> carry, ys = scan(lambda c, x: (c + x, c * x), 0.0, jnp.arange(1.0, 4.0))
    >>> float(carry), ys.tolist()
    (6.0, [0.0, 2.0, 9.0])
    """
    if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError(f"scan: `unroll` must be a positive integer or a boolean. Received: unroll={unroll}")
    return lax.scan(_as_loop_body(f), init, xs, length=length, reverse=reverse, unroll=unroll)


@dispatch
def associative_scan(f: Callable[[Any, Any], Any], elems: Any, reverse: bool = False, axis: int = 0) -> Any:
    """Parallel prefix scan of the associative ``f`` along ``axis`` (e.g. cumulative sums).

    >>> associative_scan(lambda a, b: a + b, jnp.arange(5)).tolist()
    [0, 1, 3, 6, 10]
    """
    return lax.associative_scan(f, elems, reverse=reverse, axis=axis)


@dispatch
def map(f: Callable[[Any], Any], xs: Any) -> Any:
    """``f`` applied to each slice of ``xs`` along its leading axis, results stacked (``lax.map``).

    >>> map(lambda x: x * x, jnp.arange(4)).tolist()
    [0, 1, 4, 9]
    """
    return lax.map(_as_loop_body(f), xs)


@dispatch
def vectorized_map(function: Callable[[Any], Any], elements: Any) -> Any:
    """``function`` vectorized over the leading axis of ``elements`` (``jax.vmap``).

    >>> vectorized_map(lambda r: r.sum(), jnp.ones((3, 4))).tolist()
    [4.0, 4.0, 4.0]
    """
    return jax.vmap(function)(elements)


@dispatch
def custom_gradient(f: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: ``f`` returns ``(value, grad_fn)``; ``grad_fn(upstream)`` gives the input gradients.

    >>> @custom_gradient
    ... def clipped(x):
    ...     return x * 2.0, lambda g: jnp.clip(g, -0.5, 0.5)
    >>> float(jax.grad(clipped)(3.0))
    0.5
    """
    wrapped = jax.custom_gradient(f)

    def call(*args: Any, **kwargs: Any) -> Any:
        args, kwargs = jax.tree_util.tree_map(_unwrap, (args, kwargs), is_leaf=lambda v: hasattr(v, "value"))
        return wrapped(*args, **kwargs)

    return call


# ------------------------------------------------------------------------------------------ slicing, scatter
@dispatch
def slice(inputs: Any, start_indices: Any, shape: Sequence[int]) -> jax.Array:
    """The block of ``inputs`` of size ``shape`` starting at ``start_indices`` (``-1``: to the end).

    >>> slice(jnp.arange(10), (3,), (4,)).tolist()
    [3, 4, 5, 6]
    """
    inputs = convert_to_tensor(inputs)
    sizes = tuple(inputs.shape[i] - start_indices[i] if s == -1 else s for i, s in enumerate(shape))
    return lax.dynamic_slice(inputs, start_indices, sizes)


@dispatch
def slice_update(inputs: Any, start_indices: Any, updates: Any) -> jax.Array:
    """``inputs`` with the block at ``start_indices`` replaced by ``updates``.

    >>> slice_update(jnp.zeros(5), (1,), jnp.ones(2)).tolist()
    [0.0, 1.0, 1.0, 0.0, 0.0]
    """
    inputs = convert_to_tensor(inputs)
    return lax.dynamic_update_slice(inputs, convert_to_tensor(updates, inputs.dtype), start_indices)


@dispatch
def scatter(indices: Any, values: Any, shape: Sequence[int]) -> jax.Array:
    """A zero tensor of ``shape`` with ``values`` added at ``indices`` (``(..., rank)`` coordinates).

    >>> scatter(jnp.array([[1], [3], [1]]), jnp.array([1.0, 2.0, 3.0]), (5,)).tolist()
    [0.0, 4.0, 0.0, 2.0, 0.0]
    """
    values = convert_to_tensor(values)
    key = tuple(jnp.moveaxis(jnp.asarray(indices), -1, 0))
    return jnp.zeros(shape, values.dtype).at[key].add(values)


@dispatch
def scatter_update(inputs: Any, indices: Any, updates: Any, reduction: str | None = None) -> jax.Array:
    """``inputs`` with ``updates`` written at ``indices`` (``(n, rank)``), or combined by ``reduction``.

    ``reduction``: ``None`` (replace), ``"add"``, ``"max"``, ``"min"`` or ``"mul"``.

    >>> scatter_update(jnp.zeros(4), [[0], [2]], jnp.array([5.0, 7.0])).tolist()
    [5.0, 0.0, 7.0, 0.0]
    """
    if reduction is not None:
        reduction = reduction.lower()
        if reduction not in ("add", "max", "min", "mul"):
            raise ValueError(f"Invalid reduction: {reduction}. Supported values are: None, 'add', 'max', 'min', "
                             f"'mul'.")
    inputs = convert_to_tensor(inputs)
    key = tuple(jnp.transpose(jnp.asarray(indices)))
    at = inputs.at[key]
    if reduction is None:
        return at.set(updates)
    return {"add": at.add, "max": at.max, "min": at.min, "mul": at.multiply}[reduction](updates)


# ------------------------------------------------------------------------------------------ einops
_AXIS = re.compile(r"\w+|\(.*?\)")
_GROUP = re.compile(r"\(([\w\s]+)\)")


def _groups(axes: list[str]) -> list[list[str]]:
    out = []
    for axis in axes:
        group = _GROUP.match(axis)
        out.append(group.group(1).split() if group else [axis])
    return out


@dispatch
def rearrange(tensor: Any, pattern: str, **axes_lengths: int) -> jax.Array:
    """einops-style ``rearrange``: split ``(h w)`` groups, permute, merge (``"b (h w) c -> b h w c"``).

    >>> rearrange(jnp.zeros((2, 12, 3)), "b (h w) c -> b c h w", h=3).shape
    (2, 3, 3, 4)
    """
    tensor = convert_to_tensor(tensor)
    source, target = re.split(r"\s*->\s*", pattern)
    in_groups = _groups(_AXIS.findall(source))
    out_groups = _groups(_AXIS.findall(target))
    if len(in_groups) != tensor.ndim:
        raise ValueError(f"rearrange: pattern {pattern!r} names {len(in_groups)} input axes, the tensor has "
                         f"shape {tensor.shape}.")
    sizes = dict(axes_lengths)
    for group, dim in zip(in_groups, tensor.shape):
        unknown = [a for a in group if a not in sizes]
        known = int(np.prod([sizes[a] for a in group if a in sizes]))
        if unknown:
            sizes[unknown[0]] = dim // known
    flat_in = [a for g in in_groups for a in g]
    split = tuple(sizes[a] for a in flat_in)
    if split != tensor.shape:
        tensor = jnp.reshape(tensor, split)
    order = [flat_in.index(a) for g in out_groups for a in g]
    tensor = jnp.transpose(tensor, order)
    return jnp.reshape(tensor, tuple(int(np.prod([sizes[a] for a in g])) for g in out_groups))

