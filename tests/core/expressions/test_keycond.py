"""KeyConditionExpression: the shape rules, the key schema rules and the value types."""

import pytest

from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ExpressionContext, ast

VALUES = {":h": {"S": "h"}, ":a": {"N": "1"}, ":b": {"N": "2"}, ":s": {"S": "x"}, ":m": {"M": {}},
          ":e": {"S": ""}, ":bin": {"B": "YQ=="}}


def key(text, hash_key="pk", range_key="sk", names=None, **kwargs):
    return ExpressionContext(names, dict(VALUES)).key_condition(text, hash_key, range_key, **kwargs)


def fails(text, hash_key="pk", range_key="sk", **kwargs):
    with pytest.raises(DynamoError) as info:
        key(text, hash_key, range_key, **kwargs)
    assert info.value.error_type == "ValidationException"
    return info.value.message


def test_hash_key_only():
    assert key("pk = :h") == ast.KeyCondition("pk", {"S": "h"})
    assert key("pk = :h", range_key=None) == ast.KeyCondition("pk", {"S": "h"})


@pytest.mark.parametrize("op", ["=", "<", "<=", ">", ">="])
def test_range_comparisons(op):
    assert key(f"pk = :h AND sk {op} :a") == ast.KeyCondition(
        "pk", {"S": "h"}, ast.RangeKeyCondition("sk", op, ({"N": "1"},)))


@pytest.mark.parametrize("written, meant", [("<", ">"), ("<=", ">="), (">", "<"), (">=", "<="), ("=", "=")])
def test_value_before_the_key_flips_the_operator(written, meant):
    assert key(f":a {written} sk AND :h = pk").range == ast.RangeKeyCondition("sk", meant, ({"N": "1"},))


def test_between_and_begins_with():
    assert key("sk BETWEEN :a AND :b AND pk = :h").range == ast.RangeKeyCondition(
        "sk", "BETWEEN", ({"N": "1"}, {"N": "2"}))
    assert key("pk = :h and begins_with(sk, :s)").range == ast.RangeKeyCondition("sk", "begins_with", ({"S": "x"},))


def test_names_through_placeholders_and_parentheses():
    result = key("(#p = :h) AND (#s > :a)", names={"#p": "pk", "#s": "sk"})
    assert result == ast.KeyCondition("pk", {"S": "h"}, ast.RangeKeyCondition("sk", ">", ({"N": "1"},)))


@pytest.mark.parametrize("text, operator", [
    ("pk = :h OR sk = :a", "OR"),
    ("NOT pk = :h", "NOT"),
    ("pk IN (:h, :s)", "IN"),
    ("pk <> :h", "<>"),
    ("attribute_exists(pk)", "attribute_exists"),
    ("attribute_not_exists(pk)", "attribute_not_exists"),
    ("attribute_type(pk, :s)", "attribute_type"),
    ("contains(pk, :s)", "contains"),
    ("pk = :h AND (sk > :a OR sk < :b)", "OR"),
])
def test_invalid_operators(text, operator):
    values = dict(VALUES, **{":s": {"S": "S"}})
    with pytest.raises(DynamoError) as info:
        ExpressionContext(None, values).key_condition(text, "pk", "sk")
    assert info.value.message == f"Invalid operator used in KeyConditionExpression: {operator}"


@pytest.mark.parametrize("text", ["size(sk) > :a AND pk = :h", "pk > size(sk)", "pk BETWEEN size(a) AND :b",
                                  "pk = size(:s)"])
def test_nested_operations(text):
    assert fails(text) == "KeyConditionExpressions cannot contain nested operations"


@pytest.mark.parametrize("text", ["pk.d = :h", "pk[0] = :h", "pk = :h AND sk.x > :a"])
def test_nested_attributes(text):
    assert fails(text) == "KeyConditionExpressions cannot have conditions on nested attributes"


@pytest.mark.parametrize("text, operator", [
    (":a BETWEEN sk AND :b AND pk = :h", "BETWEEN"),
    ("begins_with(:s, sk) AND pk = :h", "begins_with"),
])
def test_key_attribute_must_come_first(text, operator):
    assert fails(text) == (f"Invalid condition in KeyConditionExpression: {operator} operator must have the key "
                           "attribute as its first operand")


@pytest.mark.parametrize("text", ["pk = sk", "pk BETWEEN sk AND :b", "begins_with(sk, pk)", "pk = a.b"])
def test_one_attribute_per_condition(text):
    assert fails(text) == "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"


def test_a_condition_needs_a_key_attribute():
    assert fails(":a > :b AND pk = :h") == "Invalid condition in KeyConditionExpression: No key attribute specified"


def test_one_condition_per_key():
    assert fails("sk > :a AND sk < :b AND pk = :h") == "KeyConditionExpressions must only contain one condition per key"
    assert fails("(pk = :h and sk > :a) and (sk < :a and x > :a)") == (
        "KeyConditionExpressions must only contain one condition per key")


def test_missing_key_schema_elements():
    assert fails("sk = :a") == "Query condition missed key schema element: pk"
    assert fails("x1 = :h AND sk = :a") == "Query condition missed key schema element: pk"
    assert fails("pk = :h AND x1 = :a") == "Query condition missed key schema element: sk"


def test_unsupported_key_conditions():
    assert fails("pk < :h") == "Query key condition not supported"
    assert fails("begins_with(pk, :s)") == "Query key condition not supported"
    assert fails("pk = :h AND x1 = :a", range_key=None) == "Query key condition not supported"
    assert fails("pk = :h AND sk = :a AND x1 = :b") == "Query key condition not supported"


def test_value_types():
    message = "One or more parameter values were invalid: Condition parameter type does not match schema type"
    assert fails("pk = :m") == message
    assert fails("pk = :h AND sk = :m") == message
    assert fails("pk = :a", key_types={"pk": "S"}) == message
    assert fails("pk = :h AND sk BETWEEN :a AND :b", key_types={"pk": "S", "sk": "S"}) == message
    assert key("pk = :h AND sk > :bin", key_types={"pk": "S", "sk": "B"}).range.values == ({"B": "YQ=="},)


def test_begins_with_on_a_number_is_refused_by_resolution():
    assert fails("pk = :h AND begins_with(sk, :a)") == (
        "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: "
        "begins_with, operand type: N")


def test_general_condition_checks_apply_first():
    assert fails("pk = :h AND sk BETWEEN :b AND :a") == (
        "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to "
        "lower bound; lower bound operand: AttributeValue: {N:2}, upper bound operand: AttributeValue: {N:1}")
    assert fails("pk = :h AND sk BETWEEN :s AND :a") == (
        "Invalid KeyConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; "
        "lower bound operand: AttributeValue: {S:x}, upper bound operand: AttributeValue: {N:1}")
    assert fails("date = :h") == "Invalid KeyConditionExpression: Attribute name is a reserved keyword; reserved keyword: date"
    assert fails("pk = :nope") == ("Invalid KeyConditionExpression: An expression attribute value used in "
                                   "expression is not defined; attribute value: :nope")
    assert fails("") == "Invalid KeyConditionExpression: The expression can not be empty;"


def test_empty_partition_key_value():
    assert fails("pk = :e") == ("One or more parameter values are not valid. The AttributeValue for a key attribute "
                                "cannot contain an empty string value. Key: pk")


def test_key_condition_marks_placeholders_used():
    ctx = ExpressionContext({"#p": "pk"}, {":h": {"S": "h"}})
    ctx.key_condition("#p = :h", "pk", None)
    ctx.check_unused()
