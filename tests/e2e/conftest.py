"""Fixtures of the end-to-end tier: WsgiApps whose pods really run, on the real node of the local cluster.

The cluster is the one ``tests/conftest.py`` starts (``hack/k8s/cluster.sh
up``), whose real node (``hack/k8s/node.sh``: containerd, kubelet, kube-proxy,
kube-router, CoreDNS, Traefik) runs next to the kwok node. With
``WSGI_OPERATOR_REAL_NODE=0`` there is no real node and this tier is skipped.

``e2e`` gives each test a fresh namespace with Pod Security ``restricted``
enforced (a :class:`support.realnode.Namespace`) and a ``wsgi-operator run``
process watching it, started with the flags that name the node's ingress
controller, so the NetworkPolicies it renders admit Traefik and nothing
else. The example app and runtime images are built (cached by content) and
copied into the node's containerd once per session.

Every test under ``tests/e2e/`` gets the ``e2e`` marker.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.kubectl import Kubectl, cluster_sh, install_crd
from support.operator_process import OperatorProcess
from support.realnode import (
    HELLO_IMAGE,
    INGRESS_OPERATOR_ARGS,
    REAL_NODE,
    RESTRICTED,
    RUNTIME_IMAGE,
    Namespace,
    restricted_namespace,
)
from support.waiting import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
#: `cluster.sh status` exit code when only the real node is not up.
STATUS_NODE_DOWN = 4
_HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: needs the local cluster's real node (containers really run)")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test collected from this directory with ``e2e``."""
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@dataclass(frozen=True)
class RealNode:
    name: str
    #: 127.0.0.1 port of the node's ingress controller (Traefik).
    ingress_port: int

    def load_images(self, *images: str) -> None:
        """Copy images from the Docker engine into the node's containerd."""
        cluster_sh("load-image", *images)


@pytest.fixture(scope="session")
def real_node(kubectl: Kubectl) -> RealNode:
    """The real node, Ready (the session's cluster fixture started it)."""
    if os.environ.get("WSGI_OPERATOR_REAL_NODE") == "0":
        pytest.skip("WSGI_OPERATOR_REAL_NODE=0: the cluster has no real node")
    if os.environ.get("WSGI_OPERATOR_KUBECONFIG"):
        pytest.skip("WSGI_OPERATOR_KUBECONFIG: a cluster someone else runs has no real node of hack/k8s/node.sh")
    status = cluster_sh("status", check=False)
    if status.returncode == STATUS_NODE_DOWN and "predates it" in status.stdout:
        # A control plane someone started with a cluster.sh older than the node: it is
        # not ours to restart, and its API server cannot call a kubelet.
        pytest.skip("the running control plane predates the real node: hack/k8s/cluster.sh down; up")

    def ready() -> bool:
        proc = kubectl("get", "node", REAL_NODE, "-o", "json", check=False)
        if proc.returncode != 0:
            return False
        conditions = json.loads(proc.stdout)["status"].get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    try:
        wait_for(f"node {REAL_NODE} to be Ready", ready, 120, interval=1)
    except AssertionError as err:
        pytest.fail(f"{err}\n`hack/k8s/cluster.sh status`:\n{cluster_sh('status', check=False).stdout}")
    return RealNode(REAL_NODE, int(cluster_sh("ingress-port").stdout.strip()))


@pytest.fixture(scope="session")
def node_images(real_node: RealNode) -> None:
    """The runtime and example app images, built if their inputs changed, in the node's containerd."""
    for script, args in (("hack/docker/engine.sh", []), ("hack/docker/build-images.sh", ["runtime", "app"])):
        if subprocess.run(["bash", str(REPO_ROOT / script), *args], check=False).returncode != 0:
            pytest.fail(f"{script} failed (see its output above)")
    real_node.load_images(RUNTIME_IMAGE, HELLO_IMAGE)


@pytest.fixture(scope="session")
def e2e_crd(kubectl: Kubectl) -> None:
    install_crd(kubectl)


@pytest.fixture
def new_namespace(kubectl: Kubectl, request: pytest.FixtureRequest) -> Iterator[Callable[..., Namespace]]:
    """Make more namespaces (restricted by default): ``new_namespace("other")``; all deleted afterwards."""
    made: list[str] = []

    def make(prefix: str = "e2e", labels: dict[str, str] | None = None) -> Namespace:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        made.append(name)  # before it exists: a half-made namespace is deleted too
        return restricted_namespace(kubectl, name, labels)

    try:
        yield make
    finally:
        for name in made:
            kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


@pytest.fixture
def ns(kubectl: Kubectl, namespace: str, real_node: RealNode, node_images: None, e2e_crd: None) -> Namespace:
    """The test's namespace, Pod Security `restricted` enforced, with images and CRD in place."""
    kubectl("label", "namespace", namespace, *(f"{k}={v}" for k, v in RESTRICTED.items()))
    return Namespace(kubectl, namespace)


@pytest.fixture
def operator(ns: Namespace, kubeconfig: Path, tmp_path: Path) -> Iterator[OperatorProcess]:
    """``wsgi-operator run`` for the test's namespace, told who the ingress controller is."""
    op = OperatorProcess(ns.name, kubeconfig, tmp_path / "operator.log", INGRESS_OPERATOR_ARGS)
    try:
        op.start()
        yield op
    finally:
        op.stop()
