"""DynamoDB expressions: one front-end (text -> validated, resolved AST) and pure evaluators.

The gateway builds one ``ExpressionContext`` per request and asks it for each expression the
request carries; the ASTs it returns are fully resolved (no placeholders, values are normalized
``ast.Literal``s) and everything DynamoDB validates statically has been validated.  After the last
expression, ``check_unused()`` reports placeholders no expression used.  See README.md here for
the phases (tokens -> parse -> resolve -> evaluate).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .. import errors, values
from ..errors import DynamoError
from . import ast, keycond, resolve
from .parser import CONDITION, FILTER, KEY_CONDITION, PROJECTION, UPDATE, parse, unparse

__all__ = ["ExpressionContext", "ast", "parse", "unparse", "CONDITION", "FILTER", "KEY_CONDITION",
           "UPDATE", "PROJECTION"]

_NAME_KEY = re.compile(r"#[A-Za-z0-9_]+")
_VALUE_KEY = re.compile(r":[A-Za-z0-9_]+")


class ExpressionContext:
    """Per request: holds ExpressionAttributeNames / ExpressionAttributeValues, records which
    placeholders were used."""

    __slots__ = ("_names", "_values", "_used_names", "_used_values")

    def __init__(self, names: dict | None, values: dict | None) -> None:
        self._names = _checked_names(names)
        self._values = _checked_values(values)
        self._used_names: set[str] = set()
        self._used_values: set[str] = set()

    def condition(self, text: str, kind: str = CONDITION) -> ast.Condition:
        """A ConditionExpression (or, with ``kind="FilterExpression"``, a FilterExpression)."""
        if kind not in (CONDITION, FILTER):
            raise ValueError(f"not a condition kind: {kind!r}")
        return self._absorb(resolve.resolve_condition(parse(text, kind), self._names, self._values, kind))

    def update(self, text: str) -> ast.Update:
        return self._absorb(resolve.resolve_update(parse(text, UPDATE), self._names, self._values))

    def projection(self, text: str) -> ast.Projection:
        return self._absorb(resolve.resolve_projection(parse(text, PROJECTION), self._names))

    def key_condition(self, text: str, hash_key: str, range_key: str | None, *,
                      key_types: Mapping[str, str] | None = None) -> ast.KeyCondition:
        """A KeyConditionExpression for a key schema; ``key_types`` (name -> S/N/B), when known,
        makes a value of the wrong type an error here rather than an empty result."""
        resolved = resolve.resolve_condition(parse(text, KEY_CONDITION), self._names, self._values,
                                             KEY_CONDITION)
        return keycond.key_condition(self._absorb(resolved), hash_key, range_key, key_types)

    def check_unused(self) -> None:
        """Raise DynamoDB's error for names or values that no expression of the request used."""
        unused = [key for key in self._names if key not in self._used_names]
        if unused:
            raise errors.attribute_names_unused(unused)
        unused = [key for key in self._values if key not in self._used_values]
        if unused:
            raise errors.attribute_values_unused(unused)

    def _absorb(self, resolution: resolve.Resolution) -> Any:
        self._used_names |= resolution.names
        self._used_values |= resolution.values
        return resolution.node


def _checked_names(names: Mapping[str, str] | None) -> dict[str, str]:
    if names is None:
        return {}
    if not names:
        raise errors.attribute_names_empty()
    for key in names:
        if not _NAME_KEY.fullmatch(key):
            raise errors.attribute_names_invalid_key(key)
    return dict(names)


def _checked_values(given: Mapping[str, Any] | None) -> dict[str, Any]:
    if given is None:
        return {}
    if not given:
        raise errors.attribute_values_empty()
    for key in given:
        if not _VALUE_KEY.fullmatch(key):
            raise errors.attribute_values_invalid_key(key)
    checked = {}
    for key, value in given.items():
        try:
            checked[key] = values.validate_value(value)
        except DynamoError as error:
            if error.error_type != "ValidationException":
                raise
            raise errors.attribute_values_invalid_value(error.message, key) from None
    return checked
