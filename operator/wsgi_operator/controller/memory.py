"""What the operator remembers of each WsgiApp between reconciles.

Nothing here is needed for correctness after a restart (resume reconciles
every app and rebuilds it); it saves work and requests: a spec already
validated is not evaluated again, a status unchanged is not written, and a
child event that only echoes the operator's own apply is not taken for drift.
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


class Memory:
    """Every app's ``AppMemory``: written by the reconciler, asked by the dispatcher.

    Thread-safe across apps; one app's entry is only touched under that
    app's lock (``dispatch.AppLocks``).
    """

    def __init__(self) -> None:
        self._apps: dict[str, AppMemory] = {}
        self._lock = threading.Lock()

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
