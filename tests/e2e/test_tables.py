"""The control plane through boto3."""

import pytest
from botocore.exceptions import ClientError

from .conftest import create, unique


def _code(info) -> str:
    return info.value.response["Error"]["Code"]


def test_create_describe_delete(ddb):
    name = unique()
    created = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "c", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}, {"AttributeName": "c", "AttributeType": "N"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 7},
    )["TableDescription"]
    assert created["TableName"] == name
    assert created["TableStatus"] == "ACTIVE"
    assert created["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert created["TableArn"].endswith(f":table/{name}")
    described = ddb.describe_table(TableName=name)["Table"]
    assert described["KeySchema"] == created["KeySchema"]
    assert described["ItemCount"] == 0
    deleted = ddb.delete_table(TableName=name)["TableDescription"]
    assert deleted["TableStatus"] == "DELETING"
    with pytest.raises(ClientError) as info:
        ddb.describe_table(TableName=name)
    assert _code(info) == "ResourceNotFoundException"
    assert info.value.response["Error"]["Message"] == f"Requested resource not found: Table: {name} not found"


def test_create_existing_table_is_resource_in_use(ddb, table_s):
    with pytest.raises(ClientError) as info:
        create(ddb, [("p", "S", "HASH")], name=table_s)
    assert _code(info) == "ResourceInUseException"


def test_pay_per_request_with_throughput_is_rejected(ddb):
    with pytest.raises(ClientError) as info:
        ddb.create_table(
            TableName=unique(), BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
            ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        )
    assert _code(info) == "ValidationException"
    assert "PAY_PER_REQUEST" in info.value.response["Error"]["Message"]


def test_provisioned_without_throughput_is_rejected(ddb):
    with pytest.raises(ClientError) as info:
        ddb.create_table(
            TableName=unique(),
            KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
        )
    assert _code(info) == "ValidationException"


def test_unused_attribute_definition_is_rejected(ddb):
    with pytest.raises(ClientError) as info:
        ddb.create_table(
            TableName=unique(), BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}, {"AttributeName": "x", "AttributeType": "S"}],
        )
    assert _code(info) == "ValidationException"


def test_list_tables_paginates(ddb):
    names = sorted(create(ddb, [("p", "S", "HASH")], name=unique("list")) for _ in range(3))
    seen = []
    for page in ddb.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 2}):
        assert len(page["TableNames"]) <= 2
        seen.extend(page["TableNames"])
    assert all(n in seen for n in names)
    assert seen == sorted(seen)
    first = ddb.list_tables(Limit=1)
    assert len(first["TableNames"]) == 1 and "LastEvaluatedTableName" in first


def test_update_table_billing_mode_and_throughput(ddb):
    name = create(ddb, [("p", "S", "HASH")])
    updated = ddb.update_table(
        TableName=name, BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4},
    )["TableDescription"]
    assert updated["ProvisionedThroughput"]["WriteCapacityUnits"] == 4
    assert updated["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    back = ddb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")["TableDescription"]
    assert back["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_deletion_protection_blocks_delete(ddb):
    name = create(ddb, [("p", "S", "HASH")])
    ddb.update_table(TableName=name, DeletionProtectionEnabled=True)
    with pytest.raises(ClientError) as info:
        ddb.delete_table(TableName=name)
    assert _code(info) == "ValidationException"
    ddb.update_table(TableName=name, DeletionProtectionEnabled=False)
    ddb.delete_table(TableName=name)


def test_tags_round_trip(ddb):
    name = create(ddb, [("p", "S", "HASH")])
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "db"}, {"Key": "env", "Value": "dev"}])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "db"}]
    ddb.untag_resource(ResourceArn=arn, TagKeys=["env"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "db"}]


def test_time_to_live_setting(ddb):
    name = create(ddb, [("p", "S", "HASH")])
    assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    with pytest.raises(ClientError) as info:
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert _code(info) == "ValidationException"


def test_table_exists_waiter(ddb):
    name = create(ddb, [("p", "S", "HASH")])
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    ddb.delete_table(TableName=name)
    ddb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 3})


def test_describe_limits_and_endpoints(ddb):
    assert ddb.describe_limits()["TableMaxWriteCapacityUnits"] > 0
    assert ddb.describe_endpoints()["Endpoints"][0]["CachePeriodInMinutes"] == 1440


def test_descriptions_carry_no_internal_members(ddb, server):
    # boto3 drops unknown members while parsing, so look at the raw JSON
    from .test_protocol import _signed_raw

    name = unique()
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    body = ('{"TableName": "%s"}' % name).encode()
    described = _signed_raw(server, "DynamoDB_20120810.DescribeTable", body).json()["Table"]
    deleted = _signed_raw(server, "DynamoDB_20120810.DeleteTable", body).json()["TableDescription"]
    assert described["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    for description in (described, deleted):
        assert [k for k in description if k.startswith("_")] == []
