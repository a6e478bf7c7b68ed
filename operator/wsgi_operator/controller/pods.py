"""What the pods themselves say when they cannot start.

Two things only the pods know:

- A missing Secret: the operator holds no Secret permission, so it is not
  checked before applying. The kubelet reports it on the pod
  (CreateContainerConfigError, 'secret "db" not found'), and this maps it back
  to the spec field naming it.
- An app that does not start: an image the node cannot get, or an entry point
  that raises on import. Its startup probe fails, and the kubelet restarts it
  until CrashLoopBackOff. The Deployment only says "1 of 2 replicas run the
  current pod template"; the pod's waiting reason and the last exception its
  log printed say what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .references import Reference

_NOT_FOUND = re.compile(r'(secret|configmap) "([^"]+)" not found', re.IGNORECASE)
#: Waiting reasons that mean the pod cannot get its configuration.
_CONFIG_ERRORS = {"CreateContainerConfigError"}


def missing_reference(pods: Iterable[Mapping[str, Any]], refs: Iterable[Reference]) -> str | None:
    """A MissingReference message from the first pod that cannot start for want of a Secret or ConfigMap."""
    fields = {(r.kind.lower(), r.name): r.field for r in refs}
    for pod in pods:
        for status in (pod.get("status") or {}).get("containerStatuses") or ():
            waiting = (status.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") not in _CONFIG_ERRORS:
                continue
            message = waiting.get("message") or ""
            found = _NOT_FOUND.search(message)
            field = fields.get((found.group(1).lower(), found.group(2))) if found else None
            where = f" ({field})" if field else ""
            return (
                f"pod {pod['metadata']['name']} cannot start: {message}{where}; "
                "create it or fix the spec (the operator cannot read Secrets, so this shows only once a pod tries)"
            )
    return None


#: Waiting reasons that mean the container cannot be (re)started as it is.
_START_ERRORS = {
    "CrashLoopBackOff",
    "CreateContainerError",
    "ErrImageNeverPull",
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "PostStartHookError",
    "RunContainerError",
}
#: The last line of a Python traceback, as mod_wsgi logs it after its own
#: prefix: "[wsgi:error] [pid 20:tid 7] [remote ...] ModuleNotFoundError: ...".
_EXCEPTION = re.compile(r"\b([A-Za-z_][\w.]*(?:Error|Exception)): (.+)$")
#: How much of a pod's log is read for the exception.
STARTUP_LOG_LINES = 50


def _container(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or ()
    return statuses[0] if statuses else {}


def struggling(pod: Mapping[str, Any]) -> bool:
    """A live pod whose container is not ready and is not merely starting for the first time."""
    if pod["metadata"].get("deletionTimestamp") or (pod.get("status") or {}).get("phase") not in ("Pending", "Running"):
        return False
    status = _container(pod)
    if status.get("ready"):
        return False
    waiting = (status.get("state") or {}).get("waiting") or {}
    running = (status.get("state") or {}).get("running") is not None
    # Running but not started: the startup probe has not passed yet. That is
    # also every healthy pod's first seconds, so its log decides.
    return (
        waiting.get("reason") in _START_ERRORS
        or int(status.get("restartCount") or 0) > 0
        or (running and status.get("started") is False)
    )


def last_exception(log: str) -> str | None:
    """The last ``SomethingError: message`` line of a log, without the server's prefix."""
    found = None
    for line in log.splitlines():
        match = _EXCEPTION.search(line.rstrip())
        if match:
            found = f"{match.group(1)}: {match.group(2)}"
    return found


def startup_failure(pods: Iterable[Mapping[str, Any]], log_tail: Callable[[str, bool], str | None]) -> str | None:
    """Why the first struggling pod does not start, from its state and its log; None if nothing says.

    ``log_tail(pod_name, previous)`` returns the last lines the pod's container
    printed, or with ``previous`` those of its last terminated instance (None
    when they cannot be read). It is called for one pod at most, so a rollout
    costs one log request per reconcile. A restarted pod's previous instance
    is read: it ran until the kubelet gave up on it and logged why, while the
    new one, just started when the restart's pod event arrives, has usually
    not got as far as importing the entry point.
    """
    pod = next((p for p in pods if struggling(p)), None)
    if pod is None:
        return None
    name = pod["metadata"]["name"]
    status = _container(pod)
    restarts = int(status.get("restartCount") or 0)
    waiting = (status.get("state") or {}).get("waiting") or {}
    exception = last_exception(log_tail(name, restarts > 0) or "")
    parts = []
    if waiting.get("reason") in _START_ERRORS:
        parts.append(f"{waiting['reason']}: {waiting.get('message') or 'no message'}".rstrip(": "))
    if exception:
        parts.append(f"its log says {exception}")
    if not parts:
        if not restarts:
            return None  # starting, with nothing wrong in its log yet
        terminated = (status.get("lastState") or {}).get("terminated") or {}
        parts.append(
            f"last exit code {terminated.get('exitCode', 'unknown')} ({terminated.get('reason') or 'no reason'})"
        )
    restarted = f", restarted {restarts} time{'s' if restarts != 1 else ''}" if restarts else ""
    return f"pod {name} does not start{restarted}: " + "; ".join(parts)
