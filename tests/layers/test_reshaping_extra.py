"""Permute, RepeatVector, padding, cropping, upsampling and TimeDistributed(conv) against Keras 3."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import pytest

from lamina import layers

from .layer_oracle import Case, Inner, check_layer

CASES = [
    Case("Permute", {"dims": (2, 1)}, (2, 3, 4), id="permute"),
    Case("Permute", {"dims": (3, 1, 2)}, (2, 3, 4, 5), id="permute-3"),
    Case("RepeatVector", {"n": 3}, (2, 4), id="repeat-vector"),
    Case("ZeroPadding2D", {}, (2, 3, 3, 2), id="zeropad2d"),
    Case("ZeroPadding2D", {"padding": ((1, 2), (0, 3)), "data_format": "channels_first"}, (2, 2, 3, 3),
         id="zeropad2d-pairs-cf"),
    Case("ZeroPadding1D", {"padding": 2}, (2, 3, 2), id="zeropad1d"),
    Case("Cropping2D", {"cropping": ((1, 0), (1, 2))}, (2, 5, 6, 2), id="crop2d"),
    Case("Cropping2D", {"cropping": 1}, (2, 4, 4, 2), id="crop2d-int"),
    Case("Cropping1D", {"cropping": (1, 2)}, (2, 6, 2), id="crop1d"),
    Case("UpSampling2D", {}, (2, 3, 3, 2), id="upsample2d"),
    Case("UpSampling2D", {"size": (2, 3), "data_format": "channels_first"}, (2, 2, 3, 3), id="upsample2d-cf"),
    Case("UpSampling2D", {"interpolation": "bilinear"}, (2, 3, 3, 2), id="upsample2d-bilinear"),
    Case("UpSampling1D", {"size": 3}, (2, 3, 2), id="upsample1d"),
    Case("UpSampling3D", {}, (1, 2, 3, 2, 2), id="upsample3d"),
    Case("UpSampling3D", {"size": (1, 2, 3), "data_format": "channels_first"}, (1, 2, 2, 3, 2),
         id="upsample3d-cf"),
    Case("ZeroPadding3D", {}, (1, 2, 3, 2, 2), id="zeropad3d"),
    Case("ZeroPadding3D", {"padding": ((0, 1), (2, 0), (1, 1)), "data_format": "channels_first"},
         (1, 2, 2, 3, 2), id="zeropad3d-pairs-cf"),
    Case("ZeroPadding3D", {"padding": (1, 2, 0)}, (1, 2, 2, 2, 1), id="zeropad3d-triple"),
    Case("Cropping3D", {}, (1, 4, 5, 6, 2), id="crop3d"),
    Case("Cropping3D", {"cropping": ((0, 1), (2, 0), (1, 1)), "data_format": "channels_first"},
         (1, 2, 4, 4, 4), id="crop3d-pairs-cf"),
    Case("TimeDistributed", {"layer": Inner("Conv2D", {"filters": 2, "kernel_size": 2})}, (2, 3, 4, 4, 1),
         id="td-conv2d"),
    Case("TimeDistributed", {"layer": Inner("Dense", {"units": 3})}, (2, 3, 4), id="td-dense"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_keras(case: Case) -> None:
    check_layer(case)


def test_cropping_too_much() -> None:
    with pytest.raises(ValueError, match=r"crop_bad.*\(None, 2, 2, 1\)"):
        layers.Cropping2D(1, name="crop_bad")(layers.Input((2, 2, 1)))


def test_permute_bad_dims() -> None:
    with pytest.raises(ValueError, match="Permute 'perm_bad'"):
        layers.Permute((1, 3), name="perm_bad")
