"""A simulated three-zone Ray cluster on one machine (``ray.cluster_utils.Cluster``), run as its own
process by ``test_zones.py`` (the test session may already hold a private Ray).

Zone a has two nodes, zones b and c one each.  The table is made so that its leader is host 0 (zone
a).  Prints one JSON object: where the hosts landed, the zones of the table's replicas, and what the
writer saw before and after the node holding the leader was removed mid-load (Ray restarts the host
on zone a's other node).

    python tests/actors/zones_scenario.py LOG_DIR
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # every node on 127.0.0.1
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import ray  # noqa: E402
from ray.cluster_utils import Cluster as RayCluster  # noqa: E402

from dynamoray.actors import options  # noqa: E402
from dynamoray.actors.client import host_index  # noqa: E402
from dynamoray.actors.cluster import Cluster, ClusterConfig  # noqa: E402
from dynamoray.actors.replicas import replica_hosts  # noqa: E402
from dynamoray.core.commands import PutCommand  # noqa: E402
from dynamoray.core.errors import DynamoError  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.actors.helpers import description as description_of  # noqa: E402

ZONES = ("zone-a", "zone-b", "zone-c")
TABLE = "zoned"
HEALTH = {"health_check_period_ms": 500, "health_check_failure_threshold": 4, "health_check_timeout_ms": 500}


def actor_nodes() -> dict[str, str]:
    """Each live named actor of the namespace: the id of the node it runs on."""
    out = {}
    for info in ray._private.state.actors().values():
        if info.get("State") == "ALIVE" and info.get("Name"):
            out[info["Name"]] = info["Address"]["NodeID"]
    return out


class Writer:
    """Puts k0, k1, ... one after another; a put is *acknowledged* when it returned.  A put that
    failed (the leader's node gone, its host restarting) is tried again under a new key; whether the
    failed one landed is unknown, so it is not counted."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.acked: list[str] = []
        self.failures = 0
        self.stop = False

    async def run(self) -> None:
        n = 0
        while not self.stop:
            key = f"k{n}"
            n += 1
            command = PutCommand({"p": {"S": key}, "v": {"N": str(n)}})
            try:
                await asyncio.wait_for(self.engine.write(TABLE, command), 30)
            except (DynamoError, asyncio.TimeoutError, Exception):  # noqa: BLE001 - unknown outcome
                self.failures += 1
                await asyncio.sleep(0.2)
                continue
            self.acked.append(key)


def cluster_actors_on(cluster: Cluster, placed: dict[str, str], node_id: str) -> list:
    return [actor for actor in cluster.actors() if placed.get(actor.name) == node_id]


async def scenario(engine, engine_cluster, ray_cluster, zone_nodes: dict[str, list], config: ClusterConfig) -> dict:
    await engine.open()
    wanted = description_of(TABLE)
    while host_index(wanted["TableId"], config.hosts) != 0:  # its leader in zone a, which has a spare node
        wanted = description_of(TABLE)
    await engine.create_table(wanted)
    description = await engine.describe_table(TABLE)
    leader = host_index(description["TableId"], config.hosts)
    placed = actor_nodes()
    node_zone = {node.node_id: zone for zone, nodes in zone_nodes.items() for node in nodes}
    host_zones = [node_zone.get(placed.get(f"{config.prefix}-host-{i}")) for i in range(config.hosts)]
    replica_zones = [host_zones[h] for h in replica_hosts(leader, config.hosts, config.replicas - 1)]

    writer = Writer(engine)
    task = asyncio.get_running_loop().create_task(writer.run())
    while len(writer.acked) < 100:
        await asyncio.sleep(0.05)
    before = len(writer.acked)
    lost_zone = host_zones[leader]
    lost = next(node for node in zone_nodes[lost_zone] if node.node_id == placed[f"{config.prefix}-host-{leader}"])
    doomed = [await actor.call("pid") for actor in cluster_actors_on(engine_cluster, placed, lost.node_id)]
    await asyncio.to_thread(ray_cluster.remove_node, lost, False)  # kill its raylet: no grace
    for pid in doomed:  # and every process of the machine, as losing it would (workers outlive a raylet briefly)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    removed_at = len(writer.acked)
    deadline = time.monotonic() + 120
    while len(writer.acked) < removed_at + 100 and time.monotonic() < deadline:  # writes resume
        await asyncio.sleep(0.1)
    writer.stop = True
    await task
    missing = []
    for key in writer.acked:  # every acknowledged write is there, on the (restarted) leader
        item = await engine.get(TABLE, {"p": {"S": key}}, consistent=True)
        if item is None or item["p"] != {"S": key}:
            missing.append(key)
    after = actor_nodes()
    now_on = after.get(f"{config.prefix}-host-{leader}")
    moved_to = node_zone.get(now_on, "head") if now_on != lost.node_id else "the removed node"
    page = await engine.scan(TABLE, _scan_spec(), consistent=True)
    return {"host_zones": host_zones, "leader": leader, "replica_zones": replica_zones, "lost_zone": lost_zone,
            "acked_before": before, "acked_at_removal": removed_at, "acked": len(writer.acked),
            "failures": writer.failures, "killed": len(doomed), "missing": missing[:20], "leader_now_in": moved_to,
            "scanned": len(page.items) if hasattr(page, "items") else None}


def _scan_spec():
    from dynamoray.core.commands import ScanSpec

    return ScanSpec(limit=100_000)


def main() -> None:
    log_dir = sys.argv[1]
    ray_cluster = RayCluster(initialize_head=True, head_node_args={"num_cpus": 1, "_system_config": HEALTH})
    zone_nodes = {zone: [ray_cluster.add_node(num_cpus=0, resources={zone: 1000})
                         for _ in range(2 if zone == "zone-a" else 1)] for zone in ZONES}
    ray_cluster.wait_for_nodes()
    ray.init(address=ray_cluster.address, namespace=options.NAMESPACE, log_to_driver=False)
    config = ClusterConfig(log_dir=log_dir, hosts=3, replicas=3, gateway_follower=False, shards=2,
                           prefix="zones")
    cluster = Cluster(config)
    engine = cluster.start()
    try:
        result = asyncio.run(scenario(engine, cluster, ray_cluster, zone_nodes, config))
        result["zones_seen"] = options.cluster_zones()
    finally:
        asyncio.run(engine.close())
        ray.shutdown()
        ray_cluster.shutdown()
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
