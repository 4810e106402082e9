"""Global tables end to end: regions side by side on 127.0.0.1 (``global_regions.py``), each its
own gateway, engine and durable log, replicating through each other's replication endpoint."""

from __future__ import annotations

import time

import pytest
import requests
from botocore.exceptions import ClientError

from .global_regions import items, replica_active, start_regions, wait_for

EAST, WEST, EU = "us-east-1", "us-west-2", "eu-west-1"


@pytest.fixture(scope="module")
def regions(tmp_path_factory):
    found = start_regions([EAST, WEST, EU], tmp_path_factory.mktemp("regions"))
    yield found
    for region in found.values():
        region.stop()


_counter = iter(range(10**6))


def new_table(client, name_prefix: str = "gt") -> str:
    name = f"{name_prefix}_{next(_counter)}"
    client.create_table(TableName=name, KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    return name


def make_global(regions, name: str, source: str, targets: list[str]) -> None:
    client = regions[source].client()
    for target in targets:
        client.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": target}}])
        wait_for(lambda: replica_active(client, name, target))  # noqa: B023  (called before the loop moves on)


def put(client, table: str, key: str, value: str) -> None:
    client.put_item(TableName=table, Item={"p": {"S": key}, "v": {"S": value}})


def test_writes_in_either_region_appear_in_the_other_with_the_existing_items(regions):
    east, west = regions[EAST].client(), regions[WEST].client()
    table = new_table(east)
    put(east, table, "before", "1")  # existing items are copied to the new replica
    response = east.update_table(TableName=table, ReplicaUpdates=[{"Create": {"RegionName": WEST}}])
    description = response["TableDescription"]
    assert description["Replicas"] == [{"RegionName": WEST, "ReplicaStatus": "CREATING"}]
    assert description["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    wait_for(lambda: replica_active(east, table, WEST))
    described = east.describe_table(TableName=table)["Table"]
    assert described["GlobalTableVersion"] == "2019.11.21"
    assert west.describe_table(TableName=table)["Table"]["Replicas"] == [{"RegionName": EAST, "ReplicaStatus": "ACTIVE"}]
    put(east, table, "from-east", "e")
    put(west, table, "from-west", "w")
    west.delete_item(TableName=table, Key={"p": {"S": "before"}})
    expected = {"from-east": "e", "from-west": "w"}
    for client in (east, west):
        wait_for(lambda c=client: {k: i["v"]["S"] for k, i in items(c, table).items()} == expected)
    # the stream of each region shows every change made there and replicated into it
    metrics = requests.get(f"{regions[EAST].endpoint}/metrics", timeout=10).text
    assert f'dynamoray_replication_sent_total{{ReceivingRegion="{WEST}",SourceRegion="{EAST}",TableName="{table}"}}' in metrics
    assert "dynamodb_ReplicationLatency" in metrics


def test_concurrent_conflicting_writes_converge_to_the_same_value_everywhere(regions):
    east, west, eu = (regions[n].client() for n in (EAST, WEST, EU))
    table = new_table(east)
    make_global(regions, table, EAST, [WEST, EU])
    clients = {EAST: east, WEST: west, EU: eu}
    for round_ in range(15):  # the same items written in every region at once, without waiting
        for name, client in clients.items():
            put(client, table, f"k{round_ % 5}", f"{name}-{round_}")
            if round_ % 4 == 3:
                client.delete_item(TableName=table, Key={"p": {"S": f"k{(round_ + 1) % 5}"}})

    def converged():
        seen = [items(c, table) for c in clients.values()]
        return seen[0] == seen[1] == seen[2] and seen[0]

    time.sleep(0.3)  # every replicator has polled since the last write
    wait_for(lambda: all(s.pending == 0 for n in clients for s in regions[n].service.metrics()))
    final = wait_for(converged)
    time.sleep(0.3)
    assert converged() == final  # nothing still in flight changes it afterwards
    assert all(item["v"]["S"].rsplit("-", 1)[0] in clients for item in final.values())


def test_a_region_stopped_for_a_while_catches_up_with_nothing_lost(regions):
    east = regions[EAST].client()
    table = new_table(east)
    make_global(regions, table, EAST, [WEST])
    put(regions[WEST].client(), table, "w0", "0")
    wait_for(lambda: "w0" in items(east, table))
    regions[WEST].stop()
    try:
        for i in range(30):  # written while the other region is down: retried with backoff
            put(east, table, f"e{i}", str(i))
    finally:
        regions[WEST].start()
    west = regions[WEST].client()
    put(west, table, "w1", "1")  # and the restarted region's own writes still reach the other
    expected = {f"e{i}" for i in range(30)} | {"w0", "w1"}
    wait_for(lambda: set(items(west, table)) == expected)
    wait_for(lambda: set(items(east, table)) == expected)


def test_removing_a_replica_stops_replication_and_deletes_it_there(regions):
    east, eu = regions[EAST].client(), regions[EU].client()
    table = new_table(east)
    make_global(regions, table, EAST, [EU])
    put(east, table, "a", "1")
    wait_for(lambda: "a" in items(eu, table))
    east.update_table(TableName=table, ReplicaUpdates=[{"Delete": {"RegionName": EU}}])
    wait_for(lambda: "Replicas" not in east.describe_table(TableName=table)["Table"])
    assert "GlobalTableVersion" not in east.describe_table(TableName=table)["Table"]
    with pytest.raises(ClientError) as raised:
        eu.describe_table(TableName=table)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert not [r for r in regions[EAST].service.metrics() if r.table == table]
    put(east, table, "b", "2")  # a plain table again
    assert set(items(east, table)) == {"a", "b"}


def test_replica_updates_errors(regions):
    east = regions[EAST].client()
    table = new_table(east)

    def error(**kwargs):
        with pytest.raises(ClientError) as raised:
            east.update_table(TableName=table, **kwargs)
        return raised.value.response["Error"]

    found = error(ReplicaUpdates=[{"Create": {"RegionName": "ap-nowhere-1"}}])
    assert found == {"Code": "ValidationException", "Message": (
        "One or more parameter values were invalid: Region ap-nowhere-1 is not a region of this deployment "
        "(see --regions-file)")}
    assert error(ReplicaUpdates=[{"Create": {"RegionName": EAST}}])["Message"] == (
        f"One or more parameter values were invalid: Cannot add a replica in {EAST}, the region of the table itself")
    assert error(ReplicaUpdates=[{"Delete": {"RegionName": WEST}}])["Message"] == (
        f"One or more parameter values were invalid: Table {table} has no replica in region {WEST}")
    east.update_table(TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    assert error(ReplicaUpdates=[{"Create": {"RegionName": WEST}}])["Message"] == (
        f"One or more parameter values were invalid: Table {table} has a stream with StreamViewType KEYS_ONLY; "
        "a global table needs NEW_AND_OLD_IMAGES")
    other = new_table(east)
    make_global(regions, other, EAST, [WEST])
    with pytest.raises(ClientError) as raised:
        east.update_table(TableName=other, StreamSpecification={"StreamEnabled": False})
    assert raised.value.response["Error"]["Message"] == (
        "One or more parameter values were invalid: Disabling Stream is not allowed for a Global Table replica.")
    with pytest.raises(ClientError) as raised:
        east.update_table(TableName=other, ReplicaUpdates=[{"Create": {"RegionName": WEST}}])
    assert raised.value.response["Error"]["Message"] == (
        f"Failed to create the new replica of table with name: '{other}' because a replica already exists "
        f"in region {WEST}")


def test_the_2017_api_maps_onto_the_same_replicas(regions):
    east, west = regions[EAST].client(), regions[WEST].client()
    table = new_table(east)
    with pytest.raises(ClientError) as raised:
        east.describe_global_table(GlobalTableName=table)
    assert raised.value.response["Error"] == {
        "Code": "GlobalTableNotFoundException", "Message": f"Global table with name: '{table}' does not exist"}
    with pytest.raises(ClientError) as raised:  # the legacy version wants the stream first
        east.create_global_table(GlobalTableName=table, ReplicationGroup=[{"RegionName": EAST}, {"RegionName": WEST}])
    assert raised.value.response["Error"]["Message"] == (
        f"One or more parameter values were invalid: Table: {table} in region: {EAST} does not have streams "
        "enabled with NEW_AND_OLD_IMAGES")
    east.update_table(TableName=table, StreamSpecification={"StreamEnabled": True,
                                                            "StreamViewType": "NEW_AND_OLD_IMAGES"})
    put(east, table, "a", "1")
    created = east.create_global_table(GlobalTableName=table, ReplicationGroup=[{"RegionName": EAST},
                                                                                {"RegionName": WEST}])
    group = created["GlobalTableDescription"]["ReplicationGroup"]
    assert [(g["RegionName"], g["ReplicaStatus"]) for g in group] == [(EAST, "ACTIVE"), (WEST, "CREATING")]
    wait_for(lambda: replica_active(east, table, WEST))
    wait_for(lambda: "a" in items(west, table))
    described = east.describe_global_table(GlobalTableName=table)["GlobalTableDescription"]
    assert described["GlobalTableStatus"] == "ACTIVE" and described["GlobalTableName"] == table
    assert described["GlobalTableArn"] == f"arn:aws:dynamodb::000000000000:global-table/{table}"
    assert east.describe_table(TableName=table)["Table"]["GlobalTableVersion"] == "2017.11.29"
    listed = east.list_global_tables(RegionName=WEST)["GlobalTables"]
    assert {"GlobalTableName": table, "ReplicationGroup": [{"RegionName": EAST}, {"RegionName": WEST}]} in listed
    with pytest.raises(ClientError) as raised:
        east.update_global_table(GlobalTableName=table, ReplicaUpdates=[{"Create": {"RegionName": WEST}}])
    assert raised.value.response["Error"]["Code"] == "ReplicaAlreadyExistsException"
    with pytest.raises(ClientError) as raised:
        east.update_global_table(GlobalTableName=table, ReplicaUpdates=[{"Delete": {"RegionName": EU}}])
    assert raised.value.response["Error"]["Code"] == "ReplicaNotFoundException"
    east.update_global_table(GlobalTableName=table, ReplicaUpdates=[{"Delete": {"RegionName": WEST}}])
    wait_for(lambda: "Replicas" not in east.describe_table(TableName=table)["Table"])
    assert table not in [g["GlobalTableName"] for g in east.list_global_tables()["GlobalTables"]]
