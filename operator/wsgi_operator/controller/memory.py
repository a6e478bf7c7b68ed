"""What the operator remembers of each WsgiApp between reconciles.

Nothing here is needed for correctness after a restart (resume reconciles
every app and rebuilds it); it saves work and requests: a spec already
validated is not evaluated again, a status unchanged is not written, a
child event that only echoes the operator's own apply is not taken for drift,
and a resync that finds every child as the last full reconcile left it (see
``Converged``) applies nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .children import ChildKey, key_of, managed_signature
from .status import Observation


@dataclass(frozen=True)
class AppliedChild:
    """A child as the operator's last apply of it left it."""

    uid: str
    resource_version: str
    #: ``managed_signature``: the drift check.
    signature: str

    @classmethod
    def of(cls, stored: Mapping[str, Any]) -> AppliedChild:
        """From the object an apply returned."""
        meta = stored["metadata"]
        return cls(meta["uid"], meta.get("resourceVersion", ""), managed_signature(stored))

    def unchanged_in(self, stored: Mapping[str, Any]) -> bool:
        """True if nobody (the operator included) has written ``stored`` since this apply."""
        meta = stored["metadata"]
        return meta["uid"] == self.uid and meta.get("resourceVersion") == self.resource_version


@dataclass(frozen=True)
class Converged:
    """What the last reconcile that applied every child (outcome Applied) left behind.

    A resync may skip the applies only while this holds: the rendered
    children are still these, and the watches have not relisted since.
    """

    #: ``rendered_digest`` of the children it applied.
    rendered: str
    #: ``Memory.epoch`` when it started: a relist since may hide a deletion from the index.
    epoch: int


@dataclass
class AppMemory:
    """What is remembered of one WsgiApp (by uid)."""

    #: Each child as the last apply left it.
    applied: dict[ChildKey, AppliedChild] = field(default_factory=dict)
    #: (spec as JSON, CEL errors) of the last spec validated: the CEL rules
    #: depend on the spec alone and cost milliseconds per app, so an
    #: unchanged spec (resyncs, drift, status) is not evaluated again.
    validated: tuple[str, list[str]] | None = None
    #: The status last written: the operator is its only writer, so this is
    #: fresher than a watch event that may still be on its way.
    status: dict[str, Any] | None = None
    #: The last reconcile's outcome, reused when only the Deployment's state changed.
    observation: Observation | None = None
    #: Set by a reconcile that applied every child; None after any other outcome, and
    #: whenever a watch event says the children index may be wrong (``Memory.distrust``).
    converged: Converged | None = None
    #: Periodic resyncs of this app in this process (which of them apply everything anyway).
    resyncs: int = 0


class Memory:
    """Every app's ``AppMemory``: written by the reconciler, asked by the dispatcher.

    Thread-safe across apps; one app's entry is only touched under that
    app's lock (``dispatch.AppLocks``).
    """

    def __init__(self) -> None:
        self._apps: dict[str, AppMemory] = {}
        self._lock = threading.Lock()
        self._epoch = 0

    @property
    def epoch(self) -> int:
        """How many listing events the child watches have delivered (see ``relisted``)."""
        return self._epoch

    def relisted(self) -> None:
        """A child watch (re)listed its objects: kopf's start, or a restart after 410 Gone.

        kopf does not drop from its index the objects deleted while its watch
        was away, so until every app has applied everything again, the index
        may list a child that is gone: no ``Converged`` from before counts.
        """
        with self._lock:
            self._epoch += 1

    def distrust(self, uid: str) -> None:
        """The next reconcile of this app applies every child, whatever the index says."""
        with self._lock:
            app = self._apps.get(uid)
        if app is not None:
            app.converged = None

    def of(self, uid: str) -> AppMemory:
        """The memory of the WsgiApp with ``uid`` (empty the first time)."""
        with self._lock:
            return self._apps.setdefault(uid, AppMemory())

    def forget(self, uid: str) -> None:
        """Drop what is remembered of a deleted WsgiApp."""
        with self._lock:
            self._apps.pop(uid, None)

    def drifted(self, uid: str, live: Mapping[str, Any]) -> bool:
        """Has someone else taken or removed fields the last apply set on ``live``? (True if unknown.)"""
        applied = self.of(uid).applied.get(key_of(live))
        return applied is None or applied.signature != managed_signature(live)
