"""Unit tests of render/networkpolicy.py: the NetworkPolicy."""

from __future__ import annotations

from invalid_specs import APP
from support.rendered import RenderKinds
from wsgi_operator.render import RenderSettings


def test_network_policy_defaults(render_kinds: RenderKinds) -> None:
    np = render_kinds()["NetworkPolicy"]["spec"]
    assert np["podSelector"] == {"matchLabels": {"wsgi-operator.io/app": APP}}
    assert np["policyTypes"] == ["Ingress", "Egress"]
    assert np["ingress"] == [
        {
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
            "ports": [{"port": 8000, "protocol": "TCP"}],
        }
    ]
    assert np["egress"] == [
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        }
    ]


def test_network_policy_uses_operator_settings(render_kinds: RenderKinds) -> None:
    settings = RenderSettings(
        ingress_namespace_labels={"team": "edge"},
        ingress_pod_labels={"app": "traefik"},
        dns_namespace_labels={"kubernetes.io/metadata.name": "dns"},
        dns_pod_labels={"app": "coredns"},
    )
    np = render_kinds({"server": {"port": 8080}}, settings=settings)["NetworkPolicy"]["spec"]
    assert np["ingress"][0] == {
        "from": [
            {"namespaceSelector": {"matchLabels": {"team": "edge"}}, "podSelector": {"matchLabels": {"app": "traefik"}}}
        ],
        "ports": [{"port": 8080, "protocol": "TCP"}],
    }
    assert np["egress"][0]["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dns"}},
            "podSelector": {"matchLabels": {"app": "coredns"}},
        }
    ]


def test_network_policy_deny_all(render_kinds: RenderKinds) -> None:
    np = render_kinds({"networkPolicy": {"allowIngressController": False, "allowDns": False}})["NetworkPolicy"]["spec"]
    assert np["policyTypes"] == ["Ingress", "Egress"]
    # No rule at all: policyTypes denies both ways. Empty lists are left out, as the API server stores them.
    assert "ingress" not in np and "egress" not in np


def test_network_policy_peers(render_kinds: RenderKinds) -> None:
    np = render_kinds(
        {
            "networkPolicy": {
                "allowIngressController": False,
                "ingressFrom": [
                    {"app": "public"},
                    {
                        "namespaceSelector": {"matchLabels": {"team": "ops"}},
                        "podSelector": {"matchLabels": {"app": "x"}},
                    },
                    {"ipBlock": {"cidr": "10.1.0.0/16"}, "ports": [{"port": 9999}]},
                ],
                "egressTo": [
                    {"app": "api", "ports": [{"port": 8000}]},
                    {
                        "ipBlock": {"cidr": "10.20.0.0/16", "except": ["10.20.1.0/24"]},
                        "ports": [{"port": 53, "protocol": "UDP"}],
                    },
                    {"namespaceSelector": {"matchLabels": {"team": "data"}}},
                ],
            }
        }
    )["NetworkPolicy"]["spec"]
    app_port = [{"port": 8000, "protocol": "TCP"}]
    assert np["ingress"] == [
        {"from": [{"podSelector": {"matchLabels": {"wsgi-operator.io/app": "public"}}}], "ports": app_port},
        {
            "from": [
                {"namespaceSelector": {"matchLabels": {"team": "ops"}}, "podSelector": {"matchLabels": {"app": "x"}}}
            ],
            "ports": app_port,
        },
        # Whatever ports a peer lists, only the app port listens on these pods.
        {"from": [{"ipBlock": {"cidr": "10.1.0.0/16"}}], "ports": app_port},
    ]
    assert np["egress"][1:] == [
        {
            "to": [{"podSelector": {"matchLabels": {"wsgi-operator.io/app": "api"}}}],
            "ports": [{"port": 8000, "protocol": "TCP"}],
        },
        {
            "to": [{"ipBlock": {"cidr": "10.20.0.0/16", "except": ["10.20.1.0/24"]}}],
            "ports": [{"port": 53, "protocol": "UDP"}],
        },
        {"to": [{"namespaceSelector": {"matchLabels": {"team": "data"}}}]},
    ]
    assert np["egress"][0]["ports"][0]["port"] == 53  # DNS stays first


def test_network_policy_disabled(render_kinds: RenderKinds) -> None:
    assert "NetworkPolicy" not in render_kinds({"networkPolicy": {"enabled": False}})
