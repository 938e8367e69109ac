"""Merge layers against Keras 3, and their shape errors."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import pytest

from lamina import layers

from .layer_oracle import Case, check_layer

CASES = [
    Case("Concatenate", {}, [(2, 3), (2, 4)], id="concat"),
    Case("Concatenate", {"axis": 1}, [(2, 3, 4), (2, 2, 4), (2, 1, 4)], id="concat-axis1"),
    Case("Add", {}, [(2, 3, 4), (2, 3, 4)], id="add"),
    Case("Add", {}, [(2, 5), (2, 5), (2, 5)], id="add-three"),
    Case("Subtract", {}, [(2, 5), (2, 5)], id="subtract"),
    Case("Multiply", {}, [(2, 5), (2, 5)], id="multiply"),
    Case("Average", {}, [(2, 5), (2, 5)], id="average"),
    Case("Maximum", {}, [(2, 5), (2, 5)], id="maximum"),
    Case("Minimum", {}, [(2, 3, 2), (2, 3, 2)], id="minimum"),
    Case("Dot", {"axes": 1}, [(2, 5), (2, 5)], id="dot"),
    Case("Dot", {"axes": 1, "normalize": True}, [(2, 5), (2, 5)], id="dot-cosine"),
    Case("Dot", {"axes": (2, 2)}, [(2, 3, 4), (2, 5, 4)], id="dot-3d"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_keras(case: Case) -> None:
    check_layer(case)


def test_add_shape_mismatch() -> None:
    with pytest.raises(ValueError, match=r"Add 'add_bad'.*\(None, 3\).*\(None, 4\)"):
        layers.Add(name="add_bad")([layers.Input((3,)), layers.Input((4,))])


def test_concatenate_mismatch() -> None:
    with pytest.raises(ValueError, match=r"Concatenate 'cat_bad'"):
        layers.Concatenate(name="cat_bad")([layers.Input((3, 2)), layers.Input((4, 5))])


def test_functional_shortcuts() -> None:
    a, b = layers.Input((4,)), layers.Input((4,))
    assert layers.concatenate([a, b]).shape == (None, 8)
    assert layers.add([a, b]).shape == (None, 4)
