"""Operator settings, from command-line options with environment-variable defaults.

Every option has a ``WSGI_OPERATOR_*`` variable so the Helm chart can set it
through the Deployment's env without rewriting the container args. This module
imports neither kopf nor the kubernetes client: the CLI builds its ``run``
parser from it without loading either.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ..render import RenderSettings

LogFormat = Literal["plain", "json"]


def parse_labels(text: str) -> dict[str, str]:
    """``"k=v,k2=v2"`` -> ``{"k": "v", "k2": "v2"}``; an empty string is an empty map."""
    labels: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"label {item!r} is not of the form key=value")
        labels[key.strip()] = value.strip()
    return labels


def _format_labels(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


def _parse_namespaces(values: list[str]) -> tuple[str, ...]:
    # Accept both `--namespace a --namespace b` and `--namespace a,b` (the env form).
    names = [n.strip() for v in values for n in v.split(",")]
    return tuple(sorted({n for n in names if n}))


@dataclass(frozen=True)
class OperatorSettings:
    """Everything one operator process is configured with."""

    #: Namespaces to watch; empty means every namespace (cluster-wide mode).
    namespaces: tuple[str, ...] = ()
    #: Kubeconfig file; None means in-cluster credentials, else $KUBECONFIG or ~/.kube/config.
    kubeconfig: str | None = None
    #: What the NetworkPolicies and Deployments need to know about the cluster.
    render: RenderSettings = field(default_factory=RenderSettings)
    log_format: LogFormat = "plain"
    verbose: bool = False
    #: Address the liveness and metrics endpoints listen on.
    bind_address: str = "0.0.0.0"
    #: Liveness endpoint port (GET /healthz); 0 disables it.
    health_port: int = 8080
    #: Prometheus metrics port (GET /metrics); 0 disables it.
    metrics_port: int = 9090
    #: Seconds between two resyncs of every WsgiApp (drift missed by the watches).
    resync_interval: float = 300.0
    #: Every how many resyncs of an app its children are applied and its references
    #: read even when the watches show nothing changed (1: every resync; reconcile.FULL_RESYNC_EVERY).
    full_resync_every: int = 12
    #: Threads running reconciles (the kubernetes client is synchronous).
    workers: int = 16

    @property
    def clusterwide(self) -> bool:
        """True when no namespace list was given: watch the whole cluster."""
        return not self.namespaces

    @property
    def liveness_endpoint(self) -> str | None:
        """kopf's ``--liveness`` URL, or None when the endpoint is disabled."""
        if not self.health_port:
            return None
        return f"http://{self.bind_address}:{self.health_port}/healthz"


def add_arguments(parser: argparse.ArgumentParser, env: Mapping[str, str] | None = None) -> None:
    """Add the operator's options to ``parser``; defaults come from WSGI_OPERATOR_* in ``env``."""
    env = os.environ if env is None else env
    d = OperatorSettings()

    def default(name: str, fallback: object) -> str:
        return env.get(f"WSGI_OPERATOR_{name}", str(fallback))

    def number(name: str, fallback: float, kind: type[int] | type[float] = int) -> float:
        value = default(name, fallback)
        try:
            return kind(value)
        except ValueError:
            # Kubernetes' Service links are the usual source: a Service named
            # wsgi-operator-metrics gives WSGI_OPERATOR_METRICS_PORT=tcp://...
            parser.error(
                f"WSGI_OPERATOR_{name}={value!r} is not a number; if a Service link variable put it there, "
                "set enableServiceLinks: false on the pod (the chart does)"
            )

    parser.add_argument(
        "--namespace",
        "-n",
        action="append",
        default=[default("NAMESPACES", "")],
        metavar="NS[,NS...]",
        help="watch only these namespaces (repeatable; needs only namespaced Roles). "
        "Default: every namespace ($WSGI_OPERATOR_NAMESPACES)",
    )
    parser.add_argument(
        "--kubeconfig",
        default=env.get("WSGI_OPERATOR_KUBECONFIG") or None,
        help="kubeconfig file (default: in-cluster credentials, else $KUBECONFIG or ~/.kube/config)",
    )
    parser.add_argument(
        "--ingress-namespace-labels",
        default=default("INGRESS_NAMESPACE_LABELS", _format_labels(d.render.ingress_namespace_labels)),
        metavar="K=V[,K=V]",
        help="labels of the ingress controller's namespace, admitted by every NetworkPolicy",
    )
    parser.add_argument(
        "--ingress-pod-labels",
        default=default("INGRESS_POD_LABELS", _format_labels(d.render.ingress_pod_labels)),
        metavar="K=V[,K=V]",
        help="labels of the ingress controller's pods (empty: every pod of that namespace)",
    )
    parser.add_argument(
        "--dns-namespace-labels",
        default=default("DNS_NAMESPACE_LABELS", _format_labels(d.render.dns_namespace_labels)),
        metavar="K=V[,K=V]",
        help="labels of the cluster DNS namespace, for the DNS egress allowance",
    )
    parser.add_argument(
        "--dns-pod-labels",
        default=default("DNS_POD_LABELS", _format_labels(d.render.dns_pod_labels)),
        metavar="K=V[,K=V]",
        help="labels of the cluster DNS pods",
    )
    parser.add_argument(
        "--log-format",
        choices=("plain", "json"),
        default=default("LOG_FORMAT", d.log_format),
        help="log lines as text or as one JSON object each",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=default("VERBOSE", "") not in ("", "0", "false"),
        help="debug logging",
    )
    parser.add_argument(
        "--bind-address",
        default=default("BIND_ADDRESS", d.bind_address),
        help="address of the liveness and metrics endpoints",
    )
    parser.add_argument(
        "--health-port",
        type=int,
        default=number("HEALTH_PORT", d.health_port),
        help="liveness endpoint port, GET /healthz (0: off)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=number("METRICS_PORT", d.metrics_port),
        help="Prometheus metrics port, GET /metrics (0: off)",
    )
    parser.add_argument(
        "--resync-interval",
        type=float,
        default=number("RESYNC_INTERVAL", d.resync_interval, float),
        metavar="SECONDS",
        help="seconds between resyncs of every WsgiApp",
    )
    parser.add_argument(
        "--full-resync-every",
        type=int,
        default=number("FULL_RESYNC_EVERY", d.full_resync_every),
        metavar="N",
        help="every Nth resync of an app applies its children and reads its references even when "
        "the watches show nothing changed (1: every resync)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=number("WORKERS", d.workers),
        help="threads running reconciles",
    )


def from_args(args: argparse.Namespace) -> OperatorSettings:
    """Settings from options parsed by a parser set up with ``add_arguments``."""
    if args.workers < 1:
        raise ValueError("--workers must be at least 1")
    if args.resync_interval <= 0:
        raise ValueError("--resync-interval must be positive")
    if args.full_resync_every < 1:
        raise ValueError("--full-resync-every must be at least 1")
    return OperatorSettings(
        namespaces=_parse_namespaces(args.namespace),
        kubeconfig=args.kubeconfig,
        render=RenderSettings(
            ingress_namespace_labels=parse_labels(args.ingress_namespace_labels),
            ingress_pod_labels=parse_labels(args.ingress_pod_labels),
            dns_namespace_labels=parse_labels(args.dns_namespace_labels),
            dns_pod_labels=parse_labels(args.dns_pod_labels),
        ),
        log_format=args.log_format,
        verbose=args.verbose,
        bind_address=args.bind_address,
        health_port=args.health_port,
        metrics_port=args.metrics_port,
        resync_interval=args.resync_interval,
        full_resync_every=args.full_resync_every,
        workers=args.workers,
    )
