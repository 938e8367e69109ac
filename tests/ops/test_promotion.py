"""``lamina.ops.promotion.result_type`` equals ``keras.backend.result_type``; ops follow ``floatx()`` as Keras's do."""

from __future__ import annotations

import itertools
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax.numpy as jnp
import keras
import numpy as np
import pytest

from lamina import backend
from lamina.ops import promotion

from .ops_oracle import Case, args, run_case

DTYPES = [d for d in promotion.ALLOWED_DTYPES if d not in ("string", "float8_e4m3fn", "float8_e5m2")]
OPERANDS = [*DTYPES, int, float, bool, None]


def _keras_or_error(*dtypes: object) -> object:
    try:
        return keras.backend.result_type(*dtypes)
    except ValueError:
        return ValueError


def _ours_or_error(*dtypes: object) -> object:
    try:
        return promotion.result_type(*dtypes)
    except ValueError:
        return ValueError


def test_pairs_match_keras() -> None:
    wrong = [(a, b) for a, b in itertools.product(OPERANDS, OPERANDS) if _ours_or_error(a, b) != _keras_or_error(a, b)]
    assert not wrong


def test_triples_with_weak_scalars_match_keras() -> None:
    wrong = [(a, b, c) for a, b, c in itertools.product(DTYPES, DTYPES, [int, float, "float32"])
             if _ours_or_error(a, b, c) != _keras_or_error(a, b, c)]
    assert not wrong


def test_standardize_dtype() -> None:
    assert promotion.standardize_dtype(jnp.bfloat16) == "bfloat16"
    assert promotion.standardize_dtype(np.dtype("int8")) == "int8"
    assert promotion.standardize_dtype(int) == "int32"
    assert promotion.standardize_dtype(None) == "float32"
    with pytest.raises(ValueError, match="Invalid dtype"):
        promotion.standardize_dtype("float128")


@pytest.fixture(params=["float16", "float64", "bfloat16"])
def floatx(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """Both Keras and lamina run with ``floatx()`` set to the parameter."""
    old = keras.config.floatx()
    keras.config.set_floatx(request.param)
    monkeypatch.setattr(backend, "_FLOATX", request.param)
    yield request.param
    keras.config.set_floatx(old)


# JAX arrays: under floatx "bfloat16" Keras's convert_to_tensor turns every NumPy/Python input into float32
# (``jnp.asarray(x).astype(None)``), a Keras quirk lamina does not copy.
INTS = jnp.arange(-2, 3, dtype="int32")
FLOATX_CASES = {
    "sin": [Case(args(INTS)), Case(args(jnp.array([True, False])))],
    "ceil": [Case(args(INTS))],
    "exp": [Case(args(INTS))],
    "arctan2": [Case(args(INTS, INTS))],
    "mean": [Case(args(INTS))],
    "var": [Case(args(INTS))],
    "average": [Case(args(INTS))],
    "ones": [Case(args((2,)))],
    "arange": [Case(args(0, 5.0))],
    "hamming": [Case(args(4))],
    "eye": [Case(args(2))],
}


@pytest.mark.parametrize(("name", "case"), [(n, c) for n, cs in FLOATX_CASES.items() for c in cs])
def test_ops_follow_floatx(name: str, case: Case, floatx: str) -> None:
    run_case(name, Case(case.build, rtol=1e-2, atol=1e-2))
