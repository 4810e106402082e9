"""Global tables with several gateway processes: ``dynamoray serve --gateways 2 --regions-file F``
on the Ray engine (as a user runs it) and a second region in this process.  The replica is created
through the passive gateway process; the first process picks it up, drives it and replicates
through its Ray actors; writes through either process of the first region, and in the second
region, reach the other region, and the other region's changes land on whichever process accepts
them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from dynamoray.gateway.runner import free_port

from .global_regions import ACCESS_KEY as KEY
from .global_regions import SECRET_KEY as SECRET
from .global_regions import Region, items, replica_active, wait_for
from .test_gateway_replicas import _seen, pinned

BIN = Path(sys.executable).parent / "dynamoray"
EAST, WEST = "us-east-1", "eu-west-1"


@pytest.fixture(scope="module")
def regions(tmp_path_factory):
    root = tmp_path_factory.mktemp("gateways-global")
    ports = {EAST: free_port(), WEST: free_port()}
    mapping = {name: {"endpoint": f"http://127.0.0.1:{port}", "access_key_id": KEY, "secret_access_key": SECRET}
               for name, port in ports.items()}
    regions_file = root / "regions.json"
    regions_file.write_text(json.dumps({"regions": mapping}))
    env = dict(os.environ, DYNAMORAY_ROOT_CREDENTIALS=f"{KEY}:{SECRET}", RAY_USAGE_STATS_ENABLED="0",
               RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    server_log = open(root / "east.log", "wb")  # noqa: SIM115 - closed at the end
    print(f"east's log: {root / 'east.log'}")
    proc = subprocess.Popen(
        [str(BIN), "serve", "--gateways", "2", "--port", str(ports[EAST]), "--ttl-interval", "0",
         "--region", EAST, "--regions-file", str(regions_file), "--data-dir", str(root / "east")],
        env=env, stdout=subprocess.DEVNULL, stderr=server_log, start_new_session=True)
    west = Region(WEST, root / "west", mapping).start()
    endpoint = mapping[EAST]["endpoint"]
    seen: dict[int, int] = {}
    deadline = time.monotonic() + 180
    while len(seen) < 2 and time.monotonic() < deadline:
        if proc.poll() is not None:
            west.stop()
            raise AssertionError(f"server exited: {(root / 'east.log').read_text()[-3000:]}")
        try:
            index, pid = _seen(endpoint)
            seen[index] = pid
        except requests.ConnectionError:
            time.sleep(0.1)
    try:
        assert len(seen) == 2, seen
        yield {"endpoint": endpoint, "pids": set(seen.values())}, west
    finally:
        west.stop()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            server_log.close()


def values(client, table: str) -> dict:
    return {k: i["v"]["S"] for k, i in items(client, table).items()}


def test_two_gateways_of_a_region_replicate_through_the_first_and_answer_the_endpoint(regions):
    served, west_region = regions
    first, second = pinned(served, 0, KEY, SECRET), pinned(served, 1, KEY, SECRET)
    west = west_region.client()
    second.create_table(TableName="gwt", KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    second.put_item(TableName="gwt", Item={"p": {"S": "before"}, "v": {"S": "0"}})
    # through the passive process: the first one notices the CREATING replica and drives it
    second.update_table(TableName="gwt", ReplicaUpdates=[{"Create": {"RegionName": WEST}}])
    wait_for(lambda: replica_active(first, "gwt", WEST), timeout=120)
    expected = {"before": "0"}
    for i in range(10):
        for name, client in (("first", first), ("second", second)):
            client.put_item(TableName="gwt", Item={"p": {"S": f"{name}-{i}"}, "v": {"S": name}})
            expected[f"{name}-{i}"] = name
        west.put_item(TableName="gwt", Item={"p": {"S": f"west-{i}"}, "v": {"S": "west"}})
        expected[f"west-{i}"] = "west"
    for client in (first, second, west):
        wait_for(lambda c=client: values(c, "gwt") == expected, timeout=120)
    # a replica removed through the passive process stops replicating cleanly
    second.update_table(TableName="gwt", ReplicaUpdates=[{"Delete": {"RegionName": WEST}}])
    wait_for(lambda: not first.describe_table(TableName="gwt")["Table"].get("Replicas"), timeout=120)
    wait_for(lambda: "gwt" not in west.list_tables()["TableNames"], timeout=120)
    first.put_item(TableName="gwt", Item={"p": {"S": "alone"}, "v": {"S": "1"}})
    assert values(first, "gwt")["alone"] == "1"
