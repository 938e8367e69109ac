"""``keras.ops`` math names on JAX: segment reductions, ``top_k``, ``logsumexp``, FFTs and STFT, special functions.

FFT ops follow Keras: complex tensors travel as ``(real, imag)`` tuples.

>>> import jax.numpy as jnp
>>> segment_sum(jnp.array([1.0, 2.0, 3.0]), jnp.array([0, 0, 1]), num_segments=2).tolist()
[3.0, 3.0]
>>> [v.tolist() for v in top_k(jnp.array([3, 1, 4, 1, 5]), 2)]
[[5, 4], [4, 2]]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from lamina.ops.core import convert_to_tensor
from lamina.ops.symbolic import dispatch

__all__ = [
    "cdist", "erf", "erfc", "erfinv", "extract_sequences", "fft", "fft2", "ifft2", "in_top_k", "irfft", "istft",
    "logdet", "logsumexp", "rfft", "rsqrt", "segment_max", "segment_min", "segment_prod", "segment_sum", "stft",
    "top_k", "view_as_complex", "view_as_real",
]


# ------------------------------------------------------------------------------------------ segments
def _segment(name: str, reduce: Callable[..., jax.Array], data: Any, segment_ids: Any, num_segments: int | None,
             sorted: bool) -> jax.Array:
    data, segment_ids = convert_to_tensor(data), convert_to_tensor(segment_ids)
    if segment_ids.ndim > 1:
        raise ValueError(f"{name}: argument `segment_ids` should be an 1-D vector, got shape: {segment_ids.shape}. "
                         f"Flatten it with segment_ids.reshape((-1,)) and data.reshape((-1,) + "
                         f"data.shape[segment_ids.ndim:]), or vectorize with vmap.")
    if segment_ids.shape[0] != data.shape[0]:
        raise ValueError(f"{name}: arguments `segment_ids` and `data` should have same leading dimension. Got "
                         f"{segment_ids.shape} v.s. {data.shape}.")
    if num_segments is None:
        raise ValueError(f"{name}: argument `num_segments` must be set when using the JAX backend. Received: "
                         f"num_segments=None")
    return reduce(data, segment_ids, num_segments, indices_are_sorted=sorted)


@dispatch
def segment_sum(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> jax.Array:
    """Sum of the rows of ``data`` sharing each segment id (``num_segments`` rows out)."""
    return _segment("segment_sum", jax.ops.segment_sum, data, segment_ids, num_segments, sorted)


@dispatch
def segment_max(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> jax.Array:
    """Maximum per segment (empty segments give the dtype's lowest value).

    >>> import jax.numpy as jnp
    >>> segment_max(jnp.array([1, 5, 3]), jnp.array([0, 0, 1]), num_segments=2).tolist()
    [5, 3]
    """
    return _segment("segment_max", jax.ops.segment_max, data, segment_ids, num_segments, sorted)


@dispatch
def segment_min(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> jax.Array:
    """Minimum per segment (empty segments give the dtype's highest value)."""
    return _segment("segment_min", jax.ops.segment_min, data, segment_ids, num_segments, sorted)


@dispatch
def segment_prod(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> jax.Array:
    """Product per segment (empty segments give 1)."""
    return _segment("segment_prod", jax.ops.segment_prod, data, segment_ids, num_segments, sorted)


# ------------------------------------------------------------------------------------------ ranking
@dispatch
def top_k(x: Any, k: int, sorted: bool = True) -> tuple[jax.Array, jax.Array]:
    """The ``k`` largest values along the last axis and their indices (always sorted, as Keras on JAX)."""
    return lax.top_k(convert_to_tensor(x), k)


@dispatch
def in_top_k(targets: Any, predictions: Any, k: int) -> jax.Array:
    """Whether each target's prediction ranks within the top ``k`` (ties count in the target's favour).

    >>> import jax.numpy as jnp
    >>> in_top_k(jnp.array([1, 0]), jnp.array([[0.1, 0.9, 0.0], [0.2, 0.5, 0.3]]), 1).tolist()
    [True, False]
    """
    targets, predictions = convert_to_tensor(targets), convert_to_tensor(predictions)
    at_label = jnp.take_along_axis(predictions, targets[..., None], axis=-1)
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)
    return 1 + jnp.sum(predictions > at_label, axis=-1) <= k


@dispatch
def logsumexp(x: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> jax.Array:
    """``log(sum(exp(x)))`` over ``axis``, computed stably."""
    return jax.scipy.special.logsumexp(convert_to_tensor(x), axis=axis, keepdims=keepdims)


@dispatch
def cdist(x: Any, y: Any) -> jax.Array:
    """Euclidean distances between the rows of ``x (..., m, d)`` and ``y (..., n, d)``: ``(..., m, n)``."""
    x, y = convert_to_tensor(x), convert_to_tensor(y)
    if x.ndim < 2 or y.ndim < 2:
        raise ValueError(f"cdist: inputs must have rank >= 2, received shapes {x.shape} and {y.shape}.")
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"cdist: last dimension of inputs must match, received shapes {x.shape} and {y.shape}.")
    diff = x[..., :, None, :] - y[..., None, :, :]
    return jnp.sqrt(jnp.sum(diff * diff, axis=-1))


# ------------------------------------------------------------------------------------------ elementwise
@dispatch
def rsqrt(x: Any) -> jax.Array:
    """``1 / sqrt(x)``."""
    return lax.rsqrt(convert_to_tensor(x))


@dispatch
def erf(x: Any) -> jax.Array:
    """The error function."""
    return lax.erf(convert_to_tensor(x))


@dispatch
def erfc(x: Any) -> jax.Array:
    """``1 - erf(x)``, accurate for large ``x``."""
    return jax.scipy.special.erfc(convert_to_tensor(x))


@dispatch
def erfinv(x: Any) -> jax.Array:
    """The inverse error function."""
    return jax.scipy.special.erfinv(convert_to_tensor(x))


@dispatch
def logdet(x: Any) -> jax.Array:
    """``log(det(x))`` of (batches of) square matrices, via ``slogdet``."""
    return jnp.linalg.slogdet(convert_to_tensor(x))[1]


# ------------------------------------------------------------------------------------------ complex, FFT
def _complex(x: Any, op: str) -> jax.Array:
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{op}: input `x` should be a tuple of two tensors - real and imaginary. Received: x={x}")
    real, imag = convert_to_tensor(x[0]), convert_to_tensor(x[1])
    if real.shape != imag.shape:
        raise ValueError(f"{op}: the real and imaginary parts should have the same shape. Received: "
                         f"x[0].shape = {real.shape}, x[1].shape = {imag.shape}")
    if not (jnp.issubdtype(real.dtype, jnp.floating) and jnp.issubdtype(imag.dtype, jnp.floating)):
        raise ValueError(f"{op}: at least one tensor in input `x` is not of type float. Received: x={x}.")
    return lax.complex(real, imag)


def _parts(z: jax.Array) -> tuple[jax.Array, jax.Array]:
    return jnp.real(z), jnp.imag(z)


@dispatch
def fft(x: tuple[Any, Any]) -> tuple[jax.Array, jax.Array]:
    """FFT along the last axis of the complex tensor ``(real, imag)``; returns ``(real, imag)``."""
    return _parts(jnp.fft.fft(_complex(x, "fft")))


@dispatch
def fft2(x: tuple[Any, Any]) -> tuple[jax.Array, jax.Array]:
    """2-D FFT over the last two axes of ``(real, imag)``."""
    return _parts(jnp.fft.fft2(_complex(x, "fft2")))


@dispatch
def ifft2(x: tuple[Any, Any]) -> tuple[jax.Array, jax.Array]:
    """Inverse 2-D FFT over the last two axes of ``(real, imag)``."""
    return _parts(jnp.fft.ifft2(_complex(x, "ifft2")))


@dispatch
def rfft(x: Any, fft_length: int | None = None) -> tuple[jax.Array, jax.Array]:
    """FFT of a real signal along the last axis: ``fft_length // 2 + 1`` bins as ``(real, imag)``.

    >>> import jax.numpy as jnp
    >>> [v.tolist() for v in rfft(jnp.array([1.0, 0.0, 0.0, 0.0]))]
    [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    """
    return _parts(jnp.fft.rfft(convert_to_tensor(x), n=fft_length, axis=-1, norm="backward"))


@dispatch
def irfft(x: tuple[Any, Any], fft_length: int | None = None) -> jax.Array:
    """Inverse of :func:`rfft`: a real signal of ``fft_length`` samples from ``(real, imag)`` bins."""
    return jnp.fft.irfft(_complex(x, "irfft"), n=fft_length, axis=-1, norm="backward")


@dispatch
def view_as_complex(x: Any) -> jax.Array:
    """``(..., 2)`` real pairs as a complex64 tensor ``(...)``."""
    x = convert_to_tensor(x)
    if x.ndim < 1 or x.shape[-1] != 2:
        raise ValueError(f"view_as_complex: last dimension of input must be size 2 (real and imaginary). Received "
                         f"shape: {x.shape}")
    return x[..., 0].astype("complex64") + 1j * x[..., 1].astype("complex64")


@dispatch
def view_as_real(x: Any) -> jax.Array:
    """A complex tensor ``(...)`` as real pairs ``(..., 2)``."""
    x = convert_to_tensor(x)
    return jnp.stack((jnp.real(x), jnp.imag(x)), axis=-1)


# ------------------------------------------------------------------------------------------ framing, STFT
@dispatch
def extract_sequences(x: Any, sequence_length: int, sequence_stride: int) -> jax.Array:
    """Frames of ``sequence_length`` samples every ``sequence_stride`` along the last axis.

    >>> import jax.numpy as jnp
    >>> extract_sequences(jnp.arange(6), 3, 2).tolist()
    [[0, 1, 2], [2, 3, 4]]
    """
    x = convert_to_tensor(x)
    frames = (x.shape[-1] - sequence_length) // sequence_stride + 1
    index = np.arange(max(frames, 0))[:, None] * sequence_stride + np.arange(sequence_length)[None, :]
    return x[..., index]


def _window(window: Any, sequence_length: int, fft_length: int, dtype: Any) -> jax.Array | None:
    """The (periodic) window of ``sequence_length`` zero-padded, centred, to ``fft_length``; None for none."""
    if window is None:
        return None
    if isinstance(window, str):
        n = np.arange(sequence_length)
        phase = np.cos(2 * np.pi * n / sequence_length)
        win = 0.5 - 0.5 * phase if window == "hann" else 0.54 - 0.46 * phase
        win = jnp.asarray(win, dtype)
    else:
        win = convert_to_tensor(window, dtype)
    if win.ndim != 1 or win.shape[-1] != sequence_length:
        raise ValueError(f"The shape of `window` must be equal to [sequence_length]. Received: window shape="
                         f"{win.shape}")
    left = (fft_length - sequence_length) // 2
    return jnp.pad(win, (left, fft_length - sequence_length - left))


def _check_window(window: Any, sequence_stride: Any) -> None:
    if not isinstance(sequence_stride, int) or sequence_stride <= 0:
        raise ValueError(f"`sequence_stride` must be a positive integer. Received: sequence_stride={sequence_stride}")
    if isinstance(window, str) and window not in ("hann", "hamming"):
        raise ValueError(f'If a string is passed to `window`, it must be one of `"hann"`, `"hamming"`. Received: '
                         f"window={window}")


@dispatch
def stft(x: Any, sequence_length: int, sequence_stride: int, fft_length: int, window: Any = "hann",
         center: bool = True) -> tuple[jax.Array, jax.Array]:
    """Short-time Fourier transform of a real signal: ``(real, imag)`` of shape ``(..., frames, bins)``.

    >>> import jax.numpy as jnp
    >>> [v.shape for v in stft(jnp.ones(32), 8, 4, 16)]
    [(9, 9), (9, 9)]
    """
    _check_window(window, sequence_stride)
    x = convert_to_tensor(x)
    if str(x.dtype) not in ("float32", "float64"):
        raise TypeError(f"Invalid input type. Expected `float32` or `float64`. Received: input type={x.dtype}")
    if fft_length < sequence_length:
        raise ValueError(f"`fft_length` must equal or larger than `sequence_length`. Received: sequence_length="
                         f"{sequence_length}, fft_length={fft_length}")
    if center:
        pad = [(0, 0)] * (x.ndim - 1) + [(fft_length // 2, fft_length // 2)]
        x = jnp.pad(x, pad, mode="reflect")
    frames = extract_sequences(x, fft_length, sequence_stride)
    win = _window(window, sequence_length, fft_length, x.dtype)
    if win is not None:
        frames = frames * win
    return _parts(jnp.fft.rfft(frames, n=fft_length, axis=-1))


@dispatch
def istft(x: tuple[Any, Any], sequence_length: int, sequence_stride: int, fft_length: int, length: int | None = None,
          window: Any = "hann", center: bool = True) -> jax.Array:
    """Inverse of :func:`stft`: windowed overlap-add of the inverse FFTs, normalized by the squared window."""
    _check_window(window, sequence_stride)
    z = _complex(x, "istft")
    if z.ndim < 2:
        raise ValueError(f"istft: input `x` must have at least 2 dimensions. Received shape: {z.shape}")
    dtype = jnp.real(z).dtype
    n_frames = z.shape[-2]
    frames = jnp.fft.irfft(z, n=fft_length, axis=-1)[..., :fft_length]
    win = _window(window, sequence_length, fft_length, dtype)
    weights = jnp.ones((fft_length,), dtype) if win is None else win
    total = fft_length + sequence_stride * (n_frames - 1)
    index = (np.arange(n_frames)[:, None] * sequence_stride + np.arange(fft_length)[None, :]).reshape(-1)
    signal = jnp.zeros(z.shape[:-2] + (total,), dtype).at[..., index].add(
        (frames * weights).reshape(z.shape[:-2] + (-1,)))
    norm = jnp.zeros((total,), dtype).at[index].add(jnp.tile(weights * weights, n_frames))
    signal = signal / jnp.where(norm > 1e-10, norm, 1.0)
    if win is None:
        signal = signal * (fft_length / sequence_stride)
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + length
    elif center:
        end = -(fft_length // 2)
    else:
        end = total
    return signal[..., start:end]

