"""Evaluate resolved condition ASTs (ConditionExpression, FilterExpression, legacy conditions).

Pure functions over an item in wire form; nothing here mutates its inputs.  The AST must be
resolved (no placeholders).  DynamoDB's rules, which these functions follow:

* a missing attribute never compares: ``=``, ``<``, ``<=``, ``>``, ``>=``, BETWEEN, IN,
  ``begins_with`` and ``contains`` are false when an operand is missing, while ``<>`` is true;
* values of different types are never equal (so ``<>`` is true) and never ordered;
* ``<``, ``<=``, ``>``, ``>=`` and BETWEEN order only numbers (numerically), strings (by UTF-8
  bytes) and binaries (by unsigned bytes);
* ``=`` / ``<>`` work on every type: sets compare as sets, lists and maps deeply;
* ``size()`` counts the UTF-16 code units of a string, the bytes of a binary and the members of a
  set, list or map; on any other type (or a missing attribute) the comparison is false.

Type errors in *constant* operands (``a < :list``) are request validation, done when the
expression is resolved; here a wrongly typed value simply makes the comparison false.
"""

from __future__ import annotations

from typing import Callable

from .. import values
from ..values import AttributeValue, Item
from . import ast

_ORDERINGS: dict[str, Callable[[int], bool]] = {
    "<": lambda order: order < 0,
    "<=": lambda order: order <= 0,
    ">": lambda order: order > 0,
    ">=": lambda order: order >= 0,
}


# --- paths and operands ----------------------------------------------------------------------


def get_path(item: Item | None, path: ast.Path) -> AttributeValue | None:
    """The value at ``path`` in ``item``, or None when any step is missing or of the wrong type."""
    if not item:
        return None
    first, *rest = path.elements
    value = item.get(first)  # type: ignore[arg-type]
    for element in rest:
        if value is None:
            return None
        value = _step(value, element)
    return value


def _step(value: AttributeValue, element: str | int) -> AttributeValue | None:
    if isinstance(element, int):
        elements = value.get("L")
        if elements is None or not 0 <= element < len(elements):
            return None
        return elements[element]
    members = value.get("M")
    return None if members is None else members.get(element)


def size_of(value: AttributeValue | None) -> int | None:
    """``size()`` of a value, or None where DynamoDB defines no size (numbers, booleans, ...)."""
    if value is None:
        return None
    (kind, raw), = value.items()
    if kind == "S":
        return len(raw.encode("utf-16-le")) // 2  # UTF-16 code units, as DynamoDB counts
    if kind == "B":
        return values.binary_length(raw)
    if kind in values.SET_TYPES or kind in ("L", "M"):
        return len(raw)
    return None


def operand_value(operand: ast.Operand, item: Item | None) -> AttributeValue | None:
    """The value of a condition operand (a path, a literal or ``size(path)``); None if missing."""
    if isinstance(operand, ast.Literal):
        return operand.value
    if isinstance(operand, ast.Path):
        return get_path(item, operand)
    if isinstance(operand, ast.Size):
        size = size_of(get_path(item, operand.path))
        return None if size is None else {"N": str(size)}
    raise TypeError(f"operand not allowed in a condition (or unresolved): {operand!r}")


# --- the primitive checks, shared with keymatch.py -------------------------------------------


def begins_with(value: AttributeValue | None, prefix: AttributeValue | None) -> bool:
    """``begins_with`` on two strings or two binaries; anything else is false."""
    if value is None or prefix is None:
        return False
    if "S" in value and "S" in prefix:
        return value["S"].startswith(prefix["S"])
    if "B" in value and "B" in prefix:
        return values.decode_binary(value["B"]).startswith(values.decode_binary(prefix["B"]))
    return False


def contains(container: AttributeValue | None, member: AttributeValue | None) -> bool:
    """``contains``: substring of a string or binary, member of a set, element of a list."""
    if container is None or member is None:
        return False
    (kind, raw), = container.items()
    if kind == "S":
        return "S" in member and member["S"] in raw
    if kind == "B":
        return "B" in member and values.decode_binary(member["B"]) in values.decode_binary(raw)
    if kind in values.SET_TYPES:
        element = values.SET_ELEMENT[kind]
        return element in member and member[element] in raw
    if kind == "L":
        return any(values.values_equal(element, member) for element in raw)
    return False


def compare(op: str, left: AttributeValue | None, right: AttributeValue | None) -> bool:
    """One comparator (``=``, ``<>``, ``<``, ``<=``, ``>``, ``>=``) with DynamoDB's rules."""
    if op == "<>":
        return left is None or right is None or not values.values_equal(left, right)
    if left is None or right is None:
        return False
    if op == "=":
        return values.values_equal(left, right)
    order = values.compare_scalars(left, right)
    return order is not None and _ORDERINGS[op](order)


def between(value: AttributeValue | None, low: AttributeValue | None,
            high: AttributeValue | None) -> bool:
    """``low <= value <= high``, all three of one scalar type."""
    if value is None or low is None or high is None:
        return False
    above = values.compare_scalars(value, low)
    below = values.compare_scalars(value, high)
    return above is not None and below is not None and above >= 0 and below <= 0


# --- conditions ------------------------------------------------------------------------------


def evaluate_condition(cond: ast.Condition, item: Item | None) -> bool:
    """Whether ``cond`` holds for ``item`` (None: the item does not exist)."""
    handler = _HANDLERS.get(type(cond))
    if handler is None:
        raise TypeError(f"not a condition: {cond!r}")
    return handler(cond, item)


def _compare(cond: ast.Compare, item: Item | None) -> bool:
    return compare(cond.op, operand_value(cond.left, item), operand_value(cond.right, item))


def _between(cond: ast.Between, item: Item | None) -> bool:
    return between(operand_value(cond.operand, item), operand_value(cond.low, item),
                   operand_value(cond.high, item))


def _in(cond: ast.In, item: Item | None) -> bool:
    value = operand_value(cond.operand, item)
    if value is None:
        return False
    return any(compare("=", value, operand_value(option, item)) for option in cond.options)


def _attribute_type(cond: ast.AttributeType, item: Item | None) -> bool:
    value = get_path(item, cond.path)
    wanted = operand_value(cond.type, item)
    if value is None or wanted is None or "S" not in wanted:
        return False
    return values.type_of(value) == wanted["S"]


_HANDLERS: dict[type, Callable[[ast.Condition, Item | None], bool]] = {
    ast.Compare: _compare,
    ast.Between: _between,
    ast.In: _in,
    ast.And: lambda c, item: evaluate_condition(c.left, item) and evaluate_condition(c.right, item),
    ast.Or: lambda c, item: evaluate_condition(c.left, item) or evaluate_condition(c.right, item),
    ast.Not: lambda c, item: not evaluate_condition(c.operand, item),
    ast.AttributeExists: lambda c, item: get_path(item, c.path) is not None,
    ast.AttributeNotExists: lambda c, item: get_path(item, c.path) is None,
    ast.AttributeType: _attribute_type,
    ast.BeginsWith: lambda c, item: begins_with(operand_value(c.operand, item),
                                                operand_value(c.prefix, item)),
    ast.Contains: lambda c, item: contains(operand_value(c.operand, item),
                                           operand_value(c.value, item)),
}
