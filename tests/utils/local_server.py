"""A file server on 127.0.0.1 for the download tests (never the internet).

``serve(files)`` starts a server for one test; ``files`` maps a URL path to bytes. A path ending in ``!cut`` sends
half of its bytes with the full ``Content-Length`` and closes, like an interrupted download.
"""

from __future__ import annotations

import http.server
import threading

import pytest


class LocalServer:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                outer.requests.append(self.path)
                name = self.path.lstrip("/")
                cut = name.endswith("!cut")
                body = outer.files.get(name.removesuffix("!cut"))
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if cut else body)
                if cut:
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.timer = threading.Timer(60.0, self.stop)
        self.timer.daemon = True
        self.timer.start()

    def stop(self) -> None:
        self.timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers: list[LocalServer] = []

    def start(files: dict[str, bytes]) -> LocalServer:
        server = LocalServer(files)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
