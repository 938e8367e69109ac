"""``RemoteMonitor``: post each epoch's logs to a server, with the standard library (Keras needs ``requests``)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings
from typing import Any

import numpy as np

from lamina.callbacks.callback import Callback, Logs


class RemoteMonitor(Callback):
    """Send ``{"epoch": epoch, **logs}`` to ``root + path`` with an HTTP POST at the end of every epoch.

    The body is what Keras's ``RemoteMonitor`` posts: a form with the JSON text in ``field``
    (``data=...``), or with ``send_as_json=True`` the JSON itself (``Content-Type: application/json``).
    An unreachable server gives a warning, not an error.

    Args:
        root: the server's root URL.
        path: the path the events are posted to.
        field: the form field holding the JSON (when ``send_as_json`` is false).
        headers: extra HTTP headers (a dict).
        send_as_json: post the JSON as the request body.
        timeout: seconds to wait for the server (lamina's addition; Keras waits indefinitely).

    >>> RemoteMonitor(root="http://127.0.0.1:9000").path
    '/publish/epoch/end/'
    """

    def __init__(self, root: str = "http://localhost:9000", path: str = "/publish/epoch/end/", field: str = "data",
                 headers: dict[str, str] | None = None, send_as_json: bool = False, timeout: float | None = 30.0
                 ) -> None:
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json
        self.timeout = timeout

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        send: dict[str, Any] = {"epoch": epoch}
        for key, value in (logs or {}).items():
            send[key] = value.item() if isinstance(value, (np.ndarray, np.generic)) else value
        try:
            if self.send_as_json:
                body = json.dumps(send, allow_nan=False).encode()  # NaN is refused, as requests refuses it
                content_type = "application/json"
            else:
                body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode()
                content_type = "application/x-www-form-urlencoded"
            headers = {"Content-Type": content_type, **(self.headers or {})}
            request = urllib.request.Request(self.root + self.path, data=body, headers=headers, method="POST")
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError:
            pass  # the server answered: requests does not raise on an error status, so Keras does not warn
        except (urllib.error.URLError, OSError, ValueError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}", stacklevel=2)
