"""The ClusterIP Service: the only way into the pods, selecting only this app."""

from __future__ import annotations

from typing import Any

from ..api import WsgiApp
from . import layout
from .meta import metadata, selector_labels


def service(app: WsgiApp) -> dict[str, Any]:
    """ClusterIP Service on spec.service.port targeting the named container port."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(app, app.metadata.name, app.spec.service.annotations),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(app),
            "ports": [
                {
                    "name": layout.PORT_NAME,
                    "port": app.spec.service.port,
                    "targetPort": layout.PORT_NAME,
                    "protocol": "TCP",
                }
            ],
        },
    }
