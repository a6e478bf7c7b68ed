"""From watch events to reconciles: one app at a time, blocking work off the event loop.

The kopf handlers call a ``Dispatcher`` with what kopf gives them (bodies and
the two in-memory indexes fed by the watches); the dispatcher decides whether
a child event is drift worth a reconcile or only news for the status, and
runs the synchronous ``Reconciler`` in a thread pool, serialised per app.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, TypeVar

from ..render.meta import APP_LABEL
from .apply import DEPLOYMENT
from .children import ChildRef, controller_uid
from .pods import struggling
from .reconcile import Reconciler, Result, Trigger

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Threads writing status after Deployment events.
STATUS_WORKERS = 4

#: (namespace, name) -> bodies of the WsgiApps of that name (one, unless mid-recreation).
AppIndex = Mapping[tuple[str, str], Iterable[Mapping[str, Any]]]
#: WsgiApp uid -> the children the watches have seen with it as controller.
ChildIndex = Mapping[str, Iterable[ChildRef]]


class AppLocks:
    """One asyncio lock per WsgiApp: its reconciles and status refreshes run one after the other.

    The WsgiApp's own handler, its children's watch events and the periodic
    resync can all ask for the same app at once; they wait here as coroutines
    (not as blocked threads) and run in turn.
    """

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    def __call__(self, uid: str) -> asyncio.Lock:
        """The lock of the WsgiApp with ``uid``."""
        return self._locks.setdefault(uid, asyncio.Lock())

    def forget(self, uid: str) -> None:
        """Drop the lock of a deleted WsgiApp (a late waiter simply makes a new one)."""
        lock = self._locks.get(uid)
        if lock is not None and not lock.locked():
            del self._locks[uid]


def indexed_app(body: Mapping[str, Any]) -> dict[str, Any]:
    """A WsgiApp's body as the ``wsgiapps`` index keeps it: without metadata.managedFields.

    Nothing reads them, and they are more than half of what a body takes in
    memory (23 of 42 KiB for the benchmark's apps, once status is written).
    """
    meta = {k: v for k, v in body["metadata"].items() if k != "managedFields"}
    return {**body, "metadata": meta}


def _owner_app(child: Mapping[str, Any], apps: AppIndex) -> Mapping[str, Any] | None:
    """The WsgiApp body controlling ``child``, if the watches know it."""
    uid = controller_uid(child)
    if uid is None:
        return None
    owner = next(r for r in child["metadata"]["ownerReferences"] if r.get("uid") == uid)
    for body in apps.get((child["metadata"]["namespace"], owner["name"]), ()):
        if body["metadata"]["uid"] == uid:
            return body
    return None


class Dispatcher:
    """Routes WsgiApp and child events to reconciles and status refreshes."""

    def __init__(self, reconciler: Reconciler, workers: int) -> None:
        self.reconciler = reconciler
        self.locks = AppLocks()
        self.reconciles = ThreadPoolExecutor(workers, thread_name_prefix="reconcile")
        # A reconcile waits for one of these before it takes its app's lock,
        # so that one waiting its turn (behind a burst of creations, say) does
        # not hold back the app's status refreshes and child events meanwhile.
        self._slots = asyncio.Semaphore(workers)
        # uid -> reconciles of that app waiting or running: a resync would add nothing.
        self._pending: Counter[str] = Counter()
        # Status refreshes (one small PATCH) get threads of their own: queued
        # behind a burst of creations they would report pods Ready late.
        self.refreshes = ThreadPoolExecutor(STATUS_WORKERS, thread_name_prefix="status")

    def close(self) -> None:
        """Wait for running work and drop what is queued (the next start resumes it)."""
        for pool in (self.reconciles, self.refreshes):
            pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    async def _blocking(pool: Executor, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    async def reconcile(self, body: Mapping[str, Any], children: ChildIndex, trigger: Trigger) -> Result | None:
        """Reconcile one WsgiApp; None if it is being deleted (garbage collection takes over)."""
        if body["metadata"].get("deletionTimestamp"):
            return None
        uid = body["metadata"]["uid"]
        self._pending[uid] += 1
        try:
            async with self._slots, self.locks(uid):
                # Read the index here, in the event loop that updates it, and only
                # once earlier work on this app is done: the freshest view there is.
                existing = list(children.get(uid, ()))
                return await self._blocking(self.reconciles, self.reconciler.reconcile, body, existing, trigger)
        finally:
            self._pending[uid] -= 1
            if not self._pending[uid]:
                del self._pending[uid]

    async def child_changed(
        self, event_type: str | None, child: Mapping[str, Any], apps: AppIndex, children: ChildIndex
    ) -> None:
        """A watched child was added, modified or deleted."""
        if event_type is None:
            # A listing: kopf's start (resume reconciles every app anyway), or
            # its watch starting over after 410 Gone. What changed meanwhile is
            # in the index, but no event says so, and what was deleted meanwhile
            # is still there: no resync may trust the index until it applied.
            self.reconciler.memory.relisted()
            return
        app = _owner_app(child, apps)
        if app is None:
            # No WsgiApp the watches know controls it. If it was one of ours
            # whose ownerReference someone removed, the index keeps it as it
            # was (kopf keeps the last value when the index handler returns
            # None): the next resync of the app it is labelled with applies.
            meta = child["metadata"]
            for body in list(apps.get((meta["namespace"], (meta.get("labels") or {}).get(APP_LABEL, "")), ())):
                labelled = body["metadata"]["uid"]
                async with self.locks(labelled):  # after a reconcile under way, which would say it converged
                    self.reconciler.memory.distrust(labelled)
            return
        if app["metadata"].get("deletionTimestamp"):
            return  # its WsgiApp is going: garbage collection removes the child
        uid = app["metadata"]["uid"]
        # Compared under the lock: the events of the app's own reconcile wait
        # for it to finish and are then checked against what it applied.
        async with self.locks(uid):
            if event_type == "DELETED" or self.reconciler.memory.drifted(uid, child):
                existing = list(children.get(uid, ()))
                await self._blocking(self.reconciles, self.reconciler.correct_drift, app, existing, child)
            elif child["kind"] == DEPLOYMENT.kind and child["apiVersion"] == DEPLOYMENT.api_version:
                await self._blocking(self.refreshes, self.reconciler.refresh_status, app, child)
            elif child["kind"] == "Job" and child["apiVersion"] == "batch/v1":
                # A release Job moved on: the rollout it holds back may now go ahead (or stop).
                existing = list(children.get(uid, ()))
                await self._blocking(self.reconciles, self.reconciler.reconcile, app, existing, Trigger.RELEASE)

    async def pod_changed(self, event_type: str | None, pod: Mapping[str, Any], apps: AppIndex) -> None:
        """A pod labelled as an app's changed: if it fails to start, status says why."""
        if event_type not in ("ADDED", "MODIFIED") or not struggling(pod):
            return
        meta = pod["metadata"]
        for app in list(apps.get((meta["namespace"], (meta.get("labels") or {}).get(APP_LABEL, "")), ())):
            if app["metadata"].get("deletionTimestamp"):
                continue
            async with self.locks(app["metadata"]["uid"]):
                await self._blocking(self.refreshes, self.reconciler.refresh_from_pod, app)

    def forget(self, uid: str) -> None:
        """A WsgiApp was deleted: drop its lock and what the reconciler remembers of it."""
        self.locks.forget(uid)
        self.reconciler.memory.forget(uid)

    async def resync_forever(self, apps: AppIndex, children: ChildIndex, interval: float) -> None:
        """Every ``interval`` seconds, reconcile every known WsgiApp (catches what the watches missed).

        An app with a reconcile waiting or running already is left out: that
        reconcile reads the index after it, as the resync would.
        """
        while True:
            await asyncio.sleep(interval)
            bodies = [
                body
                for group in list(apps.values())
                for body in list(group)
                if body["metadata"]["uid"] not in self._pending
            ]
            results = await asyncio.gather(
                *(self.reconcile(body, children, Trigger.RESYNC) for body in bodies), return_exceptions=True
            )
            for body, result in zip(bodies, results, strict=True):
                if isinstance(result, BaseException):
                    meta = body["metadata"]
                    log.warning("resync of %s/%s failed: %s", meta["namespace"], meta["name"], result)
