"""Snapshots keep the items' versions (global tables): a shard rebuilt from one decides a late
replicated write exactly as the shard it was taken from."""

import zlib

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamoray.core import keys, partition, replication, snapshot
from dynamoray.core.commands import INSERT, REMOVE, ItemChange, ReplicatedWriteCommand

SCHEMA = keys.KeySchema("p", "S", "c", "B")
LOCAL, OTHER = "us-east-1", "eu-west-1"


def key(p: int, c: int) -> dict:
    return {"p": {"S": f"k{p}"}, "c": {"B": ["AA==", "AQ==", "/w==", "gA=="][c % 4]}}


def fold(ops) -> partition.PartitionState:
    """``ops``: (p, c, version timestamp or None, region, deleted)."""
    state = partition.PartitionState(SCHEMA)
    for offset, (p, c, ts, region, deleted) in enumerate(ops):
        k = key(p, c)
        origin = None if ts is None else (ts, region)
        if deleted:
            partition.evolve(state, ItemChange(REMOVE, k, state.lookup(k), None, origin=origin), offset)
        else:
            partition.evolve(state, ItemChange(INSERT, k, state.lookup(k), {**k, "v": {"N": str(offset)}},
                                               origin=origin), offset)
    return state


def round_trip(state: partition.PartitionState) -> partition.PartitionState:
    header = snapshot.SnapshotHeader("t-1", 0, state.applied_offset, state.applied_offset + 1, 0, SCHEMA,
                                     state.item_count, state._size)
    return snapshot.decode(snapshot.encode_bytes(header, snapshot.capture(state)), SCHEMA, "t-1").state


def versions_of(state: partition.PartitionState):
    v = state.versions
    return None if v is None else (v.live, list(v.tombstones.items()), v.newest)


ops = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.one_of(st.none(), st.integers(1, 10**13)),
                         st.sampled_from(["", OTHER, "ap-south-1"]), st.booleans()), max_size=50)


@settings(deadline=None, max_examples=80)
@given(ops)
def test_versions_and_tombstones_survive_a_round_trip_in_their_order(found):
    state = fold(found)
    loaded = round_trip(state)
    assert versions_of(loaded) == versions_of(state)
    assert {k: v for k, v in loaded.collections.items()} == {k: v for k, v in state.collections.items()}


@settings(deadline=None, max_examples=80)
@given(ops.filter(bool), st.data(), st.sampled_from([OTHER, "ap-south-1"]), st.booleans())
def test_a_late_replicated_write_is_decided_the_same_before_and_after_the_rebuild(found, data, region, delete):
    state = fold(found)
    loaded = round_trip(state)
    p, c, ts, _, _ = data.draw(st.sampled_from(found))  # an item the shard had (or deleted)
    late = data.draw(st.integers(0, 10**13) if ts is None else st.integers(max(0, ts - 3), ts + 3))
    command = ReplicatedWriteCommand(key(p, c), None if delete else {**key(p, c), "v": {"S": "late"}},
                                     (late, region), LOCAL)
    assert partition.decide(state, command).change == partition.decide(loaded, command).change


def test_an_older_write_loses_to_a_snapshotted_version_and_to_a_snapshotted_tombstone():
    state = fold([(1, 0, 500, OTHER, False), (2, 0, 700, "", False), (2, 0, 800, "", True)])
    loaded = round_trip(state)
    older_than_item = ReplicatedWriteCommand(key(1, 0), {**key(1, 0), "v": {"S": "old"}}, (499, "zz"), LOCAL)
    older_than_tombstone = ReplicatedWriteCommand(key(2, 0), {**key(2, 0), "v": {"S": "old"}}, (799, "zz"), LOCAL)
    assert partition.decide(loaded, older_than_item).change is None
    assert partition.decide(loaded, older_than_tombstone).change is None
    newer = ReplicatedWriteCommand(key(2, 0), {**key(2, 0), "v": {"S": "new"}}, (801, "aa"), LOCAL)
    assert partition.decide(loaded, newer).change.new_image["v"] == {"S": "new"}
    assert loaded.versions.newest == 800


def test_a_state_without_versions_is_still_written_as_format_1():
    state = fold([(1, 0, None, "", False)])
    header = snapshot.SnapshotHeader("t-1", 0, 0, 1, 0, SCHEMA, 1, None)
    data = snapshot.encode_bytes(header, snapshot.capture(state))
    assert orjson.loads(data.split(b"\n")[0])["format"] == 1
    versioned = snapshot.encode_bytes(header, snapshot.capture(fold([(1, 0, 5, "", False)])))
    head = orjson.loads(versioned.split(b"\n")[0])
    assert head["format"] == 2 and head["versions"] == {"lines": 1, "newest": 0}
    assert snapshot.decode(data).state.versions is None


def test_versions_span_several_lines_and_a_bad_versions_line_is_refused(monkeypatch):
    monkeypatch.setattr(snapshot, "LINE_VERSIONS", 3)
    state = fold([(p, c, 10 + p * 4 + c, OTHER, p % 2 == 1) for p in range(4) for c in range(4)])
    loaded = round_trip(state)
    assert versions_of(loaded) == versions_of(state)
    header = snapshot.SnapshotHeader("t-1", 0, 0, 1, 0, SCHEMA, 0, None)
    data = snapshot.encode_bytes(header, snapshot.capture(state))
    lines = data.split(b"\n")
    bad = b"\n".join(lines[:-3] + [b'{"other":[]}'] + lines[-2:])
    body = bad[:bad.rfind(b"\n", 0, len(bad) - 1) + 1]

    trailer = orjson.loads(lines[-2])
    trailer["crc32"] = zlib.crc32(body)
    with pytest.raises(snapshot.SnapshotError, match="corrupt snapshot"):
        snapshot.decode(body + orjson.dumps(trailer) + b"\n")


def test_the_tombstone_bound_still_holds_after_a_rebuild(monkeypatch):
    monkeypatch.setattr(replication, "MAX_TOMBSTONES", 3)
    state = fold([(p, 0, 100 + p, OTHER, True) for p in range(3)])
    loaded = round_trip(state)
    partition.evolve(loaded, ItemChange(REMOVE, key(4, 0), None, None, origin=(200, OTHER)), 9)
    assert [t for t, _ in loaded.versions.tombstones.values()] == [101, 102, 200]
