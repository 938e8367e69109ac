"""FeatureSpace against Keras: Keras's own FeatureSpace needs TensorFlow (absent here), so the cases and expected
sizes are those of Keras's test suite (``feature_space_test.py``), and the numeric encodings are checked against
Keras's preprocessing layers on the same data."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

from lamina.utils import FeatureSpace

keras = pytest.importorskip("keras")


def _data(include_strings=True):
    data = {f"float_{i}": np.arange(10, dtype="float32") / 10 for i in (1, 2, 3)}
    data.update({f"int_{i}": np.arange(10) for i in (1, 2, 3)})
    if include_strings:
        data.update({f"string_{i}": np.array([str(i) for i in range(10)]) for i in (1, 2)})
    return data


NUMERIC = {"float_1": "float", "float_2": "float_normalized", "float_3": "float_discretized",
           "int_1": "integer_categorical", "int_2": "integer_hashed", "int_3": "integer_categorical"}
ALL = {**NUMERIC, "string_1": "string_categorical", "string_2": "string_hashed"}


@pytest.mark.parametrize("features,crosses,strings,size", [
    (NUMERIC, [("int_1", "int_2"), ("int_2", "int_3")], False, 152),
    (ALL, [("float_3", "string_1"), ("string_2", "int_2")], True, 195),
])
def test_concat_sizes_as_keras_tests(features, crosses, strings, size):
    space = FeatureSpace(features=features, crosses=crosses, output_mode="concat")
    space.adapt(_data(strings))
    one = space({k: v[0] for k, v in _data(strings).items()})
    assert one.shape == (size,)
    assert space(_data(strings)).shape == (10, size)
    batches = [{k: v[i:i + 4] for k, v in _data(strings).items()} for i in range(0, 10, 4)]
    space.adapt(batches)  # an iterable of batches, as a batched dataset
    assert space(_data(strings)).shape == (10, size)


def test_dict_outputs_as_keras_tests():
    space = FeatureSpace(features=ALL, crosses=[("float_3", "string_1"), ("string_2", "int_2")], output_mode="dict")
    space.adapt(_data())
    out = space({k: v[0] for k, v in _data().items()})
    assert len(out) == 10 and out["string_1"].shape == (11,) and out["int_2"].shape == (32,)
    assert out["string_2_X_int_2"].shape == (32,)
    out = space(_data())
    assert out["string_1"].shape == (10, 11) and out["string_2_X_int_2"].shape == (10, 32)


def test_int_outputs_and_advanced_sizes_as_keras_tests():
    cls = FeatureSpace
    space = FeatureSpace(features={
        "float_1": cls.float(), "float_2": cls.float_normalized(), "float_3": cls.float_discretized(num_bins=3),
        "string_1": cls.string_categorical(max_tokens=5), "string_2": cls.string_hashed(num_bins=32),
        "int_1": cls.integer_categorical(max_tokens=5, num_oov_indices=2), "int_2": cls.integer_hashed(num_bins=32),
        "int_3": cls.integer_categorical(max_tokens=5)},
        crosses=[cls.cross(("float_3", "string_1"), crossing_dim=32),
                 cls.cross(("string_2", "int_2"), crossing_dim=32)],
        output_mode="concat")
    space.adapt(_data())
    assert space({k: v[0] for k, v in _data().items()}).shape == (148,)
    ints = FeatureSpace(features={"int_1": cls.integer_categorical(output_mode="int"),
                                  "int_2": cls.integer_hashed(num_bins=32, output_mode="int")},
                        crosses=[cls.cross(("int_1", "int_2"), output_mode="int", crossing_dim=32)], output_mode="dict")
    ints.adapt(_data(False))
    out = ints({k: v[0] for k, v in _data(False).items()})
    assert out["int_2"].shape == (1,) and str(out["int_2"].dtype).startswith("int")
    assert out["int_1_X_int_2"].shape == (1,)


def test_numeric_encodings_match_keras_layers():
    data = _data(False)
    space = FeatureSpace(features={"float_2": "float_normalized", "float_3": "float_discretized"}, output_mode="dict")
    space.adapt(data)
    out = space(data)
    norm = keras.layers.Normalization(axis=-1)
    norm.adapt(data["float_2"][:, None])
    np.testing.assert_allclose(out["float_2"], np.asarray(norm(data["float_2"][:, None])), rtol=1e-5, atol=1e-6)
    # (Keras's Discretization.adapt needs TensorFlow: check the encoding's form and order instead)
    assert out["float_3"].shape == (10, 32) and (out["float_3"].sum(axis=1) == 1).all()
    bins = out["float_3"].argmax(axis=1)
    assert (np.diff(bins) >= 0).all() and bins[-1] > bins[0]


def test_errors_as_keras_tests():
    with pytest.raises(ValueError, match="cannot be None or empty"):
        FeatureSpace(features={})
    two = {"f1": "integer_categorical", "f2": "integer_categorical"}
    with pytest.raises(ValueError, match="`crossing_dim`"):
        FeatureSpace(features=two, crosses=[("f1", "f2")], crossing_dim=None)
    with pytest.raises(ValueError, match="should be present in "):
        FeatureSpace(features=two, crosses=[("f1", "unknown")], crossing_dim=32)
    with pytest.raises(ValueError, match="for argument `output_mode`"):
        FeatureSpace(features=two, output_mode="unknown")
    with pytest.raises(ValueError, match="You need to call `.adapt"):
        FeatureSpace(features=two)({"f1": [0], "f2": [0]})
    space = FeatureSpace(features={"f": "integer_categorical"}, output_mode="concat")
    space.adapt({"f": np.arange(3)})
    with pytest.raises(ValueError, match="only be called with a dict"):
        space([0])
    again = FeatureSpace.from_config(space.get_config())
    assert list(again.features) == ["f"] and again.output_mode == "concat"
