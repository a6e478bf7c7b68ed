"""The NetworkPolicy fencing the app's pods: deny both ways, then the allowances."""

from __future__ import annotations

from typing import Any

from ..api import WsgiApp
from ..api.network import Peer
from .job import RELEASE_LABEL
from .meta import APP_LABEL, metadata, selector_labels
from .settings import RenderSettings


def _peer(peer: Peer) -> dict[str, Any]:
    if peer.app:
        return {"podSelector": {"matchLabels": {APP_LABEL: peer.app}}}
    if peer.ip_block:
        block: dict[str, Any] = {"cidr": peer.ip_block.cidr}
        if peer.ip_block.except_:
            block["except"] = list(peer.ip_block.except_)
        return {"ipBlock": block}
    out: dict[str, Any] = {}
    if peer.namespace_selector is not None:
        out["namespaceSelector"] = peer.namespace_selector.model_dump(by_alias=True, exclude_none=True)
    if peer.pod_selector is not None:
        out["podSelector"] = peer.pod_selector.model_dump(by_alias=True, exclude_none=True)
    return out


def _ports(peer: Peer) -> list[dict[str, Any]]:
    return [{"port": p.port, "protocol": p.protocol} for p in peer.ports]


def network_policy(app: WsgiApp, settings: RenderSettings) -> dict[str, Any]:
    """Ingress only to the app port from the ingress controller and listed peers;
    egress only to DNS and listed destinations. An empty list denies everything."""
    np = app.spec.network_policy
    app_port = [{"port": app.spec.server.port, "protocol": "TCP"}]
    ingress: list[dict[str, Any]] = []
    if np.allow_ingress_controller:
        source: dict[str, Any] = {"namespaceSelector": {"matchLabels": dict(settings.ingress_namespace_labels)}}
        if settings.ingress_pod_labels:
            source["podSelector"] = {"matchLabels": dict(settings.ingress_pod_labels)}
        ingress.append({"from": [source], "ports": app_port})
    # Whatever a peer may reach, on these pods only the app port listens.
    ingress += [{"from": [_peer(p)], "ports": app_port} for p in np.ingress_from]

    return _policy(app, app.metadata.name, selector_labels(app), ingress, _egress(app, settings))


def network_policies(app: WsgiApp, settings: RenderSettings) -> list[dict[str, Any]]:
    """The app's NetworkPolicy and its release Job's, unless ``spec.networkPolicy.enabled`` is false."""
    if not app.spec.network_policy.enabled:
        return []
    release = release_network_policy(app, settings)
    return [network_policy(app, settings), *([release] if release else [])]


def release_network_policy(app: WsgiApp, settings: RenderSettings) -> dict[str, Any] | None:
    """The release Job's fence: nothing may connect to its pods; they reach what the app may reach.

    Its own policy, because the release pods do not carry the app's selector
    label (the Service must not select them); applied with the app's, before
    the Job, so no release pod ever runs unfenced.
    """
    if app.spec.release is None or not app.spec.network_policy.enabled:
        return None
    name = f"{app.metadata.name}-release"
    return _policy(app, name, {RELEASE_LABEL: app.metadata.name}, [], _egress(app, settings))


def _egress(app: WsgiApp, settings: RenderSettings) -> list[dict[str, Any]]:
    np = app.spec.network_policy
    egress: list[dict[str, Any]] = []
    if np.allow_dns:
        dns = {
            "namespaceSelector": {"matchLabels": dict(settings.dns_namespace_labels)},
            "podSelector": {"matchLabels": dict(settings.dns_pod_labels)},
        }
        egress.append({"to": [dns], "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]})
    for p in np.egress_to:
        rule: dict[str, Any] = {"to": [_peer(p)]}
        if p.ports:
            rule["ports"] = _ports(p)
        egress.append(rule)
    return egress


def _policy(
    app: WsgiApp, name: str, pods: dict[str, str], ingress: list[dict[str, Any]], egress: list[dict[str, Any]]
) -> dict[str, Any]:
    # policyTypes alone denies what no rule allows. An empty rule list is left
    # out: the API server stores it as absent, so applying `ingress: []` would
    # be a change on every reconcile (a new generation, a firewall resync).
    spec: dict[str, Any] = {"podSelector": {"matchLabels": pods}, "policyTypes": ["Ingress", "Egress"]}
    if ingress:
        spec["ingress"] = ingress
    if egress:
        spec["egress"] = egress
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(app, name),
        "spec": spec,
    }
