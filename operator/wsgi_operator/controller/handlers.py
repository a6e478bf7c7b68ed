"""kopf wiring only: which events call which Dispatcher method, and kopf's settings.

No finalizer: children are deleted by the garbage collector through their
ownerReferences, and the operator keeps no state outside the cluster, so a
finalizer would only add a way for WsgiApp deletion to hang while the operator
is down or uninstalled. That is also why the periodic resync is one
operator-wide task and not a ``@kopf.timer``: kopf puts a finalizer on every
object that has a timer.

No peering: one replica with the Recreate strategy is the deployment model
(peering only pauses a second operator, it is not leader election).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from .. import GROUP, PLURAL, VERSION
from ..kinds import CHILD_KINDS
from ..render.meta import APP_LABEL
from .apply import ApiError, bearer_token, client_configuration
from .children import child_ref
from .dispatch import indexed_app
from .reconcile import Trigger
from .settings import OperatorSettings

_CHILDREN = {(c.resource.group, c.resource.version, c.resource.plural) for c in CHILD_KINDS}


def is_child_resource(resource: kopf.Resource) -> bool:
    """The kinds (at the versions) the renderer produces."""
    return (resource.group, resource.version, resource.plural) in _CHILDREN


def is_labelled_resource(resource: kopf.Resource) -> bool:
    """What carries the app label: the children, and the pods (watched for why they do not start)."""
    return is_child_resource(resource) or (resource.group, resource.version, resource.plural) == ("", "v1", "pods")


#: Where kopf keeps its state on a WsgiApp. Not GROUP itself: kopf hides every
#: annotation under its own prefix from change detection, and the restart
#: action is an annotation under GROUP (wsgi-operator.io/restartedAt) that
#: must trigger a reconcile.
KOPF_PREFIX = f"operator.{GROUP}"


def kopf_settings(settings: OperatorSettings) -> kopf.OperatorSettings:
    """kopf's settings: this project's annotation domain, no peering, quiet Events."""
    ks = kopf.OperatorSettings()
    ks.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=KOPF_PREFIX, key="last-handled-configuration"
    )
    ks.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=KOPF_PREFIX)
    # Named in case a future handler needs one; no handler registered here does.
    ks.persistence.finalizer = f"{GROUP}/finalizer"
    ks.peering.standalone = True
    # Namespaced mode must work with Roles only: no cluster-wide list of
    # namespaces and CRDs to discover what to watch.
    ks.scanning.disabled = not settings.clusterwide
    # Only the children and the server's pods (labelled by the renderer) come
    # down the watch streams, not every Deployment, Pod and ConfigMap of the cluster.
    ks.watching.label_selectors[is_labelled_resource] = APP_LABEL
    ks.posting.reporting_component = "wsgi-operator"
    ks.posting.event_name_prefix = "wsgi-operator-"
    # kopf turns its own log lines about an object into Events on it; only
    # warnings (failed handlers) are worth an Event, not every success.
    ks.posting.level = logging.WARNING
    return ks


def build_registry() -> kopf.OperatorRegistry:
    """A fresh registry with every handler (one per operator run, so tests can run several).

    Handler ids are explicit: they name kopf's progress annotations and the
    index keyword arguments (``wsgiapps``, ``wsgi_children``).
    """
    registry = kopf.OperatorRegistry()

    @kopf.on.login(id="login", registry=registry)
    def login(memo: kopf.Memo, **_: Any) -> kopf.ConnectionInfo:
        # The same credentials as the reconciler's client (--kubeconfig, or in-cluster).
        cfg = client_configuration(memo.settings.kubeconfig)
        token = bearer_token(cfg)
        return kopf.ConnectionInfo(
            server=cfg.host,
            ca_path=cfg.ssl_ca_cert,
            insecure=not cfg.verify_ssl,
            certificate_path=cfg.cert_file,
            private_key_path=cfg.key_file,
            scheme="Bearer" if token else None,
            token=token,
        )

    @kopf.index(GROUP, VERSION, PLURAL, id="wsgiapps", registry=registry)
    async def wsgiapps(namespace: str, name: str, body: kopf.Body, **_: Any) -> dict:
        # kopf parses every watch event into new dicts and never mutates them:
        # keeping (and later reading from threads) them needs no deep copy.
        return {(namespace, name): indexed_app(body)}

    @kopf.index(is_child_resource, labels={APP_LABEL: kopf.PRESENT}, id="wsgi_children", registry=registry)
    async def wsgi_children(body: kopf.Body, **_: Any) -> dict | None:
        found = child_ref(body)
        return {found[0]: found[1]} if found else None

    @kopf.on.resume(GROUP, VERSION, PLURAL, id="reconcile", registry=registry, backoff=5)
    @kopf.on.create(GROUP, VERSION, PLURAL, id="reconcile", registry=registry, backoff=5)
    @kopf.on.update(GROUP, VERSION, PLURAL, id="reconcile", registry=registry, backoff=5)
    async def reconcile_wsgiapp(
        body: kopf.Body, reason: str, memo: kopf.Memo, wsgi_children: kopf.Index, **_: Any
    ) -> None:
        try:
            await memo.dispatcher.reconcile(dict(body), wsgi_children, Trigger(reason))
        except ApiError as err:
            if err.status in (409, 429) or err.status >= 500:
                raise kopf.TemporaryError(str(err), delay=5) from err
            # The spec or the RBAC must change first; status says why, and the
            # periodic resync tries again.
            raise kopf.PermanentError(str(err)) from err

    @kopf.on.event(GROUP, VERSION, PLURAL, id="forget", registry=registry)
    async def wsgiapp_event(type: str | None, uid: str, memo: kopf.Memo, **_: Any) -> None:
        if type == "DELETED":
            memo.dispatcher.forget(uid)

    @kopf.on.event(is_child_resource, labels={APP_LABEL: kopf.PRESENT}, id="child", registry=registry)
    async def child_event(
        type: str | None,
        body: kopf.Body,
        memo: kopf.Memo,
        wsgiapps: kopf.Index,
        wsgi_children: kopf.Index,
        **_: Any,
    ) -> None:
        await memo.dispatcher.child_changed(type, dict(body), wsgiapps, wsgi_children)

    @kopf.on.event("", "v1", "pods", labels={APP_LABEL: kopf.PRESENT}, id="pod", registry=registry)
    async def pod_event(type: str | None, body: kopf.Body, memo: kopf.Memo, wsgiapps: kopf.Index, **_: Any) -> None:
        await memo.dispatcher.pod_changed(type, dict(body), wsgiapps)

    @kopf.on.startup(id="resync", registry=registry)
    async def start_resync(memo: kopf.Memo, wsgiapps: kopf.Index, wsgi_children: kopf.Index, **_: Any) -> None:
        memo.resync = asyncio.create_task(
            memo.dispatcher.resync_forever(wsgiapps, wsgi_children, memo.settings.resync_interval)
        )

    @kopf.on.cleanup(id="resync", registry=registry)
    async def stop_resync(memo: kopf.Memo, **_: Any) -> None:
        memo.resync.cancel()

    return registry
