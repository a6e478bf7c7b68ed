"""Unit tests of render/deployment.py: the pod template (volumes, mounts, security
contexts, probes, pass-through fields) and the Deployment around it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import invalid_specs
from invalid_specs import APP
from support.rendered import (
    CONF_DIR,
    ENTRY_DIR,
    SERVER_ROOT,
    RenderKinds,
    command,
    container,
    flag_values,
    mount_at,
    pod_spec,
    volume,
)

# --- code, entry script and config mounts ---------------------------------------------------------


def test_code_baked_into_image_has_no_code_volume(render_kinds: RenderKinds) -> None:
    kinds = render_kinds()
    assert volume(kinds, "code") is None
    assert mount_at(kinds, "/app") is None
    assert flag_values(command(kinds), "--python-path") == ["/app"]


@pytest.mark.parametrize(
    ("code", "expected_volume"),
    [
        (
            {"configMap": {"name": "shop-code"}},
            {"name": "code", "configMap": {"name": "shop-code", "defaultMode": 0o444}},
        ),
        (
            {"persistentVolumeClaim": {"claimName": "shop-code"}},
            {"name": "code", "persistentVolumeClaim": {"claimName": "shop-code", "readOnly": True}},
        ),
        (
            {"image": {"reference": "registry.example.com/shop/code:1.2"}},
            {
                "name": "code",
                "image": {"reference": "registry.example.com/shop/code:1.2", "pullPolicy": "IfNotPresent"},
            },
        ),
        (
            {"image": {"reference": "registry.example.com/shop/code:1.2", "pullPolicy": "Always"}},
            {"name": "code", "image": {"reference": "registry.example.com/shop/code:1.2", "pullPolicy": "Always"}},
        ),
    ],
    ids=["configmap", "pvc", "image-volume", "image-volume-always"],
)
def test_code_volume_is_mounted_read_only(
    render_kinds: RenderKinds, code: dict[str, Any], expected_volume: dict[str, Any]
) -> None:
    kinds = render_kinds({"code": {"path": "/opt/shop", **code}})
    assert volume(kinds, "code") == expected_volume
    assert mount_at(kinds, "/opt/shop") == {"name": "code", "mountPath": "/opt/shop", "readOnly": True}
    assert flag_values(command(kinds), "--python-path") == ["/opt/shop"]


def test_entry_script_is_its_own_read_only_mount_and_the_express_script(render_kinds: RenderKinds) -> None:
    kinds = render_kinds()
    assert volume(kinds, "entry") == {"name": "entry", "configMap": {"name": f"{APP}-entry", "defaultMode": 0o444}}
    assert mount_at(kinds, ENTRY_DIR) == {"name": "entry", "mountPath": ENTRY_DIR, "readOnly": True}
    assert command(kinds)[:3] == ["mod_wsgi-express", "start-server", f"{ENTRY_DIR}/wsgi.py"]
    assert set(kinds["ConfigMap/entry"]["data"]) == {"wsgi.py"}


def test_config_is_a_read_only_mount_holding_include_and_envvars(render_kinds: RenderKinds) -> None:
    kinds = render_kinds()
    assert volume(kinds, "config") == {"name": "config", "configMap": {"name": f"{APP}-config", "defaultMode": 0o444}}
    assert mount_at(kinds, CONF_DIR) == {"name": "config", "mountPath": CONF_DIR, "readOnly": True}
    data = kinds["ConfigMap/config"]["data"]
    (include,) = flag_values(command(kinds), "--include-file")
    (envvars,) = flag_values(command(kinds), "--envvars-script")
    assert include.startswith(CONF_DIR + "/") and include.rsplit("/", 1)[1] in data
    assert envvars.startswith(CONF_DIR + "/") and envvars.rsplit("/", 1)[1] in data


# --- writable directories and server root ---------------------------------------------------------


def test_writable_dirs_become_sized_empty_dirs(render_kinds: RenderKinds) -> None:
    kinds = render_kinds(
        {
            "writableDirs": [
                {"name": "media", "mountPath": "/var/lib/shop/media", "sizeLimit": "2Gi"},
                {"name": "cache", "mountPath": "/var/cache/shop", "medium": "Memory", "sizeLimit": "64Mi"},
                {"name": "spool", "mountPath": "/var/spool/shop"},
            ]
        }
    )
    assert volume(kinds, "rw-media") == {"name": "rw-media", "emptyDir": {"sizeLimit": "2Gi"}}
    assert volume(kinds, "rw-cache") == {"name": "rw-cache", "emptyDir": {"sizeLimit": "64Mi", "medium": "Memory"}}
    assert volume(kinds, "rw-spool") == {"name": "rw-spool", "emptyDir": {"sizeLimit": "256Mi"}}
    assert mount_at(kinds, "/var/lib/shop/media") == {"name": "rw-media", "mountPath": "/var/lib/shop/media"}
    assert mount_at(kinds, "/var/cache/shop") == {"name": "rw-cache", "mountPath": "/var/cache/shop"}
    assert mount_at(kinds, "/var/spool/shop") == {"name": "rw-spool", "mountPath": "/var/spool/shop"}


def test_server_root_is_a_small_empty_dir(render_kinds: RenderKinds) -> None:
    kinds = render_kinds()
    (root,) = flag_values(command(kinds), "--server-root")
    assert root == SERVER_ROOT
    assert volume(kinds, "server-root") == {"name": "server-root", "emptyDir": {"sizeLimit": "64Mi"}}
    assert mount_at(kinds, root) == {"name": "server-root", "mountPath": root}
    # Daemon sockets live under the server root: sun_path holds 108 bytes.
    assert len(root) < 40


@pytest.mark.parametrize(
    "patch",
    [
        {},
        {"code": {"configMap": {"name": "code"}}},
        {"writableDirs": [{"name": "media", "mountPath": "/var/lib/shop/media"}]},
    ],
    ids=["plain", "code-configmap", "writable-dir"],
)
def test_only_server_root_and_declared_dirs_are_writable(render_kinds: RenderKinds, patch: dict[str, Any]) -> None:
    kinds = render_kinds(patch)
    writable = {m["mountPath"] for m in container(kinds)["volumeMounts"] if not m.get("readOnly")}
    declared = {d["mountPath"] for d in patch.get("writableDirs", [])}
    assert writable == {SERVER_ROOT, "/var/tmp"} | declared
    assert container(kinds)["securityContext"]["readOnlyRootFilesystem"] is True
    # Every writable volume is an emptyDir (unless a PVC is declared).
    names = {m["name"] for m in container(kinds)["volumeMounts"] if not m.get("readOnly")}
    assert all("emptyDir" in volume(kinds, n) for n in names)  # type: ignore[operator]


def test_volume_names_are_dns_labels(render_kinds: RenderKinds) -> None:
    kinds = render_kinds(
        {
            "code": {"persistentVolumeClaim": {"claimName": "code"}},
            "writableDirs": [{"name": "m" * 60, "mountPath": "/var/lib/shop/media"}],
        }
    )
    for v in pod_spec(kinds)["volumes"]:
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", v["name"]) and len(v["name"]) <= 63, v["name"]


# --- security context -----------------------------------------------------------------------------


def test_pod_security_context_defaults(render_kinds: RenderKinds) -> None:
    pod = pod_spec(render_kinds())
    sc = pod["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["runAsUser"] == 20010
    assert sc["runAsGroup"] == 20010
    assert sc["fsGroup"] == 20010  # defaults to runAsGroup
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "supplementalGroups" not in sc
    assert "hostUsers" not in pod
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(key)


def test_fs_group_default_follows_run_as_group(render_kinds: RenderKinds) -> None:
    sc = pod_spec(render_kinds({"security": {"runAsUser": 20010, "runAsGroup": 30020}}))["securityContext"]
    assert (sc["runAsUser"], sc["runAsGroup"], sc["fsGroup"]) == (20010, 30020, 30020)


def test_explicit_ids_and_groups(render_kinds: RenderKinds) -> None:
    pod = pod_spec(
        render_kinds({"security": {"fsGroup": 40040, "supplementalGroups": [50050, 50051], "hostUsers": False}})
    )
    assert pod["securityContext"]["fsGroup"] == 40040
    assert pod["securityContext"]["supplementalGroups"] == [50050, 50051]
    assert pod["hostUsers"] is False


def test_host_users_true_is_passed_through(render_kinds: RenderKinds) -> None:
    assert pod_spec(render_kinds({"security": {"hostUsers": True}}))["hostUsers"] is True


def test_container_security_context(render_kinds: RenderKinds) -> None:
    sc = container(render_kinds({"security": {"runAsUser": 20011, "runAsGroup": 20012}}))["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert (sc["runAsUser"], sc["runAsGroup"]) == (20011, 20012)
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["privileged"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}


# --- ports, pod template annotations, replicas ----------------------------------------------------


def test_container_port_follows_server_port(render_kinds: RenderKinds) -> None:
    kinds = render_kinds({"server": {"port": 8080}, "service": {"port": 8443}})
    assert container(kinds)["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert kinds["Service"]["spec"]["ports"] == [
        {"name": "http", "port": 8443, "targetPort": "http", "protocol": "TCP"}
    ]


def test_restarted_at_is_copied_to_the_pod_template(render_kinds: RenderKinds) -> None:
    stamp = "2026-01-02T03:04:05Z"
    kinds = render_kinds(
        annotations={"wsgi-operator.io/restartedAt": stamp, "kubectl.kubernetes.io/last-applied-configuration": "{}"}
    )
    annotations = kinds["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["wsgi-operator.io/restartedAt"] == stamp
    assert "kubectl.kubernetes.io/last-applied-configuration" not in annotations
    assert (
        "wsgi-operator.io/restartedAt"
        not in render_kinds()["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    )


def test_pod_annotations_are_kept_next_to_the_hash(render_kinds: RenderKinds) -> None:
    annotations = render_kinds({"podAnnotations": {"prometheus.io/scrape": "true"}})["Deployment"]["spec"]["template"][
        "metadata"
    ]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert "wsgi-operator.io/config-hash" in annotations


def test_without_autoscaling_the_deployment_owns_replicas(render_kinds: RenderKinds) -> None:
    kinds = render_kinds({"replicas": 4})
    assert kinds["Deployment"]["spec"]["replicas"] == 4
    assert "HorizontalPodAutoscaler" not in kinds


# --- probes ---------------------------------------------------------------------------------------


def test_default_probes(render_kinds: RenderKinds) -> None:
    c = container(render_kinds())
    host = [{"name": "Host", "value": "shop.shop.svc"}]
    assert c["readinessProbe"]["httpGet"] == {"path": "/", "port": "http", "httpHeaders": host}
    assert c["livenessProbe"]["tcpSocket"] == {"port": "http"}
    assert "httpGet" not in c["livenessProbe"]
    assert c["startupProbe"]["httpGet"] == {"path": "/", "port": "http", "httpHeaders": host}
    # The startup probe waits at least as long as express's startup timeout.
    s = c["startupProbe"]
    assert s["periodSeconds"] * s["failureThreshold"] >= 15


def test_probe_path_and_slow_startup(render_kinds: RenderKinds) -> None:
    c = container(render_kinds({"probes": {"path": "/healthz"}, "timeouts": {"startup": 120}}))
    assert c["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
    s = c["startupProbe"]
    assert s["periodSeconds"] * s["failureThreshold"] >= 120


def test_probe_overrides_replace_defaults(render_kinds: RenderKinds) -> None:
    liveness = {"exec": {"command": ["/bin/true"]}, "periodSeconds": 30}
    readiness = {"httpGet": {"path": "/ready", "port": 8000}, "initialDelaySeconds": 3}
    startup = {"tcpSocket": {"port": "http"}, "failureThreshold": 60}
    c = container(render_kinds({"probes": {"liveness": liveness, "readiness": readiness, "startup": startup}}))
    assert c["livenessProbe"] == liveness
    assert c["readinessProbe"] == readiness
    assert c["startupProbe"] == startup


def test_typed_probe_override_renders_every_field_and_nothing_else(render_kinds: RenderKinds) -> None:
    """A probe override is a typed core/v1 Probe now: what is set is rendered as written,
    what is not is left out (the API server's defaults apply), and httpGet.path defaults to /."""
    readiness = {
        "httpGet": {"port": "http", "scheme": "HTTP", "httpHeaders": [{"name": "Host", "value": "shop.example.com"}]},
        "initialDelaySeconds": 2,
        "timeoutSeconds": 3,
        "periodSeconds": 4,
        "successThreshold": 2,
        "failureThreshold": 5,
    }
    liveness = {"grpc": {"port": 8000, "service": "shop"}, "terminationGracePeriodSeconds": 10}
    c = container(render_kinds({"probes": {"readiness": readiness, "liveness": liveness}}))
    assert c["readinessProbe"] == {**readiness, "httpGet": {"path": "/", **readiness["httpGet"]}}
    assert c["livenessProbe"] == liveness
    # The default startup probe stays.
    assert c["startupProbe"]["httpGet"]["path"] == "/"


# --- pass-through pod settings and resources ------------------------------------------------------


def test_pod_pass_through_fields(render_kinds: RenderKinds) -> None:
    patch = {
        "imagePullPolicy": "Always",
        "imagePullSecrets": ["regcred"],
        "env": [
            {"name": "A", "value": "1"},
            {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        ],
        "envFrom": [{"configMapRef": {"name": "shop-env"}}],
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}},
        "nodeSelector": {"kubernetes.io/arch": "amd64"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}],
        "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}},
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"tier": "web"}},
            }
        ],
        "priorityClassName": "web",
    }
    kinds = render_kinds(patch)
    pod, c = pod_spec(kinds), container(kinds)
    assert c["image"] == invalid_specs.IMAGE
    assert c["imagePullPolicy"] == "Always"
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert c["env"] == [{"name": "TMPDIR", "value": "/var/tmp"}, *patch["env"]]
    assert c["envFrom"] == patch["envFrom"]
    assert c["resources"] == patch["resources"]
    assert pod["nodeSelector"] == patch["nodeSelector"]
    assert pod["tolerations"] == patch["tolerations"]
    assert pod["affinity"] == patch["affinity"]
    assert pod["topologySpreadConstraints"] == patch["topologySpreadConstraints"]
    assert pod["priorityClassName"] == "web"


def test_optional_pod_fields_absent_by_default(render_kinds: RenderKinds) -> None:
    kinds = render_kinds()
    pod, c = pod_spec(kinds), container(kinds)
    for key in (
        "imagePullSecrets",
        "nodeSelector",
        "tolerations",
        "topologySpreadConstraints",
        "priorityClassName",
    ):
        assert key not in pod, key
    assert c["env"] == [{"name": "TMPDIR", "value": "/var/tmp"}] and "envFrom" not in c
    assert c["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}


#: The default: prefer a node without another pod of the app (the base app is "shop").
SPREAD_OVER_HOSTS = {
    "preferredDuringSchedulingIgnoredDuringExecution": [
        {
            "weight": 100,
            "podAffinityTerm": {
                "labelSelector": {"matchLabels": {"wsgi-operator.io/app": "shop"}},
                "topologyKey": "kubernetes.io/hostname",
            },
        }
    ]
}


def test_replicas_prefer_different_nodes_unless_the_author_says_otherwise(render_kinds: RenderKinds) -> None:
    assert pod_spec(render_kinds())["affinity"] == {"podAntiAffinity": SPREAD_OVER_HOSTS}
    # Other kinds of affinity keep the default beside them.
    node = {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 1, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}}
        ]
    }
    affinity = pod_spec(render_kinds({"affinity": {"nodeAffinity": node}}))["affinity"]
    assert affinity == {"nodeAffinity": node, "podAntiAffinity": SPREAD_OVER_HOSTS}
    # An author's anti-affinity (even an empty one) replaces it.
    mine = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}}
    assert pod_spec(render_kinds({"affinity": mine}))["affinity"] == mine


def test_a_spread_constraint_without_a_selector_counts_the_apps_own_pods(render_kinds: RenderKinds) -> None:
    written = {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule"}
    [constraint] = pod_spec(render_kinds({"topologySpreadConstraints": [written]}))["topologySpreadConstraints"]
    assert constraint == {**written, "labelSelector": {"matchLabels": {"wsgi-operator.io/app": "shop"}}}


def test_rolling_update_never_drops_below_replicas(render_kinds: RenderKinds) -> None:
    strategy = render_kinds()["Deployment"]["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


_QUANTITY = re.compile(r"^([0-9.]+)(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")


_FACTOR = {
    None: 1,
    "m": 1e-3,
    "k": 1e3,
    "Ki": 2**10,
    "M": 1e6,
    "Mi": 2**20,
    "G": 1e9,
    "Gi": 2**30,
    "T": 1e12,
    "Ti": 2**40,
}


def _quantity(text: str) -> float:
    number, suffix = _QUANTITY.match(text).groups()  # type: ignore[union-attr]
    return float(number) * _FACTOR[suffix]


@pytest.mark.parametrize(
    "requests",
    [{"memory": "1Gi"}, {"cpu": "2"}, {"cpu": "1500m", "memory": "768Mi"}],
    ids=["memory-1Gi", "cpu-2", "both"],
)
def test_requests_above_default_limits_never_render_an_invalid_pod(
    render_kinds: RenderKinds, requests: dict[str, str]
) -> None:
    """Raising only a request must not leave the default limit below it (the API
    server refuses such a Deployment): either validation says so, or the rendered
    limits are at least the requests."""
    from wsgi_operator.api.validation import InvalidWsgiApp

    try:
        kinds = render_kinds({"resources": {"requests": requests}})
    except InvalidWsgiApp:
        return
    resources = container(kinds)["resources"]
    for name, value in resources["requests"].items():
        limit = resources.get("limits", {}).get(name)
        assert limit is None or _quantity(limit) >= _quantity(value), (
            f"requests.{name}={value} above limits.{name}={limit}"
        )


@pytest.mark.parametrize(
    ("patch", "host"),
    [
        ({}, "shop.shop.svc"),
        ({"ingress": {"hosts": ["*.example.com", "shop.example.com"]}}, "shop.example.com"),
        ({"ingress": {"hosts": ["*.example.com"]}}, "shop.shop.svc"),
        ({"httpRoute": {"parentRefs": [{"name": "gw"}], "hostnames": ["route.example.org"]}}, "route.example.org"),
        ({"ingress": {"hosts": ["shop.example.com"]}, "probes": {"host": "probe.internal"}}, "probe.internal"),
    ],
    ids=["service-dns", "first-non-wildcard-host", "wildcard-only", "route", "explicit"],
)
def test_probes_send_a_host_the_app_accepts(render_kinds: RenderKinds, patch: dict[str, Any], host: str) -> None:
    c = container(render_kinds(patch))
    for probe in ("readinessProbe", "startupProbe"):
        assert c[probe]["httpGet"]["httpHeaders"] == [{"name": "Host", "value": host}]


def test_private_temp_dir_is_a_sized_empty_dir_named_by_tmpdir(render_kinds: RenderKinds) -> None:
    kinds = render_kinds({"tempDir": {"sizeLimit": "1Gi", "medium": "Memory"}})
    c = container(kinds)
    assert {"name": "tmp", "mountPath": "/var/tmp"} in c["volumeMounts"]
    assert volume(kinds, "tmp") == {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi", "medium": "Memory"}}
    assert c["env"][0] == {"name": "TMPDIR", "value": "/var/tmp"}


def test_writable_dir_backed_by_a_claim(render_kinds: RenderKinds) -> None:
    patch = {
        "writableDirs": [
            {"name": "data", "mountPath": "/var/lib/shop/data", "persistentVolumeClaim": {"claimName": "shop-data"}}
        ]
    }
    kinds = render_kinds(patch)
    assert volume(kinds, "rw-data") == {"name": "rw-data", "persistentVolumeClaim": {"claimName": "shop-data"}}
    assert {"name": "rw-data", "mountPath": "/var/lib/shop/data"} in container(kinds)["volumeMounts"]
