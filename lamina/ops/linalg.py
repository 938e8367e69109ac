"""``keras.ops.linalg`` on JAX: decompositions, solves, norms, ``jvp`` (also exported at ``lamina.ops``).

>>> import jax.numpy as jnp
>>> float(det(jnp.array([[2.0, 0.0], [0.0, 3.0]])))
6.0
>>> solve(jnp.eye(2) * 2, jnp.array([2.0, 4.0])).tolist()
[1.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl

from lamina.ops.core import convert_to_tensor
from lamina.ops.symbolic import dispatch

__all__ = [
    "cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "lstsq", "lu_factor", "matrix_rank", "norm",
    "pinv", "qr", "solve", "solve_triangular", "svd",
]


def _matrix(x: Any, op: str, square: bool = True) -> jax.Array:
    x = convert_to_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"{op}: expected input to have rank >= 2. Received input with shape {x.shape}.")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{op}: expected a square matrix. Received non-square input with shape {x.shape}")
    return x


def _system(a: Any, b: Any, op: str) -> tuple[jax.Array, jax.Array]:
    a, b = _matrix(a, op), convert_to_tensor(b)
    if b.ndim < 1:
        raise ValueError(f"{op}: expected `b` to have rank >= 1. Received scalar input {b}.")
    if a.ndim == b.ndim and a.shape[-2] != b.shape[-2]:
        raise ValueError(f"{op}: incompatible shapes between `a` and `b`. Expected `a.shape[-2] == b.shape[-2]`. "
                         f"Received: a.shape={a.shape}, b.shape={b.shape}")
    if a.ndim == b.ndim + 1 and a.shape[-1] != b.shape[-1]:
        raise ValueError(f"{op}: incompatible shapes between `a` and `b`. Expected `a.shape[-1] == b.shape[-1]`. "
                         f"Received: a.shape={a.shape}, b.shape={b.shape}")
    return a, b


@dispatch
def cholesky(x: Any, upper: bool = False) -> jax.Array:
    """Cholesky factor ``L`` (``x = L L^T``), or upper ``U`` (``x = U^T U``); raises if not positive definite.

    >>> import jax.numpy as jnp
    >>> cholesky(jnp.array([[4.0, 2.0], [2.0, 2.0]])).tolist()
    [[2.0, 0.0], [1.0, 1.0]]
    """
    x = _matrix(x, "cholesky")
    out = jnp.linalg.cholesky(x, upper=upper)
    try:
        failed = bool(jnp.any(jnp.isnan(out)))
    except jax.errors.TracerBoolConversionError:
        failed = False
    if failed:
        raise ValueError("Cholesky decomposition failed: the input might not be a valid positive definite matrix.")
    return out


@dispatch
def cholesky_inverse(x: Any, upper: bool = False) -> jax.Array:
    """The inverse of ``A`` from its Cholesky factor ``x`` (lower, or upper with ``upper=True``)."""
    x = _matrix(x, "cholesky_inverse")
    identity = jnp.eye(x.shape[-1], dtype=x.dtype)
    inv_factor = jsl.solve_triangular(x, identity, lower=not upper)
    if upper:
        return inv_factor @ jnp.swapaxes(inv_factor, -1, -2)
    return jnp.swapaxes(inv_factor, -1, -2) @ inv_factor


@dispatch
def det(x: Any) -> jax.Array:
    """Determinant of (batches of) square matrices."""
    return jnp.linalg.det(_matrix(x, "det"))


@dispatch
def eig(x: Any) -> tuple[jax.Array, jax.Array]:
    """Eigenvalues and eigenvectors of a general square matrix (complex); CPU only in JAX."""
    return jnp.linalg.eig(_matrix(x, "eig"))


@dispatch
def eigh(x: Any) -> tuple[jax.Array, jax.Array]:
    """Eigenvalues (ascending) and eigenvectors of a symmetric / Hermitian matrix."""
    return jnp.linalg.eigh(_matrix(x, "eigh"))


@dispatch
def inv(x: Any) -> jax.Array:
    """Inverse of (batches of) square matrices."""
    return jnp.linalg.inv(_matrix(x, "inv"))


@dispatch
def lu_factor(x: Any) -> tuple[jax.Array, jax.Array]:
    """LU factorization with partial pivoting: ``(lu, pivots)`` as ``scipy.linalg.lu_factor`` (batched)."""
    x = _matrix(x, "lu_factor", square=False)
    fn = jsl.lu_factor
    for _ in range(x.ndim - 2):
        fn = jax.vmap(fn)
    return fn(x)


@dispatch
def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> jax.Array:
    """Vector or matrix norm (``ord`` as ``numpy.linalg.norm``); integer inputs give float32.

    >>> import jax.numpy as jnp
    >>> float(norm(jnp.array([3, 4])))
    5.0
    """
    x = convert_to_tensor(x)
    if not jnp.issubdtype(x.dtype, jnp.floating) and not jnp.issubdtype(x.dtype, jnp.complexfloating):
        x = x.astype("float32")
    return jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


@dispatch
def qr(x: Any, mode: str = "reduced") -> tuple[jax.Array, jax.Array]:
    """QR decomposition; ``mode`` is ``"reduced"`` or ``"complete"``."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"`mode` argument value not supported. Expected one of {{'reduced', 'complete'}}. "
                         f"Received: mode={mode}")
    return jnp.linalg.qr(convert_to_tensor(x), mode=mode)


@dispatch
def solve(a: Any, b: Any) -> jax.Array:
    """The solution ``x`` of ``a @ x = b``."""
    a, b = _system(a, b, "solve")
    return jnp.linalg.solve(a, b)


@dispatch
def solve_triangular(a: Any, b: Any, lower: bool = False) -> jax.Array:
    """The solution of ``a @ x = b`` for triangular ``a`` (upper unless ``lower=True``)."""
    a, b = _system(a, b, "solve_triangular")
    return jsl.solve_triangular(a, b, lower=lower)


@dispatch
def svd(x: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """Singular value decomposition ``(u, s, vh)``, or only ``s`` with ``compute_uv=False``."""
    return jnp.linalg.svd(_matrix(x, "svd", square=False), full_matrices=full_matrices, compute_uv=compute_uv)


@dispatch
def lstsq(a: Any, b: Any, rcond: float | None = None) -> jax.Array:
    """The least-squares solution of ``a @ x = b``."""
    return jnp.linalg.lstsq(convert_to_tensor(a), convert_to_tensor(b), rcond=rcond)[0]


@dispatch
def matrix_rank(x: Any, tol: float | None = None) -> jax.Array:
    """The rank of (batches of) matrices, as int32.

    >>> import jax.numpy as jnp
    >>> int(matrix_rank(jnp.array([[1.0, 2.0], [2.0, 4.0]])))
    1
    """
    x = _matrix(x, "matrix_rank", square=False)
    return jnp.linalg.matrix_rank(x, tol=tol).astype("int32")


@dispatch
def pinv(x: Any, rcond: float | None = None) -> jax.Array:
    """The Moore-Penrose pseudo-inverse."""
    x = _matrix(x, "pinv", square=False)
    return jnp.linalg.pinv(x, rcond=rcond)


@dispatch
def jvp(fun: Callable[..., Any], primals: Any, tangents: Any, has_aux: bool = False) -> Any:
    """Forward-mode derivative: ``(fun(*primals), J @ tangents)`` (plus ``aux`` with ``has_aux``).

    >>> import jax.numpy as jnp
    >>> [float(v) for v in jvp(jnp.sin, (0.0,), (2.0,))]
    [0.0, 2.0]
    """
    return jax.jvp(fun, primals, tangents, has_aux=has_aux)
