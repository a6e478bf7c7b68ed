"""Table-driven tests of the Reconciler (controller/reconcile.py), in the style of Knative's table tests.

Each ``Row`` tells a short story and what must come of it:

- ``spec``/``generation``: the WsgiApp acted on (``support.manifests``);
- ``history``: what happened before, in order, all of it seen by the watches
  (objects created by the operator or by others, earlier reconciles in this
  process at time T0, drift, a restart of the operator);
- ``unseen``: changes the watches have not delivered when the act starts (the
  children index passed to the reconciler does not reflect them); a history
  step can also leave the index wrong for good (``unwatched``, ``ghost``), as
  kopf's index is after a watch relisted;
- ``faults``: errors the fake API server answers with (``support.fakekube``);
- ``act``: a reconcile with a trigger, ``correct_drift`` of a child's watch
  event, or ``refresh_status`` from the Deployment, at time T1.

Then the row's expectations are compared, all at once, with what happened:
every apply, every uid-guarded delete, the status patch (or none), the
Events, the failed calls and the result (or the ApiError raised). Fields
left at their defaults expect nothing: a row without ``deletes`` asserts that
nothing was deleted. The optional ``requests``, ``writes``, ``validations``,
``present``, ``absent`` and ``kept`` are checked when a row gives them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import methodcaller
from typing import Any

import pytest

from support.fakekube import FakeKube
from support.manifests import wsgiapp_manifest
from wsgi_operator import API_VERSION, KIND
from wsgi_operator.api.conditions import AvailabilityReason, Outcome
from wsgi_operator.api.validation import validate
from wsgi_operator.controller import reconcile as reconcile_module
from wsgi_operator.controller.apply import CHILD_RESOURCES, ApiError
from wsgi_operator.controller.children import ChildRef, child_ref, managed_signature
from wsgi_operator.controller.dispatch import Dispatcher
from wsgi_operator.controller.memory import Memory
from wsgi_operator.controller.reconcile import FULL_RESYNC_EVERY, Reconciler, Result, Trigger, full_resync_due
from wsgi_operator.render import RenderSettings, render
from wsgi_operator.render.job import release_job_name

APP, NS, UID = "web", "shop", "uid-web"
T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"
SETTINGS = RenderSettings()

# In apply order: the fences first.
SA, NETPOL, CM_ENTRY, CM_CONFIG, SVC, DEPLOY, PDB = CHILDREN = (
    "ServiceAccount/web",
    "NetworkPolicy/web",
    "ConfigMap/web-entry",
    "ConfigMap/web-config",
    "Service/web",
    "Deployment/web",
    "PodDisruptionBudget/web",
)
HPA, ING, ROUTE = "HorizontalPodAutoscaler/web", "Ingress/web", "HTTPRoute/web"
GETS_META = tuple(f"get-meta {c}" for c in CHILDREN)
APPLIES = tuple(f"apply {c}" for c in CHILDREN)
STATUS_WRITE = "patch_status WsgiApp/web"
EVENT_POST = "post_event WsgiApp/web"
GET_DEPLOYMENT = "get Deployment/web"

SVC_URL = "http://web.shop.svc:80/"
SELECTOR = "wsgi-operator.io/app=web"
INGRESS = {"ingress": {"hosts": ["web.example.com"]}}
AUTOSCALING = {"autoscaling": {"maxReplicas": 5}}
HTTP_ROUTE = {"httpRoute": {"parentRefs": [{"name": "gw"}], "hostnames": ["web.example.org"], "path": "/shop"}}
CODE_CM = {"code": {"configMap": {"name": "code"}}}
SECRET_ENV = {"env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}
INVALID_CEL = {"writableDirs": [{"name": "scratch", "mountPath": "/tmp/scratch"}]}
NEW_IMAGE = {"image": "registry.example.com/test/app:2"}
SVC_LABEL = ("metadata", "labels", "app.kubernetes.io/name")
RELEASE_SPEC = {"release": {"command": ["python", "manage.py", "migrate", "--noinput"]}}
PVC_DIR = {
    "writableDirs": [
        {"name": "data", "mountPath": "/var/lib/shop/data", "persistentVolumeClaim": {"claimName": "data"}}
    ]
}

# Condition (status, reason) pairs.
PENDING = ("Unknown", "RolloutPending")
AVAILABLE = ("True", "ReplicasReady")
NO_DEPLOYMENT = ("False", "DeploymentMissing")


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


#: In ``Want.fields``: the status patch must not carry this key.
ABSENT: Any = _Absent()


def app_body(*spec: Mapping[str, Any] | None, generation: int = 1) -> dict[str, Any]:
    return wsgiapp_manifest(APP, NS, *spec, metadata={"uid": UID, "generation": generation})


NEW_RELEASE = (RELEASE_SPEC, NEW_IMAGE)
JOB_NAME = release_job_name(validate(app_body(RELEASE_SPEC)))
NEW_JOB_NAME = release_job_name(validate(app_body(*NEW_RELEASE)))
RUNNING = "the release Job is running; the current version keeps serving"
SUCCEEDED = "the release Job succeeded"
FAILED_LOG = (
    "BackoffLimitExceeded: Job has reached the specified backoff limit; last log lines of pod "
    f"{NEW_JOB_NAME}-x1:\nOperations to perform:\ndjango.db.utils.OperationalError: no such table: shop_order"
)
JOB, NEW_JOB, NP_REL = f"Job/{JOB_NAME}", f"Job/{NEW_JOB_NAME}", "NetworkPolicy/web-release"
#: With spec.release: what is applied before the release succeeds (not the server's Deployment and ConfigMaps).
BEFORE_RELEASE = (SA, NETPOL, NP_REL, SVC, JOB, PDB)
WITH_RELEASE = (SA, NETPOL, NP_REL, CM_ENTRY, CM_CONFIG, SVC, JOB, DEPLOY, PDB)


# -- the world a row runs in ----------------------------------------------------


@dataclass
class World:
    fake: FakeKube
    reconciler: Reconciler = field(init=False)
    now: str = T0
    #: Child watch events (``Kind/name`` -> object), as the last drift or deletion left them.
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    validations: list[str] = field(default_factory=list)
    #: The deleted WsgiApp's last body (``gone_app``).
    stale_body: dict[str, Any] | None = None
    #: Children (``Kind/name``) the index does not list (``unwatched``).
    hidden: set[str] = field(default_factory=set)
    #: Index entries of objects deleted since (``ghost``).
    ghosts: list[ChildRef] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        """A new operator process: same cluster, nothing remembered."""
        self.reconciler = Reconciler(self.fake, SETTINGS, clock=lambda: self.now, memory=Memory())

    def body(self) -> dict[str, Any]:
        """The WsgiApp as stored, or as the watches last saw it once it is deleted."""
        body = self.fake.peek(KIND, APP) or self.stale_body
        assert body is not None
        return body

    def set_app(self, spec: Sequence[Mapping[str, Any]], generation: int) -> None:
        """The user changed the WsgiApp (its status stays)."""
        new = app_body(*spec, generation=generation)
        old = self.fake.peek(KIND, APP)
        if old and "status" in old:
            new["status"] = old["status"]
        self.fake.put(new)

    def index(self) -> list[ChildRef]:
        """The children the watches know with this WsgiApp as controller."""
        refs = (child_ref(obj) for obj in self.fake.objects.values())
        seen = [r[1] for r in refs if r is not None and r[0] == UID]
        return [r for r in seen if f"{r.kind}/{r.name}" not in self.hidden] + self.ghosts

    def versions(self) -> dict[str, str]:
        return {f"{k[1]}/{k[3]}": o["metadata"]["resourceVersion"] for k, o in self.fake.objects.items()}


Step = Callable[[World], None]


def _api_version_of(kind: str) -> str:
    return next(r.api_version for r in CHILD_RESOURCES if r.kind == kind)


def applied(*spec: Mapping[str, Any]) -> Step:
    """The children of this spec as an earlier operator process applied them (nothing remembered here)."""

    def step(w: World) -> None:
        for child in render(validate(app_body(*spec)), SETTINGS):
            w.fake.seed_apply(child)

    return step


def reconciled(*spec: Mapping[str, Any], generation: int = 1, trigger: Trigger = Trigger.CREATE) -> Step:
    """An earlier reconcile of this spec in this process, at T0."""

    def step(w: World) -> None:
        w.set_app(spec, generation)
        w.reconciler.reconcile(w.body(), w.index(), trigger)

    return step


def restarted() -> Step:
    return World.restart


def resynced(times: int) -> Step:
    """``times`` periodic resyncs in this process, at T0."""

    def step(w: World) -> None:
        for _ in range(times):
            w.reconciler.reconcile(w.body(), w.index(), Trigger.RESYNC)

    return step


#: Resyncs after which the next one of the app is one of its periodic full ones.
BEFORE_FULL = next(n for n in range(FULL_RESYNC_EVERY) if full_resync_due(UID, n + 1, FULL_RESYNC_EVERY))


def relisted() -> Step:
    """A child watch listed its objects again (kopf's watch restarted after 410 Gone)."""
    return lambda w: w.reconciler.memory.relisted()


def unwatched(child: str) -> Step:
    """The index does not list ``child`` (its watch event has not come, or never will)."""
    return lambda w: w.hidden.add(child)


def ghost(child: str) -> Step:
    """``child`` is deleted and recreated as it was while the watch was away: after the
    relist, kopf's index lists the new object and still the old one."""

    def step(w: World) -> None:
        w.ghosts += [r for r in w.index() if f"{r.kind}/{r.name}" == child]
        recreated(child)(w)

    return step


def exists(kind: str, name: str, api_version: str = "v1") -> Step:
    """An object the app may reference (ConfigMap, Secret, PVC)."""
    return lambda w: w.fake.put({"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": NS}})


def claim(name: str, *modes: str) -> Step:
    """A PersistentVolumeClaim with ``modes``."""
    obj = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": NS}}
    return lambda w: w.fake.put({**obj, "spec": {"accessModes": list(modes)}})


def pod(name: str, waiting: str, message: str) -> Step:
    """A server pod whose container waits with ``waiting`` (what the kubelet reports)."""
    meta = {"name": name, "namespace": NS, "labels": {"wsgi-operator.io/app": APP}}
    state = {"waiting": {"reason": waiting, "message": message}}
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "status": {"containerStatuses": [{"state": state}]}}
    return lambda w: w.fake.put(obj)


def struggling_pod(name: str, restarts: int, log: str = "", waiting: str = "") -> Step:
    """A server pod that does not start: running, its startup probe not passed (or waiting with
    ``waiting``), restarted ``restarts`` times, having printed ``log`` (once restarted: its previous
    instance printed it, and the running one nothing yet, as right after the kubelet restarted it)."""
    meta = {"name": name, "namespace": NS, "labels": {"wsgi-operator.io/app": APP}}
    state = {"waiting": {"reason": waiting, "message": "back-off"}} if waiting else {"running": {}}
    container = {"ready": False, "started": False, "restartCount": restarts, "state": state}
    container["lastState"] = {"terminated": {"exitCode": 137, "reason": "Error"}} if restarts else {}
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": meta}
    obj["status"] = {"phase": "Running", "containerStatuses": [container]}

    def step(w: World) -> None:
        w.fake.put(obj)
        if restarts:
            w.fake.previous_logs[(NS, name)] = log
            w.fake.logs[(NS, name)] = ""
        else:
            w.fake.logs[(NS, name)] = log

    return step


#: What mod_wsgi logs when the entry point does not import (the startup probe's requests).
IMPORT_ERROR_LOG = (
    "[wsgi:error] [pid 20:tid 7] [remote 10.244.0.1:1] Traceback (most recent call last):\n"
    '[wsgi:error] [pid 20:tid 7] [remote 10.244.0.1:1]   File "/srv/app/run.wsgi", line 3, in <module>\n'
    "[wsgi:error] [pid 20:tid 7] [remote 10.244.0.1:1] ModuleNotFoundError: No module named 'hello.nope'\n"
)


def gone_app() -> Step:
    """The WsgiApp is deleted (its body, as the watches last saw it, is what the dispatcher still holds)."""

    def step(w: World) -> None:
        w.stale_body = w.body()
        w.fake.remove(KIND, APP)

    return step


def job_finished(spec: Mapping[str, Any], kind: str, reason: str = "", message: str = "", log: str = "") -> Step:
    """The Job controller reports the release Job of ``spec`` finished (``Complete`` or ``Failed``);
    with ``log``, one pod of it printed that."""

    def step(w: World) -> None:
        name = release_job_name(validate(app_body(spec)))
        condition = {"type": kind, "status": "True", "reason": reason, "message": message}
        w.fake.set_status("Job", name, {"conditions": [condition]})
        if log:
            meta = {"name": f"{name}-x1", "namespace": NS, "labels": {"batch.kubernetes.io/job-name": name}}
            w.fake.put({"apiVersion": "v1", "kind": "Pod", "metadata": meta})
            w.fake.logs[(NS, f"{name}-x1")] = log

    return step


def foreign(kind: str, name: str) -> Step:
    """An object of a child's kind that no WsgiApp controls."""
    obj = {"apiVersion": _api_version_of(kind), "kind": kind, "metadata": {"name": name, "namespace": NS}}
    return lambda w: w.fake.put(obj)


def owned_by_other(kind: str, name: str, uid: str = "uid-web-previous") -> Step:
    """An object controlled by another WsgiApp (a same-named one deleted and recreated, say)."""
    owner = {"apiVersion": API_VERSION, "kind": KIND, "name": APP, "uid": uid, "controller": True}
    meta = {"name": name, "namespace": NS, "ownerReferences": [owner]}
    obj = {"apiVersion": _api_version_of(kind), "kind": kind, "metadata": meta, "spec": {"replicas": 2}}
    return lambda w: w.fake.put(obj)


def drifted(child: str, path: tuple[str, ...], *value: Any) -> Step:
    """kubectl changes (or, without a value, removes) a field of ``child``; its watch event is kept."""

    def step(w: World) -> None:
        kind, name = child.split("/")
        w.fake.drift(kind, name, path, *value)
        w.events[child] = w.fake.peek(kind, name) or {}

    return step


def deleted(child: str) -> Step:
    """Someone deletes ``child``; the DELETED watch event (its last state) is kept."""

    def step(w: World) -> None:
        w.events[child] = w.fake.remove(*child.split("/"))

    return step


def recreated(child: str) -> Step:
    """Someone deletes ``child`` and creates it again as it was: same name, owner and content, a new uid."""

    def step(w: World) -> None:
        last = w.fake.remove(*child.split("/"))
        meta = {k: v for k, v in last["metadata"].items() if k not in ("uid", "resourceVersion", "managedFields")}
        w.fake.put({**last, "metadata": meta})

    return step


def apply_failed(kind: str) -> Step:
    """A reconcile in this process (an update, at T0) whose apply of ``kind`` failed with 503."""

    def step(w: World) -> None:
        w.fake.fail("apply", kind, status=503, nth=1)
        with pytest.raises(ApiError):
            reconciled(trigger=Trigger.UPDATE)(w)

    return step


def status_write_failed() -> Step:
    """A Deployment event's status write failed (500); the status in memory is newer than the stored one."""

    def step(w: World) -> None:
        w.fake.fail("patch_status", status=500, nth=1)
        with pytest.raises(ApiError):
            RefreshStatus()(w, [])

    return step


def rollout(ready: int = 2, updated: int = 2, replicas: int = 2, **status: Any) -> Step:
    """The Deployment controller reports on the Deployment's current generation."""

    def step(w: World) -> None:
        dep = w.fake.peek("Deployment", APP)
        assert dep is not None
        observed = {"observedGeneration": dep["metadata"]["generation"], "replicas": replicas}
        counts = {"updatedReplicas": updated, "readyReplicas": ready}
        w.fake.set_status("Deployment", APP, {**observed, **counts, **status})

    return step


# -- acts -------------------------------------------------------------------------


@dataclass(frozen=True)
class Reconcile:
    trigger: Trigger

    def __call__(self, w: World, index: list[ChildRef]) -> Result | None:
        return w.reconciler.reconcile(w.body(), index, self.trigger)


@dataclass(frozen=True)
class CorrectDrift:
    """The watch event of ``child``: as the last drift or deletion left it, else as stored."""

    child: str

    def __call__(self, w: World, index: list[ChildRef]) -> Result | None:
        event = w.events.get(self.child) or w.fake.peek(*self.child.split("/"))
        assert event is not None
        return w.reconciler.correct_drift(w.body(), index, event)


@dataclass(frozen=True)
class RefreshStatus:
    """A Deployment watch event with the Deployment as stored."""

    def __call__(self, w: World, index: list[ChildRef]) -> Result | None:
        deployment = w.fake.peek("Deployment", APP)
        assert deployment is not None
        w.reconciler.refresh_status(w.body(), deployment)
        return None


class RefreshFromPod:
    """A watch event of a pod that does not start (the Deployment did not change)."""

    def __call__(self, w: World, index: list[ChildRef]) -> Result | None:
        w.reconciler.refresh_from_pod(w.body())
        return None


CREATE, UPDATE, RESUME, DRIFT, RESYNC, RELEASE = (Reconcile(t) for t in Trigger)


# -- expectations -----------------------------------------------------------------


@dataclass(frozen=True)
class Want:
    """The one status patch: each condition's (status, reason), in the order Ready, Reconciled, Available."""

    ready: tuple[str, str]
    reconciled: tuple[str, str]
    available: tuple[str, str]
    generation: int = 1
    #: lastTransitionTime of Ready, Reconciled, Available.
    since: tuple[str, str, str] = (T1, T1, T1)
    #: A substring of Ready's message.
    message: str = ""
    #: Other keys of the patch and their exact values (ABSENT: not in the patch).
    fields: Mapping[str, Any] = field(default_factory=dict)


def applied_status(available: tuple[str, str] = PENDING, **kw: Any) -> Want:
    ready = ("True", "Ready") if available[0] == "True" else available
    return Want(ready, ("True", "Applied"), available, **kw)


def held(reason: Outcome, available: tuple[str, str] = NO_DEPLOYMENT, **kw: Any) -> Want:
    return Want(("False", reason), ("False", reason), available, **kw)


def _seen_status(patch: Mapping[str, Any], want: Want) -> Want:
    """``patch`` summarised as a Want (the message kept only if it contains the wanted one)."""
    conds = patch.get("conditions") or []
    pairs = [(c["status"], c["reason"]) for c in conds]
    generations = [patch.get("observedGeneration"), *(c["observedGeneration"] for c in conds)]
    ready_message = conds[0]["message"] if conds else ""
    return Want(
        *(pairs + [("?", "?")] * 3)[:3],
        generation=generations[0] if len(set(generations)) == 1 else tuple(generations),  # type: ignore[arg-type]
        since=tuple(c["lastTransitionTime"] for c in conds),  # type: ignore[arg-type]
        message=want.message if want.message in ready_message else ready_message,
        fields={k: patch.get(k, ABSENT) for k in want.fields},
    )


@dataclass(frozen=True)
class Row:
    id: str
    act: Callable[[World, list[ChildRef]], Result | None]
    spec: tuple[Mapping[str, Any], ...] = ()
    generation: int = 1
    history: tuple[Step, ...] = ()
    unseen: tuple[Step, ...] = ()
    faults: tuple[Callable[[FakeKube], None], ...] = ()
    # -- always checked --
    applies: tuple[str, ...] = ()
    #: (Kind/name, uid precondition) of each delete.
    deletes: tuple[tuple[str, str], ...] = ()
    #: None: no status write.
    status: Want | None = None
    #: "reason: message up to its first colon" of each Event.
    events: tuple[str, ...] = ()
    #: None: the entry point returns None (or raises).
    outcome: Outcome | None = None
    corrected: tuple[str, ...] = ()
    pruned: tuple[str, ...] = ()
    #: The status of the ApiError the act raises.
    raises: int | None = None
    #: Calls answered with an injected error: "verb Kind/name status".
    failed: tuple[str, ...] = ()
    # -- checked when given --
    #: Every call, in order ("get-meta" for metadata-only gets).
    requests: tuple[str, ...] | None = None
    #: The calls that changed something (a no-op apply is not one).
    writes: tuple[str, ...] | None = None
    #: How often validation.validate ran.
    validations: int | None = None
    present: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    #: Objects whose resourceVersion the act left as it was.
    kept: tuple[str, ...] = ()


def drift_event(*children: str) -> str:
    return f"DriftCorrected: restored {', '.join(children)}"


# -- the table ----------------------------------------------------------------------

ROWS = [
    # ---- Applied
    Row(
        "create/every-child-applied",
        CREATE,
        applies=CHILDREN,
        status=applied_status(fields={"url": SVC_URL, "selector": SELECTOR, "replicas": 0}),
        outcome=Outcome.APPLIED,
        corrected=CHILDREN,
        requests=(*GETS_META, *APPLIES, STATUS_WRITE),
        writes=(*APPLIES, STATUS_WRITE),
        validations=1,
    ),
    Row(
        "create/ingress-with-tls",
        CREATE,
        spec=({"ingress": {"hosts": ["web.example.com"], "tlsSecretName": "web-tls"}},),
        applies=(*CHILDREN, ING),
        status=applied_status(fields={"url": "https://web.example.com/"}),
        outcome=Outcome.APPLIED,
        corrected=(*CHILDREN, ING),
    ),
    Row(
        "create/autoscaler-and-route",
        CREATE,
        spec=(AUTOSCALING, HTTP_ROUTE),
        applies=(*CHILDREN, HPA, ROUTE),
        status=applied_status(fields={"url": "http://web.example.org/shop"}),
        outcome=Outcome.APPLIED,
        corrected=(*CHILDREN, HPA, ROUTE),
    ),
    Row(
        "create/without-network-policy-and-budget",
        CREATE,
        spec=({"networkPolicy": {"enabled": False}, "disruptionBudget": {"enabled": False}},),
        applies=(SA, CM_ENTRY, CM_CONFIG, SVC, DEPLOY),
        status=applied_status(),
        outcome=Outcome.APPLIED,
        corrected=(SA, CM_ENTRY, CM_CONFIG, SVC, DEPLOY),
    ),
    Row(
        "resume/after-restart-writes-nothing",
        RESUME,
        history=(reconciled(), restarted()),
        applies=CHILDREN,
        outcome=Outcome.APPLIED,
        requests=APPLIES,
        writes=(),
        validations=1,
        kept=(*CHILDREN, "WsgiApp/web"),
    ),
    # ---- the periodic resync: nothing to do costs no request...
    Row(
        "resync/noop-sends-no-request",
        RESYNC,
        history=(reconciled(),),
        outcome=Outcome.APPLIED,
        requests=(),
        validations=0,
        kept=(*CHILDREN, "WsgiApp/web"),
    ),
    Row(
        "resync/references-not-read-when-nothing-changed",
        RESYNC,
        spec=(CODE_CM, PVC_DIR, {"replicas": 1}),
        history=(
            exists("ConfigMap", "code"),
            claim("data", "ReadWriteOnce"),
            reconciled(CODE_CM, PVC_DIR, {"replicas": 1}),
        ),
        outcome=Outcome.APPLIED,
        requests=(),
    ),
    Row(
        "resync/fields-of-other-managers-are-not-drift",
        RESYNC,
        history=(reconciled(), drifted(SVC, ("metadata", "labels", "team"), "payments")),
        outcome=Outcome.APPLIED,
        requests=(),
    ),
    Row(
        # The Deployment's own event reports the new rollout (deployment-event/*), not the resync.
        "resync/rollout-restart-is-not-drift",
        RESYNC,
        history=(
            reconciled(),
            drifted(DEPLOY, ("spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt"), T0),
        ),
        outcome=Outcome.APPLIED,
        requests=(),
    ),
    Row(
        "resync/status-a-deployment-event-failed-to-write-is-written",
        RESYNC,
        history=(reconciled(), rollout(), status_write_failed()),
        status=applied_status(AVAILABLE, since=(T1, T0, T1), fields={"replicas": 2, "readyReplicas": 2}),
        outcome=Outcome.APPLIED,
        requests=(STATUS_WRITE,),
    ),
    Row(
        # Its DELETED event is on its way: the child event handler recreates it (child-event/deleted-*).
        "resync/deletion-the-watch-has-not-delivered-yet-is-left-to-its-event",
        RESYNC,
        history=(reconciled(),),
        unseen=(deleted(SVC),),
        outcome=Outcome.APPLIED,
        requests=(),
        absent=(SVC,),
    ),
    # ---- ...but it applies every child (and reads every reference) when it cannot be sure
    Row(
        "resync/after-restart-applies-everything",
        RESYNC,
        history=(reconciled(), restarted()),
        applies=CHILDREN,
        outcome=Outcome.APPLIED,
        requests=APPLIES,
        writes=(),
        validations=1,
        kept=(*CHILDREN, "WsgiApp/web"),
    ),
    Row(
        "resync/periodic-full-one-applies-everything",
        RESYNC,
        history=(reconciled(), resynced(BEFORE_FULL)),
        applies=CHILDREN,
        outcome=Outcome.APPLIED,
        requests=APPLIES,
        writes=(),
        kept=(*CHILDREN, "WsgiApp/web"),
    ),
    Row(
        "resync/the-one-before-the-periodic-full-one-sends-no-request",
        RESYNC,
        history=(reconciled(), resynced(BEFORE_FULL - 1 if BEFORE_FULL else FULL_RESYNC_EVERY - 1)),
        outcome=Outcome.APPLIED,
        requests=(),
    ),
    Row(
        "resync/periodic-full-one-reads-the-references-and-finds-one-deleted",
        RESYNC,
        spec=(CODE_CM,),
        history=(
            exists("ConfigMap", "code"),
            reconciled(CODE_CM),
            rollout(),
            lambda w: RefreshStatus()(w, []),
            lambda w: w.fake.remove("ConfigMap", "code"),
            resynced(BEFORE_FULL),
        ),
        status=held(
            Outcome.MISSING_REFERENCE,
            AVAILABLE,
            since=(T1, T1, T0),
            message="ConfigMap 'code' (spec.code.configMap.name) not found",
        ),
        outcome=Outcome.MISSING_REFERENCE,
        requests=("get-meta ConfigMap/code", GET_DEPLOYMENT, STATUS_WRITE),
        kept=CHILDREN,
    ),
    Row(
        "resync/after-a-refusal-checks-again",
        RESYNC,
        spec=(CODE_CM,),
        history=(
            exists("ConfigMap", "code"),
            reconciled(CODE_CM),
            lambda w: w.fake.remove("ConfigMap", "code"),
            reconciled(CODE_CM, trigger=Trigger.UPDATE),
        ),
        outcome=Outcome.MISSING_REFERENCE,
        requests=("get-meta ConfigMap/code", GET_DEPLOYMENT),
    ),
    Row(
        "resync/after-a-failed-apply-applies-everything",
        RESYNC,
        history=(
            reconciled(),
            apply_failed("Deployment"),
        ),
        applies=CHILDREN,
        status=applied_status(since=(T1, T1, T0)),
        outcome=Outcome.APPLIED,
        requests=(*APPLIES, STATUS_WRITE),
        writes=(STATUS_WRITE,),
    ),
    Row(
        "resync/spec-change-not-handled-yet-is-applied",
        RESYNC,
        spec=(NEW_IMAGE,),
        generation=2,
        history=(reconciled(),),
        applies=CHILDREN,
        status=applied_status(generation=2, since=(T0, T0, T0), message="generation 2 of the Deployment"),
        outcome=Outcome.APPLIED,
        requests=(*APPLIES, STATUS_WRITE),
        writes=("apply Deployment/web", STATUS_WRITE),
    ),
    Row(
        "resync/after-a-relist-applies-everything",
        RESYNC,
        history=(reconciled(), relisted()),
        applies=CHILDREN,
        outcome=Outcome.APPLIED,
        requests=APPLIES,
        writes=(),
    ),
    Row(
        "resync/child-missing-from-the-index-is-read-and-applied",
        RESYNC,
        history=(reconciled(), unwatched(SVC)),
        applies=CHILDREN,
        outcome=Outcome.APPLIED,
        requests=("get-meta Service/web", *APPLIES),
        writes=(),
    ),
    Row(
        "resync/child-recreated-by-someone-else-is-applied",
        RESYNC,
        history=(reconciled(), recreated(SVC)),
        applies=CHILDREN,
        events=(drift_event(SVC),),
        outcome=Outcome.APPLIED,
        corrected=(SVC,),
        requests=(*APPLIES, EVENT_POST),
        writes=("apply Service/web", EVENT_POST),
    ),
    Row(
        "resync/deleted-and-recreated-while-the-watch-was-away-is-applied",
        RESYNC,
        history=(reconciled(), ghost(SVC), relisted()),
        applies=(SA, NETPOL, CM_ENTRY, CM_CONFIG, SVC, SVC, DEPLOY, PDB),
        events=(drift_event(SVC),),
        outcome=Outcome.APPLIED,
        corrected=(SVC,),
        failed=(f"apply {SVC} 422",),
    ),
    Row(
        "resync/two-objects-of-one-name-in-the-index-applies-everything",
        RESYNC,
        history=(reconciled(), ghost(SVC)),
        applies=(SA, NETPOL, CM_ENTRY, CM_CONFIG, SVC, SVC, DEPLOY, PDB),
        events=(drift_event(SVC),),
        outcome=Outcome.APPLIED,
        corrected=(SVC,),
        failed=(f"apply {SVC} 422",),
    ),
    Row(
        "resync/stray-child-in-the-index-is-pruned",
        RESYNC,
        history=(reconciled(), owned_by_other("Ingress", "web", uid=UID)),
        applies=CHILDREN,
        deletes=((ING, "Ingress/web#1"),),
        outcome=Outcome.APPLIED,
        pruned=(ING,),
        requests=(*APPLIES, "delete Ingress/web"),
        absent=(ING,),
    ),
    Row(
        "resume/watches-behind-own-children-not-corrected",
        RESUME,
        unseen=(applied(),),
        applies=CHILDREN,
        status=applied_status(),
        outcome=Outcome.APPLIED,
        requests=(*GETS_META, *APPLIES, STATUS_WRITE),
        writes=(STATUS_WRITE,),
    ),
    Row(
        "resume/ready-deployment",
        RESUME,
        history=(applied(), rollout()),
        applies=CHILDREN,
        status=applied_status(
            AVAILABLE, message="2 of 2 replicas are ready", fields={"replicas": 2, "readyReplicas": 2}
        ),
        outcome=Outcome.APPLIED,
        requests=(*APPLIES, STATUS_WRITE),
    ),
    Row(
        "update/new-image-waits-for-the-rollout",
        UPDATE,
        spec=(NEW_IMAGE,),
        generation=2,
        history=(applied(), rollout(), reconciled()),
        applies=CHILDREN,
        status=applied_status(PENDING, generation=2, since=(T1, T0, T1), message="generation 2 of the Deployment"),
        outcome=Outcome.APPLIED,
        writes=("apply Deployment/web", STATUS_WRITE),
        validations=1,
    ),
    # ---- availability from the stored Deployment
    Row(
        "resume/progress-deadline-exceeded",
        RESUME,
        history=(
            applied(),
            rollout(
                ready=1,
                conditions=[
                    {"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "web-1 timed out"}
                ],
            ),
        ),
        applies=CHILDREN,
        status=applied_status(("False", "ProgressDeadlineExceeded"), message="web-1 timed out"),
        outcome=Outcome.APPLIED,
    ),
    Row(
        "resume/replicas-not-ready",
        RESUME,
        history=(applied(), rollout(ready=1)),
        applies=CHILDREN,
        status=applied_status(
            ("False", "ReplicasNotReady"), message="1 of 2 replicas", fields={"replicas": 2, "readyReplicas": 1}
        ),
        outcome=Outcome.APPLIED,
    ),
    Row(
        "resume/old-pods-terminating",
        RESUME,
        history=(applied(), rollout(replicas=3)),
        applies=CHILDREN,
        status=applied_status(("False", "RollingOut"), message="1 old replicas are still terminating"),
        outcome=Outcome.APPLIED,
    ),
    # ---- InvalidSpec
    Row(
        "create/invalid-cel-rule",
        CREATE,
        spec=(INVALID_CEL,),
        status=held(Outcome.INVALID_SPEC, message="/tmp", fields={"selector": ABSENT, "url": ABSENT}),
        outcome=Outcome.INVALID_SPEC,
        requests=(GET_DEPLOYMENT, STATUS_WRITE),
        validations=1,
    ),
    Row(
        "create/invalid-field-range",
        CREATE,
        spec=({"replicas": -1},),
        status=held(Outcome.INVALID_SPEC, message="spec.replicas"),
        outcome=Outcome.INVALID_SPEC,
        requests=(GET_DEPLOYMENT, STATUS_WRITE),
    ),
    Row(
        "resync/invalid-spec-not-evaluated-again",
        RESYNC,
        spec=(INVALID_CEL,),
        history=(reconciled(INVALID_CEL),),
        outcome=Outcome.INVALID_SPEC,
        requests=(GET_DEPLOYMENT,),
        validations=0,
    ),
    Row(
        "update/invalid-spec-keeps-the-running-children",
        UPDATE,
        spec=(INVALID_CEL,),
        generation=2,
        history=(applied(), rollout(), reconciled()),
        status=held(Outcome.INVALID_SPEC, AVAILABLE, generation=2, since=(T1, T1, T0), fields={"url": SVC_URL}),
        outcome=Outcome.INVALID_SPEC,
        requests=(GET_DEPLOYMENT, STATUS_WRITE),
        kept=CHILDREN,
    ),
    Row(
        "create/invalid-deployment-of-another-owner-is-not-ours",
        CREATE,
        spec=(INVALID_CEL,),
        history=(owned_by_other("Deployment", "web"), rollout()),
        status=held(Outcome.INVALID_SPEC, NO_DEPLOYMENT),
        outcome=Outcome.INVALID_SPEC,
        kept=(DEPLOY,),
    ),
    Row(
        "update/reason-change-without-flip-keeps-transition-times",
        UPDATE,
        spec=(INVALID_CEL,),
        generation=2,
        history=(reconciled(CODE_CM),),
        status=held(
            Outcome.INVALID_SPEC, generation=2, since=(T0, T0, T0), fields={"selector": SELECTOR, "url": ABSENT}
        ),
        outcome=Outcome.INVALID_SPEC,
        validations=1,
    ),
    # ---- MissingReference
    Row(
        "create/missing-code-configmap",
        CREATE,
        spec=(CODE_CM,),
        status=held(
            Outcome.MISSING_REFERENCE,
            message="ConfigMap 'code' (spec.code.configMap.name) not found in namespace shop",
            fields={"selector": SELECTOR, "url": ABSENT},
        ),
        outcome=Outcome.MISSING_REFERENCE,
        requests=("get-meta ConfigMap/code", GET_DEPLOYMENT, STATUS_WRITE),
    ),
    Row(
        "create/missing-code-pvc",
        CREATE,
        spec=({"code": {"persistentVolumeClaim": {"claimName": "data"}}},),
        status=held(
            Outcome.MISSING_REFERENCE,
            message="PersistentVolumeClaim 'data' (spec.code.persistentVolumeClaim.claimName) not found",
        ),
        outcome=Outcome.MISSING_REFERENCE,
        # A claim is read whole: its access modes decide whether the pods can share it.
        requests=("get PersistentVolumeClaim/data", GET_DEPLOYMENT, STATUS_WRITE),
    ),
    Row(
        "create/missing-envfrom-configmap-and-secrets-never-read",
        CREATE,
        spec=(SECRET_ENV, {"envFrom": [{"configMapRef": {"name": "settings"}}]}),
        status=held(
            Outcome.MISSING_REFERENCE,
            message="ConfigMap 'settings' (spec.envFrom[0].configMapRef.name) not found in namespace shop",
        ),
        outcome=Outcome.MISSING_REFERENCE,
        # No Secret is read: the operator holds no permission on Secrets.
        requests=("get-meta ConfigMap/settings", GET_DEPLOYMENT, STATUS_WRITE),
    ),
    Row(
        "create/optional-references-not-checked",
        CREATE,
        spec=(
            {
                "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "db", "key": "x", "optional": True}}}],
                "envFrom": [{"configMapRef": {"name": "settings", "optional": True}}],
            },
        ),
        applies=CHILDREN,
        status=applied_status(),
        outcome=Outcome.APPLIED,
        corrected=CHILDREN,
        requests=(*GETS_META, *APPLIES, STATUS_WRITE),
    ),
    Row(
        "create/references-present",
        CREATE,
        spec=(CODE_CM, SECRET_ENV),
        history=(exists("ConfigMap", "code"), exists("Secret", "db")),
        applies=CHILDREN,
        status=applied_status(),
        outcome=Outcome.APPLIED,
        corrected=CHILDREN,
        requests=("get-meta ConfigMap/code", *GETS_META, *APPLIES, STATUS_WRITE),
    ),
    Row(
        "deployment-event/pod-missing-a-secret-names-the-field",
        RefreshStatus(),
        spec=(SECRET_ENV,),
        history=(
            reconciled(SECRET_ENV),
            rollout(ready=0, updated=2),
            pod("web-abc", "CreateContainerConfigError", 'secret "db" not found'),
        ),
        status=applied_status(
            ("False", Outcome.MISSING_REFERENCE),
            since=(T1, T0, T1),
            message='pod web-abc cannot start: secret "db" not found (spec.env[0].valueFrom.secretKeyRef.name)',
            fields={"replicas": 2},
        ),
        requests=(f"list Pod/{SELECTOR}", STATUS_WRITE),
    ),
    Row(
        "deployment-event/pods-just-starting-say-nothing",
        RefreshStatus(),
        spec=(SECRET_ENV,),
        history=(reconciled(SECRET_ENV), rollout(ready=0, updated=2), pod("web-abc", "ContainerCreating", "")),
        status=applied_status(("False", "ReplicasNotReady"), since=(T1, T0, T1), fields={"replicas": 2}),
        requests=(f"list Pod/{SELECTOR}", STATUS_WRITE),
    ),
    Row(
        "deployment-event/new-pod-that-does-not-import-says-why",
        RefreshStatus(),
        history=(
            reconciled(),
            rollout(ready=2, updated=1, replicas=3),
            struggling_pod("web-new", restarts=1, log=IMPORT_ERROR_LOG),
        ),
        status=applied_status(
            ("False", AvailabilityReason.STARTUP_FAILED),
            since=(T1, T0, T1),
            message=(
                "pod web-new does not start, restarted 1 time: "
                "its log says ModuleNotFoundError: No module named 'hello.nope'"
            ),
            fields={"replicas": 3},
        ),
        requests=(f"list Pod/{SELECTOR}", "log-previous Pod/web-new", STATUS_WRITE),
    ),
    Row(
        "pod-event/crash-loop-of-a-new-pod-says-why",
        RefreshFromPod(),
        history=(
            reconciled(),
            rollout(ready=2, updated=1, replicas=3),
            struggling_pod("web-new", restarts=3, log=IMPORT_ERROR_LOG, waiting="CrashLoopBackOff"),
        ),
        status=applied_status(
            ("False", AvailabilityReason.STARTUP_FAILED),
            since=(T1, T0, T1),
            message=(
                "pod web-new does not start, restarted 3 times: CrashLoopBackOff: back-off; "
                "its log says ModuleNotFoundError: No module named 'hello.nope'"
            ),
            fields={"replicas": 3},
        ),
        # The Deployment is read: the pod event does not carry it.
        requests=(GET_DEPLOYMENT, f"list Pod/{SELECTOR}", "log-previous Pod/web-new", STATUS_WRITE),
    ),
    Row(
        "pod-event/of-an-available-app-costs-nothing",
        RefreshFromPod(),
        history=(reconciled(), rollout(), lambda w: RefreshStatus()(w, []), struggling_pod("web-new", restarts=1)),
        status=None,
        requests=(),
    ),
    Row(
        "deployment-event/image-the-node-cannot-get-says-why",
        RefreshStatus(),
        history=(reconciled(), rollout(ready=0, updated=2), struggling_pod("web-new", 0, waiting="ErrImageNeverPull")),
        status=applied_status(
            ("False", AvailabilityReason.STARTUP_FAILED),
            since=(T1, T0, T1),
            message="pod web-new does not start: ErrImageNeverPull: back-off",
            fields={"replicas": 2},
        ),
        requests=(f"list Pod/{SELECTOR}", "log Pod/web-new", STATUS_WRITE),
    ),
    Row(
        "deployment-event/first-start-with-a-clean-log-says-nothing",
        RefreshStatus(),
        history=(reconciled(), rollout(ready=0, updated=2), struggling_pod("web-new", 0, log="[notice] resuming\n")),
        status=applied_status(("False", "ReplicasNotReady"), since=(T1, T0, T1), fields={"replicas": 2}),
        requests=(f"list Pod/{SELECTOR}", "log Pod/web-new", STATUS_WRITE),
    ),
    Row(
        "create/read-write-once-pod-claim-refused",
        CREATE,
        spec=(PVC_DIR,),
        history=(claim("data", "ReadWriteOncePod"),),
        status=held(Outcome.INVALID_REFERENCE, message="PersistentVolumeClaim 'data' (spec.writableDirs[0]"),
        outcome=Outcome.INVALID_REFERENCE,
        requests=("get PersistentVolumeClaim/data", GET_DEPLOYMENT, STATUS_WRITE),
    ),
    Row(
        "create/read-write-once-claim-with-two-replicas-refused",
        CREATE,
        spec=(PVC_DIR,),
        history=(claim("data", "ReadWriteOnce"),),
        status=held(Outcome.INVALID_REFERENCE, message="PersistentVolumeClaim 'data' (spec.writableDirs[0]"),
        outcome=Outcome.INVALID_REFERENCE,
        requests=("get PersistentVolumeClaim/data", GET_DEPLOYMENT, STATUS_WRITE),
    ),
    Row(
        "create/read-write-once-claim-with-one-replica",
        CREATE,
        spec=(PVC_DIR, {"replicas": 1}),
        history=(claim("data", "ReadWriteOnce"),),
        applies=CHILDREN,
        status=applied_status(),
        outcome=Outcome.APPLIED,
        corrected=CHILDREN,
    ),
    Row(
        "create/read-write-many-claim-with-autoscaling",
        CREATE,
        spec=(PVC_DIR, AUTOSCALING),
        history=(claim("data", "ReadWriteMany"),),
        applies=(*CHILDREN, HPA),
        status=applied_status(),
        outcome=Outcome.APPLIED,
        corrected=(*CHILDREN, HPA),
    ),
    Row(
        "create/read-write-once-claim-with-autoscaling-refused",
        CREATE,
        spec=(PVC_DIR, AUTOSCALING),
        history=(claim("data", "ReadWriteOnce"),),
        status=held(Outcome.INVALID_REFERENCE, message="may run 5 replicas"),
        outcome=Outcome.INVALID_REFERENCE,
        requests=("get PersistentVolumeClaim/data", GET_DEPLOYMENT, STATUS_WRITE),
    ),
    Row(
        "create/reference-read-error-propagates-before-any-status",
        CREATE,
        spec=(CODE_CM,),
        faults=(methodcaller("fail", "get", "ConfigMap", status=403),),
        raises=403,
        failed=("get-meta ConfigMap/code 403",),
        requests=("get-meta ConfigMap/code",),
    ),
    # ---- release
    Row(
        "create/release-runs-first-and-holds-the-server-back",
        CREATE,
        spec=(RELEASE_SPEC,),
        applies=BEFORE_RELEASE,
        status=held(
            Outcome.RELEASE_PENDING,
            message=f"release Job {JOB_NAME}: the release Job is running",
            fields={"release": {"job": JOB_NAME, "state": "Running", "message": RUNNING}},
        ),
        outcome=Outcome.RELEASE_PENDING,
        absent=(DEPLOY, CM_ENTRY, CM_CONFIG),
    ),
    Row(
        "release/succeeded-then-the-server-rolls",
        RELEASE,
        spec=(RELEASE_SPEC,),
        history=(reconciled(RELEASE_SPEC), job_finished(RELEASE_SPEC, "Complete")),
        applies=(*BEFORE_RELEASE, *WITH_RELEASE),
        status=applied_status(
            since=(T1, T1, T1),
            fields={"release": {"job": JOB_NAME, "state": "Succeeded", "message": SUCCEEDED, "succeededJob": JOB_NAME}},
        ),
        outcome=Outcome.APPLIED,
        corrected=(CM_ENTRY, CM_CONFIG, DEPLOY),
        present=(DEPLOY, CM_ENTRY, CM_CONFIG),
    ),
    Row(
        "resync/released-version-is-not-released-again",
        RESYNC,
        spec=(RELEASE_SPEC,),
        history=(
            reconciled(RELEASE_SPEC),
            job_finished(RELEASE_SPEC, "Complete"),
            reconciled(RELEASE_SPEC, trigger=Trigger.RELEASE),
            relisted(),
        ),
        applies=WITH_RELEASE,
        outcome=Outcome.APPLIED,
        writes=(),
    ),
    Row(
        "resync/released-version-unchanged-sends-no-request",
        RESYNC,
        spec=(RELEASE_SPEC,),
        history=(
            reconciled(RELEASE_SPEC),
            job_finished(RELEASE_SPEC, "Complete"),
            reconciled(RELEASE_SPEC, trigger=Trigger.RELEASE),
        ),
        outcome=Outcome.APPLIED,
        requests=(),
    ),
    Row(
        "release/failed-keeps-the-old-version-and-shows-the-log",
        RELEASE,
        spec=NEW_RELEASE,
        generation=2,
        history=(
            reconciled(RELEASE_SPEC),
            job_finished(RELEASE_SPEC, "Complete"),
            reconciled(RELEASE_SPEC, trigger=Trigger.RELEASE),
            rollout(),
            reconciled(*NEW_RELEASE, generation=2, trigger=Trigger.UPDATE),
            job_finished(
                {**RELEASE_SPEC, **NEW_IMAGE},
                "Failed",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
                log="Operations to perform:\ndjango.db.utils.OperationalError: no such table: shop_order\n",
            ),
        ),
        applies=(SA, NETPOL, NP_REL, SVC, NEW_JOB, PDB),
        status=held(
            Outcome.RELEASE_FAILED,
            AVAILABLE,
            generation=2,
            since=(T0, T0, T0),
            message=f"release Job {NEW_JOB_NAME} failed, the current version keeps serving: BackoffLimitExceeded: "
            "Job has reached the specified backoff limit; last log lines of pod "
            f"{NEW_JOB_NAME}-x1:\nOperations to perform:\ndjango.db.utils.OperationalError: no such table",
            fields={
                "release": {
                    "job": NEW_JOB_NAME,
                    "state": "Failed",
                    "message": FAILED_LOG,
                    "succeededJob": JOB_NAME,
                }
            },
        ),
        outcome=Outcome.RELEASE_FAILED,
        kept=(DEPLOY, CM_ENTRY, CM_CONFIG, JOB),
    ),
    # ---- NameConflict
    Row(
        "create/foreign-service",
        CREATE,
        history=(foreign("Service", "web"),),
        status=held(Outcome.NAME_CONFLICT, message="Service 'web' already exist(s) and are not owned"),
        outcome=Outcome.NAME_CONFLICT,
        requests=(*GETS_META, GET_DEPLOYMENT, STATUS_WRITE),
        kept=(SVC,),
    ),
    Row(
        "create/deployment-of-a-previous-wsgiapp",
        CREATE,
        history=(owned_by_other("Deployment", "web"), rollout()),
        status=held(Outcome.NAME_CONFLICT, NO_DEPLOYMENT, message="Deployment 'web' already exist(s)"),
        outcome=Outcome.NAME_CONFLICT,
        kept=(DEPLOY,),
    ),
    Row(
        "create/every-conflict-named",
        CREATE,
        spec=(INGRESS,),
        history=(foreign("ConfigMap", "web-config"), foreign("Ingress", "web")),
        status=held(Outcome.NAME_CONFLICT, message="ConfigMap 'web-config', Ingress 'web' already exist(s)"),
        outcome=Outcome.NAME_CONFLICT,
        kept=(CM_CONFIG, ING),
    ),
    # ---- ApplyFailed: what was applied stays, nothing is pruned, the error propagates
    Row(
        "create/third-apply-fails",
        CREATE,
        faults=(methodcaller("fail_nth_apply", 3),),
        applies=(SA, NETPOL, CM_ENTRY),
        status=held(
            Outcome.APPLY_FAILED, message="500 Internal Server Error: injected 500 on apply ConfigMap/web-entry"
        ),
        raises=500,
        failed=("apply ConfigMap/web-entry 500",),
        requests=(*GETS_META, *APPLIES[:3], GET_DEPLOYMENT, STATUS_WRITE),
        present=(SA, NETPOL),
        absent=(CM_ENTRY, DEPLOY),
    ),
    Row(
        "update/failed-apply-prunes-nothing",
        UPDATE,
        generation=2,
        history=(applied(INGRESS),),
        faults=(methodcaller("fail_nth_apply", 6, 503),),
        applies=CHILDREN[:6],
        status=held(Outcome.APPLY_FAILED, PENDING, generation=2, message="503 Service Unavailable"),
        raises=503,
        failed=("apply Deployment/web 503",),
        kept=(ING,),
    ),
    Row(
        "create/conflict-on-a-name",
        CREATE,
        faults=(methodcaller("conflict_on", "web-config"),),
        applies=(SA, NETPOL, CM_ENTRY, CM_CONFIG),
        status=held(Outcome.APPLY_FAILED, message="409 Conflict"),
        raises=409,
        failed=("apply ConfigMap/web-config 409",),
    ),
    Row(
        "create/autoscaler-rejected",
        CREATE,
        spec=(AUTOSCALING,),
        faults=(methodcaller("reject_kind", "HorizontalPodAutoscaler"),),
        applies=(*CHILDREN, HPA),
        status=held(Outcome.APPLY_FAILED, PENDING, message="422 Unprocessable Entity"),
        raises=422,
        failed=("apply HorizontalPodAutoscaler/web 422",),
        present=CHILDREN,
    ),
    Row(
        "create/route-without-gateway-api",
        CREATE,
        spec=(HTTP_ROUTE,),
        faults=(methodcaller("fail", "apply", "HTTPRoute", status=404, message="the server could not find it"),),
        applies=(*CHILDREN, ROUTE),
        status=held(Outcome.APPLY_FAILED, PENDING, message="404 Not Found: the server could not find it"),
        raises=404,
        failed=("apply HTTPRoute/web 404",),
    ),
    Row(
        "update/prune-fails",
        UPDATE,
        generation=2,
        history=(applied(INGRESS),),
        faults=(methodcaller("fail", "delete", "Ingress"),),
        applies=CHILDREN,
        deletes=((ING, "Ingress/web#1"),),
        status=held(Outcome.APPLY_FAILED, PENDING, generation=2, message="500 Internal Server Error"),
        raises=500,
        failed=("delete Ingress/web 500",),
        present=(ING,),
    ),
    # ---- pruning
    Row(
        "update/ingress-removed-is-pruned",
        UPDATE,
        generation=2,
        history=(applied(INGRESS),),
        applies=CHILDREN,
        deletes=((ING, "Ingress/web#1"),),
        status=applied_status(generation=2, fields={"url": SVC_URL}),
        outcome=Outcome.APPLIED,
        pruned=(ING,),
        absent=(ING,),
    ),
    Row(
        "update/prune-of-a-replaced-object-is-refused",
        UPDATE,
        generation=2,
        history=(applied(INGRESS),),
        unseen=(recreated(ING),),
        applies=CHILDREN,
        deletes=((ING, "Ingress/web#1"),),
        status=applied_status(generation=2),
        outcome=Outcome.APPLIED,
        kept=(ING,),
    ),
    Row(
        "update/prune-of-an-object-already-gone",
        UPDATE,
        generation=2,
        history=(applied(INGRESS),),
        unseen=(deleted(ING),),
        applies=CHILDREN,
        deletes=((ING, "Ingress/web#1"),),
        status=applied_status(generation=2),
        outcome=Outcome.APPLIED,
    ),
    Row(
        "create/foreign-objects-never-deleted",
        CREATE,
        history=(foreign("Ingress", "web"), foreign("HorizontalPodAutoscaler", "web")),
        applies=CHILDREN,
        status=applied_status(),
        outcome=Outcome.APPLIED,
        corrected=CHILDREN,
        kept=(ING, HPA),
    ),
    # ---- watches behind the operator's own writes
    Row(
        "resync/stale-index-after-own-field-set-change-is-not-drift",
        RESYNC,
        spec=(AUTOSCALING,),
        generation=2,
        history=(reconciled(),),
        unseen=(reconciled(AUTOSCALING, generation=2, trigger=Trigger.UPDATE),),
        applies=(*CHILDREN, HPA),
        outcome=Outcome.APPLIED,
        writes=(),
    ),
    Row(
        "resync/foreign-object-behind-a-stale-index-is-not-taken-over",
        RESYNC,
        history=(reconciled(), relisted()),
        unseen=(deleted(SVC), foreign("Service", "web")),
        applies=(SA, NETPOL, CM_ENTRY, CM_CONFIG, SVC),
        status=held(Outcome.NAME_CONFLICT, PENDING, since=(T1, T1, T0)),
        outcome=Outcome.NAME_CONFLICT,
        failed=(f"apply {SVC} 422",),
        kept=(SVC,),
    ),
    Row(
        "resync/child-deleted-behind-a-stale-index-is-recreated",
        RESYNC,
        history=(reconciled(), relisted()),
        unseen=(deleted(SVC),),
        applies=(SA, NETPOL, CM_ENTRY, CM_CONFIG, SVC, SVC, DEPLOY, PDB),
        outcome=Outcome.APPLIED,
        corrected=(SVC,),
        events=(drift_event(SVC),),
        failed=(f"apply {SVC} 409",),
    ),
    # ---- status writes
    Row(
        "create/status-404-wsgiapp-deleted-meanwhile",
        CREATE,
        faults=(methodcaller("fail", "patch_status", status=404),),
        applies=CHILDREN,
        status=applied_status(),
        outcome=Outcome.APPLIED,
        corrected=CHILDREN,
        failed=(f"{STATUS_WRITE} 404",),
    ),
    Row(
        "create/status-500-propagates",
        CREATE,
        faults=(methodcaller("fail", "patch_status", status=500),),
        applies=CHILDREN,
        status=applied_status(),
        raises=500,
        failed=(f"{STATUS_WRITE} 500",),
    ),
    # ---- drift
    Row(
        "resync/removed-label-restored-and-reported",
        RESYNC,
        history=(reconciled(), drifted(SVC, SVC_LABEL)),
        applies=CHILDREN,
        events=(drift_event(SVC),),
        outcome=Outcome.APPLIED,
        corrected=(SVC,),
        requests=(*APPLIES, EVENT_POST),
        writes=("apply Service/web", EVENT_POST),
        validations=0,
    ),
    Row(
        "drift/scaled-deployment-scaled-back",
        DRIFT,
        history=(reconciled(), drifted(DEPLOY, ("spec", "replicas"), 5)),
        applies=CHILDREN,
        status=applied_status(since=(T0, T0, T0), message="generation 3 of the Deployment"),
        events=(drift_event(DEPLOY),),
        outcome=Outcome.APPLIED,
        corrected=(DEPLOY,),
        writes=("apply Deployment/web", STATUS_WRITE, EVENT_POST),
    ),
    Row(
        "resync/changed-and-deleted-children-in-one-event",
        RESYNC,
        history=(reconciled(), drifted(SVC, SVC_LABEL), deleted(NETPOL)),
        applies=CHILDREN,
        events=(drift_event(NETPOL, SVC),),
        outcome=Outcome.APPLIED,
        corrected=(NETPOL, SVC),
        requests=("get-meta NetworkPolicy/web", *APPLIES, EVENT_POST),
        writes=("apply NetworkPolicy/web", "apply Service/web", EVENT_POST),
    ),
    Row(
        "update/drift-corrected-without-event",
        UPDATE,
        history=(reconciled(), drifted(SVC, SVC_LABEL)),
        applies=CHILDREN,
        outcome=Outcome.APPLIED,
        corrected=(SVC,),
        writes=("apply Service/web",),
    ),
    Row(
        "resume/drift-corrected-without-event",
        RESUME,
        history=(reconciled(), drifted(SVC, SVC_LABEL), restarted()),
        applies=CHILDREN,
        outcome=Outcome.APPLIED,
        corrected=(SVC,),
        writes=("apply Service/web",),
    ),
    Row(
        "resync/lost-event-does-not-fail-the-reconcile",
        RESYNC,
        history=(reconciled(), drifted(SVC, SVC_LABEL)),
        faults=(methodcaller("fail", "post_event", status=403),),
        applies=CHILDREN,
        outcome=Outcome.APPLIED,
        corrected=(SVC,),
        failed=(f"{EVENT_POST} 403",),
    ),
    Row(
        "resync/full-one-takes-fields-of-other-managers-for-no-drift",
        RESYNC,
        history=(reconciled(), drifted(SVC, ("metadata", "labels", "team"), "payments"), resynced(BEFORE_FULL)),
        applies=CHILDREN,
        outcome=Outcome.APPLIED,
        writes=(),
    ),
    Row(
        "resync/full-one-takes-a-rollout-restart-for-no-drift",
        RESYNC,
        history=(
            reconciled(),
            drifted(DEPLOY, ("spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt"), T0),
            resynced(BEFORE_FULL),
        ),
        applies=CHILDREN,
        status=applied_status(since=(T0, T0, T0), message="generation 2 of the Deployment"),
        outcome=Outcome.APPLIED,
        writes=(STATUS_WRITE,),
    ),
    # ---- correct_drift: the watch event of one child
    Row(
        "child-event/echo-of-own-apply-costs-one-get",
        CorrectDrift(DEPLOY),
        history=(reconciled(),),
        requests=(GET_DEPLOYMENT,),
        validations=0,
    ),
    Row(
        "child-event/drift-already-corrected-costs-one-get",
        CorrectDrift(SVC),
        history=(reconciled(), drifted(SVC, SVC_LABEL), reconciled(trigger=Trigger.RESYNC)),
        requests=("get Service/web",),
    ),
    Row(
        "child-event/changed-child-restored",
        CorrectDrift(SVC),
        history=(reconciled(), drifted(SVC, SVC_LABEL)),
        applies=CHILDREN,
        events=(drift_event(SVC),),
        outcome=Outcome.APPLIED,
        corrected=(SVC,),
        requests=("get Service/web", *APPLIES, EVENT_POST),
    ),
    Row(
        "child-event/deleted-child-recreated",
        CorrectDrift(NETPOL),
        history=(reconciled(), deleted(NETPOL)),
        applies=CHILDREN,
        events=(drift_event(NETPOL),),
        outcome=Outcome.APPLIED,
        corrected=(NETPOL,),
        requests=("get NetworkPolicy/web", "get-meta WsgiApp/web", "get-meta NetworkPolicy/web", *APPLIES, EVENT_POST),
        present=(NETPOL,),
    ),
    Row(
        "child-event/children-of-a-deleted-wsgiapp-are-left-to-the-garbage-collector",
        CorrectDrift(NETPOL),
        history=(reconciled(), deleted(NETPOL)),
        unseen=(gone_app(),),
        requests=("get NetworkPolicy/web", "get-meta WsgiApp/web"),
        absent=(NETPOL,),
    ),
    Row(
        "child-event/child-replaced-by-a-foreign-object",
        CorrectDrift(SVC),
        history=(reconciled(), deleted(SVC), foreign("Service", "web")),
        status=held(Outcome.NAME_CONFLICT, PENDING, since=(T1, T1, T0), fields={"url": SVC_URL}),
        outcome=Outcome.NAME_CONFLICT,
        requests=("get Service/web", "get-meta Service/web", GET_DEPLOYMENT, STATUS_WRITE),
        kept=(SVC,),
    ),
    # ---- refresh_status: a Deployment event
    Row(
        "deployment-event/before-the-first-reconcile-does-nothing",
        RefreshStatus(),
        history=(applied(), rollout()),
        requests=(),
    ),
    Row(
        "deployment-event/pods-ready",
        RefreshStatus(),
        history=(reconciled(), rollout()),
        status=applied_status(AVAILABLE, since=(T1, T0, T1), fields={"replicas": 2, "url": SVC_URL}),
        requests=(STATUS_WRITE,),
    ),
    Row(
        "deployment-event/nothing-new",
        RefreshStatus(),
        history=(reconciled(),),
        requests=(),
    ),
    Row(
        "deployment-event/refusal-stays-in-ready",
        RefreshStatus(),
        spec=(CODE_CM,),
        history=(applied(), reconciled(CODE_CM), rollout()),
        status=held(Outcome.MISSING_REFERENCE, AVAILABLE, since=(T0, T0, T1), fields={"readyReplicas": 2}),
        requests=(STATUS_WRITE,),
    ),
]


# -- the runner -----------------------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_reconciler(row: Row, monkeypatch: pytest.MonkeyPatch) -> None:
    w = World(FakeKube())

    def counting_validate(obj: Any) -> Any:
        w.validations.append(obj["metadata"]["name"])
        return validate(obj)

    monkeypatch.setattr(reconcile_module, "validate", counting_validate)
    w.fake.put(app_body(*row.spec, generation=row.generation))
    for step in row.history:
        step(w)
    w.set_app(row.spec, row.generation)
    index = w.index()
    for step in row.unseen:
        step(w)
    for fault in row.faults:
        fault(w.fake)
    versions = w.versions()
    w.fake.reset_calls()
    w.validations.clear()
    w.now = T1

    raised: int | None = None
    result: Result | None = None
    try:
        result = row.act(w, index)
    except ApiError as err:
        raised = err.status

    patches = w.fake.status_patches()
    assert len(patches) <= 1, patches
    assert all((e.kind, e.name, e.uid, e.time) == (KIND, APP, UID, T1) for e in w.fake.events)
    seen: dict[str, Any] = {
        "applies": tuple(w.fake.applies()),
        "deletes": tuple(w.fake.deletes()),
        "status": _seen_status(patches[0], row.status) if patches and row.status else (patches or None),
        "events": tuple(f"{e.reason}: {e.message.split(':')[0]}" for e in w.fake.events),
        "outcome": result.outcome if result else None,
        "corrected": tuple(result.corrected) if result else (),
        "pruned": tuple(result.pruned) if result else (),
        "raises": raised,
        "failed": tuple(w.fake.failures()),
    }
    wanted: dict[str, Any] = {k: getattr(row, k) for k in seen}
    optional = {
        "requests": tuple(w.fake.requests()),
        "writes": tuple(w.fake.writes()),
        "validations": len(w.validations),
    }
    for key, value in optional.items():
        if getattr(row, key) is not None:
            seen[key], wanted[key] = value, getattr(row, key)
    now = w.versions()
    seen["present"], wanted["present"] = tuple(c for c in row.present if c in now), row.present
    seen["absent"], wanted["absent"] = tuple(c for c in row.absent if c not in now), row.absent
    seen["kept"] = tuple(c for c in row.kept if c in now and now[c] == versions.get(c))
    wanted["kept"] = row.kept
    assert seen == wanted


def test_rows_are_unique() -> None:
    assert len({r.id for r in ROWS}) == len(ROWS) >= 30


# -- the dispatcher: child events after which a resync may not trust the index ------------


def _resync_after(w: World, event: tuple[str | None, dict[str, Any]] | None, index: list[ChildRef]) -> list[str]:
    """The requests of a resync through the Dispatcher with ``index``, after the child ``event`` (if any)."""

    async def run() -> None:
        apps = {(NS, APP): [w.body()]}
        if event is not None:
            await dispatcher.child_changed(*event, apps, {UID: index})
        w.fake.reset_calls()
        await dispatcher.reconcile(w.body(), {UID: index}, Trigger.RESYNC)

    dispatcher = Dispatcher(w.reconciler, 1)
    try:
        asyncio.run(run())
    finally:
        dispatcher.close()
    return w.fake.requests()


def _converged_world() -> World:
    w = World(FakeKube())
    w.fake.put(app_body())
    reconciled()(w)
    return w


def test_listing_event_makes_the_next_resync_apply_everything() -> None:
    w = _converged_world()
    assert _resync_after(w, None, w.index()) == []
    # kopf's watch of Services started over (410 Gone) and listed them: type None.
    listed = w.fake.peek("Service", APP)
    assert _resync_after(w, (None, listed), w.index()) == list(APPLIES)
    assert _resync_after(w, None, w.index()) == []


def test_removed_owner_reference_makes_the_next_resync_restore_it() -> None:
    w = _converged_world()
    index = w.index()
    # Without its ownerReference no WsgiApp controls the Service: the index
    # handler returns None for it, and kopf keeps the entry as it was.
    w.fake.drift("Service", APP, ("metadata", "ownerReferences"))
    assert _resync_after(w, None, index) == [], "the stale entry alone looks unchanged"
    assert _resync_after(w, ("MODIFIED", w.fake.peek("Service", APP) or {}), index) == list(APPLIES)
    assert [o["uid"] for o in (w.fake.peek("Service", APP) or {})["metadata"]["ownerReferences"]] == [UID]
    assert "apply Service/web" in w.fake.writes()


# -- the fake itself: what the rows rely on --------------------------------------------


def _deployment(fake: FakeKube) -> dict[str, Any]:
    children = render(validate(app_body()), SETTINGS)
    for child in children:
        fake.apply(child)
    return next(c for c in children if c["kind"] == "Deployment")


def test_fake_noop_apply_keeps_version_and_signature() -> None:
    fake = FakeKube()
    manifest = _deployment(fake)
    before = fake.peek("Deployment", APP)
    stored = fake.apply(manifest)
    assert before is not None
    assert stored["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert managed_signature(stored) == managed_signature(before) != ""
    assert fake.writes()[-1] != "apply Deployment/web"


def test_fake_drift_moves_ownership_and_apply_takes_it_back() -> None:
    fake = FakeKube()
    manifest = _deployment(fake)
    signature = managed_signature(fake.peek("Deployment", APP) or {})
    fake.drift("Deployment", APP, ("spec", "replicas"), 5)
    assert ("spec", "replicas") not in fake.operator_fields("Deployment", APP)
    assert managed_signature(fake.peek("Deployment", APP) or {}) != signature
    stored = fake.apply(manifest)
    assert (stored["spec"]["replicas"], managed_signature(stored)) == (2, signature)
    assert [e["manager"] for e in stored["metadata"]["managedFields"]] == ["wsgi-operator"]


def test_fake_apply_drops_fields_no_longer_applied_and_keeps_other_managers() -> None:
    fake = FakeKube()
    manifest = _deployment(fake)
    annotations = ("spec", "template", "metadata", "annotations")
    fake.drift("Deployment", APP, (*annotations, "kubectl.kubernetes.io/restartedAt"), T0)
    smaller = {**manifest, "spec": {k: v for k, v in manifest["spec"].items() if k != "revisionHistoryLimit"}}
    stored = fake.apply(smaller)
    assert "revisionHistoryLimit" not in stored["spec"]
    assert stored["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] == T0


def test_fake_metadata_only_get_and_uid_guarded_delete() -> None:
    fake = FakeKube()
    _deployment(fake)
    resource = next(r for r in CHILD_RESOURCES if r.kind == "Deployment")
    meta = fake.get(resource, NS, APP, metadata_only=True)
    assert meta is not None
    assert set(meta) == {"apiVersion", "kind", "metadata"}
    assert meta["kind"] == "PartialObjectMetadata"
    assert fake.delete(resource, NS, APP, "not-its-uid") is False
    assert fake.delete(resource, NS, APP, meta["metadata"]["uid"]) is True
    assert fake.delete(resource, NS, APP, meta["metadata"]["uid"]) is False
    assert fake.deletes() == [(DEPLOY, "not-its-uid"), (DEPLOY, "Deployment/web#1"), (DEPLOY, "Deployment/web#1")]
