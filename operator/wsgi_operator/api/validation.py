"""Offline validation of WsgiApp manifests with the same rules as the CRD.

Types, ranges and patterns come from the pydantic models (which also generate
the CRD's OpenAPI schema); cross-field rules are the models' CEL expressions,
evaluated here with cel-python as the API server evaluates them: on the spec
with the CRD's defaults applied, walking the generated schema. As with
``kubectl apply``, every error is reported at once, the schema's and the CEL
rules' alike. A spec that passes both is rendered, and its pods are checked
against Pod Security "restricted" (podsecurity.py).

What is allowed but risky is not an error: ``policy_warnings`` evaluates the
expressions of the warnings policy (warnings_policy.py) on a valid manifest,
as the API server evaluates them when it admits it, and returns the messages
the API server would send as warnings.
"""

from __future__ import annotations

import copy
import functools
import ipaddress
import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import celpy
from pydantic import ValidationError

from .. import API_VERSION, KIND
from .base import IMAGE_REF, NETWORK_CIDR, QUALIFIED_NAME
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


_SUFFIX = {
    "": 1,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)$")


def quantity_value(text: str) -> float:
    """The number a Kubernetes quantity string stands for ("512Mi" -> 536870912.0)."""
    match = _QUANTITY.match(text)
    if not match or match.group(2) not in _SUFFIX:
        raise ValueError(f"not a quantity: {text!r}")
    return float(match.group(1)) * _SUFFIX[match.group(2)]


class Cidr:
    """A value of the Kubernetes CEL library's CIDR type (k8s.io/apiserver pkg/cel/library/cidr.go):
    an address and a prefix length, as Go's netip.Prefix; equal when both are."""

    def __init__(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address, bits: int) -> None:
        self.address = address
        self.bits = bits
        self.network = ipaddress.ip_network((address, bits), strict=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cidr) and (self.address, self.bits) == (other.address, other.bits)

    def __hash__(self) -> int:
        return hash((self.address, self.bits))


#: What Go's netip.ParsePrefix reads: an address, '/', a prefix length without leading zeros.
_PREFIX = re.compile(r"^([0-9a-fA-F:.]+)/(0|[1-9][0-9]{0,2})$")


def parse_cidr(text: str) -> Cidr:
    """``cidr(text)`` of the Kubernetes CEL library: netip.ParsePrefix, IPv4-mapped IPv6 refused.
    ValueError when it does not parse (an evaluation error in CEL)."""
    match = _PREFIX.match(str(text))
    if not match:
        raise ValueError(f"not a CIDR: {text!r}")
    # ipaddress, like netip, refuses IPv4 octets with leading zeros; a zone ('%') cannot match _PREFIX.
    address = ipaddress.ip_address(match.group(1))
    bits = int(match.group(2))
    if bits > address.max_prefixlen:
        raise ValueError(f"prefix length out of range: {text!r}")
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise ValueError(f"IPv4-mapped IPv6 address {text!r} is not allowed")
    return Cidr(address, bits)


def _is_cidr(text: Any) -> celpy.celtypes.BoolType:
    try:
        parse_cidr(str(text))
    except ValueError:
        return celpy.celtypes.BoolType(False)
    return celpy.celtypes.BoolType(True)


def _as_cidr(value: Any) -> Cidr:
    return value if isinstance(value, Cidr) else parse_cidr(str(value))


def _contains_cidr(outer: Cidr, inner: Any) -> celpy.celtypes.BoolType:
    # cidr.Overlaps(other) && cidr.Bits() <= other.Bits(): other lies inside cidr (same family).
    other = _as_cidr(inner)
    same_family = outer.network.version == other.network.version
    return celpy.celtypes.BoolType(
        same_family and outer.bits <= other.bits and other.network.subnet_of(outer.network)  # type: ignore[arg-type]
    )


# The subset of the Kubernetes CEL libraries the rules use: quantity, and the CIDR library.
_K8S_FUNCTIONS = {
    "quantity": lambda s: celpy.celtypes.DoubleType(quantity_value(str(s))),
    "compareTo": lambda a, b: celpy.celtypes.IntType((a > b) - (a < b)),
    "isCIDR": _is_cidr,
    "cidr": lambda s: parse_cidr(str(s)),
    "containsCIDR": _contains_cidr,
    "prefixLength": lambda c: celpy.celtypes.IntType(_as_cidr(c).bits),
    "masked": lambda c: Cidr(_as_cidr(c).network.network_address, _as_cidr(c).bits),
}


_compile_lock = threading.Lock()


@functools.cache
def _compiled(rule: str) -> Any:
    env = celpy.Environment()
    return env.program(env.compile(rule), functions=_K8S_FUNCTIONS)


def _program(rule: str) -> Any:
    # The operator validates from several threads; without the lock, threads
    # racing on a first use would each compile the same program (slow, and
    # tens of MiB that functools.cache then throws away).
    with _compile_lock:
        return _compiled(rule)


def _eval(rule: dict[str, Any], activation: dict[str, Any]) -> bool | None:
    """The rule's verdict, or None when it cannot be evaluated."""
    try:
        result = _program(rule["rule"]).evaluate(activation)
    except (celpy.CELEvalError, ValueError, TypeError, KeyError):
        # A missing or mistyped field, or a quantity the schema refuses too.
        return None
    if isinstance(result, celpy.CELEvalError):
        return None
    return bool(result)


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


def _apply_defaults(schema: dict[str, Any], value: Any) -> None:
    """Structural defaulting as the API server does it, in place: every missing field
    with a default gets it, outside in (a defaulted object gets its fields' defaults)."""
    if isinstance(value, dict):
        props = schema.get("properties")
        if props is not None:
            for key, sub in props.items():
                if key not in value and "default" in sub:
                    value[key] = copy.deepcopy(sub["default"])
                if key in value:
                    _apply_defaults(sub, value[key])
        elif isinstance(schema.get("additionalProperties"), dict):
            for item in value.values():
                _apply_defaults(schema["additionalProperties"], item)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            _apply_defaults(schema["items"], item)


def _cel_errors(schema: dict[str, Any], value: Any, path: str, typed: bool) -> Iterator[str]:
    """A message for every CEL rule of the schema broken by ``value`` (defaulted), at
    ``path`` and below: the API server's walk. ``typed`` says the value passed the
    schema, so a rule that cannot be evaluated is a bug here; otherwise (a value the
    schema refuses too, such as a malformed quantity) it is reported against the
    rule, as the API server does."""
    rules = schema.get("x-kubernetes-validations") or ()
    if rules and isinstance(value, dict):
        activation = {"self": celpy.json_to_cel(value)}
        for rule in rules:
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
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                yield from _cel_errors(sub, value[key], f"{path}.{key}", typed)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and "properties" not in schema:
            for key, item in value.items():
                yield from _cel_errors(extra, item, f"{path}[{key}]", typed)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            yield from _cel_errors(schema["items"], item, f"{path}[{i}]", typed)


def cel_errors(spec: Any, typed: bool = True) -> list[str]:
    """Every CEL rule of the CRD that ``spec`` (as sent, before defaulting) breaks."""
    value = copy.deepcopy(spec)
    schema = _spec_schema()
    _apply_defaults(schema, value)
    return list(_cel_errors(schema, value, "spec", typed))


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
            errors += cel_errors(doc["spec"], typed=app is not None)
    if app is not None and not errors and pod_security:
        errors += pod_security_errors(app)
    if errors or app is None:
        raise InvalidWsgiApp(name, errors or ["spec: missing or not a mapping"])
    return app


@functools.cache
def _warning_programs() -> tuple[tuple[Any, str], ...]:
    # Imported here: warnings_policy imports crd, which imports the models.
    from .warnings_policy import warning_rules

    return tuple((_program(w.expression), w.message) for w in warning_rules())


def policy_warnings(obj: dict[str, Any], namespace: str = "default") -> list[str]:
    """The warnings the API server gives when it admits ``obj`` (a manifest that
    ``validate`` accepts), in the policy's order: ``<field>: <message>`` each.

    They are the expressions of the warnings policy, evaluated on the object as
    the policy sees it: JSON values, null fields pruned, the CRD's defaults
    applied, and ``metadata.namespace`` set to ``namespace`` when the manifest
    has none (as ``kubectl apply -n`` does; kubectl's default is "default").
    """
    doc = _as_json(obj)
    metadata = doc.setdefault("metadata", {})
    if not metadata.get("namespace"):
        metadata["namespace"] = namespace
    _prune_nulls(_spec_schema(), doc.get("spec"))
    _apply_defaults(_spec_schema(), doc.get("spec"))
    activation = {"object": celpy.json_to_cel(doc)}
    out = []
    for program, message in _warning_programs():
        try:
            verdict = program.evaluate(activation)
        except (celpy.CELEvalError, ValueError, TypeError, KeyError) as err:
            raise RuntimeError(f"warning {message!r} failed to evaluate: {err}") from err
        if isinstance(verdict, celpy.CELEvalError):
            raise RuntimeError(f"warning {message!r} failed to evaluate: {verdict}")
        if not bool(verdict):
            out.append(message)
    return out
