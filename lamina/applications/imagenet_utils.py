"""``keras.applications.imagenet_utils``: ImageNet preprocessing, prediction decoding and the shared model plumbing.

>>> import numpy as np
>>> preprocess_input(np.full((1, 2, 2, 3), 255.0), mode="tf")[0, 0, 0].tolist()
[1.0, 1.0, 1.0]
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

import numpy as np

CLASS_INDEX: dict[str, list[str]] | None = None
CLASS_INDEX_PATH = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
CLASS_INDEX_HASH = "c2c37ea517e94d9795004a39431a14cb"

_CAFFE_MEAN = [103.939, 116.779, 123.68]
_TORCH_MEAN = [0.485, 0.456, 0.406]
_TORCH_STD = [0.229, 0.224, 0.225]


def _image_data_format() -> str:
    from lamina import backend

    return backend.image_data_format()


def preprocess_input(x: Any, data_format: str | None = None, mode: str = "caffe") -> Any:
    """Preprocess a batch of images with values in [0, 255] (``mode`` one of "caffe", "tf", "torch").

    NumPy float inputs are modified in place, as in Keras; tensors are returned as new tensors.
    """
    if mode not in {"caffe", "tf", "torch"}:
        raise ValueError(f"Expected mode to be one of `caffe`, `tf` or `torch`. Received: mode={mode}")
    if data_format is None:
        data_format = _image_data_format()
    elif data_format not in {"channels_first", "channels_last"}:
        raise ValueError(
            "Expected data_format to be one of `channels_first` or "
            f"`channels_last`. Received: data_format={data_format}"
        )
    if isinstance(x, np.ndarray):
        return _preprocess_numpy(x, data_format, mode)
    return _preprocess_tensor(x, data_format, mode)


def _channel_index(ndim: int, data_format: str, c: int) -> tuple:
    if data_format == "channels_last":
        return (Ellipsis, c)
    if ndim == 3:
        return (c,)
    return (slice(None), c)


def _preprocess_numpy(x: np.ndarray, data_format: str, mode: str) -> np.ndarray:
    from lamina import backend

    if not issubclass(x.dtype.type, np.floating):
        x = x.astype(backend.floatx(), copy=False)
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    if mode == "torch":
        x /= 255.0
        mean, std = _TORCH_MEAN, _TORCH_STD
    else:
        if data_format == "channels_last":
            x = x[..., ::-1]
        elif x.ndim == 3:
            x = x[::-1, ...]
        else:
            x = x[:, ::-1, ...]
        mean, std = _CAFFE_MEAN, None
    for c in range(3):
        idx = _channel_index(x.ndim, data_format, c)
        x[idx] -= mean[c]
        if std is not None:
            x[idx] /= std[c]
    return x


def _preprocess_tensor(x: Any, data_format: str, mode: str) -> Any:
    from lamina import ops

    ndim = len(x.shape)
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "torch":
        x = x / 255.0
        mean, std = _TORCH_MEAN, _TORCH_STD
    else:
        if data_format == "channels_last":
            x = ops.stack([x[..., i] for i in (2, 1, 0)], axis=-1)
        elif ndim == 3:
            x = ops.stack([x[i, ...] for i in (2, 1, 0)], axis=0)
        else:
            x = ops.stack([x[:, i] for i in (2, 1, 0)], axis=1)
        mean, std = _CAFFE_MEAN, None
    if data_format == "channels_last":
        shape = (1,) * (ndim - 1) + (3,)
    elif ndim == 3:
        shape = (3, 1, 1)
    else:
        shape = (1, 3) + (1,) * (ndim - 2)
    x = x + ops.reshape(ops.convert_to_tensor(-np.array(mean), dtype=x.dtype), shape)
    if std is not None:
        # Keras reshapes std to (-1, 1, 1) for channels_first and leaves it flat for channels_last.
        std_shape = (-1, 1, 1) if data_format == "channels_first" else (3,)
        x = x / ops.reshape(ops.convert_to_tensor(np.array(std), dtype=x.dtype), std_shape)
    return x


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """Decode a ``(samples, 1000)`` batch of ImageNet predictions into ``(class_name, description, score)`` lists."""
    global CLASS_INDEX
    if len(preds.shape) != 2 or preds.shape[1] != 1000:
        raise ValueError(
            "`decode_predictions` expects a batch of predictions (i.e. a 2D array of shape (samples, 1000)). "
            f"Received array with shape: {preds.shape}"
        )
    if CLASS_INDEX is None:
        from lamina.utils.file_utils import get_file

        fpath = get_file("imagenet_class_index.json", CLASS_INDEX_PATH, cache_subdir="models",
                         file_hash=CLASS_INDEX_HASH)
        with open(fpath) as f:
            CLASS_INDEX = json.load(f)
    preds = np.asarray(preds)
    results = []
    for pred in preds:
        top_indices = pred.argsort()[-top:][::-1]
        result = [tuple(CLASS_INDEX[str(i)]) + (pred[i],) for i in top_indices]
        result.sort(key=lambda r: r[2], reverse=True)
        results.append(result)
    return results


def obtain_input_shape(input_shape: Any, default_size: int, min_size: int, data_format: str,
                       require_flatten: bool, weights: Any = None) -> tuple:
    """Validate (or default) a model's input shape, as Keras's ``obtain_input_shape``."""
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        if data_format == "channels_first":
            if input_shape[0] not in {1, 3}:
                warnings.warn("This model usually expects 1 or 3 input channels. However, it was passed an "
                              f"input_shape with {input_shape[0]} input channels.", stacklevel=2)
            default_shape = (input_shape[0], default_size, default_size)
        else:
            if input_shape[-1] not in {1, 3}:
                warnings.warn("This model usually expects 1 or 3 input channels. However, it was passed an "
                              f"input_shape with {input_shape[-1]} input channels.", stacklevel=2)
            default_shape = (default_size, default_size, input_shape[-1])
    elif data_format == "channels_first":
        default_shape = (3, default_size, default_size)
    else:
        default_shape = (default_size, default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None:
            if tuple(input_shape) != default_shape:
                raise ValueError(f"When setting `include_top=True` and loading `imagenet` weights, `input_shape` "
                                 f"should be {default_shape}.  Received: input_shape={input_shape}")
        return default_shape
    if input_shape:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(f"`input_shape` must be a tuple of three integers. Received: input_shape={input_shape}")
        if data_format == "channels_first":
            channels, spatial = input_shape[0], input_shape[1:]
        else:
            channels, spatial = input_shape[-1], input_shape[:2]
        if channels != 3 and weights == "imagenet":
            raise ValueError(f"The input must have 3 channels; Received `input_shape={input_shape}`")
        if any(d is not None and d < min_size for d in spatial):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; Received: "
                             f"input_shape={input_shape}")
    elif require_flatten:
        input_shape = default_shape
    elif data_format == "channels_first":
        input_shape = (3, None, None)
    else:
        input_shape = (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError("If `include_top` is True, you should specify a static `input_shape`. "
                         f"Received: input_shape={input_shape}")
    return input_shape


def correct_pad(inputs: Any, kernel_size: int | tuple[int, int]) -> tuple:
    """The ``ZeroPadding2D`` padding a strided 'valid' convolution needs to match TF's 'same' padding."""
    img_dim = 2 if _image_data_format() == "channels_first" else 1
    input_size = inputs.shape[img_dim:img_dim + 2]
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    adjust = (1, 1) if input_size[0] is None else (1 - input_size[0] % 2, 1 - input_size[1] % 2)
    correct = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


def validate_activation(classifier_activation: Any, weights: Any) -> None:
    """Pretrained weights only allow a ``None`` or ``"softmax"`` classifier activation."""
    if weights is None:
        return
    from lamina import activations

    act = activations.get(classifier_activation)
    if act not in {activations.get("softmax"), activations.get(None)}:
        raise ValueError("Only `None` and `softmax` activations are allowed for the `classifier_activation` "
                         "argument when using pretrained weights, with `include_top=True`; Received: "
                         f"classifier_activation={classifier_activation}")


# --- shared plumbing for the model builders (lamina-internal) ---------------------------------------------------


def check_weights_arg(weights: Any, include_top: bool, classes: int) -> None:
    """Keras's checks on ``weights`` and ``classes``."""
    if not (weights in {"imagenet", None} or (isinstance(weights, (str, os.PathLike)) and os.path.exists(weights))):
        raise ValueError("The `weights` argument should be either `None` (random initialization), 'imagenet' "
                         "(pre-training on ImageNet), or the path to the weights file to be loaded.  "
                         f"Received: weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError("If using `weights='imagenet'` with `include_top=True`, `classes` should be 1000.  "
                         f"Received classes={classes}")


def image_input(input_tensor: Any, input_shape: tuple) -> Any:
    """The model's image input: a new ``Input`` or the given tensor."""
    from lamina import backend, layers

    if input_tensor is None:
        return layers.Input(shape=input_shape)
    if not backend.is_keras_tensor(input_tensor):
        return layers.Input(tensor=input_tensor, shape=input_shape)
    return input_tensor


def make_model(img_input: Any, input_tensor: Any, outputs: Any, name: str) -> Any:
    """The Functional model from the source inputs of ``input_tensor`` (or ``img_input``) to ``outputs``."""
    from lamina import utils
    from lamina.models import Model

    inputs = utils.get_source_inputs(input_tensor) if input_tensor is not None else img_input
    return Model(inputs, outputs, name=name)


def load_weights(model: Any, weights: Any, file_name: str | None = None, origin: str | None = None,
                 file_hash: str | None = None) -> Any:
    """Load ``weights`` (a path, or "imagenet" through ``get_file`` with ``file_name``/``origin``/``file_hash``)."""
    if weights == "imagenet":
        from lamina.utils.file_utils import get_file

        path = get_file(file_name, origin, cache_subdir="models", file_hash=file_hash)
        model.load_weights(path)
    elif weights is not None:
        model.load_weights(weights)
    return model


def top_or_pool(x: Any, include_top: bool, pooling: str | None,
                pool_names: tuple[str | None, str | None] = (None, None)) -> Any:
    """Apply the ``pooling`` choice of a headless model (``"avg"``, ``"max"`` or ``None``)."""
    from lamina import layers

    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=pool_names[0])(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=pool_names[1])(x)
    return x
