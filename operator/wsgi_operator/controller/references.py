"""What a WsgiApp's pods need that the operator does not create: ConfigMaps, Secrets, PVCs."""

from __future__ import annotations

from dataclasses import dataclass

from ..api import WsgiApp


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
