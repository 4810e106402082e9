"""Followers (``actors/follower.py``) over the memory and embedded logs: no Ray."""

from __future__ import annotations

import asyncio

import pytest

from dynamoray.actors import follower as follower_mod
from dynamoray.actors import records
from dynamoray.actors.follower import FollowerSet
from dynamoray.actors.host import LogPerTopic, PartitionHost, SharedLog
from dynamoray.core.commands import INSERT, ItemChange, QuerySpec, ScanSpec
from dynamoray.core.errors import DynamoError
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.log import Record
from dynamoray.events.memory import MemoryLog

from .helpers import key, new_table, put


def run(coro):
    return asyncio.run(coro)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def change(p: str, v: str) -> ItemChange:
    item = {"p": {"S": p}, "v": {"S": v}}
    return ItemChange(INSERT, {"p": {"S": p}}, None, item)


class Leader:
    """Appends item changes to a table's topic, as a partition's leader does."""

    def __init__(self, log, ref) -> None:
        self.writer = log.open_writer(ref.topic, 0)
        self.encode = records.change_encoder(ref.table_id)

    def put(self, *pairs: tuple[str, str]) -> list[int]:
        return self.writer.append([self.encode(change(p, v)) for p, v in pairs])


def value(item):
    return None if item is None else item["v"]["S"]


def test_a_follower_catches_up_once_its_state_is_older_than_the_bound():
    log = MemoryLog()
    _, ref = new_table(log, "t")
    leader = Leader(log, ref)
    clock = Clock()
    followers = FollowerSet(SharedLog(log), max_staleness=0.005, clock=clock)

    async def scenario():
        leader.put(("a", "1"))
        first = await followers.get(ref, key("a"))
        leader.put(("a", "2"))
        clock.now += 0.001  # still within the bound: the follower may lag
        lagging = await followers.get(ref, key("a"))
        clock.now += 0.005
        caught_up = await followers.get(ref, key("a"))
        return value(first), value(lagging), value(caught_up)

    assert run(scenario()) == ("1", "1", "2")


def test_a_write_acknowledged_here_is_read_back_at_once():
    log = MemoryLog()
    _, ref = new_table(log, "t")
    leader = Leader(log, ref)
    clock = Clock()
    followers = FollowerSet(SharedLog(log), max_staleness=60, clock=clock)

    async def scenario():
        seen = []
        for i in range(5):
            leader.put(("a", str(i)))
            followers.written(ref)  # the gateway acknowledged it: read-your-writes
            seen.append(value(await followers.get(ref, key("a"))))
        return seen

    assert run(scenario()) == ["0", "1", "2", "3", "4"]


def test_a_follower_never_fences_the_leader(tmp_path):
    """Followers open no writer: the leader keeps appending while they read (two processes'
    handles on one data directory behave the same: fencing is in the file)."""
    leader_log, follower_log = EmbeddedLog(tmp_path), EmbeddedLog(tmp_path)
    _, ref = new_table(leader_log, "t")
    leader = Leader(leader_log, ref)
    followers = FollowerSet(SharedLog(follower_log), max_staleness=0)

    async def scenario():
        out = []
        for i in range(3):
            leader.put((f"k{i}", str(i)))  # raises FencedError if a follower had fenced it
            page = await followers.scan(ref, ScanSpec())
            out.append(sorted(value(item) for item in page.items))
        return out

    try:
        assert run(scenario()) == [["0"], ["0", "1"], ["0", "1", "2"]]
    finally:
        leader.writer.close()
        leader_log.close()
        follower_log.close()


def test_a_long_backlog_is_folded_in_chunks_off_the_loop(tmp_path, monkeypatch):
    monkeypatch.setattr(follower_mod, "INLINE_BATCH", 8)
    monkeypatch.setattr(follower_mod, "THREAD_BATCH", 16)
    log = EmbeddedLog(tmp_path)
    _, ref = new_table(log, "t")
    leader = Leader(log, ref)
    clock = Clock()
    followers = FollowerSet(LogPerTopic(lambda: EmbeddedLog(tmp_path)), max_staleness=0.005, clock=clock)

    async def scenario():
        leader.put(("x", "0"))
        await followers.get(ref, key("x"))
        leader.put(*[(f"k{i:03}", str(i)) for i in range(100)])
        clock.now += 1
        page = await followers.scan(ref, ScanSpec())
        return page.count, followers.catch_ups

    try:
        count, catch_ups = run(scenario())
    finally:
        followers.close()
        log.close()
    assert count == 101
    assert catch_ups == 2  # one inline read that found more, then one chunked catch-up


def test_queries_see_the_same_items_as_the_leader():
    log = MemoryLog()
    _, ref = new_table(log, "t")
    host = PartitionHost(SharedLog(log))
    followers = FollowerSet(SharedLog(log), max_staleness=0)

    async def scenario():
        for i in range(20):
            await host.write(ref, put(f"k{i % 4}", v=str(i)))
        spec = QuerySpec(hash_value={"S": "k1"})
        return (await host.query(ref, spec)).items, (await followers.query(ref, spec)).items

    leader_items, follower_items = run(scenario())
    assert follower_items == leader_items == [{"p": {"S": "k1"}, "v": {"S": "17"}}]


def test_a_deleted_topic_is_not_found_and_the_follower_is_dropped():
    log = MemoryLog()
    _, ref = new_table(log, "t")
    Leader(log, ref).put(("a", "1"))
    followers = FollowerSet(SharedLog(log), max_staleness=0)

    async def scenario():
        await followers.get(ref, key("a"))
        log.delete_topic(ref.topic)
        with pytest.raises(DynamoError) as missing:
            await followers.get(ref, key("a"))
        return missing.value

    missing = run(scenario())
    assert missing.error_type == "ResourceNotFoundException"
    assert followers.open_count() == 0


def test_followers_are_bounded_least_recently_used_first():
    log = MemoryLog()
    refs = [new_table(log, f"t{i}")[1] for i in range(4)]
    followers = FollowerSet(SharedLog(log), max_open=2, max_staleness=0)

    async def scenario():
        for ref in refs:
            await followers.get(ref, key("a"))
        await followers.get(refs[2], key("a"))
        return sorted(followers._open)

    assert run(scenario()) == sorted([refs[2].table_id, refs[3].table_id])


def test_an_unreadable_log_makes_the_follower_unavailable():
    class Broken(MemoryLog):
        def read(self, *args, **kwargs):
            from dynamoray.events.log import LogUnavailableError

            raise LogUnavailableError("disk gone")

    log = Broken()
    _, ref = new_table(log, "t")
    followers = FollowerSet(SharedLog(log), max_staleness=0)

    async def scenario():
        with pytest.raises(follower_mod.FollowerUnavailable):
            await followers.get(ref, key("a"))

    run(scenario())


def test_lag_counts_the_records_not_folded_and_the_age_of_the_oldest():
    log = MemoryLog(clock=lambda: 1_000_000)
    _, ref = new_table(log, "t")
    leader = Leader(log, ref)
    clock = Clock()
    followers = FollowerSet(SharedLog(log), max_staleness=10, clock=clock)

    async def scenario():
        leader.put(("a", "1"))
        await followers.get(ref, key("a"))
        caught_up = followers.lag()
        leader.put(("a", "2"), ("b", "3"))
        return caught_up, followers.lag()

    caught_up, behind = run(scenario())
    assert [(lag.table, lag.replica, lag.records, lag.seconds) for lag in caught_up] == [("t", "gateway", 0, 0.0)]
    assert behind[0].records == 2
    assert behind[0].seconds > 1_000_000  # the records were stamped at t=1000 s by the fake clock


def test_replay_skips_records_that_are_not_item_changes():
    log = MemoryLog()
    _, ref = new_table(log, "t")
    leader = Leader(log, ref)
    leader.put(("a", "1"))
    from dynamoray.schemas.events import LeaderEpochStarted

    leader.writer.append([records.CODEC.encode(LeaderEpochStarted(ref.table_id, 0, 2, "host-1"))])
    (state,) = follower_mod.replay(log, ref)  # one state per shard (the topic has one partition)
    assert (state.item_count, state.applied_offset) == (1, 1)
    assert isinstance(log.read(ref.topic, 0, 1)[0], Record)


def test_a_follower_whose_position_was_truncated_is_reopened_from_a_snapshot(tmp_path):
    """Log retention may truncate records a follower idle for long still needs: that read goes to
    the leader (FollowerUnavailable), and the next one reopens the follower from the snapshot."""
    from dynamoray.actors.snapshots import SnapshotStore, capture, rebuild, write_snapshot

    log = MemoryLog()
    _, ref = new_table(log, "t")
    leader = Leader(log, ref)
    clock = Clock()
    store = SnapshotStore(tmp_path)
    followers = FollowerSet(SharedLog(log), max_staleness=0.005, clock=clock, snapshots=store)
    leader.put(("a", "1"))
    assert value(run(followers.get(ref, key("a")))) == "1"
    leader.put(("a", "2"), ("b", "1"))
    header, captured = capture(rebuild(log, ref.topic, ref.table_id, ref.schema).state, ref.table_id)
    write_snapshot(store, log, ref.topic, header, captured)
    log.truncate_before(ref.topic, 0, header.replay_from)  # what retention does
    leader.put(("b", "2"))
    clock.now += 1
    with pytest.raises(follower_mod.FollowerUnavailable):
        run(followers.get(ref, key("a")))
    assert [value(run(followers.get(ref, key(p)))) for p in "ab"] == ["2", "2"]
