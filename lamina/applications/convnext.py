"""``keras.applications.convnext``: ConvNeXt Tiny/Small/Base/Large/XLarge (Liu et al., 2022) with Keras's layer names.

The ImageNet normalization is part of the model (``include_preprocessing=True``), so ``preprocess_input`` is the
identity, as in Keras.

>>> import numpy as np
>>> from lamina.applications import convnext
>>> m = convnext.ConvNeXt([1, 1, 1, 1], [8, 16, 24, 32], include_top=False, input_shape=(32, 32, 3))
>>> m.output.shape, m.count_params()
((None, 1, 1, 32), 25760)
>>> x = np.zeros((1, 4, 4, 3), "float32")
>>> convnext.preprocess_input(x) is x
True
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina.applications import imagenet_utils
from lamina.layers.base import CallScope, Layer

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/convnext/"

#: SHA-256 of Keras's published files: (with top, without top)
WEIGHTS_HASHES = {
    "convnext_tiny": ("8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
                      "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
    "convnext_small": ("ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
                       "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab"),
    "convnext_base": ("52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
                      "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45"),
    "convnext_large": ("070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
                       "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd"),
    "convnext_xlarge": ("c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
                        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05"),
}

_DEEP = [3, 3, 27, 3]
MODEL_CONFIGS = {
    "tiny": {"depths": [3, 3, 9, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "small": {"depths": _DEEP, "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "base": {"depths": _DEEP, "projection_dims": [128, 256, 512, 1024], "default_size": 224},
    "large": {"depths": _DEEP, "projection_dims": [192, 384, 768, 1536], "default_size": 224},
    "xlarge": {"depths": _DEEP, "projection_dims": [256, 512, 1024, 2048], "default_size": 224},
}

_EPSILON = 1e-6  # every LayerNormalization of ConvNeXt


class StochasticDepth(Layer):
    """Drop the whole residual branch of a sample with probability ``drop_path_rate`` in training (scaled by
    ``1 / keep``), identity at inference.

    >>> import numpy as np
    >>> StochasticDepth(0.5)(np.ones((2, 3), "float32")).tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    def __init__(self, drop_path_rate: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.drop_path_rate = float(drop_path_rate)

    def call(self, x: Any, training: bool = False) -> Any:
        if not training or self.drop_path_rate == 0.0:
            return x
        keep = 1.0 - self.drop_path_rate
        scope = CallScope.current()
        key = scope.next_rng() if scope is not None else jax.random.PRNGKey(0)
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        mask = jnp.floor(keep + jax.random.uniform(key, shape, x.dtype))
        return x / keep * mask

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate}


class LayerScale(Layer):
    """Multiply the last axis by a learned per-channel ``gamma`` that starts at ``init_values`` (Touvron et al.).

    Its weight carries Keras's automatic variable name (``variable``, ``variable_1``, ...), as Keras's
    ``LayerScale`` creates it without a name, so weight paths and files match.

    >>> import numpy as np
    >>> LayerScale(0.5, 2)(np.ones((1, 2), "float32")).tolist()
    [[0.5, 0.5]]
    """

    def __init__(self, init_values: float, projection_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.init_values = float(init_values)
        self.projection_dim = int(projection_dim)

    def build(self, input_shape: Any) -> None:
        from lamina import initializers, naming

        if input_shape[-1] is not None and input_shape[-1] != self.projection_dim:
            raise ValueError(f"LayerScale '{self.name}': the input's last axis is {input_shape[-1]} but "
                             f"projection_dim={self.projection_dim}; pass projection_dim={input_shape[-1]}.")
        self.gamma = self.add_weight(shape=(self.projection_dim,), initializer=initializers.Constant(self.init_values),
                                     trainable=True, name=naming.auto_name("Variable"))

    def call(self, x: Any) -> Any:
        return x * self.gamma.value

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "init_values": self.init_values, "projection_dim": self.projection_dim}


def ConvNeXtBlock(projection_dim: int, drop_path_rate: float = 0.0, layer_scale_init_value: float | None = 1e-6,
                  name: str | None = None) -> Any:
    """One ConvNeXt block: depthwise 7x7 conv, LayerNorm, Dense(4C), GELU, Dense(C), LayerScale, residual."""
    from lamina import backend, layers

    if name is None:
        name = f"prestem{backend.get_uid('prestem')}"

    def apply(inputs: Any) -> Any:
        x = layers.Conv2D(filters=projection_dim, kernel_size=7, padding="same", groups=projection_dim,
                          name=f"{name}_depthwise_conv")(inputs)
        x = layers.LayerNormalization(epsilon=_EPSILON, name=f"{name}_layernorm")(x)
        x = layers.Dense(4 * projection_dim, name=f"{name}_pointwise_conv_1")(x)
        x = layers.Activation("gelu", name=f"{name}_gelu")(x)
        x = layers.Dense(projection_dim, name=f"{name}_pointwise_conv_2")(x)
        if layer_scale_init_value is not None:
            x = LayerScale(layer_scale_init_value, projection_dim, name=f"{name}_layer_scale")(x)
        if drop_path_rate:
            branch = StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")
        else:
            branch = layers.Activation("linear", name=f"{name}_identity")
        return inputs + branch(x)

    return apply


def PreStem(name: str | None = None) -> Any:
    """Normalize [0, 255] pixels with the ImageNet-1k mean and standard deviation (a weightless Normalization)."""
    from lamina import backend, layers

    if name is None:
        name = f"prestem{backend.get_uid('prestem')}"

    def apply(x: Any) -> Any:
        return layers.Normalization(mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
                                    variance=[(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2],
                                    name=f"{name}_prestem_normalization")(x)

    return apply


def Head(num_classes: int = 1000, classifier_activation: Any = None, name: str | None = None) -> Any:
    """The classification head: global average pooling, LayerNorm, Dense."""
    from lamina import backend, layers

    if name is None:
        name = str(backend.get_uid("head"))

    def apply(x: Any) -> Any:
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=_EPSILON, name=f"{name}_head_layernorm")(x)
        return layers.Dense(num_classes, activation=classifier_activation, name=f"{name}_head_dense")(x)

    return apply


def ConvNeXt(depths: list[int], projection_dims: list[int], drop_path_rate: float = 0.0,
             layer_scale_init_value: float | None = 1e-6, default_size: int = 224, name: str = "convnext",
             include_preprocessing: bool = True, include_top: bool = True, weights: Any = None,
             input_tensor: Any = None, input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
             classifier_activation: Any = "softmax", weights_name: str | None = None) -> Any:
    """A ConvNeXt of the given stage ``depths`` and widths (``projection_dims``), with Keras's arguments."""
    from lamina import backend, layers
    from lamina.models import Sequential

    if backend.image_data_format() == "channels_first":
        raise ValueError("ConvNeXt does not support the `channels_first` image data format. Switch to "
                         "`channels_last` by editing your local config file at ~/.keras/keras.json")
    imagenet_utils.check_weights_arg(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format=backend.image_data_format(),
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.image_input(input_tensor, input_shape)
    x = input_tensor if input_tensor is not None else img_input
    if include_preprocessing and input_shape[-1] == 3:
        x = PreStem(name=name)(x)
    stem = Sequential([layers.Conv2D(projection_dims[0], kernel_size=4, strides=4, name=f"{name}_stem_conv"),
                       layers.LayerNormalization(epsilon=_EPSILON, name=f"{name}_stem_layernorm")],
                      name=f"{name}_stem")
    downsamplers = [stem] + [
        Sequential([layers.LayerNormalization(epsilon=_EPSILON, name=f"{name}_downsampling_layernorm_{i}"),
                    layers.Conv2D(projection_dims[i + 1], kernel_size=2, strides=2,
                                  name=f"{name}_downsampling_conv_{i}")],
                   name=f"{name}_downsampling_block_{i}")
        for i in range(3)]
    # stochastic depth grows linearly from 0 to drop_path_rate over all blocks
    rates = [float(r) for r in np.linspace(0.0, drop_path_rate, sum(depths))]
    done = 0
    for stage in range(4):
        x = downsamplers[stage](x)
        for j in range(depths[stage]):
            x = ConvNeXtBlock(projection_dim=projection_dims[stage], drop_path_rate=rates[done + j],
                              layer_scale_init_value=layer_scale_init_value, name=f"{name}_stage_{stage}_block_{j}")(x)
        done += depths[stage]
    if include_top:
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = Head(num_classes=classes, classifier_activation=classifier_activation, name=name)(x)
    else:
        x = imagenet_utils.top_or_pool(x, include_top, pooling)
        x = layers.LayerNormalization(epsilon=_EPSILON)(x)
    model = imagenet_utils.make_model(img_input, input_tensor, x, name)
    if weights == "imagenet":
        variant = weights_name.split("convnext_")[-1]
        expected = MODEL_CONFIGS[variant]
        if list(depths) != expected["depths"] or list(projection_dims) != expected["projection_dims"]:
            raise ValueError(f"Architecture configuration does not match {weights_name} variant. When using "
                             "pre-trained weights, the model architecture must match the pre-trained configuration "
                             f"exactly. Expected depths: {expected['depths']}, got: {depths}. Expected "
                             f"projection_dims: {expected['projection_dims']}, got: {projection_dims}.")
        if weights_name not in name:
            raise ValueError(f'Model name "{name}" does not match weights variant "{weights_name}". When using '
                             'imagenet weights, model name must contain the weights variant (e.g., '
                             f'"convnext_{variant}").')
        file_name = name + (".h5" if include_top else "_notop.h5")
        file_hash = WEIGHTS_HASHES[weights_name][0 if include_top else 1]
        return imagenet_utils.load_weights(model, weights, file_name, BASE_WEIGHTS_PATH + file_name, file_hash)
    return imagenet_utils.load_weights(model, weights)


def _variant(size: str, include_top: bool, include_preprocessing: bool, weights: Any, input_tensor: Any,
             input_shape: Any, pooling: str | None, classes: int, classifier_activation: Any, name: str) -> Any:
    config = MODEL_CONFIGS[size]
    return ConvNeXt(weights_name=f"convnext_{size}", depths=config["depths"],
                    projection_dims=config["projection_dims"], drop_path_rate=0.0, layer_scale_init_value=1e-6,
                    default_size=config["default_size"], name=name, include_top=include_top,
                    include_preprocessing=include_preprocessing, weights=weights, input_tensor=input_tensor,
                    input_shape=input_shape, pooling=pooling, classes=classes,
                    classifier_activation=classifier_activation)


def ConvNeXtTiny(include_top: bool = True, include_preprocessing: bool = True, weights: Any = "imagenet",
                 input_tensor: Any = None, input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                 classifier_activation: Any = "softmax", name: str = "convnext_tiny") -> Any:
    """ConvNeXt-T (28.6M parameters with the top), Keras's arguments."""
    return _variant("tiny", include_top, include_preprocessing, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name)


def ConvNeXtSmall(include_top: bool = True, include_preprocessing: bool = True, weights: Any = "imagenet",
                  input_tensor: Any = None, input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                  classifier_activation: Any = "softmax", name: str = "convnext_small") -> Any:
    """ConvNeXt-S (50.2M parameters with the top), Keras's arguments."""
    return _variant("small", include_top, include_preprocessing, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name)


def ConvNeXtBase(include_top: bool = True, include_preprocessing: bool = True, weights: Any = "imagenet",
                 input_tensor: Any = None, input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                 classifier_activation: Any = "softmax", name: str = "convnext_base") -> Any:
    """ConvNeXt-B (88.6M parameters with the top), Keras's arguments."""
    return _variant("base", include_top, include_preprocessing, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name)


def ConvNeXtLarge(include_top: bool = True, include_preprocessing: bool = True, weights: Any = "imagenet",
                  input_tensor: Any = None, input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                  classifier_activation: Any = "softmax", name: str = "convnext_large") -> Any:
    """ConvNeXt-L (197.8M parameters with the top), Keras's arguments."""
    return _variant("large", include_top, include_preprocessing, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name)


def ConvNeXtXLarge(include_top: bool = True, include_preprocessing: bool = True, weights: Any = "imagenet",
                   input_tensor: Any = None, input_shape: Any = None, pooling: str | None = None,
                   classes: int = 1000, classifier_activation: Any = "softmax", name: str = "convnext_xlarge") -> Any:
    """ConvNeXt-XL (350.2M parameters with the top), Keras's arguments."""
    return _variant("xlarge", include_top, include_preprocessing, weights, input_tensor, input_shape, pooling,
                    classes, classifier_activation, name)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """The identity: ConvNeXt normalizes its inputs itself (``include_preprocessing=True``), as in Keras."""
    return x


def decode_predictions(preds: Any, top: int = 5) -> list:
    """Decode ImageNet predictions (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
