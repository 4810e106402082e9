"""Table settings through the SDK (sdk/settings.py): UpdateTable and its waiter, tags, Time to Live,
DescribeLimits, DescribeEndpoints, the not-exists waiter; sync and async, against the real server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dynamoray.gateway.sdk import (
    GlobalIndex,
    Key,
    ResourceNotFoundException,
    ValidationException,
    Wait,
    WaiterTimeoutError,
)
from dynamoray.gateway.sdk.flows import Call, Sleep
from dynamoray.gateway.sdk.settings import list_tags, update_table, update_table_request

from .conftest import make_async_client, unique
from .fakes import drive


def test_update_table_changes_billing_throughput_stream_and_protection(client):
    name = unique("upd")
    client.create_table(name, hash_key=("p", "S"))
    described = client.update_table(name, billing_mode="PROVISIONED", read_capacity=7, write_capacity=3,
                                    stream="NEW_IMAGE", deletion_protection=True)
    assert described["TableStatus"] == "ACTIVE"
    assert described["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert (described["ProvisionedThroughput"]["ReadCapacityUnits"],
            described["ProvisionedThroughput"]["WriteCapacityUnits"]) == (7, 3)
    assert described["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert described["DeletionProtectionEnabled"] is True
    with pytest.raises(ValidationException, match="deletion protection"):
        client.delete_table(name)
    off = client.update_table(name, stream=False, deletion_protection=False, billing_mode="PAY_PER_REQUEST")
    assert "StreamSpecification" not in off or off["StreamSpecification"]["StreamEnabled"] is False
    assert off["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    client.delete_table(name)


def test_update_table_creates_and_deletes_a_global_index_and_waits_for_it(client):
    name = unique("gsi")
    table = client.create_table(name, hash_key=("p", "S"))
    for n in range(20):
        table.put({"p": f"k{n}", "city": "paris" if n % 2 else "oslo", "n": n})
    described = client.update_table(name, create_index=GlobalIndex("by_city", ("city", "S"), ("n", "N"),
                                                                     projection=("p",)))
    [index] = described["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by_city" and index["IndexStatus"] == "ACTIVE"  # the waiter waited
    assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["p"]}
    found = [item["n"] for item in table.query(Key("city").eq("oslo"), index="by_city")]
    assert found == list(range(0, 20, 2))  # backfilled before update_table returned
    gone = client.update_table(name, delete_index="by_city")
    assert not gone.get("GlobalSecondaryIndexes")
    client.delete_table(name)


def test_the_update_waiter_polls_until_every_index_is_active():
    payload = update_table_request("t", index_capacity={"i": (1, 2)})
    assert payload["GlobalSecondaryIndexUpdates"] == [
        {"Update": {"IndexName": "i", "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 2}}}]
    updating = {"TableName": "t", "TableStatus": "UPDATING"}
    creating = {"TableName": "t", "TableStatus": "ACTIVE", "GlobalSecondaryIndexes": [{"IndexStatus": "CREATING"}]}
    active = {"TableName": "t", "TableStatus": "ACTIVE", "GlobalSecondaryIndexes": [{"IndexStatus": "ACTIVE"}]}
    steps, result = drive(update_table(payload, Wait(timeout=100, interval=0.5)),
                          [{"TableDescription": updating}, {"Table": updating}, {"Table": creating},
                           {"Table": active}])
    assert result == active
    calls = [s for s in steps if isinstance(s, Call)]
    assert [c.operation for c in calls] == ["UpdateTable", "DescribeTable", "DescribeTable", "DescribeTable"]
    assert [s.seconds for s in steps if isinstance(s, Sleep)] == [0.5, 0.5]
    with pytest.raises(WaiterTimeoutError):
        drive(update_table(payload, Wait(timeout=2, interval=1)), [{"TableDescription": updating}]
              + [{"Table": creating}] * 10)


def test_update_table_requests_are_built_from_the_arguments():
    payload = update_table_request("t", sse=True, kms_key="alias/k", table_class="STANDARD_INFREQUENT_ACCESS",
                                   replica_updates=[{"Create": {"RegionName": "eu-west-1"}}],
                                   extra={"OnDemandThroughput": {"MaxReadRequestUnits": 10}})
    assert payload == {"TableName": "t",
                       "SSESpecification": {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": "alias/k"},
                       "TableClass": "STANDARD_INFREQUENT_ACCESS",
                       "ReplicaUpdates": [{"Create": {"RegionName": "eu-west-1"}}],
                       "OnDemandThroughput": {"MaxReadRequestUnits": 10}}
    created = update_table_request("t", create_index=GlobalIndex("g", ("a", "S"), read_capacity=1, write_capacity=1))
    assert created["AttributeDefinitions"] == [{"AttributeName": "a", "AttributeType": "S"}]
    assert created["GlobalSecondaryIndexUpdates"][0]["Create"] == {
        "IndexName": "g", "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
        "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}
    assert update_table_request("t", sse=False) == {"TableName": "t", "SSESpecification": {"Enabled": False}}
    with pytest.raises(ValueError, match="both read_capacity and write_capacity"):
        update_table_request("t", read_capacity=5)
    with pytest.raises(ValueError, match="StreamViewType"):
        update_table_request("t", stream=True)


def test_an_empty_update_is_the_servers_validation_error(client, table_s):
    with pytest.raises(ValidationException):
        client.update_table(table_s)


def test_tags_by_name_or_arn(client):
    name = unique("tag")
    client.create_table(name, hash_key=("p", "S"), tags={"team": "sdk"})
    arn = client.describe_table(name)["TableArn"]
    client.tag_resource(name, {"env": "test", "team": "core"})
    assert client.list_tags_of_resource(arn) == {"env": "test", "team": "core"}
    client.untag_resource(arn, ["team"])
    assert client.list_tags_of_resource(name) == {"env": "test"}
    with pytest.raises(ResourceNotFoundException):
        client.list_tags_of_resource("no_such_table_for_tags")
    client.delete_table(name)


def test_listing_tags_follows_next_token():
    arn = "arn:aws:dynamodb:us-east-1:000000000000:table/t"
    steps, result = drive(list_tags(arn), [{"Tags": [{"Key": "a", "Value": "1"}], "NextToken": "n1"},
                                           {"Tags": [{"Key": "b", "Value": "2"}]}])
    assert result == {"a": "1", "b": "2"}
    assert [s.payload for s in steps if isinstance(s, Call)] == [{"ResourceArn": arn},
                                                                 {"ResourceArn": arn, "NextToken": "n1"}]


def test_time_to_live(client):
    name = unique("ttl")
    client.create_table(name, hash_key=("p", "S"))
    assert client.describe_time_to_live(name) == {"TimeToLiveStatus": "DISABLED"}
    assert client.update_time_to_live(name, "expires") == {"Enabled": True, "AttributeName": "expires"}
    assert client.describe_time_to_live(name) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    with pytest.raises(ValidationException, match="TimeToLive is already enabled"):
        client.update_time_to_live(name, "expires")
    client.delete_table(name)


def test_limits_and_endpoints(client, sdk_server):
    limits = client.describe_limits()
    assert set(limits) == {"AccountMaxReadCapacityUnits", "AccountMaxWriteCapacityUnits",
                           "TableMaxReadCapacityUnits", "TableMaxWriteCapacityUnits"}
    assert all(isinstance(v, int) and v > 0 for v in limits.values())
    [endpoint] = client.describe_endpoints()
    assert endpoint["CachePeriodInMinutes"] > 0 and endpoint["Address"]


def test_the_not_exists_waiter(client):
    name = unique("gone")
    client.create_table(name, hash_key=("p", "S"))
    with pytest.raises(WaiterTimeoutError):
        client.wait_until_not_exists(name, Wait(timeout=0.2, interval=0.05))
    client.delete_table(name, wait=False)
    client.wait_until_not_exists(name)
    with pytest.raises(ResourceNotFoundException):
        client.describe_table(name)


def test_async_settings(sdk_server):
    async def run() -> dict[str, Any]:
        async with make_async_client(sdk_server.endpoint) as client:
            name = unique("aset")
            await client.create_table(name, hash_key=("p", "S"))
            described = await client.update_table(name, billing_mode="PROVISIONED", read_capacity=2,
                                                  write_capacity=2,
                                                  create_index=GlobalIndex("by_q", ("q", "S"), read_capacity=1,
                                                                           write_capacity=1))
            await client.tag_resource(name, {"a": "1"})
            tags = await client.list_tags_of_resource(name)
            await client.untag_resource(name, ["a"])
            untagged = await client.list_tags_of_resource(name)
            ttl = await client.update_time_to_live(name, "exp")
            ttl_description = await client.describe_time_to_live(name)
            limits = await client.describe_limits()
            endpoints = await client.describe_endpoints()
            await client.delete_table(name, wait=False)
            await client.wait_until_not_exists(name)
            return {"described": described, "tags": tags, "untagged": untagged, "ttl": ttl,
                    "ttl_description": ttl_description, "limits": limits, "endpoints": endpoints}

    out = asyncio.run(run())
    assert out["described"]["ProvisionedThroughput"]["ReadCapacityUnits"] == 2
    assert [i["IndexStatus"] for i in out["described"]["GlobalSecondaryIndexes"]] == ["ACTIVE"]
    assert out["tags"] == {"a": "1"} and out["untagged"] == {}
    assert out["ttl"] == {"Enabled": True, "AttributeName": "exp"}
    assert out["ttl_description"]["TimeToLiveStatus"] == "ENABLED"
    assert out["limits"]["TableMaxReadCapacityUnits"] > 0
    assert len(out["endpoints"]) == 1
