"""Unit tests of render/meta.py: owner references, labels and selectors on every object."""

from __future__ import annotations

from typing import Any

import pytest

import invalid_specs
from invalid_specs import APP
from support.rendered import RenderKinds, by_kind
from wsgi_operator.api import WsgiApp
from wsgi_operator.api.validation import InvalidWsgiApp, validate
from wsgi_operator.render import render

FORBIDDEN_LABEL = "app.kubernetes.io/instance"


def walk_labels(obj: Any) -> list[dict[str, str]]:
    """Every label map and matchLabels map anywhere in ``obj``."""
    found = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in ("labels", "matchLabels") and isinstance(value, dict):
                found.append(value)
            found += walk_labels(value)
    elif isinstance(obj, list):
        for item in obj:
            found += walk_labels(item)
    return found


def test_no_owner_references_without_uid(render_kinds: RenderKinds) -> None:
    assert not [o for o in render_kinds().values() if "ownerReferences" in o["metadata"]]


def test_owner_references_with_uid(render_kinds: RenderKinds) -> None:
    uid = "6f1c2a8e-0000-4000-8000-000000000001"
    for obj in render_kinds(
        {
            "autoscaling": {"maxReplicas": 3},
            "ingress": {"hosts": ["a.example.com"]},
            "httpRoute": {"parentRefs": [{"name": "gw"}]},
        },
        uid=uid,
    ).values():
        assert obj["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "wsgi-operator.io/v1alpha1",
                "kind": "WsgiApp",
                "name": APP,
                "uid": uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ], obj["kind"]


def test_labels_on_every_object_and_never_argo_tracking(render_kinds: RenderKinds) -> None:
    kinds = render_kinds(
        {
            "autoscaling": {"maxReplicas": 3},
            "ingress": {"hosts": ["a.example.com"]},
            "httpRoute": {"parentRefs": [{"name": "gw"}]},
        },
        # Argo CD stamps its tracking label on the WsgiApp; children must not inherit it.
        labels={FORBIDDEN_LABEL: "argo-app", "app.kubernetes.io/part-of": "shop-system", "team": "payments"},
        annotations={"argocd.argoproj.io/tracking-id": "argo-app:wsgi-operator.io/WsgiApp:shop/shop"},
    )
    assert len(kinds) == 10
    for key, obj in kinds.items():
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == APP, key
        assert labels["app.kubernetes.io/managed-by"] == "wsgi-operator", key
        assert labels["app.kubernetes.io/part-of"] == "shop-system", key
        assert labels["wsgi-operator.io/app"] == APP, key
        assert "team" not in labels, key
        for found in walk_labels(obj):
            assert FORBIDDEN_LABEL not in found, key
        assert "argocd.argoproj.io/tracking-id" not in str(obj), key


def test_selectors_agree_and_pod_labels_cannot_override_them() -> None:
    """The API refuses pod labels under the operator's domain (the invalid-spec table); were
    one stored anyway (before the rule existed), the renderer still keeps its own."""
    manifest = invalid_specs.base_manifest({"podLabels": {"wsgi-operator.io/app": "other", "team": "payments"}})
    with pytest.raises(InvalidWsgiApp, match=r"spec\.podLabels"):
        validate(manifest)
    kinds = by_kind(render(WsgiApp.parse(manifest)))
    selector = {"wsgi-operator.io/app": APP}
    template_labels = kinds["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert template_labels["team"] == "payments"
    assert template_labels["wsgi-operator.io/app"] == APP
    assert kinds["Deployment"]["spec"]["selector"] == {"matchLabels": selector}
    assert kinds["Service"]["spec"]["selector"] == selector
    assert kinds["NetworkPolicy"]["spec"]["podSelector"] == {"matchLabels": selector}
    assert kinds["PodDisruptionBudget"]["spec"]["selector"] == {"matchLabels": selector}
