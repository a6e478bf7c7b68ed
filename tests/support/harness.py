"""The runtime tests' harness: start a rendered WsgiApp as a container and talk to it on 127.0.0.1.

:class:`PodFactory` validates a WsgiApp (:func:`hello_manifest`: the example
app image with a spec patch deep-merged in), renders it, translates the
Deployment into ``docker run`` with :func:`support.podrun.translate`, starts it,
waits until it serves and returns a :class:`Pod` handle. :class:`SharedPods`
keeps one container per distinct spec for the whole session. The fixtures that
use these are in ``tests/runtime/conftest.py``; ``bench/http_bench.py`` uses
:func:`hello_manifest` too.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.manifests import wsgiapp_manifest
from support.podrun import LABEL, PodRun, docker, published_port, translate
from support.waiting import WaitTimeout, wait_for
from wsgi_operator.api import WsgiApp
from wsgi_operator.api.validation import validate
from wsgi_operator.render import RenderSettings, render

APP_IMAGE = "local/wsgi-hello:dev"
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

    def wait_until_serving(self, timeout: float = START_TIMEOUT) -> None:
        """Poll ``GET /`` until it answers 200; fail early (with the logs) if the container exits."""
        last = "no attempt"

        def serving() -> bool:
            nonlocal last
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

        try:
            wait_for(f"{self.name} to answer GET / with 200", serving, timeout, interval=0.1)
        except WaitTimeout as err:
            raise WaitTimeout(f"{err}; last answer: {last}\n{self.logs()}") from None

    def remove(self) -> None:
        """Remove the container and its anonymous (emptyDir) volumes."""
        docker("rm", "--force", "--volumes", self.container_id, check=False)


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
    ) -> Pod:
        """Validate, render and run one WsgiApp; with ``wait``, return once it serves.

        ``extra_objects`` are objects the cluster would already have, which
        the pod mounts (e.g. the user's ConfigMap named by spec.code.configMap).
        """
        app = validate(hello_manifest(spec_patch, name))
        objects = [*render(app, settings), *(dict(o) for o in extra_objects)]
        host_dir = self.workdir / uuid.uuid4().hex[:12]
        run = translate(objects, host_dir, labels={LABEL: self.run_id})
        run.write_files()
        proc = subprocess.run(run.argv, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"docker run failed ({proc.returncode}): {proc.stderr}\nargv: {run.argv}")
        cid = proc.stdout.strip()
        ip = docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", cid).stdout.strip()
        pod = Pod(app, objects, run, cid, published_port(cid, run.container_port), ip)
        self.started.append(pod)
        if wait:
            pod.wait_until_serving()
        return pod

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
