"""Models: ``Sequential``, ``Model`` (functional or subclassed), and loading/saving entry points.

>>> from lamina import models, layers
>>> models.Sequential([layers.Dense(2, input_shape=(3,))]).count_params()
8
"""

from __future__ import annotations

import json
from typing import Any

from lamina.models.model import Model
from lamina.models.sequential import Sequential

Functional = Model


def load_model(filepath: Any, custom_objects: dict[str, Any] | None = None, compile: bool = True,
               safe_mode: bool = True) -> Model:
    """Load a ``.keras`` file written by lamina or Keras 3."""
    from lamina.saving import load_model as _load  # saving sits above models (it builds them)

    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_model(model: Model, filepath: Any, overwrite: bool = True) -> None:
    """Save ``model`` to a ``.keras`` file, or legacy HDF5 for ``.h5`` (``lamina.saving.save_model``)."""
    from lamina.saving import save_model as _save  # saving sits above models (it builds them)

    _save(model, filepath, overwrite=overwrite)


def model_from_json(json_string: str, custom_objects: dict[str, Any] | None = None) -> Model:
    """A new model from the JSON that Keras's ``model.to_json()`` writes (architecture only, fresh weights).

    As when loading files, nothing in the JSON is executed: ``Lambda`` layers and custom classes need
    ``custom_objects``.
    """
    from lamina.layers import deserialize  # the layer registry imports models
    from lamina.saving.safety import check_config_objects  # saving sits above models (it builds them)

    config = json.loads(json_string)
    check_config_objects(config, custom_objects, safe_mode=True)
    return deserialize(config, custom_objects=custom_objects)


def clone_model(model: Model) -> Model:
    """A new model with the same architecture and freshly initialized weights."""
    from lamina.layers import deserialize, serialize  # the layer registry imports models

    return deserialize(serialize(model))


__all__ = ["Model", "Sequential", "Functional", "load_model", "save_model", "model_from_json", "clone_model"]
