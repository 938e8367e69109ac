"""``keras.utils.legacy``: ``serialize_keras_object`` / ``deserialize_keras_object`` (``lamina.saving``'s).

>>> from lamina import utils
>>> utils.legacy.deserialize_keras_object is not None
True
"""

from __future__ import annotations

from lamina.saving.serialization_lib import deserialize_keras_object, serialize_keras_object

__all__ = ["deserialize_keras_object", "serialize_keras_object"]
