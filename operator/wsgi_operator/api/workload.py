"""Pod-level settings passed through to the Deployment."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from .base import ApiModel, Quantity, Rule
from .probe import Probe

#: A DNS name without a wildcard (a Host header the kubelet sends).
ProbeHost = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", max_length=253)
]
ResourceName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9.\-/]+$", max_length=63)]


class Resources(ApiModel):
    """Container requests and limits. Defaults keep a small app inside a LimitRange."""

    requests: dict[ResourceName, Quantity] = Field(
        default_factory=lambda: {"cpu": "100m", "memory": "128Mi"}, description="Resource requests."
    )
    limits: dict[ResourceName, Quantity] = Field(
        default_factory=lambda: {"cpu": "1", "memory": "512Mi"}, description="Resource limits."
    )

    cel_rules = (
        Rule(
            "['cpu', 'memory'].all(r, !(r in self.requests) || !(r in self.limits)"
            " || quantity(self.requests[r]).compareTo(quantity(self.limits[r])) <= 0)",
            "spec.resources.requests must not exceed spec.resources.limits (limits default to cpu 1, "
            "memory 512Mi): raise the limit together with the request",
            ".requests",
        ),
        Rule.warning(
            "'cpu' in self.limits",
            "no cpu limit: a busy or runaway app takes CPU from everything else on its node; keep one (the "
            "default is 1)",
            ".limits",
        ),
        Rule.warning(
            "'memory' in self.limits",
            "no memory limit: a leak grows until the node runs short and the kernel kills other pods' processes; "
            "keep one (the default is 512Mi)",
            ".limits",
        ),
    )


class Probes(ApiModel):
    """Health checks. Without overrides: readiness is an HTTP GET on `path`, liveness a TCP
    check of the listener (so a slow app is taken out of rotation, not restarted)."""

    path: Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9._~/%-]*$", max_length=200)] = Field(
        "/", description="Path of the default readiness and startup probes."
    )
    host: ProbeHost | None = Field(
        None,
        description="Host header of the default HTTP probes. Default: the first ingress or route host, else "
        "the Service's DNS name <name>.<namespace>.svc. Without one the kubelet sends the pod IP, which "
        "frameworks checking the host (Django's ALLOWED_HOSTS) refuse.",
    )
    liveness: Probe | None = Field(
        None, description="A Kubernetes Probe replacing the default liveness check (successThreshold 1)."
    )
    readiness: Probe | None = Field(
        None,
        description="A Kubernetes Probe replacing the default readiness check (no terminationGracePeriodSeconds).",
    )
    startup: Probe | None = Field(
        None, description="A Kubernetes Probe replacing the default startup check (successThreshold 1)."
    )

    cel_rules = (
        Rule(
            "!has(self.liveness) || !has(self.liveness.successThreshold) || self.liveness.successThreshold == 1",
            "spec.probes.liveness.successThreshold must be 1 (Kubernetes refuses anything else for liveness)",
            ".liveness.successThreshold",
        ),
        Rule(
            "!has(self.startup) || !has(self.startup.successThreshold) || self.startup.successThreshold == 1",
            "spec.probes.startup.successThreshold must be 1 (Kubernetes refuses anything else for startup)",
            ".startup.successThreshold",
        ),
        Rule(
            "!has(self.readiness) || !has(self.readiness.terminationGracePeriodSeconds)",
            "spec.probes.readiness.terminationGracePeriodSeconds must not be set: a failed readiness probe "
            "never kills the container (Kubernetes refuses it)",
            ".readiness.terminationGracePeriodSeconds",
        ),
    )
