"""``Input`` and ``InputLayer``: the entry points of a model, with a batch axis of ``None``.

>>> from lamina.layers import Input
>>> x = Input((28, 28))
>>> x.shape, x.history.layer.name.startswith("input_")
((None, 28, 28), True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lamina import naming
from lamina.graph import History, KerasTensor, Node
from lamina.layers.base import Layer, _dtype_name


class InputLayer(Layer):
    """The layer that feeds a model: ``InputLayer(shape=(28, 28))`` or ``InputLayer(input_tensor=t)``."""

    def __init__(self, shape: Sequence[int | None] | None = None, batch_size: int | None = None,
                 dtype: Any = None, sparse: bool | None = None, batch_shape: Sequence[int | None] | None = None,
                 input_tensor: KerasTensor | None = None, optional: bool = False, name: str | None = None,
                 input_shape: Sequence[int | None] | None = None,
                 batch_input_shape: Sequence[int | None] | None = None, ragged: bool | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name or naming.auto_name("input", zero_based=False), dtype=dtype, **kwargs)
        shape = shape if shape is not None else input_shape
        batch_shape = batch_shape if batch_shape is not None else batch_input_shape
        if input_tensor is not None:
            if not isinstance(input_tensor, KerasTensor):
                raise TypeError(f"InputLayer '{self.name}': input_tensor must be a symbolic tensor "
                                f"(lamina.backend.placeholder or Input), received {type(input_tensor).__name__}.")
            batch_shape = input_tensor.shape
            self.dtype = input_tensor.dtype if dtype is None else _dtype_name(dtype)
        if batch_shape is None:
            if shape is None:
                raise ValueError(f"InputLayer '{self.name}' needs a `shape`, e.g. InputLayer(shape=(28, 28)).")
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size,) + tuple(shape)
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.sparse = bool(sparse)
        self.optional = optional
        self.built = True
        self._build_input_shape = self.batch_shape
        tensor = input_tensor if input_tensor is not None and input_tensor.history is None else None
        if tensor is None:
            tensor = KerasTensor(self.batch_shape, dtype=self.dtype, name=self.name)
        tensor.history = History(self, 0, 0)
        self._inbound_nodes.append(Node(self, (), {}, tensor))

    def call(self, inputs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.batch_shape

    def get_config(self) -> dict[str, Any]:
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "sparse": self.sparse,
                "ragged": False, "name": self.name, "optional": self.optional}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> InputLayer:
        config = {k: v for k, v in config.items() if k not in ("ragged",)}
        return cls(**config)


def Input(shape: Sequence[int | None] | None = None, batch_size: int | None = None, dtype: Any = None,
          sparse: bool | None = None, batch_shape: Sequence[int | None] | None = None, name: str | None = None,
          tensor: KerasTensor | None = None, optional: bool = False) -> KerasTensor:
    """A symbolic input of ``shape`` (without the batch axis) to start a functional model."""
    if isinstance(shape, int):
        shape = (shape,)
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, batch_shape=batch_shape,
                       name=name, input_tensor=tensor, optional=optional)
    return layer.output
