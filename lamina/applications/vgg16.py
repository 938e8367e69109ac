"""``keras.applications.vgg16``: VGG16 (Simonyan & Zisserman, 2015), with Keras's layer names and weights files."""

from __future__ import annotations

from typing import Any

from lamina.applications import imagenet_utils

WEIGHTS_PATH = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5")
WEIGHTS_PATH_NO_TOP = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                       "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
_HASHES = ("64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc")


def build_vgg(blocks: tuple[int, ...], model_name: str, file_stem: str, urls: tuple[str, str],
              hashes: tuple[str, str], include_top: bool, weights: Any, input_tensor: Any, input_shape: Any,
              pooling: str | None, classes: int, classifier_activation: Any, name: str) -> Any:
    """The VGG network with ``blocks[i]`` 3x3 convolutions in block ``i + 1``."""
    from lamina import backend, layers

    imagenet_utils.check_weights_arg(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    data_format=backend.image_data_format(),
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.image_input(input_tensor, input_shape)
    x = img_input
    for b, (n_conv, filters) in enumerate(zip(blocks, (64, 128, 256, 512, 512)), start=1):
        for c in range(1, n_conv + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same", name=f"block{b}_conv{c}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{b}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = imagenet_utils.top_or_pool(x, include_top, pooling)
    model = imagenet_utils.make_model(img_input, input_tensor, x, name)
    suffix = ".h5" if include_top else "_notop.h5"
    return imagenet_utils.load_weights(model, weights, f"{file_stem}_weights_tf_dim_ordering_tf_kernels{suffix}",
                                       urls[0] if include_top else urls[1], hashes[0] if include_top else hashes[1])


def VGG16(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None, input_shape: Any = None,
          pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
          name: str = "vgg16") -> Any:
    """VGG16 (Keras's arguments; ``weights`` None, "imagenet" or a weights file path)."""
    return build_vgg((2, 2, 3, 3, 3), "vgg16", "vgg16", (WEIGHTS_PATH, WEIGHTS_PATH_NO_TOP), _HASHES, include_top,
                     weights, input_tensor, input_shape, pooling, classes, classifier_activation, name)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Caffe-style preprocessing (RGB to BGR, ImageNet mean subtracted, no scaling)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds: Any, top: int = 5) -> list:
    """Decode ImageNet predictions (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
