"""``lamina.ops`` math names (segments, top_k, logsumexp, FFT/STFT, special functions) against ``keras.ops``."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .ops_oracle import Case, args, cases_test


def rand(rng: np.random.Generator, shape: tuple[int, ...], dtype: str = "float32", scale: float = 1.0):
    return jnp.asarray(rng.normal(size=shape) * scale, dtype)


def ids(rng: np.random.Generator, n: int, segments: int, sort: bool = False):
    out = rng.integers(0, segments, n)
    return jnp.asarray(np.sort(out) if sort else out, "int32")


def pair(rng: np.random.Generator, shape: tuple[int, ...]):
    return rand(rng, shape), rand(rng, shape)


LOW = dict(rtol=2e-2, atol=2e-2)
FFT = dict(rtol=1e-4, atol=1e-4)


def _segments() -> list[Case]:
    return [
        Case(lambda r: ((rand(r, (8,)), ids(r, 8, 4)), {"num_segments": 4}), id="1d"),
        Case(lambda r: ((rand(r, (6, 3)), ids(r, 6, 3, True)), {"num_segments": 5, "sorted": True}), id="sorted"),
        Case(lambda r: ((jnp.asarray(r.integers(-5, 5, (7, 2)), "int32"), ids(r, 7, 2)), {"num_segments": 2}),
             id="int"),
        Case(args(jnp.ones(4), jnp.zeros(4, "int32")), raises=ValueError, id="no-num"),
        Case(args(jnp.ones(4), jnp.zeros((2, 2), "int32"), num_segments=1), raises=ValueError, id="2d-ids"),
    ]


CASES: dict[str, list[Case]] = {
    "segment_sum": _segments(), "segment_max": _segments(), "segment_min": _segments(),
    "segment_prod": _segments(),
    "top_k": [Case(lambda r: ((rand(r, (10,)), 3), {})),
              Case(lambda r: ((rand(r, (3, 6)), 2), {"sorted": False}), id="2d"),
              Case(lambda r: ((jnp.asarray(r.integers(0, 5, (4, 8)), "int32"), 4), {}), id="int-ties")],
    "in_top_k": [Case(lambda r: ((ids(r, 5, 6), rand(r, (5, 6)), 2), {})),
                 Case(args(jnp.array([0, 1]), jnp.array([[1.0, 1.0, 0.0], [np.nan, 0.0, 0.5]]), 1), id="ties-nan")],
    "logsumexp": [Case(lambda r: ((rand(r, (3, 4), scale=5.0),), {})),
                  Case(lambda r: ((rand(r, (3, 4, 2)),), {"axis": 1, "keepdims": True}), id="axis"),
                  Case(lambda r: ((rand(r, (3, 4, 2)),), {"axis": (0, 2)}), id="axes"),
                  Case(lambda r: ((rand(r, (8,), "float16"),), {}), id="f16", **LOW)],
    "cdist": [Case(lambda r: ((rand(r, (4, 3)), rand(r, (5, 3))), {}), rtol=1e-5, atol=1e-5),
              Case(lambda r: ((rand(r, (2, 4, 3)), rand(r, (2, 2, 3))), {}), id="batched", rtol=1e-5, atol=1e-5),
              Case(args(jnp.ones((2, 3)), jnp.ones((2, 4))), raises=ValueError, id="dims")],
    "rsqrt": [Case(lambda r: ((jnp.abs(rand(r, (3, 4))) + 0.1,), {}), rtol=1e-5),
              Case(lambda r: ((jnp.abs(rand(r, (5,), "bfloat16")) + 0.1,), {}), id="bf16", **LOW)],
    "erf": [Case(lambda r: ((rand(r, (3, 4)),), {})), Case(args([0.0, 0.5, -2.0]), id="list"),
            Case(lambda r: ((rand(r, (6,), "float16"),), {}), id="f16", **LOW)],
    "erfc": [Case(lambda r: ((rand(r, (3, 4), scale=2.0),), {}), rtol=1e-5, atol=1e-6)],
    "erfinv": [Case(lambda r: ((jnp.asarray(r.uniform(-0.99, 0.99, (10,)), "float32"),), {}), rtol=1e-5, atol=1e-5)],
    "logdet": [Case(lambda r: ((_spd(r, 4),), {}), rtol=1e-4, atol=1e-4),
               Case(lambda r: ((jnp.stack([_spd(r, 3), _spd(r, 3)]),), {}), id="batched", rtol=1e-4, atol=1e-4)],
    "fft": [Case(lambda r: (((pair(r, (8,))),), {}), id="1d", **FFT),
            Case(lambda r: (((pair(r, (3, 6))),), {}), id="2d", **FFT),
            Case(args((jnp.ones(3, "int32"), jnp.ones(3, "int32"))), raises=ValueError, id="int")],
    "fft2": [Case(lambda r: (((pair(r, (4, 6))),), {}), **FFT),
             Case(lambda r: (((pair(r, (2, 3, 5))),), {}), id="batched", **FFT)],
    "ifft2": [Case(lambda r: (((pair(r, (4, 6))),), {}), **FFT),
              Case(lambda r: (((pair(r, (2, 3, 5))),), {}), id="batched", **FFT)],
    "rfft": [Case(lambda r: ((rand(r, (2, 16)),), {}), **FFT),
             Case(lambda r: ((rand(r, (9,)),), {"fft_length": 12}), id="padded", **FFT),
             Case(lambda r: ((rand(r, (9,)),), {"fft_length": 6}), id="cropped", **FFT)],
    "irfft": [Case(lambda r: (((pair(r, (2, 9))),), {}), **FFT),
              Case(lambda r: (((pair(r, (5,))),), {"fft_length": 9}), id="odd", **FFT)],
    "view_as_complex": [Case(lambda r: ((rand(r, (3, 2)),), {})),
                        Case(lambda r: ((rand(r, (2, 4, 2)),), {}), id="3d"),
                        Case(args(jnp.ones((2, 3))), raises=ValueError, id="bad")],
    "view_as_real": [Case(lambda r: ((jnp.asarray(r.normal(size=(3,)) + 1j * r.normal(size=(3,)), "complex64"),),
                                     {})),
                     Case(lambda r: ((rand(r, (2, 2)),), {}), id="real")],
    "extract_sequences": [Case(lambda r: ((rand(r, (20,)), 5, 3), {})),
                          Case(lambda r: ((rand(r, (2, 3, 16)), 4, 4), {}), id="batched"),
                          Case(lambda r: ((jnp.asarray(r.integers(0, 9, (11,)), "int32"), 3, 1), {}), id="int")],
    "stft": [
        Case(lambda r: ((rand(r, (64,)), 16, 8, 16), {}), id="hann", **FFT),
        Case(lambda r: ((rand(r, (2, 50)), 10, 4, 16), {"window": "hamming", "center": False}), id="hamming-pad",
             **FFT),
        Case(lambda r: ((rand(r, (40,)), 8, 3, 8), {"window": None}), id="no-window", **FFT),
        Case(lambda r: ((rand(r, (40,)), 8, 4, 8), {"window": jnp.asarray(r.random(8), "float32")}),
             id="array-window", **FFT),
        Case(args(jnp.ones(16), 8, 4, 8, window="kaiser"), raises=ValueError, id="bad-window"),
        Case(args(jnp.ones(16, "float16"), 8, 4, 8), raises=TypeError, id="f16"),
    ],
    "istft": [
        Case(lambda r: ((_spectrum(r, 64, 16, 8, 16),), dict(sequence_length=16, sequence_stride=8, fft_length=16)),
             id="hann", **FFT),
        Case(lambda r: ((_spectrum(r, 50, 10, 4, 16, "hamming", False),),
                        dict(sequence_length=10, sequence_stride=4, fft_length=16, window="hamming", center=False)),
             id="hamming", **FFT),
        Case(lambda r: ((_spectrum(r, 40, 8, 2, 8, None),),
                        dict(sequence_length=8, sequence_stride=2, fft_length=8, window=None, length=30)),
             id="no-window-length", **FFT),
    ],
}


def _spd(rng: np.random.Generator, n: int):
    a = rng.normal(size=(n, n))
    return jnp.asarray(a @ a.T + n * np.eye(n), "float32")


def _spectrum(rng, n, length, stride, fft_length, window="hann", center=True):
    import keras

    real, imag = keras.ops.stft(rand(rng, (2, n)), length, stride, fft_length, window=window, center=center)
    return jnp.asarray(real), jnp.asarray(imag)


SKIPPED: dict[str, str] = {}

test_matches_keras = cases_test(CASES)
