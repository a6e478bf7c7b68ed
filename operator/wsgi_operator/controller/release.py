"""The release step: which children wait for it, and what its Job says.

While the release Job of a new version has not succeeded, the server's pods
keep what they run: the Deployment and the two ConfigMaps its pods read are
not applied. Everything else (the fences, the Service, the Job itself) is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..api import WsgiApp
from ..api.conditions import ReleaseState
from ..render.meta import config_name, entry_name

#: Log lines of a failed release shown in status.
LOG_TAIL_LINES = 10


def held_until_released(app: WsgiApp) -> set[tuple[str, str]]:
    """(kind, name) of the children that make up what the server pods run."""
    name = app.metadata.name
    return {("Deployment", name), ("ConfigMap", entry_name(app)), ("ConfigMap", config_name(app))}


def job_state(job: Mapping[str, Any]) -> tuple[ReleaseState, str]:
    """How a Job stands, from its terminal conditions, and the reason in words."""
    for cond in (job.get("status") or {}).get("conditions") or ():
        if cond.get("status") != "True":
            continue
        if cond.get("type") == "Complete":
            return ReleaseState.SUCCEEDED, "the release Job succeeded"
        if cond.get("type") == "Failed":
            return ReleaseState.FAILED, f"{cond.get('reason') or 'Failed'}: {cond.get('message') or ''}".rstrip(": ")
    return ReleaseState.RUNNING, "the release Job is running; the current version keeps serving"


def succeeded_job(status: Mapping[str, Any] | None) -> str | None:
    """The last release Job that succeeded, as status remembers it."""
    return ((status or {}).get("release") or {}).get("succeededJob")
