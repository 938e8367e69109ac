"""``lamina.ops.linalg`` against ``keras.ops.linalg``; decompositions compared through sign-free invariants."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .ops_oracle import Case, args, cases_test

TOL = dict(rtol=1e-4, atol=1e-4)


def rand(rng: np.random.Generator, shape: tuple[int, ...], dtype: str = "float32"):
    return jnp.asarray(rng.normal(size=shape), dtype)


def spd(rng: np.random.Generator, n: int, batch: tuple[int, ...] = ()):
    a = rng.normal(size=batch + (n, n))
    return jnp.asarray(a @ np.swapaxes(a, -1, -2) + n * np.eye(n), "float32")


def symmetric(rng: np.random.Generator, n: int):
    a = rng.normal(size=(n, n))
    return jnp.asarray(a + a.T, "float32")


def _abs_all(out):
    """Eigen/singular vectors are defined up to sign (or phase): compare magnitudes."""
    return tuple(np.abs(np.asarray(v)) for v in out)


def _eig_values(out):
    values = np.asarray(out[0])
    return np.sort_complex(values.astype(np.complex128)).astype(np.complex64)


def _lower(rng, n):
    return jnp.asarray(np.tril(rng.normal(size=(n, n))) + 3 * np.eye(n), "float32")


def _upper(rng, n):
    return jnp.asarray(np.triu(rng.normal(size=(n, n))) + 3 * np.eye(n), "float32")


CASES: dict[str, list[Case]] = {
    "linalg.cholesky": [Case(lambda r: ((spd(r, 4),), {}), **TOL),
                        Case(lambda r: ((spd(r, 3, (2,)),), {"upper": True}), id="batched-upper", **TOL),
                        Case(args(jnp.array([[1.0, 2.0], [2.0, 1.0]])), raises=ValueError, id="not-pd"),
                        Case(args(jnp.ones((2, 3))), raises=ValueError, id="not-square")],
    "linalg.cholesky_inverse": [Case(lambda r: ((np.linalg.cholesky(np.asarray(spd(r, 4))),), {}), **TOL),
                                Case(lambda r: ((np.linalg.cholesky(np.asarray(spd(r, 3))).T,), {"upper": True}),
                                     id="upper", **TOL)],
    "linalg.det": [Case(lambda r: ((rand(r, (4, 4)),), {}), **TOL),
                   Case(lambda r: ((rand(r, (2, 3, 3)),), {}), id="batched", **TOL),
                   Case(args(jnp.ones(3)), raises=ValueError, id="vector")],
    "linalg.eig": [Case(lambda r: ((symmetric(r, 4),), {}), post=_eig_values, **TOL),
                   Case(lambda r: ((rand(r, (3, 3)),), {}), post=_eig_values, id="general", **TOL)],
    "linalg.eigh": [Case(lambda r: ((symmetric(r, 4),), {}), post=_abs_all, **TOL),
                    Case(lambda r: ((jnp.stack([symmetric(r, 3), symmetric(r, 3)]),), {}), post=_abs_all,
                         id="batched", **TOL)],
    "linalg.inv": [Case(lambda r: ((spd(r, 4),), {}), **TOL),
                   Case(lambda r: ((spd(r, 3, (2,)),), {}), id="batched", **TOL)],
    "linalg.lu_factor": [Case(lambda r: ((rand(r, (4, 4)),), {}), **TOL),
                         Case(lambda r: ((rand(r, (2, 3, 3)),), {}), id="batched", **TOL),
                         Case(lambda r: ((rand(r, (3, 5)),), {}), id="wide", **TOL)],
    "linalg.norm": [Case(lambda r: ((rand(r, (5,)),), {})),
                    Case(lambda r: ((rand(r, (3, 4)),), {"ord": "fro"}), id="fro", **TOL),
                    Case(lambda r: ((rand(r, (3, 4)),), {"ord": 1, "axis": 1, "keepdims": True}), id="l1-axis"),
                    Case(lambda r: ((rand(r, (3, 4)),), {"ord": "nuc"}), id="nuc", **TOL),
                    Case(lambda r: ((rand(r, (2, 3, 4)),), {"ord": np.inf, "axis": (1, 2)}), id="inf-matrix"),
                    Case(lambda r: ((jnp.asarray(r.integers(0, 5, (6,)), "int32"),), {}), id="int")],
    "linalg.qr": [Case(lambda r: ((rand(r, (5, 3)),), {}), post=_abs_all, **TOL),
                  Case(lambda r: ((rand(r, (4, 3)),), {"mode": "complete"}), post=_abs_all, id="complete", **TOL),
                  Case(args(jnp.ones((2, 2)), mode="raw"), raises=ValueError, id="bad-mode")],
    "linalg.solve": [Case(lambda r: ((spd(r, 4), rand(r, (4, 2))), {}), **TOL),
                     Case(lambda r: ((spd(r, 3, (2,)), rand(r, (2, 3, 1))), {}), id="batched", **TOL),
                     Case(args(jnp.eye(3), jnp.ones((4, 1))), raises=ValueError, id="shapes")],
    "linalg.solve_triangular": [Case(lambda r: ((_upper(r, 4), rand(r, (4, 2))), {}), **TOL),
                                Case(lambda r: ((_lower(r, 3), rand(r, (3, 3))), {"lower": True}), id="lower",
                                     **TOL)],
    "linalg.svd": [Case(lambda r: ((rand(r, (4, 3)),), {}), post=_abs_all, **TOL),
                   Case(lambda r: ((rand(r, (3, 5)),), {"full_matrices": False}), post=_abs_all, id="reduced",
                        **TOL),
                   Case(lambda r: ((rand(r, (2, 4, 4)),), {"compute_uv": False}), id="values", **TOL)],
    "linalg.lstsq": [Case(lambda r: ((rand(r, (6, 3)), rand(r, (6, 2))), {}), **TOL),
                     Case(lambda r: ((rand(r, (5, 3)), rand(r, (5,))), {"rcond": 1e-3}), id="vector", **TOL)],
    "linalg.matrix_rank": [Case(lambda r: ((rand(r, (4, 4)),), {})),
                           Case(args(jnp.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]])), id="deficient"),
                           Case(lambda r: ((rand(r, (3, 3)),), {"tol": 10.0}), id="tol")],
    "linalg.pinv": [Case(lambda r: ((rand(r, (4, 3)),), {}), **TOL),
                    Case(lambda r: ((rand(r, (2, 3, 5)),), {"rcond": 1e-2}), id="batched-rcond", **TOL)],
    "linalg.jvp": [Case(lambda r: ((jnp.sin, (rand(r, (3,)),), (rand(r, (3,)),)), {}), **TOL),
                   Case(lambda r: ((lambda x, y: (x * y, jnp.sum(x)), (rand(r, (2,)), rand(r, (2,))),
                                    (jnp.ones(2), jnp.zeros(2))), {"has_aux": True}), id="aux", **TOL)],
}

SKIPPED: dict[str, str] = {}

test_matches_keras = cases_test(CASES)


def test_linalg_names_are_also_top_level() -> None:
    import lamina

    for name in ("cholesky", "det", "eig", "inv", "jvp", "norm", "qr", "solve", "svd"):
        assert getattr(lamina.ops, name) is getattr(lamina.ops.linalg, name)
