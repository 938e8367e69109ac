"""lamina.quantizers against keras.quantizers: the same inputs give the same arrays, configs and errors."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import numpy as np
import pytest

from lamina import quantizers as lq

keras = pytest.importorskip("keras")
kq = keras.quantizers

RNG = np.random.default_rng(0)
X = RNG.normal(size=(7, 5)).astype("float32")


def _same(a, b, tol=1e-6):
    a, b = (a if isinstance(a, tuple) else (a,)), (b if isinstance(b, tuple) else (b,))
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if isinstance(y, (tuple, int)):
            assert x == y
            continue
        x, y = np.asarray(x), np.asarray(keras.ops.convert_to_numpy(y))
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_allclose(x.astype("float64"), y.astype("float64"), rtol=tol, atol=tol)


CASES = [
    ("abs_max_quantize", (X,), {"axis": -1}),
    ("abs_max_quantize", (X,), {"axis": 0, "value_range": (-8, 7)}),
    ("abs_max_quantize", (X,), {"axis": [0, 1], "to_numpy": True}),
    ("abs_max_quantize_grouped_with_zero_point", (X,), {"block_size": 3}),
    ("abs_max_quantize_grouped_with_zero_point", (X,), {"block_size": 4, "to_numpy": True}),
    ("abs_max_quantize_grouped_with_zero_point", (np.abs(X),), {"block_size": 7}),
    ("fake_quant_with_min_max_vars", (X, -1.0, 1.5), {}),
    ("fake_quant_with_min_max_vars", (X, -0.3, 2.0), {"num_bits": 4, "narrow_range": True}),
    ("fake_quant_with_min_max_vars", (X, -np.linspace(0.1, 1, 5, dtype="float32"),
                                      np.linspace(0.5, 2, 5, dtype="float32")), {"axis": -1}),
    ("compute_float8_scale", (np.array([2.0, 0.0, np.inf], "float32"), np.array([0.5, 2.0, 4.0], "float32"), 448.0),
     {"margin": 1}),
    ("compute_float8_amax_history", (X, np.arange(4, dtype="float32")), {}),
    ("quantize_and_dequantize", (X * 300, np.float32(0.5), "float8_e4m3fn", "float32"), {}),
    ("quantize_and_dequantize", (X, np.float32(0.01), "float8_e5m2", "float32"), {}),
    ("pack_int4", (np.array([[-3, 7], [2, -8], [1, 0]], np.int8),), {}),
    ("pack_int4", (RNG.integers(-8, 8, size=(3, 5)).astype(np.int8),), {"axis": 1}),
    ("pack_int4", (RNG.integers(0, 16, size=(4, 3)).astype(np.uint8),), {"dtype": "uint8"}),
]


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_function_matches_keras(name, args, kwargs):
    _same(getattr(lq, name)(*args, **kwargs), getattr(kq, name)(*args, **kwargs))


@pytest.mark.parametrize("axis,dtype", [(0, "int8"), (1, "int8"), (0, "uint8"), (-1, "uint8")])
def test_unpack_int4_inverts_pack_as_keras(axis, dtype):
    low, high = (-8, 8) if dtype == "int8" else (0, 16)
    values = RNG.integers(low, high, size=(5, 3)).astype(dtype)
    packed, _, n = kq.pack_int4(values, axis=axis, dtype=dtype)
    packed = np.asarray(packed)
    ours = lq.unpack_int4(packed, n, axis=axis, dtype=dtype)
    _same(ours, kq.unpack_int4(packed, n, axis=axis, dtype=dtype))
    np.testing.assert_array_equal(np.asarray(ours), values)


@pytest.mark.parametrize("axis", [None, 1])
def test_fake_quant_gradients_match_keras(axis):
    low = np.float32(-0.8) if axis is None else -np.linspace(0.2, 1, 5, dtype="float32")
    high = np.float32(1.2) if axis is None else np.linspace(0.5, 1.5, 5, dtype="float32")
    weights = RNG.normal(size=X.shape).astype("float32")

    def loss(fn):
        return lambda x, a, b: (fn(x, a, b, num_bits=8, axis=axis) * weights).sum()

    ours = jax.grad(loss(lq.fake_quant_with_min_max_vars), argnums=(0, 1, 2))(X, low, high)
    theirs = jax.grad(loss(kq.fake_quant_with_min_max_vars), argnums=(0, 1, 2))(X, low, high)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs", [{}, {"axis": 0}, {"value_range": (-8, 7), "epsilon": 1e-3}])
def test_abs_max_quantizer_matches_keras(kwargs):
    ours, theirs = lq.AbsMaxQuantizer(**kwargs), kq.AbsMaxQuantizer(**kwargs)
    assert ours.get_config() == theirs.get_config()
    _same(ours(X), theirs(X))
    _same(ours(X, axis=1), theirs(X, axis=1))
    assert lq.serialize(ours) == kq.serialize(theirs)
    assert lq.deserialize(kq.serialize(theirs)).get_config() == theirs.get_config()


def test_quantizer_errors_as_keras():
    for mod in (lq, kq):
        with pytest.raises(ValueError, match="within the interval"):
            mod.AbsMaxQuantizer(value_range=(-200, 127))
        with pytest.raises(ValueError, match="Expected dtype"):
            mod.pack_int4(np.zeros((2, 2), np.int8), dtype="int4")
        with pytest.raises(TypeError, match="Expected int8 tensor"):
            mod.pack_int4(np.zeros((2, 2), np.int32))
        with pytest.raises(ValueError, match="Could not interpret"):
            mod.get("nope")
        with pytest.raises(NotImplementedError):
            mod.Quantizer().get_config()


def test_get_matches_keras():
    assert lq.get(None) is None
    for name in ("AbsMaxQuantizer", "abs_max_quantizer"):
        assert type(lq.get(name)).__name__ == type(kq.get(name)).__name__
    assert lq.get("Int8QuantizationConfig").mode == "int8"
