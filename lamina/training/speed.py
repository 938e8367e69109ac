"""Speed mechanisms that keep the results: micro-batching as a gradient transform, and which models allow it.

On XLA's CPU backend a convolution step's working set (im2col patches, activations and their gradients)
outgrows the cache as the batch grows. One epoch of the DESIGN.md CNN on 10,000 images (in-process medians
of 5, 2-core CPU): batch 128 whole 3.76 s, as chunks of 32 2.64-2.96 s, of 16 2.82 s; batch 32 whole 3.38 s,
as chunks of 16 3.11 s. So batches that are a multiple of 16, from 32 rows, run as chunks of 16 whose
gradients are averaged; the optimizer still makes one update per batch.

>>> micro_batch_rows(128), micro_batch_rows(32), micro_batch_rows(16), micro_batch_rows(100)
(16, 16, None, None)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp

import lamina.ops.conv_autotune as conv_autotune
from lamina import losses as losses_module
from lamina.distribution import distribution as current_distribution

#: Rows per chunk when a CPU train step splits its batch (``micro_batch_rows``).
MICRO_BATCH_ROWS = 16


def micro_batch_rows(batch: int) -> int | None:
    """Rows per chunk for a batch of ``batch`` rows, or ``None`` to keep the batch whole."""
    if batch >= 2 * MICRO_BATCH_ROWS and batch % MICRO_BATCH_ROWS == 0:
        return MICRO_BATCH_ROWS
    return None


def micro_batched(grad_fn: Any, rows: int, set_rng: Any, rng: Any) -> Any:
    """``grad_fn`` (``value_and_grad`` of ``compute_loss_and_updates``) computed chunk by chunk of ``rows``.

    The loss and gradients are the means over equal chunks (the batch mean, as the whole batch gives, up to
    rounding); ``y_pred`` is the chunks' outputs in order. Each chunk draws its own dropout key, given to the
    model by ``set_rng``. Only for models whose non-trainable and metric variables the loss leaves alone.
    """

    def chunked(trainable: Any, non_trainable: Any, metrics_variables: Any, x: Any, y: Any, sw: Any,
                training: bool) -> Any:
        batch = jax.tree_util.tree_leaves(x)[0].shape[0]
        count = batch // rows
        chunks = jax.tree_util.tree_map(lambda a: a.reshape((count, rows) + a.shape[1:]), (x, y, sw))

        def body(carry: Any, item: Any) -> Any:
            index, (xc, yc, swc) = item
            set_rng(jax.random.fold_in(rng, index))
            (loss, (_, y_pred, _, _)), grads = grad_fn(trainable, non_trainable, metrics_variables, xc, yc, swc,
                                                       training)
            total, summed = carry
            return (total + loss, jax.tree_util.tree_map(jnp.add, summed, grads)), y_pred

        start = (jnp.zeros((), jnp.float32), jax.tree_util.tree_map(jnp.zeros_like, trainable))
        with conv_autotune.loop_body():  # convolutions in a loop body are timed as such
            (total, summed), preds = jax.lax.scan(body, start, (jnp.arange(count), chunks))
        set_rng(rng)
        y_pred = jax.tree_util.tree_map(lambda a: a.reshape((batch,) + a.shape[2:]), preds)
        grads = jax.tree_util.tree_map(lambda g: g / count, summed)
        loss = total / count
        return (loss, (loss, y_pred, non_trainable, metrics_variables)), grads

    return chunked


def maybe_micro_batched(grad_fn: Any, get_rng: Any, set_rng: Any) -> Any:
    """``grad_fn`` run as ``micro_batched`` chunks when its batch has a split (``micro_batch_rows``), else whole;
    ``get_rng()`` is the step's dropout key when the gradient is traced, ``set_rng`` sets each chunk's."""
    def maybe_chunked(tv: Any, ntv: Any, mv: Any, x: Any, y: Any, sw: Any, training: bool) -> Any:
        rows = micro_batch_rows(jax.tree_util.tree_leaves(x)[0].shape[0])
        if rows is None:
            return grad_fn(tv, ntv, mv, x, y, sw, training)
        return micro_batched(grad_fn, rows, set_rng, get_rng())(tv, ntv, mv, x, y, sw, training)

    return maybe_chunked


#: The most layers a model may have for ``"auto"`` pacing's single steps to compile with
#: ``backend.SHORT_LIVED_CPU_OPTIONS`` (XLA's older loop emitters). They save 0.1-0.4 s on the first step of a
#: 3-6 layer MLP or CNN, but their compile time grows far faster with the step: keras-io's EANet (8
#: external-attention blocks, ~150 layers) compiled its first step in 333 s with them against 20-30 s with
#: XLA's defaults; 4 blocks 110 s against 19 s; one attention block (18 layers) 23 s against 13 s.
SHORT_LIVED_MAX_LAYERS = 8


def short_lived_options_fit(model: Any) -> bool:
    """Whether ``model`` is small enough (``SHORT_LIVED_MAX_LAYERS``) for its single steps to compile with the
    short-lived options; a larger one keeps XLA's defaults, whose compile time scales with the step."""
    count = 0
    for _ in walk_layers(model):
        count += 1
        if count > SHORT_LIVED_MAX_LAYERS:
            return False
    return True


def walk_layers(model: Any) -> Iterator[Any]:
    """Every layer inside ``model``: nested models and wrapped layers (TimeDistributed, Bidirectional) too."""
    for layer in getattr(model, "layers", []):
        yield layer
        if hasattr(layer, "layers"):
            yield from walk_layers(layer)
        for attr in ("layer", "forward_layer", "backward_layer"):
            inner = getattr(layer, attr, None)
            if inner is not None and inner is not layer:
                yield inner
                if hasattr(inner, "layers"):
                    yield from walk_layers(inner)


def micro_batching_allowed(model: Any) -> bool:
    """Whether a train step may split its batch into chunks (``micro_batch_rows``) without changing results.

    The gradient of the batch's mean loss is then the mean of the chunks' gradients: true when the default
    ``train_step`` and ``compute_loss`` run, every loss averages over the samples (``sum_over_batch_size``,
    no class mask that renormalises by the batch), the model has one output, no layer reads batch statistics
    or adds losses (no non-trainable weights such as BatchNormalization's, no activity regularizers, only
    lamina's own layers in a Sequential or functional model), and the batch is not sharded over devices.
    Only models with convolutions gain, on the CPU backend. Layers say so by class attributes (so that training
    imports no layer module): ``_gains_from_micro_batching`` (convolutions) and ``_adds_batch_losses``
    (``ActivityRegularization``).
    """
    if jax.default_backend() != "cpu" or current_distribution() is not None:
        return False
    cls = type(model)
    for name in ("train_step", "compute_loss", "compute_loss_and_updates", "stateless_call", "compute_metrics"):
        owner = next(k for k in cls.__mro__ if name in vars(k))
        if not owner.__module__.startswith("lamina."):
            return False  # a user's step or loss: chunks could change what it computes
    if not (model._functional or cls.__module__.startswith("lamina.")) or model.non_trainable_weights:
        return False
    layers = list(walk_layers(model))
    if not any(getattr(layer, "_gains_from_micro_batching", False) for layer in layers):
        return False
    for layer in layers:
        own = type(layer).__module__.startswith("lamina.")
        if not own or getattr(layer, "_adds_batch_losses", False) or layer.activity_regularizer is not None:
            return False
    compiled = model._compiled
    if len(compiled.losses) > 1 or compiled.output_loss_trackers:
        return False
    for loss in compiled.losses:
        if not isinstance(loss, losses_module.Loss) or loss.reduction not in ("sum_over_batch_size", "mean"):
            return False
        if getattr(loss, "ignore_class", None) is not None or (
                getattr(loss, "_fn_kwargs", {}).get("ignore_class") is not None):
            return False
    return True
