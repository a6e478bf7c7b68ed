"""The status contract: every condition type and reason a WsgiApp can carry.

Conditions follow metav1.Condition. ``Ready`` is the one ``kubectl wait
--for=condition=Ready`` and Argo CD read: it is ``Reconciled`` (the children
match the spec) and ``Available`` (the Deployment runs the current template
with the desired ready replicas). The status code writes only these names,
the docs list them, and health checks match on them.
"""

from __future__ import annotations

from enum import StrEnum


class ConditionType(StrEnum):
    """The three conditions of ``status.conditions``."""

    READY = "Ready"
    RECONCILED = "Reconciled"
    AVAILABLE = "Available"


class Outcome(StrEnum):
    """How a reconcile ended: the reason of ``Reconciled`` (and of ``Ready`` when it is False)."""

    APPLIED = "Applied"
    #: The spec breaks a rule the CRD would enforce (stored before the CRD had it, say).
    INVALID_SPEC = "InvalidSpec"
    #: A ConfigMap, Secret or PVC the pods need does not exist.
    MISSING_REFERENCE = "MissingReference"
    #: A child's name is taken by an object this WsgiApp does not own.
    NAME_CONFLICT = "NameConflict"
    #: A referenced object exists but cannot serve as the spec asks (a PVC's access mode).
    INVALID_REFERENCE = "InvalidReference"
    #: The API server refused an apply or a prune.
    APPLY_FAILED = "ApplyFailed"
    #: The release Job of the new version runs; the old version keeps serving.
    RELEASE_PENDING = "ReleasePending"
    #: The release Job failed; the old version keeps serving.
    RELEASE_FAILED = "ReleaseFailed"


class ReleaseState(StrEnum):
    """``status.release.state``: how the release Job of the current spec is doing."""

    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class AvailabilityReason(StrEnum):
    """The reason of ``Available`` (and of ``Ready`` while the children are reconciled)."""

    DEPLOYMENT_MISSING = "DeploymentMissing"
    ROLLOUT_PENDING = "RolloutPending"
    PROGRESS_DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"
    ROLLING_OUT = "RollingOut"
    REPLICAS_NOT_READY = "ReplicasNotReady"
    #: A pod of the current template does not start: its waiting reason or the
    #: exception its log ends with (an image the node cannot get, an import error).
    STARTUP_FAILED = "StartupFailed"
    REPLICAS_READY = "ReplicasReady"


#: The reason of ``Ready=True``.
READY_REASON = "Ready"

#: The longest condition message the CRD accepts (metav1.Condition's limit).
MESSAGE_LIMIT = 32768
#: The longest message the operator writes: well inside the limit, and short
#: enough for ``kubectl describe`` and Argo CD's UI.
MAX_MESSAGE = 4096
