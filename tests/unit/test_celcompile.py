"""CEL compiled to Python (``wsgi_operator.api.celcompile``) against CEL and against cel-python.

Offline validation evaluates the CRD's rules and the warnings policy with
compiled CEL. Three things must hold:

- every rule and warning expression compiles (a part of CEL the compiler does
  not handle is found here, not in a user's CI);
- the compiled code follows CEL's semantics (cel-go's, which the API server
  runs) where they are subtle: errors absorbed by ``||``, ``&&``, ``all`` and
  ``exists``, heterogeneous equality, bools that are not numbers;
- ``validate`` and ``policy_warnings`` give exactly the same errors and warnings
  (same messages, same field paths, same order) with compiled CEL and with
  cel-python's interpreter (tests/support/celpy_reference.py) as the
  evaluator, on the invalid-spec table, the valid near misses of the
  pass-through types, the examples and generated specs (tests/support/specgen.py).

The agreement with the API server itself is tests/cluster/test_differential.py.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from typing import Any

import pytest

import invalid_specs
from support import celpy_reference
from support.specgen import PASS_THROUGH_NEAR_MISSES, PASS_THROUGH_SPEC, bases, mutations
from wsgi_operator.api import validation
from wsgi_operator.api.celcompile import EVAL_ERRORS, CelUnsupported, program
from wsgi_operator.api.warnings_policy import warning_rules

#: How many generated specs, and the seed that draws them (the cluster differential test's seed).
COUNT = int(os.environ.get("WSGI_OPERATOR_CEL_DIFF_COUNT", 150))
SEED = int(os.environ.get("WSGI_OPERATOR_DIFF_SEED", 20261130))


def _schema_rules(schema: dict[str, Any]) -> Iterator[str]:
    for rule in schema.get("x-kubernetes-validations") or ():
        yield rule["rule"]
    for sub in (schema.get("properties") or {}).values():
        yield from _schema_rules(sub)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _schema_rules(schema[key])


EXPRESSIONS = sorted(set(_schema_rules(validation._spec_schema())) | {w.expression for w in warning_rules()})


@pytest.mark.parametrize("expression", EXPRESSIONS, ids=range(len(EXPRESSIONS)))
def test_every_rule_and_warning_compiles(expression: str) -> None:
    program(expression)


def test_the_walk_reaches_every_rule_of_the_schema() -> None:
    """The walk skips the parts of the schema without rules; it must skip no rule."""

    def walked(node: Any) -> Iterator[str]:
        yield from (r["rule"] for r in node.own)
        for _, sub in node.properties:
            yield from walked(sub)
        for sub in (node.values, node.items):
            if sub is not None:
                yield from walked(sub)

    assert sorted(walked(validation._spec_rules())) == sorted(_schema_rules(validation._spec_schema()))


def test_what_it_does_not_compile_is_refused_when_compiled() -> None:
    for expression in ("self.l.map(x, x + 1)", "1 - 2", "self.f()", "{'a': 1}", "-self.i", "'''a'''"):
        with pytest.raises(CelUnsupported):
            program(expression)


ERROR = "error"
SELF = {"s": "abc", "i": 3, "b": True, "l": [1, 2], "m": {"k": "v"}, "n": None, "e": [], "o": {"x": {"y": 1}}}

#: Expression over SELF -> CEL's value (cel-go). cel-python differs on a few: has() of a field of a
#: missing field is false there, ints and doubles do not compare, bools are numbers, size(null) is 0.
SEMANTICS: dict[str, Any] = {
    "true || self.missing": True,
    "self.missing || true": True,
    "false || self.missing": ERROR,
    "self.missing || false": ERROR,
    "false && self.missing": False,
    "self.missing && false": False,
    "true && self.missing": ERROR,
    "self.missing": ERROR,
    "has(self.missing)": False,
    "has(self.n)": True,
    "has(self.o.x)": True,
    "has(self.o.z.y)": ERROR,
    "self.i == 3": True,
    "self.i == 3.0": True,
    "self.i > 1.0": True,
    "self.b == 1": False,
    "self.s == 1": False,
    "self.i < 'a'": ERROR,
    "self.b < 2": ERROR,
    "self.n == null": True,
    "self.l == [1, 2]": True,
    "'k' in self.m": True,
    "'z' in self.m": False,
    "1 in self.m": False,
    "2 in self.l": True,
    "'2' in self.l": False,
    "self.e.all(x, x.foo)": True,
    "self.m.all(k, k == 'k')": True,
    "[1, 'a'].all(x, x > 0)": ERROR,
    "[0, 'a'].all(x, x > 0)": False,
    "[1, 'a'].exists(x, x > 0)": True,
    "['a', 0].exists(x, x > 0)": ERROR,
    "[1, 'a'].exists_one(x, x > 0)": ERROR,
    "[1, 2].exists_one(x, x > 1)": True,
    "[1, 2].exists_one(x, x > 0)": False,
    "size(self.s) == 3 && self.s.size() == 3 && size(self.m) == 1": True,
    "size(self.n) == 0": ERROR,
    "size(self.i) == 0": ERROR,
    "self.s.startsWith('ab') && self.s.endsWith('c') && self.s.contains('b')": True,
    "self.i.startsWith('a')": ERROR,
    "self.s.matches('(?i)^A.C$')": True,
    "self.s.matches('(')": ERROR,
    "self.s + 'd' == 'abcd' && self.i + 1 == 4 && self.l + [3] == [1, 2, 3]": True,
    "self.i + 1.0 == 4.0": ERROR,
    "9223372036854775807 + 1 > 0": ERROR,
    "type(self.i) == int && type(self.s) == string": True,
    "type(self.b) == int": False,
    "self.b ? 1 : 2": 1,
    "self.s ? 1 : 2": ERROR,
    "self.missing ? 1 : 2": ERROR,
    "!self.i": ERROR,
    "self.m['k'] == 'v' && self.l[1] == 2": True,
    "self.m['z'] == 'v'": ERROR,
    "self.l[5] == 2": ERROR,
    "'\\u00e9\\x41\\n' == 'éA' + \"\\012\"": True,
    "quantity('1Gi').compareTo(quantity('1024Mi')) == 0": True,
    "quantity('x') == quantity('x')": ERROR,
}


@pytest.mark.parametrize(("expression", "expected"), SEMANTICS.items(), ids=list(SEMANTICS))
def test_compiled_cel_follows_cel(expression: str, expected: Any) -> None:
    try:
        value = program(expression).evaluate({"self": copy.deepcopy(SELF)})
    except EVAL_ERRORS:
        value = ERROR
    assert value == expected and type(value) is type(expected)


# --- validate and policy_warnings: compiled CEL against cel-python -----------------------------


def _outcome(manifest: dict[str, Any]) -> tuple[str, ...]:
    """What ``wsgi-operator validate`` says of ``manifest``: its errors, or its warnings
    (``validate_with_warnings``, and ``policy_warnings`` on its own, which must agree)."""
    try:
        _, warnings = validation.validate_with_warnings(copy.deepcopy(manifest), "shop")
    except validation.InvalidWsgiApp as err:
        return ("invalid", *err.errors)
    except RuntimeError as err:  # a rule that failed to evaluate on a value the schema took
        return ("failed", str(err))
    assert validation.policy_warnings(copy.deepcopy(manifest), "shop") == warnings
    return ("valid", *warnings)


def _corpus() -> list[tuple[str, dict[str, Any]]]:
    cases = [(f"case {c.id}", c.manifest()) for c in invalid_specs.CASES]
    cases += [(f"near miss {n}", invalid_specs.base_manifest(p)) for n, p in PASS_THROUGH_NEAR_MISSES.items()]
    cases += [(f"base {name}", manifest) for name, manifest in bases().items()]
    cases.append(("pass-through", invalid_specs.base_manifest(PASS_THROUGH_SPEC)))
    cases += [(m.describe(), manifest) for m, manifest in mutations(validation._spec_schema(), bases(), COUNT, SEED)]
    return cases


def test_validate_says_the_same_with_compiled_cel_and_with_cel_python(monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _corpus()
    compiled = [_outcome(manifest) for _, manifest in corpus]
    monkeypatch.setattr(validation, "program", celpy_reference.program)
    reference = [_outcome(manifest) for _, manifest in corpus]
    differ = [
        f"{label}\n    compiled:   {c}\n    cel-python: {r}"
        for (label, _), c, r in zip(corpus, compiled, reference, strict=True)
        if c != r
    ]
    assert not differ, f"{len(differ)} of {len(corpus)} differ:\n" + "\n".join(differ)
    # Both verdicts, warnings and a rule that could not be evaluated occur, or the comparison proves little.
    kinds = {o[0] for o in compiled}
    assert {"valid", "invalid"} <= kinds, kinds
    assert any(o[0] == "valid" and len(o) > 1 for o in compiled), "no warning in the corpus"
    assert any("could not be evaluated" in e for o in compiled for e in o), "no rule failed on an invalid value"
