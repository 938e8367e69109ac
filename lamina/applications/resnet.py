"""``keras.applications.resnet``: ResNet50/101/152 (He et al., 2015) and the shared ResNet builder (also V2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lamina.applications import imagenet_utils

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
WEIGHTS_HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}


def _bn_axis() -> int:
    from lamina import backend

    return 3 if backend.image_data_format() == "channels_last" else 1


def ResNet(stack_fn: Callable[[Any], Any], preact: bool, use_bias: bool, include_top: bool = True,
           weights: Any = "imagenet", input_tensor: Any = None, input_shape: Any = None, pooling: str | None = None,
           classes: int = 1000, classifier_activation: Any = "softmax", name: str = "resnet",
           weights_name: str | None = None) -> Any:
    """The ResNet stem, ``stack_fn``'s residual stacks and the head (``preact`` selects V2's layout)."""
    from lamina import backend, layers

    imagenet_utils.check_weights_arg(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    data_format=backend.image_data_format(),
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.image_input(input_tensor, input_shape)
    bn_axis = _bn_axis()
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    if not preact:
        x = layers.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name="conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack_fn(x)
    if preact:
        x = layers.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name="post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = imagenet_utils.top_or_pool(x, include_top, pooling, ("avg_pool", "max_pool"))
    model = imagenet_utils.make_model(img_input, input_tensor, x, name)
    if weights == "imagenet" and weights_name in WEIGHTS_HASHES:
        suffix = "" if include_top else "_notop"
        file_name = f"{weights_name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
        file_hash = WEIGHTS_HASHES[weights_name][0 if include_top else 1]
        return imagenet_utils.load_weights(model, weights, file_name, BASE_WEIGHTS_PATH + file_name, file_hash)
    if weights == "imagenet":
        return model
    return imagenet_utils.load_weights(model, weights)


def residual_block_v1(x: Any, filters: int, kernel_size: int = 3, stride: int = 1, conv_shortcut: bool = True,
                      name: str | None = None) -> Any:
    """A bottleneck residual block (post-activation)."""
    from lamina import layers

    bn_axis = _bn_axis()
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = layers.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name=f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, kernel_size, padding="SAME", name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name=f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def stack_residual_blocks_v1(x: Any, filters: int, blocks: int, stride1: int = 2, name: str | None = None) -> Any:
    """``blocks`` V1 residual blocks, the first with a projection shortcut and stride ``stride1``."""
    x = residual_block_v1(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = residual_block_v1(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def residual_block_v2(x: Any, filters: int, kernel_size: int = 3, stride: int = 1, conv_shortcut: bool = False,
                      name: str | None = None) -> Any:
    """A bottleneck residual block (pre-activation, ResNetV2)."""
    from lamina import layers

    bn_axis = _bn_axis()
    preact = layers.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name=f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    else:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def stack_residual_blocks_v2(x: Any, filters: int, blocks: int, stride1: int = 2, name: str | None = None) -> Any:
    """``blocks`` V2 residual blocks; the last one carries the stride ``stride1``."""
    x = residual_block_v2(x, filters, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks):
        x = residual_block_v2(x, filters, name=f"{name}_block{i}")
    return residual_block_v2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


def _v1(blocks: tuple[int, int, int, int]) -> Callable[[Any], Any]:
    def stack_fn(x: Any) -> Any:
        x = stack_residual_blocks_v1(x, 64, blocks[0], stride1=1, name="conv2")
        x = stack_residual_blocks_v1(x, 128, blocks[1], name="conv3")
        x = stack_residual_blocks_v1(x, 256, blocks[2], name="conv4")
        return stack_residual_blocks_v1(x, 512, blocks[3], name="conv5")

    return stack_fn


def _resnet_v1(blocks: tuple[int, int, int, int], weights_name: str, include_top: bool, weights: Any,
               input_tensor: Any, input_shape: Any, pooling: str | None, classes: int, classifier_activation: Any,
               name: str) -> Any:
    return ResNet(_v1(blocks), preact=False, use_bias=True, weights_name=weights_name, name=name,
                  include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                  pooling=pooling, classes=classes, classifier_activation=classifier_activation)


def ResNet50(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None, input_shape: Any = None,
             pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
             name: str = "resnet50") -> Any:
    """ResNet50 (Keras's arguments and layer names)."""
    return _resnet_v1((3, 4, 6, 3), "resnet50", include_top, weights, input_tensor, input_shape, pooling, classes,
                      classifier_activation, name)


def ResNet101(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None, input_shape: Any = None,
              pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
              name: str = "resnet101") -> Any:
    """ResNet101 (Keras's arguments and layer names)."""
    return _resnet_v1((3, 4, 23, 3), "resnet101", include_top, weights, input_tensor, input_shape, pooling, classes,
                      classifier_activation, name)


def ResNet152(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None, input_shape: Any = None,
              pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
              name: str = "resnet152") -> Any:
    """ResNet152 (Keras's arguments and layer names)."""
    return _resnet_v1((3, 8, 36, 3), "resnet152", include_top, weights, input_tensor, input_shape, pooling, classes,
                      classifier_activation, name)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Caffe-style preprocessing (RGB to BGR, ImageNet mean subtracted, no scaling)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds: Any, top: int = 5) -> list:
    """Decode ImageNet predictions (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
