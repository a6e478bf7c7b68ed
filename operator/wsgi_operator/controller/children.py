"""Child identity: which live objects belong to which WsgiApp, and what the operator owns of them.

A child is known by (apiVersion, kind, name) in its WsgiApp's namespace, and
belongs to the WsgiApp named as its controller in ownerReferences (by uid,
so a same-named WsgiApp recreated since is another owner). What the
operator owns of a child is the field set of its Apply entry in
managedFields: its digest is how drift is seen.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import API_VERSION, KIND
from .apply import FIELD_MANAGER

ChildKey = tuple[str, str, str]
"""(apiVersion, kind, name) of a child."""


def key_of(obj: Mapping[str, Any]) -> ChildKey:
    """(apiVersion, kind, name) of a manifest or a live object."""
    return (obj["apiVersion"], obj["kind"], obj["metadata"]["name"])


def describe(key: ChildKey) -> str:
    """``Kind/name``, as status messages, logs and Events name a child."""
    return f"{key[1]}/{key[2]}"


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
