"""Partition split and move on a simulated three-zone Ray cluster (``ray.cluster_utils.Cluster``:
a head plus one node in each of zone-a, zone-b, zone-c), under a concurrent write load.  Run as
its own process by ``test_zone_split.py`` (the test session may already hold a private Ray).

One table of 4 shards starts on one host (one range).  While four writers put new items and add
to a counter each, its ranges are spread over the three hosts, one per zone:

1. split [0, 4) at 2: [2, 4) to a host in another zone;
2. split the range that holds two shards again: its upper shard to the third host;
3. move the lowest range onto the third host (it joins its neighbour there), then split it off
   onto the first host again: three ranges, three hosts, three zones.

After each step the writers must take more writes (the table stays writable).  Then the writers
stop, and every acknowledged put is read back strongly consistent, each counter is compared with
its acknowledged additions, and a paged consistent Scan must list every item exactly once.

Prints one JSON object (``RESULT {...}``).

    python tests/actors/split_scenario.py LOG_DIR
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # every node on 127.0.0.1
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import dataclasses

import ray
from ray.cluster_utils import Cluster as RayCluster

from dynamoray.actors import options
from dynamoray.actors.cluster import Cluster, ClusterConfig
from dynamoray.core.commands import ScanSpec

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.actors.helpers import description as description_of, increment, put
from tests.actors.scenario_load import LoadWriter, actor_nodes, start_load, stop_load, took_more

ZONES = ("zone-a", "zone-b", "zone-c")
WRITERS = 4
RESUMED = 15  # acknowledged writes per writer after a step that show the table took writes again
STEP_TIMEOUT = 90.0
TABLE = "spread"


class Writer(LoadWriter):
    """Puts w<i>-0, w<i>-1, ... and adds 1 to counter c<i> after each acknowledged put.  A call
    that failed has an unknown outcome: counted in ``failures`` (its put is tried again under a
    new key; a failed addition may still have landed)."""

    def __init__(self, engine, index: int) -> None:
        super().__init__(engine, TABLE)
        self.index = index
        self.added = 0

    async def step(self, n: int) -> None:
        name = f"w{self.index}-{n}"
        await self.write(put(name, v=str(n + 1)))
        self.acked.append(name)
        await self.write(increment(f"c{self.index}"))
        self.added += 1


async def progressed(writers: list[Writer]) -> bool:
    """Wait until every writer took ``RESUMED`` more writes (False at the timeout)."""
    return await took_more(writers, [len(w.acked) for w in writers], RESUMED, STEP_TIMEOUT, interval=0.05)


async def spread(engine, writers: list[Writer]) -> list[dict]:
    """The three steps of the module docstring, each followed by writes; the maps after each."""
    wire = await engine.partitions(TABLE)
    first = wire["Ranges"][0][2]
    second, third = [h for h in range(3) if h != first]
    steps = []
    for change in (lambda: engine.split_partition(TABLE, 0, 2, second),  # [0,2) first, [2,4) second
                   lambda: engine.split_partition(TABLE, 0, 1, third),  # [0,1) first, [1,2) third
                   lambda: engine.move_partition(TABLE, 0, third),  # [0,2) third (neighbours joined)
                   lambda: engine.split_partition(TABLE, 0, 1, first)):  # [0,1) first, [1,2) third
        try:
            wire = await change()
        except Exception as error:  # noqa: BLE001 - reported, the test fails on it
            steps.append({"error": repr(error)})
            continue
        steps.append({"ranges": wire["Ranges"], "version": wire["Version"], "resumed": await progressed(writers)})
    return steps


async def verify(engine, writers: list[Writer]) -> dict:
    missing, counters = [], []
    for writer in writers:
        for name in writer.acked:
            item = await engine.get(TABLE, {"p": {"S": name}}, consistent=True)
            if item is None or item["p"] != {"S": name}:
                missing.append(name)
        counter = await engine.get(TABLE, {"p": {"S": f"c{writer.index}"}}, consistent=True)
        counters.append(int(counter["n"]["N"]) if counter else 0)
    scanned, pages, spec = [], 0, ScanSpec(limit=37)
    while True:
        page = await engine.scan(TABLE, spec, consistent=True)
        scanned += [item["p"]["S"] for item in page.items]
        pages += 1
        if page.last_evaluated_key is None:
            break
        spec = dataclasses.replace(spec, exclusive_start=page.last_evaluated_key)
    return {"missing": missing[:20], "counters": counters, "scanned": scanned, "pages": pages}


async def scenario(engine, config: ClusterConfig, zone_nodes: dict) -> dict:
    await engine.open()
    await engine.create_table(description_of(TABLE))
    writers = [Writer(engine, i) for i in range(WRITERS)]
    tasks = await start_load(writers, warm=20)
    steps = await spread(engine, writers)
    await stop_load(writers, tasks)
    final = await engine.partitions(TABLE)
    placed = actor_nodes()
    node_zone = {node.node_id: zone for zone, nodes in zone_nodes.items() for node in nodes}
    range_zones = [node_zone.get(placed.get(f"{config.prefix}-host-{host}"), "head") for _, _, host in final["Ranges"]]
    checked = await verify(engine, writers)
    return {"steps": steps, "final": final, "range_zones": range_zones, **checked,
            "writers": [{"acked": w.acked, "added": w.added, "failures": w.failures} for w in writers]}


def main() -> None:
    log_dir = sys.argv[1]
    ray_cluster = RayCluster(initialize_head=True, head_node_args={"num_cpus": 1})
    zone_nodes = {zone: [ray_cluster.add_node(num_cpus=0, labels={options.ZONE_LABEL: zone})] for zone in ZONES}
    ray_cluster.wait_for_nodes()
    ray.init(address=ray_cluster.address, namespace=options.NAMESPACE, log_to_driver=False)
    config = ClusterConfig(log_dir=log_dir, hosts=3, shards=4, prefix="split")
    cluster = Cluster(config)
    engine = cluster.start()
    try:
        result = asyncio.run(scenario(engine, config, zone_nodes))
    finally:
        asyncio.run(engine.close())
        ray.shutdown()
        ray_cluster.shutdown()
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
