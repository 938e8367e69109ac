"""``ArrayValue``: the array behaviour shared by layer weights and metric variables.

A subclass has a ``value`` property (the array to compute with); the mixin makes the object read as that array
to NumPy, to JAX (``__jax_array__``) and to Python's operators, so user code can write ``x @ self.kernel`` or
``self.total / self.count``.

>>> import numpy as np
>>> class Box(ArrayValue):
...     value = np.arange(3.0)
>>> (Box() * 2).tolist(), float(Box()[1]), Box().ndim
([0.0, 2.0, 4.0], 1.0, 1)
"""

from __future__ import annotations

from typing import Any

import numpy as np


class ArrayValue:
    """Operators, NumPy/JAX conversion and ``ndim``/``T``/``astype`` forwarded to ``self.value``."""

    value: Any

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.asarray(self.value)
        return out.astype(dtype) if dtype is not None else out

    def __jax_array__(self) -> Any:
        return self.value

    def __float__(self) -> float:
        return float(self.value)

    def __add__(self, o): return self.value + o  # noqa: E704
    def __radd__(self, o): return o + self.value  # noqa: E704
    def __sub__(self, o): return self.value - o  # noqa: E704
    def __rsub__(self, o): return o - self.value  # noqa: E704
    def __mul__(self, o): return self.value * o  # noqa: E704
    def __rmul__(self, o): return o * self.value  # noqa: E704
    def __truediv__(self, o): return self.value / o  # noqa: E704
    def __rtruediv__(self, o): return o / self.value  # noqa: E704
    def __matmul__(self, o): return self.value @ o  # noqa: E704
    def __rmatmul__(self, o): return o @ self.value  # noqa: E704
    def __neg__(self): return -self.value  # noqa: E704
    def __getitem__(self, i): return self.value[i]  # noqa: E704
    def __pow__(self, o): return self.value ** o  # noqa: E704
    def __rpow__(self, o): return o ** self.value  # noqa: E704
    def __abs__(self): return abs(self.value)  # noqa: E704
    def __floordiv__(self, o): return self.value // o  # noqa: E704
    def __mod__(self, o): return self.value % o  # noqa: E704
    def __lt__(self, o): return self.value < o  # noqa: E704
    def __le__(self, o): return self.value <= o  # noqa: E704
    def __gt__(self, o): return self.value > o  # noqa: E704
    def __ge__(self, o): return self.value >= o  # noqa: E704

    @property
    def ndim(self) -> int:
        return len(np.shape(self.value))

    @property
    def T(self) -> Any:  # noqa: N802 - NumPy's name
        return self.value.T

    def astype(self, dtype: Any) -> Any:
        return self.value.astype(dtype)
