"""One reconcile of one WsgiApp, as named phases.

validate -> render -> check references -> check name ownership -> apply ->
prune -> status. Each phase is a small method; a phase that finds a reason
to stop returns it, and ``_hold`` writes status without touching a child.

A periodic resync that finds nothing to do skips everything after render
(``_unchanged``): the rendered children are what the last full reconcile
applied, and the watches show each of them as that apply left it. Every
``full_resync_every``-th resync of an app, the first after a watch relisted,
and every reconcile with any other trigger apply everything anyway.

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
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ..api import WsgiApp
from ..api.conditions import AvailabilityReason, Outcome, ReleaseState
from ..api.validation import InvalidWsgiApp, validate
from ..api.wsgiapp import ReleaseStatus
from ..render import RenderSettings, app_url, render
from ..render.job import release_job_name
from ..render.meta import APP_LABEL
from . import metrics
from .apply import DEPLOYMENT, POD, WSGIAPP, ApiError, KubeClient, resource_for, resource_of
from .children import ChildKey, ChildRef, child_ref, controller_uid, describe, key_of, managed_signature
from .memory import AppliedChild, AppMemory, Converged, Memory
from .pods import STARTUP_LOG_LINES, missing_reference, startup_failure
from .references import check_references, references
from .release import LOG_TAIL_LINES, held_until_released, job_state, succeeded_job
from .settings import OperatorSettings
from .status import Availability, Observation, compute_status, deployment_availability, status_patch

log = logging.getLogger(__name__)

#: Every how many periodic resyncs of an app its children are applied (and its
#: references read) even though the watches show nothing changed: the backstop
#: for drift no watch event told (see ``Reconciler._unchanged``). 12: with the
#: default --resync-interval of 300 s, once an hour (--full-resync-every).
FULL_RESYNC_EVERY = OperatorSettings.full_resync_every


class Trigger(StrEnum):
    """Why a reconcile runs (a metrics label, and whether a write counts as drift)."""

    CREATE = "create"
    UPDATE = "update"
    RESUME = "resume"
    DRIFT = "drift"
    RESYNC = "resync"
    #: The release Job changed state.
    RELEASE = "release"

    @property
    def corrects_drift(self) -> bool:
        """True when the spec did not change, so any child written was drift."""
        return self in (Trigger.DRIFT, Trigger.RESYNC)


@dataclass
class Result:
    """What one reconcile did."""

    outcome: Outcome
    message: str
    #: Children created, or whose operator-owned fields were given back (see managed_signature).
    corrected: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    #: True when nothing was applied: every child was as the last full reconcile left it.
    unchanged: bool = False


@dataclass
class _Applied:
    """What the apply phase left behind."""

    #: Every child as stored after its apply.
    children: dict[ChildKey, AppliedChild] = field(default_factory=dict)
    #: Children created or given back (``Kind/name``).
    corrected: list[str] = field(default_factory=list)
    #: Every child as the apply returned it (status included).
    objects: dict[ChildKey, dict[str, Any]] = field(default_factory=dict)

    @property
    def deployment(self) -> dict[str, Any] | None:
        """The Deployment as stored, for availability."""
        return next((o for k, o in self.objects.items() if k[:2] == (DEPLOYMENT.api_version, DEPLOYMENT.kind)), None)


class _NameTaken(Exception):
    """A child's name turned out, during the apply, to belong to an object this app does not own."""

    def __init__(self, child: str) -> None:
        self.child = child
        super().__init__(child)


def _conflict_message(conflicts: Sequence[str]) -> str:
    """The NameConflict message naming every taken child name."""
    return (
        f"{', '.join(conflicts)} already exist(s) and are not owned by this WsgiApp; "
        "the operator does not take over foreign objects: delete or rename them, or rename the WsgiApp"
    )


def selector_string(app: WsgiApp) -> str:
    """The pods' label selector as a string (status.selector, for the scale subresource)."""
    return f"{APP_LABEL}={app.metadata.name}"


#: Availability reasons under which a pod may be stuck: for want of a Secret or ConfigMap, or failing to start.
_PODS_TELL = {
    AvailabilityReason.REPLICAS_NOT_READY,
    AvailabilityReason.ROLLING_OUT,
    AvailabilityReason.PROGRESS_DEADLINE_EXCEEDED,
}


def _release_outcome(release: ReleaseStatus) -> tuple[Outcome, str]:
    """The Reconciled reason and message while a release has not succeeded."""
    if release.state == ReleaseState.FAILED:
        return Outcome.RELEASE_FAILED, (
            f"release Job {release.job} failed, the current version keeps serving: {release.message}"
        )
    return Outcome.RELEASE_PENDING, f"release Job {release.job}: {release.message}"


def _utcnow() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rendered_digest(children: Sequence[Mapping[str, Any]]) -> str:
    """A digest of the rendered children, to tell whether a render is the one last applied."""
    text = json.dumps(children, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def full_resync_due(uid: str, resyncs: int, every: int) -> bool:
    """Is the ``resyncs``-th resync of the app with ``uid`` one that applies everything?

    One in ``every``, at a phase of its own (a digest of the uid): apps
    created together do not all apply together at the same later resync.
    """
    return resyncs % every == zlib.crc32(uid.encode()) % every


class Reconciler:
    """Converges WsgiApps to their rendered children; thread-safe across apps, not within one."""

    def __init__(
        self,
        kube: KubeClient,
        settings: RenderSettings,
        clock: Callable[[], str] = _utcnow,
        memory: Memory | None = None,
        full_resync_every: int = FULL_RESYNC_EVERY,
    ) -> None:
        if full_resync_every < 1:
            raise ValueError("full_resync_every must be at least 1")
        self.kube = kube
        self.settings = settings
        self.clock = clock
        self.memory = memory if memory is not None else Memory()
        self.full_resync_every = full_resync_every

    # -- entry points -----------------------------------------------------

    def reconcile(self, body: Mapping[str, Any], existing: Sequence[ChildRef], trigger: Trigger) -> Result:
        """Converge one WsgiApp (``body`` as read) given the children the watches know it owns."""
        started = time.monotonic()
        try:
            result = self._reconcile(body, existing, trigger)
        except Exception:
            metrics.ERRORS.labels(trigger).inc()
            raise
        finally:
            metrics.DURATION.labels(trigger).observe(time.monotonic() - started)
        metrics.RECONCILES.labels(trigger, result.outcome).inc()
        if result.unchanged:
            metrics.UNCHANGED.labels(trigger).inc()
        self._log(body, trigger, result)
        if trigger.corrects_drift and result.corrected:
            self._report_drift(body, result.corrected)
        return result

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
        if live is None and not self._still_there(body):
            # The WsgiApp itself is gone and the garbage collector is taking
            # its children: the watches just have not said so yet.
            return None
        fresh = child_ref(live) if live is not None else None
        if fresh is not None and fresh[0] == uid and not self.memory.drifted(uid, live):
            return None
        refs = [r for r in existing if r.key != key_of(child)]
        if fresh is not None and fresh[0] == uid:
            refs.append(fresh[1])
        return self.reconcile(body, refs, Trigger.DRIFT)

    def _still_there(self, body: Mapping[str, Any]) -> bool:
        """Does the WsgiApp ``body`` describes still exist (the same one, by uid)?"""
        meta = body["metadata"]
        live = self.kube.get(WSGIAPP, meta["namespace"], meta["name"], metadata_only=True)
        return live is not None and live["metadata"].get("uid") == meta["uid"]

    def refresh_status(self, body: Mapping[str, Any], deployment: Mapping[str, Any]) -> None:
        """Rewrite status from a Deployment event (pods became ready, a rollout ended) if it changed."""
        mem = self.memory.of(body["metadata"]["uid"])
        if mem.observation is None:
            # Nothing reconciled yet in this process: the pending reconcile writes status.
            return
        app = WsgiApp.parse(dict(body)) if mem.validated and not mem.validated[1] else None
        self._write_status(body, replace(mem.observation, availability=self._availability(body, app, deployment)))

    def refresh_from_pod(self, body: Mapping[str, Any]) -> None:
        """Rewrite status after a pod of the app failed to start.

        A crash loop changes the pod, not the Deployment, so no Deployment
        event would tell. Only while the app is not available: a healthy app's
        pods cost nothing.
        """
        mem = self.memory.of(body["metadata"]["uid"])
        if mem.observation is None or mem.observation.availability.status == "True":
            return
        meta = body["metadata"]
        deployment = self.kube.get(DEPLOYMENT, meta["namespace"], meta["name"])
        if deployment is not None and controller_uid(deployment) == meta["uid"]:
            self.refresh_status(body, deployment)

    # -- the phases -------------------------------------------------------

    def _reconcile(self, body: Mapping[str, Any], existing: Sequence[ChildRef], trigger: Trigger) -> Result:
        uid = body["metadata"]["uid"]
        mem = self.memory.of(uid)
        if trigger == Trigger.RESYNC:
            mem.resyncs += 1
        try:
            app = self._validate(body)
        except InvalidWsgiApp as err:
            mem.converged = None
            return self._hold(body, None, Outcome.INVALID_SPEC, "; ".join(err.errors))
        children = render(app, self.settings)
        rendered = rendered_digest(children)
        if trigger == Trigger.RESYNC and self._unchanged(mem, uid, children, rendered, existing):
            return self._keep(body, app, mem)
        # From here on, only a reconcile that applies every child may say it converged.
        epoch = self.memory.epoch
        mem.converged = None
        namespace = body["metadata"]["namespace"]
        problem = check_references(self.kube, app, namespace)
        if problem:
            return self._hold(body, app, *problem)
        owned, conflicts = self._check_ownership(children, existing, uid)
        if conflicts:
            return self._hold(body, app, Outcome.NAME_CONFLICT, _conflict_message(conflicts))
        try:
            release = self._release(body, app, children, owned)
            if release is not None and release.state != ReleaseState.SUCCEEDED:
                return self._hold(body, app, *_release_outcome(release), release=release)
            applied = self._apply(children, owned, uid)
            pruned = self._prune(children, existing, namespace)
        except _NameTaken as taken:
            return self._hold(body, app, Outcome.NAME_CONFLICT, _conflict_message([taken.child]))
        except ApiError as err:
            log.warning("%s/%s: apply failed: %s", namespace, body["metadata"]["name"], err)
            self._hold(body, app, Outcome.APPLY_FAILED, f"{err.status} {err.reason}: {err.message}")
            raise
        result = Result(Outcome.APPLIED, f"{len(children)} children applied", applied.corrected, pruned)
        mem.applied = applied.children
        self._write_status(body, self._observation(body, app, result, applied.deployment, release))
        mem.converged = Converged(rendered, epoch)
        return result

    def _unchanged(
        self,
        mem: AppMemory,
        uid: str,
        children: Sequence[dict[str, Any]],
        rendered: str,
        existing: Sequence[ChildRef],
    ) -> bool:
        """May this resync skip the applies? True when all of these hold:

        - the last full reconcile in this process applied every child of this
          very render (outcome Applied; a restart, a refusal or a failure
          since leaves nothing to rely on), and no child watch relisted after
          it started (kopf keeps in its index what was deleted while its
          watch was away);
        - this is not one of the app's periodic full resyncs
          (``full_resync_due``): the backstop for what no watch event tells
          (a deleted reference, a watch that relisted an empty kind);
        - the watches list exactly the rendered children, each once, each
          with the uid and the managed-field signature that apply left: the
          drift check's own test (``Memory.drifted``), so a change by someone
          else to a field the operator owns, a deletion or a recreation
          shows here as it does to the child event handler.

        A watch event still on its way is not missed: the child event handler
        corrects what it brings.
        """
        converged = mem.converged
        if converged is None or converged.rendered != rendered or converged.epoch != self.memory.epoch:
            return False
        if mem.observation is None:
            return False  # (written by that reconcile, before it said it converged)
        if full_resync_due(uid, mem.resyncs, self.full_resync_every):
            return False
        seen: dict[ChildKey, ChildRef] = {}
        for ref in existing:
            if ref.key in seen:
                return False  # a deleted object and its successor: the watch missed the deletion
            seen[ref.key] = ref
        if seen.keys() != {key_of(c) for c in children} or seen.keys() != mem.applied.keys():
            return False
        return all(
            mem.applied[key].uid == ref.uid and mem.applied[key].signature == ref.signature for key, ref in seen.items()
        )

    def _keep(self, body: Mapping[str, Any], app: WsgiApp, mem: AppMemory) -> Result:
        """Nothing to apply: status as the last reconcile and the Deployment's and pods' events left it."""
        assert mem.observation is not None  # _unchanged checked it
        obs = replace(
            mem.observation,
            generation=int(body["metadata"].get("generation") or 0),
            selector=selector_string(app),
            url=app_url(app),
        )
        self._write_status(body, obs)
        return Result(Outcome.APPLIED, obs.message, unchanged=True)

    def _release(
        self,
        body: Mapping[str, Any],
        app: WsgiApp,
        children: Sequence[dict[str, Any]],
        owned: Mapping[ChildKey, ChildRef],
    ) -> ReleaseStatus | None:
        """Run the release Job of this version first, if it has not succeeded yet.

        Everything but what the server pods run (held_until_released) is
        applied, the Job included; the Job's state as the apply returned it
        says whether the rest may follow. None without spec.release.
        """
        job_name = release_job_name(app)
        if job_name is None:
            return None
        current = self._current_status(body).get("release")
        done = succeeded_job(self._current_status(body))
        if job_name == done:
            # Released already: status keeps saying so, word for word (no write).
            return ReleaseStatus.model_validate(current)
        held = held_until_released(app)
        first = [c for c in children if (c["kind"], c["metadata"]["name"]) not in held]
        applied = self._apply(first, owned, body["metadata"]["uid"])
        self.memory.of(body["metadata"]["uid"]).applied.update(applied.children)
        # The apply's answer is the Job as stored, status included.
        state, message = job_state(next(o for k, o in applied.objects.items() if k[1] == "Job"))
        if state == ReleaseState.FAILED:
            message = f"{message}{self._job_log_tail(body['metadata']['namespace'], job_name)}"
        elif state == ReleaseState.SUCCEEDED:
            done = job_name
        return ReleaseStatus(job=job_name, state=state, message=message, succeeded_job=done)

    def _job_log_tail(self, namespace: str, job_name: str) -> str:
        """The last log lines of the Job's newest pod, for the status message ('' if there are none)."""
        try:
            pods = self.kube.list(POD, namespace, f"batch.kubernetes.io/job-name={job_name}")
            if not pods:
                return ""
            newest = max(pods, key=lambda p: p["metadata"].get("creationTimestamp") or "")
            text = self.kube.log(namespace, newest["metadata"]["name"], LOG_TAIL_LINES)
        except ApiError as err:
            return f"; its logs could not be read: {err.status} {err.reason}"
        return f"; last log lines of pod {newest['metadata']['name']}:\n{text.rstrip()}" if text.strip() else ""

    def _validate(self, body: Mapping[str, Any]) -> WsgiApp:
        """``validation.validate`` of the body, skipping the CEL rules for a spec already checked."""
        mem = self.memory.of(body["metadata"]["uid"])
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

    def _check_ownership(
        self, children: Sequence[dict[str, Any]], existing: Sequence[ChildRef], uid: str
    ) -> tuple[dict[ChildKey, ChildRef], list[str]]:
        """The children this app owns, and the names taken by objects it does not.

        The desired children the watches have not reported as this app's are
        read: a name taken by an object this WsgiApp does not control is a
        conflict; one that turns out to be its own after all (the watch was
        behind) is not new, and its state before the apply is needed to tell
        a drift correction from a no-op.
        """
        owned = {ref.key: ref for ref in existing}
        conflicts: list[str] = []
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
                owned[key] = ChildRef(*key, live["metadata"]["uid"], managed_signature(live))
        return owned, conflicts

    def _apply(self, children: Sequence[dict[str, Any]], owned: Mapping[ChildKey, ChildRef], uid: str) -> _Applied:
        """Server-side apply every child in order; note which were created or given back.

        A child counts as given back when its operator-owned fields differ
        from what the watches last saw, unless nobody wrote it since the
        operator's own last apply: then the watches were only behind.
        """
        last = self.memory.of(uid).applied
        applied = _Applied()
        for child in children:
            key = key_of(child)
            before = owned.get(key)
            stored = self._apply_one(child, before, uid)
            now = applied.children[key] = AppliedChild.of(stored)
            untouched = key in last and last[key].unchanged_in(stored)
            if not untouched and (before is None or before.uid != now.uid or before.signature != now.signature):
                applied.corrected.append(describe(key))
            applied.objects[key] = stored
        return applied

    def _apply_one(self, child: dict[str, Any], before: ChildRef | None, uid: str) -> dict[str, Any]:
        """Apply ``child``; one the watches list as this app's carries its uid as a precondition.

        The watches may be behind: the child may have been deleted since, and
        a same-named object created by someone else, which a plain forced
        apply would silently take over. The API server refuses an apply whose
        uid does not match (422, or 409 when no object exists); the child is
        then read again to tell which case this is.
        """
        if before is None:
            return self.kube.apply(child)
        try:
            return self.kube.apply({**child, "metadata": {**child["metadata"], "uid": before.uid}})
        except ApiError as err:
            if err.status not in (409, 422):
                raise
            meta = child["metadata"]
            live = self.kube.get(resource_of(child), meta["namespace"], meta["name"], metadata_only=True)
            if live is None:
                return self.kube.apply(child)
            if controller_uid(live) != uid:
                raise _NameTaken(f"{child['kind']} {meta['name']!r}") from err
            if live["metadata"]["uid"] == before.uid:
                raise  # the object itself was refused, not the precondition
            return self.kube.apply({**child, "metadata": {**child["metadata"], "uid": live["metadata"]["uid"]}})

    def _prune(self, children: Sequence[dict[str, Any]], existing: Sequence[ChildRef], namespace: str) -> list[str]:
        """Delete the owned children the spec no longer renders (uid-guarded); return them."""
        wanted = {key_of(c) for c in children}
        pruned: list[str] = []
        for ref in existing:
            if ref.key in wanted:
                continue
            if self.kube.delete(resource_for(ref.api_version, ref.kind), namespace, ref.name, ref.uid):
                pruned.append(describe(ref.key))
                metrics.PRUNED.labels(ref.kind).inc()
        return pruned

    def _observation(
        self,
        body: Mapping[str, Any],
        app: WsgiApp | None,
        result: Result,
        deployment: Mapping[str, Any] | None,
        release: ReleaseStatus | None,
    ) -> Observation:
        """What status should say after a reconcile that ended with ``result``."""
        return Observation(
            generation=int(body["metadata"].get("generation") or 0),
            reconciled=result.outcome == Outcome.APPLIED,
            reason=result.outcome,
            message=result.message,
            availability=self._availability(body, app, deployment),
            selector=selector_string(app) if app else None,
            url=app_url(app) if app and result.outcome == Outcome.APPLIED else None,
            release=release.model_dump(by_alias=True, exclude_none=True, mode="json") if release else None,
        )

    def _availability(
        self, body: Mapping[str, Any], app: WsgiApp | None, deployment: Mapping[str, Any] | None
    ) -> Availability:
        """The Deployment's availability; while it is not available, why the pods cannot start, if they say."""
        available = deployment_availability(deployment)
        if available.reason not in _PODS_TELL or app is None:
            # Available, or nothing for pods to say yet: no request.
            return available
        meta = body["metadata"]
        try:
            pods = self.kube.list(POD, meta["namespace"], selector_string(app))
        except ApiError as err:
            log.warning("%s/%s: could not list pods: %s", meta["namespace"], meta["name"], err)
            return available
        message = missing_reference(pods, references(app))
        if message is not None:
            return replace(available, status="False", reason=Outcome.MISSING_REFERENCE, message=message)
        message = startup_failure(pods, lambda pod, previous: self._log_tail(meta["namespace"], pod, previous))
        if message is not None:
            return replace(available, status="False", reason=AvailabilityReason.STARTUP_FAILED, message=message)
        return available

    def _log_tail(self, namespace: str, pod: str, previous: bool) -> str | None:
        """The end of a pod's log (or its previous instance's), or None if the API server cannot give it
        (a missing status beats none)."""
        try:
            return self.kube.log(namespace, pod, STARTUP_LOG_LINES, previous=previous)
        except ApiError as err:
            log.warning("%s/%s: could not read the pod's log: %s", namespace, pod, err)
            return None

    def _hold(
        self,
        body: Mapping[str, Any],
        app: WsgiApp | None,
        outcome: Outcome,
        message: str,
        release: ReleaseStatus | None = None,
    ) -> Result:
        """Leave the server's children as they are and say why in status."""
        meta = body["metadata"]
        deployment = self.kube.get(DEPLOYMENT, meta["namespace"], meta["name"])
        if deployment is not None and controller_uid(deployment) != meta["uid"]:
            deployment = None
        if release is None and app is not None and app.spec.release is not None:
            # Refused before the release phase: status keeps what it knew.
            kept = (self._current_status(body) or {}).get("release")
            release = ReleaseStatus.model_validate(kept) if kept else None
        result = Result(outcome, message)
        self._write_status(body, self._observation(body, app, result, deployment, release))
        return result

    def _current_status(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """The status as last written by this process, else as read."""
        mem = self.memory.of(body["metadata"]["uid"])
        return mem.status if mem.status is not None else (body.get("status") or {})

    def _write_status(self, body: Mapping[str, Any], obs: Observation) -> None:
        meta = body["metadata"]
        mem = self.memory.of(meta["uid"])
        mem.observation = obs
        old = self._current_status(body)
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

    # -- reporting --------------------------------------------------------

    @staticmethod
    def _log(body: Mapping[str, Any], trigger: Trigger, result: Result) -> None:
        meta = body["metadata"]
        quiet = result.outcome == Outcome.APPLIED and not (result.corrected or result.pruned)
        log.log(
            logging.DEBUG if quiet else logging.INFO,
            "%s/%s (%s): %s: %s%s; created or restored: %s; pruned: %s",
            meta["namespace"],
            meta["name"],
            trigger,
            result.outcome,
            result.message,
            " (unchanged: nothing applied)" if result.unchanged else "",
            ", ".join(result.corrected) or "-",
            ", ".join(result.pruned) or "-",
        )

    def _report_drift(self, body: Mapping[str, Any], corrected: list[str]) -> None:
        for child in corrected:
            metrics.DRIFT_CORRECTIONS.labels(child.split("/", 1)[0]).inc()
        message = f"restored {', '.join(corrected)}: changed or deleted by someone else, put back as the spec says"
        try:
            self.kube.post_event(body, "DriftCorrected", message, self.clock())
        except ApiError as err:
            # The correction itself succeeded; a lost Event must not make it retry.
            log.warning("could not post the DriftCorrected event: %s", err)
