"""How traffic reaches the app: Service, Ingress, Gateway HTTPRoute, NetworkPolicy."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .annotations import INGRESS_ANNOTATIONS, SERVICE_ANNOTATIONS, annotation_rules
from .base import Annotations, ApiModel, Hostname, Name, NetworkCidr, Rule
from .selectors import LabelSelector

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


def _masked(expr: str) -> str:
    """CEL: ``expr`` is a CIDR of the Kubernetes CEL library (not IPv4-mapped IPv6) with no bits set
    after its prefix length (its masked form)."""
    return f"(isCIDR({expr}) && cidr({expr}) == cidr({expr}).masked())"


_MASKED_MESSAGE = (
    "must be a network address, with no bits set after the prefix length (10.1.0.0/16; /32, or /128 for IPv6, "
    "for one address) and no IPv4-mapped IPv6 address (::ffff:a.b.c.d: write the IPv4 range)"
)


class IpBlock(ApiModel):
    """An IP range (NetworkPolicy ipBlock), as the API server validates it and stricter: a CIDR is an
    address and a prefix length (1.2.3.4/32 for one address) with no bits set after the prefix (the
    API server takes 10.1.2.3/8 with a warning that it is ambiguous: 10.0.0.0/8 or 10.1.2.3/32?), and
    each `except` range lies strictly inside `cidr`."""

    cidr: NetworkCidr = Field(description="The range, e.g. 10.20.0.0/16 or 2001:db8::/64 (1.2.3.4/32: one address).")
    except_: list[NetworkCidr] = Field(
        default_factory=list,
        max_length=16,
        alias="except",
        description="Ranges excluded; each strictly inside cidr, of the same family.",
    )

    cel_rules = (
        Rule(_masked("self.cidr"), _MASKED_MESSAGE, ".cidr"),
        Rule(f"self.except.all(e, {_masked('e')})", _MASKED_MESSAGE, ".except"),
        Rule(
            "!isCIDR(self.cidr) || self.except.all(e, !isCIDR(e) || (cidr(self.cidr).containsCIDR(e)"
            " && cidr(e).prefixLength() > cidr(self.cidr).prefixLength()))",
            "must be strict subsets of cidr: each range inside it, of the same family, with a longer prefix",
            ".except",
        ),
    )


class Peer(ApiModel):
    """One allowed peer. Exactly one of app, selectors (namespace and/or pod) or ipBlock."""

    app: Name | None = Field(None, description="Another WsgiApp in the same namespace, by name.")
    namespace_selector: LabelSelector | None = Field(
        None, description="Namespaces, by label (alone: every pod of those namespaces)."
    )
    pod_selector: LabelSelector | None = Field(
        None, description="Pods, by label (alone: in the WsgiApp's namespace; with namespaceSelector: in those)."
    )
    ip_block: IpBlock | None = Field(None, description="An IP range (egress to services outside the cluster).")
    ports: list[PortSpec] = Field(default_factory=list, max_length=16, description="Ports allowed (empty: all).")

    cel_rules = (
        Rule(
            "(has(self.app) ? 1 : 0) + ((has(self.namespaceSelector) || has(self.podSelector)) ? 1 : 0)"
            " + (has(self.ipBlock) ? 1 : 0) == 1",
            "spec.networkPolicy peer: set exactly one of app, namespaceSelector/podSelector, or ipBlock",
        ),
    )


def _empty_selector(sel: str) -> str:
    """CEL: the LabelSelector ``sel`` selects everything (no labels, no expressions)."""
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
