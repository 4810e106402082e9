"""gateway/throttling.py and gateway/capacity.py: admission and charging around a request, with an
in-memory engine and a fake clock (tests/e2e/test_capacity.py drives the same through boto3)."""

from __future__ import annotations

import asyncio

import pytest

from dynamoray.actors.local import LocalEngine
from dynamoray.core import tables, throttle
from dynamoray.core.errors import DynamoError
from dynamoray.gateway import capacity
from dynamoray.gateway.throttling import Throttled, Throttler, Use, _query_hash


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(coroutine):
    return asyncio.run(coroutine)


async def _engine(read=1, write=1, shards=4, mode="PROVISIONED", **extra) -> LocalEngine:
    engine = LocalEngine(shards=shards)
    request = {"TableName": "songs", "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": "p", "AttributeType": "S"}], "BillingMode": mode, **extra}
    if mode == "PROVISIONED":
        request["ProvisionedThroughput"] = {"ReadCapacityUnits": read, "WriteCapacityUnits": write}
    description = tables.new_table_description(request, arn="arn:aws:dynamodb:us-east-1:1:table/songs",
                                               table_id="t-1", now=0.0)
    await engine.create_table(description)
    return engine


def put(key: str) -> dict:
    return {"TableName": "songs", "Item": {"p": {"S": key}}}


def test_a_single_write_is_admitted_on_its_shard_and_refused_once_the_burst_is_spent():
    async def scenario():
        engine = await _engine(write=1)
        clock = Clock()
        throttler = Throttler(engine, clock=clock)
        admission = await throttler.admit("PutItem", put("a"))
        assert admission.uses[0].shard is not None and admission.body == put("a")
        throttler.charge(admission, [capacity.Consumed("songs", write=300.0)])
        with pytest.raises(Throttled) as info:
            await throttler.admit("PutItem", put("a"))
        assert info.value.error.error_type == "ProvisionedThroughputExceededException"
        assert [(use.kind, found.reason) for use, found in info.value.refused] == [
            ("Write", "TableWriteProvisionedThroughputExceeded")]
        assert await throttler.admit("GetItem", {"TableName": "songs", "Key": {"p": {"S": "a"}}}) is not None
        clock.now += 0.5
        await throttler.admit("PutItem", put("a"))  # half a unit refilled
    run(scenario())


def test_a_batch_keeps_the_admitted_keys_and_returns_the_others_unprocessed():
    async def scenario():
        engine = await _engine(write=4, shards=4)
        throttler = Throttler(engine, config=throttle.ThrottleConfig(adaptive=False), clock=Clock())
        spent = await throttler.admit("PutItem", put("hot"))
        throttler.charge(spent, [capacity.Consumed("songs", write=300.0)])  # the hot key's shard share
        cold = None
        for n in range(100):
            if (await throttler.admit("PutItem", put(f"k{n}"))).uses[0].shard != spent.uses[0].shard:
                cold = f"k{n}"
                break
        body = {"RequestItems": {"songs": [{"PutRequest": {"Item": {"p": {"S": "hot"}}}},
                                           {"PutRequest": {"Item": {"p": {"S": cold}}}}]}}
        admission = await throttler.admit("BatchWriteItem", body)
        assert admission.body["RequestItems"] == {"songs": [{"PutRequest": {"Item": {"p": {"S": cold}}}}]}
        assert admission.unprocessed == ("UnprocessedItems", {"songs": [{"PutRequest": {"Item": {"p": {"S": "hot"}}}}]})
        assert [found.reason for _, found in admission.refused] == ["TableWriteKeyRangeThroughputExceeded"]
        with pytest.raises(Throttled):
            await throttler.admit("BatchWriteItem", {"RequestItems": {"songs": body["RequestItems"]["songs"][:1]}})
        gets = await throttler.admit("BatchGetItem", {"RequestItems": {"songs": {"Keys": [{"p": {"S": "hot"}}],
                                                                                 "ConsistentRead": True}}})
        assert gets.unprocessed is None  # reads have their own buckets
    run(scenario())


def test_a_transaction_is_cancelled_with_a_reason_per_item():
    async def scenario():
        engine = await _engine(write=1)
        throttler = Throttler(engine, clock=Clock())
        spent = await throttler.admit("PutItem", put("a"))
        throttler.charge(spent, [capacity.Consumed("songs", write=400.0)])
        items = [{"ConditionCheck": {"TableName": "songs", "Key": {"p": {"S": "a"}}, "ConditionExpression": "x"}},
                 {"Put": {"TableName": "songs", "Item": {"p": {"S": "b"}}}}]
        with pytest.raises(Throttled) as info:
            await throttler.admit("TransactWriteItems", {"TransactItems": items})
        error = info.value.error
        assert error.error_type == "TransactionCanceledException"
        assert [r["Code"] for r in error.extra["CancellationReasons"]] == ["None", "ThrottlingError"]
    run(scenario())


def test_partiql_statements_draw_on_their_table():
    async def scenario():
        engine = await _engine(read=1)
        throttler = Throttler(engine, clock=Clock())
        admission = await throttler.admit("ExecuteStatement", {"Statement": 'SELECT * FROM "songs" WHERE p = ?'})
        assert [(u.table, u.kind) for u in admission.uses] == [("songs", "Read")]
        throttler.charge(admission, [capacity.Consumed("songs", read=301.0)])
        with pytest.raises(Throttled):
            await throttler.admit("ExecuteStatement", {"Statement": "SELECT * FROM songs"})
        written = await throttler.admit("BatchExecuteStatement",
                                        {"Statements": [{"Statement": "DELETE FROM songs WHERE p = 'a'"}]})
        assert written.uses[0].kind == "Write"
        assert await throttler.admit("ExecuteStatement", {"Statement": "not partiql"}) is not None  # the handler reports it
    run(scenario())


def test_unknown_tables_and_other_operations_are_not_throttled():
    async def scenario():
        engine = await _engine()
        throttler = Throttler(engine, clock=Clock())
        admission = await throttler.admit("GetItem", {"TableName": "nope", "Key": {"p": {"S": "a"}}})
        assert admission.uses == [Use("nope", "Read")]
        assert await throttler.admit("ListTables", {}) is None
    run(scenario())


def test_on_demand_maxima_and_switch_limits():
    async def scenario():
        engine = await _engine(mode="PAY_PER_REQUEST", OnDemandThroughput={"MaxReadRequestUnits": 2})
        clock = Clock()
        throttler = Throttler(engine, clock=clock, wall=lambda: 100.0, switch_interval=86400)
        first = await throttler.admit("GetItem", {"TableName": "songs", "Key": {"p": {"S": "a"}}})
        throttler.charge(first, [capacity.Consumed("songs", read=3.0)])
        with pytest.raises(Throttled) as info:
            await throttler.admit("GetItem", {"TableName": "songs", "Key": {"p": {"S": "a"}}})
        assert info.value.error.error_type == "ThrottlingException"
        description = await engine.describe_table("songs")
        provisioned = tables.updated_description(description, {"BillingMode": "PROVISIONED", "ProvisionedThroughput": {
            "ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}, 50.0)
        assert provisioned["BillingModeSummary"]["LastUpdateToPayPerRequestDateTime"] == 0.0  # kept
        await engine.replace_table("songs", provisioned)
        with pytest.raises(DynamoError) as refused:
            await throttler.admit("UpdateTable", {"TableName": "songs", "BillingMode": "PAY_PER_REQUEST"})
        assert refused.value.error_type == "LimitExceededException"
    run(scenario())


def test_the_query_partition_key_is_found_without_parsing_the_expression():
    body = {"KeyConditionExpression": "#k = :v AND c > :c", "ExpressionAttributeNames": {"#k": "p"},
            "ExpressionAttributeValues": {":v": {"S": "a"}, ":c": {"N": "1"}}}
    assert _query_hash(body, "p") == {"S": "a"}
    assert _query_hash({**body, "KeyConditionExpression": "c > :c AND #k = :v"}, "p") == {"S": "a"}
    assert _query_hash({**body, "KeyConditionExpression": "begins_with(c, :c)"}, "p") is None
    legacy = {"KeyConditions": {"p": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "z"}]}}}
    assert _query_hash(legacy, "p") == {"S": "z"}


# --- the ConsumedCapacity the gateway asks for, and gives back ------------------------------------


def test_the_handler_always_sees_indexes_and_the_client_gets_what_it_asked_for():
    body = {"TableName": "songs", "ReturnConsumedCapacity": "TOTAL"}
    assert capacity.detailed(body)["ReturnConsumedCapacity"] == "INDEXES" and body["ReturnConsumedCapacity"] == "TOTAL"
    detailed = {"TableName": "songs", "CapacityUnits": 3.0, "Table": {"CapacityUnits": 1.0},
                "GlobalSecondaryIndexes": {"g": {"CapacityUnits": 1.5}}, "LocalSecondaryIndexes": {"l": {"CapacityUnits": 0.5}}}
    for asked, expected in (("TOTAL", {"TableName": "songs", "CapacityUnits": 3.0}), ("INDEXES", detailed)):
        response = {"ConsumedCapacity": dict(detailed)}
        capacity.as_asked(response, asked)
        assert response["ConsumedCapacity"] == expected
    for asked in (None, "NONE"):
        response = {"ConsumedCapacity": dict(detailed), "Item": {}}
        capacity.as_asked(response, asked)
        assert response == {"Item": {}}
    listed = {"ConsumedCapacity": [dict(detailed)]}
    capacity.as_asked(listed, "TOTAL")
    assert listed == {"ConsumedCapacity": [{"TableName": "songs", "CapacityUnits": 3.0}]}


def test_what_a_response_consumed_per_table_and_index():
    response = {"ConsumedCapacity": {"TableName": "songs", "CapacityUnits": 3.0, "Table": {"CapacityUnits": 1.0},
                                     "GlobalSecondaryIndexes": {"g": {"CapacityUnits": 1.5}},
                                     "LocalSecondaryIndexes": {"l": {"CapacityUnits": 0.5}}}}
    assert capacity.consumed_of(response, "Write") == [
        capacity.Consumed("songs", 0.0, 1.5, (), (("g", 1.5),))]  # an LSI's units are the table's
    split = {"ConsumedCapacity": [{"TableName": "a", "CapacityUnits": 6.0, "ReadCapacityUnits": 2.0,
                                   "WriteCapacityUnits": 4.0,
                                   "Table": {"CapacityUnits": 6.0, "ReadCapacityUnits": 2.0, "WriteCapacityUnits": 4.0}}]}
    assert capacity.consumed_of(split, None) == [capacity.Consumed("a", 2.0, 4.0)]
    assert capacity.consumed_of({}, "Read") == []
