"""Keras 3's ``keras.legacy`` namespace: ``legacy.saving``.

>>> from lamina.legacy import saving
>>> saving.serialize_keras_object is not None
True
"""

from __future__ import annotations

from lamina.legacy import saving

__all__ = ["saving"]
