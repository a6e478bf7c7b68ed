"""Status of a WsgiApp as a pure function: conditions, transitions, availability."""

from __future__ import annotations

from typing import Any

import pytest

from wsgi_operator.api.conditions import MAX_MESSAGE
from wsgi_operator.controller.status import (
    Availability,
    Observation,
    compute_status,
    deployment_availability,
    status_patch,
)

T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"
READY = Availability("True", "ReplicasReady", "2 of 2 replicas are ready", replicas=2, ready_replicas=2)


def deployment(desired: int | None = 2, generation: int = 3, **status: Any) -> dict[str, Any]:
    spec = {} if desired is None else {"replicas": desired}
    full = {"observedGeneration": generation, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, **status}
    return {"metadata": {"generation": generation}, "spec": spec, "status": full}


def observation(**changes: Any) -> Observation:
    values: dict[str, Any] = {
        "generation": 4,
        "reconciled": True,
        "reason": "Applied",
        "message": "7 children applied",
        "availability": READY,
        "selector": "wsgi-operator.io/app=web",
        "url": "http://web.ns.svc:80/",
    }
    values.update(changes)
    return Observation(**values)


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


# ------------------------------------------------------------ availability


@pytest.mark.parametrize(
    ("dep", "status", "reason"),
    [
        (None, "False", "DeploymentMissing"),
        (deployment(observedGeneration=2), "Unknown", "RolloutPending"),
        (
            deployment(conditions=[{"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "stuck"}]),
            "False",
            "ProgressDeadlineExceeded",
        ),
        (deployment(updatedReplicas=1, replicas=3, readyReplicas=3), "False", "RollingOut"),
        (deployment(replicas=3, readyReplicas=3), "False", "RollingOut"),
        (deployment(readyReplicas=1), "False", "ReplicasNotReady"),
        (deployment(), "True", "ReplicasReady"),
        (deployment(desired=0, replicas=0, updatedReplicas=0, readyReplicas=0), "True", "ReplicasReady"),
    ],
    ids=["missing", "generation-not-observed", "deadline", "old-template", "old-pods", "not-ready", "ready", "zero"],
)
def test_availability_follows_the_deployment(dep: dict | None, status: str, reason: str) -> None:
    avail = deployment_availability(dep)
    assert (avail.status, avail.reason) == (status, reason)


def test_availability_defaults_desired_to_one_and_reports_counts() -> None:
    avail = deployment_availability(deployment(desired=None, replicas=1, updatedReplicas=1, readyReplicas=0))
    assert (avail.status, avail.message) == ("False", "0 of 1 replicas are ready")
    assert (avail.replicas, avail.ready_replicas) == (1, 0)


def test_deadline_message_is_the_deployment_controllers() -> None:
    dep = deployment(conditions=[{"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "RS stuck"}])
    assert deployment_availability(dep).message == "RS stuck"


# ------------------------------------------------------------ conditions


def test_first_status_has_every_field() -> None:
    status = compute_status(None, observation(), T0)
    assert status == {
        "observedGeneration": 4,
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "observedGeneration": 4,
                "lastTransitionTime": T0,
                "reason": "Ready",
                "message": "2 of 2 replicas are ready",
            },
            {
                "type": "Reconciled",
                "status": "True",
                "observedGeneration": 4,
                "lastTransitionTime": T0,
                "reason": "Applied",
                "message": "7 children applied",
            },
            {
                "type": "Available",
                "status": "True",
                "observedGeneration": 4,
                "lastTransitionTime": T0,
                "reason": "ReplicasReady",
                "message": "2 of 2 replicas are ready",
            },
        ],
        "replicas": 2,
        "readyReplicas": 2,
        "selector": "wsgi-operator.io/app=web",
        "url": "http://web.ns.svc:80/",
    }


def test_transition_time_moves_only_when_status_flips() -> None:
    old = compute_status(None, observation(), T0)
    # Same statuses, new generation and message: no transition.
    same = compute_status(old, observation(generation=5, message="8 children applied"), T1)
    assert {c["lastTransitionTime"] for c in same["conditions"]} == {T0}
    assert {c["observedGeneration"] for c in same["conditions"]} == {5}
    assert conditions(same)["Reconciled"]["message"] == "8 children applied"

    # Available flips: Available and Ready transition, Reconciled does not.
    rolling = Availability("False", "RollingOut", "1 of 2 replicas run the current pod template", 3, 2)
    flipped = compute_status(same, observation(generation=5, availability=rolling), T1)
    times = {t: c["lastTransitionTime"] for t, c in conditions(flipped).items()}
    assert times == {"Ready": T1, "Reconciled": T0, "Available": T1}


def test_refused_spec_makes_ready_false_with_its_reason_while_pods_serve() -> None:
    old = compute_status(None, observation(), T0)
    obs = observation(
        generation=5,
        reconciled=False,
        reason="MissingReference",
        message="ConfigMap 'code' (spec.code.configMap.name) not found",
        url=None,
        selector=None,
    )
    status = compute_status(old, obs, T1)
    conds = conditions(status)
    assert (conds["Ready"]["status"], conds["Ready"]["reason"]) == ("False", "MissingReference")
    assert conds["Ready"]["message"] == obs.message
    assert (conds["Reconciled"]["status"], conds["Reconciled"]["reason"]) == ("False", "MissingReference")
    assert conds["Available"]["status"] == "True"
    assert status["observedGeneration"] == 5
    # What is not known for the refused spec is kept from before.
    assert status["url"] == old["url"]
    assert status["selector"] == old["selector"]


def test_ready_carries_availability_when_reconciled() -> None:
    pending = Availability("Unknown", "RolloutPending", "not yet seen")
    conds = conditions(compute_status(None, observation(availability=pending), T0))
    assert (conds["Ready"]["status"], conds["Ready"]["reason"]) == ("Unknown", "RolloutPending")
    assert conds["Reconciled"]["status"] == "True"


def test_no_deployment_means_no_replica_counts() -> None:
    missing = Availability("False", "DeploymentMissing", "the Deployment does not exist")
    status = compute_status(None, observation(availability=missing), T0)
    assert "replicas" not in status
    assert "readyReplicas" not in status


def test_long_messages_are_cut() -> None:
    status = compute_status(None, observation(reconciled=False, reason="InvalidSpec", message="x" * 50_000), T0)
    assert {len(c["message"]) for c in status["conditions"] if c["type"] != "Available"} == {MAX_MESSAGE}


# ------------------------------------------------------------ patches


def test_unchanged_status_needs_no_write() -> None:
    status = compute_status(None, observation(), T0)
    assert status_patch(status, compute_status(status, observation(), T1)) is None


def test_patch_removes_keys_the_new_status_lacks() -> None:
    old = compute_status(None, observation(), T0)
    new = {k: v for k, v in old.items() if k not in ("replicas", "readyReplicas")}
    patch = status_patch(old, new)
    assert patch is not None
    assert patch["replicas"] is None and patch["readyReplicas"] is None
    assert patch["conditions"] == old["conditions"]
