"""Secondary-index reads on a table spread over several hosts (``routing.py``: LSI queries go to
their shard's host, GSI queries and index scans merge every range's shard pages), splits of
indexed tables, and a GSI created by UpdateTable on a spread table, over in-process twins of the
actors (no Ray)."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import uuid

import pytest

from dynamoray.core import tables
from dynamoray.core.commands import PutCommand, QuerySpec, ScanSpec
from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ast
from dynamoray.events.memory import MemoryLog

from .test_partition_routing import SHARDS, engine_on, run


def indexed(name: str) -> dict:
    """Table (p HASH, c RANGE) with LSI ``by_l`` (p, l) and GSI ``by_g`` (g, c), both ALL."""
    definitions = [{"AttributeName": a, "AttributeType": t} for a, t in (("p", "S"), ("c", "N"), ("l", "S"), ("g", "S"))]
    request = {
        "TableName": name, "BillingMode": "PAY_PER_REQUEST", "AttributeDefinitions": definitions,
        "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "c", "KeyType": "RANGE"}],
        "LocalSecondaryIndexes": [{"IndexName": "by_l", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
            {"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}]}],
        "GlobalSecondaryIndexes": [{"IndexName": "by_g", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
            {"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "c", "KeyType": "RANGE"}]}],
    }
    return tables.new_table_description(request, arn=f"arn:aws:dynamodb:us-east-1:000000000000:table/{name}",
                                        table_id=str(uuid.uuid4()), now=1_700_000_000.0)


def row(i: int) -> dict:
    return {"p": {"S": f"p{i % 13}"}, "c": {"N": str(i)}, "l": {"S": f"l{(i * 7) % 50:02d}"},
            "g": {"S": f"g{i % 3}"}, "pad": {"S": "x" * (i % 5)}}


async def pages(engine, table: str, spec, read: str) -> list:
    """Every page of a Query or Scan: (items' (p, c), Count, ScannedCount, LastEvaluatedKey)."""
    out = []
    while True:
        page = await getattr(engine, read)(table, spec, consistent=True)
        out.append(([(i["p"]["S"], i["c"]["N"]) for i in page.items], page.count, page.scanned_count,
                     page.last_evaluated_key))
        if page.last_evaluated_key is None:
            return out
        spec = dataclasses.replace(spec, exclusive_start=page.last_evaluated_key)


def above(name: str, value: str) -> ast.Condition:
    return ast.Compare(">", ast.Path((name,)), ast.Literal({"N": value}))


READS = [
    ("query", QuerySpec({"S": "g1"}, index="by_g", limit=7)),
    ("query", QuerySpec({"S": "g2"}, index="by_g", forward=False, limit=9, filter=above("c", "40"))),
    ("query", QuerySpec({"S": "g0"}, index="by_g", count_only=True, limit=11)),
    ("query", QuerySpec({"S": "p5"}, index="by_l", limit=3)),
    ("query", QuerySpec({"S": "p7"}, index="by_l", forward=False)),
    ("scan", ScanSpec(index="by_g", limit=10)),
    ("scan", ScanSpec(index="by_l", limit=13, filter=above("c", "20"))),
    ("scan", ScanSpec(index="by_g", limit=6, segment=1, total_segments=3)),
]


def test_index_reads_of_a_spread_table_page_as_one_host_did():
    async def scenario():
        engine, _, _ = engine_on(MemoryLog(), hosts=3)
        await engine.create_table(indexed("t"))
        for i in range(150):
            await engine.write("t", PutCommand(row(i)))
        before = [await pages(engine, "t", spec, read) for read, spec in READS]
        first = engine._map(await engine._ref("t")).ranges[0].host
        others = [h for h in range(3) if h != first]
        await engine.split_partition("t", 0, 2, others[0])
        await engine.split_partition("t", 2, 3, others[1])
        after = [await pages(engine, "t", spec, read) for read, spec in READS]
        described = await engine.describe_table("t")
        return before, after, await engine.partitions("t"), described

    before, after, wire, described = run(scenario())
    assert len(wire["Ranges"]) == 3 and len({r[2] for r in wire["Ranges"]}) == 3
    for (read, spec), one, spread in zip(READS, before, after):
        assert spread == one, (read, spec)
    assert len(before[0]) > 3 and len(before[5]) > 10  # several pages, LastEvaluatedKey each time
    g1 = sorted(key for page in before[0] for key in page[0])
    assert g1 == sorted((f"p{i % 13}", str(i)) for i in range(150) if i % 3 == 1)
    assert sum(page[1] for page in before[2]) == 50  # Select COUNT over pages
    gsi = next(i for i in described["GlobalSecondaryIndexes"] if i["IndexName"] == "by_g")
    assert gsi["ItemCount"] == 150 and described["ItemCount"] == 150  # summed over the hosts


def test_a_write_after_the_split_shows_in_the_merged_index_reads():
    async def scenario():
        engine, _, _ = engine_on(MemoryLog())
        await engine.create_table(indexed("t"))
        for i in range(40):
            await engine.write("t", PutCommand(row(i)))
        first = engine._map(await engine._ref("t")).ranges[0].host
        await engine.split_partition("t", 0, 2, 1 - first)
        for i in range(40, 80):
            await engine.write("t", PutCommand(row(i)))
        await engine.write("t", PutCommand({**row(3), "g": {"S": "moved"}}))  # leaves g0 for "moved"
        g0 = await pages(engine, "t", QuerySpec({"S": "g0"}, index="by_g", limit=5), "query")
        moved = await engine.query("t", QuerySpec({"S": "moved"}, index="by_g"), consistent=True)
        lsi = [await engine.query("t", QuerySpec({"S": f"p{k}"}, index="by_l"), consistent=True) for k in range(13)]
        return g0, moved, lsi

    g0, moved, lsi = run(scenario())
    for k, page in enumerate(lsi):  # each partition key's LSI on its shard's host, in l order
        wanted = sorted((row(i)["l"]["S"], str(i)) for i in range(80) if i % 13 == k)
        assert [(i["l"]["S"], i["c"]["N"]) for i in page.items] == wanted, k
    names = sorted(key for page in g0 for key in page[0])
    assert names == sorted((f"p{i % 13}", str(i)) for i in range(80) if i % 3 == 0 and i != 3)
    assert [(i["p"]["S"], i["c"]["N"]) for i in moved.items] == [("p3", "3")]


def test_an_unknown_index_on_a_spread_table_is_dynamodbs_error():
    async def scenario():
        engine, _, _ = engine_on(MemoryLog())
        await engine.create_table(indexed("t"))
        first = engine._map(await engine._ref("t")).ranges[0].host
        await engine.split_partition("t", 0, 2, 1 - first)
        with pytest.raises(DynamoError) as caught:
            await engine.scan("t", ScanSpec(index="nope"), consistent=True)
        return caught.value

    error = run(scenario())
    assert (error.error_type, error.message) == (
        "ValidationException", "The table does not have the specified index: nope")


def test_update_table_creating_a_gsi_on_a_spread_table_backfills_every_host():
    from .test_indexing import with_gsi

    async def scenario():
        engine, hosts, _ = engine_on(MemoryLog())
        created = await engine.create_table(description_plain("t"))
        for i in range(90):
            await engine.write("t", PutCommand({"p": {"S": f"k{i}"}, "g": {"S": f"g{i % 3}"}}))
        first = engine._map(await engine._ref("t")).ranges[0].host
        await engine.split_partition("t", 0, 2, 1 - first)
        await engine.replace_table("t", with_gsi(copy.deepcopy(created)))  # the catalog keeps the map
        status = None
        for _ in range(300):
            described = await engine.describe_table("t")
            status = described["GlobalSecondaryIndexes"][0]["IndexStatus"]
            if status == "ACTIVE":
                break
            await asyncio.sleep(0.02)
        page = await engine.query("t", QuerySpec({"S": "g1"}, index="by_g"), consistent=True)
        held = [h._open[created["TableId"]].group.span for h in hosts if created["TableId"] in h._open]
        return status, page, described, held

    status, page, described, held = run(scenario())
    assert status == "ACTIVE"
    assert sorted(i["p"]["S"] for i in page.items) == sorted(f"k{i}" for i in range(90) if i % 3 == 1)
    assert described["GlobalSecondaryIndexes"][0]["ItemCount"] == 90
    assert sorted(held) == [(0, 2), (2, SHARDS)]  # both hosts built their part


def description_plain(name: str) -> dict:
    from .helpers import description

    return description(name)


def test_the_splitter_splits_a_table_with_indexes():
    from dynamoray.actors.splitter import Splitter
    from dynamoray.core import partition_map as pm

    async def scenario():
        engine, _, _ = engine_on(MemoryLog())
        await engine.create_table(indexed("t"))
        for i in range(60):
            await engine.write("t", PutCommand(row(i)))
        choice = await Splitter(engine, pm.SplitThresholds(size_bytes=500), interval=1).run_round()
        page = await engine.query("t", QuerySpec({"S": "g2"}, index="by_g"), consistent=True)
        return choice, await engine.partitions("t"), page

    choice, wire, page = run(scenario())
    assert choice is not None and len(wire["Ranges"]) == 2
    assert page.count == 20
