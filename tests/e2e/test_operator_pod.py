"""The operator itself in the cluster: the image of images/operator, installed with the Helm chart
(charts/wsgi-operator), running as a pod on the real node under the kubelet.

One release for the module, in a namespace of its own with Pod Security `restricted` enforced,
in namespaced mode (``watchNamespaces``: one app namespace of its own, so it never meets the
``wsgi-operator run`` processes other tests start for their namespaces). The chart's
NetworkPolicy stays on, narrowed to the address and port of the ``kubernetes`` Service's real
endpoint (the api-link, hack/k8s/addons/apiserver-endpoints.yaml), and kube-router enforces
it: every request the operator makes goes through it. The session's ``e2e_crd`` fixture owns
the CRD, so the release leaves it alone (``crds.install=false``).
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.kubectl import Kubectl, cluster_sh
from support.realnode import (
    INGRESS_CLASS,
    INGRESS_NAMESPACE,
    INGRESS_OPERATOR_ARGS,
    ON_REAL_NODE,
    REAL_NODE,
    RESTRICTED,
    Namespace,
    Probe,
    hello_app,
    restricted_namespace,
    wait_ingress,
)
from support.waiting import WaitTimeout, wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "charts" / "wsgi-operator"
OPERATOR_REPOSITORY, OPERATOR_TAG = "local/wsgi-operator", "dev"
OPERATOR_IMAGE = f"{OPERATOR_REPOSITORY}:{OPERATOR_TAG}"
#: The image's user (images/operator/Dockerfile) and the chart's runAsUser/runAsGroup.
OPERATOR_UID = 10002
#: The chart's defaults for networkPolicy.apiServer.ports.
CHART_DEFAULT_API_PORTS = (443, 6443)
#: The in-cluster address of the API server (the `kubernetes` Service), which the operator dials.
KUBERNETES_SERVICE = ("10.96.0.1", 443)
#: How the API server words an RBAC denial, and how kopf does.
RBAC_DENIED = re.compile(r"cannot \w+ resource|Not enough permissions", re.IGNORECASE)

#: Runs in the operator's container: who the processes are, and whether / and /tmp take a new file.
IDENTITY = r"""
import json, os
def status(pid):
    with open("/proc/%s/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
def try_write(path):
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        os.unlink(path)
        return None
    except OSError as e:
        return e.errno
with open("/proc/1/cmdline", "rb") as f:
    cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
pid1 = status(1)
print(json.dumps({
    "uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
    "pid1": {"cmdline": cmdline, "uid": pid1["Uid"].split(), "gid": pid1["Gid"].split(),
             "capEff": pid1["CapEff"], "noNewPrivs": pid1.get("NoNewPrivs")},
    "write_root": try_write("/e2e-write-probe"),
    "write_tmp": try_write("/tmp/e2e-write-probe"),
}))
"""


def _flag_labels(flag: str) -> dict[str, str]:
    """``--flag=k=v,k2=v2`` of INGRESS_OPERATOR_ARGS as the chart's label map."""
    value = next(a.split("=", 1)[1] for a in INGRESS_OPERATOR_ARGS if a.startswith(f"{flag}="))
    return dict(pair.split("=", 1) for pair in value.split(","))


def _apiserver_endpoint(kubectl: Kubectl) -> tuple[list[str], list[int]]:
    """Addresses and ports of the `kubernetes` Service's endpoints: what a NetworkPolicy sees (after the DNAT)."""
    slices = json.loads(
        kubectl(
            "get", "endpointslices", "-n", "default", "-l", "kubernetes.io/service-name=kubernetes", "-o", "json"
        ).stdout
    )["items"]
    addresses = sorted(
        {
            address
            for s in slices
            for e in s.get("endpoints") or []
            if (e.get("conditions") or {}).get("ready", True)
            for address in e["addresses"]
        }
    )
    ports = sorted({p["port"] for s in slices for p in s.get("ports") or []})
    assert addresses and ports, f"the kubernetes Service has no endpoint: {slices}"
    return addresses, ports


@dataclass(frozen=True)
class Helm:
    """The cached helm v4 against the session's cluster."""

    binary: Path
    kubeconfig: Path
    scratch: Path

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.binary), f"--kubeconfig={self.kubeconfig}", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        assert not check or proc.returncode == 0, f"helm {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
        return proc

    def values_file(self, values: dict[str, Any]) -> str:
        path = self.scratch / f"values-{uuid.uuid4().hex[:6]}.yaml"
        path.write_text(yaml.safe_dump(values))
        return str(path)


@dataclass(frozen=True)
class InClusterOperator:
    """The module's release: the operator's pod in ``system``, watching ``apps``."""

    helm: Helm
    release: str
    system: Namespace
    apps: Namespace
    values: dict[str, Any]
    #: The `kubernetes` Service's endpoint (the api-link): addresses, ports.
    api_addresses: list[str]
    api_ports: list[int]

    @property
    def fullname(self) -> str:
        """The chart's ``wsgi-operator.fullname``: Deployment, ServiceAccount, Role, NetworkPolicy."""
        return self.release if "wsgi-operator" in self.release else f"{self.release}-wsgi-operator"

    @property
    def selector(self) -> str:
        return f"app.kubernetes.io/name=wsgi-operator,app.kubernetes.io/instance={self.release}"

    def upgrade(self, values: dict[str, Any]) -> None:
        self.helm("upgrade", self.release, str(CHART), "-n", self.system.name, "-f", self.helm.values_file(values))

    def pods(self) -> list[dict[str, Any]]:
        return [p for p in self.system.items("pods", self.selector) if not p["metadata"].get("deletionTimestamp")]

    def pod(self) -> dict[str, Any]:
        """The one operator pod (not being deleted)."""
        pods = self.pods()
        assert len(pods) == 1, f"expected one operator pod: {self.describe()}"
        return pods[0]

    def logs(self) -> str:
        proc = self.system("logs", f"deployment/{self.fullname}", "-c", "operator", "--tail=-1", check=False)
        return proc.stdout + proc.stderr

    def describe(self) -> str:
        """The operator's pods and its log's tail, for failure messages."""
        try:
            lines = []
            for p in self.system.items("pods", self.selector):
                states = [
                    (c["name"], c.get("state"), c.get("restartCount")) for c in p["status"].get("containerStatuses", [])
                ]
                lines.append(
                    f"{p['metadata']['name']} {p['status'].get('phase')} on {p['spec'].get('nodeName')} {states}"
                )
            events = self.system("get", "events", "--sort-by=.lastTimestamp", check=False).stdout[-2000:]
            return f"pods: {'; '.join(lines) or 'none'}\nevents:\n{events}\nlog tail:\n{self.logs()[-3000:]}"
        except Exception as err:  # a diagnostic must never hide the real failure
            return f"unknown: {err}"

    def probe(self, host: str, port: int) -> Probe:
        """A TCP connection from the operator's own container (its NetworkPolicy applies)."""
        return self.system.probe(self.pod()["metadata"]["name"], host, port, None, container="operator")


def _running_and_ready(op: InClusterOperator) -> dict[str, Any] | None:
    pods = op.pods()
    if len(pods) != 1:
        return None
    pod = pods[0]
    for c in pod["status"].get("containerStatuses", []):
        reason = (c.get("state", {}).get("waiting") or {}).get("reason")
        if reason in ("ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError"):
            raise AssertionError(f"the operator's pod cannot start ({reason}): {op.describe()}")
    conditions = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}
    return pod if pod["status"].get("phase") == "Running" and conditions.get("Ready") == "True" else None


@pytest.fixture(scope="module")
def in_cluster_operator(
    kubectl: Kubectl, kubeconfig: Path, real_node, node_images, e2e_crd, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[InClusterOperator]:
    """`helm install` of the chart with the operator image in the node; returns once its pod is Ready."""
    build = subprocess.run(["bash", str(REPO_ROOT / "hack" / "docker" / "build-images.sh"), "operator"], check=False)
    if build.returncode != 0:
        pytest.fail("hack/docker/build-images.sh operator failed (see its output above)")
    real_node.load_images(OPERATOR_IMAGE)

    binary = Path(os.environ.get("WSGI_OPERATOR_HELM") or cluster_sh("which", "helm").stdout.strip())
    if not os.access(binary, os.X_OK):
        pytest.fail(f"no helm at {binary!s}: run `make cluster-binaries` (or set WSGI_OPERATOR_HELM)")
    helm = Helm(binary, kubeconfig, tmp_path_factory.mktemp("helm"))
    addresses, ports = _apiserver_endpoint(kubectl)

    suffix = uuid.uuid4().hex[:8]
    # The name the docs use: its Services (wsgi-operator-metrics) are what Service
    # links would turn into WSGI_OPERATOR_* variables, so the pod must not get them.
    release = "wsgi-operator"
    names = [f"e2e-operator-{suffix}", f"e2e-apps-{suffix}"]
    values: dict[str, Any] = {
        "watchNamespaces": [names[1]],
        "crds": {"install": False},
        # Cluster-scoped and named after the release: `make demo`'s release of the same name owns it.
        "warningsPolicy": {"install": False},
        # Never: the image is the one just loaded into the node, nothing is pulled.
        "image": {"repository": OPERATOR_REPOSITORY, "tag": OPERATOR_TAG, "pullPolicy": "Never"},
        **ON_REAL_NODE,
        "operator": {
            "ingressController": {
                "namespaceLabels": _flag_labels("--ingress-namespace-labels"),
                "podLabels": _flag_labels("--ingress-pod-labels"),
            }
        },
        # The policy sees the endpoint (after kube-proxy's DNAT of 10.96.0.1:443): the api-link.
        "networkPolicy": {"apiServer": {"cidrs": [f"{a}/32" for a in addresses], "ports": ports}},
    }
    try:
        system, apps = (restricted_namespace(kubectl, name) for name in names)
        op = InClusterOperator(helm, release, system, apps, values, addresses, ports)
        helm("install", release, str(CHART), "-n", op.system.name, "-f", helm.values_file(values))
        try:
            wait_for("the operator's pod to be Running and Ready", lambda: _running_and_ready(op), 240, interval=1)
        except WaitTimeout as err:
            raise WaitTimeout(f"{err}\n{op.describe()}") from None
        yield op
    finally:
        try:
            uninstall = helm("uninstall", release, "-n", names[0], "--ignore-not-found", check=False)
        finally:
            for name in names:
                kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)
        assert uninstall.returncode == 0, f"helm uninstall:\n{uninstall.stdout}\n{uninstall.stderr}"


def test_the_operator_pod_runs_non_root_with_a_read_only_root_on_the_real_node(in_cluster_operator):
    op = in_cluster_operator
    assert op.system.get("namespace", op.system.name)["metadata"]["labels"].items() >= RESTRICTED.items()
    pod = op.pod()
    spec = pod["spec"]
    name = pod["metadata"]["name"]

    # The spec: the chart's ServiceAccount, on the real node, hardened for Pod Security `restricted`.
    assert spec["nodeName"] == REAL_NODE
    assert spec["serviceAccountName"] == op.fullname
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == OPERATOR_UID
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = spec["containers"]
    assert container["image"] == OPERATOR_IMAGE
    assert f"--namespace={op.apps.name}" in container["args"]
    assert set(INGRESS_OPERATOR_ARGS) <= set(container["args"]), container["args"]
    sc = container["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == OPERATOR_UID and sc["runAsGroup"] == OPERATOR_UID
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    (status,) = pod["status"]["containerStatuses"]
    assert status["ready"] is True and status["restartCount"] == 0, op.describe()

    # And the running container (kubectl exec: the API server, the kubelet, containerd).
    assert op.system.exec(name, "id", "-u", container="operator").stdout.strip() == str(OPERATOR_UID)
    assert op.system.exec(name, "id", "-g", container="operator").stdout.strip() == str(OPERATOR_UID)
    touch = op.system.exec(name, "touch", "/e2e-write-probe", container="operator", check=False)
    assert touch.returncode != 0 and "Read-only file system" in touch.stderr, touch
    seen = op.system.python(name, IDENTITY, container="operator")
    assert seen["uid"] == seen["euid"] == OPERATOR_UID and seen["gid"] == OPERATOR_UID, seen
    assert seen["groups"] == [OPERATOR_UID], seen
    # PID 1 is the operator itself, with every uid/gid the image's and no capability.
    assert "wsgi-operator" in seen["pid1"]["cmdline"], seen
    assert seen["pid1"]["uid"] == [str(OPERATOR_UID)] * 4 and seen["pid1"]["gid"] == [str(OPERATOR_UID)] * 4, seen
    assert int(seen["pid1"]["capEff"], 16) == 0 and seen["pid1"]["noNewPrivs"] == "1", seen
    # The root filesystem refuses a new file (EROFS); the /tmp emptyDir takes one (the control).
    assert seen["write_root"] == errno.EROFS, seen
    assert seen["write_tmp"] is None, seen


def test_the_in_cluster_operator_makes_hello_ready_and_it_answers_through_the_ingress(in_cluster_operator, real_node):
    op = in_cluster_operator
    apps = op.apps
    host = f"hello.{apps.name}.e2e.test"
    apps.apply(hello_app("hello", apps.name, {"replicas": 1, "ingress": {"className": INGRESS_CLASS, "hosts": [host]}}))
    try:
        apps.wait_app_ready("hello")
    except WaitTimeout as err:
        raise WaitTimeout(f"{err}\noperator: {op.describe()}") from None

    res = wait_ingress(real_node.ingress_port, host, "/")
    assert res.body == "hello", res
    assert res.headers.get("server", "").startswith("Apache"), res.headers
    # The NetworkPolicy it rendered admits the ingress controller the chart's values name.
    rendered = apps.get("networkpolicy", "hello")
    peer = {
        "namespaceSelector": {"matchLabels": op.values["operator"]["ingressController"]["namespaceLabels"]},
        "podSelector": {"matchLabels": op.values["operator"]["ingressController"]["podLabels"]},
    }
    assert rendered and any(peer in rule.get("from", []) for rule in rendered["spec"]["ingress"]), rendered

    # It was this operator (the pod's log, not another process's), and nothing was refused it.
    log = op.logs()
    applied = [line for line in log.splitlines() if f"{apps.name}/hello" in line and "Applied" in line]
    assert applied, log[-4000:]
    assert [line for line in log.splitlines() if RBAC_DENIED.search(line)] == [], log[-4000:]
    assert op.pod()["status"]["containerStatuses"][0]["restartCount"] == 0, op.describe()


@pytest.fixture(scope="module")
def neighbour(in_cluster_operator) -> str:
    """A client pod in the operator's namespace that the operator's NetworkPolicy does not select."""
    return in_cluster_operator.system.client_pod("neighbour")


def _traefik_service(kubectl: Kubectl) -> tuple[str, int]:
    svc = json.loads(kubectl("get", "service", "traefik", "-n", INGRESS_NAMESPACE, "-o", "json").stdout)
    return svc["spec"]["clusterIP"], int(svc["spec"]["ports"][0]["port"])


def test_the_charts_network_policy_is_enforced_and_admits_the_api_server(in_cluster_operator, neighbour):
    op = in_cluster_operator
    policy = op.system.get("networkpolicy", op.fullname)
    assert policy is not None, f"the chart's NetworkPolicy {op.system.name}/{op.fullname} is missing"
    spec = policy["spec"]
    assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"]
    pod_labels = op.pod()["metadata"]["labels"]
    assert spec["podSelector"]["matchLabels"].items() <= pod_labels.items(), (spec["podSelector"], pod_labels)
    api_rule = spec["egress"][0]
    assert sorted(p["port"] for p in api_rule["ports"]) == op.api_ports, api_rule
    assert [t["ipBlock"]["cidr"] for t in api_rule["to"]] == [f"{a}/32" for a in op.api_addresses], api_rule

    # From the operator's container: the API server (by the Service it dials) and DNS, nothing else.
    api = op.probe(*KUBERNETES_SERVICE)
    assert api.connected, api
    dns = op.probe(Namespace(op.system.kubectl, "kube-system").service_ip("kube-dns"), 53)
    assert dns.connected, dns
    traefik = _traefik_service(op.system.kubectl)
    blocked = op.probe(*traefik)
    assert blocked.refused_or_timed_out, f"operator -> traefik Service: expected refused, got {blocked}"
    # The control: the same target from a pod of the same namespace the policy does not select.
    allowed = op.system.probe(neighbour, *traefik, None)
    assert allowed.connected, allowed


def test_without_the_endpoints_port_the_policy_shuts_the_api_server_out(in_cluster_operator, neighbour):
    """Why networkPolicy.apiServer.ports must name the endpoint's port, not the Service's."""
    op = in_cluster_operator
    wrong = sorted(set(CHART_DEFAULT_API_PORTS) - set(op.api_ports))
    assert wrong, (CHART_DEFAULT_API_PORTS, op.api_ports)
    values = json.loads(json.dumps(op.values))
    values["networkPolicy"]["apiServer"]["ports"] = wrong
    try:
        op.upgrade(values)
        refused = wait_for(
            f"the operator's pod to be refused the API server with ports {wrong}",
            lambda: (p := op.probe(*KUBERNETES_SERVICE)).refused_or_timed_out and p,
            60,
            interval=1,
        )
        assert not refused.connected
        # Still the same Service for a pod without the policy.
        assert op.system.probe(neighbour, *KUBERNETES_SERVICE, None).connected
    finally:
        op.upgrade(op.values)
    wait_for("the operator's pod to reach the API server again", lambda: op.probe(*KUBERNETES_SERVICE).connected, 60, 1)
