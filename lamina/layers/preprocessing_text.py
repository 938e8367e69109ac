"""String and lookup preprocessing layers in pure NumPy/Python (no TensorFlow): ``Hashing``, ``HashedCrossing``,
``StringLookup``, ``IntegerLookup`` and ``TextVectorization``.

Their inputs may be strings, which JAX arrays cannot hold, so these layers run on the host: they take NumPy
arrays, lists or scalars and return JAX arrays of ids or encodings that feed the rest of a model. As with Keras on
JAX, apply them before ``fit`` (``ids = vectorizer(texts)``, or ``dataset.map``) rather than inside the jitted
step. ``Hashing`` matches TensorFlow's ``to_hash_bucket_fast`` (FarmHash Fingerprint64) and, with a ``salt``,
``to_hash_bucket_strong`` (SipHash-2-4), as Keras does.

>>> from lamina import layers
>>> layers.Hashing(num_bins=3)([["A"], ["B"], ["C"], ["D"], ["E"]]).tolist()
[[1], [0], [1], [1], [2]]
>>> lookup = layers.StringLookup(vocabulary=["a", "b", "c", "d"])
>>> lookup([["a", "c", "d"], ["d", "z", "b"]]).tolist()
[[1, 3, 4], [4, 0, 2]]
>>> vectorize = layers.TextVectorization(output_sequence_length=4)
>>> vectorize.adapt(["The cat sat.", "The dog sat on the mat!"])
>>> vectorize.get_vocabulary()[:4]
['', '[UNK]', 'the', 'sat']
>>> vectorize(["the cat, the dog"]).tolist()
[[2, 7, 2, 6]]
"""

from __future__ import annotations

import collections
import os
import re
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina.graph import any_symbolic
from lamina.layers.base import Layer
from lamina.layers.preprocessing import encode_categorical

_M64 = (1 << 64) - 1
_K0, _K1, _K2 = 0xC3A5C85C97CB3127, 0xB492B66FBE98F273, 0x9AE16A3B2F90404F


# ------------------------------------------------------------------------------------------- hashes
def _rot(v: int, s: int) -> int:
    return v if s == 0 else ((v >> s) | (v << (64 - s))) & _M64


def _f64(b: bytes, i: int) -> int:
    return struct.unpack_from("<Q", b, i)[0]


def _f32(b: bytes, i: int) -> int:
    return struct.unpack_from("<I", b, i)[0]


def _mix(v: int) -> int:
    return v ^ (v >> 47)


def _h16(u: int, v: int, mul: int) -> int:
    a = _mix(((u ^ v) * mul) & _M64)
    b = _mix(((v ^ a) * mul) & _M64)
    return (b * mul) & _M64


def _weak32(b: bytes, i: int, a: int, c: int) -> tuple[int, int]:
    w, x, y, z = _f64(b, i), _f64(b, i + 8), _f64(b, i + 16), _f64(b, i + 24)
    a = (a + w) & _M64
    c = _rot((c + a + z) & _M64, 21)
    t = a
    a = (a + x + y) & _M64
    c = (c + _rot(a, 44)) & _M64
    return (a + z) & _M64, (c + t) & _M64


def fingerprint64(data: bytes) -> int:
    """FarmHash's ``Fingerprint64`` (``farmhashna::Hash64``), the hash behind TensorFlow's
    ``to_hash_bucket_fast``."""
    n = len(data)
    if n <= 16:
        if n >= 8:
            mul = (_K2 + n * 2) & _M64
            a = (_f64(data, 0) + _K2) & _M64
            b = _f64(data, n - 8)
            c = (_rot(b, 37) * mul + a) & _M64
            d = ((_rot(a, 25) + b) * mul) & _M64
            return _h16(c, d, mul)
        if n >= 4:
            mul = (_K2 + n * 2) & _M64
            return _h16((n + (_f32(data, 0) << 3)) & _M64, _f32(data, n - 4), mul)
        if n > 0:
            y = (data[0] + (data[n >> 1] << 8)) & 0xFFFFFFFF
            z = (n + (data[n - 1] << 2)) & 0xFFFFFFFF
            return (_mix(((y * _K2) ^ (z * _K0)) & _M64) * _K2) & _M64
        return _K2
    if n <= 32:
        mul = (_K2 + n * 2) & _M64
        a = (_f64(data, 0) * _K1) & _M64
        b = _f64(data, 8)
        c = (_f64(data, n - 8) * mul) & _M64
        d = (_f64(data, n - 16) * _K2) & _M64
        return _h16((_rot((a + b) & _M64, 43) + _rot(c, 30) + d) & _M64,
                    (a + _rot((b + _K2) & _M64, 18) + c) & _M64, mul)
    if n <= 64:
        mul = (_K2 + n * 2) & _M64
        a = (_f64(data, 0) * _K2) & _M64
        b = _f64(data, 8)
        c = (_f64(data, n - 8) * mul) & _M64
        d = (_f64(data, n - 16) * _K2) & _M64
        y = (_rot((a + b) & _M64, 43) + _rot(c, 30) + d) & _M64
        z = _h16(y, (a + _rot((b + _K2) & _M64, 18) + c) & _M64, mul)
        e = (_f64(data, 16) * mul) & _M64
        f = _f64(data, 24)
        g = ((y + _f64(data, n - 32)) * mul) & _M64
        h = ((z + _f64(data, n - 24)) * mul) & _M64
        return _h16((_rot((e + f) & _M64, 43) + _rot(g, 30) + h) & _M64,
                    (e + _rot((f + a) & _M64, 18) + g) & _M64, mul)
    seed = 81
    x = seed
    y = (seed * _K1 + 113) & _M64
    z = (_mix((y * _K2 + 113) & _M64) * _K2) & _M64
    v = (0, 0)
    w = (0, 0)
    x = (x * _K2 + _f64(data, 0)) & _M64
    end = ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    s = 0
    while True:
        x = (_rot((x + y + v[0] + _f64(data, s + 8)) & _M64, 37) * _K1) & _M64
        y = (_rot((y + v[1] + _f64(data, s + 48)) & _M64, 42) * _K1) & _M64
        x ^= w[1]
        y = (y + v[0] + _f64(data, s + 40)) & _M64
        z = (_rot((z + w[0]) & _M64, 33) * _K1) & _M64
        v = _weak32(data, s, (v[1] * _K1) & _M64, (x + w[0]) & _M64)
        w = _weak32(data, s + 32, (z + w[1]) & _M64, (y + _f64(data, s + 16)) & _M64)
        z, x = x, z
        s += 64
        if s == end:
            break
    mul = (_K1 + ((z & 0xFF) << 1)) & _M64
    s = last64
    w = ((w[0] + ((n - 1) & 63)) & _M64, w[1])
    v = ((v[0] + w[0]) & _M64, v[1])
    w = ((w[0] + v[0]) & _M64, w[1])
    x = (_rot((x + y + v[0] + _f64(data, s + 8)) & _M64, 37) * mul) & _M64
    y = (_rot((y + v[1] + _f64(data, s + 48)) & _M64, 42) * mul) & _M64
    x ^= (w[1] * 9) & _M64
    y = (y + v[0] * 9 + _f64(data, s + 40)) & _M64
    z = (_rot((z + w[0]) & _M64, 33) * mul) & _M64
    v = _weak32(data, s, (v[1] * mul) & _M64, (x + w[0]) & _M64)
    w = _weak32(data, s + 32, (z + w[1]) & _M64, (y + _f64(data, s + 16)) & _M64)
    z, x = x, z
    return _h16((_h16(v[0], w[0], mul) + _mix(y) * _K0 + z) & _M64, (_h16(v[1], w[1], mul) + x) & _M64, mul)


def siphash24(key0: int, key1: int, data: bytes) -> int:
    """SipHash-2-4 with the 128-bit key ``(key0, key1)``, the hash behind TensorFlow's ``to_hash_bucket_strong``."""
    v0, v1 = key0 ^ 0x736F6D6570736575, key1 ^ 0x646F72616E646F6D
    v2, v3 = key0 ^ 0x6C7967656E657261, key1 ^ 0x7465646279746573

    def rounds(count: int) -> None:
        nonlocal v0, v1, v2, v3
        for _ in range(count):
            v0 = (v0 + v1) & _M64
            v1 = _rot(v1, 64 - 13) ^ v0
            v0 = _rot(v0, 64 - 32)
            v2 = (v2 + v3) & _M64
            v3 = _rot(v3, 64 - 16) ^ v2
            v0 = (v0 + v3) & _M64
            v3 = _rot(v3, 64 - 21) ^ v0
            v2 = (v2 + v1) & _M64
            v1 = _rot(v1, 64 - 17) ^ v2
            v2 = _rot(v2, 64 - 32)

    n = len(data)
    tail = n - n % 8
    for i in range(0, tail, 8):
        m = _f64(data, i)
        v3 ^= m
        rounds(2)
        v0 ^= m
    last = (n & 0xFF) << 56
    for j, byte in enumerate(data[tail:]):
        last |= byte << (8 * j)
    v3 ^= last
    rounds(2)
    v0 ^= last
    v2 ^= 0xFF
    rounds(4)
    return v0 ^ v1 ^ v2 ^ v3


# ------------------------------------------------------------------------------------------- host helpers
def _host_array(inputs: Any) -> np.ndarray:
    """Inputs as a NumPy array; bytes become ``str`` (UTF-8)."""
    if hasattr(inputs, "numpy") and not isinstance(inputs, np.ndarray):
        inputs = inputs.numpy()
    arr = np.asarray(inputs)
    if arr.dtype.kind == "S" or (arr.dtype.kind == "O" and any(isinstance(v, bytes) for v in arr.ravel()[:1])):
        arr = np.vectorize(lambda v: v.decode("utf-8") if isinstance(v, bytes) else str(v), otypes=[object])(arr)
    return arr


def _traced(inputs: Any) -> bool:
    return isinstance(inputs, jax.core.Tracer)


def _host_only(layer: Any, inputs: Any) -> None:
    if _traced(inputs):
        raise ValueError(f"{type(layer).__name__} '{layer.name}' works on strings on the host (NumPy), so it cannot "
                         "run inside a jitted model step. Apply it to the data before fit/predict, e.g. "
                         "`ids = layer(texts)` or `dataset.map(layer)`, and start the model at the integer ids.")


def _is_string(arr: np.ndarray) -> bool:
    return arr.dtype.kind in "UO"


def _as_string(value: Any) -> str:
    """``tf.as_string`` of one scalar (floats were cast to int64 first, as Keras's Hashing does)."""
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8")
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    return str(value)


def _batches(data: Any) -> Iterable[Any]:
    """``adapt()`` data: an array, list or tuple is one batch; any other iterable (a generator, a dataset) yields
    batches (``(x, y)`` pairs give ``x``)."""
    if isinstance(data, (np.ndarray, list, tuple, str, bytes)) or np.isscalar(data) or hasattr(data, "__array__"):
        return [data]
    return (b[0] if isinstance(b, tuple) else b for b in data)


class HostPreprocessingLayer(Layer):
    """A layer computed on the host in NumPy (string layers): eager calls bypass the JAX conversion of inputs and
    return JAX arrays; symbolic calls (``Input(dtype="string")``) record the layer with its output shape."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if any_symbolic((args, kwargs)):
            return super().__call__(*args, **kwargs)
        kwargs.pop("training", None)
        inputs = args[0] if args else kwargs.pop("inputs")
        return jnp.asarray(self.call(inputs, *args[1:], **kwargs))

    def compute_output_dtype(self, input_dtype: str) -> str:
        return self._output_dtype()

    def _output_dtype(self) -> str:
        return "int64" if getattr(self, "output_mode", "int") == "int" else self.dtype


# ------------------------------------------------------------------------------------------- Hashing
def _hash_bins(values: np.ndarray, bins: int, salt: list[int] | None) -> np.ndarray:
    if values.dtype.kind == "f":
        values = values.astype("int64")
    flat = [_as_string(v).encode("utf-8") for v in values.ravel()]
    if salt is not None:
        out = [siphash24(salt[0] & _M64, salt[1] & _M64, b) % bins for b in flat]
    else:
        out = [fingerprint64(b) % bins for b in flat]
    return np.asarray(out, dtype="int64").reshape(values.shape)


class Hashing(HostPreprocessingLayer):
    """Hash strings or integers into ``num_bins`` bins (FarmHash; SipHash with ``salt``); ``mask_value`` maps to
    bin 0 and the rest to ``[1, num_bins)``."""

    def __init__(self, num_bins: int, mask_value: Any = None, salt: Any = None, output_mode: str = "int",
                 sparse: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "int64" if output_mode == "int" else None)
        super().__init__(**kwargs)
        if num_bins is None or num_bins <= 0:
            raise ValueError("The `num_bins` for `Hashing` cannot be `None` or non-positive values. Received: "
                             f"num_bins={num_bins}.")
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError("Invalid value for argument `output_mode`. Expected one of ('int', 'one_hot', "
                             f"'multi_hot', 'count'). Received: output_mode={output_mode}")
        if sparse:
            raise ValueError("Hashing: `sparse=True` needs the TensorFlow backend; lamina returns dense arrays.")
        self.num_bins, self.mask_value, self.output_mode, self.sparse = int(num_bins), mask_value, output_mode, sparse
        self.strong_hash = salt is not None
        if salt is None:
            self.salt = None
        elif isinstance(salt, (tuple, list)) and len(salt) == 2:
            self.salt = list(salt)
        elif isinstance(salt, int):
            self.salt = [salt, salt]
        else:
            raise ValueError("The `salt` argument for `Hashing` can only be a tuple of size 2 integers, or a single "
                             f"integer. Received: salt={salt}.")

    def call(self, inputs: Any) -> Any:
        _host_only(self, inputs)
        values = _host_array(inputs)
        if self.output_mode == "one_hot" and values.ndim and values.shape[-1] == 1:
            values = values[..., 0]
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = values == np.asarray(self.mask_value, dtype=values.dtype if _is_string(values) else None)
        out = _hash_bins(values, bins, self.salt)
        if mask is not None:
            out = np.where(mask, 0, out + 1)
        if self.output_mode == "int":
            return out
        return encode_categorical(out, self.output_mode, self.num_bins, self.dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self.output_mode == "int":
            return tuple(input_shape)
        return tuple(input_shape[:-1]) + (self.num_bins,) if len(input_shape) else (self.num_bins,)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt,
                "mask_value": self.mask_value, "output_mode": self.output_mode, "sparse": self.sparse}


class HashedCrossing(HostPreprocessingLayer):
    """Cross two categorical features by hashing each pair into ``num_bins`` bins (TensorFlow's
    ``sparse.cross_hashed``: FarmHash fingerprints combined as in ``FingerprintCat64``)."""

    def __init__(self, num_bins: int, output_mode: str = "int", sparse: bool = False, name: str | None = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        if dtype is None:
            dtype = "int64" if output_mode == "int" else None
        super().__init__(name=name, dtype=dtype, **kwargs)
        if output_mode not in ("int", "one_hot"):
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of ('int', 'one_hot'). "
                             f"Received: output_mode={output_mode}")
        if sparse:
            raise ValueError("HashedCrossing: `sparse=True` needs the TensorFlow backend.")
        self.num_bins, self.output_mode, self.sparse = int(num_bins), output_mode, sparse

    def call(self, inputs: Sequence[Any]) -> Any:
        _host_only(self, inputs[0] if isinstance(inputs, (tuple, list)) and inputs else inputs)
        if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
            raise ValueError("`HashedCrossing` should be called on a list or tuple of two tensors. Received: "
                             f"inputs={inputs}")
        a, b = (_host_array(x) for x in inputs)
        if a.shape != b.shape:
            raise ValueError(f"Input shapes must match. Received: inputs={[a.shape, b.shape]}")
        scalar = a.ndim == 0
        a, b = a.reshape(-1), b.reshape(-1)
        out = np.asarray([_cross_hash([x, y], self.num_bins) for x, y in zip(a, b)], "int64")
        out = out.reshape(()) if scalar else out.reshape(np.shape(inputs[0]))
        if self.output_mode == "one_hot":
            return encode_categorical(out, "one_hot", self.num_bins, self.dtype)
        return out

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = tuple(input_shape[0])
        if self.output_mode == "one_hot":
            return shape[:-1] + (self.num_bins,) if shape[-1] == 1 else shape + (self.num_bins,)
        return shape

    def get_config(self) -> dict[str, Any]:
        return {"num_bins": self.num_bins, "output_mode": self.output_mode, "sparse": self.sparse,
                "name": self.name, "dtype": self.dtype}


def _cross_hash(values: Sequence[Any], bins: int) -> int:
    # TensorFlow's HashCrosser: start from the hash key, fold in each feature (an integer as its own value, a string
    # as its Fingerprint64) with FingerprintCat64, then take the remainder.
    h = 0xDECAFCAFFE
    for v in values:
        if isinstance(v, (str, bytes, np.str_, np.bytes_)):
            feature = fingerprint64(_as_string(v).encode("utf-8"))
        else:
            feature = int(v) & _M64
        h = _fingerprint_cat64(h, feature)
    return h % bins


def _fingerprint_cat64(fp1: int, fp2: int) -> int:
    mul = 0xC6A4A7935BD1E995
    result = fp1 ^ mul
    result ^= (_mix((fp2 * mul) & _M64) * mul) & _M64
    result = (result * mul) & _M64
    result = (_mix(result) * mul) & _M64
    return _mix(result)


# ------------------------------------------------------------------------------------------- lookups
class IndexLookup(HostPreprocessingLayer):
    """The shared machinery of ``StringLookup`` and ``IntegerLookup`` (Keras's ``IndexLookup``): a vocabulary laid
    out as ``[mask] + [OOV] * num_oov_indices + tokens``, learned by ``adapt`` (most frequent first) or given."""

    _string = True

    def __init__(self, max_tokens: int | None, num_oov_indices: int, mask_token: Any, oov_token: Any,
                 vocabulary_dtype: str, vocabulary: Any = None, idf_weights: Any = None, invert: bool = False,
                 output_mode: str = "int", sparse: bool = False, pad_to_max_tokens: bool = False,
                 oov_method: str = "floormod", name: str | None = None, salt: Any = None, **kwargs: Any) -> None:
        frozen_size = kwargs.pop("vocabulary_size", None)
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, **kwargs)
        what = type(self).__name__
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"If set, `max_tokens` must be greater than 1. Received: max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError("`num_oov_indices` must be greater than or equal to 0. Received: "
                             f"num_oov_indices={num_oov_indices}")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"{what}: `oov_method` must be 'floormod' or 'farmhash'. Received: {oov_method!r}")
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in ("int", "one_hot", "multi_hot", "count", "tf_idf"):
            raise ValueError(f"Invalid value for argument `output_mode` of {what}. Expected one of ['int', "
                             f"'one_hot', 'multi_hot', 'count', 'tf_idf']. Received: output_mode={output_mode}")
        if invert and output_mode != "int":
            raise ValueError("`output_mode` must be `'int'` when `invert` is true. Received: "
                             f"output_mode={output_mode}")
        if sparse:
            raise ValueError(f"{what}: `sparse=True` needs the TensorFlow backend; lamina returns dense arrays.")
        if salt is not None:
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                salt = list(salt)
            elif isinstance(salt, int):
                salt = [salt, salt]
            else:
                raise ValueError(f"{what}: `salt` must be an int or a pair of ints. Received: salt={salt}")
        self.invert, self.max_tokens, self.num_oov_indices = bool(invert), max_tokens, int(num_oov_indices)
        self.mask_token, self.oov_token, self.output_mode = mask_token, oov_token, output_mode
        self.sparse, self.pad_to_max_tokens, self.vocabulary_dtype = sparse, bool(pad_to_max_tokens), vocabulary_dtype
        self.oov_method, self.salt = oov_method, salt
        self._frozen_vocab_size = frozen_size
        self.input_vocabulary = vocabulary if not isinstance(vocabulary, str) else None
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = bool(has_input_vocabulary)
        self._tokens: list[Any] = []
        self._index: dict[Any, int] = {}
        self.idf_weights: np.ndarray | None = None
        self.reset_state()
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif idf_weights is not None:
            self.idf_weights = np.asarray(idf_weights, "float32")

    # -- vocabulary
    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def _token(self, value: Any) -> Any:
        if self._string:
            return value.decode("utf-8") if isinstance(value, bytes) else str(value)
        return int(value)

    def vocabulary_size(self) -> int:
        """The number of ids the layer outputs: tokens plus the mask and OOV slots."""
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[Any]:
        """The vocabulary in id order; ``include_special_tokens=False`` drops the mask and OOV entries."""
        vocab = [self.oov_token] * self._token_start_index() + list(self._tokens)
        if self.mask_token is not None and self.output_mode == "int":
            vocab[0] = self.mask_token
        return vocab if include_special_tokens else vocab[self._token_start_index():]

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Set the vocabulary from a list/array or a text file with one token per line (``tf_idf`` needs
        ``idf_weights``)."""
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f"`idf_weights` should only be set if output_mode is `'tf_idf'`. Received: "
                             f"output_mode={self.output_mode} and idf_weights={idf_weights}")
        if isinstance(vocabulary, (str, os.PathLike)):
            path = os.fspath(vocabulary)
            if not os.path.exists(path):
                raise ValueError(f"Vocabulary file {path} does not exist.")
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
            while lines and lines[-1] == "":
                lines.pop()
            vocabulary = lines
        tokens = [self._token(v) for v in np.asarray(vocabulary, dtype=object).ravel()] if not isinstance(
            vocabulary, list) else [self._token(v) for v in vocabulary]
        if not tokens:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary={vocabulary}")
        start = self._token_start_index()
        special = [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices
        found_special = tokens[:start] == special
        if found_special:
            tokens = tokens[start:]
        repeated = [t for t, c in collections.Counter(tokens).items() if c > 1]
        if repeated:
            raise ValueError("The passed vocabulary has at least one repeated term. Please uniquify your dataset. "
                             f"The repeated terms are: {sorted(repeated, key=str)}")
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError("Found reserved mask token at unexpected location in `vocabulary`. Note that passed "
                             "`vocabulary` does not need to include the OOV and mask tokens. Either remove all mask "
                             "and OOV tokens, or include them only at the start of the vocabulary in precisely this "
                             f"order: {special}. Received: mask_token={self.mask_token}")
        if self.oov_token is not None and self.invert and self.oov_token in tokens:
            raise ValueError("Found reserved OOV token at unexpected location in `vocabulary`. Include it only at "
                             f"the start of the vocabulary in this order: {special}.")
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ValueError("Attempted to set a vocabulary larger than the maximum vocab size. Received vocabulary "
                             f"size is {start + len(tokens)}; `max_tokens` is {self.max_tokens}.")
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            idf = np.asarray(idf_weights, "float32").ravel()
            if len(idf) != len(tokens) + (start if found_special else 0):
                raise ValueError(f"`idf_weights` must be the same length as vocabulary. len(idf_weights) is "
                                 f"{len(idf)}; len(vocabulary) is {len(tokens)}")
            if not found_special:
                idf = np.concatenate([np.full(start, np.average(idf), "float32"), idf])
            self.idf_weights = self._pad_idf(idf)

    def _pad_idf(self, idf: np.ndarray) -> np.ndarray:
        if self.pad_to_max_tokens and self.max_tokens is not None:
            idf = np.concatenate([idf, np.zeros(self.max_tokens - len(idf), "float32")])
        return idf.astype("float32")

    def _set_tokens(self, tokens: list[Any]) -> None:
        self._tokens = list(tokens)
        start = self._token_start_index()
        self._index = {t: start + i for i, t in enumerate(self._tokens)}
        self._frozen_vocab_size = self.vocabulary_size()

    # -- adapt
    def reset_state(self) -> None:
        self._token_counts: collections.Counter = collections.Counter()
        self._document_counts: collections.Counter = collections.Counter()
        self._num_documents = 0

    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Learn the vocabulary from ``data`` (an array or list of tokens, or an iterable of batches)."""
        self.reset_state()
        for i, batch in enumerate(_batches(data)):
            if steps is not None and i >= steps:
                break
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data: Any) -> None:
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static vocabulary via `vocabulary` "
                             "argument or `set_vocabulary()` method.")
        rows = self._rows(data)
        for row in rows:
            self._token_counts.update(row)
        if self.output_mode == "tf_idf":
            for row in rows:
                self._document_counts.update(set(row))
            self._num_documents += len(rows)

    def _rows(self, data: Any) -> list[list[Any]]:
        if isinstance(data, list) and data and isinstance(data[0], list):  # ragged token lists
            return [[self._token(v) for v in row] for row in data]
        arr = _host_array(data)
        if arr.ndim == 0:
            arr = arr.reshape(1, 1)
        elif arr.ndim == 1:
            arr = arr.reshape(1, -1)
        return [[self._token(v) for v in row.ravel()] for row in arr]

    def finalize_state(self) -> None:
        if self._has_input_vocabulary or not self._token_counts:
            return
        counts = dict(self._token_counts)
        counts.pop(self.mask_token, None)
        counts.pop(self.oov_token, None)
        ordered = sorted(counts, key=lambda t: (counts[t], t.encode("utf-8") if self._string else t), reverse=True)
        if self.max_tokens:
            ordered = ordered[:self.max_tokens - self._token_start_index()]
        self._set_tokens(ordered)
        if self.output_mode == "tf_idf":
            df = np.asarray([self._document_counts[t] for t in ordered], "float64")
            idf = np.log(1 + self._num_documents / (1 + df)).astype("float32")
            idf = np.concatenate([np.full(self._token_start_index(), idf.mean() if len(idf) else 0.0), idf])
            self.idf_weights = self._pad_idf(idf.astype("float32"))
        self.reset_state()

    # -- lookup
    def _oov_index(self, token: Any) -> int:
        if self.num_oov_indices == 0:
            raise ValueError(f"When `num_oov_indices=0` all inputs should be in vocabulary, found OOV values "
                             f"[{token!r}], consider setting `num_oov_indices=1`.")
        start = self._oov_start_index()
        if self.num_oov_indices == 1:
            return start
        if not self._string and self.oov_method != "farmhash":
            return start + int(token) % self.num_oov_indices
        data = _as_string(token).encode("utf-8")
        if self.salt is not None:
            return start + siphash24(self.salt[0] & _M64, self.salt[1] & _M64, data) % self.num_oov_indices
        return start + fingerprint64(data) % self.num_oov_indices

    def _lookup(self, arr: np.ndarray) -> np.ndarray:
        flat = arr.ravel()
        if self.invert:
            vocab = self.get_vocabulary()
            out = [vocab[int(i)] if 0 <= int(i) < len(vocab) else self.oov_token for i in flat]
            if self.mask_token is not None:
                out = [self.mask_token if int(i) == 0 else o for i, o in zip(flat, out)]
            return np.asarray(out, dtype=object if self._string else "int64").reshape(arr.shape)
        mask_value = 0 if self.output_mode == "int" else -1
        out = np.empty(flat.shape, "int64")
        for i, raw in enumerate(flat):
            token = self._token(raw)
            if self.mask_token is not None and token == self.mask_token:
                out[i] = mask_value
            else:
                idx = self._index.get(token)
                out[i] = idx if idx is not None else self._oov_index(token)
        return out.reshape(arr.shape)

    def _depth(self) -> int:
        return self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()

    def _encode(self, ids: Any) -> Any:
        """Encode int ids (an array, or a list of per-row id lists) by ``output_mode``."""
        if self.output_mode == "tf_idf" and self.idf_weights is None:
            raise ValueError("When `output_mode` is `'tf_idf'`, `idf_weights` must be provided.")
        depth = self._depth()
        if isinstance(ids, list):  # ragged rows (TextVectorization): one encoding per row
            out = np.zeros((len(ids), depth), self.dtype)
            for r, row in enumerate(ids):
                row = np.asarray([i for i in row if 0 <= i < depth], "int64")
                if self.output_mode == "one_hot":
                    raise ValueError("one_hot output needs one token per row.")
                counts = np.bincount(row, minlength=depth)[:depth] if len(row) else np.zeros(depth)
                out[r] = (counts > 0) if self.output_mode == "multi_hot" else counts
        else:
            mode = "count" if self.output_mode == "tf_idf" else self.output_mode
            out = np.asarray(encode_categorical(jnp.asarray(ids), mode, depth, self.dtype))
        if self.output_mode == "tf_idf":
            out = out.astype("float32") * self.idf_weights[:depth]
        return out

    def _jax_lookup(self, x: Any) -> Any:
        """Integer lookup in JAX (traceable): a sorted-key search, so IntegerLookup runs inside a jitted step."""
        if self.num_oov_indices > 1 and self.oov_method == "farmhash":
            raise ValueError(f"IntegerLookup '{self.name}': oov_method='farmhash' hashes on the host and cannot run "
                             "inside a jitted step; use oov_method='floormod' or apply the layer before fit.")
        keys = np.asarray(self._tokens, "int64")
        start, oov_start = self._token_start_index(), self._oov_start_index()
        x = jnp.asarray(x)
        if self.num_oov_indices == 0:
            oov = jnp.full(x.shape, -1, "int32")
        elif self.num_oov_indices == 1:
            oov = jnp.full(x.shape, oov_start, "int32")
        else:
            oov = (oov_start + jnp.mod(x, self.num_oov_indices)).astype("int32")
        if keys.size:
            order = np.argsort(keys, kind="stable")
            sorted_keys = jnp.asarray(keys[order], x.dtype)
            ids = jnp.asarray(order + start, "int32")
            pos = jnp.clip(jnp.searchsorted(sorted_keys, x), 0, keys.size - 1)
            out = jnp.where(sorted_keys[pos] == x, ids[pos], oov)
        else:
            out = oov
        if self.mask_token is not None:
            out = jnp.where(x == self.mask_token, 0 if self.output_mode == "int" else -1, out)
        return out

    def call(self, inputs: Any) -> Any:
        if isinstance(inputs, jax.Array) and not self._string and not self.invert and jnp.issubdtype(
                inputs.dtype, jnp.integer):
            ids = self._jax_lookup(inputs)
            if self.output_mode == "int":
                return ids
            mode = "count" if self.output_mode == "tf_idf" else self.output_mode
            out = encode_categorical(ids, mode, self._depth(), self.dtype)
            return out * jnp.asarray(self.idf_weights[:self._depth()]) if self.output_mode == "tf_idf" else out
        _host_only(self, inputs)
        arr = _host_array(inputs)
        scalar = arr.ndim == 0
        ids = self._lookup(arr.reshape(1) if scalar else arr)
        if self.output_mode == "int":
            ids = ids.reshape(()) if scalar else ids
            return ids if not self.invert or not self._string else np.asarray(ids, dtype=str)
        return self._encode(ids)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.invert and self._string and not any_symbolic((args, kwargs)):
            kwargs.pop("training", None)
            return self.call(args[0] if args else kwargs.pop("inputs"))  # strings stay a NumPy array
        return super().__call__(*args, **kwargs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        if self.output_mode == "one_hot" and shape and shape[-1] != 1:
            return shape + (depth,)
        return shape[:-1] + (depth,) if shape else (depth,)

    def _output_dtype(self) -> str:
        if self.invert:
            return "string" if self._string else "int64"
        return "int64" if self.output_mode == "int" else self.dtype

    # -- saving: the learned vocabulary is an asset file, as in Keras
    def save_assets(self, dir_path: str) -> None:
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, "vocabulary.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(str(w) for w in self.get_vocabulary(include_special_tokens=True)))
        if self.output_mode == "tf_idf" and self.idf_weights is not None:
            with open(os.path.join(dir_path, "idf_weights.txt"), "w", encoding="utf-8") as f:
                f.write("\n".join(repr(float(v)) for v in self.idf_weights))

    def load_assets(self, dir_path: str) -> None:
        if self.input_vocabulary is not None:
            return
        path = os.path.join(dir_path, "vocabulary.txt")
        if not os.path.exists(path):
            return
        idf = None
        idf_path = os.path.join(dir_path, "idf_weights.txt")
        if self.output_mode == "tf_idf" and os.path.exists(idf_path):
            with open(idf_path, encoding="utf-8") as f:
                idf = np.asarray([float(v) for v in f.read().split()], "float32")
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        was = self._has_input_vocabulary
        if self.output_mode == "tf_idf" and idf is not None:
            self.set_vocabulary(lines, idf[:len(lines)])
            self.idf_weights = self._pad_idf(idf[:len(lines)])
        else:
            self.output_mode, mode = ("int" if self.output_mode == "tf_idf" else self.output_mode), self.output_mode
            self.set_vocabulary(lines)
            self.output_mode = mode
        self._has_input_vocabulary = was

    def get_config(self) -> dict[str, Any]:
        def listify(v: Any) -> Any:
            return np.asarray(v).tolist() if isinstance(v, np.ndarray) else v

        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token, "mask_token": self.mask_token,
                "output_mode": self.output_mode, "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
                "vocabulary_dtype": self.vocabulary_dtype, "idf_weights": listify(self.input_idf_weights),
                "vocabulary": listify(self.input_vocabulary), "vocabulary_size": self._frozen_vocab_size,
                "oov_method": self.oov_method, "salt": self.salt}


class StringLookup(IndexLookup):
    """Map strings to integer ids from a vocabulary (given, read from a file, or learned by ``adapt``); unknown
    strings go to the OOV id(s); ``invert=True`` maps ids back to strings.

    >>> layer = StringLookup()
    >>> layer.adapt([["a", "c", "d"], ["d", "z", "b"], ["d", "c", "c"]])
    >>> layer.get_vocabulary()
    ['[UNK]', 'd', 'c', 'z', 'b', 'a']
    >>> layer(["a", "q"]).tolist()
    [5, 0]
    """

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1, mask_token: str | None = None,
                 oov_token: str = "[UNK]", vocabulary: Any = None, idf_weights: Any = None, invert: bool = False,
                 output_mode: str = "int", pad_to_max_tokens: bool = False, sparse: bool = False,
                 encoding: str = "utf-8", name: str | None = None, salt: Any = None, **kwargs: Any) -> None:
        kwargs.pop("vocabulary_dtype", None)
        self.encoding = encoding
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name,
                         salt=salt, vocabulary_dtype="string", **kwargs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["vocabulary_dtype"]
        return {**config, "encoding": self.encoding}


class IntegerLookup(IndexLookup):
    """Map integer values to contiguous ids from a vocabulary (given or learned by ``adapt``); ``oov_token=-1``.

    >>> layer = IntegerLookup(vocabulary=[12, 36, 1138, 42])
    >>> layer([[12, 1138, 42], [42, 1000, 36]]).tolist()
    [[1, 3, 4], [4, 0, 2]]
    """

    _string = False

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1, mask_token: int | None = None,
                 oov_token: int = -1, vocabulary: Any = None, vocabulary_dtype: str = "int64", idf_weights: Any = None,
                 invert: bool = False, output_mode: str = "int", sparse: bool = False, pad_to_max_tokens: bool = False,
                 oov_method: str = "floormod", salt: Any = None, name: str | None = None, **kwargs: Any) -> None:
        if vocabulary_dtype != "int64":
            raise ValueError(f"IntegerLookup only supports `vocabulary_dtype='int64'`. Received: {vocabulary_dtype}")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, sparse=sparse, pad_to_max_tokens=pad_to_max_tokens,
                         oov_method=oov_method, salt=salt, name=name, vocabulary_dtype=vocabulary_dtype, **kwargs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for key in ("oov_token", "mask_token"):
            if config[key] is not None:
                config[key] = int(config[key])
        if config["vocabulary"] is not None:
            config["vocabulary"] = [int(v) for v in config["vocabulary"]]
        return config


# ------------------------------------------------------------------------------------------- TextVectorization
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_WHITESPACE = re.compile(r"[ \t\n\r\v\f]+")


def _ngrams(tokens: list[str], widths: Sequence[int]) -> list[str]:
    out: list[str] = []
    for n in widths:
        out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


class TextVectorization(HostPreprocessingLayer):
    """Turn raw strings into token ids or bag-of-words vectors: ``standardize`` (lowercase, strip punctuation),
    ``split`` (whitespace, characters or a callable), ``ngrams``, then a ``StringLookup`` whose vocabulary ``adapt``
    learns. ``output_mode="int"`` gives ``(batch, output_sequence_length)`` ids (0 pads, 1 is OOV);
    ``multi_hot``/``count``/``tf_idf`` give ``(batch, vocabulary_size)``.

    A callable ``standardize`` receives a NumPy array of ``str`` and returns one of the same shape; a callable
    ``split`` receives a 1-D NumPy array of ``str`` and returns one list of tokens per string (TensorFlow ops are
    not used by lamina).
    """

    def __init__(self, max_tokens: int | None = None,
                 standardize: str | Callable | None = "lower_and_strip_punctuation",
                 split: str | Callable | None = "whitespace", ngrams: int | tuple[int, ...] | None = None,
                 output_mode: str = "int", output_sequence_length: int | None = None, pad_to_max_tokens: bool = False,
                 vocabulary: Any = None, idf_weights: Any = None, sparse: bool = False, ragged: bool = False,
                 encoding: str = "utf-8", name: str | None = None, **kwargs: Any) -> None:
        if sparse or ragged:
            raise ValueError("TextVectorization: `sparse=True` and `ragged=True` need the TensorFlow backend; lamina "
                             "returns dense, padded arrays.")
        if not (standardize is None or callable(standardize) or standardize in (
                "lower_and_strip_punctuation", "lower", "strip_punctuation")):
            raise ValueError("Invalid value for argument `standardize`. Expected one of "
                             "['lower_and_strip_punctuation', 'lower', 'strip_punctuation'], None or a callable. "
                             f"Received: standardize={standardize}")
        if not (split is None or callable(split) or split in ("whitespace", "character")):
            raise ValueError("Invalid value for argument `split`. Expected one of ['whitespace', 'character'], None "
                             f"or a callable. Received: split={split}")
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        if output_mode not in ("int", "one_hot", "multi_hot", "count", "tf_idf"):
            raise ValueError("Invalid value for argument `output_mode`. Expected one of ['int', 'one_hot', "
                             f"'multi_hot', 'count', 'tf_idf']. Received: output_mode={output_mode}")
        if not (ngrams is None or isinstance(ngrams, int) or (
                isinstance(ngrams, tuple) and all(isinstance(i, int) for i in ngrams))):
            raise ValueError("`ngrams` must be None, an integer, or a tuple of integers. Received: "
                             f"ngrams={ngrams}")
        if output_mode == "int" and not (output_sequence_length is None or isinstance(output_sequence_length, int)):
            raise ValueError("`output_sequence_length` must be either None or an integer when `output_mode` is "
                             f"'int'. Received: output_sequence_length={output_sequence_length}")
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError("`output_sequence_length` must not be set if `output_mode` is not 'int'. Received "
                             f"output_sequence_length={output_sequence_length}.")
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        super().__init__(name=name, **kwargs)
        self._standardize, self._split = standardize, split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._ragged, self._output_mode = ragged, output_mode
        self.output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._encoding = encoding
        self._lookup_layer = StringLookup(max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
                                          pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode,
                                          sparse=sparse, has_input_vocabulary=has_input_vocabulary,
                                          encoding=encoding, vocabulary_size=vocabulary_size,
                                          name=f"{self.name}_lookup")

    # -- vocabulary
    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary from strings: an array or list (one batch), or any iterable of batches."""
        self.reset_state()
        if isinstance(data, str):
            data = [data]
        for i, batch in enumerate(_batches(data)):
            if steps is not None and i >= steps:
                break
            if isinstance(batch, str):
                batch = [batch]
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data: Any) -> None:
        self._lookup_layer.update_state(self._preprocess(data))

    def finalize_state(self) -> None:
        self._lookup_layer.finalize_state()

    def reset_state(self) -> None:
        self._lookup_layer.reset_state()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    def save_assets(self, dir_path: str) -> None:
        self._lookup_layer.save_assets(dir_path)

    def load_assets(self, dir_path: str) -> None:
        self._lookup_layer.load_assets(dir_path)

    # -- text processing
    def _standardized(self, arr: np.ndarray) -> np.ndarray:
        if callable(self._standardize):
            return _host_array(self._standardize(arr.astype(str)))
        if self._standardize is None:
            return arr
        lower = self._standardize in ("lower_and_strip_punctuation", "lower")
        strip = self._standardize in ("lower_and_strip_punctuation", "strip_punctuation")

        def one(s: Any) -> str:
            s = str(s)
            if lower:
                s = s.translate(_ASCII_LOWER)
            return _PUNCTUATION.sub("", s) if strip else s

        return np.vectorize(one, otypes=[object])(arr) if arr.size else arr.astype(object)

    def _preprocess(self, inputs: Any) -> list[list[str]] | np.ndarray:
        """Standardized strings split into one token list per row (or the strings themselves with ``split=None``)."""
        arr = self._standardized(_host_array(inputs))
        if self._split is None:
            if self._ngrams is not None:
                raise ValueError("TextVectorization: `ngrams` needs a `split`.")
            return arr
        if arr.ndim > 1:
            if arr.shape[-1] != 1:
                raise ValueError("When using `TextVectorization` to tokenize strings, the input rank must be 1 or the "
                                 f"last shape dimension must be 1. Received: inputs.shape={arr.shape} with rank="
                                 f"{arr.ndim}")
            arr = arr[..., 0]
        flat = arr.reshape(-1)
        if callable(self._split):
            rows = [[str(t) for t in row] for row in self._split(flat.astype(str))]
        elif self._split == "whitespace":
            rows = [[t for t in _WHITESPACE.split(str(s)) if t] for s in flat]
        else:
            rows = [list(str(s)) for s in flat]
        if self._ngrams is not None:
            rows = [_ngrams(r, self._ngrams) for r in rows]
        return rows

    def call(self, inputs: Any) -> Any:
        _host_only(self, inputs)
        lookup = self._lookup_layer
        if lookup.vocabulary_size() <= lookup._token_start_index() and not lookup._has_input_vocabulary:
            import warnings

            warnings.warn(f"TextVectorization '{self.name}' has no vocabulary yet: every token maps to the OOV id. "
                          "Call layer.adapt(texts) or pass vocabulary=[...] first.", stacklevel=3)
        data = self._preprocess(inputs)
        if isinstance(data, np.ndarray):  # split=None: each string is one token
            ids = lookup._lookup(data)
            return ids if self._output_mode == "int" else lookup._encode(ids)
        if self._output_mode != "int":
            return lookup._encode([list(lookup._lookup(np.asarray(r, dtype=object))) for r in data])
        rows = [lookup._lookup(np.asarray(r, dtype=object)) for r in data]
        length = self._output_sequence_length
        if length is None:
            length = max((len(r) for r in rows), default=0)
        out = np.zeros((len(rows), length), "int64")
        for i, r in enumerate(rows):
            r = r[:length]
            out[i, :len(r)] = r
        return out

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self._output_mode == "int":
            return (input_shape[0], self._output_sequence_length)
        depth = self._lookup_layer.max_tokens if self._lookup_layer.pad_to_max_tokens else (
            self._lookup_layer._frozen_vocab_size)
        return (input_shape[0], depth)

    def _output_dtype(self) -> str:
        return "int64" if self._output_mode == "int" else self.dtype

    def get_config(self) -> dict[str, Any]:
        lookup = self._lookup_layer

        def listify(v: Any) -> Any:
            return np.asarray(v).tolist() if isinstance(v, np.ndarray) else v

        for what, value in (("standardize", self._standardize), ("split", self._split)):
            if callable(value):
                raise ValueError(f"TextVectorization '{self.name}': a callable `{what}` cannot be saved in a config; "
                                 "register it and rebuild the layer in code after loading.")
        return {**super().get_config(), "max_tokens": lookup.max_tokens, "standardize": self._standardize,
                "split": self._split, "ngrams": self._ngrams_arg, "output_mode": self._output_mode,
                "output_sequence_length": self._output_sequence_length, "pad_to_max_tokens": lookup.pad_to_max_tokens,
                "sparse": lookup.sparse, "ragged": self._ragged, "vocabulary": listify(lookup.input_vocabulary),
                "idf_weights": listify(lookup.input_idf_weights), "encoding": self._encoding,
                "vocabulary_size": self.vocabulary_size()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TextVectorization:
        config = dict(config)
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)
