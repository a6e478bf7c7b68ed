"""The operator's only door to the API server: server-side apply and a few reads and deletes.

Every request the reconciler makes goes through ``Kube.request``, which counts
it (``wsgi_operator_api_requests_total``): the benchmark's "API requests per
reconcile" is read from there. Paths come from the table of the kinds the
operator touches (``wsgi_operator.kinds``), so no discovery request is ever made.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from kubernetes import client, config

from ..kinds import CHILD_KINDS, EVENT, REFERENCE_KINDS, WSGIAPP, Resource

# Re-exported: the reconciler reads Deployments and lists Pods through here.
from ..kinds import DEPLOYMENT as DEPLOYMENT
from ..kinds import POD as POD
from . import metrics

#: The field manager of every apply: the operator's claim on the fields it sets.
FIELD_MANAGER = "wsgi-operator"
#: Seconds one request may take before the reconcile fails and is retried.
REQUEST_TIMEOUT = 30

_APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
_MERGE_CONTENT_TYPE = "application/merge-patch+json"
# Asking for metadata only: existence and ownership checks never pull a
# ConfigMap's data into the operator's memory.
_METADATA_ONLY = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"


#: Every kind the renderer can produce, in the renderer's apply order (kinds.CHILD_KINDS).
CHILD_RESOURCES: tuple[Resource, ...] = tuple(c.resource for c in CHILD_KINDS)
#: Kinds a WsgiApp may reference (and the operator only checks for existence), by kind.
REFERENCE_RESOURCES: dict[str, Resource] = {r.kind: r for r in REFERENCE_KINDS}
#: HTTP method of each request the reconciler makes (the key labels the metrics).
_METHODS = {
    "get": "GET",
    "list": "GET",
    "log": "GET",
    "apply": "PATCH",
    "delete": "DELETE",
    "patch_status": "PATCH",
    "create": "POST",
}
_BY_KIND = {(r.api_version, r.kind): r for r in (*CHILD_RESOURCES, WSGIAPP)}


def resource_for(api_version: str, kind: str) -> Resource:
    """The Resource of objects of ``apiVersion`` and ``kind``."""
    try:
        return _BY_KIND[(api_version, kind)]
    except KeyError:
        raise ValueError(f"the operator does not manage {api_version} {kind}") from None


def resource_of(obj: Mapping[str, Any]) -> Resource:
    """The Resource of a manifest."""
    return resource_for(obj["apiVersion"], obj["kind"])


class ApiError(Exception):
    """A non-2xx answer of the API server, with its Status message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        self.status = status
        self.reason = reason
        self.message = message
        super().__init__(f"{status} {reason}: {message}")


def client_configuration(kubeconfig: str | None) -> client.Configuration:
    """Credentials for the API server: ``kubeconfig`` if given, else in-cluster, else the default kubeconfig."""
    cfg = client.Configuration()
    if kubeconfig:
        config.load_kube_config(config_file=kubeconfig, client_configuration=cfg, persist_config=False)
        return cfg
    try:
        config.load_incluster_config(client_configuration=cfg)
    except config.ConfigException:
        config.load_kube_config(client_configuration=cfg, persist_config=False)
    return cfg


def bearer_token(cfg: client.Configuration) -> str | None:
    """The bearer token of ``cfg`` (refreshed first for in-cluster credentials), if it uses one."""
    header = cfg.get_api_key_with_prefix("BearerToken", alias="authorization")
    if not header:
        return None
    return header.split(" ", 1)[-1]


class KubeClient(Protocol):
    """What the reconciler needs of the API server: ``Kube``, or an in-memory fake in unit tests."""

    def get(self, resource: Resource, namespace: str, name: str, *, metadata_only: bool = False) -> dict | None:
        """The object, or None if it does not exist."""
        ...

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply ``obj`` with force; return the object as stored."""
        ...

    def delete(self, resource: Resource, namespace: str, name: str, uid: str) -> bool:
        """Delete the object if it is still the one with ``uid``; False if it is gone or was replaced."""
        ...

    def patch_status(self, resource: Resource, namespace: str, name: str, status: dict[str, Any]) -> dict[str, Any]:
        """Merge ``status`` into the status subresource; return the object as stored."""
        ...

    def list(self, resource: Resource, namespace: str, selector: str) -> list[dict[str, Any]]:
        """The objects of ``resource`` in ``namespace`` matching the label ``selector``."""
        ...

    def log(self, namespace: str, pod: str, tail_lines: int, *, previous: bool = False) -> str:
        """The last ``tail_lines`` lines a pod's (only) container printed; with ``previous``,
        those of its last terminated instance."""
        ...

    def post_event(self, involved: Mapping[str, Any], reason: str, message: str, now: str) -> None:
        """Record a Normal Event about ``involved``."""
        ...


class Kube:
    """A small synchronous API client for the reconciler (thread-safe: urllib3 pools per host)."""

    def __init__(self, cfg: client.Configuration, field_manager: str = FIELD_MANAGER) -> None:
        self.api = client.ApiClient(cfg)
        # Named in the API server's audit log and in managedFields of plain updates.
        self.api.user_agent = field_manager
        self.field_manager = field_manager

    def close(self) -> None:
        """Release the connection pool."""
        self.api.close()

    def request(
        self,
        verb: str,
        resource: Resource,
        path: str,
        *,
        query: Iterable[tuple[str, str]] = (),
        body: Any = None,
        content_type: str | None = None,
        accept: str = "application/json",
        text: bool = False,
    ) -> Any:
        """Send one request and return the decoded JSON answer (the body as text with ``text``);
        raise ApiError on non-2xx.

        ``verb`` is one of get, list, log, apply, delete, patch_status, create; it also labels the metrics.
        """
        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        req = self.api.param_serialize(
            _METHODS[verb],
            path,
            query_params=list(query),
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            resp = self.api.call_api(*req, _request_timeout=REQUEST_TIMEOUT)
            data = resp.read()
        except Exception:
            metrics.API_REQUESTS.labels(verb, resource.plural, "error").inc()
            raise
        metrics.API_REQUESTS.labels(verb, resource.plural, str(resp.status)).inc()
        if not 200 <= resp.status <= 299:
            try:
                decoded = json.loads(data) if data else {}
            except ValueError:
                decoded = data.decode(errors="replace")
            message = decoded.get("message", "") if isinstance(decoded, dict) else str(decoded)
            raise ApiError(resp.status, resp.reason or "", message)
        if text:
            return data.decode(errors="replace")
        return json.loads(data) if data else {}

    def get(self, resource: Resource, namespace: str, name: str, *, metadata_only: bool = False) -> dict | None:
        """The object, or None if it does not exist."""
        try:
            return self.request(
                "get",
                resource,
                resource.path(namespace, name),
                accept=_METADATA_ONLY if metadata_only else "application/json",
            )
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply ``obj`` with force; return the object as stored.

        Force: the operator is the authority on every field it renders; a field
        someone else changed by hand (``kubectl scale``, ``kubectl edit``) is
        taken back, which is the drift correction. Fields it does not render
        (``kubectl rollout restart``'s annotation) stay with their owners.
        An apply that changes nothing is not written: resourceVersion stays.
        """
        resource = resource_of(obj)
        meta = obj["metadata"]
        return self.request(
            "apply",
            resource,
            resource.path(meta["namespace"], meta["name"]),
            query=[("fieldManager", self.field_manager), ("force", "true")],
            body=obj,
            content_type=_APPLY_CONTENT_TYPE,
        )

    def delete(self, resource: Resource, namespace: str, name: str, uid: str) -> bool:
        """Delete the object if it is still the one with ``uid``; False if it is gone or was replaced."""
        options = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            # Dependents (a Deployment's ReplicaSets) go in the background.
            "propagationPolicy": "Background",
            # A same-named object created since (by anyone) is never deleted.
            "preconditions": {"uid": uid},
        }
        try:
            self.request("delete", resource, resource.path(namespace, name), body=options)
        except ApiError as err:
            if err.status in (404, 409):
                return False
            raise
        return True

    def patch_status(self, resource: Resource, namespace: str, name: str, status: dict[str, Any]) -> dict[str, Any]:
        """Replace the status subresource's fields with ``status`` (JSON merge patch)."""
        return self.request(
            "patch_status",
            resource,
            resource.path(namespace, name, "status"),
            query=[("fieldManager", self.field_manager)],
            body={"status": status},
            content_type=_MERGE_CONTENT_TYPE,
        )

    def list(self, resource: Resource, namespace: str, selector: str) -> list[dict[str, Any]]:
        """The objects of ``resource`` in ``namespace`` matching the label ``selector``."""
        answer = self.request("list", resource, resource.path(namespace), query=[("labelSelector", selector)])
        return answer.get("items") or []

    def log(self, namespace: str, pod: str, tail_lines: int, *, previous: bool = False) -> str:
        """The last ``tail_lines`` lines a pod's (only) container printed; with ``previous``,
        those of its last terminated instance."""
        query = [("tailLines", str(tail_lines))] + ([("previous", "true")] if previous else [])
        return self.request("log", POD, POD.path(namespace, pod, "log"), query=query, accept="*/*", text=True)

    def post_event(self, involved: Mapping[str, Any], reason: str, message: str, now: str) -> None:
        """Record a Normal core/v1 Event about ``involved`` (shown by ``kubectl describe``)."""
        meta = involved["metadata"]
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {
                "apiVersion": involved["apiVersion"],
                "kind": involved["kind"],
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
            },
            "type": "Normal",
            "reason": reason,
            "message": message,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "source": {"component": self.field_manager},
            "reportingComponent": self.field_manager,
            "reportingInstance": socket.gethostname(),
        }
        self.request("create", EVENT, EVENT.path(meta["namespace"]), body=event)
