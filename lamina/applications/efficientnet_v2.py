"""``keras.applications.efficientnet_v2``: EfficientNetV2 B0-B3, S, M, L (Tan & Le, 2021), with Keras's layer names.

The models take pixels in [0, 255] and preprocess inside (``include_preprocessing=True``), so
``preprocess_input`` returns its input unchanged.

>>> model = EfficientNetV2B0(weights=None, include_top=False, input_shape=(32, 32, 3))
>>> model.output.shape
(None, 1, 1, 1280)
"""

from __future__ import annotations

import math
from typing import Any

from lamina.applications import imagenet_utils
from lamina.applications.efficientnet import CONV_KERNEL_INITIALIZER, DENSE_KERNEL_INITIALIZER, squeeze_excite

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/efficientnet_v2/"

# variant -> (with top, without top) md5 of Keras's published files
WEIGHTS_HASHES = {
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    "-s": ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    "-m": ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    "-l": ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
}


def _stages(rows: tuple) -> list[dict]:
    """Stage rows (kernel, repeats, in, out, expand, se_ratio, strides, conv_type) as Keras's block dicts."""
    keys = ("kernel_size", "num_repeat", "input_filters", "output_filters", "expand_ratio", "se_ratio", "strides",
            "conv_type")
    return [dict(zip(keys, row)) for row in rows]


# conv_type 1 = FusedMBConv, 0 = MBConv
_B_STAGES = ((3, 1, 32, 16, 1, 0, 1, 1), (3, 2, 16, 32, 4, 0, 2, 1), (3, 2, 32, 48, 4, 0, 2, 1),
             (3, 3, 48, 96, 4, 0.25, 2, 0), (3, 5, 96, 112, 6, 0.25, 1, 0), (3, 8, 112, 192, 6, 0.25, 2, 0))
DEFAULT_BLOCKS_ARGS = {
    "efficientnetv2-s": _stages(((3, 2, 24, 24, 1, 0.0, 1, 1), (3, 4, 24, 48, 4, 0.0, 2, 1),
                                 (3, 4, 48, 64, 4, 0, 2, 1), (3, 6, 64, 128, 4, 0.25, 2, 0),
                                 (3, 9, 128, 160, 6, 0.25, 1, 0), (3, 15, 160, 256, 6, 0.25, 2, 0))),
    "efficientnetv2-m": _stages(((3, 3, 24, 24, 1, 0, 1, 1), (3, 5, 24, 48, 4, 0, 2, 1), (3, 5, 48, 80, 4, 0, 2, 1),
                                 (3, 7, 80, 160, 4, 0.25, 2, 0), (3, 14, 160, 176, 6, 0.25, 1, 0),
                                 (3, 18, 176, 304, 6, 0.25, 2, 0), (3, 5, 304, 512, 6, 0.25, 1, 0))),
    "efficientnetv2-l": _stages(((3, 4, 32, 32, 1, 0, 1, 1), (3, 7, 32, 64, 4, 0, 2, 1), (3, 7, 64, 96, 4, 0, 2, 1),
                                 (3, 10, 96, 192, 4, 0.25, 2, 0), (3, 19, 192, 224, 6, 0.25, 1, 0),
                                 (3, 25, 224, 384, 6, 0.25, 2, 0), (3, 7, 384, 640, 6, 0.25, 1, 0))),
    **{f"efficientnetv2-b{i}": _stages(_B_STAGES) for i in range(4)},
}


def round_filters(filters: float, width_coefficient: float, min_depth: int | None, depth_divisor: int) -> int:
    """Filters scaled by the width coefficient, rounded to the divisor (no 90% rule, unlike EfficientNet)."""
    filters *= width_coefficient
    minimum_depth = min_depth or depth_divisor
    return int(max(minimum_depth, int(filters + depth_divisor / 2) // depth_divisor * depth_divisor))


def round_repeats(repeats: int, depth_coefficient: float) -> int:
    """Repeats scaled by the depth coefficient, rounded up."""
    return int(math.ceil(depth_coefficient * repeats))


def _skip(x: Any, inputs: Any, strides: int, input_filters: int, output_filters: int,
          survival_probability: float, name: str) -> Any:
    from lamina import layers

    if strides == 1 and input_filters == output_filters:
        if survival_probability:
            x = layers.Dropout(survival_probability, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def MBConvBlock(input_filters: int, output_filters: int, expand_ratio: int = 1, kernel_size: int = 3,
                strides: int = 1, se_ratio: float = 0.0, bn_momentum: float = 0.9, activation: Any = "swish",
                survival_probability: float = 0.8, name: str | None = None) -> Any:
    """Mobile inverted residual bottleneck (returns a function of the input tensor)."""
    from lamina import backend, layers

    bn_axis = 3 if backend.image_data_format() == "channels_last" else 1
    name = name if name is not None else backend.get_uid("block0")

    def apply(inputs: Any) -> Any:
        filters = input_filters * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = layers.Conv2D(filters=filters, kernel_size=1, strides=1, kernel_initializer=CONV_KERNEL_INITIALIZER,
                              padding="same", use_bias=False, name=f"{name}expand_conv")(x)
            x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name=f"{name}expand_bn")(x)
            x = layers.Activation(activation, name=f"{name}expand_activation")(x)
        x = layers.DepthwiseConv2D(kernel_size=kernel_size, strides=strides,
                                   depthwise_initializer=CONV_KERNEL_INITIALIZER, padding="same", use_bias=False,
                                   name=f"{name}dwconv2")(x)
        x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name=f"{name}bn")(x)
        x = layers.Activation(activation, name=f"{name}activation")(x)
        if 0 < se_ratio <= 1:
            x = squeeze_excite(x, filters, max(1, int(input_filters * se_ratio)), activation, name, bn_axis)
        x = layers.Conv2D(filters=output_filters, kernel_size=1, strides=1, kernel_initializer=CONV_KERNEL_INITIALIZER,
                          padding="same", use_bias=False, name=f"{name}project_conv")(x)
        x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name=f"{name}project_bn")(x)
        return _skip(x, inputs, strides, input_filters, output_filters, survival_probability, name)

    return apply


def FusedMBConvBlock(input_filters: int, output_filters: int, expand_ratio: int = 1, kernel_size: int = 3,
                     strides: int = 1, se_ratio: float = 0.0, bn_momentum: float = 0.9, activation: Any = "swish",
                     survival_probability: float = 0.8, name: str | None = None) -> Any:
    """The fused block: one full convolution in place of the 1x1 expansion and the depthwise convolution."""
    from lamina import backend, layers

    bn_axis = 3 if backend.image_data_format() == "channels_last" else 1
    name = name if name is not None else backend.get_uid("block0")

    def apply(inputs: Any) -> Any:
        filters = input_filters * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = layers.Conv2D(filters, kernel_size=kernel_size, strides=strides,
                              kernel_initializer=CONV_KERNEL_INITIALIZER, padding="same", use_bias=False,
                              name=f"{name}expand_conv")(x)
            x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name=f"{name}expand_bn")(x)
            x = layers.Activation(activation=activation, name=f"{name}expand_activation")(x)
        if 0 < se_ratio <= 1:
            x = squeeze_excite(x, filters, max(1, int(input_filters * se_ratio)), activation, name, bn_axis)
        fused = expand_ratio == 1
        x = layers.Conv2D(output_filters, kernel_size=kernel_size if fused else 1, strides=strides if fused else 1,
                          kernel_initializer=CONV_KERNEL_INITIALIZER, padding="same", use_bias=False,
                          name=f"{name}project_conv")(x)
        x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name=f"{name}project_bn")(x)
        if fused:
            x = layers.Activation(activation=activation, name=f"{name}project_activation")(x)
        return _skip(x, inputs, strides, input_filters, output_filters, survival_probability, name)

    return apply


def EfficientNetV2(width_coefficient: float, depth_coefficient: float, default_size: int,
                   dropout_rate: float = 0.2, drop_connect_rate: float = 0.2, depth_divisor: int = 8,
                   min_depth: int = 8, bn_momentum: float = 0.9, activation: Any = "swish",
                   blocks_args: Any = "default", name: str = "efficientnetv2", include_top: bool = True,
                   weights: Any = "imagenet", input_tensor: Any = None, input_shape: Any = None,
                   pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
                   include_preprocessing: bool = True, weights_name: str | None = None) -> Any:
    """The EfficientNetV2 family from its scaling coefficients (Keras's ``EfficientNetV2``)."""
    from lamina import backend, initializers, layers

    if blocks_args == "default":
        blocks_args = DEFAULT_BLOCKS_ARGS[name]
    imagenet_utils.check_weights_arg(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format=backend.image_data_format(),
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.image_input(input_tensor, input_shape)
    bn_axis = 3 if backend.image_data_format() == "channels_last" else 1

    x = img_input
    if include_preprocessing:
        num_channels = input_shape[bn_axis - 1]
        if name.split("-")[-1].startswith("b") and num_channels == 3:
            x = layers.Rescaling(scale=1.0 / 255)(x)
            x = layers.Normalization(mean=[0.485, 0.456, 0.406], variance=[0.229**2, 0.224**2, 0.225**2],
                                     axis=bn_axis)(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)

    def filters_of(n: float) -> int:
        return round_filters(n, width_coefficient, min_depth, depth_divisor)

    x = layers.Conv2D(filters=filters_of(blocks_args[0]["input_filters"]), kernel_size=3, strides=2,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, padding="same", use_bias=False,
                      name="stem_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name="stem_bn")(x)
    x = layers.Activation(activation, name="stem_activation")(x)

    b = 0
    total = float(sum(args["num_repeat"] for args in blocks_args))
    for i, stage in enumerate(blocks_args):
        args = dict(stage)
        if args["num_repeat"] <= 0:
            raise ValueError("The number of repeats in `EfficientNetV2` must be > 0. "
                             f"Received: num_repeat={args['num_repeat']}")
        args["input_filters"] = filters_of(args["input_filters"])
        args["output_filters"] = filters_of(args["output_filters"])
        make_block = FusedMBConvBlock if args.pop("conv_type") == 1 else MBConvBlock
        for j in range(round_repeats(args.pop("num_repeat"), depth_coefficient)):
            if j > 0:
                args["strides"] = 1
                args["input_filters"] = args["output_filters"]
            x = make_block(activation=activation, bn_momentum=bn_momentum,
                           survival_probability=drop_connect_rate * b / total, name=f"block{i + 1}{chr(j + 97)}_",
                           **args)(x)
            b += 1

    x = layers.Conv2D(filters=filters_of(1280), kernel_size=1, strides=1, kernel_initializer=CONV_KERNEL_INITIALIZER,
                      padding="same", use_bias=False, name="top_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name="top_bn")(x)
    x = layers.Activation(activation=activation, name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, kernel_initializer=DENSE_KERNEL_INITIALIZER,
                         bias_initializer=initializers.Constant(0.0), name="predictions")(x)
    else:
        x = imagenet_utils.top_or_pool(x, include_top, pooling, pool_names=("avg_pool", "max_pool"))
    model = imagenet_utils.make_model(img_input, input_tensor, x, name)
    if weights == "imagenet":
        file_name = name + (".h5" if include_top else "_notop.h5")
        file_hash = WEIGHTS_HASHES[weights_name][0 if include_top else 1]
        return imagenet_utils.load_weights(model, weights, file_name, BASE_WEIGHTS_PATH + file_name, file_hash)
    return imagenet_utils.load_weights(model, weights)


# (width, depth, default size) of each published variant
_VARIANTS = {"b0": (1.0, 1.0, 224), "b1": (1.0, 1.1, 240), "b2": (1.1, 1.2, 260), "b3": (1.2, 1.4, 300),
             "-s": (1.0, 1.0, 384), "-m": (1.0, 1.0, 480), "-l": (1.0, 1.0, 480)}


def _variant(key: str, include_top: bool, weights: Any, input_tensor: Any, input_shape: Any, pooling: Any,
             classes: int, classifier_activation: Any, include_preprocessing: bool, name: str) -> Any:
    width, depth, size = _VARIANTS[key]
    return EfficientNetV2(width_coefficient=width, depth_coefficient=depth, default_size=size, name=name,
                          include_top=include_top, weights=weights, input_tensor=input_tensor,
                          input_shape=input_shape, pooling=pooling, classes=classes,
                          classifier_activation=classifier_activation, include_preprocessing=include_preprocessing,
                          weights_name=key)


def EfficientNetV2B0(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                     input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                     classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                     name: str = "efficientnetv2-b0") -> Any:
    """EfficientNetV2B0 (default input 224x224), Keras's arguments."""
    return _variant("b0", include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
                    include_preprocessing, name)


def EfficientNetV2B1(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                     input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                     classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                     name: str = "efficientnetv2-b1") -> Any:
    """EfficientNetV2B1 (default input 240x240), Keras's arguments."""
    return _variant("b1", include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
                    include_preprocessing, name)


def EfficientNetV2B2(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                     input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                     classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                     name: str = "efficientnetv2-b2") -> Any:
    """EfficientNetV2B2 (default input 260x260), Keras's arguments."""
    return _variant("b2", include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
                    include_preprocessing, name)


def EfficientNetV2B3(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                     input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                     classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                     name: str = "efficientnetv2-b3") -> Any:
    """EfficientNetV2B3 (default input 300x300), Keras's arguments."""
    return _variant("b3", include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
                    include_preprocessing, name)


def EfficientNetV2S(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                    input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                    classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                    name: str = "efficientnetv2-s") -> Any:
    """EfficientNetV2S (default input 384x384), Keras's arguments."""
    return _variant("-s", include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
                    include_preprocessing, name)


def EfficientNetV2M(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                    input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                    classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                    name: str = "efficientnetv2-m") -> Any:
    """EfficientNetV2M (default input 480x480), Keras's arguments."""
    return _variant("-m", include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
                    include_preprocessing, name)


def EfficientNetV2L(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                    input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                    classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                    name: str = "efficientnetv2-l") -> Any:
    """EfficientNetV2L (default input 480x480), Keras's arguments."""
    return _variant("-l", include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
                    include_preprocessing, name)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """A pass-through: EfficientNetV2 models preprocess inside (they take pixels in [0, 255])."""
    return x


def decode_predictions(preds: Any, top: int = 5) -> list:
    """Decode ImageNet predictions (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
