"""Keras 3's JAX step API: subclassed models, overridden train_step/compute_loss, a GAN and a VAE, vs Keras."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import lamina

BACKENDS = [keras, lamina]


def _assert_same(k_values, l_values, rtol=1e-5, atol=1e-6):
    for a, b in zip(k_values, l_values, strict=True):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=rtol, atol=atol)


def _histories_match(kh, lh, rtol=1e-5, atol=1e-6):
    assert sorted(lh.history) == sorted(kh.history)
    for key in kh.history:
        np.testing.assert_allclose(lh.history[key], kh.history[key], rtol=rtol, atol=atol, err_msg=key)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 6)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    return x, y


# ----------------------------------------------------------------------------------- subclassed
def _subclassed(K):
    class MLP(K.Model):
        def __init__(self):
            super().__init__()
            self.hidden = K.layers.Dense(8, activation="relu")
            self.out = K.layers.Dense(2, activation="softmax")

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    return MLP()


def _pair(make, x, **compile_kwargs):
    keras.utils.set_random_seed(0)
    models = [make(keras), make(lamina)]
    for m in models:
        m(x[:2])  # built by data, as in Keras
    models[1].set_weights(models[0].get_weights())
    for m in models:
        m.compile(**compile_kwargs)
    return models


def test_a_subclassed_model_trains_evaluates_and_predicts_as_keras(data):
    x, y = data
    k, m = _pair(_subclassed, x, optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    kh = k.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, validation_split=0.25)
    lh = m.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, validation_split=0.25)
    _histories_match(kh, lh)
    _assert_same(k.get_weights(), m.get_weights(), rtol=1e-4)
    _assert_same(k.evaluate(x, y, verbose=0), m.evaluate(x, y, verbose=0))
    _assert_same([k.predict(x, verbose=0)], [m.predict(x, verbose=0)])
    assert m.metrics_names == k.metrics_names == ["loss", "compile_metrics"]


def test_a_subclassed_model_built_by_fit_alone():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 5)).astype("float32"), rng.normal(size=(40, 2)).astype("float32")
    model = _subclassed(lamina)
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and model.built
    assert model.predict(x, verbose=0).shape == (40, 2)


# --------------------------------------------------------------- keras-io "custom train_step" (JAX)
def _custom_step(K):
    class CustomModel(K.Model):
        def __init__(self):
            super().__init__()
            self.dense = K.layers.Dense(1)
            self.loss_tracker = K.metrics.Mean(name="loss")
            self.mae_metric = K.metrics.MeanAbsoluteError(name="mae")
            self.loss_fn = K.losses.MeanSquaredError()

        def call(self, inputs, training=False):
            return self.dense(inputs)

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

        def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, x, y, training=False):
            y_pred, non_trainable_variables = self.stateless_call(trainable_variables, non_trainable_variables, x,
                                                                  training=training)
            return self.loss_fn(y, y_pred) * 2.0, (y_pred, non_trainable_variables)

        def train_step(self, state, data):
            trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables = state
            x, y = data
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (loss, (y_pred, non_trainable_variables)), grads = grad_fn(trainable_variables, non_trainable_variables,
                                                                       x, y, training=True)
            trainable_variables, optimizer_variables = self.optimizer.stateless_apply(optimizer_variables, grads,
                                                                                      trainable_variables)
            new_metrics_vars, logs = [], {}
            for metric in self.metrics:
                at = len(new_metrics_vars)
                this = metrics_variables[at:at + len(metric.variables)]
                if metric.name == "loss":
                    this = metric.stateless_update_state(this, loss)
                else:
                    this = metric.stateless_update_state(this, y, y_pred)
                logs[metric.name] = metric.stateless_result(this)
                new_metrics_vars += this
            return logs, (trainable_variables, non_trainable_variables, optimizer_variables, new_metrics_vars)

    return CustomModel()


@pytest.mark.parametrize("steps_per_execution", [1, "auto"])
def test_an_overridden_train_step_is_what_runs(data, steps_per_execution):
    x, _ = data
    y = x[:, :1] * 3.0 - 1.0
    spe = {} if steps_per_execution == "auto" else {"steps_per_execution": 1}
    k, m = _pair(_custom_step, x, optimizer="sgd")
    m.compile(optimizer="sgd", **spe)
    kh = k.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    lh = m.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    _histories_match(kh, lh)
    _assert_same(k.get_weights(), m.get_weights(), rtol=1e-4)


def _custom_loss(K):
    class WithLoss(K.Model):
        def __init__(self):
            super().__init__()
            self.dense = K.layers.Dense(1)

        def call(self, inputs):
            return self.dense(inputs)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            return jnp.mean(jnp.abs(y - y_pred)) + 0.1 * jnp.mean(jnp.square(y_pred))

    return WithLoss()


def test_an_overridden_compute_loss_is_used_without_a_compiled_loss(data):
    x, _ = data
    y = x[:, :1] * 2.0
    k, m = _pair(_custom_loss, x, optimizer="adam")
    _histories_match(k.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0),
                     m.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0))
    _assert_same([k.evaluate(x, y, verbose=0)], [m.evaluate(x, y, verbose=0)])


def _add_loss(K):
    class Penalised(K.Model):
        def __init__(self):
            super().__init__()
            self.dense = K.layers.Dense(2)

        def call(self, inputs):
            out = self.dense(inputs)
            self.add_loss(0.01 * jnp.sum(jnp.square(out)))
            return out

    return Penalised()


def test_add_loss_in_call_joins_the_compiled_loss(data):
    x, _ = data
    y = np.stack([x[:, 0], -x[:, 1]], axis=1)
    k, m = _pair(_add_loss, x, optimizer="sgd", loss="mse")
    _histories_match(k.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0),
                     m.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0))


# ----------------------------------------------------------------------------------------- GAN
def _gan(K):
    class GAN(K.Model):
        """A GAN written the Keras 3 JAX way: two sub-models, per-part gradients, loss trackers."""

        def __init__(self):
            super().__init__()
            self.generator = K.Sequential([K.Input((3,)), K.layers.Dense(8, activation="relu"), K.layers.Dense(4)])
            self.discriminator = K.Sequential([K.Input((4,)), K.layers.Dense(8, activation="relu"),
                                               K.layers.Dense(1)])
            self.d_loss_tracker = K.metrics.Mean(name="d_loss")
            self.g_loss_tracker = K.metrics.Mean(name="g_loss")
            self.bce = K.losses.BinaryCrossentropy(from_logits=True)

        def call(self, noise):
            return self.discriminator(self.generator(noise))

        @property
        def metrics(self):
            return [self.d_loss_tracker, self.g_loss_tracker]

        def train_step(self, state, data):
            trainable, non_trainable, optimizer_variables, metrics_variables = state
            real, noise = data
            n_g = len(self.generator.trainable_variables)
            n_gn = len(self.generator.non_trainable_variables)
            g_tv, d_tv = trainable[:n_g], trainable[n_g:]
            g_ntv, d_ntv = non_trainable[:n_gn], non_trainable[n_gn:]
            batch = real.shape[0]

            def d_loss_fn(d_tv):
                fake, _ = self.generator.stateless_call(g_tv, g_ntv, noise)
                logits, _ = self.discriminator.stateless_call(d_tv, d_ntv, jnp.concatenate([fake, real]))
                labels = jnp.concatenate([jnp.ones((batch, 1)), jnp.zeros((batch, 1))])
                return self.bce(labels, logits)

            def g_loss_fn(g_tv):
                fake, _ = self.generator.stateless_call(g_tv, g_ntv, noise)
                logits, _ = self.discriminator.stateless_call(d_tv, d_ntv, fake)
                return self.bce(jnp.zeros((batch, 1)), logits)

            d_loss, d_grads = jax.value_and_grad(d_loss_fn)(d_tv)
            g_loss, g_grads = jax.value_and_grad(g_loss_fn)(g_tv)
            trainable, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, list(g_grads) + list(d_grads), trainable)
            d_vars = self.d_loss_tracker.stateless_update_state(metrics_variables[:2], d_loss)
            g_vars = self.g_loss_tracker.stateless_update_state(metrics_variables[2:], g_loss)
            logs = {"d_loss": self.d_loss_tracker.stateless_result(d_vars),
                    "g_loss": self.g_loss_tracker.stateless_result(g_vars)}
            return logs, (trainable, non_trainable, optimizer_variables, d_vars + g_vars)

    return GAN()


def test_a_gan_train_step_gives_keras_losses():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(64, 4)).astype("float32")
    noise = rng.normal(size=(64, 3)).astype("float32")
    k, m = _pair(_gan, noise, optimizer="adam")
    kh = k.fit(real, noise, batch_size=16, epochs=3, shuffle=False, verbose=0)
    lh = m.fit(real, noise, batch_size=16, epochs=3, shuffle=False, verbose=0)
    _histories_match(kh, lh, rtol=1e-4)
    _assert_same(k.get_weights(), m.get_weights(), rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------------------- VAE
def _vae(K):
    class VAE(K.Model):
        """A VAE after keras-io's: encoder, reparameterisation (noise given with the data), decoder, KL by
        ``add_loss``, three loss trackers, its own train_step with ``stateless_call(return_losses=True)``."""

        def __init__(self):
            super().__init__()
            self.encoder = K.layers.Dense(4)  # z_mean and z_log_var, 2 each
            self.decoder = K.layers.Dense(6, activation="sigmoid")
            self.total_loss_tracker = K.metrics.Mean(name="total_loss")
            self.reconstruction_loss_tracker = K.metrics.Mean(name="reconstruction_loss")
            self.kl_loss_tracker = K.metrics.Mean(name="kl_loss")

        def call(self, inputs, training=False):
            x, eps = inputs
            h = self.encoder(x)
            z_mean, z_log_var = h[:, :2], h[:, 2:]
            kl = -0.5 * (1 + z_log_var - jnp.square(z_mean) - jnp.exp(z_log_var))
            self.add_loss(jnp.mean(jnp.sum(kl, axis=1)))
            return self.decoder(z_mean + jnp.exp(0.5 * z_log_var) * eps)

        @property
        def metrics(self):
            return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

        def train_step(self, state, data):
            trainable, non_trainable, optimizer_variables, metrics_variables = state
            x, eps = data

            def loss_fn(trainable):
                recon, new_ntv, losses = self.stateless_call(trainable, non_trainable, (x, eps), training=True,
                                                             return_losses=True)
                bce = -(x * jnp.log(recon + 1e-7) + (1 - x) * jnp.log(1 - recon + 1e-7))
                reconstruction = jnp.mean(jnp.sum(bce, axis=1))
                kl = sum(losses)
                return reconstruction + kl, (reconstruction, kl, new_ntv)

            (total, (reconstruction, kl, non_trainable)), grads = jax.value_and_grad(loss_fn, has_aux=True)(trainable)
            trainable, optimizer_variables = self.optimizer.stateless_apply(optimizer_variables, grads, trainable)
            new, logs = [], {}
            for metric, value in zip(self.metrics, (total, reconstruction, kl)):
                this = metric.stateless_update_state(metrics_variables[len(new):len(new) + 2], value)
                logs[metric.name] = metric.stateless_result(this)
                new += this
            return logs, (trainable, non_trainable, optimizer_variables, new)

    return VAE()


def test_a_vae_train_step_with_add_loss_gives_keras_losses():
    rng = np.random.default_rng(3)
    x = rng.uniform(size=(48, 6)).astype("float32")
    eps = rng.normal(size=(48, 2)).astype("float32")
    keras.utils.set_random_seed(0)
    k, m = _vae(keras), _vae(lamina)
    for model in (k, m):
        model((x[:2], eps[:2]))
    m.set_weights(k.get_weights())
    for model in (k, m):
        model.compile(optimizer="adam")
    kh = k.fit(x, eps, batch_size=16, epochs=3, shuffle=False, verbose=0)
    lh = m.fit(x, eps, batch_size=16, epochs=3, shuffle=False, verbose=0)
    _histories_match(kh, lh, rtol=1e-4)


def test_no_loss_gives_a_loss_of_zero_as_keras_and_a_warning(data):
    x, y = data
    keras.utils.set_random_seed(0)
    k, m = _subclassed(keras), _subclassed(lamina)
    k.compile(optimizer="sgd")
    m.compile(optimizer="sgd")
    kh = k.fit(x, y, epochs=2, verbose=0)
    with pytest.warns(UserWarning, match="without a loss"):
        lh = m.fit(x, y, epochs=2, verbose=0)
    assert lh.history == kh.history == {"loss": [0.0, 0.0]}
