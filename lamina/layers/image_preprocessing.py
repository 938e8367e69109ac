"""Deterministic image layers (``Resizing``, ``CenterCrop``), the base class of the random augmentation layers,
and the image kernels they share (resize with aspect-ratio crop/pad, Keras's affine transform), in pure JAX so they
run inside the jitted step.

>>> import numpy as np
>>> from lamina import layers
>>> layers.Resizing(2, 3)(np.ones((1, 4, 6, 3), "float32")).shape
(1, 2, 3, 3)
>>> layers.CenterCrop(2, 2)(np.arange(16, dtype="float32").reshape(1, 4, 4, 1))[0, :, :, 0].tolist()
[[5.0, 6.0], [9.0, 10.0]]
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina.layers.base import Layer

RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic")
AFFINE_INTERPOLATIONS = {"nearest": 0, "bilinear": 1}
AFFINE_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


# ------------------------------------------------------------------------------------------- kernels
def _hw_axes(data_format: str) -> tuple[int, int]:
    return (-2, -1) if data_format == "channels_first" else (-3, -2)


def _check_rank(images: Any, what: str) -> None:
    if images.ndim not in (3, 4):
        raise ValueError(f"{what}: expected images of rank 3 (one image) or 4 (a batch), received input with shape "
                         f"{tuple(images.shape)}.")


def aspect_crop_box(height: int, width: int, target_h: int, target_w: int) -> tuple[int, int, int, int]:
    """The central box ``(top, left, crop_h, crop_w)`` with the target's aspect ratio (Keras's ``smart_resize``)."""
    crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
    crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
    return int(float(height - crop_h) / 2), int(float(width - crop_w) / 2), crop_h, crop_w


def crop(images: Any, top: Any, left: Any, height: int, width: int, data_format: str) -> Any:
    """``images[..., top:top + height, left:left + width, ...]`` on the spatial axes (``top`` may be traced)."""
    h_axis, w_axis = _hw_axes(data_format)
    images = jax.lax.dynamic_slice_in_dim(images, top, height, axis=images.ndim + h_axis)
    return jax.lax.dynamic_slice_in_dim(images, left, width, axis=images.ndim + w_axis)


def resize(images: Any, size: Sequence[int], interpolation: str = "bilinear", antialias: bool = False,
           crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False, fill_value: float = 0.0,
           data_format: str = "channels_last") -> Any:
    """``keras.ops.image.resize`` on JAX: optional central crop or symmetric pad to the target aspect ratio, then
    ``jax.image.resize``."""
    if interpolation not in RESIZE_INTERPOLATIONS:
        raise ValueError(f"Invalid value for argument `interpolation`. Expected of one {RESIZE_INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation}")
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`.")
    _check_rank(images, "resize")
    target_h, target_w = (int(s) for s in size)
    h_axis, w_axis = images.ndim + _hw_axes(data_format)[0], images.ndim + _hw_axes(data_format)[1]
    height, width = images.shape[h_axis], images.shape[w_axis]
    if crop_to_aspect_ratio:
        top, left, ch, cw = aspect_crop_box(height, width, target_h, target_w)
        images = crop(images, top, left, ch, cw, data_format)
    elif pad_to_aspect_ratio:
        pad_h = max(height, int(float(width * target_h) / target_w))
        pad_w = max(width, int(float(height * target_w) / target_h))
        top, left = int(float(pad_h - height) / 2), int(float(pad_w - width) / 2)
        pads = [(0, 0)] * images.ndim
        if top > 0:
            pads[h_axis] = (top, top)
        elif left > 0:
            pads[w_axis] = (left, left)
        images = jnp.pad(images, pads, constant_values=jnp.asarray(fill_value, images.dtype))
    shape = list(images.shape)
    shape[h_axis], shape[w_axis] = target_h, target_w
    return jax.image.resize(images, tuple(shape), method=interpolation, antialias=antialias)


def saturate_cast(x: Any, dtype: Any) -> Any:
    """Cast with clipping to ``dtype``'s range (ints are rounded first), as Keras's image layers do."""
    dtype = jnp.dtype(dtype)
    if jnp.issubdtype(dtype, jnp.integer):
        info = jnp.iinfo(dtype)
        x = jnp.clip(jnp.round(x), info.min, info.max)
    return x.astype(dtype)


def affine_transform(images: Any, transform: Any, interpolation: str = "bilinear", fill_mode: str = "constant",
                     fill_value: float = 0.0, data_format: str = "channels_last") -> Any:
    """``keras.ops.image.affine_transform``: each output pixel ``(x, y)`` samples the input at
    ``(a0 x + a1 y + a2, b0 x + b1 y + b2) / (c0 x + c1 y + 1)`` (8 numbers per image; the projective part
    ``c0, c1`` is ignored, as in Keras's JAX backend)."""
    if interpolation not in AFFINE_INTERPOLATIONS:
        raise ValueError(f"Invalid value for argument `interpolation`. Expected of one "
                         f"{set(AFFINE_INTERPOLATIONS)}. Received: interpolation={interpolation}")
    if fill_mode not in AFFINE_FILL_MODES:
        raise ValueError(f"Invalid value for argument `fill_mode`. Expected of one {set(AFFINE_FILL_MODES)}. "
                         f"Received: fill_mode={fill_mode}")
    _check_rank(images, "affine_transform")
    transform = jnp.asarray(transform)
    single = images.ndim == 3
    if single:
        images = images[None]
    if transform.ndim == 1:
        transform = transform[None]
    if data_format == "channels_first":
        images = jnp.transpose(images, (0, 2, 3, 1))
    batch, height, width, channels = images.shape
    transform = jnp.broadcast_to(transform.astype("float32"), (batch, transform.shape[-1]))
    a0, a1, a2, b0, b1, b2 = (transform[:, i][:, None, None] for i in range(6))
    ys, xs = jnp.meshgrid(jnp.arange(height, dtype="float32"), jnp.arange(width, dtype="float32"), indexing="ij")
    src_y = b1 * ys + b0 * xs + b2  # (batch, h, w): rows sampled
    src_x = a1 * ys + a0 * xs + a2
    coords = jnp.stack([jnp.broadcast_to(src_y[..., None], (batch, height, width, channels)),
                        jnp.broadcast_to(src_x[..., None], (batch, height, width, channels)),
                        jnp.broadcast_to(jnp.arange(channels, dtype="float32"), (batch, height, width, channels))],
                       axis=1)
    sample = functools.partial(jax.scipy.ndimage.map_coordinates, order=AFFINE_INTERPOLATIONS[interpolation],
                               mode=fill_mode, cval=fill_value)
    out = jax.vmap(lambda img, c: sample(img, list(c)))(images, coords)
    if data_format == "channels_first":
        out = jnp.transpose(out, (0, 3, 1, 2))
    return out[0] if single else out


def affine_matrix(angle: Any, translate_x: Any, translate_y: Any, scale: Any, shear_x: Any, shear_y: Any,
                  height: int, width: int, center_x: float = 0.5, center_y: float = 0.5) -> Any:
    """Keras's ``_compute_affine_matrix``: rotation by ``angle`` degrees about the center, shear (degrees), scale
    and translation (pixels), as ``(batch, 8)`` transforms for :func:`affine_transform`."""
    rad = jnp.asarray(math.pi / 180.0, "float32")
    angle, shear_x, shear_y = angle * rad, jnp.tan(shear_x * rad), jnp.tan(shear_y * rad)
    cx, cy = center_x * (width - 1.0), center_y * (height - 1.0)
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    a0 = scale * (cos + shear_x * sin)
    a1 = scale * (-sin + shear_x * cos)
    a2 = translate_x + cx - cx * a0 - cy * a1
    b0 = scale * (shear_y * cos + sin)
    b1 = scale * (shear_y * -sin + cos)
    b2 = translate_y + cy - cx * b0 - cy * b1
    zeros = jnp.zeros_like(a0)
    return jnp.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


# ------------------------------------------------------------------------------------------- base class
class BaseImagePreprocessingLayer(Layer):
    """Keras's image-layer protocol: ``get_random_transformation(images, training, seed)`` draws the parameters
    (per image; ``None`` or neutral ones when not training), ``transform_images(images, transformation, training)``
    applies them. Called directly (outside a model and without ``training=``) a random layer augments, as in Keras.
    """

    _USE_BASE_FACTOR = True
    _FACTOR_BOUNDS: tuple[float, float] = (-1, 1)
    _BATCH_SINGLE_IMAGES = False  # True: a rank-3 image is transformed as a batch of one (Keras's single-image path)
    interpolation = "bilinear"

    def __init__(self, factor: Any = None, bounding_box_format: Any = None, data_format: str | None = None,
                 **kwargs: Any) -> None:
        from lamina.layers.convolution import data_format_of

        super().__init__(**kwargs)
        if bounding_box_format is not None:
            raise ValueError(f"{type(self).__name__}: bounding boxes are not supported by lamina yet; pass images "
                             "only (bounding_box_format=None).")
        self.bounding_box_format = bounding_box_format
        self.data_format = data_format_of(data_format, f"{type(self).__name__} '{self.name}'")
        if self._USE_BASE_FACTOR:
            self._set_factor(factor or 0.0)
        elif factor is not None:
            raise ValueError(f"Layer {type(self).__name__} does not take a `factor` argument. Received: "
                             f"factor={factor}")

    def _set_factor(self, factor: Any) -> None:
        low, high = self._FACTOR_BOUNDS
        error = ("The `factor` argument should be a number (or a list of two numbers) in the range "
                 f"[{low}, {high}]. Received: factor={factor}")
        if isinstance(factor, (tuple, list)):
            if len(factor) != 2 or factor[0] > high or factor[1] < low:
                raise ValueError(error)
            lower, upper = sorted(factor)
        elif isinstance(factor, (int, float)):
            if factor < low or factor > high:
                raise ValueError(error)
            factor = abs(factor)
            lower, upper = max(-factor, low), factor
        else:
            raise ValueError(error)
        self.factor = (lower, upper)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        return None

    def _transform_images(self, images: Any, transformation: Any, interpolation: str) -> Any:
        raise NotImplementedError

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        images = jnp.asarray(images).astype(self.dtype)
        if training:
            images = self._transform_images(images, transformation, self.interpolation)
        return images

    def call(self, inputs: Any, training: bool = True) -> Any:
        images = jnp.asarray(inputs)
        _check_rank(images, f"{type(self).__name__} '{self.name}'")
        transformation = self.get_random_transformation(images, training=training)
        if images.ndim == 3 and self._BATCH_SINGLE_IMAGES:
            return self.transform_images(images[None], transformation, training=training)[0]
        return self.transform_images(images, transformation, training=training)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def compute_output_dtype(self, input_dtype: str) -> str:
        return self.dtype

    def _image_size(self, shape: Sequence[int]) -> tuple[int, int]:
        h_axis, w_axis = _hw_axes(self.data_format)
        return shape[h_axis], shape[w_axis]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        config = dict(config)
        if isinstance(config.get("factor"), list):
            config["factor"] = tuple(config["factor"])
        return cls(**config)


def _spatial_shape(layer: Any, input_shape: Any, height: int, width: int) -> tuple[int | None, ...]:
    shape = list(input_shape)
    if len(shape) not in (3, 4):
        raise ValueError(f"{type(layer).__name__} '{layer.name}': expected images of rank 3 or 4, received shape "
                         f"{tuple(input_shape)}.")
    h_axis, w_axis = _hw_axes(layer.data_format)
    shape[h_axis], shape[w_axis] = height, width
    return tuple(shape)


class Resizing(BaseImagePreprocessingLayer):
    """Resize images to ``(height, width)`` (``interpolation`` bilinear/nearest/bicubic/lanczos3/lanczos5), optionally
    cropping (``crop_to_aspect_ratio``) or padding (``pad_to_aspect_ratio``) to the target aspect ratio first."""

    _USE_BASE_FACTOR = False

    def __init__(self, height: int, width: int, interpolation: str = "bilinear", crop_to_aspect_ratio: bool = False,
                 pad_to_aspect_ratio: bool = False, fill_mode: str = "constant", fill_value: float = 0.0,
                 antialias: bool = False, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        if interpolation not in RESIZE_INTERPOLATIONS:
            raise ValueError(f"Resizing '{self.name}': invalid `interpolation` {interpolation!r}; expected one of "
                             f"{RESIZE_INTERPOLATIONS}.")
        if fill_mode != "constant":
            raise ValueError("Invalid value for argument `fill_mode`. Only `'constant'` is supported. Received: "
                             f"fill_mode={fill_mode}")
        self.height, self.width = int(height), int(width)
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = bool(antialias)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return Layer.__call__(self, *args, **kwargs)

    def transform_images(self, images: Any, transformation: Any = None, training: bool = True) -> Any:
        images = jnp.asarray(images)
        out = resize(images, (self.height, self.width), self.interpolation, self.antialias,
                     self.crop_to_aspect_ratio, self.pad_to_aspect_ratio, self.fill_value, self.data_format)
        return out if out.dtype == images.dtype else saturate_cast(out, images.dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return _spatial_shape(self, input_shape, self.height, self.width)

    def compute_output_dtype(self, input_dtype: str) -> str:
        return input_dtype

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


class CenterCrop(BaseImagePreprocessingLayer):
    """Crop the central ``(height, width)`` window; images smaller than that are cropped to the aspect ratio and
    resized up (Keras's ``smart_resize``)."""

    _USE_BASE_FACTOR = False

    def __init__(self, height: int, width: int, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = int(height), int(width)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return Layer.__call__(self, *args, **kwargs)

    def transform_images(self, images: Any, transformation: Any = None, training: bool = True) -> Any:
        images = jnp.asarray(images).astype(self.dtype)
        height, width = self._image_size(images.shape)
        if height >= self.height and width >= self.width:
            return crop(images, (height - self.height) // 2, (width - self.width) // 2, self.height, self.width,
                        self.data_format)
        return resize(images, (self.height, self.width), crop_to_aspect_ratio=True, data_format=self.data_format)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return _spatial_shape(self, input_shape, self.height, self.width)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width}


def as_float_pair(value: Any) -> Any:
    """Config values as Keras writes them: tuples stay tuples (JSON lists)."""
    return tuple(value) if isinstance(value, (list, np.ndarray)) else value
