"""``keras.applications.efficientnet``: EfficientNetB0-B7 (Tan & Le, 2019), with Keras's layer names and weights.

The models take pixels in [0, 255]: their ``Rescaling``/``Normalization`` layers do the preprocessing, so
``preprocess_input`` returns its input unchanged.

>>> model = EfficientNetB0(weights=None, include_top=False, input_shape=(32, 32, 3))
>>> model.output.shape
(None, 1, 1, 1280)
"""

from __future__ import annotations

import math
from typing import Any

from lamina.applications import imagenet_utils

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/keras-applications/"

# variant -> (with top, without top) md5 of Keras's published files
WEIGHTS_HASHES = {
    "b0": ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    "b1": ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    "b2": ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "b3": ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    "b4": ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    "b5": ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    "b6": ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    "b7": ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
}

# Stages of the B0 network: (kernel_size, repeats, filters_in, filters_out, expand_ratio, strides, se_ratio)
DEFAULT_BLOCKS_ARGS = [
    dict(kernel_size=k, repeats=r, filters_in=fi, filters_out=fo, expand_ratio=e, id_skip=True, strides=s,
         se_ratio=0.25)
    for k, r, fi, fo, e, s in ((3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2),
                               (3, 3, 40, 80, 6, 2), (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2),
                               (3, 1, 192, 320, 6, 1))
]

CONV_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                           "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"}}
DENSE_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                            "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"}}

IMAGENET_STDDEV_RGB = [0.229, 0.224, 0.225]


def _round_filters(filters: float, width_coefficient: float, divisor: int) -> int:
    filters *= width_coefficient
    new_filters = max(divisor, int(filters + divisor / 2) // divisor * divisor)
    if new_filters < 0.9 * filters:
        new_filters += divisor
    return int(new_filters)


def EfficientNet(width_coefficient: float, depth_coefficient: float, default_size: int, dropout_rate: float = 0.2,
                 drop_connect_rate: float = 0.2, depth_divisor: int = 8, activation: Any = "swish",
                 blocks_args: Any = "default", name: str = "efficientnet", include_top: bool = True,
                 weights: Any = "imagenet", input_tensor: Any = None, input_shape: Any = None,
                 pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
                 weights_name: str | None = None) -> Any:
    """The EfficientNet family from its scaling coefficients (Keras's ``EfficientNet``)."""
    from lamina import backend, layers

    if blocks_args == "default":
        blocks_args = DEFAULT_BLOCKS_ARGS
    imagenet_utils.check_weights_arg(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format=backend.image_data_format(),
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.image_input(input_tensor, input_shape)
    bn_axis = 3 if backend.image_data_format() == "channels_last" else 1

    def round_filters(filters: float) -> int:
        return _round_filters(filters, width_coefficient, depth_divisor)

    def round_repeats(repeats: int) -> int:
        return int(math.ceil(depth_coefficient * repeats))

    x = layers.Rescaling(1.0 / 255.0)(img_input)
    x = layers.Normalization(axis=bn_axis)(x)
    if weights == "imagenet":
        # The published weights hold the ImageNet variance in the Normalization layer, not the std: this fixes it.
        x = layers.Rescaling([1.0 / math.sqrt(stddev) for stddev in IMAGENET_STDDEV_RGB])(x)
    x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name="stem_conv_pad")(x)
    x = layers.Conv2D(round_filters(32), 3, strides=2, padding="valid", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name="stem_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, name="stem_bn")(x)
    x = layers.Activation(activation, name="stem_activation")(x)

    b = 0
    total = float(sum(round_repeats(args["repeats"]) for args in blocks_args))
    for i, stage in enumerate(blocks_args):
        args = dict(stage)
        if args["repeats"] <= 0:
            raise ValueError("The number of repeats in `EfficientNet` must be > 0. "
                             f"Received: repeats={args['repeats']}")
        args["filters_in"] = round_filters(args["filters_in"])
        args["filters_out"] = round_filters(args["filters_out"])
        for j in range(round_repeats(args.pop("repeats"))):
            if j > 0:
                args["strides"] = 1
                args["filters_in"] = args["filters_out"]
            x = block(x, activation, drop_connect_rate * b / total, name=f"block{i + 1}{chr(j + 97)}_", **args)
            b += 1

    x = layers.Conv2D(round_filters(1280), 1, padding="same", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name="top_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, name="top_bn")(x)
    x = layers.Activation(activation, name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, kernel_initializer=DENSE_KERNEL_INITIALIZER,
                         name="predictions")(x)
    else:
        x = imagenet_utils.top_or_pool(x, include_top, pooling, pool_names=("avg_pool", "max_pool"))
    model = imagenet_utils.make_model(img_input, input_tensor, x, name)
    if weights == "imagenet":
        file_name = name + (".h5" if include_top else "_notop.h5")
        file_hash = WEIGHTS_HASHES[weights_name][0 if include_top else 1]
        return imagenet_utils.load_weights(model, weights, file_name, BASE_WEIGHTS_PATH + file_name, file_hash)
    return imagenet_utils.load_weights(model, weights)


def block(inputs: Any, activation: Any = "swish", drop_rate: float = 0.0, name: str = "", filters_in: int = 32,
          filters_out: int = 16, kernel_size: int = 3, strides: int = 1, expand_ratio: int = 1,
          se_ratio: float = 0.0, id_skip: bool = True) -> Any:
    """One mobile inverted residual block with squeeze-and-excitation."""
    from lamina import backend, layers

    bn_axis = 3 if backend.image_data_format() == "channels_last" else 1
    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = layers.Conv2D(filters, 1, padding="same", use_bias=False, kernel_initializer=CONV_KERNEL_INITIALIZER,
                          name=f"{name}expand_conv")(x)
        x = layers.BatchNormalization(axis=bn_axis, name=f"{name}expand_bn")(x)
        x = layers.Activation(activation, name=f"{name}expand_activation")(x)
    if strides == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size), name=f"{name}dwconv_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=strides, padding="valid" if strides == 2 else "same",
                               use_bias=False, depthwise_initializer=CONV_KERNEL_INITIALIZER,
                               name=f"{name}dwconv")(x)
    x = layers.BatchNormalization(axis=bn_axis, name=f"{name}bn")(x)
    x = layers.Activation(activation, name=f"{name}activation")(x)
    if 0 < se_ratio <= 1:
        x = squeeze_excite(x, filters, max(1, int(filters_in * se_ratio)), activation, name, bn_axis)
    x = layers.Conv2D(filters_out, 1, padding="same", use_bias=False, kernel_initializer=CONV_KERNEL_INITIALIZER,
                      name=f"{name}project_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, name=f"{name}project_bn")(x)
    if id_skip and strides == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def squeeze_excite(x: Any, filters: int, filters_se: int, activation: Any, name: str, bn_axis: int) -> Any:
    """The squeeze-and-excitation branch EfficientNet (and EfficientNetV2) blocks share."""
    from lamina import layers

    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    se_shape = (filters, 1, 1) if bn_axis == 1 else (1, 1, filters)
    se = layers.Reshape(se_shape, name=f"{name}se_reshape")(se)
    se = layers.Conv2D(filters_se, 1, padding="same", activation=activation,
                       kernel_initializer=CONV_KERNEL_INITIALIZER, name=f"{name}se_reduce")(se)
    se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid", kernel_initializer=CONV_KERNEL_INITIALIZER,
                       name=f"{name}se_expand")(se)
    return layers.multiply([x, se], name=f"{name}se_excite")


# (width, depth, default size, dropout) of each published variant
_VARIANTS = {"b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2), "b2": (1.1, 1.2, 260, 0.3),
             "b3": (1.2, 1.4, 300, 0.3), "b4": (1.4, 1.8, 380, 0.4), "b5": (1.6, 2.2, 456, 0.4),
             "b6": (1.8, 2.6, 528, 0.5), "b7": (2.0, 3.1, 600, 0.5)}


def _variant(key: str, include_top: bool, weights: Any, input_tensor: Any, input_shape: Any, pooling: Any,
             classes: int, classifier_activation: Any, name: str) -> Any:
    width, depth, size, dropout = _VARIANTS[key]
    return EfficientNet(width, depth, size, dropout, name=name, include_top=include_top, weights=weights,
                        input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation, weights_name=key)


def EfficientNetB0(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                   input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                   classifier_activation: Any = "softmax", name: str = "efficientnetb0") -> Any:
    """EfficientNetB0 (default input 224x224), Keras's arguments."""
    return _variant("b0", include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
                    name)


def EfficientNetB1(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                   input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                   classifier_activation: Any = "softmax", name: str = "efficientnetb1") -> Any:
    """EfficientNetB1 (default input 240x240), Keras's arguments."""
    return _variant("b1", include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
                    name)


def EfficientNetB2(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                   input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                   classifier_activation: Any = "softmax", name: str = "efficientnetb2") -> Any:
    """EfficientNetB2 (default input 260x260), Keras's arguments."""
    return _variant("b2", include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
                    name)


def EfficientNetB3(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                   input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                   classifier_activation: Any = "softmax", name: str = "efficientnetb3") -> Any:
    """EfficientNetB3 (default input 300x300), Keras's arguments."""
    return _variant("b3", include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
                    name)


def EfficientNetB4(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                   input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                   classifier_activation: Any = "softmax", name: str = "efficientnetb4") -> Any:
    """EfficientNetB4 (default input 380x380), Keras's arguments."""
    return _variant("b4", include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
                    name)


def EfficientNetB5(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                   input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                   classifier_activation: Any = "softmax", name: str = "efficientnetb5") -> Any:
    """EfficientNetB5 (default input 456x456), Keras's arguments."""
    return _variant("b5", include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
                    name)


def EfficientNetB6(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                   input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                   classifier_activation: Any = "softmax", name: str = "efficientnetb6") -> Any:
    """EfficientNetB6 (default input 528x528), Keras's arguments."""
    return _variant("b6", include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
                    name)


def EfficientNetB7(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                   input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                   classifier_activation: Any = "softmax", name: str = "efficientnetb7") -> Any:
    """EfficientNetB7 (default input 600x600), Keras's arguments."""
    return _variant("b7", include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
                    name)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """A pass-through: EfficientNet models preprocess inside (they take pixels in [0, 255])."""
    return x


def decode_predictions(preds: Any, top: int = 5) -> list:
    """Decode ImageNet predictions (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
