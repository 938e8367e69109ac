"""Pooling layers against Keras 3, and their errors."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import pytest

from lamina import layers

from .layer_oracle import Case, check_layer

CASES = [
    Case("MaxPooling2D", {}, (2, 6, 6, 3), id="maxpool2d"),
    Case("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 7, 2), id="maxpool2d-same"),
    Case("MaxPooling2D", {"pool_size": (2, 2), "data_format": "channels_first"}, (2, 3, 6, 4), id="maxpool2d-cf"),
    Case("MaxPooling1D", {"pool_size": 3, "strides": 1}, (2, 7, 2), id="maxpool1d"),
    Case("MaxPooling3D", {}, (1, 4, 4, 4, 2), id="maxpool3d"),
    Case("AveragePooling2D", {"pool_size": 2}, (2, 6, 6, 3), id="avgpool2d"),
    Case("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 7, 2), id="avgpool2d-same"),
    Case("AveragePooling1D", {"pool_size": 2, "padding": "same"}, (2, 7, 2), id="avgpool1d-same"),
    Case("AveragePooling3D", {"pool_size": 2}, (1, 4, 4, 4, 2), id="avgpool3d"),
    Case("GlobalAveragePooling2D", {}, (2, 5, 5, 3), id="gap2d"),
    *[Case(f"Adaptive{kind}Pooling{rank}D", {"output_size": size}, shape, id=f"adaptive-{kind.lower()}{rank}d-{i}")
      for kind in ("Average", "Max")
      for i, (rank, size, shape) in enumerate([(1, 3, (2, 7, 2)), (1, 4, (2, 8, 2)), (2, 3, (2, 7, 5, 2)),
                                               (2, (2, 4), (2, 6, 9, 2)), (3, 2, (1, 5, 4, 3, 2))])],
    Case("AdaptiveAveragePooling2D", {"output_size": (3, 2), "data_format": "channels_first"}, (2, 2, 7, 5),
         id="adaptive-avg2d-cf"),
    Case("AdaptiveMaxPooling1D", {"output_size": 5, "data_format": "channels_first"}, (2, 3, 11),
         id="adaptive-max1d-cf"),
    Case("GlobalAveragePooling2D", {"keepdims": True, "data_format": "channels_first"}, (2, 3, 4, 4),
         id="gap2d-keepdims-cf"),
    Case("GlobalMaxPooling2D", {}, (2, 5, 5, 3), id="gmp2d"),
    Case("GlobalAveragePooling1D", {"keepdims": True}, (2, 5, 3), id="gap1d"),
    Case("GlobalMaxPooling1D", {}, (2, 5, 3), id="gmp1d"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_keras(case: Case) -> None:
    check_layer(case)


def test_pool_larger_than_input() -> None:
    with pytest.raises(ValueError, match=r"max_pooling2d_x.*\(None, 1, 1, 8\)"):
        layers.MaxPooling2D(name="max_pooling2d_x")(layers.Input((1, 1, 8)))


def test_bad_data_format() -> None:
    with pytest.raises(ValueError, match="MaxPooling2D 'mp'.*NHWC"):
        layers.MaxPooling2D(data_format="NHWC", name="mp")
