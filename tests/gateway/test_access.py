"""The IAM checks each request maps to (gateway/access.py): actions, resources, condition keys."""

import pytest

from dynamoray.core.keys import KeySchema
from dynamoray.gateway import access

REGION, ACCOUNT = "us-east-1", "000000000000"
T = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/T"
U = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/U"
SCHEMA = KeySchema("pk", "S", "sk", "N")


def checks(name, body, service="dynamodb"):
    return access.accesses(service, name, body, REGION, ACCOUNT, stream_arn_of=lambda it: f"stream-of-{it}")


def one(name, body):
    [check] = checks(name, body)
    return check


@pytest.mark.parametrize("name, body, action, resource", [
    ("GetItem", {"TableName": "T"}, "dynamodb:GetItem", T),
    ("Query", {"TableName": "T", "IndexName": "byDate"}, "dynamodb:Query", T + "/index/byDate"),
    ("Scan", {"TableName": T}, "dynamodb:Scan", T),  # a TableName may be the table's ARN
    ("CreateTable", {"TableName": "T"}, "dynamodb:CreateTable", T),
    ("DeleteTable", {"TableName": "T"}, "dynamodb:DeleteTable", T),
    ("ListTables", {}, "dynamodb:ListTables", "*"),
    ("DescribeLimits", {}, "dynamodb:DescribeLimits", "*"),
    ("TagResource", {"ResourceArn": T, "Tags": []}, "dynamodb:TagResource", T),
    ("PutResourcePolicy", {"ResourceArn": T + "/stream/x"}, "dynamodb:PutResourcePolicy", T + "/stream/x"),
    ("DescribeBackup", {"BackupArn": T + "/backup/01"}, "dynamodb:DescribeBackup", T + "/backup/01"),
    ("RestoreTableToPointInTime", {"SourceTableName": "T", "TargetTableName": "U"},
     "dynamodb:RestoreTableToPointInTime", T),
    ("ExportTableToPointInTime", {"TableArn": T, "S3Bucket": "b"}, "dynamodb:ExportTableToPointInTime", T),
    ("DescribeExport", {"ExportArn": T + "/export/01"}, "dynamodb:DescribeExport", T + "/export/01"),
    ("ListExports", {"TableArn": T}, "dynamodb:ListExports", "*"),
    ("ImportTable", {"TableCreationParameters": {"TableName": "U"}}, "dynamodb:ImportTable", U),
    ("DescribeImport", {"ImportArn": U + "/import/01"}, "dynamodb:DescribeImport", U + "/import/01"),
    ("ListImports", {}, "dynamodb:ListImports", "*"),
])
def test_actions_and_resources(name, body, action, resource):
    check = one(name, body)
    assert (check.action, check.resource) == (action, resource)


def test_streams_use_the_stream_arn():
    assert one("DescribeStream", {"StreamArn": T + "/stream/L"}).resource == T + "/stream/L"
    [check] = checks("GetRecords", {"ShardIterator": "it"}, service="dynamodbstreams")
    assert (check.action, check.resource) == ("dynamodb:GetRecords", "stream-of-it")
    [check] = checks("ListStreams", {"TableName": "T"}, service="dynamodbstreams")
    assert check.resource == "*"


def test_batches_check_each_table_with_their_own_action():
    got = checks("BatchGetItem", {"RequestItems": {"T": {"Keys": []}, "U": {"Keys": []}}})
    assert [(c.action, c.resource) for c in got] == [("dynamodb:BatchGetItem", T), ("dynamodb:BatchGetItem", U)]
    got = checks("BatchWriteItem", {"RequestItems": {"U": []}})
    assert [(c.action, c.resource) for c in got] == [("dynamodb:BatchWriteItem", U)]


def test_transactions_check_each_item_with_the_underlying_action():
    body = {"TransactItems": [
        {"Put": {"TableName": "T", "Item": {}}}, {"Update": {"TableName": "U", "Key": {}}},
        {"Delete": {"TableName": "T", "Key": {}}}, {"ConditionCheck": {"TableName": "U", "Key": {}}},
    ]}
    assert [(c.action, c.resource) for c in checks("TransactWriteItems", body)] == [
        ("dynamodb:PutItem", T), ("dynamodb:UpdateItem", U), ("dynamodb:DeleteItem", T),
        ("dynamodb:ConditionCheckItem", U)]
    gets = checks("TransactGetItems", {"TransactItems": [{"Get": {"TableName": "U", "Key": {}}}]})
    assert [(c.action, c.resource) for c in gets] == [("dynamodb:GetItem", U)]


def test_cheap_condition_keys():
    assert one("GetItem", {"TableName": "T"}).context == {"dynamodb:select": "ALL_ATTRIBUTES"}
    assert one("GetItem", {"TableName": "T", "ProjectionExpression": "a"}).context["dynamodb:select"] == \
        "SPECIFIC_ATTRIBUTES"
    assert one("Query", {"TableName": "T", "Select": "COUNT"}).context["dynamodb:select"] == "COUNT"
    put = one("PutItem", {"TableName": "T", "ReturnValues": "ALL_OLD", "ReturnConsumedCapacity": "TOTAL"})
    assert put.context == {"dynamodb:returnvalues": "ALL_OLD", "dynamodb:returnconsumedcapacity": "TOTAL"}
    assert one("DescribeTable", {"TableName": "T", "ReturnConsumedCapacity": "TOTAL"}).context == {
        "dynamodb:returnconsumedcapacity": "TOTAL"}


def key(pk, sk="1"):
    return {"pk": {"S": pk}, "sk": {"N": sk}}


def test_leading_keys():
    assert access.leading_keys(one("GetItem", {"TableName": "T", "Key": key("alice")}), SCHEMA) == ("alice",)
    assert access.leading_keys(one("PutItem", {"TableName": "T", "Item": {"pk": {"N": "007.50"}}}), SCHEMA) == (
        "7.5",)
    batch = one("BatchWriteItem", {"RequestItems": {"T": [
        {"PutRequest": {"Item": key("a")}}, {"DeleteRequest": {"Key": key("b")}}, {"PutRequest": {"Item": key("a", "2")}},
    ]}})
    assert access.leading_keys(batch, SCHEMA) == ("a", "b")
    query = one("Query", {"TableName": "T", "KeyConditionExpression": "#p = :p AND sk > :s",
                          "ExpressionAttributeNames": {"#p": "pk"},
                          "ExpressionAttributeValues": {":p": {"S": "carol"}, ":s": {"N": "1"}}})
    assert access.leading_keys(query, SCHEMA) == ("carol",)
    legacy = one("Query", {"TableName": "T", "KeyConditions": {
        "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "dave"}]}}})
    assert access.leading_keys(legacy, SCHEMA) == ("dave",)
    assert access.leading_keys(one("Scan", {"TableName": "T"}), SCHEMA) is None
    assert access.leading_keys(one("DescribeTable", {"TableName": "T"}), SCHEMA) is None


def test_attributes_read_written_and_tested():
    get = one("GetItem", {"TableName": "T", "Key": key("a"), "ProjectionExpression": "#a.b[0], c",
                          "ExpressionAttributeNames": {"#a": "info"}})
    assert access.attributes(get, SCHEMA) == ("c", "info", "pk", "sk")
    legacy_get = one("GetItem", {"TableName": "T", "Key": key("a"), "AttributesToGet": ["x"]})
    assert access.attributes(legacy_get, SCHEMA) == ("pk", "sk", "x")
    put = one("PutItem", {"TableName": "T", "Item": {**key("a"), "v": {"S": "1"}},
                          "ConditionExpression": "attribute_not_exists(guard)"})
    assert access.attributes(put, SCHEMA) == ("guard", "pk", "sk", "v")
    update = one("UpdateItem", {"TableName": "T", "Key": key("a"),
                                "UpdateExpression": "SET tally = tally + :one, dup = src REMOVE gone",
                                "ExpressionAttributeValues": {":one": {"N": "1"}}})
    assert access.attributes(update, SCHEMA) == ("dup", "gone", "pk", "sk", "src", "tally")
    legacy_update = one("UpdateItem", {"TableName": "T", "Key": key("a"),
                                       "AttributeUpdates": {"n": {"Action": "DELETE"}}})
    assert access.attributes(legacy_update, SCHEMA) == ("n", "pk", "sk")
    query = one("Query", {"TableName": "T", "KeyConditionExpression": "pk = :p", "FilterExpression": "age > :p",
                          "ExpressionAttributeValues": {":p": {"S": "x"}}})
    assert access.attributes(query, SCHEMA) == ("age", "pk")
    scan = one("Scan", {"TableName": "T", "ScanFilter": {"z": {"ComparisonOperator": "NULL"}}})
    assert access.attributes(scan, SCHEMA) == ("z",)
    batch = one("BatchWriteItem", {"RequestItems": {"T": [{"PutRequest": {"Item": {**key("a"), "w": {"S": "1"}}}}]}})
    assert access.attributes(batch, SCHEMA) == ("pk", "sk", "w")
    assert access.attributes(one("ListTables", {}), SCHEMA) is None
