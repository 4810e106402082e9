"""The batch writer (25 per request, dedup, UnprocessedItems retried with backoff) and batch reads.

The server never leaves items unprocessed on its own, so a transport fake rewrites real answers
to claim some requests were unprocessed: the SDK's re-sending is what is under test.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dynamoray.gateway.sdk import AsyncTransport, Backoff, SyncTransport, UnprocessedItemsError

from .conftest import make_async_client, make_client, unique
from .fakes import FakeAsync, FakeSync, Script

QUICK = Backoff(retries=3, base_delay=0.001, max_backoff=0.002)


def claim_unprocessed(times: int, keep: int):
    """A rewrite: the first ``times`` BatchWriteItem answers say the last ``keep`` requests were unprocessed."""
    state = {"left": times}

    def rewrite(operation: str, request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any] | None:
        if operation != "BatchWriteItem" or not state["left"]:
            return None
        state["left"] -= 1
        (table, requests), = request["RequestItems"].items()
        return {**response, "UnprocessedItems": {table: requests[-keep:]}}
    return rewrite


def sizes(script: Script, operation: str = "BatchWriteItem") -> list[int]:
    """The number of write requests (or keys, for BatchGetItem) of each batch sent."""
    def size(requests: Any) -> int:
        return len(requests["Keys"]) if operation == "BatchGetItem" else len(requests)
    return [sum(size(r) for r in req["RequestItems"].values()) for op, req in script.calls if op == operation]


def test_batch_writer_sends_25_per_request_and_dedups_keys(sdk_server, table_sn):
    script = Script()
    pk = unique("bw")
    with make_client(sdk_server.endpoint, transport=FakeSync(SyncTransport(sdk_server.endpoint), script)) as client:
        table = client.table(table_sn)
        with table.batch_writer() as batch:
            for i in range(60):
                batch.put({"p": pk, "c": i})
            batch.put({"p": pk, "c": 59, "v": "last wins"})  # same key as a waiting put: replaces it
            batch.delete({"p": pk, "c": 58})  # replaces the waiting put of 58
        assert sizes(script) == [25, 25, 10]  # 50..59 waited; the last two requests replaced two of them
        got = {i["c"]: i for i in table.scan().all() if i["p"] == pk}
    assert sorted(got) == [c for c in range(60) if c != 58]
    assert got[59] == {"p": pk, "c": 59, "v": "last wins"}
    assert script.operations()[0] == "DescribeTable"  # the key schema, asked once


def test_unprocessed_items_are_resent_with_backoff(sdk_server, table_sn):
    script = Script(rewrite=claim_unprocessed(times=2, keep=5))
    delays = []
    backoff = Backoff(retries=3, base_delay=0.001, max_backoff=0.002, rand=lambda: delays.append(1) or 1.0)
    pk = unique("un")
    with make_client(sdk_server.endpoint, transport=FakeSync(SyncTransport(sdk_server.endpoint), script)) as client:
        table = client.table(table_sn)
        with table.batch_writer(backoff=backoff) as batch:
            for i in range(10):
                batch.put({"p": pk, "c": i})
        assert sizes(script) == [10, 5, 5]  # the 5 claimed unprocessed, twice, then accepted
        resent = script.calls[-1][1]["RequestItems"][table_sn]
        assert [r["PutRequest"]["Item"]["c"]["N"] for r in resent] == ["5", "6", "7", "8", "9"]
        assert len(delays) == 2
        assert len([i for i in table.scan().all() if i["p"] == pk]) == 10


def test_unprocessed_items_after_every_retry_raise(sdk_server, table_sn):
    script = Script(rewrite=claim_unprocessed(times=100, keep=2))
    with make_client(sdk_server.endpoint, transport=FakeSync(SyncTransport(sdk_server.endpoint), script)) as client:
        with pytest.raises(UnprocessedItemsError) as raised:
            with client.table(table_sn).batch_writer(backoff=QUICK) as batch:
                batch.put({"p": "x", "c": 1})
                batch.put({"p": "x", "c": 2})
    assert sizes(script) == [2, 2, 2, 2]  # the first send and 3 retries
    assert len(raised.value.unprocessed[table_sn]) == 2


def test_batch_get_retries_unprocessed_keys_and_dedups(sdk_server, table_sn):
    pk = unique("bg")
    state = {"left": 1}

    def rewrite(operation, request, response):
        if operation != "BatchGetItem" or not state["left"]:
            return None
        state["left"] -= 1  # keep 3 found items back and call their keys unprocessed
        (table, spec), = request["RequestItems"].items()
        found = response["Responses"][table]
        return {"Responses": {table: found[3:]},
                "UnprocessedKeys": {table: {**spec, "Keys": [{"p": i["p"], "c": i["c"]} for i in found[:3]]}}}

    script = Script(rewrite=rewrite)
    with make_client(sdk_server.endpoint, transport=FakeSync(SyncTransport(sdk_server.endpoint), script)) as client:
        table = client.table(table_sn)
        with table.batch_writer() as batch:
            for i in range(130):
                batch.put({"p": pk, "c": i, "v": i * 2})
        keys = [{"p": pk, "c": i} for i in range(130)] + [{"p": pk, "c": 0}, {"p": pk, "c": 999}]
        got = table.batch_get(keys, consistent=True, backoff=QUICK)
    assert sorted(i["c"] for i in got) == list(range(130))
    assert all(i["v"] == i["c"] * 2 for i in got)
    assert sizes(script, "BatchGetItem") == [100, 3, 31]  # 131 unique keys: 100 + retry of 3, then 31


def test_batch_get_projection(client, table_sn):
    pk = unique("bgp")
    table = client.table(table_sn)
    table.put({"p": pk, "c": 1, "a": 1, "b": 2})
    assert table.batch_get([{"p": pk, "c": 1}], projection=["b"]) == [{"b": 2}]


def test_async_batch_writer_and_unprocessed_retry(sdk_server, table_sn):
    script = Script(rewrite=claim_unprocessed(times=1, keep=3))
    pk = unique("abw")

    async def run():
        transport = FakeAsync(AsyncTransport(sdk_server.endpoint), script)
        async with make_async_client(sdk_server.endpoint, transport=transport, batch_backoff=QUICK) as client:
            table = client.table(table_sn)
            async with table.batch_writer() as batch:
                for i in range(30):
                    await batch.put({"p": pk, "c": i})
                await batch.delete({"p": pk, "c": 29})
            return await table.batch_get([{"p": pk, "c": i} for i in range(30)])

    got = asyncio.run(run())
    assert sorted(i["c"] for i in got) == list(range(29))
    assert sizes(script) == [25, 3, 5]
