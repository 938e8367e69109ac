"""Training, evaluation and prediction for lamina models (mixed into ``Model``).

>>> import numpy as np
>>> from lamina import layers, Sequential
>>> model = Sequential([layers.Dense(1, input_shape=(3,))])
>>> model.predict(np.zeros((5, 3)), verbose=0).shape
(5, 1)
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


class Trainer:
    """compile / fit / evaluate / predict on top of ``Model.stateless_call``."""

    def __init__(self) -> None:
        self.compiled = False
        self.optimizer: Any = None
        self.loss: Any = None
        self.stop_training = False
        self._jit_cache: dict[Any, Any] = {}

    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None, metrics: Any = None,
                weighted_metrics: Any = None, run_eagerly: bool = False, steps_per_execution: int = 1,
                jit_compile: Any = "auto", auto_scale_loss: bool = True) -> None:
        """Configure training: optimizer, loss and metrics (Keras's arguments)."""
        self._compile_args = dict(optimizer=optimizer, loss=loss, loss_weights=loss_weights, metrics=metrics,
                                  weighted_metrics=weighted_metrics, run_eagerly=run_eagerly,
                                  steps_per_execution=steps_per_execution, jit_compile=jit_compile)
        self.loss = loss
        self.optimizer = optimizer
        self.compiled = True
        self._jit_cache = {}

    # ---------------------------------------------------------------------------- predict
    def _predict_fn(self) -> Any:
        fn = self._jit_cache.get("predict")
        if fn is None:
            def forward(trainable: Any, non_trainable: Any, x: Any) -> Any:
                return self._pure_apply(trainable, non_trainable, x, False, None)[0]

            fn = self._jit_cache["predict"] = jax.jit(forward)
        return fn

    def _predict_arrays(self, x: Any, batch_size: int | None, verbose: Any, steps: int | None,
                        callbacks: Any) -> Any:
        from lamina.training import data

        x = data.to_arrays(x)
        self._ensure_built_for(data.first_array(x))
        self._require_built("predict()")
        self._flatten_inputs(x)
        n = data.num_samples(x)
        batch_size = int(batch_size or 32)
        trainable, non_trainable = self.get_params()
        fn = self._predict_fn()
        outs = []
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            batch = data.slice_batch(x, start, stop, pad_to=batch_size if n > batch_size else None)
            out = fn(trainable, non_trainable, batch)
            if stop - start < batch_size and n > batch_size:
                out = jax.tree_util.tree_map(lambda a, k=stop - start: a[:k], out)
            outs.append(out)
        if not outs:
            raise ValueError(f"predict() on model '{self.name}' received no samples.")
        joined = jax.tree_util.tree_map(lambda *parts: jnp.concatenate(parts, axis=0), *outs)
        return jax.tree_util.tree_map(np.asarray, joined)
