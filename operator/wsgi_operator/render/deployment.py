"""The Deployment: one hardened mod_wsgi-express container per pod."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..api import WsgiApp
from . import layout
from .command import express_command, termination_grace_seconds
from .config import config_hash
from .meta import CONFIG_HASH, RESTARTED_AT, config_name, entry_name, labels, metadata, selector_labels
from .settings import RenderSettings

_READ_ONLY_FILE_MODE = 0o444


def probe_host(app: WsgiApp) -> str:
    """The Host header of the default HTTP probes: the name users reach the app by.

    Without one the kubelet sends the pod IP, which a framework checking the
    host (Django's ALLOWED_HOSTS) answers with 400.
    """
    spec = app.spec
    if spec.probes.host:
        return spec.probes.host
    named = [*(spec.ingress.hosts if spec.ingress else ()), *(spec.http_route.hostnames if spec.http_route else ())]
    return next((h for h in named if not h.startswith("*.")), f"{app.metadata.name}.{app.metadata.namespace}.svc")


def _dump(model: BaseModel) -> dict[str, Any]:
    """A typed Kubernetes object of the spec as the API takes it: the fields set, by their wire names."""
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


def _probes(app: WsgiApp) -> dict[str, Any]:
    p = app.spec.probes
    http = {
        "httpGet": {
            "path": p.path,
            "port": layout.PORT_NAME,
            "httpHeaders": [{"name": "Host", "value": probe_host(app)}],
        }
    }
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
    return {
        k: (overrides[k].model_dump(by_alias=True, exclude_none=True) if overrides[k] else v)
        for k, v in defaults.items()
    }


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


def _empty_dir(size_limit: str, medium: str) -> dict[str, Any]:
    return {"sizeLimit": size_limit, **({"medium": medium} if medium else {})}


def app_volumes_and_mounts(app: WsgiApp) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The volumes any container running the app's code needs: the code, the
    private temp dir and the declared writable dirs (the server's and the
    release Job's alike)."""
    spec = app.spec
    volumes: list[dict[str, Any]] = [
        {"name": "tmp", "emptyDir": _empty_dir(spec.temp_dir.size_limit, spec.temp_dir.medium)}
    ]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": layout.TEMP_DIR}]
    code = _code_volume(app)
    if code:
        volumes.append(code)
        mounts.append({"name": "code", "mountPath": spec.code.path, "readOnly": True})
    for d in spec.writable_dirs:
        if d.persistent_volume_claim:
            source: dict[str, Any] = {"persistentVolumeClaim": {"claimName": d.persistent_volume_claim.claim_name}}
        else:
            source = {"emptyDir": _empty_dir(d.size_limit, d.medium)}
        volumes.append({"name": f"rw-{d.name}", **source})
        mounts.append({"name": f"rw-{d.name}", "mountPath": d.mount_path})
    return volumes, mounts


def volumes_and_mounts(app: WsgiApp) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every volume of the server pod and where the container mounts it. Only the
    server root, the temp dir and the declared writable dirs are writable; the
    root filesystem is not."""
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
    app_volumes, app_mounts = app_volumes_and_mounts(app)
    return volumes + app_volumes, mounts + app_mounts


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


def app_container(app: WsgiApp, name: str, command: list[str], mounts: list[dict[str, Any]]) -> dict[str, Any]:
    """A container running the app's image with its environment, resources and
    hardened securityContext: the server, or the release Job."""
    spec = app.spec
    container: dict[str, Any] = {
        "name": name,
        "image": spec.image,
        "imagePullPolicy": spec.image_pull_policy,
        "command": command,
    }
    # TMPDIR first: the API refuses it in spec.env, and env beats envFrom.
    container["env"] = [
        {"name": "TMPDIR", "value": layout.TEMP_DIR},
        *(e.model_dump(by_alias=True, exclude_none=True) for e in spec.env),
    ]
    if spec.env_from:
        container["envFrom"] = [_dump(s) for s in spec.env_from]
    container["resources"] = spec.resources.model_dump(by_alias=True)
    container["securityContext"] = _security_contexts(app)[1]
    container["volumeMounts"] = mounts
    return container


def app_pod_spec(app: WsgiApp, containers: list[dict[str, Any]], volumes: list[dict[str, Any]]) -> dict[str, Any]:
    """The pod-level settings every pod of the app shares (server and release Job)."""
    spec = app.spec
    pod: dict[str, Any] = {
        "serviceAccountName": app.metadata.name,
        "automountServiceAccountToken": False,
        # Service links put every Service of the namespace into the env: noise
        # for the app, and a map of the namespace for an attacker.
        "enableServiceLinks": False,
        "securityContext": _security_contexts(app)[0],
        "containers": containers,
        "volumes": volumes,
    }
    if spec.security.host_users is not None:
        pod["hostUsers"] = spec.security.host_users
    if spec.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": n} for n in spec.image_pull_secrets]
    if spec.node_selector:
        pod["nodeSelector"] = dict(spec.node_selector)
    if spec.tolerations:
        pod["tolerations"] = [_dump(t) for t in spec.tolerations]
    if spec.affinity is not None and _dump(spec.affinity):
        pod["affinity"] = _dump(spec.affinity)
    if spec.topology_spread_constraints:
        pod["topologySpreadConstraints"] = [_dump(c) for c in spec.topology_spread_constraints]
    if spec.priority_class_name:
        pod["priorityClassName"] = spec.priority_class_name
    return pod


#: The node label that tells one node from another (set by the kubelet on every node).
HOSTNAME_TOPOLOGY = "kubernetes.io/hostname"


def _spread_by_default(app: WsgiApp, pod: dict[str, Any]) -> None:
    """Spread the server's replicas over nodes unless the author said how.

    Without pod anti-affinity an author did not write, the pods prefer nodes
    without another pod of the app: preferred, so a single-node cluster (or a
    full one) still runs every replica. A spread constraint written without a
    labelSelector counts no pod and spreads nothing; it counts the app's own
    pods instead (matchLabelKeys needs a labelSelector, so none is set here).
    """

    def own() -> dict[str, Any]:
        # A new dict at each place: one object shared by two places of a manifest
        # is one that a later edit of either would change in both.
        return {"matchLabels": selector_labels(app)}

    affinity = pod.setdefault("affinity", {})
    affinity.setdefault(
        "podAntiAffinity",
        {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "podAffinityTerm": {"labelSelector": own(), "topologyKey": HOSTNAME_TOPOLOGY}}
            ]
        },
    )
    for constraint in pod.get("topologySpreadConstraints", []):
        constraint.setdefault("labelSelector", own())


def pod_template(app: WsgiApp, settings: RenderSettings) -> dict[str, Any]:
    """The server's pod template; also what the Pod Security tests admit."""
    spec = app.spec
    volumes, mounts = volumes_and_mounts(app)
    container = app_container(app, "wsgi", express_command(app), mounts)
    container["ports"] = [{"name": layout.PORT_NAME, "containerPort": spec.server.port, "protocol": "TCP"}]
    container.update(_probes(app))
    # preStop only drains: the pod keeps serving while endpoints and the
    # ingress drop it. The image's STOPSIGNAL (SIGWINCH, Apache's
    # graceful-stop) that the kubelet sends next stops Apache, exactly once: a
    # second graceful-stop makes Apache escalate to SIGTERM and SIGKILL and
    # kills the requests still running.
    container["lifecycle"] = {"preStop": {"sleep": {"seconds": settings.drain_seconds}}}

    annotations = dict(spec.pod_annotations)
    annotations[CONFIG_HASH] = config_hash(app)
    restarted = app.metadata.annotations.get(RESTARTED_AT)
    if restarted:
        annotations[RESTARTED_AT] = restarted

    pod = app_pod_spec(app, [container], volumes)
    _spread_by_default(app, pod)
    pod["terminationGracePeriodSeconds"] = termination_grace_seconds(app, settings.drain_seconds)
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
