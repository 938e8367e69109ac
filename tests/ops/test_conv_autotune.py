"""The measured choice of convolution implementations (lamina.ops.conv_autotune): cache, margin, switch, jit.

Most tests replace the timer (``conv_autotune.measure``) with a fake that returns chosen times and counts calls,
so nothing is timed for real and the outcome is deterministic.
"""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lamina.ops import conv_autotune as at
from lamina.ops import convolution as cv

X_SHAPE, K_SHAPE = (4, 12, 12, 8), (3, 3, 8, 16)  # 2 * 4 * 10 * 10 * 9 * 8 * 16 = 0.9 MFLOP valid, 1.3 same


@pytest.fixture
def tuning(tmp_path, monkeypatch):
    """Tuning on, a temporary cache folder, an empty memory, a low FLOP threshold."""
    monkeypatch.setenv("LAMINA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(at, "MIN_FLOPS", 1e5)
    at.set_enabled(True)
    at.clear_memory()
    yield tmp_path
    at.set_enabled(None)
    at.clear_memory()


class FakeTimer:
    """Stands in for ``measure``: records the candidate names, returns ``times`` (default 1.0 each)."""

    def __init__(self, times=None, run=False):
        self.calls, self.times, self.run = [], dict(times or {}), run

    def __call__(self, fns, **_):
        self.calls.append(sorted(fns))
        if self.run:  # the programs must run eagerly, on concrete arrays, even when conv is being traced
            for fn in fns.values():
                leaves = jax.tree_util.tree_leaves(fn())
                assert all(not isinstance(v, jax.core.Tracer) for v in leaves)
                assert all(np.isfinite(np.asarray(v)).all() for v in leaves)
        return {name: self.times.get(name, 1.0) for name in fns}


def arrays(x_shape=X_SHAPE, k_shape=K_SHAPE, seed=0):
    rng = np.random.default_rng(seed)
    return (jnp.asarray(rng.normal(size=x_shape), jnp.float32), jnp.asarray(rng.normal(size=k_shape), jnp.float32))


def stored(folder):
    with open(os.path.join(folder, "conv_autotune.json")) as f:
        return json.load(f)["entries"]


def test_faster_candidate_is_chosen_and_written(tuning, monkeypatch):
    timer = FakeTimer({"lax": 1.0, "im2col": 0.5})
    monkeypatch.setattr(at, "measure", timer)
    x, k = arrays()
    y = cv.conv(x, k, 1, "same")
    assert timer.calls == [["im2col", "lax"]]
    assert list(at.choices().values()) == ["im2col"]
    assert list(stored(tuning).values()) == ["im2col"]
    np.testing.assert_allclose(y, cv.conv(x, k, 1, "same", impl="lax"), rtol=1e-4, atol=1e-4)


def test_lax_kept_unless_beaten_by_the_margin(tuning, monkeypatch):
    monkeypatch.setattr(at, "measure", FakeTimer({"lax": 1.0, "im2col": 0.97}))
    cv.conv(*arrays(), 1, "same")
    assert list(at.choices().values()) == ["lax"]
    assert at.pick({"lax": 1.0, "im2col": 0.9}) == "im2col"
    assert at.pick({"lax": 1.0, "im2col": 0.9}, margin=1.2) == "lax"


def test_cache_round_trip_reuses_the_choice_without_timing(tuning, monkeypatch):
    timer = FakeTimer({"lax": 1.0, "im2col": 0.5})
    monkeypatch.setattr(at, "measure", timer)
    x, k = arrays()
    cv.conv(x, k, 1, "same")
    cv.conv(x, k, 1, "same")  # memory
    at.clear_memory()  # as a new process: the file
    cv.conv(x, k, 1, "same")
    assert len(timer.calls) == 1 and list(at.choices().values()) == ["im2col"]
    cv.conv(x, k, 1, "valid")  # another shape is timed
    assert len(timer.calls) == 2 and len(stored(tuning)) == 2


def store_one_choice_as(folder, monkeypatch, impl):
    """Tune ``arrays()`` once, then rewrite the file so its one key names ``impl``, and forget the memory."""
    monkeypatch.setattr(at, "measure", FakeTimer({"lax": 1.0, "im2col": 0.5}))
    cv.conv(*arrays(), 1, "same")
    (key, _), = stored(folder).items()
    with open(os.path.join(folder, "conv_autotune.json"), "w") as f:
        json.dump({"format": "lamina-conv-autotune", "version": 1, "entries": {key: impl}}, f)
    at.clear_memory()


def test_cached_choice_is_used_by_a_fresh_process(tuning, monkeypatch):
    """The key is stable across processes: a stored choice is found by its key alone (no timing)."""
    store_one_choice_as(tuning, monkeypatch, "lax")
    timer = FakeTimer({"im2col": 0.1})
    monkeypatch.setattr(at, "measure", timer)
    cv.conv(*arrays(), 1, "same")
    assert timer.calls == [] and list(at.choices().values()) == ["lax"]


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"format": "other", "version": 1, "entries": {}}',
                                     "\x00\xff garbage", "ENTRIES"])
def test_corrupt_or_foreign_file_is_ignored(tuning, monkeypatch, content):
    path = os.path.join(tuning, "conv_autotune.json")
    with open(path, "w", encoding="latin-1") as f:
        f.write(content)
    timer = FakeTimer({"lax": 1.0, "im2col": 0.5})
    monkeypatch.setattr(at, "measure", timer)
    cv.conv(*arrays(), 1, "same")
    assert len(timer.calls) == 1
    assert list(stored(tuning).values()) == ["im2col"]  # rewritten as a valid file


def test_entries_naming_unknown_implementations_are_ignored(tuning, monkeypatch):
    store_one_choice_as(tuning, monkeypatch, "__import__('os')")
    timer = FakeTimer({"lax": 1.0, "im2col": 0.5})
    monkeypatch.setattr(at, "measure", timer)
    cv.conv(*arrays(), 1, "same")
    assert len(timer.calls) == 1


def test_write_is_atomic_and_bounded(tuning, monkeypatch):
    monkeypatch.setattr(at, "measure", FakeTimer({"lax": 1.0, "im2col": 0.5}))
    monkeypatch.setattr(at, "MAX_ENTRIES", 2)
    replaced = []
    real_replace = os.replace

    def spy(src, dst):
        replaced.append((os.path.dirname(src), dst))
        real_replace(src, dst)

    monkeypatch.setattr(at.os, "replace", spy)
    x, k = arrays()
    for size in (8, 9, 10):
        cv.conv(x[:, :size, :size], k, 1, "same")
    path = os.path.join(tuning, "conv_autotune.json")
    assert replaced == [(str(tuning), path)] * 3
    assert len(stored(tuning)) == 2 and sorted(os.listdir(tuning)) == ["conv_autotune.json"]
    # a write that fails half-way leaves the old file whole and no temporary file behind
    before = open(path).read()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(at.json, "dump", broken)
    at.clear_memory()
    cv.conv(x[:, :7, :7], k, 1, "same")
    assert open(path).read() == before and sorted(os.listdir(tuning)) == ["conv_autotune.json"]


def test_off_switch(tuning, monkeypatch):
    timer = FakeTimer({"im2col": 0.1})
    monkeypatch.setattr(at, "measure", timer)
    at.set_enabled(None)
    monkeypatch.setenv("LAMINA_CONV_AUTOTUNE", "0")
    cv.conv(*arrays(), 1, "same")
    at.set_enabled(False)
    monkeypatch.setenv("LAMINA_CONV_AUTOTUNE", "1")
    cv.conv(*arrays(), 1, "same")
    assert timer.calls == [] and at.choices() == {}
    assert not os.path.exists(os.path.join(tuning, "conv_autotune.json"))
    at.set_enabled(None)
    assert at.is_enabled()


def test_several_jax_processes_follow_the_rule(tuning, monkeypatch):
    """Processes of one jax.distributed run must compile one program: none of them times on its own."""
    timer = FakeTimer({"im2col": 0.1})
    monkeypatch.setattr(at, "measure", timer)
    monkeypatch.setattr(jax, "process_count", lambda: 2)
    cv.conv(*arrays(), 1, "same")
    assert timer.calls == [] and at.choices() == {}


def test_small_convolutions_follow_the_rule(tuning, monkeypatch):
    timer = FakeTimer()
    monkeypatch.setattr(at, "measure", timer)
    cv.conv(*arrays((1, 5, 5, 2), (3, 3, 2, 2)), 1, "valid")
    assert timer.calls == []


def test_failing_timer_falls_back_to_the_rule(tuning, monkeypatch):
    def broken(fns, **_):
        raise RuntimeError("no")

    monkeypatch.setattr(at, "measure", broken)
    x, k = arrays()
    np.testing.assert_allclose(cv.conv(x, k, 1, "same"), cv.conv(x, k, 1, "same", impl="lax"), rtol=1e-4, atol=1e-4)
    assert at.choices() == {}


def test_tuning_inside_jit_times_concrete_arrays(tuning, monkeypatch):
    timer = FakeTimer({"lax": 1.0, "im2col": 0.5}, run=True)
    monkeypatch.setattr(at, "measure", timer)
    x, k = arrays()
    grad = jax.jit(jax.grad(lambda x, k: jnp.sum(cv.conv(x, k, 1, "same") ** 2), argnums=(0, 1)))
    got = grad(x, k)
    want = jax.grad(lambda x, k: jnp.sum(cv.conv(x, k, 1, "same", impl="lax") ** 2), argnums=(0, 1))(x, k)
    assert len(timer.calls) == 1 and list(at.choices().values()) == ["im2col"]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-3)


def test_real_timer_inside_jit(tuning):
    """The real ``measure``, in its thread, while the caller traces under ``jax.jit``."""
    x, k = arrays()
    y = jax.jit(lambda x, k: cv.conv(x, k, 1, "same"))(x, k)
    assert list(at.choices().values())[0] in ("lax", "im2col")
    np.testing.assert_allclose(y, cv.conv(x, k, 1, "same", impl="lax"), rtol=1e-4, atol=1e-4)
    assert len(stored(tuning)) == 1


@pytest.mark.parametrize("groups,winner", [(2, "lax"), (2, "im2col"), (2, "hybrid"), (8, "lax"), (8, "im2col"),
                                           (8, "taps")])  # grouped, depthwise
def test_grouped_choice_equals_lax(tuning, monkeypatch, winner, groups):
    timer = FakeTimer({winner: 0.1})
    monkeypatch.setattr(at, "measure", timer)
    x, k = arrays(k_shape=(3, 3, 8 // groups, 16))
    y = cv.conv(x, k, 1, "same")
    others = ["hybrid", "im2col", "lax"] if groups == 2 else ["im2col", "lax", "taps"]
    assert timer.calls == [others] and list(at.choices().values()) == [winner]
    np.testing.assert_allclose(y, cv.conv(x, k, 1, "same", impl="lax"), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("winner", ["lax", "subpixel:lax", "subpixel:im2col"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_transposed_choice_equals_lax(tuning, monkeypatch, winner, data_format):
    timer = FakeTimer({winner: 0.1})
    monkeypatch.setattr(at, "measure", timer)
    x, k = arrays((4, 7, 7, 8), (3, 3, 16, 8))
    if data_format == "channels_first":
        x = jnp.moveaxis(x, -1, 1)
    y = cv.conv_transpose(x, k, 2, "same", data_format=data_format)
    assert timer.calls == [["lax", "subpixel:im2col", "subpixel:lax"]]
    assert list(at.choices().values()) == [winner]
    want = cv.conv_transpose(x, k, 2, "same", data_format=data_format, impl="lax")
    assert y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)
    for impl in ("subpixel:lax", "subpixel:im2col"):
        np.testing.assert_allclose(cv.conv_transpose(x, k, 2, "same", data_format=data_format, impl=impl), want,
                                   rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("winner", ["lax", "flip:im2col"])
def test_stride_one_transposed_choice_equals_lax(tuning, monkeypatch, winner):
    timer = FakeTimer({winner: 0.1})
    monkeypatch.setattr(at, "measure", timer)
    x, k = arrays((4, 7, 7, 8), (3, 3, 16, 8))
    y = cv.conv_transpose(x, k, 1, "same")
    assert timer.calls == [["flip:im2col", "lax"]] and list(at.choices().values()) == [winner]
    np.testing.assert_allclose(y, cv.conv_transpose(x, k, 1, "same", impl="lax"), rtol=1e-4, atol=1e-4)


def test_loop_body_is_timed_in_a_scan_and_cached_apart(tuning, monkeypatch):
    timer = FakeTimer({"lax": 1.0, "im2col": 0.5}, run=True)
    monkeypatch.setattr(at, "measure", timer)
    x, k = arrays()
    cv.conv(x, k, 1, "same")

    def body(carry, _):
        return carry + jnp.sum(cv.conv(x, k, 1, "same")), None

    with at.loop_body():
        assert at.in_loop_body()
        total, _ = jax.jit(lambda: jax.lax.scan(body, 0.0, None, length=2))()
    assert not at.in_loop_body()
    assert len(timer.calls) == 2
    kinds = sorted(json.loads(key)[0] for key in stored(tuning))
    assert kinds == ["conv", "conv@loop"]
    np.testing.assert_allclose(total, 2 * jnp.sum(cv.conv(x, k, 1, "same", impl="lax")), rtol=1e-4)


def test_micro_batched_training_step_marks_its_loop(tuning, monkeypatch):
    from lamina.training import speed

    timer = FakeTimer({"lax": 1.0, "im2col": 0.5})
    monkeypatch.setattr(at, "measure", timer)
    x, k = arrays((32, 12, 12, 8))

    def grad_fn(tv, ntv, mv, xc, yc, swc, training):
        loss = jnp.mean(cv.conv(xc, tv, 1, "same") ** 2)
        return (loss, (loss, xc[:, 0, 0, :1], ntv, mv)), tv

    run = speed.micro_batched(grad_fn, 16, lambda key: None, jax.random.key(0))
    jax.eval_shape(run, k, (), (), x, x[:, 0, 0, :1], None, True)
    assert [json.loads(key)[0] for key in at.choices()] == ["conv@loop"]


class SequenceTimer:
    """Stands in for ``measure``: the n-th call returns the n-th dict of times; records names and keywords."""

    def __init__(self, *rounds):
        self.rounds, self.calls = list(rounds), []

    def __call__(self, fns, **kwargs):
        self.calls.append((sorted(fns), kwargs))
        times = self.rounds[len(self.calls) - 1]
        return {name: times[name] for name in fns}


def test_close_call_that_does_not_hold_keeps_lax(tuning, monkeypatch):
    # im2col looked 10% faster (a close call); the longer second look finds it slower: lax stays.
    timer = SequenceTimer({"lax": 1.0, "im2col": 0.9, "hybrid": 1.4}, {"lax": 1.0, "im2col": 1.03})
    monkeypatch.setattr(at, "measure", timer)
    assert at.choose({"lax": None, "im2col": None, "hybrid": None}) == "lax"
    assert [names for names, _ in timer.calls] == [["hybrid", "im2col", "lax"], ["im2col", "lax"]]
    assert timer.calls[1][1]["samples"] == at.CONFIRM_SAMPLES


def test_close_call_that_holds_and_a_clear_win_are_chosen(tuning, monkeypatch):
    held = SequenceTimer({"lax": 1.0, "im2col": 0.9}, {"lax": 1.0, "im2col": 0.92})
    monkeypatch.setattr(at, "measure", held)
    assert at.choose({"lax": None, "im2col": None}) == "im2col"
    assert len(held.calls) == 2
    clear = SequenceTimer({"lax": 1.0, "im2col": 0.5})
    monkeypatch.setattr(at, "measure", clear)
    assert at.choose({"lax": None, "im2col": None}) == "im2col"
    assert len(clear.calls) == 1  # a clear win is not timed again


def test_close_call_is_confirmed_once_per_shape_through_conv(tuning, monkeypatch):
    timer = SequenceTimer({"lax": 1.0, "im2col": 0.9}, {"lax": 1.0, "im2col": 1.1})
    monkeypatch.setattr(at, "measure", timer)
    x, k = arrays()
    cv.conv(x, k, 1, "same")
    cv.conv(x, k, 1, "same")
    assert len(timer.calls) == 2
    assert list(stored(tuning).values()) == ["lax"]


def test_user_loops_mark_their_bodies(tuning, monkeypatch):
    from lamina import ops

    timer = FakeTimer({"lax": 1.0, "im2col": 0.5})
    monkeypatch.setattr(at, "measure", timer)
    x, k = arrays()

    def conv_sum(_):
        return jnp.sum(cv.conv(x, k, 1, "same"))

    jax.eval_shape(lambda: ops.scan(lambda c, _: (c + conv_sum(None), None), 0.0, None, length=2))
    jax.eval_shape(lambda: ops.fori_loop(0, 2, lambda i, c: c + conv_sum(i), 0.0))
    jax.eval_shape(lambda: ops.while_loop(lambda c: c < 1.0, lambda c: c + conv_sum(None), 0.0))
    jax.eval_shape(lambda: ops.map(conv_sum, jnp.zeros(2)))
    assert [json.loads(key)[0] for key in at.choices()] == ["conv@loop"]
    assert not at.in_loop_body()
