"""The Deployment: one hardened mod_wsgi-express container per pod."""

from __future__ import annotations

from typing import Any

from ..api import WsgiApp
from . import layout
from .command import express_command, pre_stop_command, termination_grace_seconds
from .config import config_hash
from .meta import CONFIG_HASH, RESTARTED_AT, config_name, entry_name, labels, metadata, selector_labels
from .settings import RenderSettings

_READ_ONLY_FILE_MODE = 0o444


def _probes(app: WsgiApp) -> dict[str, Any]:
    p = app.spec.probes
    http = {"httpGet": {"path": p.path, "port": layout.PORT_NAME}}
    defaults = {
        # Readiness asks the app; liveness only asks Apache, so a slow app is
        # taken out of rotation rather than killed mid-request.
        "readinessProbe": {**http, "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {
            "tcpSocket": {"port": layout.PORT_NAME},
            "periodSeconds": 20,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
        "startupProbe": {
            **http,
            "periodSeconds": 2,
            "timeoutSeconds": 5,
            "failureThreshold": max(15, (app.spec.timeouts.startup + 15) // 2),
        },
    }
    overrides = {"readinessProbe": p.readiness, "livenessProbe": p.liveness, "startupProbe": p.startup}
    return {k: (overrides[k] or v) for k, v in defaults.items()}


def _code_volume(app: WsgiApp) -> dict[str, Any] | None:
    code = app.spec.code
    if code.config_map:
        return {"name": "code", "configMap": {"name": code.config_map.name, "defaultMode": _READ_ONLY_FILE_MODE}}
    if code.persistent_volume_claim:
        return {
            "name": "code",
            "persistentVolumeClaim": {"claimName": code.persistent_volume_claim.claim_name, "readOnly": True},
        }
    if code.image:
        return {"name": "code", "image": {"reference": code.image.reference, "pullPolicy": code.image.pull_policy}}
    return None


def volumes_and_mounts(app: WsgiApp) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every volume of the pod and where the container mounts it. Only the server
    root and the declared writable dirs are writable; the root filesystem is not."""
    volumes: list[dict[str, Any]] = [
        {"name": "server-root", "emptyDir": {"sizeLimit": layout.SERVER_ROOT_SIZE}},
        {"name": "entry", "configMap": {"name": entry_name(app), "defaultMode": _READ_ONLY_FILE_MODE}},
        {"name": "config", "configMap": {"name": config_name(app), "defaultMode": _READ_ONLY_FILE_MODE}},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "server-root", "mountPath": layout.SERVER_ROOT},
        {"name": "entry", "mountPath": layout.ENTRY_DIR, "readOnly": True},
        {"name": "config", "mountPath": layout.CONF_DIR, "readOnly": True},
    ]
    code = _code_volume(app)
    if code:
        volumes.append(code)
        mounts.append({"name": "code", "mountPath": app.spec.code.path, "readOnly": True})
    for d in app.spec.writable_dirs:
        empty: dict[str, Any] = {"sizeLimit": d.size_limit}
        if d.medium:
            empty["medium"] = d.medium
        volumes.append({"name": f"rw-{d.name}", "emptyDir": empty})
        mounts.append({"name": f"rw-{d.name}", "mountPath": d.mount_path})
    return volumes, mounts


def _security_contexts(app: WsgiApp) -> tuple[dict[str, Any], dict[str, Any]]:
    sec = app.spec.security
    ids = {"runAsNonRoot": True, "runAsUser": sec.run_as_user, "runAsGroup": sec.run_as_group}
    seccomp = {"seccompProfile": {"type": "RuntimeDefault"}}
    pod: dict[str, Any] = {
        **ids,
        "fsGroup": sec.fs_group if sec.fs_group is not None else sec.run_as_group,
        "fsGroupChangePolicy": "OnRootMismatch",
        **seccomp,
    }
    if sec.supplemental_groups:
        pod["supplementalGroups"] = list(sec.supplemental_groups)
    container = {
        **ids,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        **seccomp,
    }
    return pod, container


def pod_template(app: WsgiApp, settings: RenderSettings) -> dict[str, Any]:
    """The pod template; also what the Pod Security tests admit."""
    spec = app.spec
    volumes, mounts = volumes_and_mounts(app)
    pod_sc, container_sc = _security_contexts(app)
    container: dict[str, Any] = {
        "name": "wsgi",
        "image": spec.image,
        "imagePullPolicy": spec.image_pull_policy,
        "command": express_command(app),
        "ports": [{"name": layout.PORT_NAME, "containerPort": spec.server.port, "protocol": "TCP"}],
    }
    if spec.env:
        container["env"] = [e.model_dump(by_alias=True, exclude_none=True) for e in spec.env]
    if spec.env_from:
        container["envFrom"] = list(spec.env_from)
    container["resources"] = spec.resources.model_dump(by_alias=True)
    container.update(_probes(app))
    container["lifecycle"] = {"preStop": {"exec": {"command": pre_stop_command(settings.drain_seconds)}}}
    container["securityContext"] = container_sc
    container["volumeMounts"] = mounts

    annotations = dict(spec.pod_annotations)
    annotations[CONFIG_HASH] = config_hash(app)
    restarted = app.metadata.annotations.get(RESTARTED_AT)
    if restarted:
        annotations[RESTARTED_AT] = restarted

    pod: dict[str, Any] = {
        "serviceAccountName": app.metadata.name,
        "automountServiceAccountToken": False,
        # Service links put every Service of the namespace into the env: noise
        # for the app, and a map of the namespace for an attacker.
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": termination_grace_seconds(app, settings.drain_seconds),
        "securityContext": pod_sc,
        "containers": [container],
        "volumes": volumes,
    }
    if spec.security.host_users is not None:
        pod["hostUsers"] = spec.security.host_users
    if spec.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": n} for n in spec.image_pull_secrets]
    if spec.node_selector:
        pod["nodeSelector"] = dict(spec.node_selector)
    if spec.tolerations:
        pod["tolerations"] = list(spec.tolerations)
    if spec.affinity:
        pod["affinity"] = spec.affinity
    if spec.topology_spread_constraints:
        pod["topologySpreadConstraints"] = list(spec.topology_spread_constraints)
    if spec.priority_class_name:
        pod["priorityClassName"] = spec.priority_class_name
    return {
        "metadata": {"labels": {**spec.pod_labels, **labels(app)}, "annotations": dict(sorted(annotations.items()))},
        "spec": pod,
    }


def deployment(app: WsgiApp, settings: RenderSettings) -> dict[str, Any]:
    """The Deployment. Rolls one new pod in before an old one goes (maxUnavailable 0)."""
    spec: dict[str, Any] = {}
    if app.spec.autoscaling is None:
        # With autoscaling the HPA owns .spec.replicas; applying it would fight it.
        spec["replicas"] = app.spec.replicas
    spec.update(
        {
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector_labels(app)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": pod_template(app, settings),
        }
    )
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata(app, app.metadata.name), "spec": spec}
