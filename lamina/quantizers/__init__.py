"""``lamina.quantizers``: Keras 3's ``keras.quantizers`` (quantizers, quantization configs and their arithmetic).

>>> import numpy as np
>>> q = get("AbsMaxQuantizer")
>>> deserialize(serialize(q)).get_config() == q.get_config()
True
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from lamina.quantizers.configs import (
    AWQConfig,
    Float8QuantizationConfig,
    GPTQConfig,
    Int4QuantizationConfig,
    Int8QuantizationConfig,
    QuantizationConfig,
)
from lamina.quantizers.quantizers import (
    AbsMaxQuantizer,
    Quantizer,
    abs_max_quantize,
    abs_max_quantize_grouped_with_zero_point,
    compute_float8_amax_history,
    compute_float8_scale,
    fake_quant_with_min_max_vars,
    pack_int4,
    quantize_and_dequantize,
    unpack_int4,
)

__all__ = ["AWQConfig", "AbsMaxQuantizer", "Float8QuantizationConfig", "GPTQConfig", "Int4QuantizationConfig",
           "Int8QuantizationConfig", "QuantizationConfig", "Quantizer", "abs_max_quantize",
           "abs_max_quantize_grouped_with_zero_point", "compute_float8_amax_history", "compute_float8_scale",
           "deserialize", "fake_quant_with_min_max_vars", "get", "pack_int4", "quantize_and_dequantize", "serialize",
           "unpack_int4"]

_OBJECTS = {cls.__name__: cls for cls in (Quantizer, AbsMaxQuantizer, QuantizationConfig, Int8QuantizationConfig,
                                          Int4QuantizationConfig, Float8QuantizationConfig, AWQConfig)}
_OBJECTS.update({re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", name).lower(): cls for name, cls in list(_OBJECTS.items())})


def serialize(quantizer: Any) -> Any:
    """Keras's serialized form (``{"module": "keras.quantizers", "class_name": ..., "config": ...}``)."""
    from lamina.saving.serialization_lib import serialize_keras_object  # inside: saving sits above quantizers

    return serialize_keras_object(quantizer)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Inverse of :func:`serialize`."""
    from lamina.saving.serialization_lib import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects=custom_objects, module_objects=_OBJECTS)


def get(identifier: Any, **kwargs: Any) -> Any:
    """A quantizer from None, a serialized dict, a class name (``"AbsMaxQuantizer"``/``"abs_max_quantizer"``)
    or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = _OBJECTS.get(identifier)
    else:
        obj = identifier
    if callable(obj):
        return obj(**kwargs) if inspect.isclass(obj) else obj
    raise ValueError(f"Could not interpret quantizer identifier: {identifier}")
