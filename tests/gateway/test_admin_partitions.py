"""The admin API's partition operations (``gateway/admin_partitions.py``), called as the gateway
calls them: root only, the Ray engine only, DynamoDB-style validation messages."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from dynamoray.actors.catalog_service import CatalogService
from dynamoray.actors.client import LocalActor, RayEngine
from dynamoray.actors.host import PartitionHost, SharedLog
from dynamoray.core.errors import DynamoError
from dynamoray.events.memory import MemoryLog
from dynamoray.gateway import admin  # noqa: F401 - registers the admin operations
from dynamoray.gateway.admin import ADMIN_SERVICE
from dynamoray.gateway.operations import find

from ..actors.helpers import description

ROOT = SimpleNamespace(arn="arn:aws:iam::000000000000:root")
USER = SimpleNamespace(arn="arn:aws:iam::000000000000:user/alice")


def call(ctx, operation: str, **body):
    return find(ADMIN_SERVICE, operation)(ctx, body)


def test_describe_split_and_move_answer_the_map():
    async def scenario():
        log = MemoryLog()
        catalog = LocalActor(CatalogService(lambda: log))
        hosts = [LocalActor(PartitionHost(SharedLog(log), catalog=catalog)) for _ in range(2)]
        engine = RayEngine(catalog, hosts, stream_log=log, shards=4)
        await engine.create_table(description("tab"))
        ctx = SimpleNamespace(principal=ROOT, engine=engine)
        before = await call(ctx, "DescribePartitions", TableName="tab")
        split = await call(ctx, "SplitPartition", TableName="tab", FirstShard=0, AtShard=3)
        moved = await call(ctx, "MovePartition", TableName="tab", FirstShard=3, Host=before["Ranges"][0]["Host"])
        with pytest.raises(DynamoError) as bad:
            await call(ctx, "SplitPartition", TableName="tab", FirstShard=-1)
        with pytest.raises(DynamoError) as missing:
            await call(ctx, "DescribePartitions")
        with pytest.raises(DynamoError) as denied:
            await call(SimpleNamespace(principal=USER, engine=engine), "DescribePartitions", TableName="tab")
        return before, split, moved, bad.value, missing.value, denied.value

    before, split, moved, bad, missing, denied = asyncio.run(scenario())
    host = before["Ranges"][0]["Host"]
    assert before == {"TableName": "tab", "Shards": 4, "Version": 0, "Hosts": 2,
                      "Ranges": [{"FirstShard": 0, "LastShard": 3, "Host": host}]}
    assert split["Version"] == 1 and split["Ranges"] == [
        {"FirstShard": 0, "LastShard": 2, "Host": host}, {"FirstShard": 3, "LastShard": 3, "Host": 1 - host}]
    assert moved["Version"] == 2 and moved["Ranges"] == [{"FirstShard": 0, "LastShard": 3, "Host": host}]
    assert (bad.error_type, bad.message) == ("ValidationException", "1 validation error detected: Value -1 at "
                                             "'firstShard' failed to satisfy constraint: Member must be a "
                                             "non-negative integer")
    assert missing.message.startswith("1 validation error detected: Value null at 'tableName'")
    assert denied.error_type == "AccessDeniedException"


def test_the_local_engine_keeps_every_table_in_one_process():
    ctx = SimpleNamespace(principal=ROOT, engine=SimpleNamespace())
    with pytest.raises(DynamoError) as refused:
        asyncio.run(call(ctx, "DescribePartitions", TableName="tab"))
    assert (refused.value.error_type, refused.value.message) == (
        "ValidationException", "The partition cannot be moved: only the Ray engine spreads a table over partition hosts")
