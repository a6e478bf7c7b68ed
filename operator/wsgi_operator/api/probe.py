"""Typed probe overrides: Kubernetes' core/v1 Probe, with the API server's value rules.

A probe override used to be a free-form object the CRD kept as is, so a typo
only surfaced when the Deployment was refused, and ``httpGet.host`` made the
kubelet connect to any address from the node. The models below mirror
core/v1 Probe field for field (so ``kubectl explain`` documents them and the API
server checks them when it admits the WsgiApp), with the rules of
``validateProbe`` in k8s.io/kubernetes pkg/apis/core/validation and a few
stricter ones, each saying why:

- ``host`` (httpGet and tcpSocket) is refused (but for "", which means the
  pod's IP): the kubelet would connect to that address from the node, outside
  the pod's network fence; Pod Security baseline forbids it since Kubernetes
  1.34. Probes go to the pod's own IP.
- a named port must be ``http``, the container's only named port (the API
  server accepts any IANA_SVC_NAME, and the probe then fails on every node).
- thresholds, periods and timeouts are at least 1 (the API server takes 0 as
  "use the default"; leave the field out for that).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from .base import ApiModel, Rule

#: The name of the container's only port (the server's). Probes may name it.
PORT_NAME = "http"
_INT32 = 2_147_483_647


def _int_or_string(value: Any) -> int | str:
    # x-kubernetes-int-or-string: a JSON integer or a JSON string, nothing else
    # (a bool is not an int here, nor is 80.0).
    # The error types are pydantic's own for a wrong type and a long string, which
    # validation.py (like the API server) treats as blocking the CEL rules.
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PydanticCustomError("int_or_string_type", "must be a port number (1-65535) or a port name")
    if isinstance(value, str) and len(value) > 15:
        raise PydanticCustomError("string_too_long", "a port name has at most 15 characters")
    return value


#: A port by number or name (IntOrString); the value rules are the CEL rule below.
ProbePort = Annotated[
    int | str,
    PlainValidator(_int_or_string),
    WithJsonSchema({"x-kubernetes-int-or-string": True, "maxLength": 15}),
]

_PORT_RULE = f"type(self.port) == int ? (self.port >= 1 && self.port <= 65535) : self.port == '{PORT_NAME}'"
_PORT_MESSAGE = (
    f"port must be a number from 1 to 65535 or `{PORT_NAME}`, the name of the container's only port "
    "(any other name makes the probe fail)"
)
_HOST_WHY = (
    "the kubelet would connect to that address from the node, outside the pod's network fence "
    "(Pod Security baseline forbids it since Kubernetes 1.34). A probe always goes to the pod's own IP"
)

#: Absolute path with an optional query: RFC 3986 path and query characters only.
_PROBE_PATH = r"^/[A-Za-z0-9._~/%!$&'()*+,;=:@?-]*$"
#: RFC 7230 token (what the API server's IsHTTPHeaderName accepts).
_HEADER_NAME = r"^[-A-Za-z0-9!#$%&'*+.^_`|~]+$"
#: No control characters but tab: the kubelet's HTTP client refuses them.
_HEADER_VALUE = r"^[^\x00-\x08\x0a-\x1f\x7f]*$"


class ExecAction(ApiModel):
    """Run a command in the container (as the app's user, with its securityContext)."""

    command: list[Annotated[str, StringConstraints(max_length=1024)]] = Field(
        min_length=1, max_length=64, description="Command and arguments; no shell unless you name one."
    )


class HttpHeader(ApiModel):
    """One header of an HTTP probe request."""

    name: Annotated[str, StringConstraints(pattern=_HEADER_NAME, max_length=256)] = Field(
        description="Header name (an HTTP token), e.g. Host."
    )
    value: Annotated[str, StringConstraints(pattern=_HEADER_VALUE, max_length=4096)] = Field(
        description="Header value (no control characters)."
    )


class HttpGetAction(ApiModel):
    """An HTTP GET to the pod's own IP."""

    path: Annotated[str, StringConstraints(pattern=_PROBE_PATH, max_length=1024)] = Field(
        "/", description="Path (and query) requested."
    )
    port: ProbePort = Field(description=f"Port number (1-65535) or `{PORT_NAME}` (the server's port).")
    host: Annotated[str, StringConstraints(max_length=253)] | None = Field(
        None,
        description="Refused: the kubelet would connect to this address from the node. To send a Host "
        "header use httpHeaders, or spec.probes.host for the default probes.",
    )
    scheme: Literal["HTTP", "HTTPS"] | None = Field(None, description="HTTP (default) or HTTPS.")
    http_headers: list[HttpHeader] | None = Field(None, max_length=16, description="Request headers, e.g. Host.")

    cel_rules = (
        Rule(
            "!has(self.host) || self.host == ''",
            f"must not be set: {_HOST_WHY}; to send a Host header set httpHeaders [{{name: Host, value: ...}}], "
            "or spec.probes.host for the default probes",
            ".host",
        ),
        Rule(_PORT_RULE, _PORT_MESSAGE, ".port"),
    )


class TcpSocketAction(ApiModel):
    """A TCP connect to the pod's own IP."""

    port: ProbePort = Field(description=f"Port number (1-65535) or `{PORT_NAME}` (the server's port).")
    host: Annotated[str, StringConstraints(max_length=253)] | None = Field(
        None, description="Refused: the kubelet would connect to this address from the node."
    )

    cel_rules = (
        Rule("!has(self.host) || self.host == ''", f"must not be set: {_HOST_WHY}", ".host"),
        Rule(_PORT_RULE, _PORT_MESSAGE, ".port"),
    )


class GrpcAction(ApiModel):
    """A gRPC health check (grpc.health.v1) on the pod's own IP."""

    port: int = Field(ge=1, le=65535, description="Port number of the gRPC service.")
    service: Annotated[str, StringConstraints(max_length=253)] | None = Field(
        None, description="Service name sent in the HealthCheckRequest."
    )


class Probe(ApiModel):
    """A Kubernetes Probe (core/v1): exactly one of exec, httpGet, tcpSocket or grpc, and its timing."""

    exec: ExecAction | None = Field(None, description="Run a command in the container.")
    http_get: HttpGetAction | None = Field(None, description="An HTTP GET to the pod's own IP.")
    tcp_socket: TcpSocketAction | None = Field(None, description="A TCP connect to the pod's own IP.")
    grpc: GrpcAction | None = Field(None, description="A gRPC health check on the pod's own IP.")
    initial_delay_seconds: int | None = Field(
        None, ge=0, le=_INT32, description="Seconds after the container started before the first probe."
    )
    timeout_seconds: int | None = Field(None, ge=1, le=_INT32, description="Seconds before a probe times out.")
    period_seconds: int | None = Field(None, ge=1, le=_INT32, description="Seconds between probes.")
    success_threshold: int | None = Field(
        None, ge=1, le=_INT32, description="Successes in a row that count as success (1 for liveness and startup)."
    )
    failure_threshold: int | None = Field(None, ge=1, le=_INT32, description="Failures in a row that count as failure.")
    termination_grace_period_seconds: int | None = Field(
        None,
        ge=1,
        le=86400,
        description="Grace period of a kill after this probe failed (liveness and startup only; 1 to 86400).",
    )

    cel_rules = (
        Rule(
            "(has(self.exec) ? 1 : 0) + (has(self.httpGet) ? 1 : 0) + (has(self.tcpSocket) ? 1 : 0)"
            " + (has(self.grpc) ? 1 : 0) == 1",
            "set exactly one handler: exec, httpGet, tcpSocket or grpc",
        ),
    )
