"""Polling and ports: the one ``wait_for`` and the one ``free_port`` of the tests and benchmarks."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """What :func:`wait_for` was waiting for did not happen in time (a test failure, not an error)."""


def wait_for(what: str, predicate: Callable[[], T], timeout: float = 60, interval: float = 0.25) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that.

    Raises :class:`WaitTimeout` naming ``what`` and the last value after
    ``timeout`` seconds. Exceptions from ``predicate`` propagate at once, so a
    predicate can stop the wait early (say, when the process it waits on died).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise WaitTimeout(f"timed out after {timeout}s waiting for {what} (last value: {value!r})")
        time.sleep(interval)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now (for a server that must be told one)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
