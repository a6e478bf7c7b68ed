"""An in-memory stand-in for the reconciler's ``KubeClient`` (controller/apply.py), for unit tests.

Not a fake API server: it implements the five calls the reconciler makes
(get, apply, delete, patch_status, post_event) over a dict of objects keyed
by (apiVersion, kind, namespace, name), and as much of the server's behaviour
as the reconciler depends on:

- **apply** is server-side apply by the ``wsgi-operator`` field manager with
  force. The operator's field set is kept in ``metadata.managedFields`` as one
  ``{"manager": "wsgi-operator", "operation": "Apply", "fieldsV1": ...}``
  entry derived from the key paths of the applied object (lists are atomic),
  so ``children.managed_signature`` behaves as on a real server: an apply that
  changes nothing keeps the object, its resourceVersion and the entry; a
  changed field set changes the signature. Fields the operator stops applying
  are removed unless another manager owns them; fields other managers set and
  the operator does not apply stay. Create assigns ``uid`` (``Kind/name#n``,
  n counting the creations of that name) and ``resourceVersion``; a change to
  ``spec`` bumps ``metadata.generation``.
- **get** with ``metadata_only`` answers like a PartialObjectMetadata request:
  apiVersion ``meta.k8s.io/v1``, kind ``PartialObjectMetadata`` and metadata.
- A ``metadata.uid`` in an applied object is a precondition, answered as
  kube-apiserver 1.35 answers it (measured): 422 "field is immutable" when
  the stored object has another uid, 409 "uid mismatch" when there is none.
- **delete** honours the uid precondition: False if the object is gone or has
  another uid.
- **patch_status** is a JSON merge patch of ``status``; ApiError(404) if the
  object does not exist.

Every call is recorded in order in ``calls`` (a failed one too, with its
error status). ``fail()`` injects errors; an injected 404 on get and 404/409 on
delete are mapped to None/False exactly as ``Kube`` maps the server's answers.
``drift()``, ``set_status()``, ``remove()`` and ``put()`` change the objects
the way other actors would (kubectl, the Deployment controller, the garbage
collector), without being recorded as calls.
"""

from __future__ import annotations

import copy
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from wsgi_operator.controller.apply import FIELD_MANAGER, ApiError
from wsgi_operator.kinds import Resource

Key = tuple[str, str, str, str]
"""(apiVersion, kind, namespace, name)."""
FieldPath = tuple[str, ...]


class _Remove:
    def __repr__(self) -> str:
        return "REMOVE"


#: ``drift(..., value=REMOVE)``: the other manager deletes the field.
REMOVE: Any = _Remove()

_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
#: Top-level and metadata fields that identify an object: not part of any field set.
_IDENTITY = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}
_SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields")


@dataclass(frozen=True)
class Call:
    """One call the reconciler made."""

    verb: str  # get, list, log, log-previous, apply, delete, patch_status, post_event
    kind: str
    namespace: str
    name: str
    metadata_only: bool = False
    #: The delete's uid precondition.
    uid: str | None = None
    #: The applied object, the status merge patch, or the Event's (reason, message).
    body: Any = None
    #: The injected error status the call was answered with (None: it succeeded).
    error: int | None = None
    #: True when the call changed something: a created or changed object, a delete, a status patch, an Event.
    wrote: bool = False

    @property
    def target(self) -> str:
        """``Kind/name``."""
        return f"{self.kind}/{self.name}"

    def __str__(self) -> str:
        verb = "get-meta" if self.metadata_only else self.verb
        return f"{verb} {self.target}"


@dataclass(frozen=True)
class Event:
    """An Event posted about an object."""

    kind: str
    name: str
    uid: str
    reason: str
    message: str
    time: str


@dataclass
class _Fault:
    verb: str
    kind: str | None
    name: str | None
    status: int
    message: str | None
    #: Fail only the nth call matching verb/kind/name (1-based); None: every one.
    nth: int | None
    seen: int = 0

    def check(self, call: Call) -> ApiError | None:
        if call.verb != self.verb or self.kind not in (None, call.kind) or self.name not in (None, call.name):
            return None
        self.seen += 1
        if self.nth is not None and self.seen != self.nth:
            return None
        message = self.message or f"injected {self.status} on {call.verb} {call.target}"
        return ApiError(self.status, _REASONS.get(self.status, "Error"), message)


# -- field sets ---------------------------------------------------------------


def field_paths(obj: Any, prefix: FieldPath = ()) -> set[FieldPath]:
    """The leaf key paths of ``obj``: dicts recurse, everything else (lists too) is a leaf."""
    if not isinstance(obj, Mapping) or (not obj and prefix):
        return {prefix}
    out: set[FieldPath] = set()
    for key, value in obj.items():
        out |= field_paths(value, (*prefix, str(key)))
    return out


def _applied_paths(obj: Mapping[str, Any]) -> set[FieldPath]:
    body = {k: v for k, v in obj.items() if k != "status"}
    return {p for p in field_paths(body) if p not in _IDENTITY}


def to_fields_v1(paths: Iterable[FieldPath]) -> dict[str, Any]:
    """``paths`` as a managedFields ``fieldsV1`` tree (``f:`` keys, ``.`` for an owned inner node)."""
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for key in path:
            node = node.setdefault(f"f:{key}", {})
        node["."] = {}

    def collapse(node: dict[str, Any]) -> dict[str, Any]:
        return {k: ({} if v == {".": {}} else collapse(v)) if k != "." else v for k, v in node.items()}

    return collapse(root)


def from_fields_v1(fields: Mapping[str, Any], prefix: FieldPath = ()) -> set[FieldPath]:
    """The paths of a ``fieldsV1`` tree (the inverse of :func:`to_fields_v1`)."""
    out: set[FieldPath] = set()
    for key, value in fields.items():
        if key == ".":
            out.add(prefix)
        elif not value:
            out.add((*prefix, key[2:]))
        else:
            out |= from_fields_v1(value, (*prefix, key[2:]))
    return out


def _overlaps(a: FieldPath, b: FieldPath) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _owners(obj: Mapping[str, Any]) -> dict[tuple[str, str], set[FieldPath]]:
    """(manager, operation) -> field set, from managedFields."""
    return {
        (e["manager"], e["operation"]): from_fields_v1(e.get("fieldsV1") or {})
        for e in obj.get("metadata", {}).get("managedFields") or ()
    }


def _set_owners(obj: dict[str, Any], owners: Mapping[tuple[str, str], set[FieldPath]]) -> None:
    entries = []
    # The operator's entry first, then the others by name: a deterministic order.
    for manager, operation in sorted(owners, key=lambda mo: (mo[0] != FIELD_MANAGER, mo)):
        paths = owners[(manager, operation)]
        if paths:
            entries.append(
                {
                    "manager": manager,
                    "operation": operation,
                    "apiVersion": obj["apiVersion"],
                    "fieldsType": "FieldsV1",
                    "fieldsV1": to_fields_v1(paths),
                }
            )
    obj["metadata"]["managedFields"] = entries


def _get_path(obj: Any, path: FieldPath) -> Any:
    for key in path:
        if not isinstance(obj, Mapping) or key not in obj:
            return REMOVE
        obj = obj[key]
    return obj


def _set_path(obj: dict[str, Any], path: FieldPath, value: Any) -> None:
    for key in path[:-1]:
        obj = obj.setdefault(key, {})
    if value is REMOVE:
        obj.pop(path[-1], None)
    else:
        obj[path[-1]] = copy.deepcopy(value)


def _merge(base: dict[str, Any], patch: Mapping[str, Any], *, null_removes: bool = False) -> None:
    """Merge ``patch`` into ``base`` in place: dicts recurse, anything else replaces (None removes if asked)."""
    for key, value in patch.items():
        if value is None and null_removes:
            base.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value, null_removes=null_removes)
        else:
            base[key] = copy.deepcopy(value)


# -- the fake -----------------------------------------------------------------


class FakeKube:
    """The reconciler's ``KubeClient``, in memory; see the module docstring."""

    def __init__(self) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        #: The last state of every deleted object (what a DELETED watch event carries).
        self.deleted: dict[Key, dict[str, Any]] = {}
        self.calls: list[Call] = []
        self.events: list[Event] = []
        self._faults: list[_Fault] = []
        self._versions = itertools.count(1)
        self._creations: Counter[Key] = Counter()
        #: (namespace, pod) -> what the pod printed, for ``log``.
        self.logs: dict[tuple[str, str], str] = {}
        #: What the previous (terminated) instance of a pod's container printed.
        self.previous_logs: dict[tuple[str, str], str] = {}

    # -- the KubeClient protocol --------------------------------------------

    def get(self, resource: Resource, namespace: str, name: str, *, metadata_only: bool = False) -> dict | None:
        call = Call("get", resource.kind, namespace, name, metadata_only=metadata_only)
        try:
            self._record(call)
        except ApiError as err:
            if err.status == 404:
                return None
            raise
        obj = self.objects.get((resource.api_version, resource.kind, namespace, name))
        if obj is None:
            return None
        if metadata_only:
            return {
                "apiVersion": "meta.k8s.io/v1",
                "kind": "PartialObjectMetadata",
                "metadata": copy.deepcopy(obj["metadata"]),
            }
        return copy.deepcopy(obj)

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        call = Call("apply", obj["kind"], meta["namespace"], meta["name"], body=copy.deepcopy(obj))
        self._record(call)
        live = self.objects.get(self._key(obj))
        uid = meta.get("uid")
        if uid is not None and (live is None or live["metadata"]["uid"] != uid):
            status = 409 if live is None else 422
            self.calls[-1] = replace(call, error=status)
            raise ApiError(status, _REASONS[status], f"metadata.uid: {uid}: uid mismatch or field is immutable")
        # Like the server, the apply's own uid is only a precondition: not a field anyone owns.
        body = {**obj, "metadata": {k: v for k, v in meta.items() if k not in _SERVER_METADATA}}
        stored, wrote = self._apply(body)
        if wrote:
            self._mark_wrote(call)
        return copy.deepcopy(stored)

    def delete(self, resource: Resource, namespace: str, name: str, uid: str) -> bool:
        call = Call("delete", resource.kind, namespace, name, uid=uid)
        try:
            self._record(call)
        except ApiError as err:
            if err.status in (404, 409):
                return False
            raise
        key = (resource.api_version, resource.kind, namespace, name)
        obj = self.objects.get(key)
        if obj is None or obj["metadata"]["uid"] != uid:
            return False
        self.deleted[key] = self.objects.pop(key)
        self._mark_wrote(call)
        return True

    def patch_status(self, resource: Resource, namespace: str, name: str, status: dict[str, Any]) -> dict[str, Any]:
        call = Call("patch_status", resource.kind, namespace, name, body=copy.deepcopy(status))
        self._record(call)
        obj = self.objects.get((resource.api_version, resource.kind, namespace, name))
        if obj is None:
            raise ApiError(404, _REASONS[404], f'{resource.plural} "{name}" not found')
        current = obj.setdefault("status", {})
        _merge(current, status, null_removes=True)
        self._bump(obj)
        self._mark_wrote(call)
        return copy.deepcopy(obj)

    def list(self, resource: Resource, namespace: str, selector: str) -> list[dict[str, Any]]:
        """Objects of ``resource`` in ``namespace`` whose labels match every ``key=value`` of ``selector``."""
        self._record(Call("list", resource.kind, namespace, selector))
        wanted = dict(term.split("=", 1) for term in selector.split(",") if term)
        return [
            copy.deepcopy(obj)
            for (api_version, kind, ns, _), obj in sorted(self.objects.items())
            if (api_version, kind, ns) == (resource.api_version, resource.kind, namespace)
            and wanted.items() <= (obj["metadata"].get("labels") or {}).items()
        ]

    def log(self, namespace: str, pod: str, tail_lines: int, *, previous: bool = False) -> str:
        """The last ``tail_lines`` lines of what ``logs`` says the pod printed (``previous_logs``:
        its previous instance)."""
        self._record(Call("log-previous" if previous else "log", "Pod", namespace, pod))
        printed = (self.previous_logs if previous else self.logs).get((namespace, pod), "")
        return "".join(printed.splitlines(keepends=True)[-tail_lines:])

    def post_event(self, involved: Mapping[str, Any], reason: str, message: str, now: str) -> None:
        meta = involved["metadata"]
        call = Call("post_event", involved["kind"], meta["namespace"], meta["name"], body=(reason, message))
        self._record(call)
        self.events.append(Event(involved["kind"], meta["name"], meta["uid"], reason, message, now))
        self._mark_wrote(call)

    # -- failure injection ---------------------------------------------------

    def fail(
        self,
        verb: str,
        kind: str | None = None,
        name: str | None = None,
        status: int = 500,
        *,
        nth: int | None = None,
        message: str | None = None,
    ) -> None:
        """Answer ``verb`` calls (of ``kind``, named ``name``, only the ``nth`` one: each if given) with ``status``."""
        self._faults.append(_Fault(verb, kind, name, status, message, nth))

    def fail_nth_apply(self, n: int, status: int = 500) -> None:
        """Fail the ``n``-th apply (1-based, counted from now) with ``status``."""
        self.fail("apply", status=status, nth=n)

    def conflict_on(self, name: str, kind: str | None = None) -> None:
        """Answer every apply of ``name`` (of ``kind``, if given) with 409 Conflict."""
        self.fail("apply", kind, name, 409)

    def reject_kind(self, kind: str, status: int = 422) -> None:
        """Answer every apply of ``kind`` with ``status`` (422 Unprocessable Entity: the server refuses it)."""
        self.fail("apply", kind, None, status)

    # -- what happened -------------------------------------------------------

    def reset_calls(self) -> None:
        """Forget the calls and Events recorded so far (the objects stay)."""
        self.calls.clear()
        self.events.clear()

    def requests(self) -> list[str]:
        """Every call, as ``verb Kind/name`` (``get-meta`` for a metadata-only get)."""
        return [str(c) for c in self.calls]

    def applies(self) -> list[str]:
        """``Kind/name`` of every apply attempted, in order."""
        return [c.target for c in self.calls if c.verb == "apply"]

    def deletes(self) -> list[tuple[str, str]]:
        """(``Kind/name``, uid precondition) of every delete attempted."""
        return [(c.target, c.uid or "") for c in self.calls if c.verb == "delete"]

    def status_patches(self) -> list[dict[str, Any]]:
        """The merge patch of every status write attempted."""
        return [c.body for c in self.calls if c.verb == "patch_status"]

    def failures(self) -> list[str]:
        """Every call answered with an injected error, as ``verb Kind/name status``."""
        return [f"{c} {c.error}" for c in self.calls if c.error is not None]

    def writes(self) -> list[str]:
        """Every call that changed something (a no-op apply is not one)."""
        return [str(c) for c in self.calls if c.wrote]

    # -- the objects, as other actors see and change them --------------------

    def find(self, kind: str, name: str) -> Key | None:
        """The key of the object of ``kind`` named ``name`` (unique in a test), or None."""
        keys = [k for k in self.objects if k[1] == kind and k[3] == name]
        assert len(keys) <= 1, f"{kind}/{name} is ambiguous: {keys}"
        return keys[0] if keys else None

    def peek(self, kind: str, name: str) -> dict[str, Any] | None:
        """A copy of the object, not recorded as a call."""
        key = self.find(kind, name)
        return copy.deepcopy(self.objects[key]) if key else None

    def last_deleted(self, kind: str, name: str) -> dict[str, Any] | None:
        """A copy of the last state of the deleted object (a DELETED watch event's)."""
        found = [v for k, v in self.deleted.items() if k[1] == kind and k[3] == name]
        return copy.deepcopy(found[-1]) if found else None

    def put(self, obj: Mapping[str, Any], manager: str = "kubectl") -> dict[str, Any]:
        """Store ``obj`` as created or replaced by ``manager`` (an Update owning all its fields).

        A uid and resourceVersion are assigned unless ``obj`` has them; the
        object replaces any of the same key. Returns a copy of what is stored.
        """
        stored = copy.deepcopy(dict(obj))
        meta = stored["metadata"]
        if "uid" not in meta:
            meta["uid"] = self._new_uid(self._key(stored))
        meta.setdefault("resourceVersion", str(next(self._versions)))
        if "spec" in stored:
            meta.setdefault("generation", 1)
        if "managedFields" not in meta:
            _set_owners(stored, {(manager, "Update"): _applied_paths(stored)})
        self.objects[self._key(stored)] = stored
        return copy.deepcopy(stored)

    def seed_apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Apply ``obj`` as the operator would, without recording a call (what an earlier process did)."""
        stored, _ = self._apply(dict(obj))
        return copy.deepcopy(stored)

    def operator_fields(self, kind: str, name: str) -> set[FieldPath]:
        """The field set of the operator's Apply entry of the object."""
        obj = self.objects[self._require(kind, name)]
        return _owners(obj).get((FIELD_MANAGER, "Apply"), set())

    def drift(self, kind: str, name: str, path: FieldPath, value: Any = REMOVE, manager: str = "kubectl") -> None:
        """``manager`` sets the field at ``path`` to ``value`` (or removes it), as an Update.

        The operator loses every field of its set at, under or above ``path``
        (server-side apply moves a changed field to whoever changed it); the
        manager owns what it set. A path the operator does not own leaves its
        entry, and so the managed signature, as it was.
        """
        obj = self.objects[self._require(kind, name)]
        before_spec = copy.deepcopy(obj.get("spec"))
        _set_path(obj, path, value)
        owners = _owners(obj)
        operator = (FIELD_MANAGER, "Apply")
        if operator in owners:
            owners[operator] = {p for p in owners[operator] if not _overlaps(p, path)}
        if value is not REMOVE:
            owned = owners.setdefault((manager, "Update"), set())
            owned.update(field_paths(value, path))
        _set_owners(obj, owners)
        self._bump(obj, spec_changed=obj.get("spec") != before_spec)

    def set_status(self, kind: str, name: str, status: Mapping[str, Any]) -> None:
        """Replace the object's status (a controller's status update: no managedFields of the operator change)."""
        obj = self.objects[self._require(kind, name)]
        obj["status"] = copy.deepcopy(dict(status))
        self._bump(obj)

    def remove(self, kind: str, name: str) -> dict[str, Any]:
        """Delete the object as someone else would (kubectl delete); returns its last state."""
        key = self._require(kind, name)
        self.deleted[key] = self.objects.pop(key)
        return copy.deepcopy(self.deleted[key])

    def edit(self, kind: str, name: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Change the stored object in place with ``change`` (no managedFields or generation bookkeeping)."""
        obj = self.objects[self._require(kind, name)]
        change(obj)
        self._bump(obj)

    # -- internals -----------------------------------------------------------

    @staticmethod
    def _key(obj: Mapping[str, Any]) -> Key:
        meta = obj["metadata"]
        return (obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])

    def _require(self, kind: str, name: str) -> Key:
        key = self.find(kind, name)
        assert key is not None, f"no {kind}/{name} in the fake"
        return key

    def _new_uid(self, key: Key) -> str:
        self._creations[key] += 1
        return f"{key[1]}/{key[3]}#{self._creations[key]}"

    def _bump(self, obj: dict[str, Any], *, spec_changed: bool = False) -> None:
        meta = obj["metadata"]
        meta["resourceVersion"] = str(next(self._versions))
        if spec_changed and "spec" in obj:
            meta["generation"] = int(meta.get("generation") or 0) + 1

    def _record(self, call: Call) -> None:
        """Record ``call``; raise the injected error if a fault matches (the call is recorded with it)."""
        for fault in self._faults:
            err = fault.check(call)
            if err is not None:
                self.calls.append(replace(call, error=err.status))
                raise err
        self.calls.append(call)

    def _mark_wrote(self, call: Call) -> None:
        index = len(self.calls) - 1
        assert self.calls[index] is call
        self.calls[index] = replace(call, wrote=True)

    def _apply(self, obj: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """Server-side apply with force by the operator: (stored object, whether anything changed)."""
        key = self._key(obj)
        applied = _applied_paths(obj)
        operator = (FIELD_MANAGER, "Apply")
        live = self.objects.get(key)
        if live is None:
            stored = copy.deepcopy(dict(obj))
            stored.pop("status", None)
            meta = stored["metadata"]
            for field in _SERVER_METADATA:
                meta.pop(field, None)
            meta["uid"] = self._new_uid(key)
            meta["resourceVersion"] = str(next(self._versions))
            if "spec" in stored:
                meta["generation"] = 1
            _set_owners(stored, {operator: applied})
            self.objects[key] = stored
            return stored, True
        owners = _owners(live)
        previous = owners.pop(operator, set())
        # Force: whatever the operator applies is taken from the other managers.
        others = {m: {p for p in paths if not any(_overlaps(p, a) for a in applied)} for m, paths in owners.items()}
        stored = copy.deepcopy(live)
        # Fields the operator applied before and no longer does go, unless someone else owns them.
        for path in sorted(previous - applied, key=len, reverse=True):
            owned_by_others = any(_overlaps(path, p) for paths in others.values() for p in paths)
            if not owned_by_others and _get_path(stored, path) is not REMOVE:
                _set_path(stored, path, REMOVE)
        body = {k: v for k, v in obj.items() if k != "status"}
        body["metadata"] = {k: v for k, v in obj["metadata"].items() if k not in _SERVER_METADATA}
        _merge(stored, body)
        _set_owners(stored, {operator: applied, **others})
        if stored == live:
            return live, False
        self._bump(stored, spec_changed=stored.get("spec") != live.get("spec"))
        self.objects[key] = stored
        return stored, True
