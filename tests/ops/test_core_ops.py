"""``lamina.ops`` core names (tensors, dtypes, control flow, slicing, scatter, rearrange) against ``keras.ops``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .ops_oracle import Case, args, cases_test


def rand(rng: np.random.Generator, shape: tuple[int, ...], dtype: str = "float32") -> np.ndarray:
    """Normal floats, or small integers / booleans for those dtypes."""
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if "int" in dtype:
        return rng.integers(0, 10, shape).astype(dtype)
    return rng.normal(size=shape).astype(dtype)


def jrand(rng: np.random.Generator, shape: tuple[int, ...], dtype: str = "float32") -> jax.Array:
    return jnp.asarray(rand(rng, shape, dtype))


def _grad_at(value: float):
    """``post`` for ``custom_gradient``: the gradient of the decorated function at ``value``."""
    return lambda f: np.asarray(jax.grad(f.item() if isinstance(f, np.ndarray) else f)(value))


def _clip_grad(x):
    return x * 3.0, lambda g: jnp.clip(g, -1.0, 1.0) * 2.0


def _clipped_sum(x, y):
    return jnp.sum(x * y), lambda g: (g * y, g * 0.5 * jnp.ones_like(y))


CASES: dict[str, list[Case]] = {
    "convert_to_tensor": [
        Case(lambda r: ((rand(r, (3, 4)),), {}), id="f32"),
        Case(lambda r: ((rand(r, (3, 4), "float64"),), {}), id="f64-numpy"),
        Case(lambda r: ((rand(r, (5,), "int64"),), {"dtype": "float16"}), id="int-to-f16"),
        Case(args([1, 2, 3]), id="list"), Case(args(2.5), id="scalar"),
        Case(lambda r: ((rand(r, (2, 3)),), {"dtype": "bfloat16"}), id="bf16"),
        Case(args([1, 2], ragged=True), raises=ValueError, id="ragged"),
    ],
    "convert_to_numpy": [
        Case(lambda r: ((jrand(r, (3, 2)),), {}), id="f32"),
        Case(lambda r: ((jrand(r, (4,), "int32"),), {}), id="int"),
        Case(lambda r: ((jnp.asarray(rand(r, (3,)), "bfloat16"),), {}), id="bf16"),
    ],
    "is_tensor": [Case(lambda r: ((jrand(r, (2,)),), {})), Case(lambda r: ((rand(r, (2,)),), {}), id="numpy"),
                  Case(args(3.0), id="scalar")],
    "shape": [Case(lambda r: ((jrand(r, (2, 3, 4)),), {})), Case(lambda r: ((jrand(r, ()),), {}), id="scalar")],
    "dtype": [Case(lambda r, d=d: ((jnp.asarray(rand(r, (2,)), d),), {}), id=d)
              for d in ("float32", "bfloat16", "int8", "uint8", "bool")],
    "cast": [
        Case(lambda r: ((jrand(r, (3, 4)), "int32"), {}), id="f-to-i"),
        Case(lambda r: ((jrand(r, (6,), "int32"), "float16"), {}), id="i-to-f16"),
        Case(lambda r: ((jrand(r, (6,)), "bool"), {}), id="f-to-bool"),
        Case(lambda r: ((rand(r, (6,)), "bfloat16"), {}), id="np-to-bf16"),
        Case(lambda r: ((jrand(r, (6,), "int32"), None), {}), id="none-is-floatx"),
        Case(lambda r: ((jrand(r, (6,)), "float64"), {}), id="f64"),
    ],
    "saturate_cast": [
        Case(lambda r: ((jnp.asarray(r.normal(size=(20,)) * 300, "float32"), "uint8"), {}), id="f-to-u8"),
        Case(lambda r: ((jnp.asarray(r.integers(-40000, 40000, (20,)), "int32"), "int16"), {}), id="i32-to-i16"),
        Case(lambda r: ((jnp.asarray(r.normal(size=(20,)) * 1e5, "float32"), "float16"), {}), id="f32-to-f16"),
        Case(lambda r: ((jnp.asarray(r.normal(size=(20,)) * 3e9, "float32"), "int32"), {}), id="f32-to-i32"),
        Case(lambda r: ((jnp.asarray(r.integers(-300, 300, (9,)), "int32"), "int8"), {}), id="i32-to-i8"),
    ],
    "stop_gradient": [Case(lambda r: ((jrand(r, (3, 3)),), {})),
                      Case(lambda r: ((jrand(r, (4,), "int32"),), {}), id="int")],
    "unstack": [
        Case(lambda r: ((jrand(r, (3, 4)),), {})),
        Case(lambda r: ((jrand(r, (2, 3, 4), "int32"),), {"axis": -1}), id="axis-1"),
        Case(lambda r: ((jrand(r, (2, 5)),), {"num": 5, "axis": 1}), id="num"),
    ],
    "cond": [
        Case(lambda r: ((jnp.array(True), lambda: jnp.ones(3), lambda: jnp.zeros(3)), {}), id="true"),
        Case(lambda r: ((jnp.array(False), lambda: (jnp.ones(2), 1), lambda: (jnp.zeros(2), 2)), {}),
             id="false-tuple"),
        Case(lambda r: ((True, lambda: jnp.ones(3), lambda: jnp.ones(4)), {}), raises=TypeError, id="mismatch"),
    ],
    "switch": [
        Case(lambda r: ((1, [lambda x: x + 1.0, lambda x: x * 2.0, jnp.sin], jrand(r, (4,))), {}), id="mid"),
        Case(lambda r: ((7, [lambda x, y: x + y, lambda x, y: x - y], jrand(r, (4,)), jrand(r, (4,))), {}),
             id="clamped"),
    ],
    "while_loop": [
        Case(args(lambda i: i < 10, lambda i: i + 3, 0), id="scalar"),
        Case(lambda r: ((lambda x, i: i < 5, lambda x, i: (x * 1.5, i + 1), (jrand(r, (3,)), 0)), {}),
             id="tuple"),
        Case(lambda r: ((lambda x, i: i < 50, lambda x, i: [x + 1.0, i + 1], [jrand(r, (2, 2)), 0]),
                        {"maximum_iterations": 7}), id="max-iter-list"),
    ],
    "fori_loop": [
        Case(args(0, 5, lambda i, v: v + i, 0), id="int"),
        Case(lambda r: ((1, 4, lambda i, v: v * i + 1.0, jrand(r, (3,))), {}), id="array"),
    ],
    "scan": [
        Case(lambda r: ((lambda c, x: (c + x, c * x), jnp.zeros(3), jrand(r, (5, 3))), {}), id="basic"),
        Case(lambda r: ((lambda c, x: (c + x, c), jnp.zeros(2), jrand(r, (4, 2))), {"reverse": True}),
             id="reverse"),
        Case(lambda r: ((lambda c, x: (c * 2, c), jnp.ones(2)), {"length": 3}), id="length"),
        Case(lambda r: ((lambda c, x: (c + x, c), jnp.zeros(2), jrand(r, (6, 2))), {"unroll": 2}), id="unroll"),
        Case(args(lambda c, x: (c, c), 0.0, np.ones(2), unroll=0), raises=ValueError, id="bad-unroll"),
    ],
    "associative_scan": [
        Case(lambda r: ((lambda a, b: a + b, jrand(r, (6,))), {}), id="cumsum"),
        Case(lambda r: ((jnp.maximum, jrand(r, (3, 5))), {"axis": 1, "reverse": True}), id="max-rev"),
        Case(lambda r: ((lambda a, b: (a[0] * b[0], a[1] + b[1]), (jrand(r, (4,)), jrand(r, (4,)))), {}),
             id="tuple"),
    ],
    "map": [
        Case(lambda r: ((lambda x: x * x, jrand(r, (4, 3))), {})),
        Case(lambda r: ((lambda x: {"s": jnp.sum(x), "m": jnp.max(x)}, jrand(r, (5, 2))), {}), id="dict"),
    ],
    "vectorized_map": [
        Case(lambda r: ((lambda x: jnp.sum(x) * x, jrand(r, (4, 3))), {})),
        Case(lambda r: ((lambda t: t[0] @ t[1], (jrand(r, (3, 2, 4)), jrand(r, (3, 4, 2)))), {}), id="tuple"),
    ],
    "custom_gradient": [
        Case(args(_clip_grad), post=_grad_at(3.0), id="clip"),
        Case(args(lambda x: (jnp.sin(x), lambda g: g * 10.0)), post=_grad_at(0.5), id="sin"),
    ],
    "slice": [
        Case(lambda r: ((jrand(r, (5, 6)), (1, 2), (3, 2)), {})),
        Case(lambda r: ((jrand(r, (4, 5, 3), "int32"), (1, 0, 1), (-1, 2, -1)), {}), id="minus-one"),
        Case(lambda r: ((jrand(r, (6,)), jnp.array([2]), (3,)), {}), id="tensor-start"),
    ],
    "slice_update": [
        Case(lambda r: ((jrand(r, (5, 6)), (1, 2), jrand(r, (2, 3))), {})),
        Case(lambda r: ((jrand(r, (4, 4), "int32"), (3, 3), jnp.ones((2, 2), "int32")), {}), id="clamped"),
    ],
    "scatter": [
        Case(lambda r: ((jnp.array([[0, 1], [2, 3], [0, 1]]), jrand(r, (3,)), (3, 4)), {}), id="dup-add"),
        Case(lambda r: ((jnp.array([[1], [3]]), jrand(r, (2, 4)), (5, 4)), {}), id="rows"),
        Case(lambda r: ((jnp.array([[0], [1]]), jrand(r, (2,), "int32"), (3,)), {}), id="int"),
    ],
    "scatter_update": [
        Case(lambda r: ((jrand(r, (4, 3)), [[0, 1], [3, 2]], jrand(r, (2,))), {}), id="set"),
        Case(lambda r: ((jrand(r, (5, 2)), [[1], [3], [1]], jrand(r, (3, 2))), {"reduction": "add"}), id="add"),
        Case(lambda r: ((jrand(r, (5,)), [[1], [2]], jrand(r, (2,))), {"reduction": "MAX"}), id="max"),
        Case(lambda r: ((jrand(r, (5,)), [[1], [2]], jrand(r, (2,))), {"reduction": "min"}), id="min"),
        Case(lambda r: ((jrand(r, (5,)), [[1], [4]], jrand(r, (2,))), {"reduction": "mul"}), id="mul"),
        Case(args(np.ones(3), [[0]], np.ones(1), reduction="mean"), raises=ValueError, id="bad"),
    ],
    "rearrange": [
        Case(lambda r: ((jrand(r, (2, 12, 3)), "b (h w) c -> b c h w"), {"h": 3}), id="split"),
        Case(lambda r: ((jrand(r, (2, 3, 4, 5)), "b c h w -> b (h w) c"), {}), id="merge"),
        Case(lambda r: ((jrand(r, (2, 3, 4)), "a b c -> c a b"), {}), id="perm"),
        Case(lambda r: ((jrand(r, (6, 4)), "(a b) c -> a (c b)"), {"b": 2}), id="both"),
    ],
}

SKIPPED: dict[str, str] = {}

test_matches_keras = cases_test(CASES)


def test_custom_gradient_with_two_arguments() -> None:
    import keras

    import lamina

    for ops in (keras.ops, lamina.ops):
        f = ops.custom_gradient(_clipped_sum)
        gx, gy = jax.grad(f, argnums=(0, 1))(jnp.arange(3.0), jnp.ones(3))
        assert gx.tolist() == [1.0, 1.0, 1.0] and gy.tolist() == [0.5, 0.5, 0.5]


def test_control_flow_under_jit() -> None:
    import lamina

    ops = lamina.ops

    @jax.jit
    def f(x):
        y = ops.cond(x.sum() > 0, lambda: x * 2, lambda: -x)
        _, ys = ops.scan(lambda c, v: (c + v, c), 0.0, y)
        return ops.while_loop(lambda v: v.sum() < 100, lambda v: v * 2, ys + 1.0)

    out = f(jnp.arange(4.0))
    assert out.shape == (4,) and float(out.sum()) >= 100
