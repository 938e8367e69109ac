"""A large train step (keras-io's EANet shape, shrunk) compiles once, with XLA's default options, and lowers to
an HLO module of about Keras's size: the checks that keep its first step near Keras's compile time without
timing anything (XLA's older loop emitters took EANet's first step from ~25 s to 333 s)."""

import numpy as np
import pytest

from lamina import layers, losses, models, ops, optimizers, utils
from lamina.training import speed


def _attention_block(x, layers_mod, ops_mod, dim=16, heads=4):
    residual = x
    x = layers_mod.LayerNormalization(epsilon=1e-5)(x)
    x = layers_mod.Dense(dim * 4)(x)
    x = ops_mod.transpose(ops_mod.reshape(x, (-1, x.shape[1], heads * 4, dim // heads)), (0, 2, 1, 3))
    attn = layers_mod.Softmax(axis=2)(layers_mod.Dense(dim // 4)(x))
    attn = layers_mod.Dropout(0.2)(attn)
    x = ops_mod.transpose(layers_mod.Dense(dim // heads)(attn), (0, 2, 1, 3))
    x = layers_mod.Dense(dim)(ops_mod.reshape(x, (-1, x.shape[1], dim * 4)))
    x = layers_mod.add([layers_mod.Dropout(0.2)(x), residual])
    return layers_mod.add([layers_mod.Dense(dim)(layers_mod.Dense(dim, activation="gelu")(x)), x])


def _eanet_like(keras_mod, blocks=2):
    layers_mod, ops_mod = keras_mod.layers, keras_mod.ops
    inputs = layers_mod.Input((8, 8, 3))
    x = layers_mod.Dense(16)(layers_mod.Reshape((16, 12))(
        layers_mod.Lambda(lambda t: ops_mod.image.extract_patches(t, 2))(inputs)))
    for _ in range(blocks):
        x = _attention_block(x, layers_mod, ops_mod)
    outputs = layers_mod.Dense(10, activation="softmax")(layers_mod.GlobalAveragePooling1D()(x))
    model = keras_mod.Model(inputs, outputs)
    model.compile(loss=keras_mod.losses.CategoricalCrossentropy(label_smoothing=0.1),
                  optimizer=keras_mod.optimizers.AdamW(1e-3, weight_decay=1e-4), metrics=["accuracy"])
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 8, 8, 3)).astype("float32"), np.eye(10, dtype="float32")[np.arange(64) % 10]


class _Lamina:
    layers, ops, losses, optimizers, Model = layers, ops, losses, optimizers, models.Model


@pytest.mark.slow
def test_a_large_step_is_traced_once_and_compiled_with_xla_defaults(monkeypatch):
    from lamina.training import loop

    asked = []
    original = loop.short_lived_compile_options
    monkeypatch.setattr(loop, "short_lived_compile_options", lambda: asked.append(1) or original())
    utils.set_random_seed(1)
    model = _eanet_like(_Lamina)
    assert not speed.short_lived_options_fit(model)
    x, y = _data()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert asked == []  # no older loop emitters for a large step
    train_fns = {key[2:]: fn for key, fn in model._jit_cache.items() if key[0] == "train"}
    assert sorted(train_fns) == [(False, False), (True, True)]
    assert all(fn._cache_size() == 1 for fn in train_fns.values())  # each traced once over two epochs


def test_small_models_keep_the_short_lived_options():
    model = models.Sequential([layers.Input((6,)), layers.Dense(16, activation="relu"), layers.Dropout(0.2),
                               layers.Dense(3, activation="softmax")])
    assert speed.short_lived_options_fit(model)


def _hlo_lines(lowered):
    return lowered.as_text().count("\n")


@pytest.mark.slow
def test_the_train_step_lowers_to_about_keras_size():
    import jax
    import keras

    x, y = _data()
    theirs = _eanet_like(keras)
    theirs.optimizer.build(theirs.trainable_variables)
    theirs.make_train_function()
    state = (theirs.trainable_variables, theirs.non_trainable_variables, theirs.optimizer.variables,
             theirs.metrics_variables)
    state = jax.tree_util.tree_map(lambda v: v.value, state, is_leaf=lambda v: hasattr(v, "value"))
    keras_fn = jax.jit(theirs.train_step)
    keras_lines = _hlo_lines(keras_fn.lower(state, (x[:16], y[:16])))

    utils.set_random_seed(1)
    ours = _eanet_like(_Lamina)
    ours.fit(x, y, batch_size=16, epochs=1, verbose=0)
    from lamina.training import loop

    single = loop.train_fn(ours, False, False)
    order, seeds = np.arange(64, dtype=np.int32), np.zeros(2, np.uint32)
    lowered = single.lower(ours._read_state(fresh_metrics=True), x, y, None, order, np.int32(0), seeds, size=16)
    lamina_lines = _hlo_lines(lowered)
    assert 0.5 * keras_lines < lamina_lines < 1.5 * keras_lines, (lamina_lines, keras_lines)
