"""``lamina.ops`` NumPy-style names against ``keras.ops`` (JAX backend): values, shapes and dtypes.

One table of argument builders (see ``ops_oracle.py``). Families share generated cases: every unary float op sees
float32, float16, int32, bool and a Python scalar; binary ops see broadcasting, int/float mixes and weak Python
scalars; reductions see ``axis`` None/int/negative/tuple and ``keepdims``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from .ops_oracle import Case, args, cases_test


class Gen:
    """An argument drawn from the case's generator."""

    def __init__(self, fn: Callable[[np.random.Generator], Any]) -> None:
        self.fn = fn

    def __call__(self, rng: np.random.Generator) -> Any:
        return self.fn(rng)


def F(*shape: int, dtype: str = "float32", scale: float = 1.0, shift: float = 0.0) -> Gen:
    """Normal floats."""
    return Gen(lambda r: (r.standard_normal(shape) * scale + shift).astype(dtype))


def U(*shape: int, lo: float = 0.0, hi: float = 1.0, dtype: str = "float32") -> Gen:
    """Uniform floats in ``[lo, hi)``."""
    return Gen(lambda r: r.uniform(lo, hi, shape).astype(dtype))


def I(*shape: int, lo: int = -5, hi: int = 6, dtype: str = "int32") -> Gen:  # noqa: E743
    """Integers in ``[lo, hi)``."""
    return Gen(lambda r: r.integers(lo, hi, shape).astype(dtype))


def B(*shape: int) -> Gen:
    """Random bools."""
    return Gen(lambda r: r.random(shape) > 0.5)


def NAN(*shape: int, dtype: str = "float32") -> Gen:
    """Floats with about a third NaN."""
    def make(r: np.random.Generator) -> np.ndarray:
        x = r.standard_normal(shape).astype(dtype)
        x[r.random(shape) < 0.3] = np.nan
        return x
    return Gen(make)


def CX(*shape: int) -> Gen:
    """complex64."""
    return Gen(lambda r: (r.standard_normal(shape) + 1j * r.standard_normal(shape)).astype("complex64"))


def _draw(v: Any, r: np.random.Generator) -> Any:
    if isinstance(v, Gen):
        return v(r)
    if isinstance(v, list):
        return [_draw(x, r) for x in v]
    if isinstance(v, tuple):
        return tuple(_draw(x, r) for x in v)
    return v


def C(*a: Any, id: str | None = None, rtol: float = 1e-5, atol: float = 1e-6, raises: type | None = None,  # noqa: A002
      post: Callable[[Any], Any] | None = None, **kw: Any) -> Case:
    """A case whose ``Gen`` arguments (also inside lists/tuples) are drawn from the rng."""
    return Case(lambda r: (_draw(a, r), {k: _draw(v, r) for k, v in kw.items()}), rtol=rtol, atol=atol,
                raises=raises, id=id, post=post)


F16 = dict(rtol=2e-3, atol=2e-3)

# ---------------------------------------------------------------------------------------------------------------
# families

UNARY_FLOAT = ["sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
               "arctanh", "sinc", "exp", "exp2", "expm1", "log", "log10", "log1p", "log2", "sqrt", "ceil", "floor",
               "angle", "i0", "cbrt", "deg2rad", "rad2deg", "reciprocal"]
UNARY_ANY = ["abs", "absolute", "negative", "square", "sign", "signbit", "trunc", "real", "imag", "conj",
             "conjugate", "isfinite", "isinf", "isnan", "isneginf", "isposinf", "isreal", "logical_not", "fabs",
             "copy", "ravel"]
BINARY_ARITH = ["add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "mod", "fmod", "power",
                "maximum", "minimum", "fmax", "fmin", "hypot", "arctan2", "logaddexp", "logaddexp2", "heaviside",
                "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "logical_and",
                "logical_or", "logical_xor", "divide_no_nan", "nextafter"]
REDUCE = ["sum", "prod", "mean", "var", "std", "max", "min", "amax", "amin", "ptp", "all", "any", "median",
          "nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin", "nanmedian"]


def _unary_cases(name: str) -> list[Case]:
    small = dict(lo=1, hi=4) if name in ("arccosh",) else dict(lo=-1, hi=2) if name in ("arctanh",) else {}
    cases = [C(U(2, 3, lo=-0.9, hi=0.9), id="float32"), C(U(5, lo=1.1, hi=3.0), id="float32-big"),
             C(I(4, **small), id="int32"), C(B(4), id="bool"),
             C(U(3, lo=-0.9, hi=0.9, dtype="float16"), id="float16", **F16), C(0.5, id="python-float"),
             C(I(3, lo=0, hi=3, dtype="uint8"), id="uint8"), C(I(2, lo=-2, hi=3, dtype="int8"), id="int8")]
    if name in ("i0",):
        cases[4] = C(U(3, lo=-0.9, hi=0.9, dtype="float16"), id="float16", rtol=1e-2, atol=1e-2)
    return cases


def _unary_any_cases(name: str) -> list[Case]:
    cases = [C(F(2, 3), id="float32"), C(I(5), id="int32"), C(F(3, dtype="float16"), id="float16", **F16),
             C(np.array([np.nan, np.inf, -np.inf, -0.0, 1.0], "float32"), id="specials")]
    if name not in ("negative", "abs", "absolute", "fabs", "square", "sign", "reciprocal"):
        cases.append(C(B(4), id="bool"))
    if name not in ("fabs", "signbit", "trunc"):
        cases.append(C(CX(3), id="complex64"))
    if name not in ("ravel", "copy"):
        cases.append(C(-2, id="python-int"))
    return cases


def _binary_cases(name: str) -> list[Case]:
    logical = name.startswith("logical_") or name in ("equal", "not_equal", "greater", "greater_equal", "less",
                                                      "less_equal")
    float_only = name in ("nextafter",)
    cases = [C(F(2, 3), F(3), id="float32-broadcast"), C(F(3, 1), F(1, 4, dtype="float16"), id="mixed-float")]
    if not float_only:
        cases += [C(I(2, 3), I(2, 3, lo=1), id="int32"), C(I(4), F(4), id="int-float"),
                  C(I(3, dtype="int8"), 2, id="int8-weak-int"), C(I(3, lo=1, dtype="uint8"), 3, id="uint8-weak"),
                  C(I(3, dtype="int16"), 2.5, id="int-weak-float")]
    cases += [C(F(3, dtype="float16"), 2.5, id="float16-weak", **F16), C(1.5, F(2, 2), id="python-left")]
    if logical or name in ("maximum", "minimum", "add", "multiply"):
        cases.append(C(B(4), B(4), id="bool"))
    if name in ("fmax", "fmin", "maximum", "minimum"):
        cases.append(C(NAN(5), F(5), id="nan"))
    return cases


def _reduce_cases(name: str) -> list[Case]:
    x = NAN if name.startswith("nan") else F
    cases = [C(x(3, 4), id="all-axes"), C(x(3, 4), axis=1, id="axis1"),
             C(x(2, 3, 4), axis=(0, 2), keepdims=True, id="tuple-keepdims"), C(x(2, 3, 4), axis=-1, id="neg"),
             C(I(3, 4, lo=-3, hi=4), axis=0, id="int32"), C(x(3, 4, dtype="float16"), axis=-1, id="float16", **F16),
             C(x(2, 3), axis=None, keepdims=True, id="none-keepdims")]
    if name in ("all", "any", "sum", "prod", "mean", "max", "min", "var"):
        cases.append(C(B(3, 4), axis=1, id="bool"))
    if name in ("sum", "prod", "mean"):
        cases.append(C(I(3, 4, lo=0, hi=3, dtype="int8"), id="int8"))
    return cases


CASES: dict[str, list[Case]] = {}
CASES.update({n: _unary_cases(n) for n in UNARY_FLOAT})
CASES.update({n: _unary_any_cases(n) for n in UNARY_ANY})
CASES.update({n: _binary_cases(n) for n in BINARY_ARITH})
CASES.update({n: _reduce_cases(n) for n in REDUCE})

CASES["fabs"].append(C(CX(3), raises=TypeError, id="complex-raises"))
for _n in ("isneginf", "isposinf"):
    CASES[_n] = [c if c.id != "complex64" else C(CX(3), raises=ValueError, id="complex-raises") for c in CASES[_n]]
for _n in ("bitwise_and", "bitwise_or", "bitwise_xor"):
    CASES[_n] = [C(I(3, 4, lo=0, hi=64), I(4, lo=0, hi=64), id="int32"), C(B(4), B(4), id="bool"),
                 C(I(3, lo=0, hi=9, dtype="uint8"), 5, id="uint8-weak"),
                 C(I(3, dtype="int8"), I(3, dtype="int16"), id="int8-int16")]
for _n in ("bitwise_invert", "bitwise_not"):
    CASES[_n] = [C(I(3, 4), id="int32"), C(B(4), id="bool"), C(I(3, lo=0, hi=200, dtype="uint8"), id="uint8")]
for _n in ("bitwise_left_shift", "left_shift", "bitwise_right_shift", "right_shift"):
    CASES[_n] = [C(I(3, 4, lo=0, hi=100), I(4, lo=0, hi=5), id="int32"), C(I(3, lo=0, hi=9, dtype="uint8"), 2,
                                                                        id="python-int"),
                 C(I(3, lo=-50, hi=50, dtype="int16"), I(3, lo=0, hi=4, dtype="int16"), id="int16")]
for _n in ("gcd", "lcm"):
    CASES[_n] = [C(I(3, 4, lo=-20, hi=20), I(4, lo=1, hi=12), id="int32"), C(I(3, lo=0, hi=30, dtype="int8"), 6,
                                                                           id="weak")]

# ---------------------------------------------------------------------------------------------------------------
# elementwise with arguments

CASES.update({
    "clip": [C(F(3, 4), -0.5, 0.5, id="float32"), C(I(5), -2, 3, id="int32"), C(B(4), 0, 1, id="bool"),
             C(I(4), -1.5, 2.5, id="int-float-bounds"), C(F(4, dtype="float16"), -0.5, 0.5, id="float16")],
    "round": [C(F(3, 4, scale=10.0), id="float32"), C(F(3, scale=10.0), decimals=1, id="decimals"),
              C(I(5, lo=-500, hi=500), decimals=-1, id="int-negative-decimals"), C(I(4), id="int32")],
    "nan_to_num": [C(np.array([np.nan, np.inf, -np.inf, 1.0], "float32"), id="default"),
                   C(np.array([np.nan, np.inf, -np.inf, 2.0], "float32"), nan=-1.0, posinf=9.0, neginf=-9.0,
                     id="values"),
                   C(I(3), id="int32")],
    "ldexp": [C(F(3, 4), I(4, lo=-3, hi=4), id="float32"), C(I(3), I(3, lo=0, hi=3), id="int32"),
              C(F(3), F(3), raises=TypeError, id="float-exponent-raises")],
    "isclose": [C(F(3), F(3), id="random"), C(np.array([1.0, np.nan, 2.0], "float32"),
                                              np.array([1.0 + 1e-7, np.nan, 2.1], "float32"), equal_nan=True,
                                              id="equal_nan"),
                C(I(4), I(4), id="int32"), C(F(4), 0.0, atol=1.0, rtol=0.0, id="scalar-atol")],
    "allclose": [C(F(3), F(3), id="random"), C(np.ones(3, "float32"), 1.0, id="scalar"),
                 C(np.array([1.0, 2.0], "float32"), np.array([1.05, 2.0], "float32"), rtol=0.1, id="rtol")],
    "isin": [C(I(3, 4), I(5), id="int32"), C(I(6), I(3), invert=True, id="invert"),
             C(F(4), np.array([0.0], "float32"), id="float32")],
    "where": [C(B(3, 4), F(3, 4), F(4), id="arrays"), C(B(4), 1, 0.5, id="python-scalars"),
              C(B(4), I(4), F(4), id="int-float"), C(I(3, 3, lo=0, hi=2), id="condition-only"),
              C(B(3), F(3), raises=ValueError, id="x1-only-raises")],
    "select": [C([Gen(lambda r: np.arange(6) < 2), Gen(lambda r: np.arange(6) > 3)], [F(6), F(6)], default=-1.0,
                 id="float32"),
               C([B(4)], [I(4)], id="int32"), C(B(4), [F(4)], raises=ValueError, id="not-a-list-raises")],
})

# ---------------------------------------------------------------------------------------------------------------
# reductions with their own arguments

CASES["max"] += [C(F(3), initial=5.0, id="initial"), C(np.zeros((0,), "float32"), initial=-1.0, id="empty")]
CASES["min"] += [C(F(3, 2), axis=0, initial=-5.0, id="initial")]
CASES["prod"] += [C(I(3, 4, lo=1, hi=3), axis=1, dtype="float32", id="dtype")]
CASES.update({
    "count_nonzero": [C(I(3, 4, lo=-1, hi=2), id="all"), C(I(3, 4, lo=-1, hi=2), axis=1, id="axis"),
                      C(F(2, 3, 4), axis=(0, 2), id="tuple"), C(B(5), id="bool")],
    "average": [C(F(3, 4), id="all"), C(F(3, 4), axis=1, weights=U(4, lo=0.1), id="weights"),
                C(I(3, 4), axis=0, id="int32"), C(F(4, dtype="float16"), weights=U(4, lo=0.1), id="float16", **F16),
                C(I(5), weights=I(5, lo=1, hi=3), id="int-weights")],
    "quantile": [C(F(10), 0.5, id="median"), C(F(3, 8), np.array([0.25, 0.75], "float32"), axis=1, id="array-q"),
                 C(F(3, 8), 0.3, axis=0, method="nearest", keepdims=True, id="nearest"), C(I(9), 0.5, id="int32"),
                 C(F(2, 3), 0.5, keepdims=True, id="none-keepdims")],
    "percentile": [C(F(10), 50.0, id="median"), C(F(3, 8), np.array([10.0, 90.0], "float32"), axis=1, id="array-q"),
                   C(F(3, 8), 30.0, axis=0, method="lower", keepdims=True, id="lower"), C(I(9), 25.0, id="int32")],
    "nanquantile": [C(NAN(10), 0.5, id="median"), C(NAN(3, 8), np.array([0.25, 0.75], "float32"), axis=1, id="q"),
                    C(NAN(3, 8), 0.3, axis=0, method="higher", keepdims=True, id="higher")],
    "nanpercentile": [C(NAN(10), 50.0, id="median"), C(NAN(3, 8), np.array([10.0, 90.0], "float32"), axis=1,
                                                       id="q")],
    "cumsum": [C(F(3, 4), id="flat"), C(F(3, 4), axis=1, id="axis"), C(I(3, 4), axis=0, dtype="float32", id="dtype"),
               C(B(5), id="bool"), C(I(5, dtype="int8"), axis=-1, id="int8")],
    "cumprod": [C(F(3, 4), id="flat"), C(F(3, 4), axis=1, id="axis"), C(I(3, 4, lo=1, hi=3), axis=0, dtype="int32",
                                                                       id="dtype"),
                C(B(5), id="bool")],
    "nancumsum": [C(NAN(3, 4), id="flat"), C(NAN(3, 4), axis=1, id="axis"), C(I(5), dtype="float32", id="int")],
    "nancumprod": [C(NAN(3, 4), id="flat"), C(NAN(3, 4), axis=0, id="axis")],
    "nanargmax": [C(NAN(3, 4), id="flat"), C(NAN(3, 4), axis=1, id="axis"), C(NAN(3, 4), axis=0, keepdims=True,
                                                                              id="keepdims")],
    "nanargmin": [C(NAN(3, 4), id="flat"), C(NAN(3, 4), axis=-1, id="axis"), C(I(4), id="int")],
    "trace": [C(F(3, 3), id="square"), C(F(3, 4), offset=1, id="offset"), C(F(2, 3, 4), axis1=1, axis2=2, id="axes"),
              C(I(3, 3), id="int32"), C(B(3, 3), id="bool")],
    "trapezoid": [C(F(5), id="default"), C(F(3, 5), dx=0.5, id="dx"), C(F(4, 3), x=U(4), axis=0, id="x"),
                  C(I(5), id="int32")],
})

# ---------------------------------------------------------------------------------------------------------------
# sorting and searching

CASES.update({
    "argmax": [C(F(3, 4), id="flat"), C(F(3, 4), axis=1, id="axis"), C(F(3, 4), axis=0, keepdims=True, id="keepdims"),
               C(I(3, 4), axis=-1, id="int32"), C(np.array([-0.0, 0.0, -0.0], "float32"), id="negative-zero"),
               C(F(5, dtype="float16"), id="float16"), C(B(5), id="bool")],
    "argmin": [C(F(3, 4), id="flat"), C(F(3, 4), axis=1, id="axis"), C(I(3, 4), axis=0, keepdims=True, id="int32"),
               C(np.array([0.0, -0.0, 0.0], "float32"), id="negative-zero")],
    "sort": [C(F(3, 4), id="last"), C(F(3, 4), axis=0, id="axis0"), C(I(6), id="int32"), C(B(5), id="bool")],
    "argsort": [C(F(3, 4), id="last"), C(F(3, 4), axis=0, id="axis0"), C(I(8, lo=0, hi=3), id="ties"),
                C(np.float32(1.5), id="scalar")],
    "argpartition": [C(F(6), 2, id="1d"), C(F(3, 5), 1, axis=0, id="axis0"), C(I(7), 3, axis=None, id="none")],
    "searchsorted": [C(np.array([0.0, 1.0, 2.5, 4.0], "float32"), F(5), id="left"),
                     C(np.array([0, 1, 1, 3], "int32"), np.array([1, 2], "int32"), side="right", id="right"),
                     C(F(2, 3), F(2), raises=ValueError, id="2d-raises")],
    "digitize": [C(F(5), np.array([-1.0, 0.0, 1.0], "float32"), id="float32"),
                 C(I(6), np.array([-2, 0, 3], "int32"), id="int32")],
    "nonzero": [C(I(3, 4, lo=-1, hi=2), id="2d"), C(B(6), id="bool"), C(F(4), id="float32")],
    "unique": [C(I(10, lo=0, hi=4), id="plain"), C(I(10, lo=0, hi=4), return_counts=True, id="counts"),
               C(I(10, lo=0, hi=4), return_index=True, return_inverse=True, id="index-inverse"),
               C(I(10, lo=0, hi=4), size=6, fill_value=-1, id="size"), C(F(6), id="float32")],
    "bincount": [C(I(10, lo=0, hi=5), id="plain"), C(I(10, lo=0, hi=5), weights=U(10), id="weights"),
                 C(I(6, lo=0, hi=3), minlength=6, id="minlength"), C(I(2, 4, lo=0, hi=5), minlength=5, id="2d"),
                 C(I(2, 4, lo=0, hi=3), weights=U(2, 4), minlength=5, id="2d-weights")],
    "histogram": [C(F(20), id="default"), C(F(30), bins=4, range=(-1.0, 1.0), id="range"),
                  C(F(20), bins=2.5, raises=TypeError, id="float-bins-raises"),
                  C(F(2, 3), raises=ValueError, id="2d-raises")],
})

# ---------------------------------------------------------------------------------------------------------------
# shape manipulation

CASES.update({
    "reshape": [C(F(2, 6), (3, 4), id="tuple"), C(F(2, 6), (-1, 3), id="infer"), C(I(6), [2, 3], id="list"),
                C(F(1, 1), 1, id="int"), C(F(2, 6), (-1, -1), raises=ValueError, id="two-minus-one-raises")],
    "transpose": [C(F(2, 3), id="2d"), C(F(2, 3, 4), axes=(1, 0, 2), id="axes"), C(I(2, 3, 4), axes=[2, 0, 1],
                                                                                 id="list")],
    "swapaxes": [C(F(2, 3, 4), 0, 2, id="0-2"), C(I(2, 3), -1, 0, id="negative")],
    "moveaxis": [C(F(2, 3, 4), 0, -1, id="int"), C(F(2, 3, 4), (0, 1), (2, 0), id="tuple")],
    "expand_dims": [C(F(2, 3), 0, id="0"), C(F(2, 3), -1, id="neg"), C(I(2, 3), (0, 2), id="tuple"),
                    C(1.5, 0, id="python-scalar")],
    "squeeze": [C(F(1, 3, 1), id="all"), C(F(1, 3, 1), axis=0, id="axis"), C(F(1, 3, 1, 1), axis=(0, -1),
                                                                             id="tuple")],
    "broadcast_to": [C(F(3), (2, 3), id="1d"), C(I(2, 1), [2, 4], id="list"), C(2.0, (3,), id="scalar")],
    "flip": [C(F(2, 3), id="all"), C(F(2, 3), axis=1, id="axis"), C(I(2, 3, 4), axis=(0, 2), id="tuple")],
    "fliplr": [C(F(2, 3), id="2d"), C(I(2, 3, 4), id="3d")],
    "flipud": [C(F(2, 3), id="2d"), C(I(4), id="1d")],
    "rot90": [C(F(2, 3), id="default"), C(F(2, 3, 4), k=2, axes=(1, 2), id="k2"), C(I(3, 3), k=-1, id="k-1"),
              C(F(3), raises=ValueError, id="1d-raises")],
    "roll": [C(F(5), 2, id="flat"), C(F(3, 4), -1, axis=1, id="axis"), C(I(3, 4), (1, 2), axis=(0, 1), id="tuple")],
    "tile": [C(F(2, 3), 2, id="int"), C(I(2, 3), (2, 1, 2), id="tuple")],
    "repeat": [C(F(2, 3), 2, id="flat"), C(F(2, 3), 3, axis=1, id="axis"), C(I(3), np.array([1, 0, 2]), axis=0,
                                                                               id="array-repeats")],
    "pad": [C(F(2, 3), 1, id="int"), C(F(2, 3), ((1, 2), (0, 1)), id="pairs"), C(F(3, 4), (1, 2), id="one-pair"),
            C(I(2, 3), [(1,), (2,)], constant_values=7, id="constant"), C(F(3, 4), 2, mode="reflect", id="reflect"),
            C(F(3, 4), 1, mode="symmetric", id="symmetric"), C(F(3, 4), 1, mode="edge", id="edge"),
            C(F(3), 1, mode="reflect", constant_values=1.0, raises=ValueError, id="constant-not-constant-raises")],
    "concatenate": [C([F(2, 3), F(1, 3)], id="axis0"), C([F(2, 3), I(2, 1)], axis=1, id="mixed-dtypes"),
                    C([F(2, 3), F(2, 3)], axis=None, id="none"), C([I(2, dtype="int8"), I(3, dtype="int16")],
                                                                   id="ints")],
    "append": [C(F(2, 3), F(2, 3), id="flat"), C(F(2, 3), I(1, 3), axis=0, id="axis")],
    "stack": [C([F(2, 3), F(2, 3)], id="axis0"), C([F(2, 3), I(2, 3)], axis=-1, id="mixed"), C([F(3)] * 3, axis=1,
                                                                                               id="axis1")],
    "hstack": [C([F(2, 3), F(2, 1)], id="2d"), C([I(3), F(2)], id="1d-mixed")],
    "vstack": [C([F(2, 3), F(1, 3)], id="2d"), C([I(3), I(3)], id="1d")],
    "dstack": [C([F(2, 3), F(2, 3)], id="2d"), C([I(3), I(3)], id="1d")],
    "split": [C(F(4, 3), 2, id="sections"), C(F(3, 6), [1, 4], axis=1, id="indices"), C(I(6), 3, id="int32")],
    "array_split": [C(F(5, 3), 2, id="uneven"), C(I(3, 7), 3, axis=1, id="axis1"),
                    C(F(4), [1, 2], raises=TypeError, id="list-raises"), C(F(4), 0, raises=ValueError, id="0-raises")],
    "hsplit": [C(F(2, 4), 2, id="2d"), C(F(6), [2, 3], id="1d-indices")],
    "vsplit": [C(F(4, 2), 2, id="2d"), C(I(6, 2), [1, 3], id="indices")],
    "dsplit": [C(F(2, 2, 4), 2, id="3d"), C(I(1, 2, 6), [1, 4], id="indices")],
    "diff": [C(F(6), id="1d"), C(F(3, 5), n=2, axis=0, id="n2-axis0"), C(I(3, 5), axis=-1, id="int32"),
             C(B(5), id="bool")],
    "take": [C(F(3, 4), I(5, lo=0, hi=12), id="flat"), C(F(3, 4), I(2, 2, lo=0, hi=4), axis=1, id="axis"),
             C(I(5), np.array([0, -1]), axis=0, id="negative-index"), C(F(3, 4), [0, 2], axis=0, id="list-indices")],
    "take_along_axis": [C(F(3, 4), I(3, 2, lo=0, hi=4), axis=1, id="axis1"), C(F(3, 4), I(12, lo=0, hi=12), axis=None,
                                                                             id="none"),
                        C(I(3, 4), I(1, 4, lo=0, hi=3), axis=0, id="broadcast")],
    "get_item": [C(F(3, 4), (slice(None), 0), id="column"), C(F(3, 4, 5), (Ellipsis, slice(None, None, 2)),
                                                               id="ellipsis-step"),
                 C(F(5), np.array([0, 3, 3]), id="int-array"), C(I(3, 4), 1, id="int"),
                 C(F(2, 3), (None, slice(1, None)), id="newaxis")],
    "unravel_index": [C(I(5, lo=0, hi=12), (3, 4), id="1d"), C(np.int32(7), (2, 2, 2), id="scalar")],
    "ndim": [C(F(2, 3), id="2d"), C(1.0, id="scalar"), C([[1, 2]], id="list")],
    "size": [C(F(2, 3), id="2d"), C(1.0, id="scalar"), C([[1, 2], [3, 4]], id="list")],
    "view": [C(F(4), dtype="int32", id="f32-i32"), C(I(4, dtype="int16"), dtype="uint16", id="i16-u16"),
             C(I(4, lo=0, hi=255, dtype="uint8"), dtype="int8", id="u8-i8")],
    "array": [C([1, 2, 3], id="int-list"), C([1.0, 2], id="float-list"), C(F(2, 3), dtype="float16", id="dtype"),
              C(True, id="bool"), C(I(3), dtype="float32", id="cast")],
})
CASES["ravel"] += [C(F(2, 3, 4), id="3d")]
CASES["copy"] += [C([1, 2], id="list")]

# ---------------------------------------------------------------------------------------------------------------
# creation

CASES.update({
    "zeros": [C((2, 3), id="default"), C(4, dtype="int32", id="int"), C([2, 2], dtype="bool", id="bool")],
    "ones": [C((2, 3), id="default"), C(4, dtype="int8", id="int8"), C((), dtype="float16", id="scalar")],
    "empty": [C((2, 3), id="default"), C(3, dtype="int32", id="int")],
    "full": [C((2, 3), 7, id="int-fill"), C(3, 1.5, dtype="int32", id="dtype"), C((2,), True, dtype="bool",
                                                                                  id="bool"),
             C((2, 2), np.array([1.0, 2.0], "float32"), id="array-fill")],
    "zeros_like": [C(F(2, 3), id="float32"), C(I(3), dtype="float32", id="dtype"), C(B(2), id="bool")],
    "ones_like": [C(F(2, 3), id="float32"), C(I(3), dtype="bool", id="dtype"), C(I(2, dtype="int8"), id="int8")],
    "empty_like": [C(F(2, 3), id="float32"), C(I(3), dtype="float16", id="dtype")],
    "full_like": [C(F(2, 3), 2.5, id="float32"), C(I(3), 2.7, id="int-truncates"), C(I(3), 2, dtype="float32",
                                                                                      id="dtype")],
    "eye": [C(3, id="square"), C(3, 4, k=1, id="rect"), C(2, dtype="int32", id="int"),
            C(3.0, raises=TypeError, id="float-N-raises"), C(3, 2.0, raises=TypeError, id="float-M-raises")],
    "identity": [C(3, id="default"), C(2, dtype="bool", id="bool")],
    "tri": [C(3, id="default"), C(3, 4, -1, dtype="int32", id="args"), C(2, k=1, id="k")],
    "tril": [C(F(3, 3), id="default"), C(F(3, 4), k=1, id="k1"), C(I(2, 3, 3), k=-1, id="batched")],
    "triu": [C(F(3, 3), id="default"), C(F(3, 4), k=-1, id="k-1"), C(B(2, 3, 3), k=1, id="batched-bool")],
    "arange": [C(5, id="stop"), C(0, 5, 0.5, id="float-step"), C(1, 10, 2, dtype="float32", id="dtype"),
               C(np.int8(2), 8, id="int8-start"), C(np.float32(1.0), 4, id="float32-start"), C(3.0, id="float-stop"),
               C(10, 0, -3, id="negative-step")],
    "linspace": [C(0.0, 1.0, num=5, id="basic"), C(0, 10, num=4, endpoint=False, id="no-endpoint"),
                 C(0.0, 1.0, num=3, retstep=True, id="retstep"),
                 C(np.zeros(2, "float32"), np.ones(2, "float32"), num=3, axis=1, id="array-axis1"),
                 C(0, 5, num=6, dtype="int32", id="int-dtype")],
    "logspace": [C(0.0, 2.0, num=3, id="basic"), C(0.0, 3.0, num=4, base=2, endpoint=False, id="base2"),
                 C(np.zeros(2, "float32"), np.ones(2, "float32"), num=3, axis=-1, id="array")],
    "geomspace": [C(1.0, 1000.0, num=4, id="basic"), C(1.0, 16.0, num=4, endpoint=False, id="no-endpoint"),
                  C(np.ones(2, "float32"), np.array([8.0, 27.0], "float32"), num=4, axis=1, id="array")],
    "meshgrid": [C(F(3), F(4), id="xy"), C(I(2), F(3), I(2), indexing="ij", id="ij-3")],
    "diag": [C(F(3), id="1d"), C(F(3, 4), k=1, id="2d-k1"), C(I(4), k=-1, id="1d-k-1")],
    "diagflat": [C(F(3), id="1d"), C(F(2, 2), k=1, id="2d")],
    "diagonal": [C(F(3, 3), id="2d"), C(F(2, 3, 4), offset=1, axis1=1, axis2=2, id="batched"),
                 C(I(3, 4), offset=-1, id="int"), C(F(3, 3), axis1=0, axis2=-2, raises=ValueError, id="same-raises")],
    "vander": [C(F(3), id="default"), C(I(4), N=3, increasing=True, id="N"),
               C(F(2, 2), raises=ValueError, id="2d-raises"), C(F(3), N=2.0, raises=TypeError, id="float-N-raises")],
})

# ---------------------------------------------------------------------------------------------------------------
# linear algebra-ish

CASES.update({
    "matmul": [C(F(3, 4), F(4, 5), id="2d"), C(F(2, 3, 4), F(4, 2), id="batched"), C(F(4), F(4, 3), id="vec"),
               C(I(3, 4, dtype="int8"), I(4, 2, dtype="int8"), id="int8"), C(I(2, 3), F(3, 2), id="mixed")],
    "dot": [C(F(3, 4), F(4, 5), id="2d"), C(F(4), F(4), id="1d"), C(F(2, 3, 4), F(4, 2), id="nd"),
            C(F(3), 2.0, id="scalar"), C(I(3, 2), I(2), id="int")],
    "vdot": [C(F(3), F(3), id="1d"), C(F(2, 3), F(6), id="flattened"), C(CX(3), CX(3), id="complex")],
    "inner": [C(F(3), F(3), id="1d"), C(F(2, 3), F(4, 3), id="2d"), C(I(3), F(3), id="mixed")],
    "outer": [C(F(3), F(4), id="1d"), C(F(2, 2), I(3), id="flattened")],
    "tensordot": [C(F(3, 4), F(4, 5), axes=1, id="axes1"), C(F(2, 3, 4), F(3, 4, 2), id="default"),
                  C(F(2, 3), F(3, 2), axes=([1], [0]), id="lists"), C(F(2, 3), F(2, 3), axes=0, id="outer")],
    "kron": [C(F(2, 2), F(2, 3), id="2d"), C(I(3), I(2), id="1d-int")],
    "cross": [C(F(4, 3), F(4, 3), id="3vec"), C(F(3, 4), F(3, 4), axisa=0, axisb=0, axisc=0, id="axis0"),
              C(F(2, 3), F(2, 3), axis=1, id="axis"), C(I(3), I(3), id="int")],
    "einsum": [C("ij,jk->ik", F(2, 3), F(3, 4), id="matmul"), C("ii", F(3, 3), id="trace"),
               C("bij,bjk->bik", I(2, 2, 3, dtype="int8"), I(2, 3, 2, dtype="int8"), id="int8"),
               C("i,i->", F(4), I(4), id="mixed")],
    "slogdet": [C(F(3, 3), id="2d", rtol=1e-4, atol=1e-5), C(F(2, 3, 3), id="batched", rtol=1e-4, atol=1e-5)],
    "corrcoef": [C(F(3, 5), id="rows", rtol=1e-4, atol=1e-5), C(F(6), id="1d")],
    "correlate": [C(F(5), F(3), id="valid"), C(F(5), F(3), mode="same", id="same"), C(F(4), F(2), mode="full",
                                                                                      id="full")],
    "vectorize": [C(lambda v: v * 2 + 1, id="elementwise", post=lambda f: np.asarray(f.item()(np.arange(4.0)))),
                  C(lambda a: a.sum(), signature="(n)->()", id="signature",
                    post=lambda f: np.asarray(f.item()(np.ones((3, 4), "float32")))),
                  C(3, raises=ValueError, id="not-callable-raises")],
})

# ---------------------------------------------------------------------------------------------------------------
# windows

CASES.update({
    "bartlett": [Case(args(5), id="5"), Case(args(1), id="1")],
    "blackman": [C(6, id="6"), C(1, id="1")],
    "hamming": [C(5, id="5"), C(2, id="2")],
    "hanning": [C(7, id="7"), C(0, id="0")],
    "kaiser": [C(8, 5.0, id="8"), C(3, 0.0, id="beta0")],
})

CASES["median"] += [C(F(3, 4), axis=[0, 1], id="list-axis")]
CASES["std"] += [C(I(4, dtype="int8"), id="int8")]

SKIPPED: dict[str, str] = {}

test_matches_keras = cases_test(CASES)


def test_every_numpy_name_has_cases() -> None:
    import types

    import keras

    import lamina

    names = {n for n in dir(keras.ops.numpy)
             if not n.startswith("_") and not isinstance(getattr(keras.ops.numpy, n), types.ModuleType)}
    assert names - set(CASES) - set(SKIPPED) == set()
    assert set(lamina.ops.numpy.__all__) == names
    assert all(callable(getattr(lamina.ops, n)) for n in names)


def test_inside_jit() -> None:
    """The ops trace: a jitted function of several of them equals the eager result."""
    import jax

    from lamina import ops

    def f(x: Any) -> Any:
        y = ops.mean(ops.square(ops.sin(x)), axis=-1, keepdims=True)
        return ops.concatenate([ops.argmax(x, axis=-1)[:, None].astype("float32"), y, ops.var(x, axis=1)[:, None]],
                               axis=1)

    x = np.random.default_rng(0).standard_normal((4, 5)).astype("float32")
    np.testing.assert_allclose(np.asarray(jax.jit(f)(x)), np.asarray(f(x)), rtol=1e-6)


# Shapes that depend on values (or Python-int arguments only): these cannot be traced by jax.jit.
NOT_JITTABLE = {"nonzero", "unique", "bincount", "histogram", "vectorize", "bartlett", "blackman", "hamming",
                "hanning", "kaiser", "ndim", "size", "array"}
JIT_PARAMS = [(name, case) for name, items in CASES.items() if name not in NOT_JITTABLE
              for case in [c for c in items if c.raises is None][:1]]


@pytest.mark.parametrize(("name", "case"), JIT_PARAMS, ids=[f"{n}-{c.id}" for n, c in JIT_PARAMS])
def test_traces_under_jit(name: str, case: Case) -> None:
    """The array arguments of the case traced by ``jax.jit``: the same result as the eager call."""
    import jax

    from lamina import ops

    fn = getattr(ops, name)
    a, kw = case.build(np.random.default_rng(0))
    traced = [i for i, v in enumerate(a) if isinstance(v, np.ndarray)]
    if not traced or (name == "where" and len(a) == 1) or (name == "repeat" and not isinstance(a[1], int)):
        pytest.skip("no array argument to trace, or a value-dependent output shape")

    def call(*arrays: Any) -> Any:
        full = list(a)
        for i, v in zip(traced, arrays):
            full[i] = v
        return fn(*full, **kw)

    eager, jitted = call(*(a[i] for i in traced)), jax.jit(call)(*(a[i] for i in traced))
    for e, j in zip(jax.tree_util.tree_leaves(eager), jax.tree_util.tree_leaves(jitted)):
        assert np.asarray(e).dtype == np.asarray(j).dtype
        np.testing.assert_allclose(np.asarray(j), np.asarray(e), rtol=1e-5, atol=1e-6, equal_nan=True)
