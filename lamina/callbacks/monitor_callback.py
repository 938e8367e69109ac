"""The shared base of callbacks that watch a metric: which way is better, and by how much."""

from __future__ import annotations

import warnings
from typing import Any

from lamina.callbacks.callback import Callback

_HIGHER_IS_BETTER = ("acc", "accuracy", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2", "fmeasure")
_LOWER_IS_BETTER = ("loss", "error", "crossentropy", "mse", "mae", "mape", "msle", "hinge", "divergence",
                    "kld", "poisson", "logcosh", "huber")


def _direction_from_name(monitor: str, model: Any) -> str | None:
    """``"min"``, ``"max"`` or ``None`` for a monitored log name such as ``val_accuracy``."""
    name = monitor.removeprefix("val_")
    try:
        metrics = list(getattr(model, "metrics", None) or [])
    except Exception:  # noqa: BLE001 - a model that cannot list its metrics yet: fall back to the name
        metrics = []
    for metric in metrics:
        direction = getattr(metric, "direction", None) or getattr(metric, "_direction", None)
        if getattr(metric, "name", None) == name and direction in ("up", "down"):
            return "max" if direction == "up" else "min"
    lowered = name.lower()
    if lowered == "loss" or lowered.endswith("_loss"):
        return "min"
    words = lowered.split("_")
    if any(k in words for k in _HIGHER_IS_BETTER):
        return "max"
    if any(k in lowered for k in _LOWER_IS_BETTER):
        return "min"
    if "accuracy" in lowered:
        return "max"
    return None


class MonitorCallback(Callback):
    """Shared logic: which way is better, and whether a value improves on a reference by ``min_delta``."""

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline: float | None = None,
                 min_delta: float = 0.0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.",
                          stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self._sign: int | None = None  # -1: lower is better, +1: higher is better

    def _resolve_mode(self) -> None:
        if self._sign is not None:
            return
        mode = self.mode
        if mode == "auto":
            mode = _direction_from_name(self.monitor, self._model)
            if mode is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but lamina can't tell "
                    "whether that metric should be maximized or minimized. Pass `mode='max'` in order to "
                    "monitor based on the highest metric value, or pass `mode='min'` in order to use the "
                    "lowest value.")
        self._sign = 1 if mode == "max" else -1

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        self._resolve_mode()
        if reference is None:
            return True
        if self._sign > 0:
            return value - self.min_delta > reference
        return value + self.min_delta < reference


def _as_float(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return value
