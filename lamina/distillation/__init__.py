"""``lamina.distillation``: knowledge distillation (Keras 3's ``keras.distillation``)."""

from lamina.distillation.distillation_loss import DistillationLoss, FeatureDistillation, LogitsDistillation
from lamina.distillation.distiller import Distiller

__all__ = ["DistillationLoss", "Distiller", "FeatureDistillation", "LogitsDistillation"]
