"""Request validation against botocore's DynamoDB model: DynamoDB's error types and exact messages."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynamoray.core.errors import DynamoError
from dynamoray.schemas import service
from dynamoray.schemas.validate import MAX_LISTED, operation_names, validate_request

KEY = {"pk": {"S": "a"}, "sk": {"N": "1"}}
CAST = (
    "class sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl cannot be cast to class "
    "java.lang.Class (sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl and "
    "java.lang.Class are in module java.base of loader 'bootstrap')"
)
NAME_RULES = (
    "Member must have length less than or equal to 255, Member must have length greater than or equal to 3, "
    "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
)


def error(operation: str, body: dict, svc: str = "dynamodb") -> DynamoError:
    with pytest.raises(DynamoError) as caught:
        validate_request(svc, operation, body)
    return caught.value


def serialization(operation: str, body: dict) -> str:
    err = error(operation, body)
    assert err.error_type == "SerializationException"
    assert err.wire_type == "com.amazon.coral.service#SerializationException"
    return err.message


def violations(operation: str, body: dict, svc: str = "dynamodb") -> list[str]:
    """The listed violations, after checking the type and the "N validation errors" count."""
    err = error(operation, body, svc)
    assert err.error_type == "ValidationException"
    count, _, rest = err.message.partition(" detected: ")
    listed = rest.split("; ")
    assert count == (f"{len(listed)} validation errors" if len(listed) > 1 else "1 validation error")
    return listed


def v(rendered: str, path: str, constraint: str) -> str:
    return f"Value {rendered} at '{path}' failed to satisfy constraint: {constraint}"


def null(path: str) -> str:
    return v("null", path, "Member must not be null")


# --- valid requests ------------------------------------------------------------------------------

VALID = {
    "GetItem": {"TableName": "tbl", "Key": KEY, "ProjectionExpression": "#a",
                "ExpressionAttributeNames": {"#a": "a"},
                "ConsistentRead": True, "ReturnConsumedCapacity": "TOTAL"},
    "PutItem": {"TableName": "tbl",
                "Item": {**KEY, "m": {"M": {"x": {"L": [{"NULL": True}]}}}, "b": {"B": "AAE="}},
                "ConditionExpression": "attribute_not_exists(pk)", "ReturnValues": "ALL_OLD",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD", "Expected": {"a": {"Exists": False}}},
    "UpdateItem": {"TableName": "tbl", "Key": KEY, "UpdateExpression": "SET #a = :v",
                   "ExpressionAttributeNames": {"#a": "a"}, "ExpressionAttributeValues": {":v": {"S": "x"}},
                   "ReturnValues": "UPDATED_NEW", "ReturnItemCollectionMetrics": "SIZE"},
    "DeleteItem": {"TableName": "tbl", "Key": KEY, "ConditionExpression": "a = :v",
                   "ExpressionAttributeValues": {":v": {"N": "1"}}},
    "Query": {"TableName": "tbl", "IndexName": "gsi1", "KeyConditionExpression": "pk = :p", "Limit": 10,
              "ExpressionAttributeValues": {":p": {"S": "a"}}, "ScanIndexForward": False, "Select": "COUNT",
              "ExclusiveStartKey": KEY},
    "Scan": {"TableName": "tbl", "Segment": 0, "TotalSegments": 4, "Limit": 1, "FilterExpression": "a > :v",
             "ExpressionAttributeValues": {":v": {"N": "2"}}, "ScanFilter": {
                 "a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "3"}]}}},
    "BatchGetItem": {"RequestItems": {"tbl": {"Keys": [KEY], "ProjectionExpression": "a"},
                                      "arn:aws:dynamodb:us-east-1:123456789012:table/t2": {"Keys": [KEY]}}},
    "BatchWriteItem": {"RequestItems": {"tbl": [{"PutRequest": {"Item": KEY}}, {"DeleteRequest": {"Key": KEY}}]},
                       "ReturnItemCollectionMetrics": "NONE"},
    "TransactGetItems": {"TransactItems": [{"Get": {"TableName": "tbl", "Key": KEY}}]},
    "TransactWriteItems": {"ClientRequestToken": "tok", "TransactItems": [
        {"Put": {"TableName": "tbl", "Item": KEY}},
        {"Update": {"TableName": "tbl", "Key": KEY, "UpdateExpression": "REMOVE a"}},
        {"Delete": {"TableName": "tbl", "Key": KEY}},
        {"ConditionCheck": {"TableName": "tbl", "Key": KEY, "ConditionExpression": "attribute_exists(pk)"}}]},
    "ExecuteStatement": {"Statement": "SELECT * FROM tbl WHERE pk = ?", "Parameters": [{"S": "a"}], "Limit": 5},
    "BatchExecuteStatement": {
        "Statements": [{"Statement": "DELETE FROM tbl WHERE pk = ?", "Parameters": [{"S": "a"}]}]},
    "ExecuteTransaction": {"TransactStatements": [{"Statement": "INSERT INTO tbl VALUE {'pk': 'a'}"}]},
    "CreateTable": {"TableName": "tbl", "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST",
                    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}},
    "DescribeTable": {"TableName": "tbl"},
    "ListTables": {"Limit": 100, "ExclusiveStartTableName": "abc"},
    "UpdateTimeToLive": {"TableName": "tbl", "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "ttl"}},
    "ListBackups": {"TimeRangeLowerBound": 1700000000.5},
}

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/tbl/stream/2024-01-01T00:00:00.000"
VALID_STREAMS = {
    "DescribeStream": {"StreamArn": STREAM_ARN, "Limit": 10},
    "GetShardIterator": {"StreamArn": STREAM_ARN, "ShardId": "shardId-00000001700000000000-0a1b2c3d",
                         "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": "100000000000000000001"},
    "GetRecords": {"ShardIterator": "it-1", "Limit": 100},
    "ListStreams": {"TableName": "tbl", "Limit": 5},
}


@pytest.mark.parametrize("operation", sorted(VALID))
def test_valid_dynamodb_requests_pass(operation):
    assert validate_request("dynamodb", operation, VALID[operation]) is None


@pytest.mark.parametrize("operation", sorted(VALID_STREAMS))
def test_valid_streams_requests_pass(operation):
    assert validate_request("dynamodbstreams", operation, VALID_STREAMS[operation]) is None


def test_unknown_members_are_ignored_and_nulls_count_as_absent():
    validate_request("dynamodb", "GetItem", {"TableName": "tbl", "Key": KEY, "Bogus": [1], "Limit": None})
    assert violations("GetItem", {"TableName": "tbl", "Key": None}) == [null("key")]


def test_every_operation_compiles_and_answers():
    answers = {}
    for svc in service.SERVICES:
        for operation in operation_names(svc):
            try:
                validate_request(svc, operation, {})
                answers[operation] = "passed"
            except DynamoError as err:
                answers[operation] = err.error_type
    assert set(answers.values()) == {"passed", "ValidationException"}
    assert answers["ListTables"] == "passed" and answers["GetRecords"] == "ValidationException"


def test_unknown_operation():
    assert error("Frobnicate", {}).error_type == "UnknownOperationException"


# --- SerializationException ----------------------------------------------------------------------


@pytest.mark.parametrize("value, message", [
    (5, "NUMBER_VALUE cannot be converted to String"),
    (1.5, "DECIMAL_VALUE cannot be converted to String"),
    (True, "TRUE_VALUE cannot be converted to String"),
    (False, "FALSE_VALUE cannot be converted to String"),
    ([], "Unrecognized collection type class java.lang.String"),
    ({}, "Start of structure or map found where not expected"),
])
def test_string_member_of_wrong_type(value, message):
    assert serialization("DescribeTable", {"TableName": value}) == message


@pytest.mark.parametrize("value, message", [
    ("1", "STRING_VALUE cannot be converted to Integer"),
    (True, "TRUE_VALUE cannot be converted to Integer"),
    ([1], "Unrecognized collection type class java.lang.Integer"),
    ({}, "Start of structure or map found where not expected"),
])
def test_integer_member_of_wrong_type(value, message):
    assert serialization("Query", {"TableName": "tbl", "Limit": value}) == message


@pytest.mark.parametrize("value, message", [
    ("true", "Unexpected token received from parser"),
    (1, "NUMBER_VALUE cannot be converted to Boolean"),
    (0.5, "DECIMAL_VALUE cannot be converted to Boolean"),
    ([], "Unrecognized collection type class java.lang.Boolean"),
    ({}, "Start of structure or map found where not expected"),
])
def test_boolean_member_of_wrong_type(value, message):
    assert serialization("GetItem", {"TableName": "tbl", "Key": KEY, "ConsistentRead": value}) == message


def test_long_inside_a_structure():
    body = {"TableName": "tbl", "ProvisionedThroughput": {"ReadCapacityUnits": "5", "WriteCapacityUnits": 5}}
    assert serialization("UpdateTable", body) == "STRING_VALUE cannot be converted to Long"


@pytest.mark.parametrize("value, message", [
    ("x", "Unexpected field type"),
    (3, "Unexpected field type"),
    ([], "Unrecognized collection type java.util.Map<java.lang.String, "
         "com.amazonaws.dynamodb.v20120810.AttributeValue>"),
])
def test_map_member_of_wrong_type(value, message):
    assert serialization("GetItem", {"TableName": "tbl", "Key": value}) == message


def test_list_where_a_map_of_strings_is_expected():
    body = {"TableName": "tbl", "Key": KEY, "ExpressionAttributeNames": ["#a"]}
    assert serialization("GetItem", body) == (
        "Unrecognized collection type java.util.Map<java.lang.String, java.lang.String>")


@pytest.mark.parametrize("value, message", [
    ("x", "Unexpected value type in payload"),
    (7, "Unexpected value type in payload"),
    ([], "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeValue"),
])
def test_attribute_value_position_must_hold_an_object(value, message):
    assert serialization("PutItem", {"TableName": "tbl", "Item": {"a": value}}) == message


def test_attribute_value_contents_are_left_to_core():
    validate_request("dynamodb", "PutItem", {"TableName": "tbl", "Item": {"a": {"S": 5}, "b": {}, "c": None}})


@pytest.mark.parametrize("value, message", [
    ("x", "Unexpected field type"),
    ({}, "Start of structure or map found where not expected"),
    ([5], "Unexpected value type in payload"),
    ([[]], "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.KeySchemaElement"),
])
def test_list_of_structures_of_wrong_type(value, message):
    assert serialization("CreateTable", {"TableName": "tbl", "KeySchema": value}) == message


@pytest.mark.parametrize("value, message", [
    (5, "Unexpected field type"),
    ([], "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.ProvisionedThroughput"),
])
def test_structure_member_of_wrong_type(value, message):
    assert serialization("UpdateTable", {"TableName": "tbl", "ProvisionedThroughput": value}) == message


def test_lists_and_maps_inside_maps_of_wrong_type():
    assert serialization("BatchWriteItem", {"RequestItems": {"tbl": 5}}) == CAST
    assert serialization("BatchWriteItem", {"RequestItems": []}) == (
        "Unrecognized collection type java.util.Map<java.lang.String, "
        "java.util.List<com.amazonaws.dynamodb.v20120810.WriteRequest>>")
    assert serialization("BatchGetItem", {"RequestItems": {"tbl": {"Keys": ["k"]}}}) == CAST


def test_serialization_wins_over_constraint_violations():
    assert serialization("GetItem", {"TableName": "a;", "Key": 5}) == "Unexpected field type"


# --- ValidationException -------------------------------------------------------------------------


def test_create_table_checks_the_table_name_first():
    assert error("CreateTable", {}).message == (
        "The parameter 'TableName' is required but was not present in the request")
    for name in ("", "ab", "a" * 256):
        assert error("CreateTable", {"TableName": name, "KeySchema": []}).message == (
            "TableName must be at least 3 characters long and at most 255 characters long")


def test_create_table_bad_name_and_missing_key_schema():
    assert violations("CreateTable", {"TableName": "abc;"}) == [
        v("'abc;'", "tableName", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"),
        null("attributeDefinitions"),
        null("keySchema"),
    ]


def test_create_table_bad_enums_and_key_schema_elements():
    body = {"TableName": "abc", "AttributeDefinitions": [{"AttributeName": "a", "AttributeType": "SS"}],
            "KeySchema": [{"KeyType": "HASH"}, {"AttributeName": "a"}, {"KeyType": "Woop", "AttributeName": "a"}],
            "BillingMode": "FREE"}
    assert violations("CreateTable", body) == [
        v("'SS'", "attributeDefinitions.1.member.attributeType", "Member must satisfy enum value set: [B, N, S]"),
        null("keySchema.1.member.attributeName"),
        null("keySchema.2.member.keyType"),
        v("'Woop'", "keySchema.3.member.keyType", "Member must satisfy enum value set: [HASH, RANGE]"),
        v("'FREE'", "billingMode", "Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"),
    ]


def test_create_table_empty_lists_and_low_throughput():
    body = {"TableName": "abc", "AttributeDefinitions": [], "KeySchema": [],
            "ProvisionedThroughput": {"ReadCapacityUnits": -1, "WriteCapacityUnits": 0}}
    assert violations("CreateTable", body) == [
        v("'[]'", "keySchema", "Member must have length greater than or equal to 1"),
        v("'-1'", "provisionedThroughput.readCapacityUnits", "Member must have value greater than or equal to 1"),
        v("'0'", "provisionedThroughput.writeCapacityUnits", "Member must have value greater than or equal to 1"),
    ]


def test_describe_table_pattern_after_the_length_precheck():
    assert violations("DescribeTable", {"TableName": "abc;"}) == [
        v("'abc;'", "tableName", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")]
    assert error("DescribeTable", {"TableName": "ab"}).message == (
        "TableName must be at least 3 characters long and at most 255 characters long")


def test_put_item_missing_item_and_table():
    assert violations("PutItem", {"TableName": "tbl"}) == [null("item")]
    assert error("PutItem", {}).message == (
        "2 validation errors detected: Value null at 'tableName' failed to satisfy constraint: "
        "Member must not be null; Value null at 'item' failed to satisfy constraint: Member must not be null")


def test_query_limit_zero():
    assert error("Query", {"TableName": "tbl", "Limit": 0}).message == (
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1")


def test_get_item_short_name_reports_pattern_and_length():
    assert violations("GetItem", {"TableName": "a;", "ReturnConsumedCapacity": "hi", "AttributesToGet": []}) == [
        v("'a;'", "tableName", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"),
        v("'a;'", "tableName", "Member must have length greater than or equal to 3"),
        v("'hi'", "returnConsumedCapacity", "Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"),
        v("'[]'", "attributesToGet", "Member must have length greater than or equal to 1"),
        null("key"),
    ]


def test_table_arn_accepted_where_the_model_allows_it():
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/tbl"
    validate_request("dynamodb", "GetItem", {"TableName": arn, "Key": KEY})
    long_arn = "arn:" + "x" * 1021
    assert violations("GetItem", {"TableName": long_arn, "Key": KEY}) == [
        v(f"'{long_arn}'", "tableName", "Member must have length less than or equal to 1024")]


def test_scan_segment_ranges():
    assert violations("Scan", {"TableName": "tbl", "Segment": -1, "TotalSegments": 1000001}) == [
        v("'-1'", "segment", "Member must have value greater than or equal to 0"),
        v("'1000001'", "totalSegments", "Member must have value less than or equal to 1000000"),
    ]


def test_list_element_constraints_are_reported_once_for_the_list():
    body = {"TableName": "abc", "AttributeDefinitions": [],
            "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}],
            "LocalSecondaryIndexes": [{"IndexName": "i1", "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}],
                                       "Projection": {"NonKeyAttributes": ["", "x", ""]}}]}
    assert violations("CreateTable", body) == [
        v("'i1'", "localSecondaryIndexes.1.member.indexName",
          "Member must have length greater than or equal to 3"),
        v("'[, x, ]'", "localSecondaryIndexes.1.member.projection.nonKeyAttributes",
          "Member must satisfy constraint: [Member must have length less than or equal to 255, "
          "Member must have length greater than or equal to 1]"),
    ]


def test_map_key_and_value_constraints_and_nested_paths():
    body = {"RequestItems": {"aa;": [{"PutRequest": {}, "DeleteRequest": {}}]}, "ReturnConsumedCapacity": "hi"}
    found = violations("BatchWriteItem", body)
    assert re.fullmatch(
        r"Value '\{aa;=\[com\.amazonaws\.dynamodb\.v20120810\.WriteRequest@[0-9a-f]+\]\}' at 'requestItems' "
        r"failed to satisfy constraint: Map keys must satisfy constraint: \[" + re.escape(NAME_RULES) + r"\]",
        found[0])
    assert found[1:] == [
        null("requestItems.aa;.member.1.member.putRequest.item"),
        null("requestItems.aa;.member.1.member.deleteRequest.key"),
        v("'hi'", "returnConsumedCapacity", "Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"),
    ]


def test_empty_write_list_and_empty_request_items():
    assert violations("BatchWriteItem", {"RequestItems": {"abc": []}}) == [
        v("'{abc=[]}'", "requestItems", "Map value must satisfy constraint: "
          "[Member must have length less than or equal to 25, "
          "Member must have length greater than or equal to 1]")]
    assert violations("BatchWriteItem", {"RequestItems": {}}) == [
        v("'{}'", "requestItems", "Member must have length greater than or equal to 1")]


def test_at_most_ten_violations_are_listed():
    body = {"TableName": "abc", "AttributeDefinitions": [], "KeySchema": [{} for _ in range(8)]}
    found = violations("CreateTable", body)
    assert len(found) == 10 == MAX_LISTED
    assert found[:2] == [null("keySchema.1.member.attributeName"), null("keySchema.1.member.keyType")]


def test_null_list_element_is_reported():
    assert violations("TransactGetItems", {"TransactItems": [None]}) == [null("transactItems.1.member")]


def test_streams_constraints():
    assert violations("GetRecords", {"ShardIterator": "", "Limit": 0}, "dynamodbstreams") == [
        v("''", "shardIterator", "Member must have length greater than or equal to 1"),
        v("'0'", "limit", "Member must have value greater than or equal to 1"),
    ]


NAME_CHARS = st.sampled_from("abcXYZ019_.-;:é")


@given(st.text(NAME_CHARS, max_size=8) | st.text(NAME_CHARS, min_size=250, max_size=260))
def test_plain_table_names_follow_the_table_name_rules(name):
    ok = 3 <= len(name) <= 255 and re.fullmatch(r"[a-zA-Z0-9_.-]+", name) is not None
    body = {"TableName": name, "Key": KEY}
    if ok or name.startswith("arn:"):
        validate_request("dynamodb", "GetItem", body)
    else:
        assert all("at 'tableName'" in text for text in violations("GetItem", body))


# --- the service models --------------------------------------------------------------------------


def test_service_models_expose_operations_and_shapes():
    assert {"GetItem", "PutItem", "Query", "TransactWriteItems"} <= operation_names("dynamodb")
    streams = {"DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"}
    assert operation_names("dynamodbstreams") == streams
    assert service.input_shape("dynamodb", "GetItem").required_members == ["TableName", "Key"]
    assert "Item" in service.output_shape("dynamodb", "GetItem").members
    assert service.resolve_target("DynamoDB_20120810.GetItem") == ("dynamodb", "GetItem")
    assert service.resolve_target("DynamoDBStreams_20120810.GetRecords") == ("dynamodbstreams", "GetRecords")
    assert service.resolve_target("DynamoDB_20120810.Nope") is None
    with pytest.raises(ValueError):
        service.service_model("s3")
