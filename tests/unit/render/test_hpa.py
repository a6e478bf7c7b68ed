"""Unit tests of render/hpa.py: the HorizontalPodAutoscaler."""

from __future__ import annotations

from invalid_specs import APP
from support.rendered import RenderKinds


def test_with_autoscaling_the_hpa_owns_replicas(render_kinds: RenderKinds) -> None:
    kinds = render_kinds({"replicas": 4, "autoscaling": {"minReplicas": 3, "maxReplicas": 9}})
    assert "replicas" not in kinds["Deployment"]["spec"]
    hpa = kinds["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": APP}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 9)
    assert hpa["spec"]["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}
    ]


def test_hpa_memory_target_and_no_cpu_target(render_kinds: RenderKinds) -> None:
    hpa = render_kinds(
        {"autoscaling": {"maxReplicas": 4, "targetCpuUtilization": None, "targetMemoryUtilization": 70}}
    )["HorizontalPodAutoscaler"]
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["memory"]
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
