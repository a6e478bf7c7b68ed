"""The NetworkPolicy the operator renders, enforced (kube-router on the real node).

Three apps in one namespace: ``hello`` admits a named peer app (``caller``) and may call
``backend``; ``backend`` admits ``hello``. Client pods probe from inside the cluster with a
bounded connect timeout. Every probe that must be blocked is paired with a probe from the
same client that must succeed, so a broken client cannot pass for a working policy.
"""

from __future__ import annotations

import pytest

from support.realnode import APP_LABEL, INGRESS_CLASS, Namespace, hello_app, wait_ingress

#: Connect timeout of a probe that must not connect: kube-router rejects at once; a
#: silently dropped packet would take this long.
BLOCKED_TIMEOUT = 3


def _assert_blocked(ns: Namespace, client: str, host: str, port: int, what: str) -> None:
    probe = ns.probe(client, host, port, "/", timeout=BLOCKED_TIMEOUT)
    assert probe.refused_or_timed_out, f"{what}: expected refused or timed out, got {probe}"


def _assert_allowed(ns: Namespace, client: str, host: str, port: int, status: int, what: str) -> None:
    probe = ns.probe(client, host, port, "/", timeout=15)
    assert probe.connected and probe.status == status, f"{what}: expected HTTP {status}, got {probe}"


@pytest.fixture
def fenced(ns, operator, real_node):
    """hello (peer: caller; egress: backend), backend (peer: hello), Ready, and hello behind the ingress."""
    host = f"hello.{ns.name}.e2e.test"
    ns.apply(
        hello_app(
            "hello",
            ns.name,
            {
                "replicas": 1,
                "ingress": {"className": INGRESS_CLASS, "hosts": [host]},
                "networkPolicy": {
                    "ingressFrom": [{"app": "caller"}],
                    "egressTo": [{"app": "backend", "ports": [{"port": 8000}]}],
                },
            },
        )
    )
    ns.apply(hello_app("backend", ns.name, {"replicas": 1, "networkPolicy": {"ingressFrom": [{"app": "hello"}]}}))
    ns.wait_app_ready("hello")
    ns.wait_app_ready("backend")
    return host


def test_a_pod_in_another_namespace_cannot_connect(ns, fenced, new_namespace):
    other = new_namespace("outsider")
    client = other.client_pod("outsider")
    (pod,) = ns.app_pods("hello")
    # The control: the same client reaches an unfenced pod (the ingress controller's Service).
    _assert_allowed(other, client, "traefik.traefik.svc.cluster.local", 80, 404, "outsider -> traefik")
    _assert_blocked(other, client, pod["status"]["podIP"], 8000, "outsider -> hello pod IP")
    _assert_blocked(other, client, ns.service_ip("hello"), 80, "outsider -> hello Service")


def test_the_ingress_controller_can(ns, fenced, real_node):
    res = wait_ingress(real_node.ingress_port, fenced, "/")
    assert res.body == "hello"


def test_a_named_peer_can_and_its_neighbour_cannot(ns, fenced):
    caller = ns.client_pod("caller", labels={APP_LABEL: "caller"})
    stranger = ns.client_pod("stranger")
    ip = ns.service_ip("hello")
    _assert_allowed(ns, caller, ip, 80, 200, "caller (named peer) -> hello")
    _assert_allowed(ns, stranger, "traefik.traefik.svc.cluster.local", 80, 404, "stranger -> traefik")
    _assert_blocked(ns, stranger, ip, 80, "stranger (same namespace, not a peer) -> hello")


def test_the_app_reaches_only_dns_and_its_declared_egress(ns, fenced):
    (pod,) = ns.app_pods("hello")
    name = pod["metadata"]["name"]
    # DNS (the cluster DNS in kube-system) is allowed ...
    resolved = ns.resolve(name, f"backend.{ns.name}.svc.cluster.local")
    assert resolved == {"addresses": [ns.service_ip("backend")]}, resolved
    # ... and so is the declared egress, through its Service.
    _assert_allowed(ns, name, ns.service_ip("backend"), 80, 200, "hello -> backend (declared egress)")
    # Nothing else: another Service of the cluster, the API server's, and a pod directly.
    _assert_blocked(ns, name, "traefik.traefik.svc.cluster.local", 80, "hello -> traefik")
    _assert_blocked(ns, name, "10.96.0.1", 443, "hello -> kubernetes API Service")
    traefik_pod = ns.kubectl("get", "pods", "-n", "traefik", "-o", "jsonpath={.items[0].status.podIP}").stdout
    _assert_blocked(ns, name, traefik_pod, 8000, "hello -> traefik pod IP")
