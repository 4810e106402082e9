"""Global tables on the Ray engine: one region on a ``RayEngine`` (catalog and partition host
actors on the session's Ray) and one on the local engine replicate writes both ways, a table's
settings reach the other, and conflicting writes to the same items converge."""

from __future__ import annotations

import time

import pytest

from .global_regions import items, replica_active, wait_for
from .ray_regions import EAST, WEST, ray_and_local_regions


@pytest.fixture(scope="module")
def regions(ray_session, tmp_path_factory):
    with ray_and_local_regions(tmp_path_factory.mktemp("ray-regions")) as found:
        yield found


def values(client, table: str) -> dict:
    return {k: i["v"]["S"] for k, i in items(client, table).items()}


def test_two_regions_one_on_ray_replicate_both_ways_and_converge_under_conflicts(regions):
    east, west = regions[EAST].client(), regions[WEST].client()
    east.create_table(TableName="onray", KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                      AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                      BillingMode="PAY_PER_REQUEST")
    east.put_item(TableName="onray", Item={"p": {"S": "before"}, "v": {"S": "0"}})  # backfilled
    east.update_table(TableName="onray", ReplicaUpdates=[{"Create": {"RegionName": WEST}}])
    wait_for(lambda: replica_active(east, "onray", WEST), timeout=60)
    east.put_item(TableName="onray", Item={"p": {"S": "from-ray"}, "v": {"S": "e"}})
    west.put_item(TableName="onray", Item={"p": {"S": "from-local"}, "v": {"S": "w"}})
    expected = {"before": "0", "from-ray": "e", "from-local": "w"}
    for client in (east, west):
        wait_for(lambda c=client: values(c, "onray") == expected, timeout=60)
    for round_ in range(12):  # the same items written in both regions at once
        for name, client in ((EAST, east), (WEST, west)):
            client.put_item(TableName="onray", Item={"p": {"S": f"k{round_ % 4}"}, "v": {"S": f"{name}-{round_}"}})
            if round_ % 5 == 4:
                client.delete_item(TableName="onray", Key={"p": {"S": f"k{(round_ + 1) % 4}"}})

    def converged():
        seen = values(east, "onray"), values(west, "onray")
        return seen[0] == seen[1] and seen[0]

    time.sleep(0.3)
    wait_for(lambda: all(s.pending == 0 for n in (EAST, WEST) for s in regions[n].service.metrics()), timeout=60)
    final = wait_for(converged, timeout=60)
    time.sleep(0.3)
    assert converged() == final
    assert {k for k in final if k.startswith("k")} and all(
        v.rsplit("-", 1)[0] in (EAST, WEST) for k, v in final.items() if k.startswith("k"))
    # a setting changed on the Ray region reaches the other
    east.update_table(TableName="onray", BillingMode="PROVISIONED",
                      ProvisionedThroughput={"ReadCapacityUnits": 2, "WriteCapacityUnits": 3})
    wait_for(lambda: west.describe_table(TableName="onray")["Table"]["BillingModeSummary"]["BillingMode"]
             == "PROVISIONED", timeout=60)
