"""Generate the WsgiApp CustomResourceDefinition from the pydantic models.

pydantic's JSON schema is close to what Kubernetes wants; this module turns it
into a structural OpenAPI v3 schema: ``$ref`` inlined, ``Optional`` unwrapped,
titles dropped, and the CEL rules and defaults carried over.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from .. import GROUP, KIND, PLURAL, VERSION
from .base import DNS_1035, WARNINGS_KEY
from .conditions import ConditionType
from .wsgiapp import WsgiAppSpec, WsgiAppStatus

# propertyNames (key constraints of maps) has no structural-schema equivalent.
_DROP = {"title", "additionalProperties", "discriminator", "propertyNames"}


def _structural(node: Any, defs: dict[str, Any]) -> Any:
    """Return ``node`` with references inlined and non-structural keywords removed."""
    if isinstance(node, list):
        return [_structural(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if "$ref" in node:
        target = copy.deepcopy(defs[node.pop("$ref").rsplit("/", 1)[1]])
        # The field's description says what this field is for; the model's
        # docstring only says what the type is: the field's wins.
        target.update({k: v for k, v in node.items() if k != "$ref"})
        node = target
    if "anyOf" in node:
        variants = [v for v in node.pop("anyOf") if v.get("type") != "null"]
        if len(variants) != 1:
            raise ValueError(f"cannot express union {variants} structurally")
        merged = dict(variants[0])
        merged.update(node)
        node = merged
        if node.get("default", 0) is None:
            del node["default"]
    if "allOf" in node and len(node["allOf"]) == 1:
        merged = dict(node.pop("allOf")[0])
        merged.update(node)
        return _structural(merged, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP and not (key == "additionalProperties" and isinstance(value, dict) and value):
            continue
        if key == "patternProperties":
            # Maps with constrained keys: Kubernetes has no patternProperties;
            # keep the value schema, the key rule is lost.
            (value_schema,) = value.values()
            out["additionalProperties"] = _structural(value_schema, defs)
        elif key == "const":
            out["enum"] = [value]
        elif key == "properties":
            out[key] = {k: _structural(v, defs) for k, v in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = _structural(value, defs)
        else:
            out[key] = value
    if out.get("x-kubernetes-preserve-unknown-fields"):
        out.pop("additionalProperties", None)
        out.setdefault("type", "object")
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    if "properties" in out:
        out.setdefault("type", "object")
    return _structural_resolve_nested(out, defs)


def _structural_resolve_nested(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Nested ``$ref`` can appear again after a merge; resolve until none remain."""
    if "$ref" in node or "anyOf" in node or "allOf" in node:
        return _structural(node, defs)
    return node


def model_schema(model: type) -> dict[str, Any]:
    """Structural OpenAPI v3 schema of one pydantic model."""
    raw = model.model_json_schema(by_alias=True, mode="validation")  # type: ignore[attr-defined]
    defs = raw.pop("$defs", {})
    return _structural(raw, defs)


def spec_schema_with_warnings() -> dict[str, Any]:
    """The spec's structural schema with the warning rules of each node still under
    ``WARNINGS_KEY`` (warnings_policy.py turns them into the warnings policy)."""
    return model_schema(WsgiAppSpec)


def without_warnings(node: Any) -> Any:
    """``node`` without any ``WARNINGS_KEY``: the CRD carries the errors only."""
    if isinstance(node, list):
        return [without_warnings(n) for n in node]
    if isinstance(node, dict):
        return {k: without_warnings(v) for k, v in node.items() if k != WARNINGS_KEY}
    return node


def _conditions_as_map(status: dict[str, Any]) -> None:
    # Conditions are keyed by type so server-side apply merges them one by one.
    cond = status["properties"]["conditions"]
    cond["x-kubernetes-list-type"] = "map"
    cond["x-kubernetes-list-map-keys"] = ["type"]


def build_crd() -> dict[str, Any]:
    """The full CustomResourceDefinition object for WsgiApp."""
    spec = without_warnings(spec_schema_with_warnings())
    status = without_warnings(model_schema(WsgiAppStatus))
    _conditions_as_map(status)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{PLURAL}.{GROUP}",
            "labels": {"app.kubernetes.io/name": "wsgi-operator", "app.kubernetes.io/component": "crd"},
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": KIND.lower(),
                "shortNames": ["wsgi"],
                "categories": ["all"],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {
                        "status": {},
                        "scale": {
                            "specReplicasPath": ".spec.replicas",
                            "statusReplicasPath": ".status.replicas",
                            "labelSelectorPath": ".status.selector",
                        },
                    },
                    "additionalPrinterColumns": [
                        {
                            "name": ConditionType.READY.value,
                            "type": "string",
                            "jsonPath": f'.status.conditions[?(@.type=="{ConditionType.READY}")].status',
                        },
                        {"name": "Replicas", "type": "integer", "jsonPath": ".status.readyReplicas"},
                        {"name": "Image", "type": "string", "jsonPath": ".spec.image", "priority": 1},
                        {"name": "URL", "type": "string", "jsonPath": ".status.url"},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "WsgiApp runs one WSGI application component under a hardened "
                            "mod_wsgi-express: daemon mode, non-root, read-only code, fenced network.",
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {
                                    "type": "object",
                                    "properties": {"name": {"type": "string", "maxLength": 52, "pattern": DNS_1035}},
                                },
                                "spec": spec,
                                "status": status,
                            },
                        }
                    },
                }
            ],
        },
    }


def render_crd_yaml() -> str:
    """The CRD as YAML, exactly as committed under crds/."""
    header = "# Generated by `wsgi-operator crd` from the pydantic models. Do not edit.\n"
    return header + yaml.safe_dump(build_crd(), sort_keys=False, width=1000)
