"""Audio front ends: ``STFTSpectrogram`` (an STFT as trainable convolutions) and ``MelSpectrogram``.

``STFTSpectrogram`` turns signals ``(batch, time, channels)`` into spectrograms by convolving each channel with
two kernels ``real_kernel`` and ``imag_kernel`` of shape ``(frame_length, 1, fft_length // 2 + 1)``, the
windowed cosines and sines of the discrete Fourier transform (Keras's ``STFT`` initializer), with stride
``frame_step``; they start as the exact STFT and, being weights, can be fine-tuned. ``MelSpectrogram`` has no
weights: an FFT-based STFT (centred, reflect-padded), magnitudes to the power ``mag_exp``, a triangular mel
filter bank (HTK formula) and optionally decibels clipped ``top_db`` below the batch's maximum.

>>> import numpy as np
>>> from lamina import layers
>>> layers.STFTSpectrogram(frame_length=64, frame_step=32)(np.zeros((2, 1000, 1), "float32")).shape
(2, 30, 33)
>>> layers.MelSpectrogram(fft_length=256, sequence_stride=128, num_mel_bins=20)(np.ones((2, 1024))).shape
(2, 20, 9)
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import jax.numpy as jnp

from lamina import backend, initializers
from lamina.explain import Details, register_explainer
from lamina.layers.base import InputSpec, Layer, shape_str
from lamina.layers.convolution import conv, conv_output_length, data_format_of

Shape = tuple[int | None, ...]

_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


class STFTSpectrogram(Layer):
    """Short-time Fourier transform of ``(batch, time, channels)`` signals computed by convolutions.

    ``mode``: ``"log"`` (log magnitude, the default), ``"magnitude"``, ``"psd"``, ``"real"``, ``"imag"``,
    ``"angle"`` or ``"stft"`` (real and imaginary parts side by side). The output is
    ``(batch, frames, channels * bins)``, or ``(batch, frames, bins, channels)`` with ``expand_dims=True``.
    """

    def __init__(self, mode: str = "log", frame_length: int = 256, frame_step: int | None = None,
                 fft_length: int | None = None, window: Any = "hann", periodic: bool = False,
                 scaling: str | None = "density", padding: str = "valid", expand_dims: bool = False,
                 data_format: str | None = None, **kwargs: Any) -> None:
        if frame_step is not None and (frame_step > frame_length or frame_step < 1):
            raise ValueError("`frame_step` should be a positive integer not greater than `frame_length`. Received "
                             f"frame_step={frame_step}, frame_length={frame_length}")
        if fft_length is not None and fft_length < frame_length:
            raise ValueError("`fft_length` should be not less than `frame_length`. Received "
                             f"fft_length={fft_length}, frame_length={frame_length}")
        if fft_length is not None and (fft_length & -fft_length) != fft_length:
            warnings.warn(f"`fft_length` is recommended to be a power of two. Received fft_length={fft_length}",
                          stacklevel=2)
        if mode not in _MODES:
            raise ValueError(f"Output mode is invalid, it must be one of {', '.join(_MODES)}. Received: mode={mode}")
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError("Scaling is invalid, it must be `None`, 'density' or 'spectrum'. Received "
                             f"scaling={scaling}")
        if padding not in ("valid", "same"):
            raise ValueError(f"Padding is invalid, it should be 'valid', 'same'. Received: padding={padding}")
        initializers.STFT("real", window, scaling, periodic)  # an unknown window name raises here, as in Keras
        super().__init__(**kwargs)
        self.mode = mode
        self.frame_length = int(frame_length)
        self.frame_step = frame_step
        self._frame_step = int(frame_step or self.frame_length // 2)
        self.fft_length = fft_length
        self._fft_length = int(fft_length or 2 ** int(math.ceil(math.log2(frame_length))))
        self.window = window
        self.periodic = bool(periodic)
        self.scaling = scaling
        self.padding = padding
        self.expand_dims = bool(expand_dims)
        self.data_format = data_format_of(data_format, f"STFTSpectrogram '{self.name}'")
        self.input_spec = InputSpec(ndim=3)

    @property
    def bins(self) -> int:
        """The number of frequency bins, ``fft_length // 2 + 1``."""
        return self._fft_length // 2 + 1

    def _rank_hint(self, got: int, want: int) -> str:
        return (" STFTSpectrogram reads signals (batch, time, channels); for mono signals of shape (batch, time) "
                "add a channel axis, e.g. layers.Reshape((time, 1)).")

    def build(self, input_shape: Shape) -> None:
        shape = (self.frame_length, 1, self.bins)
        if self.mode != "imag":
            self.real_kernel = self.add_weight(shape, initializers.STFT("real", self.window, self.scaling,
                                                                        self.periodic), name="real_kernel")
        if self.mode != "real":
            self.imag_kernel = self.add_weight(shape, initializers.STFT("imag", self.window, self.scaling,
                                                                        self.periodic), name="imag_kernel")

    def _frames(self, x: Any, kernel: Any) -> Any:
        """``(batch, channels, bins, frames)``: every channel convolved with ``kernel`` on its own."""
        if self.data_format == "channels_last":
            x = jnp.swapaxes(x, 1, 2)
        batch, channels, time = x.shape
        out = conv(x.reshape(batch * channels, time, 1), kernel.astype(x.dtype), (self._frame_step,),
                   self.padding, (1,), 1, "channels_last")  # (batch * channels, frames, bins)
        return jnp.swapaxes(out.reshape(batch, channels, out.shape[1], out.shape[2]), 2, 3)

    def _layout(self, out: Any) -> Any:
        batch, channels, bins, frames = out.shape
        if self.expand_dims:
            return jnp.transpose(out, (0, 3, 2, 1) if self.data_format == "channels_last" else (0, 1, 3, 2))
        out = out.reshape(batch, channels * bins, frames)
        return jnp.swapaxes(out, 1, 2) if self.data_format == "channels_last" else out

    def call(self, inputs: Any) -> Any:
        if str(inputs.dtype) not in ("float16", "float32", "float64"):
            raise TypeError(f"Invalid input type. Expected `float16`, `float32` or `float64`. Received: input "
                            f"type={inputs.dtype}")
        real = None if self.mode == "imag" else self._frames(inputs, self.real_kernel.value)
        imag = None if self.mode == "real" else self._frames(inputs, self.imag_kernel.value)
        if self.mode == "real":
            return self._layout(real)
        if self.mode == "imag":
            return self._layout(imag)
        if self.mode == "angle":
            return self._layout(jnp.arctan2(imag, real))
        if self.mode == "stft":
            return self._layout(jnp.concatenate([real, imag], axis=2))
        power = jnp.square(real) + jnp.square(imag)
        if self.mode == "psd":  # one-sided density: every bin but DC and Nyquist counted twice
            return self._layout(power + jnp.pad(power[:, :, 1:-1, :], ((0, 0), (0, 0), (1, 1), (0, 0))))
        eps = backend.epsilon()
        magnitude = self._layout(jnp.sqrt(jnp.maximum(power, eps)))
        return magnitude if self.mode == "magnitude" else jnp.log(jnp.maximum(magnitude, eps))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3:
            raise ValueError(f"STFTSpectrogram '{self.name}' expects (batch, time, channels), received "
                             f"{shape_str(tuple(input_shape))}.")
        last = self.data_format == "channels_last"
        channels, time = (input_shape[2], input_shape[1]) if last else (input_shape[1], input_shape[2])
        bins = self.bins * (2 if self.mode == "stft" else 1)
        frames = conv_output_length(time, self.frame_length, self.padding, self._frame_step)
        if self.expand_dims:
            return (input_shape[0], frames, bins, channels) if last else (input_shape[0], channels, frames, bins)
        flat = None if channels is None else bins * channels
        return (input_shape[0], frames, flat) if last else (input_shape[0], flat, frames)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode, "frame_length": self.frame_length,
                "frame_step": self.frame_step, "fft_length": self.fft_length, "window": self.window,
                "periodic": self.periodic, "scaling": self.scaling, "padding": self.padding,
                "data_format": self.data_format, "expand_dims": self.expand_dims}


# ---------------------------------------------------------------------------------------------- mel
_MEL_BREAK_HZ = 700.0
_MEL_HIGH_Q = 1127.0


def hertz_to_mel(hertz: Any) -> Any:
    """HTK's mel scale, ``1127 ln(1 + f / 700)``."""
    return _MEL_HIGH_Q * jnp.log(1.0 + jnp.asarray(hertz, jnp.float32) / _MEL_BREAK_HZ)


def linear_to_mel_weight_matrix(num_mel_bins: int = 20, num_spectrogram_bins: int = 129,
                                sampling_rate: float = 8000, lower_edge_hertz: float = 125.0,
                                upper_edge_hertz: float = 3800.0) -> Any:
    """``(num_spectrogram_bins, num_mel_bins)`` triangular filters, peaks 1, equal widths in mel (DC bin zero).

    >>> linear_to_mel_weight_matrix(4, 9, 8000, 100.0, 4000.0).shape
    (9, 4)
    """
    nyquist = jnp.float32(sampling_rate) / 2.0
    freqs = jnp.linspace(jnp.float32(0.0), nyquist, num_spectrogram_bins)[1:]
    bins_mel = hertz_to_mel(freqs)[:, None]
    edges = jnp.linspace(hertz_to_mel(lower_edge_hertz), hertz_to_mel(upper_edge_hertz), num_mel_bins + 2)
    lower, center, upper = edges[None, :-2], edges[None, 1:-1], edges[None, 2:]
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    weights = jnp.maximum(0.0, jnp.minimum(rising, falling))
    return jnp.pad(weights, ((1, 0), (0, 0)))


class MelSpectrogram(Layer):
    """Mel-scaled spectrogram of raw audio ``(batch, samples)`` (or ``(samples,)``) -> ``(batch, mel, frames)``.

    No weights. ``power_to_db=True`` gives ``10 log10(max(S, min_power) / ref_power)`` clipped at the batch's
    maximum minus ``top_db``, as Keras computes it.
    """

    def __init__(self, fft_length: int = 2048, sequence_stride: int = 512, sequence_length: int | None = None,
                 window: str | None = "hann", sampling_rate: int = 16000, num_mel_bins: int = 128,
                 min_freq: float = 20.0, max_freq: float | None = None, power_to_db: bool = True,
                 top_db: float = 80.0, mag_exp: float = 2.0, min_power: float = 1e-10, ref_power: float = 1.0,
                 **kwargs: Any) -> None:
        self.fft_length = fft_length
        self.sequence_stride = sequence_stride
        self.sequence_length = sequence_length or fft_length
        if self.fft_length < self.sequence_length:
            raise ValueError("`fft_length` must be greater than or equal to  `sequence_length`. Received: "
                             f"`sequence_length`={self.sequence_length}, `fft_length`={self.fft_length}.")
        super().__init__(**kwargs)
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        self.power_to_db = power_to_db
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power
        self._writes_build_config = False

    def call(self, inputs: Any) -> Any:
        from lamina.ops.math import stft

        dtype = self.compute_dtype if self.compute_dtype in ("float32", "float64") else "float32"
        x = jnp.asarray(inputs, dtype)
        real, imag = stft(x, self.sequence_length, self.sequence_stride, self.fft_length, window=self.window,
                          center=True)
        spec = jnp.power(jnp.sqrt(jnp.square(real) + jnp.square(imag)), self.mag_exp)
        matrix = linear_to_mel_weight_matrix(self.num_mel_bins, spec.shape[-1], self.sampling_rate,
                                             self.min_freq, self.max_freq)
        out = jnp.tensordot(spec, matrix.astype(spec.dtype), axes=1)
        if self.power_to_db:
            out = 10.0 * jnp.log10(jnp.maximum(out, self.min_power))
            out = out - 10.0 * jnp.log10(jnp.maximum(abs(self.ref_power), self.min_power))
            out = jnp.maximum(out, jnp.max(out) - self.top_db)
        return jnp.swapaxes(out, -1, -2).astype(self.compute_dtype)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        def frames(n: int | None) -> int | None:  # Keras's formula (equal to 1 + n // stride)
            return None if n is None else (n + self.sequence_stride + 1) // self.sequence_stride

        if len(input_shape) == 1:
            return (self.num_mel_bins, frames(input_shape[0]))
        return (input_shape[0], self.num_mel_bins, frames(input_shape[1]))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
                "sequence_length": self.sequence_length, "window": self.window,
                "sampling_rate": self.sampling_rate, "num_mel_bins": self.num_mel_bins, "min_freq": self.min_freq,
                "max_freq": self.max_freq, "power_to_db": self.power_to_db, "top_db": self.top_db,
                "mag_exp": self.mag_exp, "min_power": self.min_power, "ref_power": self.ref_power}


@register_explainer(STFTSpectrogram)
def _explain_stft(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    kernels = [n for n in ("real_kernel", "imag_kernel") if hasattr(layer, n)]
    desc = (f"STFTSpectrogram slides frames of {layer.frame_length} samples every {layer._frame_step} along the "
            f"time axis and contracts each frame with {' and '.join(kernels)} (windowed DFT cosines/sines, "
            f"{layer.bins} frequency bins); every channel uses the same kernels. Output ({layer.mode!r}): "
            f"{output_shape}.")
    each = layer.frame_length * layer.bins
    arithmetic = " + ".join(f"{layer.frame_length} x 1 x {layer.bins} {n}" for n in kernels)
    return Details(desc, shared_axes=(2,) if layer.data_format == "channels_last" else (1,),
                   arithmetic=f"{arithmetic} = {each * len(kernels):,}")


@register_explainer(MelSpectrogram)
def _explain_mel(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    bins = layer.fft_length // 2 + 1
    desc = (f"MelSpectrogram cuts the samples into frames of {layer.sequence_length} every "
            f"{layer.sequence_stride}, takes an FFT of {layer.fft_length} ({bins} bins), maps the bins onto "
            f"{layer.num_mel_bins} mel bands ({layer.min_freq}-{layer.max_freq} Hz) with fixed triangular filters"
            + (" and converts to decibels" if layer.power_to_db else "") + f"; output {output_shape}. No weights.")
    return Details(desc, arithmetic="no weights = 0")
