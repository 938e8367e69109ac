"""Check a lamina layer against the same Keras 3 layer (the oracle).

For a layer class name, constructor kwargs and an input shape, ``check_layer`` builds the layer in both
libraries, copies Keras's (randomized) weights into lamina with ``set_weights``, and compares: symbolic
output shape, trainable / non-trainable parameter counts, outputs in inference and (for deterministic
layers) training mode, BatchNormalization's updated moving statistics, and the config (keys and values
equal to Keras's, and ``from_config(get_config())`` giving identical JSON).

Keras must be imported with ``KERAS_BACKEND=jax``; this module sets it before importing Keras.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import lamina  # noqa: E402
from lamina import layers as lamina_layers  # noqa: E402


@dataclass
class Inner:
    """A layer argument (e.g. the wrapped layer of ``Bidirectional``) built separately in each library."""

    class_name: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def make(self, module: Any) -> Any:
        return getattr(module, self.class_name)(**_resolve(self.kwargs, module))


@dataclass
class Case:
    """One oracle configuration."""

    class_name: str
    kwargs: dict[str, Any]
    input_shape: Any  # a shape with the batch size, or a list of them
    int_input: int | None = None  # draw integer ids in [0, int_input) instead of floats
    mask: bool = False  # pass a (batch, time) mask with padded tails
    training: bool = True  # compare outputs in training mode too (deterministic layers)
    atol: float = 1e-5
    id: str = ""

    def __str__(self) -> str:
        return self.id or f"{self.class_name}-{self.kwargs}"


def _resolve(kwargs: dict[str, Any], module: Any) -> dict[str, Any]:
    return {k: (v.make(module) if isinstance(v, Inner) else v) for k, v in kwargs.items()}


def _is_shape(value: Any) -> bool:
    return isinstance(value, tuple) and all(isinstance(d, int) or d is None for d in value)


def _inputs(case: Case, rng: np.random.Generator) -> Any:
    def one(shape: tuple[int, ...]) -> np.ndarray:
        if case.int_input is not None:
            return rng.integers(0, case.int_input, size=shape).astype("int32")
        return rng.normal(size=shape).astype("float32")

    if _is_shape(case.input_shape):
        return one(case.input_shape)
    return [one(s) for s in case.input_shape]


def _mask(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    batch, steps = shape[0], shape[1]
    lengths = rng.integers(1, steps + 1, size=batch)
    lengths[0] = steps
    return np.arange(steps)[None, :] < lengths[:, None]


def _random_weights(keras_layer: Any, rng: np.random.Generator) -> list[np.ndarray]:
    out = []
    for w in keras_layer.weights:
        shape = tuple(w.shape)
        if "variance" in w.path:
            out.append(rng.uniform(0.5, 1.5, size=shape).astype("float32"))
        else:
            out.append((0.5 * rng.normal(size=shape)).astype("float32"))
    return out


def _strip_names(config: Any) -> Any:
    if isinstance(config, dict):
        return {k: _strip_names(v) for k, v in config.items() if k != "name"}
    if isinstance(config, list):
        return [_strip_names(v) for v in config]
    return config


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _shapes(value: Any) -> list[tuple[int | None, ...]]:
    return [tuple(t.shape) for t in _as_list(value)]


def _count(weights: list[Any]) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


def check_layer(case: Case, seed: int = 0) -> None:
    """Compare one configuration with Keras; raises AssertionError on the first difference."""
    rng = np.random.default_rng(seed)
    x = _inputs(case, rng)
    call_kwargs: dict[str, Any] = {}
    if case.mask:
        call_kwargs["mask"] = _mask(case.input_shape, rng)

    klayer = getattr(keras.layers, case.class_name)(**_resolve(case.kwargs, keras.layers))
    llayer = getattr(lamina_layers, case.class_name)(**_resolve(case.kwargs, lamina_layers))

    # symbolic shapes
    shapes = case.input_shape if not _is_shape(case.input_shape) else [case.input_shape]
    kdtype = "int32" if case.int_input is not None else "float32"
    kin = [keras.Input(shape=s[1:], dtype=kdtype) for s in shapes]
    lin = [lamina.layers.Input(shape=s[1:], dtype=kdtype) for s in shapes]
    kout = klayer(kin if len(kin) > 1 else kin[0])
    lout = llayer(lin if len(lin) > 1 else lin[0])
    assert _shapes(lout) == _shapes(kout), f"output shape: lamina {_shapes(lout)} != keras {_shapes(kout)}"

    # parameter counts
    assert _count(llayer.trainable_weights) == _count(klayer.trainable_weights), (
        f"trainable params: lamina {_count(llayer.trainable_weights)} != keras {_count(klayer.trainable_weights)}")
    assert _count(llayer.non_trainable_weights) == _count(klayer.non_trainable_weights), (
        f"non-trainable params: lamina {_count(llayer.non_trainable_weights)} != keras "
        f"{_count(klayer.non_trainable_weights)}")
    assert [tuple(w.shape) for w in llayer.weights] == [tuple(w.shape) for w in klayer.weights]

    # same weights
    if klayer.weights:
        klayer.set_weights(_random_weights(klayer, rng))
    llayer.set_weights(klayer.get_weights())

    # outputs
    modes = [False, True] if case.training else [False]
    for training in modes:
        kres = klayer(x, training=training, **call_kwargs)
        lres = llayer(x, training=training, **call_kwargs)
        kl, ll = _as_list(kres), _as_list(lres)
        assert len(kl) == len(ll), f"number of outputs: lamina {len(ll)} != keras {len(kl)}"
        for i, (a, b) in enumerate(zip(ll, kl)):
            a, b = np.asarray(a), np.asarray(b)
            assert a.shape == b.shape, f"training={training} output {i} shape: lamina {a.shape} != keras {b.shape}"
            np.testing.assert_allclose(a, b, rtol=case.atol, atol=case.atol,
                                       err_msg=f"training={training} output {i}")
        for lw, kw in zip(llayer.get_weights(), klayer.get_weights()):  # state updates (BatchNorm)
            np.testing.assert_allclose(lw, np.asarray(kw), rtol=case.atol, atol=case.atol,
                                       err_msg=f"weights after training={training} call")

    # config
    lconfig, kconfig = llayer.get_config(), klayer.get_config()
    assert set(lconfig) == set(kconfig), (
        f"config keys: only lamina {sorted(set(lconfig) - set(kconfig))}, only keras "
        f"{sorted(set(kconfig) - set(lconfig))}")
    lj = json.loads(json.dumps(_strip_names(lconfig)))
    kj = json.loads(json.dumps(_strip_names(kconfig)))
    assert lj == kj, f"config values differ:\nlamina {lj}\nkeras  {kj}"
    again = type(llayer).from_config(json.loads(json.dumps(lconfig))).get_config()
    assert json.dumps(again, sort_keys=True) == json.dumps(lconfig, sort_keys=True), "from_config round trip"
