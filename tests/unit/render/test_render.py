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
        ("NetworkPolicy", APP),
        ("ConfigMap", f"{APP}-entry"),
        ("ConfigMap", f"{APP}-config"),
        ("Service", APP),
        ("Deployment", APP),
        ("PodDisruptionBudget", APP),
    ]
    assert all(o["metadata"]["namespace"] == "shop" for o in objects)


def test_fences_come_before_anything_that_runs_code() -> None:
    spec = {"release": {"command": ["migrate"]}}
    kinds = [(o["kind"], o["metadata"]["name"]) for o in render(validate(invalid_specs.base_manifest(spec)))]
    fences = [kinds.index(("NetworkPolicy", APP)), kinds.index(("NetworkPolicy", f"{APP}-release"))]
    runs_code = [i for i, (kind, _) in enumerate(kinds) if kind in ("Job", "Deployment")]
    assert len(runs_code) == 2 and max(fences) < min(runs_code)
    assert kinds.index(("ServiceAccount", APP)) < min(runs_code)
    # The release runs before the server rolls.
    assert [k for k, _ in kinds if k in ("Job", "Deployment")] == ["Job", "Deployment"]


def test_render_settings_default_equals_none() -> None:
    app = validate(invalid_specs.base_manifest())
    assert render(app) == render(app, RenderSettings())


def test_no_ingress_or_route_by_default(render_kinds: RenderKinds) -> None:
    kinds = render_kinds()
    assert "Ingress" not in kinds and "HTTPRoute" not in kinds
