"""lamina's main demo: Keras code, unchanged but for the import line, on data that needs no download.

It trains a small MLP on scikit-learn's real 8x8 handwritten digits, then shows what lamina adds: the
mistake that puzzles Keras users (Dense on an image without Flatten) caught with an error that names the
layer and the fix, before any training time is lost.
"""

from lamina import layers, models
from lamina.datasets import digits

(x_train, y_train), (x_test, y_test) = digits.load_data()
print(f"digits: {x_train.shape[0]} training and {x_test.shape[0]} test images of {x_train.shape[1:]} pixels")

model = models.Sequential([
    layers.Flatten(input_shape=(8, 8)),
    layers.Rescaling(1.0 / 255),
    layers.Dense(64, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
model.summary()
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=30, validation_split=0.1, verbose=2)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {accuracy:.3f}")

print("\nThe same model without Flatten: Dense acts on the last axis only.")
mistake = models.Sequential([
    layers.Rescaling(1.0 / 255, input_shape=(8, 8)),
    layers.Dense(64, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
mistake.summary()
mistake.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
try:
    mistake.fit(x_train, y_train, epochs=1, verbose=0)
except ValueError as error:
    print(f"lamina stopped before training:\n{error}")
if hasattr(mistake, "explain"):
    print()
    mistake.explain()
