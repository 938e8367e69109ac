"""``lamina.ops.nn`` (activations, conv/pool, encodings, losses, normalization, CTC, attention) against Keras."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from .ops_oracle import Case, args, cases_test


def rand(rng: np.random.Generator, shape: tuple[int, ...], dtype: str = "float32", scale: float = 1.0):
    return jnp.asarray(rng.normal(size=shape) * scale, dtype)


def probs(rng: np.random.Generator, shape: tuple[int, ...], axis: int = -1):
    p = rng.random(shape).astype("float32") + 0.05
    return jnp.asarray(p / p.sum(axis=axis, keepdims=True))


def labels(rng: np.random.Generator, shape: tuple[int, ...], classes: int, dtype: str = "int32"):
    return jnp.asarray(rng.integers(0, classes, shape), dtype)


LOW = dict(rtol=2e-2, atol=2e-2)  # float16 / bfloat16 results


def _unary(extra: dict | None = None) -> list[Case]:
    kw = extra or {}
    return [
        Case(lambda r: ((rand(r, (3, 7), scale=3.0),), kw), id="f32"),
        Case(lambda r: ((rand(r, (2, 3, 4), "float16", 3.0),), kw), id="f16", **LOW),
        Case(lambda r: ((rand(r, (5,), "bfloat16", 3.0),), kw), id="bf16", **LOW),
    ]


ACTIVATIONS = ["relu", "relu6", "sigmoid", "sparse_sigmoid", "softplus", "softsign", "sparse_plus", "silu",
               "swish", "log_sigmoid", "hard_sigmoid", "hard_silu", "hard_swish", "selu", "tanh_shrink",
               "hard_tanh"]

CASES: dict[str, list[Case]] = {name: _unary() for name in ACTIVATIONS}
CASES["relu"].append(Case(lambda r: ((labels(r, (6,), 10) - 5,), {}), id="int"))
CASES.update({
    "soft_shrink": _unary() + _unary({"threshold": 1.5})[:1],
    "hard_shrink": _unary() + _unary({"threshold": 1.5})[:1],
    "squareplus": _unary() + _unary({"b": 1})[:1],
    "leaky_relu": _unary() + _unary({"negative_slope": 0.01})[:1],
    "elu": _unary() + _unary({"alpha": 0.5})[:1],
    "celu": _unary() + _unary({"alpha": 2.0})[:1],
    "gelu": _unary() + _unary({"approximate": False}),
    "threshold": [Case(lambda r: ((rand(r, (3, 4)), 0.3, -2.0), {})),
                  Case(lambda r: ((rand(r, (6,), "float16"), -0.5, 0.0), {}), id="f16", **LOW)],
    "glu": [Case(lambda r: ((rand(r, (3, 8)),), {})), Case(lambda r: ((rand(r, (4, 2, 3)),), {"axis": 0}), id="ax0"),
            Case(lambda r: ((rand(r, (2, 6), "bfloat16"),), {}), id="bf16", **LOW)],
    "softmax": [Case(lambda r: ((rand(r, (3, 5), scale=3.0),), {})),
                Case(lambda r: ((rand(r, (2, 3, 4)),), {"axis": 1}), id="ax1"),
                Case(lambda r: ((rand(r, (2, 3, 4)),), {"axis": (1, 2)}), id="tuple"),
                Case(lambda r: ((rand(r, (4, 6), "float16"),), {}), id="f16", **LOW)],
    "log_softmax": [Case(lambda r: ((rand(r, (3, 5), scale=3.0),), {})),
                    Case(lambda r: ((rand(r, (2, 3, 4)),), {"axis": 0}), id="ax0"),
                    Case(lambda r: ((rand(r, (2, 3, 4)),), {"axis": (0, 2)}), id="tuple")],
    "sparsemax": [Case(lambda r: ((rand(r, (4, 6), scale=2.0),), {})),
                  Case(lambda r: ((rand(r, (3, 5, 2)),), {"axis": 1}), id="ax1")],
    # ---------------------------------------------------------------- convolution and pooling
    "conv": [
        Case(lambda r: ((rand(r, (2, 9, 3)), rand(r, (3, 3, 4))), {}), id="1d", rtol=1e-4, atol=1e-5),
        Case(lambda r: ((rand(r, (2, 8, 8, 3)), rand(r, (3, 3, 3, 5))), {"strides": 2, "padding": "SAME"}),
             id="2d-same-s2", rtol=1e-4, atol=1e-5),
        Case(lambda r: ((rand(r, (1, 4, 9, 9)), rand(r, (3, 3, 2, 6))),
                        {"data_format": "channels_first", "dilation_rate": 2}), id="2d-cf-groups-dil",
             rtol=1e-4, atol=1e-5),
        Case(lambda r: ((rand(r, (1, 5, 6, 5, 2)), rand(r, (2, 2, 2, 2, 3))), {"padding": "same"}), id="3d",
             rtol=1e-4, atol=1e-5),
    ],
    "depthwise_conv": [
        Case(lambda r: ((rand(r, (2, 7, 7, 3)), rand(r, (3, 3, 3, 2))), {}), rtol=1e-4, atol=1e-5),
        Case(lambda r: ((rand(r, (2, 3, 10)), rand(r, (3, 3, 1))),
                        {"strides": 2, "padding": "same", "data_format": "channels_first"}), id="1d-cf",
             rtol=1e-4, atol=1e-5),
    ],
    "separable_conv": [
        Case(lambda r: ((rand(r, (2, 7, 7, 3)), rand(r, (3, 3, 3, 2)), rand(r, (1, 1, 6, 4))), {"padding": "same"}),
             rtol=1e-4, atol=1e-5),
        Case(lambda r: ((rand(r, (1, 12, 2)), rand(r, (3, 2, 1)), rand(r, (1, 2, 5))), {"dilation_rate": 2}),
             id="1d-dil", rtol=1e-4, atol=1e-5),
    ],
    "conv_transpose": [
        Case(lambda r: ((rand(r, (2, 4, 4, 3)), rand(r, (3, 3, 5, 3))), {"strides": 2, "padding": "same"}),
             rtol=1e-4, atol=1e-5),
        Case(lambda r: ((rand(r, (1, 6, 2)), rand(r, (4, 3, 2))), {"strides": 3, "output_padding": 1}),
             id="1d-outpad", rtol=1e-4, atol=1e-5),
        Case(lambda r: ((rand(r, (1, 3, 5, 5)), rand(r, (3, 3, 2, 3))), {"data_format": "channels_first"}),
             id="cf", rtol=1e-4, atol=1e-5),
    ],
    "max_pool": [
        # Keras 3.15 (JAX) fails on strides=None for N-D inputs (it expands pool_size twice): strides given.
        Case(lambda r: ((rand(r, (2, 8, 8, 3)), 2, 2), {})),
        Case(lambda r: ((rand(r, (2, 9, 3)), 3, 2, "SAME"), {}), id="1d-same"),
        Case(lambda r: ((rand(r, (1, 2, 6, 7, 5)), (2, 3, 2), (2, 3, 2)), {"data_format": "channels_first"}),
             id="3d-cf"),
    ],
    "average_pool": [
        Case(lambda r: ((rand(r, (2, 8, 8, 3)), 2, 2), {})),
        Case(lambda r: ((rand(r, (2, 9, 9, 1)), 3, 2), {"padding": "same"}), id="same"),
        Case(lambda r: ((rand(r, (1, 3, 10)), 4), {"strides": 3, "data_format": "channels_first"}), id="1d-cf"),
    ],
    "adaptive_max_pool": [
        Case(lambda r: ((rand(r, (2, 10, 3)), 4), {}), id="1d"),
        Case(lambda r: ((rand(r, (2, 7, 9, 3)), (3, 4)), {}), id="2d"),
        Case(lambda r: ((rand(r, (1, 2, 5, 6, 7)), 2), {"data_format": "channels_first"}), id="3d-cf"),
    ],
    "adaptive_average_pool": [
        Case(lambda r: ((rand(r, (2, 10, 3)), 3), {}), id="1d"),
        Case(lambda r: ((rand(r, (2, 3, 7, 9)), (2, 5)), {"data_format": "channels_first"}), id="2d-cf"),
        Case(lambda r: ((rand(r, (1, 5, 6, 7, 2)), (2, 3, 4)), {}), id="3d"),
    ],
    # ---------------------------------------------------------------- encodings
    "one_hot": [
        Case(lambda r: ((labels(r, (4,), 5), 5), {})),
        Case(lambda r: ((labels(r, (2, 3), 4), 4), {"axis": 0, "dtype": "int32"}), id="axis0-int"),
        Case(args(jnp.array([0, -1, 7, 2]), 4, dtype="bfloat16"), id="out-of-range"),
    ],
    "multi_hot": [
        Case(lambda r: ((labels(r, (3, 4), 6), 6), {})),
        Case(lambda r: ((labels(r, (5,), 6),), {"num_classes": 6, "dtype": "int32"}), id="1d"),
        Case(lambda r: ((labels(r, (3, 2), 4),), {"num_tokens": 4}), id="num-tokens"),
        Case(args(jnp.array([[1, 2]])), raises=ValueError, id="no-classes"),
    ],
    # ---------------------------------------------------------------- losses
    "binary_crossentropy": [
        Case(lambda r: ((jnp.asarray(r.random((4, 3)) > 0.5, "float32"), probs(r, (4, 3))), {})),
        Case(lambda r: ((jnp.asarray(r.random((5,)), "float32"), rand(r, (5,), scale=3.0)), {"from_logits": True}),
             id="logits"),
        Case(args(jnp.array([1.0, 0.0]), jnp.array([1.0, 0.0])), id="clipped"),
        Case(args(jnp.ones(3), jnp.ones(4)), raises=ValueError, id="shapes"),
    ],
    "categorical_crossentropy": [
        Case(lambda r: ((jnp.eye(4)[labels(r, (3,), 4)], probs(r, (3, 4))), {})),
        Case(lambda r: ((probs(r, (2, 5)), rand(r, (2, 5))), {"from_logits": True}), id="logits"),
        Case(lambda r: ((probs(r, (3, 2), 0), probs(r, (3, 2), 0) * 2), {"axis": 0}), id="axis0-unnormalized"),
        Case(args(jnp.ones(3), jnp.ones(4)), raises=ValueError, id="shapes"),
    ],
    "sparse_categorical_crossentropy": [
        Case(lambda r: ((labels(r, (3,), 4), probs(r, (3, 4))), {})),
        Case(lambda r: ((labels(r, (2, 3, 1), 5), rand(r, (2, 3, 5))), {"from_logits": True}), id="logits-squeeze"),
        Case(lambda r: ((np.asarray(r.integers(0, 3, (4,)), "float32"), probs(r, (4, 3))), {}), id="float-labels"),
        Case(args(jnp.ones((2,), "int32"), jnp.ones((3, 4))), raises=ValueError, id="shapes"),
    ],
    # ---------------------------------------------------------------- normalization
    "moments": [
        Case(lambda r: ((rand(r, (4, 5)), 0), {})),
        Case(lambda r: ((rand(r, (2, 3, 4)), [0, 2]), {"keepdims": True}), id="keepdims"),
        Case(lambda r: ((rand(r, (8, 3), "float16"), (0,)), {}), id="f16", **LOW),
    ],
    "batch_normalization": [
        Case(lambda r: ((rand(r, (4, 3)), rand(r, (3,)), jnp.abs(rand(r, (3,))), -1), {})),
        Case(lambda r: ((rand(r, (2, 3, 4)), rand(r, (3,)), jnp.abs(rand(r, (3,))), 1),
                        {"offset": rand(r, (3,)), "scale": rand(r, (3,)), "epsilon": 0.1}), id="axis1"),
    ],
    "layer_normalization": [
        Case(lambda r: ((rand(r, (3, 6)),), {}), rtol=1e-4, atol=1e-5),
        Case(lambda r: ((rand(r, (2, 3, 4)), rand(r, (4,)), rand(r, (4,))), {"epsilon": 1e-3}), id="gamma-beta",
             rtol=1e-4, atol=1e-5),
        Case(lambda r: ((rand(r, (2, 3, 4)), rand(r, (3, 4))), {"axis": (1, 2)}), id="axes", rtol=1e-4, atol=1e-5),
        Case(lambda r: ((rand(r, (4, 8), "bfloat16"), rand(r, (8,))), {}), id="bf16", **LOW),
    ],
    "rms_normalization": [
        Case(lambda r: ((rand(r, (3, 6)),), {}), rtol=1e-5, atol=1e-6),
        Case(lambda r: ((rand(r, (2, 3, 4)), rand(r, (4,))), {"epsilon": 1e-2}), id="scale"),
        Case(lambda r: ((rand(r, (2, 3, 4)),), {"axis": [1, 2]}), id="axes"),
        Case(lambda r: ((rand(r, (4, 8), "float16"),), {}), id="f16", **LOW),
    ],
    "normalize": [
        Case(lambda r: ((rand(r, (3, 4)),), {})),
        Case(lambda r: ((rand(r, (3, 4)),), {"axis": 0, "order": 1}), id="l1"),
        Case(lambda r: ((rand(r, (2, 5)),), {"order": 3, "epsilon": 1e-3}), id="l3"),
        Case(args(jnp.zeros(3)), id="zeros"),
        Case(args(jnp.ones(3), order=0), raises=ValueError, id="bad-order"),
    ],
    "psnr": [
        Case(lambda r: ((jnp.asarray(r.random((2, 8, 8, 3)), "float32"), jnp.asarray(r.random((2, 8, 8, 3)),
                                                                                       "float32"), 1.0), {})),
        Case(lambda r: ((rand(r, (16,)) * 50 + 128, rand(r, (16,)) * 50 + 128, 255.0), {}), id="255", rtol=1e-5),
    ],
    "polar": [
        Case(lambda r: ((jnp.abs(rand(r, (3, 4))), rand(r, (3, 4))), {})),
        Case(args(jnp.array([1.0, 2.0]), jnp.array([0.0, np.pi / 2])), id="fixed"),
    ],
    # ---------------------------------------------------------------- attention
    "dot_product_attention": [
        Case(lambda r: ((rand(r, (2, 5, 3, 4)), rand(r, (2, 6, 3, 4)), rand(r, (2, 6, 3, 4))), {}),
             rtol=1e-5, atol=1e-6),
        Case(lambda r: ((rand(r, (2, 5, 4, 8)), rand(r, (2, 5, 2, 8)), rand(r, (2, 5, 2, 8))),
                        {"is_causal": True, "scale": 0.3}), id="gqa-causal", rtol=1e-5, atol=1e-6),
        Case(lambda r: ((rand(r, (1, 4, 2, 4)), rand(r, (1, 3, 2, 4)), rand(r, (1, 3, 2, 4))),
                        {"bias": rand(r, (1, 2, 4, 3)), "mask": jnp.asarray(r.random((1, 2, 4, 3)) > 0.3)}),
             id="bias-mask", rtol=1e-5, atol=1e-6),
        Case(lambda r: ((rand(r, (1, 4, 2, 8), "float16"),) * 3, {}), id="f16", **LOW),
        Case(args(jnp.ones((2, 3, 4)), jnp.ones((2, 3, 4)), jnp.ones((2, 3, 4))), raises=ValueError, id="3d"),
    ],
    # ---------------------------------------------------------------- patches
    "unfold": [
        Case(lambda r: ((rand(r, (2, 3, 5, 6)), 2), {})),
        Case(lambda r: ((rand(r, (1, 2, 7, 7)), (3, 2)), {"dilation": 2, "padding": 1, "stride": (2, 1)}),
             id="all-args"),
    ],
    "fold": [
        Case(lambda r: ((rand(r, (2, 12, 20)), (5, 6), 2), {})),
        Case(lambda r: ((rand(r, (1, 12, 21)), 7, (3, 2)), {"dilation": 2, "padding": 1, "stride": (2, 1)}),
             id="all-args", rtol=1e-5, atol=1e-5),
    ],
    "depth_to_space": [
        Case(lambda r: ((rand(r, (2, 3, 4, 8)), 2), {})),
        Case(lambda r: ((rand(r, (1, 18, 2, 3)), 3), {"data_format": "channels_first"}), id="cf"),
        Case(args(jnp.ones((1, 2, 2, 4)), 1), raises=ValueError, id="block1"),
    ],
    "space_to_depth": [
        Case(lambda r: ((rand(r, (2, 4, 6, 3)), 2), {})),
        Case(lambda r: ((rand(r, (1, 2, 6, 9)), 3), {"data_format": "channels_first"}), id="cf"),
    ],
    # ---------------------------------------------------------------- CTC
    "ctc_loss": [
        Case(lambda r: ((jnp.array([[1, 2, 2], [3, 1, 0], [4, 4, 4]]), rand(r, (3, 8, 5)), jnp.array([3, 2, 1]),
                         jnp.array([8, 6, 8])), {}), rtol=1e-5, atol=1e-4),
        Case(lambda r: ((labels(r, (2, 4), 5) + 1, rand(r, (2, 10, 7)), jnp.array([4, 2]), jnp.array([10, 9])),
                        {"mask_index": 6}), id="mask-last", rtol=1e-5, atol=1e-4),
    ],
    "ctc_decode": [
        Case(lambda r: ((rand(r, (3, 8, 5), scale=2.0), jnp.array([8, 5, 7])), {}), id="greedy"),
        Case(lambda r: ((rand(r, (2, 6, 4), scale=2.0), jnp.array([6, 4])), {"merge_repeated": False,
                                                                             "mask_index": 3}),
             id="greedy-nomerge"),
        Case(lambda r: ((rand(r, (2, 5, 4), scale=2.0), jnp.array([5, 4])),
                        {"strategy": "beam_search", "beam_width": 50, "top_paths": 2}), id="beam",
             rtol=1e-4, atol=1e-4),
        Case(args(jnp.ones((1, 2, 3)), jnp.array([2]), strategy="nope"), raises=ValueError, id="bad"),
    ],
})

SKIPPED: dict[str, str] = {}

test_matches_keras = cases_test({f"nn.{k}" if k in ("relu", "softmax") else k: v for k, v in CASES.items()})


def test_nn_names_match_keras() -> None:
    import keras

    import lamina

    for name in dir(keras.ops.nn):
        if not name.startswith("_"):
            assert callable(getattr(lamina.ops.nn, name)), name
            assert getattr(lamina.ops, name) is getattr(lamina.ops.nn, name), name


def test_sparse_one_hot_and_multi_hot_densify_to_keras() -> None:
    import keras

    import lamina

    x = jnp.array([[0, 3], [2, 2]])
    for name in ("one_hot", "multi_hot"):
        ours = getattr(lamina.ops, name)(x, 4, sparse=True)
        theirs = getattr(keras.ops, name)(x, 4, sparse=True)
        np.testing.assert_array_equal(np.asarray(ours.todense()), np.asarray(theirs.todense()))
        assert ours.dtype == theirs.dtype


def test_max_pool_default_strides_is_pool_size() -> None:
    import lamina

    x = jnp.arange(32.0).reshape(1, 4, 8, 1)
    assert lamina.ops.max_pool(x, 2).shape == (1, 2, 4, 1)
    assert lamina.ops.average_pool(x, (2, 4)).shape == (1, 2, 2, 1)


# ------------------------------------------------------------------------- heads-major attention layout
_ATTENTION_CASES = [  # (batch, q_len, kv_len, q_heads, kv_heads, depth)
    (2, 5, 7, 4, 2, 8), (3, 6, 6, 2, 2, 4), (1, 4, 9, 3, 1, 5), (2, 1, 3, 2, 2, 16)]


@pytest.mark.parametrize("dims", _ATTENTION_CASES)
@pytest.mark.parametrize("extra", ["none", "mask", "bias", "causal+mask", "scale+causal"])
def test_heads_major_attention_equals_jax_values_and_gradients(dims, extra):
    import jax

    from lamina.ops.nn import heads_major_attention, heads_major_fits

    b, t, s, n, k, h = dims
    rng = np.random.default_rng(0)
    q = jnp.asarray(rng.normal(size=(b, t, n, h)), jnp.float32)
    key, value = (jnp.asarray(rng.normal(size=(b, s, k, h)), jnp.float32) for _ in range(2))
    kwargs = {"mask": jnp.asarray(rng.random((b, 1, t, s)) > 0.3)} if "mask" in extra else {}
    if extra == "bias":
        kwargs["bias"] = jnp.asarray(rng.normal(size=(1, n, t, s)), jnp.float32)
    if "causal" in extra:
        kwargs["is_causal"] = True
    if "scale" in extra:
        kwargs["scale"] = 0.3
    assert heads_major_fits(q, key, kwargs.get("bias"), kwargs.get("mask"))

    def reference(q, k, v):
        return jax.nn.dot_product_attention(q, k, v, implementation="xla", **kwargs)

    def ours(q, k, v):
        return heads_major_attention(q, k, v, **kwargs)

    np.testing.assert_allclose(ours(q, key, value), reference(q, key, value), rtol=1e-5, atol=1e-6)
    grads = [jax.grad(lambda *a, f=f: jnp.sum(f(*a) ** 2), argnums=(0, 1, 2))(q, key, value)
             for f in (ours, reference)]
    for mine, theirs in zip(*grads):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-5)


def test_heads_major_attention_keeps_low_precision_dtypes_and_declines_other_shapes():
    import jax

    from lamina.ops.nn import heads_major_attention, heads_major_fits

    q = jnp.asarray(np.random.default_rng(1).normal(size=(2, 5, 2, 8)), jnp.bfloat16)
    out = heads_major_attention(q, q, q)
    assert out.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(out, np.float32),
                               np.asarray(jax.nn.dot_product_attention(q, q, q, implementation="xla"), np.float32),
                               atol=1e-2)
    assert not heads_major_fits(q, q, mask=jnp.ones((5, 5), bool))  # rank-2 mask: jax.nn's form
    assert not heads_major_fits(jnp.ones((2, 5, 3, 8)), jnp.ones((2, 5, 2, 8)))  # 3 heads over 2
