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

import math
import warnings
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from lamina import distribution as distribution_module
from lamina import metrics as metrics_module
from lamina.backend import short_lived_compile_options
from lamina.distribution import constrain_batch, place_data, place_like, place_params
from lamina.distribution import distribution as current_distribution
from lamina.training import data, input_checks, pacing, speed, staging
from lamina.training.compiled import CompiledLossesAndMetrics
from lamina.training.pacing import Pacer as _Pacer
from lamina.training.step import Steps, TrainState, pack_x_y_sample_weight

__all__ = ["Trainer", "TrainState", "ModelLike"]


class ModelLike(Protocol):
    """What ``Trainer`` needs from the class it is mixed into (``Model``)."""

    name: str
    built: bool
    inputs: list[Any]
    outputs: list[Any]
    _functional: bool
    _outputs_struct: Any

    def _weight_keys(self) -> list[tuple[str, Any]]: ...
    def get_params(self) -> tuple[dict[str, Any], dict[str, Any]]: ...
    def set_params(self, trainable: dict[str, Any], non_trainable: dict[str, Any] | None = None) -> None: ...
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
        from lamina import optimizers  # optimizers import layers' modules; the model imports this one first

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

        def maybe_chunked(tv: Any, ntv: Any, mv: Any, x: Any, y: Any, sw: Any, training: bool) -> Any:
            rows = speed.micro_batch_rows(jax.tree_util.tree_leaves(x)[0].shape[0])
            if rows is None:
                return grad_fn(tv, ntv, mv, x, y, sw, training)
            chunked = speed.micro_batched(grad_fn, rows, lambda key: setattr(self, "_step_rng", key),
                                          self._step_rng)
            return chunked(tv, ntv, mv, x, y, sw, training)

        return maybe_chunked

    def _apply_constraints(self, trainable_variables: Any) -> Any:
        weights = [w for _, w in self._weight_keys() if w.trainable]
        if not any(w.constraint is not None for w in weights):
            return trainable_variables
        return [v if w.constraint is None else w.constraint(v) for w, v in zip(weights, trainable_variables)]

    def _micro_batching_allowed(self) -> bool:
        """Whether a train step may split its batch into chunks (``speed.micro_batching_allowed``)."""
        from lamina.layers.convolution import BaseConv  # layers sit above training in the import order
        from lamina.layers.regularization import ActivityRegularization

        return speed.micro_batching_allowed(self, BaseConv, ActivityRegularization)

    # --------------------------------------------------------------------------- step functions
    def _run_train_step(self, state: Any, x: Any, y: Any, sw: Any, rng: Any, split: bool) -> Any:
        """Trace the model's ``train_step`` on one batch with the step's dropout key (inside ``jit``)."""
        self._step_rng, self._split_batches = rng, split and self._micro_batching_allowed()
        try:
            logs, state = self.train_step(state, pack_x_y_sample_weight(x, y, sw))
        finally:
            self._step_rng, self._split_batches = None, False
        return logs, TrainState(*state)

    def _indexed_step(self, dist: Any, split: bool) -> Any:
        """One step on the batch ``order[start:start+size]`` of device-resident data (not jitted)."""
        cast = self._input_caster()

        def indexed(state: Any, xs: Any, ys: Any, sws: Any, order: Any, start: Any, seeds: Any, size: int) -> Any:
            idx = jax.lax.dynamic_slice_in_dim(order, start, size)
            take = lambda a: a.at[idx].get(mode="promise_in_bounds")  # noqa: E731
            x, y = cast(jax.tree_util.tree_map(take, xs)), jax.tree_util.tree_map(take, ys)
            sw = None if sws is None else take(sws)
            x, y, sw = constrain_batch((x, y, sw), dist)
            return self._run_train_step(state, x, y, sw, _step_key(seeds[0], seeds[1], start), split)

        return indexed

    def _train_fn(self, fused: bool = False, split: bool = True) -> Any:
        """The jitted step, or (``fused``) a loop of consecutive steps whose count is an argument.

        The fused function takes ``count`` as a traced argument, so one compilation serves calls of any
        length. ``split=False`` keeps every batch whole and compiles with ``short_lived_compile_options``:
        ``"auto"`` pacing runs its few single steps so (the first call's compilation is then the shortest),
        and only its fused calls split batches into chunks.
        """
        dist = current_distribution()

        def build() -> Any:
            indexed = self._indexed_step(dist, split)

            def loop(state: Any, xs: Any, ys: Any, sws: Any, order: Any, start: Any, count: Any, seeds: Any,
                     size: int) -> Any:
                one = lambda st, row: indexed(st, xs, ys, sws, order, row, seeds, size)  # noqa: E731
                return _fused_steps(one, state, start, count, size)

            options = short_lived_compile_options() if not (fused or split) else None
            return jax.jit(loop if fused else indexed, static_argnames=("size",), donate_argnums=(0,),
                           compiler_options=options)

        return self._cached_jit(self._train_key(fused, split), build)

    @staticmethod
    def _train_key(fused: bool, split: bool) -> tuple[Any, ...]:
        """``_jit_cache``'s key of ``_train_fn(fused, split)`` under the current distribution."""
        return ("train", id(current_distribution()), fused, split)

    def _single_train_call(self, split: bool, state: Any, data_args: tuple[Any, ...], seeds: Any, size: int
                           ) -> Any:
        """One step through ``_train_fn(False, split)``; rebuilt with XLA's default options if this JAX
        rejects the short-lived ones (the rejection comes at compilation, before the state is donated)."""
        try:
            return self._train_fn(False, split)(state, *data_args, seeds, size=size)
        except Exception as error:  # noqa: BLE001 - re-raised unless it is the option rejection
            from lamina.backend import refuse_short_lived_options

            if split or not refuse_short_lived_options(error):
                raise
        self._jit_cache.pop(self._train_key(False, split), None)
        return self._train_fn(False, split)(state, *data_args, seeds, size=size)

    def _cached_jit(self, key: tuple[Any, ...], build: Any) -> Any:
        """The jitted function cached under ``key``, built by ``build()`` on first use."""
        fn = self._jit_cache.get(key)
        if fn is None:
            fn = self._jit_cache[key] = build()
        return fn

    def make_train_function(self, force: bool = False) -> Any:
        """``self.train_function(state, data, seeds) -> (logs, state)``: the jitted ``train_step`` for batches
        that come from Python (generators, ``train_on_batch``); ``seeds`` are the step's dropout seeds."""
        if self.train_function is not None and not force:
            return self.train_function
        cast = self._input_caster()

        def one_step(state: Any, batch: Any, seeds: Any) -> Any:
            x, y, sw = batch
            return self._run_train_step(state, cast(x), y, sw, _step_key(*seeds), True)

        self.train_function = jax.jit(one_step, donate_argnums=(0,))
        return self.train_function

    def _test_step_call(self, tv: Any, ntv: Any, mv: Any, x: Any, y: Any, sw: Any) -> Any:
        logs, state = self.test_step((tv, ntv, mv), pack_x_y_sample_weight(x, y, sw))
        return logs, list(state[2])

    def _test_fn(self) -> Any:
        """The jitted evaluation step on one batch given as arrays (generators, ``test_on_batch``)."""
        def build() -> Any:
            cast = self._input_caster()
            return jax.jit(lambda tr, ntr, ms, x, y, sw: self._test_step_call(tr, ntr, ms, cast(x), y, sw),
                           donate_argnums=(2,))

        return self._cached_jit(("test",), build)

    def _indexed_test_fn(self, fused: bool) -> Any:
        """Evaluation on the batch at row ``start`` of device-resident data, or (``fused``) on ``count``
        consecutive batches from there in one loop whose count is an argument (one compilation for all)."""
        dist = current_distribution()

        def build() -> Any:
            cast = self._input_caster()

            def one(tr: Any, ntr: Any, ms: Any, xs: Any, ys: Any, sws: Any, start: Any, size: int) -> Any:
                cut = lambda a: jax.lax.dynamic_slice_in_dim(a, start, size)  # noqa: E731
                x, y = cast(jax.tree_util.tree_map(cut, xs)), jax.tree_util.tree_map(cut, ys)
                x, y, sw = constrain_batch((x, y, None if sws is None else cut(sws)), dist)
                return self._test_step_call(tr, ntr, ms, x, y, sw)

            def loop(tr: Any, ntr: Any, ms: Any, xs: Any, ys: Any, sws: Any, start: Any, count: Any,
                     size: int) -> Any:
                step = lambda m, row: one(tr, ntr, m, xs, ys, sws, row, size)  # noqa: E731
                return _fused_steps(step, ms, start, count, size)

            return jax.jit(loop if fused else one, static_argnames=("size",), donate_argnums=(2,))

        return self._cached_jit(("test_indexed", id(dist), fused), build)

    def _input_caster(self) -> Any:
        """Cast integer image data (e.g. uint8 MNIST) to the inputs' float dtype inside the step."""
        dtypes = [t.dtype for t in self.inputs] if getattr(self, "inputs", None) else []

        def cast(x: Any) -> Any:
            if not dtypes:
                return x
            leaves, tree = jax.tree_util.tree_flatten(x)
            out = [a.astype(d) if "float" in d and not jnp.issubdtype(a.dtype, jnp.floating) else a
                   for a, d in zip(leaves, dtypes + [dtypes[-1]] * (len(leaves) - len(dtypes)))]
            return jax.tree_util.tree_unflatten(tree, out)

        return cast

    # ------------------------------------------------------------------------------- state
    def _trainable_keys(self) -> tuple[list[str], list[str]]:
        keys = self._weight_keys()
        return [k for k, w in keys if w.trainable], [k for k, w in keys if not w.trainable]

    def _fresh_metrics_variables(self) -> list[Any]:
        """Zeroed ``metrics_variables`` (one cached jitted call, not one eager op per array)."""
        metrics = self.metrics
        key = ("metrics_init", tuple(id(m) for m in metrics), tuple(str(m._treedef()) for m in metrics))

        def build() -> Any:
            from lamina.backend import quick_jit

            return quick_jit(lambda: [leaf for m in metrics for leaf in jax.tree_util.tree_leaves(m.init_state())])

        return list(self._cached_jit(key, build)())

    def _params_for_call(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The weights for an evaluation or prediction call: as held, or laid out across processes."""
        trainable, non_trainable = self.get_params()
        dist = current_distribution()
        if _across_processes(dist):
            trainable, non_trainable = place_params(trainable, dist), place_params(non_trainable, dist)
        return trainable, non_trainable

    def _read_state(self, fresh_metrics: bool = False) -> TrainState:
        """The model's weights, optimizer and metric states as a ``TrainState`` of copies (the step donates
        its state and must not consume the arrays the model holds)."""
        dist = current_distribution()
        spread = _across_processes(dist)  # several processes: build the state here, then lay it out globally
        local = None if spread else dist
        trainable, non_trainable = self.get_params()
        trainable = place_params(_copy_tree(trainable), local)
        non_trainable = place_params(_copy_tree(non_trainable), local)
        optimizer = self.optimizer
        opt_state = optimizer.state
        if opt_state is None or not optimizer.matches(opt_state, trainable):
            opt_state = optimizer.init(trainable)
            optimizer.state = opt_state
        opt_state = place_like(_copy_tree(opt_state), trainable, local)
        leaves, treedef = jax.tree_util.tree_flatten(opt_state)
        optimizer._stateless_layout = (list(trainable), treedef)
        if fresh_metrics:
            metrics_variables = self._fresh_metrics_variables()
        else:
            metrics_variables = list(_copy_tree([m.state_leaves() for m in self.metrics]))
            metrics_variables = [leaf for group in metrics_variables for leaf in group]
        if spread:
            trainable, non_trainable = place_params(trainable, dist), place_params(non_trainable, dist)
            leaves = place_like(leaves, trainable, dist)
            metrics_variables = place_data(metrics_variables, dist)
        return TrainState(list(trainable.values()), list(non_trainable.values()), leaves, metrics_variables)

    def _write_state(self, state: TrainState) -> None:
        """Write a ``TrainState`` into the weights, the optimizer and the metrics (Keras's state sync); across
        processes the arrays are gathered first, so the model holds whole arrays on this process's device."""
        if _across_processes(current_distribution()):
            state = TrainState(*distribution_module.to_local(tuple(state)))
        tkeys, ntkeys = self._trainable_keys()
        self.set_params(dict(zip(tkeys, state.trainable_variables)), dict(zip(ntkeys, state.non_trainable_variables)))
        layout = getattr(self.optimizer, "_stateless_layout", None)
        if layout is not None:
            self.optimizer.state = jax.tree_util.tree_unflatten(layout[1], list(state.optimizer_variables))
        at = 0
        for metric in self.metrics:
            count = metric._treedef().num_leaves
            metric.state = metric._unflatten(state.metrics_variables[at:at + count])
            at += count

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
        from lamina.training.progbar import resolve_verbose

        self._require_compiled("fit()")
        if class_weight is not None and sample_weight is not None:
            raise ValueError("fit() takes class_weight or sample_weight, not both (as in Keras): multiply the class "
                             "weights into sample_weight yourself to combine them.")
        verbose = resolve_verbose(verbose)
        epochs, steps_per_epoch = _capped(epochs, steps_per_epoch)
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
        from lamina import backend

        finished = False
        seed = backend.SEEDS.next_seed()
        if _across_processes(current_distribution()):  # one seed and process 0's weights in every process
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
                for step_index, step_logs in self._run_epoch(source, (seed, epoch), class_weight, cb, resumed):
                    cb.on_train_batch_end(step_index, _pythonify(step_logs) if cb.wants_batch_logs(step_index)
                                          else None)
                    if self.stop_training:
                        break
                self._sync_live_state()
                logs = _pythonify(step_logs) if step_logs is not None else _pythonify(self.get_metrics_result())
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

    def _run_epoch(self, source: Any, seed_epoch: tuple[int, int], class_weight: Any, cb: Any, first_step: int = 0
                   ) -> Iterator[tuple[int, Any]]:
        """Run one epoch's calls from batch ``first_step``, keeping ``_live_state`` current; yields
        ``(last batch index, logs)``."""
        seeds = np.asarray(seed_epoch, dtype=np.uint32)
        state = self._live_state
        if source.is_arrays:
            order = source.epoch_order()
            pacer = pacing.choose_pacer(self._paces, self._compile_config.get("steps_per_execution", "auto"),
                                        "train", source.batch_size, cb)
            for i, start, size, steps in pacer.calls(source.batch_bounds(), first_step):
                cb.on_train_batch_begin(i)
                state = self._current_state(state)
                data_args = (source.x_dev, source.y_dev, source.sw_dev, order, start)
                if steps > 1:
                    logs, state = self._train_fn(True)(state, *data_args, np.int32(steps), seeds, size=size)
                else:
                    logs, state = self._single_train_call(pacer.fixed is not None, state, data_args, seeds, size)
                self._live_state = state
                pacer.done(logs)
                yield i + steps - 1, logs
        else:
            fn = self.make_train_function()
            wait = pacing.wait_for_each_call()
            spread = current_distribution() if _across_processes(current_distribution()) else None
            for step_index, (xb, yb, swb) in enumerate(source.batches()):
                if step_index < first_step:
                    continue  # done before the run was interrupted (BackupAndRestore)
                cb.on_train_batch_begin(step_index)
                state = self._current_state(state)
                swb = data.combine_class_weight(yb, swb, class_weight)
                if spread:  # each process's batch is its part of the global one
                    xb, yb, swb = distribution_module.global_batch((xb, yb, swb), spread)
                logs, state = fn(state, (xb, yb, swb), np.asarray((*seed_epoch, step_index), dtype=np.uint32))
                self._live_state = state
                if wait:
                    jax.block_until_ready(logs)
                yield step_index, logs

    def _prepare(self, source: Any, class_weight: Any) -> None:
        """Build a deferred model, check inputs and targets, resolve metrics — before any step runs."""
        from lamina.backend import enable_compilation_cache

        enable_compilation_cache()
        x_sample, y_sample = source.sample()
        self._ensure_built_for(data.first_array(x_sample) if not self._functional and not isinstance(
            x_sample, (list, dict)) else x_sample)
        self._require_built("fit()")
        self._flatten_inputs(x_sample)
        from lamina import shape_checks  # shape_checks explains models: it sits above training

        if self._compiled.loss_spec is not None and self._outputs_struct is not None:
            # all rows of in-memory targets (a label out of range at row 200 is caught), else the first batch
            shape_checks.check_targets(self, source.y if source.is_arrays else y_sample, self.loss)
            shape_checks.warn_for_model(self, self.loss)
        compiled = self._compiled
        if compiled.loss_spec is None and compiled.compile_metrics is None:
            compiled.resolved = True  # nothing compiled to match to the outputs (a custom step or loss)
            return self._apply_class_weight(source, class_weight)
        outputs = None
        if self._outputs_struct is None:
            trainable, non_trainable = self.get_params()
            outputs = jax.eval_shape(lambda x: self.stateless_call(trainable, non_trainable, x)[0],
                                     self._input_caster()(jax.tree_util.tree_map(jnp.asarray, x_sample)))
        compiled.resolve(self, y_sample, outputs)
        self._apply_class_weight(source, class_weight)

    @staticmethod
    def _apply_class_weight(source: Any, class_weight: Any) -> None:
        if class_weight is not None and source.is_arrays:
            source.apply_class_weight(class_weight)

    # ------------------------------------------------------------------------------- evaluate
    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: Any = "auto",
                 sample_weight: Any = None, steps: int | None = None, callbacks: Any = None,
                 return_dict: bool = False) -> Any:
        """Loss and metrics on ``(x, y)``: a scalar, a list ``[loss, *metrics]`` or a dict."""
        from lamina import callbacks as callbacks_module  # callbacks save models: above training
        from lamina.training.progbar import resolve_verbose

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
        for step_index, logs, _ in self._test_steps(source, cb_list, trainable, non_trainable):
            if cb_list is not None:
                cb_list.on_test_batch_end(step_index, _pythonify(logs) if cb_list.wants_batch_logs(step_index)
                                          else None)
        logs = dict(sorted(_pythonify(logs if logs is not None else {}).items()))
        if cb_list is not None:
            cb_list.on_test_end(logs)
        return logs

    def _test_steps(self, source: Any, cb_list: Any, trainable: Any, non_trainable: Any
                    ) -> Iterator[tuple[int, Any, Any]]:
        """Run the evaluation steps, yielding ``(last batch index, logs, metrics variables)`` after each call."""
        begin = cb_list.on_test_batch_begin if cb_list is not None else (lambda i: None)
        metrics_variables = self._fresh_metrics_variables()
        dist = current_distribution()
        spread = _across_processes(dist)
        if spread:
            metrics_variables = place_data(metrics_variables, dist)
        if source.is_arrays:
            pacer = pacing.choose_pacer(self._paces, self._compile_config.get("steps_per_execution", "auto"),
                                        "test", source.batch_size, cb_list)
            for i, start, size, steps in pacer.calls(source.batch_bounds()):
                begin(i)
                data_args = (source.x_dev, source.y_dev, source.sw_dev, start)
                if steps > 1:
                    logs, metrics_variables = self._indexed_test_fn(True)(
                        trainable, non_trainable, metrics_variables, *data_args, np.int32(steps), size=size)
                else:
                    logs, metrics_variables = self._indexed_test_fn(False)(
                        trainable, non_trainable, metrics_variables, *data_args, size=size)
                pacer.done(logs)
                yield i + steps - 1, logs, metrics_variables
        else:
            fn = self._test_fn()
            for step_index, (xb, yb, swb) in enumerate(source.batches()):
                begin(step_index)
                if spread:
                    xb, yb, swb = distribution_module.global_batch((xb, yb, swb), dist)
                logs, metrics_variables = fn(trainable, non_trainable, metrics_variables, xb, yb, swb)
                yield step_index, logs, metrics_variables

    # ---------------------------------------------------------------------------- predict
    def _predict_fn(self, steps: int) -> Any:
        """Jitted ``predict_step`` on rows ``start + i * size`` (``i < steps``) of device-resident inputs."""
        dist = current_distribution()

        def build() -> Any:
            cast = self._input_caster()

            def forward(trainable: Any, non_trainable: Any, xs: Any, start: Any, size: int) -> Any:
                x = jax.tree_util.tree_map(lambda a: jax.lax.dynamic_slice_in_dim(a, start, size), xs)
                x = constrain_batch(cast(x), dist)
                return self.predict_step((trainable, non_trainable), pack_x_y_sample_weight(x))[0]

            def many(trainable: Any, non_trainable: Any, xs: Any, start: Any, size: int) -> Any:
                if steps == 1:
                    return forward(trainable, non_trainable, xs, start, size)

                def body(carry: Any, i: Any) -> Any:
                    return carry, forward(trainable, non_trainable, xs, start + i * size, size)

                outs = jax.lax.scan(body, None, jnp.arange(steps))[1]
                return jax.tree_util.tree_map(lambda a: a.reshape((steps * size,) + a.shape[2:]), outs)

            return jax.jit(many, static_argnames=("size",))

        return self._cached_jit(("predict", id(dist), steps), build)

    def _output_bytes_per_sample(self) -> int:
        """Bytes of all outputs for one sample (0 when a size is unknown: no fusing of predict batches)."""
        total = 0
        if not self.outputs:
            return 0
        for t in self.outputs:
            if any(d is None for d in t.shape[1:]):
                return 0
            total += math.prod(t.shape[1:]) * np.dtype(t.dtype).itemsize
        return total

    def _predict_arrays(self, x: Any, batch_size: int | None, verbose: Any, steps: int | None,
                        callbacks: Any) -> Any:
        from lamina import callbacks as callbacks_module  # callbacks save models: above training
        from lamina.training.progbar import resolve_verbose

        if isinstance(x, (Iterator, Iterable)) and not data.is_array_like(x):
            batches = [data.to_arrays(data.batch_inputs(b)) for b in data.limit(x, steps)]
            if not batches:
                raise ValueError(f"predict() on model '{self.name}' received no batches.")
            outs = [self._predict_arrays(b, None, 0, None, None) for b in batches]
            return jax.tree_util.tree_map(lambda *p: np.concatenate(p, axis=0), *outs)
        from lamina.backend import enable_compilation_cache

        enable_compilation_cache()
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
        per_sample = self._output_bytes_per_sample()
        pacer = (pacing.choose_pacer(self._paces, self._compile_config.get("steps_per_execution", "auto"),
                                     "predict", batch_size, cb, per_sample * batch_size) if per_sample
                 else _Pacer(1, 1))
        with staging.borrowed() as host:
            parts = self._predict_calls(x, host, pacer, bounds, cb)
        if len(parts) == 1:
            return parts[0]
        return jax.tree_util.tree_map(lambda *p: np.concatenate(p, axis=0), *parts)

    def _predict_calls(self, x: Any, host: staging.Borrowed, pacer: _Pacer, bounds: list[tuple[int, int]],
                       cb: Any) -> list[Any]:
        """Run the forward calls over ``bounds`` and read every output back to the host."""
        cb.on_predict_begin()  # first: a callback may change the weights (SwapEMAWeights)
        trainable, non_trainable = self._params_for_call()
        trainable, non_trainable = list(trainable.values()), list(non_trainable.values())
        dist = current_distribution()
        leaves = jax.tree_util.tree_leaves(x)
        x_dev = None
        if all(isinstance(a, jax.Array) for a in leaves):
            x_dev = place_data(x, dist)
        elif all(host.can_stage(a) for a in leaves):
            x_dev = place_data(jax.tree_util.tree_map(host.put, x), dist)
        outs = []
        for i, start, size, steps in pacer.calls(bounds):
            cb.on_predict_batch_begin(i)
            if x_dev is not None:
                out = self._predict_fn(steps)(trainable, non_trainable, x_dev, start, size=size)
            else:  # host arrays: send each call's rows as it is dispatched, overlapping the copy with compute
                rows = jax.tree_util.tree_map(lambda a, s=start, k=steps * size: a[s:s + k], x)
                out = self._predict_fn(steps)(trainable, non_trainable, place_data(jax.device_put(rows), dist), 0,
                                              size=size)
            outs.append(out)
            pacer.done(out)
            last = i + steps - 1
            cb.on_predict_batch_end(last, {"outputs": out} if cb.wants_batch_logs(last) else None)
        cb.on_predict_end()
        if _across_processes(dist):
            return distribution_module.to_host(outs)
        return jax.device_get(outs)

    # ------------------------------------------------------------------------- on_batch
    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: Any = None,
                       return_dict: bool = False) -> Any:
        """One optimizer step on one batch; returns the batch's loss and metrics."""
        from lamina import backend

        self._require_compiled("train_on_batch()")
        source = data.make_source(x, y, sample_weight, None, None, False)
        self._prepare(source, None)
        xb, yb, swb = next(iter(source.batches()))
        swb = data.combine_class_weight(yb, swb, class_weight)
        state = self._read_state()
        seeds = np.asarray((backend.SEEDS.next_seed(), 0, 0), np.uint32)
        logs, state = self.make_train_function()(state, (xb, yb, swb), seeds)
        self._write_state(state)
        return self._format_logs(_pythonify(logs), return_dict)

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


def _capped(epochs: int, steps_per_epoch: int | None) -> tuple[int, int | None]:
    """``epochs`` and ``steps_per_epoch`` limited by ``config.set_max_epochs``/``set_max_steps_per_epoch``."""
    from lamina import config

    max_epochs, max_steps = config.max_epochs(), config.max_steps_per_epoch()
    if max_epochs and max_epochs < epochs:
        warnings.warn(f"Limiting epochs to {max_epochs} (lamina.config.set_max_epochs).", stacklevel=3)
        epochs = max_epochs
    if max_steps and (not steps_per_epoch or max_steps < steps_per_epoch):
        warnings.warn(f"Limiting steps_per_epoch to {max_steps} (lamina.config.set_max_steps_per_epoch).",
                      stacklevel=3)
        steps_per_epoch = max_steps
    return epochs, steps_per_epoch


def _pythonify(logs: Any) -> dict[str, float]:
    """Logs as ``{name: float}`` in one device read; nested dicts (a ``compile_metrics`` result) are merged."""
    flat: dict[str, Any] = {}

    def visit(node: Any) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                visit(value)
            else:
                flat[key] = value

    visit(logs or {})
    fetched = distribution_module.to_host(flat) if distribution_module.is_multi_process() else jax.device_get(flat)
    out = {}
    for key, value in fetched.items():
        array = np.asarray(value)
        out[key] = float(array) if array.ndim == 0 else array
    return out


def _across_processes(dist: Any) -> bool:
    """Whether ``dist`` spans several processes (then arrays are built as global ones)."""
    return dist is not None and distribution_module.is_multi_process()


def _fused_steps(step_at: Any, carry: Any, start: Any, count: Any, size: int) -> Any:
    """``(logs, carry)`` after ``count`` calls of ``step_at(carry, row) -> (logs, carry)`` in one loop
    (``pacing.fused_loop``); the logs are the last step's."""
    shapes = jax.eval_shape(lambda c: step_at(c, start)[0], carry)
    logs = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
    return pacing.fused_loop(lambda lc, row: step_at(lc[1], row), (logs, carry), start, count, size)


def _copy_tree(tree: Any) -> Any:
    """A copy of the arrays in ``tree`` in one transfer; dicts keep their key order (the model's weight order)."""
    leaves: list[Any] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)
        else:
            leaves.extend(a for a in jax.tree_util.tree_leaves(node) if hasattr(a, "shape"))

    collect(tree)
    copies = iter(jax.device_put(leaves, may_alias=False)) if leaves else iter(())

    def rebuild(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: rebuild(v) for k, v in node.items()}
        if isinstance(node, list):
            return [rebuild(v) for v in node]
        return jax.tree_util.tree_map(lambda a: next(copies) if hasattr(a, "shape") else a, node)

    return rebuild(tree)


def _step_key(seed: Any, epoch: Any, step: Any) -> Any:
    """The dropout/noise key of one training step, derived inside the jitted step (no eager key ops)."""
    return jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(seed), epoch), step)
