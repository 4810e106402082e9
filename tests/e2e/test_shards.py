"""Tables of several shards through boto3, on every engine: items spread over the table's log
partitions, Scan and parallel Scan across shards, and transactions across two shards of a table."""

from __future__ import annotations

import asyncio

import pytest
from botocore.exceptions import ClientError

from dynamoray.actors import records
from dynamoray.core.shards import value_shard
from dynamoray.schemas.events import ItemChanged

from .conftest import SHARDS, create


def in_shard(shard: int, prefix: str) -> str:
    return next(f"{prefix}{i}" for i in range(10_000) if value_shard({"S": f"{prefix}{i}"}, SHARDS) == shard)


def logged_per_partition(server, table_id: str) -> list[list[str]]:
    """The partition keys of the item changes in each log partition of the table's topic."""
    async def read() -> list[list[str]]:
        log = await server.gateway.engine.stream_log()
        topic = records.table_topic(table_id)

        def scan() -> list[list[str]]:
            out = []
            for partition in range(log.partition_count(topic)):
                events = [records.CODEC.decode(v) for v in records.read_all(log, topic, partition)]
                out.append([e.keys["p"]["S"] for e in events if isinstance(e, ItemChanged)])
            return out

        return await asyncio.to_thread(scan)

    return asyncio.run_coroutine_threadsafe(read(), server._loop).result(60)


def test_a_tables_items_land_in_every_log_partition_and_describe_counts_them_all(ddb, server):
    name = create(ddb, [("p", "S", "HASH")])
    names = [f"k{i}" for i in range(40)]
    for p in names:
        ddb.put_item(TableName=name, Item={"p": {"S": p}})
    table_id = ddb.describe_table(TableName=name)["Table"]["TableId"]
    logged = logged_per_partition(server, table_id)
    assert len(logged) == SHARDS and all(logged)
    assert sorted(p for part in logged for p in part) == sorted(names)
    assert all(value_shard({"S": p}, SHARDS) == shard for shard, part in enumerate(logged) for p in part)
    assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == 40


@pytest.fixture(scope="module")
def spread(ddb):
    """A table of 60 items over every shard (12 partition keys, 5 sort keys each)."""
    name = create(ddb, [("p", "S", "HASH"), ("c", "N", "RANGE")])
    for p in range(12):
        for c in range(5):
            ddb.put_item(TableName=name, Item={"p": {"S": f"p{p}"}, "c": {"N": str(c)}})
    return name


EVERY = sorted((f"p{p}", str(c)) for p in range(12) for c in range(5))


def scanned(ddb, **request) -> list[tuple[str, str]]:
    out = []
    for page in ddb.get_paginator("scan").paginate(**request):
        out += [(i["p"]["S"], i["c"]["N"]) for i in page["Items"]]
    return out


@pytest.mark.parametrize("page_size", [None, 1, 7, 60])
def test_a_paginated_scan_returns_every_item_once(ddb, spread, page_size):
    config = {"PaginationConfig": {"PageSize": page_size}} if page_size else {}
    found = scanned(ddb, TableName=spread, **config)
    assert sorted(found) == EVERY and len(found) == len(set(found))


@pytest.mark.parametrize("total", [1, 2, 3, 5, 8])
def test_parallel_scan_segments_return_every_item_exactly_once(ddb, spread, total):
    found = [k for segment in range(total)
             for k in scanned(ddb, TableName=spread, Segment=segment, TotalSegments=total,
                              PaginationConfig={"PageSize": 4})]
    assert sorted(found) == EVERY


def test_a_scan_page_stops_at_one_megabyte_across_shards(ddb):
    name = create(ddb, [("p", "S", "HASH")])
    blob = "x" * (200 * 1024)
    for i in range(12):  # ~2.4 MB over every shard
        ddb.put_item(TableName=name, Item={"p": {"S": f"big{i}"}, "blob": {"S": blob}})
    pages = list(ddb.get_paginator("scan").paginate(TableName=name, ProjectionExpression="p"))
    assert [p["ScannedCount"] for p in pages[:2]] == [6, 6]  # 1 MB is reached at the 6th item of 200 KB
    assert sorted(i["p"]["S"] for page in pages for i in page["Items"]) == sorted(f"big{i}" for i in range(12))


def test_a_transaction_across_two_shards_of_a_table_is_all_or_nothing(ddb):
    name = create(ddb, [("p", "S", "HASH")])
    a, b = in_shard(0, "a"), in_shard(SHARDS - 1, "b")
    for p in (a, b):
        ddb.put_item(TableName=name, Item={"p": {"S": p}, "n": {"N": "10"}})

    def move(amount: int) -> list[dict]:
        values = {":a": {"N": str(amount)}, ":m": {"N": str(-amount)}}
        return [{"Update": {"TableName": name, "Key": {"p": {"S": a}}, "UpdateExpression": "ADD n :m",
                            "ConditionExpression": "n >= :a", "ExpressionAttributeValues": values}},
                {"Update": {"TableName": name, "Key": {"p": {"S": b}}, "UpdateExpression": "ADD n :a",
                            "ExpressionAttributeValues": {":a": values[":a"]}}}]

    def balances() -> list[int]:
        got = ddb.transact_get_items(TransactItems=[{"Get": {"TableName": name, "Key": {"p": {"S": p}}}}
                                                    for p in (a, b)])
        return [int(r["Item"]["n"]["N"]) for r in got["Responses"]]

    ddb.transact_write_items(TransactItems=move(4))
    assert balances() == [6, 14]
    with pytest.raises(ClientError) as info:
        ddb.transact_write_items(TransactItems=move(7))  # the debit's condition fails: neither applies
    assert info.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in info.value.response["CancellationReasons"]] == ["ConditionalCheckFailed", "None"]
    assert balances() == [6, 14]
    scan = ddb.scan(TableName=name, ConsistentRead=True)["Items"]
    assert sorted(int(i["n"]["N"]) for i in scan) == [6, 14]


def test_a_query_reads_only_its_partition_keys_shard(ddb, spread):
    for p in ("p0", "p7", "p11"):
        out = ddb.query(TableName=spread, KeyConditionExpression="p = :p",
                        ExpressionAttributeValues={":p": {"S": p}}, ConsistentRead=True)
        assert [(i["p"]["S"], i["c"]["N"]) for i in out["Items"]] == [(p, str(c)) for c in range(5)]
