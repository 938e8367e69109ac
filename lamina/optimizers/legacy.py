"""``keras.optimizers.legacy``: the Keras 2 optimizer names, which Keras 3 keeps only to raise a clear error.

>>> try:
...     Adam()
... except ImportError as e:
...     print(str(e)[:55])
`keras.optimizers.legacy` is not supported in Keras 3.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Adagrad", "Adam", "Ftrl", "Optimizer", "RMSprop", "SGD"]


class LegacyOptimizerWarning:
    """Raises on construction, with Keras 3's message (use ``lamina.optimizers.Adam`` etc. instead)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise ImportError(
            "`keras.optimizers.legacy` is not supported in Keras 3. When using `tf.keras`, to continue using a "
            "`tf.keras.optimizers.legacy` optimizer, you can install the `tf_keras` package (Keras 2) and set the "
            "environment variable `TF_USE_LEGACY_KERAS=True` to configure TensorFlow to use `tf_keras` when "
            "accessing `tf.keras`. In lamina, use `lamina.optimizers.Adam` (and the other optimizers) instead."
        )


Adagrad = Adam = Ftrl = Optimizer = RMSprop = SGD = LegacyOptimizerWarning
