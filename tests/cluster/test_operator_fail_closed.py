"""Fail closed: when the fence cannot be applied, no new code runs and the old pods keep serving."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from operator_fixtures import Cluster

# The fixtures (cluster, operator, ...) live in operator_fixtures.
pytest_plugins = ["operator_fixtures"]

#: A NetworkPolicy the CRD accepts but the API server refuses: `except` must lie inside `cidr`.
REFUSED_FENCE = {
    "networkPolicy": {"egressTo": [{"ipBlock": {"cidr": "10.0.0.0/24", "except": ["192.168.0.0/24"]}}]},
    "image": "registry.example.com/test/app:2",
}


def test_refused_network_policy_runs_no_new_pod_and_keeps_the_old_ones(cluster: Cluster, operator) -> None:
    cluster.apply(cluster.app("web"))
    cluster.wait_converged("web")
    before = cluster.get("deployment", "web")
    pods = {p["metadata"]["name"] for p in cluster.items("pods", "wsgi-operator.io/app=web")}

    # A new image together with a fence the API server refuses.
    cluster.patch("wsgiapp", "web", {"spec": REFUSED_FENCE})

    def refused() -> dict | None:
        ready = cluster.condition("web", "Ready") or {}
        current = (cluster.get("wsgiapp", "web") or {}).get("status", {}).get("observedGeneration") == 2
        return ready if current and ready.get("reason") == "ApplyFailed" else None

    ready = cluster.wait_for("Ready=False, ApplyFailed, for generation 2", refused)
    assert "NetworkPolicy" in ready["message"] or "except" in ready["message"], ready
    # The fence is applied before anything that runs code: the Deployment
    # was never touched, so no pod of the new image exists.
    after = cluster.get("deployment", "web")
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert after["spec"]["template"] == before["spec"]["template"]
    now = cluster.items("pods", "wsgi-operator.io/app=web")
    assert {p["metadata"]["name"] for p in now} == pods
    assert all(c["image"] == "registry.example.com/test/app:1" for p in now for c in p["spec"]["containers"])
    assert (cluster.condition("web", "Available") or {}).get("status") == "True"
