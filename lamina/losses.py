"""Losses with Keras's names, formulas, clipping (epsilon 1e-7) and reductions, in pure ``jax.numpy``.

Functions return one value per sample (the batch dims); ``Loss`` objects reduce them with an optional
``sample_weight``. Unlike Keras, a target/prediction pair whose shapes only "match" by broadcasting, such
as ``(N,)`` against ``(N, 3)``, raises a ``ValueError`` naming both shapes instead of silently computing an
``(N, 3)`` or ``(N, N)`` loss. ``(N,)`` against ``(N, 1)`` is reshaped, as Keras does.

>>> import jax.numpy as jnp
>>> from lamina import losses
>>> float(losses.MeanSquaredError()(jnp.array([1.0, 2.0]), jnp.array([[1.0], [4.0]])))
2.0
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

EPSILON = 1e-7
_REDUCTIONS = {"sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight"}

__all__ = [
    "Loss",
    "LossFunctionWrapper",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "CosineSimilarity",
    "Huber",
    "LogCosh",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "KLDivergence",
    "Poisson",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "cosine_similarity",
    "huber",
    "log_cosh",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "kl_divergence",
    "poisson",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "mse",
    "mae",
    "mape",
    "msle",
    "kld",
    "bce",
    "BinaryFocalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalGeneralizedCrossEntropy",
    "Circle",
    "Dice",
    "Tversky",
    "CTC",
    "binary_focal_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_generalized_cross_entropy",
    "circle",
    "ctc",
    "dice",
    "tversky",
    "get",
    "serialize",
    "deserialize",
]


# -------------------------------------------------------------------------------------- shape rules
def squeeze_or_expand_to_same_rank(x1: Any, x2: Any, expand_rank_1: bool = True) -> tuple[Any, Any]:
    """Keras's rule: when the ranks differ by one and the longer has a last axis of 1, squeeze it (or
    expand a rank-1 partner instead).

    >>> a, b = squeeze_or_expand_to_same_rank(jnp.zeros((4,)), jnp.zeros((4, 1)))
    >>> a.shape, b.shape
    ((4, 1), (4, 1))
    """
    r1, r2 = jnp.ndim(x1), jnp.ndim(x2)
    if r1 == r2 + 1 and jnp.shape(x1)[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = jnp.expand_dims(x2, -1)
        else:
            x1 = jnp.squeeze(x1, -1)
    elif r2 == r1 + 1 and jnp.shape(x2)[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = jnp.expand_dims(x1, -1)
        else:
            x2 = jnp.squeeze(x2, -1)
    return x1, x2


def _fmt(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _match(y_true: Any, y_pred: Any, name: str) -> tuple[Any, Any]:
    """Squeeze/expand as Keras does, then insist on equal shapes (no silent broadcasting)."""
    shape_t, shape_p = tuple(jnp.shape(y_true)), tuple(jnp.shape(y_pred))
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if jnp.shape(y_true) != jnp.shape(y_pred):
        hint = ""
        if len(shape_p) >= 2 and shape_t == shape_p[:-1]:
            hint = (
                f" The predictions have {shape_p[-1]} values per sample but the targets have one: for class "
                f"ids use sparse_categorical_crossentropy, or make the last layer output {shape_p[-1]} -> 1 "
                "unit."
            )
        elif len(shape_t) == len(shape_p) and shape_t[:-1] == shape_p[:-1]:
            hint = (
                f" The last axes differ ({shape_t[-1]} target values vs {shape_p[-1]} predicted): make "
                f"the last layer output {shape_t[-1]} units, or check the targets."
            )
        raise ValueError(
            f"{name}: targets of shape {_fmt(shape_t)} do not match predictions of shape "
            f"{_fmt(shape_p)}, and lamina does not broadcast them (that would compare every target "
            f"with every prediction).{hint} Fix: give targets of shape {_fmt(shape_p)}."
        )
    return y_true, y_pred


def _float(y_pred: Any) -> Any:
    y_pred = jnp.asarray(y_pred)
    return y_pred if jnp.issubdtype(y_pred.dtype, jnp.floating) else y_pred.astype(jnp.float32)


# ----------------------------------------------------------------------------------------- functions
def mean_squared_error(y_true: Any, y_pred: Any) -> Any:
    """``mean(square(y_true - y_pred), axis=-1)``.

    >>> mean_squared_error(jnp.array([[0.0, 2.0]]), jnp.array([[1.0, 1.0]])).tolist()
    [1.0]
    """
    y_pred = _float(y_pred)
    y_true, y_pred = _match(jnp.asarray(y_true, y_pred.dtype), y_pred, "mean_squared_error")
    return jnp.mean(jnp.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Any:
    """``mean(abs(y_true - y_pred), axis=-1)``.

    >>> mean_absolute_error(jnp.array([[0.0, 2.0]]), jnp.array([[1.0, 1.0]])).tolist()
    [1.0]
    """
    y_pred = _float(y_pred)
    y_true, y_pred = _match(jnp.asarray(y_true, y_pred.dtype), y_pred, "mean_absolute_error")
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Any:
    """``100 * mean(abs((y_true - y_pred) / max(abs(y_true), eps)), axis=-1)``.

    >>> mean_absolute_percentage_error(jnp.array([[2.0]]), jnp.array([[1.0]])).tolist()
    [50.0]
    """
    y_pred = _float(y_pred)
    y_true, y_pred = _match(jnp.asarray(y_true, y_pred.dtype), y_pred, "mean_absolute_percentage_error")
    diff = jnp.abs((y_true - y_pred) / jnp.maximum(jnp.abs(y_true), EPSILON))
    return 100.0 * jnp.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Any:
    """``mean(square(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)), axis=-1)``.

    >>> round(float(mean_squared_logarithmic_error(jnp.array([[0.0]]), jnp.array([[1.0]]))[0]), 4)
    0.4805
    """
    y_pred = _float(y_pred)
    y_true, y_pred = _match(jnp.asarray(y_true, y_pred.dtype), y_pred, "mean_squared_logarithmic_error")
    first = jnp.log(jnp.maximum(y_pred, EPSILON) + 1.0)
    second = jnp.log(jnp.maximum(y_true, EPSILON) + 1.0)
    return jnp.mean(jnp.square(first - second), axis=-1)


def _l2_normalize(x: Any, axis: int) -> Any:
    inv = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x * jnp.minimum(inv, 1.0 / EPSILON)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Any:
    """Negative cosine similarity along ``axis`` (``-1`` for identical directions).

    >>> cosine_similarity(jnp.array([[1.0, 0.0]]), jnp.array([[2.0, 0.0]])).tolist()
    [-1.0]
    """
    y_pred = _float(y_pred)
    y_true, y_pred = _match(jnp.asarray(y_true, y_pred.dtype), y_pred, "cosine_similarity")
    return -jnp.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Any:
    """Quadratic for ``|error| <= delta``, linear beyond; mean over the last axis.

    >>> huber(jnp.array([[0.0, 0.0]]), jnp.array([[0.5, 3.0]])).tolist()
    [1.3125]
    """
    y_pred = _float(y_pred)
    y_true, y_pred = _match(jnp.asarray(y_true, y_pred.dtype), y_pred, "huber")
    delta = jnp.asarray(delta, y_pred.dtype)
    error = y_pred - y_true
    abs_error = jnp.abs(error)
    half = jnp.asarray(0.5, y_pred.dtype)
    return jnp.mean(
        jnp.where(abs_error <= delta, half * jnp.square(error), delta * abs_error - half * jnp.square(delta)),
        axis=-1,
    )


def log_cosh(y_true: Any, y_pred: Any) -> Any:
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed stably.

    >>> round(float(log_cosh(jnp.array([[0.0]]), jnp.array([[1.0]]))[0]), 5)
    0.43378
    """
    y_pred = _float(y_pred)
    y_true, y_pred = _match(jnp.asarray(y_true, y_pred.dtype), y_pred, "log_cosh")
    x = y_pred - y_true
    return jnp.mean(x + jax.nn.softplus(x * -2.0) - jnp.log(jnp.asarray(2.0, y_pred.dtype)), axis=-1)


def _hinge_labels(y_true: Any) -> Any:
    is_binary = jnp.all((y_true == 0) | (y_true == 1))
    return jnp.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true: Any, y_pred: Any) -> Any:
    """``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``; 0/1 labels are mapped to -1/1.

    >>> hinge(jnp.array([[1.0, 0.0]]), jnp.array([[0.5, 0.5]])).tolist()
    [1.0]
    """
    y_pred = _float(y_pred)
    y_true, y_pred = _match(jnp.asarray(y_true, y_pred.dtype), y_pred, "hinge")
    return jnp.mean(jnp.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true: Any, y_pred: Any) -> Any:
    """``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``.

    >>> squared_hinge(jnp.array([[1.0]]), jnp.array([[0.5]])).tolist()
    [0.25]
    """
    y_pred = _float(y_pred)
    y_true, y_pred = _match(jnp.asarray(y_true, y_pred.dtype), y_pred, "squared_hinge")
    return jnp.mean(jnp.square(jnp.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true: Any, y_pred: Any) -> Any:
    """``maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``.

    >>> categorical_hinge(jnp.array([[0.0, 1.0]]), jnp.array([[0.2, 0.8]])).tolist()
    [0.3999999761581421]
    """
    y_pred = _float(y_pred)
    y_true, y_pred = _match(jnp.asarray(y_true, y_pred.dtype), y_pred, "categorical_hinge")
    pos = jnp.sum(y_true * y_pred, axis=-1)
    neg = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return jnp.maximum(neg - pos + 1.0, 0.0)


def kl_divergence(y_true: Any, y_pred: Any) -> Any:
    """``sum(y_true * log(y_true / y_pred), axis=-1)`` with both clipped to ``[eps, 1]``.

    >>> round(float(kl_divergence(jnp.array([[0.5, 0.5]]), jnp.array([[0.25, 0.75]]))[0]), 5)
    0.14384
    """
    y_pred = _float(y_pred)
    y_true, y_pred = _match(jnp.asarray(y_true, y_pred.dtype), y_pred, "kl_divergence")
    y_true = jnp.clip(y_true, EPSILON, 1)
    y_pred = jnp.clip(y_pred, EPSILON, 1)
    return jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)


def poisson(y_true: Any, y_pred: Any) -> Any:
    """``mean(y_pred - y_true * log(y_pred + eps), axis=-1)``.

    >>> poisson(jnp.array([[0.0]]), jnp.array([[2.0]])).tolist()
    [2.0]
    """
    y_pred = _float(y_pred)
    y_true, y_pred = _match(jnp.asarray(y_true, y_pred.dtype), y_pred, "poisson")
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + EPSILON), axis=-1)


def binary_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> Any:
    """Binary crossentropy, mean over ``axis``; probabilities clipped to ``[eps, 1 - eps]``.

    >>> round(float(binary_crossentropy(jnp.array([[1.0]]), jnp.array([[0.5]]))[0]), 5)
    0.69315
    """
    y_pred = _float(y_pred)
    y_true, y_pred = _match(jnp.asarray(y_true, y_pred.dtype), y_pred, "binary_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        bce = -1.0 * y_true * jax.nn.log_sigmoid(y_pred) - (1.0 - y_true) * jax.nn.log_sigmoid(-y_pred)
    else:
        out = jnp.clip(y_pred, EPSILON, 1.0 - EPSILON)
        bce = -(y_true * jnp.log(out) + (1.0 - y_true) * jnp.log(1.0 - out))
    return jnp.mean(bce, axis=axis)


def _log_probs(y_pred: Any, from_logits: bool, axis: int) -> Any:
    if from_logits:
        return jax.nn.log_softmax(y_pred, axis=axis)
    out = y_pred / jnp.sum(y_pred, axis, keepdims=True)
    return jnp.log(jnp.clip(out, EPSILON, 1.0 - EPSILON))


def categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> Any:
    """Crossentropy between one-hot (or probability) targets and predictions, summed over ``axis``.

    >>> round(float(categorical_crossentropy(jnp.array([[0.0, 1.0]]), jnp.array([[0.5, 0.5]]))[0]), 5)
    0.69315
    """
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}")
    y_pred = _float(y_pred)
    y_true = jnp.asarray(y_true, y_pred.dtype)
    if jnp.shape(y_true) != jnp.shape(y_pred):
        shape_t, shape_p = tuple(jnp.shape(y_true)), tuple(jnp.shape(y_pred))
        hint = (
            " The targets look like class ids: use sparse_categorical_crossentropy, or one-hot encode them "
            f"with lamina.utils.to_categorical(y, {shape_p[-1]})."
            if shape_t in (shape_p[:-1], shape_p[:-1] + (1,))
            else ""
        )
        raise ValueError(
            f"categorical_crossentropy: targets of shape {_fmt(shape_t)} do not match predictions of "
            f"shape {_fmt(shape_p)}; it needs one row of class probabilities per sample.{hint}"
        )
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    return -jnp.sum(y_true * _log_probs(y_pred, from_logits, axis), axis=axis)


def sparse_categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, ignore_class: int | None = None, axis: int = -1
) -> Any:
    """Crossentropy between integer class ids ``(N,)`` or ``(N, 1)`` and class scores ``(N, C)``.

    >>> round(float(sparse_categorical_crossentropy(jnp.array([1]), jnp.array([[0.5, 0.5]]))[0]), 5)
    0.69315
    """
    y_pred = _float(y_pred)
    y_true = jnp.asarray(y_true)
    if jnp.ndim(y_true) == jnp.ndim(y_pred) and jnp.shape(y_true)[axis] == 1:
        y_true = jnp.squeeze(y_true, axis=axis)
    if jnp.shape(y_true) != jnp.shape(y_pred)[:-1]:
        shape_t, shape_p = tuple(jnp.shape(y_true)), tuple(jnp.shape(y_pred))
        hint = (
            " The targets look one-hot: use categorical_crossentropy, or pass y.argmax(axis=-1)."
            if shape_t == shape_p
            else ""
        )
        raise ValueError(
            f"sparse_categorical_crossentropy: targets of shape {_fmt(shape_t)} do not fit predictions "
            f"of shape {_fmt(shape_p)}; it needs one integer class id per sample, shape "
            f"{_fmt(shape_p[:-1])}.{hint}"
        )
    y_true = y_true.astype(jnp.int32)
    valid = None
    if ignore_class is not None:
        valid = y_true != ignore_class
        y_true = jnp.where(valid, y_true, 0)
        y_pred = jnp.where(jnp.expand_dims(valid, axis), y_pred, 0)
    one_hot = jax.nn.one_hot(y_true, y_pred.shape[axis], axis=axis, dtype=y_pred.dtype)
    res = -jnp.sum(one_hot * _log_probs(y_pred, from_logits, axis), axis=axis)
    if valid is not None:
        res = jnp.where(valid, res, 0.0)
    return res


def _clipped_bce(y_true: Any, y_pred: Any) -> Any:
    out = jnp.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return -(y_true * jnp.log(out) + (1.0 - y_true) * jnp.log(1.0 - out))


def binary_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Any:
    """Binary crossentropy times ``(1 - p_t) ** gamma`` (and the ``alpha`` class weight if balancing), mean over
    ``axis``.

    >>> round(float(binary_focal_crossentropy(jnp.array([[1.0]]), jnp.array([[0.5]]))[0]), 5)
    0.17329
    """
    y_pred = _float(y_pred)
    y_true, y_pred = _match(jnp.asarray(y_true, y_pred.dtype), y_pred, "binary_focal_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = jax.nn.sigmoid(y_pred)
    bce = _clipped_bce(y_true, y_pred)
    p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
    focal_bce = jnp.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal_bce = (y_true * alpha + (1 - y_true) * (1 - alpha)) * focal_bce
    return jnp.mean(focal_bce, axis=axis)


def categorical_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Any:
    """Categorical crossentropy with each class term times ``alpha * (1 - p) ** gamma``, summed over ``axis``.

    >>> round(float(categorical_focal_crossentropy(jnp.array([[0.0, 1.0]]), jnp.array([[0.5, 0.5]]))[0]), 5)
    0.04332
    """
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}")
    y_pred = _float(y_pred)
    y_true, y_pred = _match(jnp.asarray(y_true, y_pred.dtype), y_pred, "categorical_focal_crossentropy")
    if y_pred.shape[-1] == 1:
        import warnings

        warnings.warn(
            "In loss categorical_focal_crossentropy, expected y_pred.shape to be (batch_size, num_classes) with "
            f"num_classes > 1. Received: y_pred.shape={y_pred.shape}. Consider using 'binary_crossentropy' if you "
            "only have 2 classes.",
            SyntaxWarning,
            stacklevel=2,
        )
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        y_pred = jax.nn.softmax(y_pred, axis=axis)
    output = jnp.clip(y_pred / jnp.sum(y_pred, axis=axis, keepdims=True), EPSILON, 1.0 - EPSILON)
    cce = -y_true * jnp.log(output)
    return jnp.sum(jnp.power(1.0 - output, gamma) * alpha * cce, axis=axis)


def categorical_generalized_cross_entropy(y_true: Any, y_pred: Any, q: float) -> Any:
    """``(1 - p_true ** q) / q`` for integer class ids ``y_true`` and probabilities ``y_pred`` (noise-robust).

    >>> round(float(categorical_generalized_cross_entropy(jnp.array([1]), jnp.array([[0.75, 0.25]]), 0.5)[0]), 5)
    1.0
    """
    y_pred = _float(y_pred)
    one_hot = jax.nn.one_hot(jnp.asarray(y_true).astype(jnp.int32), y_pred.shape[-1], dtype=y_pred.dtype)
    p = jnp.sum(y_pred * one_hot, axis=-1)
    return (1 - jnp.power(p, q)) / q


def dice(y_true: Any, y_pred: Any, axis: int | tuple[int, ...] | None = None) -> Any:
    """``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + eps)`` over ``axis`` (all axes if None).

    >>> round(float(dice(jnp.array([1.0, 0.0]), jnp.array([1.0, 1.0]))), 5)
    0.33333
    """
    y_pred = _float(y_pred)
    y_true, y_pred = _match(jnp.asarray(y_true, y_pred.dtype), y_pred, "dice")
    intersection = jnp.sum(y_true * y_pred, axis=axis)
    return 1 - 2.0 * intersection / (jnp.sum(y_true, axis=axis) + jnp.sum(y_pred, axis=axis) + EPSILON)


def tversky(
    y_true: Any, y_pred: Any, alpha: float = 0.5, beta: float = 0.5, axis: int | tuple[int, ...] | None = None
) -> Any:
    """``1 - TP / (TP + alpha * FP + beta * FN + eps)`` with soft counts over ``axis`` (all axes if None).

    >>> round(float(tversky(jnp.array([1.0, 0.0]), jnp.array([1.0, 1.0]))), 5)
    0.33333
    """
    y_pred = _float(y_pred)
    y_true, y_pred = _match(jnp.asarray(y_true, y_pred.dtype), y_pred, "tversky")
    intersection = jnp.sum(y_true * y_pred, axis=axis)
    fp = jnp.sum((1 - y_pred) * y_true, axis=axis)
    fn = jnp.sum(y_pred * (1 - y_true), axis=axis)
    return 1 - intersection / (intersection + fp * alpha + fn * beta + EPSILON)


def _pos_neg_masks(query: Any, key: Any, remove_diagonal: bool = True) -> tuple[Any, Any]:
    query = query.reshape(-1, 1) if query.ndim == 1 else query
    key = key.reshape(-1, 1) if key.ndim == 1 else key
    positive = query == key.T
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~jnp.eye(query.size, key.size, dtype=bool)
    return positive, negative


def circle(
    y_true: Any,
    y_pred: Any,
    ref_labels: Any = None,
    ref_embeddings: Any = None,
    remove_diagonal: bool = True,
    gamma: float = 80,
    margin: float = 0.4,
) -> Any:
    """Circle loss of L2-normalized embeddings ``y_pred`` with integer labels ``y_true`` (Sun et al., 2020).

    >>> emb = jnp.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> circle(jnp.array([0, 0, 1]), emb).shape
    (3,)
    """
    y_pred = _float(y_pred)
    y_true = jnp.asarray(y_true).astype(jnp.int32)
    ref_embeddings = y_pred if ref_embeddings is None else jnp.asarray(ref_embeddings)
    ref_labels = y_true if ref_labels is None else jnp.asarray(ref_labels).astype(jnp.int32)
    distances = jnp.maximum(1 - y_pred @ ref_embeddings.T, 0.0)
    positive, negative = _pos_neg_masks(y_true, ref_labels, remove_diagonal=remove_diagonal)
    pos_weights = jnp.maximum((margin + distances) * positive.astype(distances.dtype), 0.0)
    neg_weights = jnp.maximum((1 + margin - distances) * negative.astype(distances.dtype), 0.0)
    pos_wdists = -1 * gamma * pos_weights * (margin - distances)
    neg_wdists = gamma * neg_weights * (1 - margin - distances)
    p_loss = jax.scipy.special.logsumexp(jnp.where(positive, pos_wdists, -jnp.inf), axis=1)
    n_loss = jax.scipy.special.logsumexp(jnp.where(negative, neg_wdists, -jnp.inf), axis=1)
    return jax.nn.softplus(p_loss + n_loss)


def ctc(y_true: Any, y_pred: Any) -> Any:
    """CTC loss of integer label sequences ``(batch, max_length)`` (0 = padding/blank) and logits
    ``(batch, time, classes)``, one value per sequence.

    >>> round(float(ctc(jnp.array([[1, 2]]), jnp.zeros((1, 4, 3)))[0]), 4)
    1.6864
    """
    if jnp.ndim(y_true) != 2:
        raise ValueError("Targets `y_true` are expected to be a tensor of shape `(batch_size, max_length)` in "
                         f"integer format. Received: y_true.shape={tuple(jnp.shape(y_true))}")
    if jnp.ndim(y_pred) != 3:
        raise ValueError("Logits `y_pred` are expected to be a tensor of shape `(batch_size, max_length, "
                         f"num_classes)`. Received: y_pred.shape={tuple(jnp.shape(y_pred))}")
    from lamina.ops.nn import ctc_loss  # lazy: lamina.ops is heavier than this module

    batch, time = jnp.shape(y_pred)[:2]
    input_length = time * jnp.ones((batch,), dtype=jnp.int32)
    label_length = jnp.sum(jnp.asarray(y_true) != 0, axis=-1).astype(jnp.int32)
    return ctc_loss(y_true, y_pred, label_length, input_length, mask_index=0)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
bce = BCE = binary_crossentropy
logcosh = log_cosh
huber_loss = huber


# ------------------------------------------------------------------------------------------ reduction
def _divide_no_nan(a: Any, b: Any) -> Any:
    safe = jnp.where(b == 0, jnp.ones_like(b), b)
    return jnp.where(b == 0, jnp.zeros_like(a), a / safe)


def _weights_like(values: Any, sample_weight: Any) -> tuple[Any, Any]:
    sample_weight = jnp.asarray(sample_weight, values.dtype)
    values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
    vs, ws = tuple(values.shape), tuple(sample_weight.shape)
    if ws != vs and sample_weight.ndim <= values.ndim and vs[: sample_weight.ndim] == ws:
        sample_weight = sample_weight.reshape(ws + (1,) * (values.ndim - sample_weight.ndim))
    elif ws != vs and sample_weight.ndim != 0:
        raise ValueError(
            f"sample_weight of shape {_fmt(ws)} does not fit per-sample losses of shape {_fmt(vs)}. "
            f"Fix: pass one weight per sample, shape {_fmt(vs[:1])}."
        )
    return values, sample_weight


def reduce_weighted_values(
    values: Any, sample_weight: Any = None, reduction: str | None = "sum_over_batch_size", mask: Any = None
) -> Any:
    """Weight per-sample losses and reduce them as Keras does (``mask`` counts only valid entries).

    >>> float(reduce_weighted_values(jnp.array([1.0, 3.0]), jnp.array([1.0, 0.0])))
    0.5
    """
    values = jnp.asarray(values)
    if mask is not None:
        mask = jnp.asarray(mask, values.dtype)
        if reduction in ("mean", "sum_over_batch_size"):
            mask = jnp.where(
                mask > 0, _divide_no_nan(jnp.asarray(mask.size, values.dtype), jnp.sum(mask)), 0.0
            )
        sample_weight = (
            mask
            if sample_weight is None
            else (
                jnp.multiply(*squeeze_or_expand_to_same_rank(mask, jnp.asarray(sample_weight, values.dtype)))
            )
        )
    if sample_weight is not None:
        values, sample_weight = _weights_like(values, sample_weight)
        values = values * sample_weight
    if reduction is None or reduction == "none" or values.shape == () or values.shape == (0,):
        return values
    loss = jnp.sum(values)
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        if reduction == "mean_with_sample_weight" and sample_weight is not None:
            divisor = jnp.sum(sample_weight).astype(loss.dtype)
        else:
            divisor = jnp.asarray(values.size, loss.dtype)
        loss = _divide_no_nan(loss, divisor)
    return loss


# -------------------------------------------------------------------------------------------- classes
class Loss:
    """Base class: ``loss(y_true, y_pred, sample_weight=None)`` reduces ``self.call(y_true, y_pred)``.

    >>> class Twice(Loss):
    ...     def call(self, y_true, y_pred):
    ...         return 2 * mean_squared_error(y_true, y_pred)
    >>> float(Twice(name="twice")(jnp.zeros((2, 1)), jnp.ones((2, 1))))
    2.0
    """

    def __init__(
        self, name: str | None = None, reduction: str | None = "sum_over_batch_size", dtype: Any = None
    ) -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"Invalid value for argument `reduction`. Expected one of {_REDUCTIONS}. Received: "
                f"reduction={reduction}"
            )
        if name is None:
            from lamina import naming

            name = naming.auto_name(type(self).__name__)
        self.name = name
        self.reduction = reduction
        from lamina import backend, dtype_policies

        self._dtype_policy = dtype_policies.get(dtype or backend.floatx())
        self._dtype = self._dtype_policy.compute_dtype

    @property
    def dtype(self) -> str:
        """The dtype targets and predictions are converted to (the policy's compute dtype)."""
        return self._dtype

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        y_pred = jnp.asarray(y_pred, self.dtype)
        y_true = jnp.asarray(y_true, self.dtype)
        self._last_mask = None
        values = self.call(y_true, y_pred)
        mask = getattr(self, "_last_mask", None)
        self._last_mask = None
        return reduce_weighted_values(jnp.asarray(values, self.dtype), sample_weight, self.reduction, mask)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """Per-sample losses, shape = the batch dims."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class LossFunctionWrapper(Loss):
    """Wrap a function ``fn(y_true, y_pred, **kwargs) -> per-sample values`` as a ``Loss``.

    >>> float(LossFunctionWrapper(mean_absolute_error, name="mae")(jnp.zeros((2,)), jnp.ones((2, 1))))
    1.0
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            name=name if name is not None else getattr(fn, "__name__", None), reduction=reduction, dtype=dtype
        )
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: Any, y_pred: Any) -> Any:
        if self.fn not in (sparse_categorical_crossentropy,):
            y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fn": serialize(self.fn), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        config = dict(config)
        if isinstance(config.get("fn"), (dict, str)):
            config["fn"] = _resolve_function(config["fn"])
        return cls(**config)


def _builtin(
    fn: Callable[..., Any], default_name: str, extra: tuple[str, ...] = ()
) -> type[LossFunctionWrapper]:
    params = inspect.signature(fn).parameters
    defaults = {k: params[k].default for k in extra}

    def __init__(
        self: Any,
        reduction: str | None = "sum_over_batch_size",
        name: str = default_name,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        unknown = set(kwargs) - set(extra)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected arguments {sorted(unknown)}")
        values = {**defaults, **kwargs}
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, dtype=dtype, **values)
        for k, v in values.items():
            setattr(self, k, v)

    def get_config(self: Any) -> dict[str, Any]:
        return {**Loss.get_config(self), **{k: getattr(self, k) for k in self._config_keys}}

    return type(
        "_Builtin",
        (LossFunctionWrapper,),
        {"__init__": __init__, "get_config": get_config, "_config_keys": extra},
    )


class MeanSquaredError(_builtin(mean_squared_error, "mean_squared_error")):
    """Mean of squares of errors. ``MeanSquaredError()(y_true, y_pred, sample_weight=None)``.

    >>> MeanSquaredError().get_config()
    {'name': 'mean_squared_error', 'reduction': 'sum_over_batch_size'}
    """


class MeanAbsoluteError(_builtin(mean_absolute_error, "mean_absolute_error")):
    """Mean of absolute errors.

    >>> MeanAbsoluteError().name
    'mean_absolute_error'
    """


class MeanAbsolutePercentageError(_builtin(mean_absolute_percentage_error, "mean_absolute_percentage_error")):
    """Mean absolute percentage error.

    >>> MeanAbsolutePercentageError().name
    'mean_absolute_percentage_error'
    """


class MeanSquaredLogarithmicError(_builtin(mean_squared_logarithmic_error, "mean_squared_logarithmic_error")):
    """Mean squared logarithmic error.

    >>> MeanSquaredLogarithmicError().name
    'mean_squared_logarithmic_error'
    """


class CosineSimilarity(_builtin(cosine_similarity, "cosine_similarity", ("axis",))):
    """Negative cosine similarity (config without ``axis``, as Keras).

    >>> CosineSimilarity(axis=-1).name
    'cosine_similarity'
    """

    _config_keys = ()


class Huber(_builtin(huber, "huber_loss", ("delta",))):
    """Huber loss (Keras's config omits ``delta``; so does this one).

    >>> Huber(delta=2.0).delta
    2.0
    """

    _config_keys = ()


class LogCosh(_builtin(log_cosh, "log_cosh")):
    """Logarithm of the hyperbolic cosine of the error.

    >>> LogCosh().name
    'log_cosh'
    """


class Hinge(_builtin(hinge, "hinge")):
    """Hinge loss.

    >>> Hinge().name
    'hinge'
    """


class SquaredHinge(_builtin(squared_hinge, "squared_hinge")):
    """Squared hinge loss.

    >>> SquaredHinge().name
    'squared_hinge'
    """


class CategoricalHinge(_builtin(categorical_hinge, "categorical_hinge")):
    """Categorical hinge loss.

    >>> CategoricalHinge().name
    'categorical_hinge'
    """


class KLDivergence(_builtin(kl_divergence, "kl_divergence")):
    """Kullback-Leibler divergence.

    >>> KLDivergence().name
    'kl_divergence'
    """


class Poisson(_builtin(poisson, "poisson")):
    """Poisson loss.

    >>> Poisson().name
    'poisson'
    """


class BinaryCrossentropy(
    _builtin(binary_crossentropy, "binary_crossentropy", ("from_logits", "label_smoothing", "axis"))
):
    """Binary crossentropy for 0/1 targets and sigmoid outputs (or logits with ``from_logits=True``).

    >>> BinaryCrossentropy(from_logits=True).get_config()["from_logits"]
    True
    """


class CategoricalCrossentropy(
    _builtin(categorical_crossentropy, "categorical_crossentropy", ("from_logits", "label_smoothing", "axis"))
):
    """Categorical crossentropy for one-hot targets.

    >>> CategoricalCrossentropy().get_config()["label_smoothing"]
    0.0
    """


class SparseCategoricalCrossentropy(
    _builtin(
        sparse_categorical_crossentropy,
        "sparse_categorical_crossentropy",
        ("from_logits", "ignore_class", "axis"),
    )
):
    """Categorical crossentropy for integer class ids; ``ignore_class`` entries count neither in the
    sum nor in the batch size.

    >>> SparseCategoricalCrossentropy().get_config()
    {'name': 'sparse_categorical_crossentropy', 'reduction': 'sum_over_batch_size', 'from_logits': False, \
'ignore_class': None}
    """

    _config_keys = ("from_logits", "ignore_class")

    def call(self, y_true: Any, y_pred: Any) -> Any:
        values = super().call(y_true, y_pred)
        if self.ignore_class is not None:
            labels = jnp.asarray(y_true)
            if labels.ndim == jnp.ndim(y_pred):
                labels = jnp.squeeze(labels, self.axis)
            self._last_mask = labels != self.ignore_class
        return values


class BinaryFocalCrossentropy(
    _builtin(
        binary_focal_crossentropy,
        "binary_focal_crossentropy",
        ("apply_class_balancing", "alpha", "gamma", "from_logits", "label_smoothing", "axis"),
    )
):
    """Binary focal crossentropy: down-weights well-classified examples by ``(1 - p_t) ** gamma``.

    >>> BinaryFocalCrossentropy().get_config()["gamma"]
    2.0
    """

    _config_keys = ("from_logits", "label_smoothing", "axis", "apply_class_balancing", "alpha", "gamma")


class CategoricalFocalCrossentropy(
    _builtin(
        categorical_focal_crossentropy,
        "categorical_focal_crossentropy",
        ("alpha", "gamma", "from_logits", "label_smoothing", "axis"),
    )
):
    """Categorical focal crossentropy for one-hot targets.

    >>> CategoricalFocalCrossentropy().get_config()["alpha"]
    0.25
    """

    _config_keys = ("from_logits", "label_smoothing", "axis", "alpha", "gamma")


class CategoricalGeneralizedCrossEntropy(
    _builtin(categorical_generalized_cross_entropy, "categorical_generalized_cross_entropy", ("q",))
):
    """Generalized crossentropy ``(1 - p ** q) / q`` for integer class ids, ``0 < q < 1``.

    >>> CategoricalGeneralizedCrossEntropy(q=0.7).get_config()["q"]
    0.7
    """

    def __init__(self, q: float = 0.5, reduction: str | None = "sum_over_batch_size",
                 name: str = "categorical_generalized_cross_entropy", dtype: Any = None) -> None:
        if not 0 < q < 1:
            raise ValueError("q must be in the interval (0, 1)")
        super().__init__(reduction=reduction, name=name, dtype=dtype, q=q)


class Dice(_builtin(dice, "dice", ("axis",))):
    """Dice loss ``1 - 2|A∩B| / (|A| + |B|)`` over ``axis`` (everything by default).

    >>> Dice().get_config()
    {'name': 'dice', 'reduction': 'sum_over_batch_size', 'axis': None}
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "dice", axis: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(reduction=reduction, name=name, dtype=dtype, axis=axis)


class Tversky(_builtin(tversky, "tversky", ("alpha", "beta", "axis"))):
    """Tversky loss: Dice with ``alpha``/``beta`` weights on false positives/negatives.

    >>> Tversky(alpha=0.3, beta=0.7).get_config()["beta"]
    0.7
    """

    def __init__(self, alpha: float = 0.5, beta: float = 0.5, reduction: str | None = "sum_over_batch_size",
                 name: str = "tversky", axis: Any = None, dtype: Any = None) -> None:
        super().__init__(reduction=reduction, name=name, dtype=dtype, alpha=alpha, beta=beta, axis=axis)


class Circle(_builtin(circle, "circle", ("gamma", "margin", "remove_diagonal"))):
    """Circle loss for metric learning on L2-normalized embeddings; only positive losses count in the mean.

    >>> Circle().get_config()
    {'name': 'circle', 'reduction': 'sum_over_batch_size', 'gamma': 80.0, 'margin': 0.4, 'remove_diagonal': True}
    """

    def __init__(self, gamma: float = 80.0, margin: float = 0.4, remove_diagonal: bool = True,
                 reduction: str | None = "sum_over_batch_size", name: str = "circle", dtype: Any = None) -> None:
        super().__init__(reduction=reduction, name=name, dtype=dtype, gamma=gamma, margin=margin,
                         remove_diagonal=remove_diagonal)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        values = super().call(y_true, y_pred)
        self._last_mask = values > 0  # as Keras: the reduction averages over the positive losses only
        return values


class CTC(_builtin(ctc, "ctc")):
    """Connectionist temporal classification loss (targets ``(batch, max_length)``, logits ``(batch, time, classes)``).

    >>> CTC().get_config()
    {'name': 'ctc', 'reduction': 'sum_over_batch_size'}
    """


class _AutoCrossentropy(Loss):
    """``"crossentropy"`` / ``"ce"``: binary, sparse or categorical chosen from the shapes, as Keras."""

    def call(self, y_true: Any, y_pred: Any) -> Any:
        is_binary = y_pred.shape[-1] == 1
        is_sparse = y_true.ndim < y_pred.ndim or (y_true.shape[-1] == 1 and y_pred.shape[-1] > 1)
        if is_binary:
            return binary_crossentropy(*squeeze_or_expand_to_same_rank(y_true, y_pred))
        if is_sparse:
            return sparse_categorical_crossentropy(y_true, y_pred)
        return categorical_crossentropy(y_true, y_pred)


# --------------------------------------------------------------------------------- lookup and files
_CLASSES: dict[str, type[Loss]] = {
    c.__name__: c
    for c in (
        MeanSquaredError,
        MeanAbsoluteError,
        MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError,
        CosineSimilarity,
        Huber,
        LogCosh,
        Hinge,
        SquaredHinge,
        CategoricalHinge,
        KLDivergence,
        Poisson,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        BinaryFocalCrossentropy,
        CategoricalFocalCrossentropy,
        CategoricalGeneralizedCrossEntropy,
        Dice,
        Tversky,
        Circle,
        CTC,
        LossFunctionWrapper,
    )
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    f.__name__: f
    for f in (
        mean_squared_error,
        mean_absolute_error,
        mean_absolute_percentage_error,
        mean_squared_logarithmic_error,
        cosine_similarity,
        huber,
        log_cosh,
        hinge,
        squared_hinge,
        categorical_hinge,
        kl_divergence,
        poisson,
        binary_crossentropy,
        categorical_crossentropy,
        sparse_categorical_crossentropy,
        binary_focal_crossentropy,
        categorical_focal_crossentropy,
        categorical_generalized_cross_entropy,
        dice,
        tversky,
        circle,
        ctc,
    )
}
_ALIASES = {
    "mse": mean_squared_error,
    "MSE": mean_squared_error,
    "mae": mean_absolute_error,
    "MAE": mean_absolute_error,
    "mape": mean_absolute_percentage_error,
    "MAPE": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error,
    "MSLE": mean_squared_logarithmic_error,
    "kld": kl_divergence,
    "KLD": kl_divergence,
    "kullback_leibler_divergence": kl_divergence,
    "bce": binary_crossentropy,
    "BCE": binary_crossentropy,
    "logcosh": log_cosh,
    "huber_loss": huber,
}


def _resolve_function(spec: Any) -> Callable[..., Any]:
    name = spec["config"] if isinstance(spec, dict) else spec
    fn = _FUNCTIONS.get(name) or _ALIASES.get(name)
    if fn is None:
        raise ValueError(f"Unknown loss function {name!r}.")
    return fn


def serialize(loss: Any) -> Any:
    """Keras's serialized form of a loss object or built-in loss function.

    >>> serialize(MeanSquaredError())["class_name"]
    'MeanSquaredError'
    >>> serialize(mean_squared_error)["config"]
    'mean_squared_error'
    """
    if isinstance(loss, Loss) and type(loss).__name__ in _CLASSES:
        return {
            "module": "keras.losses",
            "class_name": type(loss).__name__,
            "config": loss.get_config(),
            "registered_name": None,
        }
    if callable(loss) and getattr(loss, "__name__", None) in _FUNCTIONS:
        return {
            "module": "builtins",
            "class_name": "function",
            "config": loss.__name__,
            "registered_name": "function",
        }
    if isinstance(loss, str):
        return loss
    from lamina.saving.serialization_lib import serialize_keras_object  # inside: saving imports layers lazily

    return serialize_keras_object(loss)  # a custom Loss subclass or function, by its registered name


def deserialize(config: Any) -> Any:
    """Inverse of :func:`serialize` (a class dict gives an object, a function dict the function).

    >>> deserialize(serialize(BinaryCrossentropy(from_logits=True))).from_logits
    True
    """
    if isinstance(config, str):
        return get(config)
    from lamina.saving.serialization_lib import deserialize_keras_object

    if config.get("class_name") == "function":
        name = config.get("config")
        if isinstance(name, str) and (name in _FUNCTIONS or name in _ALIASES):
            return _resolve_function(config)
        return deserialize_keras_object(config)
    name = config["class_name"]
    if name in _CLASSES and not (isinstance(config.get("registered_name"), str) and ">" in config["registered_name"]):
        return _CLASSES[name].from_config(dict(config.get("config") or {}))
    try:
        return deserialize_keras_object(config)
    except TypeError as e:
        raise ValueError(f"Unknown loss class {name!r}; known: {sorted(_CLASSES)}. {e}") from None


def get(identifier: Any) -> Loss | None:
    """A ``Loss`` object from a name (``"mse"``, ``"categorical_crossentropy"``, ``"MeanSquaredError"``,
    ``"crossentropy"``), a function, a class, an instance or a serialized dict.

    >>> get("mse").name, get("BinaryCrossentropy").name
    ('mse', 'binary_crossentropy')
    """
    if identifier is None:
        return None
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
        return obj if isinstance(obj, Loss) else LossFunctionWrapper(obj)
    if isinstance(identifier, str):
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        if identifier.lower() in ("crossentropy", "ce"):
            return _AutoCrossentropy(name=identifier)
        fn = _FUNCTIONS.get(identifier) or _ALIASES.get(identifier)
        if fn is None:
            raise ValueError(
                f"Could not interpret loss identifier: {identifier!r}. Known names: "
                f"{sorted(set(_FUNCTIONS) | set(_ALIASES) | set(_CLASSES))}."
            )
        return LossFunctionWrapper(fn, name=identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
