"""The app's own ServiceAccount: an identity per component, no API token mounted."""

from __future__ import annotations

from typing import Any

from ..api import WsgiApp
from .meta import metadata


def service_account(app: WsgiApp) -> dict[str, Any]:
    """ServiceAccount named after the app, with automountServiceAccountToken false."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(app, app.metadata.name, app.spec.service_account_annotations),
        "automountServiceAccountToken": False,
    }
