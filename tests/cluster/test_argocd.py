"""The WsgiApp health check and restart action with a real Argo CD (v3.6.1, built by ``make argocd-binaries``).

Two layers, both running Argo CD's own code:

* every case of ``health_test.yaml`` and ``actions/action_test.yaml`` (Argo CD's
  resource_customizations layout, argocd/resource_customizations/) through
  ``argocd admin settings resource-overrides``, with the argocd-cm we ship
  (argocd/argocd-cm.yaml): once in Argo CD's default Lua sandbox and once
  with the open libraries, which upstream's own test runner uses (Argo CD
  runs actions in the sandbox either way: ``useOpenLibs`` is for health);
* GitOps end to end: redis-server, argocd-repo-server and
  argocd-application-controller run as processes beside the local control
  plane (127.0.0.1 only) and sync a ``file://`` git repository of WsgiApps
  into the test's namespace, where the in-process operator reconciles them.

The binary and the module's manifests are found with ``hack/argocd/build.sh
--root``; nothing is skipped when they are missing: the test fails and says
to run ``make argocd-binaries``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.waiting import free_port, wait_for

pytest_plugins = ["operator_fixtures"]

REPO = Path(__file__).parents[2]
BUILD_SH = REPO / "hack" / "argocd" / "build.sh"
SHIPPED_CM = REPO / "argocd" / "argocd-cm.yaml"
WSGIAPP = REPO / "argocd" / "resource_customizations" / "wsgi-operator.io" / "WsgiApp"
KEY = "wsgi-operator.io_WsgiApp"
RESTARTED_AT = "wsgi-operator.io/restartedAt"
#: What upstream's action test normalizer writes for a restartedAt time, and what our expected outputs hold.
NORMALIZED_TIME = "0001-01-01T00:00:00Z"
#: Argo CD's server-side apply field manager.
ARGOCD_MANAGER = "argocd-controller"
TIMEOUT = 120


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


# ------------------------------------------------------------------ the build


@dataclass(frozen=True)
class ArgoCD:
    """What hack/argocd/build.sh produced."""

    root: Path

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    @property
    def binary(self) -> Path:
        return self.bin_dir / "argocd"

    @property
    def manifests(self) -> Path:
        return self.root / "manifests"

    def env(self, tmp: Path, **extra: str) -> dict[str, str]:
        """A clean environment: no ARGOCD_* or KUBECTL_* from the caller, temp files under ``tmp``,
        and git-verify-wrapper.sh (which the repo-server runs) on PATH."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ARGOCD_", "KUBECTL_"))}
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        env["TMPDIR"] = str(tmp)
        env.update(extra)
        return env


@pytest.fixture(scope="session")
def argocd() -> ArgoCD:
    root = Path(subprocess.run([str(BUILD_SH), "--root"], check=True, text=True, capture_output=True).stdout.strip())
    built = ArgoCD(root)
    missing = [
        p for p in (built.binary, built.bin_dir / "git-verify-wrapper.sh", built.manifests / "crds") if not p.exists()
    ]
    if missing or shutil.which("redis-server") is None:
        pytest.fail(
            f"Argo CD is not built ({', '.join(map(str, missing)) or 'redis-server'} missing): "
            "run `make argocd-binaries` (hack/argocd/build.sh); `make test` does it first"
        )
    return built


# ------------------------------------------------------------------ offline: resource-overrides


def _cm_with_open_libs(path: Path) -> None:
    cm = _yaml(SHIPPED_CM)
    cm["data"][f"resource.customizations.useOpenLibs.{KEY}"] = "true"
    path.write_text(yaml.safe_dump(cm, sort_keys=False))


@pytest.fixture(scope="module", params=["sandbox", "open-libs"])
def argocd_cm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped argocd-cm as it is (Argo CD's default sandbox), or with useOpenLibs for the WsgiApp."""
    if request.param == "sandbox":
        assert f"resource.customizations.useOpenLibs.{KEY}" not in _yaml(SHIPPED_CM)["data"]
        return SHIPPED_CM
    path = tmp_path_factory.mktemp("argocd-cm") / "argocd-cm.yaml"
    _cm_with_open_libs(path)
    return path


def admin_resource_overrides(
    argocd: ArgoCD, cm: Path, tmp: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``argocd admin settings resource-overrides ARGS --argocd-cm-path CM``: offline, no cluster."""
    cmd = [str(argocd.binary), "admin", "settings", "resource-overrides", *args, "--argocd-cm-path", str(cm)]
    return subprocess.run(cmd, env=env or argocd.env(tmp), text=True, capture_output=True, timeout=60, check=False)


def resource_overrides(
    argocd: ArgoCD, cm: Path, tmp: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``admin_resource_overrides``, which must succeed."""
    proc = admin_resource_overrides(argocd, cm, tmp, *args, env=env)
    assert proc.returncode == 0, f"{' '.join(proc.args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def evaluate_health(argocd: ArgoCD, cm: Path, resource: Path, tmp: Path) -> dict[str, str]:
    out = resource_overrides(argocd, cm, tmp, "health", str(resource)).stdout
    assert out.startswith("STATUS: "), out
    status, _, message = out.partition("\nMESSAGE: ")
    return {"status": status.removeprefix("STATUS: "), "message": message.removesuffix("\n")}


def list_actions(argocd: ArgoCD, cm: Path, resource: Path, tmp: Path) -> dict[str, bool]:
    """``list-actions``: {name: disabled}."""
    lines = resource_overrides(argocd, cm, tmp, "list-actions", str(resource)).stdout.splitlines()
    assert lines[0].split() == ["NAME", "DISABLED"], lines
    return {name: disabled == "true" for name, disabled in (line.split() for line in lines[1:])}


def run_action(argocd: ArgoCD, cm: Path, resource: Path, action: str, tmp: Path) -> dict[str, Any]:
    """``run-action``: the object the action returns, as Argo CD would patch it in.

    The command prints a diff of the input and the result made by
    ``$KUBECTL_EXTERNAL_DIFF LIVE RESULT``; a "diff" that prints its second
    file gives the result object itself.
    """
    env = argocd.env(tmp, KUBECTL_EXTERNAL_DIFF="""sh -c 'cat "$2"' sh""")
    out = resource_overrides(argocd, cm, tmp, "run-action", str(resource), action, env=env).stdout
    header = "Following fields have been changed:\n"
    assert out.startswith(header), out
    return yaml.safe_load(out.removeprefix(header))


def test_the_default_sandbox_has_no_string_library(argocd: ArgoCD, tmp_path: Path) -> None:
    """The sandbox runs are real: a script calling string.upper fails there, and works with open libraries."""
    data = {f"resource.customizations.health.{KEY}": 'return {status = "Healthy", message = string.upper("x")}'}
    cm = tmp_path / "argocd-cm.yaml"
    cm.write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argocd-cm"}, "data": data})
    )
    healthy = WSGIAPP / "testdata" / "healthy.yaml"
    sandboxed = admin_resource_overrides(argocd, cm, tmp_path, "health", str(healthy))
    assert sandboxed.returncode != 0 and "with key 'upper'" in sandboxed.stderr, sandboxed
    data[f"resource.customizations.useOpenLibs.{KEY}"] = "true"
    cm.write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argocd-cm"}, "data": data})
    )
    assert evaluate_health(argocd, cm, healthy, tmp_path) == {"status": "Healthy", "message": "X"}


def _health_cases() -> list[Any]:
    tests = _yaml(WSGIAPP / "health_test.yaml")["tests"]
    return [pytest.param(t["inputPath"], t["healthStatus"], id=Path(t["inputPath"]).stem) for t in tests]


@pytest.mark.parametrize(("input_path", "expected"), _health_cases())
def test_health_case(argocd: ArgoCD, argocd_cm: Path, tmp_path: Path, input_path: str, expected: dict) -> None:
    """Each case of health_test.yaml, evaluated by Argo CD's health code from argocd-cm."""
    got = evaluate_health(argocd, argocd_cm, WSGIAPP / input_path, tmp_path)
    assert got == {"status": expected["status"], "message": expected.get("message", "")}


ACTION_TESTS = _yaml(WSGIAPP / "actions" / "action_test.yaml")


@pytest.mark.parametrize(
    "case", ACTION_TESTS["discoveryTests"], ids=[Path(t["inputPath"]).stem for t in ACTION_TESTS["discoveryTests"]]
)
def test_action_discovery_case(argocd: ArgoCD, argocd_cm: Path, tmp_path: Path, case: dict) -> None:
    """Each discovery case of action_test.yaml: the actions Argo CD offers, and which are disabled."""
    got = list_actions(argocd, argocd_cm, WSGIAPP / "actions" / case["inputPath"], tmp_path)
    assert got == {a["name"]: a.get("disabled", False) for a in case["result"]}


def normalized_restart(result: dict[str, Any], before: dt.datetime, after: dt.datetime) -> dict[str, Any]:
    """``result`` with its restartedAt time (checked to be UTC now, RFC 3339) replaced by NORMALIZED_TIME."""
    out = copy.deepcopy(result)
    stamp = out["metadata"]["annotations"][RESTARTED_AT]
    when = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert before.replace(microsecond=0) <= when <= after, f"{stamp} is not the time of the run"
    out["metadata"]["annotations"][RESTARTED_AT] = NORMALIZED_TIME
    return out


@pytest.mark.parametrize(
    "case",
    ACTION_TESTS["actionTests"],
    ids=[f"{t['action']}-{Path(t['inputPath']).stem}" for t in ACTION_TESTS["actionTests"]],
)
def test_action_case(argocd: ArgoCD, argocd_cm: Path, tmp_path: Path, case: dict) -> None:
    """Each action case of action_test.yaml: the object the action returns is the expected output."""
    before = dt.datetime.now(dt.UTC)
    result = run_action(argocd, argocd_cm, WSGIAPP / "actions" / case["inputPath"], case["action"], tmp_path)
    after = dt.datetime.now(dt.UTC)
    assert normalized_restart(result, before, after) == _yaml(WSGIAPP / "actions" / case["expectedOutputPath"])


# ------------------------------------------------------------------ GitOps end to end


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Process:
    """One long-running process with its output in a log file."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        return self

    def alive(self) -> bool:
        """True while it runs; raises with the log's tail if it exited."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{tail}")
        return True

    def wait_listening(self, port: int) -> None:
        wait_for(
            f"{self.name} to listen on 127.0.0.1:{port} (log: {self.log})",
            lambda: self.alive() and _listening(port),
            TIMEOUT,
        )

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(20)


@dataclass
class GitRepo:
    """A git repository in a temporary directory, served to the repo-server as file://."""

    path: Path

    @property
    def url(self) -> str:
        return f"file://{self.path}"

    def git(self, *args: str) -> str:
        ident = [
            "-c",
            "user.name=wsgi-operator tests",
            "-c",
            "user.email=tests@wsgi-operator.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ]
        return subprocess.run(
            ["git", *ident, "-C", str(self.path), *args], check=True, text=True, capture_output=True, timeout=60
        ).stdout.strip()

    def commit(self, message: str, files: dict[str, Any]) -> str:
        """Write each ``files`` path (relative) as YAML (None deletes it), commit, return the sha."""
        for rel, obj in files.items():
            path = self.path / rel
            if obj is None:
                path.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(yaml.safe_dump(obj, sort_keys=False))
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", message)
        return self.git("rev-parse", "HEAD")


@dataclass
class GitOps:
    """An Argo CD (redis, repo-server, application-controller) in its own namespace, and a git repository."""

    kubectl: Any
    namespace: str
    repo: GitRepo
    processes: list[Process] = field(default_factory=list)

    def __call__(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """kubectl in the Argo CD namespace."""
        return self.kubectl(*args, "-n", self.namespace, **kwargs)

    def check_processes(self) -> bool:
        return all(p.alive() for p in self.processes)

    def application(self, name: str) -> dict[str, Any]:
        self.check_processes()
        return json.loads(self("get", "application", name, "-o", "json").stdout)

    def refresh(self, name: str) -> dict[str, Any]:
        """Ask for a normal refresh and wait until the controller has done it; return the Application."""
        self("annotate", "application", name, "argocd.argoproj.io/refresh=normal", "--overwrite")

        def refreshed() -> dict[str, Any] | None:
            app = self.application(name)
            annotations = app["metadata"].get("annotations") or {}
            return None if "argocd.argoproj.io/refresh" in annotations else app

        return wait_for(f"Application {name} to be refreshed", refreshed, TIMEOUT)

    def wait_app(self, name: str, what: str, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Wait until ``predicate(application)`` holds; return the Application."""

        def check() -> dict[str, Any] | None:
            app = self.application(name)
            return app if predicate(app) else None

        try:
            return wait_for(f"Application {name}: {what}", check, TIMEOUT)
        except AssertionError as err:
            status = self.application(name).get("status", {})
            brief = {k: status.get(k) for k in ("sync", "health", "resources", "operationState", "conditions")}
            raise AssertionError(f"{err}\nApplication status: {json.dumps(brief, indent=1)[:6000]}") from None


def resource_health(app: dict[str, Any], kind: str, name: str) -> dict[str, Any] | None:
    """The health Argo CD persisted for one managed resource (``--persist-resource-health``)."""
    for res in (app.get("status") or {}).get("resources") or []:
        if res.get("kind") == kind and res.get("name") == name:
            return res.get("health")
    return None


def synced_at(app: dict[str, Any], revision: str) -> bool:
    status = app.get("status") or {}
    return status.get("sync", {}).get("status") == "Synced" and status.get("sync", {}).get("revision") == revision


def health(app: dict[str, Any]) -> str | None:
    return ((app.get("status") or {}).get("health") or {}).get("status")


def merge_patch(old: Any, new: Any) -> Any:
    """The JSON merge patch (RFC 7386) from ``old`` to ``new``: what Argo CD's API server sends for an action."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return new
    patch: dict[str, Any] = {}
    for key in old.keys() | new.keys():
        if key not in new:
            patch[key] = None
        elif key not in old:
            patch[key] = new[key]
        elif old[key] != new[key]:
            patch[key] = merge_patch(old[key], new[key])
    return patch


@pytest.fixture
def gitops(argocd: ArgoCD, kubectl: Any, kubeconfig: Path, tmp_path: Path) -> Iterator[GitOps]:
    """Argo CD's CRDs, its config (with the shipped argocd-cm keys) and AppProject ``default`` in a fresh
    namespace, redis-server, argocd-repo-server and argocd-application-controller for it, and an empty
    git repository. Everything is stopped and deleted afterwards."""
    ns = f"t-argocd-{uuid.uuid4().hex[:8]}"
    tmp = tmp_path / "argocd-tmp"
    tmp.mkdir()
    repo = GitRepo(tmp_path / "repo")
    repo.path.mkdir()
    repo.git("init", "--quiet")
    ops = GitOps(kubectl, ns, repo)
    # The CRDs are cluster-wide and shared by every test session: applied, never deleted.
    kubectl("apply", "--server-side", "--force-conflicts", "-k", str(argocd.manifests / "crds"))

    # Polled, and as JSON: `kubectl wait` and a jsonpath filter both fail
    # outright on a CRD whose status has no conditions yet.
    def established(crd: str) -> bool:
        conditions = json.loads(kubectl("get", "crd", crd, "-o", "json").stdout).get("status", {}).get("conditions")
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions or ())

    for crd in ("applications.argoproj.io", "appprojects.argoproj.io"):
        wait_for(f"CRD {crd} Established", lambda crd=crd: established(crd), TIMEOUT)
    kubectl("create", "namespace", ns)
    try:
        config = list(yaml.safe_load_all(kubectl("kustomize", str(argocd.manifests / "base" / "config")).stdout))
        for obj in config:
            if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "argocd-cm":
                obj.setdefault("data", {}).update(_yaml(SHIPPED_CM)["data"])
        ops("apply", "--server-side", "-f", "-", input="\n---\n".join(yaml.safe_dump(o) for o in config))
        # argocd-server creates the default project; it does not run here.
        project = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "default"},
            "spec": {
                "sourceRepos": ["*"],
                "destinations": [{"server": "*", "namespace": "*"}],
                "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            },
        }
        ops("apply", "--server-side", "-f", "-", input=json.dumps(project))

        env = argocd.env(tmp, ARGOCD_GPG_ENABLED="false", KUBECONFIG=str(kubeconfig))
        redis_port, repo_port = free_port(), free_port()
        redis = Process(
            "redis-server",
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp),
            ],
            env,
            tmp_path / "redis.log",
        )
        ops.processes.append(redis.start())
        redis.wait_listening(redis_port)
        common = ["--redis", f"127.0.0.1:{redis_port}", "--loglevel", "info"]
        repo_server = Process(
            "argocd-repo-server",
            [
                str(argocd.binary),
                "--address",
                "127.0.0.1",
                "--port",
                str(repo_port),
                "--metrics-address",
                "127.0.0.1",
                "--metrics-port",
                str(free_port()),
                "--disable-tls",
                "--client-ca-path=",
                *common,
            ],
            {**env, "ARGOCD_BINARY_NAME": "argocd-repo-server"},
            tmp_path / "repo-server.log",
        )
        ops.processes.append(repo_server.start())
        repo_server.wait_listening(repo_port)
        controller = Process(
            "argocd-application-controller",
            [
                str(argocd.binary),
                "--kubeconfig",
                str(kubeconfig),
                "--namespace",
                ns,
                "--repo-server",
                f"127.0.0.1:{repo_port}",
                "--repo-server-plaintext",
                "--persist-resource-health",
                "--metrics-port",
                str(free_port()),
                *common,
            ],
            {**env, "ARGOCD_BINARY_NAME": "argocd-application-controller", "ARGOCD_FAKE_IN_CLUSTER": "true"},
            tmp_path / "application-controller.log",
        )
        ops.processes.append(controller.start())
        yield ops
    finally:
        for proc in reversed(ops.processes):
            proc.stop()
        kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False)


def _in_git(manifest: dict[str, Any]) -> dict[str, Any]:
    """A manifest as committed: no namespace (the Application's destination gives it)."""
    out = copy.deepcopy(manifest)
    out["metadata"].pop("namespace", None)
    return out


#: Argo CD's two diff strategies with server-side apply: the structured-merge diff that the
#: ServerSideApply sync option selects, and Server-Side Diff (a dry-run apply; stable since v3.1).
DIFF_STRATEGIES = {
    "structured-merge-diff": {},
    "server-side-diff": {"argocd.argoproj.io/compare-options": "ServerSideDiff=true"},
}


@pytest.mark.parametrize("diff", DIFF_STRATEGIES)
def test_gitops_sync_health_restart_and_drift(
    gitops: GitOps, cluster: Any, operator: Any, argocd: ArgoCD, tmp_path: Path, diff: str
) -> None:
    """A directory of WsgiApps synced by Argo CD (auto-sync, server-side apply) and reconciled by the operator.

    Healthy and Synced; a commit naming a missing ConfigMap is Degraded with the
    operator's message, and the fix Healthy again; the restart action rolls the
    pods; a deleted child is restored by the operator. None of it, nor any
    reconcile, makes the Application OutOfSync: auto-sync without selfHeal
    syncs each revision once, so an OutOfSync would stay visible, and the sync
    history counts exactly one sync per commit. Once with each diff strategy.
    """
    name = f"wsgiapps-{uuid.uuid4().hex[:6]}"
    web, api = cluster.app("web"), cluster.app("api", replicas=1)
    rev1 = gitops.repo.commit("two apps", {"apps/web.yaml": _in_git(web), "apps/api.yaml": _in_git(api)})
    application = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "annotations": DIFF_STRATEGIES[diff]},
        "spec": {
            "project": "default",
            "source": {"repoURL": gitops.repo.url, "targetRevision": "main", "path": "apps"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": cluster.namespace},
            "syncPolicy": {
                "automated": {"prune": True},
                "syncOptions": ["ServerSideApply=true", "CreateNamespace=true"],
            },
        },
    }
    gitops("apply", "--server-side", "-f", "-", input=json.dumps(application))

    def healthy_at(revision: str) -> Callable[[dict[str, Any]], bool]:
        def check(app: dict[str, Any]) -> bool:
            apps_healthy = all(
                (resource_health(app, "WsgiApp", n) or {}).get("status") == "Healthy" for n in ("web", "api")
            )
            return synced_at(app, revision) and health(app) == "Healthy" and apps_healthy

        return check

    app = gitops.wait_app(name, f"Synced at {rev1[:8]} and Healthy", healthy_at(rev1))
    ready = cluster.condition("web", "Ready")
    assert resource_health(app, "WsgiApp", "web") == {"status": "Healthy", "message": ready["message"]}

    def stays_synced(revision: str, syncs: int) -> dict[str, Any]:
        """After a refresh (a fresh comparison with git), still Synced at ``revision``, after ``syncs`` syncs."""
        app = gitops.refresh(name)
        assert app["status"]["sync"] == {**app["status"]["sync"], "status": "Synced", "revision": revision}
        assert len(app["status"].get("history") or []) == syncs, app["status"].get("history")
        return app

    # The operator writes status and its own children only: the spec stays Argo CD's alone
    # (the API server's defaults from the CRD schema are nobody's), so a fresh
    # comparison after the operator's reconciles finds nothing to sync.
    cluster.wait_converged("web")
    cluster.wait_converged("api")
    for app_name in ("web", "api"):
        obj = cluster.get("wsgiapp", app_name, managed_fields=True)
        spec_owners = {m["manager"] for m in obj["metadata"]["managedFields"] if "f:spec" in m.get("fieldsV1", {})}
        assert spec_owners == {ARGOCD_MANAGER}, obj["metadata"]["managedFields"]
        assert obj["spec"]["replicas"] == (2 if app_name == "web" else 1)  # web's 2 is the CRD's default
    for child in cluster.children("web"):
        assert "argocd.argoproj.io/tracking-id" not in (child["metadata"].get("annotations") or {}), child["metadata"]
        assert "app.kubernetes.io/instance" not in (child["metadata"].get("labels") or {}), child["metadata"]
    stays_synced(rev1, 1)

    # A commit that names a missing ConfigMap: refused by the operator, the old pods keep running.
    broken = cluster.app("web", code={"configMap": {"name": "web-code"}})
    rev2 = gitops.repo.commit("web: code from ConfigMap web-code", {"apps/web.yaml": _in_git(broken)})
    gitops.refresh(name)

    def degraded(app: dict[str, Any]) -> bool:
        res = resource_health(app, "WsgiApp", "web") or {}
        return synced_at(app, rev2) and health(app) == "Degraded" and res.get("status") == "Degraded"

    app = gitops.wait_app(name, f"Synced at {rev2[:8]} and Degraded", degraded)
    ready = cluster.condition("web", "Ready")
    assert ready["reason"] == "MissingReference"
    assert "spec.code.configMap.name" in ready["message"]
    assert resource_health(app, "WsgiApp", "web") == {"status": "Degraded", "message": ready["message"]}
    assert (resource_health(app, "WsgiApp", "api") or {}).get("status") == "Healthy"

    # The fix: back to the code in the image. (A commit that only added the ConfigMap would
    # leave the WsgiApp unchanged, and the operator would see the ConfigMap at its next
    # resync, --resync-interval: docs/gitops.md.)
    rev3 = gitops.repo.commit("web: code from the image again", {"apps/web.yaml": _in_git(web)})
    gitops.refresh(name)
    gitops.wait_app(name, f"Synced at {rev3[:8]} and Healthy again", healthy_at(rev3))
    cluster.wait_converged("web")
    stays_synced(rev3, 3)

    # A ConfigMap and the WsgiApp naming it in one commit: Argo CD applies ConfigMaps before custom
    # resources, so the operator finds it at once (not only at its next resync, which is minutes away).
    code = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-code"}, "data": {"wsgi.py": "# code\n"}}
    rev4 = gitops.repo.commit(
        "web: code from ConfigMap web-code, with it", {"apps/web.yaml": _in_git(broken), "apps/web-code.yaml": code}
    )
    gitops.refresh(name)
    gitops.wait_app(name, f"Synced at {rev4[:8]} and Healthy", healthy_at(rev4))
    cluster.wait_converged("web")
    (deployment,) = cluster.items("deployments.apps", "wsgi-operator.io/app=web")
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert "web-code" in [(v.get("configMap") or {}).get("name") for v in volumes]
    stays_synced(rev4, 4)

    # The restart action, as Argo CD's API server runs it: action.lua on the live object (by Argo CD's
    # code, from the shipped argocd-cm), then a merge patch of the difference.
    replica_sets = {rs["metadata"]["name"] for rs in cluster.items("replicasets.apps", "wsgi-operator.io/app=web")}
    live = cluster.get("wsgiapp", "web")
    live_path = tmp_path / "web-live.yaml"
    live_path.write_text(yaml.safe_dump(live))
    assert list_actions(argocd, SHIPPED_CM, live_path, tmp_path) == {"restart": False}
    result = run_action(argocd, SHIPPED_CM, live_path, "restart", tmp_path)
    patch = merge_patch(live, result)
    stamp = result["metadata"]["annotations"][RESTARTED_AT]
    assert patch == {"metadata": {"annotations": {RESTARTED_AT: stamp}}}
    cluster.patch("wsgiapp", "web", patch)

    def rolled() -> set[str] | None:
        items = cluster.items("replicasets.apps", "wsgi-operator.io/app=web")
        new = {
            rs["metadata"]["name"]
            for rs in items
            if (rs["spec"]["template"]["metadata"].get("annotations") or {}).get(RESTARTED_AT) == stamp
        }
        return new - replica_sets or None

    cluster.wait_for("a new ReplicaSet with the restart annotation", rolled, TIMEOUT)
    cluster.wait_converged("web", TIMEOUT)
    gitops.wait_app(name, "Healthy after the restart", healthy_at(rev4))
    stays_synced(rev4, 4)

    # A child deleted behind everyone's back: the operator restores it; Argo CD does not manage it.
    (policy,) = cluster.items("networkpolicies.networking.k8s.io", "wsgi-operator.io/app=web")
    cluster("delete", "networkpolicy", policy["metadata"]["name"])

    def restored() -> bool:
        again = cluster.get("networkpolicy", policy["metadata"]["name"])
        return again is not None and again["metadata"]["uid"] != policy["metadata"]["uid"]

    cluster.wait_for("the operator to recreate the NetworkPolicy", restored, TIMEOUT)
    gitops.wait_app(name, "Healthy after the NetworkPolicy was restored", healthy_at(rev4))
    stays_synced(rev4, 4)
