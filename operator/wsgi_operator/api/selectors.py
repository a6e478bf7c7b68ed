"""Label selectors and label keys, as Kubernetes validates them (meta/v1 LabelSelector).

A selector used to be a free-form object the CRD kept as is: ``{a: b}`` was
stored and only refused when the NetworkPolicy or the Deployment was applied.
``LabelSelector`` mirrors meta/v1 LabelSelector field for field, with the rules
of ``ValidateLabelSelector`` (k8s.io/apimachinery pkg/apis/meta/v1/validation,
1.35) as CEL rules, so the API server refuses a bad selector when it admits the
WsgiApp and ``wsgi-operator validate`` refuses the same offline:

- ``matchLabels`` keys are qualified names, values label values;
- ``matchExpressions[].key`` is a qualified name; ``operator`` is In, NotIn,
  Exists or DoesNotExist; In and NotIn need values, Exists and DoesNotExist
  take none; every value is a label value.

The selectors are used by NetworkPolicy peers, pod (anti-)affinity terms and
topology spread constraints. A CRD cannot constrain the keys of a map, nor
count the prefix of a qualified name in a pattern: both are CEL rules here
(``qualified_name``, ``label_map_rules``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import QUALIFIED_NAME, ApiModel, LabelMap, LabelValue, QualifiedName, Rule

#: The most labels and expressions a selector of the spec may hold (bounds the CRD's CEL cost).
MAX_MATCH_LABELS = 32
MAX_EXPRESSIONS = 16
MAX_VALUES = 64


def prefix_fits(expr: str) -> str:
    """CEL: the qualified name ``expr`` has a prefix (before '/') of at most 253 characters,
    a DNS subdomain's limit, which the pattern cannot count."""
    return f"{expr}.matches('^([^/]{{1,253}}/)?[^/]*$')"


def qualified_name(expr: str) -> str:
    """CEL: ``expr`` is a qualified name ([prefix/]name), as IsQualifiedName checks it."""
    return f"({expr}.matches('{QUALIFIED_NAME}') && {prefix_fits(expr)})"


QUALIFIED_NAME_TEXT = (
    "a qualified name: an optional DNS subdomain prefix of at most 253 characters and '/', then at most 63 "
    "letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
)


def label_map_rules(field: str) -> tuple[Rule, ...]:
    """CEL rules for the label map ``self.<field>``: its keys are qualified names. The values
    are checked by the map's schema (a pattern and a length)."""
    return (
        Rule(
            f"!has(self.{field}) || self.{field}.all(k, {qualified_name('k')})",
            f"keys must be {QUALIFIED_NAME_TEXT}",
            f".{field}",
        ),
    )


def key_rule(field: str, optional: bool = False) -> Rule:
    """CEL rule for the qualified-name field ``self.<field>``: the prefix the pattern cannot count."""
    check = prefix_fits(f"self.{field}")
    return Rule(
        f"!has(self.{field}) || {check}" if optional else check,
        f"must be {QUALIFIED_NAME_TEXT}",
        f".{field}",
    )


class LabelSelectorRequirement(ApiModel):
    """One expression of a label selector: key, operator and values."""

    key: QualifiedName = Field(description="The label key the expression applies to (a qualified name).")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = Field(description="In, NotIn, Exists or DoesNotExist.")
    values: list[LabelValue] | None = Field(
        None,
        max_length=MAX_VALUES,
        description="Label values: at least one for In and NotIn, none for Exists and DoesNotExist.",
    )

    cel_rules = (
        Rule(
            "(self.operator == 'In' || self.operator == 'NotIn') == (has(self.values) && size(self.values) > 0)",
            "must be set for operator In and NotIn, and must be empty for Exists and DoesNotExist",
            ".values",
        ),
        key_rule("key"),
    )


class LabelSelector(ApiModel):
    """A Kubernetes label selector (meta/v1): every matchLabels entry and every expression must
    hold. Empty selects everything."""

    match_labels: LabelMap | None = Field(
        None, max_length=MAX_MATCH_LABELS, description="Labels that must be set to these values."
    )
    match_expressions: list[LabelSelectorRequirement] | None = Field(
        None, max_length=MAX_EXPRESSIONS, description="Expressions that must all hold."
    )

    cel_rules = label_map_rules("matchLabels")
