"""get/put/update/delete: return values, conditions, the failed item, models as item types."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Annotated

import pytest
from pydantic import BaseModel, Field

from dynamoray.gateway.sdk import (
    AsyncTable,
    Attr,
    ConditionalCheckFailedException,
    HashKey,
    RangeKey,
    ResourceNotFoundException,
    Table,
    Update,
    ValidationException,
)
from dynamoray.gateway.sdk.models import KeySchema, model_key_schema

from .conftest import make_async_client, unique


class Order(BaseModel):
    customer: Annotated[str, HashKey]
    number: Annotated[int, RangeKey]
    total: Decimal
    tags: set[str] = Field(default_factory=set)
    note: str | None = None


def test_put_get_delete_with_return_values(client, table_s):
    table = client.table(table_s)
    assert table.put({"p": "rv", "v": 1}) is None
    assert table.put({"p": "rv", "v": 2}, return_values="ALL_OLD") == {"p": "rv", "v": 1}
    assert table.get({"p": "rv"}, consistent=True) == {"p": "rv", "v": 2}
    assert table.get({"p": "rv"}, projection=["v"]) == {"v": 2}
    assert table.delete({"p": "rv"}, return_values="ALL_OLD") == {"p": "rv", "v": 2}
    assert table.get({"p": "rv"}) is None
    assert table.delete({"p": "rv"}, return_values="ALL_OLD") is None


@pytest.mark.parametrize("return_values, expected", [
    ("NONE", None),
    ("ALL_NEW", {"p": "upd", "a": 1, "n": 6}),
    ("UPDATED_NEW", {"a": 1, "n": 6}),
    ("ALL_OLD", {"p": "upd", "n": 5, "gone": "x"}),
    ("UPDATED_OLD", {"n": 5, "gone": "x"}),
])
def test_update_return_values(client, table_s, return_values, expected):
    table = client.table(table_s)
    table.put({"p": "upd", "n": 5, "gone": "x"})
    got = table.update({"p": "upd"}, Update().set("a", 1).add("n", 1).remove("gone"), return_values=return_values)
    assert got == expected


def test_conditions_guard_writes_and_the_failed_item_comes_back(client, table_s):
    table = client.table(table_s)
    table.put({"p": "cond", "state": "open", "v": 1}, condition=Attr("p").not_exists())
    with pytest.raises(ConditionalCheckFailedException) as raised:
        table.put({"p": "cond"}, condition=Attr("p").not_exists(), on_condition_failure="ALL_OLD")
    assert raised.value.item == {"p": "cond", "state": "open", "v": 1}
    assert raised.value.message == "The conditional request failed" and raised.value.status == 400
    with pytest.raises(ConditionalCheckFailedException) as raised:
        table.update({"p": "cond"}, Update().set("state", "closed"), condition=Attr("state").eq("closed"))
    assert raised.value.item is None
    table.update({"p": "cond"}, Update().set("state", "closed"), condition=Attr("state").eq("open") & Attr("v").lt(2))
    with pytest.raises(ConditionalCheckFailedException):
        table.delete({"p": "cond"}, condition=Attr("state").ne("closed"))
    table.delete({"p": "cond"}, condition=Attr("state").is_in(["closed", "x"]))
    assert table.get({"p": "cond"}) is None


def test_the_server_errors_arrive_as_named_exceptions(client, table_s):
    with pytest.raises(ResourceNotFoundException) as missing:
        client.table("no_such_table_sdk").get({"p": "x"})
    assert missing.value.message == "Requested resource not found"
    with pytest.raises(ValidationException) as invalid:
        client.table(table_s).get({"p": 1})
    assert invalid.value.message == "The provided key element does not match the schema"


def test_model_keys_are_read_from_the_annotations():
    assert model_key_schema(Order) == KeySchema("customer", "number", "S", "N")

    class NoKeys(BaseModel):
        a: str

    assert model_key_schema(NoKeys) is None

    class Floaty(BaseModel):
        a: Annotated[float, HashKey]

    with pytest.raises(TypeError):
        model_key_schema(Floaty)


def test_pydantic_models_as_item_types(client):
    name = unique("orders")
    orders = client.create_table(name, model=Order)
    assert isinstance(orders, Table)
    order = Order(customer="ada", number=1, total=Decimal("9.90"), tags={"new"})
    orders.put(order)
    got = orders.get({"customer": "ada", "number": 1})
    assert got == order and isinstance(got, Order)
    assert orders.get(order) == order  # a model instance works as its own key
    raw = client.table(name).get({"customer": "ada", "number": 1})
    assert raw == {"customer": "ada", "number": 1, "total": Decimal("9.9"), "tags": {"new"}}  # note=None: absent
    orders.update(order, Update().set("note", "gift"))
    assert orders.delete(order, return_values="ALL_OLD") == order.model_copy(update={"note": "gift"})
    client.delete_table(name)


def test_async_items_and_models(sdk_server):
    async def run():
        async with make_async_client(sdk_server.endpoint) as client:
            name = unique("aorders")
            orders = await client.create_table(name, model=Order)
            assert isinstance(orders, AsyncTable)
            order = Order(customer="bo", number=2, total=Decimal(3))
            assert await orders.put(order) is None
            assert await orders.get(order) == order
            updated = await orders.update(order, Update().add("total", 2), return_values="UPDATED_NEW")
            assert updated == {"total": 5}
            with pytest.raises(ConditionalCheckFailedException) as raised:
                await orders.delete(order, condition=Attr("total").gt(10), on_condition_failure="ALL_OLD")
            assert raised.value.item == {"customer": "bo", "number": 2, "total": 5}
            assert await orders.delete(order, return_values="ALL_OLD") == order.model_copy(update={"total": 5})
            await client.delete_table(name)

    asyncio.run(run())
