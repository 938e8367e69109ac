"""The losses and metrics given to ``compile``, resolved against a model's outputs.

Everything here is pure: ``total_loss`` and ``update_metrics`` run inside the jitted step, with metric
state as a pytree that stays on the device until ``results`` reads it back.

>>> import numpy as np
>>> from lamina import layers, Sequential
>>> from lamina.training.compiled import CompiledLossesAndMetrics
>>> model = Sequential([layers.Dense(3, input_shape=(4,))])
>>> c = CompiledLossesAndMetrics("sparse_categorical_crossentropy", None, ["accuracy"], None)
>>> c.resolve(model, np.zeros((2,), "int32"))
>>> c.names()
['loss', 'accuracy']
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina.backend import quick_jit

#: The key under which a metric state carries its current values (written by every update).
RESULTS = "__results__"


class CompiledLossesAndMetrics:
    """Per-output losses (with weights) and metrics, plus the running mean of the total loss."""

    def __init__(self, loss: Any, loss_weights: Any, metrics: Any, weighted_metrics: Any) -> None:
        self.loss_spec = loss
        self.loss_weights_spec = loss_weights
        self.metrics_spec = metrics
        self.weighted_metrics_spec = weighted_metrics
        self.resolved = False
        self.output_names: list[str] = []
        self.losses: list[Any] = []
        self.loss_weights: list[float] = []
        self.metrics: list[list[tuple[str, Any, bool]]] = []  # per output: (log name, metric, weighted)
        self._structure: str = "single"
        self._dict_keys: list[str] = []
        self._init_jit: Any = None
        self._signature: Any = None

    # ---------------------------------------------------------------------------- resolution
    def resolve(self, model: Any, y_sample: Any) -> None:
        """Match the loss/metric specs to the model outputs, using target shapes for 'accuracy'."""
        from lamina import losses as losses_module
        from lamina import metrics as metrics_module

        outputs = model._outputs_struct
        leaves, tree = jax.tree_util.tree_flatten(y_sample)
        signature = (id(outputs), tree, [(np.shape(t)[1:], np.asarray(t).dtype.kind) for t in leaves])
        if self.resolved and signature == self._signature:
            return  # same outputs and target shapes: keep the resolved losses, metrics and their jitted helpers
        self._signature = signature
        self._init_jit = None
        if isinstance(outputs, dict):
            self._structure, self._dict_keys = "dict", list(outputs)
            names = list(outputs)
            out_tensors = [outputs[k] for k in names]
        elif isinstance(outputs, list):
            self._structure = "list"
            out_tensors = list(outputs)
            names = [t.history.layer.name for t in out_tensors]
        else:
            self._structure = "single"
            out_tensors = [outputs]
            names = [outputs.history.layer.name]
        self.output_names = names
        ys = self.flatten_targets(y_sample)
        if len(ys) != len(out_tensors):
            raise ValueError(f"Model '{model.name}' has {len(out_tensors)} outputs ({names}) but received "
                             f"{len(ys)} target arrays. Pass one target per output, as a list or a dict keyed by "
                             "output name.")
        self.losses = [losses_module.get(spec) for spec in self._per_output(self.loss_spec, names, "loss")]
        weights = self.loss_weights_spec
        if weights is None:
            self.loss_weights = [1.0] * len(names)
        elif isinstance(weights, dict):
            self.loss_weights = [float(weights.get(n, 1.0)) for n in names]
        else:
            self.loss_weights = [float(w) for w in weights]
        self.metrics = []
        for i, (name, t) in enumerate(zip(names, out_tensors)):
            y_shape = tuple(np.shape(ys[i]))
            entries = []
            for weighted, spec in ((False, self.metrics_spec), (True, self.weighted_metrics_spec)):
                for metric_spec in self._metrics_for(spec, names, i):
                    metric = metrics_module.get(metric_spec, y_true_shape=y_shape, y_pred_shape=tuple(t.shape))
                    log_name = metric.name if len(names) == 1 else f"{name}_{metric.name}"
                    if weighted and len(names) == 1:
                        log_name = f"weighted_{metric.name}" if metric.name in [e[0] for e in entries] else log_name
                    entries.append((log_name, metric, weighted))
            self.metrics.append(entries)
        self.resolved = True

    @staticmethod
    def _per_output(spec: Any, names: list[str], what: str) -> list[Any]:
        if isinstance(spec, dict):
            missing = [n for n in names if n not in spec]
            if missing:
                raise ValueError(f"compile({what}=...) has no entry for outputs {missing}; keys are {sorted(spec)}.")
            return [spec[n] for n in names]
        if isinstance(spec, (list, tuple)):
            if len(spec) != len(names):
                raise ValueError(f"compile({what}=...) lists {len(spec)} entries for {len(names)} outputs {names}.")
            return list(spec)
        return [spec] * len(names)

    @staticmethod
    def _metrics_for(spec: Any, names: list[str], index: int) -> list[Any]:
        if spec is None:
            return []
        if isinstance(spec, dict):
            chosen = spec.get(names[index], [])
            return list(chosen) if isinstance(chosen, (list, tuple)) else [chosen]
        if isinstance(spec, (list, tuple)) and len(names) > 1 and spec and all(
                isinstance(s, (list, tuple)) for s in spec):
            return list(spec[index])
        return list(spec) if isinstance(spec, (list, tuple)) else [spec]

    # ---------------------------------------------------------------------------------- pure
    def flatten_targets(self, y: Any) -> list[Any]:
        if self._structure == "dict" and isinstance(y, dict):
            return [y[k] for k in self._dict_keys]
        if isinstance(y, dict):
            return [y[n] for n in self.output_names] if self.output_names else list(y.values())
        if isinstance(y, (list, tuple)) and (self._structure == "list" or len(self.output_names) > 1):
            return list(y)
        return [y]

    def flatten_outputs(self, y_pred: Any) -> list[Any]:
        if isinstance(y_pred, dict):
            return [y_pred[k] for k in self._dict_keys]
        if isinstance(y_pred, (list, tuple)):
            return list(y_pred)
        return [y_pred]

    def per_output_losses(self, y: Any, y_pred: Any, sample_weight: Any) -> list[Any]:
        ys, preds = self.flatten_targets(y), self.flatten_outputs(y_pred)
        return [loss(t, p, sample_weight=sample_weight) for loss, t, p in zip(self.losses, ys, preds)]

    def total_loss(self, y: Any, y_pred: Any, sample_weight: Any) -> Any:
        parts = self.per_output_losses(y, y_pred, sample_weight)
        return sum(w * part for w, part in zip(self.loss_weights, parts))

    def init_metrics(self) -> dict[str, Any]:
        """Fresh metric accumulators (zeros made by one cached jitted call, not one eager op per array)."""
        if self._init_jit is None:
            self._init_jit = quick_jit(self._init_metrics)
        return self._init_jit()

    def _init_metrics(self) -> dict[str, Any]:
        state: dict[str, Any] = {"loss": (jnp.zeros(()), jnp.zeros(()))}
        for entries in self.metrics:
            for log_name, metric, _ in entries:
                state[log_name] = metric.init_state()
        return {**state, RESULTS: self._results(state)}

    def update_metrics(self, state: dict[str, Any], loss: Any, y: Any, y_pred: Any, sample_weight: Any
                       ) -> dict[str, Any]:
        ys, preds = self.flatten_targets(y), self.flatten_outputs(y_pred)
        batch = jnp.asarray(jax.tree_util.tree_leaves(preds)[0].shape[0], jnp.float32)
        total, count = state["loss"]
        new = dict(state)
        new["loss"] = (total + loss * batch, count + batch)
        for entries, t, p in zip(self.metrics, ys, preds):
            for log_name, metric, weighted in entries:
                sw = sample_weight if weighted else None
                new[log_name] = metric.update_fn(state[log_name], t, p, sw)
        # The values too, a few scalar operations inside the step: reading them back needs no compiled call.
        new[RESULTS] = self._results(new)
        return new

    def results(self, state: dict[str, Any]) -> dict[str, float]:
        """Read the metric values back to the host: one device sync, no compiled call (every update and
        ``init_metrics`` store the values under ``RESULTS``)."""
        fetched = jax.device_get(state[RESULTS])
        return {k: float(np.asarray(v)) for k, v in fetched.items()}

    def _results(self, state: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        total, count = state["loss"]
        values["loss"] = total / jnp.maximum(count, 1.0)
        for entries in self.metrics:
            for log_name, metric, _ in entries:
                values[log_name] = metric.result_fn(state[log_name])
        return values

    def names(self) -> list[str]:
        return ["loss"] + [log_name for entries in self.metrics for log_name, _, _ in entries]
