"""Secondary indexes in the engines (actors/indexing.py, actors/index_calls.py): a host adopts a
newer index set and backfills it, never an older one; followers build what the leader has; the
local engine finishes an online creation a restart interrupted."""

from __future__ import annotations

import asyncio
import copy

from dynamoray.actors.client import table_ref
from dynamoray.actors.follower import FollowerSet
from dynamoray.actors.host import PartitionHost, SharedLog
from dynamoray.actors.local import LocalEngine
from dynamoray.core import index_tables, indexes, tables
from dynamoray.core.commands import PutCommand, QuerySpec, ScanSpec
from dynamoray.events.memory import MemoryLog

from .helpers import description


def with_gsi(base: dict) -> dict:
    """``base`` after an UpdateTable that creates GSI ``by_g`` (KEYS_ONLY on ``g``)."""
    request = {"AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
               "GlobalSecondaryIndexUpdates": [{"Create": {
                   "IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                   "Projection": {"ProjectionType": "KEYS_ONLY"}}}]}
    return tables.updated_description(base, request, now=2.0)


def item(i: int) -> dict:
    return {"p": {"S": f"k{i}"}, "g": {"S": f"g{i % 3}"}, "v": {"N": str(i)}}


def gsi_count(page_of) -> int:
    return page_of(QuerySpec({"S": "g1"}, index="by_g")).count


def test_a_host_backfills_a_newer_index_set_and_ignores_older_ones():
    log = MemoryLog()
    base = description("t")
    old_ref = table_ref(base)
    log.create_topic(old_ref.topic, 2)
    new_ref = table_ref(with_gsi(base))
    assert new_ref.indexes.epoch == 1 and old_ref.indexes == indexes.NO_INDEXES

    async def scenario():
        host = PartitionHost(SharedLog(log))
        for i in range(3000):
            await host.write(old_ref, PutCommand(item(i)))
        await host.write(new_ref, PutCommand(item(3000)))  # adopts: maintained from now on, backfill started
        done = await host.index_backfill(new_ref)
        found = await host.query(new_ref, QuerySpec({"S": "g1"}, index="by_g"))
        await host.write(old_ref, PutCommand(item(3001)))  # a stale route takes no index away
        after = await host.query(new_ref, QuerySpec({"S": "g1"}, index="by_g"))
        stats = await host.stats(new_ref)
        followers = FollowerSet(SharedLog(log), max_staleness=0)
        followed = await followers.query(new_ref, QuerySpec({"S": "g1"}, index="by_g"))
        scanned = await followers.scan(new_ref, ScanSpec(index="by_g", limit=10))
        return done, found, after, stats, followed, scanned

    done, found, after, stats, followed, scanned = asyncio.run(scenario())
    ones = sum(1 for i in range(3001) if i % 3 == 1)
    assert done and found.count == ones and after.count == ones + 1  # 3001 % 3 == 1
    assert sum(count for name, count, _ in stats.indexes if name == "by_g") == 3002
    assert followed.count == ones + 1 and scanned.count == 10 and scanned.last_evaluated_key is not None


def test_a_follower_adopts_an_index_created_after_it_opened():
    log = MemoryLog()
    base = description("t")
    ref = table_ref(base)
    log.create_topic(ref.topic, 1)

    async def scenario():
        host = PartitionHost(SharedLog(log))
        followers = FollowerSet(SharedLog(log), max_staleness=0)
        for i in range(30):
            await host.write(ref, PutCommand(item(i)))
        await followers.scan(ref, ScanSpec())  # opened without indexes
        newer = table_ref(with_gsi(base))
        await host.write(newer, PutCommand(item(30)))
        return await followers.query(newer, QuerySpec({"S": "g0"}, index="by_g"))

    assert asyncio.run(scenario()).count == 11


class StuckEngine(LocalEngine):
    """An engine whose backfills never report done: its online creations stay CREATING."""

    async def index_backfill(self, table: str) -> bool:
        await asyncio.sleep(0.01)
        return False


def test_a_restart_finishes_an_online_creation_left_in_progress(tmp_path):
    from dynamoray.events.embedded import EmbeddedLog

    async def first():
        engine = StuckEngine(EmbeddedLog(str(tmp_path)))
        await engine.open()
        created = await engine.create_table(description("orders"))
        for i in range(50):
            await engine.write("orders", PutCommand(item(i)))
        await engine.replace_table("orders", with_gsi(copy.deepcopy(created)))
        await asyncio.sleep(0.05)
        described = await engine.describe_table("orders")
        await engine.close()
        return described

    async def second():
        engine = LocalEngine(EmbeddedLog(str(tmp_path)))
        await engine.open()
        try:
            for _ in range(200):
                described = await engine.describe_table("orders")
                if described["GlobalSecondaryIndexes"][0]["IndexStatus"] == "ACTIVE":
                    break
                await asyncio.sleep(0.02)
            page = await engine.query("orders", QuerySpec({"S": "g2"}, index="by_g"))
            return described, page
        finally:
            await engine.close()

    stuck = asyncio.run(first())
    assert stuck["GlobalSecondaryIndexes"][0]["IndexStatus"] == "CREATING"
    assert index_tables.pending_changes(stuck) == (["by_g"], [])
    described, page = asyncio.run(second())
    entry = described["GlobalSecondaryIndexes"][0]
    assert entry["IndexStatus"] == "ACTIVE" and "Backfilling" not in entry and entry["ItemCount"] == 50
    assert page.count == sum(1 for i in range(50) if i % 3 == 2)
