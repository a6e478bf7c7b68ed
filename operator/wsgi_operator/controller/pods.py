"""What the pods themselves say when they cannot start for want of something the operator cannot see.

The operator holds no Secret permission, so a missing Secret is not checked
before applying: the kubelet reports it on the pod (CreateContainerConfigError,
'secret "db" not found'), and this maps it back to the spec field naming it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
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
