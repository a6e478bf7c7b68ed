"""The Gateway API HTTPRoute to the Service."""

from __future__ import annotations

from typing import Any

from ..api import WsgiApp
from .meta import metadata


def http_route(app: WsgiApp) -> dict[str, Any] | None:
    """gateway.networking.k8s.io/v1 HTTPRoute, or None when spec.httpRoute is not set."""
    spec = app.spec.http_route
    if spec is None:
        return None
    parents = []
    for ref in spec.parent_refs:
        parent: dict[str, Any] = {"name": ref.name}
        if ref.namespace:
            parent["namespace"] = ref.namespace
        if ref.section_name:
            parent["sectionName"] = ref.section_name
        parents.append(parent)
    body: dict[str, Any] = {"parentRefs": parents}
    if spec.hostnames:
        body["hostnames"] = list(spec.hostnames)
    body["rules"] = [
        {
            "matches": [{"path": {"type": "PathPrefix", "value": spec.path}}],
            "backendRefs": [{"name": app.metadata.name, "port": app.spec.service.port}],
        }
    ]
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": metadata(app, app.metadata.name),
        "spec": body,
    }
