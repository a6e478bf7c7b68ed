"""CEL compiled to Python: the rules' expressions as Python functions over plain JSON values.

Offline validation evaluates every CEL rule of the CRD and the warnings policy
on every manifest. cel-python's interpreter walks the parse tree and wraps
every value for every evaluation, which costs milliseconds per rule; here each
expression is parsed once (cel-python's parser: the CEL grammar) and turned into
the source of one Python lambda, compiled once per process. Evaluating it
costs microseconds, on the manifest's own dicts and lists (no conversion).

Only the part of CEL the rules use is compiled: the logical, relational and
``+`` operators, ``?:``, field selection, indexing, ``in``, list literals,
``has()``, the ``all``/``exists``/``exists_one`` macros, ``size``, ``type``,
``startsWith``/``endsWith``/``contains``/``matches`` and the Kubernetes library
functions of cellibrary.py. Anything else raises ``CelUnsupported`` when the
expression is compiled (every rule is compiled by the unit tests), never a
wrong verdict.

The semantics are CEL's (cel-go's, which the API server runs): an error (a
missing key, an operator on the wrong types) is absorbed by ``||`` and ``&&``
when the other side decides (``true || error`` is true, in either order) and
by ``all``/``exists`` likewise, and propagates everywhere else; ``==`` between
values of different types is false (ints and doubles compare by value); bools
are not numbers. ``matches`` is RE2 (google-re2), as in Go. The unit tests
compare every rule's verdict with cel-python's interpreter on the invalid-spec
table and on generated specs (tests/unit/test_celcompile.py).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import lark
import re2
from celpy.celparser import CELParser
from celpy.evaluation import celstr

from . import cellibrary


class CelError(Exception):
    """An evaluation error of CEL: no such key, no matching overload, a library function's error."""


class CelUnsupported(ValueError):
    """The expression uses a part of CEL this compiler does not handle (raised when compiling)."""


#: What an evaluation error is: ours, and the library functions' own (``Program.evaluate`` raises them).
EVAL_ERRORS = _ERRORS = (CelError, TypeError, ValueError, KeyError, IndexError)
_INT64 = (-(2**63), 2**63 - 1)


class CelType:
    """A CEL type as a value (``type(x) == int``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"CelType({self.name!r})"


_TYPES = {name: CelType(name) for name in ("int", "double", "bool", "string", "list", "map", "null_type", "type")}
_TYPE_OF = {
    bool: _TYPES["bool"],
    int: _TYPES["int"],
    float: _TYPES["double"],
    str: _TYPES["string"],
    list: _TYPES["list"],
    dict: _TYPES["map"],
    type(None): _TYPES["null_type"],
    CelType: _TYPES["type"],
}


# --- the runtime: what the generated code calls -----------------------------------------------


def _type(value: Any) -> CelType:
    try:
        return _TYPE_OF[type(value)]
    except KeyError:
        raise CelError(f"type() of a {type(value).__name__}") from None


def _cond(value: Any) -> bool:
    if type(value) is bool:
        return value
    raise CelError("the condition of ?: is not a bool")


def _logical(decisive: bool, left: Callable[[], Any], right: Callable[[], Any]) -> bool:
    """``left || right`` (``decisive`` true) or ``left && right`` (false): the decisive value on
    either side wins over an error on the other; otherwise both must be bools."""
    try:
        a = left()
    except _ERRORS as err:
        a = err
    if a is decisive:
        return decisive
    try:
        b = right()
    except _ERRORS as err:
        b = err
    if b is decisive:
        return decisive
    if a is not decisive and b is not decisive and type(a) is bool and type(b) is bool:
        return not decisive
    raise CelError("_||_ or _&&_ on an error or a value that is not a bool")


def _not(value: Any) -> bool:
    if type(value) is bool:
        return not value
    raise CelError("!_ on a value that is not a bool")


def _eq(a: Any, b: Any) -> bool:
    ta, tb = type(a), type(b)
    if ta is tb:
        if ta is list:
            return len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b, strict=True))
        if ta is dict:
            return a.keys() == b.keys() and all(_eq(a[k], b[k]) for k in a)
        return bool(a == b)
    # Heterogeneous equality: different types are unequal, except numbers by value.
    return (ta is int or ta is float) and (tb is int or tb is float) and a == b


def _ne(a: Any, b: Any) -> bool:
    return not _eq(a, b)


def _ordered(a: Any, b: Any) -> None:
    ta, tb = type(a), type(b)
    if (ta is tb and ta in (int, float, str, bool)) or (ta in (int, float) and tb in (int, float)):
        return
    raise CelError(f"no ordering between {ta.__name__} and {tb.__name__}")


def _lt(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(a < b)


def _le(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(a <= b)


def _gt(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(a > b)


def _ge(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(a >= b)


def _in(item: Any, container: Any) -> bool:
    if type(container) is list:
        return any(_eq(item, x) for x in container)
    if type(container) is dict:
        # Keys of JSON objects are strings; a key of another type is simply not there.
        return type(item) is str and item in container
    raise CelError(f"_in_ on a {type(container).__name__}")


def _add(a: Any, b: Any) -> Any:
    ta = type(a)
    if ta is type(b):
        if ta is int:
            total = a + b
            if not _INT64[0] <= total <= _INT64[1]:
                raise CelError("int overflow")
            return total
        if ta in (float, str, list):
            return a + b
    raise CelError(f"_+_ on {ta.__name__} and {type(b).__name__}")


def _sel(value: Any, name: str) -> Any:
    if type(value) is dict:
        try:
            return value[name]
        except KeyError:
            raise CelError(f"no such key: {name}") from None
    raise CelError(f"field {name} of a {type(value).__name__}")


def _has(value: Any, name: str) -> bool:
    if type(value) is dict:
        return name in value
    raise CelError(f"has() of field {name} of a {type(value).__name__}")


def _index(value: Any, key: Any) -> Any:
    if type(value) is dict and type(key) is str and key in value:
        return value[key]
    if type(value) is list and type(key) is int and 0 <= key < len(value):
        return value[key]
    raise CelError(f"no such key or index: {key!r}")


def _size(value: Any) -> int:
    if type(value) in (str, list, dict):
        return len(value)
    raise CelError(f"size() of a {type(value).__name__}")


def _strings(a: Any, b: Any) -> None:
    if type(a) is not str or type(b) is not str:
        raise CelError("a string function on a value that is not a string")


def _starts_with(a: Any, b: Any) -> bool:
    _strings(a, b)
    return a.startswith(b)


def _ends_with(a: Any, b: Any) -> bool:
    _strings(a, b)
    return a.endswith(b)


def _contains(a: Any, b: Any) -> bool:
    _strings(a, b)
    return b in a


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> Any:
    try:
        return re2.compile(pattern)
    except re2.error as err:
        raise CelError(f"invalid regular expression {pattern!r}: {err}") from None


def _matches(text: Any, pattern: Any) -> bool:
    _strings(text, pattern)
    return _regex(pattern).search(text) is not None


def _range(value: Any) -> Any:
    # A macro ranges over a list's elements or a map's keys.
    if type(value) is list or type(value) is dict:
        return value
    raise CelError(f"a macro over a {type(value).__name__}")


def _quantified(decisive: bool, value: Any, predicate: Callable[[Any], Any]) -> bool:
    """``value.exists(x, predicate)`` (``decisive`` true) or ``value.all(x, predicate)``
    (false): like a chain of ``||`` or ``&&`` over the elements (a map's keys)."""
    failed = False
    for item in _range(value):
        try:
            verdict = predicate(item)
        except _ERRORS:
            failed = True
            continue
        if verdict is decisive:
            return decisive
        failed = failed or type(verdict) is not bool
    if failed:
        raise CelError("all() or exists(): a predicate failed to evaluate")
    return not decisive


def _exists_one(value: Any, predicate: Callable[[Any], Any]) -> bool:
    count = 0
    for item in _range(value):
        verdict = predicate(item)
        if type(verdict) is not bool:
            raise CelError("exists_one(): the predicate is not a bool")
        count += verdict
    return count == 1


#: The functions the generated code calls, by name.
_HELPERS = (_type, _cond, _logical, _not, _eq, _ne, _lt, _le, _gt, _ge, _in, _add, _sel, _has, _index, _size)
_HELPERS += (_starts_with, _ends_with, _contains, _matches, _quantified, _exists_one)
#: The names the generated code sees.
_RUNTIME: dict[str, Any] = {f.__name__: f for f in _HELPERS} | {
    "_T": _TYPES,
    "_F": cellibrary.FUNCTIONS,
    "_M": cellibrary.METHODS,
}

# --- the compiler: parse tree -> Python source ----------------------------------------------

_BINARY = {
    "relation_lt": "_lt",
    "relation_le": "_le",
    "relation_gt": "_gt",
    "relation_ge": "_ge",
    "relation_eq": "_eq",
    "relation_ne": "_ne",
    "relation_in": "_in",
    "addition_add": "_add",
}
_STRING_METHODS = {"startsWith": "_starts_with", "endsWith": "_ends_with", "contains": "_contains"}
_MACROS = {"all": "_quantified(False, ", "exists": "_quantified(True, ", "exists_one": "_exists_one("}


class _Compiler:
    """One expression's parse tree to a Python expression; ``scope`` holds the macro variables."""

    def __init__(self, text: str) -> None:
        self.text = text

    def unsupported(self, what: str) -> CelUnsupported:
        return CelUnsupported(f"{what} is not supported by celcompile (in {self.text!r})")

    def compile(self, tree: Any, scope: frozenset[str]) -> str:
        if isinstance(tree, lark.Token):
            raise self.unsupported(f"token {tree!r}")
        kids = tree.children
        node = tree.data
        if node in ("member", "primary", "paren_expr") or (
            node in ("expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication", "unary")
            and len(kids) == 1
        ):
            return self.compile(kids[0], scope)
        if node == "expr":
            cond, yes, no = (self.compile(k, scope) for k in kids)
            return f"(({yes}) if _cond({cond}) else ({no}))"
        if node in ("conditionalor", "conditionaland"):
            left, right = (self.compile(k, scope) for k in kids)
            return f"_logical({node == 'conditionalor'}, lambda: {left}, lambda: {right})"
        if node in ("relation", "addition", "multiplication"):
            op, right_tree = kids
            if op.data not in _BINARY:
                raise self.unsupported(f"operator {op.data}")
            left, right = self.compile(op.children[0], scope), self.compile(right_tree, scope)
            return f"{_BINARY[op.data]}({left}, {right})"
        if node == "unary":
            op, operand = kids
            if op.data != "unary_not":
                raise self.unsupported("unary minus")
            return f"_not({self.compile(operand, scope)})"
        if node == "member_dot":
            target, name = kids
            return f"_sel({self.compile(target, scope)}, {str(name)!r})"
        if node == "member_index":
            target, key = kids
            return f"_index({self.compile(target, scope)}, {self.compile(key, scope)})"
        if node == "member_dot_arg":
            return self.method(kids[0], str(kids[1]), self.args(kids[2:]), scope)
        if node == "ident_arg":
            return self.function(str(kids[0]), self.args(kids[1:]), scope)
        if node == "ident":
            name = str(kids[0])
            if name in scope:
                return f"v_{name}"
            if name in _TYPES:
                return f"_T[{name!r}]"
            return f"_a[{name!r}]"
        if node == "list_lit":
            return "[" + ", ".join(self.compile(k, scope) for k in self.args(kids)) + "]"
        if node == "literal":
            return repr(self.literal(kids[0]))
        raise self.unsupported(node)

    @staticmethod
    def args(rest: list[Any]) -> list[Any]:
        # The arguments: the exprlist after a call's name, absent (or None) without any.
        return list(rest[0].children) if rest and rest[0] is not None else []

    def literal(self, token: lark.Token) -> Any:
        kind, text = token.type, str(token)
        # Not MLSTRING_LIT: cel-python's celstr() drops the line breaks of a '''...''' string.
        if kind == "STRING_LIT":
            return str(celstr(token))
        if kind == "INT_LIT":
            value = int(text, 16) if "x" in text.lower() else int(text)
            if not _INT64[0] <= value <= _INT64[1]:
                raise self.unsupported(f"int literal {text}")
            return value
        if kind == "FLOAT_LIT":
            return float(text)
        if kind == "BOOL_LIT":
            return text == "true"
        if kind == "NULL_LIT":
            return None
        raise self.unsupported(f"literal {text}")

    def function(self, name: str, args: list[Any], scope: frozenset[str]) -> str:
        if name == "has":
            (arg,) = args
            field = self._strip(arg)
            if not (isinstance(field, lark.Tree) and field.data == "member_dot"):
                raise self.unsupported("has() of something other than a field")
            target, field_name = field.children
            return f"_has({self.compile(target, scope)}, {str(field_name)!r})"
        compiled = ", ".join(self.compile(a, scope) for a in args)
        if name in ("size", "type") and len(args) == 1:
            return f"_{name}({compiled})"
        if name in cellibrary.FUNCTIONS:
            return f"_F[{name!r}]({compiled})"
        raise self.unsupported(f"function {name}()")

    def _strip(self, tree: Any) -> Any:
        # The node under the single-child wrappers (expr -> conditionalor -> ... -> member).
        while isinstance(tree, lark.Tree) and len(tree.children) == 1 and tree.data != "ident":
            tree = tree.children[0]
        return tree

    def method(self, target_tree: Any, name: str, args: list[Any], scope: frozenset[str]) -> str:
        target = self.compile(target_tree, scope)
        if name in _MACROS:
            variable, body = args
            var = self._strip(variable)
            if not (isinstance(var, lark.Tree) and var.data == "ident"):
                raise self.unsupported(f"{name}() without a variable")
            var_name = str(var.children[0])
            return f"{_MACROS[name]}{target}, lambda v_{var_name}: {self.compile(body, scope | {var_name})})"
        compiled = [self.compile(a, scope) for a in args]
        if name in _STRING_METHODS and len(args) == 1:
            return f"{_STRING_METHODS[name]}({target}, {compiled[0]})"
        if name == "matches" and len(args) == 1:
            return f"_matches({target}, {compiled[0]})"
        if name == "size" and not args:
            return f"_size({target})"
        if name in cellibrary.METHODS:
            return f"_M[{name!r}]({', '.join([target, *compiled])})"
        raise self.unsupported(f"method {name}()")


class Program:
    """One compiled CEL expression.

    ``evaluate(activation)`` is the expression's value with the variables of
    ``activation`` (plain JSON values); it raises one of ``EVAL_ERRORS`` when CEL
    gives an error (CelError, or a library function's ValueError or TypeError:
    not wrapped, as evaluation is the hot path).
    """

    def __init__(self, expression: str) -> None:
        tree = CELParser().parse(expression)
        #: The generated Python expression (for debugging: ``Program(rule).source``).
        self.source = _Compiler(expression).compile(tree, frozenset())
        # The source comes from the rules declared on the API models, never from a manifest.
        self.evaluate: Callable[[dict[str, Any]], Any] = eval(f"lambda _a: {self.source}", dict(_RUNTIME))


_lock = threading.Lock()
_programs: dict[str, Program] = {}


def program(expression: str) -> Program:
    """The compiled program of ``expression``, compiled once per process."""
    found = _programs.get(expression)
    if found is None:
        # The operator validates from several threads: compile each expression once.
        with _lock:
            found = _programs.get(expression)
            if found is None:
                found = _programs[expression] = Program(expression)
    return found
