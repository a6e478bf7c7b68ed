"""What a WsgiApp's pods need that the operator does not create: ConfigMaps, Secrets, PVCs.

ConfigMaps and PVCs are checked before anything is applied. Secrets are not:
the operator holds no Secret permission at all, so a missing Secret shows on
the pod that needs it (see pods.py) instead of before the rollout. That is
the price of least privilege; the old pods keep serving either way, since a
new pod that cannot start never becomes ready.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..api import WsgiApp
from ..api.conditions import Outcome
from .apply import REFERENCE_RESOURCES, KubeClient

#: Access modes a claim shared by several pods (or by the surge pod of a rolling update) can have.
_SHAREABLE = {"ReadWriteMany", "ReadOnlyMany"}


@dataclass(frozen=True)
class Reference:
    """An object in the app's namespace that the spec points at and the pods need."""

    kind: str
    name: str
    #: The spec field that names it, for the status message.
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
    for i, d in enumerate(spec.writable_dirs):
        if d.persistent_volume_claim:
            refs.append(
                Reference(
                    "PersistentVolumeClaim",
                    d.persistent_volume_claim.claim_name,
                    f"spec.writableDirs[{i}].persistentVolumeClaim.claimName",
                )
            )
    for i, env in enumerate(spec.env):
        source = env.value_from
        key_refs = (
            ("configMapKeyRef", "ConfigMap", source and source.config_map_key_ref),
            ("secretKeyRef", "Secret", source and source.secret_key_ref),
        )
        for field, kind, ref in key_refs:
            if ref is not None and not ref.optional:
                refs.append(Reference(kind, ref.name, f"spec.env[{i}].valueFrom.{field}.name"))
    for i, env_from in enumerate(spec.env_from):
        for field, kind, ref in (
            ("configMapRef", "ConfigMap", env_from.config_map_ref),
            ("secretRef", "Secret", env_from.secret_ref),
        ):
            if ref is not None and not ref.optional:
                refs.append(Reference(kind, ref.name, f"spec.envFrom[{i}].{field}.name"))
    return refs


def _max_replicas(app: WsgiApp) -> int:
    scaling = app.spec.autoscaling
    return scaling.max_replicas if scaling else app.spec.replicas


def check_references(kube: KubeClient, app: WsgiApp, namespace: str) -> tuple[Outcome, str] | None:
    """Why the pods could not start as the spec asks (a missing ConfigMap or PVC, a claim that
    cannot be shared); None when every reference the operator may read is fine."""
    missing: list[Reference] = []
    unusable: list[str] = []
    for ref in references(app):
        if ref.kind == "Secret":
            continue
        claim = ref.kind == "PersistentVolumeClaim"
        live = kube.get(REFERENCE_RESOURCES[ref.kind], namespace, ref.name, metadata_only=not claim)
        if live is None:
            missing.append(ref)
            continue
        modes = set((live.get("spec") or {}).get("accessModes") or ()) if claim else set()
        if "ReadWriteOncePod" in modes:
            unusable.append(
                f"PersistentVolumeClaim {ref.name!r} ({ref.field}) is ReadWriteOncePod: not even the new pod of a "
                "rolling update can mount it while the old one runs; use ReadWriteOnce (one replica) or ReadWriteMany"
            )
        elif claim and modes and not modes & _SHAREABLE and _max_replicas(app) > 1:
            unusable.append(
                f"PersistentVolumeClaim {ref.name!r} ({ref.field}) is {', '.join(sorted(modes))} but the app may run "
                f"{_max_replicas(app)} replicas, which may land on different nodes; use a ReadWriteMany claim, "
                "or replicas: 1"
            )
    if missing:
        detail = "; ".join(f"{r.kind} {r.name!r} ({r.field}) not found" for r in missing)
        return Outcome.MISSING_REFERENCE, f"{detail} in namespace {namespace}; create it or fix the spec"
    if unusable:
        return Outcome.INVALID_REFERENCE, "; ".join(unusable)
    return None
