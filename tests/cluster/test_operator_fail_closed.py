"""Fail closed: when the fence cannot be applied, no new code runs and the old pods keep serving."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from operator_fixtures import Cluster

# The fixtures (cluster, operator, ...) live in operator_fixtures.
pytest_plugins = ["operator_fixtures"]

#: A new image together with a changed fence (valid: the CRD and the API server's
#: NetworkPolicy validation both accept it), so the NetworkPolicy must be updated.
NEW_RELEASE = {
    "networkPolicy": {"egressTo": [{"ipBlock": {"cidr": "10.0.0.0/24", "except": ["10.0.0.128/25"]}}]},
    "image": "registry.example.com/test/app:2",
}
REFUSAL = "fault switch: this cluster refuses NetworkPolicies here"


@contextmanager
def refusing_network_policies(cluster: Cluster) -> Iterator[None]:
    """A cluster policy (as Kyverno or Gatekeeper would be) that refuses every NetworkPolicy
    written in the test's namespace: the fault switch.

    Since validate and the CRD now refuse every fence the API server's own validation
    would (issue 12), a policy of the cluster's is what is left to refuse a valid one.
    It is in force once a server-side dry-run of a NetworkPolicy there is refused.
    """
    name = f"refuse-networkpolicies-{cluster.namespace}"
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["networking.k8s.io"],
                            "apiVersions": ["*"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": ["networkpolicies"],
                        }
                    ]
                },
                "validations": [{"expression": "false", "message": REFUSAL}],
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {
                "policyName": name,
                "validationActions": ["Deny"],
                "matchResources": {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": cluster.namespace}}
                },
            },
        },
    ]
    manifest = "\n---\n".join(json.dumps(o) for o in objects)
    probe = json.dumps(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "fault-switch-probe", "namespace": cluster.namespace},
            "spec": {"podSelector": {}},
        }
    )
    cluster.kubectl("apply", "--server-side", "-f", "-", input=manifest)
    try:

        def in_force() -> bool:
            dry_run = cluster("apply", "--server-side", "--dry-run=server", "-f", "-", input=probe, check=False)
            return dry_run.returncode != 0 and REFUSAL in dry_run.stderr

        cluster.wait_for("the policy refusing NetworkPolicies to be in force", in_force, 60)
        yield
    finally:
        cluster.kubectl("delete", "--ignore-not-found", "-f", "-", input=manifest, check=False)


def test_refused_network_policy_runs_no_new_pod_and_keeps_the_old_ones(cluster: Cluster, start_operator) -> None:
    # A refusal by admission is final for kopf; the periodic resync is what retries
    # once the cluster accepts the fence again (every second here, not every 5 minutes).
    start_operator(resync_interval=1)
    cluster.apply(cluster.app("web"))
    cluster.wait_converged("web")
    before = cluster.get("deployment", "web")
    pods = {p["metadata"]["name"] for p in cluster.items("pods", "wsgi-operator.io/app=web")}

    with refusing_network_policies(cluster):
        # A new image together with a fence the cluster refuses.
        cluster.patch("wsgiapp", "web", {"spec": NEW_RELEASE})

        def refused() -> dict | None:
            ready = cluster.condition("web", "Ready") or {}
            current = (cluster.get("wsgiapp", "web") or {}).get("status", {}).get("observedGeneration") == 2
            return ready if current and ready.get("reason") == "ApplyFailed" else None

        ready = cluster.wait_for("Ready=False, ApplyFailed, for generation 2", refused)
        assert "networkpolicies" in ready["message"] and REFUSAL in ready["message"], ready
        # The fence is applied before anything that runs code: the Deployment
        # was never touched, so no pod of the new image exists.
        after = cluster.get("deployment", "web")
        assert after["metadata"]["generation"] == before["metadata"]["generation"]
        assert after["spec"]["template"] == before["spec"]["template"]
        now = cluster.items("pods", "wsgi-operator.io/app=web")
        assert {p["metadata"]["name"] for p in now} == pods
        assert all(c["image"] == "registry.example.com/test/app:1" for p in now for c in p["spec"]["containers"])
        assert (cluster.condition("web", "Available") or {}).get("status") == "True"

    # The switch is off: the next resync applies the fence, then the new release.
    cluster.wait_converged("web")
    rolled = cluster.get("deployment", "web")
    assert rolled["spec"]["template"]["spec"]["containers"][0]["image"] == NEW_RELEASE["image"]
