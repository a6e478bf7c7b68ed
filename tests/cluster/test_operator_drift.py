"""Drift: changes made by others to what the operator owns are reverted; the rest is left alone.

The operator runs in-process and watches its children; every correction is
reported with a DriftCorrected Event on the WsgiApp.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from operator_fixtures import Cluster

# The fixtures (cluster, operator, ...) live in operator_fixtures.
pytest_plugins = ["operator_fixtures"]


def _drift_events(cluster: Cluster, app: str) -> list[str]:
    selector = f"involvedObject.kind=WsgiApp,involvedObject.name={app},reason=DriftCorrected"
    events = json.loads(cluster("get", "events", "--field-selector", selector, "-o", "json").stdout)["items"]
    return [e["message"] for e in events]


def _pod_spec(cluster: Cluster, app: str) -> dict[str, Any]:
    return cluster.get("deployment", app)["spec"]["template"]["spec"]


def _template_annotations(cluster: Cluster, app: str) -> dict[str, str]:
    return cluster.get("deployment", app)["spec"]["template"]["metadata"]["annotations"]


def _live_pods(cluster: Cluster, app: str) -> list[dict[str, Any]]:
    """The app's pods that are not being deleted."""
    pods = cluster.items("pods", f"wsgi-operator.io/app={app}")
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def _reported(cluster: Cluster, app: str, child: str, seen: int) -> list[str]:
    """Wait for more DriftCorrected events than ``seen`` naming ``child``."""
    return cluster.wait_for(
        f"a DriftCorrected event naming {child}",
        lambda: len(msgs := [m for m in _drift_events(cluster, app) if child in m]) > seen and msgs,
    )


def test_edited_security_context_is_reverted(cluster: Cluster, operator) -> None:
    cluster.apply(cluster.app("web"))
    cluster.wait_converged("web")

    # A field the operator owns, changed by another manager (kubectl patch).
    cluster.patch(
        "deployment",
        "web",
        {"spec": {"template": {"spec": {"securityContext": {"runAsUser": 4242, "runAsNonRoot": False}}}}},
    )
    cluster.wait_for(
        "the pod securityContext to be restored",
        lambda: (
            _pod_spec(cluster, "web")["securityContext"].get("runAsUser") == 10001
            and _pod_spec(cluster, "web")["securityContext"].get("runAsNonRoot") is True
        ),
    )
    _reported(cluster, "web", "Deployment/web", 0)


def test_deleted_network_policy_is_recreated(cluster: Cluster, operator) -> None:
    cluster.apply(cluster.app("web"))
    cluster.wait_converged("web")
    old = cluster.get("networkpolicy", "web")

    cluster("delete", "networkpolicy", "web")

    new = cluster.wait_for(
        "a new NetworkPolicy",
        lambda: (np := cluster.get("networkpolicy", "web")) and np["metadata"]["uid"] != old["metadata"]["uid"] and np,
    )
    assert new["spec"] == old["spec"]
    assert new["metadata"]["ownerReferences"] == old["metadata"]["ownerReferences"]
    _reported(cluster, "web", "NetworkPolicy/web", 0)


def test_scaled_deployment_is_scaled_back(cluster: Cluster, operator) -> None:
    cluster.apply(cluster.app("web", replicas=2))
    cluster.wait_converged("web")

    cluster("scale", "deployment", "web", "--replicas=5")

    # The correction is the operator taking spec.replicas back from kubectl.
    def scaled_back() -> bool:
        dep = cluster.get("deployment", "web", managed_fields=True)
        owners = {
            e["manager"]
            for e in dep["metadata"]["managedFields"]
            if "f:replicas" in e.get("fieldsV1", {}).get("f:spec", {})
        }
        return dep["spec"]["replicas"] == 2 and owners == {"wsgi-operator"}

    cluster.wait_for("spec.replicas back at 2, owned by the operator", scaled_back)
    _reported(cluster, "web", "Deployment/web", 0)
    # The ReplicaSet controller scales down after the operator's correction,
    # at its own pace: wait for that outcome rather than sample it once.
    cluster.wait_for("2 live pods", lambda: len(_live_pods(cluster, "web")) == 2, timeout=120)
    cluster.wait_converged("web")


def test_rollout_restart_annotation_survives_reconciles(cluster: Cluster, operator) -> None:
    cluster.apply(cluster.app("web"))
    cluster.wait_converged("web")

    cluster("rollout", "restart", "deployment/web")
    restarted = _template_annotations(cluster, "web")["kubectl.kubernetes.io/restartedAt"]

    # A spec change makes the operator apply the Deployment again...
    cluster.patch("wsgiapp", "web", {"spec": {"replicas": 3}})
    cluster.wait_converged("web")
    # ...and so does the operator's own restart action.
    cluster("annotate", "wsgiapp", "web", "wsgi-operator.io/restartedAt=2026-01-01T00:00:00Z")
    cluster.wait_for(
        "the operator's restart annotation",
        lambda: "wsgi-operator.io/restartedAt" in _template_annotations(cluster, "web"),
    )
    cluster.wait_converged("web")

    dep = cluster.get("deployment", "web")
    annotations = dep["spec"]["template"]["metadata"]["annotations"]
    assert dep["spec"]["replicas"] == 3
    # kubectl's annotation belongs to kubectl's field manager: server-side apply leaves it alone.
    assert annotations["kubectl.kubernetes.io/restartedAt"] == restarted
    assert annotations["wsgi-operator.io/restartedAt"] == "2026-01-01T00:00:00Z"
    # Neither was drift. A sentinel makes "no correction was reported" a
    # statement about everything before it: reconciles of one app run one
    # after the other, so once the deleted NetworkPolicy's correction is
    # reported, any (wrong) correction queued by the steps above has been too.
    cluster("delete", "networkpolicy", "web")
    assert _reported(cluster, "web", "NetworkPolicy/web", 0) == _drift_events(cluster, "web")
    assert [m for m in _drift_events(cluster, "web") if "Deployment/web" in m] == []
