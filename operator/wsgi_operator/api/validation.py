"""Offline validation of WsgiApp manifests with the same rules as the CRD.

Types, ranges and patterns come from the pydantic models (which also generate
the CRD's OpenAPI schema); cross-field rules are the models' CEL expressions,
evaluated here with cel-python exactly as the API server evaluates them.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from typing import Any

import celpy
from pydantic import BaseModel, ValidationError

from .. import API_VERSION, KIND
from .base import ApiModel, Rule
from .wsgiapp import WsgiApp


class InvalidWsgiApp(ValueError):
    """A manifest that the API server would reject; ``errors`` name the fields."""

    def __init__(self, name: str, errors: list[str]) -> None:
        self.name = name
        self.errors = errors
        super().__init__(f"WsgiApp {name}: " + "; ".join(errors))


_SUFFIX = {
    "": 1,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)$")


def quantity_value(text: str) -> float:
    """The number a Kubernetes quantity string stands for ("512Mi" -> 536870912.0)."""
    match = _QUANTITY.match(text)
    if not match or match.group(2) not in _SUFFIX:
        raise ValueError(f"not a quantity: {text!r}")
    return float(match.group(1)) * _SUFFIX[match.group(2)]


# The subset of the Kubernetes CEL quantity library the rules use.
_K8S_FUNCTIONS = {
    "quantity": lambda s: celpy.celtypes.DoubleType(quantity_value(str(s))),
    "compareTo": lambda a, b: celpy.celtypes.IntType((a > b) - (a < b)),
}


_compile_lock = threading.Lock()


@functools.cache
def _compiled(rule: str) -> Any:
    env = celpy.Environment()
    return env.program(env.compile(rule), functions=_K8S_FUNCTIONS)


def _program(rule: str) -> Any:
    # The operator validates from several threads; without the lock, threads
    # racing on a first use would each compile the same program (slow, and
    # tens of MiB that functools.cache then throws away).
    with _compile_lock:
        return _compiled(rule)


def _eval(rule: Rule, activation: dict[str, Any]) -> bool:
    result = _program(rule.rule).evaluate(activation)
    if isinstance(result, celpy.CELEvalError):
        raise RuntimeError(f"CEL rule {rule.rule!r} failed to evaluate: {result}")
    return bool(result)


def _walk(model: BaseModel, path: str) -> Iterator[str]:
    """Yield a message for every CEL rule broken in ``model`` and below."""
    if isinstance(model, ApiModel) and model.cel_rules:
        obj = model.model_dump(by_alias=True, exclude_none=True, mode="json")
        activation = {"self": celpy.json_to_cel(obj)}
        for rule in model.cel_rules:
            if not _eval(rule, activation):
                where = f"{path}{rule.field_path}"
                # Messages name their field for the API server's sake; don't say it twice.
                yield rule.message if rule.message.startswith(where) else f"{where}: {rule.message}"
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        child = f"{path}.{field.alias or name}"
        if isinstance(value, BaseModel):
            yield from _walk(value, child)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from _walk(item, f"{child}[{i}]")


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _pydantic_messages(err: ValidationError) -> list[str]:
    messages = []
    for e in err.errors():
        # pydantic reports which union branch failed as an extra loc part
        # (e.g. 'str'); users only care about their field.
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p in {"str", "int", "constrained-str"}))
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; `kubectl explain wsgiapp.spec` lists the fields)"
        elif e["type"] == "string_pattern_mismatch":
            msg = f"{e['input']!r} does not match {e['ctx']['pattern']}"
        messages.append(f"{_loc(loc)}: {msg}")
    return messages


def validate(obj: Any) -> WsgiApp:
    """Parse and fully validate one manifest; raise InvalidWsgiApp naming every bad field."""
    if not isinstance(obj, dict):
        raise InvalidWsgiApp("?", ["document is not a mapping"])
    name = str((obj.get("metadata") or {}).get("name", "?"))
    if obj.get("kind") != KIND or obj.get("apiVersion") != API_VERSION:
        raise InvalidWsgiApp(name, [f"apiVersion/kind must be {API_VERSION} {KIND}"])
    try:
        app = WsgiApp.parse(obj)
    except ValidationError as err:
        raise InvalidWsgiApp(name, _pydantic_messages(err)) from None
    errors = list(_walk(app.spec, "spec"))
    if errors:
        raise InvalidWsgiApp(name, errors)
    return app
