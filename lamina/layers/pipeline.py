"""``Pipeline``: a plain layer that applies a list of layers in order (Keras's preprocessing pipelines).

Unlike ``Sequential`` it is not a model: no ``compile``/``fit``, no ``InputLayer``, and, as in Keras, a direct
call outside a model runs its layers in training mode (``training=True``) so augmentation is active; inside a
model it follows the model's mode (``fit`` trains, ``predict`` infers). Masks flow from each layer to the next.

>>> import numpy as np
>>> from lamina import layers
>>> pipe = layers.Pipeline([layers.Rescaling(1 / 255), layers.Dense(2, kernel_initializer="ones")])
>>> pipe(np.full((1, 3), 255.0)).tolist()
[[3.0, 3.0]]
"""

from __future__ import annotations

from typing import Any

from lamina.explain import Details, register_explainer
from lamina.layers.base import CallScope, Layer
from lamina.layers.masks import get_mask, takes_mask


class Pipeline(Layer):
    """Apply ``layers`` one after the other; the output of each is the input of the next."""

    _writes_build_config = False

    def __init__(self, layers: list[Layer], name: str | None = None) -> None:
        super().__init__(name=name)
        if not isinstance(layers, (list, tuple)) or not all(isinstance(la, Layer) for la in layers):
            raise ValueError(f"Pipeline '{self.name}' takes a list of layers, received {layers!r}.")
        self.layers = list(layers)  # tracked sublayers; weight files name them layers/<pipeline>/layers/...

    @property
    def _pipeline_layers(self) -> list[Layer]:  # Keras's attribute name
        return self.layers

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if "training" not in kwargs and CallScope.current() is None:
            kwargs["training"] = True  # Keras's default for a direct call: call(..., training=True)
        return super().__call__(*args, **kwargs)

    def call(self, inputs: Any, training: bool = True, mask: Any = None) -> Any:
        outputs = inputs
        for layer in self._pipeline_layers:
            kwargs: dict[str, Any] = {"training": training}
            if mask is not None and takes_mask(layer):
                kwargs["mask"] = mask
            outputs = layer(outputs, **kwargs)
            mask = get_mask(outputs)
        return outputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = input_shape
        for layer in self._pipeline_layers:
            layer._maybe_build(shape)
            shape = layer.compute_output_shape(shape)
        return shape

    def build(self, input_shape: Any) -> None:
        shape = input_shape
        for layer in self._pipeline_layers:
            layer._maybe_build(shape)
            shape = layer.compute_output_shape(shape)

    def get_config(self) -> dict[str, Any]:
        from lamina.layers import serialize

        return {"layers": [serialize(layer) for layer in self._pipeline_layers], "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Pipeline:
        from lamina.layers import deserialize

        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError("`Pipeline` config must contain a `layers` key mapping to a list of serialized layers. "
                             f"Received config with layers={layers}.")
        return cls([deserialize(item, custom_objects) for item in layers], name=config.get("name"))


@register_explainer(Pipeline)
def _explain_pipeline(layer: Any, input_shape: Any, output_shape: Any) -> Details:
    names = ", ".join(f"{type(la).__name__} {la.name!r}" for la in layer.layers) or "no layers"
    counts = " + ".join(f"{la.count_params():,}" for la in layer.layers) or "0"
    desc = (f"Pipeline applies {len(layer.layers)} layers in order ({names}); each sees the previous one's "
            f"output, {input_shape} -> {output_shape}. Its parameters are its layers'.")
    return Details(desc, arithmetic=f"{counts} = {layer.count_params():,}")
