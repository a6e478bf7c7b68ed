"""The generated CustomResourceDefinition: committed copy up to date, structural,
CEL rules that compile, bounded strings and lists (CEL cost budget), descriptions
for `kubectl explain`, printer columns and subresources."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import kubernetes_validate
import pytest
import yaml

from wsgi_operator import cli
from wsgi_operator.api.base import ApiModel, Severity
from wsgi_operator.api.crd import build_crd, render_crd_yaml

CRD_FILE = Path(__file__).resolve().parents[2] / "crds" / "wsgiapps.wsgi-operator.io.yaml"
#: JSON-schema keywords a CRD schema must not use: not structural, or (patternProperties)
#: refused by the API server outright ("patternProperties is not supported").
_FORBIDDEN_KEYWORDS = ("$ref", "anyOf", "allOf", "oneOf", "not", "definitions", "$defs", "patternProperties")
#: Every keyword of apiextensions.k8s.io/v1 JSONSchemaProps that a generated CRD may
#: reasonably use; anything else is an unknown field the API server drops or
#: (kubectl's default strict field validation) refuses.
_SCHEMA_KEYWORDS = {
    "description",
    "type",
    "format",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "enum",
    "maxProperties",
    "minProperties",
    "required",
    "items",
    "properties",
    "additionalProperties",
    "nullable",
    "example",
    "externalDocs",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-int-or-string",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-list-type",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
}


def _version() -> dict[str, Any]:
    (version,) = build_crd()["spec"]["versions"]
    return version


def _root() -> dict[str, Any]:
    return _version()["schema"]["openAPIV3Schema"]


def schema_nodes(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(path, node, is_property) for every schema node; is_property marks named fields."""
    for name, child in (node.get("properties") or {}).items():
        yield f"{path}.{name}", child, True
        yield from schema_nodes(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield f"{path}[]", node["items"], False
        yield from schema_nodes(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield f"{path}{{}}", node["additionalProperties"], False
        yield from schema_nodes(node["additionalProperties"], f"{path}{{}}")


def _all_nodes() -> list[tuple[str, dict[str, Any], bool]]:
    return [("", _root(), False), *schema_nodes(_root())]


def _spec_nodes() -> list[tuple[str, dict[str, Any], bool]]:
    return [n for n in _all_nodes() if n[0].startswith(".spec")]


def _rules() -> list[tuple[str, dict[str, Any]]]:
    return [(path or ".", r) for path, node, _ in _all_nodes() for r in node.get("x-kubernetes-validations") or []]


# --- the committed file -----------------------------------------------------------------------------


def test_committed_crd_is_up_to_date() -> None:
    assert CRD_FILE.exists(), f"{CRD_FILE} missing: run `make crds`"
    assert CRD_FILE.read_text() == render_crd_yaml(), (
        f"{CRD_FILE.relative_to(CRD_FILE.parents[1])} is stale: the API models changed; run `make crds` and commit it"
    )


def test_cli_crd_prints_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["crd"]) == 0
    assert capsys.readouterr().out == render_crd_yaml()


def test_crd_yaml_round_trips() -> None:
    assert yaml.safe_load(render_crd_yaml()) == build_crd()


def test_crd_matches_the_kubernetes_schema() -> None:
    """The CRD itself is a valid apiextensions.k8s.io/v1 object (strict: no unknown fields)."""
    problem = None
    try:
        used = kubernetes_validate.validate(build_crd(), "1.35", strict=True)
    except kubernetes_validate.ValidationError as err:
        problem = f"{'.'.join(map(str, err.path))}: {err.message}"
    assert problem is None, problem
    assert used == "1.35"


# --- identity ---------------------------------------------------------------------------------------------


def test_names_and_scope() -> None:
    crd = build_crd()
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == "wsgiapps.wsgi-operator.io"
    spec = crd["spec"]
    assert spec["group"] == "wsgi-operator.io"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == "WsgiApp"
    assert spec["names"]["plural"] == "wsgiapps"
    assert "wsgi" in spec["names"]["shortNames"]
    version = _version()
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)


# --- structural schema -------------------------------------------------------------------------------------


def test_no_forbidden_keywords_anywhere() -> None:
    def walk(node: Any, path: str) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in _FORBIDDEN_KEYWORDS:
                    yield f"{path}: {key}"
                yield from walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                yield from walk(item, f"{path}[{i}]")

    found = list(walk(_root(), ""))
    assert not found, "\n".join(found)


def test_only_kubernetes_schema_keywords() -> None:
    unknown = [f"{path or '.'}: {key}" for path, node, _ in _all_nodes() for key in node if key not in _SCHEMA_KEYWORDS]
    assert not unknown, "keywords that are not apiextensions/v1 JSONSchemaProps fields:\n" + "\n".join(unknown)


def test_exclusive_bounds_are_booleans() -> None:
    """OpenAPI v3.0 (what CRDs speak) has boolean exclusiveMinimum/Maximum, unlike JSON schema 2020-12."""
    bad = [
        path
        for path, node, _ in _all_nodes()
        for key in ("exclusiveMinimum", "exclusiveMaximum")
        if key in node and not isinstance(node[key], bool)
    ]
    assert bad == []


def test_every_node_is_typed() -> None:
    untyped = [
        path
        for path, node, _ in _all_nodes()
        if "type" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
        and not node.get("x-kubernetes-int-or-string")
    ]
    assert untyped == []


def test_structural_shape_rules() -> None:
    problems = []
    for path, node, _ in _all_nodes():
        if "properties" in node and "additionalProperties" in node:
            problems.append(f"{path}: properties and additionalProperties")
        if node.get("type") == "array" and "items" not in node:
            problems.append(f"{path}: array without items")
        if node.get("additionalProperties") is False:
            problems.append(f"{path}: additionalProperties: false")
        if node.get("x-kubernetes-preserve-unknown-fields") and node.get("type") not in (None, "object"):
            problems.append(f"{path}: preserve-unknown-fields on a {node['type']}")
        if node.get("nullable") is not None and node.get("default", 0) is None:
            problems.append(f"{path}: null default")
        if "title" in node:
            problems.append(f"{path}: title")
    assert problems == []


def test_required_fields_exist() -> None:
    missing = [
        f"{path}.{req}"
        for path, node, _ in _all_nodes()
        for req in node.get("required") or []
        if req not in (node.get("properties") or {})
    ]
    assert missing == []


def test_defaults_validate_against_their_own_schema() -> None:
    """The API server refuses a CRD whose defaults do not match their schema."""

    def plain(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: plain(v) for k, v in node.items() if not k.startswith("x-kubernetes") and k != "default"}
        return node

    bad = []
    for path, node, _ in _all_nodes():
        if "default" in node:
            try:
                jsonschema.validate(node["default"], plain(node))
            except jsonschema.ValidationError as err:
                bad.append(f"{path}: {err.message}")
    assert bad == []


def test_key_defaults_are_published() -> None:
    props = _root()["properties"]["spec"]["properties"]
    assert props["server"]["properties"]["port"]["default"] == 8000
    assert props["security"]["properties"]["umask"]["default"] == "0027"
    assert props["security"]["properties"]["passAuthorization"]["default"] is False
    assert props["logging"]["properties"]["level"]["default"] == "warn"
    assert props["timeouts"]["properties"]["request"]["default"] == 60
    # Nested objects are defaulted too, so CEL rules always see them.
    assert isinstance(props["networkPolicy"]["default"], dict)
    assert isinstance(props["security"]["default"], dict)


def test_object_defaults_agree_with_nested_defaults() -> None:
    """An object's default must not contradict the defaults of its own fields."""
    bad = []
    for path, node, _ in _all_nodes():
        default = node.get("default")
        if not isinstance(default, dict):
            continue
        for key, value in default.items():
            child = (node.get("properties") or {}).get(key, {})
            if "default" in child and child["default"] != value:
                bad.append(f"{path}.{key}: {value!r} != {child['default']!r}")
    assert bad == []


# --- CEL --------------------------------------------------------------------------------------------------------


def test_rules_exist_for_the_cross_field_checks() -> None:
    rules = " ".join(r["rule"] for _, r in _rules())
    for needle in ("trustedProxyHeaders", "writableDirs", "minReplicas", "65534", "script", "valueFrom"):
        assert needle in rules, needle


def test_every_model_error_rule_is_in_the_crd() -> None:
    """The errors, that is: the warnings go to the warnings policy (test_warnings.py)."""

    def subclasses(cls: type) -> Iterator[type]:
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    declared = {r.rule for cls in subclasses(ApiModel) for r in cls.cel_rules if r.severity is Severity.ERROR}
    in_crd = {r["rule"] for _, r in _rules()}
    assert declared, "no CEL rules declared on the models"
    assert declared <= in_crd, declared - in_crd


@pytest.mark.parametrize(("path", "rule"), _rules(), ids=[f"{p}:{i}" for i, (p, _) in enumerate(_rules())])
def test_rule_compiles_with_cel_python(path: str, rule: dict[str, Any]) -> None:
    env = celpy.Environment()
    env.program(env.compile(rule["rule"]))
    assert rule.get("message"), f"{path}: rule without message"


@pytest.mark.parametrize(("path", "rule"), _rules(), ids=[f"{p}:{i}" for i, (p, _) in enumerate(_rules())])
def test_rule_field_path_resolves(path: str, rule: dict[str, Any]) -> None:
    """The API server refuses a fieldPath that names no property of the node."""
    if "fieldPath" not in rule:
        return
    node = _root()
    for part in path.strip(".").split("."):
        if part:
            node = node["properties"][part.removesuffix("[]")]
            if part.endswith("[]"):
                node = node["items"]
    target = node
    for part in rule["fieldPath"].strip(".").split("."):
        assert part in (target.get("properties") or {}), f"{path}: fieldPath {rule['fieldPath']} does not resolve"
        target = target["properties"][part]


def test_rules_sit_on_objects() -> None:
    assert [
        p for p, node, _ in _all_nodes() if node.get("x-kubernetes-validations") and node.get("type") != "object"
    ] == []


# --- CEL cost budget: bounded strings and lists ---------------------------------------------------------------


def test_every_spec_string_is_bounded() -> None:
    """Scoped to spec, where every CEL rule lives: the cost estimator multiplies by
    maxLength/maxItems of what a rule can reach."""
    unbounded = [
        path
        for path, node, _ in _spec_nodes()
        if node.get("type") == "string" and not ({"maxLength", "pattern", "enum"} & node.keys())
    ]
    assert unbounded == []


def test_every_spec_array_is_bounded() -> None:
    assert [p for p, node, _ in _spec_nodes() if node.get("type") == "array" and "maxItems" not in node] == []


def test_metadata_name_is_bounded() -> None:
    name = _root()["properties"]["metadata"]["properties"]["name"]
    assert name["type"] == "string" and name["maxLength"] <= 63


# --- pass-through: typed where it matters ------------------------------------------------------------------------

#: The spec fields the CRD keeps as free-form objects (x-kubernetes-preserve-unknown-fields): none.
#: Every Kubernetes type the spec passes through (probes, selectors, tolerations, affinity, topology
#: spread, env sources) is typed, so the API server checks it when it admits the WsgiApp. A new
#: free-form field must be added here deliberately.
PRESERVED: set[str] = set()


def test_only_the_listed_fields_are_free_form() -> None:
    assert {p for p, node, _ in _spec_nodes() if node.get("x-kubernetes-preserve-unknown-fields")} == PRESERVED


def test_probe_overrides_are_typed_and_refuse_host() -> None:
    probes = _root()["properties"]["spec"]["properties"]["probes"]["properties"]
    for which in ("liveness", "readiness", "startup"):
        probe = probes[which]
        assert set(probe["properties"]) >= {"exec", "httpGet", "tcpSocket", "grpc", "periodSeconds"}, which
        assert probe["properties"]["httpGet"]["properties"]["port"]["x-kubernetes-int-or-string"] is True
        for handler in ("httpGet", "tcpSocket"):
            rules = probe["properties"][handler]["x-kubernetes-validations"]
            assert any(r["fieldPath"] == ".host" and r["rule"].startswith("!has(self.host)") for r in rules)
        assert any("has(self.exec)" in r["rule"] for r in probe["x-kubernetes-validations"])


def test_annotation_maps_are_bounded_and_checked() -> None:
    spec = _root()["properties"]["spec"]
    maps = {
        "podAnnotations": spec,
        "serviceAccountAnnotations": spec,
        "podLabels": spec,
        "annotations": spec["properties"]["service"],
    }
    for field, owner in maps.items():
        assert owner["properties"][field]["maxProperties"] == 64, field
        assert any(f"self.{field}.all(" in r["rule"] for r in owner["x-kubernetes-validations"]), field
    ingress = spec["properties"]["ingress"]
    assert ingress["properties"]["annotations"]["maxProperties"] == 64
    assert any("snippet" in r["rule"] for r in ingress["x-kubernetes-validations"])


def test_cel_regexes_need_no_escapes() -> None:
    """CEL string literals would need doubled backslashes; the rules use [.] instead."""
    assert [r["rule"] for _, r in _rules() if "\\" in r["rule"]] == []


# --- kubectl explain ---------------------------------------------------------------------------------------------


def test_every_spec_field_has_a_description() -> None:
    assert [p for p, node, is_prop in _spec_nodes() if is_prop and not node.get("description")] == []
    assert _root()["properties"]["spec"].get("description")
    assert _root().get("description")


def test_descriptions_name_the_express_flags() -> None:
    timeouts = _root()["properties"]["spec"]["properties"]["timeouts"]["properties"]
    assert "--request-timeout" in timeouts["request"]["description"]
    assert "--header-timeout" in timeouts["header"]["description"]


# --- printer columns and subresources ---------------------------------------------------------------------------


def test_printer_columns() -> None:
    columns = {c["name"]: c for c in _version()["additionalPrinterColumns"]}
    assert {"Ready", "Replicas", "URL", "Age"} <= columns.keys()
    assert columns["Ready"]["jsonPath"] == '.status.conditions[?(@.type=="Ready")].status'
    assert columns["Replicas"]["jsonPath"].startswith(".status.")
    assert columns["URL"]["jsonPath"] == ".status.url"
    assert columns["Age"] == {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def test_status_and_scale_subresources() -> None:
    sub = _version()["subresources"]
    assert sub["status"] == {}
    assert sub["scale"] == {
        "specReplicasPath": ".spec.replicas",
        "statusReplicasPath": ".status.replicas",
        "labelSelectorPath": ".status.selector",
    }
    props = _root()["properties"]
    assert props["spec"]["properties"]["replicas"]["type"] == "integer"
    assert props["status"]["properties"]["replicas"]["type"] == "integer"
    assert props["status"]["properties"]["selector"]["type"] == "string"


def test_status_conditions_merge_by_type() -> None:
    conditions = _root()["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert "type" in conditions["items"]["required"]
