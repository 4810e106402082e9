"""Partition snapshots (``core.snapshot``): the bytes round trip, and what a bad file gets."""

import base64
import zlib

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamoray.core import keys, partition, snapshot, values
from dynamoray.core.commands import INSERT, REMOVE, ItemChange, QuerySpec, ScanSpec
from dynamoray.core.expressions import ast

examples = settings(deadline=None, max_examples=80)

SCHEMAS = {
    "S": keys.KeySchema("p", "S"),
    "N": keys.KeySchema("p", "N"),
    "SN": keys.KeySchema("p", "S", "c", "N"),
    "SB": keys.KeySchema("p", "S", "c", "B"),
    "NS": keys.KeySchema("p", "N", "c", "S"),
}


def key_value(kind: str, n: int) -> dict:
    if kind == "S":
        return {"S": f"k{n % 7}-{n}"}
    if kind == "N":
        return {"N": values.normalize_number(str(n - 20) + (".5" if n % 3 == 0 else ""))}
    return {"B": base64.b64encode(bytes([n % 256, 7])).decode()}


attributes = st.dictionaries(
    st.sampled_from(["a", "b", "long name", "ü"]),
    st.one_of(st.text(max_size=30).map(lambda s: {"S": s}), st.integers(-10**9, 10**9).map(lambda i: {"N": str(i)}),
              st.just({"NULL": True}), st.lists(st.text(max_size=3), min_size=1, max_size=3, unique=True).map(
                  lambda v: {"SS": v}), st.booleans().map(lambda b: {"M": {"x": {"BOOL": b}}})),
    max_size=3,
)
# (hash key number, range key number, attributes or None for a delete)
operations = st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12), st.one_of(st.none(), attributes)),
                      max_size=60)


def build(schema: keys.KeySchema, ops) -> partition.PartitionState:
    state = partition.PartitionState(schema)
    for offset, (h, r, attrs) in enumerate(ops):
        key = {schema.hash_name: key_value(schema.hash_type, h)}
        if schema.range_name is not None:
            key[schema.range_name] = key_value(schema.range_type, r)
        if attrs is None:
            partition.evolve(state, ItemChange(REMOVE, key, None, None), offset)
        else:
            partition.evolve(state, ItemChange(INSERT, key, None, {**attrs, **key}), offset)
    return state


def round_trip(state: partition.PartitionState, table_id: str = "t-1") -> snapshot.Loaded:
    header = snapshot.SnapshotHeader(table_id, 0, state.applied_offset, state.applied_offset + 1, 123,
                                     state.schema, state.item_count, state._size)
    return snapshot.decode(snapshot.encode_bytes(header, snapshot.capture(state)), state.schema, table_id)


def contents(state: partition.PartitionState) -> list:
    return [(slot, list(c.items())) for slot, c in state.collections.items()]


@examples
@given(st.sampled_from(sorted(SCHEMAS)), operations)
def test_round_trip_gives_the_same_state_and_the_same_reads(kind, ops):
    state = build(SCHEMAS[kind], ops)
    loaded = round_trip(state)
    assert contents(loaded.state) == contents(state)
    assert (loaded.state.item_count, loaded.state.size_bytes, loaded.state.applied_offset) == (
        state.item_count, state.size_bytes, state.applied_offset)
    assert loaded.header.timestamp == 123 and loaded.header.replay_from == state.applied_offset + 1
    for segment in range(3):
        spec = ScanSpec(limit=7, segment=segment, total_segments=3)
        assert partition.scan(loaded.state, spec) == partition.scan(state, spec)
    schema = state.schema
    for h in range(13):
        hash_value = key_value(schema.hash_type, h)
        for forward in (True, False):
            spec = QuerySpec(hash_value, forward=forward)
            assert partition.query(loaded.state, spec) == partition.query(state, spec)
        if schema.range_name is not None:
            bound = ast.RangeKeyCondition(schema.range_name, ">=", (key_value(schema.range_type, 5),))
            spec = QuerySpec(hash_value, range=bound)
            assert partition.query(loaded.state, spec) == partition.query(state, spec)


@examples
@given(st.sampled_from(sorted(SCHEMAS)), operations)
def test_a_loaded_state_folds_further_changes_like_the_original(kind, ops):
    state = build(SCHEMAS[kind], ops[: len(ops) // 2])
    loaded = round_trip(state).state
    whole = build(SCHEMAS[kind], ops)
    for offset, change in enumerate(_changes(SCHEMAS[kind], ops)):
        if offset >= len(ops) // 2:
            partition.evolve(loaded, change, offset)
    assert contents(loaded) == contents(whole)
    assert (loaded.item_count, loaded.size_bytes) == (whole.item_count, whole.size_bytes)


def _changes(schema, ops):
    for h, r, attrs in ops:
        key = {schema.hash_name: key_value(schema.hash_type, h)}
        if schema.range_name is not None:
            key[schema.range_name] = key_value(schema.range_type, r)
        yield ItemChange(REMOVE, key, None, None) if attrs is None else ItemChange(INSERT, key, None, {**attrs, **key})


def test_a_deferred_size_is_summed_on_first_read_and_kept_up_to_date_after():
    schema = SCHEMAS["SN"]
    ops = [(h, r, {"a": {"S": "x" * (h + r)}}) for h in range(5) for r in range(4)] + [(1, 1, None)]
    exact = build(schema, ops)
    deferred = partition.PartitionState(schema)
    partition.defer_size(deferred)
    for offset, change in enumerate(_changes(schema, ops)):
        partition.evolve(deferred, change, offset)
    assert deferred._size is None
    assert deferred.size_bytes == exact.size_bytes == sum(
        values.item_size(i) for c in exact.collections.values() for i in c.values())
    change = ItemChange(INSERT, {"p": {"S": "k0-0"}, "c": {"N": "-20"}}, None,
                        {"p": {"S": "k0-0"}, "c": {"N": "-20"}, "big": {"S": "y" * 100}})
    partition.evolve(deferred, change, 99)
    partition.evolve(exact, change, 99)
    assert deferred.size_bytes == exact.size_bytes


def test_a_snapshot_of_a_deferred_size_loads_with_the_size_computed_on_use():
    state = build(SCHEMAS["S"], [(i, 0, {"a": {"S": "abc"}}) for i in range(10)])
    expected = state.size_bytes
    partition.defer_size(state)
    loaded = round_trip(state)
    assert loaded.header.size_bytes is None
    assert loaded.state.size_bytes == expected


def test_the_header_counts_what_was_captured():
    state = build(SCHEMAS["SN"], [(i, r, {}) for i in range(4) for r in range(3)])
    header = snapshot.SnapshotHeader("t", 0, 11, 12, 0, state.schema, 0, None)
    data = snapshot.encode_bytes(header, snapshot.capture(state))
    assert snapshot.read_header(data).item_count == 12
    assert snapshot.decode(data).state.item_count == 12


def test_capture_is_a_copy_later_changes_do_not_reach():
    state = build(SCHEMAS["SN"], [(1, 1, {"a": {"S": "before"}})])
    captured = snapshot.capture(state)
    partition.evolve(state, ItemChange(INSERT, {"p": {"S": "k1-1"}, "c": {"N": "-19"}}, None,
                                       {"p": {"S": "k1-1"}, "c": {"N": "-19"}, "a": {"S": "after"}}), 1)
    partition.evolve(state, ItemChange(INSERT, {"p": {"S": "k2-2"}, "c": {"N": "-18"}}, None,
                                       {"p": {"S": "k2-2"}, "c": {"N": "-18"}}), 2)
    header = snapshot.SnapshotHeader("t", 0, 0, 1, 0, state.schema, 1, None)
    loaded = snapshot.decode(snapshot.encode_bytes(header, captured)).state
    assert loaded.item_count == 1
    assert [i["a"] for c in loaded.collections.values() for i in c.values()] == [{"S": "before"}]


# --- bad files ---------------------------------------------------------------------------------


def _data() -> bytes:
    state = build(SCHEMAS["SN"], [(i, r, {"a": {"S": "v"}}) for i in range(30) for r in range(3)])
    header = snapshot.SnapshotHeader("t-1", 0, 89, 90, 5, state.schema, state.item_count, state.size_bytes)
    return snapshot.encode_bytes(header, snapshot.capture(state))


@pytest.mark.parametrize("damage", [
    lambda d: d[: len(d) // 2],  # torn
    lambda d: d[:-1],  # the trailer's newline is missing
    lambda d: d[:-30] + b"\n",  # no whole trailer
    lambda d: d.replace(b'"v"', b'"w"', 1),  # a flipped value
    lambda d: d[:200] + bytes([d[200] ^ 1]) + d[201:],  # a flipped bit
    lambda d: b"",
    lambda d: b"garbage\n",
])
def test_a_damaged_snapshot_is_refused(damage):
    with pytest.raises(snapshot.SnapshotError):
        snapshot.decode(damage(_data()))


def test_a_snapshot_whose_checksum_matches_but_lines_are_missing_is_refused():
    data = _data()
    lines = data.split(b"\n")[:-1]
    body = b"\n".join(lines[:-2]) + b"\n"  # drop the last body line, recompute the checksum
    trailer = orjson.loads(lines[-1])
    trailer["crc32"] = zlib.crc32(body)
    with pytest.raises(snapshot.SnapshotError, match="line count"):
        snapshot.decode(body + orjson.dumps(trailer) + b"\n")


def test_another_format_another_schema_or_another_table_is_refused():
    data = _data()
    newer = data.replace(b'"format":1', b'"format":99', 1)
    with pytest.raises(snapshot.SnapshotError, match="unknown snapshot format"):
        snapshot.decode(newer)
    with pytest.raises(snapshot.SnapshotError, match="another key schema"):
        snapshot.decode(data, SCHEMAS["S"])
    with pytest.raises(snapshot.SnapshotError, match="another table"):
        snapshot.decode(data, SCHEMAS["SN"], "t-2")
    assert snapshot.decode(data, SCHEMAS["SN"], "t-1").state.item_count == 90

