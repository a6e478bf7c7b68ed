"""Rendering is deterministic: same input, byte-identical YAML, in this process
and in a fresh interpreter (different hash seed, different time)."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import invalid_specs
from wsgi_operator.api.validation import validate
from wsgi_operator.cli import dump_all
from wsgi_operator.render import render

EXAMPLE_FILES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def _render_files(paths: list[Path]) -> str:
    """What `wsgi-operator render PATHS` prints, computed in this process."""
    docs = [d for p in paths for d in yaml.safe_load_all(p.read_text()) if d is not None]
    return dump_all([o for d in docs for o in render(validate(d))])


def test_same_input_same_bytes(example: dict[str, Any]) -> None:
    first = dump_all(render(validate(example)))
    second = dump_all(render(validate(copy.deepcopy(example))))
    assert first == second
    assert first.startswith("---\n")
    assert "&id" not in first and "*id" not in first, "YAML anchors/aliases in the output"


def test_rendering_has_no_hidden_state() -> None:
    """Rendering another app in between (or the same app object twice) changes nothing."""
    a = validate(invalid_specs.base_manifest())
    other = invalid_specs.base_manifest()
    other["metadata"]["name"] = "other"
    other["spec"]["writableDirs"] = [{"name": "media", "mountPath": "/var/lib/other"}]
    b = validate(other)
    first = dump_all(render(a))
    dump_all(render(b))
    assert dump_all(render(a)) == first
    assert validate(invalid_specs.base_manifest()) == a, "render mutated the app"


def test_output_round_trips_through_yaml(example: dict[str, Any]) -> None:
    objects = render(validate(example))
    assert list(yaml.safe_load_all(dump_all(objects))) == objects


@pytest.mark.parametrize("seed", ["0", "12345"])
def test_fresh_interpreter_renders_the_same_bytes(seed: str) -> None:
    expected = _render_files(EXAMPLE_FILES)
    env = {**os.environ, "PYTHONHASHSEED": seed}
    proc = subprocess.run(
        [sys.executable, "-m", "wsgi_operator.cli", "render", *map(str, EXAMPLE_FILES)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected
