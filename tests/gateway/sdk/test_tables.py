"""Tables: create (keys given or declared by a model), describe, list, delete, waiters."""

from __future__ import annotations

import asyncio

import pytest

from dynamoray.gateway.sdk import ResourceInUseException, ResourceNotFoundException, Wait, WaiterTimeoutError
from dynamoray.gateway.sdk.flows import Sleep, wait_for_table

from .conftest import make_async_client, unique
from .fakes import drive


def test_create_describe_list_delete(client):
    name = unique("tbl")
    table = client.create_table(name, hash_key=("id", "B"), range_key=("at", "N"), stream="KEYS_ONLY",
                                tags={"team": "sdk"}, billing_mode="PROVISIONED", read_capacity=3, write_capacity=4)
    described = table.describe()
    assert described["TableStatus"] == "ACTIVE"
    assert described["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"},
                                      {"AttributeName": "at", "KeyType": "RANGE"}]
    assert described["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    assert described["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    assert table.key_schema().names == ("id", "at")
    assert name in client.list_tables()
    with pytest.raises(ResourceInUseException):
        client.create_table(name, hash_key=("id", "S"))
    table.delete_table()
    assert name not in client.list_tables()
    with pytest.raises(ResourceNotFoundException):
        client.describe_table(name)


def test_list_tables_pages_through_every_name(client):
    names = sorted(unique("lt") for _ in range(3))
    for name in names:
        client.create_table(name, hash_key=("p", "S"), wait=False)
    every = client.list_tables()
    assert every == sorted(every) and set(names) <= set(every)
    assert len(client.list_tables(limit=2)) == 2
    for name in names:
        client.delete_table(name)


def test_create_table_needs_key_types():
    from dynamoray.gateway.sdk.payloads import key_schema_of

    with pytest.raises(ValueError):
        key_schema_of(None, None, None)


def test_a_key_schema_comes_from_describe_once(client, table_sn):
    table = client.table(table_sn)
    assert table.key_schema().names == ("p", "c") and table.key_schema() is table.key_schema()


def test_the_waiter_polls_until_active_and_not_restoring():
    creating = {"Table": {"TableName": "t", "TableStatus": "CREATING"}}
    restoring = {"Table": {"TableName": "t", "TableStatus": "ACTIVE", "RestoreSummary": {"RestoreInProgress": True}}}
    active = {"Table": {"TableName": "t", "TableStatus": "ACTIVE", "ItemCount": 3}}
    seen = []
    steps, result = drive(wait_for_table("t", Wait(timeout=100, interval=0.5), seen.append),
                          [ResourceNotFoundException("gone"), creating, restoring, active])
    assert result == active["Table"]
    sleeps = [s.seconds for s in steps if isinstance(s, Sleep)]
    assert sleeps == [0.5, 0.5, 0.5]
    assert [t["TableStatus"] for t in seen] == ["CREATING", "ACTIVE", "ACTIVE"]


def test_the_waiter_times_out():
    creating = {"Table": {"TableName": "t", "TableStatus": "CREATING"}}
    with pytest.raises(WaiterTimeoutError):
        drive(wait_for_table("t", Wait(timeout=3, interval=1)), [creating] * 10)


def test_async_table_admin(sdk_server):
    async def run():
        async with make_async_client(sdk_server.endpoint) as client:
            name = unique("atbl")
            table = await client.create_table(name, hash_key=("p", "S"))
            listed = name in await client.list_tables()
            schema = (await table.key_schema()).names
            await client.delete_table(name)
            return listed, schema, name in await client.list_tables()

    assert asyncio.run(run()) == (True, ("p",), False)
