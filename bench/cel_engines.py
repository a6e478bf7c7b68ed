"""CEL engines on the rule evaluations of validating 1,000 WsgiApps (issue 13 item 3).

Run: `PYTHONPATH=tests .venv/bin/python bench/cel_engines.py [COUNT] [--celpy N]`.
Prints a table; it asserts nothing.

Collects every (rule, value) pair that `validate_with_warnings` evaluates on
render_bench.py's apps (the CRD's rules where their field is present, and the
warnings policy on the whole object), then times each engine on all of them:

  compiled       wsgi_operator.api.celcompile: CEL compiled to Python, what validation uses
  cel-python     cel-python's interpreter (tests/support/celpy_reference.py), on the first N apps
  cel-expr-python  Google's C++ CEL runtime (PyPI cel-expr-python), if importable: it has no
                 Kubernetes CIDR library (a function cannot return an opaque type), so the
                 rules that call cidr() are left out of its row, and quantity() is a
                 Python function returning a double. Not a dependency of the project:
                 install it in a scratch venv and add its site-packages to PYTHONPATH.

"vacuous" counts the pairs whose rule is `self.F.all(...)` over an empty list or map:
true without evaluating, the evaluations that skipping such rules would save.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

from render_bench import arguments, manifest, timed

from support import celpy_reference
from support.tables import format_table
from wsgi_operator.api import validation
from wsgi_operator.api.celcompile import EVAL_ERRORS, program

Pair = tuple[str, dict[str, Any]]
_VACUOUS = re.compile(r"^self\.(\w+)\.all\(")


def _pairs_of(node: Any, value: Any) -> Iterator[Pair]:
    # The walk of validation._cel_errors: a node's rules where its value is an object.
    if isinstance(value, dict):
        activation = {"self": value}  # one per object, as validation binds it
        for rule in node.own:
            yield rule["rule"], activation
        for key, sub in node.properties:
            if key in value:
                yield from _pairs_of(sub, value[key])
        if node.values is not None:
            for item in value.values():
                yield from _pairs_of(node.values, item)
    elif isinstance(value, list) and node.items is not None:
        for item in value:
            yield from _pairs_of(node.items, item)


def pairs(count: int) -> list[Pair]:
    """Every (expression, activation) that validating ``count`` bench apps evaluates."""
    out: list[Pair] = []
    for i in range(count):
        _, doc = validation._validated(manifest(i), pod_security=False)
        out += _pairs_of(validation._spec_rules(), doc["spec"])
        doc["metadata"].setdefault("namespace", "default")
        activation = {"object": doc}
        out += [(expression, activation) for expression, _ in validation._warnings()]
    return out


def _verdict(evaluate: Callable[[str, dict[str, Any]], Any], expression: str, activation: dict[str, Any]) -> Any:
    try:
        return evaluate(expression, activation)
    except EVAL_ERRORS:
        return "error"


def _cel_expr_python() -> tuple[Callable[[str], bool], Callable[[str, dict[str, Any]], Any]] | None:
    """(can it compile this expression, evaluate) with cel-expr-python, or None if not installed."""
    try:
        from cel_expr_python import cel  # type: ignore[import-not-found]
        from cel_expr_python.ext import ext_strings  # type: ignore[import-not-found]
    except ImportError:
        return None
    from wsgi_operator.api.cellibrary import is_cidr, quantity_value

    t = cel.Type
    functions = [
        cel.FunctionDecl("quantity", [cel.Overload("quantity_s", t.DOUBLE, [t.STRING], impl=quantity_value)]),
        cel.FunctionDecl(
            "compareTo",
            [
                cel.Overload(
                    "compareTo_dd", t.INT, [t.DOUBLE, t.DOUBLE], is_member=True, impl=lambda a, b: (a > b) - (a < b)
                )
            ],
        ),
        cel.FunctionDecl("isCIDR", [cel.Overload("isCIDR_s", t.BOOL, [t.STRING], impl=is_cidr)]),
    ]
    env = cel.NewEnv(
        variables={"self": t.DYN, "object": t.DYN}, extensions=[ext_strings.ExtStrings()], functions=functions
    )
    compiled: dict[str, Any] = {}
    # Converting the object to CEL values is most of the cost: once per object, not per rule.
    bound: dict[int, Any] = {}

    def supported(expression: str) -> bool:
        if "cidr(" in expression:
            return False
        if expression not in compiled:
            compiled[expression] = env.compile(expression)
        return True

    def evaluate(expression: str, activation: dict[str, Any]) -> Any:
        if id(activation) not in bound:
            bound.clear()  # the pairs come object by object
            bound[id(activation)] = env.Activation(data=activation)
        value = compiled[expression].eval(bound[id(activation)])
        if value.type() == t.ERROR:
            return "error"
        return value.value()

    return supported, evaluate


def main(argv: list[str] | None = None) -> int:
    parser = arguments(__doc__)
    parser.add_argument("--celpy", type=int, default=50, help="apps to time cel-python on (slow; default 50)")
    args = parser.parse_args(argv)
    todo = pairs(args.count)
    per_app = len(todo) / args.count
    vacuous = sum(
        1 for e, a in todo if (m := _VACUOUS.match(e)) and isinstance(a.get("self"), dict) and not a["self"][m[1]]
    )
    for e, _ in todo:
        program(e)  # compile outside the timings, as validation does once per process
    wall, cpu, compiled = timed(lambda: [_verdict(lambda e, a: program(e).evaluate(a), e, a) for e, a in todo])
    rows = [("compiled", len(todo), wall, cpu)]
    sub = todo[: round(per_app * args.celpy)]
    for e, _ in sub:
        celpy_reference.program(e)
    wall, cpu, reference = timed(
        lambda: [_verdict(lambda e, a: celpy_reference.program(e).evaluate(a), e, a) for e, a in sub]
    )
    rows.append(("cel-python", len(sub), wall, cpu))
    same = sum(r == c for r, c in zip(reference, compiled[: len(sub)], strict=True))
    agree = [f"cel-python agrees with compiled on {same} of {len(sub)}"]
    cpp = _cel_expr_python()
    if cpp is None:
        agree.append("cel-expr-python: not installed")
    else:
        supported, evaluate = cpp
        mine = [(i, p) for i, p in enumerate(todo) if supported(p[0])]
        wall, cpu, verdicts = timed(lambda: [_verdict(evaluate, e, a) for _, (e, a) in mine])
        rows.append(("cel-expr-python", len(mine), wall, cpu))
        same = sum(v == compiled[i] for v, (i, _) in zip(verdicts, mine, strict=True))
        agree.append(f"cel-expr-python agrees with compiled on {same} of {len(mine)} (left out: cidr() rules)")

    print(f"{args.count} WsgiApps: {len(todo)} rule evaluations ({per_app:.1f} per app), {vacuous} vacuous")
    table = [
        (name, str(n), f"{wall:.3f}", f"{cpu:.3f}", f"{cpu / n * 1e6:.2f}", f"{cpu / n * per_app * 1e3:.3f}")
        for name, n, wall, cpu in rows
    ]
    print(format_table(["engine", "evals", "wall s", "cpu s", "us/eval", "ms/app"], table, args.markdown))
    print("\n".join(agree))
    return 0


if __name__ == "__main__":
    sys.exit(main())
