"""compile / fit / evaluate / predict for lamina models (mixed into ``Model``), on Keras 3's step API.

Training runs the model's ``train_step(state, data) -> (logs, state)`` (``training/step.py`` holds the
default; a user's override is what runs), jitted once per model and batch shape with its state donated.
The dataset is put on the device once per ``fit``; each step gathers its batch on the device from an epoch
permutation, so the host only sends a step index. ``training/pacing.py`` groups steps into fused calls
(``steps_per_execution="auto"``) and ``training/speed.py`` splits convolution batches into chunks; neither
changes what a user observes.

State users can trust (Keras's ``jax_state_sync``): between steps the newest state lives in the loop and
``model._live_state``; a callback reading ``self.model``, the end of an epoch and any exit from ``fit``
(an exception, ``KeyboardInterrupt``) write it into the weights, the optimizer and the metrics, and the
next step then reads the state back from the model, so a learning rate or weights set by a callback take
effect at the next step.

>>> import numpy as np
>>> from lamina import layers, Sequential
>>> model = Sequential([layers.Dense(1, input_shape=(3,))])
>>> model.compile(optimizer="sgd", loss="mse")
>>> history = model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=2, verbose=0)
>>> sorted(history.history)
['loss']
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import jax
import numpy as np

from lamina import backend, optimizers
from lamina import distribution as distribution_module
from lamina import metrics as metrics_module
from lamina.distribution import distribution as current_distribution
from lamina.training import data, input_checks, loop, pacing, speed, staging
from lamina.training import state as state_module
from lamina.training.compiled import CompiledLossesAndMetrics
from lamina.training.pacing import Pacer as _Pacer
from lamina.training.progbar import resolve_verbose
from lamina.training.step import Steps, TrainState, pack_x_y_sample_weight

__all__ = ["Trainer", "TrainState", "ModelLike"]


class ModelLike(Protocol):
    """What ``Trainer`` needs from the class it is mixed into (``Model``); ``Steps``, ``state``, ``loop`` and
    ``input_checks`` use the same attributes."""

    name: str
    built: bool
    inputs: list[Any]
    outputs: list[Any]
    trainable_weights: list[Any]
    _functional: bool
    _outputs_struct: Any

    def _weight_keys(self) -> list[tuple[str, Any]]: ...
    def get_params(self) -> tuple[dict[str, Any], dict[str, Any]]: ...
    def set_params(self, trainable: dict[str, Any], non_trainable: dict[str, Any] | None = None) -> None: ...
    def get_weights(self) -> list[Any]: ...
    def set_weights(self, weights: list[Any]) -> None: ...
    def stateless_call(self, trainable: Any, non_trainable: Any, inputs: Any, training: bool = False,
                       return_losses: bool = False) -> Any: ...
    def _ensure_built_for(self, inputs: Any) -> None: ...
    def _require_built(self, what: str) -> None: ...
    def _flatten_inputs(self, inputs: Any) -> list[Any]: ...


class Trainer(Steps):
    """compile / fit / evaluate / predict on top of the model's ``train_step``/``test_step``/``predict_step``."""

    def __init__(self) -> None:
        self.compiled = False
        self.optimizer: Any = None
        self.loss: Any = None
        self.stop_training = False
        self.history: Any = None
        self.train_function: Any = None
        self._compiled: CompiledLossesAndMetrics | None = None
        self._loss_tracker: metrics_module.Mean | None = None
        self._jit_cache: dict[Any, Any] = {}
        self._paces: dict[tuple[str, int], _Pacer] = {}  # measured "auto" paces by (mode, batch size)
        self._compile_config: dict[str, Any] = {}
        self._live_state: TrainState | None = None  # the loop's state while it is ahead of the weights
        self._step_rng: Any = None  # the traced dropout key of the step being traced
        self._split_batches = False  # whether the step being traced may run its batch as chunks

    # ------------------------------------------------------------------------------ compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None, metrics: Any = None,
                weighted_metrics: Any = None, run_eagerly: bool = False, steps_per_execution: int | str = "auto",
                jit_compile: Any = "auto", auto_scale_loss: bool = True) -> None:
        """Configure training with Keras's arguments: an optimizer, a loss and metrics (names or objects)."""
        if steps_per_execution != "auto" and not (isinstance(steps_per_execution, (int, np.integer))
                                                  and steps_per_execution >= 1):
            raise ValueError(f"compile(steps_per_execution=...) takes a positive integer or 'auto' (fuse steps as "
                             f"measured); received {steps_per_execution!r}.")
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self._compiled = CompiledLossesAndMetrics(loss, loss_weights, metrics, weighted_metrics)
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._compile_config = {"optimizer": optimizer, "loss": loss, "loss_weights": loss_weights,
                                "metrics": metrics, "weighted_metrics": weighted_metrics,
                                "run_eagerly": run_eagerly, "steps_per_execution": steps_per_execution,
                                "jit_compile": jit_compile}
        self.compiled = True
        self.train_function = None
        self._paces = {key: pace for key, pace in self._paces.items() if key[0] == "predict"}
        self._jit_cache = {key: fn for key, fn in self._jit_cache.items() if key[0] == "predict"}

    @property
    def metrics(self) -> list[metrics_module.Metric]:
        """Keras's ``model.metrics``: the loss tracker, ``compile_metrics``, per-output loss trackers (several
        outputs), then the metrics set as attributes of the model."""
        out: list[metrics_module.Metric] = []
        if self.compiled and self._loss_tracker is not None:
            out.append(self._loss_tracker)
            compiled = self._compiled
            if compiled.compile_metrics is not None:
                out.append(compiled.compile_metrics)
            out.extend(compiled.output_loss_trackers)
        for value in vars(self).values():
            if isinstance(value, metrics_module.Metric) and all(value is not m for m in out):
                out.append(value)
        return out

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    @property
    def metrics_variables(self) -> list[Any]:
        return [leaf for m in self.metrics for leaf in m.state_leaves()]

    def reset_metrics(self) -> None:
        for m in self.metrics:
            m.reset_state()

    def _uses_default(self, name: str) -> bool:
        return getattr(type(self), name) is getattr(Steps, name)

    def _require_compiled(self, what: str) -> CompiledLossesAndMetrics:
        if not self.compiled or self._compiled is None:
            raise RuntimeError(f"You must compile model '{self.name}' before calling {what}, e.g. "
                               "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', "
                               "metrics=['accuracy']).")
        defaults = all(self._uses_default(n) for n in ("train_step", "compute_loss", "compute_loss_and_updates"))
        if what == "fit()" and defaults and self._compiled.loss_spec is None:
            warnings.warn(f"Model '{self.name}' was compiled without a loss: fit() reports a loss of 0 and only "
                          "losses added with add_loss train it (as in Keras). Pass one, e.g. "
                          "model.compile(optimizer='adam', loss='mse'), or override compute_loss or train_step.",
                          stacklevel=3)
        return self._compiled

    # ------------------------------------------------------------------ the default step's speed hooks
    def _loss_gradient(self) -> Any:
        grad_fn = super()._loss_gradient()
        if not self._split_batches:
            return grad_fn
        return speed.maybe_micro_batched(grad_fn, lambda: self._step_rng,
                                         lambda key: setattr(self, "_step_rng", key))

    def _apply_constraints(self, trainable_variables: Any) -> Any:
        weights = [w for _, w in self._weight_keys() if w.trainable]
        if not any(w.constraint is not None for w in weights):
            return trainable_variables
        return [v if w.constraint is None else w.constraint(v) for w, v in zip(weights, trainable_variables)]

    def _micro_batching_allowed(self) -> bool:
        """Whether a train step may split its batch into chunks (``speed.micro_batching_allowed``)."""
        return speed.micro_batching_allowed(self)

    # --------------------------------------------------------------------------- step functions
    def _run_train_step(self, state: Any, x: Any, y: Any, sw: Any, rng: Any, split: bool) -> Any:
        """Trace the model's ``train_step`` on one batch with the step's dropout key (inside ``jit``)."""
        self._step_rng, self._split_batches = rng, split and self._micro_batching_allowed()
        try:
            logs, state = self.train_step(state, pack_x_y_sample_weight(x, y, sw))
        finally:
            self._step_rng, self._split_batches = None, False
        return logs, TrainState(*state)

    def make_train_function(self, force: bool = False) -> Any:
        """``self.train_function(state, data, seeds) -> (logs, state)``: the jitted ``train_step`` for batches
        that come from Python (generators, ``train_on_batch``); ``seeds`` are the step's dropout seeds."""
        if self.train_function is not None and not force:
            return self.train_function
        cast = loop.input_caster(self)

        def one_step(state: Any, batch: Any, seeds: Any) -> Any:
            x, y, sw = batch
            return self._run_train_step(state, cast(x), y, sw, loop.step_key(*seeds), True)

        self.train_function = jax.jit(one_step, donate_argnums=(0,))
        return self.train_function

    def _test_step_call(self, tv: Any, ntv: Any, mv: Any, x: Any, y: Any, sw: Any) -> Any:
        logs, state = self.test_step((tv, ntv, mv), pack_x_y_sample_weight(x, y, sw))
        return logs, list(state[2])

    # ------------------------------------------------------------------------------- state
    def _trainable_keys(self) -> tuple[list[str], list[str]]:
        keys = self._weight_keys()
        return [k for k, w in keys if w.trainable], [k for k, w in keys if not w.trainable]

    def _fresh_metrics_variables(self) -> list[Any]:
        """Zeroed ``metrics_variables`` (one cached jitted call, not one eager op per array)."""
        metrics = self.metrics
        key = ("metrics_init", tuple(id(m) for m in metrics), tuple(str(m._treedef()) for m in metrics))

        def build() -> Any:
            return backend.quick_jit(lambda: [leaf for m in metrics
                                              for leaf in jax.tree_util.tree_leaves(m.init_state())])

        return list(loop.cached_jit(self, key, build)())

    def _params_for_call(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return state_module.params_for_call(self)

    def _read_state(self, fresh_metrics: bool = False) -> TrainState:
        """The model's state as a ``TrainState`` of copies (``state.read_state``)."""
        return state_module.read_state(self, self._fresh_metrics_variables if fresh_metrics else None)

    def _write_state(self, state: TrainState) -> None:
        state_module.write_state(self, state)

    def _sync_live_state(self) -> None:
        """Keras's ``jax_state_sync``: give the model the newest training state, if the loop is ahead of it."""
        live = self.__dict__.get("_live_state")
        if live is not None:
            self._live_state = None
            self._write_state(live)

    def _current_state(self, state: TrainState) -> TrainState:
        """``state``, or the model's state read back when someone looked at (and maybe changed) the model."""
        if self._live_state is None:
            state = self._read_state()
        self._live_state = state
        return state

    # ------------------------------------------------------------------------------------ fit
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: Any = "auto", callbacks: Any = None, validation_split: float = 0.0, validation_data: Any = None,
            shuffle: Any = True, class_weight: dict[int, float] | None = None, sample_weight: Any = None,
            initial_epoch: int = 0, steps_per_epoch: int | None = None, validation_steps: int | None = None,
            validation_batch_size: int | None = None, validation_freq: int = 1) -> Any:
        """Train for ``epochs`` epochs; returns a ``History`` whose ``history`` dict has Keras's keys."""
        from lamina import callbacks as callbacks_module  # callbacks save models: above training

        self._require_compiled("fit()")
        if class_weight is not None and sample_weight is not None:
            raise ValueError("fit() takes class_weight or sample_weight, not both (as in Keras): multiply the class "
                             "weights into sample_weight yourself to combine them.")
        verbose = resolve_verbose(verbose)
        epochs, steps_per_epoch = loop.capped(epochs, steps_per_epoch)
        source = data.make_source(x, y, sample_weight, batch_size, steps_per_epoch, shuffle)
        if source.is_arrays:
            input_checks.check_fit_arrays(source.x, source.y, source.sw)
        if source.is_arrays and validation_split and validation_data is None:
            source, validation_data = source.split(validation_split)
        self._prepare(source, class_weight)
        val_source = None
        if validation_data is not None:
            val_source = data.validation_source(validation_data, validation_batch_size or source.batch_size,
                                                validation_steps)
        history = callbacks_module.History()
        cb = callbacks_module.CallbackList(callbacks, add_history=False, add_progbar=verbose != 0, model=self,
                                           verbose=verbose, epochs=epochs, steps=source.steps_per_epoch)
        cb.append(history)
        self.stop_training = False
        self.history = history
        with staging.borrowed() as host:
            for src in (source, val_source):
                if src is not None and src.is_arrays:
                    src.host = host
            self._fit_epochs(source, val_source, cb, initial_epoch, epochs, class_weight, validation_freq)
        return history

    def _fit_epochs(self, source: Any, val_source: Any, cb: Any, initial_epoch: int, epochs: int,
                    class_weight: Any, validation_freq: int) -> None:
        finished = False
        seed = backend.SEEDS.next_seed()
        if state_module.across_processes(current_distribution()):  # one seed and process 0's weights in every process
            seed = int(distribution_module.agree(np.asarray(seed, np.uint32)))
            self.set_weights(distribution_module.agree(self.get_weights()))
        self._fit_seed = seed  # the run's dropout seed; BackupAndRestore may restore one
        self._live_state = None
        try:
            cb.on_train_begin()
            logs: dict[str, float] = {}
            # Keras's rule (set by BackupAndRestore); lamina also resumes inside the epoch at ``_initial_step``.
            initial_epoch = int(self.__dict__.pop("_initial_epoch", None) or initial_epoch)
            first_step = int(self.__dict__.pop("_initial_step", None) or 0)
            seed = self._fit_seed
            for epoch in range(initial_epoch, epochs):
                resumed = first_step if epoch == initial_epoch else 0  # metrics hold the resumed epoch's
                if not resumed:
                    self.reset_metrics()
                cb.on_epoch_begin(epoch)
                self._sync_live_state()
                state = self._read_state(fresh_metrics=not resumed)
                self._live_state = state
                step_logs = None
                for step_index, step_logs in loop.run_epoch(self, source, (seed, epoch), class_weight, cb, resumed):
                    cb.on_train_batch_end(step_index, loop.pythonify(step_logs) if cb.wants_batch_logs(step_index)
                                          else None)
                    if self.stop_training:
                        break
                self._sync_live_state()
                logs = loop.pythonify(step_logs) if step_logs is not None else loop.pythonify(self.get_metrics_result())
                if val_source is not None and (epoch + 1) % validation_freq == 0:
                    val_logs = self._evaluate_source(val_source, cb)  # Keras: the test hooks run too
                    logs.update({f"val_{k}": v for k, v in val_logs.items()})
                logs = dict(sorted(logs.items()))
                cb.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
            finished = True
        finally:
            self._sync_live_state()
            if epochs > 0 and hasattr(self.optimizer, "finalize_variable_values"):
                self.optimizer.finalize_variable_values(self.trainable_weights)  # Keras: EMA weights, if any
        if finished:
            cb.on_train_end(logs)

    def _prepare(self, source: Any, class_weight: Any) -> None:
        input_checks.prepare(self, source, class_weight, loop.input_caster(self))

    # ------------------------------------------------------------------------------- evaluate
    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: Any = "auto",
                 sample_weight: Any = None, steps: int | None = None, callbacks: Any = None,
                 return_dict: bool = False) -> Any:
        """Loss and metrics on ``(x, y)``: a scalar, a list ``[loss, *metrics]`` or a dict."""
        from lamina import callbacks as callbacks_module  # callbacks save models: above training

        self._require_compiled("evaluate()")
        verbose = resolve_verbose(verbose)
        source = data.make_source(x, y, sample_weight, batch_size, steps, False)
        self._prepare(source, None)
        cb = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                                           epochs=1, steps=source.steps_per_epoch)
        with staging.borrowed() as host:
            if source.is_arrays:
                source.host = host
            logs = self._evaluate_source(source, cb)
        return self._format_logs(logs, return_dict)

    def _evaluate_source(self, source: Any, cb_list: Any) -> dict[str, float]:
        if cb_list is not None:
            cb_list.on_test_begin()  # first: a callback may change the weights (SwapEMAWeights)
        trainable, non_trainable = self._params_for_call()
        trainable, non_trainable = list(trainable.values()), list(non_trainable.values())
        logs = None
        for step_index, logs, _ in loop.evaluate_steps(self, source, cb_list, trainable, non_trainable):
            if cb_list is not None:
                cb_list.on_test_batch_end(step_index, loop.pythonify(logs) if cb_list.wants_batch_logs(step_index)
                                          else None)
        logs = dict(sorted(loop.pythonify(logs if logs is not None else {}).items()))
        if cb_list is not None:
            cb_list.on_test_end(logs)
        return logs

    # ---------------------------------------------------------------------------- predict
    def _predict_arrays(self, x: Any, batch_size: int | None, verbose: Any, steps: int | None,
                        callbacks: Any) -> Any:
        from lamina import callbacks as callbacks_module  # callbacks save models: above training

        if isinstance(x, (Iterator, Iterable)) and not data.is_array_like(x):
            batches = [data.to_arrays(data.batch_inputs(b)) for b in data.limit(x, steps)]
            if not batches:
                raise ValueError(f"predict() on model '{self.name}' received no batches.")
            outs = [self._predict_arrays(b, None, 0, None, None) for b in batches]
            return jax.tree_util.tree_map(lambda *p: np.concatenate(p, axis=0), *outs)
        backend.enable_compilation_cache()
        x = data.to_arrays(x)
        self._ensure_built_for(data.first_array(x) if self._functional or not isinstance(x, (list, dict)) else x)
        self._require_built("predict()")
        self._flatten_inputs(x)
        n = data.num_samples(x)
        batch_size = int(batch_size or 32)
        bounds = [(start, min(batch_size, n - start)) for start in range(0, n, batch_size)][:steps]
        if not bounds:
            raise ValueError(f"predict() on model '{self.name}' received no samples.")
        verbose = resolve_verbose(verbose)
        cb = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                                           epochs=1, steps=len(bounds))
        per_sample = loop.output_bytes_per_sample(self.outputs)
        pacer = (pacing.choose_pacer(self._paces, self._compile_config.get("steps_per_execution", "auto"),
                                     "predict", batch_size, cb, per_sample * batch_size) if per_sample
                 else _Pacer(1, 1))
        cb.on_predict_begin()  # first: a callback may change the weights (SwapEMAWeights)
        trainable, non_trainable = self._params_for_call()
        with staging.borrowed() as host:
            parts = loop.predict_calls(self, (list(trainable.values()), list(non_trainable.values())), x, host,
                                       pacer, bounds, cb)
        if len(parts) == 1:
            return parts[0]
        return jax.tree_util.tree_map(lambda *p: np.concatenate(p, axis=0), *parts)

    # ------------------------------------------------------------------------- on_batch
    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: Any = None,
                       return_dict: bool = False) -> Any:
        """One optimizer step on one batch; returns the batch's loss and metrics."""
        self._require_compiled("train_on_batch()")
        source = data.make_source(x, y, sample_weight, None, None, False)
        self._prepare(source, None)
        xb, yb, swb = next(iter(source.batches()))
        swb = data.combine_class_weight(yb, swb, class_weight)
        state = self._read_state()
        seeds = np.asarray((backend.SEEDS.next_seed(), 0, 0), np.uint32)
        logs, state = self.make_train_function()(state, (xb, yb, swb), seeds)
        self._write_state(state)
        return self._format_logs(loop.pythonify(logs), return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False) -> Any:
        """Loss and metrics on one batch, without training."""
        self._require_compiled("test_on_batch()")
        source = data.make_source(x, y, sample_weight, None, None, False)
        self._prepare(source, None)
        source.batch_size = source.num_samples
        return self._format_logs(self._evaluate_source(source, None), return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        """Outputs for one batch as NumPy arrays."""
        x = data.to_arrays(x)
        return self._predict_arrays(x, data.num_samples(x), 0, None, None)

    def _format_logs(self, logs: dict[str, float], return_dict: bool) -> Any:
        logs = dict(sorted(logs.items()))
        if return_dict:
            return logs
        names = self._compiled.names() if self._compiled is not None else []
        values = [logs[name] for name in names if name in logs] + [v for k, v in logs.items() if k not in names]
        return values[0] if len(values) == 1 else values

    def get_compile_config(self) -> dict[str, Any]:
        """The arguments given to ``compile`` (for saving)."""
        return dict(self._compile_config)
