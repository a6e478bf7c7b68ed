"""A bounded HTTP load generator for 127.0.0.1 (the real node's ingress), used while a rollout runs.

:class:`Load` runs ``workers`` threads; each sends ``GET path`` with a ``Host``
header on a new connection (``Connection: close``: no keep-alive race can
hide or invent a failure), waits for the complete response, pauses
``pause`` seconds and goes again, until :meth:`Load.stop`. Every request is
recorded: a failure is any answer other than ``expect_status`` (or a body
without ``expect_body``), or any connection error or timeout. The rate is
bounded by the worker count and the pause; the run by the caller's
``stop()`` (or ``max_seconds``, whichever comes first).
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Failure:
    at: float  # seconds since the start
    what: str


@dataclass
class LoadResult:
    seconds: float
    latencies: list[float]
    failures: list[Failure]

    @property
    def requests(self) -> int:
        return len(self.latencies) + len(self.failures)

    def percentile(self, p: float) -> float:
        """Latency percentile of the successful requests, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def summary(self) -> str:
        return (
            f"{self.requests} requests in {self.seconds:.1f}s ({self.requests / max(self.seconds, 1e-9):.0f}/s), "
            f"{len(self.failures)} failed, p50 {self.percentile(50):.1f} ms, p99 {self.percentile(99):.1f} ms, "
            f"max {self.percentile(100):.1f} ms"
        )


@dataclass
class Load:
    port: int
    host: str
    path: str = "/"
    workers: int = 4
    pause: float = 0.01
    timeout: float = 15
    expect_status: int = 200
    expect_body: str | None = None
    max_seconds: float = 900
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)
    _latencies: list[float] = field(default_factory=list)
    _failures: list[Failure] = field(default_factory=list)
    _t0: float = 0.0

    def _one(self) -> None:
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request("GET", self.path, headers={"Host": self.host, "Connection": "close"})
            resp = conn.getresponse()
            body = resp.read().decode("utf-8", "replace")
            if resp.status != self.expect_status or (self.expect_body is not None and self.expect_body not in body):
                problem: str | None = f"HTTP {resp.status}: {body[:120]!r}"
            else:
                problem = None
        except (OSError, http.client.HTTPException) as err:
            problem = f"{type(err).__name__}: {err}"
        finally:
            conn.close()
        elapsed = time.monotonic() - started
        with self._lock:
            if problem is None:
                self._latencies.append(elapsed)
            else:
                self._failures.append(Failure(round(started - self._t0, 3), problem))

    def _run(self) -> None:
        deadline = self._t0 + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            self._one()
            self._stop.wait(self.pause)

    def start(self) -> Load:
        self._t0 = time.monotonic()
        for i in range(self.workers):
            thread = threading.Thread(target=self._run, name=f"load-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def snapshot(self) -> tuple[int, int]:
        """(successful, failed) so far."""
        with self._lock:
            return len(self._latencies), len(self._failures)

    def stop(self) -> LoadResult:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        with self._lock:
            return LoadResult(time.monotonic() - self._t0, list(self._latencies), list(self._failures))
