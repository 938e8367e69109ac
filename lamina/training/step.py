"""Keras 3's overridable steps on the JAX backend: the default ``train_step``, ``test_step`` and ``predict_step``.

A step is a pure function of a ``TrainState`` (Keras's four lists of arrays, in the order of
``model.trainable_variables``, ``model.non_trainable_variables``, ``optimizer.variables`` and
``model.metrics_variables``) and one batch ``data``; it returns ``(logs, state)``. ``fit`` jits whichever
``train_step`` the model has, so a user's override (a GAN, a VAE, a custom loss) is what runs, fused into
loops or not; the methods below are only the defaults.

>>> import numpy as np
>>> from lamina import layers, Sequential
>>> model = Sequential([layers.Dense(1, input_shape=(2,))])
>>> model.compile(optimizer="sgd", loss="mse")
>>> logs = model.train_on_batch(np.ones((4, 2)), np.ones((4, 1)), return_dict=True)
>>> sorted(logs)
['loss']
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from lamina import metrics as metrics_module


class TrainState(NamedTuple):
    """What a train step reads and returns, named (Keras passes the same four lists as a plain tuple)."""

    trainable_variables: list[Any]
    non_trainable_variables: list[Any]
    optimizer_variables: list[Any]
    metrics_variables: list[Any]


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """The ``data`` a step receives: ``x`` alone (or ``(x,)`` when ``x`` is a list/tuple/dict),
    ``(x, y)`` or ``(x, y, sample_weight)``, as Keras packs it.

    >>> pack_x_y_sample_weight(1), pack_x_y_sample_weight(1, 2), pack_x_y_sample_weight([1])
    (1, (1, 2), ([1],))
    """
    if y is None and sample_weight is None:
        return (x,) if isinstance(x, (list, tuple, dict)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """``(x, y, sample_weight)`` from a step's ``data`` (missing parts are ``None``).

    >>> unpack_x_y_sample_weight((1, 2)), unpack_x_y_sample_weight(5), unpack_x_y_sample_weight([1, 2])
    ((1, 2, None), (5, None, None), (1, 2, None))
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
                     f"found a tuple of {len(data)} items.")


def batch_size_of(x: Any) -> int:
    """The number of samples in a batch (the first axis of its first array)."""
    return int(next(a for a in jax.tree_util.tree_leaves(x) if a is not None).shape[0])


class Steps:
    """The default steps and the Keras methods they are made of; ``Trainer`` (and so ``Model``) inherits them.

    What they need from the model: ``stateless_call``, ``metrics``, ``optimizer`` and the compiled losses.
    """

    _compiled: Any
    optimizer: Any
    _losses_override: list[Any] | None = None

    # ----------------------------------------------------------------------------------- losses
    @property
    def losses(self) -> list[Any]:
        """The losses added during the current call (``add_loss``, activity and weight penalties): inside a
        step those of its forward pass, else (``Layer.losses``) those of the last eager call."""
        if self._losses_override is not None:
            return list(self._losses_override)
        try:
            return super().losses  # type: ignore[misc]
        except AttributeError:
            return []

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Any:
        """The compiled loss of ``(y, y_pred)`` (each output's weighted loss, summed) plus ``self.losses``."""
        compiled = self._compiled
        total = None
        if compiled is not None and compiled.losses:
            parts = compiled.per_output_losses(y, y_pred, sample_weight)
            if compiled.output_loss_trackers:  # Keras tracks each output's loss before its weight
                batch = batch_size_of(y_pred)
                for tracker, value in zip(compiled.output_loss_trackers, parts):
                    tracker.update_state(value, sample_weight=batch)
            total = sum(w * part for w, part in zip(compiled.loss_weights, parts))
        for extra in self.losses:
            total = extra if total is None else total + extra
        if total is None:  # nothing to minimise: a loss of 0, as in Keras
            return jnp.zeros((), "float32")
        return total

    def compute_loss_and_updates(self, trainable_variables: Any, non_trainable_variables: Any,
                                 metrics_variables: Any, x: Any, y: Any, sample_weight: Any, training: bool = False,
                                 optimizer_variables: Any = None) -> tuple[Any, tuple[Any, Any, Any, Any]]:
        """``loss, (unscaled_loss, y_pred, non_trainable_variables, metrics_variables)``: for ``jax.grad``."""
        y_pred, non_trainable_variables, losses = self.stateless_call(
            trainable_variables, non_trainable_variables, x, training=training, return_losses=True)
        with self.metrics_scope(metrics_variables) as scope:
            self._losses_override = losses
            try:
                loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
            finally:
                self._losses_override = None
        return loss, (loss, y_pred, non_trainable_variables, self.metrics_variables_in(scope))

    # ---------------------------------------------------------------------------------- metrics
    def metrics_scope(self, metrics_variables: Any) -> metrics_module.MetricScope:
        """A scope in which ``self.metrics`` read and write the states held in ``metrics_variables``."""
        states, at = {}, 0
        for metric in self.metrics:
            count = metric._treedef().num_leaves
            states[metric] = metric._unflatten(metrics_variables[at:at + count])
            at += count
        return metrics_module.MetricScope(states)

    def metrics_variables_in(self, scope: metrics_module.MetricScope) -> list[Any]:
        """The flat ``metrics_variables`` list of the states in ``scope``."""
        return [leaf for metric in self.metrics for leaf in jax.tree_util.tree_leaves(scope.states[metric])]

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> dict[str, Any]:
        """Update the compiled metrics with one batch and return every metric's result."""
        compile_metrics = self._compiled.compile_metrics if self._compiled is not None else None
        if compile_metrics is not None:
            compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict[str, Any]:
        """``{name: value}`` of every metric in ``self.metrics`` (a dict result, ``compile_metrics``'s, is merged)."""
        logs: dict[str, Any] = {}
        for metric in self.metrics:
            result = metric.result()
            if isinstance(result, dict):
                logs.update(result)
            else:
                logs[metric.name] = result
        return logs

    def _update_metrics_variables(self, metrics_variables: Any, unscaled_loss: Any, x: Any, y: Any, y_pred: Any,
                                  sample_weight: Any) -> tuple[dict[str, Any], list[Any]]:
        with self.metrics_scope(metrics_variables) as scope:
            tracker = getattr(self, "_loss_tracker", None)
            if tracker is not None and any(m is tracker for m in self.metrics):
                tracker.update_state(unscaled_loss, sample_weight=batch_size_of(y_pred))
            logs = self.compute_metrics(x, y, y_pred, sample_weight)
        return logs, self.metrics_variables_in(scope)

    # ------------------------------------------------------------------------------------ steps
    def train_step(self, state: Any, data: Any) -> tuple[dict[str, Any], TrainState]:
        """One optimizer step on ``data``: the loss's gradient, the optimizer's update, the metrics."""
        trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables = state
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        grad_fn = self._loss_gradient()
        if hasattr(self.optimizer, "loss_scale_of"):  # LossScaleOptimizer: differentiate the scaled loss
            scale = self.optimizer.loss_scale_of(optimizer_variables)
            grad_fn = _scaled_gradient(self.compute_loss_and_updates, scale)
        (_, aux), grads = grad_fn(trainable_variables, non_trainable_variables, metrics_variables, x, y,
                                  sample_weight, True)
        unscaled_loss, y_pred, non_trainable_variables, metrics_variables = aux
        trainable_variables, optimizer_variables = self.optimizer.stateless_apply(optimizer_variables, grads,
                                                                                  trainable_variables)
        trainable_variables = self._apply_constraints(trainable_variables)
        logs, metrics_variables = self._update_metrics_variables(metrics_variables, unscaled_loss, x, y, y_pred,
                                                                 sample_weight)
        return logs, TrainState(trainable_variables, non_trainable_variables, optimizer_variables,
                                metrics_variables)

    def test_step(self, state: Any, data: Any) -> tuple[dict[str, Any], tuple[Any, Any, Any]]:
        """The loss and metrics on ``data`` for ``state = (trainable, non_trainable, metrics_variables)``."""
        trainable_variables, non_trainable_variables, metrics_variables = state
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        loss, aux = self.compute_loss_and_updates(trainable_variables, non_trainable_variables, metrics_variables,
                                                  x, y, sample_weight, training=False)
        unscaled_loss, y_pred, non_trainable_variables, metrics_variables = aux
        logs, metrics_variables = self._update_metrics_variables(metrics_variables, unscaled_loss, x, y, y_pred,
                                                                 sample_weight)
        return logs, (trainable_variables, non_trainable_variables, metrics_variables)

    def predict_step(self, state: Any, data: Any) -> tuple[Any, Any]:
        """``(outputs, non_trainable_variables)`` for ``data`` and ``state = (trainable, non_trainable)``."""
        trainable_variables, non_trainable_variables = state
        x, _, _ = unpack_x_y_sample_weight(data)
        return self.stateless_call(trainable_variables, non_trainable_variables, x, training=False)

    # ------------------------------------------------------------------------ hooks for speed
    def _loss_gradient(self) -> Any:
        """``jax.value_and_grad`` of ``compute_loss_and_updates`` (``training`` passed positionally)."""
        return jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)

    def _apply_constraints(self, trainable_variables: Any) -> Any:
        return trainable_variables


def _scaled_gradient(loss_fn: Any, scale: Any) -> Any:
    """``value_and_grad`` of ``loss_fn``'s loss times ``scale`` (the unscaled loss stays in the aux)."""
    def scaled(*args: Any) -> Any:
        loss, aux = loss_fn(*args)
        return loss * scale.astype(jnp.result_type(loss)), aux

    return jax.value_and_grad(scaled, has_aux=True)
