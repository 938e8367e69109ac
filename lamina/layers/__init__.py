"""All layers, under their Keras names, plus ``serialize``/``deserialize`` of layer configs.

>>> from lamina import layers
>>> layers.deserialize(layers.serialize(layers.Dense(3, name="d"))).units
3
"""

from __future__ import annotations

import types
from typing import Any

from lamina.layers.activation import ELU, LeakyReLU, PReLU, ReLU, Softmax
from lamina.layers.attention import (
    AdditiveAttention,
    Attention,
    GroupedQueryAttention,
    GroupQueryAttention,
    MultiHeadAttention,
)
from lamina.layers.base import InputSpec, Layer, Weight
from lamina.layers.convolution import (
    Conv1D,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    Conv3D,
    Conv3DTranspose,
    Convolution1D,
    Convolution1DTranspose,
    Convolution2D,
    Convolution2DTranspose,
    Convolution3D,
    Convolution3DTranspose,
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
    SeparableConvolution1D,
    SeparableConvolution2D,
)
from lamina.layers.core import Activation, Dense, Identity, Masking
from lamina.layers.einsum_dense import EinsumDense
from lamina.layers.embedding import Embedding
from lamina.layers.image_augmentation import (
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomGrayscale,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
)
from lamina.layers.image_color import (
    RandomColorDegeneration,
    RandomColorJitter,
    RandomGaussianBlur,
    RandomHue,
    RandomInvert,
    RandomPosterization,
    RandomSaturation,
    RandomSharpness,
    Solarization,
)
from lamina.layers.image_geometry import RandomElasticTransform, RandomPerspective, RandomShear
from lamina.layers.image_histogram import AutoContrast, ContrastLimitedAdaptiveHistogramEqualization, Equalization
from lamina.layers.image_mixing import CutMix, MixUp, RandomErasing
from lamina.layers.image_policies import AugMix, RandAugment
from lamina.layers.image_preprocessing import CenterCrop, Resizing
from lamina.layers.input_layer import Input, InputLayer
from lamina.layers.lambda_layer import Lambda
from lamina.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from lamina.layers.normalization import (
    BatchNormalization,
    GroupNormalization,
    LayerNormalization,
    RMSNormalization,
    SpectralNormalization,
    UnitNormalization,
)
from lamina.layers.pooling import (
    AdaptiveAveragePooling1D,
    AdaptiveAveragePooling2D,
    AdaptiveAveragePooling3D,
    AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D,
    AdaptiveMaxPooling3D,
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    AvgPool1D,
    AvgPool2D,
    AvgPool3D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalAvgPool3D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPool3D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
    MaxPool1D,
    MaxPool2D,
    MaxPool3D,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
)
from lamina.layers.preprocessing import CategoryEncoding, Discretization, Normalization, Rescaling
from lamina.layers.preprocessing_text import (
    HashedCrossing,
    Hashing,
    IntegerLookup,
    StringLookup,
    TextVectorization,
)
from lamina.layers.recurrent import (
    GRU,
    LSTM,
    RNN,
    GRUCell,
    LSTMCell,
    SimpleRNN,
    SimpleRNNCell,
    StackedRNNCells,
)
from lamina.layers.regularization import (
    ActivityRegularization,
    AlphaDropout,
    Dropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from lamina.layers.reshaping import (
    Cropping1D,
    Cropping2D,
    Cropping3D,
    Flatten,
    Permute,
    RepeatVector,
    Reshape,
    UpSampling1D,
    UpSampling2D,
    UpSampling3D,
    ZeroPadding1D,
    ZeroPadding2D,
    ZeroPadding3D,
)
from lamina.layers.wrappers import Bidirectional, TimeDistributed, Wrapper

# isort: split
# -- layers2 (issue 16): the rest of Keras 3's non-image layers
from lamina.layers.audio import MelSpectrogram, STFTSpectrogram
from lamina.layers.bounding_boxes import MaxNumBoundingBoxes
from lamina.layers.conv_recurrent import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from lamina.layers.jax_layer import FlaxLayer, JaxLayer
from lamina.layers.other_frameworks import TFSMLayer, TorchModuleWrapper
from lamina.layers.pipeline import Pipeline
from lamina.layers.reversible_embedding import ReversibleEmbedding

# -- end layers2

experimental = types.SimpleNamespace(preprocessing=types.SimpleNamespace(Rescaling=Rescaling))


def _registry() -> dict[str, type]:
    """Every layer class by name: the classes exported here and the model classes."""
    from lamina import models

    classes = {name: obj for name, obj in globals().items()
               if isinstance(obj, type) and issubclass(obj, Layer)}
    classes.update({"Sequential": models.Sequential, "Functional": models.Model, "Model": models.Model})
    return classes


def serialize(layer: Layer) -> dict[str, Any]:
    """Keras 3's serialized form: ``module``, ``class_name``, ``config``, ``registered_name``, ``build_config``."""
    from lamina import models

    if isinstance(layer, models.Sequential):
        head = {"module": "keras", "class_name": "Sequential", "registered_name": None}
    elif isinstance(layer, models.Model):
        head = {"module": "keras.src.models.functional", "class_name": "Functional",
                "registered_name": "Functional"}
    else:
        from lamina.saving.object_registration import GLOBAL_CUSTOM_NAMES, get_registered_name

        name = type(layer).__dict__.get("_keras_class_name", type(layer).__name__)  # GroupQueryAttention
        known = _registry().get(name) is type(layer) and type(layer) not in GLOBAL_CUSTOM_NAMES
        module = type(layer).__module__
        head = {"module": "keras.layers" if known else (None if module == "__main__" else module), "class_name": name,
                "registered_name": None if known else get_registered_name(type(layer))}
    out = {"module": head["module"], "class_name": head["class_name"], "config": layer.get_config(),
           "registered_name": head["registered_name"]}
    shapes_dict = getattr(layer, "_build_shapes_dict", None)
    if layer.built and shapes_dict:  # layers built from several named shapes (MultiHeadAttention)
        out["build_config"] = {"shapes_dict": {k: _listify(v) for k, v in shapes_dict.items()}}
    elif (layer.built and layer._build_input_shape is not None and layer._writes_build_config
            and not isinstance(layer, InputLayer)):
        build = layer.get_build_config()
        if build is not None:
            out["build_config"] = build
    return out


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Layer:
    """Recreate a layer (or a nested model) from ``serialize`` output or a Keras config."""
    from lamina.saving.serialization_lib import retrieve_class

    name = config.get("class_name")
    classes = _registry()
    cls = retrieve_class(config, custom_objects) or classes.get(name)
    if cls is None:
        raise ValueError(
            f"Unknown layer class {name!r}. lamina supports: {', '.join(sorted(classes))}. For a custom layer "
            f"pass custom_objects={{'{name}': YourClass}}."
        )
    if hasattr(cls, "_from_serialized"):
        return cls._from_serialized(config, custom_objects)
    layer = _from_config(cls, config.get("config", {}))
    build = config.get("build_config")
    if build and build.get("shapes_dict") and not layer.built and hasattr(layer, "build_from_shapes"):
        layer.build_from_shapes(**{k: _tupleize(v) for k, v in build["shapes_dict"].items()})
    elif build and not layer.built:
        layer.build_from_config(build)
    return layer


def _from_config(cls: type, config: dict[str, Any]) -> Layer:
    """``cls.from_config(config)``, with an error that names the layer and the argument that was refused."""
    try:
        return cls.from_config(config)
    except (ValueError, TypeError) as e:
        text = str(e)
        culprits = [k for k, v in config.items() if k != "name" and any(repr(t) in text for t in _strings(v))]
        where = f" (argument {', '.join(repr(k) for k in culprits)})" if culprits else ""
        raise type(e)(f"Cannot rebuild layer {config.get('name', '?')!r} ({cls.__name__}) from its config"
                      f"{where}: {text}") from e


def _strings(value: Any) -> list[str]:
    """The strings inside a config value (a name, or a nested ``{"class_name": ..., "config": ...}``)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _strings(v)]
    return []


def _listify(shape: Any) -> Any:
    if isinstance(shape, (tuple, list)):
        return [_listify(s) for s in shape]
    return shape


def _tupleize(shape: Any) -> Any:
    if isinstance(shape, list):
        return tuple(_tupleize(s) for s in shape)
    return shape


__all__ = [name for name in dir() if not name.startswith("_") and name not in ("annotations", "types", "Any")]
