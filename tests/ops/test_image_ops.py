"""``lamina.ops.image`` against ``keras.ops.image`` (resize, warps, colour, patches, blur, SSIM...)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .ops_oracle import Case, args, cases_test

TOL = dict(rtol=1e-4, atol=1e-4)


def img(rng: np.random.Generator, shape: tuple[int, ...], dtype: str = "float32"):
    if "int" in dtype:
        return jnp.asarray(rng.integers(0, 256, shape), dtype)
    return jnp.asarray(rng.random(shape), dtype)


CASES: dict[str, list[Case]] = {
    "image.rgb_to_grayscale": [Case(lambda r: ((img(r, (2, 5, 6, 3)),), {}), **TOL),
                               Case(lambda r: ((img(r, (3, 4, 5)),), {"data_format": "channels_first"}), id="cf",
                                    **TOL),
                               Case(lambda r: ((img(r, (4, 4, 3), "uint8"),), {}), id="uint8"),
                               Case(lambda r: ((img(r, (4, 4, 1)),), {}), id="gray"),
                               Case(args(jnp.ones((4, 4, 2))), raises=ValueError, id="2ch")],
    "image.rgb_to_hsv": [Case(lambda r: ((img(r, (2, 5, 6, 3)),), {}), **TOL),
                         Case(lambda r: ((img(r, (3, 4, 5)),), {"data_format": "channels_first"}), id="cf", **TOL),
                         Case(args(jnp.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.5]]])), id="pure"),
                         Case(args(jnp.ones((2, 2, 3), "int32")), raises=ValueError, id="int")],
    "image.hsv_to_rgb": [Case(lambda r: ((img(r, (2, 5, 6, 3)),), {}), **TOL),
                         Case(lambda r: ((img(r, (3, 4, 5)),), {"data_format": "channels_first"}), id="cf", **TOL)],
    "image.resize": [
        Case(lambda r: ((img(r, (2, 6, 8, 3)), (12, 4)), {}), id="bilinear", **TOL),
        Case(lambda r: ((img(r, (6, 8, 3)), (3, 5)), {"interpolation": "nearest"}), id="nearest", **TOL),
        Case(lambda r: ((img(r, (1, 9, 7, 2)), (4, 4)), {"interpolation": "bicubic", "antialias": True}),
             id="bicubic-aa", **TOL),
        Case(lambda r: ((img(r, (1, 8, 6, 2)), (5, 5)), {"interpolation": "lanczos3"}), id="lanczos3", **TOL),
        Case(lambda r: ((img(r, (2, 3, 6, 8)), (4, 4)), {"crop_to_aspect_ratio": True,
                                                        "data_format": "channels_first"}), id="crop-cf", **TOL),
        Case(lambda r: ((img(r, (1, 6, 10, 3)), (8, 8)), {"pad_to_aspect_ratio": True, "fill_value": 0.5}),
             id="pad", **TOL),
        Case(lambda r: ((img(r, (1, 10, 6, 3)), (8, 8)), {"pad_to_aspect_ratio": True}), id="pad-w", **TOL),
        Case(lambda r: ((img(r, (1, 5, 5, 3), "uint8"), (8, 7)), {}), id="uint8", atol=1),
        Case(args(jnp.ones((4, 4, 3)), (0, 2)), raises=ValueError, id="zero"),
        Case(args(jnp.ones((4, 4, 3)), (2, 2), interpolation="area"), raises=ValueError, id="bad-interp"),
    ],
    "image.affine_transform": [
        Case(lambda r: ((img(r, (2, 6, 7, 3)), jnp.array([[1.0, 0.1, -1.0, 0.2, 0.9, 1.5, 0.0, 0.0],
                                                           [0.8, 0.0, 0.5, 0.0, 1.2, 0.0, 0.0, 0.0]])), {}),
             id="batch", **TOL),
        Case(lambda r: ((img(r, (5, 5, 2)), jnp.array([1.0, 0.0, 2.0, 0.0, 1.0, -1.0, 0.0, 0.0])),
                        {"interpolation": "nearest", "fill_mode": "reflect"}), id="nearest-reflect", **TOL),
        Case(lambda r: ((img(r, (1, 2, 6, 6)), jnp.array([0.9, 0.2, 0.3, -0.1, 1.1, 0.4, 0.0, 0.0])),
                        {"fill_mode": "wrap", "data_format": "channels_first"}), id="wrap-cf", **TOL),
        Case(lambda r: ((img(r, (1, 5, 5, 2)), jnp.array([1.0, 0.0, 0.5, 0.0, 1.0, 0.5, 0.1, 0.2])),
                        {"fill_mode": "nearest", "fill_value": 0.3}), id="c-terms", **TOL),
    ],
    "image.perspective_transform": [
        Case(lambda r: ((img(r, (1, 8, 8, 3)), jnp.array([[0, 0], [7, 0], [0, 7], [7, 7]], "float32"),
                         jnp.array([[1, 0], [6, 1], [0, 6], [7, 7]], "float32")), {}), **TOL),
        Case(lambda r: ((img(r, (2, 8, 8, 3)), jnp.array([[[0, 0], [7, 0], [0, 7], [7, 7]]] * 2, "float32"),
                         jnp.array([[[1, 0], [6, 1], [0, 6], [7, 7]], [[0, 1], [7, 0], [1, 7], [6, 6]]], "float32")),
                        {}), id="batch", **TOL),
        Case(lambda r: ((img(r, (3, 6, 6)), jnp.array([[[0, 0], [5, 0], [0, 5], [5, 5]]], "float32"),
                         jnp.array([[[0.5, 0.5], [5, 0], [0, 5], [4.5, 4.5]]], "float32")),
                        {"interpolation": "nearest", "fill_value": 1.0, "data_format": "channels_first"}),
             id="nearest-cf", **TOL),
    ],
    "image.map_coordinates": [
        Case(lambda r: ((img(r, (5, 6)), jnp.asarray(r.uniform(-1, 6, (2, 4, 3)), "float32"), 1), {}), **TOL),
        Case(lambda r: ((img(r, (4, 4, 2)), jnp.asarray(r.uniform(-2, 5, (3, 7)), "float32"), 0),
                        {"fill_mode": "mirror"}), id="nearest-mirror", **TOL),
        Case(lambda r: ((img(r, (6,)), jnp.asarray(r.uniform(-3, 8, (1, 5)), "float32"), 1),
                        {"fill_mode": "constant", "fill_value": 2.0}), id="const", **TOL),
        Case(args(jnp.ones((3, 3)), jnp.ones((2, 2)), 3), raises=ValueError, id="order3"),
    ],
    "image.gaussian_blur": [
        # Keras 3.15 on JAX reads data_format=None as channels_first; lamina follows image_data_format().
        Case(lambda r: ((img(r, (2, 7, 8, 3)),), {"data_format": "channels_last"}), **TOL),
        Case(lambda r: ((img(r, (7, 8, 2)), (5, 3), (2.0, 0.7)), {"data_format": "channels_last"}),
             id="aniso", **TOL),
        Case(lambda r: ((img(r, (1, 3, 6, 6)),), {"kernel_size": (3, 5), "data_format": "channels_first"}),
             id="cf", **TOL),
    ],
    "image.elastic_transform": [
        Case(lambda r: ((img(r, (2, 12, 12, 3)),), {"seed": 3}), **TOL),
        Case(lambda r: ((img(r, (10, 9, 1)),), {"alpha": 5.0, "sigma": 1.0, "interpolation": "nearest",
                                                "fill_mode": "constant", "seed": 7}), id="nearest", **TOL),
        Case(lambda r: ((img(r, (1, 2, 10, 10)),), {"sigma": 2.0, "seed": 1, "data_format": "channels_first"}),
             id="cf", **TOL),
    ],
    "image.scale_and_translate": [
        Case(lambda r: ((img(r, (2, 6, 6, 3)), (2, 9, 4, 3), jnp.array([1.5, 0.7]), jnp.array([0.5, -0.2]),
                         (1, 2), "bilinear"), {}), **TOL),
        Case(lambda r: ((img(r, (5, 7)), (8, 8), jnp.array([1.6, 1.1]), jnp.array([0.0, 1.0]), (0, 1),
                         "lanczos3"), {"antialias": False}), id="lanczos", **TOL),
        Case(args(jnp.ones((4, 4)), (2, 2), jnp.ones(2), jnp.zeros(2), (0, 1), "area"), raises=ValueError,
             id="bad"),
    ],
    "image.sobel_edges": [Case(lambda r: ((img(r, (2, 6, 7, 3)),), {}), **TOL),
                          Case(lambda r: ((img(r, (1, 2, 5, 5)),), {"data_format": "channels_first"}), id="cf",
                               **TOL)],
    "image.extract_patches": [
        Case(lambda r: ((img(r, (2, 8, 8, 3)), 4), {})),
        Case(lambda r: ((img(r, (9, 9, 2)), (3, 2)), {"strides": 2, "padding": "same"}), id="unbatched-same"),
        Case(lambda r: ((img(r, (1, 2, 8, 8)), (2, 2)), {"dilation_rate": 2, "strides": 1,
                                                        "data_format": "channels_first"}), id="dil-cf"),
        Case(lambda r: ((img(r, (1, 4, 4, 4, 2)), (2, 2, 2)), {}), id="3d-size"),
        Case(args(jnp.ones((1, 4, 4, 1)), "2"), raises=TypeError, id="bad-size"),
    ],
    "image.extract_patches_3d": [
        Case(lambda r: ((img(r, (1, 4, 6, 6, 2)), 2), {})),
        Case(lambda r: ((img(r, (5, 6, 4, 1)), (2, 3, 2)), {"strides": (1, 3, 2)}), id="unbatched"),
        Case(lambda r: ((img(r, (1, 2, 4, 4, 4)), (2, 2, 2)), {"padding": "same", "strides": 3,
                                                              "data_format": "channels_first"}), id="cf-same"),
    ],
    "image.pad_images": [
        Case(lambda r: ((img(r, (2, 4, 5, 3)), 1, 2), {"bottom_padding": 3, "right_padding": 0})),
        Case(lambda r: ((img(r, (4, 5, 3)),), {"top_padding": 1, "target_height": 8, "left_padding": 2,
                                               "target_width": 9}), id="target"),
        Case(lambda r: ((img(r, (3, 4, 5)),), {"bottom_padding": 1, "target_height": 6, "right_padding": 1,
                                               "target_width": 6, "data_format": "channels_first"}), id="cf"),
        Case(args(jnp.ones((4, 4, 1)), 1, 1), raises=ValueError, id="underspecified"),
        Case(args(jnp.ones((4, 4, 1)), 1, 1, target_height=3, target_width=6), raises=ValueError, id="negative"),
    ],
    "image.crop_images": [
        Case(lambda r: ((img(r, (2, 8, 8, 3)), 1, 2), {"bottom_cropping": 3, "right_cropping": 1})),
        Case(lambda r: ((img(r, (8, 7, 3)),), {"top_cropping": 1, "target_height": 4, "left_cropping": 2,
                                               "target_width": 3}), id="target"),
        Case(lambda r: ((img(r, (1, 3, 6, 6)),), {"bottom_cropping": 1, "target_height": 3, "right_cropping": 2,
                                                  "target_width": 2, "data_format": "channels_first"}), id="cf"),
        Case(args(jnp.ones((4, 4, 1)), 1, 1), raises=ValueError, id="underspecified"),
    ],
    "image.ssim": [
        Case(lambda r: ((img(r, (2, 16, 16, 3)), img(r, (2, 16, 16, 3))), {}), **TOL),
        Case(lambda r: ((img(r, (3, 12, 14)), img(r, (3, 12, 14))),
                        {"filter_size": 5, "filter_sigma": 1.0, "data_format": "channels_first"}), id="cf", **TOL),
        Case(lambda r: ((img(r, (1, 16, 16, 1), "uint8"), img(r, (1, 16, 16, 1), "uint8")), {"max_val": 255.0}),
             id="uint8"),
    ],
}

SKIPPED: dict[str, str] = {}

test_matches_keras = cases_test(CASES)


def test_image_names_only_under_ops_image() -> None:
    import keras

    import lamina

    for name in dir(keras.ops.image):
        if not name.startswith("_"):
            assert callable(getattr(lamina.ops.image, name)), name
            assert hasattr(lamina.ops, name) == hasattr(keras.ops, name), name
