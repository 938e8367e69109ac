"""``keras.applications``: pretrained image-classification architectures with Keras's layer names and weights.

Each family lives in its own module (``lamina.applications.resnet``...) with ``preprocess_input`` and
``decode_predictions``; the model builders are re-exported here, loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODELS = {
    "VGG16": "vgg16", "VGG19": "vgg19",
    "ResNet50": "resnet", "ResNet101": "resnet", "ResNet152": "resnet",
    "ResNet50V2": "resnet_v2", "ResNet101V2": "resnet_v2", "ResNet152V2": "resnet_v2",
    "MobileNet": "mobilenet", "MobileNetV2": "mobilenet_v2",
    "DenseNet121": "densenet", "DenseNet169": "densenet", "DenseNet201": "densenet",
    "Xception": "xception", "InceptionV3": "inception_v3",
    "InceptionResNetV2": "inception_resnet_v2",
    "ConvNeXtTiny": "convnext", "ConvNeXtSmall": "convnext", "ConvNeXtBase": "convnext", "ConvNeXtLarge": "convnext",
    "ConvNeXtXLarge": "convnext", "NASNetMobile": "nasnet", "NASNetLarge": "nasnet",
    **{f"EfficientNetB{i}": "efficientnet" for i in range(8)},
    **{f"EfficientNetV2{v}": "efficientnet_v2" for v in ("B0", "B1", "B2", "B3", "S", "M", "L")},
    "MobileNetV3Small": "mobilenet_v3", "MobileNetV3Large": "mobilenet_v3",
}
_SUBMODULES = ("imagenet_utils", "vgg16", "vgg19", "resnet", "resnet50", "resnet_v2", "mobilenet", "mobilenet_v2",
               "densenet", "xception", "inception_v3",
               "inception_resnet_v2",
               "convnext", "nasnet", "efficientnet", "efficientnet_v2", "mobilenet_v3")

__all__ = sorted(_MODELS) + list(_SUBMODULES)


def __getattr__(name: str) -> Any:
    if name in _MODELS:
        return getattr(importlib.import_module(f"lamina.applications.{_MODELS[name]}"), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"lamina.applications.{name}")
    raise AttributeError(f"module 'lamina.applications' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
