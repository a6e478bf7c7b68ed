"""The operator's reconcile loop against the real control plane (issue 5).

Create, update, restart, delete, refused changes and no-op reconciles, with
the operator running in-process (kopf in a background thread) and watching
only the test's namespace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY

from wsgi_operator.api.validation import validate
from wsgi_operator.render import render

if TYPE_CHECKING:
    from operator_fixtures import Cluster

# The fixtures (cluster, operator, start_operator, ...) live in operator_fixtures.
pytest_plugins = ["operator_fixtures"]

EXPECTED_KINDS = [
    "ConfigMap",
    "ConfigMap",
    "Deployment",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "Service",
    "ServiceAccount",
]


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]["containers"][0]


def _flag(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def _replica_sets(cluster: Cluster, app: str) -> dict[str, dict[str, Any]]:
    return {rs["metadata"]["name"]: rs for rs in cluster.items("replicasets", f"wsgi-operator.io/app={app}")}


def _pods(cluster: Cluster, app: str) -> dict[str, str]:
    return {p["metadata"]["name"]: p["metadata"]["uid"] for p in cluster.items("pods", f"wsgi-operator.io/app={app}")}


def test_create_makes_every_child_owned_and_ready(cluster: Cluster, operator) -> None:
    stored = cluster.apply(cluster.app("web"))
    uid = stored["metadata"]["uid"]

    # What users run; kwok marks the pods Running/Ready.
    cluster.wait_ready("web", timeout=60)

    children = cluster.children("web")
    assert sorted(c["kind"] for c in children) == EXPECTED_KINDS
    owner = {
        "apiVersion": "wsgi-operator.io/v1alpha1",
        "kind": "WsgiApp",
        "name": "web",
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
    for child in children:
        assert child["metadata"]["ownerReferences"] == [owner], child["metadata"]["name"]

    # The operator applies exactly what `wsgi-operator render` prints.
    app = cluster.get("wsgiapp", "web")
    rendered = {(c["kind"], c["metadata"]["name"]): c for c in render(validate(app))}
    live = {(c["kind"], c["metadata"]["name"]): c for c in children}
    assert live.keys() == rendered.keys()
    for name in ("web-entry", "web-config"):
        assert live["ConfigMap", name]["data"] == rendered["ConfigMap", name]["data"]
    assert _container(live["Deployment", "web"])["command"] == _container(rendered["Deployment", "web"])["command"]

    status = app["status"]
    generation = app["metadata"]["generation"]
    assert status["observedGeneration"] == generation
    assert (status["replicas"], status["readyReplicas"]) == (2, 2)
    assert status["selector"] == "wsgi-operator.io/app=web"
    assert status["url"] == f"http://web.{cluster.namespace}.svc:80/"
    conditions = {c["type"]: c for c in status["conditions"]}
    expected = dict.fromkeys(["Ready", "Reconciled", "Available"], "True")
    assert {t: c["status"] for t, c in conditions.items()} == expected
    assert {c["observedGeneration"] for c in conditions.values()} == {generation}


def test_update_changes_children_rolls_pods_and_prunes(cluster: Cluster, operator) -> None:
    cluster.apply(
        cluster.app(
            "web",
            ingress={"hosts": ["web.example.com"]},
            networkPolicy={"ingressFrom": [{"app": "frontend"}]},
        )
    )
    before = cluster.wait_converged("web")
    assert cluster.get("ingress", "web") is not None
    old_sets = set(_replica_sets(cluster, "web"))

    # The same field manager applies a new intent without the ingress.
    cluster.apply(
        cluster.app(
            "web",
            image="registry.example.com/test/app:2",
            timeouts={"request": 30},
            networkPolicy={"ingressFrom": [{"app": "backend"}]},
        )
    )
    after = cluster.wait_converged("web")
    assert after["metadata"]["generation"] > before["metadata"]["generation"]
    assert after["status"]["observedGeneration"] == after["metadata"]["generation"]

    cluster.wait_for("the Ingress to be pruned", lambda: cluster.get("ingress", "web") is None)
    container = _container(cluster.get("deployment", "web"))
    assert container["image"] == "registry.example.com/test/app:2"
    assert _flag(container["command"], "--request-timeout") == "30"
    peers = [rule["from"] for rule in cluster.get("networkpolicy", "web")["spec"]["ingress"]]
    assert [{"podSelector": {"matchLabels": {"wsgi-operator.io/app": "backend"}}}] in peers
    assert [{"podSelector": {"matchLabels": {"wsgi-operator.io/app": "frontend"}}}] not in peers

    # The template changed, so the Deployment rolled to a new ReplicaSet,
    # and Ready (a finished rollout) means the new pods run the new image.
    new_sets = {n: rs for n, rs in _replica_sets(cluster, "web").items() if n not in old_sets}
    assert new_sets, "no new ReplicaSet: the Deployment did not roll"
    (new_set,) = new_sets.values()
    assert new_set["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.com/test/app:2"
    assert new_set["status"].get("readyReplicas") == 2


def test_restart_annotation_rolls_the_pods(cluster: Cluster, operator) -> None:
    cluster.apply(cluster.app("web"))
    cluster.wait_converged("web")
    old_pods = _pods(cluster, "web")

    cluster("annotate", "wsgiapp", "web", "wsgi-operator.io/restartedAt=2026-01-01T00:00:00Z")

    def rolled() -> bool:
        template = cluster.get("deployment", "web")["spec"]["template"]
        return template["metadata"]["annotations"].get("wsgi-operator.io/restartedAt") == "2026-01-01T00:00:00Z"

    cluster.wait_for("the restart annotation on the pod template", rolled)
    cluster.wait_converged("web")
    new_pods = cluster.wait_for(
        "the old pods to be replaced",
        lambda: (pods := _pods(cluster, "web")) and len(pods) == 2 and not set(pods) & set(old_pods) and pods,
    )
    assert len(new_pods) == 2


def test_delete_garbage_collects_every_child(cluster: Cluster, operator) -> None:
    cluster.apply(cluster.app("web", ingress={"hosts": ["web.example.com"]}))
    cluster.wait_converged("web")
    assert len(cluster.children("web")) == len(EXPECTED_KINDS) + 1

    cluster("delete", "wsgiapp", "web", "--wait=true")

    # No finalizer: kube-controller-manager's garbage collector does the work.
    cluster.wait_for(
        "every child, ReplicaSet and pod to be garbage-collected",
        lambda: not cluster.descendants("web"),
        timeout=120,
    )


def test_unsatisfiable_change_keeps_the_running_pods(cluster: Cluster, start_operator) -> None:
    # A short resync: creating the missing ConfigMap is not an event the operator watches.
    start_operator(resync_interval=1)
    cluster.apply(cluster.app("web"))
    cluster.wait_converged("web")
    pods, sets = _pods(cluster, "web"), set(_replica_sets(cluster, "web"))
    template = cluster.get("deployment", "web")["spec"]["template"]

    # The CRD cannot know whether a ConfigMap exists: only the operator can refuse this.
    cluster.patch("wsgiapp", "web", {"spec": {"code": {"configMap": {"name": "missing-code"}}}})

    def refused() -> dict[str, Any] | None:
        obj = cluster.get("wsgiapp", "web")
        reconciled = cluster.condition("web", "Reconciled") or {}
        if obj["status"]["observedGeneration"] == obj["metadata"]["generation"] and reconciled.get("status") == "False":
            return obj
        return None

    obj = cluster.wait_for("status to report the refused change", refused)
    conditions = {c["type"]: c for c in obj["status"]["conditions"]}
    assert conditions["Ready"]["status"] == "False"
    assert conditions["Ready"]["reason"] == conditions["Reconciled"]["reason"] == "MissingReference"
    assert "ConfigMap 'missing-code'" in conditions["Ready"]["message"]
    assert "spec.code.configMap.name" in conditions["Ready"]["message"]
    # The old pods keep serving, and the status says so.
    assert conditions["Available"]["status"] == "True"

    # Several resyncs later nothing was touched: same pods, same ReplicaSet, same template.
    _wait_resyncs(cluster, 3, "MissingReference")
    assert _pods(cluster, "web") == pods
    assert set(_replica_sets(cluster, "web")) == sets
    assert cluster.get("deployment", "web")["spec"]["template"] == template

    # Fixing the cause converges without touching the WsgiApp again.
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "missing-code", "namespace": cluster.namespace},
            "data": {"app.py": "application = None\n"},
        }
    )
    cluster.wait_converged("web")
    volumes = cluster.get("deployment", "web")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "missing-code", "defaultMode": 0o444} in [v.get("configMap") for v in volumes]


def test_foreign_object_with_a_child_name_is_not_taken_over(cluster: Cluster, start_operator) -> None:
    start_operator(resync_interval=1)
    foreign = cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "web-config", "namespace": cluster.namespace},
            "data": {"owner": "someone else"},
        }
    )
    cluster.apply(cluster.app("web"))

    ready = cluster.wait_for(
        "Ready=False", lambda: (c := cluster.condition("web", "Ready")) and c["status"] == "False" and c
    )
    assert ready["reason"] == "NameConflict"
    assert "ConfigMap 'web-config'" in ready["message"]
    assert cluster.get("deployment", "web") is None, "children were applied despite the conflict"
    untouched = cluster.get("configmap", "web-config")
    assert untouched["data"] == {"owner": "someone else"}
    assert "ownerReferences" not in untouched["metadata"]
    assert untouched["metadata"]["resourceVersion"] == foreign["metadata"]["resourceVersion"]
    # Nor by the resyncs that follow.
    _wait_resyncs(cluster, 3, "NameConflict")
    assert cluster.get("deployment", "web") is None
    assert (
        cluster.get("configmap", "web-config")["metadata"]["resourceVersion"] == foreign["metadata"]["resourceVersion"]
    )

    cluster("delete", "configmap", "web-config")
    cluster.wait_converged("web")


def _operator_writes(cluster: Cluster, app: str) -> dict[str, list[dict[str, Any]]]:
    """The operator's managedFields entries on each child and on the WsgiApp.

    Their ``time`` moves on every write the operator makes, and only then;
    writes by the controllers (Deployment and PDB status) leave them alone.
    """
    names = [(o["kind"], o["metadata"]["name"]) for o in cluster.children(app)] + [("wsgiapp", app)]
    return {
        f"{kind}/{name}": [
            e
            for e in cluster.get(kind, name, managed_fields=True)["metadata"]["managedFields"]
            if e["manager"] == "wsgi-operator"
        ]
        for kind, name in names
    }


def _reconciles(trigger: str, outcome: str) -> float:
    labels = {"trigger": trigger, "outcome": outcome}
    return REGISTRY.get_sample_value("wsgi_operator_reconciles_total", labels) or 0.0


def _wait_resyncs(cluster: Cluster, count: int, outcome: str) -> None:
    """Wait until ``count`` more periodic resyncs have ended with ``outcome``."""
    start = _reconciles("resync", outcome)
    cluster.wait_for(f"{count} more resyncs ending {outcome}", lambda: _reconciles("resync", outcome) >= start + count)


def _unchanged_resyncs() -> float:
    return REGISTRY.get_sample_value("wsgi_operator_reconciles_unchanged_total", {"trigger": "resync"}) or 0.0


def test_noop_reconcile_writes_nothing(cluster: Cluster, start_operator) -> None:
    # Every other resync applies every child; the others find them unchanged and send nothing.
    start_operator(resync_interval=1, full_resync_every=2)
    cluster.apply(cluster.app("web", ingress={"hosts": ["web.example.com"]}))
    cluster.wait_converged("web")
    # The rollout is over, so the Deployment's status (which the operator
    # mirrors) has its final value.
    cluster("rollout", "status", "deployment/web", "--timeout=120s", timeout=150)

    before = _operator_writes(cluster, "web")
    assert all(before.values()), before
    resyncs, unchanged = _reconciles("resync", "Applied"), _unchanged_resyncs()
    cluster.wait_for(
        "3 resyncs that applied every child and 3 that found them unchanged",
        lambda: (
            _unchanged_resyncs() - unchanged >= 3
            and (_reconciles("resync", "Applied") - resyncs) - (_unchanged_resyncs() - unchanged) >= 3
        ),
    )
    # Every child was applied again (and the status recomputed) three times; nothing was written.
    assert _operator_writes(cluster, "web") == before
