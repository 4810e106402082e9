"""Translate DynamoDB's legacy request parameters onto the expression AST.

``Expected``, ``QueryFilter``/``ScanFilter``, ``KeyConditions``, ``AttributeUpdates`` and
``AttributesToGet`` predate expressions.  Each is validated here with DynamoDB's own messages and
turned into the same AST nodes the expression parser produces, so one evaluator serves both.
Where legacy semantics differ, the translation spells the difference out:

* ``NOT_CONTAINS`` is false on a missing attribute (the expression ``NOT contains(a, :v)`` is
  true), so it becomes ``attribute_exists(a) AND NOT contains(a, :v)``;
* ``NE`` is true on a missing attribute, exactly like ``a <> :v``;
* ``AttributeUpdates`` becomes an ``Update`` with ``legacy=True``: ADD also appends to lists, and
  type clashes are reported as "Type mismatch for attribute to update".

Legacy attribute names are top-level names taken literally (a dot is part of the name).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from .. import errors, values
from ..values import AttributeValue
from . import ast

COMPARISON_OPERATORS = (
    "IN", "NULL", "BETWEEN", "LT", "NOT_CONTAINS", "EQ", "GT", "NOT_NULL", "NE", "LE",
    "BEGINS_WITH", "GE", "CONTAINS",
)
_SCALARS = frozenset({"S", "N", "B"})
_ALLOWED_TYPES: dict[str, frozenset[str]] = {
    "EQ": values.TYPES, "NE": values.TYPES,
    "LE": _SCALARS, "LT": _SCALARS, "GE": _SCALARS, "GT": _SCALARS, "BETWEEN": _SCALARS,
    "IN": _SCALARS, "CONTAINS": _SCALARS, "NOT_CONTAINS": _SCALARS,
    "BEGINS_WITH": frozenset({"S", "B"}),
}
_COMPARATORS = {"EQ": "=", "NE": "<>", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">"}
_RANGE_OPERATORS = {"EQ": "=", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">",
                    "BEGINS_WITH": "begins_with", "BETWEEN": "BETWEEN"}
_INDEXABLE = frozenset(_RANGE_OPERATORS)

# Parameter order within the mixing error (DynamoDB's, per operation; one order fits them all).
_NON_EXPRESSION_PARAMETERS = (
    "AttributesToGet", "AttributeUpdates", "ScanFilter", "QueryFilter", "Expected",
    "ConditionalOperator", "KeyConditions",
)
_EXPRESSION_PARAMETERS = (
    "ProjectionExpression", "UpdateExpression", "FilterExpression", "ConditionExpression",
    "KeyConditionExpression",
)


# --- conditions ------------------------------------------------------------------------------


def expected_to_condition(expected: dict | None, conditional_operator: str | None) -> ast.Condition | None:
    """``Expected`` (+ ``ConditionalOperator``) as one condition; None when there is none."""
    _check_conditional_operator(expected, conditional_operator)
    if not expected:
        return None
    conditions = [_expected_one(name, spec or {}) for name, spec in expected.items()]
    return _combine(conditions, conditional_operator)


def filter_to_condition(filters: dict | None, conditional_operator: str | None,
                        parameter: str = "ScanFilter") -> ast.Condition | None:
    """``QueryFilter``/``ScanFilter`` (+ ``ConditionalOperator``) as one condition, or None.
    ``parameter`` names the request field in shape errors."""
    _check_conditional_operator(filters, conditional_operator)
    if not filters:
        return None
    conditions = []
    for name, spec in filters.items():
        spec = spec or {}
        operator = _operator(spec.get("ComparisonOperator"), f"{_lower_first(parameter)}.{name}.member")
        arguments = _arguments(operator, spec.get("AttributeValueList") or [])
        conditions.append(_condition(ast.Path((name,)), operator, arguments))
    return _combine(conditions, conditional_operator)


def _expected_one(name: str, spec: dict) -> ast.Condition:
    value, value_list = spec.get("Value"), spec.get("AttributeValueList")
    operator, exists = spec.get("ComparisonOperator"), spec.get("Exists")
    path = ast.Path((name,))
    if value is not None and value_list is not None:
        raise errors.expected_conflict("Value", "AttributeValueList", name)
    if operator is not None:
        if exists is not None:
            raise errors.expected_conflict("Exists", "ComparisonOperator", name)
        operator = _operator(operator, f"expected.{name}.member")
        if operator not in ("NULL", "NOT_NULL") and value is None and value_list is None:
            raise errors.expected_missing_argument(operator, name)
        raw = value_list if value_list is not None else ([value] if value is not None else [])
        return _condition(path, operator, _arguments(operator, raw))
    if value_list is not None:
        raise errors.expected_list_without_operator(name)
    if exists is None or exists is True:
        if value is None:
            raise errors.expected_value_required("null" if exists is None else "true", name)
        return ast.Compare("=", path, ast.Literal(values.validate_value(value)))
    if value is not None:
        raise errors.expected_value_forbidden(name)
    return ast.AttributeNotExists(path)


def _condition(path: ast.Path, operator: str, arguments: tuple[AttributeValue, ...]) -> ast.Condition:
    literals = tuple(ast.Literal(v) for v in arguments)
    if operator in _COMPARATORS:
        return ast.Compare(_COMPARATORS[operator], path, literals[0])
    if operator == "NULL":
        return ast.AttributeNotExists(path)
    if operator == "NOT_NULL":
        return ast.AttributeExists(path)
    if operator == "CONTAINS":
        return ast.Contains(path, literals[0])
    if operator == "NOT_CONTAINS":
        return ast.And(ast.AttributeExists(path), ast.Not(ast.Contains(path, literals[0])))
    if operator == "BEGINS_WITH":
        return ast.BeginsWith(path, literals[0])
    if operator == "IN":
        return ast.In(path, literals)
    return ast.Between(path, literals[0], literals[1])  # BETWEEN


def _arguments(operator: str, raw: list) -> tuple[AttributeValue, ...]:
    """Validate an AttributeValueList for ``operator``: count, types, one type, BETWEEN order."""
    arguments = tuple(values.validate_value(v) for v in raw)
    count = len(arguments)
    expected = {"NULL": 0, "NOT_NULL": 0, "BETWEEN": 2}.get(operator, 1)
    if (count < 1) if operator == "IN" else (count != expected):
        raise errors.legacy_argument_count(operator)
    kinds = [values.type_of(v) for v in arguments]
    allowed = _ALLOWED_TYPES.get(operator, values.TYPES)
    for kind in kinds:
        if kind not in allowed:
            raise errors.legacy_operator_type(operator, kind)
    if len(set(kinds)) > 1:
        raise errors.legacy_mixed_types()
    if operator == "BETWEEN" and (values.compare_scalars(arguments[0], arguments[1]) or 0) > 0:
        raise errors.legacy_between_bounds()
    return arguments


def _operator(operator: Any, location: str) -> str:
    """The ComparisonOperator, checked as the request shape requires (present, in the enum)."""
    where = f"{location}.comparisonOperator"
    if operator is None:
        raise _shape_error(None, where, errors.MEMBER_NOT_NULL)
    if operator not in COMPARISON_OPERATORS:
        raise _shape_error(operator, where, errors.constraint_text("enum", ", ".join(COMPARISON_OPERATORS)))
    return operator


def _shape_error(value: Any, where: str, rule: str) -> errors.DynamoError:
    rendered = "null" if value is None else f"'{value}'"
    return errors.constraint_violations([errors.constraint_violation(rendered, where, rule)])


def _check_conditional_operator(conditions: dict | None, conditional_operator: str | None) -> None:
    if conditional_operator is None:
        return
    if conditional_operator not in ("AND", "OR"):
        rule = errors.constraint_text("enum", "OR, AND")
        raise _shape_error(conditional_operator, "conditionalOperator", rule)
    if not conditions:
        raise errors.conditional_operator_without_conditions()
    if len(conditions) < 2:
        raise errors.conditional_operator_single_condition()


def _combine(conditions: list[ast.Condition], conditional_operator: str | None) -> ast.Condition:
    node = ast.Or if conditional_operator == "OR" else ast.And
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = node(combined, condition)
    return combined


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# --- key conditions --------------------------------------------------------------------------


def key_conditions_to_key_condition(conditions: dict, hash_key: str, range_key: str | None, *,
                                    key_types: Mapping[str, str] | None = None) -> ast.KeyCondition:
    """``KeyConditions`` for a key schema (``range_key`` None: hash-only) as a KeyCondition.
    ``key_types`` (name -> S/N/B), when known, must match the values' types."""
    checked = {}
    for name, spec in conditions.items():
        spec = spec or {}
        operator = _operator(spec.get("ComparisonOperator"), f"keyConditions.{name}.member")
        checked[name] = (operator, _arguments(operator, spec.get("AttributeValueList") or []))
    if len(checked) not in (1, 2):
        raise errors.key_conditions_length()
    if hash_key not in checked:
        raise errors.key_condition_missed(hash_key)
    others = [name for name in checked if name != hash_key]
    if others and range_key is None:
        raise errors.key_condition_not_supported()
    if others and others[0] != range_key:
        raise errors.key_condition_missed(str(range_key))
    if any(operator not in _INDEXABLE for operator, _ in checked.values()):
        raise errors.key_condition_not_indexable()
    hash_operator, hash_values = checked[hash_key]
    if hash_operator != "EQ":
        raise errors.key_condition_not_supported()
    _check_key_types(checked, hash_key, key_types or {})
    range_condition = None
    if others:
        operator, arguments = checked[others[0]]
        range_condition = ast.RangeKeyCondition(others[0], _RANGE_OPERATORS[operator], arguments)
    return ast.KeyCondition(hash_key, hash_values[0], range_condition)


def _check_key_types(checked: dict, hash_key: str, key_types: Mapping[str, str]) -> None:
    for name, (_, arguments) in checked.items():
        for value in arguments:
            kind = values.type_of(value)
            if kind not in _SCALARS or key_types.get(name, kind) != kind:
                raise errors.key_condition_type()
    hash_value = checked[hash_key][1][0]
    if "S" in hash_value or "B" in hash_value:
        if not next(iter(hash_value.values())):
            raise errors.empty_key_value(hash_key, "string" if "S" in hash_value else "binary")


# --- updates and projections -----------------------------------------------------------------


def attribute_updates_to_update(attribute_updates: dict | None) -> ast.Update:
    """``AttributeUpdates`` as an Update (``legacy=True``); PUT is the default action."""
    sets, removes, adds, deletes = [], [], [], []
    for name, spec in (attribute_updates or {}).items():
        spec = spec or {}
        action = spec.get("Action") or "PUT"
        if action not in ("ADD", "PUT", "DELETE"):
            rule = errors.constraint_text("enum", "ADD, PUT, DELETE")
            raise _shape_error(action, f"attributeUpdates.{name}.member.action", rule)
        raw = spec.get("Value")
        value = values.validate_value(raw) if raw is not None else None
        path = ast.Path((name,))
        if value is None:
            if action != "DELETE":
                raise errors.attribute_update_without_value()
            removes.append(ast.RemoveAction(path))
            continue
        kind = values.type_of(value)
        if action == "PUT":
            sets.append(ast.SetAction(path, ast.Literal(value)))
        elif action == "DELETE":
            if kind not in values.SET_TYPES:
                raise errors.attribute_update_delete_type(kind)
            deletes.append(ast.DeleteAction(path, ast.Literal(value)))
        else:
            if kind != "N" and kind != "L" and kind not in values.SET_TYPES:
                raise errors.attribute_update_add_type(kind)
            adds.append(ast.AddAction(path, ast.Literal(value)))
    return ast.Update(tuple(sets), tuple(removes), tuple(adds), tuple(deletes), legacy=True)


def attributes_to_get_to_projection(names: Iterable[str]) -> ast.Projection:
    """``AttributesToGet`` as a Projection of top-level names (duplicates are an error)."""
    ordered: list[str] = []
    for name in names:
        if name in ordered:
            raise errors.duplicate_attribute_to_get(name)
        ordered.append(name)
    return ast.Projection(tuple(ast.Path((name,)) for name in ordered))


# --- mixing ----------------------------------------------------------------------------------


def check_no_mixing(request: dict) -> None:
    """Reject a request using both legacy and expression parameters, as DynamoDB does.

    ``KeyConditions`` only counts when ``KeyConditionExpression`` is present too (DynamoDB accepts
    ``KeyConditions`` together with FilterExpression or ProjectionExpression)."""
    expression = [p for p in _EXPRESSION_PARAMETERS if request.get(p) is not None]
    if not expression:
        return
    legacy = [
        p for p in _NON_EXPRESSION_PARAMETERS
        if request.get(p) is not None
        and (p != "KeyConditions" or request.get("KeyConditionExpression") is not None)
    ]
    if legacy:
        raise errors.mixed_expression_parameters(legacy, expression)
