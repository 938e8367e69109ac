"""Convolution kernels in pure JAX with Keras 3's argument conventions and results.

Kernels use Keras's layouts: ``conv`` takes ``(*kernel_size, in_channels // groups, filters)`` and
``conv_transpose`` takes ``(*kernel_size, filters, in_channels)``.

Implementations of ``conv``:

* ``"im2col"``: the ``prod(kernel_size)`` shifted (strided, dilated) slices of the padded input are
  concatenated on the channel axis and multiplied by the reshaped kernel in one ``dot_general``.
  Its gradient is a matmul plus slice-transposes (pad-and-add), which XLA's CPU backend runs well.
* ``"lax"``: ``lax.conv_general_dilated`` (what Keras calls).
* ``"hybrid"``: the ``lax`` forward with the im2col gradient (grouped convolutions).
* ``"taps"``: depthwise only (one input channel per group): the sum over taps of shifted slices times the
  kernel's tap, elementwise work XLA fuses (XLA's own depthwise gradient is 2-15x slower on CPU).

``impl="auto"`` on the CPU backend times the candidates on the exact shape once and caches the fastest
(:mod:`lamina.ops.conv_autotune`; ``lax`` is kept unless another is faster by more than 5%); convolutions
under ``conv_autotune.MIN_FLOPS`` and runs with tuning off (``LAMINA_CONV_AUTOTUNE=0``) follow the rule
of :func:`select_conv_impl`. Transposed convolutions are chosen the same way among ``lax.conv_transpose``
and the forms in :func:`conv_transpose`.

>>> import jax.numpy as jnp
>>> x = jnp.ones((2, 8, 8, 3))
>>> k = jnp.ones((3, 3, 3, 4))
>>> conv(x, k, 1, "same").shape
(2, 8, 8, 4)
>>> float(conv(x, k, 1, "valid")[0, 0, 0, 0])
27.0
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from jax import lax

import lamina.ops.conv_autotune as conv_autotune

__all__ = [
    "conv", "conv_transpose", "depthwise_conv", "separable_conv", "conv_output_shape", "conv_padding",
    "conv_transpose_padding", "select_conv_impl",
]

IntOrSeq = int | Sequence[int]
Padding = str | Sequence[tuple[int, int]]


# ------------------------------------------------------------------------------------------ helpers
def _tuple(value: IntOrSeq | None, rank: int, name: str, default: int = 1) -> tuple[int, ...]:
    """``2 -> (2, 2)`` for ``rank`` 2; checks length and positivity."""
    if value is None:
        value = default
    if isinstance(value, int):
        out = (int(value),) * rank
    else:
        out = tuple(int(v) for v in value)
        if len(out) == 1 and rank != 1:
            out = out * rank
    if len(out) != rank or any(v <= 0 for v in out):
        raise ValueError(f"{name} must be an int or {rank} positive ints, received {value!r}.")
    return out


def _check_format(data_format: str | None) -> str:
    fmt = "channels_last" if data_format is None else str(data_format).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', "
                         f"received {data_format!r}.")
    return fmt


def _to_last(x: jax.Array) -> jax.Array:
    """``(N, C, *S) -> (N, *S, C)``."""
    return jnp.moveaxis(x, 1, -1)


def _to_first(x: jax.Array) -> jax.Array:
    """``(N, *S, C) -> (N, C, *S)``."""
    return jnp.moveaxis(x, -1, 1)


def conv_padding(size: int, kernel: int, stride: int, dilation: int, padding: str) -> tuple[int, int]:
    """The ``(low, high)`` zero padding of one spatial axis for ``valid``, ``same`` or ``causal``.

    >>> conv_padding(32, 3, 1, 1, "same"), conv_padding(10, 3, 1, 2, "causal")
    ((1, 1), (4, 0))
    """
    effective = (kernel - 1) * dilation + 1
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return effective - 1, 0
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + effective - size, 0)
        return total // 2, total - total // 2
    raise ValueError(f"padding must be 'valid', 'same' or 'causal', received {padding!r}.")


def conv_output_shape(spatial: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
                      padding: Padding, dilation_rate: Sequence[int]) -> tuple[int, ...]:
    """Output spatial sizes of a convolution.

    >>> conv_output_shape((32, 32), (3, 3), (1, 1), "valid", (1, 1))
    (30, 30)
    """
    pads = _pads(spatial, kernel, strides, dilation_rate, padding)
    return tuple((n + lo + hi - ((k - 1) * d + 1)) // s + 1
                 for n, k, s, d, (lo, hi) in zip(spatial, kernel, strides, dilation_rate, pads))


def _pads(spatial: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dilation: Sequence[int],
          padding: Padding) -> list[tuple[int, int]]:
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "causal" and len(spatial) != 1:
            raise ValueError("padding='causal' is only defined for 1D convolutions.")
        return [conv_padding(n, k, s, d, mode) for n, k, s, d in zip(spatial, kernel, strides, dilation)]
    pads = [(int(lo), int(hi)) for lo, hi in padding]
    if len(pads) != len(spatial):
        raise ValueError(f"explicit padding needs {len(spatial)} (low, high) pairs, received {padding!r}.")
    return pads


def select_conv_impl(x_shape: Sequence[int], kernel_shape: Sequence[int], groups: int, strides: Sequence[int],
                     dilation_rate: Sequence[int], platform: str | None = None) -> str:
    """The rule ``conv(impl="auto")`` falls back on: ``"im2col"``, ``"hybrid"`` or ``"lax"``.

    On the CPU backend ``conv`` first asks :mod:`lamina.ops.conv_autotune` for a measured choice (each
    candidate's forward+backward timed once per shape, dtype and machine, cached in memory and on disk); this
    rule decides when tuning is off (``LAMINA_CONV_AUTOTUNE=0``, as in the test suite), for convolutions
    under ``conv_autotune.MIN_FLOPS``, and where timing failed.

    ``x_shape`` is channels_last. The rule follows medians of interleaved fwd+bwd timings under ``jit`` on
    a 2-core CPU (``bench/kernels.py``, ``bench/conv_sweep.py``; XLA CPU, JAX 0.10):

    * ungrouped, 2D/3D, stride 1, at most 32 input channels (the DESIGN.md CNN's layers): ``im2col``
      (whole CNN step 1.3-1.6x faster; 3D 4^C convs 2.5-4x). With 64-128 channels, strides > 1, or 1D
      inputs, XLA's convolution was as fast or faster, so ``lax``;
    * grouped (``1 < groups < channels``): ``hybrid`` = ``lax`` forward with the im2col gradient
      (XLA's grouped-conv gradient is 5-10x slower);
    * depthwise (one input channel per group): ``lax``. ``taps`` ran forward+backward 2-15x faster on the
      sweep's shapes but compiles far slower in whole networks (MobileNetV2 alpha 0.35: first ``fit`` 29.6 s
      against 17.6 s, an eager call 23 s against 10 s), so only a measured choice picks it;
    * pointwise (1x1, stride 1) kernels are a plain matmul: ``im2col``;
    * any non-CPU backend: ``lax``. Patch matrices over ``2**28`` elements fall back to ``lax``.

    >>> select_conv_impl((32, 32, 32, 3), (3, 3, 3, 32), 1, (1, 1), (1, 1), platform="cpu")
    'im2col'
    >>> select_conv_impl((32, 16, 16, 64), (3, 3, 64, 128), 1, (1, 1), (1, 1), platform="cpu")
    'lax'
    >>> select_conv_impl((32, 16, 16, 32), (3, 3, 8, 32), 4, (1, 1), (1, 1), platform="cpu")
    'hybrid'
    """
    if platform is None:
        platform = jax.default_backend()
    if platform != "cpu":
        return "lax"
    rank = len(kernel_shape) - 2
    cin_g = kernel_shape[-2]
    taps = math.prod(kernel_shape[:-2])
    if math.prod(x_shape[:-1]) * taps * cin_g > 2**28:
        return "lax"
    stride1 = all(s == 1 for s in strides)
    if groups > 1:
        return "lax" if cin_g == 1 else "hybrid"
    if taps == 1 and stride1:
        return "im2col"
    if rank >= 2 and stride1 and cin_g <= 32:
        return "im2col"
    return "lax"


# ------------------------------------------------------------------------------------------ conv
def _im2col_conv(x: jax.Array, kernel: jax.Array, strides: tuple[int, ...], pads: list[tuple[int, int]],
                 dilation: tuple[int, ...], groups: int, out_spatial: tuple[int, ...]) -> jax.Array:
    """channels_last convolution as shifted slices + concatenate + one matmul."""
    rank = len(strides)
    ksize = kernel.shape[:rank]
    cin_g, cout = kernel.shape[-2], kernel.shape[-1]
    if any(lo or hi for lo, hi in pads):
        x = jnp.pad(x, [(0, 0), *pads, (0, 0)])
    n, c = x.shape[0], x.shape[-1]
    taps = []
    for offsets in itertools.product(*(range(k) for k in ksize)):
        start = (0, *(o * d for o, d in zip(offsets, dilation)), 0)
        ends = (o * d + (m - 1) * s + 1 for o, d, m, s in zip(offsets, dilation, out_spatial, strides))
        limit = (n, *ends, c)
        taps.append(lax.slice(x, start, limit, (1, *strides, 1)))
    patches = taps[0] if len(taps) == 1 else jnp.concatenate(taps, axis=-1)  # (N, *out, K*C)
    ntaps = len(taps)
    if groups == 1:
        w = kernel.reshape(ntaps * c, cout)
        return lax.dot_general(patches, w, (((rank + 1,), (0,)), ((), ())))
    # grouped: patches (N, *out, K, G, Cg) x kernel (K, Cg, G, Og) -> (N, *out, G, Og)
    og = cout // groups
    p = patches.reshape(*patches.shape[:-1], ntaps, groups, cin_g)
    w = kernel.reshape(ntaps, cin_g, groups, og)
    y = jnp.einsum("...kgc,kcgo->...go", p, w)
    return y.reshape(*y.shape[:-2], cout)


def _taps_conv(x: jax.Array, kernel: jax.Array, strides: tuple[int, ...], pads: list[tuple[int, int]],
               dilation: tuple[int, ...], groups: int, out_spatial: tuple[int, ...]) -> jax.Array:
    """channels_last depthwise convolution (one input channel per group) as a sum of shifted slices times the
    kernel's taps: elementwise work that XLA fuses, without im2col's patch matrix or a batched matmul."""
    rank = len(strides)
    ksize = kernel.shape[:rank]
    cout = kernel.shape[-1]
    mult = cout // groups
    if any(lo or hi for lo, hi in pads):
        x = jnp.pad(x, [(0, 0), *pads, (0, 0)])
    n, c = x.shape[0], x.shape[-1]
    w = kernel.reshape(math.prod(ksize), groups, mult)
    acc = None
    for t, offsets in enumerate(itertools.product(*(range(k) for k in ksize))):
        start = (0, *(o * d for o, d in zip(offsets, dilation)), 0)
        ends = (o * d + (m - 1) * s + 1 for o, d, m, s in zip(offsets, dilation, out_spatial, strides))
        tap = lax.slice(x, start, (n, *ends, c), (1, *strides, 1))
        term = tap * w[t, :, 0] if mult == 1 else tap[..., None] * w[t]
        acc = term if acc is None else acc + term
    return acc if mult == 1 else acc.reshape(*acc.shape[:-2], cout)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4, 5, 6))
def _hybrid_conv(x: jax.Array, kernel: jax.Array, strides: tuple[int, ...], pads: tuple[tuple[int, int], ...],
                 dilation: tuple[int, ...], groups: int, fmt: str) -> jax.Array:
    """``lax`` forward; the gradient is that of the im2col form (same values, faster for grouped convs)."""
    return conv(x, kernel, strides, list(pads), dilation, groups, fmt, "lax")


def _hybrid_fwd(x: jax.Array, kernel: jax.Array, strides: tuple[int, ...], pads: tuple[tuple[int, int], ...],
                dilation: tuple[int, ...], groups: int, fmt: str
                ) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    return _hybrid_conv(x, kernel, strides, pads, dilation, groups, fmt), (x, kernel)


def _hybrid_bwd(strides: tuple[int, ...], pads: tuple[tuple[int, int], ...], dilation: tuple[int, ...],
                groups: int, fmt: str, res: tuple[jax.Array, jax.Array], g: jax.Array
                ) -> tuple[jax.Array, jax.Array]:
    x, kernel = res
    _, vjp = jax.vjp(lambda a, b: conv(a, b, strides, list(pads), dilation, groups, fmt, "im2col"), x, kernel)
    return vjp(g)


_hybrid_conv.defvjp(_hybrid_fwd, _hybrid_bwd)


def conv(x: jax.Array, kernel: jax.Array, strides: IntOrSeq = 1, padding: Padding = "valid",
         dilation_rate: IntOrSeq = 1, groups: int | None = None, data_format: str = "channels_last",
         impl: str = "auto") -> jax.Array:
    """N-D convolution (1D/2D/3D), equal to ``keras.ops.conv`` / Keras ``ConvND`` layers.

    Args:
        x: ``(batch, *spatial, channels)`` or, with ``channels_first``, ``(batch, channels, *spatial)``.
        kernel: ``(*kernel_size, channels // groups, filters)`` (Keras's layout).
        strides, dilation_rate: an int or one int per spatial axis.
        padding: ``"valid"``, ``"same"``, ``"causal"`` (1D: left padding only) or ``(low, high)`` pairs.
        groups: feature groups; ``None`` infers ``channels // kernel.shape[-2]`` as Keras does.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        impl: ``"auto"`` (measured or by rule, see :func:`select_conv_impl`), ``"im2col"``, ``"lax"``,
            ``"hybrid"`` (``lax`` forward, im2col gradient) or ``"taps"`` (depthwise only; im2col otherwise).

    >>> import jax.numpy as jnp
    >>> conv(jnp.ones((1, 10, 2)), jnp.ones((3, 2, 4)), padding="causal").shape
    (1, 10, 4)
    >>> conv(jnp.ones((1, 4, 6, 6)), jnp.ones((3, 3, 2, 8)), 2, "same", groups=2,
    ...      data_format="channels_first").shape
    (1, 8, 3, 3)
    """
    fmt = _check_format(data_format)
    kernel = jnp.asarray(kernel)
    x = jnp.asarray(x, dtype=kernel.dtype)
    rank = kernel.ndim - 2
    if x.ndim != rank + 2:
        raise ValueError(f"conv: a {rank}D kernel {kernel.shape} needs a rank-{rank + 2} input, "
                         f"received {x.shape}.")
    strides_t = _tuple(strides, rank, "strides")
    dilation_t = _tuple(dilation_rate, rank, "dilation_rate")
    channels = x.shape[-1] if fmt == "channels_last" else x.shape[1]
    spatial = x.shape[1:-1] if fmt == "channels_last" else x.shape[2:]
    cin_g, cout = kernel.shape[-2], kernel.shape[-1]
    if cin_g <= 0 or channels % cin_g:
        raise ValueError(f"conv: input channels ({channels}) must be divisible by the kernel's in_channels "
                         f"({cin_g}); kernel shape {kernel.shape}.")
    inferred = channels // cin_g
    if groups is None:
        groups = inferred
    elif int(groups) != inferred:
        raise ValueError(f"conv: groups={groups} does not match input channels {channels} and kernel "
                         f"in_channels {cin_g} (expected groups={inferred}).")
    groups = int(groups)
    if cout % groups:
        raise ValueError(f"conv: filters ({cout}) must be divisible by groups ({groups}).")
    pads = _pads(spatial, kernel.shape[:rank], strides_t, dilation_t, padding)
    out_spatial = conv_output_shape(spatial, kernel.shape[:rank], strides_t, pads, dilation_t)
    if any(m <= 0 for m in out_spatial) and x.size:
        raise ValueError(f"conv: empty output {out_spatial} for input spatial shape {tuple(spatial)}, kernel "
                         f"{kernel.shape[:rank]}, strides {strides_t}, dilation {dilation_t}, "
                         f"padding {padding!r}.")
    xl_shape = (x.shape[0], *spatial, channels)
    if impl == "auto":
        impl = select_conv_impl(xl_shape, kernel.shape, groups, strides_t, dilation_t)
        tuned = _tuned_conv(x, kernel, strides_t, pads, dilation_t, groups, fmt, xl_shape, out_spatial)
        impl = tuned or impl
    if impl == "hybrid":
        return _hybrid_conv(x, kernel, strides_t, tuple(pads), dilation_t, groups, fmt)
    if impl == "lax":
        spatial_chars = "DHW"[3 - rank:] if rank <= 3 else None
        if spatial_chars is None:
            raise ValueError("conv: only 1D, 2D and 3D convolutions are supported.")
        lhs = "N" + spatial_chars + "C" if fmt == "channels_last" else "NC" + spatial_chars
        return lax.conv_general_dilated(x, kernel, strides_t, pads, rhs_dilation=dilation_t,
                                        dimension_numbers=(lhs, spatial_chars + "IO", lhs),
                                        feature_group_count=groups)
    if impl not in ("im2col", "taps"):
        raise ValueError(f"conv: impl must be 'auto', 'im2col', 'lax', 'hybrid' or 'taps', received {impl!r}.")
    xl = x if fmt == "channels_last" else _to_last(x)
    if impl == "taps" and cin_g == 1:
        y = _taps_conv(xl, kernel, strides_t, pads, dilation_t, groups, out_spatial)
    else:
        y = _im2col_conv(xl, kernel, strides_t, pads, dilation_t, groups, out_spatial)
    return y if fmt == "channels_last" else _to_first(y)


def _tuned_conv(x: jax.Array, kernel: jax.Array, strides: tuple[int, ...], pads: list[tuple[int, int]],
                dilation: tuple[int, ...], groups: int, fmt: str, xl_shape: tuple[int, ...],
                out_spatial: tuple[int, ...]) -> str | None:
    """The measured implementation of this convolution (:mod:`lamina.ops.conv_autotune`), or ``None``."""
    if not conv_autotune.is_enabled() or jax.default_backend() != "cpu":
        return None
    rank = len(strides)
    taps = math.prod(kernel.shape[:rank])
    cin_g, cout = kernel.shape[-2], kernel.shape[-1]
    if math.prod(xl_shape[:-1]) * taps * cin_g > 2**28 or not x.size:
        return None
    flops = 2 * xl_shape[0] * math.prod(out_spatial) * taps * cin_g * cout
    if groups == 1:
        candidates: tuple[str, ...] = ("lax", "im2col")
    else:
        candidates = ("lax", "taps", "im2col") if cin_g == 1 else ("lax", "hybrid", "im2col")
    spec = (tuple(x.shape), tuple(kernel.shape), strides, tuple(pads), dilation, groups, fmt)

    def make(impl: str) -> Callable[..., jax.Array]:
        return lambda a, b: conv(a, b, strides, pads, dilation, groups, fmt, impl)

    return conv_autotune.tuned_impl("conv", spec, candidates, make, (x.shape, kernel.shape), str(kernel.dtype),
                                    flops)


def depthwise_conv(x: jax.Array, kernel: jax.Array, strides: IntOrSeq = 1, padding: Padding = "valid",
                   dilation_rate: IntOrSeq = 1, data_format: str = "channels_last", impl: str = "auto"
                   ) -> jax.Array:
    """Depthwise convolution with Keras's kernel ``(*kernel_size, channels, depth_multiplier)``.

    >>> import jax.numpy as jnp
    >>> depthwise_conv(jnp.ones((1, 5, 5, 3)), jnp.ones((3, 3, 3, 2))).shape
    (1, 3, 3, 6)
    """
    kernel = jnp.asarray(kernel)
    channels = kernel.shape[-2]
    flat = kernel.reshape(*kernel.shape[:-2], 1, channels * kernel.shape[-1])
    return conv(x, flat, strides, padding, dilation_rate, channels, data_format, impl)


def separable_conv(x: jax.Array, depthwise_kernel: jax.Array, pointwise_kernel: jax.Array,
                   strides: IntOrSeq = 1, padding: Padding = "valid", dilation_rate: IntOrSeq = 1,
                   data_format: str = "channels_last", impl: str = "auto") -> jax.Array:
    """Depthwise then pointwise (1x1) convolution, as ``keras.ops.separable_conv``.

    >>> import jax.numpy as jnp
    >>> separable_conv(jnp.ones((1, 5, 5, 3)), jnp.ones((3, 3, 3, 2)), jnp.ones((1, 1, 6, 4))).shape
    (1, 3, 3, 4)
    """
    mid = depthwise_conv(x, depthwise_kernel, strides, padding, dilation_rate, data_format, impl)
    return conv(mid, pointwise_kernel, 1, "valid", 1, 1, data_format, impl)


# ------------------------------------------------------------------------------------------ transpose
def conv_transpose_padding(kernel: int, stride: int, dilation: int, padding: str,
                           output_padding: int | None) -> tuple[int, int]:
    """Keras's ``(low, high)`` padding of the stride-dilated input of a transposed convolution.

    >>> conv_transpose_padding(3, 2, 1, "same", None)
    (2, 1)
    """
    effective = (kernel - 1) * dilation + 1
    mode = padding.lower()
    if mode == "valid":
        extra = max(effective, stride) - effective if output_padding is None else output_padding
        return effective - 1, effective - 1 + extra
    if mode != "same":
        raise ValueError(f"conv_transpose: padding must be 'valid' or 'same', received {padding!r}.")
    if output_padding is None:
        total = stride + effective - 2
    else:
        total = effective + effective % 2 - 2 + output_padding
    low = min(total // 2 + total % 2, effective - 1)
    return low, total - low


def conv_transpose(x: jax.Array, kernel: jax.Array, strides: IntOrSeq = 1, padding: str = "valid",
                   output_padding: IntOrSeq | None = None, dilation_rate: IntOrSeq = 1,
                   data_format: str = "channels_last", impl: str = "auto") -> jax.Array:
    """Transposed convolution equal to Keras's ``Conv{1,2,3}DTranspose`` / ``keras.ops.conv_transpose``.

    ``kernel`` is ``(*kernel_size, filters, in_channels)`` (Keras's layout). It is computed as the
    gradient-of-conv identity: a convolution of the stride-dilated, padded input with the spatially
    flipped kernel. With ``strides == 1`` that is an ordinary convolution, so it can run on :func:`conv`'s
    fast path; with larger strides (undilated) the sub-pixel form computes one stride-1 convolution with
    ``prod(strides)`` stacked sub-kernels and interleaves the phases (depth-to-space), so no multiply
    touches the zeros ``lax.conv_transpose`` inserts. ``impl="auto"`` on CPU times ``lax.conv_transpose``
    against these forms once per shape (:mod:`lamina.ops.conv_autotune`; ``lax`` unless beaten by 5%); with
    tuning off, stride 1 follows :func:`conv`'s rule and larger strides take the sub-pixel form. ``impl`` may
    also be ``"lax"``, ``"subpixel"``, ``"subpixel:lax"``, ``"subpixel:im2col"`` or a :func:`conv` impl.

    >>> import jax.numpy as jnp
    >>> conv_transpose(jnp.ones((1, 4, 4, 3)), jnp.ones((3, 3, 8, 3)), 2, "same").shape
    (1, 8, 8, 8)
    """
    fmt = _check_format(data_format)
    kernel = jnp.asarray(kernel)
    x = jnp.asarray(x, dtype=kernel.dtype)
    rank = kernel.ndim - 2
    strides_t = _tuple(strides, rank, "strides")
    dilation_t = _tuple(dilation_rate, rank, "dilation_rate")
    channels = x.shape[-1] if fmt == "channels_last" else x.shape[1]
    if channels != kernel.shape[-1]:
        raise ValueError(f"conv_transpose: input channels ({channels}) must equal the kernel's last axis "
                         f"(in_channels, kernel shape {kernel.shape}).")
    if output_padding is None:
        out_pad: tuple[int | None, ...] = (None,) * rank
    else:
        out_pad = tuple(int(v) for v in ((output_padding,) * rank if isinstance(output_padding, int)
                                          else output_padding))
    pads = [conv_transpose_padding(kernel.shape[i], strides_t[i], dilation_t[i], padding, out_pad[i])
            for i in range(rank)]
    flip_ok = all(s == 1 for s in strides_t) and all(lo >= 0 and hi >= 0 for lo, hi in pads)
    if impl == "auto" and flip_ok and jax.default_backend() == "cpu":
        impl = _tuned_conv_transpose(x, kernel, strides_t, pads, fmt, dilation_t) or "auto"
        if impl.startswith("flip:"):
            impl = impl.split(":", 1)[1]
    if flip_ok and impl != "lax":
        flipped = jnp.flip(kernel, axis=tuple(range(rank)))
        flipped = jnp.swapaxes(flipped, -1, -2)  # (*k, in_channels, filters)
        return conv(x, flipped, 1, pads, dilation_t, 1, fmt, impl)
    subpixel_ok = all(d == 1 for d in dilation_t)
    if impl == "auto" and subpixel_ok and jax.default_backend() == "cpu":
        impl = _tuned_conv_transpose(x, kernel, strides_t, pads, fmt, dilation_t) or "subpixel"
    if impl.startswith("subpixel:"):
        impl, inner = "subpixel", impl.split(":", 1)[1]
    else:
        inner = "auto" if impl == "subpixel" else impl
    if impl != "lax" and subpixel_ok and impl != "auto":
        xl = x if fmt == "channels_last" else _to_last(x)
        y = _subpixel_conv_transpose(xl, kernel, strides_t, pads, inner)
        return y if fmt == "channels_last" else _to_first(y)
    spatial_chars = "DHW"[3 - rank:]
    lhs = "N" + spatial_chars + "C" if fmt == "channels_last" else "NC" + spatial_chars
    return lax.conv_transpose(x, kernel, strides_t, padding=pads, rhs_dilation=dilation_t,
                              dimension_numbers=(lhs, spatial_chars + "IO", lhs), transpose_kernel=True)


def _tuned_conv_transpose(x: jax.Array, kernel: jax.Array, strides: tuple[int, ...], pads: list[tuple[int, int]],
                          fmt: str, dilation: tuple[int, ...]) -> str | None:
    """The measured form of a transposed convolution (:mod:`lamina.ops.conv_autotune`), or ``None`` (not tuned).

    ``"lax"`` is ``lax.conv_transpose`` (what Keras runs); with stride 1 the other candidate is ``"flip:im2col"``
    (the convolution with the flipped kernel, im2col), with larger strides ``"subpixel:lax"`` and
    ``"subpixel:im2col"`` (one stride-1 convolution, then depth-to-space).
    """
    if not conv_autotune.is_enabled() or not x.size:
        return None
    rank = len(strides)
    spatial = x.shape[1:-1] if fmt == "channels_last" else x.shape[2:]
    filters, cin = kernel.shape[-2], kernel.shape[-1]
    taps = math.prod(-(-k // s) for k, s in zip(kernel.shape[:rank], strides))
    if x.shape[0] * math.prod(spatial) * taps * cin > 2**28:
        return None
    flops = 2 * x.shape[0] * math.prod(spatial) * math.prod(kernel.shape[:rank]) * filters * cin
    spec = (tuple(x.shape), tuple(kernel.shape), strides, tuple(pads), dilation, fmt)
    stride1 = all(s == 1 for s in strides)
    candidates = ("lax", "flip:im2col") if stride1 else ("lax", "subpixel:lax", "subpixel:im2col")

    def make(impl: str) -> Callable[..., jax.Array]:
        return lambda a, b: _conv_transpose_with(a, b, strides, pads, dilation, fmt, impl)

    return conv_autotune.tuned_impl("conv_transpose", spec, candidates, make, (x.shape, kernel.shape),
                                    str(kernel.dtype), flops)


def _conv_transpose_with(x: jax.Array, kernel: jax.Array, strides: tuple[int, ...], pads: list[tuple[int, int]],
                         dilation: tuple[int, ...], fmt: str, impl: str) -> jax.Array:
    """A transposed convolution with one fixed form (a candidate of the tuner)."""
    rank = len(strides)
    if impl == "lax":
        spatial_chars = "DHW"[3 - rank:]
        lhs = "N" + spatial_chars + "C" if fmt == "channels_last" else "NC" + spatial_chars
        return lax.conv_transpose(x, kernel, strides, padding=pads, rhs_dilation=dilation,
                                  dimension_numbers=(lhs, spatial_chars + "IO", lhs), transpose_kernel=True)
    if impl.startswith("flip:"):
        flipped = jnp.swapaxes(jnp.flip(kernel, axis=tuple(range(rank))), -1, -2)
        return conv(x, flipped, 1, pads, dilation, 1, fmt, impl.split(":", 1)[1])
    xl = x if fmt == "channels_last" else _to_last(x)
    y = _subpixel_conv_transpose(xl, kernel, strides, pads, impl.split(":", 1)[1])
    return y if fmt == "channels_last" else _to_first(y)


def _subpixel_taps(size: int, kernel: int, stride: int, pad: tuple[int, int]
                   ) -> tuple[int, int, int, int, list[list[int]]]:
    """One axis of the sub-pixel form of a transposed convolution.

    Output ``o = stride * q + r`` is ``sum_u w[u] x[q + (r + c - u) / stride]`` over the taps ``u`` with
    ``r + c - u`` divisible by ``stride`` (``c = kernel - 1 - low``). Returns ``(length, phases_len, d_min,
    taps, table)``: the output length, ``ceil(length / stride)``, the smallest input offset, the number of
    input offsets and ``table[j][r]``, the kernel tap for offset ``d_min + j`` and phase ``r`` (``kernel``
    where none: a zero).
    """
    low, high = pad
    length = (size - 1) * stride + low + high - kernel + 2
    c = kernel - 1 - low
    offsets = {(r + c - u) // stride for r in range(stride) for u in range(kernel) if (r + c - u) % stride == 0}
    if not offsets:
        offsets = {0}
    d_min, d_max = min(offsets), max(offsets)
    table = [[kernel] * stride for _ in range(d_max - d_min + 1)]
    for r in range(stride):
        for u in range(kernel):
            if (r + c - u) % stride == 0:
                table[(r + c - u) // stride - d_min][r] = u
    return length, -(-length // stride), d_min, d_max - d_min + 1, table


def _subpixel_conv_transpose(x: jax.Array, kernel: jax.Array, strides: tuple[int, ...],
                             pads: list[tuple[int, int]], impl: str) -> jax.Array:
    """channels_last strided transposed convolution as one stride-1 convolution then depth-to-space.

    Each of the ``prod(strides)`` output phases is a stride-1 correlation of the input with a sub-kernel;
    the sub-kernels are stacked on the output-channel axis (``(*taps, in_channels, prod(strides) *
    filters)``, zeros where a phase has fewer taps), so no multiply touches the zeros that
    ``lax.conv_transpose`` inserts between the input's pixels. The sums are the same terms.
    """
    rank = len(strides)
    filters, cin = kernel.shape[-2], kernel.shape[-1]
    axes = [_subpixel_taps(x.shape[1 + a], kernel.shape[a], strides[a], pads[a]) for a in range(rank)]
    w = kernel
    for a, (_, _, _, taps, table) in enumerate(axes):
        w = jnp.pad(w, [(0, 1) if i == 2 * a else (0, 0) for i in range(w.ndim)])
        index = jnp.asarray([u for row in table for u in row], jnp.int32)
        w = jnp.take(w, index, axis=2 * a)
        w = w.reshape(*w.shape[:2 * a], taps, strides[a], *w.shape[2 * a + 1:])
    # (D1, s1, D2, s2, ..., F, C) -> (D1, D2, ..., C, s1, s2, ..., F)
    order = [2 * a for a in range(rank)] + [2 * rank + 1] + [2 * a + 1 for a in range(rank)] + [2 * rank]
    w = jnp.transpose(w, order).reshape(*(t for *_, t, _ in axes), cin, math.prod(strides) * filters)
    config = [(0, 0, 0)] + [(-d_min, q + taps - 1 + d_min - x.shape[1 + a], 0)
                            for a, (_, q, d_min, taps, _) in enumerate(axes)] + [(0, 0, 0)]
    xp = lax.pad(x, jnp.zeros((), x.dtype), config)
    y = conv(xp, w, 1, "valid", 1, 1, "channels_last", impl)  # (N, *Q, s1 * s2 * ... * F)
    n, qs = y.shape[0], y.shape[1:-1]
    y = y.reshape(n, *qs, *strides, filters)
    y = jnp.transpose(y, [0] + [v for a in range(rank) for v in (1 + a, 1 + rank + a)] + [1 + 2 * rank])
    y = y.reshape(n, *(q * s for q, s in zip(qs, strides)), filters)
    return y[(slice(None), *(slice(0, length) for length, *_ in axes))]
