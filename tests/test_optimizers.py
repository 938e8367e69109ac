"""lamina.optimizers against keras.optimizers (JAX backend): trajectories, saved variables, configs."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lamina import optimizers
from lamina.optimizers import schedules

keras = pytest.importorskip("keras")

STEPS = 12


def _data(seed=0):
    rng = np.random.default_rng(seed)
    params = {
        "kernel": rng.normal(size=(3, 4)).astype("float32"),
        "bias": rng.normal(size=(4,)).astype("float32"),
    }
    grads = [
        {k: rng.normal(size=v.shape).astype("float32") * 3 for k, v in params.items()} for _ in range(STEPS)
    ]
    return params, grads


def _run_keras(opt, params, grads):
    variables = [keras.Variable(params[k], name=k) for k in params]
    for g in grads:
        opt.apply([jnp.asarray(g[k]) for k in params], variables)
    return {k: np.asarray(v.numpy()) for k, v in zip(params, variables)}, [
        np.asarray(v.numpy()) for v in opt.variables
    ]


def _run_lamina(opt, params, grads, jit=True):
    p = {k: jnp.asarray(v) for k, v in params.items()}
    state = opt.init(p)
    step = jax.jit(opt.apply) if jit else opt.apply
    for g in grads:
        p, state = step({k: jnp.asarray(v) for k, v in g.items()}, state, p)
    opt.state = state
    return {k: np.asarray(v) for k, v in p.items()}, opt.variables


CASES = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.8, "nesterov": True}),
    ("Adam", {}),
    ("Adam", {"amsgrad": True, "learning_rate": 0.01}),
    ("AdamW", {}),
    ("AdamW", {"weight_decay": 0.1, "learning_rate": 0.01}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("Adagrad", {"learning_rate": 0.05}),
    ("Adadelta", {"learning_rate": 1.0}),
    ("Adamax", {}),
    ("Nadam", {}),
    ("Adam", {"clipnorm": 1.0}),
    ("SGD", {"global_clipnorm": 2.0, "momentum": 0.9}),
    ("RMSprop", {"clipvalue": 0.5}),
    ("SGD", {"weight_decay": 0.01}),
    ("Adam", {"loss_scale_factor": 4.0}),
]


@pytest.mark.parametrize("cls,kwargs", CASES, ids=[f"{c}-{k}" for c, k in CASES])
def test_trajectory_and_variables_match_keras(cls, kwargs):
    params, grads = _data()
    k_params, k_vars = _run_keras(getattr(keras.optimizers, cls)(**kwargs), params, grads)
    l_params, l_vars = _run_lamina(getattr(optimizers, cls)(**kwargs), params, grads)
    for k in params:
        np.testing.assert_allclose(l_params[k], k_params[k], rtol=1e-6, atol=1e-6)
    assert [v.shape for v in l_vars] == [v.shape for v in k_vars]
    assert [v.dtype for v in l_vars] == [v.dtype for v in k_vars]
    for a, b in zip(l_vars, k_vars):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "schedule",
    [
        lambda m: m.ExponentialDecay(0.1, decay_steps=3, decay_rate=0.5),
        lambda m: m.ExponentialDecay(0.1, decay_steps=3, decay_rate=0.5, staircase=True),
        lambda m: m.PiecewiseConstantDecay([2, 5], [0.1, 0.05, 0.01]),
        lambda m: m.CosineDecay(0.1, decay_steps=8, alpha=0.1),
        lambda m: m.CosineDecay(0.0, decay_steps=8, warmup_target=0.1, warmup_steps=3),
        lambda m: m.PolynomialDecay(0.1, decay_steps=5, power=2.0),
        lambda m: m.PolynomialDecay(0.1, decay_steps=5, cycle=True),
        lambda m: m.InverseTimeDecay(0.1, decay_steps=2, decay_rate=0.5),
    ],
)
def test_schedules_match_keras(schedule):
    k_sched, l_sched = schedule(keras.optimizers.schedules), schedule(schedules)
    for step in range(15):
        np.testing.assert_allclose(float(l_sched(step)), float(k_sched(step)), rtol=1e-6, atol=1e-8)
    assert l_sched.get_config() == k_sched.get_config()
    params, grads = _data(1)
    k_params, k_vars = _run_keras(keras.optimizers.SGD(learning_rate=k_sched, momentum=0.9), params, grads)
    opt = optimizers.SGD(learning_rate=l_sched, momentum=0.9)
    l_params, l_vars = _run_lamina(opt, params, grads)
    for k in params:
        np.testing.assert_allclose(l_params[k], k_params[k], rtol=1e-6, atol=1e-6)
    assert len(l_vars) == len(k_vars)  # no learning_rate variable with a schedule, as in Keras
    assert (
        opt.get_config()["learning_rate"]
        == keras.optimizers.serialize(keras.optimizers.SGD(learning_rate=k_sched))["config"]["learning_rate"]
    )


@pytest.mark.parametrize("cls", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam"])
def test_config_matches_keras(cls):
    k = getattr(keras.optimizers, cls)(name="x")
    lam = getattr(optimizers, cls)(name="x")
    assert lam.get_config() == k.get_config()
    assert optimizers.serialize(lam) == keras.optimizers.serialize(k)
    again = optimizers.deserialize(optimizers.serialize(lam))
    assert type(again) is type(lam) and again.get_config() == lam.get_config()
    k2 = getattr(keras.optimizers, cls)(learning_rate=0.3, name="y")
    assert getattr(optimizers, cls).from_config(k2.get_config()).get_config() == k2.get_config()


def test_default_names_and_get():
    from lamina import naming

    naming.reset()
    assert [optimizers.Adam().name, optimizers.Adam().name, optimizers.RMSprop().name] == [
        "adam",
        "adam_1",
        "rm_sprop",
    ]
    assert optimizers.AdamW().name == "adam_w"
    for ident, cls in [
        ("adam", "Adam"),
        ("SGD", "SGD"),
        ("rmsprop", "RMSprop"),
        ("RMSprop", "RMSprop"),
        ("adamw", "AdamW"),
        ("Nadam", "Nadam"),
        ("adagrad", "Adagrad"),
    ]:
        assert type(optimizers.get(ident)).__name__ == cls
    opt = optimizers.SGD()
    assert optimizers.get(opt) is opt
    assert isinstance(
        optimizers.get({"class_name": "Adam", "config": {"learning_rate": 0.5}}), optimizers.Adam
    )
    with pytest.raises(ValueError, match="Known optimizers"):
        optimizers.get("adamm")
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)


def test_learning_rate_setter_changes_state_without_recompiling():
    opt = optimizers.SGD(learning_rate=0.1)
    p = {"w": jnp.zeros((2,))}
    opt.state = opt.init(p)
    traces = []

    def step(g, s, p):
        traces.append(1)
        return opt.apply(g, s, p)

    step = jax.jit(step)
    g = {"w": jnp.ones((2,))}
    p, opt.state = step(g, opt.state, p)
    assert opt.learning_rate == pytest.approx(0.1)
    opt.learning_rate = 0.01
    assert opt.learning_rate == pytest.approx(0.01)
    p, opt.state = step(g, opt.state, p)
    np.testing.assert_allclose(np.asarray(p["w"]), -0.11, rtol=1e-6)
    assert len(traces) == 1 and opt.iterations == 2
    assert opt.get_config()["learning_rate"] == pytest.approx(0.01)
    sched = optimizers.SGD(learning_rate=schedules.ExponentialDecay(0.1, 1, 0.5))
    with pytest.raises(TypeError, match="not settable"):
        sched.learning_rate = 0.1


def test_load_variables_round_trip_and_keras_order():
    params, grads = _data(2)
    # Keras's order is the weights' order (insertion order here), not JAX's sorted dict-key order.
    k_params, k_vars = _run_keras(keras.optimizers.Adam(), params, grads[:3])
    opt = optimizers.Adam()
    p = {k: jnp.asarray(v) for k, v in params.items()}
    restored = opt.load_variables(k_vars, p)
    assert opt.iterations == 3 and opt.matches(restored, p)
    for a, b in zip(opt.variables, k_vars):
        np.testing.assert_array_equal(a, b)
    # Continuing from the loaded state matches Keras continuing.
    k_opt = keras.optimizers.Adam()
    kv = [keras.Variable(params[k]) for k in params]
    for g in grads[:6]:
        k_opt.apply([jnp.asarray(g[k]) for k in params], kv)
    p = {k: jnp.asarray(v) for k, v in k_params.items()}
    state = opt.state
    for g in grads[3:6]:
        p, state = opt.apply({k: jnp.asarray(v) for k, v in g.items()}, state, p)
    for k, v in zip(params, kv):
        np.testing.assert_allclose(np.asarray(p[k]), v.numpy(), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="expects"):
        opt.load_variables(k_vars[:-1], p)
    assert not optimizers.SGD(momentum=0.9).matches(opt.state, p)


def test_unbuilt_variables_and_import_is_light():
    assert [float(v) for v in optimizers.Adam().variables] == [0.0, pytest.approx(0.001)]
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, lamina.optimizers, lamina.losses, lamina.metrics; "
            "print(any(m.split('.')[0] in ('keras', 'torch', 'tensorflow') for m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    assert out.stdout.strip() == "False", out.stderr
