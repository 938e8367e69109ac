"""``keras.ops.numpy``: the NumPy-style ops of Keras 3 on ``jax.numpy`` / ``jax.lax``, with Keras's dtype rules.

Every function takes NumPy arrays, JAX arrays, Python lists and scalars (Python scalars stay *weak*, as in Keras:
``add(int8_array, 2)`` is ``int8``), and returns JAX arrays. Where Keras has its own dtype rule it is followed: the
trigonometric and rounding ops give ``result_type(x.dtype, float)`` (``float32`` for integers, ``float16`` kept),
``exp`` of integers gives ``floatx()``, ``mean`` and ``var`` compute in ``float32`` and return the input's float
dtype, and window functions return ``floatx()``.

>>> import numpy as np
>>> from lamina import ops
>>> ops.mean(np.arange(4)).dtype, ops.sin(np.int8(1)).dtype, ops.add(np.ones(2, "int8"), 2).dtype
(dtype('float32'), dtype('float32'), dtype('int8'))
>>> ops.sum(np.ones((2, 3)), axis=-1, keepdims=True).shape
(2, 1)
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina import backend
from lamina.ops.promotion import cast, convert, dtype_of, result_type, standardize_dtype
from lamina.ops.symbolic import dispatch

Array = jax.Array
Axis = int | Sequence[int] | None

# ---------------------------------------------------------------------------------------------------------------
# shared helpers (the dtype rules Keras's JAX backend applies)


def _dtype(dtype: Any) -> str | None:
    return None if dtype is None else standardize_dtype(dtype)


def _is_int_or_bool(x: Array) -> bool:
    name = dtype_of(x)
    return "int" in name or name == "bool"


def _float_dtype(x: Array) -> str:
    """Keras's float rule for unary math: integers and bool -> float at ``floatx()`` precision, floats kept."""
    return backend.floatx() if dtype_of(x) == "int64" else result_type(x.dtype, float)


def _float_unary(fn: Callable[[Array], Array], x: Any) -> Array:
    x = convert(x)
    return fn(cast(x, _float_dtype(x)))


def _exp_unary(fn: Callable[[Array], Array], x: Any) -> Array:
    """``exp``-like: integer and bool inputs are cast to ``floatx()`` first."""
    x = convert(x)
    return fn(cast(x, backend.floatx()) if _is_int_or_bool(x) else x)


def _int64_unary(fn: Callable[[Array], Array], x: Any) -> Array:
    """``log``/``sqrt``-like: only ``int64`` is cast to ``floatx()``; otherwise JAX's promotion."""
    x = convert(x)
    return fn(cast(x, backend.floatx()) if dtype_of(x) == "int64" else x)


def _plain_unary(fn: Callable[[Array], Array], x: Any) -> Array:
    return fn(convert(x))


def _binary(fn: Callable[[Array, Array], Array], x1: Any, x2: Any) -> Array:
    return fn(convert(x1), convert(x2))


def _float_binary(fn: Callable[[Array, Array], Array], x1: Any, x2: Any) -> Array:
    """Both operands cast to ``result_type(x1, x2, float)`` (after conversion: scalars are no longer weak)."""
    x1, x2 = convert(x1), convert(x2)
    dtype = result_type(x1.dtype, x2.dtype, float)
    return fn(cast(x1, dtype), cast(x2, dtype))


def _axis(axis: Axis) -> int | tuple[int, ...] | None:
    """JAX wants hashable axes: lists become tuples."""
    return tuple(axis) if isinstance(axis, list) else axis


def _canonical_axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for an array with dimension {ndim}.")
    return axis % ndim if ndim else axis


def _window(fn: Callable[[Any], Array], x: Any) -> Array:
    return cast(fn(convert(x)), backend.floatx())


def _uses_cpu(x: Array) -> bool:
    device = getattr(x, "device", None)
    if isinstance(device, jax.Device):
        return device.platform == "cpu"
    return device is None and jax.default_backend() == "cpu"


def _without_negative_zero(x: Array) -> Array:
    """Keras's fix for XLA:CPU flushing ``-0.0``: argmax/argmin see ``-tiny`` instead (computed in float32+)."""
    x = cast(x, result_type(x.dtype, "float32"))
    return jnp.where((x == 0.0) & jnp.signbit(x), -jnp.finfo(x.dtype).tiny, x)


# ---------------------------------------------------------------------------------------------------------------
# elementwise math: arithmetic


@dispatch
def add(x1: Any, x2: Any) -> Array:
    """``x1 + x2`` elementwise (broadcasting)."""
    return _binary(jnp.add, x1, x2)


@dispatch
def subtract(x1: Any, x2: Any) -> Array:
    """``x1 - x2`` elementwise."""
    return _binary(jnp.subtract, x1, x2)


@dispatch
def multiply(x1: Any, x2: Any) -> Array:
    """``x1 * x2`` elementwise."""
    return _binary(jnp.multiply, x1, x2)


@dispatch
def divide(x1: Any, x2: Any) -> Array:
    """``x1 / x2`` elementwise (true division: integers give floats)."""
    return _binary(jnp.divide, x1, x2)


@dispatch
def true_divide(x1: Any, x2: Any) -> Array:
    """Alias of :func:`divide`."""
    return _binary(jnp.divide, x1, x2)


@dispatch
def divide_no_nan(x1: Any, x2: Any) -> Array:
    """``x1 / x2``, with 0 where ``x2 == 0``."""
    x1, x2 = convert(x1), convert(x2)
    safe = jnp.where(x2 == 0, 1, x2)
    return jnp.where(x2 == 0, 0, jnp.divide(x1, safe))


@dispatch
def floor_divide(x1: Any, x2: Any) -> Array:
    """``x1 // x2`` elementwise."""
    return _binary(jnp.floor_divide, x1, x2)


@dispatch
def mod(x1: Any, x2: Any) -> Array:
    """``x1 % x2`` elementwise (sign of the divisor)."""
    return _binary(jnp.mod, x1, x2)


@dispatch
def fmod(x1: Any, x2: Any) -> Array:
    """C-style remainder (sign of the dividend)."""
    return _binary(jnp.fmod, x1, x2)


@dispatch
def power(x1: Any, x2: Any) -> Array:
    """``x1 ** x2`` elementwise."""
    return _binary(jnp.power, x1, x2)


@dispatch
def negative(x: Any) -> Array:
    """``-x`` elementwise."""
    return _plain_unary(jnp.negative, x)


@dispatch
def reciprocal(x: Any) -> Array:
    """``1 / x`` elementwise."""
    return _plain_unary(jnp.reciprocal, x)


@dispatch
def square(x: Any) -> Array:
    """``x * x`` elementwise (the dtype of ``x``)."""
    return _plain_unary(jnp.square, x)


@dispatch
def sqrt(x: Any) -> Array:
    """Square root (integers give floats)."""
    return _int64_unary(jnp.sqrt, x)


@dispatch
def cbrt(x: Any) -> Array:
    """Cube root."""
    return _plain_unary(jnp.cbrt, x)


@dispatch
def absolute(x: Any) -> Array:
    """``|x|`` elementwise."""
    return _plain_unary(jnp.absolute, x)


@dispatch
def abs(x: Any) -> Array:  # noqa: A001
    """Alias of :func:`absolute`."""
    return _plain_unary(jnp.absolute, x)


@dispatch
def fabs(x: Any) -> Array:
    """``|x|`` as a float (real inputs only)."""
    x = convert(x)
    if "complex" in dtype_of(x):
        raise TypeError(f"fabs does not support complex inputs. Received: x.dtype={x.dtype}")
    return jnp.fabs(x)


@dispatch
def sign(x: Any) -> Array:
    """-1, 0 or 1 by the sign of ``x``."""
    return _plain_unary(jnp.sign, x)


@dispatch
def signbit(x: Any) -> Array:
    """True where the sign bit is set (``-0.0`` included)."""
    return _plain_unary(jnp.signbit, x)


@dispatch
def heaviside(x1: Any, x2: Any) -> Array:
    """Heaviside step: 0 below zero, ``x2`` at zero, 1 above."""
    return _binary(jnp.heaviside, x1, x2)


@dispatch
def hypot(x1: Any, x2: Any) -> Array:
    """``sqrt(x1**2 + x2**2)`` elementwise."""
    return _binary(jnp.hypot, x1, x2)


@dispatch
def maximum(x1: Any, x2: Any) -> Array:
    """Elementwise maximum (NaN propagates)."""
    return _binary(jnp.maximum, x1, x2)


@dispatch
def minimum(x1: Any, x2: Any) -> Array:
    """Elementwise minimum (NaN propagates)."""
    return _binary(jnp.minimum, x1, x2)


@dispatch
def fmax(x1: Any, x2: Any) -> Array:
    """Elementwise maximum ignoring NaN."""
    return _binary(jnp.fmax, x1, x2)


@dispatch
def fmin(x1: Any, x2: Any) -> Array:
    """Elementwise minimum ignoring NaN."""
    return _binary(jnp.fmin, x1, x2)


@dispatch
def gcd(x1: Any, x2: Any) -> Array:
    """Greatest common divisor of integers."""
    return _binary(jnp.gcd, x1, x2)


@dispatch
def lcm(x1: Any, x2: Any) -> Array:
    """Least common multiple of integers."""
    return _binary(jnp.lcm, x1, x2)


@dispatch
def ldexp(x1: Any, x2: Any) -> Array:
    """``x1 * 2**x2`` (``x2`` must be an integer tensor)."""
    x1, x2 = convert(x1), convert(x2)
    if dtype_of(x2) not in ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"):
        raise TypeError(f"ldexp exponent must be an integer type. Received: x2 dtype={x2.dtype}")
    return jnp.ldexp(x1, x2)


@dispatch
def nextafter(x1: Any, x2: Any) -> Array:
    """The next float after ``x1`` towards ``x2``."""
    return _binary(jnp.nextafter, x1, x2)


@dispatch
def clip(x: Any, x_min: Any, x_max: Any) -> Array:
    """``x`` limited to ``[x_min, x_max]`` (bool inputs are clipped as int32)."""
    x = convert(x)
    if dtype_of(x) == "bool":
        x = x.astype("int32")
    return jnp.clip(x, x_min, x_max)


@dispatch
def nan_to_num(x: Any, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Array:
    """NaN -> ``nan``, +inf/-inf -> ``posinf``/``neginf`` (default: the dtype's largest/lowest)."""
    return jnp.nan_to_num(convert(x), nan=nan, posinf=posinf, neginf=neginf)


# ---------------------------------------------------------------------------------------------------------------
# elementwise math: exponentials, logarithms, trigonometry, rounding


@dispatch
def exp(x: Any) -> Array:
    """``e**x`` (integers and bool: computed in ``floatx()``)."""
    return _exp_unary(jnp.exp, x)


@dispatch
def exp2(x: Any) -> Array:
    """``2**x`` (integers and bool: computed in ``floatx()``)."""
    return _exp_unary(jnp.exp2, x)


@dispatch
def expm1(x: Any) -> Array:
    """``exp(x) - 1`` (integers and bool: computed in ``floatx()``)."""
    return _exp_unary(jnp.expm1, x)


@dispatch
def log(x: Any) -> Array:
    """Natural logarithm."""
    return _int64_unary(jnp.log, x)


@dispatch
def log10(x: Any) -> Array:
    """Base-10 logarithm."""
    return _int64_unary(jnp.log10, x)


@dispatch
def log1p(x: Any) -> Array:
    """``log(1 + x)``."""
    return _int64_unary(jnp.log1p, x)


@dispatch
def log2(x: Any) -> Array:
    """Base-2 logarithm."""
    return _int64_unary(jnp.log2, x)


@dispatch
def logaddexp(x1: Any, x2: Any) -> Array:
    """``log(exp(x1) + exp(x2))`` (in ``result_type(x1, x2, float)``)."""
    return _float_binary(jnp.logaddexp, x1, x2)


@dispatch
def logaddexp2(x1: Any, x2: Any) -> Array:
    """``log2(2**x1 + 2**x2)`` (in ``result_type(x1, x2, float)``)."""
    return _float_binary(jnp.logaddexp2, x1, x2)


@dispatch
def sin(x: Any) -> Array:
    """Sine."""
    return _float_unary(jnp.sin, x)


@dispatch
def cos(x: Any) -> Array:
    """Cosine."""
    return _float_unary(jnp.cos, x)


@dispatch
def tan(x: Any) -> Array:
    """Tangent."""
    return _float_unary(jnp.tan, x)


@dispatch
def arcsin(x: Any) -> Array:
    """Inverse sine."""
    return _float_unary(jnp.arcsin, x)


@dispatch
def arccos(x: Any) -> Array:
    """Inverse cosine."""
    return _float_unary(jnp.arccos, x)


@dispatch
def arctan(x: Any) -> Array:
    """Inverse tangent."""
    return _float_unary(jnp.arctan, x)


@dispatch
def arctan2(x1: Any, x2: Any) -> Array:
    """Angle of the point ``(x2, x1)`` (in ``result_type(x1, x2, float)``)."""
    return _float_binary(jnp.arctan2, x1, x2)


@dispatch
def sinh(x: Any) -> Array:
    """Hyperbolic sine."""
    return _float_unary(jnp.sinh, x)


@dispatch
def cosh(x: Any) -> Array:
    """Hyperbolic cosine."""
    return _float_unary(jnp.cosh, x)


@dispatch
def tanh(x: Any) -> Array:
    """Hyperbolic tangent."""
    return _float_unary(jnp.tanh, x)


@dispatch
def arcsinh(x: Any) -> Array:
    """Inverse hyperbolic sine."""
    return _float_unary(jnp.arcsinh, x)


@dispatch
def arccosh(x: Any) -> Array:
    """Inverse hyperbolic cosine."""
    return _float_unary(jnp.arccosh, x)


@dispatch
def arctanh(x: Any) -> Array:
    """Inverse hyperbolic tangent."""
    return _float_unary(jnp.arctanh, x)


@dispatch
def sinc(x: Any) -> Array:
    """Normalised sinc, ``sin(pi x) / (pi x)``."""
    return _float_unary(jnp.sinc, x)


@dispatch
def deg2rad(x: Any) -> Array:
    """Degrees to radians."""
    return _plain_unary(jnp.deg2rad, x)


@dispatch
def rad2deg(x: Any) -> Array:
    """Radians to degrees."""
    return _plain_unary(jnp.rad2deg, x)


@dispatch
def angle(x: Any) -> Array:
    """Argument of a complex number (0 or pi for reals)."""
    return _float_unary(jnp.angle, x)


@dispatch
def i0(x: Any) -> Array:
    """Modified Bessel function of the first kind, order 0."""
    x = convert(x)
    name = dtype_of(x)
    if name in ("int64", "float64"):
        name = "float64"
    elif name not in ("bfloat16", "float16"):
        name = backend.floatx()
    return jnp.i0(cast(x, name))


@dispatch
def ceil(x: Any) -> Array:
    """Round up (integers give floats)."""
    return _float_unary(jnp.ceil, x)


@dispatch
def floor(x: Any) -> Array:
    """Round down (integers give floats)."""
    return _float_unary(jnp.floor, x)


@dispatch
def trunc(x: Any) -> Array:
    """Round towards zero (integers and bool returned as they are)."""
    x = convert(x)
    return x if _is_int_or_bool(x) else jnp.trunc(x)


@dispatch
def round(x: Any, decimals: int = 0) -> Array:  # noqa: A001
    """Round half to even to ``decimals`` places (negative ``decimals`` on integers too)."""
    x = convert(x)
    name = dtype_of(x)
    if "int" in name and decimals < 0:
        factor = jnp.asarray(math.pow(10, decimals), backend.floatx())
        return cast(jnp.round(x.astype(backend.floatx()) * factor) / factor, name)
    return jnp.round(x, decimals=decimals)


@dispatch
def real(x: Any) -> Array:
    """Real part."""
    return _plain_unary(jnp.real, x)


@dispatch
def imag(x: Any) -> Array:
    """Imaginary part."""
    return _plain_unary(jnp.imag, x)


@dispatch
def conjugate(x: Any) -> Array:
    """Complex conjugate."""
    return _plain_unary(jnp.conjugate, x)


@dispatch
def conj(x: Any) -> Array:
    """Alias of :func:`conjugate`."""
    return _plain_unary(jnp.conjugate, x)


# ---------------------------------------------------------------------------------------------------------------
# bitwise


@dispatch
def bitwise_and(x: Any, y: Any) -> Array:
    """Bitwise AND of integers or bools."""
    return _binary(jnp.bitwise_and, x, y)


@dispatch
def bitwise_or(x: Any, y: Any) -> Array:
    """Bitwise OR of integers or bools."""
    return _binary(jnp.bitwise_or, x, y)


@dispatch
def bitwise_xor(x: Any, y: Any) -> Array:
    """Bitwise XOR of integers or bools."""
    return _binary(jnp.bitwise_xor, x, y)


@dispatch
def bitwise_invert(x: Any) -> Array:
    """Bitwise NOT."""
    return _plain_unary(jnp.invert, x)


@dispatch
def bitwise_not(x: Any) -> Array:
    """Alias of :func:`bitwise_invert`."""
    return _plain_unary(jnp.invert, x)


def _shift(fn: Callable[[Array, Any], Array], x: Any, y: Any) -> Array:
    return fn(convert(x), y if isinstance(y, int) else convert(y))


@dispatch
def bitwise_left_shift(x: Any, y: Any) -> Array:
    """``x << y``."""
    return _shift(jnp.left_shift, x, y)


@dispatch
def left_shift(x: Any, y: Any) -> Array:
    """Alias of :func:`bitwise_left_shift`."""
    return _shift(jnp.left_shift, x, y)


@dispatch
def bitwise_right_shift(x: Any, y: Any) -> Array:
    """``x >> y``."""
    return _shift(jnp.right_shift, x, y)


@dispatch
def right_shift(x: Any, y: Any) -> Array:
    """Alias of :func:`bitwise_right_shift`."""
    return _shift(jnp.right_shift, x, y)


# ---------------------------------------------------------------------------------------------------------------
# logic and comparisons


@dispatch
def equal(x1: Any, x2: Any) -> Array:
    """``x1 == x2`` elementwise."""
    return _binary(jnp.equal, x1, x2)


@dispatch
def not_equal(x1: Any, x2: Any) -> Array:
    """``x1 != x2`` elementwise."""
    return _binary(jnp.not_equal, x1, x2)


@dispatch
def greater(x1: Any, x2: Any) -> Array:
    """``x1 > x2`` elementwise."""
    return _binary(jnp.greater, x1, x2)


@dispatch
def greater_equal(x1: Any, x2: Any) -> Array:
    """``x1 >= x2`` elementwise."""
    return _binary(jnp.greater_equal, x1, x2)


@dispatch
def less(x1: Any, x2: Any) -> Array:
    """``x1 < x2`` elementwise."""
    return _binary(jnp.less, x1, x2)


@dispatch
def less_equal(x1: Any, x2: Any) -> Array:
    """``x1 <= x2`` elementwise."""
    return _binary(jnp.less_equal, x1, x2)


@dispatch
def logical_and(x1: Any, x2: Any) -> Array:
    """Elementwise logical AND (truthiness)."""
    return _binary(jnp.logical_and, x1, x2)


@dispatch
def logical_or(x1: Any, x2: Any) -> Array:
    """Elementwise logical OR."""
    return _binary(jnp.logical_or, x1, x2)


@dispatch
def logical_xor(x1: Any, x2: Any) -> Array:
    """Elementwise logical XOR."""
    return _binary(jnp.logical_xor, x1, x2)


@dispatch
def logical_not(x: Any) -> Array:
    """Elementwise logical NOT."""
    return _plain_unary(jnp.logical_not, x)


@dispatch
def isclose(x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Array:
    """``|x1 - x2| <= atol + rtol * |x2|`` elementwise."""
    return jnp.isclose(convert(x1), convert(x2), rtol, atol, equal_nan)


@dispatch
def allclose(x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Array:
    """Whether :func:`isclose` holds everywhere (a scalar bool tensor)."""
    return jnp.allclose(convert(x1), convert(x2), rtol, atol, equal_nan)


@dispatch
def isfinite(x: Any) -> Array:
    """True where ``x`` is neither inf nor NaN."""
    return _plain_unary(jnp.isfinite, x)


@dispatch
def isinf(x: Any) -> Array:
    """True where ``x`` is +inf or -inf."""
    return _plain_unary(jnp.isinf, x)


@dispatch
def isnan(x: Any) -> Array:
    """True where ``x`` is NaN."""
    return _plain_unary(jnp.isnan, x)


@dispatch
def isneginf(x: Any) -> Array:
    """True where ``x`` is -inf."""
    return _plain_unary(jnp.isneginf, x)


@dispatch
def isposinf(x: Any) -> Array:
    """True where ``x`` is +inf."""
    return _plain_unary(jnp.isposinf, x)


@dispatch
def isreal(x: Any) -> Array:
    """True where the imaginary part is 0."""
    return _plain_unary(jnp.isreal, x)


@dispatch
def isin(x1: Any, x2: Any, assume_unique: bool = False, invert: bool = False) -> Array:
    """True where an element of ``x1`` is in ``x2``."""
    return jnp.isin(convert(x1), convert(x2), assume_unique=assume_unique, invert=invert)


@dispatch
def where(condition: Any, x1: Any = None, x2: Any = None) -> Array | tuple[Array, ...]:
    """``x1`` where ``condition`` else ``x2``; with neither, the indices of the true elements."""
    if (x1 is None) != (x2 is None):
        raise ValueError("`x1` and `x2` either both should be `None` or both should have non-None value.")
    if x1 is None:
        return jnp.where(convert(condition))
    return jnp.where(convert(condition), x1, x2)


@dispatch
def select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> Array:
    """The element of the first ``choicelist`` entry whose condition holds, else ``default``."""
    if not isinstance(condlist, (list, tuple)) or not isinstance(choicelist, (list, tuple)):
        raise ValueError("condlist and choicelist must be lists. Received: "
                         f"type(condlist) = {type(condlist)}, type(choicelist) = {type(choicelist)}")
    if not condlist or not choicelist:
        raise ValueError(f"condlist and choicelist must not be empty. Received: condlist = {condlist}, "
                         f"choicelist = {choicelist}")
    return jnp.select([convert(c) for c in condlist], [convert(c) for c in choicelist], default=default)


# ---------------------------------------------------------------------------------------------------------------
# reductions


@dispatch
def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:  # noqa: A001
    """Sum over ``axis`` (all axes when ``None``)."""
    return jnp.sum(convert(x), axis=_axis(axis), keepdims=keepdims)


@dispatch
def prod(x: Any, axis: Axis = None, keepdims: bool = False, dtype: Any = None) -> Array:
    """Product over ``axis``."""
    return jnp.prod(convert(x), axis=_axis(axis), keepdims=keepdims, dtype=_dtype(dtype))


@dispatch
def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:
    """Mean over ``axis``: computed in float32 at least; integers and bool give float32."""
    x = convert(x)
    compute = result_type(x.dtype, "float32")
    out = compute if _is_int_or_bool(x) else dtype_of(x)
    return cast(jnp.mean(x, axis=_axis(axis), keepdims=keepdims, dtype=compute), out)


@dispatch
def var(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:
    """Population variance over ``axis`` (computed in float32 at least)."""
    x = convert(x)
    compute = result_type(x.dtype, "float32")
    return cast(jnp.var(x, axis=_axis(axis), keepdims=keepdims, dtype=compute), result_type(x.dtype, float))


@dispatch
def std(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:
    """Population standard deviation over ``axis``."""
    return _int64_unary(lambda v: jnp.std(v, axis=_axis(axis), keepdims=keepdims), x)


@dispatch
def max(x: Any, axis: Axis = None, keepdims: bool = False, initial: Any = None) -> Array:  # noqa: A001
    """Maximum over ``axis`` (``initial``: the value for empty reductions)."""
    return jnp.max(convert(x), axis=_axis(axis), keepdims=keepdims, initial=initial)


@dispatch
def min(x: Any, axis: Axis = None, keepdims: bool = False, initial: Any = None) -> Array:  # noqa: A001
    """Minimum over ``axis``."""
    return jnp.min(convert(x), axis=_axis(axis), keepdims=keepdims, initial=initial)


@dispatch
def amax(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:
    """Maximum over ``axis``."""
    return jnp.amax(convert(x), axis=_axis(axis), keepdims=keepdims)


@dispatch
def amin(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:
    """Minimum over ``axis``."""
    return jnp.amin(convert(x), axis=_axis(axis), keepdims=keepdims)


@dispatch
def ptp(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:
    """Range (max - min) over ``axis``."""
    return jnp.ptp(convert(x), axis=_axis(axis), keepdims=keepdims)


@dispatch
def all(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:  # noqa: A001
    """Whether every element over ``axis`` is truthy."""
    return jnp.all(convert(x), axis=_axis(axis), keepdims=keepdims)


@dispatch
def any(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:  # noqa: A001
    """Whether some element over ``axis`` is truthy."""
    return jnp.any(convert(x), axis=_axis(axis), keepdims=keepdims)


@dispatch
def count_nonzero(x: Any, axis: Axis = None) -> Array:
    """Number of non-zero elements over ``axis`` (int32)."""
    return jnp.count_nonzero(convert(x), axis=_axis(axis)).astype("int32")


@dispatch
def average(x: Any, axis: int | None = None, weights: Any = None) -> Array:
    """Weighted mean over ``axis`` (in ``result_type(x, weights, float)``)."""
    x = convert(x)
    resolve = [x.dtype, float]
    if weights is not None:
        weights = convert(weights)
        resolve.append(weights.dtype)
    dtype = result_type(*resolve)
    weights = None if weights is None else cast(weights, dtype)
    return jnp.average(cast(x, dtype), weights=weights, axis=axis)


@dispatch
def median(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:
    """Median over ``axis``."""
    return _int64_unary(lambda v: jnp.median(v, axis=_axis(axis), keepdims=keepdims), x)


@dispatch
def quantile(x: Any, q: Any, axis: Axis = None, method: str = "linear", keepdims: bool = False) -> Array:
    """The ``q``-th quantiles (``q`` in [0, 1]) over ``axis``."""
    q = convert(q)
    return _int64_unary(lambda v: jnp.quantile(v, q, axis=_axis(axis), method=method, keepdims=keepdims), x)


@dispatch
def percentile(x: Any, q: Any, axis: Axis = None, method: str = "linear", keepdims: bool = False) -> Array:
    """The ``q``-th percentiles (``q`` in [0, 100]) over ``axis``."""
    return jnp.percentile(convert(x), convert(q), axis=_axis(axis), method=method, keepdims=keepdims)


@dispatch
def cumsum(x: Any, axis: int | None = None, dtype: Any = None) -> Array:
    """Cumulative sum along ``axis`` (flattened when ``None``)."""
    return jnp.cumsum(convert(x), axis=axis, dtype=_dtype(dtype))


@dispatch
def cumprod(x: Any, axis: int | None = None, dtype: Any = None) -> Array:
    """Cumulative product along ``axis`` (flattened when ``None``)."""
    return jnp.cumprod(convert(x), axis=axis, dtype=_dtype(dtype))


@dispatch
def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Array:
    """Sum along a diagonal."""
    return jnp.trace(convert(x), offset=offset, axis1=axis1, axis2=axis2)


@dispatch
def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Array:
    """Integral of ``y`` along ``axis`` by the trapezoidal rule."""
    return jnp.trapezoid(convert(y), None if x is None else convert(x), dx=convert(dx), axis=axis)


# ---------------------------------------------------------------------------------------------------------------
# NaN-ignoring reductions


@dispatch
def nansum(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:
    """Sum over ``axis`` treating NaN as 0."""
    return jnp.nansum(convert(x), axis=_axis(axis), keepdims=keepdims)


@dispatch
def nanprod(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:
    """Product over ``axis`` treating NaN as 1."""
    return jnp.nanprod(convert(x), axis=_axis(axis), keepdims=keepdims)


@dispatch
def nanmean(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:
    """Mean over ``axis`` ignoring NaN."""
    return jnp.nanmean(convert(x), axis=_axis(axis), keepdims=keepdims)


@dispatch
def nanvar(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:
    """Variance over ``axis`` ignoring NaN."""
    return jnp.nanvar(convert(x), axis=_axis(axis), keepdims=keepdims)


@dispatch
def nanstd(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:
    """Standard deviation over ``axis`` ignoring NaN."""
    return jnp.nanstd(convert(x), axis=_axis(axis), keepdims=keepdims)


@dispatch
def nanmax(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:
    """Maximum over ``axis`` ignoring NaN."""
    return jnp.nanmax(convert(x), axis=_axis(axis), keepdims=keepdims)


@dispatch
def nanmin(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:
    """Minimum over ``axis`` ignoring NaN."""
    return jnp.nanmin(convert(x), axis=_axis(axis), keepdims=keepdims)


@dispatch
def nanmedian(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:
    """Median over ``axis`` ignoring NaN."""
    return jnp.nanmedian(convert(x), axis=_axis(axis), keepdims=keepdims)


@dispatch
def nanquantile(x: Any, q: Any, axis: Axis = None, method: str = "linear", keepdims: bool = False) -> Array:
    """Quantiles over ``axis`` ignoring NaN."""
    return jnp.nanquantile(convert(x), convert(q), axis=_axis(axis), method=method, keepdims=keepdims)


@dispatch
def nanpercentile(x: Any, q: Any, axis: Axis = None, method: str = "linear", keepdims: bool = False) -> Array:
    """Percentiles over ``axis`` ignoring NaN."""
    return jnp.nanpercentile(convert(x), convert(q), axis=_axis(axis), method=method, keepdims=keepdims)


@dispatch
def nanargmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Array:
    """Index of the maximum ignoring NaN."""
    return jnp.nanargmax(convert(x), axis=axis, keepdims=keepdims)


@dispatch
def nanargmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Array:
    """Index of the minimum ignoring NaN."""
    return jnp.nanargmin(convert(x), axis=axis, keepdims=keepdims)


@dispatch
def nancumsum(x: Any, axis: int | None = None, dtype: Any = None) -> Array:
    """Cumulative sum treating NaN as 0."""
    return jnp.nancumsum(convert(x), axis=axis, dtype=_dtype(dtype))


@dispatch
def nancumprod(x: Any, axis: int | None = None, dtype: Any = None) -> Array:
    """Cumulative product treating NaN as 1."""
    return jnp.nancumprod(convert(x), axis=axis, dtype=_dtype(dtype))


# ---------------------------------------------------------------------------------------------------------------
# sorting and searching


@dispatch
def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Array:
    """Index of the maximum along ``axis`` (flattened when ``None``)."""
    x = convert(x)
    if "float" in dtype_of(x) and x.ndim and _uses_cpu(x):
        x = _without_negative_zero(x)
    return jnp.argmax(x, axis=axis, keepdims=keepdims)


@dispatch
def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Array:
    """Index of the minimum along ``axis`` (flattened when ``None``)."""
    x = convert(x)
    if "float" in dtype_of(x) and x.ndim and _uses_cpu(x):
        x = _without_negative_zero(x)
    return jnp.argmin(x, axis=axis, keepdims=keepdims)


@dispatch
def sort(x: Any, axis: int = -1) -> Array:
    """``x`` sorted along ``axis``."""
    return jnp.sort(convert(x), axis=axis)


@dispatch
def argsort(x: Any, axis: int = -1) -> Array:
    """Indices that sort ``x`` along ``axis`` (stable)."""
    x = convert(x)
    return jnp.argsort(x, axis=None if x.ndim == 0 else axis)


@dispatch
def argpartition(x: Any, kth: int, axis: int = -1) -> Array:
    """Indices that partition ``x`` around its ``kth`` smallest element along ``axis``."""
    x = convert(x)
    if axis is None:
        return jnp.argpartition(jnp.reshape(x, (-1,)), kth, axis=0)
    return jnp.argpartition(x, kth, axis=axis)


@dispatch
def searchsorted(sorted_sequence: Any, values: Any, side: str = "left") -> Array:
    """Insertion indices of ``values`` in the 1-D ``sorted_sequence``."""
    sorted_sequence, values = convert(sorted_sequence), convert(values)
    if sorted_sequence.ndim != 1:
        raise ValueError("`searchsorted` only supports 1-D sorted sequences. You can use "
                         "`keras.ops.vectorized_map` to extend it to N-D sequences. Received: "
                         f"sorted_sequence.shape={sorted_sequence.shape}")
    return jnp.searchsorted(sorted_sequence, values, side=side)


@dispatch
def digitize(x: Any, bins: Any) -> Array:
    """Index of the bin each element of ``x`` falls in."""
    return jnp.digitize(convert(x), convert(bins))


@dispatch
def nonzero(x: Any) -> tuple[Array, ...]:
    """Indices of the non-zero elements, one array per axis."""
    return jnp.nonzero(convert(x))


@dispatch
def unique(x: Any, sorted: bool = True, return_index: bool = False, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, axis: int | None = None, size: int | None = None,
           fill_value: Any = None) -> Array | tuple[Array, ...]:
    """The distinct elements (``size`` pads to a fixed length, as jit needs)."""
    return jnp.unique(convert(x), return_index=return_index, return_inverse=return_inverse,
                      return_counts=return_counts, axis=axis, equal_nan=False, size=size, sorted=sorted,
                      fill_value=fill_value)


@dispatch
def bincount(x: Any, weights: Any = None, minlength: int = 0, sparse: bool = False) -> Array:
    """Occurrences of each non-negative integer (per row for 2-D ``x``); not jittable: the length is data."""
    if sparse:
        raise ValueError("bincount(sparse=True): lamina has no sparse tensors; call it with sparse=False.")
    x = convert(x)
    weights = None if weights is None else convert(weights)
    if x.ndim == 2:
        length = builtins.max(int(jnp.max(x)) + 1 if x.size else 0, minlength)
        count = jax.vmap(lambda a, w: jnp.bincount(a, w, minlength=minlength, length=length))
        return count(x, jnp.ones_like(x) if weights is None else weights)
    return jnp.bincount(x, weights=weights, minlength=minlength)


@dispatch
def histogram(x: Any, bins: int = 10, range: tuple[float, float] | None = None) -> tuple[Array, Array]:  # noqa: A002
    """Counts of the 1-D ``x`` in ``bins`` equal bins over ``range``, and the bin edges."""
    if not isinstance(bins, int):
        raise TypeError(f"Argument `bins` must be of type `int`. Received: bins={bins}")
    if bins < 0:
        raise ValueError(f"Argument `bins` should be a non-negative integer. Received: bins={bins}")
    if range:
        if len(range) < 2 or not isinstance(range, tuple):
            raise ValueError(f"Argument `range` must be a tuple of two elements. Received: range={range}")
        if range[1] < range[0]:
            raise ValueError(f"The second element of `range` must be greater than the first. Received: range={range}")
    x = convert(x)
    if x.ndim > 1:
        raise ValueError(f"Input tensor must be 1-dimensional. Received: input.shape={x.shape}")
    return jnp.histogram(x, bins=bins, range=range)


# ---------------------------------------------------------------------------------------------------------------
# shape manipulation


@dispatch
def reshape(x: Any, newshape: Any) -> Array:
    """``x`` with shape ``newshape`` (one ``-1`` is inferred)."""
    if not isinstance(newshape, jax.Array):
        newshape = tuple(newshape) if isinstance(newshape, Sequence) else (newshape,)
        static = [int(d) for d in newshape if isinstance(d, (int, np.integer))]
        if static.count(-1) > 1 or builtins.any(d < -1 for d in static):
            raise ValueError("Each dimension in `newshape` must be a non-negative integer, or `-1` for a single "
                             f"unknown dimension. Received: newshape={newshape}.")
    return jnp.reshape(convert(x), newshape)


@dispatch
def ravel(x: Any) -> Array:
    """``x`` flattened to 1-D."""
    return jnp.ravel(convert(x))


@dispatch
def transpose(x: Any, axes: Sequence[int] | None = None) -> Array:
    """``x`` with its axes permuted (reversed when ``axes`` is ``None``)."""
    return jnp.transpose(convert(x), axes=axes)


@dispatch
def swapaxes(x: Any, axis1: int, axis2: int) -> Array:
    """``x`` with two axes exchanged."""
    return jnp.swapaxes(convert(x), axis1, axis2)


@dispatch
def moveaxis(x: Any, source: int | Sequence[int], destination: int | Sequence[int]) -> Array:
    """``x`` with axes moved from ``source`` to ``destination``."""
    return jnp.moveaxis(convert(x), source, destination)


@dispatch
def expand_dims(x: Any, axis: int | Sequence[int]) -> Array:
    """``x`` with a size-1 axis inserted at ``axis``."""
    return jnp.expand_dims(convert(x), _axis(axis))


@dispatch
def squeeze(x: Any, axis: Axis = None) -> Array:
    """``x`` without its size-1 axes (or only ``axis``)."""
    return jnp.squeeze(convert(x), axis=_axis(axis))


@dispatch
def broadcast_to(x: Any, shape: Sequence[int]) -> Array:
    """``x`` broadcast to ``shape``."""
    return jnp.broadcast_to(convert(x), shape)


@dispatch
def flip(x: Any, axis: Axis = None) -> Array:
    """``x`` reversed along ``axis`` (all axes when ``None``)."""
    return jnp.flip(convert(x), axis=_axis(axis))


@dispatch
def fliplr(x: Any) -> Array:
    """``x`` reversed along axis 1."""
    return jnp.fliplr(convert(x))


@dispatch
def flipud(x: Any) -> Array:
    """``x`` reversed along axis 0."""
    return jnp.flipud(convert(x))


@dispatch
def rot90(array: Any, k: int = 1, axes: tuple[int, int] = (0, 1)) -> Array:
    """``array`` rotated by ``k`` quarter turns in the plane of ``axes``."""
    array = convert(array)
    if array.ndim < 2:
        raise ValueError(f"Input array must have at least 2 dimensions. Received: array.ndim={array.ndim}")
    if len(axes) != 2 or axes[0] == axes[1]:
        raise ValueError(f"Invalid axes: {axes}. Axes must be a tuple of two different dimensions.")
    return jnp.rot90(array, k=k, axes=tuple(axes))


@dispatch
def roll(x: Any, shift: int | Sequence[int], axis: Axis = None) -> Array:
    """``x`` shifted cyclically by ``shift`` along ``axis`` (flattened when ``None``)."""
    return jnp.roll(convert(x), shift, axis=_axis(axis))


@dispatch
def tile(x: Any, repeats: int | Sequence[int]) -> Array:
    """``x`` repeated ``repeats`` times along each axis."""
    return jnp.tile(convert(x), repeats)


@dispatch
def repeat(x: Any, repeats: Any, axis: int | None = None) -> Array:
    """Each element repeated ``repeats`` times along ``axis`` (flattened when ``None``)."""
    return jnp.repeat(convert(x), repeats, axis=axis)


@dispatch
def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = None) -> Array:
    """``x`` padded by ``pad_width`` (an int, one pair, or one pair per axis) in ``mode``."""
    x = convert(x)
    if isinstance(pad_width, int):
        pad_width = ((pad_width, pad_width),)
    elif isinstance(pad_width, (tuple, list)) and isinstance(pad_width[0], int):
        pad_width = (tuple(pad_width),)
    else:
        if builtins.any(len(pw) != len(pad_width[0]) for pw in pad_width):
            raise ValueError("`pad_width` should be a list of tuples of length 1 or 2. "
                             f"Received: pad_width={pad_width}")
        pad_width = tuple((pw[0], pw[0]) if len(pw) == 1 else tuple(pw) for pw in pad_width)
    if len(pad_width) > 1 and len(pad_width) != x.ndim:
        raise ValueError(f"`pad_width` must have the same length as `x.shape`. Received: pad_width={pad_width} "
                         f"(of length {len(pad_width)}) and x.shape={x.shape} (of length {x.ndim})")
    if constant_values is None:
        return jnp.pad(x, pad_width, mode=mode)
    if mode != "constant":
        raise ValueError("Argument `constant_values` can only be provided when `mode == 'constant'`. "
                         f"Received: mode={mode}")
    return jnp.pad(x, pad_width, mode=mode, constant_values=constant_values)


@dispatch
def concatenate(xs: Sequence[Any], axis: int | None = 0) -> Array:
    """The tensors of ``xs`` joined along ``axis``."""
    return jnp.concatenate([convert(x) for x in xs], axis=axis)


@dispatch
def append(x1: Any, x2: Any, axis: int | None = None) -> Array:
    """``x2`` appended to ``x1`` along ``axis`` (both flattened when ``None``)."""
    return jnp.append(convert(x1), convert(x2), axis=axis)


@dispatch
def stack(x: Sequence[Any], axis: int = 0) -> Array:
    """The tensors of ``x`` stacked along a new ``axis``."""
    return jnp.stack([convert(t) for t in x], axis=axis)


@dispatch
def hstack(xs: Sequence[Any]) -> Array:
    """The tensors of ``xs`` joined column-wise."""
    return jnp.hstack([convert(x) for x in xs])


@dispatch
def vstack(xs: Sequence[Any]) -> Array:
    """The tensors of ``xs`` joined row-wise."""
    return jnp.vstack([convert(x) for x in xs])


@dispatch
def dstack(xs: Sequence[Any]) -> Array:
    """The tensors of ``xs`` joined along the third axis."""
    return jnp.dstack([convert(x) for x in xs])


@dispatch
def split(x: Any, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Array]:
    """``x`` cut into equal sections (or at the given indices) along ``axis``."""
    return jnp.split(convert(x), indices_or_sections, axis=axis)


@dispatch
def array_split(x: Any, indices_or_sections: int, axis: int = 0) -> list[Array]:
    """``x`` cut into ``indices_or_sections`` nearly equal parts along ``axis``."""
    if not isinstance(indices_or_sections, int):
        raise TypeError("Argument `indices_or_sections` must be of type `int`. "
                        f"Received: indices_or_sections={indices_or_sections}")
    if indices_or_sections <= 0:
        raise ValueError("Argument `indices_or_sections` must be a positive integer. "
                         f"Received: indices_or_sections={indices_or_sections}")
    if not isinstance(axis, int):
        raise TypeError(f"Argument `axis` must be of type `int`. Received: {axis}")
    return jnp.array_split(convert(x), indices_or_sections, axis=axis)


@dispatch
def hsplit(x: Any, indices_or_sections: int | Sequence[int]) -> list[Array]:
    """``x`` split column-wise."""
    return jnp.hsplit(convert(x), indices_or_sections)


@dispatch
def vsplit(x: Any, indices_or_sections: int | Sequence[int]) -> list[Array]:
    """``x`` split row-wise."""
    return jnp.vsplit(convert(x), indices_or_sections)


@dispatch
def dsplit(x: Any, indices_or_sections: int | Sequence[int]) -> list[Array]:
    """``x`` split along the third axis."""
    return jnp.dsplit(convert(x), indices_or_sections)


@dispatch
def diff(a: Any, n: int = 1, axis: int = -1) -> Array:
    """The ``n``-th discrete difference along ``axis``."""
    return jnp.diff(convert(a), n=n, axis=axis)


@dispatch
def take(x: Any, indices: Any, axis: int | None = None) -> Array:
    """Elements of ``x`` at ``indices`` along ``axis`` (flattened when ``None``)."""
    return jnp.take(convert(x), convert(indices), axis=axis)


@dispatch
def take_along_axis(x: Any, indices: Any, axis: int | None = None) -> Array:
    """Elements of ``x`` picked by an index array of matching rank along ``axis``."""
    return jnp.take_along_axis(convert(x), convert(indices), axis=axis)


@dispatch
def get_item(x: Any, key: Any) -> Array:
    """``x[key]``."""
    return convert(x)[key]


@dispatch
def unravel_index(indices: Any, shape: Sequence[int]) -> tuple[Array, ...]:
    """Flat ``indices`` as one coordinate array per axis of ``shape``."""
    return jnp.unravel_index(convert(indices), shape)


@dispatch
def ndim(x: Any) -> int:
    """The number of axes of ``x``."""
    return np.ndim(x)


@dispatch
def size(x: Any) -> int:
    """The number of elements of ``x``."""
    return np.size(x)


@dispatch
def copy(x: Any) -> Array:
    """A copy of ``x``."""
    return jnp.copy(convert(x))


@dispatch
def view(x: Any, dtype: Any = None) -> Array:
    """The bytes of ``x`` reinterpreted as ``dtype``."""
    return convert(x).view(_dtype(dtype))


@dispatch
def array(x: Any, dtype: Any = None) -> Array:
    """A tensor from ``x`` (``dtype`` inferred when ``None``)."""
    return jnp.array(x, dtype=_dtype(dtype))


# ---------------------------------------------------------------------------------------------------------------
# creation


@dispatch
def zeros(shape: int | Sequence[int], dtype: Any = None) -> Array:
    """A tensor of zeros (``floatx()`` by default)."""
    return jnp.zeros(shape, dtype=_dtype(dtype) or backend.floatx())


@dispatch
def ones(shape: int | Sequence[int], dtype: Any = None) -> Array:
    """A tensor of ones (``floatx()`` by default)."""
    return jnp.ones(shape, dtype=_dtype(dtype) or backend.floatx())


@dispatch
def empty(shape: int | Sequence[int], dtype: Any = None) -> Array:
    """An uninitialised tensor (zeros on JAX; ``floatx()`` by default)."""
    return jnp.empty(shape, dtype=_dtype(dtype) or backend.floatx())


@dispatch
def full(shape: int | Sequence[int], fill_value: Any, dtype: Any = None) -> Array:
    """A tensor filled with ``fill_value`` (``floatx()`` by default)."""
    return jnp.full(shape, fill_value, dtype=_dtype(dtype) or backend.floatx())


@dispatch
def zeros_like(x: Any, dtype: Any = None) -> Array:
    """Zeros with the shape (and dtype unless given) of ``x``."""
    return jnp.zeros_like(convert(x), dtype=_dtype(dtype))


@dispatch
def ones_like(x: Any, dtype: Any = None) -> Array:
    """Ones with the shape (and dtype unless given) of ``x``."""
    return jnp.ones_like(convert(x), dtype=_dtype(dtype))


@dispatch
def empty_like(x: Any, dtype: Any = None) -> Array:
    """An uninitialised tensor shaped like ``x``."""
    return jnp.empty_like(convert(x), dtype=_dtype(dtype))


@dispatch
def full_like(x: Any, fill_value: Any, dtype: Any = None) -> Array:
    """``fill_value`` with the shape (and dtype unless given) of ``x``."""
    return jnp.full_like(convert(x), fill_value, dtype=_dtype(dtype))


@dispatch
def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Array:  # noqa: N803
    """A 2-D tensor with ones on the ``k``-th diagonal."""
    def floating(v: Any) -> bool:
        return isinstance(v, float) or getattr(v, "dtype", None) in ("bfloat16", "float16", "float32", "float64")

    if floating(N):
        raise TypeError("Argument `N` must be an integer or an integer tensor.")
    if floating(M):
        raise TypeError("Argument `M` must be an integer, an integer tensor, or `None`.")
    return jnp.eye(N, M=M, k=k, dtype=_dtype(dtype) or backend.floatx())


@dispatch
def identity(n: int, dtype: Any = None) -> Array:
    """The ``n x n`` identity matrix."""
    return jnp.identity(n, dtype=_dtype(dtype) or backend.floatx())


@dispatch
def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Array:  # noqa: N803
    """Ones at and below the ``k``-th diagonal."""
    return jnp.tri(N, M=M, k=k, dtype=_dtype(dtype) or backend.floatx())


@dispatch
def tril(x: Any, k: int = 0) -> Array:
    """``x`` with the elements above the ``k``-th diagonal zeroed."""
    return jnp.tril(convert(x), k=k)


@dispatch
def triu(x: Any, k: int = 0) -> Array:
    """``x`` with the elements below the ``k``-th diagonal zeroed."""
    return jnp.triu(convert(x), k=k)


@dispatch
def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None) -> Array:
    """Evenly spaced values in ``[start, stop)`` (dtype from the arguments: Python ints give int32)."""
    if dtype is None:
        dtype = result_type(*(getattr(v, "dtype", type(v)) for v in (start, stop, step) if v is not None))
    return jnp.arange(start, stop, step=step, dtype=standardize_dtype(dtype))


@dispatch
def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype: Any = None, axis: int = 0) -> Array | tuple[Array, Array]:
    """``num`` evenly spaced values from ``start`` to ``stop``."""
    return jnp.linspace(start, stop, num=num, endpoint=endpoint, retstep=retstep, dtype=_dtype(dtype), axis=axis)


@dispatch
def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: float = 10, dtype: Any = None,
             axis: int = 0) -> Array:
    """``num`` values evenly spaced on a log scale from ``base**start`` to ``base**stop``."""
    return jnp.logspace(start, stop, num=num, endpoint=endpoint, base=base, dtype=_dtype(dtype), axis=axis)


@dispatch
def geomspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None,
              axis: int = 0) -> Array:
    """``num`` values in geometric progression from ``start`` to ``stop``."""
    return jnp.geomspace(start, stop, num=num, endpoint=endpoint, dtype=_dtype(dtype), axis=axis)


@dispatch
def meshgrid(*x: Any, indexing: str = "xy") -> list[Array]:
    """Coordinate grids from 1-D coordinate vectors (``"xy"`` or ``"ij"`` indexing)."""
    return jnp.meshgrid(*(convert(v) for v in x), indexing=indexing)


@dispatch
def diag(x: Any, k: int = 0) -> Array:
    """The ``k``-th diagonal of a 2-D ``x``, or a 2-D tensor with the 1-D ``x`` on it."""
    return jnp.diag(convert(x), k=k)


@dispatch
def diagflat(x: Any, k: int = 0) -> Array:
    """A 2-D tensor with the flattened ``x`` on the ``k``-th diagonal."""
    return jnp.diagflat(convert(x), k=k)


@dispatch
def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Array:
    """The diagonal of ``x`` over ``axis1`` and ``axis2`` (batched over the others, last in the result)."""
    x = convert(x)
    if _canonical_axis(axis1, x.ndim) == _canonical_axis(axis2, x.ndim):
        raise ValueError(f"`axis1` and `axis2` cannot be the same. Received: axis1={axis1}, axis2={axis2}")
    return jnp.diagonal(x, offset=offset, axis1=axis1, axis2=axis2)


@dispatch
def vander(x: Any, N: int | None = None, increasing: bool = False) -> Array:  # noqa: N803
    """The Vandermonde matrix of the 1-D ``x`` (powers decreasing unless ``increasing``)."""
    x = convert(x)
    if x.ndim != 1:
        raise ValueError(f"Input tensor must be 1-dimensional. Received: input.shape={x.shape}")
    if N is not None:
        if not isinstance(N, int):
            raise TypeError(f"Argument `N` must be of type `int`. Received: N={N} of type {type(N)}")
        if N < 0:
            raise ValueError(f"Argument 'N' must be nonnegative. Received: N={N}")
    if not isinstance(increasing, bool):
        raise TypeError(f"Argument `increasing` must be of type `bool`. Received: increasing={increasing} "
                        f"of type {type(increasing)}")
    return jnp.vander(x, N=N, increasing=increasing)


# ---------------------------------------------------------------------------------------------------------------
# linear algebra-ish


@dispatch
def matmul(x1: Any, x2: Any) -> Array:
    """Matrix product with broadcasting batch axes (int8 x int8 accumulates in int32)."""
    x1, x2 = convert(x1), convert(x2)
    both_int8 = dtype_of(x1) == "int8" and dtype_of(x2) == "int8"
    return jnp.matmul(x1, x2, preferred_element_type="int32" if both_int8 else None)


@dispatch
def dot(x1: Any, x2: Any) -> Array:
    """Dot product (matrix product for 2-D, sum over the last/second-to-last axes for N-D)."""
    return _binary(jnp.dot, x1, x2)


@dispatch
def vdot(x1: Any, x2: Any) -> Array:
    """Dot product of the flattened inputs (the first conjugated)."""
    return _binary(jnp.vdot, x1, x2)


@dispatch
def inner(x1: Any, x2: Any) -> Array:
    """Inner product over the last axes."""
    return _binary(jnp.inner, x1, x2)


@dispatch
def outer(x1: Any, x2: Any) -> Array:
    """Outer product of the flattened inputs."""
    return _binary(jnp.outer, x1, x2)


@dispatch
def tensordot(x1: Any, x2: Any, axes: int | Sequence[Any] = 2) -> Array:
    """Sum of products over ``axes`` (an int: the last/first ``axes`` axes)."""
    return jnp.tensordot(convert(x1), convert(x2), axes=axes)


@dispatch
def kron(x1: Any, x2: Any) -> Array:
    """Kronecker product."""
    return _binary(jnp.kron, x1, x2)


@dispatch
def cross(x1: Any, x2: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None) -> Array:
    """Cross product of 3-vectors (or 2-vectors) along the given axes."""
    return jnp.cross(convert(x1), convert(x2), axisa=axisa, axisb=axisb, axisc=axisc, axis=axis)


@dispatch
def einsum(subscripts: str, *operands: Any, **kwargs: Any) -> Array:
    """Einstein summation (all-int8 operands accumulate in int32)."""
    operands = tuple(convert(x) for x in operands)
    all_int8 = {dtype_of(x) for x in operands} == {"int8"}
    return jnp.einsum(subscripts, *operands, **kwargs, preferred_element_type="int32" if all_int8 else None)


@dispatch
def slogdet(x: Any) -> tuple[Array, Array]:
    """Sign and log of the absolute determinant."""
    return tuple(jnp.linalg.slogdet(convert(x)))


@dispatch
def corrcoef(x: Any) -> Array:
    """Pearson correlation coefficients of the rows of ``x``."""
    return jnp.corrcoef(convert(x))


@dispatch
def correlate(x1: Any, x2: Any, mode: str = "valid") -> Array:
    """Cross-correlation of two 1-D sequences (``"valid"``, ``"same"`` or ``"full"``)."""
    return jnp.correlate(convert(x1), convert(x2), mode)


@dispatch
def vectorize(pyfunc: Callable[..., Any], *, excluded: set[int | str] | None = None,
              signature: str | None = None) -> Callable[..., Any]:
    """``pyfunc`` made to map over the leading axes of its arguments (``jnp.vectorize``)."""
    if not callable(pyfunc):
        raise ValueError(f"Expected argument `pyfunc` to be a callable. Received: pyfunc={pyfunc}")
    return jnp.vectorize(pyfunc, excluded=excluded or set(), signature=signature)


# ---------------------------------------------------------------------------------------------------------------
# windows (eager only: the length is a Python int)


@dispatch
def bartlett(x: int) -> Array:
    """The Bartlett (triangular) window of ``x`` points, in ``floatx()``."""
    return _window(jnp.bartlett, x)


@dispatch
def blackman(x: int) -> Array:
    """The Blackman window of ``x`` points, in ``floatx()``."""
    return _window(jnp.blackman, x)


@dispatch
def hamming(x: int) -> Array:
    """The Hamming window of ``x`` points, in ``floatx()``."""
    return _window(jnp.hamming, x)


@dispatch
def hanning(x: int) -> Array:
    """The Hann window of ``x`` points, in ``floatx()``."""
    return _window(jnp.hanning, x)


@dispatch
def kaiser(x: int, beta: float) -> Array:
    """The Kaiser window of ``x`` points and shape ``beta``, in ``floatx()``."""
    return _window(lambda n: jnp.kaiser(n, beta), x)


__all__ = [
    'abs', 'absolute', 'add', 'all', 'allclose', 'amax', 'amin', 'angle', 'any', 'append', 'arange', 'arccos',
    'arccosh', 'arcsin', 'arcsinh', 'arctan', 'arctan2', 'arctanh', 'argmax', 'argmin', 'argpartition',
    'argsort', 'array', 'array_split', 'average', 'bartlett', 'bincount', 'bitwise_and', 'bitwise_invert',
    'bitwise_left_shift', 'bitwise_not', 'bitwise_or', 'bitwise_right_shift', 'bitwise_xor', 'blackman',
    'broadcast_to', 'cbrt', 'ceil', 'clip', 'concatenate', 'conj', 'conjugate', 'copy', 'corrcoef', 'correlate',
    'cos', 'cosh', 'count_nonzero', 'cross', 'cumprod', 'cumsum', 'deg2rad', 'diag', 'diagflat', 'diagonal',
    'diff', 'digitize', 'divide', 'divide_no_nan', 'dot', 'dsplit', 'dstack', 'einsum', 'empty', 'empty_like',
    'equal', 'exp', 'exp2', 'expand_dims', 'expm1', 'eye', 'fabs', 'flip', 'fliplr', 'flipud', 'floor',
    'floor_divide', 'fmax', 'fmin', 'fmod', 'full', 'full_like', 'gcd', 'geomspace', 'get_item', 'greater',
    'greater_equal', 'hamming', 'hanning', 'heaviside', 'histogram', 'hsplit', 'hstack', 'hypot', 'i0',
    'identity', 'imag', 'inner', 'isclose', 'isfinite', 'isin', 'isinf', 'isnan', 'isneginf', 'isposinf',
    'isreal', 'kaiser', 'kron', 'lcm', 'ldexp', 'left_shift', 'less', 'less_equal', 'linspace', 'log', 'log10',
    'log1p', 'log2', 'logaddexp', 'logaddexp2', 'logical_and', 'logical_not', 'logical_or', 'logical_xor',
    'logspace', 'matmul', 'max', 'maximum', 'mean', 'median', 'meshgrid', 'min', 'minimum', 'mod', 'moveaxis',
    'multiply', 'nan_to_num', 'nanargmax', 'nanargmin', 'nancumprod', 'nancumsum', 'nanmax', 'nanmean',
    'nanmedian', 'nanmin', 'nanpercentile', 'nanprod', 'nanquantile', 'nanstd', 'nansum', 'nanvar', 'ndim',
    'negative', 'nextafter', 'nonzero', 'not_equal', 'ones', 'ones_like', 'outer', 'pad', 'percentile', 'power',
    'prod', 'ptp', 'quantile', 'rad2deg', 'ravel', 'real', 'reciprocal', 'repeat', 'reshape', 'right_shift',
    'roll', 'rot90', 'round', 'searchsorted', 'select', 'sign', 'signbit', 'sin', 'sinc', 'sinh', 'size',
    'slogdet', 'sort', 'split', 'sqrt', 'square', 'squeeze', 'stack', 'std', 'subtract', 'sum', 'swapaxes',
    'take', 'take_along_axis', 'tan', 'tanh', 'tensordot', 'tile', 'trace', 'transpose', 'trapezoid', 'tri',
    'tril', 'triu', 'true_divide', 'trunc', 'unique', 'unravel_index', 'vander', 'var', 'vdot', 'vectorize',
    'view', 'vsplit', 'vstack', 'where', 'zeros', 'zeros_like',
]
