"""Names, labels and metadata shared by every child object."""

from __future__ import annotations

from typing import Any

from .. import API_VERSION, GROUP, KIND
from ..api import WsgiApp

MANAGED_BY = "wsgi-operator"
APP_LABEL = f"{GROUP}/app"
#: Copied from the WsgiApp to the pod template so `kubectl annotate` restarts pods.
RESTARTED_AT = f"{GROUP}/restartedAt"
CONFIG_HASH = f"{GROUP}/config-hash"


def selector_labels(app: WsgiApp) -> dict[str, str]:
    """The labels that select this app's pods; immutable once a Deployment exists."""
    return {APP_LABEL: app.metadata.name}


def labels(app: WsgiApp) -> dict[str, str]:
    """Labels every child carries. No app.kubernetes.io/instance: Argo CD tracks by it."""
    out = {
        "app.kubernetes.io/name": app.metadata.name,
        "app.kubernetes.io/component": "wsgi-app",
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    part_of = app.metadata.labels.get("app.kubernetes.io/part-of")
    if part_of:
        out["app.kubernetes.io/part-of"] = part_of
    out.update(selector_labels(app))
    return out


def owner_references(app: WsgiApp) -> list[dict[str, Any]]:
    """The WsgiApp as controller owner; empty until the object has a uid (offline render)."""
    if not app.metadata.uid:
        return []
    return [
        {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": app.metadata.name,
            "uid": app.metadata.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def metadata(app: WsgiApp, name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """ObjectMeta of a child called ``name`` in the app's namespace."""
    meta: dict[str, Any] = {"name": name, "namespace": app.metadata.namespace, "labels": labels(app)}
    if annotations:
        meta["annotations"] = dict(sorted(annotations.items()))
    owners = owner_references(app)
    if owners:
        meta["ownerReferences"] = owners
    return meta


def entry_name(app: WsgiApp) -> str:
    return f"{app.metadata.name}-entry"


def config_name(app: WsgiApp) -> str:
    return f"{app.metadata.name}-config"
