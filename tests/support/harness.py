"""The runtime tests' harness: start a rendered WsgiApp as a container and talk to it on 127.0.0.1.

:class:`PodFactory` validates a WsgiApp (:func:`hello_manifest`: the example
app image with a spec patch deep-merged in, or any manifest with
:meth:`PodFactory.start_manifest`), renders it, runs its release Job's pod to
completion first when the spec has one (as the operator does before it rolls
the Deployment), translates the Deployment into ``docker run`` with
:func:`support.podrun.translate`, starts it, waits until its startup probe
passes as the kubelet runs it, and returns a :class:`Pod` handle.
PersistentVolumeClaims are host directories the caller names (``claims``),
shared by the release pod and the server pod. :class:`SharedPods` keeps one
container per distinct spec for the whole session. The fixtures that use these
are in ``tests/runtime/conftest.py``; ``bench/http_bench.py`` uses
:func:`hello_manifest` too.
"""

from __future__ import annotations

import copy
import http.client
import json
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from support.manifests import wsgiapp_manifest
from support.podrun import LABEL, PodRun, docker, published_port, run_probe, translate, translate_job
from support.waiting import WaitTimeout, wait_for
from wsgi_operator.api import WsgiApp
from wsgi_operator.api.validation import validate
from wsgi_operator.render import RenderSettings, render
from wsgi_operator.render.job import release_job

APP_IMAGE = "local/wsgi-hello:dev"
#: The Django example's image (images/django, examples/django).
DJANGO_IMAGE = "local/wsgi-django:dev"
#: The writable directory every test app declares (besides the server root).
DATA_DIR = "/var/lib/hello"
#: Longest wait for a new container to answer its first request: the image
#: starts in well under a second here; this only bounds a broken start.
START_TIMEOUT = 60.0


#: What every runtime test app has: the example app image (never pulled), its
#: module, and one writable dir.
HELLO_SPEC: dict[str, Any] = {
    "image": APP_IMAGE,
    "imagePullPolicy": "Never",
    "entryPoint": {"module": "hello.wsgi"},
    "writableDirs": [{"name": "data", "mountPath": DATA_DIR, "sizeLimit": "16Mi"}],
}


def hello_manifest(spec_patch: Mapping[str, Any] | None = None, name: str = "hello") -> dict[str, Any]:
    """The runtime tests' WsgiApp (:data:`HELLO_SPEC`) with ``spec_patch`` deep-merged into its spec."""
    return wsgiapp_manifest(name, "runtime-tests", HELLO_SPEC, spec_patch)


# --- HTTP on 127.0.0.1 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """A complete HTTP response."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def http_request(
    port: int,
    path: str = "/",
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 30,
) -> Response:
    """One request on a new connection to 127.0.0.1:``port``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        return Response(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def raw_exchange(port: int, payload: bytes, timeout: float = 15) -> bytes:
    """Send ``payload`` on a new connection to 127.0.0.1:``port``; everything the
    server sends until it closes the connection (or ``timeout`` passes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def parse_raw(data: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body) of one raw HTTP/1.x response."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return status, headers, body


# --- a browser, and a TLS-terminating proxy in front of a pod ----------------------------------


def self_signed_cert(directory: Path, host: str) -> tuple[Path, Path]:
    """(certificate, key) for ``host`` and 127.0.0.1, made with openssl; valid one day."""
    cert, key = directory / "tls.crt", directory / "tls.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={host}",
            "-addext", f"subjectAltName=DNS:{host},IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


class TlsProxy:
    """What an ingress controller does, on 127.0.0.1: terminate TLS, then forward
    each request to the pod's published port with ``X-Forwarded-Proto: https`` and
    ``X-Forwarded-For`` (any such headers from the client replaced), one request
    per connection. Enough HTTP/1.1 for a browser-like client: Content-Length
    bodies only."""

    _DROP = frozenset({"connection", "keep-alive", "proxy-connection", "x-forwarded-proto", "x-forwarded-for"})

    def __init__(self, cert: Path, key: Path, upstream_port: int) -> None:
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ctx.load_cert_chain(cert, key)
        self._upstream = upstream_port
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, name="tls-proxy", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._sock.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, peer = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn, peer[0]), daemon=True).start()

    def _handle(self, conn: socket.socket, client_ip: str) -> None:
        try:
            with self._ctx.wrap_socket(conn, server_side=True) as tls:
                tls.settimeout(60)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = tls.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                request_line, *lines = head.decode("iso-8859-1").split("\r\n")
                headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines)]
                length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
                while len(body) < length:
                    chunk = tls.recv(65536)
                    if not chunk:
                        return
                    body += chunk
                kept = [(k, v) for k, v in headers if k.lower() not in self._DROP]
                kept += [("X-Forwarded-Proto", "https"), ("X-Forwarded-For", client_ip), ("Connection", "close")]
                out = "\r\n".join([request_line, *(f"{k}: {v}" for k, v in kept)]) + "\r\n\r\n"
                with socket.create_connection(("127.0.0.1", self._upstream), timeout=60) as up:
                    up.sendall(out.encode("iso-8859-1") + body)
                    while chunk := up.recv(65536):
                        tls.sendall(chunk)
        except (OSError, ssl.SSLError):
            return


@dataclass
class Browser:
    """A client with a cookie jar that speaks to 127.0.0.1:``port`` as ``host``:
    plain HTTP to a pod's published port, or HTTPS through a :class:`TlsProxy`
    (``cafile`` = its certificate). A new connection per request."""

    port: int
    host: str
    cafile: Path | None = None
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"{'https' if self.cafile else 'http'}://{self.host}"

    def request(
        self,
        path: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 60,
    ) -> Response:
        if self.cafile:
            ctx = ssl.create_default_context(cafile=str(self.cafile))
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=timeout, context=ctx
            )
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        sent = {"Host": self.host, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.request(method, path, body=body, headers=sent)
            resp = conn.getresponse()
            result = Response(resp.status, resp.headers, resp.read())
        finally:
            conn.close()
        for line in result.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        return result

    def post(
        self,
        path: str,
        fields: Mapping[str, str],
        files: Mapping[str, tuple[str, bytes]] | None = None,
        **kw: Any,
    ) -> Response:
        """A form POST: urlencoded, or multipart/form-data when ``files`` (field -> (filename, content))."""
        if files:
            boundary, body = multipart(fields, files)
            content_type = f"multipart/form-data; boundary={boundary}"
        else:
            body = urllib.parse.urlencode(dict(fields)).encode()
            content_type = "application/x-www-form-urlencoded"
        headers = {"Content-Type": content_type, **kw.pop("headers", {})}
        return self.request(path, method="POST", headers=headers, body=body, **kw)


def multipart(fields: Mapping[str, str], files: Mapping[str, tuple[str, bytes]]) -> tuple[str, bytes]:
    """(boundary, body) of a multipart/form-data request."""
    boundary = "----wsgi-operator-" + uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return boundary, b"".join(parts)


# --- pods ----------------------------------------------------------------------------------------


@dataclass
class Pod:
    """A running container that reproduces the pod of one rendered WsgiApp."""

    app: WsgiApp
    objects: list[dict[str, Any]]
    run: PodRun
    container_id: str
    host_port: int
    pod_ip: str

    @property
    def name(self) -> str:
        return self.app.metadata.name

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.host_port}"

    def config_data(self, key: str) -> str:
        """A file of the rendered ConfigMaps (e.g. ``hardening.conf``)."""
        for obj in self.objects:
            if obj["kind"] == "ConfigMap" and key in obj.get("data", {}):
                return str(obj["data"][key])
        raise KeyError(key)

    def get(self, path: str = "/", **kwargs: Any) -> Response:
        """A request to the app over its published port (see :func:`http_request`)."""
        return http_request(self.host_port, path, **kwargs)

    def raw(self, payload: bytes, timeout: float = 15) -> bytes:
        return raw_exchange(self.host_port, payload, timeout)

    def exec(self, *cmd: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """``docker exec`` as the container's user (the pod's runAsUser)."""
        return docker("exec", self.container_id, *cmd, check=check, timeout=timeout)

    def python(self, code: str, timeout: float = 60) -> Any:
        """Run ``code`` with the image's python3 in the container; it must print one JSON document."""
        return json.loads(self.exec("python3", "-c", code, timeout=timeout).stdout)

    def logs(self) -> str:
        """The container's stdout and stderr (Apache logs to stderr)."""
        proc = docker("logs", self.container_id, check=False)
        return proc.stdout + proc.stderr

    def state(self) -> dict[str, Any]:
        """``docker inspect``'s State of the container."""
        out = docker("inspect", "-f", "{{json .State}}", self.container_id, check=False).stdout
        return json.loads(out) if out.strip() else {}

    def probe_headers(self) -> dict[str, str]:
        """The headers the pod's httpGet startup probe sets (its Host), as requests from a client would carry."""
        probe = self.run.container.get("startupProbe") or {}
        return {h["name"]: h["value"] for h in (probe.get("httpGet") or {}).get("httpHeaders", [])}

    def wait_until_serving(self, timeout: float = START_TIMEOUT) -> None:
        """Until the startup probe succeeds as the kubelet runs it (``GET /`` without
        one); fail early (with the logs) if the container exits."""
        last = "no attempt"
        probe = self.run.container.get("startupProbe")

        def serving() -> bool:
            nonlocal last
            if probe:
                result = run_probe(probe, self.run, self.container_id, self.host_port, self.pod_ip)
                if result.success:
                    return True
                last = result.detail
            else:
                try:
                    resp = self.get("/", timeout=5)
                    if resp.status == 200:
                        return True
                    last = f"HTTP {resp.status}"
                except (OSError, http.client.HTTPException) as exc:
                    last = f"{type(exc).__name__}: {exc}"
            if not self.state().get("Running", False):
                raise RuntimeError(f"container of {self.name} exited: {self.state()}\n{self.logs()}")
            return False

        what = "its startup probe to succeed" if probe else "GET / with 200"
        try:
            wait_for(f"{self.name}: {what}", serving, timeout, interval=0.1)
        except WaitTimeout as err:
            raise WaitTimeout(f"{err}; last answer: {last}\n{self.logs()}") from None

    def remove(self) -> None:
        """Remove the container and its anonymous (emptyDir) volumes."""
        docker("rm", "--force", "--volumes", self.container_id, check=False)


@dataclass(frozen=True)
class JobRun:
    """A Job's pod that ran to completion."""

    job: dict[str, Any]
    run: PodRun
    exit_code: int
    logs: str


class ReleaseFailed(RuntimeError):
    """The release Job's pod did not succeed: the operator would not roll the Deployment."""


@dataclass
class PodFactory:
    """Starts pods for one test session; remembers them so they can all be removed."""

    run_id: str
    workdir: Path
    started: list[Pod] = field(default_factory=list)

    def start(
        self,
        spec_patch: Mapping[str, Any] | None = None,
        *,
        name: str = "hello",
        settings: RenderSettings | None = None,
        extra_objects: Sequence[Mapping[str, Any]] = (),
        wait: bool = True,
        claims: Mapping[str, Path] | None = None,
    ) -> Pod:
        """Validate, render and run one WsgiApp (:func:`hello_manifest` with
        ``spec_patch``); with ``wait``, return once it serves.

        ``extra_objects`` are objects the cluster would already have, which
        the pod mounts (e.g. the user's ConfigMap named by spec.code.configMap).
        """
        return self.start_manifest(
            hello_manifest(spec_patch, name), settings=settings, extra_objects=extra_objects, wait=wait, claims=claims
        )

    def start_manifest(
        self,
        manifest: Mapping[str, Any],
        *,
        settings: RenderSettings | None = None,
        extra_objects: Sequence[Mapping[str, Any]] = (),
        wait: bool = True,
        claims: Mapping[str, Path] | None = None,
        release: bool = True,
    ) -> Pod:
        """Validate, render and run any WsgiApp manifest; with ``wait``, return once it serves.

        With spec.release (and ``release``), the release Job's pod runs to
        completion first and must succeed (:class:`ReleaseFailed` otherwise).
        ``claims`` maps each PersistentVolumeClaim name to its host directory.
        """
        app = validate(dict(manifest))
        objects = [*render(app, settings), *(dict(o) for o in extra_objects)]
        if release and app.spec.release is not None:
            done = self.run_job(self.release_job(app), objects, claims=claims)
            if done.exit_code != 0:
                raise ReleaseFailed(f"release of {app.metadata.name} exited {done.exit_code}:\n{done.logs}")
        host_dir = self.workdir / uuid.uuid4().hex[:12]
        run = translate(objects, host_dir, labels={LABEL: self.run_id}, claims=claims)
        run.write_files()
        proc = subprocess.run(run.argv, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"docker run failed ({proc.returncode}): {proc.stderr}\nargv: {run.argv}")
        cid = proc.stdout.strip()
        ip = docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", cid).stdout.strip()
        assert run.container_port is not None
        pod = Pod(app, objects, run, cid, published_port(cid, run.container_port), ip)
        self.started.append(pod)
        if wait:
            pod.wait_until_serving()
        return pod

    @staticmethod
    def release_job(app: WsgiApp) -> dict[str, Any]:
        """The rendered release Job of ``app`` (which must have spec.release)."""
        job = release_job(app)
        if job is None:
            raise ValueError(f"{app.metadata.name} has no spec.release")
        return job

    def run_job(
        self,
        job: Mapping[str, Any],
        objects: Sequence[Mapping[str, Any]],
        *,
        claims: Mapping[str, Path] | None = None,
        command: Sequence[str] | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> JobRun:
        """Run a Job's pod to completion, as one attempt of the Job controller.

        ``command`` and ``extra_env`` change the pod's container before it is
        translated (a second release-style run, e.g. createsuperuser); the
        container is removed afterwards, its logs kept in the result.
        """
        job = copy.deepcopy(dict(job))
        container = job["spec"]["template"]["spec"]["containers"][0]
        if command is not None:
            container["command"] = list(command)
        if extra_env:
            container["env"] = [*container.get("env", []), *({"name": k, "value": v} for k, v in extra_env.items())]
        host_dir = self.workdir / uuid.uuid4().hex[:12]
        run = translate_job(job, objects, host_dir, labels={LABEL: self.run_id}, claims=claims)
        run.write_files()
        proc = subprocess.run(run.argv, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"docker run failed ({proc.returncode}): {proc.stderr}\nargv: {run.argv}")
        cid = proc.stdout.strip()
        try:
            deadline = run.deadline_seconds or 600
            try:
                code = int(docker("wait", cid, timeout=deadline).stdout.strip())
            except subprocess.TimeoutExpired:
                # activeDeadlineSeconds: the Job controller deletes the pod.
                docker("kill", cid, check=False)
                code = -1
            logs = docker("logs", cid, check=False)
            return JobRun(job, run, code, logs.stdout + logs.stderr)
        finally:
            docker("rm", "--force", "--volumes", cid, check=False)

    def remove_all(self) -> None:
        """Remove every container of this run, including any a crashed helper left behind."""
        for pod in self.started:
            pod.remove()
        left = docker("ps", "-aq", "--filter", f"label={LABEL}={self.run_id}", check=False).stdout.split()
        if left:
            docker("rm", "--force", "--volumes", *left, check=False)


class SharedPods:
    """One container per distinct spec, shared by every test of the session that asks for it."""

    def __init__(self, factory: PodFactory) -> None:
        self._factory = factory
        self._pods: dict[str, Pod] = {}

    def shared(
        self,
        spec_patch: Mapping[str, Any] | None = None,
        *,
        name: str = "hello",
        extra_objects: Sequence[Mapping[str, Any]] = (),
    ) -> Pod:
        """The running pod for this spec; started on first use. Tests must not stop it."""
        key = json.dumps({"name": name, "spec": spec_patch or {}, "extra": list(extra_objects)}, sort_keys=True)
        pod = self._pods.get(key)
        if pod is None or not pod.state().get("Running", False):
            pod = self._factory.start(spec_patch, name=name, extra_objects=extra_objects)
            self._pods[key] = pod
        return pod
