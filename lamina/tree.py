"""``keras.tree``: nested structures of lists, tuples, namedtuples and dicts, with Keras's rules.

Leaves are everything that is not a list, tuple (namedtuples included) or dict; ``None`` is a leaf. Dicts are
visited in sorted key order, ``OrderedDict``\\ s in their own order, and rebuilt with their original key order.

>>> from lamina import tree
>>> tree.flatten([1, None, {"b": 2, "a": (3, 4)}])
[1, None, 3, 4, 2]
>>> tree.map_structure(lambda x: x * 2, {"a": [1, 2], "b": 3})
{'a': [2, 4], 'b': 6}
>>> tree.pack_sequence_as({"b": 0, "a": [0, 0]}, [1, 2, 3])
{'b': 3, 'a': [1, 2]}
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten", "flatten_with_path",
           "is_nested", "lists_to_tuples", "map_shape_structure", "map_structure", "map_structure_up_to",
           "pack_sequence_as", "traverse"]


class MAP_TO_NONE:  # noqa: N801 - Keras's name
    """Return this from a ``traverse`` function to put ``None`` in the output (``None`` means "keep going")."""


def is_nested(structure: Any) -> bool:
    """Whether ``structure`` is a list, tuple or dict (strings and arrays are leaves).

    >>> is_nested([]), is_nested("ab"), is_nested(None)
    (True, False, False)
    """
    return isinstance(structure, (list, tuple, dict))


def _keys(d: dict) -> list[Any]:
    if isinstance(d, collections.OrderedDict):
        return list(d)
    try:
        return sorted(d)
    except TypeError:
        return list(d)


def _children(node: Any) -> list[tuple[Any, Any]]:
    """``(key, child)`` pairs in visiting order."""
    if isinstance(node, dict):
        return [(k, node[k]) for k in _keys(node)]
    return list(enumerate(node))


def _rebuild(node: Any, values: list[Any]) -> Any:
    """A container like ``node`` holding ``values`` (given in visiting order)."""
    if isinstance(node, dict):
        by_key = dict(zip(_keys(node), values))
        if isinstance(node, collections.defaultdict):
            out = collections.defaultdict(node.default_factory)
            out.update((k, by_key[k]) for k in node)
            return out
        return type(node)((k, by_key[k]) for k in node)
    if isinstance(node, tuple) and hasattr(node, "_fields"):
        return type(node)(*values)
    return type(node)(values)


def _leaves_with_path(structure: Any, path: tuple[Any, ...], none_is_leaf: bool = True
                      ) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if structure is None and not none_is_leaf:
        return
    if is_nested(structure):
        for key, child in _children(structure):
            yield from _leaves_with_path(child, path + (key,), none_is_leaf)
    else:
        yield path, structure


def flatten(structure: Any) -> list[Any]:
    """The leaves of ``structure`` in order; a leaf gives ``[leaf]``.

    >>> flatten(5), flatten(None), flatten([])
    ([5], [None], [])
    """
    return [leaf for _, leaf in _leaves_with_path(structure, ())]


def flatten_with_path(structure: Any) -> list[tuple[tuple[Any, ...], Any]]:
    """``(path, leaf)`` pairs, a path being the tuple of keys and indices that reach the leaf.

    >>> flatten_with_path({"a": [1, 2], "b": None})
    [(('a', 0), 1), (('a', 1), 2), (('b',), None)]
    """
    return list(_leaves_with_path(structure, ()))


def _type_name(node: Any) -> str:
    return type(node).__name__


def _check_same(a: Any, b: Any, check_types: bool, none_is_leaf: bool = True) -> None:
    if not none_is_leaf and (a is None or b is None):
        if (a is None) != (b is None):
            raise ValueError("Structures don't have the same nested structure.")
        return
    if is_nested(a) != is_nested(b):
        raise ValueError("Structures don't have the same nested structure.")
    if not is_nested(a):
        return
    if check_types and type(a) is not type(b) and not (isinstance(a, dict) and isinstance(b, dict)):
        raise ValueError(f"Expected an instance of {_type_name(a)}, got {b!r}.")
    if isinstance(a, dict) != isinstance(b, dict):
        raise ValueError("Structures don't have the same nested structure.")
    if isinstance(a, dict):
        if set(a) != set(b):
            raise ValueError(f"dict key mismatch; expected keys: {sorted(map(str, a))}, got: {sorted(map(str, b))}.")
    elif len(a) != len(b):
        raise ValueError(f"{_type_name(a)} arity mismatch; expected: {len(a)}, got: {len(b)}; "
                         f"{_type_name(b)}: {b!r}.")
    for (key, child_a) in _children(a):
        _check_same(child_a, b[key], check_types, none_is_leaf)


def assert_same_structure(a: Any, b: Any, check_types: bool | None = None) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` nest the same way (a list and a tuple differ).

    >>> assert_same_structure([1, (2, 3)], [4, (5, 6)])
    """
    _check_same(a, b, check_types=True if check_types is None else bool(check_types))


def assert_same_paths(a: Any, b: Any) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same leaf paths (container types may differ)."""
    paths_a = {path for path, _ in flatten_with_path(a)}
    paths_b = {path for path, _ in flatten_with_path(b)}
    if paths_a != paths_b:
        raise ValueError(f"`a` and `b` don't have the same paths.\nPaths in `a` missing in `b`:\n{paths_a - paths_b}\n"
                         f"Paths in `b` missing in `a`:\n{paths_b - paths_a}")


def _map(func: Callable[..., Any], structures: tuple[Any, ...], none_is_leaf: bool) -> Any:
    first = structures[0]
    if first is None and not none_is_leaf:
        return None
    if not is_nested(first):
        return func(*structures)
    values = [_map(func, tuple(s[key] for s in structures), none_is_leaf) for key, _ in _children(first)]
    return _rebuild(first, values)


def map_structure(func: Callable[..., Any], *structures: Any, none_is_leaf: bool = True) -> Any:
    """``func`` applied to the leaves of one or more structures of the same shape, in that shape.

    ``none_is_leaf=False`` keeps ``None`` as it is instead of passing it to ``func``.

    >>> map_structure(lambda a, b: a + b, [1, (2,)], [10, (20,)])
    [11, (22,)]
    """
    if not structures:
        raise ValueError("Must provide at least one structure")
    for other in structures[1:]:
        _check_same(structures[0], other, check_types=True, none_is_leaf=none_is_leaf)
    return _map(func, structures, none_is_leaf)


def map_structure_up_to(shallow_structure: Any, func: Callable[..., Any], *structures: Any) -> Any:
    """Like ``map_structure``, but only down to the leaves of ``shallow_structure``: deeper parts are passed whole.

    >>> map_structure_up_to([0, 0], lambda a, b: (a, b), [1, [2, 3]], [4, [5, 6]])
    [(1, 4), ([2, 3], [5, 6])]
    """
    if not structures:
        raise ValueError("Cannot map over no sequences")

    def walk(shallow: Any, items: tuple[Any, ...]) -> Any:
        if not is_nested(shallow):
            return func(*items)
        for item in items:
            if not is_nested(item):
                raise ValueError(f"If shallow structure is a sequence, input must also be a sequence. Input has "
                                 f"type: {_type_name(item)}.")
            if isinstance(shallow, dict) != isinstance(item, dict) or len(item) != len(shallow):
                raise ValueError(f"The two structures don't have the same sequence type or length: {shallow!r} and "
                                 f"{item!r}.")
        values = [walk(child, tuple(item[key] for item in items)) for key, child in _children(shallow)]
        return _rebuild(shallow, values)

    return walk(shallow_structure, structures)


def pack_sequence_as(structure: Any, flat_sequence: Any) -> Any:
    """The leaves ``flat_sequence`` put back into the shape of ``structure``."""
    flat = list(flat_sequence)
    count = len(flatten(structure))
    if len(flat) != count:
        raise ValueError(f"The target structure has {count} leaves, but the flat sequence has {len(flat)} items. "
                         f"Structure: {structure!r}.")
    items = iter(flat)
    return _map(lambda _: next(items), (structure,), none_is_leaf=True)


def traverse(func: Callable[[Any], Any], structure: Any, top_down: bool = True) -> Any:
    """Apply ``func`` to every node (containers too).

    Top down: a non-``None`` result replaces the node and stops the descent; ``None`` keeps the node and goes on
    into it; ``MAP_TO_NONE`` puts ``None``. Bottom up: ``func`` sees each container after its children were
    processed, with the same meaning of its result.

    >>> traverse(lambda x: MAP_TO_NONE if isinstance(x, tuple) else None, [1, (2, 3)])
    [1, None]
    """
    def result(value: Any, node: Any) -> Any:
        if value is MAP_TO_NONE:
            return None
        return node if value is None else value

    def down(node: Any) -> Any:
        value = func(node)
        if value is not None:
            return result(value, node)
        if not is_nested(node):
            return node
        return _rebuild(node, [down(child) for _, child in _children(node)])

    def up(node: Any) -> Any:
        if is_nested(node):
            node = _rebuild(node, [up(child) for _, child in _children(node)])
        return result(func(node), node)

    return down(structure) if top_down else up(structure)


def lists_to_tuples(structure: Any) -> Any:
    """Every list in ``structure`` turned into a tuple.

    >>> lists_to_tuples([1, [2, {"a": [3]}]])
    (1, (2, {'a': (3,)}))
    """
    if isinstance(structure, list):
        return tuple(lists_to_tuples(v) for v in structure)
    if is_nested(structure):
        return _rebuild(structure, [lists_to_tuples(v) for _, v in _children(structure)])
    return structure


def _is_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(d is None or isinstance(d, int) for d in value)


def map_shape_structure(func: Callable[[Any], Any], structure: Any) -> Any:
    """``func`` applied to every shape (a tuple or list of ints and ``None``) in ``structure``.

    >>> map_shape_structure(lambda s: s[1:], [(1, 2), {"a": (None, 3, 4)}])
    [(2,), {'a': (3, 4)}]
    """
    if _is_shape(structure) or not is_nested(structure):
        return func(structure)
    return _rebuild(structure, [map_shape_structure(func, v) for _, v in _children(structure)])
