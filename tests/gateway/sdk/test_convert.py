"""Python values <-> attribute values: exact, lossless, and as boto3 for floats."""

from __future__ import annotations

import asyncio
from decimal import Context, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynamoray.gateway.sdk import ValidationException
from dynamoray.gateway.sdk.convert import from_wire, item_from_wire, item_to_wire, to_wire

from .conftest import make_async_client, make_client


def test_every_type_converts_exactly():
    item = {"s": "x", "i": 12, "d": Decimal("-1.50"), "b": b"\x00\xff", "ss": {"a", "b"}, "ns": {1, Decimal("2.5")},
            "bs": {b"x"}, "l": [1, "a", None], "t": ("x",), "m": {"k": True}, "n": None, "f": False}
    assert item_to_wire(item) == {
        "s": {"S": "x"}, "i": {"N": "12"}, "d": {"N": "-1.5"}, "b": {"B": "AP8="}, "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": ["eA=="]}, "l": {"L": [{"N": "1"}, {"S": "a"}, {"NULL": True}]},
        "t": {"L": [{"S": "x"}]}, "m": {"M": {"k": {"BOOL": True}}}, "n": {"NULL": True}, "f": {"BOOL": False},
    }
    back = item_from_wire(item_to_wire(item))
    assert back == {**item, "d": Decimal("-1.5"), "t": ["x"]}
    assert type(back["i"]) is int and type(back["d"]) is Decimal and type(back["b"]) is bytes


def test_integral_numbers_come_back_as_int_and_the_rest_as_decimal():
    assert from_wire({"N": "100000000000000000000000000000000000000"}) == 10**38
    assert from_wire({"N": "0.1"}) == Decimal("0.1")
    assert to_wire(Decimal("1E+3")) == {"N": "1000"}


def test_floats_are_refused_like_boto3():
    with pytest.raises(TypeError, match="Float types are not supported. Use Decimal types instead."):
        to_wire(1.5)
    with pytest.raises(TypeError):
        to_wire({"a": [0.1]})


@pytest.mark.parametrize("value, message", [
    (Decimal("1" * 39), "Attempting to store more than 38 significant digits in a Number"),
    (Decimal("1E+126"), "Number overflow. Attempting to store a number with magnitude larger than supported range"),
    (Decimal("1E-131"), "Number underflow. Attempting to store a number with magnitude smaller than supported range"),
])
def test_numbers_dynamodb_refuses_raise_its_validation_error(value, message):
    with pytest.raises(ValidationException) as raised:
        to_wire(value)
    assert raised.value.code == "ValidationException" and raised.value.message == message


def test_unsupported_types_and_mixed_or_empty_sets_are_type_errors():
    for bad in (object(), {1, "a"}, set(), complex(1, 2)):
        with pytest.raises(TypeError):
            to_wire(bad)


# --- round trips through the server ----------------------------------------------------------------

DIGITS = st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1)
# every number DynamoDB accepts: up to 38 digits, magnitudes from 1E-130 to below 1E+126
numbers = st.one_of(DIGITS, st.builds(lambda n, e: Decimal(n).scaleb(e, Context(prec=60)), DIGITS,
                                      st.integers(min_value=-130, max_value=88)))
scalars = st.one_of(st.text(max_size=20), numbers, st.binary(max_size=20), st.booleans(), st.none())
sets = st.one_of(st.frozensets(st.text(max_size=8), min_size=1, max_size=4),
                 st.frozensets(st.integers(-1000, 1000), min_size=1, max_size=4),
                 st.frozensets(st.binary(max_size=8), min_size=1, max_size=4))
values = st.recursive(st.one_of(scalars, sets), lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4)), max_leaves=12)
items = st.dictionaries(st.text(min_size=1, max_size=10).filter(lambda k: k != "p"), values, max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(attributes=items)
def test_put_then_get_returns_the_same_value(client, table_s, attributes):
    table = client.table(table_s)
    item = {"p": "roundtrip", **attributes}
    table.put(item)
    assert table.get({"p": "roundtrip"}, consistent=True) == item


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=values)
def test_async_put_then_get_returns_the_same_value(sdk_server, table_s, value):
    async def run():
        async with make_async_client(sdk_server.endpoint) as client:
            table = client.table(table_s)
            await table.put({"p": "async-roundtrip", "v": value})
            return await table.get({"p": "async-roundtrip"})

    assert asyncio.run(run()) == {"p": "async-roundtrip", "v": value}


def test_a_38_digit_number_survives_exactly(sdk_server, table_s):
    exact = Decimal("1234567890123456789012345678.9012345678")
    table = make_client(sdk_server.endpoint).table(table_s)
    huge = Decimal("9.9999999999999999999999999999999999999E+125")
    table.put({"p": "digits", "v": exact, "tiny": Decimal("1E-130"), "huge": huge})
    got = table.get({"p": "digits"})
    assert got == {"p": "digits", "v": exact, "tiny": Decimal("1E-130"), "huge": huge}
    assert str(got["v"]) == "1234567890123456789012345678.9012345678"
