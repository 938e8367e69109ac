"""Dtype policies (Keras 3's ``keras.dtype_policies``): the compute and variable dtypes of a layer.

``"mixed_bfloat16"`` and ``"mixed_float16"`` keep variables in float32 and compute in the low precision: a
layer casts its floating inputs and (inside ``call``) its weights to ``compute_dtype``.

>>> policy = get("mixed_bfloat16")
>>> policy, policy.compute_dtype, policy.variable_dtype
(<DTypePolicy "mixed_bfloat16">, 'bfloat16', 'float32')
>>> serialize(policy)
{'module': 'keras', 'class_name': 'DTypePolicy', 'config': {'name': 'mixed_bfloat16'}, 'registered_name': None}
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["DTypePolicy", "FloatDTypePolicy", "get", "serialize", "deserialize", "dtype_policy",
           "set_dtype_policy"]

_MIXED = {"mixed_float16": ("float16", "float32"), "mixed_bfloat16": ("bfloat16", "float32")}
_GLOBAL: list[DTypePolicy | None] = [None]


def _standardize(name: str) -> str:
    if name in ("float", "double"):
        return {"float": "float32", "double": "float64"}[name]
    if name in ("bool", "string", "bfloat16"):
        return name
    import jax.numpy as jnp  # bfloat16 and the other ml_dtypes names resolve through jax

    return str(jnp.dtype(name))


class DTypePolicy:
    """A layer's dtype policy: ``DTypePolicy("float32")``, ``DTypePolicy("mixed_bfloat16")``...

    >>> DTypePolicy("mixed_float16").compute_dtype
    'float16'
    """

    def __init__(self, name: str | None = None) -> None:
        if name is None:
            name = dtype_policy().name
        if not isinstance(name, str):
            raise TypeError(f"'name' must be a string, such as 'mixed_float16'. Received: name={name} (of type "
                            f"{type(name)})")
        self._name = name
        self._compute_dtype, self._variable_dtype = self._parse_name(name)
        self._quantization_mode: str | None = None

    @staticmethod
    def _parse_name(name: str) -> tuple[str, str]:
        if name in _MIXED:
            return _MIXED[name]
        try:
            dtype = _standardize(name)
        except TypeError:
            raise ValueError(f"Cannot convert '{name}' to a mixed precision DTypePolicy. Valid policies include "
                             "'mixed_float16', 'mixed_bfloat16', and the name of any float dtype such as "
                             "'float32'.") from None
        return dtype, dtype

    @property
    def name(self) -> str:
        return self._name

    @property
    def compute_dtype(self) -> str:
        """The dtype of the layer's computations (and of its outputs)."""
        return self._compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype the layer creates its weights in."""
        return self._variable_dtype

    @property
    def quantization_mode(self) -> str | None:
        return self._quantization_mode

    def convert_input(self, x: Any, autocast: bool, dtype: str) -> Any:
        """Cast a floating array ``x`` to ``dtype`` when ``autocast``; other inputs pass unchanged."""
        x_dtype = getattr(x, "dtype", None)
        if autocast and x_dtype is not None and _is_float(x_dtype) and str(x_dtype) != dtype:
            import jax.numpy as jnp

            return jnp.asarray(x).astype(dtype)
        return x

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DTypePolicy:
        return cls(**config)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DTypePolicy) and type(other) in (DTypePolicy, FloatDTypePolicy) \
            and self._name == other._name

    def __hash__(self) -> int:
        return hash(self._name)


class FloatDTypePolicy(DTypePolicy):
    """An alias of :class:`DTypePolicy` (Keras keeps it for old files)."""


def _is_float(dtype: Any) -> bool:
    name = str(dtype)
    return name.startswith("float") or name == "bfloat16"


_CLASSES = {"DTypePolicy": DTypePolicy, "FloatDTypePolicy": FloatDTypePolicy}


def serialize(policy: DTypePolicy) -> dict[str, Any]:
    """Keras's serialized form ``{"module": "keras", "class_name": "DTypePolicy", "config": {"name": ...}}``."""
    return {"module": "keras", "class_name": type(policy).__name__ if type(policy).__name__ in _CLASSES
            else "DTypePolicy", "config": policy.get_config(), "registered_name": None}


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> DTypePolicy:
    """Inverse of :func:`serialize` (also accepts a bare policy name).

    >>> deserialize({"class_name": "DTypePolicy", "config": {"name": "float16"}}).compute_dtype
    'float16'
    """
    if isinstance(config, str):
        return get(config)
    name = config.get("class_name")
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        raise ValueError(f"Unknown dtype policy class {name!r}; lamina knows {sorted(_CLASSES)}.")
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier: Any) -> DTypePolicy:
    """A policy from None (the global policy), a name, a dtype, a serialized dict or a policy.

    >>> get(None).name, get("float16").name
    ('float32', 'float16')
    """
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return DTypePolicy(identifier)
    try:
        return DTypePolicy(_standardize(str(np.dtype(identifier)) if not hasattr(identifier, "name")
                                        else identifier.name))
    except (TypeError, ValueError):
        raise ValueError(f"Cannot interpret `dtype` argument. Expected a string or an instance of DTypePolicy. "
                         f"Received: dtype={identifier}") from None


def dtype_policy() -> DTypePolicy:
    """The global policy layers get when built without ``dtype`` (``float32`` = ``floatx()`` by default)."""
    if _GLOBAL[0] is None:
        from lamina import backend

        return DTypePolicy(backend.floatx())
    return _GLOBAL[0]


def set_dtype_policy(policy: Any) -> None:
    """Set the global policy: ``set_dtype_policy("mixed_bfloat16")`` makes new layers compute in bfloat16.

    >>> set_dtype_policy("mixed_bfloat16"); dtype_policy().name
    'mixed_bfloat16'
    >>> set_dtype_policy("float32")
    """
    if isinstance(policy, str) or policy is None:
        policy = DTypePolicy(policy) if policy is not None else None
    elif not isinstance(policy, DTypePolicy):
        raise ValueError("Invalid `policy` argument. Expected the string name of a policy (such as "
                         f"'mixed_float16') or a `DTypePolicy` instance. Received: policy={policy} (of type "
                         f"{type(policy)})")
    _GLOBAL[0] = policy
