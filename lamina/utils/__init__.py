"""``keras.utils``: data loading (``get_file``, directory and time-series datasets, ``PyDataset``), image files,
``pad_sequences``, ``to_categorical``, ``Progbar``, seeds, serialization helpers and plots.

Each family lives in its own module (``file_utils``, ``dataset_utils``, ``image_utils``, ``sequence_utils``,
``numerical_utils``, ``py_dataset``, ``graph_utils``...); the names below are imported on first use, so
``import lamina.utils`` stays light.

>>> from lamina.utils import to_categorical, pad_sequences
>>> to_categorical([0, 2], num_classes=3).tolist()
[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
>>> pad_sequences([[1, 2], [3]]).tolist()
[[1, 2], [0, 3]]
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the module that defines it.
_NAMES = {
    "to_categorical": "lamina.utils.numerical_utils",
    "normalize": "lamina.utils.numerical_utils",
    "set_random_seed": "lamina.utils.rng_utils",
    "pad_sequences": "lamina.utils.sequence_utils",
    "get_file": "lamina.utils.file_utils",
    "load_img": "lamina.utils.image_utils",
    "img_to_array": "lamina.utils.image_utils",
    "array_to_img": "lamina.utils.image_utils",
    "save_img": "lamina.utils.image_utils",
    "image_dataset_from_directory": "lamina.utils.dataset_utils",
    "text_dataset_from_directory": "lamina.utils.dataset_utils",
    "timeseries_dataset_from_array": "lamina.utils.dataset_utils",
    "split_dataset": "lamina.utils.dataset_utils",
    "audio_dataset_from_directory": "lamina.utils.audio_dataset_utils",
    "PyDataset": "lamina.utils.py_dataset",
    "Sequence": "lamina.utils.py_dataset",
    "Config": "lamina.utils.config",
    "get_source_inputs": "lamina.utils.graph_utils",
    "model_to_dot": "lamina.utils.graph_utils",
    "pack_x_y_sample_weight": "lamina.utils.graph_utils",
    "unpack_x_y_sample_weight": "lamina.utils.graph_utils",
    "Progbar": "lamina.training.progbar",
    "plot_model": "lamina.plotting",
    "plot_history": "lamina.plotting",
    "clear_session": "lamina.backend",
    "is_keras_tensor": "lamina.backend",
    "standardize_dtype": "lamina.backend",
    "disable_interactive_logging": "lamina.config",
    "enable_interactive_logging": "lamina.config",
    "is_interactive_logging_enabled": "lamina.config",
    # serialization and the custom-object registry live in lamina.saving
    "serialize_keras_object": "lamina.saving",
    "deserialize_keras_object": "lamina.saving",
    "custom_object_scope": "lamina.saving",
    "CustomObjectScope": "lamina.saving",
    "get_custom_objects": "lamina.saving",
    "get_registered_name": "lamina.saving",
    "get_registered_object": "lamina.saving",
    "register_keras_serializable": "lamina.saving",
    "FeatureSpace": "lamina.utils.feature_space",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use."""
    if name in ("legacy", "bounding_boxes"):  # the ``keras.utils.legacy`` and ``.bounding_boxes`` submodules
        return importlib.import_module(f"lamina.utils.{name}")
    module_name = _NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lamina.utils' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    if not hasattr(module, name):
        raise AttributeError(f"module 'lamina.utils' has no attribute {name!r} ({module_name} does not define it)")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NAMES))
