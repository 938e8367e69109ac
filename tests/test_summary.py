"""The classic (Keras 2.3-2.6) summary, checked against text written by hand from the format spec.

Spec (keras_facts.md 3.2): sequential-like models use width 65 and columns at [29, 55, 65]; functional
graphs that branch use width 98, columns at [32, 53, 65, 98] and a ``Connected to`` column with one extra
row per further inbound tensor. Every table row is padded to the full width; footers are not.
"""

from __future__ import annotations

import pytest

from lamina import Model, Sequential, layers


def capture(model, **kwargs):
    lines: list[str] = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines


def table(width, rows):
    """Rows padded to ``width`` (the spec pads every table row); ``"_"``/``"="`` make separator lines."""
    out = []
    for row in rows:
        out.append(row * width if row in ("_", "=") else row.ljust(width))
    return out


FOOTER_9 = ["Total params: 9", "Trainable params: 9", "Non-trainable params: 0"]


def two_inputs():
    a, b = layers.Input((4,), name="input_1"), layers.Input((4,), name="input_2")
    merged = layers.Concatenate(name="concatenate")([a, b])
    return Model([a, b], layers.Dense(1, name="dense")(merged), name="model")


def test_branching_functional_summary_matches_spec_example():
    expected = ['Model: "model"'] + table(98, [
        "_",
        "Layer (type)                    Output Shape         Param #     Connected to",
        "=",
        "input_1 (InputLayer)            (None, 4)            0",
        "_",
        "input_2 (InputLayer)            (None, 4)            0",
        "_",
        "concatenate (Concatenate)       (None, 8)            0           input_1[0][0]",
        "                                                                 input_2[0][0]",
        "_",
        "dense (Dense)                   (None, 1)            9           concatenate[0][0]",
        "=",
    ]) + FOOTER_9 + ["_" * 98]
    assert capture(two_inputs()) == expected


def test_shared_layer_rows_truncation_and_node_indices():
    x = layers.Input((3,), name="x")
    shared = layers.Dense(3, name="a_shared_layer_with_a_long_name_x")  # 33 characters
    y = shared(shared(x))
    z = layers.Dense(2, name="d2")(shared(layers.Reshape((1, 3), name="r")(x)))
    model = Model(x, [y, z], name="shared")
    expected = ['Model: "shared"'] + table(98, [
        "_",
        "Layer (type)                    Output Shape         Param #     Connected to",
        "=",
        "x (InputLayer)                  (None, 3)            0",
        "_",
        # the name cell is cut to 31 characters plus the forced space; shapes differ between calls
        "a_shared_layer_with_a_long_name multiple             12          x[0][0]",
        "                                                                 a_shared_layer_with_a_long_name_x",
        "                                                                 r[0][0]",
        "_",
        "r (Reshape)                     (None, 1, 3)         0           x[0][0]",
        "_",
        "d2 (Dense)                      (None, 1, 2)         8           a_shared_layer_with_a_long_name_x",
        "=",
    ]) + ["Total params: 20", "Trainable params: 20", "Non-trainable params: 0", "_" * 98]
    assert capture(model) == expected


def test_shared_layer_with_one_output_shape_shows_it():
    x = layers.Input((5,), name="x")
    square = layers.Dense(5, name="sq")
    model = Model(x, square(square(x)), name="m")
    lines = capture(model)
    assert lines[6] == "sq (Dense)                      (None, 5)            30          x[0][0]".ljust(98)
    assert lines[7] == "                                                                 sq[0][0]".ljust(98)


def test_linear_functional_uses_sequential_layout():
    x = layers.Input((28, 28), name="input_1")
    h = layers.Flatten(name="flatten")(x)
    model = Model(x, layers.Dense(10, name="dense")(h), name="model")
    expected = ['Model: "model"'] + table(65, [
        "_",
        "Layer (type)                 Output Shape              Param #",
        "=",
        "input_1 (InputLayer)         (None, 28, 28)            0",
        "_",
        "flatten (Flatten)            (None, 784)               0",
        "_",
        "dense (Dense)                (None, 10)                7850",
        "=",
    ]) + ["Total params: 7,850", "Trainable params: 7,850", "Non-trainable params: 0", "_" * 65]
    assert capture(model) == expected


def test_line_length_and_positions():
    lines = capture(two_inputs(), line_length=70, positions=[20, 40, 50, 70])
    header = "Layer (type)        Output Shape        Param #   Connected to".ljust(70)
    assert lines[1:4] == ["_" * 70, header, "=" * 70]
    assert lines[8] == "concatenate (Concat (None, 8)           0         input_1[0][0]".ljust(70)
    # fractions are scaled by line_length
    lines = capture(two_inputs(), line_length=100, positions=[0.3, 0.5, 0.6, 1.0])
    assert lines[2] == "Layer (type)                  Output Shape        Param #   Connected to".ljust(100)


def test_show_trainable_adds_a_column():
    model = Sequential([layers.Input((3,)), layers.Dense(2, name="a"), layers.Dense(1, name="b")], name="s")
    model.layers[0].trainable = False
    expected = ['Model: "s"'] + table(76, [
        "_",
        "Layer (type)                 Output Shape              Param #   Trainable",
        "=",
        "a (Dense)                    (None, 2)                 8         N",
        "_",
        "b (Dense)                    (None, 1)                 3         Y",
        "=",
    ]) + ["Total params: 11", "Trainable params: 3", "Non-trainable params: 8", "_" * 76]
    assert capture(model, show_trainable=True) == expected


def test_expand_nested():
    inner = Sequential([layers.Dense(4, name="i1"), layers.Dense(2, name="i2")], name="inner")
    x = layers.Input((3,), name="x")
    model = Model(x, inner(layers.Dense(3, name="h")(x)), name="outer")
    expected = ['Model: "outer"'] + table(65, [
        "_",
        "Layer (type)                 Output Shape              Param #",
        "=",
        "x (InputLayer)               (None, 3)                 0",
        "_",
        "h (Dense)                    (None, 3)                 12",
        "_",
        "inner (Sequential)           (None, 2)                 26",
    ]) + ["|" + "¯" * 63 + "|"] + table(65, [
        "| i1 (Dense)                 (None, 4)                 16",
        "| i2 (Dense)                 (None, 2)                 10",
    ]) + ["¯" * 65, "=" * 65, "Total params: 38", "Trainable params: 38", "Non-trainable params: 0", "_" * 65]
    assert capture(model, expand_nested=True) == expected
    assert "| i1 (Dense)" not in "\n".join(capture(model))


def test_print_fn_receives_each_line_and_default_prints(capsys):
    model = Sequential([layers.Dense(2, input_shape=(3,), name="d")], name="s")
    lines = capture(model)
    model.summary()
    assert capsys.readouterr().out == "\n".join(lines) + "\n"


def test_summary_of_unbuilt_sequential_says_how_to_build():
    model = Sequential([layers.Dense(2, name="d")], name="s")
    with pytest.raises(ValueError) as err:
        model.summary()
    msg = str(err.value)
    assert "'s'" in msg and "not yet been built" in msg and "model.build(input_shape=" in msg
    assert "input_shape=" in msg
