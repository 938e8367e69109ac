"""``Distiller``: trains a student model on its own loss and on distillation losses against a frozen teacher
(Keras 3's ``keras.distillation.Distiller``).

``total = student_loss_weight * student_loss + (1 - student_loss_weight) * sum(weight_i * distillation_loss_i)``.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from lamina import metrics, tree
from lamina.distillation.distillation_loss import _as_loss
from lamina.layers.base import CallScope
from lamina.models import Model, Sequential


class Distiller(Model):
    """A model whose ``call`` is the student's and whose loss mixes the student's loss with distillation.

    Args:
        teacher: a trained model (frozen here).
        student: the model to train.
        distillation_losses: a ``DistillationLoss`` or a list of them.
        distillation_loss_weights: one weight per distillation loss (1.0 each by default).
        student_loss_weight: the share of the student's own loss, in [0, 1].
    """

    def __init__(self, teacher: Model, student: Model, distillation_losses: Any,
                 distillation_loss_weights: list[float] | None = None, student_loss_weight: float = 0.5,
                 name: str = "distiller", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        for role, model in (("Teacher", teacher), ("Student", student)):
            if not isinstance(model, Model):
                raise ValueError(f"{role} must be a keras.Model, got {type(model)}")
        self._check_compatible(teacher, student)
        self.teacher = teacher
        self.student = student
        if not isinstance(student_loss_weight, (int, float)):
            raise ValueError(f"student_loss_weight must be a number, got {type(student_loss_weight)}")
        if student_loss_weight < 0.0 or student_loss_weight > 1.0:
            raise ValueError(f"student_loss_weight must be between 0.0 and 1.0, got {student_loss_weight}")
        self.student_loss_weight = student_loss_weight
        if distillation_losses is None:
            raise ValueError("'distillation_losses' cannot be `None`. Provide a distillation loss (e.g., "
                             "LogitsDistillation or FeatureDistillation) or a list of distillation losses.")
        if not isinstance(distillation_losses, (list, tuple)):
            distillation_losses, distillation_loss_weights = [distillation_losses], [1.0]
        elif distillation_loss_weights is None:
            distillation_loss_weights = [1.0] * len(distillation_losses)
        elif len(distillation_loss_weights) != len(distillation_losses):
            raise ValueError(f"Number of distillation_loss_weights ({len(distillation_loss_weights)}) must match "
                             f"number of distillation_losses ({len(distillation_losses)})")
        self.distillation_losses = list(distillation_losses)
        self.distillation_loss_weights = list(distillation_loss_weights)
        for loss in self.distillation_losses:
            loss.validate_model_compatibility(teacher, student)
        self._teacher_features = self._feature_extractor(teacher, "teacher_layer_name")
        self._student_features = self._feature_extractor(student, "student_layer_name")
        self.teacher.trainable = False
        self.student_loss_tracker = metrics.Mean(name="student_loss")
        self.distillation_loss_tracker = metrics.Mean(name="distillation_loss")
        self.total_loss_tracker = metrics.Mean(name="total_loss")

    @staticmethod
    def _check_compatible(teacher: Model, student: Model) -> None:
        t_in, s_in = getattr(teacher, "inputs", None), getattr(student, "inputs", None)
        t_out, s_out = getattr(teacher, "outputs", None), getattr(student, "outputs", None)
        for context, a, b in (("input", t_in, s_in), ("output", t_out, s_out)):
            if a is None or b is None:
                continue
            for ta, sb in zip(tree.flatten(a), tree.flatten(b)):
                if len(ta.shape) != len(sb.shape):
                    raise ValueError(f"Teacher and student {context} shapes have different dimensions. Teacher: "
                                     f"{ta.shape}, Student: {sb.shape}.")
                if any(x is not None and y is not None and x != y for x, y in zip(ta.shape, sb.shape)):
                    raise ValueError(f"Teacher and student {context} shapes are incompatible. Teacher: {ta.shape}, "
                                     f"Student: {sb.shape}. All dimensions must match.")
                if ta.dtype != sb.dtype:
                    raise ValueError(f"Teacher and student {context} dtypes must match. Teacher: {ta.dtype}, "
                                     f"Student: {sb.dtype}.")

    def _feature_extractor(self, model: Model, attribute: str) -> Model | None:
        names: list[str] = []
        for loss in self.distillation_losses:
            name = getattr(loss, attribute, None)
            if name and name not in names:
                names.append(name)
        if not names:
            return None
        if getattr(model, "inputs", None) is None:
            raise ValueError(f"Cannot create feature extractor for {model.name}. The model has no symbolic inputs "
                             "attribute.")
        final = model.layers[-1].output if isinstance(model, Sequential) else model.output
        outputs = {"final_output": final, **{n: model.get_layer(name=n).output for n in names}}
        return Model(inputs=model.inputs, outputs=outputs, name=f"{model.name}_multi_feature_extractor")

    def compile(self, optimizer: Any = "adam", loss: Any = None, metrics: Any = None, **kwargs: Any) -> None:
        """As ``Model.compile``; ``loss`` is the student's own loss (required)."""
        if loss is None:
            raise ValueError("'loss' cannot be `None`.")
        self._student_loss = tree.map_structure(_as_loss, loss)
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ValueError(f"metrics must be a list or tuple, got {type(metrics)}")
        super().compile(optimizer=optimizer, loss=None, metrics=metrics, **kwargs)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        return self.student(inputs, training=training)

    def compute_loss_and_updates(self, trainable_variables: Any, non_trainable_variables: Any,
                                 metrics_variables: Any, x: Any, y: Any, sample_weight: Any, training: bool = False,
                                 optimizer_variables: Any = None) -> Any:
        # compute_loss calls the teacher and the feature extractors: they read the step's (traced) weights
        tkeys = [k for k, w in self._weight_keys() if w.trainable]
        ntkeys = [k for k, w in self._weight_keys() if not w.trainable]
        trainable = self._as_weight_dict(trainable_variables, tkeys, "trainable_variables")
        non_trainable = self._as_weight_dict(non_trainable_variables, ntkeys, "non_trainable_variables")
        merged = {**trainable, **non_trainable}
        values = {id(w): merged[k] for k, w in self._weight_keys() if k in merged}
        with CallScope(values=values, training=training):
            return super().compute_loss_and_updates(trainable_variables, non_trainable_variables, metrics_variables,
                                                    x, y, sample_weight, training, optimizer_variables)

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Any:
        """The mixed loss; also updates ``student_loss``, ``distillation_loss`` and ``total_loss``."""
        if y_pred is None:
            y_pred = self(x, training=training)
        student_loss: Any = 0.0
        if self.student_loss_weight > 0.0 and y is not None:
            parts = tree.flatten(tree.map_structure(lambda fn, t, p: fn(t, p), self._student_loss, y, y_pred))
            student_loss = jnp.sum(jnp.stack(parts)) if len(parts) > 1 else parts[0]
            if jnp.ndim(student_loss) > 0:
                student_loss = jnp.mean(student_loss)
        distillation: Any = 0.0
        if self.student_loss_weight < 1.0:
            teacher = self._teacher_features(x, training=False) if self._teacher_features is not None else \
                {"final_output": self.teacher(x, training=False)}
            student = self._student_features(x, training=True) if self._student_features is not None else \
                {"final_output": y_pred}
            for loss, weight in zip(self.distillation_losses, self.distillation_loss_weights):
                if getattr(loss, "teacher_layer_name", None) is not None:
                    t_out = teacher[loss.teacher_layer_name or "final_output"]
                    s_out = student[loss.student_layer_name or "final_output"]
                else:
                    t_out, s_out = teacher["final_output"], y_pred
                loss.validate_outputs(t_out, s_out)
                value = loss.compute_loss(t_out, s_out)
                if jnp.ndim(value) > 0:
                    raise ValueError(f"Distillation loss {type(loss).__name__} returned a non-scalar loss with shape "
                                     f"{jnp.shape(value)}. The compute_loss method must return a scalar tensor.")
                distillation = distillation + weight * value
        total = self.student_loss_weight * student_loss + (1.0 - self.student_loss_weight) * distillation
        self.student_loss_tracker.update_state(student_loss)
        self.distillation_loss_tracker.update_state(distillation)
        self.total_loss_tracker.update_state(total)
        return total

    def get_config(self) -> dict[str, Any]:
        from lamina.saving.serialization_lib import serialize_keras_object

        return {"name": self.name, "trainable": self.trainable, "teacher": serialize_keras_object(self.teacher),
                "student": serialize_keras_object(self.student),
                "distillation_losses": [serialize_keras_object(loss) for loss in self.distillation_losses],
                "distillation_loss_weights": self.distillation_loss_weights,
                "student_loss_weight": self.student_loss_weight}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Distiller:
        from lamina.saving.serialization_lib import deserialize_keras_object

        config = dict(config)
        for key in ("teacher", "student"):
            config[key] = deserialize_keras_object(config[key], custom_objects)
        config["distillation_losses"] = [deserialize_keras_object(c, custom_objects)
                                         for c in config["distillation_losses"]]
        config.pop("trainable", None)
        return cls(**config)
