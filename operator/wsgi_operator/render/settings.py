"""Operator-wide settings the renderer needs (one set per operator installation)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RenderSettings:
    """What is true of the cluster rather than of one WsgiApp."""

    #: Labels of the namespace the ingress controller runs in.
    ingress_namespace_labels: dict[str, str] = field(
        default_factory=lambda: {"kubernetes.io/metadata.name": "ingress-nginx"}
    )
    #: Labels of the ingress controller pods (empty: every pod of that namespace).
    ingress_pod_labels: dict[str, str] = field(default_factory=dict)
    #: Labels of the cluster DNS namespace and pods, for the DNS egress allowance.
    dns_namespace_labels: dict[str, str] = field(default_factory=lambda: {"kubernetes.io/metadata.name": "kube-system"})
    dns_pod_labels: dict[str, str] = field(default_factory=lambda: {"k8s-app": "kube-dns"})
    #: Seconds a stopping pod keeps serving so endpoints and ingress drop it first.
    drain_seconds: int = 5
