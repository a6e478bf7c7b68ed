"""The mod_wsgi-express command line. It is built here and nowhere else."""

from __future__ import annotations

import math

from ..api import WsgiApp
from ..api.server import Timeouts
from . import layout

#: (spec.timeouts attribute, express flag) for every timeout the API exposes.
_TIMEOUT_FLAGS = (
    ("request", "--request-timeout"),
    ("interrupt", "--interrupt-timeout"),
    ("header", "--header-timeout"),
    ("header_max", "--header-max-timeout"),
    ("header_min_rate", "--header-min-rate"),
    ("body", "--body-timeout"),
    ("body_max", "--body-max-timeout"),
    ("body_min_rate", "--body-min-rate"),
    ("socket", "--socket-timeout"),
    # 0 by default (off): a queue timeout makes mod_wsgi hold the request body back
    # until the daemon answers "200 Continue", a round trip per request.
    ("queue", "--queue-timeout"),
    ("connect", "--connect-timeout"),
    ("graceful", "--graceful-timeout"),
    ("eviction", "--eviction-timeout"),
    ("shutdown", "--shutdown-timeout"),
    ("inactivity", "--inactivity-timeout"),
    ("startup", "--startup-timeout"),
    ("deadlock", "--deadlock-timeout"),
    ("keep_alive", "--keep-alive-timeout"),
)

_LIMIT_FLAGS = (
    ("maximum_requests", "--maximum-requests"),
    ("restart_interval", "--restart-interval"),
    ("cpu_time_limit", "--cpu-time-limit"),
    ("request_body", "--limit-request-body"),
)


def code_path(app: WsgiApp) -> str:
    return app.spec.code.path


def working_directory(app: WsgiApp) -> str:
    return app.spec.working_directory or app.spec.code.path


def express_command(app: WsgiApp) -> list[str]:
    """The container's command and arguments (command = ["mod_wsgi-express"])."""
    spec = app.spec
    args = [
        "mod_wsgi-express",
        "start-server",
        layout.ENTRY_SCRIPT,
        "--server-root",
        layout.SERVER_ROOT,
        # Daemon mode is express's default and WSGIRestrictEmbedded On comes
        # with it; --embedded-mode is never passed.
        "--process-group",
        app.metadata.name,
        "--working-directory",
        working_directory(app),
        "--python-path",
        code_path(app),
        "--port",
        str(spec.server.port),
        "--processes",
        str(spec.server.processes),
        "--threads",
        str(spec.server.threads),
        # --log-directory would silently cancel --log-to-terminal: never pass it.
        "--log-to-terminal",
        "--log-level",
        spec.logging.level,
        "--locale",
        "C.UTF-8",
        "--include-file",
        f"{layout.CONF_DIR}/{layout.INCLUDE_FILE}",
        "--envvars-script",
        f"{layout.CONF_DIR}/{layout.ENVVARS_FILE}",
        # Pods roll on any change; a reload triggered by a ConfigMap's symlink
        # swap would only recycle daemons behind the operator's back.
        "--disable-reloading",
    ]
    for attr, flag in _TIMEOUT_FLAGS:
        args += [flag, str(getattr(spec.timeouts, attr))]
    for attr, flag in _LIMIT_FLAGS:
        args += [flag, str(getattr(spec.limits, attr))]
    for cidr in spec.security.trusted_proxies:
        args += ["--trust-proxy", cidr]
    for header in spec.security.trusted_proxy_headers:
        args += ["--trust-proxy-header", header]
    if spec.logging.access_log:
        args.append("--access-log")
    if spec.error_pages.enabled and spec.error_pages.override_application:
        args.append("--error-override")
    for path, directory in alias_directories(app):
        args += ["--url-alias", path, directory]
    return args


def alias_directories(app: WsgiApp) -> list[tuple[str, str]]:
    """(URL path, directory) of every spec.urlAliases entry: the directory, or the writable dir's mount."""
    mounts = {d.name: d.mount_path for d in app.spec.writable_dirs}
    return [(a.path, a.directory or mounts[a.writable_dir or ""]) for a in app.spec.url_aliases]


def request_bound_seconds(timeouts: Timeouts, threads: int) -> int:
    """Longest a request can run: express's request-timeout fires at
    timeout x (1 + ln threads), then interrupt-timeout adds its grace."""
    return math.ceil(timeouts.request * (1 + math.log(threads))) + timeouts.interrupt


def graceful_stop_seconds(app: WsgiApp) -> int:
    """How long Apache may take to finish in-flight requests on graceful-stop."""
    t = app.spec.timeouts
    return request_bound_seconds(t, app.spec.server.threads) + t.shutdown


def termination_grace_seconds(app: WsgiApp, drain_seconds: int) -> int:
    """terminationGracePeriodSeconds: drain, then graceful stop, plus a margin for exit."""
    return drain_seconds + graceful_stop_seconds(app) + 5
