"""Unit tests of render/httproute.py: the Gateway API HTTPRoute."""

from __future__ import annotations

from invalid_specs import APP
from support.rendered import RenderKinds


def test_http_route(render_kinds: RenderKinds) -> None:
    route = render_kinds(
        {
            "service": {"port": 8080},
            "httpRoute": {
                "parentRefs": [{"name": "gw"}, {"name": "gw2", "namespace": "gateways", "sectionName": "https"}],
                "hostnames": ["shop.example.com"],
                "path": "/shop",
            },
        }
    )["HTTPRoute"]
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"] == {
        "parentRefs": [{"name": "gw"}, {"name": "gw2", "namespace": "gateways", "sectionName": "https"}],
        "hostnames": ["shop.example.com"],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/shop"}}],
                "backendRefs": [{"name": APP, "port": 8080}],
            }
        ],
    }


def test_http_route_without_hostnames(render_kinds: RenderKinds) -> None:
    route = render_kinds({"httpRoute": {"parentRefs": [{"name": "gw"}]}})["HTTPRoute"]
    assert "hostnames" not in route["spec"]
