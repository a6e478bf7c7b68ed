"""Request limits and timeouts (guide rows 18, 19, 20): slow clients, big requests, long requests."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable

import pytest

from support.harness import Pod, SharedPods, parse_raw
from wsgi_operator.render.command import request_bound_seconds

#: Small limits so that over-limit requests are cheap to send.
LIMITS = {"requestBody": 1024, "requestFields": 20, "requestFieldSize": 512, "requestLine": 512}
#: RequestReadTimeout header=2-3,MinRate=500: a client gets 2 s for its headers,
#: 1 s more per 500 bytes received, never more than 3 s in all.
SLOW_HEADERS = {"header": 2, "headerMax": 3, "headerMinRate": 500}


@pytest.fixture
def limits_pod(pods: SharedPods) -> Pod:
    return pods.shared({"limits": LIMITS})


def _request(extra_headers: int = 0, path: str = "/", field: str = "") -> bytes:
    """A GET with Host, Connection and ``extra_headers`` more fields (so 2 + extra in all)."""
    lines = [f"GET {path} HTTP/1.1", "Host: app.test", "Connection: close"]
    lines += [f"X-Extra-{i}: v" for i in range(extra_headers)]
    if field:
        lines.append(field)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_slow_headers_are_cut_off(pods: SharedPods) -> None:
    """Slowloris: a client that trickles its headers (1 byte/s) is disconnected after
    the header timeout (408 or a plain close), long before it would finish; the
    server keeps serving everyone else."""
    pod = pods.shared({"timeouts": SLOW_HEADERS})
    trickle = b"X-Slowloris: " + b"a" * 40 + b"\r\n\r\n"
    received = b""
    closed_after = None
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", pod.host_port), timeout=1) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: app.test\r\n")
        for byte in trickle:
            try:
                s.sendall(bytes([byte]))
                chunk = s.recv(65536)  # waits up to the 1 s socket timeout: the trickle's pace
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                chunk = b""
            received += chunk
            if not chunk:
                closed_after = time.monotonic() - started
                break
    assert closed_after is not None, "the server waited for the whole slow header"
    # Cut off within the configured ceiling (plus slack for a busy machine), and
    # well before Apache's default header timeout of 15 s would have fired.
    assert closed_after < SLOW_HEADERS["headerMax"] + 5
    if received:
        status, _, body = parse_raw(received)
        assert status == 408
        assert b"Slowloris" not in body
    assert pod.get("/").status == 200


def test_body_over_limit_gets_413(limits_pod: Pod, default_pod: Pod) -> None:
    """limits.requestBody: a body up to the limit reaches the app, one byte more is 413.
    A declared length over the limit is refused before the body is read (the
    default limit, 10 MiB, applies without any spec)."""
    ok = limits_pod.get("/upload", method="POST", body=b"x" * 1024)
    assert (ok.status, ok.json()) == (200, {"length": 1024})
    assert limits_pod.get("/upload", method="POST", body=b"x" * 1025).status == 413

    limit = default_pod.app.spec.limits.request_body
    head = f"POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: {limit + 1}\r\nConnection: close\r\n\r\n"
    status, _, _ = parse_raw(default_pod.raw(head.encode()))
    assert status == 413


def test_request_header_limits_are_enforced(limits_pod: Pod) -> None:
    """limits.requestFields/requestFieldSize/requestLine reach httpd (they are set with
    ``httpd -C`` from the envvars script, because in the include file they would be
    silently ignored): 20 fields pass, 21 and 25 are refused, and so are a field or a
    request line over their size limit."""
    assert parse_raw(limits_pod.raw(_request(extra_headers=8)))[0] == 200  # 10 fields
    assert parse_raw(limits_pod.raw(_request(extra_headers=18)))[0] == 200  # 20 fields: the limit
    assert parse_raw(limits_pod.raw(_request(extra_headers=19)))[0] == 400  # 21
    assert parse_raw(limits_pod.raw(_request(extra_headers=23)))[0] == 400  # 25

    assert parse_raw(limits_pod.raw(_request(field="X-Big: " + "v" * 400)))[0] == 200
    assert parse_raw(limits_pod.raw(_request(field="X-Big: " + "v" * 600)))[0] == 400
    assert parse_raw(limits_pod.raw(_request(path="/" + "a" * 400)))[0] != 414
    assert parse_raw(limits_pod.raw(_request(path="/" + "a" * 600)))[0] == 414


def test_request_timeout_stops_a_request_and_server_recovers(private_pod: Callable[..., Pod]) -> None:
    """A request running past timeouts.request is stopped (its daemon process is
    replaced) and answered with an error instead of running to its end; the
    next request is served by the new daemon."""
    pod = private_pod({"server": {"processes": 1, "threads": 1}, "timeouts": {"request": 2, "shutdown": 2}})
    before = pod.get("/whoami").json()["pid"]
    # mod_wsgi fires at request x (1 + ln threads) (+ interrupt grace): 2 s with one thread.
    bound = request_bound_seconds(pod.app.spec.timeouts, pod.app.spec.server.threads)
    assert bound == 2

    sleep_for = 60
    try:
        resp = pod.get(f"/sleep?s={sleep_for}", timeout=sleep_for + 30)
        status, body = resp.status, resp.body
    except (ConnectionError, http.client.RemoteDisconnected):
        status, body = None, b""
    # Stopped, not finished: an error (or a dropped connection), not the view's "slept".
    assert status in (None, 502, 503, 504), (status, body)
    assert b"slept" not in body

    after = pod.get("/whoami")
    assert after.status == 200
    assert after.json()["pid"] != before
    assert pod.get("/").status == 200
