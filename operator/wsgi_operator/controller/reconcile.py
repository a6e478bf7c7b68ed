"""One reconcile of one WsgiApp: validate, render, apply every child, prune, write status.

The reconciler is synchronous (the kubernetes client is) and runs in worker
threads, one reconcile per app at a time (``dispatch.AppLocks``). It never
sees kopf: the dispatcher hands it a WsgiApp body and the children the
watches know of. Drift it corrects is reported as a DriftCorrected Event on
the WsgiApp.

Safety rules, in order:
- a spec the operator cannot act on (invalid, a missing ConfigMap/Secret/PVC,
  a child name taken by a foreign object) touches no child: the running
  Deployment keeps its pods, and status says what to fix;
- only objects whose controller ownerReference is this WsgiApp's uid are ever
  pruned, and the delete carries that uid as a precondition;
- status is written only when it changed, so a no-op reconcile writes nothing.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from .. import API_VERSION, KIND
from ..api import WsgiApp
from ..api.validation import InvalidWsgiApp, validate
from ..render import RenderSettings, app_url, render
from ..render.meta import APP_LABEL
from . import metrics
from .apply import DEPLOYMENT, FIELD_MANAGER, REFERENCE_RESOURCES, WSGIAPP, ApiError, Kube, resource_for, resource_of
from .status import Observation, compute_status, deployment_availability, status_patch

log = logging.getLogger(__name__)

ChildKey = tuple[str, str, str]
"""(apiVersion, kind, name) of a child."""


class Trigger(StrEnum):
    """Why a reconcile runs (a metrics label, and whether a write counts as drift)."""

    CREATE = "create"
    UPDATE = "update"
    RESUME = "resume"
    DRIFT = "drift"
    RESYNC = "resync"

    @property
    def corrects_drift(self) -> bool:
        """True when the spec did not change, so any child written was drift."""
        return self in (Trigger.DRIFT, Trigger.RESYNC)


class Outcome(StrEnum):
    """How a reconcile ended: the reason of the Reconciled condition."""

    APPLIED = "Applied"
    INVALID_SPEC = "InvalidSpec"
    MISSING_REFERENCE = "MissingReference"
    NAME_CONFLICT = "NameConflict"
    APPLY_FAILED = "ApplyFailed"


# ---------------------------------------------------------------- pure helpers


def key_of(obj: Mapping[str, Any]) -> ChildKey:
    """(apiVersion, kind, name) of a manifest or a live object."""
    return (obj["apiVersion"], obj["kind"], obj["metadata"]["name"])


def controller_uid(obj: Mapping[str, Any]) -> str | None:
    """uid of the WsgiApp that is ``obj``'s controller owner, if any."""
    for ref in obj.get("metadata", {}).get("ownerReferences") or ():
        if ref.get("controller") and ref.get("apiVersion") == API_VERSION and ref.get("kind") == KIND:
            return ref.get("uid")
    return None


def managed_signature(obj: Mapping[str, Any]) -> str:
    """A digest of the set of fields the operator's apply owns in ``obj``.

    This is how drift is seen: another manager changing or removing a field
    the operator owns takes that field out of the operator's managedFields
    entry (server-side apply moves ownership to whoever changed the value),
    and the next apply puts it back. Writes by others to fields the operator
    does not own (Deployment status, ``kubectl rollout restart``'s
    annotation, an HPA's replicas) leave the digest as it was, and so does an
    apply that changes nothing. Value comparisons would instead have to know
    every default and canonical form the API server applies.
    """
    for entry in obj.get("metadata", {}).get("managedFields") or ():
        if entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Apply":
            fields = json.dumps(entry.get("fieldsV1"), sort_keys=True, separators=(",", ":"))
            return hashlib.sha256(fields.encode()).hexdigest()[:32]
    return ""


@dataclass(frozen=True)
class ChildRef:
    """A child the watches have seen, owned by a WsgiApp (kept in a kopf index)."""

    api_version: str
    kind: str
    name: str
    uid: str
    signature: str

    @property
    def key(self) -> ChildKey:
        """(apiVersion, kind, name)."""
        return (self.api_version, self.kind, self.name)


def child_ref(obj: Mapping[str, Any]) -> tuple[str, ChildRef] | None:
    """(owner WsgiApp uid, ChildRef) of a live child, or None if no WsgiApp controls it."""
    owner = controller_uid(obj)
    if owner is None:
        return None
    api_version, kind, name = key_of(obj)
    return owner, ChildRef(api_version, kind, name, obj["metadata"]["uid"], managed_signature(obj))


@dataclass(frozen=True)
class Reference:
    """An object in the app's namespace that the spec points at and the pods need."""

    kind: str
    name: str
    field: str


def references(app: WsgiApp) -> list[Reference]:
    """Every ConfigMap, Secret and PVC the pods cannot start without (optional refs excluded)."""
    spec = app.spec
    refs: list[Reference] = []
    if spec.code.config_map:
        refs.append(Reference("ConfigMap", spec.code.config_map.name, "spec.code.configMap.name"))
    if spec.code.persistent_volume_claim:
        refs.append(
            Reference(
                "PersistentVolumeClaim",
                spec.code.persistent_volume_claim.claim_name,
                "spec.code.persistentVolumeClaim.claimName",
            )
        )
    for i, env in enumerate(spec.env):
        for source, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
            ref = (env.value_from or {}).get(source)
            if isinstance(ref, dict) and ref.get("name") and not ref.get("optional"):
                refs.append(Reference(kind, ref["name"], f"spec.env[{i}].valueFrom.{source}.name"))
    for i, env_from in enumerate(spec.env_from):
        for source, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            ref = env_from.get(source)
            if isinstance(ref, dict) and ref.get("name") and not ref.get("optional"):
                refs.append(Reference(kind, ref["name"], f"spec.envFrom[{i}].{source}.name"))
    return refs


def selector_string(app: WsgiApp) -> str:
    """The pods' label selector as a string (status.selector, for the scale subresource)."""
    return f"{APP_LABEL}={app.metadata.name}"


def _describe(key: ChildKey) -> str:
    return f"{key[1]}/{key[2]}"


def _utcnow() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- the reconciler


@dataclass
class Result:
    """What one reconcile did."""

    outcome: Outcome
    message: str
    #: Children created, or whose operator-owned fields were given back (see managed_signature).
    corrected: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)


@dataclass
class _Memory:
    """What the reconciler remembers of one WsgiApp between reconciles (lost on restart, rebuilt by resume)."""

    #: managed_signature of each child as the last apply left it: the drift check.
    applied: dict[ChildKey, str] = field(default_factory=dict)
    #: (spec as JSON, CEL errors) of the last spec validated: the CEL rules
    #: depend on the spec alone and cost tens of milliseconds per app, so an
    #: unchanged spec (resyncs, drift, status) is not evaluated again.
    validated: tuple[str, list[str]] | None = None
    #: The status last written: the operator is its only writer, so this is
    #: fresher than a watch event that may still be on its way.
    status: dict[str, Any] | None = None
    #: The last reconcile's outcome, reused when only the Deployment's state changed.
    observation: Observation | None = None


class Reconciler:
    """Converges WsgiApps to their rendered children; thread-safe across apps, not within one."""

    def __init__(self, kube: Kube, settings: RenderSettings, clock: Callable[[], str] = _utcnow) -> None:
        self.kube = kube
        self.settings = settings
        self.clock = clock
        self._memory: dict[str, _Memory] = {}
        self._memory_lock = threading.Lock()

    def _mem(self, uid: str) -> _Memory:
        with self._memory_lock:
            return self._memory.setdefault(uid, _Memory())

    def forget(self, uid: str) -> None:
        """Drop what is remembered of a deleted WsgiApp."""
        with self._memory_lock:
            self._memory.pop(uid, None)

    # -- entry points -----------------------------------------------------

    def reconcile(self, body: Mapping[str, Any], existing: Sequence[ChildRef], trigger: Trigger) -> Result:
        """Converge one WsgiApp (``body`` as read) given the children the watches know it owns."""
        started = time.monotonic()
        try:
            result = self._reconcile(body, existing)
        except Exception:
            metrics.ERRORS.labels(trigger).inc()
            raise
        finally:
            metrics.DURATION.labels(trigger).observe(time.monotonic() - started)
        metrics.RECONCILES.labels(trigger, result.outcome).inc()
        meta = body["metadata"]
        quiet = result.outcome == Outcome.APPLIED and not (result.corrected or result.pruned)
        log.log(
            logging.DEBUG if quiet else logging.INFO,
            "%s/%s (%s): %s: %s; created or restored: %s; pruned: %s",
            meta["namespace"],
            meta["name"],
            trigger,
            result.outcome,
            result.message,
            ", ".join(result.corrected) or "-",
            ", ".join(result.pruned) or "-",
        )
        if trigger.corrects_drift and result.corrected:
            self._report_drift(body, result.corrected)
        return result

    def _report_drift(self, body: Mapping[str, Any], corrected: list[str]) -> None:
        for child in corrected:
            metrics.DRIFT_CORRECTIONS.labels(child.split("/", 1)[0]).inc()
        message = f"restored {', '.join(corrected)}: changed or deleted by someone else, put back as the spec says"
        try:
            self.kube.post_event(body, "DriftCorrected", message, self.clock())
        except ApiError as err:
            # The correction itself succeeded; a lost Event must not make it retry.
            log.warning("could not post the DriftCorrected event: %s", err)

    def drifted(self, owner_uid: str, live: Mapping[str, Any]) -> bool:
        """Has someone else taken or removed fields the last apply set on ``live``? (True if unknown.)"""
        applied = self._mem(owner_uid).applied.get(key_of(live))
        return applied is None or applied != managed_signature(live)

    def correct_drift(
        self, body: Mapping[str, Any], existing: Sequence[ChildRef], child: Mapping[str, Any]
    ) -> Result | None:
        """Reconcile if ``child`` (from a watch event, maybe stale) still differs or is gone.

        The event may predate a correction already made, so the child is read
        again first: an event that is old news costs one GET, not a reconcile,
        and the fresh read is what tells a real correction from a no-op apply.
        """
        uid = body["metadata"]["uid"]
        meta = child["metadata"]
        live = self.kube.get(resource_of(child), meta["namespace"], meta["name"])
        fresh = child_ref(live) if live is not None else None
        if fresh is not None and fresh[0] == uid and not self.drifted(uid, live):
            return None
        refs = [r for r in existing if r.key != key_of(child)]
        if fresh is not None and fresh[0] == uid:
            refs.append(fresh[1])
        return self.reconcile(body, refs, Trigger.DRIFT)

    def refresh_status(self, body: Mapping[str, Any], deployment: Mapping[str, Any]) -> None:
        """Rewrite status from a Deployment event (pods became ready, a rollout ended) if it changed."""
        mem = self._mem(body["metadata"]["uid"])
        if mem.observation is None:
            # Nothing reconciled yet in this process: the pending reconcile writes status.
            return
        self._write_status(body, replace(mem.observation, availability=deployment_availability(deployment)))

    # -- the reconcile proper ---------------------------------------------

    def _reconcile(self, body: Mapping[str, Any], existing: Sequence[ChildRef]) -> Result:
        meta = body["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        try:
            app = self._validate(body)
        except InvalidWsgiApp as err:
            return self._hold(body, None, Outcome.INVALID_SPEC, "; ".join(err.errors))

        missing = [
            r
            for r in references(app)
            if self.kube.get(REFERENCE_RESOURCES[r.kind], namespace, r.name, metadata_only=True) is None
        ]
        if missing:
            detail = "; ".join(f"{r.kind} {r.name!r} ({r.field}) not found" for r in missing)
            return self._hold(
                body, app, Outcome.MISSING_REFERENCE, f"{detail} in namespace {namespace}; create it or fix the spec"
            )

        children = render(app, self.settings)
        owned = {ref.key: ref for ref in existing}
        conflicts, found = self._check_names(children, owned, meta["uid"])
        owned.update(found)
        if conflicts:
            return self._hold(
                body,
                app,
                Outcome.NAME_CONFLICT,
                f"{', '.join(conflicts)} already exist(s) and are not owned by this WsgiApp; "
                "the operator does not take over foreign objects: delete or rename them, or rename the WsgiApp",
            )

        result = Result(Outcome.APPLIED, f"{len(children)} children applied")
        deployment: dict[str, Any] | None = None
        applied: dict[ChildKey, str] = {}
        try:
            for child in children:
                key = key_of(child)
                stored = self.kube.apply(child)
                applied[key] = managed_signature(stored)
                before = owned.get(key)
                created = before is None or before.uid != stored["metadata"]["uid"]
                if created or before.signature != applied[key]:
                    result.corrected.append(_describe(key))
                if key[1] == DEPLOYMENT.kind:
                    deployment = stored
            wanted = {key_of(c) for c in children}
            for ref in existing:
                if ref.key in wanted:
                    continue
                if self.kube.delete(resource_for(ref.api_version, ref.kind), namespace, ref.name, ref.uid):
                    result.pruned.append(_describe(ref.key))
                    metrics.PRUNED.labels(ref.kind).inc()
        except ApiError as err:
            log.warning("%s/%s: apply failed: %s", namespace, name, err)
            self._hold(body, app, Outcome.APPLY_FAILED, f"{err.status} {err.reason}: {err.message}")
            raise

        mem = self._mem(meta["uid"])
        mem.applied = applied
        self._write_status(
            body,
            Observation(
                generation=int(meta.get("generation") or 0),
                reconciled=True,
                reason=result.outcome,
                message=result.message,
                availability=deployment_availability(deployment),
                selector=selector_string(app),
                url=app_url(app),
            ),
        )
        return result

    def _validate(self, body: Mapping[str, Any]) -> WsgiApp:
        """``validation.validate`` of the body, skipping the CEL rules for a spec already checked."""
        mem = self._mem(body["metadata"]["uid"])
        spec = json.dumps(body.get("spec"), sort_keys=True)
        if mem.validated is not None and mem.validated[0] == spec:
            if mem.validated[1]:
                raise InvalidWsgiApp(body["metadata"]["name"], mem.validated[1])
            # Types, ranges and patterns (pydantic) of the object as read, metadata included.
            return WsgiApp.parse(dict(body))
        try:
            app = validate(dict(body))
        except InvalidWsgiApp as err:
            mem.validated = (spec, err.errors)
            raise
        mem.validated = (spec, [])
        return app

    def _check_names(
        self, children: Iterable[dict[str, Any]], owned: Mapping[ChildKey, ChildRef], uid: str
    ) -> tuple[list[str], dict[ChildKey, ChildRef]]:
        """Read the desired children the watches have not reported as this app's.

        Returns the names taken by objects this WsgiApp does not control, and
        the ones that turned out to be its own after all (the watch was
        behind): those are not new, and their state before the apply is needed
        to tell a drift correction from a no-op.
        """
        conflicts: list[str] = []
        found: dict[ChildKey, ChildRef] = {}
        for child in children:
            key = key_of(child)
            if key in owned:
                continue
            meta = child["metadata"]
            live = self.kube.get(resource_of(child), meta["namespace"], meta["name"], metadata_only=True)
            if live is None:
                continue
            if controller_uid(live) != uid:
                conflicts.append(f"{child['kind']} {meta['name']!r}")
            else:
                found[key] = ChildRef(*key, live["metadata"]["uid"], managed_signature(live))
        return conflicts, found

    def _hold(self, body: Mapping[str, Any], app: WsgiApp | None, outcome: Outcome, message: str) -> Result:
        """Leave every child as it is and say why in status."""
        meta = body["metadata"]
        deployment = self.kube.get(DEPLOYMENT, meta["namespace"], meta["name"])
        if deployment is not None and controller_uid(deployment) != meta["uid"]:
            deployment = None
        self._write_status(
            body,
            Observation(
                generation=int(meta.get("generation") or 0),
                reconciled=False,
                reason=outcome,
                message=message,
                availability=deployment_availability(deployment),
                selector=selector_string(app) if app else None,
            ),
        )
        return Result(outcome, message)

    def _write_status(self, body: Mapping[str, Any], obs: Observation) -> None:
        meta = body["metadata"]
        mem = self._mem(meta["uid"])
        mem.observation = obs
        old = mem.status if mem.status is not None else (body.get("status") or {})
        new = compute_status(old, obs, self.clock())
        patch = status_patch(old, new)
        if patch is None:
            return
        try:
            stored = self.kube.patch_status(WSGIAPP, meta["namespace"], meta["name"], patch)
        except ApiError as err:
            if err.status == 404:
                return  # the WsgiApp was deleted meanwhile; garbage collection does the rest
            raise
        mem.status = stored.get("status") or {}
