"""How traffic reaches the app: Service, Ingress, Gateway HTTPRoute, NetworkPolicy."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .annotations import INGRESS_ANNOTATIONS, SERVICE_ANNOTATIONS, annotation_rules
from .base import Annotations, ApiModel, Cidr, Hostname, KubeObject, Name, Rule

UrlPath = Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9._~/%-]*$", max_length=200)]


class ServiceSpec(ApiModel):
    """The ClusterIP Service in front of the pods."""

    port: int = Field(80, ge=1, le=65535, description="Service port (targets the container port).")
    annotations: Annotations = Field(
        default_factory=dict,
        description="Extra Service annotations (at most 64). Refused: the operator's and kubectl's keys and "
        "ingress controller configuration snippets (docs/hardening.md).",
    )

    cel_rules = annotation_rules("annotations", "spec.service.annotations", SERVICE_ANNOTATIONS)


class IngressPath(ApiModel):
    path: UrlPath = Field("/", description="URL path routed to the app.")
    path_type: Literal["Prefix", "Exact", "ImplementationSpecific"] = Field("Prefix", description="Ingress pathType.")


class IngressSpec(ApiModel):
    """An Ingress routing external hosts to the app."""

    class_name: Name | None = Field(None, description="IngressClass name.")
    hosts: list[Hostname] = Field(min_length=1, max_length=32, description="Host names served.")
    paths: list[IngressPath] = Field(
        default_factory=lambda: [IngressPath()], min_length=1, max_length=32, description="Paths routed to the app."
    )
    tls_secret_name: Name | None = Field(None, description="Secret with the TLS certificate for the hosts.")
    annotations: Annotations = Field(
        default_factory=dict,
        description="Ingress annotations (at most 64). Refused: the operator's and kubectl's keys, ingress "
        "controller configuration snippets and kubernetes.io/ingress.class (docs/hardening.md).",
    )

    cel_rules = annotation_rules("annotations", "spec.ingress.annotations", INGRESS_ANNOTATIONS)


class ParentRef(ApiModel):
    name: Name = Field(description="Gateway name.")
    namespace: Name | None = Field(None, description="Gateway namespace (default: the WsgiApp's).")
    section_name: Name | None = Field(None, description="Listener name on the Gateway.")


class HttpRouteSpec(ApiModel):
    """A Gateway API HTTPRoute (gateway.networking.k8s.io/v1) to the app."""

    parent_refs: list[ParentRef] = Field(min_length=1, max_length=16, description="Gateways to attach to.")
    hostnames: list[Hostname] = Field(default_factory=list, max_length=16, description="Hostnames matched.")
    path: UrlPath = Field("/", description="Path prefix routed to the app.")


class PortSpec(ApiModel):
    port: int = Field(ge=1, le=65535, description="Port number.")
    protocol: Literal["TCP", "UDP", "SCTP"] = Field("TCP", description="Protocol.")


class IpBlock(ApiModel):
    cidr: Cidr = Field(description="Allowed CIDR.")
    except_: list[Cidr] = Field(default_factory=list, max_length=16, alias="except", description="CIDRs excluded.")


class Peer(ApiModel):
    """One allowed peer. Exactly one of app, selectors (namespace and/or pod) or ipBlock."""

    app: Name | None = Field(None, description="Another WsgiApp in the same namespace, by name.")
    namespace_selector: KubeObject | None = Field(None, description="LabelSelector of namespaces.")
    pod_selector: KubeObject | None = Field(None, description="LabelSelector of pods.")
    ip_block: IpBlock | None = Field(None, description="An IP range (egress to services outside the cluster).")
    ports: list[PortSpec] = Field(default_factory=list, max_length=16, description="Ports allowed (empty: all).")

    cel_rules = (
        Rule(
            "(has(self.app) ? 1 : 0) + ((has(self.namespaceSelector) || has(self.podSelector)) ? 1 : 0)"
            " + (has(self.ipBlock) ? 1 : 0) == 1",
            "spec.networkPolicy peer: set exactly one of app, namespaceSelector/podSelector, or ipBlock",
        ),
    )


def _empty_selector(field: str) -> str:
    """CEL: the LabelSelector ``field`` selects everything (no labels, no expressions).

    The selectors are free-form objects in the CRD: ``dyn()`` lets the policy's
    type check (against the CRD's schema) accept fields it does not declare."""
    sel = f"dyn({field})"
    return (
        f"(!has({sel}.matchLabels) || size({sel}.matchLabels) == 0)"
        f" && (!has({sel}.matchExpressions) || size({sel}.matchExpressions) == 0)"
    )


#: CEL over a peer ``p``: an IPv4 block shorter than /8 or an IPv6 block shorter than /32.
_WIDE_IP_BLOCK = (
    "(has(p.ipBlock) && (p.ipBlock.cidr.matches('^[0-9.]+/[0-7]$')"
    " || p.ipBlock.cidr.matches('^[0-9a-fA-F:]+/([0-9]|[12][0-9]|3[01])$')))"
)
#: CEL over a peer ``p``: every pod of every namespace.
_EVERY_POD = (
    f"(has(p.namespaceSelector) && {_empty_selector('p.namespaceSelector')}"
    f" && (!has(p.podSelector) || ({_empty_selector('p.podSelector')})))"
)


class NetworkPolicySpec(ApiModel):
    """The fence around the pods: everything is denied in both directions except what is listed."""

    enabled: bool = Field(True, description="Render the NetworkPolicy (default deny + allowances).")
    allow_ingress_controller: bool = Field(
        True, description="Admit the ingress controller (selected operator-wide) on the app port."
    )
    ingress_from: list[Peer] = Field(default_factory=list, max_length=32, description="Other peers allowed in.")
    egress_to: list[Peer] = Field(default_factory=list, max_length=32, description="Destinations allowed out.")
    allow_dns: bool = Field(True, description="Allow DNS (port 53) to the cluster DNS in kube-system.")

    cel_rules = (
        Rule.warning(
            "self.enabled",
            "false: no NetworkPolicy, so every pod of the cluster can reach the app and the app can reach anything "
            "(the API server, the cloud metadata service); leave it on and list the peers",
            ".enabled",
        ),
        Rule.warning(
            f"!self.enabled || self.ingressFrom.all(p, !({_WIDE_IP_BLOCK} || {_EVERY_POD}))",
            "a peer admits a large part of the network to the app port: an ipBlock wider than /8 (IPv4) or /32 "
            "(IPv6), or namespaceSelector: {} with no or an empty podSelector (every pod of every namespace); "
            "name the sources",
            ".ingressFrom",
        ),
    )
