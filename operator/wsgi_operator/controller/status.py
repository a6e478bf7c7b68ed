"""WsgiApp status as a pure function of the previous status and what a reconcile observed.

The conditions and their reasons are declared in ``api.conditions``. Each
carries the generation it describes; lastTransitionTime moves only when a
condition's status flips, so a reason or message update does not look like a
transition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..api.conditions import MAX_MESSAGE, READY_REASON, AvailabilityReason, ConditionType

ConditionStatus = Literal["True", "False", "Unknown"]


@dataclass(frozen=True)
class Availability:
    """What the Deployment says about the pods."""

    status: ConditionStatus
    reason: str
    message: str
    replicas: int | None = None
    ready_replicas: int | None = None


@dataclass(frozen=True)
class Observation:
    """What one reconcile found out: its outcome and the Deployment's state."""

    #: metadata.generation of the WsgiApp the reconcile acted on.
    generation: int
    #: True when every child was applied (and pruned) for this generation.
    reconciled: bool
    #: CamelCase reason of the Reconciled condition (Applied, InvalidSpec, MissingReference, ...).
    reason: str
    message: str
    availability: Availability
    #: Label selector of the pods, as a string (the scale subresource's labelSelectorPath).
    selector: str | None = None
    #: Where the app is served; None keeps the previous value (e.g. while the spec is invalid).
    url: str | None = None
    #: status.release (camelCase, as written); None removes it.
    release: Mapping[str, Any] | None = None


def _get(obj: Mapping[str, Any] | None, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def deployment_availability(deployment: Mapping[str, Any] | None) -> Availability:
    """Available means what ``kubectl rollout status`` means by a finished rollout.

    The Deployment controller has seen the current template (observedGeneration),
    its progress deadline has not passed, every replica runs the current template
    and at least the desired number are ready. So after a spec change,
    ``kubectl wait --for=condition=Ready`` waits for the new pods, not the old.
    """
    if deployment is None:
        return Availability("False", AvailabilityReason.DEPLOYMENT_MISSING, "the Deployment does not exist")
    status = deployment.get("status") or {}
    desired = _get(deployment, "spec", "replicas")
    desired = 1 if desired is None else int(desired)
    replicas = int(status.get("replicas") or 0)
    ready = int(status.get("readyReplicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    counts = {"replicas": replicas, "ready_replicas": ready}

    generation = int(_get(deployment, "metadata", "generation") or 0)
    if int(status.get("observedGeneration") or 0) < generation:
        return Availability(
            "Unknown",
            AvailabilityReason.ROLLOUT_PENDING,
            f"the Deployment controller has not yet seen generation {generation} of the Deployment",
            **counts,
        )
    for cond in status.get("conditions") or ():
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return Availability(
                "False",
                AvailabilityReason.PROGRESS_DEADLINE_EXCEEDED,
                cond.get("message") or "rollout stalled",
                **counts,
            )
    if updated < desired:
        return Availability(
            "False",
            AvailabilityReason.ROLLING_OUT,
            f"{updated} of {desired} replicas run the current pod template",
            **counts,
        )
    if replicas > updated:
        return Availability(
            "False",
            AvailabilityReason.ROLLING_OUT,
            f"{replicas - updated} old replicas are still terminating",
            **counts,
        )
    if ready < desired:
        return Availability(
            "False", AvailabilityReason.REPLICAS_NOT_READY, f"{ready} of {desired} replicas are ready", **counts
        )
    return Availability("True", AvailabilityReason.REPLICAS_READY, f"{ready} of {desired} replicas are ready", **counts)


def _condition(
    old: Sequence[Mapping[str, Any]],
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    generation: int,
    now: str,
) -> dict[str, Any]:
    previous = next((c for c in old if c.get("type") == type_), None)
    flipped = previous is None or previous.get("status") != status
    return {
        "type": type_,
        "status": status,
        "observedGeneration": generation,
        "lastTransitionTime": now if flipped else previous["lastTransitionTime"],
        "reason": reason,
        "message": message[:MAX_MESSAGE],
    }


def compute_status(old: Mapping[str, Any] | None, obs: Observation, now: str) -> dict[str, Any]:
    """The new status: ``old`` (the current status, possibly empty) updated with ``obs``.

    ``now`` (RFC 3339) is used only for conditions whose status flips.
    """
    old = old or {}
    old_conditions = old.get("conditions") or []
    avail = obs.availability
    if not obs.reconciled:
        ready: tuple[ConditionStatus, str, str] = ("False", obs.reason, obs.message)
    elif avail.status != "True":
        ready = (avail.status, avail.reason, avail.message)
    else:
        ready = ("True", READY_REASON, avail.message)
    conditions = [
        _condition(old_conditions, ConditionType.READY, *ready, obs.generation, now),
        _condition(
            old_conditions,
            ConditionType.RECONCILED,
            "True" if obs.reconciled else "False",
            obs.reason,
            obs.message,
            obs.generation,
            now,
        ),
        _condition(
            old_conditions, ConditionType.AVAILABLE, avail.status, avail.reason, avail.message, obs.generation, now
        ),
    ]
    status: dict[str, Any] = {"observedGeneration": obs.generation, "conditions": conditions}
    if avail.replicas is not None:
        status["replicas"] = avail.replicas
        status["readyReplicas"] = avail.ready_replicas
    selector = obs.selector or old.get("selector")
    if selector:
        status["selector"] = selector
    url = obs.url or old.get("url")
    if url:
        status["url"] = url
    if obs.release:
        status["release"] = dict(obs.release)
    return status


def status_patch(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JSON merge patch turning ``old`` into ``new``, or None when nothing changed (no write)."""
    old = old or {}
    if dict(old) == dict(new):
        return None
    # Keys the new status no longer has are removed explicitly (null in a merge patch).
    return {**dict.fromkeys(k for k in old if k not in new), **new}
