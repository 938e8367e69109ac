"""Quantized dtype policies and DTypePolicyMap against Keras's: names, dtypes, configs, equality, errors."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import pytest

from lamina import dtype_policies as ldp

keras = pytest.importorskip("keras")
kdp = keras.dtype_policies

NAMES = ["int8_from_float32", "int8_from_mixed_bfloat16", "int4_from_float32", "int4/128_from_float32",
         "int4/-1_from_bfloat16", "float8_from_mixed_bfloat16", "gptq/4/128_from_float32", "gptq/8/-1_from_float32",
         "awq/4/64_from_float32"]


@pytest.mark.parametrize("name", NAMES)
def test_policy_by_name_matches_keras(name):
    ours, theirs = ldp.get(name), kdp.get(name)
    assert type(ours).__name__ == type(theirs).__name__
    assert (ours.name, ours.compute_dtype, ours.variable_dtype, ours.quantization_mode) == \
        (theirs.name, theirs.compute_dtype, theirs.variable_dtype, theirs.quantization_mode)
    assert ours.get_config() == theirs.get_config()
    assert ldp.serialize(ours) == kdp.serialize(theirs)
    back = ldp.deserialize(kdp.serialize(theirs))
    assert back == ours and type(back) is type(ours)
    for attr in ("block_size", "weight_bits", "group_size", "amax_history_length"):
        assert getattr(ours, attr, None) == getattr(theirs, attr, None)


@pytest.mark.parametrize("cls,args", [
    ("QuantizedDTypePolicy", ("int8", "float32")),
    ("QuantizedFloat8DTypePolicy", ("float8", "float32", 16)),
    ("Int4DTypePolicy", ("int4/32", "mixed_float16")),
    ("GPTQDTypePolicy", ("gptq/3/16", "float32")),
    ("AWQDTypePolicy", ("awq/4/-1", "bfloat16")),
])
def test_constructors_and_equality_match_keras(cls, args):
    ours, theirs = getattr(ldp, cls)(*args), getattr(kdp, cls)(*args)
    assert ours.name == theirs.name and ours.get_config() == theirs.get_config()
    assert ours == getattr(ldp, cls)(*args)
    assert (ours == ldp.DTypePolicy(args[1])) == (theirs == kdp.DTypePolicy(args[1]))


BAD = [
    ("QuantizedDTypePolicy", ("int2", "float32")),
    ("QuantizedDTypePolicy", ("int8", "float16")),
    ("Int4DTypePolicy", ("int4", "float32")),
    ("Int4DTypePolicy", ("int4/x", "float32")),
    ("Int4DTypePolicy", ("int4/0", "float32")),
    ("GPTQDTypePolicy", ("gptq/5/128", "float32")),
    ("GPTQDTypePolicy", ("gptq/4/a", "float32")),
    ("GPTQDTypePolicy", ("gptq/4/-2", "float32")),
    ("AWQDTypePolicy", ("awq/8/128", "float32")),
    ("AWQDTypePolicy", ("gptq/4/128", "float32")),
]


@pytest.mark.parametrize("cls,args", BAD, ids=[f"{c}-{a[0]}" for c, a in BAD])
def test_invalid_modes_raise_keras_messages(cls, args):
    with pytest.raises(ValueError) as theirs:
        getattr(kdp, cls)(*args)
    with pytest.raises(ValueError) as ours:
        getattr(ldp, cls)(*args)
    assert str(ours.value) == str(theirs.value)


def test_float8_history_length_must_be_int():
    with pytest.raises(TypeError):
        ldp.QuantizedFloat8DTypePolicy("float8", "float32", 1.5)


def _fill(module):
    policy_map = module.DTypePolicyMap(default_policy="float32")
    policy_map["encoder/layer_0/dense"] = "bfloat16"
    policy_map["encoder/.*"] = module.DTypePolicy("float16")
    policy_map["decoder"] = "int8_from_float32"
    return policy_map


def test_policy_map_lookup_matches_keras():
    ours, theirs = _fill(ldp), _fill(kdp)
    for path in ("encoder/layer_0/dense", "encoder/attention/query", "decoder", "decoder/attention", "other"):
        assert ours[path].name == theirs[path].name, path
    assert (ours.name, ours.compute_dtype, ours.variable_dtype, ours.quantization_mode) == \
        (theirs.name, theirs.compute_dtype, theirs.variable_dtype, theirs.quantization_mode)
    assert len(ours) == len(theirs) == 3 and list(ours) == list(theirs)
    assert ("decoder" in ours) and ("decoder/x" not in ours)
    for module, policy_map in ((ldp, ours), (kdp, theirs)):
        policy_map["encoder/attention/.*"] = "bfloat16"
        with pytest.raises(ValueError, match="matches multiple"):
            policy_map["encoder/attention/query"]
        with pytest.raises(ValueError, match="already exist"):
            policy_map["decoder"] = "float32"
        del policy_map["encoder/attention/.*"]
        with pytest.raises(ValueError, match="cannot be a `DTypePolicyMap`"):
            module.DTypePolicyMap(default_policy=policy_map)
        with pytest.raises(TypeError, match="must be a dict"):
            module.DTypePolicyMap(policy_map=[1])


def test_policy_map_config_round_trips_with_keras():
    ours, theirs = _fill(ldp), _fill(kdp)
    assert ldp.serialize(ours) == kdp.serialize(theirs)
    from_keras = ldp.deserialize(kdp.serialize(theirs))
    assert isinstance(from_keras, ldp.DTypePolicyMap)
    assert {k: v.name for k, v in from_keras._policy_map.items()} == {k: v.name for k, v in ours._policy_map.items()}
    to_keras = kdp.deserialize(ldp.serialize(ours))
    assert to_keras["decoder"].name == "int8_from_float32"


def test_set_dtype_policy_accepts_quantized_name():
    try:
        ldp.set_dtype_policy("int8_from_float32")
        assert type(ldp.dtype_policy()).__name__ == "QuantizedDTypePolicy"
    finally:
        ldp.set_dtype_policy("float32")
