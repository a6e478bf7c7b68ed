"""What the server tells a client about itself (guide rows 21, 22 and TRACE)."""

from __future__ import annotations

import re

import pytest

from support.harness import Pod, parse_raw

#: Sent in every probing request (URI, Host, headers, method): an error page
#: must not contain it.
MARKER = "zq7marker"
_ERROR_DOCUMENT = re.compile(r'^ErrorDocument (\d{3}) "(.*)"$', re.MULTILINE)


def fixed_pages(pod: Pod) -> dict[int, str]:
    """status -> fixed text, as the renderer wrote them into the include file."""
    return {int(code): text for code, text in _ERROR_DOCUMENT.findall(pod.config_data("hardening.conf"))}


#: (id, raw request, status Apache answers with). Each puts MARKER somewhere in the request.
_ERROR_REQUESTS = [
    pytest.param(
        f"GET /{MARKER} HTTP/1.1 junk\r\nHost: {MARKER}.test\r\n\r\n",
        400,
        id="400-malformed-request-line",
    ),
    pytest.param(
        f"GET /{MARKER} HTTP/1.1\r\nHost: {MARKER}.test\r\nX-{MARKER} no colon\r\nConnection: close\r\n\r\n",
        400,
        id="400-malformed-header",
    ),
    pytest.param(f"GET /{MARKER} HTTP/1.1\r\nConnection: close\r\n\r\n", 400, id="400-no-host"),
    pytest.param(
        f"TRACE /{MARKER} HTTP/1.1\r\nHost: {MARKER}.test\r\nX-Echo: {MARKER}\r\nConnection: close\r\n\r\n",
        405,
        id="405-trace",
    ),
    pytest.param(
        f"POST /upload?{MARKER} HTTP/1.1\r\nHost: {MARKER}.test\r\nContent-Length: 99999999\r\n"
        "Connection: close\r\n\r\n",
        413,
        id="413-body-over-limit",
    ),
    pytest.param(
        f"GET /{MARKER}{'a' * 9000} HTTP/1.1\r\nHost: {MARKER}.test\r\nConnection: close\r\n\r\n",
        414,
        id="414-uri-too-long",
    ),
    pytest.param(
        f"GET /raise?{MARKER} HTTP/1.1\r\nHost: {MARKER}.test\r\nConnection: close\r\n\r\n",
        500,
        id="500-unhandled-exception",
    ),
    # mod_wsgi refuses chunked request bodies with 411.
    pytest.param(
        f"PUT /upload?{MARKER} HTTP/1.1\r\nHost: {MARKER}.test\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        411,
        id="411-chunked-body",
    ),
    # A made-up method (HttpProtocolOptions RegisteredMethods); Apache's own page names it.
    pytest.param(
        f"X{MARKER} /upload HTTP/1.1\r\nHost: {MARKER}.test\r\nConnection: close\r\n\r\n",
        501,
        id="501-made-up-method",
    ),
    # Apache's 417 page quotes the Expect header it did not understand.
    pytest.param(
        f"GET / HTTP/1.1\r\nHost: {MARKER}.test\r\nExpect: 100-{MARKER}\r\nConnection: close\r\n\r\n",
        417,
        id="417-unknown-expectation",
    ),
]


@pytest.mark.parametrize(("request_text", "status"), _ERROR_REQUESTS)
def test_error_pages_are_fixed_and_echo_nothing(default_pod: Pod, request_text: str, status: int) -> None:
    """Every error Apache itself answers gets the fixed text the renderer wrote
    (spec.errorPages), and no part of the request (URI, Host, headers, method)
    nor the app's exception text shows up in the response."""
    got, headers, body = parse_raw(default_pod.raw(request_text.encode()))
    assert got == status
    text = body.decode("iso-8859-1")
    head = " ".join(headers.values())
    assert MARKER not in text and MARKER not in head
    assert "do-not-leak" not in text
    pages = fixed_pages(default_pod)
    assert status in pages, f"no fixed page for {status}; Apache sent: {text[:300]!r}"
    assert text == pages[status]


def test_server_header_has_no_version(default_pod: Pod) -> None:
    """``Server: Apache`` and nothing more, on app responses and on Apache's own
    errors alike; no version in any page either."""
    responses = [
        default_pod.get("/"),
        default_pod.get("/status?code=404"),
        default_pod.get("/raise"),
    ]
    for resp in responses:
        assert resp.headers.get_all("Server") == ["Apache"], resp.headers.items()
        assert "X-Powered-By" not in resp.headers
    for raw in (b"GET / HTTP/1.1 junk\r\n\r\n", b"TRACE / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"):
        _, headers, body = parse_raw(default_pod.raw(raw))
        assert headers["server"] == "Apache"
        assert b"Apache/" not in body and b"mod_wsgi" not in body


def test_trace_is_refused(default_pod: Pod) -> None:
    """TraceEnable Off: TRACE is answered 405 instead of echoing the request back
    (which would show the app's cookies and credentials to any script that can
    make the browser send it)."""
    raw = (
        f"TRACE / HTTP/1.1\r\nHost: app.test\r\nAuthorization: Basic {MARKER}\r\n"
        f"Cookie: session={MARKER}\r\nConnection: close\r\n\r\n"
    )
    status, _, body = parse_raw(default_pod.raw(raw.encode()))
    assert status == 405
    assert MARKER.encode() not in body
    # The app itself still answers other methods on the same URL.
    assert default_pod.get("/", method="OPTIONS").status == 200


def test_http_0_9_is_refused(default_pod: Pod) -> None:
    """HttpProtocolOptions Require1.0: a request line without a protocol (HTTP/0.9: no headers,
    no Host, and an answer with no status line) gets a 400, not the app's page."""
    answer = default_pod.raw(b"GET /\r\n")
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"hello" not in answer


@pytest.mark.parametrize("method", ["FOO", "GETX", "BREW"])
def test_made_up_methods_never_reach_the_app(default_pod: Pod, method: str) -> None:
    """HttpProtocolOptions RegisteredMethods: Apache answers 501 itself; the app, which answers
    any method it gets with 200, never sees it. A registered method still reaches it."""
    status, _, body = parse_raw(
        default_pod.raw(f"{method} / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode())
    )
    assert status == 501
    assert body.decode("iso-8859-1") == fixed_pages(default_pod)[501]
    assert default_pod.get("/", method="PATCH").status == 200
