"""How many of Keras 3's public ``keras.layers`` names lamina has (generated from ``dir(keras.layers)``).

The walk takes every public name of ``keras.layers`` (175 in Keras 3.15: 163 layer classes, ``Input``,
``InputSpec``, the eight merge functions, ``serialize`` and ``deserialize``), checks lamina.layers has it (a
layer class where Keras has one), and prints each missing name with its reason from ``MISSING_REASONS``.
"""

import inspect
import os

os.environ["KERAS_BACKEND"] = "jax"

import keras
import pytest

from lamina import layers

REQUIRED = 160  # issue 16: at least 160 of Keras 3's public layer names

_IMAGE = "image augmentation/preprocessing layer: built on branch aug (helper aug), not on this branch"
# Why a Keras name is (or may be) missing in lamina. Names that exist are not printed; an entry stays here until
# its layer lands so the table reads the same on every branch.
MISSING_REASONS: dict[str, str] = {
    **{name: _IMAGE for name in (
        "AugMix", "AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization", "CutMix", "Equalization", "MixUp",
        "RandAugment", "RandomColorDegeneration", "RandomColorJitter", "RandomElasticTransform", "RandomErasing",
        "RandomGaussianBlur", "RandomHue", "RandomInvert", "RandomPerspective", "RandomPosterization",
        "RandomSaturation", "RandomSharpness", "RandomShear", "Solarization")},
}


def keras_names() -> list[str]:
    return sorted(n for n in dir(keras.layers) if not n.startswith("_"))


def _is_layer_class(obj: object, base: type) -> bool:
    return inspect.isclass(obj) and issubclass(obj, base)


def present_and_missing() -> tuple[list[str], list[str]]:
    present, missing = [], []
    for name in keras_names():
        theirs, ours = getattr(keras.layers, name), getattr(layers, name, None)
        if ours is None:
            missing.append(name)
        elif _is_layer_class(theirs, keras.layers.Layer) and not _is_layer_class(ours, layers.Layer):
            missing.append(name)  # present under the name but not a layer class
        else:
            present.append(name)
    return present, missing


PRESENT, MISSING = present_and_missing()


def test_report_missing_names_each_with_a_reason(capsys: pytest.CaptureFixture[str]) -> None:
    total = len(keras_names())
    lines = [f"lamina.layers has {len(PRESENT)} of keras.layers' {total} public names; missing {len(MISSING)}:"]
    lines += [f"  {name}: {MISSING_REASONS.get(name, 'NO REASON GIVEN')}" for name in MISSING]
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert total >= 170, f"keras.layers has only {total} public names: is this Keras 3?"
    unexplained = [n for n in MISSING if n not in MISSING_REASONS]
    assert not unexplained, f"missing without a reason in MISSING_REASONS: {unexplained}"


def test_present_layer_classes_are_lamina_layers() -> None:
    for name in PRESENT:
        if _is_layer_class(getattr(keras.layers, name), keras.layers.Layer):
            assert _is_layer_class(getattr(layers, name), layers.Layer), name


def test_at_least_160_of_keras_layer_names_exist() -> None:
    assert len(PRESENT) >= REQUIRED, f"{len(PRESENT)} of {len(keras_names())}; missing {MISSING}"
