"""Keras layers that run another framework's model: ``TorchModuleWrapper`` and ``TFSMLayer``.

lamina computes on JAX and never imports PyTorch or TensorFlow, so these two exist under Keras's names (a
config or ``.keras`` file that names them fails at that layer, not with an unknown class) and raise a
``NotImplementedError`` that says what to do instead.

>>> from lamina import layers
>>> try:
...     layers.TFSMLayer("exported_model")
... except NotImplementedError as e:
...     print(str(e).split(" (")[0])
TFSMLayer runs a TensorFlow SavedModel, which needs TensorFlow
"""

from __future__ import annotations

from typing import Any

from lamina.layers.base import Layer


class TorchModuleWrapper(Layer):
    """Keras's wrapper of a ``torch.nn.Module`` (PyTorch backend only): not available in lamina."""

    def __init__(self, module: Any = None, name: str | None = None, output_shape: Any = None,
                 **kwargs: Any) -> None:
        raise NotImplementedError(
            "TorchModuleWrapper runs a torch.nn.Module, which needs Keras's PyTorch backend; lamina computes on JAX "
            "and cannot run PyTorch modules. Rebuild the module from lamina layers (copy its weights with "
            "set_weights, transposing Linear/Conv kernels to Keras's layout), or use layers.JaxLayer for a JAX "
            "function.")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)


class TFSMLayer(Layer):
    """Keras's layer over a TensorFlow SavedModel (TensorFlow backend only): not available in lamina."""

    def __init__(self, filepath: Any = None, call_endpoint: str = "serve", call_training_endpoint: Any = None,
                 trainable: bool = True, name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        raise NotImplementedError(
            f"TFSMLayer runs a TensorFlow SavedModel, which needs TensorFlow (Keras supports it on the TensorFlow "
            f"backend only); lamina never imports TensorFlow and cannot load {filepath!r}. Save the model as a "
            ".keras file (model.save('model.keras')) from Keras and load it with lamina.models.load_model, or "
            "rebuild it in lamina and load its weights.")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)
