"""KeyConditionExpression rules: a resolved condition becomes an ``ast.KeyCondition``.

A key condition is one comparison, or two joined by AND, each naming one top-level key attribute
once: ``=`` on the partition key, and on the sort key one of ``= < <= > >=``, ``BETWEEN`` or
``begins_with``.  The attribute may stand on either side of a comparison (``:v < sk`` is
``sk > :v``).  The checks run in DynamoDB's order: first the shape of the expression (operators,
nested operations, one attribute per condition, one condition per key), then the key schema
(the partition key must be there, a second condition must be on the sort key), then the values'
types.
"""

from __future__ import annotations

from typing import Any, Mapping

from .. import errors, values
from . import ast

_FLIPPED = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_NOT_KEY_OPERATORS = {ast.Or: "OR", ast.Not: "NOT", ast.In: "IN", ast.AttributeExists: "attribute_exists",
                      ast.AttributeNotExists: "attribute_not_exists", ast.AttributeType: "attribute_type",
                      ast.Contains: "contains"}
_KEY_TYPES = frozenset({"S", "N", "B"})


def key_condition(cond: Any, hash_key: str, range_key: str | None,
                  key_types: Mapping[str, str] | None = None) -> ast.KeyCondition:
    """Validate a resolved key condition against the key schema (``range_key`` None: hash only).

    ``key_types`` (attribute name -> ``S``/``N``/``B``), when given, is checked against the
    values; without it, values must at least be of a key type (a string, number or binary)."""
    conditions: dict[str, tuple[str, tuple]] = {}
    _collect(cond, conditions)
    for name in (hash_key, range_key):
        if name is None:
            break
        if name not in conditions:
            raise errors.key_condition_missed(name)
        if len(conditions) <= 1:
            break
    hash_op, hash_values = conditions[hash_key]
    if hash_op != "=" or len(conditions) > (1 if range_key is None else 2):
        raise errors.key_condition_not_supported()
    for name, (_, operands) in conditions.items():
        for value in operands:
            _check_type(name, value, key_types)
    hash_value = hash_values[0]
    if values.type_of(hash_value) in ("S", "B") and not next(iter(hash_value.values())):
        raise errors.empty_key_value(hash_key, "string" if "S" in hash_value else "binary")
    ranged = None
    if range_key is not None and range_key in conditions:
        op, operands = conditions[range_key]
        ranged = ast.RangeKeyCondition(range_key, op, operands)
    return ast.KeyCondition(hash_key, hash_value, ranged)


def _check_type(name: str, value: Any, key_types: Mapping[str, str] | None) -> None:
    kind = values.type_of(value)
    expected = (key_types or {}).get(name)
    if kind not in _KEY_TYPES or (expected is not None and kind != expected):
        raise errors.key_condition_type()


def _collect(cond: Any, out: dict[str, tuple[str, tuple]]) -> None:
    """Check one node of the condition and record ``attribute -> (operator, values)``."""
    if isinstance(cond, ast.And):
        _collect(cond.left, out)
        _collect(cond.right, out)
        return
    operator = _NOT_KEY_OPERATORS.get(type(cond))
    if operator is None and isinstance(cond, ast.Compare) and cond.op == "<>":
        operator = "<>"
    if operator is not None:
        raise errors.key_invalid_operator(operator)
    if isinstance(cond, ast.Between):
        op, operands = "BETWEEN", (cond.operand, cond.low, cond.high)
    elif isinstance(cond, ast.BeginsWith):
        op, operands = "begins_with", (cond.operand, cond.prefix)
    else:
        op, operands = cond.op, (cond.left, cond.right)
    if op in ("BETWEEN", "begins_with") and not isinstance(operands[0], ast.Path):
        raise errors.key_invalid_condition(f"{op} operator must have the key attribute as its first operand")
    name, position = _key_attribute(operands)
    if name in out:
        raise errors.key_condition_repeated()
    constants = tuple(o.value for i, o in enumerate(operands) if i != position)
    out[name] = (_FLIPPED[op] if position else op, constants)


def _key_attribute(operands: tuple) -> tuple[str, int]:
    """The one top-level attribute a condition is on, and where it stands among the operands."""
    found: tuple[str, int] | None = None
    for position, operand in enumerate(operands):
        if isinstance(operand, ast.Size):
            raise errors.key_nested_operations()
        if isinstance(operand, ast.Path):
            if found is not None:
                raise errors.key_invalid_condition("Multiple attribute names used in one condition")
            if len(operand.elements) > 1:
                raise errors.key_nested_attributes()
            found = (operand.elements[0], position)
    if found is None:
        raise errors.key_invalid_condition("No key attribute specified")
    return found
