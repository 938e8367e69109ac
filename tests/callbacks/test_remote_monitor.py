"""RemoteMonitor posts what Keras's RemoteMonitor posts, to a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import os
import socket
import threading
import urllib.parse

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

import lamina
from lamina import callbacks as cbs
from tests.callbacks.fake_training import FakeModel, KerasAdapter, fit

EPOCH_LOGS = [{"loss": np.float32(0.5), "accuracy": np.array(0.25), "note": "a b&c"},
              {"loss": 0.125, "accuracy": np.float64(0.75), "note": "ü"}]


@pytest.fixture
def server():
    """A server on a free local port recording each POST as ``(path, headers, body)``."""
    posts = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            posts.append((self.path, dict(self.headers), body))
            self.send_response(200 if self.path != "/fail" else 500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", posts
    httpd.shutdown()
    httpd.server_close()


def posted(lib_callback, posts, keras=False):
    del posts[:]
    fit(FakeModel(), [KerasAdapter(lib_callback) if keras else lib_callback], EPOCH_LOGS)
    return list(posts)


@pytest.mark.parametrize("send_as_json", [False, True])
def test_payload_matches_keras(server, send_as_json):
    import keras

    root, posts = server
    settings = dict(root=root, path="/events/", field="payload", headers={"X-Run": "seven"},
                    send_as_json=send_as_json)
    mine = posted(cbs.RemoteMonitor(**settings), posts)
    theirs = posted(keras.callbacks.RemoteMonitor(**settings), posts, keras=True)
    assert len(mine) == len(theirs) == 2
    for (path, headers, body), (their_path, their_headers, their_body) in zip(mine, theirs):
        assert path == their_path == "/events/"
        assert body == their_body
        for name in ("Content-Type", "X-Run", "Content-Length"):
            assert headers[name] == their_headers[name], name
    first = mine[0][2].decode()
    sent = json.loads(first) if send_as_json else json.loads(urllib.parse.parse_qs(first)["payload"][0])
    assert sent == {"epoch": 0, "loss": 0.5, "accuracy": 0.25, "note": "a b&c"}


def test_unreachable_server_and_error_status_as_keras(server):
    import keras

    root, posts = server
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    for callback in (cbs.RemoteMonitor(root=closed), KerasAdapter(keras.callbacks.RemoteMonitor(root=closed))):
        with pytest.warns(UserWarning, match="Could not reach RemoteMonitor root server"):
            fit(FakeModel(), [callback], EPOCH_LOGS[:1])
    import warnings

    for callback in (cbs.RemoteMonitor(root=root, path="/fail"),
                     KerasAdapter(keras.callbacks.RemoteMonitor(root=root, path="/fail"))):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fit(FakeModel(), [callback], EPOCH_LOGS[:1])
    for callback in (cbs.RemoteMonitor(root=root, send_as_json=True),
                     KerasAdapter(keras.callbacks.RemoteMonitor(root=root, send_as_json=True))):
        with pytest.warns(UserWarning, match="Could not reach"):  # NaN is not JSON
            fit(FakeModel(), [callback], [{"loss": float("nan")}])


def test_in_fit_posts_every_epoch(server):
    root, posts = server
    model = lamina.Sequential([lamina.layers.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=3, verbose=0, validation_split=0.25,
              callbacks=[cbs.RemoteMonitor(root=root, send_as_json=True)])
    sent = [json.loads(body) for _, _, body in posts]
    assert [s["epoch"] for s in sent] == [0, 1, 2] and sorted(sent[0]) == ["epoch", "loss", "val_loss"]
