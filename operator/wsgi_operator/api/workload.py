"""Pod-level settings passed through to the Deployment."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from .base import ApiModel, Quantity, Rule
from .probe import Probe
from .selectors import qualified_name

#: A DNS name without a wildcard (a Host header the kubelet sends).
ProbeHost = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", max_length=253)
]
#: The resources a container may request: cpu, memory, ephemeral-storage, or an extended resource
#: (a qualified name with a domain prefix, e.g. example.com/gpu). hugepages-* are not offered: the pods
#: mount no hugepages volume, so a request would reserve memory the app cannot use.
NATIVE_RESOURCES = ("cpu", "memory", "ephemeral-storage")
_DOMAIN = "[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
RESOURCE_NAME = f"^(cpu|memory|ephemeral-storage|{_DOMAIN}/[A-Za-z0-9]([-A-Za-z0-9_.]{{0,61}}[A-Za-z0-9])?)$"
ResourceName = Annotated[str, StringConstraints(pattern=RESOURCE_NAME, max_length=317)]
#: An extended resource is counted in whole units (Kubernetes refuses fractions): an integer with an
#: optional decimal or binary multiplier, no milli-units (stricter: 2000m is refused too).
_WHOLE = "^[0-9]+(k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$"
_NATIVE = "[" + ", ".join(f"'{r}'" for r in NATIVE_RESOURCES) + "]"


def _names_rule(field: str) -> Rule:
    return Rule(
        f"self.{field}.all(r, r in {_NATIVE} || ({qualified_name('r')} && r.contains('/')"
        " && r.matches('^[^/]{1,244}/') && !r.contains('kubernetes.io/') && !r.startsWith('requests.')))",
        "keys must be cpu, memory, ephemeral-storage or an extended resource: a domain prefix of at most 244 "
        "characters (not kubernetes.io, not starting with requests.) and '/', then a name (e.g. example.com/gpu)",
        f".{field}",
    )


class Resources(ApiModel):
    """Container requests and limits. Defaults keep a small app inside a LimitRange."""

    requests: dict[ResourceName, Quantity] = Field(
        default_factory=lambda: {"cpu": "100m", "memory": "128Mi"},
        max_length=16,
        description="Resource requests: cpu, memory, ephemeral-storage, extended resources (example.com/gpu).",
    )
    limits: dict[ResourceName, Quantity] = Field(
        default_factory=lambda: {"cpu": "1", "memory": "512Mi"},
        max_length=16,
        description="Resource limits: cpu, memory, ephemeral-storage, extended resources (example.com/gpu).",
    )

    cel_rules = (
        _names_rule("requests"),
        _names_rule("limits"),
        Rule(
            "self.requests.all(r, !(r in self.limits)"
            " || quantity(self.requests[r]).compareTo(quantity(self.limits[r])) <= 0)",
            "spec.resources.requests must not exceed spec.resources.limits (limits default to cpu 1, "
            "memory 512Mi): raise the limit together with the request",
            ".requests",
        ),
        Rule(
            f"self.requests.all(r, r in {_NATIVE} || (r in self.limits"
            " && quantity(self.requests[r]).compareTo(quantity(self.limits[r])) == 0))",
            "spec.resources.requests of an extended resource must equal its limit (Kubernetes cannot overcommit "
            "them): set both, to the same value",
            ".requests",
        ),
        Rule(
            f"self.requests.all(r, r in {_NATIVE} || self.requests[r].matches('{_WHOLE}'))"
            f" && self.limits.all(r, r in {_NATIVE} || self.limits[r].matches('{_WHOLE}'))",
            "extended resources are counted in whole units: an integer, optionally with k, M, G, T, P, E or Ki ... Ei",
            ".limits",
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
