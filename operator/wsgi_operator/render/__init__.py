"""Pure rendering: (WsgiApp, RenderSettings) -> the child objects. No I/O, no clock.

Which kinds exist, in which order, and which function here builds each, is the
table in ``wsgi_operator.kinds``; ``render()`` walks it.
"""

from __future__ import annotations

from typing import Any

from ..api import WsgiApp
from .config import config_maps
from .deployment import deployment
from .hpa import autoscaler
from .httproute import http_route
from .ingress import ingress
from .job import release_job
from .networkpolicy import network_policies
from .pdb import disruption_budget
from .service import service
from .serviceaccount import service_account
from .settings import RenderSettings

__all__ = [
    "RenderSettings",
    "app_url",
    "autoscaler",
    "config_maps",
    "deployment",
    "disruption_budget",
    "http_route",
    "ingress",
    "network_policies",
    "release_job",
    "render",
    "service",
    "service_account",
]


def render(app: WsgiApp, settings: RenderSettings | None = None) -> list[dict[str, Any]]:
    """Every child object the WsgiApp wants, in apply order (dependencies first)."""
    # Imported here: the table imports its builders from this package.
    from ..kinds import CHILD_KINDS

    settings = settings or RenderSettings()
    return [obj for child in CHILD_KINDS for obj in child.objects(app, settings)]


def app_url(app: WsgiApp) -> str:
    """Where users reach the app: the first ingress/route host, else the Service's DNS name."""
    spec = app.spec
    if spec.ingress:
        scheme = "https" if spec.ingress.tls_secret_name else "http"
        return f"{scheme}://{spec.ingress.hosts[0]}{spec.ingress.paths[0].path}"
    if spec.http_route and spec.http_route.hostnames:
        return f"http://{spec.http_route.hostnames[0]}{spec.http_route.path}"
    return f"http://{app.metadata.name}.{app.metadata.namespace}.svc:{spec.service.port}/"
