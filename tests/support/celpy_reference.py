"""The reference evaluator: cel-python's interpreter, with the Kubernetes library functions.

Offline validation evaluates the rules with CEL compiled to Python
(wsgi_operator.api.celcompile). The tests check it against an independent
implementation of CEL: cel-python's tree-walking interpreter, on the same
activation (converted to cel-python's types), with the same Kubernetes library
functions (cellibrary.py) wrapped for cel-python's types. ``program`` has
celcompile's interface, so ``validation.program`` can be swapped for it and the
whole of ``validate`` and ``policy_warnings`` run on the reference.
"""

from __future__ import annotations

import functools
from typing import Any

import celpy
from celpy import celtypes

from wsgi_operator.api import cellibrary
from wsgi_operator.api.celcompile import CelError


def _plain(value: Any) -> Any:
    # cel-python's types subclass Python's; the library functions check for the plain ones.
    for cel_type, plain in (
        (celtypes.BoolType, bool),
        (celtypes.IntType, int),
        (celtypes.DoubleType, float),
        (celtypes.StringType, str),
    ):
        if isinstance(value, cel_type):
            return plain(value)
    return value


def _cel(value: Any) -> Any:
    if type(value) is bool:
        return celtypes.BoolType(value)
    if type(value) is int:
        return celtypes.IntType(value)
    if type(value) is float:
        return celtypes.DoubleType(value)
    return value  # a Cidr: an opaque value, as in the Kubernetes library


def _wrap(function: Any) -> Any:
    return lambda *args: _cel(function(*map(_plain, args)))


_FUNCTIONS = {name: _wrap(f) for name, f in (cellibrary.FUNCTIONS | cellibrary.METHODS).items()}


class ReferenceProgram:
    """One expression, evaluated by cel-python: celcompile.Program's interface."""

    def __init__(self, expression: str) -> None:
        env = celpy.Environment()
        self._program = env.program(env.compile(expression), functions=_FUNCTIONS)

    def evaluate(self, activation: dict[str, Any]) -> Any:
        """The value on ``activation`` (plain JSON values), as a plain value; CelError when
        cel-python gives an error."""
        try:
            result = self._program.evaluate({k: celpy.json_to_cel(v) for k, v in activation.items()})
        except (celpy.CELEvalError, ValueError, TypeError, KeyError) as err:
            raise CelError(str(err)) from err
        if isinstance(result, celpy.CELEvalError):
            raise CelError(str(result))
        return _plain(result)


@functools.cache
def program(expression: str) -> ReferenceProgram:
    """``expression`` for cel-python, compiled once (celcompile.program's interface)."""
    return ReferenceProgram(expression)
