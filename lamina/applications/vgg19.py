"""``keras.applications.vgg19``: VGG19, with Keras's layer names and weights files."""

from __future__ import annotations

from typing import Any

from lamina.applications.vgg16 import build_vgg, decode_predictions, preprocess_input

WEIGHTS_PATH = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels.h5")
WEIGHTS_PATH_NO_TOP = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                       "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")
_HASHES = ("cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6")

__all__ = ["VGG19", "decode_predictions", "preprocess_input"]


def VGG19(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None, input_shape: Any = None,
          pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
          name: str = "vgg19") -> Any:
    """VGG19 (Keras's arguments; ``weights`` None, "imagenet" or a weights file path)."""
    return build_vgg((2, 2, 4, 4, 4), "vgg19", "vgg19", (WEIGHTS_PATH, WEIGHTS_PATH_NO_TOP), _HASHES, include_top,
                     weights, input_tensor, input_shape, pooling, classes, classifier_activation, name)
