"""Build the same model in lamina and in Keras 3 from one description, and compare them.

A description is a function ``describe(K)`` where ``K`` is a namespace with ``layers``, ``Model``,
``Sequential`` and ``Input`` taken from one library (see :data:`LAMINA` and :data:`KERAS`). ``compare``
builds both, checks output shapes, ``count_params()``, the number, shapes and order of weights, then gives
Keras's model random weights, copies them into lamina with ``set_weights(keras_model.get_weights())`` and
checks the predictions.

Keras must run with ``KERAS_BACKEND=jax``; this module sets it before importing Keras.
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import lamina  # noqa: E402
from lamina import backend as lamina_backend  # noqa: E402
from lamina import layers as lamina_layers  # noqa: E402

LAMINA = types.SimpleNamespace(name="lamina", layers=lamina_layers, Model=lamina.Model,
                               Sequential=lamina.Sequential, Input=lamina_layers.Input)
KERAS = types.SimpleNamespace(name="keras", layers=keras.layers, Model=keras.Model,
                              Sequential=keras.Sequential, Input=keras.Input)

Describe = Callable[[types.SimpleNamespace], Any]


def build_both(describe: Describe) -> tuple[Any, Any]:
    """``(lamina_model, keras_model)`` from one description, each built from a fresh name counter."""
    keras.backend.clear_session()
    keras_model = describe(KERAS)
    lamina_backend.clear_session()
    lamina_model = describe(LAMINA)
    return lamina_model, keras_model


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value[k] for k in sorted(value)]
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _count(weights: list[Any]) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


def random_inputs(input_shapes: list[tuple[int, ...]], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype("float32") for s in input_shapes]


def compare(describe: Describe, input_shapes: list[tuple[int, ...]], seed: int = 0, atol: float = 1e-5,
            symbolic: bool = True) -> tuple[Any, Any]:
    """Compare lamina with Keras for ``describe``; ``input_shapes`` include the batch size.

    ``symbolic=False`` skips the symbolic checks for models that are only built by the first call
    (subclassed or deferred Sequential); their weights are compared after one prediction.
    Returns ``(lamina_model, keras_model)``.
    """
    lm, km = build_both(describe)
    xs = random_inputs(input_shapes, seed)
    x: Any = xs[0] if len(xs) == 1 else xs
    if symbolic:
        lshapes = [tuple(t.shape) for t in _as_list(lm.outputs)]
        kshapes = [tuple(t.shape) for t in _as_list(km.outputs)]
        assert lshapes == kshapes, f"output shapes: lamina {lshapes} != keras {kshapes}"
    else:
        km.predict(x, verbose=0)
        lm.predict(x, verbose=0)

    assert lm.count_params() == km.count_params(), f"count_params: lamina {lm.count_params()} != {km.count_params()}"
    assert _count(lm.trainable_weights) == _count(km.trainable_weights)
    assert _count(lm.non_trainable_weights) == _count(km.non_trainable_weights)
    lw = [tuple(w.shape) for w in lm.weights]
    kw = [tuple(w.shape) for w in km.weights]
    assert lw == kw, f"weight shapes in order: lamina {lw} != keras {kw}"

    rng = np.random.default_rng(seed + 1)
    km.set_weights([(0.5 * rng.normal(size=w.shape)).astype("float32") for w in km.get_weights()])
    lm.set_weights(km.get_weights())
    for a, b in zip(lm.get_weights(), km.get_weights()):
        np.testing.assert_array_equal(a, b)

    kp, lp = _as_list(km.predict(x, verbose=0)), _as_list(lm.predict(x, verbose=0))
    assert len(lp) == len(kp), f"number of outputs: lamina {len(lp)} != keras {len(kp)}"
    for i, (a, b) in enumerate(zip(lp, kp)):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape, f"prediction {i} shape: lamina {a.shape} != keras {b.shape}"
        np.testing.assert_allclose(a, b, rtol=atol, atol=atol, err_msg=f"prediction {i}")
    return lm, km


def strip_config(config, names=None):
    """Drop what legitimately differs between two libraries (auto names, object ids): layer names become
    their position in the model's ``layers`` list."""
    if names is None:
        names = {entry["config"]["name"]: f"#{i}" for i, entry in enumerate(config.get("layers", []))}
    if isinstance(config, dict):
        if "args" in config and "kwargs" in config:  # an inbound node: Keras also records default call flags
            config = {**config, "kwargs": {k: v for k, v in config["kwargs"].items()
                                           if (k, v) not in (("mask", None), ("training", False))}}
        return {k: strip_config(v, names) for k, v in config.items()
                if k not in ("name", "shared_object_id", "compile_config")}
    if isinstance(config, list):
        if len(config) == 3 and isinstance(config[0], str) and config[0] in names:
            return [names[config[0]], config[1], config[2]]
        return [strip_config(v, names) for v in config]
    return config


def first_difference(a, b, path="config"):
    """Where two JSON values first differ, as ``path: a != b`` (None when equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return f"{path}: keys only lamina {sorted(set(a) - set(b))}, only keras {sorted(set(b) - set(a))}"
        return next((d for k in a if (d := first_difference(a[k], b[k], f"{path}.{k}"))), None)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return next((d for i, (x, y) in enumerate(zip(a, b)) if (d := first_difference(x, y, f"{path}[{i}]"))), None)
    return None if a == b else f"{path}: lamina {a!r} != keras {b!r}"
