"""Unit tests of render/command.py: the mod_wsgi-express command line, the
termination grace period and the preStop hook.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

import invalid_specs
from invalid_specs import APP
from support.rendered import (
    ENTRY_DIR,
    RenderKinds,
    command,
    container,
    flag_values,
    include_conf,
    pod_spec,
)
from wsgi_operator.api.server import Timeouts
from wsgi_operator.api.validation import validate
from wsgi_operator.render import RenderSettings, render

# --- the express command --------------------------------------------------------------------------


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


def test_command_basics(render_kinds: RenderKinds) -> None:
    argv = command(render_kinds())
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
    argv = command(
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


def test_every_timeout_field_has_a_flag_in_this_table() -> None:
    aliases = {f.alias for f in Timeouts.model_fields.values()}
    assert aliases == set(TIMEOUT_FLAGS), "a timeout was added or removed: update TIMEOUT_FLAGS"


def test_every_timeout_flag_carries_its_value(render_kinds: RenderKinds) -> None:
    argv = command(render_kinds({"timeouts": TIMEOUT_VALUES}))
    for field, flag in TIMEOUT_FLAGS.items():
        assert flag_values(argv, flag) == [str(TIMEOUT_VALUES[field])], flag


def test_default_timeouts_are_passed_too(render_kinds: RenderKinds) -> None:
    argv = command(render_kinds())
    defaults = Timeouts()
    for field in Timeouts.model_fields:
        flag = TIMEOUT_FLAGS[Timeouts.model_fields[field].alias]  # type: ignore[index]
        assert flag_values(argv, flag) == [str(getattr(defaults, field))], flag


def test_queue_timeout_is_off_by_default(render_kinds: RenderKinds) -> None:
    """--queue-timeout 0: with a queue timeout every request costs one more Apache <->
    daemon round trip (the "200 Continue" mod_wsgi sends before the body flows), which
    docs/benchmarks.md measured at 15-30% of a small request's CPU. A spec still sets one."""
    assert flag_values(command(render_kinds()), "--queue-timeout") == ["0"]
    assert flag_values(command(render_kinds({"timeouts": {"queue": 45}})), "--queue-timeout") == ["45"]


def test_every_limit_flag_carries_its_value(render_kinds: RenderKinds) -> None:
    argv = command(render_kinds({"limits": {k: v for k, (_, v) in LIMIT_FLAGS.items()}}))
    for flag, value in LIMIT_FLAGS.values():
        assert flag_values(argv, flag) == [str(value)], flag


def test_trusted_proxies_and_headers_are_repeated_flags(render_kinds: RenderKinds) -> None:
    argv = command(
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
    argv = command(render_kinds())
    assert "--trust-proxy" not in argv and "--trust-proxy-header" not in argv


@pytest.mark.parametrize(
    ("error_pages", "expected"),
    [({}, False), ({"overrideApplication": True}, True), ({"enabled": False, "overrideApplication": True}, False)],
    ids=["default", "override", "disabled"],
)
def test_error_override_flag(render_kinds: RenderKinds, error_pages: dict[str, Any], expected: bool) -> None:
    assert ("--error-override" in command(render_kinds({"errorPages": error_pages}))) is expected


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
    return command(render(validate(manifest)))


def test_no_dollar_anywhere_in_the_command(example: dict[str, Any]) -> None:
    """express expands `$VAR` in every argument: none may contain a `$` (nor whitespace)."""
    kitchen_sink = invalid_specs.deep_merge(invalid_specs.base_manifest(), {"spec": KITCHEN_SINK})
    for cmd in (_command_of(example), _command_of(kitchen_sink)):
        assert not [a for a in cmd if "$" in a], cmd
        assert not [a for a in cmd if any(ch.isspace() for ch in a)], cmd


def test_kitchen_sink_command(render_kinds: RenderKinds) -> None:
    argv = command(render_kinds(KITCHEN_SINK))
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


# --- shutdown -------------------------------------------------------------------------------------


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


def test_pre_stop_only_drains_and_the_stop_signal_stops_apache_once(render_kinds: RenderKinds) -> None:
    kinds = render_kinds(settings=RenderSettings(drain_seconds=7))
    # The kubelet's sleep action: no shell, and no second graceful-stop (the
    # image's STOPSIGNAL SIGWINCH is the one), which made Apache escalate to
    # SIGTERM and SIGKILL and kill requests still running.
    assert container(kinds)["lifecycle"] == {"preStop": {"sleep": {"seconds": 7}}}
