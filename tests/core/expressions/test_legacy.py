"""Legacy parameters (Expected, filters, KeyConditions, AttributeUpdates, AttributesToGet)."""

from __future__ import annotations

import pytest

from dynamoray.core import values
from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ast
from dynamoray.core.expressions.evaluate import evaluate_condition
from dynamoray.core.expressions.legacy import (
    attribute_updates_to_update,
    attributes_to_get_to_projection,
    check_no_mixing,
    expected_to_condition,
    filter_to_condition,
    key_conditions_to_key_condition,
)
from dynamoray.core.expressions.update import apply_update

INVALID = "One or more parameter values were invalid: "


def P(*elements):
    return ast.Path(tuple(elements))


def cond(op, *args):
    spec = {"ComparisonOperator": op}
    if args:
        spec["AttributeValueList"] = [values.from_python(a) for a in args]
    return spec


def raises(message, fn, *args, **kwargs):
    with pytest.raises(DynamoError) as caught:
        fn(*args, **kwargs)
    assert caught.value.error_type == "ValidationException"
    assert caught.value.message == message


ITEM = values.item_from_python({
    "a": "hello", "b": {2, 4, 7}, "c": [2, 4, 7], "n": 3, "x": [1, {"k": "v"}], "t": {"q"},
})
ITEM["d"] = {"B": "aGkgdGhlcmU="}  # b"hi there"


def check(filters, item=ITEM, conditional_operator=None):
    return evaluate_condition(filter_to_condition(filters, conditional_operator), item)


# --- comparison operators ----------------------------------------------------------------------


@pytest.mark.parametrize("name, spec, expected", [
    ("n", cond("EQ", 3), True), ("n", cond("EQ", "3"), False), ("q", cond("EQ", 3), False),
    ("b", cond("EQ", {7, 4, 2}), True), ("c", cond("EQ", [2, 4, 7]), True),
    ("n", cond("NE", 4), True), ("n", cond("NE", 3), False), ("n", cond("NE", "3"), True),
    ("q", cond("NE", 1), True),  # NE on a missing attribute is true
    ("n", cond("LE", 3), True), ("n", cond("LT", 3), False), ("n", cond("GE", 4), False),
    ("n", cond("GT", 2), True), ("a", cond("LT", "world"), True), ("n", cond("LT", "9"), False),
    ("q", cond("LT", 9), False), ("c", cond("LT", 9), False),
    ("q", cond("NULL"), True), ("n", cond("NULL"), False),
    ("n", cond("NOT_NULL"), True), ("q", cond("NOT_NULL"), False),
    ("a", cond("CONTAINS", "ell"), True), ("b", cond("CONTAINS", 4), True),
    ("c", cond("CONTAINS", 4), True), ("c", cond("CONTAINS", 5), False), ("q", cond("CONTAINS", 1), False),
    ("a", cond("NOT_CONTAINS", "dog"), True), ("a", cond("NOT_CONTAINS", "ell"), False),
    ("b", cond("NOT_CONTAINS", 1), True), ("b", cond("NOT_CONTAINS", 4), False),
    ("c", cond("NOT_CONTAINS", 1), True), ("c", cond("NOT_CONTAINS", 4), False),
    ("q", cond("NOT_CONTAINS", 1), False),  # unlike NOT contains(), false on a missing attribute
    ("a", cond("BEGINS_WITH", "hell"), True), ("a", cond("BEGINS_WITH", "dog"), False),
    ("n", cond("BEGINS_WITH", "3"), False),
    ("n", cond("IN", 2, 3, 8), True), ("n", cond("IN", 1, 2), False), ("b", cond("IN", 2), False),
    ("q", cond("IN", 1), False),
    ("n", cond("BETWEEN", 1, 3), True), ("n", cond("BETWEEN", 3, 4), True),
    ("n", cond("BETWEEN", 4, 5), False), ("q", cond("BETWEEN", 0, 100), False),
    ("a", cond("BETWEEN", "aardvark", "zebra"), True),
])
def test_filter_operator_semantics(name, spec, expected):
    assert check({name: spec}) is expected


def test_binary_contains_and_begins_with():
    assert check({"d": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"B": "aGVyZQ=="}]}})
    assert check({"d": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"B": "aGk="}]}})
    assert check({"d": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [{"B": "ZG9n"}]}})


def test_attribute_names_are_literal_top_level_names():
    item = {"a.b": {"N": "1"}}
    assert check({"a.b": cond("EQ", 1)}, item)
    assert filter_to_condition({"a.b": cond("NULL")}, None) == ast.AttributeNotExists(P("a.b"))


def test_translations_build_the_expected_nodes():
    lit = ast.Literal({"N": "1"})
    assert filter_to_condition({"a": cond("NE", 1)}, None) == ast.Compare("<>", P("a"), lit)
    assert filter_to_condition({"a": cond("NOT_CONTAINS", 1)}, None) == ast.And(
        ast.AttributeExists(P("a")), ast.Not(ast.Contains(P("a"), lit)))
    assert filter_to_condition({"a": cond("IN", 1, 2)}, None) == ast.In(P("a"), (lit, ast.Literal({"N": "2"})))


def test_argument_values_are_validated_and_normalized():
    assert filter_to_condition({"a": cond("EQ", 1)}, None) == filter_to_condition(
        {"a": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "01.00"}]}}, None)
    with pytest.raises(DynamoError):
        filter_to_condition({"a": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "x"}]}}, None)


@pytest.mark.parametrize("op, args", [
    ("EQ", ()), ("EQ", (1, 2)), ("NE", ()), ("LE", (1, 2)), ("LT", ()), ("GE", ()), ("GT", (1, 2)),
    ("CONTAINS", ()), ("NOT_CONTAINS", ("a", "a")), ("BEGINS_WITH", ()), ("IN", ()),
    ("BETWEEN", ()), ("BETWEEN", (1,)), ("BETWEEN", (1, 2, 3)), ("NULL", ("a",)), ("NOT_NULL", (1,)),
])
def test_argument_counts(op, args):
    raises(INVALID + f"Invalid number of argument(s) for the {op} ComparisonOperator",
           filter_to_condition, {"a": cond(op, *args)}, None)


@pytest.mark.parametrize("op, arg, kind", [
    ("LE", {"a"}, "SS"), ("LT", {1}, "NS"), ("GE", [1], "L"), ("GT", {"x": 1}, "M"),
    ("CONTAINS", {"a"}, "SS"), ("NOT_CONTAINS", {1}, "NS"), ("BEGINS_WITH", 1, "N"),
    ("BEGINS_WITH", {"a"}, "SS"), ("IN", {"a"}, "SS"), ("LT", True, "BOOL"), ("IN", None, "NULL"),
])
def test_operand_types(op, arg, kind):
    raises(INVALID + f"ComparisonOperator {op} is not valid for {kind} AttributeValue type",
           filter_to_condition, {"a": cond(op, arg)}, None)


def test_between_type_error_beats_same_type_error():
    raises(INVALID + "ComparisonOperator BETWEEN is not valid for SS AttributeValue type",
           filter_to_condition, {"a": cond("BETWEEN", "a", {"a"})}, None)


def test_equality_accepts_every_type():
    for arg in ({"a"}, [1], {"x": 1}, True, None, b"b"):
        assert filter_to_condition({"a": cond("EQ", arg)}, None) is not None
        assert filter_to_condition({"a": cond("NE", arg)}, None) is not None


def test_mixed_types_and_between_order():
    raises(INVALID + "AttributeValues inside AttributeValueList must be of same type",
           filter_to_condition, {"a": cond("IN", 3, "dog")}, None)
    raises(INVALID + "AttributeValues inside AttributeValueList must be of same type",
           filter_to_condition, {"a": cond("BETWEEN", 4, "dog")}, None)
    raises("The BETWEEN condition was provided a range where the lower bound is greater than the upper bound",
           filter_to_condition, {"a": cond("BETWEEN", 4, 3)}, None)
    raises("The BETWEEN condition was provided a range where the lower bound is greater than the upper bound",
           filter_to_condition, {"a": cond("BETWEEN", "dog", "aardvark")}, None)


def test_missing_or_unknown_comparison_operator():
    raises("1 validation error detected: Value null at 'queryFilter.a.member.comparisonOperator' "
           "failed to satisfy constraint: Member must not be null",
           filter_to_condition, {"a": {}}, None, parameter="QueryFilter")
    raises("1 validation error detected: Value 'XX' at 'scanFilter.a.member.comparisonOperator' "
           "failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, "
           "NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]",
           filter_to_condition, {"a": {"ComparisonOperator": "XX"}}, None)


# --- ConditionalOperator -----------------------------------------------------------------------


def test_conditional_operator_combines_conditions():
    filters = {"n": cond("EQ", 3), "a": cond("EQ", "nope")}
    assert not check(filters)
    assert not check(filters, conditional_operator="AND")
    assert check(filters, conditional_operator="OR")
    assert not check({"n": cond("EQ", 4), "a": cond("EQ", "nope")}, conditional_operator="OR")
    assert isinstance(filter_to_condition(filters, "OR"), ast.Or)


def test_conditional_operator_needs_two_conditions():
    for fn in (filter_to_condition, expected_to_condition):
        raises("ConditionalOperator cannot be used without Filter or Expected", fn, None, "AND")
        raises("ConditionalOperator cannot be used without Filter or Expected", fn, {}, "OR")
        raises("ConditionalOperator can only be used when Filter or Expected has two or more elements",
               fn, {"a": cond("NULL")}, "AND")
    raises("1 validation error detected: Value 'XOR' at 'conditionalOperator' failed to satisfy "
           "constraint: Member must satisfy enum value set: [OR, AND]",
           filter_to_condition, {"a": cond("NULL"), "b": cond("NULL")}, "XOR")


def test_no_conditions_means_no_condition():
    assert filter_to_condition(None, None) is None
    assert filter_to_condition({}, None) is None
    assert expected_to_condition(None, None) is None
    assert expected_to_condition({}, None) is None


# --- Expected ----------------------------------------------------------------------------------


def expect(expected, item=ITEM, conditional_operator=None):
    return evaluate_condition(expected_to_condition(expected, conditional_operator), item)


def test_expected_value_and_exists_forms():
    assert expect({"n": {"Value": {"N": "3"}}})
    assert not expect({"n": {"Value": {"N": "4"}}})
    assert not expect({"q": {"Value": {"N": "3"}}})
    assert expect({"n": {"Exists": True, "Value": {"N": "3"}}})
    assert expect({"q": {"Exists": False}})
    assert not expect({"n": {"Exists": False}})
    assert expect({"q": {"Exists": False}}, None)


def test_expected_comparison_forms():
    assert expect({"n": cond("GT", 2)})
    assert expect({"n": {"ComparisonOperator": "EQ", "Value": {"N": "3"}}})  # Value as the argument
    assert expect({"q": cond("NULL")})
    assert not expect({"q": cond("NOT_CONTAINS", 1)})
    assert expect({"a": {"Exists": True, "Value": {"S": "hello"}}, "n": cond("EQ", 3), "zz": {"Exists": False}})
    assert expect({"a": {"Value": {"S": "x"}}, "n": cond("EQ", 9), "zz": {"Exists": False}},
                  conditional_operator="OR")
    assert not expect({"a": {"Value": {"S": "x"}}, "n": cond("EQ", 9)}, conditional_operator="OR")


@pytest.mark.parametrize("spec, message", [
    ({"Exists": True}, "Value must be provided when Exists is true for Attribute: a"),
    ({}, "Value must be provided when Exists is null for Attribute: a"),
    ({"Exists": False, "Value": {"N": "1"}}, "Value cannot be used when Exists is false for Attribute: a"),
    ({"Value": {"N": "1"}, "AttributeValueList": [{"N": "1"}], "ComparisonOperator": "EQ"},
     "Value and AttributeValueList cannot be used together for Attribute: a"),
    ({"Exists": False, "ComparisonOperator": "EQ", "AttributeValueList": [{"N": "3"}]},
     "Exists and ComparisonOperator cannot be used together for Attribute: a"),
    ({"AttributeValueList": [{"N": "1"}]},
     "AttributeValueList can only be used with a ComparisonOperator for Attribute: a"),
    ({"ComparisonOperator": "EQ"},
     "Value or AttributeValueList must be used with ComparisonOperator: EQ for Attribute: a"),
    ({"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "1"}, {"N": "2"}]},
     "Invalid number of argument(s) for the EQ ComparisonOperator"),
    ({"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"N": "3"}]},
     "ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type"),
    ({"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"L": [{"N": "1"}]}]},
     "ComparisonOperator CONTAINS is not valid for L AttributeValue type"),
])
def test_expected_validation(spec, message):
    raises(INVALID + message, expected_to_condition, {"a": spec}, None)


def test_expected_between_order():
    raises("The BETWEEN condition was provided a range where the lower bound is greater than the upper bound",
           expected_to_condition, {"a": cond("BETWEEN", 4, 3)}, None)


# --- KeyConditions -----------------------------------------------------------------------------


def test_key_conditions_hash_only():
    kc = key_conditions_to_key_condition({"pk": cond("EQ", "p")}, "pk", "sk")
    assert kc == ast.KeyCondition("pk", {"S": "p"}, None)


@pytest.mark.parametrize("op, args, range_op", [
    ("EQ", (1,), "="), ("LE", (1,), "<="), ("LT", (1,), "<"), ("GE", (1,), ">="), ("GT", (1,), ">"),
    ("BEGINS_WITH", ("a",), "begins_with"), ("BETWEEN", (1, 2), "BETWEEN"),
])
def test_key_conditions_with_range(op, args, range_op):
    kc = key_conditions_to_key_condition({"sk": cond(op, *args), "pk": cond("EQ", "p")}, "pk", "sk")
    expected_values = tuple(values.from_python(a) for a in args)
    assert kc == ast.KeyCondition("pk", {"S": "p"}, ast.RangeKeyCondition("sk", range_op, expected_values))


@pytest.mark.parametrize("conditions, range_key, message", [
    ({}, "sk", "Conditions can be of length 1 or 2 only"),
    ({"a": cond("NULL"), "b": cond("NULL"), "c": cond("NULL")}, "b", "Conditions can be of length 1 or 2 only"),
    ({"c": cond("NULL")}, "sk", "Query condition missed key schema element: pk"),
    ({"pk": cond("EQ", "a"), "c": cond("NULL")}, "sk", "Query condition missed key schema element: sk"),
    ({"pk": cond("EQ", "a"), "b": cond("EQ", "b")}, None, "Query key condition not supported"),
    ({"pk": cond("NULL")}, None, "Attempted conditional constraint is not an indexable operation"),
    ({"pk": cond("NOT_NULL")}, None, "Attempted conditional constraint is not an indexable operation"),
    ({"pk": cond("CONTAINS", "a")}, None, "Attempted conditional constraint is not an indexable operation"),
    ({"pk": cond("IN", "a")}, None, "Attempted conditional constraint is not an indexable operation"),
    ({"pk": cond("NE", "a")}, None, "Attempted conditional constraint is not an indexable operation"),
    ({"pk": cond("CONTAINS", "a"), "sk": cond("NULL")}, "sk",
     "Attempted conditional constraint is not an indexable operation"),
    ({"pk": cond("EQ", "a"), "sk": cond("NOT_CONTAINS", "a")}, "sk",
     "Attempted conditional constraint is not an indexable operation"),
    ({"pk": cond("LE", "a")}, None, "Query key condition not supported"),
    ({"pk": cond("BETWEEN", "a", "b")}, "sk", "Query key condition not supported"),
    ({"pk": cond("BEGINS_WITH", "a")}, None, "Query key condition not supported"),
    ({"pk": cond("EQ", "a", "b")}, None, INVALID + "Invalid number of argument(s) for the EQ ComparisonOperator"),
    ({"pk": cond("EQ", "a"), "sk": cond("LE", {"a"})}, "sk",
     INVALID + "ComparisonOperator LE is not valid for SS AttributeValue type"),
])
def test_key_conditions_validation(conditions, range_key, message):
    raises(message, key_conditions_to_key_condition, conditions, "pk", range_key)


# --- AttributeUpdates --------------------------------------------------------------------------


def updates(attribute_updates, item):
    return values.item_to_python(apply_update(attribute_updates_to_update(attribute_updates),
                                              values.item_from_python(item)))


def test_attribute_updates_translation():
    update = attribute_updates_to_update({
        "a": {"Value": {"N": "1"}},
        "b": {"Action": "PUT", "Value": {"S": "x"}},
        "c": {"Action": "DELETE"},
        "d": {"Action": "DELETE", "Value": {"SS": ["x"]}},
        "e": {"Action": "ADD", "Value": {"N": "2"}},
    })
    assert update.legacy
    assert update.sets == (ast.SetAction(P("a"), ast.Literal({"N": "1"})),
                           ast.SetAction(P("b"), ast.Literal({"S": "x"})))
    assert update.removes == (ast.RemoveAction(P("c")),)
    assert update.deletes == (ast.DeleteAction(P("d"), ast.Literal({"SS": ["x"]})),)
    assert update.adds == (ast.AddAction(P("e"), ast.Literal({"N": "2"})),)
    assert attribute_updates_to_update({}) == ast.Update(legacy=True)


def test_attribute_updates_semantics():
    item = {"p": "k", "n": 1, "s": {"a", "b"}, "l": [1], "gone": "x"}
    got = updates({
        "n": {"Action": "ADD", "Value": {"N": "2"}},
        "s": {"Action": "DELETE", "Value": {"SS": ["a"]}},
        "l": {"Action": "ADD", "Value": {"L": [{"N": "2"}]}},
        "gone": {"Action": "DELETE"},
        "new": {"Action": "ADD", "Value": {"NS": ["5"]}},
        "put": {"Value": {"M": {"x": {"BOOL": True}}}},
    }, item)
    assert got == {"p": "k", "n": 3, "s": {"b"}, "l": [1, 2], "new": {5}, "put": {"x": True}}


def test_attribute_updates_type_mismatch():
    with pytest.raises(DynamoError) as caught:
        updates({"b": {"Action": "DELETE", "Value": {"NS": ["1"]}}}, {"b": {"1"}})
    assert caught.value.message == "Type mismatch for attribute to update"


@pytest.mark.parametrize("spec, message", [
    ({"Action": "PUT"}, INVALID + "Only DELETE action is allowed when no attribute value is specified"),
    ({"Action": "ADD"}, INVALID + "Only DELETE action is allowed when no attribute value is specified"),
    ({}, INVALID + "Only DELETE action is allowed when no attribute value is specified"),
    ({"Action": "DELETE", "Value": {"N": "1"}}, INVALID + "DELETE action with value is not supported for the type N"),
    ({"Action": "DELETE", "Value": {"L": []}}, INVALID + "DELETE action with value is not supported for the type L"),
    ({"Action": "ADD", "Value": {"S": "x"}}, INVALID + "ADD action is not supported for the type S"),
    ({"Action": "ADD", "Value": {"M": {}}}, INVALID + "ADD action is not supported for the type M"),
    ({"Action": "ADD", "Value": {"BOOL": True}}, INVALID + "ADD action is not supported for the type BOOL"),
    ({"Action": "REPLACE", "Value": {"N": "1"}},
     "1 validation error detected: Value 'REPLACE' at 'attributeUpdates.a.member.action' failed to "
     "satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"),
])
def test_attribute_updates_validation(spec, message):
    raises(message, attribute_updates_to_update, {"a": spec})


# --- AttributesToGet ---------------------------------------------------------------------------


def test_attributes_to_get():
    assert attributes_to_get_to_projection(["a", "b.c"]) == ast.Projection((P("a"), P("b.c")))
    raises(INVALID + "Duplicate value in attribute name: a", attributes_to_get_to_projection, ["a", "b", "a"])


# --- mixing legacy and expression parameters ---------------------------------------------------

MIX = "Can not use both expression and non-expression parameters in the same request: "


@pytest.mark.parametrize("request_, legacy, expression", [
    ({"ConditionalOperator": "AND", "FilterExpression": "a = :v"}, "ConditionalOperator", "FilterExpression"),
    ({"AttributesToGet": ["a"], "ScanFilter": {}, "ConditionalOperator": "AND",
      "FilterExpression": "f", "ProjectionExpression": "b"},
     "AttributesToGet, ScanFilter, ConditionalOperator", "ProjectionExpression, FilterExpression"),
    ({"KeyConditions": {}, "QueryFilter": {}, "ConditionalOperator": "AND", "KeyConditionExpression": "k",
      "FilterExpression": "f", "ProjectionExpression": "b"},
     "QueryFilter, ConditionalOperator, KeyConditions",
     "ProjectionExpression, FilterExpression, KeyConditionExpression"),
    ({"AttributeUpdates": {}, "Expected": {}, "ConditionalOperator": "AND",
      "UpdateExpression": "SET a = :v", "ConditionExpression": "c"},
     "AttributeUpdates, Expected, ConditionalOperator", "UpdateExpression, ConditionExpression"),
    ({"Expected": {}, "ConditionalOperator": "AND", "ConditionExpression": "c"},
     "Expected, ConditionalOperator", "ConditionExpression"),
    ({"AttributesToGet": ["a"], "ProjectionExpression": "a"}, "AttributesToGet", "ProjectionExpression"),
    ({"AttributesToGet": ["a"], "KeyConditionExpression": "k"}, "AttributesToGet", "KeyConditionExpression"),
    ({"Expected": {}, "UpdateExpression": "SET c = :v"}, "Expected", "UpdateExpression"),
])
def test_mixing_is_rejected(request_, legacy, expression):
    raises(f"{MIX}Non-expression parameters: {{{legacy}}} Expression parameters: {{{expression}}}",
           check_no_mixing, request_)


@pytest.mark.parametrize("request_", [
    {"KeyConditions": {}, "FilterExpression": "f"},
    {"KeyConditions": {}, "ProjectionExpression": "a"},
    {"KeyConditions": {}, "AttributesToGet": ["a"], "QueryFilter": {}},
    {"FilterExpression": "f", "ProjectionExpression": "a", "ExpressionAttributeValues": {}},
    {"TableName": "t"},
    {"Expected": None, "ConditionExpression": "c"},
])
def test_allowed_combinations(request_):
    check_no_mixing(request_)


def test_key_condition_value_types():
    mismatch = INVALID + "Condition parameter type does not match schema type"
    raises(mismatch, key_conditions_to_key_condition, {"pk": cond("EQ", {"a"})}, "pk", None)
    raises(mismatch, key_conditions_to_key_condition, {"pk": cond("EQ", 1)}, "pk", None, key_types={"pk": "S"})
    raises(mismatch, key_conditions_to_key_condition, {"pk": cond("EQ", "p"), "sk": cond("GT", "1")},
           "pk", "sk", key_types={"pk": "S", "sk": "N"})
    raises("One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
           "contain an empty string value. Key: pk",
           key_conditions_to_key_condition, {"pk": cond("EQ", "")}, "pk", None)
    kc = key_conditions_to_key_condition({"pk": cond("EQ", 1)}, "pk", None, key_types={"pk": "N"})
    assert kc.hash_value == {"N": "1"}
