"""Fixtures of the dataset tests: ``serve`` starts a file server on 127.0.0.1."""

from tests.utils.local_server import serve  # noqa: F401
