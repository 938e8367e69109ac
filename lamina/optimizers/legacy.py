"""``keras.optimizers.legacy``: Keras 3 keeps the names so that old imports work, but building one raises.

>>> from lamina.optimizers import legacy
>>> legacy.Adam()
Traceback (most recent call last):
...
ImportError: `keras.optimizers.legacy` is not supported in Keras 3. ...
"""

from __future__ import annotations

from typing import Any


class LegacyOptimizerWarning:
    """Every ``legacy`` optimizer name: constructing it raises ``ImportError`` exactly as Keras 3 does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise ImportError(
            "`keras.optimizers.legacy` is not supported in Keras 3. When using "
            "`tf.keras`, to continue using a `tf.keras.optimizers.legacy` "
            "optimizer, you can install the `tf_keras` package (Keras 2) and "
            "set the environment variable `TF_USE_LEGACY_KERAS=True` to "
            "configure TensorFlow to use `tf_keras` when accessing `tf.keras`."
        )


Adagrad = Adam = Ftrl = RMSprop = SGD = Optimizer = LegacyOptimizerWarning

__all__ = ["Adagrad", "Adam", "Ftrl", "Optimizer", "RMSprop", "SGD"]
