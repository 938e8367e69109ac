"""The gather-and-loop driver shared by ``fit``, ``evaluate`` and ``predict``.

In-memory data is put on the device once per call of ``fit``/``evaluate``; each step gathers its batch on
the device (from an epoch permutation when training, by slicing when evaluating), so the host only sends a
row index. ``pacing`` decides how many steps one compiled call runs: one, or a loop of ``count`` steps whose
count is a traced argument (``fused_steps``), so calls of every length share one compilation. Batches that
come from Python (generators, datasets) go through one jitted step each. ``predict`` scans ``steps``
forward calls in one compiled call and stacks their outputs.

Every function takes the model (a ``LoopHost``: the ``Trainer`` mixed into ``Model``) and the step it runs
is the model's own ``train_step``/``test_step``/``predict_step``, reached through the host's hooks; the
jitted functions are kept in the model's ``_jit_cache``.

>>> import numpy as np
>>> from lamina import layers, Sequential
>>> model = Sequential([layers.Dense(1, input_shape=(3,))])
>>> model.compile(optimizer="sgd", loss="mse", steps_per_execution=2)
>>> _ = model.fit(np.ones((8, 3)), np.ones((8, 1)), batch_size=2, verbose=0)
>>> sorted(key[2:] for key in model._jit_cache if key[0] == "train")  # (fused, split): calls of 2 steps
[(True, True)]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from lamina import config
from lamina import distribution as distribution_module
from lamina.backend import refuse_short_lived_options, short_lived_compile_options
from lamina.distribution import constrain_batch, place_data
from lamina.distribution import distribution as current_distribution
from lamina.training import data, pacing, speed, staging
from lamina.training.pacing import Pacer
from lamina.training.state import across_processes
from lamina.training.step import TrainState, pack_x_y_sample_weight

__all__ = ["LoopHost", "train_fn", "single_train_call", "run_epoch", "evaluate_fn", "indexed_evaluate_fn",
           "evaluate_steps", "predict_fn", "predict_calls", "fused_steps", "step_key", "input_caster"]


class LoopHost(Protocol):
    """What the loop needs from the model it drives (``Trainer`` provides all of it)."""

    inputs: list[Any]
    _jit_cache: dict[Any, Any]
    _paces: dict[tuple[str, int], Pacer]
    _compile_config: dict[str, Any]
    _live_state: TrainState | None

    def predict_step(self, state: Any, data: Any) -> Any: ...
    def make_train_function(self, force: bool = False) -> Any: ...
    def _run_train_step(self, state: Any, x: Any, y: Any, sw: Any, rng: Any, split: bool) -> Any: ...
    def _test_step_call(self, tv: Any, ntv: Any, mv: Any, x: Any, y: Any, sw: Any) -> Any: ...
    def _current_state(self, state: TrainState) -> TrainState: ...
    def _fresh_metrics_variables(self) -> list[Any]: ...


# ------------------------------------------------------------------------------ helpers
def cached_jit(model: LoopHost, key: tuple[Any, ...], build: Any) -> Any:
    """The jitted function cached in ``model._jit_cache`` under ``key``, built by ``build()`` on first use."""
    fn = model._jit_cache.get(key)
    if fn is None:
        fn = model._jit_cache[key] = build()
    return fn


def input_caster(model: LoopHost) -> Any:
    """Cast integer image data (e.g. uint8 MNIST) to the inputs' float dtype inside the step."""
    dtypes = [t.dtype for t in model.inputs] if getattr(model, "inputs", None) else []

    def cast(x: Any) -> Any:
        if not dtypes:
            return x
        leaves, tree = jax.tree_util.tree_flatten(x)
        out = [a.astype(d) if "float" in d and not jnp.issubdtype(a.dtype, jnp.floating) else a
               for a, d in zip(leaves, dtypes + [dtypes[-1]] * (len(leaves) - len(dtypes)))]
        return jax.tree_util.tree_unflatten(tree, out)

    return cast


def fused_steps(step_at: Any, carry: Any, start: Any, count: Any, size: int) -> Any:
    """``(logs, carry)`` after ``count`` calls of ``step_at(carry, row) -> (logs, carry)`` in one loop
    (``pacing.fused_loop``); the logs are the last step's."""
    shapes = jax.eval_shape(lambda c: step_at(c, start)[0], carry)
    logs = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
    return pacing.fused_loop(lambda lc, row: step_at(lc[1], row), (logs, carry), start, count, size)


def step_key(seed: Any, epoch: Any, step: Any) -> Any:
    """The dropout/noise key of one training step, derived inside the jitted step (no eager key ops)."""
    return jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(seed), epoch), step)


def capped(epochs: int, steps_per_epoch: int | None) -> tuple[int, int | None]:
    """``epochs`` and ``steps_per_epoch`` limited by ``config.set_max_epochs``/``set_max_steps_per_epoch``."""
    max_epochs, max_steps = config.max_epochs(), config.max_steps_per_epoch()
    if max_epochs and max_epochs < epochs:
        warnings.warn(f"Limiting epochs to {max_epochs} (lamina.config.set_max_epochs).", stacklevel=3)
        epochs = max_epochs
    if max_steps and (not steps_per_epoch or max_steps < steps_per_epoch):
        warnings.warn(f"Limiting steps_per_epoch to {max_steps} (lamina.config.set_max_steps_per_epoch).",
                      stacklevel=3)
        steps_per_epoch = max_steps
    return epochs, steps_per_epoch


def pythonify(logs: Any) -> dict[str, float]:
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


def output_bytes_per_sample(outputs: list[Any]) -> int:
    """Bytes of all outputs for one sample (0 when a size is unknown: no fusing of predict batches)."""
    total = 0
    if not outputs:
        return 0
    for t in outputs:
        if any(d is None for d in t.shape[1:]):
            return 0
        total += math.prod(t.shape[1:]) * np.dtype(t.dtype).itemsize
    return total


# --------------------------------------------------------------------------- train
def indexed_train_step(model: LoopHost, dist: Any, split: bool) -> Any:
    """One step on the batch ``order[start:start+size]`` of device-resident data (not jitted)."""
    cast = input_caster(model)

    def indexed(state: Any, xs: Any, ys: Any, sws: Any, order: Any, start: Any, seeds: Any, size: int) -> Any:
        idx = jax.lax.dynamic_slice_in_dim(order, start, size)
        take = lambda a: a.at[idx].get(mode="promise_in_bounds")  # noqa: E731
        x, y = cast(jax.tree_util.tree_map(take, xs)), jax.tree_util.tree_map(take, ys)
        sw = None if sws is None else take(sws)
        x, y, sw = constrain_batch((x, y, sw), dist)
        return model._run_train_step(state, x, y, sw, step_key(seeds[0], seeds[1], start), split)

    return indexed


def train_key(fused: bool, split: bool) -> tuple[Any, ...]:
    """``_jit_cache``'s key of ``train_fn(model, fused, split)`` under the current distribution."""
    return ("train", id(current_distribution()), fused, split)


def train_fn(model: LoopHost, fused: bool = False, split: bool = True) -> Any:
    """The jitted step, or (``fused``) a loop of consecutive steps whose count is an argument.

    The fused function takes ``count`` as a traced argument, so one compilation serves calls of any
    length. ``split=False`` keeps every batch whole and compiles with ``short_lived_compile_options``:
    ``"auto"`` pacing runs its few single steps so (the first call's compilation is then the shortest),
    and only its fused calls split batches into chunks.
    """
    dist = current_distribution()

    def build() -> Any:
        indexed = indexed_train_step(model, dist, split)

        def loop(state: Any, xs: Any, ys: Any, sws: Any, order: Any, start: Any, count: Any, seeds: Any,
                 size: int) -> Any:
            one = lambda st, row: indexed(st, xs, ys, sws, order, row, seeds, size)  # noqa: E731
            return fused_steps(one, state, start, count, size)

        short = not (fused or split) and speed.short_lived_options_fit(model)
        options = short_lived_compile_options() if short else None
        return jax.jit(loop if fused else indexed, static_argnames=("size",), donate_argnums=(0,),
                       compiler_options=options)

    return cached_jit(model, train_key(fused, split), build)


def single_train_call(model: LoopHost, split: bool, state: Any, data_args: tuple[Any, ...], seeds: Any,
                      size: int) -> Any:
    """One step through ``train_fn(model, False, split)``; rebuilt with XLA's default options if this JAX
    rejects the short-lived ones (the rejection comes at compilation, before the state is donated)."""
    try:
        return train_fn(model, False, split)(state, *data_args, seeds, size=size)
    except Exception as error:  # noqa: BLE001 - re-raised unless it is the option rejection
        if split or not refuse_short_lived_options(error):
            raise
    model._jit_cache.pop(train_key(False, split), None)
    return train_fn(model, False, split)(state, *data_args, seeds, size=size)


def run_epoch(model: LoopHost, source: Any, seed_epoch: tuple[int, int], class_weight: Any, cb: Any,
              first_step: int = 0) -> Iterator[tuple[int, Any]]:
    """Run one epoch's calls from batch ``first_step``, keeping ``model._live_state`` current; yields
    ``(last batch index, logs)``."""
    seeds = np.asarray(seed_epoch, dtype=np.uint32)
    state = model._live_state
    if source.is_arrays:
        order = source.epoch_order()
        pacer = pacing.choose_pacer(model._paces, model._compile_config.get("steps_per_execution", "auto"),
                                    "train", source.batch_size, cb)
        for i, start, size, steps in pacer.calls(source.batch_bounds(), first_step):
            cb.on_train_batch_begin(i)
            state = model._current_state(state)
            data_args = (source.x_dev, source.y_dev, source.sw_dev, order, start)
            if steps > 1:
                logs, state = train_fn(model, True)(state, *data_args, np.int32(steps), seeds, size=size)
            else:
                logs, state = single_train_call(model, pacer.fixed is not None, state, data_args, seeds, size)
            model._live_state = state
            pacer.done(logs)
            yield i + steps - 1, logs
    else:
        fn = model.make_train_function()
        wait = pacing.wait_for_each_call()
        spread = current_distribution() if across_processes(current_distribution()) else None
        for step_index, (xb, yb, swb) in enumerate(source.batches()):
            if step_index < first_step:
                continue  # done before the run was interrupted (BackupAndRestore)
            cb.on_train_batch_begin(step_index)
            state = model._current_state(state)
            swb = data.combine_class_weight(yb, swb, class_weight)
            if spread:  # each process's batch is its part of the global one
                xb, yb, swb = distribution_module.global_batch((xb, yb, swb), spread)
            logs, state = fn(state, (xb, yb, swb), np.asarray((*seed_epoch, step_index), dtype=np.uint32))
            model._live_state = state
            if wait:
                jax.block_until_ready(logs)
            yield step_index, logs


# ---------------------------------------------------------------------------- evaluate
def evaluate_fn(model: LoopHost) -> Any:
    """The jitted evaluation step on one batch given as arrays (generators, ``test_on_batch``)."""
    def build() -> Any:
        cast = input_caster(model)
        return jax.jit(lambda tr, ntr, ms, x, y, sw: model._test_step_call(tr, ntr, ms, cast(x), y, sw),
                       donate_argnums=(2,))

    return cached_jit(model, ("test",), build)


def indexed_evaluate_fn(model: LoopHost, fused: bool) -> Any:
    """Evaluation on the batch at row ``start`` of device-resident data, or (``fused``) on ``count``
    consecutive batches from there in one loop whose count is an argument (one compilation for all)."""
    dist = current_distribution()

    def build() -> Any:
        cast = input_caster(model)

        def one(tr: Any, ntr: Any, ms: Any, xs: Any, ys: Any, sws: Any, start: Any, size: int) -> Any:
            cut = lambda a: jax.lax.dynamic_slice_in_dim(a, start, size)  # noqa: E731
            x, y = cast(jax.tree_util.tree_map(cut, xs)), jax.tree_util.tree_map(cut, ys)
            x, y, sw = constrain_batch((x, y, None if sws is None else cut(sws)), dist)
            return model._test_step_call(tr, ntr, ms, x, y, sw)

        def loop(tr: Any, ntr: Any, ms: Any, xs: Any, ys: Any, sws: Any, start: Any, count: Any,
                 size: int) -> Any:
            step = lambda m, row: one(tr, ntr, m, xs, ys, sws, row, size)  # noqa: E731
            return fused_steps(step, ms, start, count, size)

        return jax.jit(loop if fused else one, static_argnames=("size",), donate_argnums=(2,))

    return cached_jit(model, ("test_indexed", id(dist), fused), build)


def evaluate_steps(model: LoopHost, source: Any, cb_list: Any, trainable: Any, non_trainable: Any
               ) -> Iterator[tuple[int, Any, Any]]:
    """Run the evaluation steps, yielding ``(last batch index, logs, metrics variables)`` after each call."""
    begin = cb_list.on_test_batch_begin if cb_list is not None else (lambda i: None)
    metrics_variables = model._fresh_metrics_variables()
    dist = current_distribution()
    spread = across_processes(dist)
    if spread:
        metrics_variables = place_data(metrics_variables, dist)
    if source.is_arrays:
        pacer = pacing.choose_pacer(model._paces, model._compile_config.get("steps_per_execution", "auto"),
                                    "test", source.batch_size, cb_list)
        for i, start, size, steps in pacer.calls(source.batch_bounds()):
            begin(i)
            data_args = (source.x_dev, source.y_dev, source.sw_dev, start)
            if steps > 1:
                logs, metrics_variables = indexed_evaluate_fn(model, True)(
                    trainable, non_trainable, metrics_variables, *data_args, np.int32(steps), size=size)
            else:
                logs, metrics_variables = indexed_evaluate_fn(model, False)(
                    trainable, non_trainable, metrics_variables, *data_args, size=size)
            pacer.done(logs)
            yield i + steps - 1, logs, metrics_variables
    else:
        fn = evaluate_fn(model)
        for step_index, (xb, yb, swb) in enumerate(source.batches()):
            begin(step_index)
            if spread:
                xb, yb, swb = distribution_module.global_batch((xb, yb, swb), dist)
            logs, metrics_variables = fn(trainable, non_trainable, metrics_variables, xb, yb, swb)
            yield step_index, logs, metrics_variables


# ---------------------------------------------------------------------------- predict
def predict_fn(model: LoopHost, steps: int) -> Any:
    """Jitted ``predict_step`` on rows ``start + i * size`` (``i < steps``) of device-resident inputs."""
    dist = current_distribution()

    def build() -> Any:
        cast = input_caster(model)

        def forward(trainable: Any, non_trainable: Any, xs: Any, start: Any, size: int) -> Any:
            x = jax.tree_util.tree_map(lambda a: jax.lax.dynamic_slice_in_dim(a, start, size), xs)
            x = constrain_batch(cast(x), dist)
            return model.predict_step((trainable, non_trainable), pack_x_y_sample_weight(x))[0]

        def many(trainable: Any, non_trainable: Any, xs: Any, start: Any, size: int) -> Any:
            if steps == 1:
                return forward(trainable, non_trainable, xs, start, size)

            def body(carry: Any, i: Any) -> Any:
                return carry, forward(trainable, non_trainable, xs, start + i * size, size)

            outs = jax.lax.scan(body, None, jnp.arange(steps))[1]
            return jax.tree_util.tree_map(lambda a: a.reshape((steps * size,) + a.shape[2:]), outs)

        return jax.jit(many, static_argnames=("size",))

    return cached_jit(model, ("predict", id(dist), steps), build)


def predict_calls(model: LoopHost, params: tuple[list[Any], list[Any]], x: Any, host: staging.Borrowed,
                  pacer: Pacer, bounds: list[tuple[int, int]], cb: Any) -> list[Any]:
    """Run the forward calls over ``bounds`` with ``params`` (trainable, non-trainable) and read every output
    back to the host."""
    trainable, non_trainable = params
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
            out = predict_fn(model, steps)(trainable, non_trainable, x_dev, start, size=size)
        else:  # host arrays: send each call's rows as it is dispatched, overlapping the copy with compute
            rows = jax.tree_util.tree_map(lambda a, s=start, k=steps * size: a[s:s + k], x)
            out = predict_fn(model, steps)(trainable, non_trainable, place_data(jax.device_put(rows), dist), 0,
                                           size=size)
        outs.append(out)
        pacer.done(out)
        last = i + steps - 1
        cb.on_predict_batch_end(last, {"outputs": out} if cb.wants_batch_logs(last) else None)
    cb.on_predict_end()
    if across_processes(dist):
        return distribution_module.to_host(outs)
    return jax.device_get(outs)
