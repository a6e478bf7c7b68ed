"""The test tree itself: what one `pytest tests` session (the README's `make test`) needs of it."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_test_module_names_are_unique_across_tiers() -> None:
    """The tiers have no __init__.py, so pytest imports each test file by its basename: two files of
    the same name in different tiers make the whole session fail to collect ("import file mismatch")."""
    where: dict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("test_*.py"):
        where[path.name].append(str(path.relative_to(TESTS)))
    assert not {name: paths for name, paths in where.items() if len(paths) > 1}
