"""A table's shards (``core/shards.py``): routing, and Scan pages that walk the shards."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from dynamoray.core import keys, partition, shards
from dynamoray.core.commands import DeleteCommand, PutCommand, QuerySpec, ScanSpec, UpdateCommand
from dynamoray.core.errors import DynamoError

SCHEMA = keys.KeySchema("p", "S", "c", "N")


def states_with(items: list[dict], count: int) -> list[partition.PartitionState]:
    """``count`` shard states holding ``items``, each in its key's shard."""
    states = [partition.PartitionState(SCHEMA) for _ in range(count)]
    for item in items:
        state = states[shards.shard_of(SCHEMA, item, count)]
        partition.evolve(state, partition.decide(state, PutCommand(item)).change)
    return states


def item(p: str, c: int, size: int = 0) -> dict:
    out = {"p": {"S": p}, "c": {"N": str(c)}}
    if size:
        out["blob"] = {"S": "x" * size}
    return out


def ident(found: dict) -> tuple[str, str]:
    return found["p"]["S"], found["c"]["N"]


def scan_all(states, spec: ScanSpec) -> tuple[list, int]:
    """Every item a paginated scan (or segment) returns, and its page count."""
    out, pages = [], 0
    while True:
        page = shards.scan(states, spec)
        out += page.items
        pages += 1
        assert pages < 500
        if page.last_evaluated_key is None:
            return out, pages
        spec = ScanSpec(spec.limit, page.last_evaluated_key, segment=spec.segment,
                        total_segments=spec.total_segments)


# --- routing --------------------------------------------------------------------------------------


def test_a_key_its_item_and_its_commands_go_to_the_shard_of_its_partition_key():
    for i in range(200):
        key = {"p": {"S": f"k{i}"}, "c": {"N": "1"}}
        shard = keys.shard_for(key["p"], 8)
        assert shards.shard_of(SCHEMA, key, 8) == shard
        assert shards.shard_of(SCHEMA, {**key, "v": {"S": "x"}}, 8) == shard
        assert shards.command_shard(SCHEMA, PutCommand({**key, "v": {"S": "x"}}), 8) == shard
        assert shards.command_shard(SCHEMA, UpdateCommand(key), 8) == shard
        assert shards.command_shard(SCHEMA, DeleteCommand(key), 8) == shard
    assert {shards.shard_of(SCHEMA, item(f"k{i}", 0), 8) for i in range(200)} == set(range(8))


def test_equal_numbers_and_binaries_share_a_shard():
    schema = keys.KeySchema("n", "N")
    assert shards.shard_of(schema, {"n": {"N": "1.50"}}, 16) == shards.shard_of(schema, {"n": {"N": "1.5"}}, 16)
    binary = keys.KeySchema("b", "B")
    assert shards.shard_of(binary, {"b": {"B": "AAE="}}, 16) == keys.shard_for({"B": "AAE="}, 16)


@pytest.mark.parametrize("key", [{}, {"p": {"N": "x"}}, {"p": "plain"}, {"p": {"S": "a", "N": "1"}}, "no-map"])
def test_a_key_that_is_no_key_goes_to_shard_zero_whose_read_reports_it(key):
    assert shards.shard_of(SCHEMA, key, 4) == 0
    if isinstance(key, dict):
        with pytest.raises(DynamoError) as caught:
            shards.get_item(states_with([], 4), key)
        assert caught.value.error_type == "ValidationException"


def test_one_shard_routes_everything_to_it():
    assert shards.shard_of(SCHEMA, item("anything", 1), 1) == 0
    assert shards.value_shard({"S": "anything"}, 1) == 0


@pytest.mark.parametrize("count", [0, 65, -1, 2.0, True, "4"])
def test_a_shard_count_is_an_integer_from_1_to_64(count):
    with pytest.raises(ValueError):
        shards.check_count(count)
    assert shards.check_count(1) == 1 and shards.check_count(64) == 64


def test_get_and_query_read_the_shard_of_their_partition_key():
    states = states_with([item(f"k{i}", c) for i in range(30) for c in range(3)], 4)
    for i in range(30):
        assert shards.get_item(states, {"p": {"S": f"k{i}"}, "c": {"N": "2"}}) == item(f"k{i}", 2)
        page = shards.query(states, QuerySpec({"S": f"k{i}"}))
        assert [ident(found) for found in page.items] == [(f"k{i}", "0"), (f"k{i}", "1"), (f"k{i}", "2")]
    assert shards.item_count(states) == 90
    assert shards.size_bytes(states) == sum(s.size_bytes for s in states) > 0


# --- Scan across shards ---------------------------------------------------------------------------

ITEMS = st.lists(st.tuples(st.sampled_from([f"p{i}" for i in range(12)]), st.integers(0, 5)),
                 unique=True, max_size=50)


@settings(max_examples=120, deadline=None)
@given(ITEMS, st.integers(1, 6), st.integers(1, 5), st.one_of(st.none(), st.integers(1, 7)))
def test_paginated_segments_return_every_item_exactly_once(pairs, count, total, limit):
    wanted = sorted((p, str(c)) for p, c in pairs)
    states = states_with([item(p, c) for p, c in pairs], count)
    seen = []
    for segment in range(total):
        found, pages = scan_all(states, ScanSpec(limit=limit, segment=segment, total_segments=total))
        seen += [ident(f) for f in found]
        if limit is not None:
            assert pages >= len(found) / limit
    assert sorted(seen) == wanted


@settings(max_examples=60, deadline=None)
@given(ITEMS, st.integers(2, 6), st.integers(1, 9))
def test_a_page_never_holds_more_than_its_limit_and_resumes_in_the_right_shard(pairs, count, limit):
    states = states_with([item(p, c) for p, c in pairs], count)
    page = shards.scan(states, ScanSpec(limit=limit))
    assert page.scanned_count <= limit and len(page.items) <= limit
    if page.last_evaluated_key is not None:
        assert page.scanned_count == limit
        rest = shards.scan(states, ScanSpec(exclusive_start=page.last_evaluated_key))
        assert sorted(map(ident, page.items + rest.items)) == sorted((p, str(c)) for p, c in pairs)


def test_shards_are_walked_in_order_and_a_start_key_resumes_inside_its_shard():
    states = states_with([item(f"k{i}", 0) for i in range(40)], 4)
    everything = shards.scan(states, ScanSpec()).items
    by_shard = [shards.shard_of(SCHEMA, found, 4) for found in everything]
    assert by_shard == sorted(by_shard) and set(by_shard) == {0, 1, 2, 3}
    start = next(i for i, s in enumerate(by_shard) if s == 2) + 1  # a key inside shard 2
    rest = shards.scan(states, ScanSpec(exclusive_start=everything[start - 1]))
    assert rest.items == everything[start:]


def test_one_megabyte_is_one_pages_budget_across_shards():
    blob = 100 * 1024  # 30 items of ~100 KB: ~3 MB over 4 shards
    states = states_with([item(f"k{i}", 0, blob) for i in range(30)], 4)
    page = shards.scan(states, ScanSpec())
    assert partition.MAX_PAGE_BYTES <= page.bytes_read < partition.MAX_PAGE_BYTES + blob + 100
    assert page.last_evaluated_key is not None and page.scanned_count == 11
    found, pages = scan_all(states, ScanSpec())
    assert len(found) == 30 and pages == 3


def test_count_only_and_filters_count_over_every_shard():
    from dynamoray.core.expressions import ExpressionContext

    states = states_with([item(f"k{i}", i % 3) for i in range(30)], 4)
    condition = ExpressionContext(None, {":z": {"N": "0"}}).condition("c = :z")
    page = shards.scan(states, ScanSpec(filter=condition, count_only=True))
    assert (page.count, page.scanned_count, page.items) == (10, 30, [])


def test_jump_hashing_moves_keys_only_to_the_added_shard():
    values = [{"S": f"key-{i}"} for i in range(3000)]
    for count in (1, 3, 4, 7):
        moved = [v for v in values if keys.shard_for(v, count) != keys.shard_for(v, count + 1)]
        assert all(keys.shard_for(v, count + 1) == count for v in moved)
        assert abs(len(moved) - len(values) / (count + 1)) < len(values) / (count + 1) * 0.25
