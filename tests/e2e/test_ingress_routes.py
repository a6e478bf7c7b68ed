"""HTTP from 127.0.0.1 through the real node's ingress controller (Traefik) to a WsgiApp,
by the Ingress and by the Gateway API HTTPRoute the operator renders."""

from __future__ import annotations

from support.realnode import GATEWAY, INGRESS_CLASS, hello_app, ingress_get, wait_ingress


def test_http_through_the_ingress_and_the_httproute(ns, operator, real_node):
    by_ingress = f"ingress.{ns.name}.e2e.test"
    by_route = f"route.{ns.name}.e2e.test"
    ns.apply(
        hello_app(
            "hello",
            ns.name,
            {
                "replicas": 1,
                "ingress": {"className": INGRESS_CLASS, "hosts": [by_ingress]},
                "httpRoute": {"parentRefs": [GATEWAY], "hostnames": [by_route]},
            },
        )
    )
    ns.wait_app_ready("hello")
    assert ns.get("ingress", "hello") is not None
    assert ns.get("httproute", "hello") is not None

    for host in (by_ingress, by_route):
        res = wait_ingress(real_node.ingress_port, host, "/")
        assert res.body == "hello", (host, res)
        # Apache (mod_wsgi-express) answered, through Traefik.
        assert res.headers.get("server", "").startswith("Apache"), res.headers

    # The Gateway accepted the route.
    route = ns.get("httproute", "hello") or {}
    parents = (route.get("status") or {}).get("parents") or []
    accepted = [c for p in parents for c in p.get("conditions", []) if c["type"] == "Accepted"]
    assert accepted and all(c["status"] == "True" for c in accepted), parents

    # A host no route claims is not served.
    assert ingress_get(real_node.ingress_port, f"nobody.{ns.name}.e2e.test").status == 404
