"""Offline validation of WsgiApp manifests with the same rules as the CRD.

Types, ranges and patterns come from the pydantic models (which also generate
the CRD's OpenAPI schema); cross-field rules are the models' CEL expressions,
evaluated as the API server evaluates them: on the spec with the CRD's
defaults applied, walking the generated schema (only down to the fields that
have rules, and a rule only where its field is present). Each expression is
compiled to Python once per process (celcompile.py). As with
``kubectl apply``, every error is reported at once, the schema's and the CEL
rules' alike. A spec that passes both is rendered, and its pods are checked
against Pod Security "restricted" (podsecurity.py).

What is allowed but risky is not an error: ``policy_warnings`` evaluates the
expressions of the warnings policy (warnings_policy.py) on a valid manifest,
as the API server evaluates them when it admits it, and returns the messages
the API server would send as warnings.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from .. import API_VERSION, KIND
from .base import IMAGE_REF, NETWORK_CIDR, QUALIFIED_NAME
from .celcompile import EVAL_ERRORS, program
from .environment import FIELD_PATH
from .podsecurity import restricted_violations
from .workload import RESOURCE_NAME
from .wsgiapp import WsgiApp, _yaml_scalar


class InvalidWsgiApp(ValueError):
    """A manifest that the API server would reject; ``errors`` name the fields."""

    def __init__(self, name: str, errors: list[str]) -> None:
        self.name = name
        self.errors = errors
        super().__init__(f"WsgiApp {name}: " + "; ".join(errors))


def _eval(rule: dict[str, Any], activation: dict[str, Any]) -> bool | None:
    """The rule's verdict, or None when it cannot be evaluated."""
    try:
        result = program(rule["rule"]).evaluate(activation)
    except EVAL_ERRORS:
        # A missing or mistyped field, or a quantity the schema refuses too.
        return None
    if type(result) is not bool:
        return None
    return result


@functools.cache
def _spec_schema() -> dict[str, Any]:
    """The CRD's schema of spec: the defaults and CEL rules the API server applies."""
    # Imported here: crd imports the models this module's callers import first.
    from .crd import build_crd

    (version,) = build_crd()["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]["properties"]["spec"]


def _prune_nulls(schema: dict[str, Any], value: Any) -> None:
    """Drop the null fields of ``value`` in place, as the API server does before it
    validates and defaults, except those the schema marks nullable."""
    if isinstance(value, dict):
        props = schema.get("properties")
        if props is not None:
            for key in [k for k, v in value.items() if v is None and k in props and not props[k].get("nullable")]:
                del value[key]
            for key, sub in props.items():
                if key in value:
                    _prune_nulls(sub, value[key])
        elif isinstance(schema.get("additionalProperties"), dict):
            for item in value.values():
                _prune_nulls(schema["additionalProperties"], item)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            _prune_nulls(schema["items"], item)


@dataclass(frozen=True)
class _Node:
    """A schema node as a walk of the spec needs it: what the node itself holds (its
    CEL rules, or its properties' defaults), and only the children below which
    there is more (the walk skips the rest of the spec)."""

    own: tuple[Any, ...]
    properties: tuple[tuple[str, _Node], ...]
    values: _Node | None  # of a map (additionalProperties)
    items: _Node | None  # of a list


def _pruned(schema: dict[str, Any], own: Callable[[dict[str, Any]], tuple[Any, ...]]) -> _Node | None:
    properties = tuple(
        (key, node) for key, sub in (schema.get("properties") or {}).items() if (node := _pruned(sub, own)) is not None
    )
    extra = schema.get("additionalProperties")
    values = _pruned(extra, own) if isinstance(extra, dict) and "properties" not in schema else None
    items = _pruned(schema["items"], own) if isinstance(schema.get("items"), dict) else None
    mine = own(schema)
    if not (mine or properties or values or items):
        return None
    return _Node(mine, properties, values, items)


def _defaults_of(schema: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple((key, sub["default"]) for key, sub in (schema.get("properties") or {}).items() if "default" in sub)


def _rules_of(schema: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    return tuple(schema.get("x-kubernetes-validations") or ())


@functools.cache
def _spec_defaults() -> _Node:
    node = _pruned(_spec_schema(), _defaults_of)
    assert node is not None, "the spec schema has no defaults"
    return node


@functools.cache
def _spec_rules() -> _Node:
    node = _pruned(_spec_schema(), _rules_of)
    assert node is not None, "the spec schema has no CEL rules"
    return node


def _json_copy(value: Any) -> Any:
    # copy.deepcopy, for JSON values only, in a fraction of its time.
    if type(value) is dict:
        return {k: _json_copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_json_copy(v) for v in value]
    return value


def _apply_defaults(node: _Node, value: Any) -> None:
    """Structural defaulting as the API server does it, in place: every missing field
    with a default gets it, outside in (a defaulted object gets its fields' defaults)."""
    if isinstance(value, dict):
        for key, default in node.own:
            if key not in value:
                value[key] = _json_copy(default)
        for key, sub in node.properties:
            if key in value:
                _apply_defaults(sub, value[key])
        if node.values is not None:
            for item in value.values():
                _apply_defaults(node.values, item)
    elif isinstance(value, list) and node.items is not None:
        for item in value:
            _apply_defaults(node.items, item)


def _cel_errors(node: _Node, value: Any, path: str, typed: bool) -> Iterator[str]:
    """A message for every CEL rule of the schema broken by ``value`` (defaulted), at
    ``path`` and below: the API server's walk. ``typed`` says the value passed the
    schema, so a rule that cannot be evaluated is a bug here; otherwise (a value the
    schema refuses too, such as a malformed quantity) it is reported against the
    rule, as the API server does."""
    if isinstance(value, dict):
        activation = {"self": value}
        for rule in node.own:
            verdict = _eval(rule, activation)
            if verdict is None and typed:
                raise RuntimeError(f"CEL rule {rule['rule']!r} failed to evaluate at {path}")
            if verdict is not True:
                where = f"{path}{rule.get('fieldPath', '')}"
                # Messages name their field for the API server's sake; don't say it twice.
                message = rule["message"]
                if verdict is None:
                    message += " (the rule could not be evaluated on the invalid value)"
                yield message if message.startswith(where) else f"{where}: {message}"
        for key, sub in node.properties:
            if key in value:
                yield from _cel_errors(sub, value[key], f"{path}.{key}", typed)
        if node.values is not None:
            for key, item in value.items():
                yield from _cel_errors(node.values, item, f"{path}[{key}]", typed)
    elif isinstance(value, list) and node.items is not None:
        for i, item in enumerate(value):
            yield from _cel_errors(node.items, item, f"{path}[{i}]", typed)


def cel_errors(spec: Any, typed: bool = True) -> list[str]:
    """Every CEL rule of the CRD that ``spec`` (as sent, null fields pruned) breaks. The CRD's
    defaults are applied to ``spec`` first, in place, as the API server applies them."""
    _apply_defaults(_spec_defaults(), spec)
    return list(_cel_errors(_spec_rules(), spec, "spec", typed))


#: Schema errors after which the API server does not evaluate the CEL rules
#: (apiextensions-apiserver's hasBlockingErr: a wrong type, a missing field, a
#: value outside an enum, a string or a list too long); bounds and patterns
#: do not block them.
_BLOCKING = {"missing", "literal_error", "enum", "string_too_long", "too_long", "int_from_float"}
CEL_NOT_CHECKED = (
    "spec: some CEL rules were not checked because the object was invalid; correct the errors above "
    "to complete validation"
)


def _blocks_cel(err: ValidationError) -> bool:
    return any(e["type"] in _BLOCKING or e["type"].endswith(("_type", "_parsing")) for e in err.errors())


def pod_security_errors(app: WsgiApp) -> list[str]:
    """The Pod Security "restricted" violations of the pods rendered for ``app`` (the
    server's pod template and the release Job's), each naming the spec field to
    look at and the rendered field that breaks the profile."""
    # Imported here: the renderer imports the API.
    from ..render.deployment import pod_template
    from ..render.job import release_job
    from ..render.settings import RenderSettings

    pods = [("Deployment", app.metadata.name, pod_template(app, RenderSettings()))]
    job = release_job(app)
    if job is not None:
        pods.append(("Job", job["metadata"]["name"], job["spec"]["template"]))
    errors = []
    for kind, name, template in pods:
        for v in restricted_violations(template):
            errors.append(
                f"{_spec_field_of(v.field)}: the rendered {kind} {name} would be refused in a Pod Security "
                f"restricted namespace: spec.template.{v}"
            )
    return errors


def _spec_field_of(pod_field: str) -> str:
    """The spec field that a field of the rendered pod template comes from, roughly."""
    if pod_field.startswith("metadata.annotations"):
        return "spec.podAnnotations"
    for probe in ("liveness", "readiness", "startup"):
        if f".{probe}Probe" in pod_field:
            return f"spec.probes.{probe}"
    if "securityContext" in pod_field or pod_field.startswith("spec.host"):
        return "spec.security"
    return "spec"


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


#: The long patterns, by what they stand for: a message names the value, not a regular expression.
_PATTERN_NAMES = {
    IMAGE_REF: "an image reference: [registry[:port]/]path[:tag][@sha256:<64 hex digits>|@sha512:<128 hex digits>], "
    "the path in lower case (e.g. registry.example.com/shop/web:1.4@sha256:...)",
    NETWORK_CIDR: "a CIDR: an IPv4 or IPv6 address and a prefix length, without leading zeros (10.20.0.0/16, "
    "10.20.30.40/32, 2001:db8::/64)",
    QUALIFIED_NAME: "a qualified name: an optional DNS subdomain prefix and '/', then at most 63 letters, digits, "
    "'-', '_' or '.', starting and ending with a letter or digit (e.g. app, example.com/tier)",
    RESOURCE_NAME: "a container resource: cpu, memory, ephemeral-storage, or an extended resource with a domain "
    "prefix (example.com/gpu)",
    FIELD_PATH: "a field the downward API gives an environment variable: metadata.name, metadata.namespace, "
    "metadata.uid, metadata.labels['<key>'], metadata.annotations['<key>'], spec.nodeName, spec.serviceAccountName, "
    "status.hostIP, status.hostIPs, status.podIP or status.podIPs",
}


def _pydantic_messages(err: ValidationError) -> list[str]:
    messages = []
    for e in err.errors():
        # pydantic reports which union branch failed as an extra loc part
        # (e.g. 'str'); users only care about their field.
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p in {"str", "int", "constrained-str"}))
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; `kubectl explain wsgiapp.spec` lists the fields)"
        elif e["type"] == "string_pattern_mismatch":
            pattern = e["ctx"]["pattern"]
            msg = f"{e['input']!r} " + (
                f"is not {_PATTERN_NAMES[pattern]}" if pattern in _PATTERN_NAMES else f"does not match {pattern}"
            )
        messages.append(f"{_loc(loc)}: {msg}")
    return messages


def _as_json(obj: dict[str, Any]) -> dict[str, Any]:
    """The manifest as the API server reads it: JSON values only (YAML timestamps as strings)."""
    return json.loads(json.dumps(obj, default=_yaml_scalar))


def validate(obj: Any, pod_security: bool = True) -> WsgiApp:
    """Parse and fully validate one manifest; raise InvalidWsgiApp naming every bad field.

    Like the API server (and so ``kubectl apply``), every error is reported at
    once: the schema's (types, ranges, patterns: pydantic) and the CEL rules'
    (on the defaulted spec), unless a schema error is one after which the API
    server skips the rules too (a wrong type, a missing field: ``_BLOCKING``),
    which a line then says. When both pass, the rendered pods are checked
    against Pod Security "restricted" (``pod_security``).
    """
    return _validated(obj, pod_security)[0]


def validate_with_warnings(obj: Any, namespace: str = "default") -> tuple[WsgiApp, list[str]]:
    """``validate(obj)`` and then ``policy_warnings(obj, namespace)`` (what ``wsgi-operator
    validate`` says of a document), the manifest read and defaulted once for both."""
    app, doc = _validated(obj, True)
    return app, _warnings_of(doc, namespace)


def _validated(obj: Any, pod_security: bool) -> tuple[WsgiApp, dict[str, Any]]:
    """``validate``'s work: the app, and the manifest as the API server stores it (JSON
    values, null fields pruned, the CRD's defaults applied to spec)."""
    if not isinstance(obj, dict):
        raise InvalidWsgiApp("?", ["document is not a mapping"])
    name = str((obj.get("metadata") or {}).get("name", "?"))
    if obj.get("kind") != KIND or obj.get("apiVersion") != API_VERSION:
        raise InvalidWsgiApp(name, [f"apiVersion/kind must be {API_VERSION} {KIND}"])
    doc = _as_json(obj)
    # The API server prunes null fields before it validates (and defaults them).
    _prune_nulls(_spec_schema(), doc.get("spec"))
    app: WsgiApp | None = None
    errors: list[str] = []
    blocked = False
    try:
        app = WsgiApp.parse(doc)
    except ValidationError as err:
        errors += _pydantic_messages(err)
        blocked = _blocks_cel(err)
    if isinstance(doc.get("spec"), dict):
        if blocked:
            errors.append(CEL_NOT_CHECKED)
        else:
            # doc is this call's own copy, and the model was parsed from its JSON text: default it in place.
            errors += cel_errors(doc["spec"], typed=app is not None)
    if app is not None and not errors and pod_security:
        errors += pod_security_errors(app)
    if errors or app is None:
        raise InvalidWsgiApp(name, errors or ["spec: missing or not a mapping"])
    return app, doc


@functools.cache
def _warnings() -> tuple[tuple[str, str], ...]:
    # Imported here: warnings_policy imports crd, which imports the models.
    from .warnings_policy import warning_rules

    return tuple((w.expression, w.message) for w in warning_rules())


def policy_warnings(obj: dict[str, Any], namespace: str = "default") -> list[str]:
    """The warnings the API server gives when it admits ``obj`` (a manifest that
    ``validate`` accepts), in the policy's order: ``<field>: <message>`` each.

    They are the expressions of the warnings policy, evaluated on the object as
    the policy sees it: JSON values, null fields pruned, the CRD's defaults
    applied, and ``metadata.namespace`` set to ``namespace`` when the manifest
    has none (as ``kubectl apply -n`` does; kubectl's default is "default").
    """
    doc = _as_json(obj)
    _prune_nulls(_spec_schema(), doc.get("spec"))
    _apply_defaults(_spec_defaults(), doc.get("spec"))
    return _warnings_of(doc, namespace)


def _warnings_of(doc: dict[str, Any], namespace: str) -> list[str]:
    """``policy_warnings`` of ``doc``, this call's own copy, pruned and defaulted already."""
    metadata = doc.setdefault("metadata", {})
    if not metadata.get("namespace"):
        metadata["namespace"] = namespace
    activation = {"object": doc}
    out = []
    for expression, message in _warnings():
        try:
            verdict = program(expression).evaluate(activation)
        except EVAL_ERRORS as err:
            raise RuntimeError(f"warning {message!r} failed to evaluate: {err}") from err
        if type(verdict) is not bool:
            raise RuntimeError(f"warning {message!r} is not a bool: {verdict!r}")
        if not verdict:
            out.append(message)
    return out
