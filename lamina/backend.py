"""The ``backend`` namespace Keras code reaches for: global settings, dtypes, ``clear_session``, seeds.

Keras 3's ``keras.backend`` names (``floatx``, ``epsilon``, ``image_data_format`` and their setters,
``standardize_dtype``, ``result_type``, ``is_keras_tensor``, ``get_uid``...) plus the Keras 2 conveniences users still
write (``int_shape``, ``placeholder``).

>>> from lamina import backend
>>> backend.placeholder(shape=(None, 28, 28)).shape
(None, 28, 28)
>>> backend.backend(), backend.int_shape(backend.placeholder(shape=(None, 3)))
('jax', (None, 3))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina import naming

_IMAGE_DATA_FORMAT = "channels_last"
_FLOATX = "float32"
_EPSILON = 1e-7


class _SeedState:
    """Global random state: a NumPy generator for initializers and a counter for JAX keys."""

    def __init__(self, seed: int | None = None) -> None:
        self.reseed(seed)

    def reseed(self, seed: int | None) -> None:
        self.seed = seed
        self.numpy = np.random.default_rng(seed)
        self.key_counter = 0

    def next_seed(self) -> int:
        return int(self.numpy.integers(0, 2**31 - 1))


SEEDS = _SeedState()


def clear_session() -> None:
    """Reset the automatic names (``dense``, ``dense_1``, ...) as Keras does."""
    naming.reset()


def placeholder(shape: Any = None, ndim: int | None = None, dtype: str = "float32", name: str | None = None):
    """A symbolic tensor of ``shape`` (``None`` for unknown sizes), usable as ``InputLayer(input_tensor=...)``."""
    from lamina.graph import KerasTensor

    if shape is None:
        if ndim is None:
            raise ValueError("placeholder() needs `shape` or `ndim`.")
        shape = (None,) * ndim
    return KerasTensor(tuple(None if d is None else int(d) for d in shape), dtype=dtype, name=name)


def image_data_format() -> str:
    """``"channels_last"`` unless changed with ``set_image_data_format``."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format: str) -> None:
    """Set the default ``data_format`` of image layers."""
    global _IMAGE_DATA_FORMAT
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', not {data_format!r}.")
    _IMAGE_DATA_FORMAT = data_format


def floatx() -> str:
    """The default float dtype, ``"float32"`` unless changed with ``set_floatx``."""
    return _FLOATX


def set_floatx(value: str) -> None:
    """Set the default float dtype: ``"bfloat16"``, ``"float16"``, ``"float32"`` or ``"float64"``.

    >>> set_floatx("float16"); floatx()
    'float16'
    >>> set_floatx("float32")
    """
    global _FLOATX
    accepted = ("bfloat16", "float16", "float32", "float64")
    dtype = str(value)
    if dtype not in accepted:
        raise ValueError(f"Unknown `floatx` value: {value}. Expected one of {accepted}")
    _FLOATX = dtype


def epsilon() -> float:
    """The fuzz factor Keras uses to clip probabilities, ``1e-7`` unless changed with ``set_epsilon``."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    """Set the fuzz factor returned by ``epsilon()``."""
    global _EPSILON
    _EPSILON = float(value)


def backend() -> str:
    """The name of the computing backend: always ``"jax"``."""
    return "jax"


def get_uid(prefix: str = "") -> int:
    """1, 2, 3, ... for successive calls with the same ``prefix`` (shares the counters of automatic names).

    >>> clear_session(); get_uid("block"), get_uid("block")
    (1, 2)
    """
    return naming.next_uid(prefix)


def int_shape(x: Any) -> tuple[int | None, ...]:
    """The shape of an array or symbolic tensor as a tuple of ints (``None`` where unknown), as Keras 2's."""
    return tuple(None if d is None else int(d) for d in x.shape)


def is_keras_tensor(x: Any) -> bool:
    """Whether ``x`` is a symbolic tensor of the functional API (a ``KerasTensor``)."""
    from lamina.graph import KerasTensor  # graph imports layers' helpers; keep the backend module light

    return isinstance(x, KerasTensor)


#: the dtype names Keras accepts (``keras.backend.standardize_dtype``).
ALLOWED_DTYPES = ("float16", "float32", "float64", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32",
                  "int64", "bfloat16", "bool", "string", "float8_e4m3fn", "float8_e5m2", "complex64", "complex128")
_PYTHON_DTYPES = {bool: "bool", int: "int32", float: "float32", str: "string", "int": "int32", complex: "complex64"}


def standardize_dtype(dtype: Any) -> str:
    """A dtype name from a string, NumPy/JAX dtype or Python type; ``None`` -> ``floatx()``.

    >>> import numpy as np
    >>> standardize_dtype(np.float32), standardize_dtype(int), standardize_dtype(None)
    ('float32', 'int32', 'float32')
    """
    if dtype is None:
        return floatx()
    if isinstance(dtype, dict) and "config" in dtype:  # a serialized DTypePolicy
        dtype = dtype["config"].get("name", floatx())
    dtype = _PYTHON_DTYPES.get(dtype, dtype) if not isinstance(dtype, (list, dict)) else dtype
    if hasattr(dtype, "name"):
        dtype = dtype.name
    elif hasattr(dtype, "__name__"):
        dtype = dtype.__name__
    elif "jax.numpy" in str(dtype) or "torch" in str(dtype):
        dtype = str(dtype).split(".")[-1]
    if dtype not in ALLOWED_DTYPES:
        raise ValueError(f"Invalid dtype: {dtype}")
    return dtype


def is_float_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is a floating type (``bfloat16`` included)."""
    return standardize_dtype(dtype).startswith(("float", "bfloat"))


def is_int_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is a signed or unsigned integer type."""
    return standardize_dtype(dtype).startswith(("int", "uint"))


def result_type(*dtypes: Any) -> str:
    """The dtype of an operation on values of ``dtypes``, by JAX's promotion lattice (which Keras adopted).

    Python ``int``/``float`` are weak: they do not widen an array dtype (``int`` keeps any type, ``float`` turns
    integers into ``floatx()``).

    >>> result_type("int32", "float32"), result_type("bfloat16", int), result_type("int8", float)
    ('float32', 'bfloat16', 'float32')
    """
    if not dtypes:
        return floatx()
    import jax.numpy as jnp

    dtypes = tuple(floatx() if d is None else d for d in dtypes)
    strong = [standardize_dtype(d) for d in dtypes if d not in (int, float, bool, complex)]
    weak = [d for d in dtypes if d in (int, float, bool, complex)]
    if any(d.startswith("float8") for d in strong):
        raise ValueError(f"There is no implicit conversions from float8 dtypes to others. You must cast it "
                         f"internally. Received: {dtypes}")
    if not strong:
        order = {bool: "bool", int: "int32", float: floatx(), complex: "complex64"}
        found = max((order[d] for d in weak), key=("bool", "int32", floatx(), "complex64").index)
        return _TO_32_BIT.get(found, found)
    result = strong[0]
    for other in strong[1:]:
        result = jnp.promote_types(result, other).name
    if int in weak and result == "bool":
        result = f"int{floatx()[-2:]}"
    if float in weak and not is_float_dtype(result) and not result.startswith("complex"):
        result = floatx()
    if complex in weak and not result.startswith("complex"):
        result = "complex64"
    return _TO_32_BIT.get(result, result)  # JAX's default: no 64-bit results


_TO_32_BIT = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}


def standardize_data_format(data_format: str | None) -> str:
    """``None`` -> the global default; otherwise check the value and return it lower-cased."""
    if data_format is None:
        return image_data_format()
    value = str(data_format).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(
            f"data_format must be 'channels_last' or 'channels_first', received {data_format!r}."
        )
    return value


_COMPILATION_CACHE: str | None = None


def compilation_cache_dir() -> str | None:
    """The folder of JAX's persistent compilation cache lamina uses, or ``None`` when it is off.

    ``$LAMINA_COMPILATION_CACHE`` picks the folder (``0`` turns the cache off); by default it is
    ``$XDG_CACHE_HOME/lamina/jax`` (``~/.cache/lamina/jax``). A cache the user configured for JAX
    (``JAX_COMPILATION_CACHE_DIR``) is left as it is.

    >>> import os
    >>> saved = os.environ.get("LAMINA_COMPILATION_CACHE")
    >>> os.environ["LAMINA_COMPILATION_CACHE"] = "off"
    >>> compilation_cache_dir() is None
    True
    >>> os.environ["LAMINA_COMPILATION_CACHE"] = saved or "0"
    """
    import os

    choice = os.environ.get("LAMINA_COMPILATION_CACHE")
    if choice is not None:
        return None if choice.strip().lower() in ("", "0", "off", "false", "no") else os.path.expanduser(choice)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "lamina", "jax")


def enable_compilation_cache() -> str | None:
    """Turn on JAX's persistent compilation cache (once per process) so a second run skips compiling.

    Called by ``fit``/``evaluate``/``predict`` before their first compilation; returns the folder in use.

    >>> isinstance(enable_compilation_cache(), (str, type(None)))
    True
    """
    global _COMPILATION_CACHE
    if _COMPILATION_CACHE is not None:
        return _COMPILATION_CACHE or None
    import jax

    configured = jax.config.jax_compilation_cache_dir
    folder = configured or compilation_cache_dir()
    if folder and not configured:
        try:
            import os

            os.makedirs(folder, exist_ok=True)
            jax.config.update("jax_compilation_cache_dir", folder)
            # lamina's steps compile in well under JAX's default 1 s threshold; cache them all.
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
            jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
        except (OSError, AttributeError):  # a read-only home: run without the cache
            folder = None
    _COMPILATION_CACHE = folder or ""
    return folder


#: XLA options for small bookkeeping functions (fresh metric state): a fraction of a millisecond of work
#: each, where XLA's optimizing backend would spend tens of milliseconds compiling.
QUICK_COMPILE_OPTIONS: dict[str, Any] = {"xla_backend_optimization_level": 0}


def quick_jit(fn: Any) -> Any:
    """``jax.jit(fn)`` compiled with ``QUICK_COMPILE_OPTIONS``: for tiny functions called once per fit or epoch.

    >>> import jax.numpy as jnp
    >>> float(quick_jit(lambda: jnp.zeros(3).sum())())
    0.0
    """
    import jax

    return jax.jit(fn, compiler_options=QUICK_COMPILE_OPTIONS)


#: XLA CPU options for functions that run only a handful of times per fit (``"auto"`` pacing's single steps):
#: the older loop emitters compile a train step in about two thirds of the time (MLP first fit 0.64 s ->
#: 0.52 s, CNN 1.26 s -> 0.90 s; medians of 4-5 fresh processes, 2-core CPU), for steps 10-20% slower.
SHORT_LIVED_CPU_OPTIONS: dict[str, Any] = {"xla_cpu_use_fusion_emitters": False}


def short_lived_compile_options() -> dict[str, Any] | None:
    """``compiler_options`` for a jitted function that runs a few times only: ``SHORT_LIVED_CPU_OPTIONS`` on
    the CPU backend, ``None`` (XLA's defaults) elsewhere.

    >>> short_lived_compile_options() in (None, SHORT_LIVED_CPU_OPTIONS)
    True
    """
    import jax

    if _SHORT_LIVED_REFUSED or jax.default_backend() != "cpu":
        return None
    return dict(SHORT_LIVED_CPU_OPTIONS)


_SHORT_LIVED_REFUSED = False


def refuse_short_lived_options(error: Exception) -> bool:
    """True (and ``short_lived_compile_options`` returns ``None`` from then on) when ``error`` is XLA
    rejecting one of those options, as a JAX release without it would; the caller then rebuilds its function
    with XLA's defaults. Any other error returns False.

    >>> refuse_short_lived_options(ValueError("shape mismatch"))
    False
    """
    global _SHORT_LIVED_REFUSED
    if "No such compile option" not in str(error):
        return False
    _SHORT_LIVED_REFUSED = True
    return True
