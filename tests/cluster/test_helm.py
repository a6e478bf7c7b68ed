"""The Helm chart (charts/wsgi-operator) installed into the real control plane.

The kwok node does not run the operator's image, so the operator itself runs
here, out of cluster, with a token of the chart's ServiceAccount from the
TokenRequest API and nothing else: what the chart's RBAC grants is exactly
what the operator gets. Each test installs its own release (its own name,
namespace and cluster-scoped objects) and uninstalls it at the end.

The session already installed the CRD from crds/ (the ``wsgiapp_crd``
fixture), so the releases set ``crds.install=false``, except the one test
that takes the CRD over with the chart to upgrade and uninstall it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

if TYPE_CHECKING:
    from operator_fixtures import Cluster, ServiceAccountCredentials

# The fixtures (cluster, operator_process, ...) live in operator_fixtures.
pytest_plugins = ["operator_fixtures"]

REPO = Path(__file__).parents[2]
CHART = REPO / "charts" / "wsgi-operator"
CRD_NAME = "wsgiapps.wsgi-operator.io"
#: How the API server words an RBAC denial (not other 403s, such as a namespace being deleted).
RBAC_DENIED = re.compile(r"cannot \w+ resource", re.IGNORECASE)


@dataclass(frozen=True)
class Release:
    """One installed release of the chart."""

    name: str
    namespace: str

    @property
    def fullname(self) -> str:
        """The chart's ``wsgi-operator.fullname``: its Deployment, ServiceAccount, (Cluster)Role."""
        return f"{self.name}-wsgi-operator"


@dataclass
class Helm:
    """The cached helm v4 against the session's cluster; every release it installs is uninstalled at the end."""

    binary: Path
    kubeconfig: Path
    kubectl: Any
    scratch: Path
    releases: list[Release] = field(default_factory=list)

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.binary), f"--kubeconfig={self.kubeconfig}", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        assert not check or proc.returncode == 0, f"{' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
        return proc

    def _values(self, release: Release, values: dict[str, Any]) -> str:
        path = self.scratch / f"{release.name}-{uuid.uuid4().hex[:6]}.yaml"
        path.write_text(yaml.safe_dump(values))
        return str(path)

    def install(self, values: dict[str, Any], *args: str) -> Release:
        """`helm install` into a fresh namespace of its own."""
        suffix = uuid.uuid4().hex[:8]
        release = Release(f"wo{suffix}", f"t-helm-{suffix}")
        self.kubectl("create", "namespace", release.namespace)
        self.releases.append(release)
        self("install", release.name, str(CHART), "-n", release.namespace, "-f", self._values(release, values), *args)
        return release

    def upgrade(self, release: Release, chart: Path, values: dict[str, Any], *args: str) -> None:
        self("upgrade", release.name, str(chart), "-n", release.namespace, "-f", self._values(release, values), *args)

    def uninstall(self, release: Release) -> None:
        self("uninstall", release.name, "-n", release.namespace)

    def cleanup(self) -> None:
        for release in self.releases:
            self("uninstall", release.name, "-n", release.namespace, "--ignore-not-found", check=False)
            self.kubectl("delete", "namespace", release.namespace, "--wait=false", "--ignore-not-found", check=False)


@pytest.fixture
def helm(kubeconfig: Path, kubectl: Any, tmp_path: Path) -> Iterator[Helm]:
    """helm v4 (WSGI_OPERATOR_HELM, else the one hack/k8s/build.sh caches)."""
    which = subprocess.run(
        [str(REPO / "hack" / "k8s" / "cluster.sh"), "which", "helm"], capture_output=True, text=True, check=False
    )
    binary = Path(os.environ.get("WSGI_OPERATOR_HELM") or which.stdout.strip())
    if not os.access(binary, os.X_OK):
        pytest.fail(f"no helm at {binary!s}: run `make cluster-binaries` (or set WSGI_OPERATOR_HELM)")
    scratch = tmp_path / "helm"
    scratch.mkdir()
    h = Helm(binary, kubeconfig, kubectl, scratch)
    try:
        yield h
    finally:
        h.cleanup()


def _rbac_denials(log: str) -> list[str]:
    return [line for line in log.splitlines() if RBAC_DENIED.search(line) or "Not enough permissions" in line]


# --- the operator as the chart's ServiceAccount -----------------------------------------------------------


def test_namespaced_install_runs_the_operator_with_its_service_account_only(
    cluster: Cluster, helm: Helm, operator_process, service_account_credentials, tmp_path: Path
) -> None:
    release = helm.install({"watchNamespaces": [cluster.namespace], "crds": {"install": False}})
    deployment = json.loads(
        helm.kubectl("get", "deployment", release.fullname, "-n", release.namespace, "-o", "json").stdout
    )
    assert deployment["spec"]["replicas"] == 1
    assert cluster.get("role", release.fullname) and cluster.get("rolebinding", release.fullname)

    sa: ServiceAccountCredentials = service_account_credentials(release.namespace, release.fullname)
    op = operator_process(sa.kubeconfig)
    _lifecycle_and_drift(cluster, tmp_path)
    op.stop()
    assert _rbac_denials(op.log()) == [], op.log()


def test_clusterwide_install_grants_the_operator_enough(
    cluster: Cluster,
    helm: Helm,
    start_operator,
    service_account_credentials,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """Cluster-wide mode with only the generated ClusterRole: kopf's CRD watch included, no denial logged."""
    release = helm.install({"crds": {"install": False}})
    assert helm.kubectl("get", "clusterrolebinding", release.fullname, check=False).returncode == 0
    sa: ServiceAccountCredentials = service_account_credentials(release.namespace, release.fullname)

    caplog.set_level(logging.WARNING)
    op = start_operator(namespaces=(), kubeconfig=str(sa.kubeconfig))
    _lifecycle_and_drift(cluster, tmp_path)
    op.stop()
    assert _rbac_denials("\n".join(r.getMessage() for r in caplog.records)) == []


def _lifecycle_and_drift(cluster: Cluster, tmp_path: Path) -> None:
    """examples/minimal.yaml as a user applies it: Ready, updated, a child deleted and restored, pruned, deleted."""
    manifest = yaml.safe_load((REPO / "examples" / "minimal.yaml").read_text())
    manifest["metadata"]["namespace"] = cluster.namespace
    original = tmp_path / "hello.yaml"
    original.write_text(yaml.safe_dump(manifest))
    cluster.kubectl("apply", "--server-side", "-f", str(original))
    cluster.wait_converged("hello", timeout=120)
    # Reconciled (kopf's annotations, status, children): the manifest still describes the object.
    diff = cluster.kubectl("diff", "--server-side", "-f", str(original), check=False)
    assert diff.returncode == 0, diff.stdout + diff.stderr

    # An update: a new child appears.
    cluster.patch("wsgiapp", "hello", {"spec": {"ingress": {"hosts": ["hello.example.com"]}}})
    cluster.wait_for("the Ingress", lambda: cluster.get("ingress", "hello"), 60)
    cluster.wait_converged("hello", timeout=120)

    # Drift: a deleted child is restored.
    uid = cluster.get("networkpolicy", "hello")["metadata"]["uid"]
    cluster("delete", "networkpolicy", "hello")
    cluster.wait_for(
        "the NetworkPolicy to be recreated",
        lambda: (np := cluster.get("networkpolicy", "hello")) is not None and np["metadata"]["uid"] != uid,
        60,
    )

    # Pruning: the Ingress goes with spec.ingress.
    cluster.patch("wsgiapp", "hello", {"spec": {"ingress": None}})
    cluster.wait_for("the Ingress to be pruned", lambda: cluster.get("ingress", "hello") is None, 60)

    # Deletion: the garbage collector takes every child.
    cluster("delete", "wsgiapp", "hello")
    cluster.wait_for("every child to be gone", lambda: not cluster.children("hello"), 120)


# --- least privilege ----------------------------------------------------------------------------------------


def _can_i(kubectl: Any, user: str, *args: str) -> bool:
    proc = kubectl("auth", "can-i", *args, f"--as={user}", check=False)
    assert proc.stdout.strip() in ("yes", "no"), proc.stdout + proc.stderr
    return proc.stdout.strip() == "yes"


def _refused(sa: ServiceAccountCredentials, *args: str, input: str | None = None) -> None:
    proc = sa.kubectl(*args, input=input, check=False)
    assert proc.returncode != 0 and "forbidden" in proc.stderr.lower(), f"kubectl {' '.join(args)}: {proc}"


_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "direct"},
    "spec": {"containers": [{"name": "c", "image": "registry.example.com/x:1"}]},
}


@pytest.mark.parametrize("scope", ["namespaced", "clusterwide"])
def test_least_privilege(cluster: Cluster, helm: Helm, service_account_credentials, scope: str) -> None:
    values: dict[str, Any] = {"crds": {"install": False}}
    if scope == "namespaced":
        values["watchNamespaces"] = [cluster.namespace]
    release = helm.install(values)
    sa: ServiceAccountCredentials = service_account_credentials(release.namespace, release.fullname)
    admin, watched = cluster.kubectl, cluster.namespace
    cluster("create", "secret", "generic", "db", "--from-literal=password=hunter2")

    # What it needs, it has (the control for everything refused below).
    assert _can_i(admin, sa.user, "list", "wsgiapps.wsgi-operator.io", "-n", watched)
    assert _can_i(admin, sa.user, "patch", "deployments.apps", "-n", watched)
    assert sa.kubectl("get", "wsgiapps", "-n", watched).returncode == 0

    # No Secret, anywhere, by any read verb.
    for namespace in (watched, release.namespace, "kube-system"):
        for verb in ("get", "list", "watch"):
            assert not _can_i(admin, sa.user, verb, "secrets", "-n", namespace), (verb, namespace)
    for verb in ("list", "watch"):
        assert not _can_i(admin, sa.user, verb, "secrets", "--all-namespaces")
    _refused(sa, "get", "secret", "db", "-n", watched)
    _refused(sa, "get", "secrets", "-n", watched)
    _refused(sa, "get", "secrets", "--all-namespaces")
    _refused(sa, "get", "--raw", f"/api/v1/namespaces/{watched}/secrets?watch=true&timeoutSeconds=1")

    # No change to any CRD, its own included.
    for verb in ("create", "update", "patch", "delete"):
        assert not _can_i(admin, sa.user, verb, "customresourcedefinitions.apiextensions.k8s.io")
    _refused(sa, "patch", "crd", CRD_NAME, "--type=merge", "-p", '{"metadata":{"labels":{"x":"y"}}}')
    _refused(sa, "delete", "crd", CRD_NAME, "--dry-run=server")

    # No pods of its own making (the Deployments' controller makes them), no RBAC of its own.
    assert not _can_i(admin, sa.user, "create", "pods", "-n", watched)
    _refused(sa, "create", "-n", watched, "--dry-run=server", "-f", "-", input=json.dumps(_POD))
    for kind in ("roles", "rolebindings"):
        assert not _can_i(admin, sa.user, "create", f"{kind}.rbac.authorization.k8s.io", "-n", watched)

    if scope == "namespaced":
        # Nothing outside the watched namespace: not even its own.
        for namespace in (release.namespace, "default"):
            assert not _can_i(admin, sa.user, "create", "configmaps", "-n", namespace)
            assert not _can_i(admin, sa.user, "list", "deployments.apps", "-n", namespace)
            assert not _can_i(admin, sa.user, "list", "wsgiapps.wsgi-operator.io", "-n", namespace)
        _refused(sa, "get", "deployments", "-n", release.namespace)
        _refused(sa, "create", "configmap", "x", "-n", "default", "--dry-run=server")
        _refused(sa, "get", "wsgiapps", "--all-namespaces")
    else:
        assert sa.kubectl("get", "wsgiapps", "--all-namespaces").returncode == 0


# --- the CRD with the chart: upgrade updates it, uninstall keeps it -------------------------------------------


def _crd(kubectl: Any) -> dict[str, Any]:
    return json.loads(kubectl("get", "crd", CRD_NAME, "-o", "json").stdout)


def _spec_properties(crd: dict[str, Any]) -> dict[str, Any]:
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]


def test_chart_crd_upgrade_updates_it_and_uninstall_keeps_it_with_the_apps(
    cluster: Cluster, helm: Helm, operator, tmp_path: Path
) -> None:
    kubectl = cluster.kubectl
    values = {"watchNamespaces": [cluster.namespace]}
    try:
        # The session's CRD (applied from crds/) is taken over by the release.
        release = helm.install(values, "--take-ownership", "--force-conflicts")
        crd = _crd(kubectl)
        assert crd["metadata"]["annotations"]["meta.helm.sh/release-name"] == release.name
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"

        cluster.apply(cluster.app("web"))
        cluster.wait_converged("web", timeout=120)
        children = {(c["kind"], c["metadata"]["name"]): c["metadata"]["uid"] for c in cluster.children("web")}
        assert children

        # A new version of the chart whose CRD has one more optional field.
        changed = tmp_path / "chart"
        shutil.copytree(CHART, changed)
        crd_file = changed / "files" / "crds" / f"{CRD_NAME}.yaml"
        doc = yaml.safe_load(crd_file.read_text())
        _spec_properties(doc)["upgradeProbe"] = {"type": "string", "maxLength": 16, "description": "test only"}
        crd_file.write_text(yaml.safe_dump(doc))
        # kubectl (the session's `apply --server-side`) still co-owns the CRD's fields:
        # the first upgrade that changes them has to force, as a user who adopted the CRD would.
        helm.upgrade(release, changed, values, "--force-conflicts")
        assert "upgradeProbe" in _spec_properties(_crd(kubectl))
        # The API server keeps the new field now (a dry run: the operator's models do not know it).
        probe = {"spec": {"upgradeProbe": "set"}}
        dry = cluster(
            "patch", "wsgiapp", "web", "--type=merge", "-p", json.dumps(probe), "--dry-run=server", "-o", "json"
        )
        assert json.loads(dry.stdout)["spec"]["upgradeProbe"] == "set"

        # And back: the field goes again.
        helm.upgrade(release, CHART, values)
        assert "upgradeProbe" not in _spec_properties(_crd(kubectl))
        cluster.wait_converged("web", timeout=120)

        helm.uninstall(release)
        # The CRD, the WsgiApp and every one of its children are still there, the same objects.
        assert _crd(kubectl)["metadata"]["uid"] == crd["metadata"]["uid"]
        assert cluster.get("wsgiapp", "web") is not None
        after = {(c["kind"], c["metadata"]["name"]): c["metadata"]["uid"] for c in cluster.children("web")}
        assert after == children
        assert cluster.get("role", release.fullname) is None
    finally:
        # The session's CRD exactly as committed again, whatever happened above.
        kubectl("replace", "-f", str(REPO / "crds" / f"{CRD_NAME}.yaml"))
