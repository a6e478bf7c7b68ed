"""The HorizontalPodAutoscaler, when the spec asks for autoscaling."""

from __future__ import annotations

from typing import Any

from ..api import WsgiApp
from .meta import metadata


def _utilization(resource: str, percent: int) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": percent}},
    }


def autoscaler(app: WsgiApp) -> dict[str, Any] | None:
    """autoscaling/v2 HPA scaling the Deployment, or None without spec.autoscaling."""
    spec = app.spec.autoscaling
    if spec is None:
        return None
    metrics = []
    if spec.target_cpu_utilization is not None:
        metrics.append(_utilization("cpu", spec.target_cpu_utilization))
    if spec.target_memory_utilization is not None:
        metrics.append(_utilization("memory", spec.target_memory_utilization))
    body: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app.metadata.name},
        "minReplicas": spec.min_replicas,
        "maxReplicas": spec.max_replicas,
    }
    if metrics:
        body["metrics"] = metrics
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(app, app.metadata.name),
        "spec": body,
    }
