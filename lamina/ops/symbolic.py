"""How every public ``lamina.ops`` function treats symbolic tensors and weights (placeholder: passes through).

``dispatch(fn)`` wraps a public op. Called on ``KerasTensor`` arguments it will record a graph node with an
inferred shape and dtype; called on arrays it unwraps ``Weight`` arguments to their arrays and runs ``fn``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def dispatch(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Return ``fn`` made to accept symbolic tensors and weights (today: ``fn`` itself)."""
    return fn
