"""Every kind the operator touches, in one table, and what it may do with each.

``CHILD_KINDS`` lists the kinds the renderer produces, in apply order
(dependencies first), each with the ``render/`` function that builds it and
the verbs the operator needs on it. Everything else follows from it: the
renderer iterates it, the reconciler takes its API paths from it
(controller/apply.py), kopf watches its kinds (controller/handlers.py),
`wsgi-operator rbac` and the Helm chart's RBAC rules are generated from it
(rbac.py), and the tests and benchmark list children with it. Adding a kind
is one ``ChildKind`` line at its place in the apply order.

``REFERENCE_KINDS`` are the objects a spec may point at that the operator only
reads; ``PERMISSIONS`` the rest of what it needs (its own WsgiApps, Events,
pods it only reads, and what kopf reads in cluster-wide mode). There is deliberately no Secret
anywhere: the operator holds no permission to read Secrets, and a missing
Secret shows in the pods' status instead.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import GROUP, KIND, PLURAL, VERSION
from .api import WsgiApp
from .render import (
    RenderSettings,
    autoscaler,
    config_maps,
    deployment,
    disruption_budget,
    http_route,
    ingress,
    network_policies,
    release_job,
    service,
    service_account,
)

#: A ``render/`` function: ``build(app)`` or ``build(app, settings)``, returning
#: one object, a list of them, or None when the spec wants none.
Builder = Callable[..., dict[str, Any] | list[dict[str, Any]] | None]

#: What the reconciler does with a child: existence checks (get), kopf's
#: watches (list, watch), server-side apply (patch, and create when the object
#: does not exist yet), pruning (delete).
MANAGE = ("get", "list", "watch", "create", "patch", "delete")
#: Existence checks only, as metadata (never the data).
READ = ("get",)


@dataclass(frozen=True)
class Resource:
    """One namespaced API resource: where its objects live on the API server."""

    group: str
    version: str
    kind: str
    plural: str

    @property
    def api_version(self) -> str:
        """The ``apiVersion`` of its objects."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``plural.group`` (``deployments.apps``, ``configmaps``): kubectl's unambiguous name."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str, name: str | None = None, subresource: str | None = None) -> str:
        """URL path of the collection in ``namespace``, of one object, or of its subresource."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        path = f"{base}/namespaces/{namespace}/{self.plural}"
        if name:
            path += f"/{name}"
        if subresource:
            path += f"/{subresource}"
        return path


@dataclass(frozen=True)
class Permission:
    """One thing the operator may do: ``verbs`` on ``resource`` (``plural`` or ``plural/subresource``)."""

    group: str
    resource: str
    verbs: tuple[str, ...]
    #: Why it is needed (docs/operator.md, and a reviewer of the generated rules).
    why: str
    #: Needed only in cluster-wide mode, where kopf discovers resources
    #: (namespaced mode turns kopf's scanning off and needs nothing cluster-wide).
    clusterwide_only: bool = False


@dataclass(frozen=True)
class ChildKind:
    """A kind the renderer produces: its resource, its builder, the verbs the operator needs."""

    resource: Resource
    build: Builder
    verbs: tuple[str, ...] = MANAGE
    _takes_settings: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_takes_settings", len(inspect.signature(self.build).parameters) > 1)

    def objects(self, app: WsgiApp, settings: RenderSettings) -> list[dict[str, Any]]:
        """What the builder makes of ``app``: zero, one or more objects of this kind."""
        built = self.build(app, settings) if self._takes_settings else self.build(app)
        if built is None:
            return []
        return built if isinstance(built, list) else [built]

    @property
    def permission(self) -> Permission:
        return Permission(self.resource.group, self.resource.plural, self.verbs, f"renders {self.resource.kind}")


WSGIAPP = Resource(GROUP, VERSION, KIND, PLURAL)
DEPLOYMENT = Resource("apps", "v1", "Deployment", "deployments")
EVENT = Resource("", "v1", "Event", "events")
CONFIG_MAP = Resource("", "v1", "ConfigMap", "configmaps")
#: Never applied: listed to tell why a rollout is stuck, and a release pod's log is read.
POD = Resource("", "v1", "Pod", "pods")

#: Every kind the renderer can produce, in apply order (dependencies first).
CHILD_KINDS: tuple[ChildKind, ...] = (
    ChildKind(Resource("", "v1", "ServiceAccount", "serviceaccounts"), service_account),
    # The fence before anything that runs code: no pod of the app, nor of its
    # release Job, ever starts without its NetworkPolicy in place.
    ChildKind(Resource("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies"), network_policies),
    ChildKind(CONFIG_MAP, config_maps),
    ChildKind(Resource("", "v1", "Service", "services"), service),
    # Before the Deployment: the reconciler holds the server's pods back until it succeeds.
    ChildKind(Resource("batch", "v1", "Job", "jobs"), release_job),
    ChildKind(DEPLOYMENT, deployment),
    ChildKind(Resource("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets"), disruption_budget),
    ChildKind(Resource("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"), autoscaler),
    ChildKind(Resource("networking.k8s.io", "v1", "Ingress", "ingresses"), ingress),
    ChildKind(Resource("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes"), http_route),
)

#: Kinds a WsgiApp may reference and the operator reads (as metadata) to check
#: they exist: the code's ConfigMap or PVC, env ConfigMaps. Never Secrets.
REFERENCE_KINDS: tuple[Resource, ...] = (
    CONFIG_MAP,
    Resource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
)

#: What the operator needs besides its children and references.
PERMISSIONS: tuple[Permission, ...] = (
    Permission(
        GROUP,
        PLURAL,
        ("get", "list", "watch", "patch"),
        "kopf watches WsgiApps and keeps its state in annotations; a deleted child's owner is read before "
        "the child is recreated",
    ),
    Permission(GROUP, f"{PLURAL}/status", ("patch",), "the reconciler writes status"),
    Permission(
        GROUP,
        f"{PLURAL}/finalizers",
        ("update",),
        "children's ownerReferences set blockOwnerDeletion (OwnerReferencesPermissionEnforcement)",
    ),
    Permission(EVENT.group, EVENT.plural, ("create",), "Events on WsgiApps (DriftCorrected; kopf's warnings)"),
    Permission(
        POD.group,
        POD.plural,
        ("list", "watch"),
        "why pods cannot start (a missing Secret or ConfigMap, a crash, an image the node lacks), for status",
    ),
    Permission(
        POD.group,
        f"{POD.plural}/log",
        ("get",),
        "the last lines of a failed release Job's log, and the exception a pod that does not start printed",
    ),
    Permission(
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        ("list", "watch"),
        "kopf rescans resources when CRDs change (cluster-wide mode only)",
        clusterwide_only=True,
    ),
)


def permissions() -> list[Permission]:
    """Every permission the operator needs: children, references, then the rest."""
    refs = [Permission(r.group, r.plural, READ, f"checks that a referenced {r.kind} exists") for r in REFERENCE_KINDS]
    return [*(c.permission for c in CHILD_KINDS), *refs, *PERMISSIONS]


def group_resources(resources: Iterable[Resource]) -> str:
    """``kubectl get``'s comma-separated list of ``resources`` (``configmaps,deployments.apps``), no repeats."""
    return ",".join(dict.fromkeys(r.group_resource for r in resources))
