"""Weight initializers with Keras's names, defaults and distributions.

Values are drawn with NumPy from lamina's global seed (``lamina.utils.set_random_seed``), which keeps
model construction fast (no JAX compilation per weight shape).

>>> from lamina import initializers
>>> initializers.get("zeros")((2, 3)).shape
(2, 3)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lamina import backend


def compute_fans(shape: tuple[int, ...]) -> tuple[float, float]:
    """Keras's fan-in/fan-out: a conv kernel ``(*k, in, out)`` counts its receptive field."""
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


class Initializer:
    """Base class: ``init(shape, dtype) -> np.ndarray``."""

    def __call__(self, shape: tuple[int, ...], dtype: str = "float32") -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)

    def _rng(self, seed: int | None) -> np.random.Generator:
        if seed is not None:
            return np.random.default_rng(seed)
        return backend.SEEDS.numpy


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype="float32"):
        return np.zeros(shape, dtype=dtype)


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype="float32"):
        return np.ones(shape, dtype=dtype)


class Constant(Initializer):
    """Every entry equal to ``value``."""

    def __init__(self, value: float = 0.0) -> None:
        self.value = value

    def __call__(self, shape, dtype="float32"):
        return np.full(shape, self.value, dtype=dtype)

    def get_config(self):
        return {"value": self.value}


class RandomUniform(Initializer):
    """Uniform on ``[minval, maxval)``."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None) -> None:
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype="float32"):
        return self._rng(self.seed).uniform(self.minval, self.maxval, size=shape).astype(dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(Initializer):
    """Normal with ``mean`` and ``stddev``."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype="float32"):
        return self._rng(self.seed).normal(self.mean, self.stddev, size=shape).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _truncated_normal(rng: np.random.Generator, shape: tuple[int, ...], stddev: float) -> np.ndarray:
    """Normal samples redrawn until they fall within two standard deviations."""
    out = rng.normal(0.0, 1.0, size=shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.normal(0.0, 1.0, size=int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out * stddev


class TruncatedNormal(Initializer):
    """Normal truncated at two standard deviations."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype="float32"):
        return (self.mean + _truncated_normal(self._rng(self.seed), shape, self.stddev)).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    """Keras's variance scaling: ``scale / fan`` with a truncated normal, normal or uniform draw."""

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None) -> None:
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"mode must be 'fan_in', 'fan_out' or 'fan_avg', not {mode!r}.")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"Unknown distribution {distribution!r}.")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype="float32"):
        fan_in, fan_out = compute_fans(tuple(shape))
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, fan)
        rng = self._rng(self.seed)
        if self.distribution == "truncated_normal":
            out = _truncated_normal(rng, shape, math.sqrt(variance) / 0.87962566103423978)
        elif self.distribution == "untruncated_normal":
            out = rng.normal(0.0, math.sqrt(variance), size=shape)
        else:
            limit = math.sqrt(3.0 * variance)
            out = rng.uniform(-limit, limit, size=shape)
        return np.asarray(out, dtype=dtype)

    def get_config(self):
        return {"seed": self.seed, "scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "input_axes": None, "output_axes": None}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        # Keras 3.15 adds input_axes/output_axes (for einsum kernels); lamina uses the standard fans.
        return cls(**{k: v for k, v in config.items() if k not in ("input_axes", "output_axes")})


class _Preset(VarianceScaling):
    _preset: tuple[float, str, str] = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed: int | None = None) -> None:
        scale, mode, distribution = self._preset
        super().__init__(scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed, "input_axes": None, "output_axes": None}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(seed=config.get("seed"))


class GlorotUniform(_Preset):
    """Uniform on ``±sqrt(6 / (fan_in + fan_out))`` (the Keras default for kernels)."""

    _preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Truncated normal with variance ``2 / (fan_in + fan_out)``."""

    _preset = (1.0, "fan_avg", "truncated_normal")


class HeNormal(_Preset):
    """Truncated normal with variance ``2 / fan_in``."""

    _preset = (2.0, "fan_in", "truncated_normal")


class HeUniform(_Preset):
    """Uniform with variance ``2 / fan_in``."""

    _preset = (2.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """Truncated normal with variance ``1 / fan_in``."""

    _preset = (1.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """Uniform with variance ``1 / fan_in``."""

    _preset = (1.0, "fan_in", "uniform")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain``, flattened over leading axes."""

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype="float32"):
        rows = math.prod(shape[:-1]) if len(shape) > 1 else 1
        cols = shape[-1]
        flat = self._rng(self.seed).normal(size=(max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(flat)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q[:rows, :cols]).reshape(shape).astype(dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only)."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def __call__(self, shape, dtype="float32"):
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2-D shape, received {shape}.")
        return (self.gain * np.eye(*shape)).astype(dtype)

    def get_config(self):
        return {"gain": self.gain}


class STFT(Initializer):
    """Conv kernels ``(frame_length, channels, fft_length // 2 + 1)`` computing the real or imaginary STFT side.

    ``window`` names a ``scipy.signal.windows`` function (``"hann"``...), gives the values, or is ``None``;
    ``scaling`` ``"density"`` (L2) or ``"spectrum"`` (L1) normalizes by the window.

    >>> STFT("real", None, None)((4, 1, 3))[:, 0, 0].tolist()
    [1.0, 1.0, 1.0, 1.0]
    """

    def __init__(self, side: str = "real", window: Any = "hann", scaling: str | None = "density",
                 periodic: bool = False) -> None:
        if side not in ("real", "imag"):
            raise ValueError(f"side should be 'real' or 'imag', not {side}")
        if isinstance(window, str):
            import scipy.signal  # lazy: only STFT kernels need it

            scipy.signal.get_window(window, 1)  # raises for an unknown window name
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError(
                f"Scaling is invalid, it must be `None`, 'density' or 'spectrum'. Received scaling={scaling}"
            )
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape, dtype="float32"):
        dtype = dtype or backend.floatx()
        frame_length, _channels, fft_length = shape
        win, scale = None, 1.0
        if self.window is not None:
            win = self.window
            if isinstance(win, str):
                import scipy.signal

                win = scipy.signal.get_window(win, frame_length, self.periodic)
            win = np.asarray(win, dtype=dtype)
            if win.ndim != 1 or win.shape[-1] != frame_length:
                raise ValueError(
                    f"The shape of `window` must be equal to [frame_length]. Received: window shape={win.shape}"
                )
            win = win.reshape(frame_length, 1, 1)
            if self.scaling == "density":
                scale = np.sqrt(np.sum(np.square(win)))
            elif self.scaling == "spectrum":
                scale = np.sum(np.abs(win))
        freq = np.arange(fft_length, dtype=dtype).reshape(1, 1, fft_length) / np.asarray((fft_length - 1) * 2, dtype)
        time = np.arange(frame_length, dtype=dtype).reshape(frame_length, 1, 1)
        args = (-2 * time * freq).astype(dtype) * np.arccos(np.asarray(-1, dtype))
        kernel = (np.cos(args) if self.side == "real" else np.sin(args)).astype(dtype)
        if win is not None:
            kernel = (kernel * win / np.asarray(scale, dtype)).astype(dtype)
        return kernel

    def get_config(self):
        return {"side": self.side, "window": self.window, "periodic": self.periodic, "scaling": self.scaling}


# Keras's lowercase spellings are aliases of the classes (``keras.initializers.he_normal is HeNormal``).
zeros, ones, constant = Zeros, Ones, Constant
random_uniform, random_normal, truncated_normal = RandomUniform, RandomNormal, TruncatedNormal
variance_scaling, glorot_uniform, glorot_normal = VarianceScaling, GlorotUniform, GlorotNormal
he_normal, he_uniform, lecun_normal, lecun_uniform = HeNormal, HeUniform, LecunNormal, LecunUniform
orthogonal, OrthogonalInitializer = Orthogonal, Orthogonal
identity, IdentityInitializer = Identity, Identity
stft, STFTInitializer = STFT, STFT

_ALIASES: dict[str, type[Initializer]] = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_uniform": RandomUniform, "uniform": RandomUniform,
    "random_normal": RandomNormal, "normal": RandomNormal,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_normal": HeNormal, "he_uniform": HeUniform,
    "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal, "identity": Identity, "stft": STFT, "one": Ones, "zero": Zeros,
}
_CLASSES: dict[str, type[Initializer]] = {cls.__name__: cls for cls in set(_ALIASES.values())}
_CLASSES.update({"IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal, "STFTInitializer": STFT})


def get(identifier: Any) -> Initializer:
    """Resolve a name (``"he_normal"``, ``"GlorotUniform"``), a config dict, an instance or a callable."""
    if identifier is None:
        raise ValueError("An initializer is required; received None.")
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier.lower()) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown initializer {identifier!r}. Known: {', '.join(sorted(_ALIASES))}.")
        return cls()
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name", ""))
        if cls is None:
            raise ValueError(f"Unknown initializer class {identifier.get('class_name')!r}.")
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return _CallableInitializer(identifier)
    raise TypeError(f"Cannot interpret {identifier!r} as an initializer.")


class _CallableInitializer(Initializer):
    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def __call__(self, shape, dtype="float32"):
        return np.asarray(self.fn(shape, dtype=dtype), dtype=dtype)


def serialize(initializer: Initializer) -> dict[str, Any]:
    """Keras's config dict for an initializer."""
    return {"module": "keras.initializers", "class_name": type(initializer).__name__,
            "config": initializer.get_config(), "registered_name": None}


def deserialize(config: dict[str, Any] | str, custom_objects: dict[str, Any] | None = None) -> Initializer:
    """The initializer a Keras config describes (``{"class_name": "HeNormal", "config": {...}}`` or a name).

    >>> deserialize({"class_name": "Constant", "config": {"value": 2.0}}).value
    2.0
    """
    name = config.get("class_name") if isinstance(config, dict) else config
    if custom_objects and name in custom_objects:
        cls = custom_objects[name]
        return cls.from_config(config.get("config", {})) if isinstance(config, dict) else cls()
    if isinstance(config, str) and config not in _ALIASES and config not in _CLASSES:
        raise ValueError(f"Could not interpret initializer identifier: {config!r}.")
    return get(config)
