"""The losses and metrics given to ``compile``, resolved against a model's outputs.

Everything here is pure: ``total_loss`` runs inside the jitted step, and the metrics are Keras's two
metric objects, ``compile_metrics`` (every compiled metric of every output, whose result is a dict) and,
for several outputs, one ``<output>_loss`` mean per output, whose states travel in ``metrics_variables``.

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
import numpy as np

from lamina import losses as losses_module
from lamina import metrics as metrics_module
from lamina.graph import KerasTensor


class CompileMetrics(metrics_module.Metric):
    """Keras's ``compile_metrics``: the compiled metrics of every output as one metric with a dict result."""

    def __init__(self, compiled: CompiledLossesAndMetrics) -> None:
        super().__init__(name="compile_metrics")
        self._compiled = compiled

    @property
    def metrics(self) -> list[metrics_module.Metric]:
        return [metric for entries in self._compiled.metrics for _, metric, _ in entries]

    def init_state(self) -> dict[str, Any]:
        return {log_name: metric.init_state() for entries in self._compiled.metrics for log_name, metric, _ in entries}

    def update_fn(self, state: Any, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        compiled = self._compiled
        ys, preds = compiled.flatten_targets(y_true), compiled.flatten_outputs(y_pred)
        new = dict(state)
        for entries, t, p in zip(compiled.metrics, ys, preds):
            for log_name, metric, weighted in entries:
                new[log_name] = metric.update_fn(state[log_name], t, p, sample_weight if weighted else None)
        return new

    def result_fn(self, state: Any) -> dict[str, Any]:
        return {log_name: metric.result_fn(state[log_name])
                for entries in self._compiled.metrics for log_name, metric, _ in entries}


class CompiledLossesAndMetrics:
    """Per-output losses (with weights) and metrics, resolved against the model's outputs and targets."""

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
        self.compile_metrics = CompileMetrics(self) if (metrics or weighted_metrics) else None
        self.output_loss_trackers: list[metrics_module.Mean] = []  # one per output, for several outputs
        self._structure: str = "single"
        self._dict_keys: list[str] = []
        self._signature: Any = None

    # ---------------------------------------------------------------------------- resolution
    def resolve(self, model: Any, y_sample: Any, outputs: Any = None) -> None:
        """Match the loss/metric specs to the model outputs, using target shapes for 'accuracy'.

        ``outputs`` is the outputs' structure of shapes for a model without a graph (a subclassed model:
        ``jax.eval_shape`` of its call); a functional model's own output tensors are used otherwise.
        """
        if outputs is None:
            outputs = model._outputs_struct
        leaves, tree = jax.tree_util.tree_flatten(y_sample)
        out_sig = jax.tree_util.tree_map(lambda t: (tuple(t.shape), str(t.dtype)), outputs,
                                         is_leaf=lambda t: isinstance(t, KerasTensor))
        signature = (str(out_sig), tree, [(np.shape(t)[1:], np.asarray(t).dtype.kind) for t in leaves])
        if self.resolved and signature == self._signature:
            return  # same outputs and target shapes: keep the resolved losses and metrics
        self._signature = signature

        def name_of(t: Any, i: int) -> str:
            history = getattr(t, "history", None)
            return history.layer.name if history is not None else f"output_{i}"

        if isinstance(outputs, dict):
            self._structure, self._dict_keys = "dict", list(outputs)
            names = list(outputs)
            out_tensors = [outputs[k] for k in names]
        elif isinstance(outputs, (list, tuple)):
            self._structure = "list"
            out_tensors = list(outputs)
            names = [name_of(t, i) for i, t in enumerate(out_tensors)]
        else:
            self._structure = "single"
            out_tensors = [outputs]
            names = [name_of(outputs, 0)]
        self.output_names = names
        ys = self.flatten_targets(y_sample)
        if self.loss_spec is not None and len(ys) != len(out_tensors):
            raise ValueError(f"Model '{model.name}' has {len(out_tensors)} outputs ({names}) but received "
                             f"{len(ys)} target arrays. Pass one target per output, as a list or a dict keyed by "
                             "output name.")
        self.losses = ([losses_module.get(spec) for spec in self._per_output(self.loss_spec, names, "loss")]
                       if self.loss_spec is not None else [])
        weights = self.loss_weights_spec
        if weights is None:
            self.loss_weights = [1.0] * len(names)
        elif isinstance(weights, dict):
            self.loss_weights = [float(weights.get(n, 1.0)) for n in names]
        else:
            self.loss_weights = [float(w) for w in weights]
        self.output_loss_trackers = ([metrics_module.Mean(name=f"{n}_loss") for n in names]
                                     if len(names) > 1 and self.losses else [])
        self.metrics = []
        for i, (name, t) in enumerate(zip(names, out_tensors)):
            y_shape = tuple(np.shape(ys[i])) if i < len(ys) else tuple(t.shape)
            entries = []
            for weighted, spec in ((False, self.metrics_spec), (True, self.weighted_metrics_spec)):
                for metric_spec in self._metrics_for(spec, names, i):
                    metric = metrics_module.get(metric_spec, y_true_shape=y_shape, y_pred_shape=tuple(t.shape))
                    log_name = metric.name if len(names) == 1 else f"{name}_{metric.name}"
                    if weighted and len(names) == 1:
                        log_name = f"weighted_{metric.name}" if metric.name in [e[0] for e in entries] else log_name
                    entries.append((log_name, metric, weighted))
            self.metrics.append(entries)
        if self.compile_metrics is not None:
            self.compile_metrics._state_treedef = None
            self.compile_metrics.reset_state()
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

    def weighted_losses(self, y: Any, y_pred: Any, sample_weight: Any) -> list[Any]:
        """Each output's loss times its ``loss_weights`` entry."""
        parts = self.per_output_losses(y, y_pred, sample_weight)
        return [w * part for w, part in zip(self.loss_weights, parts)]

    def total_loss(self, y: Any, y_pred: Any, sample_weight: Any) -> Any:
        parts = self.per_output_losses(y, y_pred, sample_weight)
        return sum(w * part for w, part in zip(self.loss_weights, parts))

    def names(self) -> list[str]:
        """Keras's order of the flattened logs: the loss, each output's loss, then the compiled metrics."""
        return (["loss"] + [t.name for t in self.output_loss_trackers]
                + [log_name for entries in self.metrics for log_name, _, _ in entries])
