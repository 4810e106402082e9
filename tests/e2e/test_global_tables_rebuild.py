"""Global tables across a restart that rebuilds a region from its snapshots: the items' versions
are in the snapshots, so a late replicated write older than an item's last change loses after the
restart as it would have before, and the regions still converge."""

from __future__ import annotations

import asyncio

import pytest

from dynamoray.gateway.regions import RegionClient, RegionMap

from .global_regions import items, replica_active, snapshotted, start_regions, wait_for

EAST, WEST = "us-east-1", "eu-west-1"


@pytest.fixture(scope="module")
def regions(tmp_path_factory):
    found = start_regions([EAST, WEST], tmp_path_factory.mktemp("rebuild"), snapshots=True)
    yield found
    for region in found.values():
        region.stop()


def version_in(region, table: str, p: str) -> tuple:
    key = {"p": {"S": p}}
    return next(s.version_of(key) for s in region.engine._groups[table].states if s.version_of(key) is not None)


def apply_changes(regions, target: str, body: dict) -> dict:
    async def call() -> dict:
        mapping = {n: {"endpoint": r.endpoint, "access_key_id": "AKIDGLOBALTEST", "secret_access_key": "global-secret-key"}
                   for n, r in regions.items()}
        client = RegionClient(RegionMap.from_mapping(mapping, WEST if target == EAST else EAST))
        try:
            return await client.call(target, "ApplyChanges", body)
        finally:
            await client.close()
    return asyncio.run(call())


def test_a_late_older_write_loses_after_a_rebuild_from_snapshots_and_the_regions_converge(regions):
    east, west = regions[EAST].client(), regions[WEST].client()
    east.create_table(TableName="rebuilt", KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                      AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                      BillingMode="PAY_PER_REQUEST")
    east.update_table(TableName="rebuilt", ReplicaUpdates=[{"Create": {"RegionName": WEST}}])
    wait_for(lambda: replica_active(east, "rebuilt", WEST))
    east.put_item(TableName="rebuilt", Item={"p": {"S": "x"}, "v": {"S": "east-1"}})
    east.put_item(TableName="rebuilt", Item={"p": {"S": "gone"}, "v": {"S": "east-1"}})
    east.delete_item(TableName="rebuilt", Key={"p": {"S": "gone"}})
    wait_for(lambda: {k: i["v"]["S"] for k, i in items(west, "rebuilt").items()} == {"x": "east-1"})
    x_version, gone_version = version_in(regions[EAST], "rebuilt", "x"), version_in(regions[EAST], "rebuilt", "gone")
    snapshotted(regions[EAST], "rebuilt")
    regions[EAST].stop()
    regions[EAST].start()
    engine = regions[EAST].engine
    assert engine.replayed < 8  # rebuilt from the snapshots, not from the items' changes
    assert version_in(regions[EAST], "rebuilt", "x") == x_version
    assert version_in(regions[EAST], "rebuilt", "gone") == gone_version
    late = [{"Keys": {"p": {"S": "x"}}, "Item": {"p": {"S": "x"}, "v": {"S": "late"}},
             "Version": [x_version[0] - 1, WEST]},
            {"Keys": {"p": {"S": "gone"}}, "Item": {"p": {"S": "gone"}, "v": {"S": "late"}},
             "Version": [gone_version[0] - 1, WEST]}]
    answer = apply_changes(regions, EAST, {"TableName": "rebuilt", "SourceRegion": WEST, "Changes": late})
    assert answer == {"Applied": 0, "Received": 2}
    east = regions[EAST].client()
    assert {k: i["v"]["S"] for k, i in items(east, "rebuilt").items()} == {"x": "east-1"}
    # later writes in both regions still converge on both sides
    west.put_item(TableName="rebuilt", Item={"p": {"S": "x"}, "v": {"S": "west-2"}})
    east.put_item(TableName="rebuilt", Item={"p": {"S": "y"}, "v": {"S": "east-2"}})
    for client in (east, west):
        wait_for(lambda c=client: {k: i["v"]["S"] for k, i in items(c, "rebuilt").items()}
                 == {"x": "west-2", "y": "east-2"})
