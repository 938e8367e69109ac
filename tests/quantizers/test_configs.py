"""Quantization configs against Keras's: same configs, modes, validation; files written by either read in the other."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import pytest

from lamina import quantizers as lq

keras = pytest.importorskip("keras")
kq = keras.quantizers

CASES = [
    ("Int8QuantizationConfig", (), {}),
    ("Int8QuantizationConfig", (), {"weight_quantizer": "absmax", "activation_quantizer": None}),
    ("Int4QuantizationConfig", (), {}),
    ("Int4QuantizationConfig", (), {"block_size": None, "weight_quantizer": "absmax4"}),
    ("Int4QuantizationConfig", (), {"block_size": -1}),
    ("Float8QuantizationConfig", (), {}),
    ("GPTQConfig", (None, None), {}),
    ("GPTQConfig", (None, None), {"weight_bits": 8, "group_size": -1, "symmetric": True, "activation_order": True}),
    ("AWQConfig", (None, None), {"num_grid_points": 5, "group_size": 64}),
]


def _resolve(module, kwargs):
    out = dict(kwargs)
    if out.get("weight_quantizer") == "absmax":
        out["weight_quantizer"] = module.AbsMaxQuantizer()
    if out.get("weight_quantizer") == "absmax4":
        out["weight_quantizer"] = module.AbsMaxQuantizer(value_range=(-8, 7))
    return out


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_config_matches_keras(name, args, kwargs):
    ours = getattr(lq, name)(*args, **_resolve(lq, kwargs))
    theirs = getattr(kq, name)(*args, **_resolve(kq, kwargs))
    assert ours.mode == theirs.mode
    assert ours.get_config() == theirs.get_config()
    assert lq.serialize(ours) == kq.serialize(theirs)
    back = lq.deserialize(kq.serialize(theirs)) if name not in ("GPTQConfig",) else \
        lq.GPTQConfig.from_config(theirs.get_config())
    assert type(back).__name__ == name and back.get_config() == theirs.get_config()
    if hasattr(theirs, "dtype_policy_string"):
        assert ours.dtype_policy_string() == theirs.dtype_policy_string()


BAD = [
    ("Int8QuantizationConfig", (), {"weight_quantizer": "int4q"}),
    ("Int4QuantizationConfig", (), {"block_size": 0}),
    ("Int4QuantizationConfig", (), {"block_size": 64, "weight_quantizer": "absmax4"}),
    ("Int4QuantizationConfig", (), {"block_size": None, "weight_quantizer": "absmax"}),
    ("GPTQConfig", (None, None), {"weight_bits": 5}),
    ("GPTQConfig", (None, None), {"hessian_damping": 2.0}),
    ("GPTQConfig", (None, None), {"group_size": 0}),
    ("AWQConfig", (None, None), {"weight_bits": 8}),
    ("AWQConfig", (None, None), {"num_grid_points": 0}),
]


@pytest.mark.parametrize("name,args,kwargs", BAD, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD)])
def test_invalid_config_raises_as_keras(name, args, kwargs):
    def resolve(module):
        out = _resolve(module, kwargs)
        if out.get("weight_quantizer") == "int4q":
            out["weight_quantizer"] = module.AbsMaxQuantizer(output_dtype="int4")
        return out

    with pytest.raises(ValueError) as theirs:
        getattr(kq, name)(*args, **resolve(kq))
    with pytest.raises(ValueError) as ours:
        getattr(lq, name)(*args, **resolve(lq))
    assert str(ours.value) == str(theirs.value)


def test_base_config_mode_is_abstract_as_keras():
    for module in (lq, kq):
        with pytest.raises(NotImplementedError):
            _ = module.QuantizationConfig().mode
