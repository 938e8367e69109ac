"""``keras.applications.xception``: Xception (Chollet, 2017), with Keras's layer names and weights files."""

from __future__ import annotations

from typing import Any

from lamina.applications import imagenet_utils

WEIGHTS_PATH = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                "xception/xception_weights_tf_dim_ordering_tf_kernels.h5")
WEIGHTS_PATH_NO_TOP = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                       "xception/xception_weights_tf_dim_ordering_tf_kernels_notop.h5")
_HASHES = ("0a58e3b7378bc2990ea3b43d5981f1f6", "b0042744bf5b25fce3cb969f33bebb97")


def _sep_bn(x: Any, filters: int, name: str, channel_axis: int, act_before: bool = True) -> Any:
    """(ReLU ``{name}_act``), SeparableConv2D ``name`` and its BatchNormalization ``{name}_bn``."""
    from lamina import layers

    if act_before:
        x = layers.Activation("relu", name=f"{name}_act")(x)
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(axis=channel_axis, name=f"{name}_bn")(x)


def _residual(x: Any, filters: int, channel_axis: int) -> Any:
    from lamina import layers

    r = layers.Conv2D(filters, (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    return layers.BatchNormalization(axis=channel_axis)(r)


def _down_block(x: Any, block: int, filters: tuple[int, int], channel_axis: int, first_act: bool = True) -> Any:
    """Entry/exit flow block: two separable convolutions, strided max pooling, plus a strided 1x1 shortcut."""
    from lamina import layers

    residual = _residual(x, filters[1], channel_axis)
    x = _sep_bn(x, filters[0], f"block{block}_sepconv1", channel_axis, act_before=first_act)
    if not first_act:
        x = layers.Activation("relu", name=f"block{block}_sepconv2_act")(x)
        x = _sep_bn(x, filters[1], f"block{block}_sepconv2", channel_axis, act_before=False)
    else:
        x = _sep_bn(x, filters[1], f"block{block}_sepconv2", channel_axis)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"block{block}_pool")(x)
    return layers.add([x, residual])


def Xception(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
             input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
             classifier_activation: Any = "softmax", name: str = "xception") -> Any:
    """Xception (Keras's arguments; default input 299x299, at least 71x71)."""
    from lamina import backend, layers

    imagenet_utils.check_weights_arg(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=299, min_size=71,
                                                    data_format=backend.image_data_format(),
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.image_input(input_tensor, input_shape)
    channel_axis = 1 if backend.image_data_format() == "channels_first" else -1
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(img_input)
    x = layers.BatchNormalization(axis=channel_axis, name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(axis=channel_axis, name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)
    x = _down_block(x, 2, (128, 128), channel_axis, first_act=False)
    x = _down_block(x, 3, (256, 256), channel_axis)
    x = _down_block(x, 4, (728, 728), channel_axis)
    for i in range(8):
        residual = x
        prefix = f"block{i + 5}"
        for j in (1, 2, 3):
            x = _sep_bn(x, 728, f"{prefix}_sepconv{j}", channel_axis)
        x = layers.add([x, residual])
    x = _down_block(x, 13, (728, 1024), channel_axis)
    x = _sep_bn(x, 1536, "block14_sepconv1", channel_axis, act_before=False)
    x = layers.Activation("relu", name="block14_sepconv1_act")(x)
    x = _sep_bn(x, 2048, "block14_sepconv2", channel_axis, act_before=False)
    x = layers.Activation("relu", name="block14_sepconv2_act")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = imagenet_utils.top_or_pool(x, include_top, pooling)
    model = imagenet_utils.make_model(img_input, input_tensor, x, name)
    suffix = "" if include_top else "_notop"
    return imagenet_utils.load_weights(model, weights, f"xception_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
                                       WEIGHTS_PATH if include_top else WEIGHTS_PATH_NO_TOP,
                                       _HASHES[0] if include_top else _HASHES[1])


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """TF-style preprocessing (pixels scaled to [-1, 1])."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds: Any, top: int = 5) -> list:
    """Decode ImageNet predictions (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
