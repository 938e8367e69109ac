"""``keras.random``: seeded random draws and :class:`SeedGenerator`, on ``jax.random``.

A ``seed`` is an integer (the same draw every time, bit for bit Keras's JAX backend: the key is
``[seed, 0]``), a :class:`SeedGenerator` (a new draw per call), or ``None`` (a global generator).
Inside a layer's ``call`` during ``fit`` a generator draws from the training step's key folded with the
generator's seed, so each step differs and ``utils.set_random_seed`` makes runs repeat; outside a training
step it draws ``[seed, 0]``, ``[seed, 1]``, ... like Keras.

>>> from lamina import random
>>> random.normal((2,), seed=1).tolist() == random.normal((2,), seed=1).tolist()
True
>>> gen = random.SeedGenerator(42)
>>> bool((random.uniform((3,), seed=gen) != random.uniform((3,), seed=gen)).any())
True
"""

from __future__ import annotations

import random as python_random
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina import backend, naming

__all__ = ["SeedGenerator", "normal", "uniform", "randint", "truncated_normal", "categorical", "dropout",
           "shuffle", "gamma", "binomial", "beta", "draw_seed"]


class SeedGenerator:
    """A source of fresh keys: ``normal(shape, seed=self.seed_generator)`` differs on every call.

    >>> gen = SeedGenerator(7, name="noise_seed")
    >>> gen.next().tolist(), gen.next().tolist()
    ([7, 0], [7, 1])
    >>> gen.get_config()
    {'seed': 7, 'name': 'noise_seed'}
    """

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs: Any) -> None:
        kwargs.pop("backend", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
        self.name = name or naming.auto_name("SeedGenerator")
        self._initial_seed = seed
        if seed is None:
            seed = python_random.randint(1, int(1e9))  # Keras's default; utils.set_random_seed seeds it
        if not isinstance(seed, (int, np.integer)):
            raise ValueError(f"Argument `seed` must be an integer. Received: seed={seed}")
        self.seed = int(seed)
        self._state = [self.seed & 0xFFFFFFFF, 0]

    @property
    def state(self) -> Any:
        """The next key ``[seed, count]`` (uint32), as Keras's ``seed_generator_state``."""
        return jnp.array(self._state, dtype=jnp.uint32)

    def next(self, ordered: bool = True) -> Any:
        """A key for one draw. Inside a training step: the step's key folded with this generator's seed."""
        from lamina.layers.base import CallScope  # layers import random (Dropout); this reads their scope

        scope = CallScope.current()
        if scope is not None and scope.rng is not None:
            return jax.random.fold_in(scope.next_rng(), self.seed & 0x7FFFFFFF)
        key = self.state
        if ordered:
            self._state[1] = (self._state[1] + 1) & 0xFFFFFFFF
        else:
            self._state = [(v + 1) * 5387 % 933199 for v in self._state]
        return key

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SeedGenerator:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<SeedGenerator name={self.name}, seed={self.seed}>"


_GLOBAL: list[SeedGenerator] = []


def global_seed_generator() -> SeedGenerator:
    """The generator ``seed=None`` draws from (made on first use)."""
    if not _GLOBAL:
        _GLOBAL.append(SeedGenerator(name="global_seed_generator"))
    return _GLOBAL[0]


def draw_seed(seed: Any) -> Any:
    """The JAX key for ``seed``: an int, a :class:`SeedGenerator`, ``None`` or a key array.

    >>> draw_seed(3).tolist()
    [3, 0]
    """
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return jnp.array([int(seed) & 0xFFFFFFFF, 0], dtype=jnp.uint32)
    if seed is None:
        from lamina.layers.base import CallScope  # see SeedGenerator.next

        scope = CallScope.current()
        if scope is not None and scope.rng is not None:
            return scope.next_rng()
        return global_seed_generator().next(ordered=False)
    if isinstance(seed, (jax.Array, np.ndarray)):
        return seed
    raise ValueError("Argument `seed` must be either an integer or an instance of `SeedGenerator`. "
                     f"Received: seed={seed} (of type {type(seed)})")


def _dtype(dtype: Any) -> Any:
    return jnp.dtype(dtype or backend.floatx())


def _shape(shape: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in shape)


def normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None, seed: Any = None) -> Any:
    """Draws from a normal distribution.

    >>> normal((2, 3), seed=0).shape
    (2, 3)
    """
    return jax.random.normal(draw_seed(seed), shape=_shape(shape), dtype=_dtype(dtype)) * stddev + mean


def uniform(shape: Any, minval: float = 0.0, maxval: float = 1.0, dtype: Any = None, seed: Any = None) -> Any:
    """Draws from a uniform distribution on ``[minval, maxval)``.

    >>> bool((uniform((100,), seed=0) < 1.0).all())
    True
    """
    return jax.random.uniform(draw_seed(seed), shape=_shape(shape), dtype=_dtype(dtype), minval=minval,
                              maxval=maxval)


def randint(shape: Any, minval: int, maxval: int, dtype: Any = "int32", seed: Any = None) -> Any:
    """Random integers in ``[minval, maxval)``.

    >>> randint((3,), 0, 1, seed=0).tolist()
    [0, 0, 0]
    """
    return jax.random.randint(draw_seed(seed), shape=_shape(shape), dtype=dtype, minval=minval, maxval=maxval)


def truncated_normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None,
                     seed: Any = None) -> Any:
    """Normal draws truncated to two standard deviations.

    >>> bool((abs(truncated_normal((100,), seed=0)) <= 2).all())
    True
    """
    sample = jax.random.truncated_normal(draw_seed(seed), shape=_shape(shape), lower=-2.0, upper=2.0,
                                         dtype=_dtype(dtype))
    return sample * stddev + mean


def categorical(logits: Any, num_samples: int, dtype: Any = "int32", seed: Any = None) -> Any:
    """``num_samples`` class ids per row of ``logits`` (batch, classes).

    >>> categorical(jnp.array([[0.0, 100.0]]), 2, seed=0).tolist()
    [[1, 1]]
    """
    logits = jnp.asarray(logits)
    out_shape = list(logits.shape)
    out_shape[1] = int(num_samples)
    out = jax.random.categorical(draw_seed(seed), logits[..., None], shape=tuple(out_shape), axis=1)
    return out.astype(dtype)


def bernoulli(key: Any, p: float, shape: tuple[int, ...]) -> jax.Array:
    """``jax.random.bernoulli(key, p, shape)`` bit for bit, drawn faster on XLA's CPU backend.

    JAX lowers its Threefry hash on the CPU as a loop of 5 rounds over whole arrays; written out here as one
    elementwise expression, XLA fuses it into a single pass (a ``(64, 100, 64)`` dropout's forward and
    backward took 4.3 ms against 7.0 ms on one core). Keys other than JAX's default Threefry (partitionable
    bits), or ``p`` that is not a Python number, take ``jax.random.bernoulli`` itself.

    >>> key = jax.random.PRNGKey(3)
    >>> bool((bernoulli(key, 0.9, (5, 7)) == jax.random.bernoulli(key, 0.9, (5, 7))).all())
    True
    """
    shape = tuple(int(d) for d in shape)
    size = int(np.prod(shape, dtype=np.int64))
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if str(jax.random.key_impl(key)) not in ("threefry2x32", "PRNGImpl(threefry2x32)"):
            return jax.random.bernoulli(key, p, shape)
        key = jax.random.key_data(key)
    exact = (isinstance(p, (int, float)) and 0.0 < float(p) < 1.0 and size < 2**32 and len(shape) > 0
             and getattr(jax.config, "jax_threefry_partitionable", False)
             and getattr(jax.config, "jax_default_prng_impl", None) == "threefry2x32"
             and getattr(key, "shape", None) == (2,) and jnp.asarray(key).dtype == jnp.uint32)
    if not exact:
        return jax.random.bernoulli(key, p, shape)
    # jax.random.uniform keeps the top 23 bits m of each word as m / 2**23; m / 2**23 < p  <=>  m < ceil(p * 2**23)
    threshold = np.uint32(int(np.ceil(float(np.float32(p)) * 2.0**23)))

    def draw(state: tuple[Any, Any]) -> tuple[Any, Any]:
        words = _threefry_bits(key, shape)
        return state[0] + np.uint32(1), jax.lax.shift_right_logical(words, np.uint32(9)) < threshold

    # XLA would copy the (cheap-looking) hash into every fusion that reads the mask, forward and backward (a
    # dropout's mask was hashed 5 times per train step). A loop of one trip, whose count XLA cannot read off
    # the program (min(k, 1) | 1 is always 1), makes it hash once and keep the mask.
    trips = jnp.minimum(key[0], np.uint32(1)) | np.uint32(1)
    return jax.lax.while_loop(lambda state: state[0] < trips, draw, (np.uint32(0), jnp.zeros(shape, bool)))[1]


def _threefry_bits(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """``jax.random.bits(key, shape, uint32)`` for a raw Threefry key: the 20-round Threefry-2x32 hash of the
    counters ``(0, i)``, words xor-ed, as JAX's partitionable scheme defines them."""
    k0, k1 = key[0], key[1]
    keys = (k0, k1, k0 ^ k1 ^ np.uint32(0x1BD11BDA))
    x0 = jnp.zeros(shape, np.uint32) + keys[0]
    x1 = jax.lax.iota(np.uint32, int(np.prod(shape))).reshape(shape) + keys[1]
    rotations = ((13, 15, 26, 6), (17, 29, 16, 24))
    for block in range(5):
        for r in rotations[block % 2]:
            x0 = x0 + x1
            x1 = (jax.lax.shift_left(x1, np.uint32(r)) | jax.lax.shift_right_logical(x1, np.uint32(32 - r))) ^ x0
        x0 = x0 + keys[(block + 1) % 3]
        x1 = x1 + keys[(block + 2) % 3] + np.uint32(block + 1)
    return x0 ^ x1


def dropout(inputs: Any, rate: float, noise_shape: Any = None, seed: Any = None) -> Any:
    """Zero entries with probability ``rate`` and scale the rest by ``1 / (1 - rate)``.

    >>> dropout(jnp.ones((4,)), 0.0).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    inputs = jnp.asarray(inputs)
    if rate == 1.0:
        return jnp.zeros_like(inputs)
    if rate == 0.0:
        return inputs
    keep = 1.0 - rate
    shape = inputs.shape if noise_shape is None else tuple(
        inputs.shape[i] if d is None else int(d) for i, d in enumerate(noise_shape))
    mask = jnp.broadcast_to(bernoulli(draw_seed(seed), keep, shape), inputs.shape)
    return jax.lax.select(mask, inputs / keep, jnp.zeros_like(inputs))


def shuffle(x: Any, axis: int = 0, seed: Any = None) -> Any:
    """``x`` with its entries along ``axis`` in random order.

    >>> sorted(shuffle(jnp.arange(4), seed=0).tolist())
    [0, 1, 2, 3]
    """
    return jax.random.permutation(draw_seed(seed), jnp.asarray(x), axis, independent=True)


def gamma(shape: Any, alpha: Any, dtype: Any = None, seed: Any = None) -> Any:
    """Draws from a gamma distribution of shape parameter ``alpha``.

    >>> gamma((2,), 1.0, seed=0).shape
    (2,)
    """
    return jax.random.gamma(draw_seed(seed), alpha, shape=_shape(shape), dtype=_dtype(dtype))


def binomial(shape: Any, counts: Any, probabilities: Any, dtype: Any = None, seed: Any = None) -> Any:
    """Draws from binomial distributions of ``counts`` trials with success ``probabilities``.

    >>> binomial((3,), 5, 1.0, seed=0).tolist()
    [5.0, 5.0, 5.0]
    """
    return jax.random.binomial(draw_seed(seed), n=jnp.array(counts), p=jnp.array(probabilities),
                               shape=_shape(shape), dtype=_dtype(dtype))


def beta(shape: Any, alpha: Any, beta: Any, dtype: Any = None, seed: Any = None) -> Any:
    """Draws from beta distributions.

    >>> bool(((beta((10,), 2.0, 3.0, seed=0) >= 0) & (beta((10,), 2.0, 3.0, seed=0) <= 1)).all())
    True
    """
    return jax.random.beta(draw_seed(seed), a=jnp.array(alpha), b=jnp.array(beta), shape=_shape(shape),
                           dtype=_dtype(dtype))
