"""Distillation losses (``keras.distillation``): how a student's outputs or features are pulled toward a teacher's.

>>> import numpy as np
>>> loss = LogitsDistillation(temperature=2.0, loss="mse")
>>> float(loss.compute_loss(np.array([[2.0, 0.0]]), np.array([[0.0, 0.0]])))
0.5
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from lamina import losses, tree


def _as_loss(item: Any) -> Any:
    if item is None:
        return None
    if isinstance(item, str):
        fn = losses.get(item)
        if fn is None:
            raise ValueError(f"Unknown loss function: '{item}'.")
        return fn
    return item


def _total(values: Any) -> Any:
    return jnp.sum(jnp.stack([jnp.asarray(v, "float32") for v in tree.flatten(values)]))


class DistillationLoss:
    """Base class: ``compute_loss(teacher_outputs, student_outputs)`` returns a scalar."""

    def compute_loss(self, teacher_outputs: Any, student_outputs: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("Subclasses must implement compute_loss")

    def validate_outputs(self, teacher_outputs: Any, student_outputs: Any) -> None:
        tree.assert_same_structure(teacher_outputs, student_outputs)

    def validate_model_compatibility(self, teacher: Any, student: Any) -> None:
        """Raise when this loss cannot be used with these models (no check here)."""


class FeatureDistillation(DistillationLoss):
    """``loss`` (default ``"mse"``) between the outputs of ``teacher_layer_name`` and ``student_layer_name`` (the
    models' final outputs when not given)."""

    def __init__(self, loss: Any = "mse", teacher_layer_name: str | None = None,
                 student_layer_name: str | None = None) -> None:
        self.teacher_layer_name = teacher_layer_name
        self.student_layer_name = student_layer_name
        self.loss = tree.map_structure(_as_loss, loss)
        if all(item is None for item in tree.flatten(self.loss)):
            raise ValueError("The `loss` argument in `FeatureDistillation` must contain at least one non-`None` "
                             "value.")

    def validate_model_compatibility(self, teacher: Any, student: Any) -> None:
        if self.teacher_layer_name is not None or self.student_layer_name is not None:
            subclassed = [role for role, model in (("teacher", teacher), ("student", student))
                          if getattr(model, "inputs", None) is None]
            if subclassed:
                raise ValueError(f"FeatureDistillation with specific layer names requires Functional or Sequential "
                                 f"models. The {' and '.join(subclassed)} model(s) appear to be subclassed (no "
                                 "symbolic inputs/outputs). Either use Functional/Sequential models, or use "
                                 "FeatureDistillation without layer names (to distill final outputs only), or use "
                                 "LogitsDistillation instead.")
        for role, model, name in (("teacher", teacher, self.teacher_layer_name),
                                  ("student", student, self.student_layer_name)):
            if name is not None:
                try:
                    model.get_layer(name=name)
                except ValueError as err:
                    raise ValueError(f"In {role} model: {err}") from None

    def validate_outputs(self, teacher_outputs: Any, student_outputs: Any) -> None:
        super().validate_outputs(teacher_outputs, student_outputs)
        try:
            tree.assert_same_structure(self.loss, teacher_outputs)
        except ValueError as err:
            raise ValueError(f"Loss structure mismatch. Loss structure: {self.loss!r}, Output "
                             f"structure: {teacher_outputs!r}. Error: {err}") from None

    def compute_loss(self, teacher_outputs: Any, student_outputs: Any, **kwargs: Any) -> Any:
        def one(fn: Any, t: Any, s: Any) -> Any:
            return 0.0 if fn is None else jnp.mean(fn(t, s))

        return _total(tree.map_structure(one, self.loss, teacher_outputs, student_outputs))

    def get_config(self) -> dict[str, Any]:
        return {"loss": losses.serialize(self.loss), "teacher_layer_name": self.teacher_layer_name,
                "student_layer_name": self.student_layer_name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FeatureDistillation:
        config = dict(config)
        config["loss"] = losses.deserialize(config["loss"])
        return cls(**config)


class LogitsDistillation(DistillationLoss):
    """``loss`` between teacher and student logits divided by ``temperature``; with a ``KLDivergence`` loss
    object, between their softmaxes, times ``temperature**2`` (Hinton et al.)."""

    def __init__(self, temperature: float = 3.0, loss: Any = "kl_divergence") -> None:
        self.temperature = temperature
        self.loss = tree.map_structure(_as_loss, loss)
        if all(item is None for item in tree.flatten(self.loss)):
            raise ValueError("At least one loss must be non-`None`.")
        if not isinstance(temperature, (int, float)):
            raise ValueError(f"temperature must be a number, got {type(temperature)}")
        if temperature <= 0.0:
            raise ValueError("temperature must be positive.")

    def compute_loss(self, teacher_outputs: Any, student_outputs: Any, **kwargs: Any) -> Any:
        teacher = tree.map_structure(lambda x: jnp.asarray(x) / self.temperature, teacher_outputs)
        student = tree.map_structure(lambda x: jnp.asarray(x) / self.temperature, student_outputs)

        def one(fn: Any, t: Any, s: Any) -> Any:
            if fn is None:
                return 0.0
            if isinstance(fn, losses.KLDivergence):
                probs_t, probs_s = jax.nn.softmax(t, axis=-1), jax.nn.softmax(s, axis=-1)
                return jnp.mean(fn(probs_t, probs_s)) * self.temperature ** 2
            return jnp.mean(fn(t, s))

        return _total(tree.map_structure(one, self.loss, teacher, student))

    def get_config(self) -> dict[str, Any]:
        from lamina.saving.serialization_lib import serialize_keras_object

        return {"temperature": self.temperature, "loss": serialize_keras_object(self.loss)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LogitsDistillation:
        config = dict(config)
        config["loss"] = losses.deserialize(config["loss"])
        return cls(**config)
