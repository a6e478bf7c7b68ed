"""Unit tests of every branch of the renderer (WsgiApp -> child objects).

Each test renders a small variant of the shared base manifest
(``invalid_specs.base_manifest()``: app ``shop`` in namespace ``shop``,
module entry point, UID/GID 20010) and checks the objects it produces.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import pytest

import invalid_specs
from wsgi_operator.api.server import ERROR_STATUSES, Timeouts
from wsgi_operator.api.validation import validate
from wsgi_operator.render import RenderSettings, render

Kinds = dict[str, dict[str, Any]]
RenderKinds = Callable[..., Kinds]

APP = "shop"
SERVER_ROOT = "/var/run/wsgi"
ENTRY_DIR = "/etc/wsgi/entry"
CONF_DIR = "/etc/wsgi/conf"
FORBIDDEN_LABEL = "app.kubernetes.io/instance"

#: Express flag of every spec.timeouts field, written down independently of the renderer.
TIMEOUT_FLAGS = {
    "request": "--request-timeout",
    "interrupt": "--interrupt-timeout",
    "header": "--header-timeout",
    "headerMax": "--header-max-timeout",
    "headerMinRate": "--header-min-rate",
    "body": "--body-timeout",
    "bodyMax": "--body-max-timeout",
    "bodyMinRate": "--body-min-rate",
    "socket": "--socket-timeout",
    "queue": "--queue-timeout",
    "connect": "--connect-timeout",
    "graceful": "--graceful-timeout",
    "eviction": "--eviction-timeout",
    "shutdown": "--shutdown-timeout",
    "inactivity": "--inactivity-timeout",
    "startup": "--startup-timeout",
    "deadlock": "--deadlock-timeout",
    "keepAlive": "--keep-alive-timeout",
}
#: Distinct values, so a flag wired to the wrong field shows.
TIMEOUT_VALUES = {
    "request": 31,
    "interrupt": 2,
    "header": 11,
    "headerMax": 22,
    "headerMinRate": 501,
    "body": 12,
    "bodyMax": 24,
    "bodyMinRate": 502,
    "socket": 61,
    "queue": 46,
    "connect": 16,
    "graceful": 17,
    "eviction": 3,
    "shutdown": 6,
    "inactivity": 4,
    "startup": 18,
    "deadlock": 62,
    "keepAlive": 5,
}
LIMIT_FLAGS = {
    "maximumRequests": ("--maximum-requests", 5000),
    "restartInterval": ("--restart-interval", 3600),
    "cpuTimeLimit": ("--cpu-time-limit", 120),
    "requestBody": ("--limit-request-body", 1048576),
}


# --- helpers ---------------------------------------------------------------------------------


def pod_spec(kinds: Kinds) -> dict[str, Any]:
    return kinds["Deployment"]["spec"]["template"]["spec"]


def container(kinds: Kinds) -> dict[str, Any]:
    (c,) = pod_spec(kinds)["containers"]
    return c


def args(kinds: Kinds) -> list[str]:
    return container(kinds)["command"]


def flag_values(argv: list[str], flag: str) -> list[str]:
    """Values following every occurrence of ``flag``."""
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def volume(kinds: Kinds, name: str) -> dict[str, Any] | None:
    return next((v for v in pod_spec(kinds)["volumes"] if v["name"] == name), None)


def mount_at(kinds: Kinds, path: str) -> dict[str, Any] | None:
    return next((m for m in container(kinds)["volumeMounts"] if m["mountPath"] == path), None)


def include_conf(kinds: Kinds) -> list[str]:
    return kinds["ConfigMap/config"]["data"]["hardening.conf"].splitlines()


def config_hash(kinds: Kinds) -> str:
    return kinds["Deployment"]["spec"]["template"]["metadata"]["annotations"]["wsgi-operator.io/config-hash"]


def walk_labels(obj: Any) -> list[dict[str, str]]:
    """Every label map and matchLabels map anywhere in ``obj``."""
    found = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in ("labels", "matchLabels") and isinstance(value, dict):
                found.append(value)
            found += walk_labels(value)
    elif isinstance(obj, list):
        for item in obj:
            found += walk_labels(item)
    return found


# --- apply order and object set -------------------------------------------------------------


def test_default_objects_in_apply_order() -> None:
    objects = render(validate(invalid_specs.base_manifest()))
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("ServiceAccount", APP),
        ("ConfigMap", f"{APP}-entry"),
        ("ConfigMap", f"{APP}-config"),
        ("Service", APP),
        ("Deployment", APP),
        ("NetworkPolicy", APP),
        ("PodDisruptionBudget", APP),
    ]
    assert all(o["metadata"]["namespace"] == "shop" for o in objects)


def test_render_settings_default_equals_none() -> None:
    app = validate(invalid_specs.base_manifest())
    assert render(app) == render(app, RenderSettings())


# --- code source -------------------------------------------------------------------------------


def test_code_baked_into_image_has_no_code_volume(render_kinds: RenderKinds) -> None:
    kinds = render_kinds()
    assert volume(kinds, "code") is None
    assert mount_at(kinds, "/app") is None
    assert flag_values(args(kinds), "--python-path") == ["/app"]


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
    assert flag_values(args(kinds), "--python-path") == ["/opt/shop"]


# --- entry script ----------------------------------------------------------------------------------


def test_module_entry_script_imports_the_callable(render_kinds: RenderKinds) -> None:
    kinds = render_kinds({"entryPoint": {"module": "shop.wsgi", "callable": "app"}})
    script = kinds["ConfigMap/entry"]["data"]["wsgi.py"]
    compile(script, "wsgi.py", "exec")
    assert "from shop.wsgi import app as application" in script
    assert "runpy" not in script


def test_script_entry_script_runs_the_file_under_the_code_path(render_kinds: RenderKinds) -> None:
    kinds = render_kinds(
        {
            "entryPoint": {"module": invalid_specs.DELETE, "script": "api/app.wsgi", "callable": "app"},
            "code": {"path": "/opt/api"},
        }
    )
    script = kinds["ConfigMap/entry"]["data"]["wsgi.py"]
    compile(script, "wsgi.py", "exec")
    assert 'runpy.run_path("/opt/api/api/app.wsgi"' in script
    assert '["app"]' in script
    assert "application =" in script


def test_entry_script_is_its_own_read_only_mount_and_the_express_script(render_kinds: RenderKinds) -> None:
    kinds = render_kinds()
    assert volume(kinds, "entry") == {"name": "entry", "configMap": {"name": f"{APP}-entry", "defaultMode": 0o444}}
    assert mount_at(kinds, ENTRY_DIR) == {"name": "entry", "mountPath": ENTRY_DIR, "readOnly": True}
    assert args(kinds)[:3] == ["mod_wsgi-express", "start-server", f"{ENTRY_DIR}/wsgi.py"]
    assert set(kinds["ConfigMap/entry"]["data"]) == {"wsgi.py"}


def test_config_is_a_read_only_mount_holding_include_and_envvars(render_kinds: RenderKinds) -> None:
    kinds = render_kinds()
    assert volume(kinds, "config") == {"name": "config", "configMap": {"name": f"{APP}-config", "defaultMode": 0o444}}
    assert mount_at(kinds, CONF_DIR) == {"name": "config", "mountPath": CONF_DIR, "readOnly": True}
    data = kinds["ConfigMap/config"]["data"]
    (include,) = flag_values(args(kinds), "--include-file")
    (envvars,) = flag_values(args(kinds), "--envvars-script")
    assert include.startswith(CONF_DIR + "/") and include.rsplit("/", 1)[1] in data
    assert envvars.startswith(CONF_DIR + "/") and envvars.rsplit("/", 1)[1] in data


# --- writable directories and server root --------------------------------------------------------


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
    (root,) = flag_values(args(kinds), "--server-root")
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
    assert writable == {SERVER_ROOT} | declared
    assert container(kinds)["securityContext"]["readOnlyRootFilesystem"] is True
    # Every writable volume is an emptyDir.
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


def test_service_account_token_is_never_mounted(render_kinds: RenderKinds) -> None:
    kinds = render_kinds({"serviceAccountAnnotations": {"iam.gke.io/gcp-service-account": "shop@p.iam"}})
    sa = kinds["ServiceAccount"]
    assert sa["automountServiceAccountToken"] is False
    assert sa["metadata"]["name"] == APP
    assert sa["metadata"]["annotations"] == {"iam.gke.io/gcp-service-account": "shop@p.iam"}
    pod = pod_spec(kinds)
    assert pod["serviceAccountName"] == APP
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False


# --- the express command ------------------------------------------------------------------------------


def test_command_basics(render_kinds: RenderKinds) -> None:
    argv = args(render_kinds())
    assert flag_values(argv, "--process-group") == [APP]
    assert "--log-to-terminal" in argv
    assert flag_values(argv, "--log-level") == ["warn"]
    assert flag_values(argv, "--port") == ["8000"]
    assert flag_values(argv, "--processes") == ["2"]
    assert flag_values(argv, "--threads") == ["8"]
    assert flag_values(argv, "--working-directory") == ["/app"]
    for never in ("--log-directory", "--embedded-mode", "--server-name", "--access-log", "--error-override"):
        assert never not in argv, never
    assert "args" not in container(render_kinds())


def test_command_follows_server_and_logging_spec(render_kinds: RenderKinds) -> None:
    argv = args(
        render_kinds(
            {
                "server": {"port": 8080, "processes": 4, "threads": 16},
                "logging": {"level": "error", "accessLog": True},
                "workingDirectory": "/var/lib/shop",
            }
        )
    )
    assert flag_values(argv, "--port") == ["8080"]
    assert flag_values(argv, "--processes") == ["4"]
    assert flag_values(argv, "--threads") == ["16"]
    assert flag_values(argv, "--log-level") == ["error"]
    assert flag_values(argv, "--working-directory") == ["/var/lib/shop"]
    assert argv.count("--access-log") == 1
    assert "--log-directory" not in argv


def test_container_port_follows_server_port(render_kinds: RenderKinds) -> None:
    kinds = render_kinds({"server": {"port": 8080}, "service": {"port": 8443}})
    assert container(kinds)["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert kinds["Service"]["spec"]["ports"] == [
        {"name": "http", "port": 8443, "targetPort": "http", "protocol": "TCP"}
    ]


def test_every_timeout_field_has_a_flag_in_this_table() -> None:
    aliases = {f.alias for f in Timeouts.model_fields.values()}
    assert aliases == set(TIMEOUT_FLAGS), "a timeout was added or removed: update TIMEOUT_FLAGS"


def test_every_timeout_flag_carries_its_value(render_kinds: RenderKinds) -> None:
    argv = args(render_kinds({"timeouts": TIMEOUT_VALUES}))
    for field, flag in TIMEOUT_FLAGS.items():
        assert flag_values(argv, flag) == [str(TIMEOUT_VALUES[field])], flag


def test_default_timeouts_are_passed_too(render_kinds: RenderKinds) -> None:
    argv = args(render_kinds())
    defaults = Timeouts()
    for field in Timeouts.model_fields:
        flag = TIMEOUT_FLAGS[Timeouts.model_fields[field].alias]  # type: ignore[index]
        assert flag_values(argv, flag) == [str(getattr(defaults, field))], flag


def test_every_limit_flag_carries_its_value(render_kinds: RenderKinds) -> None:
    argv = args(render_kinds({"limits": {k: v for k, (_, v) in LIMIT_FLAGS.items()}}))
    for flag, value in LIMIT_FLAGS.values():
        assert flag_values(argv, flag) == [str(value)], flag


def test_trusted_proxies_and_headers_are_repeated_flags(render_kinds: RenderKinds) -> None:
    argv = args(
        render_kinds(
            {
                "security": {
                    "trustedProxies": ["10.0.0.0/8", "192.168.1.5", "fd00::/8"],
                    "trustedProxyHeaders": ["X-Forwarded-For", "X-Forwarded-Proto"],
                }
            }
        )
    )
    assert flag_values(argv, "--trust-proxy") == ["10.0.0.0/8", "192.168.1.5", "fd00::/8"]
    assert flag_values(argv, "--trust-proxy-header") == ["X-Forwarded-For", "X-Forwarded-Proto"]


def test_no_trust_flags_without_proxies(render_kinds: RenderKinds) -> None:
    argv = args(render_kinds())
    assert "--trust-proxy" not in argv and "--trust-proxy-header" not in argv


@pytest.mark.parametrize(
    ("error_pages", "expected"),
    [({}, False), ({"overrideApplication": True}, True), ({"enabled": False, "overrideApplication": True}, False)],
    ids=["default", "override", "disabled"],
)
def test_error_override_flag(render_kinds: RenderKinds, error_pages: dict[str, Any], expected: bool) -> None:
    assert ("--error-override" in args(render_kinds({"errorPages": error_pages}))) is expected


KITCHEN_SINK: dict[str, Any] = {
    "entryPoint": {"module": invalid_specs.DELETE, "script": "wsgi.py", "callable": "app"},
    "code": {"path": "/opt/shop", "configMap": {"name": "shop-code"}},
    "workingDirectory": "/var/lib/shop",
    "server": {"port": 8080, "processes": 3, "threads": 12},
    "timeouts": TIMEOUT_VALUES,
    "limits": {k: v for k, (_, v) in LIMIT_FLAGS.items()},
    "security": {
        "trustedProxies": ["10.0.0.0/8", "fd00::/8"],
        "trustedProxyHeaders": ["X-Forwarded-For"],
        "passAuthorization": True,
        "umask": "0077",
        "supplementalGroups": [30030],
        "hostUsers": False,
    },
    "writableDirs": [{"name": "media", "mountPath": "/var/lib/shop/media", "medium": "Memory"}],
    "env": [{"name": "HOME", "value": "$HOME/x"}, {"name": "PATH_INFO", "value": "$(PATH)"}],
    "logging": {"level": "info", "accessLog": True},
    "errorPages": {"overrideApplication": True},
    "ingress": {"hosts": ["shop.example.com"], "tlsSecretName": "shop-tls", "className": "nginx"},
    "httpRoute": {"parentRefs": [{"name": "gw", "namespace": "gateways", "sectionName": "https"}]},
    "autoscaling": {"minReplicas": 2, "maxReplicas": 5, "targetMemoryUtilization": 75},
}


def _command_of(manifest: dict[str, Any]) -> list[str]:
    (dep,) = [o for o in render(validate(manifest)) if o["kind"] == "Deployment"]
    return dep["spec"]["template"]["spec"]["containers"][0]["command"]


def test_no_dollar_anywhere_in_the_command(example: dict[str, Any]) -> None:
    """express expands `$VAR` in every argument: none may contain a `$` (nor whitespace)."""
    kitchen_sink = invalid_specs.deep_merge(invalid_specs.base_manifest(), {"spec": KITCHEN_SINK})
    for cmd in (_command_of(example), _command_of(kitchen_sink)):
        assert not [a for a in cmd if "$" in a], cmd
        assert not [a for a in cmd if any(ch.isspace() for ch in a)], cmd


def test_kitchen_sink_command(render_kinds: RenderKinds) -> None:
    argv = args(render_kinds(KITCHEN_SINK))
    assert argv[:3] == ["mod_wsgi-express", "start-server", f"{ENTRY_DIR}/wsgi.py"]
    assert flag_values(argv, "--python-path") == ["/opt/shop"]
    assert flag_values(argv, "--working-directory") == ["/var/lib/shop"]
    assert flag_values(argv, "--trust-proxy") == ["10.0.0.0/8", "fd00::/8"]
    assert flag_values(argv, "--log-level") == ["info"]
    assert "--access-log" in argv and "--error-override" in argv
    # Every flag appears once, except the repeatable trust flags.
    flags = [a for a in argv if a.startswith("--")]
    repeated = {f for f in flags if flags.count(f) > 1}
    assert repeated <= {"--trust-proxy", "--trust-proxy-header"}, repeated


# --- include file and envvars ---------------------------------------------------------------------


def test_include_file_defaults(render_kinds: RenderKinds) -> None:
    lines = include_conf(render_kinds())
    assert "WSGIPassAuthorization Off" in lines
    assert "WSGIPassAuthorization On" not in lines
    assert "TraceEnable Off" in lines
    # Request limits are ignored in the include (express's VirtualHost copied them already).
    assert not [line for line in lines if line.startswith("LimitRequest")]
    error_docs = [line for line in lines if line.startswith("ErrorDocument ")]
    assert len(error_docs) == len(ERROR_STATUSES)
    # 411 and 417 too: Apache's own pages for them echo the method / Expect header.
    assert {line.split()[1] for line in error_docs} >= {"400", "404", "411", "413", "417", "500", "503"}
    # The fixed texts never echo anything from the request.
    assert not [line for line in error_docs if "%{" in line or "$" in line]


def test_include_file_follows_the_spec(render_kinds: RenderKinds) -> None:
    lines = include_conf(
        render_kinds(
            {
                "security": {"passAuthorization": True},
                "limits": {"requestFields": 50, "requestFieldSize": 4096, "requestLine": 2048},
                "errorPages": {"enabled": False},
            }
        )
    )
    assert "WSGIPassAuthorization On" in lines
    assert "WSGIPassAuthorization Off" not in lines
    assert "TraceEnable Off" in lines
    assert not [line for line in lines if line.startswith("ErrorDocument")]


def test_request_limits_reach_httpd_before_its_config(render_kinds: RenderKinds) -> None:
    def envvars(patch: dict | None = None) -> str:
        return render_kinds(patch)["ConfigMap/config"]["data"]["envvars"]

    default = envvars()
    assert "-C 'LimitRequestFields 100'" in default
    assert "-C 'LimitRequestFieldSize 8190'" in default
    assert "-C 'LimitRequestLine 8190'" in default
    custom = envvars({"limits": {"requestFields": 50, "requestFieldSize": 4096, "requestLine": 2048}})
    assert "-C 'LimitRequestFields 50'" in custom
    assert "-C 'LimitRequestFieldSize 4096'" in custom
    assert "-C 'LimitRequestLine 2048'" in custom
    # Both the server start and the preStop's graceful-stop go through it.
    assert "start|stop|restart|graceful|graceful-stop)" in custom


def test_envvars_script_sets_the_umask(render_kinds: RenderKinds) -> None:
    assert "umask 0027" in render_kinds()["ConfigMap/config"]["data"]["envvars"].splitlines()
    assert (
        "umask 0077"
        in render_kinds({"security": {"umask": "0077"}})["ConfigMap/config"]["data"]["envvars"].splitlines()
    )


# --- rolling on change --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "patch",
    [
        {"security": {"passAuthorization": True}},
        {"security": {"umask": "0077"}},
        {"limits": {"requestFields": 50}},
        {"errorPages": {"enabled": False}},
        {"entryPoint": {"module": "shop.other_wsgi"}},
        {"entryPoint": {"callable": "app"}},
        {"timeouts": {"request": 120}},
    ],
    ids=["pass-authorization", "umask", "request-fields", "error-pages", "module", "callable", "graceful-shutdown"],
)
def test_config_hash_changes_with_the_config(render_kinds: RenderKinds, patch: dict[str, Any]) -> None:
    base, changed = render_kinds(), render_kinds(patch)
    assert config_hash(base) != config_hash(changed)
    assert base["ConfigMap/entry"]["data"] != changed["ConfigMap/entry"]["data"] or (
        base["ConfigMap/config"]["data"] != changed["ConfigMap/config"]["data"]
    )


@pytest.mark.parametrize(
    "patch",
    [
        {"replicas": 5},
        {"image": "registry.example.com/shop/web:2.0"},
        {"env": [{"name": "FOO", "value": "bar"}]},
        {"resources": {"limits": {"cpu": "2", "memory": "1Gi"}}},
        {"ingress": {"hosts": ["shop.example.com"]}},
        {"podAnnotations": {"team": "payments"}},
    ],
    ids=["replicas", "image", "env", "resources", "ingress", "pod-annotations"],
)
def test_config_hash_is_stable_otherwise(render_kinds: RenderKinds, patch: dict[str, Any]) -> None:
    assert config_hash(render_kinds()) == config_hash(render_kinds(patch))


def test_config_hash_is_short_hex(render_kinds: RenderKinds) -> None:
    assert re.fullmatch(r"[0-9a-f]{16}", config_hash(render_kinds()))


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


# --- replicas, HPA, PDB ---------------------------------------------------------------------------------


def test_without_autoscaling_the_deployment_owns_replicas(render_kinds: RenderKinds) -> None:
    kinds = render_kinds({"replicas": 4})
    assert kinds["Deployment"]["spec"]["replicas"] == 4
    assert "HorizontalPodAutoscaler" not in kinds


def test_with_autoscaling_the_hpa_owns_replicas(render_kinds: RenderKinds) -> None:
    kinds = render_kinds({"replicas": 4, "autoscaling": {"minReplicas": 3, "maxReplicas": 9}})
    assert "replicas" not in kinds["Deployment"]["spec"]
    hpa = kinds["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": APP}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 9)
    assert hpa["spec"]["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}
    ]


def test_hpa_memory_target_and_no_cpu_target(render_kinds: RenderKinds) -> None:
    hpa = render_kinds(
        {"autoscaling": {"maxReplicas": 4, "targetCpuUtilization": None, "targetMemoryUtilization": 70}}
    )["HorizontalPodAutoscaler"]
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["memory"]
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        ({}, {"maxUnavailable": 1}),
        ({"maxUnavailable": 0}, {"maxUnavailable": 0}),
        ({"maxUnavailable": 2}, {"maxUnavailable": 2}),
        ({"minAvailable": 2}, {"minAvailable": 2}),
    ],
    ids=["default", "max-0", "max-2", "min-2"],
)
def test_disruption_budget(render_kinds: RenderKinds, budget: dict[str, Any], expected: dict[str, Any]) -> None:
    pdb = render_kinds({"disruptionBudget": budget})["PodDisruptionBudget"]
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"] == {"selector": {"matchLabels": {"wsgi-operator.io/app": APP}}, **expected}


def test_disruption_budget_disabled(render_kinds: RenderKinds) -> None:
    assert "PodDisruptionBudget" not in render_kinds({"disruptionBudget": {"enabled": False}})


# --- exposure ----------------------------------------------------------------------------------------------


def test_no_ingress_or_route_by_default(render_kinds: RenderKinds) -> None:
    kinds = render_kinds()
    assert "Ingress" not in kinds and "HTTPRoute" not in kinds


def test_ingress_without_tls_or_class(render_kinds: RenderKinds) -> None:
    ing = render_kinds({"ingress": {"hosts": ["shop.example.com", "www.shop.example.com"]}})["Ingress"]
    assert ing["apiVersion"] == "networking.k8s.io/v1"
    assert "tls" not in ing["spec"] and "ingressClassName" not in ing["spec"]
    assert "annotations" not in ing["metadata"]
    backend = {"service": {"name": APP, "port": {"name": "http"}}}
    assert ing["spec"]["rules"] == [
        {"host": h, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
        for h in ("shop.example.com", "www.shop.example.com")
    ]


def test_ingress_with_tls_class_paths_and_annotations(render_kinds: RenderKinds) -> None:
    kinds = render_kinds(
        {
            "ingress": {
                "className": "nginx",
                "hosts": ["shop.example.com"],
                "tlsSecretName": "shop-tls",
                "paths": [{"path": "/api", "pathType": "Exact"}, {"path": "/static"}],
                "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "10m"},
            }
        }
    )
    ing = kinds["Ingress"]
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["tls"] == [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}]
    assert [(p["path"], p["pathType"]) for p in ing["spec"]["rules"][0]["http"]["paths"]] == [
        ("/api", "Exact"),
        ("/static", "Prefix"),
    ]
    assert ing["metadata"]["annotations"] == {"nginx.ingress.kubernetes.io/proxy-body-size": "10m"}
    # The backend port name is the Service's port name.
    assert kinds["Service"]["spec"]["ports"][0]["name"] == "http"


def test_http_route(render_kinds: RenderKinds) -> None:
    route = render_kinds(
        {
            "service": {"port": 8080},
            "httpRoute": {
                "parentRefs": [{"name": "gw"}, {"name": "gw2", "namespace": "gateways", "sectionName": "https"}],
                "hostnames": ["shop.example.com"],
                "path": "/shop",
            },
        }
    )["HTTPRoute"]
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"] == {
        "parentRefs": [{"name": "gw"}, {"name": "gw2", "namespace": "gateways", "sectionName": "https"}],
        "hostnames": ["shop.example.com"],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/shop"}}],
                "backendRefs": [{"name": APP, "port": 8080}],
            }
        ],
    }


def test_http_route_without_hostnames(render_kinds: RenderKinds) -> None:
    route = render_kinds({"httpRoute": {"parentRefs": [{"name": "gw"}]}})["HTTPRoute"]
    assert "hostnames" not in route["spec"]


def test_service_is_cluster_ip_selecting_only_this_app(render_kinds: RenderKinds) -> None:
    kinds = render_kinds()
    svc = kinds["Service"]["spec"]
    assert svc["type"] == "ClusterIP"
    assert svc["selector"] == {"wsgi-operator.io/app": APP}
    assert svc["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]


# --- network policy ---------------------------------------------------------------------------------------


def test_network_policy_defaults(render_kinds: RenderKinds) -> None:
    np = render_kinds()["NetworkPolicy"]["spec"]
    assert np["podSelector"] == {"matchLabels": {"wsgi-operator.io/app": APP}}
    assert np["policyTypes"] == ["Ingress", "Egress"]
    assert np["ingress"] == [
        {
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
            "ports": [{"port": 8000, "protocol": "TCP"}],
        }
    ]
    assert np["egress"] == [
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        }
    ]


def test_network_policy_uses_operator_settings(render_kinds: RenderKinds) -> None:
    settings = RenderSettings(
        ingress_namespace_labels={"team": "edge"},
        ingress_pod_labels={"app": "traefik"},
        dns_namespace_labels={"kubernetes.io/metadata.name": "dns"},
        dns_pod_labels={"app": "coredns"},
    )
    np = render_kinds({"server": {"port": 8080}}, settings=settings)["NetworkPolicy"]["spec"]
    assert np["ingress"][0] == {
        "from": [
            {"namespaceSelector": {"matchLabels": {"team": "edge"}}, "podSelector": {"matchLabels": {"app": "traefik"}}}
        ],
        "ports": [{"port": 8080, "protocol": "TCP"}],
    }
    assert np["egress"][0]["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dns"}},
            "podSelector": {"matchLabels": {"app": "coredns"}},
        }
    ]


def test_network_policy_deny_all(render_kinds: RenderKinds) -> None:
    np = render_kinds({"networkPolicy": {"allowIngressController": False, "allowDns": False}})["NetworkPolicy"]["spec"]
    assert np["policyTypes"] == ["Ingress", "Egress"]
    assert np["ingress"] == [] and np["egress"] == []


def test_network_policy_peers(render_kinds: RenderKinds) -> None:
    np = render_kinds(
        {
            "networkPolicy": {
                "allowIngressController": False,
                "ingressFrom": [
                    {"app": "public"},
                    {
                        "namespaceSelector": {"matchLabels": {"team": "ops"}},
                        "podSelector": {"matchLabels": {"app": "x"}},
                    },
                    {"ipBlock": {"cidr": "10.1.0.0/16"}, "ports": [{"port": 9999}]},
                ],
                "egressTo": [
                    {"app": "api", "ports": [{"port": 8000}]},
                    {
                        "ipBlock": {"cidr": "10.20.0.0/16", "except": ["10.20.1.0/24"]},
                        "ports": [{"port": 53, "protocol": "UDP"}],
                    },
                    {"namespaceSelector": {"matchLabels": {"team": "data"}}},
                ],
            }
        }
    )["NetworkPolicy"]["spec"]
    app_port = [{"port": 8000, "protocol": "TCP"}]
    assert np["ingress"] == [
        {"from": [{"podSelector": {"matchLabels": {"wsgi-operator.io/app": "public"}}}], "ports": app_port},
        {
            "from": [
                {"namespaceSelector": {"matchLabels": {"team": "ops"}}, "podSelector": {"matchLabels": {"app": "x"}}}
            ],
            "ports": app_port,
        },
        # Whatever ports a peer lists, only the app port listens on these pods.
        {"from": [{"ipBlock": {"cidr": "10.1.0.0/16"}}], "ports": app_port},
    ]
    assert np["egress"][1:] == [
        {
            "to": [{"podSelector": {"matchLabels": {"wsgi-operator.io/app": "api"}}}],
            "ports": [{"port": 8000, "protocol": "TCP"}],
        },
        {
            "to": [{"ipBlock": {"cidr": "10.20.0.0/16", "except": ["10.20.1.0/24"]}}],
            "ports": [{"port": 53, "protocol": "UDP"}],
        },
        {"to": [{"namespaceSelector": {"matchLabels": {"team": "data"}}}]},
    ]
    assert np["egress"][0]["ports"][0]["port"] == 53  # DNS stays first


def test_network_policy_disabled(render_kinds: RenderKinds) -> None:
    assert "NetworkPolicy" not in render_kinds({"networkPolicy": {"enabled": False}})


# --- metadata: owners and labels ------------------------------------------------------------------------------


def test_no_owner_references_without_uid(render_kinds: RenderKinds) -> None:
    assert not [o for o in render_kinds().values() if "ownerReferences" in o["metadata"]]


def test_owner_references_with_uid(render_kinds: RenderKinds) -> None:
    uid = "6f1c2a8e-0000-4000-8000-000000000001"
    for obj in render_kinds(
        {
            "autoscaling": {"maxReplicas": 3},
            "ingress": {"hosts": ["a.example.com"]},
            "httpRoute": {"parentRefs": [{"name": "gw"}]},
        },
        uid=uid,
    ).values():
        assert obj["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "wsgi-operator.io/v1alpha1",
                "kind": "WsgiApp",
                "name": APP,
                "uid": uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ], obj["kind"]


def test_labels_on_every_object_and_never_argo_tracking(render_kinds: RenderKinds) -> None:
    kinds = render_kinds(
        {
            "autoscaling": {"maxReplicas": 3},
            "ingress": {"hosts": ["a.example.com"]},
            "httpRoute": {"parentRefs": [{"name": "gw"}]},
        },
        # Argo CD stamps its tracking label on the WsgiApp; children must not inherit it.
        labels={FORBIDDEN_LABEL: "argo-app", "app.kubernetes.io/part-of": "shop-system", "team": "payments"},
        annotations={"argocd.argoproj.io/tracking-id": "argo-app:wsgi-operator.io/WsgiApp:shop/shop"},
    )
    assert len(kinds) == 10
    for key, obj in kinds.items():
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == APP, key
        assert labels["app.kubernetes.io/managed-by"] == "wsgi-operator", key
        assert labels["app.kubernetes.io/part-of"] == "shop-system", key
        assert labels["wsgi-operator.io/app"] == APP, key
        assert "team" not in labels, key
        for found in walk_labels(obj):
            assert FORBIDDEN_LABEL not in found, key
        assert "argocd.argoproj.io/tracking-id" not in str(obj), key


def test_selectors_agree_and_pod_labels_cannot_override_them(render_kinds: RenderKinds) -> None:
    kinds = render_kinds({"podLabels": {"wsgi-operator.io/app": "other", "team": "payments"}})
    selector = {"wsgi-operator.io/app": APP}
    template_labels = kinds["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert template_labels["team"] == "payments"
    assert template_labels["wsgi-operator.io/app"] == APP
    assert kinds["Deployment"]["spec"]["selector"] == {"matchLabels": selector}
    assert kinds["Service"]["spec"]["selector"] == selector
    assert kinds["NetworkPolicy"]["spec"]["podSelector"] == {"matchLabels": selector}
    assert kinds["PodDisruptionBudget"]["spec"]["selector"] == {"matchLabels": selector}


# --- shutdown -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threads", "request_timeout", "shutdown", "drain"),
    [(1, 60, 5, 5), (8, 60, 5, 5), (10, 30, 5, 0), (256, 600, 30, 20), (15, 1, 0, 3)],
)
def test_termination_grace_covers_drain_requests_and_shutdown(
    render_kinds: RenderKinds, threads: int, request_timeout: int, shutdown: int, drain: int
) -> None:
    kinds = render_kinds(
        {"server": {"threads": threads}, "timeouts": {"request": request_timeout, "shutdown": shutdown}},
        settings=RenderSettings(drain_seconds=drain),
    )
    grace = pod_spec(kinds)["terminationGracePeriodSeconds"]
    request_bound = math.ceil(request_timeout * (1 + math.log(threads)))
    assert grace >= drain + request_bound + shutdown
    # Apache gives up on in-flight requests before the kubelet's SIGKILL.
    (line,) = [x for x in include_conf(kinds) if x.startswith("GracefulShutdownTimeout ")]
    assert request_bound <= int(line.split()[1]) < grace - drain


def test_pre_stop_drains_then_graceful_stops(render_kinds: RenderKinds) -> None:
    kinds = render_kinds(settings=RenderSettings(drain_seconds=7))
    cmd = container(kinds)["lifecycle"]["preStop"]["exec"]["command"]
    assert cmd[:2] == ["/bin/sh", "-c"]
    script = cmd[2]
    assert re.search(r"\bsleep 7\b", script)
    assert f"{SERVER_ROOT}/apachectl graceful-stop" in script
    assert script.index("sleep") < script.index("graceful-stop")
    assert "kill" not in script and "TERM" not in script


# --- probes -----------------------------------------------------------------------------------------------------


def test_default_probes(render_kinds: RenderKinds) -> None:
    c = container(render_kinds())
    assert c["readinessProbe"]["httpGet"] == {"path": "/", "port": "http"}
    assert c["livenessProbe"]["tcpSocket"] == {"port": "http"}
    assert "httpGet" not in c["livenessProbe"]
    assert c["startupProbe"]["httpGet"] == {"path": "/", "port": "http"}
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


# --- pass-through pod settings --------------------------------------------------------------------------------


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
            {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"}
        ],
        "priorityClassName": "web",
    }
    kinds = render_kinds(patch)
    pod, c = pod_spec(kinds), container(kinds)
    assert c["image"] == invalid_specs.IMAGE
    assert c["imagePullPolicy"] == "Always"
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert c["env"] == patch["env"]
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
        "affinity",
        "topologySpreadConstraints",
        "priorityClassName",
    ):
        assert key not in pod, key
    assert "env" not in c and "envFrom" not in c
    assert c["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}


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
