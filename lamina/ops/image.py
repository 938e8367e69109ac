"""``keras.ops.image`` on JAX: colour spaces, resizing, affine/perspective/elastic warps, patches, blur, SSIM.

These names live only under ``lamina.ops.image``, as in Keras. Images are ``(batch, h, w, c)`` or ``(h, w, c)``
(``channels_first``: channels before the spatial axes); ``data_format=None`` means ``image_data_format()``.

>>> import jax.numpy as jnp
>>> resize(jnp.ones((2, 4, 4, 3)), (8, 6)).shape
(2, 8, 6, 3)
>>> rgb_to_grayscale(jnp.ones((4, 4, 3))).shape
(4, 4, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from lamina.backend import standardize_data_format
from lamina.ops.core import convert_to_tensor, saturate_cast, standardize_dtype
from lamina.ops.nn import conv
from lamina.ops.symbolic import dispatch
from lamina.random import draw_seed

__all__ = [
    "affine_transform", "crop_images", "elastic_transform", "extract_patches", "extract_patches_3d", "gaussian_blur",
    "hsv_to_rgb", "map_coordinates", "pad_images", "perspective_transform", "resize", "rgb_to_grayscale",
    "rgb_to_hsv", "scale_and_translate", "sobel_edges", "ssim",
]

RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic")
INTERPOLATION_ORDERS = {"nearest": 0, "bilinear": 1}
FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
SCALE_AND_TRANSLATE_METHODS = ("linear", "bilinear", "trilinear", "cubic", "bicubic", "tricubic", "lanczos3",
                               "lanczos5")


def _check_rank(images: Any, name: str = "images") -> None:
    if len(images.shape) not in (3, 4):
        raise ValueError(f"Invalid {name} rank: expected rank 3 (single image) or rank 4 (batch of images). "
                         f"Received input with shape: {name}.shape={images.shape}")


def _float_dtype(dtype: Any) -> Any:
    return dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.float32


def _check_choice(value: Any, allowed: Sequence[str], name: str) -> None:
    if value not in allowed:
        raise ValueError(f"Invalid value for argument `{name}`. Expected one of {set(allowed)}. Received: "
                         f"{name}={value}")


# ------------------------------------------------------------------------------------------ colour
@dispatch
def rgb_to_grayscale(images: Any, data_format: str | None = None) -> jax.Array:
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` with the channel axis kept (size 1); one channel passes through."""
    images = convert_to_tensor(images)
    axis = -1 if standardize_data_format(data_format) == "channels_last" else -3
    _check_rank(images)
    if images.shape[axis] not in (1, 3):
        raise ValueError(f"Invalid channel size: expected 3 (RGB) or 1 (Grayscale). Received input with shape: "
                         f"images.shape={images.shape}")
    if images.shape[axis] == 1:
        return images
    original = images.dtype
    x = images.astype(_float_dtype(original))
    weights = jnp.asarray([0.2989, 0.587, 0.114], x.dtype)
    gray = jnp.tensordot(x, weights, axes=(axis, -1))
    return jnp.expand_dims(gray, axis).astype(original)


def _check_float(images: jax.Array) -> None:
    if not jnp.issubdtype(images.dtype, jnp.floating):
        raise ValueError(f"Invalid images dtype: expected float dtype. Received: images.dtype="
                         f"{standardize_dtype(images.dtype)}")


@dispatch
def rgb_to_hsv(images: Any, data_format: str | None = None) -> jax.Array:
    """RGB in ``[0, 1]`` to HSV in ``[0, 1]`` (float images only)."""
    images = convert_to_tensor(images)
    axis = -1 if standardize_data_format(data_format) == "channels_last" else -3
    _check_rank(images)
    _check_float(images)
    images = jnp.where(jnp.abs(images) < jnp.finfo(images.dtype).eps, 0.0, images).astype(images.dtype)
    r, g, b = (jnp.take(images, i, axis=axis) for i in range(3))
    value = jnp.maximum(jnp.maximum(r, g), b)
    spread = value - jnp.minimum(jnp.minimum(r, g), b)
    saturation = jnp.where(value > 0, spread / jnp.where(value > 0, value, 1.0), 0.0)
    norm = 1.0 / (6.0 * jnp.where(spread > 0, spread, 1.0))
    hue = jnp.where(value == g, norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
    hue = jnp.where(value == r, norm * (g - b), hue)
    hue = jnp.where(spread > 0, hue, 0.0) + (hue < 0.0).astype(hue.dtype)
    return jnp.stack([hue, saturation, value], axis=axis)


@dispatch
def hsv_to_rgb(images: Any, data_format: str | None = None) -> jax.Array:
    """HSV in ``[0, 1]`` to RGB (float images only)."""
    images = convert_to_tensor(images)
    axis = -1 if standardize_data_format(data_format) == "channels_last" else -3
    _check_rank(images)
    _check_float(images)
    hue, saturation, value = (jnp.take(images, i, axis=axis) for i in range(3))
    dh = jnp.mod(hue, 1.0) * 6.0
    dr = jnp.clip(jnp.abs(dh - 3.0) - 1.0, 0.0, 1.0)
    dg = jnp.clip(2.0 - jnp.abs(dh - 2.0), 0.0, 1.0)
    db = jnp.clip(2.0 - jnp.abs(dh - 4.0), 0.0, 1.0)
    grey = 1.0 - saturation
    return jnp.stack([value * (grey + saturation * d) for d in (dr, dg, db)], axis=axis)


# ------------------------------------------------------------------------------------------ resize
def _spatial(images: jax.Array, fmt: str) -> tuple[int, int]:
    return (images.shape[-3], images.shape[-2]) if fmt == "channels_last" else (images.shape[-2], images.shape[-1])


def _take_hw(images: jax.Array, fmt: str, top: int, height: int, left: int, width: int) -> jax.Array:
    if fmt == "channels_last":
        return images[..., top:top + height, left:left + width, :]
    return images[..., top:top + height, left:left + width]


def _pad_hw(images: jax.Array, fmt: str, rows: tuple[int, int], cols: tuple[int, int], value: Any = 0
            ) -> jax.Array:
    pads = [(0, 0)] * images.ndim
    h_axis = images.ndim - 3 if fmt == "channels_last" else images.ndim - 2
    pads[h_axis], pads[h_axis + 1] = rows, cols
    return jnp.pad(images, pads, constant_values=value)


@dispatch
def resize(images: Any, size: Sequence[int], interpolation: str = "bilinear", antialias: bool = False,
           crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False, fill_mode: str = "constant",
           fill_value: float = 0.0, data_format: str | None = None) -> jax.Array:
    """Resize to ``size = (height, width)``; optionally centre-crop or pad to the target aspect ratio first.

    Integer images are rounded and saturated back to their dtype, as in Keras.
    """
    if len(size) != 2:
        raise ValueError(f"Expected `size` to be a tuple of 2 integers. Received: size={size}")
    if size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"`size` must have positive height and width. Received: size={size}")
    _check_rank(images)
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`.")
    _check_choice(interpolation, RESIZE_INTERPOLATIONS, "interpolation")
    if fill_mode != "constant":
        raise ValueError(f"Invalid value for argument `fill_mode`. Only `'constant'` is supported. Received: "
                         f"fill_mode={fill_mode}")
    fmt = standardize_data_format(data_format)
    images = convert_to_tensor(images)
    original = images.dtype
    target_h, target_w = int(size[0]), int(size[1])
    height, width = _spatial(images, fmt)
    if crop_to_aspect_ratio:
        crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
        crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
        images = _take_hw(images, fmt, int((height - crop_h) / 2), crop_h, int((width - crop_w) / 2), crop_w)
    elif pad_to_aspect_ratio:
        pad_h = max(height, int(float(width * target_h) / target_w))
        pad_w = max(width, int(float(height * target_w) / target_h))
        top, left = int((pad_h - height) / 2), int((pad_w - width) / 2)
        if top > 0:
            images = _pad_hw(images, fmt, (top, top), (0, 0), fill_value)
        elif left > 0:
            images = _pad_hw(images, fmt, (0, 0), (left, left), fill_value)
    shape = list(images.shape)
    h_axis = images.ndim - 3 if fmt == "channels_last" else images.ndim - 2
    shape[h_axis], shape[h_axis + 1] = target_h, target_w
    out = jax.image.resize(images, tuple(shape), method=interpolation, antialias=antialias)
    if out.dtype == original:
        return out
    if jnp.issubdtype(original, jnp.integer):
        out = jnp.round(out)
    return saturate_cast(out, original)


@dispatch
def scale_and_translate(images: Any, output_shape: Sequence[int], scale: Any, translation: Any,
                        spatial_dims: Sequence[int], method: str, antialias: bool = True) -> jax.Array:
    """``jax.image.scale_and_translate``: resample ``spatial_dims`` with a scale and a translation."""
    _check_choice(method, SCALE_AND_TRANSLATE_METHODS, "method")
    return jax.image.scale_and_translate(convert_to_tensor(images), output_shape, spatial_dims,
                                         convert_to_tensor(scale), convert_to_tensor(translation), method, antialias)


# ------------------------------------------------------------------------------------------ warps
@dispatch
def map_coordinates(inputs: Any, coordinates: Any, order: int, fill_mode: str = "constant",
                    fill_value: float = 0) -> jax.Array:
    """Sample ``inputs`` at ``coordinates`` (one array per input axis) with spline ``order`` 0 or 1.

    >>> import jax.numpy as jnp
    >>> map_coordinates(jnp.arange(4.0), jnp.array([[0.5, 2.0]]), 1).tolist()
    [0.5, 2.0]
    """
    inputs, coordinates = convert_to_tensor(inputs), convert_to_tensor(coordinates)
    if coordinates.shape[0] != inputs.ndim:
        raise ValueError(f"First dim of `coordinates` must be the same as the rank of `inputs`. Received inputs with "
                         f"shape: {inputs.shape} and coordinate leading dim of {coordinates.shape[0]}")
    if coordinates.ndim < 2:
        raise ValueError(f"Invalid coordinates rank: expected at least rank 2. Received input with shape: "
                         f"{coordinates.shape}")
    _check_choice(fill_mode, FILL_MODES, "fill_mode")
    if order not in (0, 1):
        raise ValueError(f"Invalid value for argument `order`. Expected one of [0, 1]. Received: order={order}")
    return jax.scipy.ndimage.map_coordinates(inputs, coordinates, order, fill_mode, fill_value)


def _batched(images: jax.Array, fmt: str) -> tuple[jax.Array, bool]:
    squeeze = images.ndim == 3
    if squeeze:
        images = images[None]
    if fmt == "channels_first":
        images = jnp.transpose(images, (0, 2, 3, 1))
    return images, squeeze


def _unbatched(images: jax.Array, fmt: str, squeeze: bool) -> jax.Array:
    if fmt == "channels_first":
        images = jnp.transpose(images, (0, 3, 1, 2))
    return images[0] if squeeze else images


@dispatch
def affine_transform(images: Any, transform: Any, interpolation: str = "bilinear", fill_mode: str = "constant",
                     fill_value: float = 0, data_format: str | None = None) -> jax.Array:
    """Warp by ``transform = [a0, a1, a2, b0, b1, b2, c0, c1]`` (per image or one for all).

    An output pixel ``(x, y)`` samples the input at ``x' = a0 x + a1 y + a2``, ``y' = b0 x + b1 y + b2``; as in
    Keras's JAX backend, ``c0`` and ``c1`` offset the sampled channel coordinate rather than dividing.
    """
    _check_choice(interpolation, tuple(INTERPOLATION_ORDERS), "interpolation")
    _check_choice(fill_mode, FILL_MODES, "fill_mode")
    fmt = standardize_data_format(data_format)
    images, transform = convert_to_tensor(images), convert_to_tensor(transform)
    _check_rank(images)
    if transform.ndim not in (1, 2):
        raise ValueError(f"Invalid transform rank: expected rank 1 (single transform) or rank 2 (batch of "
                         f"transforms). Received input with shape: transform.shape={transform.shape}")
    x, squeeze = _batched(images, fmt)
    if transform.ndim == 1:
        transform = transform[None]
    transform = jnp.broadcast_to(transform, (x.shape[0], 8))
    _, h, w, c = x.shape
    yy, xx, cc = jnp.meshgrid(jnp.arange(h), jnp.arange(w), jnp.arange(c), indexing="ij")

    def warp(image: jax.Array, t: jax.Array) -> jax.Array:
        a0, a1, a2, b0, b1, b2, c0, c1 = (t[i] for i in range(8))
        rows = b1 * yy + b0 * xx + c0 * cc + b2
        cols = a1 * yy + a0 * xx + c1 * cc + a2
        coords = jnp.stack([rows, cols, cc.astype(rows.dtype)])
        return jax.scipy.ndimage.map_coordinates(image, coords, order=INTERPOLATION_ORDERS[interpolation],
                                                 mode=fill_mode, cval=fill_value)

    return _unbatched(jax.vmap(warp)(x, transform), fmt, squeeze)


def _homography(start: jax.Array, end: jax.Array) -> jax.Array:
    """The 8 coefficients mapping ``end`` points to ``start`` points (a batch of 4-point sets)."""
    sx, sy, ex, ey = start[..., 0], start[..., 1], end[..., 0], end[..., 1]
    zeros, ones = jnp.zeros_like(ex), jnp.ones_like(ex)
    x_rows = jnp.stack([ex, ey, ones, zeros, zeros, zeros, -sx * ex, -sx * ey], axis=-1)
    y_rows = jnp.stack([zeros, zeros, zeros, ex, ey, ones, -sy * ex, -sy * ey], axis=-1)
    matrix = jnp.concatenate([x_rows, y_rows], axis=1)
    return jnp.linalg.solve(matrix, jnp.concatenate([sx, sy], axis=-1)[..., None])[..., 0]


@dispatch
def perspective_transform(images: Any, start_points: Any, end_points: Any, interpolation: str = "bilinear",
                          fill_value: float = 0, data_format: str | None = None) -> jax.Array:
    """Warp so that the 4 ``start_points`` (x, y) land on ``end_points``; outside pixels get ``fill_value``."""
    _check_choice(interpolation, tuple(INTERPOLATION_ORDERS), "interpolation")
    fmt = standardize_data_format(data_format)
    images = convert_to_tensor(images)
    start, end = convert_to_tensor(start_points), convert_to_tensor(end_points)
    _check_rank(images)
    for name, points in (("start_points", start), ("end_points", end)):
        if points.shape[-2:] != (4, 2) or points.ndim not in (2, 3):
            raise ValueError(f"Invalid {name} shape: expected (4,2) for a single image or (N,4,2) for a batch. "
                             f"Received shape: {points.shape}")
    if start.shape != end.shape:
        raise ValueError(f"start_points and end_points must have the same shape. Received start_points.shape="
                         f"{start.shape}, end_points.shape={end.shape}")
    x, squeeze = _batched(images, fmt)
    if start.ndim == 2:
        start, end = start[None], end[None]
    coeffs = _homography(start.astype("float32"), end.astype("float32"))
    _, h, w, _ = x.shape
    gx, gy = jnp.meshgrid(jnp.arange(w), jnp.arange(h), indexing="xy")
    gx, gy = gx.ravel(), gy.ravel()

    def warp(image: jax.Array, t: jax.Array) -> jax.Array:
        denom = t[6] * gx + t[7] * gy + 1.0
        coords = jnp.stack([(t[3] * gx + t[4] * gy + t[5]) / denom, (t[0] * gx + t[1] * gy + t[2]) / denom])

        def channel(plane: jax.Array) -> jax.Array:
            return jax.scipy.ndimage.map_coordinates(plane, coords, order=INTERPOLATION_ORDERS[interpolation],
                                                     mode="constant", cval=fill_value).reshape(h, w)

        return jnp.moveaxis(jax.vmap(channel)(jnp.moveaxis(image, -1, 0)), 0, -1)

    coeffs = jnp.broadcast_to(coeffs, (x.shape[0], 8))
    return _unbatched(jax.vmap(warp)(x, coeffs), fmt, squeeze)


def _gaussian_1d(size: int, sigma: Any, dtype: Any) -> jax.Array:
    x = jnp.arange(size, dtype=dtype) - jnp.asarray((size - 1) / 2, dtype)
    k = jnp.exp(-0.5 * (x / sigma) ** 2)
    return k / jnp.sum(k)


def _depthwise_same(images: jax.Array, kernel: jax.Array) -> jax.Array:
    """``(N, C, H, W)`` images convolved per channel with one 2-D ``kernel`` (``SAME`` padding)."""
    c = images.shape[1]
    k = jnp.tile(kernel[None, None], (c, 1, 1, 1))
    return lax.conv_general_dilated(images, k, (1, 1), "SAME", dimension_numbers=("NCHW", "OIHW", "NCHW"),
                                    feature_group_count=c)


@dispatch
def gaussian_blur(images: Any, kernel_size: Sequence[int] = (3, 3), sigma: Sequence[float] = (1.0, 1.0),
                  data_format: str | None = None) -> jax.Array:
    """Blur with a separable Gaussian (``kernel_size``/``sigma`` are given as ``(x, y)``), ``SAME`` padding.

    ``data_format=None`` means ``image_data_format()`` (Keras 3.15 on JAX treats ``None`` as channels-first).
    """
    fmt = standardize_data_format(data_format)
    images = convert_to_tensor(images)
    _check_rank(images)
    sigma = convert_to_tensor(sigma, dtype=images.dtype)
    squeeze = images.ndim == 3
    x = images[None] if squeeze else images
    if fmt == "channels_last":
        x = jnp.transpose(x, (0, 3, 1, 2))
    kernel = jnp.outer(_gaussian_1d(kernel_size[1], sigma[1], images.dtype),
                       _gaussian_1d(kernel_size[0], sigma[0], images.dtype))
    out = _depthwise_same(x, kernel)
    if fmt == "channels_last":
        out = jnp.transpose(out, (0, 2, 3, 1))
    return out[0] if squeeze else out


@dispatch
def elastic_transform(images: Any, alpha: float = 20.0, sigma: float = 5.0, interpolation: str = "bilinear",
                      fill_mode: str = "reflect", fill_value: float = 0.0, seed: Any = None,
                      data_format: str | None = None) -> jax.Array:
    """Elastic distortion: a Gaussian-smoothed random displacement field scaled by ``alpha``.

    An integer ``seed`` draws the same field as Keras (JAX key ``[seed, 0]``).
    """
    _check_choice(interpolation, tuple(INTERPOLATION_ORDERS), "interpolation")
    _check_choice(fill_mode, FILL_MODES, "fill_mode")
    fmt = standardize_data_format(data_format)
    images = convert_to_tensor(images)
    _check_rank(images)
    dtype = images.dtype
    sigma_value = float(sigma)
    size = int(6 * sigma_value) | 1
    x, squeeze = _batched(images, fmt)
    batch, height, width, channels = x.shape
    key = draw_seed(seed)
    noise = jax.random.normal(key, (batch, height, width), dtype=dtype) * jnp.asarray(sigma, dtype)
    # Keras draws dx and dy from the same key, so the two displacement fields are equal.
    kernel = jnp.outer(_gaussian_1d(size, jnp.asarray(sigma, dtype), dtype),
                       _gaussian_1d(size, jnp.asarray(sigma, dtype), dtype))
    field = _depthwise_same(noise[:, None], kernel)[:, 0]
    gx, gy = jnp.meshgrid(jnp.arange(width), jnp.arange(height))
    rows = gy[None] + alpha * field
    cols = gx[None] + alpha * field

    def warp(plane: jax.Array, r: jax.Array, c: jax.Array) -> jax.Array:
        return jax.scipy.ndimage.map_coordinates(plane, [r, c], order=INTERPOLATION_ORDERS[interpolation],
                                                 mode=fill_mode, cval=fill_value)

    per_channel = jax.vmap(warp, in_axes=(-1, None, None), out_axes=-1)
    out = jax.vmap(per_channel)(x, rows, cols).astype(dtype)
    return _unbatched(out, fmt, squeeze)


@dispatch
def sobel_edges(images: Any, data_format: str | None = None) -> jax.Array:
    """Sobel gradients per channel: ``(..., 2)`` with ``[dy, dx]`` on a new last axis."""
    fmt = standardize_data_format(data_format)
    images = convert_to_tensor(images)
    x = jnp.transpose(images, (0, 3, 1, 2)) if fmt == "channels_last" else images
    sobel_x = jnp.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=images.dtype)
    edges_x, edges_y = _depthwise_same(x, sobel_x), _depthwise_same(x, sobel_x.T)
    if fmt == "channels_last":
        edges_x, edges_y = jnp.transpose(edges_x, (0, 2, 3, 1)), jnp.transpose(edges_y, (0, 2, 3, 1))
    return jnp.stack([edges_y, edges_x], axis=-1)


# ------------------------------------------------------------------------------------------ patches
@dispatch
def extract_patches(images: Any, size: int | Sequence[int], strides: int | Sequence[int] | None = None,
                    dilation_rate: int | Sequence[int] = 1, padding: str = "valid", data_format: str | None = None
                    ) -> jax.Array:
    """Non-overlapping (or ``strides``-spaced) patches flattened onto the channel axis.

    A 3-tuple ``size`` extracts 3-D patches from volumes (see :func:`extract_patches_3d`).

    >>> import jax.numpy as jnp
    >>> extract_patches(jnp.ones((1, 8, 8, 3)), 4).shape
    (1, 2, 2, 48)
    """
    if not isinstance(size, int):
        if not isinstance(size, (tuple, list)):
            raise TypeError(f"Invalid `size` argument. Expected an int or a tuple. Received: size={size} of type "
                            f"{type(size).__name__}")
        if len(size) not in (2, 3):
            raise ValueError(f"Invalid `size` argument. Expected a tuple of length 2 or 3. Received: size={size} "
                             f"with length {len(size)}")
        if len(size) == 3:
            return _patches(images, tuple(size), strides, dilation_rate, padding, data_format)
    patch = (size, size) if isinstance(size, int) else tuple(size)
    return _patches(images, patch, strides or size, dilation_rate, padding, data_format)


@dispatch
def extract_patches_3d(volumes: Any, size: int | Sequence[int], strides: int | Sequence[int] | None = None,
                       dilation_rate: int | Sequence[int] = 1, padding: str = "valid",
                       data_format: str | None = None) -> jax.Array:
    """3-D patches of ``(batch, d, h, w, c)`` volumes flattened onto the channel axis."""
    patch = (size,) * 3 if isinstance(size, int) else tuple(size)
    if len(patch) != 3:
        raise TypeError(f"Invalid `size` argument. Expected an int or a tuple of length 3. Received: size={size}")
    return _patches(volumes, patch, strides, dilation_rate, padding, data_format)


def _patches(images: Any, patch: tuple[int, ...], strides: Any, dilation_rate: Any, padding: str,
             data_format: str | None) -> jax.Array:
    rank = len(patch)
    fmt = standardize_data_format(data_format)
    images = convert_to_tensor(images)
    if strides is None:
        strides = patch
    if isinstance(strides, int):
        strides = (strides,) * rank
    if len(strides) != rank:
        raise ValueError(f"Invalid `strides` argument. Got: {strides}")
    channels = images.shape[-1] if fmt == "channels_last" else images.shape[-rank - 1]
    out_dim = int(np.prod(patch)) * channels
    kernel = jnp.eye(out_dim, dtype=images.dtype).reshape(*patch, channels, out_dim)
    unbatched = images.ndim == rank + 1
    x = images[None] if unbatched else images
    out = conv(x, kernel, strides=strides, padding=padding, data_format=fmt, dilation_rate=dilation_rate)
    return out[0] if unbatched else out


def _check_box(a: Any, b: Any, target: Any, names: tuple[str, str, str]) -> None:
    if [a, b, target].count(None) != 1:
        raise ValueError(f"Must specify exactly two of {', '.join(names)}. Received: {names[0]}={a}, "
                         f"{names[1]}={b}, {names[2]}={target}")
    for name, value in zip(names, (a, b, target)):
        if value is not None and value < 0:
            raise ValueError(f"{name} must be >= 0. Received: {name}={value}")


@dispatch
def pad_images(images: Any, top_padding: int | None = None, left_padding: int | None = None,
               bottom_padding: int | None = None, right_padding: int | None = None, target_height: int | None = None,
               target_width: int | None = None, data_format: str | None = None) -> jax.Array:
    """Zero-pad images; give two of ``top/bottom/target_height`` and two of ``left/right/target_width``.

    >>> import jax.numpy as jnp
    >>> pad_images(jnp.ones((2, 2, 1)), 1, 0, target_height=5, target_width=3).shape
    (5, 3, 1)
    """
    fmt = standardize_data_format(data_format)
    images = convert_to_tensor(images)
    _check_rank(images)
    _check_box(top_padding, bottom_padding, target_height, ("top_padding", "bottom_padding", "target_height"))
    _check_box(left_padding, right_padding, target_width, ("left_padding", "right_padding", "target_width"))
    height, width = _spatial(images, fmt)
    if top_padding is None:
        top_padding = target_height - bottom_padding - height
    if bottom_padding is None:
        bottom_padding = target_height - top_padding - height
    if left_padding is None:
        left_padding = target_width - right_padding - width
    if right_padding is None:
        right_padding = target_width - left_padding - width
    for name, value in (("top_padding", top_padding), ("left_padding", left_padding),
                        ("right_padding", right_padding), ("bottom_padding", bottom_padding)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0. Received: {name}={value}")
    return _pad_hw(images, fmt, (top_padding, bottom_padding), (left_padding, right_padding))


@dispatch
def crop_images(images: Any, top_cropping: int | None = None, left_cropping: int | None = None,
                bottom_cropping: int | None = None, right_cropping: int | None = None,
                target_height: int | None = None, target_width: int | None = None, data_format: str | None = None
                ) -> jax.Array:
    """Crop images; give two of ``top/bottom/target_height`` and two of ``left/right/target_width``.

    >>> import jax.numpy as jnp
    >>> crop_images(jnp.ones((1, 6, 6, 3)), 1, 2, target_height=4, target_width=3).shape
    (1, 4, 3, 3)
    """
    fmt = standardize_data_format(data_format)
    images = convert_to_tensor(images)
    _check_rank(images)
    _check_box(top_cropping, bottom_cropping, target_height, ("top_cropping", "bottom_cropping", "target_height"))
    _check_box(left_cropping, right_cropping, target_width, ("left_cropping", "right_cropping", "target_width"))
    height, width = _spatial(images, fmt)
    if top_cropping is None:
        top_cropping = height - target_height - bottom_cropping
    if target_height is None:
        target_height = height - bottom_cropping - top_cropping
    if left_cropping is None:
        left_cropping = width - target_width - right_cropping
    if target_width is None:
        target_width = width - right_cropping - left_cropping
    for name, value in (("top_cropping", top_cropping), ("target_height", target_height),
                        ("left_cropping", left_cropping), ("target_width", target_width)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0. Received: {name}={value}")
    starts = [top_cropping, left_cropping]
    sizes = [target_height, target_width]
    channels = images.shape[-1] if fmt == "channels_last" else images.shape[-3]
    starts, sizes = (starts + [0], sizes + [channels]) if fmt == "channels_last" else ([0] + starts,
                                                                                      [channels] + sizes)
    if images.ndim == 4:
        starts, sizes = [0] + starts, [images.shape[0]] + sizes
    return lax.dynamic_slice(images, starts, sizes)


# ------------------------------------------------------------------------------------------ SSIM
@dispatch
def ssim(image1: Any, image2: Any, max_val: float = 1.0, filter_size: int = 11, filter_sigma: float = 1.5,
         k1: float = 0.01, k2: float = 0.03, data_format: str | None = None) -> jax.Array:
    """Structural similarity per image (mean over pixels and channels), Gaussian window, ``valid`` padding.

    >>> import jax.numpy as jnp
    >>> float(ssim(jnp.ones((16, 16, 1)), jnp.ones((16, 16, 1))))
    1.0
    """
    fmt = standardize_data_format(data_format)
    image1, image2 = convert_to_tensor(image1), convert_to_tensor(image2)
    original = image1.dtype
    compute = _float_dtype(original)
    _check_rank(image1, "image1")
    _check_rank(image2, "image2")
    a, b = image1.astype(compute), image2.astype(compute)
    unbatched = a.ndim == 3
    if unbatched:
        a, b = a[None], b[None]
    if fmt == "channels_first":
        a, b = jnp.moveaxis(a, 1, -1), jnp.moveaxis(b, 1, -1)
    batch, height, width, channels = a.shape
    g = _gaussian_1d(filter_size, jnp.asarray(filter_sigma, compute), compute)
    kernel = jnp.outer(g, g).reshape(filter_size, filter_size, 1, 1)

    def planes(x: jax.Array) -> jax.Array:
        return jnp.transpose(x, (0, 3, 1, 2)).reshape(-1, height, width, 1)

    def smooth(x: jax.Array) -> jax.Array:
        return conv(x, kernel, strides=1, padding="valid", data_format="channels_last")

    a, b = planes(a), planes(b)
    mu1, mu2 = smooth(a), smooth(b)
    var1 = smooth(a * a) - mu1 * mu1
    var2 = smooth(b * b) - mu2 * mu2
    cov = smooth(a * b) - mu1 * mu2
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    ssim_map = (2.0 * mu1 * mu2 + c1) * (2.0 * cov + c2) / ((mu1 * mu1 + mu2 * mu2 + c1) * (var1 + var2 + c2))
    result = jnp.mean(jnp.mean(ssim_map, axis=(1, 2, 3)).reshape(batch, channels), axis=-1)
    return (result[0] if unbatched else result).astype(original)
