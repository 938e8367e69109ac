"""compile / fit / evaluate / predict for lamina models (mixed into ``Model``).

The training step is one pure function of ``(trainable, non_trainable, optimizer state, metric state)``,
jitted once per model and batch shape with its state buffers donated. The dataset is put on the device
once per ``fit``; each step gathers its batch on the device from an epoch permutation, so the host only
sends a step index. With ``steps_per_execution="auto"`` (the default) one compiled call runs a loop of
up to 256 steps, as many as take about a second (measured while training), which removes the per-step
dispatch cost that dominates small models; the loop takes its step count as an argument, so calls of any
length share one compilation. ``evaluate`` fuses batches the same way, ``predict`` in a ``lax.scan``.
Metrics accumulate on the device and are read back only when the progress bar redraws or an epoch ends.
JAX's persistent compilation cache (``~/.cache/lamina/jax``) lets a second run skip compiling.

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
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina.backend import short_lived_compile_options
from lamina.distribution import constrain_batch, place_data, place_like, place_params
from lamina.distribution import distribution as current_distribution
from lamina.training import data, input_checks, staging
from lamina.training.compiled import CompiledLossesAndMetrics


class Trainer:
    """compile / fit / evaluate / predict on top of ``Model._pure_apply``."""

    def __init__(self) -> None:
        self.compiled = False
        self.optimizer: Any = None
        self.loss: Any = None
        self.stop_training = False
        self.history: Any = None
        self._compiled: CompiledLossesAndMetrics | None = None
        self._jit_cache: dict[Any, Any] = {}
        self._paces: dict[tuple[str, int], _Pacer] = {}  # measured "auto" paces by (mode, batch size)
        self._compile_config: dict[str, Any] = {}

    # ------------------------------------------------------------------------------ compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None, metrics: Any = None,
                weighted_metrics: Any = None, run_eagerly: bool = False, steps_per_execution: int | str = "auto",
                jit_compile: Any = "auto", auto_scale_loss: bool = True) -> None:
        """Configure training with Keras's arguments: an optimizer, a loss and metrics (names or objects)."""
        from lamina import optimizers

        if steps_per_execution != "auto" and not (isinstance(steps_per_execution, (int, np.integer))
                                                  and steps_per_execution >= 1):
            raise ValueError(f"compile(steps_per_execution=...) takes a positive integer or 'auto' (fuse steps as "
                             f"measured); received {steps_per_execution!r}.")
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self._compiled = CompiledLossesAndMetrics(loss, loss_weights, metrics, weighted_metrics)
        self._compile_config = {"optimizer": optimizer, "loss": loss, "loss_weights": loss_weights,
                                "metrics": metrics, "weighted_metrics": weighted_metrics,
                                "run_eagerly": run_eagerly, "steps_per_execution": steps_per_execution,
                                "jit_compile": jit_compile}
        self.compiled = True
        self._paces = {key: pace for key, pace in self._paces.items() if key[0] == "predict"}
        self._jit_cache = {key: fn for key, fn in self._jit_cache.items() if key[0] == "predict"}

    @property
    def metrics_names(self) -> list[str]:
        return self._compiled.names() if self._compiled and self._compiled.resolved else ["loss"]

    def _require_compiled(self, what: str) -> CompiledLossesAndMetrics:
        if not self.compiled or self._compiled is None or self._compiled.loss_spec is None:
            raise RuntimeError(f"You must compile model '{self.name}' with a loss before calling {what}, e.g. "
                               "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', "
                               "metrics=['accuracy']).")
        return self._compiled

    # --------------------------------------------------------------------------- step functions
    def _loss_fn(self, trainable: Any, non_trainable: Any, x: Any, y: Any, sw: Any, rng: Any) -> Any:
        y_pred, updates, aux = self._pure_apply(trainable, non_trainable, x, True, rng)
        total = self._compiled.total_loss(y, y_pred, sw) + aux + self._weight_penalty(trainable)
        return total, (y_pred, updates)

    def _weight_penalty(self, trainable: dict[str, Any]) -> Any:
        penalty = jnp.zeros(())
        for key, w in self._weight_keys():
            if w.regularizer is not None and key in trainable:
                penalty = penalty + w.regularizer(trainable[key])
        return penalty

    def _make_train_step(self, split: bool = True) -> Any:
        """The pure train step; ``split`` lets it run large batches as chunks (``micro_batch_rows``)."""
        compiled = self._require_compiled("fit()")
        optimizer = self.optimizer
        grad_fn = jax.value_and_grad(self._loss_fn, has_aux=True)
        constraints = {key: w.constraint for key, w in self._weight_keys() if w.constraint is not None}
        micro_ok = split and self._micro_batching_allowed()

        def step(state: Any, x: Any, y: Any, sw: Any, rng: Any) -> Any:
            trainable, non_trainable, opt_state, metric_state = state
            rows = micro_batch_rows(jax.tree_util.tree_leaves(x)[0].shape[0]) if micro_ok else None
            if rows is None:
                (loss, (y_pred, updates)), grads = grad_fn(trainable, non_trainable, x, y, sw, rng)
            else:
                (loss, (y_pred, updates)), grads = _micro_batched(grad_fn, rows, trainable, non_trainable, x, y, sw,
                                                                  rng)
            trainable, opt_state = optimizer.apply(grads, opt_state, trainable)
            for key, constraint in constraints.items():
                if key in trainable:
                    trainable[key] = constraint(trainable[key])
            non_trainable = {**non_trainable, **updates}
            metric_state = compiled.update_metrics(metric_state, loss, y, y_pred, sw)
            return trainable, non_trainable, opt_state, metric_state

        return step

    def _micro_batching_allowed(self) -> bool:
        """Whether a train step may split its batch into chunks (``micro_batch_rows``) without changing results.

        The gradient of the batch's mean loss is then the mean of the chunks' gradients: true when every loss
        averages over the samples (``sum_over_batch_size``, no class mask that renormalises by the batch), no
        layer reads batch statistics or adds losses (no non-trainable weights such as BatchNormalization's,
        no activity regularizers, only lamina's own layers in a Sequential or functional model), and the batch
        is not sharded over devices. Only models with convolutions gain, on the CPU backend.
        """
        from lamina import losses as losses_module
        from lamina.layers.convolution import BaseConv
        from lamina.layers.regularization import ActivityRegularization

        if jax.default_backend() != "cpu" or current_distribution() is not None:
            return False
        if not (self._functional or type(self).__module__.startswith("lamina.")) or self.non_trainable_weights:
            return False
        layers = list(_walk_layers(self))
        if not any(isinstance(layer, BaseConv) for layer in layers):
            return False
        for layer in layers:
            own = type(layer).__module__.startswith("lamina.")
            if not own or isinstance(layer, ActivityRegularization) or layer.activity_regularizer is not None:
                return False
        for loss in self._compiled.losses:
            if not isinstance(loss, losses_module.Loss) or loss.reduction not in ("sum_over_batch_size", "mean"):
                return False
            if getattr(loss, "ignore_class", None) is not None or (
                    getattr(loss, "_fn_kwargs", {}).get("ignore_class") is not None):
                return False
        return True

    def _make_test_step(self) -> Any:
        compiled = self._require_compiled("evaluate()")

        def step(trainable: Any, non_trainable: Any, metric_state: Any, x: Any, y: Any, sw: Any) -> Any:
            y_pred, _, aux = self._pure_apply(trainable, non_trainable, x, False, None)
            loss = compiled.total_loss(y, y_pred, sw) + aux + self._weight_penalty(trainable)
            return compiled.update_metrics(metric_state, loss, y, y_pred, sw)

        return step

    def _indexed_step(self, dist: Any, split: bool) -> Any:
        """One step on the batch ``order[start:start+size]`` of device-resident data (not jitted)."""
        step = self._make_train_step(split)
        cast = self._input_caster()

        def indexed(state: Any, xs: Any, ys: Any, sws: Any, order: Any, start: Any, seeds: Any, size: int) -> Any:
            idx = jax.lax.dynamic_slice_in_dim(order, start, size)
            take = lambda a: a.at[idx].get(mode="promise_in_bounds")  # noqa: E731
            x, y = cast(jax.tree_util.tree_map(take, xs)), jax.tree_util.tree_map(take, ys)
            sw = None if sws is None else take(sws)
            x, y, sw = constrain_batch((x, y, sw), dist)
            return step(state, x, y, sw, _step_key(seeds[0], seeds[1], start))

        return indexed

    def _train_fn(self, fused: bool = False, split: bool = True) -> Any:
        """The jitted step, or (``fused``) a loop of consecutive steps whose count is an argument.

        The fused function takes ``count`` as a traced argument, so one compilation serves calls of any
        length: the measured calls of the first epoch, later epochs and a shorter last call alike.
        ``split=False`` keeps every batch whole and compiles with ``backend.short_lived_compile_options``:
        ``"auto"`` pacing runs its few single steps so (the first call's compilation is then the shortest),
        and only its fused calls split batches into chunks.
        """
        dist = current_distribution()

        def build() -> Any:
            indexed = self._indexed_step(dist, split)

            def loop(state: Any, xs: Any, ys: Any, sws: Any, order: Any, start: Any, count: Any, seeds: Any,
                     size: int) -> Any:
                return _fused_loop(lambda carry, row: indexed(carry, xs, ys, sws, order, row, seeds, size), state,
                                   start, count, size)

            # auto pacing's few whole-batch single steps: compiled for a short first compilation
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

    def _train_batch_fn(self) -> Any:
        """The jitted step for batches that come from Python (generators, ``train_on_batch``)."""
        def build() -> Any:
            step, cast = self._make_train_step(), self._input_caster()
            return jax.jit(lambda state, x, y, sw, seeds: step(state, cast(x), y, sw, _step_key(*seeds)),
                           donate_argnums=(0,))

        return self._cached_jit(("train_batch",), build)

    def _test_fn(self) -> Any:
        """The jitted evaluation step on one batch given as arrays (generators, ``test_on_batch``)."""
        def build() -> Any:
            step, cast = self._make_test_step(), self._input_caster()
            return jax.jit(lambda tr, ntr, ms, x, y, sw: step(tr, ntr, ms, cast(x), y, sw), donate_argnums=(2,))

        return self._cached_jit(("test",), build)

    def _indexed_test_fn(self, fused: bool) -> Any:
        """Evaluation on the batch at row ``start`` of device-resident data, or (``fused``) on ``count``
        consecutive batches from there in one loop whose count is an argument (one compilation for all)."""
        dist = current_distribution()

        def build() -> Any:
            step = self._make_test_step()
            cast = self._input_caster()

            def one(tr: Any, ntr: Any, ms: Any, xs: Any, ys: Any, sws: Any, start: Any, size: int) -> Any:
                cut = lambda a: jax.lax.dynamic_slice_in_dim(a, start, size)  # noqa: E731
                x, y = cast(jax.tree_util.tree_map(cut, xs)), jax.tree_util.tree_map(cut, ys)
                x, y, sw = constrain_batch((x, y, None if sws is None else cut(sws)), dist)
                return step(tr, ntr, ms, x, y, sw)

            def loop(tr: Any, ntr: Any, ms: Any, xs: Any, ys: Any, sws: Any, start: Any, count: Any,
                     size: int) -> Any:
                return _fused_loop(lambda carry, row: one(tr, ntr, carry, xs, ys, sws, row, size), ms, start, count,
                                   size)

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

    # ------------------------------------------------------------------------------------ fit
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: Any = "auto", callbacks: Any = None, validation_split: float = 0.0, validation_data: Any = None,
            shuffle: Any = True, class_weight: dict[int, float] | None = None, sample_weight: Any = None,
            initial_epoch: int = 0, steps_per_epoch: int | None = None, validation_steps: int | None = None,
            validation_batch_size: int | None = None, validation_freq: int = 1) -> Any:
        """Train for ``epochs`` epochs; returns a ``History`` whose ``history`` dict has Keras's keys."""
        from lamina import callbacks as callbacks_module
        from lamina.training.progbar import resolve_verbose

        self._require_compiled("fit()")
        if class_weight is not None and sample_weight is not None:
            raise ValueError("fit() takes class_weight or sample_weight, not both (as in Keras): multiply the class "
                             "weights into sample_weight yourself to combine them.")
        verbose = resolve_verbose(verbose)
        epochs, steps_per_epoch = _capped(epochs, steps_per_epoch)
        source = data.make_source(x, y, sample_weight, batch_size, steps_per_epoch, shuffle)
        if source.is_arrays:
            input_checks.check_fit_arrays(self, source.x, source.y, source.sw)
        if source.is_arrays and validation_split and validation_data is None:
            source, validation_data = source.split(validation_split)
        self._prepare(source, class_weight)
        val_source = None
        if validation_data is not None:
            val_source = data.validation_source(validation_data, validation_batch_size or source.batch_size,
                                                validation_steps)
        steps = source.steps_per_epoch
        history = callbacks_module.History()
        cb = callbacks_module.CallbackList(callbacks, add_history=False, add_progbar=verbose != 0, model=self,
                                           verbose=verbose, epochs=epochs, steps=steps)
        cb.append(history)
        self.stop_training = False
        with staging.borrowed() as host:
            for src in (source, val_source):
                if src is not None and src.is_arrays:
                    src.host = host
            self._fit_epochs(source, val_source, cb, initial_epoch, epochs, class_weight, validation_freq)
        self.history = history
        return history

    def _fit_epochs(self, source: Any, val_source: Any, cb: Any, initial_epoch: int, epochs: int,
                    class_weight: Any, validation_freq: int) -> None:
        from lamina import backend

        compiled = self._compiled
        state = self._initial_state(compiled)
        seed = backend.SEEDS.next_seed()
        cb.on_train_begin()
        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, epochs):
            cb.on_epoch_begin(epoch)
            state = self._with_fresh_metrics(state, compiled)
            for step_index, new_state in self._run_epoch(source, state, (seed, epoch), class_weight, cb):
                state = new_state
                if cb.wants_batch_logs(step_index):
                    cb.on_train_batch_end(step_index, compiled.results(state[3]))
                else:
                    cb.on_train_batch_end(step_index, None)
                if self.stop_training:
                    break
            logs = compiled.results(state[3])
            self._sync_state(state)
            if val_source is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_source(val_source, cb_list=None)
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            logs = dict(sorted(logs.items()))
            cb.on_epoch_end(epoch, logs)
            state = self._state_from_model(state)
            if self.stop_training:
                break
        self._sync_state(state)
        cb.on_train_end(logs)

    def _run_epoch(self, source: Any, state: Any, seed_epoch: tuple[int, int], class_weight: Any, cb: Any
                   ) -> Iterator[tuple[int, Any]]:
        seeds = np.asarray(seed_epoch, dtype=np.uint32)
        if source.is_arrays:
            order = source.epoch_order()
            pacer = self._pacer("train", source.batch_size, cb)
            for i, start, size, steps in pacer.calls(source.batch_bounds()):
                cb.on_train_batch_begin(i)
                data_args = (source.x_dev, source.y_dev, source.sw_dev, order, start)
                if steps > 1:
                    state = self._train_fn(True)(state, *data_args, np.int32(steps), seeds, size=size)
                else:
                    state = self._single_train_call(pacer.fixed is not None, state, data_args, seeds, size)
                pacer.done(state[3])
                yield i + steps - 1, state
        else:
            fn = self._train_batch_fn()
            wait = _wait_for_each_call()
            for step_index, (xb, yb, swb) in enumerate(source.batches()):
                cb.on_train_batch_begin(step_index)
                swb = data.combine_class_weight(yb, swb, class_weight)
                state = fn(state, xb, yb, swb, np.asarray((*seed_epoch, step_index), dtype=np.uint32))
                if wait:
                    jax.block_until_ready(state[3])
                yield step_index, state

    def _pacer(self, mode: str, batch_size: int, cb: Any, bytes_per_step: int = 0) -> _Pacer:
        """How many steps each compiled call of ``mode`` fuses (``compile(steps_per_execution=...)``).

        ``"auto"`` (the default) times a few single steps, then fuses as many (at most 256) as take about a
        second per call, so that small models are not dominated by per-call dispatch and larger ones reuse
        their buffers; the progress bar and epoch callbacks stay live. When a callback has batch
        hooks, every call is one step, as in Keras. An integer fixes the group size, as in Keras.
        """
        cap = 256 if not bytes_per_step else max(1, min(256, (64 << 20) // bytes_per_step))  # ~64 MiB of outputs
        value = self._compile_config.get("steps_per_execution", "auto")
        paces = self._paces
        dynamic = mode in ("train", "test")  # predict stacks outputs: one compilation per call length
        if value != "auto":
            pacer = _Pacer(int(value), cap, dynamic)
        elif cb is not None and cb.needs_every_batch(mode):
            pacer = _Pacer(1, 1)
        else:
            pacer = paces.get((mode, batch_size))
            if pacer is None:
                pacer = paces[(mode, batch_size)] = _Pacer(None, cap, dynamic)
        pacer.sync = _wait_for_each_call()
        return pacer

    def _prepare(self, source: Any, class_weight: Any) -> None:
        """Build a deferred model, check inputs and targets, resolve metrics — before any step runs."""
        from lamina.backend import enable_compilation_cache

        enable_compilation_cache()
        x_sample, y_sample = source.sample()
        self._ensure_built_for(data.first_array(x_sample))
        self._require_built("fit()")
        self._flatten_inputs(x_sample)
        try:
            from lamina import shape_checks
        except ImportError:  # pragma: no cover - optional during development
            shape_checks = None
        if shape_checks is not None:
            shape_checks.check_targets(self, y_sample, self.loss)
            shape_checks.warn_for_model(self, self.loss)
        self._compiled.resolve(self, y_sample)
        if class_weight is not None and source.is_arrays:
            source.apply_class_weight(class_weight)

    def _initial_state(self, compiled: CompiledLossesAndMetrics) -> Any:
        dist = current_distribution()
        trainable, non_trainable = self.get_params()
        # Copies, because the step donates its state and must not consume the arrays the weights hold.
        trainable = place_params(_copy_tree(trainable), dist)
        non_trainable = place_params(_copy_tree(non_trainable), dist)
        opt_state = self.optimizer.state
        if opt_state is None or not self.optimizer.matches(opt_state, trainable):
            opt_state = self.optimizer.init(trainable)
        opt_state = place_like(_copy_tree(opt_state), trainable, dist)
        return trainable, non_trainable, opt_state, compiled.init_metrics()

    def _with_fresh_metrics(self, state: Any, compiled: CompiledLossesAndMetrics) -> Any:
        return state[0], state[1], state[2], compiled.init_metrics()

    def _sync_state(self, state: Any) -> None:
        """Write the training state back into the weights and the optimizer (Keras's state sync)."""
        trainable, non_trainable, opt_state, _ = state
        self.set_params(trainable, non_trainable)
        self.optimizer.state = opt_state

    def _state_from_model(self, state: Any) -> Any:
        """Re-read weights/optimizer after callbacks that may have changed them (restore, set lr)."""
        dist = current_distribution()
        trainable, non_trainable = self.get_params()
        opt_state = place_like(_copy_tree(self.optimizer.state), trainable, dist)
        return (place_params(_copy_tree(trainable), dist), place_params(_copy_tree(non_trainable), dist), opt_state,
                state[3])

    # ------------------------------------------------------------------------------- evaluate
    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: Any = "auto",
                 sample_weight: Any = None, steps: int | None = None, callbacks: Any = None,
                 return_dict: bool = False) -> Any:
        """Loss and metrics on ``(x, y)``: a scalar, a list ``[loss, *metrics]`` or a dict."""
        from lamina import callbacks as callbacks_module
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
        if return_dict:
            return logs
        values = [logs[name] for name in self._compiled.names() if name in logs]
        return values[0] if len(values) == 1 else values

    def _evaluate_source(self, source: Any, cb_list: Any) -> dict[str, float]:
        compiled = self._compiled
        trainable, non_trainable = self.get_params()
        initial = compiled.init_metrics()
        metric_state = initial
        if cb_list is not None:
            cb_list.on_test_begin()
        for step_index, metric_state in self._test_steps(source, cb_list, trainable, non_trainable, initial):
            if cb_list is not None:
                cb_list.on_test_batch_end(step_index, compiled.results(metric_state)
                                          if cb_list.wants_batch_logs(step_index) else None)
        logs = dict(sorted(compiled.results(metric_state).items()))
        if cb_list is not None:
            cb_list.on_test_end(logs)
        return logs

    def _test_steps(self, source: Any, cb_list: Any, trainable: Any, non_trainable: Any, metric_state: Any
                    ) -> Iterator[tuple[int, Any]]:
        """Run the evaluation steps, yielding ``(last batch index, metric state)`` after each call."""
        begin = cb_list.on_test_batch_begin if cb_list is not None else (lambda i: None)
        if source.is_arrays:
            pacer = self._pacer("test", source.batch_size, cb_list)
            for i, start, size, steps in pacer.calls(source.batch_bounds()):
                begin(i)
                data_args = (source.x_dev, source.y_dev, source.sw_dev, start)
                if steps > 1:
                    metric_state = self._indexed_test_fn(True)(trainable, non_trainable, metric_state, *data_args,
                                                               np.int32(steps), size=size)
                else:
                    metric_state = self._indexed_test_fn(False)(trainable, non_trainable, metric_state, *data_args,
                                                                size=size)
                pacer.done(metric_state)
                yield i + steps - 1, metric_state
        else:
            fn = self._test_fn()
            for step_index, (xb, yb, swb) in enumerate(source.batches()):
                begin(step_index)
                metric_state = fn(trainable, non_trainable, metric_state, xb, yb, swb)
                yield step_index, metric_state

    # ---------------------------------------------------------------------------- predict
    def _predict_fn(self, steps: int) -> Any:
        """Jitted forward pass on rows ``start + i * size`` (``i < steps``) of device-resident inputs."""
        dist = current_distribution()

        def build() -> Any:
            cast = self._input_caster()

            def forward(trainable: Any, non_trainable: Any, xs: Any, start: Any, size: int) -> Any:
                x = jax.tree_util.tree_map(lambda a: jax.lax.dynamic_slice_in_dim(a, start, size), xs)
                x = constrain_batch(cast(x), dist)
                return self._pure_apply(trainable, non_trainable, x, False, None)[0]

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
        for t in self.outputs:
            if any(d is None for d in t.shape[1:]):
                return 0
            total += math.prod(t.shape[1:]) * np.dtype(t.dtype).itemsize
        return total

    def _predict_arrays(self, x: Any, batch_size: int | None, verbose: Any, steps: int | None,
                        callbacks: Any) -> Any:
        from lamina import callbacks as callbacks_module
        from lamina.training.progbar import resolve_verbose

        if isinstance(x, (Iterator, Iterable)) and not data.is_array_like(x):
            batches = [data.to_arrays(b[0] if isinstance(b, tuple) else b) for b in data.limit(x, steps)]
            if not batches:
                raise ValueError(f"predict() on model '{self.name}' received no batches.")
            outs = [self._predict_arrays(b, None, 0, None, None) for b in batches]
            return jax.tree_util.tree_map(lambda *p: np.concatenate(p, axis=0), *outs)
        from lamina.backend import enable_compilation_cache

        enable_compilation_cache()
        x = data.to_arrays(x)
        self._ensure_built_for(data.first_array(x))
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
        pacer = (self._pacer("predict", batch_size, cb, per_sample * batch_size) if per_sample
                 else _Pacer(1, 1))
        with staging.borrowed() as host:
            parts = self._predict_calls(x, host, pacer, bounds, cb)
        if len(parts) == 1:
            return parts[0]
        return jax.tree_util.tree_map(lambda *p: np.concatenate(p, axis=0), *parts)

    def _predict_calls(self, x: Any, host: staging.Borrowed, pacer: _Pacer, bounds: list[tuple[int, int]],
                       cb: Any) -> list[Any]:
        """Run the forward calls over ``bounds`` and read every output back to the host."""
        trainable, non_trainable = self.get_params()
        dist = current_distribution()
        leaves = jax.tree_util.tree_leaves(x)
        x_dev = None
        if all(isinstance(a, jax.Array) for a in leaves):
            x_dev = place_data(x, dist)
        elif all(host.can_stage(a) for a in leaves):
            x_dev = place_data(jax.tree_util.tree_map(host.put, x), dist)
        outs = []
        cb.on_predict_begin()
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
        return jax.device_get(outs)

    # ------------------------------------------------------------------------- on_batch
    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: Any = None,
                       return_dict: bool = False) -> Any:
        """One optimizer step on one batch; returns the batch's loss and metrics."""
        compiled = self._require_compiled("train_on_batch()")
        source = data.make_source(x, y, sample_weight, None, None, False)
        self._prepare(source, None)
        xb, yb, swb = next(iter(source.batches()))
        swb = data.combine_class_weight(yb, swb, class_weight)
        from lamina import backend

        state = self._initial_state(compiled)
        state = self._train_batch_fn()(state, xb, yb, swb, np.asarray((backend.SEEDS.next_seed(), 0, 0), np.uint32))
        self._sync_state(state)
        return self._format_logs(compiled.results(state[3]), return_dict)

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
        values = [logs[name] for name in self._compiled.names() if name in logs]
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


def _copy_tree(tree: Any) -> Any:
    """A copy of the arrays in ``tree`` in one transfer; dicts keep their key order (the model's weight order)."""
    leaves: list[Any] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                collect(value)
        else:
            leaves.extend(a for a in jax.tree_util.tree_leaves(node) if hasattr(a, "shape"))

    collect(tree)
    copies = iter(jax.device_put(leaves, may_alias=False)) if leaves else iter(())

    def rebuild(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: rebuild(v) for k, v in node.items()}
        return jax.tree_util.tree_map(lambda a: next(copies) if hasattr(a, "shape") else a, node)

    return rebuild(tree)


#: Rows per chunk when a CPU train step splits its batch (``micro_batch_rows``).
MICRO_BATCH_ROWS = 16


def micro_batch_rows(batch: int) -> int | None:
    """Rows per chunk for a batch of ``batch`` rows, or ``None`` to keep the batch whole.

    On XLA's CPU backend a convolution step's working set (im2col patches, activations and their gradients)
    outgrows the cache as the batch grows. One epoch of the DESIGN.md CNN on 10,000 images (in-process
    medians of 5, 2-core CPU): batch 128 whole 3.76 s, as chunks of 32 2.64-2.96 s, of 16 2.82 s; batch 32
    whole 3.38 s, as chunks of 16 3.11 s. So batches that are a multiple of 16, from 32 rows, run as chunks
    of 16 whose gradients are averaged; the optimizer still makes one update per batch.

    >>> micro_batch_rows(128), micro_batch_rows(32), micro_batch_rows(16), micro_batch_rows(100)
    (16, 16, None, None)
    """
    if batch >= 2 * MICRO_BATCH_ROWS and batch % MICRO_BATCH_ROWS == 0:
        return MICRO_BATCH_ROWS
    return None


def _micro_batched(grad_fn: Any, rows: int, trainable: Any, non_trainable: Any, x: Any, y: Any, sw: Any,
                   rng: Any) -> Any:
    """``grad_fn``'s ``((loss, (y_pred, updates)), grads)`` for the batch, computed chunk by chunk.

    The loss and gradients are the means over equal chunks (the batch mean, as the whole batch gives, up to
    rounding); ``y_pred`` is the chunks' outputs in order. Each chunk draws its own dropout key.
    """
    batch = jax.tree_util.tree_leaves(x)[0].shape[0]
    count = batch // rows
    chunks = jax.tree_util.tree_map(lambda a: a.reshape((count, rows) + a.shape[1:]), (x, y, sw))

    def body(carry: Any, item: Any) -> Any:
        index, (xc, yc, swc) = item
        (loss, (y_pred, _)), grads = grad_fn(trainable, non_trainable, xc, yc, swc, jax.random.fold_in(rng, index))
        total, summed = carry
        return (total + loss, jax.tree_util.tree_map(jnp.add, summed, grads)), y_pred

    start = (jnp.zeros((), jnp.float32), jax.tree_util.tree_map(jnp.zeros_like, trainable))
    (total, summed), preds = jax.lax.scan(body, start, (jnp.arange(count), chunks))
    y_pred = jax.tree_util.tree_map(lambda a: a.reshape((batch,) + a.shape[2:]), preds)
    grads = jax.tree_util.tree_map(lambda g: g / count, summed)
    return (total / count, (y_pred, {})), grads


def _walk_layers(model: Any) -> Iterator[Any]:
    """Every layer inside ``model``: nested models and wrapped layers (TimeDistributed, Bidirectional) too."""
    for layer in getattr(model, "layers", []):
        yield layer
        if hasattr(layer, "layers"):
            yield from _walk_layers(layer)
        for attr in ("layer", "forward_layer", "backward_layer"):
            inner = getattr(layer, attr, None)
            if inner is not None and inner is not layer:
                yield inner
                if hasattr(inner, "layers"):
                    yield from _walk_layers(inner)


def _fused_loop(step_at: Any, carry: Any, start: Any, count: Any, size: int) -> Any:
    """``carry = step_at(carry, row)`` for the ``count`` batches at rows ``start, start + size, ...``, in one
    ``fori_loop`` whose count is traced: one compilation serves every call length."""
    return jax.lax.fori_loop(0, count, lambda i, c: step_at(c, start + i * size), carry)


def _step_key(seed: Any, epoch: Any, step: Any) -> Any:
    """The dropout/noise key of one training step, derived inside the jitted step (no eager key ops)."""
    return jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(seed), epoch), step)


def _wait_for_each_call() -> bool:
    """True under a distribution over several CPU devices: with many calls queued there, XLA's CPU all-reduce
    was seen to miss its rendezvous and abort the process (2 forced devices on 2 cores)."""
    dist = current_distribution()
    return dist is not None and dist.device_mesh.devices.size > 1 and jax.default_backend() == "cpu"


class _Pacer:
    """The number of steps each compiled call fuses, and the calls an epoch makes.

    Fixed (``fixed`` given, Keras's integer ``steps_per_execution``): every call fuses ``fixed`` full
    batches. ``"auto"``: the first calls run one step each; the first is not timed (it compiles), the next
    ``MEASURED`` are timed to completion and their median sets ``target``, the number of steps that takes
    about ``TARGET_S`` (at most ``cap``); nothing is timed any more.

    ``dynamic`` (fit and evaluate: one compiled loop serves any number of steps): an epoch of ``full`` full
    batches is cut into ``ceil(full / target)`` calls of equal length, the last one shorter when they do not
    divide evenly, and the rest of the first epoch runs so as soon as ``target`` is known. Otherwise
    (predict compiles one function per length) calls of at most 1.5 x ``target`` steps, as many as leave the
    fewest single steps over, and the full batches left over run one per call. The last partial batch always
    runs alone.
    """

    TARGET_S = 1.0
    MEASURED = 3

    def __init__(self, fixed: int | None, cap: int, dynamic: bool = False) -> None:
        self.fixed = fixed
        self.dynamic = dynamic
        self.cap = max(1, cap)
        self.target: int | None = fixed
        self.sync = False  # wait for every call (set for several CPU devices)
        self._times: list[float] = []
        self._skipped_first = False
        self._started: float | None = None

    @property
    def measuring(self) -> bool:
        return self.target is None

    def steps_per_call(self, full: int) -> int:
        """Steps fused per call for an epoch of ``full`` full batches (1 while measuring)."""
        if self.fixed is not None:
            return self.fixed
        if self.target is None or full <= 1:
            return 1
        if self.dynamic:
            calls = -(-full // max(1, min(self.cap, self.target)))
            return -(-full // calls)
        # Between ceil(full / target) calls and as few as calls of up to 1.5 x target steps allow, the
        # count that leaves the fewest single steps over (single steps run unfused: the slowest kind).
        longest = max(1, min(self.cap, (3 * self.target) // 2))
        fewest, most = -(-full // longest), -(-full // self.target)
        calls = min(range(fewest, max(fewest, most) + 1), key=lambda c: (full % c, c))
        return max(1, full // calls)

    def calls(self, bounds: list[tuple[int, int]]) -> Iterator[tuple[int, int, int, int]]:
        """``(first batch index, start row, batch size, steps)`` for each call over batches ``(start, size)``."""
        import time

        full = sum(1 for _, size in bounds if size == bounds[0][1]) if bounds else 0
        i = 0
        while i < len(bounds):
            start, size = bounds[i]
            steps = self.steps_per_call(full)
            if steps > 1 and i + steps > full:
                steps = max(1, full - i) if self.dynamic else 1
            self._started = time.perf_counter() if self.measuring and i < full else None
            yield i, start, size, steps
            i += steps

    def done(self, result: Any) -> None:
        """Called with each call's output; while measuring, waits for it and records the step time."""
        if self._started is None:
            if self.sync:
                jax.block_until_ready(result)
            return
        import time

        jax.block_until_ready(result)
        elapsed = time.perf_counter() - self._started
        if not self._skipped_first:
            self._skipped_first = True  # the first call compiles
            return
        self._times.append(elapsed)
        if len(self._times) >= self.MEASURED:
            step_s = max(float(np.median(self._times)), 1e-6)
            self.target = max(1, min(self.cap, int(self.TARGET_S / step_s)))
