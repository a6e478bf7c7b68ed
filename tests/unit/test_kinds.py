"""The table of kinds (wsgi_operator.kinds) and the RBAC rules generated from it (wsgi_operator.rbac)."""

from __future__ import annotations

from typing import Any

import kopf
import pytest
import yaml

import invalid_specs
from wsgi_operator import cli, kinds, rbac
from wsgi_operator.api.validation import validate
from wsgi_operator.controller import apply, handlers
from wsgi_operator.render import RenderSettings, render

#: A spec that makes every builder produce something.
EVERY_KIND = {
    "ingress": {"hosts": ["shop.example.com"]},
    "httpRoute": {"parentRefs": [{"name": "gw"}]},
    "autoscaling": {"maxReplicas": 5},
    "disruptionBudget": {"minAvailable": 1},
    "release": {"command": ["python", "manage.py", "migrate"]},
}


def _app(patch: dict[str, Any]) -> Any:
    return validate(invalid_specs.base_manifest(patch))


@pytest.mark.parametrize("child", kinds.CHILD_KINDS, ids=[c.resource.kind for c in kinds.CHILD_KINDS])
def test_builder_output_matches_its_table_entry(child: kinds.ChildKind) -> None:
    objects = child.objects(_app(EVERY_KIND), RenderSettings())
    assert objects, f"{child.build.__name__} built nothing for a spec that wants every kind"
    for obj in objects:
        assert (obj["apiVersion"], obj["kind"]) == (child.resource.api_version, child.resource.kind)


def test_render_walks_the_table_in_order() -> None:
    order = [c.resource.kind for c in kinds.CHILD_KINDS]
    rendered = [o["kind"] for o in render(_app(EVERY_KIND))]
    assert set(rendered) == set(order)
    assert rendered == sorted(rendered, key=order.index)


def test_a_builder_may_build_nothing() -> None:
    rendered = {o["kind"] for o in render(_app({"networkPolicy": {"enabled": False}}))}
    assert not rendered & {"NetworkPolicy", "Ingress", "HTTPRoute", "HorizontalPodAutoscaler", "Job"}


def test_kinds_are_unique_and_resolvable() -> None:
    resources = [c.resource for c in kinds.CHILD_KINDS]
    assert len({(r.api_version, r.kind) for r in resources}) == len(resources)
    for r in resources:
        assert apply.resource_for(r.api_version, r.kind) == r
    assert tuple(resources) == apply.CHILD_RESOURCES


def test_kopf_watches_exactly_the_table() -> None:
    for c in kinds.CHILD_KINDS:
        r = c.resource
        assert handlers.is_child_resource(kopf.Resource(r.group, r.version, r.plural))
    assert not handlers.is_child_resource(kopf.Resource("", "v1", "secrets"))
    assert not handlers.is_child_resource(kopf.Resource("apps", "v1", "replicasets"))


def test_resource_paths() -> None:
    deployment = kinds.DEPLOYMENT
    assert deployment.path("shop") == "/apis/apps/v1/namespaces/shop/deployments"
    assert deployment.path("shop", "web", "scale") == "/apis/apps/v1/namespaces/shop/deployments/web/scale"
    assert kinds.CONFIG_MAP.path("shop", "x") == "/api/v1/namespaces/shop/configmaps/x"
    assert deployment.group_resource == "deployments.apps"
    assert kinds.group_resources([kinds.CONFIG_MAP, deployment, kinds.CONFIG_MAP]) == "configmaps,deployments.apps"


# --- no Secrets ----------------------------------------------------------------------------------------------


def _granted(rules: list[dict[str, list[str]]]) -> set[tuple[str, str, str]]:
    return {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


def test_nothing_grants_secrets_or_wildcards() -> None:
    everything = rbac.clusterwide()["clusterRole"] + rbac.namespaced()["role"]
    granted = _granted(everything)
    assert not [g for g in granted if g[1] == "secrets"]
    assert not [g for g in granted if "*" in g]
    assert "Secret" not in apply.REFERENCE_RESOURCES
    assert "Secret" not in {c.resource.kind for c in kinds.CHILD_KINDS}


# --- the rules -----------------------------------------------------------------------------------------------


def test_every_permission_is_granted_and_nothing_else() -> None:
    wanted = {(p.group, p.resource, v) for p in kinds.permissions() for v in p.verbs}
    assert _granted(rbac.clusterwide()["clusterRole"]) == wanted
    namespaced = {(p.group, p.resource, v) for p in kinds.permissions() if not p.clusterwide_only for v in p.verbs}
    assert _granted(rbac.namespaced()["role"]) == namespaced


def test_namespaced_mode_needs_nothing_cluster_wide() -> None:
    assert rbac.namespaced()["clusterRole"] == []
    assert ("apiextensions.k8s.io", "customresourcedefinitions", "watch") not in _granted(rbac.namespaced()["role"])


def test_children_get_what_the_reconciler_does_and_references_are_read_only() -> None:
    granted = _granted(rbac.clusterwide()["clusterRole"])
    for c in kinds.CHILD_KINDS:
        for verb in ("get", "list", "watch", "create", "patch", "delete"):
            assert (c.resource.group, c.resource.plural, verb) in granted
    assert {v for g, r, v in granted if r == "persistentvolumeclaims"} == {"get"}
    assert {v for g, r, v in granted if r == "events"} == {"create"}


def test_rules_merge_resources_with_the_same_verbs() -> None:
    perms = [
        kinds.Permission("", "configmaps", ("get",), ""),
        kinds.Permission("", "services", ("list", "get"), ""),
        kinds.Permission("", "configmaps", ("list",), ""),
        kinds.Permission("apps", "deployments", ("get", "list"), ""),
    ]
    assert rbac.rules(perms) == [
        {"apiGroups": [""], "resources": ["configmaps", "services"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
    ]


@pytest.mark.parametrize("namespaced", [False, True], ids=["clusterwide", "namespaced"])
def test_cli_prints_the_rules(namespaced: bool, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["rbac", *(["--namespaced"] if namespaced else [])]) == 0
    out = capsys.readouterr().out
    assert out == rbac.rbac_yaml(namespaced)
    assert yaml.safe_load(out) == (rbac.namespaced() if namespaced else rbac.clusterwide())
