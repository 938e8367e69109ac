"""Automatic names for layers and models, with Keras's global counters.

>>> from lamina import naming
>>> naming.reset()
>>> naming.auto_name("Dense"), naming.auto_name("Dense")
('dense', 'dense_1')
"""

from __future__ import annotations

import re

_counters: dict[str, int] = {}


def to_snake_case(name: str) -> str:
    """``"MaxPooling2D"`` -> ``"max_pooling2d"``, ``"RMSprop"`` -> ``"rm_sprop"`` (Keras's rule)."""
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    if insecure[0] != "_":
        return insecure
    return "private" + insecure


def auto_name(class_name: str, *, zero_based: bool = True) -> str:
    """A unique name for a new object of ``class_name``: ``dense``, ``dense_1``, ...

    ``zero_based=False`` gives the Keras 2 input-layer style ``input_1``, ``input_2``, ...
    """
    prefix = to_snake_case(class_name)
    count = _counters.get(prefix, 0)
    _counters[prefix] = count + 1
    if not zero_based:
        return f"{prefix}_{count + 1}"
    return prefix if count == 0 else f"{prefix}_{count}"


def next_uid(prefix: str = "") -> int:
    """Keras's ``get_uid``: 1 on the first call for ``prefix``, then 2, 3, ... (the counters ``auto_name`` uses)."""
    _counters[prefix] = _counters.get(prefix, 0) + 1
    return _counters[prefix]


def reset() -> None:
    """Forget every counter (``lamina.backend.clear_session()`` calls this)."""
    _counters.clear()
