"""Image files and arrays: ``load_img``, ``img_to_array``, ``array_to_img``, ``save_img``, ``smart_resize``.

Reading and writing image files needs Pillow (``pip install pillow``); ``img_to_array`` and ``smart_resize``
do not.

>>> img_to_array(np.zeros((2, 3), dtype="uint8")).shape
(2, 3, 1)
>>> smart_resize(np.ones((4, 6, 3)), (2, 2)).shape
(2, 2, 3)
"""

from __future__ import annotations

import io
import os
import pathlib
import warnings
from typing import Any

import numpy as np

from lamina import backend

__all__ = ["load_img", "img_to_array", "array_to_img", "save_img", "smart_resize"]

_RESAMPLING = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _pil(what: str) -> Any:
    try:
        from PIL import Image
    except ImportError as err:
        raise ImportError(f"`{what}` needs Pillow to read and write image files, and it is not installed: run "
                          "`pip install pillow`.") from err
    return Image


def _resample(image_module: Any, interpolation: str) -> Any:
    if interpolation not in _RESAMPLING:
        raise ValueError(f"Invalid interpolation method {interpolation} specified. Supported methods are "
                         f"{', '.join(_RESAMPLING)}")
    resampling = getattr(image_module, "Resampling", image_module)
    return getattr(resampling, interpolation.upper())


def array_to_img(x: Any, data_format: str | None = None, scale: bool = True, dtype: Any = None) -> Any:
    """A PIL image from an array of shape ``(height, width, channels)`` with 1, 3 or 4 channels.

    ``scale=True`` stretches the values to 0..255 first.
    """
    data_format = backend.standardize_data_format(data_format)
    image_module = _pil("array_to_img")
    x = np.asarray(x, dtype=dtype or backend.floatx())
    if x.ndim != 3:
        raise ValueError(f"Expected image array to have rank 3 (single image). Got array with shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        peak = np.max(x)
        if peak != 0:
            x = x / peak
        x = x * 255
    channels = x.shape[2]
    if channels == 4:
        return image_module.fromarray(x.astype("uint8"), "RGBA")
    if channels == 3:
        return image_module.fromarray(x.astype("uint8"), "RGB")
    if channels == 1:
        if np.max(x) > 255:
            return image_module.fromarray(x[:, :, 0].astype("int32"), "I")
        return image_module.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"Unsupported channel number: {channels}")


def img_to_array(img: Any, data_format: str | None = None, dtype: Any = None) -> np.ndarray:
    """A PIL image (or any array-like of rank 2 or 3) as a float array ``(height, width, channels)``."""
    data_format = backend.standardize_data_format(data_format)
    x = np.asarray(img, dtype=dtype or backend.floatx())
    if x.ndim == 3:
        return x.transpose(2, 0, 1) if data_format == "channels_first" else x
    if x.ndim == 2:
        return x.reshape((1,) + x.shape if data_format == "channels_first" else x.shape + (1,))
    raise ValueError(f"Unsupported image shape: {x.shape}")


def save_img(path: Any, x: Any, data_format: str | None = None, file_format: str | None = None, scale: bool = True,
             **kwargs: Any) -> None:
    """Write an image array to a file (the format from ``file_format`` or the file's extension)."""
    data_format = backend.standardize_data_format(data_format)
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower()
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("The JPEG format does not support RGBA images, converting to RGB.", stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format or None, **kwargs)


def load_img(path: Any, color_mode: str = "rgb", target_size: tuple[int, int] | None = None,
             interpolation: str = "nearest", keep_aspect_ratio: bool = False) -> Any:
    """Read an image file into a PIL image.

    Args:
        path: a path or an ``io.BytesIO``.
        color_mode: ``"rgb"``, ``"rgba"`` or ``"grayscale"``.
        target_size: ``(height, width)`` to resize to, or ``None``.
        interpolation: the resampling method (``"nearest"``, ``"bilinear"``, ``"bicubic"``, ``"hamming"``,
            ``"box"``, ``"lanczos"``).
        keep_aspect_ratio: crop the centre to the target's aspect ratio before resizing.
    """
    image_module = _pil("load_img")
    if isinstance(path, io.BytesIO):
        img = image_module.open(path)
    elif isinstance(path, (pathlib.Path, bytes, str, os.PathLike)):
        with open(os.fspath(path), "rb") as f:
            img = image_module.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"path should be path-like or io.BytesIO, not {type(path)}")
    if color_mode == "grayscale":
        if img.mode not in ("L", "I;16", "I"):
            img = img.convert("L")
    elif color_mode in ("rgb", "rgba"):
        if img.mode != color_mode.upper():
            img = img.convert(color_mode.upper())
    else:
        raise ValueError('color_mode must be "grayscale", "rgb", or "rgba"')
    if target_size is None:
        return img
    size = (target_size[1], target_size[0])
    if img.size == size:
        return img
    resample = _resample(image_module, interpolation)
    if not keep_aspect_ratio:
        return img.resize(size, resample)
    width, height = img.size
    crop_height = min(height, (width * size[1]) // size[0])
    crop_width = min(width, (height * size[0]) // size[1])
    top, left = (height - crop_height) // 2, (width - crop_width) // 2
    return img.resize(size, resample, box=[left, top, left + crop_width, top + crop_height])


def smart_resize(x: Any, size: tuple[int, int], interpolation: str = "bilinear",
                 data_format: str = "channels_last", **kwargs: Any) -> Any:
    """Resize images to ``size`` without distorting them: crop the largest centred box of the target's aspect
    ratio, then resize it. ``x`` is ``(height, width, channels)`` or a batch of those; NumPy in, NumPy out."""
    kwargs.pop("backend_module", None)
    if kwargs:
        raise TypeError(f"smart_resize() got unexpected keyword arguments: {list(kwargs.keys())}")
    if len(size) != 2:
        raise ValueError(f"Expected `size` to be a tuple of 2 integers, but got: {size}.")
    import jax
    import jax.numpy as jnp

    img = jnp.asarray(x)
    if img.ndim not in (3, 4):
        raise ValueError("Expected an image array with shape `(height, width, channels)`, or `(batch_size, height, "
                         f"width, channels)`, but got input with incorrect rank, of shape {img.shape}.")
    channels_last = data_format == "channels_last"
    height, width = (img.shape[-3], img.shape[-2]) if channels_last else (img.shape[-2], img.shape[-1])
    target_height, target_width = size
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    top, left = int(float(height - crop_height) / 2), int(float(width - crop_width) / 2)
    rows, cols = slice(top, top + crop_height), slice(left, left + crop_width)
    img = img[..., rows, cols, :] if channels_last else img[..., rows, cols]
    shape = list(img.shape)
    if channels_last:
        shape[-3:-1] = size
    else:
        shape[-2:] = size
    methods = {"bilinear": "linear", "nearest": "nearest", "bicubic": "cubic", "lanczos3": "lanczos3",
               "lanczos5": "lanczos5"}
    if interpolation not in methods:
        raise ValueError(f"Invalid value for argument `interpolation`: {interpolation!r}; expected one of "
                         f"{sorted(methods)}.")
    dtype = img.dtype if jnp.issubdtype(img.dtype, jnp.floating) else jnp.float32
    out = jax.image.resize(img.astype(dtype), tuple(shape), method=methods[interpolation], antialias=False)
    return np.asarray(out) if isinstance(x, np.ndarray) else out
