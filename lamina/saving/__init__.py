"""Saving and loading in Keras 3's formats: whole models as ``.keras`` zip files, weights as ``.weights.h5``.

Files move both ways between lamina and Keras 3. Reading is safe by default: lamina never unpickles,
never evaluates code, never imports modules named in a file, refuses ``Lambda`` bytecode, and checks zip
members, JSON depth and HDF5 datasets (see :mod:`lamina.saving.safety`). Writing is atomic (see
:mod:`lamina.saving.atomic`).

>>> import os, tempfile
>>> from lamina import layers, Sequential, saving
>>> model = Sequential([layers.Input((4,)), layers.Dense(2)])
>>> path = os.path.join(tempfile.mkdtemp(), "model.keras")
>>> saving.save_model(model, path)
>>> saving.load_model(path).count_params()
10
"""

from __future__ import annotations

from lamina.saving.file_editor import KerasFileEditor
from lamina.saving.keras_file import load_model, load_weights, save_model, save_weights
from lamina.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from lamina.saving.safety import UnsafeFileError
from lamina.saving.serialization_lib import deserialize_keras_object, serialize_keras_object

__all__ = ["KerasFileEditor", "save_model", "load_model", "save_weights", "load_weights", "UnsafeFileError",
           "CustomObjectScope", "custom_object_scope", "get_custom_objects", "get_registered_name",
           "get_registered_object", "register_keras_serializable", "serialize_keras_object", "deserialize_keras_object"]
