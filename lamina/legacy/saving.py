"""``keras.legacy.saving``: ``serialize_keras_object`` / ``deserialize_keras_object``.

lamina has one serialization format (Keras 3's), so these are ``lamina.saving``'s functions.

>>> from lamina import initializers
>>> serialize_keras_object(initializers.Zeros())["class_name"]
'Zeros'
"""

from __future__ import annotations

from lamina.saving.serialization_lib import deserialize_keras_object, serialize_keras_object

__all__ = ["deserialize_keras_object", "serialize_keras_object"]
