"""Fixtures and helpers for the operator's tests against the real control plane.

The operator under test is never mocked: it runs either in-process (kopf's
``operator()`` in its own event loop in a background thread) or as a
``wsgi-operator run`` subprocess (when it must be SIGKILLed or run with a
restricted kubeconfig). Each test gets its own namespace and an operator
watching only that namespace, so tests cannot see each other's objects.

Test modules load it with ``pytest_plugins = ["operator_fixtures"]`` (the
shared conftest.py belongs to the control-plane work) and reach every helper
through the fixtures, so they never import this module themselves (which
would keep pytest from rewriting its asserts).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
import yaml

from support.apiproxy import HoldingProxy
from support.kubectl import install_crd
from support.manifests import wsgiapp_manifest
from support.operator_process import OperatorProcess
from support.waiting import wait_for
from wsgi_operator.controller.main import operate
from wsgi_operator.controller.settings import OperatorSettings
from wsgi_operator.kinds import CHILD_KINDS, group_resources

APP_LABEL = "wsgi-operator.io/app"


@dataclass(frozen=True)
class Cluster:
    """kubectl with JSON in and out, for one namespace."""

    kubectl: Any
    namespace: str
    #: Every kind the operator may create that the API server serves, for `kubectl get`
    #: (HTTPRoute only where the Gateway API CRDs are installed).
    child_kinds: str

    #: ``cluster.wait_for(what, predicate, timeout)``: see ``support.waiting.wait_for``.
    wait_for = staticmethod(wait_for)

    def app(self, name: str, **spec: Any) -> dict[str, Any]:
        """A WsgiApp manifest in this namespace; ``spec`` keys (camelCase) are
        deep-merged into the default spec (see ``support.manifests``)."""
        return wsgiapp_manifest(name, self.namespace, spec)

    def __call__(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run kubectl in the namespace."""
        return self.kubectl(*args, "-n", self.namespace, **kwargs)

    def get(self, kind: str, name: str, *, managed_fields: bool = False) -> dict[str, Any] | None:
        """The object (with metadata.managedFields if asked), or None if it does not exist."""
        extra = ("--show-managed-fields",) if managed_fields else ()
        proc = self("get", kind, name, "-o", "json", "--ignore-not-found", *extra)
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def items(self, kinds: str, selector: str | None = None) -> list[dict[str, Any]]:
        """Every object of ``kinds`` (comma-separated), optionally label-selected."""
        args = ["get", kinds, "-o", "json"] + (["-l", selector] if selector else [])
        return json.loads(self(*args).stdout)["items"]

    def apply(self, obj: dict[str, Any], manager: str = "test") -> dict[str, Any]:
        """Server-side apply ``obj`` as ``manager`` and return it as stored."""
        args = ("apply", "--server-side", f"--field-manager={manager}", "-o", "json", "-f", "-")
        proc = self(*args, input=json.dumps(obj))
        return json.loads(proc.stdout)

    def patch(self, kind: str, name: str, patch: Any, type_: str = "merge") -> None:
        """kubectl patch with a merge (or json) patch."""
        self("patch", kind, name, "--type", type_, "-p", json.dumps(patch))

    def children(self, app: str) -> list[dict[str, Any]]:
        """Every object labelled as a child of WsgiApp ``app``."""
        return self.items(self.child_kinds, f"{APP_LABEL}={app}")

    def descendants(self, app: str) -> list[dict[str, Any]]:
        """The children plus the ReplicaSets and pods of WsgiApp ``app``."""
        return self.items(f"{self.child_kinds},replicasets.apps,pods", f"{APP_LABEL}={app}")

    def condition(self, app: str, type_: str) -> dict[str, Any] | None:
        """The WsgiApp's condition of ``type_``."""
        obj = self.get("wsgiapp", app) or {}
        return next((c for c in (obj.get("status") or {}).get("conditions", []) if c["type"] == type_), None)

    def wait_ready(self, app: str, timeout: int = 60) -> None:
        """`kubectl wait --for=condition=Ready`: what users and CI run."""
        self("wait", "--for=condition=Ready", f"wsgiapp/{app}", f"--timeout={timeout}s", timeout=timeout + 30)

    def wait_converged(self, app: str, timeout: int = 60) -> dict[str, Any]:
        """Wait until status describes the current generation and Ready is True; return the WsgiApp."""

        def converged() -> dict[str, Any] | None:
            obj = self.get("wsgiapp", app)
            status = (obj or {}).get("status") or {}
            ready = next((c for c in status.get("conditions", []) if c["type"] == "Ready"), {})
            current = obj is not None and status.get("observedGeneration") == obj["metadata"]["generation"]
            return obj if current and ready.get("status") == "True" else None

        return wait_for(f"WsgiApp {app} Ready at its current generation", converged, timeout)


@pytest.fixture(scope="session")
def wsgiapp_crd(kubectl: Any) -> None:
    """The committed CRD (crds/), applied server-side and Established."""
    install_crd(kubectl)


@pytest.fixture(scope="session")
def child_kinds(kubectl: Any) -> str:
    """The kinds of the operator's table of kinds that the API server serves, for `kubectl get`."""
    served = set(kubectl("api-resources", "-o", "name").stdout.split())
    return group_resources(c.resource for c in CHILD_KINDS if c.resource.group_resource in served)


@pytest.fixture
def cluster(kubectl: Any, namespace: str, wsgiapp_crd: None, child_kinds: str) -> Cluster:
    """kubectl bound to the test's fresh namespace, with the CRD installed."""
    return Cluster(kubectl, namespace, child_kinds)


@dataclass
class OperatorThread:
    """The operator running in-process: kopf in its own event loop in a background thread."""

    settings: OperatorSettings
    stop_flag: threading.Event = field(default_factory=threading.Event)
    ready_flag: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def _main(self) -> None:
        try:
            asyncio.run(operate(self.settings, stop_flag=self.stop_flag, ready_flag=self.ready_flag))
        except BaseException as err:  # reported by stop(); a thread cannot raise into the test
            self.error = err

    def start(self) -> None:
        """Start and wait until kopf reports it is ready."""
        self.thread = threading.Thread(target=self._main, name="wsgi-operator", daemon=True)
        self.thread.start()
        wait_for("the in-process operator to be ready", lambda: self.ready_flag.is_set() or self.error, 60)
        if self.error:
            raise self.error

    def stop(self) -> None:
        """Stop it gracefully; re-raise whatever made it exit early."""
        self.stop_flag.set()
        assert self.thread is not None
        self.thread.join(60)
        assert not self.thread.is_alive(), "the in-process operator did not stop within 60s"
        if self.error:
            raise self.error


def operator_settings(admin_kubeconfig: Path, namespace: str, **overrides: Any) -> OperatorSettings:
    """Settings of an operator watching only ``namespace``, with no listening ports.

    ``overrides`` win: ``namespaces=()`` (cluster-wide), ``kubeconfig=`` (other credentials).
    """
    values: dict[str, Any] = {
        "namespaces": (namespace,),
        "kubeconfig": str(admin_kubeconfig),
        "health_port": 0,
        "metrics_port": 0,
        "resync_interval": 300.0,
    }
    values.update(overrides)
    return OperatorSettings(**values)


class _Startable(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


S = TypeVar("S", bound=_Startable)


def _each_stopped(make: Callable[..., S]) -> Iterator[Callable[..., S]]:
    """For a fixture: yield a function that makes and starts an operator; stop every one at the end.

    What was made is remembered before it starts, so one that fails to start
    is stopped too.
    """
    started: list[S] = []

    def start(*args: Any, **kwargs: Any) -> S:
        op = make(*args, **kwargs)
        started.append(op)
        op.start()
        return op

    try:
        yield start
    finally:
        for op in started:
            op.stop()


@pytest.fixture
def start_operator(kubeconfig: Path, cluster: Cluster) -> Iterator[Callable[..., OperatorThread]]:
    """Start an in-process operator for the test's namespace: ``start_operator(resync_interval=1)``.

    Every operator started is stopped when the test ends.
    """
    yield from _each_stopped(
        lambda **overrides: OperatorThread(operator_settings(kubeconfig, cluster.namespace, **overrides))
    )


@pytest.fixture
def operator(start_operator: Callable[..., OperatorThread]) -> OperatorThread:
    """An in-process operator with default settings for the test's namespace."""
    return start_operator()


@pytest.fixture
def operator_process(kubeconfig: Path, cluster: Cluster, tmp_path: Path) -> Iterator[Callable[..., OperatorProcess]]:
    """Start ``wsgi-operator run --namespace NS`` as a subprocess: ``operator_process(kubeconfig=...)``.

    Its output goes to a log file under ``tmp_path``; every process started
    is stopped (SIGTERM, then SIGKILL) when the test ends.
    """
    count = itertools.count()

    def make(kubeconfig: Path = kubeconfig, *extra_args: str) -> OperatorProcess:
        return OperatorProcess(cluster.namespace, kubeconfig, tmp_path / f"operator-{next(count)}.log", extra_args)

    yield from _each_stopped(make)


@pytest.fixture
def api_proxy(kubeconfig: Path, tmp_path: Path) -> Iterator[HoldingProxy]:
    """A started ``HoldingProxy`` to the session's API server (see tests/support/apiproxy.py)."""
    scratch = tmp_path / "api-proxy"
    scratch.mkdir(mode=0o700)
    proxy = HoldingProxy(kubeconfig, scratch).start()
    try:
        yield proxy
    finally:
        proxy.stop()


def _token_kubeconfig(admin: Path, token: str, namespace: str, path: Path) -> Path:
    """A kubeconfig for the same API server that authenticates with ``token`` only."""
    cfg = yaml.safe_load(admin.read_text())
    server = cfg["clusters"][0]["cluster"]
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "local", "cluster": server}],
                "users": [{"name": "operator", "user": {"token": token}}],
                "contexts": [
                    {"name": "sa", "context": {"cluster": "local", "user": "operator", "namespace": namespace}}
                ],
                "current-context": "sa",
            }
        )
    )
    path.chmod(0o600)
    return path


@dataclass(frozen=True)
class ServiceAccountCredentials:
    """A ServiceAccount's kubeconfig (a TokenRequest token only) and kubectl using it."""

    name: str
    namespace: str
    kubeconfig: Path
    kubectl: Any

    @property
    def user(self) -> str:
        """The user name RBAC knows it by (for ``kubectl auth can-i --as``)."""
        return f"system:serviceaccount:{self.namespace}:{self.name}"


@pytest.fixture
def service_account_credentials(
    kubeconfig: Path, kubectl: Any, tmp_path: Path
) -> Callable[[str, str], ServiceAccountCredentials]:
    """``service_account_credentials(namespace, name)``: credentials of an existing ServiceAccount.

    The token comes from the TokenRequest API (`kubectl create token`), as a
    pod would get it; the kubeconfig carries nothing else (no client certificate).
    """

    def make(namespace: str, name: str) -> ServiceAccountCredentials:
        token = kubectl("create", "token", name, "-n", namespace, "--duration=1h").stdout.strip()
        path = _token_kubeconfig(kubeconfig, token, namespace, tmp_path / f"{namespace}.{name}.kubeconfig")
        return ServiceAccountCredentials(name, namespace, path, dataclasses.replace(kubectl, kubeconfig=path))

    return make
