"""mod_wsgi-express's own knobs: processes, timeouts, limits and logging.

Defaults are mod_wsgi-express's defaults except where the hardening guide asks
for something stricter; each description names the express flag it becomes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import ApiModel, Rule, Seconds


class ServerSpec(ApiModel):
    """Process model of the daemon pool."""

    processes: int = Field(2, ge=1, le=64, description="Daemon processes per pod (--processes).")
    threads: int = Field(8, ge=1, le=256, description="Threads per daemon process (--threads).")
    port: int = Field(8000, ge=1024, le=65535, description="Unprivileged container port Apache listens on (--port).")


class Timeouts(ApiModel):
    """Every timeout mod_wsgi-express exposes, in seconds (rates in bytes/second)."""

    request: int = Field(
        60,
        ge=0,
        # An hour: the pod's terminationGracePeriodSeconds is derived from it
        # (x (1 + ln threads)), and a stop must not take days.
        le=3600,
        description="--request-timeout (at most 3600): a request running longer is interrupted and its daemon "
        "process recycled. With several threads it fires at request x (1 + ln threads).",
    )
    interrupt: int = Field(0, ge=0, le=600, description="--interrupt-timeout: grace after request-timeout.")
    header: Seconds = Field(
        15, description="--header-timeout: base time to receive request headers (slowloris defence)."
    )
    header_max: Seconds = Field(30, description="--header-max-timeout: ceiling of the header timeout.")
    header_min_rate: int = Field(
        500, ge=0, le=10_000_000, description="--header-min-rate: bytes that extend the header timeout by 1 s."
    )
    body: Seconds = Field(15, description="--body-timeout: base time to receive the request body.")
    body_max: Seconds = Field(0, description="--body-max-timeout: ceiling of the body timeout (0: none).")
    body_min_rate: int = Field(
        500, ge=0, le=10_000_000, description="--body-min-rate: bytes that extend the body timeout by 1 s."
    )
    socket: Seconds = Field(60, description="--socket-timeout: idle I/O on the daemon socket.")
    # Off by default: with a queue timeout, mod_wsgi holds back the request body until
    # the daemon has checked the request's wait, one more Apache <-> daemon round trip
    # per request (docs/benchmarks.md: 15-30% CPU per request on a small response).
    queue: Seconds = Field(
        0,
        description="--queue-timeout: a request that waited longer for a free daemon thread is answered "
        "504 instead of run (0: off, the default). Costs one more Apache-daemon round trip per request.",
    )
    connect: Seconds = Field(15, description="--connect-timeout: connecting to the daemon process.")
    graceful: Seconds = Field(15, description="--graceful-timeout: in-flight wait on a graceful restart.")
    eviction: Seconds = Field(0, description="--eviction-timeout: in-flight wait on an eviction restart.")
    shutdown: int = Field(5, ge=0, le=600, description="--shutdown-timeout: wait for a daemon process to exit.")
    inactivity: Seconds = Field(0, description="--inactivity-timeout: recycle an idle daemon (0: never).")
    startup: Seconds = Field(15, description="--startup-timeout: first load of the application.")
    deadlock: Seconds = Field(60, description="--deadlock-timeout: GIL deadlock detection.")
    keep_alive: Seconds = Field(2, description="--keep-alive-timeout: idle keep-alive connection.")

    cel_rules = (
        Rule(
            "self.headerMax == 0 || self.headerMax >= self.header",
            "spec.timeouts.headerMax must be 0 or at least spec.timeouts.header",
            ".headerMax",
        ),
        Rule(
            "self.bodyMax == 0 || self.bodyMax >= self.body",
            "spec.timeouts.bodyMax must be 0 or at least spec.timeouts.body",
            ".bodyMax",
        ),
        Rule(
            "self.request >= 1",
            "spec.timeouts.request must be at least 1 second: a request must be bounded",
            ".request",
        ),
    )


class Limits(ApiModel):
    """Recycling triggers and request size limits."""

    maximum_requests: int = Field(
        0, ge=0, le=100_000_000, description="--maximum-requests: recycle a daemon after N requests (0: never)."
    )
    restart_interval: Seconds = Field(0, description="--restart-interval: recycle daemons every N seconds (0: never).")
    cpu_time_limit: Seconds = Field(0, description="--cpu-time-limit: recycle a daemon after N CPU seconds (0: never).")
    request_body: int = Field(
        10_485_760,
        # 0 means unlimited to Apache: never allowed.
        ge=1,
        le=2_147_483_647,
        description="--limit-request-body: largest body in bytes (413 above); at least 1: Apache reads 0 as unlimited.",
    )
    request_fields: int = Field(100, ge=1, le=32767, description="LimitRequestFields: most request headers.")
    request_field_size: int = Field(8190, ge=256, le=65536, description="LimitRequestFieldSize: longest header line.")
    request_line: int = Field(8190, ge=256, le=65536, description="LimitRequestLine: longest request line.")


class Logging(ApiModel):
    """Apache and mod_wsgi logging, always to the container's stdout/stderr."""

    level: Literal["emerg", "alert", "crit", "error", "warn", "notice", "info"] = Field(
        "warn", description="--log-level. The guide's baseline is warn; debug levels leak request data."
    )
    access_log: bool = Field(False, description="--access-log: log every request.")


#: Apache's own error pages echo the request; these replace them (ErrorDocument).
ERROR_STATUSES = (400, 401, 403, 404, 405, 408, 411, 413, 414, 417, 431, 500, 501, 502, 503, 504)


class ErrorPages(ApiModel):
    """Fixed ErrorDocument pages for the errors Apache itself generates."""

    enabled: bool = Field(True, description="Replace Apache's error pages with fixed texts.")
    override_application: bool = Field(
        False, description="--error-override: also replace error responses of the application."
    )
