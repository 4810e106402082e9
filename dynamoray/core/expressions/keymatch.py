"""Match items against a validated key condition (KeyConditionExpression or KeyConditions).

The key condition arrives validated (``ast.KeyCondition``: equality on the hash key, at most one
condition on the range key, values already of the key's type), so matching is a direct test.
"""

from __future__ import annotations

from .. import values
from ..values import AttributeValue, Item
from . import ast
from .evaluate import begins_with, between, compare


def range_matches(rc: ast.RangeKeyCondition, value: AttributeValue | None) -> bool:
    """Whether a sort-key value satisfies the range condition (a missing value never does)."""
    if value is None:
        return False
    if rc.op == "BETWEEN":
        low, high = rc.values
        return between(value, low, high)
    if rc.op == "begins_with":
        return begins_with(value, rc.values[0])
    if rc.op in ast.RANGE_OPERATORS:
        return compare(rc.op, value, rc.values[0])
    raise ValueError(f"unknown range key operator: {rc.op!r}")


def key_condition_matches(kc: ast.KeyCondition, item: Item) -> bool:
    """Whether the item's key attributes satisfy the whole key condition."""
    hash_value = item.get(kc.hash_name)
    if hash_value is None or not values.values_equal(hash_value, kc.hash_value):
        return False
    return kc.range is None or range_matches(kc.range, item.get(kc.range.name))
