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

import re
from collections.abc import MutableMapping
from typing import Any

import numpy as np

__all__ = ["DTypePolicy", "FloatDTypePolicy", "QuantizedDTypePolicy", "QuantizedFloat8DTypePolicy", "Int4DTypePolicy",
           "GPTQDTypePolicy", "AWQDTypePolicy", "DTypePolicyMap", "get", "serialize", "deserialize", "dtype_policy",
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
        if type(self) in (DTypePolicy, FloatDTypePolicy):
            if type(other) not in (DTypePolicy, FloatDTypePolicy):
                return False
        elif type(other) is not type(self):
            return False
        return self._name == other._name  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._name)


class FloatDTypePolicy(DTypePolicy):
    """An alias of :class:`DTypePolicy` (Keras keeps it for old files)."""


def _is_float(dtype: Any) -> bool:
    name = str(dtype)
    return name.startswith("float") or name == "bfloat16"


# ------------------------------------------------------------------------------------ quantized policies
QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")


class QuantizedDTypePolicy(DTypePolicy):
    """The policy of a quantized layer: ``mode`` (``"int8"``, ``"int4"``, ``"float8"``...) over the ``source_name``
    policy's dtypes, named ``"<mode>_from_<source>"``.

    lamina reads, checks and writes these policies as Keras does (files of quantized models name them); its
    layers compute in the source policy's dtypes (lamina has no quantized kernels yet).

    >>> policy = QuantizedDTypePolicy("int8", "mixed_bfloat16")
    >>> policy.name, policy.compute_dtype, policy.quantization_mode
    ('int8_from_mixed_bfloat16', 'bfloat16', 'int8')
    """

    _keras_module = "keras.dtype_policies"

    def __init__(self, mode: str, source_name: str | None = None) -> None:
        if source_name is None:
            source_name = dtype_policy().name
        self._compute_dtype, self._variable_dtype = self._parse_name(source_name)
        if mode not in QUANTIZATION_MODES:
            raise ValueError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. Received: "
                             f"mode={mode}")
        if self._compute_dtype == "float16" and mode == "int8":
            raise ValueError(f"Quantization mode='{mode}' doesn't work well with compute_dtype='float16'.")
        self._name = f"{mode}_from_{source_name}"
        self._source_name = source_name
        self._quantization_mode = mode

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and self._quantization_mode == other._quantization_mode \
            and self._source_name == other._source_name  # type: ignore[attr-defined]

    __hash__ = DTypePolicy.__hash__

    def get_config(self) -> dict[str, Any]:
        return {"mode": self._quantization_mode, "source_name": self._source_name}

    def __repr__(self) -> str:
        return f'<{type(self).__name__} "{self._name}">'


class QuantizedFloat8DTypePolicy(QuantizedDTypePolicy):
    """Float8 training: the scales come from the last ``amax_history_length`` absolute maxima.

    >>> QuantizedFloat8DTypePolicy("float8", "float32").amax_history_length
    1024
    """

    default_amax_history_length = 1024

    def __init__(self, mode: str, source_name: str | None = None, amax_history_length: int = 1024) -> None:
        super().__init__(mode=mode, source_name=source_name)
        if not isinstance(amax_history_length, int):
            raise TypeError("`amax_history_length` must be an integer. Received: "
                            f"amax_history_length={amax_history_length}")
        self._amax_history_length = amax_history_length

    @property
    def amax_history_length(self) -> int:
        return self._amax_history_length

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and self._amax_history_length == other._amax_history_length  # type: ignore

    __hash__ = DTypePolicy.__hash__

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "amax_history_length": self.amax_history_length}


def _mode_parts(cls_name: str, mode: str, algorithm: str, fields: tuple[str, ...]) -> list[int]:
    parts = mode.split("/")
    expected = "'" + "/".join([algorithm] + [f"<{f}>" for f in fields]) + "'"
    if len(parts) != len(fields) + 1 or parts[0] != algorithm:
        raise ValueError(f"Invalid mode for {cls_name}. Expected format {expected}, but got '{mode}'.")
    try:
        return [int(p) for p in parts[1:]]
    except ValueError:
        names = " and ".join(f"<{f}>" for f in fields)
        verb = "must be integers" if len(fields) > 1 else "must be an integer"
        raise ValueError(f"Invalid mode for {cls_name}. {names} {verb}. Expected format {expected}, but got "
                         f"'{mode}'.") from None


def _check_group(value: int, mode: str, what: str, field: str = "group_size") -> None:
    if value < -1 or value == 0:
        raise ValueError(f"Invalid {field} in mode. Supported values are -1 ({what}) or a positive integer"
                         f"{' (sub-channel)' if field == 'block_size' else ''}, but got {value} from '{mode}'.")


class Int4DTypePolicy(QuantizedDTypePolicy):
    """Int4 weights in groups of ``block_size`` rows: ``mode="int4/<block_size>"`` (``-1``: per channel).

    >>> Int4DTypePolicy("int4/128", "float32").block_size
    128
    """

    def __init__(self, mode: str, source_name: str | None = None) -> None:
        (block_size,) = _mode_parts("Int4DTypePolicy", mode, "int4", ("block_size",))
        _check_group(block_size, mode, "per-channel", "block_size")
        super().__init__(mode="int4", source_name=source_name)
        self._name = f"{mode}_from_{source_name}"
        self.mode = "int4"
        self.block_size = block_size

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and self.block_size == other.block_size  # type: ignore[attr-defined]

    __hash__ = DTypePolicy.__hash__

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": f"{self.mode}/{self.block_size}"}


class _BitsGroupPolicy(QuantizedDTypePolicy):
    _algorithm = ""
    _group_meaning = ""

    def _check_bits(self, bits: int, mode: str) -> None:
        raise NotImplementedError

    def __init__(self, mode: str, source_name: str | None = None) -> None:
        name = type(self).__name__
        bits, group = _mode_parts(name, mode, self._algorithm, ("weight_bits", "group_size"))
        self._check_bits(bits, mode)
        _check_group(group, mode, self._group_meaning)
        super().__init__(mode=self._algorithm, source_name=source_name)
        self._name = f"{mode}_from_{source_name}"
        self.mode = self._algorithm
        self.weight_bits = bits
        self.group_size = group

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and self.weight_bits == other.weight_bits \
            and self.group_size == other.group_size  # type: ignore[attr-defined]

    __hash__ = DTypePolicy.__hash__

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": f"{self.mode}/{self.weight_bits}/{self.group_size}"}


class GPTQDTypePolicy(_BitsGroupPolicy):
    """A GPTQ-quantized layer's policy: ``mode="gptq/<weight_bits>/<group_size>"`` (bits 2, 3, 4 or 8).

    >>> GPTQDTypePolicy("gptq/4/128", "float32").weight_bits
    4
    """

    _algorithm, _group_meaning = "gptq", "whole-tensor"

    def _check_bits(self, bits: int, mode: str) -> None:
        if bits not in (2, 3, 4, 8):
            raise ValueError(f"Invalid weight_bits in mode. Supported values are 2, 3, 4, and 8, but got {bits} "
                             f"from '{mode}'.")


class AWQDTypePolicy(_BitsGroupPolicy):
    """An AWQ-quantized layer's policy: ``mode="awq/4/<group_size>"``.

    >>> AWQDTypePolicy("awq/4/64", "float32").group_size
    64
    """

    _algorithm, _group_meaning = "awq", "per-channel"

    def _check_bits(self, bits: int, mode: str) -> None:
        if bits != 4:
            raise ValueError(f"Invalid weight_bits in mode. AWQ only supports 4-bit quantization, but got {bits} "
                             f"from '{mode}'.")


def quantized_policy_from_name(policy: str) -> QuantizedDTypePolicy:
    """The policy a name such as ``"int8_from_float32"`` or ``"gptq/4/128_from_bfloat16"`` stands for."""
    if not policy.startswith(QUANTIZATION_MODES):
        raise ValueError("`policy` is incompatible with the current supported quantization.")
    parts = policy.split("_from_")
    if len(parts) != 2:
        raise ValueError("Cannot convert `policy` into a valid pair (`mode`, `source_name`) to instantiate "
                         f"`QuantizedDTypePolicy`. Received: policy={policy}")
    mode, source = parts
    if mode.startswith("int4") and "/" in mode:
        return Int4DTypePolicy(mode, source)
    if mode.startswith("gptq"):
        return GPTQDTypePolicy(mode, source)
    if mode.startswith("awq"):
        return AWQDTypePolicy(mode, source)
    if mode.startswith("float8"):
        return QuantizedFloat8DTypePolicy(mode, source)
    return QuantizedDTypePolicy(mode, source)


class DTypePolicyMap(DTypePolicy, MutableMapping):
    """Layer paths (or regular expressions over them) mapped to policies, with a default for the rest.

    >>> policies = DTypePolicyMap(default_policy="float32")
    >>> policies["encoder/.*"] = "bfloat16"
    >>> policies["encoder/dense"].name, policies["decoder"].name
    ('bfloat16', 'float32')
    """

    _keras_module = "keras.dtype_policies"

    def __init__(self, default_policy: Any = None, policy_map: dict[str, Any] | None = None) -> None:
        if isinstance(default_policy, DTypePolicyMap):
            raise ValueError("`default_policy` cannot be a `DTypePolicyMap`.")
        if policy_map is not None and not isinstance(policy_map, dict):
            raise TypeError(f"If specified, `policy_map` must be a dict. Received: policy_map={policy_map} of type "
                            f"{type(policy_map)}")
        self._default_policy_arg = default_policy
        self._default_policy = get(default_policy)
        self._policy_map: dict[str, DTypePolicy] = policy_map or {}

    @property
    def name(self) -> str:
        return f"map_{self.default_policy._name}"

    @property
    def default_policy(self) -> DTypePolicy:
        return get(self._default_policy)

    @property
    def variable_dtype(self) -> str:
        return self.default_policy.variable_dtype

    @property
    def compute_dtype(self) -> str:
        return self.default_policy.compute_dtype

    @property
    def quantization_mode(self) -> str | None:
        return self.default_policy.quantization_mode

    def __getitem__(self, key: str) -> DTypePolicy:
        """The policy of path ``key``: an exact key, else the one key matching it as a regex, else the default."""
        if key in self._policy_map:
            return self._policy_map[key]
        matches = [pattern for pattern in self._policy_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(f"Path '{key}' matches multiple dtype policy specification keys: {matches}. Please "
                             "make sure each path only matches at most one dtype policy specification key in the "
                             "DTypePolicyMap.")
        return self._policy_map[matches[0]] if matches else self.default_policy

    def __setitem__(self, key: str, policy: Any) -> None:
        if key in self._policy_map:
            raise ValueError(f"{key} already exist in the DTypePolicyMap with value {self._policy_map[key]}. Please "
                             "make sure to not use duplicated keys.")
        try:
            policy = get(policy)
        except Exception:
            raise ValueError("Cannot interpret the assigned value by `keras.dtype_policies.get`. Received: "
                             f"{policy} of type {type(policy)}") from None
        self._policy_map[key] = policy

    def __delitem__(self, key: str) -> None:
        self._policy_map.pop(key)

    def __contains__(self, key: object) -> bool:
        return key in self._policy_map

    def __len__(self) -> int:
        return len(self._policy_map)

    def __iter__(self) -> Any:
        return iter(self._policy_map)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DTypePolicyMap) and self.default_policy == other.default_policy \
            and self._policy_map == other._policy_map

    __hash__ = None  # type: ignore[assignment]

    def get_config(self) -> dict[str, Any]:
        from lamina.saving.serialization_lib import serialize_keras_object  # inside: saving sits above

        return {"default_policy": self._default_policy_arg,
                "policy_map": {k: serialize_keras_object(v) for k, v in self._policy_map.items()}}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> DTypePolicyMap:
        policy_map = {k: deserialize(v, custom_objects) for k, v in (config.get("policy_map") or {}).items()}
        return cls(default_policy=config.get("default_policy"), policy_map=policy_map)

    def __repr__(self) -> str:
        mapping = [(k, v.name) for k, v in self._policy_map.items()]
        return f"<DTypePolicyMap default_policy={self._default_policy.name}, mapping={mapping}>"


_CLASSES = {c.__name__: c for c in (DTypePolicy, FloatDTypePolicy, QuantizedDTypePolicy, QuantizedFloat8DTypePolicy,
                                    Int4DTypePolicy, GPTQDTypePolicy, AWQDTypePolicy, DTypePolicyMap)}


def serialize(policy: DTypePolicy) -> dict[str, Any]:
    """Keras's serialized form ``{"module": "keras", "class_name": "DTypePolicy", "config": {"name": ...}}``."""
    return {"module": getattr(type(policy), "_keras_module", "keras"), "class_name": type(policy).__name__
            if type(policy).__name__ in _CLASSES else "DTypePolicy", "config": policy.get_config(),
            "registered_name": None}


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
        if identifier.startswith(QUANTIZATION_MODES):
            return quantized_policy_from_name(identifier)
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
        policy = get(policy) if policy is not None else None
    elif not isinstance(policy, DTypePolicy):
        raise ValueError("Invalid `policy` argument. Expected the string name of a policy (such as "
                         f"'mixed_float16') or a `DTypePolicy` instance. Received: policy={policy} (of type "
                         f"{type(policy)})")
    _GLOBAL[0] = policy
