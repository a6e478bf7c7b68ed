"""Unit tests of render/pdb.py: the PodDisruptionBudget."""

from __future__ import annotations

from typing import Any

import pytest

from invalid_specs import APP
from support.rendered import RenderKinds


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        ({}, {"maxUnavailable": 1}),
        ({"maxUnavailable": 0}, {"maxUnavailable": 0}),
        ({"maxUnavailable": 2}, {"maxUnavailable": 2}),
        ({"minAvailable": 2}, {"minAvailable": 2}),
    ],
    ids=["default", "max-0", "max-2", "min-2"],
)
def test_disruption_budget(render_kinds: RenderKinds, budget: dict[str, Any], expected: dict[str, Any]) -> None:
    pdb = render_kinds({"disruptionBudget": budget})["PodDisruptionBudget"]
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"] == {"selector": {"matchLabels": {"wsgi-operator.io/app": APP}}, **expected}


def test_disruption_budget_disabled(render_kinds: RenderKinds) -> None:
    assert "PodDisruptionBudget" not in render_kinds({"disruptionBudget": {"enabled": False}})
