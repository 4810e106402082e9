"""PutItem, GetItem, UpdateItem, DeleteItem through boto3's client API."""

import pytest
from botocore.exceptions import ClientError

from .conftest import unique


def _error(info) -> tuple[str, str]:
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def test_put_then_get_returns_normalized_item(ddb, table_s):
    p = unique()
    ddb.put_item(TableName=table_s, Item={
        "p": {"S": p}, "n": {"N": "01.50"}, "ns": {"NS": ["3", "1.0"]}, "m": {"M": {"x": {"L": [{"NULL": True}]}}},
        "b": {"B": b"\x00\xff"}, "t": {"BOOL": True}, "e": {"S": ""},
    })
    item = ddb.get_item(TableName=table_s, Key={"p": {"S": p}}, ConsistentRead=True)["Item"]
    assert item["n"] == {"N": "1.5"}
    assert sorted(item["ns"]["NS"]) == ["1", "3"]
    assert item["b"] == {"B": b"\x00\xff"}
    assert item["m"] == {"M": {"x": {"L": [{"NULL": True}]}}}
    assert item["e"] == {"S": ""}


def test_get_missing_item_has_no_item_key(ddb, table_s):
    assert "Item" not in ddb.get_item(TableName=table_s, Key={"p": {"S": unique()}})


def test_get_with_projection(ddb, table_s):
    p = unique()
    ddb.put_item(TableName=table_s, Item={"p": {"S": p}, "a": {"M": {"b": {"N": "1"}, "c": {"N": "2"}}}, "z": {"S": "z"}})
    item = ddb.get_item(TableName=table_s, Key={"p": {"S": p}}, ProjectionExpression="a.b, #z",
                        ExpressionAttributeNames={"#z": "z"})["Item"]
    assert item == {"a": {"M": {"b": {"N": "1"}}}, "z": {"S": "z"}}


def test_put_condition_attribute_not_exists(ddb, table_s):
    p = unique()
    ddb.put_item(TableName=table_s, Item={"p": {"S": p}, "v": {"N": "1"}}, ConditionExpression="attribute_not_exists(p)")
    with pytest.raises(ClientError) as info:
        ddb.put_item(TableName=table_s, Item={"p": {"S": p}, "v": {"N": "2"}},
                     ConditionExpression="attribute_not_exists(p)", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    code, message = _error(info)
    assert code == "ConditionalCheckFailedException"
    assert message == "The conditional request failed"
    assert info.value.response["Item"] == {"p": {"S": p}, "v": {"N": "1"}}
    assert ddb.get_item(TableName=table_s, Key={"p": {"S": p}})["Item"]["v"] == {"N": "1"}


def test_put_return_values_all_old(ddb, table_s):
    p = unique()
    assert "Attributes" not in ddb.put_item(TableName=table_s, Item={"p": {"S": p}, "v": {"N": "1"}}, ReturnValues="ALL_OLD")
    old = ddb.put_item(TableName=table_s, Item={"p": {"S": p}, "v": {"N": "2"}}, ReturnValues="ALL_OLD")["Attributes"]
    assert old == {"p": {"S": p}, "v": {"N": "1"}}


def test_put_invalid_return_values(ddb, table_s):
    with pytest.raises(ClientError) as info:
        ddb.put_item(TableName=table_s, Item={"p": {"S": unique()}}, ReturnValues="ALL_NEW")
    assert _error(info) == ("ValidationException", "Return values set to invalid value")


def test_put_missing_key_and_wrong_key_type(ddb, table_s):
    with pytest.raises(ClientError) as info:
        ddb.put_item(TableName=table_s, Item={"q": {"S": "x"}})
    assert _error(info) == ("ValidationException", "One or more parameter values were invalid: Missing the key p in the item")
    with pytest.raises(ClientError) as info:
        ddb.put_item(TableName=table_s, Item={"p": {"N": "1"}})
    assert _error(info) == ("ValidationException",
                            "One or more parameter values were invalid: Type mismatch for key p expected: S actual: N")


def test_oversize_item_is_rejected_and_not_stored(ddb, table_s):
    p = unique()
    with pytest.raises(ClientError) as info:
        ddb.put_item(TableName=table_s, Item={"p": {"S": p}, "big": {"S": "x" * (400 * 1024)}})
    assert _error(info) == ("ValidationException", "Item size has exceeded the maximum allowed size")
    assert "Item" not in ddb.get_item(TableName=table_s, Key={"p": {"S": p}})


def test_invalid_number_is_rejected(ddb, table_s):
    with pytest.raises(ClientError) as info:
        ddb.put_item(TableName=table_s, Item={"p": {"S": unique()}, "n": {"N": "12abc"}})
    code, message = _error(info)
    assert code == "ValidationException" and "cannot be converted to a numeric value" in message


def test_missing_table_is_resource_not_found(ddb):
    with pytest.raises(ClientError) as info:
        ddb.put_item(TableName=unique("missing"), Item={"p": {"S": "x"}})
    assert _error(info)[0] == "ResourceNotFoundException"


def test_update_expression_all_clauses(ddb, table_s):
    p = unique()
    ddb.put_item(TableName=table_s, Item={"p": {"S": p}, "n": {"N": "5"}, "l": {"L": [{"S": "a"}]},
                                          "s": {"SS": ["x", "y"]}, "gone": {"S": "bye"}})
    new = ddb.update_item(
        TableName=table_s, Key={"p": {"S": p}},
        UpdateExpression="SET n = n + :one, l = list_append(l, :more), fresh = if_not_exists(fresh, :zero) "
                         "REMOVE gone ADD cnt :one DELETE s :x",
        ExpressionAttributeValues={":one": {"N": "1"}, ":more": {"L": [{"S": "b"}]}, ":zero": {"N": "0"}, ":x": {"SS": ["x"]}},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    assert new == {"p": {"S": p}, "n": {"N": "6"}, "l": {"L": [{"S": "a"}, {"S": "b"}]}, "fresh": {"N": "0"},
                   "cnt": {"N": "1"}, "s": {"SS": ["y"]}}


def test_update_creates_missing_item_and_updated_new(ddb, table_s):
    p = unique()
    out = ddb.update_item(TableName=table_s, Key={"p": {"S": p}}, UpdateExpression="SET a = :v",
                          ExpressionAttributeValues={":v": {"S": "x"}}, ReturnValues="UPDATED_NEW")
    assert out["Attributes"] == {"a": {"S": "x"}}
    assert ddb.get_item(TableName=table_s, Key={"p": {"S": p}})["Item"] == {"p": {"S": p}, "a": {"S": "x"}}


def test_update_key_attribute_is_rejected(ddb, table_s):
    with pytest.raises(ClientError) as info:
        ddb.update_item(TableName=table_s, Key={"p": {"S": unique()}}, UpdateExpression="SET p = :v",
                        ExpressionAttributeValues={":v": {"S": "x"}})
    code, message = _error(info)
    assert code == "ValidationException" and "part of the key" in message


def test_update_condition_failure_leaves_item(ddb, table_s):
    p = unique()
    ddb.put_item(TableName=table_s, Item={"p": {"S": p}, "v": {"N": "1"}})
    with pytest.raises(ClientError) as info:
        ddb.update_item(TableName=table_s, Key={"p": {"S": p}}, UpdateExpression="SET v = :two",
                        ConditionExpression="v = :two", ExpressionAttributeValues={":two": {"N": "2"}})
    assert _error(info)[0] == "ConditionalCheckFailedException"
    assert ddb.get_item(TableName=table_s, Key={"p": {"S": p}})["Item"]["v"] == {"N": "1"}


def test_invalid_update_expression_syntax(ddb, table_s):
    with pytest.raises(ClientError) as info:
        ddb.update_item(TableName=table_s, Key={"p": {"S": unique()}}, UpdateExpression="SET = :v",
                        ExpressionAttributeValues={":v": {"S": "x"}})
    code, message = _error(info)
    assert code == "ValidationException" and message.startswith("Invalid UpdateExpression: Syntax error")


def test_unused_expression_value_is_rejected(ddb, table_s):
    with pytest.raises(ClientError) as info:
        ddb.put_item(TableName=table_s, Item={"p": {"S": unique()}}, ConditionExpression="attribute_not_exists(p)",
                     ExpressionAttributeValues={":unused": {"S": "x"}})
    code, message = _error(info)
    assert code == "ValidationException" and "unused in expressions" in message


def test_reserved_word_is_rejected(ddb, table_s):
    with pytest.raises(ClientError) as info:
        ddb.put_item(TableName=table_s, Item={"p": {"S": unique()}}, ConditionExpression="attribute_not_exists(name)")
    code, message = _error(info)
    assert code == "ValidationException" and "reserved keyword" in message


def test_delete_with_condition_and_return_values(ddb, table_s):
    p = unique()
    ddb.put_item(TableName=table_s, Item={"p": {"S": p}, "v": {"N": "1"}})
    with pytest.raises(ClientError) as info:
        ddb.delete_item(TableName=table_s, Key={"p": {"S": p}}, ConditionExpression="v = :x",
                        ExpressionAttributeValues={":x": {"N": "9"}})
    assert _error(info)[0] == "ConditionalCheckFailedException"
    old = ddb.delete_item(TableName=table_s, Key={"p": {"S": p}}, ReturnValues="ALL_OLD")["Attributes"]
    assert old == {"p": {"S": p}, "v": {"N": "1"}}
    assert "Item" not in ddb.get_item(TableName=table_s, Key={"p": {"S": p}})


def test_key_with_extra_attribute_does_not_match_schema(ddb, table_s):
    with pytest.raises(ClientError) as info:
        ddb.get_item(TableName=table_s, Key={"p": {"S": "x"}, "extra": {"S": "y"}})
    assert _error(info) == ("ValidationException", "The provided key element does not match the schema")


def test_legacy_expected_and_attribute_updates(ddb, table_s):
    p = unique()
    ddb.put_item(TableName=table_s, Item={"p": {"S": p}, "v": {"N": "1"}},
                 Expected={"p": {"Exists": False}})
    ddb.update_item(TableName=table_s, Key={"p": {"S": p}},
                    AttributeUpdates={"v": {"Action": "ADD", "Value": {"N": "2"}}, "w": {"Action": "PUT", "Value": {"S": "x"}}},
                    Expected={"v": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "1"}]}})
    item = ddb.get_item(TableName=table_s, Key={"p": {"S": p}}, AttributesToGet=["v", "w"])["Item"]
    assert item == {"v": {"N": "3"}, "w": {"S": "x"}}
    with pytest.raises(ClientError) as info:
        ddb.put_item(TableName=table_s, Item={"p": {"S": p}}, Expected={"p": {"Exists": False}})
    assert _error(info)[0] == "ConditionalCheckFailedException"


def test_mixing_legacy_and_expression_parameters(ddb, table_s):
    with pytest.raises(ClientError) as info:
        ddb.get_item(TableName=table_s, Key={"p": {"S": "x"}}, AttributesToGet=["a"], ProjectionExpression="b")
    code, message = _error(info)
    assert code == "ValidationException"
    assert message.startswith("Can not use both expression and non-expression parameters in the same request")


def test_consumed_capacity_total(ddb, table_s):
    p = unique()
    out = ddb.put_item(TableName=table_s, Item={"p": {"S": p}, "d": {"S": "x" * 1500}}, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == {"TableName": table_s, "CapacityUnits": 2.0}
    got = ddb.get_item(TableName=table_s, Key={"p": {"S": p}}, ReturnConsumedCapacity="TOTAL")
    assert got["ConsumedCapacity"]["CapacityUnits"] == 0.5
    strong = ddb.get_item(TableName=table_s, Key={"p": {"S": p}}, ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
    assert strong["ConsumedCapacity"]["CapacityUnits"] == 1.0


def test_update_updated_old_and_condition_failure_return(ddb, table_s):
    p = unique()
    ddb.put_item(TableName=table_s, Item={"p": {"S": p}, "a": {"N": "1"}, "m": {"M": {"x": {"S": "old"}, "y": {"S": "keep"}}}})
    old = ddb.update_item(TableName=table_s, Key={"p": {"S": p}}, UpdateExpression="SET a = :two, m.x = :new",
                          ExpressionAttributeValues={":two": {"N": "2"}, ":new": {"S": "new"}},
                          ReturnValues="UPDATED_OLD")["Attributes"]
    assert old == {"a": {"N": "1"}, "m": {"M": {"x": {"S": "old"}}}}
    with pytest.raises(ClientError) as info:
        ddb.update_item(TableName=table_s, Key={"p": {"S": p}}, UpdateExpression="SET a = :two",
                        ConditionExpression="a = :one", ExpressionAttributeValues={":two": {"N": "2"}, ":one": {"N": "1"}},
                        ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert info.value.response["Item"]["a"] == {"N": "2"}


def test_remove_on_missing_item_creates_only_the_key(ddb, table_s):
    p = unique()
    ddb.update_item(TableName=table_s, Key={"p": {"S": p}}, UpdateExpression="REMOVE x.y")
    assert ddb.get_item(TableName=table_s, Key={"p": {"S": p}})["Item"] == {"p": {"S": p}}


def test_update_type_error_at_run_time(ddb, table_s):
    p = unique()
    ddb.put_item(TableName=table_s, Item={"p": {"S": p}, "s": {"S": "text"}})
    with pytest.raises(ClientError) as info:
        ddb.update_item(TableName=table_s, Key={"p": {"S": p}}, UpdateExpression="SET s = s + :one",
                        ExpressionAttributeValues={":one": {"N": "1"}})
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert ddb.get_item(TableName=table_s, Key={"p": {"S": p}})["Item"]["s"] == {"S": "text"}


def test_item_count_and_size_in_describe_table(ddb):
    from .conftest import create
    name = create(ddb, [("p", "S", "HASH")])
    for i in range(3):
        ddb.put_item(TableName=name, Item={"p": {"S": f"k{i}"}, "v": {"S": "abc"}})
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["ItemCount"] == 3
    assert table["TableSizeBytes"] == 3 * (1 + 2 + 1 + 3)
