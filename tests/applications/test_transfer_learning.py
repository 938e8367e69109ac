"""The keras-io transfer-learning recipe ("Transfer learning & fine-tuning", cats vs dogs) run under lamina, on
PNG and JPEG images that ``utils.image_dataset_from_directory`` reads from a folder the test writes:

frozen pretrained base (here Keras-saved MobileNetV2 weights, loaded with ``weights=PATH``) called with
``training=False``, new head, ``fit``; then ``base.trainable = True``, recompile with a low learning rate, fine-tune.

What Keras 3 does, and lamina with it: a frozen (``trainable=False``) BatchNormalization runs in inference mode, so
the first phase leaves the base's kernels and moving statistics untouched. The guide's ``training=False`` does *not*
survive ``fit`` in Keras 3: a functional model passes its own ``training`` to every layer that takes one, overriding
the flag recorded when the graph was built (keras-team/keras#20285), so once the base is unfrozen its
BatchNormalization layers train and update their moving statistics. lamina follows Keras, as the test checks.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import lamina  # noqa: E402
from lamina import applications, layers, utils  # noqa: E402

SIZE = (32, 32)
PER_CLASS = 12


def _write_images(root) -> None:
    """Two classes told apart by colour (red-ish cats, blue-ish dogs), half PNG and half JPEG, mixed sizes."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, channel in (("cats", 0), ("dogs", 2)):
        folder = root / label
        folder.mkdir(parents=True)
        for i in range(PER_CLASS):
            h, w = (40, 36) if i % 3 else (28, 30)
            pixels = rng.integers(0, 90, (h, w, 3))
            pixels[..., channel] += 150
            ext = "png" if i % 2 else "jpg"
            Image.fromarray(pixels.astype("uint8")).save(folder / f"{label}.{i}.{ext}")
    (root / "notes.txt").write_text("not an image: ignored")


def _keras_saved_base(tmp_path) -> str:
    """A MobileNetV2 base's weights as Keras writes them (random here: nothing can be downloaded)."""
    import keras

    keras.backend.clear_session()
    k = keras.applications.MobileNetV2(weights=None, include_top=False, alpha=0.35, input_shape=SIZE + (3,))
    path = str(tmp_path / "mobilenet_v2_base.weights.h5")
    k.save_weights(path)
    return path


def _arrays(layer) -> list[np.ndarray]:
    return [np.array(w) for w in layer.get_weights()]


@pytest.mark.slow
def test_transfer_learning_then_fine_tuning(tmp_path):
    _write_images(tmp_path / "PetImages")
    train_ds, validation_ds = utils.image_dataset_from_directory(
        str(tmp_path / "PetImages"), validation_split=0.25, subset="both", seed=1337, image_size=SIZE,
        batch_size=6, label_mode="binary")
    assert train_ds.class_names == ["cats", "dogs"]
    train_images = sum(int(np.asarray(x).shape[0]) for x, _ in train_ds)
    val_images = sum(int(np.asarray(x).shape[0]) for x, _ in validation_ds)
    assert (train_images, val_images) == (18, 6)
    images, labels = next(iter(train_ds))
    assert tuple(np.asarray(images).shape) == (6, 32, 32, 3) and tuple(np.asarray(labels).shape) == (6, 1)

    lamina.backend.clear_session()
    data_augmentation = lamina.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)])
    base_model = applications.MobileNetV2(weights=_keras_saved_base(tmp_path), include_top=False, alpha=0.35,
                                          input_shape=SIZE + (3,))
    base_model.trainable = False
    inputs = lamina.Input(shape=SIZE + (3,))
    x = data_augmentation(inputs)
    x = layers.Rescaling(scale=1 / 127.5, offset=-1)(x)
    x = base_model(x, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(1)(x)
    model = lamina.Model(inputs, outputs)
    assert len(model.trainable_weights) == 2 and model.count_params() == base_model.count_params() + 1281

    frozen = _arrays(base_model)
    model.compile(optimizer=lamina.optimizers.Adam(1e-2),
                  loss=lamina.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[lamina.metrics.BinaryAccuracy()])
    history = model.fit(train_ds, epochs=6, validation_data=validation_ds, verbose=0)
    assert set(history.history) == {"loss", "binary_accuracy", "val_loss", "val_binary_accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    for before, after in zip(frozen, _arrays(base_model)):  # kernels and BN moving statistics untouched
        np.testing.assert_array_equal(before, after)

    # fine-tuning: unfreeze the base, recompile (the trainable flags are read at compile time, as in Keras)
    base_model.trainable = True
    assert len(model.trainable_weights) == len(base_model.trainable_weights) + 2
    model.compile(optimizer=lamina.optimizers.Adam(1e-5),
                  loss=lamina.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[lamina.metrics.BinaryAccuracy()])
    history = model.fit(train_ds, epochs=1, validation_data=validation_ds, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and np.isfinite(history.history["val_loss"][0])
    tuned = _arrays(base_model)
    for kind in ("kernel", "gamma", "moving_mean"):  # all of them train now (Keras 3, see the module's note)
        index = [i for i, w in enumerate(base_model.weights) if w.path.endswith(kind)]
        assert index and any(not np.array_equal(frozen[i], tuned[i]) for i in index), kind
    # the fine-tuned model predicts the classes of the images it trained on
    probs = 1 / (1 + np.exp(-np.asarray(model.predict(validation_ds, verbose=0))))
    assert probs.shape == (6, 1) and np.isfinite(probs).all()


@pytest.mark.parametrize("trainable", [True, False])
def test_nested_batch_normalization_trains_as_in_keras(trainable):
    """A nested model called with ``training=False`` inside a model that ``fit`` trains: its BatchNormalization stays
    in inference mode only while frozen (Keras 3's rule, keras-team/keras#20285); same weights and losses as Keras."""
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, (16, 4)).astype("float32")
    y = rng.normal(size=(16, 1)).astype("float32")
    results, keras_start = [], None
    for lib in (keras, lamina):
        lib.backend.clear_session()
        inner_in = lib.Input((4,))
        base = lib.Model(inner_in, lib.layers.BatchNormalization()(lib.layers.Dense(4)(inner_in)))
        base.trainable = trainable
        inputs = lib.Input((4,))
        model = lib.Model(inputs, lib.layers.Dense(1)(base(inputs, training=False)))
        if lib is lamina:
            model.set_weights(keras_start)
        model.compile(optimizer=lib.optimizers.SGD(0.01), loss="mse")
        start = [np.array(w) for w in model.get_weights()]
        keras_start = keras_start or start
        history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        moving = [i for i, w in enumerate(model.weights) if "moving_" in w.path]
        end = [np.array(w) for w in model.get_weights()]
        results.append((end, history.history["loss"]))
        changed = [i for i in range(len(end)) if not np.array_equal(start[i], end[i])]
        # the head's Dense; with a trainable base also its Dense, BN gamma/beta and the BN moving statistics
        assert len(moving) == 2 and len(changed) == (8 if trainable else 2), (lib.__name__, changed)
    (k_end, k_loss), (m_end, m_loss) = results
    for a, b in zip(k_end, m_end):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m_loss, k_loss, rtol=1e-5)
