"""lamina.ops.convolution against keras.ops (JAX backend) and lax: values and gradients to 1e-5."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest
from jax import lax

from lamina.ops import convolution as C
from lamina.ops.convolution import (
    conv,
    conv_output_shape,
    conv_transpose,
    depthwise_conv,
    select_conv_impl,
    separable_conv,
)

TOL = dict(rtol=1e-5, atol=1e-5)


def _rand(shape, seed):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32) * 0.5


def _lax_ref(x, k, strides, padding, dilation, groups, fmt):
    """Reference: lax.conv_general_dilated with explicit padding (causal = left pad then valid)."""
    rank = k.ndim - 2
    sp = "DHW"[3 - rank:]
    lhs = "N" + sp + "C" if fmt == "channels_last" else "NC" + sp
    spatial = x.shape[1:-1] if fmt == "channels_last" else x.shape[2:]
    pads = C._pads(spatial, k.shape[:rank], strides, dilation, padding)
    return lax.conv_general_dilated(x, k, strides, pads, rhs_dilation=dilation,
                                    dimension_numbers=(lhs, sp + "IO", lhs), feature_group_count=groups)


# rank, spatial, channels, filters, kernel, strides, padding, dilation, groups
CASES = [
    (1, (11,), 3, 4, (3,), (1,), "valid", (1,), 1),
    (1, (11,), 4, 6, (3,), (2,), "same", (1,), 2),
    (1, (12,), 3, 5, (3,), (1,), "causal", (2,), 1),
    (1, (10,), 2, 4, (4,), (3,), "causal", (1,), 1),
    (2, (9, 8), 3, 5, (3, 3), (1, 1), "valid", (1, 1), 1),
    (2, (9, 8), 3, 5, (3, 2), (1, 1), "same", (1, 1), 1),
    (2, (9, 10), 4, 6, (3, 3), (2, 2), "same", (1, 1), 1),
    (2, (10, 9), 4, 4, (2, 3), (2, 1), "valid", (1, 1), 2),
    (2, (11, 11), 3, 4, (3, 3), (1, 1), "same", (2, 2), 1),
    (2, (12, 11), 6, 6, (3, 3), (1, 1), "valid", (2, 1), 3),
    (2, (8, 8), 4, 8, (1, 1), (1, 1), "valid", (1, 1), 1),
    (2, (8, 7), 4, 4, (4, 4), (3, 2), "same", (1, 1), 1),
    (2, (8, 8), 4, 8, (3, 3), (1, 1), "same", (1, 1), 4),
    (3, (5, 6, 5), 2, 3, (3, 3, 2), (1, 1, 1), "valid", (1, 1, 1), 1),
    (3, (6, 5, 7), 4, 4, (2, 3, 3), (2, 1, 2), "same", (1, 1, 1), 2),
]


def _case_id(case):
    rank, sp, c, f, k, s, p, d, g = case
    return f"{rank}d-{'x'.join(map(str, sp))}-c{c}-f{f}-k{''.join(map(str, k))}-s{''.join(map(str, s))}-{p}" \
           f"-d{''.join(map(str, d))}-g{g}"


PARAMS = [(case, "channels_last") for case in CASES] + [(case, "channels_first") for case in CASES[1::3]]


@pytest.mark.parametrize("case,fmt", PARAMS, ids=[f"{_case_id(c)}-{f[9:]}" for c, f in PARAMS])
def test_conv_values_and_gradients(case, fmt):
    """Every impl equals keras.ops.conv and lax; im2col / hybrid gradients equal lax's (one jit per case)."""
    rank, sp, c, f, k, s, p, d, g = case
    shape = (2, *sp, c) if fmt == "channels_last" else (2, c, *sp)
    x, kern = jnp.asarray(_rand(shape, 0)), jnp.asarray(_rand((*k, c // g, f), 1))
    ref = _lax_ref(x, kern, s, p, d, g, fmt)
    if p != "causal":  # keras.ops.conv has no causal mode (Conv1D pads then calls it with "valid")
        np.testing.assert_allclose(np.asarray(keras.ops.conv(x, kern, s, p, fmt, d)), ref, **TOL)
    ct = jnp.asarray(_rand(ref.shape, 4))
    # "auto" resolves to one of these or lax (see test_select_rule and tests/ops/test_conv_autotune.py);
    # "hybrid" is only chosen for groups > 1, "taps" for depthwise (one input channel per group)
    impls = (("im2col", "hybrid") if g > 1 else ("im2col",)) + (("taps",) if g > 1 and c == g else ())

    @jax.jit
    def run(x, kern):
        outs, grads = [], []
        for fn in [lambda a, b: _lax_ref(a, b, s, p, d, g, fmt)] + [
                lambda a, b, i=i: conv(a, b, s, p, d, g, fmt, impl=i) for i in impls]:
            outs.append(fn(x, kern))
            grad = jax.grad(lambda a, b, fn=fn: jnp.sum(jnp.tanh(fn(a, b)) * ct), argnums=(0, 1))
            grads.append(grad(x, kern))
        return outs, grads

    outs, grads = run(x, kern)
    np.testing.assert_allclose(conv(x, kern, s, p, d, g, fmt), outs[0], **TOL)  # auto
    for impl, out, (gx, gk) in zip(impls, outs[1:], grads[1:]):
        assert out.shape == ref.shape, impl
        np.testing.assert_allclose(out, outs[0], **TOL, err_msg=impl)
        np.testing.assert_allclose(gx, grads[0][0], **TOL, err_msg=impl)
        np.testing.assert_allclose(gk, grads[0][1], **TOL, err_msg=impl)


def test_conv_matches_keras_conv_layers():
    """Keras layers (incl. Conv1D causal, groups) with our kernels give the same outputs."""
    x = _rand((2, 12, 4), 5)
    layer = keras.layers.Conv1D(6, 3, padding="causal", dilation_rate=2, groups=2, use_bias=False)
    want = np.asarray(layer(x))  # builds the layer
    got = conv(x, np.asarray(layer.kernel), 1, "causal", 2, 2)
    np.testing.assert_allclose(got, want, **TOL)

    x2 = _rand((3, 10, 10, 3), 6)
    layer2 = keras.layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)
    want2 = np.asarray(layer2(x2))
    np.testing.assert_allclose(conv(x2, np.asarray(layer2.kernel), 2, "same"), want2, **TOL)


def test_design_cnn_layers_at_batch_32():
    """The DESIGN.md CNN's convolutions on the auto path, values and gradients."""
    x = jnp.asarray(_rand((32, 32, 32, 3), 7))
    k1, k2 = jnp.asarray(_rand((3, 3, 3, 32), 8)), jnp.asarray(_rand((3, 3, 32, 64), 9)) * 0.3
    assert select_conv_impl(x.shape, k1.shape, 1, (1, 1), (1, 1), "cpu") == "im2col"
    assert select_conv_impl((32, 15, 15, 32), k2.shape, 1, (1, 1), (1, 1), "cpu") == "im2col"

    def net(conv_fn, x, k1, k2):
        h = jax.nn.relu(conv_fn(x, k1))[:, :30:2, :30:2]
        return jnp.mean(jax.nn.relu(conv_fn(h, k2)) ** 2)

    ref = jax.jit(jax.value_and_grad(lambda *a: net(lambda x, k: conv(x, k, impl="lax"), *a), argnums=(1, 2)))
    fast = jax.jit(jax.value_and_grad(lambda *a: net(conv, *a), argnums=(1, 2)))
    (v0, g0), (v1, g1) = ref(x, k1, k2), fast(x, k1, k2)
    np.testing.assert_allclose(v1, v0, rtol=1e-5)
    for a, b in zip(g1, g0):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_depthwise_and_separable_match_keras(fmt):
    x = _rand((2, 9, 8, 3) if fmt == "channels_last" else (2, 3, 9, 8), 10)
    dk, pk = _rand((3, 3, 3, 2), 11), _rand((1, 1, 6, 5), 12)
    for s, p, d in [(1, "valid", 1), (2, "same", 1), (1, "same", 2)]:
        want = keras.ops.depthwise_conv(x, dk, s, p, fmt, d)
        for impl in ("im2col", "lax", "taps"):
            np.testing.assert_allclose(depthwise_conv(x, dk, s, p, d, fmt, impl), want, **TOL)
        if s == 1 or d == 1:
            want = keras.ops.separable_conv(x, dk, pk, s, p, fmt, d)
            np.testing.assert_allclose(separable_conv(x, dk, pk, s, p, d, fmt), want, **TOL)


TRANSPOSE_CASES = [
    # rank, spatial, in_channels, filters, kernel, strides, padding, output_padding, dilation
    (1, (7,), 3, 4, (3,), (1,), "valid", None, (1,)),
    (1, (7,), 3, 4, (3,), (2,), "same", None, (1,)),
    (2, (5, 6), 3, 4, (3, 3), (1, 1), "same", None, (1, 1)),
    (2, (5, 6), 3, 4, (3, 3), (1, 1), "valid", None, (2, 2)),
    (2, (5, 6), 3, 4, (3, 2), (2, 2), "same", None, (1, 1)),
    (2, (5, 5), 2, 3, (3, 3), (2, 3), "valid", None, (1, 1)),
    (2, (4, 5), 2, 3, (3, 3), (2, 2), "same", (1, 0), (1, 1)),
    (2, (4, 5), 2, 3, (4, 4), (1, 1), "same", None, (1, 1)),
    (2, (4, 5), 2, 3, (3, 3), (1, 1), "valid", (0, 0), (1, 1)),
    (3, (3, 4, 3), 2, 2, (2, 3, 3), (2, 1, 2), "same", None, (1, 1, 1)),
]


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=[str(i) for i in range(len(TRANSPOSE_CASES))])
def test_conv_transpose_matches_keras(case, fmt):
    rank, sp, c, f, k, s, p, op, d = case
    x = _rand((2, *sp, c) if fmt == "channels_last" else (2, c, *sp), 13)
    kern = _rand((*k, f, c), 14)  # Keras's layout: (*kernel_size, filters, in_channels)
    want = np.asarray(keras.ops.conv_transpose(x, kern, s, p, op, fmt, d))
    np.testing.assert_allclose(conv_transpose(x, kern, s, p, op, d, fmt), want, **TOL)
    if any(v != 1 for v in s) or fmt == "channels_first":
        return  # strided transposes: test_strided_transpose_subpixel_equals_lax below

    @jax.jit
    def run(x, kern):
        res = []
        for impl in ("lax", "im2col"):
            fn = lambda a, b, impl=impl: conv_transpose(a, b, s, p, op, d, fmt, impl=impl)
            grad = jax.grad(lambda a, b, fn=fn: jnp.sum(jnp.sin(fn(a, b))), argnums=(0, 1))
            res.append((fn(x, kern), grad(x, kern)))
        return res

    (y0, (gx0, gk0)), (y1, (gx1, gk1)) = run(jnp.asarray(x), jnp.asarray(kern))
    for a, b in ((y1, want), (y0, want), (gx1, gx0), (gk1, gk0)):
        np.testing.assert_allclose(a, b, **TOL)


def _subpixel_cases() -> list[tuple]:
    """Every kernel 1-5 x stride 2-3 x padding x valid output_padding, 1D and 2D (one size per case)."""
    cases = []
    for rank, sizes in ((1, (7,)), (2, (5, 6))):
        for k in range(1, 6):
            for s in (2, 3):
                for p in ("valid", "same"):
                    for op in (None, s - 1):
                        cases.append((rank, sizes, k, s, p, op))
    return cases


@pytest.mark.parametrize("case", _subpixel_cases(), ids=str)
def test_strided_transpose_subpixel_equals_lax(case):
    """The sub-pixel form (one stride-1 convolution, then depth-to-space) that strided transposes use on
    CPU gives lax.conv_transpose's outputs and gradients."""
    rank, sizes, k, s, p, op = case
    x, kern = jnp.asarray(_rand((2, *sizes, 3), 21)), jnp.asarray(_rand((k,) * rank + (4, 3), 22))

    def both(a, b):
        out = []
        for impl in ("lax", "auto"):
            fn = lambda a, b, impl=impl: conv_transpose(a, b, s, p, op, 1, "channels_last", impl=impl)  # noqa: E731
            out.append((fn(a, b), jax.grad(lambda a, b, fn=fn: jnp.sum(jnp.sin(fn(a, b))), argnums=(0, 1))(a, b)))
        return out

    (y0, (gx0, gk0)), (y1, (gx1, gk1)) = jax.jit(both)(x, kern)
    assert y0.shape == y1.shape
    for got, want in ((y1, y0), (gx1, gx0), (gk1, gk0)):
        np.testing.assert_allclose(got, want, **TOL)


def test_conv_transpose_layer_kernel_layout():
    layer = keras.layers.Conv2DTranspose(5, 3, strides=2, padding="same", use_bias=False)
    x = _rand((2, 4, 4, 3), 15)
    want = np.asarray(layer(x))
    assert tuple(layer.kernel.shape) == (3, 3, 5, 3)  # (kh, kw, filters, in_channels)
    np.testing.assert_allclose(conv_transpose(x, np.asarray(layer.kernel), 2, "same"), want, **TOL)


def test_output_shape_helper_matches():
    for case in CASES:
        rank, sp, c, f, k, s, p, d, g = case
        fn = lambda a, b, s=s, p=p, d=d, g=g: conv(a, b, s, p, d, g)
        out = jax.eval_shape(fn, jnp.zeros((1, *sp, c)), jnp.zeros((*k, c // g, f)))
        assert out.shape[1:-1] == conv_output_shape(sp, k, s, p, d)


def test_errors():
    x, k = jnp.zeros((1, 8, 8, 4)), jnp.zeros((3, 3, 3, 2))
    with pytest.raises(ValueError, match="divisible"):
        conv(x, k)
    with pytest.raises(ValueError, match="groups"):
        conv(x, jnp.zeros((3, 3, 2, 4)), groups=4)
    with pytest.raises(ValueError, match="causal"):
        conv(x, jnp.zeros((3, 3, 4, 2)), padding="causal")
    with pytest.raises(ValueError, match="empty output"):
        conv(jnp.zeros((1, 2, 2, 4)), jnp.zeros((3, 3, 4, 2)))
    with pytest.raises(ValueError, match="impl"):
        conv(x, jnp.zeros((3, 3, 4, 2)), impl="fft")
    with pytest.raises(ValueError, match="data_format"):
        conv(x, jnp.zeros((3, 3, 4, 2)), data_format="NHWC")


def test_select_rule():
    cpu = dict(platform="cpu")
    assert select_conv_impl((8, 32, 32, 3), (3, 3, 3, 32), 1, (1, 1), (1, 1), **cpu) == "im2col"
    assert select_conv_impl((8, 16, 16, 64), (3, 3, 64, 128), 1, (1, 1), (1, 1), **cpu) == "lax"
    assert select_conv_impl((8, 16, 16, 16), (3, 3, 16, 32), 1, (2, 2), (1, 1), **cpu) == "lax"
    assert select_conv_impl((8, 128, 32), (5, 32, 64), 1, (1,), (1,), **cpu) == "lax"
    assert select_conv_impl((8, 16, 16, 32), (3, 3, 8, 32), 4, (1, 1), (1, 1), **cpu) == "hybrid"
    assert select_conv_impl((8, 16, 16, 32), (3, 3, 1, 32), 32, (1, 1), (1, 1), **cpu) == "lax"
    assert select_conv_impl((8, 16, 16, 64), (1, 1, 64, 128), 1, (1, 1), (1, 1), **cpu) == "im2col"
    assert select_conv_impl((8, 32, 32, 3), (3, 3, 3, 32), 1, (1, 1), (1, 1), platform="gpu") == "lax"
