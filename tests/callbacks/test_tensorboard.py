"""TensorBoard: event files read back by the real ``tensorboard`` package, with the tags, runs, steps and values
Keras's TensorBoard callback writes for the same training (Keras's callback runs with a recording stand-in for
``tf.summary``, since Keras needs TensorFlow to write files)."""

from __future__ import annotations

import contextlib
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator, plugin_event_accumulator  # a test extra
from tensorboard.compat.proto import event_pb2, summary_pb2  # noqa: E402
from tensorboard.plugins.histogram.summary_v2 import histogram_pb  # noqa: E402
from tensorboard.plugins.scalar.summary_v2 import scalar_pb  # noqa: E402
from tensorboard.util import tensor_util  # noqa: E402

import lamina
from lamina.callbacks import event_file

RNG = np.random.default_rng(3)
X, Y = RNG.normal(size=(64, 5)).astype("float32"), RNG.normal(size=(64, 1)).astype("float32")
XV, YV = RNG.normal(size=(16, 5)).astype("float32"), RNG.normal(size=(16, 1)).astype("float32")
FIT = dict(epochs=3, batch_size=16, shuffle=False, verbose=0, validation_data=(XV, YV))


# ------------------------------------------------------------------------------- the file format
def test_crc32c_and_record_framing(tmp_path):
    assert event_file.crc32c(b"123456789") == 0xE3069283  # the standard CRC-32C check value
    writer = event_file.EventFileWriter(tmp_path)
    writer.add_summary(event_file.scalar_summary("a", 1.5), step=7)
    writer.close()
    records = event_file.read_records(writer.path)
    first, second = (event_pb2.Event.FromString(r) for r in records)
    assert first.file_version == "brain.Event:2" and second.step == 7
    assert os.path.basename(writer.path).startswith("events.out.tfevents.") and writer.path.endswith(".v2")


@pytest.mark.parametrize("value", [0.5, -3.25, 1e-8, 0.0, float("inf")])
def test_scalar_summary_is_tensorboards(value):
    assert summary_pb2.Summary.FromString(event_file.scalar_summary("epoch_loss", value)) == scalar_pb(
        "epoch_loss", value)


@pytest.mark.parametrize("data", [np.arange(10.0), np.full(4, 2.0), np.zeros(0), RNG.normal(size=(7, 3))])
def test_histogram_summary_is_tensorboards(data):
    for buckets in (30, 1, 4):
        mine = summary_pb2.Summary.FromString(event_file.histogram_summary("w/histogram", data, buckets))
        assert mine == histogram_pb("w/histogram", data, buckets=buckets)


# ------------------------------------------------------------------------- against Keras's callback
class RecordingSummary:
    """What Keras's TensorBoard calls on ``tf.summary``, recorded as ``(run, tag, value, step)``."""

    def __init__(self):
        self.calls = []
        self.runs = []

    def create_file_writer(self, logdir):
        summary, run = self, os.path.basename(logdir)

        class Writer:
            @contextlib.contextmanager
            def as_default(self, step=None):
                summary.runs.append(run)
                try:
                    yield self
                finally:
                    summary.runs.pop()

            def flush(self):
                pass

            def close(self):
                pass

        return Writer()

    def record_if(self, condition):
        return contextlib.nullcontext()

    def scalar(self, name, data, step):
        if not self.runs:
            return  # tf.summary without a default writer writes nothing
        self.calls.append((self.runs[-1], name, float(np.asarray(data)), int(np.asarray(step))))

    def histogram(self, name, data, step):
        if not self.runs:
            return
        self.calls.append((self.runs[-1], name, np.asarray(data), int(np.asarray(step))))


def models_with_same_weights():
    import keras

    keras.backend.clear_session()  # the same automatic names (the tags hold them) however many models came before
    lamina.backend.clear_session()
    keras.utils.set_random_seed(1)
    theirs = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)])
    mine = lamina.Sequential([lamina.layers.Input((5,)), lamina.layers.Dense(4, activation="tanh"),
                              lamina.layers.Dense(1)])
    mine.set_weights(theirs.get_weights())
    for model in (theirs, mine):
        model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return mine, theirs


def read_run(folder):
    """``[(tag, value, step)]`` of every tensor event in a run folder, read by TensorBoard's EventAccumulator."""
    acc = event_accumulator.EventAccumulator(str(folder), size_guidance={event_accumulator.TENSORS: 0})
    acc.Reload()
    out = []
    for tag in acc.Tags()["tensors"]:
        for ev in acc.Tensors(tag):
            out.append((tag, tensor_util.make_ndarray(ev.tensor_proto), ev.step))
    return out


def as_keyed(calls):
    return sorted((run, tag, step) for run, tag, _, step in calls)


@pytest.mark.parametrize("update_freq, steps_per_second", [("epoch", False), ("batch", False), ("batch", True)])
def test_scalars_and_histograms_match_keras(tmp_path, update_freq, steps_per_second):
    import keras

    mine, theirs = models_with_same_weights()
    recorder = RecordingSummary()
    settings = dict(histogram_freq=1, write_graph=False, update_freq=update_freq,
                    write_steps_per_second=steps_per_second)
    keras_cb = keras.callbacks.TensorBoard(str(tmp_path / "keras"), **settings)
    keras_cb._summary_module = recorder
    theirs.fit(X, Y, callbacks=[keras_cb], **FIT)
    mine.fit(X, Y, callbacks=[lamina.callbacks.TensorBoard(str(tmp_path / "mine"), **settings)], **FIT)
    written = [(run, tag, value, step) for run in ("train", "validation")
               for tag, value, step in read_run(tmp_path / "mine" / run)]
    assert as_keyed(written) == as_keyed(recorder.calls)  # each tag once per step: nothing written twice
    expected = {(run, tag, step): value for run, tag, value, step in recorder.calls}
    for run, tag, value, step in written:
        want = expected[(run, tag, step)]
        if "steps_per_second" in tag:
            assert value > 0  # a timing: only its presence and sign can match
        elif tag.endswith("/histogram"):
            np.testing.assert_allclose(value, tensor_util.make_ndarray(histogram_pb(tag, want).value[0].tensor),
                                       atol=1e-5, err_msg=tag)
        else:
            np.testing.assert_allclose(value, want, rtol=1e-5, atol=1e-6, err_msg=f"{run}/{tag}@{step}")
    tags = {tag for tag, _, _ in read_run(tmp_path / "mine" / "validation")}
    assert tags == {"epoch_loss", "epoch_mae", "evaluation_loss_vs_iterations", "evaluation_mae_vs_iterations"}


def test_standalone_evaluate_writes_evaluation_scalars_as_keras(tmp_path):
    import keras

    mine, theirs = models_with_same_weights()
    theirs.fit(X, Y, **FIT)
    mine.fit(X, Y, **FIT)
    recorder = RecordingSummary()
    keras_cb = keras.callbacks.TensorBoard(str(tmp_path / "keras"), write_graph=False)
    keras_cb._summary_module = recorder
    theirs.evaluate(XV, YV, verbose=0, callbacks=[keras_cb])
    mine.evaluate(XV, YV, verbose=0, callbacks=[lamina.callbacks.TensorBoard(str(tmp_path / "mine"),
                                                                             write_graph=False)])
    run = read_run(tmp_path / "mine" / "validation")
    written = [("validation", tag, float(value), step) for tag, value, step in run]
    assert as_keyed(written) == as_keyed(recorder.calls)
    assert {step for *_, step in written} == {12}  # the optimizer's iterations: 3 epochs of 4 steps
    for (_, tag, value, _), (_, their_tag, their_value, _) in zip(sorted(written), sorted(recorder.calls)):
        assert tag == their_tag and value == pytest.approx(their_value, rel=1e-5)


def test_batch_frequency_counts_over_the_run_and_event_files_load_in_tensorboard(tmp_path):
    mine, _ = models_with_same_weights()
    mine.fit(X, Y, callbacks=[lamina.callbacks.TensorBoard(str(tmp_path), update_freq=3)], **FIT)
    steps = sorted(step for tag, _, step in read_run(tmp_path / "train") if tag == "batch_loss")
    assert steps == [3, 6, 9, 12]  # 4 batches an epoch, counted across epochs as Keras counts them
    # The loader TensorBoard's own dashboards use: scalars under the scalars plugin.
    acc = plugin_event_accumulator.EventAccumulator(str(tmp_path / "train"))
    acc.Reload()
    assert {"epoch_loss", "epoch_learning_rate", "batch_loss"} <= set(acc.PluginTagToContent("scalars"))
    assert [ev.step for ev in acc.Tensors("epoch_loss")] == [0, 1, 2]


def test_graph_is_the_models_json(tmp_path):
    import keras

    mine, theirs = models_with_same_weights()
    mine.fit(X, Y, callbacks=[lamina.callbacks.TensorBoard(str(tmp_path))], **FIT)
    acc = plugin_event_accumulator.EventAccumulator(str(tmp_path / "train"))
    acc.Reload()
    assert acc.PluginTagToContent("graph_keras_model") == {"keras": b"1"}
    (ev,) = acc.Tensors("keras")
    config = json.loads(tensor_util.make_ndarray(ev.tensor_proto).item())
    expected = json.loads(theirs.to_json())
    assert config["class_name"] == expected["class_name"] == "Sequential"
    # Input layers are named as in Keras 2 (input_1), by lamina's design; the others as Keras names them.
    assert ([(layer["class_name"], layer["config"]["name"]) for layer in config["config"]["layers"][1:]]
            == [(layer["class_name"], layer["config"]["name"]) for layer in expected["config"]["layers"][1:]])
    del keras


def test_unsupported_arguments_warn_and_bad_update_freq_raises(tmp_path):
    with pytest.warns(UserWarning, match="write_images, profile_batch"):
        lamina.callbacks.TensorBoard(str(tmp_path), write_images=True, profile_batch=2)
    with pytest.raises(ValueError, match="update_freq"):
        lamina.callbacks.TensorBoard(str(tmp_path), update_freq="sometimes")
    assert lamina.callbacks.TensorBoard(str(tmp_path), update_freq="batch").update_freq == 1
