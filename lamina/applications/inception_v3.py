"""``keras.applications.inception_v3``: InceptionV3 (Szegedy et al., 2016), with Keras's layer names and weights."""

from __future__ import annotations

from typing import Any

from lamina.applications import imagenet_utils

WEIGHTS_PATH = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5")
WEIGHTS_PATH_NO_TOP = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                       "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5")
_HASHES = ("9a0d58056eeedaa3f26cb7ebd46da564", "bcbd6486424b2319ff4ef7d526e38f63")


def conv2d_bn(x: Any, filters: int, num_row: int, num_col: int, padding: str = "same",
              strides: tuple[int, int] = (1, 1), name: str | None = None) -> Any:
    """Conv2D (no bias) + BatchNormalization (no scale) + ReLU; ``name`` gives ``{name}_conv``/``{name}_bn``."""
    from lamina import backend, layers

    bn_axis = 1 if backend.image_data_format() == "channels_first" else 3
    x = layers.Conv2D(filters, (num_row, num_col), strides=strides, padding=padding, use_bias=False,
                      name=None if name is None else f"{name}_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, scale=False, name=None if name is None else f"{name}_bn")(x)
    return layers.Activation("relu", name=name)(x)


def _chain(x: Any, specs: tuple) -> Any:
    """Apply ``conv2d_bn`` for each ``(filters, rows, cols[, strides, padding])`` in turn."""
    for spec in specs:
        filters, rows, cols, *rest = spec
        strides, padding = rest if rest else ((1, 1), "same")
        x = conv2d_bn(x, filters, rows, cols, strides=strides, padding=padding)
    return x


def _avg_pool_branch(x: Any, filters: int) -> Any:
    from lamina import layers

    return conv2d_bn(layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x), filters, 1, 1)


def InceptionV3(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "inception_v3") -> Any:
    """InceptionV3 (Keras's arguments; default input 299x299, at least 75x75)."""
    from lamina import backend, layers

    imagenet_utils.check_weights_arg(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=299, min_size=75,
                                                    data_format=backend.image_data_format(),
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.image_input(input_tensor, input_shape)
    axis = 1 if backend.image_data_format() == "channels_first" else 3
    s2v = ((2, 2), "valid")
    x = conv2d_bn(img_input, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    # mixed 0, 1, 2: 35 x 35
    for i, pool_filters in enumerate((32, 64, 64)):
        b1 = conv2d_bn(x, 64, 1, 1)
        b5 = _chain(x, ((48, 1, 1), (64, 5, 5)))
        b3 = _chain(x, ((64, 1, 1), (96, 3, 3), (96, 3, 3)))
        bp = _avg_pool_branch(x, pool_filters)
        x = layers.concatenate([b1, b5, b3, bp], axis=axis, name=f"mixed{i}")
    # mixed 3: 17 x 17
    b3 = conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    b3d = _chain(x, ((64, 1, 1), (96, 3, 3), (96, 3, 3, *s2v)))
    bp = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([b3, b3d, bp], axis=axis, name="mixed3")
    # mixed 4, 5, 6, 7: 17 x 17
    for i, f in enumerate((128, 160, 160, 192)):
        b1 = conv2d_bn(x, 192, 1, 1)
        b7 = _chain(x, ((f, 1, 1), (f, 1, 7), (192, 7, 1)))
        b7d = _chain(x, ((f, 1, 1), (f, 7, 1), (f, 1, 7), (f, 7, 1), (192, 1, 7)))
        bp = _avg_pool_branch(x, 192)
        x = layers.concatenate([b1, b7, b7d, bp], axis=axis, name=f"mixed{4 + i}")
    # mixed 8: 8 x 8
    b3 = _chain(x, ((192, 1, 1), (320, 3, 3, *s2v)))
    b7 = _chain(x, ((192, 1, 1), (192, 1, 7), (192, 7, 1), (192, 3, 3, *s2v)))
    bp = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([b3, b7, bp], axis=axis, name="mixed8")
    # mixed 9, 10: 8 x 8
    for i in range(2):
        b1 = conv2d_bn(x, 320, 1, 1)
        b3 = conv2d_bn(x, 384, 1, 1)
        b3 = layers.concatenate([conv2d_bn(b3, 384, 1, 3), conv2d_bn(b3, 384, 3, 1)], axis=axis,
                                name=f"mixed9_{i}")
        b3d = _chain(x, ((448, 1, 1), (384, 3, 3)))
        b3d = layers.concatenate([conv2d_bn(b3d, 384, 1, 3), conv2d_bn(b3d, 384, 3, 1)], axis=axis)
        bp = _avg_pool_branch(x, 192)
        x = layers.concatenate([b1, b3, b3d, bp], axis=axis, name=f"mixed{9 + i}")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = imagenet_utils.top_or_pool(x, include_top, pooling)
    model = imagenet_utils.make_model(img_input, input_tensor, x, name)
    suffix = "" if include_top else "_notop"
    return imagenet_utils.load_weights(model, weights,
                                       f"inception_v3_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
                                       WEIGHTS_PATH if include_top else WEIGHTS_PATH_NO_TOP,
                                       _HASHES[0] if include_top else _HASHES[1])


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """TF-style preprocessing (pixels scaled to [-1, 1])."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds: Any, top: int = 5) -> list:
    """Decode ImageNet predictions (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
