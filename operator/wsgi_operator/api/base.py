"""Shared pieces of the WsgiApp API: the model base class and CEL rules.

Cross-field rules are written once, as CEL, on the model they constrain, each
either an error or a warning. The CRD generator emits the errors as
``x-kubernetes-validations`` (so the API server refuses what breaks them); the
warnings become the validations of a ValidatingAdmissionPolicy bound with
``validationActions: [Warn]`` (``warnings_policy.py``), so the API server admits the
object and ``kubectl apply`` prints a ``Warning:`` line.
``wsgi_operator.api.validation`` evaluates the very same expressions offline
for ``wsgi-operator validate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema
from pydantic.alias_generators import to_camel


def under(expr: str, directory: str) -> str:
    """CEL: the path ``expr`` is ``directory`` or inside it (not merely sharing a prefix)."""
    return f"({expr} == '{directory}' || {expr}.startsWith('{directory}/'))"


class Severity(StrEnum):
    """What breaking a rule means: the object is refused, or admitted with a warning."""

    ERROR = "error"
    WARNING = "warning"


#: The key under which a model's JSON schema carries its warning rules. Not a
#: Kubernetes keyword: the CRD generator moves them out of the CRD into the
#: warnings policy (warnings_policy.py).
WARNINGS_KEY = "x-wsgi-operator-warnings"


@dataclass(frozen=True)
class Rule:
    """One CEL rule on a model: ``rule`` must hold for ``self`` (the model's object).

    ``field_path`` is relative to the model (``.security.trustedProxyHeaders``) and
    is what the API server reports as the failing field, so messages point at the
    field the user has to change.

    ``severity`` ERROR (the default): a CRD validation rule, the API server
    refuses the object. WARNING: allowed but risky; a validation of the
    warnings policy, the API server admits the object with a ``Warning:``.
    A warning's message says what is risky and what to do instead; the field
    (the model's path plus ``field_path``) is put in front of it.
    """

    rule: str
    message: str
    field_path: str = ""
    severity: Severity = Severity.ERROR

    @classmethod
    def warning(cls, rule: str, message: str, field_path: str = "") -> Rule:
        """A rule that warns instead of refusing."""
        return cls(rule, message, field_path, Severity.WARNING)

    def as_schema(self) -> dict[str, str]:
        """The rule as a CRD ``x-kubernetes-validations`` entry."""
        return {
            "rule": self.rule,
            "message": self.message,
            **({"fieldPath": self.field_path} if self.field_path else {}),
        }


class ApiModel(BaseModel):
    """Base of every API model: camelCase on the wire, unknown fields rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )

    #: Cross-field rules, errors and warnings, checked by the API server and by ``validate``.
    cel_rules: ClassVar[tuple[Rule, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.model_config["json_schema_extra"] = _schema_extra


def _schema_extra(schema: dict[str, Any], cls: type[ApiModel]) -> None:
    """Add what pydantic leaves out of a model's JSON schema and a CRD needs:
    factory defaults (so the API server defaults nested objects and CEL sees
    empty lists instead of missing keys) and the model's CEL rules: the errors
    as ``x-kubernetes-validations``, the warnings under ``WARNINGS_KEY``."""
    props = schema.get("properties", {})
    for name, field in cls.model_fields.items():
        alias = field.alias or name
        if field.default_factory is None or alias not in props:
            continue
        value = field.default_factory()  # type: ignore[call-arg]
        # The full object, not {}: the API server checks CEL rules against a
        # default as written, before nested defaults would fill it in.
        props[alias]["default"] = _jsonable(value)
    errors = [r.as_schema() for r in cls.cel_rules if r.severity is Severity.ERROR]
    warnings = [r.as_schema() for r in cls.cel_rules if r.severity is Severity.WARNING]
    if errors:
        schema["x-kubernetes-validations"] = errors
    if warnings:
        schema[WARNINGS_KEY] = warnings


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, exclude_none=True, mode="json")
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


# Strings end up in mod_wsgi-express arguments or Apache configuration, where a
# `$` is expanded and quotes or whitespace would break the generated file: the
# patterns below keep them to characters that are inert in both places.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_1035 = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
# Absolute, normalised: no '.', '..' or empty segments and no trailing slash,
# so the prefix rules below cannot be walked around.
ABS_PATH = r"^(/[A-Za-z0-9_-][A-Za-z0-9._-]*)+$"
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
PY_DOTTED = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
PY_IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"
HEADER_NAME = r"^[A-Za-z0-9-]+$"
CIDR = (
    rf"^({_OCTET}(\.{_OCTET}){{3}}(/([0-9]|[12][0-9]|3[0-2]))?"
    r"|[0-9a-fA-F:]+:[0-9a-fA-F:]*(/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8]))?)$"
)
_IPV4 = rf"{_OCTET}(\.{_OCTET}){{3}}"
_HEXTET = "[0-9a-fA-F]{1,4}"
#: An IPv6 address in hex groups, with at most one "::" (RFC 4291 2.2 forms 1 and 2;
#: no embedded dotted IPv4 and no zone).
_IPV6 = (
    f"(({_HEXTET}:){{7}}{_HEXTET}"
    f"|({_HEXTET}:){{1,7}}:"
    f"|({_HEXTET}:){{1,6}}:{_HEXTET}"
    f"|({_HEXTET}:){{1,5}}(:{_HEXTET}){{1,2}}"
    f"|({_HEXTET}:){{1,4}}(:{_HEXTET}){{1,3}}"
    f"|({_HEXTET}:){{1,3}}(:{_HEXTET}){{1,4}}"
    f"|({_HEXTET}:){{1,2}}(:{_HEXTET}){{1,5}}"
    f"|{_HEXTET}:(:{_HEXTET}){{1,6}}"
    f"|:((:{_HEXTET}){{1,7}}|:))"
)
#: A CIDR as the NetworkPolicy (and the Kubernetes CEL library's ``cidr()``) reads it: an
#: IPv4 or IPv6 address and a prefix length, both without leading zeros. Stricter than
#: the NetworkPolicy's legacy parser: no IPv4 octets with leading zeros (ambiguous: octal
#: to some tools) and no IPv4-mapped or -embedded IPv6 (write the IPv4 range).
NETWORK_CIDR = rf"^({_IPV4}/(3[0-2]|[12]?[0-9])|{_IPV6}/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))$"
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
#: Kubernetes' qualified name (label keys, annotation keys, topology keys): an optional
#: DNS-subdomain prefix and '/', then a name of at most 63 characters. The prefix's own
#: bound (253 characters) is a CEL rule (``selectors.qualified_name``): a pattern cannot
#: count it.
QUALIFIED_NAME = (
    "^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    "[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
LABEL_KEY = QUALIFIED_NAME
#: A DNS-1123 subdomain (object names of ConfigMaps, Secrets, nodes): at most 253 characters.
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$"
HOSTNAME = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# The OCI distribution reference grammar (github.com/distribution/reference): an
# optional registry host (domain components or a bracketed IPv6 address) and port,
# lowercase path components joined by '.', '_', '__' or dashes, an optional tag and
# an optional sha256 or sha512 digest of its exact length. RE2 and Rust-regex
# compatible (no \w: it is Unicode in Rust).
_DOMAIN_COMPONENT = "([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_REGISTRY = rf"({_DOMAIN_COMPONENT}(\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(:[0-9]+)?"
_PATH_COMPONENT = "[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*"
_IMAGE_TAG = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_IMAGE_DIGEST = "@(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})"
IMAGE_REF = rf"^({_REGISTRY}/)?{_PATH_COMPONENT}(/{_PATH_COMPONENT})*(:{_IMAGE_TAG})?({_IMAGE_DIGEST})?$"
#: An image reference that ends in a digest (for RE2 and Python's re alike).
IMAGE_DIGEST = "@sha(256:[a-f0-9]{64}|512:[a-f0-9]{128})$"

Name = Annotated[str, StringConstraints(pattern=DNS_LABEL, max_length=63)]
#: Labels (pod labels, nodeSelector, matchLabels). A CRD cannot constrain map keys: the
#: model holding the map checks them with ``selectors.label_map_rules``.
LabelMap = dict[
    Annotated[str, StringConstraints(pattern=LABEL_KEY, max_length=317)],
    Annotated[str, StringConstraints(pattern=LABEL_VALUE, max_length=63)],
]
AbsPath = Annotated[str, StringConstraints(pattern=ABS_PATH, max_length=200)]
Quantity = Annotated[str, StringConstraints(pattern=QUANTITY, max_length=32)]
Cidr = Annotated[str, StringConstraints(pattern=CIDR, max_length=64)]
HeaderName = Annotated[str, StringConstraints(pattern=HEADER_NAME, max_length=64)]
Hostname = Annotated[str, StringConstraints(pattern=HOSTNAME, max_length=253)]
ImageRef = Annotated[str, StringConstraints(pattern=IMAGE_REF, min_length=1, max_length=512)]
Seconds = Annotated[int, Field(ge=0, le=86400)]

#: A CIDR of a NetworkPolicy ipBlock (the longest: an IPv6 address of 39 characters and /128).
NetworkCidr = Annotated[str, StringConstraints(pattern=NETWORK_CIDR, max_length=43)]
DnsSubdomain = Annotated[str, StringConstraints(pattern=DNS_SUBDOMAIN, max_length=253)]
#: A label key (its prefix's length is checked by ``selectors.qualified_name``).
QualifiedName = Annotated[str, StringConstraints(pattern=QUALIFIED_NAME, max_length=317)]
LabelValue = Annotated[str, StringConstraints(pattern=LABEL_VALUE, max_length=63)]
INT32_MAX = 2**31 - 1
#: Kubernetes' int64 fields: anything outside is refused when the JSON is read. The CRD says
#: ``format: int64`` (its integers are int64 anyway) rather than the bounds, which Helm's
#: toYaml would turn into floats.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1), WithJsonSchema({"type": "integer", "format": "int64"})]

#: Annotations passed through to a rendered object. The keys are checked by the
#: CEL rules of annotations.py on the model holding the map (qualified names,
#: and none of the refused classes), so the API server checks them too.
Annotations = Annotated[
    dict[Annotated[str, StringConstraints(max_length=317)], Annotated[str, StringConstraints(max_length=4096)]],
    Field(max_length=64),
]
