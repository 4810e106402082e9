"""The gateway's index rules (gateway/indexes.py): which index a read names, Select, fetches,
starting keys and capacity, with a fake engine (the e2e tests cover them through boto3)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from dynamoray.core import indexes, keys
from dynamoray.core.commands import Page
from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ExpressionContext
from dynamoray.gateway import indexes as gateway_indexes

TABLE = keys.KeySchema("p", "S", "c", "N")
GSI = indexes.IndexDef("gsi", True, keys.KeySchema("g", "S"), TABLE, "KEYS_ONLY")
LSI = indexes.IndexDef("lsi", False, keys.KeySchema("p", "S", "l", "N"), TABLE, "INCLUDE", ("x",))


class Engine:
    """Answers ``table_indexes`` from a list of sets: the cached one, then what a refresh reads."""

    def __init__(self, *sets: indexes.IndexSet) -> None:
        self.sets = list(sets)
        self.refreshes = 0

    async def table_indexes(self, table: str, refresh: bool = False) -> indexes.IndexSet:
        if refresh:
            self.refreshes += 1
            self.sets.pop(0)
        return self.sets[0]


@dataclass
class Ctx:
    engine: Engine


def index_for(engine: Engine, **body):
    return asyncio.run(gateway_indexes.index_for(Ctx(engine), "t", {"TableName": "t", **body}))


def message(call, *args, **kwargs) -> str:
    with pytest.raises(DynamoError) as found:
        call(*args, **kwargs)
    return found.value.message


def test_a_cached_set_is_refreshed_before_an_index_is_called_unknown_or_backfilling():
    stale = indexes.IndexSet(0, (LSI,))
    fresh = indexes.IndexSet(1, (LSI, GSI))
    engine = Engine(stale, fresh)
    assert index_for(engine, IndexName="gsi") == GSI and engine.refreshes == 1
    assert index_for(Engine(fresh), IndexName="lsi", ConsistentRead=True) == LSI
    assert message(index_for, Engine(stale, stale), IndexName="nope") == "The table does not have the specified index: nope"
    building = indexes.IndexSet(1, (GSI,), frozenset({"gsi"}))
    engine = Engine(building, building)
    assert message(index_for, engine, IndexName="gsi") == "Cannot read from backfilling global secondary index: gsi"
    assert engine.refreshes == 1
    assert message(index_for, Engine(fresh), IndexName="gsi", ConsistentRead=True) == (
        "Consistent reads are not supported on global secondary indexes")


def test_select_and_fetches():
    assert gateway_indexes.select({"Select": "COUNT"}, GSI, False) is True
    assert message(gateway_indexes.select, {"Select": "ALL_ATTRIBUTES"}, GSI, False).endswith(
        "Select type ALL_ATTRIBUTES is not supported for global secondary index gsi because its projection type is not ALL")
    assert gateway_indexes.select({"Select": "ALL_ATTRIBUTES"}, LSI, False) is False
    ex = ExpressionContext(None, None)
    assert gateway_indexes.fetches({"Select": "ALL_ATTRIBUTES"}, LSI)
    assert not gateway_indexes.fetches({}, LSI, ex.projection("p, x, l"))
    assert gateway_indexes.fetches({}, LSI, ex.projection("p, y"))
    assert gateway_indexes.fetches({}, LSI, None, ex.condition("attribute_exists(z)", "FilterExpression"))
    assert not gateway_indexes.fetches({"Select": "ALL_ATTRIBUTES"}, GSI, ex.projection("y"))


def test_starting_keys_hold_the_table_and_index_keys():
    body = {"ExclusiveStartKey": {"p": {"S": "a"}, "c": {"N": "1"}, "g": {"S": "x"}}}
    assert gateway_indexes.start_key(body, GSI) == body["ExclusiveStartKey"]
    assert message(gateway_indexes.start_key, {"ExclusiveStartKey": {"p": {"S": "a"}, "c": {"N": "1"}}}, GSI) == (
        "The provided starting key is invalid")
    wrong = {"ExclusiveStartKey": {"p": {"S": "a"}, "c": {"N": "1"}, "g": {"N": "2"}}}
    assert message(gateway_indexes.start_key, wrong, GSI) == (
        "The provided starting key is invalid: The provided key element does not match the schema")


def test_capacity_of_a_page_goes_to_the_index_and_fetches_to_the_table():
    page = Page([], 0, 3, 5000, None, fetched_bytes=9000)
    out = gateway_indexes.page_response({"ReturnConsumedCapacity": "INDEXES"}, "t", LSI, page, False, False)
    assert out["ConsumedCapacity"] == {"TableName": "t", "CapacityUnits": 2.5, "Table": {"CapacityUnits": 1.5},
                                       "LocalSecondaryIndexes": {"lsi": {"CapacityUnits": 1.0}}}
    total = gateway_indexes.page_response({"ReturnConsumedCapacity": "TOTAL"}, "t", GSI, Page([], 0, 0, 0, None),
                                          True, False)
    assert total == {"Count": 0, "ScannedCount": 0, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 0.5}}


def test_a_fetch_only_for_the_filter_returns_what_the_index_projects():
    from dynamoray.core.expressions import ast

    assert gateway_indexes.returned({}, LSI, None, True) == ast.Projection(
        tuple(ast.Path((name,)) for name in ("c", "l", "p", "x")))
    assert gateway_indexes.returned({"Select": "ALL_ATTRIBUTES"}, LSI, None, True) is None
    assert gateway_indexes.returned({}, LSI, None, False) is None
    own = ExpressionContext(None, None).projection("y")
    assert gateway_indexes.returned({}, LSI, own, True) is own
