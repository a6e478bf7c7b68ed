"""Replica management: autoscaling and disruption budget."""

from __future__ import annotations

from pydantic import Field

from .base import ApiModel, Rule


class AutoscalingSpec(ApiModel):
    """A HorizontalPodAutoscaler (autoscaling/v2). When set, it owns the replica count."""

    min_replicas: int = Field(2, ge=1, le=1000, description="Lowest replica count.")
    max_replicas: int = Field(ge=1, le=1000, description="Highest replica count.")
    # nullable: the API server prunes the null of a non-nullable field and
    # defaults it again, so without it null could never turn the CPU target off.
    target_cpu_utilization: int | None = Field(
        80,
        ge=1,
        le=1000,
        description="Target average CPU utilization (% of requests); null for none (a memory target only).",
        json_schema_extra={"nullable": True},
    )
    target_memory_utilization: int | None = Field(
        None, ge=1, le=1000, description="Target average memory utilization (% of requests)."
    )

    cel_rules = (
        Rule(
            "self.minReplicas <= self.maxReplicas",
            "spec.autoscaling.minReplicas must be less than or equal to spec.autoscaling.maxReplicas",
            ".minReplicas",
        ),
    )


class DisruptionBudgetSpec(ApiModel):
    """A PodDisruptionBudget. Exactly one of maxUnavailable or minAvailable."""

    enabled: bool = Field(True, description="Render the PodDisruptionBudget.")
    max_unavailable: int | None = Field(None, ge=0, le=1000, description="Pods that may be down at once.")
    min_available: int | None = Field(None, ge=0, le=1000, description="Pods that must stay up.")

    cel_rules = (
        Rule(
            "!(has(self.maxUnavailable) && has(self.minAvailable))",
            "spec.disruptionBudget: set maxUnavailable or minAvailable, not both",
        ),
    )
