"""The harness every ``keras.ops`` oracle test uses: one table of argument builders per ops module.

A test module defines ``CASES = {"name": [Case(...), ...]}`` (the name as ``keras.ops`` spells it, optionally
``"nn.name"``, ``"image.name"``, ``"linalg.name"`` for a submodule) and ``SKIPPED = {"name": "reason"}`` for names
it leaves out, then ``test_matches_keras = cases_test(CASES)``. Each case builds its arguments from a seeded
NumPy generator; the same arguments go to ``keras.ops`` (JAX backend) and ``lamina.ops``; the results must have
the same structure, shapes, dtypes and (to the case's tolerance) values. ``tests/ops/test_ops_coverage.py``
walks every name of ``keras.ops`` and asks that it be in some table, or skipped with a reason.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

Builder = Callable[[np.random.Generator], tuple[tuple[Any, ...], dict[str, Any]]]


@dataclass
class Case:
    """One call: ``build(rng) -> (args, kwargs)``; ``check_dtype=False`` only where Keras's dtype is a bug."""

    build: Builder
    rtol: float = 1e-5
    atol: float = 1e-6
    check_dtype: bool = True
    raises: type[BaseException] | None = None  # both must raise (e.g. bad shapes)
    id: str | None = None
    post: Callable[[Any], Any] | None = field(default=None)  # e.g. sort eigenvalues before comparing


def args(*a: Any, **kw: Any) -> Builder:
    """A builder for fixed arguments: ``Case(args(np.arange(4.0), axis=0))``."""
    return lambda rng: (a, kw)


def resolve(module: Any, name: str) -> Callable[..., Any]:
    """``keras.ops`` / ``lamina.ops`` lookup of ``"name"`` or ``"nn.name"``."""
    obj = module
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _to_numpy(value: Any) -> Any:
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple (jnp.linalg's EighResult...)
        return type(value)(*(_to_numpy(v) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(_to_numpy(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_numpy(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return np.asarray(value)


def assert_same(ours: Any, theirs: Any, case: Case, where: str = "result") -> None:
    """Structure, shape, dtype and values of ``ours`` equal ``theirs``."""
    if isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)), f"{where}: Keras gives a {type(theirs).__name__}, lamina {type(ours)}"
        assert len(ours) == len(theirs), f"{where}: {len(ours)} items, Keras {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, case, f"{where}[{i}]")
        return
    if isinstance(theirs, dict):
        assert set(ours) == set(theirs), f"{where}: keys {sorted(ours)} != {sorted(theirs)}"
        for k in theirs:
            assert_same(ours[k], theirs[k], case, f"{where}[{k!r}]")
        return
    if theirs is None or isinstance(theirs, (bool, int, float, str)):
        if isinstance(theirs, float):
            np.testing.assert_allclose(float(np.asarray(ours)), theirs, rtol=case.rtol, atol=case.atol)
        else:
            assert ours == theirs or np.asarray(ours).tolist() == theirs, f"{where}: {ours!r} != {theirs!r}"
        return
    a, b = np.asarray(ours), np.asarray(theirs)
    assert a.shape == b.shape, f"{where}: shape {a.shape}, Keras {b.shape}"
    if case.check_dtype:
        assert a.dtype == b.dtype, f"{where}: dtype {a.dtype}, Keras {b.dtype}"
    if a.dtype.kind in "biuUSO" or b.dtype.kind in "bUSO":
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        np.testing.assert_allclose(a.astype(np.float64) if a.dtype.kind != "c" else a,
                                   b.astype(np.float64) if b.dtype.kind != "c" else b,
                                   rtol=case.rtol, atol=case.atol, err_msg=where, equal_nan=True)


def run_case(name: str, case: Case, seed: int = 0) -> None:
    """Call ``keras.ops.<name>`` and ``lamina.ops.<name>`` on the same arguments and compare."""
    import keras

    import lamina

    theirs_fn, ours_fn = resolve(keras.ops, name), resolve(lamina.ops, name)
    a, kw = case.build(np.random.default_rng(seed))
    if case.raises is not None:
        with pytest.raises(case.raises):
            theirs_fn(*a, **kw)
        with pytest.raises(case.raises):
            ours_fn(*a, **kw)
        return
    theirs = _to_numpy(theirs_fn(*a, **kw))
    a, kw = case.build(np.random.default_rng(seed))  # fresh arguments: an op may not mutate its inputs
    ours = _to_numpy(ours_fn(*a, **kw))
    if case.post is not None:
        theirs, ours = case.post(theirs), case.post(ours)
    assert_same(ours, theirs, case)


def cases_test(cases: dict[str, list[Case]]) -> Callable[..., None]:
    """A parametrized pytest function running every case of the table against Keras."""
    params = [pytest.param(name, case, id=f"{name}-{case.id or i}")
              for name, items in cases.items() for i, case in enumerate(items)]

    @pytest.mark.parametrize(("name", "case"), params)
    def test_matches_keras(name: str, case: Case) -> None:
        run_case(name, case)

    return test_matches_keras
