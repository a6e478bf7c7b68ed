"""Fixtures for tests that run against the local control plane.

The control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok with one fake node) is started by
``hack/k8s/cluster.sh up`` once per test session and stopped at the end, unless
it was already running, or ``WSGI_OPERATOR_KUBECONFIG`` names the kubeconfig of a
cluster someone else runs; then it is used as it is and left alone.

Every test under ``tests/cluster/`` gets the ``cluster`` marker, so
``pytest -m 'not cluster'`` skips them all.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import kubernetes.client

REPO_ROOT = Path(__file__).parents[2]
CLUSTER_SH = REPO_ROOT / "hack" / "k8s" / "cluster.sh"
_HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test collected from this directory with ``cluster``."""
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.cluster)


def _cluster_sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``hack/k8s/cluster.sh ARGS``; its progress on stderr goes to the terminal."""
    return subprocess.run([str(CLUSTER_SH), *args], check=check, text=True, stdout=subprocess.PIPE)


class KubectlError(subprocess.CalledProcessError):
    """A failed kubectl call whose message carries kubectl's stderr."""

    def __str__(self) -> str:
        return f"{super().__str__()}\nstderr:\n{self.stderr}"


@dataclass(frozen=True)
class Kubectl:
    """Runs the cached kubectl (never the one on PATH) against one kubeconfig."""

    binary: Path
    kubeconfig: Path

    def __call__(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``kubectl ARGS`` and capture its output as text.

        With ``check`` (the default) a non-zero exit raises ``KubectlError``,
        whose message includes kubectl's stderr; pass ``check=False`` to assert
        on a failure (say, an admission rejection) yourself.
        """
        cmd = [str(self.binary), f"--kubeconfig={self.kubeconfig}", *args]
        proc = subprocess.run(cmd, input=input, text=True, capture_output=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise KubectlError(proc.returncode, cmd, proc.stdout, proc.stderr)
        return proc


@pytest.fixture(scope="session")
def kubeconfig() -> Iterator[Path]:
    """Path of an admin kubeconfig for a running control plane.

    Starts the local control plane for the session if needed (the first run on
    a machine builds it, which takes tens of minutes) and stops it at the end
    only if this session started it. ``KUBECONFIG`` points at it for the whole
    session, so code under test cannot reach any other cluster by accident.
    """
    external = os.environ.get("WSGI_OPERATOR_KUBECONFIG")
    started = False
    if external:
        path = Path(external)
        if not path.is_file():
            pytest.fail(f"WSGI_OPERATOR_KUBECONFIG={external} does not exist")
    else:
        # `status` exits 0 when a control plane is already up (say, after
        # `make cluster-up`): reuse it and leave it running afterwards.
        # A control plane under load can miss one /readyz: ask a few times
        # before concluding it is down, or this session would `down` a
        # cluster someone else started.
        already_up = False
        for _ in range(3):
            already_up = _cluster_sh("status", check=False).returncode == 0
            if already_up:
                break
            time.sleep(2)
        if not already_up:
            try:
                _cluster_sh("up")
            except subprocess.CalledProcessError:
                # The reason (a component's log tail) is already on stderr;
                # stop what did start so no process outlives the session.
                _cluster_sh("down", check=False)
                pytest.fail("hack/k8s/cluster.sh up failed (see its output above)")
            started = True
        path = Path(_cluster_sh("kubeconfig").stdout.strip())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KUBECONFIG", str(path))
        try:
            yield path
        finally:
            if started:
                _cluster_sh("down", check=False)


@pytest.fixture(scope="session")
def kubectl(kubeconfig: Path) -> Kubectl:
    """A ``Kubectl`` bound to the session's kubeconfig.

    Uses ``WSGI_OPERATOR_KUBECTL`` if set, else the kubectl v1.35 that
    hack/k8s/build.sh caches (``hack/k8s/cluster.sh which kubectl``).
    """
    binary = Path(os.environ.get("WSGI_OPERATOR_KUBECTL") or _cluster_sh("which", "kubectl").stdout.strip())
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
    """
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"t-{slug}-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name)
    try:
        deadline = time.monotonic() + 120
        while kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode != 0:
            if time.monotonic() > deadline:
                pytest.fail(f"ServiceAccount {name}/default did not appear within 120s (kube-controller-manager down?)")
            time.sleep(0.2)
        yield name
    finally:
        kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)
