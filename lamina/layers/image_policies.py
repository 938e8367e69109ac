"""Augmentation policies built from the other image layers: ``RandAugment`` (apply ``num_ops`` operations drawn
from eleven) and ``AugMix`` (mix ``num_chains`` chains of random operations with the original).

The operation indices are drawn from the layer's ``SeedGenerator`` and chosen with ``lax.switch`` inside
``lax.scan`` (each operation traced once), so inside the jitted training step the choice changes every step
(Keras's ``AugMix`` draws them with Python's ``random`` while tracing, which a jitted step would freeze, and does
not repeat under a seed). ``RandAugment`` draws exactly Keras's numbers for a given ``seed``.

>>> import numpy as np
>>> from lamina import layers
>>> x = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
>>> layers.RandAugment(seed=1)(x).shape
(2, 8, 8, 3)
>>> bool(np.array_equal(layers.AugMix(seed=1)(x, training=False), x))
True
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from lamina import random
from lamina.layers.image_augmentation import RandomBrightness, RandomContrast, RandomRotation, RandomTranslation
from lamina.layers.image_color import RandomColorDegeneration, RandomPosterization, RandomSharpness, Solarization
from lamina.layers.image_geometry import RandomShear
from lamina.layers.image_histogram import AutoContrast, Equalization
from lamina.layers.image_preprocessing import BaseImagePreprocessingLayer

GEOMETRIC_AND_TONE = ("random_shear", "random_translation", "random_rotation", "random_posterization",
                      "solarization", "auto_contrast", "equalization")
COLOR = ("random_brightness", "random_color_degeneration", "random_contrast", "random_sharpness")
RAND_AUGMENT_OPS = ("random_shear", "random_translation", "random_rotation", "random_brightness",
                    "random_color_degeneration", "random_contrast", "random_sharpness", "random_posterization",
                    "solarization", "auto_contrast", "equalization")


def _operations(factor: tuple[float, float], value_range: Any, interpolation: str, seed: Any,
                data_format: str) -> dict[str, BaseImagePreprocessingLayer]:
    """The eleven operations at strength ``factor``, by Keras's attribute names."""
    common = {"seed": seed, "data_format": data_format}
    tone = {"value_range": value_range, **common}
    return {
        "random_shear": RandomShear(x_factor=factor, y_factor=factor, interpolation=interpolation, **common),
        "random_translation": RandomTranslation(height_factor=factor, width_factor=factor,
                                                interpolation=interpolation, **common),
        "random_rotation": RandomRotation(factor=factor, interpolation=interpolation, **common),
        "random_brightness": RandomBrightness(factor=factor, **tone),
        "random_color_degeneration": RandomColorDegeneration(factor=factor, **tone),
        "random_contrast": RandomContrast(factor=factor, **tone),
        "random_sharpness": RandomSharpness(factor=factor, **tone),
        "random_posterization": RandomPosterization(factor=max(1, int(8 * factor[1])), **tone),
        "solarization": Solarization(addition_factor=factor, threshold_factor=factor, **tone),
        "auto_contrast": AutoContrast(value_range=value_range, data_format=data_format),
        "equalization": Equalization(value_range=value_range, data_format=data_format),
    }


class _KeyStream(random.SeedGenerator):
    """A generator over one (possibly traced) key: draw ``i`` uses ``fold_in(key, i)``, so the operations of one
    AugMix step can draw inside ``lax.scan`` (a fresh key per step, the same code traced once)."""

    def __init__(self, key: Any) -> None:
        super().__init__(0, name="augmix_step_seed")
        self._key, self._count = key, 0

    def next(self, ordered: bool = True) -> Any:
        self._count += 1
        return jax.random.fold_in(self._key, self._count)


class _Policy(BaseImagePreprocessingLayer):
    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)
    _BATCH_SINGLE_IMAGES = True

    def _apply(self, name: str, images: Any, transformation: Any) -> Any:
        return self._ops[name].transform_images(images, transformation).astype(self.compute_dtype)

    def _switch(self, index: Any, names: tuple[str, ...], transforms: dict[str, Any], images: Any,
                identity: bool = False) -> Any:
        """Apply operation ``names[index]`` (``index == len(names)``: none, when ``identity``)."""
        branches = [lambda x, n=n: self._apply(n, x, transforms[n]) for n in names]
        if identity:
            branches.append(lambda x: x)
        return jax.lax.switch(jnp.asarray(index, "int32"), branches, images)


class RandAugment(_Policy):
    """Apply ``num_ops`` operations, each drawn from eleven (shear, translation, rotation, brightness, color
    degeneration, contrast, sharpness, posterization, solarization, auto-contrast, equalization) at strength
    ``factor``; one draw per batch, as in Keras."""

    def __init__(self, value_range: Any = (0, 255), num_ops: int = 2, factor: Any = 0.5,
                 interpolation: str = "bilinear", seed: int | None = None, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self.value_range, self.num_ops = value_range, num_ops
        self._set_factor(factor)
        self.interpolation = interpolation
        self.seed = seed
        self.generator = random.SeedGenerator(seed)
        self._ops = _operations(self.factor, value_range, interpolation, seed, data_format)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        if not training:
            return None
        idx = random.randint((self.num_ops,), 0, len(RAND_AUGMENT_OPS), seed=self.generator)
        transforms = {n: self._ops[n].get_random_transformation(data, training=training, seed=self.generator)
                      for n in RAND_AUGMENT_OPS}
        return {"transforms": transforms, "layer_idxes": idx}

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training or transformation is None:
            return images
        def one_op(x: Any, index: Any) -> tuple[Any, None]:  # traced once, however many ops
            return self._switch(index, RAND_AUGMENT_OPS, transformation["transforms"], x), None

        return jax.lax.scan(one_op, images, jnp.asarray(transformation["layer_idxes"], "int32"))[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "value_range": self.value_range, "num_ops": self.num_ops,
                "factor": self.factor, "interpolation": self.interpolation, "seed": self.seed}


class AugMix(_Policy):
    """Run ``num_chains`` chains of up to ``chain_depth`` random operations (each step: one of the operations or
    none), mix the chains with Dirichlet(``alpha``) weights and the result with the original by a Beta(``alpha``,
    ``alpha``) weight, then clip to ``value_range``. ``all_ops=False`` leaves out the four color operations."""

    def __init__(self, value_range: Any = (0, 255), num_chains: int = 3, chain_depth: int = 3, factor: Any = 0.3,
                 alpha: float = 1.0, all_ops: bool = True, interpolation: str = "bilinear", seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self.value_range, self.num_chains, self.chain_depth = value_range, num_chains, chain_depth
        self._set_factor(factor)
        self.alpha, self.all_ops, self.interpolation = alpha, all_ops, interpolation
        self.seed = seed
        self.generator = random.SeedGenerator(seed)
        self._names = GEOMETRIC_AND_TONE + (COLOR if all_ops else ())
        self._ops = _operations(self.factor, value_range, interpolation, seed, data_format)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        if not training:
            return None
        seed = seed or self.generator
        gamma = random.gamma((self.num_chains,), self.alpha, seed=seed)
        chain_weights = gamma / jnp.sum(gamma, axis=-1, keepdims=True)
        weight = random.beta((), self.alpha, self.alpha, seed=seed)
        steps = random.randint((self.num_chains, self.chain_depth), 0, len(self._names) + 1, seed=seed)
        keys = jax.random.split(random.draw_seed(seed), self.num_chains * self.chain_depth)
        return {"chain_mixing_weights": chain_weights, "weight_sample": weight, "chain_steps": steps,
                "chain_keys": keys.reshape((self.num_chains, self.chain_depth) + keys.shape[1:])}

    def transform_images(self, images: Any, transformation: Any, training: bool = True) -> Any:
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training or transformation is None:
            return images
        weights = transformation["chain_mixing_weights"].astype(self.compute_dtype)
        weight = jnp.asarray(transformation["weight_sample"], self.compute_dtype)


        def one_step(chain: Any, step: Any) -> tuple[Any, None]:  # draws and operations traced once
            index, key = step
            stream = _KeyStream(key)
            transforms = {n: self._ops[n].get_random_transformation(chain, seed=stream) for n in self._names}
            return self._switch(index, self._names, transforms, chain, identity=True), None

        def one_chain(mixed: Any, chain: Any) -> tuple[Any, None]:
            steps, keys, chain_weight = chain
            out = jax.lax.scan(one_step, images, (steps, keys))[0]
            return mixed + out * chain_weight, None

        chains = (jnp.asarray(transformation["chain_steps"], "int32"), transformation["chain_keys"], weights)
        mixed = jax.lax.scan(one_chain, jnp.zeros_like(images), chains)[0]
        out = weight * images + (1 - weight) * mixed
        return jnp.clip(out, self.value_range[0], self.value_range[1]).astype(self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "value_range": self.value_range, "num_chains": self.num_chains,
                "chain_depth": self.chain_depth, "factor": self.factor, "alpha": self.alpha, "all_ops": self.all_ops,
                "interpolation": self.interpolation, "seed": self.seed}
