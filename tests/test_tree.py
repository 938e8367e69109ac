"""``lamina.tree`` against ``keras.tree`` on the same structures: results and error types."""

from __future__ import annotations

import collections
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

from lamina import tree  # noqa: E402

Point = collections.namedtuple("Point", ["x", "y"])

STRUCTURES = [
    5, None, [], (), {}, [1, None, {"b": 2, "a": (3, 4)}], collections.OrderedDict([("b", 1), ("a", 2)]),
    Point(1, [2, 3]), {"z": [1, {"y": None, "x": 2}], "a": ()}, ((1,), [[2]], {"k": (3, None)}), "text",
    collections.defaultdict(list, {"b": 1, "a": [2]}),
]
IDS = [repr(s)[:30] for s in STRUCTURES]


def _same(a, b):
    assert type(a) is type(b), (a, b)
    assert a == b


@pytest.mark.parametrize("structure", STRUCTURES, ids=IDS)
def test_flatten_paths_nested_and_round_trips(structure):
    _same(tree.flatten(structure), keras.tree.flatten(structure))
    assert tree.flatten_with_path(structure) == keras.tree.flatten_with_path(structure)
    assert tree.is_nested(structure) == keras.tree.is_nested(structure)
    flat = list(range(len(tree.flatten(structure))))
    _same(tree.pack_sequence_as(structure, flat), keras.tree.pack_sequence_as(structure, flat))
    double = lambda v: None if v is None else v * 2  # noqa: E731
    _same(tree.map_structure(double, structure), keras.tree.map_structure(double, structure))
    _same(tree.lists_to_tuples(structure), keras.tree.lists_to_tuples(structure))
    tree.assert_same_structure(structure, structure)
    tree.assert_same_paths(structure, structure)


@pytest.mark.parametrize("structure", STRUCTURES, ids=IDS)
def test_traverse_both_directions(structure):
    def top(x):
        return tree.MAP_TO_NONE if isinstance(x, tuple) and not hasattr(x, "_fields") else None

    def keras_top(x):
        return keras.tree.MAP_TO_NONE if isinstance(x, tuple) and not hasattr(x, "_fields") else None

    _same(tree.traverse(top, structure), keras.tree.traverse(keras_top, structure))
    bump = lambda x: x + 1 if isinstance(x, int) else None  # noqa: E731
    _same(tree.traverse(bump, structure, top_down=False), keras.tree.traverse(bump, structure, top_down=False))


def test_none_is_leaf_false_and_multiple_structures():
    fn = lambda a, b: a + b  # noqa: E731
    args = ([1, None, (2,)], [10, None, (20,)])
    _same(tree.map_structure(fn, *args, none_is_leaf=False), keras.tree.map_structure(fn, *args, none_is_leaf=False))
    _same(tree.map_structure(lambda v: v, [None, 1], none_is_leaf=False),
          keras.tree.map_structure(lambda v: v, [None, 1], none_is_leaf=False))


def test_map_structure_up_to_and_shapes():
    args = ([0, 0], lambda a, b: (a, b), [1, [2, 3]], [4, [5, 6]])
    _same(tree.map_structure_up_to(*args), keras.tree.map_structure_up_to(*args))
    shapes = [(1, 2), [(3,), (None, 4)], {"a": ()}]
    _same(tree.map_shape_structure(lambda s: s, shapes), keras.tree.map_shape_structure(lambda s: s, shapes))
    _same(tree.map_shape_structure(len, shapes), keras.tree.map_shape_structure(len, shapes))


@pytest.mark.parametrize("call", [
    lambda t: t.assert_same_structure([1, 2], [1, [2]]),
    lambda t: t.assert_same_structure([1, 2], (1, 2)),
    lambda t: t.assert_same_structure({"a": 1}, {"b": 1}),
    lambda t: t.assert_same_paths({"a": 1}, {"b": 1}),
    lambda t: t.map_structure(lambda a, b: a, [1, 2], [1]),
    lambda t: t.pack_sequence_as([0, 0], [1]),
])
def test_errors_match_keras(call):
    with pytest.raises(ValueError) as keras_error:
        call(keras.tree)
    with pytest.raises(type(keras_error.value)):
        call(tree)


def test_arrays_are_leaves():
    array = np.zeros(3)
    assert tree.flatten([array])[0] is array and tree.flatten(array)[0] is array
    assert tree.assert_same_structure([1, 2], [3, 4], check_types=False) is None
