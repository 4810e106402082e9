"""Global tables: item versions and the last-writer-wins decision (core/replication.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from dynamoray.core import keys, partition, replication
from dynamoray.core.commands import PutCommand, ReplicatedWriteCommand
from dynamoray.core.errors import DynamoError

SCHEMA = keys.KeySchema("p", "S", None, None)
LOCAL = "us-east-1"


def apply(state, command):
    outcome = partition.decide(state, command)
    if outcome.change is not None:
        partition.evolve(state, outcome.change)
    return outcome


def replicated(p, item, ts, region, local=LOCAL):
    key = {"p": {"S": p}}
    return ReplicatedWriteCommand(key, None if item is None else {**key, **item}, (ts, region), local)


def test_a_newer_version_wins_and_an_older_or_equal_one_changes_nothing():
    state = partition.PartitionState(SCHEMA)
    assert apply(state, replicated("a", {"v": {"N": "1"}}, 10, "eu-west-1")).change.event_name == "INSERT"
    assert apply(state, replicated("a", {"v": {"N": "0"}}, 9, "eu-west-1")).change is None
    assert apply(state, replicated("a", {"v": {"N": "1"}}, 10, "eu-west-1")).change is None  # idempotent
    assert apply(state, replicated("a", {"v": {"N": "2"}}, 10, "us-west-2")).change.event_name == "MODIFY"
    assert state.lookup({"p": {"S": "a"}})["v"] == {"N": "2"}
    assert state.version_of({"p": {"S": "a"}}) == (10, "us-west-2")


def test_the_region_breaks_ties_and_the_local_region_compares_by_its_name():
    state = partition.PartitionState(SCHEMA)
    change = replication.stamp(partition.decide(state, PutCommand({"p": {"S": "a"}, "v": {"N": "1"}})).change,
                               None, 50)
    partition.evolve(state, change)
    assert state.version_of({"p": {"S": "a"}}) == (50, "")
    # (50, "us-east-1") is this region's version: "ap-south-1" sorts before it, "us-west-2" after
    assert apply(state, replicated("a", {"v": {"N": "2"}}, 50, "ap-south-1")).change is None
    assert apply(state, replicated("a", {"v": {"N": "3"}}, 50, "us-west-2")).change is not None
    assert state.lookup({"p": {"S": "a"}})["v"] == {"N": "3"}


def test_an_item_without_a_version_is_older_than_any_stamped_change():
    state = partition.PartitionState(SCHEMA)
    apply(state, PutCommand({"p": {"S": "a"}, "v": {"N": "1"}}))  # before the table had replicas
    assert state.versions is None and state.version_of({"p": {"S": "a"}}) is None
    assert apply(state, replicated("a", {"v": {"N": "2"}}, 1, "eu-west-1")).change is not None
    # (0, local) is what the replicator sends for such a change: equal, so it is a no-op here
    assert apply(state, replicated("a", {"v": {"N": "9"}}, 0, LOCAL)).change is None


def test_a_delete_leaves_a_tombstone_that_an_older_write_cannot_pass():
    state = partition.PartitionState(SCHEMA)
    apply(state, replicated("a", {"v": {"N": "1"}}, 10, "eu-west-1"))
    removed = apply(state, replicated("a", None, 20, "eu-west-1")).change
    assert removed.event_name == "REMOVE" and removed.old_image is not None
    assert state.lookup({"p": {"S": "a"}}) is None
    assert apply(state, replicated("a", {"v": {"N": "2"}}, 15, "us-west-2")).change is None
    assert state.lookup({"p": {"S": "a"}}) is None
    # a delete of an item this region never had still leaves its tombstone
    assert apply(state, replicated("b", None, 30, "eu-west-1")).change.old_image is None
    assert apply(state, replicated("b", {"v": {"N": "1"}}, 29, "us-west-2")).change is None
    assert apply(state, replicated("b", {"v": {"N": "1"}}, 31, "us-west-2")).change.event_name == "INSERT"


def test_tombstones_are_bounded(monkeypatch):
    monkeypatch.setattr(replication, "MAX_TOMBSTONES", 3)
    versions = replication.Versions()
    for i in range(5):
        replication.track(versions, ("k", i), (i, "r"), removed=True)
    assert list(versions.tombstones) == [("k", 2), ("k", 3), ("k", 4)]
    replication.track(versions, ("k", 9), (replication.TOMBSTONE_RETENTION_MS + 10, "r"), removed=True)
    assert list(versions.tombstones) == [("k", 9)]  # the others are older than the retention


def test_a_stamp_is_after_now_and_after_the_current_version():
    state = partition.PartitionState(SCHEMA)
    change = partition.decide(state, PutCommand({"p": {"S": "a"}})).change
    assert replication.stamp(change, None, 100).origin == (100, "")
    assert replication.stamp(change, (500, "eu-west-1"), 100).origin == (501, "")
    assert replication.stamp(change, (50, "eu-west-1"), 100).origin == (100, "")


def test_a_replicated_write_is_checked_like_any_write():
    state = partition.PartitionState(SCHEMA)
    with pytest.raises(DynamoError) as raised:
        partition.decide(state, ReplicatedWriteCommand({"q": {"S": "a"}}, {"q": {"S": "a"}}, (1, "x"), LOCAL))
    assert raised.value.error_type == "ValidationException"


# --- convergence: the same changes in any order give the same table -------------------------------

_change = st.tuples(
    st.sampled_from(["a", "b", "c"]),  # the item
    st.one_of(st.none(), st.integers(0, 3)),  # its new value, None: deleted
    st.integers(0, 6),  # the commit timestamp (0: a change made before the table had replicas)
    st.sampled_from(["ap-south-1", "eu-west-1", "us-east-1"]),  # the origin region
)


def _run(changes, local):
    """Apply ``changes`` in this order in region ``local``: the items, and their versions."""
    state = partition.PartitionState(SCHEMA)
    for p, value, ts, region in changes:
        item = None if value is None else {"v": {"N": str(value)}}
        apply(state, replicated(p, item, ts, region, local))
    items = {k: state.lookup({"p": {"S": k}}) for k in "abc"}
    versions = {k: state.version_of({"p": {"S": k}}) for k in "abc"}
    return items, {k: v if v is None else replication.comparable(v, local) for k, v in versions.items()}


@settings(max_examples=300, deadline=None)
@given(st.lists(_change, max_size=12, unique_by=lambda c: (c[0], c[2], c[3])), st.randoms(use_true_random=False),
       st.sampled_from(["ap-south-1", "eu-west-1", "us-east-1", "us-west-2"]),
       st.sampled_from(["ap-south-1", "eu-west-1", "us-east-1", "us-west-2"]))
def test_any_order_of_the_same_changes_converges_in_every_region(changes, random, here, there):
    shuffled = list(changes)
    random.shuffle(shuffled)
    assert _run(changes, here) == _run(shuffled, there)
