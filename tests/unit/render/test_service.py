"""Unit tests of render/service.py: the ClusterIP Service."""

from __future__ import annotations

from invalid_specs import APP
from support.rendered import RenderKinds


def test_service_is_cluster_ip_selecting_only_this_app(render_kinds: RenderKinds) -> None:
    kinds = render_kinds()
    svc = kinds["Service"]["spec"]
    assert svc["type"] == "ClusterIP"
    assert svc["selector"] == {"wsgi-operator.io/app": APP}
    assert svc["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
