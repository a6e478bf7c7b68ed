"""Where the pods may run: Kubernetes' tolerations, affinity and topology spread, typed.

These used to be free-form objects the CRD kept as is, so a typo or a value the
API server refuses was stored and only surfaced when the Deployment (or the
release Job) was refused. The models below mirror core/v1 Toleration, Affinity
and TopologySpreadConstraint at Kubernetes 1.35 field for field (so ``kubectl
explain`` documents them and the API server checks them when it admits the
WsgiApp), with the rules of ``ValidateTolerations``, ``validateAffinity`` and
``validateTopologySpreadConstraints`` (k8s.io/kubernetes
pkg/apis/core/validation) as CEL rules, and a few stricter ones, each saying why:

- toleration operators Lt and Gt (alpha in 1.35, behind the
  TaintTolerationComparisonOperators feature gate, off by default) are refused,
  as the API server refuses them without the gate;
- ``topologyKey`` of a spread constraint must be a qualified name (the API
  server only requires it to be non-empty; a node label key is always a
  qualified name, so any other key never matches a node);
- ``matchLabelKeys`` must not name a key of the term's ``labelSelector``, nor
  one key twice (the API server admits a Deployment that does, and then
  refuses every pod the ReplicaSet creates: the key is merged into the
  selector a second time);
- node selector values are label values in preferred terms too (the API
  server checks them in required terms only; a node label value is always one);
- lists are bounded (the CRD's CEL cost budget): 16 node selector terms and
  expressions, 64 values, 16 pod affinity terms of each kind, 8 match label keys.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .base import INT32_MAX, QUALIFIED_NAME, ApiModel, DnsSubdomain, Int64, LabelValue, Name, QualifiedName, Rule
from .selectors import MAX_EXPRESSIONS, MAX_VALUES, QUALIFIED_NAME_TEXT, LabelSelector, key_rule, prefix_fits

MAX_TERMS = 16
MAX_LABEL_KEYS = 8
Weight = Annotated[int, Field(ge=1, le=100)]
#: A toleration's key: a qualified name, or empty (with operator Exists: every taint).
TolerationKey = Annotated[str, StringConstraints(pattern=f"^$|{QUALIFIED_NAME}", max_length=317)]


#: CEL over a term or constraint: matchLabelKeys names no key twice.
_MATCH_LABEL_KEYS_ONCE = Rule(
    "!has(self.matchLabelKeys) || self.matchLabelKeys.all(k, self.matchLabelKeys.exists_one(j, j == k))",
    "must not name a key twice: each is added to the selector for each new pod, and the API server refuses a "
    "pod whose selector names a key twice",
    ".matchLabelKeys",
)


def _label_keys_rule(field: str) -> Rule:
    """CEL: every entry of the list of label keys ``self.<field>`` is a qualified name (its prefix: the
    pattern checks the rest)."""
    return Rule(
        f"!has(self.{field}) || self.{field}.all(k, {prefix_fits('k')})",
        f"must be label keys, each {QUALIFIED_NAME_TEXT}",
        f".{field}",
    )


# --- tolerations -------------------------------------------------------------------------------------------------


class Toleration(ApiModel):
    """A Kubernetes Toleration (core/v1): the pods tolerate taints that match it."""

    key: TolerationKey | None = Field(
        None, description="Taint key (a qualified name); empty with operator Exists matches every taint."
    )
    operator: Literal["", "Equal", "Exists"] | None = Field(
        None,
        description="Equal (the default: key and value match) or Exists (any value). Lt and Gt (alpha in "
        "Kubernetes 1.35, off by default) are refused.",
    )
    value: LabelValue | None = Field(None, description="Taint value (a label value); empty for operator Exists.")
    effect: Literal["", "NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        None, description="Taint effect matched: NoSchedule, PreferNoSchedule or NoExecute; empty matches all."
    )
    toleration_seconds: Int64 | None = Field(
        None, description="How long a NoExecute taint is tolerated before eviction (effect NoExecute only)."
    )

    cel_rules = (
        Rule(
            "(has(self.key) && self.key != '') || (has(self.operator) && self.operator == 'Exists')",
            'must be Exists when key is empty, which means "match all values and all keys"',
            ".operator",
        ),
        Rule(
            "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
            "must be empty when operator is Exists",
            ".value",
        ),
        Rule(
            "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
            "must be NoExecute when tolerationSeconds is set",
            ".effect",
        ),
        key_rule("key", optional=True),
    )


# --- node affinity -----------------------------------------------------------------------------------------------


class NodeSelectorRequirement(ApiModel):
    """One expression over a node's labels."""

    key: QualifiedName = Field(description="Node label key (a qualified name).")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"] = Field(
        description="In, NotIn, Exists, DoesNotExist, Gt or Lt (Gt and Lt compare integers)."
    )
    values: list[LabelValue] | None = Field(
        None,
        max_length=MAX_VALUES,
        description="Label values: at least one for In and NotIn, none for Exists and DoesNotExist, exactly one "
        "(an integer) for Gt and Lt.",
    )

    cel_rules = (
        Rule(
            "(self.operator == 'In' || self.operator == 'NotIn') ? (has(self.values) && size(self.values) > 0)"
            " : (self.operator == 'Gt' || self.operator == 'Lt') ? (has(self.values) && size(self.values) == 1)"
            " : (!has(self.values) || size(self.values) == 0)",
            "must be set for operator In and NotIn, must be a single value for Gt and Lt, and must be empty for "
            "Exists and DoesNotExist",
            ".values",
        ),
        key_rule("key"),
    )


class NodeSelectorFieldRequirement(ApiModel):
    """One expression over a node's fields: only metadata.name, In or NotIn one node name."""

    key: Literal["metadata.name"] = Field(description="The node field: metadata.name is the only one.")
    operator: Literal["In", "NotIn"] = Field(description="In or NotIn.")
    values: list[DnsSubdomain] = Field(min_length=1, max_length=1, description="Exactly one node name.")


class NodeSelectorTerm(ApiModel):
    """Node selector requirements that must all hold (an empty term matches no node)."""

    match_expressions: list[NodeSelectorRequirement] | None = Field(
        None, max_length=MAX_EXPRESSIONS, description="Requirements over the node's labels."
    )
    match_fields: list[NodeSelectorFieldRequirement] | None = Field(
        None, max_length=4, description="Requirements over the node's fields (metadata.name)."
    )


class NodeSelector(ApiModel):
    """Node selector terms, any of which may match."""

    node_selector_terms: list[NodeSelectorTerm] = Field(
        min_length=1, max_length=MAX_TERMS, description="Terms ORed together; at least one."
    )


class PreferredSchedulingTerm(ApiModel):
    """A weighted node preference."""

    weight: Weight = Field(description="Weight (1-100) added to a node's score when the preference matches.")
    preference: NodeSelectorTerm = Field(description="The node selector term.")


class NodeAffinity(ApiModel):
    """Node affinity: which nodes the pods must or should run on."""

    required_during_scheduling_ignored_during_execution: NodeSelector | None = Field(
        None, description="Nodes the pods must run on."
    )
    preferred_during_scheduling_ignored_during_execution: list[PreferredSchedulingTerm] | None = Field(
        None, max_length=MAX_TERMS, description="Nodes the pods should run on, by weight."
    )


# --- pod (anti-)affinity -----------------------------------------------------------------------------------------


class PodAffinityTerm(ApiModel):
    """Pods (selected by labels, in some namespaces) the pods must or should share (or not share) a
    topology domain with."""

    label_selector: LabelSelector | None = Field(None, description="The pods this term is about.")
    namespaces: list[Name] | None = Field(
        None, max_length=32, description="Namespaces of those pods (default: the WsgiApp's)."
    )
    topology_key: QualifiedName = Field(
        description="Node label key whose value is the topology domain, e.g. kubernetes.io/hostname."
    )
    namespace_selector: LabelSelector | None = Field(None, description="Namespaces of those pods, by label.")
    match_label_keys: list[QualifiedName] | None = Field(
        None,
        max_length=MAX_LABEL_KEYS,
        description="Pod label keys whose values (the new pod's) are added to labelSelector with In, e.g. "
        "pod-template-hash. Needs labelSelector, and must not name one of its keys.",
    )
    mismatch_label_keys: list[QualifiedName] | None = Field(
        None,
        max_length=MAX_LABEL_KEYS,
        description="Pod label keys whose values (the new pod's) are added to labelSelector with NotIn. "
        "Needs labelSelector.",
    )

    cel_rules = (
        key_rule("topologyKey"),
        _label_keys_rule("matchLabelKeys"),
        _MATCH_LABEL_KEYS_ONCE,
        _label_keys_rule("mismatchLabelKeys"),
        *(
            Rule(
                f"!has(self.{keys}) || size(self.{keys}) == 0 || has(self.labelSelector)",
                "must not be set when labelSelector is not set",
                f".{keys}",
            )
            for keys in ("matchLabelKeys", "mismatchLabelKeys")
        ),
        Rule(
            "!has(self.matchLabelKeys) || !has(self.mismatchLabelKeys)"
            " || self.matchLabelKeys.all(k, !(k in self.mismatchLabelKeys))",
            "must not name a key that is in mismatchLabelKeys too",
            ".matchLabelKeys",
        ),
        Rule(
            "!has(self.matchLabelKeys) || !has(self.labelSelector) || self.matchLabelKeys.all(k,"
            " (!has(self.labelSelector.matchLabels) || !(k in self.labelSelector.matchLabels))"
            " && (!has(self.labelSelector.matchExpressions)"
            " || self.labelSelector.matchExpressions.all(e, e.key != k)))",
            "must not name a key of labelSelector: the key is added to the selector for each new pod, and the API "
            "server refuses a pod whose selector names a key twice",
            ".matchLabelKeys",
        ),
    )


class WeightedPodAffinityTerm(ApiModel):
    """A weighted pod (anti-)affinity preference."""

    weight: Weight = Field(description="Weight (1-100) added to a node's score when the term matches.")
    pod_affinity_term: PodAffinityTerm = Field(description="The pod affinity term.")


class PodAffinity(ApiModel):
    """Pods the app's pods must or should run near (in the same topology domain)."""

    required_during_scheduling_ignored_during_execution: list[PodAffinityTerm] | None = Field(
        None, max_length=MAX_TERMS, description="Terms that must all hold."
    )
    preferred_during_scheduling_ignored_during_execution: list[WeightedPodAffinityTerm] | None = Field(
        None, max_length=MAX_TERMS, description="Terms that should hold, by weight."
    )


class PodAntiAffinity(ApiModel):
    """Pods the app's pods must or should not run near (in the same topology domain)."""

    required_during_scheduling_ignored_during_execution: list[PodAffinityTerm] | None = Field(
        None, max_length=MAX_TERMS, description="Terms that must all hold."
    )
    preferred_during_scheduling_ignored_during_execution: list[WeightedPodAffinityTerm] | None = Field(
        None, max_length=MAX_TERMS, description="Terms that should hold, by weight."
    )


class Affinity(ApiModel):
    """A Kubernetes Affinity (core/v1): node affinity, pod affinity and pod anti-affinity."""

    node_affinity: NodeAffinity | None = Field(None, description="Which nodes the pods may run on.")
    pod_affinity: PodAffinity | None = Field(None, description="Which pods the pods run near.")
    pod_anti_affinity: PodAntiAffinity | None = Field(None, description="Which pods the pods keep away from.")


# --- topology spread ---------------------------------------------------------------------------------------------


class TopologySpreadConstraint(ApiModel):
    """A Kubernetes TopologySpreadConstraint (core/v1): how evenly the pods spread over topology domains."""

    max_skew: int = Field(
        ge=1, le=INT32_MAX, description="The most the pod counts of two domains may differ by (at least 1)."
    )
    topology_key: QualifiedName = Field(
        description="Node label key whose value is the domain, e.g. topology.kubernetes.io/zone."
    )
    when_unsatisfiable: Literal["DoNotSchedule", "ScheduleAnyway"] = Field(
        description="DoNotSchedule or ScheduleAnyway."
    )
    label_selector: LabelSelector | None = Field(None, description="The pods counted (usually the app's own).")
    min_domains: int | None = Field(
        None, ge=1, le=INT32_MAX, description="Minimum number of eligible domains (whenUnsatisfiable DoNotSchedule)."
    )
    node_affinity_policy: Literal["Honor", "Ignore"] | None = Field(
        None, description="Whether nodeAffinity and nodeSelector limit the domains: Honor (default) or Ignore."
    )
    node_taints_policy: Literal["Honor", "Ignore"] | None = Field(
        None, description="Whether node taints limit the domains: Honor or Ignore (default)."
    )
    match_label_keys: list[QualifiedName] | None = Field(
        None,
        max_length=MAX_LABEL_KEYS,
        description="Pod label keys whose values (the new pod's) are added to labelSelector, e.g. "
        "pod-template-hash. Needs labelSelector, and must not name one of its keys.",
    )

    cel_rules = (
        key_rule("topologyKey"),
        Rule(
            "!has(self.minDomains) || self.whenUnsatisfiable == 'DoNotSchedule'",
            "can only be used with whenUnsatisfiable DoNotSchedule",
            ".minDomains",
        ),
        _label_keys_rule("matchLabelKeys"),
        _MATCH_LABEL_KEYS_ONCE,
        Rule(
            "!has(self.matchLabelKeys) || size(self.matchLabelKeys) == 0 || has(self.labelSelector)",
            "must not be set when labelSelector is not set",
            ".matchLabelKeys",
        ),
        Rule(
            "!has(self.matchLabelKeys) || !has(self.labelSelector) || self.matchLabelKeys.all(k,"
            " (!has(self.labelSelector.matchLabels) || !(k in self.labelSelector.matchLabels))"
            " && (!has(self.labelSelector.matchExpressions)"
            " || self.labelSelector.matchExpressions.all(e, e.key != k)))",
            "must not name a key of labelSelector: the key is added to the selector for each new pod",
            ".matchLabelKeys",
        ),
    )


#: CEL over the spec: no two topology spread constraints with the same topologyKey and whenUnsatisfiable.
TOPOLOGY_SPREAD_UNIQUE = Rule(
    "self.topologySpreadConstraints.all(a, self.topologySpreadConstraints.exists_one(b,"
    " b.topologyKey == a.topologyKey && b.whenUnsatisfiable == a.whenUnsatisfiable))",
    "must not hold two constraints with the same topologyKey and whenUnsatisfiable",
    ".topologySpreadConstraints",
)
