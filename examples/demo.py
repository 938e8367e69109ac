"""The main demo: a Keras-style MLP on a dataset that needs no download (scikit-learn's digits)."""

from lamina import layers, models

model = models.Sequential([
    layers.Flatten(input_shape=(8, 8)),
    layers.Rescaling(1.0 / 255),
    layers.Dense(64, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
model.summary()
