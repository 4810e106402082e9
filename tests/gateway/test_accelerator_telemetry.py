"""The accelerator's port goes through the main port's telemetry (gateway/accelerator.py,
``CachedTelemetry``): cache hits consume no table capacity (ConsumedCapacity, the buckets, the
metrics), misses consume what the table read costs, its requests are throttled, counted in the
metrics and audited.  One in-process server; nothing asserts a duration."""

from __future__ import annotations

import asyncio
import time
import urllib.request
import uuid

import pytest
from botocore.exceptions import ClientError

from dynamoray.actors.local import LocalEngine
from dynamoray.core.cache import CacheSettings
from dynamoray.core.throttle import ThrottleConfig
from dynamoray.gateway import accelerator
from dynamoray.gateway.runner import BackgroundServer, build_gateway
from dynamoray.gateway.server import ServerConfig
from dynamoray.gateway.telemetry import TelemetryOptions
from tests.e2e.conftest import ACCESS_KEY, REGION, SECRET_KEY, make_client

DEADLINE = 20.0
BIG = "x" * 300_000  # a strongly consistent read of it costs 74 units: the table's bucket (5 units) is overdrawn


class Stack:
    def __init__(self) -> None:
        self.engine = LocalEngine(shards=1)
        asyncio.run(self.engine.open())
        options = TelemetryOptions(throttle=ThrottleConfig(burst_seconds=1.0), audit_flush=0.05, usage=False,
                                   auto_scaling=False)
        self.gateway = build_gateway(self.engine, ACCESS_KEY, SECRET_KEY, ServerConfig(region=REGION),
                                     telemetry=options)
        self.dax_gateway = accelerator.attach(self.gateway, CacheSettings(settle=0.0))
        self.server = BackgroundServer(self.gateway).start()
        self.dax_endpoint = self.server.listen(gateway=self.dax_gateway)
        self.main = make_client(self.server.endpoint)
        self.dax = make_client(self.dax_endpoint)

    @property
    def telemetry(self):
        return self.gateway.telemetry

    def hits(self) -> float:
        return self.gateway.accelerator.metrics()["item"]["hits"]

    def close(self) -> None:
        self.server.stop()
        asyncio.run(self.engine.close())


@pytest.fixture(scope="module")
def stack():
    s = Stack()
    yield s
    s.close()


def new_table(stack: Stack, provisioned: bool = False) -> str:
    name = f"daxt_{uuid.uuid4().hex[:8]}"
    extra = {"BillingMode": "PROVISIONED", "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}} \
        if provisioned else {"BillingMode": "PAY_PER_REQUEST"}
    stack.main.create_table(TableName=name, KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}], **extra)
    return name


def get(client, table: str, p: str, **extra) -> dict:
    return client.get_item(TableName=table, Key={"p": {"S": p}}, ReturnConsumedCapacity="TOTAL", **extra)


def warm(stack: Stack, table: str, p: str) -> dict:
    """GetItem through the accelerator until it is a hit; the hit's response."""
    deadline = time.monotonic() + DEADLINE
    while True:
        before = stack.hits()
        response = get(stack.dax, table, p)
        if stack.hits() > before:
            return response
        assert time.monotonic() < deadline, "never cached"
        time.sleep(0.01)


def read_units(stack: Stack, table: str, operation: str) -> float:
    return stack.telemetry.recorder.cell(table, operation).read


def test_a_hit_consumes_nothing_and_a_miss_what_the_table_read_costs(stack):
    table = new_table(stack)
    stack.main.put_item(TableName=table, Item={"p": {"S": "a"}, "v": {"S": "y" * 5000}})  # 2 blocks of 4 KB
    miss = get(stack.dax, table, "a")
    assert miss["ConsumedCapacity"] == {"TableName": table, "CapacityUnits": 1.0}
    hit = warm(stack, table, "a")
    assert hit["ConsumedCapacity"] == {"TableName": table, "CapacityUnits": 0.0}
    charged = read_units(stack, table, "GetItem")
    cell = stack.telemetry.recorder.cell(table, "GetItem")
    requests = cell.latency_count
    for _ in range(10):
        assert get(stack.dax, table, "a")["ConsumedCapacity"]["CapacityUnits"] == 0.0
    assert read_units(stack, table, "GetItem") == charged  # metered: nothing for hits
    assert cell.latency_count == requests + 10  # ... but counted as requests
    strong = get(stack.dax, table, "a", ConsistentRead=True)  # passes through: the table's price
    assert strong["ConsumedCapacity"]["CapacityUnits"] == 2.0
    assert read_units(stack, table, "GetItem") == charged + 2.0


def test_batches_and_pages_from_the_cache_are_free(stack):
    table = new_table(stack)
    for p in ("a", "b"):
        stack.main.put_item(TableName=table, Item={"p": {"S": p}})
    warm(stack, table, "a")
    batch = stack.dax.batch_get_item(RequestItems={table: {"Keys": [{"p": {"S": "a"}}, {"p": {"S": "b"}}]}},
                                     ReturnConsumedCapacity="INDEXES")
    [consumed] = batch["ConsumedCapacity"]  # "a" was a hit, "b" a miss: half a unit
    assert consumed == {"TableName": table, "CapacityUnits": 0.5, "Table": {"CapacityUnits": 0.5}}
    scan = {"TableName": table, "ReturnConsumedCapacity": "TOTAL"}
    assert stack.dax.scan(**scan)["ConsumedCapacity"]["CapacityUnits"] == 0.5  # a miss fills the page
    deadline = time.monotonic() + DEADLINE
    while stack.dax.scan(**scan)["ConsumedCapacity"]["CapacityUnits"] != 0.0:  # then the page is a hit
        assert time.monotonic() < deadline


def test_requests_through_the_accelerator_are_throttled_but_not_its_hits(stack):
    table = new_table(stack, provisioned=True)
    stack.main.put_item(TableName=table, Item={"p": {"S": "hot"}})
    stack.main.put_item(TableName=table, Item={"p": {"S": "big"}, "v": {"S": BIG}})  # overdraws the writes
    warm(stack, table, "hot")
    get(stack.dax, table, "big", ConsistentRead=True)  # admitted (the bucket had units), then charged 74
    with pytest.raises(ClientError) as refused:
        get(stack.dax, table, "big", ConsistentRead=True)
    assert refused.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert stack.telemetry.recorder.cell(table, "GetItem").throttled >= 1
    with pytest.raises(ClientError):  # a miss of the accelerator is the table's read: refused too
        get(stack.dax, table, "cold")
    assert get(stack.dax, table, "hot")["Item"] == {"p": {"S": "hot"}}  # a hit is served


def test_the_accelerators_calls_are_audited_and_in_its_metrics(stack):
    table = new_table(stack)
    asyncio.run_coroutine_threadsafe(stack.telemetry.auditor.set_data_plane(table, True),
                                     stack.server._loop).result(30)
    stack.dax.put_item(TableName=table, Item={"p": {"S": "audited"}})
    get(stack.dax, table, "audited")
    deadline = time.monotonic() + DEADLINE
    while True:
        found, _ = asyncio.run_coroutine_threadsafe(stack.telemetry.auditor.lookup(table=table),
                                                    stack.server._loop).result(30)
        names = sorted(record["eventName"] for record in found)  # CreateTable came through the main port
        if names == ["CreateTable", "GetItem", "PutItem"]:
            break
        assert time.monotonic() < deadline, names
        time.sleep(0.05)
    with urllib.request.urlopen(f"{stack.dax_endpoint}/metrics") as answer:
        text = answer.read().decode()
    assert f'TableName="{table}"' in text and "dynamoray_dax_hits_total" in text
