"""Unit tests of render/ingress.py: the Ingress."""

from __future__ import annotations

from invalid_specs import APP
from support.rendered import RenderKinds


def test_ingress_without_tls_or_class(render_kinds: RenderKinds) -> None:
    ing = render_kinds({"ingress": {"hosts": ["shop.example.com", "www.shop.example.com"]}})["Ingress"]
    assert ing["apiVersion"] == "networking.k8s.io/v1"
    assert "tls" not in ing["spec"] and "ingressClassName" not in ing["spec"]
    assert "annotations" not in ing["metadata"]
    backend = {"service": {"name": APP, "port": {"name": "http"}}}
    assert ing["spec"]["rules"] == [
        {"host": h, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
        for h in ("shop.example.com", "www.shop.example.com")
    ]


def test_ingress_with_tls_class_paths_and_annotations(render_kinds: RenderKinds) -> None:
    kinds = render_kinds(
        {
            "ingress": {
                "className": "nginx",
                "hosts": ["shop.example.com"],
                "tlsSecretName": "shop-tls",
                "paths": [{"path": "/api", "pathType": "Exact"}, {"path": "/static"}],
                "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "10m"},
            }
        }
    )
    ing = kinds["Ingress"]
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["tls"] == [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}]
    assert [(p["path"], p["pathType"]) for p in ing["spec"]["rules"][0]["http"]["paths"]] == [
        ("/api", "Exact"),
        ("/static", "Prefix"),
    ]
    assert ing["metadata"]["annotations"] == {"nginx.ingress.kubernetes.io/proxy-body-size": "10m"}
    # The backend port name is the Service's port name.
    assert kinds["Service"]["spec"]["ports"][0]["name"] == "http"
