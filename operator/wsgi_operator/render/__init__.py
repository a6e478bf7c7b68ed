"""Pure rendering: (WsgiApp, RenderSettings) -> the child objects. No I/O, no clock."""

from __future__ import annotations

from typing import Any

from ..api import WsgiApp
from .config import config_maps
from .deployment import deployment
from .hpa import autoscaler
from .httproute import http_route
from .ingress import ingress
from .networkpolicy import network_policy
from .pdb import disruption_budget
from .service import service
from .serviceaccount import service_account
from .settings import RenderSettings

__all__ = ["RenderSettings", "app_url", "render"]


def render(app: WsgiApp, settings: RenderSettings | None = None) -> list[dict[str, Any]]:
    """Every child object the WsgiApp wants, in apply order (dependencies first)."""
    settings = settings or RenderSettings()
    children: list[dict[str, Any] | None] = [
        service_account(app),
        *config_maps(app),
        service(app),
        deployment(app, settings),
        network_policy(app, settings) if app.spec.network_policy.enabled else None,
        disruption_budget(app),
        autoscaler(app),
        ingress(app),
        http_route(app),
    ]
    return [c for c in children if c is not None]


def app_url(app: WsgiApp) -> str:
    """Where users reach the app: the first ingress/route host, else the Service's DNS name."""
    spec = app.spec
    if spec.ingress:
        scheme = "https" if spec.ingress.tls_secret_name else "http"
        return f"{scheme}://{spec.ingress.hosts[0]}{spec.ingress.paths[0].path}"
    if spec.http_route and spec.http_route.hostnames:
        return f"http://{spec.http_route.hostnames[0]}{spec.http_route.path}"
    return f"http://{app.metadata.name}.{app.metadata.namespace}.svc:{spec.service.port}/"
