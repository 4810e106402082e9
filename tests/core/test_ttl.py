"""Time to live in the pure core: the expiry predicate and filter (``core/ttl.py``), the
UpdateTimeToLive rules, and the partition's decision on an ExpireCommand."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from dynamoray.core import keys, partition, ttl
from dynamoray.core.commands import REMOVE, DeleteCommand, ExpireCommand, PutCommand
from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import evaluate

NOW = 1_700_000_000
FIVE_YEARS = ttl.MAX_AGE_SECONDS
SCHEMA = keys.KeySchema("p", "S")


def item(p: str = "a", **attributes) -> dict:
    return {"p": {"S": p}, **attributes}


def n(value) -> dict:
    return {"N": str(value)}


# --- the predicate ---------------------------------------------------------------------------


@pytest.mark.parametrize("value, expired", [
    (n(NOW - 1), True),
    (n(NOW - 3600), True),
    ({"N": "1699999999.5"}, True),
    (n(NOW - FIVE_YEARS), True),  # exactly five years back: still deleted
    (n(NOW), False),  # not before now
    (n(NOW + 60), False),
    (n(NOW - FIVE_YEARS - 1), False),  # more than five years back: ignored
    (n(NOW * 1000), False),  # milliseconds by mistake: far in the future
    (n(0), False),
    (n(-5), False),
    ({"S": str(NOW - 10)}, False),  # a string holding a number is not a Number
    ({"NS": [str(NOW - 10)]}, False),
    ({"L": [n(NOW - 10)]}, False),
    ({"M": {"at": n(NOW - 10)}}, False),
    ({"NULL": True}, False),
    ({"BOOL": True}, False),
])
def test_an_item_is_expired_only_when_its_ttl_is_a_number_in_the_window(value, expired):
    assert ttl.is_expired(item(exp=value), "exp", NOW) is expired
    assert evaluate.evaluate_condition(ttl.expiry_filter("exp", NOW), item(exp=value)) is expired


def test_a_missing_attribute_or_item_never_expires():
    assert not ttl.is_expired(item(other=n(NOW - 10)), "exp", NOW)
    assert not ttl.is_expired(None, "exp", NOW)
    assert ttl.expiry_time(item(exp=n(12)), "exp") == 12


def test_the_ttl_attribute_is_top_level_only():
    assert not ttl.is_expired(item(exp={"M": {"exp": n(NOW - 10)}}), "exp.exp", NOW)


numbers = st.one_of(
    st.integers(NOW - 2 * FIVE_YEARS, NOW + 2 * FIVE_YEARS),
    st.sampled_from([NOW, NOW - 1, NOW - FIVE_YEARS, NOW - FIVE_YEARS - 1]),
).map(n)
other_values = st.one_of(
    st.integers(NOW - 100, NOW).map(lambda i: {"S": str(i)}),
    st.integers(NOW - 100, NOW).map(lambda i: {"NS": [str(i)]}),
    st.just({"NULL": True}),
    st.booleans().map(lambda b: {"BOOL": b}),
)
ttl_values = st.one_of(st.none(), numbers, other_values)


def _with(value) -> dict:
    return item() if value is None else item(exp=value)


def _in_window(value, now: int) -> bool:
    return value is not None and "N" in value and now - FIVE_YEARS <= float(value["N"]) < now


@given(ttl_values, st.integers(NOW - 10, NOW + 10))
def test_the_scan_filter_finds_exactly_the_expired_items(value, now):
    candidate = _with(value)
    assert evaluate.evaluate_condition(ttl.expiry_filter("exp", now), candidate) == ttl.is_expired(candidate, "exp", now)


# --- the decision ------------------------------------------------------------------------------


def state_with(*items: dict) -> partition.PartitionState:
    state = partition.PartitionState(SCHEMA)
    for i in items:
        partition.evolve(state, partition.decide(state, PutCommand(i)).change)
    return state


@given(ttl_values, ttl_values)
def test_an_expire_deletes_iff_the_item_is_expired_when_it_is_applied(scanned, current):
    """The sweeper found the item with TTL ``scanned``; by the time its deletion is decided the
    item holds ``current`` (rewritten, or not): only ``current`` counts."""
    state = state_with(_with(current))
    outcome = partition.decide(state, ExpireCommand({"p": {"S": "a"}}, "exp", NOW))
    if _in_window(current, NOW):
        change = outcome.change
        assert change.event_name == REMOVE and change.old_image == _with(current) and change.new_image is None
        assert (change.principal, change.principal_type) == ("dynamodb.amazonaws.com", "Service")
        assert outcome.attributes is None and outcome.new_size == 0 and outcome.old_size > 0
        partition.evolve(state, change)
        assert state.lookup({"p": {"S": "a"}}) is None
    else:
        assert outcome.change is None
        assert state.lookup({"p": {"S": "a"}}) == _with(current)


def test_an_expire_of_a_missing_item_changes_nothing():
    outcome = partition.decide(state_with(), ExpireCommand({"p": {"S": "gone"}}, "exp", NOW))
    assert outcome.change is None and outcome.old_size == 0


def test_an_expire_with_a_bad_key_is_refused_like_any_write():
    with pytest.raises(DynamoError) as info:
        partition.decide(state_with(), ExpireCommand({"q": {"S": "a"}}, "exp", NOW))
    assert info.value.error_type == "ValidationException"


def test_other_writes_carry_no_principal():
    state = state_with(item(exp=n(NOW - 1)))
    change = partition.decide(state, DeleteCommand({"p": {"S": "a"}})).change
    assert change.event_name == REMOVE and change.principal is None and change.principal_type is None


# --- the setting -------------------------------------------------------------------------------

ON = {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
OFF = {"TimeToLiveStatus": "DISABLED"}


def test_enable_then_disable():
    assert ttl.update_setting(None, True, "exp") == ON
    assert ttl.update_setting(OFF, True, "exp") == ON
    assert ttl.update_setting(ON, False, "exp") == OFF
    assert ttl.attribute_of(ON) == "exp" and ttl.attribute_of(OFF) is None and ttl.attribute_of(None) is None
    assert ttl.describe(None) == OFF and ttl.describe(ON) == ON


@pytest.mark.parametrize("current, enabled, attribute, message", [
    (ON, True, "exp", "TimeToLive is already enabled"),
    (ON, True, "other", "TimeToLive is active on a different AttributeName: current AttributeName is exp"),
    (ON, False, "other", "TimeToLive is active on a different AttributeName: current AttributeName is exp"),
    (OFF, False, "exp", "TimeToLive is already disabled"),
    (None, False, "exp", "TimeToLive is already disabled"),
])
def test_update_time_to_live_errors(current, enabled, attribute, message):
    with pytest.raises(DynamoError) as info:
        ttl.update_setting(current, enabled, attribute)
    assert (info.value.error_type, info.value.message) == ("ValidationException", message)
