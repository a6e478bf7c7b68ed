"""argocd/argocd-cm.yaml is generated from argocd/resource_customizations/ (hack/argocd/argocd_cm.py).

The cluster suite (tests/cluster/test_argocd.py) runs every case through the
real Argo CD; this only keeps the shipped snippet in step with the scripts.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import yaml

REPO = Path(__file__).parents[2]
GENERATOR = REPO / "hack" / "argocd" / "argocd_cm.py"
WSGIAPP = REPO / "argocd" / "resource_customizations" / "wsgi-operator.io" / "WsgiApp"


def _generator():
    spec = importlib.util.spec_from_file_location("argocd_cm", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_argocd_cm_snippet_is_generated_from_the_scripts() -> None:
    committed = (REPO / "argocd" / "argocd-cm.yaml").read_text()
    assert committed == _generator().render(), "argocd/argocd-cm.yaml is stale: run python3 hack/argocd/argocd_cm.py"
    data = yaml.safe_load(committed)["data"]
    assert data["resource.customizations.health.wsgi-operator.io_WsgiApp"] == (WSGIAPP / "health.lua").read_text()
    actions = yaml.safe_load(data["resource.customizations.actions.wsgi-operator.io_WsgiApp"])
    assert actions["discovery.lua"] == (WSGIAPP / "actions" / "discovery.lua").read_text()
    assert actions["definitions"] == [
        {"name": "restart", "action.lua": (WSGIAPP / "actions" / "restart" / "action.lua").read_text()}
    ]


def test_every_testdata_file_is_a_case() -> None:
    health = {t["inputPath"] for t in yaml.safe_load((WSGIAPP / "health_test.yaml").read_text())["tests"]}
    assert health == {f"testdata/{p.name}" for p in (WSGIAPP / "testdata").glob("*.yaml")}
    tests = yaml.safe_load((WSGIAPP / "actions" / "action_test.yaml").read_text())
    used = {t["inputPath"] for t in tests["discoveryTests"] + tests["actionTests"]}
    used |= {t["expectedOutputPath"] for t in tests["actionTests"]}
    assert used == {f"testdata/{p.name}" for p in (WSGIAPP / "actions" / "testdata").glob("*.yaml")}


def test_health_check_degrades_on_every_refusal_of_the_status_contract() -> None:
    """Every Ready=False outcome that waits for a change is Degraded in health.lua, and nothing else is.

    Pods that do not start (StartupFailed) are Degraded too, as Argo CD's own Pod health has it.
    """
    from wsgi_operator.api.conditions import AvailabilityReason, Outcome

    lua = (WSGIAPP / "health.lua").read_text()
    table = lua[lua.index("local failedReasons = {") : lua.index("}", lua.index("local failedReasons = {"))]
    degraded = set(re.findall(r"^\s+(\w+) = true,$", table, re.MULTILINE))
    assert degraded == {o.value for o in Outcome} - {"Applied", "ReleasePending"} | {AvailabilityReason.STARTUP_FAILED}
