"""A simulated three-zone Ray cluster on one machine (``ray.cluster_utils.Cluster``), run as its own
process by ``test_zones.py`` (the test session may already hold a private Ray).

The head has no zone; zone a has two nodes, zones b and c one each (node label
``dynamoray.io/zone``).  Three tables, one led by each host, take a concurrent write load while
zone a is lost in two steps:

1. the node holding host 0 is removed: Ray restarts the host on zone a's other node (the zone
   preference holds while the zone has a node);
2. zone a's last node is removed: the zone is gone, and Ray restarts its hosts on another zone's
   node (the preference is soft: nothing is stranded).

Prints one JSON object: where the hosts landed, the zones of the replicas, and per table what its
writer saw (acknowledged puts, failures) and what strongly consistent reads found afterwards.

    python tests/actors/zones_scenario.py LOG_DIR
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # every node on 127.0.0.1
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import ray
from ray.cluster_utils import Cluster as RayCluster

from dynamoray.actors import options
from dynamoray.actors.client import host_index
from dynamoray.actors.cluster import Cluster, ClusterConfig
from dynamoray.actors.replicas import replica_hosts
from dynamoray.core.commands import PutCommand, ScanSpec

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.actors.helpers import description as description_of
from tests.actors.scenario_load import LoadWriter, actor_nodes, start_load, stop_load, took_more

ZONES = ("zone-a", "zone-b", "zone-c")
HEALTH = {"health_check_period_ms": 500, "health_check_failure_threshold": 4, "health_check_timeout_ms": 500}
RESUMED = 40  # acknowledged puts per table after a removal that show the table is writable again
RESUME_TIMEOUT = 120.0


class Writer(LoadWriter):
    """Puts k0, k1, ... into one table, one after another; a put is *acknowledged* when it returned.
    A put that failed (its host's node gone, the host restarting) is tried again under a new key;
    whether the failed one landed is unknown, so it is not counted."""

    backoff = 0.2

    async def step(self, n: int) -> None:
        key = f"k{n}"
        await self.write(PutCommand({"p": {"S": key}, "v": {"N": str(n + 1)}}))
        self.acked.append(key)


async def create_tables(engine, hosts: int) -> list[str]:
    """One table per host, each led by that host (its id drawn until it hashes there)."""
    names = []
    for want in range(hosts):
        name = f"zoned{want}"
        wanted = description_of(name)
        for _ in range(500):
            if host_index(wanted["TableId"], hosts) == want:
                break
            wanted = description_of(name)
        await engine.create_table(wanted)
        names.append(name)
    return names


async def lose(ray_cluster, engine_cluster: Cluster, node, writers: list[Writer]) -> dict:
    """Remove ``node`` as a lost machine (its raylet and every process of it, no grace), then wait
    until every table took ``RESUMED`` more puts."""
    placed = actor_nodes()
    doomed = [await actor.call("pid") for actor in engine_cluster.actors() if placed.get(actor.name) == node.node_id]
    await asyncio.to_thread(ray_cluster.remove_node, node, False)
    for pid in doomed:  # workers outlive a killed raylet briefly; a lost machine takes them at once
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    at_removal = [len(writer.acked) for writer in writers]
    await took_more(writers, at_removal, RESUMED, RESUME_TIMEOUT, interval=0.1)
    return {"killed": len(doomed), "acked_at_removal": at_removal, "acked_after": [len(w.acked) for w in writers]}


async def verify(engine, writer: Writer) -> dict:
    """Strongly consistent reads of every acknowledged key, and a consistent Scan's count."""
    missing = []
    for key in writer.acked:
        item = await engine.get(writer.table, {"p": {"S": key}}, consistent=True)
        if item is None or item["p"] != {"S": key}:
            missing.append(key)
    page = await engine.scan(writer.table, ScanSpec(limit=100_000), consistent=True)
    return {"table": writer.table, "acked": len(writer.acked), "failures": writer.failures,
            "missing": missing[:20], "scanned": len(page.items)}


def zone_of_node(zone_nodes: dict[str, list], node_id: str | None, removed: set[str]) -> str:
    if node_id in removed:
        return "a removed node"
    return next((zone for zone, nodes in zone_nodes.items() if any(n.node_id == node_id for n in nodes)), "head")


async def scenario(engine, engine_cluster: Cluster, ray_cluster, zone_nodes: dict[str, list], config: ClusterConfig) -> dict:
    await engine.open()
    names = await create_tables(engine, config.hosts)
    placed = actor_nodes()
    host_names = [f"{config.prefix}-host-{i}" for i in range(config.hosts)]
    host_zones = [zone_of_node(zone_nodes, placed.get(name), set()) for name in host_names]
    replica_zones = [host_zones[h] for h in replica_hosts(0, config.hosts, config.replicas - 1)]

    writers = [Writer(engine, name) for name in names]
    tasks = await start_load(writers, warm=30)
    first = next(node for node in zone_nodes["zone-a"] if node.node_id == placed[host_names[0]])
    last = next(node for node in zone_nodes["zone-a"] if node is not first)
    removed = {first.node_id}
    step1 = await lose(ray_cluster, engine_cluster, first, writers)
    step1["host0_now_in"] = zone_of_node(zone_nodes, actor_nodes().get(host_names[0]), removed)
    removed.add(last.node_id)
    step2 = await lose(ray_cluster, engine_cluster, last, writers)
    now = actor_nodes()
    step2["hosts_now_in"] = [zone_of_node(zone_nodes, now.get(name), removed) for name in host_names]
    await stop_load(writers, tasks)
    tables = [await verify(engine, writer) for writer in writers]
    return {"host_zones": host_zones, "replica_zones": replica_zones, "step1": step1, "step2": step2,
            "tables": tables, "resumed": RESUMED}


def main() -> None:
    log_dir = sys.argv[1]
    ray_cluster = RayCluster(initialize_head=True, head_node_args={"num_cpus": 1, "_system_config": HEALTH})
    zone_nodes = {zone: [ray_cluster.add_node(num_cpus=0, labels={options.ZONE_LABEL: zone})
                         for _ in range(2 if zone == "zone-a" else 1)] for zone in ZONES}
    ray_cluster.wait_for_nodes()
    ray.init(address=ray_cluster.address, namespace=options.NAMESPACE, log_to_driver=False)
    config = ClusterConfig(log_dir=log_dir, hosts=3, replicas=3, gateway_follower=False, shards=2, prefix="zones")
    zones_seen = options.cluster_zones()
    cluster = Cluster(config)
    engine = cluster.start()
    try:
        result = asyncio.run(scenario(engine, cluster, ray_cluster, zone_nodes, config))
        result["zones_seen"] = zones_seen
    finally:
        asyncio.run(engine.close())
        ray.shutdown()
        ray_cluster.shutdown()
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
