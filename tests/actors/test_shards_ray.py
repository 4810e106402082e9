"""Tables of several shards on the Ray engine: a transaction across two shards of a table, the
backup cut, and restarts on the data directory with a table made before shards (one shard)."""

from __future__ import annotations

import asyncio

import pytest

from dynamoray.core import tables
from dynamoray.core.commands import PutCommand, ScanSpec, UpdateCommand
from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ExpressionContext
from dynamoray.core.shards import value_shard
from dynamoray.events.embedded import EmbeddedLog

from .conftest import start_cluster
from .helpers import description, key, put


def in_shard(shard: int, prefix: str, count: int = 4) -> str:
    return next(f"{prefix}{i}" for i in range(10_000) if value_shard({"S": f"{prefix}{i}"}, count) == shard)


def transfer(src: str, dst: str, amount: int) -> list[tuple[str, UpdateCommand]]:
    ex = ExpressionContext(None, {":a": {"N": str(amount)}, ":m": {"N": str(-amount)}})
    return [("new", UpdateCommand(key(src), ex.update("ADD n :m"), ex.condition("n >= :a"))),
            ("new", UpdateCommand(key(dst), ex.update("ADD n :a")))]


def test_sharded_tables_on_ray_transact_across_shards_and_survive_restarts(ray_session, tmp_path):
    src, dst = in_shard(1, "src"), in_shard(3, "dst")

    cluster, engine = start_cluster(tmp_path, shards=1)  # a server from before shards
    try:
        async def old_server():
            await engine.create_table(description("old"))
            for i in range(10):
                await engine.write("old", put(f"k{i}", v="old"))

        asyncio.run(old_server())
    finally:
        asyncio.run(engine.close())
        cluster.shutdown()

    cluster, engine = start_cluster(tmp_path, shards=4)
    try:
        async def new_server():
            created = await engine.create_table(description("new"))
            for p in (src, dst):
                await engine.write("new", PutCommand({"p": {"S": p}, "n": {"N": "10"}}))
            await engine.transact_write(transfer(src, dst, 4))
            with pytest.raises(DynamoError) as cancelled:
                await engine.transact_write(transfer(src, dst, 40))
            both = await engine.transact_get([("new", key(src)), ("new", key(dst))])
            await engine.write("old", put("k0", v="rewritten"))
            return created, cancelled.value, [int(i["n"]["N"]) for i in both], await engine.cut("new")

        created, cancelled, balances, cut = asyncio.run(new_server())
    finally:
        asyncio.run(engine.close())
        cluster.shutdown()
    assert tables.shard_count(created) == 4 and len(cut) == 4
    assert cancelled.error_type == "TransactionCanceledException"
    assert balances == [6, 14]

    cluster, engine = start_cluster(tmp_path, shards=4)
    try:
        async def restarted():
            old = await engine.describe_table("old")
            new = await engine.describe_table("new")
            old_items = (await engine.scan("old", ScanSpec())).items
            found = [await engine.get("new", key(p), None, True) for p in (src, dst)]
            return old, new, old_items, found

        old, new, old_items, found = asyncio.run(restarted())
    finally:
        asyncio.run(engine.close())
        cluster.shutdown()
    log = EmbeddedLog(tmp_path / "log")
    try:
        partitions = [log.partition_count(f"dynamoray.table.{d['TableId']}") for d in (old, new)]
    finally:
        log.close()
    assert partitions == [1, 4]  # the old table keeps its one shard
    assert (old["ItemCount"], new["ItemCount"]) == (10, 2)
    assert sorted(i["v"]["S"] for i in old_items) == ["old"] * 9 + ["rewritten"]
    assert [int(i["n"]["N"]) for i in found] == [6, 14]
