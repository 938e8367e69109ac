"""compile / fit / evaluate / predict for lamina models (mixed into ``Model``).

The training step is one pure function of ``(trainable, non_trainable, optimizer state, metric state)``,
jitted once per model and batch shape with its state buffers donated. The dataset is put on the device
once per ``fit``; each step gathers its batch on the device from an epoch permutation, so the host only
sends a step index. Metrics accumulate on the device and are read back only when the progress bar
redraws or an epoch ends.

>>> import numpy as np
>>> from lamina import layers, Sequential
>>> model = Sequential([layers.Dense(1, input_shape=(3,))])
>>> model.compile(optimizer="sgd", loss="mse")
>>> history = model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=2, verbose=0)
>>> sorted(history.history)
['loss']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina.distribution import constrain_batch, place_data, place_like, place_params
from lamina.distribution import distribution as current_distribution
from lamina.training import data
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
        self._compile_config: dict[str, Any] = {}

    # ------------------------------------------------------------------------------ compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None, metrics: Any = None,
                weighted_metrics: Any = None, run_eagerly: bool = False, steps_per_execution: int = 1,
                jit_compile: Any = "auto", auto_scale_loss: bool = True) -> None:
        """Configure training with Keras's arguments: an optimizer, a loss and metrics (names or objects)."""
        from lamina import optimizers

        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self._compiled = CompiledLossesAndMetrics(loss, loss_weights, metrics, weighted_metrics)
        self._compile_config = {"optimizer": optimizer, "loss": loss, "loss_weights": loss_weights,
                                "metrics": metrics, "weighted_metrics": weighted_metrics,
                                "run_eagerly": run_eagerly, "steps_per_execution": steps_per_execution,
                                "jit_compile": jit_compile}
        self.compiled = True
        self._jit_cache = {key: fn for key, fn in self._jit_cache.items() if key == "predict"}

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

    def _make_train_step(self) -> Any:
        compiled = self._require_compiled("fit()")
        optimizer = self.optimizer
        grad_fn = jax.value_and_grad(self._loss_fn, has_aux=True)
        constraints = {key: w.constraint for key, w in self._weight_keys() if w.constraint is not None}

        def step(state: Any, x: Any, y: Any, sw: Any, rng: Any) -> Any:
            trainable, non_trainable, opt_state, metric_state = state
            (loss, (y_pred, updates)), grads = grad_fn(trainable, non_trainable, x, y, sw, rng)
            trainable, opt_state = optimizer.apply(grads, opt_state, trainable)
            for key, constraint in constraints.items():
                if key in trainable:
                    trainable[key] = constraint(trainable[key])
            non_trainable = {**non_trainable, **updates}
            metric_state = compiled.update_metrics(metric_state, loss, y, y_pred, sw)
            return trainable, non_trainable, opt_state, metric_state

        return step

    def _make_test_step(self) -> Any:
        compiled = self._require_compiled("evaluate()")

        def step(trainable: Any, non_trainable: Any, metric_state: Any, x: Any, y: Any, sw: Any) -> Any:
            y_pred, _, aux = self._pure_apply(trainable, non_trainable, x, False, None)
            loss = compiled.total_loss(y, y_pred, sw) + aux + self._weight_penalty(trainable)
            return compiled.update_metrics(metric_state, loss, y, y_pred, sw)

        return step

    def _indexed_step(self, dist: Any) -> Any:
        """One step on the batch ``order[start:start+size]`` of device-resident data (not jitted)."""
        step = self._make_train_step()
        cast = self._input_caster()

        def indexed(state: Any, xs: Any, ys: Any, sws: Any, order: Any, start: Any, key: Any, size: int) -> Any:
            idx = jax.lax.dynamic_slice_in_dim(order, start, size)
            take = lambda a: jnp.take(a, idx, axis=0)  # noqa: E731
            x, y = cast(jax.tree_util.tree_map(take, xs)), jax.tree_util.tree_map(take, ys)
            sw = None if sws is None else take(sws)
            x, y, sw = constrain_batch((x, y, sw), dist)
            return step(state, x, y, sw, jax.random.fold_in(key, start))

        return indexed

    def _train_fn(self, steps: int = 1) -> Any:
        """The jitted step (``steps == 1``) or ``steps`` consecutive steps in one ``lax.scan``."""
        dist = current_distribution()
        cache_key = ("train", id(dist), steps)
        fn = self._jit_cache.get(cache_key)
        if fn is None:
            indexed = self._indexed_step(dist)
            if steps == 1:
                fn = jax.jit(indexed, static_argnames=("size",), donate_argnums=(0,))
            else:
                def multi(state: Any, xs: Any, ys: Any, sws: Any, order: Any, start: Any, key: Any,
                          size: int) -> Any:
                    def body(carry: Any, i: Any) -> Any:
                        return indexed(carry, xs, ys, sws, order, start + i * size, key, size), None

                    return jax.lax.scan(body, state, jnp.arange(steps))[0]

                fn = jax.jit(multi, static_argnames=("size",), donate_argnums=(0,))
            self._jit_cache[cache_key] = fn
        return fn

    def _train_batch_fn(self) -> Any:
        """The jitted step for batches that come from Python (generators, ``train_on_batch``)."""
        fn = self._jit_cache.get("train_batch")
        if fn is None:
            step = self._make_train_step()
            cast = self._input_caster()
            fn = self._jit_cache["train_batch"] = jax.jit(
                lambda state, x, y, sw, key: step(state, cast(x), y, sw, key), donate_argnums=(0,))
        return fn

    def _test_fn(self) -> Any:
        fn = self._jit_cache.get("test")
        if fn is None:
            step = self._make_test_step()
            cast = self._input_caster()
            fn = self._jit_cache["test"] = jax.jit(
                lambda tr, ntr, ms, x, y, sw: step(tr, ntr, ms, cast(x), y, sw), donate_argnums=(2,))
        return fn

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
        from lamina import backend
        from lamina import callbacks as callbacks_module
        from lamina.training.progbar import resolve_verbose

        compiled = self._require_compiled("fit()")
        if class_weight is not None and sample_weight is not None:
            raise ValueError("fit() takes class_weight or sample_weight, not both (as in Keras): multiply the class "
                             "weights into sample_weight yourself to combine them.")
        verbose = resolve_verbose(verbose)
        source = data.make_source(x, y, sample_weight, batch_size, steps_per_epoch, shuffle)
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
        state = self._initial_state(compiled)
        key = jax.random.PRNGKey(backend.SEEDS.next_seed())
        cb.on_train_begin()
        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, epochs):
            cb.on_epoch_begin(epoch)
            state = self._with_fresh_metrics(state, compiled)
            epoch_key = jax.random.fold_in(key, epoch)
            for step_index, new_state in self._run_epoch(source, state, epoch_key, class_weight, cb):
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
        self.history = history
        return history

    def _run_epoch(self, source: Any, state: Any, key: Any, class_weight: Any, cb: Any
                   ) -> Iterator[tuple[int, Any]]:
        if source.is_arrays:
            order = source.epoch_order()
            bounds = source.batch_bounds()
            group = self._steps_per_execution(source)
            full = sum(1 for _, size in bounds if size == source.batch_size)
            i = 0
            while i < len(bounds):
                start, size = bounds[i]
                count = group if group > 1 and i + group <= full else 1
                cb.on_train_batch_begin(i)
                fn = self._train_fn(count)
                state = fn(state, source.x_dev, source.y_dev, source.sw_dev, order, start, key, size=size)
                i += count
                yield i - 1, state
        else:
            fn = self._train_batch_fn()
            for step_index, (xb, yb, swb) in enumerate(source.batches()):
                cb.on_train_batch_begin(step_index)
                swb = data.combine_class_weight(yb, swb, class_weight)
                state = fn(state, xb, yb, swb, jax.random.fold_in(key, step_index))
                yield step_index, state

    def _steps_per_execution(self, source: Any) -> int:
        """Steps fused into one ``lax.scan`` call: ``compile(steps_per_execution=...)``, or 1 by default."""
        value = self._compile_config.get("steps_per_execution", 1)
        if value == "auto":
            return 1
        return max(1, int(value))

    def _prepare(self, source: Any, class_weight: Any) -> None:
        """Build a deferred model, check inputs and targets, resolve metrics — before any step runs."""
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
        logs = self._evaluate_source(source, cb)
        if return_dict:
            return logs
        values = [logs[name] for name in self._compiled.names() if name in logs]
        return values[0] if len(values) == 1 else values

    def _evaluate_source(self, source: Any, cb_list: Any) -> dict[str, float]:
        compiled = self._compiled
        fn = self._test_fn()
        trainable, non_trainable = self.get_params()
        metric_state = compiled.init_metrics()
        if cb_list is not None:
            cb_list.on_test_begin()
        for step_index, (xb, yb, swb) in enumerate(source.batches()):
            if cb_list is not None:
                cb_list.on_test_batch_begin(step_index)
            metric_state = fn(trainable, non_trainable, metric_state, xb, yb, swb)
            if cb_list is not None:
                cb_list.on_test_batch_end(step_index, compiled.results(metric_state)
                                          if cb_list.wants_batch_logs(step_index) else None)
        logs = dict(sorted(compiled.results(metric_state).items()))
        if cb_list is not None:
            cb_list.on_test_end(logs)
        return logs

    # ---------------------------------------------------------------------------- predict
    def _predict_fn(self) -> Any:
        """Jitted forward pass on rows ``start:start+size`` of device-resident inputs."""
        dist = current_distribution()
        fn = self._jit_cache.get(("predict", id(dist)))
        if fn is None:
            cast = self._input_caster()

            def forward(trainable: Any, non_trainable: Any, xs: Any, start: Any, size: int) -> Any:
                x = jax.tree_util.tree_map(lambda a: jax.lax.dynamic_slice_in_dim(a, start, size), xs)
                x = constrain_batch(cast(x), dist)
                return self._pure_apply(trainable, non_trainable, x, False, None)[0]

            fn = self._jit_cache[("predict", id(dist))] = jax.jit(forward, static_argnames=("size",))
        return fn

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
        trainable, non_trainable = self.get_params()
        fn = self._predict_fn()
        x_dev = place_data(jax.tree_util.tree_map(jnp.asarray, x), current_distribution())
        outs = []
        cb.on_predict_begin()
        for i, (start, size) in enumerate(bounds):
            cb.on_predict_batch_begin(i)
            outs.append(fn(trainable, non_trainable, x_dev, start, size=size))
            cb.on_predict_batch_end(i, {"outputs": outs[-1]} if cb.wants_batch_logs(i) else None)
        cb.on_predict_end()
        joined = jax.tree_util.tree_map(lambda *parts: jnp.concatenate(parts, axis=0), *outs)
        return jax.tree_util.tree_map(np.asarray, joined)

    # ------------------------------------------------------------------------- on_batch
    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: Any = None,
                       return_dict: bool = False) -> Any:
        """One optimizer step on one batch; returns the batch's loss and metrics."""
        compiled = self._require_compiled("train_on_batch()")
        source = data.make_source(x, y, sample_weight, None, None, False)
        self._prepare(source, None)
        xb, yb, swb = next(iter(source.batches(whole=True)))
        swb = data.combine_class_weight(yb, swb, class_weight)
        from lamina import backend

        state = self._initial_state(compiled)
        state = self._train_batch_fn()(state, xb, yb, swb, jax.random.PRNGKey(backend.SEEDS.next_seed()))
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


def _copy_tree(tree: Any) -> Any:
    """A deep copy of the arrays in ``tree``; dicts keep their key order (the model's weight order)."""
    if isinstance(tree, dict):
        return {k: _copy_tree(v) for k, v in tree.items()}
    return jax.tree_util.tree_map(lambda a: jnp.array(a, copy=True) if hasattr(a, "shape") else a, tree)
