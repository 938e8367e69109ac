"""Flatten and Reshape against Keras 3, including -1 and channels_first."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import pytest

from .layer_oracle import Case, check_layer

CASES = [
    Case("Flatten", {}, (2, 3), id="flatten-rank2"),
    Case("Flatten", {}, (2, 3, 4), id="flatten-rank3"),
    Case("Flatten", {}, (2, 2, 3, 4, 5), id="flatten-rank5"),
    Case("Flatten", {"data_format": "channels_first"}, (2, 3, 4, 5), id="flatten-channels-first"),
    Case("Reshape", {"target_shape": (12,)}, (2, 3, 4), id="reshape-flat"),
    Case("Reshape", {"target_shape": (-1,)}, (2, 3, 4), id="reshape-minus1"),
    Case("Reshape", {"target_shape": (2, -1, 3)}, (2, 3, 4), id="reshape-minus1-middle"),
    Case("Reshape", {"target_shape": (4, 3, 1)}, (2, 12), id="reshape-up-rank"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_keras(case):
    check_layer(case)
