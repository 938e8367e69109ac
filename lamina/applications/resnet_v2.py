"""``keras.applications.resnet_v2``: ResNet50V2/101V2/152V2 (He et al., 2016, pre-activation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lamina.applications import imagenet_utils
from lamina.applications.resnet import ResNet, stack_residual_blocks_v2


def _v2(blocks: tuple[int, int, int, int]) -> Callable[[Any], Any]:
    def stack_fn(x: Any) -> Any:
        x = stack_residual_blocks_v2(x, 64, blocks[0], name="conv2")
        x = stack_residual_blocks_v2(x, 128, blocks[1], name="conv3")
        x = stack_residual_blocks_v2(x, 256, blocks[2], name="conv4")
        return stack_residual_blocks_v2(x, 512, blocks[3], stride1=1, name="conv5")

    return stack_fn


def _resnet_v2(blocks: tuple[int, int, int, int], weights_name: str, include_top: bool, weights: Any,
               input_tensor: Any, input_shape: Any, pooling: str | None, classes: int, classifier_activation: Any,
               name: str) -> Any:
    return ResNet(_v2(blocks), preact=True, use_bias=True, weights_name=weights_name, name=name,
                  include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                  pooling=pooling, classes=classes, classifier_activation=classifier_activation)


def ResNet50V2(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None, input_shape: Any = None,
               pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
               name: str = "resnet50v2") -> Any:
    """ResNet50V2 (Keras's arguments and layer names)."""
    return _resnet_v2((3, 4, 6, 3), "resnet50v2", include_top, weights, input_tensor, input_shape, pooling, classes,
                      classifier_activation, name)


def ResNet101V2(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "resnet101v2") -> Any:
    """ResNet101V2 (Keras's arguments and layer names)."""
    return _resnet_v2((3, 4, 23, 3), "resnet101v2", include_top, weights, input_tensor, input_shape, pooling, classes,
                      classifier_activation, name)


def ResNet152V2(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "resnet152v2") -> Any:
    """ResNet152V2 (Keras's arguments and layer names)."""
    return _resnet_v2((3, 8, 36, 3), "resnet152v2", include_top, weights, input_tensor, input_shape, pooling, classes,
                      classifier_activation, name)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """TF-style preprocessing (pixels scaled to [-1, 1])."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds: Any, top: int = 5) -> list:
    """Decode ImageNet predictions (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
