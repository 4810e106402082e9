"""Adaptive splitting (issue 13: "a single hot partition key is isolated where possible"): the
automatic splitter, fed a write load where one partition key takes most writes, ends with that
key's shard alone in its range on a host of its own, over in-process twins of the actors."""

from __future__ import annotations

from dynamoray.actors.catalog_service import CatalogService
from dynamoray.actors.client import LocalActor, RayEngine
from dynamoray.actors.host import PartitionHost, SharedLog
from dynamoray.actors.splitter import Splitter
from dynamoray.core import partition_map as pm
from dynamoray.core import shards as core_shards
from dynamoray.core.commands import ScanSpec
from dynamoray.events.memory import MemoryLog

from .helpers import description, increment, key, put
from .test_partition_routing import run

SHARDS = 8  # halving ranges would leave the hot shard with a neighbour after two splits
HOT = next(f"k{i}" for i in range(400) if core_shards.value_shard({"S": f"k{i}"}, SHARDS) in (2, 5))
COLD = [f"c{i}" for i in range(24)]
ROUNDS = 6


def engine_on(log, hosts: int):
    catalog = LocalActor(CatalogService(lambda: log))
    plain = [PartitionHost(SharedLog(log), catalog=catalog) for _ in range(hosts)]
    return RayEngine(catalog, [LocalActor(h) for h in plain], stream_log=log, shards=SHARDS), plain, catalog


def test_the_splitter_isolates_a_hot_key_on_a_host_of_its_own():
    now = [0.0]
    hot_shard = core_shards.value_shard({"S": HOT}, SHARDS)

    async def scenario():
        engine, _, _ = engine_on(MemoryLog(), hosts=3)
        await engine.create_table(description("t"))
        for name in COLD:
            await engine.write("t", put(name))
        splitter = Splitter(engine, pm.SplitThresholds(writes_per_second=50), interval=1, clock=lambda: now[0])
        await splitter.run_round()  # the first look: offsets, no rates yet
        rounds, hot_writes = [], 0
        for _ in range(ROUNDS):
            for _ in range(120):  # 120 writes a second on the hot key
                await engine.write("t", increment(HOT))
                hot_writes += 1
            for name in COLD[:6]:  # a trickle on the others
                await engine.write("t", put(name, v=str(now[0])))
            now[0] += 1.0
            rounds.append(await splitter.run_round())
        counter = await engine.get("t", key(HOT), consistent=True)
        page = await engine.scan("t", ScanSpec(), consistent=True)
        return rounds, await engine.partitions("t"), counter, hot_writes, page

    rounds, wire, counter, hot_writes, page = run(scenario())
    made = [r for r in rounds if r is not None]
    assert len(made) == 2 and rounds[len(made):] == [None] * (ROUNDS - len(made))  # then it stays put
    ranges = [tuple(r) for r in wire["Ranges"]]
    alone = next(r for r in ranges if r[0] <= hot_shard < r[1])
    assert alone[:2] == (hot_shard, hot_shard + 1)  # the hot key's shard is a range of its own
    assert [r[2] for r in ranges].count(alone[2]) == 1  # on a host holding nothing else of the table
    assert len({r[2] for r in ranges}) == len(ranges) == 3
    assert int(counter["n"]["N"]) == hot_writes  # every write applied once across the splits
    assert sorted(i["p"]["S"] for i in page.items) == sorted(COLD + [HOT])


def test_with_two_hosts_the_hot_shard_gets_what_isolation_is_possible():
    now = [0.0]
    hot_shard = core_shards.value_shard({"S": HOT}, SHARDS)

    async def scenario():
        engine, _, _ = engine_on(MemoryLog(), hosts=2)
        await engine.create_table(description("t"))
        await engine.write("t", put("warm"))  # open: the splitter never wakes a closed table
        splitter = Splitter(engine, pm.SplitThresholds(writes_per_second=50), interval=1, clock=lambda: now[0])
        await splitter.run_round()
        rounds = []
        for _ in range(4):
            for _ in range(120):
                await engine.write("t", increment(HOT))
            now[0] += 1.0
            rounds.append(await splitter.run_round())
        return rounds, await engine.partitions("t")

    rounds, wire = run(scenario())
    assert rounds[0] is not None and rounds[1:] == [None] * 3  # no split the mover would refuse
    ranges = [tuple(r) for r in wire["Ranges"]]
    assert len(ranges) == 2 and len({r[2] for r in ranges}) == 2
    hot = next(r for r in ranges if r[0] <= hot_shard < r[1])
    assert hot_shard in (hot[0], hot[1] - 1)  # cut right next to the hot shard, not in the middle
