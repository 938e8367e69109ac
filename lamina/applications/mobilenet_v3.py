"""``keras.applications.mobilenet_v3``: MobileNetV3Small/Large (Howard et al., 2019), with Keras's layer names.

The models take pixels in [0, 255] and rescale inside (``include_preprocessing=True``), so
``preprocess_input`` returns its input unchanged.

>>> model = MobileNetV3Small(weights=None, include_top=False, input_shape=(32, 32, 3))
>>> model.output.shape
(None, 1, 1, 576)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from lamina.applications import imagenet_utils

BASE_WEIGHT_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/"

# model name -> (with top, without top) md5 of Keras's published files
WEIGHTS_HASHES = {
    "large_224_0.75_float": ("765b44a33ad4005b3ac83185abf1d0eb", "40af19a13ebea4e2ee0c676887f69a2e"),
    "large_224_1.0_float": ("59e551e166be033d707958cf9e29a6a7", "07fb09a5933dd0c8eaafa16978110389"),
    "large_minimalistic_224_1.0_float": ("675e7b876c45c57e9e63e6d90a36599c", "ec5221f64a2f6d1ef965a614bdae7973"),
    "small_224_0.75_float": ("cb65d4e5be93758266aa0a7f2c6708b7", "ebdb5cc8e0b497cd13a7c275d475c819"),
    "small_224_1.0_float": ("8768d4c2e7dee89b9d02b2d03d65d862", "d3e8ec802a04aa4fc771ee12a9a9b836"),
    "small_minimalistic_224_1.0_float": ("99cd97fb2fcdad2bf028eb838de69e37", "cde8136e733e811080d9fcd8a252f7e4"),
}

# Inverted residual blocks: (expansion, filters, kernel ("k" = 5, or 3 when minimalistic), stride, squeeze-excite,
# activation ("hs" = hard_swish, or relu when minimalistic))
_SMALL = ((1, 16, 3, 2, True, "relu"), (72.0 / 16, 24, 3, 2, False, "relu"), (88.0 / 24, 24, 3, 1, False, "relu"),
          (4, 40, "k", 2, True, "hs"), (6, 40, "k", 1, True, "hs"), (6, 40, "k", 1, True, "hs"),
          (3, 48, "k", 1, True, "hs"), (3, 48, "k", 1, True, "hs"), (6, 96, "k", 2, True, "hs"),
          (6, 96, "k", 1, True, "hs"), (6, 96, "k", 1, True, "hs"))
_LARGE = ((1, 16, 3, 1, False, "relu"), (4, 24, 3, 2, False, "relu"), (3, 24, 3, 1, False, "relu"),
          (3, 40, "k", 2, True, "relu"), (3, 40, "k", 1, True, "relu"), (3, 40, "k", 1, True, "relu"),
          (6, 80, 3, 2, False, "hs"), (2.5, 80, 3, 1, False, "hs"), (2.3, 80, 3, 1, False, "hs"),
          (2.3, 80, 3, 1, False, "hs"), (6, 112, 3, 1, True, "hs"), (6, 112, 3, 1, True, "hs"),
          (6, 160, "k", 2, True, "hs"), (6, 160, "k", 1, True, "hs"), (6, 160, "k", 1, True, "hs"))


def relu(x: Any) -> Any:
    """An (auto-named) ``ReLU`` layer applied to ``x``."""
    from lamina import layers

    return layers.ReLU()(x)


def hard_sigmoid(x: Any) -> Any:
    """``relu6(x + 3) / 6``, built as Keras builds it (a ``ReLU`` layer between two ops)."""
    from lamina import layers

    return layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def hard_swish(x: Any) -> Any:
    """An (auto-named) ``Activation("hard_swish")`` layer applied to ``x``."""
    from lamina import layers

    return layers.Activation("hard_swish")(x)


def _depth(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _se_block(inputs: Any, filters: int, se_ratio: float, prefix: str) -> Any:
    from lamina import layers

    x = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}squeeze_excite_avg_pool")(inputs)
    x = layers.Conv2D(_depth(filters * se_ratio), kernel_size=1, padding="same",
                      name=f"{prefix}squeeze_excite_conv")(x)
    x = layers.ReLU(name=f"{prefix}squeeze_excite_relu")(x)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", name=f"{prefix}squeeze_excite_conv_1")(x)
    x = hard_sigmoid(x)
    return layers.Multiply(name=f"{prefix}squeeze_excite_mul")([inputs, x])


def _inverted_res_block(x: Any, expansion: float, filters: int, kernel_size: int, stride: int,
                        se_ratio: float | None, activation: Callable, block_id: int) -> Any:
    from lamina import backend, layers

    channel_axis = 1 if backend.image_data_format() == "channels_first" else -1
    shortcut = x
    prefix = "expanded_conv_"
    infilters = x.shape[channel_axis]
    if block_id:
        prefix = f"expanded_conv_{block_id}_"
        x = layers.Conv2D(_depth(infilters * expansion), kernel_size=1, padding="same", use_bias=False,
                          name=f"{prefix}expand")(x)
        x = layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999, name=f"{prefix}expand_bn")(x)
        x = activation(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size), name=f"{prefix}depthwise_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride, padding="same" if stride == 1 else "valid",
                               use_bias=False, name=f"{prefix}depthwise")(x)
    x = layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999, name=f"{prefix}depthwise_bn")(x)
    x = activation(x)
    if se_ratio:
        x = _se_block(x, _depth(infilters * expansion), se_ratio, prefix)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999, name=f"{prefix}project_bn")(x)
    if stride == 1 and infilters == filters:
        x = layers.Add(name=f"{prefix}add")([shortcut, x])
    return x


def _check_input_tensor_shape(input_shape: Any, input_tensor: Any) -> None:
    from lamina import backend

    if not backend.is_keras_tensor(input_tensor):
        raise ValueError(f"input_tensor specified: {input_tensor} is not a keras tensor")
    if backend.image_data_format() == "channels_first":
        if input_tensor.shape[1] != input_shape[1]:
            raise ValueError("When backend.image_data_format()=channels_first, input_shape[1] must equal "
                             f"input_tensor.shape[1].  Received input_shape={input_shape}, "
                             f"input_tensor.shape={input_tensor.shape}")
    elif input_tensor.shape[2] != input_shape[1]:
        raise ValueError("input_shape[1] must equal input_tensor.shape[2].  Received "
                         f"input_shape={input_shape}, input_tensor.shape={input_tensor.shape}")


def MobileNetV3(blocks: tuple, last_point_ch: int, input_shape: Any = None, alpha: float = 1.0,
                model_type: str = "large", minimalistic: bool = False, include_top: bool = True,
                weights: Any = "imagenet", input_tensor: Any = None, classes: int = 1000, pooling: str | None = None,
                dropout_rate: float = 0.2, classifier_activation: Any = "softmax",
                include_preprocessing: bool = True, name: str | None = None) -> Any:
    """MobileNetV3 from its table of inverted residual ``blocks`` (Keras's ``MobileNetV3``)."""
    from lamina import backend, layers

    imagenet_utils.check_weights_arg(weights, include_top, classes)
    channels_last = backend.image_data_format() == "channels_last"
    if input_shape is not None and input_tensor is not None:
        _check_input_tensor_shape(input_shape, input_tensor)
    if input_shape is None and input_tensor is not None and backend.is_keras_tensor(input_tensor):
        # Keras builds (cols, rows, 3) here; the same quirk keeps the same shapes.
        if channels_last:
            input_shape = (input_tensor.shape[2], input_tensor.shape[1], 3)
        else:
            input_shape = (3, input_tensor.shape[3], input_tensor.shape[2])
    if input_shape is None and input_tensor is None:
        input_shape = (None, None, 3) if channels_last else (3, None, None)
    rows, cols = (input_shape[0], input_shape[1]) if channels_last else (input_shape[1], input_shape[2])
    if rows and cols and (rows < 32 or cols < 32):
        raise ValueError(f"Input size must be at least 32x32; Received `input_shape={input_shape}`")
    if weights == "imagenet":
        if (not minimalistic and alpha not in [0.75, 1.0]) or (minimalistic and alpha != 1.0):
            raise ValueError("If imagenet weights are being loaded, alpha can be one of `0.75`, `1.0` for non "
                             "minimalistic or `1.0` for minimalistic only.")
        if rows != cols or rows != 224:
            warnings.warn("`input_shape` is undefined or non-square, or `rows` is not 224. Weights for input shape "
                          "(224, 224) will be loaded as the default.", stacklevel=3)
    img_input = imagenet_utils.image_input(input_tensor, input_shape)
    channel_axis = -1 if channels_last else 1
    if minimalistic:
        kernel, activation, se_ratio = 3, relu, None
    else:
        kernel, activation, se_ratio = 5, hard_swish, 0.25

    x = img_input
    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = layers.Conv2D(16, kernel_size=3, strides=(2, 2), padding="same", use_bias=False, name="conv")(x)
    x = layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999, name="conv_bn")(x)
    x = activation(x)
    for block_id, (expansion, filters, k, stride, use_se, act) in enumerate(blocks):
        x = _inverted_res_block(x, expansion, _depth(filters * alpha), kernel if k == "k" else k, stride,
                                se_ratio if use_se else None, activation if act == "hs" else relu, block_id)
    last_conv_ch = _depth(x.shape[channel_axis] * 6)
    if alpha > 1.0:
        last_point_ch = _depth(last_point_ch * alpha)
    x = layers.Conv2D(last_conv_ch, kernel_size=1, padding="same", use_bias=False, name="conv_1")(x)
    x = layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999, name="conv_1_bn")(x)
    x = activation(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Conv2D(last_point_ch, kernel_size=1, padding="same", use_bias=True, name="conv_2")(x)
        x = activation(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, kernel_size=1, padding="same", name="logits")(x)
        x = layers.Flatten()(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    else:
        x = imagenet_utils.top_or_pool(x, include_top, pooling, pool_names=("avg_pool", "max_pool"))
    model = imagenet_utils.make_model(img_input, input_tensor, x, name)
    if weights == "imagenet":
        model_name = f"{model_type}{'_minimalistic' if minimalistic else ''}_224_{alpha}_float"
        suffix = ".h5" if include_top else "_no_top_v2.h5"
        file_name = f"weights_mobilenet_v3_{model_name}{suffix}"
        file_hash = WEIGHTS_HASHES[model_name][0 if include_top else 1]
        return imagenet_utils.load_weights(model, weights, file_name, BASE_WEIGHT_PATH + file_name, file_hash)
    return imagenet_utils.load_weights(model, weights)


def MobileNetV3Small(input_shape: Any = None, alpha: float = 1.0, minimalistic: bool = False,
                     include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                     classes: int = 1000, pooling: str | None = None, dropout_rate: float = 0.2,
                     classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                     name: str = "MobileNetV3Small") -> Any:
    """MobileNetV3Small (Keras's arguments; ``alpha`` is the width multiplier, ``minimalistic`` drops SE blocks,
    hard-swish and 5x5 kernels)."""
    return MobileNetV3(_SMALL, 1024, input_shape, alpha, "small", minimalistic, include_top, weights, input_tensor,
                       classes, pooling, dropout_rate, classifier_activation, include_preprocessing, name=name)


def MobileNetV3Large(input_shape: Any = None, alpha: float = 1.0, minimalistic: bool = False,
                     include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                     classes: int = 1000, pooling: str | None = None, dropout_rate: float = 0.2,
                     classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                     name: str = "MobileNetV3Large") -> Any:
    """MobileNetV3Large (Keras's arguments; see ``MobileNetV3Small``)."""
    return MobileNetV3(_LARGE, 1280, input_shape, alpha, "large", minimalistic, include_top, weights, input_tensor,
                       classes, pooling, dropout_rate, classifier_activation, include_preprocessing, name=name)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """A pass-through: MobileNetV3 models rescale inside (they take pixels in [0, 255])."""
    return x


def decode_predictions(preds: Any, top: int = 5) -> list:
    """Decode ImageNet predictions (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
