"""Generated WsgiApp specs for the differential test: offline validation against the API server.

Each spec is a valid base manifest with one field set to a value chosen from
the field's own schema in the generated CRD: its boundaries and one past them,
its enum members and a near miss, its default, values of the wrong JSON type,
strings that break patterns (empty, too long, upper case, shell and YAML
metacharacters, a newline) and null. Fields the base does not have are
created (with an item 0 for lists), so optional sub-objects are reached too.
Generation is seeded: the same seed gives the same specs on every machine.
"""

from __future__ import annotations

import copy
import itertools
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

#: Strings that break patterns, lengths and formats in different ways.
STRINGS = (
    "",
    "x",
    "UPPER",
    "a-b",
    "a.b",
    "a_b",
    "-lead",
    "trail-",
    "a" * 64,
    "a" * 254,
    "with space",
    "new\nline",
    "$(id)",
    "${HOME}",
    "`id`",
    "semi;colon",
    'quo"te',
    "back\\slash",
    "/abs/path",
    "rel/path",
    "../up",
    "10.0.0.0/8",
    "0.0.0.0/0",
    "1.2.3.4",
    "::/0",
    "100m",
    "1Gi",
    "1.5",
    "-1",
    "yes",
    "true",
    "http",
    "TCP",
    "Always",
    "☃",
    "example.com",
    "a:b",
    "key=value",
)
#: Values of every JSON type, for a field of another type.
WRONG_TYPES = ("3", 3, 1.5, True, [], {}, None)


@dataclass(frozen=True)
class Mutation:
    """One field of a base spec set to one value."""

    base: str
    path: tuple[str | int, ...]
    value: Any

    def field(self) -> str:
        """The field's path as the API server writes it: ``spec.a.b[0].c``."""
        return "spec" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)

    def describe(self) -> str:
        """``base: spec.a.b[0].c = value``."""
        return f"{self.base}: {self.field()} = {self.value!r}"


def _type(schema: Mapping[str, Any]) -> str:
    if schema.get("x-kubernetes-int-or-string"):
        return "int-or-string"
    return str(schema.get("type", "object" if "properties" in schema else "any"))


def field_paths(schema: Mapping[str, Any], prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple, dict]]:
    """Every (path, schema) of the spec schema, lists entered at item 0."""
    for key, sub in (schema.get("properties") or {}).items():
        path = (*prefix, key)
        yield path, sub
        if _type(sub) == "array" and isinstance(sub.get("items"), dict):
            yield (*path, 0), sub["items"]
            yield from field_paths(sub["items"], (*path, 0))
        elif "properties" in sub:
            yield from field_paths(sub, path)


def candidate_values(schema: Mapping[str, Any]) -> list[Any]:
    """Values worth trying in a field with ``schema``: valid ones and near misses."""
    kind = _type(schema)
    values: list[Any] = list(WRONG_TYPES)
    if "default" in schema:
        values.append(copy.deepcopy(schema["default"]))
    for member in schema.get("enum") or ():
        values += [member, f"{member}x"]
    if kind in ("integer", "number", "int-or-string"):
        low, high = schema.get("minimum"), schema.get("maximum")
        for bound in (low, high):
            if bound is not None:
                values += [bound, bound - 1, bound + 1]
        values += [0, 1, -1, 80, 8080, 65535, 65536, 3600, 2**31, 2**63 - 1]
    if kind in ("string", "int-or-string"):
        values += list(STRINGS)
        length = schema.get("maxLength")
        if length:
            values += ["a" * length, "a" * (length + 1)]
    if kind == "array":
        values += [[], ["a"], [1], [{}]]
    if kind == "object":
        values += [{}, {"unknown": 1}, {"a": "b"}, {"a": 1}]
    return values


def set_path(spec: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    """Set ``spec[path] = value``, creating dicts and an item 0 on the way."""
    node: Any = spec
    for here, nxt in itertools.pairwise(path):
        empty: Any = [] if isinstance(nxt, int) else {}
        if isinstance(here, int):
            if not isinstance(node, list):
                return
            if not node:
                node.append(empty)
            node = node[0]
        else:
            if not isinstance(node, dict):
                return
            if not isinstance(node.get(here), list if isinstance(nxt, int) else dict):
                node[here] = empty
            node = node[here]
    last = path[-1]
    if isinstance(last, int):
        if isinstance(node, list):
            node[:] = [value]
    elif isinstance(node, dict):
        node[last] = value


def mutations(
    spec_schema: Mapping[str, Any], bases: Mapping[str, Mapping[str, Any]], count: int, seed: int
) -> list[tuple[Mutation, dict[str, Any]]]:
    """``count`` (mutation, manifest) pairs, drawn with ``seed`` over every field and base."""
    rng = random.Random(seed)
    fields = list(field_paths(spec_schema))
    out: list[tuple[Mutation, dict[str, Any]]] = []
    seen: set[str] = set()
    while len(out) < count:
        path, schema = rng.choice(fields)
        value = rng.choice(candidate_values(schema))
        base = rng.choice(sorted(bases))
        mutation = Mutation(base, path, value)
        key = repr((base, path, value))
        if key in seen:
            continue
        seen.add(key)
        manifest = copy.deepcopy(dict(bases[base]))
        set_path(manifest["spec"], path, copy.deepcopy(value))
        out.append((mutation, manifest))
    return out
