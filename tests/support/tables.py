"""The benchmarks' tables: Markdown for docs/benchmarks.md, or aligned columns for a terminal."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(head: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> str:
    """``rows`` under ``head``, as a Markdown table or as left-aligned columns."""
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
        lines = ["  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)) for r in [head, *rows]]
    return "\n".join(lines)
