"""core/audit.py: CloudTrail-shaped records, without item values, and the lookup filters."""

from __future__ import annotations

import json

from dynamoray.core import audit

ROOT = "arn:aws:iam::123456789012:root"
USER = "arn:aws:iam::123456789012:user/alice"
ROLE = "arn:aws:sts::123456789012:assumed-role/reader/reader"
SECRET = "s3cr3t-value"


def make(name, body, response=None, error=None, arn=ROOT, tables=("songs",), admin=False, key_of=None):
    return audit.record(name=name, time_ms=1_795_700_000_123, region="eu-west-1", principal_arn=arn,
                        access_key="AKIAEXAMPLE", account_id="123456789012", request_id="A" * 16 + "0" * 15 + "7",
                        source_ip="10.0.0.9", user_agent="Boto3/1.44", body=body, response=response, error=error,
                        tables=tables, admin=admin, key_of=key_of)


def test_a_control_plane_call_is_a_management_event_with_its_response():
    body = {"TableName": "songs", "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"}
    response = {"TableDescription": {"TableName": "songs", "TableStatus": "ACTIVE"}}
    record = make("CreateTable", body, response)
    assert record == {
        "eventVersion": "1.09",
        "userIdentity": {"type": "Root", "principalId": "123456789012", "arn": ROOT, "accountId": "123456789012",
                         "accessKeyId": "AKIAEXAMPLE"},
        "eventTime": "2026-11-26T13:33:20Z",
        "eventSource": "dynamodb.amazonaws.com",
        "eventName": "CreateTable",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "10.0.0.9",
        "userAgent": "Boto3/1.44",
        "requestParameters": {"tableName": "songs", "keySchema": [{"attributeName": "p", "keyType": "HASH"}],
                              "billingMode": "PAY_PER_REQUEST"},
        "responseElements": {"tableDescription": {"tableName": "songs", "tableStatus": "ACTIVE"}},
        "requestID": "AAAAAAAAAAAAAAAA0000000000000007",
        "eventID": "aaaaaaaa-aaaa-aaaa-0000-000000000007",
        "readOnly": False,
        "resources": [{"accountId": "123456789012", "type": "AWS::DynamoDB::Table",
                       "ARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/songs"}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": "123456789012",
        "eventCategory": "Management",
    }
    assert make("DescribeTable", {"TableName": "songs"}, response)["responseElements"] is None
    assert make("DescribeTable", {"TableName": "songs"}, response)["readOnly"] is True


def test_item_values_never_reach_the_record():
    item = {"p": {"S": "k1"}, "secret": {"S": SECRET}}
    key_of = lambda table, it: {"p": it["p"]}  # noqa: E731
    calls = [
        ("PutItem", {"TableName": "songs", "Item": item, "ConditionExpression": "attribute_not_exists(p)"}),
        ("UpdateItem", {"TableName": "songs", "Key": {"p": {"S": "k1"}}, "UpdateExpression": "SET #s = :v",
                        "ExpressionAttributeNames": {"#s": "secret"}, "ExpressionAttributeValues": {":v": {"S": SECRET}}}),
        ("PutItem", {"TableName": "songs", "Item": item, "Expected": {"secret": {"Value": {"S": SECRET}}}}),
        ("BatchWriteItem", {"RequestItems": {"songs": [{"PutRequest": {"Item": item}},
                                                       {"DeleteRequest": {"Key": {"p": {"S": "k2"}}}}]}}),
        ("TransactWriteItems", {"TransactItems": [{"Put": {"TableName": "songs", "Item": item}},
                                                  {"Update": {"TableName": "songs", "Key": {"p": {"S": "k1"}},
                                                              "UpdateExpression": "SET a = :v",
                                                              "ExpressionAttributeValues": {":v": {"S": SECRET}}}}]}),
        ("ExecuteStatement", {"Statement": f"INSERT INTO songs VALUE {{'p': 'k1', 'secret': '{SECRET}', 'n': 42}}"}),
        ("ExecuteStatement", {"Statement": "UPDATE songs SET secret = ? WHERE p = ?",
                              "Parameters": [{"S": SECRET}, {"S": "k1"}]}),
        ("Scan", {"TableName": "songs", "ScanFilter": {"secret": {"ComparisonOperator": "EQ",
                                                                 "AttributeValueList": [{"S": SECRET}]}}}),
    ]
    for name, body in calls:
        record = make(name, body, {"Attributes": item}, key_of=key_of)
        text = json.dumps(record)
        assert SECRET not in text and "42" not in text.split('"requestParameters"')[1].split('"requestID"')[0], name
        assert record["eventCategory"] == "Data" and record["responseElements"] is None
    put = make("PutItem", calls[0][1], key_of=key_of)["requestParameters"]
    assert put == {"tableName": "songs", "key": {"p": {"S": "k1"}}, "conditionExpression": "attribute_not_exists(p)"}
    update = make("UpdateItem", calls[1][1])["requestParameters"]
    assert update == {"tableName": "songs", "key": {"p": {"S": "k1"}}, "updateExpression": "SET #s = :v",
                      "expressionAttributeNames": {"#s": "secret"}}
    assert make("PutItem", calls[2][1])["requestParameters"]["expected"] == ["secret"]
    batch = make("BatchWriteItem", calls[3][1], key_of=key_of)["requestParameters"]["requestItems"]["songs"]
    assert batch == [{"putRequest": {"key": {"p": {"S": "k1"}}}}, {"deleteRequest": {"key": {"p": {"S": "k2"}}}}]
    statement = make("ExecuteStatement", calls[5][1])["requestParameters"]["statement"]
    assert statement == "INSERT INTO songs VALUE {?: ?, ?: ?, ?: ?}"


def test_errors_users_and_roles():
    failed = make("PutItem", {"TableName": "songs"}, error=("ConditionalCheckFailedException", "The conditional request failed"),
                  arn=USER)
    assert failed["errorCode"] == "ConditionalCheckFailedException"
    assert failed["errorMessage"] == "The conditional request failed"
    assert failed["userIdentity"]["type"] == "IAMUser" and failed["userIdentity"]["userName"] == "alice"
    role = make("GetItem", {"TableName": "songs"}, arn=ROLE)["userIdentity"]
    assert role["type"] == "AssumedRole" and role["sessionContext"]["sessionIssuer"]["userName"] == "reader"
    admin = make("CreateAccessKey", {"UserName": "alice"}, {"AccessKey": {"SecretAccessKey": SECRET}}, admin=True)
    assert admin["eventSource"] == audit.ADMIN_SOURCE and admin["responseElements"] is None
    assert SECRET not in json.dumps(admin)


def test_read_only_and_data_events():
    assert audit.read_only("Query", {}) and audit.read_only("ListTables", {})
    assert audit.read_only("ExecuteStatement", {"Statement": "  select * from t"})
    assert not audit.read_only("ExecuteStatement", {"Statement": "DELETE FROM t WHERE p = 1"})
    assert not audit.read_only("UpdateTable", {}) and not audit.read_only("BatchWriteItem", {})
    assert audit.is_data_event("GetRecords") and not audit.is_data_event("DescribeStream")


def test_matches_filters_by_table_event_time_and_user():
    record = make("PutItem", {"TableName": "songs"}, arn=USER, tables=("songs", "albums"))
    assert audit.matches(record, table="albums", event_name="PutItem", user="alice")
    assert audit.matches(record, user=USER) and audit.matches(record, user="AKIAEXAMPLE")
    assert not audit.matches(record, table="other")
    assert not audit.matches(record, event_name="GetItem")
    assert not audit.matches(record, user="bob")
    assert audit.matches(record, since="2026-11-26T13:33:20Z", until="2026-11-26T13:33:20Z")
    assert not audit.matches(record, since="2026-11-26T13:33:21Z")
    assert not audit.matches(record, until="2026-11-26T13:33:19Z")
