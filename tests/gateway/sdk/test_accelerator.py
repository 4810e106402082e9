"""The SDK's in-process accelerator (sdk/accelerator.py) and the change feed it reads (gateway/change_feed.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dynamoray.gateway.runner import BackgroundServer
from dynamoray.gateway.sdk import AcceleratorConfig, Client, ResourceNotFoundException, Update, ValidationException

from .conftest import make_async_client, make_client, unique

DEADLINE = 20.0
CONFIG = AcceleratorConfig(poll_interval=0.01, settle=0.05)


@pytest.fixture()
def cached(sdk_server: BackgroundServer) -> Iterator[Client]:
    with make_client(sdk_server.endpoint, accelerator=CONFIG) as c:
        yield c


def hits(client: Any) -> int:
    return int(client._accelerator.cache.items.stats.hits)


def warm(client: Client, table: str, key: dict[str, Any]) -> Any:
    """Read until the key is served from the cache (the first reads fill it)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        before = hits(client)
        found = client.table(table).get(key)
        if hits(client) > before:
            return found
        assert time.monotonic() < deadline, "the accelerator never cached the item"
        time.sleep(0.01)


def eventually(read: Callable[[], Any], expected: Any) -> None:
    deadline = time.monotonic() + DEADLINE
    while (found := read()) != expected:
        assert time.monotonic() < deadline, f"still {found!r}, expected {expected!r}"
        time.sleep(0.005)


def test_a_cached_get_returns_what_the_table_holds(client: Client, cached: Client, table_s: str) -> None:
    client.table(table_s).put({"p": "hit", "n": 7, "tags": {"a", "b"}, "m": {"l": [1, b"x", None]}})
    assert warm(cached, table_s, {"p": "hit"}) == client.table(table_s).get({"p": "hit"}, consistent=True)
    assert cached.table(table_s).get({"p": "absent"}) is None


def test_writes_by_another_client_reach_the_cache(client: Client, cached: Client, table_s: str) -> None:
    client.table(table_s).put({"p": "other", "v": 1})
    warm(cached, table_s, {"p": "other"})
    client.table(table_s).put({"p": "other", "v": 2})
    eventually(lambda: cached.table(table_s).get({"p": "other"}), {"p": "other", "v": 2})
    client.table(table_s).update({"p": "other"}, Update().set("v", 3))
    eventually(lambda: cached.table(table_s).get({"p": "other"}), {"p": "other", "v": 3})
    client.table(table_s).delete({"p": "other"})
    eventually(lambda: cached.table(table_s).get({"p": "other"}), None)


def test_the_clients_own_writes_are_read_back_at_once(cached: Client, table_s: str) -> None:
    table = cached.table(table_s)
    table.put({"p": "own", "v": 1})
    warm(cached, table_s, {"p": "own"})
    table.put({"p": "own", "v": 2})
    assert table.get({"p": "own"}) == {"p": "own", "v": 2}
    table.update({"p": "own"}, Update().set("v", 3))
    assert table.get({"p": "own"}) == {"p": "own", "v": 3}
    table.delete({"p": "own"})
    assert table.get({"p": "own"}) is None


def test_consistent_reads_and_projections_bypass_the_cache(client: Client, cached: Client, table_s: str) -> None:
    client.table(table_s).put({"p": "strong", "v": 1, "w": 2})
    warm(cached, table_s, {"p": "strong"})
    before = hits(cached)
    assert cached.table(table_s).get({"p": "strong"}, consistent=True) == {"p": "strong", "v": 1, "w": 2}
    assert cached.table(table_s).get({"p": "strong"}, projection=["w"]) == {"w": 2}
    assert hits(cached) == before


def test_items_expire_after_their_ttl(sdk_server: BackgroundServer, client: Client, table_s: str) -> None:
    now = [100.0]
    with make_client(sdk_server.endpoint, accelerator=AcceleratorConfig(item_ttl=30, settle=0.0)) as c:
        c._accelerator._clock = lambda: now[0]  # type: ignore[union-attr]
        client.table(table_s).put({"p": "ttl", "v": 1})
        warm(c, table_s, {"p": "ttl"})
        now[0] += 31
        assert c.table(table_s).get({"p": "ttl"}) == {"p": "ttl", "v": 1}
        assert c._accelerator.cache.items.stats.expirations == 1  # type: ignore[union-attr]


def test_a_deleted_table_is_dropped_from_the_cache(client: Client, cached: Client) -> None:
    name = unique("gone")
    client.create_table(name, hash_key=("p", "S")).put({"p": "a"})
    warm(cached, name, {"p": "a"})
    client.delete_table(name)
    eventually(lambda: name in cached._accelerator.cache.followed, False)  # type: ignore[union-attr]
    with pytest.raises(ResourceNotFoundException):
        cached.table(name).get({"p": "a"})


def test_the_async_client_has_the_accelerator_too(sdk_server: BackgroundServer, client: Client, table_s: str) -> None:
    client.table(table_s).put({"p": "async", "v": 1})

    async def scenario() -> None:
        async with make_async_client(sdk_server.endpoint, accelerator=CONFIG) as c:
            table = c.table(table_s)
            deadline = time.monotonic() + DEADLINE
            while hits(c) == 0:
                assert await table.get({"p": "async"}) == {"p": "async", "v": 1}
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            client.table(table_s).put({"p": "async", "v": 2})
            while (found := await table.get({"p": "async"})) != {"p": "async", "v": 2}:
                assert time.monotonic() < deadline, found
                await asyncio.sleep(0.005)
            await table.put({"p": "async", "v": 3})
            assert await table.get({"p": "async"}) == {"p": "async", "v": 3}

    asyncio.run(scenario())


# --- the change feed ------------------------------------------------------------------------------


def feed(client: Client, **params: Any) -> dict[str, Any]:
    return client.call("GetChanges", "dynamoraychanges", **params)


def test_the_change_feed_starts_at_the_end_and_hands_out_new_images(client: Client, table_s: str) -> None:
    client.table(table_s).put({"p": "before"})
    start = feed(client, TableName=table_s)
    assert start["Reset"] is True and start["Changes"] == []
    assert len(start["Positions"]) == 4  # every shard
    client.table(table_s).put({"p": "feed", "v": 1})
    client.table(table_s).delete({"p": "feed"})
    changes: list[dict[str, Any]] = []
    positions = start["Positions"]
    deadline = time.monotonic() + DEADLINE
    while len(changes) < 2:
        answer = feed(client, TableName=table_s, TableId=start["TableId"], Positions=positions)
        assert "Reset" not in answer
        changes += answer["Changes"]
        positions = answer["Positions"]
        assert time.monotonic() < deadline
    assert changes == [{"Keys": {"p": {"S": "feed"}}, "NewImage": {"p": {"S": "feed"}, "v": {"N": "1"}}},
                       {"Keys": {"p": {"S": "feed"}}}]


def test_the_change_feed_resets_a_follower_of_another_table(client: Client, table_s: str) -> None:
    start = feed(client, TableName=table_s)
    again = feed(client, TableName=table_s, TableId="another-table-id", Positions=start["Positions"])
    assert again["Reset"] is True
    assert feed(client, TableName=table_s, Positions={"0": 0})["Reset"] is True  # not the table's shards


def test_the_change_feed_validates_and_names_a_missing_table(client: Client) -> None:
    with pytest.raises(ResourceNotFoundException):
        feed(client, TableName="no_such_table_here")
    with pytest.raises(ValidationException, match="Limit must be an integer"):
        feed(client, TableName="whatever", Limit=0)
