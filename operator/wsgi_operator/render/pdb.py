"""The PodDisruptionBudget: node drains take the pods down one at a time."""

from __future__ import annotations

from typing import Any

from ..api import WsgiApp
from .meta import metadata, selector_labels


def disruption_budget(app: WsgiApp) -> dict[str, Any] | None:
    """policy/v1 PodDisruptionBudget (maxUnavailable 1 unless told otherwise)."""
    spec = app.spec.disruption_budget
    if not spec.enabled:
        return None
    body: dict[str, Any] = {"selector": {"matchLabels": selector_labels(app)}}
    if spec.min_available is not None:
        body["minAvailable"] = spec.min_available
    else:
        body["maxUnavailable"] = 1 if spec.max_unavailable is None else spec.max_unavailable
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(app, app.metadata.name),
        "spec": body,
    }
