"""A plain-HTTP reverse proxy in front of the real API server that can hold requests.

Tests put it between a client under test (the operator) and the API server to
decide the moment something happens, instead of hoping a poll catches it: it
forwards requests until a rule says "hold", and then keeps every request the
rule matches unanswered (and unsent) until ``release()``. So "kill the
operator in the middle of a reconcile" becomes: forward N applies, hold the
next, wait until one is held, kill.

The client talks plain HTTP to 127.0.0.1 with no credentials (``kubeconfig()``
writes such a kubeconfig); the proxy talks TLS to the API server with the
credentials of the kubeconfig it was given. It understands just enough
HTTP/1.1 to find where each request and response ends (Content-Length,
chunked, or close), which covers the kubernetes client, kopf's aiohttp and
their watch streams; bytes are relayed as they arrive.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

_HEAD_END = b"\r\n\r\n"


@dataclass(frozen=True)
class Request:
    """What the proxy saw of one request: enough for a hold rule to match on."""

    method: str
    target: str
    headers: dict[str, str]

    @property
    def is_apply(self) -> bool:
        """A server-side apply (PATCH with the apply-patch content type)."""
        return self.method == "PATCH" and self.headers.get("content-type", "").startswith("application/apply-patch")


@dataclass
class _Rule:
    """Forward the first ``allow`` requests that ``matches``; hold every later one."""

    matches: Callable[[Request], bool]
    allow: int
    forwarded: int = 0


@dataclass
class _Upstream:
    host: str
    port: int
    tls: ssl.SSLContext | None
    server_hostname: str | None
    token: str | None


def _upstream_from_kubeconfig(path: Path, scratch: Path) -> _Upstream:
    """Where and how to reach the API server of ``path``'s current context."""
    cfg = yaml.safe_load(path.read_text())
    context = next(c["context"] for c in cfg["contexts"] if c["name"] == cfg["current-context"])
    cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == context["cluster"])
    user = next((u["user"] for u in cfg.get("users") or [] if u["name"] == context.get("user")), {}) or {}

    def file_of(key: str, section: dict[str, Any]) -> str | None:
        if section.get(key):
            return section[key]
        if section.get(f"{key}-data"):
            out = scratch / key
            out.write_bytes(base64.b64decode(section[f"{key}-data"]))
            return str(out)
        return None

    url = urlsplit(cluster["server"])
    tls = None
    if url.scheme == "https":
        tls = ssl.create_default_context(cafile=file_of("certificate-authority", cluster))
        if cluster.get("insecure-skip-tls-verify"):
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE
        cert = file_of("client-certificate", user)
        if cert:
            tls.load_cert_chain(cert, file_of("client-key", user))
    port = url.port or (443 if url.scheme == "https" else 80)
    return _Upstream(url.hostname or "127.0.0.1", port, tls, url.hostname if tls else None, user.get("token"))


def _parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    """(first line, headers with lower-case names) of an HTTP message head."""
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


async def _relay_body(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None, headers: dict[str, str], *, until_eof: bool
) -> bytes:
    """Copy one message body from ``reader`` to ``writer`` as it arrives; return it when not relayed."""
    kept = bytearray()

    async def emit(data: bytes) -> None:
        if writer is None:
            kept.extend(data)
        else:
            writer.write(data)
            await writer.drain()

    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            await emit(size_line)
            if size == 0:
                # Trailers (usually none), up to the empty line.
                while True:
                    line = await reader.readuntil(b"\r\n")
                    await emit(line)
                    if line == b"\r\n":
                        return bytes(kept)
            await emit(await reader.readexactly(size + 2))
    elif "content-length" in headers:
        remaining = int(headers["content-length"])
        while remaining:
            data = await reader.read(min(remaining, 65536))
            if not data:
                raise asyncio.IncompleteReadError(b"", remaining)
            remaining -= len(data)
            await emit(data)
    elif until_eof:
        while data := await reader.read(65536):
            await emit(data)
    return bytes(kept)


@dataclass
class HoldingProxy:
    """The proxy: ``start()``, point a client at ``kubeconfig()``, set ``hold_after()``, ``wait_until()``."""

    upstream_kubeconfig: Path
    scratch: Path
    port: int = 0
    #: Requests sent to the API server whose response came back in full, in order.
    completed: list[Request] = field(default_factory=list)
    #: Requests held by the rule, not sent.
    held: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._upstream = _upstream_from_kubeconfig(self.upstream_kubeconfig, self.scratch)
        self._rule: _Rule | None = None
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._release: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None

    # -- control, from the test's thread ---------------------------------

    def start(self) -> HoldingProxy:
        """Listen on 127.0.0.1 (``port``, or a free one) in a background thread."""
        started = threading.Event()

        async def serve() -> None:
            self._release = asyncio.Event()
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
            self.port = self._server.sockets[0].getsockname()[1]
            started.set()

        def main() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=main, name="api-proxy", daemon=True)
        self._thread.start()
        if not started.wait(30):
            raise RuntimeError("the API proxy did not start listening")
        return self

    def stop(self) -> None:
        """Close the listener and every connection, and end the thread."""
        if self._thread is None:
            return

        async def close() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._thread = None

    def kubeconfig(self, path: Path, namespace: str = "default") -> Path:
        """Write a kubeconfig that reaches the API server through this proxy, and return its path."""
        server = {"server": f"http://127.0.0.1:{self.port}"}
        cfg = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "proxy", "cluster": server}],
            "users": [{"name": "proxy", "user": {}}],
            "contexts": [{"name": "proxy", "context": {"cluster": "proxy", "user": "proxy", "namespace": namespace}}],
            "current-context": "proxy",
        }
        path.write_text(yaml.safe_dump(cfg))
        return path

    def hold_after(self, allow: int, matches: Callable[[Request], bool]) -> None:
        """From now on, forward ``allow`` more requests that ``matches``, then hold every later one."""
        with self._changed:
            self._rule = _Rule(matches, allow)

    def release(self) -> None:
        """Drop the rule and send every held request on."""
        with self._changed:
            self._rule = None
        self._loop.call_soon_threadsafe(self._set_release)

    def wait_until(self, what: str, predicate: Callable[[HoldingProxy], bool], timeout: float = 120) -> None:
        """Block until ``predicate(self)`` holds; it is re-checked on every request held or completed.

        No polling: the proxy wakes the waiter when its state changes. The
        timeout only turns a hang into a failure.
        """
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self), timeout):
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what}: "
                    f"{len(self.completed)} requests completed, {len(self.held)} held"
                )

    # -- the proxy, in its own event loop --------------------------------

    def _set_release(self) -> None:
        assert self._release is not None
        self._release.set()

    def _decide(self, request: Request) -> bool:
        """True if ``request`` is to be held."""
        with self._changed:
            rule = self._rule
            if rule is None or not rule.matches(request):
                return False
            if rule.forwarded < rule.allow:
                rule.forwarded += 1
                return False
            self.held.append(request)
            self._changed.notify_all()
            return True

    def _record(self, request: Request) -> None:
        with self._changed:
            self.completed.append(request)
            self._changed.notify_all()

    def _request_head(self, head: bytes) -> tuple[Request, bytes]:
        """The parsed request, and its head as sent upstream (with the proxy's credentials)."""
        first, headers = _parse_head(head)
        method, target, _ = first.split(" ", 2)
        lines = [first] + [
            line
            for line in head.decode("latin-1").split("\r\n")[1:]
            if line and not line.lower().startswith("authorization:")
        ]
        if self._upstream.token:
            lines.append(f"Authorization: Bearer {self._upstream.token}")
        return Request(method, target, headers), ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        up = self._upstream
        upstream_w: asyncio.StreamWriter | None = None
        try:
            upstream_r, upstream_w = await asyncio.open_connection(
                up.host, up.port, ssl=up.tls, server_hostname=up.server_hostname
            )
            while True:
                head = await client_r.readuntil(_HEAD_END)
                request, sent_head = self._request_head(head)
                body = await _relay_body(client_r, None, request.headers, until_eof=False)
                if self._decide(request):
                    assert self._release is not None
                    await self._release.wait()
                upstream_w.write(sent_head + body)
                await upstream_w.drain()

                response_head = await upstream_r.readuntil(_HEAD_END)
                status_line, response_headers = _parse_head(response_head)
                client_w.write(response_head)
                await client_w.drain()
                status = int(status_line.split(" ", 2)[1])
                if request.method != "HEAD" and status not in (204, 304) and status >= 200:
                    await _relay_body(upstream_r, client_w, response_headers, until_eof=True)
                self._record(request)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # either side went away: so does the other
        finally:
            for w in (client_w, upstream_w):
                if w is not None:
                    w.close()
