"""The Ingress routing external hosts to the Service."""

from __future__ import annotations

from typing import Any

from ..api import WsgiApp
from . import layout
from .meta import metadata


def ingress(app: WsgiApp) -> dict[str, Any] | None:
    """networking.k8s.io/v1 Ingress, or None when spec.ingress is not set."""
    spec = app.spec.ingress
    if spec is None:
        return None
    backend = {"service": {"name": app.metadata.name, "port": {"name": layout.PORT_NAME}}}
    paths = [{"path": p.path, "pathType": p.path_type, "backend": backend} for p in spec.paths]
    body: dict[str, Any] = {}
    if spec.class_name:
        body["ingressClassName"] = spec.class_name
    if spec.tls_secret_name:
        body["tls"] = [{"hosts": list(spec.hosts), "secretName": spec.tls_secret_name}]
    body["rules"] = [{"host": h, "http": {"paths": paths}} for h in spec.hosts]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata(app, app.metadata.name, spec.annotations),
        "spec": body,
    }
