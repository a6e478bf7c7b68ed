"""Where environment values come from: Kubernetes' EnvVarSource and EnvFromSource, typed.

``env[].valueFrom`` and ``envFrom[]`` used to be free-form objects the CRD kept as
is. The models below mirror core/v1 EnvVarSource and EnvFromSource at Kubernetes
1.35 field for field, with the rules of ``validateEnvVarValueFrom`` and
``ValidateEnvFrom`` (k8s.io/kubernetes pkg/apis/core/validation) as CEL rules:
exactly one source each, ConfigMap and Secret names that are DNS subdomains,
keys that are ConfigMap keys, the downward API's field paths and resources.
Stricter, each saying why:

- ``fileKeyRef`` (beta in 1.35) is refused: it reads a file from an emptyDir
  volume of the pod that an init container filled, and the pods the operator
  renders have neither (their emptyDirs are the server's own);
- ``resourceFieldRef.containerName`` is refused: the same environment goes to
  the server's container and to the release Job's, which are named differently;
  left out, it is the container itself;
- ``resourceFieldRef.divisor`` is one of the values the API server lists
  (cpu: 1m or 1; the others: 1, 1k ... 1Ei, 1Ki ... 1Ei), written exactly so
  (the API server also takes other spellings of the same quantity);
- ``fieldRef.fieldPath`` ``spec.host`` (a pre-1.0 alias of spec.nodeName) is
  refused; ``fieldRef.apiVersion`` can only be v1 (the API server's only one);
- an ``envFrom`` prefix is an environment variable name as ``env[].name`` is.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .base import QUALIFIED_NAME, ApiModel, DnsSubdomain, Rule

#: An environment variable name (Kubernetes' IsEnvVarName): what env[].name and envFrom[].prefix may be.
ENV_NAME = r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"
EnvName = Annotated[str, StringConstraints(pattern=ENV_NAME, max_length=256)]
#: A key of a ConfigMap or Secret (IsConfigMapKey): not '.', '..' or anything starting with '..'.
ConfigMapKey = Annotated[str, StringConstraints(pattern=r"^\.?[-_a-zA-Z0-9][-._a-zA-Z0-9]*$", max_length=253)]

_QUALIFIED_BODY = QUALIFIED_NAME.removeprefix("^").removesuffix("$")
#: The same with any case in the prefix: the API server lowercases annotation keys before it checks them.
_ANNOTATION_BODY = _QUALIFIED_BODY.replace("[a-z0-9]", "[A-Za-z0-9]").replace("[-a-z0-9]", "[-A-Za-z0-9]")
#: The downward API fields an environment variable may read (validEnvDownwardAPIFieldPathExpressions),
#: and one label or annotation.
FIELD_PATH = (
    r"^(metadata\.(name|namespace|uid)|spec\.(nodeName|serviceAccountName)|status\.(hostIP|hostIPs|podIP|podIPs)"
    rf"|metadata\.labels\['{_QUALIFIED_BODY}'\]|metadata\.annotations\['{_ANNOTATION_BODY}'\])$"
)
_CPU_DIVISORS = ("1m", "1")
_SIZE_DIVISORS = ("1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei")


def _cel_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


class ObjectFieldSelector(ApiModel):
    """A field of the pod (downward API)."""

    api_version: Literal["v1"] | None = Field(None, description="Schema version of fieldPath: v1 (the default).")
    field_path: Annotated[str, StringConstraints(pattern=FIELD_PATH, max_length=400)] = Field(
        description="metadata.name, metadata.namespace, metadata.uid, metadata.labels['<key>'], "
        "metadata.annotations['<key>'], spec.nodeName, spec.serviceAccountName, status.hostIP(s) or status.podIP(s)."
    )

    cel_rules = (
        Rule(
            "!self.fieldPath.contains('/') || self.fieldPath.matches(\"^[^/]*[[]'[^/]{1,253}/[^/]*$\")",
            "the label or annotation key's prefix must be a DNS subdomain of at most 253 characters",
            ".fieldPath",
        ),
    )


class ResourceFieldSelector(ApiModel):
    """A request or limit of the container (downward API)."""

    container_name: Annotated[str, StringConstraints(max_length=63)] | None = Field(
        None,
        description="Refused: the environment goes to the server's and the release Job's containers alike; "
        "left out, it is the container itself.",
    )
    resource: Annotated[
        str,
        StringConstraints(
            pattern=r"^(limits|requests)\.(cpu|memory|ephemeral-storage|hugepages-[A-Za-z0-9.]+)$", max_length=63
        ),
    ] = Field(description="limits.cpu, requests.memory, limits.ephemeral-storage, requests.hugepages-2Mi, ...")
    divisor: Annotated[str, StringConstraints(max_length=8)] | None = Field(
        None, description="Unit of the value: 1m or 1 for cpu; 1, 1k, 1M ... 1E, 1Ki ... 1Ei for the others."
    )

    cel_rules = (
        Rule(
            "!has(self.containerName) || self.containerName == ''",
            "must not be set: the environment goes to the server's and the release Job's containers alike, "
            "which are named differently; left out, it is the container itself",
            ".containerName",
        ),
        Rule(
            "!has(self.divisor) || (self.resource.endsWith('.cpu') ? self.divisor in "
            + _cel_list(_CPU_DIVISORS)
            + " : self.divisor in "
            + _cel_list(_SIZE_DIVISORS)
            + ")",
            "must be 1m or 1 for cpu, and one of " + ", ".join(_SIZE_DIVISORS) + " for the other resources",
            ".divisor",
        ),
    )


class ConfigMapKeySelector(ApiModel):
    """One key of a ConfigMap in the WsgiApp's namespace."""

    name: DnsSubdomain = Field(description="Name of the ConfigMap.")
    key: ConfigMapKey = Field(description="The key.")
    optional: bool | None = Field(None, description="Start without it when the ConfigMap or key is missing.")


class SecretKeySelector(ApiModel):
    """One key of a Secret in the WsgiApp's namespace."""

    name: DnsSubdomain = Field(description="Name of the Secret.")
    key: ConfigMapKey = Field(description="The key.")
    optional: bool | None = Field(None, description="Start without it when the Secret or key is missing.")


class FileKeySelector(ApiModel):
    """Refused: a key of an env file in an emptyDir volume (the pods have none to offer)."""

    volume_name: Annotated[str, StringConstraints(max_length=63)] | None = Field(None, description="Volume name.")
    path: Annotated[str, StringConstraints(max_length=4096)] | None = Field(None, description="File path.")
    key: Annotated[str, StringConstraints(max_length=256)] | None = Field(None, description="The key.")
    optional: bool | None = Field(None, description="Start without it when the file or key is missing.")


class EnvVarSource(ApiModel):
    """Where a variable's value comes from: exactly one of fieldRef, resourceFieldRef, configMapKeyRef
    or secretKeyRef."""

    field_ref: ObjectFieldSelector | None = Field(None, description="A field of the pod (downward API).")
    resource_field_ref: ResourceFieldSelector | None = Field(
        None, description="A request or limit of the container (downward API)."
    )
    config_map_key_ref: ConfigMapKeySelector | None = Field(None, description="A key of a ConfigMap.")
    secret_key_ref: SecretKeySelector | None = Field(None, description="A key of a Secret.")
    file_key_ref: FileKeySelector | None = Field(
        None, description="Refused: the pods have no emptyDir volume with env files for it to read."
    )

    cel_rules = (
        Rule(
            "(has(self.fieldRef) ? 1 : 0) + (has(self.resourceFieldRef) ? 1 : 0) + (has(self.configMapKeyRef) ? 1 : 0)"
            " + (has(self.secretKeyRef) ? 1 : 0) + (has(self.fileKeyRef) ? 1 : 0) == 1",
            "set exactly one of fieldRef, resourceFieldRef, configMapKeyRef or secretKeyRef",
        ),
        Rule(
            "!has(self.fileKeyRef)",
            "must not be set: it reads an env file from an emptyDir volume that an init container filled, and "
            "the app's pods have neither; use configMapKeyRef or secretKeyRef",
            ".fileKeyRef",
        ),
    )


class ConfigMapEnvSource(ApiModel):
    """Every key of a ConfigMap, as variables."""

    name: DnsSubdomain = Field(description="Name of the ConfigMap.")
    optional: bool | None = Field(None, description="Start without it when the ConfigMap is missing.")


class SecretEnvSource(ApiModel):
    """Every key of a Secret, as variables."""

    name: DnsSubdomain = Field(description="Name of the Secret.")
    optional: bool | None = Field(None, description="Start without it when the Secret is missing.")


class EnvFromSource(ApiModel):
    """A Kubernetes EnvFromSource (core/v1): every key of one ConfigMap or Secret, as variables."""

    prefix: EnvName | None = Field(None, description="Put in front of every key (an environment variable name).")
    config_map_ref: ConfigMapEnvSource | None = Field(None, description="The ConfigMap.")
    secret_ref: SecretEnvSource | None = Field(None, description="The Secret.")

    cel_rules = (
        Rule(
            "has(self.configMapRef) != has(self.secretRef)",
            "set exactly one of configMapRef or secretRef",
        ),
    )
