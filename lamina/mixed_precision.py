"""Keras 3's ``keras.mixed_precision``: the global dtype policy and its legacy names.

>>> from lamina import mixed_precision, layers
>>> mixed_precision.set_global_policy("mixed_bfloat16")
>>> dense = layers.Dense(2)
>>> dense.dtype_policy, dense.compute_dtype, dense.variable_dtype
(<DTypePolicy "mixed_bfloat16">, 'bfloat16', 'float32')
>>> mixed_precision.set_global_policy("float32")
>>> mixed_precision.global_policy()
<DTypePolicy "float32">
"""

from __future__ import annotations

from typing import Any

from lamina.dtype_policies import DTypePolicy, dtype_policy, set_dtype_policy

__all__ = ["DTypePolicy", "Policy", "dtype_policy", "global_policy", "set_dtype_policy", "set_global_policy"]

Policy = DTypePolicy
global_policy = dtype_policy
set_global_policy = set_dtype_policy


def __getattr__(name: str) -> Any:
    if name == "LossScaleOptimizer":  # imported on use: optimizers are heavier than this module
        from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer

        return LossScaleOptimizer
    raise AttributeError(f"module 'lamina.mixed_precision' has no attribute {name!r}")
