"""The warnings policy: what a WsgiApp may do but should not, as Kubernetes' own admission warnings.

A rule declared with ``Rule.warning`` (base.py) on an API model does not go into
the CRD: it becomes one validation of a ValidatingAdmissionPolicy
(admissionregistration.k8s.io/v1, GA since Kubernetes 1.30), whose binding has
``validationActions: [Warn]``. The API server then admits the WsgiApp and
``kubectl apply`` prints ``Warning: ... : <field>: <message>``. ``wsgi-operator
validate`` evaluates the very same expressions offline (validation.py) and prints
``Warning: <field>: <message>``.

A CRD rule sees ``self``, the object of the schema node it sits on; a policy's
expression sees ``object``, the whole WsgiApp. Each rule is therefore wrapped:
the path from the root to its node is walked with ``has()`` guards (and ``all()``
over lists and maps), and the rule is evaluated with ``self`` bound to the node
(``[node].all(self, RULE)``), unchanged. Rules on the WsgiApp model itself see
the whole object, metadata included (the namespace), which a CRD rule cannot:
those may only be warnings.

The policy is ``crds/wsgiapp-warnings.wsgi-operator.io.yaml`` (``wsgi-operator
warnings-policy``, ``make crds``) and a template of the Helm chart. docs/hardening.md
("Allowed but risky") lists each warning and why it is not an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from .. import GROUP, PLURAL, VERSION
from .base import WARNINGS_KEY, Rule, Severity
from .crd import spec_schema_with_warnings
from .wsgiapp import WsgiApp

#: The policy's and the binding's name (cluster-scoped objects).
POLICY_NAME = f"wsgiapp-warnings.{GROUP}"
#: What the API server puts in front of each message (k8s.io/apiserver, validating policy dispatcher).
SERVER_PREFIX = "Validation failed for ValidatingAdmissionPolicy '{policy}' with binding '{binding}': "


@dataclass(frozen=True)
class WarningRule:
    """One warning: the field it names, its expression over ``object``, and its message."""

    field: str
    rule: str
    expression: str
    text: str

    @property
    def message(self) -> str:
        """What the API server reports (after its prefix) and ``validate`` prints after ``Warning:``."""
        return f"{self.field}: {self.text}"


def _wrap(path: list[tuple[str, str]], rule: str) -> str:
    """``rule`` (over ``self``) as an expression over ``object``, through ``path``:
    ("prop", name) steps into a field (skipped when absent), ("items", "") and
    ("values", "") into every element of a list or every value of a map."""

    def build(var: str, rest: list[tuple[str, str]], depth: int) -> str:
        if not rest:
            return f"[{var}].all(self, {rule})"
        (kind, name), tail = rest[0], rest[1:]
        if kind == "prop":
            return f"(!has({var}.{name}) || {build(f'{var}.{name}', tail, depth)})"
        if kind == "items":
            return f"{var}.all(i{depth}, {build(f'i{depth}', tail, depth + 1)})"
        return f"{var}.all(k{depth}, {build(f'{var}[k{depth}]', tail, depth + 1)})"

    return build("object", path, 0)


def _field(path: list[tuple[str, str]], field_path: str) -> str:
    text = "".join(f".{name}" if kind == "prop" else ("[]" if kind == "items" else "[*]") for kind, name in path)
    return (text + field_path).lstrip(".")


def _schema_warnings(node: dict[str, Any], path: list[tuple[str, str]]) -> Iterator[tuple[list[tuple[str, str]], dict]]:
    for rule in node.get(WARNINGS_KEY) or ():
        yield path, rule
    for name, child in (node.get("properties") or {}).items():
        yield from _schema_warnings(child, [*path, ("prop", name)])
    if isinstance(node.get("items"), dict):
        yield from _schema_warnings(node["items"], [*path, ("items", "")])
    if isinstance(node.get("additionalProperties"), dict):
        yield from _schema_warnings(node["additionalProperties"], [*path, ("values", "")])


def _root_rules() -> tuple[Rule, ...]:
    """The rules on the whole object (metadata included): warnings only, the CRD cannot hold them."""
    errors = [r.rule for r in WsgiApp.cel_rules if r.severity is not Severity.WARNING]
    if errors:
        raise ValueError(f"rules on the WsgiApp model itself can only be warnings: {errors}")
    return WsgiApp.cel_rules


def warning_rules() -> list[WarningRule]:
    """Every warning rule, in the policy's order: the whole object's, then the spec's, outside in."""
    found: list[tuple[list[tuple[str, str]], dict]] = [
        ([], {"rule": r.rule, "message": r.message, "fieldPath": r.field_path}) for r in _root_rules()
    ]
    found += _schema_warnings(spec_schema_with_warnings(), [("prop", "spec")])
    return [
        WarningRule(_field(path, r.get("fieldPath", "")), r["rule"], _wrap(path, r["rule"]), r["message"])
        for path, r in found
    ]


def _labels() -> dict[str, str]:
    return {"app.kubernetes.io/name": "wsgi-operator", "app.kubernetes.io/component": "warnings"}


def build_policy() -> list[dict[str, Any]]:
    """The ValidatingAdmissionPolicy and its ValidatingAdmissionPolicyBinding (Warn only)."""
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": POLICY_NAME, "labels": _labels()},
        "spec": {
            # An expression that fails to evaluate is reported as a warning too,
            # never silently skipped; with Warn only, nothing is ever refused.
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [GROUP],
                        "apiVersions": [VERSION],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": [PLURAL],
                    }
                ]
            },
            "validations": [{"expression": w.expression, "message": w.message} for w in warning_rules()],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": POLICY_NAME, "labels": _labels()},
        "spec": {"policyName": POLICY_NAME, "validationActions": ["Warn"]},
    }
    return [policy, binding]


def render_policy_yaml() -> str:
    """The policy and its binding as YAML, exactly as committed under crds/ and the chart's files/."""
    header = (
        "# Generated by `wsgi-operator warnings-policy` from the rules declared as warnings on the API\n"
        "# models. Do not edit. Needs Kubernetes 1.30 or later (admissionregistration.k8s.io/v1).\n"
    )
    return header + yaml.safe_dump_all(build_policy(), sort_keys=False, width=1000, explicit_start=True)
