"""``Sequential``: a plain stack of layers, each feeding the next.

The input shape comes from the first layer's ``input_shape``/``input_dim``, from an ``Input``/``InputLayer``
first element, from ``build(input_shape)``, or from the first data it sees.

>>> from lamina import layers, Sequential
>>> model = Sequential([layers.Dense(10, input_shape=(28, 28))])
>>> model.output_shape, model.count_params()
((None, 28, 10), 290)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lamina import naming
from lamina.graph import KerasTensor, map_structure
from lamina.layers.base import Layer, shape_str
from lamina.layers.input_layer import InputLayer
from lamina.models.model import Model


class Sequential(Model):
    """A linear stack of layers: ``Sequential([Dense(512, input_shape=(784,)), Dense(10)])``."""

    def __init__(self, layers: Sequence[Layer] | None = None, name: str | None = None, trainable: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(name=name or naming.auto_name("sequential"), trainable=trainable, **kwargs)
        self._stack: list[Layer] = []
        self._input_layer: InputLayer | None = None
        self.built = False
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Layer | KerasTensor) -> None:
        """Append ``layer``; with a known input shape the new layer is connected (and checked) at once."""
        if isinstance(layer, KerasTensor) and layer.history is not None and isinstance(layer.history.layer,
                                                                                       InputLayer):
            layer = layer.history.layer
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential '{self.name}' can only add layers; received {layer!r}.")
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._stack:
                raise ValueError(f"Sequential '{self.name}': an InputLayer can only be the first layer.")
            self._input_layer = layer
            self._connect()
            return
        if any(existing.name == layer.name for existing in self._stack):
            raise ValueError(f"Sequential '{self.name}': all layers must have unique names; '{layer.name}' is "
                             "already in the model. Give the new layer its own name=... .")
        self._stack.append(layer)
        if self._input_layer is None and len(self._stack) == 1 and layer._batch_input_shape is not None:
            self._input_layer = InputLayer(batch_shape=layer._batch_input_shape, name=f"{layer.name}_input")
        try:
            self._connect()
        except Exception:
            self._stack.pop()
            if not self._stack and self._input_layer is not None and self._input_layer.name == f"{layer.name}_input":
                self._input_layer = None
            self._connect()
            raise

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._stack:
            raise ValueError(f"Sequential '{self.name}' has no layers to pop.")
        layer = self._stack.pop()
        self._connect()
        return layer

    def _connect(self) -> None:
        """(Re)build the symbolic chain from the input layer through every layer, if the input is known."""
        object.__setattr__(self, "_tracked_layers", list(self._stack))
        if self._input_layer is None or not self._stack:
            self._functional = False
            self.built = False
            return
        x = self._input_layer.output
        for layer in self._stack:
            x = layer(x)
        self._init_graph(self._input_layer.output, x)

    def build(self, input_shape: Any = None) -> None:
        """Build for inputs of ``input_shape`` (batch axis included, e.g. ``(None, 784)``)."""
        if input_shape is None:
            if self._input_layer is None:
                raise ValueError(
                    f"Sequential '{self.name}' cannot be built: its input shape is unknown. Pass it with "
                    "model.build(input_shape=(None, ...)) or give the first layer input_shape=(...)."
                )
            self._connect()
            return
        shape = tuple(None if d is None else int(d) for d in input_shape)
        if self._input_layer is not None:
            if tuple(self._input_layer.batch_shape[1:]) != shape[1:]:
                built_for = shape_str(self._input_layer.batch_shape)
                raise ValueError(f"Sequential '{self.name}' was built for inputs {built_for}, not {shape_str(shape)}.")
            self._connect()
            return
        self._input_layer = InputLayer(batch_shape=shape, name=f"{self._stack[0].name}_input" if self._stack
                                       else None)
        self._connect()

    def _ensure_built_for(self, inputs: Any) -> None:
        if not self.built:
            shape = tuple(getattr(inputs, "shape", ()))
            self.build((None,) + shape[1:])

    def _maybe_build(self, input_shape: Any) -> None:
        if not self.built:
            self.build(input_shape)
        self._build_input_shape = self._input_layer.batch_shape if self._input_layer else input_shape

    def call(self, inputs: Any, training: bool = False) -> Any:
        if not self.built:
            self._ensure_built_for(inputs)
        return super().call(inputs, training=training)

    @property
    def layers(self) -> list[Layer]:
        """The layers, without the InputLayer (as Keras lists them)."""
        return list(self._stack)

    @property
    def input_shape(self) -> Any:
        self._require_built("input_shape")
        return self._input_layer.batch_shape

    @property
    def output_shape(self) -> Any:
        self._require_built("output_shape")
        return map_structure(lambda t: t.shape, self._outputs_struct)

    def get_config(self) -> dict[str, Any]:
        from lamina.layers import serialize  # the layer registry imports models

        layer_configs = [serialize(layer) for layer in self._stack]
        if self._input_layer is not None:
            layer_configs.insert(0, serialize(self._input_layer))
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable,
                                  "dtype": {"module": "keras", "class_name": "DTypePolicy",
                                            "config": {"name": self.dtype}, "registered_name": None},
                                  "layers": layer_configs}
        if self._input_layer is not None:
            config["build_input_shape"] = list(self._input_layer.batch_shape)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Sequential:
        from lamina.layers import deserialize  # the layer registry imports models

        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for entry in config.get("layers", []):
            model.add(deserialize(entry, custom_objects))
        if not model.built and config.get("build_input_shape"):
            model.build(tuple(config["build_input_shape"]))
        return model
