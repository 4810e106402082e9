"""Replicas and consistency (``actors/replicas.py``, ``actors/follower.py``).

In-process (no Ray): where the engine sends each read, read-your-writes, fall back to the leader,
the metrics.  On real Ray actors, with 3 replicas: a strongly consistent read after an acknowledged
write always sees it; eventual reads converge; kill -9 of a follower's host loses and blocks
nothing; two leaders of one partition never both append (fencing).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

from dynamoray.actors.catalog_service import CatalogService
from dynamoray.actors.client import LocalActor, RayEngine, host_index
from dynamoray.actors.follower import FollowerSet
from dynamoray.actors.host import PartitionHost, SharedLog
from dynamoray.actors.replicas import host_followers, replica_hosts
from dynamoray.core import errors
from dynamoray.core.commands import QuerySpec, ScanSpec
from dynamoray.core.errors import DynamoError
from dynamoray.events.memory import MemoryLog
from dynamoray.gateway import metrics

from .conftest import start_cluster
from .helpers import description, key, put, retrying


def run(coro):
    return asyncio.run(coro)


def value(item):
    return None if item is None else item["v"]["S"]


class Flaky:
    """A host whose follower calls fail as if its process were down (the leader calls work)."""

    def __init__(self, inner: LocalActor) -> None:
        self.inner = inner
        self.name = inner.name
        self.down = False
        self.replica_calls = 0

    async def call(self, method: str, *args):
        if method.startswith("replica_"):  # follower reads, and the probe (replica_lag)
            self.replica_calls += method != "replica_lag"
            if self.down:
                raise errors.service_unavailable()
        return await self.inner.call(method, *args)


def engine_on(log, hosts: int = 3, *, gateway_follower: bool, host_followers_: int, max_staleness: float = 0):
    plain = [PartitionHost(SharedLog(log)) for _ in range(hosts)]
    callers = [Flaky(LocalActor(h, name=f"host-{i}")) for i, h in enumerate(plain)]
    followers = FollowerSet(SharedLog(log), max_staleness=max_staleness) if gateway_follower else None
    engine = RayEngine(LocalActor(CatalogService(lambda: log)), callers, stream_log=log, batching=False,
                       followers=followers, host_followers=host_followers_)
    return engine, callers


# --- placement ---------------------------------------------------------------------------------


def test_replica_sets_start_at_the_leader_and_never_repeat_a_host():
    assert replica_hosts(2, 4, 2) == [2, 3, 0]
    assert replica_hosts(1, 2, 2) == [1, 0]  # two hosts hold at most two replicas
    assert replica_hosts(0, 1, 2) == [0]
    assert host_followers(3, hosts=2, gateway_follower=True) == 1  # leader, gateway, host h+1
    assert host_followers(3, hosts=3, gateway_follower=False) == 2
    assert host_followers(2, hosts=2, gateway_follower=True) == 0
    assert host_followers(1, hosts=4, gateway_follower=False) == 0


def test_hosts_are_spread_over_zones_so_consecutive_hosts_are_in_distinct_zones():
    from dynamoray.actors import options

    zones = ["zone-a", "zone-b", "zone-c"]
    placed = [options.zone_of(i, zones) for i in range(6)]
    assert placed == ["zone-a", "zone-b", "zone-c"] * 2
    for leader in range(6):  # every partition's 3 replicas land in 3 distinct zones
        assert len({placed[h] for h in replica_hosts(leader, 6, 2)}) == 3
    assert options.zone_of(3, []) is None  # one machine: no zone labels, no constraint
    placed_b = options.host_options("h", zone="zone-b")  # zone b preferred, any other node as a fallback
    assert placed_b["label_selector"] == {options.ZONE_LABEL: "zone-b"}
    assert placed_b["fallback_strategy"] == [{"label_selector": {options.ZONE_LABEL: "!zone-b"}}]
    assert "label_selector" not in options.host_options("h") and "resources" not in options.host_options("h")


# --- routing, in one process --------------------------------------------------------------------


def test_eventual_reads_use_the_gateway_follower_and_strong_reads_the_leader():
    engine, _ = engine_on(MemoryLog(), gateway_follower=True, host_followers_=0, max_staleness=60)

    async def scenario():
        await engine.create_table(description("t"))
        seen = []
        for i in range(5):  # each eventual read right after its acknowledged write sees it
            await engine.write("t", put("a", v=str(i)))
            seen.append(value(await engine.get("t", key("a"))))
        strong = value(await engine.get("t", key("a"), consistent=True))
        page = await engine.query("t", QuerySpec(hash_value={"S": "a"}))
        scan = await engine.scan("t", ScanSpec(), consistent=True)
        return seen, strong, page.count, scan.count, dict(engine.reads)

    seen, strong, queried, scanned, reads = run(scenario())
    assert seen == ["0", "1", "2", "3", "4"] and strong == "4"
    assert (queried, scanned) == (1, 1)
    assert reads == {("gateway", False): 6, ("leader", True): 2}


def test_without_a_gateway_follower_reads_rotate_over_the_three_replicas():
    engine, hosts = engine_on(MemoryLog(), gateway_follower=False, host_followers_=2)

    async def scenario():
        created = await engine.create_table(description("t"))
        await engine.write("t", put("a", v="1"))
        values = [value(await engine.get("t", key("a"))) for _ in range(30)]
        return created["TableId"], values, dict(engine.reads)

    table_id, values, reads = run(scenario())
    assert values == ["1"] * 30
    assert reads == {("host", False): 20, ("leader", False): 10}
    leader = host_index(table_id, 3)
    followers = replica_hosts(leader, 3, 2)[1:]
    assert [hosts[i].replica_calls for i in followers] == [10, 10]
    assert hosts[leader].replica_calls == 0


def test_a_follower_that_cannot_answer_hands_its_reads_to_the_leader():
    engine, hosts = engine_on(MemoryLog(), gateway_follower=False, host_followers_=2)

    async def scenario():
        created = await engine.create_table(description("t"))
        await engine.write("t", put("a", v="1"))
        follower = replica_hosts(host_index(created["TableId"], 3), 3, 2)[1]
        hosts[follower].down = True
        values = [value(await engine.get("t", key("a"))) for _ in range(30)]
        return values, hosts[follower].replica_calls, dict(engine.reads)

    values, calls_to_down, reads = run(scenario())
    assert values == ["1"] * 30  # nothing failed
    assert calls_to_down == 1  # tried once, then skipped while it is down
    assert reads == {("host", False): 10, ("leader", False): 20}


def test_metrics_expose_the_lag_of_each_follower_and_the_reads_served():
    log = MemoryLog()
    engine, _ = engine_on(log, gateway_follower=True, host_followers_=0, max_staleness=60)

    async def scenario():
        created = await engine.create_table(description("t"))
        await engine.write("t", put("a", v="1"))
        await engine.get("t", key("a"))
        writer = log.open_writer(f"dynamoray.table.{created['TableId']}", 0)  # a write from elsewhere
        from dynamoray.actors import records
        from dynamoray.core.commands import INSERT, ItemChange

        encode = records.change_encoder(created["TableId"])
        writer.append([encode(ItemChange(INSERT, key("b"), None, {**key("b"), "v": {"S": "2"}}))])
        return (await metrics.render(engine)).decode()

    text = run(scenario())
    assert 'dynamoray_replica_lag_records{replica="gateway",table="t"} 1.0' in text
    assert 'dynamoray_replica_lag_seconds{replica="gateway",table="t"}' in text
    assert 'dynamoray_reads_total{consistency="eventual",replica="gateway"} 1.0' in text
    assert 'dynamoray_open_followers{replica="gateway"} 1.0' in text


# --- on real Ray actors ---------------------------------------------------------------------------


def three_replicas(tmp_path, **settings):
    """Three hosts; each partition has its leader and two followers in the other hosts."""
    return start_cluster(tmp_path, hosts=3, replicas=3, gateway_follower=False, **settings)


def test_three_replicas_strong_reads_see_every_acknowledged_write_and_eventual_reads_converge(
        ray_session, tmp_path):
    cluster, engine = three_replicas(tmp_path, max_staleness=0.2)
    try:
        async def scenario():
            await engine.create_table(description("t"))
            strong = []
            for i in range(40):
                await engine.write("t", put("a", v=str(i)))
                strong.append(value(await engine.get("t", key("a"), consistent=True)))
            deadline = time.monotonic() + 30
            streak = 0  # consecutive eventual reads (rotating over the 3 replicas) that see "39"
            while streak < 9 and time.monotonic() < deadline:
                streak = streak + 1 if value(await engine.get("t", key("a"))) == "39" else 0
                if streak == 0:
                    await asyncio.sleep(0.02)
            return strong, streak, dict(engine.reads)

        strong, streak, reads = run(scenario())
    finally:
        run(engine.close())
        cluster.shutdown()
    assert strong == [str(i) for i in range(40)]
    assert streak == 9
    assert reads.get(("host", False), 0) >= 6  # the followers served their share


def test_killing_a_follower_loses_and_blocks_nothing(ray_session, tmp_path):
    cluster, engine = three_replicas(tmp_path)
    try:
        async def scenario():
            created = await engine.create_table(description("t"))
            leader = host_index(created["TableId"], 3)
            victim = cluster.hosts[replica_hosts(leader, 3, 2)[1]]
            await engine.write("t", put("w0", v="0"))
            await engine.get("t", key("w0"))  # followers opened
            pid = await victim.call("pid")
            acked, failures, reads = [], [], 0
            killed = False
            stop = time.monotonic() + 60
            i = 0
            while (i < 150 or not killed) and time.monotonic() < stop:
                i += 1
                try:
                    await engine.write("t", put(f"w{i}", v=str(i)))
                    acked.append(i)
                    await engine.get("t", key(f"w{i - 1}"))
                    reads += 1
                except DynamoError as error:
                    failures.append(error.error_type)
                if i == 30:
                    os.kill(pid, signal.SIGKILL)
                    killed = True
            everything = await engine.scan("t", ScanSpec(), consistent=True)
            found = {int(item["v"]["S"]) for item in everything.items}
            after = await retrying(lambda: victim.call("pid"))
            return acked, failures, reads, found, pid, after

        acked, failures, reads, found, pid, after = run(scenario())
    finally:
        run(engine.close())
        cluster.shutdown()
    assert failures == []  # no write and no read failed
    assert reads == len(acked) >= 150
    assert set(acked) | {0} <= found  # nothing acknowledged was lost
    assert after != pid  # the follower's host did die (and Ray restarted it)


def test_two_leaders_of_a_partition_never_both_append(ray_session, tmp_path):
    """A second host takes the partition over (as a restarted host does): it fences the first,
    whose next append fails and is never acknowledged; the log holds exactly what was acked."""
    from dynamoray.actors import options, records
    from dynamoray.actors.client import RemoteActor, table_ref
    from dynamoray.actors.host import EmbeddedLogAt, LogPerTopic
    from dynamoray.core.shards import value_shard
    from dynamoray.events.embedded import EmbeddedLog

    cluster, engine = start_cluster(tmp_path, hosts=1)
    usurper = None
    try:
        factory = EmbeddedLogAt(cluster.config.log_dir)
        name = f"{cluster.config.prefix}-usurper"
        handle = options.partition_host(name).remote(LogPerTopic(factory))
        usurper = RemoteActor(handle, name)

        async def attempt(call) -> bool:
            try:
                await call()
                return True
            except DynamoError as error:
                assert error.error_type == "InternalServerError", error
                return False

        async def scenario():
            created = await engine.create_table(description("t"))
            ref = table_ref(created)
            outcomes = []
            for i in range(12):  # the two leaders take turns; each turn fences the other one
                if i % 3 == 2:
                    ok = await attempt(lambda: usurper.call("write", ref, put(f"u{i}", v=str(i))))  # noqa: B023  (called before the loop moves on)
                    outcomes.append((f"u{i}", ok))
                else:
                    ok = await attempt(lambda: engine.write("t", put(f"e{i}", v=str(i))))  # noqa: B023  (called before the loop moves on)
                    outcomes.append((f"e{i}", ok))
            return ref, outcomes

        ref, outcomes = run(scenario())
        log = EmbeddedLog(cluster.config.log_dir)
        try:
            logged = {}  # shard -> the items it logged, in log order
            for shard in range(log.partition_count(ref.topic)):
                events = [records.CODEC.decode(r.value) for r in log.read(ref.topic, shard, 0, 1000)]
                logged[shard] = [e.keys["p"]["S"] for e in events if type(e).__name__ == "ItemChanged"]
        finally:
            log.close()
    finally:
        if usurper is not None:
            import ray

            ray.kill(usurper.handle, no_restart=True)
        run(engine.close())
        cluster.shutdown()
    acked = [p for p, ok in outcomes if ok]
    assert len(logged) == 4  # a shard per log partition, each fenced by every takeover
    for shard, items in logged.items():  # every acknowledged write once, in order, and nothing else
        assert items == [p for p in acked if value_shard({"S": p}, len(logged)) == shard]
    assert len(acked) < len(outcomes)  # fenced appends were refused, not acknowledged
    assert {p[0] for p in acked} == {"e", "u"}  # both took turns leading
