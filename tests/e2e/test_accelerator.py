"""The accelerator (gateway/accelerator.py) through boto3: its own port, the main port's API and auth.

One server (the in-process engine, 4 shards per table, the TTL sweeper on) with several accelerators
attached, each with its own listener: ``dax`` (the defaults but a short settle), ``tiny`` (a small
memory bound), ``clocked`` (an injected clock, for TTLs) and ``fresh`` (queries invalidated by
changes).  A change's arrival is awaited by polling with a deadline; nothing asserts a duration.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
import uuid

import pytest

from dynamoray.actors.local import LocalEngine
from dynamoray.core.cache import CacheSettings
from dynamoray.gateway import accelerator
from dynamoray.gateway.runner import BackgroundServer, build_gateway
from dynamoray.gateway.server import Gateway, ServerConfig
from tests.e2e.conftest import ACCESS_KEY, REGION, SECRET_KEY, make_client

DEADLINE = 20.0  # seconds a change may take to show (it takes milliseconds)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Stack:
    """The server, its clients and its accelerators."""

    def __init__(self) -> None:
        self.engine = LocalEngine(shards=4)
        asyncio.run(self.engine.open())
        self.gateway = build_gateway(self.engine, ACCESS_KEY, SECRET_KEY, ServerConfig(region=REGION),
                                     ttl_interval=0.2, telemetry=None)
        self.clock = Clock()
        self.daxes = {
            "dax": accelerator.attach(self.gateway, CacheSettings(settle=0.05)),
            "tiny": accelerator.attach(self.gateway, CacheSettings(settle=0.05, item_bytes=2000)),
            "clocked": accelerator.attach(self.gateway, CacheSettings(settle=0.0, item_ttl=60, query_ttl=30),
                                          clock=self.clock),
            "fresh": accelerator.attach(self.gateway, CacheSettings(settle=0.05, invalidate_queries=True)),
        }
        self.server = BackgroundServer(self.gateway).start()
        self.endpoints = {name: self.server.listen(gateway=g) for name, g in self.daxes.items()}
        self.main = make_client(self.server.endpoint)
        self.clients = {name: make_client(url) for name, url in self.endpoints.items()}

    def stats(self, name: str, cache: str = "item") -> dict:
        return self.daxes[name].accelerator.metrics()[cache]

    def close(self) -> None:
        self.server.stop()
        asyncio.run(self.engine.close())


@pytest.fixture(scope="module")
def stack():
    s = Stack()
    yield s
    s.close()


@pytest.fixture(scope="module")
def table(stack):
    name = f"dax_{uuid.uuid4().hex[:8]}"
    stack.main.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "c", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}, {"AttributeName": "c", "AttributeType": "N"}])
    return name


def key(p: str, c: int = 1) -> dict:
    return {"p": {"S": p}, "c": {"N": str(c)}}


def put(client, table: str, p: str, value: str, c: int = 1, **extra) -> dict:
    item = {**key(p, c), "v": {"S": value}, **extra}
    client.put_item(TableName=table, Item=item)
    return item


def get(client, table: str, p: str, c: int = 1, **options) -> dict | None:
    return client.get_item(TableName=table, Key=key(p, c), **options).get("Item")


def warm(client, table: str, p: str, stats) -> dict | None:
    """Read until the accelerator serves the key from its cache (the first reads fill it)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        before = stats()["hits"]
        found = get(client, table, p)
        if stats()["hits"] > before:
            return found
        assert time.monotonic() < deadline, "the accelerator never cached the item"
        time.sleep(0.02)


def eventually(read, expected) -> None:
    deadline = time.monotonic() + DEADLINE
    while (found := read()) != expected:
        assert time.monotonic() < deadline, f"still {found!r}, expected {expected!r}"
        time.sleep(0.01)


def test_a_cache_hit_returns_exactly_what_the_table_holds(stack, table):
    dax = stack.clients["dax"]
    item = put(stack.main, table, "hit", "one", n={"N": "1.50"}, m={"M": {"l": {"L": [{"B": "AAE="}, {"NULL": True}]}}})
    assert warm(dax, table, "hit", lambda: stack.stats("dax")) == get(stack.main, table, "hit", ConsistentRead=True)
    assert get(dax, table, "hit", ProjectionExpression="v") == {"v": item["v"]}  # projected from the cache
    assert get(dax, table, "nothing") is None  # a missing item: cached too (negative caching)
    assert get(dax, table, "nothing") is None


def test_a_write_that_bypasses_the_accelerator_is_seen_through_it(stack, table):
    dax = stack.clients["dax"]
    put(stack.main, table, "bypass", "old")
    warm(dax, table, "bypass", lambda: stack.stats("dax"))
    new = put(stack.main, table, "bypass", "new")
    eventually(lambda: get(dax, table, "bypass"), new)
    stack.main.delete_item(TableName=table, Key=key("bypass"))
    eventually(lambda: get(dax, table, "bypass"), None)


def test_a_write_through_the_accelerator_is_read_back_at_once(stack, table):
    dax = stack.clients["dax"]
    put(dax, table, "through", "v1")
    warm(dax, table, "through", lambda: stack.stats("dax"))
    mine = put(dax, table, "through", "v2")
    assert get(dax, table, "through") == mine  # write-through: no wait for the log
    dax.update_item(TableName=table, Key=key("through"), UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"S": "v3"}})
    assert get(dax, table, "through")["v"] == {"S": "v3"}
    dax.delete_item(TableName=table, Key=key("through"))
    assert get(dax, table, "through") is None


def test_a_transaction_through_the_accelerator_is_read_back(stack, table):
    dax = stack.clients["dax"]
    put(stack.main, table, "tx", "old")
    put(stack.main, table, "tx2", "old")
    warm(dax, table, "tx", lambda: stack.stats("dax"))
    warm(dax, table, "tx2", lambda: stack.stats("dax"))
    dax.transact_write_items(TransactItems=[
        {"Put": {"TableName": table, "Item": {**key("tx"), "v": {"S": "new"}}}},
        {"Update": {"TableName": table, "Key": key("tx2"), "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"S": "new"}}}}])
    assert get(dax, table, "tx")["v"] == {"S": "new"}  # dropped at once, read from the table
    assert get(dax, table, "tx2")["v"] == {"S": "new"}
    found = dax.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": key("tx")}}])
    assert found["Responses"][0]["Item"]["v"] == {"S": "new"}


def test_consistent_reads_bypass_the_cache(stack, table):
    dax = stack.clients["dax"]
    put(stack.main, table, "strong", "old")
    warm(dax, table, "strong", lambda: stack.stats("dax"))
    hits = stack.stats("dax")["hits"]
    new = put(stack.main, table, "strong", "new")
    assert get(dax, table, "strong", ConsistentRead=True) == new
    assert stack.stats("dax")["hits"] == hits


def test_batch_get_item_uses_the_item_cache(stack, table):
    dax = stack.clients["dax"]
    items = [put(stack.main, table, f"batch{i}", str(i)) for i in range(3)]
    for i in range(3):
        warm(dax, table, f"batch{i}", lambda: stack.stats("dax"))
    hits = stack.stats("dax")["hits"]
    found = dax.batch_get_item(RequestItems={table: {"Keys": [key(f"batch{i}") for i in range(3)]}})
    assert sorted(found["Responses"][table], key=lambda i: i["p"]["S"]) == items
    assert stack.stats("dax")["hits"] == hits + 3


def test_ttl_deletions_reach_the_cache(stack, table):
    dax = stack.clients["dax"]
    stack.main.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    put(stack.main, table, "expiring", "soon", exp={"N": str(int(time.time()) - 10)})
    warm(dax, table, "expiring", lambda: stack.stats("dax"))
    eventually(lambda: get(dax, table, "expiring"), None)  # the sweeper's deletion came through the log


def test_cache_entries_expire_after_their_ttl(stack, table):
    clocked = stack.clients["clocked"]
    put(stack.main, table, "ttl", "v")
    warm(clocked, table, "ttl", lambda: stack.stats("clocked"))
    expired = stack.stats("clocked")["expirations"]
    stack.clock.now += 61
    assert get(clocked, table, "ttl")["v"] == {"S": "v"}  # read from the table again
    assert stack.stats("clocked")["expirations"] == expired + 1


def query(client, table: str, p: str) -> list:
    return client.query(TableName=table, KeyConditionExpression="p = :p",
                        ExpressionAttributeValues={":p": {"S": p}})["Items"]


def test_query_results_live_until_their_ttl_as_on_dax(stack, table):
    clocked = stack.clients["clocked"]
    first = put(stack.main, table, "q", "one", c=1)
    deadline = time.monotonic() + DEADLINE
    while stack.stats("clocked", "query")["hits"] == 0:  # the first queries fill the cache
        assert query(clocked, table, "q") == [first]
        assert time.monotonic() < deadline
    second = put(stack.main, table, "q", "two", c=2)
    time.sleep(0.2)  # the feed has had time to bring the change: DAX's query cache keeps the old page
    assert query(clocked, table, "q") == [first]
    stack.clock.now += 31
    assert query(clocked, table, "q") == [first, second]


def test_with_invalidate_queries_a_change_refreshes_query_results(stack, table):
    fresh = stack.clients["fresh"]
    first = put(stack.main, table, "fq", "one", c=1)
    eventually(lambda: (query(fresh, table, "fq"), stack.stats("fresh", "query")["hits"] > 0)[1], True)
    second = put(stack.main, table, "fq", "two", c=2)
    eventually(lambda: query(fresh, table, "fq"), [first, second])


def test_eviction_under_a_small_memory_bound(stack, table):
    tiny = stack.clients["tiny"]
    items = {f"big{i}": put(stack.main, table, f"big{i}", "x" * 300) for i in range(12)}
    warm(tiny, table, "big0", lambda: stack.stats("tiny"))
    for _ in range(3):
        for p, item in items.items():
            assert get(tiny, table, p) == item
    stats = stack.stats("tiny")
    assert stats["evictions"] > 0
    assert stats["bytes"] <= 2000 and stats["entries"] < len(items)


def test_metrics_report_the_caches(stack, table):
    put(stack.main, table, "metrics", "v")
    warm(stack.clients["dax"], table, "metrics", lambda: stack.stats("dax"))
    text = urllib.request.urlopen(stack.endpoints["dax"] + "/metrics").read().decode()
    assert 'dynamoray_dax_hits_total{cache="item"}' in text
    assert 'dynamoray_dax_entries{cache="query"}' in text
    ratio = next(line for line in text.splitlines() if line.startswith('dynamoray_dax_hit_ratio{cache="item"}'))
    assert 0 < float(ratio.split()[-1]) <= 1


def test_a_restarted_accelerator_starts_empty_and_follows_new_changes(stack, table):
    put(stack.main, table, "restart", "before")
    warm(stack.clients["dax"], table, "restart", lambda: stack.stats("dax"))
    fresh = Gateway(stack.engine, stack.gateway.authenticator, stack.gateway.config)  # another process, as it were
    dax = accelerator.attach(fresh, CacheSettings(settle=0.05))
    server = BackgroundServer(fresh).start()
    try:
        client = make_client(server.listen(gateway=dax))
        assert get(client, table, "restart")["v"] == {"S": "before"}
        assert dax.accelerator.metrics()["item"]["hits"] == 0  # it started empty
        warm(client, table, "restart", lambda: dax.accelerator.metrics()["item"])
        after = put(stack.main, table, "restart", "after")
        eventually(lambda: get(client, table, "restart"), after)
    finally:
        server.stop()


def test_a_deleted_table_is_dropped_from_the_cache(stack):
    name = f"dax_{uuid.uuid4().hex[:8]}"
    stack.main.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}])
    dax = stack.clients["dax"]
    stack.main.put_item(TableName=name, Item={"p": {"S": "a"}})
    warm_key = {"p": {"S": "a"}}
    deadline = time.monotonic() + DEADLINE
    while name not in stack.daxes["dax"].accelerator.cache.followed:
        dax.get_item(TableName=name, Key=warm_key)
        assert time.monotonic() < deadline
        time.sleep(0.02)
    stack.main.delete_table(TableName=name)
    eventually(lambda: name in stack.daxes["dax"].accelerator.cache.followed, False)
    with pytest.raises(dax.exceptions.ResourceNotFoundException):
        dax.get_item(TableName=name, Key=warm_key)
