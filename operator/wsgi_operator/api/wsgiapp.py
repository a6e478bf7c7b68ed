"""The WsgiApp resource: spec, status and the object itself."""

from __future__ import annotations

import datetime
import json
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from .annotations import (
    MAX_ANNOTATIONS,
    POD_ANNOTATIONS,
    SERVICE_ACCOUNT_ANNOTATIONS,
    annotation_rules,
    pod_label_rules,
)
from .app import TEMP_DIR, CodeSource, EntryPoint, Release, TempDir, UrlAlias, WritableDir
from .base import (
    DNS_1035,
    IMAGE_DIGEST,
    AbsPath,
    Annotations,
    ApiModel,
    ImageRef,
    LabelMap,
    Name,
    Rule,
    under,
)
from .conditions import MESSAGE_LIMIT, ConditionType, ReleaseState
from .environment import EnvFromSource, EnvName, EnvVarSource
from .network import HttpRouteSpec, IngressSpec, NetworkPolicySpec, ServiceSpec
from .scaling import AutoscalingSpec, DisruptionBudgetSpec
from .scheduling import TOPOLOGY_SPREAD_UNIQUE, Affinity, Toleration, TopologySpreadConstraint
from .security import DEBUG_ENV_NAMES, SecuritySpec
from .selectors import label_map_rules
from .server import ErrorPages, Limits, Logging, ServerSpec, Timeouts
from .workload import Probes, Resources

_DEBUG_NAMES = "[" + ", ".join(f"'{n}'" for n in DEBUG_ENV_NAMES) + "]"
#: Values every framework in DEBUG_ENV_NAMES reads as "off". Flask's
#: get_debug_flag treats anything but "", 0, false and no (any case) as on,
#: so "off" is not here. WERKZEUG_DEBUG_PIN is refused whatever its value:
#: "off" there disables the debugger's PIN.
_DEBUG_OFF = "['', '0', 'false', 'False', 'FALSE', 'no', 'No', 'NO']"


class EnvVar(ApiModel):
    """A container environment variable (Kubernetes EnvVar)."""

    name: EnvName = Field(description="Variable name.")
    value: Annotated[str, StringConstraints(max_length=32768)] | None = Field(None, description="Literal value.")
    value_from: EnvVarSource | None = Field(
        None, description="Where the value comes from: a ConfigMap or Secret key, a pod field or a resource."
    )


class WsgiAppSpec(ApiModel):
    """Desired state of one WSGI application component."""

    image: ImageRef = Field(
        description="Image with the app, built FROM the wsgi-operator runtime image "
        "(mod_wsgi-express on PATH). Pin it by digest in production."
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent", description="Container imagePullPolicy."
    )
    image_pull_secrets: list[Name] = Field(default_factory=list, max_length=8, description="Pull secret names.")
    entry_point: EntryPoint = Field(description="The WSGI callable.")
    code: CodeSource = Field(default_factory=CodeSource, description="Where the code comes from; always read-only.")
    working_directory: AbsPath | None = Field(
        None, description="--working-directory of the daemon (the guide's home=). Defaults to code.path."
    )
    replicas: int = Field(2, ge=0, le=1000, description="Pod count (ignored when autoscaling is set).")
    server: ServerSpec = Field(default_factory=ServerSpec, description="Processes, threads and port.")
    timeouts: Timeouts = Field(default_factory=Timeouts, description="mod_wsgi-express timeouts.")
    limits: Limits = Field(default_factory=Limits, description="Recycling triggers and request limits.")
    security: SecuritySpec = Field(default_factory=SecuritySpec, description="Identity and trust.")
    writable_dirs: list[WritableDir] = Field(
        default_factory=list, max_length=16, description="The only writable directories (emptyDirs or PVCs)."
    )
    temp_dir: TempDir = Field(
        default_factory=TempDir, description=f"The pod's private temporary directory ({TEMP_DIR}, TMPDIR)."
    )
    url_aliases: list[UrlAlias] = Field(
        default_factory=list,
        max_length=16,
        description="URL paths Apache serves from directories (static files, media), never reaching the app.",
    )
    release: Release | None = Field(
        None,
        description="A release step (migrations) run as a Job from the new image before the Deployment "
        "rolls to it; the running version keeps serving until it succeeds.",
    )
    env: list[EnvVar] = Field(default_factory=list, max_length=256, description="Container environment.")
    env_from: list[EnvFromSource] = Field(
        default_factory=list, max_length=32, description="Every key of ConfigMaps and Secrets, as variables."
    )
    resources: Resources = Field(default_factory=Resources, description="Requests and limits.")
    probes: Probes = Field(default_factory=Probes, description="Liveness, readiness and startup probes.")
    pod_labels: LabelMap = Field(
        default_factory=dict,
        max_length=MAX_ANNOTATIONS,
        description="Extra pod labels (at most 64). Refused: the labels the operator sets (wsgi-operator.io/*, "
        "app.kubernetes.io/name, component, managed-by, part-of).",
    )
    pod_annotations: Annotations = Field(
        default_factory=dict,
        description="Extra pod annotations (at most 64). Refused: the operator's and kubectl's keys, AppArmor "
        "and seccomp annotations, container runtime and mesh injection overrides (docs/hardening.md).",
    )
    node_selector: LabelMap = Field(
        default_factory=dict, max_length=MAX_ANNOTATIONS, description="Pod nodeSelector: node labels the pods need."
    )
    tolerations: list[Toleration] = Field(
        default_factory=list, max_length=32, description="Pod tolerations: the node taints the pods tolerate."
    )
    affinity: Affinity | None = Field(None, description="Pod affinity: node affinity, pod (anti-)affinity.")
    topology_spread_constraints: list[TopologySpreadConstraint] = Field(
        default_factory=list, max_length=8, description="Pod topologySpreadConstraints: how the pods spread."
    )
    priority_class_name: Name | None = Field(
        None, description="Pod priorityClassName; not a system- class (those are for cluster components)."
    )
    service_account_annotations: Annotations = Field(
        default_factory=dict,
        description="Annotations of the app's own ServiceAccount (e.g. workload identity; at most 64). "
        "Refused: the operator's and kubectl's keys.",
    )
    service: ServiceSpec = Field(default_factory=ServiceSpec, description="The ClusterIP Service.")
    ingress: IngressSpec | None = Field(None, description="Expose through an Ingress.")
    http_route: HttpRouteSpec | None = Field(None, description="Expose through a Gateway API HTTPRoute.")
    network_policy: NetworkPolicySpec = Field(
        default_factory=NetworkPolicySpec, description="Who may talk to the pods, and to whom they may talk."
    )
    autoscaling: AutoscalingSpec | None = Field(None, description="A HorizontalPodAutoscaler.")
    disruption_budget: DisruptionBudgetSpec = Field(
        default_factory=DisruptionBudgetSpec, description="A PodDisruptionBudget."
    )
    logging: Logging = Field(default_factory=Logging, description="Log level and access log.")
    error_pages: ErrorPages = Field(default_factory=ErrorPages, description="Fixed error pages.")

    cel_rules = (
        Rule(
            "self.writableDirs.all(d, d.mountPath != self.code.path"
            " && !d.mountPath.startsWith(self.code.path + '/')"
            " && !self.code.path.startsWith(d.mountPath + '/'))",
            "spec.writableDirs[].mountPath must be outside spec.code.path (code stays read-only) "
            "and must not contain it",
            ".writableDirs",
        ),
        Rule(
            "self.writableDirs.all(a, self.writableDirs.all(b, a.name == b.name"
            " || (a.mountPath != b.mountPath && !a.mountPath.startsWith(b.mountPath + '/'))))",
            "spec.writableDirs[].mountPath must not be equal to or nested in another writable directory",
            ".writableDirs",
        ),
        Rule(
            "self.writableDirs.all(a, self.writableDirs.exists_one(b, b.name == a.name))",
            "spec.writableDirs[].name must be unique",
            ".writableDirs",
        ),
        Rule(
            f"!has(self.workingDirectory) || !({under('self.workingDirectory', '/tmp')}"
            f" || {under('self.workingDirectory', TEMP_DIR)})",
            f"spec.workingDirectory must not be under /tmp or {TEMP_DIR}",
            ".workingDirectory",
        ),
        Rule(
            "self.env.all(e, e.name != 'TMPDIR')",
            f"spec.env must not set TMPDIR: the operator points it at the pod's private {TEMP_DIR} "
            "(size it with spec.tempDir)",
            ".env",
        ),
        Rule(
            "self.urlAliases.all(a, !has(a.writableDir) || self.writableDirs.exists(d, d.name == a.writableDir))",
            "spec.urlAliases[].writableDir must name an entry of spec.writableDirs",
            ".urlAliases",
        ),
        Rule(
            "self.urlAliases.all(a, !has(a.directory) || "
            f"a.directory.startsWith(self.code.path + '/') || {under('a.directory', '/srv')}"
            f" || {under('a.directory', '/var/www')})",
            "spec.urlAliases[].directory must be a subdirectory of spec.code.path (e.g. /app/staticfiles), or "
            "under /srv or /var/www: never the code path itself or a parent of it",
            ".urlAliases",
        ),
        Rule(
            "self.urlAliases.all(a, !has(a.directory) || self.writableDirs.all(d, "
            "a.directory != d.mountPath && !a.directory.startsWith(d.mountPath + '/')"
            " && !d.mountPath.startsWith(a.directory + '/')))",
            "spec.urlAliases[].directory must not be or contain a writable directory: serve one with writableDir",
            ".urlAliases",
        ),
        Rule(
            "self.urlAliases.all(a, self.urlAliases.exists_one(b, b.path == a.path))",
            "spec.urlAliases[].path must be unique",
            ".urlAliases",
        ),
        Rule(
            "self.urlAliases.all(a, self.probes.path != a.path && !self.probes.path.startsWith(a.path + '/'))",
            "spec.probes.path must not be under a spec.urlAliases[].path: the probes must reach the app",
            ".probes.path",
        ),
        Rule(
            "self.security.allowDebugEnv || self.env.all(e, !(e.name in " + _DEBUG_NAMES + ")"
            " || (e.name != 'WERKZEUG_DEBUG_PIN' && has(e.value) && e.value in " + _DEBUG_OFF + "))",
            "spec.env turns on a framework debug switch (" + ", ".join(DEBUG_ENV_NAMES) + "): debug "
            "pages leak source and secrets; remove it or set spec.security.allowDebugEnv: true",
            ".env",
        ),
        Rule(
            "self.env.all(e, !has(e.value) || !has(e.valueFrom))",
            "spec.env[]: set value or valueFrom, not both",
            ".env",
        ),
        Rule(
            "!has(self.priorityClassName) || !self.priorityClassName.startsWith('system-')",
            "spec.priorityClassName must not be a system- class (system-cluster-critical, system-node-critical): "
            "they are reserved for cluster components, which the app's pods would preempt",
            ".priorityClassName",
        ),
        # --- allowed but risky: warnings (docs/hardening.md, "Allowed but risky") ---
        Rule.warning(
            f"self.image.matches('{IMAGE_DIGEST}') || self.imagePullPolicy == 'Always'",
            "not pinned by a digest (@sha256: and 64 hex digits) and imagePullPolicy is not Always: nodes keep "
            "whatever they pulled under a tag, so pods may run different or stale code; pin the digest or pull Always",
            ".image",
        ),
        Rule.warning(
            "self.env.all(e, !has(e.valueFrom) || !has(e.valueFrom.secretKeyRef))",
            "a Secret in an environment variable (valueFrom.secretKeyRef) is inherited by every child process and "
            "shows in /proc/<pid>/environ, crash reports and debug pages; a Secret mounted as a file shows nowhere",
            ".env",
        ),
        Rule.warning(
            "self.envFrom.all(s, !has(s.secretRef))",
            "every key of a Secret in the environment (secretRef) is inherited by every child process and shows "
            "in /proc/<pid>/environ, crash reports and debug pages; a Secret mounted as a file shows nowhere",
            ".envFrom",
        ),
        *annotation_rules("podAnnotations", "spec.podAnnotations", POD_ANNOTATIONS),
        *annotation_rules("serviceAccountAnnotations", "spec.serviceAccountAnnotations", SERVICE_ACCOUNT_ANNOTATIONS),
        *pod_label_rules("podLabels", "spec.podLabels"),
        *label_map_rules("podLabels"),
        *label_map_rules("nodeSelector"),
        TOPOLOGY_SPREAD_UNIQUE,
    )


_READY, _RECONCILED, _AVAILABLE = ConditionType


class Condition(ApiModel):
    """A standard Kubernetes condition (metav1.Condition)."""

    type: str = Field(max_length=316, description=f"{_READY}, {_RECONCILED} or {_AVAILABLE}.")
    status: Literal["True", "False", "Unknown"]
    observed_generation: int | None = Field(None, ge=0, description="Generation this condition describes.")
    last_transition_time: str = Field(description="When status last changed (RFC 3339).")
    reason: str = Field(max_length=1024, description="CamelCase reason.")
    message: str = Field("", max_length=MESSAGE_LIMIT, description="Human readable detail.")


class ReleaseStatus(ApiModel):
    """Where the release step of the current spec stands."""

    job: str = Field(max_length=63, description="The release Job of the current spec.")
    state: ReleaseState = Field(description="Running, Succeeded or Failed.")
    message: str = Field("", max_length=MESSAGE_LIMIT, description="Why it failed, with its last log lines.")
    succeeded_job: str | None = Field(
        None, max_length=63, description="The last release Job that succeeded: the version the pods may run."
    )


class WsgiAppStatus(ApiModel):
    """Observed state, written by the operator."""

    observed_generation: int | None = Field(None, description="Last spec generation acted on.")
    conditions: list[Condition] = Field(default_factory=list, description=f"{_READY}, {_RECONCILED}, {_AVAILABLE}.")
    replicas: int | None = Field(None, description="Pods of the current Deployment.")
    ready_replicas: int | None = Field(None, description="Ready pods.")
    selector: str | None = Field(None, description="Label selector of the pods (scale subresource).")
    url: str | None = Field(None, description="Where the app is served.")
    release: ReleaseStatus | None = Field(None, description="The release step, when spec.release is set.")


class Metadata(ApiModel):
    """The part of ObjectMeta the renderer reads."""

    model_config = ApiModel.model_config | {"extra": "ignore"}

    # A DNS-1035 label of at most 52 characters: the Service takes the name as
    # is, and the ConfigMaps add "-config".
    name: Annotated[str, StringConstraints(pattern=DNS_1035, max_length=52)]
    namespace: Name = "default"
    uid: str | None = None
    generation: int | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


def _yaml_scalar(value: Any) -> str:
    """A YAML timestamp as kubectl sends it (sigs.k8s.io/yaml turns it into an RFC 3339 string)."""
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a JSON value")


class WsgiApp(ApiModel):
    """A WsgiApp as read from a manifest or the API server."""

    model_config = ApiModel.model_config | {"extra": "ignore"}

    api_version: str
    kind: Literal["WsgiApp"]
    metadata: Metadata
    spec: WsgiAppSpec
    status: WsgiAppStatus | None = None

    # Rules on the whole object see its metadata, which a CRD rule cannot (only
    # name and generateName): they can only be warnings (warnings_policy.py).
    cel_rules = (
        Rule.warning(
            "!has(self.metadata.namespace) || self.metadata.namespace != 'default'",
            "the default namespace is where anything applied without -n lands too, usually with no Pod Security "
            "level, quota or policy of its own; give the app a namespace",
            ".metadata.namespace",
        ),
    )

    @classmethod
    def parse(cls, obj: dict[str, Any]) -> WsgiApp:
        """Validate a manifest dict (types, ranges, patterns; CEL rules are separate)."""
        # Strict, in JSON mode: JSON types exactly as the API server reads
        # them. Lax mode would turn "3" into 3 and "false"/"yes" into
        # booleans the API server refuses, and change what the rendered
        # objects mean (a quoted "false" would drop the NetworkPolicy).
        return cls.model_validate_json(json.dumps(obj, default=_yaml_scalar), strict=True)
