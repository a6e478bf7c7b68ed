"""The release Job: spec.release.command, run once per version before the Deployment rolls to it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .. import GROUP
from ..api import WsgiApp
from .command import working_directory
from .deployment import app_container, app_pod_spec, app_volumes_and_mounts
from .meta import metadata

#: The label of release pods. Not the app's selector label: the Service must
#: never send traffic to a release pod, and the server's Deployment must never
#: count one. Their own NetworkPolicy selects them by this label.
RELEASE_LABEL = f"{GROUP}/release-of"


def _pod_template(app: WsgiApp) -> dict[str, Any]:
    release = app.spec.release
    assert release is not None
    volumes, mounts = app_volumes_and_mounts(app)
    # The server gets its umask from the envvars script; the release runs
    # no Apache, so a fixed shell line sets it and execs the command, whose
    # words stay separate arguments ("$@"): nothing of them is parsed.
    umask = ["/bin/sh", "-c", f'umask {app.spec.security.umask} && exec "$@"', "release"]
    container = app_container(app, "release", [*umask, *release.command], mounts)
    container["workingDir"] = working_directory(app)
    pod = app_pod_spec(app, [container], volumes)
    pod["restartPolicy"] = "Never"
    return {"metadata": {"labels": {RELEASE_LABEL: app.metadata.name}}, "spec": pod}


def release_job_name(app: WsgiApp) -> str | None:
    """The release Job of the current spec, or None without spec.release.

    Named by a digest of its pod template and settings: a Job's template is
    immutable, so each version gets its own Job, and a spec change that does
    not touch the release (replicas, probes, the ingress) reuses the Job that
    already ran instead of running it again. At most 52 + 5 + 6 = 63 characters.
    """
    release = app.spec.release
    if release is None:
        return None
    blob = json.dumps([_pod_template(app), release.timeout_seconds, release.backoff_limit], sort_keys=True)
    return f"{app.metadata.name}-rel-{hashlib.sha256(blob.encode()).hexdigest()[:6]}"


def release_job(app: WsgiApp) -> dict[str, Any] | None:
    """The Job, or None without spec.release."""
    name = release_job_name(app)
    release = app.spec.release
    if name is None or release is None:
        return None
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(app, name),
        "spec": {
            "backoffLimit": release.backoff_limit,
            "activeDeadlineSeconds": release.timeout_seconds,
            "template": _pod_template(app),
        },
    }
