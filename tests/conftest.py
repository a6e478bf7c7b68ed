"""Fixtures shared by the tiers that talk to a cluster: tests/cluster and tests/e2e.

The local cluster (``hack/k8s/cluster.sh``: the control plane, a kwok node
and, unless ``WSGI_OPERATOR_REAL_NODE=0``, a real node) is started once per
test session if it is not running, and stopped at the end only if this
session started it. ``WSGI_OPERATOR_KUBECONFIG`` names the kubeconfig of a
cluster someone else runs instead; then it is used as it is and left alone.

Fixtures are lazy: the unit and runtime tiers never ask for them, so they
start nothing.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.kubectl import Kubectl, cluster_sh

if TYPE_CHECKING:
    import kubernetes.client


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "namespace_labels(labels): labels for the `namespace` fixture's namespace")


#: `cluster.sh status` exit codes: everything up; control plane down; only the real node down.
STATUS_UP, STATUS_DOWN, STATUS_NODE_DOWN = 0, 3, 4


@pytest.fixture(scope="session")
def kubeconfig() -> Iterator[Path]:
    """Path of an admin kubeconfig for a running cluster.

    Starts the local cluster for the session if needed (the first run on a
    machine builds it, which takes tens of minutes) and stops it at the end
    only if this session started it. A control plane that runs without its
    real node (one that died, or one started before the node existed) gets the
    node added and is still left running at the end. ``KUBECONFIG`` points at
    it for the whole session, so code under test cannot reach any other
    cluster by accident.
    """
    external = os.environ.get("WSGI_OPERATOR_KUBECONFIG")
    started = False
    if external:
        path = Path(external)
        if not path.is_file():
            pytest.fail(f"WSGI_OPERATOR_KUBECONFIG={external} does not exist")
    else:
        # A control plane under load can miss one /readyz: ask a few times
        # before concluding it is down, or this session would `down` a
        # cluster someone else started.
        status = STATUS_DOWN
        for _ in range(3):
            status = cluster_sh("status", check=False).returncode
            if status == STATUS_UP:
                break
            time.sleep(2)
        if status != STATUS_UP:
            started = status != STATUS_NODE_DOWN
            # On failure the reason (a component's log tail) is already on
            # stderr. A control plane that runs without its node still
            # serves tests/cluster; tests/e2e then fail on the missing node.
            if (
                cluster_sh("up", check=False).returncode != 0
                and cluster_sh("status", check=False).returncode != STATUS_NODE_DOWN
            ):
                # Stop what did start so no process outlives the session.
                if started:
                    cluster_sh("down", check=False)
                pytest.fail("hack/k8s/cluster.sh up failed (see its output above)")
        path = Path(cluster_sh("kubeconfig").stdout.strip())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KUBECONFIG", str(path))
        try:
            yield path
        finally:
            if started:
                cluster_sh("down", check=False)


@pytest.fixture(scope="session")
def kubectl(kubeconfig: Path) -> Kubectl:
    """A ``Kubectl`` bound to the session's kubeconfig.

    Uses ``WSGI_OPERATOR_KUBECTL`` if set, else the kubectl v1.35 that
    hack/k8s/build.sh caches (``hack/k8s/cluster.sh which kubectl``).
    """
    binary = Path(os.environ.get("WSGI_OPERATOR_KUBECTL") or cluster_sh("which", "kubectl").stdout.strip())
    if not os.access(binary, os.X_OK):
        pytest.fail(f"no kubectl at {binary}: run hack/k8s/build.sh or set WSGI_OPERATOR_KUBECTL")
    return Kubectl(binary=binary, kubeconfig=kubeconfig)


@pytest.fixture(scope="session")
def api_client(kubeconfig: Path) -> Iterator[kubernetes.client.ApiClient]:
    """A ``kubernetes.client.ApiClient`` for the session's kubeconfig."""
    from kubernetes import config

    client = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def namespace(kubectl: Kubectl, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace for one test, deleted (without waiting) afterwards.

    The name starts with the test's name, to find a test's leftovers. The
    fixture returns once the namespace's ``default`` ServiceAccount exists:
    until then the API server rejects every Pod created in it, dry-run or not.
    Labels for it (say, a Pod Security level) come from a ``namespace_labels``
    marker: ``@pytest.mark.namespace_labels({"k": "v"})``.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"t-{slug}-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name)
    try:
        marker = request.node.get_closest_marker("namespace_labels")
        if marker:
            kubectl("label", "namespace", name, *(f"{k}={v}" for k, v in marker.args[0].items()))
        deadline = time.monotonic() + 120
        while kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode != 0:
            if time.monotonic() > deadline:
                pytest.fail(f"ServiceAccount {name}/default did not appear within 120s (kube-controller-manager down?)")
            time.sleep(0.2)
        yield name
    finally:
        kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)
