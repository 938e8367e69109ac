"""``keras.applications.inception_resnet_v2``: InceptionResNetV2 (Szegedy et al., 2017), Keras's names and weights."""

from __future__ import annotations

from typing import Any

from lamina.applications import imagenet_utils
from lamina.layers.base import Layer

BASE_WEIGHT_URL = "https://storage.googleapis.com/tensorflow/keras-applications/inception_resnet_v2/"
_HASHES = ("e693bd0210a403b3192acc6073ad2e96", "d19885ff4a710c122648d3b5c3b684e4")


class CustomScaleLayer(Layer):
    """``inputs[0] + inputs[1] * scale`` (the scaled residual sum of an Inception-ResNet block)."""

    def __init__(self, scale: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = scale

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"scale": self.scale})
        return config

    def call(self, inputs: Any) -> Any:
        return inputs[0] + inputs[1] * self.scale

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape[0]


def conv2d_bn(x: Any, filters: int, kernel_size: Any, strides: int = 1, padding: str = "same",
              activation: str | None = "relu", use_bias: bool = False, name: str | None = None) -> Any:
    """Conv2D ``name``, BatchNormalization ``{name}_bn`` (no scale, only without bias), activation ``{name}_ac``."""
    from lamina import backend, layers

    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias, name=name)(x)
    if not use_bias:
        bn_axis = 1 if backend.image_data_format() == "channels_first" else 3
        x = layers.BatchNormalization(axis=bn_axis, scale=False, name=None if name is None else f"{name}_bn")(x)
    if activation is not None:
        x = layers.Activation(activation, name=None if name is None else f"{name}_ac")(x)
    return x


_BRANCHES = {
    "block35": (((32, 1),), ((32, 1), (32, 3)), ((32, 1), (48, 3), (64, 3))),
    "block17": (((192, 1),), ((128, 1), (160, [1, 7]), (192, [7, 1]))),
    "block8": (((192, 1),), ((192, 1), (224, [1, 3]), (256, [3, 1]))),
}


def inception_resnet_block(x: Any, scale: float, block_type: str, block_idx: int, activation: str | None = "relu"
                           ) -> Any:
    """An Inception-ResNet block: ``x + scale * conv(concat(branches(x)))``, then ``activation``."""
    from lamina import backend, layers

    if block_type not in _BRANCHES:
        raise ValueError('Unknown Inception-ResNet block type. Expects "block35", "block17" or "block8", '
                         f"but got: {block_type}")
    branches = []
    for chain in _BRANCHES[block_type]:
        b = x
        for filters, kernel in chain:
            b = conv2d_bn(b, filters, kernel)
        branches.append(b)
    block_name = f"{block_type}_{block_idx}"
    channel_axis = 1 if backend.image_data_format() == "channels_first" else 3
    mixed = layers.Concatenate(axis=channel_axis, name=f"{block_name}_mixed")(branches)
    up = conv2d_bn(mixed, x.shape[channel_axis], 1, activation=None, use_bias=True, name=f"{block_name}_conv")
    x = CustomScaleLayer(scale)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=f"{block_name}_ac")(x)
    return x


def InceptionResNetV2(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                      input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                      classifier_activation: Any = "softmax", name: str = "inception_resnet_v2") -> Any:
    """InceptionResNetV2 (Keras's arguments; default input 299x299, at least 75x75)."""
    from lamina import backend, layers

    imagenet_utils.check_weights_arg(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=299, min_size=75,
                                                    data_format=backend.image_data_format(),
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.image_input(input_tensor, input_shape)
    x = conv2d_bn(img_input, 32, 3, strides=2, padding="valid")
    x = conv2d_bn(x, 32, 3, padding="valid")
    x = conv2d_bn(x, 64, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv2d_bn(x, 80, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)
    b0 = conv2d_bn(x, 96, 1)
    b1 = conv2d_bn(conv2d_bn(x, 48, 1), 64, 5)
    b2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1), 96, 3), 96, 3)
    bp = conv2d_bn(layers.AveragePooling2D(3, strides=1, padding="same")(x), 64, 1)
    channel_axis = 1 if backend.image_data_format() == "channels_first" else 3
    x = layers.Concatenate(axis=channel_axis, name="mixed_5b")([b0, b1, b2, bp])
    for block_idx in range(1, 11):
        x = inception_resnet_block(x, scale=0.17, block_type="block35", block_idx=block_idx)
    b0 = conv2d_bn(x, 384, 3, strides=2, padding="valid")
    b1 = conv2d_bn(conv2d_bn(conv2d_bn(x, 256, 1), 256, 3), 384, 3, strides=2, padding="valid")
    bp = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    x = layers.Concatenate(axis=channel_axis, name="mixed_6a")([b0, b1, bp])
    for block_idx in range(1, 21):
        x = inception_resnet_block(x, scale=0.1, block_type="block17", block_idx=block_idx)
    b0 = conv2d_bn(conv2d_bn(x, 256, 1), 384, 3, strides=2, padding="valid")
    b1 = conv2d_bn(conv2d_bn(x, 256, 1), 288, 3, strides=2, padding="valid")
    b2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 256, 1), 288, 3), 320, 3, strides=2, padding="valid")
    bp = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    x = layers.Concatenate(axis=channel_axis, name="mixed_7a")([b0, b1, b2, bp])
    for block_idx in range(1, 10):
        x = inception_resnet_block(x, scale=0.2, block_type="block8", block_idx=block_idx)
    x = inception_resnet_block(x, scale=1.0, activation=None, block_type="block8", block_idx=10)
    x = conv2d_bn(x, 1536, 1, name="conv_7b")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = imagenet_utils.top_or_pool(x, include_top, pooling)
    model = imagenet_utils.make_model(img_input, input_tensor, x, name)
    fname = f"inception_resnet_v2_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    return imagenet_utils.load_weights(model, weights, fname, BASE_WEIGHT_URL + fname,
                                       _HASHES[0] if include_top else _HASHES[1])


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """TF-style preprocessing (pixels scaled to [-1, 1])."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds: Any, top: int = 5) -> list:
    """Decode ImageNet predictions (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
