"""Global tables, settings and deletions across regions (version 2019.11.21): UpdateTable's
billing mode, throughput, SSE type and global secondary indexes, and UpdateTimeToLive, reach every
replica, with the replicas UPDATING meanwhile; DeleteTable deletes one region's replica and the
others drop it."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .global_regions import items, replica_active, start_regions, wait_for

EAST, WEST, EU = "us-east-1", "us-west-2", "eu-west-1"
_counter = iter(range(10**6))


@pytest.fixture(scope="module")
def regions(tmp_path_factory):
    found = start_regions([EAST, WEST, EU], tmp_path_factory.mktemp("settings"))
    yield found
    for region in found.values():
        region.stop()


def global_table(regions, targets=(WEST, EU)) -> str:
    east = regions[EAST].client()
    name = f"gs_{next(_counter)}"
    east.create_table(TableName=name, KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                      AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                      BillingMode="PAY_PER_REQUEST")
    for target in targets:
        east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": target}}])
        wait_for(lambda t=target: replica_active(east, name, t))
    return name


def statuses(client, name: str) -> dict:
    return {e["RegionName"]: e["ReplicaStatus"] for e in client.describe_table(TableName=name)["Table"]["Replicas"]}


def test_billing_mode_and_throughput_reach_every_replica_which_is_updating_meanwhile(regions):
    name = global_table(regions)
    east = regions[EAST].client()
    answer = east.update_table(TableName=name, BillingMode="PROVISIONED",
                               ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 7})
    assert {e["RegionName"]: e["ReplicaStatus"] for e in answer["TableDescription"]["Replicas"]} == {
        WEST: "UPDATING", EU: "UPDATING"}
    wait_for(lambda: statuses(east, name) == {WEST: "ACTIVE", EU: "ACTIVE"})
    for region in (WEST, EU):
        table = regions[region].client().describe_table(TableName=name)["Table"]
        assert table["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
        assert (table["ProvisionedThroughput"]["ReadCapacityUnits"],
                table["ProvisionedThroughput"]["WriteCapacityUnits"]) == (5, 7)
        assert {e["RegionName"]: e["ReplicaStatus"] for e in table["Replicas"]} == {
            r: "ACTIVE" for r in {EAST, WEST, EU} - {region}}
    # back to on-demand from another region: it reaches the first one too
    regions[WEST].client().update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
    wait_for(lambda: east.describe_table(TableName=name)["Table"]["BillingModeSummary"]["BillingMode"]
             == "PAY_PER_REQUEST")
    wait_for(lambda: statuses(regions[WEST].client(), name) == {EAST: "ACTIVE", EU: "ACTIVE"})
    # and writes still replicate everywhere
    east.put_item(TableName=name, Item={"p": {"S": "after"}})
    for region in (WEST, EU):
        wait_for(lambda r=region: "after" in items(regions[r].client(), name))


def test_time_to_live_and_the_sse_type_reach_every_replica(regions):
    name = global_table(regions)
    regions[WEST].client().update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    for region in (EAST, EU):
        wait_for(lambda r=region: regions[r].client().describe_time_to_live(TableName=name)["TimeToLiveDescription"]
                 == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"})
    regions[EAST].client().update_table(TableName=name, SSESpecification={"Enabled": True, "SSEType": "KMS"})
    for region in (WEST, EU):
        wait_for(lambda r=region: regions[r].client().describe_table(TableName=name)["Table"]
                 .get("SSEDescription", {}).get("SSEType") == "KMS")
    wait_for(lambda: statuses(regions[EAST].client(), name) == {WEST: "ACTIVE", EU: "ACTIVE"})
    regions[EU].client().update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires"})
    for region in (EAST, WEST):
        wait_for(lambda r=region: regions[r].client().describe_time_to_live(TableName=name)[
            "TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED")


def test_a_global_secondary_index_is_created_and_deleted_in_every_replica(regions):
    name = global_table(regions, targets=(WEST,))
    east, west = regions[EAST].client(), regions[WEST].client()
    east.put_item(TableName=name, Item={"p": {"S": "a"}, "g": {"S": "group-1"}})
    east.update_table(TableName=name, AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
                      GlobalSecondaryIndexUpdates=[{"Create": {
                          "IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                          "Projection": {"ProjectionType": "ALL"}}}])

    def index_active() -> bool:
        indexes = west.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes") or []
        return [(i["IndexName"], i["IndexStatus"]) for i in indexes] == [("by_g", "ACTIVE")]

    wait_for(index_active, timeout=40)
    found = west.query(TableName=name, IndexName="by_g", KeyConditionExpression="g = :g",
                       ExpressionAttributeValues={":g": {"S": "group-1"}})["Items"]
    assert [i["p"]["S"] for i in found] == ["a"]
    wait_for(lambda: statuses(east, name) == {WEST: "ACTIVE"}, timeout=40)
    east.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by_g"}}])
    wait_for(lambda: not west.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes"), timeout=40)


def test_delete_table_deletes_one_replica_and_the_others_drop_it_and_go_on(regions):
    name = global_table(regions)
    east, west, eu = (regions[r].client() for r in (EAST, WEST, EU))
    eu.delete_table(TableName=name)
    with pytest.raises(ClientError) as raised:
        wait_for(lambda: not eu.describe_table(TableName=name))
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    wait_for(lambda: statuses(east, name) == {WEST: "ACTIVE"})
    wait_for(lambda: statuses(west, name) == {EAST: "ACTIVE"})
    assert not [r for r in regions[EAST].service.metrics() if r.table == name and r.target == EU]
    east.put_item(TableName=name, Item={"p": {"S": "still"}})
    wait_for(lambda: "still" in items(west, name))
    assert regions[EU].service.checkpoints.departures() == []


def test_a_settings_change_waits_for_a_region_that_is_down(regions):
    name = global_table(regions, targets=(WEST,))
    east = regions[EAST].client()
    regions[WEST].stop()
    try:
        east.update_table(TableName=name, BillingMode="PROVISIONED",
                          ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4})
        assert statuses(east, name) == {WEST: "UPDATING"}
    finally:
        regions[WEST].start()
    wait_for(lambda: statuses(east, name) == {WEST: "ACTIVE"}, timeout=40)
    table = regions[WEST].client().describe_table(TableName=name)["Table"]
    assert table["ProvisionedThroughput"]["WriteCapacityUnits"] == 4


def test_replicated_writes_count_as_replicated_write_units_in_the_usage_report(regions):
    from dynamoray.gateway.admin_client import AdminClient

    from .global_regions import ACCESS_KEY, SECRET_KEY

    name = global_table(regions, targets=(WEST,))
    east = regions[EAST].client()
    for n in range(3):
        east.put_item(TableName=name, Item={"p": {"S": f"u{n}"}, "v": {"S": "x" * 1500}})  # 2 units each
    west = regions[WEST].client()
    wait_for(lambda: len(items(west, name)) == 3)
    report = AdminClient(regions[WEST].endpoint, ACCESS_KEY, SECRET_KEY, WEST).call("GetUsage", TableName=name)
    assert report["Totals"]["replicated_write_units"] == 6.0
    assert report["Totals"]["write_request_units"] == 0.0  # nothing was written there directly
