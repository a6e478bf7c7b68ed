"""`wsgi-operator run` as a process: killed mid-reconcile, and with Role-only credentials (the generated rules)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wsgi_operator import rbac

if TYPE_CHECKING:
    from operator_fixtures import Cluster

    from support.apiproxy import HoldingProxy

# The fixtures (cluster, operator_process, ...) live in operator_fixtures.
pytest_plugins = ["operator_fixtures"]

APPS = [f"app{i}" for i in range(10)]
KINDS = ["ConfigMap", "ConfigMap", "Deployment", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount"]


def test_sigkill_mid_reconcile_then_restart_converges_without_duplicates(
    cluster: Cluster, operator_process, api_proxy: HoldingProxy, tmp_path: Path
) -> None:
    # The first operator reaches the API server through a proxy that lets
    # ALLOWED applies through and holds every later one, unsent: the kill
    # below lands while reconciles are provably half done, however fast or
    # slow this machine is.
    allowed = 3
    api_proxy.hold_after(allowed, lambda request: request.is_apply)
    first = operator_process(api_proxy.kubeconfig(tmp_path / "proxy.kubeconfig", cluster.namespace))
    for name in APPS:
        cluster.apply(cluster.app(name, replicas=1))

    api_proxy.wait_until(
        "an apply held, after the allowed ones were answered",
        lambda proxy: bool(proxy.held) and sum(r.is_apply for r in proxy.completed) == allowed,
    )
    first.kill()
    # Exactly the applies let through reached the API server: no app is whole.
    created = [child for name in APPS for child in cluster.children(name)]
    assert len(created) == allowed, [f"{c['kind']}/{c['metadata']['name']}" for c in created]

    operator_process()
    for name in APPS:
        cluster.wait_converged(name, timeout=120)

    for name in APPS:
        uid = cluster.get("wsgiapp", name)["metadata"]["uid"]
        children = cluster.children(name)
        assert sorted(c["kind"] for c in children) == KINDS, name
        for child in children:
            assert [r["uid"] for r in child["metadata"]["ownerReferences"]] == [uid]
        # One template, so one ReplicaSet and exactly the desired pod.
        assert len(cluster.items("replicasets", f"wsgi-operator.io/app={name}")) == 1, name
        pods = cluster.items("pods", f"wsgi-operator.io/app={name}")
        assert len([p for p in pods if not p["metadata"].get("deletionTimestamp")]) == 1, name


def _rbac(namespace: str) -> list[dict[str, Any]]:
    """A ServiceAccount and a Role (no ClusterRole) with the rules of `wsgi-operator rbac --namespaced`."""
    rules = rbac.namespaced()
    assert rules["clusterRole"] == [], "namespaced mode needs nothing cluster-wide"
    meta = {"name": "wsgi-operator", "namespace": namespace}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta, "rules": rules["role"]},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "wsgi-operator"},
            "subjects": [{"kind": "ServiceAccount", "name": "wsgi-operator", "namespace": namespace}],
        },
    ]


def test_namespaced_mode_with_role_only_rbac(cluster: Cluster, operator_process, service_account_credentials) -> None:
    for obj in _rbac(cluster.namespace):
        cluster.apply(obj)
    # A bound token from the TokenRequest API, as a pod would get.
    sa = service_account_credentials(cluster.namespace, "wsgi-operator")

    # The credentials really are namespaced: nothing cluster-wide is allowed.
    probe = sa.kubectl("get", "wsgiapps", "--all-namespaces", check=False)
    assert probe.returncode != 0 and "forbidden" in probe.stderr.lower()

    op = operator_process(sa.kubeconfig)
    cluster.apply(cluster.app("web", ingress={"hosts": ["web.example.com"]}))
    cluster.wait_ready("web", timeout=60)

    # Pruning and drift correction work with the Role too.
    cluster.patch("wsgiapp", "web", {"spec": {"ingress": None}})
    cluster.wait_for("the Ingress to be pruned", lambda: cluster.get("ingress", "web") is None)
    cluster("delete", "networkpolicy", "web")
    cluster.wait_for("the NetworkPolicy to be recreated", lambda: cluster.get("networkpolicy", "web"))
    cluster.wait_converged("web")

    # Stopped first, so the log is complete: no request of the whole run was refused.
    op.stop()
    assert "forbidden" not in op.log().lower(), op.log()
    assert json.loads(cluster("get", "wsgiapp", "web", "-o", "json").stdout)["status"]["url"]
