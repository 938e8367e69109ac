"""``lamina.utils`` names: coverage of ``keras.utils`` (with reasons for the missing ones), ``Config``, graph helpers,
data tuples and the lazy re-exports."""

from __future__ import annotations

import os
import types

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

from lamina import layers, utils  # noqa: E402

#: names of keras.utils that lamina leaves out, and why.
LEFT_OUT = {
    "FeatureSpace": "a structured-data preprocessing model built from many preprocessing layers; not written yet",
    "legacy": "the Keras 2 (tf.keras) serialization format; lamina reads it through saving.legacy_h5 only",
}
#: names that lamina.saving provides (the custom-object registry and serialization) once that work is merged.
FROM_SAVING = {"CustomObjectScope", "custom_object_scope", "deserialize_keras_object", "get_custom_objects",
               "get_registered_name", "get_registered_object", "register_keras_serializable",
               "serialize_keras_object"}


def test_keras_utils_coverage():
    names = [n for n in dir(keras.utils) if not n.startswith("_")]
    present = [n for n in names if hasattr(utils, n)]
    missing = sorted(set(names) - set(present))
    print(f"\nkeras.utils: {len(present)} of {len(names)} names in lamina.utils; missing: "
          + "; ".join(f"{n} ({LEFT_OUT.get(n, 'from lamina.saving' if n in FROM_SAVING else '?')})" for n in missing))
    assert set(missing) <= set(LEFT_OUT) | FROM_SAVING, missing
    assert len(present) >= len(names) - len(LEFT_OUT) - len(FROM_SAVING)


def test_lazy_names_resolve_and_unknown_names_fail():
    for name in utils.__all__:
        if name not in FROM_SAVING:
            assert not isinstance(getattr(utils, name), types.ModuleType), name
    with pytest.raises(AttributeError):
        utils.no_such_helper  # noqa: B018


def test_config_matches_keras():
    ours, theirs = utils.Config(a=1), keras.utils.Config(a=1)
    for c in (ours, theirs):
        c.b = 2
        c["c"] = [3]
    assert ours.as_dict() == theirs.as_dict() and ours.to_json() == theirs.to_json()
    assert list(ours.keys()) == list(theirs.keys()) and "b" in ours and len(ours) == 3
    ours.freeze()
    theirs.freeze()
    for c in (ours, theirs):
        with pytest.raises(ValueError, match="frozen"):
            c.d = 4
    with pytest.raises(AttributeError):
        ours.unknown  # noqa: B018


def test_get_source_inputs():
    a, b = layers.Input((3,)), layers.Input((3,))
    out = layers.Dense(2)(layers.Concatenate()([layers.Dense(3)(a), b]))
    assert utils.get_source_inputs(out) == [a, b]
    assert utils.get_source_inputs(a) == [a]
    with pytest.raises(ValueError, match="symbolic tensor"):
        utils.get_source_inputs(3)


@pytest.mark.parametrize("args", [(1,), (1, 2), (1, 2, 3), ((1, 2),), ([1, 2],)], ids=str)
def test_pack_and_unpack_match_keras(args):
    assert utils.pack_x_y_sample_weight(*args) == keras.utils.pack_x_y_sample_weight(*args)
    packed = keras.utils.pack_x_y_sample_weight(*args)
    assert utils.unpack_x_y_sample_weight(packed) == keras.utils.unpack_x_y_sample_weight(packed)
    with pytest.raises(ValueError, match="Data is expected"):
        utils.unpack_x_y_sample_weight((1, 2, 3, 4))


def test_model_to_dot_without_pydot_says_what_to_install():
    try:
        import pydot  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install pydot"):
            utils.model_to_dot(None)
    else:
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        assert utils.model_to_dot(model) is not None


def test_set_random_seed_and_clear_session():
    utils.set_random_seed(3)
    first = np.random.rand()
    utils.set_random_seed(3)
    assert np.random.rand() == first
    with pytest.raises(ValueError, match="integer"):
        utils.set_random_seed(1.5)
    utils.clear_session()
    assert layers.Dense(1).name == "dense"
