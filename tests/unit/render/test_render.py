"""Unit tests of render/__init__.py: which objects render() returns, in which order."""

from __future__ import annotations

import invalid_specs
from invalid_specs import APP
from support.rendered import RenderKinds
from wsgi_operator.api.validation import validate
from wsgi_operator.render import RenderSettings, render


def test_default_objects_in_apply_order() -> None:
    objects = render(validate(invalid_specs.base_manifest()))
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("ServiceAccount", APP),
        ("ConfigMap", f"{APP}-entry"),
        ("ConfigMap", f"{APP}-config"),
        ("Service", APP),
        ("Deployment", APP),
        ("NetworkPolicy", APP),
        ("PodDisruptionBudget", APP),
    ]
    assert all(o["metadata"]["namespace"] == "shop" for o in objects)


def test_render_settings_default_equals_none() -> None:
    app = validate(invalid_specs.base_manifest())
    assert render(app) == render(app, RenderSettings())


def test_no_ingress_or_route_by_default(render_kinds: RenderKinds) -> None:
    kinds = render_kinds()
    assert "Ingress" not in kinds and "HTTPRoute" not in kinds
