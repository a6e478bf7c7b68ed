"""Shared fixtures of the unit tests: pure, no cluster, no Docker, no network.

``tests/invalid_specs.py`` (the table of invalid specs shared with the cluster
tests) lives one level up; pytest's ``pythonpath`` setting (pyproject.toml)
makes it importable as ``invalid_specs``.

``render_kinds`` renders variants of ``invalid_specs.base_manifest()`` (app
``shop`` in namespace ``shop``, module entry point, UID/GID 20010), objects
keyed by kind; ``render/`` has one test file per module of
``wsgi_operator.render``, which look into the objects with ``support.rendered``.

Two parameters are generated for any test that asks for them:
``example`` (one per WsgiApp in examples/*.yaml, id ``file:name``) and
``case`` (one per row of ``invalid_specs.CASES``, id = the case id). Test
modules get helpers through fixtures or from ``tests/support`` (e.g.
``support.rendered``), never ``from conftest import``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import invalid_specs
from support.rendered import Kinds, RenderKinds, by_kind
from wsgi_operator.api.validation import validate
from wsgi_operator.render import RenderSettings, render

TESTS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS_DIR.parent
EXAMPLES_DIR = REPO_ROOT / "examples"
EXAMPLE_FILES = sorted(EXAMPLES_DIR.glob("*.yaml"))


def load_documents(path: Path) -> list[dict[str, Any]]:
    """Every non-empty YAML document of ``path``."""
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def _example_documents() -> list[tuple[str, dict[str, Any]]]:
    """(id, manifest) of every WsgiApp in examples/*.yaml; id is file stem + app name."""
    out = []
    for path in EXAMPLE_FILES:
        for doc in load_documents(path):
            out.append((f"{path.stem}:{doc['metadata']['name']}", doc))
    return out


@pytest.fixture
def render_kinds() -> RenderKinds:
    """Factory: validate + render a variant of ``invalid_specs.base_manifest()``
    (a spec patch, ``settings=``, metadata keywords), objects keyed by kind."""

    def rendered(
        spec_patch: dict[str, Any] | None = None, settings: RenderSettings | None = None, **metadata: Any
    ) -> Kinds:
        return by_kind(render(validate(invalid_specs.base_manifest(spec_patch, **metadata)), settings))

    return rendered


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "example" in metafunc.fixturenames:
        docs = _example_documents()
        metafunc.parametrize("example", [d for _, d in docs], ids=[i for i, _ in docs])
    if "case" in metafunc.fixturenames:
        cases = invalid_specs.CASES
        metafunc.parametrize("case", cases, ids=[c.id for c in cases])
