"""Convolution layers against Keras 3 (shapes, parameter counts, outputs, configs) and their errors."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import pytest

from lamina import layers

from .layer_oracle import Case, check_layer

CASES = [
    Case("Conv2D", {"filters": 4, "kernel_size": 3}, (2, 7, 7, 3), id="conv2d-valid"),
    Case("Conv2D", {"filters": 4, "kernel_size": (3, 2), "padding": "same", "strides": 2, "activation": "relu"},
         (2, 7, 6, 3), id="conv2d-same-stride"),
    Case("Conv2D", {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "use_bias": False}, (2, 8, 8, 2),
         id="conv2d-dilated-nobias"),
    Case("Conv2D", {"filters": 4, "kernel_size": 3, "groups": 2}, (2, 6, 6, 4), id="conv2d-groups"),
    Case("Conv2D", {"filters": 3, "kernel_size": 2, "data_format": "channels_first", "padding": "same"},
         (2, 2, 5, 5), id="conv2d-channels-first"),
    Case("Conv2D", {"filters": 2, "kernel_size": 3, "kernel_regularizer": "l2", "bias_regularizer": "l2",
                    "activation": "tanh"}, (1, 5, 5, 1), id="conv2d-regularizers"),
    Case("Conv1D", {"filters": 3, "kernel_size": 3}, (2, 8, 2), id="conv1d-valid"),
    Case("Conv1D", {"filters": 3, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (2, 8, 2),
         id="conv1d-causal"),
    Case("Conv1D", {"filters": 3, "kernel_size": 2, "strides": 2, "padding": "same"}, (2, 7, 2), id="conv1d-same"),
    Case("Conv3D", {"filters": 2, "kernel_size": 2}, (1, 4, 4, 4, 2), id="conv3d"),
    Case("Conv3D", {"filters": 2, "kernel_size": 3, "padding": "same", "strides": 2}, (1, 5, 4, 4, 1),
         id="conv3d-same"),
    Case("SeparableConv2D", {"filters": 4, "kernel_size": 3}, (2, 6, 6, 3), id="sepconv2d"),
    Case("SeparableConv2D", {"filters": 4, "kernel_size": 3, "depth_multiplier": 2, "padding": "same",
                             "strides": 2}, (2, 6, 6, 3), id="sepconv2d-dm2"),
    Case("SeparableConv1D", {"filters": 4, "kernel_size": 3, "padding": "same"}, (2, 7, 3), id="sepconv1d"),
    Case("DepthwiseConv2D", {"kernel_size": 3}, (2, 6, 6, 3), id="depthwise"),
    Case("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2, "padding": "same", "strides": 2},
         (2, 6, 6, 3), id="depthwise-dm2"),
    Case("Conv2DTranspose", {"filters": 3, "kernel_size": 3}, (2, 4, 4, 2), id="convT-valid"),
    Case("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 4, 4, 2),
         id="convT-same-stride"),
    Case("Conv2DTranspose", {"filters": 3, "kernel_size": 2, "strides": 2, "output_padding": 1}, (2, 3, 3, 2),
         id="convT-output-padding"),
    Case("Conv1DTranspose", {"filters": 3, "kernel_size": 3}, (2, 5, 2), id="convT1d-valid"),
    Case("Conv1DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 5, 2),
         id="convT1d-same-stride"),
    Case("Conv1DTranspose", {"filters": 2, "kernel_size": 2, "strides": 3, "output_padding": 1,
                             "data_format": "channels_first"}, (2, 3, 4), id="convT1d-outpad-cf"),
    Case("Conv1DTranspose", {"filters": 2, "kernel_size": 3, "dilation_rate": 2}, (2, 5, 2), id="convT1d-dilated"),
    Case("Conv3DTranspose", {"filters": 2, "kernel_size": 2}, (1, 3, 3, 3, 2), id="convT3d-valid"),
    Case("Conv3DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, (1, 3, 2, 3, 2),
         id="convT3d-same-stride"),
    Case("DepthwiseConv1D", {"kernel_size": 3}, (2, 7, 3), id="depthwise1d"),
    Case("DepthwiseConv1D", {"kernel_size": 3, "depth_multiplier": 2, "padding": "same", "strides": 2},
         (2, 7, 3), id="depthwise1d-dm2-same"),
    Case("DepthwiseConv1D", {"kernel_size": 2, "dilation_rate": 2, "data_format": "channels_first"}, (2, 3, 7),
         id="depthwise1d-dilated-cf"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_keras(case: Case) -> None:
    check_layer(case)


def test_kernel_larger_than_input() -> None:
    with pytest.raises(ValueError, match=r"conv2d.*\(None, 2, 2, 1\)"):
        layers.Conv2D(4, 3, name="conv2d_small")(layers.Input((2, 2, 1)))


def test_channels_mismatch() -> None:
    conv = layers.Conv2D(4, 3, name="c")
    conv(layers.Input((8, 8, 3)))
    with pytest.raises(ValueError, match=r'"c".*\(None, 8, 8, 5\)'):
        conv(layers.Input((8, 8, 5)))


def test_bad_data_format() -> None:
    with pytest.raises(ValueError, match="Conv2D 'c2'.*channels_lats"):
        layers.Conv2D(4, 3, data_format="channels_lats", name="c2")


def test_causal_only_for_conv1d() -> None:
    with pytest.raises(ValueError, match="causal"):
        layers.Conv2D(4, 3, padding="causal")
