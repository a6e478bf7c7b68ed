"""The end-to-end tier's view of the real node (hack/k8s/node.sh, docs/real-node.md).

What a test needs to run WsgiApps that really run: the spec patch that puts
pods on the real node (:data:`ON_REAL_NODE`), the operator flags that make its
NetworkPolicies admit the node's ingress controller (:data:`INGRESS_OPERATOR_ARGS`),
a kubectl bound to one namespace with helpers for pods (:class:`Namespace`),
client pods that probe connections from inside the cluster
(:meth:`Namespace.client_pod`, :meth:`Namespace.probe`), and HTTP through the
ingress on 127.0.0.1 (:func:`ingress_get`).

Every network call goes to 127.0.0.1 or to pod and Service addresses of the
local cluster; a probe that must fail uses a bounded connect timeout, and
tests pair it with a probe from the same client that must succeed.
"""

from __future__ import annotations

import copy
import http.client
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from support.kubectl import Kubectl
from support.manifests import wsgiapp_manifest
from support.waiting import WaitTimeout, wait_for

REAL_NODE = "real-node-0"
#: The real node's label and taint key (value "true", effect NoSchedule).
NODE_LABEL = "wsgi-operator.io/real-node"
#: Images built by `make images` and copied into the node by the e2e fixtures.
RUNTIME_IMAGE = "local/wsgi-runtime:dev"
HELLO_IMAGE = "local/wsgi-hello:dev"
APP_LABEL = "wsgi-operator.io/app"
#: Who the node's ingress controller is (hack/k8s/addons/traefik.yaml), as
#: `wsgi-operator run` flags: the operator's NetworkPolicies admit exactly it.
INGRESS_NAMESPACE = "traefik"
INGRESS_OPERATOR_ARGS = (
    f"--ingress-namespace-labels=kubernetes.io/metadata.name={INGRESS_NAMESPACE}",
    "--ingress-pod-labels=app.kubernetes.io/name=traefik",
)
INGRESS_CLASS = "traefik"
#: The Gateway an HTTPRoute attaches to (GatewayClass traefik).
GATEWAY = {"name": "traefik", "namespace": "traefik"}
#: Pod Security `restricted`, enforced.
RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}

#: A pod securityContext Pod Security `restricted` admits, for pods written by hand (clients, baselines).
RESTRICTED_POD_SECURITY: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}

#: Pods select and tolerate the real node (the kwok node runs no containers).
ON_REAL_NODE: dict[str, Any] = {
    "nodeSelector": {NODE_LABEL: "true"},
    "tolerations": [{"key": NODE_LABEL, "operator": "Exists", "effect": "NoSchedule"}],
}

#: The example app (examples/app) on the real node, with one writable dir.
HELLO_SPEC: dict[str, Any] = {
    "image": HELLO_IMAGE,
    "imagePullPolicy": "IfNotPresent",
    "entryPoint": {"module": "hello.wsgi"},
    "writableDirs": [{"name": "data", "mountPath": "/var/lib/hello", "sizeLimit": "16Mi"}],
    "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}},
    **ON_REAL_NODE,
}


def hello_app(name: str, namespace: str, *patches: Mapping[str, Any] | None) -> dict[str, Any]:
    """A WsgiApp of the example app on the real node, with ``patches`` deep-merged into its spec."""
    return wsgiapp_manifest(name, namespace, HELLO_SPEC, *patches)


#: Runs in a client pod (python3 -c PROBE JSON): one TCP connection, and an
#: HTTP/1.1 GET on it when asked; prints one JSON document.
PROBE = r"""
import json, socket, sys, time
a = json.loads(sys.argv[1])
out = {"connected": False}
t = time.monotonic()
try:
    s = socket.create_connection((a["host"], a["port"]), timeout=a["timeout"])
    out["connected"] = True
    if a["path"] is not None:
        s.settimeout(a["timeout"])
        req = "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (a["path"], a["hostHeader"])
        s.sendall(req.encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        out["status"] = int(head.split()[1]) if head else None
        out["body"] = body.decode("utf-8", "replace")[:4000]
    s.close()
except OSError as e:
    out["error"] = "%s: %s" % (type(e).__name__, e)
out["seconds"] = round(time.monotonic() - t, 3)
print(json.dumps(out))
"""

#: Runs in a pod: resolve a name with the pod's resolver (the cluster DNS).
RESOLVE = r"""
import json, socket, sys
try:
    print(json.dumps({"addresses": sorted({ai[4][0] for ai in socket.getaddrinfo(sys.argv[1], 80, socket.AF_INET)})}))
except OSError as e:
    print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
"""


@dataclass(frozen=True)
class Probe:
    """The outcome of one connection attempt from inside a pod."""

    connected: bool
    seconds: float
    status: int | None = None
    body: str = ""
    error: str | None = None

    @property
    def refused_or_timed_out(self) -> bool:
        """The connection itself did not succeed (a policy REJECT or DROP), for another reason than a bad probe."""
        return (
            not self.connected
            and self.error is not None
            and ("ConnectionRefused" in self.error or "timed out" in self.error or "TimeoutError" in self.error)
        )


@dataclass(frozen=True)
class Namespace:
    """kubectl bound to one namespace, with helpers for WsgiApps and pods on the real node."""

    kubectl: Kubectl
    name: str

    def __call__(self, *args: str, **kwargs: Any) -> Any:
        # The namespace first: after `exec POD --` everything is the command.
        return self.kubectl("-n", self.name, *args, **kwargs)

    def apply(self, obj: Mapping[str, Any], manager: str = "e2e") -> dict[str, Any]:
        """Server-side apply ``obj`` in this namespace; the object as stored."""
        proc = self(
            "apply",
            "--server-side",
            "--force-conflicts",
            f"--field-manager={manager}",
            "-o",
            "json",
            "-f",
            "-",
            input=json.dumps(obj),
        )
        return json.loads(proc.stdout)

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        proc = self("get", kind, name, "-o", "json", "--ignore-not-found")
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def items(self, kind: str, selector: str | None = None) -> list[dict[str, Any]]:
        args = ["get", kind, "-o", "json"] + (["-l", selector] if selector else [])
        return json.loads(self(*args).stdout)["items"]

    def condition(self, app: str, type_: str = "Ready") -> dict[str, Any]:
        obj = self.get("wsgiapp", app) or {}
        return next((c for c in (obj.get("status") or {}).get("conditions", []) if c["type"] == type_), {})

    def wait_app_ready(self, app: str, timeout: float = 300) -> dict[str, Any]:
        """Wait until the WsgiApp is Ready at its current generation and every pod of it runs the current spec."""

        def ready() -> dict[str, Any] | None:
            obj = self.get("wsgiapp", app)
            status = (obj or {}).get("status") or {}
            cond = next((c for c in status.get("conditions", []) if c["type"] == "Ready"), {})
            current = obj is not None and status.get("observedGeneration") == obj["metadata"]["generation"]
            return obj if current and cond.get("status") == "True" else None

        try:
            return wait_for(f"WsgiApp {self.name}/{app} Ready", ready, timeout, interval=1)
        except WaitTimeout as err:
            raise WaitTimeout(f"{err}; Ready: {self.condition(app)}; pods: {self.describe(app)}") from None

    def describe(self, app: str) -> str:
        """A short account of the app's pods, for failure messages."""
        try:
            pods = self.app_pods(app, running_only=False)
        except Exception as err:  # a diagnostic must never hide the real failure
            return f"unknown: {err}"
        lines = []
        for p in pods:
            states = [(c["name"], c.get("state", {})) for c in p["status"].get("containerStatuses", [])]
            lines.append(f"{p['metadata']['name']} {p['status'].get('phase')} on {p['spec'].get('nodeName')} {states}")
        return "; ".join(lines) or "none"

    def app_pods(self, app: str, *, running_only: bool = True) -> list[dict[str, Any]]:
        pods = self.items("pods", f"{APP_LABEL}={app}")
        if running_only:
            pods = [
                p for p in pods if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
            ]
        return pods

    def exec(self, pod: str, *cmd: str, container: str | None = None, check: bool = True, timeout: float = 60) -> Any:
        """``kubectl exec`` (through the API server and the kubelet) in ``pod``."""
        target = ["-c", container] if container else []
        return self("exec", pod, *target, "--", *cmd, check=check, timeout=timeout)

    def python(self, pod: str, code: str, *args: str, container: str | None = None, timeout: float = 60) -> Any:
        """Run ``code`` with python3 in ``pod``; it prints one JSON document, returned decoded."""
        proc = self.exec(pod, "python3", "-c", code, *args, container=container, timeout=timeout)
        return json.loads(proc.stdout)

    def client_pod(self, name: str, labels: Mapping[str, str] | None = None) -> str:
        """A pod on the real node that only waits (the runtime image: python3, nothing else), for probes.

        It satisfies Pod Security `restricted`; it returns once the pod is Ready.
        """
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": {"e2e-client": name, **(labels or {})}},
            "spec": {
                **ON_REAL_NODE,
                "terminationGracePeriodSeconds": 0,
                "automountServiceAccountToken": False,
                "securityContext": copy.deepcopy(RESTRICTED_POD_SECURITY),
                "containers": [
                    {
                        "name": "client",
                        "image": RUNTIME_IMAGE,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["python3", "-c", "import signal; signal.pause()"],
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]},
                        },
                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
                    }
                ],
            },
        }
        self.apply(pod)
        self("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=180s", timeout=210)
        return name

    def probe(
        self,
        pod: str,
        host: str,
        port: int,
        path: str | None = "/",
        *,
        host_header: str | None = None,
        timeout: float = 3,
        container: str | None = None,
    ) -> Probe:
        """From ``pod``: connect to host:port within ``timeout`` s and, with a ``path``, GET it."""
        args = {"host": host, "port": port, "path": path, "hostHeader": host_header or host, "timeout": timeout}
        out = self.python(pod, PROBE, json.dumps(args), container=container, timeout=timeout * 3 + 60)
        return Probe(**out)

    def resolve(self, pod: str, name: str, container: str | None = None) -> dict[str, Any]:
        """Resolve ``name`` in ``pod`` (its resolv.conf: the cluster DNS)."""
        return self.python(pod, RESOLVE, name, container=container)

    def service_ip(self, name: str) -> str:
        svc = self.get("service", name)
        assert svc, f"no Service {self.name}/{name}"
        return str(svc["spec"]["clusterIP"])


@dataclass(frozen=True)
class HttpResult:
    status: int
    body: str
    headers: dict[str, str]


def restricted_namespace(kubectl: Kubectl, name: str, labels: Mapping[str, str] | None = None) -> Namespace:
    """Create namespace ``name`` with Pod Security `restricted` enforced (and ``labels``); return
    once its default ServiceAccount exists (a pod created earlier would be refused)."""
    kubectl("create", "namespace", name)
    kubectl("label", "namespace", name, *(f"{k}={v}" for k, v in {**RESTRICTED, **(labels or {})}.items()))
    wait_for(
        f"ServiceAccount {name}/default",
        lambda: kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode == 0,
        120,
    )
    return Namespace(kubectl, name)


def ingress_get(port: int, host: str, path: str = "/", timeout: float = 10) -> HttpResult:
    """GET ``path`` with ``Host: host`` through the node's ingress on 127.0.0.1:``port``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        return HttpResult(
            resp.status, resp.read().decode("utf-8", "replace"), {k.lower(): v for k, v in resp.getheaders()}
        )
    finally:
        conn.close()


def wait_ingress(port: int, host: str, path: str = "/", status: int = 200, timeout: float = 120) -> HttpResult:
    """Poll the ingress until ``host`` answers ``status`` (the controller picks up new routes in a few seconds)."""
    last: list[str] = ["no answer yet"]

    def answered() -> HttpResult | None:
        try:
            res = ingress_get(port, host, path, timeout=5)
        except (OSError, http.client.HTTPException) as err:
            last[0] = f"{type(err).__name__}: {err}"
            return None
        last[0] = f"HTTP {res.status}: {res.body[:200]!r}"
        return res if res.status == status else None

    try:
        return wait_for(
            f"{host}{path} to answer {status} through the ingress on 127.0.0.1:{port}", answered, timeout, 0.5
        )
    except AssertionError as err:
        raise AssertionError(f"{err}; last: {last[0]}") from None


def now() -> float:
    return time.monotonic()
